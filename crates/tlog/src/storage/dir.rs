//! A tlog-tiles directory: the log as the files of C2SP `tlog-tiles.md`, so that any static web
//! server (or object store) serves the read API: `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]` under the directory. For Rekor v2 logs (entries only; no SETs,
//! integrated times or search index).
//!
//! **Durability.** Each write transaction writes the entry bundles and hash tiles its entries
//! touch (each file written to a temporary name, fsynced and renamed, then its directory
//! fsynced), and only then replaces `.state` (tree ID and committed size): the size only
//! covers files already durable, as Tessera's POSIX driver does with its tree state. A crash
//! between the two leaves files beyond the committed size; they are rewritten by the next
//! transaction (a rename replaces them) and no checkpoint ever covered them. The signed
//! `checkpoint` replaces the published one before any append of the batch is answered. The
//! new `.state` and the new checkpoint are written and fsynced under staging names together
//! with the batch's files (their fsyncs run at once); once the files and their directories
//! are durable, `.state` and then `checkpoint` are renamed into place and the root directory
//! is fsynced once: three rounds of fsyncs per batch (files; their directories; the root).
//! A crash may leave the new `checkpoint` durable without the new `.state` (the renames are
//! made durable together): then every tile the checkpoint covers is already durable, and
//! opening the directory rolls `.state` forward to the checkpoint's size once the tree
//! read from the tiles has the checkpoint's root (a directory whose checkpoint is ahead of
//! its tiles is refused as corrupt, never truncated under a published checkpoint). A staged
//! checkpoint left by a crash is removed when the directory is opened. Partial
//! tiles are kept after their full tile is written (C2SP allows deleting them; clients holding
//! an older checkpoint still fetch them).
//!
//! **Reads.** A node hash at tree level `8L + k` is folded from the `2^k` hashes of level-`L`
//! tile it lies in. Tiles read are cached in memory (their content at a given width never
//! changes), and so are hash tiles with their interior nodes folded once: an inclusion proof
//! looks its O(log n) nodes up instead of hashing up to 2^7 tile hashes for each. Duplicates are found through an in-memory
//! map from leaf hash to index, rebuilt from the level-0 tiles when the directory is opened.
//!
//! One process may write a directory at a time (the caller's duty: nothing locks it).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vouch_merkle::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TileId};
use vouch_merkle::{Hash, NodeId};

use super::{Batch, Storage, StoredEntry, WriteTx, new_tree_id};
use crate::error::{Error, Result};

const STATE: &str = ".state";
/// The next `.state`, written and fsynced with a batch's files, renamed over `.state` to commit.
const STATE_STAGED: &str = ".state.staged";
/// The next `checkpoint`, written and fsynced with a batch's files, renamed to publish.
const CHECKPOINT_STAGED: &str = ".checkpoint.staged";
const STATE_MAGIC: &str = "vouch-tlog-tiles 1";
/// Tiles kept in the read cache before it is cleared.
const CACHE_TILES: usize = 4096;
/// Folded hash tiles (16 KiB each when full) kept before that cache is cleared.
const CACHE_FOLDED: usize = 1024;

/// A hash tile's rows: row `k` holds the nodes `k` levels above the tile's base level, from
/// its first node on (row 0: the tile's hashes; a partial tile's rows stop at its last
/// complete node).
type Folded = Arc<Vec<Vec<Hash>>>;

/// The log as a directory of tlog-tiles files.
pub struct DirStorage {
    root: PathBuf,
    tree_id: u64,
    size: AtomicU64,
    /// Leaf hash -> index of every committed entry; also the writer's lock.
    dedup: Mutex<HashMap<Hash, u64>>,
    cache: Mutex<HashMap<TileId, Arc<Vec<u8>>>>,
    folded: Mutex<HashMap<TileId, Folded>>,
    /// The checkpoint published with the last commit (size, text): publishing it again is
    /// a no-op.
    published: Mutex<Option<(u64, String)>>,
}

