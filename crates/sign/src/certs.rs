//! X.509 checks for Fulcio-style code-signing certificates: path validation to a trusted
//! certificate authority at the signing time, the leaf's profile, its identity (SAN and Fulcio
//! extensions, `sigstore/fulcio:docs/oid-info.md`) and its embedded SCT (RFC 6962 §3.2).

use std::collections::BTreeMap;

use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SignedCertificateTimestampList, SubjectAltName,
};

use crate::error::{Error, Result};
use crate::keys::{HashAlgorithm, VerifyingKey};
use crate::trust_root::TrustedRoot;

const OID_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const OID_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1.";
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
const OID_OTHERNAME_SAN: &str = "1.3.6.1.4.1.57264.1.7";
/// Extensions 1.1 to 1.6 hold raw string bytes; later ones a DER UTF8String.
const RAW_ENCODED_ARCS: [&str; 6] = ["1", "2", "3", "4", "5", "6"];

/// A certificate with the exact bytes its signature covers.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert {
    pub(crate) der: Vec<u8>,
    pub(crate) cert: Certificate,
    tbs: Vec<u8>,
    pub(crate) key: VerifyingKey,
}

impl ParsedCert {
    pub(crate) fn from_der(der: &[u8]) -> Result<Self> {
        let cert = Certificate::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
        let (_, outer, _) = tlv(der)?;
        let (_, _, tbs) = tlv(outer)?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::malformed("certificate public key", e))?;
        let key = VerifyingKey::from_spki_der(&spki)?;
        Ok(Self {
            der: der.to_vec(),
            cert,
            tbs: tbs.to_vec(),
            key,
        })
    }

    fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    fn not_before(&self) -> u64 {
        self.cert
            .tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration()
            .as_secs()
    }

    fn not_after(&self) -> u64 {
        self.cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs()
    }

    /// Fails with [`Error::CertificateNotValidAt`] unless `not_before <= at <= not_after`.
    pub(crate) fn check_valid_at(&self, at: u64) -> Result<()> {
        let (not_before, not_after) = (self.not_before(), self.not_after());
        if at < not_before || at > not_after {
            return Err(Error::CertificateNotValidAt {
                subject: self.subject(),
                not_before,
                not_after,
                at,
            });
        }
        Ok(())
    }

    fn extension(&self, oid: &str) -> Option<&[u8]> {
        self.cert
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    fn decoded_extension<'a, T: Decode<'a>>(&'a self, oid: &str) -> Result<Option<T>> {
        self.extension(oid)
            .map(|bytes| {
                T::from_der(bytes).map_err(|e| Error::malformed("certificate extension", e))
            })
            .transpose()
    }

    fn is_ca(&self) -> Result<bool> {
        Ok(self
            .decoded_extension::<BasicConstraints>("2.5.29.19")?
            .is_some_and(|bc| bc.ca))
    }

    /// Verifies this certificate's signature with `issuer`'s key.
    fn check_signed_by(&self, issuer: &VerifyingKey) -> Result<()> {
        let check = "certificate chain";
        let signature = self
            .cert
            .signature()
            .as_bytes()
            .ok_or(Error::SignatureInvalid { check })?;
        let hash = match self.cert.signature_algorithm().oid.to_string().as_str() {
            "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => HashAlgorithm::Sha2_256,
            "1.2.840.10045.4.3.3" => HashAlgorithm::Sha2_384,
            "1.2.840.10045.4.3.4" => HashAlgorithm::Sha2_512,
            "1.3.101.112" => return issuer.verify(check, &self.tbs, signature),
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    algorithm: format!("certificate signature algorithm {other}"),
                });
            }
        };
        issuer.verify_prehashed(check, hash, &hash.digest(&self.tbs), signature)
    }
}

/// The public key of a DER certificate, parsed exactly as verification parses leaf certificates
/// (for services that validate submitted certificates, such as the transparency log).
pub fn certificate_public_key(der: &[u8]) -> Result<VerifyingKey> {
    Ok(ParsedCert::from_der(der)?.key)
}

/// The identity (SANs, Fulcio extensions) of a DER certificate, as verification reads it.
pub fn certificate_identity(der: &[u8]) -> Result<CertificateIdentity> {
    identity(&ParsedCert::from_der(der)?)
}

/// Who a certificate says signed: the SAN values and the Fulcio extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertificateIdentity {
    /// SAN values: email addresses, URIs, and Fulcio `otherName` usernames.
    pub subject_alternative_names: Vec<String>,
    /// OIDC issuer from extension 1.3.6.1.4.1.57264.1.8, else the deprecated 1.1.
    pub issuer: Option<String>,
    /// Every Fulcio extension (`1.3.6.1.4.1.57264.1.*`) as OID to string value.
    pub extensions: BTreeMap<String, String>,
}

