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
    /// Severity, with where it came from (`rating.from`): the distro's own rating when one
    /// of the records gives it (Debian urgency, Ubuntu priority, Red Hat severity), else
    /// the highest CVSS/GHSA rating among the merged records, else the highest rating of
    /// the records they name (`upstream`, `aliases`, `related`: OSV `CVE-*` records, NVD,
    /// CVEList).
    pub rating: Rating,
    /// EPSS probability of exploitation (highest among the finding's CVEs), when imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<Epss>,
    /// The CISA KEV entry of one of the finding's CVEs, when listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<Kev>,
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

/// An EPSS score (FIRST Exploit Prediction Scoring System).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Epss {
    /// The CVE scored.
    pub cve: String,
    /// Probability of exploitation activity in the next 30 days (0..1).
    pub score: f64,
    /// Percentile of the score among all scored CVEs (0..1).
    pub percentile: f64,
}

/// A CISA Known Exploited Vulnerabilities catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kev {
    /// The CVE listed.
    pub cve: String,
    /// When CISA added it (`YYYY-MM-DD`).
    pub date_added: String,
    /// Remediation due date for US federal agencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Known use in ransomware campaigns.
    pub known_ransomware: bool,
}

/// OS packages whose distro release the database has no advisories for: scanning them
/// proves nothing, so the report says so instead of coming back clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistroGap {
    /// The distro as the SBOM names it (`debian-12`, `amzn-2023`, `rhel-9.3`).
    pub distro: String,
    /// The OSV ecosystem vouch looked it up in, when it maps to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// Packages of it in the scan.
    pub packages: usize,
    /// Why nothing was matched.
    pub reason: String,
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
    /// Distro releases without data in the database (each one a warning).
    pub distros_without_data: Vec<DistroGap>,
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
        let prio = Prio {
            epss: self.table_has_rows("epss")?,
            kev: self.table_has_rows("kev")?,
        };
        let mut gaps: BTreeMap<String, DistroGap> = BTreeMap::new();
        let mut has_data: BTreeMap<String, bool> = BTreeMap::new();
        for pkg in packages {
            let lookup = match pkg.lookup() {
                Ok(l) => l,
                Err(reason) => {
                    if let Some(distro) = pkg.os_distro() {
                        gaps.entry(distro.clone())
                            .or_insert_with(|| DistroGap {
                                distro,
                                ecosystem: None,
                                packages: 0,
                                reason: reason.clone(),
                            })
                            .packages += 1;
                    }
                    report.unmatchable.push(Unmatchable {
                        package: pkg.display(),
                        reason,
                    });
                    continue;
                }
            };
            if let Some(distro) = pkg.os_distro() {
                let known = match has_data.get(&lookup.key) {
                    Some(k) => *k,
                    None => {
                        let k = self.has_ecosystem(&lookup.key)?;
                        has_data.insert(lookup.key.clone(), k);
                        k
                    }
                };
                if !known {
                    gaps.entry(distro.clone())
                        .or_insert_with(|| DistroGap {
                            distro: distro.clone(),
                            ecosystem: Some(lookup.key.clone()),
                            packages: 0,
                            reason: format!(
                                "the database holds no advisories for {} (import that distro's \
                                 OSV data, e.g. vouch db update --ecosystem '{}')",
                                lookup.key,
                                lookup.ecosystem.kind().name()
                            ),
                        })
                        .packages += 1;
                }
            }
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
            let mut hits: Vec<(Candidate, Vec<Version>)> = Vec::new();
            for name in &lookup.names {
                for cand in self.candidates(&lookup.key, name)? {
                    if cand.withdrawn
                        || cand.informational.is_some()
                        || hits.iter().any(|(h, _)| h.id == cand.id)
                    {
                        continue;
                    }
                    if let Some(fixed) = evaluate(&cand, &lookup.ecosystem, &installed) {
                        hits.push((cand, fixed));
                    }
                }
            }
            for (mut finding, related) in merge(pkg, &lookup.key, &lookup.version, hits) {
                finding.fixed_versions.retain(|v| !v.is_empty());
                if options.only_fixed && finding.fixed_versions.is_empty() {
                    continue;
                }
                if !finding.rating.is_known() {
                    let ids: Vec<&str> = related.iter().map(String::as_str).collect();
                    if let Some(r) = self.related_rating(&ids)? {
                        finding.rating = r;
                    }
                }
                self.prioritise(&mut finding, prio)?;
                report.findings.push(finding);
            }
        }
        report.distros_without_data = gaps.into_values().collect();
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

