#![allow(missing_docs)]
//! The suite against SQLite, plus SQLite-specific checks.
use crate::common;

use vouch_tlog::{SqliteStorage, Storage};

#[test]
fn suite_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    common::suite::run(&|| Box::new(SqliteStorage::open(&path).expect("open")) as Box<dyn Storage>);
}

#[test]
fn open_rejects_unknown_urls() {
    assert!(vouch_tlog::storage::open("mysql://x").is_err());
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("a.db").display());
    assert_eq!(
        vouch_tlog::storage::open(&url)
            .expect("open")
            .size()
            .expect("size"),
        0
    );
}

/// A log keyed with Ed25519 signs its checkpoints the Rekor v1 way (key name = host, SPKI key
/// hint); `vouch_sign`'s verifier, which tries the Rekor v2 form (key name = origin, C2SP hint)
/// first for Ed25519 keys, accepts them end to end: SET, checkpoint, inclusion proof, body.
#[test]
fn ed25519_log_bundles_verify_with_vouch_sign() {
    use vouch_sign::bundle::Bundle;
    use vouch_sign::trust_root::{TransparencyLog, Validity};
    use vouch_sign::{Artifact, KeyAlgorithm, SignerPolicy, TrustedRoot, Verifier};
    use vouch_tlog::{Limits, LogKey};

    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open(dir.path().join("log.db")).expect("open");
    let log_key = LogKey::generate(KeyAlgorithm::Ed25519, "ed25519.tlog.test").expect("key");
    let server = common::TestServer::start(Box::new(storage), log_key, Limits::default());
    let public = server.log.key().public_key().clone();
    let trust = |key: vouch_sign::VerifyingKey| TrustedRoot {
        tlogs: vec![TransparencyLog {
            base_url: server.url.clone(),
            log_id: server.log.key().log_id().to_vec(),
            key_details: "PKIX_ED25519".into(),
            key: Some(key),
            valid_for: Validity::default(),
        }],
        ..TrustedRoot::default()
    };

    let signer = common::key();
    let policy = SignerPolicy::Key(signer.public_key());
    let client = server.client();
    // A few entries so that the proof has hashes.
    for i in 0..5u8 {
        client
            .upload(&common::hashedrekord(&signer, &[b'x', i]))
            .expect("upload");
    }
    let artifact = b"ed25519-logged artifact";
    let (_, entry) = client
        .upload(&common::hashedrekord(&signer, artifact))
        .expect("upload");
    let tlog_entry = entry.to_tlog_entry().expect("tlog entry");
    let checkpoint = tlog_entry
        .inclusion_proof
        .as_ref()
        .and_then(|p| p.checkpoint.clone())
        .expect("checkpoint");
    assert!(
        checkpoint.contains("\n\u{2014} ed25519.tlog.test "),
        "v1 key name: {checkpoint}"
    );
    vouch_tlog::verify_entry(&tlog_entry, &public).expect("the log's own client verifies");

    let mut bundle = common::sign_blob(&signer, artifact);
    bundle.tlog_entries.push(tlog_entry);
    let bundle =
        Bundle::from_json(&bundle.to_json(), &vouch_sign::Limits::default()).expect("reparse");
    let verified = Verifier::new(trust(public))
        .verify_blob(Artifact::Bytes(artifact), &bundle, &policy)
        .expect("vouch-sign verifies an Ed25519 vouch log's entry");
    let evidence = verified.evidence().tlog.as_ref().expect("tlog evidence");
    assert!(evidence.inclusion_proof_verified && evidence.integrated_time.is_some());
    assert!(verified.evidence().checks.contains(&"inclusion proof"));

    // Another Ed25519 key in the trusted root: the checkpoint (and SET) no longer verify.
    let other = vouch_sign::SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let err = Verifier::new(trust(other.public_key()))
        .verify_blob(Artifact::Bytes(artifact), &bundle, &policy)
        .expect_err("a different log key must fail");
    assert!(
        matches!(err, vouch_sign::Error::InclusionProof { .. }),
        "{err:?}"
    );
}
