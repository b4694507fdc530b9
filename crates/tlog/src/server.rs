//! The HTTP service: Rekor v1's REST API (`sigstore/rekor:openapi.yaml`) over a [`Log`].
//!
//! Every error is `{"code": <status>, "message": <reason>}`; bodies larger than
//! [`crate::Limits::max_request_bytes`] get 413, requests slower than
//! [`crate::Limits::request_timeout`] get 503. Storage calls run on Tokio's blocking pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use vouch_merkle::Hash;

use crate::entry::{self, Canonical};
use crate::error::{Error, Result};
use crate::log::{Integrated, Log};
use crate::storage::StoredEntry;
use crate::wire::{self, ConsistencyProof, InclusionProof, LogEntry, LogInfo};

/// Shared state of the service.
#[derive(Debug)]
pub struct AppState {
    pub(crate) log: Arc<Log>,
    /// Rekor v2 client keys already parsed ([`crate::v2::verify::KeyCache`]).
    pub(crate) keys: crate::v2::verify::KeyCache,
    /// Print one line per request on stderr.
    access_log: bool,
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

impl AppState {
    /// State for a router over `log`.
    pub fn new(log: Arc<Log>, access_log: bool) -> Arc<Self> {
        Arc::new(Self {
            log,
            keys: crate::v2::verify::KeyCache::default(),
            access_log,
            requests: AtomicU64::new(0),
            client_errors: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
        })
    }
}

/// The service's routes: Rekor v1's API, or for a Rekor v2 log key ([`LogKey::new_v2`])
/// Rekor v2's write API and the tlog-tiles read API ([`crate::v2::router`]).
///
/// [`LogKey::new_v2`]: crate::LogKey::new_v2
pub fn router(state: Arc<AppState>) -> Router {
    if state.log.key().is_v2() {
        return crate::v2::router(state);
    }
    Router::new()
        .route(
            "/api/v1/log/entries",
            post(create_entry).get(entry_by_index),
        )
        .route("/api/v1/log/entries/{uuid}", get(entry_by_uuid))
        .route("/api/v1/log/entries/retrieve", post(retrieve_entries))
        .route("/api/v1/index/retrieve", post(search_index))
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/log/proof", get(consistency))
        .route("/api/v1/log/publicKey", get(public_key))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError(Error::NotFound {
                what: "no such API path".into(),
            })
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, with vouch's connection
/// limits and header/idle timeouts ([`vouch_http::server`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    vouch_http::server::serve(
        listener,
        router(state),
        None,
        vouch_http::server::ServerConfig::named("log"),
        shutdown,
    )
    .await
}

/// Serves `router(state)` over HTTPS on `listener` until `shutdown` resolves.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    vouch_http::server::serve(
        listener,
        router(state),
        Some(config),
        vouch_http::server::ServerConfig::named("log"),
        shutdown,
    )
    .await
}

/// Timeout, access log and status counters around every request.
pub(crate) async fn guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // Only the access log needs them: no copy of the path per request otherwise.
    let line = state
        .access_log
        .then(|| (request.method().clone(), request.uri().path().to_owned()));
    let timeout = state.log.limits().request_timeout;
    let response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(r) => r,
        Err(_) => error_response(503, format!("request took longer than {timeout:?}")),
    };
    let status = response.status().as_u16();
    state.requests.fetch_add(1, Ordering::Relaxed);
    if (400..500).contains(&status) {
        state.client_errors.fetch_add(1, Ordering::Relaxed);
    } else if status >= 500 {
        state.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    if let Some((method, path)) = line {
        eprintln!(
            "level=info msg=request method={method} path={path} status={status} ms={:.3}",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    response
}

/// An error answered as Rekor's JSON error body (409 carries the existing entry's location).
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

pub(crate) fn error_response(status: u16, message: String) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(json!({"code": status, "message": message})),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = error_response(self.0.status(), self.0.to_string());
        if let Error::Duplicate { uuid, .. } = &self.0
            && let Ok(location) = HeaderValue::from_str(&format!("/api/v1/log/entries/{uuid}"))
        {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

pub(crate) type ApiResult<T> = std::result::Result<T, ApiError>;

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Storage {
            backend: "worker",
            reason: e.to_string(),
        })?
}

pub(crate) async fn read_body(body: Body, log: &Log) -> Result<Bytes> {
    let limit = log.limits().max_request_bytes;
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Error::TooLarge {
            what: "request body",
            limit,
            actual: limit + 1,
        })
}

fn parse_json(bytes: &[u8], what: &'static str) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::malformed(what, e))
}

/// The `LogEntry` of a stored entry with an inclusion proof at `size` (at least the entry's).
fn entry_with_proof(log: &Log, entry: &StoredEntry, size: u64) -> Result<LogEntry> {
    let size = size.max(entry.index + 1);
    let head = log.tree_head_at(size)?;
    let proof = log.inclusion_proof(entry.index, size)?;
    Ok(log_entry(log, entry, head, &proof))
}

