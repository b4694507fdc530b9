//! Output formats: SPDX 2.3 passes spdx-tools and the NTIA minimum-elements checker,
//! CycloneDX 1.6 passes cyclonedx-python-lib's strict schema validator; output is
//! deterministic apart from the UUID and time; SPDX and CycloneDX (vouch's and syft's)
//! read back into the same packages. Fields are checked, not byte snapshots.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;
use vouch_sbom::format::{self, Format, Stamp};
use vouch_sbom::{Options, PackageType, Sbom, Supplier};
use vouch_testkit::venv_tool;

fn validate(kind: &str, path: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate.py");
    let out = Command::new(venv_tool("python3"))
        .arg(script)
        .arg(kind)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind} validation of {} failed:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tree with every ecosystem vouch reads in directories, from real metadata.
fn sample(root: &Path) -> Sbom {
    debian_base(root, Some(60));
    python_metadata(root, "usr/lib/python3/dist-packages");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    copy_into(
        root,
        &data.join("npm-lock-v3").display().to_string(),
        "srv/web",
    );
    copy_into(root, "/usr/bin/docker-registry", "usr/bin/docker-registry");
    copy_into(
        root,
        "/usr/share/java/commons-io.jar",
        "usr/share/java/commons-io.jar",
    );
    let options = Options {
        supplier: Some(Supplier::Organization("vouch tests".into())),
        ..Default::default()
    };
    vouch_sbom::generate(&format!("dir:{}", root.display()), &options).unwrap()
}

fn stamp() -> Stamp {
    Stamp {
        uuid: "00000000-0000-4000-8000-000000000000".into(),
        created: "2026-01-02T03:04:05Z".into(),
    }
}

#[test]
fn every_format_validates_and_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let sbom = sample(&tmp.path().join("root"));
    let kinds: BTreeSet<PackageType> = sbom.packages.iter().map(|p| p.kind).collect();
    for k in [
        PackageType::Deb,
        PackageType::Python,
        PackageType::Npm,
        PackageType::GoModule,
        PackageType::JavaArchive,
    ] {
        assert!(kinds.contains(&k), "{k} missing from the sample");
    }
    for f in Format::ALL {
        let a = format::encode_with(&sbom, f, &stamp()).unwrap();
        let b = format::encode_with(&sbom, f, &stamp()).unwrap();
        assert_eq!(a, b, "{f} is not deterministic");
        let path = tmp.path().join(format!("out-{f}.json"));
        std::fs::write(&path, &a).unwrap();
        match f {
            Format::SpdxJson => {
                validate("spdx", &path);
                validate("ntia", &path);
            }
            Format::CycloneDxJson => validate("cdx", &path),
            Format::Table => {
                let t = String::from_utf8(a).unwrap();
                assert!(t.starts_with("NAME"));
                assert!(t.lines().any(|l| l.starts_with("express ")
                    && l.contains("4.21.2")
                    && l.ends_with("npm")));
                continue;
            }
            Format::Json | Format::SyftJson => {}
            // Not read back: checked here for shape, by the peers' validators in
            // crates/cli/tests/dropin_syft_grype.rs.
            Format::SpdxTagValue => {
                let t = String::from_utf8(a).unwrap();
                assert!(t.starts_with("SPDXVersion: SPDX-2.3\n"), "{t}");
                assert!(t.contains("\nPackageName: express\n"), "{t}");
                continue;
            }
            Format::CycloneDxXml => {
                let t = String::from_utf8(a).unwrap();
                assert!(t.starts_with("<?xml"), "{t}");
                assert!(t.contains("<name>express</name>"), "{t}");
                continue;
            }
            Format::GithubJson => {
                let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
                assert_eq!(v["version"], 0);
                assert!(!v["manifests"].as_object().unwrap().is_empty());
                continue;
            }
            Format::Purls => {
                let t = String::from_utf8(a).unwrap();
                assert!(t.lines().all(|l| l.starts_with("pkg:")), "{t}");
                assert!(
                    t.lines().any(|l| l.starts_with("pkg:npm/express@4.21.2")),
                    "{t}"
                );
                continue;
            }
        }
        // Everything written reads back to the same identities.
        let back = format::decode(&std::fs::read(&path).unwrap()).unwrap();
        let ids = |s: &Sbom| {
            s.packages
                .iter()
                .map(|p| (p.kind, p.name.clone(), p.version.clone(), p.purl.clone()))
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(ids(&back), ids(&sbom), "{f} round trip");
        assert_eq!(
            back.distro.as_ref().map(|d| d.id.as_str()),
            Some("debian"),
            "{f} distro"
        );
        let deps = |s: &Sbom| {
            s.relationships
                .iter()
                .filter(|r| r.kind == vouch_sbom::RelationshipKind::DependsOn)
                .count()
        };
        assert_eq!(deps(&back), deps(&sbom), "{f} dependency edges");
    }
    // A fresh stamp changes only the namespace / serial and the time.
    let x: Value =
        serde_json::from_slice(&format::encode(&sbom, Format::SpdxJson).unwrap()).unwrap();
    let y: Value =
        serde_json::from_slice(&format::encode_with(&sbom, Format::SpdxJson, &stamp()).unwrap())
            .unwrap();
    assert_ne!(x["documentNamespace"], y["documentNamespace"]);
    assert_eq!(x["packages"], y["packages"]);
    assert_eq!(x["relationships"], y["relationships"]);
}

