//! HTTPS for vouch's services (`--tls-cert PEM --tls-key PEM`): the certificate loading and
//! the TLS accept loop live in [`vouch_http::server`], shared with the CA, the instance and
//! the admission webhook; these are the log's names for them.

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::error::{Error, Result};

/// A server configuration from a PEM certificate chain (leaf first) and a PEM private key
/// (PKCS#8, SEC1 or PKCS#1).
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>> {
    vouch_http::server::tls_config(cert_pem, key_pem).map_err(tls_error)
}

/// Reads `--tls-cert` and `--tls-key` files into a server configuration.
pub fn server_config_from_files(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>> {
    vouch_http::server::tls_config_from_files(cert, key).map_err(tls_error)
}

fn tls_error(e: vouch_http::server::TlsError) -> Error {
    Error::Tls {
        reason: e.to_string(),
    }
}

/// Serves `router` over HTTPS on `listener` until `shutdown` resolves, with the default
/// connection limits and timeouts ([`vouch_http::server::ServerConfig::named`]).
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    vouch_http::server::serve(
        listener,
        router,
        Some(config),
        vouch_http::server::ServerConfig::named("https"),
        shutdown,
    )
    .await
}
