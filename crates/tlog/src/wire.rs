//! Rekor v1 JSON shapes (`sigstore/rekor:openapi.yaml`), shared by the service and the client.
//! Field names and order are Rekor's (go-swagger emits them alphabetically); numbers are JSON
//! integers and hashes lowercase hex, as Rekor sends them.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use vouch_merkle::Hash;
use vouch_sign::bundle::{InclusionProof as BundleProof, TlogEntry};

use crate::error::{Error, Result};
use crate::storage::StoredEntry;

/// `LogEntry`: one entry keyed by its entry ID (16 hex digits of tree ID + 64 of UUID).
pub type LogEntry = BTreeMap<String, LogEntryAnon>;

/// The value of a `LogEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryAnon {
    /// Base64 of the canonical body.
    pub body: String,
    /// Unix seconds.
    #[serde(rename = "integratedTime")]
    pub integrated_time: u64,
    /// Hex SHA-256 of the log's public key DER.
    #[serde(rename = "logID")]
    pub log_id: String,
    /// Position in the log.
    #[serde(rename = "logIndex")]
    pub log_index: u64,
    /// SET and inclusion proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// `verification` of a log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Inclusion proof against a signed checkpoint.
    #[serde(
        rename = "inclusionProof",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inclusion_proof: Option<InclusionProof>,
    /// Base64 signature over the JCS `{body, integratedTime, logID, logIndex}`.
    #[serde(
        rename = "signedEntryTimestamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signed_entry_timestamp: Option<String>,
}

/// `InclusionProof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Signed-note checkpoint for `treeSize` / `rootHash`.
    pub checkpoint: String,
    /// Hex hashes, leaf to root.
    pub hashes: Vec<String>,
    /// Index of the entry in this tree.
    #[serde(rename = "logIndex")]
    pub log_index: u64,
    /// Hex root hash.
    #[serde(rename = "rootHash")]
    pub root_hash: String,
    /// Tree size the proof is for.
    #[serde(rename = "treeSize")]
    pub tree_size: u64,
}

/// `LogInfo` (`GET /api/v1/log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// Hex root hash.
    #[serde(rename = "rootHash")]
    pub root_hash: String,
    /// Signed-note checkpoint.
    #[serde(rename = "signedTreeHead")]
    pub signed_tree_head: String,
    /// Decimal tree ID.
    #[serde(rename = "treeID")]
    pub tree_id: String,
    /// Number of entries.
    #[serde(rename = "treeSize")]
    pub tree_size: u64,
}

/// `ConsistencyProof` (`GET /api/v1/log/proof`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Hex hashes.
    pub hashes: Vec<String>,
    /// Hex root hash at `lastSize`.
    #[serde(rename = "rootHash")]
    pub root_hash: String,
}

/// Rekor's error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// HTTP status.
    pub code: u16,
    /// The reason.
    pub message: String,
}

/// The 80-hex entry ID: 16 hex digits of the tree ID, then the UUID.
pub fn entry_id(tree_id: u64, uuid: &Hash) -> String {
    format!("{tree_id:016x}{uuid}")
}

/// Parses a 64-hex UUID or 80-hex entry ID into (tree ID if given, UUID).
pub fn parse_entry_id(text: &str) -> Result<(Option<u64>, Hash)> {
    let bad = || {
        Error::malformed(
            "entry UUID",
            "expected 64 hex digits (UUID) or 80 (tree ID + UUID)",
        )
    };
    match text.len() {
        64 => Ok((None, Hash::from_hex(text).map_err(|_| bad())?)),
        80 => {
            let tree = u64::from_str_radix(&text[..16], 16).map_err(|_| bad())?;
            Ok((Some(tree), Hash::from_hex(&text[16..]).map_err(|_| bad())?))
        }
        _ => Err(bad()),
    }
}

/// Builds the `LogEntry` for a stored entry, with an inclusion proof when given.
pub fn log_entry(
    tree_id: u64,
    log_id: &[u8; 32],
    entry: &StoredEntry,
    proof: Option<InclusionProof>,
) -> LogEntry {
    let anon = LogEntryAnon {
        body: B64.encode(&entry.body),
        integrated_time: entry.integrated_time,
        log_id: hex::encode(log_id),
        log_index: entry.index,
        verification: Some(Verification {
            inclusion_proof: proof,
            signed_entry_timestamp: Some(B64.encode(&entry.set)),
        }),
    };
    BTreeMap::from([(entry_id(tree_id, &entry.uuid), anon)])
}

impl LogEntryAnon {
    /// Converts a Rekor v1 answer into a bundle tlog entry, as sigstore-python's
    /// `_from_v1_response` does: hex to bytes, `kindVersion` from the decoded body, the body
    /// bytes kept exactly.
    pub fn to_tlog_entry(&self) -> Result<TlogEntry> {
        let bad = |what: &'static str| {
            move |e: String| Error::Response {
                what: format!("log entry {what}"),
                reason: e,
            }
        };
        let body = B64
            .decode(&self.body)
            .map_err(|e| bad("body")(e.to_string()))?;
        let parsed: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| bad("body")(e.to_string()))?;
        let field = |name: &str| {
            parsed
                .get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let verification = self.verification.as_ref();
        let set = verification
            .and_then(|v| v.signed_entry_timestamp.as_ref())
            .map(|s| {
                B64.decode(s)
                    .map_err(|e| bad("signedEntryTimestamp")(e.to_string()))
            })
            .transpose()?;
        let proof = verification
            .and_then(|v| v.inclusion_proof.as_ref())
            .map(|p| -> Result<BundleProof> {
                let hex_bytes =
                    |h: &String| hex::decode(h).map_err(|e| bad("proof hash")(e.to_string()));
                Ok(BundleProof {
                    log_index: p.log_index,
                    root_hash: hex_bytes(&p.root_hash)?,
                    tree_size: p.tree_size,
                    hashes: p.hashes.iter().map(hex_bytes).collect::<Result<_>>()?,
                    checkpoint: Some(p.checkpoint.clone()),
                })
            })
            .transpose()?;
        Ok(TlogEntry {
            log_index: self.log_index,
            log_id: hex::decode(&self.log_id).map_err(|e| bad("logID")(e.to_string()))?,
            kind: field("kind"),
            kind_version: field("apiVersion"),
            integrated_time: self.integrated_time,
            signed_entry_timestamp: set,
            inclusion_proof: proof,
            canonicalized_body: body,
        })
    }
}
