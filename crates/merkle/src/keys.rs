//! Checkpoint keys: the [`NoteVerifier`] a client trusts and the [`NoteSigner`] a log uses.
//!
//! Two signature schemes are in use for Sigstore checkpoints:
//! * ECDSA P-256 with SHA-256, ASN.1 DER signatures over the note text (Rekor v1;
//!   C2SP signature type `0x02`). Key hint = `SHA-256(SPKI DER)[:4]`.
//! * Ed25519 over the note text (Rekor v2, C2SP type `0x01`). Key hint per
//!   [`KeyIdScheme`]: the C2SP hash of name, type and key for Rekor v2, or the SPKI hash that
//!   Rekor v1 uses for every key type.

use ed25519_dalek::pkcs8::DecodePublicKey as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::EncodePublicKey as _;
use spki::ObjectIdentifier;

use crate::note::{NoteSignature, SignedNote, valid_key_name};
use crate::{Error, KeyAlgorithm, KeyHint};

/// `id-ecPublicKey` (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (RFC 5480).
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `id-Ed25519` (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// DER SubjectPublicKeyInfo prefix of every Ed25519 key (RFC 8410 section 4), before the
/// 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// How the 4-byte key hint of an Ed25519 key is derived (ECDSA keys have one scheme).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyIdScheme {
    /// `SHA-256(key name || 0x0A || 0x01 || 32-byte key)[:4]` (C2SP `signed-note.md`): Rekor v2
    /// and tlog-tiles logs.
    C2sp,
    /// `SHA-256(DER SPKI)[:4]`: Rekor v1, whatever the key type.
    SpkiSha256,
}

#[derive(Clone, Debug)]
enum PublicKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A trusted checkpoint key: key name, key hint and public key.
///
/// Signatures are matched by name *and* hint (C2SP: signatures from unknown keys are ignored);
/// every matching signature must verify and at least one must match.
#[derive(Clone, Debug)]
pub struct NoteVerifier {
    key_name: String,
    key_hint: KeyHint,
    key: PublicKey,
}

impl NoteVerifier {
    /// A verifier for a DER SubjectPublicKeyInfo (the `rawBytes` of a trusted root's
    /// `tlogs[].publicKey`), ECDSA P-256 or Ed25519. `scheme` applies to Ed25519 keys only.
    ///
    /// Rekor v1 signs with key name = the log's host name (the origin without
    /// `" - <tree ID>"`); Rekor v2 with key name = origin.
    pub fn from_spki_der(
        key_name: &str,
        spki_der: &[u8],
        scheme: KeyIdScheme,
    ) -> Result<Self, Error> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(spki_der).map_err(|_| {
            Error::InvalidPublicKey {
                algorithm: KeyAlgorithm::EcdsaP256,
            }
        })?;
        let oid = info.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            let curve = info.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                let oid = curve.map_or_else(|| oid.to_string(), |c| c.to_string());
                return Err(Error::UnsupportedKeyAlgorithm { oid });
            }
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der).map_err(|_| {
                Error::InvalidPublicKey {
                    algorithm: KeyAlgorithm::EcdsaP256,
                }
            })?;
            Self::ecdsa_p256(key_name, key)
        } else if oid == OID_ED25519 {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(spki_der).map_err(|_| {
                Error::InvalidPublicKey {
                    algorithm: KeyAlgorithm::Ed25519,
                }
            })?;
            Self::ed25519(key_name, key, scheme)
        } else {
            Err(Error::UnsupportedKeyAlgorithm {
                oid: oid.to_string(),
            })
        }
    }

    /// A verifier for an ECDSA P-256 key; hint `SHA-256(SPKI DER)[:4]`.
    pub fn ecdsa_p256(key_name: &str, key: p256::ecdsa::VerifyingKey) -> Result<Self, Error> {
        let key_hint = ecdsa_key_hint(&key)?;
        Self::build(key_name, key_hint, PublicKey::EcdsaP256(key))
    }

    /// A verifier for an Ed25519 key, with its hint derived per `scheme`.
    pub fn ed25519(
        key_name: &str,
        key: ed25519_dalek::VerifyingKey,
        scheme: KeyIdScheme,
    ) -> Result<Self, Error> {
        let key_hint = ed25519_key_hint(key_name, &key, scheme);
        Self::build(key_name, key_hint, PublicKey::Ed25519(key))
    }

    fn build(key_name: &str, key_hint: KeyHint, key: PublicKey) -> Result<Self, Error> {
        if !valid_key_name(key_name) {
            return Err(Error::InvalidKeyName {
                name: key_name.to_owned(),
            });
        }
        Ok(Self {
            key_name: key_name.to_owned(),
            key_hint,
            key,
        })
    }

    /// The same key selecting signatures by `key_hint` instead of the derived hint. Sigstore
    /// clients pick a checkpoint's log signature by the first 4 bytes of the log ID the trusted
    /// root lists, whatever the key type (sigstore-python `Checkpoint.verify`): the SPKI hash
    /// for Rekor v1, the C2SP key hash for Rekor v2 logs, ECDSA ones included. The hint only
    /// selects; the signature is still verified with this key.
    #[must_use]
    pub fn with_key_hint(mut self, key_hint: KeyHint) -> Self {
        self.key_hint = key_hint;
        self
    }

    /// The key name signatures must carry.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The key hint signatures must carry.
    pub fn key_hint(&self) -> KeyHint {
        self.key_hint
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.key {
            PublicKey::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            PublicKey::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// Verifies the note's signatures by this key over the note's original text
    /// (C2SP `signed-note.md`, "Signatures").
    pub(crate) fn verify_note(&self, note: &SignedNote) -> Result<(), Error> {
        let mut matched = false;
        let ours = note
            .signatures()
            .iter()
            .filter(|s| s.key_name() == self.key_name && s.key_hint() == self.key_hint);
        for signature in ours {
            if !self.verify_one(note.body().as_bytes(), signature) {
                return Err(Error::BadSignature {
                    key_name: self.key_name.clone(),
                    key_hint: self.key_hint,
                });
            }
            matched = true;
        }
        if !matched {
            return Err(Error::NoKnownSignature {
                key_name: self.key_name.clone(),
                key_hint: self.key_hint,
            });
        }
        Ok(())
    }

    fn verify_one(&self, message: &[u8], signature: &NoteSignature) -> bool {
        match &self.key {
            PublicKey::EcdsaP256(key) => {
                // ring (already linked through rustls) is several times faster than the pure-Rust
                // verifier; a signature ring refuses is re-checked by p256, so the accepted set
                // is exactly that of a correct ECDSA verifier.
                let point = key.to_sec1_point(false);
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_ASN1,
                    point.as_bytes(),
                )
                .verify(message, signature.signature())
                .is_ok()
                    || p256::ecdsa::Signature::from_der(signature.signature())
                        .is_ok_and(|sig| key.verify(message, &sig).is_ok())
            }
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature.signature())
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
        }
    }
}

