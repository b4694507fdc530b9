//! CPE candidates against the latest syft, ecosystem by ecosystem, on real packages: this
//! machine's whole dpkg database, a Go binary's modules, a Cargo.lock's crates, the venv's
//! Python distributions, gems, npm's node_modules, Debian's Java archives (manifests,
//! pom.properties and pom.xml), RPMs built here with rpmbuild, an Alpine apk database,
//! a composer.lock and a .NET deps.json (syft's own test data, in `tests/data/syft-v1.57.2`),
//! and .NET assemblies from the venv: for every package vouch's `cpes` equal syft's, in
//! syft's order (the first is the one CycloneDX's `cpe` carries, the rest are alternates),
//! and the SPDX, CycloneDX and syft JSON documents carry all of them.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::collections::BTreeMap;

use common::*;
use vouch_sbom::PackageType;

/// Every package of `kind` (syft's type name `ty`) has the CPEs syft latest gives it, in
/// its order; returns (packages, vouch's CPEs, syft's CPEs).
fn compare(
    sbom: &vouch_sbom::Sbom,
    syft: &serde_json::Value,
    kind: PackageType,
    ty: &str,
) -> (usize, usize, usize) {
    // Several archives may share a name and version (a jar and the copy shaded into
    // another): vouch's CPEs must be those of one of syft's packages of that identity.
    let mut syft_cpes: BTreeMap<(String, String), Vec<Vec<String>>> = BTreeMap::new();
    for a in syft["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == ty)
    {
        let cpes = a["cpes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["cpe"].as_str().unwrap().to_owned())
            .collect();
        let s = |k: &str| a[k].as_str().unwrap().to_owned();
        syft_cpes
            .entry((s("name"), s("version")))
            .or_default()
            .push(cpes);
    }
    let (mut compared, mut ours, mut theirs) = (0, 0, 0);
    let mut differ = Vec::new();
    for p in sbom.packages.iter().filter(|p| p.kind == kind) {
        let candidates = syft_cpes
            .get(&(p.name.clone(), p.version.clone()))
            .unwrap_or_else(|| panic!("syft has no {ty} {} {}", p.name, p.version));
        let want = candidates
            .iter()
            .find(|w| **w == p.cpes)
            .unwrap_or(&candidates[0]);
        ours += p.cpes.len();
        theirs += want.len();
        compared += 1;
        if &p.cpes != want {
            differ.push(format!(
                "{} {}:\n  vouch {:?}\n  syft  {:?}",
                p.name, p.version, p.cpes, candidates
            ));
        }
    }
    eprintln!(
        "{ty}: {compared} packages, vouch {ours} CPEs, syft latest {theirs}, {} differ",
        differ.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    (compared, ours, theirs)
}

#[test]
fn go_module_and_crate_cpes_equal_syft_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    // A Go binary with a full module list: syft latest itself (built from the Go module
    // proxy by scripts/peers), whose modules include dictionary entries and google/golang
    // hosts.
    let bin = root.join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(vouch_testkit::peer_tool("syft"), bin.join("syft")).unwrap();
    // Crates: one from syft's dictionary (actix-http), removals (hyper, redis, phf,
    // opentelemetry), delimiters (serde_json, tokio-util).
    let mut lock = String::from("version = 3\n");
    for (name, version) in [
        ("actix-http", "3.9.0"),
        ("hyper", "1.5.1"),
        ("redis", "0.27.5"),
        ("phf", "0.11.2"),
        ("opentelemetry", "0.27.1"),
        ("serde_json", "1.0.133"),
        ("tokio-util", "0.7.13"),
    ] {
        lock.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n",
            "0".repeat(64)
        ));
    }
    std::fs::create_dir_all(root.join("src/app")).unwrap();
    std::fs::write(root.join("src/app/Cargo.lock"), lock).unwrap();
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let latest = syft_latest(&input);
    let (go, _, _) = compare(&sbom, &latest, PackageType::GoModule, "go-module");
    assert!(go > 50, "syft's modules and stdlib");
    let (crates, _, _) = compare(&sbom, &latest, PackageType::RustCrate, "rust-crate");
    assert_eq!(crates, 7);
}

