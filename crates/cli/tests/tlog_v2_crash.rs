//! `vouch tlog serve --api v2` as a process: SIGKILL in the middle of concurrent appends,
//! restart, and check through the tlog-tiles read API alone that every acknowledged entry is
//! present at its index with a valid inclusion proof, that the new checkpoint is consistent
//! with the last one handed out before the kill, and that appends resume at the next index;
//! on SQLite, PostgreSQL and a tile directory.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use vouch_merkle::tiles::{TILE_WIDTH, TileNodes, parse_bundle};
use vouch_merkle::{
    KeyIdScheme, NoteVerifier, SignedCheckpoint, TileId, VerifiedCheckpoint, leaf_hash,
};
use vouch_sign::{KeyAlgorithm, SigningKey};

const VOUCH: &str = env!("CARGO_BIN_EXE_vouch");
const ORIGIN: &str = "tlog.test/v2";

fn write_ed25519_key(dir: &Path) -> (PathBuf, Vec<u8>) {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let der = key.to_pkcs8_der().expect("pkcs8");
    let b64 = B64.encode(der.as_bytes());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64"))
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let path = dir.join("log.key");
    std::fs::write(&path, pem).expect("write key");
    (path, key.public_key().spki_der().to_vec())
}

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

fn serve(db: &str, key: &Path) -> Serve {
    let mut child = Command::new(VOUCH)
        .args([
            "tlog", "serve", "--api", "v2", "--origin", ORIGIN, "--db", db,
        ])
        .args(["--listen", "127.0.0.1:0", "--key"])
        .arg(key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vouch tlog serve");
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

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let resp = agent().get(url).call().expect("GET");
    let status = resp.status().as_u16();
    (status, resp.into_body().read_to_vec().expect("body"))
}

fn request(signer: &SigningKey, artifact: &[u8]) -> Vec<u8> {
    let b64 = |b: &[u8]| B64.encode(b);
    serde_json::to_vec(&serde_json::json!({"hashedRekordRequestV002": {
        "digest": b64(&Sha256::digest(artifact)),
        "signature": {"content": b64(&signer.sign_bytes(artifact)),
                      "verifier": {"publicKey": {"rawBytes": b64(signer.public_key().spki_der())},
                                   "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}))
    .expect("json")
}

/// `Some((index, body, checkpoint))` for a 201; `None` once the server is gone.
fn append(url: &str, body: &[u8]) -> Option<(u64, Vec<u8>, String)> {
    let resp = agent()
        .post(format!("{url}/api/v2/log/entries"))
        .header("Content-Type", "application/json")
        .send(body)
        .ok()?;
    if resp.status().as_u16() != 201 {
        return None;
    }
    let json: serde_json::Value =
        serde_json::from_slice(&resp.into_body().read_to_vec().ok()?).ok()?;
    let index = json["logIndex"].as_str()?.parse().ok()?;
    let body = B64.decode(json["canonicalizedBody"].as_str()?).ok()?;
    let checkpoint = json["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()?
        .to_owned();
    Some((index, body, checkpoint))
}

/// index -> body of every acknowledged append, and the largest checkpoint handed out.
type Acked = (BTreeMap<u64, Vec<u8>>, (u64, String));

fn kill_during_appends(db: &str, key: &Path, trusted: &NoteVerifier) -> Acked {
    let mut server = serve(db, key);
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (url, acked, stop) = (server.url.clone(), Arc::clone(&acked), Arc::clone(&stop));
            let trusted = trusted.clone();
            std::thread::spawn(move || {
                let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Some((index, body, checkpoint)) =
                        append(&url, &request(&signer, format!("{t}/{i}").as_bytes()))
                    else {
                        return; // the server is gone
                    };
                    let size = SignedCheckpoint::parse(checkpoint.as_bytes())
                        .expect("checkpoint")
                        .verify(&trusted)
                        .expect("checkpoint signature")
                        .size();
                    let mut a = acked.lock().expect("lock");
                    assert!(
                        a.0.insert(index, body).is_none(),
                        "index {index} acknowledged twice"
                    );
                    if size > a.1.0 {
                        a.1 = (size, checkpoint);
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("lock").0.len() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("wait");
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.0.len() >= 300,
        "only {} appends acknowledged",
        acked.0.len()
    );
    acked
}

fn checkpoint(url: &str, trusted: &NoteVerifier) -> VerifiedCheckpoint {
    let (status, text) = get(&format!("{url}/checkpoint"));
    assert_eq!(status, 200);
    SignedCheckpoint::parse(&text)
        .expect("checkpoint")
        .verify(trusted)
        .expect("checkpoint signature")
        .expect_origin(ORIGIN)
        .expect("origin")
}

fn check_after_restart(db: &str, key: &Path, trusted: &NoteVerifier, acked: &Acked) {
    let server = serve(db, key);
    let url = server.url.clone();
    let head = checkpoint(&url, trusted);
    let size = head.size();
    let max_index = *acked.0.keys().last().expect("acked");
    assert!(
        size > max_index,
        "tree size {size} lost acknowledged index {max_index}"
    );
    let tiles = TileNodes::new(size, |t: &TileId| {
        let (status, body) = get(&format!("{url}/{}", t.path()));
        assert_eq!(status, 200, "{}", t.path());
        Ok(body)
    });
    let mut bundles: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
    for (index, body) in &acked.0 {
        let n = index / TILE_WIDTH;
        let bundle = bundles.entry(n).or_insert_with(|| {
            let width = (size - n * TILE_WIDTH).min(TILE_WIDTH) as u16;
            let id = TileId {
                level: None,
                index: n,
                width,
            };
            let (status, bytes) = get(&format!("{url}/{}", id.path()));
            assert_eq!(status, 200, "{}", id.path());
            parse_bundle(&bytes)
                .expect("bundle")
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect()
        });
        assert_eq!(
            &bundle[(index % TILE_WIDTH) as usize],
            body,
            "entry {index} changed"
        );
        let proof = vouch_merkle::prove_inclusion(&tiles, *index, size).expect("proof");
        head.verify_inclusion(&leaf_hash(body), &proof)
            .expect("acknowledged entry included");
    }
    let old = SignedCheckpoint::parse(acked.1.1.as_bytes())
        .expect("old")
        .verify(trusted)
        .expect("old checkpoint");
    let consistency =
        vouch_merkle::prove_consistency(&tiles, old.size(), size).expect("consistency proof");
    old.verify_consistency(&head, &consistency)
        .expect("consistent with the pre-crash checkpoint");
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let (index, _, _) = append(&url, &request(&signer, b"after the crash")).expect("append");
    assert_eq!(index, size, "appends resume at the next index");
}

fn run(db: &str, dir: &Path) {
    let (key, spki) = write_ed25519_key(dir);
    let trusted = NoteVerifier::from_spki_der(ORIGIN, &spki, KeyIdScheme::C2sp).expect("verifier");
    let acked = kill_during_appends(db, &key, &trusted);
    check_after_restart(db, &key, &trusted, &acked);
}

#[test]
fn v2_sigkill_during_appends_loses_nothing_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("log.db").display());
    run(&db, dir.path());
}

#[test]
fn v2_sigkill_during_appends_loses_nothing_tile_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("dir:{}", dir.path().join("tiles").display());
    run(&db, dir.path());
    // The directory alone is the log: checkpoint and tiles as files.
    assert!(dir.path().join("tiles/checkpoint").exists());
    assert!(dir.path().join("tiles/tile/0/000").exists());
}

#[test]
fn v2_sigkill_during_appends_loses_nothing_postgres() {
    let pg = vouch_testkit::PostgresServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    run(&pg.url, dir.path());
}

#[test]
fn v2_flags_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = write_ed25519_key(dir.path());
    let db = format!("dir:{}", dir.path().join("tiles").display());
    let out = Command::new(VOUCH)
        .args(["tlog", "serve", "--db", &db, "--key"])
        .arg(&key)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --api v2"));
    let out = Command::new(VOUCH)
        .args([
            "tlog",
            "serve",
            "--api",
            "v2",
            "--origin",
            "has space",
            "--db",
            &db,
        ])
        .arg("--key")
        .arg(&key)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without spaces"));
}
