//! The log: a sequencer that integrates validated entries in batches, and the read side
//! (entries, proofs, signed checkpoints) over any [`Storage`].
//!
//! **Sequencing.** Appends go through one channel to one thread. It takes every request that
//! is waiting (up to [`Limits::max_batch`]), and in one transaction: reads the committed size
//! under the write lock, rebuilds the [`Frontier`] from O(log n) stored nodes if another
//! writer moved the tree, drops duplicates (already stored, or twice in the batch), assigns
//! consecutive indexes, signs each SignedEntryTimestamp, appends the leaves to the frontier
//! and writes entries, completed subtree nodes, search keys and the new size. Only after the
//! commit (one fsync for the whole batch) is any caller answered, so an acknowledged entry is
//! durable, and a failed transaction acknowledges nothing. Under concurrent load the sequencer
//! also waits [`Limits::batch_window`] for stragglers (group commit), so that one fsync covers
//! many appends.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use vouch_merkle::{
    ConsistencyProof, EMPTY_ROOT, Frontier, Hash, InclusionProof, NodeId, ProofPlan,
};

use crate::Limits;
use crate::entry::Canonical;
use crate::error::{Error, Result};
use crate::key::LogKey;
use crate::storage::{Batch, Storage, StoredEntry};

/// An entry the sequencer integrated, with the tree size that first contained it.
#[derive(Debug, Clone)]
pub struct Integrated {
    /// The stored entry.
    pub entry: StoredEntry,
    /// The committed tree size after its batch.
    pub tree_size: u64,
    /// The entry's inclusion proof at `tree_size`, built by the sequencer from the nodes it
    /// had in memory when it committed the batch (so the answer needs no storage read and no
    /// hand-off to the blocking pool); `None` when a node was not at hand (then read the
    /// proof with [`Log::inclusion_proof`]).
    pub proof: Option<InclusionProof>,
}

type Reply = oneshot::Sender<Result<Integrated>>;

struct Pending {
    entry: Canonical,
    reply: Reply,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Entries integrated.
    pub appended: AtomicU64,
    /// Appends refused as duplicates.
    pub duplicates: AtomicU64,
    /// Transactions committed by the sequencer.
    pub batches: AtomicU64,
    /// Sequencer transactions that failed (nothing acknowledged).
    pub batch_failures: AtomicU64,
    /// Microseconds spent in sequencer transactions.
    pub batch_micros: AtomicU64,
    /// Checkpoints the storage failed to publish (directory backend).
    pub publish_failures: AtomicU64,
}

/// A signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root.
    pub root: Hash,
    /// Signed-note checkpoint text.
    pub checkpoint: String,
}

/// The transparency log: storage, key, sequencer.
pub struct Log {
    storage: Arc<dyn Storage>,
    key: Arc<LogKey>,
    limits: Limits,
    sequencer: mpsc::Sender<Pending>,
    heads: Arc<Heads>,
    metrics: Arc<Metrics>,
}

/// Recently signed tree heads (checkpoints for a size are deterministic, so the cache only
/// saves work).
#[derive(Debug, Default)]
struct Heads(Mutex<VecDeque<TreeHead>>);

impl Heads {
    fn get(&self, size: u64) -> Option<TreeHead> {
        let heads = self.0.lock().ok()?;
        heads.iter().find(|h| h.size == size).cloned()
    }

