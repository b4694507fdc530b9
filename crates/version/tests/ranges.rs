//! Table tests for OSV range evaluation (schema "Evaluation" section) and range validation.

use vouch_version::{AffectedVersions, Ecosystem, Error, RawAffected, RawRange, Scheme, Version};

/// Builds an entry from a JSON `ranges` array and a `versions` list.
fn affected(ecosystem: &str, ranges: &str, versions: &[&str]) -> Result<AffectedVersions, Error> {
    let ranges: Vec<RawRange> = serde_json::from_str(ranges).expect("test JSON");
    AffectedVersions::try_from(RawAffected {
        ecosystem: ecosystem.to_owned(),
        ranges,
        versions: versions.iter().map(|v| (*v).to_owned()).collect(),
    })
}

struct Case {
    name: &'static str,
    ecosystem: &'static str,
    ranges: &'static str,
    versions: &'static [&'static str],
    affected: &'static [&'static str],
    not_affected: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "introduced 0 and fixed",
        ecosystem: "crates.io",
        ranges: r#"[{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.2"}]}]"#,
        versions: &[],
        affected: &["0.0.0", "0.0.0-alpha", "0.9.9", "1.0.2-rc.1", "1.0.1"],
        not_affected: &["1.0.2", "1.0.3", "2.0.0"],
    },
    Case {
        name: "introduced 0 alone: every version",
        ecosystem: "Go",
        ranges: r#"[{"type": "SEMVER", "events": [{"introduced": "0"}]}]"#,
        versions: &[],
        affected: &[
            "v0.0.0-20200101000000-abcdefabcdef",
            "v1.2.3",
            "v99.0.0+incompatible",
        ],
        not_affected: &[],
    },
    Case {
        name: "introduced and fixed: half-open interval",
        ecosystem: "npm",
        ranges: r#"[{"type": "SEMVER", "events": [{"introduced": "1.2.0"}, {"fixed": "1.4.0"}]}]"#,
        versions: &[],
        affected: &["1.2.0", "1.3.9", "1.4.0-beta.1"],
        not_affected: &["1.1.9", "1.2.0-rc.1", "1.4.0", "2.0.0"],
    },
    Case {
        name: "last_affected is inclusive",
        ecosystem: "PyPI",
        ranges: r#"[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "2.1.214"}]}]"#,
        versions: &[],
        affected: &["0.1", "2.1.214", "2.1.214.0", "2.1.214rc1"],
        not_affected: &["2.1.214.post1", "2.1.215", "3.0"],
    },
    Case {
        name: "several introduced/fixed pairs",
        ecosystem: "crates.io",
        ranges: r#"[{"type": "SEMVER", "events": [
            {"introduced": "1.0.0"}, {"fixed": "1.0.2"}, {"introduced": "3.0.0"}, {"fixed": "3.2.5"}
        ]}]"#,
        versions: &[],
        affected: &["1.0.0", "1.0.1", "3.0.0", "3.2.4"],
        not_affected: &["0.9.0", "1.0.2", "2.9.9", "3.2.5", "4.0.0"],
    },
    Case {
        name: "events in any order",
        ecosystem: "crates.io",
        ranges: r#"[{"type": "SEMVER", "events": [
            {"fixed": "3.2.5"}, {"introduced": "3.0.0"}, {"fixed": "1.0.2"}, {"introduced": "1.0.0"}
        ]}]"#,
        versions: &[],
        affected: &["1.0.1", "3.1.0"],
        not_affected: &["1.0.2", "2.0.0", "3.2.5"],
    },
    Case {
        name: "two introduced, one fixed",
        ecosystem: "npm",
        ranges: r#"[{"type": "SEMVER", "events": [
            {"introduced": "1.0.0"}, {"introduced": "2.0.0"}, {"fixed": "3.0.0"}
        ]}]"#,
        versions: &[],
        affected: &["1.0.0", "2.5.0"],
        not_affected: &["0.9.0", "3.0.0"],
    },
    Case {
        name: "limit bounds the range",
        ecosystem: "crates.io",
        ranges: r#"[{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "2.0.0"}]}]"#,
        versions: &[],
        affected: &["1.0.0", "1.9.9"],
        not_affected: &["0.9.0", "2.0.0", "2.0.1"],
    },
    Case {
        name: "several limits: below any of them",
        ecosystem: "crates.io",
        ranges: r#"[{"type": "SEMVER", "events": [
            {"introduced": "1.0.0"}, {"limit": "2.0.0"}, {"limit": "3.0.0"}
        ]}]"#,
        versions: &[],
        affected: &["2.5.0"],
        not_affected: &["3.0.0"],
    },
    Case {
        name: "limit * is infinity",
        ecosystem: "crates.io",
        ranges: r#"[{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "*"}]}]"#,
        versions: &[],
        affected: &["1.0.0", "999.0.0"],
        not_affected: &["0.1.0"],
    },
    Case {
        name: "introduced and fixed at the same version affect nothing",
        ecosystem: "npm",
        ranges: r#"[{"type": "SEMVER", "events": [{"fixed": "1.0.0"}, {"introduced": "1.0.0"}]}]"#,
        versions: &[],
        affected: &[],
        not_affected: &["0.9.0", "1.0.0", "1.0.1"],
    },
    Case {
        name: "explicit versions list only",
        ecosystem: "PyPI",
        ranges: "[]",
        versions: &["1.0", "1.1.post1"],
        affected: &["1.0", "1.0.0", "1.1.post1"],
        not_affected: &["1.1", "0.9"],
    },
    Case {
        name: "versions list and a range",
        ecosystem: "PyPI",
        ranges: r#"[{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.2"}]}]"#,
        versions: &["1.5"],
        affected: &["1.5", "2.0", "2.1.9"],
        not_affected: &["1.4", "2.2"],
    },
    Case {
        name: "GIT ranges are skipped, versions list still counts",
        ecosystem: "PyPI",
        ranges: r#"[{"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "0"}, {"fixed": "0123abc"}]}]"#,
        versions: &["1.0"],
        affected: &["1.0"],
        not_affected: &["0.9", "1.1"],
    },
    Case {
        name: "Debian: epochs, tilde and +deb12u1",
        ecosystem: "Debian:12",
        ranges: r#"[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:2.36-9+deb12u1"}]}]"#,
        versions: &[],
        affected: &[
            "2.99-1",
            "1:2.36-9",
            "1:2.36-9+deb12u1~pre1",
            "1:2.36-8+deb12u9",
        ],
        not_affected: &[
            "1:2.36-9+deb12u1",
            "1:2.36-9+deb12u2",
            "1:2.37-1",
            "2:0.1-1",
        ],
    },
    Case {
        name: "Alpine: package releases and suffixes",
        ecosystem: "Alpine:v3.19",
        ranges: r#"[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r5"}]}]"#,
        versions: &[],
        affected: &["3.1.4-r4", "3.1.4_rc1-r9", "3.1.3_p2-r0"],
        not_affected: &["3.1.4-r5", "3.1.4_p1-r0", "3.1.5-r0"],
    },
    Case {
        name: "Red Hat: epoch and release",
        ecosystem: "Red Hat:enterprise_linux:9::appstream",
        ranges: r#"[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.20.1-14.el9_2.1"}]}]"#,
        versions: &[],
        affected: &["1:1.20.1-14.el9", "1.99-1.el9"],
        not_affected: &["1:1.20.1-14.el9_2.1", "1:1.20.2-1.el9"],
    },
    Case {
        name: "Maven qualifiers",
        ecosystem: "Maven",
        ranges: r#"[{"type": "ECOSYSTEM", "events": [{"introduced": "2.0.0"}, {"fixed": "2.15.0"}]}]"#,
        versions: &[],
        affected: &["2.0", "2.14.9", "2.15.0-rc1", "2.15-SNAPSHOT"],
        not_affected: &["2.0.0-beta", "2.15", "2.15.0.Final", "2.16"],
    },
    Case {
        name: "SEMVER range in a non-SemVer ecosystem",
        ecosystem: "PyPI",
        ranges: r#"[{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.0"}]}]"#,
        versions: &[],
        affected: &["1.0", "1.1.5"],
        not_affected: &["0.9", "1.2"],
    },
];

