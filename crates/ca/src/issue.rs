//! Certificate issuance with Fulcio's profile (`sigstore/fulcio:docs/certificate-specification.md`,
//! `pkg/ca/baseca/baseca.go`) and the RFC 6962 precertificate flow for the embedded SCT.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{BitString, Ia5String, ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey as P256Key};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use sha2::{Digest, Sha256};
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::{Error, Result};
use crate::sct;

/// Lifetime of issued leaf certificates (Fulcio: 10 minutes).
pub const LEAF_VALIDITY: Duration = Duration::from_secs(600);
/// Lifetime of generated root and intermediate certificates (10 years).
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio issuer extension, deprecated raw-bytes form (still read by sigstore-python).
pub const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
/// Fulcio issuer extension, DER UTF8String form.
pub const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// CT precertificate poison (RFC 6962 §3.1), critical, value ASN.1 NULL.
const OID_CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// Embedded SCT list (RFC 6962 §3.3).
const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1.";

/// The subject alternative name of a leaf: exactly one, marked critical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// `rfc822Name`, for email issuers.
    Email(String),
    /// `uniformResourceIdentifier`, for CI workflows and URI issuers.
    Uri(String),
    /// `otherName` of type 1.3.6.1.4.1.57264.1.7 holding a UTF8String (`username!domain`, the
    /// `username` issuer type; `sigstore/sigstore:pkg/cryptoutils` `MarshalOtherNameSAN`).
    OtherName(String),
}

impl San {
    /// The SAN value.
    pub fn value(&self) -> &str {
        match self {
            Self::Email(s) | Self::Uri(s) | Self::OtherName(s) => s,
        }
    }
}

/// What the CA certifies about the key holder, already validated (see [`crate::oidc`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The SAN.
    pub san: San,
    /// The OIDC issuer URL (`iss`), written into extensions 1.1 and 1.8.
    pub issuer: String,
    /// Further Fulcio extensions, OID to value: the deprecated GitHub ones (`1.3.6.1.4.1.57264.1.2`
    /// to `.6`, raw bytes as Fulcio writes them) and `.9` and up (DER UTF8Strings). Written in
    /// arc order, as Fulcio's `Extensions.Render`.
    pub extensions: Vec<(String, String)>,
}

/// A certificate chain as issued: leaf first, then intermediate, then root (DER).
#[derive(Debug, Clone)]
pub struct IssuedChain {
    /// Leaf, intermediate, root.
    pub certificates: Vec<Vec<u8>>,
}

impl IssuedChain {
    /// The leaf certificate.
    pub fn leaf(&self) -> &[u8] {
        self.certificates.first().map_or(&[], Vec::as_slice)
    }

    /// The chain as PEM blocks, leaf first.
    pub fn to_pem(&self) -> Vec<String> {
        self.certificates
            .iter()
            .map(|d| pem("CERTIFICATE", d))
            .collect()
    }
}

/// PEM-encodes `der` with `label` (64-column base64, LF).
pub fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default()
}

/// A certificate authority: a root, an intermediate that issues leaves, and the CT log key that
/// signs the SCT every leaf embeds.
pub struct CertificateAuthority {
    root_der: Vec<u8>,
    intermediate_der: Vec<u8>,
    intermediate_key: P256Key,
    intermediate_name: Name,
    intermediate_ski: Vec<u8>,
    ct_key: P256Key,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("intermediate", &self.intermediate_name.to_string())
            .finish_non_exhaustive()
    }
}

/// PKCS#8 PEM key material for [`CertificateAuthority::from_pem`].
#[derive(Debug, Clone)]
pub struct CaMaterial {
    /// Root certificate, PEM.
    pub root_cert_pem: String,
    /// Intermediate certificate, PEM.
    pub intermediate_cert_pem: String,
    /// Intermediate private key, PKCS#8 PEM (ECDSA P-256).
    pub intermediate_key_pem: String,
    /// CT log private key, PKCS#8 PEM (ECDSA P-256).
    pub ct_key_pem: String,
}

