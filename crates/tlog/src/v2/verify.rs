//! The keys and signatures a Rekor v2 log accepts, and their verification.
//!
//! **What is accepted** is rekor-tiles' `AllowedClientSigningAlgorithms`
//! (`internal/algorithmregistry/algorithmregistry.go`, as of 74e3eb0, 2026-08) with the key and
//! hash pairs of sigstore/sigstore's algorithm registry (`pkg/signature/algorithm_registry.go`):
//!
//! | `keyDetails` | key | hashedrekord: signature over the request's digest | dsse: signature over the PAE |
//! |---|---|---|---|
//! | `PKIX_ECDSA_P256_SHA_256` | P-256 | ECDSA, 32-byte digest | ECDSA over SHA-256(PAE) |
//! | `PKIX_ECDSA_P384_SHA_384` | P-384 | ECDSA, 48-byte digest | ECDSA over SHA-384(PAE) |
//! | `PKIX_ECDSA_P521_SHA_512` | P-521 | ECDSA, 64-byte digest | ECDSA over SHA-512(PAE) |
//! | `PKIX_RSA_PKCS1V15_{2048,3072,4096}_SHA256` | RSA of that size | PKCS#1 v1.5, 32-byte digest | PKCS#1 v1.5 over SHA-256(PAE) |
//! | `PKIX_ED25519_PH` | Ed25519 | Ed25519ph (RFC 8032 §5.1, empty context) over the 64-byte SHA-512 digest | refused |
//! | `PKIX_ED25519` | Ed25519 | refused: pure Ed25519 signs the artifact, which a hashedrekord does not carry | Ed25519 over the PAE |
//!
//! Everything else is refused: RSA-PSS (rekor-tiles' registry refuses `rsa-sign-pss-*`, and its
//! hashedrekord verifier is PKCS#1 v1.5), the deprecated `PKIX_ECDSA_P384_SHA_256` and
//! `PKIX_ECDSA_P521_SHA_256`, other RSA sizes, other curves. `PKIX_ED25519` was accepted for
//! DSSE by rekor-tiles until it dropped DSSE entries; this log still takes those requests.
//!
//! **Where vouch is stricter than rekor-tiles** (each refusal names the check):
//! * `keyDetails` must describe the key: rekor-tiles only pairs the key with the hash the details
//!   name (so an RSA-2048 key under `PKIX_ECDSA_P256_SHA_256`, or `PKIX_RSA_PSS_2048_SHA256` with
//!   a PKCS#1 v1.5 signature, passes there), and the details are then logged as sent.
//! * RSA moduli under 2048 bits are refused by aws-lc-rs even when Go's size check
//!   (`rsaKey.Size()*8`: whole bytes, so a 2047-bit modulus counts as 2048) lets them pass.
//! * Ed25519 and Ed25519ph signatures are verified strictly (ed25519-dalek `verify_strict`:
//!   small-order keys and `R` refused, as vouch verifies Ed25519 everywhere); Go's crypto/ed25519
//!   accepts those.
//! * `PKIX_ED25519_PH` in a DSSE request is refused (rekor-tiles verified it as pure Ed25519).
//!
//! **Encodings**, as Go's crypto/x509 and crypto/ecdsa (rekor-tiles, sigstore-go) read them:
//! SubjectPublicKeyInfo in DER; EC points uncompressed only (Go's `elliptic.Unmarshal`; the
//! RustCrypto parser this replaces also took compressed points, which no Go verifier can read);
//! RSA parameters NULL; Ed25519 parameters absent. ECDSA signatures are a DER `Ecdsa-Sig-Value`
//! parsed strictly (no trailing bytes, minimal integers, `0 < r, s < n`); high-S values verify,
//! as in Go, RustCrypto's `p256`/`p384` and aws-lc.
//!
//! **How**: ECDSA and RSA with aws-lc-rs (`ParsedPublicKey::verify_digest_sig` over
//! `Digest::import_less_safe`, `verify_sig` over the PAE); aws-lc-rs is already in the build
//! through `tough`. Its P-256 verification is several times faster than RustCrypto's `p256`
//! (`vouch-bench tlog-v2` prints both). Ed25519 and Ed25519ph with ed25519-dalek.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use der::asn1::UintRef;
use der::{Decode as _, Encode as _, Reader as _, SliceReader};
use ed25519_dalek::Signature as EdSignature;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use vouch_sign::HashAlgorithm;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The entry kind a signature is verified for: what it signs differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A hashedrekord: the signature is over the request's digest.
    HashedRekord,
    /// A DSSE envelope: the signature is over the PAE.
    Dsse,
}

