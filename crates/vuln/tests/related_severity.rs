//! Severity for OS packages: distro records (DEBIAN-CVE, DSA, DLA, ALPINE, SUSE) carry no
//! rating; it is read from the upstream CVE they name, held as an OSV `CVE-*` record, an NVD
//! CVE 2.0 record or a CVEList v5 record. Distro ratings (Ubuntu priority, Red Hat
//! severity, Debian urgency) win for their distro. The records in `data/osv-dev/records`
//! follow osv.dev's converters field for field; `data/osv-dev/{nvd,cvelist}` are osv.dev's
//! own test files (Apache-2.0).

use crate::common;

use common::{data, db_with, scan, write};
use vouch_vuln::{Finding, ScanReport, Severity};

fn only<'a>(report: &'a ScanReport, package: &str) -> &'a Finding {
    let found: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.package.name == package)
        .collect();
    assert_eq!(found.len(), 1, "{package}: {found:#?}");
    found[0]
}

fn full_db() -> (tempfile::TempDir, vouch_vuln::Database) {
    let (dir, db, report) = db_with(&[
        data("osv-dev/records"),
        data("osv-dev/nvd"),
        data("osv-dev/cvelist"),
    ]);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    (dir, db)
}

#[test]
fn debian_records_take_the_upstream_cve_rating_and_merge_into_one_finding() {
    let (_dir, db) = full_db();
    let report = scan(
        &db,
        &[
            "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?arch=amd64&upstream=zlib&distro=debian-11.3",
        ],
    );
    let f = only(&report, "zlib1g");
    // DEBIAN-CVE-2022-37434 and DSA-5218-1 (whose `upstream` names it) are one finding.
    assert_eq!(f.advisories, ["DEBIAN-CVE-2022-37434", "DSA-5218-1"]);
    assert!(f.aliases.contains(&"CVE-2022-37434".to_owned()));
    assert_eq!(f.fixed_versions, ["1:1.2.11.dfsg-2+deb11u2"]);
    // Neither record is rated ("not yet assigned" urgency, no severity): the rating is the
    // upstream CVE record's 9.8, and the report says so.
    assert_eq!(f.severity(), Severity::Critical);
    assert_eq!(f.rating.score, Some(9.8));
    assert_eq!(f.rating.source.as_deref(), Some("CVSS_V3"));
    assert_eq!(f.rating.from.as_deref(), Some("CVE-2022-37434 (OSV)"));
    // The CVE record itself (GIT ranges, no package) never matches a package.
    assert!(report.findings.iter().all(|f| f.id != "CVE-2022-37434"));
}

#[test]
fn dla_alpine_and_suse_records_resolve_through_upstream_and_related() {
    let (_dir, db) = full_db();
    let report = scan(
        &db,
        &[
            "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-1%2Bdeb10u1?arch=amd64&upstream=zlib&distro=debian-10",
            "pkg:apk/alpine/zlib@1.2.12-r1?arch=x86_64&distro=alpine-3.16.2",
            "pkg:rpm/sles/libz1@1.2.11-150000.3.30.1?arch=x86_64&upstream=zlib-1.2.11-150000.3.30.1.src.rpm&distro=sles-15.4",
        ],
    );
    let dla = only(&report, "zlib1g");
    assert_eq!(dla.advisories, ["DLA-3103-1"]);
    let apk = only(&report, "zlib");
    assert_eq!(apk.advisories, ["ALPINE-CVE-2022-37434"]);
    // SUSE names the CVE in `related`, binary package libz1, ecosystem "Module for
    // Basesystem 15 SP4" matched by an SLES 15.4 image.
    let suse = only(&report, "libz1");
    assert_eq!(suse.advisories, ["SUSE-SU-2022:2947-1"]);
    for f in [dla, apk, suse] {
        assert_eq!(f.severity(), Severity::Critical, "{}", f.id);
        assert_eq!(
            f.rating.from.as_deref(),
            Some("CVE-2022-37434 (OSV)"),
            "{}",
            f.id
        );
    }
}

