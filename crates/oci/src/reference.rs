//! Image references, parsed and normalised as the Docker/OCI ecosystem does.
//!
//! Grammar: `distribution/reference` (`reference.go`, `normalize.go`):
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] path-component ( "/" path-component )*
//! domain     := host [ ":" port ]            host: DNS labels, or an IPv6 literal in brackets
//! path-comp  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! digest     := algorithm ":" hex            (sha256: 64 lower-case hex, sha512: 128)
//! ```
//!
//! The first component is a domain only if it contains `.` or `:`, is `localhost`, or has
//! upper-case letters (which are then refused as a domain would be, not silently lowered).
//! Otherwise the domain is `docker.io`, and a single-component path gets `library/`.
//! `index.docker.io` is the same registry as `docker.io`. A reference with neither tag nor
//! digest gets the tag `latest`.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

/// The registry Docker Hub references resolve to.
pub const DOCKER_HUB: &str = "docker.io";
/// The host actually serving Docker Hub's registry API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// Why a reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Empty input.
    #[error("empty image reference")]
    Empty,
    /// Repository path has upper-case letters.
    #[error("invalid reference {0:?}: repository name must be lowercase")]
    Uppercase(String),
    /// The domain part is not a host name or address.
    #[error("invalid reference {input:?}: bad registry host {domain:?}")]
    BadDomain {
        /// The whole input.
        input: String,
        /// The offending domain.
        domain: String,
    },
    /// A path component breaks the grammar.
    #[error("invalid reference {input:?}: bad repository path component {component:?}")]
    BadPathComponent {
        /// The whole input.
        input: String,
        /// The offending component.
        component: String,
    },
    /// The tag breaks the grammar.
    #[error("invalid reference {input:?}: bad tag {tag:?}")]
    BadTag {
        /// The whole input.
        input: String,
        /// The offending tag.
        tag: String,
    },
    /// The digest is not `algorithm:hex` of the right length.
    #[error("invalid reference {input:?}: bad digest: {reason}")]
    BadDigest {
        /// The whole input.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The name is longer than 255 characters.
    #[error("invalid reference: repository name longer than {MAX_NAME_LEN} characters")]
    TooLong,
}

/// A fully normalised image reference: registry, repository, and tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `input` (`nginx`, `ghcr.io/a/b:v1`, `localhost:5000/x@sha256:…`).
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                let digest = d.parse::<Digest>().map_err(|e| ReferenceError::BadDigest {
                    input: input.into(),
                    reason: e.to_string(),
                })?;
                (r, Some(digest))
            }
            None => (input, None),
        };
        // A tag follows the last ':' that comes after the last '/'; a ':' before it is a port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            validate_tag(input, t)?;
        }
        let (registry, path) = split_domain(input, name)?;
        if name.len() > MAX_NAME_LEN {
            return Err(ReferenceError::TooLong);
        }
        for component in path.split('/') {
            validate_path_component(input, component)?;
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, None) => Some("latest".to_owned()),
            (None, Some(_)) => None,
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// A reference to `repository` in `registry` by digest.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            tag: None,
            ..self.clone()
        }
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        validate_tag(tag, tag)?;
        Ok(Self {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    /// The registry (`docker.io`, `ghcr.io`, `localhost:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host that serves the registry API (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The repository path (`library/nginx`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any (`latest` when neither tag nor digest was given).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest when pinned (a digest wins over a tag,
    /// as in Docker), else the tag.
    pub fn selector(&self) -> Selector {
        match (&self.digest, &self.tag) {
            (Some(d), _) => Selector::Digest(d.clone()),
            (None, Some(t)) => Selector::Tag(t.clone()),
            (None, None) => Selector::Tag("latest".into()),
        }
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A manifest is named by tag or by digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// A mutable tag.
    Tag(String),
    /// An immutable content digest.
    Digest(Digest),
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(t) => f.write_str(t),
            Self::Digest(d) => write!(f, "{d}"),
        }
    }
}

