//! Kyverno `ClusterPolicy` / `Policy` (kyverno.io/v1) with `verifyImages` rules, as written.
//!
//! Field names and defaults follow `kyverno/kyverno:api/kyverno/v1/image_verification_types.go`,
//! `rule_types.go`, `spec_types.go`, `match_resources_types.go` and
//! `resource_description_types.go` (see `../shared/notes/admission-policy.md` §1). Every
//! struct refuses unknown fields ([`crate::strict`]); every field of Kyverno's schema is
//! known, so a misspelling is reported as one with the nearest name.
//!
//! [`Policy::validate`] reports the mistakes Kyverno's `pkg/validation/policy/validate.go` and
//! the types' `Validate()` methods reject, each with its field path, and every feature vouch
//! does not evaluate as `not supported: <path>` ([`Policy::unsupported`]): a rule vouch cannot
//! evaluate as written is never silently passed.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::Scheme;
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
    /// metadata.annotations (`pod-policies.kyverno.io/autogen-controllers`).
    pub annotations: BTreeMap<String, String>,
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

    /// `ClusterPolicy` or `Policy`.
    pub fn kind(&self) -> &'static str {
        match self.scope {
            PolicyScope::Cluster => "ClusterPolicy",
            PolicyScope::Namespace(_) => "Policy",
        }
    }
}

/// `spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// Deprecated policy-wide action; any value other than `Enforce`/`enforce` is Audit.
    pub validation_failure_action: Option<String>,
    /// Per-namespace action overrides (not supported).
    #[serde(default)]
    pub validation_failure_action_overrides: Vec<Value>,
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
    /// Audit results as API warnings.
    pub emit_warning: Option<bool>,
    /// `All` (default) or `One` (not supported).
    pub apply_rules: Option<String>,
    /// Deprecated.
    pub schema_validation: Option<bool>,
    /// Mutate-existing switch (mutate rules are not supported).
    pub mutate_existing_on_policy_update: Option<bool>,
    /// Generate-existing switch (generate rules are not supported).
    pub generate_existing_on_policy_update: Option<bool>,
    /// Generate-existing switch (generate rules are not supported).
    pub generate_existing: Option<bool>,
    /// Server-side apply for generate/mutate-existing.
    pub use_server_side_apply: Option<bool>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// `spec.webhookConfiguration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfiguration {
    /// `Fail` or `Ignore`.
    pub failure_policy: Option<String>,
    /// 1 to 30.
    pub timeout_seconds: Option<i64>,
    /// CEL match conditions (not supported).
    #[serde(default)]
    pub match_conditions: Vec<Value>,
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Rule name.
    #[serde(default)]
    pub name: String,
    /// Context variables (not supported).
    #[serde(default)]
    pub context: Vec<Value>,
    /// Extra report properties (reporting only).
    #[serde(default)]
    pub report_properties: BTreeMap<String, String>,
    /// Resources the rule applies to.
    #[serde(rename = "match", default)]
    pub match_: MatchResources,
    /// Resources it never applies to.
    pub exclude: Option<MatchResources>,
    /// Custom image locations (not supported).
    pub image_extractors: Option<Value>,
    /// Preconditions: the rule is skipped ("preconditions not met") unless they hold.
    #[serde(default, deserialize_with = "any_all_or_list")]
    pub preconditions: Option<AnyAllConditions>,
    /// CEL preconditions (not supported).
    #[serde(default)]
    pub cel_preconditions: Vec<Value>,
    /// Mutate rules (not supported).
    pub mutate: Option<Value>,
    /// Validate rules (not supported).
    pub validate: Option<Validation>,
    /// Generate rules (not supported).
    pub generate: Option<Value>,
    /// The image verifications.
    #[serde(default)]
    pub verify_images: Vec<ImageVerification>,
    /// Background request switch.
    pub skip_background_requests: Option<bool>,
}

/// `rules[].validate`: `pattern`, `anyPattern` and `deny` are evaluated; the other checks are
/// read so that a misspelling is reported, and refused as not supported.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Validation {
    /// Per-rule action.
    pub failure_action: Option<String>,
    /// Per-namespace overrides.
    #[serde(default)]
    pub failure_action_overrides: Vec<Value>,
    /// Existing-violation switch.
    pub allow_existing_violations: Option<bool>,
    /// Message.
    pub message: Option<String>,
    /// Signed manifests.
    pub manifests: Option<Value>,
    /// foreach: deny, pattern or anyPattern (or a nested foreach) per list element.
    pub foreach: Option<Vec<ForEachValidation>>,
    /// pattern.
    pub pattern: Option<Value>,
    /// anyPattern.
    pub any_pattern: Option<Value>,
    /// deny: the request is refused when the conditions hold.
    pub deny: Option<Deny>,
    /// podSecurity.
    pub pod_security: Option<Value>,
    /// cel.
    pub cel: Option<Value>,
    /// Deprecated assert.
    pub assert: Option<Value>,
}

impl Validation {
    /// The names of the checks this block sets, in schema order.
    fn checks(&self) -> Vec<&'static str> {
        [
            ("pattern", self.pattern.is_some()),
            ("anyPattern", self.any_pattern.is_some()),
            ("deny", self.deny.is_some()),
            ("foreach", self.foreach.is_some()),
            ("podSecurity", self.pod_security.is_some()),
            ("cel", self.cel.is_some()),
            ("manifests", self.manifests.is_some()),
            ("assert", self.assert.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect()
    }
}

/// `validate.foreach[]` (`api/kyverno/v1/common_types.go` `ForEachValidation`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForEachValidation {
    /// JMESPath query giving the elements.
    #[serde(default)]
    pub list: String,
    /// Whether patterns apply to the element (default: when it is an object).
    pub element_scope: Option<bool>,
    /// Context variables (not supported).
    #[serde(default)]
    pub context: Vec<Value>,
    /// Per-element preconditions.
    #[serde(default, deserialize_with = "any_all_or_list")]
    pub preconditions: Option<AnyAllConditions>,
    /// Pattern the element (or resource) must match.
    pub pattern: Option<Value>,
    /// Patterns one of which must match.
    pub any_pattern: Option<Value>,
    /// Conditions that deny.
    pub deny: Option<Deny>,
    /// Nested loops.
    pub foreach: Option<Vec<Self>>,
}

