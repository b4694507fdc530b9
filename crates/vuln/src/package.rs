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
    /// For rpm packages: the epoch (syft writes it as a purl qualifier, not in the version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// Where the SBOM says the package was found (absolute paths), when it says; grype's
    /// ignore rules can match on them (`package.location`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

/// What to look up in the store for a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lookup {
    pub(crate) ecosystem: Ecosystem,
    /// [`ecosystem_key`] of `ecosystem`.
    pub(crate) key: String,
    /// Normalised package names to look up: the source package for deb and apk; for rpm
    /// the binary and the source RPM name (Red Hat, SUSE and the rebuilds name binary
    /// packages, some advisories the source; grype matches rpm both ways too).
    pub(crate) names: Vec<String>,
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
        let epoch = qual("epoch").filter(|e| e != "0" || kind == "rpm");
        Ok(Self {
            kind,
            name,
            version,
            purl: Some(purl.to_owned()),
            source_name,
            source_version,
            distro,
            epoch,
            locations: Vec::new(),
        })
    }

    /// The package type as syft names it (`python`, `go-module`, `java-archive`, …), which
    /// is what grype's ignore rules and reports call `type`.
    pub fn syft_type(&self) -> &str {
        match self.kind.as_str() {
            "pypi" => "python",
            "golang" => "go-module",
            "cargo" => "rust-crate",
            "maven" => "java-archive",
            "composer" => "php-composer",
            "nuget" => "dotnet",
            "gem" => "gem",
            "hex" => "hex",
            "pub" => "dart-pub",
            "swift" => "swift",
            "cocoapods" => "pod",
            "conan" => "conan",
            other => other,
        }
    }

    /// For OS packages (deb, apk, rpm): the distro as the SBOM names it.
    pub fn os_distro(&self) -> Option<String> {
        matches!(self.kind.as_str(), "deb" | "apk" | "rpm").then(|| {
            self.distro
                .clone()
                .unwrap_or_else(|| "unknown distro".to_owned())
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
            "deb" | "apk" => {
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
            "rpm" => {
                let ecosystem = self.distro_ecosystem()?;
                // rpm versions compare with their epoch (`1:3.0.7-27.el9`); advisories
                // write it, syft keeps it in a qualifier.
                let version = match &self.epoch {
                    Some(e) if !self.version.contains(':') => format!("{e}:{}", self.version),
                    _ => self.version.clone(),
                };
                let mut names = vec![normalize_name(ecosystem.kind(), &self.name)];
                if let Some(src) = self.source_name.as_deref().and_then(source_rpm_name) {
                    let src = normalize_name(ecosystem.kind(), src);
                    if !names.contains(&src) {
                        names.push(src);
                    }
                }
                return Ok(Lookup {
                    key: ecosystem_key(&ecosystem),
                    names,
                    ecosystem,
                    version,
                });
            }
            other => return Err(format!("package type {other:?} has no OSV ecosystem")),
        };
        Ok(Lookup {
            key: ecosystem_key(&ecosystem),
            names: vec![normalize_name(ecosystem.kind(), &name)],
            ecosystem,
            version,
        })
    }

    /// The OSV ecosystem of the package's distro release (notes §4.4; distro ids are
    /// os-release `ID`s as syft writes them, `<ID>-<VERSION_ID>`):
    ///
    /// | distro | ecosystem |
    /// |---|---|
    /// | `debian-12.5` | `Debian:12` |
    /// | `ubuntu-22.04` | `Ubuntu:22.04` |
    /// | `alpine-3.19.1` | `Alpine:v3.19` |
    /// | `rhel-9.3` (RHEL, UBI) | `Red Hat:enterprise_linux:9` |
    /// | `rocky-9.3`, `almalinux-9.3` | `Rocky Linux:9`, `AlmaLinux:9` |
    /// | `sles-15.5` | `SUSE:Linux Enterprise 15 SP5` |
    /// | `sle-micro-5.5` | `SUSE:Linux Enterprise Micro 5.5` |
    /// | `opensuse-leap-15.5`, `opensuse-tumbleweed-…` | `openSUSE:Leap 15.5`, `openSUSE:Tumbleweed` |
    /// | `wolfi-…`, `chainguard-…` | `Wolfi`, `Chainguard` |
    ///
    /// Amazon Linux (`amzn`) and CentOS have no OSV data at osv.dev; they are refused with
    /// that reason rather than matched against another distro's advisories.
    fn distro_ecosystem(&self) -> Result<Ecosystem, String> {
        let distro = self
            .distro
            .as_deref()
            .ok_or_else(|| format!("{} package without a distro release", self.kind))?;
        // The id may itself contain `-` (`opensuse-leap`, `sle-micro`): the release is what
        // follows the last `-`, if it starts with a digit.
        let (id, release) = match distro.rsplit_once('-') {
            Some((id, rel)) if rel.starts_with(|c: char| c.is_ascii_digit()) => (id, rel),
            _ => (distro, ""),
        };
        let id = id.to_ascii_lowercase();
        let mut parts = release.split('.');
        let major = parts.next().unwrap_or("");
        let minor = parts.next();
        let need_release = || {
            if major.is_empty() {
                Err(format!("distro {distro:?} has no release number"))
            } else {
                Ok(())
            }
        };
        let text = match id.as_str() {
            "debian" => {
                need_release()?;
                format!("Debian:{major}")
            }
            "ubuntu" => {
                need_release()?;
                format!("Ubuntu:{major}.{}", minor.unwrap_or("04"))
            }
            "alpine" => {
                need_release()?;
                format!(
                    "Alpine:v{major}.{}",
                    minor.ok_or_else(|| format!("distro {distro:?}: Alpine needs major.minor"))?
                )
            }
            "rhel" | "redhat" => {
                need_release()?;
                format!("Red Hat:enterprise_linux:{major}")
            }
            "rocky" => {
                need_release()?;
                format!("Rocky Linux:{major}")
            }
            "almalinux" => {
                need_release()?;
                format!("AlmaLinux:{major}")
            }
            "sles" | "sled" | "sles_sap" => {
                need_release()?;
                match minor.filter(|m| *m != "0") {
                    Some(sp) => format!("SUSE:Linux Enterprise {major} SP{sp}"),
                    None => format!("SUSE:Linux Enterprise {major}"),
                }
            }
            "sle-micro" | "sle_micro" => {
                need_release()?;
                format!("SUSE:Linux Enterprise Micro {release}")
            }
            "opensuse-leap" => {
                need_release()?;
                format!("openSUSE:Leap {release}")
            }
            "opensuse-leap-micro" => {
                need_release()?;
                format!("openSUSE:Leap Micro {release}")
            }
            "opensuse-tumbleweed" | "opensuse" if release.len() >= 8 || release.is_empty() => {
                "openSUSE:Tumbleweed".to_owned()
            }
            "wolfi" => "Wolfi".to_owned(),
            "chainguard" => "Chainguard".to_owned(),
            "amzn" => {
                return Err(format!(
                    "distro {distro:?} (Amazon Linux): osv.dev publishes no Amazon Linux \
                     advisories, so vouch cannot match its packages"
                ));
            }
            "centos" => {
                return Err(format!(
                    "distro {distro:?} (CentOS): osv.dev publishes no CentOS advisories, so \
                     vouch cannot match its packages"
                ));
            }
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

/// `glibc-2.34-83.el9.src.rpm` -> `glibc` (the source RPM file name syft records as the
/// `upstream` qualifier: `<name>-<version>-<release>.src.rpm`); a bare name is kept.
fn source_rpm_name(upstream: &str) -> Option<&str> {
    let Some(stem) = upstream
        .strip_suffix(".src.rpm")
        .or_else(|| upstream.strip_suffix(".nosrc.rpm"))
    else {
        return Some(upstream).filter(|u| !u.is_empty());
    };
    let (rest, _release) = stem.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    Some(name).filter(|n| !n.is_empty())
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
                (l.key.as_str(), l.names[0].as_str(), l.version.as_str()),
                (eco, name, version),
                "{purl}"
            );
        }
        let rpm = Package::from_purl(
            "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm&distro=rhel-9.3",
        )
        .expect("rpm purl");
        let l = rpm.lookup().expect("rhel maps");
        assert_eq!(
            (l.key.as_str(), l.names.clone(), l.version.as_str()),
            (
                "Red Hat:enterprise_linux:9",
                vec!["openssl-libs".to_owned(), "openssl".to_owned()],
                "1:3.0.7-24.el9"
            )
        );
        for (purl, key) in [
            (
                "pkg:rpm/sles/zlib@1.2.13-150500.4.3.1?distro=sles-15.5",
                "SUSE:Linux Enterprise 15 SP5",
            ),
            (
                "pkg:rpm/opensuse/zlib@1.2.13-1.1?distro=opensuse-leap-15.5",
                "openSUSE:Leap 15.5",
            ),
            (
                "pkg:rpm/opensuse/zlib@1.3-1.1?distro=opensuse-tumbleweed-20240101",
                "openSUSE:Tumbleweed",
            ),
            (
                "pkg:rpm/rocky/zlib@1.2.11-40.el9?distro=rocky-9.3",
                "Rocky Linux:9",
            ),
            (
                "pkg:rpm/almalinux/zlib@1.2.11-40.el9?distro=almalinux-9.3",
                "AlmaLinux:9",
            ),
            ("pkg:apk/wolfi/zlib@1.3-r0?distro=wolfi-20230201", "Wolfi"),
            (
                "pkg:apk/chainguard/zlib@1.3-r0?distro=chainguard-20230214",
                "Chainguard",
            ),
            (
                "pkg:deb/ubuntu/zlib1g@1:1.2.11.dfsg-2ubuntu9?upstream=zlib&distro=ubuntu-22.04",
                "Ubuntu:22.04",
            ),
        ] {
            let l = Package::from_purl(purl).expect(purl).lookup().expect(purl);
            assert_eq!(l.key, key, "{purl}");
        }
        let amzn = Package::from_purl("pkg:rpm/amazon/zlib@1.2.11-33.amzn2023?distro=amzn-2023")
            .expect("parses")
            .lookup()
            .expect_err("no OSV data for Amazon Linux");
        assert!(amzn.contains("Amazon Linux"), "{amzn}");
        assert_eq!(source_rpm_name("glibc-2.34-83.el9.src.rpm"), Some("glibc"));
        assert_eq!(
            source_rpm_name("python3.11-3.11.5-1.el9.src.rpm"),
            Some("python3.11")
        );
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
