//! `vouch tlog`: run a Rekor v1-compatible transparency log, and audit one.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use vouch_sign::VerifyingKey;
use vouch_tlog::{Client, Error as TlogError, Limits, Log, LogKey, Monitor};

use crate::cli::Context;
use crate::output::emit;

// The tile-log reader (`--tiles`), in its own file.
#[path = "tlog_tiles.rs"]
mod tiles;

/// Exit code when the log misbehaves: a fork, a rollback, a bad signature or proof.
const EXIT_MISBEHAVIOUR: u8 = 3;

const TLOG_HELP: &str = "\
Exit codes:
  0  success (verify/monitor: the log's checkpoint verifies and is consistent with the last one seen)
  1  error: bad flags, unreachable log, unreadable key or database
  3  the log misbehaved: bad checkpoint signature, rollback, fork, or a proof that does not verify

Examples:
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out log.key
  vouch tlog serve --db sqlite:/var/lib/vouch/tlog.db --key log.key --listen 0.0.0.0:3000
  vouch tlog serve --db postgres://tlog@db.internal/tlog --key log.key --hostname tlog.corp
  vouch tlog serve --db sqlite:tlog.db --key log.key --tls-cert tls.crt --tls-key tls.key
  openssl genpkey -algorithm ed25519 -out log2.key
  vouch tlog serve --api v2 --db dir:/srv/log --key log2.key --origin log.corp
  vouch tlog serve --api v2 --db sqlite:tlog2.db --key log2.key --batch-max-size 256 --batch-max-age 5
  vouch tlog verify --url https://tlog.corp:3000 --ca corp-ca.pem --public-key log.pub
  curl -s http://127.0.0.1:3000/api/v1/log/publicKey > log.pub
  vouch tlog verify --url http://127.0.0.1:3000 --public-key log.pub --entry <UUID>
  vouch tlog monitor --url http://127.0.0.1:3000 --public-key log.pub --state tlog.json --interval 60
  vouch tlog monitor --tiles --url http://127.0.0.1:3000 --public-key log2.pub --state tiles.json

--tiles reads a C2SP tlog-tiles log (a Rekor v2 log such as `vouch tlog serve --api v2` or
`vouch instance serve` after `init --rekor-v2`, Tessera, or a static mirror of one) from
URL/checkpoint and URL/tile/<L>/<N> only: the checkpoint note is verified with --public-key
under its origin (--origin pins it), and consistency with the --state checkpoint is proved
from the hash tiles.";

/// `vouch tlog …`
#[derive(Debug, Subcommand)]
pub(crate) enum TlogCommand {
    /// Run the log: Rekor v1's REST API (POST/GET /api/v1/log/entries, /api/v1/log,
    /// /api/v1/log/proof, /api/v1/log/publicKey, /api/v1/index/retrieve), /healthz (storage
    /// answers), /readyz (appends can be written) and Prometheus /metrics. Entries
    /// (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2) are verified before they are accepted
    /// and are durable before they are acknowledged. A PostgreSQL restart is survived:
    /// appends answer 503 while it is down and succeed again within a second of its return.
    /// Each connection must send its request head within 10 s (idle ones are closed); at most
    /// 128 connections are held at once. With --api v2: Rekor v2 instead (POST
    /// /api/v2/log/entries taking hashedrekord/dsse 0.0.2 requests, answered with the
    /// TransparencyLogEntry once integrated) and the C2SP tlog-tiles reads (/checkpoint,
    /// /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>]), integrated in batches of
    /// --batch-max-size entries.
    #[command(after_help = TLOG_HELP)]
    Serve(ServeArgs),
    /// Fetch the log's signed checkpoint and verify it with the log's public key; with
    /// --entry also verify an entry's SET and inclusion proof; with --state also prove the
    /// checkpoint consistent with the one recorded there.
    #[command(after_help = TLOG_HELP)]
    Verify(VerifyArgs),
    /// Watch a log: each round verifies the signed checkpoint, proves it consistent with the
    /// last one seen (kept in --state) and reports any fork or rollback loudly (exit 3).
    #[command(after_help = TLOG_HELP)]
    Monitor(MonitorArgs),
}

/// Which log API `vouch tlog serve` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogApi {
    /// Rekor v1: REST API, SignedEntryTimestamps, origin "<hostname> - <tree id>".
    V1,
    /// Rekor v2: POST /api/v2/log/entries (hashedrekord/dsse 0.0.2) and the C2SP tlog-tiles
    /// read API (/checkpoint, /tile/<L>/<N>, /tile/entries/<N>); see `vouch_tlog::v2`.
    V2,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Database: sqlite:PATH (one file, created if missing), postgres://USER@HOST[:PORT]/DB, or
    /// (--api v2 only) dir:PATH, a tlog-tiles directory any static web server can serve.
    #[arg(long, value_name = "URL")]
    db: String,
    /// The API: v1 (Rekor v1) or v2 (Rekor v2 writes, tlog-tiles reads).
    #[arg(long, value_enum, default_value = "v1")]
    api: LogApi,
    /// (--api v2) Checkpoint origin and signature key name (C2SP tlog-checkpoint): the host
    /// name of the URL clients are given, without port or path, since sigstore-go and cosign v3
    /// verify a v2 checkpoint under `url.Parse(baseUrl).Hostname()`; default: --hostname.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Most entries integrated in one batch (one transaction, one fsync).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_batch)]
    batch_max_size: usize,
    /// Under concurrent load, wait up to this many milliseconds for more entries before
    /// integrating a batch (a lone client never waits).
    #[arg(long, value_name = "MS", default_value_t = 2)]
    batch_max_age: u64,
    /// The log's signing key: PKCS#8 PEM (ECDSA P-256 or Ed25519) or SEC1 "EC PRIVATE KEY".
    #[arg(long, value_name = "PEM")]
    key: PathBuf,
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    listen: String,
    /// Host name in checkpoints: origin "<hostname> - <tree id>" and the signature's key name.
    #[arg(long, default_value = "vouch-tlog")]
    hostname: String,
    /// Largest request body accepted, bytes (larger ones get 413).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_request_bytes)]
    max_request_bytes: usize,
    /// Requests slower than this get 503, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    request_timeout: u64,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, SEC1 or PKCS#1) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The log's base URL.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The log's public key (PEM), obtained out of band: never trust the one the log serves.
    #[arg(long, value_name = "PEM")]
    public_key: PathBuf,
    /// Trust this CA certificate (PEM) for an https:// URL instead of the public roots.
    #[arg(long, value_name = "PEM")]
    ca: Option<PathBuf>,
    /// The log is a C2SP tlog-tiles log (Rekor v2, Tessera): read URL/checkpoint and the hash
    /// tiles instead of the Rekor v1 API, and prove consistency from tiles.
    #[arg(long)]
    tiles: bool,
    /// With --tiles: the checkpoint origin the log must sign (also its note key name).
    #[arg(long, value_name = "ORIGIN", requires = "tiles")]
    origin: Option<String>,
}

