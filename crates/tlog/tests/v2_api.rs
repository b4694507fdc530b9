#![allow(missing_docs, clippy::unwrap_used)]
//! Rekor v2 over HTTP, on SQLite, PostgreSQL and the tile directory: the TransparencyLogEntry
//! answered for hashedrekord and dsse requests (canonical body rebuilt independently, log ID,
//! checkpoint signature, inclusion proof), de-duplication of equivalent requests, the
//! tlog-tiles reads (tiles, entry bundles, caching headers) proving inclusion and consistency
//! on their own, and the refusals (400 naming the field, 413, 404).
use crate::common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use common::{TestServer, b64, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vouch_merkle::tiles::{TileNodes, parse_bundle};
use vouch_merkle::{Hash, KeyIdScheme, NoteVerifier, SignedCheckpoint, TileId, leaf_hash};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::v2::TransparencyLogEntry;
use vouch_tlog::{DirStorage, Limits, LogKey, SqliteStorage, Storage};

const ORIGIN: &str = "log.example/v2";

fn v2_key() -> LogKey {
    LogKey::new_v2(SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(), ORIGIN).unwrap()
}

/// A HashedRekordRequestV002 over `artifact`, as sigstore-python sends it.
fn hashed_request(signer: &SigningKey, artifact: &[u8]) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": b64(&Sha256::digest(artifact)),
        "signature": {"content": b64(&crate::common::signature(signer, artifact)),
                      "verifier": {"publicKey": {"rawBytes": b64(signer.public_key().spki_der())},
                                   "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}})
}

/// The canonical body a Rekor v2 hashedrekord must have (as crates/sign and sigstore-python
/// rebuild it), written out by hand.
fn expected_hashed_body(signer: &SigningKey, artifact: &[u8], signature: &str) -> String {
    format!(
        r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"SHA2_256","digest":"{}"}},"signature":{{"content":"{signature}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{{"rawBytes":"{}"}}}}}}}}}}}}"#,
        b64(&Sha256::digest(artifact)),
        b64(signer.public_key().spki_der()),
    )
}

struct Http {
    status: u16,
    cache_control: Option<String>,
    content_type: Option<String>,
    log_index: Option<String>,
    body: Vec<u8>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn http(resp: ureq::http::Response<ureq::Body>) -> Http {
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, cache_control, content_type, log_index) = (
        resp.status().as_u16(),
        header("cache-control"),
        header("content-type"),
        header("x-log-index"),
    );
    Http {
        status,
        cache_control,
        content_type,
        log_index,
        body: resp.into_body().read_to_vec().unwrap(),
    }
}

fn fetch(url: &str) -> Http {
    http(agent().get(url).call().unwrap())
}

fn create(url: &str, request: &Value) -> Http {
    http(
        agent()
            .post(format!("{url}/api/v2/log/entries"))
            .header("Content-Type", "application/json")
            .send(serde_json::to_vec(request).unwrap().as_slice())
            .unwrap(),
    )
}

fn tle(answer: &Http) -> TransparencyLogEntry {
    assert!(
        answer.status == 201 || answer.status == 200,
        "{}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

fn verifier(key: &LogKey) -> NoteVerifier {
    NoteVerifier::from_spki_der(ORIGIN, key.public_key().spki_der(), KeyIdScheme::C2sp).unwrap()
}

/// Verifies a TransparencyLogEntry as a Sigstore client does: checkpoint signed by the trusted
/// key under the origin, root and size matching it, the inclusion proof of the body's leaf.
fn check_entry(entry: &TransparencyLogEntry, trusted: &NoteVerifier) -> (u64, Vec<u8>) {
    let body = B64.decode(&entry.canonicalized_body).unwrap();
    let proof = &entry.inclusion_proof;
    let checkpoint = SignedCheckpoint::parse(proof.checkpoint.envelope.as_bytes())
        .unwrap()
        .verify(trusted)
        .unwrap()
        .expect_origin(ORIGIN)
        .unwrap();
    let size: u64 = proof.tree_size.parse().unwrap();
    let index: u64 = entry.log_index.parse().unwrap();
    assert_eq!(proof.log_index, entry.log_index);
    assert_eq!(checkpoint.size(), size);
    assert_eq!(
        checkpoint.root(),
        Hash::from_slice(&B64.decode(&proof.root_hash).unwrap()).unwrap()
    );
    let hashes = proof
        .hashes
        .iter()
        .map(|h| Hash::from_slice(&B64.decode(h).unwrap()).unwrap())
        .collect();
    checkpoint
        .verify_inclusion(
            &leaf_hash(&body),
            &vouch_merkle::InclusionProof::new(index, size, hashes),
        )
        .unwrap();
    (index, body)
}

/// The whole v2 surface against one storage.
fn exercise(storage: Box<dyn Storage>, dir: Option<&std::path::Path>) {
    let key = v2_key();
    let log_id = key.log_id();
    let trusted = verifier(&key);
    let limits = Limits {
        max_request_bytes: 64 << 10,
        ..Limits::default()
    };
    let server = TestServer::start(storage, key, limits);
    let url = server.url.clone();
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();

    // hashedrekord: 201 with the TransparencyLogEntry.
    let request = hashed_request(&signer, b"artifact 0");
    let answer = create(&url, &request);
    assert_eq!(answer.status, 201);
    assert_eq!(answer.log_index.as_deref(), Some("0"));
    let raw: Value = serde_json::from_slice(&answer.body).unwrap();
    assert!(raw.get("integratedTime").is_none() && raw.get("inclusionPromise").is_none());
    let first = tle(&answer);
    assert_eq!(first.log_id.key_id, B64.encode(log_id));
    // rekor-tiles' log ID for an Ed25519 key: SHA-256(origin || "\n" || 0x01 || key).
    let spki = server.log.key().public_key().spki_der().to_vec();
    let mut c2sp = Sha256::new();
    c2sp.update(format!("{ORIGIN}\n").as_bytes());
    c2sp.update([0x01]);
    c2sp.update(&spki[spki.len() - 32..]);
    assert_eq!(log_id, <[u8; 32]>::from(c2sp.finalize()));
    assert_eq!(
        (
            first.kind_version.kind.as_str(),
            first.kind_version.version.as_str()
        ),
        ("hashedrekord", "0.0.2")
    );
    let (index, body) = check_entry(&first, &trusted);
    assert_eq!(index, 0);
    let sig = request["hashedRekordRequestV002"]["signature"]["content"]
        .as_str()
        .unwrap();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        expected_hashed_body(&signer, b"artifact 0", sig)
    );

    // The same entry again, its digest and key in another base64 alphabet: answered as
    // rekor-tiles answers a duplicate (gRPC AlreadyExists through grpc-gateway: 409, the
    // google.rpc.Status in protojson, the existing index in x-log-index), nothing appended.
    let mut again = request.clone();
    again["hashedRekordRequestV002"]["digest"] =
        json!(URL_SAFE_NO_PAD.encode(Sha256::digest(b"artifact 0")));
    again["hashedRekordRequestV002"]["signature"]["verifier"]["publicKey"]["rawBytes"] =
        json!(URL_SAFE_NO_PAD.encode(signer.public_key().spki_der()));
    let dup = create(&url, &again);
    assert_eq!(dup.status, 409, "{}", String::from_utf8_lossy(&dup.body));
    assert_eq!(dup.log_index.as_deref(), Some("0"));
    assert_eq!(dup.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        String::from_utf8(dup.body).unwrap(),
        r#"{"code":6,"message":"an equivalent entry already exists in the transparency log with index 0","details":[]}"#
    );
    let head = fetch(&format!("{url}/checkpoint"));
    assert_eq!(head.status, 200);
    assert_eq!(
        SignedCheckpoint::parse(&head.body)
            .unwrap()
            .verify(&trusted)
            .unwrap()
            .size(),
        1,
        "a duplicate appended nothing"
    );

    // dsse: every signature verified over the PAE; body with the payload hash.
    let envelope = common::envelope(&signer, b"artifact 0");
    let dsse = json!({"dsseRequestV002": {
        "envelope": {"payload": b64(&envelope.payload), "payloadType": envelope.payload_type,
                     "signatures": [{"sig": b64(&envelope.signatures[0].sig), "keyid": ""}]},
        "verifiers": [{"publicKey": {"rawBytes": b64(signer.public_key().spki_der())},
                       "keyDetails": "PKIX_ECDSA_P256_SHA_256"}]}});
    let d = tle(&create(&url, &dsse));
    let (index, body) = check_entry(&d, &trusted);
    assert_eq!(index, 1);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!(
            r#"{{"apiVersion":"0.0.2","kind":"dsse","spec":{{"dsseV002":{{"payloadHash":{{"algorithm":"SHA2_256","digest":"{}"}},"signatures":[{{"content":"{}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{{"rawBytes":"{}"}}}}}}]}}}}}}"#,
            b64(&Sha256::digest(&envelope.payload)),
            b64(&envelope.signatures[0].sig),
            b64(signer.public_key().spki_der())
        )
    );
    assert_eq!(d.kind_version.kind, "dsse");

    // Concurrent appends past a full tile.
    let checkpoint_at_2 = fetch(&format!("{url}/checkpoint"));
    assert_eq!(checkpoint_at_2.status, 200);
    assert_eq!(
        checkpoint_at_2.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let early = SignedCheckpoint::parse(&checkpoint_at_2.body)
        .unwrap()
        .verify(&trusted)
        .unwrap();
    assert_eq!(early.size(), 2);
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (url, bodies) = (url.clone(), Arc::clone(&bodies));
            std::thread::spawn(move || {
                let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
                for i in 0..75 {
                    let artifact = format!("artifact {t}/{i}");
                    let e = tle(&create(&url, &hashed_request(&signer, artifact.as_bytes())));
                    bodies.lock().unwrap().push(e);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let entries = bodies.lock().unwrap().clone();
    assert_eq!(entries.len(), 300);
    for e in &entries {
        check_entry(e, &trusted);
    }

    // The read API alone: checkpoint, tiles and bundles prove every entry.
    let text = fetch(&format!("{url}/checkpoint")).body;
    let head = SignedCheckpoint::parse(&text)
        .unwrap()
        .verify(&trusted)
        .unwrap();
    assert_eq!(head.size(), 302);
    if let Some(dir) = dir {
        assert_eq!(std::fs::read(dir.join("checkpoint")).unwrap(), text);
        assert_eq!(
            std::fs::read(dir.join("tile/0/000")).unwrap(),
            fetch(&format!("{url}/tile/0/000")).body
        );
        assert!(dir.join("tile/entries/001.p/46").exists());
    }
    let full = fetch(&format!("{url}/tile/0/000"));
    assert_eq!(full.status, 200);
    assert_eq!(full.body.len(), 8192);
    assert_eq!(
        full.cache_control.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        full.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let size = head.size();
    let tiles = TileNodes::new(size, |t: &TileId| {
        let answer = fetch(&format!("{url}/{}", t.path()));
        assert_eq!(answer.status, 200, "{}", t.path());
        Ok(answer.body)
    });
    let mut bundle_entries = Vec::new();
    for n in 0..2u64 {
        let width = if n == 0 { 256 } else { 46 };
        let id = TileId {
            level: None,
            index: n,
            width,
        };
        let answer = fetch(&format!("{url}/{}", id.path()));
        assert_eq!(answer.status, 200);
        bundle_entries.extend(
            parse_bundle(&answer.body)
                .unwrap()
                .into_iter()
                .map(<[u8]>::to_vec),
        );
    }
    assert_eq!(bundle_entries.len(), 302);
    for (index, body) in bundle_entries.iter().enumerate() {
        let proof = vouch_merkle::prove_inclusion(&tiles, index as u64, size).unwrap();
        head.verify_inclusion(&leaf_hash(body), &proof).unwrap();
    }
    for e in &entries {
        let index: usize = e.log_index.parse().unwrap();
        assert_eq!(
            B64.encode(&bundle_entries[index]),
            e.canonicalized_body,
            "bundle entry {index}"
        );
    }
    let consistency = vouch_merkle::prove_consistency(&tiles, 2, size).unwrap();
    early.verify_consistency(&head, &consistency).unwrap();
    // A partial tile smaller than the current one is still served (its hashes never change);
    // the rekor-tiles gateway paths serve the same bytes.
    let old_partial = fetch(&format!("{url}/tile/0/000.p/2"));
    assert_eq!(old_partial.status, 200);
    assert_eq!(old_partial.body, full.body[..64]);
    assert_eq!(fetch(&format!("{url}/api/v2/tile/0/000")).body, full.body);
    assert_eq!(fetch(&format!("{url}/api/v2/checkpoint")).body, text);

    // Out of range: 404; malformed: 400.
    for path in [
        "tile/0/001",
        "tile/0/001.p/47",
        "tile/1/000",
        "tile/1/000.p/2",
        "tile/2/000.p/1",
        "tile/entries/002.p/1",
        "tile/entries/001",
        "tile/0/x001/000",
        "tile/63/000.p/1",
    ] {
        let answer = fetch(&format!("{url}/{path}"));
        assert_eq!(answer.status, 404, "{path}");
    }
    assert_eq!(fetch(&format!("{url}/tile/1/000.p/1")).status, 200);
    for path in [
        "tile/0/0",
        "tile/0/000.p/0",
        "tile/64/000",
        "tile/0/x000/001",
        "tile/a/000",
    ] {
        let answer = fetch(&format!("{url}/{path}"));
        assert_eq!(answer.status, 400, "{path}");
    }
    drop(server);
}

#[test]
fn v2_log_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(
        Box::new(SqliteStorage::open(dir.path().join("log.db")).unwrap()),
        None,
    );
}

#[test]
fn v2_log_on_a_tile_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tiles");
    exercise(Box::new(DirStorage::open(&root).unwrap()), Some(&root));
}

#[test]
fn v2_log_on_postgres() {
    let pg = vouch_testkit::PostgresServer::start();
    exercise(
        Box::new(vouch_tlog::PostgresStorage::open(&pg.url).unwrap()),
        None,
    );
}

/// Every refusal is a 400 (or 413) naming what was wrong, and appends nothing.
#[test]
fn v2_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path().join("log.db")).unwrap();
    let limits = Limits {
        max_request_bytes: 16 << 10,
        ..Limits::default()
    };
    let server = TestServer::start(Box::new(storage), v2_key(), limits);
    let url = server.url.clone();
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let good = hashed_request(&signer, b"x");
    let with = |path: &[&str], value: Value| {
        let mut r = good.clone();
        let mut at = &mut r["hashedRekordRequestV002"];
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        r
    };
    let p384 = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    let ed = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not JSON", b"{".to_vec(), "CreateEntryRequest"),
        ("not an object", b"[]".to_vec(), "CreateEntryRequest"),
        (
            "unknown type",
            br#"{"intotoRequestV002": {}}"#.to_vec(),
            "unknown entry type",
        ),
        (
            "two types",
            serde_json::to_vec(
                &json!({"hashedRekordRequestV002": good["hashedRekordRequestV002"],
                                       "dsseRequestV002": {}}),
            )
            .unwrap(),
            "exactly one",
        ),
        (
            "digest not base64",
            serde_json::to_vec(&with(&["digest"], json!("!!"))).unwrap(),
            "hashedRekordRequestV002.digest",
        ),
        (
            "short digest",
            serde_json::to_vec(&with(&["digest"], json!(b64(&[1; 20])))).unwrap(),
            "hashedRekordRequestV002.digest",
        ),
        (
            "signature over another artifact",
            serde_json::to_vec(&with(
                &["signature", "content"],
                json!(b64(&signer.sign_bytes(b"y"))),
            ))
            .unwrap(),
            "hashedrekord signature over the digest",
        ),
        (
            "empty signature",
            serde_json::to_vec(&with(&["signature", "content"], json!(""))).unwrap(),
            "signature.content",
        ),
        (
            "key details of another key type",
            serde_json::to_vec(&with(
                &["signature", "verifier", "keyDetails"],
                json!("PKIX_ECDSA_P384_SHA_384"),
            ))
            .unwrap(),
            "needs an ECDSA P-384 key",
        ),
        (
            "a P-384 key under P-256 details",
            serde_json::to_vec(&with(
                &["signature", "verifier", "publicKey", "rawBytes"],
                json!(b64(p384.public_key().spki_der())),
            ))
            .unwrap(),
            "needs an ECDSA P-256 key",
        ),
        (
            "Ed25519 (pure) is not a hashedrekord algorithm",
            serde_json::to_vec(&with(
                &["signature", "verifier"],
                json!({"publicKey": {"rawBytes": b64(ed.public_key().spki_der())},
                       "keyDetails": "PKIX_ED25519"}),
            ))
            .unwrap(),
            "keyDetails \"PKIX_ED25519\" is not accepted",
        ),
        (
            "not a key",
            serde_json::to_vec(&with(
                &["signature", "verifier", "publicKey", "rawBytes"],
                json!(b64(b"garbage")),
            ))
            .unwrap(),
            "invalid hashedRekordRequestV002.signature.verifier",
        ),
        (
            "no verifier",
            serde_json::to_vec(&with(
                &["signature", "verifier"],
                json!({"keyDetails": "PKIX_ECDSA_P256_SHA_256"}),
            ))
            .unwrap(),
            "exactly one of publicKey or x509Certificate",
        ),
        (
            "not a certificate",
            serde_json::to_vec(&with(
                &["signature", "verifier"],
                json!({"x509Certificate": {"rawBytes": b64(b"garbage")},
                       "keyDetails": "PKIX_ECDSA_P256_SHA_256"}),
            ))
            .unwrap(),
            "invalid hashedRekordRequestV002.signature.verifier",
        ),
    ];
    for (name, body, expected) in &cases {
        let answer = post(&format!("{url}/api/v2/log/entries"), body);
        assert_eq!(
            answer.status,
            400,
            "{name}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let text = answer.json()["message"].as_str().unwrap().to_owned();
        assert!(text.contains(expected), "{name}: {text} lacks {expected:?}");
    }
    // DSSE: a signature no verifier verifies; a verifier that verifies nothing.
    let envelope = common::envelope(&signer, b"x");
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let verifier_of = |k: &SigningKey| {
        json!({"publicKey": {"rawBytes": b64(k.public_key().spki_der())},
               "keyDetails": "PKIX_ECDSA_P256_SHA_256"})
    };
    for verifiers in [
        json!([verifier_of(&other)]),
        json!([verifier_of(&signer), verifier_of(&signer)]),
    ] {
        let dsse = json!({"dsseRequestV002": {
            "envelope": {"payload": b64(&envelope.payload), "payloadType": envelope.payload_type,
                         "signatures": [{"sig": b64(&envelope.signatures[0].sig)}]},
            "verifiers": verifiers}});
        let answer = create(&url, &dsse);
        assert_eq!(
            answer.status,
            400,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    // Tampered payload: the signature no longer verifies.
    let dsse = json!({"dsseRequestV002": {
        "envelope": {"payload": b64(b"{}"), "payloadType": envelope.payload_type,
                     "signatures": [{"sig": b64(&envelope.signatures[0].sig)}]},
        "verifiers": [verifier_of(&signer)]}});
    let answer = create(&url, &dsse);
    assert_eq!(answer.status, 400);
    assert!(String::from_utf8_lossy(&answer.body).contains("DSSE signature"));
    // Oversized body.
    let big = vec![b' '; 17 << 10];
    let answer = post(&format!("{url}/api/v2/log/entries"), &big);
    assert_eq!(answer.status, 413);
    assert!(String::from_utf8_lossy(&answer.body).contains("request body too large"));
    // Nothing was appended.
    assert_eq!(server.log.storage().size().unwrap(), 0);
    // The v1 API is not served by a v2 log.
    let v1 = post(
        &format!("{url}/api/v1/log/entries"),
        &serde_json::to_vec(&common::hashedrekord(&signer, b"x")).unwrap(),
    );
    assert_eq!(v1.status, 404);
    let empty = fetch(&format!("{url}/tile/0/000.p/1"));
    assert_eq!(empty.status, 404);
}

/// The v1 log de-duplicates on the canonical body too: an upper-case digest or a PEM with
/// CRLF line ends and another wrapping is the same entry.
#[test]
fn v1_duplicates_with_upper_case_hash_or_crlf_pem() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path().join("log.db")).unwrap();
    let key = LogKey::generate(KeyAlgorithm::EcdsaP256, "log.example").unwrap();
    let server = TestServer::start(Box::new(storage), key, Limits::default());
    let url = &server.url;
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let entry = common::hashedrekord(&signer, b"one");
    assert_eq!(
        post(
            &format!("{url}/api/v1/log/entries"),
            &serde_json::to_vec(&entry).unwrap()
        )
        .status,
        201
    );
    let mut upper = entry.clone();
    let value = entry["spec"]["data"]["hash"]["value"].as_str().unwrap();
    upper["spec"]["data"]["hash"]["value"] = json!(value.to_uppercase());
    let pem = signer.public_key().to_pem();
    let crlf: String = {
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let wrapped: Vec<String> = body
            .as_bytes()
            .chunks(40)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\r\n{}\r\n-----END PUBLIC KEY-----\r\n",
            wrapped.join("\r\n")
        )
    };
    let mut crlf_entry = entry.clone();
    crlf_entry["spec"]["signature"]["publicKey"]["content"] = json!(b64(crlf.as_bytes()));
    for variant in [upper, crlf_entry] {
        let answer = post(
            &format!("{url}/api/v1/log/entries"),
            &serde_json::to_vec(&variant).unwrap(),
        );
        assert_eq!(
            answer.status,
            409,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    assert_eq!(server.log.storage().size().unwrap(), 1);
}
