//! Suppressing findings: the user's ignore rules, and OpenVEX statements.
//!
//! Suppressed findings stay in the report (marked with who suppressed them and why) so
//! JSON/SARIF consumers can audit them; they do not count towards `--fail-on`.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::matcher::{Finding, ScanReport, Suppression};
use crate::osv::today;

/// An ignore-rules file (YAML or JSON):
///
/// ```yaml
/// ignore:
///   - id: CVE-2021-33203          # the finding's id or any alias; required
///     package: django             # optional: a name or a purl (version optional)
///     expires: 2030-01-31         # optional: the rule stops applying after this day (UTC)
///     reason: only used offline   # required: shown in reports
/// ```
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreFile {
    /// The rules.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
}

/// One ignore rule.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// Vulnerability id or alias.
    pub id: String,
    /// Package name or purl; absent means every package.
    #[serde(default)]
    pub package: Option<String>,
    /// Last day (`YYYY-MM-DD`) the rule applies.
    #[serde(default)]
    pub expires: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
}

/// Loaded ignore rules with the file they came from.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    rules: Vec<IgnoreRule>,
    source: String,
}

impl IgnoreRules {
    /// Parses an ignore file; every rule needs an `id` and a non-empty `reason`, and
    /// `expires` must be a `YYYY-MM-DD` date.
    pub fn parse(bytes: &[u8], source: &str) -> Result<Self, Error> {
        let bad = |field: String, reason: String| Error::BadPolicyFile {
            path: source.to_owned(),
            field,
            reason,
        };
        let file: IgnoreFile =
            serde_norway::from_slice(bytes).map_err(|e| bad(String::new(), e.to_string()))?;
        for (i, r) in file.ignore.iter().enumerate() {
            if r.id.trim().is_empty() {
                return Err(bad(format!("ignore[{i}].id"), "empty".into()));
            }
            if r.reason.trim().is_empty() {
                return Err(bad(
                    format!("ignore[{i}].reason"),
                    "a reason is required".into(),
                ));
            }
            if let Some(e) = &r.expires
                && !is_date(e)
            {
                return Err(bad(
                    format!("ignore[{i}].expires"),
                    format!("{e:?} is not YYYY-MM-DD"),
                ));
            }
        }
        Ok(Self {
            rules: file.ignore,
            source: source.to_owned(),
        })
    }

    /// Marks matching open findings as suppressed; returns warnings about expired rules.
    pub fn apply(&self, report: &mut ScanReport) -> Vec<String> {
        self.apply_on(report, &today())
    }