/// A `PublicKeyDetails` value this log accepts (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the proto enum's values, named as in protobuf-specs
pub enum KeyDetails {
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    EcdsaP521Sha512,
    Rsa2048Pkcs1v15Sha256,
    Rsa3072Pkcs1v15Sha256,
    Rsa4096Pkcs1v15Sha256,
    Ed25519,
    Ed25519Ph,
}

/// What a key is, as far as the accepted details tell keys apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on NIST P-256.
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// ECDSA on NIST P-521.
    P521,
    /// RSA with a modulus of this many bits, counted in whole bytes as Go's `Size()*8`.
    Rsa(u32),
    /// Ed25519.
    Ed25519,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::P256 => f.write_str("ECDSA P-256"),
            Self::P384 => f.write_str("ECDSA P-384"),
            Self::P521 => f.write_str("ECDSA P-521"),
            Self::Rsa(bits) => write!(f, "RSA-{bits}"),
            Self::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

/// Every accepted name, for the refusal of another.
const ACCEPTED: &str = "PKIX_ECDSA_P256_SHA_256, PKIX_ECDSA_P384_SHA_384, \
    PKIX_ECDSA_P521_SHA_512, PKIX_RSA_PKCS1V15_2048_SHA256, PKIX_RSA_PKCS1V15_3072_SHA256, \
    PKIX_RSA_PKCS1V15_4096_SHA256, PKIX_ED25519_PH (hashedrekord), PKIX_ED25519 (dsse)";

impl KeyDetails {
    /// The details named `name` (the proto enum's name, as proto3 JSON writes it), if this log
    /// accepts them for `kind`; otherwise why not.
    pub fn parse(name: &str, kind: EntryKind) -> Result<Self, String> {
        let details = match name {
            "PKIX_ECDSA_P256_SHA_256" => Self::EcdsaP256Sha256,
            "PKIX_ECDSA_P384_SHA_384" => Self::EcdsaP384Sha384,
            "PKIX_ECDSA_P521_SHA_512" => Self::EcdsaP521Sha512,
            "PKIX_RSA_PKCS1V15_2048_SHA256" => Self::Rsa2048Pkcs1v15Sha256,
            "PKIX_RSA_PKCS1V15_3072_SHA256" => Self::Rsa3072Pkcs1v15Sha256,
            "PKIX_RSA_PKCS1V15_4096_SHA256" => Self::Rsa4096Pkcs1v15Sha256,
            "PKIX_ED25519" => Self::Ed25519,
            "PKIX_ED25519_PH" => Self::Ed25519Ph,
            other => {
                return Err(format!(
                    "keyDetails {:?} is not accepted ({ACCEPTED})",
                    other.chars().take(64).collect::<String>()
                ));
            }
        };
        match (details, kind) {
            (Self::Ed25519, EntryKind::HashedRekord) => Err(
                "keyDetails \"PKIX_ED25519\" is not accepted for a hashedrekord: pure Ed25519 \
                 signs the artifact, which the log never sees (sign with Ed25519ph, \
                 PKIX_ED25519_PH)"
                    .into(),
            ),
            (Self::Ed25519Ph, EntryKind::Dsse) => Err(
                "keyDetails \"PKIX_ED25519_PH\" is not accepted for DSSE: a DSSE signature is \
                 over the PAE (PKIX_ED25519)"
                    .into(),
            ),
            _ => Ok(details),
        }
    }