impl CertificateAuthority {
    /// Generates a fresh root, intermediate and CT log key (ECDSA P-256), for a private
    /// instance or tests. `organization` names the CA in the certificates' subjects.
    pub fn generate(organization: &str) -> Result<Self> {
        let root_key = generate_key()?;
        let root_name = name(organization, &format!("{organization} root"))?;
        let root_ski = key_id(&spki_of(&root_key)?);
        let now = SystemTime::now();
        let validity = validity(now, CA_VALIDITY)?;
        let root = build(
            Profile {
                subject: root_name.clone(),
                issuer: root_name.clone(),
                extensions: ca_extensions(&root_ski, &root_ski, None, false)?,
            },
            validity,
            spki_of(&root_key)?,
            &root_key,
        )?;
        let intermediate_key = generate_key()?;
        let intermediate_name = name(organization, &format!("{organization} intermediate"))?;
        let intermediate_ski = key_id(&spki_of(&intermediate_key)?);
        let intermediate = build(
            Profile {
                subject: intermediate_name.clone(),
                issuer: root_name,
                // Fulcio's loaders require codeSigning on the intermediate (EKU chaining).
                extensions: ca_extensions(&intermediate_ski, &root_ski, Some(0), true)?,
            },
            validity,
            spki_of(&intermediate_key)?,
            &root_key,
        )?;
        Ok(Self {
            root_der: root,
            intermediate_der: intermediate,
            intermediate_key,
            intermediate_name,
            intermediate_ski,
            ct_key: generate_key()?,
        })
    }