#[test]
fn distro_ratings_win_for_their_distro() {
    let (_dir, db) = full_db();
    let report = scan(
        &db,
        &[
            "pkg:deb/ubuntu/zlib1g@1:1.2.11.dfsg-2ubuntu9?arch=amd64&upstream=zlib&distro=ubuntu-22.04",
            "pkg:rpm/redhat/zlib@1.2.11-31.el9?arch=x86_64&upstream=zlib-1.2.11-31.el9.src.rpm&distro=rhel-9.0",
            "pkg:rpm/redhat/zlib-devel@1.2.11-31.el9?arch=x86_64&upstream=zlib-1.2.11-31.el9.src.rpm&distro=rhel-9.0",
        ],
    );
    // Ubuntu rates it medium although the record also carries NVD's 9.8 vector.
    let ubuntu = only(&report, "zlib1g");
    assert_eq!(ubuntu.severity(), Severity::Medium);
    assert_eq!(ubuntu.rating.source.as_deref(), Some("Ubuntu priority"));
    assert_eq!(ubuntu.rating.from.as_deref(), Some("UBUNTU-CVE-2022-37434"));
    // Red Hat's "Moderate:" wins over the 9.8 of the upstream CVE; the appstream and
    // baseos entries are both RHEL 9.
    for name in ["zlib", "zlib-devel"] {
        let rh = only(&report, name);
        assert_eq!(rh.id, "RHSA-2022:7106");
        assert_eq!(rh.severity(), Severity::Medium, "{name}");
        assert_eq!(rh.rating.source.as_deref(), Some("Red Hat severity"));
        assert_eq!(rh.fixed_versions, ["0:1.2.11-32.el9_0"]);
    }
}

#[test]
fn debian_urgency_wins_over_the_upstream_rating() {
    let src = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(data("osv-dev/records/DEBIAN-CVE-2022-37434.json"))
        .expect("fixture")
        .replace("not yet assigned", "low")
        .replace("2025-09-26T07:12:09.726574Z", "2025-10-01T00:00:00Z");
    write(src.path(), "DEBIAN-CVE-2022-37434.json", &text);
    let (_dir, db, report) = db_with(&[data("osv-dev/records"), src.path().to_owned()]);
    assert_eq!(report.sources[1].updated, 1);
    let r = scan(
        &db,
        &["pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?upstream=zlib&distro=debian-11"],
    );
    let f = only(&r, "zlib1g");
    assert_eq!(f.severity(), Severity::Low);
    assert_eq!(f.rating.source.as_deref(), Some("Debian urgency"));
    assert_eq!(f.rating.from.as_deref(), Some("DEBIAN-CVE-2022-37434"));
}

#[test]
fn nvd_and_cvelist_records_rate_cves_without_an_osv_cve_record() {
    let (_dir, db) = full_db();
    let report = scan(
        &db,
        &[
            "pkg:deb/debian/libwebp7@1.2.4-0.2?arch=amd64&upstream=libwebp&distro=debian-12",
            "pkg:deb/debian/liblzma5@5.6.0-0.2?arch=amd64&upstream=xz-utils&distro=debian-13",
        ],
    );
    // NVD's primary CVSS 3.1 vector AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H, scored by vouch.
    let webp = only(&report, "libwebp7");
    assert_eq!(
        (webp.severity(), webp.rating.score),
        (Severity::High, Some(8.8))
    );
    assert_eq!(
        webp.rating.from.as_deref(),
        Some("CVE-2023-4863 (NVD, nvd@nist.gov)")
    );
    // CVE-2024-3094 is in both NVD and CVEList (Red Hat as CNA, 10.0): NVD is preferred
    // at equal severity.
    let xz = only(&report, "liblzma5");
    assert_eq!(
        (xz.severity(), xz.rating.score),
        (Severity::Critical, Some(10.0))
    );
    assert!(
        xz.rating
            .from
            .as_deref()
            .is_some_and(|f| f.starts_with("CVE-2024-3094 (NVD")),
        "{:?}",
        xz.rating
    );

    // CVEList alone rates it too.
    let (_dir2, db2, _) = db_with(&[data("osv-dev/records"), data("osv-dev/cvelist")]);
    let report = scan(
        &db2,
        &["pkg:deb/debian/liblzma5@5.6.0-0.2?arch=amd64&upstream=xz-utils&distro=debian-13"],
    );
    let xz = only(&report, "liblzma5");
    assert_eq!(xz.severity(), Severity::Critical);
    assert_eq!(
        xz.rating.from.as_deref(),
        Some("CVE-2024-3094 (CVEList, redhat)")
    );
}

