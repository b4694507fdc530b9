//! Rekor v2 tile log benchmark: appends/s and append-to-proof latency of `vouch-tlog`'s v2 log,
//! in process (canonical entries appended through `Log::append`, each answered with its
//! inclusion proof: the log alone) and over loopback HTTP (`POST /api/v2/log/entries` from
//! concurrent clients: request parsing, signature verification, integration, proof), on
//! SQLite and the tile directory. Requests are signed up front: the signer is not measured.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::tlog_load::process_cpu;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::{AppState, Limits, Log, LogKey, Storage};

/// One backend's numbers.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) backend: &'static str,
    pub(crate) mode: &'static str,
    pub(crate) appends_per_sec: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) batches: u64,
}

/// What to run.
pub(crate) struct Options {
    /// Entries appended per run.
    pub(crate) appends: usize,
    /// Concurrent clients (tasks in process, keep-alive connections over HTTP).
    pub(crate) clients: usize,
    /// Threads of the HTTP load client ([`crate::tlog_load`]).
    pub(crate) client_threads: usize,
    /// Backends to run (`sqlite`, `dir`).
    pub(crate) backends: Vec<String>,
    /// Modes to run (`in-process`, `http`).
    pub(crate) modes: Vec<String>,
}

/// Runs the chosen modes on the chosen backends (SQLite, a tile directory).
pub(crate) fn run(options: &Options) -> anyhow::Result<Vec<Report>> {
    let (appends, clients) = (options.appends, options.clients);
    let requests = Arc::new(signed_requests(appends)?);
    let limits = Limits::default();
    let canonical: Vec<vouch_tlog::Canonical> = requests
        .iter()
        .map(|r| vouch_tlog::v2::canonicalize_request(r, &limits))
        .collect::<Result<_, _>>()?;
    verify_micro(2000)?;
    // Request validation alone (signature verification + canonical JSON), one core.
    let t = Instant::now();
    for r in requests.iter().take(2000) {
        vouch_tlog::v2::canonicalize_request(r, &limits)?;
    }
    let per = t.elapsed() / requests.len().clamp(1, 2000) as u32;
    println!(
        "tlog-v2 request validation: {:.0} us per request ({:.0}/s on one core)",
        per.as_secs_f64() * 1e6,
        1.0 / per.as_secs_f64().max(1e-9)
    );
    let dir = tempfile::tempdir()?;
    let mut reports = Vec::new();
    for backend in ["sqlite", "dir"] {
        if !options.backends.iter().any(|b| b == backend) {
            continue;
        }
        let open = |name: &str| -> anyhow::Result<Box<dyn Storage>> {
            let path = dir.path().join(format!("{backend}-{name}"));
            Ok(match backend {
                "sqlite" => Box::new(vouch_tlog::SqliteStorage::open(path)?),
                _ => Box::new(vouch_tlog::DirStorage::open(path)?),
            })
        };
        if options.modes.iter().any(|m| m == "in-process") {
            reports.push(in_process(
                backend,
                open("lib")?,
                canonical.clone(),
                clients,
            )?);
        }
        if options.modes.iter().any(|m| m == "http") {
            reports.push(over_http(
                backend,
                open("http")?,
                Arc::clone(&requests),
                clients,
                options.client_threads,
            )?);
        }
    }
    Ok(reports)
}

/// ECDSA P-256 signature verification over a given SHA-256 digest (the hashedrekord check),
/// one core: RustCrypto `p256` through `vouch_sign::VerifyingKey::verify_prehashed` (the v2
/// write path until aws-lc-rs replaced it) against `vouch_tlog::v2::verify::ClientKey`
/// (aws-lc-rs), with the key parsed once and, as a request does, per verification.
fn verify_micro(n: usize) -> anyhow::Result<()> {
    use vouch_tlog::v2::verify::{ClientKey, KeyDetails};
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let public = signer.public_key();
    let spki = public.spki_der().to_vec();
    let signed: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            let m = format!("verify bench {i}");
            (Sha256::digest(&m).to_vec(), signer.sign_bytes(m.as_bytes()))
        })
        .collect();
    let rate = |f: &dyn Fn(&[u8], &[u8]) -> bool| -> anyhow::Result<f64> {
        let t = Instant::now();
        for (d, s) in &signed {
            anyhow::ensure!(f(d, s), "a valid signature was refused");
        }
        Ok(n as f64 / t.elapsed().as_secs_f64())
    };
    let rustcrypto = rate(&|d, s| {
        public
            .verify_prehashed("bench", vouch_sign::HashAlgorithm::Sha2_256, d, s)
            .is_ok()
    })?;
    let key = ClientKey::parse(&spki, KeyDetails::EcdsaP256Sha256)?;
    let aws_lc = rate(&|d, s| key.verify_digest(d, s).is_ok())?;
    let aws_lc_parse = rate(&|d, s| {
        ClientKey::parse(&spki, KeyDetails::EcdsaP256Sha256)
            .is_ok_and(|k| k.verify_digest(d, s).is_ok())
    })?;
    println!(
        "tlog-v2 P-256 verify over a digest, one core: RustCrypto p256 {rustcrypto:.0}/s, \
         aws-lc-rs {aws_lc:.0}/s ({:.1}x), aws-lc-rs with the key parsed each time {aws_lc_parse:.0}/s",
        aws_lc / rustcrypto.max(1e-9)
    );
    Ok(())
}

