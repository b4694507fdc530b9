//! Package URLs (<https://github.com/package-url/purl-spec>), written and read with the
//! `packageurl` crate.
//!
//! vouch writes canonical purls: qualifiers sorted by key and `+` percent-encoded, as
//! packageurl-python does. syft writes `distro` last and `+` raw; [`Purl::parse`] reads
//! both, and [`Purl::same_package`] compares purls by their parts, not their bytes.

use std::collections::BTreeMap;
use std::str::FromStr;

use packageurl::PackageUrl;

/// Builds a purl; `None` if the parts break the type's rules (a Maven purl without a
/// namespace, say).
pub fn build(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> Option<String> {
    build_with_subpath(ty, namespace, name, version, qualifiers, None)
}

/// [`build`] with a subpath (`#cmd/registry`).
pub fn build_with_subpath(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
    subpath: Option<&str>,
) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let mut p = PackageUrl::new(ty, name).ok()?;
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        p.with_namespace(ns).ok()?;
    }
    if !version.is_empty() {
        p.with_version(version).ok()?;
    }
    for (k, v) in qualifiers {
        if !v.is_empty() {
            p.add_qualifier(*k, *v).ok()?;
        }
    }
    if let Some(sp) = subpath.filter(|s| !s.is_empty()) {
        p.with_subpath(sp).ok()?;
    }
    let out = p.to_string();
    // The packageurl crate lower-cases golang namespaces (an old reading of the spec), but
    // Go module paths are case-sensitive (github.com/BurntSushi/toml); syft, the Go proxy
    // and OSV keep the case, and so does vouch.
    if ty == "golang"
        && let Some(ns) = namespace.filter(|n| n.chars().any(|c| c.is_ascii_uppercase()))
        && ns
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | '/'))
    {
        let lower = format!("pkg:golang/{}/", ns.to_ascii_lowercase());
        if let Some(rest) = out.strip_prefix(&lower) {
            return Some(format!("pkg:golang/{ns}/{rest}"));
        }
    }
    Some(out)
}

/// A purl taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// `deb`, `pypi`, …
    pub ty: String,
    /// Namespace (`debian`, `@scope`, `github.com/org`).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Qualifiers, sorted.
    pub qualifiers: BTreeMap<String, String>,
}

impl Purl {
    /// Parses a purl in any qualifier order, with `+` raw or encoded.
    pub fn parse(s: &str) -> Option<Self> {
        let p = PackageUrl::from_str(s).ok()?;
        Some(Self {
            ty: p.ty().to_owned(),
            namespace: p.namespace().map(str::to_owned),
            name: p.name().to_owned(),
            version: p.version().map(str::to_owned),
            qualifiers: p
                .qualifiers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    /// Same type, namespace, name and version; qualifiers equal where both have them,
    /// with `distro` compared by its major version (`debian-12` = `debian-12.11`).
    pub fn same_package(&self, other: &Self) -> bool {
        if self.ty != other.ty
            || self.namespace != other.namespace
            || self.name != other.name
            || self.version != other.version
        {
            return false;
        }
        self.qualifiers
            .iter()
            .all(|(k, v)| match other.qualifiers.get(k) {
                None => true,
                Some(w) if k == "distro" => distro_major(v) == distro_major(w),
                Some(w) => v == w,
            })
    }
}

fn distro_major(d: &str) -> &str {
    match d.find('.') {
        Some(i) => &d[..i],
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syft_and_canonical_forms_agree() {
        let syft = Purl::parse(
            "pkg:deb/debian/libc6@1:2.36-9+deb12u4?arch=amd64&upstream=glibc&distro=debian-12",
        )
        .unwrap();
        let ours = build(
            "deb",
            Some("debian"),
            "libc6",
            "1:2.36-9+deb12u4",
            &[
                ("arch", "amd64"),
                ("distro", "debian-12.11"),
                ("upstream", "glibc"),
            ],
        )
        .unwrap();
        assert_eq!(
            ours,
            "pkg:deb/debian/libc6@1:2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.11&upstream=glibc"
        );
        assert!(Purl::parse(&ours).unwrap().same_package(&syft));
        assert_eq!(
            build("npm", Some("@actions"), "core", "1.6.0", &[]).unwrap(),
            "pkg:npm/%40actions/core@1.6.0"
        );
        assert_eq!(
            build("golang", Some("github.com/cli/cli"), "v2", "v2.63.0", &[]).unwrap(),
            "pkg:golang/github.com/cli/cli/v2@v2.63.0"
        );
        assert_eq!(
            build(
                "golang",
                Some("github.com/BurntSushi"),
                "toml",
                "v1.4.0",
                &[]
            )
            .unwrap(),
            "pkg:golang/github.com/BurntSushi/toml@v1.4.0"
        );
    }
}
