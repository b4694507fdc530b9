//! OIDC identity token validation, as Fulcio does it (`sigstore/fulcio:pkg/server/grpc_server.go`,
//! `pkg/identity/*`, go-oidc's `IDTokenVerifier`): the token's `iss` must be a configured
//! issuer, its signature must verify under a key of the JWKS that issuer's discovery document
//! names, `aud` must contain the configured client ID (`sigstore`), and `exp`/`nbf`/`iat` must
//! hold at the CA's clock within the allowed skew. Claims then map to an [`Identity`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use p256::ecdsa::signature::Verifier as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::issue::{Identity, San};
use crate::limits::{self, Limits};

/// The audience Sigstore clients request (`client-id: sigstore` in Fulcio's config).
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// How an issuer's claims become a certificate identity (Fulcio's issuer `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    /// SAN = the `email` claim (which must be `email_verified`); principal = the email.
    Email,
    /// SAN = the `sub` claim, which must be a URI; principal = `sub`.
    Uri,
    /// GitHub Actions: SAN = `https://github.com/` + `job_workflow_ref`, extensions 1.9-1.22
    /// from the workflow claims; principal = `sub`.
    GithubWorkflow,
}

/// One trusted OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerConfig {
    /// The issuer URL, compared byte for byte with `iss`; discovery is fetched from
    /// `<url>/.well-known/openid-configuration`.
    pub issuer_url: String,
    /// Required audience (`sigstore`).
    pub client_id: String,
    /// Claim mapping.
    pub issuer_type: IssuerType,
}

impl IssuerConfig {
    /// An email issuer with audience `sigstore`.
    pub fn email(issuer_url: impl Into<String>) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            client_id: SIGSTORE_AUDIENCE.into(),
            issuer_type: IssuerType::Email,
        }
    }
}

/// A token that passed validation: its issuer configuration and claims.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The issuer it came from.
    pub issuer: IssuerConfig,
    /// All claims.
    pub claims: serde_json::Map<String, Value>,
}

impl VerifiedToken {
    fn claim(&self, name: &'static str) -> Result<&str> {
        self.claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(Error::TokenClaim {
                claim: name,
                reason: "missing or not a non-empty string".into(),
            })
    }

    /// The name the proof of possession signs: the email for email issuers, else `sub`
    /// (`sigstore/fulcio:pkg/identity/email/principal.go` `Name`).
    pub fn principal(&self) -> Result<&str> {
        match self.issuer.issuer_type {
            IssuerType::Email => self.claim("email"),
            IssuerType::Uri | IssuerType::GithubWorkflow => self.claim("sub"),
        }
    }

    /// The certificate identity these claims map to.
    pub fn identity(&self) -> Result<Identity> {
        let issuer = self.issuer.issuer_url.clone();
        match self.issuer.issuer_type {
            IssuerType::Email => {
                if self.claims.get("email_verified") != Some(&Value::Bool(true)) {
                    return Err(Error::TokenClaim {
                        claim: "email_verified",
                        reason: "email issuers require email_verified = true".into(),
                    });
                }
                Ok(Identity {
                    san: San::Email(self.claim("email")?.to_owned()),
                    issuer,
                    extensions: Vec::new(),
                })
            }
            IssuerType::Uri => {
                let sub = self.claim("sub")?;
                if !(sub.starts_with("https://") || sub.starts_with("http://") || sub.contains(':'))
                {
                    return Err(Error::TokenClaim {
                        claim: "sub",
                        reason: format!("{sub:?} is not a URI"),
                    });
                }
                Ok(Identity {
                    san: San::Uri(sub.to_owned()),
                    issuer,
                    extensions: Vec::new(),
                })
            }
            IssuerType::GithubWorkflow => self.github_identity(issuer),
        }
    }