#[test]
fn spdx_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let sbom = sample(&tmp.path().join("root"));
    let doc: Value =
        serde_json::from_slice(&format::encode_with(&sbom, Format::SpdxJson, &stamp()).unwrap())
            .unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert!(
        doc["documentNamespace"]
            .as_str()
            .unwrap()
            .ends_with("00000000-0000-4000-8000-000000000000")
    );
    let pkgs = doc["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), sbom.packages.len() + 1, "packages and the root");
    for p in pkgs {
        let supplier = p["supplier"].as_str().unwrap();
        assert!(
            supplier.starts_with("Person: ") || supplier.starts_with("Organization: "),
            "{supplier} on {}",
            p["name"]
        );
        assert!(!p["versionInfo"].as_str().unwrap().is_empty());
        assert_eq!(p["filesAnalyzed"], false);
    }
    let deb = sbom
        .packages
        .iter()
        .find(|p| p.kind == PackageType::Deb && p.source.is_some() && !p.licenses.is_empty())
        .expect("a deb with a source package and a copyright file");
    let spdx = pkgs
        .iter()
        .find(|p| p["name"] == deb.name.as_str())
        .unwrap();
    let purl = spdx["externalRefs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["referenceType"] == "purl")
        .unwrap()["referenceLocator"]
        .as_str()
        .unwrap();
    assert!(
        purl.starts_with(&format!("pkg:deb/debian/{}@", deb.name))
            && purl.contains("distro=debian-12")
            && purl.contains("upstream="),
        "{purl}"
    );
    assert_eq!(
        spdx["licenseDeclared"].as_str(),
        deb.license_expression().as_deref()
    );
    let describes: Vec<&Value> = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "DESCRIBES")
        .collect();
    assert_eq!(describes.len(), 1);
}

#[test]
fn cyclonedx_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let sbom = sample(&tmp.path().join("root"));
    let doc: Value = serde_json::from_slice(
        &format::encode_with(&sbom, Format::CycloneDxJson, &stamp()).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(
        doc["serialNumber"],
        "urn:uuid:00000000-0000-4000-8000-000000000000"
    );
    let comps = doc["components"].as_array().unwrap();
    let refs: BTreeSet<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), comps.len(), "bom-refs are unique");
    for d in doc["dependencies"].as_array().unwrap() {
        assert!(refs.contains(d["ref"].as_str().unwrap()));
        for on in d["dependsOn"].as_array().unwrap() {
            assert!(
                refs.contains(on.as_str().unwrap()),
                "dangling dependsOn {on}"
            );
        }
    }
    assert!(
        comps
            .iter()
            .any(|c| c["type"] == "operating-system" && c["name"] == "debian")
    );
    let express = comps.iter().find(|c| c["name"] == "express").unwrap();
    assert_eq!(express["purl"], "pkg:npm/express@4.21.2");
    assert!(
        express["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "vouch:package:foundBy"
                && p["value"] == "javascript-lock-cataloger")
    );
    let deps = doc["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == express["bom-ref"])
        .unwrap();
    assert!(
        deps["dependsOn"].as_array().unwrap().len() > 10,
        "express has ~30 direct dependencies"
    );
}

/// syft's own SPDX and CycloneDX documents decode into the packages syft listed.
#[test]
fn reads_syft_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    sample(&root);
    for (fmt, _) in [("spdx-json", "spdx"), ("cyclonedx-json", "cdx")] {
        let out = Command::new(venv_tool("syft"))
            .args(["scan", &format!("dir:{}", root.display()), "-q", "-o", fmt])
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .output()
            .unwrap();
        assert!(out.status.success());
        let sbom = format::decode(&out.stdout).unwrap();
        let syft_json = syft(&format!("dir:{}", root.display()));
        let expected = syft_sets(&syft_json);
        let got = vouch_sets(&sbom);
        for (t, keys) in &expected {
            assert_eq!(got.get(t), Some(keys), "{fmt}: {t}");
        }
        assert_eq!(
            sbom.distro.as_ref().map(|d| d.id.as_str()),
            Some("debian"),
            "{fmt}"
        );
    }
}

/// NTIA by default: an image whose config carries `org.opencontainers.image.vendor` gives
/// an SPDX document ntia-conformance-checker accepts with no options, and no warning; the
/// same image without the label gives a warning naming the missing element, and the
/// checker refuses that document.
#[test]
fn image_supplier_from_labels_or_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    debian_base(&base, Some(20));
    let base_s = base.display().to_string();
    for (tag, labels) in [
        (
            "labelled",
            &[("org.opencontainers.image.vendor", "Example Corp")][..],
        ),
        ("unlabelled", &[][..]),
    ] {
        let layout = image(tmp.path(), tag, &[&[(&base_s, "/")]], labels);
        let sbom = vouch(&format!("oci:{}:{tag}", layout.display()));
        let spdx = tmp.path().join(format!("{tag}.spdx.json"));
        std::fs::write(
            &spdx,
            format::encode_with(&sbom, Format::SpdxJson, &stamp()).unwrap(),
        )
        .unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate.py");
        let ntia = Command::new(venv_tool("python3"))
            .arg(&script)
            .arg("ntia")
            .arg(&spdx)
            .output()
            .unwrap();
        if labels.is_empty() {
            assert!(
                sbom.warnings
                    .iter()
                    .any(|w| w.cataloger == "ntia-minimum-elements"
                        && w.message.contains("no supplier")
                        && w.message.contains("org.opencontainers.image.vendor")),
                "{:#?}",
                sbom.warnings
            );
            assert!(!ntia.status.success(), "the checker must refuse it too");
        } else {
            assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
            assert_eq!(
                sbom.source.supplier,
                Some(Supplier::Organization("Example Corp".into()))
            );
            assert!(
                ntia.status.success(),
                "{}",
                String::from_utf8_lossy(&ntia.stdout)
            );
        }
    }
}
