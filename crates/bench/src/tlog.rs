//! Transparency log benchmark: concurrent clients append over loopback HTTP to an in-process
//! `vouch-tlog` service, then proof latency is measured on a log bulk-loaded to a large size.
//!
//! Wiring (the bench crate needs `vouch-tlog`, `vouch-sign`, `vouch-merkle`, `vouch-http`,
//! `tokio`, `ureq`, `serde_json`, `base64`, `sha2`, `hex` as dependencies):
//! `mod tlog;` in main.rs, then `tlog::run(&tlog::Options::default())?` and print the reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use vouch_merkle::{Frontier, leaf_hash};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::storage::{Batch, StoredEntry};
use vouch_tlog::{AppState, Limits, Log, LogKey, Storage};

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Appends per backend.
    pub(crate) appends: usize,
    /// Concurrent HTTP clients.
    pub(crate) clients: usize,
    /// Size of the bulk-loaded log for proof latency.
    pub(crate) proof_tree_size: u64,
    /// Proofs to time.
    pub(crate) proofs: usize,
    /// Also run against PostgreSQL (needs Debian's postgresql package).
    pub(crate) postgres: bool,
    /// Open-loop phase: appends offered at this fixed rate (per second) ...
    pub(crate) paced_rate: u64,
    /// ... for this many appends; latency is measured from each append's scheduled time, so a
    /// slow server cannot hide its queueing (no coordinated omission). 0 skips the phase.
    pub(crate) paced_appends: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            appends: 20_000,
            clients: 64,
            // `VOUCH_BENCH_TLOG_PROOF_SIZE` overrides (small values for profiling appends).
            proof_tree_size: std::env::var("VOUCH_BENCH_TLOG_PROOF_SIZE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000),
            proofs: 2_000,
            postgres: true,
            // `VOUCH_BENCH_TLOG_RATE` overrides the open-loop rate.
            paced_rate: std::env::var("VOUCH_BENCH_TLOG_RATE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2_000),
            paced_appends: 8_000,
        }
    }
}

/// Results for one backend.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) backend: &'static str,
    pub(crate) appends_per_sec: f64,
    pub append_p50_ms: f64,
    pub append_p99_ms: f64,
    pub(crate) batches: u64,
    pub(crate) proof_tree_size: u64,
    /// Library-level: inclusion proof (O(log n) node reads) + cached checkpoint.
    pub proof_p50_us: f64,
    pub proof_p99_us: f64,
    /// End to end: `GET /api/v1/log/entries?logIndex=` (entry + proof + checkpoint) over HTTP.
    pub get_entry_p50_ms: f64,
    pub get_entry_p99_ms: f64,
}

/// Runs the benchmark on SQLite (and PostgreSQL when asked).
pub(crate) fn run(options: &Options) -> anyhow::Result<Vec<Report>> {
    let mut reports = Vec::new();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let bulk = dir.path().join("bulk.db");
    reports.push(run_backend(
        "sqlite",
        options,
        &|| Ok(Box::new(vouch_tlog::SqliteStorage::open(&path)?) as Box<dyn Storage>),
        &|| Ok(Box::new(vouch_tlog::SqliteStorage::open(&bulk)?) as Box<dyn Storage>),
    )?);
    if options.postgres {
        let pg = vouch_testkit::PostgresServer::start();
        let bulk_pg = vouch_testkit::PostgresServer::start();
        reports.push(run_backend(
            "postgres",
            options,
            &|| Ok(Box::new(vouch_tlog::PostgresStorage::open(&pg.url)?) as Box<dyn Storage>),
            &|| Ok(Box::new(vouch_tlog::PostgresStorage::open(&bulk_pg.url)?) as Box<dyn Storage>),
        )?);
    }
    Ok(reports)
}

type Open<'a> = &'a dyn Fn() -> anyhow::Result<Box<dyn Storage>>;

