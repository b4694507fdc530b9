//! `vouch verify IMAGE` and `vouch verify-attestation IMAGE`, plus the trust and signer flags
//! every verifying command shares (`verify-blob` too).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use vouch_sign::image::{ImageReport, SignedPayload, verify_image, verify_image_attestations};
use vouch_sign::intoto::predicate_type_for;
use vouch_sign::oci::{ImageTarget, Kind};
use vouch_sign::verify::{
    OID_GITHUB_WORKFLOW_NAME, OID_GITHUB_WORKFLOW_REF, OID_GITHUB_WORKFLOW_REPOSITORY,
    OID_GITHUB_WORKFLOW_SHA, OID_GITHUB_WORKFLOW_TRIGGER,
};
use vouch_sign::{
    Evidence, IdentityPolicy, KeyRef, Limits, Match, SignerPolicy, Thresholds, TimeSourceKind,
    Verified, VerifiedSigner, Verifier, VerifierOptions,
};

use crate::cli::Context;
use crate::output::emit;

/// Exit code when the evidence was examined and did not verify.
pub(crate) const EXIT_VERIFY_FAILED: u8 = 3;

/// Help text shared by the verifying commands.
pub(crate) const VERIFY_HELP: &str = "\
Who must have signed (exactly one):
  --key PEM                         a public key (file, file://PATH or env://NAME); as with a
                                    certificate, at least one verified transparency log entry
                                    is required (--tlog-threshold), as in cosign v3:
                                    --insecure-ignore-tlog accepts a key signature without one.
                                    `vouch sign --key` logs when a log is configured
                                    (--rekor-url or --trust-config)
  --certificate-identity[-regexp]   a Fulcio certificate chaining to --trusted-root, with this
  --certificate-oidc-issuer[-regexp]  SAN and OIDC issuer. Regular expressions are NOT anchored
                                    for you (as in cosign): write ^…$ to match whole values.

Trust (the Fulcio CAs, Rekor and CT log keys, timestamp authorities accepted), first that
applies: --trusted-root FILE (a Sigstore trusted_root.json) or --trust-config FILE (a
ClientTrustConfig); else Sigstore's public-good trust (--staging: staging) as last stored by
`vouch trust update`; else the public-good (staging) trust built into vouch. Verification
never fetches trust from the network (--offline states it); -v prints the trust in use.

Time: a certificate is checked at every verified time: each RFC 3161 timestamp in the bundle
(all must verify, against the trusted root's timestamp authorities) and the integrated time of
each Rekor v1 entry with a valid signed entry timestamp. A Rekor v2 entry has no integrated
time and needs a timestamp. --tlog-threshold N and --timestamp-threshold N (default 1) demand
more log entries or verified times.

Output names each check that passed (timestamp, checkpoint, inclusion proof, entry version,
certificate chain, SCT, identity, signature), or the check that failed and why, and the
verified times; -o json adds the signer, the log entries, the time sources and the payloads.

Exit codes:
  0  verified
  1  error: unreadable input, bad flags, registry unreachable, bad key or trusted root
  2  usage error
  3  verification failed: a signature was examined and a check failed, or none was found";

/// Signer and trust flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Signer and trust")]
pub(crate) struct PolicyArgs {
    /// Public key that must have signed (PEM file, file://PATH or env://NAME).
    #[arg(long, value_name = "PEM", conflicts_with_all = ["certificate_identity", "certificate_identity_regexp"])]
    key: Option<String>,
    /// Exact SAN (email or URI) the signing certificate must carry.
    #[arg(
        long,
        value_name = "IDENTITY",
        conflicts_with = "certificate_identity_regexp"
    )]
    certificate_identity: Option<String>,
    /// Regular expression a SAN must match (unanchored: use ^…$).
    #[arg(long, value_name = "REGEXP")]
    certificate_identity_regexp: Option<String>,
    /// Exact OIDC issuer of the signing certificate.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    certificate_oidc_issuer: Option<String>,
    /// Regular expression the OIDC issuer must match (unanchored: use ^…$).
    #[arg(long, value_name = "REGEXP")]
    certificate_oidc_issuer_regexp: Option<String>,
    /// GitHub Actions: repository the workflow ran in (`owner/repo`).
    #[arg(long, value_name = "REPO")]
    certificate_github_workflow_repository: Option<String>,
    /// GitHub Actions: git ref the workflow ran on (`refs/heads/main`).
    #[arg(long, value_name = "REF")]
    certificate_github_workflow_ref: Option<String>,
    /// GitHub Actions: event that triggered the workflow (`push`).
    #[arg(long, value_name = "EVENT")]
    certificate_github_workflow_trigger: Option<String>,
    /// GitHub Actions: commit SHA the workflow ran at.
    #[arg(long, value_name = "SHA")]
    certificate_github_workflow_sha: Option<String>,
    /// GitHub Actions: workflow name.
    #[arg(long, value_name = "NAME")]
    certificate_github_workflow_name: Option<String>,
    #[command(flatten)]
    trust: crate::cmd::trust::TrustArgs,
    /// Deprecated, no effect: a log entry is now required by default, with --key too.
    #[arg(long, hide = true)]
    require_tlog: bool,
    /// Skip the transparency log checks: accept a key signature without a log entry
    /// (certificates then need an RFC 3161 timestamp, or fail).
    #[arg(long)]
    insecure_ignore_tlog: bool,
    /// Skip the certificate's embedded SCT check (private Fulcio without a CT log).
    #[arg(long)]
    insecure_ignore_sct: bool,
    /// Minimum number of transparency log entries that must verify (distinct log and index).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    tlog_threshold: u32,
    /// Minimum number of verified times a certificate is checked at: RFC 3161 timestamps plus
    /// integrated times of Rekor v1 entries with a valid signed entry timestamp. Every
    /// timestamp in the bundle must verify, whatever the threshold.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    timestamp_threshold: u32,
    #[command(flatten)]
    cosign: super::cosign_compat::VerifyCompat,
}