/// `match` / `exclude`: `any` (OR), `all` (AND), or the legacy inline `resources`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchResources {
    /// Any of these filters.
    #[serde(default)]
    pub any: Vec<ResourceFilter>,
    /// All of these filters.
    #[serde(default)]
    pub all: Vec<ResourceFilter>,
    /// Legacy form.
    pub resources: Option<ResourceDescription>,
    /// Legacy user info (not supported).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Legacy user info (not supported).
    #[serde(default)]
    pub cluster_roles: Vec<String>,
    /// Legacy user info (not supported).
    #[serde(default)]
    pub subjects: Vec<Value>,
}

/// One filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceFilter {
    /// The resource description.
    #[serde(default)]
    pub resources: ResourceDescription,
    /// User info (not supported).
    #[serde(default)]
    pub roles: Vec<String>,
    /// User info (not supported).
    #[serde(default)]
    pub cluster_roles: Vec<String>,
    /// User info (not supported).
    #[serde(default)]
    pub subjects: Vec<Value>,
}

/// `resources: {kinds, namespaces, names, name, selector, ...}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    /// Annotation wildcards (not supported).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Label selector on the resource's own labels (wildcards allowed in `matchLabels`).
    pub selector: Option<LabelSelector>,
    /// Namespace label selector (not supported: namespace labels are not known offline).
    pub namespace_selector: Option<Value>,
    /// Admission operations (`CREATE`, `UPDATE`, ...); `kyverno apply` evaluates CREATE.
    #[serde(default)]
    pub operations: Vec<String>,
}

/// A Kubernetes label selector (`metav1.LabelSelector`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// Labels that must be present with these values (Kyverno allows wildcards in both,
    /// `wildcards.ReplaceInSelector`).
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default)]
    pub match_expressions: Vec<LabelRequirement>,
}

/// `matchExpressions[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRequirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` / `NotIn`.
    #[serde(default)]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether `labels` satisfy the selector (Kubernetes semantics; an empty selector
    /// matches everything).
    pub fn matches(&self, labels: &serde_json::Map<String, Value>) -> bool {
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        self.match_labels.iter().all(|(k, v)| {
            labels.iter().any(|(lk, lv)| {
                wildcard_match(k, lk) && lv.as_str().is_some_and(|lv| wildcard_match(v, lv))
            })
        }) && self
            .match_expressions
            .iter()
            .all(|e| match e.operator.as_str() {
                "In" => label(&e.key).is_some_and(|v| e.values.iter().any(|x| x == v)),
                "NotIn" => label(&e.key).is_none_or(|v| !e.values.iter().any(|x| x == v)),
                "Exists" => labels.contains_key(&e.key),
                "DoesNotExist" => !labels.contains_key(&e.key),
                _ => false,
            })
    }
}

impl ResourceDescription {
    fn matches(&self, kind: &str, r: &crate::resource::Resource) -> bool {
        let (namespace, name) = (r.namespace.as_str(), r.name.as_str());
        let selector_ok = self.selector.as_ref().is_none_or(|s| {
            s.matches(
                r.object["metadata"]["labels"]
                    .as_object()
                    .unwrap_or(&serde_json::Map::new()),
            )
        });
        let op_ok = self.operations.is_empty() || self.operations.contains(&r.operation);
        let kind_ok = self.kinds.iter().any(|k| {
            let short = k.rsplit('/').next().unwrap_or(k);
            wildcard_match(short, kind)
        });
        let ns_ok = self.namespaces.is_empty()
            || self.namespaces.iter().any(|n| wildcard_match(n, namespace));
        let mut names = self.names.iter().chain(self.name.iter()).peekable();
        let name_ok = names.peek().is_none() || names.any(|n| wildcard_match(n, name));
        (self.kinds.is_empty() || kind_ok) && ns_ok && name_ok && selector_ok && op_ok
    }

    fn is_empty(&self) -> bool {
        self.kinds.is_empty()
            && self.namespaces.is_empty()
            && self.names.is_empty()
            && self.name.is_none()
            && self.selector.is_none()
            && self.namespace_selector.is_none()
            && self.annotations.is_empty()
            && self.operations.is_empty()
    }

