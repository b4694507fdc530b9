//! Inclusion proofs and signed checkpoints of bundle tlog entries, through `vouch-merkle`
//! (RFC 6962 / RFC 9162 proofs, C2SP signed notes), as sigstore-python's
//! `TransparencyLogEntry._verify` does: the leaf is the RFC 6962 hash of `canonicalizedBody`, the
//! proof must lead to `rootHash`, and the checkpoint, signed by the log's key from the trusted
//! root, must commit to that root at that tree size.

use vouch_merkle::{Hash, KeyIdScheme, NoteVerifier, SignedCheckpoint, leaf_hash};

use crate::bundle::{InclusionProof, TlogEntry};
use crate::error::{Error, Result};
use crate::trust_root::TransparencyLog;

/// Verifies `proof` for `entry` against a checkpoint signed by `log`.
pub(crate) fn verify_inclusion(
    entry: &TlogEntry,
    proof: &InclusionProof,
    log: &TransparencyLog,
) -> Result<()> {
    let merkle = |check: &'static str| move |source| Error::InclusionProof { check, source };
    let text = proof.checkpoint.as_deref().ok_or(Error::InvalidBundle {
        rule: "entry must contain inclusion proof, with checkpoint",
    })?;
    let signed = SignedCheckpoint::parse(text.as_bytes()).map_err(merkle("checkpoint syntax"))?;
    let key = log.key.as_ref().ok_or(Error::UntrustedLog {
        key_id: String::new(),
        at_time: false,
    })?;
    // Rekor v1 signs with key name = host name (origin minus " - <tree ID>") and the SPKI key
    // hint; Rekor v2 (Ed25519) with key name = origin and the C2SP key hint.
    let origin = signed.unverified_checkpoint().origin();
    let (key_name, scheme) = if key.is_ed25519() {
        (origin, KeyIdScheme::C2sp)
    } else {
        (
            origin.split(" - ").next().unwrap_or(origin),
            KeyIdScheme::SpkiSha256,
        )
    };
    let verifier = NoteVerifier::from_spki_der(key_name, key.spki_der(), scheme)
        .map_err(merkle("checkpoint key"))?;
    let checkpoint = signed
        .verify(&verifier)
        .map_err(merkle("checkpoint signature"))?;
    let root = Hash::from_slice(&proof.root_hash).map_err(merkle("root hash"))?;
    if checkpoint.root() != root || checkpoint.size() != proof.tree_size {
        return Err(Error::TlogBodyMismatch {
            field: "inclusionProof.rootHash (differs from the checkpoint)",
        });
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| Hash::from_slice(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(merkle("proof hashes"))?;
    let merkle_proof = vouch_merkle::InclusionProof::new(proof.log_index, proof.tree_size, hashes);
    checkpoint
        .verify_inclusion(&leaf_hash(&entry.canonicalized_body), &merkle_proof)
        .map_err(merkle("inclusion proof"))?;
    Ok(())
}
