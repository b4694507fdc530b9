//! Keyless signing: an OIDC identity is exchanged for a 10-minute certificate over an
//! ephemeral key, the signature is logged, and the evidence travels with the signature.
//!
//! * [`token`]: where the identity token comes from ([`token::resolve`]).
//! * [`config::TrustConfig`]: which CA and log to use (a ClientTrustConfig).
//! * [`KeylessSigner::certify`]: ephemeral ECDSA P-256 key + Fulcio v2
//!   `POST /api/v2/signingCert` (public key and proof of possession over the token's principal,
//!   `sigstore/fulcio:fulcio.proto`) = a [`Session`].
//! * [`Session`]: signs blobs, statements and images; every signature is uploaded to every
//!   log the signing config selects ([`transparency_logs`], one bundle entry each): Rekor v1
//!   (`hashedrekord 0.0.1` for message signatures, `dsse 0.0.1` for envelopes; the answer's
//!   SET, inclusion proof and checkpoint become the bundle's tlog entry) or Rekor v2 (`hashedrekord 0.0.2` for both, inclusion proof and
//!   checkpoint). The same logs and [`TimestampAuthorities`] serve key signing (`vouch sign
//!   --key --trust-config`). Images get cosign's legacy annotations
//!   (`dev.sigstore.cosign/certificate`, `/chain`, `/bundle`; Rekor v1 only, they need a SET)
//!   and/or the v0.3 referrer bundle. Every timestamp authority the signing config selects
//!   adds an RFC 3161 timestamp over the signature to
//!   `verificationMaterial.timestampVerificationData.rfc3161Timestamps` (Rekor v2 requires at
//!   least one). Each bundle is verified against the trust config's trusted root before it is
//!   returned, so a misconfigured instance fails at signing, not at admission.
//!
//! ```no_run
//! use vouch_keyless::{KeylessSigner, config::TrustConfig, token};
//! # fn main() -> Result<(), vouch_keyless::Error> {
//! let config = TrustConfig::from_file("trust_config.json".as_ref(), &Default::default())?;
//! let signer = KeylessSigner::new(config)?;
//! let token = token::resolve(&token::TokenOptions::default(), signer.http())?;
//! let session = signer.certify(&token)?;
//! let bundle = session.sign_blob(b"hello")?; // v0.3, x509 certificate + tlog entry
//! # let _ = bundle; Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod config;
mod error;
mod rekor_v2;
mod seam;
pub mod token;

use std::collections::BTreeMap;
use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use vouch_sign::bundle::Bundle;
use vouch_sign::intoto::Statement;
use vouch_sign::oci::{ImageTarget, SignatureFormat, Store, Stored};
use vouch_sign::sign::{Witnesses, sign_blob_with, sign_statement_with};
use vouch_sign::{
    Artifact, CertificateIdentity, IdentityPolicy, KeyAlgorithm, Match, SignerPolicy, SigningKey,
    Verifier,
};

pub use config::{LogService, RekorApi, TrustConfig};
pub use error::{Error, Result};
pub use seam::{RekorLog, RekorV2Log, transparency_logs};
pub use token::{IdentityToken, TokenSource};

/// Largest CA answer read (a chain of three PEM certificates is ~3 KiB).
const MAX_CA_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Largest TSA answer read (a TimeStampResp with a chain is ~2 KiB).
const MAX_TSA_RESPONSE_BYTES: u64 = 64 * 1024;
/// `id-sha256` (RFC 5754 §2.2).
const ID_SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// A client of one instance (CA, logs, timestamp authorities), with its trust.
#[derive(Debug)]
pub struct KeylessSigner {
    config: TrustConfig,
    /// The CA (`config.ca_url`, which keyless signing requires).
    ca_url: String,
    http: vouch_http::Client,
    logs: Vec<Box<dyn vouch_sign::sign::TransparencyLog>>,
    tsa: TimestampAuthorities,
    verifier: Verifier,
}

impl KeylessSigner {
    /// A signer for the instance `config` names.
    /// Refused when the signing config names no CA (`caUrls`).
    pub fn new(config: TrustConfig) -> Result<Self> {
        let ca_url = config.ca_url.clone().ok_or_else(|| Error::TrustConfig {
            reason: "the signing config's caUrls has no valid Fulcio (API 1) entry: keyless \
                     signing needs a CA to certify its key (key signing does not)"
                .into(),
        })?;
        let http_config = vouch_http::ClientConfig::default();
        let http = vouch_http::Client::new(&http_config)?;
        let logs = transparency_logs(&config, &http_config)?;
        let tsa = TimestampAuthorities::with_http(http.clone(), config.tsa_urls.clone());
        let verifier = Verifier::new(config.trusted_root.clone());
        Ok(Self {
            config,
            ca_url,
            http,
            logs,
            tsa,
            verifier,
        })
    }

