//! Keys held by a key management service, named by cosign's KMS URIs.
//!
//! * `hashivault://KEY` (and cosign's alias `openbao://KEY`): a HashiCorp Vault or OpenBao
//!   transit key ([`vault`]).
//! * `awskms://[ENDPOINT]/KEY`: an AWS KMS key by id, ARN, `alias/NAME` or alias ARN, with
//!   an optional endpoint for AWS-compatible services ([`aws`]).
//! * `gcpkms://`, `azurekms://`, `k8s://`: parsed into typed references ([`UnsupportedKmsRef`])
//!   so a malformed one is named as such, and refused with "not supported yet".
//!
//! The reference grammars are cosign's (sigstore/sigstore `pkg/signature/kms/*/client.go`
//! `referenceRegex`es). Backends sign through the signing seam ([`crate::Signer`]): the service
//! signs a digest the host computed, and every signature is checked against the key's public
//! half before it leaves this module, so a misbehaving service fails at signing.

pub mod aws;
pub mod vault;

use std::io::Read as _;

use crate::error::{Error, Result};
use crate::keys::{HashAlgorithm, KeyAlgorithm, Signer, VerifyingKey};

pub use aws::{AwsKey, AwsKeyRef};
pub use vault::{VaultKey, VaultKeyRef};

/// Environment lookup, so tests and embedders need not touch the process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Largest KMS answer read (public keys and signatures are a few KiB).
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// A key in a KMS vouch signs with.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsRef {
    /// `hashivault://KEY` / `openbao://KEY`.
    Vault(VaultKeyRef),
    /// `awskms://[ENDPOINT]/KEY`.
    Aws(AwsKeyRef),
}

/// A cosign KMS reference vouch parses but does not implement.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsupportedKmsRef {
    /// `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]`.
    Gcp {
        /// Project id.
        project: String,
        /// Location (region or `global`).
        location: String,
        /// Key ring.
        key_ring: String,
        /// Crypto key.
        key: String,
        /// Key version, when pinned.
        version: Option<String>,
    },
    /// `azurekms://VAULT/KEY[/VERSION]`.
    Azure {
        /// Key Vault name or host.
        vault: String,
        /// Key name.
        key: String,
        /// Key version, when pinned.
        version: Option<String>,
    },
    /// `k8s://[NAMESPACE/]SECRET`.
    K8s {
        /// Namespace, when given.
        namespace: Option<String>,
        /// Secret name.
        secret: String,
    },
}

/// What went wrong with a KMS key; every variant names the service.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// Something the client needs is not configured (address, token, credentials, region).
    #[error("{0}")]
    Config(String),
    /// The request got no HTTP answer.
    #[error(transparent)]
    Transport(#[from] vouch_http::Error),
    /// The service answered with an error.
    #[error("{operation} refused ({status}): {message}")]
    Refused {
        /// The operation, e.g. `sign with key release`.
        operation: String,
        /// HTTP status.
        status: u16,
        /// The service's own words (and what they usually mean).
        message: String,
    },
    /// The service's answer is not what its API documents.
    #[error("{operation}: malformed answer: {reason}")]
    Response {
        /// The operation.
        operation: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key exists but vouch cannot sign with it.
    #[error("key {key}: {reason}")]
    Key {
        /// The key as named.
        key: String,
        /// Why (type not supported yet, not a signing key, ...).
        reason: String,
    },
}

impl KmsError {
    fn into_error(self, service: &'static str) -> Error {
        Error::Service {
            service,
            source: Box::new(self),
        }
    }
}

/// Parses `s` when it starts with one of cosign's KMS schemes (case-insensitively, RFC 3986
/// §3.1): `None` for any other string. Unsupported schemes come back as
/// [`Error::KeyRef`] saying "not supported yet", malformed references as [`Error::KeyRef`]
/// giving the expected form.
pub fn parse_reference(s: &str) -> Option<Result<KmsRef>> {
    let lower = s.to_ascii_lowercase();
    let scheme = [
        "hashivault://",
        "openbao://",
        "awskms://",
        "gcpkms://",
        "azurekms://",
        "k8s://",
    ]
    .into_iter()
    .find(|p| lower.starts_with(p))?;
    let rest = &s[scheme.len()..];
    let err = |reason: &'static str| {
        Err(Error::KeyRef {
            reference: s.to_owned(),
            reason,
        })
    };
    Some(match scheme {
        "hashivault://" | "openbao://" => match VaultKeyRef::parse(rest) {
            Some(r) => Ok(KmsRef::Vault(r)),
            None => err(
                "malformed hashivault:// reference: expected hashivault://KEY (letters, digits, '_', '-', '.'; as cosign)",
            ),
        },
        "awskms://" => match AwsKeyRef::parse(rest) {
            Some(r) => Ok(KmsRef::Aws(r)),
            None => err(
                "malformed awskms:// reference: expected awskms://[ENDPOINT]/KEY with KEY a key id, key ARN, alias/NAME or alias ARN (as cosign)",
            ),
        },
        "gcpkms://" => match UnsupportedKmsRef::parse_gcp(rest) {
            Some(_) => err(
                "not supported yet: gcpkms:// (Google Cloud KMS) keys; sign with a key file, a pkcs11: URI, hashivault:// or awskms://",
            ),
            None => err(
                "not supported yet: gcpkms:// (Google Cloud KMS) keys (and this is not cosign's gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V])",
            ),
        },
        "azurekms://" => match UnsupportedKmsRef::parse_azure(rest) {
            Some(_) => err(
                "not supported yet: azurekms:// (Azure Key Vault) keys; sign with a key file, a pkcs11: URI, hashivault:// or awskms://",
            ),
            None => err(
                "not supported yet: azurekms:// (Azure Key Vault) keys (and this is not cosign's azurekms://VAULT/KEY[/VERSION])",
            ),
        },
        _ => match UnsupportedKmsRef::parse_k8s(rest) {
            Some(_) => err(
                "not supported yet: k8s:// (Kubernetes secret) keys; sign with a key file, a pkcs11: URI, hashivault:// or awskms://",
            ),
            None => err(
                "not supported yet: k8s:// (Kubernetes secret) keys (and this is not cosign's k8s://[NAMESPACE/]SECRET)",
            ),
        },
    })
}