    /// `sigstore/fulcio:pkg/identity/ciprovider` mapping for GitHub Actions
    /// (`docs/oid-info.md`).
    fn github_identity(&self, issuer: String) -> Result<Identity> {
        let server = self
            .claims
            .get("server_url")
            .and_then(Value::as_str)
            .unwrap_or("https://github.com")
            .trim_end_matches('/')
            .to_owned();
        let get = |c: &str| {
            self.claims
                .get(c)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let san = format!("{server}/{}", self.claim("job_workflow_ref")?);
        let mut extensions = Vec::new();
        let mut push = |arc: u32, value: Option<String>| {
            if let Some(v) = value {
                extensions.push((format!("1.3.6.1.4.1.57264.1.{arc}"), v));
            }
        };
        let with_server = |v: Option<String>| v.map(|v| format!("{server}/{v}"));
        push(9, with_server(get("job_workflow_ref")));
        push(10, get("job_workflow_sha"));
        push(11, get("runner_environment"));
        push(12, with_server(get("repository")));
        push(13, get("sha"));
        push(14, get("ref"));
        push(15, get("repository_id"));
        push(16, with_server(get("repository_owner")));
        push(17, get("repository_owner_id"));
        push(18, with_server(get("workflow_ref")));
        push(19, get("workflow_sha"));
        push(20, get("event_name"));
        let run = match (get("repository"), get("run_id"), get("run_attempt")) {
            (Some(r), Some(id), Some(a)) => {
                Some(format!("{server}/{r}/actions/runs/{id}/attempts/{a}"))
            }
            _ => None,
        };
        push(21, run);
        push(22, get("repository_visibility"));
        Ok(Identity {
            san: San::Uri(san),
            issuer,
            extensions,
        })
    }
}

/// A JSON Web Key (RFC 7517); only EC P-256 keys are used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type (`EC`).
    pub kty: String,
    /// Curve (`P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Base64url X coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Base64url Y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Use (`sig`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

impl Jwk {
    /// The JWK of a P-256 verifying key.
    pub fn from_p256(key: &p256::ecdsa::VerifyingKey, kid: &str) -> Self {
        let point = key.to_sec1_point(false);
        let bytes = point.as_bytes();
        Self {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(B64URL.encode(&bytes[1..33])),
            y: Some(B64URL.encode(&bytes[33..65])),
            kid: Some(kid.into()),
            alg: Some("ES256".into()),
            use_: Some("sig".into()),
        }
    }

    fn p256(&self) -> Option<p256::ecdsa::VerifyingKey> {
        if self.kty != "EC" || self.crv.as_deref() != Some("P-256") {
            return None;
        }
        let x = B64URL.decode(self.x.as_deref()?).ok()?;
        let y = B64URL.decode(self.y.as_deref()?).ok()?;
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()
    }
}

/// A JWK set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// A compact JWS split into its parts, before any check.
struct RawToken<'a> {
    signing_input: &'a str,
    header: Value,
    claims: serde_json::Map<String, Value>,
    signature: Vec<u8>,
}

fn split_token(token: &str) -> Result<RawToken<'_>> {
    let bad = |reason: &str| Error::MalformedToken {
        reason: reason.into(),
    };
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected three dot-separated parts"));
    };
    let decode = |part: &str, what: &str| {
        B64URL
            .decode(part.trim_end_matches('='))
            .map_err(|_| bad(&format!("{what} is not base64url")))
    };
    let header: Value =
        serde_json::from_slice(&decode(h, "header")?).map_err(|_| bad("header is not JSON"))?;
    let claims: serde_json::Map<String, Value> = serde_json::from_slice(&decode(p, "payload")?)
        .map_err(|_| bad("payload is not a JSON object"))?;
    Ok(RawToken {
        signing_input: &token[..h.len() + 1 + p.len()],
        header,
        claims,
        signature: decode(s, "signature")?,
    })
}

/// Reads `iss` without verifying anything (for choosing the issuer; never trusted as is).
pub fn unverified_issuer(token: &str) -> Result<String> {
    let raw = split_token(token)?;
    raw.claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(Error::TokenClaim {
            claim: "iss",
            reason: "missing".into(),
        })
}