impl std::fmt::Debug for DirStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirStorage")
            .field("root", &self.root)
            .field("tree_id", &self.tree_id)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Storage {
        backend: "dir",
        reason: format!("{}: {e}", path.display()),
    }
}

/// Writes `bytes` to `path` durably: a temporary file, fsynced, renamed over `path` (readers
/// see the old or the new content, never a mix); the directory is fsynced by the caller, once
/// per directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    file.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
    file.sync_all().map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// Writes `bytes` to `path` and fsyncs the file (a staging name: renamed into place later).
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    file.write_all(bytes).map_err(|e| io_err(path, e))?;
    file.sync_all().map_err(|e| io_err(path, e))
}

/// Runs `f` on every item, each on its own scoped thread; the first error, once all ended.
fn all_ok<T: Send>(
    items: impl Iterator<Item = T>,
    f: impl Fn(T) -> Result<()> + Sync,
) -> Result<()> {
    let f = &f;
    std::thread::scope(|scope| {
        let running: Vec<_> = items.map(|item| scope.spawn(move || f(item))).collect();
        let mut first = Ok(());
        for handle in running {
            let result = handle.join().unwrap_or_else(|_| {
                Err(Error::Storage {
                    backend: "dir",
                    reason: "a file writer thread panicked".into(),
                })
            });
            if first.is_ok() {
                first = result;
            }
        }
        first
    })
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

impl DirStorage {
    /// Opens (creating if needed) the log directory at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| io_err(&root, e))?;
        let state_path = root.join(STATE);
        let (tree_id, size) = match std::fs::read_to_string(&state_path) {
            Ok(text) => parse_state(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = new_tree_id()?;
                write_atomic(&state_path, state_text(id, 0).as_bytes())?;
                sync_dir(&root)?;
                (id, 0)
            }
            Err(e) => return Err(io_err(&state_path, e)),
        };
        let storage = Self {
            root,
            tree_id,
            size: AtomicU64::new(size),
            dedup: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            folded: Mutex::new(HashMap::new()),
            published: Mutex::new(None),
        };
        // A checkpoint staged for a batch that never committed (a crash) is never published.
        match std::fs::remove_file(storage.root.join(CHECKPOINT_STAGED)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err(&storage.root.join(CHECKPOINT_STAGED), e));
            }
            _ => {}
        }
        let size = storage.roll_forward(size)?;
        let mut dedup = HashMap::with_capacity(usize::try_from(size).unwrap_or(0));
        for tile in tiles::tiles_for_size(size).filter(|t| t.level == Some(0)) {
            let bytes = storage.read_tile(&tile)?;
            for (i, hash) in bytes.chunks_exact(Hash::LEN).enumerate() {
                let hash = Hash::from_slice(hash)?;
                dedup.insert(hash, tile.index * TILE_WIDTH + i as u64);
            }
        }
        *storage.dedup.lock().map_err(|_| Error::Unavailable)? = dedup;
        Ok(storage)
    }

    /// The committed size after a crash between the commit's two renames: the published
    /// `checkpoint` may be ahead of `.state` (see the module docs). Its tiles are durable;
    /// `.state` moves to its size when the tiles give its root, and a checkpoint ahead of
    /// what the tiles prove is refused. An unreadable checkpoint is left to be republished.
    fn roll_forward(&self, size: u64) -> Result<u64> {
        let path = self.root.join("checkpoint");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(size);
        };
        let mut lines = text.lines().skip(1);
        let published = lines.next().and_then(|l| l.parse::<u64>().ok());
        let root = lines.next().and_then(|l| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD.decode(l).ok()?;
            Hash::from_slice(&bytes).ok()
        });
        let (Some(published), Some(root)) = (published, root) else {
            return Ok(size);
        };
        if published <= size {
            return Ok(size);
        }
        let ahead = |reason: String| Error::Corrupt {
            reason: format!(
                "{} is at size {published} but .state at {size}, and {reason}",
                path.display()
            ),
        };
        let ids = vouch_merkle::Frontier::node_ids(published);
        let nodes = self
            .nodes_at(&ids, published)
            .map_err(|e| ahead(format!("its tiles cannot be read: {e}")))?;
        let tiles_root = vouch_merkle::Frontier::from_nodes(published, nodes)?.root();
        if tiles_root != root {
            return Err(ahead(
                "the tiles' root differs from the checkpoint's".into(),
            ));
        }
        write_atomic(
            &self.root.join(STATE),
            state_text(self.tree_id, published).as_bytes(),
        )?;
        sync_dir(&self.root)?;
        self.size.store(published, Ordering::Release);
        Ok(published)
    }

    fn path(&self, id: &TileId) -> PathBuf {
        self.root.join(id.path())
    }

    /// A tile or bundle file at exactly `id.width`, through the cache.
    fn read_tile(&self, id: &TileId) -> Result<Arc<Vec<u8>>> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(id).cloned()) {
            return Ok(hit);
        }
        let path = self.path(id);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Corrupt {
                reason: format!("{} is missing", path.display()),
            },
            _ => io_err(&path, e),
        })?;
        if id.level.is_some() && bytes.len() != usize::from(id.width) * Hash::LEN {
            return Err(Error::Corrupt {
                reason: format!("{} holds {} bytes", path.display(), bytes.len()),
            });
        }
        let bytes = Arc::new(bytes);
        self.remember(*id, Arc::clone(&bytes));
        Ok(bytes)
    }

    fn remember(&self, id: TileId, bytes: Arc<Vec<u8>>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_TILES {
                cache.clear();
            }
            cache.insert(id, bytes);
        }
    }

    /// A hash tile with its interior nodes, through the folded cache.
    fn folded_tile(&self, id: &TileId) -> Result<Folded> {
        if let Some(hit) = self.folded.lock().ok().and_then(|c| c.get(id).cloned()) {
            return Ok(hit);
        }
        let bytes = self.read_tile(id)?;
        let base = bytes
            .chunks_exact(Hash::LEN)
            .map(Hash::from_slice)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut rows = vec![base];
        while let Some(row) = rows.last().filter(|r| r.len() > 1) {
            let up = row
                .chunks_exact(2)
                .map(|pair| vouch_merkle::node_hash(&pair[0], &pair[1]))
                .collect();
            rows.push(up);
        }
        let rows = Arc::new(rows);
        if let Ok(mut cache) = self.folded.lock() {
            if cache.len() >= CACHE_FOLDED {
                cache.clear();
            }
            cache.insert(*id, Arc::clone(&rows));
        }
        Ok(rows)
    }

    /// Node hashes at the committed `size`.
    fn nodes_at(&self, ids: &[NodeId], size: u64) -> Result<Vec<Hash>> {
        ids.iter()
            .map(|id| {
                let level = id.level / TILE_HEIGHT;
                let k = id.level % TILE_HEIGHT;
                let first = id.index << k;
                if id.end() > size {
                    return Err(super::missing_node(id));
                }
                let tile = tiles::tile_for_node(level, first, size);
                let rows = self.folded_tile(&tile)?;
                // The tile's first node `k` levels up is `tile.index * 256 / 2^k`.
                let at = id.index.checked_sub(tile.index * (TILE_WIDTH >> k));
                at.and_then(|i| rows.get(usize::from(k))?.get(usize::try_from(i).ok()?))
                    .copied()
                    .ok_or_else(|| super::missing_node(id))
            })
            .collect()
    }

    /// The entries of the bundle holding `index`, at the committed `size`.
    fn bundle_at(&self, bundle: u64, size: u64) -> Result<Arc<Vec<u8>>> {
        let width = (size - bundle * TILE_WIDTH).min(TILE_WIDTH) as u16;
        self.read_tile(&TileId {
            level: None,
            index: bundle,
            width,
        })
    }
}