fn split_domain<'a>(input: &str, name: &'a str) -> Result<(String, &'a str), ReferenceError> {
    let Some((first, rest)) = name.split_once('/') else {
        return Ok((DOCKER_HUB.to_owned(), name));
    };
    let is_domain = first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase());
    if !is_domain {
        return Ok((DOCKER_HUB.to_owned(), name));
    }
    validate_domain(input, first)?;
    let registry = if first == "index.docker.io" {
        DOCKER_HUB
    } else {
        first
    };
    Ok((registry.to_owned(), rest))
}

fn validate_domain(input: &str, domain: &str) -> Result<(), ReferenceError> {
    let bad = || ReferenceError::BadDomain {
        input: input.into(),
        domain: domain.into(),
    };
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
        addr.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        match after {
            "" => return Ok(()),
            p => (None, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match domain.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err())
    {
        return Err(bad());
    }
    if let Some(h) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !h.split('.').all(label_ok) {
            return Err(bad());
        }
        // Upper case is legal in DNS but `distribution/reference` refuses it in a reference
        // domain only when it would make the name ambiguous; we follow its rule: a domain
        // may have upper case (e.g. `Foo.com/x`), a repository path may not.
    }
    Ok(())
}

fn validate_path_component(input: &str, c: &str) -> Result<(), ReferenceError> {
    if c.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase(input.into()));
    }
    let bad = || ReferenceError::BadPathComponent {
        input: input.into(),
        component: c.into(),
    };
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(bad());
    }
    // Separators: ".", "_", "__", or one or more "-"; each between alphanumerics.
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

