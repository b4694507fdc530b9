//! Keys on a PKCS#11 token (an HSM, a smart card, SoftHSM2), named by an RFC 7512 URI.
//!
//! `pkcs11:token=T;object=O?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234` as
//! cosign parses it (sigstore/cosign `pkg/cosign/pkcs11key/util.go`): path attributes `token`,
//! `slot-id`, `object`, `id` (one of token/slot-id and one of object/id required), query
//! attributes `module-path` (else `$COSIGN_PKCS11_MODULE_PATH`) and `pin-value`. Values are
//! percent-decoded as RFC 7512 §2.3 says (no `+`-for-space: that is form encoding, not URIs).
//! Attributes that would narrow the match in ways vouch does not check (`serial`, `model`,
//! `manufacturer`, `pin-source`, ...) are refused rather than silently ignored, so a URI never
//! selects a different key than its author meant.
//!
//! Signing hashes on the host and asks the token for `CKM_ECDSA` over the SHA-256 digest, as
//! cosign does for every ECDSA key (crypto11 signs the digest it is handed); the token returns
//! the raw `r || s` (PKCS#11 v2.40 §2.3.1) which is re-encoded as the ASN.1 DER Sigstore uses.
//! Each signature is checked against the token's public key before it leaves this module.

use std::fmt;
use std::path::PathBuf;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::{Digest, Sha256};
use spki::EncodePublicKey;
use zeroize::Zeroizing;

use crate::error::Result;
use crate::keys::{KeyAlgorithm, Signer, VerifyingKey};

/// Environment variables holding the token PIN, in lookup order (after the URI's `pin-value`).
pub const PIN_ENV_VARS: [&str; 2] = ["VOUCH_PKCS11_PIN", "COSIGN_PKCS11_PIN"];
/// cosign's fallback for a URI without `module-path`.
pub const MODULE_PATH_ENV: &str = "COSIGN_PKCS11_MODULE_PATH";

/// DER OIDs for `CKA_EC_PARAMS` (RFC 5480 namedCurve): prime256v1 and secp384r1.
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// What went wrong with a PKCS#11 key; each variant names the token or object it is about.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// The URI does not follow RFC 7512 or lacks what vouch needs.
    #[error("invalid PKCS#11 URI: {reason}")]
    Uri {
        /// What is wrong.
        reason: String,
    },
    /// The module (shared library) could not be loaded or initialised.
    #[error("cannot load PKCS#11 module {path}: {detail}")]
    Module {
        /// `module-path`.
        path: PathBuf,
        /// The loader's or module's error.
        detail: String,
    },
    /// No initialised token matches `token=` / `slot-id=`.
    #[error("PKCS#11 token {token} not found (tokens present: {present:?})")]
    TokenNotFound {
        /// The token label or slot the URI names.
        token: String,
        /// Labels of the tokens the module does have.
        present: Vec<String>,
    },
    /// The token refused the PIN.
    #[error("PKCS#11 login to token {token:?} failed: wrong PIN")]
    WrongPin {
        /// Token label.
        token: String,
    },
    /// No PIN was given anywhere.
    #[error(
        "no PIN for PKCS#11 token {token:?}: give pin-value in the URI, --pin, or $VOUCH_PKCS11_PIN / $COSIGN_PKCS11_PIN"
    )]
    NoPin {
        /// Token label.
        token: String,
    },
    /// No key matches `object=` / `id=` on the token.
    #[error("PKCS#11 {kind} {object} not found on token {token:?}")]
    ObjectNotFound {
        /// `private key` or `public key`.
        kind: &'static str,
        /// Token label.
        token: String,
        /// `object=` / `id=` as given.
        object: String,
    },
    /// More than one private key, or no public key, for `object=` / `id=`.
    #[error("PKCS#11 key {object} on token {token:?}: {reason}")]
    Object {
        /// Token label.
        token: String,
        /// `object=` / `id=` as given.
        object: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {operation} failed: {detail}")]
    Call {
        /// The call, e.g. `C_Sign`.
        operation: &'static str,
        /// The module's return value.
        detail: String,
    },
}