fn state_text(tree_id: u64, size: u64) -> String {
    format!("{STATE_MAGIC}\n{tree_id}\n{size}\n")
}

fn parse_state(text: &str) -> Result<(u64, u64)> {
    let mut lines = text.lines();
    let bad = || Error::Corrupt {
        reason: format!("{STATE} is not \"{STATE_MAGIC}\\n<tree id>\\n<size>\\n\""),
    };
    if lines.next() != Some(STATE_MAGIC) {
        return Err(bad());
    }
    let tree_id = lines.next().and_then(|l| l.parse().ok()).ok_or_else(bad)?;
    let size = lines.next().and_then(|l| l.parse().ok()).ok_or_else(bad)?;
    Ok((tree_id, size))
}

impl Storage for DirStorage {
    fn tree_id(&self) -> u64 {
        self.tree_id
    }

    fn size(&self) -> Result<u64> {
        Ok(self.size.load(Ordering::Acquire))
    }

    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        self.nodes_at(ids, self.size.load(Ordering::Acquire))
    }

    fn entry_by_index(&self, index: u64) -> Result<Option<StoredEntry>> {
        let size = self.size.load(Ordering::Acquire);
        if index >= size {
            return Ok(None);
        }
        let bundle = self.bundle_at(index / TILE_WIDTH, size)?;
        let entries = tiles::parse_bundle(&bundle)?;
        let body = entries
            .get((index % TILE_WIDTH) as usize)
            .ok_or_else(|| Error::Corrupt {
                reason: format!("entry bundle of entry {index} is short"),
            })?
            .to_vec();
        Ok(Some(StoredEntry {
            index,
            uuid: vouch_merkle::leaf_hash(&body),
            body,
            integrated_time: 0,
            set: Vec::new(),
        }))
    }

    fn entry_by_uuid(&self, uuid: &Hash) -> Result<Option<StoredEntry>> {
        let index = self
            .dedup
            .lock()
            .map_err(|_| Error::Unavailable)?
            .get(uuid)
            .copied();
        match index {
            Some(i) => self.entry_by_index(i),
            None => Ok(None),
        }
    }

    fn search(&self, _key: &str, _limit: usize) -> Result<Vec<Hash>> {
        Ok(Vec::new())
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        let mut dedup = self.dedup.lock().map_err(|_| Error::Unavailable)?;
        let size = self.size.load(Ordering::Acquire);
        let mut tx = DirTx {
            storage: self,
            size,
            dedup: &dedup,
            appended: None,
            checkpoint: None,
        };
        let result = f(&mut tx);
        let checkpoint = tx.checkpoint.take();
        let appended = tx.appended.take();
        // A checkpoint staged for a transaction that does not commit is removed (best effort;
        // `open` removes it too): it must never be published.
        let unstage = || {
            let _ = std::fs::remove_file(self.root.join(CHECKPOINT_STAGED));
        };
        let (new_size, leaves) = match (result, appended) {
            (Ok(()), Some(appended)) => appended,
            (result, _) => {
                if checkpoint.is_some() {
                    unstage();
                }
                return result;
            }
        };
        // The commit: `.state` (durable under its staging name since `append`) moves into
        // place, after every file it covers and their directories are durable; then the
        // staged checkpoint of the new size, and one fsync of the root makes both durable
        // (`open` rolls forward when only the checkpoint's rename survived a crash).
        let checkpoint = checkpoint.filter(|(size, _)| *size == new_size);
        let staged = self.root.join(STATE_STAGED);
        let committed = std::fs::rename(&staged, self.root.join(STATE))
            .map_err(|e| io_err(&staged, e))
            .and_then(|()| match &checkpoint {
                Some(_) => {
                    let from = self.root.join(CHECKPOINT_STAGED);
                    std::fs::rename(&from, self.root.join("checkpoint"))
                        .map_err(|e| io_err(&from, e))
                }
                None => Ok(()),
            })
            .and_then(|()| sync_dir(&self.root));
        if let Err(e) = committed {
            unstage();
            return Err(e);
        }
        dedup.extend(leaves);
        self.size.store(new_size, Ordering::Release);
        if let Ok(mut published) = self.published.lock() {
            *published = checkpoint;
        }
        Ok(())
    }

    fn tile(&self, id: &TileId) -> Result<Vec<u8>> {
        let size = self.size.load(Ordering::Acquire);
        let level = id.level.unwrap_or(0);
        let current = tiles::tile_for_node(level, id.index * TILE_WIDTH, size);
        let bytes = self.read_tile(&current)?;
        let len = usize::from(id.width) * Hash::LEN;
        bytes
            .get(..len)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::Corrupt {
                reason: format!("tile {} is short", id.path()),
            })
    }

    fn entry_bundle(&self, id: &TileId) -> Result<Vec<u8>> {
        let size = self.size.load(Ordering::Acquire);
        let bytes = self.bundle_at(id.index, size)?;
        let entries = tiles::parse_bundle(&bytes)?;
        let mut out = Vec::new();
        for entry in entries.iter().take(usize::from(id.width)) {
            tiles::push_bundle_entry(&mut out, entry)?;
        }
        Ok(out)
    }

    fn publish_checkpoint(&self, size: u64, checkpoint: &str) -> Result<()> {
        // Only ever move the published checkpoint forward.
        if size < self.size.load(Ordering::Acquire) {
            return Ok(());
        }
        // Durable before any append of its batch is answered (the sequencer publishes, then
        // acknowledges): a static web server serving the directory after a power loss serves
        // a checkpoint no older than what clients were answered with. A checkpoint staged
        // with its batch was published durably by the commit.
        let done = self
            .published
            .lock()
            .map_err(|_| Error::Unavailable)?
            .as_ref()
            .is_some_and(|(s, text)| *s == size && text == checkpoint);
        if done {
            return Ok(());
        }
        write_atomic(&self.root.join("checkpoint"), checkpoint.as_bytes())?;
        sync_dir(&self.root)
    }
}

