//! PostgreSQL storage: the same tables as SQLite; batches written with one `unnest` insert per
//! table, node reads in one query, the write lock a row lock on `tlog_meta` so that several
//! stateless API replicas can share one database. Commits use the server's
//! `synchronous_commit` (default `on`: WAL flushed before the commit returns).
//!
//! **Surviving a database restart.** A lost connection (the server restarted, the network
//! dropped) is an [`Error::StorageUnavailable`]: the connection is dropped and the next call
//! opens a new one. Connecting goes through one back-off gate ([`Reconnect`]): after a failed
//! attempt, callers fail at once (503) until the next attempt is due (50 ms doubling to 1 s),
//! so an outage costs one connection attempt per period, not one per request, and the log
//! writes again within a second of the database being back. A transaction that failed is
//! never acknowledged (the sequencer answers only after the commit returned).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use vouch_merkle::{Hash, NodeId};

use super::{
    Batch, Pool, Storage, StoredEntry, WriteTx, missing_node, new_tree_id, to_hash, to_i64, to_u64,
};
use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tlog_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  tree_id BIGINT NOT NULL,
  size BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tlog_entries (
  idx BIGINT PRIMARY KEY,
  uuid BYTEA NOT NULL UNIQUE,
  body BYTEA NOT NULL,
  integrated_time BIGINT NOT NULL,
  set_sig BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS tlog_nodes (
  level SMALLINT NOT NULL,
  idx BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS tlog_index (
  key TEXT NOT NULL,
  uuid BYTEA NOT NULL,
  PRIMARY KEY (key, uuid)
);
";

const NODES_SQL: &str = "SELECT n.hash FROM unnest($1::smallint[], $2::bigint[]) \
     WITH ORDINALITY AS q(level, idx, ord) \
     LEFT JOIN tlog_nodes n ON n.level = q.level AND n.idx = q.idx ORDER BY q.ord";

const ENTRY_COLUMNS: &str = "SELECT idx, uuid, body, integrated_time, set_sig FROM tlog_entries";

/// The log in a PostgreSQL database.
pub struct PostgresStorage {
    /// The sequencer's connection; `None` after it was lost, until reopened.
    writer: Mutex<Option<Client>>,
    readers: Pool<Client>,
    reconnect: std::sync::Arc<Reconnect>,
    tree_id: u64,
}

/// Time allowed to open a connection unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// First and longest wait between connection attempts after a failure.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Opens connections, with back-off after failures.
struct Reconnect {
    config: postgres::Config,
    state: Mutex<Backoff>,
}

#[derive(Default)]
struct Backoff {
    failures: u32,
    next_attempt: Option<Instant>,
    last_error: String,
}

impl Reconnect {
    fn new(url: &str) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(Error::postgres)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A peer that vanished without closing (network partition) is noticed by keepalives.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        Ok(Self {
            config,
            state: Mutex::new(Backoff::default()),
        })
    }

    fn connect(&self) -> Result<Client> {
        if let Ok(state) = self.state.lock()
            && let Some(next) = state.next_attempt
            && let Some(wait) = next.checked_duration_since(Instant::now())
        {
            return Err(Error::StorageUnavailable {
                backend: "postgres",
                reason: format!(
                    "{} (next connection attempt in {} ms)",
                    state.last_error,
                    wait.as_millis()
                ),
            });
        }
        match self.config.connect(NoTls) {
            Ok(client) => {
                if let Ok(mut state) = self.state.lock() {
                    *state = Backoff::default();
                }
                Ok(client)
            }
            Err(e) => {
                let error = match Error::postgres(e) {
                    // Refused, timed out, "the database system is starting up": all transient.
                    Error::Storage { backend, reason }
                    | Error::StorageUnavailable { backend, reason } => {
                        Error::StorageUnavailable { backend, reason }
                    }
                    other => other,
                };
                if let Ok(mut state) = self.state.lock() {
                    let wait = BACKOFF_MIN
                        .saturating_mul(1 << state.failures.min(5))
                        .min(BACKOFF_MAX);
                    state.failures += 1;
                    state.next_attempt = Some(Instant::now() + wait);
                    state.last_error = match &error {
                        Error::StorageUnavailable { reason, .. } => reason.clone(),
                        other => other.to_string(),
                    };
                }
                Err(error)
            }
        }
    }
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("tree_id", &self.tree_id)
            .finish_non_exhaustive()
    }
}