    /// Loads a CA from PEM certificates and PKCS#8 PEM keys; checks the intermediate key
    /// matches its certificate.
    pub fn from_pem(material: &CaMaterial) -> Result<Self> {
        fn bad(what: &str) -> impl Fn(String) -> Error + '_ {
            move |e| Error::Material {
                what: what.to_owned(),
                reason: e,
            }
        }
        let cert_der = |what: &str, text: &str| {
            der::pem::decode_vec(text.trim().as_bytes())
                .map(|(_, d)| d)
                .map_err(|e| bad(what)(e.to_string()))
        };
        let root_der = cert_der("root certificate", &material.root_cert_pem)?;
        let intermediate_der =
            cert_der("intermediate certificate", &material.intermediate_cert_pem)?;
        let intermediate = Certificate::from_der(&intermediate_der)
            .map_err(|e| bad("intermediate certificate")(e.to_string()))?;
        let intermediate_key = P256Key::from_pkcs8_pem(material.intermediate_key_pem.trim())
            .map_err(|e| bad("intermediate key")(e.to_string()))?;
        let ct_key = P256Key::from_pkcs8_pem(material.ct_key_pem.trim())
            .map_err(|e| bad("CT log key")(e.to_string()))?;
        let cert_spki = intermediate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(Error::encoding)?;
        let key_spki = spki_of(&intermediate_key)?
            .to_der()
            .map_err(Error::encoding)?;
        if cert_spki != key_spki {
            return Err(bad("intermediate key")(
                "does not match the intermediate certificate's public key".into(),
            ));
        }
        let intermediate_ski = key_id(&spki_of(&intermediate_key)?);
        Ok(Self {
            intermediate_name: intermediate.tbs_certificate().subject().clone(),
            root_der,
            intermediate_der,
            intermediate_key,
            intermediate_ski,
            ct_key,
        })
    }

    /// The material as PEM, for writing an instance directory ([`Self::from_pem`] reads it back).
    pub fn to_pem(&self) -> Result<CaMaterial> {
        let key_pem = |k: &P256Key| {
            k.to_pkcs8_pem(LineEnding::LF)
                .map(|s| s.to_string())
                .map_err(Error::encoding)
        };
        Ok(CaMaterial {
            root_cert_pem: pem("CERTIFICATE", &self.root_der),
            intermediate_cert_pem: pem("CERTIFICATE", &self.intermediate_der),
            intermediate_key_pem: key_pem(&self.intermediate_key)?,
            ct_key_pem: key_pem(&self.ct_key)?,
        })
    }

    /// The CA chain, intermediate then root (DER): the trust bundle and `certChain` of a
    /// trusted root's `certificateAuthorities` entry.
    pub fn ca_chain(&self) -> Vec<Vec<u8>> {
        vec![self.intermediate_der.clone(), self.root_der.clone()]
    }

    /// The CT log's public key, SubjectPublicKeyInfo DER (trusted root `ctlogs[].publicKey`).
    pub fn ct_log_public_key_der(&self) -> Result<Vec<u8>> {
        spki_of(&self.ct_key)?.to_der().map_err(Error::encoding)
    }

    /// The CT log ID: SHA-256 of its SPKI DER (trusted root `ctlogs[].logId.keyId`).
    pub fn ct_log_id(&self) -> Result<[u8; 32]> {
        Ok(Sha256::digest(self.ct_log_public_key_der()?).into())
    }

    /// This CA's entries for a trusted root (`sigstore_trustroot.proto` JSON): the
    /// `certificateAuthorities` item (chain intermediate then root, served at `uri`) and the
    /// `ctlogs` item for its CT key, both valid from `start` (RFC 3339).
    pub fn trusted_root_entries(
        &self,
        uri: &str,
        start: &str,
    ) -> Result<(serde_json::Value, serde_json::Value)> {
        use base64::Engine as _;
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        let certificates: Vec<serde_json::Value> = self
            .ca_chain()
            .iter()
            .map(|d| serde_json::json!({"rawBytes": b64(d)}))
            .collect();
        let ca = serde_json::json!({
            "subject": {"organization": self.intermediate_name.to_string(), "commonName": self.intermediate_name.to_string()},
            "uri": uri,
            "certChain": {"certificates": certificates},
            "validFor": {"start": start},
        });
        let ctlog = serde_json::json!({
            "baseUrl": uri,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(&self.ct_log_public_key_der()?),
                          "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": start}},
            "logId": {"keyId": b64(&self.ct_log_id()?)},
        });
        Ok((ca, ctlog))
    }

    /// Issues a 10-minute code-signing certificate for `public_key_der` (SubjectPublicKeyInfo
    /// DER) valid from now.
    pub fn issue(&self, public_key_der: &[u8], identity: &Identity) -> Result<IssuedChain> {
        self.issue_at(public_key_der, identity, SystemTime::now())
    }

    /// [`Self::issue`] with an explicit start time (tests, backdating is not offered).
    pub fn issue_at(
        &self,
        public_key_der: &[u8],
        identity: &Identity,
        not_before: SystemTime,
    ) -> Result<IssuedChain> {
        let spki = SubjectPublicKeyInfoOwned::from_der(public_key_der)
            .map_err(|e| Error::bad_request(format!("public key: {e}")))?;
        check_key_policy(&spki)?;
        // Fail early on keys verifiers cannot use.
        vouch_sign::VerifyingKey::from_spki_der(public_key_der)
            .map_err(|e| Error::bad_request(format!("public key: {e}")))?;
        let validity = validity(not_before, LEAF_VALIDITY)?;
        let serial = random_serial()?;
        let mut extensions = leaf_extensions(&key_id(&spki), &self.intermediate_ski, identity)?;
        // 1. Precertificate: the same certificate plus the critical poison extension, last.
        let mut pre_extensions = extensions.clone();
        pre_extensions.push(Extension {
            extn_id: OID_CT_POISON,
            critical: true,
            extn_value: OctetString::new(vec![0x05, 0x00]).map_err(Error::encoding)?,
        });
        let precert = build_with_serial(
            Profile {
                subject: Name::default(),
                issuer: self.intermediate_name.clone(),
                extensions: pre_extensions,
            },
            serial.clone(),
            validity,
            spki.clone(),
            &self.intermediate_key,
        )?;
        // 2. The CT log (ours) signs the precertificate TBS without the poison.
        let precert = Certificate::from_der(&precert).map_err(Error::encoding)?;
        let tbs_der = strip_poison(precert.tbs_certificate())?;
        let issuer_key_hash: [u8; 32] = Sha256::digest(
            spki_of(&self.intermediate_key)?
                .to_der()
                .map_err(Error::encoding)?,
        )
        .into();
        let timestamp_ms = unix_millis(SystemTime::now());
        let sct = sct::sign_precert_sct(
            &self.ct_key,
            &self.ct_log_id()?,
            timestamp_ms,
            &issuer_key_hash,
            &tbs_der,
        )?;
        // 3. Final certificate: same fields, SCT list extension appended last.
        extensions.push(Extension {
            extn_id: OID_SCT_LIST,
            critical: false,
            extn_value: OctetString::new(sct::sct_list_extension_value(&[sct])?)
                .map_err(Error::encoding)?,
        });
        let leaf = build_with_serial(
            Profile {
                subject: Name::default(),
                issuer: self.intermediate_name.clone(),
                extensions,
            },
            serial,
            validity,
            spki,
            &self.intermediate_key,
        )?;
        Ok(IssuedChain {
            certificates: vec![leaf, self.intermediate_der.clone(), self.root_der.clone()],
        })
    }
}

