//! The HTTP API of `sigstore/timestamp-authority` (`openapi.yaml`, `pkg/api/timestamp.go`):
//!
//! * `POST /api/v1/timestamp`: body a DER `TimeStampReq` (`Content-Type:
//!   application/timestamp-query`, RFC 3161 §3.4) or the JSON request (`application/json`);
//!   answer a DER `TimeStampResp` (`application/timestamp-reply`), 200 when granted. A refused
//!   request is answered 400 (415 for another content type) with a `rejection` TimeStampResp
//!   naming the failure, so RFC 3161 clients read why.
//! * `GET /api/v1/timestamp/certchain`: the PEM chain, TSA certificate first.
//! * `GET /healthz`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::authority::{Failure, Rejection, TimestampAuthority, TimestampRequest};

/// TLS for [`serve`]: a rustls configuration from PEM certificate chain and key files.
pub use vouch_http::server::{TlsError, tls_config_from_files};

/// Largest request body read (a DER TimeStampReq with a SHA-512 imprint is ~100 bytes).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

/// The service's routes over `authority`.
pub fn router(authority: Arc<TimestampAuthority>) -> Router {
    Router::new()
        .route("/api/v1/timestamp", post(timestamp))
        .route("/api/v1/timestamp/certchain", get(certchain))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(authority)
}

/// Serves [`router`] on `listener` until `shutdown` resolves, with vouch's connection limits
/// and header/idle timeouts ([`vouch_http::server`]); TLS when `tls` is given (see
/// [`vouch_http::server::tls_config_from_files`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    authority: Arc<TimestampAuthority>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    vouch_http::server::serve(
        listener,
        router(authority),
        tls,
        vouch_http::server::ServerConfig::named("tsa"),
        shutdown,
    )
    .await
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, TIMESTAMP_REPLY)], body).into_response()
}

fn rejected(status: StatusCode, rejection: &Rejection) -> Response {
    reply(status, rejection.to_der())
}

async fn timestamp(
    State(authority): State<Arc<TimestampAuthority>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The media type without parameters (`application/json; charset=utf-8` is JSON), as
    // sigstore's `getContentType` (mime.ParseMediaType).
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let request = match media_type.as_str() {
        "application/timestamp-query" => TimestampRequest::from_der(&body),
        "application/json" => TimestampRequest::from_json(&body),
        other => {
            return rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &Rejection {
                    failure: Failure::BadRequest,
                    reason: format!(
                        "content type {other:?}: send application/timestamp-query or application/json"
                    ),
                },
            );
        }
    };
    let issued = request.and_then(|r| authority.timestamp(&r));
    match issued {
        Ok(issued) => reply(StatusCode::OK, issued.response),
        Err(r) if r.failure == Failure::SystemFailure => {
            rejected(StatusCode::INTERNAL_SERVER_ERROR, &r)
        }
        Err(r) => rejected(StatusCode::BAD_REQUEST, &r),
    }
}

async fn certchain(State(authority): State<Arc<TimestampAuthority>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        authority.chain_pem().to_owned(),
    )
        .into_response()
}
