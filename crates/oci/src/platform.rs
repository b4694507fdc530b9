//! Platforms (`os/arch[/variant]`) and choosing one from a multi-platform index.
//!
//! Matching follows containerd's `platforms` package: `os` and `architecture` must be equal
//! (after normalising Go/uname aliases such as `x86_64` -> `amd64`, `aarch64` -> `arm64`),
//! and a variant asked for must be equal; an unasked variant matches any, preferring the
//! normalised default (`arm64` -> `v8`, `arm` -> `v7`).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A target platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// Architecture in Go's spelling (`amd64`, `arm64`).
    pub architecture: String,
    /// CPU variant (`v7`, `v8`), if any.
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of this machine, as a container runtime here would pick.
    pub fn host() -> Self {
        let arch = normalise_arch(std::env::consts::ARCH);
        Self {
            os: "linux".into(),
            architecture: arch.0,
            variant: arch.1,
        }
    }

    /// Whether an index entry with `other`'s platform fits this wanted platform.
    pub fn matches(&self, other: &Self) -> bool {
        let (a, av) = normalise_arch(&other.architecture);
        let variant = other.variant.clone().or(av);
        self.os == other.os.to_ascii_lowercase()
            && self.architecture == a
            && match &self.variant {
                Some(v) => variant.as_deref() == Some(v.as_str()),
                None => true,
            }
    }

    /// From an `oci-spec` descriptor platform.
    pub fn from_oci(p: &oci_spec::image::Platform) -> Self {
        Self {
            os: p.os().to_string(),
            architecture: p.architecture().to_string(),
            variant: p.variant().clone(),
        }
    }
}

/// Go/uname aliases, as containerd's `platforms.Normalize`.
fn normalise_arch(arch: &str) -> (String, Option<String>) {
    let lower = arch.to_ascii_lowercase();
    let (a, v) = match lower.as_str() {
        "x86_64" | "x86-64" | "amd64" => ("amd64", None),
        "aarch64" | "arm64" => ("arm64", None),
        "armhf" | "armel" | "arm" => ("arm", None),
        "i386" | "i686" | "386" => ("386", None),
        other => return (other.to_owned(), None),
    };
    (a.to_owned(), v)
}

impl FromStr for Platform {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(ok) {
            return Err(Error::BadPlatform(s.into()));
        }
        let (architecture, default_variant) = normalise_arch(parts[1]);
        Ok(Self {
            os: parts[0].to_ascii_lowercase(),
            architecture,
            variant: parts
                .get(2)
                .map(|v| v.to_ascii_lowercase())
                .or(default_variant),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().expect(s)
    }

    #[test]
    fn parse_and_match_table() {
        assert_eq!(p("linux/x86_64"), p("linux/amd64"));
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
        assert!(p("linux/amd64").matches(&p("linux/amd64")));
        assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
        assert!(p("linux/arm/v7").matches(&p("linux/arm/v7")));
        assert!(!p("linux/arm/v7").matches(&p("linux/arm/v6")));
        assert!(!p("linux/amd64").matches(&p("linux/arm64")));
        assert!(!p("linux/amd64").matches(&p("windows/amd64")));
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/amd 64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
        assert_eq!(Platform::host().os, "linux");
    }
}
