//! Property: OIDC identity tokens (compact JWS; untrusted: the CA's signing-certificate
//! requests) are accepted only when their ES256 signature verifies with the issuer's key over
//! the exact signing input, the audience holds `sigstore`, `exp` has not passed and the size
//! limit holds. Two modes: raw fuzz bytes as the token, and fuzz claims signed with the
//! issuer's key, then one character of the token changed (which must be refused).
#![no_main]
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::Value;
use vouch_ca::Limits;
use vouch_ca::dev_oidc::{DevIssuer, DevKey};
use vouch_ca::oidc::{IssuerConfig, IssuerKeys, IssuerSet, KeyCache, TokenVerifier};

const ISSUER: &str = "https://issuer.example";
const NOW: u64 = 1_800_000_000;

static KEY: LazyLock<p256::ecdsa::SigningKey> =
    LazyLock::new(|| p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("scalar"));

static DEV: LazyLock<DevIssuer> = LazyLock::new(|| {
    let der = KEY.to_pkcs8_der().expect("pkcs8");
    DevIssuer::with_key(ISSUER, DevKey::P256(der.as_bytes().to_vec()), "s", "a@b.c")
        .expect("issuer")
});

static VERIFIER: LazyLock<TokenVerifier> = LazyLock::new(|| {
    let limits = Limits {
        max_token_bytes: 4096,
        ..Limits::default()
    };
    let client = vouch_http::Client::new(&vouch_http::ClientConfig::default()).expect("client");
    let mut keys = KeyCache::new(client, limits);
    keys.pin(ISSUER, IssuerKeys::from_jwks(&DEV.jwks()).expect("jwks"));
    let issuers = IssuerSet::new([IssuerConfig::email(ISSUER)]).expect("issuers");
    TokenVerifier::with_keys(issuers, keys, limits)
});

/// Checks an accepted token independently of `vouch-ca`.
fn check_accepted(token: &str) {
    assert!(token.len() <= 4096, "over the token limit");
    let mut parts = token.split('.');
    let (h, p, s) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let sig = B64URL.decode(s).expect("signature is base64url");
    let sig = p256::ecdsa::Signature::from_slice(&sig).expect("signature is r||s");
    KEY.verifying_key()
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .expect("accepted token's signature verifies with the issuer key");
    let header: Value =
        serde_json::from_slice(&B64URL.decode(h).expect("b64")).expect("json");
    assert_eq!(header["alg"], "ES256");
    let claims: Value = serde_json::from_slice(&B64URL.decode(p).expect("b64")).expect("json");
    assert_eq!(claims["iss"], ISSUER);
    let aud_ok = claims["aud"] == "sigstore"
        || claims["aud"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "sigstore"));
    assert!(aud_ok, "audience {}", claims["aud"]);
    let exp = claims["exp"].as_f64().expect("exp present");
    assert!(NOW as f64 <= exp + 61.0, "expired token accepted");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        let _ = vouch_ca::oidc::unverified_issuer(token);
        if VERIFIER.verify_at(token, NOW).is_ok() {
            check_accepted(token);
        }
        return;
    }
    // Signed mode: rest = [position byte, position byte, replacement, claims JSON...].
    let [p0, p1, replacement, claims @ ..] = rest else {
        return;
    };
    let Ok(claims) = serde_json::from_slice::<Value>(claims) else {
        return;
    };
    let token = DEV.mint_claims(&claims);
    if token.is_empty() {
        return;
    }
    if VERIFIER.verify_at(&token, NOW).is_ok() {
        check_accepted(&token);
    }
    let at = usize::from(u16::from_le_bytes([*p0, *p1])) % token.len();
    let mut bytes = token.into_bytes();
    if bytes[at] == *replacement || !replacement.is_ascii() {
        return;
    }
    bytes[at] = *replacement;
    let Ok(changed) = String::from_utf8(bytes) else {
        return;
    };
    // Base64url has one encoding per value here (no padding, zero trailing bits), so a
    // changed character changes the header, the claims or the signature.
    if VERIFIER.verify_at(&changed, NOW).is_ok() {
        check_accepted(&changed);
        panic!("token with a changed character accepted: {changed}");
    }
});
