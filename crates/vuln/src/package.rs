//! The scanner's input: one installed package, and how it maps to an OSV ecosystem and
//! package name.
//!
//! Package types are purl types (<https://github.com/package-url/purl-spec>,
//! `PURL-TYPES.rst`); the OSV ecosystem each maps to follows the OSV schema's ecosystem
//! list. OS packages are looked up by their **source** package (Debian source, apk origin)
//! in the advisory ecosystem of their distro release, because that is how distro
//! advisories are written (osv.dev's Debian converter names source packages).

use std::str::FromStr;

use serde::Serialize;
use vouch_version::{Ecosystem, EcosystemKind};

use crate::osv::{ecosystem_key, normalize_name};

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// The purl type: `pypi`, `golang`, `cargo`, `npm`, `maven`, `deb`, `apk`, `rpm`, ...
    pub kind: String,
    /// Name as the ecosystem writes it (`golang.org/x/net`, `org.example:lib`, `@scope/x`).
    pub name: String,
    /// Installed version.
    pub version: String,
    /// The package URL, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// For OS packages: the source package (Debian source, apk origin, source RPM name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// For OS packages: the source package's version when it differs (binNMU `+b1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// For OS packages: distro id and release as syft writes them (`debian-12`,
    /// `alpine-3.19.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
}

/// What to look up in the store for a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lookup {
    pub(crate) ecosystem: Ecosystem,
    /// [`ecosystem_key`] of `ecosystem`.
    pub(crate) key: String,
    /// Normalised package name (the source package for OS packages).
    pub(crate) name: String,
    /// Version to evaluate (the source version for OS packages when known).
    pub(crate) version: String,
}

/// Why a package cannot be matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmatchable {
    /// The package.
    pub package: String,
    /// Why.
    pub reason: String,
}

impl Package {
    /// A package from a purl such as `pkg:pypi/django@3.2.0` or
    /// `pkg:deb/debian/libc6@2.36-9?arch=amd64&upstream=glibc&distro=debian-12`.
    pub fn from_purl(purl: &str) -> Result<Self, String> {
        let p = packageurl::PackageUrl::from_str(purl)
            .map_err(|e| format!("invalid purl {purl:?}: {e}"))?;
        let kind = p.ty().to_ascii_lowercase();
        let version = p
            .version()
            .ok_or_else(|| format!("purl {purl:?} has no version"))?
            .to_owned();
        let ns = p.namespace().filter(|n| !n.is_empty());
        let name = match (kind.as_str(), ns) {
            ("maven", Some(ns)) => format!("{ns}:{}", p.name()),
            ("npm" | "golang" | "composer" | "swift", Some(ns)) => format!("{ns}/{}", p.name()),
            _ => p.name().to_owned(),
        };
        let q = p.qualifiers();
        let qual = |k: &str| q.get(k).map(|v| v.to_string()).filter(|v| !v.is_empty());
        // syft writes `upstream=<source>` or `upstream=<source>@<version>` (notes §1.4).
        let (source_name, source_version) = match qual("upstream") {
            Some(u) => match u.split_once('@') {
                Some((n, v)) => (Some(n.to_owned()), Some(v.to_owned())),
                None => (Some(u), None),
            },
            None => (None, None),
        };
        let distro = qual("distro").or_else(|| {
            // Without a distro qualifier, the namespace still names the distro family.
            ns.filter(|_| matches!(kind.as_str(), "deb" | "apk" | "rpm"))
                .map(str::to_owned)
        });
        Ok(Self {
            kind,
            name,
            version,
            purl: Some(purl.to_owned()),
            source_name,
            source_version,
            distro,
        })
    }

