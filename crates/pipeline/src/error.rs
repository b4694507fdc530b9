//! Errors of `vouch-pipeline` that stop a run before or between stages. A stage that runs
//! and fails is not an error: it is a [`crate::StageResult`] with status `failed`.

use std::path::PathBuf;

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What stopped the pipeline from running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // The user's configuration.
    /// `vouch.toml` (or the flags overriding it) is unusable.
    #[error("{source_name}: {reason}")]
    Config {
        /// The file, or `flags`.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    // This machine.
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An in-process service (registry, private instance) could not start.
    #[error("starting the {service}: {reason}")]
    Service {
        /// Which.
        service: &'static str,
        /// Why.
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

    pub(crate) fn config(source_name: impl Into<String>, reason: impl ToString) -> Self {
        Self::Config {
            source_name: source_name.into(),
            reason: reason.to_string(),
        }
    }
}
