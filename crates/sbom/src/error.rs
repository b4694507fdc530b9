//! Errors that stop an SBOM from being produced at all. Problems with single files are
//! not errors: they are [`crate::Warning`]s in the SBOM.

/// Why no SBOM could be produced, or a document could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image or directory could not be read.
    #[error(transparent)]
    Oci(#[from] vouch_oci::Error),
    /// A request vouch cannot carry out (unknown cataloger or format, odd layer type).
    #[error("{0}")]
    Unsupported(String),
    /// An SBOM document that is not SPDX 2.x, CycloneDX or vouch JSON, or is malformed.
    #[error("reading SBOM: {0}")]
    Decode(String),
    /// Writing output.
    #[error("writing SBOM: {0}")]
    Io(#[from] std::io::Error),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
