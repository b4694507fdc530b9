//! RFC 3161 timestamps carried in bundles
//! (`verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp`).
//!
//! The token is parsed with RustCrypto `x509-tsp` (TimeStampResp, TSTInfo) and `cms`
//! (SignedData, RFC 5652) and verified as `sigstore/timestamp-authority:pkg/verification/verify.go`
//! `VerifyTimestampResponse` does when sigstore-go (`pkg/root/timestamping_authority.go`) calls it
//! with a trusted root's TSA chain:
//!
//! 1. status granted (or granted with modifications), the token a CMS SignedData whose content is
//!    an `id-ct-TSTInfo`, exactly one signer;
//! 2. the message imprint (SHA-256/384/512) is the digest of the bundle's signature bytes
//!    (`sigstore/architecture-docs:client-spec.md` §2.1.5);
//! 3. the signed attributes carry the content type and the digest of the TSTInfo, and the
//!    signer's signature over them verifies with the key of the TSA certificate of a trusted
//!    root `timestampAuthorities` entry (the signer identifier must name that certificate; a
//!    certificate embedded under the same name must be that certificate byte for byte);
//! 4. that certificate chains through the entry's intermediates to its root, every certificate
//!    valid at the token's `genTime`; the TSA certificate is an end entity whose only, critical
//!    extended key usage is timeStamping (RFC 3161 §2.3), intermediates allow timeStamping;
//! 5. `genTime` lies inside the entry's `validFor` (both ends inclusive).
//!
//! Nonce and policy are not checked: a bundle carries no request to compare them with (as in
//! sigstore-go, which sets neither option).

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der07::asn1::{ObjectIdentifier, OctetStringRef};
use der07::{Decode as _, Encode as _};
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};
use x509_tsp::{TimeStampResp, TstInfo};

use crate::certs::{ParsedCert, TrustedChain, check_path_rules};
use crate::error::{Error, Result};
use crate::keys::HashAlgorithm;
use crate::verify::{EcdsaHash, verify_fast};

const ID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const ID_CT_TSTINFO: &str = "1.2.840.113549.1.9.16.1.4";
const ID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const ID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
const OID_ANY_EKU: &str = "2.5.29.37.0";
const OID_EKU: &str = "2.5.29.37";

/// A timestamp that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// `genTime`, unix seconds (fractions truncated).
    pub time: u64,
    /// Subject of the TSA certificate that signed it.
    pub authority: String,
}

fn fail(check: &'static str, detail: impl std::fmt::Display) -> Error {
    Error::Timestamp {
        check,
        detail: detail.to_string(),
    }
}

/// A parsed token: the SignedData, its single signer and the TSTInfo with its exact bytes.
struct Token {
    signed_data: SignedData,
    tst_info: TstInfo,
    tst_der: Vec<u8>,
}

impl Token {
    /// Parses a DER TimeStampResp (what Sigstore bundles carry) or a bare TimeStampToken.
    fn parse(der: &[u8]) -> Result<Self> {
        let syntax = |e: der07::Error| fail("timestamp syntax", e);
        let token = match TimeStampResp::from_der(der) {
            Ok(resp) => {
                // PKIStatus granted (0) or grantedWithMods (1), RFC 3161 §2.4.2.
                let status = resp.status.status as u8;
                if status > 1 {
                    return Err(fail(
                        "timestamp status",
                        format!("status {status} is not granted"),
                    ));
                }
                resp.time_stamp_token
                    .ok_or_else(|| fail("timestamp syntax", "granted response without a token"))?
            }
            Err(resp_error) => {
                ContentInfo::from_der(der).map_err(|_| fail("timestamp syntax", resp_error))?
            }
        };
        if token.content_type.to_string() != ID_SIGNED_DATA {
            return Err(fail(
                "timestamp syntax",
                format!(
                    "token content type {} is not SignedData",
                    token.content_type
                ),
            ));
        }
        let signed_data: SignedData = token.content.decode_as().map_err(syntax)?;
        let encap = &signed_data.encap_content_info;
        if encap.econtent_type.to_string() != ID_CT_TSTINFO {
            return Err(fail(
                "timestamp syntax",
                format!("content type {} is not id-ct-TSTInfo", encap.econtent_type),
            ));
        }
        let econtent = encap
            .econtent
            .as_ref()
            .ok_or_else(|| fail("timestamp syntax", "no encapsulated TSTInfo"))?;
        let tst_der = econtent
            .decode_as::<OctetStringRef<'_>>()
            .map_err(syntax)?
            .as_bytes()
            .to_vec();
        let tst_info = TstInfo::from_der(&tst_der).map_err(syntax)?;
        if signed_data.signer_infos.0.len() != 1 {
            return Err(fail(
                "timestamp syntax",
                format!(
                    "{} signers, expected exactly one",
                    signed_data.signer_infos.0.len()
                ),
            ));
        }
        Ok(Self {
            signed_data,
            tst_info,
            tst_der,
        })
    }