impl LogArgs {
    fn http_config(&self) -> anyhow::Result<vouch_http::ClientConfig> {
        let mut config = vouch_http::ClientConfig::default();
        if let Some(ca) = &self.ca {
            config
                .ca_pem
                .push(std::fs::read(ca).with_context(|| format!("reading --ca {}", ca.display()))?);
        }
        Ok(config)
    }

    fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::with_config(&self.url, &self.http_config()?)?)
    }

    fn tile_log(&self, key: VerifyingKey) -> anyhow::Result<tiles::TileLog> {
        let http = vouch_http::Client::new(&self.http_config()?)?;
        Ok(tiles::TileLog::new(
            &self.url,
            http,
            key,
            self.origin.clone(),
        ))
    }
}

/// A tile-log failure as an exit code: misbehaviour is exit 3 with a loud message.
fn tile_failure(e: tiles::TileFailure) -> anyhow::Result<ExitCode> {
    match e {
        tiles::TileFailure::Misbehaviour(reason) => {
            eprintln!("vouch: LOG MISBEHAVIOUR: {reason}");
            Ok(ExitCode::from(EXIT_MISBEHAVIOUR))
        }
        tiles::TileFailure::Other(e) => Err(e),
    }
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    log: LogArgs,
    /// Also verify this entry (UUID or entry ID): SET, checkpoint and inclusion proof.
    #[arg(long, value_name = "UUID")]
    entry: Option<String>,
    /// Also prove consistency with the checkpoint recorded in this file, then record the new one.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    #[command(flatten)]
    log: LogArgs,
    /// Where the last verified checkpoint is kept between runs.
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Seconds between rounds; without it, one round and exit.
    #[arg(long, value_name = "SECS")]
    interval: Option<u64>,
}

