//! vouch's modern-instance services against their Go peers, same machine, same client load,
//! one run (issue #14 benchmark):
//!
//! * `tlog-tessera`: vouch's Rekor v2 log (in this process, tiles in a directory, over
//!   loopback HTTP) vs Tessera v1.0.4's POSIX conformance server (`tessera-posix`, built by
//!   scripts/peers; tiles in a directory). The same `clients` threads send the same bodies
//!   (signed `hashedRekordRequestV002` requests; Tessera stores them as opaque entries).
//!   Append-to-proof latency: vouch answers the append with the inclusion proof and signed
//!   checkpoint, so it is the request's time; Tessera answers with the index once sequenced,
//!   and a proof exists once a published checkpoint covers the index, so its latency ends
//!   when a poller (GET /checkpoint every 2 ms) first sees a checkpoint that large. Tessera's
//!   conformance server batches 256 entries or 1 s and checkpoints every second
//!   (`cmd/conformance/posix/main.go`); vouch's defaults are 1024 entries or 2 ms. vouch's
//!   per-service connection limit (128 by default) is raised to the client count.
//! * `tsa-peer`: RFC 3161 timestamps/s over loopback HTTP from vouch's TSA and from sigstore's
//!   timestamp-authority v2.1.3 (`timestamp-server`, in-memory signer), same DER requests
//!   (SHA-256 imprint, nonce, certReq), same `clients` keep-alive clients.

use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::{AppState, Limits, Log, LogKey};

/// Tessera's documented test key (`cmd/conformance/posix/README.md`): a benchmark log only.
const TESSERA_KEY: &str =
    "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";

/// One server's numbers.
struct Row {
    name: String,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Server CPU time per append (its process, or its threads less the client's).
    server_cpu_us: f64,
    /// The load client's CPU time over the client's and the server's.
    client_share: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len().max(1) - 1) as f64).round() as usize;
    sorted.get(rank).copied().unwrap_or_default().as_secs_f64() * 1e3
}

