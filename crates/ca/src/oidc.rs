//! OIDC identity token validation, as Fulcio does it (`sigstore/fulcio:pkg/server/grpc_server.go`,
//! `pkg/config/config.go`, go-oidc's `IDTokenVerifier`): the token's `iss` must be a configured
//! issuer (exact, or a meta issuer's wildcard), its signature must verify under a key of the JWKS
//! that issuer's discovery document names, `aud` must contain the configured client ID
//! (`sigstore`), and `exp`/`nbf`/`iat` must hold at the CA's clock within the allowed skew.
//! Claims then map to an [`Identity`] ([`crate::identity`]).
//!
//! Signatures are checked by `jsonwebtoken` (RustCrypto backend). The algorithm is pinned by the
//! issuer's key, never by the token (RFC 8725 §2.1, §3.1): a JWK's `alg`, or else its
//! `kty`/`crv`, fixes which algorithms may verify under it; `none` and HMAC are refused before
//! any key is looked at, and a token whose `alg` contradicts its key is refused by name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::identity::Claims;
pub use crate::issuers::{IssuerConfig, IssuerSet, IssuerType, SIGSTORE_AUDIENCE};
use crate::limits::{self, Limits};

/// A token that passed validation: its (concrete) issuer configuration and claims.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The issuer it came from (for a meta issuer: the template made concrete with `iss`).
    pub issuer: IssuerConfig,
    /// All claims.
    pub claims: Claims,
}

/// The JOSE header fields this verifier reads (RFC 7515 §4.1). Anything else is ignored except
/// `crit`, which is refused: no extension is understood here (RFC 7515 §4.1.11).
#[derive(Debug, Deserialize)]
struct JoseHeader {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

/// The header and claims of a compact JWS, decoded but not verified.
struct Unverified {
    header: JoseHeader,
    claims: Claims,
}

fn decode_unverified(token: &str) -> Result<Unverified> {
    let bad = |reason: &str| Error::MalformedToken {
        reason: reason.into(),
    };
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected three dot-separated parts (compact JWS)"));
    };
    let decode = |part: &str, what: &str| {
        B64URL
            .decode(part)
            .map_err(|_| bad(&format!("{what} is not unpadded base64url")))
    };
    let header: JoseHeader = serde_json::from_slice(&decode(h, "header")?)
        .map_err(|_| bad("header is not a JSON object with string alg/kid"))?;
    let claims: Claims = serde_json::from_slice(&decode(p, "payload")?)
        .map_err(|_| bad("payload is not a JSON object"))?;
    Ok(Unverified { header, claims })
}

/// Reads `iss` without verifying anything (for choosing the issuer; never trusted as is).
pub fn unverified_issuer(token: &str) -> Result<String> {
    decode_unverified(token)?
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(Error::TokenClaim {
            claim: "iss",
            reason: "missing".into(),
        })
}

/// One key of an issuer's JWKS, with the algorithms it pins.
#[derive(Clone)]
pub struct IssuerKey {
    /// `kid`.
    pub kid: Option<String>,
    /// The algorithms that may verify under this key, or why it cannot be used at all.
    usable: std::result::Result<(Vec<Algorithm>, DecodingKey), String>,
    /// `kty`/`crv`/`alg` for messages.
    describe: String,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .field("key", &self.describe)
            .finish_non_exhaustive()
    }
}

/// Smallest RSA modulus accepted in an issuer's JWKS (NIST SP 800-131A; Fulcio's own floor).
const MIN_RSA_BITS: usize = 2048;

impl IssuerKey {
    /// Reads one JWK (RFC 7517 §4, RFC 7518 §6). A key this verifier cannot use (encryption
    /// key, HMAC secret, unknown type, weak RSA, `alg` contradicting `kty`/`crv`) is kept with
    /// the reason, so a token naming it is refused with that reason.
    pub fn from_jwk(value: &Value) -> Self {
        let kid = value.get("kid").and_then(Value::as_str).map(str::to_owned);
        let field = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("-");
        let describe = format!(
            "kty {} crv {} alg {}",
            field("kty"),
            field("crv"),
            field("alg")
        );
        let usable = Self::pinned(value);
        Self {
            kid,
            usable,
            describe,
        }
    }

