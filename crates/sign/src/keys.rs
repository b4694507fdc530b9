//! Signing and verifying keys.
//!
//! Signing: ECDSA P-256 (the default, as cosign), ECDSA P-384 and Ed25519. Verifying: those plus
//! RSA (PKCS#1 v1.5 and PSS, SHA-256), which Sigstore allows for keys and certificates but which
//! vouch never generates.
//!
//! Signature encodings follow Sigstore: ECDSA signatures are ASN.1 DER, Ed25519 signatures are the
//! raw 64 bytes, RSA signatures the raw modulus-sized integer.
//!
//! Hash choice: every ECDSA signature vouch makes is over SHA-256, as cosign does for any ECDSA
//! key (`LoadSignerVerifier(key, crypto.SHA256)`) and as bundles' `messageDigest` (`SHA2_256`)
//! require. P-384 verification accepts SHA-256 (cosign, sigstore-python: the vector
//! `bundle.txt` is such a signature) and SHA-384 (sigstore-go's `PKIX_ECDSA_P384_SHA_384`).

use std::fmt;

use der::pem::LineEnding;
use p256::elliptic_curve::Generate;
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::{DecodePublicKey, EncodePublicKey};

use crate::error::{Error, Result};

/// Algorithms vouch can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyAlgorithm {
    /// ECDSA over NIST P-256 with SHA-256 (cosign's default).
    #[default]
    EcdsaP256,
    /// ECDSA over NIST P-384 (signing over SHA-256, like cosign).
    EcdsaP384,
    /// Ed25519 (pure, no prehash).
    Ed25519,
}

impl KeyAlgorithm {
    /// The Sigstore `PublicKeyDetails` name of keys of this algorithm.
    pub fn key_details(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
            Self::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
            Self::Ed25519 => "PKIX_ED25519",
        }
    }
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ecdsa-p256" | "p256" | "p-256" | "ecdsa" => Ok(Self::EcdsaP256),
            "ecdsa-p384" | "p384" | "p-384" => Ok(Self::EcdsaP384),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(Error::UnsupportedAlgorithm {
                algorithm: s.to_owned(),
            }),
        }
    }
}

/// The signing seam: whatever holds a private key. Blob, attestation and image signing
/// ([`crate::sign::sign_blob_with`], [`crate::sign::sign_statement_with`],
/// [`crate::oci::Store::sign_image_with`], [`crate::oci::Store::attest_image_with`]) are
/// written once over it; the signer supplies the signature and the verification material,
/// the caller's [`crate::sign::Witnesses`] the log entry and timestamps.
///
/// Implementations: [`SigningKey`] (a key file in memory), [`crate::pkcs11::Pkcs11Key`] (a
/// token), `vouch_keyless::Session` (an ephemeral key with a short-lived certificate).
///
/// To add a backend (a KMS, an HSM API): a struct holding the client and the key's public
/// half, with
/// * `sign`: hash `message` with SHA-256 (what cosign asks any ECDSA key for, and what the
///   bundle's `messageDigest` and Rekor's `hashedrekord` record), have the service sign that
///   digest, and return ECDSA signatures as ASN.1 DER (re-encode a raw `r || s`), RSA
///   signatures as the raw modulus-sized integer. Check the answer with the public key before
///   returning it, so a misbehaving service fails here and not at admission.
/// * `verifying_key`: the public key read once when the key is opened
///   ([`VerifyingKey::from_spki_der`] of the service's SubjectPublicKeyInfo).
/// * leave `certificate_chain` at its default: a key is verified by its public key.
///
/// Errors from the service's own client go in [`Error::Service`]; then parse its reference
/// in [`crate::KeyRef`] so `--key`, `verify --key` and policies' `kms` keys all reach it.
pub trait Signer {
    /// Signs `message` (the signer hashes it as its algorithm requires).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
    /// The public half, for verification material and transparency log entries.
    fn verifying_key(&self) -> VerifyingKey;
    /// DER certificates certifying [`Signer::verifying_key`], leaf first: the short-lived
    /// chain of a keyless signer. Empty (the default) for keys: bundles then carry the key's
    /// hint and log entries its PEM public key.
    fn certificate_chain(&self) -> &[Vec<u8>] {
        &[]
    }
    /// Whether every signature must be logged. Certificate signers must (the certificate
    /// outlives its 10 minutes only through the log's or a timestamp's time); a key is logged
    /// when the caller configured a log (cosign's `--tlog-upload`).
    fn requires_log(&self) -> bool {
        !self.certificate_chain().is_empty()
    }
}

