//! Verifying image signatures and attestations found by [`crate::oci::discover`].
//!
//! Every candidate goes through the same [`Verifier`] as blob bundles: a legacy layer is turned
//! into the bundle it amounts to (message signature over the layer blob, or its DSSE envelope;
//! verification material from the certificate annotation or the caller's key; the Rekor bundle
//! annotation as a v0.1 log entry with its signed entry timestamp), so key, certificate,
//! identity and log checks are not duplicated. On top of the signature, image verification
//! checks what cosign's verifier checks (`sigstore/cosign:pkg/cosign/verify.go`):
//! simple-signing `critical.type` and `critical.image.docker-manifest-digest` == the image
//! digest, required annotations among the signed claims, and for bundles the statement subject
//! digest and predicate type.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use vouch_oci::ImageSource;

use crate::bundle::{
    Bundle, BundleVersion, Content, MessageSignature, TlogEntry, VerificationMaterial,
};
use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::intoto::{PREDICATE_COSIGN_SIGN, Statement};
use crate::limits::Limits;
use crate::oci::{
    ANNOTATION_CERTIFICATE, ANNOTATION_REKOR_BUNDLE, ANNOTATION_SIGNATURE, Candidate, ImageTarget,
    Kind, SIMPLE_SIGNING_TYPE, Scheme, discover_in,
};
use crate::verify::{Artifact, SignerPolicy, Verified, Verifier};

/// The signed payload of a verified image signature or attestation.
#[derive(Debug, Clone, PartialEq)]
pub enum SignedPayload {
    /// A legacy simple-signing document.
    SimpleSigning(Value),
    /// An in-toto statement (bundle signatures and all attestations).
    Statement(Statement),
}

/// The verdict on one candidate.
#[derive(Debug)]
pub struct Checked {
    /// Where it was found.
    pub location: String,
    /// Its storage scheme.
    pub scheme: Scheme,
    /// The verified payload with evidence, or the error naming the failed check.
    pub outcome: Result<Verified<SignedPayload>>,
}

/// What image verification found: every candidate's verdict. The image is verified when at
/// least one candidate verified ([`ImageReport::verified`]).
#[derive(Debug)]
pub struct ImageReport {
    /// The image, by digest.
    pub target: ImageTarget,
    /// The legacy tag that was read.
    pub legacy_tag: String,
    /// One verdict per candidate found.
    pub checked: Vec<Checked>,
}

impl ImageReport {
    /// Whether at least one candidate verified.
    pub fn is_verified(&self) -> bool {
        self.verified().next().is_some()
    }

    /// The verified candidates.
    pub fn verified(&self) -> impl Iterator<Item = (&Checked, &Verified<SignedPayload>)> {
        self.checked
            .iter()
            .filter_map(|c| c.outcome.as_ref().ok().map(|v| (c, v)))
    }
}

/// `vouch verify`: every signature of `target` in `source`, verified against `policy`;
/// `claims` must appear among each accepted signature's signed annotations.
pub fn verify_image(
    verifier: &Verifier,
    source: &dyn ImageSource,
    target: &ImageTarget,
    policy: &SignerPolicy,
    claims: &BTreeMap<String, String>,
    limits: &Limits,
) -> Result<ImageReport> {
    verify_image_in(verifier, source, target, None, policy, claims, limits)
}

