//! Kyverno `ClusterPolicy` / `Policy` (kyverno.io/v1) with `verifyImages` rules, as written.
//!
//! Field names and defaults follow `kyverno/kyverno:api/kyverno/v1/image_verification_types.go`
//! and `spec_types.go` (see `../shared/notes/admission-policy.md` §1). [`Policy::validate`]
//! reports the mistakes Kyverno's `pkg/validation/policy/validate.go` and the types'
//! `Validate()` methods reject, each with its field path.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Problem;
use crate::image::wildcard_match;

/// `ClusterPolicy` (cluster-wide) or `Policy` (one namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyScope {
    /// `kind: ClusterPolicy`.
    Cluster,
    /// `kind: Policy` in this namespace.
    Namespace(String),
}

/// A Kyverno policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// metadata.name.
    pub name: String,
    /// Where it applies.
    pub scope: PolicyScope,
    /// The spec.
    pub spec: Spec,
}

impl Policy {
    /// The key Kyverno uses in its scoped annotation: `<namespace>/<name>` (`/name` for a
    /// ClusterPolicy).
    pub fn key(&self) -> String {
        match &self.scope {
            PolicyScope::Cluster => format!("/{}", self.name),
            PolicyScope::Namespace(ns) => format!("{ns}/{}", self.name),
        }
    }
}

/// `spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Deprecated policy-wide action; any value other than `Enforce`/`enforce` is Audit.
    pub validation_failure_action: Option<String>,
    /// Deprecated; `Fail` (default) or `Ignore`.
    pub failure_policy: Option<String>,
    /// `webhookConfiguration.failurePolicy` / `timeoutSeconds`.
    pub webhook_configuration: Option<WebhookConfiguration>,
    /// Deprecated webhook timeout.
    pub webhook_timeout_seconds: Option<i64>,
    /// Background scans (default true).
    pub background: Option<bool>,
    /// Applied at admission (default true).
    pub admission: Option<bool>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// `spec.webhookConfiguration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfiguration {
    /// `Fail` or `Ignore`.
    pub failure_policy: Option<String>,
    /// 1 to 30.
    pub timeout_seconds: Option<i64>,
}

impl Spec {
    /// Whether the deprecated policy-wide action says Enforce.
    pub fn enforce(&self) -> bool {
        matches!(
            self.validation_failure_action.as_deref(),
            Some("Enforce" | "enforce")
        )
    }

    /// `GetFailurePolicy()`: webhookConfiguration first, then spec, then `Fail`.
    pub fn fails_closed(&self) -> bool {
        let fp = self
            .webhook_configuration
            .as_ref()
            .and_then(|w| w.failure_policy.as_deref())
            .or(self.failure_policy.as_deref());
        fp != Some("Ignore")
    }
}

/// `spec.rules[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Rule name.
    #[serde(default)]
    pub name: String,
    /// Resources the rule applies to.
    #[serde(rename = "match", default)]
    pub match_: MatchResources,
    /// Resources it never applies to.
    pub exclude: Option<MatchResources>,
    /// The image verifications.
    #[serde(default)]
    pub verify_images: Vec<ImageVerification>,
    /// Other rule types vouch does not evaluate (kept to report them).
    pub validate: Option<Value>,
    /// Mutate rules (not evaluated).
    pub mutate: Option<Value>,
    /// Generate rules (not evaluated).
    pub generate: Option<Value>,
}

/// `match` / `exclude`: `any` (OR), `all` (AND), or the legacy inline `resources`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchResources {
    /// Any of these filters.
    #[serde(default)]
    pub any: Vec<ResourceFilter>,
    /// All of these filters.
    #[serde(default)]
    pub all: Vec<ResourceFilter>,
    /// Legacy form.
    pub resources: Option<ResourceDescription>,
}

/// One filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFilter {
    /// The resource description.
    #[serde(default)]
    pub resources: ResourceDescription,
}

/// `resources: {kinds, namespaces, names, name, selector}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescription {
    /// Kinds, optionally `group/version/Kind` or `version/Kind`; wildcards allowed.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Namespace wildcards.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Name wildcards.
    #[serde(default)]
    pub names: Vec<String>,
    /// Deprecated single name wildcard.
    pub name: Option<String>,
    /// Label selector (vouch does not evaluate selectors; a rule using one is reported).
    pub selector: Option<Value>,
}

