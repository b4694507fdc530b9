//! Copying images between locations by digest: every manifest and blob reachable from the
//! selected manifest, blobs first, manifests children-first, so the destination never holds
//! a manifest whose content is missing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::read_blob;
use crate::manifest::{Manifest, RawManifest, descriptor_digest, select_platform};
use crate::platform::Platform;
use crate::reference::Selector;
use crate::store::{ImageSink, ImageSource};

/// What to copy.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Copy only this platform's manifest out of an index (the copied digest is then that
    /// manifest's). `None` copies the index and every platform, keeping the index digest.
    pub platform: Option<Platform>,
    /// Blobs transferred at once.
    pub parallelism: usize,
}

/// Progress events, for a progress bar.
#[derive(Debug, Clone)]
pub enum CopyEvent<'a> {
    /// A blob starts (or is skipped because the destination has it).
    BlobStart {
        /// Its digest.
        digest: &'a Digest,
        /// Its size.
        size: u64,
        /// Already present at the destination.
        skipped: bool,
    },
    /// Bytes moved.
    Bytes(u64),
    /// A blob is done.
    BlobDone {
        /// Its digest.
        digest: &'a Digest,
    },
}

/// What a copy did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyReport {
    /// Digest of the top manifest written.
    pub digest: Digest,
    /// Media type of the top manifest.
    pub media_type: String,
    /// Manifests written.
    pub manifests: usize,
    /// Blobs transferred.
    pub blobs_copied: usize,
    /// Blobs the destination already had.
    pub blobs_skipped: usize,
    /// Bytes transferred.
    pub bytes: u64,
}

/// Copies `selector` from `src` to `dst`, tagging the top manifest with `tag` if given.
pub fn copy_image(
    src: &dyn ImageSource,
    selector: &Selector,
    dst: &dyn ImageSink,
    tag: Option<&str>,
    options: &CopyOptions,
    progress: &(dyn Fn(CopyEvent<'_>) + Sync),
) -> Result<CopyReport> {
    let mut top = src.manifest(selector)?;
    let mut manifests: Vec<RawManifest> = Vec::new();
    let mut blobs: Vec<(Digest, u64)> = Vec::new();
    if let (Manifest::Index(index), Some(p)) = (top.parse()?, &options.platform) {
        let what = format!("{}@{}", src.location(), top.digest);
        let d = descriptor_digest(select_platform(&index, p, &what)?)?;
        top = src.manifest(&Selector::Digest(d))?;
    }
    collect(src, &top, &mut manifests, &mut blobs, 0)?;
    blobs.sort();
    blobs.dedup();

    let copied = AtomicUsize::new(0);
    let skipped = AtomicUsize::new(0);
    let bytes = Mutex::new(0u64);
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let workers = options.parallelism.clamp(1, 16).min(blobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((digest, size)) = blobs.get(i) else {
                        return;
                    };
                    let result = copy_blob(src, dst, digest, *size, progress);
                    match result {
                        Ok(true) => {
                            copied.fetch_add(1, Ordering::SeqCst);
                            if let Ok(mut b) = bytes.lock() {
                                *b += size;
                            }
                        }
                        Ok(false) => {
                            skipped.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(e);
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    // Children before parents: `collect` pushed them in post-order.
    let count = manifests.len();
    for (i, m) in manifests.iter().enumerate() {
        let is_top = i + 1 == count;
        dst.put_manifest(m, if is_top { tag } else { None })?;
    }
    Ok(CopyReport {
        digest: top.digest.clone(),
        media_type: top.media_type.clone(),
        manifests: count,
        blobs_copied: copied.into_inner(),
        blobs_skipped: skipped.into_inner(),
        bytes: bytes.into_inner().unwrap_or(0),
    })
}

/// Post-order walk: a manifest's children (and blobs) before it.
fn collect(
    src: &dyn ImageSource,
    m: &RawManifest,
    manifests: &mut Vec<RawManifest>,
    blobs: &mut Vec<(Digest, u64)>,
    depth: usize,
) -> Result<()> {
    if depth > 4 {
        return Err(Error::malformed(
            m.digest.to_string(),
            "indexes nested too deep",
        ));
    }
    match m.parse()? {
        Manifest::Index(index) => {
            for d in index.manifests() {
                let digest = descriptor_digest(d)?;
                let child = src.manifest(&Selector::Digest(digest))?;
                collect(src, &child, manifests, blobs, depth + 1)?;
            }
        }
        Manifest::Image(image) => {
            let c = image.config();
            blobs.push((descriptor_digest(c)?, c.size()));
            for l in image.layers() {
                blobs.push((descriptor_digest(l)?, l.size()));
            }
        }
    }
    if !manifests.iter().any(|x| x.digest == m.digest) {
        manifests.push(m.clone());
    }
    Ok(())
}

/// Copies one blob unless present; `Ok(false)` when skipped.
fn copy_blob(
    src: &dyn ImageSource,
    dst: &dyn ImageSink,
    digest: &Digest,
    size: u64,
    progress: &(dyn Fn(CopyEvent<'_>) + Sync),
) -> Result<bool> {
    if dst.has_blob(digest)? {
        progress(CopyEvent::BlobStart {
            digest,
            size,
            skipped: true,
        });
        return Ok(false);
    }
    progress(CopyEvent::BlobStart {
        digest,
        size,
        skipped: false,
    });
    if size <= 64 * 1024 {
        // Small blobs (configs) in one piece: fewer round trips through the stream.
        let bytes = read_blob(src, digest, size)?;
        dst.put_blob(digest, size, &mut &bytes[..])?;
        progress(CopyEvent::Bytes(size));
    } else {
        let mut reader = Counting {
            inner: src.blob(digest, size)?,
            progress,
        };
        dst.put_blob(digest, size, &mut reader)?;
    }
    progress(CopyEvent::BlobDone { digest });
    Ok(true)
}

struct Counting<'a, R> {
    inner: R,
    progress: &'a (dyn Fn(CopyEvent<'_>) + Sync),
}

impl<R: std::io::Read> std::io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(CopyEvent::Bytes(n as u64));
        Ok(n)
    }
}
