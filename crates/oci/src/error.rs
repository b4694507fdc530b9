//! The one error type of `vouch-oci`, grouped by who is at fault.

use std::path::PathBuf;

use crate::digest::{Digest, DigestError};
use crate::reference::ReferenceError;

/// Everything that can go wrong reading or writing images.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- the user's input ---
    /// An image reference that breaks the grammar.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// A digest that breaks the grammar.
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// A source/destination string (`oci:DIR`, `docker-archive:FILE`, …) that cannot be used.
    #[error("bad location {input:?}: {reason}")]
    BadLocation {
        /// What the user wrote.
        input: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A `--platform` value that is not `os/arch[/variant]`.
    #[error("bad platform {0:?}: expected os/arch[/variant], e.g. linux/amd64 or linux/arm/v7")]
    BadPlatform(String),
    /// The operation is not possible on this kind of location.
    #[error("{location}: {operation} is not supported by this kind of location")]
    Unsupported {
        /// The location.
        location: String,
        /// What was attempted.
        operation: &'static str,
    },

    // --- the registry, layout or archive ---
    /// The image, tag or blob does not exist.
    #[error("{what} not found in {location}: {detail}")]
    NotFound {
        /// What was looked for (reference, digest, tag).
        what: String,
        /// Where.
        location: String,
        /// The registry's own answer, or why it is missing.
        detail: String,
    },
    /// The registry refused our credentials (or we had none).
    #[error("{location}: access to {what} denied ({status}): {detail}")]
    Denied {
        /// The registry.
        location: String,
        /// What was asked for.
        what: String,
        /// 401 or 403.
        status: u16,
        /// The registry's own answer.
        detail: String,
    },
    /// The registry answered something else we cannot use.
    #[error("{location}: {what} failed with HTTP {status}: {detail}")]
    Registry {
        /// The registry.
        location: String,
        /// The request.
        what: String,
        /// The status.
        status: u16,
        /// The registry's own answer.
        detail: String,
    },
    /// Content whose media type vouch does not know how to handle.
    #[error("{what}: unsupported media type {media_type:?}")]
    UnsupportedMediaType {
        /// The manifest or layer.
        what: String,
        /// Its media type.
        media_type: String,
    },
    /// Content does not hash to the digest it was asked for by.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The blob or manifest.
        what: String,
        /// The digest it should have.
        expected: Digest,
        /// The digest it has.
        actual: Digest,
    },
    /// Content is not the size its descriptor says.
    #[error("{what}: size mismatch: descriptor says {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The blob.
        what: String,
        /// The descriptor's size.
        expected: u64,
        /// Bytes seen.
        actual: u64,
    },
    /// JSON or other structure that does not parse.
    #[error("{what}: malformed: {reason}")]
    Malformed {
        /// The document.
        what: String,
        /// The parser's complaint.
        reason: String,
    },
    /// An index has no manifest for the wanted platform.
    #[error("no manifest for platform {wanted} in {what} (available: {available})")]
    NoMatchingPlatform {
        /// The platform asked for.
        wanted: String,
        /// The index.
        what: String,
        /// What the index offers.
        available: String,
    },
    /// Content larger than vouch accepts (see [`crate::Limits`]).
    #[error("{what}: exceeds the {limit} limit of {max} (got {actual})")]
    Limit {
        /// The content.
        what: String,
        /// The limit's name.
        limit: &'static str,
        /// The limit.
        max: u64,
        /// What was seen.
        actual: u64,
    },

    // --- hostile or broken layers ---
    /// A tar entry whose path leaves the root (`..`).
    #[error("{layer}: entry {path:?} escapes the image root")]
    PathEscapes {
        /// The layer.
        layer: String,
        /// The entry's path.
        path: String,
    },
    /// A chain of links that does not end (cycle) or is too long.
    #[error("{layer}: link chain at {path:?} does not resolve (cycle or more than {max} hops)")]
    LinkLoop {
        /// The layer.
        layer: String,
        /// Where the chain starts.
        path: String,
        /// The hop limit.
        max: usize,
    },
    /// A hard link to something that is not in the image.
    #[error("{layer}: hard link {path:?} points to missing {target:?}")]
    DanglingHardLink {
        /// The layer.
        layer: String,
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// A layer that is not a readable (compressed) tar stream.
    #[error("{layer}: unreadable layer: {source}")]
    Layer {
        /// The layer.
        layer: String,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },

    // --- this machine ---
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The network failed under us.
    #[error(transparent)]
    Http(#[from] vouch_http::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// If an `io::Error` carries one of ours (a verifying reader's mismatch), unwrap it.
    pub(crate) fn from_stream(what: &str, e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Self>()) {
            if let Some(inner) = e.into_inner()
                && let Ok(ours) = inner.downcast::<Self>()
            {
                return *ours;
            }
            unreachable!("checked above")
        }
        Self::Layer {
            layer: what.into(),
            source: e,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
