//! `vouch policy apply` end to end: the seed's scenario (a Kyverno ClusterPolicy requiring a
//! signature and an SPDX SBOM attestation for images under a registry prefix, mutateDigest,
//! Enforce) against images pushed to a real docker-registry, signed and attested by `vouch`.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{keypair, ok, text, vouch};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use vouch_testkit::{RegistryServer, free_port, umoci_image};

/// Pushes a one-file image to `host/repo:tag`; returns the reference and digest.
fn push(host: &str, dir: &Path, repo: &str, tag: &str) -> (String, String) {
    std::fs::create_dir_all(dir).unwrap();
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
/// `vouch policy apply POLICY -r PODS EXTRA... -o json`, expected to exit `code`; its report.
/// `vouch policy apply ... -o json`, expecting exit `code` (kyverno's: 1 when a rule failed).
fn apply_json(code: i32, policy: &Path, pods: &Path, extra: &[&str]) -> Value {
    let base = [
        "policy",
        "apply",
        policy.to_str().unwrap(),
        "-r",
        pods.to_str().unwrap(),
    ];
    let out = vouch(&[&base[..], extra, &["-o", "json"]].concat());
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

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

/// What the key-signed scenarios share: a registry, two key pairs (`cosign`, `other`) and an
/// SPDX SBOM to attest.
struct KeySigned {
    registry: RegistryServer,
    dir: tempfile::TempDir,
    key: String,
    public: String,
    other_key: String,
    sbom: PathBuf,
}

impl KeySigned {
    fn new() -> Self {
        let registry = RegistryServer::start();
        let dir = tempfile::tempdir().unwrap();
        let (key, public) = keypair(dir.path(), "cosign");
        let (other_key, _) = keypair(dir.path(), "other");
        let sbom = dir.path().join("sbom.spdx.json");
        std::fs::write(
            &sbom,
            r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[{"name":"busybox","SPDXID":"SPDXRef-p"}]}"#,
        )
        .unwrap();
        Self {
            registry,
            dir,
            key,
            public,
            other_key,
            sbom,
        }
    }

    /// Signs in cosign 2's tag, what the seed policy's `type: Cosign` reads.
    fn sign(&self, image: &str, key: &str) -> String {
        ok(&["sign", image, "--key", key, "--signature-format", "legacy"])
    }

    fn attest(&self, image: &str, key: &str) -> String {
        let predicate = self.sbom.to_str().unwrap();
        ok(&[
            "attest",
            image,
            "--key",
            key,
            "--type",
            "spdxjson",
            "--predicate",
            predicate,
            "--signature-format",
            "legacy",
        ])
    }
}

#[test]
fn seed_scenario_admits_signed_and_attested_and_refuses_the_rest() {
    let f = KeySigned::new();
    let (host, d) = (f.registry.host.clone(), f.dir.path());
    let (key, public, other_key) = (f.key.clone(), f.public.clone(), f.other_key.clone());
    let sign = |image: &str, key: &str| f.sign(image, key);
    let attest = |image: &str, key: &str| f.attest(image, key);
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
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
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
    let report = apply_json(1, &dead_policy, &pods, &[]);
    assert_eq!(results(&report)[0].2, "error", "{report}");
}

/// `verifyImages[].type` decides where signatures and attestations are read, as in Kyverno
/// (`pkg/engine/internal/imageverifier.go`, `pkg/cosign/cosign.go`): `Cosign` reads only
/// cosign's `sha256-<hex>.sig` / `.att` tags, `SigstoreBundle` only bundles stored as OCI
/// referrers. An image signed and attested only the other way is refused, and an image whose
/// signature is in one scheme and attestation in the other satisfies neither type.
#[test]
fn verification_type_reads_only_its_own_storage_scheme() {
    let f = KeySigned::new();
    let (host, d) = (f.registry.host.clone(), f.dir.path());
    let predicate = f.sbom.to_str().unwrap();
    let sign = |image: &str, format: &str| {
        ok(&["sign", image, "--key", &f.key, "--signature-format", format]);
    };
    let attest = |image: &str, format: &str| {
        ok(&[
            "attest",
            image,
            "--key",
            &f.key,
            "--type",
            "spdxjson",
            "--predicate",
            predicate,
            "--signature-format",
            format,
        ]);
    };
    let (legacy, _) = push(&host, d, "acme/legacy", "v1");
    sign(&legacy, "legacy");
    attest(&legacy, "legacy");
    let (bundle, _) = push(&host, d, "acme/bundle", "v1");
    sign(&bundle, "bundle");
    attest(&bundle, "bundle");
    // Signature in the legacy tag, attestation as a referrer bundle.
    let (mixed, _) = push(&host, d, "acme/mixed", "v1");
    sign(&mixed, "legacy");
    attest(&mixed, "bundle");
    // Signature as a referrer bundle, attestation in the legacy tag.
    let (crossed, _) = push(&host, d, "acme/crossed", "v1");
    sign(&crossed, "bundle");
    attest(&crossed, "legacy");
    let pods = d.join("pods.yaml");
    std::fs::write(
        &pods,
        [
            pod("legacy", &legacy),
            pod("bundle", &bundle),
            pod("mixed", &mixed),
            pod("crossed", &crossed),
        ]
        .concat(),
    )
    .unwrap();
    let seed = seed_policy(d, &host, &std::fs::read_to_string(&f.public).unwrap());
    let seed = std::fs::read_to_string(seed).unwrap();
    assert!(seed.contains("      type: Cosign\n"), "{seed}");
    for (verification_type, reads, ignores) in [
        ("Cosign", "legacy", "bundle"),
        ("SigstoreBundle", "bundle", "legacy"),
    ] {
        let policy = d.join(format!("policy-{verification_type}.yaml"));
        std::fs::write(
            &policy,
            seed.replace(
                "      type: Cosign\n",
                &format!("      type: {verification_type}\n"),
            ),
        )
        .unwrap();
        let report = apply_json(1, &policy, &pods, &[]);
        let got = results(&report);
        let status = |name: &str| {
            got.iter()
                .find(|r| r.0 == name)
                .map(|r| (r.2.clone(), r.3.clone()))
                .unwrap_or_else(|| panic!("{name}: {got:?}"))
        };
        let (s, m) = status(reads);
        assert_eq!(s, "pass", "{verification_type} {reads}: {m}");
        // Nothing stored the other way counts: the signature is not found.
        let (s, m) = status(ignores);
        assert_eq!(s, "fail", "{verification_type} {ignores}: {m}");
        assert!(
            m.contains(".attestors[0].entries[0].keys:"),
            "{verification_type} {ignores}: {m}"
        );
        // A signature in the scheme read, an attestation only in the other: the SBOM is not
        // found (Cosign reads `mixed`'s signature; SigstoreBundle reads `crossed`'s).
        let (half, other) = if verification_type == "Cosign" {
            ("mixed", "crossed")
        } else {
            ("crossed", "mixed")
        };
        let (s, m) = status(half);
        assert_eq!(s, "fail", "{verification_type} {half}: {m}");
        assert!(
            m.contains("attestations not found for predicate type https://spdx.dev/Document"),
            "{verification_type} {half}: {m}"
        );
        let (s, m) = status(other);
        assert_eq!(s, "fail", "{verification_type} {other}: {m}");
        assert!(
            m.contains(".attestors[0].entries[0].keys:"),
            "{verification_type} {other}: {m}"
        );
        assert_eq!(report["summary"]["pass"], 1, "{verification_type}");
        assert_eq!(report["summary"]["fail"], 3, "{verification_type}");
    }
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

// ---------------------------------------------------------------------------------------
// `vouch admission serve` over real HTTPS, with AdmissionReviews as the API server sends them.

struct Webhook {
    child: std::process::Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Webhook {
    fn start(dir: &Path, policy: &Path, extra: &[&str]) -> Self {
        use std::io::BufRead as _;
        let (ca, cert, key) = common::serving_cert(dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args(["admission", "serve", "--policy"])
            .arg(policy)
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(["--listen", "127.0.0.1:0", "--print-address", "-q"])
            .args(extra)
            .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
            .env("DOCKER_CONFIG", "/nonexistent")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(!line.trim().is_empty(), "webhook did not start");
        let pem = std::fs::read(&ca).unwrap();
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        let agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            )
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .new_agent();
        Self {
            child,
            base: format!("https://{}", line.trim()),
            agent,
        }
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let mut resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn get(&self, path: &str) -> String {
        self.agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }
}

/// A review from crates/admission/tests/data/reviews with the images filled in.
fn review(name: &str, image: &str, init_image: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../admission/tests/data/reviews")
            .join(name),
    )
    .unwrap()
    .replace("INIT_IMAGE", init_image)
    .replace("IMAGE", image)
}

/// The response's JSONPatch applied to the review's object.
fn patched(review_json: &str, response: &Value) -> Value {
    use base64::Engine as _;
    let mut object: Value =
        serde_json::from_str::<Value>(review_json).unwrap()["request"]["object"].clone();
    assert_eq!(response["patchType"], "JSONPatch", "{response}");
    let ops = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&ops).unwrap();
    json_patch::patch(&mut object, &patch).unwrap();
    object
}

#[test]
fn admission_webhook_over_https() {
    let f = KeySigned::new();
    let (host, d) = (f.registry.host.clone(), f.dir.path());
    let (key, public, other_key) = (f.key.clone(), f.public.clone(), f.other_key.clone());
    let sign = |image: &str, key: &str| f.sign(image, key);
    let attest = |image: &str, key: &str| f.attest(image, key);
    let (signed, digest) = push(&host, &d.join("a"), "acme/api", "v1");
    sign(&signed, &key);
    attest(&signed, &key);
    let (unsigned, unsigned_digest) = push(&host, &d.join("b"), "acme/unsigned", "v1");
    let (nosbom, _) = push(&host, &d.join("c"), "acme/nosbom", "v1");
    sign(&nosbom, &key);
    let (wrong, _) = push(&host, &d.join("e"), "acme/wrongkey", "v1");
    sign(&wrong, &other_key);
    attest(&wrong, &other_key);
    let public_pem = std::fs::read_to_string(&public).unwrap();
    let policy = seed_policy(d, &host, &public_pem);
    let hook = Webhook::start(d, &policy, &[]);
    let pinned = format!("{signed}@{digest}");

    // Pod, signed and attested: admitted; the patch pins the tag to the verified digest.
    let pod = review("pod-create.json", &signed, "");
    let (status, body) = hook.post("/mutate?timeout=10s", &pod);
    assert_eq!(status, 200);
    let r = &body["response"];
    assert_eq!(r["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(r["allowed"], true, "{body}");
    let object = patched(&pod, r);
    assert_eq!(object["spec"]["containers"][0]["image"], pinned.as_str());
    // The pinned object (what the validating webhook sees after the mutating one) is
    // admitted by both endpoints and needs no further patch.
    let repinned = pod.replace(&signed, &pinned);
    for path in ["/mutate", "/validate"] {
        let (_, body) = hook.post(path, &repinned);
        assert_eq!(body["response"]["allowed"], true, "{body}");
        assert!(body["response"]["patch"].is_null(), "{body}");
    }
    // verifyDigest (default true) in /validate: a tag that reached it unpinned is refused.
    let (_, body) = hook.post("/validate", &pod);
    assert_eq!(body["response"]["allowed"], false, "{body}");
    let m = body["response"]["status"]["message"].as_str().unwrap();
    assert!(
        m.contains(&format!(
            "verify-signature-and-sbom: missing digest for {signed}"
        )),
        "{m}"
    );

    // Deployment (init container and container) and CronJob (a dry run): both pinned.
    let deploy = review("deployment-create.json", &signed, &signed);
    let (_, body) = hook.post("/mutate", &deploy);
    assert_eq!(body["response"]["allowed"], true, "{body}");
    let object = patched(&deploy, &body["response"]);
    let spec = &object["spec"]["template"]["spec"];
    assert_eq!(spec["containers"][0]["image"], pinned.as_str());
    assert_eq!(spec["initContainers"][0]["image"], pinned.as_str());
    let cron = review("cronjob-create.json", &signed, "");
    let (_, body) = hook.post("/mutate", &cron);
    assert_eq!(body["response"]["allowed"], true, "{body}");
    let object = patched(&cron, &body["response"]);
    assert_eq!(
        object["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
        pinned.as_str()
    );

    // Refusals name the resource, policy, rule, image and failed check.
    let denied = |path: &str, review_json: &str| {
        let (status, body) = hook.post(path, review_json);
        assert_eq!(status, 200);
        let r = &body["response"];
        assert_eq!(r["allowed"], false, "{body}");
        assert_eq!(r["status"]["code"], 403);
        assert!(r["patch"].is_null());
        r["status"]["message"].as_str().unwrap().to_owned()
    };
    let m = denied("/mutate", &review("pod-create.json", &unsigned, ""));
    assert!(
        m.contains("resource Pod/shop/api was blocked due to the following policies"),
        "{m}"
    );
    assert!(m.contains("require-signed-image-and-sbom:"), "{m}");
    assert!(
        m.contains(&format!(
            "verify-signature-and-sbom: failed to verify image {unsigned}: .attestors[0].entries[0].keys:"
        )),
        "{m}"
    );
    // required (default true) in /validate: pinned but unsigned is refused all the same.
    let unsigned_pinned = format!("{unsigned}@{unsigned_digest}");
    let m = denied(
        "/validate",
        &review("pod-create.json", &unsigned_pinned, ""),
    );
    assert!(
        m.contains(&format!(
            "verify-signature-and-sbom: failed to verify image {unsigned_pinned}: .attestors[0].entries[0].keys:"
        )),
        "{m}"
    );
    let m = denied("/mutate", &review("pod-create.json", &nosbom, ""));
    assert!(
        m.contains("attestations not found for predicate type https://spdx.dev/Document"),
        "{m}"
    );
    let m = denied("/mutate", &review("pod-create.json", &wrong, ""));
    assert!(
        m.contains(&format!("failed to verify image {wrong}")),
        "{m}"
    );
    let m = denied(
        "/mutate",
        &review("deployment-create.json", &signed, &unsigned),
    );
    assert!(m.contains("Deployment/shop/web"), "{m}");
    assert!(m.contains("autogen-verify-signature-and-sbom:"), "{m}");
    assert!(m.contains(&unsigned), "{m}");

    // A DELETE (no object) and a ConfigMap are admitted without looking at anything.
    let delete = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "d1", "operation": "DELETE", "object": null, "namespace": "shop", "name": "api"}});
    let (_, body) = hook.post("/validate", &delete.to_string());
    assert_eq!(body["response"]["allowed"], true, "{body}");

    // The tag moves to an unsigned image: the cache is by digest, so it is verified again
    // and refused, never pinned to the new digest.
    std::fs::create_dir_all(d.join("moved")).unwrap();
    let layout = umoci_image(&d.join("moved"), "v1", &[&[("etc/app.conf", b"other")]]);
    ok(&[
        "image",
        "copy",
        &format!("oci:{}:v1", layout.display()),
        &signed,
    ]);
    let m = denied("/mutate", &pod);
    assert!(
        m.contains(&format!("failed to verify image {signed}")),
        "{m}"
    );

    // Metrics: requests counted, cache hits from the repeated images.
    let metrics = hook.get("/metrics");
    assert!(
        metrics
            .contains("vouch_admission_requests_total{endpoint=\"mutate\",verdict=\"allowed\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vouch_admission_dry_runs_total 1"),
        "{metrics}"
    );
    let hits: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vouch_admission_cache_hits_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(hits > 0, "{metrics}");
    assert_eq!(hook.get("/healthz"), "ok\n");

    // Malformed reviews: 400 without a uid, a denial naming the problem with one.
    let (status, body) = hook.post("/validate", "{not json");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("malformed AdmissionReview")
    );
    let (status, body) = hook.post(
        "/validate",
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"m1","object":"pod"}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(body["response"]["uid"], "m1");
    assert_eq!(body["response"]["allowed"], false);
    assert!(
        body["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("request.object is not an object")
    );
    // Oversized body: refused with 413 before it is read whole (the server may close the
    // connection while the client is still sending; either way no 200, no hang).
    let big = format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"big","pad":"{}"}}}}"#,
        "x".repeat(4 << 20)
    );
    match hook
        .agent
        .post(format!("{}/validate", hook.base))
        .header("Content-Type", "application/json")
        .send(&big)
    {
        Ok(resp) => assert_eq!(resp.status().as_u16(), 413),
        Err(e) => assert!(matches!(e, ureq::Error::Io(_)), "{e}"),
    }
    let (status, _) = hook.post("/validate", &big[..(3 << 20) + 10]);
    assert_eq!(status, 413);
    // Still serving.
    assert_eq!(hook.get("/healthz"), "ok\n");
}

