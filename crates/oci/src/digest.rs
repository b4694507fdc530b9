//! Content digests (`algorithm:hex`) and readers that verify them while streaming.
//!
//! OCI image spec, "Digests": registered algorithms are `sha256` (64 lower-case hex) and
//! `sha512` (128). Anything else is refused: a digest vouch cannot compute is a digest it
//! cannot verify.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

/// A digest algorithm vouch can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the default everywhere.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }
    fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// A validated content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

/// Why a digest string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// No `algorithm:` prefix.
    #[error("digest {0:?} has no algorithm prefix (expected sha256:<hex>)")]
    NoAlgorithm(String),
    /// An algorithm vouch does not compute.
    #[error("digest {0:?} uses an unsupported algorithm (sha256 and sha512 are supported)")]
    UnsupportedAlgorithm(String),
    /// Wrong length or non-lower-case-hex characters.
    #[error("digest {0:?} is not {1} lower-case hex characters")]
    BadHex(String, usize),
}

impl Digest {
    /// SHA-256 of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Self {
        Self {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex-encoded value.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The cosign-style tag for this digest: `sha256-<hex>`.
    pub fn tag_form(&self) -> String {
        format!("{}-{}", self.algorithm.name(), self.hex)
    }

    /// A hasher for this digest's algorithm.
    pub fn hasher(&self) -> Hasher {
        Hasher::new(self.algorithm)
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let mut h = self.hasher();
        h.update(bytes);
        &h.finish() == self
    }

    /// As the `oci-spec` type, for descriptors.
    pub fn to_oci(&self) -> oci_spec::image::Digest {
        // Our digests are a strict subset of what oci-spec accepts.
        oci_spec::image::Digest::from_str(&self.to_string())
            .unwrap_or_else(|_| unreachable!("validated digest {self} refused by oci-spec"))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| DigestError::NoAlgorithm(s.into()))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(DigestError::UnsupportedAlgorithm(s.into())),
        };
        let len = algorithm.hex_len();
        if hex.len() != len
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::BadHex(s.into(), len));
        }
        Ok(Self {
            algorithm,
            hex: hex.into(),
        })
    }
}

impl TryFrom<&oci_spec::image::Digest> for Digest {
    type Error = DigestError;
    fn try_from(d: &oci_spec::image::Digest) -> Result<Self, Self::Error> {
        d.to_string().parse()
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher producing a [`Digest`].
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state.
    Sha512(Sha512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hasher")
    }
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Self::Sha256(Sha256::new()),
            Algorithm::Sha512 => Self::Sha512(Sha512::new()),
        }
    }
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }
    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        match self {
            Self::Sha256(h) => Digest {
                algorithm: Algorithm::Sha256,
                hex: hex::encode(h.finalize()),
            },
            Self::Sha512(h) => Digest {
                algorithm: Algorithm::Sha512,
                hex: hex::encode(h.finalize()),
            },
        }
    }
}

/// A reader that checks size and digest of the stream it passes through.
///
/// Reading past the expected size, or reaching the end with the wrong size or digest, is an
/// `io::Error` wrapping a [`crate::Error::DigestMismatch`] / [`crate::Error::SizeMismatch`],
/// so a consumer that streams straight into a tar parser or a file still fails, and never
/// sees the end of a stream that did not verify.
#[derive(Debug)]
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    expected_size: u64,
    hasher: Option<Hasher>,
    seen: u64,
    what: String,
}

impl<R: Read> VerifyingReader<R> {
    /// Wraps `inner`, which must produce exactly `size` bytes hashing to `digest`. `what`
    /// names the blob in errors.
    pub fn new(inner: R, digest: &Digest, size: u64, what: impl Into<String>) -> Self {
        Self {
            inner,
            hasher: Some(digest.hasher()),
            expected: digest.clone(),
            expected_size: size,
            seen: 0,
            what: what.into(),
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(hasher) = self.hasher.as_mut() else {
            return Ok(0);
        };
        let n = self.inner.read(buf)?;
        self.seen += n as u64;
        if self.seen > self.expected_size {
            self.hasher = None;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                crate::Error::SizeMismatch {
                    what: self.what.clone(),
                    expected: self.expected_size,
                    actual: self.seen,
                },
            ));
        }
        hasher.update(&buf[..n]);
        if n == 0 || self.seen == self.expected_size {
            // At the declared end: check before handing over the last bytes' EOF.
            let h = self.hasher.take().unwrap_or_else(|| unreachable!());
            if self.seen != self.expected_size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    crate::Error::SizeMismatch {
                        what: self.what.clone(),
                        expected: self.expected_size,
                        actual: self.seen,
                    },
                ));
            }
            let actual = h.finish();
            if actual != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    crate::Error::DigestMismatch {
                        what: self.what.clone(),
                        expected: self.expected.clone(),
                        actual,
                    },
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let good = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(good.parse::<Digest>().expect("good").to_string(), good);
        assert_eq!(Digest::sha256(b"").to_string(), good);
        for bad in [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }

    fn read_all(r: impl Read) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        let mut r = r;
        r.read_to_end(&mut v).map(|_| v)
    }

    #[test]
    fn verifying_reader_accepts_good_and_refuses_bad() {
        let data = b"hello layer".to_vec();
        let d = Digest::sha256(&data);
        let ok = read_all(VerifyingReader::new(
            &data[..],
            &d,
            data.len() as u64,
            "blob",
        ));
        assert_eq!(ok.expect("verifies"), data);

        let mut tampered = data.clone();
        tampered[0] ^= 1;
        let err = read_all(VerifyingReader::new(
            &tampered[..],
            &d,
            data.len() as u64,
            "blob",
        ))
        .expect_err("tampered");
        let inner = err
            .into_inner()
            .expect("inner")
            .downcast::<crate::Error>()
            .expect("ours");
        assert!(
            matches!(*inner, crate::Error::DigestMismatch { .. }),
            "{inner}"
        );

        let short = read_all(VerifyingReader::new(
            &data[..5],
            &d,
            data.len() as u64,
            "blob",
        ));
        assert!(short.is_err());
        let long = read_all(VerifyingReader::new(&data[..], &d, 3, "blob"));
        assert!(long.is_err());
    }
}
