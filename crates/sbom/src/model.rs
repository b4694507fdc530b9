//! The package model every cataloger fills and every format reads or writes.
//!
//! A [`Package`] is one installed (or declared) piece of software: its ecosystem
//! ([`PackageType`]), name and version, a package URL, CPEs, licences as SPDX expressions,
//! where it was found (with the layer), its supplier and, for OS packages, the source
//! package it was built from. An [`Sbom`] holds the packages of one source with the
//! [`Relationship`]s between them and the [`Warning`]s met on the way.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Ecosystems, named as syft names its package types (`deb`, `go-module`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PackageType {
    /// Debian/Ubuntu dpkg.
    Deb,
    /// Alpine apk.
    Apk,
    /// RPM (Red Hat, Fedora, SUSE…).
    Rpm,
    /// Python distributions (PyPI).
    Python,
    /// JavaScript packages (npm).
    Npm,
    /// Go modules.
    GoModule,
    /// Rust crates.
    RustCrate,
    /// Java archives (Maven coordinates).
    JavaArchive,
    /// Ruby gems.
    Gem,
    /// PHP composer packages.
    PhpComposer,
    /// .NET (NuGet) packages.
    Dotnet,
    /// Anything else a foreign SBOM names.
    Unknown,
}

impl PackageType {
    /// All known types, in display order.
    pub const ALL: [Self; 12] = [
        Self::Deb,
        Self::Apk,
        Self::Rpm,
        Self::Python,
        Self::Npm,
        Self::GoModule,
        Self::RustCrate,
        Self::JavaArchive,
        Self::Gem,
        Self::PhpComposer,
        Self::Dotnet,
        Self::Unknown,
    ];

    /// The name syft uses (`deb`, `go-module`, `java-archive`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::Python => "python",
            Self::Npm => "npm",
            Self::GoModule => "go-module",
            Self::RustCrate => "rust-crate",
            Self::JavaArchive => "java-archive",
            Self::Gem => "gem",
            Self::PhpComposer => "php-composer",
            Self::Dotnet => "dotnet",
            Self::Unknown => "unknown",
        }
    }

    /// Parses a syft type name; unknown names give [`PackageType::Unknown`].
    pub fn from_name(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or(match s {
                "java" | "jenkins-plugin" => Self::JavaArchive,
                _ => Self::Unknown,
            })
    }

    /// The package-URL type for this ecosystem.
    pub fn purl_type(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::Python => "pypi",
            Self::Npm => "npm",
            Self::GoModule => "golang",
            Self::RustCrate => "cargo",
            Self::JavaArchive => "maven",
            Self::Gem => "gem",
            Self::PhpComposer => "composer",
            Self::Dotnet => "nuget",
            Self::Unknown => "generic",
        }
    }

    /// The ecosystem of a package-URL type.
    pub fn from_purl_type(t: &str) -> Self {
        match t {
            "deb" => Self::Deb,
            "apk" => Self::Apk,
            "rpm" => Self::Rpm,
            "pypi" => Self::Python,
            "npm" => Self::Npm,
            "golang" => Self::GoModule,
            "cargo" => Self::RustCrate,
            "maven" => Self::JavaArchive,
            "gem" => Self::Gem,
            "composer" => Self::PhpComposer,
            "nuget" => Self::Dotnet,
            _ => Self::Unknown,
        }
    }

    /// The programming language, for language ecosystems.
    pub fn language(self) -> Option<&'static str> {
        match self {
            Self::Python => Some("python"),
            Self::Npm => Some("javascript"),
            Self::GoModule => Some("go"),
            Self::RustCrate => Some("rust"),
            Self::JavaArchive => Some("java"),
            Self::Gem => Some("ruby"),
            Self::PhpComposer => Some("php"),
            Self::Dotnet => Some("dotnet"),
            Self::Deb | Self::Apk | Self::Rpm | Self::Unknown => None,
        }
    }

    /// Whether this is an operating-system package manager's type.
    pub fn is_os(self) -> bool {
        matches!(self, Self::Deb | Self::Apk | Self::Rpm)
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A layer of the scanned image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// Position, base first.
    pub index: usize,
    /// Digest of the layer blob as the manifest names it.
    pub digest: String,
    /// Digest of the uncompressed layer (the config's `rootfs.diff_ids`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
}

/// Where evidence of a package was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// Absolute path in the image (`/var/lib/dpkg/status`).
    pub path: String,
    /// Index into [`Source::layers`] of the layer that wrote the file; `None` for `dir:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
}

/// The source package an OS package was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePackage {
    /// Source package name.
    pub name: String,
    /// Source version, when it differs from the binary package's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Who supplies a package, as SPDX writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Supplier {
    /// A person, `Name (email)` when the email is known.
    Person(String),
    /// An organisation.
    Organization(String),
}

