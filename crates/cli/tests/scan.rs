//! `vouch db …` and `vouch scan …` end to end: the binary against real OSV advisories
//! (copied into crates/vuln/tests/data) and SBOMs in the shapes syft and vouch write.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

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

/// A database with the osv.dev-shaped distro records, the NVD records and the EPSS/KEV
/// files, and a purl-list SBOM of Debian 11 zlib and Debian 12 libwebp.
fn os_setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vuln.db");
    let out = vouch(
        &db,
        &[
            "db",
            "import",
            &advisories("osv-dev/records"),
            &advisories("osv-dev/nvd"),
            &advisories("prioritisation"),
        ],
    );
    assert!(out.status.success(), "import failed: {}", stderr(&out));
    let sbom = dir.path().join("purls.txt");
    std::fs::write(
        &sbom,
        "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?arch=amd64&upstream=zlib&distro=debian-11.3\n\
         pkg:deb/debian/libwebp7@1.2.4-0.2?arch=amd64&upstream=libwebp&distro=debian-12\n",
    )
    .unwrap();
    (dir, db, sbom)
}

#[test]
fn os_packages_are_rated_from_their_upstream_cve_and_fail_on_high() {
    let (_dir, db, sbom) = os_setup();
    let sbom = sbom.to_str().unwrap();
    let out = vouch(&db, &["scan", sbom, "--fail-on", "high", "-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let zlib = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"]["name"] == "zlib1g")
        .unwrap();
    // DEBIAN-CVE + DSA for the same CVE: one finding, rated from the CVE record.
    assert_eq!(
        zlib["advisories"],
        serde_json::json!(["DEBIAN-CVE-2022-37434", "DSA-5218-1"])
    );
    assert_eq!(zlib["rating"]["severity"], "critical");
    assert_eq!(zlib["rating"]["score"], 9.8);
    assert_eq!(zlib["rating"]["from"], "CVE-2022-37434 (OSV)");
    assert!(
        stderr(&out).contains("2 finding(s) at or above high severity"),
        "{}",
        stderr(&out)
    );

    // The table names the rating's source; the KEV-listed libwebp is marked.
    let out = vouch(&db, &["scan", sbom]);
    let table = stdout(&out);
    assert!(
        table.contains("RATED BY") && table.contains("CVSS_V3: CVE-2022-37434 (OSV)"),
        "{table}"
    );
    let webp = table.lines().find(|l| l.starts_with("libwebp7")).unwrap();
    assert!(webp.contains("48.7%") && webp.contains("yes"), "{webp}");

    // KEV and EPSS gates.
    let out = vouch(&db, &["scan", sbom, "--fail-on-kev"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 finding(s) listed in CISA KEV"));
    let out = vouch(&db, &["scan", sbom, "--fail-on-epss", "0.9"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = vouch(&db, &["scan", sbom, "--fail-on-epss", "0.4"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = vouch(&db, &["scan", sbom, "--fail-on-epss", "7"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // SARIF carries the rating's source and the KEV entry.
    let out = vouch(&db, &["scan", sbom, "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let webp = results
        .iter()
        .find(|r| r["ruleId"] == "DEBIAN-CVE-2023-4863")
        .unwrap();
    assert_eq!(webp["properties"]["kev"]["dateAdded"], "2023-09-13");
    assert_eq!(
        webp["properties"]["ratedBy"],
        "CVE-2023-4863 (NVD, nvd@nist.gov)"
    );
}

#[test]
fn a_distro_without_data_is_a_warning_not_a_clean_result() {
    let (dir, db, _) = os_setup();
    let sbom = dir.path().join("other.txt");
    std::fs::write(
        &sbom,
        "pkg:rpm/amazon/zlib@1.2.11-33.amzn2023.0.5?arch=x86_64&distro=amzn-2023\n\
         pkg:deb/debian/zlib1g@1:1.2.8.dfsg-5?upstream=zlib&distro=debian-9.13\n",
    )
    .unwrap();
    let out = vouch(&db, &["-q", "scan", sbom.to_str().unwrap(), "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 OS package(s) of amzn-2023 were not checked")
            && err.contains("Amazon Linux"),
        "{err}"
    );
    assert!(
        err.contains("debian-9.13 were not checked") && err.contains("Debian:9"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["distros_without_data"].as_array().unwrap().len(), 2);
}

/// Serves the files under `root` over HTTP/1.1 on a loopback port until the test ends.
fn serve_dir(root: PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let _ = reader.read_line(&mut line);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let file = root.join(path);
            let (status, body) = match std::fs::read(&file) {
                Ok(b) if !path.contains("..") => ("200 OK", b),
                _ => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}

fn zip_dir(src: &Path, dest: &Path) {
    let status = Command::new(vouch_testkit::require_tool("python3"))
        .args(["-c", "import sys,zipfile,os\nz=zipfile.ZipFile(sys.argv[2],'w')\nfor f in sorted(os.listdir(sys.argv[1])): z.write(os.path.join(sys.argv[1],f),f)\nz.close()"])
        .arg(src)
        .arg(dest)
        .status()
        .expect("running python3 to build the test mirror");
    assert!(status.success());
}

#[test]
fn db_update_from_a_loopback_mirror_status_and_max_db_age() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vuln.db");
    // A mirror in osv.dev's bucket layout: <ECOSYSTEM>/all.zip.
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(mirror.join("Debian")).unwrap();
    let records = dir.path().join("records");
    std::fs::create_dir_all(&records).unwrap();
    for name in ["DEBIAN-CVE-2022-37434.json", "DSA-5218-1.json"] {
        std::fs::copy(
            advisories(&format!("osv-dev/records/{name}")),
            records.join(name),
        )
        .unwrap();
    }
    zip_dir(&records, &mirror.join("Debian/all.zip"));
    let url = serve_dir(mirror.clone());

    let out = vouch(&db, &["db", "update"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--ecosystem"), "{}", stderr(&out));

    let out = vouch(
        &db,
        &[
            "db",
            "update",
            "--from",
            &url,
            "--ecosystem",
            "Debian",
            "-o",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["sources"][0]["location"],
        format!("{url}/Debian/all.zip")
    );
    assert_eq!(json["sources"][0]["added"], 2);

    // The mirror gains a DLA and a newer DSA: only those are written.
    std::fs::copy(
        advisories("osv-dev/records/DLA-3103-1.json"),
        records.join("DLA-3103-1.json"),
    )
    .unwrap();
    let dsa = std::fs::read_to_string(records.join("DSA-5218-1.json"))
        .unwrap()
        .replace("2025-09-26T07:13:30.118236Z", "2025-10-02T00:00:00Z");
    std::fs::write(records.join("DSA-5218-1.json"), dsa).unwrap();
    zip_dir(&records, &mirror.join("Debian/all.zip"));
    let out = vouch(&db, &["db", "update", "--from", &url, "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let s = &json["sources"][0];
    assert_eq!(
        (
            s["added"].as_u64(),
            s["updated"].as_u64(),
            s["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );

    let out = vouch(&db, &["db", "status", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status["schema_version"], "2");
    assert_eq!(status["sources"][0]["newest"], "2025-10-02T00:00:00Z");
    assert!(status["sources"][0]["data_age_seconds"].as_u64().unwrap() > 0);
    let out = vouch(&db, &["db", "status"]);
    assert!(stdout(&out).contains("Schema:     2"), "{}", stdout(&out));

    // The newest record is from 2025-10-02: a 1-day limit fails the scan, a generous
    // one passes.
    let sbom = dir.path().join("purls.txt");
    std::fs::write(
        &sbom,
        "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?upstream=zlib&distro=debian-11\n",
    )
    .unwrap();
    let out = vouch(&db, &["scan", sbom.to_str().unwrap(), "--max-db-age", "1d"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is stale"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let out = vouch(
        &db,
        &["scan", sbom.to_str().unwrap(), "--max-db-age", "100000d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = vouch(
        &db,
        &["scan", sbom.to_str().unwrap(), "--max-db-age", "soon"],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// `vouch --db DB ARGS` with the hermetic environment of the signing tests (key password).
fn vouch_db(db: &Path, args: &[&str]) -> Output {
    common::vouch_cmd(args)
        .env("VOUCH_DB", db)
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap()
}

#[test]
fn db_push_and_pull_through_a_registry_with_the_signature_checked() {
    let registry = vouch_testkit::RegistryServer::start();
    let (dir, db, sbom) = os_setup();
    let (key, public) = common::keypair(dir.path(), "db");
    let (other_key, other_public) = common::keypair(dir.path(), "other");
    let reference = format!("{}/security/vulndb:v1", registry.host);

    let out = vouch_db(
        &db,
        &["db", "push", &reference, "--key", &key, "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let pushed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(pushed["schemaVersion"], "2");

    // Pulled with the right key: written, and scans exactly as the original.
    let pulled = dir.path().join("pulled/vuln.db");
    let out = vouch_db(
        &pulled,
        &[
            "db",
            "pull",
            &reference,
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let scan_of = |path: &Path| {
        let out = vouch(path, &["scan", sbom.to_str().unwrap(), "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        v["findings"].clone()
    };
    assert_eq!(scan_of(&pulled), scan_of(&db));
    assert_eq!(std::fs::read(&pulled).unwrap(), std::fs::read(&db).unwrap());

    // The wrong key: refused, nothing written.
    let fresh = dir.path().join("fresh/vuln.db");
    let out = vouch_db(
        &fresh,
        &[
            "db",
            "pull",
            &reference,
            "--insecure-ignore-tlog",
            "--key",
            &other_public,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("refusing"), "{}", stderr(&out));
    assert!(!fresh.exists());

    // A tampered database pushed over the tag (signed by someone else): the pull with the
    // trusted key refuses it and the database already pulled stays as it was.
    let out = vouch(&db, &["db", "import", &advisories("osv-dev/cvelist")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = vouch_db(&db, &["db", "push", &reference, "--key", &other_key]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = std::fs::read(&pulled).unwrap();
    let out = vouch_db(
        &pulled,
        &[
            "db",
            "pull",
            &reference,
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no signature verifies"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&pulled).unwrap(), before);

    // It was the signature that failed: whoever trusts the other key gets that database.
    let out = vouch_db(
        &pulled,
        &[
            "db",
            "pull",
            &reference,
            "--insecure-ignore-tlog",
            "--key",
            &other_public,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read(&pulled).unwrap(), before);
}

/// A root filesystem of `os_release` with one dpkg package (binary zlib1g from source zlib).
fn debian_root(dir: &Path, name: &str, os_release: &str, version: &str) -> String {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(root.join("etc/os-release"), os_release).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        format!(
            "Package: zlib1g\nStatus: install ok installed\nPriority: required\nSection: libs\n\
             Maintainer: Mark Brown <broonie@debian.org>\nArchitecture: amd64\n\
             Multi-Arch: same\nSource: zlib\nVersion: {version}\n\
             Description: compression library - runtime\n\n"
        ),
    )
    .unwrap();
    format!("dir:{}", root.display())
}

#[test]
fn scanning_a_root_filesystem_rates_os_packages_and_names_distros_without_data() {
    let (dir, db, _) = os_setup();
    let bullseye = debian_root(
        dir.path(),
        "bullseye",
        "PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"11\"\nVERSION=\"11 (bullseye)\"\nID=debian\n",
        "1:1.2.11.dfsg-2+deb11u1",
    );
    let out = vouch(&db, &["scan", &bullseye, "--fail-on", "high", "-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["findings"][0]["id"], "DEBIAN-CVE-2022-37434");
    assert_eq!(json["findings"][0]["rating"]["severity"], "critical");
    assert!(json["distros_without_data"].as_array().unwrap().is_empty());

    // Debian 9 (stretch): the database holds nothing for it. Not a silent pass.
    let stretch = debian_root(
        dir.path(),
        "stretch",
        "PRETTY_NAME=\"Debian GNU/Linux 9 (stretch)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"9\"\nVERSION=\"9 (stretch)\"\nID=debian\n",
        "1:1.2.8.dfsg-5",
    );
    let out = vouch(&db, &["scan", &stretch, "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("of debian-9 were not checked")
            && stderr(&out).contains("no advisories for Debian:9"),
        "{}",
        stderr(&out)
    );
}
