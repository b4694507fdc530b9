//! The crate's one error type.

use crate::Scheme;

/// Why a version, an ecosystem name or an OSV range was rejected.
///
/// Every variant carries the offending input so a caller can report which record and
/// field was bad. Match on variants, not on the message text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The version string is empty.
    #[error("empty {scheme} version")]
    EmptyVersion {
        /// The ordering scheme the version was parsed for.
        scheme: Scheme,
    },
    /// The version string is longer than [`crate::MAX_VERSION_LEN`].
    #[error("{scheme} version is {len} bytes long, more than the limit of {max}")]
    VersionTooLong {
        /// The ordering scheme the version was parsed for.
        scheme: Scheme,
        /// Length of the input in bytes.
        len: usize,
        /// The limit ([`crate::MAX_VERSION_LEN`]).
        max: usize,
    },
    /// The version string does not follow the scheme's syntax.
    #[error("invalid {scheme} version {input:?}: {reason}")]
    InvalidVersion {
        /// The ordering scheme the version was parsed for.
        scheme: Scheme,
        /// The rejected input.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The OSV ecosystem name is not one whose version ordering this crate knows.
    #[error("unsupported ecosystem {input:?}")]
    UnsupportedEcosystem {
        /// The ecosystem string as found.
        input: String,
    },
    /// The OSV ecosystem string is malformed (for example an empty `:` suffix).
    #[error("invalid ecosystem {input:?}: {reason}")]
    InvalidEcosystem {
        /// The ecosystem string as found.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The range type is not `SEMVER` or `ECOSYSTEM` (`GIT` ranges need a repository).
    #[error("unsupported range type {kind:?}")]
    UnsupportedRangeType {
        /// The `type` field as found.
        kind: String,
    },
    /// An event object does not hold exactly one of `introduced`, `fixed`,
    /// `last_affected` and `limit`.
    #[error(
        "event {index} of the range holds {found} of introduced/fixed/last_affected/limit, not exactly one"
    )]
    MalformedEvent {
        /// Position of the event in the range's `events` array.
        index: usize,
        /// How many of the four fields it holds.
        found: usize,
    },
    /// The range has no `introduced` event.
    #[error("range has no introduced event")]
    MissingIntroduced,
    /// The range mixes `fixed` and `last_affected`, which the OSV schema forbids.
    #[error("range has both fixed ({fixed:?}) and last_affected ({last_affected:?}) events")]
    FixedAndLastAffected {
        /// The first `fixed` value.
        fixed: String,
        /// The first `last_affected` value.
        last_affected: String,
    },
    /// A version of one scheme was compared with a range or version of another.
    #[error("cannot compare a {found} version with {expected} versions")]
    SchemeMismatch {
        /// The scheme the range or version uses.
        expected: Scheme,
        /// The scheme of the version passed in.
        found: Scheme,
    },
}