/// A private key held in memory.
pub struct SigningKey {
    inner: SigningInner,
}

enum SigningInner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key from the operating system's random number generator.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let inner = match algorithm {
            KeyAlgorithm::EcdsaP256 => SigningInner::P256(
                p256::ecdsa::SigningKey::try_generate().map_err(|_| Error::Random)?,
            ),
            KeyAlgorithm::EcdsaP384 => SigningInner::P384(
                p384::ecdsa::SigningKey::try_generate().map_err(|_| Error::Random)?,
            ),
            KeyAlgorithm::Ed25519 => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|_| Error::Random)?;
                SigningInner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
        };
        Ok(Self { inner })
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (DER). RSA keys are refused: vouch only verifies RSA.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let inner = if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            SigningInner::P256(k)
        } else if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            SigningInner::P384(k)
        } else if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
            SigningInner::Ed25519(k)
        } else {
            return Err(unsupported_pkcs8(der));
        };
        Ok(Self { inner })
    }

    /// Reads a SEC1 `ECPrivateKey` (DER), as in `EC PRIVATE KEY` PEM files.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let inner = if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            SigningInner::P256(k.into())
        } else if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
            SigningInner::P384(k.into())
        } else {
            return Err(Error::UnsupportedAlgorithm {
                algorithm: "SEC1 key on a curve other than P-256/P-384".into(),
            });
        };
        Ok(Self { inner })
    }

    /// PKCS#8 DER of the key (what cosign encrypts in its key files). Zeroised on drop.
    pub fn to_pkcs8_der(&self) -> Result<pkcs8::SecretDocument> {
        let doc = match &self.inner {
            SigningInner::P256(k) => k.to_pkcs8_der(),
            SigningInner::P384(k) => k.to_pkcs8_der(),
            SigningInner::Ed25519(k) => k.to_pkcs8_der(),
        };
        doc.map_err(|e| Error::malformed("private key", e))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            SigningInner::P256(_) => KeyAlgorithm::EcdsaP256,
            SigningInner::P384(_) => KeyAlgorithm::EcdsaP384,
            SigningInner::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// Signs `message`: ECDSA returns ASN.1 DER, Ed25519 the raw 64 bytes.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        use signature::Signer as _;
        match &self.inner {
            SigningInner::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            SigningInner::P384(k) => {
                use signature::hazmat::PrehashSigner as _;
                // Signing a 32-byte prehash cannot fail for P-384 (it is shorter than the field).
                let sig: Option<p384::ecdsa::Signature> =
                    k.sign_prehash(&Sha256::digest(message)).ok();
                sig.map(|s| s.to_der().as_bytes().to_vec())
                    .unwrap_or_default()
            }
            SigningInner::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> VerifyingKey {
        let inner = match &self.inner {
            SigningInner::P256(k) => VerifyingInner::P256(*k.verifying_key()),
            SigningInner::P384(k) => VerifyingInner::P384(*k.verifying_key()),
            SigningInner::Ed25519(k) => VerifyingInner::Ed25519(k.verifying_key()),
        };
        let spki_der = match &inner {
            VerifyingInner::P256(k) => k.to_public_key_der(),
            VerifyingInner::P384(k) => k.to_public_key_der(),
            VerifyingInner::Ed25519(k) => k.to_public_key_der(),
            VerifyingInner::Rsa(k) => k.to_public_key_der(),
        };
        // Encoding a public key we hold in memory cannot fail except on allocation failure.
        let spki_der = spki_der.map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        VerifyingKey { inner, spki_der }
    }
}

impl Signer for SigningKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.sign_bytes(message))
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.public_key()
    }
}

