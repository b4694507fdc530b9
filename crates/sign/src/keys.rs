//! Signing and verifying keys.
//!
//! Signing: ECDSA P-256 (the default, as cosign), P-384 and P-521, RSA PKCS#1 v1.5 (keys made
//! elsewhere, e.g. `openssl genpkey -algorithm RSA`) and Ed25519. Verifying: those plus RSA-PSS.
//!
//! Signature encodings follow Sigstore: ECDSA signatures are ASN.1 DER, Ed25519 signatures are the
//! raw 64 bytes, RSA signatures the raw modulus-sized integer.
//!
//! Hash choice ([`SignatureScheme`]): by default ([`Signer::sign`]) an ECDSA P-256/P-384
//! signature is over SHA-256, as cosign before v3 did for any ECDSA key
//! (`LoadSignerVerifier(key, crypto.SHA256)`), P-521 over SHA-512, RSA over SHA-256, Ed25519
//! pure. A message signature logged as a `hashedrekord` (Rekor v1 or v2) is made with
//! [`SignatureScheme::for_logged_digest`], and a Rekor v2 entry names it
//! ([`SignatureScheme::for_hashedrekord`]): each curve with its own hash and Ed25519ph, as
//! cosign v3 and sigstore-go sign (`crate::sign::TransparencyLog::scheme_for`). P-384 verification accepts SHA-256 (cosign,
//! sigstore-python: the vector `bundle.txt` is such a signature) and SHA-384; Ed25519
//! verification pure Ed25519 and Ed25519ph (RFC 8032 §5.1, empty context).
//!
//! P-521 and RSA private keys are held by aws-lc-rs, already in the build (tough verifies with
//! it, and vouch-tlog's Rekor v2 log checks these very signatures with it); RustCrypto's `p521`
//! would be a new crate, and aws-lc-rs's RSA signing is its audited constant-time code.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::signature::{self as lc, KeyPair as _};
use der::pem::LineEnding;
use p256::elliptic_curve::Generate;
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts as _;
use sha2::digest::consts::U64;
use sha2::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};
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
    /// ECDSA over NIST P-384 (signing over SHA-256, like cosign before v3; SHA-384 into a
    /// Rekor v2 log).
    EcdsaP384,
    /// ECDSA over NIST P-521 with SHA-512.
    EcdsaP521,
    /// RSA PKCS#1 v1.5 with SHA-256, with a modulus of this many bits.
    Rsa(u32),
    /// Ed25519 (pure, no prehash; Ed25519ph into a Rekor v2 log).
    Ed25519,
}

impl KeyAlgorithm {
    /// The Sigstore `PublicKeyDetails` name of keys of this algorithm.
    pub fn key_details(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
            Self::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
            Self::EcdsaP521 => "PKIX_ECDSA_P521_SHA_512",
            Self::Rsa(bits) => SignatureScheme::RsaPkcs1v15Sha256 { bits }
                .key_details()
                .unwrap_or("PUBLIC_KEY_DETAILS_UNSPECIFIED"),
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
            // Beyond what cosign v3's generate-key-pair makes (P-256 only): the other key
            // types its signing algorithms name (`pkg/cosign/keys.go` `SupportedKeyDetails`).
            "ecdsa-p521" | "p521" | "p-521" => Ok(Self::EcdsaP521),
            "rsa-2048" => Ok(Self::Rsa(2048)),
            "rsa-3072" => Ok(Self::Rsa(3072)),
            "rsa-4096" => Ok(Self::Rsa(4096)),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(Error::UnsupportedAlgorithm {
                algorithm: s.to_owned(),
            }),
        }
    }
}

/// How a signature is made: the key type and what it signs, as Sigstore's `PublicKeyDetails`
/// name them (`sigstore/protobuf-specs:protos/sigstore_common.proto`, with the key and hash
/// pairs of `sigstore/sigstore:pkg/signature/algorithm_registry.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// ECDSA P-256 over SHA-256.
    EcdsaP256Sha256,
    /// ECDSA P-384 over SHA-256: cosign before v3, and vouch's default for P-384 keys.
    EcdsaP384Sha256,
    /// ECDSA P-384 over SHA-384.
    EcdsaP384Sha384,
    /// ECDSA P-521 over SHA-512.
    EcdsaP521Sha512,
    /// RSA PKCS#1 v1.5 over SHA-256 with a modulus of `bits` bits.
    RsaPkcs1v15Sha256 {
        /// Modulus size.
        bits: u32,
    },
    /// Pure Ed25519 over the whole message.
    Ed25519,
    /// Ed25519ph (RFC 8032 §5.1, empty context) over the SHA-512 of the message.
    Ed25519ph,
}

