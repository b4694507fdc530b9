//! Proposed entries: validation and canonicalisation, as Rekor v1 does before integrating
//! (`sigstore/rekor:pkg/types/{hashedrekord/v0.0.1,dsse/v0.0.1,intoto/v0.0.2}/entry.go`).
//!
//! A proposed entry is `{"kind","apiVersion","spec"}`. Each kind's signature is verified with
//! `vouch-sign`'s key and DSSE code (the same code bundle verification runs), then the entry is
//! rewritten into its canonical body, serialised as RFC 8785 JSON: those bytes are what the
//! Merkle leaf commits to (`leaf = SHA-256(0x00 || body)`, the entry UUID).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE};
use der::pem::LineEnding;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vouch_merkle::{Hash, leaf_hash};
use vouch_sign::{HashAlgorithm, VerifyingKey};

use crate::error::{Error, Result};
use crate::{Limits, jcs};

/// A validated entry in the canonical form the log stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    /// `hashedrekord`, `dsse` or `intoto`.
    pub kind: &'static str,
    /// `0.0.1` or `0.0.2`.
    pub api_version: &'static str,
    /// RFC 8785 JSON of the canonical entry: the leaf data.
    pub body: Vec<u8>,
    /// RFC 6962 leaf hash of `body`: the entry UUID.
    pub leaf: Hash,
    /// Search keys for `POST /api/v1/index/retrieve`, lowercase: `sha256:<hex>` digests,
    /// SHA-256 hex of each canonical public key / certificate PEM, certificate SANs.
    pub index_keys: Vec<String>,
}

/// Validates a proposed entry (JSON) and returns its canonical form.
pub fn canonicalize(proposed: &[u8], limits: &Limits) -> Result<Canonical> {
    let value: Value =
        serde_json::from_slice(proposed).map_err(|e| Error::malformed("proposed entry", e))?;
    canonicalize_value(&value, limits)
}

/// [`canonicalize`] for an already parsed proposed entry.
pub fn canonicalize_value(value: &Value, limits: &Limits) -> Result<Canonical> {
    let kind = value.get("kind").and_then(Value::as_str);
    let version = value.get("apiVersion").and_then(Value::as_str);
    let (Some(kind), Some(version)) = (kind, version) else {
        return Err(Error::malformed(
            "proposed entry",
            "expected an object with string fields kind and apiVersion",
        ));
    };
    let spec = value
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or_else(|| Error::malformed("proposed entry", "missing object field spec"))?;
    let (body, mut index_keys) = match (kind, version) {
        ("hashedrekord", "0.0.1") => hashedrekord(spec)?,
        ("dsse", "0.0.1") => dsse(spec, limits)?,
        ("intoto", "0.0.2") => intoto(spec, limits)?,
        _ => {
            return Err(Error::UnsupportedKind {
                kind: kind.to_owned(),
                version: version.to_owned(),
            });
        }
    };
    let (kind, api_version) = match kind {
        "hashedrekord" => ("hashedrekord", "0.0.1"),
        "dsse" => ("dsse", "0.0.1"),
        _ => ("intoto", "0.0.2"),
    };
    let body = jcs::to_vec(&json!({"apiVersion": api_version, "kind": kind, "spec": body}));
    index_keys.iter_mut().for_each(|k| k.make_ascii_lowercase());
    index_keys.sort();
    index_keys.dedup();
    Ok(Canonical {
        kind,
        api_version,
        leaf: leaf_hash(&body),
        body,
        index_keys,
    })
}

