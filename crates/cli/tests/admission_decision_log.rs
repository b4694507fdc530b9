//! `vouch admission serve`'s decision log: one JSON line per review, over real HTTPS, against
//! images in a real docker-registry signed and attested by `vouch`, with the seed's policy.
//! The lines are parsed as JSON and their values checked: who was reviewed, which images at
//! which digests, the rule and attestor that decided, the verdict and reason; with `-v` how
//! each tag was resolved and which checks came from the cache.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{keypair, ok};

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use vouch_testkit::{RegistryServer, umoci_image};

const RULE: &str = "require-signed-image-and-sbom/verify-signature-and-sbom";

fn push(host: &str, dir: &Path, repo: &str) -> (String, String) {
    std::fs::create_dir_all(dir).unwrap();
    let layout = umoci_image(dir, "v1", &[&[("etc/app.conf", repo.as_bytes())]]);
    let reference = format!("{host}/{repo}:v1");
    let copied: Value = serde_json::from_str(&ok(&[
        "image",
        "copy",
        &format!("oci:{}:v1", layout.display()),
        &reference,
        "-o",
        "json",
    ]))
    .unwrap();
    (reference, copied["digest"].as_str().unwrap().to_owned())
}

/// The seed's policy (crates/policy/tests/data/seed) for `host` and `public_pem`.
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
                out.push_str(&format!("{indent}{pem_line}\n"));
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

struct Webhook {
    child: Child,
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
        let (ca, cert, key) = common::serving_cert(dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args(["admission", "serve", "--policy"])
            .arg(policy)
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(["--listen", "127.0.0.1:0", "--print-address"])
            .args(extra)
            .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
            .env("DOCKER_CONFIG", "/nonexistent")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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

    fn post(&self, path: &str, body: &str) -> Value {
        let mut resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    }
}

fn review(image: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../admission/tests/data/reviews/pod-create.json"),
    )
    .unwrap()
    .replace("INIT_IMAGE", "")
    .replace("IMAGE", image)
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn explain(line: &Value) -> Vec<String> {
    line["explain"]
        .as_array()
        .unwrap_or_else(|| panic!("no explain in {line}"))
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn each_review_writes_one_decision_line() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, public) = keypair(d, "cosign");
    let sbom = d.join("sbom.spdx.json");
    std::fs::write(
        &sbom,
        r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[{"name":"busybox","SPDXID":"SPDXRef-p"}]}"#,
    )
    .unwrap();
    let host = registry.host.clone();
    let (signed, digest) = push(&host, &d.join("a"), "acme/api");
    ok(&[
        "sign",
        &signed,
        "--key",
        &key,
        "--signature-format",
        "legacy",
    ]);
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
    let (unsigned, unsigned_digest) = push(&host, &d.join("b"), "acme/unsigned");
    let policy = seed_policy(d, &host, &std::fs::read_to_string(&public).unwrap());
    let log = d.join("decisions.jsonl");
    let hook = Webhook::start(d, &policy, &["--decision-log", log.to_str().unwrap(), "-v"]);

    // 1. Signed and attested: admitted; the line names the digest verified and what verified.
    let r = hook.post("/mutate?timeout=10s", &review(&signed));
    assert_eq!(r["response"]["allowed"], true, "{r}");
    let got = lines(&log);
    assert_eq!(got.len(), 1, "{got:?}");
    let l = &got[0];
    assert_eq!(l["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(l["namespace"], "shop");
    assert_eq!(l["name"], "api");
    assert_eq!(l["kind"], "Pod");
    assert_eq!(l["operation"], "CREATE");
    assert_eq!(l["endpoint"], "mutate");
    assert_eq!(l["dry_run"], false);
    assert_eq!(
        l["images"],
        serde_json::json!([{"image": signed, "digest": digest}])
    );
    assert_eq!(l["rule"], RULE);
    assert!(l["attestor"].as_str().unwrap().contains("entries"), "{l}");
    assert_eq!(l["verdict"], "allow");
    let reason = l["reason"].as_str().unwrap();
    assert!(
        reason.contains(&signed) && reason.contains("signature"),
        "{reason}"
    );
    assert!(l["latency_ms"].as_f64().unwrap() > 0.0, "{l}");
    let ex = explain(l);
    assert!(
        ex.contains(&format!(
            "tag {signed} resolved to {digest} (registry request)"
        )),
        "{ex:?}"
    );
    assert!(
        ex.iter().any(|e| e.ends_with("cache miss, verified")),
        "{ex:?}"
    );
    assert!(!ex.iter().any(|e| e.ends_with(": cache hit")), "{ex:?}");

    // 2. The same pod again: the tag is resolved again, the checks come from the cache.
    hook.post("/mutate", &review(&signed));
    let got = lines(&log);
    assert_eq!(got.len(), 2);
    let ex = explain(&got[1]);
    assert!(
        ex.iter()
            .any(|e| e.starts_with(&format!("tag {signed} resolved"))),
        "{ex:?}"
    );
    assert!(
        ex.iter().any(|e| e
            == &format!(
                "signature of {}@{digest}: cache hit",
                signed.trim_end_matches(":v1")
            )),
        "{ex:?}"
    );
    assert!(
        !ex.iter().any(|e| e.ends_with("cache miss, verified")),
        "{ex:?}"
    );
    assert_eq!(got[1]["verdict"], "allow");

    // 3. The pinned pod (what /validate sees after /mutate): no tag to resolve.
    let pinned = format!("{signed}@{digest}");
    hook.post("/validate", &review(&pinned));
    let got = lines(&log);
    let l = &got[2];
    assert_eq!(l["endpoint"], "validate");
    assert_eq!(l["images"][0]["digest"], digest.as_str());
    assert!(!explain(l).iter().any(|e| e.starts_with("tag ")), "{l}");

    // 4. Unsigned: denied; the line names the rule, the digest looked at and why.
    let r = hook.post("/mutate", &review(&unsigned));
    assert_eq!(r["response"]["allowed"], false, "{r}");
    let got = lines(&log);
    assert_eq!(got.len(), 4);
    let l = &got[3];
    assert_eq!(l["verdict"], "deny");
    assert_eq!(l["rule"], RULE);
    assert_eq!(l["attestor"], Value::Null);
    assert_eq!(
        l["images"],
        serde_json::json!([{"image": unsigned, "digest": unsigned_digest}])
    );
    let reason = l["reason"].as_str().unwrap();
    assert!(reason.contains(&unsigned), "{reason}");
    assert!(
        r["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains(reason),
        "{reason} / {r}"
    );
    drop(hook);

    // Without --decision-log the lines go to stderr; without -v there is no explain.
    let hook = Webhook::start(d, &policy, &[]);
    hook.post("/mutate", &review(&unsigned));
    hook.post("/mutate", &review(&signed));
    let mut hook = hook;
    let _ = hook.child.kill();
    let out = hook.child.wait_with_output_stderr();
    let decisions: Vec<Value> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decisions.len(), 2, "{out}");
    assert_eq!(decisions[0]["verdict"], "deny");
    assert_eq!(decisions[1]["verdict"], "allow");
    assert!(
        decisions.iter().all(|d| d.get("explain").is_none()),
        "{out}"
    );
}

trait StderrOf {
    fn wait_with_output_stderr(&mut self) -> String;
}

impl StderrOf for Child {
    fn wait_with_output_stderr(&mut self) -> String {
        use std::io::Read as _;
        let _ = self.wait();
        let mut s = String::new();
        self.stderr.take().unwrap().read_to_string(&mut s).unwrap();
        s
    }
}
