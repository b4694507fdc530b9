//! Every limit on untrusted input, in one place.

use crate::error::{Error, Result};

/// Size limits applied while parsing untrusted documents and key files.
///
/// The defaults accept everything real Sigstore clients produce (public-good bundles are a few
/// KiB; SBOM attestations reach a few MiB) while bounding memory and CPU for hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bundle JSON document accepted, in bytes. Default 32 MiB (DSSE bundles embed the
    /// whole attestation payload).
    pub max_bundle_bytes: usize,
    /// Largest trusted root JSON document accepted, in bytes. Default 4 MiB.
    pub max_trusted_root_bytes: usize,
    /// Largest key file (PEM) accepted, in bytes. Default 64 KiB.
    pub max_key_file_bytes: usize,
    /// Most certificates in a bundle's chain or a trusted CA chain. Default 10.
    pub max_chain_len: usize,
    /// Most transparency log entries in one bundle. Default 8.
    pub max_tlog_entries: usize,
    /// Most RFC 3161 timestamps in one bundle. Default 32 (sigstore-python's
    /// `MAX_ALLOWED_TIMESTAMP`).
    pub max_timestamps: usize,
    /// Most hashes in one inclusion proof. Default 64 (a tree of 2^64 leaves).
    pub max_proof_hashes: usize,
    /// Largest scrypt cost exponent (N = 2^log_n) accepted from a key file. Default 20
    /// (cosign writes 15 or 16).
    pub max_scrypt_log_n: u8,
    /// Largest scrypt block size r accepted from a key file. Default 32.
    pub max_scrypt_r: u32,
    /// Largest scrypt parallelism p accepted from a key file. Default 16.
    pub max_scrypt_p: u32,
    /// Most signature layers read from one legacy `.sig`/`.att` manifest, and most referrers
    /// examined for one image. Default 256.
    pub max_image_signatures: usize,
    /// Largest signed payload (simple-signing JSON, DSSE envelope, referrer bundle) read from a
    /// registry, in bytes. Default 32 MiB (SBOM attestations).
    pub max_payload_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bundle_bytes: 32 << 20,
            max_trusted_root_bytes: 4 << 20,
            max_key_file_bytes: 64 << 10,
            max_chain_len: 10,
            max_tlog_entries: 8,
            max_timestamps: 32,
            max_proof_hashes: 64,
            max_scrypt_log_n: 20,
            max_scrypt_r: 32,
            max_scrypt_p: 16,
            max_image_signatures: 256,
            max_payload_bytes: 32 << 20,
        }
    }
}

/// Fails with [`Error::TooLarge`] when `actual > limit`.
pub(crate) fn check(what: &'static str, limit: usize, actual: usize) -> Result<()> {
    if actual > limit {
        return Err(Error::TooLarge {
            what,
            limit,
            actual,
        });
    }
    Ok(())
}
