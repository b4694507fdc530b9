//! AWS KMS keys: `awskms://[ENDPOINT]/KEY`, KEY a key id, key ARN, `alias/NAME` or alias ARN.
//!
//! The reference grammar is cosign's (sigstore/sigstore `pkg/signature/kms/aws/client.go`).
//! Requests are the KMS JSON API (`POST /`, `X-Amz-Target: TrentService.<Op>`,
//! `application/x-amz-json-1.1`) signed with SigV4 by AWS's own `aws-sigv4` crate, sent
//! through vouch-http:
//! * `GetPublicKey`: the SubjectPublicKeyInfo, key spec, usage and signing algorithms;
//! * `Sign` with `ECDSA_SHA_256` (`ECC_NIST_P256` keys) or `ECDSA_SHA_384` (`ECC_NIST_P384`
//!   keys, which KMS signs only over SHA-384: their bundles record a SHA-384 message digest,
//!   `PKIX_ECDSA_P384_SHA_384`, as cosign v3 signs with any P-384 key): messages up to 4096
//!   bytes as `MessageType: RAW`, longer ones as their digest (`MessageType: DIGEST`, as
//!   cosign);
//! * `CreateKey` (`KeyUsage: SIGN_VERIFY`) + `CreateAlias` for `generate-key-pair --kms`,
//!   which, as in cosign, needs the alias form.
//!
//! Credentials come from the standard variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), the region from `AWS_REGION` / `AWS_DEFAULT_REGION` (else the
//! key ARN's). The endpoint is the reference's (an AWS-compatible service: HTTPS, or plain
//! HTTP to a loopback host), else `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL` as the AWS SDKs
//! read them, else `https://kms.<region>.amazonaws.com`.

use std::sync::LazyLock;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use regex::Regex;
use serde_json::{Value, json};

use super::{Answer, Env, KmsError, check_signature, client_for, read_answer};
use crate::error::Result;
use crate::keys::{HashAlgorithm, KeyAlgorithm, SignatureScheme, Signer, VerifyingKey};

const SERVICE: &str = "AWS KMS";

/// The largest message KMS `Sign` takes with `MessageType: RAW` (AWS KMS API reference).
const MAX_RAW_MESSAGE: usize = 4096;

// cosign's patterns, verbatim (sigstore/sigstore pkg/signature/kms/aws/client.go).
const UUID_RE: &str =
    r"m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}";
const ARN_RE: &str = r"arn:(?:aws|aws-us-gov|aws-cn):kms:[a-z0-9-]+:\d{12}:";
const HOST_RE: &str = r"([^/]*)/";

/// (pattern, whether the key part is an alias).
static REFERENCE_RES: LazyLock<Vec<(Regex, bool)>> = LazyLock::new(|| {
    [
        (format!("^{HOST_RE}({UUID_RE})$"), false),
        (format!("^{HOST_RE}({ARN_RE}key/{UUID_RE})$"), false),
        (format!("^{HOST_RE}(alias/.*)$"), true),
        (format!("^{HOST_RE}({ARN_RE}(alias/.*))$"), true),
    ]
    .into_iter()
    // The patterns are constants; a typo fails every test of this module.
    .filter_map(|(re, alias)| Regex::new(&re).ok().map(|re| (re, alias)))
    .collect()
});

/// `awskms://[ENDPOINT]/KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsKeyRef {
    /// `host[:port]` of an AWS-compatible KMS, when the reference names one.
    pub endpoint: Option<String>,
    /// The key as KMS's `KeyId` takes it: id, key ARN, `alias/NAME` or alias ARN.
    pub key: String,
    /// `alias/NAME` when the key is named by an alias (the ARN's alias part for alias ARNs).
    pub alias: Option<String>,
}

impl AwsKeyRef {
    /// The part after `awskms://`.
    pub(crate) fn parse(rest: &str) -> Option<Self> {
        REFERENCE_RES.iter().find_map(|(re, is_alias)| {
            let caps = re.captures(rest)?;
            let endpoint = caps.get(1).map(|m| m.as_str()).filter(|h| !h.is_empty());
            let key = caps.get(2)?.as_str();
            let alias = if *is_alias {
                Some(caps.get(3).map_or(key, |m| m.as_str()).to_owned())
            } else {
                None
            };
            Some(Self {
                endpoint: endpoint.map(str::to_owned),
                key: key.to_owned(),
                alias,
            })
        })
    }

