//! The keyless side of vouch-sign's signing seam: a [`Session`] is a
//! [`vouch_sign::Signer`] (its ephemeral key, certified by its chain), and [`RekorLog`] (Rekor
//! v1) and [`RekorV2Log`] are the [`TransparencyLog`]s every keyless signature, and every key
//! signature a caller wants logged, is uploaded to ([`transparency_logs`]: those a trust
//! config selects).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;
use vouch_sign::bundle::TlogEntry;
use vouch_sign::dsse::Envelope;
use vouch_sign::sign::{LoggedContent, SignedDigest, TransparencyLog, verifier_pem};
use vouch_sign::{HashAlgorithm, SignatureScheme, Signer, VerifyingKey};

use crate::Session;
use crate::config::{RekorApi, TrustConfig};
use crate::error::{Error, Result};

impl Signer for Session<'_> {
    fn sign(&self, message: &[u8]) -> vouch_sign::Result<Vec<u8>> {
        Ok(self.key.sign_bytes(message))
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.key.public_key()
    }

    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign_as(&self, scheme: SignatureScheme, message: &[u8]) -> vouch_sign::Result<Vec<u8>> {
        self.key.sign_with(scheme, message)
    }
}

/// A Rekor v1 log (`POST /api/v1/log/entries`): message signatures as `hashedrekord 0.0.1`
/// (`sigstore/rekor:pkg/types/hashedrekord/v0.0.1`), DSSE envelopes as `dsse 0.0.1`
/// (`pkg/types/dsse/v0.0.1`), each with the signer's PEM certificate or public key as
/// verifier, as cosign and sigstore-python upload them. The answer (SET, inclusion proof,
/// checkpoint) becomes the bundle's entry; it is trusted for nothing until the bundle is
/// verified against a trusted root.
#[derive(Debug, Clone)]
pub struct RekorLog {
    client: vouch_tlog::Client,
}

impl RekorLog {
    /// A client of the log at `url` (its base URL, e.g. `https://rekor.example`).
    pub fn new(url: &str) -> Result<Self> {
        let client = vouch_tlog::Client::with_config(url, &vouch_http::ClientConfig::default())?;
        Ok(Self { client })
    }

    /// Wraps an existing client.
    pub fn from_client(client: vouch_tlog::Client) -> Self {
        Self { client }
    }

    fn upload(&self, proposed: &serde_json::Value) -> vouch_sign::Result<TlogEntry> {
        let logged = self
            .client
            .upload(proposed)
            .and_then(|(_, entry)| entry.to_tlog_entry());
        logged.map_err(|e| vouch_sign::Error::Service {
            service: "transparency log upload",
            source: Box::new(Error::from(e)),
        })
    }
}

impl TransparencyLog for RekorLog {
    fn log_message_signature(
        &self,
        signed: &SignedDigest<'_>,
        signer: &dyn Signer,
    ) -> vouch_sign::Result<TlogEntry> {
        // `sigstore/rekor:pkg/types/hashedrekord/v0.0.1` names the hash in lower case.
        let algorithm = match signed.hash {
            HashAlgorithm::Sha2_256 => "sha256",
            HashAlgorithm::Sha2_384 => "sha384",
            HashAlgorithm::Sha2_512 => "sha512",
        };
        self.upload(&json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": algorithm, "value": hex::encode(signed.digest)}},
                "signature": {
                    "content": B64.encode(signed.signature),
                    "publicKey": {"content": B64.encode(verifier_pem(signer))},
                },
            },
        }))
    }

    fn log_envelope(
        &self,
        envelope: &Envelope,
        _scheme: SignatureScheme,
        signer: &dyn Signer,
    ) -> vouch_sign::Result<TlogEntry> {
        let envelope_json = String::from_utf8_lossy(&envelope.to_json()).into_owned();
        self.upload(&json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {"proposedContent": {
                "envelope": envelope_json,
                "verifiers": [B64.encode(verifier_pem(signer))],
            }},
        }))
    }
}

