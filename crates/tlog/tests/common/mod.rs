//! Shared helpers: entries signed with fresh keys, an in-process server on a loopback socket,
//! raw HTTP, and the storage-independent suite run against SQLite and PostgreSQL.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub, missing_docs)]

pub mod suite;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vouch_sign::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use vouch_sign::intoto::{Statement, Subject};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::{AppState, Limits, Log, LogKey, Storage};

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn key() -> SigningKey {
    SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key")
}

/// `key`'s signature over `artifact`, the same bytes each time it is asked in this process:
/// vouch's ECDSA signatures are hedged (a new signature per call, as Go's), and the tests
/// that resubmit an entry to see it de-duplicated need the very same request.
pub fn signature(key: &SigningKey, artifact: &[u8]) -> Vec<u8> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    /// (SubjectPublicKeyInfo, artifact) -> signature.
    type Made = HashMap<(Vec<u8>, Vec<u8>), Vec<u8>>;
    static MADE: OnceLock<Mutex<Made>> = OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    let id = (key.public_key().spki_der().to_vec(), artifact.to_vec());
    let mut made = made.lock().expect("signatures");
    made.entry(id)
        .or_insert_with(|| key.sign_bytes(artifact))
        .clone()
}

/// A blob bundle over `artifact` by `key` whose signature is [`signature`]'s, so the entry
/// [`hashedrekord`] makes for the same artifact is this bundle's.
pub fn sign_blob(key: &SigningKey, artifact: &[u8]) -> vouch_sign::bundle::Bundle {
    let mut bundle = vouch_sign::sign::sign_blob(artifact, key).expect("sign");
    match &mut bundle.content {
        vouch_sign::bundle::Content::MessageSignature(m) => m.signature = signature(key, artifact),
        other => panic!("a blob bundle holds a message signature: {other:?}"),
    }
    bundle
}

/// A hashedrekord over `artifact` signed by `key`.
pub fn hashedrekord(key: &SigningKey, artifact: &[u8]) -> Value {
    json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact))}},
        "signature": {"content": b64(&signature(key, artifact)),
                      "publicKey": {"content": b64(key.public_key().to_pem().as_bytes())}}}})
}

pub fn statement(artifact: &[u8]) -> Statement {
    Statement::new(
        vec![Subject::sha256(
            "artifact",
            hex::encode(Sha256::digest(artifact)),
        )],
        "https://example.com/predicate/v1",
        json!({"n": 1}),
    )
}

pub fn envelope(key: &SigningKey, artifact: &[u8]) -> Envelope {
    Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement(artifact).to_json(), key).expect("sign")
}

/// A dsse 0.0.1 proposal for `envelope`.
pub fn dsse(key: &SigningKey, envelope: &Envelope) -> Value {
    let text = String::from_utf8(envelope.to_json()).expect("utf8");
    json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {
        "envelope": text, "verifiers": [b64(key.public_key().to_pem().as_bytes())]}}})
}

/// An intoto 0.0.2 proposal (payload and sig base64 twice, as clients send it).
pub fn intoto(key: &SigningKey, envelope: &Envelope) -> Value {
    let payload = b64(&envelope.payload);
    let sig = b64(&envelope.signatures[0].sig);
    json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {"envelope": {
        "payloadType": envelope.payload_type, "payload": b64(payload.as_bytes()),
        "signatures": [{"sig": b64(sig.as_bytes()),
                        "publicKey": b64(key.public_key().to_pem().as_bytes())}]}}}})
}

/// A log service on a loopback port, in its own runtime.
pub struct TestServer {
    pub url: String,
    pub log: Arc<Log>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub fn start(storage: Box<dyn Storage>, key: LogKey, limits: Limits) -> Self {
        let log = Log::start(storage, key, limits).expect("log");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(Arc::clone(&log), false);
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            vouch_tlog::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        Self {
            url,
            log,
            runtime: Some(runtime),
            stop: Some(stop),
        }
    }

    pub fn client(&self) -> vouch_tlog::Client {
        vouch_tlog::Client::new(&self.url).expect("client")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// A raw HTTP answer: status, selected headers, body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn answer(resp: ureq::http::Response<ureq::Body>) -> Answer {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, location, etag, content_type) = (
        resp.status().as_u16(),
        header("location"),
        header("etag"),
        header("content-type"),
    );
    let body = resp.into_body().read_to_vec().expect("body");
    Answer {
        status,
        location,
        etag,
        content_type,
        body,
    }
}

pub fn get(url: &str) -> Answer {
    answer(agent().get(url).call().expect("GET"))
}

pub fn post(url: &str, body: &[u8]) -> Answer {
    answer(
        agent()
            .post(url)
            .header("Content-Type", "application/json")
            .send(body)
            .expect("POST"),
    )
}
