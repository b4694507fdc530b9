//! `vouch admission serve`: the Kubernetes admission webhook (AdmissionReview v1 over HTTPS);
//! `vouch admission manifests`: the objects that install it (the single source of `deploy/`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use vouch_admission::{CacheConfig, Config, Webhook};
use vouch_policy::{Documents, Limits, NoMatch};

use super::registry_options;
use crate::cli::Context;

const SERVE_HELP: &str = "\
Endpoints (HTTPS only):
  POST /mutate     AdmissionReview v1 -> allowed with a JSONPatch pinning each verified tag
                   to tag@sha256:... (mutateDigest; the digest pinned is the one verified),
                   or denied with a message naming the resource, policy, rule, image and
                   failed check; Audit (Kyverno) and mode: warn (ClusterImagePolicy)
                   failures are admitted with warnings
  POST /validate   the same without patches, as Kyverno's validating webhook (it sees the
                   object after mutation): only rules with verifyDigest or required take
                   part; verifyDigest refuses a tag without a digest ('missing digest for
                   IMAGE'), required verifies the image (vouch verifies; it does not trust
                   an annotation the requester could set)
  GET  /healthz, /readyz, /metrics (Prometheus text)

Policies: Kyverno ClusterPolicy/Policy verifyImages rules and sigstore policy-controller
ClusterImagePolicy (v1beta1/v1alpha1), validated at start (a mistake exits 1 naming its path).

Each tag is resolved to its digest on every review (concurrent reviews of one tag share a
registry request; digest-pinned references are not resolved); verification results are
cached by digest (--cache-ttl, --cache-negative-ttl, --cache-size), so a moved tag is
verified again.
Each review has a deadline (--timeout, and at most the API server's ?timeout= minus 1 s): at
the deadline the answer is a denial naming the timeout, or allowed with a warning when no
policy fails closed. Dry-run reviews are evaluated like others: the webhook has no side
effects beyond its cache and metrics (sideEffects: None).

Decision log: one JSON line per answered review on stderr (or appended to --decision-log
FILE): uid, namespace, name, kind, operation, endpoint, dry_run, images (as written, with the
digest verified), rule (policy/rule that decided), attestor, verdict (allow|deny), reason,
warnings, latency_ms; with -v also explain (how each tag was resolved: a registry request or
joining one in flight; whether each check was a cache hit).

Registry credentials: --creds, or the auth files ($REGISTRY_AUTH_FILE, a mounted
~/.docker/config.json). The pod's imagePullSecrets are not read: the webhook has no API
server client. Trust for keyless identities and log entries: --trusted-root only; nothing
else is contacted (no TUF, Rekor, CT log or Fulcio).

Exit codes:
  0  stopped by SIGINT/SIGTERM
  1  error: unreadable or invalid policy, bad certificate or key, address in use";

/// `vouch admission`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdmissionCommand {
    /// Serve the admission webhook over HTTPS (/validate, /mutate, /healthz, /metrics).
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Print the Kubernetes objects that install the webhook (kubectl apply -f -).
    #[command(after_help = MANIFESTS_HELP)]
    Manifests(ManifestsArgs),
}

const MANIFESTS_HELP: &str = "\
Objects, in apply order: Namespace, ServiceAccount, ConfigMap (the policies), Service,
Deployment, ValidatingWebhookConfiguration (/validate), MutatingWebhookConfiguration
(/mutate, reinvocationPolicy IfNeeded). Both webhooks: failurePolicy Fail, sideEffects None,
admissionReviewVersions [v1], timeoutSeconds --timeout-seconds with the webhook's own deadline
(--timeout of serve) 2 s below it so the webhook's answer arrives first, and a
namespaceSelector excluding the webhook's own namespace and kube-system (the webhook never
gates its own pods). The serving certificate is a kubernetes.io/tls Secret you create:
  kubectl -n vouch-system create secret tls vouch-admission-tls --cert=tls.crt --key=tls.key
valid for vouch-admission.<namespace>.svc; --ca-bundle is the CA that signed it (without
it caBundle is left out and the API server cannot reach the webhook: every matched request
is refused until it is set).

The policies are validated here as serve validates them (a mistake exits 1 naming its path)
and stored under their file names. -o yaml (default, multi-document) or -o json (a v1 List).