    /// The proto enum name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "PKIX_ECDSA_P256_SHA_256",
            Self::EcdsaP384Sha384 => "PKIX_ECDSA_P384_SHA_384",
            Self::EcdsaP521Sha512 => "PKIX_ECDSA_P521_SHA_512",
            Self::Rsa2048Pkcs1v15Sha256 => "PKIX_RSA_PKCS1V15_2048_SHA256",
            Self::Rsa3072Pkcs1v15Sha256 => "PKIX_RSA_PKCS1V15_3072_SHA256",
            Self::Rsa4096Pkcs1v15Sha256 => "PKIX_RSA_PKCS1V15_4096_SHA256",
            Self::Ed25519 => "PKIX_ED25519",
            Self::Ed25519Ph => "PKIX_ED25519_PH",
        }
    }

    /// The digest a hashedrekord signature is over (`None`: pure Ed25519 signs the message).
    pub fn hash(self) -> Option<HashAlgorithm> {
        match self {
            Self::EcdsaP256Sha256
            | Self::Rsa2048Pkcs1v15Sha256
            | Self::Rsa3072Pkcs1v15Sha256
            | Self::Rsa4096Pkcs1v15Sha256 => Some(HashAlgorithm::Sha2_256),
            Self::EcdsaP384Sha384 => Some(HashAlgorithm::Sha2_384),
            Self::EcdsaP521Sha512 | Self::Ed25519Ph => Some(HashAlgorithm::Sha2_512),
            Self::Ed25519 => None,
        }
    }

    /// The key these details describe.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Self::EcdsaP256Sha256 => KeyKind::P256,
            Self::EcdsaP384Sha384 => KeyKind::P384,
            Self::EcdsaP521Sha512 => KeyKind::P521,
            Self::Rsa2048Pkcs1v15Sha256 => KeyKind::Rsa(2048),
            Self::Rsa3072Pkcs1v15Sha256 => KeyKind::Rsa(3072),
            Self::Rsa4096Pkcs1v15Sha256 => KeyKind::Rsa(4096),
            Self::Ed25519 | Self::Ed25519Ph => KeyKind::Ed25519,
        }
    }

    /// aws-lc-rs's algorithm for ECDSA and RSA details.
    fn aws_lc(self) -> Option<&'static dyn VerificationAlgorithm> {
        match self {
            Self::EcdsaP256Sha256 => Some(&signature::ECDSA_P256_SHA256_ASN1),
            Self::EcdsaP384Sha384 => Some(&signature::ECDSA_P384_SHA384_ASN1),
            Self::EcdsaP521Sha512 => Some(&signature::ECDSA_P521_SHA512_ASN1),
            // 2048..=8192 bits; the exact size was checked against the details.
            Self::Rsa2048Pkcs1v15Sha256
            | Self::Rsa3072Pkcs1v15Sha256
            | Self::Rsa4096Pkcs1v15Sha256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
            Self::Ed25519 | Self::Ed25519Ph => None,
        }
    }
}

/// A client's public key, parsed for the details it was sent with.
pub struct ClientKey {
    details: KeyDetails,
    inner: Inner,
}

enum Inner {
    AwsLc(ParsedPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// Reads what a DER SubjectPublicKeyInfo holds (the checks of Go's `x509.ParsePKIXPublicKey`
/// that tell keys apart), without trusting it to be well formed.
pub fn key_kind(spki_der: &[u8]) -> Result<KeyKind, String> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| format!("not a DER SubjectPublicKeyInfo: {e}"))?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or("the public key BIT STRING has unused bits")?;
    let params = spki.algorithm.parameters;
    match spki.algorithm.oid {
        EC_PUBLIC_KEY => {
            let curve: ObjectIdentifier = params
                .ok_or("an EC key without a named curve")?
                .decode_as()
                .map_err(|e| format!("EC key parameters are not a named curve: {e}"))?;
            let (kind, field) = match curve {
                SECP256R1 => (KeyKind::P256, 32),
                SECP384R1 => (KeyKind::P384, 48),
                SECP521R1 => (KeyKind::P521, 66),
                other => return Err(format!("EC curve {other} is not accepted")),
            };
            if key.first() != Some(&4) || key.len() != 1 + 2 * field {
                return Err(format!(
                    "{kind} key is not an uncompressed point (04 || X || Y, {} bytes)",
                    1 + 2 * field
                ));
            }
            Ok(kind)
        }
        RSA_ENCRYPTION => {
            if !params.is_some_and(der::asn1::AnyRef::is_null) {
                return Err("RSA key parameters are not NULL".into());
            }
            let mut reader = SliceReader::new(key).map_err(|e| e.to_string())?;
            let modulus = reader
                .sequence(|r| {
                    let n = UintRef::decode(r)?;
                    UintRef::decode(r)?;
                    Ok::<_, der::Error>(n)
                })
                .map_err(|e| format!("not a DER RSAPublicKey: {e}"))?;
            reader.finish().map_err(|e| format!("RSAPublicKey: {e}"))?;
            let bits = u32::try_from(modulus.as_bytes().len() * 8).unwrap_or(u32::MAX);
            Ok(KeyKind::Rsa(bits))
        }
        ED25519 => {
            if params.is_some() {
                return Err("Ed25519 key with parameters".into());
            }
            if key.len() != 32 {
                return Err(format!("Ed25519 key of {} bytes (32 expected)", key.len()));
            }
            Ok(KeyKind::Ed25519)
        }
        other => Err(format!("public key algorithm {other} is not accepted")),
    }
}