#[test]
fn without_the_upstream_record_the_severity_stays_unknown() {
    // Only the distro records: nothing invents a rating.
    let src = tempfile::tempdir().expect("tempdir");
    for name in ["DEBIAN-CVE-2022-37434.json", "DSA-5218-1.json"] {
        let text = std::fs::read_to_string(data(&format!("osv-dev/records/{name}"))).expect("x");
        write(src.path(), name, &text);
    }
    let (_dir, db, _) = db_with(&[src.path().to_owned()]);
    let r = scan(
        &db,
        &["pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?upstream=zlib&distro=debian-11"],
    );
    let f = only(&r, "zlib1g");
    assert_eq!(f.severity(), Severity::Unknown);
    assert_eq!(f.rating.from, None);
}

#[test]
fn epss_and_kev_are_attached_to_findings() {
    let (_dir, db, report) = db_with(&[
        data("osv-dev/records"),
        data("osv-dev/nvd"),
        data("prioritisation"),
    ]);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    let kinds: Vec<&str> = report.sources.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["osv", "nvd", "epss+kev"]);
    let r = scan(
        &db,
        &[
            "pkg:deb/debian/libwebp7@1.2.4-0.2?upstream=libwebp&distro=debian-12",
            "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?upstream=zlib&distro=debian-11",
        ],
    );
    let webp = only(&r, "libwebp7");
    let epss = webp.epss.as_ref().expect("epss");
    assert_eq!(
        (epss.cve.as_str(), epss.score, epss.percentile),
        ("CVE-2023-4863", 0.48732, 0.97612)
    );
    let kev = webp.kev.as_ref().expect("kev");
    assert_eq!(
        (
            kev.date_added.as_str(),
            kev.due_date.as_deref(),
            kev.known_ransomware
        ),
        ("2023-09-13", Some("2023-10-04"), false)
    );
    let zlib = only(&r, "zlib1g");
    assert_eq!(zlib.kev, None);
    assert_eq!(zlib.epss.as_ref().map(|e| e.score), Some(0.01538));
}

#[test]
fn malformed_feed_rows_are_reported_with_their_place() {
    let src = tempfile::tempdir().expect("tempdir");
    write(
        src.path(),
        "epss.csv",
        "cve,epss,percentile\nCVE-2023-4863,0.4,0.9\nCVE-2023-4864,1.7,0.9\nnot-a-cve,0.1,0.1\n",
    );
    write(
        src.path(),
        "nvd.json",
        r#"{"format": "NVD_CVE", "version": "2.0", "vulnerabilities": [{"cve": {"id": "CVE-2023-1"}}]}"#,
    );
    let (_dir, _db, report) = db_with(&[src.path().to_owned()]);
    let fields: Vec<(&str, &str)> = report
        .issues
        .iter()
        .map(|i| (i.file.rsplit('/').next().unwrap_or(""), i.field.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("nvd.json", "vulnerabilities[0].cve.lastModified"),
            ("epss.csv", "line 3"),
            ("epss.csv", "line 4"),
        ]
    );
}

#[test]
fn distros_without_data_are_named_not_reported_clean() {
    let (_dir, db) = full_db();
    let r = scan(
        &db,
        &[
            // Debian 12 has data (libwebp); Debian 9 and Amazon Linux have none.
            "pkg:deb/debian/libwebp7@1.2.4-0.2%2Bdeb12u1?upstream=libwebp&distro=debian-12",
            "pkg:deb/debian/zlib1g@1:1.2.8.dfsg-5?upstream=zlib&distro=debian-9.13",
            "pkg:deb/debian/bash@4.4-5?distro=debian-9.13",
            "pkg:rpm/amazon/zlib@1.2.11-33.amzn2023.0.5?arch=x86_64&distro=amzn-2023",
        ],
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let gaps: Vec<(&str, Option<&str>, usize)> = r
        .distros_without_data
        .iter()
        .map(|g| (g.distro.as_str(), g.ecosystem.as_deref(), g.packages))
        .collect();
    assert_eq!(
        gaps,
        [("amzn-2023", None, 1), ("debian-9.13", Some("Debian:9"), 2)]
    );
    assert!(r.distros_without_data[0].reason.contains("Amazon Linux"));
}

/// An NVD 2.0 feed document with one CVE, as NVD writes it.
fn nvd_feed(id: &str, status: &str, modified: &str, metrics: &str) -> String {
    format!(
        r#"{{"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE",
            "version": "2.0", "timestamp": "2024-01-01T00:00:00.000",
            "vulnerabilities": [{{"cve": {{"id": "{id}", "sourceIdentifier": "cve@mitre.org",
              "published": "2022-08-05T07:15:07.240", "lastModified": "{modified}",
              "vulnStatus": "{status}", "descriptions": [], "metrics": {metrics}, "references": []}}}}]}}"#
    )
}