/// The `LogEntry` of `entry` with `proof` at `head`'s size (the caller checked they match).
fn log_entry(
    log: &Log,
    entry: &StoredEntry,
    head: crate::log::TreeHead,
    proof: &vouch_merkle::InclusionProof,
) -> LogEntry {
    let size = head.size;
    let proof = InclusionProof {
        checkpoint: head.checkpoint,
        hashes: proof.hashes().iter().map(Hash::to_hex).collect(),
        log_index: entry.index,
        root_hash: head.root.to_hex(),
        tree_size: size,
    };
    wire::log_entry(log.tree_id(), &log.key().log_id(), entry, Some(proof))
}

async fn create_entry(State(state): State<Arc<AppState>>, body: Body) -> ApiResult<Response> {
    let log = Arc::clone(&state.log);
    let bytes = read_body(body, &log).await?;
    let limits = log.limits().clone();
    let canonical: Canonical = blocking(move || entry::canonicalize(&bytes, &limits)).await?;
    let Integrated {
        entry,
        tree_size,
        proof,
    } = log.append(canonical).await?;
    let tree_id = log.tree_id();
    let id = wire::entry_id(tree_id, &entry.uuid);
    // Usual case: the sequencer answered the proof from the nodes it had in memory and the
    // new size's head is cached (as for Rekor v2): no storage read, no blocking-pool trip.
    let answer = match (proof, log.cached_tree_head(tree_size)) {
        (Some(proof), Some(head)) if proof.size() == head.size && proof.index() == entry.index => {
            log_entry(&log, &entry, head, &proof)
        }
        _ => blocking(move || entry_with_proof(&log, &entry, tree_size)).await?,
    };
    let mut response = (StatusCode::CREATED, axum::Json(answer)).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/log/entries/{id}")) {
        headers.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(header::ETAG, v);
    }
    Ok(response)
}

/// Looks an entry up by UUID or entry ID and answers it with a proof at the current size.
fn lookup_uuid(log: &Log, text: &str) -> Result<Option<LogEntry>> {
    let (tree, uuid) = wire::parse_entry_id(text)?;
    if tree.is_some_and(|t| t != log.tree_id()) {
        return Ok(None);
    }
    let size = log.storage().size()?;
    match log.storage().entry_by_uuid(&uuid)? {
        Some(e) => entry_with_proof(log, &e, size).map(Some),
        None => Ok(None),
    }
}

fn lookup_index(log: &Log, index: u64) -> Result<Option<LogEntry>> {
    let size = log.storage().size()?;
    // Beyond the tree (up to 2^64 - 1 in the query): not found, without asking the database,
    // whose 63-bit integers cannot even hold it.
    if index >= size {
        return Ok(None);
    }
    match log.storage().entry_by_index(index)? {
        Some(e) => entry_with_proof(log, &e, size).map(Some),
        None => Ok(None),
    }
}

async fn entry_by_uuid(
    State(state): State<Arc<AppState>>,
    Path(uuid): Path<String>,
) -> ApiResult<axum::Json<LogEntry>> {
    let log = Arc::clone(&state.log);
    let found =
        blocking(move || lookup_uuid(&log, &uuid)?.ok_or(Error::NotFound { what: uuid })).await?;
    Ok(axum::Json(found))
}

#[derive(Deserialize)]
struct IndexQuery {
    #[serde(rename = "logIndex")]
    log_index: Option<String>,
}

async fn entry_by_index(
    State(state): State<Arc<AppState>>,
    Query(query): Query<IndexQuery>,
) -> ApiResult<axum::Json<LogEntry>> {
    let text = query
        .log_index
        .ok_or_else(|| Error::malformed("logIndex", "query parameter logIndex is required"))?;
    let index: u64 = text.parse().map_err(|_| {
        Error::malformed(
            "logIndex",
            format!("{text:?} is not a non-negative integer"),
        )
    })?;
    let log = Arc::clone(&state.log);
    let found = blocking(move || {
        lookup_index(&log, index)?.ok_or(Error::NotFound {
            what: format!("logIndex {index}"),
        })
    })
    .await?;
    Ok(axum::Json(found))
}

