//! `vouch db push --keyless` / `vouch db pull --certificate-identity --certificate-oidc-issuer`:
//! a vulnerability database signed through a private instance's CA and log, pulled through a
//! real registry only when it verifies by identity, issuer and trusted root.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use vouch_testkit::RegistryServer;

fn advisories(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vuln/tests/data")
        .join(rel)
        .display()
        .to_string()
}

/// `vouch ARGS` with `db` as the database.
fn vouch_db(db: &Path, args: &[&str]) -> Output {
    common::vouch_cmd(args)
        .env("VOUCH_DB", db)
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn keyless_db_push_is_pulled_only_by_the_right_identity_and_issuer() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let running =
        vouch_instance::Instance::start(dir.path().join("instance"), &Default::default()).unwrap();
    let tc = running.trust_config_path().to_str().unwrap().to_owned();
    let root = running.trusted_root_path().to_str().unwrap().to_owned();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();

    let db = dir.path().join("vuln.db");
    let out = vouch_db(
        &db,
        &[
            "db",
            "import",
            &advisories("osv-dev/records"),
            &advisories("osv-dev/nvd"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let reference = format!("{}/security/vulndb:keyless", registry.host);

    // Signed keylessly: the report names the certificate's identity and issuer.
    let pushed = stdout_json(&vouch_db(
        &db,
        &[
            "db",
            "push",
            &reference,
            "--keyless",
            "--trust-config",
            &tc,
            "-o",
            "json",
        ],
    ));
    assert_eq!(pushed["certificateIdentity"], email.as_str(), "{pushed}");
    assert_eq!(pushed["certificateOidcIssuer"], issuer.as_str(), "{pushed}");
    assert_eq!(pushed["schemaVersion"], "2");
    assert!(pushed.get("keyId").is_none(), "{pushed}");

    let pull = |to: &Path, identity: &str, issuer: &str, extra: &[&str]| {
        let mut args = vec![
            "db",
            "pull",
            &reference,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        vouch_db(to, &args)
    };

    // The right identity and issuer under the instance's root: written, the same bytes.
    let pulled = dir.path().join("pulled/vuln.db");
    let report = stdout_json(&pull(&pulled, &email, &issuer, &["--trusted-root", &root]));
    assert_eq!(report["verified"], true);
    assert_eq!(std::fs::read(&pulled).unwrap(), std::fs::read(&db).unwrap());

    // Wrong identity, wrong issuer, a key instead of an identity: refused naming the
    // check, and nothing written.
    let fresh = dir.path().join("fresh/vuln.db");
    for (identity, wrong_issuer, check) in [
        ("mallory@vouch.invalid", issuer.as_str(), "identity"),
        (
            email.as_str(),
            "https://token.actions.githubusercontent.com",
            "issuer",
        ),
    ] {
        let out = pull(&fresh, identity, wrong_issuer, &["--trust-config", &tc]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains("refusing") && text.contains(check),
            "{check}: {text}"
        );
        assert!(!fresh.exists(), "{check}");
    }
    let (_, public) = common::keypair(dir.path(), "someone");
    let out = vouch_db(
        &fresh,
        &[
            "db",
            "pull",
            &reference,
            "--key",
            &public,
            "--trusted-root",
            &root,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!fresh.exists());

    // A tampered database (one more source imported) pushed over the tag by someone
    // holding a key but not the identity: the identity pull refuses it and the database
    // already pulled stays as it was.
    let out = vouch_db(&db, &["db", "import", &advisories("osv-dev/cvelist")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (attacker_key, _) = common::keypair(dir.path(), "attacker");
    let out = vouch_db(
        &db,
        &[
            "db",
            "push",
            &reference,
            "--key",
            &attacker_key,
            "--tlog-upload=false",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let before = std::fs::read(&pulled).unwrap();
    let out = pull(&pulled, &email, &issuer, &["--trusted-root", &root]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no signature verifies"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&pulled).unwrap(), before);

    // Signed again keylessly, it verifies offline: the instance is stopped.
    let out = vouch_db(
        &db,
        &["db", "push", &reference, "--keyless", "--trust-config", &tc],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    running.stop();
    let report = stdout_json(&pull(&pulled, &email, &issuer, &["--trusted-root", &root]));
    assert_eq!(report["verified"], true);
    assert_eq!(std::fs::read(&pulled).unwrap(), std::fs::read(&db).unwrap());
}
