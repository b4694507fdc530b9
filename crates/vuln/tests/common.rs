//! Shared helpers for the integration tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::{Path, PathBuf};

use vouch_vuln::{Database, ImportOptions, ImportReport, Package, ScanOptions, ScanReport, Source};

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// A database in a fresh temp dir, with the given sources imported.
pub fn db_with(sources: &[PathBuf]) -> (tempfile::TempDir, Database, ImportReport) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = Database::open_or_create(&dir.path().join("vuln.db")).expect("create db");
    let sources: Vec<Source> = sources.iter().cloned().map(Source::Path).collect();
    let report = db
        .import(&sources, &ImportOptions::default())
        .expect("import");
    (dir, db, report)
}

pub fn scan(db: &Database, purls: &[&str]) -> ScanReport {
    let packages: Vec<Package> = purls
        .iter()
        .map(|p| Package::from_purl(p).expect(p))
        .collect();
    db.scan(&packages, ScanOptions::default()).expect("scan")
}

/// `(id, fixed_versions)` of every finding, sorted by id.
pub fn ids_and_fixes(report: &ScanReport, package: &str) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.package.name == package)
        .map(|f| (f.id.clone(), f.fixed_versions.clone()))
        .collect();
    v.sort();
    v
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}
