//! Merkle trees and signed checkpoints of append-only transparency logs, as Rekor and the
//! C2SP specifications define them. Pure: no I/O, no clock.
//!
//! **Hashing** (RFC 6962 section 2.1, RFC 9162 section 2.1.1): [`leaf_hash`] is
//! `SHA-256(0x00 || data)`, [`node_hash`] is `SHA-256(0x01 || left || right)`, and the root of
//! `n` leaves splits at the largest power of two below `n` ([`root_from_leaf_hashes`]); the
//! empty tree's root is [`EMPTY_ROOT`]. A [`Hash`](struct@Hash) is 32 bytes.
//!
//! **Storage model.** Every tree is a sequence of perfect subtrees, addressed by [`NodeId`]
//! (`level`, `index`). A log keeps a [`Frontier`] (the right edge: one hash per set bit of the
//! size) to append leaves and compute the new root in O(log n), and stores each perfect
//! subtree hash that [`Frontier::append`] reports. Any root or proof for any earlier size then
//! needs O(log n) node reads: [`ProofPlan`] names them (pure, for async or batched storage),
//! [`NodeSource`] fetches them synchronously, and [`MemoryTree`] keeps them all in memory.
//!
//! **Proofs.** [`prove_inclusion`] / [`prove_consistency`] build an [`InclusionProof`]
//! (RFC 6962 section 2.1.1, `PATH`) or a [`ConsistencyProof`] (RFC 9162 section 2.1.4.1,
//! `SUBPROOF`); their `verify` methods run RFC 9162 sections 2.1.3.2 and 2.1.4.2 and return
//! evidence, [`VerifiedInclusion`] or [`VerifiedConsistency`], never a bool.
//!
//! **Checkpoints** (C2SP `signed-note.md` and `tlog-checkpoint.md`; Rekor
//! `pkg/util/checkpoint.go`): a [`Checkpoint`] is `<origin>\n<size>\n<base64 root>\n` plus
//! extension lines; a [`SignedCheckpoint`] adds a blank line and lines
//! `— <key name> <base64(key hint || signature)>`, keeps the exact text it was parsed from
//! (parsing is strict and bounded by [`NoteLimits`]), and [`SignedCheckpoint::verify`] with a
//! trusted [`NoteVerifier`] (ECDSA P-256 or Ed25519) yields a [`VerifiedCheckpoint`], against
//! which inclusion and consistency proofs are then checked. A log signs with a [`NoteSigner`]
//! ([`EcdsaP256Signer`], [`Ed25519Signer`]). [`KeyHint`] and [`KeyIdScheme`] cover the two
//! key-hint conventions: `SHA-256(SPKI)[:4]` (Rekor v1) and C2SP's hash of name and key
//! (Rekor v2).
//!
//! **Tiles** (C2SP `tlog-tiles.md`, [`tiles`]): a tile at level `L` holds the node hashes at
//! height `8L`, so a log that stores every perfect subtree serves any tile; [`TileId`] parses
//! and writes `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, and
//! [`tiles::TileNodes`] is a [`NodeSource`] over fetched tiles, so a client proves inclusion
//! and consistency from a tile log with [`prove_inclusion`] / [`prove_consistency`].
//!
//! Every failure is an [`Error`] variant naming the check and carrying the values compared.
//!
//! ```
//! use vouch_merkle::*;
//!
//! // The log: append, sign a checkpoint, prove an entry.
//! let mut tree = MemoryTree::new();
//! for entry in [&b"first"[..], b"second", b"third"] {
//!     tree.push(leaf_hash(entry));
//! }
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let signer = Ed25519Signer::new("example.com/log", key, KeyIdScheme::C2sp)?;
//! let checkpoint = Checkpoint::new("example.com/log", tree.size(), tree.root())?;
//! let text = SignedCheckpoint::sign(checkpoint, &signer)?.to_string();
//! let proof = tree.inclusion_proof(1, tree.size())?;
//!
//! // A client: trust the key, verify the checkpoint, then the proof against it.
//! let verifier = signer.verifier();
//! let verified = SignedCheckpoint::parse(text.as_bytes())?
//!     .verify(&verifier)?
//!     .expect_origin("example.com/log")?;
//! let included = verified.verify_inclusion(&leaf_hash(b"second"), &proof)?;
//! assert_eq!(included.index(), 1);
//! # Ok::<(), vouch_merkle::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checkpoint;
mod error;
mod hash;
mod keys;
mod note;
mod prove;
pub mod tiles;
mod tree;
mod verify;

pub use checkpoint::{Checkpoint, SignedCheckpoint, VerifiedCheckpoint};
pub use error::{Error, KeyAlgorithm, ProofKind, Syntax};
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use keys::{EcdsaP256Signer, Ed25519Signer, KeyIdScheme, NoteSigner, NoteVerifier};
pub use note::{KeyHint, NoteLimits, NoteSignature, SignedNote};
pub use prove::{MemoryTree, NodeSource, ProofPlan, prove_consistency, prove_inclusion, root_at};
pub use tiles::TileId;
pub use tree::{Frontier, NodeId, root_from_leaf_hashes};
pub use verify::{ConsistencyProof, InclusionProof, VerifiedConsistency, VerifiedInclusion};

/// The crypto crates whose key types appear in this API ([`NoteVerifier::ecdsa_p256`],
/// [`Ed25519Signer::new`]), re-exported so callers use the same versions.
pub use {ed25519_dalek, p256};
