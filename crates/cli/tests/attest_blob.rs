//! `vouch attest-blob` and `vouch sign-blob --in-toto`: DSSE in-toto bundles about files, that
//! `verify-blob` verifies against the file (and refuses for any other file or a changed
//! statement).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{fails_with, keypair, ok};
use serde_json::{Value, json};

#[test]
fn attest_blob_signs_a_statement_about_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair(dir.path(), "k");
    let file = dir.path().join("app.whl");
    std::fs::write(&file, b"wheel bytes\n").unwrap();
    let predicate = dir.path().join("provenance.json");
    std::fs::write(
        &predicate,
        br#"{"buildDefinition":{"buildType":"https://example/b"}}"#,
    )
    .unwrap();
    let bundle = dir.path().join("app.whl.sigstore.json");
    let (f, b) = (file.to_str().unwrap(), bundle.to_str().unwrap());
    ok(&[
        "attest-blob",
        f,
        "--predicate",
        predicate.to_str().unwrap(),
        "--type",
        "slsaprovenance1",
        "--key",
        &key,
        "--bundle",
        b,
    ]);
    let written: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let envelope = &written["dsseEnvelope"];
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let statement: Value =
        serde_json::from_slice(&B64.decode(envelope["payload"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(
        statement["subject"],
        json!([{"name": "app.whl", "digest": {"sha256": vouch_oci::Digest::sha256(b"wheel bytes\n").hex()}}])
    );
    assert_eq!(
        statement["predicate"]["buildDefinition"]["buildType"],
        "https://example/b"
    );

    let report: Value = serde_json::from_str(&ok(&[
        "verify-blob",
        f,
        "--bundle",
        b,
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(
        report["payload"]["predicateType"],
        "https://slsa.dev/provenance/v1"
    );

    // Another file: not a subject of the statement.
    let other = dir.path().join("other.whl");
    std::fs::write(&other, b"other bytes\n").unwrap();
    let said = fails_with(
        3,
        &[
            "verify-blob",
            other.to_str().unwrap(),
            "--bundle",
            b,
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert!(said.contains("FAILED  subject digest"), "{said}");

    // The statement changed under the signature.
    let mut tampered = written.clone();
    let mut changed = statement;
    changed["predicateType"] = json!("https://example/other");
    tampered["dsseEnvelope"]["payload"] = json!(B64.encode(serde_json::to_vec(&changed).unwrap()));
    let tampered_path = dir.path().join("tampered.sigstore.json");
    std::fs::write(&tampered_path, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let said = fails_with(
        3,
        &[
            "verify-blob",
            f,
            "--bundle",
            tampered_path.to_str().unwrap(),
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert!(said.contains("FAILED  "), "{said}");
}

#[test]
fn sign_blob_in_toto_signs_the_given_statement() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair(dir.path(), "k");
    let file = dir.path().join("release.tar");
    std::fs::write(&file, b"release bytes\n").unwrap();
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "release.tar", "digest": {"sha256": vouch_oci::Digest::sha256(b"release bytes\n").hex()}}],
        "predicateType": "https://example/predicate",
        "predicate": {"k": "v"},
    });
    let statement_path = dir.path().join("statement.json");
    std::fs::write(&statement_path, serde_json::to_vec(&statement).unwrap()).unwrap();
    let bundle = dir.path().join("release.tar.sigstore.json");
    let b = bundle.to_str().unwrap();
    ok(&[
        "sign-blob",
        "--in-toto",
        statement_path.to_str().unwrap(),
        "--key",
        &key,
        "--bundle",
        b,
    ]);
    let written: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let signed: Value = serde_json::from_slice(
        &B64.decode(written["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(signed, statement);
    let table = ok(&[
        "verify-blob",
        file.to_str().unwrap(),
        "--bundle",
        b,
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    assert!(table.starts_with("Verified OK"), "{table}");

    // Not a statement: refused before signing.
    let said = fails_with(
        1,
        &[
            "sign-blob",
            "--in-toto",
            file.to_str().unwrap(),
            "--key",
            &key,
            "--bundle",
            b,
        ],
    );
    assert!(said.contains("not an in-toto statement"), "{said}");
}
