//! Bad input: truncated or corrupt databases, malformed manifests, binaries that are not
//! what they claim. Each broken file is a warning that names it; every other package is
//! still reported; nothing panics. The mutation test at the end feeds every parser
//! thousands of damaged variants of real inputs (a fuzz run that fits in CI).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

/// The property the fuzz targets check, run here on the mutated inputs.
#[path = "../../../fuzz/fuzz_targets/sbom_check.rs"]
mod sbom_check;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;
use vouch_sbom::{Options, PackageType, Sbom};
use vouch_testkit::{require_tool, run};

fn scan(root: &Path, catalogers: &[&str]) -> Sbom {
    let options = Options {
        catalogers: catalogers.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    vouch_sbom::generate(&format!("dir:{}", root.display()), &options).unwrap()
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn warned(sbom: &Sbom, path: &str) -> bool {
    sbom.warnings.iter().any(|w| w.path == path)
}

#[test]
fn truncated_dpkg_status_keeps_the_complete_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let names = debian_base(root, Some(20));
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    // Cut the file right after the last paragraph's Package line.
    let last = status.trim_end().rfind("\n\nPackage: ").unwrap() + 2;
    let line_end = last + status[last..].find('\n').unwrap() + 1;
    std::fs::write(root.join("var/lib/dpkg/status"), &status[..line_end]).unwrap();
    let sbom = scan(root, &[]);
    assert_eq!(
        sbom.packages
            .iter()
            .filter(|p| p.kind == PackageType::Deb)
            .count(),
        names.len() - 1
    );
    assert!(warned(&sbom, "/var/lib/dpkg/status"), "{:?}", sbom.warnings);
}

#[test]
fn malformed_manifests_are_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "app/node_modules/good/package.json",
        br#"{"name": "good", "version": "1.0.0", "license": "MIT"}"#,
    );
    write(
        root,
        "app/node_modules/bad/package.json",
        br#"{"name": "bad", "version": "#,
    );
    write(
        root,
        "site/good-1.0.dist-info/METADATA",
        b"Metadata-Version: 2.1\nName: good\nVersion: 1.0\n",
    );
    write(
        root,
        "site/bad-1.0.dist-info/METADATA",
        b"\x00\x01 this is not metadata\n",
    );
    write(
        root,
        "srv/Cargo.lock",
        b"[[package]]\nname = \"a\"\nversion = 1.0\n",
    );
    write(
        root,
        "srv/web/package-lock.json",
        b"{\"lockfileVersion\": 3",
    );
    write(
        root,
        "usr/share/java/broken-1.0.jar",
        b"PK\x03\x04 definitely not a zip",
    );
    write(
        root,
        "lib/apk/db/installed",
        b"P:musl\nV:1.2.4-r2\nA:x86_64\n\nthis line is junk\nP:zlib\n\n",
    );
    write(
        root,
        "var/lib/rpm/rpmdb.sqlite",
        b"SQLite format 3\x00 but then nothing",
    );
    write(root, "app/bin/deps/app.deps.json", b"{\"libraries\": 7}");
    write(
        root,
        "gems/specifications/x-1.0.gemspec",
        b"# no assignments at all\n",
    );
    write(
        root,
        "vendor/composer/installed.json",
        b"[{\"name\": \"novendor\", \"version\": \"1.0\"}]",
    );
    let sbom = scan(
        root,
        &[
            "javascript-package-cataloger",
            "python-installed-package-cataloger",
            "rust-cargo-lock-cataloger",
            "javascript-lock-cataloger",
            "java-archive-cataloger",
            "apk-db-cataloger",
            "rpm-db-cataloger",
            "dotnet-deps-cataloger",
            "ruby-installed-gemspec-cataloger",
            "php-composer-installed-cataloger",
        ],
    );
    for path in [
        "/app/node_modules/bad/package.json",
        "/site/bad-1.0.dist-info/METADATA",
        "/srv/Cargo.lock",
        "/srv/web/package-lock.json",
        "/usr/share/java/broken-1.0.jar",
        "/lib/apk/db/installed",
        "/var/lib/rpm/rpmdb.sqlite",
        "/app/bin/deps/app.deps.json",
        "/gems/specifications/x-1.0.gemspec",
        "/vendor/composer/installed.json",
    ] {
        assert!(
            warned(&sbom, path),
            "no warning for {path}: {:#?}",
            sbom.warnings
        );
    }
    let names: Vec<(&str, &str)> = sbom
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert!(names.contains(&("good", "1.0.0")), "{names:?}");
    assert!(names.contains(&("good", "1.0")), "{names:?}");
    assert!(names.contains(&("musl", "1.2.4-r2")), "{names:?}");
}

