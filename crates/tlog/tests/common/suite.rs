//! The storage-independent suite: Rekor-shaped requests and answers, validation failures,
//! concurrency, proofs, bundles that vouch-sign's verifier accepts, restart.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_merkle::{Hash, leaf_hash};
use vouch_sign::bundle::Bundle;
use vouch_sign::trust_root::{TransparencyLog, Validity};
use vouch_sign::{
    Artifact, KeyAlgorithm, Limits as SignLimits, SignerPolicy, TrustedRoot, Verifier,
};
use vouch_tlog::{Limits, LogKey, Storage, verify_checkpoint, verify_entry};

use super::*;

/// Runs everything against storage opened by `open` (called again to simulate a restart).
pub fn run(open: &dyn Fn() -> Box<dyn Storage>) {
    let key_pem = {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("log key");
        let der = k.to_pkcs8_der().expect("pkcs8");
        der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, der.as_bytes())
            .expect("pem")
    };
    let log_key = || LogKey::from_pem(&key_pem, "tlog.test").expect("log key");
    let limits = Limits {
        max_request_bytes: 256 << 10,
        ..Limits::default()
    };
    let server = TestServer::start(open(), log_key(), limits.clone());
    let tree_id = server.log.tree_id();
    let public = server.log.key().public_key().clone();

    let signer = key();
    let first = create_and_check(&server, &signer, tree_id);
    duplicates_answer_409(&server, &signer);
    bundles_verify(&server, &signer);
    lookups(&server, &first, tree_id);
    rejections(&server);
    let before = server.client().log_info().expect("log info");
    concurrent_appends(&server, 4, 25);
    consistency_and_checkpoint(&server, &before, &public);
    let size = server.client().log_info().expect("info").tree_size;
    let root = server.client().log_info().expect("info").root_hash;
    drop(server);

    // Restart on the same database: same tree, same root, appends continue at the next index.
    let server = TestServer::start(open(), log_key(), limits);
    assert_eq!(server.log.tree_id(), tree_id);
    let info = server.client().log_info().expect("info");
    assert_eq!((info.tree_size, info.root_hash), (size, root));
    let (_, entry) = server
        .client()
        .upload(&hashedrekord(&signer, b"after restart"))
        .expect("upload");
    assert_eq!(entry.log_index, size);
    verify_entry(&entry.to_tlog_entry().expect("entry"), &public).expect("verifies");
    consistency_and_checkpoint(&server, &before, &public);
}

fn create_and_check(server: &TestServer, signer: &SigningKey, tree_id: u64) -> Value {
    let proposed = hashedrekord(signer, b"first artifact");
    let answer = post(
        &format!("{}/api/v1/log/entries", server.url),
        proposed.to_string().as_bytes(),
    );
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let json = answer.json();
    let map = json.as_object().expect("LogEntry is an object");
    assert_eq!(map.len(), 1);
    let (id, entry) = map.iter().next().expect("one entry");
    assert_eq!(id.len(), 80, "entry ID = 16 hex tree ID + 64 hex UUID");
    assert!(id.starts_with(&format!("{tree_id:016x}")));
    assert_eq!(answer.etag.as_deref(), Some(id.as_str()));
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/api/v1/log/entries/{id}").as_str())
    );
    // Rekor's field names, and nothing else.
    let keys: BTreeSet<&str> = entry
        .as_object()
        .expect("obj")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "body",
            "integratedTime",
            "logID",
            "logIndex",
            "verification"
        ])
    );
    assert_eq!(entry["logIndex"], 0);
    assert_eq!(entry["logID"], hex::encode(server.log.key().log_id()));
    let proof = &entry["verification"]["inclusionProof"];
    let keys: BTreeSet<&str> = proof
        .as_object()
        .expect("obj")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["checkpoint", "hashes", "logIndex", "rootHash", "treeSize"])
    );
    assert!(entry["verification"]["signedEntryTimestamp"].is_string());
    // The body is the RFC 8785 canonical form, and the UUID its RFC 6962 leaf hash.
    let body = B64
        .decode(entry["body"].as_str().expect("body"))
        .expect("b64");
    let canonical = vouch_tlog::jcs::to_vec(&serde_json::from_slice(&body).expect("json"));
    assert_eq!(body, canonical);
    assert_eq!(&id[16..], leaf_hash(&body).to_hex());
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        proposed
    );
    // The SET covers exactly the JCS of {body, integratedTime, logID, logIndex}.
    let set = B64
        .decode(
            entry["verification"]["signedEntryTimestamp"]
                .as_str()
                .expect("set"),
        )
        .expect("b64");
    let message = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":0}}"#,
        entry["body"].as_str().expect("body"),
        entry["integratedTime"],
        entry["logID"].as_str().expect("id")
    );
    server
        .log
        .key()
        .public_key()
        .verify("SET", message.as_bytes(), &set)
        .expect("SET verifies");
    // Checkpoint origin "<host> - <tree id>".
    let checkpoint = proof["checkpoint"].as_str().expect("checkpoint");
    assert!(
        checkpoint.starts_with(&format!("tlog.test - {tree_id}\n1\n")),
        "{checkpoint}"
    );
    assert!(checkpoint.contains("\n\u{2014} tlog.test "), "{checkpoint}");
    // The append's answer (its proof built by the sequencer in memory) is the entry as read
    // back from storage at the same tree size.
    let again = super::get(&format!("{}/api/v1/log/entries/{id}", server.url));
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), json);
    entry.clone()
}

