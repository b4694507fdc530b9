//! Scans real packages against real advisories (PyPA, Go vulndb, RustSec; see
//! tests/data/README.md) and checks the exact advisory ids and fixed versions.
//!
//! Expected PyPI results were derived independently of vouch: from each PyPA record's
//! explicit `versions` list (which the PyPA database enumerates for every affected
//! release), and checked against the records' ECOSYSTEM ranges by hand.

use crate::common;

use common::{data, db_with, ids_and_fixes, scan};

fn all_sources() -> Vec<std::path::PathBuf> {
    vec![data("pypa/vulns"), data("go/osv"), data("rustsec/crates")]
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| (*x).to_owned()).collect()
}

#[test]
fn import_counts_every_record() {
    let (_dir, db, report) = db_with(&all_sources());
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    let records: u64 = report.sources.iter().map(|s| s.records).sum();
    let files = ["pypa/vulns", "go/osv", "rustsec/crates"]
        .iter()
        .map(|d| walk_count(&data(d)))
        .sum::<u64>();
    assert_eq!(records, files);
    let status = db.status().expect("status");
    assert_eq!(status.advisories, files);
    assert!(
        status.withdrawn >= 2,
        "PYSEC-2023-73 and RUSTSEC-2020-0053 are withdrawn"
    );
    let eco: Vec<&str> = status
        .ecosystems
        .iter()
        .map(|e| e.ecosystem.as_str())
        .collect();
    assert_eq!(eco, ["Go", "PyPI", "crates.io"]);
}

fn walk_count(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk_count(&p)
            } else {
                u64::from(p.extension().is_some_and(|x| x == "json" || x == "yaml"))
            }
        })
        .sum()
}

#[test]
fn pypi_packages_report_exact_advisories_and_fixes() {
    let (_dir, db, _) = db_with(&all_sources());
    let report = scan(
        &db,
        &[
            "pkg:pypi/Django@3.2.0",
            "pkg:pypi/jinja2@2.11.2",
            "pkg:pypi/PyYAML@5.3.1",
            "pkg:pypi/urllib3@1.26.4",
        ],
    );
    assert_eq!(
        ids_and_fixes(&report, "jinja2"),
        [("PYSEC-2021-66".to_owned(), s(&["2.11.3"]))]
    );
    assert_eq!(
        ids_and_fixes(&report, "pyyaml"),
        [("PYSEC-2021-142".to_owned(), s(&["5.4"]))]
    );
    assert_eq!(
        ids_and_fixes(&report, "urllib3"),
        [
            ("PYSEC-2021-108".to_owned(), s(&["1.26.5"])),
            ("PYSEC-2023-192".to_owned(), s(&["1.26.17", "2.0.6"])),
            ("PYSEC-2023-212".to_owned(), s(&["1.26.18", "2.0.7"])),
        ]
    );
    let django = ids_and_fixes(&report, "django");
    let ids: Vec<&str> = django.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "PYSEC-2021-109",
            "PYSEC-2021-439",
            "PYSEC-2021-7",
            "PYSEC-2021-8",
            "PYSEC-2021-98",
            "PYSEC-2021-99",
            "PYSEC-2022-1",
            "PYSEC-2022-19",
            "PYSEC-2022-190",
            "PYSEC-2022-191",
            "PYSEC-2022-2",
            "PYSEC-2022-20",
            "PYSEC-2022-213",
            "PYSEC-2022-245",
            "PYSEC-2022-3",
            "PYSEC-2022-304",
            "PYSEC-2023-100",
            "PYSEC-2023-12",
            "PYSEC-2023-13",
            "PYSEC-2023-222",
            "PYSEC-2023-225",
            "PYSEC-2023-226",
            "PYSEC-2023-61",
            "PYSEC-2024-28",
            "PYSEC-2024-47",
        ]
    );
    // Only fixes newer than the installed 3.2.0, lowest (the upgrade target) first.
    let fixes = |id: &str| {
        django
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, f)| f.clone())
            .expect(id)
    };
    assert_eq!(fixes("PYSEC-2021-7"), s(&["3.2.1"]));
    assert_eq!(fixes("PYSEC-2022-1"), s(&["3.2.11", "4.0.1"]));
    assert_eq!(fixes("PYSEC-2024-47"), s(&["3.2.25", "4.2.11", "5.0.3"]));
    // Aliases are carried: the CVE and the GHSA of the record.
    let f = report
        .findings
        .iter()
        .find(|f| f.id == "PYSEC-2021-66")
        .expect("jinja2 finding");
    assert!(
        f.aliases.contains(&"CVE-2020-28493".to_owned())
            && f.aliases.contains(&"GHSA-g3rq-g295-4j3m".to_owned())
    );
}

