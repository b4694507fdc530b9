//! Machine-readable reports: SARIF 2.1.0 for code-scanning uploads and CycloneDX VEX.
//! (JSON is the [`ScanReport`] itself, serialised; the table lives in the CLI.)

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::matcher::{Finding, ScanReport};
use crate::severity::Severity;

/// SARIF 2.1.0 (OASIS, sections 3.13 `run`, 3.19 `toolComponent`, 3.27 `result`,
/// 3.35 `suppression`): one rule per vulnerability id, one result per finding, located in
/// the scanned file (`target`) with the package as a logical location. Suppressed findings
/// carry an external suppression with the reason. `security-severity` is the property
/// GitHub code scanning reads to rank alerts.
pub fn sarif(report: &ScanReport, target: &str) -> Value {
    let mut rules: BTreeMap<&str, (usize, &Finding)> = BTreeMap::new();
    for f in &report.findings {
        let n = rules.len();
        rules.entry(f.id.as_str()).or_insert((n, f));
    }
    let mut ordered: Vec<_> = rules.values().collect();
    ordered.sort_by_key(|(i, _)| *i);
    let rule_json: Vec<Value> = ordered
        .iter()
        .map(|(_, f)| {
            json!({
                "id": f.id,
                "name": f.id,
                "shortDescription": { "text": if f.summary.is_empty() { f.id.clone() } else { f.summary.clone() } },
                "helpUri": help_uri(f),
                "defaultConfiguration": { "level": level(f.severity()) },
                "properties": {
                    "security-severity": security_severity(f),
                    "tags": ["security", "vulnerability"],
                    "aliases": f.aliases,
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let fixed = if f.fixed_versions.is_empty() {
                "no fixed version known".to_owned()
            } else {
                format!("fixed in {}", f.fixed_versions.join(", "))
            };
            let mut r = json!({
                "ruleId": f.id,
                "ruleIndex": rules.get(f.id.as_str()).map_or(0, |(i, _)| *i),
                "level": level(f.severity()),
                "message": { "text": format!("{} {} is affected by {} ({} severity); {}", f.package.name, f.package.version, f.id, f.severity(), fixed) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": target }, "region": { "startLine": 1 } },
                    "logicalLocations": [{ "name": f.package.purl.clone().unwrap_or_else(|| f.package.display()), "kind": "package" }],
                }],
                "partialFingerprints": { "vouch/v1": format!("{}:{}:{}", f.id, f.package.name, f.package.version) },
                // SARIF 3.8 property bag: where the severity came from, and prioritisation.
                "properties": {
                    "severity": f.severity().as_str(),
                    "ratingSource": f.rating.source,
                    "ratedBy": f.rating.from,
                    "epss": f.epss.as_ref().map(|e| json!({"cve": e.cve, "score": e.score, "percentile": e.percentile})),
                    "kev": f.kev.as_ref().map(|k| json!({"cve": k.cve, "dateAdded": k.date_added, "dueDate": k.due_date, "knownRansomwareCampaignUse": k.known_ransomware})),
                },
            });
            if let Some(s) = &f.suppressed {
                r["suppressions"] = json!([{ "kind": "external", "status": "accepted", "justification": format!("{} ({}): {}", s.by, s.source, s.reason) }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vouch",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/vouch",
                "rules": rule_json,
            }},
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}

fn security_severity(f: &Finding) -> String {
    let score = f.rating.score.unwrap_or(match f.severity() {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        _ => 0.0,
    });
    format!("{score:.1}")
}

fn help_uri(f: &Finding) -> String {
    f.url
        .clone()
        .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", f.id))
}

/// CycloneDX 1.6 VEX (`vulnerabilities[]` with `affects` and `analysis`, CycloneDX 1.6
/// JSON schema): one component per affected package, one vulnerability per finding.
/// Suppressed findings carry their analysis: VEX suppressions as `not_affected`/`resolved`
/// with the justification mapped to CycloneDX's vocabulary, ignore rules as
/// `will_not_fix` responses with the rule's reason.
pub fn cyclonedx_vex(report: &ScanReport) -> Value {
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    let mut vulns = Vec::new();
    for f in &report.findings {
        let bom_ref = f
            .package
            .purl
            .clone()
            .unwrap_or_else(|| f.package.display());
        components.entry(bom_ref.clone()).or_insert_with(|| {
            let mut c = json!({ "type": "library", "bom-ref": bom_ref, "name": f.package.name, "version": f.package.version });
            if let Some(p) = &f.package.purl {
                c["purl"] = json!(p);
            }
            c
        });
        let mut rating = json!({ "severity": cdx_severity(f.severity()) });
        if let Some(score) = f.rating.score {
            rating["score"] = json!(score);
        }
        if let Some(v) = &f.rating.vector {
            rating["vector"] = json!(v);
            rating["method"] = json!(if v.starts_with("CVSS:4") {
                "CVSSv4"
            } else if v.starts_with("CVSS:3.0") {
                "CVSSv3"
            } else {
                "CVSSv31"
            });
        } else if f.severity() != Severity::Unknown {
            rating["method"] = json!("other");
        }
        let mut v = json!({
            "bom-ref": format!("{}@{}", f.id, bom_ref),
            "id": f.id,
            "source": { "name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", f.id) },
            "references": f.aliases.iter().map(|a| json!({ "id": a, "source": { "name": alias_source(a) } })).collect::<Vec<_>>(),
            "ratings": [rating],
            "description": f.summary,
            "affects": [{ "ref": bom_ref, "versions": [{ "version": f.package.version, "status": "affected" }] }],
        });
        if !f.fixed_versions.is_empty() {
            v["recommendation"] = json!(format!(
                "Upgrade {} to {}",
                f.package.name, f.fixed_versions[0]
            ));
        }
        if let Some(s) = &f.suppressed {
            v["analysis"] = if s.by == "vex" {
                let state = if s.reason.starts_with("fixed") {
                    "resolved"
                } else {
                    "not_affected"
                };
                let mut a = json!({ "state": state, "detail": s.reason });
                if let Some(j) = s.justification.as_deref().and_then(cdx_justification) {
                    a["justification"] = json!(j);
                }
                a
            } else {
                json!({ "response": ["will_not_fix"], "detail": format!("ignore rule ({}): {}", s.source, s.reason) })
            };
        } else {
            v["analysis"] = json!({ "state": "exploitable", "detail": "matched by version range; not analysed further" });
        }
        vulns.push(v);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": now_rfc3339(),
            "tools": { "components": [{ "type": "application", "name": "vouch", "version": env!("CARGO_PKG_VERSION") }] },
        },
        "components": components.into_values().collect::<Vec<_>>(),
        "vulnerabilities": vulns,
    })
}

fn cdx_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

/// OpenVEX justification labels to CycloneDX `impactAnalysisJustification` values.
fn cdx_justification(openvex: &str) -> Option<&'static str> {
    Some(match openvex {
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "requires_environment",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        _ => return None,
    })
}

fn alias_source(id: &str) -> &'static str {
    if id.starts_with("CVE-") {
        "NVD"
    } else if id.starts_with("GHSA-") {
        "GitHub"
    } else {
        "OSV"
    }
}

fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = crate::osv::today();
    let s = secs % 86_400;
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}
