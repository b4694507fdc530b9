//! CPE candidates against the latest syft, on this machine's whole dpkg database (hundreds
//! of real Debian packages): for every Debian package vouch's `cpes` equal syft's, in
//! syft's order (the first is the one CycloneDX's `cpe` carries, the rest are alternates),
//! and the SPDX, CycloneDX and syft JSON documents carry all of them.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;

use common::*;
use vouch_sbom::PackageType;

#[test]
fn debian_cpe_candidates_equal_syft_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let debs = debian_base(&root, None);
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    let latest = syft_latest(&input);
    let syft_cpes: BTreeMap<(String, String), Vec<String>> = latest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "deb")
        .map(|a| {
            let cpes = a["cpes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["cpe"].as_str().unwrap().to_owned())
                .collect();
            let s = |k: &str| a[k].as_str().unwrap().to_owned();
            ((s("name"), s("version")), cpes)
        })
        .collect();
    let mut compared = 0;
    let (mut ours_total, mut theirs_total) = (0, 0);
    let mut differ = Vec::new();
    for p in sbom.packages.iter().filter(|p| p.kind == PackageType::Deb) {
        let theirs = &syft_cpes[&(p.name.clone(), p.version.clone())];
        ours_total += p.cpes.len();
        theirs_total += theirs.len();
        compared += 1;
        if &p.cpes != theirs {
            differ.push(format!(
                "{} {}:\n  vouch {:?}\n  syft  {:?}",
                p.name, p.version, p.cpes, theirs
            ));
        }
    }
    eprintln!(
        "deb: {compared} packages, vouch {ours_total} CPEs, syft latest {theirs_total}, {} differ",
        differ.len()
    );
    assert_eq!(compared, debs.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
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
