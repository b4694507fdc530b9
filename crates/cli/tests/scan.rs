//! `vouch db …` and `vouch scan …` end to end: the binary against real OSV advisories
//! (copied into crates/vuln/tests/data) and SBOMs in the shapes syft and vouch write.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn advisories(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vuln/tests/data")
        .join(rel)
        .display()
        .to_string()
}

fn vouch(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .env("VOUCH_DB", db)
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A temp dir with a database holding the PyPA jinja2/pyyaml/django records, and a
/// CycloneDX SBOM (syft's shape) of jinja2 2.11.2 and pyyaml 5.3.1.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vuln.db");
    // A GHSA-style record for the jinja2 CVE, with a CVSS vector (the PyPA records have
    // none): merged with PYSEC-2021-66 into one finding that carries its severity.
    let ghsa = dir.path().join("GHSA-g3rq-g295-4j3m.json");
    std::fs::write(
        &ghsa,
        r#"{"id": "GHSA-g3rq-g295-4j3m", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2020-28493"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Jinja2"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}]}]}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}],
            "database_specific": {"severity": "MODERATE"}}"#,
    )
    .unwrap();
    let out = vouch(
        &db,
        &[
            "db",
            "import",
            &advisories("pypa/vulns/jinja2"),
            &advisories("pypa/vulns/pyyaml"),
            &advisories("pypa/vulns/django"),
            ghsa.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "import failed: {}", stderr(&out));
    let sbom = dir.path().join("sbom.cdx.json");
    std::fs::write(
        &sbom,
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "metadata": {"component": {"type": "container", "name": "app"}},
            "components": [
              {"bom-ref": "a", "type": "library", "name": "Jinja2", "version": "2.11.2", "purl": "pkg:pypi/jinja2@2.11.2"},
              {"bom-ref": "b", "type": "library", "name": "PyYAML", "version": "5.3.1", "purl": "pkg:pypi/pyyaml@5.3.1"},
              {"bom-ref": "c", "type": "library", "name": "six", "version": "1.16.0", "purl": "pkg:pypi/six@1.16.0"}]}"#,
    )
    .unwrap();
    (dir, db, sbom)
}