impl PostgresStorage {
    /// Connects to `url` and creates the tables if missing.
    pub fn open(url: &str) -> Result<Self> {
        let reconnect = std::sync::Arc::new(Reconnect::new(url)?);
        let mut writer = reconnect.connect()?;
        writer.batch_execute(SCHEMA).map_err(Error::postgres)?;
        writer
            .execute(
                "INSERT INTO tlog_meta (id, tree_id, size) VALUES (1, $1, 0) \
                 ON CONFLICT (id) DO NOTHING",
                &[&to_i64(new_tree_id()?)?],
            )
            .map_err(Error::postgres)?;
        let tree_id: i64 = writer
            .query_one("SELECT tree_id FROM tlog_meta WHERE id = 1", &[])
            .map_err(Error::postgres)?
            .get(0);
        let opener = std::sync::Arc::clone(&reconnect);
        Ok(Self {
            writer: Mutex::new(Some(writer)),
            readers: Pool::new(move || opener.connect()),
            reconnect,
            tree_id: to_u64(tree_id)?,
        })
    }

    /// Runs `f` on the writer connection, opening one if there is none; a connection that
    /// turns out lost is dropped. If the lost connection was an old one (the database may have
    /// restarted since) and `f` left its `repeatable` flag set (it sent nothing that could have
    /// taken effect), `f` runs once more on a new connection.
    fn with_writer<T>(&self, mut f: impl FnMut(&mut Client, &mut bool) -> Result<T>) -> Result<T> {
        let mut writer = self.writer.lock().map_err(|_| Error::Unavailable)?;
        let mut may_repeat = writer.is_some();
        loop {
            let client = match writer.as_mut() {
                Some(c) => c,
                None => writer.insert(self.reconnect.connect()?),
            };
            let mut repeatable = true;
            match f(client, &mut repeatable) {
                Err(e @ Error::StorageUnavailable { .. }) => {
                    *writer = None;
                    if !(may_repeat && repeatable) {
                        return Err(e);
                    }
                    may_repeat = false;
                }
                other => return other,
            }
        }
    }
}

fn node_hashes(client: &mut impl postgres::GenericClient, ids: &[NodeId]) -> Result<Vec<Hash>> {
    let levels: Vec<i16> = ids.iter().map(|id| i16::from(id.level)).collect();
    let indexes = ids
        .iter()
        .map(|id| to_i64(id.index))
        .collect::<Result<Vec<_>>>()?;
    let rows = client
        .query(NODES_SQL, &[&levels, &indexes])
        .map_err(Error::postgres)?;
    if rows.len() != ids.len() {
        return Err(Error::Corrupt {
            reason: format!("asked for {} nodes, got {}", ids.len(), rows.len()),
        });
    }
    rows.iter()
        .zip(ids)
        .map(|(row, id)| {
            let hash: Option<Vec<u8>> = row.get(0);
            to_hash(&hash.ok_or_else(|| missing_node(id))?)
        })
        .collect()
}

fn entry(row: Option<postgres::Row>) -> Result<Option<StoredEntry>> {
    row.map(|r| {
        Ok(StoredEntry {
            index: to_u64(r.get(0))?,
            uuid: to_hash(r.get::<_, &[u8]>(1))?,
            body: r.get(2),
            integrated_time: to_u64(r.get(3))?,
            set: r.get(4),
        })
    })
    .transpose()
}

impl Storage for PostgresStorage {
    fn tree_id(&self) -> u64 {
        self.tree_id
    }

    fn size(&self) -> Result<u64> {
        self.readers.with(|c| {
            let size: i64 = c
                .query_one("SELECT size FROM tlog_meta WHERE id = 1", &[])
                .map_err(Error::postgres)?
                .get(0);
            to_u64(size)
        })
    }

    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        self.readers.with(|c| node_hashes(c, ids))
    }

    fn entry_by_index(&self, index: u64) -> Result<Option<StoredEntry>> {
        let index = to_i64(index)?;
        self.readers.with(|c| {
            let sql = format!("{ENTRY_COLUMNS} WHERE idx = $1");
            entry(c.query_opt(&sql, &[&index]).map_err(Error::postgres)?)
        })
    }

    fn entry_by_uuid(&self, uuid: &Hash) -> Result<Option<StoredEntry>> {
        let uuid = uuid.as_bytes().as_slice();
        self.readers.with(|c| {
            let sql = format!("{ENTRY_COLUMNS} WHERE uuid = $1");
            entry(c.query_opt(&sql, &[&uuid]).map_err(Error::postgres)?)
        })
    }

    fn search(&self, key: &str, limit: usize) -> Result<Vec<Hash>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.readers.with(|c| {
            let rows = c
                .query(
                    "SELECT uuid FROM tlog_index WHERE key = $1 LIMIT $2",
                    &[&key, &limit],
                )
                .map_err(Error::postgres)?;
            rows.iter().map(|r| to_hash(r.get::<_, &[u8]>(0))).collect()
        })
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        // Taking the lock is the transaction's first statement: if an old connection was lost
        // (database restarted since the last batch), nothing was sent that could commit, so
        // the batch is tried once more on a new connection instead of failing.
        self.with_writer(|client, repeatable| {
            let mut tx = client.transaction().map_err(Error::postgres)?;
            let locked: i64 = tx
                .query_one("SELECT size FROM tlog_meta WHERE id = 1 FOR UPDATE", &[])
                .map_err(Error::postgres)?
                .get(0);
            // Past this point a lost connection is not repeated here: the sequencer fails the
            // batch (acknowledging nothing) and clients retry.
            *repeatable = false;
            let mut handle = Tx {
                tx: &mut tx,
                size: to_u64(locked)?,
            };
            f(&mut handle)?;
            tx.commit().map_err(Error::postgres)
        })
    }

    fn check_writable(&self) -> Result<()> {
        self.with_writer(|client, _| {
            let read_only: bool = client
                .query_one("SELECT pg_is_in_recovery()", &[])
                .map_err(Error::postgres)?
                .get(0);
            if read_only {
                return Err(Error::StorageUnavailable {
                    backend: "postgres",
                    reason: "the database is in recovery (read-only)".into(),
                });
            }
            Ok(())
        })
    }
}