impl PolicyArgs {
    /// The verifier and signer policy the flags describe.
    pub(crate) fn build(&self, ctx: &Context) -> anyhow::Result<(Verifier, SignerPolicy)> {
        let limits = Limits::default();
        let trust = self.trust.resolve(ctx)?.root;
        let trust = self.cosign.apply(trust)?;
        let mut options = VerifierOptions {
            insecure_ignore_tlog: self.insecure_ignore_tlog,
            insecure_ignore_sct: self.insecure_ignore_sct,
            ..Default::default()
        };
        let policy = if let Some(key) = &self.key {
            let key_ref: KeyRef = key.parse()?;
            // A key signature needs a log entry unless --insecure-ignore-tlog, as in cosign v3
            // (cmd/cosign/cli/verify: IgnoreTlog) and Kyverno (`rekor.ignoreTlog`); the
            // deprecated --require-tlog asks for what is now the default.
            options.keys_without_tlog = false;
            if self.require_tlog && self.insecure_ignore_tlog {
                bail!(
                    "--require-tlog (deprecated, now the default) contradicts --insecure-ignore-tlog"
                );
            }
            SignerPolicy::Key(
                key_ref
                    .load_verifying_key(&limits)
                    .with_context(|| format!("reading --key {key}"))?,
            )
        } else {
            let identity = match (
                &self.certificate_identity,
                &self.certificate_identity_regexp,
            ) {
                (Some(s), None) => Match::Exact(s.clone()),
                (None, Some(r)) => Match::regex(r)?,
                _ => bail!(
                    "give --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]"
                ),
            };
            let issuer = match (
                &self.certificate_oidc_issuer,
                &self.certificate_oidc_issuer_regexp,
            ) {
                (Some(s), None) => Match::Exact(s.clone()),
                (None, Some(r)) => Match::regex(r)?,
                _ => bail!(
                    "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required with a certificate identity"
                ),
            };
            let mut policy = IdentityPolicy {
                identity,
                issuer,
                extensions: Vec::new(),
            };
            for (oid, value) in [
                (
                    OID_GITHUB_WORKFLOW_REPOSITORY,
                    &self.certificate_github_workflow_repository,
                ),
                (
                    OID_GITHUB_WORKFLOW_REF,
                    &self.certificate_github_workflow_ref,
                ),
                (
                    OID_GITHUB_WORKFLOW_TRIGGER,
                    &self.certificate_github_workflow_trigger,
                ),
                (
                    OID_GITHUB_WORKFLOW_SHA,
                    &self.certificate_github_workflow_sha,
                ),
                (
                    OID_GITHUB_WORKFLOW_NAME,
                    &self.certificate_github_workflow_name,
                ),
            ] {
                if let Some(v) = value {
                    policy = policy.with_extension(oid, v.clone());
                }
            }
            SignerPolicy::Identity(policy)
        };
        let thresholds = Thresholds {
            tlog: usize::try_from(self.tlog_threshold).unwrap_or(usize::MAX),
            timestamps: usize::try_from(self.timestamp_threshold).unwrap_or(usize::MAX),
        };
        Ok((
            Verifier::with_options(trust, options).with_thresholds(thresholds),
            policy,
        ))
    }
}

