//! Property (see `sbom_check.rs`): arbitrary bytes as a Berkeley DB `var/lib/rpm/Packages`
//! (hash database of rpm headers; untrusted: image layers) catalog without failing, and
//! what comes out survives SPDX and CycloneDX round trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "sbom_check.rs"]
mod sbom_check;

fuzz_target!(|data: &[u8]| {
    sbom_check::check(&[
        ("etc/os-release", b"ID=centos\nVERSION_ID=\"7\"\n"),
        ("var/lib/rpm/Packages", data),
    ]);
});