/// `hashedrekord` v0.0.1: a signature over an artifact digest (`sha256`, `sha384`, `sha512`)
/// with a PEM public key or certificate. Canonical = the same fields, base64 re-encoded.
fn hashedrekord(spec: &Value) -> Result<(Value, Vec<String>)> {
    let sig = b64_field(spec, &["signature", "content"], "spec.signature.content")?;
    if sig.is_empty() {
        return Err(Error::malformed(
            "spec.signature.content",
            "empty signature",
        ));
    }
    let pem = b64_field(
        spec,
        &["signature", "publicKey", "content"],
        "spec.signature.publicKey.content",
    )?;
    let material = Material::parse("spec.signature.publicKey.content", &pem)?;
    let algorithm = str_at(spec, &["data", "hash", "algorithm"])
        .ok_or_else(|| Error::malformed("spec.data.hash.algorithm", "missing"))?;
    let hash = match algorithm {
        "sha256" => HashAlgorithm::Sha2_256,
        "sha384" => HashAlgorithm::Sha2_384,
        "sha512" => HashAlgorithm::Sha2_512,
        other => {
            return Err(Error::malformed(
                "spec.data.hash.algorithm",
                format!("{other:?} is not sha256, sha384 or sha512"),
            ));
        }
    };
    let value = str_at(spec, &["data", "hash", "value"])
        .ok_or_else(|| Error::malformed("spec.data.hash.value", "missing"))?;
    let digest = hex::decode(value)
        .ok()
        .filter(|d| d.len() == hash.digest_len())
        .ok_or_else(|| {
            Error::malformed(
                "spec.data.hash.value",
                format!("not {} hex digits", hash.digest_len() * 2),
            )
        })?;
    material
        .key
        .verify_prehashed("hashedrekord signature", hash, &digest, &sig)
        .map_err(|source| Error::signature("hashedrekord signature over spec.data.hash", source))?;
    // Canonical: the digest in lower-case hex and the key re-encoded as Go's PEM encoder
    // writes it (Rekor's `keyObj.CanonicalValue()`), so that the same signature sent with an
    // upper-case digest or a CRLF/re-wrapped PEM is the same entry (de-duplicated).
    let value = hex::encode(&digest);
    let mut keys = material.index_keys();
    keys.push(format!("{algorithm}:{value}"));
    let body = json!({
        "data": {"hash": {"algorithm": algorithm, "value": value}},
        "signature": {"content": B64.encode(&sig),
                      "publicKey": {"content": B64.encode(material.canonical_pem.as_bytes())}},
    });
    Ok((body, keys))
}

