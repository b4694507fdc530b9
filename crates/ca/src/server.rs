//! The Fulcio v2 REST API (`sigstore/fulcio:fulcio.proto`, served by grpc-gateway in Fulcio):
//! `POST /api/v2/signingCert`, `GET /api/v2/trustBundle`, `GET /api/v2/configuration`.
//! Errors are grpc-gateway shaped, `{"code": <gRPC code>, "message": "..."}`, with the HTTP
//! status grpc-gateway maps that code to.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode, Encode};
use serde::Deserialize;
use serde_json::{Value, json};
use x509_cert::request::CertReq;

use crate::error::{Error, Result};
use crate::issue::{CertificateAuthority, IssuedChain, pem};
use crate::limits::{self, Limits};
use crate::oidc::TokenVerifier;

/// Everything the service needs.
#[derive(Debug)]
pub struct CaService {
    /// The issuing CA.
    pub ca: CertificateAuthority,
    /// Identity token validation.
    pub tokens: TokenVerifier,
    /// Input bounds.
    pub limits: Limits,
}

/// `CreateSigningCertificateRequest` (proto3 JSON).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningRequest {
    credentials: Option<Credentials>,
    public_key_request: Option<PublicKeyRequest>,
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    oidc_identity_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: Option<PublicKey>,
    proof_of_possession: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PublicKey {
    content: Option<String>,
}

impl CaService {
    /// Handles a signing request: `bearer` is the `Authorization: Bearer` token, used when the
    /// body carries no `credentials` (`sigstore/fulcio:cmd/app/http.go`).
    pub fn signing_cert(&self, bearer: Option<&str>, body: &[u8]) -> Result<IssuedChain> {
        limits::check("request body", self.limits.max_request_bytes, body.len())?;
        let request: SigningRequest =
            serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("JSON: {e}")))?;
        let token = request
            .credentials
            .as_ref()
            .and_then(|c| c.oidc_identity_token.as_deref())
            .or(bearer)
            .ok_or_else(|| {
                Error::bad_request("no identity token (credentials or Authorization)")
            })?;
        let verified = self.tokens.verify(token)?;
        let principal = verified.principal(self.tokens.issuers())?;
        let spki_der = match (
            &request.public_key_request,
            &request.certificate_signing_request,
        ) {
            (Some(pk), None) => public_key_with_proof(pk, &principal.name)?,
            (None, Some(csr)) => csr_public_key(csr)?,
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "give either publicKeyRequest or certificateSigningRequest, not both",
                ));
            }
            (None, None) => {
                return Err(Error::bad_request(
                    "missing publicKeyRequest or certificateSigningRequest",
                ));
            }
        };
        self.ca.issue(&spki_der, &principal.identity)
    }

    /// `GET /api/v2/trustBundle`.
    pub fn trust_bundle(&self) -> Value {
        let certs: Vec<String> = self
            .ca
            .ca_chain()
            .iter()
            .map(|d| pem("CERTIFICATE", d))
            .collect();
        json!({"chains": [{"certificates": certs}]})
    }

    /// `GET /api/v2/configuration`.
    pub fn configuration(&self) -> Value {
        json!({"issuers": self.tokens.issuers().to_configuration()})
    }
}

/// Decodes `publicKey.content` (PEM, or base64 of DER SPKI) and checks the proof of possession:
/// a signature over the UTF-8 principal name (`sigstore/fulcio:pkg/challenges`).
fn public_key_with_proof(request: &PublicKeyRequest, principal: &str) -> Result<Vec<u8>> {
    let content = request
        .public_key
        .as_ref()
        .and_then(|k| k.content.as_deref())
        .ok_or_else(|| Error::bad_request("publicKeyRequest.publicKey.content missing"))?;
    let spki_der = if content.trim_start().starts_with("-----BEGIN") {
        der::pem::decode_vec(content.trim().as_bytes())
            .map(|(_, d)| d)
            .map_err(|e| Error::bad_request(format!("public key PEM: {e}")))?
    } else {
        B64.decode(content.trim())
            .map_err(|e| Error::bad_request(format!("public key base64: {e}")))?
    };
    let spki = spki::SubjectPublicKeyInfoOwned::from_der(&spki_der)
        .map_err(|e| Error::bad_request(format!("public key: {e}")))?;
    crate::issue::check_key_policy(&spki)?;
    let key = vouch_sign::VerifyingKey::from_spki_der(&spki_der)
        .map_err(|e| Error::bad_request(format!("public key: {e}")))?;
    let proof = request
        .proof_of_possession
        .as_deref()
        .ok_or_else(|| Error::bad_request("publicKeyRequest.proofOfPossession missing"))?;
    let proof = B64
        .decode(proof.trim())
        .map_err(|e| Error::bad_request(format!("proofOfPossession base64: {e}")))?;
    key.verify("proof of possession", principal.as_bytes(), &proof)
        .map_err(|_| Error::ProofOfPossession {
            principal: principal.to_owned(),
        })?;
    Ok(spki_der)
}

