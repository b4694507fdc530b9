//! Matching packages against the store, and merging aliases into findings.
//!
//! For each package: look up the `affected` rows of its ecosystem and normalised name
//! (one indexed query), drop withdrawn records and RustSec informational notices
//! (`unmaintained`, `unsound`, `notice`: not vulnerabilities), and evaluate the installed
//! version against each entry's ranges with the OSV algorithm (`vouch-version`). Records
//! that share an id or alias for the same package are one finding (grype and osv-scanner
//! group the same way), so `PYSEC-2021-9` and `GHSA-…` for one CVE are reported once.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use vouch_version::{AffectedVersions, RawRange, Version};

use crate::Error;
use crate::package::{Package, Unmatchable};
use crate::severity::{Rating, Severity};
use crate::store::{Candidate, Database};

/// One vulnerability affecting one package.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The finding's id: the lowest id of the records merged into it.
    pub id: String,
    /// Every other id and alias of the group (CVE, GHSA, ...), sorted.
    pub aliases: Vec<String>,
    /// The ids of the OSV records that matched, sorted.
    pub advisories: Vec<String>,
    /// The affected package.
    pub package: Package,
    /// OSV ecosystem it was matched in (`PyPI`, `Debian:12`).
    pub ecosystem: String,
    /// The package name as written in the advisory (the source package for OS packages).
    pub matched_name: String,
    /// The version that was evaluated (the source version for OS packages).
    pub matched_version: String,
    /// Severity: the highest known rating among the merged records.
    pub rating: Rating,
    /// Versions that fix it and are newer than the installed one, lowest first.
    pub fixed_versions: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// An advisory URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Set when an ignore rule or a VEX statement suppresses the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl Finding {
    /// The id and every alias.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The severity.
    pub fn severity(&self) -> Severity {
        self.rating.severity
    }
}

/// Why a finding is not reported as open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `ignore-rule` or `vex`.
    pub by: String,
    /// The rule's reason, or the VEX justification / impact statement.
    pub reason: String,
    /// The file the rule or statement came from.
    pub source: String,
    /// The OpenVEX `justification` label, for VEX suppressions that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

/// The result of a scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// Findings, open and suppressed, sorted by severity (highest first), package, id.
    pub findings: Vec<Finding>,
    /// Packages examined.
    pub packages: usize,
    /// Packages that could not be matched (no ecosystem, unparseable version).
    pub unmatchable: Vec<Unmatchable>,
}

impl ScanReport {
    /// Findings that are not suppressed.
    pub fn open(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }
}

/// Options of a scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Drop findings without a fixed version (`--only-fixed`).
    pub only_fixed: bool,
}