fn duplicates_answer_409(server: &TestServer, signer: &SigningKey) {
    let size = server.client().log_info().expect("info").tree_size;
    let proposed = hashedrekord(signer, b"first artifact");
    let answer = post(
        &format!("{}/api/v1/log/entries", server.url),
        proposed.to_string().as_bytes(),
    );
    assert_eq!(answer.status, 409);
    let error = answer.json();
    assert_eq!(error["code"], 409);
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("already exists"),
        "{error}"
    );
    let uuid = vouch_tlog::canonicalize_value(&proposed, &Limits::default())
        .expect("canonical")
        .leaf;
    assert_eq!(answer.location, Some(format!("/api/v1/log/entries/{uuid}")));
    assert_eq!(server.client().log_info().expect("info").tree_size, size);
    // The client treats 409 as "already there" and returns the existing entry.
    let (_, existing) = server
        .client()
        .upload(&proposed)
        .expect("idempotent upload");
    assert_eq!(existing.log_index, 0);
}

fn trusted_root(server: &TestServer) -> TrustedRoot {
    let key = server.log.key().public_key().clone();
    TrustedRoot {
        tlogs: vec![TransparencyLog {
            base_url: server.url.clone(),
            log_id: key.key_id().to_vec(),
            key_details: "PKIX_ECDSA_P256_SHA_256".into(),
            key: Some(key),
            valid_for: Validity::default(),
        }],
        ..TrustedRoot::default()
    }
}

/// Answers from the log, put into bundles, pass `vouch_sign::Verifier` (inclusion proof,
/// checkpoint, SET, and the body-matches-bundle checks).
fn bundles_verify(server: &TestServer, signer: &SigningKey) {
    let verifier = Verifier::new(trusted_root(server));
    let policy = SignerPolicy::Key(signer.public_key());
    let client = server.client();

    let artifact = b"bundled artifact";
    let mut bundle = super::sign_blob(signer, artifact);
    let (_, entry) = client
        .upload(&hashedrekord(signer, artifact))
        .expect("upload");
    bundle
        .tlog_entries
        .push(entry.to_tlog_entry().expect("tlog entry"));
    let bundle = Bundle::from_json(&bundle.to_json(), &SignLimits::default()).expect("reparse");
    let verified = verifier
        .verify_blob(Artifact::Bytes(artifact), &bundle, &policy)
        .expect("verifies");
    let tlog = verified.evidence().tlog.as_ref().expect("tlog evidence");
    assert!(tlog.inclusion_proof_verified);
    assert!(tlog.integrated_time.is_some());

    let envelope = envelope(signer, b"attested");
    let mut bundle =
        vouch_sign::sign::sign_statement(&statement(b"attested"), signer).expect("sign");
    bundle.content = vouch_sign::bundle::Content::DsseEnvelope(envelope.clone());
    let (_, entry) = client
        .upload(&dsse(signer, &envelope))
        .expect("upload dsse");
    let tlog_entry = entry.to_tlog_entry().expect("tlog entry");
    assert_eq!(
        (tlog_entry.kind.as_str(), tlog_entry.kind_version.as_str()),
        ("dsse", "0.0.1")
    );
    bundle.tlog_entries.push(tlog_entry);
    verifier
        .verify_attestation(&bundle, None, None, &policy)
        .expect("dsse bundle verifies");

    // A tampered answer does not verify.
    let mut bad = entry.to_tlog_entry().expect("entry");
    bad.integrated_time += 1;
    assert!(verify_entry(&bad, server.log.key().public_key()).is_err());

    let (_, entry) = client
        .upload(&intoto(signer, &envelope))
        .expect("upload intoto");
    let body: Value = serde_json::from_slice(&entry.to_tlog_entry().expect("e").canonicalized_body)
        .expect("json");
    assert_eq!(body["kind"], "intoto");
    assert!(
        body["spec"]["content"]["envelope"].get("payload").is_none(),
        "payload is not stored"
    );
    verify_entry(
        &entry.to_tlog_entry().expect("e"),
        server.log.key().public_key(),
    )
    .expect("verifies");
}

