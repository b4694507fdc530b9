//! A minimal in-process OCI registry on loopback, for `vouch demo` and tests of machines
//! without `docker-registry`: the distribution-spec v1.1 endpoints vouch and skopeo use,
//! held in memory, gone when dropped.
//!
//! Endpoints (`opencontainers/distribution-spec:spec.md`): `GET /v2/`; `HEAD/GET
//! /v2/<name>/blobs/<digest>`; `POST /v2/<name>/blobs/uploads/` then `PATCH` chunks and a
//! closing `PUT ...?digest=` (or a monolithic `POST ...?digest=`); `HEAD/GET/PUT
//! /v2/<name>/manifests/<reference>`; `GET /v2/<name>/tags/list`; and `GET
//! /v2/<name>/referrers/<digest>` ("Listing Referrers", with `artifactType` filtering and
//! `OCI-Filters-Applied`). Uploads are verified against their digest; manifests pushed by
//! digest must match it. No authentication: it binds 127.0.0.1 only.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vouch_oci::Digest;

use crate::error::{Error, Result};

/// Bounds of the in-memory registry.
#[derive(Debug, Clone, Copy)]
pub struct RegistryLimits {
    /// Largest request body (blob chunk or manifest). 1 GiB: demo and test images only.
    pub max_body_bytes: usize,
    /// Total bytes held (blobs, uploads, manifests). 4 GiB keeps a runaway client from
    /// exhausting the machine.
    pub max_total_bytes: usize,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 30,
            max_total_bytes: 4 << 30,
        }
    }
}

#[derive(Default)]
struct Repo {
    tags: BTreeMap<String, String>,
    /// digest -> (media type, bytes).
    manifests: HashMap<String, (String, Bytes)>,
}

#[derive(Default)]
struct Store {
    blobs: HashMap<String, Bytes>,
    uploads: HashMap<String, Vec<u8>>,
    repos: HashMap<String, Repo>,
    next_upload: u64,
    total: usize,
}

struct Shared {
    store: Mutex<Store>,
    limits: RegistryLimits,
}

/// A running in-process registry; stops when dropped.
pub struct LocalRegistry {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LocalRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRegistry")
            .field("addr", &self.addr)
            .finish()
    }
}

impl LocalRegistry {
    /// Starts on 127.0.0.1 at a free port.
    pub fn start(limits: RegistryLimits) -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Service {
            service: "registry",
            reason: format!("binding 127.0.0.1: {e}"),
        })?;
        let addr = listener.local_addr().map_err(|e| Error::Service {
            service: "registry",
            reason: e.to_string(),
        })?;
        listener.set_nonblocking(true).map_err(|e| Error::Service {
            service: "registry",
            reason: e.to_string(),
        })?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            limits,
        });
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(limits.max_body_bytes))
            .with_state(shared);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Service {
                service: "registry",
                reason: e.to_string(),
            })?;
        let thread = std::thread::Builder::new()
            .name("vouch-registry".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })
            .map_err(|e| Error::Service {
                service: "registry",
                reason: e.to_string(),
            })?;
        Ok(Self {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"errors": [{"code": code, "message": message}]}).to_string(),
    )
        .into_response()
}

/// Repository names (distribution-spec: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/...)*`),
/// checked loosely: lowercase alphanumerics and separators, no empty components.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

fn query_param(uri: &Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not a /v2/ path");
    };
    if rest.is_empty() {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response();
    }
    let Ok(mut store) = shared.store.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "poisoned");
    };
    let store = &mut *store;
    let limits = shared.limits;
    if let Some((name, id)) = rest.split_once("/blobs/uploads/") {
        return upload(store, limits, &method, &uri, name, id, body);
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        if !valid_name(name) {
            return error(StatusCode::BAD_REQUEST, "NAME_INVALID", name);
        }
        let Some(blob) = store.blobs.get(digest) else {
            return error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", digest);
        };
        let len = blob.len().to_string();
        let headers = [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, len),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_owned(),
            ),
        ];
        return match method {
            Method::HEAD => (StatusCode::OK, headers).into_response(),
            Method::GET => (StatusCode::OK, headers, Body::from(blob.clone())).into_response(),
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "blobs"),
        };
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        if !valid_name(name) {
            return error(StatusCode::BAD_REQUEST, "NAME_INVALID", name);
        }
        return manifest(store, limits, &method, &headers, name, reference, body);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        let Some(repo) = store.repos.get(name) else {
            return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", name);
        };
        let tags: Vec<&String> = repo.tags.keys().collect();
        return axum::Json(json!({"name": name, "tags": tags})).into_response();
    }
    if let Some((name, subject)) = rest.rsplit_once("/referrers/") {
        return referrers(store, &uri, name, subject);
    }
    error(StatusCode::NOT_FOUND, "NOT_FOUND", path)
}

