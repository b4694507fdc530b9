//! `vouch oidc serve` and `vouch ca serve --init` as processes: a dev token is exchanged for a
//! certificate chain, the CA material is written to the directory and reloaded on restart.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use vouch_sign::{KeyAlgorithm, SigningKey};

const VOUCH: &str = env!("CARGO_BIN_EXE_vouch");

struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Serve {
    let mut child = Command::new(VOUCH)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vouch");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"))
        .to_owned();
    Serve { child, url }
}

fn agent() -> vouch_http::Client {
    vouch_http::Client::new(&vouch_http::ClientConfig::default()).expect("client")
}

fn get_json(url: &str) -> serde_json::Value {
    let mut response = agent().agent().get(url).call().expect("GET");
    serde_json::from_slice(&response.body_mut().read_to_vec().expect("body")).expect("JSON")
}

#[test]
fn dev_token_is_exchanged_for_a_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_dir = dir.path().join("ca");
    let oidc = spawn(&[
        "oidc",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--email",
        "ci@example.com",
    ]);
    let ca_args = |init: bool| {
        let mut a = vec![
            "ca".to_owned(),
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--email-issuer".into(),
            oidc.url.clone(),
            "--dir".into(),
            ca_dir.display().to_string(),
        ];
        if init {
            a.push("--init".into());
        }
        a
    };
    let args = ca_args(true);
    let ca = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for f in [
        "root.crt.pem",
        "intermediate.crt.pem",
        "intermediate.key.pem",
        "ctlog.key.pem",
    ] {
        assert!(ca_dir.join(f).exists(), "{f} written");
    }
    let token = get_json(&format!("{}/token", oidc.url))["id_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let body = serde_json::json!({"publicKeyRequest": {
        "publicKey": {"algorithm": "ECDSA", "content": key.public_key().to_pem()},
        "proofOfPossession": base64::engine::general_purpose::STANDARD
            .encode(key.sign_bytes(b"ci@example.com"))}});
    let mut response = agent()
        .agent()
        .post(&format!("{}/api/v2/signingCert", ca.url))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .expect("POST");
    let status = response.status().as_u16();
    let answer: serde_json::Value =
        serde_json::from_slice(&response.body_mut().read_to_vec().expect("body")).expect("JSON");
    assert_eq!(status, 200, "{answer}"); // Fulcio v2 (grpc-gateway) answers 200
    let chain = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("chain");
    assert_eq!(chain.len(), 3);
    let bundle = get_json(&format!("{}/api/v2/trustBundle", ca.url));
    drop(ca);

    // Restart without --init: the same CA material is loaded.
    let ca = spawn(
        &ca_args(false)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(get_json(&format!("{}/api/v2/trustBundle", ca.url)), bundle);
}

