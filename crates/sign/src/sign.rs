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

use crate::bundle::{Bundle, Content, MessageSignature, TlogEntry, VerificationMaterial};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::intoto::Statement;
use crate::keys::{HashAlgorithm, SignatureScheme, Signer, VerifyingKey};
use crate::oci::{ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_REKOR_BUNDLE};

/// A transparency log a signature is uploaded to, answering with the bundle's log entry
/// (inclusion proof, checkpoint and, on Rekor v1, the signed entry timestamp).
///
/// Implementations: `vouch_keyless::RekorLog` (Rekor v1 `POST /api/v1/log/entries`) and the
/// Rekor v2 client of `vouch_keyless` (`hashedrekord` 0.0.2).
///
/// `signer` is who signed: the entry names its leaf certificate or public key as verifier
/// (Rekor v1 as PEM, [`verifier_pem`]; Rekor v2 as DER with its key details).
pub trait TransparencyLog: std::fmt::Debug {
    /// Whether the log signs no time of its own (Rekor v2: no signed entry timestamp, no
    /// integrated time), so a signature logged there needs an RFC 3161 timestamp to be
    /// verifiable (`sigstore/architecture-docs:rekor-v2-spec.md`; sigstore-go's verifier
    /// refuses a v2 entry without one).
    fn needs_timestamp(&self) -> bool {
        false
    }
    /// The scheme a signature by `key` over `content` must be made with for this log, `None`
    /// when the signer's own will do. By default (Rekor v1): a message signature is recorded
    /// by its digest alone (`hashedrekord` 0.0.1), so it is made with
    /// [`SignatureScheme::for_logged_digest`] (Ed25519ph, P-384 over SHA-384, as sigstore-go
    /// and cosign v3 sign whatever they log, and the only Ed25519 a Rekor v1 hashedrekord
    /// verifies); a DSSE envelope is verified whole by a Rekor v1 `dsse` entry, with the key
    /// loaded for SHA-256 (`sigstore/rekor:pkg/types/dsse/v0.0.1/entry.go` `verifyEnvelope`:
    /// pure Ed25519, ECDSA over SHA-256), so the signer's own scheme signs it. A Rekor v2 log
    /// records both by digest and names the scheme ([`SignatureScheme::for_hashedrekord`]).
    fn scheme_for(
        &self,
        key: &VerifyingKey,
        content: LoggedContent,
    ) -> Result<Option<SignatureScheme>> {
        Ok(match content {
            LoggedContent::MessageSignature => Some(SignatureScheme::for_logged_digest(key)),
            LoggedContent::Envelope | LoggedContent::LegacyImageSignature => None,
        })
    }
    /// Logs a message signature (`hashedrekord`): the digest of the signed bytes and the
    /// signature.
    fn log_message_signature(
        &self,
        signed: &SignedDigest<'_>,
        signer: &dyn Signer,
    ) -> Result<TlogEntry>;
    /// Logs a DSSE envelope signed with `scheme` (Rekor v1 `dsse`, Rekor v2 `hashedrekord`
    /// over its PAE).
    fn log_envelope(
        &self,
        envelope: &Envelope,
        scheme: SignatureScheme,
        signer: &dyn Signer,
    ) -> Result<TlogEntry>;
}

/// What a signature to be logged signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedContent {
    /// A message (artifact, image signature payload): a `hashedrekord` entry.
    MessageSignature,
    /// A DSSE envelope's PAE: a `dsse` entry (Rekor v1) or a `hashedrekord` (Rekor v2).
    Envelope,
    /// The payload of a cosign 2 signature layer (legacy tag scheme): a `hashedrekord` whose
    /// Rekor bundle annotation cosign verifies only over SHA-256 (`sigstore/cosign:
    /// pkg/cosign/verify.go` `VerifyBundle`: "unexpected algorithm"), so the signer's own
    /// scheme signs it when that is over SHA-256 (P-256, P-384 as cosign 2, RSA); otherwise
    /// [`SignatureScheme::for_logged_digest`] (Ed25519ph, P-521), which Rekor v1 and vouch
    /// verify and cosign's legacy path cannot.
    LegacyImageSignature,
}

/// A message signature as a log records it.
#[derive(Debug, Clone, Copy)]
pub struct SignedDigest<'a> {
    /// How it was made.
    pub scheme: SignatureScheme,
    /// The digest algorithm of `digest`: the scheme's, SHA-256 for pure Ed25519 (whose
    /// signature covers the whole message; Rekor v1 records its SHA-256).
    pub hash: HashAlgorithm,
    /// The digest of the signed message.
    pub digest: &'a [u8],
    /// The signature.
    pub signature: &'a [u8],
}

