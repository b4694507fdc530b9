//! Producing bundles: `sign-blob` (message signature) and attestations (DSSE in-toto
//! statement) as Sigstore bundle v0.3, written once over the signing seam ([`Signer`]) for
//! keys, tokens, KMS keys and keyless certificates alike.
//!
//! What a signer cannot vouch for itself comes from [`Witnesses`]: the transparency log entry
//! ([`TransparencyLog`]) and RFC 3161 timestamps. A key is logged when the caller configured a
//! log (cosign uploads key signatures by default, `--tlog-upload=false` opts out); a
//! certificate signer must be ([`Signer::requires_log`]).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::pem::LineEnding;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, Content, MessageSignature, TlogEntry, VerificationMaterial};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::intoto::Statement;
use crate::keys::{HashAlgorithm, Signer, VerifyingKey};
use crate::oci::{ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_REKOR_BUNDLE};

/// A transparency log a signature is uploaded to, answering with the bundle's log entry
/// (inclusion proof, checkpoint and, on Rekor v1, the signed entry timestamp).
///
/// Implementations: `vouch_keyless::RekorLog` (Rekor v1 `POST /api/v1/log/entries`); a Rekor
/// v2 client (`hashedrekord`/`dsse` 0.0.2) is the second.
///
/// `signer` is who signed: the entry names its leaf certificate or public key as verifier
/// (Rekor v1 as PEM, [`verifier_pem`]; Rekor v2 as DER with its key details).
pub trait TransparencyLog {
    /// Logs a message signature (`hashedrekord`): the SHA-256 of the signed bytes and the
    /// signature.
    fn log_message_signature(
        &self,
        sha256: &[u8; 32],
        signature: &[u8],
        signer: &dyn Signer,
    ) -> Result<TlogEntry>;
    /// Logs a DSSE envelope (Rekor v1 `dsse`, Rekor v2 `hashedrekord` over its PAE).
    fn log_envelope(&self, envelope: &Envelope, signer: &dyn Signer) -> Result<TlogEntry>;
}

/// RFC 3161 timestamp authorities: every DER `TimeStampResp` the caller wants over the
/// signature bytes (one per configured authority).
pub type Timestamper<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<Vec<u8>>>;

/// A check run on every statement bundle before it is stored (keyless signing verifies each
/// against the instance's trusted root, so a misconfigured instance fails at signing).
pub type BundleCheck<'a> = &'a dyn Fn(&Bundle) -> Result<()>;

/// What vouches for a signature besides the signer. `Witnesses::default()`: nothing (a key
/// signature without log entry, verified with `--insecure-ignore-tlog` or vouch's default
/// for keys).
#[derive(Default, Clone, Copy)]
pub struct Witnesses<'a> {
    /// The log every signature is uploaded to.
    pub log: Option<&'a dyn TransparencyLog>,
    /// The timestamp authorities asked for timestamps over every bundle's signature.
    pub timestamper: Option<Timestamper<'a>>,
    /// Run on every statement bundle before it is stored.
    pub check: Option<BundleCheck<'a>>,
}

impl std::fmt::Debug for Witnesses<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witnesses")
            .field("log", &self.log.is_some())
            .field("timestamper", &self.timestamper.is_some())
            .field("check", &self.check.is_some())
            .finish()
    }
}

impl Witnesses<'_> {
    /// The log for `signer`'s signatures: the configured one, an error when the signer must be
    /// logged and none is, else none.
    fn log_for(&self, signer: &dyn Signer) -> Result<Option<&dyn TransparencyLog>> {
        match self.log {
            Some(log) => Ok(Some(log)),
            None if signer.requires_log() => Err(Error::Service {
                service: "transparency log",
                source: "certificate signatures must be logged and no log is configured".into(),
            }),
            None => Ok(None),
        }
    }

    fn timestamps(&self, signature: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.timestamper
            .map_or_else(|| Ok(Vec::new()), |tsa| tsa(signature))
    }
}