    /// `name@version`, for messages.
    pub fn display(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The OSV ecosystem, name and version to look up, or why there is none.
    pub(crate) fn lookup(&self) -> Result<Lookup, String> {
        let language = |kind: EcosystemKind| {
            (
                Ecosystem::new(kind),
                self.name.clone(),
                self.version.clone(),
            )
        };
        let (ecosystem, name, version) = match self.kind.as_str() {
            "pypi" => language(EcosystemKind::PyPI),
            "cargo" => language(EcosystemKind::CratesIo),
            "npm" => language(EcosystemKind::Npm),
            "maven" => language(EcosystemKind::Maven),
            "gem" => language(EcosystemKind::RubyGems),
            "nuget" => language(EcosystemKind::NuGet),
            "composer" => language(EcosystemKind::Packagist),
            "hex" => language(EcosystemKind::Hex),
            "pub" => language(EcosystemKind::Pub),
            "golang" => {
                // The Go toolchain is module `stdlib` in the Go vulnerability database and its
                // versions are written without the `go` prefix (`go1.21.0` -> `1.21.0`).
                let v = self
                    .version
                    .strip_prefix("go")
                    .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()));
                (
                    Ecosystem::new(EcosystemKind::Go),
                    self.name.clone(),
                    v.unwrap_or(&self.version).to_owned(),
                )
            }
            "deb" | "apk" | "rpm" => {
                let ecosystem = self.distro_ecosystem()?;
                let name = self
                    .source_name
                    .clone()
                    .unwrap_or_else(|| self.name.clone());
                let version = self
                    .source_version
                    .clone()
                    .unwrap_or_else(|| self.version.clone());
                (ecosystem, name, version)
            }
            other => return Err(format!("package type {other:?} has no OSV ecosystem")),
        };
        Ok(Lookup {
            key: ecosystem_key(&ecosystem),
            name: normalize_name(ecosystem.kind(), &name),
            ecosystem,
            version,
        })
    }

    /// `debian-12.5` -> `Debian:12`, `alpine-3.19.1` -> `Alpine:v3.19`,
    /// `ubuntu-22.04` -> `Ubuntu:22.04`, `rocky-9.3` -> `Rocky Linux:9` (notes §4.4).
    fn distro_ecosystem(&self) -> Result<Ecosystem, String> {
        let distro = self
            .distro
            .as_deref()
            .ok_or_else(|| format!("{} package without a distro release", self.kind))?;
        let (id, release) = distro.split_once('-').unwrap_or((distro, ""));
        let id = id.to_ascii_lowercase();
        let mut parts = release.split('.');
        let major = parts.next().unwrap_or("");
        let minor = parts.next();
        if major.is_empty() {
            return Err(format!("distro {distro:?} has no release number"));
        }
        let text = match id.as_str() {
            "debian" => format!("Debian:{major}"),
            "ubuntu" => format!("Ubuntu:{major}.{}", minor.unwrap_or("04")),
            "alpine" => format!(
                "Alpine:v{major}.{}",
                minor.ok_or_else(|| format!("distro {distro:?}: Alpine needs major.minor"))?
            ),
            "rocky" => format!("Rocky Linux:{major}"),
            "almalinux" => format!("AlmaLinux:{major}"),
            "wolfi" => "Wolfi".to_owned(),
            "chainguard" => "Chainguard".to_owned(),
            _ => {
                return Err(format!(
                    "distro {distro:?} has no OSV ecosystem vouch matches"
                ));
            }
        };
        text.parse()
            .map_err(|e: vouch_version::Error| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_map_to_ecosystems() {
        let cases = [
            ("pkg:pypi/PyYAML@5.3.1", "PyPI", "pyyaml", "5.3.1"),
            (
                "pkg:golang/golang.org/x/net@v0.7.0",
                "Go",
                "golang.org/x/net",
                "v0.7.0",
            ),
            ("pkg:golang/stdlib@go1.21.0", "Go", "stdlib", "1.21.0"),
            ("pkg:cargo/hyper@0.14.9", "crates.io", "hyper", "0.14.9"),
            (
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
                "Maven",
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
            ),
            ("pkg:npm/%40babel/core@7.0.0", "npm", "@babel/core", "7.0.0"),
            (
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&upstream=glibc&distro=debian-12.5",
                "Debian:12",
                "glibc",
                "2.36-9+deb12u3",
            ),
            (
                "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?upstream=openssl%403.0.11-1~deb12u2&distro=debian-12",
                "Debian:12",
                "openssl",
                "3.0.11-1~deb12u2",
            ),
            (
                "pkg:apk/alpine/libcrypto3@3.1.4-r1?arch=x86_64&upstream=openssl&distro=alpine-3.19.1",
                "Alpine:v3.19",
                "openssl",
                "3.1.4-r1",
            ),
        ];
        for (purl, eco, name, version) in cases {
            let p = Package::from_purl(purl).expect(purl);
            let l = p.lookup().expect(purl);
            assert_eq!(
                (l.key.as_str(), l.name.as_str(), l.version.as_str()),
                (eco, name, version),
                "{purl}"
            );
        }
        // A distro family without a release cannot pick the advisory ecosystem.
        assert!(
            Package::from_purl("pkg:deb/debian/x@1?arch=amd64")
                .expect("parses")
                .lookup()
                .is_err()
        );
        assert!(
            Package::from_purl("pkg:deb/x@1")
                .expect("parses")
                .lookup()
                .is_err()
        );
        assert!(
            Package::from_purl("pkg:generic/x@1")
                .expect("parses")
                .lookup()
                .is_err()
        );
        assert!(Package::from_purl("not a purl").is_err());
    }
}
