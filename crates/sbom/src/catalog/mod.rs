//! Catalogers: one module per on-disk format, each a [`Cataloger`] listed once in
//! [`CATALOGERS`].
//!
//! A cataloger answers two questions. [`Cataloger::wants`] is asked of every path of the
//! image while its layers are squashed, so it must be cheap (string tests on the path):
//! it says whether the file's contents must be kept ([`Want::Read`]: the cataloger may read
//! it) and whether the file is evidence that starts cataloging ([`Want::Catalog`]: it is
//! passed to [`Cataloger::catalog`]). Only kept files cost disk and time, so a Debian image
//! keeps its dpkg database and copyright files and nothing else. Catalogers of executables
//! ask for files with an execute bit through [`Cataloger::wants_executables`].
//!
//! [`Cataloger::catalog`] then reads what it needs through [`Cx`], adds packages,
//! relationships and warnings. A file that cannot be parsed is a warning naming the file;
//! the other packages are still reported.
//!
//! Names are syft's cataloger names, so results compare line for line, and so does the
//! choice of which catalogers run on images and which on directories ([`Applies`]).

mod apk;
mod dotnet;
mod dotnet_pe;
mod dpkg;
mod golang;
mod java;
mod npm;
mod php;
mod python;
mod python_lock;
mod rpm;
mod rpmdb;
mod ruby;
mod rust;

use std::collections::HashMap;

use vouch_oci::Rootfs;
use vouch_oci::rootfs::{Kind, ReadSeek};

use crate::elf::Elf;
use crate::model::{
    Distro, Location, Package, Relationship, RelationshipKind, SourceKind, Warning,
};

/// Every cataloger, in the order they run.
pub static CATALOGERS: &[&dyn Cataloger] = &[
    &dpkg::Dpkg,
    &apk::Apk,
    &rpm::Rpm,
    &python::Python,
    &python_lock::PythonLock,
    &npm::PackageJson,
    &npm::PackageLock,
    &golang::GoBinary,
    &rust::CargoLock,
    &rust::Auditable,
    &java::Archive,
    &ruby::Gemspec,
    &ruby::GemspecDir,
    &php::Installed,
    &php::Lock,
    &dotnet::DepsJson,
    &dotnet_pe::DotnetPe,
];

/// What a cataloger wants of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Want {
    /// Nothing.
    No,
    /// Keep its contents: the cataloger may read it while cataloging something else.
    Read,
    /// Keep it and catalog it.
    Catalog,
}

impl Want {
    /// [`Want::Catalog`] when `yes`, else [`Want::No`]: the usual answer of a cataloger that
    /// recognises its files by name.
    pub fn catalog_if(yes: bool) -> Self {
        if yes { Self::Catalog } else { Self::No }
    }
}

/// Which kinds of source a cataloger runs on (syft's `image` and `directory` tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Images and directories.
    Both,
    /// Images only (installed-package evidence that syft reads only in images).
    Image,
    /// Directories only (declared dependencies: lock files).
    Dir,
}

impl Applies {
    /// Whether a cataloger with this tag runs on `kind`.
    pub fn includes(self, kind: SourceKind) -> bool {
        matches!(
            (self, kind),
            (Self::Both, _) | (Self::Image, SourceKind::Image) | (Self::Dir, SourceKind::Dir)
        )
    }
}

/// One on-disk format.
pub trait Cataloger: Sync {
    /// The cataloger's name (syft's, where syft has one).
    fn name(&self) -> &'static str;
    /// Source kinds it runs on.
    fn applies(&self) -> Applies {
        Applies::Both
    }
    /// What it wants of `path` (relative to the root, no leading `/`). Called for every
    /// file of the image: keep it to string tests.
    fn wants(&self, path: &str) -> Want;
    /// Whether it looks at every executable file (build information in binaries).
    fn wants_executables(&self) -> bool {
        false
    }
    /// Catalogs the files it asked for (`found`, sorted), through `cx`.
    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]);
}

/// Largest metadata file read whole (databases and manifests; binaries are read in parts).
pub(crate) const MAX_READ: u64 = 256 << 20;