impl KmsRef {
    /// Opens the key for signing: reads its public key (and type) from the service.
    pub fn open(&self, env: Env<'_>) -> Result<Box<dyn Signer>> {
        Ok(match self {
            Self::Vault(r) => Box::new(VaultKey::open(r, env)?),
            Self::Aws(r) => Box::new(AwsKey::open(r, env)?),
        })
    }

    /// Creates the key in the service (`generate-key-pair --kms`) and opens it.
    pub fn create(&self, env: Env<'_>, algorithm: KeyAlgorithm) -> Result<Box<dyn Signer>> {
        Ok(match self {
            Self::Vault(r) => Box::new(VaultKey::create(r, env, algorithm)?),
            Self::Aws(r) => Box::new(AwsKey::create(r, env, algorithm)?),
        })
    }

    /// The key's public half, as the service reports it (`verify --key awskms://...`).
    pub fn public_key(&self, env: Env<'_>) -> Result<VerifyingKey> {
        Ok(self.open(env)?.verifying_key())
    }
}

impl std::fmt::Display for KmsRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Vault(r) => write!(f, "hashivault://{}", r.key),
            Self::Aws(r) => write!(
                f,
                "awskms://{}/{}",
                r.endpoint.as_deref().unwrap_or(""),
                r.key
            ),
        }
    }
}

impl UnsupportedKmsRef {
    /// sigstore/sigstore gcp/client.go: `^gcpkms://projects/([^/]+)/locations/([^/]+)/
    /// keyRings/([^/]+)/cryptoKeys/([^/]+)(?:/(?:cryptoKeyVersions|versions)/([^/]+))?$`.
    fn parse_gcp(rest: &str) -> Option<Self> {
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let version = match parts.as_slice() {
            [
                "projects",
                _,
                "locations",
                _,
                "keyRings",
                _,
                "cryptoKeys",
                _,
            ] => None,
            [
                "projects",
                _,
                "locations",
                _,
                "keyRings",
                _,
                "cryptoKeys",
                _,
                kind,
                v,
            ] if *kind == "cryptoKeyVersions" || *kind == "versions" => Some((*v).to_owned()),
            _ => return None,
        };
        Some(Self::Gcp {
            project: parts[1].to_owned(),
            location: parts[3].to_owned(),
            key_ring: parts[5].to_owned(),
            key: parts[7].to_owned(),
            version,
        })
    }

    /// sigstore/sigstore azure/client.go: `^azurekms://([^/]+)/([^/]+)(/[a-z0-9]*)?$`.
    fn parse_azure(rest: &str) -> Option<Self> {
        let mut parts = rest.splitn(3, '/');
        let vault = parts.next().filter(|v| !v.is_empty())?;
        let key = parts.next().filter(|k| !k.is_empty() && !k.contains('/'))?;
        let version = match parts.next() {
            None => None,
            Some(v)
                if !v.contains('/')
                    && v.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
            {
                Some(v.to_owned())
            }
            Some(_) => return None,
        };
        Some(Self::Azure {
            vault: vault.to_owned(),
            key: key.to_owned(),
            version,
        })
    }

    /// cosign pkg/cosign/kubernetes: `k8s://[NAMESPACE/]SECRET`.
    fn parse_k8s(rest: &str) -> Option<Self> {
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [secret] if !secret.is_empty() => Some(Self::K8s {
                namespace: None,
                secret: (*secret).to_owned(),
            }),
            [ns, secret] if !ns.is_empty() && !secret.is_empty() => Some(Self::K8s {
                namespace: Some((*ns).to_owned()),
                secret: (*secret).to_owned(),
            }),
            _ => None,
        }
    }

    /// Parses an unsupported reference into its typed form (`None`: another scheme or
    /// malformed), for callers that report what a policy names.
    pub fn parse(s: &str) -> Option<Self> {
        let lower = s.to_ascii_lowercase();
        let after = |scheme: &str| lower.starts_with(scheme).then(|| &s[scheme.len()..]);
        if let Some(rest) = after("gcpkms://") {
            Self::parse_gcp(rest)
        } else if let Some(rest) = after("azurekms://") {
            Self::parse_azure(rest)
        } else if let Some(rest) = after("k8s://") {
            Self::parse_k8s(rest)
        } else {
            None
        }
    }
}