/// A small ELF executable (a copy of /bin/true) with extra sections added by objcopy.
fn elf_with(dir: &Path, name: &str, sections: &[(&str, &[u8])]) -> std::path::PathBuf {
    require_tool("objcopy");
    let out = dir.join(name);
    let mut cmd = Command::new("objcopy");
    for (i, (sec, data)) in sections.iter().enumerate() {
        let f = dir.join(format!("{name}-{i}.bin"));
        std::fs::write(&f, data).unwrap();
        cmd.arg("--add-section")
            .arg(format!("{sec}={}", f.display()));
    }
    run(cmd.arg("/bin/true").arg(&out));
    out
}

/// A Go 1.18+ `.go.buildinfo` section.
fn buildinfo(go: &str, modinfo: &str) -> Vec<u8> {
    let mut s = b"\xff Go buildinf:".to_vec();
    s.extend([8u8, 2]);
    s.resize(32, 0);
    for part in [go.as_bytes(), modinfo.as_bytes()] {
        let mut n = part.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                s.push(b);
                break;
            }
            s.push(b | 0x80);
        }
        s.extend(part);
    }
    s
}

#[test]
fn binaries_that_are_not_what_they_seem() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let bin = root.join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exec = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    // A plain C binary and a shell script: nothing to report, nothing to warn about.
    std::fs::copy("/bin/true", bin.join("true")).unwrap();
    let mut script = std::fs::File::create(bin.join("script")).unwrap();
    script
        .write_all(&[b"#!/bin/sh\n".as_slice(), &[b'#'; 4096]].concat())
        .unwrap();
    exec(&bin.join("script"));
    // A Go section that is garbage, a cargo-auditable section that is not zlib, and a
    // well-formed Go section for contrast.
    let bad_go = elf_with(
        tmp.path(),
        "bad-go",
        &[(
            ".go.buildinfo",
            b"\xff Go buildinf:\x08\x02 and then it stops",
        )],
    );
    let bad_rust = elf_with(tmp.path(), "bad-rust", &[(".dep-v0", b"not zlib at all")]);
    let good_go = elf_with(
        tmp.path(),
        "good-go",
        &[(
            ".go.buildinfo",
            &buildinfo(
                "go1.22.5",
                "path\texample.com/tool\nmod\texample.com/tool\tv1.4.0\t\ndep\tgolang.org/x/sys\tv0.20.0\th1:x\n",
            ),
        )],
    );
    for (src, name) in [
        (&bad_go, "bad-go"),
        (&bad_rust, "bad-rust"),
        (&good_go, "good-go"),
    ] {
        std::fs::copy(src, bin.join(name)).unwrap();
        exec(&bin.join(name));
    }
    let sbom = scan(&root, &[]);
    assert!(warned(&sbom, "/usr/bin/bad-go"), "{:#?}", sbom.warnings);
    assert!(warned(&sbom, "/usr/bin/bad-rust"), "{:#?}", sbom.warnings);
    assert!(!warned(&sbom, "/usr/bin/true") && !warned(&sbom, "/usr/bin/script"));
    let got: Vec<(&str, &str)> = sbom
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("example.com/tool", "v1.4.0"),
            ("golang.org/x/sys", "v0.20.0"),
            ("stdlib", "go1.22.5")
        ]
    );
}

