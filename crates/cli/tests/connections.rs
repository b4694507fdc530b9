//! `vouch instance serve` under a connection flood (issue 19): 10x the per-service connection
//! limit held idle and trickling against the CA port; the log and the OIDC issuer in the same
//! process still answer within 1 s, and the flood's connections are all closed (over the limit
//! at once, the held ones at the header timeout).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::vouch_cmd;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use vouch_testkit::free_port;

/// The per-service limit `instance serve` runs with (`ServerConfig::named`).
const SERVICE_LIMIT: usize = 128;

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on a new connection; every step bounded by 1 s. Returns the status line and body.
fn get(addr: SocketAddr, path: &str) -> Result<(String, String), String> {
    let second = Duration::from_secs(1);
    let mut s = TcpStream::connect_timeout(&addr, second).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(second)).unwrap();
    s.set_write_timeout(Some(second)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Whether the server closed `s` (EOF or reset) before `deadline`.
fn closed_before(s: &mut TcpStream, deadline: Instant) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_flooded_ca_does_not_starve_the_log_or_the_issuer_and_idle_connections_close() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, log, oidc) = (free_port(), free_port(), free_port());
    let addr = |p: u16| -> SocketAddr { format!("127.0.0.1:{p}").parse().unwrap() };
    let mut child = vouch_cmd(&[
        "instance",
        "serve",
        dir.path().join("instance").to_str().unwrap(),
        "--dev-oidc",
        "--listen-ca",
        &addr(ca).to_string(),
        "--listen-log",
        &addr(log).to_string(),
        "--listen-oidc",
        &addr(oidc).to_string(),
        "--listen-tsa",
        &addr(free_port()).to_string(),
        "-o",
        "json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let served = Served(child);
    // The JSON report is printed once everything listens.
    common::read_json_report(stdout);
    let (ca, log, oidc) = (addr(ca), addr(log), addr(oidc));
    let check = |when: &str| {
        for (service, at, path) in [
            ("log", log, "/healthz"),
            ("log", log, "/api/v1/log"),
            ("oidc", oidc, "/.well-known/openid-configuration"),
            ("oidc", oidc, "/jwks"),
        ] {
            let (status, body) = get(at, path)
                .unwrap_or_else(|e| panic!("{when}: {service} {path} did not answer in 1 s: {e}"));
            assert!(
                status.starts_with("HTTP/1.1 200"),
                "{when}: {service} {path}: {status} {body}"
            );
        }
    };
    check("before the flood");
    let (status, _) = get(ca, "/api/v2/configuration").unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    // 10x the CA's limit: half idle (connect, send nothing), half trickling a request head.
    let mut flood: Vec<TcpStream> = (0..SERVICE_LIMIT * 10)
        .map(|_| TcpStream::connect(ca).unwrap())
        .collect();
    for (i, s) in flood.iter_mut().enumerate() {
        if i % 2 == 1 {
            let _ = s.write_all(b"GET /api/v2/configuration HTTP/1.1\r\nX-Slow: ");
        }
    }
    for round in 0..3 {
        check(&format!("during the flood (round {round})"));
        for s in flood.iter_mut().skip(1).step_by(2) {
            let _ = s.write_all(b"a");
        }
    }

    // Every flood connection gets closed: the ones over the limit at once, the held ones
    // (idle or trickling) at the header timeout (10 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    let open: Vec<usize> = flood
        .iter_mut()
        .enumerate()
        .filter_map(|(i, s)| (!closed_before(s, deadline)).then_some(i))
        .collect();
    assert!(open.is_empty(), "flood connections still open: {open:?}");
    drop(flood);
    // And the CA serves again.
    let (status, _) = get(ca, "/api/v2/configuration").unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    check("after the flood");
    drop(served);
}