fn run_backend(
    backend: &'static str,
    o: &Options,
    open: Open<'_>,
    open_bulk: Open<'_>,
) -> anyhow::Result<Report> {
    // Entries are signed up front: the benchmark measures the log, not the signer.
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let pem = b64(signer.public_key().to_pem().as_bytes());
    let bodies: Vec<Vec<u8>> = (0..o.appends)
        .map(|i| {
            let artifact = format!("{backend} artifact {i}");
            serde_json::to_vec(&serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&artifact))}},
                "signature": {"content": b64(&signer.sign_bytes(artifact.as_bytes())), "publicKey": {"content": pem}}}}))
            .unwrap_or_default()
        })
        .collect();
    let log = Log::start(
        open()?,
        LogKey::generate(KeyAlgorithm::EcdsaP256, "bench")?,
        Limits::default(),
    )?;
    let (url, runtime) = serve(Arc::clone(&log))?;
    let paced_bodies = signed_bodies(&format!("{backend} paced"), o.paced_appends)?;
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..o.clients)
        .map(|_| {
            let (bodies, next, url) = (Arc::clone(&bodies), Arc::clone(&next), url.clone());
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .new_agent();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        return Ok(latencies);
                    };
                    let t = Instant::now();
                    let resp = agent
                        .post(&format!("{url}/api/v1/log/entries"))
                        .header("Content-Type", "application/json")
                        .send(body.as_slice())?;
                    anyhow::ensure!(
                        resp.status().as_u16() == 201,
                        "append answered {}",
                        resp.status()
                    );
                    resp.into_body().read_to_vec()?;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.join().map_err(|_| anyhow::anyhow!("client panicked"))??);
    }
    let elapsed = started.elapsed();
    let batches = log
        .metrics()
        .batches
        .load(std::sync::atomic::Ordering::Relaxed);
    if !paced_bodies.is_empty() {
        let (achieved, mut paced) = paced(&url, paced_bodies, o.paced_rate, o.clients)?;
        println!(
            "tlog {backend:<9} open loop: {} appends offered at {}/s, achieved {achieved:.0}/s, \
             latency from scheduled time p50 {:.1} ms p99 {:.1} ms",
            paced.len(),
            o.paced_rate,
            percentile(&mut paced, 50.0).as_secs_f64() * 1e3,
            percentile(&mut paced, 99.0).as_secs_f64() * 1e3,
        );
    }
    drop(runtime);
    drop(log);

    // Proof latency on a large log, bulk-loaded through the storage trait.
    let bulk = Log::start(
        open_bulk()?,
        LogKey::generate(KeyAlgorithm::EcdsaP256, "bench")?,
        Limits::default(),
    )?;
    bulk_load(bulk.storage(), o.proof_tree_size)?;
    let size = bulk.storage().size()?;
    let mut proof_times = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..o.proofs {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = state % size;
        let t = Instant::now();
        let head = bulk.tree_head_at(size)?;
        let proof = bulk.inclusion_proof(index, size)?;
        proof_times.push(t.elapsed());
        debug_assert!(
            proof
                .verify(
                    &bulk
                        .storage()
                        .node_hashes(&[vouch_merkle::NodeId::leaf(index)])?[0],
                    &head.root
                )
                .is_ok()
        );
    }
    let (url, runtime) = serve(Arc::clone(&bulk))?;
    let agent = ureq::Agent::config_builder().build().new_agent();
    let mut get_times = Vec::new();
    for _ in 0..o.proofs.min(500) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let t = Instant::now();
        agent
            .get(&format!(
                "{url}/api/v1/log/entries?logIndex={}",
                state % size
            ))
            .call()?
            .into_body()
            .read_to_vec()?;
        get_times.push(t.elapsed());
    }
    drop(runtime);
    Ok(Report {
        backend,
        appends_per_sec: o.appends as f64 / elapsed.as_secs_f64(),
        append_p50_ms: percentile(&mut latencies, 50.0).as_secs_f64() * 1e3,
        append_p99_ms: percentile(&mut latencies, 99.0).as_secs_f64() * 1e3,
        batches,
        proof_tree_size: size,
        proof_p50_us: percentile(&mut proof_times, 50.0).as_secs_f64() * 1e6,
        proof_p99_us: percentile(&mut proof_times, 99.0).as_secs_f64() * 1e6,
        get_entry_p50_ms: percentile(&mut get_times, 50.0).as_secs_f64() * 1e3,
        get_entry_p99_ms: percentile(&mut get_times, 99.0).as_secs_f64() * 1e3,
    })
}

/// `n` hashedrekord bodies over distinct artifacts, signed by a fresh key.
fn signed_bodies(label: &str, n: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let pem = b64(signer.public_key().to_pem().as_bytes());
    Ok((0..n)
        .map(|i| {
            let artifact = format!("{label} artifact {i}");
            serde_json::to_vec(&serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&artifact))}},
                "signature": {"content": b64(&signer.sign_bytes(artifact.as_bytes())), "publicKey": {"content": pem}}}}))
            .unwrap_or_default()
        })
        .collect())
}

/// Offers `bodies` at `rate` per second from `workers` threads (append `i` is due at
/// `start + i / rate`); returns the achieved rate and each append's latency from its due time.
fn paced(
    url: &str,
    bodies: Vec<Vec<u8>>,
    rate: u64,
    workers: usize,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(50);
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (bodies, next, url) = (Arc::clone(&bodies), Arc::clone(&next), url.to_owned());
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .new_agent();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        return Ok(latencies);
                    };
                    let due = start + Duration::from_secs_f64(i as f64 / rate.max(1) as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let resp = agent
                        .post(&format!("{url}/api/v1/log/entries"))
                        .header("Content-Type", "application/json")
                        .send(body.as_slice())?;
                    anyhow::ensure!(
                        resp.status().as_u16() == 201,
                        "append answered {}",
                        resp.status()
                    );
                    resp.into_body().read_to_vec()?;
                    latencies.push(due.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in threads {
        latencies.extend(t.join().map_err(|_| anyhow::anyhow!("client panicked"))??);
    }
    let achieved = latencies.len() as f64 / start.elapsed().as_secs_f64();
    Ok((achieved, latencies))
}

/// Writes `n` synthetic entries (not signed: proofs only need the tree) in large batches.
#[allow(clippy::result_large_err)] // the storage trait's error type, not ours to shrink
fn bulk_load(storage: &dyn Storage, n: u64) -> anyhow::Result<()> {
    let mut frontier = Frontier::new();
    while frontier.size() < n {
        let mut batch = Batch::default();
        let end = (frontier.size() + 20_000).min(n);
        for i in frontier.size()..end {
            let body = format!("{{\"bulk\":{i}}}").into_bytes();
            let uuid = leaf_hash(&body);
            frontier.append(uuid, |id, h| batch.nodes.push((id, h)))?;
            batch.entries.push(StoredEntry {
                index: i,
                uuid,
                body,
                integrated_time: 0,
                set: vec![0; 70],
            });
        }
        let size = frontier.size();
        storage.write(&mut |tx| tx.append(&batch, size))?;
    }
    Ok(())
}

fn serve(log: Arc<Log>) -> anyhow::Result<(String, tokio::runtime::Runtime)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    runtime.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
            let _ = vouch_tlog::serve(listener, AppState::new(log, false), std::future::pending())
                .await;
        }
    });
    Ok((url, runtime))
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
