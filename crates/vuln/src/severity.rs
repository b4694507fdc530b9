//! Severity: CVSS base scores computed from vectors, and the word ratings (GHSA, distro
//! urgency) used when no vector is given.
//!
//! Order of preference for one record (first that yields a rating wins):
//! 1. an OSV `severity[]` entry of type `CVSS_V3` (3.0 or 3.1), scored from the vector by the
//!    RustSec `cvss` crate (CVSS v3.1 specification, section 7.1 "Base Metrics Equations");
//! 2. a `CVSS_V4` entry, scored by the same crate (CVSS v4.0 specification, section 8,
//!    MacroVector lookup);
//! 3. a `CVSS_V2` entry (CVSS v2 guide, section 3.2.1), as NVD still rates old CVEs only so;
//! 4. GHSA `database_specific.severity` (`LOW`/`MODERATE`/`HIGH`/`CRITICAL`).
//!
//! Distro ratings are kept apart ([`distro_rating`]): Debian's per-release
//! `ecosystem_specific.urgency`, Ubuntu's `severity[]` entry of type `Ubuntu` (its priority),
//! and the Red Hat / AlmaLinux / Rocky severity word that starts their advisories' summary
//! (`Important: openssl security update`). For packages of that distro they win over any
//! CVSS, as in grype (the distro decided how the flaw affects its build). When a finding's
//! records carry no rating at all, the matcher looks the rating up on the records they name
//! (`upstream`, `aliases`, `related`): OSV `CVE-*` records, NVD CVE API 2.0 feeds and
//! CVEList v5 records. Nothing else is inferred: without any of these a finding's severity
//! is [`Severity::Unknown`], and `--fail-on` does not count it unless asked to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A qualitative severity. `Unknown` sorts lowest so that any known rating wins a `max`
/// and no threshold of `Low` or above is met by an unknown one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No rating available.
    Unknown,
    /// Rated but not worth fixing by the distro (Debian `unimportant`, end-of-life), or
    /// CVSS 0.0.
    Negligible,
    /// CVSS 0.1–3.9, GHSA `LOW`, Debian `low`.
    Low,
    /// CVSS 4.0–6.9, GHSA `MODERATE`, Debian `medium`.
    Medium,
    /// CVSS 7.0–8.9, GHSA `HIGH`, Debian `high`.
    High,
    /// CVSS 9.0–10.0, GHSA `CRITICAL`.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Negligible => "negligible",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Maps a vendor word (GHSA, Debian urgency, Ubuntu priority) to a severity; `None` for
    /// words that carry no rating (`not yet assigned`) or are unknown.
    pub fn from_word(word: &str) -> Option<Self> {
        // Debian marks urgencies it guessed with a `*`/`**` suffix; the word still counts.
        let w = word
            .trim()
            .trim_end_matches('*')
            .trim()
            .to_ascii_lowercase();
        Some(match w.as_str() {
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "moderate" | "medium" => Self::Medium,
            "low" => Self::Low,
            "unimportant" | "negligible" | "end-of-life" => Self::Negligible,
            _ => return None,
        })
    }

    fn from_cvss(s: cvss::Severity) -> Self {
        match s {
            cvss::Severity::None => Self::Negligible,
            cvss::Severity::Low => Self::Low,
            cvss::Severity::Medium => Self::Medium,
            cvss::Severity::High => Self::High,
            cvss::Severity::Critical => Self::Critical,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("unknown") {
            return Ok(Self::Unknown);
        }
        Self::from_word(s).ok_or_else(|| format!("unknown severity {s:?}"))
    }
}