    /// The instance.
    pub fn config(&self) -> &TrustConfig {
        &self.config
    }

    /// The HTTP client (for [`token::resolve`]).
    pub fn http(&self) -> &vouch_http::Client {
        &self.http
    }

    /// Generates an ephemeral ECDSA P-256 key and gets a certificate for it from the CA
    /// (Fulcio v2 `POST /api/v2/signingCert` with `publicKeyRequest`: the PEM public key and a
    /// signature over the token's principal as proof of possession). The chain must have a
    /// leaf for that very key and at least one CA certificate.
    pub fn certify(&self, token: &IdentityToken) -> Result<Session<'_>> {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
        let chain = self.request_certificate(token, &key)?;
        let leaf = chain.first().ok_or_else(|| Error::Certificate {
            reason: "empty chain".into(),
        })?;
        let certified = vouch_sign::certificate_public_key(leaf)?;
        if certified.spki_der() != key.public_key().spki_der() {
            return Err(Error::Certificate {
                reason: "the leaf certifies another public key".into(),
            });
        }
        let identity = vouch_sign::certificate_identity(leaf)?;
        Ok(Session {
            signer: self,
            key,
            chain,
            identity,
        })
    }

    fn request_certificate(&self, token: &IdentityToken, key: &SigningKey) -> Result<Vec<Vec<u8>>> {
        let url = format!("{}/api/v2/signingCert", self.ca_url);
        let proof = key.sign_bytes(token.principal().as_bytes());
        let body = json!({
            "credentials": {"oidcIdentityToken": token.as_str()},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": key.public_key().to_pem()},
                "proofOfPossession": B64.encode(proof),
            },
        });
        let body = serde_json::to_vec(&body).map_err(|e| Error::CaResponse {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let what = format!("POST {url}");
        let response = self.http.send(&what, |agent| {
            agent
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .header("Authorization", &format!("Bearer {}", token.as_str()))
                .send(&body[..])
        })?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_CA_RESPONSE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::CaResponse {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
        if !(200..300).contains(&status) {
            let message = answer
                .as_ref()
                .and_then(|a| a["message"].as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
            return Err(Error::CaRefused {
                url,
                status,
                message,
            });
        }
        let answer = answer.ok_or_else(|| Error::CaResponse {
            url: url.clone(),
            reason: "answer is not JSON".into(),
        })?;
        // `SigningCertificate` is a oneof; both carry `chain.certificates` (PEM, leaf first).
        let certificates = [
            "signedCertificateEmbeddedSct",
            "signedCertificateDetachedSct",
        ]
        .iter()
        .find_map(|k| answer[k]["chain"]["certificates"].as_array())
        .ok_or_else(|| Error::CaResponse {
            url: url.clone(),
            reason: "no signedCertificate*.chain.certificates".into(),
        })?;
        if certificates.len() < 2 {
            return Err(Error::CaResponse {
                url,
                reason: "the chain needs a leaf and at least one CA certificate".into(),
            });
        }
        certificates
            .iter()
            .map(|pem| {
                let pem = pem.as_str().unwrap_or_default();
                der::pem::decode_vec(pem.trim().as_bytes())
                    .map(|(_, der)| der)
                    .map_err(|e| Error::CaResponse {
                        url: url.clone(),
                        reason: format!("certificate PEM: {e}"),
                    })
            })
            .collect()
    }
}

/// The RFC 3161 timestamp authorities a signing config selects (`tsaUrls`), asked for a
/// timestamp over every signature, keyless or key (cosign v3 and sigstore-go timestamp key
/// signatures too when the signing config lists a TSA).
#[derive(Debug, Clone)]
pub struct TimestampAuthorities {
    http: vouch_http::Client,
    urls: Vec<String>,
}

impl TimestampAuthorities {
    /// The authorities at `urls` (the URLs requests are POSTed to).
    pub fn new(urls: Vec<String>) -> Result<Self> {
        let http = vouch_http::Client::new(&vouch_http::ClientConfig::default())?;
        Ok(Self::with_http(http, urls))
    }

    fn with_http(http: vouch_http::Client, urls: Vec<String>) -> Self {
        Self { http, urls }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// An RFC 3161 timestamp over `signature` from each authority (none: an empty list, the
    /// log's integrated time is the signing time). Any failing fails the signature: the config
    /// asked for all of them.
    pub fn timestamps(&self, signature: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.urls
            .iter()
            .map(|url| self.timestamp(url, signature))
            .collect()
    }

    /// [`Self::timestamps`] in the form of the signing seam ([`vouch_sign::sign::Timestamper`]):
    /// a failure keeps this crate's typed error inside.
    pub fn timestamper(&self) -> impl Fn(&[u8]) -> vouch_sign::Result<Vec<Vec<u8>>> + '_ {
        |signature| {
            self.timestamps(signature)
                .map_err(|e| vouch_sign::Error::Service {
                    service: "timestamp authority",
                    source: Box::new(e),
                })
        }
    }

    /// An RFC 3161 timestamp over `signature` from the TSA at `url`. The imprint is the
    /// SHA-256 of the signature bytes (`sigstore/architecture-docs:client-spec.md` §2.1.5, as
    /// sigstore-python `_get_timestamp` and sigstore-go `sign.TimestampAuthority`), with a
    /// random nonce and `certReq` set; the reply must be granted and echo the nonce. The
    /// token's signature and chain are checked when the bundle is verified before return.
    fn timestamp(&self, url: &str, signature: &[u8]) -> Result<Vec<u8>> {
        let bad = |reason: String| Error::Timestamp {
            url: url.to_owned(),
            reason,
        };
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| bad(format!("nonce: {e}")))?;
        // Positive and minimally encoded: top bit clear, first byte non-zero.
        nonce[0] = (nonce[0] & 0x7f) | 0x40;
        let request = timestamp_request(&Sha256::digest(signature), &nonce)
            .map_err(|e| bad(format!("encoding the request: {e}")))?;
        let what = format!("POST {url}");
        let response = self.http.send(&what, |agent| {
            agent
                .post(url)
                .header("Content-Type", "application/timestamp-query")
                .header("Accept", "application/timestamp-reply")
                .send(&request[..])
        })?;
        let status = response.status().as_u16();
        let mut reply = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_TSA_RESPONSE_BYTES)
            .read_to_end(&mut reply)
            .map_err(|e| bad(e.to_string()))?;
        let granted = check_timestamp_reply(&reply, &nonce);
        if !(200..300).contains(&status) {
            let why = granted.err().unwrap_or_else(|| "no reason given".into());
            return Err(bad(format!("HTTP {status}: {why}")));
        }
        granted.map_err(bad)?;
        Ok(reply)
    }
}

