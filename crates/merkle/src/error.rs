//! The crate's one error type.

use std::fmt;

use crate::{Hash, KeyHint};

/// Everything that can go wrong in this crate, grouped by who is at fault.
///
/// Variants name the check that failed and carry the values it compared, so callers (and
/// tests) match on variants, never on message text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Bad input: the caller or a peer handed over something malformed. ---
    /// A byte string that should be a SHA-256 hash has the wrong length.
    #[error("a hash must be 32 bytes, found {found}")]
    HashLength {
        /// Length of the rejected input.
        found: usize,
    },
    /// A hex string that should be a SHA-256 hash is not 64 hex digits.
    #[error("a hash must be 64 hex digits, found {len} characters that do not decode")]
    HashHex {
        /// Length of the rejected input.
        len: usize,
    },
    /// A tlog-tiles path (`tile/<L>/<N>[.p/<W>]`) is not well formed.
    #[error("tile path {path:?}: {reason}")]
    TilePath {
        /// The path (at most 128 characters of it).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An entry does not fit an entry bundle's 16-bit length prefix.
    #[error("an entry of {len} bytes does not fit a tlog-tiles entry bundle (at most 65535)")]
    EntryTooLarge {
        /// The entry's length.
        len: usize,
    },
    /// An entry bundle does not parse as length-prefixed entries.
    #[error("entry bundle: {reason}")]
    Bundle {
        /// What is wrong.
        reason: String,
    },
    /// A leaf index is not inside the tree it is claimed to be in.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Zero-based leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof was asked for from a bigger tree to a smaller one.
    #[error("no consistency proof from tree size {old_size} to the smaller size {new_size}")]
    SizeOrder {
        /// Size of the earlier tree.
        old_size: u64,
        /// Size of the later tree.
        new_size: u64,
    },
    /// A proof does not have the number of hashes that its index and sizes dictate.
    #[error("{kind} proof has {found} hashes, expected {expected}")]
    ProofLength {
        /// Which kind of proof.
        kind: ProofKind,
        /// Length dictated by RFC 9162 for these sizes.
        expected: usize,
        /// Length received.
        found: usize,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full")]
    TreeFull,
    /// A signed note is longer than [`NoteLimits::max_bytes`](crate::NoteLimits::max_bytes).
    #[error("signed note is {size} bytes, more than the limit of {limit}")]
    NoteTooLarge {
        /// Size of the input.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A signed note has more signature lines than
    /// [`NoteLimits::max_signatures`](crate::NoteLimits::max_signatures).
    #[error("signed note has more than {limit} signatures")]
    TooManySignatures {
        /// The limit in force.
        limit: usize,
    },
    /// A checkpoint has more extension lines than
    /// [`NoteLimits::max_extension_lines`](crate::NoteLimits::max_extension_lines).
    #[error("checkpoint has more than {limit} extension lines")]
    TooManyExtensions {
        /// The limit in force.
        limit: usize,
    },
    /// The text does not follow the signed-note or checkpoint grammar.
    #[error("malformed signed note at line {line}: {syntax}")]
    Syntax {
        /// One-based line number in the whole text (0 for a value built in code).
        line: usize,
        /// The rule that was broken.
        syntax: Syntax,
    },
    /// A key name is empty or holds a space or `+` (C2SP signed-note, "Format").
    #[error("invalid key name {name:?}")]
    InvalidKeyName {
        /// The rejected name.
        name: String,
    },
    /// A public key is of an algorithm that checkpoints are not signed with here.
    #[error("unsupported public key algorithm {oid}")]
    UnsupportedKeyAlgorithm {
        /// The algorithm OID from the SubjectPublicKeyInfo, dotted.
        oid: String,
    },
    /// A public key does not decode.
    #[error("invalid {algorithm} public key")]
    InvalidPublicKey {
        /// The algorithm the key claimed to be.
        algorithm: KeyAlgorithm,
    },

    // --- Storage: the node source did not deliver. ---
    /// A [`NodeSource`](crate::NodeSource) returned a different number of hashes than asked for.
    #[error("node source returned {found} hashes for {expected} requested nodes")]
    NodeCount {
        /// Number of nodes requested.
        expected: usize,
        /// Number of hashes returned.
        found: usize,
    },
    /// A node that must exist for the requested tree size is not stored.
    #[error("node at level {level}, index {index} is not stored")]
    MissingNode {
        /// Level above the leaves (0 = leaf).
        level: u8,
        /// Index of the node within its level.
        index: u64,
    },
    /// The storage behind a [`NodeSource`](crate::NodeSource) failed.
    #[error("node storage failed")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),

    // --- Verification failed: the evidence does not hold. ---
    /// An inclusion proof leads to a different root than the trusted one.
    #[error(
        "inclusion proof for leaf {index} in tree size {size} gives root {computed}, expected {expected}"
    )]
    InclusionRoot {
        /// Zero-based leaf index.
        index: u64,
        /// Tree size.
        size: u64,
        /// The trusted root.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// A consistency proof does not reproduce the trusted root of the earlier tree.
    #[error(
        "consistency proof {old_size}->{new_size} gives old root {computed}, expected {expected}"
    )]
    ConsistencyOldRoot {
        /// Size of the earlier tree.
        old_size: u64,
        /// Size of the later tree.
        new_size: u64,
        /// The trusted root of the earlier tree.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// A consistency proof does not reproduce the trusted root of the later tree.
    #[error(
        "consistency proof {old_size}->{new_size} gives new root {computed}, expected {expected}"
    )]
    ConsistencyNewRoot {
        /// Size of the earlier tree.
        old_size: u64,
        /// Size of the later tree.
        new_size: u64,
        /// The trusted root of the later tree.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// Two trees of the same size have different roots: the log forked or was rewritten.
    #[error("two roots for tree size {size}: {old_root} and {new_root}")]
    RootsDiffer {
        /// The common size.
        size: u64,
        /// Root of the earlier view.
        old_root: Hash,
        /// Root of the later view.
        new_root: Hash,
    },
    /// A proof is for a different tree size than the checkpoint it is checked against.
    #[error("proof is for tree size {proof_size}, checkpoint has size {checkpoint_size}")]
    ProofSizeMismatch {
        /// Size in the verified checkpoint.
        checkpoint_size: u64,
        /// Size the proof was made for.
        proof_size: u64,
    },
    /// No signature line carries the trusted key's name and key hint.
    #[error("no signature by key {key_name} ({key_hint})")]
    NoKnownSignature {
        /// Name of the trusted key.
        key_name: String,
        /// Key hint of the trusted key.
        key_hint: KeyHint,
    },
    /// A signature line names the trusted key but its signature does not verify.
    #[error("signature by key {key_name} ({key_hint}) does not verify")]
    BadSignature {
        /// Name of the trusted key.
        key_name: String,
        /// Key hint of the trusted key.
        key_hint: KeyHint,
    },
    /// A verified checkpoint comes from another log than the one expected.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller trusts.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },

    // --- Signing ---
    /// A [`NoteSigner`](crate::NoteSigner) failed.
    #[error("signing the note failed")]
    Signing(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Which kind of Merkle proof an [`Error::ProofLength`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofKind {
    /// RFC 9162 section 2.1.3.
    Inclusion,
    /// RFC 9162 section 2.1.4.
    Consistency,
}

impl fmt::Display for ProofKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inclusion => "inclusion",
            Self::Consistency => "consistency",
        })
    }
}

