//! `vouch tlog verify|monitor --tiles`: audit a C2SP tlog-tiles log (Rekor v2, Tessera, any
//! static mirror of one) from its read API alone: `GET <url>/checkpoint` and
//! `GET <url>/tile/<L>/<N>[.p/<W>]` (`C2SP/C2SP:tlog-tiles.md`). There is no proof endpoint:
//! consistency between the recorded checkpoint and the current one is proved from hash tiles
//! (`vouch_merkle::tiles::TileNodes`), and the proof, not the tiles, is what is trusted: it must
//! lead to both signed roots.
//!
//! The checkpoint is a C2SP signed note (`C2SP/C2SP:signed-note.md`) whose key name is the
//! log's origin: an Ed25519 key is identified by the C2SP key ID (SHA-256 of name, newline,
//! 0x01 and the key), an ECDSA key by the first 4 bytes of SHA-256 of its SPKI (Rekor v2 with
//! ECDSA, as sigstore-python selects it). `--origin` pins the origin; without it the
//! checkpoint's own origin line names the key (the signature then still has to verify under
//! it, and the monitor state refuses a later change of origin).

use std::io::Read as _;
use std::path::Path;

use vouch_merkle::tiles::{TileId, TileNodes};
use vouch_merkle::{KeyIdScheme, NoteVerifier, SignedCheckpoint, VerifiedCheckpoint};
use vouch_sign::VerifyingKey;
use vouch_tlog::{MonitorReport, SeenHead};

/// Largest checkpoint read (C2SP: a note is a few hundred bytes; extension lines add a few).
const MAX_CHECKPOINT_BYTES: u64 = 64 * 1024;
/// A full hash tile: 256 hashes of 32 bytes.
const MAX_TILE_BYTES: u64 = 256 * 32;

/// Why a tile-log audit failed.
#[derive(Debug)]
pub(crate) enum TileFailure {
    /// The log misbehaved: a checkpoint that does not verify, a rollback, a fork, a proof
    /// from its tiles that does not lead to its signed roots (exit 3).
    Misbehaviour(String),
    /// Anything else: unreachable, unreadable state (exit 1).
    Other(anyhow::Error),
}

impl From<anyhow::Error> for TileFailure {
    fn from(e: anyhow::Error) -> Self {
        Self::Other(e)
    }
}

/// A tile log at `base`, trusted through `key`.
pub(crate) struct TileLog {
    base: String,
    http: vouch_http::Client,
    key: VerifyingKey,
    origin: Option<String>,
}

impl TileLog {
    pub(crate) fn new(
        url: &str,
        http: vouch_http::Client,
        key: VerifyingKey,
        origin: Option<String>,
    ) -> Self {
        Self {
            base: url.trim_end_matches('/').to_owned(),
            http,
            key,
            origin,
        }
    }