fn requests(n: usize) -> anyhow::Result<Arc<Vec<Vec<u8>>>> {
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let spki = b64(signer.public_key().spki_der());
    let out = (0..n)
        .map(|i| {
            let artifact = format!("peer bench artifact {i}");
            serde_json::to_vec(&serde_json::json!({"hashedRekordRequestV002": {
                "digest": b64(&Sha256::digest(&artifact)),
                "signature": {"content": b64(&signer.sign_bytes(artifact.as_bytes())),
                              "verifier": {"publicKey": {"rawBytes": spki},
                                           "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(out))
}

use crate::tlog_load::{Answer, Load};

/// Posts the bodies to `url` over `clients` keep-alive connections from `threads` client
/// threads ([`crate::tlog_load`], the same client for vouch and its peers).
fn load(
    url: &str,
    content_type: &'static str,
    bodies: &Arc<Vec<Vec<u8>>>,
    clients: usize,
    threads: usize,
    answer: Arc<Answer>,
) -> anyhow::Result<Load> {
    let (addr, requests) = crate::tlog_load::post_requests(url, content_type, bodies)?;
    crate::tlog_load::run(addr, &requests, clients, threads, answer)
}

/// CPU time (user + system) of process `pid` (`/proc/PID/stat` fields 14 and 15, clock ticks
/// of 1/100 s).
fn child_cpu(pid: u32) -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow::anyhow!("unexpected /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(i - 3)
            .ok_or_else(|| anyhow::anyhow!("short /proc/{pid}/stat"))?
            .parse()?)
    };
    Ok(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}

fn vouch_log(bodies: &Arc<Vec<Vec<u8>>>, clients: usize, threads: usize) -> anyhow::Result<Row> {
    let dir = tempfile::tempdir()?;
    let storage = Box::new(vouch_tlog::DirStorage::open(dir.path().join("tiles"))?);
    let key = LogKey::new_v2(
        SigningKey::generate(KeyAlgorithm::Ed25519)?,
        "bench.example/v2",
    )?;
    let log = Log::start(storage, key, Limits::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/api/v2/log/entries", listener.local_addr()?);
    let state = AppState::new(Arc::clone(&log), false);
    // `vouch tlog serve` holds at most 128 connections per service (vouch_http::server); the
    // client load here is larger (Tessera's batches only fill with 256 writers in flight), so
    // the limits are raised to the load for this comparison.
    let config = vouch_http::server::ServerConfig {
        max_connections: clients + 16,
        process: vouch_http::server::ConnectionLimit::new(clients + 64),
        ..vouch_http::server::ServerConfig::named("log")
    };
    runtime.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
            let _ = vouch_http::server::serve(
                listener,
                vouch_tlog::router(state),
                None,
                config,
                std::future::pending(),
            )
            .await;
        }
    });
    let answer = Arc::new(|_: usize, status: u16, body: &[u8], t: Instant| {
        anyhow::ensure!(status == 201, "vouch append answered {status}");
        // The answer is the proof: inclusionProof with its signed checkpoint.
        anyhow::ensure!(
            body.windows(10).any(|w| w == b"checkpoint"),
            "vouch append answered without a checkpoint"
        );
        Ok(Some(t.elapsed()))
    });
    let cpu_before = crate::tlog_load::process_cpu()?;
    let Load {
        elapsed,
        mut latencies,
        client_cpu,
    } = load(&url, "application/json", bodies, clients, threads, answer)?;
    let process = crate::tlog_load::process_cpu()?.saturating_sub(cpu_before);
    let server = process.saturating_sub(client_cpu);
    let batches = log.metrics().batches.load(Ordering::Relaxed).max(1);
    println!(
        "  (vouch: {:.1} entries and {:.1} ms per batch transaction: tile files, their \
         directories, .state and checkpoint made durable)",
        bodies.len() as f64 / batches as f64,
        log.metrics().batch_micros.load(Ordering::Relaxed) as f64 / batches as f64 / 1e3
    );
    anyhow::ensure!(
        log.storage().size()? == bodies.len() as u64,
        "entries missing"
    );
    latencies.sort_unstable();
    drop(runtime);
    Ok(Row {
        name: format!("vouch Rekor v2 (directory), {clients} clients"),
        rate: bodies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        server_cpu_us: server.as_secs_f64() * 1e6 / bodies.len() as f64,
        client_share: client_cpu.as_secs_f64() / process.as_secs_f64().max(1e-9),
    })
}

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(url: &str, peer: &mut Peer, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = peer.0.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = peer.0.stderr.take() {
                e.read_to_string(&mut err)?;
            }
            anyhow::bail!("{what} exited ({status}): {err}");
        }
        if ureq::get(url).call().is_ok() {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{what} did not answer {url}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tessera(bodies: &Arc<Vec<Vec<u8>>>, clients: usize, threads: usize) -> anyhow::Result<Row> {
    let dir = tempfile::tempdir()?;
    let port = vouch_testkit::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut peer = Peer(
        Command::new(vouch_testkit::peer_tool("tessera-posix"))
            .arg(format!(
                "--storage_dir={}",
                dir.path().join("log").display()
            ))
            .arg(format!("--listen=127.0.0.1:{port}"))
            .env("LOG_PRIVATE_KEY", TESSERA_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting tessera-posix")?,
    );
    wait_for(&format!("{base}/checkpoint"), &mut peer, "tessera-posix")?;

    // The poller: when each checkpoint size was first seen.
    let seen: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (seen, stop, url) = (
            Arc::clone(&seen),
            Arc::clone(&stop),
            format!("{base}/checkpoint"),
        );
        std::thread::spawn(move || -> anyhow::Result<()> {
            let agent = ureq::Agent::new_with_defaults();
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                let text = agent.get(&url).call()?.body_mut().read_to_string()?;
                let size: u64 = text.lines().nth(1).unwrap_or("0").parse()?;
                if size > last {
                    last = size;
                    seen.lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .push((size, Instant::now()));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(())
        })
    };
    let sequenced: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let answer = {
        let sequenced = Arc::clone(&sequenced);
        Arc::new(move |_: usize, status: u16, body: &[u8], t: Instant| {
            anyhow::ensure!(status == 200, "tessera /add answered {status}");
            let index: u64 = std::str::from_utf8(body)?.trim().parse()?;
            sequenced
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push((index, t));
            Ok(None)
        })
    };
    let t0 = Instant::now();
    let pid = peer.0.id();
    let peer_cpu_before = child_cpu(pid)?;
    let Load {
        elapsed,
        client_cpu,
        ..
    } = load(
        &format!("{base}/add"),
        "application/json",
        bodies,
        clients,
        threads,
        answer,
    )?;
    // Wait until a checkpoint covers every entry.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let covered = seen
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .last()
            .is_some_and(|(s, _)| *s >= bodies.len() as u64);
        if covered {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no checkpoint covered every entry in 30 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Tessera's CPU until every entry is provable (sequencing, integration, checkpoint).
    let server = child_cpu(pid)?.saturating_sub(peer_cpu_before);
    stop.store(true, Ordering::Relaxed);
    poller
        .join()
        .map_err(|_| anyhow::anyhow!("poller panicked"))??;
    let seen = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let sequenced = sequenced
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let mut latencies: Vec<Duration> = sequenced
        .iter()
        .filter_map(|(index, t)| {
            seen.iter()
                .find(|(size, at)| *size > *index && *at >= *t)
                .map(|(_, at)| at.duration_since(*t))
        })
        .collect();
    anyhow::ensure!(
        latencies.len() == bodies.len(),
        "entries without a covering checkpoint"
    );
    latencies.sort_unstable();
    // Throughput to the first checkpoint covering every entry (an entry counts once it is
    // provable, as vouch's answer is the proof); the rate of sequencing alone is printed too.
    let provable = seen
        .iter()
        .find(|(size, _)| *size >= bodies.len() as u64)
        .map_or(elapsed, |(_, at)| at.duration_since(t0));
    println!(
        "  (Tessera sequenced {:.0}/s: /add answered for all entries in {:.2} s; provable after {:.2} s)",
        bodies.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        provable.as_secs_f64()
    );
    Ok(Row {
        name: format!("Tessera v1.0.4 POSIX, {clients} clients"),
        rate: bodies.len() as f64 / provable.as_secs_f64(),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        server_cpu_us: server.as_secs_f64() * 1e6 / bodies.len() as f64,
        client_share: client_cpu.as_secs_f64() / (client_cpu + server).as_secs_f64().max(1e-9),
    })
}

/// `vouch-bench tlog-tessera`.
pub(crate) fn tlog(appends: usize, clients: usize, threads: usize) -> anyhow::Result<()> {
    let bodies = requests(appends)?;
    let rows = [
        vouch_log(&bodies, clients, threads)?,
        tessera(&bodies, clients, threads)?,
    ];
    println!(
        "tile log appends (same {appends} signed hashedrekord bodies, {clients} keep-alive HTTP \
         connections from {threads} client thread(s), loopback)"
    );
    println!(
        "  {:<44} {:>11} {:>14} {:>14} {:>13} {:>8}",
        "server", "appends/s", "p50 to proof", "p99 to proof", "server CPU", "client"
    );
    for r in &rows {
        println!(
            "  {:<44} {:>11.0} {:>11.1} ms {:>11.1} ms {:>7.0} us/op {:>7.0}%",
            r.name,
            r.rate,
            r.p50_ms,
            r.p99_ms,
            r.server_cpu_us,
            100.0 * r.client_share
        );
    }
    println!(
        "  vouch / Tessera: {:.2}x appends/s, {:.2}x p50 latency",
        rows[0].rate / rows[1].rate,
        rows[0].p50_ms / rows[1].p50_ms.max(1e-9)
    );
    Ok(())
}

/// A DER TimeStampReq: SHA-256 imprint, 8-byte nonce, certReq (as `openssl ts -query -cert`).
fn query(i: u64) -> anyhow::Result<Vec<u8>> {
    use der07::Encode as _;
    let req = x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifierOwned {
                oid: der07::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
                parameters: None,
            },
            hashed_message: der07::asn1::OctetString::new(
                Sha256::digest(i.to_be_bytes()).to_vec(),
            )?,
        },
        req_policy: None,
        nonce: Some(der07::asn1::Int::new(&(i | 1 << 62).to_be_bytes())?),
        cert_req: true,
        extensions: None,
    };
    Ok(req.to_der()?)
}

fn timestamps(
    url: &str,
    queries: &Arc<Vec<Vec<u8>>>,
    clients: usize,
) -> anyhow::Result<(f64, f64)> {
    let answer = Arc::new(|_: usize, status: u16, body: &[u8], t: Instant| {
        anyhow::ensure!(
            (200..300).contains(&status) && body.len() > 100,
            "timestamp answered {status} with {} bytes",
            body.len()
        );
        Ok(Some(t.elapsed()))
    });
    let Load {
        elapsed,
        mut latencies,
        ..
    } = load(
        url,
        "application/timestamp-query",
        queries,
        clients,
        1,
        answer,
    )?;
    latencies.sort_unstable();
    Ok((
        queries.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 99.0),
    ))
}

/// `vouch-bench tsa-peer`.
pub(crate) fn tsa(requests: usize, clients: usize) -> anyhow::Result<()> {
    let queries = Arc::new(
        (0..requests as u64)
            .map(query)
            .collect::<anyhow::Result<Vec<_>>>()?,
    );
    // vouch's TSA over HTTP in this process.
    let material = vouch_tsa::Material::generate("vouch bench")?;
    let authority = Arc::new(vouch_tsa::TimestampAuthority::new(
        &material,
        &vouch_tsa::Config::default(),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let vouch_url = format!("http://{}/api/v1/timestamp", listener.local_addr()?);
    runtime.spawn(vouch_tsa::server::serve(
        listener,
        authority,
        None,
        std::future::pending(),
    ));
    let vouch = timestamps(&vouch_url, &queries, clients)?;
    drop(runtime);

    // sigstore's timestamp-server (its metrics listener always takes :2112).
    let port = vouch_testkit::free_port();
    // Its log goes to a file: a pipe nobody reads would fill and stall the server.
    let log_dir = tempfile::tempdir()?;
    let log = std::fs::File::create(log_dir.path().join("timestamp-server.log"))?;
    let mut peer = Peer(
        Command::new(vouch_testkit::peer_tool("timestamp-server"))
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--timestamp-signer",
                "memory",
                "--disable-ntp-monitoring",
                "--log-type",
                "prod",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting timestamp-server")?,
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/ping"), &mut peer, "timestamp-server").with_context(|| {
        std::fs::read_to_string(log_dir.path().join("timestamp-server.log")).unwrap_or_default()
    })?;
    let peer_rate = timestamps(&format!("{base}/api/v1/timestamp"), &queries, clients)?;
    drop(peer);

    println!("RFC 3161 timestamps over loopback HTTP ({requests} DER requests, {clients} clients)");
    for (name, (rate, p99)) in [
        ("vouch TSA (ECDSA P-256)", vouch),
        ("sigstore timestamp-authority v2.1.3 (memory)", peer_rate),
    ] {
        println!("  {name:<46} {rate:>9.0}/s   p99 {p99:.1} ms");
    }
    println!("  vouch / sigstore: {:.2}x", vouch.0 / peer_rate.0);
    Ok(())
}
