//! `hashivault://` keys: what vouch refuses before and without a Vault server (missing
//! address or token, a clear-text address to a remote host, an address nobody answers on,
//! malformed key names). The round trip against a real Vault/OpenBao dev server waits for a
//! server binary the tests can build (see issue 21).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{text, vouch_cmd};

use std::process::Output;

use vouch_testkit::free_port;

/// `vouch ARGS` with exactly the Vault variables given (none from the machine).
fn vouch_with(vars: &[(&str, &str)], home: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = vouch_cmd(args);
    for name in [
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "BAO_ADDR",
        "BAO_TOKEN",
        "VAULT_NAMESPACE",
        "VAULT_CACERT",
        "TRANSIT_SECRET_ENGINE_PATH",
    ] {
        cmd.env_remove(name);
    }
    // No ~/.vault-token from the developer's machine.
    cmd.env("HOME", home);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn fails(vars: &[(&str, &str)], home: &std::path::Path, args: &[&str]) -> String {
    let out = vouch_with(vars, home, args);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "vouch {args:?}:\n{said}");
    said
}

#[test]
fn refused_without_a_usable_vault() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let blob = dir.path().join("f");
    std::fs::write(&blob, b"x").unwrap();
    let blob = blob.display().to_string();
    let bundle = dir.path().join("f.bundle").display().to_string();
    let sign = [
        "sign-blob",
        blob.as_str(),
        "--key",
        "hashivault://release",
        "--bundle",
        &bundle,
    ];

    let said = fails(&[], home, &sign);
    assert!(said.contains("VAULT_ADDR"), "{said}");
    let said = fails(&[("VAULT_ADDR", "http://127.0.0.1:8200")], home, &sign);
    assert!(said.contains("VAULT_TOKEN"), "{said}");
    // The token would travel in clear text to a remote host: refused before any request.
    let said = fails(
        &[
            ("VAULT_ADDR", "http://vault.example:8200"),
            ("VAULT_TOKEN", "t"),
        ],
        home,
        &sign,
    );
    assert!(said.contains("clear text"), "{said}");
    // ~/.vault-token (the Vault CLI's token helper file) is read, then nobody answers.
    std::fs::write(home.join(".vault-token"), "s.token\n").unwrap();
    let addr = format!("http://127.0.0.1:{}", free_port());
    let said = fails(&[("VAULT_ADDR", &addr)], home, &sign);
    assert!(said.contains("Vault transit"), "{said}");
    assert!(said.contains(&addr), "{said}");
    assert!(!std::path::Path::new(&bundle).exists());

    // generate-key-pair fails the same way, writing nothing.
    let prefix = dir.path().join("k").display().to_string();
    let said = fails(
        &[],
        home,
        &[
            "generate-key-pair",
            "--kms",
            "hashivault://release",
            "--output-key-prefix",
            &prefix,
        ],
    );
    assert!(said.contains("VAULT_ADDR"), "{said}");
    assert!(!std::path::Path::new(&format!("{prefix}.pub")).exists());

    // Key names follow cosign's grammar; anything else is named malformed, not a path.
    for bad in ["hashivault://", "hashivault://a/b", "openbao://-x"] {
        let said = fails(&[], home, &["sign-blob", &blob, "--key", bad]);
        assert!(
            said.contains("malformed hashivault:// reference"),
            "{bad}: {said}"
        );
    }
}
