//! The Rekor v2 write API client (`sigstore/rekor-tiles:CLIENTS.md`,
//! `sigstore/protobuf-specs:protos/rekor/v2/*.proto`): `POST <log>/api/v2/log/entries` with a
//! `CreateEntryRequest` in proto3 JSON, answered once the entry is integrated with a
//! `TransparencyLogEntry` (inclusion proof + signed checkpoint, no SET, no integrated time).
//!
//! Requests are spelled as sigstore-python 4.x sends them (`sigstore/_internal/rekor/
//! client_v2.py`): a `hashedRekordRequestV002` with the artifact digest, the signature, and
//! the DER leaf certificate as `x509Certificate.rawBytes` with its `keyDetails`. A DSSE
//! envelope is logged as a `hashedrekord` over the SHA-256 of its PAE (rekor-v2-spec §6.1.4,
//! as sigstore-python does), which vouch's verifier checks (`vouch_sign::rekor`).
//!
//! The answer is parsed here into a [`TlogEntry`] and trusted for nothing: the bundle built
//! from it is verified against the trusted root before it is returned to the caller.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};
use vouch_sign::bundle::{InclusionProof, TlogEntry};

use crate::error::{Error, Result};

/// Largest log answer read (an entry with a 64-hash proof and a checkpoint is ~10 KiB).
const MAX_LOG_RESPONSE_BYTES: u64 = 1024 * 1024;

/// What a Rekor v2 entry names as the signature's verifier (`dev.sigstore.rekor.v2.Verifier`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum V2Verifier<'a> {
    /// A DER leaf certificate (`x509Certificate.rawBytes`), keyless signatures.
    Certificate(&'a [u8]),
    /// A DER SubjectPublicKeyInfo (`publicKey.rawBytes`), key signatures (sigstore-go
    /// `pkg/sign/transparency.go` `getRekorV2TLE`: a bundle without certificate).
    PublicKey(&'a [u8]),
}

/// The `PublicKeyDetails` a Rekor v2 entry names for a signature by `key` made with `scheme`
/// (sigstore-go `pkg/sign/transparency.go` `getRekorV2TLE`: the key's default details, with
/// Ed25519ph for Ed25519). A scheme the log cannot record (pure Ed25519, the deprecated P-384
/// over SHA-256, RSA sizes other than 2048/3072/4096) is refused rather than logged under
/// the wrong details.
pub(crate) fn key_details(
    scheme: vouch_sign::SignatureScheme,
    key: &vouch_sign::VerifyingKey,
) -> std::result::Result<&'static str, String> {
    let loggable = vouch_sign::SignatureScheme::for_hashedrekord(key).map_err(|e| e.to_string())?;
    if scheme != loggable {
        return Err(format!(
            "a {} signature made as {} cannot be logged to a Rekor v2 log (its entry names {})",
            key.algorithm_name_with_size(),
            scheme.key_details().unwrap_or("RSA PKCS#1 v1.5"),
            loggable.key_details().unwrap_or("RSA PKCS#1 v1.5"),
        ));
    }
    loggable.key_details().ok_or_else(|| {
        format!(
            "{} keys have no Rekor v2 key details",
            key.algorithm_name_with_size()
        )
    })
}

/// The `CreateEntryRequest` for a signature over `digest` (of the hash `key_details` names) by
/// `verifier`, whose key has `key_details`.
pub(crate) fn hashed_rekord_request(
    digest: &[u8],
    signature: &[u8],
    verifier: V2Verifier<'_>,
    key_details: &str,
) -> Value {
    let material = match verifier {
        V2Verifier::Certificate(der) => json!({"x509Certificate": {"rawBytes": B64.encode(der)}}),
        V2Verifier::PublicKey(der) => json!({"publicKey": {"rawBytes": B64.encode(der)}}),
    };
    let mut verifier = material;
    verifier["keyDetails"] = json!(key_details);
    json!({
        "hashedRekordRequestV002": {
            "digest": B64.encode(digest),
            "signature": {
                "content": B64.encode(signature),
                "verifier": verifier,
            },
        }
    })
}

