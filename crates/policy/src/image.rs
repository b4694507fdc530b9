//! Image references as Kyverno sees them, and Kyverno's wildcard matcher.
//!
//! Kyverno matches `imageReferences` against `ImageInfo.String()`
//! (`kyverno/kyverno:pkg/utils/image/infos.go`): the registry is defaulted to `docker.io`
//! **without** inserting `library/`, the tag defaults to `latest`, and when a digest is present
//! the tag is dropped. Matching is `IGLOU-EU/go-wildcard` v1.0.3 (`K:ext/wildcard/match.go`):
//! `*` is any run of characters (including `/`, `:` and `@`), `?` exactly one character,
//! everything else literal, anchored at both ends, case-sensitive.

use crate::error::{Error, Result};

/// Kyverno's default registry (`defaultRegistry`).
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// `wildcard.Match(pattern, value)`: `*` matches any run (also empty), `?` exactly one
/// character. Linear-time two-pointer matching with one backtrack point (no recursion, so a
/// hostile pattern cannot blow up).
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == v[vi])) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// An image reference split the way Kyverno splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Registry host[:port] (`docker.io` when the reference names none).
    pub registry: String,
    /// Repository path inside the registry (`nginx`, `acme/api`).
    pub path: String,
    /// Tag, `latest` when the reference has neither tag nor digest.
    pub tag: Option<String>,
    /// `sha256:<hex>` when the reference pins one.
    pub digest: Option<String>,
}

impl ImageInfo {
    /// Parses a container image string as written in a pod spec.
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = |reason: &'static str| Error::BadImage {
            image: raw.to_owned(),
            reason,
        };
        if raw.is_empty() || raw.len() > 4096 || raw.chars().any(char::is_whitespace) {
            return Err(bad("empty, too long or contains whitespace"));
        }
        let (name_tag, digest) = match raw.split_once('@') {
            Some((n, d)) => {
                let (alg, hex) = d
                    .split_once(':')
                    .ok_or_else(|| bad("digest is not ALG:HEX"))?;
                if alg.is_empty() || hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(bad("digest is not ALG:HEX"));
                }
                (n, Some(d.to_owned()))
            }
            None => (raw, None),
        };
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(name_tag[last_slash + i + 1..].to_owned()),
            ),
            None => (name_tag, None),
        };
        if name.is_empty() || tag.as_deref() == Some("") {
            return Err(bad("empty name or tag"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DEFAULT_REGISTRY.to_owned(), name.to_owned()),
        };
        if path.is_empty() || path.split('/').any(str::is_empty) {
            return Err(bad("empty path component"));
        }
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            _ => tag,
        };
        Ok(Self {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// `registry/path`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }

    /// What `imageReferences` patterns match: `registry/path@digest` when pinned, else
    /// `registry/path:tag` (Kyverno `ImageInfo.String()`).
    pub fn kyverno_string(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("{}@{d}", self.name()),
            (None, Some(t)) => format!("{}:{t}", self.name()),
            (None, None) => self.name(),
        }
    }

    /// The `mutateDigest` value: the reference without digest, then `@digest`
    /// (`makeAddDigestPatch`: `ghcr.io/acme/api:v1` → `ghcr.io/acme/api:v1@sha256:…`).
    pub fn pinned(&self, digest: &str) -> String {
        match &self.tag {
            Some(t) => format!("{}:{t}@{digest}", self.name()),
            None => format!("{}@{digest}", self.name()),
        }
    }

    /// go-containerregistry's `ref.Name()`, which policy-controller globs match: Docker Hub
    /// as `index.docker.io` with `library/` for one-component names, `:tag` (default
    /// `latest`) or, when pinned, `@digest` only.
    pub fn ggcr_name(&self) -> String {
        let (registry, path) = if self.registry == DEFAULT_REGISTRY {
            let path = if self.path.contains('/') {
                self.path.clone()
            } else {
                format!("library/{}", self.path)
            };
            ("index.docker.io", path)
        } else {
            (self.registry.as_str(), self.path.clone())
        };
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("{registry}/{path}@{d}"),
            (None, Some(t)) => format!("{registry}/{path}:{t}"),
            (None, None) => format!("{registry}/{path}"),
        }
    }

    /// A reference a registry client understands (`registry/path:tag` or `@digest`).
    pub fn fetch_reference(&self) -> String {
        self.kyverno_string()
    }
}