fn uri_err(reason: impl Into<String>) -> Pkcs11Error {
    Pkcs11Error::Uri {
        reason: reason.into(),
    }
}

fn call(operation: &'static str) -> impl FnOnce(CkError) -> Pkcs11Error {
    move |e| Pkcs11Error::Call {
        operation,
        detail: e.to_string(),
    }
}

/// A parsed `pkcs11:` URI.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `module-path`: the PKCS#11 shared library.
    pub module_path: Option<PathBuf>,
    /// `token`: the token label.
    pub token: Option<String>,
    /// `slot-id`.
    pub slot_id: Option<u64>,
    /// `object`: the key's `CKA_LABEL`.
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID`.
    pub id: Option<Vec<u8>>,
    pin: Option<Zeroizing<String>>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("module_path", &self.module_path)
            .field("token", &self.token)
            .field("slot_id", &self.slot_id)
            .field("object", &self.object)
            .field("id", &self.id.as_ref().map(hex::encode))
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl fmt::Display for Pkcs11Uri {
    /// The URI without its PIN, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe_token())?;
        f.write_str(" / ")?;
        f.write_str(&self.describe_object())
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;

    fn from_str(s: &str) -> std::result::Result<Self, Pkcs11Error> {
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or_else(|| uri_err("does not start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Self {
            module_path: None,
            token: None,
            slot_id: None,
            object: None,
            id: None,
            pin: None,
        };
        // RFC 7512 §2.3: path attributes are separated by ';'.
        for (name, value) in attributes(path, &[';'])? {
            match name {
                "token" => set_once(&mut uri.token, name, utf8(name, value)?)?,
                "object" => set_once(&mut uri.object, name, utf8(name, value)?)?,
                "id" => set_once(&mut uri.id, name, value)?,
                "slot-id" => {
                    let text = utf8(name, value)?;
                    let slot = text.parse::<u64>().map_err(|_| {
                        uri_err(format!("slot-id {text:?} is not a decimal number"))
                    })?;
                    set_once(&mut uri.slot_id, name, slot)?;
                }
                // vouch signs with private keys; `type=private` only restates that.
                "type" if value == b"private" => {}
                "type" => return Err(uri_err("type must be private for a signing key")),
                other => {
                    return Err(uri_err(format!(
                        "path attribute {other:?} is not supported (vouch matches token, slot-id, object, id, type)"
                    )));
                }
            }
        }
        // Query attributes are separated by '&'; cosign also accepts ';' there.
        for (name, value) in attributes(query, &['&', ';'])? {
            match name {
                "module-path" => {
                    let path = PathBuf::from(utf8(name, value)?);
                    set_once(&mut uri.module_path, name, path)?;
                }
                "pin-value" => {
                    let pin = Zeroizing::new(utf8(name, value)?);
                    set_once(&mut uri.pin, name, pin)?;
                }
                other => {
                    return Err(uri_err(format!(
                        "query attribute {other:?} is not supported (vouch reads module-path, pin-value)"
                    )));
                }
            }
        }
        if uri.token.is_none() && uri.slot_id.is_none() {
            return Err(uri_err("one of token and slot-id must be set"));
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(uri_err("one of object and id must be set"));
        }
        Ok(uri)
    }
}

/// Splits `name=value` pairs, percent-decoding the values.
fn attributes<'a>(
    text: &'a str,
    separators: &[char],
) -> std::result::Result<Vec<(&'a str, Vec<u8>)>, Pkcs11Error> {
    text.split(separators)
        .filter(|a| !a.is_empty())
        .map(|attr| {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| uri_err(format!("attribute {attr:?} has no '='")))?;
            Ok((name, percent_encoding::percent_decode_str(value).collect()))
        })
        .collect()
}

fn utf8(name: &str, value: Vec<u8>) -> std::result::Result<String, Pkcs11Error> {
    String::from_utf8(value).map_err(|_| uri_err(format!("{name} is not UTF-8")))
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> std::result::Result<(), Pkcs11Error> {
    if slot.replace(value).is_some() {
        return Err(uri_err(format!("attribute {name} appears twice")));
    }
    Ok(())
}

impl Pkcs11Uri {
    /// The PIN: the URI's `pin-value`, else `explicit` (`--pin`), else the first of
    /// [`PIN_ENV_VARS`] that `env` has.
    pub fn resolve_pin(
        &self,
        explicit: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Zeroizing<String>> {
        self.pin
            .clone()
            .or_else(|| explicit.map(|p| Zeroizing::new(p.to_owned())))
            .or_else(|| PIN_ENV_VARS.iter().find_map(|n| env(n)).map(Zeroizing::new))
    }

    fn describe_token(&self) -> String {
        match (&self.token, self.slot_id) {
            (Some(t), Some(s)) => format!("token={t};slot-id={s}"),
            (Some(t), None) => format!("token={t}"),
            (None, Some(s)) => format!("slot-id={s}"),
            (None, None) => String::new(),
        }
    }

    fn describe_object(&self) -> String {
        match (&self.object, &self.id) {
            (Some(o), Some(id)) => format!("object={o};id={}", hex::encode(id)),
            (Some(o), None) => format!("object={o}"),
            (None, Some(id)) => format!("id={}", hex::encode(id)),
            (None, None) => String::new(),
        }
    }
}

/// A logged-in session on the token the URI names.
struct TokenSession {
    // Kept alive for the session; finalised on drop.
    _context: Pkcs11,
    session: Session,
    label: String,
}

impl TokenSession {
    /// Opens a session on the token; logs in when `login` or when a PIN is at hand.
    fn open(
        uri: &Pkcs11Uri,
        pin: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
        login: bool,
    ) -> std::result::Result<Self, Pkcs11Error> {
        let module = uri
            .module_path
            .clone()
            .or_else(|| env(MODULE_PATH_ENV).map(PathBuf::from))
            .ok_or_else(|| {
                uri_err(format!(
                    "module-path or ${MODULE_PATH_ENV} must name the PKCS#11 module"
                ))
            })?;
        let module_err = |e: CkError| Pkcs11Error::Module {
            path: module.clone(),
            detail: e.to_string(),
        };
        let context = Pkcs11::new(&module).map_err(module_err)?;
        context
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(module_err)?;
        let slots = context
            .get_slots_with_initialized_token()
            .map_err(call("C_GetSlotList"))?;
        let mut present = Vec::new();
        let mut found = None;
        for slot in slots {
            let info = context
                .get_token_info(slot)
                .map_err(call("C_GetTokenInfo"))?;
            // Labels are blank-padded to 32 bytes (PKCS#11 §3.2 CK_TOKEN_INFO).
            let label = info.label().trim_end().to_owned();
            let label_ok = uri.token.as_deref().is_none_or(|t| t == label);
            let slot_ok = uri.slot_id.is_none_or(|s| s == slot.id());
            if label_ok && slot_ok && found.is_none() {
                found = Some((slot, label.clone()));
            }
            present.push(label);
        }
        let (slot, label): (Slot, String) = found.ok_or_else(|| Pkcs11Error::TokenNotFound {
            token: uri.describe_token(),
            present,
        })?;
        let session = context
            .open_rw_session(slot)
            .map_err(call("C_OpenSession"))?;
        let pin = match uri.resolve_pin(pin, env) {
            Some(pin) => pin,
            None if !login => {
                return Ok(Self {
                    _context: context,
                    session,
                    label,
                });
            }
            None => {
                return Err(Pkcs11Error::NoPin { token: label });
            }
        };
        let auth = AuthPin::from(pin.as_str().to_owned());
        match session.login(UserType::User, Some(&auth)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                return Err(Pkcs11Error::WrongPin { token: label });
            }
            Err(e) => return Err(call("C_Login")(e)),
        }
        Ok(Self {
            _context: context,
            session,
            label,
        })
    }

    fn find(&self, class: ObjectClass, uri_or_id: &[Attribute]) -> Result<Vec<ObjectHandle>> {
        let mut template = vec![Attribute::Class(class)];
        template.extend_from_slice(uri_or_id);
        Ok(self
            .session
            .find_objects(&template)
            .map_err(call("C_FindObjects"))?)
    }
}

fn selector(uri: &Pkcs11Uri) -> Vec<Attribute> {
    let mut attrs = Vec::new();
    if let Some(label) = &uri.object {
        attrs.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        attrs.push(Attribute::Id(id.clone()));
    }
    attrs
}

/// A private key on a PKCS#11 token, logged in and ready to sign.
pub struct Pkcs11Key {
    token: TokenSession,
    private: ObjectHandle,
    public: VerifyingKey,
    algorithm: KeyAlgorithm,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token.label)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Opens the key `uri` names. `pin` is `--pin`; the URI's `pin-value` wins over it and
    /// [`PIN_ENV_VARS`] (read through `env`) come after it.
    pub fn open(
        uri: &Pkcs11Uri,
        pin: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let token = TokenSession::open(uri, pin, env, true)?;
        let object = uri.describe_object();
        let object_err = |reason: &str| Pkcs11Error::Object {
            token: token.label.clone(),
            object: object.clone(),
            reason: reason.to_owned(),
        };
        let privates = token.find(ObjectClass::PRIVATE_KEY, &selector(uri))?;
        let private = match privates.as_slice() {
            [] => {
                return Err(Pkcs11Error::ObjectNotFound {
                    kind: "private key",
                    token: token.label.clone(),
                    object,
                }
                .into());
            }
            [one] => *one,
            _ => return Err(object_err("more than one private key matches").into()),
        };
        // The public point lives on the public key object (a private key object need not carry
        // CKA_EC_POINT): find it by the private key's CKA_ID, as crypto11's FindKeyPair does.
        let attrs = token
            .session
            .get_attributes(private, &[AttributeType::KeyType, AttributeType::Id])
            .map_err(call("C_GetAttributeValue"))?;
        let mut key_type = None;
        let mut id = None;
        for a in attrs {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Id(i) => id = Some(i),
                _ => {}
            }
        }
        if key_type != Some(KeyType::EC) {
            return Err(object_err("not an EC key (vouch signs with P-256 and P-384 keys)").into());
        }
        let mut public_sel = selector(uri);
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            public_sel.retain(|a| !matches!(a, Attribute::Id(_)));
            public_sel.push(Attribute::Id(id));
        }
        let publics = token.find(ObjectClass::PUBLIC_KEY, &public_sel)?;
        let [public] = publics.as_slice() else {
            return Err(object_err("no single public key object matches the private key").into());
        };
        let (public, algorithm) =
            read_public(&token, *public).map_err(|reason| object_err(&reason))?;
        Ok(Self {
            token,
            private,
            public,
            algorithm,
        })
    }

    /// Creates an EC key pair on the token: the private key sensitive, non-extractable and
    /// signing-only, both objects labelled `object=` (and `id=` if given, else a random id).
    /// Refuses when a key with that label or id already exists.
    pub fn generate(
        uri: &Pkcs11Uri,
        pin: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
        algorithm: KeyAlgorithm,
    ) -> Result<Self> {
        let params = match algorithm {
            KeyAlgorithm::EcdsaP256 => OID_P256,
            KeyAlgorithm::EcdsaP384 => OID_P384,
            KeyAlgorithm::Ed25519 => {
                return Err(crate::Error::UnsupportedAlgorithm {
                    algorithm: "ed25519 on a PKCS#11 token (use ecdsa-p256 or ecdsa-p384)".into(),
                });
            }
            other @ (KeyAlgorithm::EcdsaP521 | KeyAlgorithm::Rsa(_)) => {
                return Err(crate::Error::UnsupportedAlgorithm {
                    algorithm: format!(
                        "generating {other:?} on a PKCS#11 token (use ecdsa-p256 or ecdsa-p384)"
                    ),
                });
            }
        };
        let token = TokenSession::open(uri, pin, env, true)?;
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            for attr in selector(uri) {
                if !token.find(class, &[attr])?.is_empty() {
                    return Err(Pkcs11Error::Object {
                        token: token.label,
                        object: uri.describe_object(),
                        reason: "a key with this label or id already exists".into(),
                    }
                    .into());
                }
            }
        }
        let id = match &uri.id {
            Some(id) => id.clone(),
            None => {
                let mut id = vec![0u8; 16];
                getrandom::fill(&mut id).map_err(|_| crate::Error::Random)?;
                id
            }
        };
        let mut common = vec![Attribute::Token(true), Attribute::Id(id.clone())];
        if let Some(label) = &uri.object {
            common.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        let mut public_template = common.clone();
        public_template.extend([
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
        ]);
        let mut private_template = common;
        private_template.extend([
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ]);
        token
            .session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(call("C_GenerateKeyPair"))?;
        drop(token);
        let by_id = Pkcs11Uri {
            id: Some(id),
            ..uri.clone()
        };
        Self::open(&by_id, pin, env)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        &self.token.label
    }
}

/// The public key `uri` names, read from the token's public key object (for `verify --key
/// pkcs11:...`, as cosign allows). Logs in only if a PIN is at hand: public key objects are
/// normally readable without one.
pub fn public_key(
    uri: &Pkcs11Uri,
    pin: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<VerifyingKey> {
    let token = TokenSession::open(uri, pin, env, false)?;
    let publics = token.find(ObjectClass::PUBLIC_KEY, &selector(uri))?;
    let object = uri.describe_object();
    let public = match publics.as_slice() {
        [] => {
            return Err(Pkcs11Error::ObjectNotFound {
                kind: "public key",
                token: token.label,
                object,
            }
            .into());
        }
        [one] => *one,
        _ => {
            return Err(Pkcs11Error::Object {
                token: token.label,
                object,
                reason: "more than one public key matches".into(),
            }
            .into());
        }
    };
    let (key, _) = read_public(&token, public).map_err(|reason| Pkcs11Error::Object {
        token: token.label.clone(),
        object,
        reason,
    })?;
    Ok(key)
}

/// Reads `CKA_EC_PARAMS` and `CKA_EC_POINT` of a public key object.
fn read_public(
    token: &TokenSession,
    handle: ObjectHandle,
) -> std::result::Result<(VerifyingKey, KeyAlgorithm), String> {
    let attrs = token
        .session
        .get_attributes(handle, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| format!("reading the public key: {e}"))?;
    let (mut params, mut point) = (None, None);
    for a in attrs {
        match a {
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let (Some(params), Some(point)) = (params, point) else {
        return Err("the public key has no CKA_EC_PARAMS / CKA_EC_POINT".into());
    };
    // CKA_EC_POINT is the DER OCTET STRING holding the SEC1 point (PKCS#11 v2.40 §2.3.3).
    let sec1 = <der::asn1::OctetString as der::Decode>::from_der(&point)
        .map_err(|e| format!("CKA_EC_POINT is not a DER OCTET STRING: {e}"))?;
    let sec1 = sec1.as_bytes();
    let (spki, algorithm) = if params == OID_P256 {
        let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1)
            .map_err(|e| format!("bad P-256 point: {e}"))?;
        (k.to_public_key_der(), KeyAlgorithm::EcdsaP256)
    } else if params == OID_P384 {
        let k = p384::ecdsa::VerifyingKey::from_sec1_bytes(sec1)
            .map_err(|e| format!("bad P-384 point: {e}"))?;
        (k.to_public_key_der(), KeyAlgorithm::EcdsaP384)
    } else {
        return Err(format!(
            "curve {} is not supported (P-256, P-384)",
            hex::encode(&params)
        ));
    };
    let spki = spki.map_err(|e| format!("encoding the public key: {e}"))?;
    let key = VerifyingKey::from_spki_der(spki.as_bytes()).map_err(|e| e.to_string())?;
    Ok((key, algorithm))
}

impl Signer for Pkcs11Key {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.sign_as(self.scheme(), message)
    }

    /// P-384 keys sign over SHA-256 (the default, as cosign before v3) or SHA-384 (what a
    /// log recording digests needs, [`crate::SignatureScheme::for_logged_digest`]): the digest
    /// is computed here and signed with `CKM_ECDSA`, which signs whatever digest it is given
    /// (PKCS#11 v2.40 §2.3.6), as sigstore/sigstore's PKCS#11 signer does.
    fn sign_as(&self, scheme: crate::SignatureScheme, message: &[u8]) -> Result<Vec<u8>> {
        use crate::SignatureScheme as S;
        let digest = match (self.algorithm, scheme) {
            (KeyAlgorithm::EcdsaP256, S::EcdsaP256Sha256)
            | (KeyAlgorithm::EcdsaP384, S::EcdsaP384Sha256) => Sha256::digest(message).to_vec(),
            (KeyAlgorithm::EcdsaP384, S::EcdsaP384Sha384) => sha2::Sha384::digest(message).to_vec(),
            _ => {
                return Err(crate::Error::UnsupportedAlgorithm {
                    algorithm: format!(
                        "{} signatures from a PKCS#11 {} key",
                        scheme.key_details().unwrap_or("RSA"),
                        self.public.algorithm_name()
                    ),
                });
            }
        };
        let raw = self
            .token
            .session
            .sign(&Mechanism::Ecdsa, self.private, &digest)
            .map_err(call("C_Sign"))?;
        let bad = |e: p256::ecdsa::Error| Pkcs11Error::Call {
            operation: "C_Sign",
            detail: format!("the token returned a malformed ECDSA signature: {e}"),
        };
        let der = match self.algorithm {
            KeyAlgorithm::EcdsaP256 => p256::ecdsa::Signature::from_slice(&raw)
                .map_err(bad)?
                .to_der()
                .as_bytes()
                .to_vec(),
            KeyAlgorithm::EcdsaP384 => p384::ecdsa::Signature::from_slice(&raw)
                .map_err(bad)?
                .to_der()
                .as_bytes()
                .to_vec(),
            KeyAlgorithm::Ed25519 | KeyAlgorithm::EcdsaP521 | KeyAlgorithm::Rsa(_) => {
                unreachable_ed25519()?
            }
        };
        // Fail closed: a token answering with another key's signature, or over another
        // digest, never reaches a bundle.
        let hash = scheme.hash().unwrap_or(crate::HashAlgorithm::Sha2_256);
        self.public
            .verify_prehashed("PKCS#11 signature", hash, &digest, &der)?;
        Ok(der)
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }
}

fn unreachable_ed25519() -> Result<Vec<u8>> {
    // `open` only yields EC keys.
    Err(crate::Error::UnsupportedAlgorithm {
        algorithm: "ed25519 on a PKCS#11 token".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cosign_uri() {
        let uri: Pkcs11Uri =
            "pkcs11:token=My%20Token;object=key;id=%01%02?module-path=/usr/lib/x.so&pin-value=12%2B4"
                .parse()
                .expect("parse");
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.object.as_deref(), Some("key"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(uri.module_path, Some(PathBuf::from("/usr/lib/x.so")));
        let pin = uri.resolve_pin(Some("other"), &|_| None).expect("pin");
        assert_eq!(pin.as_str(), "12+4");
        assert!(!format!("{uri:?}").contains("12+4"));
    }

    #[test]
    fn pin_order_uri_flag_env() {
        let uri: Pkcs11Uri = "pkcs11:slot-id=3;object=k".parse().expect("parse");
        assert_eq!(uri.slot_id, Some(3));
        let env = |n: &str| (n == "COSIGN_PKCS11_PIN").then(|| "env".to_owned());
        assert_eq!(
            uri.resolve_pin(Some("flag"), &env).expect("pin").as_str(),
            "flag"
        );
        assert_eq!(uri.resolve_pin(None, &env).expect("pin").as_str(), "env");
        assert!(uri.resolve_pin(None, &|_| None).is_none());
    }

    #[test]
    fn refuses_incomplete_or_unknown() {
        for bad in [
            "pkcs11:object=k",
            "pkcs11:token=t",
            "pkcs11:token=t;object=k;serial=1",
            "pkcs11:token=t;object=k?pin-source=file:/x",
            "pkcs11:token=t;token=u;object=k",
            "pkcs11:token=t;object=k;type=public",
            "pkcs11:slot-id=x;object=k",
            "pkcs11:token;object=k",
        ] {
            let err = bad.parse::<Pkcs11Uri>().expect_err(bad);
            assert!(
                err.to_string().starts_with("invalid PKCS#11 URI: "),
                "{bad}: {err}"
            );
        }
    }
}