    fn put(&self, head: TreeHead) {
        if let Ok(mut heads) = self.0.lock() {
            if heads.iter().any(|h| h.size == head.size) {
                return;
            }
            if heads.len() >= 16 {
                heads.pop_front();
            }
            heads.push_back(head);
        }
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("tree_id", &self.storage.tree_id())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Log {
    /// Starts the sequencer thread over `storage`. The thread ends when the `Log` is dropped.
    pub fn start(storage: Box<dyn Storage>, key: LogKey, limits: Limits) -> Result<Arc<Self>> {
        let storage: Arc<dyn Storage> = Arc::from(storage);
        let key = Arc::new(key);
        let metrics = Arc::new(Metrics::default());
        let (tx, rx) = mpsc::channel(limits.max_batch.max(1) * 8);
        let heads = Arc::new(Heads::default());
        let worker = Sequencer {
            storage: Arc::clone(&storage),
            key: Arc::clone(&key),
            heads: Arc::clone(&heads),
            metrics: Arc::clone(&metrics),
            max_batch: limits.max_batch.max(1),
            window: limits.batch_window,
            frontier: None,
        };
        std::thread::Builder::new()
            .name("tlog-sequencer".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| Error::Storage {
                backend: "sequencer",
                reason: e.to_string(),
            })?;
        let log = Arc::new(Self {
            storage,
            key,
            limits,
            sequencer: tx,
            heads,
            metrics,
        });
        // A restart publishes the committed size's checkpoint (the directory backend may have
        // committed a batch whose checkpoint was not yet written).
        // Best effort: a database that is down now is retried by the service.
        if let Ok(head) = log.tree_head()
            && log
                .storage
                .publish_checkpoint(head.size, &head.checkpoint)
                .is_err()
        {
            log.metrics.publish_failures.fetch_add(1, Ordering::Relaxed);
        }
        Ok(log)
    }

    /// The signing key and names.
    pub fn key(&self) -> &LogKey {
        &self.key
    }

    /// The tree ID.
    pub fn tree_id(&self) -> u64 {
        self.storage.tree_id()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The storage.
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// Integrates a validated entry; answers once it is durable. A duplicate answers
    /// [`Error::Duplicate`] with the existing entry's UUID and index.
    pub async fn append(&self, entry: Canonical) -> Result<Integrated> {
        let (reply, answer) = oneshot::channel();
        self.sequencer
            .send(Pending { entry, reply })
            .await
            .map_err(|_| Error::Unavailable)?;
        answer.await.map_err(|_| Error::Unavailable)?
    }

    /// [`append`](Self::append) for callers outside an async runtime.
    pub fn append_blocking(&self, entry: Canonical) -> Result<Integrated> {
        let (reply, answer) = oneshot::channel();
        self.sequencer
            .blocking_send(Pending { entry, reply })
            .map_err(|_| Error::Unavailable)?;
        answer.blocking_recv().map_err(|_| Error::Unavailable)?
    }

    /// The signed tree head for `size` if it is cached (the sequencer signs each committed
    /// size's head before answering its batch): no storage read, no signing.
    pub fn cached_tree_head(&self, size: u64) -> Option<TreeHead> {
        self.heads.get(size)
    }

    /// The signed tree head at the committed size.
    pub fn tree_head(&self) -> Result<TreeHead> {
        self.tree_head_at(self.storage.size()?)
    }

    /// The signed tree head for an earlier (or the current) size; recent heads are cached
    /// (checkpoints for a size are deterministic, so the cache only saves work).
    pub fn tree_head_at(&self, size: u64) -> Result<TreeHead> {
        if let Some(head) = self.heads.get(size) {
            return Ok(head);
        }
        let root = self.root_at(size)?;
        let checkpoint = self.key.sign_checkpoint(self.tree_id(), size, root)?;
        let head = TreeHead {
            size,
            root,
            checkpoint,
        };
        self.heads.put(head.clone());
        Ok(head)
    }

    /// Root of the first `size` entries: `popcount(size)` node reads.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        let hashes = self.storage.node_hashes(&Frontier::node_ids(size))?;
        Ok(Frontier::from_nodes(size, hashes)?.root())
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries: O(log n) node reads.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof> {
        let plan = ProofPlan::inclusion(index, size)?;
        let hashes = self.storage.node_hashes(plan.node_ids())?;
        Ok(InclusionProof::new(index, size, plan.assemble(&hashes)?))
    }

    /// Consistency proof between two sizes, both at most the committed size.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        let size = self.storage.size()?;
        if old_size > new_size || new_size > size {
            return Err(Error::ProofRange {
                reason: format!(
                    "firstSize {old_size} and lastSize {new_size} must satisfy \
                     firstSize <= lastSize <= tree size {size}"
                ),
            });
        }
        let plan = ProofPlan::consistency(old_size, new_size)?;
        let hashes = self.storage.node_hashes(plan.node_ids())?;
        Ok(ConsistencyProof::new(
            old_size,
            new_size,
            plan.assemble(&hashes)?,
        ))
    }
}

/// How long the sequencer sleeps between looks at the queue while it waits for a batch to fill.
const WINDOW_SLICE: std::time::Duration = std::time::Duration::from_micros(250);

struct Sequencer {
    storage: Arc<dyn Storage>,
    key: Arc<LogKey>,
    /// The log's tree head cache: the sequencer signs each new size's checkpoint once, from
    /// the in-memory frontier, before acknowledging, so the batch's answers do not each sign it.
    heads: Arc<Heads>,
    metrics: Arc<Metrics>,
    max_batch: usize,
    /// Group commit window ([`Limits::batch_window`]).
    window: std::time::Duration,
    /// The frontier at the size last committed by this process; re-read when stale.
    frontier: Option<Frontier>,
}

impl Sequencer {
    /// Group commit: takes the first pending append, everything already queued behind it, and
    /// (when the previous transaction showed concurrent clients and fewer are queued now)
    /// whatever arrives within the window, then integrates the lot in one transaction.
    fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        let mut previous_batch = 0;
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            self.drain(&mut rx, &mut batch);
            // Wait only while fewer appends are pending than the last transaction took: under
            // saturation the queue refills during each commit and waiting would only add latency.
            let want = previous_batch.min(self.max_batch);
            if previous_batch > 1 && batch.len() < want && !self.window.is_zero() {
                // Sleep in short slices and take what arrived meanwhile, rather than waiting on
                // the channel: a receiver waiting there is woken by every append (a futex call
                // for the appending worker, a context switch here), dozens per batch.
                let deadline = std::time::Instant::now() + self.window;
                while batch.len() < want {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        break;
                    }
                    std::thread::sleep((deadline - now).min(WINDOW_SLICE));
                    self.drain(&mut rx, &mut batch);
                }
            }
            previous_batch = batch.len();
            self.integrate(batch);
        }
    }

    fn drain(&self, rx: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) {
        while batch.len() < self.max_batch {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
    }

    fn integrate(&mut self, batch: Vec<Pending>) {
        let started = std::time::Instant::now();
        let mut outcomes: Vec<Result<Integrated>> = Vec::with_capacity(batch.len());
        let mut committed = None;
        // The perfect subtrees of the tree before the batch and those the batch completed:
        // every node an inclusion proof of a batch entry at the new size needs (a left sibling
        // wholly before the batch is a node of the old frontier, anything later was completed
        // by the batch), so the proofs are answered from memory.
        let mut nodes: Vec<(NodeId, Hash)> = Vec::new();
        let cached = self.frontier.take();
        let key = &self.key;
        let tree_id = self.storage.tree_id();
        // The new size's signed checkpoint, signed in the transaction (before the batch is
        // written) so that a publishing backend writes it with the batch's files; it is only
        // published and used once the transaction commits.
        let mut signed: Option<(u64, Hash, String)> = None;
        let result = self.storage.write(&mut |tx| {
            signed = None;
            outcomes.clear();
            let size = tx.size()?;
            let mut frontier = match &cached {
                Some(f) if f.size() == size => f.clone(),
                _ if size == 0 => Frontier::new(),
                _ => {
                    let ids = Frontier::node_ids(size);
                    Frontier::from_nodes(size, tx.node_hashes(&ids)?)?
                }
            };
            let uuids: Vec<Hash> = batch.iter().map(|p| p.entry.leaf).collect();
            let mut known: HashMap<Hash, u64> = tx.existing(&uuids)?.into_iter().collect();
            let now = unix_now();
            nodes.clear();
            nodes.extend(frontier.nodes());
            let mut write = Batch::default();
            for pending in &batch {
                let leaf = pending.entry.leaf;
                if let Some(&index) = known.get(&leaf) {
                    outcomes.push(Err(Error::Duplicate {
                        uuid: leaf.to_hex(),
                        index,
                    }));
                    continue;
                }
                let index = frontier.append(leaf, |id, hash| write.nodes.push((id, hash)))?;
                known.insert(leaf, index);
                let body = pending.entry.body.clone();
                let set = key.sign_set(&body, now, index);
                let entry = StoredEntry {
                    index,
                    uuid: leaf,
                    body,
                    integrated_time: now,
                    set,
                };
                write
                    .index_keys
                    .extend(pending.entry.index_keys.iter().map(|k| (k.clone(), leaf)));
                write.entries.push(entry.clone());
                outcomes.push(Ok(Integrated {
                    entry,
                    tree_size: 0,
                    proof: None,
                }));
            }
            if !write.entries.is_empty() {
                let (size, root) = (frontier.size(), frontier.root());
                let checkpoint = key.sign_checkpoint(tree_id, size, root)?;
                tx.stage_checkpoint(size, &checkpoint)?;
                signed = Some((size, root, checkpoint));
                tx.append(&write, size)?;
            }
            nodes.extend(write.nodes.iter().copied());
            committed = Some(frontier);
            Ok(())
        });
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.metrics
            .batch_micros
            .fetch_add(elapsed, Ordering::Relaxed);
        match result {
            Ok(()) => {
                let size = committed.as_ref().map_or(0, Frontier::size);
                let checkpoint = match signed.take() {
                    Some((s, root, text))
                        if s == size && committed.as_ref().is_some_and(|f| f.root() == root) =>
                    {
                        Ok(text)
                    }
                    _ => committed.as_ref().map_or(Err(Error::Unavailable), |f| {
                        self.key.sign_checkpoint(tree_id, size, f.root())
                    }),
                };
                if let Some(frontier) = &committed
                    && size > 0
                    && self.heads.get(size).is_none()
                    && let Ok(checkpoint) = checkpoint
                {
                    // A static reader's checkpoint (directory backend) moves before any
                    // append of the batch is answered; a failure to publish is retried with
                    // the next batch and does not undo the commit.
                    if self.storage.publish_checkpoint(size, &checkpoint).is_err() {
                        self.metrics
                            .publish_failures
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    self.heads.put(TreeHead {
                        size,
                        root: frontier.root(),
                        checkpoint,
                    });
                }
                self.frontier = committed;
                self.metrics.batches.fetch_add(1, Ordering::Relaxed);
                let nodes: HashMap<NodeId, Hash> = nodes.into_iter().collect();
                for (pending, mut outcome) in batch.into_iter().zip(outcomes) {
                    match &mut outcome {
                        Ok(done) => {
                            done.tree_size = size;
                            done.proof = proof_from(&nodes, done.entry.index, size);
                            self.metrics.appended.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let _ = pending.reply.send(outcome);
                }
            }
            Err(e) => {
                // Nothing was committed: acknowledge nothing, and re-read the tree next time.
                self.frontier = None;
                self.metrics.batch_failures.fetch_add(1, Ordering::Relaxed);
                // A database that cannot be reached is a 503 (retry later), anything else a 500.
                let unavailable = matches!(e, Error::StorageUnavailable { .. });
                let reason = match &e {
                    Error::StorageUnavailable { backend, reason } => {
                        format!("{backend}: {reason}; nothing was appended")
                    }
                    other => format!("{other}; nothing was appended"),
                };
                for pending in batch {
                    let _ = pending.reply.send(Err(if unavailable {
                        Error::StorageUnavailable {
                            backend: "sequencer",
                            reason: reason.clone(),
                        }
                    } else {
                        Error::Storage {
                            backend: "sequencer",
                            reason: reason.clone(),
                        }
                    }));
                }
            }
        }
    }
}

/// The inclusion proof of `index` at `size` from `nodes`, or `None` when one is missing.
fn proof_from(nodes: &HashMap<NodeId, Hash>, index: u64, size: u64) -> Option<InclusionProof> {
    let plan = ProofPlan::inclusion(index, size).ok()?;
    let hashes: Option<Vec<Hash>> = plan
        .node_ids()
        .iter()
        .map(|id| nodes.get(id).copied())
        .collect();
    let hashes = plan.assemble(&hashes?).ok()?;
    Some(InclusionProof::new(index, size, hashes))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