Example:
  vouch admission manifests --image registry.example/vouch:0.1.0 --policy policy.yaml \\
    --ca-bundle ca.crt | kubectl apply -f -";

/// The image when --image is not given: the release `scripts/image` builds and signs.
const DEFAULT_IMAGE: &str = concat!("ghcr.io/vouch-dev/vouch:", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Args)]
pub(crate) struct ManifestsArgs {
    /// Namespace of the webhook's Deployment, Service, ServiceAccount and ConfigMap.
    #[arg(long, value_name = "NS", default_value = "vouch-system")]
    namespace: String,
    /// Name of the kubernetes.io/tls Secret holding the serving certificate and key.
    #[arg(long, value_name = "NAME", default_value = "vouch-admission-tls")]
    tls_secret: String,
    /// PEM file of the CA that signed the serving certificate (the webhooks' caBundle).
    #[arg(long, value_name = "FILE")]
    ca_bundle: Option<PathBuf>,
    /// Container image of vouch.
    #[arg(long, value_name = "REF", default_value = DEFAULT_IMAGE)]
    image: String,
    /// Policy files enforced (Kyverno ClusterPolicy/Policy, ClusterImagePolicy).
    #[arg(long = "policy", value_name = "FILE", required = true, num_args = 1..)]
    policies: Vec<PathBuf>,
    /// Webhook replicas.
    #[arg(long, value_name = "N", default_value_t = 2)]
    replicas: u32,
    /// The webhooks' timeoutSeconds (3..=30; the API server allows 1..30); serve's --timeout is 2 s less.
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(3..=30))]
    timeout_seconds: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NoMatchArg {
    Allow,
    Deny,
    Warn,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Policy files (Kyverno ClusterPolicy/Policy, ClusterImagePolicy; multi-document YAML).
    #[arg(long = "policy", value_name = "FILE", required = true, num_args = 1..)]
    policies: Vec<PathBuf>,
    /// PEM certificate chain served (valid for <service>.<namespace>.svc).
    #[arg(long, value_name = "PEM")]
    tls_cert: PathBuf,
    /// PEM private key of the certificate.
    #[arg(long, value_name = "PEM")]
    tls_key: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    listen: String,
    /// Trust for keyless identities and transparency log entries.
    #[command(flatten)]
    trust: crate::cmd::trust::TrustArgs,
    /// Deadline for one review, in milliseconds (keep it below the webhook's timeoutSeconds).
    #[arg(long, value_name = "MS", default_value_t = 8000)]
    timeout: u64,
    /// How long a verified result is cached, in seconds (0 disables caching).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    cache_ttl: u64,
    /// How long a failed verification is cached, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    cache_negative_ttl: u64,
    /// Cache entries kept.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    cache_size: usize,
    /// Images no ClusterImagePolicy matches (when any is loaded): policy-controller's
    /// no-match-policy; deny is its fail-closed default.
    #[arg(long, value_enum, default_value = "deny")]
    no_match_policy: NoMatchArg,
    /// Print the listening address on stdout once ready (for scripts and tests).
    #[arg(long)]
    print_address: bool,
    /// Append the decision log (one JSON line per review) to FILE instead of stderr.
    #[arg(long, value_name = "FILE")]
    decision_log: Option<PathBuf>,
}

pub(crate) fn run(command: AdmissionCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        AdmissionCommand::Serve(a) => serve(&a, ctx),
        AdmissionCommand::Manifests(a) => manifests(&a, ctx),
    }
}

/// Reads and validates policy files as serve does; returns the policy set.
fn load_policies(files: &[PathBuf]) -> anyhow::Result<vouch_policy::PolicySet> {
    let limits = Limits::default();
    let mut docs = Documents::default();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.display().to_string();
        docs.add(vouch_policy::parse_documents(&text, &name, &limits)?, &name)?;
    }
    let policies = docs.policy_set();
    if policies.is_empty() {
        bail!("no Kyverno ClusterPolicy/Policy or ClusterImagePolicy in the policy files");
    }
    Ok(policies)
}

