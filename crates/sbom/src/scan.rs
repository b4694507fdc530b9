//! From a source the user names to an [`Sbom`]: open it, squash its layers keeping only
//! the files some cataloger wants, detect the distro, run the catalogers, then fill the
//! gaps every output format needs (suppliers, ids) and sort.

use std::path::Path;

use vouch_oci::manifest::{Compression, descriptor_digest};
use vouch_oci::oci_spec::image::Descriptor;
use vouch_oci::rootfs::{Keep, LayerInfo};
use vouch_oci::{ImageSource, Location, Platform, RegistryOptions, Rootfs};

use crate::catalog::{self, CATALOGERS, Cataloger, Cx, Want};
use crate::error::{Error, Result};
use crate::model::{Distro, Layer, Package, PackageType, Sbom, Source, SourceKind, Supplier};

/// Which filesystem view to catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// What a container started from the image sees (the default).
    #[default]
    Squashed,
    /// Every layer's files as that layer left them, deleted and overwritten ones
    /// included: a package appears once, with a location for each layer that wrote its
    /// evidence.
    AllLayers,
}

/// How to generate.
#[derive(Debug, Default)]
pub struct Options {
    /// Filesystem view.
    pub scope: Scope,
    /// Platform to pick from a multi-platform index (`None`: this machine's).
    pub platform: Option<Platform>,
    /// Registry access and limits.
    pub registry: RegistryOptions,
    /// Supplier of the image or directory as a whole (NTIA's "supplier name" for the root
    /// component); defaults to the image's `org.opencontainers.image.vendor` label.
    pub supplier: Option<Supplier>,
    /// Run only these catalogers (by name); empty means every cataloger that applies to
    /// the source kind.
    pub catalogers: Vec<String>,
}

/// Generates the SBOM of `input`: vouch's locations (`REF`, `oci:DIR[:TAG]`,
/// `docker-archive:FILE`, `dir:PATH`) and syft's spellings (`registry:REF`,
/// `oci-archive:FILE`, `oci-dir:DIR`, `file:PATH`, a bare path that exists).
pub fn generate(input: &str, options: &Options) -> Result<Sbom> {
    match crate::sources::resolve(input)? {
        // syft names a `registry:` source by its reference alone (`userInput`).
        crate::sources::Resolved::Native(loc) => generate_at(
            &loc,
            input.strip_prefix("registry:").unwrap_or(input),
            options,
        ),
        crate::sources::Resolved::OciArchive(path) => {
            let dir = tempfile::tempdir().map_err(Error::Io)?;
            crate::sources::unpack_oci_archive(
                &path,
                dir.path(),
                options.registry.limits.image_bytes,
            )?;
            generate_at(&format!("oci:{}", dir.path().display()), input, options)
        }
        crate::sources::Resolved::File(path) => {
            // syft's file source: the one file, at `/NAME`, named by its base name and
            // versioned by its digest.
            use sha2::Digest as _;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::Unsupported(format!("{input}: not a file")))?;
            let bytes = std::fs::read(&path)?;
            let dir = tempfile::tempdir().map_err(Error::Io)?;
            std::fs::write(dir.path().join(&name), &bytes)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path)?.permissions().mode();
                std::fs::set_permissions(
                    dir.path().join(&name),
                    std::fs::Permissions::from_mode(mode),
                )?;
            }
            let mut sbom = generate_dir(dir.path(), &name, options)?;
            sbom.source.version = Some(format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(&bytes))
            ));
            Ok(sbom)
        }
    }
}

