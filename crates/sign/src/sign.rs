//! Producing bundles with a key: `sign-blob` (message signature) and attestations (DSSE in-toto
//! statement), as Sigstore bundle v0.3 with `publicKey` verification material.
//!
//! Transparency log upload and keyless certificates are separate concerns: a caller that has a
//! log entry appends it to [`Bundle::tlog_entries`] before writing the bundle.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, Content, MessageSignature, VerificationMaterial};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::Result;
use crate::intoto::Statement;
use crate::keys::{HashAlgorithm, Signer, VerifyingKey};

/// The `publicKey.hint` vouch writes: base64 of SHA-256 of the key's SubjectPublicKeyInfo DER
/// (sigstore-go's key hint).
pub fn public_key_hint(key: &VerifyingKey) -> String {
    B64.encode(key.key_id())
}

/// Signs `artifact` into a v0.3 bundle with a `messageSignature` (digest SHA2_256).
pub fn sign_blob(artifact: &[u8], signer: &dyn Signer) -> Result<Bundle> {
    let signature = signer.sign(artifact)?;
    let content = Content::MessageSignature(MessageSignature {
        digest: Some((HashAlgorithm::Sha2_256, Sha256::digest(artifact).to_vec())),
        signature,
    });
    let material = VerificationMaterial::PublicKey {
        hint: public_key_hint(&signer.verifying_key()),
    };
    Ok(Bundle::new_v0_3(material, Vec::new(), content))
}

/// Signs an in-toto statement into a v0.3 bundle with a `dsseEnvelope`.
pub fn sign_statement(statement: &Statement, signer: &dyn Signer) -> Result<Bundle> {
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_json(), signer)?;
    let material = VerificationMaterial::PublicKey {
        hint: public_key_hint(&signer.verifying_key()),
    };
    Ok(Bundle::new_v0_3(
        material,
        Vec::new(),
        Content::DsseEnvelope(envelope),
    ))
}