    fn pinned(value: &Value) -> std::result::Result<(Vec<Algorithm>, DecodingKey), String> {
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(value.clone()).map_err(|e| format!("unreadable JWK: {e}"))?;
        if let Some(use_) = &jwk.common.public_key_use
            && *use_ != PublicKeyUse::Signature
        {
            return Err("key is not for signatures (use != sig)".into());
        }
        // What the key's type allows (RFC 7518 §3.1 table, restricted to what Fulcio's
        // go-oidc accepts: RS*, PS*, ES256, ES384, EdDSA).
        let family: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                let n = B64URL
                    .decode(rsa.n.trim_end_matches('='))
                    .map_err(|_| "RSA modulus is not base64url".to_owned())?;
                let bits = n
                    .iter()
                    .position(|b| *b != 0)
                    .map_or(0, |i| (n.len() - i) * 8 - n[i].leading_zeros() as usize);
                if bits < MIN_RSA_BITS {
                    return Err(format!(
                        "RSA key of {bits} bits (at least {MIN_RSA_BITS} required)"
                    ));
                }
                vec![
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ]
            }
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => vec![Algorithm::ES256],
                EllipticCurve::P384 => vec![Algorithm::ES384],
                _ => return Err("EC curve not supported for signatures (P-256, P-384)".into()),
            },
            AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
                EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
                _ => return Err("OKP curve not supported (Ed25519)".into()),
            },
            AlgorithmParameters::OctetKey(_) => {
                return Err("symmetric (oct) keys are never trusted for identity tokens".into());
            }
            _ => return Err("unsupported key type".into()),
        };
        let algorithms = match value.get("alg").and_then(Value::as_str) {
            None => family,
            Some(alg) => {
                let alg: Algorithm = alg
                    .parse()
                    .map_err(|_| format!("JWK alg {alg:?} is not a signature algorithm"))?;
                if !family.contains(&alg) {
                    return Err(format!("JWK alg {alg:?} contradicts its key type"));
                }
                vec![alg]
            }
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable JWK: {e}"))?;
        Ok((algorithms, key))
    }
}

/// An issuer's keys as fetched.
#[derive(Debug, Clone, Default)]
pub struct IssuerKeys {
    /// The keys, in JWKS order.
    pub keys: Vec<IssuerKey>,
}

impl IssuerKeys {
    /// Reads a JWKS document (RFC 7517 §5). Keys are read one by one: one unusable key does not
    /// make the others unusable.
    pub fn from_jwks(jwks: &Value) -> Result<Self> {
        let keys =
            jwks.get("keys")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::MalformedToken {
                    reason: "JWKS has no keys array".into(),
                })?;
        Ok(Self {
            keys: keys.iter().map(IssuerKey::from_jwk).collect(),
        })
    }

    fn has_kid(&self, kid: Option<&str>) -> bool {
        kid.is_none_or(|kid| self.keys.iter().any(|k| k.kid.as_deref() == Some(kid)))
    }
}

struct CachedKeys {
    keys: Arc<IssuerKeys>,
    fetched: Instant,
}

