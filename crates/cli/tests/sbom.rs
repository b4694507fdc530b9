//! `vouch sbom` end to end: several outputs in one run, from an image in a registry, from
//! a `docker save` archive (made by skopeo) and from a directory; `-o FORMAT=FILE` is only
//! for `vouch sbom`.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::vouch;

use std::process::Command;

use vouch_testkit::{RegistryServer, require_tool, run, umoci_image};

const STATUS: &[u8] = b"Package: base-files\nStatus: install ok installed\nMaintainer: Santiago Vila <sanvila@debian.org>\nArchitecture: amd64\nVersion: 12.4+deb12u11\n\nPackage: libc6\nStatus: install ok installed\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u10\nDepends: libgcc-s1\n\nPackage: libgcc-s1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12\nVersion: 12.2.0-14+deb12u1\n";

#[test]
fn image_in_a_registry_to_every_format_at_once() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(
        dir.path(),
        "v1",
        &[&[
            (
                "etc/os-release",
                b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
            ),
            ("var/lib/dpkg/status", STATUS),
            (
                "usr/lib/node_modules/left-pad/package.json",
                br#"{"name":"left-pad","version":"1.3.0","license":"WTFPL","author":"azer"}"#,
            ),
        ]],
    );
    let dst = format!("{}/sbom/app:v1", registry.host);
    let copy = vouch(&[
        "image",
        "copy",
        &format!("oci:{}:v1", layout.display()),
        &dst,
    ]);
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );

    let spdx = dir.path().join("sbom.spdx.json");
    let cdx = dir.path().join("sbom.cdx.json");
    let out = vouch(&[
        "sbom",
        &dst,
        "-o",
        &format!("spdx-json={}", spdx.display()),
        "-o",
        &format!("cyclonedx-json={}", cdx.display()),
        "-o",
        "table",
        "--supplier",
        "Example Corp",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("libc6") && l.contains("2.36-9+deb12u10") && l.ends_with("deb")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("left-pad") && l.ends_with("npm")),
        "{table}"
    );

    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&spdx).unwrap()).unwrap();
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&cdx).unwrap()).unwrap();
    assert_eq!(s["spdxVersion"], "SPDX-2.3");
    assert_eq!(c["specVersion"], "1.6");
    // One run, one UUID: the SPDX namespace ends with the CycloneDX serial's UUID.
    let uuid = c["serialNumber"]
        .as_str()
        .unwrap()
        .trim_start_matches("urn:uuid:");
    assert!(s["documentNamespace"].as_str().unwrap().ends_with(uuid));
    let root = s["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["primaryPackagePurpose"] == "CONTAINER")
        .unwrap();
    assert_eq!(root["supplier"], "Organization: Example Corp");
    assert!(root["versionInfo"].as_str().unwrap().starts_with("sha256:"));
    let libc = c["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "libc6")
        .unwrap();
    assert_eq!(
        libc["purl"],
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12&upstream=glibc"
    );
    assert_eq!(
        libc["supplier"]["name"],
        "GNU Libc Maintainers (debian-glibc@lists.debian.org)"
    );
}

#[test]
fn directory_json_by_default_off_a_terminal_and_sbom_formats_only_for_sbom() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), STATUS).unwrap();
    let out = vouch(&["sbom", &format!("dir:{}", root.display())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["vouch_sbom"], 1);
    assert_eq!(v["packages"].as_array().unwrap().len(), 3);

    let two_stdout = vouch(&[
        "sbom",
        &format!("dir:{}", root.display()),
        "-o",
        "table",
        "-o",
        "json",
    ]);
    assert!(!two_stdout.status.success());
    let wrong = vouch(&[
        "image",
        "tags",
        &format!("oci:{}", root.display()),
        "-o",
        "spdx-json",
    ]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("vouch sbom"));
    let bad = vouch(&["sbom", "dir:/nonexistent/vouch-test", "-o", "xml"]);
    assert!(!bad.status.success());
}

/// (type, name, version, purl, layer) of every package in `vouch sbom -o json` output.
fn package_set(json: &[u8]) -> std::collections::BTreeSet<(String, String, String, String, i64)> {
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (
                s("type"),
                s("name"),
                s("version"),
                s("purl"),
                p["layer"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[test]
fn docker_archive_gives_the_packages_of_the_layout_it_came_from() {
    require_tool("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(
        dir.path(),
        "v1",
        &[
            &[
                (
                    "etc/os-release",
                    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
                ),
                ("var/lib/dpkg/status", STATUS),
            ],
            &[
                (
                    "usr/lib/node_modules/left-pad/package.json",
                    br#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
                ),
                (
                    "usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
                    b"Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nLicense: MIT\n",
                ),
            ],
        ],
    );
    // `docker save` format: uncompressed layers named by their diff ids, a manifest.json
    // and the config, none of it in the layout's form.
    let archive = dir.path().join("image.tar");
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!(
            "docker-archive:{}:example/app:v1",
            archive.display()
        )));
    let from_layout = vouch(&[
        "sbom",
        &format!("oci:{}:v1", layout.display()),
        "-o",
        "json",
    ]);
    assert!(
        from_layout.status.success(),
        "{}",
        String::from_utf8_lossy(&from_layout.stderr)
    );
    let from_archive = vouch(&[
        "sbom",
        &format!("docker-archive:{}", archive.display()),
        "-o",
        "json",
    ]);
    assert!(
        from_archive.status.success(),
        "{}",
        String::from_utf8_lossy(&from_archive.stderr)
    );
    let (a, b) = (
        package_set(&from_layout.stdout),
        package_set(&from_archive.stdout),
    );
    assert_eq!(a.len(), 5, "3 debs, 1 npm, 1 python: {a:#?}");
    assert_eq!(a, b);
    assert!(
        b.iter()
            .any(|p| p.0 == "npm" && p.1 == "left-pad" && p.4 == 1)
    );
    assert!(b.iter().any(|p| p.0 == "deb" && p.1 == "libc6" && p.4 == 0));
    // The archive names its layers by uncompressed digest; the layout by compressed one.
    let v: serde_json::Value = serde_json::from_slice(&from_archive.stdout).unwrap();
    let w: serde_json::Value = serde_json::from_slice(&from_layout.stdout).unwrap();
    let layers = v["source"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    for (i, l) in layers.iter().enumerate() {
        assert_eq!(l["digest"], l["diff_id"], "uncompressed layer {i}");
        assert_eq!(
            l["diff_id"], w["source"]["layers"][i]["diff_id"],
            "layer {i}"
        );
        assert_ne!(l["digest"], w["source"]["layers"][i]["digest"], "layer {i}");
    }
}
