//! Property (see `sbom_check.rs`): arbitrary bytes as `etc/os-release` (plus a Debian
//! os-release, so distro-qualified purls are built) catalog without failing, and what comes
//! out survives SPDX and CycloneDX round trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "sbom_check.rs"]
mod sbom_check;

fuzz_target!(|data: &[u8]| {
    sbom_check::check(&[
        ("etc/os-release", data),
        (
            "var/lib/dpkg/status",
            b"Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\nSource: glibc\n",
        ),
    ]);
});