/// Uploads `request` to the log at `base` and returns the integrated entry.
pub(crate) fn upload(http: &vouch_http::Client, base: &str, request: &Value) -> Result<TlogEntry> {
    let url = format!("{base}/api/v2/log/entries");
    let bad = |reason: String| Error::LogV2 {
        url: url.clone(),
        reason,
    };
    let body = serde_json::to_vec(request).map_err(|e| bad(e.to_string()))?;
    let what = format!("POST {url}");
    let response = http.send(&what, |agent| {
        agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(&body[..])
    })?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_LOG_RESPONSE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    // Only 201 Created is an integrated entry, as in rekor-tiles' writer that sigstore-go uses
    // (pkg/client/write/write.go: `resp.StatusCode != http.StatusCreated` is an error): a
    // duplicate is 409 with no entry (the log's `x-log-index` names the existing one), so
    // signing fails with the log's message rather than using an entry it did not return.
    if status != 201 {
        // gRPC-gateway errors carry `message`; anything else is shown cut short.
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
        return Err(bad(format!("refused (HTTP {status}): {message}")));
    }
    parse_entry(&bytes).map_err(bad)
}

/// proto3 JSON of `dev.sigstore.rekor.v1.TransparencyLogEntry` (int64 as strings, bytes as
/// base64; numbers are accepted too, as protojson parsers do).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    log_index: Int,
    log_id: RawLogId,
    kind_version: RawKindVersion,
    #[serde(default)]
    integrated_time: Option<Int>,
    inclusion_proof: RawProof,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    log_index: Int,
    root_hash: String,
    tree_size: Int,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: RawCheckpoint,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Int {
    Text(String),
    Number(u64),
}

impl Int {
    fn get(&self, field: &str) -> std::result::Result<u64, String> {
        match self {
            Self::Number(n) => Ok(*n),
            Self::Text(t) => t
                .parse()
                .map_err(|_| format!("{field} {t:?} is not an unsigned integer")),
        }
    }
}

fn b64(field: &str, text: &str) -> std::result::Result<Vec<u8>, String> {
    B64.decode(text)
        .map_err(|e| format!("{field} is not standard base64: {e}"))
}