/// [`verify_image`] reading only the storage scheme `only` when set
/// ([`crate::oci::discover_in`]): a signature stored the other way is not a candidate.
pub fn verify_image_in(
    verifier: &Verifier,
    source: &dyn ImageSource,
    target: &ImageTarget,
    only: Option<Scheme>,
    policy: &SignerPolicy,
    claims: &BTreeMap<String, String>,
    limits: &Limits,
) -> Result<ImageReport> {
    let digest = target.sha256()?;
    check_each(
        source,
        target,
        Kind::Signatures,
        only,
        limits,
        |c| match c {
            Candidate::Legacy {
                payload,
                annotations,
                ..
            } => legacy_signature(verifier, payload, annotations, target, policy, claims),
            Candidate::Referrer { bundle, .. } => referrer_statement(
                verifier,
                bundle,
                digest,
                Some(PREDICATE_COSIGN_SIGN),
                policy,
                limits,
            )
            .and_then(|v| check_subject_claims(v, digest, claims)),
            // Never called: `check_each` answers unreadable candidates with their own reason.
            Candidate::Unreadable { .. } => Err(Error::MissingField {
                what: "signature candidate",
                field: "readable content",
            }),
        },
    )
}

/// Finds `target`'s signatures or attestations (both storage schemes) and verifies each with
/// `check`; every candidate gets an outcome, so one bad entry never hides a good one: a layer
/// or referrer that cannot be read is rejected with its reason, like one that does not verify.
fn check_each(
    source: &dyn ImageSource,
    target: &ImageTarget,
    kind: Kind,
    only: Option<Scheme>,
    limits: &Limits,
    check: impl Fn(&Candidate) -> Result<Verified<SignedPayload>>,
) -> Result<ImageReport> {
    let (candidates, legacy_tag) = discover_in(source, &target.digest, kind, only, limits)?;
    let checked = candidates
        .into_iter()
        .map(|c| Checked {
            location: c.location(),
            scheme: c.scheme(),
            outcome: match c {
                Candidate::Unreadable { reason, .. } => Err(reason),
                c => check(&c),
            },
        })
        .collect();
    Ok(ImageReport {
        target: target.clone(),
        legacy_tag,
        checked,
    })
}

/// `vouch verify-attestation`: every attestation of `target`, verified against `policy`, whose
/// statement has `predicate_type` (when given) and names the image digest as a subject.
pub fn verify_image_attestations(
    verifier: &Verifier,
    source: &dyn ImageSource,
    target: &ImageTarget,
    predicate_type: Option<&str>,
    policy: &SignerPolicy,
    limits: &Limits,
) -> Result<ImageReport> {
    verify_image_attestations_in(
        verifier,
        source,
        target,
        None,
        predicate_type,
        policy,
        limits,
    )
}

/// [`verify_image_attestations`] reading only the storage scheme `only` when set
/// ([`crate::oci::discover_in`]): an attestation stored the other way is not a candidate.
pub fn verify_image_attestations_in(
    verifier: &Verifier,
    source: &dyn ImageSource,
    target: &ImageTarget,
    only: Option<Scheme>,
    predicate_type: Option<&str>,
    policy: &SignerPolicy,
    limits: &Limits,
) -> Result<ImageReport> {
    let digest = target.sha256()?;
    check_each(
        source,
        target,
        Kind::Attestations,
        only,
        limits,
        |c| match c {
            Candidate::Legacy {
                payload,
                annotations,
                ..
            } => Envelope::from_json(payload)
                .and_then(|env| legacy_bundle(annotations, Content::DsseEnvelope(env)))
                .and_then(|b| verifier.verify_attestation(&b, Some(digest), predicate_type, policy))
                .map(|v| {
                    let (statement, evidence) = v.into_parts();
                    Verified::new(SignedPayload::Statement(statement), evidence)
                }),
            Candidate::Referrer { bundle, .. } => {
                referrer_statement(verifier, bundle, digest, predicate_type, policy, limits)
            }
            // Never called: `check_each` answers unreadable candidates with their own reason.
            Candidate::Unreadable { .. } => Err(Error::MissingField {
                what: "attestation candidate",
                field: "readable content",
            }),
        },
    )
}