/// `dsse` v0.0.1: `proposedContent` = the envelope JSON as a string plus verifiers (base64
/// PEM). Every signature must verify with some verifier (PAE); the canonical body keeps the
/// envelope and payload hashes and `{signature, verifier}` pairs sorted by signature, with the
/// verifier's PEM re-encoded canonically (Rekor's `CanonicalValue`).
fn dsse(spec: &Value, limits: &Limits) -> Result<(Value, Vec<String>)> {
    let content = spec
        .get("proposedContent")
        .ok_or_else(|| Error::malformed("spec.proposedContent", "missing"))?;
    let envelope_text = str_at(content, &["envelope"])
        .ok_or_else(|| Error::malformed("spec.proposedContent.envelope", "missing string"))?;
    let verifiers = content
        .get("verifiers")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::malformed("spec.proposedContent.verifiers", "missing or empty array")
        })?;
    check_count("spec.proposedContent.verifiers", verifiers.len(), limits)?;
    let envelope = vouch_sign::dsse::Envelope::from_json(envelope_text.as_bytes())
        .map_err(|e| Error::malformed("spec.proposedContent.envelope", e))?;
    let raw: Value = serde_json::from_str(envelope_text)
        .map_err(|e| Error::malformed("spec.proposedContent.envelope", e))?;
    let sig_strings: Vec<String> = raw
        .get("signatures")
        .and_then(Value::as_array)
        .map(|sigs| {
            sigs.iter()
                .filter_map(|s| s.get("sig").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if envelope.signatures.is_empty() || sig_strings.len() != envelope.signatures.len() {
        return Err(Error::malformed(
            "spec.proposedContent.envelope",
            "DSSE envelope must contain 1 or more signatures",
        ));
    }
    check_count("envelope signatures", sig_strings.len(), limits)?;
    let mut materials = Vec::with_capacity(verifiers.len());
    for verifier in verifiers {
        let pem = verifier
            .as_str()
            .and_then(|s| B64.decode(s).ok())
            .ok_or_else(|| {
                Error::malformed("spec.proposedContent.verifiers", "not a base64 string")
            })?;
        materials.push(Material::parse("spec.proposedContent.verifiers", &pem)?);
    }
    let pae = envelope.pae();
    let signatures: Vec<(&str, &[u8])> = sig_strings
        .iter()
        .map(String::as_str)
        .zip(envelope.signatures.iter().map(|s| s.sig.as_slice()))
        .collect();
    let by_sig = match_signatures(&signatures, &materials, &pae)?;
    let payload_hash = hex::encode(Sha256::digest(&envelope.payload));
    let envelope_hash = hex::encode(Sha256::digest(envelope_text.as_bytes()));
    let mut keys = vec![
        format!("sha256:{payload_hash}"),
        format!("sha256:{envelope_hash}"),
    ];
    keys.extend(materials.iter().flat_map(Material::index_keys));
    keys.extend(statement_subjects(
        &envelope.payload_type,
        &envelope.payload,
    ));
    let signatures: Vec<Value> = by_sig
        .into_iter()
        .map(|(sig, m)| json!({"signature": sig, "verifier": B64.encode(&m.canonical_pem)}))
        .collect();
    let body = json!({
        "envelopeHash": {"algorithm": "sha256", "value": envelope_hash},
        "payloadHash": {"algorithm": "sha256", "value": payload_hash},
        "signatures": signatures,
    });
    Ok((body, keys))
}

/// `intoto` v0.0.2 (kept for old clients; sigstore-python does not accept it): the envelope
/// inline with `payload` and `sig` base64-encoded twice and a `publicKey` per signature.
/// Canonical = envelope without payload, the envelope hash (as supplied, or computed as
/// sigstore-js does: SHA-256 of the JCS envelope with `publicKey`) and the payload hash.
fn intoto(spec: &Value, limits: &Limits) -> Result<(Value, Vec<String>)> {
    let envelope = spec
        .get("content")
        .and_then(|c| c.get("envelope"))
        .ok_or_else(|| Error::malformed("spec.content.envelope", "missing"))?;
    let payload_type = str_at(envelope, &["payloadType"])
        .ok_or_else(|| Error::malformed("spec.content.envelope.payloadType", "missing"))?;
    let payload_b64 = double_b64(envelope, "payload", "spec.content.envelope.payload")?;
    let payload = decode_dsse_b64(&payload_b64)
        .ok_or_else(|| Error::malformed("spec.content.envelope.payload", "not base64"))?;
    let sigs = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::malformed("spec.content.envelope.signatures", "missing or empty array")
        })?;
    check_count("spec.content.envelope.signatures", sigs.len(), limits)?;
    let what = "spec.content.envelope.signatures[]";
    let mut sig_strings = Vec::new();
    let mut sig_bytes = Vec::new();
    let mut materials = Vec::new();
    let mut canonical_sigs = Vec::new();
    let mut hashed_sigs = Vec::new();
    for sig in sigs {
        let sig_b64 = double_b64(sig, "sig", what)?;
        let bytes = decode_dsse_b64(&sig_b64).ok_or_else(|| Error::malformed(what, "sig"))?;
        let pem = b64_field(sig, &["publicKey"], what)?;
        materials.push(Material::parse(what, &pem)?);
        let keyid = str_at(sig, &["keyid"]).unwrap_or_default();
        let mut canonical = json!({"sig": B64.encode(&sig_b64), "publicKey": B64.encode(&pem)});
        let mut hashed = json!({"sig": sig_b64, "publicKey": B64.encode(&pem)});
        if !keyid.is_empty() {
            canonical["keyid"] = json!(keyid);
            hashed["keyid"] = json!(keyid);
        }
        canonical_sigs.push(canonical);
        hashed_sigs.push(hashed);
        sig_strings.push(sig_b64);
        sig_bytes.push(bytes);
    }
    let pae = vouch_sign::dsse::pae(payload_type, &payload);
    let signatures: Vec<(&str, &[u8])> = sig_strings
        .iter()
        .map(String::as_str)
        .zip(sig_bytes.iter().map(Vec::as_slice))
        .collect();
    match_signatures(&signatures, &materials, &pae)?;
    let payload_hash = hex::encode(Sha256::digest(&payload));
    if let Some(claimed) = str_at(spec, &["content", "payloadHash", "value"])
        && !claimed.eq_ignore_ascii_case(&payload_hash)
    {
        return Err(Error::malformed(
            "spec.content.payloadHash",
            format!("{claimed} is not the SHA-256 of the payload ({payload_hash})"),
        ));
    }
    let envelope_hash = match spec.get("content").and_then(|c| c.get("hash")) {
        Some(hash) => {
            let value = str_at(hash, &["value"])
                .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
                .filter(|_| str_at(hash, &["algorithm"]) == Some("sha256"))
                .ok_or_else(|| {
                    Error::malformed("spec.content.hash", "expected sha256 and 64 hex digits")
                })?;
            value.to_ascii_lowercase()
        }
        None => {
            let hashed = json!({"payload": payload_b64, "payloadType": payload_type,
                                "signatures": hashed_sigs});
            hex::encode(Sha256::digest(jcs::to_vec(&hashed)))
        }
    };
    let mut keys = vec![
        format!("sha256:{payload_hash}"),
        format!("sha256:{envelope_hash}"),
    ];
    keys.extend(materials.iter().flat_map(Material::index_keys));
    keys.extend(statement_subjects(payload_type, &payload));
    let body = json!({"content": {
        "envelope": {"payloadType": payload_type, "signatures": canonical_sigs},
        "hash": {"algorithm": "sha256", "value": envelope_hash},
        "payloadHash": {"algorithm": "sha256", "value": payload_hash},
    }});
    Ok((body, keys))
}