#[test]
fn cluster_image_policy_end_to_end() {
    let registry = RegistryServer::start();
    let host = registry.host.clone();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, public) = keypair(d, "cosign");
    let sbom = d.join("sbom.spdx.json");
    std::fs::write(&sbom, r#"{"spdxVersion":"SPDX-2.3","packages":[]}"#).unwrap();
    let (signed, digest) = push(&host, &d.join("a"), "acme/api", "v1");
    // Cosign 2's tags: what the seed policy's `type: Cosign` reads.
    let legacy = ["--signature-format", "legacy"];
    ok(&[&["sign", &signed, "--key", &key][..], &legacy].concat());
    ok(&[
        "attest",
        &signed,
        "--key",
        &key,
        "--type",
        "spdxjson",
        "--predicate",
        sbom.to_str().unwrap(),
        "--signature-format",
        "legacy",
    ]);
    let (nosbom, _) = push(&host, &d.join("b"), "acme/nosbom", "v1");
    ok(&[&["sign", &nosbom, "--key", &key][..], &legacy].concat());
    let (unsigned, _) = push(&host, &d.join("c"), "acme/unsigned", "v1");
    let pem: String = std::fs::read_to_string(&public)
        .unwrap()
        .lines()
        .map(|l| format!("          {l}\n"))
        .collect();
    let cip = |mode: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: signed-with-sbom}}\nspec:\n  mode: {mode}\n  images:\n  - glob: \"{host}/acme/**\"\n  authorities:\n  - name: sbom\n    key:\n      data: |\n{pem}    attestations:\n    - name: spdx\n      predicateType: spdxjson\n"
        )
    };
    let policy = d.join("cip.yaml");
    std::fs::write(&policy, cip("enforce")).unwrap();
    let pods = d.join("pods.yaml");
    std::fs::write(
        &pods,
        [
            pod("signed", &signed),
            pod("nosbom", &nosbom),
            pod("unsigned", &unsigned),
            pod("other", "nginx:1.27"),
        ]
        .concat(),
    )
    .unwrap();
    let mutated = d.join("mutated.yaml");
    let report = apply_json(1, &policy, &pods, &["--mutated", mutated.to_str().unwrap()]);
    let got = results(&report);
    let find = |name: &str, rule: &str| {
        got.iter()
            .find(|r| r.0 == name && r.1 == rule)
            .map(|r| (r.2.clone(), r.3.clone()))
            .unwrap_or_else(|| panic!("{name} {rule}: {got:?}"))
    };
    assert_eq!(find("signed", "authorities").0, "pass");
    let (s, m) = find("nosbom", "authorities");
    assert_eq!(s, "fail");
    assert!(
        m.contains("no matching attestations with type https://spdx.dev/Document for attestation spdx for authority sbom"),
        "{m}"
    );
    assert_eq!(find("unsigned", "authorities").0, "fail");
    // nginx matches no ClusterImagePolicy: policy-controller's default denies it.
    let (s, m) = find("other", "no-match");
    assert_eq!(
        (s.as_str(), m.as_str()),
        ("fail", "no matching policies: nginx:1.27")
    );
    let written = std::fs::read_to_string(&mutated).unwrap();
    assert!(written.contains(&format!("{signed}@{digest}")), "{written}");

    // mode: warn over the webhook: admitted with a warning naming the failed check.
    std::fs::write(&policy, cip("warn")).unwrap();
    let hook = Webhook::start(d, &policy, &["--no-match-policy", "allow"]);
    let (_, body) = hook.post("/validate", &review("pod-create.json", &nosbom, ""));
    let r = &body["response"];
    assert_eq!(r["allowed"], true, "{body}");
    let warning = r["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("signed-with-sbom/authorities: failed policy: signed-with-sbom:"),
        "{warning}"
    );
    let (_, body) = hook.post("/validate", &review("pod-create.json", "nginx:1.27", ""));
    assert_eq!(body["response"]["allowed"], true, "{body}");
    assert!(body["response"]["warnings"].is_null(), "{body}");

    // CUE policies are refused at load time, not silently passed.
    std::fs::write(
        &policy,
        cip("enforce").replace(
            "      predicateType: spdxjson\n",
            "      predicateType: spdxjson\n      policy:\n        type: cue\n        data: 'predicateType: \"https://spdx.dev/Document\"'\n",
        ),
    )
    .unwrap();
    let out = vouch(&[
        "policy",
        "apply",
        policy.to_str().unwrap(),
        "-r",
        pods.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("spec.authorities[0].attestations[0].policy: not supported: cue"),
        "{}",
        text(&out)
    );
}

