//! Signed checkpoints: real Rekor v1 (ECDSA) and v2 (Ed25519) checkpoints and inclusion
//! proofs from public Sigstore bundles (tests/data/rekor/), tampering, signing round trips.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use vouch_merkle::{
    Checkpoint, ConsistencyProof, EcdsaP256Signer, Ed25519Signer, Error, Hash, InclusionProof,
    KeyAlgorithm, KeyHint, KeyIdScheme, MemoryTree, NoteLimits, NoteSigner, NoteVerifier,
    SignedCheckpoint, ed25519_dalek, leaf_hash, p256,
};

struct Case {
    name: &'static str,
    key_name: String,
    spki: Vec<u8>,
    scheme: KeyIdScheme,
    trusted_root_key_id: Vec<u8>,
    checkpoint: String,
    body: Vec<u8>,
    proof: InclusionProof,
    root: Hash,
}

const CASES: &[&str] = &[
    "production-v1-ecdsa",
    "production-v1-ecdsa-shard2",
    "staging-v1-ecdsa",
    "staging-v1-ecdsa-timestamp-extension",
    "staging-v2-ed25519",
    "staging-v2-ed25519-witnessed",
];

fn load(name: &'static str) -> Case {
    let path = format!(
        "{}/tests/data/rekor/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(path).expect("read case")).expect("case is JSON");
    let s = |key: &str| json[key].as_str().expect(key).to_owned();
    let b64 = |key: &str| STANDARD.decode(s(key)).expect(key);
    let hash = |v: &Value| Hash::from_hex(v.as_str().expect("hex")).expect("hash");
    let hashes = json["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(hash)
        .collect();
    let num = |key: &str| json[key].as_u64().expect(key);
    Case {
        name,
        key_name: s("key_name"),
        spki: b64("public_key_spki"),
        scheme: match s("key_id_scheme").as_str() {
            "c2sp" => KeyIdScheme::C2sp,
            _ => KeyIdScheme::SpkiSha256,
        },
        trusted_root_key_id: b64("trusted_root_key_id"),
        checkpoint: s("checkpoint"),
        body: b64("canonicalized_body"),
        proof: InclusionProof::new(num("leaf_index"), num("tree_size"), hashes),
        root: hash(&json["root_hash"]),
    }
}

fn verifier(case: &Case) -> NoteVerifier {
    NoteVerifier::from_spki_der(&case.key_name, &case.spki, case.scheme).expect("trusted key")
}

#[test]
fn public_rekor_checkpoints_and_proofs_verify() {
    for case in CASES.iter().copied().map(load) {
        let name = case.name;
        let v = verifier(&case);
        // The key hint is the first 4 bytes of the trusted root's log key ID, for both
        // conventions (SPKI hash for v1, C2SP hash for v2).
        assert_eq!(
            v.key_hint().as_bytes(),
            &case.trusted_root_key_id[..4],
            "{name}"
        );

        let signed = SignedCheckpoint::parse(case.checkpoint.as_bytes()).expect(name);
        assert_eq!(signed.as_str(), case.checkpoint, "{name}: byte-exact");
        assert_eq!(signed.to_string(), case.checkpoint, "{name}: Display");
        let body = signed.unverified_checkpoint().to_note_text();
        assert_eq!(body, signed.note().body(), "{name}: body re-serializes");

        let verified = signed.verify(&v).expect(name);
        assert_eq!(verified.size(), case.proof.size(), "{name}");
        assert_eq!(verified.root(), case.root, "{name}");
        assert_eq!(verified.key_name(), case.key_name, "{name}");

        let leaf = leaf_hash(&case.body);
        let included = verified.verify_inclusion(&leaf, &case.proof).expect(name);
        assert_eq!(included.index(), case.proof.index(), "{name}");
    }
}

#[test]
fn rekor_v1_origin_and_extension_lines() {
    let case = load("staging-v1-ecdsa-timestamp-extension");
    let verified = SignedCheckpoint::parse(case.checkpoint.as_bytes())
        .and_then(|s| s.verify(&verifier(&case)))
        .expect("verifies");
    assert_eq!(
        verified.checkpoint().extensions(),
        ["Timestamp: 1682468469199678948"]
    );
    let origin = "rekor.sigstage.dev - 8050909264565447525";
    let verified = verified.expect_origin(origin).expect("origin");
    assert!(matches!(
        verified.expect_origin("rekor.sigstore.dev - 2605736670972794746"),
        Err(Error::OriginMismatch { found, .. }) if found == origin
    ));
}

#[test]
fn witness_cosignatures_are_ignored() {
    let case = load("staging-v2-ed25519-witnessed");
    let signed = SignedCheckpoint::parse(case.checkpoint.as_bytes()).expect("parses");
    assert_eq!(signed.note().signatures().len(), 4);
    assert_eq!(
        signed.note().signatures()[1].key_name(),
        "witness.stagemole.eu"
    );
    assert!(signed.verify(&verifier(&case)).is_ok());
}

/// Replaces `from` (which must occur) in the checkpoint text.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in {text:?}");
    text.replacen(from, to, 1)
}

/// The text with the first signature's decoded bytes changed by `f`.
fn edit_signature(text: &str, f: impl Fn(&mut Vec<u8>)) -> String {
    let line_start = text.find("\n\n\u{2014} ").expect("signature") + 2;
    let line_end = line_start + text[line_start..].find('\n').expect("end of line");
    let line = &text[line_start..line_end];
    let encoded = line.rsplit(' ').next().expect("base64");
    let mut raw = STANDARD.decode(encoded).expect("base64");
    f(&mut raw);
    let new_line = format!(
        "{} {}",
        &line[..line.len() - encoded.len() - 1],
        STANDARD.encode(raw)
    );
    format!("{}{}{}", &text[..line_start], new_line, &text[line_end..])
}

fn verify_text(text: &str, v: &NoteVerifier) -> Result<(), Error> {
    SignedCheckpoint::parse(text.as_bytes())?
        .verify(v)
        .map(|_| ())
}

#[test]
fn tampered_public_checkpoints_fail() {
    for case in CASES.iter().copied().map(load) {
        let (name, text, v) = (case.name, case.checkpoint.as_str(), verifier(&case));
        let size = case.proof.size();
        let mut flipped_root = *case.root.as_bytes();
        flipped_root[31] ^= 1;
        let tampered = [
            (
                "size + 1",
                edit(text, &format!("\n{size}\n"), &format!("\n{}\n", size + 1)),
            ),
            (
                "root",
                edit(
                    text,
                    &STANDARD.encode(case.root.as_bytes()),
                    &STANDARD.encode(flipped_root),
                ),
            ),
            ("origin", edit(text, "sigst", "sigsT")),
            (
                "extension line added",
                edit(text, "\n\n\u{2014}", "\nx\n\n\u{2014}"),
            ),
            ("signature byte", edit_signature(text, |raw| raw[10] ^= 1)),
            (
                "signature truncated",
                edit_signature(text, |raw| raw.truncate(raw.len() - 1)),
            ),
        ];
        for (what, text) in &tampered {
            assert!(
                matches!(verify_text(text, &v), Err(Error::BadSignature { .. })),
                "{name}: {what}"
            );
        }
        let unknown = [
            ("key hint", edit_signature(text, |raw| raw[0] ^= 1)),
            (
                "key name",
                edit(
                    text,
                    &format!("\u{2014} {} ", case.key_name),
                    "\u{2014} other ",
                ),
            ),
        ];
        for (what, text) in &unknown {
            assert!(
                matches!(verify_text(text, &v), Err(Error::NoKnownSignature { .. })),
                "{name}: {what}"
            );
        }
    }
}

#[test]
fn wrong_key_wrong_leaf_wrong_size() {
    let production = load("production-v1-ecdsa");
    let staging = load("staging-v1-ecdsa");
    let signed = SignedCheckpoint::parse(production.checkpoint.as_bytes()).expect("parses");
    // Same name, other key: the hint differs, so no signature is by a known key.
    let impostor =
        NoteVerifier::from_spki_der(&production.key_name, &staging.spki, KeyIdScheme::SpkiSha256)
            .expect("key");
    assert!(matches!(
        signed.verify(&impostor),
        Err(Error::NoKnownSignature { key_name, key_hint })
            if key_name == "rekor.sigstore.dev" && key_hint == impostor.key_hint()
    ));

    let verified = signed.verify(&verifier(&production)).expect("verifies");
    let wrong_leaf = leaf_hash(&staging.body);
    assert!(matches!(
        verified.verify_inclusion(&wrong_leaf, &production.proof),
        Err(Error::InclusionRoot { expected, .. }) if expected == production.root
    ));
    // A proof for another tree size is not checked against this checkpoint's root.
    assert!(matches!(
        verified.verify_inclusion(&leaf_hash(&staging.body), &staging.proof),
        Err(Error::ProofSizeMismatch {
            checkpoint_size: 75441653,
            proof_size: 25901138
        })
    ));
}

#[test]
fn trusted_root_keys_and_unsupported_keys() {
    let v2 = load("staging-v2-ed25519");
    let c2sp = verifier(&v2);
    assert_eq!(c2sp.algorithm(), KeyAlgorithm::Ed25519);
    // The same Ed25519 key with Rekor v1's hint convention: SHA-256(SPKI)[:4].
    let spki =
        NoteVerifier::from_spki_der(&v2.key_name, &v2.spki, KeyIdScheme::SpkiSha256).expect("key");
    assert_eq!(spki.key_hint(), KeyHint::from_spki_der(&v2.spki));
    assert_ne!(spki.key_hint(), c2sp.key_hint());

    // SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING {} }
    let rsa = [
        0x30, 0x13, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        0x05, 0x00, 0x03, 0x02, 0x00, 0x00,
    ];
    assert!(matches!(
        NoteVerifier::from_spki_der("k", &rsa, KeyIdScheme::C2sp),
        Err(Error::UnsupportedKeyAlgorithm { oid }) if oid == "1.2.840.113549.1.1.1"
    ));
    assert!(matches!(
        NoteVerifier::from_spki_der("k", b"junk", KeyIdScheme::C2sp),
        Err(Error::InvalidPublicKey { .. })
    ));
    assert!(matches!(
        NoteVerifier::from_spki_der("bad name", &v2.spki, KeyIdScheme::C2sp),
        Err(Error::InvalidKeyName { .. })
    ));
}

fn ecdsa_signer(name: &str) -> EcdsaP256Signer {
    let key = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).expect("scalar");
    EcdsaP256Signer::new(name, key).expect("signer")
}

