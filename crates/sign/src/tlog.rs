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
    // hint, whatever the key type (`sigstore/rekor:pkg/util/checkpoint.go`); Rekor v2 (Ed25519)
    // with key name = origin and the C2SP key hint (`signed-note.md`). An Ed25519 key may be
    // either (a vouch log or a Rekor v1 instance with an Ed25519 key signs the v1 way): both
    // forms are tried with the same trusted key, which alone decides whether a signature counts.
    let origin = signed.unverified_checkpoint().origin();
    let host = origin.split(" - ").next().unwrap_or(origin);
    let forms: &[(&str, KeyIdScheme)] = if key.is_ed25519() {
        &[(origin, KeyIdScheme::C2sp), (host, KeyIdScheme::SpkiSha256)]
    } else {
        &[(host, KeyIdScheme::SpkiSha256)]
    };
    let mut first_error = None;
    let mut verified = None;
    for (key_name, scheme) in forms {
        let attempt = NoteVerifier::from_spki_der(key_name, key.spki_der(), *scheme)
            .and_then(|verifier| signed.verify(&verifier));
        match attempt {
            Ok(c) => {
                verified = Some(c);
                break;
            }
            // Report a signature that matched but failed over "no signature by this key".
            Err(e) => {
                if first_error
                    .as_ref()
                    .is_none_or(|f| matches!(f, vouch_merkle::Error::NoKnownSignature { .. }))
                {
                    first_error = Some(e);
                }
            }
        }
    }
    let checkpoint = match (verified, first_error) {
        (Some(c), _) => c,
        (None, Some(e)) => return Err(merkle("checkpoint signature")(e)),
        (None, None) => {
            return Err(Error::InvalidBundle {
                rule: "checkpoint key",
            });
        }
    };
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
