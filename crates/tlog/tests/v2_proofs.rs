#![allow(missing_docs, clippy::unwrap_used)]
//! The inclusion proofs the sequencer answers with each acknowledgement (built from the nodes
//! it holds in memory, so the HTTP answer needs no storage read) are the proofs the stored
//! tree gives: for batches of many sizes, after a restart (frontier read back from storage),
//! with duplicates in a batch, on SQLite, PostgreSQL and the tile directory. Each proof is checked against
//! the stored proof, against the root of the stored tree and against the signed checkpoint
//! the log serves for that size; a changed hash must fail verification.
use std::sync::Arc;

use sha2::{Digest, Sha256};
use vouch_merkle::{Hash, leaf_hash};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::{Canonical, DirStorage, Limits, Log, LogKey, SqliteStorage, Storage};

use crate::common::b64;

fn requests(signer: &SigningKey, from: usize, n: usize) -> Vec<Canonical> {
    let spki = b64(signer.public_key().spki_der());
    (from..from + n)
        .map(|i| {
            let artifact = format!("v2 proofs artifact {i}");
            let request = serde_json::json!({"hashedRekordRequestV002": {
                "digest": b64(&Sha256::digest(&artifact)),
                "signature": {"content": b64(&crate::common::signature(signer, artifact.as_bytes())),
                              "verifier": {"publicKey": {"rawBytes": spki},
                                           "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}});
            vouch_tlog::v2::canonicalize_request(
                &serde_json::to_vec(&request).unwrap(),
                &Limits::default(),
            )
            .unwrap()
        })
        .collect()
}

/// Appends `entries` from `threads` threads at once (so batches of many sizes form) and
/// checks every acknowledgement's proof. Returns how many answers carried one.
fn append_and_check(log: &Arc<Log>, entries: Vec<Canonical>, threads: usize) -> usize {
    let entries = Arc::new(std::sync::Mutex::new(entries.into_iter()));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (log, entries) = (Arc::clone(log), Arc::clone(&entries));
            std::thread::spawn(move || {
                let mut done = Vec::new();
                loop {
                    let next = entries.lock().unwrap().next();
                    let Some(entry) = next else { return done };
                    let leaf = entry.leaf;
                    done.push((leaf, log.append_blocking(entry).unwrap()));
                }
            })
        })
        .collect();
    let done: Vec<_> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let mut with_proof = 0;
    for (leaf, integrated) in &done {
        let index = integrated.entry.index;
        let size = integrated.tree_size;
        assert_eq!(integrated.entry.uuid, *leaf);
        let Some(proof) = &integrated.proof else {
            continue;
        };
        with_proof += 1;
        assert_eq!((proof.index(), proof.size()), (index, size));
        let stored = log.inclusion_proof(index, size).unwrap();
        assert_eq!(proof, &stored, "entry {index} at size {size}");
        let root = log.root_at(size).unwrap();
        let leaf_hash = leaf_hash(&integrated.entry.body);
        assert_eq!(leaf_hash, *leaf);
        proof.verify(&leaf_hash, &root).unwrap();
        // The answer the HTTP handler builds from it: the signed head of the same size.
        let answer = vouch_tlog::v2::integrated_entry(log, integrated)
            .expect("the sequencer caches the head of the size it committed")
            .unwrap();
        assert_eq!(answer.inclusion_proof.tree_size, size.to_string());
        assert_eq!(
            answer.inclusion_proof.checkpoint.envelope,
            log.tree_head_at(size).unwrap().checkpoint
        );
        // A proof with one hash changed does not verify.
        if !proof.hashes().is_empty() {
            let mut hashes = proof.hashes().to_vec();
            let mut bytes = *hashes[0].as_bytes();
            bytes[0] ^= 1;
            hashes[0] = Hash::from_slice(&bytes).unwrap();
            let tampered = vouch_merkle::InclusionProof::new(index, size, hashes);
            assert!(tampered.verify(&leaf_hash, &root).is_err());
        }
    }
    with_proof
}

fn exercise(open: impl Fn() -> Box<dyn Storage>) {
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let key = SigningKey::generate(KeyAlgorithm::Ed25519)
        .unwrap()
        .to_pkcs8_der()
        .unwrap();
    let log_key = || {
        let key = SigningKey::from_pkcs8_der(key.as_bytes()).unwrap();
        LogKey::new_v2(key, "log.example/v2").unwrap()
    };
    let limits = Limits {
        max_batch: 7,
        ..Limits::default()
    };
    let first = requests(&signer, 0, 37);
    {
        let log = Log::start(open(), log_key(), limits.clone()).unwrap();
        // One at a time, then concurrently with a batch limit of 7: tree sizes across many
        // subtree boundaries.
        for entry in first.iter().take(5).cloned() {
            let done = log.append_blocking(entry).unwrap();
            assert!(done.proof.is_some());
        }
        let n = append_and_check(&log, first[5..].to_vec(), 8);
        assert_eq!(n, 32, "every acknowledgement carries its proof");
    }
    // After a restart the sequencer reads its frontier back from storage; duplicates of
    // earlier entries mixed into the batches are answered without a new entry.
    let log = Log::start(open(), log_key(), limits).unwrap();
    assert_eq!(log.storage().size().unwrap(), 37);
    let more = requests(&signer, 37, 60);
    let n = append_and_check(&log, more, 6);
    assert_eq!(n, 60);
    for entry in first.iter().take(3).cloned() {
        assert!(matches!(
            log.append_blocking(entry),
            Err(vouch_tlog::Error::Duplicate { .. })
        ));
    }
    assert_eq!(log.storage().size().unwrap(), 97);
}

#[test]
fn sequencer_proofs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    exercise(|| Box::new(SqliteStorage::open(&path).unwrap()));
}

#[test]
fn sequencer_proofs_on_a_tile_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiles");
    exercise(|| Box::new(DirStorage::open(&path).unwrap()));
}

#[test]
fn sequencer_proofs_on_postgres() {
    let pg = vouch_testkit::PostgresServer::start();
    exercise(|| Box::new(vouch_tlog::PostgresStorage::open(&pg.url).unwrap()));
}