/// Fulcio's key policy (`sigstore/fulcio:pkg/ca` `ValidateKey` via sigstore's
/// `cryptoutils.ValidatePubKey`): RSA with a 2048..=4096-bit modulus, ECDSA on P-256, P-384 or
/// P-521, Ed25519. Applied to every key, whether it came with a proof of possession or in a
/// CSR.
pub fn check_key_policy(spki: &SubjectPublicKeyInfoOwned) -> Result<()> {
    let refuse = |reason: String| Error::KeyPolicy { reason };
    match spki.algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => {
            let key: rsa::pkcs1::RsaPublicKey<der::asn1::UintRef<'_>> =
                Decode::from_der(spki.subject_public_key.raw_bytes())
                    .map_err(|e| refuse(format!("RSA public key: {e}")))?;
            let n = key.modulus.as_bytes();
            let bits = n
                .iter()
                .position(|b| *b != 0)
                .map_or(0, |i| (n.len() - i) * 8 - n[i].leading_zeros() as usize);
            if !(2048..=4096).contains(&bits) {
                return Err(refuse(format!(
                    "RSA key of {bits} bits (2048 to 4096 accepted)"
                )));
            }
            Ok(())
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .map(|o| o.to_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7" | "1.3.132.0.34" | "1.3.132.0.35") => Ok(()),
                other => Err(refuse(format!(
                    "ECDSA curve {} (P-256, P-384, P-521 accepted)",
                    other.unwrap_or("missing")
                ))),
            }
        }
        "1.3.101.112" => Ok(()),
        other => Err(refuse(format!(
            "key algorithm {other} (RSA, ECDSA, Ed25519 accepted)"
        ))),
    }
}

/// A builder profile that writes exactly the given names and extensions, in order.
struct Profile {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn build(
    profile: Profile,
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    signer: &P256Key,
) -> Result<Vec<u8>> {
    build_with_serial(profile, random_serial()?, validity, spki, signer)
}

fn build_with_serial(
    profile: Profile,
    serial: SerialNumber,
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    signer: &P256Key,
) -> Result<Vec<u8>> {
    let builder =
        CertificateBuilder::new(profile, serial, validity, spki).map_err(Error::encoding)?;
    let cert = builder
        .build::<_, DerSignature>(signer)
        .map_err(Error::encoding)?;
    cert.to_der().map_err(Error::encoding)
}

fn ext(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(Error::encoding)?)
            .map_err(Error::encoding)?,
    })
}

fn oid(s: &str) -> Result<ObjectIdentifier> {
    ObjectIdentifier::from_str(s).map_err(Error::encoding)
}

fn ski_ext(ski: &[u8]) -> Result<Extension> {
    ext(
        oid("2.5.29.14")?,
        false,
        &SubjectKeyIdentifier(OctetString::new(ski).map_err(Error::encoding)?),
    )
}