/// A cataloger's view of the root filesystem, and where its results go.
pub struct Cx<'a> {
    fs: &'a Rootfs,
    /// Every path of `fs`, sorted as [`Rootfs::entries`] yields them, when [`run`] has
    /// collected them: [`Cx::children`] then finds a directory's entries by binary search
    /// instead of walking the whole view (a .NET assembly or a Python distribution asks
    /// for its directory's entries, and an image has tens of thousands of paths).
    paths: &'a [&'a str],
    pub(crate) distro: Option<&'a Distro>,
    cataloger: &'static str,
    pub(crate) packages: Vec<Package>,
    pub(crate) relationships: Vec<Relationship>,
    pub(crate) warnings: Vec<Warning>,
    elf_cache: HashMap<String, Option<Elf>>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(fs: &'a Rootfs, distro: Option<&'a Distro>) -> Self {
        Self {
            fs,
            paths: &[],
            distro,
            cataloger: "",
            packages: Vec::new(),
            relationships: Vec::new(),
            warnings: Vec::new(),
            elf_cache: HashMap::new(),
        }
    }

    /// A context over the same view for a part of this cataloger's work on another
    /// thread; [`Cx::join`] takes its results back.
    pub(crate) fn fork(&self) -> Self {
        let mut own = Cx::new(self.fs, self.distro);
        own.paths = self.paths;
        own.cataloger = self.cataloger;
        own
    }

    /// Appends the packages, relationships and warnings of a [`Cx::fork`].
    pub(crate) fn join(&mut self, mut part: Cx<'_>) {
        self.packages.append(&mut part.packages);
        self.relationships.append(&mut part.relationships);
        self.warnings.append(&mut part.warnings);
    }

    /// Records a warning about `path` for the running cataloger.
    pub fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            cataloger: self.cataloger.to_owned(),
            path: abs(path),
            message: message.into(),
        });
    }

    /// Reads a file that must be there; a missing or unreadable file is a warning.
    pub fn read(&mut self, path: &str) -> Option<Vec<u8>> {
        match self.fs.read(path, MAX_READ) {
            Ok(Some(b)) => Some(b),
            Ok(None) => {
                self.warn(
                    path,
                    "not readable (missing, not a regular file, or its contents were not kept)",
                );
                None
            }
            Err(e) => {
                self.warn(path, e.to_string());
                None
            }
        }
    }

    /// Reads a JSON file that must be there; unreadable or malformed JSON is a warning.
    pub fn read_json(&mut self, path: &str) -> Option<serde_json::Value> {
        let bytes = self.read(path)?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                self.warn(path, format!("not JSON: {e}"));
                None
            }
        }
    }

    /// Reads a file that may be absent; only errors other than absence are warnings.
    pub fn read_optional(&mut self, path: &str) -> Option<Vec<u8>> {
        match self.fs.read(path, MAX_READ) {
            Ok(b) => b,
            Err(e) => {
                self.warn(path, e.to_string());
                None
            }
        }
    }

    /// Reads a file as text (lossy UTF-8); see [`Cx::read`].
    pub fn read_text(&mut self, path: &str) -> Option<String> {
        self.read(path).map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    /// Opens a file for partial reads.
    pub fn open(&mut self, path: &str) -> Option<Box<dyn ReadSeek>> {
        match self.fs.open(path) {
            Ok(Some((_, f))) => Some(f),
            Ok(None) => None,
            Err(e) => {
                self.warn(path, e.to_string());
                None
            }
        }
    }

    /// The ELF section table of an executable, parsed once per file; `None` for files that
    /// are not ELF.
    pub(crate) fn elf(&mut self, path: &str) -> Option<Elf> {
        if let Some(e) = self.elf_cache.get(path) {
            return e.clone();
        }
        let parsed = self.open(path).and_then(|f| Elf::parse(f).ok());
        self.elf_cache.insert(path.to_owned(), parsed.clone());
        parsed
    }

    /// Reads an ELF section's bytes.
    pub(crate) fn elf_section(
        &mut self,
        path: &str,
        elf: &Elf,
        name: &str,
        limit: u64,
    ) -> Option<Vec<u8>> {
        let f = self.open(path)?;
        match elf.section(f, name, limit) {
            Ok(b) => b,
            Err(e) => {
                self.warn(path, format!("reading ELF section {name}: {e}"));
                None
            }
        }
    }

    /// Whether a regular file (or a symlink to one) exists at `path`.
    pub fn exists(&self, path: &str) -> bool {
        matches!(self.fs.resolve(path), Ok(Some((_, n))) if n.kind == Kind::File)
    }

    /// A location for `path`, with the layer that wrote it.
    pub fn location(&self, path: &str) -> Location {
        let layer = match self.fs.resolve(path) {
            Ok(Some((_, n))) => n.layer,
            _ => self.fs.get(path).and_then(|n| n.layer),
        };
        Location {
            path: abs(path),
            layer,
        }
    }

    /// Paths directly inside `dir` (relative, sorted).
    pub fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.trim_end_matches('/'))
        };
        if self.paths.is_empty() {
            return self
                .fs
                .entries()
                .filter(|(p, _)| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
                .map(|(p, _)| p.to_owned())
                .collect();
        }
        // The paths are sorted bytewise, so everything under `prefix` is one run.
        let start = self.paths.partition_point(|p| *p < prefix.as_str());
        self.paths[start..]
            .iter()
            .take_while(|p| p.starts_with(&prefix))
            .filter(|p| !p[prefix.len()..].contains('/'))
            .map(|p| (*p).to_owned())
            .collect()
    }

    /// Adds a package: stamps the cataloger's name, CPEs when there are none, and the id.
    /// Returns the id.
    pub fn add(&mut self, p: Package) -> String {
        self.insert(p, true)
    }

    /// Adds a package whose CPEs the cataloger decided, none included (syft generates none
    /// for a .NET assembly without a company name).
    pub fn add_with_cpes(&mut self, p: Package) -> String {
        self.insert(p, false)
    }

    fn insert(&mut self, mut p: Package, fill_cpes: bool) -> String {
        if p.name.trim().is_empty() || p.version.trim().is_empty() {
            // Every format needs both; an entry without them identifies nothing.
            let path = p
                .locations
                .first()
                .map(|l| l.path.clone())
                .unwrap_or_default();
            self.warn(
                &path,
                format!(
                    "a {} package with an empty name or version ({:?} {:?}); skipped",
                    p.kind, p.name, p.version
                ),
            );
            return String::new();
        }
        p.found_by = self.cataloger.to_owned();
        p.locations.dedup();
        if p.layer.is_none() {
            p.layer = p.locations.first().and_then(|l| l.layer);
        }
        if fill_cpes && p.cpes.is_empty() {
            let ns = p
                .purl
                .as_deref()
                .and_then(crate::purl::Purl::parse)
                .and_then(|u| u.namespace);
            p.cpes = crate::cpe::for_package(&p, ns.as_deref());
        }
        // Sorted once here, and stored in exactly the room it needs: on a Debian base every
        // package's list stays alive to the end.
        p.files.sort_dedup();
        p.assign_id();
        let id = p.id.clone();
        self.packages.push(p);
        id
    }

    /// Records that `from` depends on `to`.
    pub fn depends(&mut self, from: &str, to: &str) {
        self.relationships.push(Relationship {
            from: from.into(),
            to: to.into(),
            kind: RelationshipKind::DependsOn,
        });
    }

    /// Records that `from` contains `to`.
    pub fn contains(&mut self, from: &str, to: &str) {
        self.relationships.push(Relationship {
            from: from.into(),
            to: to.into(),
            kind: RelationshipKind::Contains,
        });
    }

    /// The distro qualifier value `ID-VERSION_ID`, if known.
    pub fn distro_qualifier(&self) -> Option<String> {
        let d = self.distro?;
        if d.id.is_empty() {
            return None;
        }
        Some(if d.version_id.is_empty() {
            d.id.clone()
        } else {
            format!("{}-{}", d.id, d.version_id)
        })
    }
}