#[test]
fn evaluation_table() {
    for case in CASES {
        let entry = affected(case.ecosystem, case.ranges, case.versions)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        for v in case.affected {
            assert_eq!(
                entry.contains(v),
                Ok(true),
                "{}: {v} must be affected",
                case.name
            );
        }
        for v in case.not_affected {
            assert_eq!(
                entry.contains(v),
                Ok(false),
                "{}: {v} must not be affected",
                case.name
            );
        }
    }
}

#[test]
fn git_ranges_are_counted() {
    let entry = affected(
        "PyPI",
        r#"[{"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "0"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]"#,
        &[],
    )
    .expect("valid");
    assert_eq!(entry.skipped_git_ranges(), 1);
    assert_eq!(entry.ranges().len(), 1);
    let fixed: Vec<&str> = entry.fixed_versions().map(Version::as_str).collect();
    assert_eq!(fixed, ["1.0"]);
}

#[test]
fn validation_errors() {
    let err = |ecosystem: &str, ranges: &str, versions: &[&str]| {
        affected(ecosystem, ranges, versions).expect_err("must be rejected")
    };
    assert_eq!(
        err(
            "npm",
            r#"[{"type": "SEMVER", "events": [{"fixed": "1.0.0"}]}]"#,
            &[]
        ),
        Error::MissingIntroduced
    );
    assert_eq!(
        err("npm", r#"[{"type": "SEMVER", "events": []}]"#, &[]),
        Error::MissingIntroduced
    );
    assert_eq!(
        err(
            "npm",
            r#"[{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}, {"last_affected": "0.9.0"}]}]"#,
            &[]
        ),
        Error::FixedAndLastAffected {
            fixed: "1.0.0".into(),
            last_affected: "0.9.0".into()
        }
    );
    assert_eq!(
        err(
            "npm",
            r#"[{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]"#,
            &[]
        ),
        Error::MalformedEvent { index: 0, found: 2 }
    );
    assert_eq!(
        err(
            "npm",
            r#"[{"type": "SEMVER", "events": [{"introduced": "0"}, {}]}]"#,
            &[]
        ),
        Error::MalformedEvent { index: 1, found: 0 }
    );
    assert_eq!(
        err(
            "npm",
            r#"[{"type": "BOGUS", "events": [{"introduced": "0"}]}]"#,
            &[]
        ),
        Error::UnsupportedRangeType {
            kind: "BOGUS".into()
        }
    );
    assert!(matches!(
        err("npm", r#"[{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "latest"}]}]"#, &[]),
        Error::InvalidVersion { scheme: Scheme::SemVer, ref input, .. } if input == "latest"
    ));
    assert!(matches!(
        err("Debian:12", "[]", &["x:1.0"]),
        Error::InvalidVersion { scheme: Scheme::Debian, ref input, .. } if input == "x:1.0"
    ));
    assert!(matches!(
        err("Linux", "[]", &[]),
        Error::UnsupportedEcosystem { .. }
    ));
}

#[test]
fn checked_version_errors() {
    let entry = affected(
        "crates.io",
        r#"[{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]"#,
        &[],
    )
    .expect("valid");
    assert!(matches!(
        entry.contains(""),
        Err(Error::EmptyVersion { .. })
    ));
    assert!(matches!(
        entry.contains("not-a-version"),
        Err(Error::InvalidVersion { .. })
    ));
    let debian = Version::parse(Scheme::Debian, "1.0-1").expect("valid");
    assert_eq!(
        entry.contains_version(&debian),
        Err(Error::SchemeMismatch {
            expected: Scheme::SemVer,
            found: Scheme::Debian
        })
    );
    let too_long = "1".repeat(vouch_version::MAX_VERSION_LEN + 1);
    assert!(matches!(
        entry.contains(&too_long),
        Err(Error::VersionTooLong { .. })
    ));
    assert_eq!(
        "crates.io".parse::<Ecosystem>().map(|e| e.scheme()),
        Ok(Scheme::SemVer)
    );
}