fn referrer_statement(
    verifier: &Verifier,
    bundle_json: &[u8],
    digest: [u8; 32],
    predicate_type: Option<&str>,
    policy: &SignerPolicy,
    limits: &Limits,
) -> Result<Verified<SignedPayload>> {
    let bundle = Bundle::from_json(bundle_json, limits)?;
    let (statement, evidence) = verifier
        .verify_attestation(&bundle, Some(digest), predicate_type, policy)?
        .into_parts();
    Ok(Verified::new(SignedPayload::Statement(statement), evidence))
}

/// cosign 3 puts `-a key=value` claims in the matching subject's `annotations`.
fn check_subject_claims(
    verified: Verified<SignedPayload>,
    digest: [u8; 32],
    claims: &BTreeMap<String, String>,
) -> Result<Verified<SignedPayload>> {
    if claims.is_empty() {
        return Ok(verified);
    }
    let (payload, mut evidence) = verified.into_parts();
    let SignedPayload::Statement(statement) = &payload else {
        return Err(Error::MaterialMismatch {
            reason: "expected an in-toto statement",
        });
    };
    let hex_digest = hex::encode(digest);
    let subject_annotations = statement
        .subject
        .iter()
        .find(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(&hex_digest))
        })
        .and_then(|s| s.annotations.as_ref());
    for (key, want) in claims {
        let found = subject_annotations
            .and_then(|a| a.get(key))
            .and_then(Value::as_str);
        if found != Some(want.as_str()) {
            return Err(Error::ClaimMismatch {
                claim: format!("subject.annotations.{key}"),
                expected: want.clone(),
                found: found.map(str::to_owned),
            });
        }
    }
    evidence.checks.push("signed annotations");
    Ok(Verified::new(payload, evidence))
}

fn legacy_signature(
    verifier: &Verifier,
    payload: &[u8],
    annotations: &BTreeMap<String, String>,
    target: &ImageTarget,
    policy: &SignerPolicy,
    claims: &BTreeMap<String, String>,
) -> Result<Verified<SignedPayload>> {
    let encoded = annotations
        .get(ANNOTATION_SIGNATURE)
        .ok_or(Error::MissingField {
            what: "signature layer",
            field: "dev.cosignproject.cosign/signature annotation",
        })?;
    let signature = B64
        .decode(encoded)
        .map_err(|e| Error::malformed("signature annotation", e))?;
    // No message digest: a legacy layer claims none (the payload is at hand), and its Rekor
    // bundle's hashedrekord names the hash it was logged with (SHA-256 from cosign 2;
    // Ed25519ph and P-521 signatures are logged over SHA-512, see
    // `crate::sign::LoggedContent::LegacyImageSignature`), checked against the payload.
    let content = Content::MessageSignature(MessageSignature {
        digest: None,
        signature,
    });
    let bundle = legacy_bundle(annotations, content)?;
    let (_, mut evidence) = verifier
        .verify_blob(Artifact::Bytes(payload), &bundle, policy)?
        .into_parts();
    let value = check_simple_signing(payload, target, claims, &mut evidence.checks)?;
    Ok(Verified::new(SignedPayload::SimpleSigning(value), evidence))
}

/// cosign's claim checks on a simple-signing payload (`sigstore/cosign:pkg/cosign/verify.go`
/// `VerifyImageSignature` → `payload.Cosign.UnmarshalJSON`, `checkClaims`).
fn check_simple_signing(
    payload: &[u8],
    target: &ImageTarget,
    claims: &BTreeMap<String, String>,
    checks: &mut Vec<&'static str>,
) -> Result<Value> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| Error::malformed("simple-signing payload", e))?;
    let critical = &value["critical"];
    let kind = critical["type"].as_str();
    if kind != Some(SIMPLE_SIGNING_TYPE) {
        return Err(Error::ClaimMismatch {
            claim: "critical.type".into(),
            expected: SIMPLE_SIGNING_TYPE.into(),
            found: kind.map(str::to_owned),
        });
    }
    let signed_digest = critical["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap_or_default();
    if signed_digest != target.digest.to_string() {
        return Err(Error::DigestMismatch {
            check: "payload digest == image digest",
            expected: target.digest.to_string(),
            found: signed_digest.to_owned(),
        });
    }
    checks.push("payload digest == image digest");
    for (key, want) in claims {
        let found = value["optional"][key].as_str();
        if found != Some(want.as_str()) {
            return Err(Error::ClaimMismatch {
                claim: format!("optional.{key}"),
                expected: want.clone(),
                found: found.map(str::to_owned),
            });
        }
    }
    if !claims.is_empty() {
        checks.push("signed annotations");
    }
    Ok(value)
}

