//! Inclusion proofs and signed checkpoints of bundle tlog entries, through `vouch-merkle`
//! (RFC 6962 / RFC 9162 proofs, C2SP signed notes), as sigstore-python's
//! `TransparencyLogEntry._verify` does: the leaf is the RFC 6962 hash of `canonicalizedBody`, the
//! proof must lead to `rootHash`, and the checkpoint, signed by the log's key from the trusted
//! root, must commit to that root at that tree size.

use vouch_merkle::{Hash, KeyHint, KeyIdScheme, NoteVerifier, SignedCheckpoint, leaf_hash};

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
    // Also the hint Sigstore clients select by: the first 4 bytes of the trusted log ID
    // (`entry.log_id` equals the trusted root's, which selected `log`), with key name = origin
    // (C2SP) or host (Rekor v1): covers Rekor v2 logs with ECDSA keys.
    let log_id_hint = entry
        .log_id
        .first_chunk::<4>()
        .map(|four| KeyHint::new(*four));
    let mut verifiers: Vec<Result<NoteVerifier, vouch_merkle::Error>> = Vec::new();
    for (key_name, scheme) in forms {
        verifiers.push(NoteVerifier::from_spki_der(
            key_name,
            key.spki_der(),
            *scheme,
        ));
    }
    if let Some(hint) = log_id_hint {
        for key_name in [origin, host] {
            let verifier = NoteVerifier::from_spki_der(key_name, key.spki_der(), KeyIdScheme::C2sp)
                .map(|v| v.with_key_hint(hint));
            if verifiers
                .iter()
                .flatten()
                .all(|v| (v.key_name(), v.key_hint()) != (key_name, hint))
            {
                verifiers.push(verifier);
            }
        }
    }
    let mut first_error = None;
    let mut verified = None;
    for verifier in verifiers {
        let attempt = verifier.and_then(|verifier| signed.verify(&verifier));
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

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};
    use vouch_merkle::{Checkpoint, NoteSigner};

    use super::*;
    use crate::keys::VerifyingKey;
    use crate::trust_root::Validity;

    /// A Rekor v2 log with an ECDSA P-256 key: key name = origin, hint = the first 4 bytes of
    /// its log ID (a hash that is neither the SPKI hash nor the Ed25519 C2SP one).
    struct V2EcdsaLog {
        origin: String,
        hint: KeyHint,
        key: p256::ecdsa::SigningKey,
    }

    impl NoteSigner for V2EcdsaLog {
        fn key_name(&self) -> &str {
            &self.origin
        }
        fn key_hint(&self) -> KeyHint {
            self.hint
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, vouch_merkle::Error> {
            use p256::ecdsa::signature::Signer as _;
            let signature: p256::ecdsa::Signature = self.key.sign(message);
            Ok(signature.to_der().as_bytes().to_vec())
        }
    }

    fn verifying(key: &p256::ecdsa::SigningKey) -> VerifyingKey {
        use p256::pkcs8::EncodePublicKey as _;
        let der = key.verifying_key().to_public_key_der().expect("spki");
        VerifyingKey::from_spki_der(der.as_bytes()).expect("key")
    }

    #[test]
    fn ecdsa_rekor_v2_checkpoint_is_selected_by_the_log_id_hint() {
        let key = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).expect("key");
        let public = verifying(&key);
        let origin = "log2026-ecdsa.rekor.example";
        let log_id = Sha256::digest([origin.as_bytes(), b"\n\x02", public.spki_der()].concat());
        let hint = KeyHint::new([log_id[0], log_id[1], log_id[2], log_id[3]]);
        let body = b"{\"apiVersion\":\"0.0.2\"}".to_vec();
        let root = leaf_hash(&body);
        let checkpoint = Checkpoint::new(origin, 1, root).expect("checkpoint");
        let log = V2EcdsaLog {
            origin: origin.to_owned(),
            hint,
            key,
        };
        let text = SignedCheckpoint::sign(checkpoint, &log)
            .expect("sign")
            .as_str()
            .to_owned();
        let proof = InclusionProof {
            log_index: 0,
            root_hash: root.as_bytes().to_vec(),
            tree_size: 1,
            hashes: Vec::new(),
            checkpoint: Some(text),
        };
        let entry = TlogEntry {
            log_index: 0,
            log_id: log_id.to_vec(),
            kind: "hashedrekord".into(),
            kind_version: "0.0.2".into(),
            integrated_time: 0,
            signed_entry_timestamp: None,
            inclusion_proof: Some(proof.clone()),
            canonicalized_body: body,
        };
        let trusted = TransparencyLog {
            base_url: String::new(),
            log_id: log_id.to_vec(),
            key_details: "PKIX_ECDSA_P256_SHA_256".into(),
            key: Some(public),
            valid_for: Validity::default(),
        };
        verify_inclusion(&entry, &proof, &trusted).expect("verifies");

        // The same checkpoint signed by another ECDSA key under the same name and hint.
        let forged = V2EcdsaLog {
            origin: origin.to_owned(),
            hint,
            key: p256::ecdsa::SigningKey::from_slice(&[4u8; 32]).expect("key"),
        };
        let forged_text =
            SignedCheckpoint::sign(Checkpoint::new(origin, 1, root).expect("c"), &forged)
                .expect("sign")
                .as_str()
                .to_owned();
        let forged_proof = InclusionProof {
            checkpoint: Some(forged_text),
            ..proof
        };
        assert!(matches!(
            verify_inclusion(&entry, &forged_proof, &trusted),
            Err(Error::InclusionProof {
                check: "checkpoint signature",
                ..
            })
        ));
    }
}