/// The `publicKey.hint` vouch writes: base64 of SHA-256 of the key's SubjectPublicKeyInfo DER
/// (sigstore-go's key hint).
pub fn public_key_hint(key: &VerifyingKey) -> String {
    B64.encode(key.key_id())
}

/// The bundle's `verificationMaterial` for `signer`: its leaf certificate, or its key's hint.
pub fn verification_material(signer: &dyn Signer) -> VerificationMaterial {
    match signer.certificate_chain().first() {
        Some(leaf) => VerificationMaterial::Certificate(leaf.clone()),
        None => VerificationMaterial::PublicKey {
            hint: public_key_hint(&signer.verifying_key()),
        },
    }
}

/// The verifier a log entry names (`publicKey.content` of a hashedrekord, `verifiers` of a
/// dsse entry, before base64): the leaf certificate PEM, or the `PUBLIC KEY` PEM.
pub fn verifier_pem(signer: &dyn Signer) -> String {
    match signer.certificate_chain().first() {
        Some(leaf) => pem("CERTIFICATE", leaf),
        None => signer.verifying_key().to_pem(),
    }
}

/// Standard PEM: base64 in 64-column lines, LF endings (Rekor compares the bytes clients
/// send, and Go's encoder writes exactly this).
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// Signs `artifact` into a v0.3 bundle with a `messageSignature` (digest SHA2_256), without
/// log entry or timestamp ([`sign_blob_with`] adds them).
pub fn sign_blob(artifact: &[u8], signer: &dyn Signer) -> Result<Bundle> {
    sign_blob_with(artifact, signer, &Witnesses::default())
}

/// Signs `artifact` into a v0.3 bundle with a `messageSignature`, logged as a `hashedrekord`
/// when `witnesses` has a log, timestamped when it has a timestamper.
pub fn sign_blob_with(
    artifact: &[u8],
    signer: &dyn Signer,
    witnesses: &Witnesses<'_>,
) -> Result<Bundle> {
    let (signature, entry) = sign_message(artifact, signer, witnesses)?;
    let content = Content::MessageSignature(MessageSignature {
        digest: Some((HashAlgorithm::Sha2_256, Sha256::digest(artifact).to_vec())),
        signature,
    });
    let mut bundle = Bundle::new_v0_3(
        verification_material(signer),
        entry.into_iter().collect(),
        content,
    );
    bundle.rfc3161_timestamps = witnesses.timestamps(bundle.content.signature())?;
    Ok(bundle)
}

/// Signs `message` and logs the signature (`hashedrekord`) if there is a log: the pieces of a
/// message-signature bundle or of a legacy signature layer.
pub fn sign_message(
    message: &[u8],
    signer: &dyn Signer,
    witnesses: &Witnesses<'_>,
) -> Result<(Vec<u8>, Option<TlogEntry>)> {
    let signature = signer.sign(message)?;
    let entry = match witnesses.log_for(signer)? {
        Some(log) => {
            Some(log.log_message_signature(&Sha256::digest(message).into(), &signature, signer)?)
        }
        None => None,
    };
    Ok((signature, entry))
}

/// Signs an in-toto statement into a v0.3 bundle with a `dsseEnvelope`, without log entry.
pub fn sign_statement(statement: &Statement, signer: &dyn Signer) -> Result<Bundle> {
    sign_statement_with(statement, signer, &Witnesses::default())
}

/// Signs an in-toto statement into a v0.3 bundle with a `dsseEnvelope`, logged as a `dsse`
/// entry when `witnesses` has a log; `witnesses.check` runs on the result.
pub fn sign_statement_with(
    statement: &Statement,
    signer: &dyn Signer,
    witnesses: &Witnesses<'_>,
) -> Result<Bundle> {
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_json(), signer)?;
    let entries = match witnesses.log_for(signer)? {
        Some(log) => vec![log.log_envelope(&envelope, signer)?],
        None => Vec::new(),
    };
    let mut bundle = Bundle::new_v0_3(
        verification_material(signer),
        entries,
        Content::DsseEnvelope(envelope),
    );
    bundle.rfc3161_timestamps = witnesses.timestamps(bundle.content.signature())?;
    if let Some(check) = witnesses.check {
        check(&bundle)?;
    }
    Ok(bundle)
}