/// Rekor's `verifyEnvelope`: verifiers are tried in order until every signature has one; a
/// verifier tried must verify at least one signature. Returns signature string -> verifier,
/// sorted by signature (Go's `sort.Strings`: byte order).
fn match_signatures<'m>(
    signatures: &[(&str, &[u8])],
    materials: &'m [Material],
    pae: &[u8],
) -> Result<BTreeMap<String, &'m Material>> {
    let mut unverified: Vec<&str> = signatures.iter().map(|(s, _)| *s).collect();
    unverified.sort_unstable();
    unverified.dedup();
    let mut by_sig = BTreeMap::new();
    for (i, material) in materials.iter().enumerate() {
        if unverified.is_empty() {
            break;
        }
        let mut any = Err(vouch_sign::Error::SignatureInvalid {
            check: "DSSE envelope",
        });
        for (text, sig) in signatures {
            let verified = material.key.verify("DSSE envelope", pae, sig);
            if verified.is_ok() {
                by_sig.insert((*text).to_owned(), material);
                unverified.retain(|s| s != text);
                any = Ok(());
            }
        }
        any.map_err(|source| Error::Signature {
            check: if i == 0 {
                "DSSE signature (first verifier verifies no signature)"
            } else {
                "DSSE signature (a verifier verifies no signature)"
            },
            source: Box::new(source),
        })?;
    }
    if !unverified.is_empty() {
        return Err(Error::Signature {
            check: "DSSE signature (every signature needs a verifier that verifies it)",
            source: Box::new(vouch_sign::Error::SignatureInvalid {
                check: "DSSE envelope",
            }),
        });
    }
    Ok(by_sig)
}

/// A public key or certificate from an entry, with its canonical PEM.
#[derive(Debug)]
struct Material {
    key: VerifyingKey,
    canonical_pem: String,
    subjects: Vec<String>,
}

