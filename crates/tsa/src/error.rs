//! Errors of the timestamp authority's setup (key and certificates). Refused *requests* are not
//! errors: they are answered with an RFC 3161 rejection ([`crate::Rejection`]).

/// Why the authority could not be created, loaded or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file of the authority's directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Key or certificate material is unusable (bad PEM, wrong key, missing timeStamping EKU…).
    #[error("{what}: {reason}")]
    Material {
        /// Which material: `TSA certificate`, `TSA private key`, …
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// Encoding a certificate or structure failed (a bug or an unencodable value).
    #[error("encoding: {0}")]
    Encoding(String),
}

impl Error {
    pub(crate) fn encoding(e: impl std::fmt::Display) -> Self {
        Self::Encoding(e.to_string())
    }

    pub(crate) fn material(what: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Material {
            what,
            reason: reason.to_string(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
