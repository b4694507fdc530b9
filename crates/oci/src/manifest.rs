//! Manifests and indexes, kept as the exact bytes their digest covers.
//!
//! A [`RawManifest`] is what a store returns: media type, bytes and digest. Parsing it into a
//! [`Manifest`] never loses the bytes, so copying an image re-sends exactly what was read and
//! the digest cannot drift through a re-serialisation. OCI image spec `manifest.md` and
//! `image-index.md`; Docker's schema 2 (`application/vnd.docker.distribution.manifest.v2+json`
//! and `.list.v2+json`) has the same shape and is accepted. Schema 1 is refused by name.

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::platform::Platform;

/// Media types vouch reads and writes.
pub mod media {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Docker schema 2 manifest.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// The empty descriptor's config (`{}`), used by artifacts.
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// Uncompressed OCI layer.
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// gzip OCI layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// zstd OCI layer.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// Docker gzip layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker uncompressed layer (used by `docker save` manifests internally).
    pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
    /// Every manifest media type, for `Accept` headers.
    pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, \
        application/vnd.oci.image.index.v1+json, \
        application/vnd.docker.distribution.manifest.v2+json, \
        application/vnd.docker.distribution.manifest.list.v2+json";
}

/// A manifest as stored: the bytes its digest covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// Declared media type (from the registry's `Content-Type`, the referring descriptor or
    /// the document's own `mediaType`).
    pub media_type: String,
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 (or the requested algorithm) of `bytes`.
    pub digest: Digest,
}

/// A parsed manifest or index.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // short-lived, never stored in bulk
pub enum Manifest {
    /// A single-platform image manifest (OCI or Docker schema 2).
    Image(ImageManifest),
    /// A multi-platform index (OCI index or Docker manifest list).
    Index(ImageIndex),
}

/// Whether a media type names an index.
pub fn is_index(media_type: &str) -> bool {
    media_type == media::OCI_INDEX || media_type == media::DOCKER_LIST
}

/// Whether a media type names a single image manifest.
pub fn is_image_manifest(media_type: &str) -> bool {
    media_type == media::OCI_MANIFEST || media_type == media::DOCKER_MANIFEST
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    layers: Option<serde_json::Value>,
}

impl RawManifest {
    /// Wraps bytes fetched by `selector` and checks them against an expected digest, if the
    /// caller asked by digest. `declared` is the media type the transport claimed.
    pub fn new(
        bytes: Vec<u8>,
        declared: Option<&str>,
        expected: Option<&Digest>,
        what: &str,
    ) -> Result<Self> {
        let digest = match expected {
            Some(want) => {
                let mut h = want.hasher();
                h.update(&bytes);
                let got = h.finish();
                if &got != want {
                    return Err(Error::DigestMismatch {
                        what: what.into(),
                        expected: want.clone(),
                        actual: got,
                    });
                }
                got
            }
            None => Digest::sha256(&bytes),
        };
        let probe: Probe = serde_json::from_slice(&bytes).map_err(|e| Error::malformed(what, e))?;
        let declared = declared
            .map(|d| d.split(';').next().unwrap_or(d).trim())
            .filter(|d| !d.is_empty() && *d != "application/json" && *d != "text/plain");
        let media_type = match (declared, probe.media_type.as_deref()) {
            (Some(d), Some(own)) if d != own => {
                return Err(Error::malformed(
                    what,
                    format!("media type {d:?} declared but the document says {own:?}"),
                ));
            }
            (Some(d), _) => d.to_owned(),
            (None, Some(own)) => own.to_owned(),
            // OCI allows omitting mediaType: infer from the shape.
            (None, None) if probe.manifests.is_some() => media::OCI_INDEX.to_owned(),
            (None, None) if probe.layers.is_some() => media::OCI_MANIFEST.to_owned(),
            (None, None) => {
                return Err(Error::malformed(
                    what,
                    "no media type and not a manifest or index",
                ));
            }
        };
        if !is_index(&media_type) && !is_image_manifest(&media_type) {
            return Err(Error::UnsupportedMediaType {
                what: what.into(),
                media_type,
            });
        }
        if probe.schema_version != Some(2) {
            return Err(Error::malformed(
                what,
                format!("schemaVersion {:?}, expected 2", probe.schema_version),
            ));
        }
        Ok(Self {
            media_type,
            bytes,
            digest,
        })
    }