    /// Fields set here that vouch does not evaluate.
    fn unsupported(&self) -> Vec<&'static str> {
        [
            ("annotations", !self.annotations.is_empty()),
            ("namespaceSelector", self.namespace_selector.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect()
    }
}

impl MatchResources {
    /// Whether `r` is selected, read as a resource of `kind` (`Pod` for the pod template of
    /// a controller under autogen): kinds, namespaces, names, label selector, operations.
    pub fn matches(&self, kind: &str, r: &crate::resource::Resource) -> bool {
        let legacy = self.resources.as_ref().is_none_or(|d| d.matches(kind, r));
        let any = self.any.is_empty() || self.any.iter().any(|f| f.resources.matches(kind, r));
        let all = self.all.iter().all(|f| f.resources.matches(kind, r));
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

    /// `(relative path, field)` of everything set here that vouch does not evaluate.
    fn unsupported(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        let user = |roles: &Vec<String>, cluster: &Vec<String>, subjects: &Vec<Value>| {
            [
                ("roles", !roles.is_empty()),
                ("clusterRoles", !cluster.is_empty()),
                ("subjects", !subjects.is_empty()),
            ]
            .into_iter()
            .filter_map(|(n, set)| set.then_some(n))
            .collect::<Vec<_>>()
        };
        for f in user(&self.roles, &self.cluster_roles, &self.subjects) {
            out.push((String::new(), f));
        }
        if let Some(r) = &self.resources {
            for f in r.unsupported() {
                out.push(("resources".into(), f));
            }
        }
        for (which, list) in [("any", &self.any), ("all", &self.all)] {
            for (i, filter) in list.iter().enumerate() {
                for f in user(&filter.roles, &filter.cluster_roles, &filter.subjects) {
                    out.push((format!("{which}[{i}]"), f));
                }
                for f in filter.resources.unsupported() {
                    out.push((format!("{which}[{i}].resources"), f));
                }
            }
        }
        out
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    /// Alternate signature repository (not supported).
    pub repository: Option<String>,
    /// Cosign's experimental OCI 1.1 discovery (not supported when true).
    #[serde(rename = "cosignOCI11")]
    pub cosign_oci11: Option<bool>,
    /// Rewrite tags to `tag@digest` (default true).
    pub mutate_digest: Option<bool>,
    /// Require a digest in the reference (default true).
    pub verify_digest: Option<bool>,
    /// Require a pass/skip record (default true).
    pub required: Option<bool>,
    /// Use the verification cache (default true).
    pub use_cache: Option<bool>,
    /// Deny conditions evaluated on the verified image data.
    pub validate: Option<ImageValidate>,
    /// Registry credentials (vouch uses the webhook's own credentials).
    pub image_registry_credentials: Option<RegistryCredentials>,
    /// Deprecated single pattern (converted into `imageReferences`).
    pub image: Option<String>,
    /// Deprecated inline key (converted into an attestor).
    pub key: Option<String>,
    /// Deprecated keyless roots (converted into an attestor).
    pub roots: Option<String>,
    /// Deprecated keyless subject (converted into an attestor).
    pub subject: Option<String>,
    /// Deprecated keyless issuer (converted into an attestor).
    pub issuer: Option<String>,
    /// Deprecated keyless extensions (not supported).
    #[serde(default)]
    pub additional_extensions: BTreeMap<String, String>,
    /// Deprecated signed annotations (converted into the attestor).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// `verifyImages[].imageRegistryCredentials`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryCredentials {
    /// Plain HTTP registries.
    pub allow_insecure_registry: Option<bool>,
    /// Cloud credential helpers.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Pull secrets.
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// `verifyImages[].validate`: `deny.conditions` over the verified image data.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageValidate {
    /// Message when denied (may hold variables).
    pub message: Option<String>,
    /// The deny conditions.
    pub deny: Option<Deny>,
}

/// `deny: {conditions}`: the conditions as `{any, all}` or the legacy list (all must hold).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deny {
    /// The conditions; the request is denied when they hold.
    #[serde(default, deserialize_with = "any_all_or_list")]
    pub conditions: Option<AnyAllConditions>,
}

fn any_all_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AnyAllConditions>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<Condition>),
        AnyAll(AnyAllConditions),
    }
    Ok(match Option::<Form>::deserialize(d)? {
        None => None,
        Some(Form::List(all)) => Some(AnyAllConditions { any: vec![], all }),
        Some(Form::AnyAll(c)) => Some(c),
    })
}

impl ImageVerification {
    /// The one storage scheme `type` reads. Kyverno (`pkg/engine/internal/imageverifier.go`
    /// `buildCosignVerifier`, `pkg/cosign/cosign.go` `VerifySignature`/`FetchAttestations`):
    /// `SigstoreBundle` reads only Sigstore bundles stored as OCI referrers; `Cosign`, the
    /// default, only cosign's `sha256-<hex>.sig` / `.att` tags. `Notary` is refused at load.
    pub fn scheme(&self) -> Scheme {
        match self.type_.as_deref() {
            Some("SigstoreBundle") => Scheme::Referrer,
            _ => Scheme::LegacyTag,
        }
    }

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

    /// Kyverno's `Convert()` (`api/kyverno/v1/image_verification_types.go`): the deprecated
    /// `image`, `key`, `issuer`/`subject`/`roots` and `annotations` become
    /// `imageReferences` and one attestor set (on the attestations when there are any).
    pub fn convert(&mut self) {
        if self.image.is_none() && self.key.is_none() && self.issuer.is_none() {
            return;
        }
        if let Some(image) = self.image.take() {
            self.image_references.push(image);
        }
        let kind = if let Some(key) = self.key.take() {
            Some(AttestorKind::Keys(StaticKeys {
                public_keys: Some(key),
                ..StaticKeys::default()
            }))
        } else {
            self.issuer.take().map(|issuer| {
                AttestorKind::Keyless(Keyless {
                    issuer: Some(issuer),
                    subject: self.subject.take(),
                    roots: self.roots.take(),
                    ..Keyless::default()
                })
            })
        };
        let Some(kind) = kind else {
            return;
        };
        let set = AttestorSet {
            count: None,
            entries: vec![Attestor {
                kind,
                annotations: std::mem::take(&mut self.annotations),
                repository: None,
                signature_algorithm: None,
            }],
        };
        if self.attestations.is_empty() {
            self.attestors.push(set);
        } else {
            for a in &mut self.attestations {
                a.attestors.push(set.clone());
            }
        }
    }
}

/// `attestors[]`: `count` of `entries` must verify (unset = all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttestorSet {
    /// Required number of verified entries (1 to the number of entries).
    pub count: Option<i64>,
    /// The entries.
    #[serde(default)]
    pub entries: Vec<Attestor>,
}

impl AttestorSet {
    /// How many entries must verify: `count`, or all of them when unset.
    pub fn required(&self) -> usize {
        match self.count {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => self.entries.len(),
        }
    }
}

/// One attestor entry: exactly one kind of trust, plus what every kind may carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "RawAttestor")]
pub struct Attestor {
    /// What verifies the signature.
    pub kind: AttestorKind,
    /// Signed annotations that must be present.
    pub annotations: BTreeMap<String, String>,
    /// Per-attestor signature repository (not supported).
    pub repository: Option<String>,
    /// Deprecated per-entry hash algorithm.
    pub signature_algorithm: Option<String>,
}