fn generate_at(loc: &str, input: &str, options: &Options) -> Result<Sbom> {
    let location = Location::parse(loc)?;
    let limits = &options.registry.limits;
    if let Location::Dir(path) = &location {
        return generate_dir(path, input, options);
    }
    let (source, selector) = vouch_oci::open_source(&location, &options.registry)?;
    let platform = options.platform.clone().unwrap_or_else(Platform::host);
    let image = vouch_oci::resolve(source.as_ref(), &selector, &platform, limits)?;
    let catalogers = select(SourceKind::Image, &options.catalogers)?;
    let keep = keep_for(&catalogers);
    let diff_ids: Vec<String> = image.config.rootfs().diff_ids().to_vec();
    let layers: Vec<Layer> = image
        .layers()
        .iter()
        .enumerate()
        .map(|(index, d)| Layer {
            index,
            digest: d.digest().to_string(),
            diff_id: diff_ids.get(index).cloned(),
        })
        .collect();
    let labels = image
        .config
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .unwrap_or_default();
    let supplier = options.supplier.clone().or_else(|| {
        [
            "org.opencontainers.image.vendor",
            "org.opencontainers.image.authors",
        ]
        .iter()
        .find_map(|k| labels.get(*k).filter(|v| !v.trim().is_empty()))
        .map(|v| Supplier::Organization(v.trim().to_owned()))
    });
    let config = image.config.clone();
    let src = Source {
        kind: SourceKind::Image,
        name: input.to_owned(),
        digest: Some(image.manifest.digest.to_string()),
        image_id: Some(vouch_oci::Digest::sha256(&image.config_bytes).to_string()),
        version: None,
        platform: Some(match config.variant() {
            Some(v) => format!("{}/{}/{v}", config.os(), config.architecture()),
            None => format!("{}/{}", config.os(), config.architecture()),
        }),
        layers,
        supplier,
    };
    let mut warnings = Vec::new();
    if src.supplier.is_none() {
        // NTIA's minimum elements want a supplier for every component, the image's own
        // included; ntia-conformance-checker fails a document without one.
        warnings.push(crate::model::Warning {
            cataloger: "ntia-minimum-elements".into(),
            path: input.to_owned(),
            message: "the image component has no supplier name: the image config has no \
                      org.opencontainers.image.vendor or org.opencontainers.image.authors \
                      label; give one with --supplier"
                .into(),
        });
    }
    let mut sbom = Sbom {
        source: src,
        distro: None,
        packages: Vec::new(),
        relationships: Vec::new(),
        warnings,
    };
    match options.scope {
        Scope::Squashed => {
            let fs = squash(source.as_ref(), image.layers(), &keep, limits)?;
            sbom.distro = crate::distro::detect(&fs);
            catalog_into(&mut sbom, &fs, &catalogers, SourceKind::Image, None);
            // Freeing the squashed view (an index of every path, the kept files' store
            // on disk) takes as long as finishing the document: do both at once.
            std::thread::scope(|s| {
                s.spawn(move || drop(fs));
                finish(&mut sbom);
            });
            return Ok(sbom);
        }
        Scope::AllLayers => {
            // Layer i is cataloged in the filesystem of layers 0..=i, so that paths resolve
            // through the symlinks lower layers made, with only layer i's files as evidence.
            let descs = image.layers();
            for i in 0..descs.len() {
                let fs = squash(source.as_ref(), &descs[..=i], &keep, limits)?;
                if i + 1 == descs.len() || sbom.distro.is_none() {
                    sbom.distro = crate::distro::detect(&fs).or(sbom.distro.take());
                }
                catalog_into(&mut sbom, &fs, &catalogers, SourceKind::Image, Some(i));
            }
            merge_layers(&mut sbom);
        }
    }
    finish(&mut sbom);
    Ok(sbom)
}

