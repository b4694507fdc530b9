//! An OCI image layout directory (image-spec `image-layout.md`): `oci-layout`, `index.json`
//! and content-addressed `blobs/<alg>/<hex>`.
//!
//! Tags are `org.opencontainers.image.ref.name` annotations on `index.json` entries. Writes
//! are crash-safe: blobs are written to a temporary file in the same directory, verified,
//! then renamed into place; `index.json` is replaced by rename, so a reader sees the old or
//! the new index, never half of one.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex};

use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::{RawManifest, is_image_manifest, is_index, media};
use crate::reference::Selector;
use crate::store::{BlobReader, ImageSink, ImageSource};

/// The annotation that names a manifest in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// An OCI layout directory.
#[derive(Debug)]
pub struct Layout {
    root: PathBuf,
    limits: Limits,
}

impl Layout {
    /// Opens an existing layout for reading.
    pub fn open(root: &Path, limits: &Limits) -> Result<Self> {
        let marker = root.join(LAYOUT_FILE);
        let text = fs::read_to_string(&marker).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NotFound {
                what: "OCI layout".into(),
                location: root.display().to_string(),
                detail: "no oci-layout file (is this an OCI image layout directory?)".into(),
            },
            _ => Error::io(&marker, e),
        })?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Marker {
            image_layout_version: String,
        }
        let m: Marker = serde_json::from_str(&text)
            .map_err(|e| Error::malformed(marker.display().to_string(), e))?;
        if !m.image_layout_version.starts_with("1.") {
            return Err(Error::malformed(
                marker.display().to_string(),
                format!(
                    "unsupported imageLayoutVersion {:?}",
                    m.image_layout_version
                ),
            ));
        }
        Ok(Self {
            root: root.to_owned(),
            limits: limits.clone(),
        })
    }

    /// Opens a layout for writing, creating it if needed.
    pub fn create(root: &Path, limits: &Limits) -> Result<Self> {
        if !root.join(LAYOUT_FILE).exists() {
            fs::create_dir_all(root.join("blobs/sha256")).map_err(|e| Error::io(root, e))?;
            write_atomic(&root.join(LAYOUT_FILE), LAYOUT_CONTENT.as_bytes())?;
            if !root.join("index.json").exists() {
                let empty = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
                write_atomic(&root.join("index.json"), empty)?;
            }
        }
        Self::open(root, limits)
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        let alg = d.to_string();
        let alg = alg.split(':').next().unwrap_or("sha256");
        self.root.join("blobs").join(alg).join(d.hex())
    }

    /// The parsed `index.json`.
    pub fn index(&self) -> Result<ImageIndex> {
        let path = self.root.join("index.json");
        let bytes = read_capped(&path, self.limits.manifest_bytes)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::malformed(path.display().to_string(), e))
    }

    fn write_index(&self, index: &ImageIndex) -> Result<()> {
        let bytes = serde_json::to_vec(index).map_err(|e| Error::malformed("index.json", e))?;
        write_atomic(&self.root.join("index.json"), &bytes)
    }

    fn read_manifest_blob(&self, digest: &Digest, declared: Option<&str>) -> Result<RawManifest> {
        let path = self.blob_path(digest);
        let bytes = read_capped(&path, self.limits.manifest_bytes).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                Error::NotFound {
                    what: format!("manifest {digest}"),
                    location: self.location_string(),
                    detail: "no such blob".into(),
                }
            }
            other => other,
        })?;
        RawManifest::new(
            bytes,
            declared,
            Some(digest),
            &format!("{}@{digest}", self.location_string()),
        )
    }

    /// What `oci:DIR` without a tag means: the one image in `index.json`, not counting what
    /// signing adds beside it (see [`is_signing_artifact`]). A tagged image is returned as its
    /// tag, an untagged one by digest. Fails when there is no such image or more than one.
    pub fn default_image(&self) -> Result<Selector> {
        let index = self.index()?;
        let entries = index.manifests();
        if let [only] = entries.as_slice() {
            // A lone entry is what `oci:DIR` means, whatever it is (as skopeo).
            let name = only.annotations().as_ref().and_then(|a| a.get(REF_NAME));
            return Ok(match name {
                Some(n) => Selector::Tag(n.clone()),
                None => Selector::Digest(Digest::try_from(only.digest())?),
            });
        }
        let mut images = Vec::new();
        for entry in entries {
            let name = entry.annotations().as_ref().and_then(|a| a.get(REF_NAME));
            if name.is_some_and(|n| is_signing_tag(n)) || entry.artifact_type().is_some() {
                continue;
            }
            if let Some(n) = name {
                images.push(Selector::Tag(n.clone()));
                continue;
            }
            // Untagged: an image, or a referrer that signing added (read it to tell).
            let digest = Digest::try_from(entry.digest())?;
            let raw = self.read_manifest_blob(&digest, Some(entry.media_type().as_ref()))?;
            if !is_signing_artifact(&raw.bytes) {
                images.push(Selector::Digest(digest));
            }
        }
        images.dedup();
        match <[_; 1]>::try_from(images) {
            Ok([one]) => Ok(one),
            Err(images) => Err(Error::NotFound {
                what: "the image".into(),
                location: self.location_string(),
                detail: format!(
                    "index.json holds {} images besides signatures, attestations and \
                     referrers; name one as oci:DIR:TAG",
                    images.len()
                ),
            }),
        }
    }

    fn location_string(&self) -> String {
        format!("oci:{}", self.root.display())
    }
}

