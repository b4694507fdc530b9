//! The log client (blocking, over `vouch-http`) and the auditor's checks.
//!
//! * [`Client::upload`]: `POST /api/v1/log/entries`; a 409 (already logged) fetches the existing
//!   entry, so uploading is idempotent. The answer converts into a bundle entry with
//!   [`LogEntryAnon::to_tlog_entry`].
//! * [`verify_entry`]: the SET, the checkpoint signature and the inclusion proof of an entry.
//! * [`Monitor`]: fetches the signed tree head, verifies it, and proves it consistent with the
//!   last one seen (kept in a local file); any rollback, fork or bad proof is
//!   [`Error::Misbehaviour`] and the saved state is left untouched, as evidence.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vouch_merkle::{
    ConsistencyProof as MerkleConsistency, Hash, KeyIdScheme, NoteVerifier, SignedCheckpoint,
    VerifiedCheckpoint, leaf_hash,
};
use vouch_sign::VerifyingKey;
use vouch_sign::bundle::TlogEntry;

use crate::Limits;
use crate::error::{Error, Result};
use crate::wire::{ConsistencyProof, ErrorBody, LogEntry, LogEntryAnon, LogInfo};

/// A Rekor v1 API client.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: vouch_http::Client,
    limits: Limits,
}

impl Client {
    /// A client for the log at `url` (e.g. `http://127.0.0.1:3000`).
    pub fn new(url: &str) -> Result<Self> {
        Self::with_config(url, &vouch_http::ClientConfig::default())
    }

