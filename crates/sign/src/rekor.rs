//! Transparency log evidence inside bundles: the Rekor v1 signed entry timestamp (inclusion
//! promise) and the consistency of the entry body with the bundle.
//!
//! | entry | body check |
//! |---|---|
//! | `hashedrekord` 0.0.1 (Rekor v1) | signature, PEM key/cert, `data.hash` = artifact digest under its `sha256`/`sha384`/`sha512`, the bundle's message digest algorithm if any (`sigstore/rekor:pkg/types/hashedrekord/v0.0.1`, sigstore-python `_validate_hashedrekord_v001_entry_body`) |
//! | `dsse` 0.0.1 (Rekor v1) | payload hash, the one signature, its PEM verifier (`_validate_dsse_v001_entry_body`) |
//! | `intoto` 0.0.2 (Rekor v1) | payload type, payload hash, the one signature (base64 twice, as `sigstore/rekor:pkg/types/intoto/v0.0.2` stores it), its PEM public key (sigstore-go `pkg/tlog/entry.go`) |
//! | `hashedrekord` 0.0.2 (Rekor v2) | canonical body rebuilt from the bundle and compared byte for byte: digest of the artifact (message signature) or SHA-256 of the DSSE PAE, signature, DER verifier, key details matching the key (`sigstore/protobuf-specs:protos/rekor/v2/hashedrekord.proto`, sigstore-python `_validate_hashedrekord_v002_entry_body`) |
//! | `dsse` 0.0.2 (Rekor v2) | canonical body rebuilt and compared: payload hash, the one signature, DER verifier (`protos/rekor/v2/dsse.proto`) |

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bundle::{Content, TlogEntry};
use crate::dsse;
use crate::error::{Error, Result};
use crate::keys::{HashAlgorithm, SignatureScheme, VerifyingKey};

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
    /// Whether `signer_der` is a certificate (else a SubjectPublicKeyInfo).
    pub(crate) signer_is_certificate: bool,
    /// The signer's key.
    pub(crate) signer_key: &'a VerifyingKey,
    /// The artifact, for `hashedrekord` entries.
    pub(crate) artifact: Option<crate::verify::Artifact<'a>>,
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
            check_hashedrekord(spec, m, expected)
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
        ("intoto", "0.0.2", Content::DsseEnvelope(env)) => check_intoto_v002(spec, env, expected),
        ("hashedrekord", "0.0.2", content) => {
            let (verifier, scheme) = v2_verifier(
                spec,
                &["hashedRekordV002", "signature", "verifier"],
                expected,
            )?;
            // The digest is the one the key details name (sigstore-go `getRekorV2TLE`: the
            // signing algorithm's hash); pure Ed25519 signs no digest and is no hashedrekord.
            let hash = scheme.hash().ok_or(Error::TlogBodyMismatch {
                field: "verifier.keyDetails",
            })?;
            let digest = match content {
                Content::MessageSignature(_) => expected
                    .artifact
                    .and_then(|a| a.digest(hash))
                    .ok_or(Error::TlogBodyMismatch {
                        field: "data.digest",
                    })?,
                // DSSE in Rekor v2: a hashedrekord over the PAE (sigstore-python
                // `_validate_hashedrekord_v002_entry_body`, sigstore-go `getRekorV2TLE`).
                Content::DsseEnvelope(env) => hash.digest(&env.pae()),
            };
            let rebuilt = format!(
                r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"{}","digest":"{}"}},"signature":{{"content":"{}","verifier":{}}}}}}}}}"#,
                hash.proto_name(),
                B64.encode(&digest),
                B64.encode(content.signature()),
                verifier,
            );
            compare_v2(entry, &rebuilt, spec, "hashedRekordV002", &digest, expected)
        }
        ("dsse", "0.0.2", Content::DsseEnvelope(env)) => {
            let digest: [u8; 32] = Sha256::digest(&env.payload).into();
            let (verifier, _) = v2_dsse_verifier(spec, expected)?;
            let rebuilt = format!(
                r#"{{"apiVersion":"0.0.2","kind":"dsse","spec":{{"dsseV002":{{"payloadHash":{{"algorithm":"SHA2_256","digest":"{}"}},"signatures":[{{"content":"{}","verifier":{}}}]}}}}}}"#,
                B64.encode(digest),
                B64.encode(expected.content.signature()),
                verifier,
            );
            compare_v2(entry, &rebuilt, spec, "dsseV002", &digest, expected)
        }
        ("hashedrekord" | "dsse", "0.0.1" | "0.0.2", _) | ("intoto", "0.0.2", _) => {
            Err(Error::TlogBodyMismatch { field: "kind" })
        }
        _ => Err(Error::UnsupportedEntryKind {
            kind: kind.to_owned(),
            version: api_version.to_owned(),
        }),
    }
}