/// Where JWKS come from: fetched through discovery, or given (tests, pinned keys).
pub trait KeySource: Send + Sync {
    /// The JWKS of `issuer_url`.
    fn jwks(&self, issuer_url: &str) -> Result<Jwks>;
}

/// Fetches `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`, caching each
/// issuer's keys for the process lifetime and refetching once when a `kid` is unknown (key
/// rotation).
pub struct DiscoveryKeySource {
    client: vouch_http::Client,
    limits: Limits,
    cache: Mutex<HashMap<String, Jwks>>,
}

impl DiscoveryKeySource {
    /// A key source using `client`.
    pub fn new(client: vouch_http::Client, limits: Limits) -> Self {
        Self {
            client,
            limits,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn get_json(&self, what: &'static str, url: &str) -> Result<Value> {
        let unreachable = |reason: String| Error::IssuerUnreachable {
            what,
            url: url.to_owned(),
            reason,
        };
        let response = self
            .client
            .send(&format!("GET {url}"), |agent| agent.get(url).call())
            .map_err(|e| unreachable(e.to_string()))?;
        if response.status().as_u16() != 200 {
            return Err(unreachable(format!("HTTP {}", response.status())));
        }
        let body = response
            .into_body()
            .with_config()
            .limit(self.limits.max_issuer_document_bytes)
            .read_to_vec()
            .map_err(|e| unreachable(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| unreachable(e.to_string()))
    }

    fn fetch(&self, issuer_url: &str) -> Result<Jwks> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer_url.trim_end_matches('/')
        );
        let discovery = self.get_json("discovery", &discovery_url)?;
        // OpenID Connect Discovery 1.0 §4.3: the document's issuer must equal the URL used.
        if discovery.get("issuer").and_then(Value::as_str) != Some(issuer_url) {
            return Err(Error::IssuerUnreachable {
                what: "discovery",
                url: discovery_url,
                reason: format!("document names issuer {:?}", discovery.get("issuer")),
            });
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::IssuerUnreachable {
                what: "discovery",
                url: discovery_url.clone(),
                reason: "no jwks_uri".into(),
            })?
            .to_owned();
        let jwks = self.get_json("JWKS", &jwks_uri)?;
        serde_json::from_value(jwks).map_err(|e| Error::IssuerUnreachable {
            what: "JWKS",
            url: jwks_uri,
            reason: e.to_string(),
        })
    }

    /// Drops cached keys of `issuer_url` (after an unknown `kid`).
    fn forget(&self, issuer_url: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(issuer_url);
        }
    }
}

impl KeySource for DiscoveryKeySource {
    fn jwks(&self, issuer_url: &str) -> Result<Jwks> {
        if let Some(cached) = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(issuer_url).cloned())
        {
            return Ok(cached);
        }
        let jwks = self.fetch(issuer_url)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(issuer_url.to_owned(), jwks.clone());
        }
        Ok(jwks)
    }
}

/// Validates identity tokens for a configured list of issuers.
pub struct TokenVerifier {
    issuers: Vec<IssuerConfig>,
    keys: Box<dyn KeySource>,
    discovery: Option<std::sync::Arc<DiscoveryKeySource>>,
    limits: Limits,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

struct SharedDiscovery(std::sync::Arc<DiscoveryKeySource>);

impl KeySource for SharedDiscovery {
    fn jwks(&self, issuer_url: &str) -> Result<Jwks> {
        self.0.jwks(issuer_url)
    }
}

impl TokenVerifier {
    /// Keys fetched through OIDC discovery with `client`.
    pub fn with_discovery(
        issuers: Vec<IssuerConfig>,
        client: vouch_http::Client,
        limits: Limits,
    ) -> Self {
        let discovery = std::sync::Arc::new(DiscoveryKeySource::new(client, limits));
        Self {
            issuers,
            keys: Box::new(SharedDiscovery(discovery.clone())),
            discovery: Some(discovery),
            limits,
        }
    }

