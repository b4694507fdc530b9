//! OSV ecosystem names and the version-ordering scheme each one uses.
//!
//! Names and suffixes follow the OSV schema's ecosystem list (`ecosystems.json`,
//! <https://ossf.github.io/osv-schema/#affectedpackage-field>); the mapping to ordering
//! schemes follows osv.dev and osv-scalibr's `semantic` package, so that a version is
//! "affected" here exactly when osv-scanner says so.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A version-ordering algorithm. Several ecosystems share one (Ubuntu uses dpkg's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scheme {
    /// apk-tools (Alpine, Wolfi, Chainguard, ...).
    Alpine,
    /// dpkg (Debian, Ubuntu).
    Debian,
    /// Maven's `ComparableVersion`.
    Maven,
    /// NuGet: SemVer with a fourth numeric component, case-insensitive labels.
    NuGet,
    /// PHP's `version_compare`, which Composer uses (Packagist).
    Packagist,
    /// PEP 440, with pre-PEP 440 "legacy" versions sorting before all others (PyPI).
    PyPI,
    /// rpm's `rpmvercmp` with epoch and release (Red Hat, Rocky Linux, AlmaLinux, SUSE, ...).
    Rpm,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// SemVer 2.0 precedence, tolerating a leading `v`, any number of numeric components of
    /// any size and missing components (Go, crates.io, npm, OSV `SEMVER` ranges).
    SemVer,
}

impl Scheme {
    /// Parses `input` as a version of this scheme; see [`crate::Version::parse`].
    pub fn parse(self, input: &str) -> Result<crate::Version, Error> {
        crate::Version::parse(self, input)
    }

