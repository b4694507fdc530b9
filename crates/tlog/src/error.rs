//! The crate's one error type. Every variant says what was checked and carries the evidence;
//! [`Error::status`] maps it to the HTTP status the service answers with. Other crates' errors
//! are boxed, so that every `Result` of this crate stays small (clippy `result_large_err`).

/// Everything that can go wrong in the log, its storage, its service or its client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service's TLS certificate or key could not be loaded.
    #[error("TLS: {reason}")]
    Tls {
        /// What was wrong.
        reason: String,
    },
    /// A proposed entry or request body is not what the API accepts.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which field or document.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The entry kind or API version is not one this log accepts.
    #[error(
        "unsupported entry kind {kind:?} version {version:?} (accepted: hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2)"
    )]
    UnsupportedKind {
        /// The `kind` field.
        kind: String,
        /// The `apiVersion` field.
        version: String,
    },
    /// The entry's signature does not verify with the key or certificate it names.
    #[error("{check}: {source}")]
    Signature {
        /// What was verified.
        check: &'static str,
        /// The verifier's reason.
        #[source]
        source: Box<vouch_sign::Error>,
    },
    /// The key or certificate in the entry is not well formed.
    #[error("invalid {what}: {source}")]
    Key {
        /// Which field.
        what: &'static str,
        /// The parser's reason.
        #[source]
        source: Box<vouch_sign::Error>,
    },
    /// The key or certificate of a Rekor v2 request is not one the log can read or accepts
    /// (curve, RSA size, encoding).
    #[error("invalid {what}: {reason}")]
    ClientKey {
        /// Which field.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A request exceeds a configured limit.
    #[error("{what} too large: {actual} > limit {limit}")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// The measured size.
        actual: usize,
    },
    /// The same canonical entry is already in the log.
    #[error("an equivalent entry already exists in the transparency log with UUID {uuid}")]
    Duplicate {
        /// The existing entry's UUID (leaf hash, hex).
        uuid: String,
        /// Its log index.
        index: u64,
    },
    /// No entry with that UUID or index.
    #[error("entry not found: {what}")]
    NotFound {
        /// The UUID or index asked for.
        what: String,
    },
    /// A proof was asked for sizes the log cannot prove.
    #[error("invalid proof request: {reason}")]
    ProofRange {
        /// Why.
        reason: String,
    },
    /// A Merkle computation or check failed.
    #[error("merkle: {0}")]
    Merkle(Box<vouch_merkle::Error>),
    /// The log's signing key could not be loaded or used.
    #[error("log key: {reason}")]
    LogKey {
        /// Why.
        reason: String,
    },
    /// The database failed.
    #[error("storage ({backend}): {reason}")]
    Storage {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The driver's message.
        reason: String,
    },
    /// The database cannot be reached now (restarting, connection lost, read-only): storage
    /// reconnects with back-off and the service answers 503 until it is back.
    #[error("storage unavailable ({backend}): {reason}")]
    StorageUnavailable {
        /// `postgres` (or `sequencer` for appends refused because of it).
        backend: &'static str,
        /// What failed, and that nothing was written.
        reason: String,
    },
    /// The stored tree is inconsistent with itself (a node or entry is missing).
    #[error("storage is inconsistent: {reason}")]
    Corrupt {
        /// What was found.
        reason: String,
    },
    /// The sequencer stopped (the service is shutting down).
    #[error("the log is not accepting entries (sequencer stopped)")]
    Unavailable,
    /// The server answered a client request with an error.
    #[error("{what}: server answered {status}: {message}")]
    Server {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The error body's message.
        message: String,
    },
    /// An HTTP transport failure in the client.
    #[error("http: {0}")]
    Http(Box<vouch_http::Error>),
    /// The client could not read a response.
    #[error("reading {what}: {reason}")]
    Response {
        /// The request.
        what: String,
        /// Why.
        reason: String,
    },
    /// The log served something that contradicts what it served before, or does not verify.
    #[error("log misbehaviour: {reason}")]
    Misbehaviour {
        /// What the monitor saw.
        reason: String,
    },
    /// A local file (monitor state, key) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl From<vouch_merkle::Error> for Error {
    fn from(e: vouch_merkle::Error) -> Self {
        Self::Merkle(Box::new(e))
    }
}

impl From<vouch_http::Error> for Error {
    fn from(e: vouch_http::Error) -> Self {
        Self::Http(Box::new(e))
    }
}

impl Error {
    /// A signature that does not verify: what was checked, and the verifier's reason.
    pub(crate) fn signature(check: &'static str, source: vouch_sign::Error) -> Self {
        Self::Signature {
            check,
            source: Box::new(source),
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn sqlite(e: impl std::fmt::Display) -> Self {
        Self::Storage {
            backend: "sqlite",
            reason: e.to_string(),
        }
    }

    /// A PostgreSQL error: [`Error::StorageUnavailable`] when the connection is lost or the
    /// server is not accepting connections (SQLSTATE class 08 "connection exception", 57P01-03
    /// "admin/crash shutdown, cannot connect now", 25006 "read only transaction"), so that the
    /// caller drops the connection and the service answers 503; [`Error::Storage`] otherwise.
    /// The message includes the server's own (`postgres::Error`'s Display is only its kind).
    pub(crate) fn postgres(e: postgres::Error) -> Self {
        use std::error::Error as _;
        let reason = match e.source() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
        let lost = e.is_closed()
            || e.source().is_some_and(|c| c.is::<std::io::Error>())
            || e.to_string() == "timeout waiting for server"
            || e.code().is_some_and(|c| {
                let code = c.code();
                code.starts_with("08") || code.starts_with("57P0") || code == "25006"
            });
        if lost {
            Self::StorageUnavailable {
                backend: "postgres",
                reason,
            }
        } else {
            Self::Storage {
                backend: "postgres",
                reason,
            }
        }
    }

    /// The HTTP status the service answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed { .. } | Self::Signature { .. } | Self::Key { .. } => 400,
            Self::ClientKey { .. } => 400,
            Self::UnsupportedKind { .. } | Self::ProofRange { .. } => 400,
            Self::TooLarge { .. } => 413,
            Self::Duplicate { .. } => 409,
            Self::NotFound { .. } => 404,
            Self::Unavailable | Self::StorageUnavailable { .. } => 503,
            _ => 500,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    /// Every `Result` of the crate stays under clippy's `result_large_err` threshold (128
    /// bytes): other crates' errors are boxed.
    #[test]
    fn error_is_small() {
        assert!(
            std::mem::size_of::<super::Error>() < 128,
            "vouch_tlog::Error is {} bytes",
            std::mem::size_of::<super::Error>()
        );
    }
}
