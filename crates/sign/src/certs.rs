//! X.509 checks for Fulcio-style code-signing certificates: path validation to a trusted
//! certificate authority at the signing time, the leaf's profile, its identity (SAN and Fulcio
//! extensions, `sigstore/fulcio:docs/oid-info.md`) and its embedded SCT (RFC 6962 §3.2).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, OnceLock};

use der::{Decode, Encode, Tagged as _};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SignedCertificateTimestampList, SubjectAltName,
};

use crate::error::{Error, Result};
use crate::keys::{HashAlgorithm, VerifyingKey};
use crate::trust_root::{CertificateAuthority, TrustedRoot, Validity};
use crate::verify::{EcdsaHash, verify_fast};

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
        // The TBSCertificate exactly as signed: the first element of the outer SEQUENCE (its
        // header re-encoded, which DER makes canonical; its content as received).
        let elements: Vec<der::asn1::AnyRef<'_>> =
            Vec::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
        let tbs = elements
            .first()
            .ok_or_else(|| Error::malformed("certificate", "empty SEQUENCE"))?
            .to_der()
            .map_err(|e| Error::malformed("certificate", e))?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::malformed("certificate public key", e))?;
        let key = VerifyingKey::from_spki_der(&spki)?;
        Ok(Self {
            der: der.to_vec(),
            cert,
            tbs,
            key,
        })
    }

    /// DER of the subject name.
    pub(crate) fn subject_der(&self) -> Result<Vec<u8>> {
        self.cert
            .tbs_certificate()
            .subject()
            .to_der()
            .map_err(|e| Error::malformed("certificate subject", e))
    }

    /// DER of the issuer name.
    pub(crate) fn issuer_der(&self) -> Result<Vec<u8>> {
        self.cert
            .tbs_certificate()
            .issuer()
            .to_der()
            .map_err(|e| Error::malformed("certificate issuer", e))
    }

    pub(crate) fn subject(&self) -> String {
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

    pub(crate) fn extension(&self, oid: &str) -> Option<&[u8]> {
        self.cert
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    pub(crate) fn decoded_extension<'a, T: Decode<'a>>(&'a self, oid: &str) -> Result<Option<T>> {
        self.extension(oid)
            .map(|bytes| {
                T::from_der(bytes).map_err(|e| Error::malformed("certificate extension", e))
            })
            .transpose()
    }

    pub(crate) fn is_ca(&self) -> Result<bool> {
        Ok(self
            .decoded_extension::<BasicConstraints>("2.5.29.19")?
            .is_some_and(|bc| bc.ca))
    }

    /// Verifies this certificate's signature with `issuer`'s key.
    pub(crate) fn check_signed_by(&self, issuer: &VerifyingKey) -> Result<()> {
        let check = "certificate chain";
        let signature = self
            .cert
            .signature()
            .as_bytes()
            .ok_or(Error::SignatureInvalid { check })?;
        let oid = self.cert.signature_algorithm().oid.to_string();
        let hash = match oid.as_str() {
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
        // ecdsa-with-SHA256/384 (RFC 5758 §3.2): the fast verifier first.
        let fast = match oid.as_str() {
            "1.2.840.10045.4.3.2" => Some(EcdsaHash::Sha256),
            "1.2.840.10045.4.3.3" => Some(EcdsaHash::Sha384),
            _ => None,
        };
        if let Some(fast) = fast
            && verify_fast(issuer, Some(fast), &self.tbs, signature)
        {
            return Ok(());
        }
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

/// Most leaf certificates whose issuer signature a [`TrustedChain`] remembers; when full the
/// set is emptied (a verifier re-checks, never trusts more).
const MAX_REMEMBERED_LEAVES: usize = 4096;

/// A certificate authority chain of the trusted root, parsed once per `Verifier`, with
/// signature verifications remembered so that re-verifying does not repeat them (the ECDSA
/// P-384 signatures of Fulcio's chain cost more than everything else in a bundle together):
///
/// * the signatures *between* its CA certificates (each signed by the next), verified once on
///   first use; the chain is immutable and owned, so the result is keyed by the exact DER of
///   every pair it covers; a failure is remembered too (fail closed);
/// * leaf certificates whose signature by the chain's first certificate verified, keyed by
///   the leaf's exact DER (a bounded set; failures are not remembered, so they are re-checked).
///
/// Only signatures are remembered: validity at the signing time, the profile, the SCT and the
/// identity are checked on every call.
#[derive(Debug)]
pub(crate) struct TrustedChain {
    valid_for: Validity,
    /// The parsed chain, leaf-most first, or why a certificate did not parse.
    certs: std::result::Result<Vec<ParsedCert>, String>,
    links: OnceLock<bool>,
    leaves: Mutex<HashSet<Box<[u8]>>>,
}

impl TrustedChain {
    /// Parses the CA chains of `trust`.
    pub(crate) fn all(trust: &TrustedRoot) -> Vec<Self> {
        Self::from_authorities(&trust.certificate_authorities)
    }

    /// Parses the chains of `authorities` (certificate or timestamp authorities).
    pub(crate) fn from_authorities(authorities: &[CertificateAuthority]) -> Vec<Self> {
        authorities
            .iter()
            .map(|ca| Self {
                valid_for: ca.valid_for,
                certs: ca
                    .chain
                    .iter()
                    .map(|der| ParsedCert::from_der(der))
                    .collect::<Result<Vec<_>>>()
                    .map_err(|e| e.to_string()),
                links: OnceLock::new(),
                leaves: Mutex::new(HashSet::new()),
            })
            .collect()
    }

    /// Verifies that the chain's first certificate signed `leaf`, unless that exact leaf
    /// verified before.
    fn check_leaf_signature(&self, leaf: &ParsedCert, issuer: &ParsedCert) -> Result<()> {
        if self
            .leaves
            .lock()
            .is_ok_and(|known| known.contains(leaf.der.as_slice()))
        {
            return Ok(());
        }
        leaf.check_signed_by(&issuer.key)?;
        if let Ok(mut known) = self.leaves.lock() {
            if known.len() >= MAX_REMEMBERED_LEAVES {
                known.clear();
            }
            known.insert(leaf.der.clone().into_boxed_slice());
        }
        Ok(())
    }

    /// Runs `verify` (a signature check by this chain's first certificate over exactly the
    /// bytes in `key`) unless the same `key` verified before. `key` starts with a domain label
    /// that no DER certificate starts with (`0x30`), so it never meets a remembered leaf.
    pub(crate) fn check_remembered(
        &self,
        key: &[u8],
        verify: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        if self.leaves.lock().is_ok_and(|known| known.contains(key)) {
            return Ok(());
        }
        verify()?;
        if let Ok(mut known) = self.leaves.lock() {
            if known.len() >= MAX_REMEMBERED_LEAVES {
                known.clear();
            }
            known.insert(key.to_vec().into_boxed_slice());
        }
        Ok(())
    }

    /// The authority's `validFor` window.
    pub(crate) fn valid_for(&self) -> Validity {
        self.valid_for
    }

    /// The parsed chain, leaf-most first.
    pub(crate) fn certs(&self) -> Result<&[ParsedCert]> {
        self.certs
            .as_deref()
            .map_err(|e| Error::malformed("trusted root certificate", e))
    }

    /// True when every CA certificate of the chain is signed by the next one.
    pub(crate) fn links_verified(&self, path: &[ParsedCert]) -> bool {
        *self.links.get_or_init(|| {
            path.windows(2)
                .all(|pair| pair[0].check_signed_by(&pair[1].key).is_ok())
        })
    }
}

/// Builds a path from `leaf` to a certificate authority of the trusted root that was valid at
/// `at`, every certificate on it valid at `at` (the "hybrid model" of the client spec §4).
/// Intermediates carried in the bundle are ignored: only the trusted root's chains count.
/// Returns the path's CA certificates, issuer first.
pub(crate) fn verify_chain<'a>(
    leaf: &ParsedCert,
    chains: &'a [TrustedChain],
    at: u64,
) -> Result<&'a [ParsedCert]> {
    leaf.check_valid_at(at)?;
    let mut last_error = None;
    for chain in chains.iter().filter(|c| c.valid_for.contains(at)) {
        match chain_through(leaf, chain, at) {
            Ok(path) => return Ok(path),
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e @ (Error::CertificateNotValidAt { .. } | Error::CertificateProfile { .. })) => e,
        _ => Error::UntrustedCertificate {
            issuer: leaf.cert.tbs_certificate().issuer().to_string(),
        },
    })
}

fn chain_through<'a>(
    leaf: &ParsedCert,
    chain: &'a TrustedChain,
    at: u64,
) -> Result<&'a [ParsedCert]> {
    let path = chain
        .certs
        .as_deref()
        .map_err(|e| Error::malformed("trusted root certificate", e))?;
    let issuer = path.first().ok_or(Error::MissingField {
        what: "trusted root certificate authority",
        field: "certChain.certificates",
    })?;
    chain.check_leaf_signature(leaf, issuer)?;
    if !chain.links_verified(path) {
        return Err(Error::SignatureInvalid {
            check: "certificate chain",
        });
    }
    check_path_rules(leaf, path)?;
    for ca in path {
        ca.check_valid_at(at)?;
    }
    Ok(path)
}

