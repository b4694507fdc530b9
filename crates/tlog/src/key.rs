//! The log's identity: its signing key, log ID and checkpoint origin.
//!
//! * Log ID = SHA-256 of the public key's DER SubjectPublicKeyInfo
//!   (`sigstore/rekor:pkg/sharding/ranges.go`).
//! * SignedEntryTimestamp = signature over RFC 8785 JSON of
//!   `{body, integratedTime, logID, logIndex}`, built by `vouch_sign::set_message`, the same
//!   function bundle verification uses.
//! * Checkpoints: signed notes with origin `"<host> - <tree id>"`, key name `<host>` and key
//!   hint = the first 4 bytes of the log ID (Rekor v1 flavour, `pkg/util/checkpoint.go`), for
//!   ECDSA P-256 and Ed25519 keys alike.
//! * Rekor v2 ([`LogKey::new_v2`], `sigstore/rekor-tiles:pkg/note/note.go`): origin = key name
//!   = the configured origin string; Ed25519 key hint per C2SP `signed-note.md`
//!   (`SHA-256(name || 0x0A || 0x01 || key)[:4]`) and log ID = that whole hash; ECDSA P-256
//!   hint and log ID = `SHA-256(SPKI DER)` (rekor-tiles' `ecdsaKeyHash`). No SETs.

use std::fmt;

use vouch_merkle::ed25519_dalek::pkcs8::DecodePrivateKey as _;
use vouch_merkle::{
    Checkpoint, EcdsaP256Signer, Ed25519Signer, Hash, KeyIdScheme, NoteSigner, NoteVerifier,
    SignedCheckpoint,
};
use vouch_sign::bundle::TlogEntry;
use vouch_sign::{KeyAlgorithm, SigningKey, VerifyingKey};

use crate::error::{Error, Result};

/// The log's signing key and the names derived from it.
pub struct LogKey {
    signing: SigningKey,
    /// The same P-256 key in ring (already linked through rustls), which signs several times
    /// faster than the pure-Rust curve: SETs are signed once per entry, inside the
    /// sequencer's transaction. `None` for Ed25519 keys (or a key ring cannot load).
    fast: Option<(ring::signature::EcdsaKeyPair, ring::rand::SystemRandom)>,
    public: VerifyingKey,
    log_id: [u8; 32],
    note: Box<dyn NoteSigner + Send + Sync>,
    host: String,
    /// Rekor v2 flavour: `host` is the whole origin, no SETs, C2SP key IDs.
    v2: bool,
}

impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogKey")
            .field("host", &self.host)
            .field("log_id", &hex::encode(self.log_id))
            .finish_non_exhaustive()
    }
}