    /// The region named by a key or alias ARN.
    fn arn_region(&self) -> Option<&str> {
        let rest = self.key.strip_prefix("arn:")?;
        rest.split(':').nth(2).filter(|r| !r.is_empty())
    }
}

/// Endpoint, region and credentials of one KMS.
struct Kms {
    http: vouch_http::Client,
    url: String,
    region: String,
    credentials: Credentials,
}

impl Kms {
    fn from_env(reference: &AwsKeyRef, env: Env<'_>) -> std::result::Result<Self, KmsError> {
        let nonempty = |name: &str| env(name).filter(|v| !v.is_empty());
        let region = nonempty("AWS_REGION")
            .or_else(|| nonempty("AWS_DEFAULT_REGION"))
            .or_else(|| reference.arn_region().map(str::to_owned))
            .ok_or_else(|| {
                KmsError::Config("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)".into())
            })?;
        let url = match &reference.endpoint {
            Some(host) => {
                let scheme = vouch_http::TransportPolicy::default().scheme_for(host);
                format!("{scheme}://{host}/")
            }
            None => match nonempty("AWS_ENDPOINT_URL_KMS").or_else(|| nonempty("AWS_ENDPOINT_URL"))
            {
                Some(url) => format!("{}/", url.trim_end_matches('/')),
                None if region.starts_with("cn-") => {
                    format!("https://kms.{region}.amazonaws.com.cn/")
                }
                None => format!("https://kms.{region}.amazonaws.com/"),
            },
        };
        let http = client_for(&url, "AWS KMS endpoint", None)?;
        let (Some(access_key), Some(secret)) = (
            nonempty("AWS_ACCESS_KEY_ID"),
            nonempty("AWS_SECRET_ACCESS_KEY"),
        ) else {
            return Err(KmsError::Config(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)".into(),
            ));
        };
        let credentials = Credentials::new(
            access_key,
            secret,
            nonempty("AWS_SESSION_TOKEN"),
            None,
            "environment",
        );
        Ok(Self {
            http,
            url,
            region,
            credentials,
        })
    }

    /// Calls KMS operation `op` (e.g. `Sign`) with a JSON body; non-2xx answers become
    /// [`KmsError::Refused`] with KMS's error type and message.
    fn call(
        &self,
        operation: &str,
        op: &str,
        body: &Value,
    ) -> std::result::Result<Value, KmsError> {
        let body = body.to_string().into_bytes();
        let target = format!("TrentService.{op}");
        let content_type = "application/x-amz-json-1.1";
        let signing_failed =
            |e: &dyn std::fmt::Display| KmsError::Config(format!("SigV4 signing: {e}"));
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("kms")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| signing_failed(&e))?
            .into();
        let headers = [
            ("content-type", content_type),
            ("x-amz-target", target.as_str()),
        ];
        let signable = SignableRequest::new(
            "POST",
            &self.url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| signing_failed(&e))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| signing_failed(&e))?
            .into_parts();
        let signed: Vec<(String, String)> = instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let what = format!("POST {} ({target})", self.url);
        let response = self.http.send(&what, |agent| {
            let mut request = agent
                .post(&self.url)
                .header("Content-Type", content_type)
                .header("X-Amz-Target", &target);
            for (k, v) in &signed {
                request = request.header(k, v);
            }
            request.send(&body[..])
        })?;
        let answer = read_answer(operation, response)?;
        if !(200..300).contains(&answer.status) {
            return Err(refused(operation, &answer));
        }
        answer.json(operation)
    }
}