impl ResourceDescription {
    fn matches(&self, kind: &str, namespace: &str, name: &str) -> bool {
        let kind_ok = self.kinds.iter().any(|k| {
            let short = k.rsplit('/').next().unwrap_or(k);
            wildcard_match(short, kind)
        });
        let ns_ok = self.namespaces.is_empty()
            || self.namespaces.iter().any(|n| wildcard_match(n, namespace));
        let mut names = self.names.iter().chain(self.name.iter()).peekable();
        let name_ok = names.peek().is_none() || names.any(|n| wildcard_match(n, name));
        (self.kinds.is_empty() || kind_ok) && ns_ok && name_ok
    }

    fn is_empty(&self) -> bool {
        self.kinds.is_empty()
            && self.namespaces.is_empty()
            && self.names.is_empty()
            && self.name.is_none()
            && self.selector.is_none()
    }
}

impl MatchResources {
    /// Whether a resource of `kind` named `name` in `namespace` is selected.
    pub fn matches(&self, kind: &str, namespace: &str, name: &str) -> bool {
        let legacy = self
            .resources
            .as_ref()
            .is_none_or(|r| r.matches(kind, namespace, name));
        let any = self.any.is_empty()
            || self
                .any
                .iter()
                .any(|f| f.resources.matches(kind, namespace, name));
        let all = self
            .all
            .iter()
            .all(|f| f.resources.matches(kind, namespace, name));
        legacy && any && all
    }

    /// Every description in this block.
    pub fn descriptions(&self) -> impl Iterator<Item = &ResourceDescription> {
        self.resources
            .iter()
            .chain(self.any.iter().map(|f| &f.resources))
            .chain(self.all.iter().map(|f| &f.resources))
    }

    /// Kyverno autogen applies (§2.6): the block names only `Pod` and no names or selectors.
    pub fn pod_only(&self) -> bool {
        let mut any = false;
        for d in self.descriptions() {
            if d.names.is_empty() && d.name.is_none() && d.selector.is_none() && !d.kinds.is_empty()
            {
                if d.kinds.iter().any(|k| k.rsplit('/').next() != Some("Pod")) {
                    return false;
                }
                any = true;
            } else if !d.is_empty() {
                return false;
            }
        }
        any
    }
}

/// `Audit` or `Enforce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    /// Report, admit.
    Audit,
    /// Deny.
    Enforce,
}

/// `verifyImages[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageVerification {
    /// Per-entry action; unset inherits the policy's.
    pub failure_action: Option<String>,
    /// `Cosign` (default), `SigstoreBundle` or `Notary`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Wildcard patterns (at least one).
    #[serde(default)]
    pub image_references: Vec<String>,
    /// Patterns that skip.
    #[serde(default)]
    pub skip_image_references: Vec<String>,
    /// Signature checks: every set must pass.
    #[serde(default)]
    pub attestors: Vec<AttestorSet>,
    /// In-toto attestation checks.
    #[serde(default)]
    pub attestations: Vec<Attestation>,
    /// Alternate signature repository.
    pub repository: Option<String>,
    /// Rewrite tags to `tag@digest` (default true).
    pub mutate_digest: Option<bool>,
    /// Require a digest in the final image (default true).
    pub verify_digest: Option<bool>,
    /// Require a pass/skip record (default true).
    pub required: Option<bool>,
    /// Use the verification cache (default true).
    pub use_cache: Option<bool>,
    /// Deprecated single pattern.
    pub image: Option<String>,
    /// Deprecated inline key.
    pub key: Option<String>,
}

impl ImageVerification {
    /// The effective action: Enforce if this entry or (unset) the policy says so.
    pub fn action(&self, spec: &Spec) -> FailureAction {
        let enforce = match self.failure_action.as_deref() {
            Some(a) => matches!(a, "Enforce" | "enforce"),
            None => spec.enforce(),
        };
        if enforce {
            FailureAction::Enforce
        } else {
            FailureAction::Audit
        }
    }

    /// `mutateDigest`, default true.
    pub fn mutate_digest(&self) -> bool {
        self.mutate_digest.unwrap_or(true)
    }

