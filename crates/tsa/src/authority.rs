//! Issuing RFC 3161 timestamps: a `TimeStampReq` (DER, or the JSON form of
//! `sigstore/timestamp-authority:pkg/api/timestamp.go`) in, a `TimeStampResp` out.
//!
//! The token is a CMS SignedData (RFC 5652) over an `id-ct-TSTInfo` (RFC 3161 §2.4.2), built
//! from RustCrypto's `cms`/`x509-tsp` types and signed over its DER signed attributes:
//! `contentType`, `messageDigest` and the ESS `signingCertificateV2` (RFC 5816) naming the TSA
//! certificate by its SHA-256, which RFC 3161 §2.4.1 requires and OpenSSL's `ts -verify` checks.
//!
//! A request that cannot be honoured is answered, not failed: a `TimeStampResp` with status
//! `rejection` and the RFC 3161 failure bit (badAlg, badRequest, badDataFormat,
//! unacceptedPolicy, unacceptedExtension).

use std::str::FromStr as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use cmpv2::status::{PkiStatus, PkiStatusInfo};
use cms::cert::x509::Certificate as Cert07;
use cms::cert::x509::attr::Attribute;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der07::asn1::{
    Any, BitString, GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec, Utf8StringRef,
};
use der07::{Decode as _, Encode, EncodeValue, FixedTag, Tag, Tagged as _};
use p256::pkcs8::EncodePrivateKey as _;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use sha2::{Digest as _, Sha256};
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::error::{Error, Result};
use crate::material::Material;

/// The policy sigstore's timestamp-authority stamps by default (`pkg/api/api.go`,
/// `--default-policy-oid`): Sigstore's arc 57264, `.2`.
pub const DEFAULT_POLICY: &str = "1.3.6.1.4.1.57264.2";

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TSTINFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// `id-aa-signingCertificateV2` (RFC 5035 §3).
const ID_SIGNING_CERT_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Largest JSON request accepted, as sigstore's `maxJSONRequestBytes`.
pub const MAX_JSON_REQUEST_BYTES: usize = 1024;

/// RFC 5035 `ESSCertIDv2` with the default hash algorithm (SHA-256) and no issuerSerial.
///
/// (Encoded through der's `EncodeValue` by hand: the `Sequence` derive names the crate `der`,
/// which in this workspace is the 0.8 line.)
#[derive(Clone, Debug, Eq, PartialEq)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

impl FixedTag for EssCertIdV2 {
    const TAG: Tag = Tag::Sequence;
}

impl EncodeValue for EssCertIdV2 {
    fn value_len(&self) -> der07::Result<der07::Length> {
        self.cert_hash.encoded_len()
    }

    fn encode_value(&self, writer: &mut impl der07::Writer) -> der07::Result<()> {
        self.cert_hash.encode(writer)
    }
}

/// RFC 5035 `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies
/// SEQUENCE OF PolicyInformation OPTIONAL }`, without policies.
#[derive(Clone, Debug, Eq, PartialEq)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

impl FixedTag for SigningCertificateV2 {
    const TAG: Tag = Tag::Sequence;
}

impl EncodeValue for SigningCertificateV2 {
    fn value_len(&self) -> der07::Result<der07::Length> {
        self.certs.encoded_len()
    }

    fn encode_value(&self, writer: &mut impl der07::Writer) -> der07::Result<()> {
        self.certs.encode(writer)
    }
}

/// The RFC 3161 `PKIFailureInfo` bit a rejection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Unrecognized or unsupported (or weak: SHA-1) hash algorithm.
    BadAlg,
    /// Transaction not permitted or supported (wrong content type, wrong digest length).
    BadRequest,
    /// The data submitted has the wrong format (not a TimeStampReq, bad JSON).
    BadDataFormat,
    /// The requested TSA policy is not supported.
    UnacceptedPolicy,
    /// The requested extension is not supported.
    UnacceptedExtension,
    /// The request cannot be handled due to a system failure.
    SystemFailure,
}

impl Failure {
    /// The bit's number in RFC 3161 §2.4.2 `PKIFailureInfo`.
    fn bit(self) -> usize {
        match self {
            Self::BadAlg => 0,
            Self::BadRequest => 2,
            Self::BadDataFormat => 5,
            Self::UnacceptedPolicy => 15,
            Self::UnacceptedExtension => 16,
            Self::SystemFailure => 25,
        }
    }

