//! Errors of `vouch-build`, grouped by who is at fault.

use std::path::{Path, PathBuf};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while building an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // The caller's input.
    /// A flag value is malformed.
    #[error("{flag} {value}: {reason}")]
    BadArgument {
        /// The flag (`--add`, `--env`, ...).
        flag: &'static str,
        /// What was given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A source file is neither a regular file, a directory nor a symlink.
    #[error("{}: only regular files, directories and symlinks go into a layer", path.display())]
    UnsupportedFile {
        /// The file.
        path: PathBuf,
    },
    /// A bound in [`crate::Limits`] was exceeded.
    #[error("{what}: more than {max} ({limit})")]
    Limit {
        /// What was being built.
        what: String,
        /// The `Limits` field.
        limit: &'static str,
        /// Its value.
        max: u64,
    },
    // This machine.
    /// Reading a source file failed.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    // The base image or the destination.
    /// The base image could not be read, or is not usable as a base.
    #[error("base image {base}: {source}")]
    Base {
        /// The base as given.
        base: String,
        /// The cause.
        source: Box<vouch_oci::Error>,
    },
    /// The base image is not usable (its config is inconsistent).
    #[error("base image {base}: {reason}")]
    BaseInvalid {
        /// The base as given.
        base: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing the image failed.
    #[error("writing {dest}: {source}")]
    Write {
        /// The destination.
        dest: String,
        /// The cause.
        source: Box<vouch_oci::Error>,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}