/// The log's answer as a bundle tlog entry. Rekor v2 signs no entry timestamp, so
/// `integratedTime` must be absent or 0 (a claimed time would be unverifiable).
fn parse_entry(bytes: &[u8]) -> std::result::Result<TlogEntry, String> {
    let raw: RawEntry = serde_json::from_slice(bytes)
        .map_err(|e| format!("the answer is no TransparencyLogEntry: {e}"))?;
    let integrated_time = match &raw.integrated_time {
        Some(t) => t.get("integratedTime")?,
        None => 0,
    };
    if integrated_time != 0 {
        return Err("a Rekor v2 entry claims an integratedTime".into());
    }
    let hashes = raw
        .inclusion_proof
        .hashes
        .iter()
        .map(|h| b64("inclusionProof.hashes[]", h))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(TlogEntry {
        log_index: raw.log_index.get("logIndex")?,
        log_id: b64("logId.keyId", &raw.log_id.key_id)?,
        kind: raw.kind_version.kind,
        kind_version: raw.kind_version.version,
        integrated_time,
        signed_entry_timestamp: None,
        inclusion_proof: Some(InclusionProof {
            log_index: raw
                .inclusion_proof
                .log_index
                .get("inclusionProof.logIndex")?,
            root_hash: b64("inclusionProof.rootHash", &raw.inclusion_proof.root_hash)?,
            tree_size: raw
                .inclusion_proof
                .tree_size
                .get("inclusionProof.treeSize")?,
            hashes,
            checkpoint: Some(raw.inclusion_proof.checkpoint.envelope),
        }),
        canonicalized_body: b64("canonicalizedBody", &raw.canonicalized_body)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A duplicate upload fails as sigstore-go's does: the log answers as rekor-tiles (409,
    /// "an equivalent entry already exists ... with index N", no entry) and only 201 is an
    /// entry (rekor-tiles pkg/client/write/write.go), so signing does not go on with an entry
    /// the log did not return. Over HTTP, against the instance's Rekor v2 log.
    #[test]
    fn a_duplicate_upload_is_refused_with_the_logs_message() {
        use sha2::{Digest as _, Sha256};
        let dir = tempfile::tempdir().unwrap();
        vouch_instance::Instance::init_with(
            dir.path(),
            &vouch_instance::InitOptions {
                rekor_v2: true,
                ..Default::default()
            },
        )
        .unwrap();
        let running = vouch_instance::Instance::start(dir.path(), &Default::default()).unwrap();
        let key = vouch_sign::SigningKey::generate(vouch_sign::KeyAlgorithm::EcdsaP256).unwrap();
        let signature = key.sign_bytes(b"logged twice");
        let request = hashed_rekord_request(
            &Sha256::digest(b"logged twice"),
            &signature,
            V2Verifier::PublicKey(key.public_key().spki_der()),
            "PKIX_ECDSA_P256_SHA_256",
        );
        let http = vouch_http::Client::new(&vouch_http::ClientConfig::default()).unwrap();
        let base = running.log_url();
        let first = upload(&http, base, &request).unwrap();
        let err = upload(&http, base, &request).expect_err("a duplicate is not an entry");
        assert!(
            err.to_string().contains(&format!(
                "refused (HTTP 409): an equivalent entry already exists in the transparency log \
                 with index {}",
                first.log_index
            )),
            "{err}"
        );
    }

    #[test]
    fn request_is_spelled_as_sigstore_python_sends_it() {
        let request = hashed_rekord_request(
            &[1; 32],
            b"sig",
            V2Verifier::Certificate(b"der"),
            "PKIX_ECDSA_P256_SHA_256",
        );
        assert_eq!(
            request.to_string(),
            format!(
                r#"{{"hashedRekordRequestV002":{{"digest":"{}","signature":{{"content":"c2ln","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{{"rawBytes":"ZGVy"}}}}}}}}}}"#,
                B64.encode([1; 32])
            )
        );
        // A key signer: the SPKI as publicKey.rawBytes (sigstore-go's Verifier_PublicKey).
        let request = hashed_rekord_request(
            &[1; 32],
            b"sig",
            V2Verifier::PublicKey(b"spki"),
            "PKIX_ECDSA_P256_SHA_256",
        );
        assert_eq!(
            request["hashedRekordRequestV002"]["signature"]["verifier"],
            json!({"keyDetails": "PKIX_ECDSA_P256_SHA_256", "publicKey": {"rawBytes": "c3BraQ=="}})
        );
    }

    #[test]
    fn answer_parses_into_an_entry_and_claimed_times_are_refused() {
        let answer = json!({
            "logIndex": "7",
            "logId": {"keyId": B64.encode([9; 32])},
            "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
            "inclusionProof": {
                "logIndex": "7", "rootHash": B64.encode([2; 32]), "treeSize": 8,
                "hashes": [B64.encode([3; 32])],
                "checkpoint": {"envelope": "origin\n8\nAA==\n\n— origin sig\n"},
            },
            "canonicalizedBody": B64.encode(b"{}"),
        });
        let entry = parse_entry(answer.to_string().as_bytes()).expect("entry");
        assert_eq!(entry.log_index, 7);
        assert_eq!(entry.log_id, vec![9; 32]);
        assert_eq!(entry.kind_version, "0.0.2");
        assert_eq!(entry.integrated_time, 0);
        assert!(entry.signed_entry_timestamp.is_none());
        let proof = entry.inclusion_proof.expect("proof");
        assert_eq!((proof.log_index, proof.tree_size), (7, 8));
        assert_eq!(proof.hashes, vec![vec![3; 32]]);
        assert_eq!(entry.canonicalized_body, b"{}");

        let mut timed = answer.clone();
        timed["integratedTime"] = json!("1700000000");
        assert!(
            parse_entry(timed.to_string().as_bytes())
                .expect_err("claimed time")
                .contains("integratedTime")
        );
        let mut bad_index = answer.clone();
        bad_index["logIndex"] = json!("-1");
        assert!(parse_entry(bad_index.to_string().as_bytes()).is_err());
        let mut bad_b64 = answer;
        bad_b64["canonicalizedBody"] = json!("not base64!");
        assert!(
            parse_entry(bad_b64.to_string().as_bytes())
                .expect_err("base64")
                .contains("canonicalizedBody")
        );
        assert!(parse_entry(b"{}").is_err());
    }
}
