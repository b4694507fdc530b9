//! The Rekor v2 routes (see the [module docs](super)).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use vouch_merkle::TileId;

use crate::error::{Error, Result};
use crate::log::{Integrated, Log, TreeHead};
use crate::server::{
    ApiError, ApiResult, AppState, blocking, guard, healthz, metrics, public_key, read_body, readyz,
};
use crate::storage::StoredEntry;

/// The `TransparencyLogEntry` a Rekor v2 log answers (`sigstore/protobuf-specs:
/// protos/sigstore_rekor.proto`, proto3 JSON: 64-bit integers as strings, bytes as base64),
/// fields in proto order, without `integratedTime` and `inclusionPromise`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogEntry {
    /// Index of the entry.
    pub log_index: String,
    /// `{"keyId": base64(log ID)}`.
    pub log_id: LogId,
    /// `{"kind", "version"}`.
    pub kind_version: KindVersion,
    /// The inclusion proof with its checkpoint.
    pub inclusion_proof: InclusionProof,
    /// base64 of the canonical body (the leaf data).
    pub canonicalized_body: String,
}

/// `LogId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// base64 of the log ID.
    pub key_id: String,
}

/// `KindVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindVersion {
    /// `hashedrekord` or `dsse`.
    pub kind: String,
    /// `0.0.2`.
    pub version: String,
}

/// `InclusionProof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Index of the entry.
    pub log_index: String,
    /// base64 root hash at `tree_size`.
    pub root_hash: String,
    /// Tree size the proof is for.
    pub tree_size: String,
    /// base64 sibling hashes, leaf to root.
    pub hashes: Vec<String>,
    /// `{"envelope": signed note text}`.
    pub checkpoint: CheckpointEnvelope,
}

/// `Checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEnvelope {
    /// The signed checkpoint.
    pub envelope: String,
}

/// The `TransparencyLogEntry` of a stored entry with a proof at `size` (at least the
/// entry's own).
pub fn transparency_log_entry(
    log: &Log,
    entry: &StoredEntry,
    size: u64,
) -> Result<TransparencyLogEntry> {
    let size = size.max(entry.index + 1);
    let head = log.tree_head_at(size)?;
    let proof = log.inclusion_proof(entry.index, size)?;
    entry_with(log, entry, head, &proof)
}

/// The `TransparencyLogEntry` of a freshly integrated entry when the sequencer answered its
/// proof and the new size's signed head is cached: built on the caller's thread without a
/// storage read. `None` when either is missing (use [`transparency_log_entry`]).
pub fn integrated_entry(log: &Log, done: &Integrated) -> Option<Result<TransparencyLogEntry>> {
    let proof = done.proof.as_ref()?;
    let head = log.cached_tree_head(done.tree_size)?;
    // The proof and head must be for the same tree (the sequencer built both at tree_size).
    if proof.size() != head.size || proof.index() != done.entry.index {
        return None;
    }
    Some(entry_with(log, &done.entry, head, proof))
}

/// The JSON of the `TransparencyLogEntry` of a freshly integrated entry of `kind` and
/// `version` (as [`integrated_entry`] builds it, serialised): written straight into one
/// buffer from the entry, the cached head and the sequencer's proof, without the body read
/// back or a string per field. Byte for byte what `serde_json` writes for the
/// [`TransparencyLogEntry`] (test below). `None` when the proof or head is not at hand.
fn integrated_entry_json(
    log: &Log,
    done: &Integrated,
    kind: &str,
    version: &str,
) -> Option<Vec<u8>> {
    let proof = done.proof.as_ref()?;
    let head = log.cached_tree_head(done.tree_size)?;
    if proof.size() != head.size || proof.index() != done.entry.index {
        return None;
    }
    let entry = &done.entry;
    let hashes = proof.hashes();
    let mut out = Vec::with_capacity(
        320 + head.checkpoint.len() + hashes.len() * 48 + entry.body.len() * 4 / 3,
    );
    let index = entry.index.to_string();
    out.extend_from_slice(b"{\"logIndex\":\"");
    out.extend_from_slice(index.as_bytes());
    out.extend_from_slice(b"\",\"logId\":{\"keyId\":\"");
    push_b64(&mut out, &log.key().log_id());
    out.extend_from_slice(b"\"},\"kindVersion\":{\"kind\":");
    push_json_string(&mut out, kind);
    out.extend_from_slice(b",\"version\":");
    push_json_string(&mut out, version);
    out.extend_from_slice(b"},\"inclusionProof\":{\"logIndex\":\"");
    out.extend_from_slice(index.as_bytes());
    out.extend_from_slice(b"\",\"rootHash\":\"");
    push_b64(&mut out, head.root.as_bytes());
    out.extend_from_slice(b"\",\"treeSize\":\"");
    out.extend_from_slice(head.size.to_string().as_bytes());
    out.extend_from_slice(b"\",\"hashes\":[");
    for (i, h) in hashes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        push_b64(&mut out, h.as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b"],\"checkpoint\":{\"envelope\":");
    push_json_string(&mut out, &head.checkpoint);
    out.extend_from_slice(b"}},\"canonicalizedBody\":\"");
    push_b64(&mut out, &entry.body);
    out.extend_from_slice(b"\"}");
    Some(out)
}

