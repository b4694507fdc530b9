//! DSSE interop with securesystemslib (Python, secure-systems-lab), an independent
//! implementation: it verifies envelopes vouch signs, and vouch verifies one it signs.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Command;

use vouch_sign::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use vouch_sign::intoto::{PREDICATE_SPDX, Statement, Subject};
use vouch_sign::{KeyAlgorithm, SigningKey, VerifyingKey};
use vouch_testkit::{run, venv_tool};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/dsse_securesystemslib.py")
}

fn python(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(venv_tool("python"))
        .arg(script())
        .args(args)
        .output()
        .expect("run python")
}

fn statement() -> Vec<u8> {
    Statement::new(
        vec![Subject::sha256("app", "ab".repeat(32))],
        PREDICATE_SPDX,
        serde_json::json!({"spdxVersion": "SPDX-2.3", "name": "app"}),
    )
    .to_json()
}

#[test]
fn securesystemslib_verifies_vouch_envelopes_and_refuses_tampered_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
        let key = SigningKey::generate(algorithm).expect("key");
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement(), &key).expect("sign");
        let env_path = dir.path().join("envelope.json");
        let pem_path = dir.path().join("key.pub");
        std::fs::write(&env_path, envelope.to_json()).expect("write");
        std::fs::write(&pem_path, key.public_key().to_pem()).expect("write");
        let out = python(&[
            "verify".as_ref(),
            env_path.as_os_str(),
            pem_path.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{algorithm:?}: securesystemslib refused vouch's envelope: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        // One byte of payload changed: the oracle must refuse it too.
        let mut tampered = envelope.clone();
        tampered.payload[10] ^= 1;
        std::fs::write(&env_path, tampered.to_json()).expect("write");
        let out = python(&[
            "verify".as_ref(),
            env_path.as_os_str(),
            pem_path.as_os_str(),
        ]);
        assert!(
            !out.status.success(),
            "{algorithm:?}: tampered envelope accepted"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("VerificationError"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn vouch_verifies_securesystemslib_envelopes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = dir.path().join("statement.json");
    std::fs::write(&payload, statement()).expect("write");
    let env_path = dir.path().join("envelope.json");
    let pem_path = dir.path().join("key.pub");
    run(Command::new(venv_tool("python"))
        .arg(script())
        .arg("sign")
        .args([&payload, &env_path, &pem_path]));

    let envelope = Envelope::from_json(&std::fs::read(&env_path).expect("read")).expect("parse");
    let key =
        VerifyingKey::from_pem(&std::fs::read_to_string(&pem_path).expect("read")).expect("pem");
    assert_eq!(envelope.payload_type, IN_TOTO_PAYLOAD_TYPE);
    assert_eq!(envelope.payload, statement());
    envelope
        .verify(&key)
        .expect("vouch verifies securesystemslib's envelope");
    let parsed = Statement::from_json(&envelope.payload).expect("statement");
    assert!(parsed.has_subject_digest("sha256", &"ab".repeat(32)));

    // Another key, or a changed payload type, must not verify.
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256)
        .expect("key")
        .public_key();
    assert!(envelope.verify(&other).is_err());
    let mut retyped = envelope;
    retyped.payload_type = "application/json".into();
    assert!(retyped.verify(&key).is_err());
}