/// The check a verification error names and its message. A key signature refused for want
/// of a log entry (`vouch_sign::Error::MissingTlogEntry`) also names the way out, since this default is new to users of
/// vouch's earlier releases. `None` when the error is not a verdict (I/O, registry).
pub(crate) fn failure(
    e: &vouch_sign::Error,
    policy: &SignerPolicy,
) -> Option<(&'static str, String)> {
    let check = e.failed_check()?;
    let missing_entry = matches!(e, vouch_sign::Error::MissingTlogEntry);
    Some(if missing_entry && matches!(policy, SignerPolicy::Key(_)) {
        (
            check,
            format!(
                "{e}: a key signature must be in a transparency log unless \
                 --insecure-ignore-tlog is given (as in cosign); `vouch sign --key` logs \
                 it when a log is configured (--rekor-url or --trust-config)"
            ),
        )
    } else {
        (check, e.to_string())
    })
}

/// Evidence as JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EvidenceJson {
    checks: Vec<&'static str>,
    signer: Value,
    tlog: Option<Value>,
    /// Every verified log entry.
    tlog_entries: Vec<Value>,
    /// The verified times the certificate was checked at, with their source.
    time_sources: Vec<Value>,
}

impl From<&Evidence> for EvidenceJson {
    fn from(e: &Evidence) -> Self {
        let signer = match &e.signer {
            VerifiedSigner::Key { key_id } => serde_json::json!({"type": "key", "keyId": key_id}),
            VerifiedSigner::Certificate(id) => serde_json::json!({
                "type": "certificate",
                "subjectAlternativeNames": id.subject_alternative_names,
                "issuer": id.issuer,
                "extensions": id.extensions,
            }),
        };
        let entry = |t: &vouch_sign::verify::TlogEvidence| {
            serde_json::json!({
                "logIndex": t.log_index,
                "logId": t.log_id,
                "kind": t.kind,
                "version": t.kind_version,
                "integratedTime": t.integrated_time,
                "inclusionProofVerified": t.inclusion_proof_verified,
            })
        };
        let time_sources = e
            .times
            .iter()
            .map(|t| match &t.kind {
                TimeSourceKind::Timestamp { authority } => serde_json::json!({
                    "source": t.kind.name(), "time": t.time, "authority": authority,
                }),
                TimeSourceKind::IntegratedTime { log_index } => serde_json::json!({
                    "source": t.kind.name(), "time": t.time, "logIndex": log_index,
                }),
            })
            .collect();
        Self {
            checks: e.checks.clone(),
            signer,
            tlog: e.tlog.as_ref().map(entry),
            tlog_entries: e.tlog_entries.iter().map(entry).collect(),
            time_sources,
        }
    }
}

/// One line describing the signer, for tables.
pub(crate) fn signer_line(e: &Evidence) -> String {
    match &e.signer {
        VerifiedSigner::Key { key_id } => format!("key sha256:{key_id}"),
        VerifiedSigner::Certificate(id) => format!(
            "certificate {} issued via {}",
            id.subject_alternative_names.join(", "),
            id.issuer.as_deref().unwrap_or("?")
        ),
    }
}