/// RFC 3161 timestamp authorities: every DER `TimeStampResp` the caller wants over the
/// signature bytes (one per configured authority).
pub type TimestampFn = dyn Fn(&[u8]) -> Result<Vec<Vec<u8>>>;

/// A borrowed timestamp function, as [`Witnesses`] holds it.
pub type Timestamper<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<Vec<u8>>>;

/// A check run on every statement bundle before it is stored (keyless signing verifies each
/// against the instance's trusted root, so a misconfigured instance fails at signing).
pub type BundleCheck<'a> = &'a dyn Fn(&Bundle) -> Result<()>;

/// What vouches for a signature besides the signer. `Witnesses::default()`: nothing (a key
/// signature without log entry, verified with `--insecure-ignore-tlog`).
#[derive(Default, Clone, Copy)]
pub struct Witnesses<'a> {
    /// The logs every signature is uploaded to, each giving the bundle one entry, in this
    /// order (sigstore-go `sign.Bundle` appends one entry per log the signing config selects;
    /// `--tlog-threshold N` then counts them).
    pub logs: &'a [Box<dyn TransparencyLog>],
    /// The timestamp authorities asked for timestamps over every bundle's signature.
    pub timestamper: Option<Timestamper<'a>>,
    /// Run on every statement bundle before it is stored.
    pub check: Option<BundleCheck<'a>>,
}

impl std::fmt::Debug for Witnesses<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witnesses")
            .field("logs", &self.logs)
            .field("timestamper", &self.timestamper.is_some())
            .field("check", &self.check.is_some())
            .finish()
    }
}

