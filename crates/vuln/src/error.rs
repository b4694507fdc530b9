//! The crate's one error type.

use std::path::PathBuf;

/// Why an import, a database operation or a scan failed.
///
/// Grouped by cause: the user's input (database missing or corrupt, unreadable SBOM,
/// bad ignore/VEX file), a remote peer (download), and local I/O. Malformed OSV *records*
/// are not errors: an import reports them as [`crate::ImportIssue`]s and goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No database file exists at the path.
    #[error(
        "no vulnerability database at {path}; import OSV advisories first: \
         `vouch db import <FILE|DIR|all.zip|URL>` (or pass --db / VOUCH_DB)"
    )]
    DatabaseMissing {
        /// Where the database was looked for.
        path: PathBuf,
    },
    /// The file exists but is not a vouch vulnerability database (or is damaged).
    #[error(
        "{path} is not a usable vulnerability database ({reason}); delete it and re-import: \
         `vouch db import <FILE|DIR|all.zip|URL>`"
    )]
    DatabaseCorrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite or the schema check said.
        reason: String,
    },
    /// An SQLite operation failed on a database that opened fine.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An import source is neither an OSV file, a directory, a zip archive nor a URL.
    #[error(
        "{path}: not an OSV source (expected a .json/.yaml file, a directory, a .zip or an http(s) URL)"
    )]
    UnknownSource {
        /// The argument as given.
        path: String,
    },
    /// A zip archive could not be read.
    #[error("{path}: bad zip archive: {source}")]
    Zip {
        /// The archive.
        path: String,
        /// The zip reader's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// Something is larger than the [`crate::Limits`] allow.
    #[error("{what} is larger than the limit of {limit} {unit}")]
    TooLarge {
        /// What was too large (a file, an archive entry, a download).
        what: String,
        /// The limit.
        limit: u64,
        /// Unit of the limit (`bytes`, `entries`, `packages`).
        unit: &'static str,
    },
    /// A download failed at the transport level.
    #[error("downloading {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: vouch_http::Error,
    },
    /// A plain-HTTP URL names a host that is neither loopback nor named insecure.
    #[error(
        "{url}: plain HTTP is only used for loopback hosts and hosts named with --insecure-registry; use https://"
    )]
    PlainHttp {
        /// The URL.
        url: String,
    },
    /// A download was answered with a non-success status.
    #[error("downloading {url}: server answered HTTP {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A thread of an import stopped without finishing its part (it panicked); nothing was
    /// committed.
    #[error("import: the {what} thread stopped unexpectedly; the database was not changed")]
    ImportThread {
        /// Which thread: `reader`, `decoder` or `writer`.
        what: &'static str,
    },
    /// An SBOM or package list could not be understood.
    #[error("{path}: {reason}")]
    BadSbom {
        /// The SBOM file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An ignore-rules or OpenVEX file could not be understood.
    #[error("{path}: {field}: {reason}")]
    BadPolicyFile {
        /// The file.
        path: String,
        /// Which field (`ignore[2].expires`, `statements[0].status`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