    /// `verifyDigest`, default true.
    pub fn verify_digest(&self) -> bool {
        self.verify_digest.unwrap_or(true)
    }

    /// `required`, default true.
    pub fn required(&self) -> bool {
        self.required.unwrap_or(true)
    }

    /// `imageReferences` plus the deprecated `image`.
    pub fn references(&self) -> impl Iterator<Item = &String> {
        self.image_references.iter().chain(self.image.iter())
    }
}

/// `attestors[]`: `count` of `entries` must verify (none or 0 = all).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestorSet {
    /// Required number of verified entries.
    pub count: Option<i64>,
    /// The entries.
    #[serde(default)]
    pub entries: Vec<Attestor>,
}

impl AttestorSet {
    /// How many entries must verify: `count`, or all of them when unset or 0.
    pub fn required(&self) -> usize {
        match self.count {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => self.entries.len(),
        }
    }
}

/// One attestor: exactly one of `keys`, `certificates`, `keyless`, `attestor`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestor {
    /// Public keys.
    pub keys: Option<StaticKeys>,
    /// Certificates.
    pub certificates: Option<Certificates>,
    /// Fulcio identities.
    pub keyless: Option<Keyless>,
    /// Nested attestor set (raw).
    pub attestor: Option<Value>,
    /// Signed annotations that must be present.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Per-attestor signature repository.
    pub repository: Option<String>,
}

impl Attestor {
    /// `keys`, `keyless`, `certificates` or `attestor`, for messages (`.entries[0].keyless`).
    pub fn kind(&self) -> &'static str {
        if self.keys.is_some() {
            "keys"
        } else if self.keyless.is_some() {
            "keyless"
        } else if self.certificates.is_some() {
            "certificates"
        } else {
            "attestor"
        }
    }
}

/// `keys`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticKeys {
    /// PEM public key(s).
    pub public_keys: Option<String>,
    /// KMS URI (not supported offline).
    pub kms: Option<String>,
    /// Secret reference (not supported offline).
    pub secret: Option<Value>,
    /// Transparency log settings.
    pub rekor: Option<Rekor>,
    /// CT log settings.
    pub ctlog: Option<CtLog>,
    /// Deprecated hash algorithm.
    pub signature_algorithm: Option<String>,
}

/// `certificates`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificates {
    /// PEM certificate.
    pub cert: Option<String>,
    /// PEM chain.
    pub cert_chain: Option<String>,
    /// Transparency log settings.
    pub rekor: Option<Rekor>,
    /// CT log settings.
    pub ctlog: Option<CtLog>,
}

/// `keyless`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Keyless {
    /// SAN wildcard.
    pub subject: Option<String>,
    /// SAN regular expression (unanchored, as Go's `MatchString`).
    #[serde(rename = "subjectRegExp")]
    pub subject_regexp: Option<String>,
    /// Issuer wildcard.
    pub issuer: Option<String>,
    /// Issuer regular expression (unanchored).
    #[serde(rename = "issuerRegExp")]
    pub issuer_regexp: Option<String>,
    /// PEM Fulcio chain.
    pub roots: Option<String>,
    /// Fulcio extension (OID) to wildcard.
    #[serde(default)]
    pub additional_extensions: BTreeMap<String, String>,
    /// Transparency log settings.
    pub rekor: Option<Rekor>,
    /// CT log settings.
    pub ctlog: Option<CtLog>,
}

/// `rekor`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rekor {
    /// Log URL (never contacted by vouch; entries are checked offline).
    pub url: Option<String>,
    /// PEM log key.
    pub pubkey: Option<String>,
    /// Skip the transparency log check.
    #[serde(default)]
    pub ignore_tlog: bool,
}

/// `ctlog`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CtLog {
    /// Skip the SCT check.
    #[serde(rename = "ignoreSCT", default)]
    pub ignore_sct: bool,
    /// PEM CT log key.
    pub pubkey: Option<String>,
    /// PEM RFC 3161 TSA chain.
    pub tsa_cert_chain: Option<String>,
}

/// `attestations[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// Context variable name.
    pub name: Option<String>,
    /// Predicate type (exact match).
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Deprecated spelling of `type`.
    pub predicate_type: Option<String>,
    /// Who must have signed the attestation.
    #[serde(default)]
    pub attestors: Vec<AttestorSet>,
    /// Conditions every statement of the type must satisfy.
    #[serde(default)]
    pub conditions: Vec<AnyAllConditions>,
}