/// A DER `TimeStampReq` (RFC 3161 §2.4.1): v1, SHA-256 imprint, `nonce`, certReq true.
fn timestamp_request(digest: &[u8], nonce: &[u8]) -> Result<Vec<u8>, der07::Error> {
    use der07::Encode as _;
    let request = x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            // Parameters absent, as sigstore-python's rfc3161-client and OpenSSL send.
            hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifierOwned {
                oid: der07::oid::ObjectIdentifier::new(ID_SHA256)
                    .map_err(|_| der07::Error::from(der07::ErrorKind::OidMalformed))?,
                parameters: None,
            },
            hashed_message: der07::asn1::OctetString::new(digest)?,
        },
        req_policy: None,
        nonce: Some(der07::asn1::Int::new(nonce)?),
        cert_req: true,
        extensions: None,
    };
    request.to_der()
}

/// The reply is granted (RFC 3161 §2.4.2 status 0 or 1), carries a token whose TSTInfo echoes
/// `nonce` (§2.4.2: "MUST be present if the nonce field was present in the TimeStampReq").
fn check_timestamp_reply(reply: &[u8], nonce: &[u8]) -> std::result::Result<(), String> {
    use der07::Decode as _;
    let resp = x509_tsp::TimeStampResp::from_der(reply)
        .map_err(|e| format!("the reply is no TimeStampResp: {e}"))?;
    let status = resp.status.status as u8;
    if status > 1 {
        let text: Vec<String> = resp
            .status
            .status_string
            .iter()
            .flat_map(|s| s.iter().map(|t| t.to_string()))
            .collect();
        return Err(format!(
            "status {status} (not granted): {}",
            text.join("; ")
        ));
    }
    let token = resp
        .time_stamp_token
        .ok_or("granted reply without a timeStampToken")?;
    let signed: cms::signed_data::SignedData = token
        .content
        .decode_as()
        .map_err(|e| format!("token is no SignedData: {e}"))?;
    let tst_der = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("token without a TSTInfo")?
        .decode_as::<der07::asn1::OctetStringRef<'_>>()
        .map_err(|e| format!("TSTInfo: {e}"))?
        .as_bytes()
        .to_vec();
    let info = x509_tsp::TstInfo::from_der(&tst_der).map_err(|e| format!("TSTInfo: {e}"))?;
    if info.message_imprint.hash_algorithm.oid.to_string() != ID_SHA256 {
        return Err("the token's imprint is not SHA-256".into());
    }
    match &info.nonce {
        Some(n) if n.as_bytes() == nonce => Ok(()),
        Some(_) => Err("the token's nonce is not the request's".into()),
        None => Err("the token carries no nonce".into()),
    }
}