/// Runs a `vouch tlog` command.
pub(crate) fn run(command: TlogCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        TlogCommand::Serve(a) => serve(&a, ctx),
        TlogCommand::Verify(a) => verify(&a, ctx),
        TlogCommand::Monitor(a) => monitor(&a, ctx),
    }
}

fn serve(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let pem = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading --key {}", args.key.display()))?;
    if args.api == LogApi::V1 && args.db.starts_with("dir:") {
        anyhow::bail!("--db dir:PATH holds a tlog-tiles log: it needs --api v2");
    }
    if args.api == LogApi::V1 && args.origin.is_some() {
        anyhow::bail!("--origin applies to --api v2 (v1 origins are \"<hostname> - <tree id>\")");
    }
    let key = match args.api {
        LogApi::V1 => LogKey::from_pem(&pem, &args.hostname)?,
        LogApi::V2 => LogKey::from_pem_v2(&pem, args.origin.as_deref().unwrap_or(&args.hostname))?,
    };
    let storage =
        vouch_tlog::storage::open(&args.db).with_context(|| format!("opening --db {}", args.db))?;
    let limits = Limits {
        max_request_bytes: args.max_request_bytes,
        request_timeout: Duration::from_secs(args.request_timeout),
        max_batch: args.batch_max_size.max(1),
        batch_window: Duration::from_millis(args.batch_max_age),
        ..Limits::default()
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(vouch_tlog::tls::server_config_from_files(cert, key)?),
        _ => None,
    };
    let log = Log::start(storage, key, limits)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("listening on {scheme}://{addr}");
        if !ctx.quiet {
            eprintln!(
                "level=info msg=started tree_id={} log_id={} origin={:?}",
                log.tree_id(),
                hex_id(&log),
                log.key().origin(log.tree_id())
            );
        }
        let state = vouch_tlog::AppState::new(Arc::clone(&log), ctx.verbose > 0);
        match tls {
            Some(config) => {
                vouch_tlog::serve_tls(listener, state, config, shutdown_signal()).await?;
            }
            None => vouch_tlog::serve(listener, state, shutdown_signal()).await?,
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn hex_id(log: &Log) -> String {
    log.key()
        .log_id()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn load_key(path: &PathBuf) -> anyhow::Result<VerifyingKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading --public-key {}", path.display()))?;
    VerifyingKey::from_pem(&pem).with_context(|| format!("parsing --public-key {}", path.display()))
}

#[derive(Debug, Serialize)]
struct VerifyReport {
    url: String,
    origin: String,
    tree_size: u64,
    root_hash: String,
    entry: Option<EntryReport>,
    consistency_verified: Option<bool>,
}

#[derive(Debug, Serialize)]
struct EntryReport {
    entry_id: String,
    log_index: u64,
    integrated_time: u64,
}

/// Misbehaviour is exit 3 with a loud message; other failures are errors (exit 1).
fn misbehaviour(e: TlogError) -> anyhow::Result<ExitCode> {
    match e {
        TlogError::Misbehaviour { .. } | TlogError::Merkle(_) | TlogError::Signature { .. } => {
            eprintln!("vouch: LOG MISBEHAVIOUR: {e}");
            Ok(ExitCode::from(EXIT_MISBEHAVIOUR))
        }
        other => Err(other.into()),
    }
}

fn verify(args: &VerifyArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let key = load_key(&args.log.public_key)?;
    if args.log.tiles {
        anyhow::ensure!(
            args.entry.is_none(),
            "--entry needs the Rekor v1 API; a tile log's entries are proved from the bundle \
             (vouch verify-blob) or from its tiles"
        );
        let report = match args.log.tile_log(key)?.check(args.state.as_deref()) {
            Ok(r) => r,
            Err(e) => return tile_failure(e),
        };
        let report = VerifyReport {
            url: args.log.url.clone(),
            origin: report.current.origin,
            tree_size: report.current.size,
            root_hash: report.current.root,
            entry: None,
            consistency_verified: args.state.as_ref().map(|_| report.consistency_verified),
        };
        return print_verify(ctx, &report);
    }
    let client = args.log.client()?;
    let info = client.log_info()?;
    let checkpoint = match vouch_tlog::verify_checkpoint(&key, &info.signed_tree_head) {
        Ok(c) => c,
        Err(e) => return misbehaviour(e),
    };
    let mut report = VerifyReport {
        url: args.log.url.clone(),
        origin: checkpoint.origin().to_owned(),
        tree_size: checkpoint.size(),
        root_hash: checkpoint.root().to_hex(),
        entry: None,
        consistency_verified: None,
    };
    if let Some(uuid) = &args.entry {
        let (entry_id, entry) = client.entry(uuid)?;
        if let Err(e) = vouch_tlog::verify_entry(&entry.to_tlog_entry()?, &key) {
            return misbehaviour(e);
        }
        report.entry = Some(EntryReport {
            entry_id,
            log_index: entry.log_index,
            integrated_time: entry.integrated_time,
        });
    }
    if let Some(state) = &args.state {
        match Monitor::new(client, key, state).check() {
            Ok(r) => report.consistency_verified = Some(r.consistency_verified),
            Err(e) => return misbehaviour(e),
        }
    }
    print_verify(ctx, &report)
}

fn print_verify(ctx: &Context, report: &VerifyReport) -> anyhow::Result<ExitCode> {
    emit(ctx.format, report, |out, r| {
        writeln!(
            out,
            "checkpoint verified: {} size {} root {}",
            r.origin, r.tree_size, r.root_hash
        )?;
        if let Some(e) = &r.entry {
            writeln!(
                out,
                "entry verified: {} at index {} (integrated {})",
                e.entry_id, e.log_index, e.integrated_time
            )?;
        }
        if let Some(c) = r.consistency_verified {
            writeln!(
                out,
                "consistent with the recorded checkpoint: {}",
                if c {
                    "proved"
                } else {
                    "first contact or no growth"
                }
            )?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn monitor(args: &MonitorArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let key = load_key(&args.log.public_key)?;
    let tile_log = if args.log.tiles {
        Some(args.log.tile_log(key.clone())?)
    } else {
        None
    };
    let monitor = Monitor::new(args.log.client()?, key, &args.state);
    loop {
        let round = match &tile_log {
            Some(log) => match log.check(Some(&args.state)) {
                Ok(r) => Ok(r),
                Err(e) => return tile_failure(e),
            },
            None => monitor.check(),
        };
        match round {
            Ok(report) => emit(ctx.format, &report, |out, r| {
                let prev = r
                    .previous
                    .as_ref()
                    .map_or("none".to_owned(), |p| p.size.to_string());
                writeln!(
                    out,
                    "ok: {} size {} root {} (previous size {prev}, consistency {})",
                    r.current.origin,
                    r.current.size,
                    r.current.root,
                    if r.consistency_verified {
                        "proved"
                    } else {
                        "not needed"
                    }
                )
            })?,
            Err(e) => return misbehaviour(e),
        }
        match args.interval {
            Some(secs) => std::thread::sleep(Duration::from_secs(secs.max(1))),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
}