/// Exactly one of `keys`, `certificates`, `keyless`, `attestor` (Kyverno's
/// `Attestor.Validate`: "keys, certificates, keyless, or a nested attestor is required").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttestorKind {
    /// Public keys.
    Keys(StaticKeys),
    /// Certificates.
    Certificates(Certificates),
    /// Fulcio identities.
    Keyless(Keyless),
    /// A nested attestor set.
    Nested(Box<AttestorSet>),
}

impl Attestor {
    /// An entry of this kind with nothing else set.
    pub fn new(kind: AttestorKind) -> Self {
        Self {
            kind,
            annotations: BTreeMap::new(),
            repository: None,
            signature_algorithm: None,
        }
    }

    /// `keys`, `keyless`, `certificates` or `attestor`, for messages (`.entries[0].keyless`).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            AttestorKind::Keys(_) => "keys",
            AttestorKind::Keyless(_) => "keyless",
            AttestorKind::Certificates(_) => "certificates",
            AttestorKind::Nested(_) => "attestor",
        }
    }

    /// The static keys, if this is a `keys` entry.
    pub fn keys(&self) -> Option<&StaticKeys> {
        match &self.kind {
            AttestorKind::Keys(k) => Some(k),
            _ => None,
        }
    }

    /// The keyless identity, if this is a `keyless` entry.
    pub fn keyless(&self) -> Option<&Keyless> {
        match &self.kind {
            AttestorKind::Keyless(k) => Some(k),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAttestor {
    keys: Option<StaticKeys>,
    certificates: Option<Certificates>,
    keyless: Option<Keyless>,
    attestor: Option<Box<AttestorSet>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    repository: Option<String>,
    signature_algorithm: Option<String>,
}

impl TryFrom<RawAttestor> for Attestor {
    type Error = String;

    fn try_from(raw: RawAttestor) -> Result<Self, String> {
        let kind = match (raw.keys, raw.certificates, raw.keyless, raw.attestor) {
            (Some(k), None, None, None) => AttestorKind::Keys(k),
            (None, Some(c), None, None) => AttestorKind::Certificates(c),
            (None, None, Some(k), None) => AttestorKind::Keyless(k),
            (None, None, None, Some(a)) => AttestorKind::Nested(a),
            _ => {
                return Err(
                    "exactly one of keys, certificates, keyless or attestor is required".into(),
                );
            }
        };
        Ok(Self {
            kind,
            annotations: raw.annotations,
            repository: raw.repository,
            signature_algorithm: raw.signature_algorithm,
        })
    }
}

/// `keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaticKeys {
    /// PEM public key(s).
    pub public_keys: Option<String>,
    /// KMS URI (not supported offline).
    pub kms: Option<String>,
    /// Secret reference (not supported: no API server).
    pub secret: Option<SecretRef>,
    /// Transparency log settings.
    pub rekor: Option<Rekor>,
    /// CT log settings.
    pub ctlog: Option<CtLog>,
    /// Deprecated hash algorithm.
    pub signature_algorithm: Option<String>,
}

/// `keys.secret`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// Secret name.
    #[serde(default)]
    pub name: String,
    /// Secret namespace.
    #[serde(default)]
    pub namespace: String,
}

/// `certificates`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    /// PEM Fulcio chain: when set, the only CAs this attestor trusts.
    pub roots: Option<String>,
    /// Fulcio extension (OID) to wildcard (not supported).
    #[serde(default)]
    pub additional_extensions: BTreeMap<String, String>,
    /// Transparency log settings.
    pub rekor: Option<Rekor>,
    /// CT log settings.
    pub ctlog: Option<CtLog>,
}

/// `rekor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rekor {
    /// Log URL (never contacted by vouch; entries are checked offline).
    pub url: Option<String>,
    /// PEM log key: when set, the only log this attestor trusts.
    pub pubkey: Option<String>,
    /// Skip the transparency log check.
    #[serde(default)]
    pub ignore_tlog: bool,
}

/// `ctlog`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CtLog {
    /// Skip the SCT check.
    #[serde(rename = "ignoreSCT", default)]
    pub ignore_sct: bool,
    /// PEM CT log key: when set, the only CT log this attestor trusts.
    pub pubkey: Option<String>,
    /// PEM RFC 3161 TSA chain (not supported).
    pub tsa_cert_chain: Option<String>,
}