/// KMS's error answer (`__type`, `message`) with what it usually means.
fn refused(operation: &str, answer: &Answer) -> KmsError {
    let value = answer.json(operation).unwrap_or(Value::Null);
    // The JSON API answers `{"__type", "message"}`; the authentication layer in front of it
    // answers in the query API's XML (`<Error><Code>..</Code><Message>..</Message>`).
    let body = String::from_utf8_lossy(&answer.body);
    let xml = |tag: &str| {
        let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = start + body[start..].find(&format!("</{tag}>"))?;
        Some(body[start..end].to_owned())
    };
    let kind = value["__type"]
        .as_str()
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
        .or_else(|| xml("Code"))
        .unwrap_or_default();
    let text = value["message"]
        .as_str()
        .or_else(|| value["Message"].as_str())
        .map(str::to_owned)
        .or_else(|| xml("Message"))
        .unwrap_or_else(|| body.chars().take(300).collect());
    let hint = match kind.as_str() {
        "UnrecognizedClientException" | "InvalidClientTokenId" => {
            " (the access key is not known: check AWS_ACCESS_KEY_ID)"
        }
        "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidSignatureException" => {
            " (the request signature was refused: check AWS_SECRET_ACCESS_KEY and AWS_REGION)"
        }
        "ExpiredTokenException" => " (temporary credentials expired: refresh AWS_SESSION_TOKEN)",
        "AccessDeniedException" => " (the credentials' policy does not allow this on the key)",
        "NotFoundException" => " (no such key or alias in this account and region)",
        _ => "",
    };
    KmsError::Refused {
        operation: operation.to_owned(),
        status: answer.status,
        message: format!("{kind}: {text}{hint}"),
    }
}

/// An AWS KMS key, opened: signs through KMS.
pub struct AwsKey {
    kms: Kms,
    key: String,
    algorithm: KeyAlgorithm,
    hash: HashAlgorithm,
    signing_algorithm: &'static str,
    public: VerifyingKey,
}

