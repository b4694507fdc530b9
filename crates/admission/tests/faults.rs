//! The webhook over real HTTPS (rustls, a certificate from the `openssl` CLI) when things go
//! wrong: registry down, registry that accepts and never answers, malformed and oversized
//! reviews. Every answer must be a clear denial (or allowed with a warning where the policy
//! is Audit), never a hang past the deadline, never a crash. Signed-image scenarios run
//! against the real binary in `crates/cli/tests/policy.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use vouch_admission::{Config, Webhook};
use vouch_policy::{Documents, Limits, parse_documents};
use vouch_testkit::free_port;

const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZxAfzrQG1EbWyCI8LiSB7YgSFXoI\nFNGTyQGKHFc6/H8TQumT9VLS78pUwtv3w7EfKoyFZoP32KrO7nzUy2q6Cw==\n-----END PUBLIC KEY-----";

fn kyverno_policy(action: &str) -> String {
    let key: String = KEY
        .lines()
        .map(|l| format!("              {l}\n"))
        .collect();
    let mutate = if action == "Enforce" { "true" } else { "false" };
    format!(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: signed}}\nspec:\n  rules:\n  - name: check\n    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}\n    verifyImages:\n    - failureAction: {action}\n      mutateDigest: {mutate}\n      verifyDigest: false\n      imageReferences: ['*']\n      attestors:\n      - entries:\n        - keys:\n            publicKeys: |-\n{key}            rekor: {{ignoreTlog: true}}\n"
    )
}

fn policies(yaml: &str) -> vouch_policy::PolicySet {
    let mut docs = Documents::default();
    docs.add(parse_documents(yaml, "p", &Limits::default()).unwrap(), "p")
        .unwrap();
    docs.policy_set()
}

/// CA and serving certificate for 127.0.0.1 (CA, cert, key paths).
fn certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = vouch_testkit::require_tool("openssl");
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-days",
            "1",
            "-subj",
            "/CN=test CA",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.crt"),
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-subj",
            "/CN=webhook",
            "-keyout",
            &p("tls.key"),
            "-out",
            &p("tls.csr"),
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &p("tls.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &p("ext.cnf"),
        "-out",
        &p("tls.crt"),
    ]);
    (dir.join("ca.crt"), dir.join("tls.crt"), dir.join("tls.key"))
}

/// The decision log's lines, in memory.
#[derive(Clone, Default)]
struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Server {
    log: Lines,
    base: String,
    agent: ureq::Agent,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(yaml: &str, timeout: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certs(dir.path());
        let mut registry = vouch_oci::RegistryOptions {
            auth_files: Some(Vec::new()),
            ..Default::default()
        };
        registry.http.retry.attempts = 1;
        registry.http.connect_timeout = Duration::from_secs(2);
        registry.http.read_timeout = Duration::from_secs(3);
        let mut config = Config::new(policies(yaml), vouch_sign::TrustedRoot::default(), registry);
        config.timeout = timeout;
        let log = Lines::default();
        config.decision_log = Some(Arc::new(vouch_admission::DecisionLog::to_writer(
            Box::new(log.clone()),
            true,
        )));
        let webhook = Webhook::new(config).unwrap();
        let tls = vouch_admission::server::tls_config(
            &std::fs::read(cert).unwrap(),
            &std::fs::read(key).unwrap(),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let tcp = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("https://{}", tcp.local_addr().unwrap());
        runtime.spawn(vouch_admission::server::serve(
            Arc::clone(&webhook),
            tcp,
            tls,
            std::future::pending(),
        ));
        let pem = std::fs::read(ca).unwrap();
        let roots: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        // The client's own bound: a webhook hanging past its deadline fails the test here.
        let agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
                    .build(),
            )
            .http_status_as_error(false)
            .timeout_global(Some(timeout + Duration::from_secs(10)))
            .build()
            .new_agent();
        Self {
            log,
            base,
            agent,
            runtime,
            _dir: dir,
        }
    }

    /// Every decision line so far, parsed.
    fn decisions(&self) -> Vec<Value> {
        String::from_utf8(self.log.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
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

    fn get(&self, path: &str) -> (u16, String) {
        let mut resp = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Blocking threads stuck on the slow registry must not hold the test up.
        let rt = std::mem::replace(
            &mut self.runtime,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        );
        rt.shutdown_background();
    }
}

fn pod_review(uid: &str, images: &[String]) -> String {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, im)| serde_json::json!({"name": format!("c{i}"), "image": im}))
        .collect();
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "default", "operation": "CREATE", "name": "p",
            "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": "default"},
                "spec": {"containers": containers}},
            "oldObject": null, "dryRun": false}
    })
    .to_string()
}

#[test]
fn registry_down_is_a_denial_naming_the_image() {
    let server = Server::start(&kyverno_policy("Enforce"), Duration::from_secs(8));
    let image = format!("127.0.0.1:{}/acme/api:v1", free_port());
    let (status, body) = server.post("/validate", &pod_review("u1", std::slice::from_ref(&image)));
    assert_eq!(status, 200);
    let r = &body["response"];
    assert_eq!(r["uid"], "u1");
    assert_eq!(r["allowed"], false, "{body}");
    let m = r["status"]["message"].as_str().unwrap();
    assert!(
        m.contains("signed:\n  check: failed to resolve image"),
        "{m}"
    );
    assert!(m.contains(&image), "{m}");
    // The decision line: denied by signed/check, the tag not resolved, and why.
    let d = server.decisions();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["uid"], "u1");
    assert_eq!(d[0]["verdict"], "deny");
    assert_eq!(d[0]["endpoint"], "validate");
    assert_eq!(d[0]["rule"], "signed/check");
    assert_eq!(
        d[0]["images"],
        serde_json::json!([{"image": image, "digest": null}])
    );
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap()
            .contains("failed to resolve image"),
        "{}",
        d[0]
    );
    assert!(
        d[0]["explain"][0]
            .as_str()
            .unwrap()
            .starts_with(&format!("tag {image} not resolved: ")),
        "{}",
        d[0]
    );
}

