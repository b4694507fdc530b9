//! Evaluating `verifyImages` rules against resources, as `kyverno apply` does.
//!
//! Per image (`K:pkg/engine/internal/imageverifier.go`, notes §2.1): `imageReferences` must
//! match and `skipImageReferences` must not; the tag is resolved to a digest **first**, so
//! every check and the `mutateDigest` patch use the same digest (no tag-move TOCTOU); then
//! every attestor set must reach its count, then every attestation's attestor sets, with the
//! conditions holding for every statement of the type. Registry and I/O problems are
//! [`Status::Error`]; everything else that does not verify is [`Status::Fail`].
//!
//! The signature checks go through the [`ImageVerifier`] trait; [`crate::SigstoreVerifier`]
//! is the real one (vouch-sign against a registry).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cip::ClusterImagePolicy;
use crate::conditions::{
    check as check_conditions, evaluate as evaluate_conditions, join_non_empty, statement_context,
    substitute,
};
use crate::error::Result;
use crate::image::{ImageInfo, wildcard_match};
use crate::kyverno::{
    AnyAllConditions, Attestor, AttestorKind, AttestorSet, FailureAction, ImageVerification,
    Policy, PolicyScope, Rule,
};
use crate::resource::{Resource, TEMPLATE_KINDS};
use crate::{Limits, Scheme};
use vouch_sign::VerifiedSigner;
use vouch_sign::intoto::Statement;

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// Evidence was examined and a check failed (RuleFail).
    Failed(String),
    /// The check could not run: registry unreachable, unsupported configuration (RuleError).
    Error(String),
}

impl CheckError {
    fn message(&self) -> &str {
        match self {
            Self::Failed(m) | Self::Error(m) => m,
        }
    }
}

/// Who verification established as the signer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Signer {
    /// A public key of the policy.
    Key {
        /// Hex SHA-256 of its SubjectPublicKeyInfo.
        key_id: String,
    },
    /// A certificate chaining to a trusted CA.
    Certificate {
        /// Its subject alternative names.
        subject_alternative_names: Vec<String>,
        /// The OIDC issuer (Fulcio extension).
        issuer: Option<String>,
    },
}

/// What a verified signature established: the signer, the transparency log entry and the
/// checks that passed (the part of vouch-sign's evidence a policy decision names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The signer.
    pub signer: Signer,
    /// Index of the transparency log entry checked, if any.
    pub log_index: Option<u64>,
    /// vouch-sign's passed checks, in order.
    pub checks: Vec<&'static str>,
}

impl From<&vouch_sign::Evidence> for Evidence {
    fn from(e: &vouch_sign::Evidence) -> Self {
        Self {
            signer: match &e.signer {
                VerifiedSigner::Key { key_id } => Signer::Key {
                    key_id: key_id.clone(),
                },
                VerifiedSigner::Certificate(id) => Signer::Certificate {
                    subject_alternative_names: id.subject_alternative_names.clone(),
                    issuer: id.issuer.clone(),
                },
            },
            log_index: e.tlog.as_ref().map(|t| t.log_index),
            checks: e.checks.clone(),
        }
    }
}

/// A statement whose signature verified, with who signed it and which checks passed.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedStatement {
    /// The in-toto statement, as signed.
    pub statement: Statement,
    /// The signer and the checks (vouch-sign's evidence).
    pub evidence: Evidence,
}

/// The signature checks evaluation needs. Implementations must not trust anything they read
/// before verifying it.
pub trait ImageVerifier {
    /// The manifest digest `image`'s tag points at now.
    fn resolve(&self, image: &ImageInfo) -> Result<String, CheckError>;
    /// The evidence of a signature of `image@digest` that verifies against `attestor`, read
    /// from storage scheme `scheme` only (`None`: both).
    fn verify_signature(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<Scheme>,
        attestor: &Attestor,
    ) -> Result<Evidence, CheckError>;
    /// The in-toto statements of `predicate_type` about `image@digest` whose signatures
    /// verify against `attestor`, read from storage scheme `scheme` only (`None`: both).
    /// Empty when none do.
    fn verify_attestations(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<Scheme>,
        predicate_type: &str,
        attestor: &Attestor,
    ) -> Result<Vec<VerifiedStatement>, CheckError>;
}

/// What decided a passing check: the attestor entry's path in the rule
/// (`.attestors[0].entries[1].keyless`), the signer it established and the checks that
/// passed, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The image as written.
    pub image: String,
    /// The attestor entry, as a path in the rule.
    pub attestor: String,
    /// `signature` or `attestation <predicate type>`.
    pub check: String,
    /// Who signed: `key <sha256 of the SPKI>` or `<subject> from <issuer>`.
    pub signer: String,
    /// vouch-sign's passed checks (`signed entry timestamp`, `certificate chain`, ...).
    pub checks: Vec<&'static str>,
}

impl Decision {
    fn new(image: &str, attestor: String, check: String, evidence: &Evidence) -> Self {
        let signer = match &evidence.signer {
            Signer::Key { key_id } => format!("key {key_id}"),
            Signer::Certificate {
                subject_alternative_names,
                issuer,
            } => format!(
                "{} from {}",
                subject_alternative_names.join(", "),
                issuer.as_deref().unwrap_or("?")
            ),
        };
        Self {
            image: image.to_owned(),
            attestor,
            check,
            signer,
            checks: evidence.checks.clone(),
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} verified by {} (signer {}; checks: {})",
            self.image,
            self.check,
            self.attestor,
            self.signer,
            self.checks.join(", ")
        )
    }
}

/// A rule's verdict on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Verified.
    Pass,
    /// Did not verify; Enforce blocks.
    Fail,
    /// Did not verify under Audit with `audit_warn`.
    Warn,
    /// Could not check.
    Error,
    /// Nothing to check.
    Skip,
}

impl Status {
    /// `pass`, `fail`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Skip => "skip",
        }
    }
}

/// One rule applied to one resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    /// Policy name.
    pub policy: String,
    /// Rule name (`autogen-<rule>` for controllers).
    pub rule: String,
    /// Verdict.
    pub status: Status,
    /// Kyverno-style message.
    pub message: String,
    /// Whether a failure blocks admission.
    pub enforce: bool,
    /// For a pass: which attestor entries and checks decided it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Decision>,
}

