//! `vouch policy apply`: Kyverno `verifyImages` policies and policy-controller
//! `ClusterImagePolicy`s evaluated against resource files, like `kyverno apply`, verified
//! offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use vouch_policy::{Documents, Limits, NoMatch, Options, ResourceReport, SigstoreVerifier, Status};
use vouch_sign::TrustedRoot;

use super::registry_options;
use crate::cli::Context;
use crate::output::emit;

/// Exit code when a rule failed or errored.
pub(crate) const EXIT_VIOLATIONS: u8 = 3;

const APPLY_HELP: &str = "\
Policies: Kyverno ClusterPolicy / Policy (kyverno.io/v1) with verifyImages rules, as written
for Kyverno: imageReferences / skipImageReferences (Kyverno wildcards: * crosses /), attestors
with count, keys (inline PEM publicKeys) and keyless (subject/issuer wildcards or
subjectRegExp/issuerRegExp) entries, rekor.ignoreTlog and ctlog.ignoreSCT, attestations with
type and conditions, mutateDigest, verifyDigest, failureAction Enforce/Audit, match/exclude on
kinds and namespaces. Rules matching only Pods also apply to the pod templates of Deployments,
ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs (Kyverno autogen: autogen-<rule>,
autogen-cronjob-<rule>). Policies are read strictly: an unknown field is refused with its path
and the nearest known name (`spec.rules[0].verifyImages[0].atestors: unknown field, did you
mean attestors?`), and a mistake Kyverno rejects is reported with its field path. A feature
vouch does not evaluate (validate/mutate/generate rules, preconditions, selectors, KMS keys,
certificate attestors, ...) refuses to load with `not supported: <path>`; with
--ignore-unsupported the rules using one are reported as `skip` with the reason.

Trust per attestor, as Kyverno: keyless.roots (PEM CA chain), rekor.pubkey and ctlog.pubkey
are the only CAs/logs that entry trusts; --trusted-root supplies only what an entry does not
carry. A ClusterImagePolicy's keyless.ca-cert.data and the TrustRoot resources (spec.sigstoreKeys,
in the policy files) named by trustRootRef work the same way.

sigstore policy-controller ClusterImagePolicy (policy.sigstore.dev/v1beta1, v1alpha1) too:
images globs (* within a path component, ** across), authorities key (inline data PEM),
keyless (identities issuer/subject exact or issuerRegExp/subjectRegExp) and static pass/fail,
attestations (name + predicateType), mode enforce/warn. Any one authority passing satisfies a
policy; every policy matching an image must pass; an image no ClusterImagePolicy matches
follows --no-match-policy. CUE/Rego policies, key secretRef/kms, source and rfc3161timestamp
are rejected as unsupported.

Each tag is resolved to its digest first; signatures, attestations and the --mutated pin all
use that digest. Only the registry holding the images is contacted: trust comes from the
policy's inline keys and --trusted-root, never from TUF, Rekor or a CT log.

Output: one line per rule and resource (pass, fail, warn, error, skip) and the summary line
`pass: N, fail: N, warn: N, error: N, skip: N`.

Exit codes:
  0  no rule failed or errored
  1  error: unreadable or invalid policy, unreadable resources, bad --trusted-root
  2  usage error
  3  a rule failed (fail) or could not be checked (error), as `kyverno apply` exits 1";

/// `vouch policy`.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Evaluate Kyverno verifyImages policies against resource files (exit 3 on violations).
    #[command(after_help = APPLY_HELP)]
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// Policy files (multi-document YAML or JSON).
    #[arg(value_name = "POLICY", required = true)]
    policies: Vec<PathBuf>,
    /// Resource files: Pods, Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs,
    /// CronJobs (multi-document YAML; `kind: List` is flattened).
    #[arg(short = 'r', long = "resource", value_name = "FILE", required = true)]
    resources: Vec<PathBuf>,
    /// Write every resource, with verified tags rewritten to tag@digest, to FILE
    /// (multi-document YAML; `kyverno apply -o`).
    #[arg(long, value_name = "FILE")]
    mutated: Option<PathBuf>,
    /// Sigstore trusted_root.json for keyless attestors and transparency log entries.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// Report failures of Audit rules (and ClusterImagePolicy mode: warn) as warn instead
    /// of fail.
    #[arg(long)]
    audit_warn: bool,
    /// Images no ClusterImagePolicy matches (when any is loaded): policy-controller's
    /// no-match-policy; deny is its fail-closed default.
    #[arg(long, value_enum, default_value = "deny")]
    no_match_policy: NoMatchArg,
    /// Load policies that use features vouch does not evaluate (validate, mutate and
    /// generate rules, preconditions, selectors, KMS keys, ...): each rule using one is
    /// reported as `skip` with the reason instead of failing to load.
    #[arg(long)]
    ignore_unsupported: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NoMatchArg {
    Allow,
    Deny,
    Warn,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplyReport {
    rules: usize,
    resources: Vec<ResourceReport>,
    summary: Summary,
}

#[derive(Serialize, Default)]
struct Summary {
    pass: usize,
    fail: usize,
    warn: usize,
    error: usize,
    skip: usize,
}

pub(crate) fn run(command: PolicyCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Apply(a) => apply(&a, ctx),
    }
}