#[test]
fn slow_registry_answers_at_the_deadline() {
    // Accepts connections and never answers.
    let slow = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = slow.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in slow.incoming().take(64) {
            held.push(c);
        }
    });
    let image = format!("{addr}/acme/api:v1");
    let server = Server::start(&kyverno_policy("Enforce"), Duration::from_millis(1500));
    let (status, body) = server.post("/mutate", &pod_review("s1", std::slice::from_ref(&image)));
    assert_eq!(status, 200);
    let r = &body["response"];
    assert_eq!(r["allowed"], false, "{body}");
    let m = r["status"]["message"].as_str().unwrap();
    assert!(
        m.contains("Pod default/p denied: verification did not finish within the 1500 ms deadline"),
        "{m}"
    );
    // The API server's own ?timeout= shortens the deadline (minus 1 s margin).
    let (_, body) = server.post(
        "/validate?timeout=2s",
        &pod_review("s2", std::slice::from_ref(&image)),
    );
    assert!(
        body["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("within the 1000 ms deadline"),
        "{body}"
    );
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains("vouch_admission_timeouts_total 2"),
        "{metrics}"
    );
    // Logged as denials naming the deadline, with the images as written.
    let d = server.decisions();
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!((&d[0]["uid"], &d[1]["uid"]), (&"s1".into(), &"s2".into()));
    assert!(d.iter().all(|l| l["verdict"] == "deny"), "{d:?}");
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap()
            .contains("within the 1500 ms deadline"),
        "{}",
        d[0]
    );
    assert_eq!(
        d[0]["images"],
        serde_json::json!([{"image": image, "digest": null}])
    );
    assert!(d[0]["latency_ms"].is_f64(), "{}", d[0]);

    // Audit: the same timeout admits, with a warning naming it.
    let audit = Server::start(&kyverno_policy("Audit"), Duration::from_millis(1000));
    let (_, body) = audit.post("/validate", &pod_review("s3", &[image]));
    let r = &body["response"];
    assert_eq!(r["allowed"], true, "{body}");
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not verified: verification did not finish"),
        "{body}"
    );
}

#[test]
fn malformed_and_oversized_reviews() {
    let server = Server::start(&kyverno_policy("Enforce"), Duration::from_secs(5));
    for (body, want) in [
        ("", "body is not JSON"),
        ("[1,2]", "expected apiVersion admission.k8s.io/v1"),
        (
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#,
            "request.uid is missing",
        ),
    ] {
        let (status, v) = server.post("/validate", body);
        assert_eq!(status, 400, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(want), "{v}");
    }
    // A readable uid: a denial the API server can show.
    let (status, v) = server.post(
        "/mutate",
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","operation":7}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(v["response"]["allowed"], false);
    assert!(
        v["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("vouch: malformed AdmissionReview: request:"),
        "{v}"
    );
    // Too many containers: bounded by Limits, denied with the reason.
    let many: Vec<String> = (0..300).map(|i| format!("ghcr.io/acme/a{i}:v1")).collect();
    let (_, v) = server.post("/validate", &pod_review("many", &many));
    assert_eq!(v["response"]["allowed"], false);
    assert!(
        v["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("containers in one resource exceeds the limit of 256"),
        "{v}"
    );
    // Over the body limit: 413 without reading it.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat((3 << 20) + 1));
    let (status, _) = server.post("/validate", &big);
    assert_eq!(status, 413);
    // Wrong method, unknown path.
    assert_eq!(server.get("/validate").0, 405);
    assert_eq!(server.get("/nope").0, 404);
    assert_eq!(server.get("/readyz"), (200, "ok\n".to_owned()));
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains(
            "vouch_admission_requests_total{endpoint=\"validate\",verdict=\"malformed\"} 3"
        ),
        "{metrics}"
    );
}

#[test]
fn cluster_image_policy_static_authorities() {
    let cip = "apiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: blocked}\nspec:\n  images: [{glob: 'ghcr.io/blocked/**'}]\n  authorities:\n  - static: {action: fail, message: images from blocked are not allowed}\n---\napiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: allowed}\nspec:\n  images: [{glob: 'ghcr.io/ok/*'}]\n  authorities:\n  - static: {action: pass}\n";
    let server = Server::start(cip, Duration::from_secs(5));
    let digest = format!("sha256:{}", "a".repeat(64));
    let (_, v) = server.post(
        "/validate",
        &pod_review("c1", &[format!("ghcr.io/ok/app@{digest}")]),
    );
    assert_eq!(v["response"]["allowed"], true, "{v}");
    let (_, v) = server.post(
        "/validate",
        &pod_review("c2", &[format!("ghcr.io/blocked/x/app@{digest}")]),
    );
    assert_eq!(v["response"]["allowed"], false, "{v}");
    let m = v["response"]["status"]["message"].as_str().unwrap();
    assert!(
        m.contains("blocked:\n  authorities: failed policy: blocked: images from blocked are not allowed for authority authority-0"),
        "{m}"
    );
    // `*` does not cross `/`: ghcr.io/ok/team/app matches no policy and is denied.
    let (_, v) = server.post(
        "/validate",
        &pod_review("c3", &[format!("ghcr.io/ok/team/app@{digest}")]),
    );
    assert!(
        v["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("no-match: no matching policies"),
        "{v}"
    );
}
