//! The CA service over HTTP on loopback, with the dev OIDC issuer as the token source:
//! token -> certificate -> keyless verification, and every refusal with a 4xx and a reason.

use crate::common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_ca::dev_oidc::{DevIssuer, TokenRequest};
use vouch_ca::oidc::{IssuerConfig, IssuerSet, TokenVerifier};
use vouch_ca::{CaService, CertificateAuthority, Limits};
use vouch_sign::{IdentityPolicy, KeyAlgorithm, SignerPolicy, SigningKey};

const EMAIL: &str = "dev@example.com";

struct Instance {
    runtime: tokio::runtime::Runtime,
    ca_url: String,
    issuer: Arc<DevIssuer>,
    service: Arc<CaService>,
    agent: ureq::Agent,
}

/// Starts the dev issuer and the CA (trusting it) on loopback ports.
fn start() -> Instance {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (oidc_listener, ca_listener) = runtime.block_on(async {
        (
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
    });
    let issuer_url = format!("http://{}", oidc_listener.local_addr().expect("addr"));
    let ca_url = format!("http://{}", ca_listener.local_addr().expect("addr"));
    let issuer = Arc::new(DevIssuer::generate(&issuer_url, "dev-subject", EMAIL).expect("issuer"));
    let client = vouch_http::Client::new(&vouch_http::ClientConfig::default()).expect("client");
    let service = Arc::new(CaService {
        ca: CertificateAuthority::generate("vouch test").expect("CA"),
        tokens: TokenVerifier::with_discovery(
            IssuerSet::new([IssuerConfig::email(issuer_url)]).expect("issuers"),
            client,
            Limits::default(),
        ),
        limits: Limits::default(),
    });
    let oidc_router = vouch_ca::dev_oidc::router(Arc::clone(&issuer));
    let ca_router = vouch_ca::server::router(Arc::clone(&service));
    runtime.spawn(async move { axum::serve(oidc_listener, oidc_router).await });
    runtime.spawn(async move { axum::serve(ca_listener, ca_router).await });
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    Instance {
        runtime,
        ca_url,
        issuer,
        service,
        agent,
    }
}

impl Instance {
    fn post(&self, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self
            .agent
            .post(&format!("{}/api/v2/signingCert", self.ca_url))
            .header("Content-Type", "application/json");
        if let Some(t) = bearer {
            request = request.header("Authorization", &format!("Bearer {t}"));
        }
        let mut response = request.send(body.to_string().as_bytes()).expect("POST");
        let status = response.status().as_u16();
        let json = read_json(response.body_mut());
        (status, json)
    }

    fn get(&self, path: &str) -> Value {
        self.agent
            .get(&format!("{}{path}", self.ca_url))
            .call()
            .expect("GET")
            .body_mut()
            .read_to_vec()
            .map(|b| serde_json::from_slice(&b).expect("JSON"))
            .expect("body")
    }
}

fn key_request(key: &SigningKey, principal: &str, token: Option<&str>) -> Value {
    let mut body = json!({"publicKeyRequest": {
        "publicKey": {"algorithm": "ECDSA", "content": key.public_key().to_pem()},
        "proofOfPossession": B64.encode(key.sign_bytes(principal.as_bytes()))}});
    if let Some(t) = token {
        body["credentials"] = json!({"oidcIdentityToken": t});
    }
    body
}

fn chain_from(answer: &Value) -> vouch_ca::IssuedChain {
    let pems = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("chain");
    vouch_ca::IssuedChain {
        certificates: pems
            .iter()
            .map(|p| {
                der::pem::decode_vec(p.as_str().expect("pem").as_bytes())
                    .expect("PEM")
                    .1
            })
            .collect(),
    }
}

fn read_json(body: &mut ureq::Body) -> Value {
    let bytes = body.read_to_vec().expect("body");
    serde_json::from_slice(&bytes).expect("JSON answer")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

#[test]
fn token_to_certificate_to_verified_bundle() {
    let instance = start();
    let token = instance.issuer.mint(&TokenRequest::default());
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");

    // Token in the body, public key with proof of possession over the email.
    let (status, answer) = instance.post(None, &key_request(&key, EMAIL, Some(&token)));
    assert_eq!(status, 200, "{answer}");
    let chain = chain_from(&answer);
    assert_eq!(chain.certificates.len(), 3);
    let fx = common::KeylessFixture::from_chain(chain, &key, now());
    let policy = IdentityPolicy::exact(EMAIL, instance.issuer.issuer_url());
    fx.verify(&instance.service.ca, &SignerPolicy::Identity(policy))
        .expect("keyless bundle verifies");

    // Token in the Authorization header, as sigstore-python sends it.
    let (status, answer) = instance.post(Some(&token), &key_request(&key, EMAIL, None));
    assert_eq!(status, 200, "{answer}");

    // Trust bundle and configuration.
    let bundle = instance.get("/api/v2/trustBundle");
    assert_eq!(
        bundle["chains"][0]["certificates"].as_array().map(Vec::len),
        Some(2)
    );
    let config = instance.get("/api/v2/configuration");
    assert_eq!(
        config["issuers"][0]["issuerUrl"],
        instance.issuer.issuer_url()
    );
    assert_eq!(config["issuers"][0]["audience"], "sigstore");
    drop(instance.runtime);
}

#[test]
fn refusals_are_4xx_with_a_reason() {
    let instance = start();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let iss = instance.issuer.issuer_url().to_owned();
    let claims = |over: Value| {
        let mut c = json!({"iss": iss, "sub": "s", "aud": "sigstore", "email": EMAIL,
                           "email_verified": true, "iat": now(), "exp": now() + 600});
        for (k, v) in over.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let other_issuer = DevIssuer::generate(&iss, "s", EMAIL).expect("issuer");
    let good = instance.issuer.mint(&TokenRequest::default());
    let unsigned = {
        let mut parts: Vec<&str> = good.split('.').collect();
        let none_header =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        parts[0] = &none_header;
        format!("{}.{}.", parts[0], parts[1])
    };
    // The issuer's own header and signature over a payload it never signed.
    let tampered = {
        let parts: Vec<&str> = good.split('.').collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(claims(json!({"email": "mallory@example.com"})).to_string());
        format!("{}.{forged}.{}", parts[0], parts[2])
    };
    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        (
            "bad signature",
            tampered,
            key_request(&key, "mallory@example.com", None),
            401,
            "signature does not verify",
        ),
        (
            "key of another issuer",
            other_issuer.mint_claims(&claims(json!({}))),
            key_request(&key, EMAIL, None),
            401,
            "is not in",
        ),
        (
            "wrong audience",
            instance
                .issuer
                .mint_claims(&claims(json!({"aud": "other"}))),
            key_request(&key, EMAIL, None),
            401,
            "audience",
        ),
        (
            "expired",
            instance
                .issuer
                .mint_claims(&claims(json!({"exp": now() - 3600, "iat": now() - 4000}))),
            key_request(&key, EMAIL, None),
            401,
            "exp",
        ),
        (
            "not yet valid",
            instance
                .issuer
                .mint_claims(&claims(json!({"nbf": now() + 3600}))),
            key_request(&key, EMAIL, None),
            401,
            "nbf",
        ),
        (
            "unknown issuer",
            instance
                .issuer
                .mint_claims(&claims(json!({"iss": "https://evil.example"}))),
            key_request(&key, EMAIL, None),
            401,
            "not configured",
        ),
        (
            "alg none",
            unsigned,
            key_request(&key, EMAIL, None),
            401,
            "algorithm",
        ),
        (
            "bad proof of possession",
            good.clone(),
            key_request(&key, "someone-else@example.com", None),
            400,
            "proof of possession",
        ),
        (
            "unverified email",
            instance
                .issuer
                .mint_claims(&claims(json!({"email_verified": false}))),
            key_request(&key, EMAIL, None),
            400,
            "email_verified",
        ),
        ("no key", good, json!({}), 400, "missing publicKeyRequest"),
    ];
    for (name, token, body, status, reason) in cases {
        let (got, answer) = instance.post(Some(&token), &body);
        assert_eq!(got, status, "{name}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(reason),
            "{name}: {message:?} lacks {reason:?}"
        );
        assert!(answer["code"].is_number(), "{name}: {answer}");
    }
    let (got, _) = instance.post(None, &key_request(&key, EMAIL, None));
    assert_eq!(got, 400, "no token at all");
    drop(instance.runtime);
}

#[test]
fn dev_issuer_serves_discovery_jwks_and_tokens() {
    let instance = start();
    let base = instance.issuer.issuer_url().to_owned();
    let get = |path: &str| -> Value {
        instance
            .agent
            .get(&format!("{base}{path}"))
            .call()
            .expect("GET")
            .body_mut()
            .read_to_vec()
            .map(|b| serde_json::from_slice(&b).expect("JSON"))
            .expect("body")
    };
    let discovery = get("/.well-known/openid-configuration");
    assert_eq!(discovery["issuer"], base.as_str());
    assert_eq!(discovery["jwks_uri"], format!("{base}/jwks"));
    let jwks = get("/jwks");
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    let token = get("/token?subject=ci-job&email=ci%40example.com");
    let id_token = token["id_token"].as_str().expect("token");
    let verified = instance
        .service
        .tokens
        .verify(id_token)
        .expect("valid token");
    assert_eq!(verified.claims["sub"], "ci-job");
    let principal = verified
        .principal(instance.service.tokens.issuers())
        .expect("principal");
    assert_eq!(principal.name, "ci@example.com");
    assert_eq!(verified.claims["aud"], "sigstore");
    drop(instance.runtime);
}

/// sigstore-python's flow: token in the header, a PKCS#10 CSR (here made by OpenSSL, an
/// independent encoder) as proof of possession; OpenSSL then validates the returned chain
/// (X.509 strict mode). A CSR whose signature does not verify is refused.
#[test]
fn openssl_csr_is_accepted_and_its_chain_validates_in_openssl() {
    let openssl = vouch_testkit::require_tool("openssl");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |n: &str| dir.path().join(n);
    vouch_testkit::run(
        std::process::Command::new(&openssl)
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(path("key.pem")),
    );
    vouch_testkit::run(
        std::process::Command::new(&openssl)
            .args(["req", "-new", "-subj", "/CN=ignored", "-key"])
            .arg(path("key.pem"))
            .arg("-out")
            .arg(path("csr.pem")),
    );
    let key_pem = std::fs::read_to_string(path("key.pem")).expect("key");
    let key = SigningKey::from_pkcs8_der(&der::pem::decode_vec(key_pem.as_bytes()).expect("pem").1)
        .expect("PKCS#8");
    let csr_pem = std::fs::read(path("csr.pem")).expect("csr");

    let instance = start();
    let token = instance.issuer.mint(&TokenRequest::default());
    let (status, answer) = instance.post(
        Some(&token),
        &json!({"certificateSigningRequest": B64.encode(&csr_pem)}),
    );
    assert_eq!(status, 200, "{answer}");
    let chain = chain_from(&answer);
    for (name, der) in ["leaf.pem", "intermediate.pem", "root.pem"]
        .iter()
        .zip(&chain.certificates)
    {
        std::fs::write(path(name), vouch_ca::issue::pem("CERTIFICATE", der)).expect("write");
    }
    let out = vouch_testkit::run(
        std::process::Command::new(&openssl)
            .args(["verify", "-x509_strict", "-CAfile"])
            .arg(path("root.pem"))
            .arg("-untrusted")
            .arg(path("intermediate.pem"))
            .arg(path("leaf.pem")),
    );
    assert!(out.contains("OK"), "{out}");
    let fx = common::KeylessFixture::from_chain(chain, &key, now());
    let policy = IdentityPolicy::exact(EMAIL, instance.issuer.issuer_url());
    fx.verify(&instance.service.ca, &SignerPolicy::Identity(policy))
        .expect("verifies");

    // Corrupt the CSR's signature (its last bytes): proof of possession fails.
    let mut der = der::pem::decode_vec(&csr_pem).expect("csr pem").1;
    let last = der.len() - 2;
    der[last] ^= 0x01;
    let (status, answer) = instance.post(
        Some(&token),
        &json!({"certificateSigningRequest": B64.encode(&der)}),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("proof of possession"),
        "{answer}"
    );
    drop(instance.runtime);
}
