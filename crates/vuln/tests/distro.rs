//! Distro matching: Debian and Alpine OSV records written here the way osv.dev's converters
//! write them (source-package names, one `affected[]` per release, urgency words), matched
//! against binary packages by source package and release.

use crate::common;

use common::{db_with, ids_and_fixes, scan, write};
use vouch_vuln::Severity;

const RECORDS: &[(&str, &str)] = &[
    (
        "DEBIAN-CVE-2023-4911.json",
        r#"{"id": "DEBIAN-CVE-2023-4911", "modified": "2024-01-01T00:00:00Z", "upstream": ["CVE-2023-4911"],
            "aliases": [],
            "affected": [
              {"package": {"ecosystem": "Debian:12", "name": "glibc"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}]}],
               "ecosystem_specific": {"urgency": "high"}},
              {"package": {"ecosystem": "Debian:11", "name": "glibc"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.31-13+deb11u7"}]}],
               "ecosystem_specific": {"urgency": "high"}}]}"#,
    ),
    (
        "DSA-5514-1.json",
        r#"{"id": "DSA-5514-1", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2023-4911"],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}]}]}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}]}"#,
    ),
    (
        "DEBIAN-CVE-2023-5678.json",
        r#"{"id": "DEBIAN-CVE-2023-5678", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}],
               "ecosystem_specific": {"urgency": "unimportant"}}]}"#,
    ),
    (
        "DEBIAN-CVE-2024-0001.json",
        r#"{"id": "DEBIAN-CVE-2024-0001", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "shadow"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:4.13+dfsg1-1+deb12u1"}]}],
               "ecosystem_specific": {"urgency": "not yet assigned"}}]}"#,
    ),
    (
        "ALPINE-CVE-2023-5363.json",
        r#"{"id": "ALPINE-CVE-2023-5363", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r0"}]}]},
              {"package": {"ecosystem": "Alpine:v3.18", "name": "openssl"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r1"}]}]}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]}"#,
    ),
];

fn distro_db() -> (tempfile::TempDir, vouch_vuln::Database) {
    let src = tempfile::tempdir().expect("tempdir");
    for (name, text) in RECORDS {
        write(src.path(), name, text);
    }
    let (dir, db, report) = db_with(&[src.path().to_owned()]);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    (dir, db)
}

#[test]
fn debian_binary_packages_match_by_source_and_release() {
    let (_dir, db) = distro_db();
    let report = scan(
        &db,
        &[
            // Binary libc6 from source glibc, one revision before the fix.
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u2?arch=amd64&upstream=glibc&distro=debian-12.5",
            // Same source version on Debian 11 is judged by Debian 11's record (fixed there).
            "pkg:deb/debian/libc-bin@2.36-9%2Bdeb12u2?arch=amd64&upstream=glibc&distro=debian-11",
        ],
    );
    let libc6 = ids_and_fixes(&report, "libc6");
    // DEBIAN-CVE-2023-4911 and DSA-5514-1 both name CVE-2023-4911: one finding.
    assert_eq!(
        libc6,
        [(
            "DEBIAN-CVE-2023-4911".to_owned(),
            vec!["2.36-9+deb12u3".to_owned()]
        )]
    );
    let f = &report.findings[0];
    assert_eq!(f.advisories, ["DEBIAN-CVE-2023-4911", "DSA-5514-1"]);
    assert!(f.aliases.contains(&"CVE-2023-4911".to_owned()));
    assert_eq!(f.matched_name, "glibc");
    assert_eq!(f.ecosystem, "Debian:12");
    // The distro's urgency (high) and the DSA's CVSS 7.8 (high): highest known wins.
    assert_eq!(f.severity(), Severity::High);
    assert!(
        ids_and_fixes(&report, "libc-bin").is_empty(),
        "2.36 > 2.31-13+deb11u7"
    );
}

#[test]
fn debian_version_edge_cases() {
    let (_dir, db) = distro_db();
    let report = scan(
        &db,
        &[
            // `~` sorts before the empty string: 3.0.13-1~deb12u1 < 3.0.13-1, so the backport
            // 3.0.11-1~deb12u2 is affected and 3.0.13-1~deb12u1 is the fix.
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?upstream=openssl&distro=debian-12",
            // Epoch: 1:4.13+dfsg1-1 (the unpatched bookworm release) is affected...
            "pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1?upstream=shadow%401:4.13%2Bdfsg1-1&distro=debian-12",
            // ...and the epoch-less 4.13+dfsg1-1+deb12u1 is epoch 0, far below: affected too.
            "pkg:deb/debian/login@4.13%2Bdfsg1-2?upstream=shadow&distro=debian-12",
            // The fixed +deb12u1 revision is not.
            "pkg:deb/debian/uidmap@1:4.13%2Bdfsg1-1%2Bdeb12u1?upstream=shadow&distro=debian-12",
        ],
    );
    assert_eq!(
        ids_and_fixes(&report, "libssl3"),
        [(
            "DEBIAN-CVE-2023-5678".to_owned(),
            vec!["3.0.13-1~deb12u1".to_owned()]
        )]
    );
    let ssl = report
        .findings
        .iter()
        .find(|f| f.package.name == "libssl3")
        .expect("libssl3");
    assert_eq!(
        ssl.severity(),
        Severity::Negligible,
        "Debian urgency `unimportant`"
    );
    assert_eq!(ids_and_fixes(&report, "passwd").len(), 1);
    let passwd = report
        .findings
        .iter()
        .find(|f| f.package.name == "passwd")
        .expect("passwd");
    assert_eq!(
        passwd.severity(),
        Severity::Unknown,
        "`not yet assigned` is not a rating"
    );
    assert_eq!(ids_and_fixes(&report, "login").len(), 1);
    assert!(ids_and_fixes(&report, "uidmap").is_empty());
}

#[test]
fn alpine_origin_and_release() {
    let (_dir, db) = distro_db();
    let report = scan(
        &db,
        &[
            "pkg:apk/alpine/libcrypto3@3.1.3-r0?arch=x86_64&upstream=openssl&distro=alpine-3.19.0",
            "pkg:apk/alpine/libssl3@3.1.4-r0?arch=x86_64&upstream=openssl&distro=alpine-3.19.1",
            // 3.1.4-r0 on v3.18 is below v3.18's fix (3.1.4-r1).
            "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=alpine-3.18.4",
            // A Debian package named openssl is not an Alpine package.
            "pkg:deb/debian/openssl@3.1.3-1?distro=debian-13",
        ],
    );
    assert_eq!(
        ids_and_fixes(&report, "libcrypto3"),
        [(
            "ALPINE-CVE-2023-5363".to_owned(),
            vec!["3.1.4-r0".to_owned()]
        )]
    );
    assert!(ids_and_fixes(&report, "libssl3").is_empty());
    assert_eq!(
        ids_and_fixes(&report, "openssl"),
        [(
            "ALPINE-CVE-2023-5363".to_owned(),
            vec!["3.1.4-r1".to_owned()]
        )]
    );
    let f = &report.findings[0];
    assert_eq!((f.severity(), f.rating.score), (Severity::High, Some(7.5)));
}