/// `attestations[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
    /// Every mistake Kyverno would reject and every feature vouch does not evaluate
    /// (`not supported: ...`), each with its field path. Empty means valid and fully
    /// evaluated.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = self.structural();
        out.extend(self.unsupported());
        out
    }

    /// [`Policy::validate`] without the unsupported features (`--ignore-unsupported`: rules
    /// using them are reported as `skip` when evaluated instead).
    pub fn validate_structure(&self) -> Vec<Problem> {
        self.structural()
    }

    fn structural(&self) -> Vec<Problem> {
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
        for (path, fp) in [
            ("spec.failurePolicy", spec.failure_policy.as_deref()),
            (
                "spec.webhookConfiguration.failurePolicy",
                spec.webhook_configuration
                    .as_ref()
                    .and_then(|w| w.failure_policy.as_deref()),
            ),
        ] {
            if fp.is_some_and(|f| !matches!(f, "Fail" | "Ignore")) {
                push(path.into(), "must be Fail or Ignore");
            }
        }
        if spec
            .apply_rules
            .as_deref()
            .is_some_and(|a| !matches!(a, "All" | "One"))
        {
            push("spec.applyRules".into(), "must be All or One");
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
            let types = usize::from(rule.validate.is_some())
                + usize::from(rule.mutate.is_some())
                + usize::from(rule.generate.is_some())
                + usize::from(!rule.verify_images.is_empty());
            if types != 1 {
                push(
                    rp.clone(),
                    "a rule needs exactly one of validate, mutate, generate or verifyImages",
                );
            }
            if let Some(v) = &rule.validate
                && v.checks().is_empty()
            {
                push(
                    format!("{rp}.validate"),
                    "one of pattern, anyPattern, deny, foreach, podSecurity, cel, manifests or assert is required",
                );
            }
            if let Some(pre) = &rule.preconditions {
                validate_conditions(pre, &format!("{rp}.preconditions"), &mut push);
            }
            if let Some(v) = &rule.validate {
                // `deny: {}` denies unconditionally, as in Kyverno (the policy library's
                // restrict-jobs relies on it).
                if let Some(c) = v.deny.as_ref().and_then(|d| d.conditions.as_ref()) {
                    validate_conditions(c, &format!("{rp}.validate.deny.conditions"), &mut push);
                }
                if let Some(list) = &v.foreach {
                    validate_foreach_entries(list, &format!("{rp}.validate.foreach"), 0, &mut push);
                }
                if let Some(m) = &v.message {
                    validate_expressions(
                        &Value::String(m.clone()),
                        &format!("{rp}.validate.message"),
                        &mut push,
                    );
                }
            }
            for (v, vi) in rule.verify_images.iter().enumerate() {
                validate_verification(spec, vi, &format!("{rp}.verifyImages[{v}]"), &mut push);
            }
        }
        out
    }

    /// Every feature set in this policy that vouch does not evaluate, as
    /// `not supported: <what>` at its path. Loading refuses them unless told to skip the
    /// rules using them.
    pub fn unsupported(&self) -> Vec<Problem> {
        let mut out = policy_unsupported(&self.spec);
        for (r, rule) in self.spec.rules.iter().enumerate() {
            out.extend(rule_unsupported(rule, &format!("spec.rules[{r}]")));
        }
        out
    }

    /// Why rule `r` cannot be evaluated as written, if it cannot: the first unsupported
    /// feature of the policy or of the rule (`spec.rules[0].validate.pattern: not supported:
    /// ...`).
    pub fn rule_skip_reason(&self, r: usize) -> Option<String> {
        let rule = self.spec.rules.get(r)?;
        policy_unsupported(&self.spec)
            .into_iter()
            .chain(rule_unsupported(rule, &format!("spec.rules[{r}]")))
            .next()
            .map(|p| p.to_string())
    }
}

fn not_supported(path: String, what: &str) -> Problem {
    Problem {
        path,
        message: format!("not supported: {what}"),
    }
}

fn policy_unsupported(spec: &Spec) -> Vec<Problem> {
    let mut out = Vec::new();
    if spec.apply_rules.as_deref() == Some("One") {
        out.push(not_supported(
            "spec.applyRules".into(),
            "applyRules One (vouch applies every matching rule)",
        ));
    }
    if !spec.validation_failure_action_overrides.is_empty() {
        out.push(not_supported(
            "spec.validationFailureActionOverrides".into(),
            "per-namespace failure actions",
        ));
    }
    if spec
        .webhook_configuration
        .as_ref()
        .is_some_and(|w| !w.match_conditions.is_empty())
    {
        out.push(not_supported(
            "spec.webhookConfiguration.matchConditions".into(),
            "CEL match conditions",
        ));
    }
    out
}

/// Whether `name` is in the context vouch gives a rule: `request` (`object`, `operation`)
/// and, inside `foreach`, `element`, `elementIndex`, `element<N>`, `elementIndex<N>`.
/// Kyverno's other variables (`images`, `serviceAccountName`, context entries, ...) are not.
fn known_root(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    matches!(name, "request" | "element" | "elementIndex")
        || name
            .strip_prefix("elementIndex")
            .or_else(|| name.strip_prefix("element"))
            .is_some_and(digits)
}

/// Collects the variable roots of a conditions block at a path.
type ConditionRoots = dyn Fn(&AnyAllConditions, &str, &mut Vec<(String, String)>);

/// Every variable a validate rule or its preconditions read that vouch's context lacks.
fn unknown_variables(rule: &Rule, rp: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let conditions = |c: &AnyAllConditions, path: &str, found: &mut Vec<(String, String)>| {
        for (which, list) in [("any", &c.any), ("all", &c.all)] {
            for (k, cnd) in list.iter().enumerate() {
                let cp = format!("{path}.{which}[{k}]");
                crate::conditions::variable_roots(&cnd.key, &format!("{cp}.key"), found);
                crate::conditions::variable_roots(&cnd.value, &format!("{cp}.value"), found);
            }
        }
    };
    if let Some(pre) = &rule.preconditions {
        conditions(pre, &format!("{rp}.preconditions"), &mut found);
    }
    if let Some(v) = &rule.validate {
        if let Some(m) = &v.message {
            crate::conditions::variable_roots(
                &Value::String(m.clone()),
                &format!("{rp}.validate.message"),
                &mut found,
            );
        }
        if let Some(c) = v.deny.as_ref().and_then(|d| d.conditions.as_ref()) {
            conditions(c, &format!("{rp}.validate.deny.conditions"), &mut found);
        }
        fn each(
            list: &[ForEachValidation],
            path: &str,
            found: &mut Vec<(String, String)>,
            conditions: &ConditionRoots,
        ) {
            for (i, fe) in list.iter().enumerate() {
                let fp = format!("{path}[{i}]");
                crate::conditions::variable_roots(
                    &Value::String(format!("{{{{ {} }}}}", fe.list)),
                    &format!("{fp}.list"),
                    found,
                );
                if let Some(pre) = &fe.preconditions {
                    conditions(pre, &format!("{fp}.preconditions"), found);
                }
                if let Some(c) = fe.deny.as_ref().and_then(|d| d.conditions.as_ref()) {
                    conditions(c, &format!("{fp}.deny.conditions"), found);
                }
                if let Some(nested) = &fe.foreach {
                    each(nested, &format!("{fp}.foreach"), found, conditions);
                }
            }
        }
        if let Some(list) = &v.foreach {
            each(
                list,
                &format!("{rp}.validate.foreach"),
                &mut found,
                &conditions,
            );
        }
    }
    found.retain(|(_, name)| !known_root(name));
    found
}