/// Extensions vouch processes (RFC 5280 §4.2): a certificate carrying any other extension
/// marked critical is refused (§4.2: "A certificate-using system MUST reject the certificate
/// if it encounters a critical extension it does not recognize"). Name constraints and
/// certificate policies are not processed, so they are refused when critical too; a CT
/// precertificate's critical poison extension is refused likewise.
const KNOWN_CRITICAL_EXTENSIONS: [&str; 6] = [
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName (critical when the subject is empty, as in Fulcio leaves)
    "2.5.29.19", // basicConstraints
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.37", // extKeyUsage
];

/// RFC 5280 §6.1 path rules beyond signatures and validity, for `leaf` issued by `cas[0]`,
/// issued by `cas[1]`, ..., up to the trust anchor: name chaining (§6.1.3 (a)(4)), no
/// unrecognised critical extension (§4.2), every issuer a CA (basicConstraints cA, §4.2.1.9)
/// whose key usage, when present, allows keyCertSign (§4.2.1.3, §6.1.4 (n)), and every
/// pathLenConstraint respected by the non-self-issued intermediates below it (§4.2.1.9,
/// §6.1.4 (l), (m)). The trust anchor's own constraints are applied too (stricter than §6.1,
/// as Go's verifier and sigstore-go are).
pub(crate) fn check_path_rules(leaf: &ParsedCert, cas: &[ParsedCert]) -> Result<()> {
    let profile = |check| Error::CertificateProfile { check };
    check_critical_extensions(leaf)?;
    let mut child = leaf;
    let mut intermediates_below = 0usize;
    for ca in cas {
        if child.issuer_der()? != ca.subject_der()? {
            return Err(profile(
                "issuer name must equal the issuing certificate's subject (RFC 5280 6.1.3)",
            ));
        }
        check_critical_extensions(ca)?;
        let constraints = ca
            .decoded_extension::<BasicConstraints>("2.5.29.19")?
            .filter(|bc| bc.ca)
            .ok_or_else(|| profile("issuer certificate must be a CA"))?;
        if let Some(usage) = ca.decoded_extension::<KeyUsage>("2.5.29.15")?
            && !usage.key_cert_sign()
        {
            return Err(profile(
                "CA key usage must include keyCertSign (RFC 5280 4.2.1.3)",
            ));
        }
        if let Some(max) = constraints.path_len_constraint
            && intermediates_below > usize::from(max)
        {
            return Err(profile("pathLenConstraint exceeded (RFC 5280 4.2.1.9)"));
        }
        if ca.issuer_der()? != ca.subject_der()? {
            intermediates_below += 1;
        }
        child = ca;
    }
    Ok(())
}

