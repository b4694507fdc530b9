//! Vulnerability matching for vouch: OSV advisories in an embedded SQLite store, matched
//! against package lists, offline.
//!
//! * [`Database`] is the store. [`Database::import`] reads OSV records from [`Source`]s
//!   (JSON or YAML files, directories, osv.dev `all.zip` exports, `http(s)` URLs) in one
//!   transaction, incrementally by `modified`, reporting malformed records as
//!   [`ImportIssue`]s with file and field. [`Database::open`] opens it read-only for a
//!   scan and says how to import when it is missing or damaged.
//! * [`Package`] is the scanner's input (built from a purl, or read from an SPDX or
//!   CycloneDX SBOM by [`read_sbom`]). [`Database::scan`] returns a [`ScanReport`] of
//!   [`Finding`]s: one per vulnerability and package, aliases merged, withdrawn records
//!   ignored, OS packages matched by source package and distro release.
//! * [`Rating`]/[`Severity`] come from CVSS v2/v3.x/v4 vectors (scored, not copied) or
//!   vendor words. For OS packages the distro's word (Debian urgency, Ubuntu priority, Red
//!   Hat severity) wins; records without any rating take it from the records they name
//!   (`upstream`, `aliases`, `related`): OSV `CVE-*` records, NVD CVE 2.0 feeds and CVEList
//!   v5 records imported as files. [`Rating::from`] says which record it was read from;
//!   unknown stays [`Severity::Unknown`].
//! * EPSS CSV and CISA KEV JSON files import like advisories; findings carry [`Epss`] and
//!   [`Kev`]. OS packages of a distro release without data are reported as [`DistroGap`]s.
//! * [`Database::update`] refreshes from osv.dev's bucket layout (`<ECOSYSTEM>/all.zip`) or
//!   a mirror; [`Database::data_age_seconds`] is how old the newest record is.
//! * [`IgnoreRules`] and [`Vex`] suppress findings with a recorded reason;
//!   [`report::sarif`] and [`report::cyclonedx_vex`] render reports.
//!
//! ```
//! use vouch_vuln::{Database, ImportOptions, Package, ScanOptions, Source};
//!
//! let dir = tempfile::tempdir()?;
//! let record = dir.path().join("GHSA-test.json");
//! std::fs::write(&record, r#"{"id": "GHSA-test", "modified": "2024-01-01T00:00:00Z",
//!   "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
//!                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]}]}"#)?;
//! let mut db = Database::open_or_create(&dir.path().join("vuln.db"))?;
//! db.import(&[Source::Path(record)], &ImportOptions::default())?;
//!
//! let pkg = Package::from_purl("pkg:pypi/demo-pkg@1.1")?;
//! let report = db.scan(&[pkg], ScanOptions::default())?;
//! assert_eq!(report.findings[0].id, "GHSA-test");
//! assert_eq!(report.findings[0].fixed_versions, ["1.2"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod feeds;
pub mod grype;
mod import;
mod matcher;
mod osv;
mod package;
mod policy;
pub mod report;
mod sbom;
mod severity;
mod store;
mod update;

pub use error::Error;
pub use import::{ImportIssue, ImportOptions, ImportReport, Source, SourceReport};
pub use matcher::{DistroGap, Epss, Finding, Kev, ScanOptions, ScanReport, Suppression};
pub use osv::{ecosystem_key, normalize_name};
pub use package::{Package, Unmatchable};
pub use policy::{IgnoreFile, IgnoreRule, IgnoreRules, Vex, purl_matches};
pub use sbom::{PackageList, read_sbom};
pub use severity::{Rating, Severity, score_vector};
pub use store::{Database, EcosystemCount, SCHEMA_VERSION, SourceInfo, Status, default_db_path};
pub use update::OSV_BUCKET;

/// Limits on untrusted input. Defaults fit the largest public OSV exports with room to
/// spare (osv.dev's PyPI `all.zip` holds ~15,000 records of a few kB each).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest single OSV record file or archive entry (default 8 MiB).
    pub max_record_bytes: u64,
    /// Most record files in one directory tree or archive (default 2,000,000).
    pub max_files: u64,
    /// Largest whole-feed file (NVD JSON feed, EPSS CSV, KEV JSON, any `.gz` once
    /// decompressed; default 1 GiB).
    pub max_feed_bytes: u64,
    /// Largest download from a URL source (default 4 GiB).
    pub max_download_bytes: u64,
    /// Largest SBOM file (default 512 MiB).
    pub max_sbom_bytes: u64,
    /// Most packages in one SBOM (default 1,000,000).
    pub max_packages: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: 8 << 20,
            max_files: 2_000_000,
            max_feed_bytes: 1 << 30,
            max_download_bytes: 4 << 30,
            max_sbom_bytes: 512 << 20,
            max_packages: 1_000_000,
        }
    }
}
