//! `vouch policy apply`: Kyverno `verifyImages` policies and policy-controller
//! `ClusterImagePolicy`s evaluated against resource files, like `kyverno apply`, verified
//! offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use vouch_policy::{Documents, Limits, NoMatch, Options, ResourceReport, SigstoreVerifier, Status};

use super::registry_options;
use crate::cli::Context;
use crate::output::emit;

/// Exit code when a rule failed or errored, or a test result differed: kyverno's 1
/// (`cmd/cli/kubectl-kyverno/commands/apply/command.go` `exit`, `commands/test/command.go`:
/// the command returns an error and `main.go` exits 1).
pub(crate) const EXIT_VIOLATIONS: u8 = 1;

const APPLY_HELP: &str = "\
Policies: Kyverno ClusterPolicy / Policy (kyverno.io/v1) with verifyImages rules, as written
for Kyverno: imageReferences / skipImageReferences (Kyverno wildcards: * crosses /), attestors
with count, keys (inline PEM publicKeys) and keyless (subject/issuer wildcards or
subjectRegExp/issuerRegExp) entries, rekor.ignoreTlog and ctlog.ignoreSCT, attestations with
type and conditions, mutateDigest, verifyDigest, failureAction Enforce/Audit, match/exclude on
kinds and namespaces. Rules matching only Pods also apply to the pod templates of Deployments,
ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs (Kyverno autogen: autogen-<rule>,
autogen-cronjob-<rule>). validate rules with pattern or anyPattern are evaluated as Kyverno
does (anchors (k), =(k), X(k), ^(k); wildcards, !, |, &), with Kyverno's messages and
autogen; so are validate.deny, foreach (deny, pattern, anyPattern, nested; element,
elementIndex, elementScope) and rule preconditions: conditions with any/all and Kyverno's
operators (Equals, NotEquals, In, AnyIn, AllIn, NotIn, AnyNotIn, AllNotIn, GreaterThan(OrEquals),
LessThan(OrEquals), Duration*; wildcards, ranges such as 5000-6000, quantities, durations),
and {{ }} JMESPath variables (request.object, request.operation) with Kyverno's functions
(to_upper, to_lower, split, regex_match, pattern_match, contains, base64_decode, truncate,
compare, replace_all, trim, label_match, parse_json, ...); a path to a missing key is an
error, as in Kyverno; a function Kyverno has and vouch does not refuses the load.
Policies are read strictly: an unknown field is refused with its path
and the nearest known name (`spec.rules[0].verifyImages[0].atestors: unknown field, did you
mean attestors?`), and a mistake Kyverno rejects is reported with its field path. A feature
vouch does not evaluate (validate cel/podSecurity/manifests, mutate and generate rules,
context variables, celPreconditions, namespaceSelector, certificate attestors, ...) refuses
to load with `not supported: <path>`; with --ignore-unsupported the rules using one are
reported as `skip` with the reason.

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
`pass: N, fail: N, warn: N, error: N, skip: N`; with --table kyverno's table (ID, POLICY,
RULE, RESOURCE, RESULT, REASON; --detailed-results adds MESSAGE) instead.

Exit codes (kyverno apply's):
  0  no rule failed or errored
  1  a rule failed (fail) or could not be checked (error); or an error: unreadable or invalid
     policy, unreadable resources, bad --trusted-root
  2  usage error";

/// `vouch policy`.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Evaluate Kyverno policies against resource files (exit 1 on violations, as kyverno).
    #[command(after_help = APPLY_HELP)]
    Apply(ApplyArgs),
    /// Run Kyverno CLI test directories (kyverno-test.yaml), like `kyverno test DIR`
    /// (exit 1 when a result differs, as kyverno).
    #[command(after_help = TEST_HELP)]
    Test(TestArgs),
}