fn check_critical_extensions(cert: &ParsedCert) -> Result<()> {
    let unknown = cert
        .cert
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .any(|e| {
            e.critical && !KNOWN_CRITICAL_EXTENSIONS.contains(&e.extn_id.to_string().as_str())
        });
    if unknown {
        return Err(Error::CertificateProfile {
            check: "unrecognised critical extension (RFC 5280 4.2)",
        });
    }
    Ok(())
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
    let tbs = tbs_without_extension(&leaf.tbs, &OID_SCT_LIST_OID)?;
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
        let sct_signature = sct.signature.signature.as_slice();
        if verify_fast(key, None, &signed, sct_signature)
            || key.verify("SCT", &signed, sct_signature).is_ok()
        {
            return Ok(());
        }
        reason = "SCT signature does not verify";
    }
    Err(Error::Sct { reason })
}

/// The embedded SCT list extension (RFC 6962 §3.3).
const OID_SCT_LIST_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap(OID_SCT_LIST);

/// RFC 6962 §3.2 (precertificate entries): the DER TBSCertificate `tbs` without the extension
/// `oid`, every other element kept byte for byte and re-wrapped. What a CT log signs for a
/// precertificate (the CA removes the poison extension) and what a verifier rebuilds from the
/// final certificate (removing the SCT list). Fails if `tbs` is not a DER SEQUENCE of
/// elements or an extension does not parse.
pub fn tbs_without_extension(tbs: &[u8], oid: &der::asn1::ObjectIdentifier) -> Result<Vec<u8>> {
    use der::asn1::{Any, AnyRef};
    let bad = |e: der::Error| Error::malformed("TBSCertificate", e);
    // `extensions [3] EXPLICIT Extensions` (RFC 5280 §4.1).
    let extensions_tag = der::Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber(3),
    };
    let fields: Vec<AnyRef<'_>> = Vec::from_der(tbs).map_err(bad)?;
    let mut out: Vec<Any> = Vec::with_capacity(fields.len());
    for field in fields {
        if field.tag() != extensions_tag {
            out.push(field.into());
            continue;
        }
        let list: Vec<AnyRef<'_>> = Vec::from_der(field.value()).map_err(bad)?;
        let mut kept: Vec<Any> = Vec::with_capacity(list.len());
        for ext in list {
            let parsed: x509_cert::ext::Extension = ext.decode_as().map_err(bad)?;
            if parsed.extn_id != *oid {
                kept.push(ext.into());
            }
        }
        out.push(Any::new(extensions_tag, kept.to_der().map_err(bad)?).map_err(bad)?);
    }
    out.to_der().map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds certificates with exactly the given names and extensions (signatures are not
    /// what these tests are about: `check_path_rules` covers what comes on top of them).
    mod build {
        use std::str::FromStr as _;
        use std::time::Duration;

        use der::asn1::OctetString;
        use der::{Decode as _, Encode};
        use p256::ecdsa::{DerSignature, SigningKey};
        use spki::{EncodePublicKey as _, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
        use x509_cert::builder::profile::BuilderProfile;
        use x509_cert::builder::{Builder as _, CertificateBuilder};
        use x509_cert::certificate::TbsCertificate;
        use x509_cert::ext::Extension;
        use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
        use x509_cert::name::Name;
        use x509_cert::serial_number::SerialNumber;
        use x509_cert::time::Validity;

        use super::ParsedCert;

        struct Profile {
            subject: Name,
            issuer: Name,
            extensions: Vec<Extension>,
        }

        impl BuilderProfile for Profile {
            fn get_issuer(&self, _subject: &Name) -> Name {
                self.issuer.clone()
            }
            fn get_subject(&self) -> Name {
                self.subject.clone()
            }
            fn build_extensions(
                &self,
                _spk: SubjectPublicKeyInfoRef<'_>,
                _issuer_spk: SubjectPublicKeyInfoRef<'_>,
                _tbs: &TbsCertificate,
            ) -> x509_cert::builder::Result<Vec<Extension>> {
                Ok(self.extensions.clone())
            }
        }

        pub(super) fn ext(oid: &str, critical: bool, value: &impl Encode) -> Extension {
            Extension {
                extn_id: der::asn1::ObjectIdentifier::new_unwrap(oid),
                critical,
                extn_value: OctetString::new(value.to_der().expect("der")).expect("octets"),
            }
        }

        pub(super) fn ca(path_len: Option<u8>) -> Vec<Extension> {
            vec![
                ext(
                    "2.5.29.19",
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: path_len,
                    },
                ),
                ext("2.5.29.15", true, &KeyUsage(KeyUsages::KeyCertSign.into())),
            ]
        }

        pub(super) fn leaf() -> Vec<Extension> {
            vec![ext(
                "2.5.29.15",
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )]
        }

        pub(super) fn cert(subject: &str, issuer: &str, extensions: Vec<Extension>) -> ParsedCert {
            let key = SigningKey::from_slice(&[7u8; 32]).expect("key");
            let spki = SubjectPublicKeyInfoOwned::from_der(
                key.verifying_key()
                    .to_public_key_der()
                    .expect("spki")
                    .as_bytes(),
            )
            .expect("spki");
            let profile = Profile {
                subject: Name::from_str(subject).expect("name"),
                issuer: Name::from_str(issuer).expect("name"),
                extensions,
            };
            let validity = Validity::from_now(Duration::from_secs(3600)).expect("validity");
            let builder =
                CertificateBuilder::new(profile, SerialNumber::from(1u32), validity, spki)
                    .expect("builder");
            let cert = builder.build::<_, DerSignature>(&key).expect("build");
            ParsedCert::from_der(&cert.to_der().expect("der")).expect("parse")
        }
    }

    /// RFC 5280 path rules, each failing on a path that differs from a valid one in that rule
    /// only.
    #[test]
    fn rfc5280_path_rules() {
        use build::{ca, cert, ext, leaf};
        use x509_cert::ext::pkix::KeyUsages;
        let root = || cert("CN=root", "CN=root", ca(None));
        let inter = || cert("CN=inter", "CN=root", ca(Some(0)));
        let good_leaf = || cert("CN=leaf", "CN=inter", leaf());
        check_path_rules(&good_leaf(), &[inter(), root()]).expect("valid path");

        let refused = |leaf: ParsedCert, cas: &[ParsedCert]| match check_path_rules(&leaf, cas) {
            Err(Error::CertificateProfile { check }) => check,
            other => panic!("expected a path rule failure, got {other:?}"),
        };
        // An unrecognised critical extension, on the leaf and on a CA; non-critical is fine.
        let mut exts = leaf();
        exts.push(ext("1.2.3.4", true, &der::asn1::Null));
        assert!(
            refused(cert("CN=leaf", "CN=inter", exts), &[inter(), root()]).contains("critical")
        );
        let mut exts = leaf();
        exts.push(ext("1.2.3.4", false, &der::asn1::Null));
        check_path_rules(&cert("CN=leaf", "CN=inter", exts), &[inter(), root()])
            .expect("non-critical unknown extension");
        let mut exts = ca(Some(0));
        exts.push(ext("1.3.6.1.4.1.11129.2.4.3", true, &der::asn1::Null));
        assert!(
            refused(good_leaf(), &[cert("CN=inter", "CN=root", exts), root()]).contains("critical")
        );
        // A CA whose key usage lacks keyCertSign.
        let mut exts = ca(Some(0));
        exts[1] = ext(
            "2.5.29.15",
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        );
        assert!(
            refused(good_leaf(), &[cert("CN=inter", "CN=root", exts), root()])
                .contains("keyCertSign")
        );
        // An issuer that is not a CA.
        assert!(
            refused(good_leaf(), &[cert("CN=inter", "CN=root", leaf()), root()]).contains("CA")
        );
        // pathLenConstraint 0 on the root with one intermediate below it; 1 is enough.
        assert!(
            refused(
                good_leaf(),
                &[inter(), cert("CN=root", "CN=root", ca(Some(0)))]
            )
            .contains("pathLenConstraint")
        );
        check_path_rules(
            &good_leaf(),
            &[inter(), cert("CN=root", "CN=root", ca(Some(1)))],
        )
        .expect("pathLen 1");
        // Two intermediates under an intermediate with pathLen 0.
        let lower = cert("CN=lower", "CN=inter", ca(None));
        let leaf_of_lower = cert("CN=leaf", "CN=lower", leaf());
        assert!(refused(leaf_of_lower, &[lower, inter(), root()]).contains("pathLenConstraint"));
        // Names that do not chain.
        assert!(
            refused(cert("CN=leaf", "CN=other", leaf()), &[inter(), root()]).contains("subject")
        );
    }

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
    fn precertificate_tbs_drops_only_the_sct_list() {
        let leaf = vector_leaf();
        let without = tbs_without_extension(&leaf.tbs, &OID_SCT_LIST_OID).expect("rebuilt");
        assert!(without.len() < leaf.tbs.len());
        let tbs = x509_cert::TbsCertificate::from_der(&without).expect("still a TBSCertificate");
        let original = leaf.cert.tbs_certificate();
        assert_eq!(
            tbs.subject_public_key_info(),
            original.subject_public_key_info()
        );
        let names = |t: &x509_cert::TbsCertificate| -> Vec<String> {
            t.extensions()
                .into_iter()
                .flatten()
                .map(|e| e.extn_id.to_string())
                .collect()
        };
        let mut expected = names(original);
        expected.retain(|o| o != OID_SCT_LIST);
        assert_eq!(names(&tbs), expected);
        // Removing an absent extension changes nothing.
        let again = tbs_without_extension(&without, &OID_SCT_LIST_OID).expect("rebuilt");
        assert_eq!(again, without);
        assert!(tbs_without_extension(&without[..without.len() - 1], &OID_SCT_LIST_OID).is_err());
    }
}