/// An RFC 6902 `replace` operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patch {
    /// Always `replace`.
    pub op: &'static str,
    /// JSON pointer of the image.
    pub path: String,
    /// `tag@digest`.
    pub value: String,
}

/// Everything applying the policies to one resource produced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceReport {
    /// `apiVersion`, when the resource has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `Kind`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// One per applicable rule.
    pub results: Vec<RuleResult>,
    /// Digest pins for verified tag references.
    pub patches: Vec<Patch>,
    /// The object with the patches applied.
    #[serde(skip)]
    pub patched: Value,
}

impl ResourceReport {
    /// Whether an Enforce rule failed or errored (the request would be denied).
    pub fn blocked(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.enforce && matches!(r.status, Status::Fail | Status::Error))
    }
}

/// Evaluation switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Report Audit failures as warn (`kyverno apply --audit-warn`).
    pub audit_warn: bool,
    /// What happens to an image no `ClusterImagePolicy` matches, when any is loaded.
    pub no_match: NoMatch,
    /// Which of Kyverno's two admission phases is evaluated.
    pub phase: Phase,
}

/// Kyverno's two admission phases for `verifyImages` (notes §2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// The mutating webhook (`VerifyAndPatchImages`), and `kyverno apply`: every matched
    /// image is verified and, with `mutateDigest`, its tag pinned to the verified digest.
    #[default]
    Mutate,
    /// The validating webhook (`validateImage`), which sees the object after every mutation.
    /// Only rules with `verifyDigest` or `required` take part (`HasVerifyImageChecks`); per
    /// matched image, `verifyDigest` fails a reference without a digest ("missing digest for
    /// <image>") and `required` fails an image that does not verify. Kyverno answers
    /// `required` from the `kyverno.io/verify-images-scoped` annotation its mutating webhook
    /// wrote; vouch writes no annotation and verifies instead (from the digest-keyed cache in
    /// the webhook), which a requester cannot forge by setting the annotation itself.
    Validate,
}

/// policy-controller's `no-match-policy` (ConfigMap `config-policy-controller`): an unset
/// value fails closed with "no matching policies" (`setNoMatchingPoliciesError`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NoMatch {
    /// Admit.
    Allow,
    /// Deny (policy-controller's default).
    #[default]
    Deny,
    /// Admit with a warning.
    Warn,
}

/// Every policy loaded: Kyverno policies and policy-controller `ClusterImagePolicy`s.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Kyverno `ClusterPolicy` / `Policy`.
    pub kyverno: Vec<Policy>,
    /// policy-controller `ClusterImagePolicy`.
    pub image_policies: Vec<ClusterImagePolicy>,
}

