//! HTTPS serving: rustls (ring provider) in front of an axum router.
//!
//! The TLS handshake runs in its own task per connection with a 10 s bound, so a client
//! that connects and stalls never blocks other connections; finished handshakes are handed
//! to axum through a channel ([`TlsListener`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use crate::error::{Error, Result};
use crate::{Endpoint, Webhook, parse_timeout};

/// Bound on one TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A rustls server configuration from PEM certificate chain and private key.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Tls {
            what: "certificate",
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(Error::Tls {
            what: "certificate",
            reason: "no CERTIFICATE block in the PEM file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| Error::Tls {
        what: "private key",
        reason: e.to_string(),
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls {
            what: "configuration",
            reason: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls {
            what: "certificate",
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Finished TLS connections, as an axum listener.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp`, handshaking each connection in its own task.
    pub fn new(tcp: TcpListener, tls: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(tls);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(_) => {
                        // EMFILE and friends: back off briefly instead of spinning.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let conn_tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        let _ = conn_tx.send((tls, peer)).await;
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(Self { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
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
    let listener = TlsListener::new(tcp, tls).map_err(|source| Error::Io {
        what: "listening".into(),
        source,
    })?;
    axum::serve(listener, router(webhook))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| Error::Io {
            what: "serving".into(),
            source,
        })
}
