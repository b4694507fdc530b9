//! Rekor v1 evidence inside bundles: the signed entry timestamp (inclusion promise) and the
//! consistency of the entry body with the bundle (`sigstore/rekor:pkg/types/*`,
//! sigstore-python `_validate_hashedrekord_v001_entry_body`, `_validate_dsse_v001_entry_body`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bundle::{Content, TlogEntry};
use crate::error::{Error, Result};

/// The bytes a signed entry timestamp covers: RFC 8785 (JCS) canonical JSON of
/// `{"body","integratedTime","logID","logIndex"}` (`sigstore/rekor:pkg/api/entries.go`
/// `signEntry`). Written by hand: keys are already in JCS order, the strings are base64 and hex
/// (nothing to escape) and the numbers are unsigned integers, so this *is* the JCS form.
pub fn set_message(entry: &TlogEntry) -> Vec<u8> {
    format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        B64.encode(&entry.canonicalized_body),
        entry.integrated_time,
        hex::encode(&entry.log_id),
        entry.log_index
    )
    .into_bytes()
}

/// What the entry must describe.
pub(crate) struct Expected<'a> {
    /// The bundle's content (signature, DSSE payload).
    pub(crate) content: &'a Content,
    /// DER of the leaf certificate or SubjectPublicKeyInfo that signed.
    pub(crate) signer_der: &'a [u8],
    /// SHA-256 of the artifact, for `hashedrekord` entries.
    pub(crate) artifact_sha256: Option<[u8; 32]>,
}

/// Checks the entry's canonicalized body against the bundle (client spec §4, step 3).
pub(crate) fn check_body(entry: &TlogEntry, expected: &Expected<'_>) -> Result<()> {
    let body: Value = serde_json::from_slice(&entry.canonicalized_body)
        .map_err(|e| Error::malformed("tlog entry body", e))?;
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = body
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != entry.kind || api_version != entry.kind_version {
        return Err(Error::TlogBodyMismatch {
            field: "kindVersion",
        });
    }
    let spec = body
        .get("spec")
        .ok_or(Error::TlogBodyMismatch { field: "spec" })?;
    match (kind, api_version, expected.content) {
        ("hashedrekord", "0.0.1", Content::MessageSignature(m)) => {
            check_hashedrekord(spec, &m.signature, expected)
        }
        ("dsse", "0.0.1", Content::DsseEnvelope(env)) => {
            let payload_hash = hex::encode(Sha256::digest(&env.payload));
            if str_at(spec, &["payloadHash", "algorithm"]) != Some("sha256")
                || str_at(spec, &["payloadHash", "value"]) != Some(payload_hash.as_str())
            {
                return Err(Error::TlogBodyMismatch {
                    field: "payloadHash",
                });
            }
            let signatures = spec.get("signatures").and_then(Value::as_array);
            let [only] = signatures.map(Vec::as_slice).unwrap_or_default() else {
                return Err(Error::TlogBodyMismatch {
                    field: "signatures",
                });
            };
            let sig = only
                .get("signature")
                .and_then(Value::as_str)
                .map(|s| B64.decode(s));
            let envelope_sig = expected.content.signature();
            if !matches!(sig, Some(Ok(ref s)) if s == envelope_sig) {
                return Err(Error::TlogBodyMismatch { field: "signature" });
            }
            check_pem_field(only.get("verifier"), expected.signer_der, "verifier")
        }
        ("hashedrekord" | "dsse", "0.0.1", _) => Err(Error::TlogBodyMismatch { field: "kind" }),
        _ => Err(Error::UnsupportedEntryKind {
            kind: kind.to_owned(),
            version: api_version.to_owned(),
        }),
    }
}

fn check_hashedrekord(spec: &Value, signature: &[u8], expected: &Expected<'_>) -> Result<()> {
    let content = str_at(spec, &["signature", "content"]).map(|s| B64.decode(s));
    if !matches!(content, Some(Ok(ref s)) if s == signature) {
        return Err(Error::TlogBodyMismatch { field: "signature" });
    }
    let key = spec
        .get("signature")
        .and_then(|s| s.get("publicKey"))
        .and_then(|k| k.get("content"));
    check_pem_field(key, expected.signer_der, "publicKey")?;
    let Some(artifact) = expected.artifact_sha256 else {
        return Err(Error::TlogBodyMismatch { field: "data.hash" });
    };
    let found = str_at(spec, &["data", "hash", "value"]).unwrap_or_default();
    if str_at(spec, &["data", "hash", "algorithm"]) != Some("sha256") {
        return Err(Error::TlogBodyMismatch {
            field: "data.hash.algorithm",
        });
    }
    let wanted = hex::encode(artifact);
    if !found.eq_ignore_ascii_case(&wanted) {
        return Err(Error::DigestMismatch {
            check: "tlog entry data.hash",
            expected: wanted,
            found: found.to_owned(),
        });
    }
    Ok(())
}

/// `value` must be base64 of a PEM block whose DER equals `der`.
fn check_pem_field(value: Option<&Value>, der: &[u8], field: &'static str) -> Result<()> {
    let pem = value
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .ok_or(Error::TlogBodyMismatch { field })?;
    let decoded =
        der::pem::decode_vec(trim_ascii(&pem)).map_err(|_| Error::TlogBodyMismatch { field })?;
    if decoded.1 != der {
        return Err(Error::TlogBodyMismatch { field });
    }
    Ok(())
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
}