/// Appends standard padded base64 of `bytes` (no JSON escaping needed).
fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
        0,
    );
    let written = B64.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn entry_with(
    log: &Log,
    entry: &StoredEntry,
    head: TreeHead,
    proof: &vouch_merkle::InclusionProof,
) -> Result<TransparencyLogEntry> {
    let size = head.size;
    // Only the kind and version are read back from the stored canonical body (the rest is
    // skipped, not built into a tree: this runs for every append).
    #[derive(Deserialize)]
    struct Kind {
        #[serde(default)]
        kind: String,
        #[serde(default, rename = "apiVersion")]
        api_version: String,
    }
    let body: Kind = serde_json::from_slice(&entry.body).map_err(|e| Error::Corrupt {
        reason: format!("entry {} body: {e}", entry.index),
    })?;
    Ok(TransparencyLogEntry {
        log_index: entry.index.to_string(),
        log_id: LogId {
            key_id: B64.encode(log.key().log_id()),
        },
        kind_version: KindVersion {
            kind: body.kind,
            version: body.api_version,
        },
        inclusion_proof: InclusionProof {
            log_index: entry.index.to_string(),
            root_hash: B64.encode(head.root.as_bytes()),
            tree_size: size.to_string(),
            hashes: proof
                .hashes()
                .iter()
                .map(|h| B64.encode(h.as_bytes()))
                .collect(),
            checkpoint: CheckpointEnvelope {
                envelope: head.checkpoint,
            },
        },
        canonicalized_body: B64.encode(&entry.body),
    })
}

/// The Rekor v2 and tlog-tiles routes over `state`'s log.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v2/log/entries", post(create_entry))
        .route("/checkpoint", get(checkpoint))
        .route("/api/v2/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/api/v2/tile/{*path}", get(tile))
        .route("/api/v2/log/publicKey", get(public_key))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError(Error::NotFound {
                what: "no such API path (Rekor v2 log: POST /api/v2/log/entries, GET /checkpoint, /tile/...)".into(),
            })
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

/// Largest request validated without leaving the async worker (see `create_entry`).
const INLINE_VALIDATION_BYTES: usize = 4 << 10;

async fn create_entry(State(state): State<Arc<AppState>>, body: Body) -> ApiResult<Response> {
    let log = Arc::clone(&state.log);
    let bytes = read_body(body, &log).await?;
    // A request of a few KiB (a hashedrekord, with a certificate: one signature verification,
    // ~0.1 ms) is validated on the async worker: handing it to the blocking pool cost two
    // thread switches, more than the work on a busy 2-core host. Larger ones (DSSE payloads,
    // up to 100 signature checks) go to the blocking pool.
    let canonical: crate::Canonical = if bytes.len() <= INLINE_VALIDATION_BYTES {
        super::canonicalize_request_with(&bytes, log.limits(), Some(&state.keys))?
    } else {
        let (limits, state) = (log.limits().clone(), Arc::clone(&state));
        blocking(move || super::canonicalize_request_with(&bytes, &limits, Some(&state.keys)))
            .await?
    };
    let (kind, version) = (canonical.kind, canonical.api_version);
    let (entry, size) = match log.append(canonical).await {
        Ok(done) => {
            // Usual case: the proof came with the acknowledgement and the head is cached, so
            // the answer is written here, without a second trip through the blocking pool.
            if let Some(json) = integrated_entry_json(&log, &done, kind, version) {
                return Ok(json_response(StatusCode::CREATED, json, done.entry.index));
            }
            (done.entry, done.tree_size)
        }
        Err(Error::Duplicate { index, .. }) => return Ok(duplicate(index)),
        Err(e) => return Err(e.into()),
    };
    let index = entry.index;
    let answer = blocking(move || transparency_log_entry(&log, &entry, size)).await?;
    Ok(created(answer, index))
}