    /// Parses the bytes.
    pub fn parse(&self) -> Result<Manifest> {
        let what = self.digest.to_string();
        if is_index(&self.media_type) {
            serde_json::from_slice(&self.bytes)
                .map(Manifest::Index)
                .map_err(|e| Error::malformed(what, e))
        } else {
            serde_json::from_slice(&self.bytes)
                .map(Manifest::Image)
                .map_err(|e| Error::malformed(what, e))
        }
    }

    /// A descriptor pointing at this manifest.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            self.media_type.as_str().into(),
            self.bytes.len() as u64,
            self.digest.to_oci(),
        )
    }
}

/// Picks the manifest for `wanted` from an index; errors list what is available.
pub fn select_platform<'a>(
    index: &'a ImageIndex,
    wanted: &Platform,
    what: &str,
) -> Result<&'a Descriptor> {
    let candidates: Vec<&Descriptor> = index
        .manifests()
        .iter()
        .filter(|d| is_image_manifest(d.media_type().as_ref()))
        .collect();
    let fits = |d: &&&Descriptor| {
        d.platform()
            .as_ref()
            .is_some_and(|p| wanted.matches(&Platform::from_oci(p)))
    };
    if let Some(d) = candidates.iter().find(fits) {
        return Ok(d);
    }
    let available: Vec<String> = candidates
        .iter()
        .filter_map(|d| {
            d.platform()
                .as_ref()
                .map(|p| Platform::from_oci(p).to_string())
        })
        .collect();
    Err(Error::NoMatchingPlatform {
        wanted: wanted.to_string(),
        what: what.into(),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    })
}

/// The digest of a descriptor, validated.
pub fn descriptor_digest(d: &Descriptor) -> Result<Digest> {
    Ok(Digest::try_from(d.digest())?)
}

/// Layer compression, from the media type (and, for Docker's ambiguous types, the bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// From a layer media type; `None` for media types that are not layers.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let mt = media_type.replace(".nondistributable", "");
        match mt.as_str() {
            media::OCI_LAYER | media::DOCKER_LAYER => Some(Self::None),
            media::OCI_LAYER_GZIP | media::DOCKER_LAYER_GZIP => Some(Self::Gzip),
            media::OCI_LAYER_ZSTD => Some(Self::Zstd),
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Self::Gzip),
            _ => None,
        }
    }

    /// From the first bytes of a stream (magic numbers), for sources that do not say.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMG: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},
      "layers":[]}"#;

    #[test]
    fn keeps_bytes_and_checks_digest() {
        let m = RawManifest::new(IMG.as_bytes().to_vec(), None, None, "t").expect("ok");
        assert_eq!(m.media_type, media::OCI_MANIFEST);
        assert_eq!(m.digest, Digest::sha256(IMG.as_bytes()));
        assert!(matches!(m.parse(), Ok(Manifest::Image(_))));
        let wrong = Digest::sha256(b"other");
        let e =
            RawManifest::new(IMG.as_bytes().to_vec(), None, Some(&wrong), "t").expect_err("bad");
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
    }

    #[test]
    fn refuses_unknown_and_conflicting_media_types() {
        let schema1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#.to_vec();
        let e = RawManifest::new(
            schema1,
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            None,
            "t",
        )
        .expect_err("schema1");
        match e {
            Error::UnsupportedMediaType { media_type, .. } => {
                assert_eq!(
                    media_type,
                    "application/vnd.docker.distribution.manifest.v1+prettyjws"
                )
            }
            other => panic!("{other}"),
        }
        let e = RawManifest::new(
            IMG.as_bytes().to_vec(),
            Some(media::DOCKER_MANIFEST),
            None,
            "t",
        )
        .expect_err("conflict");
        assert!(matches!(e, Error::Malformed { .. }), "{e}");
        let e = RawManifest::new(b"not json".to_vec(), None, None, "t").expect_err("junk");
        assert!(matches!(e, Error::Malformed { .. }), "{e}");
    }

    #[test]
    fn compression_table() {
        assert_eq!(
            Compression::from_media_type(media::OCI_LAYER_ZSTD),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::from_media_type(media::DOCKER_LAYER_GZIP),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_media_type(
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            ),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::from_media_type(media::OCI_CONFIG), None);
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"usr/"), Compression::None);
    }
}
