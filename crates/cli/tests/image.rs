//! `vouch image …` end to end: the binary against a real registry and peer tools.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{ok, vouch};

use std::process::Command;

use vouch_testkit::{RegistryServer, require_tool, run, umoci_image};

#[test]
fn inspect_and_copy_through_a_registry_match_skopeo() {
    require_tool("skopeo");
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(dir.path(), "v1", &[&[("etc/os-release", b"ID=e2e\n")]]);
    let src = format!("oci:{}:v1", layout.display());
    let dst = format!("{}/e2e/app:v1", registry.host);

    let copied: serde_json::Value =
        serde_json::from_str(&ok(&["image", "copy", &src, &dst, "-o", "json"])).unwrap();
    let digest = copied["digest"].as_str().unwrap().to_owned();
    assert_eq!(copied["blobsCopied"], 2);

    let raw = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{dst}")));
    assert_eq!(
        vouch_oci::Digest::sha256(raw.as_bytes()).to_string(),
        digest
    );

    let info: serde_json::Value =
        serde_json::from_str(&ok(&["image", "inspect", &dst, "-o", "json"])).unwrap();
    assert_eq!(info["digest"], digest.as_str());
    assert_eq!(
        info["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(info["layers"].as_array().unwrap().len(), 1);
    assert_eq!(info["config"]["entrypoint"][0], "/bin/app");

    // The table form says the same things to a person.
    let table = ok(&["image", "inspect", &dst]);
    assert!(table.contains(&digest), "{table}");
    assert!(table.contains("Layers:       1"), "{table}");

    // By digest works too, and --raw prints the exact manifest bytes.
    let by_digest = format!("{}/e2e/app@{digest}", registry.host);
    assert_eq!(ok(&["image", "inspect", "--raw", &by_digest]), raw);
    assert_eq!(ok(&["image", "tags", &dst]), "v1\n");

    // --quiet copy prints only the digest.
    let again = ok(&[
        "-q",
        "image",
        "copy",
        &dst,
        &format!("oci:{}:back", dir.path().join("back").display()),
    ]);
    assert_eq!(again.trim(), digest);
}

#[test]
fn errors_are_one_line_with_exit_code_1() {
    let registry = RegistryServer::start();
    let missing = format!("{}/nothing/here:v9", registry.host);
    let out = vouch(&["image", "inspect", &missing]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("nothing/here:v9") && err.contains("MANIFEST_UNKNOWN")
            || err.contains("NAME_UNKNOWN"),
        "{err}"
    );

    let out = vouch(&["image", "inspect", "Upper/Case"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("must be lowercase"), "{err}");

    let out = vouch(&["image", "copy", "oci:/definitely/not/here", "oci:/tmp/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("oci-layout")
    );

    let out = vouch(&["image", "copy", "nginx", "docker-archive:/tmp/out.tar"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not supported")
    );

    // Usage errors are clap's exit code 2.
    assert_eq!(vouch(&["image", "inspect"]).status.code(), Some(2));
    assert_eq!(
        vouch(&["image", "copy", "a", "b", "--jobs", "0"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn registry_auth_file_is_honoured() {
    let registry = RegistryServer::start_with(vouch_testkit::RegistryAuth::Htpasswd {
        user: "u".into(),
        password: "p".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(dir.path(), "a", &[&[("x", b"x")]]);
    let dst = format!("{}/auth/app:a", registry.host);
    let src = format!("oci:{}:a", layout.display());
    let denied = vouch(&["image", "copy", &src, &dst]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("denied"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );

    let auth = dir.path().join("auth.json");
    std::fs::write(
        &auth,
        format!(
            r#"{{"auths":{{"{}":{{"username":"u","password":"p"}}}}}}"#,
            registry.host
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["image", "copy", &src, &dst])
        .env("REGISTRY_AUTH_FILE", &auth)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["image", "--help"],
        &["image", "inspect", "--help"],
        &["image", "copy", "--help"],
        &["image", "tags", "--help"],
    ] {
        let out = ok(args);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    assert!(ok(&["--help"]).contains("Exit codes:"));
    assert!(ok(&["image", "copy", "--help"]).contains("docker-archive:FILE"));
}
