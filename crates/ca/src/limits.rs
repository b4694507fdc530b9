//! Bounds on untrusted input, in one place.

/// Limits applied to requests and tokens.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body. A CSR or public key plus a token is a few KiB; 64 KiB leaves room
    /// for RSA-4096 keys and long GitHub tokens.
    pub max_request_bytes: usize,
    /// Largest identity token. Real OIDC tokens are 1-4 KiB; 16 KiB bounds the base64 and JSON
    /// decoding work.
    pub max_token_bytes: usize,
    /// Largest discovery document or JWKS fetched from an issuer (1 MiB; real ones are < 10 KiB).
    pub max_issuer_document_bytes: u64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. Fulcio's go-oidc verifier
    /// allows none on `exp` but clients and issuers drift; 60 s is the common choice.
    pub clock_skew_secs: u64,
    /// Least time between two JWKS fetches of one issuer prompted by an unknown `kid`. Rotation
    /// is picked up after at most this long; tokens with made-up `kid`s cost one fetch per
    /// interval, not one per request.
    pub jwks_refresh_interval_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 64 * 1024,
            max_token_bytes: 16 * 1024,
            max_issuer_document_bytes: 1024 * 1024,
            clock_skew_secs: 60,
            jwks_refresh_interval_secs: 30,
        }
    }
}

pub(crate) fn check(what: &'static str, limit: usize, found: usize) -> crate::Result<()> {
    if found > limit {
        return Err(crate::Error::TooLarge { what, found, limit });
    }
    Ok(())
}
