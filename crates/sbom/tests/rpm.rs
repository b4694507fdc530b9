//! rpm's older package databases, made here from real packages: `rpmbuild` builds three
//! RPMs, `rpm --justdb` installs them into a SQLite rpmdb, and their header blobs are
//! written
//! * into a Berkeley DB hash `Packages` by Berkeley DB's own `db5.3_load` (rpm's read-only
//!   `bdb_ro` backend must list the packages from it before vouch is asked), and
//! * into an NDB `Packages.db` laid out as rpm's `lib/backend/ndb/rpmpkg.c` writes it
//!   (Debian's rpm has no NDB backend to write one; syft's reader, go-rpmdb, is the
//!   independent check).
//!
//! vouch must list exactly the packages rpm lists, and agree with syft.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use vouch_sbom::PackageType;
use vouch_testkit::{require_tool, run};

/// (name, version, release, epoch, licence, arch)
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    Option<u32>,
    &'static str,
    &'static str,
);
const PACKAGES: &[Spec] = &[
    ("vouch-hello", "1.2.3", "4.el7", None, "MIT", "x86_64"),
    (
        "vouch-world",
        "2.0",
        "1.el7",
        Some(3),
        "GPL-2.0-or-later",
        "x86_64",
    ),
    ("vouch-docs", "0.9", "2", None, "CC-BY-4.0", "noarch"),
];

