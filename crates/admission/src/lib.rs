//! vouch's Kubernetes admission webhook: AdmissionReview v1 over HTTPS, enforcing Kyverno
//! `verifyImages` policies and policy-controller `ClusterImagePolicy`s offline.
//!
//! * [`Webhook`]: the policies, the [`VerificationCache`] (by digest, TTL, size bound, short
//!   negative entries) and [`Metrics`]; [`Webhook::review`] answers one review body and
//!   [`Webhook::evaluate`] is the synchronous core (also used by the benchmark).
//! * [`server`]: [`server::serve`] runs `/validate`, `/mutate`, `/healthz`, `/readyz` and
//!   `/metrics` over rustls ([`server::tls_config`]).
//! * [`review`]: the AdmissionReview request and response shapes.
//!
//! Behaviour (notes §5): `/mutate` answers allowed or denied, the denial naming the image,
//! policy, rule and failed check; Audit/`warn` failures are admitted with `warnings`; it pins
//! each verified tag to `tag@sha256:…` with a base64 JSONPatch. `/validate` is Kyverno's
//! validating phase ([`vouch_policy::Phase::Validate`]): it sees the object after mutation,
//! refuses tags without a digest (`verifyDigest`) and verifies (`required`).
//! Tags are resolved on every review, concurrent resolutions of one tag coalesced
//! ([`TagResolver`]); digest-pinned references are never resolved. Each
//! review has a deadline below the API server's `timeoutSeconds`; at the deadline the answer
//! is a denial naming the timeout (allowed with a warning when no loaded policy fails closed).
//!
//! Side effects: none besides the verification cache and metrics, so dry-run reviews
//! (`sideEffects: None`) are evaluated exactly like others. Registry credentials come from the
//! webhook's own configuration (`--creds`, a mounted docker config / `REGISTRY_AUTH_FILE`):
//! without an API server client the pod's `imagePullSecrets` cannot be read.
#![forbid(unsafe_code)]

pub mod cache;
pub mod decision;
mod error;
pub mod metrics;
pub mod resolve;
pub mod review;
pub mod server;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;
use vouch_oci::RegistryOptions;
use vouch_policy::eval::patch_json;
use vouch_policy::eval::{CheckError, ImageVerifier};
use vouch_policy::kyverno::Attestor;
use vouch_policy::{
    ImageInfo, NoMatch, Options, Phase, PolicySet, Resource, SigstoreVerifier, Status,
};
use vouch_sign::TrustedRoot;

pub use cache::{CacheConfig, CachedVerifier, VerificationCache};
pub use decision::{DecisionLog, DecisionRecord, LoggedImage, Trace};
pub use error::{Error, Result};
pub use metrics::Metrics;
pub use resolve::TagResolver;
pub use review::{Parsed, Request, Verdict};

/// Bounds on untrusted input and work.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request body bytes. 3 MiB: the API server's own request limit is 3 MiB and etcd
    /// objects are at most about 1.5 MiB; anything larger is not from an API server.
    pub max_body_bytes: usize,
    /// Reviews evaluated at once. 64: each holds a blocking thread while it talks to the
    /// registry; more waiting reviews are answered at once as overloaded instead of queueing
    /// past their deadline.
    pub max_in_flight: usize,
    /// Policy and resource bounds (containers per object, …).
    pub policy: vouch_policy::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 3 << 20,
            max_in_flight: 64,
            policy: vouch_policy::Limits::default(),
        }
    }
}

/// Everything the webhook needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The policies enforced.
    pub policies: PolicySet,
    /// Trust for keyless identities and transparency log entries.
    pub trust: TrustedRoot,
    /// How registries are reached (credentials, CA, timeouts).
    pub registry: RegistryOptions,
    /// Input bounds.
    pub limits: Limits,
    /// Cache bounds.
    pub cache: CacheConfig,
    /// Deadline for one review. 8 s by default: under the API server's default
    /// `timeoutSeconds` of 10 so the answer (a denial naming the timeout) arrives before the
    /// API server gives up. A shorter `?timeout=` from the API server wins (minus 1 s).
    pub timeout: Duration,
    /// Images no `ClusterImagePolicy` matches (when any is loaded).
    pub no_match: NoMatch,
    /// Where one JSON line per answered review goes ([`decision`]); none by default.
    pub decision_log: Option<Arc<DecisionLog>>,
}