impl ImageSource for Layout {
    fn location(&self) -> String {
        self.location_string()
    }

    fn manifest(&self, selector: &Selector) -> Result<RawManifest> {
        let index = self.index()?;
        let entries = index.manifests();
        let found = match selector {
            Selector::Digest(d) => {
                let declared = entries
                    .iter()
                    .find(|e| e.digest().to_string() == d.to_string())
                    .map(|e| e.media_type().to_string());
                return self.read_manifest_blob(d, declared.as_deref());
            }
            Selector::Tag(t) => {
                let named: Vec<&Descriptor> = entries
                    .iter()
                    .filter(|e| e.annotations().as_ref().and_then(|a| a.get(REF_NAME)) == Some(t))
                    .collect();
                match named.as_slice() {
                    [one] => Some(*one),
                    // `oci:DIR` without a tag means "the only image in it" (as skopeo),
                    // not counting signatures, attestations and referrers.
                    [] if t == "latest" => {
                        return match self.default_image()? {
                            Selector::Digest(d) => self.manifest(&Selector::Digest(d)),
                            Selector::Tag(name) if name != "latest" => {
                                self.manifest(&Selector::Tag(name))
                            }
                            Selector::Tag(_) => Err(Error::NotFound {
                                what: format!("tag {selector}"),
                                location: self.location_string(),
                                detail: "index.json names no manifest latest".into(),
                            }),
                        };
                    }
                    _ => None,
                }
            }
        };
        let Some(desc) = found else {
            return Err(Error::NotFound {
                what: format!("tag {selector}"),
                location: self.location_string(),
                detail: format!(
                    "index.json has {} manifest(s), none named {selector:?}",
                    entries.len()
                ),
            });
        };
        let digest = Digest::try_from(desc.digest())?;
        self.read_manifest_blob(&digest, Some(desc.media_type().as_ref()))
    }

    fn blob(&self, digest: &Digest, size: u64) -> Result<BlobReader> {
        let path = self.blob_path(digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NotFound {
                what: format!("blob {digest}"),
                location: self.location_string(),
                detail: "no such blob".into(),
            },
            _ => Error::io(&path, e),
        })?;
        Ok(Box::new(VerifyingReader::new(
            io::BufReader::with_capacity(256 * 1024, file),
            digest,
            size,
            format!("blob {digest}"),
        )))
    }

    fn tags(&self) -> Result<Vec<String>> {
        let mut tags: Vec<String> = self
            .index()?
            .manifests()
            .iter()
            .filter_map(|e| {
                e.annotations()
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .cloned()
            })
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        // A layout has no API: look for manifests in index.json whose `subject` is ours,
        // then the tag-schema fallback index.
        let mut out = Vec::new();
        for entry in self.index()?.manifests() {
            let mt = entry.media_type().to_string();
            if !is_image_manifest(&mt) && !is_index(&mt) {
                continue;
            }
            let d = Digest::try_from(entry.digest())?;
            let raw = self.read_manifest_blob(&d, Some(&mt))?;
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct WithSubject {
                subject: Option<Descriptor>,
                artifact_type: Option<String>,
                config: Option<Descriptor>,
            }
            let w: WithSubject = serde_json::from_slice(&raw.bytes)
                .map_err(|e| Error::malformed(d.to_string(), e))?;
            if w.subject
                .as_ref()
                .is_some_and(|s| s.digest().to_string() == subject.to_string())
            {
                let at = w
                    .artifact_type
                    .or_else(|| w.config.map(|c| c.media_type().to_string()));
                let mut desc = raw.descriptor();
                if let Some(a) = &at {
                    desc.set_artifact_type(Some(a.as_str().into()));
                }
                out.push(desc);
            }
        }
        if let Ok(raw) = self.manifest(&Selector::Tag(subject.tag_form())) {
            let index: ImageIndex = serde_json::from_slice(&raw.bytes)
                .map_err(|e| Error::malformed(subject.tag_form(), e))?;
            for d in index.manifests() {
                if !out.iter().any(|o| o.digest() == d.digest()) {
                    out.push(d.clone());
                }
            }
        }
        if let Some(t) = artifact_type {
            out.retain(|d| {
                d.artifact_type()
                    .as_ref()
                    .is_some_and(|a| a.to_string() == t)
            });
        }
        Ok(out)
    }
}