impl Database {
    /// Matches every package against the store.
    pub fn scan(&self, packages: &[Package], options: ScanOptions) -> Result<ScanReport, Error> {
        let mut report = ScanReport {
            packages: packages.len(),
            ..ScanReport::default()
        };
        // One read transaction for all lookups: one shared lock and one schema check instead
        // of one per package. Dropping it rolls back, which for reads is just the unlock.
        let _read = self.conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        for pkg in packages {
            let lookup = match pkg.lookup() {
                Ok(l) => l,
                Err(reason) => {
                    report.unmatchable.push(Unmatchable {
                        package: pkg.display(),
                        reason,
                    });
                    continue;
                }
            };
            let installed = match Version::parse(lookup.ecosystem.scheme(), &lookup.version) {
                Ok(v) => v,
                Err(e) => {
                    report.unmatchable.push(Unmatchable {
                        package: pkg.display(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let mut hits = Vec::new();
            for cand in self.candidates(&lookup.key, &lookup.name)? {
                if cand.withdrawn || cand.informational.is_some() {
                    continue;
                }
                if let Some(fixed) = evaluate(&cand, &lookup.ecosystem, &installed) {
                    hits.push((cand, fixed));
                }
            }
            for mut finding in merge(pkg, &lookup.key, &lookup.version, hits) {
                finding.fixed_versions.retain(|v| !v.is_empty());
                if options.only_fixed && finding.fixed_versions.is_empty() {
                    continue;
                }
                report.findings.push(finding);
            }
        }
        report.findings.sort_by(|a, b| {
            b.rating
                .severity
                .cmp(&a.rating.severity)
                .then_with(|| a.package.name.cmp(&b.package.name))
                .then_with(|| a.package.version.cmp(&b.package.version))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(report)
    }
}

/// If the candidate's entry affects `installed`, the fixed versions above it.
///
/// An entry whose stored ranges no longer validate (a record imported by an older vouch)
/// is treated as not matching rather than failing the scan.
fn evaluate(
    cand: &Candidate,
    eco: &vouch_version::Ecosystem,
    installed: &Version,
) -> Option<Vec<Version>> {
    #[derive(serde::Deserialize)]
    struct Stored {
        ranges: Vec<RawRange>,
        versions: Vec<String>,
    }
    let stored: Stored = serde_json::from_str(&cand.ranges).ok()?;
    let affected = AffectedVersions::new(eco.clone(), &stored.ranges, &stored.versions).ok()?;
    if !affected.contains_version(installed).ok()? {
        return None;
    }
    let mut fixed: Vec<Version> = affected
        .fixed_versions()
        .filter(|f| {
            f.scheme() != installed.scheme()
                || (*f).partial_cmp(installed) == Some(std::cmp::Ordering::Greater)
        })
        .cloned()
        .collect();
    fixed.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    fixed.dedup_by(|a, b| a.as_str() == b.as_str());
    Some(fixed)
}

/// Groups the matching records of one package by shared id/alias (union-find over ids).
fn merge(
    pkg: &Package,
    ecosystem: &str,
    version: &str,
    hits: Vec<(Candidate, Vec<Version>)>,
) -> Vec<Finding> {
    let n = hits.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (c, _)) in hits.iter().enumerate() {
        for id in std::iter::once(&c.id).chain(&c.aliases) {
            match owner.get(id.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    owner.insert(id.as_str(), i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    groups
        .into_values()
        .map(|members| {
            let records: BTreeSet<&str> = members.iter().map(|&i| hits[i].0.id.as_str()).collect();
            let id = preferred_id(records.iter().copied());
            let mut aliases: BTreeSet<String> = members
                .iter()
                .flat_map(|&i| std::iter::once(&hits[i].0.id).chain(&hits[i].0.aliases))
                .cloned()
                .collect();
            aliases.remove(&id);
            let best = members
                .iter()
                .map(|&i| &hits[i].0)
                .max_by(|a, b| {
                    a.rating.severity.cmp(&b.rating.severity).then_with(|| {
                        a.rating
                            .score
                            .partial_cmp(&b.rating.score)
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
                })
                .unwrap_or(&hits[members[0]].0);
            let primary = members
                .iter()
                .map(|&i| &hits[i].0)
                .find(|c| c.id == id)
                .unwrap_or(best);
            let mut fixed: Vec<&Version> = members.iter().flat_map(|&i| &hits[i].1).collect();
            fixed.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let mut fixed_versions: Vec<String> = Vec::new();
            for f in fixed {
                if fixed_versions.last().is_none_or(|l| l != f.as_str())
                    && !fixed_versions.iter().any(|x| x == f.as_str())
                {
                    fixed_versions.push(f.as_str().to_owned());
                }
            }
            Finding {
                id,
                aliases: aliases.into_iter().collect(),
                advisories: records.iter().map(|s| (*s).to_owned()).collect(),
                package: pkg.clone(),
                ecosystem: ecosystem.to_owned(),
                matched_name: primary.package.clone(),
                matched_version: version.to_owned(),
                rating: best.rating.clone(),
                fixed_versions,
                summary: primary.summary.clone(),
                url: primary.url.clone(),
                suppressed: None,
            }
        })
        .collect()
}

/// Picks the id a merged finding is reported under: the lowest (byte order) id among the
/// records that matched, never an alias, so the reported id is always one the database
/// holds. Deterministic: the same input always reports the same id.
fn preferred_id<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.min().unwrap_or_default().to_owned()
}
