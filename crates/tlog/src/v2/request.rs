//! Rekor v2 `CreateEntryRequest`s (`sigstore/rekor-tiles:api/proto/rekor/v2/entry.proto`,
//! proto3 JSON): validation, signature verification and the canonical entry body.
//!
//! * `hashedRekordRequestV002 {digest, signature {content, verifier}}`: the signature is
//!   verified over the digest with the verifier's key (`pkg/types/hashedrekord`), whose
//!   `keyDetails` must name the key's type (the accepted ones: [`super`] "Key types"); the
//!   digest length must be the one of the key details' hash. Canonical body: `{"apiVersion":"0.0.2","kind":"hashedrekord","spec":
//!   {"hashedRekordV002":{"data":{"algorithm":..,"digest":..},"signature":..}}}`.
//! * `dsseRequestV002 {envelope, verifiers}` (dropped by rekor-tiles in 2025 but still in
//!   protobuf-specs and sent by sigstore clients of that era): every envelope signature must
//!   verify over the DSSE PAE with one of at most 10 distinct verifiers, each verifier tried
//!   must verify one (`pkg/types/dsse`, before its removal). Canonical body: payload SHA-256
//!   and the `{content, verifier}` pairs sorted by signature bytes.
//!
//! Bodies are serialised as RFC 8785 JSON ([`crate::jcs`]) of the proto3 JSON form, as
//! rekor-tiles' `protojson.Marshal` + `jsoncanonicalizer.Transform`. Bytes fields accept
//! standard or URL-safe base64 with or without padding (proto3 JSON) and are written back as
//! padded standard base64, so equivalent requests give the same body (and are de-duplicated).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use vouch_merkle::leaf_hash;

use super::verify::{ClientKey, EntryKind, KeyCache, KeyDetails, KeyError, KeyMaterial};

use crate::entry::Canonical;
use crate::error::{Error, Result};
use crate::{Limits, jcs};

/// Most verifiers and signatures in a DSSE request (rekor-tiles' `maxVerifiers`,
/// `maxSignatures`).
const MAX_DSSE: usize = 10;

/// Largest canonical body: entry bundles prefix each entry with a 16-bit length.
const MAX_BODY: usize = u16::MAX as usize;

/// Validates a `CreateEntryRequest` (JSON) and returns the canonical entry.
pub fn canonicalize_request(request: &[u8], limits: &Limits) -> Result<Canonical> {
    canonicalize_request_with(request, limits, None)
}

/// [`canonicalize_request`], taking client keys already parsed from `keys` (and keeping the
/// ones it parses there). The result is the same with or without the cache.
pub fn canonicalize_request_with(
    request: &[u8],
    limits: &Limits,
    keys: Option<&KeyCache>,
) -> Result<Canonical> {
    if let Some(fast) = fast_hashedrekord(request, keys) {
        return fast;
    }
    general(request, limits, keys)
}

/// Any request, read as a JSON tree.
fn general(request: &[u8], limits: &Limits, keys: Option<&KeyCache>) -> Result<Canonical> {
    let value: Value =
        serde_json::from_slice(request).map_err(|e| Error::malformed("CreateEntryRequest", e))?;
    let object = value
        .as_object()
        .ok_or_else(|| Error::malformed("CreateEntryRequest", "expected a JSON object"))?;
    let hashed = field(
        &value,
        "hashedRekordRequestV002",
        "hashed_rekord_request_v002",
    );
    let dsse = field(&value, "dsseRequestV002", "dsse_request_v002");
    if object.len() != 1 {
        return Err(Error::malformed(
            "CreateEntryRequest",
            "expected exactly one of hashedRekordRequestV002 or dsseRequestV002",
        ));
    }
    let (kind, spec) = match (hashed, dsse) {
        (Some(h), None) => ("hashedrekord", hashedrekord(h, keys)?),
        (None, Some(d)) => ("dsse", dsse_entry(d, limits, keys)?),
        _ => {
            let found: String = object.keys().next().cloned().unwrap_or_default();
            return Err(Error::malformed(
                "CreateEntryRequest",
                format!(
                    "unknown entry type {:?}; expected hashedRekordRequestV002 or dsseRequestV002",
                    found.chars().take(64).collect::<String>()
                ),
            ));
        }
    };
    finish(
        kind,
        jcs::to_vec(&json!({"apiVersion": "0.0.2", "kind": kind, "spec": spec})),
    )
}