/// Reads the identity of a leaf certificate.
pub(crate) fn identity(leaf: &ParsedCert) -> Result<CertificateIdentity> {
    let mut id = CertificateIdentity::default();
    if let Some(san) = leaf.decoded_extension::<SubjectAltName>("2.5.29.17")? {
        for name in san.0 {
            match name {
                GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => {
                    id.subject_alternative_names.push(s.to_string());
                }
                GeneralName::OtherName(other) if other.type_id.to_string() == OID_OTHERNAME_SAN => {
                    if let Ok(s) = other.value.decode_as::<der::asn1::Utf8StringRef<'_>>() {
                        id.subject_alternative_names.push(s.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    for ext in leaf
        .cert
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
    {
        let oid = ext.extn_id.to_string();
        let Some(arc) = oid.strip_prefix(FULCIO_ARC) else {
            continue;
        };
        let bytes = ext.extn_value.as_bytes();
        let value = if RAW_ENCODED_ARCS.contains(&arc) {
            String::from_utf8(bytes.to_vec()).ok()
        } else {
            der::asn1::Utf8StringRef::from_der(bytes)
                .ok()
                .map(|s| s.to_string())
        };
        if let Some(value) = value {
            id.extensions.insert(oid, value);
        }
    }
    id.issuer = id
        .extensions
        .get(OID_ISSUER_V2)
        .or_else(|| id.extensions.get(OID_ISSUER_V1))
        .cloned();
    Ok(id)
}

/// Checks the leaf is an end-entity code-signing certificate: not a CA, key usage
/// digitalSignature, extended key usage codeSigning.
pub(crate) fn check_leaf_profile(leaf: &ParsedCert) -> Result<()> {
    if leaf.is_ca()? {
        return Err(Error::CertificateProfile {
            check: "leaf certificate must not be a CA",
        });
    }
    let ku = leaf.decoded_extension::<KeyUsage>("2.5.29.15")?;
    if !ku.is_some_and(|k| k.digital_signature()) {
        return Err(Error::CertificateProfile {
            check: "key usage digitalSignature",
        });
    }
    let eku = leaf.decoded_extension::<ExtendedKeyUsage>("2.5.29.37")?;
    if !eku.is_some_and(|e| e.0.iter().any(|oid| oid.to_string() == OID_CODE_SIGNING)) {
        return Err(Error::CertificateProfile {
            check: "extended key usage codeSigning",
        });
    }
    Ok(())
}

/// Builds a path from `leaf` to a certificate authority of `trust` that was valid at `at`, every
/// certificate on it valid at `at` (the "hybrid model" of the client spec §4). Intermediates
/// carried in the bundle are ignored: only the trusted root's chains count. Returns the path's
/// CA certificates, issuer first.
pub(crate) fn verify_chain(
    leaf: &ParsedCert,
    trust: &TrustedRoot,
    at: u64,
) -> Result<Vec<ParsedCert>> {
    leaf.check_valid_at(at)?;
    let mut last_error = None;
    for ca in trust
        .certificate_authorities
        .iter()
        .filter(|ca| ca.valid_for.contains(at))
    {
        match chain_through(leaf, &ca.chain, at) {
            Ok(path) => return Ok(path),
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e @ Error::CertificateNotValidAt { .. }) => e,
        _ => Error::UntrustedCertificate {
            issuer: leaf.cert.tbs_certificate().issuer().to_string(),
        },
    })
}

fn chain_through(leaf: &ParsedCert, chain: &[Vec<u8>], at: u64) -> Result<Vec<ParsedCert>> {
    let path = chain
        .iter()
        .map(|der| ParsedCert::from_der(der))
        .collect::<Result<Vec<_>>>()?;
    let mut child = leaf;
    for ca in &path {
        child.check_signed_by(&ca.key)?;
        if !ca.is_ca()? {
            return Err(Error::CertificateProfile {
                check: "issuer certificate must be a CA",
            });
        }
        ca.check_valid_at(at)?;
        child = ca;
    }
    Ok(path)
}

/// Verifies that the leaf carries at least one embedded SCT signed by a CT log of `trust`
/// (RFC 6962 §3.2, precertificate entry).
pub(crate) fn verify_embedded_sct(
    leaf: &ParsedCert,
    issuer: &ParsedCert,
    trust: &TrustedRoot,
) -> Result<()> {
    let Some(ext) = leaf.extension(OID_SCT_LIST) else {
        return Err(Error::Sct {
            reason: "certificate has no embedded SCT",
        });
    };
    let list = SignedCertificateTimestampList::from_der(ext)
        .map_err(|e| Error::malformed("SCT list", e))?;
    let scts = list.parse_timestamps().map_err(|_| Error::Sct {
        reason: "SCT list is not valid TLS encoding",
    })?;
    let tbs = tbs_without_extension(&leaf.tbs, OID_SCT_LIST_DER)?;
    let issuer_key_hash = Sha256::digest(issuer.key.spki_der());
    let mut reason = "no SCT from a trusted CT log";
    for serialized in scts {
        let Ok(sct) = serialized.parse_timestamp() else {
            reason = "SCT is not valid TLS encoding";
            continue;
        };
        let Some(log) = trust.ctlog(&sct.log_id.key_id) else {
            continue;
        };
        let Some(key) = &log.key else { continue };
        if !log.valid_for.contains(sct.timestamp / 1000) {
            reason = "CT log key not valid at the SCT's time";
            continue;
        }
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(&issuer_key_hash);
        let tbs_len = u32::try_from(tbs.len()).map_err(|_| Error::Sct {
            reason: "TBS too large",
        })?;
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        let exts = sct.extensions.as_slice();
        let exts_len = u16::try_from(exts.len()).map_err(|_| Error::Sct {
            reason: "SCT extensions too large",
        })?;
        signed.extend_from_slice(&exts_len.to_be_bytes());
        signed.extend_from_slice(exts);
        if key
            .verify("SCT", &signed, sct.signature.signature.as_slice())
            .is_ok()
        {
            return Ok(());
        }
        reason = "SCT signature does not verify";
    }
    Err(Error::Sct { reason })
}

/// DER of OID 1.3.6.1.4.1.11129.2.4.2.
const OID_SCT_LIST_DER: &[u8] = &[
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02,
];

/// Rebuilds a TBSCertificate without the extension whose OID TLV is `oid_der`, keeping every
/// other byte as it was (the precertificate the CT log signed).
fn tbs_without_extension(tbs: &[u8], oid_der: &[u8]) -> Result<Vec<u8>> {
    let (_, tbs_content, _) = tlv(tbs)?;
    let mut fields = Vec::new();
    for element in elements(tbs_content)? {
        if element.first() == Some(&0xa3) {
            let (_, explicit, _) = tlv(element)?;
            let (_, list, _) = tlv(explicit)?;
            let mut kept = Vec::new();
            for ext in elements(list)? {
                let (_, ext_content, _) = tlv(ext)?;
                let (_, _, oid) = tlv(ext_content)?;
                if oid != oid_der {
                    kept.extend_from_slice(ext);
                }
            }
            fields.extend(wrap(0xa3, &wrap(0x30, &kept)));
        } else {
            fields.extend_from_slice(element);
        }
    }
    Ok(wrap(0x30, &fields))
}

/// Splits one DER TLV off `input`: (tag, content, whole TLV).
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    let bad = || Error::malformed("DER", "truncated or invalid length");
    let tag = *input.first().ok_or_else(bad)?;
    let first = *input.get(1).ok_or_else(bad)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad());
        }
        let bytes = input.get(2..2 + n).ok_or_else(bad)?;
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            2 + n,
        )
    };
    let end = header.checked_add(len).ok_or_else(bad)?;
    let whole = input.get(..end).ok_or_else(bad)?;
    Ok((tag, &whole[header..], whole))
}