/// Public-key algorithms that sign checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA over NIST P-256 with SHA-256 (Rekor v1 logs).
    EcdsaP256,
    /// Ed25519 (Rekor v2 and C2SP logs).
    Ed25519,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EcdsaP256 => "ECDSA P-256",
            Self::Ed25519 => "Ed25519",
        })
    }
}

/// The grammar rule a signed note or checkpoint broke ([`Error::Syntax`]).
///
/// Rules come from C2SP `signed-note.md` ("Format") and `tlog-checkpoint.md` ("Note text").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Syntax {
    /// The text is not UTF-8.
    NotUtf8,
    /// The text holds an ASCII control character other than newline.
    ControlCharacter,
    /// No blank line separates the note text from the signatures.
    MissingSeparator,
    /// Nothing follows the blank line.
    NoSignatures,
    /// The last signature line does not end in a newline.
    MissingFinalNewline,
    /// A signature line does not start with an em dash (U+2014) and a space.
    SignaturePrefix,
    /// A signature line's key name is empty or holds a space or `+`.
    KeyName,
    /// A signature line's signature is not canonical standard base64.
    SignatureBase64,
    /// A decoded signature is shorter than a 4-byte key hint plus one byte.
    SignatureTooShort,
    /// The checkpoint body has fewer than three lines.
    TooFewLines,
    /// The origin line is empty.
    EmptyOrigin,
    /// The tree size is not a canonical decimal `u64` (no sign, no leading zero).
    TreeSize,
    /// The root hash is not canonical standard base64 of 32 bytes.
    RootHash,
    /// An extension line is empty.
    EmptyExtension,
    /// A line built in code holds a newline.
    Newline,
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotUtf8 => "not UTF-8",
            Self::ControlCharacter => "control character other than newline",
            Self::MissingSeparator => "no blank line before the signatures",
            Self::NoSignatures => "no signature lines",
            Self::MissingFinalNewline => "signature line does not end in a newline",
            Self::SignaturePrefix => "signature line does not start with an em dash and a space",
            Self::KeyName => "key name is empty or holds a space or '+'",
            Self::SignatureBase64 => "signature is not canonical standard base64",
            Self::SignatureTooShort => "signature shorter than a key hint plus one byte",
            Self::TooFewLines => "checkpoint needs origin, size and root hash lines",
            Self::EmptyOrigin => "empty origin",
            Self::TreeSize => "tree size is not a canonical decimal number",
            Self::RootHash => "root hash is not base64 of 32 bytes",
            Self::EmptyExtension => "empty extension line",
            Self::Newline => "line holds a newline",
        })
    }
}
