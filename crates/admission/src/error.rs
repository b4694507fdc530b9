//! The crate's one error type.

/// What went wrong serving admission reviews.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- the caller's configuration is wrong ---
    /// The serving certificate or key could not be used.
    #[error("TLS {what}: {reason}")]
    Tls {
        /// `certificate`, `private key` or `configuration`.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A policy failed validation or is of a shape vouch does not enforce.
    #[error("policy {policy}: {reason}")]
    Policy {
        /// Kind and name.
        policy: String,
        /// The problems, one per line.
        reason: String,
    },
    // --- the API server (or whoever sent the request) sent something wrong ---
    /// The body is not an AdmissionReview v1.
    #[error("malformed AdmissionReview: {0}")]
    MalformedReview(String),
    // --- the environment ---
    /// Socket trouble.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