/// Rekor v1 `hashedrekord` 0.0.1: the signature, the PEM key or certificate, and the artifact
/// digest under the algorithm the entry names (`sha256`, `sha384` or `sha512`, the schema's
/// enum: a P-384 key signs over SHA-384, P-521 and Ed25519ph over SHA-512). A bundle that
/// claims a message digest must claim it with the entry's algorithm (sigstore-go
/// `pkg/verify/tlog.go`: "hashedrekord entry digest algorithm mismatch").
fn check_hashedrekord(
    spec: &Value,
    message: &crate::bundle::MessageSignature,
    expected: &Expected<'_>,
) -> Result<()> {
    let content = str_at(spec, &["signature", "content"]).map(|s| B64.decode(s));
    if !matches!(content, Some(Ok(ref s)) if *s == message.signature) {
        return Err(Error::TlogBodyMismatch { field: "signature" });
    }
    let key = spec
        .get("signature")
        .and_then(|s| s.get("publicKey"))
        .and_then(|k| k.get("content"));
    check_pem_field(key, expected.signer_der, "publicKey")?;
    let hash = match str_at(spec, &["data", "hash", "algorithm"]) {
        Some("sha256") => HashAlgorithm::Sha2_256,
        Some("sha384") => HashAlgorithm::Sha2_384,
        Some("sha512") => HashAlgorithm::Sha2_512,
        _ => {
            return Err(Error::TlogBodyMismatch {
                field: "data.hash.algorithm",
            });
        }
    };
    if message
        .digest
        .as_ref()
        .is_some_and(|(claimed, _)| *claimed != hash)
    {
        return Err(Error::TlogBodyMismatch {
            field: "data.hash.algorithm",
        });
    }
    let Some(artifact) = expected.artifact.and_then(|a| a.digest(hash)) else {
        return Err(Error::TlogBodyMismatch { field: "data.hash" });
    };
    let found = str_at(spec, &["data", "hash", "value"]).unwrap_or_default();
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

/// The check name reporting which entry schema was verified (called after [`check_body`]
/// accepted the entry, so only supported kinds reach it).
pub(crate) fn entry_check_name(entry: &TlogEntry) -> &'static str {
    match (entry.kind.as_str(), entry.kind_version.as_str()) {
        ("hashedrekord", "0.0.1") => "entry hashedrekord 0.0.1",
        ("hashedrekord", "0.0.2") => "entry hashedrekord 0.0.2 (Rekor v2)",
        ("dsse", "0.0.1") => "entry dsse 0.0.1",
        ("dsse", "0.0.2") => "entry dsse 0.0.2 (Rekor v2)",
        ("intoto", "0.0.2") => "entry intoto 0.0.2",
        _ => "entry kind",
    }
}

/// `value` must be base64 of a PEM block whose DER equals `der`.
fn check_pem_field(value: Option<&Value>, der: &[u8], field: &'static str) -> Result<()> {
    let pem = value
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .ok_or(Error::TlogBodyMismatch { field })?;
    let decoded = pem_body(&pem).ok_or(Error::TlogBodyMismatch { field })?;
    if decoded != der {
        return Err(Error::TlogBodyMismatch { field });
    }
    Ok(())
}

