//! The crate's one error type, grouped by who is at fault.

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong issuing certificates or validating identity tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- The caller (client of the CA) is at fault: answered with 4xx. ---
    /// The identity token is not a well-formed compact JWS.
    #[error("malformed identity token: {reason}")]
    MalformedToken {
        /// What was wrong.
        reason: String,
    },
    /// The token's `alg` is not one this CA accepts (`none` and HMAC never are).
    #[error("identity token algorithm {found:?} refused: {reason}")]
    TokenAlgorithm {
        /// The header's `alg`.
        found: String,
        /// Why.
        reason: &'static str,
    },
    /// No key of the issuer's JWKS has the token's `kid`, even after a refresh.
    #[error("identity token key {kid:?} is not in {issuer}'s JWKS")]
    UnknownKey {
        /// The `iss` claim.
        issuer: String,
        /// The header's `kid`.
        kid: Option<String>,
    },
    /// The token's key cannot verify it: its `alg` contradicts the key, or the key is unusable.
    #[error("identity token key {kid:?} of {issuer} refused: {reason}")]
    TokenKey {
        /// The `iss` claim.
        issuer: String,
        /// The header's `kid`.
        kid: Option<String>,
        /// Why (alg/key mismatch, weak key, encryption key ...).
        reason: String,
    },
    /// The token's issuer is not configured.
    #[error("identity token issuer {issuer:?} is not configured")]
    UnknownIssuer {
        /// The `iss` claim.
        issuer: String,
    },
    /// The token's signature does not verify under the issuer's JWKS.
    #[error("identity token signature does not verify under {issuer}'s keys (kid {kid:?})")]
    TokenSignature {
        /// The `iss` claim.
        issuer: String,
        /// The header's `kid`.
        kid: Option<String>,
    },
    /// The token's audience does not contain the expected one.
    #[error("identity token audience {found:?} does not contain {expected:?}")]
    TokenAudience {
        /// Expected audience (`sigstore`).
        expected: String,
        /// The `aud` claim's values.
        found: Vec<String>,
    },
    /// The token is outside its validity (`exp`, `nbf`, `iat`) even with the allowed skew.
    #[error("identity token {claim} = {value} is not acceptable at {now} (skew {skew_secs}s)")]
    TokenTime {
        /// `exp`, `nbf` or `iat`.
        claim: &'static str,
        /// The claim's value (unix seconds).
        value: u64,
        /// The CA's clock.
        now: u64,
        /// Tolerated clock skew.
        skew_secs: u64,
    },
    /// A claim the identity mapping needs is missing or unusable.
    #[error("identity token claim {claim}: {reason}")]
    TokenClaim {
        /// The claim.
        claim: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The signing request is malformed (missing key, bad PEM, bad CSR, bad JSON).
    #[error("invalid signing request: {reason}")]
    BadRequest {
        /// What was wrong.
        reason: String,
    },
    /// The proof of possession (signature over the principal, or the CSR self-signature) does
    /// not verify under the submitted public key.
    #[error("proof of possession does not verify for principal {principal:?}")]
    ProofOfPossession {
        /// The signed principal name (email or `sub`), or `"CSR"`.
        principal: String,
    },
    /// The public key is of a type or size the CA does not certify (Fulcio's key policy).
    #[error("public key refused: {reason}")]
    KeyPolicy {
        /// Which rule.
        reason: String,
    },
    /// A size limit on untrusted input was exceeded.
    #[error("{what} is {found} bytes, limit {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        found: usize,
        /// The limit.
        limit: usize,
    },

    // --- The configured OIDC issuer is at fault: answered with 5xx/502-ish. ---
    /// Discovery or JWKS retrieval failed.
    #[error("cannot fetch {what} from {url}: {reason}")]
    IssuerUnreachable {
        /// `discovery` or `JWKS`.
        what: &'static str,
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },

    // --- The operator's configuration or key material is at fault. ---
    /// The issuer configuration is unusable (Fulcio config file, flags).
    #[error("issuer configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// CA key or certificate files are unusable.
    #[error("CA material {what}: {reason}")]
    Material {
        /// Which file or key.
        what: String,
        /// Why.
        reason: String,
    },
    /// Building or encoding a certificate failed (a bug or bad configuration, not input).
    #[error("certificate encoding: {0}")]
    Encoding(String),
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Random,
}

impl Error {
    /// Whether the client caused this error (HTTP 4xx) rather than the service (5xx).
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            Self::IssuerUnreachable { .. }
                | Self::Config { .. }
                | Self::Material { .. }
                | Self::Encoding(_)
                | Self::Random
        )
    }

    pub(crate) fn encoding(e: impl std::fmt::Display) -> Self {
        Self::Encoding(e.to_string())
    }

    pub(crate) fn bad_request(reason: impl std::fmt::Display) -> Self {
        Self::BadRequest {
            reason: reason.to_string(),
        }
    }
}
