//! Property (see `sbom_check.rs`): arbitrary bytes as `var/lib/rpm/rpmdb.sqlite` (plus a Debian
//! os-release, so distro-qualified purls are built) catalog without failing, and what comes
//! out survives SPDX and CycloneDX round trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "sbom_check.rs"]
mod sbom_check;

fuzz_target!(|data: &[u8]| {
    sbom_check::check(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        ("var/lib/rpm/rpmdb.sqlite", data),
    ]);
});
