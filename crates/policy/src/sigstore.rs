//! The real [`ImageVerifier`]: signatures and attestations read from the image's registry and
//! verified offline by vouch-sign ([`vouch_sign::image`]), trusting only inline PEM keys and
//! the given [`TrustedRoot`]. Nothing but the registry holding the images is contacted:
//! `rekor.url` and `ctlog` URLs in a policy are never fetched; log entries are checked offline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::Regex;
use serde_json::Value;
use vouch_oci::{Reference, Registry, RegistryOptions};
use vouch_sign::image::{ImageReport, SignedPayload, verify_image, verify_image_attestations};
use vouch_sign::oci::ImageTarget;
use vouch_sign::{
    IdentityPolicy, Match, SignerPolicy, TrustedRoot, Verifier, VerifierOptions, VerifyingKey,
};

use crate::eval::{CheckError, ImageVerifier};
use crate::image::ImageInfo;
use crate::kyverno::{Attestor, CtLog, Rekor};

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
}

/// Check results by key.
type Memo = Mutex<HashMap<String, Result<Vec<Value>, CheckError>>>;

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
        key: String,
        run: impl FnOnce() -> Result<Vec<Value>, CheckError>,
    ) -> Result<Vec<Value>, CheckError> {
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

    /// The vouch-sign verifier and signer policy an attestor entry describes.
    fn signer(&self, attestor: &Attestor) -> Result<(Verifier, SignerPolicy), CheckError> {
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
        if let Some(keys) = &attestor.keys {
            let Some(pem) = &keys.public_keys else {
                return unsupported("keys.kms / keys.secret");
            };
            if pem.contains("{{") || pem.starts_with("k8s://") {
                return unsupported("a key from a variable or Secret");
            }
            let key = VerifyingKey::from_pem(pem.trim())
                .map_err(|e| CheckError::Error(format!("keys.publicKeys: {e}")))?;
            let v =
                Verifier::with_options(self.trust.clone(), options(&keys.rekor, &keys.ctlog, true));
            return Ok((v, SignerPolicy::Key(key)));
        }
        if let Some(k) = &attestor.keyless {
            if !k.additional_extensions.is_empty() {
                return unsupported("keyless.additionalExtensions");
            }
            let identity = matcher(k.subject.as_deref(), k.subject_regexp.as_deref())?;
            let issuer = matcher(k.issuer.as_deref(), k.issuer_regexp.as_deref())?;
            let v = Verifier::with_options(self.trust.clone(), options(&k.rekor, &k.ctlog, false));
            return Ok((
                v,
                SignerPolicy::Identity(IdentityPolicy {
                    identity,
                    issuer,
                    extensions: Vec::new(),
                }),
            ));
        }
        unsupported("a certificates attestor")
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

/// The verified payloads. None verified: the first candidate's error, except that candidates
/// of another predicate type do not count (Kyverno groups statements by type first).
fn verified_payloads(report: ImageReport) -> Result<Vec<Value>, CheckError> {
    let mut out = Vec::new();
    let mut first_err = None;
    for c in report.checked {
        match c.outcome {
            Ok(v) => out.push(match v.into_parts().0 {
                SignedPayload::SimpleSigning(v) => v,
                SignedPayload::Statement(s) => serde_json::to_value(&s).unwrap_or(Value::Null),
            }),
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
        attestor: &Attestor,
    ) -> Result<(), CheckError> {
        let key = format!("sig;{};{digest};{attestor:?}", image.name());
        self.memo(key, || {
            let (verifier, policy) = self.signer(attestor)?;
            let (registry, target) = self.target(image, digest)?;
            let claims = attestor.annotations.clone().into_iter().collect();
            let report = verify_image(
                &verifier,
                registry.as_ref(),
                &target,
                &policy,
                &claims,
                &self.limits,
            )
            .map_err(sign_error)?;
            match verified_payloads(report)? {
                v if v.is_empty() => Err(CheckError::Failed("no signatures found".into())),
                v => Ok(v),
            }
        })
        .map(|_| ())
    }

    fn verify_attestations(
        &self,
        image: &ImageInfo,
        digest: &str,
        predicate_type: &str,
        attestor: &Attestor,
    ) -> Result<Vec<Value>, CheckError> {
        let key = format!(
            "att;{};{digest};{predicate_type};{attestor:?}",
            image.name()
        );
        self.memo(key, || {
            let (verifier, policy) = self.signer(attestor)?;
            let (registry, target) = self.target(image, digest)?;
            let report = verify_image_attestations(
                &verifier,
                registry.as_ref(),
                &target,
                Some(predicate_type),
                &policy,
                &self.limits,
            )
            .map_err(sign_error)?;
            verified_payloads(report)
        })
    }
}