/// The DER inside one PEM block, read as Go's `encoding/pem` reads it (Rekor's producers): the
/// base64 between the BEGIN and END lines, whatever its line length (some clients write it on
/// one line). Only compared for equality with a known DER, so leniency here accepts nothing
/// more.
fn pem_body(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?.trim();
    let mut lines = text.lines();
    let begin = lines.next()?.trim();
    let label = begin.strip_prefix("-----BEGIN ")?.strip_suffix("-----")?;
    let mut b64 = String::new();
    for line in lines.by_ref() {
        let line = line.trim();
        if line == format!("-----END {label}-----") {
            return lines
                .next()
                .is_none()
                .then(|| B64.decode(&b64).ok())
                .flatten();
        }
        b64.push_str(line);
    }
    None
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
}

/// The `verifier` object of a v0.0.2 entry rebuilt from the bundle's signer: proto3 JSON keys in
/// the order Rekor v2 writes them (`keyDetails`, then `publicKey`/`x509Certificate`). The key
/// details are read from the entry and must name the signer's key (type, and size for RSA);
/// the scheme they name is returned with the JSON.
fn v2_verifier(
    spec: &Value,
    path: &[&str],
    expected: &Expected<'_>,
) -> Result<(String, SignatureScheme)> {
    let verifier = path.iter().try_fold(spec, |v, k| v.get(k));
    let key_details = verifier
        .and_then(|v| v.get("keyDetails"))
        .and_then(Value::as_str)
        .ok_or(Error::TlogBodyMismatch {
            field: "verifier.keyDetails",
        })?;
    // What a Rekor v2 log accepts (rekor-tiles `AllowedClientSigningAlgorithms`): not the
    // deprecated P-384 over SHA-256.
    let scheme = SignatureScheme::from_key_details(key_details, expected.signer_key)
        .filter(|s| *s != SignatureScheme::EcdsaP384Sha256)
        .ok_or(Error::TlogBodyMismatch {
            field: "verifier.keyDetails",
        })?;
    let field = if expected.signer_is_certificate {
        "x509Certificate"
    } else {
        "publicKey"
    };
    let json = format!(
        r#"{{"keyDetails":"{key_details}","{field}":{{"rawBytes":"{}"}}}}"#,
        B64.encode(expected.signer_der)
    );
    Ok((json, scheme))
}

fn v2_dsse_verifier(spec: &Value, expected: &Expected<'_>) -> Result<(String, SignatureScheme)> {
    let only = spec
        .get("dsseV002")
        .and_then(|d| d.get("signatures"))
        .and_then(Value::as_array)
        .and_then(|a| match a.as_slice() {
            [only] => Some(only),
            _ => None,
        })
        .ok_or(Error::TlogBodyMismatch {
            field: "signatures",
        })?;
    v2_verifier(only, &["verifier"], expected)
}

