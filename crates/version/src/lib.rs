//! Version ordering per package ecosystem, and OSV affected-range evaluation.
//!
//! An [`Ecosystem`] is parsed from an OSV ecosystem string (`Debian:12`, `Alpine:v3.19`,
//! `PyPI`, `crates.io`, ...) and names the [`Scheme`] that orders its versions: dpkg, apk,
//! rpm, SemVer, PEP 440, Maven, RubyGems, NuGet or Packagist. [`Version::parse`] turns a
//! string into a [`Version`] of one scheme; each scheme also has its own type
//! ([`DebianVersion`], [`PyPIVersion`], ...) implementing [`Ord`] by the ecosystem's
//! reference algorithm, so equality means "the tool would treat them as the same version"
//! (`1.0 == 1.0.0` in Maven and PyPI, `1.0-1 == 0:1.0-1` in Debian).
//!
//! OSV records are deserialized into [`RawRange`]/[`RawEvent`] (plain serde structs) and
//! converted by [`Range::from_raw`] or `TryFrom<RawAffected>` into a [`Range`] or
//! [`AffectedVersions`], which cannot be malformed: every bound is a parsed [`Version`],
//! every range has an `introduced` event and never mixes `fixed` with `last_affected`.
//! [`AffectedVersions::contains`] then answers "is this version affected?" following the
//! OSV schema's evaluation algorithm. Unparseable input is an [`Error`], never a panic.
//!
//! ```
//! use vouch_version::{AffectedVersions, RawAffected, RawRange, Scheme, Version};
//!
//! let ranges: Vec<RawRange> = serde_json::from_str(
//!     r#"[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}]}]"#,
//! )?;
//! let affected = AffectedVersions::try_from(RawAffected {
//!     ecosystem: "Debian:12".into(),
//!     ranges,
//!     versions: vec![],
//! })?;
//! assert!(affected.contains("2.36-9+deb12u3")?);
//! assert!(!affected.contains("2.36-9+deb12u4")?);
//!
//! let old = Version::parse(Scheme::Debian, "1:1.0~rc1-1")?;
//! let new = Version::parse(Scheme::Debian, "1:1.0-1")?;
//! assert!(old < new);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ecosystem;
mod error;
mod num;
mod range;
mod scheme;
mod version;

pub use ecosystem::{Ecosystem, EcosystemKind, Scheme};
pub use error::Error;
pub use range::{
    AffectedVersions, Event, Introduced, Limit, Range, RangeKind, RawAffected, RawEvent, RawRange,
};
pub use scheme::{
    AlpineVersion, DebianVersion, MavenVersion, NuGetVersion, PackagistVersion, PyPIVersion,
    RpmVersion, RubyGemsVersion, SemVerVersion,
};
pub use version::{MAX_VERSION_LEN, Version};