    /// The named-bit BIT STRING with only this bit set, trailing zero bits removed (X.690
    /// §11.2.2).
    fn bit_string(self) -> der07::Result<BitString> {
        let bit = self.bit();
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        // Below 8, so the cast is exact.
        BitString::new(7 - (bit % 8) as u8, bytes)
    }
}

/// `PKIStatusInfo` of a rejection (RFC 3161 §2.4.2). cmpv2 0.2's `PkiFailureInfo` flag values
/// are bit numbers used as masks (badAlg = 0 encodes no bit at all), so the status of a
/// rejection is encoded here.
struct RejectionStatus<'a> {
    status_string: Option<Utf8StringRef<'a>>,
    fail_info: BitString,
}

impl FixedTag for RejectionStatus<'_> {
    const TAG: Tag = Tag::Sequence;
}

impl EncodeValue for RejectionStatus<'_> {
    fn value_len(&self) -> der07::Result<der07::Length> {
        let text = match &self.status_string {
            Some(t) => vec![*t].encoded_len()?,
            None => der07::Length::ZERO,
        };
        PkiStatus::Rejection.encoded_len()? + text + self.fail_info.encoded_len()?
    }

    fn encode_value(&self, writer: &mut impl der07::Writer) -> der07::Result<()> {
        PkiStatus::Rejection.encode(writer)?;
        if let Some(t) = &self.status_string {
            // PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
            vec![*t].encode(writer)?;
        }
        self.fail_info.encode(writer)
    }
}

/// `TimeStampResp` without a token.
struct RejectionResponse<'a>(RejectionStatus<'a>);

impl FixedTag for RejectionResponse<'_> {
    const TAG: Tag = Tag::Sequence;
}

impl EncodeValue for RejectionResponse<'_> {
    fn value_len(&self) -> der07::Result<der07::Length> {
        self.0.encoded_len()
    }

    fn encode_value(&self, writer: &mut impl der07::Writer) -> der07::Result<()> {
        self.0.encode(writer)
    }
}

/// A refused request: the failure bit and a reason for the `statusString`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejection {
    /// The RFC 3161 failure bit.
    pub failure: Failure,
    /// Why, in words.
    pub reason: String,
}

fn reject(failure: Failure, reason: impl Into<String>) -> Rejection {
    Rejection {
        failure,
        reason: reason.into(),
    }
}

impl Rejection {
    /// The DER `TimeStampResp` with status `rejection`, this failure bit and reason.
    pub fn to_der(&self) -> Vec<u8> {
        let encode = |text: Option<Utf8StringRef<'_>>| {
            RejectionResponse(RejectionStatus {
                status_string: text,
                fail_info: self.failure.bit_string()?,
            })
            .to_der()
        };
        // Should the reason not encode, the client still gets the failure bit.
        encode(Utf8StringRef::new(&self.reason).ok())
            .or_else(|_| encode(None))
            .unwrap_or_default()
    }
}

/// A request that parsed: what the timestamp will say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    imprint: MessageImprint,
    nonce: Option<Int>,
    cert_req: bool,
    policy: Option<ObjectIdentifier>,
}