async fn retrieve_entries(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> ApiResult<axum::Json<Vec<LogEntry>>> {
    let log = Arc::clone(&state.log);
    let bytes = read_body(body, &log).await?;
    let query = parse_json(&bytes, "search query")?;
    let max = log.limits().max_retrieve_items;
    let list = |name: &'static str| -> Result<Vec<Value>> {
        let items = match query.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => {
                return Err(Error::malformed(
                    "search query",
                    format!("{name} must be an array"),
                ));
            }
        };
        if items.len() > max {
            return Err(Error::TooLarge {
                what: name,
                limit: max,
                actual: items.len(),
            });
        }
        Ok(items)
    };
    let uuids = list("entryUUIDs")?;
    let indexes = list("logIndexes")?;
    let entries = list("entries")?;
    if uuids.is_empty() && indexes.is_empty() && entries.is_empty() {
        return Err(Error::malformed(
            "search query",
            "one of entryUUIDs, logIndexes or entries is required",
        )
        .into());
    }
    let limits = log.limits().clone();
    let found = blocking(move || {
        let mut out = Vec::new();
        for uuid in &uuids {
            let text = uuid
                .as_str()
                .ok_or_else(|| Error::malformed("entryUUIDs", "expected strings"))?;
            out.extend(lookup_uuid(&log, text)?);
        }
        for index in &indexes {
            let index = index
                .as_u64()
                .ok_or_else(|| Error::malformed("logIndexes", "expected non-negative integers"))?;
            out.extend(lookup_index(&log, index)?);
        }
        for proposed in &entries {
            let canonical = entry::canonicalize_value(proposed, &limits)?;
            out.extend(lookup_uuid(&log, &canonical.leaf.to_hex())?);
        }
        Ok(out)
    })
    .await?;
    Ok(axum::Json(found))
}

async fn search_index(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> ApiResult<axum::Json<Vec<String>>> {
    let log = Arc::clone(&state.log);
    let bytes = read_body(body, &log).await?;
    let query = parse_json(&bytes, "search index query")?;
    let mut keys = Vec::new();
    if let Some(hash) = query.get("hash") {
        let hash = hash
            .as_str()
            .ok_or_else(|| Error::malformed("hash", "expected a string"))?;
        keys.push(search_hash_key(hash)?);
    }
    if let Some(key) = query.get("publicKey") {
        let format = key.get("format").and_then(Value::as_str).unwrap_or("x509");
        if format != "x509" {
            return Err(Error::malformed(
                "publicKey.format",
                format!("{format:?} is not supported (x509 only)"),
            )
            .into());
        }
        let content = key
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::malformed("publicKey.content", "missing"))?;
        use base64::Engine as _;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| Error::malformed("publicKey.content", e))?;
        keys.push(entry::public_key_index_key(&pem)?);
    }
    if let Some(email) = query.get("email").and_then(Value::as_str) {
        keys.push(email.to_ascii_lowercase());
    }
    if keys.is_empty() {
        return Err(Error::malformed(
            "search index query",
            "one of hash, publicKey or email is required",
        )
        .into());
    }
    let and = query.get("operator").and_then(Value::as_str) == Some("and");
    let limit = log.limits().max_search_results;
    let tree_id = log.tree_id();
    let found = blocking(move || {
        let mut result: Option<Vec<Hash>> = None;
        for key in &keys {
            let hits = log.storage().search(key, limit)?;
            result = Some(match result {
                None => hits,
                Some(prev) if and => prev.into_iter().filter(|h| hits.contains(h)).collect(),
                Some(mut prev) => {
                    prev.extend(hits);
                    prev.sort();
                    prev.dedup();
                    prev
                }
            });
        }
        Ok(result
            .unwrap_or_default()
            .iter()
            .map(|h| wire::entry_id(tree_id, h))
            .collect())
    })
    .await?;
    Ok(axum::Json(found))
}

/// The search key of `SearchIndex.hash`, which Rekor's API restricts to
/// `^(sha512:)?[0-9a-fA-F]{128}$|^(sha256:)?[0-9a-fA-F]{64}$|^(sha1:)?[0-9a-fA-F]{40}$`
/// (`sigstore/rekor:openapi.yaml`); anything else is a 400, not an empty answer.
fn search_hash_key(hash: &str) -> Result<String> {
    let hash = hash.to_ascii_lowercase();
    let (algorithm, hex) = match hash.split_once(':') {
        Some((algorithm, hex)) => (Some(algorithm), hex),
        None => (None, hash.as_str()),
    };
    let by_length = match hex.len() {
        40 => "sha1",
        64 => "sha256",
        128 => "sha512",
        _ => "",
    };
    let valid = !by_length.is_empty()
        && algorithm.is_none_or(|a| a == by_length)
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(Error::malformed(
            "hash",
            format!("{hash:?} is not [sha256:]<64 hex>, [sha1:]<40 hex> or [sha512:]<128 hex>"),
        ));
    }
    Ok(format!("{by_length}:{hex}"))
}

async fn log_info(State(state): State<Arc<AppState>>) -> ApiResult<axum::Json<LogInfo>> {
    let log = Arc::clone(&state.log);
    let head = blocking(move || log.tree_head()).await?;
    Ok(axum::Json(LogInfo {
        root_hash: head.root.to_hex(),
        signed_tree_head: head.checkpoint,
        tree_id: state.log.tree_id().to_string(),
        tree_size: head.size,
    }))
}

