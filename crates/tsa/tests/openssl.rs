//! vouch's TSA against Debian's OpenSSL as the independent RFC 3161 client: `openssl ts -query`
//! makes the requests, `openssl ts -reply` parses the answers and `openssl ts -verify` checks
//! them against the root written by `Material::write`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use base64::Engine as _;
use sha2::Digest as _;
use vouch_tsa::{Config, Material, TimestampAuthority};

struct Server {
    url: String,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Server {
    fn start(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Material::generate("vouch test")
            .unwrap()
            .write(dir.path())
            .unwrap();
        // Serve what was written, as `vouch tsa serve` does.
        let material = Material::load(dir.path()).unwrap();
        let authority = Arc::new(TimestampAuthority::new(&material, &config).unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                vouch_tsa::server::serve(listener, authority, None, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        Self {
            url,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// POSTs `body`; returns the HTTP status, content type and body.
    fn post(&self, content_type: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut resp = agent
            .post(format!("{}/api/v1/timestamp", self.url))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let status = resp.status().as_u16();
        (status, ct, resp.body_mut().read_to_vec().unwrap())
    }

    fn get(&self, path: &str) -> String {
        ureq::get(format!("{}{path}", self.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }
}

fn openssl(args: &[&str]) -> Output {
    Command::new(vouch_testkit::require_tool("openssl"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs openssl, asserting success; returns stdout.
fn openssl_ok(args: &[&str]) -> String {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The value after `label` on its line of `openssl ts … -text` output.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
        .trim()
}

/// Writes `data`, makes an openssl query with `extra` flags, posts it; returns (data, query,
/// reply) paths and the HTTP status.
fn stamp(
    server: &Server,
    name: &str,
    data: &[u8],
    extra: &[&str],
) -> (PathBuf, PathBuf, PathBuf, u16) {
    let data_path = server.path(&format!("{name}.data"));
    let query = server.path(&format!("{name}.tsq"));
    let reply = server.path(&format!("{name}.tsr"));
    std::fs::write(&data_path, data).unwrap();
    let mut args = vec!["ts", "-query", "-data", s(&data_path), "-out", s(&query)];
    args.extend_from_slice(extra);
    openssl_ok(&args);
    let (status, ct, body) = server.post(
        "application/timestamp-query",
        &std::fs::read(&query).unwrap(),
    );
    assert_eq!(ct, "application/timestamp-reply");
    std::fs::write(&reply, body).unwrap();
    (data_path, query, reply, status)
}

fn verify(server: &Server, args: &[&str]) -> Output {
    let root = server.path(vouch_tsa::ROOT_FILE);
    let leaf = server.path(vouch_tsa::LEAF_FILE);
    let mut all = vec!["ts", "-verify"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-CAfile", s(&root), "-untrusted", s(&leaf)]);
    let mut cmd = Command::new(vouch_testkit::require_tool("openssl"));
    cmd.args(&all);
    cmd.output().unwrap()
}

fn verified(out: &Output) -> bool {
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verification: OK")
}

#[test]
fn openssl_query_reply_verify_with_nonce_and_cert() {
    let server = Server::start(Config::default());
    let (data, query, reply, status) =
        stamp(&server, "a", b"hello, timestamps\n", &["-sha256", "-cert"]);
    assert_eq!(status, 200);

    let q = openssl_ok(&["ts", "-query", "-in", s(&query), "-text"]);
    let r = openssl_ok(&["ts", "-reply", "-in", s(&reply), "-text"]);
    assert_eq!(field(&r, "Status:"), "Granted.");
    assert_eq!(field(&r, "Policy OID:"), vouch_tsa::DEFAULT_POLICY);
    assert_eq!(field(&r, "Hash Algorithm:"), "sha256");
    assert_eq!(field(&r, "Nonce:"), field(&q, "Nonce:"), "nonce echoed");
    assert_ne!(field(&r, "Nonce:"), "unspecified");
    assert_eq!(
        field(&r, "Accuracy:"),
        "0x01 seconds, unspecified millis, unspecified micros"
    );
    assert_eq!(field(&r, "Ordering:"), "no");
    // genTime from the host clock: this year.
    let year = 1970
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 31_556_952;
    assert!(field(&r, "Time stamp:").contains(&year.to_string()), "{r}");
    // The message imprint is the data's SHA-256 (openssl prints it as hex dump lines).
    let digest = hex(&sha2::Sha256::digest(std::fs::read(&data).unwrap()));
    let imprint: String = r
        .split("Message data:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take(2)
        .flat_map(|l| l.split_whitespace().skip(1).take(16))
        .map(|b| b.trim_end_matches('-').split('-').collect::<String>())
        .collect();
    assert_eq!(imprint, digest, "{r}");

    // Verified against the data, and against the query (imprint, nonce, policy all checked).
    assert!(verified(&verify(
        &server,
        &["-data", s(&data), "-in", s(&reply)]
    )));
    let out = verify(&server, &["-queryfile", s(&query), "-in", s(&reply)]);
    assert!(verified(&out), "{out:?}");
    // Without -untrusted too: certReq made the TSA certificate part of the token.
    let out = openssl(&[
        "ts",
        "-verify",
        "-data",
        s(&data),
        "-in",
        s(&reply),
        "-CAfile",
        s(&server.path(vouch_tsa::ROOT_FILE)),
    ]);
    assert!(verified(&out), "{out:?}");
}

#[test]
fn no_cert_req_no_nonce_and_sha512() {
    let server = Server::start(Config::default());
    let (data, _, reply, status) = stamp(&server, "b", b"sha512 data", &["-sha512", "-no_nonce"]);
    assert_eq!(status, 200);
    let r = openssl_ok(&["ts", "-reply", "-in", s(&reply), "-text"]);
    assert_eq!(field(&r, "Nonce:"), "unspecified");
    assert_eq!(field(&r, "Hash Algorithm:"), "sha512");
    assert!(verified(&verify(
        &server,
        &["-data", s(&data), "-in", s(&reply)]
    )));
    // No certificate embedded (certReq false): without the leaf, openssl cannot find the signer.
    let out = openssl(&[
        "ts",
        "-verify",
        "-data",
        s(&data),
        "-in",
        s(&reply),
        "-CAfile",
        s(&server.path(vouch_tsa::ROOT_FILE)),
    ]);
    assert!(!verified(&out));
}

#[test]
fn serials_are_unique_and_policy_configurable() {
    let server = Server::start(Config {
        policy: "1.2.3.4.5".into(),
        accepted_policies: vec!["1.2.3.4.6".into()],
        accuracy: std::time::Duration::from_millis(1500),
        include_chain: true,
    });
    let mut serials = std::collections::BTreeSet::new();
    for i in 0..5 {
        let (_, _, reply, status) = stamp(&server, &format!("s{i}"), b"same data", &["-cert"]);
        assert_eq!(status, 200);
        let r = openssl_ok(&["ts", "-reply", "-in", s(&reply), "-text"]);
        assert_eq!(field(&r, "Policy OID:"), "1.2.3.4.5");
        assert_eq!(
            field(&r, "Accuracy:"),
            "0x01 seconds, 0x01F4 millis, unspecified micros"
        );
        serials.insert(field(&r, "Serial number:").to_owned());
    }
    assert_eq!(serials.len(), 5, "{serials:?}");
    // A requested policy the TSA accepts is the token's policy.
    let (data, query, reply, status) = stamp(
        &server,
        "p",
        b"policy",
        &["-cert", "-tspolicy", "1.2.3.4.6"],
    );
    assert_eq!(status, 200);
    let r = openssl_ok(&["ts", "-reply", "-in", s(&reply), "-text"]);
    assert_eq!(field(&r, "Policy OID:"), "1.2.3.4.6");
    assert!(verified(&verify(
        &server,
        &["-queryfile", s(&query), "-in", s(&reply)]
    )));
    assert!(verified(&verify(
        &server,
        &["-data", s(&data), "-in", s(&reply)]
    )));
}

#[test]
fn tampered_replies_and_wrong_inputs_fail_openssl_verify() {
    let server = Server::start(Config::default());
    let (data, _, reply, _) = stamp(&server, "t", b"tamper me", &["-sha256", "-cert"]);
    let good = std::fs::read(&reply).unwrap();
    assert!(verified(&verify(
        &server,
        &["-data", s(&data), "-in", s(&reply)]
    )));

    // One byte of the message imprint inside the signed TSTInfo.
    let digest = sha2::Sha256::digest(std::fs::read(&data).unwrap());
    let at = good
        .windows(digest.len())
        .position(|w| w == digest.as_slice())
        .unwrap();
    for (name, offset) in [("imprint", at + 5), ("signature", good.len() - 3)] {
        let mut bad = good.clone();
        bad[offset] ^= 0x01;
        let path = server.path(&format!("tampered-{name}.tsr"));
        std::fs::write(&path, &bad).unwrap();
        let out = verify(&server, &["-data", s(&data), "-in", s(&path)]);
        assert!(!verified(&out), "{name}: {out:?}");
    }
    // The genTime digits (a signed attribute's digest no longer matches).
    let r = openssl_ok(&["ts", "-reply", "-in", s(&reply), "-text"]);
    assert!(r.contains("Time stamp:"));
    let gen_time = good
        .windows(2)
        .position(|w| w == [0x18, 0x0f])
        .expect("a 15-byte GeneralizedTime");
    let mut bad = good;
    bad[gen_time + 2 + 13] = if bad[gen_time + 2 + 13] == b'0' {
        b'1'
    } else {
        b'0'
    };
    let path = server.path("tampered-time.tsr");
    std::fs::write(&path, &bad).unwrap();
    assert!(!verified(&verify(
        &server,
        &["-data", s(&data), "-in", s(&path)]
    )));

    // Other data.
    let other = server.path("other.data");
    std::fs::write(&other, b"tamper mE").unwrap();
    assert!(!verified(&verify(
        &server,
        &["-data", s(&other), "-in", s(&reply)]
    )));

    // Another TSA's root.
    let elsewhere = tempfile::tempdir().unwrap();
    Material::generate("other")
        .unwrap()
        .write(elsewhere.path())
        .unwrap();
    let out = openssl(&[
        "ts",
        "-verify",
        "-data",
        s(&data),
        "-in",
        s(&reply),
        "-CAfile",
        s(&elsewhere.path().join(vouch_tsa::ROOT_FILE)),
    ]);
    assert!(!verified(&out));

    // A query with another nonce.
    let (_, other_query, _, _) = stamp(&server, "n", b"tamper me", &["-sha256", "-cert"]);
    let out = verify(&server, &["-queryfile", s(&other_query), "-in", s(&reply)]);
    assert!(!verified(&out), "nonce mismatch must fail: {out:?}");
}

/// Posts a request; asserts HTTP 400 and an RFC 3161 rejection with `failure` as openssl names it.
fn assert_rejected(server: &Server, content_type: &str, body: &[u8], failure: &str) {
    let (status, ct, reply) = server.post(content_type, body);
    assert_eq!(ct, "application/timestamp-reply");
    assert!(status == 400 || status == 415, "status {status}");
    let path = server.path("rejected.tsr");
    std::fs::write(&path, reply).unwrap();
    let r = openssl_ok(&["ts", "-reply", "-in", s(&path), "-text"]);
    assert_eq!(field(&r, "Status:"), "Rejected.", "{r}");
    assert_eq!(field(&r, "Failure info:"), failure, "{r}");
    assert!(r.contains("TST info:\nNot included."), "{r}");
}

#[test]
fn malformed_requests_get_rejection_statuses() {
    let server = Server::start(Config::default());
    assert_rejected(
        &server,
        "application/timestamp-query",
        b"\x30\x03\x02\x01",
        "the data submitted has the wrong format",
    );
    assert_rejected(
        &server,
        "application/timestamp-query",
        b"",
        "the data submitted has the wrong format",
    );

    // SHA-1 (weak) and an unknown digest algorithm, made by openssl.
    let data = server.path("alg.data");
    std::fs::write(&data, b"x").unwrap();
    for alg in ["-sha1", "-md5"] {
        let q = server.path("alg.tsq");
        openssl_ok(&["ts", "-query", "-data", s(&data), alg, "-out", s(&q)]);
        assert_rejected(
            &server,
            "application/timestamp-query",
            &std::fs::read(&q).unwrap(),
            "unrecognized or unsupported algorithm identifier",
        );
    }
    // A policy this TSA does not stamp under.
    let q = server.path("policy.tsq");
    openssl_ok(&[
        "ts",
        "-query",
        "-data",
        s(&data),
        "-tspolicy",
        "1.2.3.4",
        "-out",
        s(&q),
    ]);
    let query = std::fs::read(&q).unwrap();
    assert_rejected(
        &server,
        "application/timestamp-query",
        &query,
        "the requested TSA policy is not supported by the TSA",
    );

    // A digest of the wrong length for its algorithm (openssl refuses to make one; JSON can).
    assert_rejected(
        &server,
        "application/json",
        br#"{"artifactHash":"q80=","hashAlgorithm":"sha256"}"#,
        "transaction not permitted or supported",
    );
    // A good DER query under another content type.
    assert_rejected(
        &server,
        "text/plain",
        &query,
        "transaction not permitted or supported",
    );
    // JSON: not JSON, unknown algorithm, bad base64.
    assert_rejected(
        &server,
        "application/json",
        b"{",
        "the data submitted has the wrong format",
    );
    assert_rejected(
        &server,
        "application/json",
        br#"{"artifactHash":"AAAA","hashAlgorithm":"md5"}"#,
        "unrecognized or unsupported algorithm identifier",
    );
    assert_rejected(
        &server,
        "application/json",
        br#"{"artifactHash":"@@@","hashAlgorithm":"sha256"}"#,
        "the data submitted has the wrong format",
    );
}

#[test]
fn json_request_as_sigstore_timestamp_authority() {
    let server = Server::start(Config::default());
    let data = server.path("j.data");
    std::fs::write(&data, b"json request").unwrap();
    let digest = sha2::Sha256::digest(b"json request");
    let body = serde_json::json!({
        "artifactHash": base64::engine::general_purpose::STANDARD.encode(digest),
        "hashAlgorithm": "sha256",
        "nonce": 1234,
        "certificates": true,
    });
    let (status, ct, reply) = server.post(
        "application/json; charset=utf-8",
        body.to_string().as_bytes(),
    );
    assert_eq!((status, ct.as_str()), (200, "application/timestamp-reply"));
    let path = server.path("j.tsr");
    std::fs::write(&path, reply).unwrap();
    let r = openssl_ok(&["ts", "-reply", "-in", s(&path), "-text"]);
    assert_eq!(field(&r, "Nonce:"), "0x04D2");
    let out = openssl(&[
        "ts",
        "-verify",
        "-data",
        s(&data),
        "-in",
        s(&path),
        "-CAfile",
        s(&server.path(vouch_tsa::ROOT_FILE)),
    ]);
    assert!(verified(&out), "{out:?}");
}

#[test]
fn certchain_and_healthz() {
    let server = Server::start(Config::default());
    let chain = server.get("/api/v1/timestamp/certchain");
    assert_eq!(
        chain,
        std::fs::read_to_string(server.path(vouch_tsa::CHAIN_FILE)).unwrap()
    );
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(server.get("/healthz"), "ok");
    // The leaf: critical EKU timeStamping only, as openssl reads it.
    let text = openssl_ok(&[
        "x509",
        "-in",
        s(&server.path(vouch_tsa::LEAF_FILE)),
        "-noout",
        "-text",
    ]);
    assert!(
        text.contains("X509v3 Extended Key Usage: critical\n                Time Stamping\n"),
        "{text}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
