//! SQLite storage: one file in WAL mode, `synchronous = FULL` (a commit is on disk before the
//! append is acknowledged), one writer connection and a pool of readers (WAL readers never
//! block the writer).
//!
//! WAL checkpoints (copying committed pages into the database file, and its fsync) run on a
//! thread of their own every 200 ms in `PASSIVE` mode, which never blocks the
//! writer or the readers, instead of in the committing connection: SQLite's automatic
//! checkpoint would add that copy and fsync to one of the sequencer's append batches every
//! thousand pages. The writer keeps a large automatic checkpoint as a bound on the WAL should
//! that thread fall behind.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use vouch_merkle::{Hash, NodeId};

use super::{
    Batch, Pool, Storage, StoredEntry, WriteTx, missing_node, new_tree_id, to_hash, to_i64, to_u64,
};
use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tlog_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  tree_id INTEGER NOT NULL,
  size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tlog_entries (
  idx INTEGER PRIMARY KEY,
  uuid BLOB NOT NULL UNIQUE,
  body BLOB NOT NULL,
  integrated_time INTEGER NOT NULL,
  set_sig BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tlog_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tlog_index (
  key TEXT NOT NULL,
  uuid BLOB NOT NULL,
  PRIMARY KEY (key, uuid)
) WITHOUT ROWID;
";

/// How often the checkpoint thread checkpoints the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// WAL pages after which the writer checkpoints itself (SQLite's default is 1000), should the
/// checkpoint thread fall behind.
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_000;

/// The log in one SQLite file.
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    readers: Pool<Connection>,
    tree_id: u64,
    /// Dropped with the storage: ends the checkpoint thread.
    _checkpoints: std::sync::mpsc::Sender<()>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("tree_id", &self.tree_id)
            .finish_non_exhaustive()
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(Error::sqlite)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(Error::sqlite)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        .map_err(Error::sqlite)?;
    Ok(conn)
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = connect(&path)?;
        let tx = writer
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(Error::sqlite)?;
        tx.execute_batch(SCHEMA).map_err(Error::sqlite)?;
        let existing: Option<i64> = tx
            .query_row("SELECT tree_id FROM tlog_meta WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(Error::sqlite)?;
        let tree_id = match existing {
            Some(id) => to_u64(id)?,
            None => {
                let id = new_tree_id()?;
                tx.execute(
                    "INSERT INTO tlog_meta (id, tree_id, size) VALUES (1, ?1, 0)",
                    params![to_i64(id)?],
                )
                .map_err(Error::sqlite)?;
                id
            }
        };
        tx.commit().map_err(Error::sqlite)?;
        writer
            .pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)
            .map_err(Error::sqlite)?;
        let checkpointer = connect(&path)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("tlog-checkpoint".into())
            .spawn(move || {
                // Until the storage is dropped (the sender with it). A failed checkpoint (a
                // busy database) is tried again at the next tick.
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    let _ = checkpointer.execute_batch("PRAGMA wal_checkpoint(PASSIVE);");
                }
            })
            .map_err(|e| Error::Storage {
                backend: "sqlite",
                reason: format!("starting the checkpoint thread: {e}"),
            })?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Pool::new(move || connect(&path)),
            tree_id,
            _checkpoints: stop,
        })
    }
}

fn size(conn: &Connection) -> Result<u64> {
    let size: i64 = conn
        .prepare_cached("SELECT size FROM tlog_meta WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(Error::sqlite)?;
    to_u64(size)
}

fn node_hashes(conn: &Connection, ids: &[NodeId]) -> Result<Vec<Hash>> {
    let mut stmt = conn
        .prepare_cached("SELECT hash FROM tlog_nodes WHERE level = ?1 AND idx = ?2")
        .map_err(Error::sqlite)?;
    ids.iter()
        .map(|id| {
            let bytes: Option<Vec<u8>> = stmt
                .query_row(params![id.level, to_i64(id.index)?], |r| r.get(0))
                .optional()
                .map_err(Error::sqlite)?;
            to_hash(&bytes.ok_or_else(|| missing_node(id))?)
        })
        .collect()
}

fn entry_where(
    conn: &Connection,
    clause: &str,
    arg: rusqlite::types::Value,
) -> Result<Option<StoredEntry>> {
    let sql = format!(
        "SELECT idx, uuid, body, integrated_time, set_sig FROM tlog_entries WHERE {clause}"
    );
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row([arg], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })
            .optional()
        })
        .map_err(Error::sqlite)?;
    row.map(|(index, uuid, body, time, set)| {
        Ok(StoredEntry {
            index: to_u64(index)?,
            uuid: to_hash(&uuid)?,
            body,
            integrated_time: to_u64(time)?,
            set,
        })
    })
    .transpose()
}