impl Attestation {
    /// `type`, else `predicateType`.
    pub fn predicate_type(&self) -> Option<&str> {
        self.type_.as_deref().or(self.predicate_type.as_deref())
    }
}

/// `{any: [...], all: [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AnyAllConditions {
    /// At least one holds.
    #[serde(default)]
    pub any: Vec<Condition>,
    /// All hold.
    #[serde(default)]
    pub all: Vec<Condition>,
}

/// `{key, operator, value, message}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Condition {
    /// Left side (may hold `{{ JMESPath }}`).
    #[serde(default)]
    pub key: Value,
    /// Operator name.
    #[serde(default)]
    pub operator: String,
    /// Right side.
    #[serde(default)]
    pub value: Value,
    /// Message when it does not hold.
    pub message: Option<String>,
}

/// Operators Kyverno accepts (`api/kyverno/v1/common_types.go`), with the deprecated aliases.
pub const OPERATORS: &[&str] = &[
    "Equals",
    "NotEquals",
    "Equal",
    "NotEqual",
    "In",
    "AnyIn",
    "AllIn",
    "NotIn",
    "AnyNotIn",
    "AllNotIn",
    "GreaterThanOrEquals",
    "GreaterThan",
    "LessThanOrEquals",
    "LessThan",
    "DurationGreaterThanOrEquals",
    "DurationGreaterThan",
    "DurationLessThanOrEquals",
    "DurationLessThan",
];

impl Policy {
    /// Every mistake Kyverno would reject, with its field path. Empty means valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |path: String, message: &str| {
            out.push(Problem {
                path,
                message: message.to_owned(),
            });
        };
        if self.name.is_empty() {
            push("metadata.name".into(), "a policy name is required");
        }
        let spec = &self.spec;
        if let Some(a) = &spec.validation_failure_action
            && !matches!(a.as_str(), "Audit" | "audit" | "Enforce" | "enforce")
        {
            push(
                "spec.validationFailureAction".into(),
                "must be Audit or Enforce",
            );
        }
        if let Some(t) = spec
            .webhook_configuration
            .as_ref()
            .and_then(|w| w.timeout_seconds)
            .or(spec.webhook_timeout_seconds)
            && !(1..=30).contains(&t)
        {
            push(
                "spec.webhookConfiguration.timeoutSeconds".into(),
                "the timeout value must be between 1 and 30 seconds",
            );
        }
        if spec.rules.is_empty() {
            push("spec.rules".into(), "a policy needs at least one rule");
        }
        let mut names = std::collections::BTreeSet::new();
        for (r, rule) in spec.rules.iter().enumerate() {
            let rp = format!("spec.rules[{r}]");
            if rule.name.is_empty() {
                push(format!("{rp}.name"), "a rule name is required");
            } else if rule.name.len() > 63 {
                push(format!("{rp}.name"), "must be no more than 63 characters");
            } else if !names.insert(rule.name.as_str()) {
                push(format!("{rp}.name"), "duplicate rule name");
            }
            if rule.match_.descriptions().all(|d| d.kinds.is_empty()) {
                push(
                    format!("{rp}.match"),
                    "at least one resource kind is required in match",
                );
            }
            for (v, vi) in rule.verify_images.iter().enumerate() {
                validate_verification(spec, vi, &format!("{rp}.verifyImages[{v}]"), &mut push);
            }
        }
        out
    }
}

