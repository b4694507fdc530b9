//! Software bills of materials for container images and directories.
//!
//! [`generate`] opens a source (`REF`, `oci:DIR[:TAG]`, `docker-archive:FILE`,
//! `dir:PATH`), squashes its layers with [`vouch_oci::Rootfs`] keeping only the files some
//! cataloger asked for, detects the distro from `os-release`, and runs the catalogers of
//! [`catalog`]: one module per on-disk format (dpkg, apk, rpm, Python, npm, Go and Rust
//! binaries, `Cargo.lock`, Java archives, gems, composer, .NET), each a
//! [`catalog::Cataloger`] with a cheap `wants(path)` and a `catalog(...)`. The result is
//! an [`Sbom`] of [`Package`]s (type, name, version, purl, CPEs, SPDX licence
//! expressions, locations with the layer that introduced them, supplier, source package)
//! with [`Relationship`]s and [`Warning`]s: a file that cannot be parsed is a warning
//! naming it, never a failure of the whole run.
//!
//! [`format`] writes SPDX 2.3 JSON, CycloneDX 1.6 JSON, a table and vouch's own JSON, and
//! reads SPDX and CycloneDX documents (vouch's and syft's) back into the same model, for
//! the scanner.
//!
//! ```no_run
//! let sbom = vouch_sbom::generate("oci:/tmp/layout:v1", &vouch_sbom::Options::default())?;
//! let spdx = vouch_sbom::format::encode(&sbom, vouch_sbom::format::Format::SpdxJson)?;
//! # Ok::<(), vouch_sbom::Error>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod catalog;
pub mod cpe;
mod distro;
mod elf;
mod error;
pub mod format;
pub mod license;
pub mod model;
pub mod purl;
mod scan;
mod sources;

pub use error::{Error, Result};
pub use model::{
    Distro, Location, Package, PackageType, Relationship, RelationshipKind, Sbom, Source,
    SourceKind, Supplier, Warning,
};
pub use scan::{Options, Scope, catalog_files, catalog_rootfs, generate, keep_for, select};
pub use sources::exclude;