fn elements(mut content: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (_, _, whole) = tlv(content)?;
        content = &content[whole.len()..];
        out.push(whole);
    }
    Ok(out)
}

fn wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_leaf() -> ParsedCert {
        use base64::Engine as _;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/sigstore-python/bundle_v3.txt.sigstore"
        );
        let bundle: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
        let b64 = bundle["verificationMaterial"]["certificate"]["rawBytes"]
            .as_str()
            .expect("cert");
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64");
        ParsedCert::from_der(&der).expect("certificate")
    }

    #[test]
    fn leaf_outside_its_ten_minutes_is_not_valid() {
        let leaf = vector_leaf();
        let (nb, na) = (leaf.not_before(), leaf.not_after());
        assert_eq!(na - nb, 600);
        assert!(leaf.check_valid_at(nb).is_ok() && leaf.check_valid_at(na).is_ok());
        for at in [nb - 1, na + 1] {
            assert!(matches!(
                leaf.check_valid_at(at),
                Err(Error::CertificateNotValidAt { at: a, .. }) if a == at
            ));
        }
        check_leaf_profile(&leaf).expect("Fulcio leaf profile");
        let id = identity(&leaf).expect("identity");
        assert_eq!(id.subject_alternative_names, ["william@yossarian.net"]);
    }

    #[test]
    fn der_length_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; len];
            let encoded = wrap(0x30, &content);
            let (tag, got, whole) = tlv(&encoded).expect("tlv");
            assert_eq!((tag, got.len(), whole.len()), (0x30, len, encoded.len()));
        }
        assert!(tlv(&[0x30, 0x85, 1, 2, 3, 4, 5]).is_err());
        assert!(tlv(&[0x30, 0x05, 1]).is_err());
    }
}