    /// A client with explicit HTTP settings.
    pub fn with_config(url: &str, config: &vouch_http::ClientConfig) -> Result<Self> {
        Ok(Self {
            base: url.trim_end_matches('/').to_owned(),
            http: vouch_http::Client::new(config)?,
            limits: Limits::default(),
        })
    }

    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let what = format!("{method} {url}");
        let response = self.http.send(&what, |agent| match body {
            Some(b) => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b),
            None => agent.get(&url).call(),
        })?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        let limit = self.limits.max_response_bytes as u64;
        response
            .into_body()
            .into_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Response {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        if bytes.len() as u64 > limit {
            return Err(Error::Response {
                what,
                reason: format!("response larger than {limit} bytes"),
            });
        }
        Ok((status, bytes))
    }

    fn json<T: for<'de> Deserialize<'de>>(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        ok: &[u16],
    ) -> Result<T> {
        let (status, bytes) = self.request(method, path, body)?;
        if !ok.contains(&status) {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(500).collect());
            return Err(Error::Server {
                what: format!("{method} {path}"),
                status,
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Response {
            what: format!("{method} {path}"),
            reason: e.to_string(),
        })
    }

    /// Uploads a proposed entry; returns the entry ID and the entry with its SET and inclusion
    /// proof. An entry that is already logged is fetched instead.
    pub fn upload(&self, proposed: &serde_json::Value) -> Result<(String, LogEntryAnon)> {
        let body = serde_json::to_vec(proposed).map_err(|e| Error::malformed("entry", e))?;
        match self.json::<LogEntry>("POST", "/api/v1/log/entries", Some(&body), &[201]) {
            Ok(entry) => single(entry),
            Err(Error::Server { status: 409, .. }) => {
                let canonical = crate::entry::canonicalize_value(proposed, &self.limits)?;
                self.entry(&canonical.leaf.to_hex())
            }
            Err(e) => Err(e),
        }
    }

    /// The entry with this UUID or entry ID.
    pub fn entry(&self, uuid: &str) -> Result<(String, LogEntryAnon)> {
        single(self.json("GET", &format!("/api/v1/log/entries/{uuid}"), None, &[200])?)
    }

    /// The entry at `index`.
    pub fn entry_at(&self, index: u64) -> Result<(String, LogEntryAnon)> {
        single(self.json(
            "GET",
            &format!("/api/v1/log/entries?logIndex={index}"),
            None,
            &[200],
        )?)
    }

    /// The current tree head.
    pub fn log_info(&self) -> Result<LogInfo> {
        self.json("GET", "/api/v1/log", None, &[200])
    }

    /// Consistency proof between two sizes.
    pub fn consistency(&self, first: u64, last: u64) -> Result<ConsistencyProof> {
        let path = format!("/api/v1/log/proof?firstSize={first}&lastSize={last}");
        self.json("GET", &path, None, &[200])
    }

    /// UUIDs (entry IDs) of entries filed under an artifact hash (`sha256:<hex>`).
    pub fn search_hash(&self, hash: &str) -> Result<Vec<String>> {
        let body = serde_json::to_vec(&serde_json::json!({"hash": hash}))
            .map_err(|e| Error::malformed("query", e))?;
        self.json("POST", "/api/v1/index/retrieve", Some(&body), &[200])
    }

    /// The log's public key (PEM), as the log serves it: trust it only if it matches a key
    /// obtained out of band.
    pub fn public_key(&self) -> Result<VerifyingKey> {
        let (status, bytes) = self.request("GET", "/api/v1/log/publicKey", None)?;
        if status != 200 {
            return Err(Error::Server {
                what: "GET /api/v1/log/publicKey".into(),
                status,
                message: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        VerifyingKey::from_pem(&String::from_utf8_lossy(&bytes)).map_err(|source| Error::Key {
            what: "log public key",
            source: Box::new(source),
        })
    }
}

fn single(entry: LogEntry) -> Result<(String, LogEntryAnon)> {
    let mut iter = entry.into_iter();
    match (iter.next(), iter.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(Error::Response {
            what: "log entry".into(),
            reason: "expected exactly one entry in the answer".into(),
        }),
    }
}

/// The checkpoint verifier for a Rekor v1-style log key: key name = the origin's host part,
/// key hint = `SHA-256(SPKI)[:4]`.
pub fn checkpoint_verifier(key: &VerifyingKey, origin: &str) -> Result<NoteVerifier> {
    let host = origin.split(" - ").next().unwrap_or(origin);
    Ok(NoteVerifier::from_spki_der(
        host,
        key.spki_der(),
        KeyIdScheme::SpkiSha256,
    )?)
}

/// Verifies a signed checkpoint with the log's key.
pub fn verify_checkpoint(key: &VerifyingKey, text: &str) -> Result<VerifiedCheckpoint> {
    let signed = SignedCheckpoint::parse(text.as_bytes())?;
    let verifier = checkpoint_verifier(key, signed.unverified_checkpoint().origin())?;
    Ok(signed.verify(&verifier)?)
}

/// Verifies a log entry offline: log ID, SET, checkpoint signature, inclusion proof.
pub fn verify_entry(entry: &TlogEntry, key: &VerifyingKey) -> Result<()> {
    let bad = |reason: &str| Error::Misbehaviour {
        reason: reason.to_owned(),
    };
    if entry.log_id != key.key_id() {
        return Err(bad("entry logID is not the SHA-256 of the log key"));
    }
    let set = entry
        .signed_entry_timestamp
        .as_ref()
        .ok_or_else(|| bad("entry has no signedEntryTimestamp"))?;
    key.verify(
        "signed entry timestamp",
        &vouch_sign::set_message(entry),
        set,
    )
    .map_err(|source| Error::signature("signedEntryTimestamp", source))?;
    let proof = entry
        .inclusion_proof
        .as_ref()
        .ok_or_else(|| bad("entry has no inclusion proof"))?;
    let checkpoint = verify_checkpoint(key, proof.checkpoint.as_deref().unwrap_or_default())?;
    if checkpoint.root().as_bytes().as_slice() != proof.root_hash.as_slice()
        || checkpoint.size() != proof.tree_size
    {
        return Err(bad(
            "inclusion proof rootHash/treeSize differ from its checkpoint",
        ));
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| Hash::from_slice(h))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let merkle = vouch_merkle::InclusionProof::new(proof.log_index, proof.tree_size, hashes);
    checkpoint.verify_inclusion(&leaf_hash(&entry.canonicalized_body), &merkle)?;
    Ok(())
}

/// The last verified tree head, as the monitor stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenHead {
    /// Checkpoint origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Hex root.
    pub root: String,
    /// The signed checkpoint text (evidence).
    pub checkpoint: String,
}

/// What one monitor run found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitorReport {
    /// The head verified now.
    pub current: SeenHead,
    /// The head seen before, if any.
    pub previous: Option<SeenHead>,
    /// Whether a consistency proof was checked (false on first contact or no growth).
    pub consistency_verified: bool,
}

/// Watches one log: verify the head, prove it extends the last one seen.
#[derive(Debug)]
pub struct Monitor {
    client: Client,
    key: VerifyingKey,
    state: PathBuf,
}

impl Monitor {
    /// A monitor of the log at `client` signed by `key`, keeping its state in `state`.
    pub fn new(client: Client, key: VerifyingKey, state: impl Into<PathBuf>) -> Self {
        Self {
            client,
            key,
            state: state.into(),
        }
    }

    /// One round: fetch, verify, compare, save. Misbehaviour leaves the state file unchanged.
    pub fn check(&self) -> Result<MonitorReport> {
        let info = self.client.log_info()?;
        let current = verify_checkpoint(&self.key, &info.signed_tree_head)?;
        if current.size() != info.tree_size || current.root().to_hex() != info.root_hash {
            return Err(Error::Misbehaviour {
                reason: format!(
                    "GET /api/v1/log says size {} root {} but its signed checkpoint says size {} root {}",
                    info.tree_size,
                    info.root_hash,
                    current.size(),
                    current.root()
                ),
            });
        }
        let previous = load_state(&self.state)?;
        let mut consistency_verified = false;
        if let Some(prev) = &previous {
            let old = verify_checkpoint(&self.key, &prev.checkpoint)?;
            let fork = |what: &str| Error::Misbehaviour {
                reason: format!(
                    "{what}: previously verified checkpoint\n{}\ncurrent checkpoint\n{}",
                    prev.checkpoint, info.signed_tree_head
                ),
            };
            if old.origin() != current.origin() {
                return Err(fork("the log's origin changed"));
            }
            if current.size() < old.size() {
                return Err(fork("ROLLBACK: the tree shrank"));
            }
            if current.size() == old.size() && current.root() != old.root() {
                return Err(fork("FORK: two different roots signed for the same size"));
            }
            if current.size() > old.size() && old.size() > 0 {
                let proof = self.client.consistency(old.size(), current.size())?;
                let hashes = proof
                    .hashes
                    .iter()
                    .map(|h| Hash::from_hex(h))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let proof = MerkleConsistency::new(old.size(), current.size(), hashes);
                old.verify_consistency(&current, &proof).map_err(|e| {
                    let mut err =
                        fork("FORK: the current tree does not extend the one seen before");
                    if let Error::Misbehaviour { reason } = &mut err {
                        reason.push_str(&format!("\nproof check: {e}"));
                    }
                    err
                })?;
                consistency_verified = true;
            }
        }
        let current = SeenHead {
            origin: current.origin().to_owned(),
            size: current.size(),
            root: current.root().to_hex(),
            checkpoint: info.signed_tree_head,
        };
        save_state(&self.state, &current)?;
        Ok(MonitorReport {
            current,
            previous,
            consistency_verified,
        })
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn load_state(path: &Path) -> Result<Option<SeenHead>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::malformed("monitor state file", e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn save_state(path: &Path, head: &SeenHead) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(head).map_err(|e| Error::malformed("state", e))?;
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}