impl Config {
    /// A configuration with default limits, cache and timeout.
    pub fn new(policies: PolicySet, trust: TrustedRoot, registry: RegistryOptions) -> Self {
        Self {
            policies,
            trust,
            registry,
            limits: Limits::default(),
            cache: CacheConfig::default(),
            timeout: Duration::from_secs(8),
            no_match: NoMatch::default(),
            decision_log: None,
        }
    }
}

/// Which endpoint a review arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/validate`: allowed or denied.
    Validate,
    /// `/mutate`: also digest pins.
    Mutate,
}

/// The webhook's state, shared by all requests.
#[derive(Debug)]
pub struct Webhook {
    config: Config,
    /// Long-lived (open repositories and their connections are reused), without its own
    /// unbounded memo: results go through `cache`.
    verifier: Arc<SigstoreVerifier>,
    /// Tag resolutions, coalesced across concurrent reviews (never remembered).
    resolver: TagResolver,
    cache: VerificationCache,
    metrics: Metrics,
    slots: Arc<Semaphore>,
    fails_closed: bool,
}

/// An answer: HTTP status and JSON body.
#[derive(Debug)]
pub struct Answer {
    /// 200 for every AdmissionReview response; 400 when the body is not one.
    pub status: u16,
    /// The body.
    pub body: Value,
}

