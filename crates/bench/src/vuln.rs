//! `vouch db import` + `vouch scan` benchmark: import all of ../shared/advisories (RustSec,
//! Go vulndb, PyPA: ~8,000 OSV records) into a fresh database, then scan a CycloneDX SBOM of
//! `packages` PyPI packages (real names from the PyPA corpus, so most lookups hit rows) as
//! a cold process. Prints import time, database size and median scan time.
//!
//! Wiring (lead): `mod vuln;` in main.rs and an arm
//! `"vuln" => vuln::run(&vouch_testkit::shared_dir().context("../shared")?.join("advisories"), flag("--packages", 600)? as usize, flag("--runs", 5)?)`.
//! Needs `serde_json` (already a dependency).

use std::path::Path;

use anyhow::Context as _;

use crate::measure::{measure, median, vouch_binary};

pub(crate) fn run(advisories: &Path, packages: usize, runs: u64) -> anyhow::Result<()> {
    let vouch = vouch_binary()?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("vuln.db");
    let db_arg = format!("--db={}", db.display());
    let sources: Vec<String> = ["rustsec/crates", "go/osv", "pypa/vulns"]
        .iter()
        .map(|s| advisories.join(s).display().to_string())
        .collect();
    let mut args = vec![
        "db".to_owned(),
        "import".to_owned(),
        db_arg.clone(),
        "-q".to_owned(),
    ];
    args.extend(sources);
    let import = measure(&vouch, &args)?;
    let size = std::fs::metadata(&db)?.len();

    let mut names: Vec<String> = std::fs::read_dir(advisories.join("pypa/vulns"))
        .context("reading the PyPA corpus")?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names.truncate(packages);
    let components: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({"type": "library", "name": n, "version": "1.0.0", "purl": format!("pkg:pypi/{n}@1.0.0")}))
        .collect();
    let sbom = dir.path().join("sbom.cdx.json");
    std::fs::write(
        &sbom,
        serde_json::to_vec(
            &serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}),
        )?,
    )?;
    let scan_args = vec![
        "scan".to_owned(),
        sbom.display().to_string(),
        db_arg,
        "-q".to_owned(),
        "-o".to_owned(),
        "json".to_owned(),
    ];
    let samples = (0..runs.max(1))
        .map(|_| measure(&vouch, &scan_args))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scan = median(&samples);
    println!(
        "vuln: import of {} (RustSec, Go, PyPA): {:.2} s, peak {} MB",
        advisories.display(),
        import.seconds,
        import.peak_kb / 1024
    );
    println!("vuln: database size {:.1} MB", size as f64 / 1e6);
    println!(
        "vuln: scan of {} packages (cold process, median of {runs}): {:.0} ms, peak {} MB",
        names.len(),
        scan.seconds * 1000.0,
        scan.peak_kb / 1024
    );
    Ok(())
}
