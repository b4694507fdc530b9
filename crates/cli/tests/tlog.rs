//! `vouch tlog serve` as a process: SIGKILL in the middle of concurrent appends, restart, and
//! check that nothing acknowledged was lost or renumbered (SQLite and PostgreSQL); and
//! `vouch tlog verify` / `monitor` against the running service.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::Client;

const VOUCH: &str = env!("CARGO_BIN_EXE_vouch");

fn write_log_key(dir: &Path) -> std::path::PathBuf {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let der = key.to_pkcs8_der().expect("pkcs8");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
    let body: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        body.join("\n")
    );
    let path = dir.join("log.key");
    std::fs::write(&path, pem).expect("write key");
    path
}

struct Serve {
    child: Child,
    url: String,
}

fn serve(db: &str, key: &Path) -> Serve {
    serve_with(db, key, &[])
}

fn serve_with(db: &str, key: &Path, extra: &[&str]) -> Serve {
    let mut command = Command::new(VOUCH);
    command
        .args([
            "tlog",
            "serve",
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--key",
        ])
        .arg(key)
        .args(extra);
    spawn_listening(command)
}

/// Spawns a service that prints `listening on URL` first.
fn spawn_listening(mut command: Command) -> Serve {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vouch serve");
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

fn hashedrekord(key: &SigningKey, artifact: &[u8]) -> serde_json::Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hex(&Sha256::digest(artifact))}},
        "signature": {"content": b64(&key.sign_bytes(artifact)),
                      "publicKey": {"content": b64(key.public_key().to_pem().as_bytes())}}}})
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn no_retry_client(url: &str) -> Client {
    let config = vouch_http::ClientConfig {
        retry: vouch_http::RetryPolicy {
            attempts: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    Client::with_config(url, &config).expect("client")
}

/// index -> (entry ID, body) of every acknowledged append, and the largest acknowledged
/// checkpoint (tree size, text).
type Acked = (BTreeMap<u64, (String, String)>, (u64, String));

fn kill_during_appends(db: &str, key: &Path) -> Acked {
    let mut server = serve(db, key);
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (client, acked, stop) = (
                no_retry_client(&server.url),
                Arc::clone(&acked),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok((id, entry)) =
                        client.upload(&hashedrekord(&signer, format!("{t}/{i}").as_bytes()))
                    else {
                        return; // the server is gone
                    };
                    let proof = entry
                        .verification
                        .as_ref()
                        .and_then(|v| v.inclusion_proof.clone())
                        .expect("proof");
                    let mut a = acked.lock().expect("lock");
                    assert!(
                        a.0.insert(entry.log_index, (id, entry.body)).is_none(),
                        "index {} acknowledged twice",
                        entry.log_index
                    );
                    if proof.tree_size > a.1.0 {
                        a.1 = (proof.tree_size, proof.checkpoint);
                    }
                }
            })
        })
        .collect();
    // Kill once a good number of appends have been acknowledged, while they keep coming.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("lock").0.len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("wait");
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.0.len() >= 200,
        "only {} appends acknowledged",
        acked.0.len()
    );
    acked
}

fn check_after_restart(db: &str, key: &Path, acked: &Acked) {
    let server = serve(db, key);
    let client = Client::new(&server.url).expect("client");
    let public = client.public_key().expect("public key");
    let info = client.log_info().expect("info");
    let max_index = *acked.0.keys().last().expect("acked");
    assert!(
        info.tree_size > max_index,
        "tree size {} lost acknowledged index {max_index}",
        info.tree_size
    );
    for (index, (id, body)) in &acked.0 {
        let (found_id, entry) = client.entry_at(*index).expect("acknowledged entry present");
        assert_eq!(
            (&found_id, &entry.body),
            (id, body),
            "entry at index {index} changed"
        );
    }
    // The tree after the restart extends the last checkpoint handed out before the kill.
    let old = vouch_tlog::verify_checkpoint(&public, &acked.1.1).expect("old checkpoint");
    let new =
        vouch_tlog::verify_checkpoint(&public, &info.signed_tree_head).expect("new checkpoint");
    let proof = client.consistency(old.size(), new.size()).expect("proof");
    let hashes = proof.hashes.iter().map(|h| vouch_merkle_hash(h)).collect();
    old.verify_consistency(
        &new,
        &vouch_merkle::ConsistencyProof::new(old.size(), new.size(), hashes),
    )
    .expect("consistent with the pre-crash checkpoint");
    // Appends continue at the next index: none is reused.
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let (_, entry) = client
        .upload(&hashedrekord(&signer, b"after the crash"))
        .expect("append");
    assert_eq!(entry.log_index, info.tree_size);
    drop(server);
}