/// Builds the packages and installs them into a SQLite rpmdb; returns the header blobs
/// (instance number, blob) and the `rpm -qa` lines.
fn headers(dir: &Path) -> (Vec<(u32, Vec<u8>)>, BTreeSet<String>) {
    require_tool("rpmbuild");
    require_tool("rpm");
    let top = dir.join("rpmbuild");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    for (name, version, release, epoch, license, arch) in PACKAGES {
        let epoch = epoch.map(|e| format!("Epoch: {e}\n")).unwrap_or_default();
        let spec = format!(
            "Name: {name}\nVersion: {version}\nRelease: {release}\n{epoch}\
             Summary: vouch test package\nLicense: {license}\nVendor: Vouch Test Vendor\n\
             BuildArch: {arch}\n%description\nA package for vouch's rpmdb tests.\n\
             %install\nmkdir -p %{{buildroot}}/usr/share/{name}\n\
             echo {name} > %{{buildroot}}/usr/share/{name}/README\n\
             %files\n/usr/share/{name}/README\n"
        );
        let path = top.join("SPECS").join(format!("{name}.spec"));
        std::fs::write(&path, spec).unwrap();
        run(Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .args(["--define", "__os_install_post %{nil}"])
            .args(["--define", "debug_package %{nil}"])
            .arg("-bb")
            .arg(&path));
    }
    let rpms: Vec<_> = walk(&top.join("RPMS"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rpm"))
        .collect();
    assert_eq!(rpms.len(), PACKAGES.len());
    let db = dir.join("sqlite-db");
    std::fs::create_dir_all(&db).unwrap();
    run(Command::new("rpm").arg("--dbpath").arg(&db).arg("--initdb"));
    run(Command::new("rpm")
        .arg("--dbpath")
        .arg(&db)
        .args(["-i", "--nodeps", "--justdb", "--ignorearch", "--ignoreos"])
        .args(&rpms));
    let qa = rpm_qa(&db, None);
    let conn = rusqlite::Connection::open(db.join("rpmdb.sqlite")).unwrap();
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages").unwrap();
    let blobs = stmt
        .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (blobs, qa)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// `NAME EPOCH VERSION-RELEASE ARCH` for every package rpm finds in `db`.
fn rpm_qa(db: &Path, backend: Option<&str>) -> BTreeSet<String> {
    let mut cmd = Command::new("rpm");
    if let Some(b) = backend {
        cmd.arg("--define").arg(format!("_db_backend {b}"));
    }
    let out = run(cmd.arg("--dbpath").arg(db).args([
        "-qa",
        "--qf",
        "%{NAME} %{EPOCH} %{VERSION}-%{RELEASE} %{ARCH}\\n",
    ]));
    out.lines().map(str::to_owned).collect()
}

/// The same lines from vouch's packages.
fn vouch_qa(root: &Path) -> BTreeSet<String> {
    let sbom = vouch(&format!("dir:{}", root.display()));
    assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
    sbom.packages
        .iter()
        .filter(|p| p.kind == PackageType::Rpm)
        .map(|p| {
            let (epoch, vr) = match p.version.split_once(':') {
                Some((e, vr)) => (e.to_owned(), vr.to_owned()),
                None => ("(none)".to_owned(), p.version.clone()),
            };
            format!(
                "{} {epoch} {vr} {}",
                p.name,
                p.arch.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// A Berkeley DB hash database in `db5.3_dump`'s byte-value format, loaded by
/// `db5.3_load`: key = instance number (native order, as rpm writes it), value = header;
/// instance 0 holds the next free instance number, as in rpm's own databases.
fn write_bdb(path: &Path, blobs: &[(u32, Vec<u8>)]) {
    require_tool("db5.3_load");
    let mut dump =
        String::from("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=4096\nHEADER=END\n");
    let next = blobs.iter().map(|b| b.0).max().unwrap_or(0) + 1;
    let mut pair = |k: u32, v: &[u8]| {
        dump.push_str(&format!(
            " {}\n {}\n",
            hex::encode(k.to_le_bytes()),
            hex::encode(v)
        ));
    };
    pair(0, &next.to_le_bytes());
    for (k, v) in blobs {
        pair(*k, v);
    }
    dump.push_str("DATA=END\n");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let dump_path = path.with_extension("dump");
    std::fs::write(&dump_path, dump).unwrap();
    run(Command::new("db5.3_load")
        .arg("-f")
        .arg(&dump_path)
        .arg(path));
    std::fs::remove_file(dump_path).unwrap();
}

/// An NDB `Packages.db` as rpm 4.16+ writes it (`lib/backend/ndb/rpmpkg.c`): one slot page
/// (the 32-byte header in its first two slots), then each blob at a 16-byte block offset
/// with its head (`BlbS`, index, generation, length) and tail (Adler-32, length, `BlbE`).
fn write_ndb(path: &Path, blobs: &[(u32, Vec<u8>)]) {
    let mut slots = Vec::new();
    let mut data = Vec::new();
    let base = 4096usize; // blobs follow the single slot page
    for (index, blob) in blobs {
        let offset = base + data.len();
        let mut head = Vec::new();
        head.extend(b"BlbS");
        head.extend(index.to_le_bytes());
        head.extend(0u32.to_le_bytes());
        head.extend((blob.len() as u32).to_le_bytes());
        let adler = adler32(&[&head, blob]);
        data.extend(&head);
        data.extend(blob);
        data.extend(adler.to_le_bytes());
        data.extend((blob.len() as u32).to_le_bytes());
        data.extend(b"BlbE");
        while data.len() % 16 != 0 {
            data.push(0);
        }
        let blocks = (base + data.len() - offset) / 16;
        slots.push((*index, (offset / 16) as u32, blocks as u32));
    }
    let mut out = Vec::new();
    out.extend(b"RpmP");
    out.extend(0u32.to_le_bytes()); // version
    out.extend(1u32.to_le_bytes()); // generation
    out.extend(1u32.to_le_bytes()); // slot pages
    out.extend([0u8; 16]);
    for s in 2..256 {
        let (index, offset, count) = slots.get(s - 2).copied().unwrap_or((0, 0, 0));
        out.extend(b"Slot");
        out.extend(index.to_le_bytes());
        out.extend(offset.to_le_bytes());
        out.extend(count.to_le_bytes());
    }
    assert_eq!(out.len(), base);
    out.extend(data);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, out).unwrap();
}

/// RFC 1950 Adler-32 over the concatenated parts.
fn adler32(parts: &[&[u8]]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for p in parts {
        for &c in *p {
            a = (a + u32::from(c)) % 65521;
            b = (b + a) % 65521;
        }
    }
    (b << 16) | a
}

fn os_release(root: &Path, text: &str) {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), text).unwrap();
}

#[test]
fn berkeley_db_and_ndb_databases_list_what_rpm_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let (blobs, installed) = headers(tmp.path());
    assert_eq!(installed.len(), PACKAGES.len(), "{installed:?}");

    // CentOS 7: Berkeley DB at var/lib/rpm/Packages.
    let centos = tmp.path().join("centos");
    write_bdb(&centos.join("var/lib/rpm/Packages"), &blobs);
    os_release(
        &centos,
        "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n",
    );
    assert_eq!(
        rpm_qa(&centos.join("var/lib/rpm"), Some("bdb_ro")),
        installed,
        "rpm reads the Berkeley DB database back"
    );
    assert_eq!(vouch_qa(&centos), installed);

    // SLE 15: NDB at usr/lib/sysimage/rpm/Packages.db.
    let sles = tmp.path().join("sles");
    write_ndb(&sles.join("usr/lib/sysimage/rpm/Packages.db"), &blobs);
    os_release(
        &sles,
        "NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\nID=\"sles\"\nID_LIKE=\"suse\"\n",
    );
    assert_eq!(vouch_qa(&sles), installed);

    for (root, ns) in [(&centos, "centos"), (&sles, "sles")] {
        let input = format!("dir:{}", root.display());
        let sbom = vouch(&input);
        let world = sbom
            .packages
            .iter()
            .find(|p| p.name == "vouch-world")
            .unwrap();
        assert_eq!(world.version, "3:2.0-1.el7");
        assert_eq!(world.licenses, vec!["GPL-2.0-or-later".to_owned()]);
        let purl = world.purl.as_deref().unwrap();
        assert!(
            purl.starts_with(&format!("pkg:rpm/{ns}/vouch-world@2.0-1.el7?arch=x86_64")),
            "{purl}"
        );
        assert!(purl.contains("epoch=3"), "{purl}");
        assert!(
            purl.contains("upstream=vouch-world-2.0-1.el7.src.rpm"),
            "{purl}"
        );
        let report = assert_agreement(&sbom, &syft(&input), |_, _| None);
        assert_eq!(
            report.get("rpm"),
            Some(&(PACKAGES.len(), PACKAGES.len(), PACKAGES.len())),
            "{ns}: every package in common with syft"
        );
    }
}

#[test]
fn damaged_databases_are_warnings_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (blobs, _) = headers(tmp.path());
    let good = tmp.path().join("good");
    write_bdb(&good.join("var/lib/rpm/Packages"), &blobs);
    write_ndb(&good.join("usr/lib/sysimage/rpm/Packages.db"), &blobs);
    for (rel, name) in [
        ("var/lib/rpm/Packages", "Berkeley DB"),
        ("usr/lib/sysimage/rpm/Packages.db", "NDB"),
    ] {
        let bytes = std::fs::read(good.join(rel)).unwrap();
        for cut in [0, 100, 4096, bytes.len() / 2, bytes.len() - 1] {
            let root = tmp.path().join(format!("cut-{cut}"));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            std::fs::write(root.join(rel), &bytes[..cut]).unwrap();
            let sbom = vouch(&format!("dir:{}", root.display()));
            assert!(
                sbom.warnings
                    .iter()
                    .any(|w| w.path == format!("/{rel}") && w.message.contains(name)),
                "{rel} cut at {cut}: {:#?}",
                sbom.warnings
            );
        }
    }
}

/// Randomly damaged databases (bytes overwritten in the metadata, slot and overflow pages)
/// never panic: each run yields an SBOM, with a warning naming the file when it cannot be
/// read.
#[test]
fn mutated_databases_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let (blobs, _) = headers(tmp.path());
    let bdb_path = tmp.path().join("seed/Packages");
    write_bdb(&bdb_path, &blobs);
    let ndb_path = tmp.path().join("seed/Packages.db");
    write_ndb(&ndb_path, &blobs);
    let seeds = [
        ("var/lib/rpm/Packages", std::fs::read(&bdb_path).unwrap()),
        (
            "usr/lib/sysimage/rpm/Packages.db",
            std::fs::read(&ndb_path).unwrap(),
        ),
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..150 {
        let files: Vec<(&str, Vec<u8>)> = seeds
            .iter()
            .map(|(path, seed)| {
                let mut b = seed.clone();
                for _ in 0..1 + next() % 8 {
                    // Bias towards the first pages, where the structure is.
                    let span = if next() % 2 == 0 {
                        8192.min(b.len())
                    } else {
                        b.len()
                    };
                    let at = (next() as usize) % span;
                    b[at] = next() as u8;
                }
                (*path, b)
            })
            .collect();
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (*p, b.as_slice())).collect();
        let sbom = vouch_sbom::catalog_files(&refs).unwrap();
        for w in &sbom.warnings {
            assert!(w.path.contains("rpm/Packages"), "{w:?}");
        }
    }
}