/// The keyless seed policy (`policy-keyless.yaml`) for `host`, the signer `identity` (an
/// email: Kyverno's `subject` wildcard and the attestation's anchored `subjectRegExp`) at
/// `issuer`, with the instance's log URL (never contacted: entries are checked offline).
fn keyless_seed_policy(dir: &Path, host: &str, identity: &str, issuer: &str, log: &str) -> PathBuf {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy/tests/data/seed/policy-keyless.yaml"),
    )
    .unwrap();
    let regexp = format!("^{}$", regex_escape(identity)).replace('\\', "\\\\");
    let text = template
        .replace("REGISTRY", host)
        .replace("SUBJECT_REGEXP", &regexp)
        .replace("SUBJECT", identity)
        .replace("ISSUER", issuer)
        .replace("REKOR_URL", log);
    let path = dir.join("policy-keyless.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Escapes regular-expression metacharacters (the identity is an email: `.` and `+`).
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let meta = "\\.+*?()|[]{}^$".contains(c);
            meta.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

/// Issue 8's done-when, keyless: the seed's policy (keyless signature from an identity and
/// issuer, SPDX attestation, mutateDigest, Enforce) against a private instance (CA, log, dev
/// OIDC) started here and a local docker-registry, through `vouch policy apply` and through
/// the HTTPS webhook.
#[test]
fn keyless_seed_scenario_against_a_private_instance() {
    let registry = RegistryServer::start();
    let host = registry.host.clone();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = vouch_instance::Instance::start(
        d.join("instance"),
        &vouch_instance::StartOptions::default(),
    )
    .unwrap();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let trust_config = running.trust_config_path().display().to_string();
    let trusted_root = running.trusted_root_path().display().to_string();
    let token = running.token().unwrap();
    let mallory = running
        .token_for(&vouch_ca::dev_oidc::TokenRequest {
            subject: Some("mallory".into()),
            email: Some("mallory@evil.invalid".into()),
            audience: None,
        })
        .unwrap();
    let sbom = d.join("sbom.spdx.json");
    std::fs::write(
        &sbom,
        r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[{"name":"busybox","SPDXID":"SPDXRef-p"}]}"#,
    )
    .unwrap();
    let keyless = |command: &str, image: &str, token: &str, extra: &[&str]| {
        let args = [
            &[
                command,
                image,
                "--keyless",
                "--trust-config",
                &trust_config,
                "--identity-token",
                token,
                // Cosign 2's tags: what the policy's `type: Cosign` reads.
                "--signature-format",
                "legacy",
            ][..],
            extra,
        ]
        .concat();
        ok(&args)
    };
    let attest_args = ["--type", "spdxjson", "--predicate", sbom.to_str().unwrap()];
    let (signed, digest) = push(&host, &d.join("a"), "acme/api", "v1");
    keyless("sign", &signed, &token, &[]);
    keyless("attest", &signed, &token, &attest_args);
    let (unsigned, unsigned_digest) = push(&host, &d.join("b"), "acme/unsigned", "v1");
    let (nosbom, nosbom_digest) = push(&host, &d.join("c"), "acme/nosbom", "v1");
    keyless("sign", &nosbom, &token, &[]);
    let (wrong, wrong_digest) = push(&host, &d.join("e"), "acme/mallory", "v1");
    keyless("sign", &wrong, &mallory, &[]);
    keyless("attest", &wrong, &mallory, &attest_args);
    let policy = keyless_seed_policy(d, &host, &email, &issuer, running.log_url());
    let pinned = format!("{signed}@{digest}");

    // `vouch policy apply`, like `kyverno apply` on the seed's policy/test/pods.yaml.
    let pods = d.join("pods.yaml");
    std::fs::write(
        &pods,
        [
            pod("signed", &signed),
            pod("unsigned", &unsigned),
            pod("nosbom", &nosbom),
            pod("mallory", &wrong),
        ]
        .concat(),
    )
    .unwrap();
    let mutated = d.join("mutated.yaml");
    let report = apply_json(
        1,
        &policy,
        &pods,
        &[
            "--mutated",
            mutated.to_str().unwrap(),
            "--trusted-root",
            &trusted_root,
        ],
    );
    let got = results(&report);
    let status = |name: &str| {
        got.iter()
            .find(|r| r.0 == name)
            .map(|r| (r.2.clone(), r.3.clone()))
            .unwrap_or_else(|| panic!("{name}: {got:?}"))
    };
    assert_eq!(
        status("signed"),
        (
            "pass".to_owned(),
            format!("verified image signatures for {signed}")
        )
    );
    let (s, m) = status("unsigned");
    assert_eq!(s, "fail", "{m}");
    assert!(
        m.starts_with(&format!(
            "failed to verify image {unsigned}: .attestors[0].entries[0].keyless:"
        )),
        "{m}"
    );
    let (s, m) = status("nosbom");
    assert_eq!(s, "fail", "{m}");
    assert!(
        m.contains("attestations not found for predicate type https://spdx.dev/Document"),
        "{m}"
    );
    let (s, m) = status("mallory");
    assert_eq!(s, "fail", "{m}");
    assert!(
        m.starts_with(&format!(
            "failed to verify image {wrong}: .attestors[0].entries[0].keyless:"
        )),
        "{m}"
    );
    assert!(m.contains("mallory@evil.invalid"), "{m}");
    assert_eq!(report["summary"]["pass"], 1, "{report}");
    assert_eq!(report["summary"]["fail"], 3, "{report}");
    let written = std::fs::read_to_string(&mutated).unwrap();
    assert!(written.contains(&format!("image: {pinned}\n")), "{written}");
    assert!(written.contains(&format!("image: {wrong}\n")), "{written}");
    // Without the instance's trusted root nothing keyless verifies (no public-good fallback).
    let report = apply_json(1, &policy, &pods, &[]);
    assert_eq!(report["summary"]["pass"], 0, "{report}");

    // The same four through the HTTPS webhook, as the API server sends them.
    let hook = Webhook::start(d, &policy, &["--trusted-root", &trusted_root]);
    let pod_review = review("pod-create.json", &signed, "");
    let (status, body) = hook.post("/mutate?timeout=10s", &pod_review);
    assert_eq!(status, 200);
    assert_eq!(body["response"]["allowed"], true, "{body}");
    let object = patched(&pod_review, &body["response"]);
    assert_eq!(object["spec"]["containers"][0]["image"], pinned.as_str());
    // The admission names the attestor entries and the checks that decided it.
    let decided = body["response"]["auditAnnotations"]["verified-by"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    for want in [
        format!(
            "require-signed-image-and-sbom/verify-signature-and-sbom: {signed}: signature verified by .attestors[0].entries[0].keyless (signer {email} from {issuer}; checks: "
        ),
        format!(
            "{signed}: attestation https://spdx.dev/Document verified by .attestations[0].attestors[0].entries[0].keyless"
        ),
        "certificate chain".to_owned(),
    ] {
        assert!(decided.contains(&want), "{want}\n{decided}");
    }
    // The pinned pod (what the API server stores) is admitted by both endpoints, unpatched,
    // without a registry request: the digest is in the reference, the rest is cached.
    let tag_requests = |hook: &Webhook| -> u64 {
        let metrics = hook.get("/metrics");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("vouch_admission_tag_resolutions_total "))
            .unwrap_or_else(|| panic!("{metrics}"))
            .parse()
            .unwrap()
    };
    let before = tag_requests(&hook);
    assert_eq!(before, 1);
    let repinned = pod_review.replace(&signed, &pinned);
    for path in ["/mutate", "/validate"] {
        let (_, body) = hook.post(path, &repinned);
        assert_eq!(body["response"]["allowed"], true, "{body}");
        assert!(body["response"]["patch"].is_null(), "{body}");
    }
    assert_eq!(tag_requests(&hook), before);
    let deploy = review("deployment-create.json", &signed, &signed);
    let (_, body) = hook.post("/mutate", &deploy);
    assert_eq!(body["response"]["allowed"], true, "{body}");
    let object = patched(&deploy, &body["response"]);
    let spec = &object["spec"]["template"]["spec"];
    assert_eq!(spec["containers"][0]["image"], pinned.as_str());
    assert_eq!(spec["initContainers"][0]["image"], pinned.as_str());

    let denied = |path: &str, review_json: &str| {
        let (status, body) = hook.post(path, review_json);
        assert_eq!(status, 200);
        let r = &body["response"];
        assert_eq!(r["allowed"], false, "{body}");
        assert_eq!(r["status"]["code"], 403);
        assert!(r["patch"].is_null());
        r["status"]["message"].as_str().unwrap().to_owned()
    };
    // /mutate sees the tags as written; /validate sees objects after mutation, pinned (a
    // tag reaching it is refused for its missing digest), and still verifies them.
    let pin = |image: &str, digest: &str| format!("{image}@{digest}");
    for (path, unsigned, nosbom, wrong) in [
        ("/mutate", unsigned.clone(), nosbom.clone(), wrong.clone()),
        (
            "/validate",
            pin(&unsigned, &unsigned_digest),
            pin(&nosbom, &nosbom_digest),
            pin(&wrong, &wrong_digest),
        ),
    ] {
        let m = denied(path, &review("pod-create.json", &unsigned, ""));
        assert!(
            m.contains(&format!(
                "verify-signature-and-sbom: failed to verify image {unsigned}: .attestors[0].entries[0].keyless:"
            )),
            "{m}"
        );
        let m = denied(path, &review("pod-create.json", &nosbom, ""));
        assert!(
            m.contains("attestations not found for predicate type https://spdx.dev/Document"),
            "{m}"
        );
        let m = denied(path, &review("pod-create.json", &wrong, ""));
        assert!(
            m.contains(&format!("failed to verify image {wrong}"))
                && m.contains("mallory@evil.invalid"),
            "{m}"
        );
    }
    let m = denied("/validate", &pod_review);
    assert!(
        m.contains(&format!(
            "verify-signature-and-sbom: missing digest for {signed}"
        )),
        "{m}"
    );
    // A Deployment whose init container is signed by the wrong identity: refused, by name.
    let m = denied(
        "/mutate",
        &review("deployment-create.json", &signed, &wrong),
    );
    assert!(m.contains("Deployment/shop/web"), "{m}");
    assert!(m.contains("autogen-verify-signature-and-sbom:"), "{m}");
    assert!(m.contains(&wrong), "{m}");
}