#[test]
fn python_cpes_equal_syft_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    // Installed distributions (the venv's real dist-info directories: authors, author
    // e-mails, dictionary entries such as pip, jinja2, cryptography) and pinned
    // requirements (no author: name-only candidates, additions and removals).
    let installed = python_metadata(&root, "usr/lib/python3/site-packages");
    std::fs::write(
        root.join("requirements.txt"),
        "redis==5.2.1\nkubernetes==31.0.0\npython-rrdtool==1.4.7\nzope.interface==7.2\n",
    )
    .unwrap();
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let latest = syft_latest(&input);
    let (n, _, _) = compare(&sbom, &latest, PackageType::Python, "python");
    assert_eq!(n, installed + 4);
}

#[test]
fn gem_cpes_equal_syft_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let specs = root.join("var/lib/gems/3.1.0/specifications");
    std::fs::create_dir_all(&specs).unwrap();
    // (name, version, authors, homepage): ruby-lang additions, a dictionary entry, an
    // author given as an e-mail address, GitHub/GitLab owners, a product addition.
    let gems: &[(&str, &str, &str, &str)] = &[
        (
            "rake",
            "13.0.6",
            r#""Hiroshi SHIBATA".freeze, "Eric Hodel".freeze, "Jim Weirich".freeze"#,
            "https://github.com/ruby/rake",
        ),
        (
            "json",
            "2.6.3",
            r#""Florian Frank".freeze"#,
            "https://flori.github.io/json",
        ),
        (
            "actionpack",
            "7.1.3",
            r#""David Heinemeier Hansson".freeze"#,
            "https://rubyonrails.org",
        ),
        (
            "mini_portile2",
            "2.8.5",
            r#""Luis Lavena".freeze, "Mike Dalessio".freeze, "Lars Kanis".freeze"#,
            "https://github.com/flavorjones/mini_portile",
        ),
        (
            "RedCloth",
            "4.3.3",
            r#""Jason Garber".freeze, "why the lucky stiff".freeze"#,
            "https://github.com/jgarber/redcloth",
        ),
        (
            "net-http-persistent",
            "4.0.2",
            r#""drbrain@segment7.net".freeze"#,
            "https://gitlab.com/drbrain/net-http-persistent",
        ),
        ("the-gem", "0.1.0", r#""The Gem Authors".freeze"#, ""),
    ];
    for (name, version, authors, homepage) in gems {
        let homepage = if homepage.is_empty() {
            String::new()
        } else {
            format!("  s.homepage = \"{homepage}\".freeze\n")
        };
        std::fs::write(
            specs.join(format!("{name}-{version}.gemspec")),
            format!(
                "# -*- encoding: utf-8 -*-\n# stub: {name} {version} ruby lib\n\nGem::Specification.new do |s|\n  s.name = \"{name}\".freeze\n  s.version = \"{version}\"\n\n  s.require_paths = [\"lib\".freeze]\n  s.authors = [{authors}]\n{homepage}  s.licenses = [\"MIT\".freeze]\n  s.summary = \"A gem\".freeze\nend\n"
            ),
        )
        .unwrap();
    }
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let latest = syft_latest(&input);
    let (n, _, _) = compare(&sbom, &latest, PackageType::Gem, "gem");
    assert_eq!(n, gems.len());
}

#[test]
fn npm_cpes_equal_syft_latest() {
    // Installed packages (package.json with repository URLs and home pages: npm's own
    // node_modules from Debian) in an image, where syft reads package.json.
    let tmp = tempfile::tempdir().unwrap();
    let layout = image(
        tmp.path(),
        "npm",
        &[&[("/usr/lib/node_modules/npm", "/usr/lib/node_modules/npm")]],
        &[],
    );
    let sbom = vouch(&format!("oci:{}:npm", layout.display()));
    let latest = syft_latest(&format!("oci-dir:{}", layout.display()));
    let (n, _, _) = compare(&sbom, &latest, PackageType::Npm, "npm");
    assert!(n > 100, "npm's node_modules");
    // Lock file entries (name and version only) in a directory.
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/npm-lock-v2");
    let sbom = vouch(&format!("dir:{data}"));
    let latest = syft_latest(&format!("dir:{data}"));
    let (n, _, _) = compare(&sbom, &latest, PackageType::Npm, "npm");
    assert!(n > 0);
}

