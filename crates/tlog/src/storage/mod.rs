//! Durable storage of the log behind one trait, with SQLite and PostgreSQL implementations.
//!
//! What is stored: the entries (index, UUID = leaf hash, canonical body, integrated time, SET),
//! every perfect-subtree hash that `vouch_merkle::Frontier::append` reports (so any root or
//! proof for any size costs O(log n) node reads), the search index, and one metadata row
//! holding the tree ID and the committed size. Nodes and entries are immutable once written;
//! the size only grows, in the same transaction that writes the entries and nodes it covers,
//! so a reader that reads the size first always finds every node that size needs.
//!
//! Writers run in [`Storage::write`], which holds the log's write lock (SQLite
//! `BEGIN IMMEDIATE`, PostgreSQL `SELECT … FOR UPDATE` on the metadata row): several
//! processes (API replicas on one PostgreSQL) can append without reusing an index.

mod dir;
mod postgres;
mod sqlite;

use vouch_merkle::{Hash, NodeId, TileId};

pub use self::dir::DirStorage;
pub use self::postgres::PostgresStorage;
pub use self::sqlite::SqliteStorage;
use crate::error::{Error, Result};

/// One integrated entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the log.
    pub index: u64,
    /// RFC 6962 leaf hash of `body`: the entry UUID.
    pub uuid: Hash,
    /// Canonical body (RFC 8785 JSON).
    pub body: Vec<u8>,
    /// Unix seconds when the entry was integrated.
    pub integrated_time: u64,
    /// The SignedEntryTimestamp signature.
    pub set: Vec<u8>,
}

/// What one write transaction adds.
#[derive(Debug, Default)]
pub struct Batch {
    /// New entries, indexes consecutive from the size read in the same transaction.
    pub entries: Vec<StoredEntry>,
    /// Perfect-subtree hashes completed by the new entries.
    pub nodes: Vec<(NodeId, Hash)>,
    /// Search keys: (key, entry UUID).
    pub index_keys: Vec<(String, Hash)>,
}

/// Test batches: `n` entries appended to `frontier`, the body of the entry at index `i` being
/// `body(i)`, with the subtree hashes they complete (what the sequencer hands a backend).
#[cfg(test)]
pub(crate) fn test_batch(
    frontier: &mut vouch_merkle::Frontier,
    n: usize,
    body: impl Fn(u64) -> Vec<u8>,
) -> Batch {
    let mut batch = Batch::default();
    for _ in 0..n {
        let body = body(frontier.size());
        let leaf = vouch_merkle::leaf_hash(&body);
        let index = frontier
            .append(leaf, |id, hash| batch.nodes.push((id, hash)))
            .expect("append");
        batch.entries.push(StoredEntry {
            index,
            uuid: leaf,
            body,
            integrated_time: 0,
            set: Vec::new(),
        });
    }
    batch
}

/// Operations inside a write transaction that holds the log's write lock.
pub trait WriteTx {
    /// The committed tree size.
    fn size(&mut self) -> Result<u64>;
    /// Stored node hashes, in the order asked.
    fn node_hashes(&mut self, ids: &[NodeId]) -> Result<Vec<Hash>>;
    /// The indexes of those of `uuids` already in the log.
    fn existing(&mut self, uuids: &[Hash]) -> Result<Vec<(Hash, u64)>>;
    /// Writes a batch and sets the size to `new_size`.
    fn append(&mut self, batch: &Batch, new_size: u64) -> Result<()>;
    /// The signed checkpoint of the size this transaction will commit, given before
    /// [`append`](Self::append): a backend that publishes checkpoints
    /// ([`Storage::publish_checkpoint`]) may prepare it with the batch's own writes, so
    /// that publishing after the commit only has to move it into place.
    fn stage_checkpoint(&mut self, _size: u64, _checkpoint: &str) -> Result<()> {
        Ok(())
    }
}