#[test]
fn fixed_versions_withdrawn_records_and_other_ecosystems_do_not_match() {
    let (_dir, db, _) = db_with(&all_sources());
    let report = scan(
        &db,
        &[
            // Fixed releases.
            "pkg:pypi/jinja2@2.11.3",
            "pkg:pypi/pyyaml@5.4",
            "pkg:cargo/hyper@1.4.1",
            // Withdrawn: PYSEC-2023-73 (redis, all versions) and RUSTSEC-2020-0053 (dirs).
            "pkg:pypi/redis@4.5.4",
            "pkg:cargo/dirs@1.0.0",
            // Same names, other ecosystems.
            "pkg:cargo/pyyaml@5.3.1",
            "pkg:npm/django@3.2.0",
            "pkg:pypi/hyper@0.10.0",
            "pkg:golang/github.com/example/net@v0.1.0",
        ],
    );
    let found: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.package.display(), f.id.clone()))
        .collect();
    assert!(found.is_empty(), "unexpected findings: {found:?}");
}

#[test]
fn go_module_x_net() {
    let (_dir, db, _) = db_with(&all_sources());
    let report = scan(&db, &["pkg:golang/golang.org/x/net@v0.7.0"]);
    let got = ids_and_fixes(&report, "golang.org/x/net");
    // Derived with an independent SemVer evaluation of each record's SEMVER range.
    let expected = [
        ("GO-2023-1988", &["0.13.0"][..]),
        ("GO-2023-2102", &["0.17.0"]),
        ("GO-2024-2687", &["0.23.0"]),
        ("GO-2024-3333", &["0.33.0"]),
        ("GO-2025-3503", &["0.36.0"]),
        ("GO-2025-3595", &["0.38.0"]),
        ("GO-2026-4440", &["0.45.0"]),
        ("GO-2026-4441", &["0.45.0"]),
        ("GO-2026-4918", &["0.53.0"]),
        ("GO-2026-5025", &["0.55.0"]),
        ("GO-2026-5026", &["0.55.0"]),
        ("GO-2026-5027", &["0.55.0"]),
        ("GO-2026-5028", &["0.55.0"]),
        ("GO-2026-5029", &["0.55.0"]),
        ("GO-2026-5030", &["0.55.0"]),
        ("GO-2026-5942", &["0.56.0"]),
    ];
    let expected: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(i, f)| ((*i).to_owned(), s(f)))
        .collect();
    assert_eq!(got, expected);
    // Go vulndb has no severities: unknown, never guessed.
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity() == vouch_vuln::Severity::Unknown)
    );
}

#[test]
fn crates_io_hyper() {
    let (_dir, db, _) = db_with(&all_sources());
    // RUSTSEC-2022-0022 also covers 0.14.9 but is `informational: unsound`, a notice
    // rather than a vulnerability, so it is not a finding.
    let report = scan(&db, &["pkg:cargo/hyper@0.14.9"]);
    let got = ids_and_fixes(&report, "hyper");
    let expected: Vec<(String, Vec<String>)> = [
        ("RUSTSEC-2021-0078", &["0.14.10"][..]),
        ("RUSTSEC-2021-0079", &["0.14.10"]),
    ]
    .iter()
    .map(|(i, f)| ((*i).to_owned(), s(f)))
    .collect();
    assert_eq!(got, expected);
    // RustSec gives CVSS v3.1 vectors; vouch scores them itself.
    let f = report
        .findings
        .iter()
        .find(|f| f.id == "RUSTSEC-2021-0079")
        .expect("finding");
    assert_eq!(f.rating.source.as_deref(), Some("CVSS_V3"));
    assert!(f.rating.score.is_some());
}
