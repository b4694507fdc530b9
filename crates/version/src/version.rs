//! [`Version`]: a version string parsed by the ordering scheme of its ecosystem.

use std::cmp::Ordering;
use std::fmt;

use crate::scheme::{
    AlpineVersion, DebianVersion, MavenVersion, NuGetVersion, PackagistVersion, PyPIVersion,
    RpmVersion, RubyGemsVersion, SemVerVersion,
};
use crate::{Error, Scheme};

/// Longest version string accepted, in bytes. Real versions stay far below it (the longest
/// in the shared OSV corpora is under 100 bytes); the limit bounds the work one comparison
/// of untrusted input can cost.
pub const MAX_VERSION_LEN: usize = 1024;

/// Checks shared by every scheme: non-empty, bounded, and free of whitespace and control
/// characters, which no ecosystem allows inside a version and which would make two
/// visually identical versions differ.
pub(crate) fn check_input(scheme: Scheme, input: &str) -> Result<(), Error> {
    if input.is_empty() {
        return Err(Error::EmptyVersion { scheme });
    }
    if input.len() > MAX_VERSION_LEN {
        return Err(Error::VersionTooLong {
            scheme,
            len: input.len(),
            max: MAX_VERSION_LEN,
        });
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidVersion {
            scheme,
            input: input.to_owned(),
            reason: "contains whitespace or a control character",
        });
    }
    Ok(())
}

/// A version of any supported scheme.
///
/// Versions of the same scheme are ordered by that scheme's rules (`partial_cmp` returns
/// `Some`); versions of different schemes are incomparable (`None`) and never equal. For
/// sorting and map keys use the per-scheme types, which implement [`Ord`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Version {
    /// apk-tools ordering.
    Alpine(AlpineVersion),
    /// dpkg ordering.
    Debian(DebianVersion),
    /// Maven `ComparableVersion` ordering.
    Maven(MavenVersion),
    /// NuGet ordering.
    NuGet(NuGetVersion),
    /// PHP `version_compare` ordering.
    Packagist(PackagistVersion),
    /// PEP 440 ordering.
    PyPI(PyPIVersion),
    /// rpmvercmp ordering.
    Rpm(RpmVersion),
    /// `Gem::Version` ordering.
    RubyGems(RubyGemsVersion),
    /// SemVer precedence.
    SemVer(SemVerVersion),
}

impl Version {
    /// Parses `input` by the rules of `scheme`.
    ///
    /// Fails with [`Error::EmptyVersion`], [`Error::VersionTooLong`] or
    /// [`Error::InvalidVersion`]; never panics. Most schemes accept any other string, as
    /// their reference tools do (a malformed PyPI version becomes a "legacy" version that
    /// sorts first, for example); the exceptions are documented on each type.
    pub fn parse(scheme: Scheme, input: &str) -> Result<Self, Error> {
        Ok(match scheme {
            Scheme::Alpine => Self::Alpine(AlpineVersion::parse(input)?),
            Scheme::Debian => Self::Debian(DebianVersion::parse(input)?),
            Scheme::Maven => Self::Maven(MavenVersion::parse(input)?),
            Scheme::NuGet => Self::NuGet(NuGetVersion::parse(input)?),
            Scheme::Packagist => Self::Packagist(PackagistVersion::parse(input)?),
            Scheme::PyPI => Self::PyPI(PyPIVersion::parse(input)?),
            Scheme::Rpm => Self::Rpm(RpmVersion::parse(input)?),
            Scheme::RubyGems => Self::RubyGems(RubyGemsVersion::parse(input)?),
            Scheme::SemVer => Self::SemVer(SemVerVersion::parse(input)?),
        })
    }

    /// The scheme this version was parsed with.
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::Alpine(_) => Scheme::Alpine,
            Self::Debian(_) => Scheme::Debian,
            Self::Maven(_) => Scheme::Maven,
            Self::NuGet(_) => Scheme::NuGet,
            Self::Packagist(_) => Scheme::Packagist,
            Self::PyPI(_) => Scheme::PyPI,
            Self::Rpm(_) => Scheme::Rpm,
            Self::RubyGems(_) => Scheme::RubyGems,
            Self::SemVer(_) => Scheme::SemVer,
        }
    }

    /// The string the version was parsed from.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Alpine(v) => v.as_str(),
            Self::Debian(v) => v.as_str(),
            Self::Maven(v) => v.as_str(),
            Self::NuGet(v) => v.as_str(),
            Self::Packagist(v) => v.as_str(),
            Self::PyPI(v) => v.as_str(),
            Self::Rpm(v) => v.as_str(),
            Self::RubyGems(v) => v.as_str(),
            Self::SemVer(v) => v.as_str(),
        }
    }

    /// Orders two versions of the same scheme; [`Error::SchemeMismatch`] otherwise.
    pub fn compare(&self, other: &Self) -> Result<Ordering, Error> {
        self.partial_cmp(other).ok_or(Error::SchemeMismatch {
            expected: self.scheme(),
            found: other.scheme(),
        })
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(match (self, other) {
            (Self::Alpine(a), Self::Alpine(b)) => a.cmp(b),
            (Self::Debian(a), Self::Debian(b)) => a.cmp(b),
            (Self::Maven(a), Self::Maven(b)) => a.cmp(b),
            (Self::NuGet(a), Self::NuGet(b)) => a.cmp(b),
            (Self::Packagist(a), Self::Packagist(b)) => a.cmp(b),
            (Self::PyPI(a), Self::PyPI(b)) => a.cmp(b),
            (Self::Rpm(a), Self::Rpm(b)) => a.cmp(b),
            (Self::RubyGems(a), Self::RubyGems(b)) => a.cmp(b),
            (Self::SemVer(a), Self::SemVer(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implements equality, ordering, `Display`, `FromStr` and `as_str` for a scheme type from
/// its `parse` and `compare` functions. Equality is the scheme's equivalence
/// (`1.0 == 1.0.0` in Maven), not string equality.
macro_rules! scheme_version_impls {
    ($ty:ident) => {
        impl $ty {
            /// The string the version was parsed from.
            pub fn as_str(&self) -> &str {
                &self.original
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == ::std::cmp::Ordering::Equal
            }
        }

        impl Eq for $ty {}

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<::std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> ::std::cmp::Ordering {
                self.compare(other)
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.original)
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::Error;

            fn from_str(s: &str) -> Result<Self, $crate::Error> {
                Self::parse(s)
            }
        }
    };
}
pub(crate) use scheme_version_impls;