struct DirTx<'a> {
    storage: &'a DirStorage,
    size: u64,
    dedup: &'a HashMap<Hash, u64>,
    /// The new size and the new leaves, once `append` wrote them.
    appended: Option<(u64, Vec<(Hash, u64)>)>,
    /// The checkpoint of the size to commit ([`WriteTx::stage_checkpoint`]).
    checkpoint: Option<(u64, String)>,
}

impl WriteTx for DirTx<'_> {
    fn size(&mut self) -> Result<u64> {
        Ok(self.size)
    }

    fn node_hashes(&mut self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        self.storage.nodes_at(ids, self.size)
    }

    fn existing(&mut self, uuids: &[Hash]) -> Result<Vec<(Hash, u64)>> {
        Ok(uuids
            .iter()
            .filter_map(|u| self.dedup.get(u).map(|i| (*u, *i)))
            .collect())
    }

    fn stage_checkpoint(&mut self, size: u64, checkpoint: &str) -> Result<()> {
        self.checkpoint = Some((size, checkpoint.to_owned()));
        Ok(())
    }

    fn append(&mut self, batch: &Batch, new_size: u64) -> Result<()> {
        if self.appended.is_some() {
            return Err(Error::Storage {
                backend: "dir",
                reason: "one append per transaction".into(),
            });
        }
        let old = self.size;
        let storage = self.storage;
        // The files of the batch, written once all are known (below).
        let mut files: Vec<(TileId, Vec<u8>)> = Vec::new();
        let mut write = |id: TileId, bytes: Vec<u8>| -> Result<()> {
            files.push((id, bytes));
            Ok(())
        };
        // Entry bundles: extend the partial bundle of the old size, then new ones.
        let mut bundle_index = old / TILE_WIDTH;
        let mut bundle = if !old.is_multiple_of(TILE_WIDTH) {
            storage.bundle_at(bundle_index, old)?.to_vec()
        } else {
            Vec::new()
        };
        let mut in_bundle = old % TILE_WIDTH;
        for (expected, entry) in (old..).zip(&batch.entries) {
            if entry.index != expected {
                return Err(Error::Corrupt {
                    reason: format!("entry {} appended at size {expected}", entry.index),
                });
            }
            tiles::push_bundle_entry(&mut bundle, &entry.body)?;
            in_bundle += 1;
            if in_bundle == TILE_WIDTH {
                let id = TileId {
                    level: None,
                    ..TileId::full(0, bundle_index)
                };
                write(id, std::mem::take(&mut bundle))?;
                bundle_index += 1;
                in_bundle = 0;
            }
        }
        if in_bundle > 0 {
            let id = TileId {
                level: None,
                index: bundle_index,
                width: in_bundle as u16,
            };
            write(id, bundle)?;
        }
        // Hash tiles: the nodes at levels 8L, grouped by tile.
        let mut by_level: HashMap<u8, Vec<(u64, Hash)>> = HashMap::new();
        for (id, hash) in &batch.nodes {
            if id.level % TILE_HEIGHT == 0 {
                by_level
                    .entry(id.level / TILE_HEIGHT)
                    .or_default()
                    .push((id.index, *hash));
            }
        }
        let mut levels: Vec<u8> = by_level.keys().copied().collect();
        levels.sort_unstable();
        for level in levels {
            let mut nodes = by_level.remove(&level).unwrap_or_default();
            nodes.sort_unstable_by_key(|(i, _)| *i);
            let shift = u32::from(level) * u32::from(TILE_HEIGHT);
            let old_count = old >> shift;
            let mut tile_index = old_count / TILE_WIDTH;
            let mut tile = if !old_count.is_multiple_of(TILE_WIDTH) {
                let id = tiles::tile_for_node(level, old_count - 1, old);
                storage.read_tile(&id)?.to_vec()
            } else {
                Vec::new()
            };
            let mut next = old_count;
            for (index, hash) in nodes {
                if index != next {
                    return Err(Error::Corrupt {
                        reason: format!("node ({}, {index}) appended after {next}", level * 8),
                    });
                }
                tile.extend_from_slice(hash.as_bytes());
                next += 1;
                if next.is_multiple_of(TILE_WIDTH) {
                    write(TileId::full(level, tile_index), std::mem::take(&mut tile))?;
                    tile_index += 1;
                }
            }
            if !tile.is_empty() {
                let id = TileId {
                    level: Some(level),
                    index: tile_index,
                    width: (tile.len() / Hash::LEN) as u16,
                };
                write(id, tile)?;
            }
        }
        // Directories the files go in; one created now must be made durable in its parent
        // too, up to the root.
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (id, _) in &files {
            let path = storage.path(id);
            let mut dir = path.parent();
            let created = dir.is_some_and(|d| !d.exists());
            if let Some(d) = dir {
                std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
            }
            while let Some(d) = dir {
                if !dirs.iter().any(|known| known == d) {
                    dirs.push(d.to_path_buf());
                }
                if !created || d == storage.root {
                    break;
                }
                dir = d.parent();
            }
        }
        // Each file (temporary name, fsync, rename) and then each directory is made durable on
        // its own thread: the fsyncs wait on the disk, and concurrent ones share its flushes.
        // The next `.state` and the staged checkpoint are written and fsynced in the same
        // round under their staging names; only renames (in `write` and `publish_checkpoint`)
        // make them count, after every file here and its directory is durable.
        let mut jobs: Vec<(PathBuf, &[u8], bool)> = files
            .iter()
            .map(|(id, bytes)| (storage.path(id), bytes.as_slice(), true))
            .collect();
        let state = state_text(storage.tree_id, new_size);
        jobs.push((storage.root.join(STATE_STAGED), state.as_bytes(), false));
        if self
            .checkpoint
            .as_ref()
            .is_some_and(|(size, _)| *size != new_size)
        {
            self.checkpoint = None;
        }
        if let Some((_, checkpoint)) = &self.checkpoint {
            jobs.push((
                storage.root.join(CHECKPOINT_STAGED),
                checkpoint.as_bytes(),
                false,
            ));
        }
        all_ok(jobs.iter(), |(path, bytes, rename)| {
            if *rename {
                write_atomic(path, bytes)
            } else {
                write_synced(path, bytes)
            }
        })?;
        all_ok(dirs.iter(), |dir| sync_dir(dir))?;
        for (id, bytes) in files {
            storage.remember(id, Arc::new(bytes));
        }
        let leaves = batch.entries.iter().map(|e| (e.uuid, e.index)).collect();
        self.appended = Some((new_size, leaves));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vouch_merkle::{Frontier, MemoryTree, NodeSource as _};

    /// Every complete node at levels 0-10 read back from the tiles (full and partial, level-0
    /// and level-1 tiles, through the folded cache) equals the in-memory tree's, after batches
    /// of uneven sizes and after reopening the directory.
    #[test]
    fn node_hashes_match_an_in_memory_tree() {
        let dir = tempfile::tempdir().unwrap();
        let storage = DirStorage::open(dir.path()).unwrap();
        let mut frontier = Frontier::new();
        let mut memory = MemoryTree::new();
        for batch_len in [1usize, 2, 253, 1, 300, 7, 256, 9, 511] {
            let batch = batch_of(&mut frontier, batch_len);
            for entry in &batch.entries {
                memory.push(entry.uuid);
            }
            let size = frontier.size();
            storage.write(&mut |tx| tx.append(&batch, size)).unwrap();
            check(&storage, &memory, size);
        }
        let reopened = DirStorage::open(dir.path()).unwrap();
        check(&reopened, &memory, frontier.size());
    }

    fn batch_of(frontier: &mut Frontier, n: usize) -> Batch {
        super::super::test_batch(frontier, n, |i| format!("entry {i}").into_bytes())
    }

    /// A checkpoint in the signed-note layout (origin, size, base64 root) for `frontier`.
    fn note(frontier: &Frontier) -> String {
        use base64::Engine as _;
        format!(
            "log.example\n{}\n{}\n\n\u{2014} log.example c2lnbmF0dXJl\n",
            frontier.size(),
            base64::engine::general_purpose::STANDARD.encode(frontier.root().as_bytes())
        )
    }

    fn state_size(root: &Path) -> u64 {
        parse_state(&std::fs::read_to_string(root.join(STATE)).unwrap())
            .unwrap()
            .1
    }

    /// The checkpoint staged with a batch is published by the commit itself (nothing staged
    /// is left, publishing it again changes nothing); a transaction that fails after staging
    /// commits and publishes nothing; a checkpoint other than the staged one is written as
    /// given; a staged checkpoint left by a crash is removed when the directory is opened.
    #[test]
    fn staged_checkpoint_is_published_by_its_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let storage = DirStorage::open(root).unwrap();
        let mut frontier = Frontier::new();
        let batch = batch_of(&mut frontier, 3);
        let three = note(&frontier);
        storage
            .write(&mut |tx| {
                tx.stage_checkpoint(3, &three)?;
                tx.append(&batch, 3)
            })
            .unwrap();
        assert_eq!(storage.size().unwrap(), 3);
        assert_eq!(state_size(root), 3);
        assert_eq!(
            std::fs::read_to_string(root.join("checkpoint")).unwrap(),
            three
        );
        assert!(!root.join(CHECKPOINT_STAGED).exists());
        storage.publish_checkpoint(3, &three).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("checkpoint")).unwrap(),
            three
        );

        // Staged and written, then the transaction fails: nothing moves, nothing is left.
        let mut failed = frontier.clone();
        let batch = batch_of(&mut failed, 2);
        let err = storage.write(&mut |tx| {
            tx.stage_checkpoint(5, &note(&failed))?;
            tx.append(&batch, 5)?;
            Err(Error::Unavailable)
        });
        assert!(err.is_err());
        assert_eq!(storage.size().unwrap(), 3);
        assert_eq!(state_size(root), 3);
        assert!(!root.join(CHECKPOINT_STAGED).exists());
        assert_eq!(
            std::fs::read_to_string(root.join("checkpoint")).unwrap(),
            three
        );
        // Publishing a checkpoint that was not staged writes the text given.
        storage
            .publish_checkpoint(3, "checkpoint at 3, again\n")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("checkpoint")).unwrap(),
            "checkpoint at 3, again\n"
        );

        // A crash after staging a later batch (the file is there, `.state` not moved):
        // opening removes it and keeps the committed size.
        drop(storage);
        std::fs::write(root.join(CHECKPOINT_STAGED), note(&failed)).unwrap();
        let reopened = DirStorage::open(root).unwrap();
        assert_eq!(reopened.size().unwrap(), 3);
        assert!(!root.join(CHECKPOINT_STAGED).exists());
    }

    /// A crash that kept the new `checkpoint` but not the new `.state` (the two renames of a
    /// commit are made durable by one fsync): opening rolls `.state` forward to the
    /// checkpoint, whose tiles are durable; a checkpoint whose root the tiles do not give, or
    /// beyond the tiles, makes opening fail rather than truncate under it.
    #[test]
    fn open_rolls_forward_to_a_published_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let storage = DirStorage::open(root).unwrap();
        let tree_id = storage.tree_id();
        let mut frontier = Frontier::new();
        let mut memory = MemoryTree::new();
        let mut uuids = Vec::new();
        for n in [3usize, 300] {
            let batch = batch_of(&mut frontier, n);
            for e in &batch.entries {
                memory.push(e.uuid);
                uuids.push(e.uuid);
            }
            let size = frontier.size();
            let checkpoint = note(&frontier);
            storage
                .write(&mut |tx| {
                    tx.stage_checkpoint(size, &checkpoint)?;
                    tx.append(&batch, size)
                })
                .unwrap();
        }
        drop(storage);
        // `.state` as the crash left it: the previous commit.
        write_atomic(&root.join(STATE), state_text(tree_id, 3).as_bytes()).unwrap();
        let reopened = DirStorage::open(root).unwrap();
        assert_eq!(reopened.size().unwrap(), 303);
        assert_eq!(state_size(root), 303);
        check(&reopened, &memory, 303);
        // The log goes on from there: the next entry's duplicate check sees all 303.
        reopened
            .write(&mut |tx| {
                assert_eq!(tx.existing(&uuids)?.len(), 303);
                Ok(())
            })
            .unwrap();
        drop(reopened);

        // A checkpoint whose root is not the tiles', or beyond the tiles: refused.
        let good = std::fs::read_to_string(root.join("checkpoint")).unwrap();
        write_atomic(&root.join(STATE), state_text(tree_id, 3).as_bytes()).unwrap();
        let mut other = frontier.clone();
        batch_of(&mut other, 1);
        let wrong_root = good.replacen(
            good.lines().nth(2).unwrap(),
            note(&other).lines().nth(2).unwrap(),
            1,
        );
        std::fs::write(root.join("checkpoint"), &wrong_root).unwrap();
        let err = DirStorage::open(root).unwrap_err().to_string();
        assert!(err.contains("root differs"), "{err}");
        std::fs::write(root.join("checkpoint"), note(&other)).unwrap();
        let err = DirStorage::open(root).unwrap_err().to_string();
        assert!(err.contains("tiles cannot be read"), "{err}");
        assert_eq!(state_size(root), 3, "nothing rolled forward");
    }

    fn check(storage: &DirStorage, memory: &MemoryTree, size: u64) {
        let ids: Vec<NodeId> = (0..=10u8)
            .flat_map(|level| (0..size >> level).map(move |index| NodeId { level, index }))
            .collect();
        assert_eq!(
            storage.node_hashes(&ids).unwrap(),
            memory.node_hashes(&ids).unwrap(),
            "size {size}"
        );
    }
}
