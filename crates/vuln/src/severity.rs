//! Severity: CVSS base scores computed from vectors, and the word ratings (GHSA, distro
//! urgency) used when no vector is given.
//!
//! Order of preference for one record (first that yields a rating wins):
//! 1. an OSV `severity[]` entry of type `CVSS_V3` (3.0 or 3.1), scored from the vector by the
//!    RustSec `cvss` crate (CVSS v3.1 specification, section 7.1 "Base Metrics Equations");
//! 2. a `CVSS_V4` entry, scored by the same crate (CVSS v4.0 specification, section 8,
//!    MacroVector lookup);
//! 3. a vendor word: `Ubuntu` severity entries, GHSA `database_specific.severity`
//!    (`LOW`/`MODERATE`/`HIGH`/`CRITICAL`).
//!
//! Distro records carry an `ecosystem_specific.urgency` (Debian) per affected release; for
//! those entries the distro's own word overrides the record's CVSS, as the distro decided
//! how it affects its build. Nothing else is inferred: without any of these a finding's
//! severity is [`Severity::Unknown`], and `--fail-on` does not count it unless asked to.

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
    /// Where the rating came from: `CVSS_V3`, `CVSS_V4`, `GHSA`, `Ubuntu`, `Debian urgency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The CVSS vector, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

impl Rating {
    /// No rating.
    pub fn unknown() -> Self {
        Self {
            severity: Severity::Unknown,
            score: None,
            source: None,
            vector: None,
        }
    }

    fn word(severity: Severity, source: &str) -> Self {
        Self {
            severity,
            score: None,
            source: Some(source.to_owned()),
            vector: None,
        }
    }
}

/// Scores a CVSS v3.0, v3.1 or v4.0 vector; `None` if it does not parse.
pub fn score_vector(vector: &str) -> Option<Rating> {
    let parsed: cvss::Cvss = vector.trim().parse().ok()?;
    let source = match parsed {
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

/// Rates one `affected[]` entry when it carries its own rating: a distro urgency
/// (`ecosystem_specific.urgency`, osv.dev's Debian converter), an `ecosystem_specific`
/// or `database_specific` `severity` word, or an entry-level `severity[]` array.
pub(crate) fn rate_affected(entry: &Value) -> Option<Rating> {
    if let Some(word) = entry
        .pointer("/ecosystem_specific/urgency")
        .and_then(Value::as_str)
    {
        // "not yet assigned" and unknown words stay unrated here so the record's CVSS
        // can still apply.
        if let Some(sev) = Severity::from_word(word) {
            return Some(Rating::word(sev, "Debian urgency"));
        }
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
            return Some(Rating::word(sev, "distro"));
        }
    }
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
        .or_else(|| {
            of_type("Ubuntu").find_map(|w| Some(Rating::word(Severity::from_word(w)?, "Ubuntu")))
        })
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
        let deb = serde_json::json!({"ecosystem_specific": {"urgency": "unimportant"}});
        assert_eq!(
            rate_affected(&deb).map(|r| r.severity),
            Some(Severity::Negligible)
        );
        let nya = serde_json::json!({"ecosystem_specific": {"urgency": "not yet assigned"}});
        assert_eq!(rate_affected(&nya), None);
        assert_eq!(Severity::from_word("high**"), Some(Severity::High));
        assert!(Severity::Unknown < Severity::Low);
    }
}