    fn signer(&self) -> &SignerInfo {
        // Exactly one, checked in `parse`.
        &self.signed_data.signer_infos.0.as_slice()[0]
    }
}

/// The SHA-2 function an OID names (RFC 5754), or `None`.
fn sha2_by_oid(oid: &str) -> Option<HashAlgorithm> {
    match oid {
        "2.16.840.1.101.3.4.2.1" => Some(HashAlgorithm::Sha2_256),
        "2.16.840.1.101.3.4.2.2" => Some(HashAlgorithm::Sha2_384),
        "2.16.840.1.101.3.4.2.3" => Some(HashAlgorithm::Sha2_512),
        _ => None,
    }
}

/// Verifies one bundle timestamp over `signature` (the bundle's signature bytes) against the
/// trusted timestamp authorities `tsas`.
pub(crate) fn verify(
    token_der: &[u8],
    signature: &[u8],
    tsas: &[TrustedChain],
) -> Result<VerifiedTimestamp> {
    let token = Token::parse(token_der)?;
    let time = token.tst_info.gen_time.to_unix_duration().as_secs();

    // Message imprint over the signature bytes (timestamp-authority `verifyHashedMessages`;
    // SHA-1 refused as there).
    let imprint = &token.tst_info.message_imprint;
    let imprint_oid = imprint.hash_algorithm.oid.to_string();
    let imprint_hash = sha2_by_oid(&imprint_oid).ok_or_else(|| {
        fail(
            "timestamp message imprint",
            format!("hash algorithm {imprint_oid} is not SHA-256/384/512"),
        )
    })?;
    if imprint.hashed_message.as_bytes() != imprint_hash.digest(signature).as_slice() {
        return Err(fail(
            "timestamp message imprint",
            "does not match the digest of the bundle's signature",
        ));
    }

    let signer = token.signer();
    // The signer's digest algorithm is among those SignedData announces (RFC 5652 §5.1).
    if !token
        .signed_data
        .digest_algorithms
        .iter()
        .any(|alg| alg.oid == signer.digest_alg.oid)
    {
        return Err(fail(
            "timestamp signed attributes",
            "signer digest algorithm not listed in SignedData digestAlgorithms",
        ));
    }
    let signed_attrs = check_signed_attributes(&token, signer)?;

    if tsas.is_empty() {
        return Err(fail(
            "timestamp authority",
            "the bundle carries RFC 3161 timestamps but the trusted root lists no timestamp authority",
        ));
    }
    let mut first_error = None;
    for tsa in tsas {
        let Ok(chain) = tsa.certs() else { continue };
        let Some(leaf) = chain.first() else { continue };
        if !names_certificate(&signer.sid, leaf)? {
            continue;
        }
        match verify_with(&token, signer, &signed_attrs, tsa, chain, time) {
            Ok(()) => {
                return Ok(VerifiedTimestamp {
                    time,
                    authority: leaf.subject(),
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        fail(
            "timestamp authority",
            "signed by a certificate that no trusted timestamp authority lists",
        )
    }))
}

/// RFC 5652 §5.3/§11: signed attributes present, content type `id-ct-TSTInfo`, message digest
/// = digest of the TSTInfo octets. Returns their DER encoding as a SET OF (what is signed).
fn check_signed_attributes(token: &Token, signer: &SignerInfo) -> Result<Vec<u8>> {
    let check = "timestamp signed attributes";
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| fail(check, "no signed attributes"))?;
    let digest_oid = signer.digest_alg.oid.to_string();
    let digest_hash = sha2_by_oid(&digest_oid)
        .ok_or_else(|| fail(check, format!("digest algorithm {digest_oid} is not SHA-2")))?;
    let single = |oid: &str| {
        let mut found = attrs.iter().filter(|a| a.oid.to_string() == oid);
        match (found.next(), found.next()) {
            (Some(a), None) if a.values.len() == 1 => Ok(&a.values.as_slice()[0]),
            _ => Err(fail(check, format!("expected exactly one attribute {oid}"))),
        }
    };
    let content_type: ObjectIdentifier = single(ID_CONTENT_TYPE)?
        .decode_as()
        .map_err(|e| fail(check, e))?;
    if content_type.to_string() != ID_CT_TSTINFO {
        return Err(fail(check, "content-type attribute is not id-ct-TSTInfo"));
    }
    let digest = single(ID_MESSAGE_DIGEST)?
        .decode_as::<OctetStringRef<'_>>()
        .map_err(|e| fail(check, e))?;
    if digest.as_bytes() != digest_hash.digest(&token.tst_der).as_slice() {
        return Err(fail(
            check,
            "message-digest attribute does not match the TSTInfo",
        ));
    }
    attrs.to_der().map_err(|e| fail(check, e))
}

/// True when the signer identifier names `cert` (issuer and serial number, or subject key
/// identifier).
fn names_certificate(sid: &SignerIdentifier, cert: &ParsedCert) -> Result<bool> {
    let tbs = cert.cert.tbs_certificate();
    Ok(match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            let issuer =
                der::Encode::to_der(tbs.issuer()).map_err(|e| fail("timestamp authority", e))?;
            let sid_issuer = ias
                .issuer
                .to_der()
                .map_err(|e| fail("timestamp authority", e))?;
            issuer == sid_issuer && tbs.serial_number().as_bytes() == ias.serial_number.as_bytes()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .decoded_extension::<SubjectKeyIdentifier>("2.5.29.14")?
            .is_some_and(|own| own.0.as_bytes() == ski.0.as_bytes()),
    })
}