/// Durable log storage. Methods are blocking; the service calls them off the async runtime.
pub trait Storage: Send + Sync + 'static {
    /// The tree ID, chosen at random when the database was initialised.
    fn tree_id(&self) -> u64;
    /// The committed tree size.
    fn size(&self) -> Result<u64>;
    /// Stored node hashes, in the order asked ([`Error::Corrupt`] if one is missing).
    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>>;
    /// The entry at `index`.
    fn entry_by_index(&self, index: u64) -> Result<Option<StoredEntry>>;
    /// The entry with this UUID.
    fn entry_by_uuid(&self, uuid: &Hash) -> Result<Option<StoredEntry>>;
    /// UUIDs filed under a search key, at most `limit`.
    fn search(&self, key: &str, limit: usize) -> Result<Vec<Hash>>;
    /// Runs `f` in one transaction holding the write lock; commits (durably) if it succeeds,
    /// rolls back if it fails.
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()>;
    /// Whether appends can be written now (`/readyz`): the write path's connection works and
    /// the database accepts writes. [`Error::StorageUnavailable`] says why not.
    fn check_writable(&self) -> Result<()> {
        self.size().map(|_| ())
    }
    /// A tlog-tiles hash tile (C2SP `tlog-tiles.md`): the concatenated hashes of
    /// [`TileId::node_ids`]. The caller checks that the committed tree holds it.
    fn tile(&self, id: &TileId) -> Result<Vec<u8>> {
        let hashes = self.node_hashes(&id.node_ids())?;
        Ok(hashes.iter().flat_map(|h| *h.as_bytes()).collect())
    }
    /// A tlog-tiles entry bundle: the entries `id.index * 256 ..` (`id.width` of them), each
    /// prefixed by its big-endian `u16` length. The caller checks that the tree holds them.
    fn entry_bundle(&self, id: &TileId) -> Result<Vec<u8>> {
        let first = id.index * vouch_merkle::tiles::TILE_WIDTH;
        let mut bundle = Vec::new();
        for index in first..first + u64::from(id.width) {
            let entry = self.entry_by_index(index)?.ok_or_else(|| Error::Corrupt {
                reason: format!("entry {index} is not stored"),
            })?;
            vouch_merkle::tiles::push_bundle_entry(&mut bundle, &entry.body)?;
        }
        Ok(bundle)
    }
    /// Publishes the signed checkpoint of the committed size where static readers find it
    /// (the directory backend writes `checkpoint`); databases serve it dynamically.
    fn publish_checkpoint(&self, _size: u64, _checkpoint: &str) -> Result<()> {
        Ok(())
    }
}

/// Opens storage from a URL: `sqlite:PATH` (created if missing), `postgres://…` /
/// `postgresql://…` (a libpq connection URL; tables created if missing), or `dir:PATH` (a
/// tlog-tiles directory, [`DirStorage`]; Rekor v2 logs only).
pub fn open(url: &str) -> Result<Box<dyn Storage>> {
    if let Some(path) = url.strip_prefix("dir:") {
        Ok(Box::new(DirStorage::open(path)?))
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        Ok(Box::new(SqliteStorage::open(path)?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PostgresStorage::open(url)?))
    } else {
        Err(Error::malformed(
            "database URL",
            "expected sqlite:PATH, postgres://USER@HOST:PORT/DB or dir:PATH",
        ))
    }
}

/// A random positive 63-bit tree ID (Trillian's are positive int64).
pub(crate) fn new_tree_id() -> Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::Storage {
        backend: "random",
        reason: e.to_string(),
    })?;
    Ok((u64::from_be_bytes(bytes) >> 1).max(1))
}

pub(crate) fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Corrupt {
        reason: format!("{v} exceeds the database's 63-bit integers"),
    })
}

pub(crate) fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt {
        reason: format!("negative value {v} in the database"),
    })
}

pub(crate) fn to_hash(bytes: &[u8]) -> Result<Hash> {
    Hash::from_slice(bytes).map_err(|_| Error::Corrupt {
        reason: format!("stored hash of {} bytes", bytes.len()),
    })
}

pub(crate) fn missing_node(id: &NodeId) -> Error {
    Error::Corrupt {
        reason: format!(
            "node (level {}, index {}) is not stored",
            id.level, id.index
        ),
    }
}

/// Idle connections kept for reuse: enough for the blocking tasks of a busy service, so that
/// concurrent requests do not open (and drop) a connection each.
const MAX_IDLE: usize = 64;

/// A bag of idle connections: the service's blocking tasks take one, use it, put it back.
pub(crate) struct Pool<C> {
    idle: std::sync::Mutex<Vec<C>>,
    open: Box<dyn Fn() -> Result<C> + Send + Sync>,
}

impl<C> Pool<C> {
    pub(crate) fn new(open: impl Fn() -> Result<C> + Send + Sync + 'static) -> Self {
        Self {
            idle: std::sync::Mutex::new(Vec::new()),
            open: Box::new(open),
        }
    }

    /// Runs `f` with a pooled connection; a connection whose call failed is dropped rather than
    /// reused (it may be broken). When an idle connection turns out to be lost (the database
    /// restarted since it was opened), every idle connection is dropped (they are as stale)
    /// and `f` runs once more on a new connection: reads are safe to repeat.
    pub(crate) fn with<T>(&self, mut f: impl FnMut(&mut C) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let reused = taken.is_some();
        let mut conn = match taken {
            Some(c) => c,
            None => (self.open)()?,
        };
        let mut result = f(&mut conn);
        if reused && matches!(result, Err(Error::StorageUnavailable { .. })) {
            if let Ok(mut idle) = self.idle.lock() {
                idle.clear();
            }
            conn = (self.open)()?;
            result = f(&mut conn);
        }
        if result.is_ok()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
        result
    }
}