impl Supplier {
    /// `Person: …` / `Organization: …`.
    pub fn spdx(&self) -> String {
        match self {
            Self::Person(n) => format!("Person: {n}"),
            Self::Organization(n) => format!("Organization: {n}"),
        }
    }

    /// The bare name.
    pub fn name(&self) -> &str {
        match self {
            Self::Person(n) | Self::Organization(n) => n,
        }
    }

    /// Parses `Person: x` / `Organization: x`; `NOASSERTION` and blanks give `None`.
    pub fn parse_spdx(s: &str) -> Option<Self> {
        if let Some(n) = s.strip_prefix("Person:") {
            return Some(Self::Person(n.trim().to_owned()));
        }
        s.strip_prefix("Organization:")
            .map(|n| Self::Organization(n.trim().to_owned()))
    }

    /// A maintainer string such as `Jane Doe <jane@example.org>` as a person, written
    /// `Jane Doe (jane@example.org)`.
    pub fn from_maintainer(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let (name, email) = match s.split_once('<') {
            Some((n, rest)) => (n.trim(), rest.trim_end().trim_end_matches('>').trim()),
            None => (s, ""),
        };
        // SPDX forbids nothing here, but keep it on one line.
        let clean = |x: &str| x.replace(['\n', '\r'], " ");
        let name = if name.is_empty() { email } else { name };
        if name.is_empty() {
            return None;
        }
        Some(if email.is_empty() || email == name {
            Self::Person(clean(name))
        } else {
            Self::Person(format!("{} ({})", clean(name), clean(email)))
        })
    }
}

/// One package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Stable identifier within the SBOM: 16 hex digits derived from type, name, version
    /// and first location.
    pub id: String,
    /// Ecosystem.
    #[serde(rename = "type")]
    pub kind: PackageType,
    /// Name as the ecosystem writes it (Python names normalised as PEP 503 does).
    pub name: String,
    /// Version, exactly as recorded (Debian epochs included).
    pub version: String,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// CPE 2.3 formatted strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpes: Vec<String>,
    /// Declared licences: each an SPDX expression, or `LicenseRef-…` for text that is not
    /// one (see [`crate::license`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Where the package was found; the first is the primary evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    /// Cataloger that found it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub found_by: String,
    /// Supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Supplier>,
    /// Source package (OS packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// Architecture (OS packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Project home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Where the package was downloaded from, when the metadata says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// Index into [`Source::layers`] of the layer that introduced the package: the layer
    /// that wrote its package-specific evidence (a dpkg `info/NAME.list`, a `METADATA`),
    /// which for shared databases is more precise than the database file's layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Files the package installed, absolute paths, sorted (OS and Python packages).
    #[serde(default, skip_serializing_if = "FileList::is_empty")]
    pub files: FileList,
}

impl Package {
    /// A package with the required fields; the rest empty. Call [`Package::finish`] once
    /// the other fields are set.
    pub fn new(kind: PackageType, name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            kind,
            name: name.into(),
            version: version.into(),
            purl: None,
            cpes: Vec::new(),
            licenses: Vec::new(),
            locations: Vec::new(),
            found_by: String::new(),
            supplier: None,
            source: None,
            arch: None,
            homepage: None,
            download_url: None,
            layer: None,
            files: FileList::default(),
        }
    }

    /// Computes the id from type, name, version and first location.
    pub fn assign_id(&mut self) {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for part in [
            self.kind.as_str(),
            &self.name,
            &self.version,
            self.purl.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        if let Some(l) = self.locations.first() {
            h.update(l.path.as_bytes());
            h.update([0]);
            h.update(
                l.layer
                    .map(|x| x.to_string())
                    .unwrap_or_default()
                    .as_bytes(),
            );
        }
        self.id = hex::encode(&h.finalize()[..8]);
    }

    /// The declared licences as one SPDX expression (AND-joined), if any.
    pub fn license_expression(&self) -> Option<String> {
        crate::license::join(&self.licenses)
    }
}

/// A package's file list, front-coded: each path is stored as the length of the prefix it
/// shares with the path before it and the rest of its bytes. A Debian image's packages list
/// a hundred thousand paths, sorted, most of them sharing all but their last component
/// with their predecessor; as one `String` each they were the largest part of the SBOM's
/// memory (a 24-byte header, an allocation rounded up, and the repeated directories).
///
/// Order is kept as pushed; [`FileList::sort_dedup`] (free when the paths came sorted) sorts (bytewise, as `Vec<String>`
/// sorts) and removes duplicates.
#[derive(Clone, PartialEq, Eq)]
pub struct FileList {
    /// Per path: LEB128 shared-prefix length, LEB128 suffix length, suffix bytes.
    data: Vec<u8>,
    len: usize,
    /// The last path pushed (the prefix of the next one is measured against it).
    last: String,
    /// Whether every path pushed sorts strictly after the one before (sorted, no duplicates).
    sorted: bool,
}