/// An HTTP answer read whole (bounded), with its status.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self, operation: &str) -> std::result::Result<serde_json::Value, KmsError> {
        serde_json::from_slice(&self.body).map_err(|e| KmsError::Response {
            operation: operation.to_owned(),
            reason: format!("not JSON ({e})"),
        })
    }
}

fn read_answer(
    operation: &str,
    response: vouch_http::Response,
) -> std::result::Result<Answer, KmsError> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut body)
        .map_err(|e| KmsError::Response {
            operation: operation.to_owned(),
            reason: format!("reading the body: {e}"),
        })?;
    Ok(Answer { status, body })
}

/// An HTTP client for a KMS at `base` (`scheme://host[:port]`): plain HTTP only to loopback
/// hosts (vouch-http's transport rule), since the request carries a credential.
fn client_for(
    base: &str,
    what: &str,
    ca_pem: Option<Vec<u8>>,
) -> std::result::Result<vouch_http::Client, KmsError> {
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| KmsError::Config(format!("{what} {base:?} is not a URL (scheme://host)")))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(KmsError::Config(format!("{what} {base:?} has no host")));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if vouch_http::TransportPolicy::default().scheme_for(host) == "http" => {}
        "http" => {
            return Err(KmsError::Config(format!(
                "{what} {base:?} would send credentials in clear text to a non-loopback host; use https://"
            )));
        }
        other => {
            return Err(KmsError::Config(format!(
                "{what} {base:?}: scheme {other:?} is neither https nor http"
            )));
        }
    }
    let config = vouch_http::ClientConfig {
        ca_pem: ca_pem.into_iter().collect(),
        ..Default::default()
    };
    vouch_http::Client::new(&config).map_err(KmsError::from)
}

/// Re-checks a service's signature with the key's public half (fail closed).
fn check_signature(
    service: &'static str,
    public: &VerifyingKey,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<()> {
    public
        .verify_prehashed("KMS signature", hash, digest, signature)
        .map_err(|_| {
            KmsError::Response {
                operation: "sign".into(),
                reason: "the signature does not verify with the key's public key".into(),
            }
            .into_error(service)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> String {
        match parse_reference(s) {
            Some(Err(e)) => e.to_string(),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn unsupported_schemes_are_typed_and_refused() {
        assert_eq!(
            UnsupportedKmsRef::parse(
                "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3"
            ),
            Some(UnsupportedKmsRef::Gcp {
                project: "p".into(),
                location: "global".into(),
                key_ring: "r".into(),
                key: "k".into(),
                version: Some("3".into()),
            })
        );
        assert_eq!(
            UnsupportedKmsRef::parse("azurekms://v.vault.azure.net/key/0a1b"),
            Some(UnsupportedKmsRef::Azure {
                vault: "v.vault.azure.net".into(),
                key: "key".into(),
                version: Some("0a1b".into()),
            })
        );
        assert_eq!(
            UnsupportedKmsRef::parse("k8s://ns/secret"),
            Some(UnsupportedKmsRef::K8s {
                namespace: Some("ns".into()),
                secret: "secret".into(),
            })
        );
        for (s, scheme) in [
            (
                "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
                "gcpkms://",
            ),
            ("GCPKMS://projects/p", "gcpkms://"),
            ("azurekms://v/k", "azurekms://"),
            ("azurekms://", "azurekms://"),
            ("k8s://s", "k8s://"),
            ("k8s://a/b/c", "k8s://"),
        ] {
            let said = reason(s);
            assert!(
                said.contains(&format!("not supported yet: {scheme}")),
                "{s}: {said}"
            );
        }
        assert!(reason("gcpkms://projects/p").contains("not cosign's gcpkms://projects/"));
    }

    #[test]
    fn other_strings_are_not_kms() {
        for s in [
            "cosign.key",
            "pkcs11:token=t;object=o",
            "env://K",
            "file:///k",
        ] {
            assert!(parse_reference(s).is_none(), "{s}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(client_for("http://127.0.0.1:8200", "VAULT_ADDR", None).is_ok());
        assert!(client_for("https://vault.example:8200", "VAULT_ADDR", None).is_ok());
        let err = client_for("http://vault.example:8200", "VAULT_ADDR", None)
            .expect_err("clear text to a remote host");
        assert!(err.to_string().contains("clear text"), "{err}");
        assert!(client_for("vault.example", "VAULT_ADDR", None).is_err());
        assert!(client_for("ftp://h", "VAULT_ADDR", None).is_err());
    }
}
