//! The authority's signing key and certificate chain: a small root CA and a timestamping leaf,
//! generated once (`vouch tsa init`) and loaded from a directory.
//!
//! The leaf carries what RFC 3161 §2.3 and its verifiers require: an extended key usage of
//! exactly `id-kp-timeStamping`, marked critical (OpenSSL's `X509_PURPOSE_TIMESTAMP_SIGN`
//! check and sigstore's `pkg/verification/verify.go` both refuse anything else), key usage
//! digitalSignature, and SKI/AKI so the chain builds.

use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Decode as _, Encode};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use sha2::{Digest as _, Sha256};
use spki::{EncodePublicKey as _, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder as _, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::{Error, Result};

/// `id-kp-timeStamping` (RFC 5280 §4.2.1.12).
pub(crate) const OID_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
const OID_EKU: &str = "2.5.29.37";

/// File names inside an authority directory.
pub const KEY_FILE: &str = "tsa-key.pem";
/// The timestamping (leaf) certificate, PEM.
pub const LEAF_FILE: &str = "tsa-cert.pem";
/// The root CA certificate, PEM (what verifiers trust: `openssl ts -verify -CAfile`).
pub const ROOT_FILE: &str = "root.pem";
/// Leaf then root, PEM (what `GET /api/v1/timestamp/certchain` serves).
pub const CHAIN_FILE: &str = "chain.pem";

const ROOT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 86_400);
const LEAF_VALIDITY: Duration = Duration::from_secs(5 * 365 * 86_400);

/// A TSA's signing key and its chain (leaf first, root last), as DER.
pub struct Material {
    pub(crate) key: SigningKey,
    /// DER certificates, the timestamping leaf first, the root last.
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Material {
    /// A fresh ECDSA P-256 root CA and timestamping leaf; `organization` names both subjects.
    pub fn generate(organization: &str) -> Result<Self> {
        let root_key = generate_key()?;
        let leaf_key = generate_key()?;
        let root_spki = spki_of(&root_key)?;
        let leaf_spki = spki_of(&leaf_key)?;
        let root_ski = key_id(&root_spki);
        let leaf_ski = key_id(&leaf_spki);
        let root_name = name(organization, &format!("{organization} TSA root"))?;
        let leaf_name = name(organization, &format!("{organization} timestamping"))?;
        let now = SystemTime::now();
        let root = build(
            Profile {
                subject: root_name.clone(),
                issuer: root_name.clone(),
                extensions: vec![
                    ext(
                        "2.5.29.19",
                        true,
                        &BasicConstraints {
                            ca: true,
                            path_len_constraint: Some(0),
                        },
                    )?,
                    ext(
                        "2.5.29.15",
                        true,
                        &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                    )?,
                    ext("2.5.29.14", false, &ski(&root_ski)?)?,
                ],
            },
            validity(now, ROOT_VALIDITY)?,
            root_spki,
            &root_key,
        )?;
        let leaf = build(
            Profile {
                subject: leaf_name,
                issuer: root_name,
                extensions: vec![
                    ext(
                        "2.5.29.19",
                        true,
                        &BasicConstraints {
                            ca: false,
                            path_len_constraint: None,
                        },
                    )?,
                    ext(
                        "2.5.29.15",
                        true,
                        &KeyUsage(KeyUsages::DigitalSignature.into()),
                    )?,
                    // RFC 3161 §2.3: exactly timeStamping, critical.
                    ext(
                        OID_EKU,
                        true,
                        &ExtendedKeyUsage(vec![oid(OID_TIME_STAMPING)?]),
                    )?,
                    ext("2.5.29.14", false, &ski(&leaf_ski)?)?,
                    ext(
                        "2.5.29.35",
                        false,
                        &AuthorityKeyIdentifier {
                            key_identifier: Some(
                                OctetString::new(root_ski).map_err(Error::encoding)?,
                            ),
                            authority_cert_issuer: None,
                            authority_cert_serial_number: None,
                        },
                    )?,
                ],
            },
            validity(now, LEAF_VALIDITY)?,
            leaf_spki,
            &root_key,
        )?;
        Ok(Self {
            key: leaf_key,
            chain: vec![leaf, root],
        })
    }

    /// Loads `tsa-key.pem` and `chain.pem` from `dir`, checking the key is the leaf's and the
    /// leaf may sign timestamps (critical EKU of exactly timeStamping).
    pub fn load(dir: &Path) -> Result<Self> {
        let key_pem = read(&dir.join(KEY_FILE))?;
        let chain_pem = read(&dir.join(CHAIN_FILE))?;
        Self::from_pem(&key_pem, &chain_pem)
    }

    /// From a PKCS#8 PEM P-256 key and a PEM chain (leaf first).
    pub fn from_pem(key_pem: &str, chain_pem: &str) -> Result<Self> {
        let key = SigningKey::from_pkcs8_pem(key_pem)
            .map_err(|e| Error::material("TSA private key (PKCS#8 PEM, ECDSA P-256)", e))?;
        let chain = Certificate::load_pem_chain(chain_pem.as_bytes())
            .map_err(|e| Error::material("TSA certificate chain", e))?;
        let Some(leaf) = chain.first() else {
            return Err(Error::material("TSA certificate chain", "no certificate"));
        };
        let leaf_spki = leaf
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(Error::encoding)?;
        let key_spki = key
            .verifying_key()
            .to_public_key_der()
            .map_err(Error::encoding)?;
        if leaf_spki != key_spki.as_bytes() {
            return Err(Error::material(
                "TSA certificate",
                "its public key is not the TSA private key's",
            ));
        }
        check_timestamping_eku(leaf)?;
        let chain = chain
            .iter()
            .map(|c| c.to_der().map_err(Error::encoding))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { key, chain })
    }