/// Decodes `certificateSigningRequest` (base64 of a PEM PKCS#10 CSR, or of DER) and verifies its
/// self-signature (the proof of possession for CSRs; the subject is ignored).
fn csr_public_key(csr_b64: &str) -> Result<Vec<u8>> {
    let raw = B64
        .decode(csr_b64.trim())
        .map_err(|e| Error::bad_request(format!("certificateSigningRequest base64: {e}")))?;
    let der = if raw.starts_with(b"-----BEGIN") {
        der::pem::decode_vec(raw.trim_ascii())
            .map(|(_, d)| d)
            .map_err(|e| Error::bad_request(format!("CSR PEM: {e}")))?
    } else {
        raw
    };
    let csr = CertReq::from_der(&der).map_err(|e| Error::bad_request(format!("CSR: {e}")))?;
    crate::issue::check_key_policy(&csr.info.public_key)?;
    let spki_der = csr
        .info
        .public_key
        .to_der()
        .map_err(|e| Error::bad_request(format!("CSR public key: {e}")))?;
    let key = vouch_sign::VerifyingKey::from_spki_der(&spki_der)
        .map_err(|e| Error::bad_request(format!("CSR public key: {e}")))?;
    let info = csr.info.to_der().map_err(Error::encoding)?;
    let signature = csr
        .signature
        .as_bytes()
        .ok_or_else(|| Error::bad_request("CSR signature is not whole bytes"))?;
    // Ed25519 (RFC 8410 §6): a pure signature over the CertificationRequestInfo.
    if csr.algorithm.oid.to_string() == "1.3.101.112" {
        key.verify("CSR", &info, signature)
            .map_err(|_| Error::ProofOfPossession {
                principal: "CSR".into(),
            })?;
        return Ok(spki_der);
    }
    let hash = match csr.algorithm.oid.to_string().as_str() {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => vouch_sign::HashAlgorithm::Sha2_256,
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => vouch_sign::HashAlgorithm::Sha2_384,
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => vouch_sign::HashAlgorithm::Sha2_512,
        other => {
            return Err(Error::bad_request(format!(
                "CSR signature algorithm {other}"
            )));
        }
    };
    key.verify_prehashed("CSR", hash, &hash.digest(&info), signature)
        .map_err(|_| Error::ProofOfPossession {
            principal: "CSR".into(),
        })?;
    Ok(spki_der)
}

/// The router. Issuance runs on the blocking pool (JWKS fetches are blocking HTTP).
pub fn router(service: Arc<CaService>) -> Router {
    let body_limit = service.limits.max_request_bytes;
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert))
        .route(
            "/api/v2/trustBundle",
            get(|State(s): State<Arc<CaService>>| async move { Json(s.trust_bundle()) }),
        )
        .route(
            "/api/v2/configuration",
            get(|State(s): State<Arc<CaService>>| async move { Json(s.configuration()) }),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(service)
}

async fn signing_cert(
    State(service): State<Arc<CaService>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    let result =
        tokio::task::spawn_blocking(move || service.signing_cert(bearer.as_deref(), &body)).await;
    match result {
        // 200 as Fulcio's v2 API answers (grpc-gateway's default; only the legacy v1 handler
        // sets 201: sigstore/fulcio pkg/server/legacy_server.go). sigstore-go, and so cosign 3,
        // refuses any other status (sigstore-go pkg/sign/certificate.go `StatusCode != 200`).
        Ok(Ok(chain)) => (
            StatusCode::OK,
            Json(json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain.to_pem()}}})),
        )
            .into_response(),
        Ok(Err(e)) => error_response(&e),
        Err(join) => error_response(&Error::Encoding(format!("issuer task failed: {join}"))),
    }
}

/// grpc-gateway's JSON error with the gRPC code and matching HTTP status.
fn error_response(e: &Error) -> Response {
    let (status, code) = match e {
        Error::MalformedToken { .. }
        | Error::TokenAlgorithm { .. }
        | Error::UnknownKey { .. }
        | Error::TokenKey { .. }
        | Error::UnknownIssuer { .. }
        | Error::TokenSignature { .. }
        | Error::TokenAudience { .. }
        | Error::TokenTime { .. } => (StatusCode::UNAUTHORIZED, 16),
        Error::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, 8),
        _ if e.is_client_error() => (StatusCode::BAD_REQUEST, 3),
        Error::IssuerUnreachable { .. } => (StatusCode::SERVICE_UNAVAILABLE, 14),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, 13),
    };
    (
        status,
        Json(json!({"code": code, "message": e.to_string()})),
    )
        .into_response()
}

/// Serves `router` on `listener` until `shutdown` resolves, with vouch's connection limits and
/// header/idle timeouts ([`vouch_http::server`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    vouch_http::server::serve(
        listener,
        router,
        None,
        vouch_http::server::ServerConfig::named("ca"),
        shutdown,
    )
    .await
}