impl ImageSink for Layout {
    fn location(&self) -> String {
        self.location_string()
    }

    fn has_blob(&self, digest: &Digest) -> Result<bool> {
        Ok(self.blob_path(digest).is_file())
    }

    fn put_blob(&self, digest: &Digest, size: u64, data: &mut dyn Read) -> Result<()> {
        let path = self.blob_path(digest);
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        let mut verified = VerifyingReader::new(data, digest, size, format!("blob {digest}"));
        let mut out = io::BufWriter::with_capacity(256 * 1024, tmp.as_file_mut());
        io::copy(&mut verified, &mut out)
            .map_err(|e| Error::from_stream(&format!("blob {digest}"), e))?;
        out.flush().map_err(|e| Error::io(&path, e))?;
        drop(out);
        tmp.as_file().sync_data().map_err(|e| Error::io(&path, e))?;
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }

    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<()> {
        let size = manifest.bytes.len() as u64;
        self.put_blob(&manifest.digest, size, &mut &manifest.bytes[..])?;
        let mut index = self.index()?;
        let mut entries = index.manifests().clone();
        let mut desc = manifest.descriptor();
        match tag {
            Some(t) => {
                // A tag names one manifest: drop it from any other entry.
                entries.retain(|e| {
                    e.annotations()
                        .as_ref()
                        .and_then(|a| a.get(REF_NAME))
                        .map(String::as_str)
                        != Some(t)
                });
                desc.set_annotations(Some([(REF_NAME.to_owned(), t.to_owned())].into()));
                entries.push(desc);
            }
            None => {
                if !entries.iter().any(|e| e.digest() == desc.digest()) {
                    entries.push(desc);
                }
            }
        }
        index.set_manifests(entries);
        index.set_media_type(Some(media::OCI_INDEX.into()));
        self.write_index(&index)
    }
}

/// Tags that cosign and the referrers tag schema give to what signing stores beside an
/// image: `sha256-<hex>.sig` / `.att` / `.sbom` (`sigstore/cosign:specs/SIGNATURE_SPEC.md`)
/// and `sha256-<hex>` (distribution-spec "Referrers Tag Schema").
pub fn is_signing_tag(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix("sha256-") else {
        return false;
    };
    let hex = [".sig", ".att", ".sbom"]
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .unwrap_or(rest);
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True for a manifest that describes another one rather than being an image: it has a
/// `subject` or an `artifactType` (image-spec `manifest.md`, OCI 1.1 referrers), or its
/// layers are cosign signatures (`application/vnd.dev.cosign.*`), DSSE envelopes or
/// Sigstore bundles (`sigstore/cosign:specs/SIGNATURE_SPEC.md`, `ATTESTATION_SPEC.md`).
pub fn is_signing_artifact(manifest: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        subject: Option<serde_json::Value>,
        artifact_type: Option<String>,
        #[serde(default)]
        layers: Vec<Layer>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Layer {
        media_type: String,
    }
    let Ok(m) = serde_json::from_slice::<Shape>(manifest) else {
        return false;
    };
    let signing = |mt: &str| {
        mt.starts_with("application/vnd.dev.cosign.")
            || mt.starts_with("application/vnd.dev.sigstore.bundle")
            || mt == "application/vnd.dsse.envelope.v1+json"
    };
    m.subject.is_some()
        || m.artifact_type.is_some()
        || (!m.layers.is_empty() && m.layers.iter().all(|l| signing(&l.media_type)))
}

fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::io(path, e))?;
    if out.len() as u64 > limit {
        return Err(Error::Limit {
            what: path.display().to_string(),
            limit: "manifest_bytes",
            max: limit,
            actual: out.len() as u64,
        });
    }
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_data().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