fn verify_with(
    token: &Token,
    signer: &SignerInfo,
    signed_attrs: &[u8],
    tsa: &TrustedChain,
    chain: &[ParsedCert],
    time: u64,
) -> Result<()> {
    let leaf = &chain[0];
    // Only the trusted chain counts; a certificate embedded in the token must be one of its
    // certificates byte for byte (sigstore timestamp-authority `verifyESSCertID` compares the
    // signer's issuer and serial with the trusted TSA certificate; vouch the whole DER of
    // every embedded certificate, so nothing unsigned in the token goes unchecked).
    for choice in token
        .signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
    {
        let CertificateChoices::Certificate(embedded) = choice else {
            return Err(fail(
                "timestamp certificate chain",
                "embedded certificate of another format",
            ));
        };
        let der = embedded
            .to_der()
            .map_err(|e| fail("timestamp certificate chain", e))?;
        if !chain.iter().any(|c| c.der == der) {
            return Err(fail(
                "timestamp certificate chain",
                "embedded certificate is not in the trusted TSA chain",
            ));
        }
    }

    // The TSA's signature (P-384 for Sigstore's TSAs: most of a bundle's verification cost)
    // is remembered per trusted TSA by the exact bytes it covers, as leaf certificates are.
    let mut remembered = b"tsa-signature\0".to_vec();
    remembered.extend_from_slice(&(signed_attrs.len() as u64).to_be_bytes());
    remembered.extend_from_slice(signed_attrs);
    remembered.extend_from_slice(&signer.signature_algorithm.oid.to_string().into_bytes());
    remembered.push(0);
    remembered.extend_from_slice(&signer.digest_alg.oid.to_string().into_bytes());
    remembered.push(0);
    remembered.extend_from_slice(signer.signature.as_bytes());
    tsa.check_remembered(&remembered, || verify_signature(signer, signed_attrs, leaf))?;

    // The trusted chain: TSA certificate, intermediates, root.
    if chain.len() < 2 {
        return Err(fail(
            "timestamp certificate chain",
            "trusted root TSA chain needs a TSA certificate and a root",
        ));
    }
    if !tsa.links_verified(chain) {
        return Err(fail(
            "timestamp certificate chain",
            "TSA chain signatures do not verify",
        ));
    }
    for cert in chain {
        cert.check_valid_at(time).map_err(|e| match e {
            Error::CertificateNotValidAt { .. } => fail("timestamp certificate chain", e),
            other => other,
        })?;
    }
    check_path_rules(leaf, &chain[1..]).map_err(|e| fail("timestamp certificate chain", e))?;
    check_tsa_profile(leaf)?;
    for intermediate in &chain[1..chain.len() - 1] {
        if let Some(eku) = intermediate.decoded_extension::<ExtendedKeyUsage>(OID_EKU)? {
            let allows = eku.0.iter().any(|oid| {
                let oid = oid.to_string();
                oid == OID_TIME_STAMPING || oid == OID_ANY_EKU
            });
            if !allows {
                return Err(fail(
                    "timestamp certificate profile",
                    "intermediate certificate does not allow timeStamping",
                ));
            }
        }
    }
    if !tsa.valid_for().contains(time) {
        return Err(fail(
            "timestamp authority validity",
            format!("genTime {time} is outside the authority's validFor"),
        ));
    }
    Ok(())
}

