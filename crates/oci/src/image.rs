//! Opening locations and resolving an image to one platform's manifest, config and layers.

use std::io::Read;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifest};

use crate::archive::DockerArchive;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::limits::Limits;
use crate::manifest::{Manifest, RawManifest, descriptor_digest, select_platform};
use crate::platform::Platform;
use crate::reference::Selector;
use crate::registry::{Registry, RegistryOptions};
use crate::store::{ImageSink, ImageSource, Location};

/// Opens a location for reading, with what to ask it for.
pub fn open_source(
    location: &Location,
    options: &RegistryOptions,
) -> Result<(Box<dyn ImageSource>, Selector)> {
    match location {
        Location::Registry(r) => Ok((Box::new(Registry::open(r, options, false)?), r.selector())),
        Location::Layout { path, tag } => Ok((
            Box::new(Layout::open(path, &options.limits)?),
            Selector::Tag(tag.clone().unwrap_or_else(|| "latest".into())),
        )),
        Location::DockerArchive { path, reference } => {
            let a = DockerArchive::open(path, reference.as_deref(), &options.limits)?;
            let sel = Selector::Digest(a.manifest(&Selector::Tag(String::new()))?.digest);
            Ok((Box::new(a), sel))
        }
        Location::Dir(p) => Err(Error::Unsupported {
            location: format!("dir:{}", p.display()),
            operation: "reading image manifests (a dir: is a plain filesystem)",
        }),
    }
}

/// Opens a location for writing, with the tag to write (if any).
pub fn open_sink(
    location: &Location,
    options: &RegistryOptions,
) -> Result<(Box<dyn ImageSink>, Option<String>)> {
    match location {
        Location::Registry(r) => {
            if r.digest().is_some() && r.tag().is_none() {
                // Pushing to name@digest: the manifest is stored by digest only.
                return Ok((Box::new(Registry::open(r, options, true)?), None));
            }
            Ok((
                Box::new(Registry::open(r, options, true)?),
                r.tag().map(str::to_owned),
            ))
        }
        Location::Layout { path, tag } => Ok((
            Box::new(Layout::create(path, &options.limits)?),
            tag.clone(),
        )),
        Location::DockerArchive { .. } | Location::Dir(_) => Err(Error::Unsupported {
            location: location.to_string(),
            operation: "writing images (destinations are registries and oci: layouts)",
        }),
    }
}

/// One platform's image, resolved: manifest, config and layers.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The manifest (or index) the selector named.
    pub top: RawManifest,
    /// The platform-specific image manifest (the same as `top` for single-platform images).
    pub manifest: RawManifest,
    /// `manifest`, parsed.
    pub parsed: ImageManifest,
    /// The config blob's exact bytes.
    pub config_bytes: Vec<u8>,
    /// The config, parsed.
    pub config: ImageConfiguration,
    /// Platforms offered by the index, if `top` is one.
    pub platforms: Vec<Platform>,
}

impl ResolvedImage {
    /// The layer descriptors, base first.
    pub fn layers(&self) -> &[Descriptor] {
        self.parsed.layers()
    }
}

/// Resolves `selector` in `source` to one platform's image.
pub fn resolve(
    source: &dyn ImageSource,
    selector: &Selector,
    platform: &Platform,
    limits: &Limits,
) -> Result<ResolvedImage> {
    let top = source.manifest(selector)?;
    let (manifest, platforms) = match top.parse()? {
        Manifest::Image(_) => (top.clone(), Vec::new()),
        Manifest::Index(index) => {
            if index.manifests().len() > limits.index_entries {
                return Err(Error::Limit {
                    what: top.digest.to_string(),
                    limit: "index_entries",
                    max: limits.index_entries as u64,
                    actual: index.manifests().len() as u64,
                });
            }
            let platforms = index
                .manifests()
                .iter()
                .filter_map(|d| d.platform().as_ref().map(Platform::from_oci))
                .collect();
            let what = format!("{}@{}", source.location(), top.digest);
            let chosen = select_platform(&index, platform, &what)?;
            let digest = descriptor_digest(chosen)?;
            let m = source.manifest(&Selector::Digest(digest))?;
            if !crate::manifest::is_image_manifest(&m.media_type) {
                return Err(Error::UnsupportedMediaType {
                    what: m.digest.to_string(),
                    media_type: m.media_type,
                });
            }
            (m, platforms)
        }
    };
    let Manifest::Image(parsed) = manifest.parse()? else {
        return Err(Error::malformed(
            manifest.digest.to_string(),
            "expected an image manifest",
        ));
    };
    if parsed.layers().len() > limits.layers {
        return Err(Error::Limit {
            what: manifest.digest.to_string(),
            limit: "layers",
            max: limits.layers as u64,
            actual: parsed.layers().len() as u64,
        });
    }
    let config_desc = parsed.config();
    let config_digest = descriptor_digest(config_desc)?;
    if config_desc.size() > limits.config_bytes {
        return Err(Error::Limit {
            what: format!("config {config_digest}"),
            limit: "config_bytes",
            max: limits.config_bytes,
            actual: config_desc.size(),
        });
    }
    let config_bytes = read_blob(source, &config_digest, config_desc.size())?;
    let config: ImageConfiguration = serde_json::from_slice(&config_bytes)
        .map_err(|e| Error::malformed(format!("config {config_digest}"), e))?;
    Ok(ResolvedImage {
        top,
        manifest,
        parsed,
        config_bytes,
        config,
        platforms,
    })
}

/// Reads a (small) blob fully, verified.
pub fn read_blob(source: &dyn ImageSource, digest: &Digest, size: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(size.min(1 << 20) as usize);
    source
        .blob(digest, size)?
        .read_to_end(&mut out)
        .map_err(|e| Error::from_stream(&format!("blob {digest}"), e))?;
    Ok(out)
}
