//! `vouch admission serve`: the Kubernetes admission webhook (AdmissionReview v1 over HTTPS).

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
}

pub(crate) fn run(command: AdmissionCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        AdmissionCommand::Serve(a) => serve(&a, ctx),
    }
}

fn serve(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    let mut docs = Documents::default();
    for f in &args.policies {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.display().to_string();
        docs.add(vouch_policy::parse_documents(&text, &name, &limits)?, &name)?;
    }
    let policies = docs.policy_set();
    if policies.is_empty() {
        bail!("no Kyverno ClusterPolicy/Policy or ClusterImagePolicy in the policy files");
    }
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