const TEST_HELP: &str = "\
Finds every kyverno-test.yaml (--file-name) under each DIR and runs it as `kyverno test` does:
the Test resource (cli.kyverno.io/v1alpha1) names policy and resource files relative to its
own directory and the expected results, each {policy, rule, resources, kind, result} with
result pass, fail, skip, warn or error. Policies are loaded and evaluated exactly as by
`vouch policy apply` (strict loading, unsupported features refused unless
--ignore-unsupported, trust per attestor, signatures read from the images' registries).

Every expected result is one row of the table: Ok when the rule gave that result for that
resource, `Want X, got Y` when not, `Not found` when the rule did not apply to it (kyverno
counts an excluded resource as a pass whatever was expected; vouch only when skip was
expected). A result's rule also matches its autogen copies (autogen-<rule>,
autogen-cronjob-<rule>), as kyverno's lookupRuleResponses.

Not supported (the test is refused, naming the field): variables/values files, userinfo,
exceptions, patchedResources, generatedResource and the other non-verifyImages inputs.

Exit codes (kyverno test's):
  0  every expected result matched
  1  some result did not match; or an error: unreadable test, policy or resource file,
     invalid policy
  2  usage error";

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Directories searched (recursively) for test files.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// Name of the test files.
    #[arg(short = 'f', long, default_value = "kyverno-test.yaml")]
    file_name: String,
    /// Trust for attestors that carry no trust material of their own.
    #[command(flatten)]
    trust: crate::cmd::trust::TrustArgs,
    /// Report rules using features vouch does not evaluate as skip instead of refusing
    /// the policy.
    #[arg(long)]
    ignore_unsupported: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// Policy files or directories (every .yaml/.yml/.json below, recursively), or `-` for
    /// standard input (multi-document YAML or JSON).
    #[arg(value_name = "POLICY", required = true)]
    policies: Vec<PathBuf>,
    /// Resource files or directories, or `-`: Pods, Deployments, ReplicaSets, StatefulSets,
    /// DaemonSets, Jobs, CronJobs (multi-document YAML; `kind: List` is flattened).
    #[arg(short = 'r', long = "resource", value_name = "FILE", required = true)]
    resources: Vec<PathBuf>,
    /// Print the results as a wgpolicyk8s.io/v1alpha2 ClusterPolicyReport (YAML), as
    /// `kyverno apply --policy-report` does, instead of one line per result.
    #[arg(short = 'p', long)]
    policy_report: bool,
    /// Print kyverno's result table (ID, POLICY, RULE, RESOURCE, RESULT, REASON) instead of
    /// one line per result (`kyverno apply --table`).
    #[arg(short = 't', long)]
    table: bool,
    /// With --table, add each result's MESSAGE column (`kyverno apply --detailed-results`).
    #[arg(long, requires = "table")]
    detailed_results: bool,
    /// Write every resource, with verified tags rewritten to tag@digest, to FILE
    /// (multi-document YAML; `kyverno apply -o`).
    #[arg(long, value_name = "FILE")]
    mutated: Option<PathBuf>,
    /// Trust for keyless attestors and transparency log entries.
    #[command(flatten)]
    trust: crate::cmd::trust::TrustArgs,
    /// Report failures of Audit rules (and ClusterImagePolicy mode: warn) as warn instead
    /// of fail.
    #[arg(long)]
    audit_warn: bool,
    /// Images no ClusterImagePolicy matches (when any is loaded): policy-controller's
    /// no-match-policy; deny is its fail-closed default.
    #[arg(long, value_enum, default_value = "deny")]
    no_match_policy: NoMatchArg,
    /// Load policies that use features vouch does not evaluate (validate cel/podSecurity,
    /// mutate and generate rules, context variables, namespace selectors, ...): each rule
    /// using one is reported as `skip` with the reason instead of failing to load.
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
        PolicyCommand::Test(t) => test(&t, ctx),
    }
}

