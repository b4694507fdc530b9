//! Property (see `sbom_check.rs`): arbitrary bytes as an NDB `usr/lib/sysimage/rpm/Packages.db`
//! (SUSE's rpm database; untrusted: image layers) catalog without failing, and what comes
//! out survives SPDX and CycloneDX round trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "sbom_check.rs"]
mod sbom_check;

fuzz_target!(|data: &[u8]| {
    sbom_check::check(&[
        ("etc/os-release", b"ID=opensuse-leap\nVERSION_ID=\"15.5\"\n"),
        ("usr/lib/sysimage/rpm/Packages.db", data),
    ]);
});
