//! The real [`ImageVerifier`]: signatures and attestations read from the image's registry and
//! verified offline by vouch-sign ([`vouch_sign::image`]). Each attestor entry verifies
//! against exactly its own trust material (inline keys, `keyless.roots`, `rekor.pubkey`,
//! `ctlog.pubkey`, [`crate::trust`]); the given [`TrustedRoot`] supplies only what an entry
//! does not carry. Nothing but the registry holding the images is contacted: `rekor.url` and
//! `ctlog` URLs in a policy are never fetched; log entries are checked offline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::Regex;
use vouch_oci::{Reference, Registry, RegistryOptions};
use vouch_sign::image::{
    ImageReport, SignedPayload, verify_image_attestations_in, verify_image_in,
};
use vouch_sign::oci::ImageTarget;
use vouch_sign::oci::Scheme;
use vouch_sign::{
    IdentityPolicy, Match, SignerPolicy, TrustedRoot, Verifier, VerifierOptions, VerifyingKey,
};

use crate::eval::{CheckError, Evidence, ImageVerifier, VerifiedStatement};

/// A Kyverno `keys.kms` / ClusterImagePolicy `key.kms` reference: the references `vouch sign
/// --key` takes for keys it never holds (`pkcs11:` tokens and the KMS schemes vouch
/// implements), read through the same [`vouch_sign::KeyRef`]. A scheme vouch does not
/// implement is refused with `KeyRef`'s "not supported yet" reason; a path or `env://` is no
/// KMS key and refused too.
pub(crate) fn kms_key_ref(kms: &str) -> Result<vouch_sign::KeyRef, String> {
    match kms.parse::<vouch_sign::KeyRef>() {
        Ok(vouch_sign::KeyRef::File(_) | vouch_sign::KeyRef::Env(_)) => Err(format!(
            "{kms:?} is not a KMS or PKCS#11 key reference (pkcs11:token=...;object=...)"
        )),
        Ok(r) => Ok(r),
        Err(e) => Err(e.to_string()),
    }
}
use crate::image::ImageInfo;
use crate::kyverno::{Attestor, AttestorKind, CtLog, Rekor};
use crate::trust::{AttestorMaterial, attestor_root};

/// Verifies against images in their registries.
pub struct SigstoreVerifier {
    trust: TrustedRoot,
    registry: RegistryOptions,
    limits: vouch_sign::Limits,
    /// Results by (digest, check) within this verifier's lifetime: one image used by many
    /// containers or resources is verified once. Off for long-lived verifiers
    /// ([`SigstoreVerifier::without_memo`]), which keep their own bounded cache.
    memo: Option<Memo>,
    /// Open repositories (and their HTTP connection pools and tokens), reused across checks.
    registries: Mutex<HashMap<String, Arc<Registry>>>,
    /// The verifier and signer policy of each attestor entry, built once (parsing its PEM
    /// material and the trusted root's chains is the expensive part of a warm check).
    signers: Mutex<HashMap<Attestor, Arc<(Verifier, SignerPolicy)>>>,
}

/// What one verification is about: the typed cache key (image repository, digest, check and
/// the whole attestor entry, trust material included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckKey {
    /// `registry/path` of the image.
    pub repository: String,
    /// The manifest digest checked.
    pub digest: String,
    /// `None` for a signature, the predicate type for attestations.
    pub predicate_type: Option<String>,
    /// The one storage scheme read (`None`: both): a verdict for one never answers the other.
    pub scheme: Option<Scheme>,
    /// The attestor entry.
    pub attestor: Attestor,
}

/// A verified signature's evidence, or an attestation check's statements.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckOutcome {
    /// A signature verified.
    Signature(Evidence),
    /// The statements that verified (possibly none).
    Statements(Vec<VerifiedStatement>),
}

/// Check results by key.
type Memo = Mutex<HashMap<CheckKey, Result<CheckOutcome, CheckError>>>;

/// Attestor verifiers kept at once; past it the map starts over (a bound, not an LRU).
const MAX_SIGNERS: usize = 1024;