/// A Rekor v2 log (`POST /api/v2/log/entries`, [`crate::rekor_v2`]): message signatures as
/// `hashedrekord 0.0.2`, DSSE envelopes as a `hashedrekord 0.0.2` over the SHA-256 of their
/// PAE (rekor-v2-spec §6.1.4, as sigstore-python 4.x and sigstore-go upload them). The
/// verifier is the DER leaf certificate, or for a key signer its DER SubjectPublicKeyInfo
/// (sigstore-go `getRekorV2TLE`), with the key's details.
#[derive(Debug)]
pub struct RekorV2Log {
    http: vouch_http::Client,
    url: String,
}

impl RekorV2Log {
    /// A client of the Rekor v2 log at `url` (its base URL).
    pub fn new(url: &str) -> Result<Self> {
        let http = vouch_http::Client::new(&vouch_http::ClientConfig::default())?;
        Ok(Self::with_http(http, url))
    }

    pub(crate) fn with_http(http: vouch_http::Client, url: &str) -> Self {
        Self {
            http,
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    fn upload(
        &self,
        scheme: SignatureScheme,
        digest: &[u8],
        signature: &[u8],
        signer: &dyn Signer,
    ) -> vouch_sign::Result<TlogEntry> {
        let service = |e: Error| vouch_sign::Error::Service {
            service: "transparency log upload",
            source: Box::new(e),
        };
        let refused = |reason: String| {
            service(Error::LogV2 {
                url: self.url.clone(),
                reason,
            })
        };
        let key = signer.verifying_key();
        let details = crate::rekor_v2::key_details(scheme, &key).map_err(refused)?;
        let verifier = match signer.certificate_chain().first() {
            Some(leaf) => crate::rekor_v2::V2Verifier::Certificate(leaf),
            None => crate::rekor_v2::V2Verifier::PublicKey(key.spki_der()),
        };
        let request = crate::rekor_v2::hashed_rekord_request(digest, signature, verifier, details);
        crate::rekor_v2::upload(&self.http, &self.url, &request).map_err(service)
    }
}

impl TransparencyLog for RekorV2Log {
    fn needs_timestamp(&self) -> bool {
        true
    }

    /// Both message signatures and envelopes are logged by digest, with key details
    /// (sigstore-go `getRekorV2TLE`).
    fn scheme_for(
        &self,
        key: &VerifyingKey,
        _content: LoggedContent,
    ) -> vouch_sign::Result<Option<SignatureScheme>> {
        SignatureScheme::for_hashedrekord(key).map(Some)
    }

    fn log_message_signature(
        &self,
        signed: &SignedDigest<'_>,
        signer: &dyn Signer,
    ) -> vouch_sign::Result<TlogEntry> {
        self.upload(signed.scheme, signed.digest, signed.signature, signer)
    }

    fn log_envelope(
        &self,
        envelope: &Envelope,
        scheme: SignatureScheme,
        signer: &dyn Signer,
    ) -> vouch_sign::Result<TlogEntry> {
        let [only] = envelope.signatures.as_slice() else {
            return Err(vouch_sign::Error::MissingField {
                what: "DSSE envelope",
                field: "exactly one signature (Rekor v2 logs one)",
            });
        };
        // sigstore-go `getRekorV2TLE`: the PAE hashed with the signing algorithm's hash.
        let Some(hash) = scheme.hash() else {
            return Err(vouch_sign::Error::UnsupportedAlgorithm {
                algorithm: "pure Ed25519 in a Rekor v2 hashedrekord (Ed25519ph is logged)".into(),
            });
        };
        self.upload(scheme, &hash.digest(&envelope.pae()), &only.sig, signer)
    }
}

/// A client of every log the trust config selects, in its order: what
/// [`vouch_sign::sign::Witnesses::logs`] takes.
pub fn transparency_logs(
    config: &TrustConfig,
    http_config: &vouch_http::ClientConfig,
) -> Result<Vec<Box<dyn TransparencyLog>>> {
    config
        .logs
        .iter()
        .map(|log| -> Result<Box<dyn TransparencyLog>> {
            Ok(match log.api {
                RekorApi::V1 => Box::new(RekorLog::from_client(vouch_tlog::Client::with_config(
                    &log.url,
                    http_config,
                )?)),
                RekorApi::V2 => Box::new(RekorV2Log::with_http(
                    vouch_http::Client::new(http_config)?,
                    &log.url,
                )),
            })
        })
        .collect()
}
