//! A `docker save` tarball, read in place.
//!
//! The archive holds `manifest.json` (`[{"Config", "RepoTags", "Layers"}]`), the config
//! JSON and uncompressed layer tars. One indexing pass records where each member lives;
//! blobs are then read with a seek, never extracted. There is no registry manifest in the
//! archive, so one is synthesised (Docker schema 2, uncompressed layers whose digests are
//! the config's `rootfs.diff_ids`), as skopeo does; its digest is therefore this tool's view
//! of the archive, and every blob is still verified against its digest when read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use oci_spec::image::Descriptor;

use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::{Compression, RawManifest, media};
use crate::reference::Selector;
use crate::store::{BlobReader, ImageSource};

/// A `docker save` archive, one image of it selected.
#[derive(Debug)]
pub struct DockerArchive {
    path: PathBuf,
    members: BTreeMap<String, (u64, u64)>,
    blobs: BTreeMap<Digest, (u64, u64)>,
    manifest: RawManifest,
    repo_tags: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

impl DockerArchive {
    /// Indexes the archive and selects the image named `reference` (a `RepoTags` entry), or
    /// the only image when `None`.
    pub fn open(path: &Path, reference: Option<&str>, limits: &Limits) -> Result<Self> {
        let members = index_members(path)?;
        let what = format!("docker-archive:{}", path.display());
        let manifest_json = read_member(path, &members, "manifest.json", limits.manifest_bytes)?;
        let entries: Vec<Entry> = serde_json::from_slice(&manifest_json)
            .map_err(|e| Error::malformed(format!("{what}: manifest.json"), e))?;
        let entry = select(&entries, reference, &what)?;
        if entry.layers.len() > limits.layers {
            return Err(Error::Limit {
                what,
                limit: "layers",
                max: limits.layers as u64,
                actual: entry.layers.len() as u64,
            });
        }
        let config_bytes = read_member(path, &members, &entry.config, limits.config_bytes)?;
        let config_digest = Digest::sha256(&config_bytes);
        #[derive(serde::Deserialize)]
        struct Config {
            rootfs: RootFs,
        }
        #[derive(serde::Deserialize)]
        struct RootFs {
            diff_ids: Vec<Digest>,
        }
        let config: Config = serde_json::from_slice(&config_bytes)
            .map_err(|e| Error::malformed(format!("{what}: {}", entry.config), e))?;
        if config.rootfs.diff_ids.len() != entry.layers.len() {
            return Err(Error::malformed(
                &what,
                format!(
                    "{} layers but {} diff_ids in the config",
                    entry.layers.len(),
                    config.rootfs.diff_ids.len()
                ),
            ));
        }
        let mut blobs = BTreeMap::new();
        blobs.insert(
            config_digest.clone(),
            member(&members, &entry.config, &what)?,
        );
        let mut layers = Vec::new();
        for (name, diff_id) in entry.layers.iter().zip(&config.rootfs.diff_ids) {
            let (offset, size) = member(&members, name, &what)?;
            let mut head = [0u8; 4];
            let n = read_at(path, offset, &mut head[..size.min(4) as usize])?;
            let (digest, mt) = match Compression::sniff(&head[..n]) {
                Compression::None => (diff_id.clone(), media::DOCKER_LAYER),
                // A compressed member: its digest is not the diff_id, so hash it.
                _ => (hash_member(path, offset, size)?, media::DOCKER_LAYER_GZIP),
            };
            blobs.insert(digest.clone(), (offset, size));
            layers.push(
                serde_json::json!({"mediaType": mt, "size": size, "digest": digest.to_string()}),
            );
        }
        let synthesised = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media::DOCKER_MANIFEST,
            "config": {"mediaType": media::DOCKER_CONFIG, "size": config_bytes.len(), "digest": config_digest.to_string()},
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&synthesised).map_err(|e| Error::malformed(&what, e))?;
        let manifest = RawManifest::new(bytes, Some(media::DOCKER_MANIFEST), None, &what)?;
        Ok(Self {
            path: path.to_owned(),
            members,
            blobs,
            manifest,
            repo_tags: entry.repo_tags.clone().unwrap_or_default(),
        })
    }

    /// How many members the archive has (for diagnostics).
    pub fn member_count(&self) -> usize {
        self.members.len()
    }
}

