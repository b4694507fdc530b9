//! Serving HTTP(S) for every vouch service (`tlog serve`, `ca serve`, `instance serve`, the
//! admission webhook): one accept loop with the same protections everywhere.
//!
//! * **Connection limits.** Each service holds at most [`ServerConfig::max_connections`]
//!   connections (TLS handshakes included), and every service of the process together at most
//!   the [`ConnectionLimit`] they share ([`ConnectionLimit::process`] unless told otherwise).
//!   A connection over either limit is closed as soon as it is accepted, so a flood of one
//!   service never takes the file descriptors, or the accept loop, of another: in
//!   `instance serve` the log and the OIDC issuer keep answering while the CA port is flooded.
//! * **Header and idle timeouts.** A connection must deliver a complete request head within
//!   [`ServerConfig::header_timeout`] of being opened, and of its previous response (hyper's
//!   `header_read_timeout`, which runs whenever the connection waits for a request head):
//!   idle keep-alive connections and slowly trickled headers are closed. Request *bodies* are
//!   bounded by each service's own request timeout and size limits, as before.
//! * **TLS.** rustls with the ring provider, TLS 1.2 and 1.3, HTTP/1.1 by ALPN; each
//!   handshake runs in the connection's own task, bounded by
//!   [`ServerConfig::handshake_timeout`], so a stalled handshake never blocks `accept`.
//!
//! Graceful shutdown: when `shutdown` resolves, accepting stops, every connection finishes the
//! request it is serving (idle ones close at once), and [`serve`] returns when all are closed.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// Errors loading a server's TLS certificate and key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The PEM or the key/certificate pair is not usable.
    #[error("{what}: {reason}")]
    Invalid {
        /// `certificate PEM`, `private key PEM`, `certificate and key`, …
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// A rustls server configuration from a PEM certificate chain (leaf first) and a PEM private
/// key (PKCS#8, SEC1 or PKCS#1): ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let invalid = |what, reason: String| TlsError::Invalid { what, reason };
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate PEM", e.to_string()))?;
    if chain.is_empty() {
        return Err(invalid("certificate PEM", "no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| invalid("private key PEM", e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS versions", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid("certificate and key", e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// [`tls_config`] from `--tls-cert` and `--tls-key` files.
pub fn tls_config_from_files(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    tls_config(&read(cert)?, &read(key)?)
}

/// A number of connections shared by several services (a semaphore).
#[derive(Debug, Clone)]
pub struct ConnectionLimit {
    permits: Arc<Semaphore>,
    max: usize,
}

/// Default of [`ConnectionLimit::process`]: four services at the default per-service limit,
/// well below the usual 1024 open files.
pub const DEFAULT_PROCESS_CONNECTIONS: usize = 512;

impl ConnectionLimit {
    /// A limit of `max` connections.
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// The limit every service of this process shares by default
    /// ([`DEFAULT_PROCESS_CONNECTIONS`]).
    pub fn process() -> Self {
        static PROCESS: OnceLock<ConnectionLimit> = OnceLock::new();
        PROCESS
            .get_or_init(|| Self::new(DEFAULT_PROCESS_CONNECTIONS))
            .clone()
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections currently held.
    pub fn in_use(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}

/// How one service serves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The service's name, for messages (`log`, `ca`, `oidc`, `admission`).
    pub name: &'static str,
    /// Most connections this service holds at once. Default 128.
    pub max_connections: usize,
    /// Time a connection has to send a complete request head, from its opening and from each
    /// previous response: closes slow-header and idle keep-alive connections. Default 10 s.
    pub header_timeout: Duration,
    /// Time a client has to complete its TLS handshake. Default 10 s.
    pub handshake_timeout: Duration,
    /// The limit shared with the process's other services.
    pub process: ConnectionLimit,
}

impl ServerConfig {
    /// The defaults, for the service called `name`.
    pub fn named(name: &'static str) -> Self {
        Self {
            name,
            max_connections: 128,
            header_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            process: ConnectionLimit::process(),
        }
    }
}

/// What a running service has seen (for `/metrics` and tests).
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections accepted and served.
    pub accepted: AtomicU64,
    /// Connections closed at once because a limit was reached.
    pub refused: AtomicU64,
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until `shutdown` resolves,
/// with the limits and timeouts of `config` (see the module documentation).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_stats(
        listener,
        router,
        tls,
        config,
        Arc::new(ServerStats::default()),
        shutdown,
    )
    .await
}

/// [`serve`], counting into `stats`.
pub async fn serve_with_stats(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    config: ServerConfig,
    stats: Arc<ServerStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = config.max_connections.max(1);
    let own = Arc::new(Semaphore::new(max));
    let tls = tls.map(TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let config = Arc::new(config);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: back off as axum does, then go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Over either limit: close at once (the client sees the connection closed), so the
        // descriptor is not held and the kernel backlog does not fill.
        let (Ok(service_permit), Ok(process_permit)) = (
            Arc::clone(&own).try_acquire_owned(),
            Arc::clone(&config.process.permits).try_acquire_owned(),
        ) else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            drop(tcp);
            continue;
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = tcp.set_nodelay(true);
        let (router, tls, config, stop) = (
            router.clone(),
            tls.clone(),
            Arc::clone(&config),
            stop_rx.clone(),
        );
        tokio::spawn(async move {
            let _permits = (service_permit, process_permit);
            connection(tcp, peer, router, tls, &config, stop).await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection task holds a permit until it ends: all of them back means all closed.
    let _ = own
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
    Ok(())
}

async fn connection(
    tcp: TcpStream,
    _peer: SocketAddr,
    router: Router,
    tls: Option<TlsAcceptor>,
    config: &ServerConfig,
    stop: watch::Receiver<bool>,
) {
    match tls {
        None => http1(TokioIo::new(tcp), router, config, stop).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(config.handshake_timeout, acceptor.accept(tcp));
            let stopped = wait_stop(stop.clone());
            tokio::select! {
                done = handshake => if let Ok(Ok(stream)) = done {
                    http1(TokioIo::new(stream), router, config, stop).await;
                },
                () = stopped => {}
            }
        }
    }
}

async fn wait_stop(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// One HTTP/1.1 connection with the header/idle timeout; on shutdown it finishes the request
/// in progress and closes.
async fn http1<I>(
    io: TokioIo<I>,
    router: Router,
    config: &ServerConfig,
    stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, TowerToHyperService::new(router));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = wait_stop(stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