/// A duplicate append, answered as rekor-tiles answers it: Tessera's antispam reports the
/// entry's index (`IsDup`), rekor-tiles returns `DuplicateError` (internal/tessera/tessera.go,
/// message "an equivalent entry already exists in the transparency log with index N"), its
/// service turns that into gRPC `AlreadyExists` with the index in the `x-log-index` header
/// (internal/server/service.go), and grpc-gateway's default error handler writes HTTP 409 with
/// the `google.rpc.Status` in protojson, `EmitUnpopulated` so `details` is `[]`
/// (internal/server/http.go). Nothing is appended and no entry is returned: sigstore-go's
/// writer (rekor-tiles pkg/client/write) takes anything but 201 as a failure.
fn duplicate(index: u64) -> Response {
    let body = format!(
        "{{\"code\":6,\"message\":\"an equivalent entry already exists in the transparency log \
         with index {index}\",\"details\":[]}}"
    );
    json_response(StatusCode::CONFLICT, body.into_bytes(), index)
}

/// An `application/json` answer with `x-log-index`, as [`created`] makes.
fn json_response(status: StatusCode, json: Vec<u8>, index: u64) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&index.to_string()) {
        response.headers_mut().insert("x-log-index", v);
    }
    response
}

fn created(answer: TransparencyLogEntry, index: u64) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(answer)).into_response();
    if let Ok(v) = HeaderValue::from_str(&index.to_string()) {
        response.headers_mut().insert("x-log-index", v);
    }
    response
}

async fn checkpoint(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let log = Arc::clone(&state.log);
    let head = blocking(move || log.tree_head()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        head.checkpoint,
    )
        .into_response())
}

async fn tile(State(state): State<Arc<AppState>>, Path(path): Path<String>) -> ApiResult<Response> {
    let id = TileId::parse_path(&path).map_err(|e| Error::Malformed {
        what: "tile path",
        reason: e.to_string(),
    })?;
    let log = Arc::clone(&state.log);
    let bytes = blocking(move || {
        let size = log.storage().size()?;
        if !id.exists_in(size) {
            return Err(Error::NotFound {
                what: format!("{} (tree size {size})", id.path()),
            });
        }
        match id.level {
            Some(_) => log.storage().tile(&id),
            None => log.storage().entry_bundle(&id),
        }
    })
    .await?;
    let cache = if id.is_full() {
        "public, max-age=31536000, immutable"
    } else {
        // A partial tile's content never changes either, but C2SP lets a log delete it once
        // the full tile exists.
        "public, max-age=3600"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Limits, LogKey, SqliteStorage};
    use vouch_sign::{KeyAlgorithm, SigningKey};

    /// The answer written straight into a buffer is, for every freshly integrated entry, the
    /// bytes serde_json writes for the `TransparencyLogEntry` built from the stored entry
    /// (checkpoint newlines escaped, proofs of every length, both kinds' names).
    #[test]
    fn written_answer_equals_the_serialised_entry() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::start(
            Box::new(SqliteStorage::open(dir.path().join("log.db")).unwrap()),
            LogKey::new_v2(
                SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
                "log.example/\"quoted\"",
            )
            .unwrap(),
            Limits::default(),
        )
        .unwrap();
        for i in 0..20u32 {
            let body =
                format!(r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"n":{i}}}}}"#)
                    .into_bytes();
            let canonical = crate::Canonical {
                kind: "hashedrekord",
                api_version: "0.0.2",
                leaf: vouch_merkle::leaf_hash(&body),
                body,
                index_keys: Vec::new(),
            };
            let done = log.append_blocking(canonical).unwrap();
            let written = integrated_entry_json(&log, &done, "hashedrekord", "0.0.2").unwrap();
            let built = integrated_entry(&log, &done).unwrap().unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&built).unwrap(),
                "entry {i}"
            );
            assert!(built.inclusion_proof.checkpoint.envelope.contains('\n'));
        }
    }
}