/// sigstore policy-controller `ClusterImagePolicy` `images[].glob` (`PC:pkg/apis/glob/glob.go`):
/// `*` matches within one path component (`[^/]*`), `**` crosses `/`, everything else is
/// literal, anchored. `*` alone means `index.docker.io/library/*` and `*/*` means
/// `index.docker.io/*/*`. `image` is the fully-qualified name (`index.docker.io/library/nginx:1`).
/// `None` when the glob has characters outside `[a-zA-Z0-9-_:/*.@]` (a validation error there).
pub fn glob_match(glob: &str, image: &str) -> Option<bool> {
    if !glob
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_:/*.@".contains(c))
    {
        return None;
    }
    let glob = match glob {
        "*" => "index.docker.io/library/*",
        "*/*" => "index.docker.io/*/*",
        g => g,
    };
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            if chars.peek() == Some(&'*') {
                chars.next();
                re.push_str(".*");
            } else {
                re.push_str("[^/]*");
            }
        } else {
            re.push_str(&regex::escape(&c.to_string()));
        }
    }
    re.push('$');
    regex::Regex::new(&re).ok().map(|r| r.is_match(image))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_table() {
        // Rows from K:ext/wildcard/match_test.go and the notes' §1.3.
        let rows: &[(&str, &str, bool)] = &[
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything/at:all@sha256:1", true),
            ("a*", "a", true),
            ("a*", "ab/c", true),
            ("?", "", false),
            ("?", "a", true),
            ("my-bucket/abc?", "my-bucket/abc", false),
            ("my-bucket/abc?", "my-bucket/abcd", true),
            ("my-bucket/*/file", "my-bucket/a/b/file", true),
            ("ghcr.io/acme/*", "ghcr.io/acme/api:v1", true),
            ("ghcr.io/acme/*", "ghcr.io/acme/team/app@sha256:ab", true),
            ("ghcr.io/acme/*", "ghcr.io/acmex/api:v1", false),
            ("ghcr.io/o/a:v1*", "ghcr.io/o/a@sha256:ab", false),
            ("*/nginx:*", "docker.io/nginx:latest", true),
            ("docker.io/nginx*", "docker.io/library/nginx:1", false),
            ("GHCR.io/*", "ghcr.io/x:1", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("**", "x", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
        ];
        for (pattern, value, want) in rows {
            assert_eq!(
                wildcard_match(pattern, value),
                *want,
                "match({pattern:?}, {value:?})"
            );
        }
    }

    #[test]
    fn policy_controller_glob_table() {
        // Shape of PC:pkg/apis/glob/glob_test.go rows and the notes' §4.1.
        let rows: &[(&str, &str, Option<bool>)] = &[
            ("*", "index.docker.io/library/nginx:1", Some(true)),
            ("*", "index.docker.io/acme/nginx:1", Some(false)),
            ("*/*", "index.docker.io/acme/nginx:1", Some(true)),
            ("ghcr.io/acme/*", "ghcr.io/acme/api:v1", Some(true)),
            ("ghcr.io/acme/*", "ghcr.io/acme/team/app:v1", Some(false)),
            ("ghcr.io/acme/**", "ghcr.io/acme/team/app:v1", Some(true)),
            ("ghcr.io/acme/api", "ghcr.io/acme/api:v1", Some(false)),
            (
                "ghcr.io/acme/api*",
                "ghcr.io/acme/api@sha256:ab",
                Some(true),
            ),
            ("ghcr.io/acme/a.i*", "ghcr.io/acme/abi:1", Some(false)),
            ("ghcr.io/acme/[a]*", "ghcr.io/acme/a", None),
            ("ghcr.io/acme/a?", "ghcr.io/acme/ab", None),
        ];
        for (glob, image, want) in rows {
            assert_eq!(glob_match(glob, image), *want, "glob({glob:?}, {image:?})");
        }
    }

    #[test]
    fn kyverno_normalisation() {
        let rows: &[(&str, &str)] = &[
            ("nginx", "docker.io/nginx:latest"),
            ("nginx:1.27", "docker.io/nginx:1.27"),
            ("library/nginx", "docker.io/library/nginx:latest"),
            ("ghcr.io/acme/api:v1", "ghcr.io/acme/api:v1"),
            ("ghcr.io/o/a:v1@sha256:abcd", "ghcr.io/o/a@sha256:abcd"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/a/b:t", "localhost:5000/a/b:t"),
            ("127.0.0.1:5000/a@sha256:00", "127.0.0.1:5000/a@sha256:00"),
        ];
        for (raw, want) in rows {
            assert_eq!(
                ImageInfo::parse(raw).unwrap().kyverno_string(),
                *want,
                "{raw}"
            );
        }
        let i = ImageInfo::parse("ghcr.io/acme/api:v1.4.0").unwrap();
        assert_eq!(i.pinned("sha256:ff"), "ghcr.io/acme/api:v1.4.0@sha256:ff");
        let i = ImageInfo::parse("nginx").unwrap();
        assert_eq!(i.pinned("sha256:ff"), "docker.io/nginx:latest@sha256:ff");
        for bad in [
            "",
            "a b",
            "x@sha256",
            "x@:ab",
            "x:",
            "/x",
            "a//b",
            "x@sha256:zz",
        ] {
            assert!(
                matches!(ImageInfo::parse(bad), Err(Error::BadImage { .. })),
                "{bad:?}"
            );
        }
    }
}