fn aki_ext(issuer_ski: &[u8]) -> Result<Extension> {
    ext(
        oid("2.5.29.35")?,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(issuer_ski).map_err(Error::encoding)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

fn ca_extensions(
    ski: &[u8],
    issuer_ski: &[u8],
    path_len: Option<u8>,
    code_signing: bool,
) -> Result<Vec<Extension>> {
    let mut exts = vec![
        ext(
            oid("2.5.29.19")?,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        )?,
        ext(
            oid("2.5.29.15")?,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        ski_ext(ski)?,
    ];
    if ski != issuer_ski {
        exts.push(aki_ext(issuer_ski)?);
    }
    if code_signing {
        exts.push(ext(
            oid("2.5.29.37")?,
            false,
            &ExtendedKeyUsage(vec![OID_CODE_SIGNING]),
        )?);
    }
    Ok(exts)
}

/// Fulcio's leaf extensions (`pkg/ca/common.go` `MakeX509`, `pkg/certificate/extensions.go`):
/// KU, EKU, SKI, AKI, critical SAN, then the issuer extensions and claims.
fn leaf_extensions(ski: &[u8], issuer_ski: &[u8], identity: &Identity) -> Result<Vec<Extension>> {
    let ia5 = |s: &str| {
        Ia5String::new(s).map_err(|_| Error::TokenClaim {
            claim: "subject",
            reason: format!("{s:?} is not an IA5 (ASCII) string"),
        })
    };
    let san = match &identity.san {
        San::Email(e) => GeneralName::Rfc822Name(ia5(e)?),
        San::Uri(u) => GeneralName::UniformResourceIdentifier(ia5(u)?),
        San::OtherName(n) => GeneralName::OtherName(x509_cert::ext::pkix::name::OtherName {
            type_id: oid("1.3.6.1.4.1.57264.1.7")?,
            value: der::Any::encode_from(&Utf8StringRef::new(n).map_err(Error::encoding)?)
                .map_err(Error::encoding)?,
        }),
    };
    // Fulcio's order (`pkg/certificate/extensions.go` `Render`): 1.1, the deprecated 1.2-1.6,
    // 1.8, then 1.9 and up.
    let mut claims: Vec<(u32, &str, &str)> = Vec::with_capacity(identity.extensions.len());
    for (o, value) in &identity.extensions {
        let arc = o
            .strip_prefix(FULCIO_ARC)
            .and_then(|a| a.parse::<u32>().ok())
            .filter(|a| !matches!(a, 0 | 1 | 7 | 8))
            .ok_or_else(|| Error::encoding(format!("{o} is not a Fulcio claim extension")))?;
        claims.push((arc, o, value));
    }
    claims.sort_by_key(|(arc, _, _)| *arc);
    let mut exts = vec![
        ext(
            oid("2.5.29.15")?,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        ext(
            oid("2.5.29.37")?,
            false,
            &ExtendedKeyUsage(vec![OID_CODE_SIGNING]),
        )?,
        ski_ext(ski)?,
        aki_ext(issuer_ski)?,
        ext(oid("2.5.29.17")?, true, &SubjectAltName(vec![san]))?,
        // 1.1: raw bytes, no DER wrapper (Fulcio's legacy encoding).
        raw_ext(OID_ISSUER_V1, &identity.issuer)?,
    ];
    for (arc, o, value) in &claims {
        if *arc <= 6 {
            exts.push(raw_ext(o, value)?);
        }
    }
    exts.push(utf8_ext(OID_ISSUER_V2, &identity.issuer)?);
    for (arc, o, value) in &claims {
        if *arc > 8 {
            exts.push(utf8_ext(o, value)?);
        }
    }
    Ok(exts)
}

/// A deprecated Fulcio extension: the value's bytes without a DER wrapper.
fn raw_ext(o: &str, value: &str) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid(o)?,
        critical: false,
        extn_value: OctetString::new(value.as_bytes()).map_err(Error::encoding)?,
    })
}

fn utf8_ext(o: &str, value: &str) -> Result<Extension> {
    ext(
        oid(o)?,
        false,
        &Utf8StringRef::new(value).map_err(Error::encoding)?,
    )
}

/// The precertificate's TBS with the poison extension removed, re-encoded (what RFC 6962 §3.2
/// signs and what verifiers rebuild by deleting the SCT extension from the final TBS).
fn strip_poison(tbs: &TbsCertificate) -> Result<Vec<u8>> {
    let der = tbs.to_der().map_err(Error::encoding)?;
    let mut poison = Vec::new();
    OID_CT_POISON
        .encode_to_vec(&mut poison)
        .map_err(Error::encoding)?;
    crate::sct::tbs_without_extension(&der, &poison)
}

fn generate_key() -> Result<P256Key> {
    P256Key::try_generate().map_err(|_| Error::Random)
}

fn spki_of(key: &P256Key) -> Result<SubjectPublicKeyInfoOwned> {
    let der = key
        .verifying_key()
        .to_public_key_der()
        .map_err(Error::encoding)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(Error::encoding)
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits; we use the first 20 bytes of
/// SHA-256 (method "other", as Go's x509 does since 1.15 for non-RSA keys is SHA-1; either is
/// fine for verifiers, which only compare AKI with SKI).
fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let bits: &BitString = &spki.subject_public_key;
    Sha256::digest(bits.raw_bytes())[..20].to_vec()
}

fn name(organization: &str, common_name: &str) -> Result<Name> {
    let clean = |s: &str| s.replace([',', '+', '=', '"', '\\', '<', '>', ';'], " ");
    Name::from_str(&format!(
        "CN={},O={}",
        clean(common_name),
        clean(organization)
    ))
    .map_err(Error::encoding)
}

fn validity(start: SystemTime, lifetime: Duration) -> Result<Validity> {
    // Whole seconds: UTCTime has no fractions, and verifiers compare seconds.
    let secs = start
        .duration_since(UNIX_EPOCH)
        .map_err(Error::encoding)?
        .as_secs();
    let start = UNIX_EPOCH + Duration::from_secs(secs);
    Ok(Validity::new(
        Time::try_from(start).map_err(Error::encoding)?,
        Time::try_from(start + lifetime).map_err(Error::encoding)?,
    ))
}

/// A random positive 160-bit serial (RFC 5280 §4.1.2.2 allows up to 20 octets).
fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).map_err(Error::encoding)
}

pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