impl TimestampRequest {
    /// Parses a DER `TimeStampReq` (RFC 3161 §2.4.1).
    pub fn from_der(der: &[u8]) -> Result<Self, Rejection> {
        let req = TimeStampReq::from_der(der).map_err(|e| {
            reject(
                Failure::BadDataFormat,
                format!("not a DER TimeStampReq: {e}"),
            )
        })?;
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err(reject(
                Failure::UnacceptedExtension,
                "request extensions are not supported",
            ));
        }
        check_imprint(&req.message_imprint)?;
        Ok(Self {
            imprint: req.message_imprint,
            nonce: req.nonce,
            cert_req: req.cert_req,
            policy: req.req_policy,
        })
    }

    /// Parses sigstore timestamp-authority's JSON request
    /// (`{"artifactHash": base64, "hashAlgorithm": "sha256", "nonce": N, "certificates": bool,
    /// "tsaPolicyOID": "1.2.3"}`, `pkg/api/timestamp.go` `JSONRequest`). The nonce must fit
    /// in 64 bits here (JSON numbers beyond that lose precision in most parsers).
    pub fn from_json(json: &[u8]) -> Result<Self, Rejection> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct JsonRequest {
            artifact_hash: String,
            hash_algorithm: String,
            #[serde(default)]
            nonce: Option<serde_json::Number>,
            #[serde(default)]
            certificates: bool,
            #[serde(default, rename = "tsaPolicyOID")]
            tsa_policy_oid: String,
        }
        if json.len() > MAX_JSON_REQUEST_BYTES {
            return Err(reject(
                Failure::BadRequest,
                format!("JSON request larger than {MAX_JSON_REQUEST_BYTES} bytes"),
            ));
        }
        let req: JsonRequest = serde_json::from_slice(json).map_err(|e| {
            reject(
                Failure::BadDataFormat,
                format!("not a JSON timestamp request: {e}"),
            )
        })?;
        let oid = match req.hash_algorithm.to_ascii_lowercase().as_str() {
            "sha256" => ID_SHA256,
            "sha384" => ID_SHA384,
            "sha512" => ID_SHA512,
            "sha1" => return Err(reject(Failure::BadAlg, "hashAlgorithm sha1 is too weak")),
            other => {
                return Err(reject(
                    Failure::BadAlg,
                    format!("hashAlgorithm {other:?} is not supported (sha256, sha384, sha512)"),
                ));
            }
        };
        let digest = base64::engine::general_purpose::STANDARD
            .decode(&req.artifact_hash)
            .map_err(|e| reject(Failure::BadDataFormat, format!("artifactHash: {e}")))?;
        let imprint = MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(digest)
                .map_err(|e| reject(Failure::BadDataFormat, format!("artifactHash: {e}")))?,
        };
        check_imprint(&imprint)?;
        let nonce = match req.nonce {
            None => None,
            Some(n) => {
                let n = n.as_u64().ok_or_else(|| {
                    reject(
                        Failure::BadDataFormat,
                        format!("nonce {n} is not an integer in 0..2^64"),
                    )
                })?;
                Some(positive_int(&n.to_be_bytes()).map_err(|e| {
                    reject(Failure::SystemFailure, format!("encoding the nonce: {e}"))
                })?)
            }
        };
        let policy = if req.tsa_policy_oid.is_empty() {
            None
        } else {
            Some(
                ObjectIdentifier::from_str(&req.tsa_policy_oid).map_err(|e| {
                    reject(
                        Failure::BadDataFormat,
                        format!("tsaPolicyOID {:?}: {e}", req.tsa_policy_oid),
                    )
                })?,
            )
        };
        Ok(Self {
            imprint,
            nonce,
            cert_req: req.certificates,
            policy,
        })
    }

    /// The nonce, as its two's-complement big-endian bytes.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.nonce.as_ref().map(Int::as_bytes)
    }
}

/// The hash algorithm is SHA-256/384/512 (parameters absent or NULL, RFC 5754 §2) and the
/// digest has its length (sigstore `pkg/verification` `VerifyRequest`).
fn check_imprint(imprint: &MessageImprint) -> Result<(), Rejection> {
    let alg = &imprint.hash_algorithm;
    let len = match alg.oid {
        ID_SHA256 => 32,
        ID_SHA384 => 48,
        ID_SHA512 => 64,
        ID_SHA1 => {
            return Err(reject(
                Failure::BadAlg,
                "SHA-1 message imprints are too weak",
            ));
        }
        other => {
            return Err(reject(
                Failure::BadAlg,
                format!("hash algorithm {other} is not supported (SHA-256, SHA-384, SHA-512)"),
            ));
        }
    };
    if alg
        .parameters
        .as_ref()
        .is_some_and(|p| p.tag() != Tag::Null || !p.value().is_empty())
    {
        return Err(reject(
            Failure::BadAlg,
            "hash algorithm parameters must be absent or NULL",
        ));
    }
    let got = imprint.hashed_message.as_bytes().len();
    if got != len {
        return Err(reject(
            Failure::BadRequest,
            format!("message imprint is {got} bytes; {} needs {len}", alg.oid),
        ));
    }
    Ok(())
}

/// A positive INTEGER from big-endian magnitude bytes (minimal two's complement).
fn positive_int(magnitude: &[u8]) -> der07::Result<Int> {
    let trimmed = match magnitude.iter().position(|b| *b != 0) {
        Some(i) => &magnitude[i..],
        None => &[0u8][..],
    };
    if trimmed[0] & 0x80 != 0 {
        let mut padded = Vec::with_capacity(trimmed.len() + 1);
        padded.push(0);
        padded.extend_from_slice(trimmed);
        Int::new(&padded)
    } else {
        Int::new(trimmed)
    }
}