/// The bundle a legacy layer amounts to: v0.1 (log entries carry only a promise), the
/// certificate annotation or (without one) a public key to be given by the caller, and the
/// Rekor bundle annotation as the log entry.
fn legacy_bundle(annotations: &BTreeMap<String, String>, content: Content) -> Result<Bundle> {
    let material = match annotations
        .get(ANNOTATION_CERTIFICATE)
        .filter(|c| !c.is_empty())
    {
        Some(pem) => {
            let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
                .map_err(|e| Error::malformed("certificate annotation", e))?;
            if label != "CERTIFICATE" {
                return Err(Error::UnexpectedPemLabel {
                    expected: &["CERTIFICATE"],
                    found: label.to_owned(),
                });
            }
            VerificationMaterial::Certificate(der)
        }
        None => VerificationMaterial::PublicKey {
            hint: String::new(),
        },
    };
    let tlog_entries = match annotations
        .get(ANNOTATION_REKOR_BUNDLE)
        .filter(|b| !b.is_empty())
    {
        Some(json) => vec![rekor_bundle_entry(json)?],
        None => Vec::new(),
    };
    Ok(Bundle {
        media_type: "application/vnd.dev.sigstore.bundle+json;version=0.1".into(),
        version: BundleVersion::V0_1,
        material,
        tlog_entries,
        rfc3161_timestamps: Vec::new(),
        content,
    })
}

/// `{"SignedEntryTimestamp":…,"Payload":{"body","integratedTime","logIndex","logID"}}`
/// (`sigstore/cosign:pkg/cosign/bundle/rekor.go`) as a bundle log entry.
fn rekor_bundle_entry(json: &str) -> Result<TlogEntry> {
    let bad = |detail: &str| Error::malformed("Rekor bundle annotation", detail);
    let v: Value =
        serde_json::from_str(json).map_err(|e| Error::malformed("Rekor bundle annotation", e))?;
    let p = &v["Payload"];
    let set = B64
        .decode(
            v["SignedEntryTimestamp"]
                .as_str()
                .ok_or_else(|| bad("no SignedEntryTimestamp"))?,
        )
        .map_err(|e| Error::malformed("SignedEntryTimestamp", e))?;
    let body = B64
        .decode(p["body"].as_str().ok_or_else(|| bad("no Payload.body"))?)
        .map_err(|e| Error::malformed("Payload.body", e))?;
    let log_id = hex::decode(p["logID"].as_str().ok_or_else(|| bad("no Payload.logID"))?)
        .map_err(|e| Error::malformed("Payload.logID", e))?;
    let parsed: Value =
        serde_json::from_slice(&body).map_err(|e| Error::malformed("Rekor entry body", e))?;
    Ok(TlogEntry {
        log_index: p["logIndex"]
            .as_u64()
            .ok_or_else(|| bad("no Payload.logIndex"))?,
        log_id,
        kind: parsed["kind"].as_str().unwrap_or_default().to_owned(),
        kind_version: parsed["apiVersion"].as_str().unwrap_or_default().to_owned(),
        integrated_time: p["integratedTime"]
            .as_u64()
            .ok_or_else(|| bad("no Payload.integratedTime"))?,
        signed_entry_timestamp: Some(set),
        inclusion_proof: None,
        canonicalized_body: body,
    })
}
