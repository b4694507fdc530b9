//! syft and grype users' invocations, run through vouch (issue #20, item 1). Each test names
//! where the invocation is documented:
//! * syft v1.57.2 (the peer `scripts/peers` builds): its README, and the examples `syft
//!   scan --help` and `syft convert --help` print (`cmd/syft/internal/commands/scan.go`
//!   `scanExample`/`imageSchemeHelp`/`nonImageSchemeHelp`, `convert.go` `convertExample`),
//!   and its flags (`cmd/syft/internal/options/catalog.go`, `output.go`);
//! * grype (github.com/anchore/grype at 4562c55): its README, the examples `grype --help`
//!   prints (`cmd/grype/cli/commands/root.go`), its flags (`cmd/grype/cli/options/grype.go`)
//!   and its ignore rules (`grype/match/ignore.go`, README "Specifying matches to ignore").
//!
//! Outputs are checked against the peers' own schemas and validators: syft's JSON schema
//! 16.1.13 (copied into tests/dropin/syft with syft's licence), the SARIF 2.1.0 schema
//! (tests/dropin/sarif, OASIS), CycloneDX 1.6 JSON and XML through cyclonedx-python-lib,
//! SPDX through spdx-tools; and against syft's own output on the same image.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::text;
use vouch_testkit::{RegistryServer, peer_tool, require_tool, run, umoci_image, venv_tool};

const STATUS: &[u8] = b"Package: libc6\nStatus: install ok installed\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u10\nDepends: libgcc-s1\n\nPackage: libgcc-s1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12\nVersion: 12.2.0-14+deb12u1\n";
const OS_RELEASE: &[u8] =
    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
const JINJA: &[u8] =
    b"Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.11.2\nLicense: BSD-3-Clause\n";
const PYYAML: &[u8] = b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3.1\nLicense: MIT\n";
const LEFTPAD: &[u8] = br#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#;

fn files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("etc/os-release", OS_RELEASE),
        ("var/lib/dpkg/status", STATUS),
        (
            "usr/lib/python3/dist-packages/Jinja2-2.11.2.dist-info/METADATA",
            JINJA,
        ),
        (
            "usr/lib/python3/dist-packages/PyYAML-5.3.1.dist-info/METADATA",
            PYYAML,
        ),
        ("usr/lib/node_modules/left-pad/package.json", LEFTPAD),
    ]
}

/// An OCI layout (`DIR/layout`, tag `v1`) of one layer holding [`files`], the same layout
/// as an OCI archive (`DIR/image.tar`, made by GNU tar), and the files as a directory
/// (`DIR/root`).
struct Fixture {
    dir: tempfile::TempDir,
    layout: PathBuf,
    archive: PathBuf,
    root: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(dir.path(), "v1", &[&files()]);
    let archive = dir.path().join("image.tar");
    run(Command::new(require_tool("tar"))
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&archive)
        .arg("."));
    let root = dir.path().join("root");
    for (p, b) in files() {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, b).unwrap();
    }
    std::fs::write(root.join("requirements.txt"), b"requests==2.31.0\n").unwrap();
    Fixture {
        dir,
        layout,
        archive,
        root,
    }
}

/// `vouch ARGS` in `cwd`, with HOME and XDG_CONFIG_HOME there too (no ~/.grype.yaml of the
/// machine's) and `VOUCH_DB` set when given.
fn vouch_in(cwd: &Path, db: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = common::vouch_cmd(args);
    cmd.current_dir(cwd)
        .env("HOME", cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".config"));
    if let Some(db) = db {
        cmd.env("VOUCH_DB", db);
    }
    cmd.output().unwrap()
}

fn ok_in(cwd: &Path, db: Option<&Path>, args: &[&str]) -> String {
    let out = vouch_in(cwd, db, args);
    common::check_ok(&out, args)
}

fn validate(kind: &str, file: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dropin/validate.py");
    let out = Command::new(venv_tool("python3"))
        .arg(script)
        .arg(kind)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind} validation of {} failed:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .chars()
            .take(3000)
            .collect::<String>()
    );
}

fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// (name, version, type) of every artifact of a syft JSON document.
fn syft_packages(doc: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_lowercase(),
                a["version"].as_str().unwrap().to_owned(),
                a["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn syft(args: &[&str]) -> String {
    let out = Command::new(peer_tool("syft"))
        .args(args)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "syft {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// ---------------------------------------------------------------------------------------
// syft
// ---------------------------------------------------------------------------------------

/// syft README: `syft <image> -o spdx-json=./spdx.json -o cyclonedx-json=./cdx.json`, and
/// `syft scan --help`: `registry:yourrepo/yourimage:tag`. Every format at once from an
/// image in a registry, each validated by the peer's validator.
#[test]
fn registry_image_to_every_syft_format() {
    let f = fixture();
    let registry = RegistryServer::start();
    let dst = format!("{}/dropin/app:v1", registry.host);
    ok_in(
        f.dir.path(),
        None,
        &[
            "image",
            "copy",
            &format!("oci:{}:v1", f.layout.display()),
            &dst,
        ],
    );
    let d = f.dir.path();
    let out = |n: &str| d.join(n).display().to_string();
    let stdout = ok_in(
        d,
        None,
        &[
            "sbom",
            &format!("registry:{dst}"),
            "-o",
            &format!("spdx-json={}", out("sbom.spdx.json")),
            "-o",
            &format!("cyclonedx-json={}", out("sbom.cdx.json")),
            "-o",
            &format!("syft-json={}", out("sbom.syft.json")),
            "-o",
            &format!("spdx-tag-value={}", out("sbom.spdx")),
            "-o",
            &format!("cyclonedx-xml={}", out("sbom.cdx.xml")),
            "-o",
            &format!("github-json={}", out("sbom.github.json")),
            "-o",
            "purls",
        ],
    );
    validate("spdx", &d.join("sbom.spdx.json"));
    validate("spdx", &d.join("sbom.spdx"));
    validate("cdx-json", &d.join("sbom.cdx.json"));
    validate("cdx-xml", &d.join("sbom.cdx.xml"));
    validate("syft-json", &d.join("sbom.syft.json"));
    let syft_doc = json_file(&d.join("sbom.syft.json"));
    assert_eq!(syft_doc["schema"]["version"], "16.1.13");
    assert_eq!(syft_doc["source"]["type"], "image");
    assert_eq!(syft_doc["distro"]["id"], "debian");
    let libc = syft_doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "libc6")
        .unwrap();
    assert_eq!(libc["metadataType"], "dpkg-db-entry");
    assert_eq!(libc["metadata"]["source"], "glibc");
    assert!(
        libc["locations"][0]["layerID"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // The same packages in every format.
    let purls: BTreeSet<&str> = stdout.lines().collect();
    assert_eq!(purls.len(), 5, "{stdout}");
    let tv = std::fs::read_to_string(d.join("sbom.spdx")).unwrap();
    let xml = std::fs::read_to_string(d.join("sbom.cdx.xml")).unwrap();
    for p in &purls {
        assert!(
            tv.contains(&format!("ExternalRef: PACKAGE-MANAGER purl {p}")),
            "{p}"
        );
        assert!(
            xml.contains(&format!("<purl>{}</purl>", p.replace('&', "&amp;"))),
            "{p}"
        );
    }
    assert!(tv.contains("Relationship: SPDXRef-DOCUMENT DESCRIBES "));
    // GitHub snapshot: one manifest per evidence file, keyed by purl without qualifiers;
    // libc6 depends on libgcc-s1.
    let gh = json_file(&d.join("sbom.github.json"));
    assert_eq!(gh["version"], 0);
    let status = &gh["manifests"][format!("{dst}:/var/lib/dpkg/status")];
    assert_eq!(
        status["resolved"]["pkg:deb/debian/libc6@2.36-9%2Bdeb12u10"]["dependencies"],
        serde_json::json!(["pkg:deb/debian/libgcc-s1@12.2.0-14%2Bdeb12u1"])
    );
    assert_eq!(gh["metadata"]["syft:distro"], "pkg:generic/debian@12");
}

/// syft README ("syft <image> -o syft-json"): vouch's syft JSON of an OCI layout
/// (`oci-dir:`, `syft scan --help`) has the package set syft v1.57.2 finds in the same
/// image, and syft's own `convert` reads vouch's document back.
#[test]
fn syft_json_has_syfts_package_set_and_syft_reads_it() {
    let f = fixture();
    let d = f.dir.path();
    let src = format!("oci-dir:{}", f.layout.display());
    let ours: serde_json::Value =
        serde_json::from_str(&ok_in(d, None, &["sbom", &src, "-o", "syft-json"])).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_str(&syft(&["scan", &src, "-q", "-o", "syft-json"])).unwrap();
    assert_eq!(syft_packages(&ours), syft_packages(&theirs));
    let purls = |d: &serde_json::Value| -> BTreeSet<String> {
        d["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["purl"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(purls(&ours), purls(&theirs));
    // syft decodes vouch's syft JSON (it refuses documents it cannot identify).
    let file = d.join("ours.syft.json");
    std::fs::write(&file, serde_json::to_vec(&ours).unwrap()).unwrap();
    let back = syft(&["convert", file.to_str().unwrap(), "-q", "-o", "purls"]);
    let back: BTreeSet<String> = back.lines().map(str::to_owned).collect();
    assert_eq!(back, purls(&ours));
}

/// `syft scan --help`: `oci-archive:path/to/yourimage.tar`; and a bare tarball path
/// ("a Docker tar, OCI tar, OCI directory, ... or generic filesystem directory").
#[test]
fn oci_archive_and_bare_tarball() {
    let f = fixture();
    let d = f.dir.path();
    let a = ok_in(
        d,
        None,
        &[
            "sbom",
            &format!("oci-archive:{}", f.archive.display()),
            "-o",
            "purls",
        ],
    );
    let b = ok_in(
        d,
        None,
        &["sbom", f.archive.to_str().unwrap(), "-o", "purls"],
    );
    assert_eq!(a, b);
    assert!(a.contains("pkg:pypi/jinja2@2.11.2"), "{a}");
    assert_eq!(a.lines().count(), 5, "{a}");
    // Not an OCI archive: refused, naming what is missing.
    let bogus = d.join("bogus.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&f.root)
        .arg("-cf")
        .arg(&bogus)
        .arg("etc"));
    let out = vouch_in(
        d,
        None,
        &["sbom", &format!("oci-archive:{}", bogus.display())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no oci-layout"), "{}", text(&out));
}

/// `syft scan --help`: `dir:path/to/yourproject`; README: `syft ./my-project`. Directory
/// scans read declared packages (requirements.txt) and not installed npm packages, as syft.
#[test]
fn directories_by_scheme_and_bare_path() {
    let f = fixture();
    let d = f.dir.path();
    let a = ok_in(
        d,
        None,
        &["sbom", &format!("dir:{}", f.root.display()), "-o", "purls"],
    );
    let b = ok_in(d, None, &["sbom", "./root", "-o", "purls"]);
    assert_eq!(a, b);
    let theirs = syft(&[
        "scan",
        &format!("dir:{}", f.root.display()),
        "-q",
        "-o",
        "purls",
    ]);
    let set = |s: &str| s.lines().map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(set(&a), set(&theirs));
    assert!(a.contains("pkg:pypi/requests@2.31.0"), "{a}");
}

/// `syft scan --help`: `file:path/to/yourproject/file` - one file, at `/NAME`, versioned
/// by its digest as syft does.
#[test]
fn single_file_source() {
    let f = fixture();
    let d = f.dir.path();
    let path = f.root.join("requirements.txt");
    let doc: serde_json::Value = serde_json::from_str(&ok_in(
        d,
        None,
        &[
            "sbom",
            &format!("file:{}", path.display()),
            "-o",
            "syft-json",
        ],
    ))
    .unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&syft(&[
        "scan",
        &format!("file:{}", path.display()),
        "-q",
        "-o",
        "syft-json",
    ]))
    .unwrap();
    assert_eq!(syft_packages(&doc), syft_packages(&theirs));
    assert_eq!(
        doc["artifacts"][0]["locations"][0]["path"],
        theirs["artifacts"][0]["locations"][0]["path"]
    );
    assert_eq!(doc["source"]["version"], theirs["source"]["version"]);
    assert_eq!(doc["source"]["name"], "requirements.txt");
}

/// `syft scan --help`: `docker:yourrepo/yourimage:tag` needs a daemon vouch does not use:
/// refused with the spellings that work.
#[test]
fn daemon_sources_are_refused_with_a_hint() {
    let d = tempfile::tempdir().unwrap();
    let out = vouch_in(d.path(), None, &["sbom", "docker:yourrepo/yourimage:tag"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("registry:REF"), "{}", text(&out));
}

/// `syft scan --help`: `-o cyclonedx` (XML), `-o spdx` (tag-value), `-o spdx-json`; and
/// `-o spdx@2.2`, a version vouch does not write, refused naming the formats.
#[test]
fn syft_format_aliases() {
    let f = fixture();
    let d = f.dir.path();
    let src = format!("oci:{}:v1", f.layout.display());
    let xml = ok_in(d, None, &["sbom", &src, "-o", "cyclonedx"]);
    assert!(xml.starts_with("<?xml"), "{xml}");
    std::fs::write(d.join("a.xml"), &xml).unwrap();
    validate("cdx-xml", &d.join("a.xml"));
    let tv = ok_in(d, None, &["sbom", &src, "-o", "spdx"]);
    assert!(tv.starts_with("SPDXVersion: SPDX-2.3\n"), "{tv}");
    std::fs::write(d.join("a.spdx"), &tv).unwrap();
    validate("spdx", &d.join("a.spdx"));
    let out = vouch_in(d, None, &["sbom", &src, "-o", "spdx@2.2"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).contains("spdx-tag-value"), "{}", text(&out));
}

/// syft's `--exclude` (options/catalog.go: "exclude paths from being scanned using a glob
/// expression"): absolute paths in an image; `./`-relative for a directory, where other
/// patterns are refused as syft refuses them.
#[test]
fn exclude_globs_as_syft() {
    let f = fixture();
    let d = f.dir.path();
    let src = format!("oci-dir:{}", f.layout.display());
    let ours = ok_in(
        d,
        None,
        &[
            "sbom",
            &src,
            "--exclude",
            "/usr/lib/python3/**",
            "-o",
            "purls",
        ],
    );
    let theirs = syft(&[
        "scan",
        &src,
        "-q",
        "--exclude",
        "/usr/lib/python3/**",
        "-o",
        "purls",
    ]);
    let set = |s: &str| s.lines().map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(set(&ours), set(&theirs));
    assert!(!ours.contains("pypi"), "{ours}");
    assert!(ours.contains("pkg:deb/debian/libc6"), "{ours}");
    // A pattern covers what lies below a directory it matches.
    let ours = ok_in(
        d,
        None,
        &["sbom", &src, "--exclude", "/var/lib/dpkg", "-o", "purls"],
    );
    assert!(!ours.contains("pkg:deb"), "{ours}");

    let dir = format!("dir:{}", f.root.display());
    let ours = ok_in(
        d,
        None,
        &[
            "sbom",
            &dir,
            "--exclude",
            "./requirements.txt",
            "-o",
            "purls",
        ],
    );
    let theirs = syft(&[
        "scan",
        &dir,
        "-q",
        "--exclude",
        "./requirements.txt",
        "-o",
        "purls",
    ]);
    assert_eq!(set(&ours), set(&theirs));
    assert!(!ours.contains("requests"), "{ours}");
    let out = vouch_in(d, None, &["sbom", &dir, "--exclude", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("must start with one of"),
        "{}",
        text(&out)
    );
}

/// syft's `--source-name` and `--source-version`.
#[test]
fn source_name_and_version() {
    let f = fixture();
    let d = f.dir.path();
    let src = format!("oci:{}:v1", f.layout.display());
    let args = [
        "sbom",
        &src,
        "--source-name",
        "acme-api",
        "--source-version",
        "1.2.3",
        "-o",
        "syft-json",
    ];
    let doc: serde_json::Value = serde_json::from_str(&ok_in(d, None, &args)).unwrap();
    assert_eq!(doc["source"]["name"], "acme-api");
    assert_eq!(doc["source"]["version"], "1.2.3");
    let spdx: serde_json::Value = serde_json::from_str(&ok_in(
        d,
        None,
        &[
            "sbom",
            &src,
            "--source-name",
            "acme-api",
            "--source-version",
            "1.2.3",
            "-o",
            "spdx-json",
        ],
    ))
    .unwrap();
    assert_eq!(spdx["name"], "acme-api");
    assert_eq!(spdx["packages"][0]["name"], "acme-api");
    assert_eq!(spdx["packages"][0]["versionInfo"], "1.2.3");
}

/// `syft convert --help`: `syft convert img.syft.json -o spdx-json`,
/// `syft convert img.syft.json -o cyclonedx-json=img.cdx.json`, `syft convert - -o
/// spdx-json`: from syft's own syft JSON, the packages survive.
#[test]
fn convert_as_syft_convert() {
    let f = fixture();
    let d = f.dir.path();
    let img = d.join("img.syft.json");
    std::fs::write(
        &img,
        syft(&[
            "scan",
            &format!("oci-dir:{}", f.layout.display()),
            "-q",
            "-o",
            "syft-json",
        ]),
    )
    .unwrap();
    let spdx = ok_in(
        d,
        None,
        &["sbom", "convert", "img.syft.json", "-o", "spdx-json"],
    );
    std::fs::write(d.join("img.spdx.json"), &spdx).unwrap();
    validate("spdx", &d.join("img.spdx.json"));
    ok_in(
        d,
        None,
        &[
            "sbom",
            "convert",
            "img.syft.json",
            "-o",
            "cyclonedx-json=img.cdx.json",
        ],
    );
    validate("cdx-json", &d.join("img.cdx.json"));
    let cdx = json_file(&d.join("img.cdx.json"));
    let names: BTreeSet<&str> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "library")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["jinja2", "left-pad", "libc6", "libgcc-s1", "pyyaml"])
    );
    let mut cmd = common::vouch_cmd(&["sbom", "convert", "-", "-o", "purls"]);
    let child = cmd
        .current_dir(d)
        .stdin(std::fs::File::open(&img).unwrap())
        .output()
        .unwrap();
    let purls = common::check_ok(&child, &["sbom", "convert", "-"]);
    assert_eq!(purls.lines().count(), 5, "{purls}");
    // Not an SBOM: the error says what convert reads.
    std::fs::write(d.join("x.json"), b"{\"hello\": 1}").unwrap();
    let out = vouch_in(d, None, &["sbom", "convert", "x.json", "-o", "spdx-json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("syft JSON"), "{}", text(&out));
}

// ---------------------------------------------------------------------------------------
// grype
// ---------------------------------------------------------------------------------------

fn advisories(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vuln/tests/data")
        .join(rel)
        .display()
        .to_string()
}

/// The PyPA jinja2/pyyaml records, a GHSA record for the jinja2 CVE with a CVSS vector, and
/// an npm advisory for left-pad with no fixed version.
fn database(d: &Path) -> PathBuf {
    let db = d.join("vuln.db");
    let ghsa = d.join("GHSA-g3rq-g295-4j3m.json");
    std::fs::write(
        &ghsa,
        r#"{"id": "GHSA-g3rq-g295-4j3m", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2020-28493"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Jinja2"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}]}]}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}]}"#,
    )
    .unwrap();
    let npm = d.join("GHSA-leftpad.json");
    std::fs::write(
        &npm,
        r#"{"id": "GHSA-xxxx-left-padx", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2099-0001"],
            "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#,
    )
    .unwrap();
    ok_in(
        d,
        Some(&db),
        &[
            "db",
            "import",
            &advisories("pypa/vulns/jinja2"),
            &advisories("pypa/vulns/pyyaml"),
            ghsa.to_str().unwrap(),
            npm.to_str().unwrap(),
        ],
    );
    db
}

fn ids(report: &serde_json::Value, open: bool) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed").is_none() == open)
        .map(|f| {
            format!(
                "{}:{}",
                f["package"]["name"].as_str().unwrap(),
                f["id"].as_str().unwrap()
            )
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// grype README: `grype sbom:./sbom.json`; `grype --help`: `grype sbom:path/to/syft.json`
/// with vouch's syft JSON, and `syft yourimage:tag -o json | grype` as
/// `vouch sbom … -o syft-json | vouch scan -`.
#[test]
fn sbom_prefix_and_syft_json_from_a_pipe() {
    let f = fixture();
    let d = f.dir.path();
    let db = database(d);
    ok_in(
        d,
        None,
        &[
            "sbom",
            &format!("oci-dir:{}", f.layout.display()),
            "-o",
            "syft-json=sbom.json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&ok_in(
        d,
        Some(&db),
        &["scan", "sbom:./sbom.json", "-o", "json"],
    ))
    .unwrap();
    let all = set(&[
        "jinja2:GHSA-g3rq-g295-4j3m",
        "pyyaml:PYSEC-2021-142",
        "left-pad:GHSA-xxxx-left-padx",
    ]);
    assert_eq!(ids(&report, true), all);
    // The locations came from the syft JSON.
    let jinja = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["package"]["name"] == "jinja2")
        .unwrap();
    assert_eq!(
        jinja["package"]["locations"][0],
        "/usr/lib/python3/dist-packages/Jinja2-2.11.2.dist-info/METADATA"
    );
    let mut cmd = common::vouch_cmd(&["scan", "-", "-o", "json"]);
    let piped = cmd
        .current_dir(d)
        .env("VOUCH_DB", &db)
        .env("HOME", d)
        .stdin(std::fs::File::open(d.join("sbom.json")).unwrap())
        .output()
        .unwrap();
    let piped: serde_json::Value =
        serde_json::from_str(&common::check_ok(&piped, &["scan", "-"])).unwrap();
    assert_eq!(ids(&piped, true), all);
    // A file that is not there is an error naming it.
    let out = vouch_in(d, Some(&db), &["scan", "sbom:./missing.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("missing.json"), "{}", text(&out));
}

/// grype's `-o sarif`, `-o cyclonedx`, `-o cyclonedx-json`, `-o table`, `-o json=FILE`
/// (options/grype.go `output`), on an image named as `grype --help` names them
/// (`oci-archive:path/to/yourimage.tar`); each document checked by its schema.
#[test]
fn grype_output_formats_validate() {
    let f = fixture();
    let d = f.dir.path();
    let db = database(d);
    let src = format!("oci-archive:{}", f.archive.display());
    let table = ok_in(
        d,
        Some(&db),
        &[
            "scan",
            &src,
            "-o",
            "sarif=out.sarif",
            "-o",
            "cyclonedx=out.cdx.xml",
            "-o",
            "cyclonedx-json=out.cdx.json",
            "-o",
            "json=out.json",
            "-o",
            "table",
        ],
    );
    assert!(table.starts_with("PACKAGE"), "{table}");
    assert!(table.contains("GHSA-g3rq-g295-4j3m"), "{table}");
    validate("sarif", &d.join("out.sarif"));
    validate("cdx-xml", &d.join("out.cdx.xml"));
    validate("cdx-json", &d.join("out.cdx.json"));
    let sarif = json_file(&d.join("out.sarif"));
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
    let xml = std::fs::read_to_string(d.join("out.cdx.xml")).unwrap();
    assert_eq!(xml.matches("<vulnerability ").count(), 3, "{xml}");
    assert!(xml.contains("<id>GHSA-g3rq-g295-4j3m</id>"), "{xml}");
    assert_eq!(ids(&json_file(&d.join("out.json")), true).len(), 3);
    // A grype format vouch does not write is refused.
    let out = vouch_in(d, Some(&db), &["scan", &src, "-o", "template"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("sarif"), "{}", text(&out));
}

/// grype's `--only-fixed`, `--only-notfixed`, `--ignore-states` and `--by-cve`
/// (options/grype.go), on a directory named as `grype --help` names it
/// (`dir:path/to/yourproject`).
#[test]
fn fix_state_flags_and_by_cve() {
    let f = fixture();
    let d = f.dir.path();
    let db = database(d);
    // The image: its package.json is an installed npm package (a directory scan, as in
    // syft, reads only lock files for npm).
    let src = format!("oci-dir:{}", f.layout.display());
    let scan = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["scan", src.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok_in(d, Some(&db), &args)).unwrap()
    };
    let fixed = set(&["jinja2:GHSA-g3rq-g295-4j3m", "pyyaml:PYSEC-2021-142"]);
    let notfixed = set(&["left-pad:GHSA-xxxx-left-padx"]);
    assert_eq!(ids(&scan(&["--only-fixed"]), true), fixed);
    let r = scan(&["--only-notfixed"]);
    assert_eq!(ids(&r, true), notfixed);
    assert_eq!(ids(&r, false), fixed);
    assert_eq!(ids(&scan(&["--ignore-states", "not-fixed"]), true), fixed);
    assert_eq!(
        ids(&scan(&["--ignore-states", "fixed,wont-fix"]), true),
        notfixed
    );
    let r = scan(&["--by-cve"]);
    assert_eq!(
        ids(&r, true),
        set(&[
            "jinja2:CVE-2020-28493",
            "pyyaml:CVE-2020-14343",
            "left-pad:CVE-2099-0001"
        ])
    );
    // A suppressed high finding does not fail --fail-on.
    let out = vouch_in(d, Some(&db), &["scan", &src, "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = vouch_in(
        d,
        Some(&db),
        &["scan", &src, "--fail-on", "high", "--only-fixed"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = vouch_in(d, Some(&db), &["scan", &src, "--ignore-states", "maybe"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // grype dir: source.
    let r: serde_json::Value = serde_json::from_str(&ok_in(
        d,
        Some(&db),
        &["scan", &format!("dir:{}", f.root.display()), "-o", "json"],
    ))
    .unwrap();
    assert!(ids(&r, true).contains("jinja2:GHSA-g3rq-g295-4j3m"));
}

/// grype's `.grype.yaml` ignore rules, as its README documents them ("Specifying matches
/// to ignore": vulnerability, fix-state, package name/version/type/location) and
/// `grype/match/ignore.go` evaluates them; read from the working directory, or `-c FILE`.
#[test]
fn grype_yaml_ignore_rules() {
    let f = fixture();
    let d = f.dir.path();
    let db = database(d);
    let src = format!("oci-dir:{}", f.layout.display());
    let scan = |cwd: &Path, extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["scan", src.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok_in(cwd, Some(&db), &args)).unwrap()
    };
    let work = d.join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join(".grype.yaml"),
        r#"
ignore:
  # the README's first example: a vulnerability on any package
  - vulnerability: CVE-2020-28493
    include-aliases: true
    reason: templates are not user supplied
  # by fix state and package type
  - fix-state: not-fixed
    package:
      type: npm
  # by location (a doublestar glob) and version: matches nothing (wrong version)
  - package:
      location: "/usr/lib/python3/**"
      version: "0.0.1"
"#,
    )
    .unwrap();
    let r = scan(&work, &[]);
    assert_eq!(ids(&r, true), set(&["pyyaml:PYSEC-2021-142"]));
    let sup = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["package"]["name"] == "jinja2")
        .unwrap();
    assert_eq!(
        sup["suppressed"]["reason"],
        "templates are not user supplied"
    );
    // The same rules through -c, from another directory; package name + location.
    let other = d.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        d.join("rules.yaml"),
        "ignore:\n  - package:\n      name: pyyaml\n      location: \"/usr/lib/python3/**\"\n",
    )
    .unwrap();
    let rules = d.join("rules.yaml").display().to_string();
    let r = scan(&other, &["-c", &rules]);
    assert_eq!(
        ids(&r, true),
        set(&["jinja2:GHSA-g3rq-g295-4j3m", "left-pad:GHSA-xxxx-left-padx"])
    );
    // Without include-aliases a CVE rule does not reach a GHSA finding (grype's rule).
    std::fs::write(
        d.join("noalias.yaml"),
        "ignore:\n  - vulnerability: CVE-2020-28493\n",
    )
    .unwrap();
    let r = scan(&other, &["-c", d.join("noalias.yaml").to_str().unwrap()]);
    assert_eq!(ids(&r, true).len(), 3);
    // Settings grype reads from the file: fail-on-severity and only-fixed.
    std::fs::write(other.join(".grype.yaml"), "fail-on-severity: high\n").unwrap();
    let out = vouch_in(&other, Some(&db), &["scan", &src]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    std::fs::write(
        other.join(".grype.yaml"),
        "fail-on-severity: high\nonly-fixed: true\n",
    )
    .unwrap();
    let out = vouch_in(&other, Some(&db), &["scan", &src]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// What vouch cannot evaluate in a grype configuration fails loading (exit 1, the key
/// named) instead of silently ignoring more or less than grype would.
#[test]
fn grype_yaml_refuses_what_it_cannot_evaluate() {
    let f = fixture();
    let d = f.dir.path();
    let db = database(d);
    let src = format!("oci-dir:{}", f.layout.display());
    for (yaml, names) in [
        (
            "ignore:\n  - vulnerability: CVE-1\n    namespace: nvd:cpe\n",
            "ignore[0].namespace",
        ),
        (
            "ignore:\n  - vex-status: not_affected\n",
            "ignore[0].vex-status",
        ),
        ("ignore:\n  - fix-state: someday\n", "ignore[0].fix-state"),
        (
            "ignore:\n  - package:\n      name: \"foo(\"\n",
            "ignore[0].package.name",
        ),
        ("db:\n  max-allowed-built-age: 1h\n", "db"),
        ("fail-on-severity: severe\n", "fail-on-severity"),
    ] {
        std::fs::write(d.join(".grype.yaml"), yaml).unwrap();
        let out = vouch_in(d, Some(&db), &["scan", &src]);
        assert_eq!(out.status.code(), Some(1), "{yaml}: {}", text(&out));
        assert!(text(&out).contains(names), "{yaml}: {}", text(&out));
    }
}

/// Every format added here, and `sbom convert`, into a stdout nobody reads (`| head -c1`):
/// exit 0, no panic (issue #20 item 2, for the new outputs).
#[test]
fn new_outputs_into_a_closed_pipe() {
    let f = fixture();
    let d = f.dir.path();
    let db = database(d);
    let closed = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = common::vouch_cmd(args)
            .current_dir(d)
            .env("HOME", d)
            .env("VOUCH_DB", &db)
            .stdout(std::process::Stdio::from(writer))
            .output()
            .unwrap();
        assert!(!text(&out).contains("panicked"), "{args:?}: {}", text(&out));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    };
    let src = format!("oci-dir:{}", f.layout.display());
    for fmt in [
        "syft-json",
        "spdx-tag-value",
        "cyclonedx-xml",
        "github-json",
        "purls",
    ] {
        closed(&["sbom", &src, "-o", fmt]);
    }
    ok_in(d, None, &["sbom", &src, "-o", "syft-json=s.json"]);
    closed(&["sbom", "convert", "s.json", "-o", "spdx-tag-value"]);
    for fmt in ["sarif", "cyclonedx", "cyclonedx-json", "table", "json"] {
        closed(&["scan", "sbom:s.json", "-o", fmt]);
    }
}
