//! A development OIDC issuer: discovery document, JWKS and a token endpoint minting ES256
//! identity tokens (audience `sigstore`) for a configured subject. For tests and demos only:
//! anyone who can reach it gets a token, so a CA trusts it only when told to.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use p256::elliptic_curve::Generate as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::oidc::{Jwk, Jwks, SIGSTORE_AUDIENCE, sign_es256};

/// Lifetime of minted tokens, in seconds (GitHub's are 5 minutes, Google's an hour).
pub const TOKEN_LIFETIME_SECS: u64 = 600;

/// The issuer's identity and key.
pub struct DevIssuer {
    issuer_url: String,
    key: p256::ecdsa::SigningKey,
    kid: String,
    subject: String,
    email: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer_url", &self.issuer_url)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Claims a token request may override.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    /// `sub` (default: the configured subject).
    pub subject: Option<String>,
    /// `email` (default: the configured email).
    pub email: Option<String>,
    /// `aud` (default `sigstore`).
    pub audience: Option<String>,
}

impl DevIssuer {
    /// A new issuer at `issuer_url` (the URL it is served on, without trailing slash) with a
    /// fresh P-256 key; tokens name `email` (verified) and `subject` by default.
    pub fn generate(issuer_url: &str, subject: &str, email: &str) -> Result<Self> {
        let key = p256::ecdsa::SigningKey::try_generate().map_err(|_| Error::Random)?;
        Ok(Self::with_key(issuer_url, key, subject, email))
    }

    /// An issuer with a given key.
    pub fn with_key(
        issuer_url: &str,
        key: p256::ecdsa::SigningKey,
        subject: &str,
        email: &str,
    ) -> Self {
        let point = key.verifying_key().to_sec1_point(false);
        let kid = hex::encode(
            &sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
                point.as_bytes(),
            ))[..8],
        );
        Self {
            issuer_url: issuer_url.trim_end_matches('/').to_owned(),
            key,
            kid,
            subject: subject.into(),
            email: email.into(),
        }
    }

    /// The issuer URL (`iss`).
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// The discovery document (OpenID Connect Discovery 1.0 §3).
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer_url,
            "jwks_uri": format!("{}/jwks", self.issuer_url),
            "token_endpoint": format!("{}/token", self.issuer_url),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified"],
        })
    }

    /// The JWKS.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![Jwk::from_p256(self.key.verifying_key(), &self.kid)],
        }
    }

    /// Mints a token valid from now for [`TOKEN_LIFETIME_SECS`].
    pub fn mint(&self, request: &TokenRequest) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.mint_claims(&json!({
            "iss": self.issuer_url,
            "sub": request.subject.as_deref().unwrap_or(&self.subject),
            "aud": request.audience.as_deref().unwrap_or(SIGSTORE_AUDIENCE),
            "email": request.email.as_deref().unwrap_or(&self.email),
            "email_verified": true,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECS,
        }))
    }

    /// Signs arbitrary claims with the issuer's key (tests of the CA's refusals).
    pub fn mint_claims(&self, claims: &Value) -> String {
        sign_es256(&self.key, &self.kid, claims)
    }
}

/// The issuer's routes: `/.well-known/openid-configuration`, `/jwks`, and `/token` (GET or
/// POST; query `subject`, `email`, `audience` override the defaults). `/token` answers like an
/// OAuth token endpoint: `{"access_token", "id_token", "token_type", "expires_in"}`.
pub fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(i): State<Arc<DevIssuer>>| async move { Json(i.discovery()) }),
        )
        .route(
            "/jwks",
            get(|State(i): State<Arc<DevIssuer>>| async move { Json(i.jwks()) }),
        )
        .route("/token", get(token).post(token))
        .with_state(issuer)
}

async fn token(
    State(issuer): State<Arc<DevIssuer>>,
    Query(request): Query<TokenRequest>,
) -> Json<Value> {
    let token = issuer.mint(&request);
    Json(json!({
        "access_token": token,
        "id_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
    }))
}