impl Default for FileList {
    fn default() -> Self {
        Self {
            data: Vec::new(),
            len: 0,
            last: String::new(),
            sorted: true,
        }
    }
}

impl FileList {
    /// Number of paths.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a path.
    pub fn push(&mut self, path: &str) {
        let common = self
            .last
            .bytes()
            .zip(path.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        // Strictly after the last path, bytewise (`str`'s order)?
        let after = match (
            self.last.as_bytes().get(common),
            path.as_bytes().get(common),
        ) {
            (None, next) => next.is_some() || self.len == 0,
            (Some(_), None) => false,
            (Some(a), Some(b)) => b > a,
        };
        self.sorted &= after;
        let mut shared = common;
        // Cut at a character boundary, so that every stored suffix is valid UTF-8 alone.
        while !path.is_char_boundary(shared) {
            shared -= 1;
        }
        let rest = &path.as_bytes()[shared..];
        leb128(&mut self.data, shared);
        leb128(&mut self.data, rest.len());
        self.data.extend_from_slice(rest);
        self.last.truncate(shared);
        self.last.push_str(&path[shared..]);
        self.len += 1;
    }

    /// Calls `f` with each path in order (no allocation per path).
    pub fn for_each(&self, mut f: impl FnMut(&str)) {
        let mut cur = String::new();
        let mut pos = 0;
        while pos < self.data.len() {
            let shared = read_leb128(&self.data, &mut pos);
            let n = read_leb128(&self.data, &mut pos);
            let end = (pos + n).min(self.data.len());
            cur.truncate(shared.min(cur.len()));
            // Valid by construction: `push` stores whole characters.
            cur.push_str(&String::from_utf8_lossy(&self.data[pos..end]));
            pos = end;
            f(&cur);
        }
    }

    /// The paths, each as a `String`.
    pub fn to_vec(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.len);
        self.for_each(|p| out.push(p.to_owned()));
        out
    }

    /// The first path.
    pub fn first(&self) -> Option<String> {
        let mut first = None;
        let mut pos = 0;
        if pos < self.data.len() {
            let _ = read_leb128(&self.data, &mut pos);
            let n = read_leb128(&self.data, &mut pos);
            let end = (pos + n).min(self.data.len());
            first = Some(String::from_utf8_lossy(&self.data[pos..end]).into_owned());
        }
        first
    }

    /// Sorts the paths bytewise and removes duplicates; gives back unused room.
    pub fn sort_dedup(&mut self) {
        if self.sorted {
            self.data.shrink_to_fit();
            return;
        }
        // Every path into one buffer, sorted as ranges of it: two allocations, not one
        // per path.
        let mut text = String::new();
        let mut ranges = Vec::with_capacity(self.len);
        self.for_each(|p| {
            ranges.push(text.len()..text.len() + p.len());
            text.push_str(p);
        });
        ranges.sort_unstable_by(|a, b| text[a.clone()].cmp(&text[b.clone()]));
        ranges.dedup_by(|a, b| text[a.clone()] == text[b.clone()]);
        *self = ranges.into_iter().map(|r| &text[r]).collect();
    }

    /// Adds `other`'s paths, then sorts and deduplicates.
    pub fn merge(&mut self, other: &Self) {
        let mut all = self.to_vec();
        all.extend(other.to_vec());
        all.sort_unstable();
        all.dedup();
        *self = all.iter().map(String::as_str).collect();
    }
}

fn leb128(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn read_leb128(data: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&b) = data.get(*pos) {
        *pos += 1;
        if shift < usize::BITS {
            n |= usize::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    n
}

impl<S: AsRef<str>> FromIterator<S> for FileList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut list = Self::default();
        for p in iter {
            list.push(p.as_ref());
        }
        list.data.shrink_to_fit();
        list
    }
}

impl fmt::Debug for FileList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

impl Serialize for FileList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = s.serialize_seq(Some(self.len))?;
        let mut result = Ok(());
        self.for_each(|p| {
            if result.is_ok() {
                result = seq.serialize_element(p);
            }
        });
        result?;
        seq.end()
    }
}

impl<'de> Deserialize<'de> for FileList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<String>::deserialize(d)?.into_iter().collect())
    }
}

/// How two packages relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationshipKind {
    /// `from` needs `to` at run time (`from` depends on `to`).
    DependsOn,
    /// `from` contains `to` (a JAR that nests another, an OS package owning a language
    /// package's files).
    Contains,
}

/// An edge between two packages, by [`Package::id`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Relationship {
    /// The package the edge starts at.
    pub from: String,
    /// The package it points to.
    pub to: String,
    /// What the edge means.
    pub kind: RelationshipKind,
}

