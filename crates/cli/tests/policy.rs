//! `vouch policy apply` end to end: the seed's scenario (a Kyverno ClusterPolicy requiring a
//! signature and an SPDX SBOM attestation for images under a registry prefix, mutateDigest,
//! Enforce) against images pushed to a real docker-registry, signed and attested by `vouch`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use vouch_testkit::{RegistryServer, free_port, umoci_image};

const PASSWORD: &str = "correct horse";

fn vouch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .env("DOCKER_CONFIG", "/nonexistent")
        .env_remove("VOUCH_REGISTRY_CREDS")
        .env_remove("VOUCH_PASSWORD")
        .env("COSIGN_PASSWORD", PASSWORD)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(args: &[&str]) -> String {
    let out = vouch(args);
    assert!(
        out.status.success(),
        "vouch {args:?} failed: {}",
        text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn keypair(dir: &Path, name: &str) -> (String, String) {
    let prefix = dir.join(name);
    ok(&[
        "generate-key-pair",
        "--output-key-prefix",
        prefix.to_str().unwrap(),
    ]);
    (
        format!("{}.key", prefix.display()),
        format!("{}.pub", prefix.display()),
    )
}

/// Pushes a one-file image to `host/repo:tag`; returns the reference and digest.
fn push(host: &str, dir: &Path, repo: &str, tag: &str) -> (String, String) {
    let layout = umoci_image(dir, tag, &[&[("etc/app.conf", repo.as_bytes())]]);
    let reference = format!("{host}/{repo}:{tag}");
    let copied: Value = serde_json::from_str(&ok(&[
        "image",
        "copy",
        &format!("oci:{}:{tag}", layout.display()),
        &reference,
        "-o",
        "json",
    ]))
    .unwrap();
    (reference, copied["digest"].as_str().unwrap().to_owned())
}

/// The seed-shaped policy with the registry prefix and the public key filled in.
fn seed_policy(dir: &Path, host: &str, public_pem: &str) -> PathBuf {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy/tests/data/seed/policy.yaml"),
    )
    .unwrap();
    let mut out = String::new();
    for line in template.lines() {
        if line.trim() == "PUBLIC_KEY" {
            let indent = &line[..line.len() - line.trim_start().len()];
            for pem_line in public_pem.trim().lines() {
                out.push_str(indent);
                out.push_str(pem_line);
                out.push('\n');
            }
        } else {
            out.push_str(&line.replace("REGISTRY", host));
            out.push('\n');
        }
    }
    let path = dir.join("policy.yaml");
    std::fs::write(&path, out).unwrap();
    path
}

fn pod(name: &str, image: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  containers:\n  - {{name: app, image: \"{image}\"}}\n"
    )
}

/// (resource name, rule, status, message) of every result.
fn results(report: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for r in report["resources"].as_array().unwrap() {
        for res in r["results"].as_array().unwrap() {
            out.push((
                r["name"].as_str().unwrap().to_owned(),
                res["rule"].as_str().unwrap().to_owned(),
                res["status"].as_str().unwrap().to_owned(),
                res["message"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[test]
fn seed_scenario_admits_signed_and_attested_and_refuses_the_rest() {
    let registry = RegistryServer::start();
    let host = registry.host.clone();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, public) = keypair(d, "cosign");
    let (other_key, _) = keypair(d, "other");
    let sbom = d.join("sbom.spdx.json");
    std::fs::write(
        &sbom,
        r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[{"name":"busybox","SPDXID":"SPDXRef-p"}]}"#,
    )
    .unwrap();
    let sign = |image: &str, key: &str| ok(&["sign", image, "--key", key]);
    let attest = |image: &str, key: &str| {
        ok(&[
            "attest",
            image,
            "--key",
            key,
            "--type",
            "spdxjson",
            "--predicate",
            sbom.to_str().unwrap(),
        ])
    };
    let (signed, signed_digest) = push(&host, d, "acme/api", "v1");
    sign(&signed, &key);
    attest(&signed, &key);
    let (unsigned, _) = push(&host, d, "acme/unsigned", "v1");
    let (nosbom, _) = push(&host, d, "acme/nosbom", "v1");
    sign(&nosbom, &key);
    let (wrong, _) = push(&host, d, "acme/wrongkey", "v1");
    sign(&wrong, &other_key);
    attest(&wrong, &other_key);

    let policy = seed_policy(d, &host, &std::fs::read_to_string(&public).unwrap());
    let pods = d.join("pods.yaml");
    let deployment = format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\nspec:\n  template:\n    spec:\n      containers:\n      - {{name: a, image: \"{signed}\"}}\n"
    );
    std::fs::write(
        &pods,
        [
            pod("signed", &signed),
            pod("unsigned", &unsigned),
            pod("nosbom", &nosbom),
            pod("wrongkey", &wrong),
            pod("sandbox", &format!("{host}/acme/sandbox/x:1")),
            deployment,
        ]
        .concat(),
    )
    .unwrap();
    let mutated = d.join("mutated.yaml");
    let args = [
        "policy",
        "apply",
        policy.to_str().unwrap(),
        "--resource",
        pods.to_str().unwrap(),
        "--mutated",
        mutated.to_str().unwrap(),
    ];
    let out = vouch(&[&args[..], &["-o", "json"]].concat());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = results(&report);
    let status = |name: &str| {
        got.iter()
            .find(|r| r.0 == name)
            .map(|r| (r.1.as_str(), r.2.as_str(), r.3.as_str()))
            .unwrap()
    };
    assert_eq!(
        status("signed"),
        (
            "verify-signature-and-sbom",
            "pass",
            &*format!("verified image signatures for {signed}")
        )
    );
    assert_eq!(status("web").0, "autogen-verify-signature-and-sbom");
    assert_eq!(status("web").1, "pass");
    let (_, s, m) = status("unsigned");
    assert_eq!(s, "fail");
    assert!(
        m.starts_with(&format!(
            "failed to verify image {unsigned}: .attestors[0].entries[0].keys:"
        )),
        "{m}"
    );
    let (_, s, m) = status("nosbom");
    assert_eq!(s, "fail");
    assert!(
        m.contains("attestations not found for predicate type https://spdx.dev/Document"),
        "{m}"
    );
    let (_, s, m) = status("wrongkey");
    assert_eq!(s, "fail");
    assert!(m.contains(".attestors[0].entries[0].keys:"), "{m}");
    assert_eq!(status("sandbox").1, "skip");
    assert_eq!(report["summary"]["pass"], 2);
    assert_eq!(report["summary"]["fail"], 3);

    // --mutated: the verified tag is pinned to its digest, keeping the tag; others unchanged.
    let written = std::fs::read_to_string(&mutated).unwrap();
    assert!(
        written.contains(&format!("{signed}@{signed_digest}")),
        "{written}"
    );
    assert!(
        written.contains(&format!("image: {unsigned}\n")),
        "{written}"
    );
    assert_eq!(
        written.matches(&format!("@{signed_digest}")).count(),
        2,
        "{written}"
    );

    // Table output: per-rule lines and kyverno's summary line; exit 0 when only the signed pod.
    let table = text(&vouch(&args));
    assert!(
        table.contains("Applying 1 policy rule(s) to 6 resource(s)..."),
        "{table}"
    );
    assert!(
        table.contains("\npass: 2, fail: 3, warn: 0, error: 0, skip: 1 \n"),
        "{table}"
    );
    std::fs::write(&pods, pod("signed", &signed)).unwrap();
    let out = ok(&[
        "policy",
        "apply",
        policy.to_str().unwrap(),
        "-r",
        pods.to_str().unwrap(),
    ]);
    assert!(
        out.contains("pass: 1, fail: 0, warn: 0, error: 0, skip: 0 "),
        "{out}"
    );

    // Registry down: an error (not a pass), and the command still answers.
    let dead = format!("127.0.0.1:{}", free_port());
    let dead_policy = seed_policy(
        &d.join("."),
        &dead,
        &std::fs::read_to_string(&public).unwrap(),
    );
    std::fs::write(&pods, pod("gone", &format!("{dead}/acme/api:v1"))).unwrap();
    let out = vouch(&[
        "policy",
        "apply",
        dead_policy.to_str().unwrap(),
        "-r",
        pods.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results(&report)[0].2, "error", "{report}");
}

#[test]
fn invalid_policy_is_rejected_with_its_field_path() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.yaml");
    std::fs::write(
        &policy,
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    verifyImages:\n    - imageReferences: ['*']\n",
    )
    .unwrap();
    let pods = dir.path().join("pods.yaml");
    std::fs::write(&pods, pod("a", "nginx")).unwrap();
    let out = vouch(&[
        "policy",
        "apply",
        policy.to_str().unwrap(),
        "-r",
        pods.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("spec.rules[0].verifyImages[0].mutateDigest: mutateDigest must be set to false for 'Audit' failure action"), "{t}");
}
