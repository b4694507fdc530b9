//! Property: decoding arbitrary bytes as an SBOM document (SPDX, CycloneDX, vouch JSON)
//! either fails with an error or yields packages that vouch can write out and read back
//! unchanged.
#![no_main]
use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use vouch_sbom::format::{self, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(sbom) = format::decode(data) else {
        return;
    };
    let identity = |s: &vouch_sbom::Sbom| {
        s.packages
            .iter()
            .map(|p| (p.kind, p.name.clone(), p.version.clone(), p.purl.clone()))
            .collect::<BTreeSet<_>>()
    };
    for f in [Format::SpdxJson, Format::CycloneDxJson] {
        let back = format::decode(&format::encode(&sbom, f).expect("encoding"))
            .expect("decoding what vouch wrote");
        assert_eq!(identity(&back), identity(&sbom), "{f}");
    }
});