/// An rpm header blob as rpm stores it in `rpmdb.sqlite`.
fn rpm_header(fields: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    let entry = |tag: u32, ty: u32, bytes: &[u8], index: &mut Vec<u8>, data: &mut Vec<u8>| {
        if ty == 4 {
            while !data.len().is_multiple_of(4) {
                data.push(0);
            }
        }
        for v in [tag, ty, data.len() as u32, 1] {
            index.extend(v.to_be_bytes());
        }
        data.extend(bytes);
    };
    for (tag, v) in fields {
        entry(*tag, 6, format!("{v}\0").as_bytes(), &mut index, &mut data);
    }
    if let Some(e) = epoch {
        entry(1003, 4, &e.to_be_bytes(), &mut index, &mut data);
    }
    let n = index.len() / 16;
    let mut out = (n as u32).to_be_bytes().to_vec();
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(index);
    out.extend(data);
    out
}

#[test]
fn rpm_sqlite_database() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "etc/os-release",
        b"NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n",
    );
    let db = root.join("var/lib/rpm/rpmdb.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
        [],
    )
    .unwrap();
    let rows = [
        rpm_header(
            &[
                (1000, "bash"),
                (1001, "5.1.8"),
                (1002, "9.el9"),
                (1022, "x86_64"),
                (1044, "bash-5.1.8-9.el9.src.rpm"),
                (1014, "GPLv3+"),
                (1011, "Red Hat, Inc."),
            ],
            None,
        ),
        rpm_header(
            &[
                (1000, "dbus-common"),
                (1001, "1.12.20"),
                (1002, "8.el9"),
                (1022, "noarch"),
                (1044, "dbus-1.12.20-8.el9.src.rpm"),
            ],
            Some(1),
        ),
        rpm_header(
            &[(1000, "gpg-pubkey"), (1001, "fd431d51"), (1002, "4ae0493b")],
            None,
        ),
        b"\x00\x00\x00\x09 truncated".to_vec(),
    ];
    for r in &rows {
        conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [r])
            .unwrap();
    }
    drop(conn);
    let sbom = scan(root, &[]);
    let got: Vec<(&str, &str, Option<&str>)> = sbom
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "bash",
                "5.1.8-9.el9",
                Some(
                    "pkg:rpm/redhat/bash@5.1.8-9.el9?arch=x86_64&distro=rhel-9.4&upstream=bash-5.1.8-9.el9.src.rpm"
                )
            ),
            (
                "dbus-common",
                "1:1.12.20-8.el9",
                Some(
                    "pkg:rpm/redhat/dbus-common@1.12.20-8.el9?arch=noarch&distro=rhel-9.4&epoch=1&upstream=dbus-1.12.20-8.el9.src.rpm"
                )
            ),
        ]
    );
    assert_eq!(sbom.packages[0].source.as_ref().unwrap().name, "bash");
    assert_eq!(sbom.packages[1].source.as_ref().unwrap().name, "dbus");
    assert_eq!(sbom.packages[0].licenses, vec!["GPL-3.0-or-later"]);
    assert!(
        warned(&sbom, "/var/lib/rpm/rpmdb.sqlite"),
        "the truncated header"
    );
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Truncates, flips bytes, duplicates or splices a slice.
    fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut b = input.to_vec();
        for _ in 0..1 + self.below(4) {
            match self.below(5) {
                0 => b.truncate(self.below(b.len() + 1)),
                1 => {
                    for _ in 0..1 + self.below(8) {
                        if !b.is_empty() {
                            let i = self.below(b.len());
                            b[i] = self.next() as u8;
                        }
                    }
                }
                2 if !b.is_empty() => {
                    let (i, j) = (self.below(b.len()), self.below(b.len()));
                    let (i, j) = (i.min(j), i.max(j));
                    let chunk = b[i..j].to_vec();
                    let at = self.below(b.len());
                    b.splice(at..at, chunk);
                }
                3 => {
                    let at = self.below(b.len() + 1);
                    b.splice(at..at, [b'\n', b'\n', 0, 0xff, b':', b'"', b'{', b'[']);
                }
                _ => b.reverse(),
            }
        }
        b
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds_dir = tmp.path().join("seeds");
    debian_base(&seeds_dir, Some(8));
    let status = std::fs::read(seeds_dir.join("var/lib/dpkg/status")).unwrap();
    let site = venv_site_packages();
    let metadata = std::fs::read_dir(&site)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".dist-info"))
        .map(|e| std::fs::read(e.path().join("METADATA")).unwrap())
        .unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let lock3 = std::fs::read(data.join("npm-lock-v3/package-lock.json")).unwrap();
    let lock1 = std::fs::read(data.join("npm-lock-v1/package-lock.json")).unwrap();
    let package_json = std::fs::read("/usr/lib/node_modules/npm/package.json").unwrap();
    let cargo_lock =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock")).unwrap();
    let cargo_lock = cargo_lock[..cargo_lock.len().min(20_000)].to_vec();
    let jar = std::fs::read("/usr/share/java/commons-io.jar").unwrap();
    let apk = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nm:Maintainer <m@example.org>\nF:lib\nR:ld-musl-x86_64.so.1\nD:so:libc.musl\n\nP:zlib\nV:1.3-r0\nA:x86_64\n".to_vec();
    let gemspec = b"Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\n  s.authors = [\"Hiroshi\".freeze]\nend\n".to_vec();
    let composer = br#"{"packages":[{"name":"monolog/monolog","version":"3.5.0","license":["MIT"],"authors":[{"name":"J","email":"j@x"}],"dist":{"url":"https://x/y.zip"}}]}"#.to_vec();
    let deps = br#"{"libraries":{"Newtonsoft.Json/13.0.3":{"type":"package"},"app/1.0.0":{"type":"project"}}}"#.to_vec();
    let go = buildinfo(
        "go1.22.5",
        "path\tx\nmod\tx\t(devel)\t\ndep\ty\tv1.0.0\th1:z\nbuild\tvcs.revision=0123456789abcdef\nbuild\tvcs.time=2024-01-02T03:04:05Z\n",
    );
    let elf = std::fs::read(elf_with(tmp.path(), "go-seed", &[(".go.buildinfo", &go)])).unwrap();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let os = b"ID=debian\nVERSION_ID=\"12\"\nID_LIKE=debian\n".to_vec();
    for _ in 0..120 {
        let files: Vec<(&str, Vec<u8>)> = vec![
            ("var/lib/dpkg/status", rng.mutate(&status)),
            (
                "var/lib/dpkg/status.d/base",
                rng.mutate(&status[..status.len().min(800)]),
            ),
            ("site/x-1.0.dist-info/METADATA", rng.mutate(&metadata)),
            ("site/y.egg-info", rng.mutate(&metadata)),
            ("app/package-lock.json", rng.mutate(&lock3)),
            ("old/package-lock.json", rng.mutate(&lock1)),
            (
                "app/node_modules/npm/package.json",
                rng.mutate(&package_json),
            ),
            ("srv/Cargo.lock", rng.mutate(&cargo_lock)),
            ("usr/share/java/commons-io-2.11.0.jar", rng.mutate(&jar)),
            ("lib/apk/db/installed", rng.mutate(&apk)),
            (
                "gems/specifications/rake-13.0.6.gemspec",
                rng.mutate(&gemspec),
            ),
            ("vendor/composer/installed.json", rng.mutate(&composer)),
            ("srv/composer.lock", rng.mutate(&composer)),
            ("app/app.deps.json", rng.mutate(&deps)),
            ("etc/os-release", rng.mutate(&os)),
            ("usr/bin/tool", rng.mutate(&elf)),
        ];
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (*p, b.as_slice())).collect();
        sbom_check::check(&refs);
    }
}