/// PEM text of base64 DER (`rawBytes` of a trusted root) under `label`.
fn pem(label: &str, b64: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A private instance's trust material as a Kyverno keyless attestor carries it: `roots` (the
/// CA chains), `rekor.pubkey` and `ctlog.pubkey` (PEM), read from its trusted_root.json.
struct InlineTrust {
    roots: String,
    rekor: String,
    ctlog: Option<String>,
}

fn inline_trust(trusted_root: &Path) -> InlineTrust {
    let root: Value = serde_json::from_slice(&std::fs::read(trusted_root).unwrap()).unwrap();
    let mut roots = String::new();
    for ca in root["certificateAuthorities"].as_array().unwrap() {
        for c in ca["certChain"]["certificates"].as_array().unwrap() {
            roots.push_str(&pem("CERTIFICATE", c["rawBytes"].as_str().unwrap()));
        }
    }
    let key = |logs: &Value| {
        logs.as_array()
            .and_then(|l| l.first())
            .map(|l| pem("PUBLIC KEY", l["publicKey"]["rawBytes"].as_str().unwrap()))
    };
    InlineTrust {
        roots,
        rekor: key(&root["tlogs"]).unwrap(),
        ctlog: key(&root["ctlogs"]),
    }
}

/// A Kyverno policy whose one keyless attestor trusts exactly `trust`.
fn per_attestor_policy(dir: &Path, host: &str, trust: &InlineTrust, rekor_key: &str) -> PathBuf {
    let indent = |text: &str, n: usize| -> String {
        text.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect()
    };
    let ctlog = match &trust.ctlog {
        Some(k) => format!(
            "            ctlog:\n              pubkey: |\n{}",
            indent(k, 16)
        ),
        None => "            ctlog: {ignoreSCT: true}\n".to_owned(),
    };
    let text = format!(
        "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: private-sigstore}}
spec:
  rules:
  - name: private
    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}
    verifyImages:
    - failureAction: Enforce
      imageReferences: ['{host}/acme/*']
      mutateDigest: false
      verifyDigest: false
      attestors:
      - entries:
        - keyless:
            subject: '*'
            issuer: '*'
            roots: |
{roots}            rekor:
              url: https://rekor.private.example
              pubkey: |
{rekor}{ctlog}",
        roots = indent(&trust.roots, 14),
        rekor = indent(rekor_key, 16),
    );
    let path = dir.join(format!(
        "policy-{}.yaml",
        rekor_key.len() ^ trust.roots.len()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

/// Issue 16 item 3: each attestor verifies against exactly its own trust material. A policy
/// written for private instance A (its CA roots, its log's key, its CT log's key inline, as
/// Kyverno's documentation says) admits A's signed image with no --trusted-root at all; it
/// refuses B's signed image even when the global trusted root is B's; an attestor with A's
/// roots but B's log key refuses A's image (the log is not the one it trusts).
#[test]
fn per_attestor_trust_against_two_private_instances() {
    let registry = RegistryServer::start();
    let host = registry.host.clone();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = |name: &str| {
        vouch_instance::Instance::start(d.join(name), &vouch_instance::StartOptions::default())
            .unwrap()
    };
    let a = start("instance-a");
    let b = start("instance-b");
    let sign = |inst: &vouch_instance::RunningInstance, image: &str| {
        let trust_config = inst.trust_config_path().display().to_string();
        let token = inst.token().unwrap();
        ok(&[
            "sign",
            image,
            "--keyless",
            "--trust-config",
            &trust_config,
            "--identity-token",
            &token,
            // Cosign 2's tags: what the policy's `type: Cosign` reads.
            "--signature-format",
            "legacy",
        ]);
    };
    let (image_a, digest_a) = push(&host, &d.join("a"), "acme/by-a", "v1");
    sign(&a, &image_a);
    let (image_b, digest_b) = push(&host, &d.join("b"), "acme/by-b", "v1");
    sign(&b, &image_b);
    let pods = d.join("pods.yaml");
    std::fs::write(
        &pods,
        [
            pod("by-a", &format!("{image_a}@{digest_a}")),
            pod("by-b", &format!("{image_b}@{digest_b}")),
        ]
        .concat(),
    )
    .unwrap();
    let trust_a = inline_trust(&a.trusted_root_path());
    let trust_b = inline_trust(&b.trusted_root_path());
    let policy = per_attestor_policy(d, &host, &trust_a, &trust_a.rekor);
    let status = |report: &Value| -> Vec<(String, String, String)> {
        results(report)
            .into_iter()
            .map(|(name, _, status, message)| (name, status, message))
            .collect()
    };

    // No --trusted-root: A's image verifies against the policy's own material alone.
    let report = apply_json(1, &policy, &pods, &[]);
    let got = status(&report);
    assert_eq!(got[0].0, "by-a");
    assert_eq!(got[0].1, "pass", "{got:?}");
    assert_eq!(got[1].1, "fail", "{got:?}");
    assert!(
        got[1].2.contains(".attestors[0].entries[0].keyless:"),
        "{got:?}"
    );
    // The pass names the attestor entry and the checks that decided it.
    let evidence = &report["resources"][0]["results"][0]["evidence"][0];
    assert_eq!(evidence["attestor"], ".attestors[0].entries[0].keyless");
    assert_eq!(evidence["check"], "signature");
    assert!(
        evidence["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "certificate chain"),
        "{evidence}"
    );

    // B's trusted root as the global one does not widen the attestor's trust.
    let b_root = b.trusted_root_path().display().to_string();
    let report = apply_json(1, &policy, &pods, &["--trusted-root", &b_root]);
    let got = status(&report);
    assert_eq!(got[0].1, "pass", "{got:?}");
    assert_eq!(got[1].1, "fail", "{got:?}");

    // A's roots with B's log key: A's entry is in A's log, which this attestor does not trust.
    let mixed = per_attestor_policy(d, &host, &trust_a, &trust_b.rekor);
    let report = apply_json(
        1,
        &mixed,
        &pods,
        &[
            "--trusted-root",
            &a.trusted_root_path().display().to_string(),
        ],
    );
    let got = status(&report);
    assert_eq!(got[0].1, "fail", "{got:?}");
    assert_eq!(got[1].1, "fail", "{got:?}");

    // The same for a ClusterImagePolicy: `keyless.trustRootRef` naming a TrustRoot
    // (spec.sigstoreKeys, base64 PEM) loaded with the policy, and `keyless.ca-cert.data`.
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let ctlogs = trust_a
        .ctlog
        .as_ref()
        .map(|k| format!("    ctLogs: [{{baseURL: 'https://ct.private.example', hashAlgorithm: sha-256, publicKey: '{}'}}]\n", b64(k)))
        .unwrap_or_default();
    let insecure_sct = if trust_a.ctlog.is_some() {
        "false"
    } else {
        "true"
    };
    let cip = format!(
        "apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {{name: private-a}}
spec:
  images: [{{glob: '{host}/acme/**'}}]
  authorities:
  - name: a
    keyless:
      trustRootRef: instance-a
      insecureIgnoreSCT: {insecure_sct}
      identities: [{{issuerRegExp: '.*', subjectRegExp: '.*'}}]
---
apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata: {{name: instance-a}}
spec:
  sigstoreKeys:
    certificateAuthorities: [{{subject: {{organization: a, commonName: a}}, uri: 'https://ca.private.example', certChain: '{roots}'}}]
    tLogs: [{{baseURL: 'https://rekor.private.example', hashAlgorithm: sha-256, publicKey: '{rekor}'}}]
{ctlogs}",
        roots = b64(&trust_a.roots),
        rekor = b64(&trust_a.rekor),
    );
    let cip_path = d.join("cip-trust-root.yaml");
    std::fs::write(&cip_path, &cip).unwrap();
    for global in [None, Some(b_root.as_str())] {
        let extra: Vec<&str> = global
            .map(|g| vec!["--trusted-root", g])
            .unwrap_or_default();
        let report = apply_json(1, &cip_path, &pods, &extra);
        let got = status(&report);
        assert_eq!(got[0].1, "pass", "{global:?} {got:?}");
        assert_eq!(got[1].1, "fail", "{global:?} {got:?}");
    }
    // Without the TrustRoot the reference is refused at load, not resolved against
    // --trusted-root.
    let only_cip = d.join("cip-only.yaml");
    std::fs::write(&only_cip, cip.split("---").next().unwrap()).unwrap();
    let out = vouch(&[
        "policy",
        "apply",
        only_cip.to_str().unwrap(),
        "-r",
        pods.to_str().unwrap(),
        "--trusted-root",
        &a.trusted_root_path().display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("spec.authorities[0].keyless.trustRootRef: TrustRoot instance-a is not among the policy files"),
        "{}",
        text(&out)
    );
}

/// Issue 16 item 4 / done-when: the seed's `pods.yaml` scenario as a Kyverno CLI test
/// directory (`kyverno-test.yaml` naming the policy, the resources and each expected result),
/// run by `vouch policy test DIR`: every row Ok and exit 0; a wrong expectation is a failed
/// row (`Want fail, got pass`) and exit 3; a test input vouch cannot honour is refused.
#[test]
fn kyverno_test_directory_of_the_seed_scenario() {
    let f = KeySigned::new();
    let (host, d) = (f.registry.host.clone(), f.dir.path());
    let (signed, _) = push(&host, d, "acme/api", "v1");
    f.sign(&signed, &f.key);
    f.attest(&signed, &f.key);
    let (unsigned, _) = push(&host, d, "acme/unsigned", "v1");
    let (nosbom, _) = push(&host, d, "acme/nosbom", "v1");
    f.sign(&nosbom, &f.key);
    let suite = d.join("suite/seed");
    std::fs::create_dir_all(&suite).unwrap();
    let policy = seed_policy(&suite, &host, &std::fs::read_to_string(&f.public).unwrap());
    assert_eq!(policy, suite.join("policy.yaml"));
    let deployment = format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\nspec:\n  template:\n    spec:\n      containers:\n      - {{name: a, image: \"{signed}\"}}\n"
    );
    std::fs::write(
        suite.join("resources.yaml"),
        [
            pod("signed", &signed),
            pod("unsigned", &unsigned),
            pod("nosbom", &nosbom),
            pod("sandbox", &format!("{host}/acme/sandbox/x:1")),
            deployment,
        ]
        .concat(),
    )
    .unwrap();
    let test_yaml = |signed_result: &str| {
        format!(
            "apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata:
  name: seed
policies:
- policy.yaml
resources:
- resources.yaml
results:
- policy: require-signed-image-and-sbom
  rule: verify-signature-and-sbom
  kind: Pod
  resources: [signed]
  result: {signed_result}
- policy: require-signed-image-and-sbom
  rule: verify-signature-and-sbom
  kind: Pod
  resources: [unsigned, nosbom]
  result: fail
- policy: require-signed-image-and-sbom
  rule: verify-signature-and-sbom
  kind: Pod
  resources: [default/sandbox]
  result: skip
- policy: require-signed-image-and-sbom
  rule: autogen-verify-signature-and-sbom
  kind: Deployment
  resources: [web]
  result: pass
"
        )
    };
    std::fs::write(suite.join("kyverno-test.yaml"), test_yaml("pass")).unwrap();
    let dir = d.join("suite");
    let out = vouch(&["policy", "test", dir.to_str().unwrap()]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("Test Summary: 5 tests passed and 0 tests failed"),
        "{shown}"
    );
    assert!(shown.contains("│ ID │ POLICY"), "{shown}");
    assert!(shown.contains("Pod/default/unsigned"), "{shown}");

    std::fs::write(suite.join("kyverno-test.yaml"), test_yaml("fail")).unwrap();
    let out = vouch(&["policy", "test", dir.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["passed"], 4, "{report}");
    let row = &report["rows"][0];
    assert_eq!(row["resource"], "Pod/default/signed");
    assert_eq!(row["result"], "Fail");
    assert_eq!(row["reason"], "Want fail, got pass");

    // Inputs vouch does not evaluate are refused by name, not ignored.
    std::fs::write(
        suite.join("kyverno-test.yaml"),
        format!("{}variables: values.yaml\n", test_yaml("pass")),
    )
    .unwrap();
    let out = vouch(&["policy", "test", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("variables: not supported"),
        "{}",
        text(&out)
    );
    // A misspelled field of the test file too.
    std::fs::write(
        suite.join("kyverno-test.yaml"),
        test_yaml("pass").replace(
            "resources:\n- resources.yaml",
            "resource:\n- resources.yaml",
        ),
    )
    .unwrap();
    let out = vouch(&["policy", "test", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("resource: unknown field, did you mean resources?"),
        "{}",
        text(&out)
    );
}

/// `kyverno apply` inputs: a directory of policies, resources on standard input (`-r -`), and
/// `--policy-report` (a wgpolicyk8s.io/v1alpha2 ClusterPolicyReport). Also issue 16 item 2
/// and issue 19 item 5 end to end: the validate rule loads only with --ignore-unsupported and
/// is then reported as skip with its reason; the Pod whose container has an empty image is
/// refused under the matching verifyImages rule without any registry being contacted.
#[test]
fn apply_reads_directories_and_stdin_and_writes_a_policy_report() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let pols = dir.path().join("policies");
    std::fs::create_dir_all(pols.join("nested")).unwrap();
    std::fs::write(
        pols.join("signed.yaml"),
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: signed}\nspec:\n  rules:\n  - name: check\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    verifyImages:\n    - failureAction: Enforce\n      imageReferences: ['*']\n      attestors: [{entries: [{keyless: {subject: 'ci@acme.example', issuer: 'https://issuer.example', rekor: {url: 'https://rekor.example'}}}]}]\n",
    )
    .unwrap();
    std::fs::write(
        pols.join("nested/no-latest.yml"),
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: no-latest}\nspec:\n  rules:\n  - name: tag\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      message: baseline\n      podSecurity: {level: baseline, version: latest}\n",
    )
    .unwrap();
    std::fs::write(pols.join("README.md"), "not a manifest").unwrap();
    let stdin_pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: empty, namespace: shop}\nspec:\n  containers: [{name: app, image: ''}]\n";
    let run = |extra: &[&str]| {
        let mut args = vec!["policy", "apply", pols.to_str().unwrap(), "-r", "-"];
        args.extend_from_slice(extra);
        let mut child = common::vouch_cmd(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin_pod.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // Without --ignore-unsupported the validate rule refuses the load, naming its path.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("spec.rules[0].validate.podSecurity: not supported"),
        "{}",
        text(&out)
    );
    let out = run(&["--ignore-unsupported", "--policy-report"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let yaml = shown
        .split("POLICY REPORT:\n")
        .nth(1)
        .unwrap()
        .split_once('\n')
        .unwrap()
        .1;
    let yaml = yaml.split("vouch: exit").next().unwrap();
    let report: Value = serde_norway::from_str(yaml).unwrap();
    assert_eq!(report["apiVersion"], "wgpolicyk8s.io/v1alpha2", "{report}");
    assert_eq!(report["kind"], "ClusterPolicyReport");
    assert_eq!(report["summary"]["fail"], 1, "{report}");
    assert_eq!(report["summary"]["skip"], 1, "{report}");
    let results = report["results"].as_array().unwrap();
    let by = |policy: &str| results.iter().find(|r| r["policy"] == policy).unwrap();
    assert_eq!(by("signed")["result"], "fail");
    assert!(
        by("signed")["message"]
            .as_str()
            .unwrap()
            .contains("container \"app\" (/spec/containers/0/image) has no image"),
        "{report}"
    );
    assert_eq!(by("signed")["resources"][0]["namespace"], "shop");
    assert_eq!(by("signed")["resources"][0]["apiVersion"], "v1");
    assert_eq!(by("no-latest")["result"], "skip");
    assert!(
        by("no-latest")["message"]
            .as_str()
            .unwrap()
            .starts_with("spec.rules[0].validate.podSecurity: not supported"),
        "{report}"
    );
}

/// Issue 16 done-when: a corpus of Kyverno test directories (the Kyverno policy library's
/// pod-security, best-practices and other policies, and the Kyverno CLI's own autogen,
/// exclude and label-selector cases; see `crates/policy/tests/data/kyverno-tests/README.md`)
/// passes `vouch policy test` with every result the one Kyverno gives, on Pods and through
/// autogen on Deployments and CronJobs. A flipped expectation fails, so the run is not
/// vacuous.
#[test]
fn kyverno_corpus_passes_vouch_policy_test() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy/tests/data/kyverno-tests");
    let out = vouch(&["policy", "test", corpus.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 0);
    // The Kyverno CLI (built by scripts/peers) on the same directories: the same summary.
    let kyverno = vouch_testkit::peer_tool("kyverno");
    let peer = Command::new(&kyverno)
        .args(["test", corpus.to_str().unwrap(), "--remove-color"])
        .output()
        .unwrap();
    let peer_text = String::from_utf8_lossy(&peer.stdout).into_owned();
    assert!(
        peer.status.success(),
        "{peer_text}{}",
        String::from_utf8_lossy(&peer.stderr)
    );
    let want = format!(
        "Test Summary: {} tests passed and 0 tests failed",
        report["passed"]
    );
    assert!(
        peer_text.contains(&want),
        "vouch: {want}\nkyverno: {peer_text}"
    );
    let passed = report["passed"].as_u64().unwrap();
    assert!(passed >= 700, "{passed}");
    let rows = report["rows"].as_array().unwrap();
    let tests: std::collections::BTreeSet<_> =
        rows.iter().map(|r| r["test"].as_str().unwrap()).collect();
    assert!(tests.len() >= 40, "{}", tests.len());
    for kind in ["Pod/", "Deployment/", "CronJob/"] {
        assert!(
            rows.iter()
                .any(|r| r["resource"].as_str().unwrap().starts_with(kind)),
            "{kind}"
        );
    }
    for result in ["Ok", "Excluded"] {
        assert!(rows.iter().any(|r| r["reason"] == result), "{result}");
    }

    // One expectation flipped: that row fails, the rest still pass.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("host-namespaces");
    let src = corpus.join("kyverno-policies/pod-security__baseline__disallow-host-namespaces");
    std::fs::create_dir_all(copy.join(".kyverno-test")).unwrap();
    for f in [
        "disallow-host-namespaces.yaml",
        ".kyverno-test/resource.yaml",
    ] {
        std::fs::copy(src.join(f), copy.join(f)).unwrap();
    }
    let test = std::fs::read_to_string(src.join(".kyverno-test/kyverno-test.yaml")).unwrap();
    let flipped = test.replacen("result: fail", "result: pass", 1);
    assert_ne!(flipped, test);
    std::fs::write(copy.join(".kyverno-test/kyverno-test.yaml"), flipped).unwrap();
    let out = vouch(&["policy", "test", copy.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let peer = Command::new(&kyverno)
        .args(["test", copy.to_str().unwrap(), "--remove-color"])
        .output()
        .unwrap();
    assert!(
        !peer.status.success(),
        "kyverno test passed a flipped expectation"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["failed"].as_u64().unwrap() >= 1, "{report}");
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reason"] == "Want pass, got fail"),
        "{report}"
    );
}

/// The cells of a box-drawn table's rows (`│ a │ b │`), header first.
fn table_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| l.starts_with("│ "))
        .map(|l| {
            l.trim_matches('│')
                .split('│')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

/// Issue 16 item 4: `--table` and `--detailed-results` print kyverno's table, and the exit
/// code is kyverno's (1 when a rule failed or errored): the `validate.deny` corpus case
/// (`kyverno-tests/vouch/deny-conditions`: preconditions, operators, functions, messages
/// with variables, autogen) through vouch and through the Kyverno CLI give the same rows,
/// result and message for every rule and resource (the two JMESPath type-error texts
/// aside, which each implementation words its own way).
#[test]
fn apply_table_and_exit_code_as_kyverno() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policy/tests/data/kyverno-tests/vouch/deny-conditions");
    let policy = case.join("policy.yaml");
    let resources = case.join("resources.yaml");
    let args = [
        "policy",
        "apply",
        policy.to_str().unwrap(),
        "-r",
        resources.to_str().unwrap(),
        "--table",
        "--detailed-results",
    ];
    let out = vouch(&args);
    let mine = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let kyverno = vouch_testkit::peer_tool("kyverno");
    let peer = Command::new(&kyverno)
        .args([
            "apply",
            policy.to_str().unwrap(),
            "-r",
            resources.to_str().unwrap(),
            "--table",
            "--detailed-results",
            "--remove-color",
        ])
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&peer.stdout).into_owned();
    assert_eq!(peer.status.code(), Some(1), "{theirs}");
    let (mine_rows, their_rows) = (table_rows(&mine), table_rows(&theirs));
    assert_eq!(
        mine_rows[0],
        [
            "ID (81)", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON", "MESSAGE"
        ],
        "{mine}"
    );
    assert_eq!(mine_rows[0], their_rows[0], "{theirs}");
    // Kyverno wraps long messages onto continuation rows with an empty ID; join them back.
    let join = |rows: &[Vec<String>]| {
        let mut out: Vec<Vec<String>> = Vec::new();
        for r in &rows[1..] {
            match out.last_mut() {
                Some(last) if r[0].is_empty() => {
                    for (a, b) in last.iter_mut().zip(r) {
                        if !b.is_empty() {
                            if !a.is_empty() {
                                a.push(' ');
                            }
                            a.push_str(b);
                        }
                    }
                }
                _ => out.push(r.clone()),
            }
        }
        out.into_iter()
            .map(|r| (r[2].clone(), r[3].clone(), r[4].clone(), r[6].clone()))
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (m, t) = (join(&mine_rows), join(&their_rows));
    assert_eq!(m.len(), 81, "{mine}");
    assert_eq!(m.len(), t.len(), "{theirs}");
    let strip = |s: &std::collections::BTreeSet<(String, String, String, String)>| {
        s.iter()
            .map(|(rule, res, result, msg)| {
                let msg = if msg.contains("JMESPath query failed: Invalid type")
                    || msg.contains("JMESPath query failed: Runtime error")
                {
                    "type error".to_owned()
                } else {
                    msg.clone()
                };
                (rule.clone(), res.clone(), result.clone(), msg)
            })
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (m, t) = (strip(&m), strip(&t));
    let differ: Vec<_> = m.symmetric_difference(&t).collect();
    assert!(differ.is_empty(), "{differ:#?}");
    for result in ["Pass", "Fail", "Skip", "Error"] {
        assert!(m.iter().any(|r| r.2 == result), "{result}");
    }
    // --detailed-results needs --table.
    let out = vouch(
        &args[..5]
            .iter()
            .copied()
            .chain(["--detailed-results"])
            .collect::<Vec<_>>(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
