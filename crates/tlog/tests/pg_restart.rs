#![allow(missing_docs, clippy::unwrap_used)]
//! PostgreSQL restarted (`pg_ctl -m fast stop`, then start) under a running log with appends
//! in flight: while it is down appends answer 503 naming the storage and `/readyz` and
//! `/healthz` fail; once it is back appends succeed again without restarting the log, and
//! every acknowledged entry is in the log at the index it was acknowledged with.
use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestServer, get, hashedrekord, post};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_testkit::PostgresServer;
use vouch_tlog::{Limits, LogKey, PostgresStorage};

/// Polls `f` until it returns true; panics naming `what` after `limit`.
fn eventually(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(Default)]
struct Seen {
    /// (log index, entry UUID) of every 201.
    acked: Mutex<Vec<(u64, String)>>,
    unavailable: AtomicUsize,
    /// Any other status, with its body: must stay empty.
    unexpected: Mutex<Vec<String>>,
}

fn append(url: &str, key: &SigningKey, n: usize, seen: &Seen) -> u16 {
    let body = serde_json::to_vec(&hashedrekord(key, format!("artifact {n}").as_bytes())).unwrap();
    let answer = post(&format!("{url}/api/v1/log/entries"), &body);
    match answer.status {
        201 => {
            let json = answer.json();
            let (uuid, entry) = json.as_object().unwrap().iter().next().unwrap();
            let index = entry["logIndex"].as_u64().unwrap();
            seen.acked.lock().unwrap().push((index, uuid.clone()));
        }
        503 => {
            let message = answer.json()["message"].as_str().unwrap().to_owned();
            assert!(
                message.contains("storage unavailable"),
                "503 names the storage: {message}"
            );
            seen.unavailable.fetch_add(1, Ordering::SeqCst);
        }
        other => seen.unexpected.lock().unwrap().push(format!(
            "{other}: {}",
            String::from_utf8_lossy(&answer.body)
        )),
    }
    answer.status
}

#[test]
fn postgres_restart_under_appends_recovers_and_loses_nothing() {
    let pg = PostgresServer::start();
    let storage = PostgresStorage::open(&pg.url).unwrap();
    let key = LogKey::generate(KeyAlgorithm::EcdsaP256, "log.example").unwrap();
    let server = TestServer::start(Box::new(storage), key, Limits::default());
    let url = server.url.clone();
    let signer = Arc::new(common::key());
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicUsize::new(0));

    let appenders: Vec<_> = (0..4)
        .map(|_| {
            let (url, signer, seen, stop, counter) = (
                url.clone(),
                Arc::clone(&signer),
                Arc::clone(&seen),
                Arc::clone(&stop),
                Arc::clone(&counter),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    if append(&url, &signer, n, &seen) != 201 {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        })
        .collect();
    let acked = || seen.acked.lock().unwrap().len();
    eventually(
        "20 appends before the restart",
        Duration::from_secs(60),
        || acked() >= 20,
    );
    assert_eq!(get(&format!("{url}/readyz")).status, 200);
    assert_eq!(get(&format!("{url}/healthz")).status, 200);

    pg.stop();
    // Down: appends answer 503 naming the storage (checked in `append`), probes fail.
    let n = counter.fetch_add(1, Ordering::SeqCst);
    assert_eq!(append(&url, &signer, n, &seen), 503);
    let ready = get(&format!("{url}/readyz"));
    eprintln!(
        "/readyz while down: {}",
        String::from_utf8_lossy(&ready.body)
    );
    assert_eq!(
        ready.status,
        503,
        "{}",
        String::from_utf8_lossy(&ready.body)
    );
    assert!(
        ready.json()["message"]
            .as_str()
            .unwrap()
            .contains("storage unavailable"),
        "{}",
        String::from_utf8_lossy(&ready.body)
    );
    assert_eq!(get(&format!("{url}/healthz")).status, 503);
    let during_outage = seen.unavailable.load(Ordering::SeqCst);
    assert!(during_outage >= 1);

    pg.start_again();
    // Back: appends succeed again without restarting the log (the back-off tops out at 1 s).
    eventually(
        "an append after PostgreSQL is back",
        Duration::from_secs(30),
        || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            append(&url, &signer, n, &seen) == 201
        },
    );
    eventually(
        "/readyz after PostgreSQL is back",
        Duration::from_secs(30),
        || get(&format!("{url}/readyz")).status == 200,
    );
    assert_eq!(get(&format!("{url}/healthz")).status, 200);
    let before = acked();
    eventually(
        "20 more appends after the restart",
        Duration::from_secs(60),
        || acked() >= before + 20,
    );
    stop.store(true, Ordering::SeqCst);
    for a in appenders {
        a.join().unwrap();
    }

    let unexpected = seen.unexpected.lock().unwrap();
    assert!(
        unexpected.is_empty(),
        "only 201 or 503 while PostgreSQL restarted: {unexpected:?}"
    );
    // Nothing acknowledged is lost or renumbered.
    let acked = seen.acked.lock().unwrap();
    let size = server.log.tree_head().unwrap().size;
    let mut indexes: Vec<u64> = acked.iter().map(|(i, _)| *i).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), acked.len(), "no index acknowledged twice");
    for (index, uuid) in acked.iter() {
        assert!(
            *index < size,
            "acknowledged index {index} within size {size}"
        );
        let entry = get(&format!("{url}/api/v1/log/entries?logIndex={index}"));
        assert_eq!(entry.status, 200);
        let json = entry.json();
        let (found, _) = json.as_object().unwrap().iter().next().unwrap();
        assert_eq!(found, uuid, "entry {index} is the one acknowledged");
    }
    eprintln!(
        "{} appends acknowledged, {} answered 503 during the outage, tree size {size}",
        acked.len(),
        seen.unavailable.load(Ordering::SeqCst)
    );
}