fn upload(
    store: &mut Store,
    limits: RegistryLimits,
    method: &Method,
    uri: &Uri,
    name: &str,
    id: &str,
    body: Bytes,
) -> Response {
    if !valid_name(name) {
        return error(StatusCode::BAD_REQUEST, "NAME_INVALID", name);
    }
    if store.total + body.len() > limits.max_total_bytes {
        return error(StatusCode::INSUFFICIENT_STORAGE, "DENIED", "registry full");
    }
    let location = |id: &str| format!("/v2/{name}/blobs/uploads/{id}");
    match (method, id.is_empty()) {
        (&Method::POST, true) => {
            if let Some(d) = query_param(uri, "digest") {
                return commit(store, name, &d, body.to_vec());
            }
            store.next_upload += 1;
            let id = format!("u{}", store.next_upload);
            store.uploads.insert(id.clone(), Vec::new());
            (
                StatusCode::ACCEPTED,
                [
                    (header::LOCATION, location(&id)),
                    (header::RANGE, "0-0".to_owned()),
                    (header::HeaderName::from_static("docker-upload-uuid"), id),
                ],
            )
                .into_response()
        }
        (&Method::PATCH, false) => {
            let Some(buf) = store.uploads.get_mut(id) else {
                return error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", id);
            };
            buf.extend_from_slice(&body);
            let end = buf.len().saturating_sub(1);
            store.total += body.len();
            (
                StatusCode::ACCEPTED,
                [
                    (header::LOCATION, location(id)),
                    (header::RANGE, format!("0-{end}")),
                ],
            )
                .into_response()
        }
        (&Method::PUT, false) => {
            let Some(mut buf) = store.uploads.remove(id) else {
                return error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", id);
            };
            store.total = store.total.saturating_sub(buf.len());
            buf.extend_from_slice(&body);
            let Some(d) = query_param(uri, "digest") else {
                return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "no digest");
            };
            commit(store, name, &d, buf)
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "uploads"),
    }
}

fn commit(store: &mut Store, name: &str, digest: &str, bytes: Vec<u8>) -> Response {
    let Ok(want) = digest.parse::<Digest>() else {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", digest);
    };
    if !want.matches(&bytes) {
        return error(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "content does not match digest",
        );
    }
    store.total += bytes.len();
    store.blobs.insert(want.to_string(), Bytes::from(bytes));
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{name}/blobs/{want}")),
            (
                header::HeaderName::from_static("docker-content-digest"),
                want.to_string(),
            ),
        ],
    )
        .into_response()
}