fn manifests(args: &ManifestsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    use serde_json::json;
    let json_out = match ctx.outputs.last().map(String::as_str) {
        None | Some("yaml") => false,
        Some("json") => true,
        Some(other) => bail!("-o {other}: admission manifests prints yaml or json"),
    };
    let policies = load_policies(&args.policies)?;
    if let Some((policy, problems)) = policies.validate().into_iter().next() {
        bail!(
            "policy {policy}: {}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    // ConfigMap keys are the file names (RFC 1123-ish: [-._a-zA-Z0-9]+, as the API server
    // checks `IsConfigMapKey`), each mounted at /etc/vouch/policies/<name>.
    let mut data = serde_json::Map::new();
    let mut policy_args = Vec::new();
    for f in &args.policies {
        let key = f
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|k| {
                !k.is_empty()
                    && k.len() <= 253
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
            .with_context(|| {
                format!(
                    "--policy {}: the file name is the ConfigMap key, so it must be letters, digits, '-', '_' or '.'",
                    f.display()
                )
            })?;
        if data.contains_key(key) {
            bail!(
                "--policy {}: two policy files named {key} (ConfigMap keys must differ)",
                f.display()
            );
        }
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        data.insert(key.to_owned(), json!(text));
        policy_args.push(format!("--policy=/etc/vouch/policies/{key}"));
    }
    let ca_bundle = match &args.ca_bundle {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading --ca-bundle {}", path.display()))?;
            let certs = x509_cert::Certificate::load_pem_chain(&pem).map_err(|e| {
                anyhow::anyhow!("--ca-bundle {}: not PEM certificates: {e}", path.display())
            })?;
            if certs.is_empty() {
                bail!("--ca-bundle {}: no certificate in the file", path.display());
            }
            use base64::Engine as _;
            Some(base64::engine::general_purpose::STANDARD.encode(&pem))
        }
        None => {
            if !ctx.quiet {
                eprintln!(
                    "vouch: warning: no --ca-bundle: the webhooks have no caBundle, so the API server cannot verify the webhook and refuses every matched request until one is set"
                );
            }
            None
        }
    };
    let ns = args.namespace.as_str();
    let name = "vouch-admission";
    let labels = json!({"app.kubernetes.io/name": name});
    let deadline_ms = (u64::from(args.timeout_seconds) - 2) * 1000;
    let mut container_args = vec![json!("admission"), json!("serve")];
    container_args.extend(policy_args.into_iter().map(|a| json!(a)));
    container_args.extend([
        json!("--tls-cert=/etc/vouch/tls/tls.crt"),
        json!("--tls-key=/etc/vouch/tls/tls.key"),
        json!("--listen=0.0.0.0:8443"),
        json!(format!("--timeout={deadline_ms}")),
    ]);
    let namespace = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": {
            "app.kubernetes.io/name": name,
            "pod-security.kubernetes.io/enforce": "restricted"}},
    });
    let service_account = json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        // The webhook has no API server client (it reads no pods' imagePullSecrets).
        "automountServiceAccountToken": false,
    });
    let config_map = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("{name}-policies"), "namespace": ns, "labels": labels},
        "data": data,
    });
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"selector": labels, "ports": [
            {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]},
    });
    let probe = |path: &str, period: u32| json!({"httpGet": {"path": path, "port": "https", "scheme": "HTTPS"}, "periodSeconds": period});
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": args.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": false,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "webhook",
                        "image": args.image,
                        "args": container_args,
                        "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"}],
                        "readinessProbe": probe("/readyz", 5),
                        "livenessProbe": probe("/healthz", 10),
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"memory": "256Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [
                            {"name": "policies", "mountPath": "/etc/vouch/policies", "readOnly": true},
                            {"name": "tls", "mountPath": "/etc/vouch/tls", "readOnly": true}],
                    }],
                    "volumes": [
                        {"name": "policies", "configMap": {"name": format!("{name}-policies")}},
                        {"name": "tls", "secret": {"secretName": args.tls_secret}}],
                },
            },
        },
    });
    let webhook = |kind: &str, hook: &str, path: &str| {
        let mut client =
            json!({"service": {"name": name, "namespace": ns, "path": path, "port": 443}});
        if let Some(ca) = &ca_bundle {
            client["caBundle"] = json!(ca);
        }
        let rule = |group: &str, resources: &[&str]| {
            json!({"operations": ["CREATE", "UPDATE"], "apiGroups": [group],
                   "apiVersions": ["v1"], "resources": resources})
        };
        let mut w = json!({
            "name": hook,
            "clientConfig": client,
            "rules": [
                rule("", &["pods", "pods/ephemeralcontainers"]),
                rule("apps", &["deployments", "replicasets", "statefulsets", "daemonsets"]),
                rule("batch", &["jobs", "cronjobs"]),
            ],
            // Never the webhook's own namespace (its pods must start when it is down) nor
            // kube-system; kubernetes.io/metadata.name is set by the API server on every
            // namespace (Kubernetes >= 1.21), so it cannot be forgotten or forged by a label.
            "namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "NotIn",
                "values": [ns, "kube-system"]}]},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "timeoutSeconds": args.timeout_seconds,
            "admissionReviewVersions": ["v1"],
        });
        if kind == "MutatingWebhookConfiguration" {
            w["reinvocationPolicy"] = json!("IfNeeded");
        }
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name, "labels": labels},
            "webhooks": [w],
        })
    };
    let objects = [
        namespace,
        service_account,
        config_map,
        service,
        deployment,
        webhook(
            "ValidatingWebhookConfiguration",
            "validate.admission.vouch.dev",
            "/validate",
        ),
        webhook(
            "MutatingWebhookConfiguration",
            "mutate.admission.vouch.dev",
            "/mutate",
        ),
    ];
    let mut out = String::new();
    if json_out {
        out = serde_json::to_string_pretty(
            &json!({"apiVersion": "v1", "kind": "List", "items": objects}),
        )?;
        out.push('\n');
    } else {
        for o in &objects {
            out.push_str("---\n");
            out.push_str(&serde_norway::to_string(o)?);
        }
    }
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let policies = load_policies(&args.policies)?;
    if !ctx.quiet {
        for p in &policies.image_policies {
            for w in p.warnings() {
                eprintln!("vouch: warning: ClusterImagePolicy {}: {w}", p.name);
            }
        }
    }
    // Resolved once at start-up: the webhook never fetches trust while serving.
    let trust = args.trust.resolve(ctx)?.root;
    let timeout = Duration::from_millis(args.timeout.max(100));
    let mut registry = registry_options(ctx)?;
    // Inside a deadline: one attempt, connect quickly, no read longer than the deadline.
    registry.http.retry.attempts = 1;
    registry.http.connect_timeout = timeout.min(Duration::from_secs(3));
    registry.http.read_timeout = timeout;
    let mut config = Config::new(policies, trust, registry);
    config.timeout = timeout;
    config.cache = CacheConfig {
        ttl: Duration::from_secs(args.cache_ttl),
        negative_ttl: Duration::from_secs(args.cache_negative_ttl),
        max_entries: args.cache_size,
    };
    config.no_match = match args.no_match_policy {
        NoMatchArg::Allow => NoMatch::Allow,
        NoMatchArg::Deny => NoMatch::Deny,
        NoMatchArg::Warn => NoMatch::Warn,
    };
    let verbose = ctx.verbose > 0;
    config.decision_log = Some(std::sync::Arc::new(match &args.decision_log {
        Some(path) => vouch_admission::DecisionLog::file(path, verbose)
            .with_context(|| format!("opening --decision-log {}", path.display()))?,
        None => vouch_admission::DecisionLog::stderr(verbose),
    }));
    let webhook = Webhook::new(config)?;
    let cert = std::fs::read(&args.tls_cert)
        .with_context(|| format!("reading --tls-cert {}", args.tls_cert.display()))?;
    let key = std::fs::read(&args.tls_key)
        .with_context(|| format!("reading --tls-key {}", args.tls_key.display()))?;
    let tls = vouch_admission::server::tls_config(&cert, &key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(webhook.config().limits.max_in_flight + 8)
        .build()?;
    runtime.block_on(async {
        let tcp = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = tcp.local_addr()?;
        if args.print_address {
            println!("{addr}");
        }
        if !ctx.quiet {
            eprintln!("vouch: admission webhook listening on https://{addr}");
        }
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = async {
                    match term.as_mut() {
                        Some(t) => { t.recv().await; }
                        None => std::future::pending().await,
                    }
                } => {}
            }
        };
        vouch_admission::server::serve(webhook, tcp, tls, shutdown).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