impl Storage for SqliteStorage {
    fn tree_id(&self) -> u64 {
        self.tree_id
    }

    fn size(&self) -> Result<u64> {
        self.readers.with(|c| size(c))
    }

    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        self.readers.with(|c| node_hashes(c, ids))
    }

    fn entry_by_index(&self, index: u64) -> Result<Option<StoredEntry>> {
        let index = to_i64(index)?;
        self.readers
            .with(|c| entry_where(c, "idx = ?1", index.into()))
    }

    fn entry_by_uuid(&self, uuid: &Hash) -> Result<Option<StoredEntry>> {
        let uuid = uuid.as_bytes().to_vec();
        self.readers
            .with(|c| entry_where(c, "uuid = ?1", uuid.clone().into()))
    }

    fn search(&self, key: &str, limit: usize) -> Result<Vec<Hash>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.readers.with(|c| {
            let mut stmt = c
                .prepare_cached("SELECT uuid FROM tlog_index WHERE key = ?1 LIMIT ?2")
                .map_err(Error::sqlite)?;
            let rows = stmt
                .query_map(params![key, limit], |r| r.get::<_, Vec<u8>>(0))
                .map_err(Error::sqlite)?;
            rows.map(|r| to_hash(&r.map_err(Error::sqlite)?)).collect()
        })
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        let mut conn = self.writer.lock().map_err(|_| Error::Unavailable)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(Error::sqlite)?;
        let mut handle = Tx(&tx);
        f(&mut handle)?;
        tx.commit().map_err(Error::sqlite)
    }
}

struct Tx<'a>(&'a rusqlite::Transaction<'a>);

impl WriteTx for Tx<'_> {
    fn size(&mut self) -> Result<u64> {
        size(self.0)
    }

    fn node_hashes(&mut self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        node_hashes(self.0, ids)
    }

    fn existing(&mut self, uuids: &[Hash]) -> Result<Vec<(Hash, u64)>> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT idx FROM tlog_entries WHERE uuid = ?1")
            .map_err(Error::sqlite)?;
        let mut found = Vec::new();
        for uuid in uuids {
            let index: Option<i64> = stmt
                .query_row([uuid.as_bytes().as_slice()], |r| r.get(0))
                .optional()
                .map_err(Error::sqlite)?;
            if let Some(index) = index {
                found.push((*uuid, to_u64(index)?));
            }
        }
        Ok(found)
    }

    fn append(&mut self, batch: &Batch, new_size: u64) -> Result<()> {
        let tx = self.0;
        let mut entry = tx
            .prepare_cached(
                "INSERT INTO tlog_entries (idx, uuid, body, integrated_time, set_sig) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(Error::sqlite)?;
        for e in &batch.entries {
            entry
                .execute(params![
                    to_i64(e.index)?,
                    e.uuid.as_bytes().as_slice(),
                    e.body,
                    to_i64(e.integrated_time)?,
                    e.set
                ])
                .map_err(Error::sqlite)?;
        }
        let mut node = tx
            .prepare_cached("INSERT INTO tlog_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(Error::sqlite)?;
        for (id, hash) in &batch.nodes {
            node.execute(params![
                id.level,
                to_i64(id.index)?,
                hash.as_bytes().as_slice()
            ])
            .map_err(Error::sqlite)?;
        }
        let mut key = tx
            .prepare_cached("INSERT OR IGNORE INTO tlog_index (key, uuid) VALUES (?1, ?2)")
            .map_err(Error::sqlite)?;
        for (k, uuid) in &batch.index_keys {
            key.execute(params![k, uuid.as_bytes().as_slice()])
                .map_err(Error::sqlite)?;
        }
        tx.execute(
            "UPDATE tlog_meta SET size = ?1 WHERE id = 1",
            params![to_i64(new_size)?],
        )
        .map_err(Error::sqlite)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Committed pages reach the database file without the writer checkpointing (its
    /// automatic checkpoint is far off): the checkpoint thread copies them, and what it copied
    /// reads back.
    #[test]
    fn the_checkpoint_thread_moves_the_wal_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let storage = SqliteStorage::open(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let mut frontier = vouch_merkle::Frontier::new();
        for _ in 0..20 {
            let batch = super::super::test_batch(&mut frontier, 50, |i| {
                format!("entry {i} {}", "x".repeat(500)).into_bytes()
            });
            let size = frontier.size();
            storage.write(&mut |tx| tx.append(&batch, size)).unwrap();
        }
        // 1000 entries of ~550 bytes: well over 100 pages, far below the writer's threshold.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&path).unwrap().len() < before + 400 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file did not grow: nothing was checkpointed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(storage.size().unwrap(), 1000);
        let e = storage.entry_by_index(999).unwrap().unwrap();
        assert!(e.body.starts_with(b"entry 999 "));
    }
}