fn rule_unsupported(rule: &Rule, rp: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |path: String, what: &str| out.push(not_supported(path, what));
    for (path, name) in unknown_variables(rule, rp) {
        push(
            path,
            &format!(
                "variable {name} (vouch's context holds request.object, request.operation, element and elementIndex)"
            ),
        );
    }
    if !rule.context.is_empty() {
        push(format!("{rp}.context"), "context variables");
    }
    if rule.image_extractors.is_some() {
        push(format!("{rp}.imageExtractors"), "custom image extractors");
    }
    if !rule.cel_preconditions.is_empty() {
        push(format!("{rp}.celPreconditions"), "CEL preconditions");
    }
    if rule.mutate.is_some() {
        push(
            format!("{rp}.mutate"),
            "mutate rules are not evaluated by vouch",
        );
    }
    if rule.generate.is_some() {
        push(
            format!("{rp}.generate"),
            "generate rules are not evaluated by vouch",
        );
    }
    if let Some(v) = &rule.validate {
        let checks = v.checks();
        match checks.as_slice() {
            // pattern and anyPattern are evaluated ([`crate::pattern`]) within its subset;
            // deny through [`crate::conditions`].
            ["pattern"] | ["anyPattern"] | ["deny"] | ["foreach"] => {
                if let Some(list) = &v.foreach {
                    let mut found = Vec::new();
                    foreach_unsupported(list, &format!("{rp}.validate.foreach"), &mut found);
                    for (path, what) in found {
                        push(path, &what);
                    }
                }
                if !v.failure_action_overrides.is_empty() {
                    push(
                        format!("{rp}.validate.failureActionOverrides"),
                        "per-namespace failure actions",
                    );
                }
                let mut found = Vec::new();
                if let Some(p) = &v.pattern {
                    crate::pattern::unsupported(p, &format!("{rp}.validate.pattern"), &mut found);
                }
                match &v.any_pattern {
                    Some(Value::Array(list)) => {
                        for (i, p) in list.iter().enumerate() {
                            crate::pattern::unsupported(
                                p,
                                &format!("{rp}.validate.anyPattern[{i}]"),
                                &mut found,
                            );
                        }
                    }
                    Some(_) => found.push((
                        format!("{rp}.validate.anyPattern"),
                        "anyPattern that is not a list".into(),
                    )),
                    None => {}
                }
                for (path, what) in found {
                    push(path, &what);
                }
            }
            _ => {
                let first = checks.first().copied().unwrap_or("");
                let path = if first.is_empty() {
                    format!("{rp}.validate")
                } else {
                    format!("{rp}.validate.{first}")
                };
                push(
                    path,
                    "validate rules other than pattern, anyPattern, deny and foreach are not evaluated by vouch",
                );
            }
        }
    }
    for (block, m) in std::iter::once(("match", Some(&rule.match_)))
        .chain(std::iter::once(("exclude", rule.exclude.as_ref())))
    {
        let Some(m) = m else { continue };
        for (rel, field) in m.unsupported() {
            let path = if rel.is_empty() {
                format!("{rp}.{block}.{field}")
            } else {
                format!("{rp}.{block}.{rel}.{field}")
            };
            push(path, &format!("{field} in {block}"));
        }
    }
    for (v, vi) in rule.verify_images.iter().enumerate() {
        let vp = format!("{rp}.verifyImages[{v}]");
        if vi.type_.as_deref() == Some("Notary") {
            push(format!("{vp}.type"), "Notary signatures");
        }
        // Kyverno then reads cosign's experimental OCI 1.1 referrers (cosign's
        // `ExperimentalOCI11` check option), a storage format vouch does not read: evaluating
        // the entry as a plain `type` would accept signatures Kyverno does not look at.
        if vi.cosign_oci11 == Some(true) {
            push(
                format!("{vp}.cosignOCI11"),
                "cosign's experimental OCI 1.1 signatures",
            );
        }
        if vi.repository.is_some() {
            push(
                format!("{vp}.repository"),
                "signatures in another repository",
            );
        }
        if !vi.additional_extensions.is_empty() {
            push(
                format!("{vp}.additionalExtensions"),
                "Fulcio certificate extensions",
            );
        }
        if let Some(validate) = &vi.validate
            && validate
                .deny
                .as_ref()
                .is_none_or(|d| d.conditions.is_none())
        {
            // An empty deny can never deny; refuse it rather than guess what was meant.
            push(
                format!("{vp}.validate.deny.conditions"),
                "a validate block without deny conditions",
            );
        }
        for (s, set) in vi.attestors.iter().enumerate() {
            set_unsupported(set, &format!("{vp}.attestors[{s}]"), true, &mut push);
        }
        for (a, att) in vi.attestations.iter().enumerate() {
            for (s, set) in att.attestors.iter().enumerate() {
                set_unsupported(
                    set,
                    &format!("{vp}.attestations[{a}].attestors[{s}]"),
                    false,
                    &mut push,
                );
            }
        }
    }
    out
}

/// What vouch does not evaluate inside `foreach` entries: context variables and pattern
/// forms outside [`crate::pattern`]'s subset.
fn foreach_unsupported(list: &[ForEachValidation], path: &str, out: &mut Vec<(String, String)>) {
    for (i, fe) in list.iter().enumerate() {
        let fp = format!("{path}[{i}]");
        if !fe.context.is_empty() {
            out.push((format!("{fp}.context"), "context variables".into()));
        }
        if let Some(p) = &fe.pattern {
            crate::pattern::unsupported(p, &format!("{fp}.pattern"), out);
        }
        match &fe.any_pattern {
            Some(Value::Array(ps)) => {
                for (j, p) in ps.iter().enumerate() {
                    crate::pattern::unsupported(p, &format!("{fp}.anyPattern[{j}]"), out);
                }
            }
            Some(_) => out.push((
                format!("{fp}.anyPattern"),
                "anyPattern that is not a list".into(),
            )),
            None => {}
        }
        if let Some(nested) = &fe.foreach {
            foreach_unsupported(nested, &format!("{fp}.foreach"), out);
        }
    }
}

