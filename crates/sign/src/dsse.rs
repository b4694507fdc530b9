//! DSSE envelopes (`secure-systems-lab/dsse`: `protocol.md`, `envelope.md`).
//!
//! The signature covers `PAE(payloadType, payload)`:
//! `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal. The envelope
//! JSON carries the payload and signatures base64-encoded; vouch writes standard base64 (as
//! Sigstore tools do) and reads standard or URL-safe, padded or not (the spec allows both).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::{Signer, VerifyingKey};

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Pre-authentication encoding of `payload_type` and `payload`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope with its payload and signatures decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload type, e.g. [`IN_TOTO_PAYLOAD_TYPE`].
    pub payload_type: String,
    /// The exact payload bytes that were signed (never re-serialised).
    pub payload: Vec<u8>,
    /// Signatures over `PAE(payload_type, payload)`.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// Optional key hint; empty when unset.
    pub keyid: String,
    /// The raw signature bytes.
    pub sig: Vec<u8>,
}

/// Wire form; field order as Sigstore clients emit it.
#[derive(Serialize, Deserialize)]
pub(crate) struct RawEnvelope {
    pub(crate) payload: String,
    #[serde(rename = "payloadType")]
    pub(crate) payload_type: String,
    #[serde(default)]
    pub(crate) signatures: Vec<RawSignature>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct RawSignature {
    pub(crate) sig: String,
    /// Standalone envelopes always carry it (empty when unset), as go-securesystemslib writes
    /// them and as securesystemslib (Python) requires; inside bundles an empty one is omitted,
    /// as protobuf JSON does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) keyid: Option<String>,
}

impl Envelope {
    /// Signs `payload` with `signer` into a one-signature envelope.
    pub fn sign(payload_type: &str, payload: Vec<u8>, signer: &dyn Signer) -> Result<Self> {
        Self::sign_as(payload_type, payload, signer, signer.scheme())
    }

    /// Signs `payload` with `signer` using `scheme` into a one-signature envelope.
    pub fn sign_as(
        payload_type: &str,
        payload: Vec<u8>,
        signer: &dyn Signer,
        scheme: crate::keys::SignatureScheme,
    ) -> Result<Self> {
        let sig = signer.sign_as(scheme, &pae(payload_type, &payload))?;
        Ok(Self {
            payload_type: payload_type.to_owned(),
            payload,
            signatures: vec![EnvelopeSignature {
                keyid: String::new(),
                sig,
            }],
        })
    }

    /// Parses envelope JSON.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let raw: RawEnvelope =
            serde_json::from_slice(json).map_err(|e| Error::malformed("DSSE envelope", e))?;
        Self::try_from(raw)
    }

    /// Serialises to JSON with standard base64 (`{"payload","payloadType","signatures"}`).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings cannot fail.
        serde_json::to_vec(&RawEnvelope::from(self)).unwrap_or_default()
    }

    /// The wire form inside a bundle (empty `keyid` omitted).
    pub(crate) fn to_bundle_raw(&self) -> RawEnvelope {
        let mut raw = RawEnvelope::from(self);
        for s in &mut raw.signatures {
            if s.keyid.as_deref() == Some("") {
                s.keyid = None;
            }
        }
        raw
    }

    /// The bytes each signature covers.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Succeeds when at least one signature verifies with `key`; returns the index of the first
    /// that does.
    pub fn verify(&self, key: &VerifyingKey) -> Result<usize> {
        let message = self.pae();
        self.signatures
            .iter()
            .position(|s| key.verify("DSSE envelope", &message, &s.sig).is_ok())
            .ok_or(Error::SignatureInvalid {
                check: "DSSE envelope",
            })
    }
}

impl TryFrom<RawEnvelope> for Envelope {
    type Error = Error;

    fn try_from(raw: RawEnvelope) -> Result<Self> {
        let payload = decode_any_base64("DSSE payload", &raw.payload)?;
        let signatures = raw
            .signatures
            .into_iter()
            .map(|s| {
                Ok(EnvelopeSignature {
                    keyid: s.keyid.unwrap_or_default(),
                    sig: decode_any_base64("DSSE signature", &s.sig)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            payload_type: raw.payload_type,
            payload,
            signatures,
        })
    }
}

impl From<&Envelope> for RawEnvelope {
    fn from(e: &Envelope) -> Self {
        Self {
            payload: STANDARD.encode(&e.payload),
            payload_type: e.payload_type.clone(),
            signatures: e
                .signatures
                .iter()
                .map(|s| RawSignature {
                    sig: STANDARD.encode(&s.sig),
                    keyid: Some(s.keyid.clone()),
                })
                .collect(),
        }
    }
}

/// Decodes standard or URL-safe base64, padded or not, as DSSE permits.
pub(crate) fn decode_any_base64(what: &'static str, s: &str) -> Result<Vec<u8>> {
    [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
        .ok_or_else(|| Error::malformed(what, "not base64"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, SigningKey};

    #[test]
    fn pae_matches_the_spec_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn sign_serialise_parse_verify() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}".to_vec(), &key).expect("sign");
        let json = env.to_json();
        let text = std::str::from_utf8(&json).expect("utf8");
        assert!(text.starts_with(r#"{"payload":"eyJhIjoxfQ==","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":""#), "{text}");
        let back = Envelope::from_json(&json).expect("parse");
        assert_eq!(back, env);
        assert_eq!(back.verify(&key.public_key()).expect("verify"), 0);
    }

    #[test]
    fn tampered_payload_or_type_fails() {
        let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
        let env = Envelope::sign("text/plain", b"hello".to_vec(), &key).expect("sign");
        let mut bad = env.clone();
        bad.payload = b"hellO".to_vec();
        assert!(matches!(
            bad.verify(&key.public_key()),
            Err(Error::SignatureInvalid { .. })
        ));
        let mut bad = env;
        bad.payload_type = "text/html".into();
        assert!(matches!(
            bad.verify(&key.public_key()),
            Err(Error::SignatureInvalid { .. })
        ));
    }

    #[test]
    fn url_safe_unpadded_base64_is_read() {
        let json =
            br#"{"payload":"-_8","payloadType":"x","signatures":[{"keyid":"k","sig":"AA"}]}"#;
        let env = Envelope::from_json(json).expect("parse");
        assert_eq!(env.payload, vec![0xfb, 0xff]);
        assert_eq!(env.signatures[0].keyid, "k");
    }
}