fn unsupported_pkcs8(der: &[u8]) -> Error {
    let algorithm = pkcs8::PrivateKeyInfoRef::try_from(der)
        .map(|info| info.algorithm.oid.to_string())
        .unwrap_or_else(|e| format!("unparseable PKCS#8 ({e})"));
    Error::UnsupportedAlgorithm { algorithm }
}

/// Hash algorithms that appear in Sigstore message digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (`SHA2_256`).
    Sha2_256,
    /// SHA-384 (`SHA2_384`).
    Sha2_384,
    /// SHA-512 (`SHA2_512`).
    Sha2_512,
}

impl HashAlgorithm {
    /// Parses the protobuf enum name.
    pub fn from_proto_name(name: &str) -> Option<Self> {
        match name {
            "SHA2_256" => Some(Self::Sha2_256),
            "SHA2_384" => Some(Self::Sha2_384),
            "SHA2_512" => Some(Self::Sha2_512),
            _ => None,
        }
    }

    /// The protobuf enum name.
    pub fn proto_name(self) -> &'static str {
        match self {
            Self::Sha2_256 => "SHA2_256",
            Self::Sha2_384 => "SHA2_384",
            Self::Sha2_512 => "SHA2_512",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha2_256 => 32,
            Self::Sha2_384 => 48,
            Self::Sha2_512 => 64,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha2_256 => Sha256::digest(data).to_vec(),
            Self::Sha2_384 => Sha384::digest(data).to_vec(),
            Self::Sha2_512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// A public key used to verify signatures, keeping its SubjectPublicKeyInfo DER.
#[derive(Clone)]
pub struct VerifyingKey {
    inner: VerifyingInner,
    spki_der: Vec<u8>,
}

#[derive(Clone)]
enum VerifyingInner {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(Box<rsa::PublicKey>),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm_name())
            .field("key_id", &hex::encode(self.key_id()))
            .finish()
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for VerifyingKey {}

impl VerifyingKey {
    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let inner = if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            VerifyingInner::P256(k)
        } else if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            VerifyingInner::P384(k)
        } else if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            VerifyingInner::Ed25519(k)
        } else if let Ok(k) = rsa::PublicKey::from_public_key_der(der) {
            VerifyingInner::Rsa(Box::new(k))
        } else {
            let algorithm = spki::SubjectPublicKeyInfoRef::try_from(der)
                .map(|s| s.algorithm.oid.to_string())
                .unwrap_or_else(|e| format!("unparseable SubjectPublicKeyInfo ({e})"));
            return Err(Error::UnsupportedAlgorithm { algorithm });
        };
        Ok(Self {
            inner,
            spki_der: der.to_vec(),
        })
    }

    /// Reads a `PUBLIC KEY` PEM block (cosign's `cosign.pub`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let (label, der) =
            der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| Error::malformed("PEM", e))?;
        if label != "PUBLIC KEY" {
            return Err(Error::UnexpectedPemLabel {
                expected: &["PUBLIC KEY"],
                found: label.to_owned(),
            });
        }
        Self::from_spki_der(&der)
    }

    /// `PUBLIC KEY` PEM with 64-column lines and LF endings (byte-identical to Go's encoder).
    pub fn to_pem(&self) -> String {
        der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &self.spki_der).unwrap_or_default()
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER: Rekor v1 log IDs, CT log IDs.
    pub fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// Human-readable algorithm name.
    pub fn algorithm_name(&self) -> &'static str {
        match self.inner {
            VerifyingInner::P256(_) => "ECDSA P-256",
            VerifyingInner::P384(_) => "ECDSA P-384",
            VerifyingInner::Ed25519(_) => "Ed25519",
            VerifyingInner::Rsa(_) => "RSA",
        }
    }

    /// Verifies `signature` over `message`. `check` names the check in the error.
    pub fn verify(&self, check: &'static str, message: &[u8], signature: &[u8]) -> Result<()> {
        let ok = match &self.inner {
            VerifyingInner::P256(k) => p256_prehash_ok(k, &Sha256::digest(message), signature),
            VerifyingInner::P384(k) => {
                p384_prehash_ok(k, &Sha384::digest(message), signature)
                    || p384_prehash_ok(k, &Sha256::digest(message), signature)
            }
            VerifyingInner::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| k.verify_strict(message, &sig).is_ok()),
            VerifyingInner::Rsa(k) => rsa_prehash_ok(k, &Sha256::digest(message), signature),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::SignatureInvalid { check })
        }
    }

    /// Verifies `signature` over an artifact known only by its digest (`hash` names the digest
    /// algorithm). Ed25519 cannot verify prehashed input and fails with
    /// [`Error::UnsupportedAlgorithm`].
    pub fn verify_prehashed(
        &self,
        check: &'static str,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        if digest.len() != hash.digest_len() {
            return Err(Error::malformed("message digest", "wrong digest length"));
        }
        let ok = match &self.inner {
            VerifyingInner::P256(k) => p256_prehash_ok(k, digest, signature),
            VerifyingInner::P384(k) => p384_prehash_ok(k, digest, signature),
            VerifyingInner::Ed25519(_) => {
                return Err(Error::UnsupportedAlgorithm {
                    algorithm: "Ed25519 over a prehashed digest".into(),
                });
            }
            VerifyingInner::Rsa(k) if hash == HashAlgorithm::Sha2_256 => {
                rsa_prehash_ok(k, digest, signature)
            }
            VerifyingInner::Rsa(_) => {
                return Err(Error::UnsupportedAlgorithm {
                    algorithm: "RSA with SHA-384/SHA-512".into(),
                });
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::SignatureInvalid { check })
        }
    }

    /// True for Ed25519 keys, which sign the whole message rather than a digest.
    pub fn is_ed25519(&self) -> bool {
        matches!(self.inner, VerifyingInner::Ed25519(_))
    }
}

