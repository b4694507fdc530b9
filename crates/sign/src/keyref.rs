//! Key references: where `--key` points.
//!
//! `env://NAME` reads PEM text from environment variable `NAME` (as cosign does); `file://PATH`
//! or a bare path reads a file; `pkcs11:...` names a key on a PKCS#11 token (RFC 7512, see
//! [`crate::pkcs11`]); `hashivault://KEY` and `awskms://[ENDPOINT]/KEY` name KMS keys
//! ([`crate::kms`]). cosign's other KMS schemes (`gcpkms://`, `azurekms://`, `k8s://`) are
//! parsed and refused with "not supported yet" naming the scheme, so a user never sees them
//! mistaken for a file path or a generic parse error.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::keyfile::read_private_key;
use crate::keys::{SigningKey, VerifyingKey};
use crate::limits::{self, Limits};
use crate::pkcs11::Pkcs11Uri;

/// Environment variables holding the key file password, in lookup order.
pub const PASSWORD_ENV_VARS: [&str; 2] = ["VOUCH_PASSWORD", "COSIGN_PASSWORD"];

/// Where a key lives.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A PEM file on disk.
    File(PathBuf),
    /// PEM text in an environment variable.
    Env(String),
    /// A key on a PKCS#11 token.
    Pkcs11(Box<Pkcs11Uri>),
    /// A key in a KMS (Vault/OpenBao transit, AWS KMS).
    Kms(Box<crate::kms::KmsRef>),
}

impl FromStr for KeyRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Some(name) = s.strip_prefix("env://") {
            if name.is_empty() {
                return Err(Error::KeyRef {
                    reference: s.to_owned(),
                    reason: "empty environment variable name",
                });
            }
            return Ok(Self::Env(name.to_owned()));
        }
        if let Some(path) = s.strip_prefix("file://") {
            return Ok(Self::File(PathBuf::from(path)));
        }
        if s.starts_with("pkcs11:") {
            return Ok(Self::Pkcs11(Box::new(s.parse()?)));
        }
        // cosign's KMS schemes (case-insensitive, RFC 3986 §3.1); the unsupported ones fail here.
        if let Some(kms) = crate::kms::parse_reference(s) {
            return Ok(Self::Kms(Box::new(kms?)));
        }
        if s.contains("://") {
            return Err(Error::KeyRef {
                reference: s.to_owned(),
                reason: "unknown key reference scheme (vouch reads PATH, file://, env://, pkcs11:, hashivault://, awskms://)",
            });
        }
        Ok(Self::File(PathBuf::from(s)))
    }
}

impl KeyRef {
    /// Reads the PEM text the reference points to.
    pub fn read_pem(&self, limits: &Limits) -> Result<String> {
        self.read_pem_with(&|name| std::env::var(name).ok(), limits)
    }

    /// Like [`KeyRef::read_pem`] with an explicit environment lookup (for tests and embedding).
    pub fn read_pem_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        limits: &Limits,
    ) -> Result<String> {
        let text = match self {
            Self::File(path) => read_file(path, limits.max_key_file_bytes)?,
            Self::Env(name) => env(name).ok_or_else(|| Error::KeyRef {
                reference: format!("env://{name}"),
                reason: "environment variable is not set",
            })?,
            Self::Pkcs11(uri) => {
                return Err(Error::KeyRef {
                    reference: uri.to_string(),
                    reason: "a PKCS#11 key has no PEM text: open it with Pkcs11Key::open",
                });
            }
            Self::Kms(kms) => {
                return Err(Error::KeyRef {
                    reference: kms.to_string(),
                    reason: "a KMS key has no PEM text: open it with KmsRef::open",
                });
            }
        };
        limits::check("key file", limits.max_key_file_bytes, text.len())?;
        Ok(text)
    }

    /// Loads a private key (encrypted with `password`, or plain PKCS#8/SEC1).
    pub fn load_signing_key(&self, password: &[u8], limits: &Limits) -> Result<SigningKey> {
        read_private_key(&self.read_pem(limits)?, password, limits)
    }

    /// Loads a `PUBLIC KEY` PEM, for `pkcs11:` the token's public key object (PIN from the
    /// URI or [`crate::pkcs11::PIN_ENV_VARS`] if set; public keys need no login), for a KMS
    /// key the public key the service reports.
    pub fn load_verifying_key(&self, limits: &Limits) -> Result<VerifyingKey> {
        if let Self::Pkcs11(uri) = self {
            return crate::pkcs11::public_key(uri, None, &|name| std::env::var(name).ok());
        }
        if let Self::Kms(kms) = self {
            return kms.public_key(&|name| std::env::var(name).ok());
        }
        VerifyingKey::from_pem(&self.read_pem(limits)?)
    }
}

/// The key file password from `VOUCH_PASSWORD` or `COSIGN_PASSWORD` (an empty value is an empty
/// password); `None` when neither is set and the caller should prompt.
pub fn password_from_env() -> Option<zeroize::Zeroizing<String>> {
    PASSWORD_ENV_VARS
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .map(zeroize::Zeroizing::new)
}

fn read_file(path: &Path, limit: usize) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    limits::check(
        "key file",
        limit,
        usize::try_from(len).unwrap_or(usize::MAX),
    )?;
    std::fs::read_to_string(path).map_err(io)
}