/// A certified ephemeral key: everything signed through it is logged and verifiable by the
/// certificate's identity. The key never leaves memory.
pub struct Session<'a> {
    signer: &'a KeylessSigner,
    key: SigningKey,
    chain: Vec<Vec<u8>>,
    identity: CertificateIdentity,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Session<'_> {
    /// The DER leaf certificate.
    pub fn leaf(&self) -> &[u8] {
        &self.chain[0]
    }

    /// DER certificates, leaf first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The certificate's identity (SANs, OIDC issuer, Fulcio extensions).
    pub fn identity(&self) -> &CertificateIdentity {
        &self.identity
    }

    /// The policy this session's signatures satisfy: exact SAN and issuer.
    pub fn policy(&self) -> SignerPolicy {
        SignerPolicy::Identity(IdentityPolicy {
            identity: Match::Exact(
                self.identity
                    .subject_alternative_names
                    .first()
                    .cloned()
                    .unwrap_or_default(),
            ),
            issuer: Match::Exact(self.identity.issuer.clone().unwrap_or_default()),
            extensions: Vec::new(),
        })
    }

    /// `sign-blob --keyless`: a v0.3 bundle with a message signature over `artifact`, the
    /// certificate, a `hashedrekord` log entry and the timestamps; verified before it is
    /// returned.
    pub fn sign_blob(&self, artifact: &[u8]) -> Result<Bundle> {
        let tsa = self.signer.tsa.timestamper();
        let bundle =
            sign_blob_with(artifact, self, &self.witnesses(&tsa, None)).map_err(unwrap_service)?;
        self.signer
            .verifier
            .verify_blob(Artifact::Bytes(artifact), &bundle, &self.policy())?;
        Ok(bundle)
    }

    /// An in-toto statement in a DSSE envelope as a v0.3 bundle with a `dsse` log entry;
    /// verified before it is returned.
    pub fn sign_statement(&self, statement: &Statement) -> Result<Bundle> {
        let tsa = self.signer.tsa.timestamper();
        let check = self.check();
        sign_statement_with(statement, self, &self.witnesses(&tsa, Some(&check)))
            .map_err(unwrap_service)
    }

    /// `vouch sign --keyless`: signs the image digest and stores the signature per `format`
    /// through vouch-sign's seam ([`Store::sign_image_with`]): legacy = a simple-signing layer
    /// with cosign's keyless annotations (certificate, chain, Rekor bundle), bundle = a v0.3
    /// referrer bundle (statement with predicate `https://sigstore.dev/cosign/sign/v1`),
    /// verified before it is stored. `annotations` become signed claims.
    pub fn sign_image(
        &self,
        store: &Store<'_>,
        target: &ImageTarget,
        format: SignatureFormat,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Vec<Stored>> {
        let tsa = self.signer.tsa.timestamper();
        let check = self.check();
        let witnesses = self.witnesses(&tsa, Some(&check));
        store
            .sign_image_with(target, self, &witnesses, format, annotations)
            .map_err(unwrap_service)
    }

    /// `vouch attest --keyless`: an in-toto statement about the image digest with `predicate`,
    /// signed once, logged as a `dsse` entry, verified, stored per `format`.
    pub fn attest_image(
        &self,
        store: &Store<'_>,
        target: &ImageTarget,
        format: SignatureFormat,
        predicate_type: &str,
        predicate: Value,
    ) -> Result<Vec<Stored>> {
        let tsa = self.signer.tsa.timestamper();
        let check = self.check();
        let witnesses = self.witnesses(&tsa, Some(&check));
        store
            .attest_image_with(target, self, &witnesses, format, predicate_type, predicate)
            .map_err(unwrap_service)
    }

    /// The instance's logs, and its timestamp authorities when the signing config lists any.
    fn witnesses<'w>(
        &'w self,
        tsa: vouch_sign::sign::Timestamper<'w>,
        check: Option<vouch_sign::sign::BundleCheck<'w>>,
    ) -> Witnesses<'w> {
        Witnesses {
            logs: &self.signer.logs,
            timestamper: (!self.signer.tsa.is_empty()).then_some(tsa),
            check,
        }
    }

    /// Every statement bundle verifies against the trust config's root before it is stored.
    fn check(&self) -> impl Fn(&Bundle) -> vouch_sign::Result<()> + '_ {
        let policy = self.policy();
        move |bundle| {
            self.signer
                .verifier
                .verify_attestation(bundle, None, None, &policy)
                .map(|_| ())
        }
    }
}

/// A service error raised inside vouch-sign's seam by this crate's own clients (log upload,
/// timestamp authority) comes back as that client's typed error.
fn unwrap_service(e: vouch_sign::Error) -> Error {
    match e {
        vouch_sign::Error::Service { service, source } => match source.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(source) => Error::Sign(vouch_sign::Error::Service { service, source }),
        },
        other => Error::Sign(other),
    }
}
