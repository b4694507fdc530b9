//! SemVer precedence (Go, crates.io, npm, OSV `SEMVER` ranges) and NuGet ordering.
//!
//! Reference: SemVer 2.0.0 section 11 (<https://semver.org/#spec-item-11>): numeric
//! components compare numerically; a version with a pre-release sorts before the same
//! version without; pre-release identifiers compare numerically when both are digits,
//! otherwise byte-wise, a numeric identifier sorting first, and a longer list winning when
//! one is a prefix of the other; build metadata (`+...`) is ignored.
//!
//! Real-world versions bend the grammar, so parsing is lenient in the way osv-scalibr's
//! `semantic/version-semver-like.go` is (the oracle was checked against it): a leading `v`
//! is dropped (Go's `v1.2.3`), missing components count as 0 (`1.2` = `1.2.0`), components
//! have any size, and a fourth or later component is folded into the pre-release (Go's
//! `+incompatible` and npm's `1.2.3-beta+build` need no special case). The `semver` crate
//! implements the strict grammar only, so it is not used.
//!
//! NuGet (<https://learn.microsoft.com/nuget/concepts/package-versioning>) is the same with
//! four numeric components and case-insensitive pre-release labels.

use std::cmp::Ordering;

use crate::num::{Num, cmp_padded, is_digits};
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// The parts shared by SemVer and NuGet versions.
#[derive(Debug, Clone)]
struct SemverLike {
    components: Vec<Num>,
    /// Pre-release identifiers; empty for a release.
    pre: Vec<Identifier>,
}

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    // Declared first: numeric identifiers have lower precedence than alphanumeric ones.
    Numeric(Num),
    Alphanumeric(String),
}

impl SemverLike {
    /// Splits `input` into numeric components (at most `max_components`) and the rest,
    /// which becomes the pre-release once build metadata is dropped.
    fn parse(
        scheme: Scheme,
        input: &str,
        max_components: usize,
        fold_case: bool,
    ) -> Result<Self, Error> {
        check_input(scheme, input)?;
        let body = input.strip_prefix('v').unwrap_or(input);
        if !body.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(Error::InvalidVersion {
                scheme,
                input: input.to_owned(),
                reason: "does not start with a number",
            });
        }
        // Numeric components run until the first character that is neither a digit nor a
        // dot; everything from there on is the "build string".
        let split = body
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(body.len());
        let (numbers, build) = body.split_at(split);
        let mut components: Vec<Num> = numbers
            .split('.')
            .filter(|s| !s.is_empty())
            .map(Num::from_digits)
            .collect();
        let mut build = build.to_owned();
        if components.len() > max_components {
            for extra in components.split_off(max_components) {
                build.push('.');
                build.push_str(extra.digits());
            }
        }
        if fold_case {
            build = build.to_lowercase();
        }
        // Build metadata is ignored; a leading hyphen introduces the pre-release.
        let pre = build.split('+').next().unwrap_or_default();
        let pre = pre.strip_prefix('-').unwrap_or(pre);
        let pre = if pre.is_empty() {
            Vec::new()
        } else {
            pre.split('.')
                .map(|id| match is_digits(id) {
                    true => Identifier::Numeric(Num::from_digits(id)),
                    false => Identifier::Alphanumeric(id.to_owned()),
                })
                .collect()
        };
        Ok(Self { components, pre })
    }

    fn compare(&self, other: &Self) -> Ordering {
        cmp_padded(&self.components, &other.components, &Num::zero(), Ord::cmp).then_with(
            || match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            },
        )
    }
}

/// A SemVer version as used by Go modules, crates.io and npm.
///
/// Rejects strings that do not start with a digit (after an optional `v`).
#[derive(Debug, Clone)]
pub struct SemVerVersion {
    original: String,
    parts: SemverLike,
}

impl SemVerVersion {
    /// Parses a SemVer version leniently (see the module documentation).
    pub fn parse(input: &str) -> Result<Self, Error> {
        let parts = SemverLike::parse(Scheme::SemVer, input, 3, false)?;
        Ok(Self {
            original: input.to_owned(),
            parts,
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        self.parts.compare(&other.parts)
    }
}

scheme_version_impls!(SemVerVersion);

/// A NuGet version: up to four numeric components, case-insensitive pre-release.
///
/// Rejects strings that do not start with a digit (after an optional `v`).
#[derive(Debug, Clone)]
pub struct NuGetVersion {
    original: String,
    parts: SemverLike,
}

impl NuGetVersion {
    /// Parses a NuGet version leniently (see the module documentation).
    pub fn parse(input: &str) -> Result<Self, Error> {
        let parts = SemverLike::parse(Scheme::NuGet, input, 4, true)?;
        Ok(Self {
            original: input.to_owned(),
            parts,
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        self.parts.compare(&other.parts)
    }
}

scheme_version_impls!(NuGetVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> SemVerVersion {
        SemVerVersion::parse(s).expect(s)
    }

    #[test]
    fn go_and_cargo_forms() {
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("v2.0.0+incompatible"), v("2.0.0"));
        assert!(v("v0.0.0-20210101000000-abcdef012345") < v("v0.0.0"));
        assert!(v("0.4.0-0") < v("0.4.0-alpha"));
        assert!(v("1.0.0-alpha.1") < v("1.0.0-alpha.beta"));
        assert_eq!(v("1.2"), v("1.2.0"));
    }

    #[test]
    fn rejects_non_numeric() {
        for bad in ["latest", "v", "*", ".1", "x1.0"] {
            assert!(
                matches!(SemVerVersion::parse(bad), Err(Error::InvalidVersion { .. })),
                "{bad}"
            );
        }
    }
}
