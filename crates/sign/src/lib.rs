//! Signing and offline verification for vouch, byte-compatible with Sigstore.
//!
//! * [`keys`]: [`SigningKey`] (ECDSA P-256/P-384, Ed25519) and [`VerifyingKey`] (plus RSA);
//!   [`keyfile`] reads and writes cosign's encrypted key files; [`KeyRef`] resolves
//!   `--key` arguments; [`kms`] signs with Vault/OpenBao transit and AWS KMS keys.
//! * [`dsse`] and [`intoto`]: envelopes, PAE, in-toto Statements.
//! * [`bundle`]: Sigstore bundles v0.1 to v0.3, parsed into validated types that keep the
//!   signed bytes.
//! * [`trust_root`]: `trusted_root.json`, the only source of trust for verification.
//! * [`verify`]: a [`Verifier`] (trust material, fixed per deployment) checks a bundle against
//!   a [`SignerPolicy`] (what this call must prove) and returns [`Verified`] evidence.
//! * [`timestamp`]: RFC 3161 timestamps in bundles (`cms`, `x509-tsp`).
//! * [`sign`]: key-signed v0.3 bundles for `sign-blob` and attestations.
//! * [`oci`]: image signatures and attestations stored in registries both ways cosign does
//!   (legacy `sha256-<hex>.sig`/`.att` tags and OCI 1.1 referrer bundles); [`image`] verifies
//!   what [`oci::discover`] finds.
//!
//! ```
//! use vouch_sign::{sign::sign_blob, *};
//!
//! let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let bundle = Bundle::from_json(&sign_blob(b"hello", &key)?.to_json(), &Limits::default())?;
//! // No transparency log in this example, so the tlog requirement is waived explicitly.
//! let options = VerifierOptions { insecure_ignore_tlog: true, ..Default::default() };
//! let verifier = Verifier::with_options(TrustedRoot::default(), options);
//! let verified =
//!     verifier.verify_blob(Artifact::Bytes(b"hello"), &bundle, &SignerPolicy::Key(key.public_key()))?;
//! assert!(matches!(verified.evidence().signer, VerifiedSigner::Key { .. }));
//! # Ok::<(), vouch_sign::Error>(())
//! ```

pub mod bundle;
mod certs;
pub mod dsse;
pub mod error;
pub mod image;
pub mod intoto;
pub mod keyfile;
pub mod keyref;
pub mod keys;
pub mod kms;
pub mod limits;
pub mod oci;
pub mod pkcs11;
mod rekor;
pub mod sign;
pub mod timestamp;
mod tlog;
pub mod trust_root;
pub mod verify;

pub use bundle::Bundle;
pub use certs::{
    CertificateIdentity, certificate_identity, certificate_public_key, tbs_without_extension,
};
pub use error::{Error, Result};
pub use keyref::KeyRef;
pub use keys::{HashAlgorithm, KeyAlgorithm, SignatureScheme, Signer, SigningKey, VerifyingKey};
pub use limits::Limits;
pub use pkcs11::{Pkcs11Key, Pkcs11Uri};
pub use rekor::set_message;
pub use trust_root::TrustedRoot;
pub use verify::{
    Artifact, BlobContent, Evidence, IdentityPolicy, Match, SignerPolicy, Thresholds, TimeSource,
    TimeSourceKind, Verified, VerifiedSigner, Verifier, VerifierOptions,
};