/// How the authority stamps.
#[derive(Debug, Clone)]
pub struct Config {
    /// Policy of tokens whose request names none (default [`DEFAULT_POLICY`]).
    pub policy: String,
    /// Further policies a request may ask for (the default policy is always accepted).
    pub accepted_policies: Vec<String>,
    /// The stated accuracy of `genTime` (RFC 3161 `accuracy`; default 1 s, as sigstore's).
    pub accuracy: Duration,
    /// With `certReq`, also embed the issuing chain, not only the TSA certificate (sigstore's
    /// `--include-chain-in-response`).
    pub include_chain: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            policy: DEFAULT_POLICY.to_owned(),
            accepted_policies: Vec::new(),
            accuracy: Duration::from_secs(1),
            include_chain: false,
        }
    }
}

/// A timestamp that was issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The DER `TimeStampResp` (status granted, with the token).
    pub response: Vec<u8>,
    /// The token's serial number (big-endian, positive).
    pub serial: Vec<u8>,
    /// `genTime`, unix seconds.
    pub gen_time: u64,
}

/// An RFC 3161 timestamp authority: a key, its certificate chain and a policy.
pub struct TimestampAuthority {
    /// ring's ECDSA: signing is ~10x faster than p256 0.14's, and signing is most of the cost
    /// of a timestamp.
    key: EcdsaKeyPair,
    rng: SystemRandom,
    /// The chain for `certReq`: the TSA certificate, then (with `include_chain`) its issuers.
    embedded: Vec<Cert07>,
    sid: SignerIdentifier,
    signing_cert_attr: Attribute,
    chain_pem: String,
    policy: ObjectIdentifier,
    accepted: Vec<ObjectIdentifier>,
    accuracy: Accuracy,
    /// Serial numbers: a random 63-bit prefix per process, then a counter, so serials are
    /// unique across restarts without storage.
    serial_prefix: [u8; 8],
    counter: AtomicU64,
}

impl std::fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("policy", &self.policy.to_string())
            .finish_non_exhaustive()
    }
}