impl Material {
    /// Parses PEM `PUBLIC KEY` or `CERTIFICATE` (the first block), as Rekor's
    /// `x509.NewPublicKey`; the certificate goes through `vouch-sign`'s certificate parser.
    fn parse(what: &'static str, pem: &[u8]) -> Result<Self> {
        let (label, der) = decode_pem(first_pem_block(pem))
            .ok_or_else(|| Error::malformed(what, "not a PEM block"))?;
        let label = label.as_str();
        let key_err = |source| Error::Key {
            what,
            source: Box::new(source),
        };
        match label {
            "PUBLIC KEY" => {
                let key = VerifyingKey::from_spki_der(&der).map_err(key_err)?;
                Ok(Self {
                    canonical_pem: key.to_pem(),
                    key,
                    subjects: Vec::new(),
                })
            }
            "CERTIFICATE" => {
                let key = vouch_sign::certificate_public_key(&der).map_err(key_err)?;
                let subjects = vouch_sign::certificate_identity(&der)
                    .map(|id| id.subject_alternative_names)
                    .unwrap_or_default();
                let canonical_pem = der::pem::encode_string("CERTIFICATE", LineEnding::LF, &der)
                    .map_err(|e| Error::malformed(what, e))?;
                Ok(Self {
                    key,
                    canonical_pem,
                    subjects,
                })
            }
            other => Err(Error::malformed(
                what,
                format!("PEM label {other:?} is neither PUBLIC KEY nor CERTIFICATE"),
            )),
        }
    }

    fn index_keys(&self) -> Vec<String> {
        let mut keys = vec![hex::encode(Sha256::digest(self.canonical_pem.as_bytes()))];
        keys.extend(self.subjects.iter().cloned());
        keys
    }
}

/// The SHA-256 search key of a PEM public key or certificate (`POST /api/v1/index/retrieve`
/// with `publicKey`).
pub fn public_key_index_key(pem: &[u8]) -> Result<String> {
    Ok(Material::parse("publicKey.content", pem)?.index_keys()[0].clone())
}

/// One PEM block read as Go's `encoding/pem` reads it (Rekor's parser): the base64 between the
/// BEGIN and END lines whatever its line length and line ends (CRLF, re-wrapped), so that such
/// a key is the same key (and its canonical re-encoding the same entry). Headers are refused.
fn decode_pem(pem: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = std::str::from_utf8(pem).ok()?.trim();
    let rest = text.strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let body = rest.strip_suffix(&format!("-----END {label}-----"))?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if b64.contains(':') {
        return None;
    }
    Some((label.to_owned(), B64.decode(b64).ok()?))
}

fn first_pem_block(pem: &[u8]) -> &[u8] {
    let pem = pem.trim_ascii();
    const END: &[u8] = b"-----END ";
    let Some(end) = pem.windows(END.len()).position(|w| w == END) else {
        return pem;
    };
    let after = &pem[end + END.len()..];
    match after.windows(5).position(|w| w == b"-----") {
        Some(close) => &pem[..end + END.len() + close + 5],
        None => pem,
    }
}

/// in-toto subjects of a statement payload as `alg:hex` search keys.
fn statement_subjects(payload_type: &str, payload: &[u8]) -> Vec<String> {
    if payload_type != vouch_sign::dsse::IN_TOTO_PAYLOAD_TYPE {
        return Vec::new();
    }
    let Ok(statement) = vouch_sign::intoto::Statement::from_json(payload) else {
        return Vec::new();
    };
    statement
        .subject
        .iter()
        .flat_map(|s| s.digest.iter().map(|(alg, hex)| format!("{alg}:{hex}")))
        .collect()
}

fn check_count(what: &'static str, count: usize, limits: &Limits) -> Result<()> {
    if count > limits.max_signatures {
        return Err(Error::TooLarge {
            what,
            limit: limits.max_signatures,
            actual: count,
        });
    }
    Ok(())
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
}

/// A `format: byte` field: standard base64 (Go's `strfmt.Base64`).
fn b64_field(value: &Value, path: &[&str], what: &'static str) -> Result<Vec<u8>> {
    let text = str_at(value, path).ok_or_else(|| Error::malformed(what, "missing string"))?;
    B64.decode(text)
        .map_err(|e| Error::malformed(what, format!("not standard base64: {e}")))
}

/// A `format: byte` field that holds DSSE's own base64 text (intoto v0.0.2's double base64).
fn double_b64(value: &Value, field: &str, what: &'static str) -> Result<String> {
    let bytes = b64_field(value, &[field], what)?;
    String::from_utf8(bytes).map_err(|_| Error::malformed(what, "inner value is not text"))
}

fn decode_dsse_b64(text: &str) -> Option<Vec<u8>> {
    B64.decode(text).or_else(|_| URL_SAFE.decode(text)).ok()
}