    /// [`apply`](Self::apply) as of `day` (`YYYY-MM-DD`).
    pub fn apply_on(&self, report: &mut ScanReport, day: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        for r in &self.rules {
            if r.expires.as_deref().is_some_and(|e| e < day) {
                warnings.push(format!(
                    "{}: ignore rule for {} expired on {}; it no longer applies",
                    self.source,
                    r.id,
                    r.expires.as_deref().unwrap_or_default()
                ));
            }
        }
        for f in report
            .findings
            .iter_mut()
            .filter(|f| f.suppressed.is_none())
        {
            let rule = self.rules.iter().find(|r| {
                r.expires.as_deref().is_none_or(|e| e >= day)
                    && f.all_ids().any(|id| id.eq_ignore_ascii_case(&r.id))
                    && r.package.as_deref().is_none_or(|p| package_matches(p, f))
            });
            if let Some(r) = rule {
                f.suppressed = Some(Suppression {
                    by: "ignore-rule".into(),
                    reason: r.reason.clone(),
                    source: self.source.clone(),
                    justification: None,
                });
            }
        }
        warnings
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// A rule's `package` matches by purl (if it starts with `pkg:`) or by name.
fn package_matches(pattern: &str, f: &Finding) -> bool {
    if pattern.starts_with("pkg:") {
        return f
            .package
            .purl
            .as_deref()
            .is_some_and(|p| purl_matches(pattern, p));
    }
    pattern.eq_ignore_ascii_case(&f.package.name) || pattern.eq_ignore_ascii_case(&f.matched_name)
}

/// Whether `pattern` names the package `purl`: same type, namespace and name (case- and
/// PEP 503-insensitively for PyPI), and the same version unless the pattern has none.
/// Qualifiers and subpaths are ignored (OpenVEX spec, "Product matching").
pub fn purl_matches(pattern: &str, purl: &str) -> bool {
    let (Ok(a), Ok(b)) = (
        packageurl::PackageUrl::from_str(pattern),
        packageurl::PackageUrl::from_str(purl),
    ) else {
        return false;
    };
    let norm = |p: &packageurl::PackageUrl<'_>| {
        let name = if p.ty().eq_ignore_ascii_case("pypi") {
            crate::osv::normalize_name(vouch_version::EcosystemKind::PyPI, p.name())
        } else {
            p.name().to_ascii_lowercase()
        };
        (
            p.ty().to_ascii_lowercase(),
            p.namespace().unwrap_or("").to_ascii_lowercase(),
            name,
        )
    };
    norm(&a) == norm(&b) && a.version().is_none_or(|v| Some(v) == b.version())
}

/// An OpenVEX document (<https://github.com/openvex/spec>, v0.2.0; the v0.0.x forms with
/// string `vulnerability` and string `products` are accepted too).
#[derive(Debug, Clone)]
pub struct Vex {
    statements: Vec<VexStatement>,
    source: String,
}

#[derive(Debug, Clone)]
struct VexStatement {
    ids: Vec<String>,
    /// Product and subcomponent purls; empty means the statement's product is the whole
    /// image, so it covers every package.
    purls: Vec<String>,
    status: String,
    reason: String,
    justification: Option<String>,
}

const STATUSES: [&str; 4] = ["not_affected", "affected", "fixed", "under_investigation"];

impl Vex {
    /// Parses an OpenVEX JSON document.
    pub fn parse(bytes: &[u8], source: &str) -> Result<Self, Error> {
        let bad = |field: String, reason: &str| Error::BadPolicyFile {
            path: source.to_owned(),
            field,
            reason: reason.to_owned(),
        };
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| bad(String::new(), &format!("invalid JSON: {e}")))?;
        let stmts = doc
            .get("statements")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("statements".into(), "missing or not an array"))?;
        let mut statements = Vec::with_capacity(stmts.len());
        for (i, s) in stmts.iter().enumerate() {
            let at = |f: &str| format!("statements[{i}].{f}");
            let mut ids = Vec::new();
            match s.get("vulnerability") {
                Some(Value::String(name)) => ids.push(name.clone()),
                Some(v @ Value::Object(_)) => {
                    for key in ["name", "@id"] {
                        if let Some(x) = v.get(key).and_then(Value::as_str) {
                            ids.push(x.rsplit('/').next().unwrap_or(x).to_owned());
                        }
                    }
                    ids.extend(
                        v.get("aliases")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_owned),
                    );
                }
                _ => return Err(bad(at("vulnerability"), "missing")),
            }
            if ids.is_empty() {
                return Err(bad(at("vulnerability.name"), "missing"));
            }
            let mut purls = Vec::new();
            let mut image_level = false;
            for p in s
                .get("products")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (id, subs) = match p {
                    Value::String(id) => (Some(id.as_str()), None),
                    _ => (
                        p.get("@id").and_then(Value::as_str),
                        p.get("subcomponents").and_then(Value::as_array),
                    ),
                };
                let subs: Vec<&str> = subs
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("@id").and_then(Value::as_str))
                    .collect();
                if subs.is_empty() {
                    match id {
                        Some(id)
                            if id.starts_with("pkg:")
                                && !id.starts_with("pkg:oci/")
                                && !id.starts_with("pkg:docker/") =>
                        {
                            purls.push(id.to_owned())
                        }
                        _ => image_level = true,
                    }
                } else {
                    purls.extend(subs.into_iter().map(str::to_owned));
                }
            }
            if image_level {
                purls.clear();
            }
            let status = s
                .get("status")
                .and_then(Value::as_str)
                .filter(|st| STATUSES.contains(st))
                .ok_or_else(|| {
                    bad(
                        at("status"),
                        "missing or not one of not_affected, affected, fixed, under_investigation",
                    )
                })?;
            let justification = s.get("justification").and_then(Value::as_str);
            let impact = s.get("impact_statement").and_then(Value::as_str);
            if status == "not_affected" && justification.is_none() && impact.is_none() {
                // OpenVEX spec: a not_affected statement MUST have one of the two.
                return Err(bad(
                    at("justification"),
                    "not_affected needs a justification or an impact_statement",
                ));
            }
            let reason = match (justification, impact) {
                (Some(j), Some(i)) => format!("{status}: {j} ({i})"),
                (Some(j), None) => format!("{status}: {j}"),
                (None, Some(i)) => format!("{status}: {i}"),
                (None, None) => status.to_owned(),
            };
            statements.push(VexStatement {
                ids,
                purls,
                status: status.to_owned(),
                reason,
                justification: justification.map(str::to_owned),
            });
        }
        Ok(Self {
            statements,
            source: source.to_owned(),
        })
    }

    /// Suppresses open findings whose last applicable statement is `not_affected` or
    /// `fixed` (later statements override earlier ones, as OpenVEX documents are appended
    /// to over time).
    pub fn apply(&self, report: &mut ScanReport) {
        for f in report
            .findings
            .iter_mut()
            .filter(|f| f.suppressed.is_none())
        {
            let last = self.statements.iter().rev().find(|s| {
                s.ids
                    .iter()
                    .any(|id| f.all_ids().any(|x| x.eq_ignore_ascii_case(id)))
                    && (s.purls.is_empty()
                        || f.package
                            .purl
                            .as_deref()
                            .is_some_and(|p| s.purls.iter().any(|pat| purl_matches(pat, p))))
            });
            if let Some(s) = last.filter(|s| s.status == "not_affected" || s.status == "fixed") {
                f.suppressed = Some(Suppression {
                    by: "vex".into(),
                    reason: s.reason.clone(),
                    source: self.source.clone(),
                    justification: s.justification.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_matching() {
        assert!(purl_matches("pkg:pypi/Django", "pkg:pypi/django@3.2.0"));
        assert!(purl_matches(
            "pkg:pypi/django@3.2.0",
            "pkg:pypi/django@3.2.0?x=y"
        ));
        assert!(!purl_matches(
            "pkg:pypi/django@3.2.1",
            "pkg:pypi/django@3.2.0"
        ));
        assert!(!purl_matches("pkg:npm/django", "pkg:pypi/django@3.2.0"));
    }

    #[test]
    fn ignore_file_validation() {
        assert!(IgnoreRules::parse(b"ignore:\n  - id: CVE-1\n    reason: ok\n", "f").is_ok());
        let no_reason = IgnoreRules::parse(b"ignore:\n  - id: CVE-1\n    reason: ''\n", "f");
        assert!(
            matches!(no_reason, Err(Error::BadPolicyFile { field, .. }) if field == "ignore[0].reason")
        );
        let bad_date = IgnoreRules::parse(
            b"ignore:\n  - id: CVE-1\n    reason: x\n    expires: soon\n",
            "f",
        );
        assert!(
            matches!(bad_date, Err(Error::BadPolicyFile { field, .. }) if field == "ignore[0].expires")
        );
        assert!(
            IgnoreRules::parse(b"ignore:\n  - id: CVE-1\n    reason: x\n    typo: 1\n", "f")
                .is_err()
        );
    }
}