impl ClientKey {
    /// Parses a DER SubjectPublicKeyInfo that `details` must describe.
    pub fn parse(spki_der: &[u8], details: KeyDetails) -> Result<Self, KeyError> {
        let kind = key_kind(spki_der).map_err(KeyError::Malformed)?;
        let want = details.key_kind();
        if kind != want {
            return Err(KeyError::Mismatch {
                details: details.name(),
                needs: want,
                holds: kind,
            });
        }
        let inner = match details.aws_lc() {
            Some(alg) => Inner::AwsLc(
                ParsedPublicKey::new(alg, spki_der)
                    .map_err(|e| KeyError::Malformed(format!("{kind} key refused: {e}")))?,
            ),
            None => {
                let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
                    .map_err(|e| KeyError::Malformed(e.to_string()))?;
                let bytes: [u8; 32] = spki
                    .subject_public_key
                    .as_bytes()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| KeyError::Malformed("Ed25519 key of the wrong size".into()))?;
                Inner::Ed25519(
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|e| {
                        KeyError::Malformed(format!("Ed25519 key is not a curve point: {e}"))
                    })?,
                )
            }
        };
        Ok(Self { details, inner })
    }

    /// The public key of a DER X.509 certificate (as Go's `x509.ParseCertificate` + `PublicKey`).
    pub fn from_certificate(cert_der: &[u8], details: KeyDetails) -> Result<Self, KeyError> {
        let cert = x509_cert::Certificate::from_der(cert_der)
            .map_err(|e| KeyError::Malformed(format!("not a DER X.509 certificate: {e}")))?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| KeyError::Malformed(format!("certificate public key: {e}")))?;
        Self::parse(&spki, details)
    }

    /// The details the key was parsed for.
    pub fn details(&self) -> KeyDetails {
        self.details
    }

    /// Verifies a hashedrekord signature over `digest` (whose length the caller checked against
    /// [`KeyDetails::hash`]).
    pub fn verify_digest(&self, digest: &[u8], sig: &[u8]) -> Result<(), vouch_sign::Error> {
        let ok = match (&self.inner, self.details.hash()) {
            (Inner::AwsLc(key), Some(hash)) => {
                let algorithm = match hash {
                    HashAlgorithm::Sha2_256 => &digest::SHA256,
                    HashAlgorithm::Sha2_384 => &digest::SHA384,
                    HashAlgorithm::Sha2_512 => &digest::SHA512,
                };
                digest::Digest::import_less_safe(digest, algorithm)
                    .is_ok_and(|d| key.verify_digest_sig(&d, sig).is_ok())
            }
            (Inner::Ed25519(key), Some(HashAlgorithm::Sha2_512)) => {
                let prehash = <[u8; 64]>::try_from(digest).ok();
                let sig = EdSignature::from_slice(sig).ok();
                prehash.zip(sig).is_some_and(|(prehash, sig)| {
                    vouch_sign::keys::ed25519ph_ok(key, &prehash, &sig)
                })
            }
            _ => false,
        };
        ok.then_some(()).ok_or(vouch_sign::Error::SignatureInvalid {
            check: "hashedrekord signature",
        })
    }

    /// Verifies a DSSE signature over `message` (the PAE).
    pub fn verify_message(&self, message: &[u8], sig: &[u8]) -> Result<(), vouch_sign::Error> {
        let ok = match (&self.inner, self.details) {
            (Inner::AwsLc(key), _) => key.verify_sig(message, sig).is_ok(),
            (Inner::Ed25519(key), KeyDetails::Ed25519) => EdSignature::from_slice(sig)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
            _ => false,
        };
        ok.then_some(()).ok_or(vouch_sign::Error::SignatureInvalid {
            check: "DSSE envelope",
        })
    }
}

/// Where a verifier's key bytes came from: a bare key or a certificate holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMaterial {
    /// `publicKey.rawBytes`: a DER SubjectPublicKeyInfo.
    PublicKey,
    /// `x509Certificate.rawBytes`: a DER certificate.
    Certificate,
}