impl TimestampAuthority {
    /// An authority signing with `material` as `config` says.
    pub fn new(material: &Material, config: &Config) -> Result<Self> {
        let parse_policy = |s: &str| {
            ObjectIdentifier::from_str(s)
                .map_err(|e| Error::material("TSA policy OID", format!("{s:?}: {e}")))
        };
        let policy = parse_policy(&config.policy)?;
        let mut accepted = vec![policy];
        for p in &config.accepted_policies {
            accepted.push(parse_policy(p)?);
        }
        let chain = material
            .chain
            .iter()
            .map(|der| Cert07::from_der(der).map_err(|e| Error::material("TSA certificate", e)))
            .collect::<Result<Vec<_>>>()?;
        let leaf = chain
            .first()
            .ok_or_else(|| Error::material("TSA certificate chain", "empty"))?;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        });
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(&material.chain[0]).to_vec())
                    .map_err(Error::encoding)?,
            }],
        };
        let signing_cert_attr = Attribute {
            oid: ID_SIGNING_CERT_V2,
            values: SetOfVec::try_from(vec![Any::encode_from(&ess).map_err(Error::encoding)?])
                .map_err(Error::encoding)?,
        };
        let embedded = if config.include_chain {
            // As sigstore's `--include-chain-in-response`: the TSA certificate and its issuers.
            chain.clone()
        } else {
            vec![leaf.clone()]
        };
        let millis = config.accuracy.as_millis();
        if millis == 0 {
            return Err(Error::material("accuracy", "must be at least 1 ms"));
        }
        let accuracy = Accuracy {
            seconds: u64::try_from(millis / 1000).ok().filter(|s| *s > 0),
            millis: i16::try_from(millis % 1000).ok().filter(|m| *m > 0),
            micros: None,
        };
        let mut serial_prefix = [0u8; 8];
        getrandom::fill(&mut serial_prefix).map_err(|_| Error::Random)?;
        serial_prefix[0] = (serial_prefix[0] & 0x7f) | 0x01;
        let rng = SystemRandom::new();
        let pkcs8 = material.key.to_pkcs8_der().map_err(Error::encoding)?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_bytes(), &rng)
            .map_err(|e| Error::material("TSA private key", e))?;
        Ok(Self {
            key,
            rng,
            embedded,
            sid,
            signing_cert_attr,
            chain_pem: material.chain_pems()?.concat(),
            policy,
            accepted,
            accuracy,
            serial_prefix,
            counter: AtomicU64::new(0),
        })
    }

    /// The certificate chain, PEM, leaf first (`GET /api/v1/timestamp/certchain`).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// Issues a timestamp for `request` at the host clock's current time.
    pub fn timestamp(&self, request: &TimestampRequest) -> Result<Issued, Rejection> {
        self.timestamp_at(request, SystemTime::now())
    }

    /// Issues a timestamp for `request` with `genTime` = `now` (whole seconds; the stated
    /// accuracy covers the truncation).
    pub fn timestamp_at(
        &self,
        request: &TimestampRequest,
        now: SystemTime,
    ) -> Result<Issued, Rejection> {
        let policy = match request.policy {
            None => self.policy,
            Some(p) if self.accepted.contains(&p) => p,
            Some(p) => {
                return Err(reject(
                    Failure::UnacceptedPolicy,
                    format!("policy {p} is not one this TSA stamps under"),
                ));
            }
        };
        self.issue(request, policy, now)
            .map_err(|e| reject(Failure::SystemFailure, e.to_string()))
    }

    fn issue(
        &self,
        request: &TimestampRequest,
        policy: ObjectIdentifier,
        now: SystemTime,
    ) -> Result<Issued> {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map_err(Error::encoding)?
            .as_secs();
        let gen_time = GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
            .map_err(Error::encoding)?;
        let mut serial = [0u8; 16];
        serial[..8].copy_from_slice(&self.serial_prefix);
        serial[8..].copy_from_slice(&self.counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        let tst = TstInfo {
            version: TspVersion::V1,
            policy,
            message_imprint: request.imprint.clone(),
            serial_number: Int::new(&serial).map_err(Error::encoding)?,
            gen_time,
            accuracy: Some(self.accuracy.clone()),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(Error::encoding)?;
        let signed_attrs = SetOfVec::try_from(vec![
            Attribute {
                oid: ID_CONTENT_TYPE,
                values: SetOfVec::try_from(vec![any(&ID_CT_TSTINFO)?]).map_err(Error::encoding)?,
            },
            Attribute {
                oid: ID_MESSAGE_DIGEST,
                values: SetOfVec::try_from(vec![any(&OctetString::new(
                    Sha256::digest(&tst_der).to_vec(),
                )
                .map_err(Error::encoding)?)?])
                .map_err(Error::encoding)?,
            },
            self.signing_cert_attr.clone(),
        ])
        .map_err(Error::encoding)?;
        // RFC 5652 §5.4: the signature covers the DER of the SET OF attributes (tag 0x31), not
        // the [0] IMPLICIT form they are carried in.
        let to_sign = signed_attrs.to_der().map_err(Error::encoding)?;
        let signature = self
            .key
            .sign(&self.rng, &to_sign)
            .map_err(|_| Error::Encoding("ECDSA signing failed".into()))?;
        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        };
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: sha256.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ID_ECDSA_SHA256,
                parameters: None,
            },
            signature: OctetString::new(signature.as_ref()).map_err(Error::encoding)?,
            unsigned_attrs: None,
        };
        let certificates = if request.cert_req {
            Some(
                CertificateSet::try_from(
                    self.embedded
                        .iter()
                        .cloned()
                        .map(CertificateChoices::Certificate)
                        .collect::<Vec<_>>(),
                )
                .map_err(Error::encoding)?,
            )
        } else {
            None
        };
        let signed_data = SignedData {
            // RFC 5652 §5.1: version 3 when eContentType is not id-data.
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(Error::encoding)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TSTINFO,
                econtent: Some(Any::new(Tag::OctetString, tst_der).map_err(Error::encoding)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(Error::encoding)?,
        };
        let response = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(ContentInfo {
                content_type: ID_SIGNED_DATA,
                content: any(&signed_data)?,
            }),
        };
        Ok(Issued {
            response: response.to_der().map_err(Error::encoding)?,
            serial: serial.to_vec(),
            gen_time: secs,
        })
    }
}

fn any(value: &(impl EncodeValue + der07::Tagged)) -> Result<Any> {
    Any::encode_from(value).map_err(Error::encoding)
}