/// Loads files, directories (every `.yaml`, `.yml` and `.json` below, in name order) and `-`
/// (standard input).
fn load(files: &[PathBuf], limits: &Limits, docs: &mut Documents) -> anyhow::Result<()> {
    for f in files {
        if f.as_os_str() == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
                .context("reading standard input")?;
            docs.add(vouch_policy::parse_documents(&text, "-", limits)?, "-")?;
            continue;
        }
        if f.is_dir() {
            let mut found = Vec::new();
            manifests_in(f, &mut found)?;
            if found.is_empty() {
                bail!("{}: no .yaml, .yml or .json files", f.display());
            }
            load(&found, limits, docs)?;
            continue;
        }
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.display().to_string();
        docs.add(vouch_policy::parse_documents(&text, &name, limits)?, &name)?;
    }
    Ok(())
}

fn manifests_in(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let path = e.path();
        if e.file_type()?.is_dir() {
            manifests_in(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// `wgpolicyk8s.io/v1alpha2` `ClusterPolicyReport` of the results (the shape `kyverno apply
/// --policy-report` prints: one result per rule and resource, `source: kyverno`).
fn policy_report(rep: &ApplyReport) -> serde_json::Value {
    let mut results = Vec::new();
    for r in &rep.resources {
        for res in &r.results {
            let mut resource =
                serde_json::json!({"kind": r.kind, "name": r.name, "namespace": r.namespace});
            if let Some(api) = r.api_version.as_deref() {
                resource["apiVersion"] = serde_json::json!(api);
            }
            results.push(serde_json::json!({
                "message": res.message,
                "policy": res.policy,
                "resources": [resource],
                "result": res.status.name(),
                "rule": res.rule,
                "scored": true,
                "source": "kyverno",
            }));
        }
    }
    let s = &rep.summary;
    serde_json::json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "ClusterPolicyReport",
        "metadata": {"name": "merged"},
        "results": results,
        "summary": {"error": s.error, "fail": s.fail, "pass": s.pass, "skip": s.skip, "warn": s.warn},
    })
}

fn apply(args: &ApplyArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    if args
        .policies
        .iter()
        .chain(&args.resources)
        .filter(|p| p.as_os_str() == "-")
        .count()
        > 1
    {
        bail!("standard input (-) can hold the policies or the resources, not both");
    }
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
    let verifier = SigstoreVerifier::new(args.trust.resolve(ctx)?.root, registry_options(ctx)?);
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
        if args.policy_report {
            let line = "-".repeat(70);
            writeln!(out, "{line}\nPOLICY REPORT:\n{line}")?;
            let yaml =
                serde_norway::to_string(&policy_report(rep)).map_err(std::io::Error::other)?;
            return write!(out, "{yaml}");
        }
        if args.table {
            return write_table(out, rep, args.detailed_results);
        }
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

/// Kyverno's apply table (`cmd/cli/kubectl-kyverno/commands/apply/table.go` `printTable`):
/// one row per rule response, the resource as `namespace/Kind/name`, the result capitalised,
/// REASON empty, MESSAGE with --detailed-results; no summary line.
fn write_table(
    out: &mut dyn std::io::Write,
    rep: &ApplyReport,
    detailed: bool,
) -> std::io::Result<()> {
    let mut header = vec!["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"];
    if detailed {
        header.push("MESSAGE");
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in &rep.resources {
        for res in &r.results {
            let name = res.status.name();
            let mut row = vec![
                (rows.len() + 1).to_string(),
                res.policy.clone(),
                res.rule.clone(),
                if r.namespace.is_empty() {
                    format!("{}/{}", r.kind, r.name)
                } else {
                    format!("{}/{}/{}", r.namespace, r.kind, r.name)
                },
                format!("{}{}", name[..1].to_uppercase(), &name[1..]),
                String::new(),
            ];
            if detailed {
                row.push(res.message.clone());
            }
            rows.push(row);
        }
    }
    let mut header: Vec<String> = header.into_iter().map(str::to_owned).collect();
    // tableprinter's `RowLengthTitle` (`output/table/printer.go`: more than 10 rows) puts the
    // row count in the first title.
    if rows.len() > 10 {
        header[0] = format!("ID ({})", rows.len());
    }
    box_table(out, &header, &rows)
}

/// Kyverno's box-drawn table (lensesio/tableprinter with `│` and `─`).
fn box_table(
    out: &mut dyn std::io::Write,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn std::io::Write, cells: &[String]| -> std::io::Result<()> {
        let mut s = String::from("│");
        for (c, w) in cells.iter().zip(&width) {
            let _ = write!(s, " {c:<w$} │");
        }
        writeln!(out, "{s}")
    };
    let rule: String = std::iter::once("│".to_owned())
        .chain(width.iter().map(|w| format!("{}│", "─".repeat(w + 2))))
        .collect();
    writeln!(out, "{rule}")?;
    line(out, header)?;
    writeln!(out, "{rule}")?;
    for row in rows {
        line(out, row)?;
    }
    writeln!(out, "{rule}")
}

/// `cli.kyverno.io/v1alpha1` `Test` (`K:cmd/cli/kubectl-kyverno/apis/v1alpha1/test.go`): the
/// fields vouch runs, and the others so that using one is refused by name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KyvernoTest {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    #[serde(rename = "metadata")]
    _metadata: Option<serde_json::Value>,
    name: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    results: Vec<ExpectedResult>,
    variables: Option<serde_json::Value>,
    values: Option<serde_json::Value>,
    userinfo: Option<serde_json::Value>,
    exceptions: Option<serde_json::Value>,
    context: Option<serde_json::Value>,
    cluster_resources: Option<serde_json::Value>,
    target_resources: Option<serde_json::Value>,
    param_resources: Option<serde_json::Value>,
    json_payload: Option<serde_json::Value>,
    json_payloads: Option<serde_json::Value>,
    http_payloads: Option<serde_json::Value>,
    envoy_payloads: Option<serde_json::Value>,
    api_call_responses: Option<serde_json::Value>,
    global_context_entries: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExpectedResult {
    policy: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    resources: Vec<String>,
    /// Deprecated single resource.
    resource: Option<String>,
    #[serde(default)]
    kind: String,
    result: String,
    namespace: Option<String>,
    operation: Option<String>,
    patched_resources: Option<serde_json::Value>,
    generated_resource: Option<serde_json::Value>,
    clone_source_resource: Option<serde_json::Value>,
    is_validating_admission_policy: Option<bool>,
    is_validating_policy: Option<bool>,
    is_image_validating_policy: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestRow {
    id: usize,
    test: String,
    policy: String,
    rule: String,
    resource: String,
    result: &'static str,
    reason: String,
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestReport {
    rows: Vec<TestRow>,
    passed: usize,
    failed: usize,
}

fn find_tests(dir: &std::path::Path, name: &str, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let path = e.path();
        if e.file_type()?.is_dir() {
            find_tests(&path, name, out)?;
        } else if path.file_name().is_some_and(|f| f == name) {
            out.push(path);
        }
    }
    Ok(())
}

fn test(args: &TestArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    let mut files = Vec::new();
    for d in &args.dirs {
        find_tests(d, &args.file_name, &mut files)?;
    }
    if files.is_empty() {
        bail!(
            "no test yamls available ({} under the given directories)",
            args.file_name
        );
    }
    let verifier = SigstoreVerifier::new(args.trust.resolve(ctx)?.root, registry_options(ctx)?);
    let mut report = TestReport {
        rows: Vec::new(),
        passed: 0,
        failed: 0,
    };
    let mut log = String::new();
    for file in &files {
        let dir = file.parent().unwrap_or(std::path::Path::new("."));
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let value: serde_json::Value = serde_norway::from_str(&text)
            .with_context(|| format!("{}: not valid YAML", file.display()))?;
        let t: KyvernoTest = vouch_policy::strict::from_value(&value, "")
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let unsupported = [
            ("variables", t.variables.is_some()),
            ("values", t.values.is_some()),
            ("userinfo", t.userinfo.is_some()),
            ("exceptions", t.exceptions.is_some()),
            ("context", t.context.is_some()),
            ("clusterResources", t.cluster_resources.is_some()),
            ("targetResources", t.target_resources.is_some()),
            ("paramResources", t.param_resources.is_some()),
            (
                "jsonPayload",
                t.json_payload.is_some() || t.json_payloads.is_some(),
            ),
            (
                "httpPayloads",
                t.http_payloads.is_some() || t.envoy_payloads.is_some(),
            ),
            ("apiCallResponses", t.api_call_responses.is_some()),
            ("globalContextEntries", t.global_context_entries.is_some()),
        ];
        if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
            bail!(
                "{}: {field}: not supported by vouch policy test",
                file.display()
            );
        }
        for (i, r) in t.results.iter().enumerate() {
            let set = [
                ("patchedResources", r.patched_resources.is_some()),
                ("generatedResource", r.generated_resource.is_some()),
                ("cloneSourceResource", r.clone_source_resource.is_some()),
                ("operation", r.operation.is_some()),
                (
                    "isValidatingAdmissionPolicy",
                    r.is_validating_admission_policy == Some(true),
                ),
                ("isValidatingPolicy", r.is_validating_policy == Some(true)),
                (
                    "isImageValidatingPolicy",
                    r.is_image_validating_policy == Some(true),
                ),
            ];
            if let Some((field, _)) = set.iter().find(|(_, s)| *s) {
                bail!(
                    "{}: results[{i}].{field}: not supported by vouch policy test",
                    file.display()
                );
            }
            if !matches!(
                r.result.as_str(),
                "pass" | "fail" | "skip" | "warn" | "error"
            ) {
                bail!(
                    "{}: results[{i}].result: must be pass, fail, skip, warn or error",
                    file.display()
                );
            }
        }
        let name = t.name.clone().unwrap_or_else(|| file.display().to_string());
        let _ = writeln!(log, "Loading test  ( {} ) ...", file.display());
        let _ = writeln!(log, "  Loading policies ...");
        let mut policy_docs = Documents::default();
        load(
            &t.policies.iter().map(|p| dir.join(p)).collect::<Vec<_>>(),
            &limits,
            &mut policy_docs,
        )?;
        let set = policy_docs.policy_set();
        if let Some((policy, problems)) = set
            .validate_with(args.ignore_unsupported)
            .into_iter()
            .next()
        {
            return Err(vouch_policy::Error::Invalid { policy, problems })
                .with_context(|| file.display().to_string());
        }
        let _ = writeln!(log, "  Loading resources ...");
        let mut resource_docs = Documents::default();
        load(
            &t.resources.iter().map(|p| dir.join(p)).collect::<Vec<_>>(),
            &limits,
            &mut resource_docs,
        )?;
        let _ = writeln!(
            log,
            "  Applying {} {} to {} {} ...",
            set.kyverno.len() + set.image_policies.len(),
            if set.kyverno.len() + set.image_policies.len() == 1 {
                "policy"
            } else {
                "policies"
            },
            resource_docs.resources.len(),
            if resource_docs.resources.len() == 1 {
                "resource"
            } else {
                "resources"
            },
        );
        let options = Options {
            phase: vouch_policy::Phase::Mutate,
            // `kyverno test` reports Audit failures as fail.
            audit_warn: false,
            no_match: NoMatch::Deny,
        };
        let mut reports = Vec::new();
        for resource in &resource_docs.resources {
            reports.push(vouch_policy::evaluate(
                &set, resource, &verifier, options, &limits,
            )?);
        }
        let _ = writeln!(log, "  Checking results ...");
        for r in &t.results {
            let names: Vec<&String> = r.resources.iter().chain(r.resource.iter()).collect();
            for res_name in names {
                let (ns, short) = match res_name.split_once('/') {
                    Some((ns, n)) => (Some(ns), n),
                    None => (r.namespace.as_deref(), res_name.as_str()),
                };
                let found = reports.iter().find(|rep| {
                    rep.name == short
                        && (r.kind.is_empty() || rep.kind == r.kind)
                        && ns.is_none_or(|ns| rep.namespace == ns)
                });
                let got = found.and_then(|rep| {
                    rep.results
                        .iter()
                        .find(|x| {
                            // Kyverno's `lookupRuleResponses`: the rule or its autogen copies.
                            x.policy == r.policy.rsplit('/').next().unwrap_or(&r.policy)
                                && (r.rule.is_empty()
                                    || x.rule == r.rule
                                    || x.rule == format!("autogen-{}", r.rule)
                                    || x.rule == format!("autogen-cronjob-{}", r.rule))
                        })
                        .map(|x| (x.status.name(), x.message.clone(), rep))
                });
                let (ok, reason, message, resource) = match &got {
                    Some((status, message, rep)) => (
                        *status == r.result,
                        if *status == r.result {
                            "Ok".to_owned()
                        } else {
                            format!("Want {}, got {status}", r.result)
                        },
                        message.clone(),
                        format!("{}/{}/{}", rep.kind, rep.namespace, rep.name),
                    ),
                    // The rule did not apply (excluded): kyverno counts that as a pass whatever
                    // the expectation; vouch only when the expectation is skip.
                    None if found.is_some() && r.result == "skip" => (
                        true,
                        "Excluded".to_owned(),
                        "the rule does not apply to the resource".to_owned(),
                        found
                            .map(|rep| format!("{}/{}/{}", rep.kind, rep.namespace, rep.name))
                            .unwrap_or_default(),
                    ),
                    None => (
                        false,
                        if found.is_some() {
                            "Excluded"
                        } else {
                            "Not found"
                        }
                        .to_owned(),
                        "the rule did not apply to the resource, or no such resource".to_owned(),
                        format!("{}/{}", r.kind, res_name),
                    ),
                };
                if ok {
                    report.passed += 1;
                } else {
                    report.failed += 1;
                }
                report.rows.push(TestRow {
                    id: report.rows.len() + 1,
                    test: name.clone(),
                    policy: r.policy.clone(),
                    rule: r.rule.clone(),
                    resource,
                    result: if ok { "Pass" } else { "Fail" },
                    reason,
                    message,
                });
            }
        }
    }
    emit(ctx.format, &report, |out, rep| {
        write!(out, "{log}")?;
        let header = ["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"];
        let rows: Vec<[String; 6]> = rep
            .rows
            .iter()
            .map(|r| {
                [
                    r.id.to_string(),
                    r.policy.clone(),
                    r.rule.clone(),
                    r.resource.clone(),
                    r.result.to_owned(),
                    r.reason.clone(),
                ]
            })
            .collect();
        let mut width = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |out: &mut dyn std::io::Write, cells: &[String]| -> std::io::Result<()> {
            let mut s = String::from("│");
            for (c, w) in cells.iter().zip(width) {
                let _ = write!(s, " {c:<w$} │");
            }
            writeln!(out, "{s}")
        };
        let rule: String = std::iter::once("│".to_owned())
            .chain(width.iter().map(|w| format!("{}│", "─".repeat(w + 2))))
            .collect();
        writeln!(out)?;
        writeln!(out, "{rule}")?;
        line(out, &header.map(str::to_owned))?;
        writeln!(out, "{rule}")?;
        for row in &rows {
            line(out, row)?;
        }
        writeln!(out, "{rule}")?;
        writeln!(out)?;
        writeln!(
            out,
            "\nTest Summary: {} tests passed and {} tests failed",
            rep.passed, rep.failed
        )
    })?;
    if report.failed > 0 {
        if !ctx.quiet {
            eprintln!("vouch: {} tests failed", report.failed);
        }
        return Ok(ExitCode::from(EXIT_VIOLATIONS));
    }
    Ok(ExitCode::SUCCESS)
}