/// Which prioritisation tables hold data (checked once per scan, so a database without
/// EPSS or KEV costs no lookups per finding).
#[derive(Clone, Copy)]
struct Prio {
    epss: bool,
    kev: bool,
}

impl Database {
    /// Fills in EPSS and KEV from the finding's CVE ids.
    fn prioritise(&self, finding: &mut Finding, prio: Prio) -> Result<(), Error> {
        if !prio.epss && !prio.kev {
            return Ok(());
        }
        let cves: Vec<String> = finding
            .all_ids()
            .filter(|id| id.starts_with("CVE-"))
            .map(str::to_owned)
            .collect();
        for cve in &cves {
            if prio.epss
                && let Some((score, percentile)) = self.epss(cve)?
                && finding.epss.as_ref().is_none_or(|e| e.score < score)
            {
                finding.epss = Some(Epss {
                    cve: cve.clone(),
                    score,
                    percentile,
                });
            }
            if prio.kev
                && finding.kev.is_none()
                && let Some((date_added, due_date, known_ransomware)) = self.kev(cve)?
            {
                finding.kev = Some(Kev {
                    cve: cve.clone(),
                    date_added,
                    due_date,
                    known_ransomware,
                });
            }
        }
        Ok(())
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
/// Returns each finding with the ids its records name (for a rating lookup when none of
/// them is rated).
fn merge(
    pkg: &Package,
    ecosystem: &str,
    version: &str,
    hits: Vec<(Candidate, Vec<Version>)>,
) -> Vec<(Finding, Vec<String>)> {
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
            let by_rating = |a: &&Rating, b: &&Rating| {
                a.severity.cmp(&b.severity).then_with(|| {
                    a.score
                        .partial_cmp(&b.score)
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
            };
            let best = members
                .iter()
                .map(|&i| &hits[i].0)
                .max_by(|a, b| by_rating(&&a.rating, &&b.rating))
                .unwrap_or(&hits[members[0]].0);
            // The distro's own word wins for its packages (grype: the distro namespace's
            // severity is the vulnerability's); else the best CVSS/GHSA of the records.
            let distro = members
                .iter()
                .filter_map(|&i| hits[i].0.distro_rating.as_ref().map(|r| (r, &hits[i].0.id)))
                .max_by(|a, b| by_rating(&a.0, &b.0));
            let rating = match distro {
                Some((r, id)) => Rating {
                    from: Some(id.clone()),
                    ..r.clone()
                },
                None if best.rating.is_known() => Rating {
                    from: Some(best.id.clone()),
                    ..best.rating.clone()
                },
                None => Rating::unknown(),
            };
            let mut named: Vec<String> = members
                .iter()
                .flat_map(|&i| hits[i].0.aliases.iter().chain(&hits[i].0.related))
                .filter(|id| !records.contains(id.as_str()))
                .cloned()
                .collect();
            named.sort();
            named.dedup();
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
            let finding = Finding {
                id,
                aliases: aliases.into_iter().collect(),
                advisories: records.iter().map(|s| (*s).to_owned()).collect(),
                package: pkg.clone(),
                ecosystem: ecosystem.to_owned(),
                matched_name: primary.package.clone(),
                matched_version: version.to_owned(),
                rating,
                epss: None,
                kev: None,
                fixed_versions,
                summary: primary.summary.clone(),
                url: primary.url.clone(),
                suppressed: None,
            };
            (finding, named)
        })
        .collect()
}

/// Picks the id a merged finding is reported under: the lowest (byte order) id among the
/// records that matched, never an alias, so the reported id is always one the database
/// holds. Deterministic: the same input always reports the same id.
fn preferred_id<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.min().unwrap_or_default().to_owned()
}