/// Client keys already parsed, by their exact request bytes: a signer logging many entries
/// sends the same key (or certificate) each time, and parsing it (DER, then aws-lc-rs's point
/// decoding and key check) costs about a third of an ECDSA verification. Only successful
/// parses are kept, under the bytes, material and details they were parsed from, so a hit
/// is the key [`ClientKey::parse`] would build again; the signature is still verified on
/// every request. Bounded: when full the cache starts over.
#[derive(Default)]
pub struct KeyCache {
    keys: std::sync::Mutex<std::collections::HashMap<Box<[u8]>, CachedKey>>,
}

struct CachedKey {
    material: KeyMaterial,
    details: KeyDetails,
    key: std::sync::Arc<ClientKey>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.keys.lock().map_or(0, |k| k.len());
        f.debug_struct("KeyCache").field("keys", &len).finish()
    }
}

impl KeyCache {
    /// Most keys kept (at most a few KiB each: RSA-4096 certificates).
    pub const MAX_KEYS: usize = 1024;

    /// The key of `raw` for `details`: from the cache, or parsed (and kept when it parses).
    pub fn get_or_parse(
        &self,
        material: KeyMaterial,
        raw: &[u8],
        details: KeyDetails,
    ) -> Result<std::sync::Arc<ClientKey>, KeyError> {
        if let Ok(keys) = self.keys.lock()
            && let Some(hit) = keys.get(raw)
            && hit.material == material
            && hit.details == details
        {
            return Ok(std::sync::Arc::clone(&hit.key));
        }
        // Parsed outside the lock: another request may parse the same key meanwhile, and
        // both results are the same.
        let key = std::sync::Arc::new(match material {
            KeyMaterial::PublicKey => ClientKey::parse(raw, details)?,
            KeyMaterial::Certificate => ClientKey::from_certificate(raw, details)?,
        });
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= Self::MAX_KEYS {
                keys.clear();
            }
            keys.insert(
                raw.into(),
                CachedKey {
                    material,
                    details,
                    key: std::sync::Arc::clone(&key),
                },
            );
        }
        Ok(key)
    }
}

