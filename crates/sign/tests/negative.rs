//! Every check fails closed with the error that names it: tampered copies of a good bundle,
//! wrong identities, untrusted material, and key-based bundles vouch signs itself.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use vouch_sign::intoto::{Statement, Subject};
use vouch_sign::sign::{sign_blob, sign_statement};
use vouch_sign::{
    Artifact, BlobContent, Bundle, Error, IdentityPolicy, KeyAlgorithm, Limits, Match,
    SignerPolicy, SigningKey, TrustedRoot, Verifier, VerifierOptions,
};

fn data(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn json(path: &str) -> Value {
    serde_json::from_slice(&data(path)).expect("json")
}

fn root_from(value: &Value) -> TrustedRoot {
    TrustedRoot::from_json(
        &serde_json::to_vec(value).expect("json"),
        &Limits::default(),
    )
    .expect("trusted root")
}

fn staging_root() -> Value {
    json("trust-roots/staging.trusted_root.json")
}

/// The good v0.3 bundle `bundle_v3.txt.sigstore`, as JSON to tamper with.
fn good_bundle() -> Value {
    json("sigstore-python/bundle_v3.txt.sigstore")
}

fn artifact() -> Vec<u8> {
    data("sigstore-python/bundle_v3.txt")
}

fn good_policy() -> SignerPolicy {
    SignerPolicy::Identity(IdentityPolicy::exact(
        "william@yossarian.net",
        "https://github.com/login/oauth",
    ))
}

fn verify_value(bundle: &Value, root: &Value, policy: &SignerPolicy) -> Result<(), Error> {
    let b = Bundle::from_json(
        &serde_json::to_vec(bundle).expect("json"),
        &Limits::default(),
    )?;
    Verifier::new(root_from(root))
        .verify_blob(Artifact::Bytes(&artifact()), &b, policy)
        .map(|_| ())
}

/// Flips the low bit of byte `index` of a base64 field.
fn flip_b64(value: &mut Value, index: usize) {
    let mut bytes = B64.decode(value.as_str().expect("string")).expect("base64");
    bytes[index] ^= 1;
    *value = Value::String(B64.encode(bytes));
}

fn entry(bundle: &mut Value) -> &mut Value {
    &mut bundle["verificationMaterial"]["tlogEntries"][0]
}

#[test]
fn the_untampered_bundle_verifies() {
    verify_value(&good_bundle(), &staging_root(), &good_policy()).expect("baseline verifies");
}

#[test]
fn other_artifact_or_digest_fails() {
    let b = Bundle::from_json(
        &data("sigstore-python/bundle_v3.txt.sigstore"),
        &Limits::default(),
    )
    .expect("bundle");
    let v = Verifier::new(root_from(&staging_root()));
    let err = v.verify_blob(Artifact::Bytes(b"other bytes"), &b, &good_policy());
    assert!(matches!(err, Err(Error::DigestMismatch { .. })), "{err:?}");
    let err = v.verify_blob(Artifact::Sha256([7; 32]), &b, &good_policy());
    assert!(matches!(err, Err(Error::DigestMismatch { .. })), "{err:?}");
    let digest: [u8; 32] = sha2_digest(&artifact());
    v.verify_blob(Artifact::Sha256(digest), &b, &good_policy())
        .expect("verify by digest");
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

#[test]
fn wrong_identity_issuer_or_prefix_regexp_fails() {
    let root = staging_root();
    let policy = |identity: Match, issuer: &str| {
        SignerPolicy::Identity(IdentityPolicy {
            identity,
            issuer: Match::Exact(issuer.into()),
            extensions: Vec::new(),
        })
    };
    let oauth = "https://github.com/login/oauth";
    let err = verify_value(
        &good_bundle(),
        &root,
        &policy(Match::Exact("mallory@example.com".into()), oauth),
    );
    assert!(
        matches!(err, Err(Error::IdentityMismatch { .. })),
        "{err:?}"
    );
    let err = verify_value(
        &good_bundle(),
        &root,
        &policy(
            Match::Exact("william@yossarian.net".into()),
            "https://accounts.google.com",
        ),
    );
    assert!(matches!(err, Err(Error::IssuerMismatch { .. })), "{err:?}");
    // An anchored expression that the identity only begins with does not match.
    let prefix = Match::regex(r"^william@yossarian\.ne$").expect("regex");
    let err = verify_value(&good_bundle(), &root, &policy(prefix, oauth));
    assert!(
        matches!(err, Err(Error::IdentityMismatch { .. })),
        "{err:?}"
    );
    let full = Match::regex(r"^william@yossarian\.net$").expect("regex");
    verify_value(&good_bundle(), &root, &policy(full, oauth)).expect("anchored full match");
}

#[test]
fn tampered_signature_fails() {
    let mut b = good_bundle();
    flip_b64(&mut b["messageSignature"]["signature"], 10);
    let err = verify_value(&b, &staging_root(), &good_policy());
    assert!(
        matches!(err, Err(Error::TlogBodyMismatch { field: "signature" })),
        "{err:?}"
    );
}

#[test]
fn tampered_set_fails() {
    let mut b = good_bundle();
    flip_b64(
        &mut entry(&mut b)["inclusionPromise"]["signedEntryTimestamp"],
        20,
    );
    let err = verify_value(&b, &staging_root(), &good_policy());
    assert!(
        matches!(
            err,
            Err(Error::SignatureInvalid {
                check: "signed entry timestamp"
            })
        ),
        "{err:?}"
    );
    // Moving the integrated time breaks the SET too.
    let mut b = good_bundle();
    entry(&mut b)["integratedTime"] = Value::String("1712085550".into());
    let err = verify_value(&b, &staging_root(), &good_policy());
    assert!(
        matches!(
            err,
            Err(Error::SignatureInvalid {
                check: "signed entry timestamp"
            })
        ),
        "{err:?}"
    );
}

#[test]
fn tampered_inclusion_proof_or_checkpoint_fails() {
    let mut b = good_bundle();
    flip_b64(&mut entry(&mut b)["inclusionProof"]["hashes"][3], 0);
    let err = verify_value(&b, &staging_root(), &good_policy());
    assert!(
        matches!(
            err,
            Err(Error::InclusionProof {
                check: "inclusion proof",
                ..
            })
        ),
        "{err:?}"
    );

    let mut b = good_bundle();
    let checkpoint = &mut entry(&mut b)["inclusionProof"]["checkpoint"]["envelope"];
    let text = checkpoint
        .as_str()
        .expect("text")
        .replacen("\n25901138\n", "\n25901139\n", 1);
    *checkpoint = Value::String(text);
    let err = verify_value(&b, &staging_root(), &good_policy());
    assert!(
        matches!(
            err,
            Err(Error::InclusionProof {
                check: "checkpoint signature",
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn tampered_log_body_fails() {
    let mut b = good_bundle();
    flip_b64(&mut entry(&mut b)["canonicalizedBody"], 30);
    let err = verify_value(&b, &staging_root(), &good_policy());
    assert!(err.is_err(), "{err:?}");
}

#[test]
fn untrusted_or_expired_ca_fails() {
    // The public-good CAs in place of staging's: the leaf chains to nothing trusted.
    let mut root = staging_root();
    root["certificateAuthorities"] =
        json("trust-roots/public-good.trusted_root.json")["certificateAuthorities"].clone();
    let err = verify_value(&good_bundle(), &root, &good_policy());
    assert!(
        matches!(err, Err(Error::UntrustedCertificate { .. })),
        "{err:?}"
    );

    // Staging's CAs, but their validity ends before the signing time.
    let mut root = staging_root();
    for ca in root["certificateAuthorities"].as_array_mut().expect("cas") {
        ca["validFor"]["end"] = Value::String("2024-01-01T00:00:00Z".into());
    }
    let err = verify_value(&good_bundle(), &root, &good_policy());
    assert!(
        matches!(err, Err(Error::UntrustedCertificate { .. })),
        "{err:?}"
    );
}

#[test]
fn untrusted_log_or_ct_log_fails() {
    let mut root = staging_root();
    root["tlogs"] = json("trust-roots/public-good.trusted_root.json")["tlogs"].clone();
    let err = verify_value(&good_bundle(), &root, &good_policy());
    assert!(
        matches!(err, Err(Error::UntrustedLog { at_time: false, .. })),
        "{err:?}"
    );

    let mut root = staging_root();
    for log in root["tlogs"].as_array_mut().expect("tlogs") {
        log["publicKey"]["validFor"]["end"] = Value::String("2023-01-01T00:00:00Z".into());
    }
    let err = verify_value(&good_bundle(), &root, &good_policy());
    assert!(
        matches!(err, Err(Error::UntrustedLog { at_time: true, .. })),
        "{err:?}"
    );

    let mut root = staging_root();
    root["ctlogs"] = Value::Array(Vec::new());
    let err = verify_value(&good_bundle(), &root, &good_policy());
    assert!(matches!(err, Err(Error::Sct { .. })), "{err:?}");
}

#[test]
fn key_policy_against_certificate_bundle_is_refused() {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let err = verify_value(
        &good_bundle(),
        &staging_root(),
        &SignerPolicy::Key(key.public_key()),
    );
    assert!(
        matches!(err, Err(Error::MaterialMismatch { .. })),
        "{err:?}"
    );
}

fn keyed_verifier() -> Verifier {
    let options = VerifierOptions {
        insecure_ignore_tlog: true,
        ..VerifierOptions::default()
    };
    Verifier::with_options(TrustedRoot::default(), options)
}

#[test]
fn key_signed_blob_bundles_verify_and_fail_closed() {
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ] {
        let key = SigningKey::generate(alg).expect("key");
        let bundle = sign_blob(b"artifact", &key).expect("sign");
        let json: Value = serde_json::from_slice(&bundle.to_json()).expect("json");
        assert_eq!(
            json["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(
            json["messageSignature"]["messageDigest"]["algorithm"],
            "SHA2_256"
        );
        assert!(json["verificationMaterial"]["publicKey"]["hint"].is_string());
        let reread = Bundle::from_json(&bundle.to_json(), &Limits::default()).expect("parse");
        let policy = SignerPolicy::Key(key.public_key());
        let v = keyed_verifier();
        let ok = v
            .verify_blob(Artifact::Bytes(b"artifact"), &reread, &policy)
            .expect("verifies");
        assert_eq!(ok.value(), &BlobContent::MessageSignature);

        // Replay onto another artifact.
        let err = v.verify_blob(Artifact::Bytes(b"artifacT"), &reread, &policy);
        assert!(
            matches!(err, Err(Error::DigestMismatch { .. })),
            "{alg:?}: {err:?}"
        );
        // Another key.
        let other = SigningKey::generate(alg).expect("key");
        let err = v.verify_blob(
            Artifact::Bytes(b"artifact"),
            &reread,
            &SignerPolicy::Key(other.public_key()),
        );
        assert!(
            matches!(err, Err(Error::SignatureInvalid { .. })),
            "{alg:?}: {err:?}"
        );
        // Without the insecure option the missing log entry is an error.
        let strict = Verifier::new(TrustedRoot::default());
        let err = strict.verify_blob(Artifact::Bytes(b"artifact"), &reread, &policy);
        assert!(matches!(err, Err(Error::MissingTlogEntry)), "{err:?}");
    }
}

#[test]
fn key_signed_attestations_verify_and_fail_closed() {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let digest = sha2_digest(b"image manifest");
    let statement = Statement::new(
        vec![Subject::sha256("registry.example/app", hex::encode(digest))],
        "https://spdx.dev/Document",
        serde_json::json!({"spdxVersion": "SPDX-2.3"}),
    );
    let bundle = sign_statement(&statement, &key).expect("sign");
    let policy = SignerPolicy::Key(key.public_key());
    let v = keyed_verifier();
    let verified = v
        .verify_attestation(
            &bundle,
            Some(digest),
            Some("https://spdx.dev/Document"),
            &policy,
        )
        .expect("verifies");
    assert_eq!(verified.value(), &statement);
    // verify-blob over the subject accepts the DSSE form too.
    let blob = v
        .verify_blob(Artifact::Bytes(b"image manifest"), &bundle, &policy)
        .expect("blob");
    assert!(matches!(blob.value(), BlobContent::Statement(_)));

    let err = v.verify_attestation(&bundle, Some([1; 32]), None, &policy);
    assert!(matches!(err, Err(Error::SubjectNotFound { .. })), "{err:?}");
    let err = v.verify_attestation(&bundle, None, Some("https://cyclonedx.org/bom"), &policy);
    assert!(
        matches!(err, Err(Error::PredicateTypeMismatch { .. })),
        "{err:?}"
    );

    // One byte of payload changed.
    let mut json: Value = serde_json::from_slice(&bundle.to_json()).expect("json");
    flip_b64(&mut json["dsseEnvelope"]["payload"], 5);
    let tampered = Bundle::from_json(
        &serde_json::to_vec(&json).expect("json"),
        &Limits::default(),
    )
    .expect("parse");
    let err = v.verify_attestation(&tampered, None, None, &policy);
    assert!(
        matches!(
            err,
            Err(Error::SignatureInvalid {
                check: "DSSE envelope"
            })
        ),
        "{err:?}"
    );
}

#[test]
fn oversized_inputs_are_refused() {
    let limits = Limits {
        max_bundle_bytes: 100,
        ..Limits::default()
    };
    let err = Bundle::from_json(&data("sigstore-python/bundle_v3.txt.sigstore"), &limits);
    assert!(
        matches!(err, Err(Error::TooLarge { what: "bundle", .. })),
        "{err:?}"
    );
    let err = Bundle::from_json(b"{\"mediaType\": 5", &Limits::default());
    assert!(matches!(err, Err(Error::Malformed { .. })), "{err:?}");
}