fn load(files: &[PathBuf], limits: &Limits, docs: &mut Documents) -> anyhow::Result<()> {
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.display().to_string();
        docs.add(vouch_policy::parse_documents(&text, &name, limits)?, &name)?;
    }
    Ok(())
}

fn apply(args: &ApplyArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    let mut policy_docs = Documents::default();
    load(&args.policies, &limits, &mut policy_docs)?;
    if policy_docs.policies.is_empty() && policy_docs.image_policies.is_empty() {
        bail!(
            "no kyverno.io ClusterPolicy/Policy or policy.sigstore.dev ClusterImagePolicy found in the policy files"
        );
    }
    if let Some((policy, problems)) = policy_docs
        .policy_set()
        .validate_with(args.ignore_unsupported)
        .into_iter()
        .next()
    {
        return Err(vouch_policy::Error::Invalid { policy, problems }.into());
    }
    if !ctx.quiet {
        for p in &policy_docs.image_policies {
            for w in p.warnings() {
                eprintln!("vouch: warning: ClusterImagePolicy {}: {w}", p.name);
            }
        }
    }
    let mut resource_docs = Documents::default();
    load(&args.resources, &limits, &mut resource_docs)?;
    let trust = match &args.trusted_root {
        Some(path) => {
            let json = std::fs::read(path)
                .with_context(|| format!("reading --trusted-root {}", path.display()))?;
            TrustedRoot::from_json(&json, &vouch_sign::Limits::default())
                .with_context(|| format!("parsing --trusted-root {}", path.display()))?
        }
        None => TrustedRoot::default(),
    };
    let verifier = SigstoreVerifier::new(trust, registry_options(ctx)?);
    let options = Options {
        // `kyverno apply` reports the mutating phase: verify, then pin (--mutated).
        phase: vouch_policy::Phase::Mutate,
        audit_warn: args.audit_warn,
        no_match: match args.no_match_policy {
            NoMatchArg::Allow => NoMatch::Allow,
            NoMatchArg::Deny => NoMatch::Deny,
            NoMatchArg::Warn => NoMatch::Warn,
        },
    };
    let set = policy_docs.policy_set();
    let rules = set
        .kyverno
        .iter()
        .map(|p| p.spec.rules.len())
        .sum::<usize>()
        + set.image_policies.len();
    let mut report = ApplyReport {
        rules,
        resources: Vec::new(),
        summary: Summary::default(),
    };
    for resource in &resource_docs.resources {
        let r = vouch_policy::evaluate(&set, resource, &verifier, options, &limits).with_context(
            || format!("{}/{}/{}", resource.namespace, resource.kind, resource.name),
        )?;
        for res in &r.results {
            let s = &mut report.summary;
            *match res.status {
                Status::Pass => &mut s.pass,
                Status::Fail => &mut s.fail,
                Status::Warn => &mut s.warn,
                Status::Error => &mut s.error,
                Status::Skip => &mut s.skip,
            } += 1;
        }
        report.resources.push(r);
    }
    if let Some(path) = &args.mutated {
        let mut text = String::new();
        for r in &report.resources {
            text.push_str("---\n");
            text.push_str(&serde_norway::to_string(&r.patched)?);
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    emit(ctx.format, &report, |out, rep| {
        writeln!(
            out,
            "\nApplying {} policy rule(s) to {} resource(s)...",
            rep.rules,
            rep.resources.len()
        )?;
        for r in &rep.resources {
            for res in &r.results {
                writeln!(
                    out,
                    "{:<5} {}/{} -> {}/{}/{}: {}",
                    res.status.name(),
                    res.policy,
                    res.rule,
                    r.namespace,
                    r.kind,
                    r.name,
                    res.message
                )?;
            }
            for p in &r.patches {
                writeln!(out, "      patched {} = {}", p.path, p.value)?;
            }
        }
        let s = &rep.summary;
        writeln!(
            out,
            "\npass: {}, fail: {}, warn: {}, error: {}, skip: {} ",
            s.pass, s.fail, s.warn, s.error, s.skip
        )
    })?;
    if report.summary.fail > 0 || report.summary.error > 0 {
        if !ctx.quiet {
            eprintln!(
                "vouch: {}",
                if report.summary.fail > 0 {
                    "exit as there are policy violations"
                } else {
                    "exit as there are policy errors"
                }
            );
        }
        return Ok(ExitCode::from(EXIT_VIOLATIONS));
    }
    Ok(ExitCode::SUCCESS)
}
