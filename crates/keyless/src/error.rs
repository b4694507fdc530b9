//! Errors of keyless signing, grouped by who is at fault.

use std::path::PathBuf;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- the caller's configuration
    /// No identity token source applied.
    #[error(
        "no identity token: give --identity-token, set SIGSTORE_ID_TOKEN, run in GitHub Actions with `id-token: write`, or point at a dev OIDC issuer"
    )]
    NoToken,
    /// The token is not a JWT with the claims Sigstore needs.
    #[error("identity token from {source_name}: {reason}")]
    MalformedToken {
        /// Where it came from.
        source_name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A trust config or file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The trust config is not a usable ClientTrustConfig.
    #[error("trust config: {reason}")]
    TrustConfig {
        /// What is wrong.
        reason: String,
    },

    // --- a service
    /// The CA refused to issue (its gRPC-gateway `message` is the reason).
    #[error("certificate authority {url} refused (HTTP {status}): {message}")]
    CaRefused {
        /// The CA.
        url: String,
        /// HTTP status.
        status: u16,
        /// The CA's reason.
        message: String,
    },
    /// The CA answered something that is not a certificate chain.
    #[error("certificate authority {url}: {reason}")]
    CaResponse {
        /// The CA.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The timestamp authority refused or answered no timestamp.
    #[error("timestamp authority {url}: {reason}")]
    Timestamp {
        /// The TSA endpoint (`signingConfig.tsaUrls[].url`).
        url: String,
        /// What is wrong (HTTP status, PKIStatus, nonce mismatch, syntax).
        reason: String,
    },
    /// The certificate does not match what was asked for.
    #[error("issued certificate: {reason}")]
    Certificate {
        /// What is wrong.
        reason: String,
    },
    /// A token endpoint (GitHub Actions, dev issuer) failed.
    #[error("token endpoint {url}: {reason}")]
    TokenEndpoint {
        /// The endpoint (without secrets).
        url: String,
        /// What happened.
        reason: String,
    },
    /// HTTP transport.
    #[error(transparent)]
    Http(#[from] vouch_http::Error),
    /// The transparency log.
    #[error(transparent)]
    Log(Box<vouch_tlog::Error>),
    /// A Rekor v2 log refused the entry or answered with something that is no
    /// TransparencyLogEntry.
    #[error("Rekor v2 log {url}: {reason}")]
    LogV2 {
        /// The entries endpoint.
        url: String,
        /// What went wrong (the log's message when it refused).
        reason: String,
    },
    /// Keys, bundles, verification, registry storage.
    #[error(transparent)]
    Sign(#[from] vouch_sign::Error),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<vouch_tlog::Error> for Error {
    fn from(e: vouch_tlog::Error) -> Self {
        Self::Log(Box::new(e))
    }
}