fn validate_verification(
    spec: &Spec,
    vi: &ImageVerification,
    path: &str,
    push: &mut impl FnMut(String, &str),
) {
    if let Some(a) = &vi.failure_action
        && !matches!(a.as_str(), "Audit" | "audit" | "Enforce" | "enforce")
    {
        push(format!("{path}.failureAction"), "must be Audit or Enforce");
    }
    let ty = vi.type_.as_deref().unwrap_or("Cosign");
    if !matches!(ty, "Cosign" | "SigstoreBundle" | "Notary") {
        push(
            format!("{path}.type"),
            "must be Cosign, SigstoreBundle or Notary",
        );
    }
    if vi.references().next().is_none() {
        push(
            format!("{path}.imageReferences"),
            "at least one image reference is required",
        );
    }
    for (i, r) in vi.image_references.iter().enumerate() {
        if r.contains("{{") {
            push(
                format!("{path}.imageReferences[{i}]"),
                "variables are not allowed in imageReferences",
            );
        }
    }
    if vi.mutate_digest() && vi.action(spec) == FailureAction::Audit {
        push(
            format!("{path}.mutateDigest"),
            "mutateDigest must be set to false for 'Audit' failure action",
        );
    }
    if vi.attestors.is_empty() && vi.attestations.is_empty() && vi.key.is_none() {
        // Kyverno accepts a mutate-only entry; nothing to report.
    }
    for (s, set) in vi.attestors.iter().enumerate() {
        validate_set(set, ty, &format!("{path}.attestors[{s}]"), push);
    }
    for (a, att) in vi.attestations.iter().enumerate() {
        let ap = format!("{path}.attestations[{a}]");
        if att.predicate_type().is_none_or(str::is_empty) {
            push(format!("{ap}.type"), "a predicate type is required");
        }
        for (s, set) in att.attestors.iter().enumerate() {
            validate_set(set, ty, &format!("{ap}.attestors[{s}]"), push);
        }
        for (c, cond) in att.conditions.iter().enumerate() {
            for (which, list) in [("any", &cond.any), ("all", &cond.all)] {
                for (k, cnd) in list.iter().enumerate() {
                    if !OPERATORS.contains(&cnd.operator.as_str()) {
                        push(
                            format!("{ap}.conditions[{c}].{which}[{k}].operator"),
                            "unknown operator",
                        );
                    }
                }
            }
        }
    }
}

fn validate_set(set: &AttestorSet, ty: &str, path: &str, push: &mut impl FnMut(String, &str)) {
    if set.entries.is_empty() {
        push(format!("{path}.entries"), "an attestor set needs entries");
    }
    if let Some(c) = set.count
        && (c < 0 || usize::try_from(c).is_ok_and(|c| c > set.entries.len()))
    {
        push(
            format!("{path}.count"),
            "count must be between 1 and the number of entries",
        );
    }
    for (e, entry) in set.entries.iter().enumerate() {
        let ep = format!("{path}.entries[{e}]");
        let n = usize::from(entry.keys.is_some())
            + usize::from(entry.certificates.is_some())
            + usize::from(entry.keyless.is_some())
            + usize::from(entry.attestor.is_some());
        if n != 1 {
            push(
                ep.clone(),
                "exactly one of keys, certificates, keyless or attestor is required",
            );
        }
        if ty == "Notary" && (entry.keys.is_some() || entry.keyless.is_some()) {
            push(ep.clone(), "Notary verification accepts only certificates");
        }
        if let Some(k) = &entry.keys {
            if k.public_keys.is_none() && k.kms.is_none() && k.secret.is_none() {
                push(
                    format!("{ep}.keys"),
                    "one of publicKeys, kms or secret is required",
                );
            }
            if let Some(a) = &k.signature_algorithm
                && !matches!(a.as_str(), "sha224" | "sha256" | "sha384" | "sha512")
            {
                push(
                    format!("{ep}.keys.signatureAlgorithm"),
                    "must be sha224, sha256, sha384 or sha512",
                );
            }
        }
        if let Some(c) = &entry.certificates
            && c.cert.is_none()
            && c.cert_chain.is_none()
        {
            push(
                format!("{ep}.certificates"),
                "one of cert or certChain is required",
            );
        }
        if let Some(k) = &entry.keyless {
            let rekor_url = k
                .rekor
                .as_ref()
                .and_then(|r| r.url.as_deref())
                .is_some_and(|u| !u.is_empty());
            if !rekor_url && k.roots.is_none() {
                push(
                    format!("{ep}.keyless"),
                    "either a rekor URL or roots are required",
                );
            }
            for (field, re) in [
                ("subjectRegExp", &k.subject_regexp),
                ("issuerRegExp", &k.issuer_regexp),
            ] {
                if let Some(re) = re
                    && regex::Regex::new(re).is_err()
                {
                    push(
                        format!("{ep}.keyless.{field}"),
                        "not a valid regular expression",
                    );
                }
            }
        }
    }
}