/// One package per identity across layers: the all-layers scope catalogs each layer's
/// evidence, so a package that several layers wrote (a dpkg database rewritten by every
/// `apt-get install`) is found once per layer. As syft does, it is reported once, with
/// every location, attributed to the lowest layer that has it; relationships follow it.
fn merge_layers(sbom: &mut Sbom) {
    let mut keep: Vec<Package> = Vec::with_capacity(sbom.packages.len());
    let mut by_identity: std::collections::HashMap<
        (PackageType, String, String, Option<String>),
        usize,
    > = std::collections::HashMap::new();
    let mut renamed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for p in std::mem::take(&mut sbom.packages) {
        let key = (p.kind, p.name.clone(), p.version.clone(), p.purl.clone());
        match by_identity.get(&key) {
            Some(&i) => {
                let kept = &mut keep[i];
                renamed.insert(p.id.clone(), kept.id.clone());
                for l in p.locations {
                    if !kept.locations.contains(&l) {
                        kept.locations.push(l);
                    }
                }
                kept.files.merge(&p.files);
                kept.layer = match (kept.layer, p.layer) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                by_identity.insert(key, keep.len());
                keep.push(p);
            }
        }
    }
    sbom.packages = keep;
    for r in &mut sbom.relationships {
        if let Some(n) = renamed.get(&r.from) {
            r.from.clone_from(n);
        }
        if let Some(n) = renamed.get(&r.to) {
            r.to.clone_from(n);
        }
    }
}

/// Squashes `layers`, reading each blob (and verifying its digest) on a thread of its own
/// while this one decompresses and indexes: on a Debian base image the hashing costs about
/// as much as the decompression, so the two overlap instead of adding up.
fn squash(
    source: &dyn ImageSource,
    layers: &[Descriptor],
    keep: &Keep,
    limits: &vouch_oci::Limits,
) -> Result<Rootfs> {
    std::thread::scope(|scope| {
        let mut stack = Vec::with_capacity(layers.len());
        for d in layers {
            let digest = descriptor_digest(d)?;
            let media_type = d.media_type().to_string();
            let compression = Compression::from_media_type(&media_type).ok_or_else(|| {
                Error::Unsupported(format!("layer {digest} has media type {media_type}"))
            })?;
            let reader = Prefetch {
                scope,
                source,
                digest: digest.clone(),
                size: d.size(),
                rx: None,
                spent: None,
                buf: Vec::new(),
                pos: 0,
            };
            stack.push((
                LayerInfo {
                    digest,
                    media_type,
                    size: d.size(),
                },
                compression,
                reader,
            ));
        }
        Ok(Rootfs::from_layers(stack, keep, limits)?)
    })
}