fn select<'a>(entries: &'a [Entry], reference: Option<&str>, what: &str) -> Result<&'a Entry> {
    match reference {
        None => match entries {
            [one] => Ok(one),
            [] => Err(Error::malformed(what, "manifest.json lists no image")),
            _ => Err(Error::BadLocation {
                input: what.into(),
                reason: format!(
                    "archive holds {} images; name one as docker-archive:FILE:REPO:TAG (tags: {})",
                    entries.len(),
                    entries
                        .iter()
                        .flat_map(|e| e.repo_tags.iter().flatten())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        },
        Some(r) => {
            // Compare normalised references: `app:v1` names `docker.io/library/app:v1`.
            let want = crate::reference::Reference::parse(r).ok();
            let same = |t: &String| {
                t == r || (want.is_some() && crate::reference::Reference::parse(t).ok() == want)
            };
            entries
                .iter()
                .find(|e| e.repo_tags.iter().flatten().any(same))
                .ok_or_else(|| Error::NotFound {
                    what: r.into(),
                    location: what.into(),
                    detail: "no such RepoTags entry in manifest.json".into(),
                })
        }
    }
}

fn member(members: &BTreeMap<String, (u64, u64)>, name: &str, what: &str) -> Result<(u64, u64)> {
    let key = name.trim_start_matches("./");
    members.get(key).copied().ok_or_else(|| Error::NotFound {
        what: name.into(),
        location: what.into(),
        detail: "manifest.json names a file the archive does not have".into(),
    })
}

/// One pass over the tar: member name -> (data offset, size). Regular files only.
fn index_members(path: &Path) -> Result<BTreeMap<String, (u64, u64)>> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound {
            what: "archive".into(),
            location: path.display().to_string(),
            detail: "no such file".into(),
        },
        _ => Error::io(path, e),
    })?;
    let mut head = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if Compression::sniff(&head[..n]) != Compression::None {
        return Err(Error::BadLocation {
            input: path.display().to_string(),
            reason: "compressed archive; decompress it first (docker save writes plain tar)".into(),
        });
    }
    let layer = format!("docker-archive:{}", path.display());
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut members = BTreeMap::new();
    for entry in archive.entries().map_err(|e| Error::Layer {
        layer: layer.clone(),
        source: e,
    })? {
        let entry = entry.map_err(|e| Error::Layer {
            layer: layer.clone(),
            source: e,
        })?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path().map_err(|e| Error::Layer {
            layer: layer.clone(),
            source: e,
        })?;
        let name = name.to_string_lossy().trim_start_matches("./").to_owned();
        members.insert(name, (entry.raw_file_position(), entry.size()));
    }
    Ok(members)
}

fn read_at(path: &Path, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io(path, e))?;
    f.read_exact(buf).map_err(|e| Error::io(path, e))?;
    Ok(buf.len())
}

fn read_member(
    path: &Path,
    members: &BTreeMap<String, (u64, u64)>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>> {
    let what = format!("docker-archive:{}", path.display());
    let (offset, size) = member(members, name, &what)?;
    if size > limit {
        return Err(Error::Limit {
            what: format!("{what}: {name}"),
            limit: "member size",
            max: limit,
            actual: size,
        });
    }
    let mut buf = vec![0u8; size as usize];
    read_at(path, offset, &mut buf)?;
    Ok(buf)
}

fn hash_member(path: &Path, offset: u64, size: u64) -> Result<Digest> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io(path, e))?;
    let mut h = crate::digest::Hasher::new(crate::digest::Algorithm::Sha256);
    let mut r = BufReader::new(f).take(size);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

impl ImageSource for DockerArchive {
    fn location(&self) -> String {
        format!("docker-archive:{}", self.path.display())
    }

    fn manifest(&self, selector: &Selector) -> Result<RawManifest> {
        match selector {
            Selector::Digest(d) if *d != self.manifest.digest => Err(Error::NotFound {
                what: d.to_string(),
                location: self.location(),
                detail: format!("the archive's image is {}", self.manifest.digest),
            }),
            _ => Ok(self.manifest.clone()),
        }
    }

    fn blob(&self, digest: &Digest, size: u64) -> Result<BlobReader> {
        let (offset, len) = self
            .blobs
            .get(digest)
            .copied()
            .ok_or_else(|| Error::NotFound {
                what: format!("blob {digest}"),
                location: self.location(),
                detail: "not in this archive".into(),
            })?;
        let mut f = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&self.path, e))?;
        let reader = BufReader::with_capacity(256 * 1024, f).take(len);
        Ok(Box::new(VerifyingReader::new(
            reader,
            digest,
            size,
            format!("blob {digest}"),
        )))
    }

    fn tags(&self) -> Result<Vec<String>> {
        let mut t = self.repo_tags.clone();
        t.sort();
        Ok(t)
    }

    fn referrers(
        &self,
        _subject: &Digest,
        _artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        Ok(Vec::new())
    }
}