/// Compares the canonical body rebuilt from the bundle with the entry's, naming the first field
/// that differs when they do.
fn compare_v2(
    entry: &TlogEntry,
    rebuilt: &str,
    spec: &Value,
    spec_key: &str,
    digest: &[u8],
    expected: &Expected<'_>,
) -> Result<()> {
    if entry.canonicalized_body == rebuilt.as_bytes() {
        return Ok(());
    }
    let inner = spec.get(spec_key);
    let digest_found = inner
        .and_then(|i| i.get("data").or_else(|| i.get("payloadHash")))
        .and_then(|d| d.get("digest"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if digest_found != B64.encode(digest) {
        return Err(Error::DigestMismatch {
            check: "tlog entry digest",
            expected: hex::encode(digest),
            found: B64
                .decode(digest_found)
                .map(hex::encode)
                .unwrap_or_else(|_| digest_found.to_owned()),
        });
    }
    let signature = B64.encode(expected.content.signature());
    let body = String::from_utf8_lossy(&entry.canonicalized_body);
    if !body.contains(&format!(r#""content":"{signature}""#)) {
        return Err(Error::TlogBodyMismatch { field: "signature" });
    }
    if !body.contains(&B64.encode(expected.signer_der)) {
        return Err(Error::TlogBodyMismatch { field: "verifier" });
    }
    Err(Error::TlogBodyMismatch {
        field: "canonicalizedBody (not the canonical v0.0.2 form)",
    })
}

/// Rekor v1 `intoto` 0.0.2 (`sigstore/rekor:pkg/types/intoto/v0.0.2`): the envelope's payload
/// type, the payload hash, exactly one signature, stored base64-encoded twice, and its PEM
/// public key.
fn check_intoto_v002(spec: &Value, env: &dsse::Envelope, expected: &Expected<'_>) -> Result<()> {
    let content = spec
        .get("content")
        .ok_or(Error::TlogBodyMismatch { field: "content" })?;
    if str_at(content, &["envelope", "payloadType"]) != Some(env.payload_type.as_str()) {
        return Err(Error::TlogBodyMismatch {
            field: "envelope.payloadType",
        });
    }
    let payload_hash = hex::encode(Sha256::digest(&env.payload));
    if str_at(content, &["payloadHash", "algorithm"]) != Some("sha256")
        || str_at(content, &["payloadHash", "value"]) != Some(payload_hash.as_str())
    {
        return Err(Error::TlogBodyMismatch {
            field: "payloadHash",
        });
    }
    let signatures = content
        .get("envelope")
        .and_then(|e| e.get("signatures"))
        .and_then(Value::as_array);
    let [only] = signatures.map(Vec::as_slice).unwrap_or_default() else {
        return Err(Error::TlogBodyMismatch {
            field: "envelope.signatures",
        });
    };
    let sig = only
        .get("sig")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .and_then(|once| B64.decode(once).ok());
    if sig.as_deref() != Some(expected.content.signature()) {
        return Err(Error::TlogBodyMismatch {
            field: "envelope.signatures[0].sig",
        });
    }
    check_pem_field(only.get("publicKey"), expected.signer_der, "publicKey")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bundle;
    use crate::limits::Limits;

    /// sigstore-python's staging Rekor v2 vector: the rebuilt body equals the entry's byte for
    /// byte, and any other spelling of the same content is refused.
    #[test]
    fn v2_body_is_compared_byte_for_byte() {
        let json =
            include_bytes!("../tests/data/sigstore-python/staging-rekor-v2.txt.sigstore.json");
        let artifact = include_bytes!("../tests/data/sigstore-python/staging-rekor-v2.txt");
        let bundle = Bundle::from_json(json, &Limits::default()).expect("bundle");
        let leaf = bundle.material.leaf_certificate().expect("leaf").to_vec();
        let key = crate::certs::certificate_public_key(&leaf).expect("key");
        let expected = Expected {
            content: &bundle.content,
            signer_der: &leaf,
            signer_is_certificate: true,
            signer_key: &key,
            artifact: Some(crate::verify::Artifact::Bytes(artifact)),
        };
        let entry = bundle.tlog_entries[0].clone();
        check_body(&entry, &expected).expect("canonical body");

        let body = String::from_utf8(entry.canonicalized_body.clone()).expect("utf8");
        let not_canonical = "canonicalizedBody (not the canonical v0.0.2 form)";
        let variants = [
            (body.replacen(r#""kind":"#, r#""kind": "#, 1), not_canonical),
            (
                body.replacen("PKIX_ECDSA_P256_SHA_256", "PKIX_ED25519", 1),
                "verifier.keyDetails",
            ),
            (
                body.replacen(r#""data":{"#, r#""data":{"extra":1,"#, 1),
                not_canonical,
            ),
        ];
        for (changed, field) in variants {
            let mut e = entry.clone();
            e.canonicalized_body = changed.into_bytes();
            let err = check_body(&e, &expected).err();
            assert!(
                matches!(err, Some(Error::TlogBodyMismatch { field: f }) if f == field),
                "{field}: {err:?}"
            );
        }
        // Another artifact: the digest differs.
        let other = Expected {
            artifact: Some(crate::verify::Artifact::Sha256([0; 32])),
            ..expected
        };
        assert!(matches!(
            check_body(&entry, &other),
            Err(Error::DigestMismatch { .. })
        ));
    }

    /// Rekor v1 `hashedrekord` 0.0.1 with the digest of the key's own hash (P-384 over
    /// SHA-384): accepted when the entry's algorithm is the bundle's message digest
    /// algorithm and its value the artifact's digest; another algorithm, an algorithm the
    /// schema does not list, or another artifact are refused, each naming the field.
    #[test]
    fn v1_hashedrekord_names_its_hash() {
        use crate::bundle::MessageSignature;
        use crate::keys::{KeyAlgorithm, SigningKey};
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP384).expect("key");
        let public = key.public_key();
        let artifact = b"artifact";
        let signature = key
            .sign_with(SignatureScheme::EcdsaP384Sha384, artifact)
            .expect("sign");
        let body = |algorithm: &str, hash: HashAlgorithm| {
            serde_json::json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": algorithm,
                                       "value": hex::encode(hash.digest(artifact))}},
                    "signature": {"content": B64.encode(&signature),
                                  "publicKey": {"content": B64.encode(public.to_pem())}},
                },
            })
            .to_string()
            .into_bytes()
        };
        let entry = |canonicalized_body: Vec<u8>| TlogEntry {
            log_index: 1,
            log_id: vec![0; 32],
            kind: "hashedrekord".into(),
            kind_version: "0.0.1".into(),
            integrated_time: 0,
            signed_entry_timestamp: None,
            inclusion_proof: None,
            canonicalized_body,
        };
        let content = |digest: Option<HashAlgorithm>| {
            Content::MessageSignature(MessageSignature {
                digest: digest.map(|h| (h, h.digest(artifact))),
                signature: signature.clone(),
            })
        };
        let spki = public.spki_der().to_vec();
        let check = |body: Vec<u8>, claimed: Option<HashAlgorithm>, signed: &[u8]| {
            let content = content(claimed);
            let expected = Expected {
                content: &content,
                signer_der: &spki,
                signer_is_certificate: false,
                signer_key: &public,
                artifact: Some(crate::verify::Artifact::Bytes(signed)),
            };
            check_body(&entry(body), &expected)
        };
        let sha384 = HashAlgorithm::Sha2_384;
        check(body("sha384", sha384), Some(sha384), artifact).expect("SHA-384 entry");
        // Legacy image signatures carry no message digest: the entry's hash binds the payload.
        check(body("sha384", sha384), None, artifact).expect("no message digest");
        let mismatch = check(
            body("sha384", sha384),
            Some(HashAlgorithm::Sha2_256),
            artifact,
        );
        assert!(
            matches!(
                mismatch,
                Err(Error::TlogBodyMismatch {
                    field: "data.hash.algorithm"
                })
            ),
            "{mismatch:?}"
        );
        let unlisted = check(body("sha1", sha384), None, artifact);
        assert!(
            matches!(
                unlisted,
                Err(Error::TlogBodyMismatch {
                    field: "data.hash.algorithm"
                })
            ),
            "{unlisted:?}"
        );
        // The name says SHA-512 but the value is the SHA-384 digest: no artifact matches.
        let mislabeled = check(body("sha512", sha384), None, artifact);
        assert!(
            matches!(mislabeled, Err(Error::DigestMismatch { .. })),
            "{mislabeled:?}"
        );
        let other = check(body("sha384", sha384), None, b"other");
        assert!(
            matches!(other, Err(Error::DigestMismatch { .. })),
            "{other:?}"
        );
    }
}
