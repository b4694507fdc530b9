//! The property every SBOM fuzz target checks (included by each target with `#[path]`):
//! whatever bytes a parser is fed, cataloging succeeds (bad files are warnings), every
//! package has a type, name and version, ids are unique, and the SPDX and CycloneDX
//! documents written from the result read back to the same packages.

use std::collections::BTreeSet;

use vouch_sbom::format::{self, Format};

pub(crate) fn check(files: &[(&str, &[u8])]) {
    let sbom = vouch_sbom::catalog_files(files).expect("cataloging never fails on file contents");
    let mut ids = BTreeSet::new();
    for p in &sbom.packages {
        assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
        assert!(ids.insert(p.id.clone()), "duplicate id {}", p.id);
    }
    let identity = |s: &vouch_sbom::Sbom| {
        s.packages
            .iter()
            .map(|p| (p.kind, p.name.clone(), p.version.clone(), p.purl.clone()))
            .collect::<BTreeSet<_>>()
    };
    for f in [
        Format::SpdxJson,
        Format::CycloneDxJson,
        Format::Json,
        Format::SyftJson,
    ] {
        let bytes = format::encode(&sbom, f).expect("encoding");
        let back = format::decode(&bytes).expect("decoding what vouch wrote");
        assert_eq!(identity(&back), identity(&sbom), "{f} round trip");
    }
    // The formats vouch writes but does not read back still encode whatever was found
    // (the CycloneDX XML writer refuses a member it has no mapping for).
    for f in [
        Format::SpdxTagValue,
        Format::CycloneDxXml,
        Format::GithubJson,
        Format::Purls,
        Format::Table,
    ] {
        format::encode(&sbom, f).expect("encoding");
    }
}