/// Kyverno's structural rules for `foreach` entries, and every expression in them.
fn validate_foreach_entries(
    list: &[ForEachValidation],
    path: &str,
    depth: usize,
    push: &mut impl FnMut(String, &str),
) {
    if depth > 4 {
        push(path.to_owned(), "foreach nested too deeply");
        return;
    }
    for (i, fe) in list.iter().enumerate() {
        let fp = format!("{path}[{i}]");
        if fe.list.trim().is_empty() {
            push(format!("{fp}.list"), "a list expression is required");
        } else {
            // `list` is a bare JMESPath expression; `{{ }}` inside it is substituted first.
            let bare = Value::String(format!("{{{{ {} }}}}", fe.list));
            validate_expressions(&bare, &format!("{fp}.list"), push);
        }
        let kinds = usize::from(fe.pattern.is_some())
            + usize::from(fe.any_pattern.is_some())
            + usize::from(fe.deny.is_some())
            + usize::from(fe.foreach.is_some());
        if kinds != 1 {
            push(
                fp.clone(),
                "exactly one of pattern, anyPattern, deny or foreach is required",
            );
        }
        if let Some(pre) = &fe.preconditions {
            validate_conditions(pre, &format!("{fp}.preconditions"), push);
        }
        if let Some(c) = fe.deny.as_ref().and_then(|d| d.conditions.as_ref()) {
            validate_conditions(c, &format!("{fp}.deny.conditions"), push);
        }
        if let Some(nested) = &fe.foreach {
            validate_foreach_entries(nested, &format!("{fp}.foreach"), depth + 1, push);
        }
    }
}

fn set_unsupported(
    set: &AttestorSet,
    path: &str,
    signatures: bool,
    push: &mut impl FnMut(String, &str),
) {
    for (e, entry) in set.entries.iter().enumerate() {
        let ep = format!("{path}.entries[{e}]");
        if entry.repository.is_some() {
            push(
                format!("{ep}.repository"),
                "signatures in another repository",
            );
        }
        if !entry.annotations.is_empty() && !signatures {
            push(
                format!("{ep}.annotations"),
                "signed annotations on attestations",
            );
        }
        if entry
            .signature_algorithm
            .as_deref()
            .is_some_and(|a| a != "sha256")
        {
            push(
                format!("{ep}.signatureAlgorithm"),
                "hash algorithms other than sha256",
            );
        }
        let tsa = |ctlog: &Option<CtLog>, kp: &str, push: &mut dyn FnMut(String, &str)| {
            if ctlog.as_ref().is_some_and(|c| c.tsa_cert_chain.is_some()) {
                push(
                    format!("{kp}.ctlog.tsaCertChain"),
                    "RFC 3161 timestamp authorities",
                );
            }
        };
        match &entry.kind {
            AttestorKind::Keys(k) => {
                let kp = format!("{ep}.keys");
                if let Some(Err(reason)) = k.kms.as_deref().map(crate::sigstore::kms_key_ref) {
                    push(format!("{kp}.kms"), &reason);
                }
                if k.secret.is_some() {
                    push(format!("{kp}.secret"), "keys in Secrets (no API server)");
                }
                if let Some(pem) = &k.public_keys
                    && (pem.contains("{{") || pem.trim_start().starts_with("k8s://"))
                {
                    push(
                        format!("{kp}.publicKeys"),
                        "keys from variables or Secrets (inline PEM only)",
                    );
                }
                if k.signature_algorithm
                    .as_deref()
                    .is_some_and(|a| a != "sha256")
                {
                    push(
                        format!("{kp}.signatureAlgorithm"),
                        "hash algorithms other than sha256",
                    );
                }
                tsa(&k.ctlog, &kp, push);
            }
            AttestorKind::Certificates(_) => {
                push(format!("{ep}.certificates"), "certificate attestors");
            }
            AttestorKind::Keyless(k) => {
                let kp = format!("{ep}.keyless");
                if !k.additional_extensions.is_empty() {
                    push(
                        format!("{kp}.additionalExtensions"),
                        "Fulcio certificate extensions",
                    );
                }
                tsa(&k.ctlog, &kp, push);
            }
            AttestorKind::Nested(inner) => {
                set_unsupported(inner, &format!("{ep}.attestor"), signatures, push);
            }
        }
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
    if vi.attestors.is_empty() && vi.attestations.is_empty() {
        // Kyverno accepts an entry that verifies nothing (it only pins digests); vouch
        // refuses it: a policy that says "verify images" must name who signs them.
        push(
            path.to_owned(),
            "attestors or attestations are required (an entry that verifies nothing is refused)",
        );
    }
    for (s, set) in vi.attestors.iter().enumerate() {
        validate_set(set, ty, &format!("{path}.attestors[{s}]"), 0, push);
    }
    for (a, att) in vi.attestations.iter().enumerate() {
        let ap = format!("{path}.attestations[{a}]");
        if att.predicate_type().is_none_or(str::is_empty) {
            push(format!("{ap}.type"), "a predicate type is required");
        }
        if att.attestors.is_empty() {
            // Kyverno then verifies with an empty attestor and SCTs off (#17125); vouch
            // refuses an attestation nobody is required to have signed.
            push(
                format!("{ap}.attestors"),
                "attestors are required (an attestation nobody must have signed is refused)",
            );
        }
        for (s, set) in att.attestors.iter().enumerate() {
            validate_set(set, ty, &format!("{ap}.attestors[{s}]"), 0, push);
        }
        for (c, cond) in att.conditions.iter().enumerate() {
            validate_conditions(cond, &format!("{ap}.conditions[{c}]"), push);
        }
    }
    if let Some(c) = vi
        .validate
        .as_ref()
        .and_then(|v| v.deny.as_ref())
        .and_then(|d| d.conditions.as_ref())
    {
        validate_conditions(c, &format!("{path}.validate.deny.conditions"), push);
    }
    if let Some(m) = vi.validate.as_ref().and_then(|v| v.message.as_ref()) {
        validate_expressions(
            &Value::String(m.clone()),
            &format!("{path}.validate.message"),
            push,
        );
    }
}

fn validate_conditions(cond: &AnyAllConditions, path: &str, push: &mut impl FnMut(String, &str)) {
    for (which, list) in [("any", &cond.any), ("all", &cond.all)] {
        for (k, cnd) in list.iter().enumerate() {
            let cp = format!("{path}.{which}[{k}]");
            // Kyverno's `validateConditions`: "entered value of `key`, `value` or `operator`
            // is missing or misspelled"; operators compare case-insensitively.
            if !OPERATORS
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&cnd.operator))
            {
                push(format!("{cp}.operator"), "unknown operator");
            }
            if cnd.key.is_null() {
                push(format!("{cp}.key"), "a condition needs a key");
            }
            if cnd.value.is_null() {
                push(format!("{cp}.value"), "a condition needs a value");
            }
            validate_expressions(&cnd.key, &format!("{cp}.key"), push);
            validate_expressions(&cnd.value, &format!("{cp}.value"), push);
            if let Some(m) = &cnd.message {
                validate_expressions(&Value::String(m.clone()), &format!("{cp}.message"), push);
            }
        }
    }
}