fn lookups(server: &TestServer, first: &Value, tree_id: u64) {
    let body = B64
        .decode(first["body"].as_str().expect("body"))
        .expect("b64");
    let uuid = leaf_hash(&body).to_hex();
    let id = format!("{tree_id:016x}{uuid}");
    for path in [
        format!("entries/{uuid}"),
        format!("entries/{id}"),
        "entries?logIndex=0".to_owned(),
    ] {
        let answer = get(&format!("{}/api/v1/log/{path}", server.url));
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.json()[&id]["body"], first["body"], "{path}");
    }
    let missing = get(&format!(
        "{}/api/v1/log/entries/{}",
        server.url,
        "ab".repeat(32)
    ));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], 404);
    let retrieve = |query: Value| {
        let a = post(
            &format!("{}/api/v1/log/entries/retrieve", server.url),
            query.to_string().as_bytes(),
        );
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        a.json().as_array().expect("array").clone()
    };
    assert_eq!(retrieve(json!({"entryUUIDs": [uuid, id]})).len(), 2);
    assert_eq!(retrieve(json!({"logIndexes": [0, 1, 999]})).len(), 2);
    let proposed: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        retrieve(json!({"entries": [proposed]}))[0][&id]["logIndex"],
        0
    );
    let too_many = post(
        &format!("{}/api/v1/log/entries/retrieve", server.url),
        json!({"logIndexes": (0..11).collect::<Vec<_>>()})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(too_many.status, 413);

    let digest = proposed["spec"]["data"]["hash"]["value"]
        .as_str()
        .expect("digest");
    let search = |query: Value| {
        let a = post(
            &format!("{}/api/v1/index/retrieve", server.url),
            query.to_string().as_bytes(),
        );
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        a.json()
    };
    assert_eq!(
        search(json!({"hash": format!("sha256:{digest}")})),
        json!([id])
    );
    assert_eq!(search(json!({"hash": digest.to_uppercase()})), json!([id]));
    let pem = proposed["spec"]["signature"]["publicKey"]["content"].clone();
    let by_key = search(json!({"publicKey": {"format": "x509", "content": pem}}));
    assert!(
        by_key.as_array().expect("array").contains(&json!(id)),
        "{by_key}"
    );
    let both = search(
        json!({"operator": "and", "hash": format!("sha256:{digest}"),
                             "publicKey": {"format": "x509", "content": pem}}),
    );
    assert_eq!(both, json!([id]));

    let key = get(&format!("{}/api/v1/log/publicKey", server.url));
    assert_eq!(key.status, 200);
    assert_eq!(key.content_type.as_deref(), Some("application/x-pem-file"));
    assert_eq!(
        String::from_utf8(key.body).expect("pem"),
        server.log.key().public_key().to_pem()
    );
    assert_eq!(get(&format!("{}/healthz", server.url)).status, 200);
    let metrics = String::from_utf8(get(&format!("{}/metrics", server.url)).body).expect("text");
    assert!(metrics.contains("vouch_tlog_tree_size "), "{metrics}");
}

