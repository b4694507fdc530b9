//! `vouch tsa init` and `vouch tsa serve` end to end, with Debian's OpenSSL as the RFC 3161
//! client (`openssl ts -query`, `-reply`, `-verify`).
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

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

fn serve(dir: &Path, extra: &[&str]) -> Serve {
    let mut child = Command::new(VOUCH)
        .args(["tsa", "serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"))
        .to_owned();
    Serve { child, url }
}

fn vouch(args: &[&str]) -> Output {
    Command::new(VOUCH).args(args).output().unwrap()
}

fn openssl(args: &[&str]) -> Output {
    Command::new(vouch_testkit::require_tool("openssl"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
        .trim()
}

fn post(url: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut resp = agent
        .post(format!("{url}/api/v1/timestamp"))
        .header("Content-Type", content_type)
        .send(body)
        .unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_vec().unwrap(),
    )
}

fn verified(out: &Output) -> bool {
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verification: OK")
}

#[test]
fn tsa_init_serve_and_openssl_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tsa");
    let init: serde_json::Value =
        serde_json::from_str(&ok(vouch(&["tsa", "init", "--dir", s(&dir), "-o", "json"]))).unwrap();
    let root = dir.join("root.pem");
    let leaf = dir.join("tsa-cert.pem");
    assert_eq!(init["root"], s(&root));
    assert_eq!(init["certificate"], s(&leaf));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("tsa-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is private to its owner");
    }
    // A second init never replaces the key.
    let again = vouch(&["tsa", "init", "--dir", s(&dir)]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let server = serve(&dir, &["--default-policy-oid", "1.2.3.4.77"]);
    let chain = ureq::get(format!("{}/api/v1/timestamp/certchain", server.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(
        chain,
        std::fs::read_to_string(dir.join("chain.pem")).unwrap()
    );

    let data = tmp.path().join("artifact");
    std::fs::write(&data, b"an artifact to timestamp\n").unwrap();
    let query = tmp.path().join("q.tsq");
    ok(openssl(&[
        "ts",
        "-query",
        "-data",
        s(&data),
        "-sha256",
        "-cert",
        "-out",
        s(&query),
    ]));
    let (status, reply_der) = post(
        &server.url,
        "application/timestamp-query",
        &std::fs::read(&query).unwrap(),
    );
    assert_eq!(status, 200);
    let reply = tmp.path().join("r.tsr");
    std::fs::write(&reply, &reply_der).unwrap();

    let q = ok(openssl(&["ts", "-query", "-in", s(&query), "-text"]));
    let r = ok(openssl(&["ts", "-reply", "-in", s(&reply), "-text"]));
    assert_eq!(field(&r, "Status:"), "Granted.");
    assert_eq!(field(&r, "Policy OID:"), "1.2.3.4.77");
    assert_eq!(field(&r, "Nonce:"), field(&q, "Nonce:"));

    let verify = |data: &Path, reply: &Path| {
        openssl(&[
            "ts",
            "-verify",
            "-data",
            s(data),
            "-in",
            s(reply),
            "-CAfile",
            s(&root),
            "-untrusted",
            s(&leaf),
        ])
    };
    let out = verify(&data, &reply);
    assert!(verified(&out), "{out:?}");
    let out = openssl(&[
        "ts",
        "-verify",
        "-queryfile",
        s(&query),
        "-in",
        s(&reply),
        "-CAfile",
        s(&root),
        "-untrusted",
        s(&leaf),
    ]);
    assert!(verified(&out), "{out:?}");

    // A one-byte change to the signed TSTInfo (its message imprint) or to the signature fails.
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(std::fs::read(&data).unwrap());
    let imprint_at = reply_der
        .windows(32)
        .position(|w| w == digest.as_slice())
        .expect("the imprint in the reply");
    for (name, offset) in [
        ("tstinfo", imprint_at + 7),
        ("signature", reply_der.len() - 2),
    ] {
        let mut bad = reply_der.clone();
        bad[offset] ^= 0x80;
        let path = tmp.path().join(format!("{name}.tsr"));
        std::fs::write(&path, &bad).unwrap();
        assert!(!verified(&verify(&data, &path)), "tampered {name} verified");
    }

    // Malformed: an RFC 3161 rejection, HTTP 400, never a 500.
    let (status, body) = post(&server.url, "application/timestamp-query", b"not DER");
    assert_eq!(status, 400);
    let rejected = tmp.path().join("rejected.tsr");
    std::fs::write(&rejected, body).unwrap();
    let r = ok(openssl(&["ts", "-reply", "-in", s(&rejected), "-text"]));
    assert_eq!(field(&r, "Status:"), "Rejected.");
    assert_eq!(
        field(&r, "Failure info:"),
        "the data submitted has the wrong format"
    );
}

#[test]
fn tsa_serve_refuses_a_missing_or_foreign_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = vouch(&[
        "tsa",
        "serve",
        "--dir",
        s(tmp.path()),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--dir") && err.contains("tsa-key.pem"),
        "{err}"
    );

    // A key that is not the certificate's.
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    ok(vouch(&["tsa", "init", "--dir", s(&a)]));
    ok(vouch(&["tsa", "init", "--dir", s(&b)]));
    std::fs::copy(b.join("chain.pem"), a.join("chain.pem")).unwrap();
    let out = vouch(&["tsa", "serve", "--dir", s(&a), "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not the TSA private key"), "{err}");

    // A policy that is not an OID.
    let out = vouch(&[
        "tsa",
        "serve",
        "--dir",
        s(&b),
        "--listen",
        "127.0.0.1:0",
        "--default-policy-oid",
        "sigstore",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy"));
}