fn validate_tag(input: &str, t: &str) -> Result<(), ReferenceError> {
    let ok = !t.is_empty()
        && t.len() <= MAX_TAG_LEN
        && t.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::BadTag {
            input: input.into(),
            tag: t.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

    #[test]
    fn normalisation_table() {
        let d = D;
        let cases: &[(&str, &str, &str, Option<&str>, bool)] = &[
            // input, registry, repository, tag, has digest
            ("nginx", "docker.io", "library/nginx", Some("latest"), false),
            (
                "nginx:1.25",
                "docker.io",
                "library/nginx",
                Some("1.25"),
                false,
            ),
            (
                "library/nginx",
                "docker.io",
                "library/nginx",
                Some("latest"),
                false,
            ),
            (
                "docker.io/nginx",
                "docker.io",
                "library/nginx",
                Some("latest"),
                false,
            ),
            (
                "index.docker.io/nginx",
                "docker.io",
                "library/nginx",
                Some("latest"),
                false,
            ),
            (
                "bitnami/redis:7",
                "docker.io",
                "bitnami/redis",
                Some("7"),
                false,
            ),
            (
                "ghcr.io/org/app:v1",
                "ghcr.io",
                "org/app",
                Some("v1"),
                false,
            ),
            ("localhost/app", "localhost", "app", Some("latest"), false),
            (
                "localhost:5000/a/b",
                "localhost:5000",
                "a/b",
                Some("latest"),
                false,
            ),
            (
                "localhost:5000/a/b:t",
                "localhost:5000",
                "a/b",
                Some("t"),
                false,
            ),
            (
                "127.0.0.1:5000/x:y",
                "127.0.0.1:5000",
                "x",
                Some("y"),
                false,
            ),
            ("[::1]:5000/x", "[::1]:5000", "x", Some("latest"), false),
            (
                "quay.io/a/b/c/d",
                "quay.io",
                "a/b/c/d",
                Some("latest"),
                false,
            ),
            (
                "a-b/c__d/e.f_g---h",
                "docker.io",
                "a-b/c__d/e.f_g---h",
                Some("latest"),
                false,
            ),
            // distribution/reference: an upper-case first component is a domain.
            ("Registry/x", "Registry", "x", Some("latest"), false),
            (
                "registry.example.com:443/img",
                "registry.example.com:443",
                "img",
                Some("latest"),
                false,
            ),
        ];
        for (input, reg, repo, tag, _) in cases {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.registry(), *reg, "{input}");
            assert_eq!(r.repository(), *repo, "{input}");
            assert_eq!(r.tag(), *tag, "{input}");
            assert!(r.digest().is_none());
        }
        let r = Reference::parse(&format!("nginx@{d}")).expect("digest ref");
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().map(ToString::to_string).as_deref(), Some(d));
        assert_eq!(r.to_string(), format!("docker.io/library/nginx@{d}"));
        let r = Reference::parse(&format!("localhost:5000/a:v1@{d}")).expect("tag+digest");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.selector(), Selector::Digest(d.parse().expect("digest")));
        assert_eq!(r.to_string(), format!("localhost:5000/a:v1@{d}"));
        assert_eq!(
            Reference::parse("nginx").expect("ok").api_host(),
            "registry-1.docker.io"
        );
    }

    type Check = fn(&ReferenceError) -> bool;

    #[test]
    fn refusals_table() {
        let long = format!("a/{}", "b".repeat(300));
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, ReferenceError::Empty)),
            ("Nginx", |e| matches!(e, ReferenceError::Uppercase(_))),
            ("docker.io/Library/nginx", |e| {
                matches!(e, ReferenceError::Uppercase(_))
            }),
            ("nginx:", |e| matches!(e, ReferenceError::BadTag { .. })),
            ("nginx:-bad", |e| matches!(e, ReferenceError::BadTag { .. })),
            ("nginx:a/b", |e| {
                matches!(e, ReferenceError::BadDomain { .. })
            }),
            ("nginx@sha256:abc", |e| {
                matches!(e, ReferenceError::BadDigest { .. })
            }),
            ("nginx@md5:0123456789abcdef0123456789abcdef", |e| {
                matches!(e, ReferenceError::BadDigest { .. })
            }),
            ("-nginx", |e| {
                matches!(e, ReferenceError::BadPathComponent { .. })
            }),
            ("nginx-", |e| {
                matches!(e, ReferenceError::BadPathComponent { .. })
            }),
            ("a..b", |e| {
                matches!(e, ReferenceError::BadPathComponent { .. })
            }),
            ("a___b", |e| {
                matches!(e, ReferenceError::BadPathComponent { .. })
            }),
            ("a//b", |e| {
                matches!(e, ReferenceError::BadPathComponent { .. })
            }),
            ("localhost:5000/", |e| {
                matches!(e, ReferenceError::BadPathComponent { .. })
            }),
            ("host:99999/x", |e| {
                matches!(e, ReferenceError::BadDomain { .. })
            }),
            ("-host.com/x", |e| {
                matches!(e, ReferenceError::BadDomain { .. })
            }),
            ("[::1/x", |e| matches!(e, ReferenceError::BadDomain { .. })),
            ("a b", |e| {
                matches!(e, ReferenceError::BadPathComponent { .. })
            }),
            (long.as_str(), |e| matches!(e, ReferenceError::TooLong)),
        ];
        for (input, check) in cases {
            match Reference::parse(input) {
                Ok(r) => panic!("{input:?} was accepted as {r}"),
                Err(e) => assert!(check(&e), "{input:?}: unexpected error {e:?}"),
            }
        }
        let tag = format!("x:{}", "t".repeat(129));
        assert!(matches!(
            Reference::parse(&tag),
            Err(ReferenceError::BadTag { .. })
        ));
    }

    #[test]
    fn display_round_trips() {
        for input in [
            "nginx",
            "ghcr.io/a/b:v1",
            "localhost:5000/x/y:z",
            "[::1]:5000/x",
        ] {
            let r = Reference::parse(input).expect("parse");
            assert_eq!(
                Reference::parse(&r.to_string()).expect("reparse"),
                r,
                "{input}"
            );
        }
    }
}