#[test]
fn instance_init_writes_trust_files_that_parse_and_a_ca_that_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inst = dir.path().join("inst");
    let out = Command::new(VOUCH)
        .args(["instance", "init"])
        .arg(&inst)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let limits = vouch_sign::Limits::default();
    for file in ["trusted_root.json", "trust_config.json"] {
        let root = vouch_sign::TrustedRoot::from_json(
            &std::fs::read(inst.join(file)).expect("read"),
            &limits,
        )
        .expect("trusted root parses");
        assert_eq!(
            (
                root.tlogs.len(),
                root.ctlogs.len(),
                root.certificate_authorities.len(),
                root.timestamp_authorities.len()
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(root.certificate_authorities[0].chain.len(), 2);
        // The TSA's chain (timestamping leaf, root) as `vouch tsa init` writes it in DIR/tsa.
        assert_eq!(root.timestamp_authorities[0].chain.len(), 2);
        assert_eq!(root.timestamp_authorities[0].uri, "http://127.0.0.1:3004");
    }
    let signing: serde_json::Value =
        serde_json::from_slice(&std::fs::read(inst.join("signing_config.json")).expect("read"))
            .expect("json");
    assert_eq!(
        signing["mediaType"],
        "application/vnd.dev.sigstore.signingconfig.v0.2+json"
    );
    assert_eq!(signing["caUrls"][0]["majorApiVersion"], 1);
    assert_eq!(
        signing["tsaUrls"],
        serde_json::json!([{"url": "http://127.0.0.1:3004/api/v1/timestamp",
            "majorApiVersion": 1, "validFor": {"start": "1970-01-01T00:00:00Z"},
            "operator": "vouch"}])
    );
    for file in ["tsa-key.pem", "tsa-cert.pem", "root.pem", "chain.pem"] {
        assert!(inst.join("tsa").join(file).is_file(), "tsa/{file}");
    }
    // A second init refuses to overwrite.
    let again = Command::new(VOUCH)
        .args(["instance", "init"])
        .arg(&inst)
        .output()
        .expect("run");
    assert!(!again.status.success());
    // The CA directory is what `vouch ca serve --dir` loads.
    let oidc = spawn(&["oidc", "serve", "--listen", "127.0.0.1:0"]);
    let ca_dir = inst.join("ca").display().to_string();
    let ca = spawn(&[
        "ca",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--email-issuer",
        &oidc.url,
        "--dir",
        &ca_dir,
    ]);
    let bundle = get_json(&format!("{}/api/v2/trustBundle", ca.url));
    assert_eq!(
        bundle["chains"][0]["certificates"].as_array().map(Vec::len),
        Some(2)
    );
}

fn fails(args: &[&str]) -> String {
    let out = Command::new(VOUCH).args(args).output().expect("run vouch");
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `--issuers FILE` in Fulcio's format: served as `/api/v2/configuration` (exact and wildcard
/// issuers); an issuer URL listed twice, in the file or by a shortcut flag, is refused.
#[test]
fn ca_serve_reads_fulcio_issuer_config_and_refuses_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("fulcio.yaml");
    std::fs::write(
        &config,
        "oidc-issuers:\n  https://token.actions.githubusercontent.com:\n    issuer-url: https://token.actions.githubusercontent.com\n    client-id: sigstore\n    type: ci-provider\n    ci-provider: github-workflow\nmeta-issuers:\n  https://oidc.eks.*.amazonaws.com/id/*:\n    client-id: sigstore\n    type: kubernetes\n",
    )
    .expect("write");
    let ca_dir = dir.path().join("ca");
    let (config_s, ca_s) = (
        config.to_str().expect("utf8"),
        ca_dir.to_str().expect("utf8"),
    );
    let ca = spawn(&[
        "ca",
        "serve",
        "--init",
        "--dir",
        ca_s,
        "--listen",
        "127.0.0.1:0",
        "--issuers",
        config_s,
    ]);
    let served = get_json(&format!("{}/api/v2/configuration", ca.url));
    let issuers = served["issuers"].as_array().expect("issuers");
    assert!(issuers.iter().any(|i| i["issuerUrl"]
        == "https://token.actions.githubusercontent.com"
        && i["issuerType"] == "ci-provider"));
    assert!(issuers.iter().any(|i| i["wildcardIssuerUrl"]
        == "https://oidc.eks.*.amazonaws.com/id/*"
        && i["issuerType"] == "kubernetes"));
    drop(ca);

    let err = fails(&[
        "ca",
        "serve",
        "--dir",
        ca_s,
        "--listen",
        "127.0.0.1:0",
        "--issuers",
        config_s,
        "--github-issuer",
        "https://token.actions.githubusercontent.com",
    ]);
    assert!(err.contains("configured twice"), "{err}");
    std::fs::write(
        &config,
        r#"{"OIDCIssuers": {"https://a.example": {"ClientID": "sigstore", "Type": "email"},
                            "https://a.example": {"ClientID": "sigstore", "Type": "email"}}}"#,
    )
    .expect("write");
    let err = fails(&[
        "ca",
        "serve",
        "--dir",
        ca_s,
        "--listen",
        "127.0.0.1:0",
        "--issuers",
        config_s,
    ]);
    assert!(err.contains("listed twice"), "{err}");
}

/// The dev issuer is opt-in and loopback-only (issue 19 item 7); `instance init` says so, and
/// `instance serve` listens where init said (issue 15 item 6).
#[test]
fn dev_issuer_is_opt_in_loopback_only_and_serve_listens_where_init_said() {
    let err = fails(&["oidc", "serve", "--listen", "0.0.0.0:0"]);
    assert!(err.contains("loopback only"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let inst = dir.path().join("instance");
    let inst_s = inst.to_str().expect("utf8");
    let port = |_: u8| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port")
    };
    let (ca, log, oidc, tsa) = (port(0), port(1), port(2), port(3));
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let out = Command::new(VOUCH)
        .args([
            "instance",
            "init",
            inst_s,
            "--ca-url",
            &url(ca),
            "--tlog-url",
            &url(log),
        ])
        .args(["--oidc-url", &url(oidc), "--tsa-url", &url(tsa)])
        .output()
        .expect("init");
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("--dev-oidc") && said.contains("loopback"),
        "{said}"
    );

    // Without --dev-oidc and without any issuer the CA would trust nobody: refused.
    let err = fails(&["instance", "serve", inst_s]);
    assert!(err.contains("--dev-oidc"), "{err}");
    let err = fails(&[
        "instance",
        "serve",
        inst_s,
        "--dev-oidc",
        "--listen-oidc",
        "0.0.0.0:0",
    ]);
    assert!(err.contains("loopback only"), "{err}");

    // With a real issuer only: no dev issuer, and the CA and log where init said.
    let mut child = Command::new(VOUCH)
        .args(["instance", "serve", inst_s, "-o", "json"])
        .args(["--email-issuer", "https://sso.example.com"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    // The (pretty) JSON report is printed once everything listens.
    let mut text = String::new();
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let report: serde_json::Value = loop {
        assert!(
            reader.read_line(&mut text).expect("read") > 0,
            "serve exited: {text}"
        );
        if let Ok(v) = serde_json::from_str(&text) {
            break v;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(report["caUrl"], url(ca));
    assert_eq!(report["logUrl"], url(log));
    assert_eq!(report["tsaUrl"], url(tsa));
    assert!(report.get("oidcUrl").is_none(), "{report}");
    let out = Command::new(VOUCH)
        .args(["instance", "token", inst_s])
        .output()
        .expect("token");
    assert!(!out.status.success(), "no dev issuer, no token: {out:?}");
}