impl LogKey {
    /// Loads a PKCS#8 PEM (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) key, ECDSA P-256 or
    /// Ed25519; `host` names the log in checkpoints.
    pub fn from_pem(pem: &str, host: &str) -> Result<Self> {
        let bad = |reason: String| Error::LogKey { reason };
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| bad(format!("not PEM: {e}")))?;
        let signing = match label {
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => SigningKey::from_sec1_der(&der),
            other => return Err(bad(format!("PEM label {other:?} is not PRIVATE KEY"))),
        }
        .map_err(|e| bad(e.to_string()))?;
        Self::new(signing, host)
    }

    /// A fresh key (tests, `vouch tlog serve --generate-key`).
    pub fn generate(algorithm: KeyAlgorithm, host: &str) -> Result<Self> {
        let signing = SigningKey::generate(algorithm).map_err(|e| Error::LogKey {
            reason: e.to_string(),
        })?;
        Self::new(signing, host)
    }

    /// Wraps a signing key (Rekor v1 flavour).
    pub fn new(signing: SigningKey, host: &str) -> Result<Self> {
        Self::build(signing, host, false)
    }

    /// A Rekor v2 (tlog-tiles) log key: checkpoints with origin and key name `origin`, C2SP
    /// key IDs, no SignedEntryTimestamps. `origin` must be a valid C2SP origin (no spaces, no
    /// `+`): rekor-tiles' `isValidName`.
    pub fn new_v2(signing: SigningKey, origin: &str) -> Result<Self> {
        if origin.is_empty() || origin.contains('+') || origin.chars().any(char::is_whitespace) {
            return Err(Error::LogKey {
                reason: format!(
                    "origin {origin:?} must be non-empty, without spaces or '+' (C2SP tlog-checkpoint)"
                ),
            });
        }
        Self::build(signing, origin, true)
    }

    /// [`LogKey::from_pem`] for a Rekor v2 log ([`LogKey::new_v2`]).
    pub fn from_pem_v2(pem: &str, origin: &str) -> Result<Self> {
        let v1 = Self::from_pem(pem, "unused")?;
        Self::new_v2(v1.signing, origin)
    }

    fn build(signing: SigningKey, host: &str, v2: bool) -> Result<Self> {
        let bad = |reason: String| Error::LogKey { reason };
        let pkcs8 = signing.to_pkcs8_der().map_err(|e| bad(e.to_string()))?;
        let note: Box<dyn NoteSigner + Send + Sync> = match signing.algorithm() {
            KeyAlgorithm::EcdsaP256 => {
                let key = vouch_merkle::p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8.as_bytes())
                    .map_err(|e| bad(e.to_string()))?;
                Box::new(EcdsaP256Signer::new(host, key)?)
            }
            KeyAlgorithm::Ed25519 => {
                let key = vouch_merkle::ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8.as_bytes())
                    .map_err(|e| bad(e.to_string()))?;
                let scheme = if v2 {
                    KeyIdScheme::C2sp
                } else {
                    KeyIdScheme::SpkiSha256
                };
                Box::new(Ed25519Signer::new(host, key, scheme)?)
            }
            other => {
                return Err(bad(format!(
                    "{other:?} keys cannot sign checkpoints (use ECDSA P-256 or Ed25519)"
                )));
            }
        };
        let fast = match signing.algorithm() {
            KeyAlgorithm::EcdsaP256 => {
                let rng = ring::rand::SystemRandom::new();
                ring::signature::EcdsaKeyPair::from_pkcs8(
                    &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    pkcs8.as_bytes(),
                    &rng,
                )
                .ok()
                .map(|pair| (pair, rng))
            }
            _ => None,
        };
        let public = signing.public_key();
        let log_id = if v2 && public.is_ed25519() {
            c2sp_ed25519_key_id(host, public.spki_der())
        } else {
            public.key_id()
        };
        Ok(Self {
            log_id,
            public,
            signing,
            fast,
            note,
            host: host.to_owned(),
            v2,
        })
    }

    /// Whether this is a Rekor v2 (tlog-tiles) key.
    pub fn is_v2(&self) -> bool {
        self.v2
    }

    /// The public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The log ID: SHA-256 of the public key's SubjectPublicKeyInfo DER; for a Rekor v2
    /// Ed25519 key the whole C2SP key ID hash (rekor-tiles' `note.KeyHash`).
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// The host name in checkpoints.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The checkpoint origin for a tree: `"<host> - <tree id>"` (v2: the origin as given).
    pub fn origin(&self, tree_id: u64) -> String {
        if self.v2 {
            return self.host.clone();
        }
        format!("{} - {tree_id}", self.host)
    }

    /// The verifier clients use for this log's checkpoints.
    pub fn note_verifier(&self) -> Result<NoteVerifier> {
        Ok(NoteVerifier::from_spki_der(
            &self.host,
            self.public.spki_der(),
            if self.v2 {
                KeyIdScheme::C2sp
            } else {
                KeyIdScheme::SpkiSha256
            },
        )?)
    }

    /// The SignedEntryTimestamp of an entry.
    ///
    /// ECDSA P-256 keys sign through ring (random nonces, as Rekor's Go signer); Ed25519
    /// (deterministic by definition) through `vouch-sign`.
    pub fn sign_set(&self, body: &[u8], integrated_time: u64, log_index: u64) -> Vec<u8> {
        if self.v2 {
            // Rekor v2 makes no promise: the inclusion proof is the receipt.
            return Vec::new();
        }
        let message =
            vouch_sign::set_message(&set_entry(body, integrated_time, log_index, &self.log_id));
        if let Some((pair, rng)) = &self.fast
            && let Ok(signature) = pair.sign(rng, &message)
        {
            return signature.as_ref().to_vec();
        }
        self.signing.sign_bytes(&message)
    }

    /// A signed checkpoint (signed-note text) for the tree of `size` leaves with `root`.
    pub fn sign_checkpoint(&self, tree_id: u64, size: u64, root: Hash) -> Result<String> {
        let checkpoint = Checkpoint::new(self.origin(tree_id), size, root)?;
        Ok(SignedCheckpoint::sign(checkpoint, self.note.as_ref())?.to_string())
    }
}

/// `SHA-256(name || "\n" || 0x01 || 32-byte Ed25519 key)`: the C2SP signed-note key ID
/// before truncation, which rekor-tiles uses as the log ID.
fn c2sp_ed25519_key_id(name: &str, spki_der: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    let raw = &spki_der[spki_der.len().saturating_sub(32)..];
    let mut sha = sha2::Sha256::new();
    sha.update(name.as_bytes());
    sha.update(b"\n");
    sha.update([0x01]);
    sha.update(raw);
    sha.finalize().into()
}

/// The fields of a bundle tlog entry that the SET covers (the rest is left empty).
pub(crate) fn set_entry(
    body: &[u8],
    integrated_time: u64,
    log_index: u64,
    log_id: &[u8],
) -> TlogEntry {
    TlogEntry {
        log_index,
        log_id: log_id.to_vec(),
        kind: String::new(),
        kind_version: String::new(),
        integrated_time,
        signed_entry_timestamp: None,
        inclusion_proof: None,
        canonicalized_body: body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P-256 logs sign SETs through ring, and the SETs verify as bundles' SETs do.
    #[test]
    fn p256_sets_are_signed_by_ring_and_verify() {
        let key = LogKey::generate(KeyAlgorithm::EcdsaP256, "log.test").expect("key");
        assert!(key.fast.is_some(), "ring loads the PKCS#8 key");
        let set = key.sign_set(b"{\"body\":1}", 1_700_000_000, 7);
        let message =
            vouch_sign::set_message(&set_entry(b"{\"body\":1}", 1_700_000_000, 7, &key.log_id));
        key.public_key()
            .verify("signed entry timestamp", &message, &set)
            .expect("SET verifies");
        let other =
            vouch_sign::set_message(&set_entry(b"{\"body\":1}", 1_700_000_000, 8, &key.log_id));
        assert!(
            key.public_key()
                .verify("signed entry timestamp", &other, &set)
                .is_err()
        );

        let ed = LogKey::generate(KeyAlgorithm::Ed25519, "log.test").expect("key");
        assert!(ed.fast.is_none());
        let set = ed.sign_set(b"{}", 1, 0);
        let message = vouch_sign::set_message(&set_entry(b"{}", 1, 0, &ed.log_id));
        ed.public_key()
            .verify("signed entry timestamp", &message, &set)
            .expect("Ed25519 SET verifies");
    }
}
