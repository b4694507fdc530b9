//! HTTPS serving of the webhook: the TLS accept loop, connection limits and header/idle
//! timeouts are [`vouch_http::server`]'s, shared with vouch's other services.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;

use crate::error::{Error, Result};
use crate::{Endpoint, Webhook, parse_timeout};

/// A rustls server configuration from PEM certificate chain and private key.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>> {
    vouch_http::server::tls_config(cert_pem, key_pem).map_err(|e| Error::Tls {
        what: match &e {
            vouch_http::server::TlsError::Invalid { what, .. } => what,
            _ => "configuration",
        },
        reason: e.to_string(),
    })
}

/// The routes: `/validate`, `/mutate`, `/healthz`, `/readyz`, `/metrics`.
pub fn router(webhook: Arc<Webhook>) -> Router {
    let limit = webhook.config().limits.max_body_bytes;
    Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(webhook)
}

async fn handle(
    webhook: &Arc<Webhook>,
    endpoint: Endpoint,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    let api_timeout = query.get("timeout").and_then(|t| parse_timeout(t));
    let answer = webhook.review(endpoint, body, api_timeout).await;
    (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, "application/json")],
        answer.body.to_string(),
    )
        .into_response()
}

async fn validate(
    State(w): State<Arc<Webhook>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    handle(&w, Endpoint::Validate, &q, &body).await
}

async fn mutate(
    State(w): State<Arc<Webhook>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    handle(&w, Endpoint::Mutate, &q, &body).await
}

async fn metrics(State(w): State<Arc<Webhook>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        w.metrics_text(),
    )
        .into_response()
}

/// Serves HTTPS on `tcp` until `shutdown` completes.
pub async fn serve(
    webhook: Arc<Webhook>,
    tcp: TcpListener,
    tls: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    vouch_http::server::serve(
        tcp,
        router(webhook),
        Some(tls),
        vouch_http::server::ServerConfig::named("admission"),
        shutdown,
    )
    .await
    .map_err(|source| Error::Io {
        what: "serving".into(),
        source,
    })
}