impl Webhook {
    /// Validates the policies and builds the webhook.
    pub fn new(mut config: Config) -> Result<Arc<Self>> {
        // One HTTP connection pool for every repository of a registry host: reviews touch
        // many repositories, and `Registry::open` would otherwise build a pool per repository.
        // Only a performance matter, so a client that cannot be built here leaves the
        // per-repository default (which then reports the same error where it is used).
        if config.registry.shared_client.is_none()
            && let Ok(shared) = config.registry.clone().with_shared_client()
        {
            config.registry = shared;
        }
        if let Some((policy, problems)) = config.policies.validate().into_iter().next() {
            return Err(Error::Policy {
                policy,
                reason: problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        Ok(Arc::new(Self {
            verifier: Arc::new(
                SigstoreVerifier::new(config.trust.clone(), config.registry.clone()).without_memo(),
            ),
            resolver: TagResolver::new(),
            cache: VerificationCache::new(config.cache.clone()),
            metrics: Metrics::default(),
            slots: Arc::new(Semaphore::new(config.limits.max_in_flight.max(1))),
            fails_closed: config.policies.fails_closed(),
            config,
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Prometheus exposition of the counters.
    pub fn metrics_text(&self) -> String {
        self.metrics
            .render(self.cache.stats(), self.resolver.stats())
    }

    /// The cache (for statistics).
    pub fn cache(&self) -> &VerificationCache {
        &self.cache
    }

    /// The tag resolver (for statistics).
    pub fn resolver(&self) -> &TagResolver {
        &self.resolver
    }

    /// Answers one request body, within the deadline: `min(config.timeout, api_timeout - 1s)`.
    pub async fn review(
        self: &Arc<Self>,
        endpoint: Endpoint,
        body: &[u8],
        api_timeout: Option<Duration>,
    ) -> Answer {
        let start = Instant::now();
        let mutate = endpoint == Endpoint::Mutate;
        let request = match review::parse(body) {
            Parsed::Request(r) => r,
            Parsed::Malformed { uid: None, reason } => {
                self.metrics
                    .record(mutate, metrics::Outcome::Malformed, start.elapsed());
                return Answer {
                    status: 400,
                    body: serde_json::json!({"error": reason.to_string()}),
                };
            }
            Parsed::Malformed {
                uid: Some(uid),
                reason,
            } => {
                self.metrics
                    .record(mutate, metrics::Outcome::Malformed, start.elapsed());
                return Answer {
                    status: 200,
                    body: Verdict::deny(format!("vouch: {reason}")).to_review(&uid),
                };
            }
        };
        if request.dry_run == Some(true) {
            self.metrics.dry_run();
        }
        let deadline = match api_timeout {
            Some(t) => self
                .config
                .timeout
                .min(t.saturating_sub(Duration::from_secs(1)))
                .max(Duration::from_millis(500)),
            None => self.config.timeout,
        };
        let uid = request.uid.clone();
        let (verdict, trace) = match Arc::clone(&self.slots).try_acquire_owned() {
            Err(_) => {
                self.metrics.overloaded();
                (
                    self.unfinished(
                        &request,
                        "every evaluation slot is busy (webhook overloaded)",
                    ),
                    self.unfinished_trace(&request),
                )
            }
            Ok(permit) => {
                let this = Arc::clone(self);
                let req = request.clone();
                let task = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    this.evaluate_traced(endpoint, &req)
                });
                match tokio::time::timeout(deadline, task).await {
                    Ok(Ok(v)) => v,
                    Ok(Err(e)) => (
                        self.unfinished(&request, &format!("evaluation failed: {e}")),
                        self.unfinished_trace(&request),
                    ),
                    Err(_) => {
                        self.metrics.timeout();
                        (
                            self.unfinished(
                                &request,
                                &format!(
                                    "verification did not finish within the {} ms deadline (registry slow or unreachable)",
                                    deadline.as_millis()
                                ),
                            ),
                            self.unfinished_trace(&request),
                        )
                    }
                }
            }
        };
        let outcome = if verdict.allowed {
            metrics::Outcome::Allowed
        } else {
            metrics::Outcome::Denied
        };
        self.metrics.record(mutate, outcome, start.elapsed());
        if let Some(log) = &self.config.decision_log {
            log.write(&decision_record(
                endpoint,
                &request,
                &verdict,
                trace,
                start.elapsed(),
                log.verbose(),
            ));
        }
        Answer {
            status: 200,
            body: verdict.to_review(&uid),
        }
    }

    /// What the decision log says about a review whose evaluation did not finish: its images
    /// as written (digests only where the reference pins one: nothing was resolved in time).
    fn unfinished_trace(&self, request: &Request) -> Trace {
        let images = Resource::from_value(request.object.clone())
            .images(&self.config.limits.policy)
            .unwrap_or_default()
            .into_iter()
            .map(|c| LoggedImage {
                digest: ImageInfo::parse(&c.image).ok().and_then(|i| i.digest),
                image: c.image,
            })
            .collect();
        Trace {
            images,
            ..Trace::default()
        }
    }

    /// The answer when evaluation could not finish: a denial when any policy fails closed,
    /// otherwise admitted with a warning.
    fn unfinished(&self, request: &Request, why: &str) -> Verdict {
        let what = describe(request);
        if self.fails_closed {
            Verdict::deny(format!(
                "vouch: {what} denied: {why}; failing closed (an Enforce policy with failurePolicy Fail applies)"
            ))
        } else {
            Verdict {
                warnings: vec![format!("vouch: {what} not verified: {why}")],
                ..Verdict::allow()
            }
        }
    }

    /// Evaluates one request synchronously (blocking registry I/O).
    pub fn evaluate(&self, endpoint: Endpoint, request: &Request) -> Verdict {
        self.evaluate_traced(endpoint, request).0
    }

    /// [`Webhook::evaluate`], with what the decision log records: the images and their
    /// digests, the deciding rule and attestor, tag resolutions and cache hits.
    pub fn evaluate_traced(&self, endpoint: Endpoint, request: &Request) -> (Verdict, Trace) {
        let mut trace = Trace::default();
        let verdict = self.judge(endpoint, request, &mut trace);
        if trace.reason.is_none() {
            trace.reason = Some(if verdict.allowed {
                "no policy rule applies".to_owned()
            } else {
                verdict.message.clone().unwrap_or_default()
            });
        }
        (verdict, trace)
    }

    fn judge(&self, endpoint: Endpoint, request: &Request, trace: &mut Trace) -> Verdict {
        if matches!(request.operation.as_str(), "DELETE" | "CONNECT") {
            trace.reason = Some(format!("{} is not checked", request.operation));
            return Verdict::allow();
        }
        if request.object.is_null() {
            // CREATE/UPDATE always carry the object; one without it cannot be verified, so it
            // is refused under any policy that matches the resource (issue 19 item 5).
            let mut stub = Resource::from_value(serde_json::json!({
                "kind": request.kind["kind"],
                "metadata": {
                    "name": request.name.as_deref().unwrap_or_default(),
                    "namespace": request.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default"),
                },
            }));
            if !request.operation.is_empty() {
                request.operation.clone_into(&mut stub.operation);
            }
            let matching = self.config.policies.matching(&stub);
            if matching.is_empty() {
                return Verdict::allow();
            }
            return Verdict::deny(format!(
                "vouch: {} denied: request.object is missing on {}, so its images cannot be verified (policies: {})",
                describe(request),
                if request.operation.is_empty() {
                    "an unnamed operation"
                } else {
                    &request.operation
                },
                matching.join(", ")
            ));
        }
        let mut resource = Resource::from_value(request.object.clone());
        if !request.operation.is_empty() {
            request.operation.clone_into(&mut resource.operation);
        }
        if request.object["metadata"]["namespace"].as_str().is_none()
            && let Some(ns) = request.namespace.as_deref().filter(|n| !n.is_empty())
        {
            ns.clone_into(&mut resource.namespace);
        }
        if resource.name.is_empty()
            && let Some(n) = &request.name
        {
            n.clone_into(&mut resource.name);
        }
        if resource.pod_spec_pointer().is_none() {
            trace.reason = Some(format!("{} has no pod template", resource.kind));
            return Verdict::allow();
        }
        let phase = match endpoint {
            Endpoint::Mutate => Phase::Mutate,
            Endpoint::Validate => Phase::Validate,
        };
        // Tags are resolved on every review (never cached), all of them at once, sharing
        // requests already in flight for the same tag; digest-pinned references are not
        // resolved at all (`tags_to_resolve` leaves them out).
        let resolved = match self.config.policies.tags_to_resolve(
            &resource,
            &self.config.limits.policy,
            phase,
        ) {
            Ok(tags) => {
                let answers = self.resolver.resolve_all_traced(&self.verifier, &tags);
                tags.into_iter()
                        .zip(answers)
                        .map(|(tag, (answer, joined))| {
                            trace.explain.push(match (&answer, joined) {
                                (Ok(d), false) => format!("tag {} resolved to {d} (registry request)", tag.fetch_reference()),
                                (Ok(d), true) => format!("tag {} resolved to {d} (joined a request in flight for another review)", tag.fetch_reference()),
                                (Err(CheckError::Failed(e) | CheckError::Error(e)), _) => {
                                    format!("tag {} not resolved: {e}", tag.fetch_reference())
                                },
                            });
                            (tag, answer)
                        })
                        .collect::<Vec<_>>()
            }
            Err(_) => Vec::new(),
        };
        trace.images = resource
            .images(&self.config.limits.policy)
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                let digest = ImageInfo::parse(&c.image).ok().and_then(|info| {
                    info.digest.clone().or_else(|| {
                        resolved
                            .iter()
                            .find(|(i, _)| *i == info)
                            .and_then(|(_, r)| r.as_ref().ok().cloned())
                    })
                });
                LoggedImage {
                    image: c.image,
                    digest,
                }
            })
            .collect();
        let prefetched = Prefetched {
            resolved,
            inner: self.verifier.as_ref(),
        };
        let explain = std::sync::Mutex::new(Vec::new());
        let verifier = CachedVerifier {
            cache: &self.cache,
            inner: &prefetched,
            trace: Some(&explain),
        };
        let options = Options {
            audit_warn: false,
            no_match: self.config.no_match,
            phase,
        };
        let report = match vouch_policy::evaluate(
            &self.config.policies,
            &resource,
            &verifier,
            options,
            &self.config.limits.policy,
        ) {
            Ok(r) => r,
            Err(e) => {
                trace.reason = Some(e.to_string());
                return Verdict::deny(format!(
                    "vouch: {} {}/{}: {e}",
                    resource.kind, resource.namespace, resource.name
                ));
            }
        };
        let warnings: Vec<String> = report
            .results
            .iter()
            .filter(|r| {
                !r.enforce && matches!(r.status, Status::Fail | Status::Error | Status::Warn)
            })
            .map(|r| format!("{}/{}: {}", r.policy, r.rule, r.message))
            .collect();
        trace
            .explain
            .extend(explain.into_inner().unwrap_or_default());
        if let Some(r) = report
            .results
            .iter()
            .find(|r| r.enforce && matches!(r.status, Status::Fail | Status::Error))
        {
            trace.rule = Some(format!("{}/{}", r.policy, r.rule));
            trace.reason = Some(r.message.clone());
        } else if let Some(r) = report.results.iter().find(|r| !r.evidence.is_empty()) {
            trace.rule = Some(format!("{}/{}", r.policy, r.rule));
            trace.attestor = r.evidence.first().map(|d| d.attestor.clone());
            trace.reason = Some(
                r.evidence
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        } else if let Some(r) = report.results.first() {
            trace.rule = Some(format!("{}/{}", r.policy, r.rule));
            trace.reason = Some(format!("{}: {}", r.status.name(), r.message));
        }
        if report.blocked() {
            // Kyverno's GetBlockedMessages shape (notes §2.7).
            let mut m = format!(
                "\n\nresource {}/{}/{} was blocked due to the following policies\n\n",
                resource.kind, resource.namespace, resource.name
            );
            let mut last = "";
            for r in report
                .results
                .iter()
                .filter(|r| r.enforce && matches!(r.status, Status::Fail | Status::Error))
            {
                if r.policy != last {
                    let _ = writeln!(m, "{}:", r.policy);
                    last = &r.policy;
                }
                let _ = writeln!(m, "  {}: {}", r.rule, r.message);
            }
            return Verdict {
                warnings,
                ..Verdict::deny(m)
            };
        }
        let patch = (endpoint == Endpoint::Mutate && !report.patches.is_empty())
            .then(|| patch_json(&report.patches));
        // What decided the admission, for the audit log: each attestor entry and check.
        let decided: Vec<String> = report
            .results
            .iter()
            .flat_map(|r| {
                r.evidence
                    .iter()
                    .map(move |d| format!("{}/{}: {d}", r.policy, r.rule))
            })
            .collect();
        let mut audit_annotations = std::collections::BTreeMap::new();
        if !decided.is_empty() {
            audit_annotations.insert("verified-by".to_owned(), decided.join("; "));
        }
        Verdict {
            patch,
            warnings,
            audit_annotations,
            ..Verdict::allow()
        }
    }
}

/// Answers `resolve` from the resolutions made up front; everything else goes to `inner`.
struct Prefetched<'a> {
    resolved: Vec<(ImageInfo, Result<String, CheckError>)>,
    inner: &'a dyn ImageVerifier,
}

impl ImageVerifier for Prefetched<'_> {
    fn resolve(&self, image: &ImageInfo) -> Result<String, CheckError> {
        match self.resolved.iter().find(|(i, _)| i == image) {
            Some((_, r)) => r.clone(),
            None => self.inner.resolve(image),
        }
    }

    fn verify_signature(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<vouch_policy::Scheme>,
        attestor: &Attestor,
    ) -> Result<vouch_policy::Evidence, CheckError> {
        self.inner.verify_signature(image, digest, scheme, attestor)
    }

    fn verify_attestations(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<vouch_policy::Scheme>,
        predicate_type: &str,
        attestor: &Attestor,
    ) -> Result<Vec<vouch_policy::VerifiedStatement>, CheckError> {
        self.inner
            .verify_attestations(image, digest, scheme, predicate_type, attestor)
    }
}

fn decision_record(
    endpoint: Endpoint,
    request: &Request,
    verdict: &Verdict,
    trace: Trace,
    latency: Duration,
    verbose: bool,
) -> DecisionRecord {
    let name = request
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .or_else(|| request.object["metadata"]["name"].as_str())
        .or_else(|| request.object["metadata"]["generateName"].as_str())
        .unwrap_or_default();
    let reason = trace
        .reason
        .or_else(|| verdict.message.clone())
        .unwrap_or_default();
    DecisionRecord {
        uid: request.uid.clone(),
        namespace: request.namespace.clone().unwrap_or_default(),
        name: name.to_owned(),
        kind: request.kind["kind"]
            .as_str()
            .or_else(|| request.object["kind"].as_str())
            .unwrap_or_default()
            .to_owned(),
        operation: request.operation.clone(),
        endpoint: match endpoint {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        },
        dry_run: request.dry_run == Some(true),
        images: trace.images,
        rule: trace.rule,
        attestor: trace.attestor,
        verdict: if verdict.allowed { "allow" } else { "deny" },
        reason,
        warnings: verdict.warnings.clone(),
        latency_ms: latency.as_secs_f64() * 1000.0,
        explain: verbose.then_some(trace.explain),
    }
}

fn describe(request: &Request) -> String {
    let kind = request.kind["kind"]
        .as_str()
        .or_else(|| request.object["kind"].as_str())
        .unwrap_or("object");
    let name = request
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .or_else(|| request.object["metadata"]["name"].as_str())
        .or_else(|| request.object["metadata"]["generateName"].as_str())
        .unwrap_or_default();
    format!(
        "{kind} {}/{name}",
        request.namespace.as_deref().unwrap_or_default()
    )
}

/// Parses the API server's `?timeout=` value (`10s`, `1500ms`, `1m`).
pub fn parse_timeout(s: &str) -> Option<Duration> {
    let (n, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = n.parse().ok()?;
    match unit {
        "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}