/// `/`-prefixed form of a root-relative path.
pub(crate) fn abs(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// What every selected cataloger wants of `path`: the strongest answer.
pub(crate) fn want(catalogers: &[&dyn Cataloger], path: &str) -> Want {
    catalogers
        .iter()
        .map(|c| c.wants(path))
        .max()
        .unwrap_or(Want::No)
}

/// Runs `catalogers` over `fs`. With `only_layer`, evidence files are limited to those the
/// given layer wrote (the all-layers scope).
pub(crate) fn run(catalogers: &[&dyn Cataloger], cx: &mut Cx<'_>, only_layer: Option<usize>) {
    let exec_catalogers = catalogers.iter().any(|c| c.wants_executables());
    let mut found: Vec<Vec<String>> = vec![Vec::new(); catalogers.len()];
    let mut executables = Vec::new();
    let mut paths: Vec<&str> = Vec::new();
    for (path, node) in cx.fs.entries() {
        paths.push(path);
        if node.kind != Kind::File || only_layer.is_some_and(|l| node.layer != Some(l)) {
            continue;
        }
        for (i, c) in catalogers.iter().enumerate() {
            if c.wants(path) == Want::Catalog {
                found[i].push(path.to_owned());
            }
        }
        if exec_catalogers && node.mode & 0o111 != 0 && Rootfs::has_content(node) && node.size >= 64
        {
            executables.push(path.to_owned());
        }
    }
    // Bytewise order is what the binary search in `children` needs (entries() promises
    // path order; a view sorted component by component would differ).
    if !paths.is_sorted() {
        paths.sort_unstable();
    }
    // Catalogers are independent of each other: each runs with a context of its own on one
    // of a few threads, and the results are merged in cataloger order, so the output does
    // not depend on which thread finished first.
    let jobs: Vec<(usize, Vec<String>)> = catalogers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let files = if c.wants_executables() {
                let mut all = std::mem::take(&mut found[i]);
                all.extend(executables.iter().cloned());
                all.sort();
                all.dedup();
                all
            } else {
                std::mem::take(&mut found[i])
            };
            (!files.is_empty()).then_some((i, files))
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4)
        .min(jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (fs, distro) = (cx.fs, cx.distro);
    let mut results: Vec<(usize, Cx<'_>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((i, files)) = jobs.get(j) else { break };
                        let c = catalogers[*i];
                        let mut own = Cx::new(fs, distro);
                        own.paths = &paths;
                        own.cataloger = c.name();
                        c.catalog(&mut own, files);
                        own.cataloger = "";
                        done.push((*i, own));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            // A panicking cataloger is a bug; re-raise it rather than lose its packages.
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    for (_, r) in results {
        cx.join(r);
    }
    cx.cataloger = "";
}

/// Splits RFC 822-style paragraphs (dpkg status, apk installed use a variant) into
/// `(key, value)` lists; continuation lines (leading space or tab) join the previous value
/// with a newline.
pub(crate) fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The value of `key` in a paragraph.
pub(crate) fn field<'p>(para: &'p [(String, String)], key: &str) -> Option<&'p str> {
    para.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The file name part of a path.
/// Whether `s` ends with the ASCII `suffix`, ignoring ASCII case. Compares bytes, so a path
/// whose last bytes split a multi-byte character (any name a layer can carry) cannot panic.
pub(crate) fn ends_with_ci(s: &str, suffix: &str) -> bool {
    let (s, suffix) = (s.as_bytes(), suffix.as_bytes());
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// `b` as text, invalid UTF-8 replaced as `String::from_utf8_lossy` does. Valid text (all
/// but a few files) is borrowed after the standard library's validation, which checks
/// ASCII a word at a time; the lossy decoder walks every byte (a Debian image's file lists
/// and copyright files are tens of MB).
pub(crate) fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Whether `s` starts with the ASCII `prefix`, ignoring ASCII case (bytes, no allocation).
pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    let (s, prefix) = (s.as_bytes(), prefix.as_bytes());
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

pub(crate) fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The directory part of a path (`""` at the root).
pub(crate) fn dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

#[cfg(test)]
mod suffix_tests {
    #[test]
    fn suffixes_compare_bytes_and_ignore_ascii_case() {
        assert!(super::ends_with_ci("app/TOOL.EXE", ".exe"));
        assert!(super::ends_with_ci("lib/x.Jar", ".jar"));
        assert!(!super::ends_with_ci("exe", ".exe"));
        // The last four bytes start inside "é": a str slice there would panic.
        assert!(!super::ends_with_ci("caf\u{e9}xe", ".exe"));
        assert!(!super::ends_with_ci("\u{1F600}", ".exe"));
    }
}
