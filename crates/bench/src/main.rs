//! `vouch-bench`: runs vouch and its peers on the same inputs in one run and prints ratios.
//!
//! ```text
//! cargo run --release -p vouch-bench -- copy [--mb 256] [--layers 4] [--runs 3]
//! ```
//!
//! Each benchmark builds its inputs, starts the services it needs on loopback (a real
//! docker-registry), runs the release `vouch` binary and the peer as processes under
//! `/usr/bin/time` (wall time and peak RSS), and prints a table. No assertions: numbers are
//! for people and for the closing notes of issues.

mod admission;
mod copy;
mod keyless;
mod measure;
mod peers_v2;
mod pkcs11;
mod sbom;
mod tlog;
mod tlog_load;
mod tlog_v2;
mod tsa;
mod verify;
mod vuln;

use anyhow::{Context, bail};

const USAGE: &str = "usage: vouch-bench BENCHMARK [FLAGS]
  copy       [--mb N] [--layers N] [--runs N]   vouch image copy vs skopeo copy
  sbom       [--runs N]                         vouch sbom vs syft: time, peak memory; decompression floor
  verify     [--bundles N]                      bundles/s in process; verify-blob vs sigstore-python
  vuln       [--packages N] [--runs N]          database import and scan times (needs ../shared)
  vuln --records N [--packages N] [--runs N]    same against N generated osv.dev-shaped records
  tlog       [--appends N] [--no-postgres]      appends/s, append and proof latency (SQLite, PostgreSQL)
  tlog-v2    [--appends N] [--clients N] [--client-threads N] [--backends sqlite,dir] [--modes in-process,http]
                                                Rekor v2 log appends/s, p50/p99 (in process, HTTP; SQLite, directory)
  keyless    [--requests N] [--threads N] [--runs N]   certificates/s, p99; keyless `vouch sign`
  admission  [--reviews N] [--threads N]        webhook p50/p99 cold and warm, reviews/s
  tsa        [--requests N] [--threads N]       RFC 3161 timestamps/s in process and over HTTP
  tlog-tessera [--appends N] [--clients N] [--client-threads N]
                                                Rekor v2 log vs Tessera POSIX: appends/s, p50/p99 to proof
  tsa-peer   [--requests N] [--clients N]       timestamps/s: vouch TSA vs sigstore timestamp-authority
  pkcs11     [--signatures N]                   signatures/s: SoftHSM2 token vs a key in memory
Build first: cargo build --release -p vouch -p vouch-bench";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(which) = args.first() else {
        bail!("{USAGE}");
    };
    if matches!(which.as_str(), "-h" | "--help" | "help")
        || args.iter().any(|a| a == "-h" || a == "--help")
    {
        println!("{USAGE}");
        return Ok(());
    }
    // A misspelt flag would otherwise run the benchmark with its defaults, unnoticed.
    const FLAGS: &[&str] = &[
        "--appends",
        "--backends",
        "--bundles",
        "--client-threads",
        "--clients",
        "--layers",
        "--mb",
        "--modes",
        "--no-postgres",
        "--packages",
        "--records",
        "--requests",
        "--reviews",
        "--runs",
        "--signatures",
        "--threads",
    ];
    if let Some(unknown) = args
        .iter()
        .find(|a| a.starts_with('-') && !FLAGS.contains(&a.as_str()))
    {
        bail!("unknown flag {unknown}\n{USAGE}");
    }
    let flag = |name: &str, default: u64| -> anyhow::Result<u64> {
        match args.iter().position(|a| a == name) {
            Some(i) => args
                .get(i + 1)
                .context("flag value")?
                .parse()
                .context(name.to_owned()),
            None => Ok(default),
        }
    };
    match which.as_str() {
        "copy" => copy::run(flag("--mb", 256)?, flag("--layers", 4)?, flag("--runs", 3)?),
        "verify" => verify::run(
            flag("--bundles", 1000)? as usize,
            flag("--runs", 5)? as usize,
        )
        .map(|_| ()),
        "sbom" => sbom::run(flag("--runs", 3)?),
        "vuln" if args.iter().any(|a| a == "--records") => vuln::run_generated(
            flag("--records", 200_000)? as usize,
            flag("--packages", 600)? as usize,
            flag("--runs", 5)?,
        ),
        "vuln" => vuln::run(
            &vouch_testkit::shared_dir()
                .context("../shared is needed for the advisory corpus")?
                .join("advisories"),
            flag("--packages", 600)? as usize,
            flag("--runs", 5)?,
        ),
        "tlog" => {
            let mut options = tlog::Options::default();
            options.appends = flag("--appends", options.appends as u64)? as usize;
            options.postgres = !args.iter().any(|a| a == "--no-postgres");
            for r in tlog::run(&options)? {
                println!(
                    "tlog {:<9} {:>8.0} appends/s  append p50 {:.1} ms p99 {:.1} ms  ({} batches)  \
                     proof at {} p50 {:.0} us p99 {:.0} us  GET entry p50 {:.2} ms p99 {:.2} ms",
                    r.backend,
                    r.appends_per_sec,
                    r.append_p50_ms,
                    r.append_p99_ms,
                    r.batches,
                    r.proof_tree_size,
                    r.proof_p50_us,
                    r.proof_p99_us,
                    r.get_entry_p50_ms,
                    r.get_entry_p99_ms
                );
            }
            Ok(())
        }
        "tlog-v2" => {
            let list = |name: &str, all: &[&str]| -> Vec<String> {
                match args.iter().position(|a| a == name) {
                    Some(i) => args
                        .get(i + 1)
                        .map(|v| v.split(',').map(str::to_owned).collect())
                        .unwrap_or_default(),
                    None => all.iter().map(|s| (*s).to_owned()).collect(),
                }
            };
            for r in tlog_v2::run(&tlog_v2::Options {
                appends: flag("--appends", 20_000)? as usize,
                clients: flag("--clients", 64)? as usize,
                client_threads: flag("--client-threads", 1)? as usize,
                backends: list("--backends", &["sqlite", "dir"]),
                modes: list("--modes", &["in-process", "http"]),
            })? {
                println!(
                    "tlog-v2 {:<6} {:<10} {:>8.0} appends/s  append-to-proof p50 {:.1} ms p99 {:.1} ms  ({} batches)",
                    r.backend, r.mode, r.appends_per_sec, r.p50_ms, r.p99_ms, r.batches
                );
            }
            Ok(())
        }
        "keyless" => keyless::run(
            flag("--requests", 1000)? as usize,
            flag("--threads", 4)? as usize,
            flag("--runs", 5)? as usize,
        ),
        "admission" => admission::run(
            flag("--reviews", 500)? as usize,
            flag("--threads", 4)? as usize,
        ),
        "tlog-tessera" => peers_v2::tlog(
            flag("--appends", 20_000)? as usize,
            flag("--clients", 256)? as usize,
            flag("--client-threads", 1)? as usize,
        ),
        "tsa-peer" => peers_v2::tsa(
            flag("--requests", 20_000)? as usize,
            flag("--clients", 8)? as usize,
        ),
        "tsa" => tsa::run(
            flag("--requests", 20_000)? as usize,
            flag("--threads", 2)? as usize,
        ),
        "pkcs11" => pkcs11::run(flag("--signatures", 2000)? as usize),
        other => {
            bail!("unknown benchmark {other:?}\n{USAGE}")
        }
    }
}