    fn get(&self, path: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}/{path}", self.base);
        let what = format!("GET {url}");
        let response = self.http.send(&what, |agent| agent.get(&url).call())?;
        let status = response.status().as_u16();
        anyhow::ensure!(status == 200, "{what}: HTTP {status}");
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(limit + 1)
            .read_to_end(&mut body)?;
        anyhow::ensure!(
            body.len() as u64 <= limit,
            "{what}: more than {limit} bytes"
        );
        Ok(body)
    }

    /// Verifies a signed checkpoint with the log's key under its origin.
    fn verify(&self, text: &[u8]) -> Result<VerifiedCheckpoint, TileFailure> {
        let bad = |e: String| TileFailure::Misbehaviour(format!("checkpoint: {e}"));
        let signed = SignedCheckpoint::parse(text).map_err(|e| bad(e.to_string()))?;
        let origin = signed.unverified_checkpoint().origin().to_owned();
        if let Some(expected) = &self.origin
            && *expected != origin
        {
            return Err(bad(format!(
                "origin {origin:?} is not --origin {expected:?}"
            )));
        }
        let scheme = if self.key.is_ed25519() {
            KeyIdScheme::C2sp
        } else {
            KeyIdScheme::SpkiSha256
        };
        let verifier = NoteVerifier::from_spki_der(&origin, self.key.spki_der(), scheme)
            .map_err(|e| TileFailure::Other(anyhow::anyhow!("--public-key: {e}")))?;
        signed.verify(&verifier).map_err(|e| bad(e.to_string()))
    }

    /// One audit round: fetch and verify the checkpoint; with `state`, compare with the one
    /// recorded there (origin, no rollback, no second root for a size), prove consistency
    /// from tiles, then record the new one. Misbehaviour leaves the state file unchanged.
    pub(crate) fn check(&self, state: Option<&Path>) -> Result<MonitorReport, TileFailure> {
        let text = self.get("checkpoint", MAX_CHECKPOINT_BYTES)?;
        let current = self.verify(&text)?;
        let text = String::from_utf8(text)
            .map_err(|_| TileFailure::Misbehaviour("checkpoint is not UTF-8".into()))?;
        let previous: Option<SeenHead> = match state {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
                    TileFailure::Other(anyhow::anyhow!("state {}: {e}", path.display()))
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(TileFailure::Other(anyhow::anyhow!(
                        "state {}: {e}",
                        path.display()
                    )));
                }
            },
            None => None,
        };
        let mut consistency_verified = false;
        if let Some(prev) = &previous {
            let old = self.verify(prev.checkpoint.as_bytes())?;
            let fork = |what: &str| {
                TileFailure::Misbehaviour(format!(
                    "{what}: previously verified checkpoint\n{}\ncurrent checkpoint\n{text}",
                    prev.checkpoint
                ))
            };
            if old.origin() != current.origin() {
                return Err(fork("the log's origin changed"));
            }
            if current.size() < old.size() {
                return Err(fork("ROLLBACK: the tree shrank"));
            }
            if current.size() == old.size() && current.root() != old.root() {
                return Err(fork("FORK: two different roots signed for the same size"));
            }
            if current.size() > old.size() && old.size() > 0 {
                let fetch = |tile: &TileId| -> Result<Vec<u8>, vouch_merkle::Error> {
                    self.get(&tile.path(), MAX_TILE_BYTES).map_err(|e| {
                        vouch_merkle::Error::TilePath {
                            path: tile.path(),
                            reason: e.to_string(),
                        }
                    })
                };
                let nodes = TileNodes::new(current.size(), fetch);
                let proof = vouch_merkle::prove_consistency(&nodes, old.size(), current.size())
                    .map_err(|e| match e {
                        vouch_merkle::Error::TilePath { path, reason } => {
                            TileFailure::Other(anyhow::anyhow!("tile {path}: {reason}"))
                        }
                        other => TileFailure::Misbehaviour(format!(
                            "consistency proof from tiles: {other}"
                        )),
                    })?;
                old.verify_consistency(&current, &proof).map_err(|e| {
                    TileFailure::Misbehaviour(format!(
                        "FORK: the current tree does not extend the one seen before: \
                         previously verified checkpoint\n{}\ncurrent checkpoint\n{text}\n\
                         proof from tiles: {e}",
                        prev.checkpoint
                    ))
                })?;
                consistency_verified = true;
            }
        }
        let head = SeenHead {
            origin: current.origin().to_owned(),
            size: current.size(),
            root: current.root().to_hex(),
            checkpoint: text,
        };
        if let Some(path) = state {
            let save = || -> anyhow::Result<()> {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, serde_json::to_vec_pretty(&head)?)?;
                std::fs::rename(&tmp, path)?;
                Ok(())
            };
            save().map_err(|e| anyhow::anyhow!("state {}: {e}", path.display()))?;
        }
        Ok(MonitorReport {
            current: head,
            previous,
            consistency_verified,
        })
    }
}