/// Repositories kept open at once; past it the pool starts over (a bound, not an LRU).
const MAX_OPEN_REGISTRIES: usize = 256;

impl std::fmt::Debug for SigstoreVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigstoreVerifier")
            .field("memo", &self.memo.is_some())
            .finish_non_exhaustive()
    }
}

impl SigstoreVerifier {
    /// A verifier trusting `trust` for certificates and logs (keys come from the policies).
    pub fn new(trust: TrustedRoot, registry: RegistryOptions) -> Self {
        Self {
            trust,
            registry,
            limits: vouch_sign::Limits::default(),
            memo: Some(Mutex::new(HashMap::new())),
            registries: Mutex::new(HashMap::new()),
            signers: Mutex::new(HashMap::new()),
        }
    }

    /// The same verifier without the unbounded per-lifetime memo: for a long-lived verifier
    /// (an admission webhook) whose results are cached elsewhere with TTL and size bounds.
    /// Open repositories (connections, tokens) are still reused.
    #[must_use]
    pub fn without_memo(mut self) -> Self {
        self.memo = None;
        self
    }

    fn open(
        &self,
        image: &ImageInfo,
        digest: Option<&str>,
    ) -> Result<(Arc<Registry>, Reference), CheckError> {
        let text = match digest {
            Some(d) => format!("{}@{d}", image.name()),
            None => image.fetch_reference(),
        };
        let reference = Reference::parse(&text)
            .map_err(|e| CheckError::Failed(format!("not a reference: {e}")))?;
        let key = image.name();
        if let Some(r) = self
            .registries
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok((r, reference));
        }
        let registry =
            Arc::new(Registry::open(&reference, &self.registry, false).map_err(oci_error)?);
        if let Ok(mut m) = self.registries.lock() {
            if m.len() >= MAX_OPEN_REGISTRIES {
                m.clear();
            }
            m.insert(key, Arc::clone(&registry));
        }
        Ok((registry, reference))
    }

    fn memo(
        &self,
        key: CheckKey,
        run: impl FnOnce() -> Result<CheckOutcome, CheckError>,
    ) -> Result<CheckOutcome, CheckError> {
        let Some(memo) = &self.memo else {
            return run();
        };
        if let Some(hit) = memo.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let result = run();
        if let Ok(mut m) = memo.lock() {
            m.insert(key, result.clone());
        }
        result
    }

    fn target(
        &self,
        image: &ImageInfo,
        digest: &str,
    ) -> Result<(Arc<Registry>, ImageTarget), CheckError> {
        let (registry, reference) = self.open(image, Some(digest))?;
        let target = ImageTarget::resolve(registry.as_ref(), &reference).map_err(sign_error)?;
        Ok((registry, target))
    }

    /// The vouch-sign verifier and signer policy an attestor entry describes, built once.
    fn signer(&self, attestor: &Attestor) -> Result<Arc<(Verifier, SignerPolicy)>, CheckError> {
        if let Some(hit) = self
            .signers
            .lock()
            .ok()
            .and_then(|m| m.get(attestor).cloned())
        {
            return Ok(hit);
        }
        let built = Arc::new(self.build_signer(attestor)?);
        if let Ok(mut m) = self.signers.lock() {
            if m.len() >= MAX_SIGNERS {
                m.clear();
            }
            m.insert(attestor.clone(), Arc::clone(&built));
        }
        Ok(built)
    }

    fn build_signer(&self, attestor: &Attestor) -> Result<(Verifier, SignerPolicy), CheckError> {
        let unsupported = |what: &str| {
            Err(CheckError::Error(format!(
                "{what} is not supported by vouch (offline verification needs inline trust material)"
            )))
        };
        let options = |rekor: &Option<Rekor>, ctlog: &Option<CtLog>, key: bool| {
            let ignore_tlog = rekor.as_ref().is_some_and(|r| r.ignore_tlog);
            VerifierOptions {
                insecure_ignore_tlog: ignore_tlog && !key,
                insecure_ignore_sct: ctlog.as_ref().is_some_and(|c| c.ignore_sct),
                keys_without_tlog: ignore_tlog && key,
            }
        };
        let trust = |roots: Option<&str>, rekor: &Option<Rekor>, ctlog: &Option<CtLog>| {
            let material = AttestorMaterial {
                roots,
                rekor_pubkey: rekor.as_ref().and_then(|r| r.pubkey.as_deref()),
                rekor_url: rekor.as_ref().and_then(|r| r.url.as_deref()),
                ctlog_pubkey: ctlog.as_ref().and_then(|c| c.pubkey.as_deref()),
            };
            attestor_root(&self.trust, &material).map_err(CheckError::Error)
        };
        match &attestor.kind {
            AttestorKind::Keys(keys) => {
                let key = match (&keys.public_keys, &keys.kms) {
                    (Some(pem), _) => {
                        if pem.contains("{{") || pem.starts_with("k8s://") {
                            return unsupported("a key from a variable or Secret");
                        }
                        VerifyingKey::from_pem(pem.trim())
                            .map_err(|e| CheckError::Error(format!("keys.publicKeys: {e}")))?
                    }
                    // The token's or KMS's public key, read as `vouch verify --key` reads it.
                    (None, Some(kms)) => kms_key_ref(kms)
                        .and_then(|r| {
                            r.load_verifying_key(&vouch_sign::Limits::default())
                                .map_err(|e| e.to_string())
                        })
                        .map_err(|e| CheckError::Error(format!("keys.kms: {e}")))?,
                    (None, None) => return unsupported("keys.secret"),
                };
                let root = trust(None, &keys.rekor, &keys.ctlog)?;
                let v = Verifier::with_options(root, options(&keys.rekor, &keys.ctlog, true));
                Ok((v, SignerPolicy::Key(key)))
            }
            AttestorKind::Keyless(k) => {
                if !k.additional_extensions.is_empty() {
                    return unsupported("keyless.additionalExtensions");
                }
                if k.ctlog.as_ref().is_some_and(|c| c.tsa_cert_chain.is_some()) {
                    return unsupported("ctlog.tsaCertChain");
                }
                let identity = matcher(k.subject.as_deref(), k.subject_regexp.as_deref())?;
                let issuer = matcher(k.issuer.as_deref(), k.issuer_regexp.as_deref())?;
                let root = trust(k.roots.as_deref(), &k.rekor, &k.ctlog)?;
                let v = Verifier::with_options(root, options(&k.rekor, &k.ctlog, false));
                Ok((
                    v,
                    SignerPolicy::Identity(IdentityPolicy {
                        identity,
                        issuer,
                        extensions: Vec::new(),
                    }),
                ))
            }
            AttestorKind::Certificates(_) => unsupported("a certificates attestor"),
            AttestorKind::Nested(_) => unsupported("a nested attestor set here"),
        }
    }
}