    /// Keys from `keys`.
    pub fn with_key_source(
        issuers: Vec<IssuerConfig>,
        keys: Box<dyn KeySource>,
        limits: Limits,
    ) -> Self {
        Self {
            issuers,
            keys,
            discovery: None,
            limits,
        }
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &[IssuerConfig] {
        &self.issuers
    }

    /// Validates `token` at the current time.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verify_at(token, now)
    }

    /// Validates `token` at `now` (unix seconds).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<VerifiedToken> {
        limits::check("identity token", self.limits.max_token_bytes, token.len())?;
        let raw = split_token(token)?;
        let alg = raw.header.get("alg").and_then(Value::as_str).unwrap_or("");
        // RFC 8725 §3.1: the algorithm is fixed by the verifier, never taken from the token;
        // `none` and HMAC are refused outright.
        if alg != "ES256" {
            return Err(Error::TokenAlgorithm { found: alg.into() });
        }
        let iss = raw
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(Error::TokenClaim {
                claim: "iss",
                reason: "missing".into(),
            })?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.issuer_url == iss)
            .ok_or_else(|| Error::UnknownIssuer { issuer: iss.into() })?;
        let kid = raw
            .header
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut jwks = self.keys.jwks(&issuer.issuer_url)?;
        let known = |j: &Jwks| kid.is_none() || j.keys.iter().any(|k| k.kid == kid);
        if let (false, Some(d)) = (known(&jwks), &self.discovery) {
            d.forget(&issuer.issuer_url);
            jwks = self.keys.jwks(&issuer.issuer_url)?;
        }
        let signature = p256::ecdsa::Signature::from_slice(&raw.signature).ok();
        let verified = signature.is_some_and(|sig| {
            jwks.keys
                .iter()
                .filter(|k| kid.is_none() || k.kid == kid)
                .filter_map(Jwk::p256)
                .any(|key| key.verify(raw.signing_input.as_bytes(), &sig).is_ok())
        });
        if !verified {
            return Err(Error::TokenSignature {
                issuer: iss.into(),
                kid,
            });
        }
        check_audience(&raw.claims, &issuer.client_id)?;
        check_times(&raw.claims, now, self.limits.clock_skew_secs)?;
        Ok(VerifiedToken {
            issuer: issuer.clone(),
            claims: raw.claims,
        })
    }
}

fn check_audience(claims: &serde_json::Map<String, Value>, expected: &str) -> Result<()> {
    let found: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if !found.iter().any(|a| a == expected) {
        return Err(Error::TokenAudience {
            expected: expected.into(),
            found,
        });
    }
    Ok(())
}

fn check_times(claims: &serde_json::Map<String, Value>, now: u64, skew: u64) -> Result<()> {
    let num = |c: &str| claims.get(c).and_then(Value::as_u64);
    let err = |claim, value| Error::TokenTime {
        claim,
        value,
        now,
        skew_secs: skew,
    };
    let exp = num("exp").ok_or(Error::TokenClaim {
        claim: "exp",
        reason: "missing or not a non-negative integer".into(),
    })?;
    if now > exp.saturating_add(skew) {
        return Err(err("exp", exp));
    }
    if let Some(nbf) = num("nbf").filter(|v| *v > now.saturating_add(skew)) {
        return Err(err("nbf", nbf));
    }
    if let Some(iat) = num("iat").filter(|v| *v > now.saturating_add(skew)) {
        return Err(err("iat", iat));
    }
    Ok(())
}

/// Signs `claims` as a compact ES256 JWS with `key` (the dev issuer's tokens).
pub fn sign_es256(key: &p256::ecdsa::SigningKey, kid: &str, claims: &Value) -> String {
    use p256::ecdsa::signature::Signer as _;
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", B64URL.encode(sig.to_bytes()))
}