/// A key that signs checkpoints: the log's own key, or a witness's.
///
/// Implemented here for in-process P-256 and Ed25519 keys; a KMS or HSM implements it too.
pub trait NoteSigner {
    /// Key name written on the signature line.
    fn key_name(&self) -> &str;

    /// Key hint written before the signature.
    fn key_hint(&self) -> KeyHint;

    /// Signs the note text (final newline included). ECDSA: DER signature over SHA-256 of the
    /// text; Ed25519: the 64-byte signature of the text. Wrap failures in [`Error::Signing`].
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// Signs checkpoints with an in-process ECDSA P-256 key, as Rekor v1 does
/// (RFC 6979 deterministic nonces).
#[derive(Clone, Debug)]
pub struct EcdsaP256Signer {
    key_name: String,
    key_hint: KeyHint,
    key: p256::ecdsa::SigningKey,
}

impl EcdsaP256Signer {
    /// A signer writing `key_name` and hint `SHA-256(SPKI DER)[:4]`.
    pub fn new(key_name: &str, key: p256::ecdsa::SigningKey) -> Result<Self, Error> {
        let key_hint = ecdsa_key_hint(key.verifying_key())?;
        let key_name = checked_name(key_name)?;
        Ok(Self {
            key_name,
            key_hint,
            key,
        })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            key_name: self.key_name.clone(),
            key_hint: self.key_hint,
            key: PublicKey::EcdsaP256(*self.key.verifying_key()),
        }
    }
}

impl NoteSigner for EcdsaP256Signer {
    fn key_name(&self) -> &str {
        &self.key_name
    }

    fn key_hint(&self) -> KeyHint {
        self.key_hint
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let signature: p256::ecdsa::Signature = self
            .key
            .try_sign(message)
            .map_err(|e| Error::Signing(Box::new(e)))?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// Signs checkpoints with an in-process Ed25519 key, as Rekor v2 does.
#[derive(Clone, Debug)]
pub struct Ed25519Signer {
    key_name: String,
    key_hint: KeyHint,
    key: ed25519_dalek::SigningKey,
    scheme: KeyIdScheme,
}

impl Ed25519Signer {
    /// A signer writing `key_name` and the hint derived per `scheme`.
    pub fn new(
        key_name: &str,
        key: ed25519_dalek::SigningKey,
        scheme: KeyIdScheme,
    ) -> Result<Self, Error> {
        let key_hint = ed25519_key_hint(key_name, &key.verifying_key(), scheme);
        let key_name = checked_name(key_name)?;
        Ok(Self {
            key_name,
            key_hint,
            key,
            scheme,
        })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            key_name: self.key_name.clone(),
            key_hint: self.key_hint,
            key: PublicKey::Ed25519(self.key.verifying_key()),
        }
    }

    /// The key-hint scheme in use.
    pub fn scheme(&self) -> KeyIdScheme {
        self.scheme
    }
}

impl NoteSigner for Ed25519Signer {
    fn key_name(&self) -> &str {
        &self.key_name
    }

    fn key_hint(&self) -> KeyHint {
        self.key_hint
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let signature: ed25519_dalek::Signature = self
            .key
            .try_sign(message)
            .map_err(|e| Error::Signing(Box::new(e)))?;
        Ok(signature.to_bytes().to_vec())
    }
}

fn checked_name(key_name: &str) -> Result<String, Error> {
    if valid_key_name(key_name) {
        Ok(key_name.to_owned())
    } else {
        Err(Error::InvalidKeyName {
            name: key_name.to_owned(),
        })
    }
}

fn ecdsa_key_hint(key: &p256::ecdsa::VerifyingKey) -> Result<KeyHint, Error> {
    let der = key
        .to_public_key_der()
        .map_err(|_| Error::InvalidPublicKey {
            algorithm: KeyAlgorithm::EcdsaP256,
        })?;
    Ok(KeyHint::from_spki_der(der.as_bytes()))
}

fn ed25519_key_hint(
    key_name: &str,
    key: &ed25519_dalek::VerifyingKey,
    scheme: KeyIdScheme,
) -> KeyHint {
    match scheme {
        KeyIdScheme::C2sp => KeyHint::c2sp(key_name, 0x01, key.as_bytes()),
        KeyIdScheme::SpkiSha256 => {
            let mut der = ED25519_SPKI_PREFIX.to_vec();
            der.extend_from_slice(key.as_bytes());
            KeyHint::from_spki_der(&der)
        }
    }
}