/// The canonical entry of `body`, unless it is too large for an entry bundle.
fn finish(kind: &'static str, body: Vec<u8>) -> Result<Canonical> {
    if body.len() > MAX_BODY {
        return Err(Error::TooLarge {
            what: "canonical entry (tlog-tiles entry bundles hold at most 65535 bytes)",
            limit: MAX_BODY,
            actual: body.len(),
        });
    }
    Ok(Canonical {
        kind,
        api_version: "0.0.2",
        leaf: leaf_hash(&body),
        body,
        index_keys: Vec::new(),
    })
}

/// A proto3 JSON field under its JSON name or its original (snake_case) name.
fn field<'a>(value: &'a Value, json_name: &str, proto_name: &str) -> Option<&'a Value> {
    value.get(json_name).or_else(|| value.get(proto_name))
}

/// A proto3 JSON `bytes` field.
fn bytes(value: &Value, name: &str, proto_name: &str, what: &'static str) -> Result<Vec<u8>> {
    let text = field(value, name, proto_name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::malformed(what, "missing base64 string"))?;
    decode(text, what)
}

/// A proto3 JSON `bytes` value: standard or URL-safe base64, padded or not.
fn decode(text: &str, what: &'static str) -> Result<Vec<u8>> {
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| Error::malformed(what, "not base64"))
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A request's `Verifier`: its key (parsed for its details), and its canonical JSON.
struct Verifier {
    key: std::sync::Arc<ClientKey>,
    raw: Vec<u8>,
    json: Value,
}

fn verifier(
    value: &Value,
    kind: EntryKind,
    what: &'static str,
    keys: Option<&KeyCache>,
) -> Result<Verifier> {
    let public = field(value, "publicKey", "public_key");
    let cert = field(value, "x509Certificate", "x509_certificate");
    let name = field(value, "keyDetails", "key_details")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::malformed(what, "missing keyDetails"))?;
    let details = KeyDetails::parse(name, kind).map_err(|reason| Error::malformed(what, reason))?;
    let (raw, material) = match (public, cert) {
        (Some(p), None) => (
            bytes(p, "rawBytes", "raw_bytes", what)?,
            KeyMaterial::PublicKey,
        ),
        (None, Some(c)) => (
            bytes(c, "rawBytes", "raw_bytes", what)?,
            KeyMaterial::Certificate,
        ),
        _ => {
            return Err(Error::malformed(
                what,
                "expected exactly one of publicKey or x509Certificate",
            ));
        }
    };
    let key = client_key(&raw, material, details, what, keys)?;
    let mut json = serde_json::Map::new();
    json.insert("keyDetails".into(), json!(details.name()));
    json.insert(
        material_name(material).into(),
        json!({"rawBytes": b64(&raw)}),
    );
    let json = Value::Object(json);
    Ok(Verifier { key, raw, json })
}

/// The proto3 JSON name of a verifier's key material.
fn material_name(material: KeyMaterial) -> &'static str {
    match material {
        KeyMaterial::PublicKey => "publicKey",
        KeyMaterial::Certificate => "x509Certificate",
    }
}