/// Every `{{ }}` must parse and call only functions vouch evaluates.
fn validate_expressions(v: &Value, path: &str, push: &mut impl FnMut(String, &str)) {
    let mut found = Vec::new();
    crate::conditions::check_expressions(v, path, &mut found);
    for (p, m) in found {
        push(p, &m);
    }
}

fn validate_set(
    set: &AttestorSet,
    ty: &str,
    path: &str,
    depth: usize,
    push: &mut impl FnMut(String, &str),
) {
    if set.entries.is_empty() {
        push(format!("{path}.entries"), "an attestor set needs entries");
    }
    if let Some(c) = set.count
        && (c < 1 || usize::try_from(c).is_ok_and(|c| c > set.entries.len()))
    {
        push(
            format!("{path}.count"),
            "count must be between 1 and the number of entries",
        );
    }
    if depth > 3 {
        push(path.to_owned(), "attestor sets nested too deeply");
        return;
    }
    for (e, entry) in set.entries.iter().enumerate() {
        let ep = format!("{path}.entries[{e}]");
        if ty == "Notary" && matches!(entry.kind, AttestorKind::Keys(_) | AttestorKind::Keyless(_))
        {
            push(ep.clone(), "Notary verification accepts only certificates");
        }
        if let Some(a) = &entry.signature_algorithm
            && !matches!(a.as_str(), "sha224" | "sha256" | "sha384" | "sha512")
        {
            push(
                format!("{ep}.signatureAlgorithm"),
                "must be sha224, sha256, sha384 or sha512",
            );
        }
        match &entry.kind {
            AttestorKind::Keys(k) => {
                if k.public_keys.as_deref().is_none_or(str::is_empty)
                    && k.kms.is_none()
                    && k.secret.is_none()
                {
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
                validate_logs(&k.rekor, &k.ctlog, &format!("{ep}.keys"), push);
            }
            AttestorKind::Certificates(c) => {
                if c.cert.is_none() && c.cert_chain.is_none() {
                    push(
                        format!("{ep}.certificates"),
                        "one of cert or certChain is required",
                    );
                }
            }
            AttestorKind::Keyless(k) => {
                let kp = format!("{ep}.keyless");
                if k.rekor.is_none() && k.roots.as_deref().is_none_or(str::is_empty) {
                    push(kp.clone(), "either a rekor URL or roots are required");
                }
                if k.rekor
                    .as_ref()
                    .is_some_and(|r| r.url.as_deref().is_none_or(str::is_empty))
                {
                    push(format!("{kp}.rekor.url"), "a rekor URL is required");
                }
                for (field, re) in [
                    ("subjectRegExp", &k.subject_regexp),
                    ("issuerRegExp", &k.issuer_regexp),
                ] {
                    if let Some(re) = re
                        && regex::Regex::new(re).is_err()
                    {
                        push(format!("{kp}.{field}"), "not a valid regular expression");
                    }
                }
                if let Some(roots) = &k.roots
                    && crate::trust::parse_certificates(roots).is_err()
                {
                    push(format!("{kp}.roots"), "not a PEM certificate chain");
                }
                validate_logs(&k.rekor, &k.ctlog, &kp, push);
            }
            AttestorKind::Nested(inner) => {
                validate_set(inner, ty, &format!("{ep}.attestor"), depth + 1, push);
            }
        }
    }
}

fn validate_logs(
    rekor: &Option<Rekor>,
    ctlog: &Option<CtLog>,
    path: &str,
    push: &mut impl FnMut(String, &str),
) {
    if let Some(pem) = rekor.as_ref().and_then(|r| r.pubkey.as_deref())
        && vouch_sign::VerifyingKey::from_pem(pem.trim()).is_err()
    {
        push(format!("{path}.rekor.pubkey"), "not a PEM public key");
    }
    if let Some(pem) = ctlog.as_ref().and_then(|c| c.pubkey.as_deref())
        && vouch_sign::VerifyingKey::from_pem(pem.trim()).is_err()
    {
        push(format!("{path}.ctlog.pubkey"), "not a PEM public key");
    }
}
