//! HashiCorp Vault / OpenBao transit keys: `hashivault://KEY` (cosign's `openbao://KEY` too).
//!
//! As cosign's signer (sigstore/sigstore `pkg/signature/kms/hashivault/client.go`):
//! * address from `$VAULT_ADDR` (else `$BAO_ADDR`), token from `$VAULT_TOKEN` (else
//!   `$BAO_TOKEN`, else `~/.vault-token`, the default token helper's file), mount from
//!   `$TRANSIT_SECRET_ENGINE_PATH` (default `transit`), `$VAULT_NAMESPACE` and `$VAULT_CACERT`
//!   as the Vault CLI reads them;
//! * public key: `GET /v1/<mount>/keys/<KEY>`, the `public_key` PEM of `latest_version`;
//! * sign: `POST /v1/<mount>/sign/<KEY>/sha2-256` with the base64 SHA-256 digest and
//!   `prehashed: true` (`sha2-384` and the SHA-384 digest for an `ecdsa-p384` key signing
//!   into a log that records digests: P-384 over SHA-384, as cosign v3) (and `signature_algorithm` `pkcs1v15` for RSA keys, as cosign asks;
//!   Vault's RSA default is PSS); the answer is `vault:v<N>:<base64 ASN.1 DER>`
//!   (`marshaling_algorithm` `asn1`, Vault's default);
//! * create: `POST /v1/<mount>/keys/<KEY>` with `type` `ecdsa-p256` / `ecdsa-p384`.
//!
//! Keys of type `ecdsa-p256`, `ecdsa-p384` and `rsa-2048`/`-3072`/`-4096` sign (cosign's
//! list, `hashivault/signer.go` `hvSupportedAlgorithms`, less `ed25519`, whose transit
//! signatures cover a digest rather than the message, and `ecdsa-p521`).
//! vouch pins the key version it read the public key of in each sign request, checks the
//! version in the answer, and verifies the signature with that public key before using it.
//! Tested against a Vault v1.14 dev server (crates/cli/tests/kms_vault.rs, scripts/peers).

use super::{Answer, Env, KmsError, check_signature, client_for, read_answer};
use crate::error::Result;
use crate::keys::{HashAlgorithm, KeyAlgorithm, SignatureScheme, Signer, VerifyingKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

const SERVICE: &str = "Vault transit";

/// `hashivault://KEY`: a transit key name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultKeyRef {
    /// The transit key's name.
    pub key: String,
}

impl VaultKeyRef {
    /// The part after the scheme; cosign's `\w(([\w-.]+)?\w)?` (ASCII word characters, `-`
    /// and `.` inside).
    pub(crate) fn parse(rest: &str) -> Option<Self> {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let bytes = rest.as_bytes();
        let (first, last) = (*bytes.first()?, *bytes.last()?);
        let ok =
            word(first) && word(last) && bytes.iter().all(|&b| word(b) || b == b'-' || b == b'.');
        ok.then(|| Self {
            key: rest.to_owned(),
        })
    }
}

/// The transit key types vouch signs with (Vault API docs, transit "Create key", `type`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitKeyType {
    /// `ecdsa-p256`.
    EcdsaP256,
    /// `ecdsa-p384` (signing a SHA-256 digest, as cosign before v3; a SHA-384 one into a
    /// log that records digests).
    EcdsaP384,
    /// `rsa-2048` (PKCS#1 v1.5 over SHA-256, as cosign asks).
    Rsa2048,
    /// `rsa-3072`.
    Rsa3072,
    /// `rsa-4096`.
    Rsa4096,
}

impl TransitKeyType {
    /// Vault's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Self::EcdsaP256,
            Self::EcdsaP384,
            Self::Rsa2048,
            Self::Rsa3072,
            Self::Rsa4096,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    /// What [`VerifyingKey::algorithm_name`] says of this type's public keys.
    fn public_key_algorithm(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ECDSA P-256",
            Self::EcdsaP384 => "ECDSA P-384",
            _ => "RSA",
        }
    }
}