impl SignatureScheme {
    /// The digest the signature covers; `None` for pure Ed25519, which signs the message.
    pub fn hash(self) -> Option<HashAlgorithm> {
        match self {
            Self::EcdsaP256Sha256 | Self::EcdsaP384Sha256 | Self::RsaPkcs1v15Sha256 { .. } => {
                Some(HashAlgorithm::Sha2_256)
            }
            Self::EcdsaP384Sha384 => Some(HashAlgorithm::Sha2_384),
            Self::EcdsaP521Sha512 | Self::Ed25519ph => Some(HashAlgorithm::Sha2_512),
            Self::Ed25519 => None,
        }
    }

    /// The `PublicKeyDetails` name; `None` for RSA sizes Sigstore names none for (not 2048,
    /// 3072 or 4096 bits).
    pub fn key_details(self) -> Option<&'static str> {
        Some(match self {
            Self::EcdsaP256Sha256 => "PKIX_ECDSA_P256_SHA_256",
            Self::EcdsaP384Sha256 => "PKIX_ECDSA_P384_SHA_256",
            Self::EcdsaP384Sha384 => "PKIX_ECDSA_P384_SHA_384",
            Self::EcdsaP521Sha512 => "PKIX_ECDSA_P521_SHA_512",
            Self::RsaPkcs1v15Sha256 { bits: 2048 } => "PKIX_RSA_PKCS1V15_2048_SHA256",
            Self::RsaPkcs1v15Sha256 { bits: 3072 } => "PKIX_RSA_PKCS1V15_3072_SHA256",
            Self::RsaPkcs1v15Sha256 { bits: 4096 } => "PKIX_RSA_PKCS1V15_4096_SHA256",
            Self::RsaPkcs1v15Sha256 { .. } => return None,
            Self::Ed25519 => "PKIX_ED25519",
            Self::Ed25519ph => "PKIX_ED25519_PH",
        })
    }

    /// What [`Signer::sign`] makes with `key` by default (see the module notes).
    pub fn default_for(key: &VerifyingKey) -> Self {
        match &key.inner {
            VerifyingInner::P256(_) => Self::EcdsaP256Sha256,
            VerifyingInner::P384(_) => Self::EcdsaP384Sha256,
            VerifyingInner::P521 => Self::EcdsaP521Sha512,
            VerifyingInner::Rsa(k) => Self::RsaPkcs1v15Sha256 { bits: rsa_bits(k) },
            VerifyingInner::Ed25519(_) => Self::Ed25519,
        }
    }

    /// The scheme a message signature by `key` is made with when a log records it by its
    /// digest alone (a `hashedrekord`, Rekor v1 0.0.1 or Rekor v2 0.0.2): a prehashing one,
    /// the default `PublicKeyDetails` of the key with Ed25519ph for Ed25519, as sigstore-go
    /// signs whatever it logs (`GetDefaultAlgorithmDetails(pubKey, options.WithED25519ph())`;
    /// cosign v3 loads keys that way, `pkg/cosign/keys.go` `GetDefaultLoadOptions`) and
    /// uploads to Rekor v1 with the digest of that hash (`pkg/sign/transparency.go`
    /// `getRekorV1TLE`: `PrefixSHA` of the message digest). Rekor v1 verifies a hashedrekord's
    /// Ed25519 signature as Ed25519ph only (`sigstore/rekor:pkg/types/hashedrekord/v0.0.1/
    /// entry.go`, `options.WithED25519ph()`) and takes `sha256`, `sha384` or `sha512`.
    pub fn for_logged_digest(key: &VerifyingKey) -> Self {
        match Self::default_for(key) {
            Self::EcdsaP384Sha256 => Self::EcdsaP384Sha384,
            Self::Ed25519 => Self::Ed25519ph,
            other => other,
        }
    }

    /// The scheme a signature by `key` logged as a Rekor v2 `hashedrekord` 0.0.2 is made with
    /// ([`SignatureScheme::for_logged_digest`], as sigstore-go `getRekorV2TLE`), which must
    /// have key details: RSA keys other than 2048, 3072 or 4096 bits have none a Rekor v2 log
    /// accepts.
    pub fn for_hashedrekord(key: &VerifyingKey) -> Result<Self> {
        let scheme = Self::for_logged_digest(key);
        match scheme.key_details() {
            Some(_) => Ok(scheme),
            None => Err(Error::UnsupportedAlgorithm {
                algorithm: format!(
                    "{} key in a Rekor v2 entry (RSA keys are logged with 2048, 3072 or 4096 \
                     bits: PKIX_RSA_PKCS1V15_<bits>_SHA256)",
                    key.algorithm_name_with_size()
                ),
            }),
        }
    }

    /// The scheme `name` (a `PublicKeyDetails` name) denotes, when it describes `key`.
    pub fn from_key_details(name: &str, key: &VerifyingKey) -> Option<Self> {
        let scheme = match name {
            "PKIX_ECDSA_P256_SHA_256" => Self::EcdsaP256Sha256,
            "PKIX_ECDSA_P384_SHA_256" => Self::EcdsaP384Sha256,
            "PKIX_ECDSA_P384_SHA_384" => Self::EcdsaP384Sha384,
            "PKIX_ECDSA_P521_SHA_512" => Self::EcdsaP521Sha512,
            "PKIX_RSA_PKCS1V15_2048_SHA256" => Self::RsaPkcs1v15Sha256 { bits: 2048 },
            "PKIX_RSA_PKCS1V15_3072_SHA256" => Self::RsaPkcs1v15Sha256 { bits: 3072 },
            "PKIX_RSA_PKCS1V15_4096_SHA256" => Self::RsaPkcs1v15Sha256 { bits: 4096 },
            "PKIX_ED25519" => Self::Ed25519,
            "PKIX_ED25519_PH" => Self::Ed25519ph,
            _ => return None,
        };
        let fits = match (&key.inner, scheme) {
            (VerifyingInner::P256(_), Self::EcdsaP256Sha256)
            | (VerifyingInner::P384(_), Self::EcdsaP384Sha256 | Self::EcdsaP384Sha384)
            | (VerifyingInner::P521, Self::EcdsaP521Sha512)
            | (VerifyingInner::Ed25519(_), Self::Ed25519 | Self::Ed25519ph) => true,
            (VerifyingInner::Rsa(k), Self::RsaPkcs1v15Sha256 { bits }) => rsa_bits(k) == bits,
            _ => false,
        };
        fits.then_some(scheme)
    }
}