struct Tx<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    size: u64,
}

impl WriteTx for Tx<'_, '_> {
    fn size(&mut self) -> Result<u64> {
        Ok(self.size)
    }

    fn node_hashes(&mut self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        node_hashes(self.tx, ids)
    }

    fn existing(&mut self, uuids: &[Hash]) -> Result<Vec<(Hash, u64)>> {
        let keys: Vec<&[u8]> = uuids.iter().map(|u| u.as_bytes().as_slice()).collect();
        let rows = self
            .tx
            .query(
                "SELECT uuid, idx FROM tlog_entries WHERE uuid = ANY($1)",
                &[&keys],
            )
            .map_err(Error::postgres)?;
        rows.iter()
            .map(|r| Ok((to_hash(r.get::<_, &[u8]>(0))?, to_u64(r.get(1))?)))
            .collect()
    }

    fn append(&mut self, batch: &Batch, new_size: u64) -> Result<()> {
        let e = &batch.entries;
        let idx = e
            .iter()
            .map(|e| to_i64(e.index))
            .collect::<Result<Vec<_>>>()?;
        let uuid: Vec<&[u8]> = e.iter().map(|e| e.uuid.as_bytes().as_slice()).collect();
        let body: Vec<&[u8]> = e.iter().map(|e| e.body.as_slice()).collect();
        let time = e
            .iter()
            .map(|e| to_i64(e.integrated_time))
            .collect::<Result<Vec<_>>>()?;
        let set: Vec<&[u8]> = e.iter().map(|e| e.set.as_slice()).collect();
        self.tx
            .execute(
                "INSERT INTO tlog_entries (idx, uuid, body, integrated_time, set_sig) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[], $5::bytea[])",
                &[&idx, &uuid, &body, &time, &set],
            )
            .map_err(Error::postgres)?;
        let levels: Vec<i16> = batch
            .nodes
            .iter()
            .map(|(id, _)| i16::from(id.level))
            .collect();
        let indexes = batch
            .nodes
            .iter()
            .map(|(id, _)| to_i64(id.index))
            .collect::<Result<Vec<_>>>()?;
        let hashes: Vec<&[u8]> = batch
            .nodes
            .iter()
            .map(|(_, h)| h.as_bytes().as_slice())
            .collect();
        self.tx
            .execute(
                "INSERT INTO tlog_nodes (level, idx, hash) \
                 SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
                &[&levels, &indexes, &hashes],
            )
            .map_err(Error::postgres)?;
        let keys: Vec<&str> = batch.index_keys.iter().map(|(k, _)| k.as_str()).collect();
        let uuids: Vec<&[u8]> = batch
            .index_keys
            .iter()
            .map(|(_, u)| u.as_bytes().as_slice())
            .collect();
        self.tx
            .execute(
                "INSERT INTO tlog_index (key, uuid) SELECT * FROM unnest($1::text[], $2::bytea[]) \
                 ON CONFLICT DO NOTHING",
                &[&keys, &uuids],
            )
            .map_err(Error::postgres)?;
        self.tx
            .execute(
                "UPDATE tlog_meta SET size = $1 WHERE id = 1",
                &[&to_i64(new_size)?],
            )
            .map_err(Error::postgres)?;
        self.size = new_size;
        Ok(())
    }
}