fn key() -> anyhow::Result<LogKey> {
    Ok(LogKey::new_v2(
        SigningKey::generate(KeyAlgorithm::Ed25519)?,
        "bench.example/v2",
    )?)
}

fn signed_requests(n: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let spki = b64(signer.public_key().spki_der());
    Ok((0..n)
        .map(|i| {
            let artifact = format!("tlog-v2 artifact {i}");
            serde_json::to_vec(&serde_json::json!({"hashedRekordRequestV002": {
                "digest": b64(&Sha256::digest(&artifact)),
                "signature": {"content": b64(&signer.sign_bytes(artifact.as_bytes())),
                              "verifier": {"publicKey": {"rawBytes": spki},
                                           "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}))
            .unwrap_or_default()
        })
        .collect())
}

/// `clients` tasks append the canonical entries through `Log::append` and build each one's
/// inclusion proof and checkpoint, as the HTTP handler does.
fn in_process(
    backend: &'static str,
    storage: Box<dyn Storage>,
    entries: Vec<vouch_tlog::Canonical>,
    clients: usize,
) -> anyhow::Result<Report> {
    let log = Log::start(storage, key()?, Limits::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let n = entries.len();
    let entries = Arc::new(std::sync::Mutex::new(entries.into_iter()));
    let started = Instant::now();
    let latencies = runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (log, entries) = (Arc::clone(&log), Arc::clone(&entries));
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    loop {
                        let next = entries.lock().ok().and_then(|mut e| e.next());
                        let Some(entry) = next else {
                            return Ok::<_, anyhow::Error>(latencies);
                        };
                        let t = Instant::now();
                        let done = log.append(entry).await?;
                        // As the HTTP handler: the sequencer's proof and cached head when
                        // at hand, else storage reads on the blocking pool.
                        match vouch_tlog::v2::integrated_entry(&log, &done) {
                            Some(answer) => {
                                answer?;
                            }
                            None => {
                                let log2 = Arc::clone(&log);
                                tokio::task::spawn_blocking(move || {
                                    vouch_tlog::v2::transparency_log_entry(
                                        &log2,
                                        &done.entry,
                                        done.tree_size,
                                    )
                                })
                                .await??;
                            }
                        }
                        latencies.push(t.elapsed());
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let elapsed = started.elapsed();
    report(backend, "in-process", &log, n, elapsed, latencies)
}

fn over_http(
    backend: &'static str,
    storage: Box<dyn Storage>,
    requests: Arc<Vec<Vec<u8>>>,
    clients: usize,
    client_threads: usize,
) -> anyhow::Result<Report> {
    let log = Log::start(storage, key()?, Limits::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(Arc::clone(&log), false);
    runtime.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
            let _ = vouch_tlog::serve(listener, state, std::future::pending()).await;
        }
    });
    let (addr, requests) = crate::tlog_load::post_requests(
        &format!("{url}/api/v2/log/entries"),
        "application/json",
        &requests,
    )?;
    let answer = Arc::new(|_: usize, status: u16, _: &[u8], t: Instant| {
        anyhow::ensure!(status == 201, "append answered {status}");
        Ok(Some(t.elapsed()))
    });
    let process_cpu_before = process_cpu()?;
    let load = crate::tlog_load::run(addr, &requests, clients, client_threads, answer)?;
    let process = process_cpu()?.saturating_sub(process_cpu_before);
    // Is the load generator the bottleneck? Its threads share the 2 cores with the server.
    let server = process.saturating_sub(load.client_cpu);
    println!(
        "tlog-v2 {backend:<6} http       CPU: process {:.2} s in {:.2} s wall, of which the \
         client ({client_threads} thread(s), {clients} connections) {:.2} s ({:.0}%), server and \
         sequencer {:.2} s ({:.0} us per append)",
        process.as_secs_f64(),
        load.elapsed.as_secs_f64(),
        load.client_cpu.as_secs_f64(),
        100.0 * load.client_cpu.as_secs_f64() / process.as_secs_f64().max(1e-9),
        server.as_secs_f64(),
        server.as_secs_f64() * 1e6 / requests.len().max(1) as f64,
    );
    let (elapsed, latencies) = (load.elapsed, load.latencies);
    let r = report(backend, "http", &log, requests.len(), elapsed, latencies);
    drop(runtime);
    r
}

fn report(
    backend: &'static str,
    mode: &'static str,
    log: &Log,
    n: usize,
    elapsed: Duration,
    mut latencies: Vec<Duration>,
) -> anyhow::Result<Report> {
    anyhow::ensure!(
        log.storage().size()? == n as u64,
        "not every entry appended"
    );
    latencies.sort_unstable();
    let at = |p: f64| {
        let rank = ((p / 100.0) * (latencies.len().max(1) - 1) as f64).round() as usize;
        latencies
            .get(rank)
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3
    };
    let batches = log.metrics().batches.load(Ordering::Relaxed);
    let micros = log.metrics().batch_micros.load(Ordering::Relaxed);
    println!(
        "tlog-v2 {backend:<6} {mode:<10} {:.1} entries and {:.1} ms per batch transaction \
         (storage write, fsyncs)",
        n as f64 / batches.max(1) as f64,
        micros as f64 / batches.max(1) as f64 / 1e3
    );
    Ok(Report {
        backend,
        mode,
        appends_per_sec: n as f64 / elapsed.as_secs_f64(),
        p50_ms: at(50.0),
        p99_ms: at(99.0),
        batches: log.metrics().batches.load(Ordering::Relaxed),
    })
}