fn ed25519_signer(name: &str, scheme: KeyIdScheme) -> Ed25519Signer {
    Ed25519Signer::new(
        name,
        ed25519_dalek::SigningKey::from_bytes(&[0x22; 32]),
        scheme,
    )
    .expect("signer")
}

#[test]
fn signed_checkpoints_round_trip() {
    let tree = MemoryTree::from_leaf_hashes((0u8..10).map(|i| leaf_hash(&[i])));
    let origin = "vouch.example - 1234";
    let checkpoint = Checkpoint::new(origin, tree.size(), tree.root())
        .and_then(|c| c.with_extension("Timestamp: 1700000000000000000"))
        .expect("checkpoint");
    let ecdsa = ecdsa_signer("vouch.example");
    let ed25519 = ed25519_signer("vouch.example", KeyIdScheme::C2sp);
    let signers: [&dyn NoteSigner; 2] = [&ecdsa, &ed25519];
    for (signer, verifier) in signers
        .into_iter()
        .zip([ecdsa.verifier(), ed25519.verifier()])
    {
        let signed = SignedCheckpoint::sign(checkpoint.clone(), signer).expect("signs");
        let text = signed.to_string();
        let root = STANDARD.encode(tree.root().as_bytes());
        let prefix = format!(
            "{origin}\n10\n{root}\nTimestamp: 1700000000000000000\n\n\u{2014} vouch.example "
        );
        assert!(text.starts_with(&prefix), "{text}");
        assert!(text.ends_with('\n'));

        let parsed = SignedCheckpoint::parse(text.as_bytes()).expect("parses");
        assert_eq!(parsed, signed);
        let verified = parsed.verify(&verifier).expect("verifies");
        assert_eq!(verified.checkpoint(), &checkpoint);
        let proof = tree.inclusion_proof(3, 10).expect("proof");
        assert!(verified.verify_inclusion(&leaf_hash(&[3]), &proof).is_ok());
    }
    // The ECDSA hint is the SPKI hash, as Rekor v1 writes it.
    use p256::pkcs8::EncodePublicKey as _;
    let der = p256::ecdsa::SigningKey::from_slice(&[0x11; 32])
        .expect("scalar")
        .verifying_key()
        .to_public_key_der()
        .expect("der");
    assert_eq!(ecdsa.key_hint(), KeyHint::from_spki_der(der.as_bytes()));
    let from_der = NoteVerifier::from_spki_der("vouch.example", der.as_bytes(), KeyIdScheme::C2sp)
        .expect("key");
    assert_eq!(from_der.key_hint(), ecdsa.key_hint());
    // The Ed25519 C2SP hint covers name, type byte and key.
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x22; 32]).verifying_key();
    assert_eq!(
        ed25519.key_hint(),
        KeyHint::c2sp("vouch.example", 0x01, key.as_bytes())
    );
}