impl Witnesses<'_> {
    /// The logs for `signer`'s signatures: the configured ones; an error when the signer must
    /// be logged and none is, or when a log that signs no time is configured without a
    /// timestamp authority.
    fn logs_for(&self, signer: &dyn Signer) -> Result<&[Box<dyn TransparencyLog>]> {
        if self.logs.is_empty() && signer.requires_log() {
            return Err(Error::Service {
                service: "transparency log",
                source: "certificate signatures must be logged and no log is configured".into(),
            });
        }
        if self.timestamper.is_none() && self.logs.iter().any(|log| log.needs_timestamp()) {
            return Err(Error::Service {
                service: "timestamp authority",
                source: "a Rekor v2 log signs no time of its own, so a signature logged there \
                         needs an RFC 3161 timestamp and no timestamp authority is configured \
                         (signing config tsaUrls)"
                    .into(),
            });
        }
        Ok(self.logs)
    }

    /// How `signer` signs `content` for these logs: the scheme they need
    /// ([`TransparencyLog::scheme_for`]), else the signer's own. Logs needing different
    /// schemes for one signature are refused, naming both, rather than one of them given a
    /// signature it cannot verify.
    pub fn scheme_for(
        &self,
        signer: &dyn Signer,
        content: LoggedContent,
    ) -> Result<SignatureScheme> {
        let key = signer.verifying_key();
        let mut chosen: Option<SignatureScheme> = None;
        for log in self.logs {
            let Some(scheme) = log.scheme_for(&key, content)? else {
                continue;
            };
            match chosen {
                Some(earlier) if earlier != scheme => {
                    return Err(Error::UnsupportedAlgorithm {
                        algorithm: format!(
                            "one {} signature for logs needing {} and {}",
                            key.algorithm_name_with_size(),
                            earlier.key_details().unwrap_or("RSA PKCS#1 v1.5"),
                            scheme.key_details().unwrap_or("RSA PKCS#1 v1.5"),
                        ),
                    });
                }
                _ => chosen = Some(scheme),
            }
        }
        let own = signer.scheme();
        Ok(chosen.unwrap_or(match content {
            LoggedContent::LegacyImageSignature
                if !self.logs.is_empty() && own.hash() != Some(HashAlgorithm::Sha2_256) =>
            {
                SignatureScheme::for_logged_digest(&key)
            }
            _ => own,
        }))
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
/// in every log of `witnesses`, timestamped when it has a timestamper.
pub fn sign_blob_with(
    artifact: &[u8],
    signer: &dyn Signer,
    witnesses: &Witnesses<'_>,
) -> Result<Bundle> {
    let signed = sign_and_log(artifact, signer, witnesses, LoggedContent::MessageSignature)?;
    let content = Content::MessageSignature(MessageSignature {
        digest: Some((signed.hash, signed.digest)),
        signature: signed.signature,
    });
    let entries = signed.entries;
    let mut bundle = Bundle::new_v0_3(verification_material(signer), entries, content);
    bundle.rfc3161_timestamps = witnesses.timestamps(bundle.content.signature())?;
    Ok(bundle)
}

/// Signs the payload of a legacy signature layer and logs the signature (`hashedrekord`) in
/// every log ([`LoggedContent::LegacyImageSignature`]).
pub fn sign_message(
    message: &[u8],
    signer: &dyn Signer,
    witnesses: &Witnesses<'_>,
) -> Result<(Vec<u8>, Vec<TlogEntry>)> {
    let signed = sign_and_log(
        message,
        signer,
        witnesses,
        LoggedContent::LegacyImageSignature,
    )?;
    Ok((signed.signature, signed.entries))
}

/// A logged message signature.
struct Signed {
    signature: Vec<u8>,
    hash: HashAlgorithm,
    digest: Vec<u8>,
    entries: Vec<TlogEntry>,
}

fn sign_and_log(
    message: &[u8],
    signer: &dyn Signer,
    witnesses: &Witnesses<'_>,
    content: LoggedContent,
) -> Result<Signed> {
    let logs = witnesses.logs_for(signer)?;
    let scheme = witnesses.scheme_for(signer, content)?;
    let signature = signer.sign_as(scheme, message)?;
    let hash = scheme.hash().unwrap_or(HashAlgorithm::Sha2_256);
    let digest = hash.digest(message);
    let signed = SignedDigest {
        scheme,
        hash,
        digest: &digest,
        signature: &signature,
    };
    let entries = logs
        .iter()
        .map(|log| log.log_message_signature(&signed, signer))
        .collect::<Result<Vec<_>>>()?;
    Ok(Signed {
        signature,
        hash,
        digest,
        entries,
    })
}

/// Signs an in-toto statement into a v0.3 bundle with a `dsseEnvelope`, without log entry.
pub fn sign_statement(statement: &Statement, signer: &dyn Signer) -> Result<Bundle> {
    sign_statement_with(statement, signer, &Witnesses::default())
}

/// Signs an in-toto statement into a v0.3 bundle with a `dsseEnvelope`, logged as a `dsse`
/// entry in every log of `witnesses`; `witnesses.check` runs on the result.
pub fn sign_statement_with(
    statement: &Statement,
    signer: &dyn Signer,
    witnesses: &Witnesses<'_>,
) -> Result<Bundle> {
    let logs = witnesses.logs_for(signer)?;
    let scheme = witnesses.scheme_for(signer, LoggedContent::Envelope)?;
    let envelope = Envelope::sign_as(IN_TOTO_PAYLOAD_TYPE, statement.to_json(), signer, scheme)?;
    let entries = logs
        .iter()
        .map(|log| log.log_envelope(&envelope, scheme, signer))
        .collect::<Result<Vec<_>>>()?;
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
/// cosign 2 signature with a log entry carries just that one). The annotation holds one entry:
/// of `entries`, the first with a signed entry timestamp (a Rekor v1 log's), else the first.
pub fn legacy_annotations(
    signer: &dyn Signer,
    entries: &[TlogEntry],
) -> Result<BTreeMap<String, String>> {
    let entry = entries
        .iter()
        .find(|e| e.signed_entry_timestamp.is_some())
        .or(entries.first());
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

    /// A log that signs no time of its own (as Rekor v2), answering with an entry that names
    /// it: the seam's bookkeeping, not a log (the logs themselves are tested against real
    /// servers in vouch-keyless and the CLI).
    #[derive(Debug)]
    struct Untimed(u64);

    impl TransparencyLog for Untimed {
        fn needs_timestamp(&self) -> bool {
            true
        }
        fn log_message_signature(&self, _: &SignedDigest<'_>, _: &dyn Signer) -> Result<TlogEntry> {
            Ok(TlogEntry {
                log_index: self.0,
                log_id: vec![u8::try_from(self.0).unwrap_or_default(); 32],
                kind: "hashedrekord".into(),
                kind_version: "0.0.2".into(),
                integrated_time: 0,
                signed_entry_timestamp: None,
                inclusion_proof: None,
                canonicalized_body: Vec::new(),
            })
        }
        fn log_envelope(
            &self,
            envelope: &Envelope,
            scheme: SignatureScheme,
            signer: &dyn Signer,
        ) -> Result<TlogEntry> {
            let signed = SignedDigest {
                scheme,
                hash: HashAlgorithm::Sha2_256,
                digest: &[0; 32],
                signature: &envelope.pae(),
            };
            self.log_message_signature(&signed, signer)
        }
    }

    #[test]
    fn every_log_gives_an_entry_in_order_and_untimed_logs_need_a_timestamper() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        let logs: Vec<Box<dyn TransparencyLog>> = vec![Box::new(Untimed(7)), Box::new(Untimed(9))];
        let untimed = Witnesses {
            logs: &logs,
            ..Witnesses::default()
        };
        for outcome in [
            sign_blob_with(b"artifact", &key, &untimed).map(|_| ()),
            sign_statement_with(&statement(), &key, &untimed).map(|_| ()),
        ] {
            assert!(
                matches!(
                    outcome,
                    Err(Error::Service {
                        service: "timestamp authority",
                        ..
                    })
                ),
                "{outcome:?}"
            );
        }
        let tsa = |_: &[u8]| -> Result<Vec<Vec<u8>>> { Ok(vec![b"token".to_vec()]) };
        let witnesses = Witnesses {
            logs: &logs,
            timestamper: Some(&tsa),
            check: None,
        };
        let blob = sign_blob_with(b"artifact", &key, &witnesses).expect("blob");
        let att = sign_statement_with(&statement(), &key, &witnesses).expect("statement");
        for bundle in [blob, att] {
            let indexes: Vec<u64> = bundle.tlog_entries.iter().map(|e| e.log_index).collect();
            assert_eq!(indexes, [7, 9]);
            assert_eq!(bundle.rfc3161_timestamps, [b"token".to_vec()]);
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

    /// A log that needs `Some` scheme for every signature (as a Rekor v2 log names one).
    #[derive(Debug)]
    struct Naming(SignatureScheme);

    impl TransparencyLog for Naming {
        fn scheme_for(
            &self,
            _: &VerifyingKey,
            _: LoggedContent,
        ) -> Result<Option<SignatureScheme>> {
            Ok(Some(self.0))
        }
        fn log_message_signature(&self, s: &SignedDigest<'_>, k: &dyn Signer) -> Result<TlogEntry> {
            Untimed(1).log_message_signature(s, k)
        }
        fn log_envelope(
            &self,
            e: &Envelope,
            s: SignatureScheme,
            k: &dyn Signer,
        ) -> Result<TlogEntry> {
            Untimed(1).log_envelope(e, s, k)
        }
    }

    /// With no log a key signs its own way; a Rekor v1 style log (the trait's default)
    /// takes message signatures over the key's own hash (P-384/SHA-384, Ed25519ph) and
    /// envelopes the key's way; logs needing different schemes are refused, naming both.
    #[test]
    fn schemes_follow_what_the_logs_record() {
        use SignatureScheme as S;
        let v1: Vec<Box<dyn TransparencyLog>> = vec![Box::new(Untimed(1))];
        let cases = [
            (
                KeyAlgorithm::EcdsaP256,
                S::EcdsaP256Sha256,
                S::EcdsaP256Sha256,
                S::EcdsaP256Sha256,
            ),
            (
                KeyAlgorithm::EcdsaP384,
                S::EcdsaP384Sha256,
                S::EcdsaP384Sha384,
                S::EcdsaP384Sha256,
            ),
            (
                KeyAlgorithm::EcdsaP521,
                S::EcdsaP521Sha512,
                S::EcdsaP521Sha512,
                S::EcdsaP521Sha512,
            ),
            (KeyAlgorithm::Ed25519, S::Ed25519, S::Ed25519ph, S::Ed25519),
        ];
        for (algorithm, unlogged, message, envelope) in cases {
            let key = SigningKey::generate(algorithm).expect("key");
            for content in [LoggedContent::MessageSignature, LoggedContent::Envelope] {
                let scheme = Witnesses::default()
                    .scheme_for(&key, content)
                    .expect("no log");
                assert_eq!(scheme, unlogged, "{algorithm:?}");
            }
            let logged = Witnesses {
                logs: &v1,
                ..Witnesses::default()
            };
            let m = logged.scheme_for(&key, LoggedContent::MessageSignature);
            assert_eq!(m.expect("message"), message, "{algorithm:?}");
            let e = logged.scheme_for(&key, LoggedContent::Envelope);
            assert_eq!(e.expect("envelope"), envelope, "{algorithm:?}");
            // A legacy layer's payload: over SHA-256 where the key signs that way.
            let legacy = logged.scheme_for(&key, LoggedContent::LegacyImageSignature);
            let expected = if unlogged.hash() == Some(HashAlgorithm::Sha2_256) {
                unlogged
            } else {
                message
            };
            assert_eq!(legacy.expect("legacy"), expected, "{algorithm:?}");
        }
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP384).expect("key");
        let both: Vec<Box<dyn TransparencyLog>> = vec![
            Box::new(Naming(S::EcdsaP384Sha384)),
            Box::new(Naming(S::EcdsaP384Sha256)),
        ];
        let witnesses = Witnesses {
            logs: &both,
            ..Witnesses::default()
        };
        let e = witnesses
            .scheme_for(&key, LoggedContent::Envelope)
            .expect_err("two schemes");
        let said = e.to_string();
        assert!(
            said.contains("PKIX_ECDSA_P384_SHA_384") && said.contains("PKIX_ECDSA_P384_SHA_256"),
            "{said}"
        );
    }
}
