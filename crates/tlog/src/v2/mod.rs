//! Rekor v2: the write API of `sigstore/rekor-tiles` and the C2SP tlog-tiles read API, over
//! the same [`Log`] (sequencer, group commit, storage) as the v1 service. A server runs one
//! log of either kind: a [`LogKey::new_v2`] key makes [`crate::router`] serve this API.
//!
//! # Endpoints
//!
//! | Method, path | What |
//! |---|---|
//! | `POST /api/v2/log/entries` | a `CreateEntryRequest` (proto3 JSON: `hashedRekordRequestV002` or `dsseRequestV002`, [`request`]); answers `201` with the `TransparencyLogEntry` (`logIndex`, `logId.keyId`, `kindVersion`, `inclusionProof` with `checkpoint.envelope`, `canonicalizedBody`; no SET, no integrated time) once the entry is integrated and durable. The same entry again (same canonical body) answers `200` with the existing entry, a proof against the current checkpoint and `x-log-index` (rekor-tiles answers 409 with `x-log-index`). Malformed requests, bad signatures, key details that do not fit the key: `400`; bodies over the limit: `413`. |
//! | `GET /checkpoint` | the signed checkpoint (C2SP signed note; origin and key name = `--origin`), `text/plain; charset=utf-8`, `Cache-Control: no-cache` |
//! | `GET /tile/<L>/<N>[.p/<W>]` | hash tiles, `application/octet-stream`; full tiles `Cache-Control: public, max-age=31536000, immutable` |
//! | `GET /tile/entries/<N>[.p/<W>]` | entry bundles (big-endian `u16` length + canonical body, each) |
//! | `GET /api/v2/checkpoint`, `/api/v2/tile/...` | the same, at rekor-tiles' gRPC-gateway paths |
//! | `GET /healthz`, `/readyz`, `/metrics`, `/api/v2/log/publicKey` | as in v1 |
//!
//! Tiles and bundles outside the committed tree answer `404`; malformed tile paths `400`.
//!
//! # Key types
//!
//! As rekor-tiles' `AllowedClientSigningAlgorithms`: `keyDetails` `PKIX_ECDSA_P256_SHA_256`,
//! `PKIX_ECDSA_P384_SHA_384`, `PKIX_ECDSA_P521_SHA_512`, `PKIX_RSA_PKCS1V15_{2048,3072,4096}_SHA256`
//! and `PKIX_ED25519_PH` (Ed25519ph over the SHA-512 digest) for hashedrekords; the same with
//! `PKIX_ED25519` instead of `PKIX_ED25519_PH` for DSSE. The details must describe the key
//! (curve, RSA size); RSA-PSS, other curves and sizes, compressed EC points are refused.
//! ECDSA and RSA are verified with aws-lc-rs, Ed25519 with ed25519-dalek (`verify_strict`).
//!
//! # `vouch tlog serve --api v2` flags
//!
//! `--key` (Ed25519 PKCS#8 PEM recommended: C2SP key ID; ECDSA P-256 also accepted),
//! `--origin` (checkpoint origin and key name; default: `--hostname`), `--db` (`sqlite:PATH`,
//! `postgres://...`, or `dir:PATH` to write the tiles as files a static web server can serve),
//! `--batch-max-size` (entries per integration, default 1024) and `--batch-max-age` (ms to wait
//! for more entries under concurrent load, default 2), `--listen`, `--max-request-bytes`,
//! `--tls-cert`/`--tls-key`.
//!
//! # Embedding (`vouch instance serve`)
//!
//! ```
//! use vouch_tlog::{AppState, Limits, Log, LogKey, SqliteStorage};
//! use vouch_sign::{KeyAlgorithm, SigningKey};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let key = LogKey::new_v2(SigningKey::generate(KeyAlgorithm::Ed25519)?, "log.example")?;
//! let storage = Box::new(SqliteStorage::open(dir.path().join("log.db"))?);
//! let log = Log::start(storage, key, Limits::default())?;
//! let router = vouch_tlog::router(AppState::new(log, false)); // serves the v2 API
//! # drop(router); Ok(()) }
//! ```
//!
//! [`Log`]: crate::Log
//! [`LogKey::new_v2`]: crate::LogKey::new_v2

pub mod request;
mod server;
pub mod verify;

pub use request::{canonicalize_request, canonicalize_request_with};
pub use server::{TransparencyLogEntry, integrated_entry, router, transparency_log_entry};