    /// Writes the key (mode 0600), the leaf, the root and the chain into `dir`, refusing to
    /// overwrite an existing key.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let key_path = dir.join(KEY_FILE);
        let key_pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(Error::encoding)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        {
            use std::io::Write as _;
            let mut file = options.open(&key_path).map_err(io(&key_path))?;
            file.write_all(key_pem.as_bytes()).map_err(io(&key_path))?;
        }
        let pems = self.chain_pems()?;
        let files = [
            (LEAF_FILE, pems[0].clone()),
            (ROOT_FILE, pems[pems.len() - 1].clone()),
            (CHAIN_FILE, pems.concat()),
        ];
        for (file, text) in files {
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(io(&path))?;
        }
        Ok(())
    }

    /// The TSA certificate's subject `(organization, common name)` (empty when absent): the
    /// trusted root's `timestampAuthorities[].subject`. [`Material::generate`] strips DN
    /// separators from both, so reading them back from the RFC 4514 string is exact.
    pub fn subject(&self) -> Result<(String, String)> {
        let leaf = Certificate::from_der(&self.chain[0]).map_err(Error::encoding)?;
        let dn = leaf.tbs_certificate().subject().to_string();
        let attribute = |key: &str| {
            dn.split(',')
                .find_map(|part| part.trim().strip_prefix(key))
                .unwrap_or_default()
                .to_owned()
        };
        Ok((attribute("O="), attribute("CN=")))
    }

    /// The chain as PEM certificates, leaf first.
    pub fn chain_pems(&self) -> Result<Vec<String>> {
        self.chain
            .iter()
            .map(|der| {
                der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
                    .map_err(Error::encoding)
            })
            .collect()
    }
}

/// RFC 3161 §2.3: "The corresponding certificate MUST contain only one instance of the extended
/// key usage field extension ... with KeyPurposeID having value: id-kp-timeStamping. This
/// extension MUST be critical."
fn check_timestamping_eku(leaf: &Certificate) -> Result<()> {
    let bad = |reason: &str| Error::material("TSA certificate", reason);
    let eku_oid = oid(OID_EKU)?;
    let ekus: Vec<_> = leaf
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .filter(|e| e.extn_id == eku_oid)
        .collect();
    let [eku] = ekus.as_slice() else {
        return Err(bad(
            "needs exactly one extended key usage extension (timeStamping)",
        ));
    };
    if !eku.critical {
        return Err(bad("its extended key usage extension must be critical"));
    }
    let usages = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|e| Error::material("TSA certificate extended key usage", e))?;
    if usages.0 != [oid(OID_TIME_STAMPING)?] {
        return Err(bad("its extended key usage must be exactly timeStamping"));
    }
    Ok(())
}

/// A builder profile writing exactly the given names and extensions.
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
    signer: &SigningKey,
) -> Result<Vec<u8>> {
    let builder = CertificateBuilder::new(profile, random_serial()?, validity, spki)
        .map_err(Error::encoding)?;
    let cert = builder
        .build::<_, DerSignature>(signer)
        .map_err(Error::encoding)?;
    cert.to_der().map_err(Error::encoding)
}

fn ext(id: &str, critical: bool, value: &impl Encode) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid(id)?,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(Error::encoding)?)
            .map_err(Error::encoding)?,
    })
}

fn ski(id: &[u8]) -> Result<SubjectKeyIdentifier> {
    Ok(SubjectKeyIdentifier(
        OctetString::new(id).map_err(Error::encoding)?,
    ))
}

fn oid(s: &str) -> Result<ObjectIdentifier> {
    ObjectIdentifier::from_str(s).map_err(Error::encoding)
}

fn generate_key() -> Result<SigningKey> {
    SigningKey::try_generate().map_err(|_| Error::Random)
}

fn spki_of(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned> {
    let der = key
        .verifying_key()
        .to_public_key_der()
        .map_err(Error::encoding)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(Error::encoding)
}

/// RFC 5280 §4.2.1.2 "other method": 20 bytes of SHA-256 over the subjectPublicKey bits.
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

fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).map_err(Error::encoding)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}