    /// A short lower-case name, used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alpine => "alpine",
            Self::Debian => "debian",
            Self::Maven => "maven",
            Self::NuGet => "nuget",
            Self::Packagist => "packagist",
            Self::PyPI => "pypi",
            Self::Rpm => "rpm",
            Self::RubyGems => "rubygems",
            Self::SemVer => "semver",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ecosystems whose version ordering is known, by OSV name (the part before `:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EcosystemKind {
    /// `AlmaLinux[:<release>]`.
    AlmaLinux,
    /// `Alpaquita:<release>` (BellSoft).
    Alpaquita,
    /// `Alpine:v<major>.<minor>`.
    Alpine,
    /// `Bitnami`.
    Bitnami,
    /// `Chainguard`.
    Chainguard,
    /// `crates.io`.
    CratesIo,
    /// `Debian[:<release>]`, e.g. `Debian:12`, `Debian:sid`.
    Debian,
    /// `Go`.
    Go,
    /// `Hex`.
    Hex,
    /// `Mageia:<release>`.
    Mageia,
    /// `Maven[:<repository URL>]`.
    Maven,
    /// `MinimOS`.
    MinimOs,
    /// `npm`.
    Npm,
    /// `NuGet`.
    NuGet,
    /// `openEuler:<release>`.
    OpenEuler,
    /// `openSUSE:<release>`.
    OpenSuse,
    /// `Packagist[:<repository URL>]`.
    Packagist,
    /// `Pub`.
    Pub,
    /// `PyPI`.
    PyPI,
    /// `Red Hat[:<CPE suffix>]`, e.g. `Red Hat:enterprise_linux:9::appstream`.
    RedHat,
    /// `Rocky Linux[:<release>]`.
    RockyLinux,
    /// `RubyGems`.
    RubyGems,
    /// `SUSE:<product>`.
    Suse,
    /// `SwiftURL`.
    SwiftUrl,
    /// `Ubuntu:<YY.MM>[:LTS]`, also `Ubuntu:Pro:<YY.MM>:LTS`.
    Ubuntu,
    /// `Wolfi`.
    Wolfi,
}

/// Every kind with its OSV name, in one table so parsing and printing cannot drift apart.
const NAMES: &[(EcosystemKind, &str)] = &[
    (EcosystemKind::AlmaLinux, "AlmaLinux"),
    (EcosystemKind::Alpaquita, "Alpaquita"),
    (EcosystemKind::Alpine, "Alpine"),
    (EcosystemKind::Bitnami, "Bitnami"),
    (EcosystemKind::Chainguard, "Chainguard"),
    (EcosystemKind::CratesIo, "crates.io"),
    (EcosystemKind::Debian, "Debian"),
    (EcosystemKind::Go, "Go"),
    (EcosystemKind::Hex, "Hex"),
    (EcosystemKind::Mageia, "Mageia"),
    (EcosystemKind::Maven, "Maven"),
    (EcosystemKind::MinimOs, "MinimOS"),
    (EcosystemKind::Npm, "npm"),
    (EcosystemKind::NuGet, "NuGet"),
    (EcosystemKind::OpenEuler, "openEuler"),
    (EcosystemKind::OpenSuse, "openSUSE"),
    (EcosystemKind::Packagist, "Packagist"),
    (EcosystemKind::Pub, "Pub"),
    (EcosystemKind::PyPI, "PyPI"),
    (EcosystemKind::RedHat, "Red Hat"),
    (EcosystemKind::RockyLinux, "Rocky Linux"),
    (EcosystemKind::RubyGems, "RubyGems"),
    (EcosystemKind::Suse, "SUSE"),
    (EcosystemKind::SwiftUrl, "SwiftURL"),
    (EcosystemKind::Ubuntu, "Ubuntu"),
    (EcosystemKind::Wolfi, "Wolfi"),
];

impl EcosystemKind {
    /// The OSV name, e.g. `"Red Hat"`.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("", |(_, name)| name)
    }

    /// The version-ordering scheme of this ecosystem (osv-scalibr `semantic/parse.go`).
    pub fn scheme(self) -> Scheme {
        match self {
            Self::Alpine | Self::Alpaquita | Self::Chainguard | Self::MinimOs | Self::Wolfi => {
                Scheme::Alpine
            }
            Self::Debian | Self::Ubuntu => Scheme::Debian,
            Self::AlmaLinux
            | Self::Mageia
            | Self::OpenEuler
            | Self::OpenSuse
            | Self::RedHat
            | Self::RockyLinux
            | Self::Suse => Scheme::Rpm,
            Self::Bitnami
            | Self::CratesIo
            | Self::Go
            | Self::Hex
            | Self::Npm
            | Self::Pub
            | Self::SwiftUrl => Scheme::SemVer,
            Self::Maven => Scheme::Maven,
            Self::NuGet => Scheme::NuGet,
            Self::Packagist => Scheme::Packagist,
            Self::PyPI => Scheme::PyPI,
            Self::RubyGems => Scheme::RubyGems,
        }
    }
}

/// An OSV ecosystem string such as `Debian:12`, `Alpine:v3.19` or `PyPI`, parsed.
///
/// The part before the first `:` names the [`EcosystemKind`] (case-sensitive, as in the
/// OSV schema); the rest, if any, is kept verbatim as the [qualifier](Self::qualifier)
/// (a distro release, a repository URL). Two ecosystems are equal when both parts are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ecosystem {
    kind: EcosystemKind,
    qualifier: Option<String>,
}

impl Ecosystem {
    /// An ecosystem without qualifier, e.g. `PyPI`.
    pub fn new(kind: EcosystemKind) -> Self {
        Self {
            kind,
            qualifier: None,
        }
    }

    /// The ecosystem's kind.
    pub fn kind(&self) -> EcosystemKind {
        self.kind
    }

    /// The text after the first `:`, e.g. `"12"` for `Debian:12`, `"v3.19"` for
    /// `Alpine:v3.19`.
    pub fn qualifier(&self) -> Option<&str> {
        self.qualifier.as_deref()
    }

    /// The version-ordering scheme of this ecosystem.
    pub fn scheme(&self) -> Scheme {
        self.kind.scheme()
    }
}

impl FromStr for Ecosystem {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let (name, qualifier) = match input.split_once(':') {
            Some((name, rest)) => (name, Some(rest)),
            None => (input, None),
        };
        let kind = NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(kind, _)| *kind)
            .ok_or_else(|| Error::UnsupportedEcosystem {
                input: input.to_owned(),
            })?;
        let invalid = |reason| Error::InvalidEcosystem {
            input: input.to_owned(),
            reason,
        };
        let qualifier = match qualifier {
            None => None,
            Some("") => return Err(invalid("empty text after ':'")),
            Some(q) if q.chars().any(char::is_control) => {
                return Err(invalid("control character in the qualifier"));
            }
            Some(q) => Some(q.to_owned()),
        };
        // The schema requires the `v` for Alpine releases (`Alpine:v3.19`); a bare number
        // is a common mistake that would silently never match, so it is rejected.
        if kind == EcosystemKind::Alpine
            && qualifier.as_deref().is_some_and(|q| !q.starts_with('v'))
        {
            return Err(invalid("Alpine releases are written v<major>.<minor>"));
        }
        Ok(Self { kind, qualifier })
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(q) = &self.qualifier {
            write!(f, ":{q}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_osv_names() {
        let cases = [
            ("Debian", EcosystemKind::Debian, None, Scheme::Debian),
            (
                "Debian:12",
                EcosystemKind::Debian,
                Some("12"),
                Scheme::Debian,
            ),
            (
                "Ubuntu:22.04:LTS",
                EcosystemKind::Ubuntu,
                Some("22.04:LTS"),
                Scheme::Debian,
            ),
            (
                "Alpine:v3.19",
                EcosystemKind::Alpine,
                Some("v3.19"),
                Scheme::Alpine,
            ),
            ("PyPI", EcosystemKind::PyPI, None, Scheme::PyPI),
            ("Go", EcosystemKind::Go, None, Scheme::SemVer),
            ("crates.io", EcosystemKind::CratesIo, None, Scheme::SemVer),
            ("npm", EcosystemKind::Npm, None, Scheme::SemVer),
            ("Maven", EcosystemKind::Maven, None, Scheme::Maven),
            (
                "Maven:https://maven.google.com",
                EcosystemKind::Maven,
                Some("https://maven.google.com"),
                Scheme::Maven,
            ),
            ("RubyGems", EcosystemKind::RubyGems, None, Scheme::RubyGems),
            ("NuGet", EcosystemKind::NuGet, None, Scheme::NuGet),
            (
                "Packagist",
                EcosystemKind::Packagist,
                None,
                Scheme::Packagist,
            ),
            (
                "Red Hat:enterprise_linux:9::appstream",
                EcosystemKind::RedHat,
                Some("enterprise_linux:9::appstream"),
                Scheme::Rpm,
            ),
            (
                "Rocky Linux:9",
                EcosystemKind::RockyLinux,
                Some("9"),
                Scheme::Rpm,
            ),
            (
                "AlmaLinux:8",
                EcosystemKind::AlmaLinux,
                Some("8"),
                Scheme::Rpm,
            ),
        ];
        for (input, kind, qualifier, scheme) in cases {
            let eco: Ecosystem = input.parse().expect(input);
            assert_eq!(eco.kind(), kind, "{input}");
            assert_eq!(eco.qualifier(), qualifier, "{input}");
            assert_eq!(eco.scheme(), scheme, "{input}");
            assert_eq!(eco.to_string(), input, "round trip");
        }
    }

    #[test]
    fn rejects_unknown_and_malformed() {
        for input in ["pypi", "GIT", "Linux", "", "Debian ", "OSS-Fuzz"] {
            assert!(
                matches!(
                    input.parse::<Ecosystem>(),
                    Err(Error::UnsupportedEcosystem { .. })
                ),
                "{input}"
            );
        }
        for input in ["Debian:", "Alpine:3.19", "Debian:1\n2"] {
            assert!(
                matches!(
                    input.parse::<Ecosystem>(),
                    Err(Error::InvalidEcosystem { .. })
                ),
                "{input}"
            );
        }
    }
}