/// The modulus size in whole bytes times 8, as Go's `rsa.PublicKey.Size()*8` that
/// sigstore/sigstore and rekor-tiles compare with the key details.
fn rsa_bits(key: &rsa::PublicKey) -> u32 {
    u32::try_from(key.size() * 8).unwrap_or(u32::MAX)
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
    /// How [`Signer::sign`] signs (by default what [`SignatureScheme::default_for`] says of
    /// the key).
    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::default_for(&self.verifying_key())
    }
    /// Signs `message` with `scheme`. Signers that sign one way only refuse any other scheme
    /// than [`Signer::scheme`], naming it; P-384 PKCS#11 and Vault transit keys sign over
    /// SHA-256 or SHA-384.
    fn sign_as(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>> {
        if scheme == self.scheme() {
            return self.sign(message);
        }
        Err(Error::UnsupportedAlgorithm {
            algorithm: format!(
                "{} signatures from this signer (it signs {})",
                scheme.key_details().unwrap_or("RSA"),
                self.scheme().key_details().unwrap_or("RSA"),
            ),
        })
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
    /// aws-lc-rs signs P-521 over SHA-512 (`ECDSA_P521_SHA512_ASN1_SIGNING`); the public
    /// half is read once, when the key is.
    P521(lc::EcdsaKeyPair, VerifyingKey),
    Rsa(lc::RsaKeyPair, VerifyingKey),
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
            KeyAlgorithm::EcdsaP521 => p521(
                lc::EcdsaKeyPair::generate(&lc::ECDSA_P521_SHA512_ASN1_SIGNING)
                    .map_err(|_| Error::Random)?,
            )?,
            KeyAlgorithm::Rsa(bits) => {
                let size = match bits {
                    2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                    3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                    4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
                    _ => {
                        return Err(Error::UnsupportedAlgorithm {
                            algorithm: format!("RSA-{bits} (generate 2048, 3072 or 4096 bits)"),
                        });
                    }
                };
                rsa(lc::RsaKeyPair::generate(size).map_err(|_| Error::Random)?)?
            }
            KeyAlgorithm::Ed25519 => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|_| Error::Random)?;
                SigningInner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
        };
        Ok(Self { inner })
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (DER): ECDSA P-256/P-384/P-521, Ed25519, RSA.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let inner = if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            SigningInner::P256(k)
        } else if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            SigningInner::P384(k)
        } else if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
            SigningInner::Ed25519(k)
        } else if let Ok(k) = lc::EcdsaKeyPair::from_pkcs8(&lc::ECDSA_P521_SHA512_ASN1_SIGNING, der)
        {
            p521(k)?
        } else if pkcs8_is_rsa(der) {
            rsa(lc::RsaKeyPair::from_pkcs8(der).map_err(rsa_rejected)?)?
        } else {
            return Err(unsupported_pkcs8(der));
        };
        Ok(Self { inner })
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (DER), as in `RSA PRIVATE KEY` PEM files.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        let key = lc::RsaKeyPair::from_der(der).map_err(rsa_rejected)?;
        Ok(Self { inner: rsa(key)? })
    }

    /// Reads a SEC1 `ECPrivateKey` (DER), as in `EC PRIVATE KEY` PEM files.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let inner = if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            SigningInner::P256(k.into())
        } else if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
            SigningInner::P384(k.into())
        } else if let Ok(k) =
            lc::EcdsaKeyPair::from_private_key_der(&lc::ECDSA_P521_SHA512_ASN1_SIGNING, der)
        {
            p521(k)?
        } else {
            return Err(Error::UnsupportedAlgorithm {
                algorithm: "SEC1 key on a curve other than P-256/P-384/P-521".into(),
            });
        };
        Ok(Self { inner })
    }

    /// PKCS#8 DER of the key (what cosign encrypts in its key files). Zeroised on drop.
    pub fn to_pkcs8_der(&self) -> Result<pkcs8::SecretDocument> {
        let lc_der = |der: std::result::Result<Vec<u8>, String>| {
            der.map_err(|e| Error::malformed("private key", e))
                .and_then(|bytes| {
                    let bytes = zeroize::Zeroizing::new(bytes);
                    pkcs8::SecretDocument::try_from(bytes.as_slice())
                        .map_err(|e| Error::malformed("private key", e))
                })
        };
        match &self.inner {
            SigningInner::P256(k) => k
                .to_pkcs8_der()
                .map_err(|e| Error::malformed("private key", e)),
            SigningInner::P384(k) => k
                .to_pkcs8_der()
                .map_err(|e| Error::malformed("private key", e)),
            SigningInner::Ed25519(k) => k
                .to_pkcs8_der()
                .map_err(|e| Error::malformed("private key", e)),
            SigningInner::P521(k, _) => lc_der(
                k.to_pkcs8v1()
                    .map(|d| d.as_ref().to_vec())
                    .map_err(|e| e.to_string()),
            ),
            SigningInner::Rsa(k, _) => lc_der(
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(k)
                    .map(|d| d.as_ref().to_vec())
                    .map_err(|e| e.to_string()),
            ),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match &self.inner {
            SigningInner::P256(_) => KeyAlgorithm::EcdsaP256,
            SigningInner::P384(_) => KeyAlgorithm::EcdsaP384,
            SigningInner::P521(..) => KeyAlgorithm::EcdsaP521,
            SigningInner::Rsa(k, _) => {
                KeyAlgorithm::Rsa(u32::try_from(k.public_modulus_len() * 8).unwrap_or(u32::MAX))
            }
            SigningInner::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// Signs `message` with [`Signer::scheme`]: ECDSA returns ASN.1 DER, Ed25519 the raw 64
    /// bytes, RSA the modulus-sized integer.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        // The default scheme always fits the key.
        self.sign_with(self.scheme(), message).unwrap_or_default()
    }

    /// Signs `message` with `scheme`, which must fit the key.
    pub fn sign_with(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>> {
        use signature::RandomizedSigner as _;
        use signature::Signer as _;
        use signature::hazmat::RandomizedPrehashSigner as _;
        let failed = |what: &str| Error::malformed("signature", format!("{what} signing failed"));
        let rng = aws_lc_rs::rand::SystemRandom::new();
        // ECDSA nonces are hedged (RFC 6979 with added randomness, as Go's crypto/ecdsa and
        // so cosign sign): signing the same bytes twice gives two signatures. Deterministic
        // signatures would make a re-signed artifact the same log entry, which rekor-tiles
        // refuses as a duplicate (409 AlreadyExists, `internal/server/service.go`).
        let mut os = getrandom::SysRng;
        match (&self.inner, scheme) {
            (SigningInner::P256(k), SignatureScheme::EcdsaP256Sha256) => {
                let sig: p256::ecdsa::Signature = k
                    .try_sign_with_rng(&mut os, message)
                    .map_err(|_| failed("P-256"))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (SigningInner::P384(k), SignatureScheme::EcdsaP384Sha256) => {
                let sig: p384::ecdsa::Signature = k
                    .sign_prehash_with_rng(&mut os, &Sha256::digest(message))
                    .map_err(|_| failed("P-384"))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (SigningInner::P384(k), SignatureScheme::EcdsaP384Sha384) => {
                let sig: p384::ecdsa::Signature = k
                    .try_sign_with_rng(&mut os, message)
                    .map_err(|_| failed("P-384"))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (SigningInner::P521(k, _), SignatureScheme::EcdsaP521Sha512) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed("P-521")),
            (SigningInner::Rsa(k, _), SignatureScheme::RsaPkcs1v15Sha256 { .. }) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&lc::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| failed("RSA"))?;
                Ok(sig)
            }
            (SigningInner::Ed25519(k), SignatureScheme::Ed25519) => {
                Ok(k.sign(message).to_bytes().to_vec())
            }
            (SigningInner::Ed25519(k), SignatureScheme::Ed25519ph) => {
                // RFC 8032 §5.1 Ed25519ph with an empty context, over SHA-512(message), as Go's
                // `ed25519.Sign` with `Options{Hash: crypto.SHA512}` (sigstore/sigstore
                // `ED25519phSignerVerifier`).
                let mut prehash = Sha512::new();
                Digest::update(&mut prehash, message);
                k.sign_prehashed(prehash, None)
                    .map(|s| s.to_bytes().to_vec())
                    .map_err(|_| failed("Ed25519ph"))
            }
            (_, other) => Err(Error::UnsupportedAlgorithm {
                algorithm: format!(
                    "{} with a {} key",
                    other.key_details().unwrap_or("RSA PKCS#1 v1.5"),
                    self.public_key().algorithm_name_with_size()
                ),
            }),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> VerifyingKey {
        let (inner, spki_der) = match &self.inner {
            SigningInner::P256(k) => {
                let v = *k.verifying_key();
                let der = v.to_public_key_der().map(|d| d.as_bytes().to_vec());
                (VerifyingInner::P256(v), der)
            }
            SigningInner::P384(k) => {
                let v = *k.verifying_key();
                let der = v.to_public_key_der().map(|d| d.as_bytes().to_vec());
                (VerifyingInner::P384(v), der)
            }
            SigningInner::Ed25519(k) => {
                let v = k.verifying_key();
                let der = v.to_public_key_der().map(|d| d.as_bytes().to_vec());
                (VerifyingInner::Ed25519(v), der)
            }
            SigningInner::P521(_, public) | SigningInner::Rsa(_, public) => return public.clone(),
        };
        // Encoding a public key we hold in memory cannot fail except on allocation failure.
        let spki_der = spki_der.unwrap_or_default();
        VerifyingKey { inner, spki_der }
    }
}

/// A P-521 signing key with its public half.
fn p521(key: lc::EcdsaKeyPair) -> Result<SigningInner> {
    let public = lc_public(key.public_key().as_der())?;
    Ok(SigningInner::P521(key, public))
}

/// An RSA signing key with its public half.
fn rsa(key: lc::RsaKeyPair) -> Result<SigningInner> {
    let public = lc_public(key.public_key().as_der())?;
    Ok(SigningInner::Rsa(key, public))
}

fn lc_public(
    spki: std::result::Result<PublicKeyX509Der<'static>, aws_lc_rs::error::Unspecified>,
) -> Result<VerifyingKey> {
    let spki = spki.map_err(|_| Error::malformed("public key", "encoding failed"))?;
    VerifyingKey::from_spki_der(spki.as_ref())
}

impl Signer for SigningKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.sign_with(self.scheme(), message)
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.public_key()
    }

    fn sign_as(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>> {
        self.sign_with(scheme, message)
    }
}

/// Whether a PKCS#8 `PrivateKeyInfo` holds an RSA key (`rsaEncryption`, RFC 8017 A.1).
fn pkcs8_is_rsa(der: &[u8]) -> bool {
    const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
    pkcs8::PrivateKeyInfoRef::try_from(der)
        .is_ok_and(|info| info.algorithm.oid.to_string() == RSA_ENCRYPTION)
}

fn rsa_rejected(e: aws_lc_rs::error::KeyRejected) -> Error {
    Error::UnsupportedAlgorithm {
        algorithm: format!("RSA private key refused ({e}; 2048 to 8192 bits are accepted)"),
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
    /// Verified by aws-lc-rs from the SubjectPublicKeyInfo (validated when read).
    P521,
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
        } else if is_p521_spki(der)
            && lc::ParsedPublicKey::new(&lc::ECDSA_P521_SHA512_ASN1, der).is_ok()
        {
            VerifyingInner::P521
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
            VerifyingInner::P521 => "ECDSA P-521",
            VerifyingInner::Ed25519(_) => "Ed25519",
            VerifyingInner::Rsa(_) => "RSA",
        }
    }

    /// [`VerifyingKey::algorithm_name`], with the modulus size for RSA keys (`RSA-2048`).
    pub fn algorithm_name_with_size(&self) -> String {
        match &self.inner {
            VerifyingInner::Rsa(k) => format!("RSA-{}", rsa_bits(k)),
            _ => self.algorithm_name().to_owned(),
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
            VerifyingInner::P521 => p521_ok(&self.spki_der, None, message, signature),
            // Pure Ed25519, or Ed25519ph over SHA-512(message) (cosign v3 and sigstore-go sign
            // with Ed25519ph whenever they log; the two are domain-separated by RFC 8032's
            // dom2 prefix, so neither can pass for the other).
            VerifyingInner::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| {
                    k.verify_strict(message, &sig).is_ok()
                        || ed25519ph_ok(k, &Sha512::digest(message).into(), &sig)
                }),
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
            VerifyingInner::P521 => p521_ok(&self.spki_der, Some(hash), digest, signature),
            // Ed25519ph signs SHA-512(M) (RFC 8032 §5.1).
            VerifyingInner::Ed25519(k) if hash == HashAlgorithm::Sha2_512 => {
                let prehash = <[u8; 64]>::try_from(digest).ok();
                let sig = ed25519_dalek::Signature::from_slice(signature).ok();
                prehash
                    .zip(sig)
                    .is_some_and(|(prehash, sig)| ed25519ph_ok(k, &prehash, &sig))
            }
            VerifyingInner::Ed25519(_) => {
                return Err(Error::UnsupportedAlgorithm {
                    algorithm: format!(
                        "Ed25519 over a {} digest (Ed25519ph signs SHA-512)",
                        hash.proto_name()
                    ),
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

/// Whether `spki_der` is an EC key on secp521r1 (RFC 5480 §2.1.1.1).
fn is_p521_spki(spki_der: &[u8]) -> bool {
    const EC_PUBLIC_KEY: spki::ObjectIdentifier =
        spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const SECP521R1: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.35");
    spki::SubjectPublicKeyInfoRef::try_from(spki_der).is_ok_and(|info| {
        info.algorithm.oid == EC_PUBLIC_KEY
            && info
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<spki::ObjectIdentifier>().ok())
                == Some(SECP521R1)
    })
}

/// P-521 ECDSA with aws-lc-rs: over `message` hashed with SHA-512 (`hash: None`), or over
/// `message` as a digest of `hash` (only SHA-512, the hash P-521 keys sign with).
fn p521_ok(spki_der: &[u8], hash: Option<HashAlgorithm>, message: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = lc::ParsedPublicKey::new(&lc::ECDSA_P521_SHA512_ASN1, spki_der) else {
        return false;
    };
    match hash {
        None => key.verify_sig(message, sig).is_ok(),
        Some(HashAlgorithm::Sha2_512) => {
            aws_lc_rs::digest::Digest::import_less_safe(message, &aws_lc_rs::digest::SHA512)
                .is_ok_and(|d| key.verify_digest_sig(&d, sig).is_ok())
        }
        Some(_) => false,
    }
}

/// Ed25519ph (RFC 8032 §5.1, empty context) over the SHA-512 digest `prehash`, verified
/// strictly as pure Ed25519 is. Public for the Rekor v2 log, which checks Ed25519ph
/// hashedrekords over the digest alone.
pub fn ed25519ph_ok(
    key: &ed25519_dalek::VerifyingKey,
    prehash: &[u8; 64],
    sig: &ed25519_dalek::Signature,
) -> bool {
    key.verify_prehashed_strict(Sha512Output(*prehash), None, sig)
        .is_ok()
}

/// A finished SHA-512 output handed to ed25519-dalek's Ed25519ph, which takes the prehash as a
/// `Digest` it finalizes: this one finalizes to the given bytes (a hashedrekord carries only
/// `PH(M)`, never `M`).
#[derive(Clone)]
struct Sha512Output([u8; 64]);

impl Default for Sha512Output {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl HashMarker for Sha512Output {}

impl OutputSizeUser for Sha512Output {
    type OutputSize = U64;
}

impl Update for Sha512Output {
    /// Never called: the value is built finished and only finalized.
    fn update(&mut self, _data: &[u8]) {}
}

impl FixedOutput for Sha512Output {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.0);
    }
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

    /// Every scheme a key can sign with: the signature verifies over the message and over its
    /// digest, and not over another message, nor with another key of the same type.
    #[test]
    fn every_scheme_signs_and_verifies_over_message_and_digest() {
        let cases = [
            (KeyAlgorithm::EcdsaP256, SignatureScheme::EcdsaP256Sha256),
            (KeyAlgorithm::EcdsaP384, SignatureScheme::EcdsaP384Sha256),
            (KeyAlgorithm::EcdsaP384, SignatureScheme::EcdsaP384Sha384),
            (KeyAlgorithm::EcdsaP521, SignatureScheme::EcdsaP521Sha512),
            (
                KeyAlgorithm::Rsa(2048),
                SignatureScheme::RsaPkcs1v15Sha256 { bits: 2048 },
            ),
            (KeyAlgorithm::Ed25519, SignatureScheme::Ed25519),
            (KeyAlgorithm::Ed25519, SignatureScheme::Ed25519ph),
        ];
        for (algorithm, scheme) in cases {
            let key = SigningKey::generate(algorithm).expect("generate");
            let other = SigningKey::generate(algorithm).expect("generate");
            assert_eq!(key.algorithm(), algorithm);
            let public = key.public_key();
            let sig = key.sign_with(scheme, b"artifact").expect("sign");
            public.verify("test", b"artifact", &sig).expect("verifies");
            // ECDSA is hedged (as Go's, so cosign's): the same bytes signed again are another
            // signature, hence another log entry, not a duplicate a Rekor v2 log refuses.
            // RSA PKCS#1 v1.5 and Ed25519 are deterministic by definition (as in Go).
            let again = key.sign_with(scheme, b"artifact").expect("sign");
            public
                .verify("test", b"artifact", &again)
                .expect("verifies");
            let deterministic = matches!(
                scheme,
                SignatureScheme::RsaPkcs1v15Sha256 { .. }
                    | SignatureScheme::Ed25519
                    | SignatureScheme::Ed25519ph
            );
            assert_eq!(sig == again, deterministic, "{scheme:?}");
            assert!(
                public.verify("test", b"artifacT", &sig).is_err(),
                "{scheme:?}"
            );
            assert!(
                other
                    .public_key()
                    .verify("test", b"artifact", &sig)
                    .is_err(),
                "{scheme:?}"
            );
            if let Some(hash) = scheme.hash() {
                let digest = hash.digest(b"artifact");
                public
                    .verify_prehashed("test", hash, &digest, &sig)
                    .expect("verifies over the digest");
                assert!(
                    public
                        .verify_prehashed("test", hash, &hash.digest(b"other"), &sig)
                        .is_err(),
                    "{scheme:?}"
                );
            }
            // The key details name the scheme for this key, and no other key type.
            if let Some(name) = scheme.key_details() {
                assert_eq!(
                    SignatureScheme::from_key_details(name, &public),
                    Some(scheme)
                );
                let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("p256");
                if algorithm != KeyAlgorithm::EcdsaP256 {
                    assert_eq!(
                        SignatureScheme::from_key_details(name, &p256.public_key()),
                        None
                    );
                }
            }
            // The key survives PKCS#8 and its public half SubjectPublicKeyInfo.
            let der = key.to_pkcs8_der().expect("pkcs8");
            let again = SigningKey::from_pkcs8_der(der.as_bytes()).expect("pkcs8 round trip");
            assert_eq!(again.public_key(), public);
            let reread = VerifyingKey::from_pem(&public.to_pem()).expect("pem");
            assert_eq!(reread, public);
            reread
                .verify("test", b"artifact", &sig)
                .expect("reread verifies");
        }
    }

    #[test]
    fn rekor_v2_schemes_follow_sigstore_go() {
        let expect = [
            (
                KeyAlgorithm::EcdsaP256,
                "PKIX_ECDSA_P256_SHA_256",
                HashAlgorithm::Sha2_256,
            ),
            (
                KeyAlgorithm::EcdsaP384,
                "PKIX_ECDSA_P384_SHA_384",
                HashAlgorithm::Sha2_384,
            ),
            (
                KeyAlgorithm::EcdsaP521,
                "PKIX_ECDSA_P521_SHA_512",
                HashAlgorithm::Sha2_512,
            ),
            (
                KeyAlgorithm::Rsa(3072),
                "PKIX_RSA_PKCS1V15_3072_SHA256",
                HashAlgorithm::Sha2_256,
            ),
            (
                KeyAlgorithm::Ed25519,
                "PKIX_ED25519_PH",
                HashAlgorithm::Sha2_512,
            ),
        ];
        for (algorithm, details, hash) in expect {
            let key = SigningKey::generate(algorithm)
                .expect("generate")
                .public_key();
            let scheme = SignatureScheme::for_hashedrekord(&key).expect("loggable");
            assert_eq!(scheme.key_details(), Some(details));
            assert_eq!(scheme.hash(), Some(hash));
        }
        // Pure Ed25519 signs no digest: an Ed25519ph signature is another signature.
        let ed = SigningKey::generate(KeyAlgorithm::Ed25519).expect("ed25519");
        let pure = ed.sign_with(SignatureScheme::Ed25519, b"m").expect("pure");
        let ph = ed.sign_with(SignatureScheme::Ed25519ph, b"m").expect("ph");
        assert_ne!(pure, ph);
        let digest = HashAlgorithm::Sha2_512.digest(b"m");
        assert!(
            ed.public_key()
                .verify_prehashed("test", HashAlgorithm::Sha2_512, &digest, &pure)
                .is_err()
        );
        // A scheme of another key type is refused, naming both.
        let e = ed
            .sign_with(SignatureScheme::EcdsaP256Sha256, b"m")
            .expect_err("wrong scheme");
        assert!(e.to_string().contains("PKIX_ECDSA_P256_SHA_256"), "{e}");
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