fn manifest(
    store: &mut Store,
    limits: RegistryLimits,
    method: &Method,
    headers: &HeaderMap,
    name: &str,
    reference: &str,
    body: Bytes,
) -> Response {
    let by_digest = reference.contains(':');
    match *method {
        Method::PUT => {
            if store.total + body.len() > limits.max_total_bytes {
                return error(StatusCode::INSUFFICIENT_STORAGE, "DENIED", "registry full");
            }
            let media_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| {
                    serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
                        v.get("mediaType")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                })
                .unwrap_or_default();
            let parsed: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => {
                    return error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", &e.to_string());
                }
            };
            // Every referenced blob must be present (distribution-spec "Pushing Manifests").
            let mut refs: Vec<&str> = Vec::new();
            if let Some(c) = parsed.pointer("/config/digest").and_then(Value::as_str) {
                refs.push(c);
            }
            for l in parsed
                .get("layers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(d) = l.get("digest").and_then(Value::as_str) {
                    refs.push(d);
                }
            }
            if let Some(missing) = refs.iter().find(|d| !store.blobs.contains_key(**d)) {
                return error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", missing);
            }
            let digest = Digest::sha256(&body);
            if by_digest && reference != digest.to_string() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "DIGEST_INVALID",
                    "manifest does not match the digest it was pushed to",
                );
            }
            let subject = parsed
                .pointer("/subject/digest")
                .and_then(Value::as_str)
                .map(str::to_owned);
            store.total += body.len();
            let repo = store.repos.entry(name.to_owned()).or_default();
            repo.manifests
                .insert(digest.to_string(), (media_type, body));
            if !by_digest {
                repo.tags.insert(reference.to_owned(), digest.to_string());
            }
            let mut resp = (
                StatusCode::CREATED,
                [
                    (header::LOCATION, format!("/v2/{name}/manifests/{digest}")),
                    (
                        header::HeaderName::from_static("docker-content-digest"),
                        digest.to_string(),
                    ),
                ],
            )
                .into_response();
            if let Some(s) = subject
                && let Ok(v) = s.parse()
            {
                resp.headers_mut().insert("oci-subject", v);
            }
            resp
        }
        Method::GET | Method::HEAD => {
            let Some(repo) = store.repos.get(name) else {
                return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", name);
            };
            let digest = if by_digest {
                reference.to_owned()
            } else {
                match repo.tags.get(reference) {
                    Some(d) => d.clone(),
                    None => return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", reference),
                }
            };
            let Some((media_type, bytes)) = repo.manifests.get(&digest) else {
                return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", reference);
            };
            let headers = [
                (header::CONTENT_TYPE, media_type.clone()),
                (header::CONTENT_LENGTH, bytes.len().to_string()),
                (
                    header::HeaderName::from_static("docker-content-digest"),
                    digest.clone(),
                ),
            ];
            if *method == Method::HEAD {
                (StatusCode::OK, headers).into_response()
            } else {
                (StatusCode::OK, headers, Body::from(bytes.clone())).into_response()
            }
        }
        Method::DELETE => {
            let Some(repo) = store.repos.get_mut(name) else {
                return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", name);
            };
            if by_digest {
                repo.manifests.remove(reference);
                repo.tags.retain(|_, d| d != reference);
            } else {
                repo.tags.remove(reference);
            }
            StatusCode::ACCEPTED.into_response()
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "manifests"),
    }
}

fn referrers(store: &Store, uri: &Uri, name: &str, subject: &str) -> Response {
    let filter = query_param(uri, "artifactType");
    let mut manifests = Vec::new();
    if let Some(repo) = store.repos.get(name) {
        let mut digests: Vec<&String> = repo.manifests.keys().collect();
        digests.sort();
        for d in digests {
            let Some((media_type, bytes)) = repo.manifests.get(d) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
                continue;
            };
            if v.pointer("/subject/digest").and_then(Value::as_str) != Some(subject) {
                continue;
            }
            // artifactType, else the config media type (distribution-spec "Listing Referrers").
            let artifact_type = v
                .get("artifactType")
                .and_then(Value::as_str)
                .or_else(|| v.pointer("/config/mediaType").and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned();
            if filter.as_ref().is_some_and(|f| *f != artifact_type) {
                continue;
            }
            let mut desc = json!({
                "mediaType": media_type,
                "digest": d,
                "size": bytes.len(),
                "artifactType": artifact_type,
            });
            if let Some(a) = v.get("annotations") {
                desc["annotations"] = a.clone();
            }
            manifests.push(desc);
        }
    }
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, vouch_oci::manifest::media::OCI_INDEX)],
        json!({
            "schemaVersion": 2,
            "mediaType": vouch_oci::manifest::media::OCI_INDEX,
            "manifests": manifests,
        })
        .to_string(),
    )
        .into_response();
    if filter.is_some()
        && let Ok(v) = "artifactType".parse()
    {
        resp.headers_mut().insert("oci-filters-applied", v);
    }
    resp
}
