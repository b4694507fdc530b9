//! What every end-to-end test of the `vouch` binary needs: the binary run hermetically (never
//! the developer's registry credentials, passwords, trust config or ambient OIDC tokens) and
//! assertions on its exit code that print everything it said when they fail.
//!
//! Each test file includes it with `mod common;` (Cargo's shared-test-module convention); not
//! every file uses every helper.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The password of the key files the tests write (`COSIGN_PASSWORD` for every run).
pub const PASSWORD: &str = "correct horse";

/// Environment variables vouch reads that must come from the test, never from the machine.
const SCRUBBED: &[&str] = &[
    "VOUCH_REGISTRY_CREDS",
    "VOUCH_PASSWORD",
    "VOUCH_TRUST_CONFIG",
    "SIGSTORE_ID_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SOURCE_DATE_EPOCH",
    "GITHUB_WORKFLOW_REF",
];

/// `vouch ARGS` with a hermetic environment, ready for more `.env`/`.current_dir`.
pub fn vouch_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vouch"));
    cmd.args(args)
        .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .env("DOCKER_CONFIG", "/nonexistent")
        .env("COSIGN_PASSWORD", PASSWORD)
        // `image copy` remembers where blobs were pushed (blob-info cache) under
        // $XDG_CACHE_HOME: tests keep theirs out of the developer's ~/.cache.
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("vouch-tests-cache"),
        );
    for name in SCRUBBED {
        cmd.env_remove(name);
    }
    cmd
}

/// Runs `vouch ARGS` to completion.
pub fn vouch(args: &[&str]) -> Output {
    vouch_cmd(args).output().unwrap()
}

/// Everything the run printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that `out` (a run of `vouch ARGS`) succeeded; returns its stdout.
pub fn check_ok(out: &Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "vouch {args:?} failed ({}):\n{}",
        out.status,
        text(out)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Runs `vouch ARGS`, asserts success, returns stdout.
pub fn ok(args: &[&str]) -> String {
    check_ok(&vouch(args), args)
}

/// Runs `vouch ARGS -o json`, asserts success, parses stdout.
pub fn ok_json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = ok(&all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("vouch {args:?}: not JSON ({e}):\n{out}"))
}

/// Runs `vouch ARGS`, asserts exit code `code`; returns stdout + stderr.
pub fn fails_with(code: i32, args: &[&str]) -> String {
    let out = vouch(args);
    let said = text(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "vouch {args:?} should exit {code}:\n{said}"
    );
    said
}

/// `vouch generate-key-pair` (ECDSA P-256) into `dir/name.{key,pub}`; returns both paths.
pub fn keypair(dir: &Path, name: &str) -> (String, String) {
    keypair_with(dir, name, "ecdsa-p256")
}

/// `vouch generate-key-pair --algorithm ALGORITHM` into `dir/name.{key,pub}`.
pub fn keypair_with(dir: &Path, name: &str, algorithm: &str) -> (String, String) {
    let prefix = dir.join(name);
    ok(&[
        "generate-key-pair",
        "--output-key-prefix",
        prefix.to_str().unwrap(),
        "--algorithm",
        algorithm,
    ]);
    (
        format!("{}.key", prefix.display()),
        format!("{}.pub", prefix.display()),
    )
}

/// A file of vouch-sign's test data (public Sigstore vectors and their licences).
pub fn sign_data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sign/tests/data")
        .join(path)
}

/// Reads the JSON report a serving command (`instance serve -o json`) prints once everything
/// listens; the report may span several lines. Panics with what was read if the process exits
/// first.
#[allow(dead_code)]
pub fn read_json_report(stdout: impl std::io::Read) -> serde_json::Value {
    use std::io::BufRead as _;
    let mut text = String::new();
    let mut reader = std::io::BufReader::new(stdout);
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the server exited before its report: {text}"
        );
        text.push_str(&line);
        if let Ok(v) = serde_json::from_str(&text) {
            return v;
        }
    }
}

/// A test CA and a serving certificate for 127.0.0.1 signed by it (openssl, P-256): the
/// webhook's TLS in admission tests. Returns (CA cert, serving cert, serving key).
pub fn serving_cert(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = vouch_testkit::require_tool("openssl");
    let p = |n: &str| dir.join(n);
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    };
    let s = |p: &PathBuf| p.to_str().unwrap().to_owned();
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
        &["-days", "1", "-subj", "/CN=vouch test CA"],
        &["-keyout", &s(&p("ca.key")), "-out", &s(&p("ca.crt"))],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &["-subj", "/CN=vouch-admission.vouch-system.svc"],
        &["-keyout", &s(&p("tls.key")), "-out", &s(&p("tls.csr"))],
    ]
    .concat());
    std::fs::write(
        p("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:vouch-admission.vouch-system.svc\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &s(&p("tls.csr")),
        "-CA",
        &s(&p("ca.crt")),
        "-CAkey",
        &s(&p("ca.key")),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &s(&p("ext.cnf")),
        "-out",
        &s(&p("tls.crt")),
    ]);
    (p("ca.crt"), p("tls.crt"), p("tls.key"))
}