/// A severity with the evidence it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// The qualitative severity.
    pub severity: Severity,
    /// The CVSS base score, when computed from a vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The kind of rating: `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `GHSA`, `Debian urgency`,
    /// `Ubuntu priority`, `Red Hat severity`, `AlmaLinux severity`, `Rocky severity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The CVSS vector, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// The record the rating was read from, when it is not the finding's own record:
    /// `CVE-2023-4911 (OSV)`, `CVE-2023-4911 (NVD, nvd@nist.gov)`,
    /// `CVE-2024-3094 (CVEList, redhat)`, or the distro record's id (`DEBIAN-CVE-2023-4911`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Rating {
    /// No rating.
    pub fn unknown() -> Self {
        Self {
            severity: Severity::Unknown,
            score: None,
            source: None,
            vector: None,
            from: None,
        }
    }

    pub(crate) fn word(severity: Severity, source: &str) -> Self {
        Self {
            severity,
            score: None,
            source: Some(source.to_owned()),
            vector: None,
            from: None,
        }
    }

    /// Whether this rates anything (not [`Severity::Unknown`]).
    pub fn is_known(&self) -> bool {
        self.severity != Severity::Unknown
    }
}

/// Scores a CVSS v2.0 (no prefix), v3.0, v3.1 or v4.0 vector; `None` if it does not parse.
pub fn score_vector(vector: &str) -> Option<Rating> {
    let parsed: cvss::Cvss = vector.trim().parse().ok()?;
    let source = match parsed {
        cvss::Cvss::CvssV20(_) => "CVSS_V2",
        cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_) => "CVSS_V3",
        cvss::Cvss::CvssV40(_) => "CVSS_V4",
        _ => return None,
    };
    let score = parsed.score();
    Some(Rating {
        severity: Severity::from_cvss(parsed.severity()),
        score: Some(score),
        source: Some(source.to_owned()),
        vector: Some(vector.trim().to_owned()),
        from: None,
    })
}

/// Rates a whole OSV record from its top-level `severity[]` and
/// `database_specific.severity` (OSV schema, "severity field").
pub(crate) fn rate_record(record: &Value) -> Rating {
    rate_severity_array(record.get("severity"))
        .or_else(|| {
            let word = record.pointer("/database_specific/severity")?.as_str()?;
            Some(Rating::word(Severity::from_word(word)?, "GHSA"))
        })
        .unwrap_or_else(Rating::unknown)
}

/// The distro's own rating of one `affected[]` entry: Debian's
/// `ecosystem_specific.urgency` (osv.dev's Debian converter,
/// `vulnfeeds/cmd/converters/debian/main.go`), an `ecosystem_specific` or
/// `database_specific` `severity` word, or (for Ubuntu, Red Hat, AlmaLinux and Rocky
/// entries) the record-level word those distros publish. `None` when there is none or it
/// says nothing (`not yet assigned`), so CVSS can still apply.
pub(crate) fn distro_rating(
    record: &Value,
    entry: &Value,
    kind: vouch_version::EcosystemKind,
) -> Option<Rating> {
    use vouch_version::EcosystemKind as K;
    if let Some(sev) = entry
        .pointer("/ecosystem_specific/urgency")
        .and_then(Value::as_str)
        .and_then(Severity::from_word)
    {
        return Some(Rating::word(sev, "Debian urgency"));
    }
    for ptr in [
        "/ecosystem_specific/severity",
        "/database_specific/severity",
    ] {
        if let Some(sev) = entry
            .pointer(ptr)
            .and_then(Value::as_str)
            .and_then(Severity::from_word)
        {
            return Some(Rating::word(sev, "distro severity"));
        }
    }
    match kind {
        // Ubuntu's OSV records carry its priority as a `severity[]` entry of type `Ubuntu`
        // (e.g. UBUNTU-CVE-2025-38094 in osv.dev's worker test data).
        K::Ubuntu => record
            .get("severity")
            .and_then(Value::as_array)?
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some("Ubuntu"))
            .filter_map(|e| e.get("score").and_then(Value::as_str))
            .find_map(|w| Some(Rating::word(Severity::from_word(w)?, "Ubuntu priority"))),
        // Red Hat errata (and the AlmaLinux / Rocky rebuilds) state their severity as the
        // first word of the summary: "Important: openssl security update".
        K::RedHat | K::AlmaLinux | K::RockyLinux => {
            let summary = record.get("summary").and_then(Value::as_str)?;
            let (word, _) = summary.split_once(':')?;
            let sev = match word.trim() {
                "Critical" => Severity::Critical,
                "Important" => Severity::High,
                "Moderate" => Severity::Medium,
                "Low" => Severity::Low,
                _ => return None,
            };
            let label = match kind {
                K::AlmaLinux => "AlmaLinux severity",
                K::RockyLinux => "Rocky severity",
                _ => "Red Hat severity",
            };
            Some(Rating::word(sev, label))
        }
        _ => None,
    }
}