impl std::fmt::Debug for AwsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKey")
            .field("url", &self.kms.url)
            .field("region", &self.kms.region)
            .field("key", &self.key)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl AwsKey {
    /// Opens the key `reference` names: reads its public key and algorithms.
    pub fn open(reference: &AwsKeyRef, env: Env<'_>) -> Result<Self> {
        Kms::from_env(reference, env)
            .and_then(|kms| Self::read(kms, &reference.key))
            .map_err(|e| e.into_error(SERVICE))
    }

    /// Creates a `SIGN_VERIFY` `ECC_NIST_P256` key under the reference's
    /// alias and opens it; refuses an alias that already names a key.
    pub fn create(reference: &AwsKeyRef, env: Env<'_>, algorithm: KeyAlgorithm) -> Result<Self> {
        Self::create_inner(reference, env, algorithm).map_err(|e| e.into_error(SERVICE))
    }

    fn create_inner(
        reference: &AwsKeyRef,
        env: Env<'_>,
        algorithm: KeyAlgorithm,
    ) -> std::result::Result<Self, KmsError> {
        let Some(alias) = &reference.alias else {
            return Err(KmsError::Key {
                key: reference.key.clone(),
                reason:
                    "creating a key needs the alias form awskms://[ENDPOINT]/alias/NAME (as cosign)"
                        .into(),
            });
        };
        let spec = match algorithm {
            KeyAlgorithm::EcdsaP256 => "ECC_NIST_P256",
            KeyAlgorithm::EcdsaP384 => "ECC_NIST_P384",
            other => {
                return Err(KmsError::Key {
                    key: reference.key.clone(),
                    reason: format!(
                        "not supported yet: {} AWS KMS keys; use ecdsa-p256 or ecdsa-p384",
                        other.key_details()
                    ),
                });
            }
        };
        let kms = Kms::from_env(reference, env)?;
        match kms.call(
            &format!("look up {alias}"),
            "DescribeKey",
            &json!({ "KeyId": reference.key }),
        ) {
            Ok(_) => {
                return Err(KmsError::Key {
                    key: reference.key.clone(),
                    reason: "already exists; sign with it as it is, or pick another alias".into(),
                });
            }
            Err(KmsError::Refused { message, .. }) if message.starts_with("NotFoundException") => {}
            Err(e) => return Err(e),
        }
        let created = kms.call(
            &format!("create key for {alias}"),
            "CreateKey",
            &json!({
                "KeySpec": spec,
                "KeyUsage": "SIGN_VERIFY",
                "Description": "Created by vouch generate-key-pair",
            }),
        )?;
        let key_id =
            created["KeyMetadata"]["KeyId"]
                .as_str()
                .ok_or_else(|| KmsError::Response {
                    operation: "CreateKey".into(),
                    reason: "no KeyMetadata.KeyId".into(),
                })?;
        kms.call(
            &format!("create alias {alias}"),
            "CreateAlias",
            &json!({ "AliasName": alias, "TargetKeyId": key_id }),
        )?;
        Self::read(kms, &reference.key)
    }

    fn read(kms: Kms, key: &str) -> std::result::Result<Self, KmsError> {
        let operation = format!("get public key of {key}");
        let answer = kms.call(&operation, "GetPublicKey", &json!({ "KeyId": key }))?;
        let malformed = |reason: String| KmsError::Response {
            operation: operation.clone(),
            reason,
        };
        let spec = answer["KeySpec"]
            .as_str()
            .or_else(|| answer["CustomerMasterKeySpec"].as_str())
            .ok_or_else(|| malformed("no KeySpec".into()))?;
        let (algorithm, hash, signing_algorithm) = match spec {
            "ECC_NIST_P256" => (
                KeyAlgorithm::EcdsaP256,
                HashAlgorithm::Sha2_256,
                "ECDSA_SHA_256",
            ),
            "ECC_NIST_P384" => (
                KeyAlgorithm::EcdsaP384,
                HashAlgorithm::Sha2_384,
                "ECDSA_SHA_384",
            ),
            other => {
                return Err(KmsError::Key {
                    key: key.to_owned(),
                    reason: format!(
                        "not supported yet: {other} keys (vouch signs with ECC_NIST_P256 and \
                         ECC_NIST_P384 keys)"
                    ),
                });
            }
        };
        if answer["KeyUsage"].as_str() != Some("SIGN_VERIFY") {
            return Err(KmsError::Key {
                key: key.to_owned(),
                reason: format!(
                    "key usage is {}, not SIGN_VERIFY",
                    answer["KeyUsage"].as_str().unwrap_or("missing")
                ),
            });
        }
        let offered = answer["SigningAlgorithms"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !offered
            .iter()
            .any(|a| a.as_str() == Some(signing_algorithm))
        {
            return Err(malformed(format!(
                "SigningAlgorithms {offered:?} lacks {signing_algorithm} for a {spec} key"
            )));
        }
        let der = answer["PublicKey"]
            .as_str()
            .ok_or_else(|| malformed("no PublicKey".into()))
            .and_then(|b| {
                B64.decode(b)
                    .map_err(|e| malformed(format!("PublicKey is not base64: {e}")))
            })?;
        let public = VerifyingKey::from_spki_der(&der).map_err(|e| malformed(e.to_string()))?;
        let expected = match algorithm {
            KeyAlgorithm::EcdsaP384 => "ECDSA P-384",
            _ => "ECDSA P-256",
        };
        if public.algorithm_name() != expected {
            return Err(malformed(format!(
                "KeySpec says {spec} but the public key is {}",
                public.algorithm_name()
            )));
        }
        Ok(Self {
            kms,
            key: key.to_owned(),
            algorithm,
            hash,
            signing_algorithm,
            public,
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn sign_inner(&self, message: &[u8]) -> std::result::Result<Vec<u8>, KmsError> {
        let operation = format!("sign with {}", self.key);
        // KMS signs either the message (`RAW`, at most 4096 bytes, hashed by KMS with the
        // algorithm's hash) or its digest (`DIGEST`): the same ECDSA signature either way.
        // Short messages (image signature payloads, most statements) go `RAW`, which
        // AWS-compatible servers that ignore `MessageType` (moto 5.2 re-hashes a DIGEST)
        // also get right; longer ones go `DIGEST`, as cosign sends everything.
        let (message, message_type) = if message.len() <= MAX_RAW_MESSAGE {
            (B64.encode(message), "RAW")
        } else {
            (B64.encode(self.hash.digest(message)), "DIGEST")
        };
        let answer = self.kms.call(
            &operation,
            "Sign",
            &json!({
                "KeyId": self.key,
                "Message": message,
                "MessageType": message_type,
                "SigningAlgorithm": self.signing_algorithm,
            }),
        )?;
        let signature = answer["Signature"]
            .as_str()
            .ok_or_else(|| KmsError::Response {
                operation: operation.clone(),
                reason: "no Signature".into(),
            })?;
        B64.decode(signature).map_err(|e| KmsError::Response {
            operation,
            reason: format!("Signature is not base64: {e}"),
        })
    }
}

impl Signer for AwsKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let der = self
            .sign_inner(message)
            .map_err(|e| e.into_error(SERVICE))?;
        check_signature(
            SERVICE,
            &self.public,
            self.hash,
            &self.hash.digest(message),
            &der,
        )?;
        Ok(der)
    }

    /// The one scheme the key signs with: P-256 over SHA-256, P-384 over SHA-384 (KMS
    /// offers no other for these key specs).
    fn scheme(&self) -> SignatureScheme {
        match self.algorithm {
            KeyAlgorithm::EcdsaP384 => SignatureScheme::EcdsaP384Sha384,
            _ => SignatureScheme::EcdsaP256Sha256,
        }
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_as_cosign() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let r = AwsKeyRef::parse(&format!("/{id}")).expect("key id");
        assert_eq!((r.endpoint, r.key.as_str(), r.alias), (None, id, None));
        let r = AwsKeyRef::parse(&format!("localhost:4566/{id}")).expect("endpoint");
        assert_eq!(r.endpoint.as_deref(), Some("localhost:4566"));
        let r = AwsKeyRef::parse("/alias/release").expect("alias");
        assert_eq!(r.alias.as_deref(), Some("alias/release"));
        let arn = format!("arn:aws:kms:eu-west-1:111122223333:key/{id}");
        let r = AwsKeyRef::parse(&format!("/{arn}")).expect("key arn");
        assert_eq!(
            (r.key.as_str(), r.arn_region()),
            (arn.as_str(), Some("eu-west-1"))
        );
        let r = AwsKeyRef::parse("/arn:aws:kms:us-east-2:111122223333:alias/x").expect("alias arn");
        assert_eq!(r.alias.as_deref(), Some("alias/x"));
        for bad in [
            "",
            "release",
            "/release",
            "/alias",
            "host/not-a-key",
            "/arn:aws:kms:x",
        ] {
            assert!(AwsKeyRef::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn missing_region_and_credentials_are_named() {
        let r = AwsKeyRef::parse("127.0.0.1:1/alias/k").expect("ref");
        let err = AwsKey::open(&r, &|_| None).expect_err("no region");
        assert!(err.to_string().contains("AWS_REGION"), "{err}");
        let env = |n: &str| (n == "AWS_REGION").then(|| "us-east-1".to_owned());
        let err = AwsKey::open(&r, &env).expect_err("no credentials");
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
        let remote = AwsKeyRef::parse("kms.example:8443/alias/k").expect("ref");
        let env = |n: &str| match n {
            "AWS_REGION" => Some("us-east-1".to_owned()),
            "AWS_ENDPOINT_URL" => Some("http://kms.example".to_owned()),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("x".to_owned()),
            _ => None,
        };
        // A named endpoint that is not loopback gets HTTPS, never clear text.
        let url = Kms::from_env(&remote, &env).map(|k| k.url).expect("remote");
        assert_eq!(url, "https://kms.example:8443/");
        let local = AwsKeyRef::parse("127.0.0.1:5000/alias/k").expect("ref");
        let url = Kms::from_env(&local, &env)
            .map(|k| k.url)
            .expect("loopback");
        assert_eq!(url, "http://127.0.0.1:5000/");
        let r = AwsKeyRef::parse("/alias/k").expect("ref");
        let err = Kms::from_env(&r, &env)
            .map(|k| k.url)
            .expect_err("clear text");
        assert!(err.to_string().contains("clear text"), "{err}");
    }
}
