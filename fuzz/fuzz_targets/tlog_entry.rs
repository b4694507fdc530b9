//! Property: a proposed Rekor entry (untrusted: `POST /api/v1/log/entries`) is accepted only
//! when its signatures verify: for `hashedrekord` with a public key, the signature over the
//! digest verifies with that key; for `dsse`, every canonical `{signature, verifier}` pair
//! verifies over the envelope's PAE. The canonical body is RFC 8785 JSON, its leaf hash is
//! `leaf_hash(body)`, index keys are sorted, unique and lowercase, and a `hashedrekord`
//! canonical body is itself accepted with the same result (idempotence).
//!
//! Two modes: raw fuzz bytes as the proposed entry, and a valid `hashedrekord` signed with a
//! fixed key over the fuzz bytes with one byte of its JSON then changed.
#![no_main]
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use libfuzzer_sys::fuzz_target;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use vouch_sign::{HashAlgorithm, SigningKey, VerifyingKey};
use vouch_tlog::{Limits, canonicalize};

static KEY: LazyLock<SigningKey> = LazyLock::new(|| {
    let k = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).expect("scalar");
    SigningKey::from_pkcs8_der(k.to_pkcs8_der().expect("pkcs8").as_bytes()).expect("key")
});

fn pem_key(b64_pem: &Value) -> Option<VerifyingKey> {
    let pem = B64.decode(b64_pem.as_str()?).ok()?;
    let pem = std::str::from_utf8(&pem).ok()?;
    // Certificates: the chain check is vouch-sign's; only bare keys are re-checked here.
    pem.contains("BEGIN PUBLIC KEY")
        .then(|| VerifyingKey::from_pem(pem).ok())?
}

fn check(proposed: &[u8], limits: &Limits) -> bool {
    let Ok(c) = canonicalize(proposed, limits) else {
        return false;
    };
    let body: Value = serde_json::from_slice(&c.body).expect("canonical body is JSON");
    assert_eq!(
        vouch_tlog::jcs::to_vec(&body),
        c.body,
        "body is not RFC 8785"
    );
    assert_eq!(c.leaf, vouch_merkle::leaf_hash(&c.body));
    assert!(
        c.index_keys.windows(2).all(|w| w[0] < w[1]),
        "{:?}",
        c.index_keys
    );
    assert!(c.index_keys.iter().all(|k| *k == k.to_ascii_lowercase()));
    let input: Value = serde_json::from_slice(proposed).expect("accepted entry is JSON");
    let spec = &body["spec"];
    match c.kind {
        "hashedrekord" => {
            if let Some(key) = pem_key(&spec["signature"]["publicKey"]["content"]) {
                let alg = spec["data"]["hash"]["algorithm"].as_str().unwrap_or("");
                let hash = match alg {
                    "sha256" => HashAlgorithm::Sha2_256,
                    "sha384" => HashAlgorithm::Sha2_384,
                    _ => HashAlgorithm::Sha2_512,
                };
                let digest = hex::decode(spec["data"]["hash"]["value"].as_str().unwrap_or(""))
                    .expect("hex digest");
                let sig = B64
                    .decode(spec["signature"]["content"].as_str().unwrap_or(""))
                    .expect("b64 signature");
                key.verify_prehashed("fuzz", hash, &digest, &sig)
                    .expect("accepted hashedrekord signature verifies");
            }
            let again = canonicalize(&c.body, limits).expect("canonical body is accepted");
            assert_eq!(again, c, "canonicalisation is not idempotent");
        }
        "dsse" => {
            let envelope = input["spec"]["proposedContent"]["envelope"]
                .as_str()
                .expect("envelope text");
            let envelope =
                vouch_sign::dsse::Envelope::from_json(envelope.as_bytes()).expect("envelope");
            let sigs = spec["signatures"].as_array().expect("signatures");
            assert!(!sigs.is_empty() && sigs.len() <= limits.max_signatures);
            for s in sigs {
                let Some(key) = pem_key(&s["verifier"]) else {
                    continue;
                };
                let sig = s["signature"].as_str().expect("signature text");
                let sig = B64
                    .decode(sig)
                    .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(sig))
                    .expect("b64 signature");
                key.verify("fuzz", &envelope.pae(), &sig)
                    .expect("accepted DSSE signature verifies");
            }
        }
        _ => {}
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_signatures: 4,
        ..Limits::default()
    };
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check(rest, &limits);
        return;
    }
    let [p0, p1, replacement, artifact @ ..] = rest else {
        return;
    };
    let entry = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact))}},
            "signature": {
                "content": B64.encode(KEY.sign_bytes(artifact)),
                "publicKey": {"content": B64.encode(KEY.public_key().to_pem())},
            },
        },
    });
    let mut text = serde_json::to_vec(&entry).expect("serialises");
    assert!(
        check(&text, &limits),
        "a correctly signed hashedrekord is refused"
    );
    let at = usize::from(u16::from_le_bytes([*p0, *p1])) % text.len();
    text[at] = *replacement;
    check(&text, &limits);
});