/// The key of a verifier's `rawBytes` (not empty), parsed for `details` (or from `keys`).
fn client_key(
    raw: &[u8],
    material: KeyMaterial,
    details: KeyDetails,
    what: &'static str,
    keys: Option<&KeyCache>,
) -> Result<std::sync::Arc<ClientKey>> {
    if raw.is_empty() {
        return Err(Error::malformed(what, "empty rawBytes"));
    }
    match (keys, material) {
        (Some(keys), _) => keys.get_or_parse(material, raw, details),
        (None, KeyMaterial::PublicKey) => ClientKey::parse(raw, details).map(std::sync::Arc::new),
        (None, KeyMaterial::Certificate) => {
            ClientKey::from_certificate(raw, details).map(std::sync::Arc::new)
        }
    }
    .map_err(|e| match e {
        KeyError::Malformed(reason) => Error::ClientKey { what, reason },
        e @ KeyError::Mismatch { .. } => Error::malformed(what, e),
    })
}

fn hashedrekord(request: &Value, keys: Option<&KeyCache>) -> Result<Value> {
    let what = "hashedRekordRequestV002";
    let digest = bytes(
        request,
        "digest",
        "digest",
        "hashedRekordRequestV002.digest",
    )?;
    let signature = field(request, "signature", "signature")
        .ok_or_else(|| Error::malformed(what, "missing signature"))?;
    let content = bytes(
        signature,
        "content",
        "content",
        "hashedRekordRequestV002.signature.content",
    )?;
    if content.is_empty() {
        return Err(Error::malformed(
            "hashedRekordRequestV002.signature.content",
            "empty signature",
        ));
    }
    let v = verifier(
        field(signature, "verifier", "verifier")
            .ok_or_else(|| Error::malformed(what, "missing signature.verifier"))?,
        EntryKind::HashedRekord,
        "hashedRekordRequestV002.signature.verifier",
        keys,
    )?;
    let hash = verify_hashed(&digest, &content, &v.key)?;
    Ok(json!({"hashedRekordV002": {
        "data": {"algorithm": hash.proto_name(), "digest": b64(&digest)},
        "signature": {"content": b64(&content), "verifier": v.json},
    }}))
}

/// The checks of a hashedrekord once its fields are decoded and its key parsed: the digest's
/// length is the details' hash's, and the signature verifies over it. Returns the hash.
fn verify_hashed(
    digest: &[u8],
    content: &[u8],
    key: &ClientKey,
) -> Result<vouch_sign::HashAlgorithm> {
    let details = key.details();
    // `KeyDetails::parse` refuses pure Ed25519 for a hashedrekord: every accepted one hashes.
    let hash = details.hash().ok_or_else(|| {
        Error::malformed(
            "hashedRekordRequestV002.signature.verifier",
            "keyDetails without a digest algorithm",
        )
    })?;
    if digest.len() != hash.digest_len() {
        return Err(Error::malformed(
            "hashedRekordRequestV002.digest",
            format!(
                "{} bytes, {} needs {}",
                digest.len(),
                details.name(),
                hash.digest_len()
            ),
        ));
    }
    key.verify_digest(digest, content)
        .map_err(|source| Error::signature("hashedrekord signature over the digest", source))?;
    Ok(hash)
}