/// cosign's layer annotations besides the signature (`sigstore/cosign:pkg/oci/static/
/// options.go`, `pkg/cosign/bundle/rekor.go`): for a certificate signer the leaf PEM and the
/// rest of the chain as concatenated PEM; for a logged signature the Rekor bundle
/// `{"SignedEntryTimestamp","Payload":{body,integratedTime,logIndex,logID}}` (a key-signed
/// cosign 2 signature with a log entry carries just that one).
pub fn legacy_annotations(
    signer: &dyn Signer,
    entry: Option<&TlogEntry>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some((leaf, rest)) = signer.certificate_chain().split_first() {
        out.insert(ANNOTATION_CERTIFICATE.to_owned(), pem("CERTIFICATE", leaf));
        let chain: String = rest.iter().map(|der| pem("CERTIFICATE", der)).collect();
        out.insert(ANNOTATION_CHAIN.to_owned(), chain);
    }
    if let Some(entry) = entry {
        // The Rekor bundle stands on the SET alone: a log that gave none (Rekor v2) has no
        // place in this legacy annotation.
        let set = entry
            .signed_entry_timestamp
            .as_ref()
            .ok_or(Error::MissingField {
                what: "transparency log entry",
                field: "signed entry timestamp (needed by cosign's legacy bundle annotation)",
            })?;
        let rekor_bundle = json!({
            "SignedEntryTimestamp": B64.encode(set),
            "Payload": {
                "body": B64.encode(&entry.canonicalized_body),
                "integratedTime": entry.integrated_time,
                "logIndex": entry.log_index,
                "logID": hex::encode(&entry.log_id),
            },
        });
        out.insert(ANNOTATION_REKOR_BUNDLE.to_owned(), rekor_bundle.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intoto::Subject;
    use crate::keys::{KeyAlgorithm, SigningKey};

    /// A key with a (never parsed) certificate chain: the seam must treat it as a certificate
    /// signer.
    struct Certified {
        key: SigningKey,
        chain: Vec<Vec<u8>>,
    }

    impl Signer for Certified {
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
            self.key.sign(message)
        }
        fn verifying_key(&self) -> VerifyingKey {
            self.key.public_key()
        }
        fn certificate_chain(&self) -> &[Vec<u8>] {
            &self.chain
        }
    }

    fn statement() -> Statement {
        Statement::new(
            vec![Subject::sha256("a", hex::encode([1u8; 32]))],
            "https://vouch.example/t",
            json!({}),
        )
    }

    #[test]
    fn certificate_signers_are_refused_without_a_log() {
        let signer = Certified {
            key: SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key"),
            chain: vec![b"leaf".to_vec(), b"ca".to_vec()],
        };
        assert!(signer.requires_log());
        let none = Witnesses::default();
        for outcome in [
            sign_blob_with(b"artifact", &signer, &none).map(|_| ()),
            sign_statement_with(&statement(), &signer, &none).map(|_| ()),
        ] {
            assert!(
                matches!(
                    outcome,
                    Err(Error::Service {
                        service: "transparency log",
                        ..
                    })
                ),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn keys_sign_without_a_log_and_a_refusing_check_stops_the_bundle() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        assert!(!key.requires_log());
        let bundle = sign_blob_with(b"artifact", &key, &Witnesses::default()).expect("sign");
        assert!(bundle.tlog_entries.is_empty());
        assert!(matches!(
            bundle.material,
            VerificationMaterial::PublicKey { ref hint } if *hint == public_key_hint(&key.public_key())
        ));
        let refuse = |_: &Bundle| -> Result<()> {
            Err(Error::InvalidBundle {
                rule: "refused by the check",
            })
        };
        let witnesses = Witnesses {
            check: Some(&refuse),
            ..Witnesses::default()
        };
        let outcome = sign_statement_with(&statement(), &key, &witnesses);
        assert!(
            matches!(
                outcome,
                Err(Error::InvalidBundle {
                    rule: "refused by the check"
                })
            ),
            "{outcome:?}"
        );
    }
}