/// Every bad request is a 4xx with a JSON reason, and changes nothing.
fn rejections(server: &TestServer) {
    let info = server.client().log_info().expect("info");
    let signer = key();
    let other = key();
    let mut wrong_sig = hashedrekord(&signer, b"x");
    wrong_sig["spec"]["signature"]["content"] = json!(b64(&other.sign_bytes(b"x")));
    let mut wrong_digest = hashedrekord(&signer, b"x");
    wrong_digest["spec"]["data"]["hash"]["value"] = json!("00".repeat(32));
    let mut bad_key = hashedrekord(&signer, b"x");
    bad_key["spec"]["signature"]["publicKey"]["content"] = json!(b64(
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    ));
    let mut bad_alg = hashedrekord(&signer, b"x");
    bad_alg["spec"]["data"]["hash"]["algorithm"] = json!("md5");
    let env = envelope(&signer, b"y");
    let mut dsse_wrong_key = dsse(&signer, &env);
    dsse_wrong_key["spec"]["proposedContent"]["verifiers"] =
        json!([b64(other.public_key().to_pem().as_bytes())]);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("not JSON", b"{".to_vec(), 400, "malformed"),
        ("not an entry", b"[]".to_vec(), 400, "kind"),
        (
            "unknown kind",
            json!({"kind": "rekord", "apiVersion": "0.0.1", "spec": {}})
                .to_string()
                .into_bytes(),
            400,
            "unsupported entry kind",
        ),
        (
            "unknown version",
            json!({"kind": "hashedrekord", "apiVersion": "0.0.2", "spec": {}})
                .to_string()
                .into_bytes(),
            400,
            "unsupported",
        ),
        (
            "missing spec",
            json!({"kind": "hashedrekord", "apiVersion": "0.0.1"})
                .to_string()
                .into_bytes(),
            400,
            "spec",
        ),
        (
            "wrong signature",
            wrong_sig.to_string().into_bytes(),
            400,
            "signature",
        ),
        (
            "wrong digest",
            wrong_digest.to_string().into_bytes(),
            400,
            "signature",
        ),
        (
            "bad key",
            bad_key.to_string().into_bytes(),
            400,
            "publicKey",
        ),
        (
            "bad algorithm",
            bad_alg.to_string().into_bytes(),
            400,
            "algorithm",
        ),
        (
            "dsse wrong verifier",
            dsse_wrong_key.to_string().into_bytes(),
            400,
            "DSSE",
        ),
        ("oversized", vec![b' '; 300 << 10], 413, "too large"),
    ];
    for (name, body, status, reason) in cases {
        let answer = post(&format!("{}/api/v1/log/entries", server.url), &body);
        assert_eq!(
            answer.status,
            status,
            "{name}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let error = answer.json();
        assert_eq!(error["code"], status, "{name}");
        let message = error["message"].as_str().expect("message");
        assert!(message.contains(reason), "{name}: {message}");
    }
    for (path, status) in [
        ("log/entries?logIndex=-1", 400),
        ("log/entries?logIndex=99999", 404),
        ("log/entries/xyz", 400),
        ("log/proof?firstSize=5&lastSize=2", 400),
        ("log/proof?firstSize=1&lastSize=99999", 400),
        ("log/proof?firstSize=1", 400),
        ("nope", 404),
    ] {
        let answer = get(&format!("{}/api/v1/{path}", server.url));
        assert_eq!(
            answer.status,
            status,
            "{path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert!(answer.json()["message"].is_string(), "{path}");
    }
    assert_eq!(
        server.client().log_info().expect("info"),
        info,
        "rejections changed the log"
    );
}

/// Concurrent appends get distinct, dense indexes, and every proof verifies.
fn concurrent_appends(server: &TestServer, threads: usize, per_thread: usize) {
    let start = server.client().log_info().expect("info").tree_size;
    let public = server.log.key().public_key().clone();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let client = server.client();
            std::thread::spawn(move || {
                let signer = key();
                (0..per_thread)
                    .map(|i| {
                        let (_, e) = client
                            .upload(&hashedrekord(&signer, format!("c{t}-{i}").as_bytes()))
                            .expect("upload");
                        e
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let entries: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    let indexes: BTreeSet<u64> = entries.iter().map(|e| e.log_index).collect();
    let expected: BTreeSet<u64> = (start..start + (threads * per_thread) as u64).collect();
    assert_eq!(indexes, expected, "indexes are dense and unique");
    for entry in &entries {
        verify_entry(&entry.to_tlog_entry().expect("entry"), &public).expect("entry verifies");
    }
    // Proofs at the final size, fetched again, verify too.
    let client = server.client();
    for entry in entries.iter().step_by(7) {
        let (_, again) = client.entry_at(entry.log_index).expect("get");
        verify_entry(&again.to_tlog_entry().expect("entry"), &public).expect("verifies");
    }
}

fn consistency_and_checkpoint(
    server: &TestServer,
    before: &vouch_tlog::wire::LogInfo,
    public: &vouch_sign::VerifyingKey,
) {
    let client = server.client();
    let now = client.log_info().expect("info");
    let old = verify_checkpoint(public, &before.signed_tree_head).expect("old checkpoint");
    let new = verify_checkpoint(public, &now.signed_tree_head).expect("new checkpoint");
    assert_eq!(new.size(), now.tree_size);
    assert_eq!(new.root().to_hex(), now.root_hash);
    let proof = client.consistency(old.size(), new.size()).expect("proof");
    assert_eq!(proof.root_hash, now.root_hash);
    let hashes = proof
        .hashes
        .iter()
        .map(|h| Hash::from_hex(h).expect("hex"))
        .collect();
    let proof = vouch_merkle::ConsistencyProof::new(old.size(), new.size(), hashes);
    old.verify_consistency(&new, &proof).expect("consistent");
}