/// A transit key, opened: signs through Vault.
pub struct VaultKey {
    vault: Vault,
    key: String,
    version: u64,
    key_type: TransitKeyType,
    public: VerifyingKey,
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultKey")
            .field("addr", &self.vault.addr)
            .field("mount", &self.vault.mount)
            .field("key", &self.key)
            .field("version", &self.version)
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

/// Address, token and mount of one Vault.
struct Vault {
    http: vouch_http::Client,
    addr: String,
    token: zeroize::Zeroizing<String>,
    namespace: Option<String>,
    mount: String,
}

impl Vault {
    fn from_env(env: Env<'_>) -> std::result::Result<Self, KmsError> {
        let nonempty = |name: &str| env(name).filter(|v| !v.is_empty());
        let addr = nonempty("VAULT_ADDR")
            .or_else(|| nonempty("BAO_ADDR"))
            .ok_or_else(|| {
                KmsError::Config(
                    "VAULT_ADDR (or BAO_ADDR) is not set: it names the Vault server, e.g. https://vault.example:8200".into(),
                )
            })?;
        let addr = addr.trim_end_matches('/').to_owned();
        let token = match nonempty("VAULT_TOKEN").or_else(|| nonempty("BAO_TOKEN")) {
            Some(t) => t,
            None => token_file(env)?,
        };
        let ca_pem = match nonempty("VAULT_CACERT") {
            Some(path) => Some(
                std::fs::read(&path)
                    .map_err(|e| KmsError::Config(format!("reading VAULT_CACERT {path}: {e}")))?,
            ),
            None => None,
        };
        let http = client_for(&addr, "VAULT_ADDR", ca_pem)?;
        let mount = nonempty("TRANSIT_SECRET_ENGINE_PATH")
            .unwrap_or_else(|| "transit".to_owned())
            .trim_matches('/')
            .to_owned();
        Ok(Self {
            http,
            addr,
            token: zeroize::Zeroizing::new(token.trim().to_owned()),
            namespace: nonempty("VAULT_NAMESPACE"),
            mount,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}/{path}", self.addr, self.mount)
    }

    /// `GET` (body `None`) or `POST` a transit path; the answer's status and body.
    fn call(
        &self,
        operation: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::result::Result<Answer, KmsError> {
        let url = self.url(path);
        let bytes = body.map(|b| b.to_string().into_bytes());
        let what = format!("{} {url}", if bytes.is_some() { "POST" } else { "GET" });
        // Vault Enterprise namespaces; OpenBao reads the same header.
        let namespace = self.namespace.as_deref();
        macro_rules! with_headers {
            ($builder:expr) => {{
                let builder = $builder.header("X-Vault-Token", self.token.as_str());
                match namespace {
                    Some(ns) => builder.header("X-Vault-Namespace", ns),
                    None => builder,
                }
            }};
        }
        let response = self.http.send(&what, |agent| match &bytes {
            Some(b) => with_headers!(agent.post(&url).header("Content-Type", "application/json"))
                .send(&b[..]),
            None => with_headers!(agent.get(&url)).call(),
        })?;
        read_answer(operation, response)
    }

    /// Turns a non-2xx answer into [`KmsError::Refused`] with Vault's `errors` text.
    fn refused(&self, operation: &str, key: &str, answer: &Answer) -> KmsError {
        let errors: Vec<String> = answer
            .json(operation)
            .ok()
            .and_then(|v| v["errors"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect();
        let mut message = if errors.is_empty() {
            String::from_utf8_lossy(&answer.body)
                .chars()
                .take(300)
                .collect()
        } else {
            errors.join("; ")
        };
        match answer.status {
            403 => message.push_str(
                " (Vault refused the token: check VAULT_TOKEN and its policy for this transit key)",
            ),
            404 => {
                // Vault says nothing for a missing key and "no handler for route" for a
                // missing mount; its words, when there are any, come last.
                let said = if errors.is_empty() {
                    String::new()
                } else {
                    format!(": {}", errors.join("; "))
                };
                message = format!(
                    "no transit key {key:?} under {}/v1/{} (check the key name and TRANSIT_SECRET_ENGINE_PATH){said}",
                    self.addr, self.mount
                );
            }
            _ => {}
        }
        KmsError::Refused {
            operation: operation.to_owned(),
            status: answer.status,
            message,
        }
    }
}

/// `~/.vault-token`, where the Vault CLI's default token helper keeps the token.
fn token_file(env: Env<'_>) -> std::result::Result<String, KmsError> {
    let missing = || {
        KmsError::Config(
            "no Vault token: set VAULT_TOKEN (or BAO_TOKEN), or log in with the vault CLI so ~/.vault-token exists".into(),
        )
    };
    let home = env("HOME").filter(|h| !h.is_empty()).ok_or_else(missing)?;
    let text = std::fs::read_to_string(std::path::Path::new(&home).join(".vault-token"))
        .map_err(|_| missing())?;
    let token = text.trim();
    if token.is_empty() {
        return Err(missing());
    }
    Ok(token.to_owned())
}

impl VaultKey {
    /// Opens the transit key `reference` names: reads its latest version's public key.
    pub fn open(reference: &VaultKeyRef, env: Env<'_>) -> Result<Self> {
        Self::open_inner(reference, env).map_err(|e| e.into_error(SERVICE))
    }

    /// Creates the transit key (`ecdsa-p256` or `ecdsa-p384`) and opens it; refuses a name
    /// that already exists rather than silently using a key of another type.
    pub fn create(reference: &VaultKeyRef, env: Env<'_>, algorithm: KeyAlgorithm) -> Result<Self> {
        Self::create_inner(reference, env, algorithm).map_err(|e| e.into_error(SERVICE))
    }

    fn create_inner(
        reference: &VaultKeyRef,
        env: Env<'_>,
        algorithm: KeyAlgorithm,
    ) -> std::result::Result<Self, KmsError> {
        let key = &reference.key;
        let key_type = match algorithm {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::Ed25519 => {
                return Err(KmsError::Key {
                    key: key.clone(),
                    reason: "not supported yet: ed25519 transit keys (cosign signs their digest, not the message); use ecdsa-p256 or ecdsa-p384".into(),
                });
            }
            other @ (KeyAlgorithm::EcdsaP521 | KeyAlgorithm::Rsa(_)) => {
                return Err(KmsError::Key {
                    key: key.clone(),
                    reason: format!(
                        "vouch creates ecdsa-p256 or ecdsa-p384 transit keys, not {other:?}"
                    ),
                });
            }
        };
        let vault = Vault::from_env(env)?;
        let path = format!("keys/{key}");
        let existing = vault.call(&format!("read transit key {key}"), &path, None)?;
        if existing.status == 200 {
            return Err(KmsError::Key {
                key: key.clone(),
                reason: format!(
                    "already exists in {}/v1/{}; sign with it as it is, or pick another name",
                    vault.addr, vault.mount
                ),
            });
        }
        let operation = format!("create transit key {key}");
        let answer = vault.call(&operation, &path, Some(&json!({ "type": key_type })))?;
        if !(200..300).contains(&answer.status) {
            return Err(vault.refused(&operation, key, &answer));
        }
        Self::read(vault, key)
    }

    fn open_inner(reference: &VaultKeyRef, env: Env<'_>) -> std::result::Result<Self, KmsError> {
        Self::read(Vault::from_env(env)?, &reference.key)
    }

    fn read(vault: Vault, key: &str) -> std::result::Result<Self, KmsError> {
        let operation = format!("read transit key {key}");
        let answer = vault.call(&operation, &format!("keys/{key}"), None)?;
        if answer.status != 200 {
            return Err(vault.refused(&operation, key, &answer));
        }
        let (key_type, version, public) =
            parse_key(&operation, key, &answer.json(&operation)?["data"])?;
        Ok(Self {
            vault,
            key: key.to_owned(),
            version,
            key_type,
            public,
        })
    }

    /// The transit key's type.
    pub fn key_type(&self) -> TransitKeyType {
        self.key_type
    }

    /// The key version that signs (the latest when the key was opened).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Signs the `hash` digest of `message`: `POST sign/KEY/sha2-256` (or `sha2-384`) with
    /// the digest and `prehashed: true` (Vault API docs, transit "Sign data":
    /// `hash_algorithm`, `prehashed`).
    fn sign_inner(
        &self,
        hash: HashAlgorithm,
        message: &[u8],
    ) -> std::result::Result<Vec<u8>, KmsError> {
        let key = &self.key;
        let operation = format!("sign with transit key {key}");
        let digest = hash.digest(message);
        let hash_path = match hash {
            HashAlgorithm::Sha2_256 => "sha2-256",
            HashAlgorithm::Sha2_384 => "sha2-384",
            HashAlgorithm::Sha2_512 => "sha2-512",
        };
        let mut body = json!({
            "input": B64.encode(digest),
            "prehashed": true,
            "key_version": self.version,
            "marshaling_algorithm": "asn1",
        });
        if self.key_type.is_rsa() {
            // cosign's choice (hashivault/client.go `sign`); Vault would sign PSS otherwise.
            body["signature_algorithm"] = json!("pkcs1v15");
        }
        let answer =
            self.vault
                .call(&operation, &format!("sign/{key}/{hash_path}"), Some(&body))?;
        if answer.status != 200 {
            return Err(self.vault.refused(&operation, key, &answer));
        }
        parse_signature(&operation, self.version, &answer.json(&operation)?)
    }
}

/// The key type, latest version and that version's public key from a `GET keys/KEY` answer's
/// `data` (Vault API docs, transit "Read key": `type`, `latest_version`, `keys.<N>.public_key`).
fn parse_key(
    operation: &str,
    key: &str,
    data: &Value,
) -> std::result::Result<(TransitKeyType, u64, VerifyingKey), KmsError> {
    let malformed = |reason: &str| KmsError::Response {
        operation: operation.to_owned(),
        reason: reason.to_owned(),
    };
    let type_name = data["type"]
        .as_str()
        .ok_or_else(|| malformed("no data.type"))?;
    // An encryption or HMAC key (aes256-gcm96, hmac ...) says so before its type is judged.
    if data["supports_signing"].as_bool() == Some(false) {
        return Err(KmsError::Key {
            key: key.to_owned(),
            reason: format!("the transit key (type {type_name}) does not support signing"),
        });
    }
    let key_type = TransitKeyType::from_name(type_name).ok_or_else(|| KmsError::Key {
        key: key.to_owned(),
        reason: format!(
            "not supported yet: transit keys of type {type_name} (vouch signs with ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 and rsa-4096 keys)"
        ),
    })?;
    let version = data["latest_version"]
        .as_u64()
        .filter(|v| *v >= 1)
        .ok_or_else(|| malformed("no data.latest_version"))?;
    let pem = data["keys"][version.to_string()]["public_key"]
        .as_str()
        .ok_or_else(|| malformed("no public_key for data.latest_version"))?;
    let public = VerifyingKey::from_pem(pem).map_err(|e| malformed(&e.to_string()))?;
    if public.algorithm_name() != key_type.public_key_algorithm() {
        return Err(malformed(&format!(
            "data.type says {type_name} but the public key is {}",
            public.algorithm_name()
        )));
    }
    Ok((key_type, version, public))
}

/// The DER signature from a `POST sign/KEY/sha2-256` answer: `data.signature` is
/// `vault:v<N>:<base64>`, and N must be the version vouch asked for.
fn parse_signature(
    operation: &str,
    version: u64,
    value: &Value,
) -> std::result::Result<Vec<u8>, KmsError> {
    let malformed = |reason: String| KmsError::Response {
        operation: operation.to_owned(),
        reason,
    };
    let signature = value["data"]["signature"]
        .as_str()
        .ok_or_else(|| malformed("no data.signature".into()))?;
    let prefix = format!("vault:v{version}:");
    let encoded = signature.strip_prefix(&prefix).ok_or_else(|| {
        malformed(format!(
            "signature {:?} is not from key version {version} (expected the prefix {prefix})",
            signature.chars().take(16).collect::<String>(),
        ))
    })?;
    B64.decode(encoded)
        .map_err(|e| malformed(format!("signature is not base64: {e}")))
}

impl Signer for VaultKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.sign_as(self.scheme(), message)
    }

    /// `ecdsa-p384` keys sign over SHA-256 (the default, as cosign before v3) or SHA-384
    /// (what a log recording digests needs); the other types with their one scheme.
    fn sign_as(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>> {
        let allowed = scheme == self.scheme()
            || (self.key_type == TransitKeyType::EcdsaP384
                && scheme == SignatureScheme::EcdsaP384Sha384);
        let Some(hash) = scheme.hash().filter(|_| allowed) else {
            return Err(crate::Error::UnsupportedAlgorithm {
                algorithm: format!(
                    "{} signatures from a {} transit key",
                    scheme.key_details().unwrap_or("RSA"),
                    self.key_type.name()
                ),
            });
        };
        let der = self
            .sign_inner(hash, message)
            .map_err(|e| e.into_error(SERVICE))?;
        check_signature(SERVICE, &self.public, hash, &hash.digest(message), &der)?;
        Ok(der)
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_as_cosign() {
        for ok in ["release", "a", "my-key.v2", "k_1"] {
            assert_eq!(VaultKeyRef::parse(ok).map(|r| r.key), Some(ok.to_owned()));
        }
        for bad in ["", "-k", "k-", "a/b", "k?x", "kéy", ".k"] {
            assert!(VaultKeyRef::parse(bad).is_none(), "{bad}");
        }
    }

    /// A `GET /v1/transit/keys/KEY` answer's `data` as the Vault API docs show it.
    fn key_data(key_type: &str, latest: u64, pem: &str) -> Value {
        json!({
            "type": key_type,
            "supports_signing": true,
            "latest_version": latest,
            "keys": {
                "1": {"name": "P-256", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
                latest.to_string(): {"name": "P-256", "public_key": pem, "creation_time": "2024-01-01T00:00:00Z"},
            },
        })
    }

    #[test]
    fn key_answers_are_parsed_and_checked() {
        let signing = crate::SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        let pem = signing.public_key().to_pem();
        let (key_type, version, public) =
            parse_key("read", "k", &key_data("ecdsa-p256", 2, &pem)).expect("parse");
        assert_eq!((key_type, version), (TransitKeyType::EcdsaP256, 2));
        assert_eq!(public, signing.public_key());

        let err = parse_key("read", "k", &key_data("ecdsa-p384", 2, &pem)).expect_err("mismatch");
        assert!(
            err.to_string().contains("public key is ECDSA P-256"),
            "{err}"
        );
        let err = parse_key("read", "k", &key_data("rsa-2048", 2, &pem)).expect_err("rsa");
        assert!(
            err.to_string().contains("public key is ECDSA P-256"),
            "{err}"
        );
        for unsupported in ["ed25519", "ecdsa-p521"] {
            let err = parse_key("read", "k", &key_data(unsupported, 2, &pem)).expect_err("type");
            assert!(err.to_string().contains("not supported yet"), "{err}");
        }
        let mut data = key_data("ecdsa-p256", 2, &pem);
        data["supports_signing"] = json!(false);
        let err = parse_key("read", "k", &data).expect_err("no signing");
        assert!(
            err.to_string().contains("does not support signing"),
            "{err}"
        );
        let mut data = key_data("ecdsa-p256", 2, &pem);
        data["latest_version"] = json!(3);
        let err = parse_key("read", "k", &data).expect_err("no version 3");
        assert!(err.to_string().contains("no public_key"), "{err}");
    }

    #[test]
    fn signatures_must_come_from_the_pinned_version() {
        let answer = |sig: &str| json!({"data": {"signature": sig, "key_version": 1}});
        let der = parse_signature("sign", 1, &answer("vault:v1:MEUCIQ==")).expect("v1");
        assert_eq!(der, B64.decode("MEUCIQ==").expect("b64"));
        let err = parse_signature("sign", 1, &answer("vault:v2:MEUCIQ==")).expect_err("v2");
        assert!(err.to_string().contains("not from key version 1"), "{err}");
        let err = parse_signature("sign", 1, &answer("vault:v1:%%%")).expect_err("b64");
        assert!(err.to_string().contains("not base64"), "{err}");
        let err = parse_signature("sign", 1, &json!({"data": {}})).expect_err("missing");
        assert!(err.to_string().contains("no data.signature"), "{err}");
    }

    #[test]
    fn missing_address_and_token_are_named() {
        let r = VaultKeyRef { key: "k".into() };
        let err = VaultKey::open(&r, &|_| None).expect_err("no VAULT_ADDR");
        assert!(err.to_string().contains("VAULT_ADDR"), "{err}");
        let env = |n: &str| (n == "VAULT_ADDR").then(|| "http://127.0.0.1:1".to_owned());
        let err = VaultKey::open(&r, &env).expect_err("no token");
        assert!(err.to_string().contains("VAULT_TOKEN"), "{err}");
    }
}
