//! Layers: the squashed view reports what a container sees, with the layer that
//! introduced each package; `--scope all-layers` reports each layer's packages as that
//! layer left them, deleted and replaced ones included.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::path::Path;

use common::*;
use vouch_sbom::{Options, PackageType, Sbom, Scope};

/// Two real dpkg paragraphs of this machine, the first with its version replaced.
fn paragraphs() -> (String, String, String) {
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let mut paras = status
        .split("\n\n")
        .filter(|p| p.contains("\nVersion: ") && p.contains("install ok installed"));
    let (a, b, c) = (
        paras.next().unwrap().to_owned(),
        paras.next().unwrap().to_owned(),
        paras.next().unwrap().to_owned(),
    );
    (a, b, c)
}

fn name(p: &str) -> String {
    p.lines()
        .find_map(|l| l.strip_prefix("Package: "))
        .unwrap()
        .to_owned()
}

fn stage(dir: &Path, files: &[(&str, String)]) -> String {
    for (rel, body) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    dir.display().to_string()
}

fn generate(input: &str, scope: Scope) -> Sbom {
    vouch_sbom::generate(
        input,
        &Options {
            scope,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn squashed_and_all_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = paragraphs();
    let (na, nb, nc) = (name(&a), name(&b), name(&c));
    let old_a = a
        .lines()
        .map(|l| {
            if l.starts_with("Version: ") {
                "Version: 0.0.1-old".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let os = std::fs::read_to_string("/etc/os-release").unwrap();
    let l0 = stage(
        &tmp.path().join("l0"),
        &[
            ("etc/os-release", os),
            ("var/lib/dpkg/status", format!("{old_a}\n\n{b}\n")),
            (
                &format!("var/lib/dpkg/info/{na}.list"),
                "/usr/share/doc/a\n".into(),
            ),
            (
                &format!("var/lib/dpkg/info/{nb}.list"),
                "/usr/share/doc/b\n".into(),
            ),
            (
                "usr/lib/python3/dist-packages/gone-1.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: gone\nVersion: 1.0\n".into(),
            ),
        ],
    );
    let l1 = stage(
        &tmp.path().join("l1"),
        &[
            ("var/lib/dpkg/status", format!("{a}\n\n{b}\n\n{c}\n")),
            (
                &format!("var/lib/dpkg/info/{na}.list"),
                "/usr/share/doc/a\n/usr/share/doc/a/NEWS\n".into(),
            ),
            (
                &format!("var/lib/dpkg/info/{nc}.list"),
                "/usr/share/doc/c\n".into(),
            ),
        ],
    );
    let l2 = stage(
        &tmp.path().join("l2"),
        &[(
            "app/node_modules/left-pad/package.json",
            r#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#.into(),
        )],
    );
    let layout = image(
        tmp.path(),
        "layers",
        &[
            &[(&l0, "/")],
            &[(&l1, "/")],
            &[
                (&l2, "/"),
                ("-", "/usr/lib/python3/dist-packages/gone-1.0.dist-info"),
            ],
        ],
        &[],
    );
    let input = format!("oci:{}:layers", layout.display());

    let squashed = generate(&input, Scope::Squashed);
    let debs: Vec<(&str, &str, Option<usize>)> = squashed
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::Deb)
        .map(|p| (p.name.as_str(), p.version.as_str(), p.layer))
        .collect();
    let version = |p: &str| {
        p.lines()
            .find_map(|l| l.strip_prefix("Version: "))
            .unwrap()
            .to_owned()
    };
    let mut want = [
        (na.as_str(), version(&a), Some(1)),
        (nb.as_str(), version(&b), Some(0)),
        (nc.as_str(), version(&c), Some(1)),
    ];
    want.sort();
    let want: Vec<(&str, &str, Option<usize>)> =
        want.iter().map(|(n, v, l)| (*n, v.as_str(), *l)).collect();
    assert_eq!(
        debs, want,
        "upgraded in layer 1, untouched from layer 0, added in layer 1"
    );
    assert!(
        !squashed.packages.iter().any(|p| p.name == "gone"),
        "deleted in layer 2"
    );
    let pad = squashed
        .packages
        .iter()
        .find(|p| p.name == "left-pad")
        .unwrap();
    assert_eq!(pad.layer, Some(2));
    assert_eq!(squashed.source.layers[2].index, 2);
    assert!(
        squashed
            .source
            .layers
            .iter()
            .all(|l| l.digest.starts_with("sha256:") && l.diff_id.is_some())
    );

    let all = generate(&input, Scope::AllLayers);
    let count = |n: &str| all.packages.iter().filter(|p| p.name == n).count();
    assert_eq!(count(&na), 2, "old version in layer 0 and new in layer 1");
    assert!(
        all.packages
            .iter()
            .any(|p| p.name == na && p.version == "0.0.1-old" && p.layer == Some(0))
    );
    assert_eq!(
        count(&nb),
        1,
        "one package, though both layers' status files list it"
    );
    let b_pkg = all.packages.iter().find(|p| p.name == nb).unwrap();
    let status_layers: Vec<Option<usize>> = b_pkg
        .locations
        .iter()
        .filter(|l| l.path == "/var/lib/dpkg/status")
        .map(|l| l.layer)
        .collect();
    assert_eq!(
        status_layers,
        vec![Some(0), Some(1)],
        "the status file of each layer that wrote it: {:?}",
        b_pkg.locations
    );
    assert_eq!(b_pkg.layer, Some(0), "attributed to the lowest layer");
    assert_eq!(count("gone"), 1, "present in layer 0 though deleted later");
    assert_eq!(count("left-pad"), 1);
}

/// Issue 18's loss, at the cataloger level: a package whose evidence file is large enough
/// to leave memory for the squash's private store in layer 0 must still be reported after
/// layer 1 deletes files (shrinking the view) and stores another large file. Before the
/// store's ids only grew, one of these whiteout counts made the second store reuse the
/// first file's name, and the first package silently became a copy of the second.
#[test]
fn spilled_package_survives_later_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    // Above the 256 KiB a kept file may hold in memory (rootfs.rs `MEMORY_FILE`).
    let metadata = |name: &str, version: &str| {
        format!(
            "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n{}\n",
            "padding line of a long description\n".repeat(9000)
        )
    };
    let site = "usr/lib/python3/dist-packages";
    for doomed in 1..=5 {
        let mut l0_files: Vec<(String, String)> = (0..doomed)
            .map(|i| (format!("aaa/doomed-{i}"), "x".to_owned()))
            .collect();
        l0_files.push((
            format!("{site}/kept-1.0.dist-info/METADATA"),
            metadata("kept", "1.0"),
        ));
        let l0_files: Vec<(&str, String)> = l0_files
            .iter()
            .map(|(p, b)| (p.as_str(), b.clone()))
            .collect();
        let l0 = stage(&tmp.path().join(format!("l0-{doomed}")), &l0_files);
        let l1 = stage(
            &tmp.path().join(format!("l1-{doomed}")),
            &[(
                &format!("{site}/later-2.0.dist-info/METADATA"),
                metadata("later", "2.0"),
            )],
        );
        let tag = format!("spill-{doomed}");
        let layout = image(
            tmp.path(),
            &tag,
            &[&[(&l0, "/")], &[("-", "/aaa"), (&l1, "/")]],
            &[("org.opencontainers.image.vendor", "vouch tests")],
        );
        let sbom = generate(&format!("oci:{}:{tag}", layout.display()), Scope::Squashed);
        let python: Vec<(&str, &str, Option<usize>)> = sbom
            .packages
            .iter()
            .filter(|p| p.kind == PackageType::Python)
            .map(|p| (p.name.as_str(), p.version.as_str(), p.layer))
            .collect();
        assert_eq!(
            python,
            vec![("kept", "1.0", Some(0)), ("later", "2.0", Some(1))],
            "{doomed} whiteouts; warnings: {:#?}",
            sbom.warnings
        );
        assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
    }
}