/// Discovery and JWKS retrieval with caching: each issuer's discovery document is fetched once
/// (`jwks_uri` kept), its JWKS once and then again only when a token names an unknown `kid`
/// (key rotation), at most once per [`Limits::jwks_refresh_interval_secs`] per issuer, so a
/// stream of tokens with made-up `kid`s cannot turn the CA into a traffic amplifier.
pub struct KeyCache {
    client: vouch_http::Client,
    limits: Limits,
    jwks_uris: Mutex<HashMap<String, String>>,
    keys: Mutex<HashMap<String, CachedKeys>>,
    /// Fixed keys for issuers (tests, air-gapped deployments with pinned JWKS).
    pinned: HashMap<String, Arc<IssuerKeys>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

impl KeyCache {
    /// A cache fetching with `client`.
    pub fn new(client: vouch_http::Client, limits: Limits) -> Self {
        Self {
            client,
            limits,
            jwks_uris: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            pinned: HashMap::new(),
        }
    }

    /// Uses `jwks` for `issuer_url` instead of fetching (no discovery, no refresh).
    pub fn pin(&mut self, issuer_url: &str, jwks: IssuerKeys) {
        self.pinned.insert(issuer_url.to_owned(), Arc::new(jwks));
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

    fn jwks_uri(&self, issuer_url: &str) -> Result<String> {
        if let Some(uri) = self
            .jwks_uris
            .lock()
            .ok()
            .and_then(|m| m.get(issuer_url).cloned())
        {
            return Ok(uri);
        }
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
        let uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::IssuerUnreachable {
                what: "discovery",
                url: discovery_url.clone(),
                reason: "no jwks_uri".into(),
            })?
            .to_owned();
        if let Ok(mut m) = self.jwks_uris.lock() {
            m.insert(issuer_url.to_owned(), uri.clone());
        }
        Ok(uri)
    }

    fn fetch(&self, issuer_url: &str) -> Result<Arc<IssuerKeys>> {
        let uri = self.jwks_uri(issuer_url)?;
        let jwks = self.get_json("JWKS", &uri)?;
        let keys =
            Arc::new(
                IssuerKeys::from_jwks(&jwks).map_err(|e| Error::IssuerUnreachable {
                    what: "JWKS",
                    url: uri,
                    reason: e.to_string(),
                })?,
            );
        if let Ok(mut cache) = self.keys.lock() {
            cache.insert(
                issuer_url.to_owned(),
                CachedKeys {
                    keys: Arc::clone(&keys),
                    fetched: Instant::now(),
                },
            );
        }
        Ok(keys)
    }

    /// The keys of `issuer_url`, refetched when `kid` is not among the cached ones and the last
    /// fetch is older than the refresh interval.
    pub fn keys_for(&self, issuer_url: &str, kid: Option<&str>) -> Result<Arc<IssuerKeys>> {
        if let Some(pinned) = self.pinned.get(issuer_url) {
            return Ok(Arc::clone(pinned));
        }
        let cached = self.keys.lock().ok().and_then(|c| {
            c.get(issuer_url)
                .map(|k| (Arc::clone(&k.keys), k.fetched.elapsed()))
        });
        match cached {
            None => self.fetch(issuer_url),
            Some((keys, _)) if keys.has_kid(kid) => Ok(keys),
            Some((keys, age))
                if age < Duration::from_secs(self.limits.jwks_refresh_interval_secs) =>
            {
                Ok(keys)
            }
            Some(_) => self.fetch(issuer_url),
        }
    }
}

/// Validates identity tokens for a configured set of issuers.
pub struct TokenVerifier {
    issuers: IssuerSet,
    keys: KeyCache,
    limits: Limits,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// Keys fetched through OIDC discovery with `client`.
    pub fn with_discovery(
        issuers: impl Into<IssuerSet>,
        client: vouch_http::Client,
        limits: Limits,
    ) -> Self {
        Self {
            issuers: issuers.into(),
            keys: KeyCache::new(client, limits),
            limits,
        }
    }