#[test]
fn cosigned_checkpoint_verifies_with_each_key() {
    let checkpoint = Checkpoint::new("example.com/log", 0, vouch_merkle::EMPTY_ROOT).expect("cp");
    let log = ed25519_signer("example.com/log", KeyIdScheme::C2sp);
    let witness = ecdsa_signer("witness.example/w1");
    let log_only = SignedCheckpoint::sign(checkpoint, &log).expect("signs");
    let mut signed = log_only.clone();
    signed.add_signature(&witness).expect("cosigns");
    let parsed = SignedCheckpoint::parse(signed.as_str().as_bytes()).expect("parses");
    assert_eq!(parsed.note().signatures().len(), 2);
    assert!(parsed.verify(&log.verifier()).is_ok());
    assert!(parsed.verify(&witness.verifier()).is_ok());
    // A signature by a known key that fails rejects the note, even if another one verifies.
    let log_line = log_only.as_str().lines().last().expect("signature line");
    let twice = format!("{}{log_line}\n", log_only.as_str());
    let bad_twin = edit_signature(&twice, |raw| raw[8] ^= 1);
    let parsed = SignedCheckpoint::parse(bad_twin.as_bytes()).expect("parses");
    assert!(matches!(
        parsed.verify(&log.verifier()),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn consistency_between_verified_checkpoints() {
    let mut tree = MemoryTree::new();
    let signer = ecdsa_signer("log.example");
    let verifier = signer.verifier();
    let mut checkpoints = Vec::new();
    for i in 0u8..20 {
        tree.push(leaf_hash(&[i]));
        if i == 6 || i == 19 {
            let cp = Checkpoint::new("log.example - 1", tree.size(), tree.root()).expect("cp");
            let text = SignedCheckpoint::sign(cp, &signer)
                .expect("signs")
                .to_string();
            let signed = SignedCheckpoint::parse(text.as_bytes()).expect("parses");
            checkpoints.push(signed.verify(&verifier).expect("verifies"));
        }
    }
    let (old, new) = (&checkpoints[0], &checkpoints[1]);
    let proof = tree.consistency_proof(7, 20).expect("proof");
    let ok = old.verify_consistency(new, &proof).expect("consistent");
    assert_eq!((ok.old_size(), ok.new_size()), (7, 20));
    assert!(matches!(
        new.verify_consistency(old, &proof),
        Err(Error::ProofSizeMismatch {
            checkpoint_size: 20,
            proof_size: 7
        })
    ));

    // A rewritten log: same size 20, different history.
    let forked = MemoryTree::from_leaf_hashes((0u8..20).map(|i| leaf_hash(&[i, 1])));
    let cp = Checkpoint::new("log.example - 1", 20, forked.root()).expect("cp");
    let fork = SignedCheckpoint::sign(cp, &signer)
        .and_then(|s| s.verify(&verifier))
        .expect("v");
    let same_size = ConsistencyProof::new(20, 20, vec![]);
    assert!(matches!(
        new.verify_consistency(&fork, &same_size),
        Err(Error::RootsDiffer { size: 20, .. })
    ));
    assert!(matches!(
        old.verify_consistency(&fork, &proof),
        Err(Error::ConsistencyNewRoot {
            old_size: 7,
            new_size: 20,
            ..
        })
    ));

    let cp = Checkpoint::new("other.example - 1", 20, tree.root()).expect("cp");
    let other = SignedCheckpoint::sign(cp, &signer)
        .and_then(|s| s.verify(&verifier))
        .expect("v");
    assert!(matches!(
        old.verify_consistency(&other, &proof),
        Err(Error::OriginMismatch { .. })
    ));
}

#[test]
fn limits_apply_to_checkpoints() {
    let case = load("staging-v2-ed25519-witnessed");
    let mut limits = NoteLimits::default();
    limits.max_signatures = 3;
    assert!(matches!(
        SignedCheckpoint::parse_with_limits(case.checkpoint.as_bytes(), &limits),
        Err(Error::TooManySignatures { limit: 3 })
    ));
    let huge = format!(
        "o\n1\n{}\n{}\n\n\u{2014} k AQIDBAU=\n",
        STANDARD.encode([0; 32]),
        "x".repeat(70_000)
    );
    assert!(matches!(
        SignedCheckpoint::parse(huge.as_bytes()),
        Err(Error::NoteTooLarge { limit: 65536, .. })
    ));
}

#[test]
fn signer_names_are_checked() {
    let key = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).expect("scalar");
    assert!(matches!(
        EcdsaP256Signer::new("has space", key),
        Err(Error::InvalidKeyName { name }) if name == "has space"
    ));
}