#[derive(Deserialize)]
struct ProofQuery {
    #[serde(rename = "firstSize")]
    first_size: Option<String>,
    #[serde(rename = "lastSize")]
    last_size: Option<String>,
    #[serde(rename = "treeID")]
    tree_id: Option<String>,
}

async fn consistency(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ProofQuery>,
) -> ApiResult<axum::Json<ConsistencyProof>> {
    let number = |name: &'static str, v: Option<String>, default: Option<u64>| -> Result<u64> {
        match (v, default) {
            (Some(v), _) => v.parse().map_err(|_| {
                Error::malformed(name, format!("{v:?} is not a non-negative integer"))
            }),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(Error::malformed(name, "query parameter is required")),
        }
    };
    let first = number("firstSize", query.first_size, Some(1))?;
    let last = number("lastSize", query.last_size, None)?;
    if let Some(tree) = query.tree_id
        && tree != state.log.tree_id().to_string()
    {
        return Err(Error::NotFound {
            what: format!("treeID {tree}"),
        }
        .into());
    }
    let log = Arc::clone(&state.log);
    let (proof, root) = blocking(move || {
        let proof = log.consistency_proof(first, last)?;
        Ok((proof, log.root_at(last)?))
    })
    .await?;
    Ok(axum::Json(ConsistencyProof {
        hashes: proof.hashes().iter().map(Hash::to_hex).collect(),
        root_hash: root.to_hex(),
    }))
}

pub(crate) async fn public_key(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.log.key().public_key().to_pem(),
    )
        .into_response()
}

/// Liveness: the storage answers a read. A database that cannot be reached is a 503 naming
/// it (storage reconnects by itself; see [`crate::storage`]).
pub(crate) async fn healthz(State(state): State<Arc<AppState>>) -> ApiResult<&'static str> {
    let log = Arc::clone(&state.log);
    blocking(move || log.storage().size())
        .await
        .map_err(unavailable)?;
    Ok("ok\n")
}

/// Readiness: appends can be written now (the write path's connection works and the database
/// accepts writes); 503 with the reason while they cannot.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> ApiResult<&'static str> {
    let log = Arc::clone(&state.log);
    blocking(move || log.storage().check_writable())
        .await
        .map_err(unavailable)?;
    Ok("ready\n")
}

/// A failed probe is "unavailable" whatever the storage error was.
fn unavailable(e: Error) -> ApiError {
    ApiError(match e {
        e @ Error::StorageUnavailable { .. } => e,
        other => Error::StorageUnavailable {
            backend: "storage",
            reason: other.to_string(),
        },
    })
}

pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let log = Arc::clone(&state.log);
    let size = blocking(move || log.storage().size()).await?;
    let m = state.log.metrics();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let text = format!(
        "# HELP vouch_tlog_tree_size Entries in the log.\n# TYPE vouch_tlog_tree_size gauge\n\
         vouch_tlog_tree_size {size}\n\
         # HELP vouch_tlog_appends_total Entries integrated by this process.\n# TYPE vouch_tlog_appends_total counter\n\
         vouch_tlog_appends_total {}\n\
         # HELP vouch_tlog_duplicates_total Appends refused as duplicates.\n# TYPE vouch_tlog_duplicates_total counter\n\
         vouch_tlog_duplicates_total {}\n\
         # HELP vouch_tlog_batches_total Sequencer transactions committed.\n# TYPE vouch_tlog_batches_total counter\n\
         vouch_tlog_batches_total {}\n\
         # HELP vouch_tlog_batch_failures_total Sequencer transactions rolled back.\n# TYPE vouch_tlog_batch_failures_total counter\n\
         vouch_tlog_batch_failures_total {}\n\
         # HELP vouch_tlog_batch_seconds_total Time spent in sequencer transactions.\n# TYPE vouch_tlog_batch_seconds_total counter\n\
         vouch_tlog_batch_seconds_total {:.6}\n\
         # HELP vouch_tlog_http_requests_total HTTP requests answered, by class.\n# TYPE vouch_tlog_http_requests_total counter\n\
         vouch_tlog_http_requests_total{{class=\"all\"}} {}\n\
         vouch_tlog_http_requests_total{{class=\"4xx\"}} {}\n\
         vouch_tlog_http_requests_total{{class=\"5xx\"}} {}\n",
        load(&m.appended),
        load(&m.duplicates),
        load(&m.batches),
        load(&m.batch_failures),
        load(&m.batch_micros) as f64 / 1e6,
        load(&state.requests),
        load(&state.client_errors),
        load(&state.server_errors),
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