/// Why a client key was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a key (or certificate) this log can read.
    #[error("{0}")]
    Malformed(String),
    /// A key of another type than the details name.
    #[error("keyDetails {details} needs an {needs} key, the verifier holds an {holds} key")]
    Mismatch {
        /// The details' name.
        details: &'static str,
        /// The key they describe.
        needs: KeyKind,
        /// The key sent.
        holds: KeyKind,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vouch_sign::{KeyAlgorithm, SigningKey};

    /// Order of the P-256 group (SEC 2 §2.4.2).
    const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

    fn der_int(bytes: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| *b >= 0x80) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }

    fn der_sig(r: &[u8], s: &[u8]) -> Vec<u8> {
        let body = [der_int(r), der_int(s)].concat();
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    /// (r, s) of a short-form DER `Ecdsa-Sig-Value`, each left-padded to 32 bytes.
    fn split(sig: &[u8]) -> ([u8; 32], [u8; 32]) {
        let int = |at: usize| -> (usize, [u8; 32]) {
            assert_eq!(sig[at], 0x02);
            let len = sig[at + 1] as usize;
            let v = &sig[at + 2..at + 2 + len];
            let v = &v[v.len().saturating_sub(32)..];
            let mut out = [0; 32];
            out[32 - v.len()..].copy_from_slice(v);
            (at + 2 + len, out)
        };
        let (next, r) = int(2);
        let (_, s) = int(next);
        (r, s)
    }

    /// `a - b` for big-endian 32-byte values, `a > b`.
    fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
            borrow = i16::from(d < 0);
            if d < 0 {
                d += 256;
            }
            out[i] = d as u8;
        }
        out
    }

    /// The aws-lc-rs path takes and refuses exactly the ECDSA signatures RustCrypto's `p256`
    /// (the verifier it replaces, through `vouch_sign::VerifyingKey`) did: high-S accepted,
    /// a signature for another digest, non-minimal integers, BER lengths, trailing bytes,
    /// r = 0, s = n and the fixed-width r||s form refused.
    #[test]
    fn ecdsa_edge_cases_match_rustcrypto() {
        let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let reference = signer.public_key();
        let key = ClientKey::parse(reference.spki_der(), KeyDetails::EcdsaP256Sha256).unwrap();
        let n: [u8; 32] = hex::decode(P256_N).unwrap().try_into().unwrap();
        for i in 0..16 {
            let message = format!("artifact {i}");
            let digest = HashAlgorithm::Sha2_256.digest(message.as_bytes());
            let other = HashAlgorithm::Sha2_256.digest(b"other");
            let sig = signer.sign_bytes(message.as_bytes());
            let (r, s) = split(&sig);
            let mut non_minimal = sig.clone();
            non_minimal[1] += 1;
            non_minimal[3] += 1;
            non_minimal.insert(4, 0);
            let mut ber_length = vec![0x30, 0x81];
            ber_length.extend_from_slice(&sig[1..]);
            let cases: Vec<(&str, Vec<u8>, &[u8], bool)> = vec![
                ("as signed", sig.clone(), &digest, true),
                (
                    "high/low S flipped",
                    der_sig(&r, &sub(&n, &s)),
                    &digest,
                    true,
                ),
                ("another digest", sig.clone(), &other, false),
                ("non-minimal r", non_minimal, &digest, false),
                ("BER length", ber_length, &digest, false),
                (
                    "trailing byte",
                    [sig.as_slice(), &[0]].concat(),
                    &digest,
                    false,
                ),
                ("r = 0", der_sig(&[0], &s), &digest, false),
                ("s = n", der_sig(&r, &n), &digest, false),
                ("fixed r||s", [r, s].concat(), &digest, false),
            ];
            for (name, candidate, d, expected) in cases {
                let rustcrypto = reference
                    .verify_prehashed("test", HashAlgorithm::Sha2_256, d, &candidate)
                    .is_ok();
                assert_eq!(rustcrypto, expected, "{name}: RustCrypto");
                assert_eq!(
                    key.verify_digest(d, &candidate).is_ok(),
                    expected,
                    "{name}: aws-lc"
                );
            }
        }
    }

    /// Key parsing: what each SubjectPublicKeyInfo is, and what is refused.
    #[test]
    fn key_kinds() {
        let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let p384 = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
        let ed = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        assert_eq!(key_kind(p256.public_key().spki_der()), Ok(KeyKind::P256));
        assert_eq!(key_kind(p384.public_key().spki_der()), Ok(KeyKind::P384));
        assert_eq!(key_kind(ed.public_key().spki_der()), Ok(KeyKind::Ed25519));
        assert!(key_kind(b"garbage").is_err());
        let mut trailing = p256.public_key().spki_der().to_vec();
        trailing.push(0);
        assert!(key_kind(&trailing).is_err());
        // An off-curve point: well-formed DER, refused when parsed for verification.
        let mut off = p256.public_key().spki_der().to_vec();
        let last = off.len() - 1;
        off[last] ^= 1;
        assert_eq!(key_kind(&off), Ok(KeyKind::P256));
        assert!(matches!(
            ClientKey::parse(&off, KeyDetails::EcdsaP256Sha256),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            ClientKey::parse(p384.public_key().spki_der(), KeyDetails::EcdsaP256Sha256),
            Err(KeyError::Mismatch {
                needs: KeyKind::P256,
                holds: KeyKind::P384,
                ..
            })
        ));
        assert!(KeyDetails::parse("PKIX_ED25519", EntryKind::HashedRekord).is_err());
        assert!(KeyDetails::parse("PKIX_ED25519_PH", EntryKind::Dsse).is_err());
        assert!(KeyDetails::parse("PKIX_RSA_PSS_2048_SHA256", EntryKind::HashedRekord).is_err());
        assert!(KeyDetails::parse("PKIX_ECDSA_P384_SHA_256", EntryKind::Dsse).is_err());
        for name in [
            "PKIX_ECDSA_P256_SHA_256",
            "PKIX_ECDSA_P384_SHA_384",
            "PKIX_ECDSA_P521_SHA_512",
            "PKIX_RSA_PKCS1V15_2048_SHA256",
            "PKIX_RSA_PKCS1V15_3072_SHA256",
            "PKIX_RSA_PKCS1V15_4096_SHA256",
            "PKIX_ED25519_PH",
        ] {
            assert_eq!(
                KeyDetails::parse(name, EntryKind::HashedRekord).map(KeyDetails::name),
                Ok(name)
            );
        }
    }

    /// RFC 8032 §7.3, test 1 (Ed25519ph over "abc").
    #[test]
    fn ed25519ph_rfc8032_vector() {
        let public: [u8; 32] =
            hex::decode("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
                .unwrap()
                .try_into()
                .unwrap();
        let sig = hex::decode(
            "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
             31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
        )
        .unwrap();
        let mut spki = hex::decode("302a300506032b6570032100").unwrap();
        spki.extend_from_slice(&public);
        let key = ClientKey::parse(&spki, KeyDetails::Ed25519Ph).unwrap();
        let digest = HashAlgorithm::Sha2_512.digest(b"abc");
        assert!(key.verify_digest(&digest, &sig).is_ok());
        assert!(
            key.verify_digest(&HashAlgorithm::Sha2_512.digest(b"abd"), &sig)
                .is_err()
        );
        let mut bad = sig.clone();
        bad[63] ^= 1;
        assert!(key.verify_digest(&digest, &bad).is_err());
        // The same signature is not a pure Ed25519 signature of the message or of the digest.
        let pure = ClientKey::parse(&spki, KeyDetails::Ed25519).unwrap();
        assert!(pure.verify_message(b"abc", &sig).is_err());
        assert!(pure.verify_message(&digest, &sig).is_err());
    }

    /// A cached key is the key a fresh parse gives: it verifies what that verifies, refuses a
    /// tampered signature on every hit, and is only found under the material and details it
    /// was parsed for (the same bytes under other details are parsed again and refused);
    /// refused keys are not kept; the cache starts over when full.
    #[test]
    fn key_cache_hits_are_fresh_parses() {
        let cache = KeyCache::default();
        let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let spki = signer.public_key().spki_der().to_vec();
        let digest = HashAlgorithm::Sha2_256.digest(b"cached");
        let sig = signer.sign_bytes(b"cached");
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let first = cache
            .get_or_parse(KeyMaterial::PublicKey, &spki, KeyDetails::EcdsaP256Sha256)
            .unwrap();
        for _ in 0..3 {
            let hit = cache
                .get_or_parse(KeyMaterial::PublicKey, &spki, KeyDetails::EcdsaP256Sha256)
                .unwrap();
            assert!(
                std::sync::Arc::ptr_eq(&first, &hit),
                "not served from the cache"
            );
            assert!(hit.verify_digest(&digest, &sig).is_ok());
            assert!(hit.verify_digest(&digest, &bad).is_err());
            let other = HashAlgorithm::Sha2_256.digest(b"other");
            assert!(hit.verify_digest(&other, &sig).is_err());
        }
        // The same bytes under other details or as a certificate: parsed again, refused.
        assert!(matches!(
            cache.get_or_parse(KeyMaterial::PublicKey, &spki, KeyDetails::EcdsaP384Sha384),
            Err(KeyError::Mismatch { .. })
        ));
        assert!(matches!(
            cache.get_or_parse(KeyMaterial::Certificate, &spki, KeyDetails::EcdsaP256Sha256),
            Err(KeyError::Malformed(_))
        ));
        // ... and the cached key is still the one for its own details.
        let again = cache
            .get_or_parse(KeyMaterial::PublicKey, &spki, KeyDetails::EcdsaP256Sha256)
            .unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        // A refused key is refused every time and never kept.
        let mut off_curve = spki.clone();
        let last = off_curve.len() - 1;
        off_curve[last] ^= 1;
        for _ in 0..2 {
            assert!(
                cache
                    .get_or_parse(
                        KeyMaterial::PublicKey,
                        &off_curve,
                        KeyDetails::EcdsaP256Sha256
                    )
                    .is_err()
            );
        }
        assert_eq!(cache.keys.lock().unwrap().len(), 1);
        // Bounded: full, it starts over.
        for i in 0..KeyCache::MAX_KEYS {
            let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
            cache
                .get_or_parse(
                    KeyMaterial::PublicKey,
                    key.public_key().spki_der(),
                    KeyDetails::Ed25519,
                )
                .unwrap();
            assert!(
                cache.keys.lock().unwrap().len() <= KeyCache::MAX_KEYS,
                "{i}"
            );
        }
        let refetched = cache
            .get_or_parse(KeyMaterial::PublicKey, &spki, KeyDetails::EcdsaP256Sha256)
            .unwrap();
        assert!(
            !std::sync::Arc::ptr_eq(&first, &refetched),
            "evicted when full"
        );
        assert!(refetched.verify_digest(&digest, &sig).is_ok());
    }
}
