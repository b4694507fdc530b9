//! Signed certificate timestamps for precertificates (RFC 6962 §3.2, §3.3), signed by the CA's
//! own CT log key: what sigstore-python, cosign and sigstore-go require in every leaf.

use der::Encode;
use der::asn1::OctetString;
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

/// Re-encodes a TBSCertificate without the extension whose OID TLV is `oid_der`, every other
/// byte kept (RFC 6962 §3.2: the precertificate TBS the log signs).
pub(crate) fn tbs_without_extension(tbs: &[u8], oid_der: &[u8]) -> Result<Vec<u8>> {
    let (_, content, _) = tlv(tbs)?;
    let mut fields = Vec::new();
    for element in elements(content)? {
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

/// Splits one DER TLV off `input`: (tag, content, whole TLV). Input here is our own encoding,
/// but it is still parsed defensively.
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    let bad = || Error::encoding("DER truncated or invalid length");
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
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
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
