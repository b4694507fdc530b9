//! Files that are not OSV records but feed the scan: CVE ratings from NVD and CVEList, and
//! the prioritisation data EPSS and CISA KEV.
//!
//! * NVD CVE API 2.0 / JSON 2.0 feeds (`{"format": "NVD_CVE", "version": "2.0",
//!   "vulnerabilities": [{"cve": {...}}]}`, NVD "CVE API" documentation): the rating is read
//!   from `cve.metrics.cvssMetricV31`, then `V30`, `V40`, `V2`, the `Primary` entry first.
//! * CVEList v5 records (`{"dataType": "CVE_RECORD", "cveMetadata": {...}, "containers":
//!   {"cna": {...}, "adp": [...]}}`, CVE JSON 5 schema): `metrics[].cvssV3_1`, `cvssV3_0`,
//!   `cvssV4_0`, `cvssV2_0` of the CNA container, then of the ADP containers (CISA's
//!   Vulnrichment scores CVEs their CNA left unrated).
//! * EPSS CSV (`#model_version:…,score_date:…` comment, then `cve,epss,percentile`; FIRST,
//!   "EPSS data and statistics").
//! * CISA KEV JSON (`{"catalogVersion", "dateReleased", "vulnerabilities": [{"cveID",
//!   "dateAdded", "dueDate", "knownRansomwareCampaignUse", ...}]}`).
//!
//! Every vector is scored by vouch ([`crate::score_vector`]); the scores in the feeds are not
//! trusted.

use serde_json::Value;

use crate::osv::{Malformed, parse_rfc3339};
use crate::severity::{Rating, score_vector};

/// A CVE's rating from a CVE database.
#[derive(Debug, Clone)]
pub(crate) struct CveRating {
    pub(crate) id: String,
    /// `NVD` or `CVEList`.
    pub(crate) provider: &'static str,
    /// Microseconds since the Unix epoch.
    pub(crate) modified: i64,
    pub(crate) modified_text: String,
    /// `None` for a rejected CVE or one without any usable vector (it still replaces an
    /// older stored rating, so a withdrawn score does not linger).
    pub(crate) rating: Option<Rating>,
}

/// One EPSS row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EpssRow {
    pub(crate) cve: String,
    pub(crate) score: f64,
    pub(crate) percentile: f64,
}

/// One CISA KEV entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KevRow {
    pub(crate) cve: String,
    pub(crate) date_added: String,
    pub(crate) due_date: Option<String>,
    pub(crate) ransomware: bool,
    pub(crate) name: Option<String>,
}

/// What kind of document a decoded JSON value is.
pub(crate) enum Kind {
    Osv,
    Nvd,
    CveList,
    Kev,
}

pub(crate) fn classify(v: &Value) -> Kind {
    if v.get("format").and_then(Value::as_str) == Some("NVD_CVE") {
        Kind::Nvd
    } else if v.get("dataType").and_then(Value::as_str) == Some("CVE_RECORD") {
        Kind::CveList
    } else if v.get("catalogVersion").is_some() && v.get("vulnerabilities").is_some() {
        Kind::Kev
    } else {
        Kind::Osv
    }
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> Malformed {
    Malformed {
        field: field.into(),
        reason: reason.into(),
    }
}

fn is_cve_id(s: &str) -> bool {
    s.len() <= 64
        && s.strip_prefix("CVE-")
            .is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit() || b == b'-') && r.len() >= 6)
}

/// NVD writes times without an offset (`2023-10-28T19:15:38.643`); they are UTC.
fn nvd_time(s: &str) -> Option<i64> {
    parse_rfc3339(s).or_else(|| parse_rfc3339(&format!("{s}Z")))
}

/// The CVEs of an NVD 2.0 document, one result per entry.
pub(crate) fn parse_nvd(v: &Value) -> Vec<Result<CveRating, Malformed>> {
    let Some(items) = v.get("vulnerabilities").and_then(Value::as_array) else {
        return vec![Err(bad("vulnerabilities", "missing or not an array"))];
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |f: &str| format!("vulnerabilities[{i}].cve.{f}");
            let cve = item
                .get("cve")
                .ok_or_else(|| bad(format!("vulnerabilities[{i}].cve"), "missing"))?;
            let id = cve
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| is_cve_id(s))
                .ok_or_else(|| bad(at("id"), "missing or not a CVE id"))?;
            let modified_text = cve
                .get("lastModified")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(at("lastModified"), "missing"))?;
            let modified = nvd_time(modified_text)
                .ok_or_else(|| bad(at("lastModified"), "not an ISO 8601 time"))?;
            let rejected = cve.get("vulnStatus").and_then(Value::as_str) == Some("Rejected");
            let rating = if rejected {
                None
            } else {
                nvd_rating(id, cve.get("metrics"))
            };
            Ok(CveRating {
                id: id.to_owned(),
                provider: "NVD",
                modified,
                modified_text: modified_text.to_owned(),
                rating,
            })
        })
        .collect()
}

