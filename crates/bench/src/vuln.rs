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

/// The same measurement against a generated database of `records` OSV records in the shapes
/// osv.dev publishes (as in `crates/vuln/tests/data/osv-dev/records`): 40% `DEBIAN-CVE-*`
/// (source package per `Debian:12`, `ecosystem_specific.urgency`, `upstream`), 10% `DSA-*`
/// (`upstream` = `DEBIAN-CVE-…` + `CVE-…`), 40% `CVE-*` (GIT ranges, CVSS v3 vector: what the
/// distro findings take their rating from), 10% GHSA-style PyPI records. The SBOM holds
/// `packages` Debian 12 binary packages (source names that hit rows) and PyPI packages.
/// Needs no ../shared.
pub(crate) fn run_generated(records: usize, packages: usize, runs: u64) -> anyhow::Result<()> {
    let vouch = vouch_binary()?;
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("records");
    std::fs::create_dir_all(&src)?;
    // Distinct source packages: Debian has ~35,000; 20,000 keeps the hit rate of a
    // 600-package image near a real one (a few advisories per source package).
    let sources = 20_000usize;
    let vectors = [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N",
    ];
    let urgencies = ["not yet assigned", "low", "medium", "high", "unimportant"];
    let mut batch: Vec<serde_json::Value> = Vec::with_capacity(1000);
    let mut files = 0usize;
    let mut flush = |batch: &mut Vec<serde_json::Value>| -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        std::fs::write(
            src.join(format!("batch-{files:05}.json")),
            serde_json::to_vec(&batch)?,
        )?;
        files += 1;
        batch.clear();
        Ok(())
    };
    for i in 0..records {
        // In each group of ten: DEBIAN-CVE records for four CVEs (slots 0-3), a DSA for the
        // first (4), the OSV CVE records of the same four CVEs (5-8), a GHSA (9).
        let slot = i % 10;
        let n = i - slot
            + match slot {
                0..=3 => slot,
                4 => 0,
                5..=8 => slot - 5,
                _ => 9,
            };
        let cve = format!("CVE-{}-{:05}", 2000 + (n / 100_000) % 26, n % 100_000);
        let pkg = format!("src{}", n % sources);
        let fixed = format!("1.{}-1", 1 + i % 40);
        let modified = "2025-09-26T07:12:09.726574Z";
        let record = match i % 10 {
            0..=3 => serde_json::json!({
                "id": format!("DEBIAN-{cve}"), "modified": modified, "upstream": [cve],
                "details": "generated",
                "affected": [{"package": {"name": pkg, "ecosystem": "Debian:12", "purl": format!("pkg:deb/debian/{pkg}?arch=source")},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                  "ecosystem_specific": {"urgency": urgencies[i % urgencies.len()]}}],
                "references": [{"type": "ADVISORY", "url": format!("https://security-tracker.debian.org/tracker/{cve}")}],
                "schema_version": "1.7.3"}),
            4 => serde_json::json!({
                "id": format!("DSA-{}-1", 1000 + i), "modified": modified, "summary": format!("{pkg} - security update"),
                "upstream": [format!("DEBIAN-{cve}"), cve],
                "affected": [{"package": {"name": pkg, "ecosystem": "Debian:12", "purl": format!("pkg:deb/debian/{pkg}?arch=source")},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
                "schema_version": "1.7.3"}),
            5..=8 => serde_json::json!({
                "id": cve, "modified": modified, "details": "generated",
                "severity": [{"type": "CVSS_V3", "score": vectors[i % vectors.len()]}],
                "affected": [{"ranges": [{"type": "GIT", "repo": format!("https://git.example/{pkg}"),
                  "events": [{"introduced": "0"}, {"fixed": format!("{:040x}", i)}]}], "versions": [format!("v1.{}", i % 40)]}],
                "schema_version": "1.7.3"}),
            _ => serde_json::json!({
                "id": format!("GHSA-gen-{i:08}"), "modified": modified, "aliases": [cve],
                "severity": [{"type": "CVSS_V3", "score": vectors[i % vectors.len()]}],
                "affected": [{"package": {"ecosystem": "PyPI", "name": format!("py-{}", i % sources)},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": format!("{}.0", 1 + i % 9)}]}]}],
                "database_specific": {"severity": "HIGH"}}),
        };
        batch.push(record);
        if batch.len() == 1000 {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;

    let db = dir.path().join("vuln.db");
    let db_arg = format!("--db={}", db.display());
    let import = measure(
        &vouch,
        &[
            "db".to_owned(),
            "import".to_owned(),
            db_arg.clone(),
            "-q".to_owned(),
            src.display().to_string(),
        ],
    )?;
    let size = std::fs::metadata(&db)?.len();

    let debs = packages - packages / 6;
    let mut purls: Vec<String> = (0..debs)
        .map(|j| {
            let s = (j * 7) % sources;
            format!("pkg:deb/debian/bin{j}@1.0-1?arch=amd64&upstream=src{s}&distro=debian-12.5")
        })
        .collect();
    purls.extend((debs..packages).map(|j| format!("pkg:pypi/py-{}@0.5", (j * 13) % sources)));
    let sbom = dir.path().join("purls.txt");
    std::fs::write(&sbom, purls.join("\n"))?;
    let scan_args = vec![
        "scan".to_owned(),
        sbom.display().to_string(),
        db_arg,
        "-q".to_owned(),
        "-o".to_owned(),
        "json".to_owned(),
    ];
    // Check the output once: findings found, rated from the upstream CVE records.
    let out = std::process::Command::new(&vouch)
        .args(&scan_args)
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("scan output: {}", String::from_utf8_lossy(&out.stderr)))?;
    let findings = report["findings"].as_array().map_or(0, Vec::len);
    let from_upstream = report["findings"].as_array().map_or(0, |f| {
        f.iter()
            .filter(|f| {
                f["rating"]["from"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("(OSV)"))
            })
            .count()
    });
    let samples = (0..runs.max(1))
        .map(|_| measure(&vouch, &scan_args))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scan = median(&samples);
    if std::env::var_os("VOUCH_BENCH_KEEP").is_some() {
        println!("vuln: kept {}", dir.keep().display());
    }
    println!(
        "vuln: import of {records} generated records ({files} files): {:.2} s = {:.0} records/s, peak {} MB",
        import.seconds,
        records as f64 / import.seconds,
        import.peak_kb / 1024
    );
    // On a shared machine the wall time depends on the load; the CPU time does not.
    println!(
        "vuln: import CPU time (user + system, all threads): {:.2} s = {:.0} records per CPU-second; {:.2} CPUs busy on average",
        import.cpu,
        records as f64 / import.cpu,
        import.cpu / import.seconds
    );
    println!(
        "vuln: database size {:.1} MB ({:.0} bytes/record)",
        size as f64 / 1e6,
        size as f64 / records as f64
    );
    println!(
        "vuln: scan of {packages} packages ({findings} findings, {from_upstream} rated from the upstream CVE), cold process, median of {runs}: {:.0} ms, peak {} MB",
        scan.seconds * 1000.0,
        scan.peak_kb / 1024
    );
    Ok(())
}