/// Kyverno matches `subject`/`issuer` with its wildcard matcher and the `*RegExp` forms with an
/// unanchored RE2 match; an absent pair is not checked.
fn matcher(wildcard: Option<&str>, regexp: Option<&str>) -> Result<Match, CheckError> {
    let bad = |e: vouch_sign::Error| CheckError::Error(format!("bad regular expression: {e}"));
    match (wildcard, regexp) {
        (Some(w), _) => {
            let mut re = String::from("^");
            for c in w.chars() {
                match c {
                    '*' => re.push_str(".*"),
                    '?' => re.push('.'),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            Match::regex(&re).map_err(bad)
        }
        (None, Some(r)) => Match::regex(r).map_err(bad),
        (None, None) => Ok(Match::Regex(
            Regex::new("").map_err(|e| CheckError::Error(e.to_string()))?,
        )),
    }
}

fn oci_error(e: vouch_oci::Error) -> CheckError {
    match e {
        vouch_oci::Error::NotFound { .. } => CheckError::Failed(e.to_string()),
        other => CheckError::Error(other.to_string()),
    }
}

fn sign_error(e: vouch_sign::Error) -> CheckError {
    if e.failed_check().is_some() {
        CheckError::Failed(e.to_string())
    } else {
        CheckError::Error(e.to_string())
    }
}

/// The first verified signature's evidence, or the first candidate's error.
fn first_signature(report: ImageReport) -> Result<Evidence, CheckError> {
    let mut first_err = None;
    for c in report.checked {
        match c.outcome {
            Ok(v) => return Ok(Evidence::from(v.evidence())),
            Err(e) => {
                first_err.get_or_insert(e.to_string());
            }
        }
    }
    Err(CheckError::Failed(
        first_err.unwrap_or_else(|| "no signatures found".into()),
    ))
}

/// The verified statements. None verified: the first candidate's error, except that
/// candidates of another predicate type do not count (Kyverno groups statements by type
/// first).
fn verified_statements(report: ImageReport) -> Result<Vec<VerifiedStatement>, CheckError> {
    let mut out = Vec::new();
    let mut first_err = None;
    for c in report.checked {
        match c.outcome {
            Ok(v) => {
                let evidence = Evidence::from(v.evidence());
                if let SignedPayload::Statement(statement) = v.into_parts().0 {
                    out.push(VerifiedStatement {
                        statement,
                        evidence,
                    });
                }
            }
            Err(vouch_sign::Error::PredicateTypeMismatch { .. }) => {}
            Err(e) => {
                first_err.get_or_insert(e.to_string());
            }
        }
    }
    match (out.is_empty(), first_err) {
        (true, Some(e)) => Err(CheckError::Failed(e)),
        _ => Ok(out),
    }
}

impl ImageVerifier for SigstoreVerifier {
    fn resolve(&self, image: &ImageInfo) -> Result<String, CheckError> {
        let (registry, reference) = self.open(image, None)?;
        let target = ImageTarget::resolve(registry.as_ref(), &reference).map_err(sign_error)?;
        Ok(target.digest.to_string())
    }

    fn verify_signature(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<Scheme>,
        attestor: &Attestor,
    ) -> Result<Evidence, CheckError> {
        let key = CheckKey {
            repository: image.name(),
            digest: digest.to_owned(),
            predicate_type: None,
            scheme,
            attestor: attestor.clone(),
        };
        let verdict = self.memo(key, || {
            let signer = self.signer(attestor)?;
            let (verifier, policy) = signer.as_ref();
            let (registry, target) = self.target(image, digest)?;
            let claims = attestor.annotations.clone().into_iter().collect();
            let report = verify_image_in(
                verifier,
                registry.as_ref(),
                &target,
                scheme,
                policy,
                &claims,
                &self.limits,
            )
            .map_err(sign_error)?;
            first_signature(report).map(CheckOutcome::Signature)
        })?;
        match verdict {
            CheckOutcome::Signature(e) => Ok(e),
            CheckOutcome::Statements(_) => {
                Err(CheckError::Error("cache holds another check".into()))
            }
        }
    }

    fn verify_attestations(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<Scheme>,
        predicate_type: &str,
        attestor: &Attestor,
    ) -> Result<Vec<VerifiedStatement>, CheckError> {
        let key = CheckKey {
            repository: image.name(),
            digest: digest.to_owned(),
            predicate_type: Some(predicate_type.to_owned()),
            scheme,
            attestor: attestor.clone(),
        };
        let verdict = self.memo(key, || {
            let signer = self.signer(attestor)?;
            let (verifier, policy) = signer.as_ref();
            let (registry, target) = self.target(image, digest)?;
            let report = verify_image_attestations_in(
                verifier,
                registry.as_ref(),
                &target,
                scheme,
                Some(predicate_type),
                policy,
                &self.limits,
            )
            .map_err(sign_error)?;
            verified_statements(report).map(CheckOutcome::Statements)
        })?;
        match verdict {
            CheckOutcome::Statements(s) => Ok(s),
            CheckOutcome::Signature(_) => {
                Err(CheckError::Error("cache holds another check".into()))
            }
        }
    }
}