/// An entry-level `severity[]` array (OSV allows per-package CVSS); overrides the record's.
pub(crate) fn rate_affected_cvss(entry: &Value) -> Option<Rating> {
    rate_severity_array(entry.get("severity"))
}

fn rate_severity_array(array: Option<&Value>) -> Option<Rating> {
    let entries = array?.as_array()?;
    let of_type = |ty: &'static str| {
        entries
            .iter()
            .filter(move |e| e.get("type").and_then(Value::as_str) == Some(ty))
            .filter_map(|e| e.get("score").and_then(Value::as_str))
    };
    of_type("CVSS_V3")
        .find_map(score_vector)
        .or_else(|| of_type("CVSS_V4").find_map(score_vector))
        .or_else(|| of_type("CVSS_V2").find_map(score_vector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_v31_scores_match_the_specification_examples() {
        // Values from the CVSS v3.1 calculator, cross-checked with PyPI `cvss` (notes §4.6).
        let cases = [
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                9.8,
                Severity::Critical,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                10.0,
                Severity::Critical,
            ),
            (
                "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N",
                6.8,
                Severity::Medium,
            ),
            (
                "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
                5.5,
                Severity::Medium,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
                5.4,
                Severity::Medium,
            ),
            (
                "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                7.5,
                Severity::High,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
                0.0,
                Severity::Negligible,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
                5.1,
                Severity::Medium,
            ),
        ];
        for (vector, score, severity) in cases {
            let r = score_vector(vector).expect(vector);
            assert_eq!(r.score, Some(score), "{vector}");
            assert_eq!(r.severity, severity, "{vector}");
        }
        assert!(score_vector("CVSS:3.1/AV:X").is_none());
        assert!(score_vector("garbage").is_none());
    }

    #[test]
    fn words_and_fallbacks() {
        let ghsa = serde_json::json!({"database_specific": {"severity": "MODERATE"}});
        assert_eq!(rate_record(&ghsa).severity, Severity::Medium);
        let none = serde_json::json!({"severity": [{"type": "CVSS_V3", "score": "nonsense"}]});
        assert_eq!(rate_record(&none).severity, Severity::Unknown);
        use vouch_version::EcosystemKind as K;
        let rec = serde_json::json!({});
        let deb = serde_json::json!({"ecosystem_specific": {"urgency": "unimportant"}});
        assert_eq!(
            distro_rating(&rec, &deb, K::Debian).map(|r| r.severity),
            Some(Severity::Negligible)
        );
        let nya = serde_json::json!({"ecosystem_specific": {"urgency": "not yet assigned"}});
        assert_eq!(distro_rating(&rec, &nya, K::Debian), None);
        let rh = serde_json::json!({"summary": "Important: sudo security update"});
        let r = distro_rating(&rh, &serde_json::json!({}), K::RedHat).expect("rated");
        assert_eq!(
            (r.severity, r.source.as_deref()),
            (Severity::High, Some("Red Hat severity"))
        );
        // The summary word only counts for the distros that write it so.
        assert_eq!(distro_rating(&rh, &serde_json::json!({}), K::PyPI), None);
        let v2 = score_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P").expect("v2");
        assert_eq!(
            (v2.score, v2.severity, v2.source.as_deref()),
            (Some(7.5), Severity::High, Some("CVSS_V2"))
        );
        assert_eq!(Severity::from_word("high**"), Some(Severity::High));
        assert!(Severity::Unknown < Severity::Low);
    }
}