impl PolicySet {
    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.kyverno.is_empty() && self.image_policies.is_empty()
    }

    /// Whether a check that could not complete (timeout, registry down) must deny: some
    /// Kyverno rule is Enforce with `failurePolicy: Fail`, or some `ClusterImagePolicy`
    /// enforces (policy-controller's webhooks are `failurePolicy: Fail`).
    pub fn fails_closed(&self) -> bool {
        self.image_policies.iter().any(ClusterImagePolicy::enforce)
            || self.kyverno.iter().any(|p| {
                p.spec.fails_closed()
                    && p.spec.rules.iter().any(|r| {
                        r.verify_images
                            .iter()
                            .any(|vi| vi.action(&p.spec) == FailureAction::Enforce)
                            || r.validate.as_ref().is_some_and(|v| {
                                match v.failure_action.as_deref() {
                                    Some(a) => matches!(a, "Enforce" | "enforce"),
                                    None => p.spec.enforce(),
                                }
                            })
                    })
            })
    }

    /// The tag references in `resource` some policy will resolve (matched by an applicable
    /// Kyverno rule and not skipped, or by a `ClusterImagePolicy`), each once: a caller can
    /// resolve them concurrently before [`evaluate`]. Images no policy looks at are left
    /// out, so their registries are never contacted.
    ///
    /// In [`Phase::Validate`] a Kyverno rule needs no resolution where `verifyDigest` fails
    /// the tag outright or `required: false` verifies nothing.
    pub fn tags_to_resolve(
        &self,
        resource: &Resource,
        limits: &Limits,
        phase: Phase,
    ) -> Result<Vec<ImageInfo>> {
        let images = resource.images(limits)?;
        let mut out: Vec<ImageInfo> = Vec::new();
        for c in &images {
            let Ok(info) = ImageInfo::parse(&c.image) else {
                continue;
            };
            if info.digest.is_some() || out.contains(&info) {
                continue;
            }
            let name = info.kyverno_string();
            let kyverno = self.kyverno.iter().any(|p| {
                !matches!(&p.scope, PolicyScope::Namespace(ns) if *ns != resource.namespace)
                    && p.spec.rules.iter().any(|rule| {
                        applicable(rule, resource).is_some()
                            && rule.verify_images.iter().any(|vi| {
                                (phase == Phase::Mutate || (!vi.verify_digest() && vi.required()))
                                    && vi.references().any(|r| wildcard_match(r, &name))
                                    && !vi
                                        .skip_image_references
                                        .iter()
                                        .any(|r| wildcard_match(r, &name))
                            })
                    })
            });
            if kyverno || self.image_policies.iter().any(|p| p.matches(&c.image)) {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// The policies with a rule that applies to `resource` (by kind, namespace and name:
    /// Kyverno `verifyImages` rules, autogen included, and every `ClusterImagePolicy` for
    /// kinds with a pod spec), as `Kind name`. For requests that carry no object to look at.
    pub fn matching(&self, resource: &Resource) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.kyverno {
            if matches!(&p.scope, PolicyScope::Namespace(ns) if *ns != resource.namespace) {
                continue;
            }
            if p.spec
                .rules
                .iter()
                .any(|r| !r.verify_images.is_empty() && applicable(r, resource).is_some())
            {
                out.push(format!("{} {}", p.kind(), p.name));
            }
        }
        if resource.pod_spec_pointer().is_some() {
            out.extend(
                self.image_policies
                    .iter()
                    .map(|p| format!("ClusterImagePolicy {}", p.name)),
            );
        }
        out
    }

    /// Validation problems of every policy, each prefixed with the policy's kind and name;
    /// features vouch does not evaluate are problems too (`not supported: ...`).
    pub fn validate(&self) -> Vec<(String, Vec<crate::Problem>)> {
        self.validate_with(false)
    }

    /// [`PolicySet::validate`]; with `ignore_unsupported` (`--ignore-unsupported`) the
    /// unsupported features are left out: the rules using them are reported as `skip`,
    /// with the reason, when evaluated.
    pub fn validate_with(&self, ignore_unsupported: bool) -> Vec<(String, Vec<crate::Problem>)> {
        let k = self.kyverno.iter().map(|p| {
            let problems = if ignore_unsupported {
                p.validate_structure()
            } else {
                p.validate()
            };
            (format!("{} {}", p.kind(), p.name), problems)
        });
        let c = self
            .image_policies
            .iter()
            .map(|p| (format!("ClusterImagePolicy {}", p.name), p.validate()));
        k.chain(c).filter(|(_, v)| !v.is_empty()).collect()
    }
}

/// [`apply`] for Kyverno policies plus policy-controller `ClusterImagePolicy`s: every
/// `ClusterImagePolicy` matching an image must pass (one `authorities` result per policy);
/// images no `ClusterImagePolicy` matches follow [`Options::no_match`]. An image is pinned to
/// its digest only when every policy matching it passed.
pub fn evaluate(
    set: &PolicySet,
    resource: &Resource,
    verifier: &dyn ImageVerifier,
    options: Options,
    limits: &Limits,
) -> Result<ResourceReport> {
    let mut report = apply(&set.kyverno, resource, verifier, options, limits)?;
    if set.image_policies.is_empty() || resource.pod_spec_pointer().is_none() {
        return Ok(report);
    }
    let images = resource.images(limits)?;
    let imageless = resource.imageless_containers();
    if !imageless.is_empty() {
        // Every ClusterImagePolicy applies to every pod-spec kind (`spec.match` is not
        // evaluated), so a container without an image is refused under each.
        for policy in &set.image_policies {
            report.results.push(RuleResult {
                policy: policy.name.clone(),
                rule: "authorities".into(),
                status: Status::Fail,
                message: imageless_message(&imageless),
                enforce: true,
                evidence: Vec::new(),
            });
        }
    }
    let mut per_policy: Vec<Vec<Outcome>> = set.image_policies.iter().map(|_| Vec::new()).collect();
    let mut unmatched = Vec::new();
    for c in &images {
        let matching: Vec<usize> = (0..set.image_policies.len())
            .filter(|&i| set.image_policies[i].matches(&c.image))
            .collect();
        if matching.is_empty() {
            unmatched.push(c.image.clone());
            continue;
        }
        let resolved = ImageInfo::parse(&c.image)
            .map_err(|e| CheckError::Error(format!("failed to parse image {}: {e}", c.image)))
            .and_then(|info| match &info.digest {
                Some(d) => Ok((d.clone(), info)),
                None => verifier
                    .resolve(&info)
                    .map(|d| (d, info))
                    .map_err(|e| match e {
                        CheckError::Failed(m) => {
                            CheckError::Failed(format!("failed to resolve image {}: {m}", c.image))
                        }
                        CheckError::Error(m) => {
                            CheckError::Error(format!("failed to resolve image {}: {m}", c.image))
                        }
                    }),
            });
        let mut pin = None;
        let mut all_pass = true;
        for i in matching {
            let outcome = match &resolved {
                Ok((digest, info)) => {
                    set.image_policies[i].verify(&c.image, info, digest, verifier)
                }
                Err(CheckError::Failed(m)) => Outcome::Fail(m.clone()),
                Err(CheckError::Error(m)) => Outcome::Error(m.clone()),
            };
            match &outcome {
                Outcome::Pass { pin: p, .. } => pin = p.clone(),
                _ => all_pass = false,
            }
            per_policy[i].push(outcome);
        }
        if all_pass
            && let Some(value) = pin
            && !report.patches.iter().any(|p| p.path == c.pointer)
        {
            report.patches.push(Patch {
                op: "replace",
                path: c.pointer.clone(),
                value,
            });
        }
    }
    for (policy, outcomes) in set.image_policies.iter().zip(&per_policy) {
        if outcomes.is_empty() {
            continue;
        }
        let (mut status, message) = combine(outcomes);
        if status == Status::Fail && !policy.enforce() && options.audit_warn {
            status = Status::Warn;
        }
        let evidence = if status == Status::Pass {
            outcomes
                .iter()
                .filter_map(|o| match o {
                    Outcome::Pass { evidence, .. } => Some(evidence.iter().cloned()),
                    _ => None,
                })
                .flatten()
                .collect()
        } else {
            Vec::new()
        };
        report.results.push(RuleResult {
            policy: policy.name.clone(),
            rule: "authorities".into(),
            status,
            message,
            enforce: policy.enforce(),
            evidence,
        });
    }
    if !unmatched.is_empty() && options.no_match != NoMatch::Allow {
        let warn = options.no_match == NoMatch::Warn;
        report.results.push(RuleResult {
            policy: "no-match-policy".into(),
            rule: "no-match".into(),
            status: if warn && options.audit_warn {
                Status::Warn
            } else {
                Status::Fail
            },
            message: format!("no matching policies: {}", unmatched.join(", ")),
            enforce: !warn,
            evidence: Vec::new(),
        });
    }
    for p in &report.patches {
        if let Some(slot) = report.patched.pointer_mut(&p.path) {
            *slot = Value::String(p.value.clone());
        }
    }
    Ok(report)
}

/// Applies every policy's `verifyImages` rules to `resource`.
pub fn apply(
    policies: &[Policy],
    resource: &Resource,
    verifier: &dyn ImageVerifier,
    options: Options,
    limits: &Limits,
) -> Result<ResourceReport> {
    let images = resource.images(limits)?;
    let imageless = resource.imageless_containers();
    let mut report = ResourceReport {
        api_version: resource.object["apiVersion"].as_str().map(str::to_owned),
        kind: resource.kind.clone(),
        namespace: resource.namespace.clone(),
        name: resource.name.clone(),
        results: Vec::new(),
        patches: Vec::new(),
        patched: resource.object.clone(),
    };
    for policy in policies {
        if let PolicyScope::Namespace(ns) = &policy.scope
            && *ns != resource.namespace
        {
            continue;
        }
        for (r, rule) in policy.spec.rules.iter().enumerate() {
            let Some(rule_name) = applicable(rule, resource) else {
                continue;
            };
            if let Some(reason) = policy.rule_skip_reason(r) {
                // Loaded with --ignore-unsupported: said, never silently passed.
                report.results.push(RuleResult {
                    policy: policy.name.clone(),
                    rule: rule_name,
                    status: Status::Skip,
                    message: reason,
                    enforce: false,
                    evidence: Vec::new(),
                });
                continue;
            }
            let context = request_context(resource);
            if let Some(pre) = &rule.preconditions {
                // `K:pkg/engine/internal/preconditions.go` `CheckPreconditions`: not met is
                // skip, an evaluation error is error.
                let pre = autogen_conditions(pre, &rule_name);
                let skip = match check_conditions(std::slice::from_ref(&pre), &context) {
                    Ok((true, _)) => None,
                    Ok((false, msg)) => Some((
                        Status::Skip,
                        join_non_empty(&["preconditions not met".into(), msg], "; "),
                    )),
                    Err(e) => Some((
                        Status::Error,
                        format!("failed to evaluate preconditions: {e}"),
                    )),
                };
                if let Some((status, message)) = skip {
                    let enforce = rule_enforces(rule, policy);
                    report.results.push(RuleResult {
                        policy: policy.name.clone(),
                        rule: rule_name,
                        status,
                        message,
                        enforce,
                        evidence: Vec::new(),
                    });
                    continue;
                }
            }
            if let Some(v) = &rule.validate {
                let enforce = rule_enforces(rule, policy);
                let outcome = if let Some(list) = &v.foreach {
                    validate_foreach(v, list, &rule_name, resource, &context, 0)
                } else if let Some(deny) = &v.deny {
                    Some(validate_deny(v, deny, &rule_name, &context))
                } else {
                    Some(validate_patterns(
                        v,
                        &rule_name,
                        &resource.object,
                        &context,
                        true,
                    ))
                };
                // A foreach whose lists gave no element to check has no response in Kyverno
                // (`validateForEach` returns nil): the rule is not reported.
                let Some((mut status, message)) = outcome else {
                    continue;
                };
                if status == Status::Fail && !enforce && options.audit_warn {
                    status = Status::Warn;
                }
                report.results.push(RuleResult {
                    policy: policy.name.clone(),
                    rule: rule_name,
                    status,
                    message,
                    enforce,
                    evidence: Vec::new(),
                });
                continue;
            }
            if rule.verify_images.is_empty() {
                continue;
            }
            if options.phase == Phase::Validate
                && !rule
                    .verify_images
                    .iter()
                    .any(|vi| vi.verify_digest() || vi.required())
            {
                continue;
            }
            if !imageless.is_empty() {
                // Issue 19 item 5: a container without an image under a matching rule is
                // refused (Kyverno ignores it; the API server would refuse it later, vouch
                // does not rely on that).
                report.results.push(RuleResult {
                    policy: policy.name.clone(),
                    rule: rule_name,
                    status: Status::Fail,
                    message: imageless_message(&imageless),
                    enforce: true,
                    evidence: Vec::new(),
                });
                continue;
            }
            let mut outcomes = Vec::new();
            let mut enforce = false;
            for vi in &rule.verify_images {
                enforce |= vi.action(&policy.spec) == FailureAction::Enforce;
                for c in &images {
                    let outcome = verify_one(vi, &c.image, verifier, options.phase, resource);
                    if let Outcome::Pass {
                        pin: Some(value), ..
                    } = &outcome
                        && vi.mutate_digest()
                        && !report.patches.iter().any(|p| p.path == c.pointer)
                    {
                        report.patches.push(Patch {
                            op: "replace",
                            path: c.pointer.clone(),
                            value: value.clone(),
                        });
                    }
                    outcomes.push(outcome);
                }
            }
            let (mut status, message) = combine(&outcomes);
            if status == Status::Fail && !enforce && options.audit_warn {
                status = Status::Warn;
            }
            let evidence = if status == Status::Pass {
                outcomes
                    .iter()
                    .filter_map(|o| match o {
                        Outcome::Pass { evidence, .. } => Some(evidence.iter().cloned()),
                        _ => None,
                    })
                    .flatten()
                    .collect()
            } else {
                Vec::new()
            };
            report.results.push(RuleResult {
                policy: policy.name.clone(),
                rule: rule_name,
                status,
                message,
                enforce,
                evidence,
            });
        }
    }
    for p in &report.patches {
        if let Some(slot) = report.patched.pointer_mut(&p.path) {
            *slot = Value::String(p.value.clone());
        }
    }
    Ok(report)
}

/// Whether a failure of `rule` blocks: the validate block's or verifyImages entries'
/// action, else the policy's.
fn rule_enforces(rule: &Rule, policy: &Policy) -> bool {
    if let Some(v) = &rule.validate {
        return match v.failure_action.as_deref() {
            Some(a) => matches!(a, "Enforce" | "enforce"),
            None => policy.spec.enforce(),
        };
    }
    rule.verify_images
        .iter()
        .any(|vi| vi.action(&policy.spec) == FailureAction::Enforce)
}

/// Kyverno's JSON context for a rule (`request.object`, `request.operation`), as `kyverno
/// apply` builds it for a resource.
fn request_context(resource: &Resource) -> Value {
    json!({"request": {"object": resource.object, "operation": resource.operation}})
}

/// Autogen's rewrite of variables for a pod controller's copy of a Pod rule
/// (`K:pkg/autogen/v1/rule.go` `updateFields`: `request.object.spec` becomes
/// `request.object.spec.template.spec`, `...jobTemplate.spec.template.spec` for CronJobs, and
/// the same for `metadata` and `oldObject`), applied to every string.
fn autogen_text(s: &str, rule_name: &str) -> String {
    let to = if rule_name.starts_with("autogen-cronjob-") {
        "spec.jobTemplate.spec.template"
    } else if rule_name.starts_with("autogen-") {
        "spec.template"
    } else {
        return s.to_owned();
    };
    let mut out = s.to_owned();
    for obj in ["request.object", "request.oldObject"] {
        for field in ["spec", "metadata"] {
            out = out.replace(&format!("{obj}.{field}"), &format!("{obj}.{to}.{field}"));
        }
    }
    out
}

fn autogen_value(v: &Value, rule_name: &str) -> Value {
    match v {
        Value::String(s) => Value::String(autogen_text(s, rule_name)),
        Value::Array(a) => Value::Array(a.iter().map(|x| autogen_value(x, rule_name)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), autogen_value(x, rule_name)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn autogen_conditions(c: &AnyAllConditions, rule_name: &str) -> AnyAllConditions {
    let one = |c: &crate::kyverno::Condition| crate::kyverno::Condition {
        key: autogen_value(&c.key, rule_name),
        operator: c.operator.clone(),
        value: autogen_value(&c.value, rule_name),
        message: c.message.as_deref().map(|m| autogen_text(m, rule_name)),
    };
    AnyAllConditions {
        any: c.any.iter().map(one).collect(),
        all: c.all.iter().map(one).collect(),
    }
}

/// `validate.deny` (`K:pkg/engine/handlers/validation/validate_resource.go` `validateDeny`,
/// `getDenyMessage`): fail when the conditions hold, with the rule's message and the
/// messages of the conditions that held, substituted.
fn validate_deny(
    v: &crate::kyverno::Validation,
    deny: &crate::kyverno::Deny,
    rule: &str,
    context: &Value,
) -> (Status, String) {
    // `deny: {}` (no conditions) denies unconditionally, as in Kyverno.
    let held = match &deny.conditions {
        None => Ok((true, String::new())),
        Some(c) => check_conditions(std::slice::from_ref(&autogen_conditions(c, rule)), context),
    };
    match held {
        Err(e) => (
            Status::Error,
            format!("failed to check deny conditions: {e}"),
        ),
        Ok((false, _)) => (Status::Pass, format!("validation rule '{rule}' passed.")),
        Ok((true, msg)) => {
            let message = v
                .message
                .as_deref()
                .map(|m| autogen_text(m, rule))
                .unwrap_or_default();
            if message.is_empty() && msg.is_empty() {
                return (
                    Status::Fail,
                    format!("validation error: rule {rule} failed"),
                );
            }
            let joined = join_non_empty(&[message, msg.clone()], "; ");
            let text = match crate::conditions::substitute_all(&Value::String(joined), context) {
                Ok(Value::String(s)) => s,
                Ok(_) => {
                    "the produced message didn't resolve to a string, check your policy definition."
                        .into()
                }
                Err(_) => msg,
            };
            (Status::Fail, text)
        }
    }
}

/// `validate.foreach` (`K:pkg/engine/handlers/validation/validate_resource.go`
/// `validateForEach`, `validateElements`; `K:pkg/engine/utils/foreach.go`): each list is a
/// JMESPath query (a missing key skips that list); every non-null element, put in the
/// context as `element`/`elementIndex` (and `element<N>` for nesting level N), is checked by
/// the entry's preconditions and then its deny, pattern/anyPattern (against the element when
/// it is an object, unless `elementScope: false`) or nested foreach. The first element that
/// does not pass decides (`validation failure: <its message>`); elements skipped or whose
/// preconditions could not be evaluated are passed over. `None` when no element was checked.
fn validate_foreach(
    v: &crate::kyverno::Validation,
    list: &[crate::kyverno::ForEachValidation],
    rule: &str,
    resource: &Resource,
    context: &Value,
    nesting: usize,
) -> Option<(Status, String)> {
    let mut applied = 0usize;
    let mut list_error = None;
    for fe in list {
        let elements = match crate::conditions::query(&autogen_text(&fe.list, rule), context) {
            Ok(Value::Array(a)) => a,
            Ok(other) => vec![other],
            Err(e) if e.contains("Unknown key") => continue,
            Err(e) => {
                list_error = Some(e);
                continue;
            }
        };
        for (index, element) in elements.iter().enumerate() {
            if element.is_null() {
                continue;
            }
            let mut ctx = context.clone();
            if let Value::Object(root) = &mut ctx {
                for (k, val) in [
                    ("element".to_owned(), element.clone()),
                    (format!("element{nesting}"), element.clone()),
                    ("elementIndex".to_owned(), json!(index)),
                    (format!("elementIndex{nesting}"), json!(index)),
                ] {
                    root.insert(k, val);
                }
            }
            let scoped = match fe.element_scope {
                Some(true) if !element.is_object() => {
                    return Some((
                        Status::Error,
                        format!(
                            "failed to process foreach: cannot use elementScope=true foreach rules for elements that are not maps, expected type=map got type={}",
                            go_type(element)
                        ),
                    ));
                }
                Some(s) => s,
                None => element.is_object(),
            };
            let inner: Option<(Status, String)> = (|| {
                if let Some(pre) = &fe.preconditions {
                    let pre = autogen_conditions(pre, rule);
                    match check_conditions(std::slice::from_ref(&pre), &ctx) {
                        Ok((true, _)) => {}
                        Ok((false, msg)) => {
                            return Some((
                                Status::Skip,
                                join_non_empty(&["preconditions not met".into(), msg], "; "),
                            ));
                        }
                        Err(e) => {
                            return Some((
                                Status::Error,
                                format!("failed to evaluate preconditions: {e}"),
                            ));
                        }
                    }
                }
                if let Some(deny) = &fe.deny {
                    return Some(validate_deny(v, deny, rule, &ctx));
                }
                if fe.pattern.is_some() || fe.any_pattern.is_some() {
                    let inner_v = crate::kyverno::Validation {
                        message: v.message.clone(),
                        pattern: fe.pattern.clone(),
                        any_pattern: fe.any_pattern.clone(),
                        ..crate::kyverno::Validation::default()
                    };
                    let (object, wrap) = if scoped {
                        (element, false)
                    } else {
                        (&resource.object, true)
                    };
                    return Some(validate_patterns(&inner_v, rule, object, &ctx, wrap));
                }
                if let Some(nested) = &fe.foreach {
                    return validate_foreach(v, nested, rule, resource, &ctx, nesting + 1);
                }
                None
            })();
            let Some((status, message)) = inner else {
                continue;
            };
            match status {
                Status::Pass => applied += 1,
                Status::Skip => {}
                Status::Error if message.contains("failed to evaluate preconditions") => {}
                other => return Some((other, format!("validation failure: {message}"))),
            }
        }
    }
    if applied == 0 {
        return list_error.map(|e| (Status::Error, format!("failed to evaluate list: {e}")));
    }
    Some((Status::Pass, "rule passed".into()))
}

/// Go's `%T` of a decoded JSON value, for Kyverno's messages.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The rule's name for this resource if it applies: as written for a direct match, or
/// `autogen-<rule>` / `autogen-cronjob-<rule>` for pod controllers of a Pod-only rule (§2.6).
fn applicable(rule: &Rule, r: &Resource) -> Option<String> {
    let excluded = |kind: &str| {
        rule.exclude
            .as_ref()
            .is_some_and(|e| e.descriptions().next().is_some() && e.matches(kind, r))
    };
    if rule.match_.matches(&r.kind, r)
        && rule.match_.descriptions().any(|d| !d.kinds.is_empty())
        && !excluded(&r.kind)
    {
        return Some(rule.name.clone());
    }
    let controller = r.kind == "CronJob" || TEMPLATE_KINDS.contains(&r.kind.as_str());
    if controller
        && rule.match_.pod_only()
        && rule.match_.matches("Pod", r)
        && !excluded("Pod")
        && !excluded(&r.kind)
    {
        return Some(if r.kind == "CronJob" {
            format!("autogen-cronjob-{}", rule.name)
        } else {
            format!("autogen-{}", rule.name)
        });
    }
    None
}

#[derive(Debug)]
pub(crate) enum Outcome {
    NotMatched,
    Skip(String),
    Pass {
        message: String,
        pin: Option<String>,
        evidence: Vec<Decision>,
    },
    Fail(String),
    Error(String),
}

fn combine(outcomes: &[Outcome]) -> (Status, String) {
    let first = |f: fn(&Outcome) -> Option<&String>| outcomes.iter().find_map(f).cloned();
    let joined = |f: fn(&Outcome) -> Option<&String>| {
        outcomes
            .iter()
            .filter_map(f)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(_e) = first(|o| match o {
        Outcome::Error(m) => Some(m),
        _ => None,
    }) {
        return (
            Status::Error,
            joined(|o| match o {
                Outcome::Error(m) | Outcome::Fail(m) => Some(m),
                _ => None,
            }),
        );
    }
    if first(|o| match o {
        Outcome::Fail(m) => Some(m),
        _ => None,
    })
    .is_some()
    {
        return (
            Status::Fail,
            joined(|o| match o {
                Outcome::Fail(m) => Some(m),
                _ => None,
            }),
        );
    }
    if first(|o| match o {
        Outcome::Pass { message, .. } => Some(message),
        _ => None,
    })
    .is_some()
    {
        return (
            Status::Pass,
            joined(|o| match o {
                Outcome::Pass { message, .. } => Some(message),
                _ => None,
            }),
        );
    }
    let skips = joined(|o| match o {
        Outcome::Skip(m) => Some(m),
        _ => None,
    });
    if skips.is_empty() {
        (Status::Skip, "no image matched imageReferences".into())
    } else {
        (Status::Skip, skips)
    }
}

/// `validate.pattern` / `anyPattern` on `resource`, with Kyverno's messages
/// (`K:pkg/engine/handlers/validation/validate_resource.go`, `validatePatterns`,
/// `buildErrorMessage`). Under autogen the Pod pattern is placed where the controller keeps
/// its pod template (`K:pkg/autogen/v1/rule.go`).
fn validate_patterns(
    v: &crate::kyverno::Validation,
    rule: &str,
    object: &Value,
    context: &Value,
    wrap_autogen: bool,
) -> (Status, String) {
    let wrap = |p: &Value| -> Value {
        if !wrap_autogen {
            p.clone()
        } else if rule.starts_with("autogen-cronjob-") {
            json!({"spec": {"jobTemplate": {"spec": {"template": p}}}})
        } else if rule.starts_with("autogen-") {
            json!({"spec": {"template": p}})
        } else {
            p.clone()
        }
    };
    let message =
        v.message
            .as_ref()
            .map(|m| match substitute(&Value::String(m.clone()), context) {
                Ok(Value::String(s)) => Ok(s),
                _ => Err(()),
            });
    let build = |detail: Result<&str, &str>| -> String {
        match (&message, detail) {
            (None, Ok(path)) => format!("validation error: rule {rule} failed at path {path}"),
            (None, Err(e)) => format!("validation error: rule {rule} execution error: {e}"),
            (Some(Err(())), Ok(_) | Err(_)) => format!(
                "validation error: variables substitution error in rule {rule} execution error: message"
            ),
            (Some(Ok(m)), detail) => {
                let m = if m.ends_with('.') {
                    m.clone()
                } else {
                    format!("{m}.")
                };
                match detail {
                    Ok(path) => format!("validation error: {m} rule {rule} failed at path {path}"),
                    Err(e) => format!("validation error: {m} rule {rule} execution error: {e}"),
                }
            }
        }
    };
    if let Some(p) = &v.pattern {
        return match crate::pattern::match_pattern(object, &wrap(p)) {
            Ok(()) => (Status::Pass, format!("validation rule '{rule}' passed.")),
            Err(e) if e.skip => (Status::Skip, e.message),
            Err(e) if e.path.is_empty() => (Status::Error, build(Err(&e.message))),
            Err(e) => (Status::Fail, build(Ok(&e.path))),
        };
    }
    let Some(Value::Array(patterns)) = &v.any_pattern else {
        return (
            Status::Error,
            "failed to deserialize anyPattern, expected type array".into(),
        );
    };
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for (i, p) in patterns.iter().enumerate() {
        match crate::pattern::match_pattern(object, &wrap(p)) {
            Ok(()) => {
                return (
                    Status::Pass,
                    format!("validation rule '{rule}' anyPattern[{i}] passed."),
                );
            }
            Err(e) if e.skip => skipped.push(format!("rule {rule}[{i}] skipped: {}", e.message)),
            Err(e) if e.path.is_empty() => {
                failed.push(format!("rule {rule}[{i}] failed: {}", e.message));
            }
            Err(e) => failed.push(format!("rule {rule}[{i}] failed at path {}", e.path)),
        }
    }
    if failed.is_empty() && !skipped.is_empty() {
        return (Status::Skip, skipped.join(" "));
    }
    let errs = failed.join(" ");
    let text = match &message {
        None => format!("validation error: {errs}"),
        Some(Ok(m)) if m.ends_with('.') => format!("validation error: {m} {errs}"),
        Some(Ok(m)) => format!("validation error: {m}. {errs}"),
        Some(Err(())) => format!(
            "validation error: variables substitution error in rule {rule} execution error: {errs}"
        ),
    };
    (Status::Fail, text)
}

fn imageless_message(imageless: &[(String, String)]) -> String {
    imageless
        .iter()
        .map(|(pointer, container)| {
            format!("container {container:?} ({pointer}) has no image: refused before verification")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn verify_one(
    vi: &ImageVerification,
    raw: &str,
    verifier: &dyn ImageVerifier,
    phase: Phase,
    resource: &Resource,
) -> Outcome {
    let info = match ImageInfo::parse(raw) {
        Ok(i) => i,
        Err(e) => return Outcome::Error(format!("failed to parse image {raw}: {e}")),
    };
    let name = info.kyverno_string();
    if !vi.references().any(|p| wildcard_match(p, &name)) {
        return Outcome::NotMatched;
    }
    if vi
        .skip_image_references
        .iter()
        .any(|p| wildcard_match(p, &name))
    {
        return Outcome::Skip(format!("skipping image reference image {raw}"));
    }
    if phase == Phase::Validate {
        if vi.verify_digest() && info.digest.is_none() {
            return Outcome::Fail(format!("missing digest for {raw}"));
        }
        if !vi.required() {
            // The verification itself is the mutating webhook's (notes §2.1).
            return if vi.verify_digest() {
                Outcome::Pass {
                    message: format!("image {raw} is pinned to a digest"),
                    pin: None,
                    evidence: Vec::new(),
                }
            } else {
                Outcome::NotMatched
            };
        }
    } else if !vi.mutate_digest() && vi.verify_digest() && info.digest.is_none() {
        return Outcome::Fail(format!("missing digest for {raw}"));
    }
    if vi
        .type_
        .as_deref()
        .is_some_and(|t| t != "Cosign" && t != "SigstoreBundle")
    {
        return Outcome::Error(format!(
            "failed to verify image {raw}: verification type {} is not supported",
            vi.type_.as_deref().unwrap_or_default()
        ));
    }
    if vi.attestors.is_empty() && vi.attestations.is_empty() {
        // Refused at load; never a pass if it gets here anyway.
        return Outcome::Fail(format!(
            "failed to verify image {raw}: the entry names no attestors or attestations"
        ));
    }
    let digest = match &info.digest {
        Some(d) => d.clone(),
        None => match verifier.resolve(&info) {
            Ok(d) => d,
            Err(CheckError::Failed(m)) => {
                return Outcome::Fail(format!("failed to resolve image {raw}: {m}"));
            }
            Err(CheckError::Error(m)) => {
                return Outcome::Error(format!("failed to resolve image {raw}: {m}"));
            }
        },
    };
    let mut evidence = Vec::new();
    for (s, set) in vi.attestors.iter().enumerate() {
        let path = format!(".attestors[{s}]");
        if let Err(e) = check_set(set, &path, 0, &mut |a, ep| {
            let ev = verifier.verify_signature(&info, &digest, Some(vi.scheme()), a)?;
            evidence.push(Decision::new(raw, ep.to_owned(), "signature".into(), &ev));
            Ok(())
        }) {
            let m = format!("failed to verify image {raw}: {}", e.message());
            return match e {
                CheckError::Failed(_) => Outcome::Fail(m),
                CheckError::Error(_) => Outcome::Error(m),
            };
        }
    }
    let mut context = serde_json::Map::new();
    context.insert(
        "request".into(),
        json!({"object": resource.object, "operation": "CREATE"}),
    );
    context.insert(
        "image".into(),
        json!({"reference": raw, "digest": digest, "registry": info.registry, "path": info.path}),
    );
    for (k, att) in vi.attestations.iter().enumerate() {
        match check_attestation(vi, k, raw, &info, &digest, verifier, &mut evidence) {
            Err(CheckError::Failed(m)) => return Outcome::Fail(m),
            Err(CheckError::Error(m)) => return Outcome::Error(m),
            Ok(predicate) => {
                // Kyverno stores the first predicate under the attestation's name for
                // `validate.deny` (`K:pkg/engine/internal/imageverifier.go`).
                if let (Some(name), Some(p)) = (&att.name, predicate) {
                    context.insert(name.clone(), p);
                }
            }
        }
    }
    if let Some(validate) = &vi.validate {
        let context = Value::Object(context);
        let conditions = validate.deny.as_ref().and_then(|d| d.conditions.as_ref());
        let Some(conditions) = conditions else {
            return Outcome::Fail(format!(
                "image validation failed for {raw}: validate has no deny conditions"
            ));
        };
        match evaluate_conditions(std::slice::from_ref(conditions), &context) {
            // The deny conditions hold: denied.
            Ok(Ok(())) => {
                let message = validate
                    .message
                    .as_ref()
                    .map(|m| match substitute(&Value::String(m.clone()), &context) {
                        Ok(Value::String(s)) => s,
                        _ => m.clone(),
                    })
                    .unwrap_or_else(|| "denied by validate.deny".into());
                return Outcome::Fail(format!("image validation failed for {raw}: {message}"));
            }
            Ok(Err(_)) => {}
            Err(e) => {
                return Outcome::Error(format!(
                    "image validation failed for {raw}: validate.deny: {e}"
                ));
            }
        }
    }
    let what = if vi.attestors.is_empty() {
        "verified image attestations"
    } else {
        "verified image signatures"
    };
    Outcome::Pass {
        message: format!("{what} for {raw}"),
        pin: info.digest.is_none().then(|| info.pinned(&digest)),
        evidence,
    }
}

/// Checks `vi`'s attestation `k`, read from `vi`'s storage scheme; returns the first verified
/// predicate (for `validate.deny`).
fn check_attestation(
    vi: &ImageVerification,
    k: usize,
    raw: &str,
    info: &ImageInfo,
    digest: &str,
    verifier: &dyn ImageVerifier,
    evidence: &mut Vec<Decision>,
) -> Result<Option<Value>, CheckError> {
    let (att, scheme) = (&vi.attestations[k], vi.scheme());
    let pt = att.predicate_type().unwrap_or_default();
    if att.attestors.is_empty() {
        // Refused at load (Kyverno would check with an empty attestor and SCTs off, #17125).
        return Err(CheckError::Failed(format!(
            "image attestations verification failed for {raw}: .attestations[{k}] names no attestors"
        )));
    }
    let mut first = None;
    for (s, set) in att.attestors.iter().enumerate() {
        let path = format!(".attestations[{k}].attestors[{s}]");
        check_set(set, &path, 0, &mut |a, ep| {
            let statements = verifier.verify_attestations(info, digest, Some(scheme), pt, a)?;
            if statements.is_empty() {
                return Err(CheckError::Failed(format!(
                    "attestations not found for predicate type {pt}"
                )));
            }
            for st in &statements {
                let value = serde_json::to_value(&st.statement).unwrap_or(Value::Null);
                match evaluate_conditions(&att.conditions, &statement_context(&value)) {
                    Ok(Ok(())) => {}
                    Ok(Err(msg)) => {
                        return Err(CheckError::Failed(format!(
                            "attestation checks failed for {raw} and predicate {pt}: {msg}"
                        )));
                    }
                    Err(e) => return Err(CheckError::Error(e.to_string())),
                }
                first.get_or_insert_with(|| st.statement.predicate.clone());
            }
            evidence.push(Decision::new(
                raw,
                ep.to_owned(),
                format!("attestation {pt}"),
                &statements[0].evidence,
            ));
            Ok(())
        })
        .map_err(|e| match e {
            CheckError::Failed(m) => CheckError::Failed(format!(
                "image attestations verification failed for {raw}: {m}"
            )),
            CheckError::Error(m) => CheckError::Error(format!(
                "image attestations verification failed for {raw}: {m}"
            )),
        })?;
    }
    Ok(first)
}

/// A PEM bundle holding several keys becomes one entry per key before counting
/// (`ExpandStaticKeys`, `K:pkg/engine/internal/utils.go`).
fn expand(set: &AttestorSet) -> Vec<Attestor> {
    let mut out = Vec::new();
    for e in &set.entries {
        let pems = e
            .keys()
            .and_then(|k| k.public_keys.as_deref())
            .map(split_pem)
            .unwrap_or_default();
        if pems.len() > 1 {
            for pem in pems {
                let mut one = e.clone();
                if let AttestorKind::Keys(k) = &mut one.kind {
                    k.public_keys = Some(pem);
                }
                out.push(one);
            }
        } else {
            out.push(e.clone());
        }
    }
    out
}

fn split_pem(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("-----BEGIN") {
            cur.clear();
        }
        cur.push_str(l);
        cur.push('\n');
        if l.starts_with("-----END") {
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

/// Counts verified entries of `set` against its required count; the error joins each failed
/// entry's message prefixed with its path (`.attestors[0].entries[1].keys: …`). `check` gets
/// the entry and its path.
fn check_set(
    set: &AttestorSet,
    path: &str,
    depth: usize,
    check: &mut dyn FnMut(&Attestor, &str) -> Result<(), CheckError>,
) -> Result<(), CheckError> {
    let entries = expand(set);
    let required = match set.count {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => entries.len(),
    };
    let mut verified = 0;
    let mut errors = Vec::new();
    let mut any_error = false;
    for (j, entry) in entries.iter().enumerate() {
        let ep = format!("{path}.entries[{j}].{}", entry.kind_name());
        let result = match &entry.kind {
            AttestorKind::Nested(inner) if depth < 4 => check_set(inner, &ep, depth + 1, check),
            AttestorKind::Nested(_) => {
                Err(CheckError::Error("attestor sets nested too deeply".into()))
            }
            _ => check(entry, &ep),
        };
        match result {
            Ok(()) => verified += 1,
            Err(e) => {
                any_error |= matches!(e, CheckError::Error(_));
                errors.push(format!("{ep}: {}", e.message()));
            }
        }
        if verified >= required {
            return Ok(());
        }
    }
    if verified >= required && required > 0 {
        return Ok(());
    }
    let msg = if errors.is_empty() {
        format!("{path}: verifiedCount: {verified}, requiredCount: {required}")
    } else {
        errors.join("; ")
    };
    Err(if any_error {
        CheckError::Error(msg)
    } else {
        CheckError::Failed(msg)
    })
}

/// JSON form of the patches (RFC 6902 array) for admission responses and `--output`.
pub fn patch_json(patches: &[Patch]) -> Value {
    json!(patches)
}

/// `{policy: {rule: message}}` of the failed and errored rules (Kyverno's blocked message).
pub fn blocked_rules(report: &ResourceReport) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for r in &report.results {
        if matches!(r.status, Status::Fail | Status::Error) {
            out.entry(r.policy.clone())
                .or_default()
                .insert(r.rule.clone(), r.message.clone());
        }
    }
    out
}
