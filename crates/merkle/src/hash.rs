//! SHA-256 hashes and the RFC 6962 domain-separated leaf and node hashes.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::Error;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash([u8; 32]);

impl Hash {
    /// Size of a hash in bytes.
    pub const LEN: usize = 32;

    /// Wraps 32 bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Copies a hash out of a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::HashLength { found: bytes.len() })
    }

    /// Parses 64 hex digits (either case), as Rekor's JSON API writes hashes.
    pub fn from_hex(hex: &str) -> Result<Self, Error> {
        let err = || Error::HashHex { len: hex.len() };
        let digits = hex.as_bytes();
        if digits.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or_else(err)?;
            let low = hex_value(pair[1]).ok_or_else(err)?;
            *byte = high << 4 | low;
        }
        Ok(Self(out))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, as Rekor's JSON API writes hashes.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Root of the empty tree: SHA-256 of the empty string (RFC 6962 section 2.1, `MTH({})`).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// Leaf hash of an entry: `SHA-256(0x00 || data)` (RFC 6962 section 2.1, RFC 9162 section 2.1.1).
///
/// For Rekor, `data` is the canonicalized entry body and the hex leaf hash is the entry UUID.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut sha = Sha256::new();
    sha.update([0x00]);
    sha.update(data);
    Hash(sha.finalize().into())
}

/// Interior node hash: `SHA-256(0x01 || left || right)` (RFC 6962 section 2.1).
///
/// The distinct prefixes keep a leaf from being passed off as a node (second preimages).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut sha = Sha256::new();
    sha.update([0x01]);
    sha.update(left.0);
    sha.update(right.0);
    Hash(sha.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, Hash(Sha256::digest(b"").into()));
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()).ok(), Some(h));
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()).ok(), Some(h));
        assert!(matches!(
            Hash::from_hex("ab"),
            Err(Error::HashHex { len: 2 })
        ));
        let bad = format!("{}g", &h.to_hex()[..63]);
        assert!(matches!(
            Hash::from_hex(&bad),
            Err(Error::HashHex { len: 64 })
        ));
        assert!(matches!(
            Hash::from_slice(&[0; 31]),
            Err(Error::HashLength { found: 31 })
        ));
    }
}