#[test]
fn scan_reports_findings_and_fail_on_sets_exit_code_3() {
    let (dir, db, sbom) = setup();
    let sbom = sbom.to_str().unwrap();

    let out = vouch(&db, &["scan", sbom]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("GHSA-g3rq-g295-4j3m") && table.contains("2.11.3"),
        "{table}"
    );
    assert!(
        table.contains("PYSEC-2021-142") && table.contains("5.4"),
        "{table}"
    );
    assert!(
        stderr(&out).contains("3 packages scanned, 2 findings"),
        "{}",
        stderr(&out)
    );

    // jinja2: GHSA CVSS 5.3 (medium), merged into the PYSEC finding. pyyaml: the PyPA
    // record has no rating, so it is unknown and --fail-on only counts it on request.
    let out = vouch(&db, &["scan", sbom, "--fail-on", "medium", "-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["GHSA-g3rq-g295-4j3m", "PYSEC-2021-142"]);
    assert_eq!(
        json["findings"][0]["advisories"],
        serde_json::json!(["GHSA-g3rq-g295-4j3m", "PYSEC-2021-66"])
    );
    assert_eq!(json["findings"][0]["rating"]["severity"], "medium");
    assert_eq!(json["findings"][0]["rating"]["score"], 5.3);
    assert_eq!(json["findings"][1]["rating"]["severity"], "unknown");
    assert_eq!(json["findings"][1]["fixed_versions"][0], "5.4");
    let out = vouch(&db, &["scan", sbom, "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("1 finding(s) of unknown severity were not counted"),
        "{}",
        stderr(&out)
    );
    let out = vouch(
        &db,
        &["scan", sbom, "--fail-on", "high", "--fail-on-unknown"],
    );
    assert_eq!(out.status.code(), Some(3));

    // Suppress the critical one with OpenVEX: the build passes, the justification is shown.
    let vex = dir.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-2020-14343"},
             "products": [{"@id": "pkg:pypi/pyyaml"}], "status": "not_affected",
             "justification": "vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let out = vouch(
        &db,
        &[
            "scan",
            sbom,
            "--fail-on",
            "high",
            "--fail-on-unknown",
            "--vex",
            vex.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("vulnerable_code_not_in_execute_path"),
        "{}",
        stdout(&out)
    );

    // Ignore rule for the medium one + --fail-on medium.
    let ignore = dir.path().join("ignore.yaml");
    std::fs::write(
        &ignore,
        "ignore:\n  - id: CVE-2020-28493\n    package: jinja2\n    reason: sandboxed\n",
    )
    .unwrap();
    let out = vouch(
        &db,
        &[
            "scan",
            sbom,
            "--fail-on",
            "low",
            "--fail-on-unknown",
            "--vex",
            vex.to_str().unwrap(),
            "--ignore",
            ignore.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("No vulnerabilities found."));

    // SARIF and CycloneDX VEX.
    let out = vouch(&db, &["scan", sbom, "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);
    let out = vouch(&db, &["scan", sbom, "--format", "cyclonedx-vex"]);
    let vex: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(vex["vulnerabilities"].as_array().unwrap().len(), 2);
}

#[test]
fn spdx_sbom_and_only_fixed() {
    let (dir, db, _) = setup();
    let spdx = dir.path().join("sbom.spdx.json");
    std::fs::write(
        &spdx,
        r#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": [
             {"name": "django", "SPDXID": "SPDXRef-Package-python-django", "versionInfo": "3.2.0",
              "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:pypi/django@3.2.0"}]}]}"#,
    )
    .unwrap();
    let out = vouch(
        &db,
        &["scan", spdx.to_str().unwrap(), "-o", "json", "--only-fixed"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 25);
}

#[test]
fn db_status_and_missing_or_corrupt_database_errors() {
    let (dir, db, sbom) = setup();
    let out = vouch(&db, &["db", "status", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status["ecosystems"][0]["ecosystem"], "PyPI");
    assert_eq!(status["sources"].as_array().unwrap().len(), 4);
    assert!(status["advisories"].as_u64().unwrap() > 100);
    let out = vouch(&db, &["db", "status"]);
    assert!(stdout(&out).contains("PyPI"), "{}", stdout(&out));

    let missing = dir.path().join("nothing-here.db");
    let out = vouch(
        &missing,
        &["scan", sbom.to_str().unwrap(), "--fail-on", "low"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("vouch db import"), "{}", stderr(&out));

    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![b'x'; 4096]).unwrap();
    let out = vouch(&corrupt, &["db", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a usable vulnerability database"),
        "{}",
        stderr(&out)
    );

    // Malformed records are listed with file and field; the import succeeds.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "X-1", "modified": 7}"#).unwrap();
    let out = vouch(&db, &["db", "import", bad.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bad.json") && stderr(&out).contains("field modified"),
        "{}",
        stderr(&out)
    );

    // --help documents the exit codes.
    let help = stdout(&vouch(&db, &["scan", "--help"]));
    assert!(
        help.contains("3  at least one unsuppressed finding"),
        "{help}"
    );
}

/// `vouch scan dir:PATH` catalogs the directory (Python dist-info here) and scans it: the
/// same advisories as scanning an SBOM of it.
#[test]
fn scans_a_directory_by_cataloging_it_first() {
    let (dir, db, _sbom) = setup();
    let root = dir.path().join("root");
    for (name, version) in [
        ("Jinja2", "2.11.2"),
        ("PyYAML", "5.3.1"),
        ("Jinja2-safe", "3.1.4"),
    ] {
        let info = root.join(format!(
            "usr/lib/python3/site-packages/{name}-{version}.dist-info"
        ));
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        )
        .unwrap();
    }
    let source = format!("dir:{}", root.display());
    let out = vouch(&db, &["scan", &source, "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let text = report.to_string();
    assert!(
        text.contains("PYSEC-2021-66"),
        "jinja2 2.11.2 is affected: {text}"
    );
    assert!(
        text.contains("PYSEC-2021-142"),
        "pyyaml 5.3.1 is affected: {text}"
    );
    assert!(
        !text.contains("Jinja2-safe"),
        "an unrelated package is not reported: {text}"
    );

    let out = vouch(&db, &["scan", &source, "--fail-on", "low"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));

    let out = vouch(&db, &["scan", "dir:/definitely/not/here"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/definitely/not/here"),
        "{}",
        stderr(&out)
    );
}