/// Prints the passed checks of `evidence` as `  ✓ check` lines.
pub(crate) fn write_checks(out: &mut dyn Write, checks: &[&'static str]) -> std::io::Result<()> {
    for c in checks {
        writeln!(out, "    ok      {c}")?;
    }
    Ok(())
}

/// Prints the verified times the certificate was checked at, one line each.
pub(crate) fn write_times(out: &mut dyn Write, evidence: &Evidence) -> std::io::Result<()> {
    for t in &evidence.times {
        let source = match &t.kind {
            TimeSourceKind::Timestamp { authority } => format!("RFC 3161 timestamp by {authority}"),
            TimeSourceKind::IntegratedTime { log_index } => {
                format!("integrated time of log entry {log_index}")
            }
        };
        writeln!(
            out,
            "    time    {} (unix {}) from {source}",
            rfc3339(t.time),
            t.time
        )?;
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for unix seconds (civil-from-days, proleptic Gregorian calendar).
fn rfc3339(unix: u64) -> String {
    let days = i64::try_from(unix / 86_400).unwrap_or(0);
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[derive(Debug, Args)]
#[command(after_help = VERIFY_HELP, after_long_help = super::sign::verify_long_help())]
pub(crate) struct VerifyArgs {
    /// The image (a registry reference; a tag is resolved to its digest first).
    #[arg(value_name = "IMAGE")]
    image: String,
    #[command(flatten)]
    policy: PolicyArgs,
    /// KEY=VALUE that must be among the signed annotations (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = VERIFY_HELP, after_long_help = super::sign::verify_attestation_long_help())]
pub(crate) struct VerifyAttestationArgs {
    /// The image (a registry reference; a tag is resolved to its digest first).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Predicate type the attestation must have: spdxjson, cyclonedx, slsaprovenance,
    /// slsaprovenance1, custom, vuln, openvex, link, or a URI.
    #[arg(long = "type", value_name = "TYPE")]
    predicate_type: String,
    #[command(flatten)]
    policy: PolicyArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageVerdict {
    image: String,
    digest: String,
    verified: bool,
    signatures: Vec<CandidateJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CandidateJson {
    location: String,
    scheme: &'static str,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<EvidenceJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_check: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(crate) fn verify(args: &VerifyArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let claims = parse_annotations(&args.annotations)?;
    let (verifier, policy) = args.policy.build(ctx)?;
    run_image(
        &args.image,
        ctx,
        Kind::Signatures,
        &policy,
        |source, target| {
            verify_image(
                &verifier,
                source,
                target,
                &policy,
                &claims,
                &Limits::default(),
            )
        },
    )
}

pub(crate) fn verify_attestation(
    args: &VerifyAttestationArgs,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let predicate_type = predicate_type_for(&args.predicate_type)?;
    let (verifier, policy) = args.policy.build(ctx)?;
    run_image(
        &args.image,
        ctx,
        Kind::Attestations,
        &policy,
        |source, target| {
            verify_image_attestations(
                &verifier,
                source,
                target,
                Some(&predicate_type),
                &policy,
                &Limits::default(),
            )
        },
    )
}

fn run_image(
    image: &str,
    ctx: &Context,
    kind: Kind,
    policy: &SignerPolicy,
    check: impl FnOnce(&dyn vouch_oci::ImageSource, &ImageTarget) -> vouch_sign::Result<ImageReport>,
) -> anyhow::Result<ExitCode> {
    // A registry reference or an OCI layout (signatures stored in the layout).
    let super::sign::OpenedImage { source, target, .. } =
        super::sign::open_image(image, ctx, None)?;
    let report = match check(source.as_ref(), &target) {
        Ok(r) => r,
        Err(e) if e.failed_check().is_none() => {
            return Err(e).context(format!("reading {} of {}", kind.name(), target.pinned()));
        }
        Err(e) => {
            let (check, message) =
                failure(&e, policy).unwrap_or(("reading signature", e.to_string()));
            eprintln!(
                "vouch: verification FAILED for {}: {check}: {message}",
                target.pinned()
            );
            return Ok(ExitCode::from(EXIT_VERIFY_FAILED));
        }
    };
    let verdict = ImageVerdict {
        image: image.to_owned(),
        digest: target.digest.to_string(),
        verified: report.is_verified(),
        signatures: report
            .checked
            .iter()
            .map(|c| match &c.outcome {
                Ok(v) => CandidateJson {
                    location: c.location.clone(),
                    scheme: c.scheme.name(),
                    verified: true,
                    evidence: Some(EvidenceJson::from(v.evidence())),
                    payload: Some(payload_json(v)),
                    failed_check: None,
                    error: None,
                },
                Err(e) => {
                    let (check, message) =
                        failure(e, policy).unwrap_or(("reading signature", e.to_string()));
                    CandidateJson {
                        location: c.location.clone(),
                        scheme: c.scheme.name(),
                        verified: false,
                        evidence: None,
                        payload: None,
                        failed_check: Some(check),
                        error: Some(message),
                    }
                }
            })
            .collect(),
    };
    let what = kind.name();
    emit(ctx.format, &verdict, |out, v| {
        if v.signatures.is_empty() {
            writeln!(
                out,
                "FAILED: no {what} found for {} (tag {} and referrers)",
                target.pinned(),
                report.legacy_tag
            )?;
        } else if v.verified {
            writeln!(
                out,
                "Verified OK: {} ({} of {} {what} verified)",
                target.pinned(),
                report.verified().count(),
                v.signatures.len()
            )?;
        } else {
            writeln!(
                out,
                "FAILED: none of the {} {what} of {} verified",
                v.signatures.len(),
                target.pinned()
            )?;
        }
        for (c, checked) in v.signatures.iter().zip(&report.checked) {
            match &checked.outcome {
                Ok(verified) => {
                    writeln!(
                        out,
                        "  {} ({}): verified, signed by {}",
                        c.location,
                        c.scheme,
                        signer_line(verified.evidence())
                    )?;
                    write_checks(out, &verified.evidence().checks)?;
                }
                Err(_) => {
                    writeln!(out, "  {} ({}): rejected", c.location, c.scheme)?;
                    writeln!(
                        out,
                        "    FAILED  {}: {}",
                        c.failed_check.unwrap_or("reading signature"),
                        c.error.as_deref().unwrap_or_default()
                    )?;
                }
            }
        }
        Ok(())
    })?;
    Ok(if verdict.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VERIFY_FAILED)
    })
}

fn payload_json(v: &Verified<SignedPayload>) -> Value {
    match v.value() {
        SignedPayload::SimpleSigning(p) => p.clone(),
        SignedPayload::Statement(s) => serde_json::to_value(s).unwrap_or(Value::Null),
    }
}

/// `KEY=VALUE` flags into a map.
pub(crate) fn parse_annotations(flags: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    flags
        .iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => bail!("annotation {f:?} is not KEY=VALUE"),
        })
        .collect()
}
