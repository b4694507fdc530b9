//! Ignore rules, OpenVEX suppression, and the SARIF / CycloneDX VEX reports.

use crate::common;

use common::{data, db_with, scan};
use vouch_vuln::{IgnoreRules, ScanReport, Vex, report};

fn findings() -> (tempfile::TempDir, ScanReport) {
    let (dir, db, _) = db_with(&[
        data("pypa/vulns/jinja2"),
        data("pypa/vulns/pyyaml"),
        data("pypa/vulns/urllib3"),
    ]);
    let r = scan(
        &db,
        &[
            "pkg:pypi/jinja2@2.11.2",
            "pkg:pypi/pyyaml@5.3.1",
            "pkg:pypi/urllib3@1.26.4",
        ],
    );
    (dir, r)
}

fn suppressed(r: &ScanReport) -> Vec<(String, String, String)> {
    r.findings
        .iter()
        .filter_map(|f| {
            f.suppressed
                .as_ref()
                .map(|s| (f.id.clone(), s.by.clone(), s.reason.clone()))
        })
        .collect()
}

#[test]
fn ignore_rules_by_alias_package_and_expiry() {
    let (_d, mut r) = findings();
    let rules = IgnoreRules::parse(
        br#"
ignore:
  - id: CVE-2020-28493          # alias of PYSEC-2021-66 (jinja2)
    package: jinja2
    reason: templates are trusted
  - id: CVE-2020-14343          # pyyaml, but the rule names another package
    package: pkg:pypi/requests
    reason: wrong package
  - id: PYSEC-2021-108
    expires: 2000-01-01
    reason: expired long ago
"#,
        "ignore.yaml",
    )
    .expect("rules");
    let warnings = rules.apply_on(&mut r, "2025-06-01");
    assert_eq!(
        suppressed(&r),
        [(
            "PYSEC-2021-66".to_owned(),
            "ignore-rule".to_owned(),
            "templates are trusted".to_owned()
        )]
    );
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("PYSEC-2021-108") && warnings[0].contains("expired"));
    assert_eq!(r.open().count(), r.findings.len() - 1);
}

#[test]
fn openvex_not_affected_suppresses_with_justification_and_later_statements_win() {
    let (_d, mut r) = findings();
    let vex = Vex::parse(
        br#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.invalid/vex/1",
             "author": "sec team", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
             "statements": [
               {"vulnerability": {"name": "CVE-2020-14343"},
                "products": [{"@id": "pkg:oci/app@sha256%3Aabc", "subcomponents": [{"@id": "pkg:pypi/pyyaml@5.3.1"}]}],
                "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "full_load is never called"},
               {"vulnerability": {"name": "CVE-2021-33503"}, "products": [{"@id": "pkg:pypi/urllib3"}],
                "status": "not_affected", "justification": "vulnerable_code_not_present"},
               {"vulnerability": {"name": "CVE-2021-33503"}, "products": [{"@id": "pkg:pypi/urllib3"}],
                "status": "affected", "action_statement": "upgrade"},
               {"vulnerability": {"name": "CVE-2023-43804"}, "products": [{"@id": "pkg:pypi/urllib3@9.9.9"}],
                "status": "not_affected", "justification": "component_not_present"}
             ]}"#,
        "app.vex.json",
    )
    .expect("vex");
    vex.apply(&mut r);
    assert_eq!(
        suppressed(&r),
        [(
            "PYSEC-2021-142".to_owned(),
            "vex".to_owned(),
            "not_affected: vulnerable_code_not_in_execute_path (full_load is never called)"
                .to_owned()
        )]
    );

    let cdx = report::cyclonedx_vex(&r);
    let v = cdx["vulnerabilities"].as_array().expect("vulns");
    let yaml = v
        .iter()
        .find(|v| v["id"] == "PYSEC-2021-142")
        .expect("pyyaml vuln");
    assert_eq!(yaml["analysis"]["state"], "not_affected");
    assert_eq!(yaml["analysis"]["justification"], "code_not_reachable");
    assert_eq!(yaml["affects"][0]["ref"], "pkg:pypi/pyyaml@5.3.1");

    let sarif = report::sarif(&r, "sbom.json");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), r.findings.len());
    let supp = results
        .iter()
        .find(|x| x["ruleId"] == "PYSEC-2021-142")
        .expect("result");
    assert_eq!(supp["suppressions"][0]["kind"], "external");
    assert_eq!(sarif["version"], "2.1.0");
    for res in results {
        let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(
            sarif["runs"][0]["tool"]["driver"]["rules"][idx]["id"],
            res["ruleId"]
        );
    }

    // Validate the VEX against the CycloneDX 1.6 JSON schema with cyclonedx-python-lib.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vex.json");
    std::fs::write(&path, serde_json::to_vec(&cdx).expect("json")).expect("write");
    let python = vouch_testkit::venv_tool("python3");
    let script = "import sys\nfrom cyclonedx.validation.json import JsonStrictValidator\nfrom cyclonedx.schema import SchemaVersion\n\
                  err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
                  print(err)\nsys.exit(1 if err else 0)\n";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "CycloneDX validation failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn vex_documents_are_checked() {
    let missing_just = br#"{"statements": [{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:pypi/x"}], "status": "not_affected"}]}"#;
    let err = Vex::parse(missing_just, "v.json").expect_err("needs justification");
    assert!(
        matches!(err, vouch_vuln::Error::BadPolicyFile { ref field, .. } if field == "statements[0].justification"),
        "{err:?}"
    );
    let bad_status = br#"{"statements": [{"vulnerability": "CVE-1", "products": ["pkg:pypi/x"], "status": "fine"}]}"#;
    assert!(Vex::parse(bad_status, "v.json").is_err());
}