/// The usual hashedrekord request, read without a JSON tree: exactly
/// `{"hashedRekordRequestV002": {"digest", "signature": {"content", "verifier": {"keyDetails",
/// "publicKey"|"x509Certificate": {"rawBytes"}}}}}` under the proto3 JSON names, every value a
/// string without escapes, no other member, no member twice. Anything else (snake_case names,
/// nulls, extra members, DSSE) is `None` and goes through the general path, so that every
/// request gets that path's checks and messages; for requests of this shape the two run the
/// same checks in the same order and write the same canonical body (test below).
fn fast_hashedrekord(request: &[u8], keys: Option<&KeyCache>) -> Option<Result<Canonical>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request<'a> {
        #[serde(rename = "hashedRekordRequestV002", borrow)]
        hashed: Hashed<'a>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Hashed<'a> {
        digest: &'a str,
        #[serde(borrow)]
        signature: Signature<'a>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Signature<'a> {
        content: &'a str,
        #[serde(borrow)]
        verifier: Verifier<'a>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Verifier<'a> {
        key_details: &'a str,
        // `null` is not "absent" here: it fails, and the general path judges it.
        #[serde(default, borrow, deserialize_with = "present")]
        public_key: Option<Raw<'a>>,
        #[serde(default, borrow, deserialize_with = "present")]
        x509_certificate: Option<Raw<'a>>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Raw<'a> {
        raw_bytes: &'a str,
    }
    fn present<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Raw<'de>>, D::Error> {
        serde::Deserialize::deserialize(d).map(Some)
    }

    let request: Request<'_> = serde_json::from_slice(request).ok()?;
    let hashed = request.hashed;
    let verifier = hashed.signature.verifier;
    let (material, raw) = match (verifier.public_key, verifier.x509_certificate) {
        (Some(p), None) => (KeyMaterial::PublicKey, p.raw_bytes),
        (None, Some(c)) => (KeyMaterial::Certificate, c.raw_bytes),
        _ => return None,
    };
    let what = "hashedRekordRequestV002.signature.verifier";
    let checked = || -> Result<Canonical> {
        // The order of `hashedrekord` and `verifier`.
        let digest = decode(hashed.digest, "hashedRekordRequestV002.digest")?;
        let content = decode(
            hashed.signature.content,
            "hashedRekordRequestV002.signature.content",
        )?;
        if content.is_empty() {
            return Err(Error::malformed(
                "hashedRekordRequestV002.signature.content",
                "empty signature",
            ));
        }
        let details = KeyDetails::parse(verifier.key_details, EntryKind::HashedRekord)
            .map_err(|reason| Error::malformed(what, reason))?;
        let raw = decode(raw, what)?;
        let key = client_key(&raw, material, details, what, keys)?;
        let hash = verify_hashed(&digest, &content, &key)?;
        // RFC 8785 of the body `hashedrekord` builds: members in sorted order (apiVersion <
        // kind < spec; data < signature; algorithm < digest; content < verifier; keyDetails <
        // publicKey, x509Certificate), strings that need no escaping (base64, enum names).
        let mut body = Vec::with_capacity(200 + (digest.len() + content.len() + raw.len()) * 4 / 3);
        body.extend_from_slice(
            br#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":""#,
        );
        body.extend_from_slice(hash.proto_name().as_bytes());
        body.extend_from_slice(br#"","digest":""#);
        push_b64(&mut body, &digest);
        body.extend_from_slice(br#""},"signature":{"content":""#);
        push_b64(&mut body, &content);
        body.extend_from_slice(br#"","verifier":{"keyDetails":""#);
        body.extend_from_slice(details.name().as_bytes());
        body.extend_from_slice(b"\",\"");
        body.extend_from_slice(material_name(material).as_bytes());
        body.extend_from_slice(br#"":{"rawBytes":""#);
        push_b64(&mut body, &raw);
        body.extend_from_slice(br#""}}}}}}"#);
        finish("hashedrekord", body)
    };
    Some(checked())
}

/// Appends standard padded base64 of `bytes`.
fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
        0,
    );
    let written = STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

fn dsse_entry(request: &Value, limits: &Limits, keys: Option<&KeyCache>) -> Result<Value> {
    let what = "dsseRequestV002";
    let envelope = field(request, "envelope", "envelope")
        .ok_or_else(|| Error::malformed(what, "missing envelope"))?;
    let payload = bytes(
        envelope,
        "payload",
        "payload",
        "dsseRequestV002.envelope.payload",
    )?;
    let payload_type = field(envelope, "payloadType", "payload_type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::malformed("dsseRequestV002.envelope.payloadType", "missing"))?;
    let signatures = field(envelope, "signatures", "signatures")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::malformed("dsseRequestV002.envelope.signatures", "missing or empty")
        })?;
    let verifiers = field(request, "verifiers", "verifiers")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::malformed("dsseRequestV002.verifiers", "missing or empty"))?;
    let max = MAX_DSSE.min(limits.max_signatures);
    for (list, name) in [
        (signatures, "dsseRequestV002.envelope.signatures"),
        (verifiers, "dsseRequestV002.verifiers"),
    ] {
        if list.len() > max {
            return Err(Error::TooLarge {
                what: name,
                limit: max,
                actual: list.len(),
            });
        }
    }
    let mut sigs = Vec::with_capacity(signatures.len());
    for s in signatures {
        let sig = bytes(s, "sig", "sig", "dsseRequestV002.envelope.signatures[].sig")?;
        if sig.is_empty() {
            return Err(Error::malformed(
                "dsseRequestV002.envelope.signatures[].sig",
                "empty signature",
            ));
        }
        sigs.push(sig);
    }
    let mut parsed: Vec<Verifier> = Vec::with_capacity(verifiers.len());
    for v in verifiers {
        let v = verifier(v, EntryKind::Dsse, "dsseRequestV002.verifiers[]", keys)?;
        if parsed.iter().any(|p| p.raw == v.raw) {
            return Err(Error::malformed(
                "dsseRequestV002.verifiers",
                "duplicate verifier",
            ));
        }
        parsed.push(v);
    }
    let pae = vouch_sign::dsse::pae(payload_type, &payload);
    // Each verifier in turn, until every signature has one; a verifier tried must verify
    // at least one signature (go-securesystemslib's threshold of 1).
    let mut matched: Vec<Option<usize>> = vec![None; sigs.len()];
    for (vi, v) in parsed.iter().enumerate() {
        if matched.iter().all(Option::is_some) {
            break;
        }
        let mut any = false;
        for (si, sig) in sigs.iter().enumerate() {
            if v.key.verify_message(&pae, sig).is_ok() {
                matched[si].get_or_insert(vi);
                any = true;
            }
        }
        if !any {
            return Err(Error::Signature {
                check: "DSSE signature (a verifier verifies no signature)",
                source: Box::new(vouch_sign::Error::SignatureInvalid {
                    check: "DSSE envelope",
                }),
            });
        }
    }
    let mut pairs: Vec<(&Vec<u8>, &Verifier)> = Vec::with_capacity(sigs.len());
    for (sig, m) in sigs.iter().zip(&matched) {
        let Some(vi) = m else {
            return Err(Error::Signature {
                check: "DSSE signature (every signature needs a verifier that verifies it)",
                source: Box::new(vouch_sign::Error::SignatureInvalid {
                    check: "DSSE envelope",
                }),
            });
        };
        pairs.push((sig, &parsed[*vi]));
    }
    // Sorted by the raw signature bytes (Go's sort of byte strings); one pair per signature.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs.dedup_by(|a, b| a.0 == b.0);
    let signatures: Vec<Value> = pairs
        .iter()
        .map(|(sig, v)| json!({"content": b64(sig), "verifier": v.json.clone()}))
        .collect();
    Ok(json!({"dsseV002": {
        "payloadHash": {"algorithm": "SHA2_256", "digest": b64(&Sha256::digest(&payload))},
        "signatures": signatures,
    }}))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vouch_sign::{HashAlgorithm, KeyAlgorithm, SigningKey};

    /// For requests of the usual shape the fast path and the general path give the same
    /// canonical entry, or the same refusal; other shapes are left to the general path.
    #[test]
    fn fast_path_equals_the_general_path() {
        let limits = Limits::default();
        let cache = KeyCache::default();
        let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let request = |digest: &[u8], sig: &[u8], spki: &[u8], details: &str| {
            serde_json::to_vec(&json!({"hashedRekordRequestV002": {
                "digest": b64(digest),
                "signature": {"content": b64(sig),
                              "verifier": {"publicKey": {"rawBytes": b64(spki)},
                                           "keyDetails": details}}}}))
            .unwrap()
        };
        let spki = p256.public_key().spki_der().to_vec();
        let digest = HashAlgorithm::Sha2_256.digest(b"fast");
        let sig = p256.sign_bytes(b"fast");
        let mut bad_sig = sig.clone();
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        let cases: Vec<Vec<u8>> = vec![
            request(&digest, &sig, &spki, "PKIX_ECDSA_P256_SHA_256"),
            request(&digest, &bad_sig, &spki, "PKIX_ECDSA_P256_SHA_256"),
            request(&digest[..31], &sig, &spki, "PKIX_ECDSA_P256_SHA_256"),
            request(&digest, &sig, &spki, "PKIX_ECDSA_P384_SHA_384"),
            request(&digest, &sig, &spki, "PKIX_ED25519"),
            request(&digest, &[], &spki, "PKIX_ECDSA_P256_SHA_256"),
            request(&digest, &sig, &[], "PKIX_ECDSA_P256_SHA_256"),
            request(&digest, &sig, &spki[..40], "PKIX_ECDSA_P256_SHA_256"),
            // URL-safe unpadded base64 of the same bytes: the same entry.
            serde_json::to_vec(&json!({"hashedRekordRequestV002": {
                "digest": URL_SAFE_NO_PAD.encode(&digest),
                "signature": {"content": URL_SAFE_NO_PAD.encode(&sig),
                              "verifier": {"publicKey": {"rawBytes": URL_SAFE_NO_PAD.encode(&spki)},
                                           "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}))
            .unwrap(),
            br#"{"hashedRekordRequestV002":{"digest":"!!","signature":{"content":"AA==","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"AA=="}}}}}"#.to_vec(),
        ];
        let mut accepted = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let fast = fast_hashedrekord(case, Some(&cache)).expect("usual shape");
            let general = general(case, &limits, None);
            match (fast, general) {
                (Ok(f), Ok(g)) => {
                    assert_eq!(f.body, g.body, "case {i}");
                    assert_eq!(
                        (f.leaf, f.kind, f.api_version),
                        (g.leaf, g.kind, g.api_version)
                    );
                    accepted.push(i);
                }
                (Err(f), Err(g)) => assert_eq!(f.to_string(), g.to_string(), "case {i}"),
                (f, g) => panic!(
                    "case {i}: fast {:?} general {:?}",
                    f.map(|c| c.body),
                    g.map(|c| c.body)
                ),
            }
        }
        assert_eq!(accepted, vec![0, 8]);
        // Shapes left to the general path: snake_case names, null, an extra member, both
        // materials, an escaped string, DSSE, not an object.
        let text = String::from_utf8(cases[0].clone()).unwrap();
        for other in [
            text.replace("rawBytes", "raw_bytes"),
            text.replace("hashedRekordRequestV002", "hashed_rekord_request_v002"),
            text.replace(r#""keyDetails""#, r#""x509Certificate":null,"keyDetails""#),
            text.replace(r#""keyDetails""#, r#""extra":"1","keyDetails""#),
            text.replace(
                r#""keyDetails""#,
                r#""x509Certificate":{"rawBytes":"AA=="},"keyDetails""#,
            ),
            text.replace("PKIX_ECDSA", "PKIX\\u005fECDSA"),
            r#"{"dsseRequestV002":{}}"#.to_owned(),
            "[]".to_owned(),
        ] {
            assert!(
                fast_hashedrekord(other.as_bytes(), None).is_none(),
                "{other}"
            );
        }
        // ... where the snake_case one is the same entry.
        let snake = text
            .replace("rawBytes", "raw_bytes")
            .replace("keyDetails", "key_details");
        assert_eq!(
            canonicalize_request(snake.as_bytes(), &limits)
                .unwrap()
                .body,
            canonicalize_request(&cases[0], &limits).unwrap().body
        );
    }
}