/// RFC 3161 §2.3: an end-entity certificate whose extended key usage is critical and holds
/// exactly id-kp-timeStamping.
fn check_tsa_profile(leaf: &ParsedCert) -> Result<()> {
    let check = "timestamp certificate profile";
    if leaf.is_ca()? {
        return Err(fail(check, "TSA certificate is a CA"));
    }
    let critical = leaf
        .cert
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id.to_string() == OID_EKU)
        .is_some_and(|e| e.critical);
    if !critical {
        return Err(fail(
            check,
            "extended key usage must be present and critical",
        ));
    }
    let eku = leaf
        .decoded_extension::<ExtendedKeyUsage>(OID_EKU)?
        .unwrap_or_else(|| ExtendedKeyUsage(Vec::new()));
    if eku.0.len() != 1 || eku.0[0].to_string() != OID_TIME_STAMPING {
        return Err(fail(
            check,
            "extended key usage must be exactly timeStamping",
        ));
    }
    Ok(())
}

/// The signer's signature over the DER signed attributes, with the TSA certificate's key.
fn verify_signature(signer: &SignerInfo, signed_attrs: &[u8], leaf: &ParsedCert) -> Result<()> {
    let check = "timestamp signature";
    let digest_oid = signer.digest_alg.oid.to_string();
    let sig_oid = signer.signature_algorithm.oid.to_string();
    let signature = signer.signature.as_bytes();
    let key = &leaf.key;
    if key.is_ed25519() {
        if sig_oid != "1.3.101.112" {
            return Err(fail(
                check,
                format!("algorithm {sig_oid} for an Ed25519 key"),
            ));
        }
        return key
            .verify(check, signed_attrs, signature)
            .map_err(|_| fail(check, "signature does not verify"));
    }
    let hash = match sig_oid.as_str() {
        // ecdsa-with-SHA256/384/512 (RFC 5758), sha256/384/512WithRSAEncryption (RFC 4055).
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => HashAlgorithm::Sha2_256,
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => HashAlgorithm::Sha2_384,
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => HashAlgorithm::Sha2_512,
        // id-ecPublicKey / rsaEncryption: the digest algorithm names the hash (RFC 5652 §5.3).
        "1.2.840.10045.2.1" | "1.2.840.113549.1.1.1" => sha2_by_oid(&digest_oid)
            .ok_or_else(|| fail(check, format!("digest algorithm {digest_oid}")))?,
        other => {
            return Err(fail(
                check,
                format!("unsupported signature algorithm {other}"),
            ));
        }
    };
    let fast = match hash {
        HashAlgorithm::Sha2_256 => Some(EcdsaHash::Sha256),
        HashAlgorithm::Sha2_384 => Some(EcdsaHash::Sha384),
        _ => None,
    };
    if let Some(fast) = fast
        && verify_fast(key, Some(fast), signed_attrs, signature)
    {
        return Ok(());
    }
    key.verify_prehashed(check, hash, &hash.digest(signed_attrs), signature)
        .map_err(|e| match e {
            Error::SignatureInvalid { .. } => fail(check, "signature does not verify"),
            other => other,
        })
}
