//! Signed certificate timestamps for precertificates (RFC 6962 §3.2, §3.3), signed by the CA's
//! own CT log key: what sigstore-python, cosign and sigstore-go require in every leaf.

use der::asn1::OctetString;
use der::{Decode as _, Encode};
use p256::ecdsa::{DerSignature, SigningKey as P256Key};
use signature::Signer as _;

use crate::error::{Error, Result};

/// TLS `HashAlgorithm.sha256` (RFC 5246 §7.4.1.4.1).
const HASH_SHA256: u8 = 4;
/// TLS `SignatureAlgorithm.ecdsa`.
const SIG_ECDSA: u8 = 3;

/// Signs a v1 SCT over a precertificate entry and returns its TLS serialization.
///
/// Signed input (`digitally-signed struct`, RFC 6962 §3.2): `sct_version(0) ||
/// signature_type(0 = certificate_timestamp) || timestamp(u64 ms) || entry_type(u16 1 =
/// precert_entry) || issuer_key_hash(32) || u24-length TBSCertificate || u16-length extensions`.
pub(crate) fn sign_precert_sct(
    ct_key: &P256Key,
    log_id: &[u8; 32],
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs_der: &[u8],
) -> Result<Vec<u8>> {
    let tbs_len = u32::try_from(tbs_der.len())
        .ok()
        .filter(|l| *l < 1 << 24)
        .ok_or_else(|| Error::encoding("TBSCertificate too large for an SCT"))?;
    let mut signed = vec![0u8, 0u8];
    signed.extend_from_slice(&timestamp_ms.to_be_bytes());
    signed.extend_from_slice(&1u16.to_be_bytes());
    signed.extend_from_slice(issuer_key_hash);
    signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
    signed.extend_from_slice(tbs_der);
    signed.extend_from_slice(&0u16.to_be_bytes());
    let signature: DerSignature = ct_key.sign(&signed);
    let sig = signature.as_bytes();
    let sig_len = u16::try_from(sig.len()).map_err(Error::encoding)?;

    let mut sct = vec![0u8];
    sct.extend_from_slice(log_id);
    sct.extend_from_slice(&timestamp_ms.to_be_bytes());
    sct.extend_from_slice(&0u16.to_be_bytes());
    sct.extend_from_slice(&[HASH_SHA256, SIG_ECDSA]);
    sct.extend_from_slice(&sig_len.to_be_bytes());
    sct.extend_from_slice(sig);
    Ok(sct)
}

/// The `extnValue` content of extension 1.3.6.1.4.1.11129.2.4.2: a DER OCTET STRING wrapping
/// the TLS `SignedCertificateTimestampList` (u16 total length, then u16-length-prefixed SCTs).
pub(crate) fn sct_list_extension_value(scts: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    for sct in scts {
        let len = u16::try_from(sct.len()).map_err(Error::encoding)?;
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(sct);
    }
    let total = u16::try_from(body.len()).map_err(Error::encoding)?;
    let mut list = total.to_be_bytes().to_vec();
    list.extend_from_slice(&body);
    OctetString::new(list)
        .and_then(|o| o.to_der())
        .map_err(Error::encoding)
}

/// The TBSCertificate without the extension whose OID TLV is `oid_der`, every other element
/// kept byte for byte (RFC 6962 §3.2: the precertificate TBS the log signs). The one
/// implementation is `vouch_sign::tbs_without_extension`, the function verifiers use to
/// rebuild the same bytes, so issuing and verifying cannot drift apart.
pub(crate) fn tbs_without_extension(tbs: &[u8], oid_der: &[u8]) -> Result<Vec<u8>> {
    let oid = der::asn1::ObjectIdentifier::from_der(oid_der).map_err(Error::encoding)?;
    vouch_sign::tbs_without_extension(tbs, &oid).map_err(Error::encoding)
}
