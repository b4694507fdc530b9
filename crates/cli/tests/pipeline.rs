//! `vouch build`, `vouch pipeline` and `vouch demo` end to end: the binary against a real
//! docker-registry, then the pipeline broken four ways (a vulnerable package above the
//! threshold, an image tampered with after signing, a missing SBOM attestation, a signature
//! from another identity), each failing at the stage that should catch it.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{ok, text, vouch};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use vouch_testkit::{RegistryServer, require_tool, run};

/// A run expected to end with exit 3; returns stdout + stderr.
fn verdict(args: &[&str]) -> (Output, String) {
    let out = vouch(args);
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(3),
        "vouch {args:?} should exit 3:\n{t}"
    );
    (out, t)
}

/// `vouch policy apply` refusing: kyverno's exit 1; returns stdout + stderr.
fn refused(args: &[&str]) -> (Output, String) {
    let out = vouch(args);
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "vouch {args:?} should exit 1:\n{t}"
    );
    (out, t)
}

struct Fixture {
    dir: tempfile::TempDir,
    registry: RegistryServer,
}

impl Fixture {
    fn new() -> Self {
        let f = Self {
            dir: tempfile::tempdir().unwrap(),
            registry: RegistryServer::start(),
        };
        for name in ["alice", "mallory"] {
            let prefix = f.path(name);
            ok(&[
                "generate-key-pair",
                "--output-key-prefix",
                prefix.to_str().unwrap(),
            ]);
        }
        // The bundled advisories (crates/pipeline/data/advisories, PyPA, CC-BY-4.0).
        let adv = f.path("advisories");
        std::fs::create_dir_all(&adv).unwrap();
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/data/advisories");
        for e in std::fs::read_dir(&data).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                std::fs::copy(&p, adv.join(p.file_name().unwrap())).unwrap();
            }
        }
        f.app("app", "2.0.6");
        f.app("app-vulnerable", "2.0.5");
        f
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    /// A root filesystem with a Python program and urllib3 `version` installed.
    fn app(&self, name: &str, version: &str) {
        let root = self.path(name);
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(root.join("app/main.py"), format!("print('{name}')\n")).unwrap();
        let meta = root.join(format!(
            "usr/lib/python3/dist-packages/urllib3-{version}.dist-info"
        ));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: urllib3\nVersion: {version}\n"),
        )
        .unwrap();
    }

    fn image(&self, repo: &str) -> String {
        format!("{}/acme/{repo}:v1", self.registry.host)
    }

    /// A Kyverno policy requiring a signature and an SPDX attestation by `signer`'s key for
    /// images under the test registry, and a pod running `image`.
    fn policy_and_pod(&self, signer: &str, image: &str) -> (String, String) {
        let pem = std::fs::read_to_string(self.path(&format!("{signer}.pub"))).unwrap();
        let key = |indent: &str| {
            pem.trim()
                .lines()
                .map(|l| format!("{indent}{l}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let policy = format!(
            r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-signed-image-and-sbom
spec:
  rules:
  - name: verify
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - failureAction: Enforce
      type: SigstoreBundle
      imageReferences: ["{host}/acme/*"]
      mutateDigest: true
      attestors:
      - entries:
        - keys:
            publicKeys: |-
{k1}
            rekor: {{ignoreTlog: true}}
      attestations:
      - type: https://spdx.dev/Document
        attestors:
        - entries:
          - keys:
              publicKeys: |-
{k2}
              rekor: {{ignoreTlog: true}}
"#,
            host = self.registry.host,
            k1 = key("              "),
            k2 = key("                "),
        );
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: app, namespace: prod}}\nspec:\n  containers:\n  - name: app\n    image: {image}\n"
        );
        let p = self.path(&format!("policy-{signer}.yaml"));
        std::fs::write(&p, policy).unwrap();
        let r = self.path(&format!("pod-{}.yaml", image.replace(['/', ':'], "_")));
        std::fs::write(&r, pod).unwrap();
        (p.display().to_string(), r.display().to_string())
    }

    /// `vouch pipeline` building `app_dir` into `image`, signed by `signer`.
    fn pipeline(&self, image: &str, app_dir: &str, signer: &str, extra: &[&str]) -> Output {
        let out = self.s(&format!("out-{}", image.replace(['/', ':'], "_")));
        let key = self.s(&format!("{signer}.key"));
        let add = format!("{}:/", self.s(app_dir));
        let adv = self.s("advisories");
        let mut args = vec![
            "pipeline",
            image,
            "--add",
            &add,
            "--advisories",
            &adv,
            "--fail-on",
            "high",
            "--key",
            &key,
            "--out",
            &out,
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        vouch(&args)
    }
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(out)))
}

fn stage_status(report: &Value, stage: &str) -> String {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == stage)
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no stage {stage} in {report}"))
}