fn nvd_rating(id: &str, metrics: Option<&Value>) -> Option<Rating> {
    let metrics = metrics?;
    for key in [
        "cvssMetricV31",
        "cvssMetricV30",
        "cvssMetricV40",
        "cvssMetricV2",
    ] {
        let Some(list) = metrics.get(key).and_then(Value::as_array) else {
            continue;
        };
        // NVD's own analysis (`Primary`) first, then the CNA's (`Secondary`).
        let mut ordered: Vec<&Value> = list.iter().collect();
        ordered.sort_by_key(|m| m.get("type").and_then(Value::as_str) != Some("Primary"));
        for m in ordered {
            if let Some(mut r) = m
                .pointer("/cvssData/vectorString")
                .and_then(Value::as_str)
                .and_then(score_vector)
            {
                let by = m.get("source").and_then(Value::as_str).unwrap_or("NVD");
                r.from = Some(format!("{id} (NVD, {by})"));
                return Some(r);
            }
        }
    }
    None
}

/// A CVEList v5 record.
pub(crate) fn parse_cvelist(v: &Value) -> Result<CveRating, Malformed> {
    let id = v
        .pointer("/cveMetadata/cveId")
        .and_then(Value::as_str)
        .filter(|s| is_cve_id(s))
        .ok_or_else(|| bad("cveMetadata.cveId", "missing or not a CVE id"))?;
    let modified_text = v
        .pointer("/cveMetadata/dateUpdated")
        .or_else(|| v.pointer("/cveMetadata/datePublished"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("cveMetadata.dateUpdated", "missing"))?;
    let modified = nvd_time(modified_text)
        .ok_or_else(|| bad("cveMetadata.dateUpdated", "not an ISO 8601 time"))?;
    let rejected = v.pointer("/cveMetadata/state").and_then(Value::as_str) == Some("REJECTED");
    let mut containers: Vec<&Value> = Vec::new();
    if let Some(cna) = v.pointer("/containers/cna") {
        containers.push(cna);
    }
    if let Some(adp) = v.pointer("/containers/adp").and_then(Value::as_array) {
        containers.extend(adp);
    }
    let rating = if rejected {
        None
    } else {
        containers.iter().find_map(|c| {
            let metrics = c.get("metrics")?.as_array()?;
            ["cvssV3_1", "cvssV3_0", "cvssV4_0", "cvssV2_0"]
                .iter()
                .find_map(|key| {
                    metrics.iter().find_map(|m| {
                        m.get(*key)?
                            .get("vectorString")?
                            .as_str()
                            .and_then(score_vector)
                    })
                })
                .map(|mut r| {
                    let by = c
                        .pointer("/providerMetadata/shortName")
                        .and_then(Value::as_str)
                        .unwrap_or("CNA");
                    r.from = Some(format!("{id} (CVEList, {by})"));
                    r
                })
        })
    };
    Ok(CveRating {
        id: id.to_owned(),
        provider: "CVEList",
        modified,
        modified_text: modified_text.to_owned(),
        rating,
    })
}

/// The KEV catalogue: its version and entries.
pub(crate) fn parse_kev(v: &Value) -> (Option<String>, Vec<Result<KevRow, Malformed>>) {
    let released = v
        .get("dateReleased")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(items) = v.get("vulnerabilities").and_then(Value::as_array) else {
        return (
            released,
            vec![Err(bad("vulnerabilities", "missing or not an array"))],
        );
    };
    let rows = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
            let cve = s("cveID").filter(|c| is_cve_id(c)).ok_or_else(|| {
                bad(
                    format!("vulnerabilities[{i}].cveID"),
                    "missing or not a CVE id",
                )
            })?;
            let date_added = s("dateAdded")
                .ok_or_else(|| bad(format!("vulnerabilities[{i}].dateAdded"), "missing"))?;
            Ok(KevRow {
                cve,
                date_added,
                due_date: s("dueDate"),
                ransomware: s("knownRansomwareCampaignUse").as_deref() == Some("Known"),
                name: s("vulnerabilityName"),
            })
        })
        .collect();
    (released, rows)
}

/// An EPSS CSV: its score date (from the leading comment) and rows.
pub(crate) fn parse_epss(text: &str) -> (Option<String>, Vec<Result<EpssRow, Malformed>>) {
    let mut score_date = None;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            for part in comment.split(',') {
                if let Some(d) = part.trim().strip_prefix("score_date:") {
                    score_date = Some(d.to_owned());
                }
            }
            continue;
        }
        if line.starts_with("cve,") {
            continue;
        }
        let mut cols = line.split(',');
        let row = (|| {
            let cve = cols.next().filter(|c| is_cve_id(c))?;
            let score: f64 = cols.next()?.parse().ok()?;
            let percentile: f64 = cols.next()?.parse().ok()?;
            ((0.0..=1.0).contains(&score) && (0.0..=1.0).contains(&percentile)).then(|| EpssRow {
                cve: cve.to_owned(),
                score,
                percentile,
            })
        })();
        rows.push(row.ok_or_else(|| {
            bad(
                format!("line {}", n + 1),
                "expected cve,epss,percentile with a CVE id and two numbers in 0..1",
            )
        }));
    }
    (score_date, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epss_rows_and_date() {
        let (date, rows) = parse_epss(
            "#model_version:v2023.03.01,score_date:2024-03-01T00:00:00+0000\ncve,epss,percentile\nCVE-2023-4911,0.61,0.98\nCVE-1,x,y\n",
        );
        assert_eq!(date.as_deref(), Some("2024-03-01T00:00:00+0000"));
        assert_eq!(
            rows[0].as_ref().ok(),
            Some(&EpssRow {
                cve: "CVE-2023-4911".into(),
                score: 0.61,
                percentile: 0.98
            })
        );
        assert!(rows[1].is_err());
    }
}
