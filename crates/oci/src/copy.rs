//! Copying images between locations by digest: every manifest and blob reachable from the
//! selected manifest, blobs first, manifests children-first, so the destination never holds
//! a manifest whose content is missing.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::read_blob;
use crate::manifest::{Manifest, RawManifest, descriptor_digest, select_platform};
use crate::platform::Platform;
use crate::reference::Selector;
use crate::store::{ImageSink, ImageSource, Mount, RepositoryId};

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
    /// Blobs mounted from another repository of the destination registry instead of uploaded.
    pub blobs_mounted: usize,
    /// Bytes transferred.
    pub bytes: u64,
}

/// Copies `selector` from `src` to `dst`, tagging the top manifest with `tag` if given.
///
/// Uses the user's blob-info cache ([`BlobInfoCache::user_default`]) to mount blobs the
/// destination registry holds in another repository; [`copy_image_with_cache`] to choose.
pub fn copy_image(
    src: &dyn ImageSource,
    selector: &Selector,
    dst: &dyn ImageSink,
    tag: Option<&str>,
    options: &CopyOptions,
    progress: &(dyn Fn(CopyEvent<'_>) + Sync),
) -> Result<CopyReport> {
    let cache = BlobInfoCache::user_default();
    copy_image_with_cache(src, selector, dst, tag, options, cache.as_ref(), progress)
}

/// [`copy_image`] with an explicit blob-info cache (`None`: mount only from a source in
/// the same registry).
pub fn copy_image_with_cache(
    src: &dyn ImageSource,
    selector: &Selector,
    dst: &dyn ImageSink,
    tag: Option<&str>,
    options: &CopyOptions,
    cache: Option<&BlobInfoCache>,
    progress: &(dyn Fn(CopyEvent<'_>) + Sync),
) -> Result<CopyReport> {
    let mounts = MountPlan {
        source: src.registry_repository(),
        dest: dst.registry_repository(),
        cache,
        denied: std::sync::atomic::AtomicBool::new(false),
    };
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
    let mounted = AtomicUsize::new(0);
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
                    let result = copy_blob(src, dst, &mounts, digest, *size, progress);
                    match result {
                        Ok(Transfer::Mounted) => {
                            mounted.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(Transfer::Uploaded) => {
                            copied.fetch_add(1, Ordering::SeqCst);
                            if let Ok(mut b) = bytes.lock() {
                                *b += size;
                            }
                        }
                        Ok(Transfer::Present) => {
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
    // Saved even after a failure: what was pushed is there to mount next time.
    if let Some(c) = cache {
        c.save();
    }
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
        blobs_mounted: mounted.into_inner(),
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

/// How one blob reached the destination.
enum Transfer {
    Present,
    Mounted,
    Uploaded,
}

/// Where a blob might be mounted from.
struct MountPlan<'a> {
    source: Option<RepositoryId>,
    dest: Option<RepositoryId>,
    cache: Option<&'a BlobInfoCache>,
    /// The registry refused a mount as unauthorised (a token without pull on the other
    /// repository): asking again for the next blobs would only cost round trips.
    denied: std::sync::atomic::AtomicBool,
}

/// At most this many mount attempts per blob before uploading.
const MOUNT_ATTEMPTS: usize = 3;

impl MountPlan<'_> {
    /// Repositories of the destination registry that may hold `digest`: the source
    /// repository when it is in the same registry and reached with the same credentials,
    /// then the cache's, newest first. A cached repository is asked with the destination's
    /// own credentials (the only ones a mount request carries), so the registry decides
    /// whether they may read it.
    fn candidates(&self, digest: &Digest) -> Vec<String> {
        let Some(dest) = &self.dest else {
            return Vec::new();
        };
        if self.denied.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(src) = &self.source
            && src.registry == dest.registry
            && src.credentials == dest.credentials
            && src.repository != dest.repository
        {
            out.push(src.repository.clone());
        }
        if let Some(cache) = self.cache {
            for r in cache.repositories(digest, &dest.registry) {
                if r != dest.repository && !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out.truncate(MOUNT_ATTEMPTS);
        out
    }

    fn record(&self, digest: &Digest) {
        let Some(cache) = self.cache else { return };
        if let Some(src) = &self.source {
            cache.record(digest, &src.registry, &src.repository);
        }
        if let Some(dest) = &self.dest {
            cache.record(digest, &dest.registry, &dest.repository);
        }
    }
}

/// Copies one blob unless present: mounted from another repository of the destination
/// registry when one holds it, else uploaded.
fn copy_blob(
    src: &dyn ImageSource,
    dst: &dyn ImageSink,
    mounts: &MountPlan<'_>,
    digest: &Digest,
    size: u64,
    progress: &(dyn Fn(CopyEvent<'_>) + Sync),
) -> Result<Transfer> {
    if dst.has_blob(digest)? {
        mounts.record(digest);
        progress(CopyEvent::BlobStart {
            digest,
            size,
            skipped: true,
        });
        return Ok(Transfer::Present);
    }
    let candidates = mounts.candidates(digest);
    let mut session = None;
    for (i, from) in candidates.iter().enumerate() {
        match dst.mount_blob(digest, from) {
            Ok(Mount::Mounted) => {
                mounts.record(digest);
                progress(CopyEvent::BlobStart {
                    digest,
                    size,
                    skipped: true,
                });
                progress(CopyEvent::BlobDone { digest });
                return Ok(Transfer::Mounted);
            }
            // 202: the registry opened an ordinary upload. Used for the upload when this
            // was the last candidate (saves a round trip), else cancelled before the next.
            Ok(Mount::UploadStarted(upload)) => {
                if i + 1 == candidates.len() {
                    session = Some(upload);
                } else {
                    dst.cancel_upload(upload);
                }
            }
            Ok(Mount::Unsupported) => break,
            Err(Error::Denied { .. }) => {
                mounts.denied.store(true, Ordering::Relaxed);
                break;
            }
            // A failed mount is only a missed shortcut: upload instead.
            Err(_) => continue,
        }
    }
    progress(CopyEvent::BlobStart {
        digest,
        size,
        skipped: false,
    });
    let put = |data: &mut dyn std::io::Read| match session {
        Some(upload) => dst.put_blob_in(upload, digest, size, data),
        None => dst.put_blob(digest, size, data),
    };
    if size <= 64 * 1024 {
        // Small blobs (configs) in one piece: fewer round trips through the stream.
        let bytes = read_blob(src, digest, size)?;
        put(&mut &bytes[..])?;
        progress(CopyEvent::Bytes(size));
    } else {
        let mut reader = Counting {
            inner: src.blob(digest, size)?,
            progress,
        };
        put(&mut reader)?;
    }
    mounts.record(digest);
    progress(CopyEvent::BlobDone { digest });
    Ok(Transfer::Uploaded)
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

/// Where blobs were last seen or pushed: digest -> (registry host, repository), as
/// containers/image's blob-info cache (`pkg/blobinfocache`, "KnownLocations") keeps it, so
/// a copy can mount a blob from a repository an earlier copy pushed it to, whatever that
/// copy's source was.
///
/// Stored as JSON in one file, bounded ([`BlobInfoCache::MAX_BLOBS`] digests, each with at
/// most [`BlobInfoCache::MAX_LOCATIONS`] repositories, oldest dropped first), rewritten
/// atomically (temporary file + rename) and merged with what another process saved
/// meanwhile. A file that does not parse is ignored with a warning and replaced. It holds
/// only hints: a stale entry costs one refused mount, never a wrong blob, because the
/// registry mounts by digest.
#[derive(Debug)]
pub struct BlobInfoCache {
    path: std::path::PathBuf,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    blobs: BTreeMap<String, Vec<Seen>>,
    dirty: bool,
    clock: u64,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    version: u32,
    blobs: BTreeMap<String, Vec<Seen>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Seen {
    registry: String,
    repository: String,
    /// A logical clock (nanoseconds since the epoch when recorded), newest wins.
    seen: u64,
}

impl BlobInfoCache {
    /// Digests kept.
    pub const MAX_BLOBS: usize = 4096;
    /// Repositories kept per digest.
    pub const MAX_LOCATIONS: usize = 4;
    /// A larger file is not read (treated as corrupt).
    const MAX_FILE_BYTES: u64 = 8 << 20;
    const VERSION: u32 = 1;

    /// The cache in the user's cache directory: `$XDG_CACHE_HOME/vouch/blob-info.json`, else
    /// `$HOME/.cache/vouch/blob-info.json`; `None` when neither variable is set.
    pub fn user_default() -> Option<Self> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| std::path::PathBuf::from(h).join(".cache"))
            })?;
        Some(Self::open(base.join("vouch").join("blob-info.json")))
    }

    /// The cache stored at `path` (which need not exist yet).
    pub fn open(path: impl Into<std::path::PathBuf>) -> Self {
        let path = path.into();
        let blobs = read_cache_file(&path);
        let clock = blobs.values().flatten().map(|s| s.seen).max().unwrap_or(0);
        Self {
            path,
            state: Mutex::new(CacheState {
                blobs,
                dirty: false,
                clock,
            }),
        }
    }

    /// The file it is stored in.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Repositories of `registry` where `digest` was seen, newest first.
    pub fn repositories(&self, digest: &Digest, registry: &str) -> Vec<String> {
        let Ok(state) = self.state.lock() else {
            return Vec::new();
        };
        let mut seen: Vec<&Seen> = state
            .blobs
            .get(&digest.to_string())
            .into_iter()
            .flatten()
            .filter(|s| s.registry == registry)
            .collect();
        seen.sort_by_key(|s| std::cmp::Reverse(s.seen));
        seen.into_iter().map(|s| s.repository.clone()).collect()
    }

    /// Notes that `digest` is in `registry`/`repository` now.
    pub fn record(&self, digest: &Digest, registry: &str, repository: &str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        // Strictly increasing even within one clock tick, so newest-first is well defined.
        state.clock = now.max(state.clock + 1);
        let stamp = state.clock;
        let list = state.blobs.entry(digest.to_string()).or_default();
        list.retain(|s| !(s.registry == registry && s.repository == repository));
        list.push(Seen {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            seen: stamp,
        });
        state.dirty = true;
    }

    /// Writes the cache if anything was recorded, merged with the file's current content
    /// (another process may have saved meanwhile). Failures are warnings: the cache only
    /// saves time.
    pub fn save(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if !state.dirty {
            return;
        }
        let mut merged = read_cache_file(&self.path);
        for (digest, seen) in &state.blobs {
            let list = merged.entry(digest.clone()).or_default();
            for s in seen {
                match list
                    .iter_mut()
                    .find(|x| x.registry == s.registry && x.repository == s.repository)
                {
                    Some(x) => x.seen = x.seen.max(s.seen),
                    None => list.push(s.clone()),
                }
            }
        }
        bound(&mut merged);
        match write_atomically(&self.path, &merged) {
            Ok(()) => {
                state.blobs = merged;
                state.dirty = false;
            }
            Err(e) => eprintln!(
                "warning: could not save the blob-info cache {}: {e}",
                self.path.display()
            ),
        }
    }
}

/// Drops the oldest locations beyond the bounds.
fn bound(blobs: &mut BTreeMap<String, Vec<Seen>>) {
    for list in blobs.values_mut() {
        list.sort_by_key(|s| std::cmp::Reverse(s.seen));
        list.truncate(BlobInfoCache::MAX_LOCATIONS);
    }
    blobs.retain(|_, l| !l.is_empty());
    if blobs.len() > BlobInfoCache::MAX_BLOBS {
        let mut newest: Vec<(u64, String)> = blobs
            .iter()
            .map(|(d, l)| (l.first().map_or(0, |s| s.seen), d.clone()))
            .collect();
        newest.sort_by_key(|n| std::cmp::Reverse(n.0));
        for (_, d) in newest.into_iter().skip(BlobInfoCache::MAX_BLOBS) {
            blobs.remove(&d);
        }
    }
}

fn read_cache_file(path: &std::path::Path) -> BTreeMap<String, Vec<Seen>> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => {
            eprintln!(
                "warning: ignoring the blob-info cache {}: {e}",
                path.display()
            );
            return BTreeMap::new();
        }
    };
    let mut bytes = Vec::new();
    let read = file
        .take(BlobInfoCache::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes);
    let parsed = match read {
        Err(e) => Err(e.to_string()),
        Ok(n) if n as u64 > BlobInfoCache::MAX_FILE_BYTES => Err(format!(
            "larger than {} bytes",
            BlobInfoCache::MAX_FILE_BYTES
        )),
        Ok(_) => serde_json::from_slice::<CacheFile>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                if f.version != BlobInfoCache::VERSION {
                    return Err(format!("unknown version {}", f.version));
                }
                // Keys must be digests: a hand-edited entry is dropped with the file.
                for d in f.blobs.keys() {
                    d.parse::<Digest>().map_err(|e| e.to_string())?;
                }
                Ok(f.blobs)
            }),
    };
    parsed.unwrap_or_else(|e| {
        eprintln!(
            "warning: ignoring the corrupt blob-info cache {} ({e}); it will be rewritten",
            path.display()
        );
        BTreeMap::new()
    })
}

fn write_atomically(
    path: &std::path::Path,
    blobs: &BTreeMap<String, Vec<Seen>>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file = CacheFile {
        version: BlobInfoCache::VERSION,
        blobs: blobs.clone(),
    };
    let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