/// Something a cataloger could not read: the package is skipped, the SBOM still produced.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    /// The cataloger.
    pub cataloger: String,
    /// The file (absolute path in the image).
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.cataloger, self.path, self.message)
    }
}

/// The operating system of the scanned root filesystem, from `os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `ID` (`debian`, `alpine`, `rhel`).
    pub id: String,
    /// `VERSION_ID` (`12`, `3.19.1`), or the Debian point release from `/etc/debian_version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version_id: String,
    /// `ID_LIKE`, split.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    /// `VERSION_CODENAME`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub codename: String,
    /// `PRETTY_NAME`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pretty_name: String,
}

impl Distro {
    /// Whether this is `id` or derived from it (`ID_LIKE`).
    pub fn is_like(&self, id: &str) -> bool {
        self.id == id || self.id_like.iter().any(|l| l == id)
    }
}

/// What kind of thing was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A container image.
    Image,
    /// A directory.
    Dir,
}

/// The scanned image or directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Image or directory.
    pub kind: SourceKind,
    /// What the user named (`alpine:3.19`, `dir:/srv/root`).
    pub name: String,
    /// The image manifest digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The image config digest (the image ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The source's version as the user gave it (`--source-version`) or, for a single
    /// file, its digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `os/arch[/variant]` of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Layers, base first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Layer>,
    /// Who supplies the image or directory as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Supplier>,
}

/// A software bill of materials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    /// What was scanned.
    pub source: Source,
    /// Its operating system, if recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    /// Packages, sorted by type, name, version and location.
    pub packages: Vec<Package>,
    /// Edges between packages, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<Relationship>,
    /// Files that could not be read, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl Sbom {
    /// The layer record of a location, if any.
    pub fn layer(&self, index: Option<usize>) -> Option<&Layer> {
        index.and_then(|i| self.source.layers.get(i))
    }

    /// Sorts and de-duplicates packages, relationships and warnings so that output is
    /// deterministic, and drops relationships whose ends are missing.
    pub fn normalise(&mut self) {
        for p in &mut self.packages {
            if p.id.is_empty() {
                p.assign_id();
            }
        }
        self.packages.sort_by(|a, b| {
            (a.kind, &a.name, &a.version, &a.locations, &a.id).cmp(&(
                b.kind,
                &b.name,
                &b.version,
                &b.locations,
                &b.id,
            ))
        });
        self.packages.dedup_by(|a, b| a.id == b.id);
        let ids: std::collections::HashSet<&str> =
            self.packages.iter().map(|p| p.id.as_str()).collect();
        self.relationships.retain(|r| {
            ids.contains(r.from.as_str()) && ids.contains(r.to.as_str()) && r.from != r.to
        });
        self.relationships.sort();
        self.relationships.dedup();
        self.warnings.sort();
        self.warnings.dedup();
    }
}

#[cfg(test)]
mod file_list_tests {
    use super::FileList;

    #[test]
    fn front_coding_keeps_every_path_and_sorts_as_strings_do() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Components that share prefixes, bytes and whole characters (é is two bytes,
        // and shares its first byte with è: a shared prefix must not split them).
        let long = "x".repeat(200);
        let parts = [
            "usr",
            "share",
            "doc",
            "é",
            "è",
            "a",
            "ab",
            "",
            "\u{1F600}",
            long.as_str(),
        ];
        for case in 0..300 {
            let n = (next() % 40) as usize;
            let paths: Vec<String> = (0..n)
                .map(|_| {
                    let k = 1 + (next() % 5) as usize;
                    (0..k)
                        .map(|_| parts[(next() % parts.len() as u64) as usize])
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .collect();
            let list: FileList = paths.iter().collect();
            assert_eq!(list.len(), paths.len());
            assert_eq!(list.to_vec(), paths, "case {case}");
            assert_eq!(list.first(), paths.first().cloned());
            // The flag that spares sorting is exact: strictly ascending, bytewise.
            assert_eq!(
                list.sorted,
                paths.windows(2).all(|w| w[0] < w[1]),
                "{paths:?}"
            );
            let mut sorted = list.clone();
            sorted.sort_dedup();
            let mut want = paths.clone();
            want.sort();
            want.dedup();
            assert_eq!(sorted.to_vec(), want);
            let json = serde_json::to_string(&list).unwrap();
            assert_eq!(json, serde_json::to_string(&paths).unwrap());
            let back: FileList = serde_json::from_str(&json).unwrap();
            assert_eq!(back, list);
            let ascending: FileList = want.iter().collect();
            assert!(ascending.sorted);
            let mut again = ascending.clone();
            again.sort_dedup();
            assert_eq!(again, ascending);
            let mut merged = list.clone();
            merged.merge(&sorted);
            assert_eq!(merged.to_vec(), want);
        }
    }
}