    /// Keys from `keys` (pinned JWKS, or a cache shared by nothing else).
    pub fn with_keys(issuers: impl Into<IssuerSet>, keys: KeyCache, limits: Limits) -> Self {
        Self {
            issuers: issuers.into(),
            keys,
            limits,
        }
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &IssuerSet {
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
        let raw = decode_unverified(token)?;
        let alg_name = raw.header.alg.as_deref().unwrap_or("");
        // RFC 8725 §3.1/§3.2: never `none`, never a MAC for a token from a public-key issuer
        // (an HMAC keyed with the issuer's public key is the classic confusion attack).
        if alg_name.is_empty() || alg_name.eq_ignore_ascii_case("none") {
            return Err(Error::TokenAlgorithm {
                found: alg_name.into(),
                reason: "unsigned tokens are never accepted",
            });
        }
        if alg_name.starts_with("HS") {
            return Err(Error::TokenAlgorithm {
                found: alg_name.into(),
                reason: "MAC algorithms are never accepted from an OIDC issuer",
            });
        }
        let alg: Algorithm = alg_name.parse().map_err(|_| Error::TokenAlgorithm {
            found: alg_name.into(),
            reason: "not one of RS256/384/512, PS256/384/512, ES256, ES384, EdDSA",
        })?;
        if raw.header.crit.is_some() {
            return Err(Error::MalformedToken {
                reason: "header lists critical extensions (crit), none are understood".into(),
            });
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
            .lookup(iss)
            .ok_or_else(|| Error::UnknownIssuer { issuer: iss.into() })?;
        let kid = raw.header.kid.as_deref();
        let keys = self.keys.keys_for(&issuer.issuer_url, kid)?;
        let candidates: Vec<&IssuerKey> = keys
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .collect();
        if candidates.is_empty() {
            return Err(Error::UnknownKey {
                issuer: iss.into(),
                kid: kid.map(str::to_owned),
            });
        }
        let mut refusal = None;
        let mut verified = None;
        for key in &candidates {
            match &key.usable {
                Err(reason) => refusal = refusal.or_else(|| Some(reason.clone())),
                Ok((algorithms, _)) if !algorithms.contains(&alg) => {
                    refusal = refusal.or_else(|| {
                        Some(format!(
                            "token alg {alg_name} contradicts the key ({})",
                            key.describe
                        ))
                    });
                }
                Ok((_, decoding)) => {
                    let mut validation = Validation::new(alg);
                    // Claims are checked below with the CA's own clock, skew and messages.
                    validation.validate_exp = false;
                    validation.validate_nbf = false;
                    validation.validate_aud = false;
                    validation.required_spec_claims.clear();
                    if jsonwebtoken::decode::<Value>(token, decoding, &validation).is_ok() {
                        verified = Some(());
                        break;
                    }
                }
            }
        }
        if verified.is_none() {
            return Err(match refusal {
                Some(reason) if candidates.iter().all(|k| !usable_for(k, alg)) => Error::TokenKey {
                    issuer: iss.into(),
                    kid: kid.map(str::to_owned),
                    reason,
                },
                _ => Error::TokenSignature {
                    issuer: iss.into(),
                    kid: kid.map(str::to_owned),
                },
            });
        }
        check_audience(&raw.claims, &issuer.client_id)?;
        check_times(&raw.claims, now, self.limits.clock_skew_secs)?;
        Ok(VerifiedToken {
            issuer,
            claims: raw.claims,
        })
    }
}

fn usable_for(key: &IssuerKey, alg: Algorithm) -> bool {
    matches!(&key.usable, Ok((algorithms, _)) if algorithms.contains(&alg))
}

fn check_audience(claims: &Claims, expected: &str) -> Result<()> {
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

fn check_times(claims: &Claims, now: u64, skew: u64) -> Result<()> {
    // NumericDate (RFC 7519 §2) may carry a fraction; whole seconds are compared.
    let num = |c: &str| {
        claims.get(c).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        })
    };
    let err = |claim, value| Error::TokenTime {
        claim,
        value,
        now,
        skew_secs: skew,
    };
    let exp = num("exp").ok_or(Error::TokenClaim {
        claim: "exp",
        reason: "missing or not a non-negative number".into(),
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
