//! A transparency log that speaks Rekor v1's REST API, for sites that cannot reach the public
//! Rekor: cosign, sigstore-python and vouch upload to it and verify its answers offline.
//!
//! * [`entry`]: proposed entries (`hashedrekord 0.0.1`, `dsse 0.0.1`, `intoto 0.0.2`) are
//!   verified with `vouch-sign`'s key and DSSE code and rewritten into Rekor's canonical bodies
//!   (RFC 8785, [`jcs`]); the entry UUID is the RFC 6962 leaf hash of the body.
//! * [`LogKey`]: log ID = SHA-256(SPKI DER); SignedEntryTimestamps over the JCS
//!   `{body, integratedTime, logID, logIndex}` (`vouch_sign::set_message`, the bytes verifiers
//!   rebuild); checkpoints with origin `"<host> - <tree id>"` (ECDSA P-256 or Ed25519).
//! * [`storage`]: one [`Storage`] trait, [`SqliteStorage`] (WAL, one file) and
//!   [`PostgresStorage`]; every perfect-subtree hash is stored, so proofs cost O(log n) reads.
//! * [`Log`]: a sequencer thread that integrates all waiting appends in one transaction and
//!   one fsync, acknowledging only after the commit; proofs and signed tree heads.
//! * [`server`]: the axum [`router`] (Rekor v1 paths, JSON errors, limits, `/metrics`).
//! * [`client`]: the blocking [`Client`], offline [`verify_entry`] and the [`Monitor`].
//! * [`v2`]: Rekor v2 (`sigstore/rekor-tiles`): `POST /api/v2/log/entries` and the C2SP
//!   tlog-tiles read API (`/checkpoint`, `/tile/...`) over the same [`Log`], with a
//!   [`LogKey::new_v2`] key; [`DirStorage`] writes the log as tile files for static serving.
//! * [`tls`]: HTTPS serving (`--tls-cert`/`--tls-key`) for this and vouch's other services.
//!
//! ```
//! use vouch_tlog::*;
//! use vouch_sign::{KeyAlgorithm, SigningKey};
//! use base64::Engine as _;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let storage = SqliteStorage::open(dir.path().join("log.db"))?;
//! let log = Log::start(Box::new(storage), LogKey::generate(KeyAlgorithm::EcdsaP256, "log.example")?, Limits::default())?;
//!
//! // A signer logs a signature over an artifact digest.
//! let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let artifact = b"hello";
//! let digest = vouch_sign::HashAlgorithm::Sha2_256.digest(artifact);
//! let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
//! let proposed = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
//!     "data": {"hash": {"algorithm": "sha256", "value": hex::encode(&digest)}},
//!     "signature": {"content": b64(&signer.sign_bytes(artifact)),
//!                   "publicKey": {"content": b64(signer.public_key().to_pem().as_bytes())}}}});
//! let canonical = canonicalize(&serde_json::to_vec(&proposed)?, log.limits())?;
//! let integrated = log.append_blocking(canonical)?;
//! assert_eq!(integrated.entry.index, 0);
//! assert_eq!(log.tree_head()?.size, 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod client;
pub mod entry;
mod error;
pub mod jcs;
mod key;
mod limits;
mod log;
pub mod server;
pub mod storage;
pub mod tls;
pub mod v2;
pub mod wire;

pub use client::{Client, Monitor, MonitorReport, SeenHead, verify_checkpoint, verify_entry};
pub use entry::{Canonical, canonicalize, canonicalize_value};
pub use error::{Error, Result};
pub use key::LogKey;
pub use limits::Limits;
pub use log::{Integrated, Log, Metrics, TreeHead};
pub use server::{AppState, router, serve, serve_tls};
pub use storage::{DirStorage, PostgresStorage, SqliteStorage, Storage, StoredEntry};