#[test]
fn gzipped_nvd_feeds_cvss_v2_and_rejected_or_unparseable_vectors() {
    use std::io::Write as _;
    let src = tempfile::tempdir().expect("tempdir");
    for name in ["DEBIAN-CVE-2022-37434.json", "DSA-5218-1.json"] {
        let text = std::fs::read_to_string(data(&format!("osv-dev/records/{name}"))).expect("x");
        write(src.path(), name, &text);
    }
    let feeds = tempfile::tempdir().expect("tempdir");
    let v2 = nvd_feed(
        "CVE-2022-37434",
        "Modified",
        "2024-01-01T00:00:00.000",
        r#"{"cvssMetricV2": [{"source": "nvd@nist.gov", "type": "Primary",
            "cvssData": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P", "baseScore": 1.0}}]}"#,
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(v2.as_bytes()).expect("gzip");
    std::fs::write(
        feeds.path().join("nvdcve-2.0-2022.json.gz"),
        gz.finish().expect("gzip"),
    )
    .expect("write");
    let (_dir, db, report) = db_with(&[src.path().to_owned(), feeds.path().to_owned()]);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(report.sources[1].kind, "nvd");
    let purl = "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?upstream=zlib&distro=debian-11";
    let r = scan(&db, &[purl]);
    let f = only(&r, "zlib1g");
    // The v2 vector is scored by vouch (7.5), not the feed's baseScore.
    assert_eq!((f.severity(), f.rating.score), (Severity::High, Some(7.5)));
    assert_eq!(f.rating.source.as_deref(), Some("CVSS_V2"));

    // A newer record that NVD rejected, or whose vector does not parse, takes the rating
    // away: nothing stale or invented remains.
    for (status, metrics) in [
        (
            "Rejected",
            r#"{"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
                "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8}}]}"#,
        ),
        (
            "Modified",
            r#"{"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
                "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/XX:Y", "baseScore": 9.8}}]}"#,
        ),
    ] {
        let newer = tempfile::tempdir().expect("tempdir");
        write(
            newer.path(),
            "nvd.json",
            &nvd_feed("CVE-2022-37434", status, "2024-02-01T00:00:00.000", metrics),
        );
        let (_d, db, _) = db_with(&[
            src.path().to_owned(),
            feeds.path().to_owned(),
            newer.path().to_owned(),
        ]);
        let f = scan(&db, &[purl]).findings.remove(0);
        assert_eq!(f.severity(), Severity::Unknown, "{status}: {:?}", f.rating);
    }
}