fn vouch_merkle_hash(h: &str) -> vouch_merkle::Hash {
    vouch_merkle::Hash::from_hex(h).expect("hex")
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigkill_during_appends_loses_nothing_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = write_log_key(dir.path());
    let db = format!("sqlite:{}", dir.path().join("log.db").display());
    let acked = kill_during_appends(&db, &key);
    check_after_restart(&db, &key, &acked);
}

#[test]
fn sigkill_during_appends_loses_nothing_postgres() {
    let pg = vouch_testkit::PostgresServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let key = write_log_key(dir.path());
    let acked = kill_during_appends(&pg.url, &key);
    check_after_restart(&pg.url, &key, &acked);
}

#[test]
fn verify_and_monitor_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = write_log_key(dir.path());
    let db = format!("sqlite:{}", dir.path().join("log.db").display());
    let server = serve(&db, &key);
    let client = Client::new(&server.url).expect("client");
    let pub_path = dir.path().join("log.pub");
    std::fs::write(&pub_path, client.public_key().expect("key").to_pem()).expect("write pub");
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let (id, _) = client
        .upload(&hashedrekord(&signer, b"one"))
        .expect("upload");
    let state = dir.path().join("state.json");
    let vouch = |args: &[&str]| {
        Command::new(VOUCH)
            .args(args)
            .args(["--url", &server.url, "--public-key"])
            .arg(&pub_path)
            .output()
            .expect("run")
    };
    let out = vouch(&["tlog", "verify", "--entry", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("entry verified"));
    let state_arg = state.to_str().expect("utf8");
    let out = vouch(&["tlog", "monitor", "--state", state_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    client
        .upload(&hashedrekord(&signer, b"two"))
        .expect("upload");
    let out = vouch(&["-o", "json", "tlog", "monitor", "--state", state_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["consistency_verified"], true);
    assert_eq!(report["current"]["size"], 2);

    // A fork: the log key signs a different root for the size the monitor recorded (what a
    // compromised log shows one victim). The monitor must refuse it, exit 3, loudly.
    let mut forged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("json");
    let log_key =
        vouch_tlog::LogKey::from_pem(&std::fs::read_to_string(&key).expect("key"), "vouch-tlog")
            .expect("key");
    let tree_id: u64 = client
        .log_info()
        .expect("info")
        .tree_id
        .parse()
        .expect("tree id");
    let fake = log_key
        .sign_checkpoint(tree_id, 2, vouch_merkle::Hash::new([7; 32]))
        .expect("sign");
    forged["checkpoint"] = serde_json::Value::String(fake);
    std::fs::write(&state, serde_json::to_vec(&forged).expect("json")).expect("write");
    let out = vouch(&["tlog", "monitor", "--state", state_arg]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOG MISBEHAVIOUR") && stderr.contains("FORK"),
        "{stderr}"
    );
    // The recorded evidence is left as it was.
    assert_eq!(
        std::fs::read(&state).expect("state"),
        serde_json::to_vec(&forged).expect("json")
    );
}

/// A private CA and a server certificate for 127.0.0.1 made with `openssl` (as a site's PKI
/// would); returns (CA certificate, server certificate, server key) paths.
fn tls_material(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = vouch_testkit::require_tool("openssl");
    let (ca_key, ca_crt) = (dir.join("ca.key"), dir.join("ca.crt"));
    let (key, csr, crt) = (
        dir.join("tls.key"),
        dir.join("tls.csr"),
        dir.join("tls.crt"),
    );
    let ext = dir.join("san.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext");
    let p = |p: &Path| p.to_str().expect("utf8").to_owned();
    for args in [
        vec![
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &p(&ca_key),
        ],
        vec![
            "req",
            "-x509",
            "-new",
            "-key",
            &p(&ca_key),
            "-subj",
            "/CN=vouch test CA",
            "-days",
            "2",
            "-out",
            &p(&ca_crt),
        ],
        vec![
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &p(&key),
        ],
        vec![
            "req",
            "-new",
            "-key",
            &p(&key),
            "-subj",
            "/CN=127.0.0.1",
            "-out",
            &p(&csr),
        ],
        vec![
            "x509",
            "-req",
            "-in",
            &p(&csr),
            "-CA",
            &p(&ca_crt),
            "-CAkey",
            &p(&ca_key),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p(&ext),
            "-out",
            &p(&crt),
        ],
    ] {
        vouch_testkit::run(Command::new(&openssl).args(&args));
    }
    (ca_crt, crt, key)
}

/// `--tls-cert/--tls-key`: `vouch tlog serve` and `vouch ca serve` answer over HTTPS; a client
/// trusting the private CA (`--ca`, `ClientConfig::ca_pem`) talks to them, one without it
/// refuses the connection.
#[test]
fn https_serving_with_a_private_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, tls_key) = tls_material(dir.path());
    let key = write_log_key(dir.path());
    let db = format!("sqlite:{}", dir.path().join("log.db").display());
    let tls_args = [
        "--tls-cert",
        cert.to_str().expect("utf8"),
        "--tls-key",
        tls_key.to_str().expect("utf8"),
    ];
    let server = serve_with(&db, &key, &tls_args);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // In-process client with the CA: upload and read back over HTTPS.
    let trusting = vouch_http::ClientConfig {
        ca_pem: vec![std::fs::read(&ca).expect("ca")],
        ..Default::default()
    };
    let client = Client::with_config(&server.url, &trusting).expect("client");
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let (id, entry) = client
        .upload(&hashedrekord(&signer, b"over https"))
        .expect("upload over HTTPS");
    assert_eq!(entry.log_index, 0);
    let pub_path = dir.path().join("log.pub");
    std::fs::write(&pub_path, client.public_key().expect("key").to_pem()).expect("write");

    // The CLI with --ca verifies; without it the handshake is refused (unknown issuer).
    let verify = |ca: Option<&Path>| {
        let mut c = Command::new(VOUCH);
        c.args([
            "tlog",
            "verify",
            "--url",
            &server.url,
            "--entry",
            &id,
            "--public-key",
        ])
        .arg(&pub_path);
        if let Some(ca) = ca {
            c.arg("--ca").arg(ca);
        }
        c.output().expect("run")
    };
    let out = verify(Some(&ca));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("entry verified"));
    let out = verify(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("certificate") || stderr.contains("UnknownIssuer"),
        "{stderr}"
    );
    // An in-process client with the public roots only refuses too.
    let untrusting = vouch_http::ClientConfig {
        retry: vouch_http::RetryPolicy {
            attempts: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let refused = Client::with_config(&server.url, &untrusting)
        .expect("client")
        .log_info();
    assert!(refused.is_err(), "{refused:?}");
    // Plain HTTP to the HTTPS port gets no answer.
    let plain = no_retry_client(&server.url.replacen("https://", "http://", 1)).log_info();
    assert!(plain.is_err(), "{plain:?}");

    // `vouch ca serve` takes the same flags.
    let mut command = Command::new(VOUCH);
    command
        .args(["ca", "serve", "--init", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("ca-dir"))
        .args(["--email-issuer", "http://127.0.0.1:9"])
        .args(tls_args);
    let ca_server = spawn_listening(command);
    assert!(ca_server.url.starts_with("https://"), "{}", ca_server.url);
    let http = vouch_http::Client::new(&trusting).expect("client");
    let url = format!("{}/api/v2/configuration", ca_server.url);
    let mut response = http
        .send("GET configuration", |agent| agent.get(&url).call())
        .expect("GET over HTTPS");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.body_mut().read_to_vec().expect("body");
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    let http = vouch_http::Client::new(&untrusting).expect("client");
    assert!(
        http.send("GET configuration", |agent| agent.get(&url).call())
            .is_err()
    );
}