#[test]
fn debian_cpe_candidates_equal_syft_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let debs = debian_base(&root, None);
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let latest = syft_latest(&input);
    let (compared, ours_total, _) = compare(&sbom, &latest, PackageType::Deb, "deb");
    assert_eq!(compared, debs.len());
    assert!(ours_total > compared, "candidate sets, not one CPE each");

    // Every candidate reaches the documents: SPDX as cpe23Type references, CycloneDX the
    // first as `cpe` and the others as properties.
    let p = sbom
        .packages
        .iter()
        .find(|p| p.kind == PackageType::Deb && p.cpes.len() > 1)
        .unwrap();
    use vouch_sbom::format::{Format, encode};
    for f in [Format::SpdxJson, Format::CycloneDxJson, Format::SyftJson] {
        let doc = String::from_utf8(encode(&sbom, f).unwrap()).unwrap();
        for c in &p.cpes {
            let quoted = serde_json::to_string(c).unwrap();
            assert!(doc.contains(&quoted), "{f:?} lacks {c}");
        }
    }
}

#[test]
fn java_cpes_equal_syft_latest() {
    // Debian's Java archives: manifests with and without vendor fields and reverse-domain
    // names, embedded pom.properties and pom.xml (with parents), shaded dependencies.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_into(&root, "/usr/share/java", "usr/share/java");
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let latest = syft_latest(&input);
    let (n, ours, _) = compare(&sbom, &latest, PackageType::JavaArchive, "java-archive");
    assert!(n > 50, "Debian's jars: {n}");
    assert!(ours > n, "candidate sets, not one CPE each");
}

#[test]
fn rpm_cpes_equal_syft_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    rpm_db(tmp.path(), &root.join("var/lib/rpm"));
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=39\n",
    )
    .unwrap();
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let (n, _, _) = compare(&sbom, &syft_latest(&input), PackageType::Rpm, "rpm");
    assert_eq!(n, RPMS.len());
}

#[test]
fn apk_cpes_equal_syft_latest() {
    // An Alpine 3.16 database (syft's test data): stream versions in names (libcrypto1.1,
    // libssl1.1), sub-packages, additions (musl), URL vendors.
    let root = syft_data("apk");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("root");
    copy_into(&dir, &format!("{root}/lib"), "lib");
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(
        dir.join("etc/os-release"),
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.16.0\n",
    )
    .unwrap();
    let input = format!("dir:{}", dir.display());
    let sbom = vouch(&input);
    let (n, _, _) = compare(&sbom, &syft_latest(&input), PackageType::Apk, "apk");
    assert_eq!(n, 14);
}

#[test]
fn composer_and_dotnet_cpes_equal_syft_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_into(
        &root,
        &syft_data("composer/composer.lock"),
        "srv/php/composer.lock",
    );
    // Two names the NVD dictionary lists for Packagist (syft's php_composer index).
    std::fs::create_dir_all(root.join("srv/php2")).unwrap();
    std::fs::write(
        root.join("srv/php2/composer.lock"),
        r#"{"packages": [{"name": "mustache/mustache", "version": "v2.14.2"}, {"name": "symfony/twig-bridge", "version": "v6.4.3"}], "packages-dev": []}"#,
    )
    .unwrap();
    copy_into(
        &root,
        &syft_data("dotnet/TestLibrary.deps.json"),
        "srv/dotnet/TestLibrary.deps.json",
    );
    // Managed assemblies with version resources (pythonnet's and clr-loader's).
    let site = venv_site_packages();
    for (src, dest) in [
        (
            "pythonnet/runtime/Python.Runtime.dll",
            "opt/py/Python.Runtime.dll",
        ),
        (
            "clr_loader/ffi/dlls/amd64/ClrLoader.dll",
            "opt/py/ClrLoader.dll",
        ),
    ] {
        copy_into(&root, &site.join(src).display().to_string(), dest);
    }
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let latest = syft_latest(&input);
    // composer.lock's `packages` (2) and the two dictionary names; not `packages-dev`.
    let (n, _, _) = compare(&sbom, &latest, PackageType::PhpComposer, "php-composer");
    assert_eq!(n, 4);
    // The deps.json's own project and the 10 packages that claim runtime assets (not the
    // two that claim none, not the referenced project TestCommon), and both assemblies.
    let (n, _, _) = compare(&sbom, &latest, PackageType::Dotnet, "dotnet");
    assert_eq!(n, 13);
}