#[test]
fn rpm_and_apk_distros_match_by_release_binary_and_source() {
    // Records in the shapes AlmaLinux (ALSA, severity word in the summary), Rocky (RLSA),
    // openSUSE (`related` CVEs, binary package names) and Wolfi (CGA ids, CVE alias)
    // publish on osv.dev, plus the upstream CVE record for their rating.
    let src = tempfile::tempdir().expect("tempdir");
    let rpm_entry = |eco: &str, name: &str, fixed: &str| {
        format!(
            r#"{{"package": {{"ecosystem": "{eco}", "name": "{name}"}},
                "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}"#
        )
    };
    write(
        src.path(),
        "ALSA-2022_7106.json",
        &format!(
            r#"{{"id": "ALSA-2022:7106", "modified": "2022-11-01T00:00:00Z",
                "summary": "Important: zlib security update", "related": ["CVE-2022-37434"],
                "affected": [{}]}}"#,
            rpm_entry("AlmaLinux:9", "zlib", "1.2.11-32.el9_0")
        ),
    );
    write(
        src.path(),
        "RLSA-2022_7106.json",
        &format!(
            r#"{{"id": "RLSA-2022:7106", "modified": "2022-11-01T00:00:00Z",
                "summary": "zlib security update", "upstream": ["CVE-2022-37434"],
                "affected": [{}]}}"#,
            rpm_entry("Rocky Linux:9", "zlib-devel", "1.2.11-32.el9_0")
        ),
    );
    write(
        src.path(),
        "openSUSE-SU-2024_0001-1.json",
        &format!(
            r#"{{"id": "openSUSE-SU-2024:0001-1", "modified": "2024-01-02T00:00:00Z",
                "summary": "Security update for zlib", "related": ["CVE-2022-37434"],
                "affected": [{}, {}]}}"#,
            rpm_entry("openSUSE:Leap 15.5", "libz1", "1.2.13-150500.4.3.1"),
            rpm_entry("openSUSE:Tumbleweed", "libz1", "1.3-1.1")
        ),
    );
    write(
        src.path(),
        "CGA-xxxx-aaaa-bbbb.json",
        r#"{"id": "CGA-xxxx-aaaa-bbbb", "modified": "2024-03-01T00:00:00Z", "aliases": ["CVE-2022-37434"],
            "affected": [{"package": {"ecosystem": "Wolfi", "name": "zlib"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.13-r0"}]}]}]}"#,
    );
    write(
        src.path(),
        "CVE-2022-37434.json",
        &std::fs::read_to_string(data("osv-dev/records/CVE-2022-37434.json")).expect("fixture"),
    );
    let (_dir, db, report) = db_with(&[src.path().to_owned()]);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    let r = scan(
        &db,
        &[
            "pkg:rpm/almalinux/zlib@1.2.11-31.el9?arch=x86_64&upstream=zlib-1.2.11-31.el9.src.rpm&distro=almalinux-9.0",
            // Binary zlib-devel is named in the Rocky record itself.
            "pkg:rpm/rocky/zlib-devel@1.2.11-31.el9?arch=x86_64&upstream=zlib-1.2.11-31.el9.src.rpm&distro=rocky-9.0",
            // openSUSE names binary libz1; Leap and Tumbleweed are judged separately.
            "pkg:rpm/opensuse/libz1@1.2.13-150500.4.2.1?arch=x86_64&upstream=zlib-1.2.13-150500.4.2.1.src.rpm&distro=opensuse-leap-15.5",
            "pkg:rpm/opensuse/libz1@1.3-1.1?arch=x86_64&upstream=zlib-1.3-1.1.src.rpm&distro=opensuse-tumbleweed-20240101",
            // Wolfi apk: binary libz from origin zlib.
            "pkg:apk/wolfi/libz@1.2.12-r3?arch=x86_64&upstream=zlib&distro=wolfi-20230201",
        ],
    );
    let alma = only(&r, "zlib");
    assert_eq!(
        (alma.severity(), alma.rating.source.as_deref()),
        (Severity::High, Some("AlmaLinux severity"))
    );
    let rocky = only(&r, "zlib-devel");
    assert_eq!(rocky.id, "RLSA-2022:7106");
    // Rocky's summary carries no word here: the upstream CVE rates it.
    assert_eq!(rocky.rating.from.as_deref(), Some("CVE-2022-37434 (OSV)"));
    let suse: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.package.name == "libz1")
        .collect();
    assert_eq!(
        suse.len(),
        1,
        "only Leap's 1.2.13-150500.4.2.1 is before its fix: {suse:#?}"
    );
    assert_eq!(suse[0].ecosystem, "openSUSE:Leap 15.5");
    assert_eq!(suse[0].severity(), Severity::Critical);
    let wolfi = only(&r, "libz");
    assert_eq!(
        (wolfi.id.as_str(), wolfi.ecosystem.as_str()),
        ("CGA-xxxx-aaaa-bbbb", "Wolfi")
    );
    assert!(
        r.distros_without_data.is_empty(),
        "{:?}",
        r.distros_without_data
    );
}