fn p256_prehash_ok(key: &p256::ecdsa::VerifyingKey, prehash: &[u8], signature: &[u8]) -> bool {
    p256::ecdsa::Signature::from_der(signature)
        .is_ok_and(|sig| key.verify_prehash(prehash, &sig).is_ok())
}

fn p384_prehash_ok(key: &p384::ecdsa::VerifyingKey, prehash: &[u8], signature: &[u8]) -> bool {
    p384::ecdsa::Signature::from_der(signature)
        .is_ok_and(|sig| key.verify_prehash(prehash, &sig).is_ok())
}

fn rsa_prehash_ok(key: &rsa::PublicKey, prehash: &[u8], signature: &[u8]) -> bool {
    let pkcs1 = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone());
    let pss = rsa::pss::VerifyingKey::<Sha256>::new(key.clone());
    rsa::pkcs1v15::Signature::try_from(signature)
        .is_ok_and(|sig| pkcs1.verify_prehash(prehash, &sig).is_ok())
        || rsa::pss::Signature::try_from(signature)
            .is_ok_and(|sig| pss.verify_prehash(prehash, &sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_each_algorithm() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ] {
            let key = SigningKey::generate(alg).expect("generate");
            let sig = key.sign_bytes(b"hello");
            let public = key.public_key();
            public.verify("test", b"hello", &sig).expect("verifies");
            assert!(matches!(
                public.verify("test", b"hellO", &sig),
                Err(Error::SignatureInvalid { check: "test" })
            ));
            let reread = VerifyingKey::from_pem(&public.to_pem()).expect("pem round trip");
            assert_eq!(reread, public);
            let der = key.to_pkcs8_der().expect("pkcs8");
            let again = SigningKey::from_pkcs8_der(der.as_bytes()).expect("pkcs8 round trip");
            assert_eq!(again.public_key(), public);
        }
    }

    #[test]
    fn prehashed_ecdsa_verifies() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("generate");
        let sig = key.sign_bytes(b"artifact");
        let digest = Sha256::digest(b"artifact");
        key.public_key()
            .verify_prehashed("test", HashAlgorithm::Sha2_256, &digest, &sig)
            .expect("verifies");
    }

    #[test]
    fn algorithm_names_parse() {
        assert_eq!(
            "ecdsa-p256".parse::<KeyAlgorithm>().ok(),
            Some(KeyAlgorithm::EcdsaP256)
        );
        assert_eq!(
            "ED25519".parse::<KeyAlgorithm>().ok(),
            Some(KeyAlgorithm::Ed25519)
        );
        assert!("rsa".parse::<KeyAlgorithm>().is_err());
    }
}