/// A blob read ahead by a scoped thread in 256 KiB chunks (at most 8 in flight). The
/// thread starts at the first read, so layers are opened one after another as the squash
/// reaches them; it stops when the reader is dropped.
struct Prefetch<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    source: &'env dyn ImageSource,
    digest: vouch_oci::Digest,
    size: u64,
    rx: Option<std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>>,
    spent: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl std::io::Read for Prefetch<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let have = std::io::BufRead::fill_buf(self)?;
        let n = out.len().min(have.len());
        out[..n].copy_from_slice(&have[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// The chunks are the buffer: the inflater reads compressed bytes where the read thread
/// put them, with no copy in between.
impl std::io::BufRead for Prefetch<'_, '_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.rx.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(8);
            // Read chunks come back for reuse instead of being freed and zeroed anew.
            let (spent, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
            self.spent = Some(spent);
            let (source, digest, size) = (self.source, self.digest.clone(), self.size);
            self.scope.spawn(move || {
                let mut blob = match source.blob(&digest, size) {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e)));
                        return;
                    }
                };
                loop {
                    let mut chunk = recycled.try_recv().unwrap_or_default();
                    // As large as the layout store's read buffer (256 KiB), so that reads
                    // go straight into the chunk instead of through that buffer (a copy
                    // of every compressed byte).
                    chunk.resize(256 * 1024, 0);
                    match blob.read(&mut chunk) {
                        Ok(0) => return,
                        Ok(n) => {
                            chunk.truncate(n);
                            if tx.send(Ok(chunk)).is_err() {
                                return; // the squash stopped reading
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            });
            self.rx = Some(rx);
        }
        while self.pos == self.buf.len() {
            match self.rx.as_ref().map(std::sync::mpsc::Receiver::recv) {
                Some(Ok(Ok(chunk))) => {
                    let old = std::mem::replace(&mut self.buf, chunk);
                    if let Some(s) = &self.spent {
                        let _ = s.send(old);
                    }
                    self.pos = 0;
                }
                Some(Ok(Err(e))) => return Err(e),
                // The sender is gone: end of the blob.
                Some(Err(_)) | None => return Ok(&[]),
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

fn generate_dir(path: &Path, input: &str, options: &Options) -> Result<Sbom> {
    let fs = Rootfs::from_dir(path, &options.registry.limits)?;
    let catalogers = select(SourceKind::Dir, &options.catalogers)?;
    let src = Source {
        kind: SourceKind::Dir,
        name: input.to_owned(),
        digest: None,
        image_id: None,
        version: None,
        platform: None,
        layers: Vec::new(),
        supplier: options.supplier.clone(),
    };
    let mut sbom = Sbom {
        source: src,
        distro: crate::distro::detect(&fs),
        packages: Vec::new(),
        relationships: Vec::new(),
        warnings: Vec::new(),
    };
    catalog_into(&mut sbom, &fs, &catalogers, SourceKind::Dir, None);
    finish(&mut sbom);
    Ok(sbom)
}

/// Catalogs an already squashed filesystem (for callers that hold one).
pub fn catalog_rootfs(fs: &Rootfs, kind: SourceKind, source: Source) -> Sbom {
    let catalogers: Vec<&dyn Cataloger> = CATALOGERS
        .iter()
        .copied()
        .filter(|c| c.applies().includes(kind))
        .collect();
    let mut sbom = Sbom {
        source,
        distro: crate::distro::detect(fs),
        packages: Vec::new(),
        relationships: Vec::new(),
        warnings: Vec::new(),
    };
    catalog_into(&mut sbom, fs, &catalogers, kind, None);
    finish(&mut sbom);
    sbom
}

/// What to keep while squashing, for these catalogers (plus the distro files).
pub fn keep_for(catalogers: &[&'static dyn Cataloger]) -> Keep {
    let catalogers: Vec<&'static dyn Cataloger> = catalogers.to_vec();
    let exec = catalogers.iter().any(|c| c.wants_executables());
    Keep::MatchingMode(Box::new(move |path, size, mode| {
        crate::distro::FILES.contains(&path)
            || catalog::want(&catalogers, path) != Want::No
            // Executables, for build information; tiny ones are scripts or stubs.
            || (exec && mode & 0o111 != 0 && size >= 1024)
    }))
}

/// The catalogers that run on `kind`, or the named ones.
pub fn select(kind: SourceKind, names: &[String]) -> Result<Vec<&'static dyn Cataloger>> {
    if names.is_empty() {
        return Ok(CATALOGERS
            .iter()
            .copied()
            .filter(|c| c.applies().includes(kind))
            .collect());
    }
    for n in names {
        if !CATALOGERS.iter().any(|c| c.name() == n) {
            let known: Vec<&str> = CATALOGERS.iter().map(|c| c.name()).collect();
            return Err(Error::Unsupported(format!(
                "unknown cataloger {n:?}; known: {}",
                known.join(", ")
            )));
        }
    }
    Ok(CATALOGERS
        .iter()
        .copied()
        .filter(|c| names.iter().any(|n| n == c.name()))
        .collect())
}

fn catalog_into(
    sbom: &mut Sbom,
    fs: &Rootfs,
    catalogers: &[&'static dyn Cataloger],
    kind: SourceKind,
    only_layer: Option<usize>,
) {
    let distro = sbom.distro.clone();
    let _ = kind;
    let mut cx = Cx::new(fs, distro.as_ref());
    catalog::run(catalogers, &mut cx, only_layer);
    sbom.packages.append(&mut cx.packages);
    sbom.relationships.append(&mut cx.relationships);
    sbom.warnings.append(&mut cx.warnings);
}

/// Fills suppliers, links language packages to the OS packages that installed their files,
/// and sorts.
fn finish(sbom: &mut Sbom) {
    for p in &mut sbom.packages {
        if p.supplier.is_none() {
            p.supplier = fallback_supplier(p, sbom.distro.as_ref());
        }
    }
    // An OS package that owns a language package's evidence file contains it (a Debian
    // python3-yaml owns /usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA).
    // Evidence paths are few and OS packages' files many: only the former are indexed.
    let evidence: std::collections::HashSet<&str> = sbom
        .packages
        .iter()
        .filter(|p| !p.kind.is_os())
        .filter_map(|p| p.locations.first().map(|l| l.path.as_str()))
        .collect();
    let mut owner: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    if !evidence.is_empty() {
        for p in sbom.packages.iter().filter(|p| p.kind.is_os()) {
            p.files.for_each(|f| {
                // The last package listing a file owns it, as dpkg's last writer does.
                if let Some(e) = evidence.get(f) {
                    owner.insert(*e, p.id.as_str());
                }
            });
        }
    }
    let mut edges = Vec::new();
    for p in sbom.packages.iter().filter(|p| !p.kind.is_os()) {
        if let Some(o) = p.locations.first().and_then(|l| owner.get(l.path.as_str())) {
            edges.push(crate::model::Relationship {
                from: (*o).to_owned(),
                to: p.id.clone(),
                kind: crate::model::RelationshipKind::Contains,
            });
        }
    }
    sbom.relationships.extend(edges);
    sbom.normalise();
}

/// Who supplies a package whose metadata names nobody.
///
/// NTIA's minimum elements want a supplier for every component, and the SPDX checker
/// counts `NOASSERTION` as missing. When the metadata names no author or maintainer, the
/// supplier is the party the package was obtained from, which the package's identity
/// says: the distribution for OS packages, the namespace owner where the ecosystem has
/// namespaces (a Go module's host and owner, a Maven group, an npm scope, a composer
/// vendor), else the ecosystem's public registry that published the name.
fn fallback_supplier(p: &Package, distro: Option<&Distro>) -> Option<Supplier> {
    let purl = p.purl.as_deref().and_then(crate::purl::Purl::parse);
    let ns = purl.as_ref().and_then(|u| u.namespace.clone());
    let org = |s: &str| Some(Supplier::Organization(s.to_owned()));
    match p.kind {
        PackageType::Deb | PackageType::Apk | PackageType::Rpm => match distro {
            Some(d) if !d.pretty_name.is_empty() => org(&d.pretty_name),
            Some(d) => org(&d.id),
            None => None,
        },
        PackageType::GoModule if p.name == "stdlib" => org("The Go Authors"),
        PackageType::GoModule => {
            let parts: Vec<&str> = p.name.split('/').collect();
            if parts.len() >= 2 {
                org(&format!("{}/{}", parts[0], parts[1]))
            } else {
                org(&p.name)
            }
        }
        PackageType::JavaArchive => ns.as_deref().and_then(org),
        PackageType::PhpComposer => ns.as_deref().and_then(org),
        PackageType::Npm => ns.as_deref().and_then(org).or_else(|| org("npm registry")),
        PackageType::Python => org("Python Package Index"),
        PackageType::RustCrate => org("crates.io"),
        PackageType::Gem => org("RubyGems.org"),
        PackageType::Dotnet => org("NuGet Gallery"),
        PackageType::Unknown => None,
    }
}

/// Catalogs a small tree given as (path, contents) pairs with every cataloger, as a
/// directory: for tests and fuzz targets that feed one parser arbitrary bytes. Files
/// under `usr/bin/` are made executable.
pub fn catalog_files(files: &[(&str, &[u8])]) -> Result<Sbom> {
    let dir = tempfile::tempdir().map_err(Error::Io)?;
    for (path, bytes) in files {
        let p = dir.path().join(path.trim_start_matches('/'));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, bytes)?;
        #[cfg(unix)]
        if path.trim_start_matches('/').starts_with("usr/bin/") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    let options = Options {
        catalogers: CATALOGERS.iter().map(|c| c.name().to_owned()).collect(),
        ..Default::default()
    };
    generate(&format!("dir:{}", dir.path().display()), &options)
}