#[test]
fn pipeline_passes_then_breaks_four_ways() {
    let f = Fixture::new();
    let image = f.image("app");
    let (policy, pod) = f.policy_and_pod("alice", &image);

    // 1. Every stage passes; the admission check pins the pod to the digest.
    let out = f.pipeline(
        &image,
        "app",
        "alice",
        &["--policy", &policy, "--resource", &pod],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = report(&out);
    let stages: Vec<&str> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "build",
            "sbom",
            "scan",
            "sign",
            "attest-sbom",
            "attest-provenance",
            "verify",
            "policy"
        ]
    );
    for s in r["stages"].as_array().unwrap() {
        assert_eq!(s["status"], "passed", "{s}");
    }
    let digest = r["digest"].as_str().unwrap().to_owned();
    assert_eq!(r["vulnerabilities"][0]["id"], "PYSEC-2023-212");
    assert_eq!(r["vulnerabilities"][0]["severity"], "medium");
    assert_eq!(r["packages"][0]["ecosystem"], "pypi");
    assert_eq!(r["admission"][0]["admitted"], true);
    assert_eq!(r["admission"][0]["pinned"][0], format!("{image}@{digest}"));
    let outdir = f.path(&format!("out-{}", image.replace(['/', ':'], "_")));
    for a in [
        "sbom.spdx.json",
        "sbom.cdx.json",
        "scan.json",
        "scan.sarif",
        "provenance.json",
        "report.json",
    ] {
        assert!(outdir.join(a).is_file(), "{a} missing");
    }
    // The by-hand check agrees (the same verifier, through `vouch verify`).
    let alice_pub = f.s("alice.pub");
    ok(&[
        "verify",
        &format!("{}/acme/app@{digest}", f.registry.host),
        "--insecure-ignore-tlog",
        "--key",
        &alice_pub,
    ]);
    // skopeo reads the image the pipeline built.
    require_tool("skopeo");
    let inspect = run(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]));
    let v: Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v["Digest"], digest);

    // 2. A vulnerable package above the threshold: the scan stage fails and is named; nothing
    //    is signed.
    let vimage = f.image("vulnerable");
    let out = f.pipeline(&vimage, "app-vulnerable", "alice", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("failed at stage `scan`"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("PYSEC-2023-192"), "{}", text(&out));
    let r = report(&out);
    assert_eq!(r["failedStage"], "scan");
    assert_eq!(stage_status(&r, "sign"), "skipped");
    verdict(&[
        "verify",
        &vimage,
        "--insecure-ignore-tlog",
        "--key",
        &alice_pub,
    ]);

    // 3. The image is tampered with after signing: another image pushed under the signed tag.
    //    The deploy-side run (verify only) and the admission check both refuse it.
    std::fs::write(f.path("app/app/main.py"), "print('backdoor')\n").unwrap();
    ok(&[
        "build",
        "--add",
        &format!("{}:/", f.s("app")),
        "--push",
        &image,
    ]);
    let (out, t) = verdict(&[
        "pipeline",
        &image,
        "--verify-only",
        "--verify-key",
        &alice_pub,
        "-o",
        "json",
        "--out",
        &f.s("out-tampered"),
    ]);
    assert!(t.contains("failed at stage `verify`"), "{t}");
    assert_eq!(report(&out)["failedStage"], "verify");
    let (_, t) = refused(&["policy", "apply", &policy, "-r", &pod]);
    assert!(t.contains("fail"), "{t}");
    // The original digest still verifies: only the tag moved.
    ok(&[
        "verify",
        &format!("{}/acme/app@{digest}", f.registry.host),
        "--insecure-ignore-tlog",
        "--key",
        &alice_pub,
    ]);

    // 4. A missing SBOM attestation: signed, never attested. Verification of the signature
    //    passes; the admission policy (which requires the SPDX attestation) refuses.
    let bare = f.image("bare");
    ok(&[
        "build",
        "--add",
        &format!("{}:/", f.s("app")),
        "--push",
        &bare,
    ]);
    ok(&["sign", &bare, "--key", &f.s("alice.key")]);
    ok(&[
        "verify",
        &bare,
        "--insecure-ignore-tlog",
        "--key",
        &alice_pub,
    ]);
    let (_, bare_pod) = f.policy_and_pod("alice", &bare);
    let (_, t) = refused(&["policy", "apply", &policy, "-r", &bare_pod]);
    assert!(
        t.contains("https://spdx.dev/Document") || t.contains("attestation"),
        "{t}"
    );
    let (out, t) = verdict(&[
        "pipeline",
        &bare,
        "--verify-only",
        "--verify-key",
        &alice_pub,
        "-o",
        "json",
        "--policy",
        &policy,
        "--resource",
        &bare_pod,
        "--out",
        &f.s("out-bare"),
    ]);
    assert!(t.contains("https://spdx.dev/Document"), "{t}");
    assert_eq!(report(&out)["failedStage"], "verify");

    // 5. A signature from another identity: mallory signs and attests, the pipeline expects
    //    alice: verify fails; alice's admission policy refuses.
    let mimage = f.image("mallory");
    let out = f.pipeline(&mimage, "app", "mallory", &["--verify-key", &alice_pub]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r = report(&out);
    assert_eq!(r["failedStage"], "verify", "{r}");
    assert_eq!(stage_status(&r, "sign"), "passed");
    let (_, mallory_pod) = f.policy_and_pod("alice", &mimage);
    refused(&["policy", "apply", &policy, "-r", &mallory_pod]);
    // ...while mallory's own key verifies it (the refusal is about identity, not damage).
    ok(&[
        "verify",
        &mimage,
        "--insecure-ignore-tlog",
        "--key",
        &f.s("mallory.pub"),
    ]);
}

/// A Kyverno policy requiring a keyless signature and SPDX attestation by `email` from
/// `issuer`.
fn keyless_policy(f: &Fixture, email: &str, issuer: &str, log: &str) -> String {
    let entry = |pad: &str| {
        format!(
            "{pad}- keyless:\n{pad}    subject: \"{email}\"\n{pad}    issuer: \"{issuer}\"\n{pad}    rekor:\n{pad}      url: \"{log}\""
        )
    };
    let policy = format!(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-keyless-signature-and-sbom
spec:
  rules:
  - name: verify
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - failureAction: Enforce
      type: SigstoreBundle
      imageReferences: ["{host}/acme/*"]
      attestors:
      - entries:
{e1}
      attestations:
      - type: https://spdx.dev/Document
        attestors:
        - entries:
{e2}
"#,
        host = f.registry.host,
        e1 = entry("        "),
        e2 = entry("          "),
    );
    let p = f.path(&format!("policy-keyless-{email}.yaml"));
    std::fs::write(&p, policy).unwrap();
    p.display().to_string()
}

#[test]
fn keyless_pipeline_against_a_private_instance() {
    let f = Fixture::new();
    let running = vouch_instance::Instance::start(
        f.path("instance"),
        &vouch_instance::StartOptions::default(),
    )
    .unwrap();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let trust_config = running.trust_config_path().display().to_string();
    let trusted_root = running.trusted_root_path().display().to_string();
    let policy = keyless_policy(&f, &email, &issuer, running.log_url());
    let image = f.image("keyless");
    let (_, pod) = f.policy_and_pod("alice", &image);
    let adv = f.s("advisories");
    let add = format!("{}:/", f.s("app"));
    let pipeline = |image: &str, token: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "pipeline",
            image,
            "--add",
            &add,
            "--advisories",
            &adv,
            "--fail-on",
            "high",
            "--keyless",
            "--trust-config",
            &trust_config,
            "--identity-token",
            token,
            "--certificate-identity",
            &email,
            "--certificate-oidc-issuer",
            &issuer,
            "--out",
            out,
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        vouch(&args)
    };

    // Signed as the instance's dev identity, verified against it, admitted, logged.
    let token = running.token().unwrap();
    let html = f.s("keyless.html");
    let out = pipeline(
        &image,
        &token,
        &f.s("out-keyless"),
        &["--policy", &policy, "--resource", &pod, "--report", &html],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = report(&out);
    assert_eq!(r["failedStage"], Value::Null);
    assert_eq!(r["signer"], format!("{email} ({issuer})"));
    assert_eq!(r["logEntries"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(r["admission"][0]["admitted"], true);
    // The by-hand check: `vouch verify` with the identity and the instance's trusted root.
    ok(&[
        "verify",
        &image,
        "--certificate-identity",
        &email,
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &trusted_root,
    ]);
    assert!(std::fs::read_to_string(&html).unwrap().contains(&email));

    // Air gap (docs/air-gapped.md): the image by digest and its signatures' referrers tag
    // (`sha256-<hex>`, the tag-schema index docker-registry needs) go through an OCI layout
    // into another registry, where the same identity still verifies, offline.
    let digest = r["digest"].as_str().unwrap().to_owned();
    let tag = digest.replace(':', "-");
    let repo = format!("{}/acme/keyless", f.registry.host);
    let gap = f.s("airgap");
    ok(&[
        "image",
        "copy",
        &format!("{repo}@{digest}"),
        &format!("oci:{gap}:app"),
    ]);
    ok(&[
        "image",
        "copy",
        &format!("{repo}:{tag}"),
        &format!("oci:{gap}:{tag}"),
    ]);
    let mirror = vouch_testkit::RegistryServer::start();
    let mirrored = format!("{}/mirror/app", mirror.host);
    ok(&[
        "image",
        "copy",
        &format!("oci:{gap}:app"),
        &format!("{mirrored}:v1"),
    ]);
    ok(&[
        "image",
        "copy",
        &format!("oci:{gap}:{tag}"),
        &format!("{mirrored}:{tag}"),
    ]);
    ok(&[
        "verify",
        &format!("{mirrored}@{digest}"),
        "--certificate-identity",
        &email,
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &trusted_root,
    ]);
    ok(&[
        "verify-attestation",
        &format!("{mirrored}@{digest}"),
        "--type",
        "spdxjson",
        "--certificate-identity",
        &email,
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &trusted_root,
    ]);

    // A signature from another identity: mallory's token, same CA and log. Verification
    // against the expected identity fails, and the admission policy refuses the image.
    let mallory = running
        .token_for(&vouch_ca::dev_oidc::TokenRequest {
            subject: Some("mallory".into()),
            email: Some("mallory@evil.invalid".into()),
            audience: None,
        })
        .unwrap();
    let mimage = f.image("keyless-mallory");
    let out = pipeline(&mimage, &mallory, &f.s("out-keyless-mallory"), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let r = report(&out);
    assert_eq!(r["failedStage"], "verify", "{r}");
    assert_eq!(r["signer"], format!("mallory@evil.invalid ({issuer})"));
    let (_, mpod) = f.policy_and_pod("alice", &mimage);
    let (_, t) = refused(&[
        "policy",
        "apply",
        &policy,
        "-r",
        &mpod,
        "--trusted-root",
        &trusted_root,
    ]);
    assert!(t.contains("fail"), "{t}");
    running.stop();
}

#[test]
fn build_is_reproducible_and_writes_provenance() {
    let f = Fixture::new();
    let a = f.s("out-a");
    let b = f.s("out-b");
    let add = format!("{}:/", f.s("app"));
    let prov = f.s("prov.json");
    let one: Value = serde_json::from_str(&ok(&[
        "build",
        "--add",
        &add,
        "--cmd",
        r#"["python3","/app/main.py"]"#,
        "--env",
        "A=1",
        "--push",
        &format!("oci:{a}:v1"),
        "--provenance",
        &prov,
        "-o",
        "json",
    ]))
    .unwrap();
    let two: Value = serde_json::from_str(&ok(&[
        "build",
        "--add",
        &add,
        "--cmd",
        r#"["python3","/app/main.py"]"#,
        "--env",
        "A=1",
        "--push",
        &format!("oci:{b}:v1"),
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(one["digest"], two["digest"]);
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&prov).unwrap()).unwrap();
    assert_eq!(p["buildDefinition"]["externalParameters"]["env"][0], "A=1");
    // The layout copies to the registry with skopeo, digest unchanged.
    require_tool("skopeo");
    run(Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{a}:v1"),
        &format!("docker://{}/acme/copied:v1", f.registry.host),
    ]));
    let inspect: Value = serde_json::from_str(&run(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/acme/copied:v1", f.registry.host),
    ])))
    .unwrap();
    assert_eq!(inspect["Digest"], one["digest"]);
}

#[test]
fn demo_runs_every_stage_with_nothing_else_running() {
    let work = tempfile::tempdir().unwrap();
    let html = work.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["demo", "--work"])
        .arg(work.path().join("w"))
        .arg("--report")
        .arg(&html)
        .current_dir(work.path())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for stage in [
        "build",
        "sbom",
        "scan",
        "sign",
        "attest-sbom",
        "attest-provenance",
        "verify",
        "policy",
    ] {
        assert!(
            t.lines()
                .any(|l| l.contains('✓') && l.contains(&format!(" {stage} "))),
            "stage {stage} not passing:\n{t}"
        );
    }
    assert!(t.contains("✓ admitted pod/signed-app"), "{t}");
    assert!(t.contains("✗ refused  pod/unsigned-app"), "{t}");
    assert!(t.contains("1 medium"), "{t}");
    assert!(html.is_file());
    // Issue 15: the demo signs as the seed's GitHub Actions identity (a GitHub-shaped RS256
    // token for acme/api) and its policy is the seed's `subject: https://github.com/acme/*`.
    let policy = std::fs::read_to_string(work.path().join("w/policy.yaml")).unwrap();
    assert!(
        policy.contains("subject: \"https://github.com/acme/*\"")
            && policy.contains("/github-actions\""),
        "{policy}"
    );
    assert!(!policy.contains('@'), "no e-mail identity left:\n{policy}");

    // `vouch pipeline` with no image and no vouch.toml is the same embedded default.
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .arg("pipeline")
        .current_dir(work.path())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("embedded default"), "{t}");
    assert!(t.contains("✓ admitted pod/signed-app"), "{t}");
}
