//! `vouch pipeline` (every stage on an image digest, configured by `vouch.toml` and flags)
//! and `vouch demo` (the same with nothing else running).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use vouch_pipeline::config::{Config, parse_severity};
use vouch_pipeline::{
    BuildPlan, Event, Expect, ImageSigner, KeySigner, Plan, Report, Signing, StageResult, Status,
};
use vouch_sign::{IdentityPolicy, KeyRef, Limits, Match, TrustedRoot, VerifierOptions};

use super::registry_options;
use crate::cli::{Context, Format};

/// Exit code when a stage's check failed (threshold, verification, admission).
pub(crate) const EXIT_STAGE_FAILED: u8 = 3;

const PIPELINE_HELP: &str = "\
Stages, in order, on the image DIGEST (a tag is resolved once, first):
  build              with [build] in vouch.toml or --add: vouch build, plus SLSA provenance
  sbom               SPDX 2.3 + CycloneDX 1.6 -> OUT/sbom.spdx.json, OUT/sbom.cdx.json
  scan               OSV database; fails at --fail-on -> OUT/scan.json, OUT/scan.sarif
  sign               image signature (--key, or --keyless)
  attest-sbom        the SPDX SBOM as a signed in-toto attestation
  attest-provenance  the SLSA provenance v1 predicate (from the build, or --provenance)
  verify             signature and attestations against the expected key or identity
                     -> OUT/bundles/*.sigstore.json
  policy             with --policy/--resource: Kyverno verifyImages admission check
A failed stage stops the run; the rest are reported as skipped. OUT/report.json always has
the full report; --report FILE writes it as one self-contained HTML page.

Configuration: ./vouch.toml if present (or --config FILE); flags override it. See
docs/pipeline.md for every key. With no IMAGE and no configuration, `vouch pipeline` runs
the embedded default: `vouch demo`.

Exit codes:
  0  every stage passed
  1  error: bad configuration, or a stage could not run (registry, database); the message
     names the stage
  2  usage error
  3  a stage's check failed: scan threshold, verification, admission refused; the message
     names the stage";

/// Flags of `vouch pipeline`.
#[derive(Debug, Args)]
#[command(after_help = PIPELINE_HELP)]
pub(crate) struct PipelineArgs {
    /// The image (registry reference or oci:DIR[:TAG]); overrides `image` in vouch.toml.
    #[arg(value_name = "IMAGE")]
    image: Option<String>,
    /// Configuration file (default: ./vouch.toml when it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Artifacts directory (default: vouch-out).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Build first: add SRC as a layer at DEST (repeatable; as `vouch build --add`).
    #[arg(long, value_name = "SRC:DEST")]
    add: Vec<String>,
    /// Build first from this base (with --add).
    #[arg(long = "from", value_name = "BASE")]
    from: Option<String>,
    /// Build: default command (one word or a JSON array).
    #[arg(long, value_name = "CMD")]
    cmd: Option<String>,
    /// Vulnerability database (default: $VOUCH_DB, else `vouch db`'s).
    #[arg(long, value_name = "FILE", env = "VOUCH_DB")]
    db: Option<PathBuf>,
    /// OSV files or directories to import into OUT/vuln.db and scan against (repeatable).
    #[arg(long, value_name = "PATH")]
    advisories: Vec<PathBuf>,
    /// Fail the scan stage at this severity (low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<String>,
    /// Count findings of unknown severity for --fail-on.
    #[arg(long)]
    fail_on_unknown: bool,
    /// Sign with this private key: cosign key file, PEM, env://NAME, or a key on a PKCS#11
    /// token (pkcs11:token=T;object=O?module-path=MODULE, PIN from pin-value,
    /// $VOUCH_PKCS11_PIN or $COSIGN_PKCS11_PIN).
    #[arg(long, value_name = "KEY", conflicts_with = "keyless")]
    key: Option<String>,
    /// Sign keylessly (OIDC identity token -> certificate from the CA, log entry).
    #[arg(long)]
    keyless: bool,
    /// ClientTrustConfig (default $VOUCH_TRUST_CONFIG): keyless, the CA, logs and TSAs; with
    /// --key, the logs key signatures are uploaded to, as `vouch sign --key --trust-config`.
    #[arg(long, value_name = "FILE")]
    trust_config: Option<PathBuf>,
    /// Keyless: the OIDC identity token, or @FILE (else $SIGSTORE_ID_TOKEN, GitHub Actions,
    /// the instance's dev issuer).
    #[arg(long, value_name = "TOKEN|@FILE")]
    identity_token: Option<String>,
    /// Where signatures are stored: bundle, legacy or both.
    #[arg(long, value_name = "FORMAT")]
    signature_format: Option<String>,
    /// SLSA provenance v1 predicate to attest (a build makes one).
    #[arg(long, value_name = "FILE")]
    provenance: Option<PathBuf>,
    /// Verify against this public key (default: the signing key's).
    #[arg(long, value_name = "KEY")]
    verify_key: Option<String>,
    /// Expected certificate identity (keyless).
    #[arg(long, value_name = "IDENTITY")]
    certificate_identity: Option<String>,
    /// Expected certificate identity, as a regular expression.
    #[arg(long, value_name = "REGEXP")]
    certificate_identity_regexp: Option<String>,
    /// Expected OIDC issuer.
    #[arg(long, value_name = "URL")]
    certificate_oidc_issuer: Option<String>,
    /// Expected OIDC issuer, as a regular expression.
    #[arg(long, value_name = "REGEXP")]
    certificate_oidc_issuer_regexp: Option<String>,
    /// trusted_root.json for certificates and log entries.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// Kyverno policy file for the admission stage (repeatable).
    #[arg(long, value_name = "FILE")]
    policy: Vec<PathBuf>,
    /// Resource file (Pods, Deployments…) for the admission stage (repeatable).
    #[arg(long, value_name = "FILE")]
    resource: Vec<PathBuf>,
    /// Write the report as one self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Only verify the image (and evaluate --policy): the deploy-side check of an image an
    /// earlier run signed. Needs --verify-key or the certificate flags, not a signer.
    #[arg(long, conflicts_with_all = ["add", "key", "keyless"])]
    verify_only: bool,
}

const DEMO_HELP: &str = "\
Starts everything in-process on loopback (an OCI registry held in memory), imports a bundled
set of three real urllib3 advisories, builds the sample image of examples/demo-app, and
runs every pipeline stage on its digest with --fail-on high. Then it shows the admission
decision (Kyverno verifyImages: signature + SPDX SBOM attestation, tags pinned to digests)
for a pod running the signed image and for one running an unsigned image. Nothing is left
running; files go to --work (default: a temporary directory, removed afterwards).

Exit codes: 0 every stage passed and the decisions were as expected, 1 error, 3 a stage
failed";

/// Flags of `vouch demo`.
#[derive(Debug, Args)]
#[command(after_help = DEMO_HELP)]
pub(crate) struct DemoArgs {
    /// Keep the demo's files here (default: a temporary directory, deleted at the end).
    #[arg(long, value_name = "DIR")]
    work: Option<PathBuf>,
    /// Write the report as one self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Sign with a key generated for this run instead of keylessly (no CA, no log).
    #[arg(long)]
    ephemeral_key: bool,
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Passed => "✓",
        Status::Failed => "✗",
        Status::Skipped => "-",
    }
}

/// One line per stage: mark, name, time, summary.
fn stage_line(r: &StageResult) -> String {
    let time = if r.status == Status::Skipped {
        String::new()
    } else {
        format!("{:.2}s", r.millis as f64 / 1000.0)
    };
    format!(
        "  {} {:<18} {:>6}  {}",
        mark(r.status),
        r.stage.name(),
        time,
        r.summary
    )
}

/// Prints stage lines as they finish (table output only).
fn printer(ctx: &Context) -> impl FnMut(Event<'_>) + use<> {
    let table = ctx.format == Format::Table && !ctx.quiet;
    move |e| {
        if let (true, Event::Finished(r)) = (table, e) {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let _ = writeln!(out, "{}", stage_line(r));
            let _ = out.flush();
        }
    }
}

fn finish(report: &Report, ctx: &Context, html: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let Some(path) = html {
        std::fs::write(path, vouch_pipeline::html::render(report))
            .with_context(|| format!("writing --report {}", path.display()))?;
    }
    if ctx.format == Format::Json {
        crate::output::emit(ctx.format, report, |_, _| Ok(()))?;
    }
    match report.failure() {
        None => Ok(ExitCode::SUCCESS),
        Some(f) => {
            eprintln!(
                "vouch: pipeline failed at stage `{}`: {}",
                f.stage.name(),
                f.error.as_deref().unwrap_or(&f.summary)
            );
            Ok(ExitCode::from(if f.verdict {
                EXIT_STAGE_FAILED
            } else {
                crate::cli::EXIT_ERROR
            }))
        }
    }
}

/// The keyless signer (OIDC token -> CA certificate -> log entry) and its instance.
fn keyless_signer(
    args: &PipelineArgs,
    config: &Config,
) -> anyhow::Result<(Box<dyn ImageSigner>, vouch_keyless::TrustConfig)> {
    let path = args
        .trust_config
        .clone()
        .or(config.sign.trust_config.clone())
        .or_else(|| std::env::var_os(vouch_keyless::config::TRUST_CONFIG_ENV).map(PathBuf::from))
        .context(
            "keyless signing needs --trust-config FILE ([sign] trust_config, $VOUCH_TRUST_CONFIG): \
             the CA and log to use (`vouch instance serve` writes one)",
        )?;
    let mut trust = vouch_keyless::TrustConfig::from_file(&path, &Limits::default())
        .with_context(|| format!("reading trust config {}", path.display()))?;
    if config.sign.rekor_url.is_some() {
        bail!(
            "[sign] rekor_url applies to key signing: keyless signing logs in the logs of \
             [sign] trust_config ({}); remove rekor_url",
            path.display()
        );
    }
    // `vouch sign --keyless --fulcio-url`: another CA, its certificates still checked
    // against the trust config's root.
    if let Some(url) = &config.sign.fulcio_url {
        trust.ca_url = Some(url.trim_end_matches('/').to_owned());
    }
    let explicit = args.identity_token.clone().or_else(|| {
        config
            .sign
            .identity_token
            .as_ref()
            .map(|p| format!("@{}", p.display()))
    });
    let signer = vouch_pipeline::keyless::Keyless::resolve(trust.clone(), explicit)
        .context("keyless signing")?;
    Ok((Box::new(signer), trust))
}

/// A key signer logged as `vouch sign --key` logs: in `[sign] rekor_url` (Rekor v1), else in
/// every log the trust config (--trust-config, `[sign] trust_config`, $VOUCH_TRUST_CONFIG)
/// selects, timestamped by its TSAs. Returns the signer, whether it logs, and the trust
/// config's root (what checks the entries unless a trusted root is given).
fn key_signer(
    args: &PipelineArgs,
    config: &Config,
    key: Box<dyn vouch_sign::Signer>,
) -> anyhow::Result<(KeySigner, bool, Option<TrustedRoot>)> {
    if config.sign.fulcio_url.is_some() {
        bail!(
            "[sign] fulcio_url applies to keyless signing (keyless = true); remove it to sign with a key"
        );
    }
    let path = args
        .trust_config
        .clone()
        .or(config.sign.trust_config.clone())
        .or_else(|| std::env::var_os(vouch_keyless::config::TRUST_CONFIG_ENV).map(PathBuf::from));
    let trust = match &path {
        Some(p) => Some(
            vouch_keyless::TrustConfig::from_file(p, &Limits::default())
                .with_context(|| format!("reading trust config {}", p.display()))?,
        ),
        None => None,
    };
    let logs: Vec<Box<dyn vouch_sign::sign::TransparencyLog>> =
        match (&config.sign.rekor_url, &trust) {
            (Some(url), _) => vec![Box::new(
                vouch_keyless::RekorLog::new(url)
                    .with_context(|| format!("[sign] rekor_url {url}"))?,
            )],
            (None, Some(t)) => {
                vouch_keyless::transparency_logs(t, &vouch_http::ClientConfig::default())?
            }
            (None, None) => return Ok((KeySigner::boxed(key), false, None)),
        };
    let timestamper = match trust.as_ref().filter(|t| !t.tsa_urls.is_empty()) {
        Some(t) => {
            let tsa = vouch_keyless::TimestampAuthorities::new(t.tsa_urls.clone())?;
            Some(
                Box::new(move |signature: &[u8]| tsa.timestamper()(signature))
                    as Box<vouch_pipeline::Timestamps>,
            )
        }
        None => None,
    };
    Ok((
        KeySigner::boxed(key).logged(logs, timestamper),
        true,
        trust.map(|t| t.trusted_root),
    ))
}

fn trusted_root(path: Option<&Path>) -> anyhow::Result<TrustedRoot> {
    match path {
        Some(p) => {
            let json = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            TrustedRoot::from_json(&json, &Limits::default())
                .with_context(|| format!("parsing {}", p.display()))
        }
        None => Ok(TrustedRoot::default()),
    }
}

fn matcher(exact: Option<&String>, regexp: Option<&String>, what: &str) -> anyhow::Result<Match> {
    match (exact, regexp) {
        (Some(s), None) => Ok(Match::Exact(s.clone())),
        (None, Some(r)) => Ok(Match::regex(r)?),
        (Some(_), Some(_)) => bail!("give {what} or {what}-regexp, not both"),
        (None, None) => bail!("keyless verification needs {what} (or {what}-regexp)"),
    }
}

pub(crate) fn pipeline(args: &PipelineArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    // No image, no configuration: the embedded default (`vouch demo`).
    if args.image.is_none()
        && args.config.is_none()
        && args.add.is_empty()
        && !Path::new("vouch.toml").is_file()
    {
        if !ctx.quiet && ctx.format == Format::Table {
            eprintln!(
                "vouch: no IMAGE and no vouch.toml: running the embedded default (`vouch demo`)"
            );
        }
        return demo(
            &DemoArgs {
                work: None,
                report: args.report.clone(),
                ephemeral_key: false,
            },
            ctx,
        );
    }
    let mut config = match &args.config {
        Some(p) => Config::load(p)?,
        None if Path::new("vouch.toml").is_file() => Config::load(Path::new("vouch.toml"))?,
        None => Config::default(),
    };
    // Flags override the file.
    if let Some(i) = &args.image {
        config.image = Some(i.clone());
    }
    if !args.add.is_empty() {
        let b = config.build.get_or_insert_with(Default::default);
        b.add = args.add.clone();
    }
    if let Some(f) = &args.from {
        config.build.get_or_insert_with(Default::default).from = Some(f.clone());
    }
    if let Some(c) = &args.cmd {
        config.build.get_or_insert_with(Default::default).cmd =
            Some(super::build::parse_command("--cmd", c)?);
    }
    let image = config
        .image
        .clone()
        .context("no image: give IMAGE or `image` in vouch.toml")?;
    let out = args
        .out
        .clone()
        .or(config.out.clone())
        .unwrap_or_else(|| PathBuf::from("vouch-out"));
    let registry = registry_options(ctx)?;

    // Scan.
    let fail_on = args
        .fail_on
        .as_deref()
        .or(config.scan.fail_on.as_deref())
        .map(parse_severity)
        .transpose()?;
    let mut advisories = config.scan.advisories.clone();
    advisories.extend(args.advisories.iter().cloned());
    let db = if !advisories.is_empty() {
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        let db = out.join("vuln.db");
        let _ = std::fs::remove_file(&db);
        vouch_pipeline::import_advisories(&db, &advisories)?;
        db
    } else {
        args.db
            .clone()
            .or(config.scan.db.clone())
            .unwrap_or_else(vouch_vuln::default_db_path)
    };

    // Sign and verify.
    let keyless = args.keyless || config.sign.keyless;
    let verify_trust = trusted_root(
        args.trusted_root
            .as_deref()
            .or(config.verify.trusted_root.as_deref()),
    )?;
    let v = &config.verify;
    let identity_given = [
        &args.certificate_identity,
        &args.certificate_identity_regexp,
        &v.certificate_identity,
        &v.certificate_identity_regexp,
    ]
    .iter()
    .any(|o| o.is_some());
    let mut signing_key = None;
    // Key signatures with log entries: the root their logs are checked against.
    let mut logged_key_trust = None;
    let mut log_url = None;
    let mut keyless_trust = None;
    let signing = if args.verify_only {
        Signing::VerifyOnly
    } else if keyless {
        let (signer, trust) = keyless_signer(args, &config)?;
        log_url = trust.logs.first().map(|log| log.url.clone());
        keyless_trust = Some(trust.trusted_root);
        Signing::With(signer)
    } else {
        let key_arg = args
            .key
            .clone()
            .or(config.sign.key.clone())
            .context("no signer: give --key KEY (or [sign] key), or --keyless")?;
        let key = super::keys::load_signer(&key_arg, None)?;
        signing_key = Some(key.verifying_key());
        let (signer, logged, key_trust) = key_signer(args, &config, key)?;
        if logged {
            let explicit = args.trusted_root.is_some() || config.verify.trusted_root.is_some();
            logged_key_trust = Some(match (explicit, key_trust) {
                (true, _) => verify_trust.clone(),
                (false, Some(t)) => t,
                (false, None) => bail!(
                    "[sign] rekor_url logs the key signatures, and verifying them needs the \
                     log's key: give --trusted-root FILE ([verify] trusted_root) or [sign] \
                     trust_config"
                ),
            });
        }
        Signing::With(Box::new(signer))
    };
    let key_expect = |key: vouch_sign::VerifyingKey| match &logged_key_trust {
        Some(trust) => Expect::LoggedKey {
            key,
            trust: trust.clone(),
        },
        None => Expect::Key(key),
    };
    // Without --trusted-root, a keyless run trusts its own instance's root.
    let verify_trust = match (
        &args.trusted_root,
        &config.verify.trusted_root,
        keyless_trust,
    ) {
        (None, None, Some(t)) => t,
        _ => verify_trust,
    };
    let expect = if let Some(k) = args.verify_key.as_ref().or(v.key.as_ref()) {
        key_expect(
            k.parse::<KeyRef>()?
                .load_verifying_key(&Limits::default())
                .with_context(|| format!("reading verify key {k}"))?,
        )
    } else if keyless || identity_given {
        let identity = matcher(
            args.certificate_identity
                .as_ref()
                .or(v.certificate_identity.as_ref()),
            args.certificate_identity_regexp
                .as_ref()
                .or(v.certificate_identity_regexp.as_ref()),
            "--certificate-identity",
        )?;
        let issuer = matcher(
            args.certificate_oidc_issuer
                .as_ref()
                .or(v.certificate_oidc_issuer.as_ref()),
            args.certificate_oidc_issuer_regexp
                .as_ref()
                .or(v.certificate_oidc_issuer_regexp.as_ref()),
            "--certificate-oidc-issuer",
        )?;
        Expect::Identity {
            policy: IdentityPolicy {
                identity,
                issuer,
                extensions: Vec::new(),
            },
            trust: verify_trust.clone(),
            options: VerifierOptions::default(),
        }
    } else if let Some(k) = signing_key {
        key_expect(k)
    } else {
        bail!("nothing to verify against: give --verify-key or --certificate-identity[-regexp]")
    };
    let signature_format = match args
        .signature_format
        .as_deref()
        .or(config.sign.signature_format.as_deref())
    {
        None | Some("bundle") => vouch_sign::oci::SignatureFormat::Bundle,
        Some("legacy") => vouch_sign::oci::SignatureFormat::Legacy,
        Some("both") => vouch_sign::oci::SignatureFormat::Both,
        Some(other) => bail!("signature format {other:?}: expected bundle, legacy or both"),
    };
    let provenance = match args.provenance.as_ref().or(config.sign.provenance.as_ref()) {
        Some(p) => Some(
            serde_json::from_slice(
                &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            )
            .with_context(|| format!("{} is not JSON", p.display()))?,
        ),
        None => None,
    };

    // Admission.
    let mut policies = config
        .policy
        .as_ref()
        .map(|p| p.policies.clone())
        .unwrap_or_default();
    policies.extend(args.policy.iter().cloned());
    let mut resources = config
        .policy
        .as_ref()
        .map(|p| p.resources.clone())
        .unwrap_or_default();
    resources.extend(args.resource.iter().cloned());
    let policy = match (policies.is_empty(), resources.is_empty()) {
        (true, true) => None,
        (false, false) => {
            let trust = match config
                .policy
                .as_ref()
                .and_then(|p| p.trusted_root.as_deref())
            {
                Some(p) => trusted_root(Some(p))?,
                None => verify_trust,
            };
            Some(vouch_pipeline::load_policy(&policies, &resources, trust)?)
        }
        _ => bail!("the policy stage needs both policies and resources"),
    };

    // Build.
    let build = match &config.build {
        Some(b) => {
            let mut spec = super::build::spec(&super::build::BuildArgs {
                from: b.from.clone(),
                add: b.add.clone(),
                push: image.clone(),
                entrypoint: b
                    .entrypoint
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()?,
                cmd: b.cmd.as_ref().map(serde_json::to_string).transpose()?,
                env: b.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                label: b.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                user: b.user.clone(),
                workdir: b.workdir.clone(),
                platform: b.platform.clone(),
                source_date_epoch: 0,
                provenance: None,
                builder_id: None,
            })?;
            spec.source_date_epoch = std::env::var("SOURCE_DATE_EPOCH")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let (builder_id, invocation_id) = super::build::builder_id(b.builder_id.as_deref());
            Some(BuildPlan {
                spec,
                builder_id,
                invocation_id,
            })
        }
        None => None,
    };

    let plan = Plan {
        image: image.clone(),
        build,
        out_dir: out,
        db,
        fail_on,
        fail_on_unknown: args.fail_on_unknown || config.scan.fail_on_unknown,
        signing,
        signature_format,
        expect,
        provenance,
        policy,
        registry,
        log_url,
    };
    if ctx.format == Format::Table && !ctx.quiet {
        println!("vouch pipeline {image}");
    }
    let report = vouch_pipeline::run(&plan, &mut printer(ctx))?;
    if ctx.format == Format::Table && !ctx.quiet {
        print_tail(&report);
    }
    finish(&report, ctx, args.report.as_deref())
}

fn print_tail(report: &Report) {
    if let Some(p) = &report.pinned {
        println!("\n  image   {p}");
    }
    if let Some(s) = &report.signer {
        println!("  signer  {s}");
    }
    if !report.artifacts.is_empty() {
        let bundles = report
            .artifacts
            .iter()
            .filter(|a| a.starts_with("bundles/"))
            .count();
        let mut names: Vec<&str> = report
            .artifacts
            .iter()
            .filter(|a| !a.starts_with("bundles/"))
            .map(String::as_str)
            .collect();
        let b = format!("bundles/ ({bundles})");
        if bundles > 0 {
            names.push(&b);
        }
        println!("  out     {}", names.join(", "));
    }
    for d in &report.admission {
        println!(
            "  {} {}/{}/{}{}",
            if d.admitted { "admitted" } else { "REFUSED " },
            d.namespace,
            d.kind,
            d.name,
            if d.pinned.is_empty() {
                String::new()
            } else {
                format!(" (pinned to {})", d.pinned.join(", "))
            }
        );
    }
}

pub(crate) fn demo(args: &DemoArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let work = match &args.work {
        Some(w) => {
            std::fs::create_dir_all(w).with_context(|| format!("creating {}", w.display()))?;
            w.clone()
        }
        None => {
            let temp = std::env::temp_dir().join(format!(
                "vouch-demo-{}-{}",
                std::process::id(),
                started.elapsed().as_nanos()
            ));
            std::fs::create_dir_all(&temp)?;
            temp
        }
    };
    let table = ctx.format == Format::Table && !ctx.quiet;
    let options = vouch_pipeline::demo::DemoOptions {
        signing: if args.ephemeral_key {
            vouch_pipeline::demo::DemoSigning::EphemeralKey
        } else {
            vouch_pipeline::demo::DemoSigning::Keyless
        },
    };
    let result = vouch_pipeline::demo::run_demo(
        &work,
        &options,
        &mut |s| {
            if table {
                println!("vouch demo: everything in-process, nothing else running");
                for (name, what) in &s.services {
                    println!("  {name:<9} {what}");
                }
                println!("  signer    {}", s.signing);
                println!("  scan db   3 bundled urllib3 advisories (PyPA, CC-BY-4.0)");
                println!("  image     {} (built from examples/demo-app)", s.image);
                println!();
                println!("pipeline on the image digest (--fail-on high):");
            }
        },
        &mut printer(ctx),
    );
    if args.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let demo = result?;
    if table {
        let r = &demo.report;
        if let Some(p) = &r.pinned {
            println!("\n  image   {p}");
        }
        if let Some(s) = &r.signer {
            println!("  signer  {s}");
        }
        let by_sev = |s: &str| r.vulnerabilities.iter().filter(|v| v.severity == s).count();
        println!(
            "  vulns   {} critical, {} high, {} medium, {} low",
            by_sev("critical"),
            by_sev("high"),
            by_sev("medium"),
            by_sev("low")
        );
        if !demo.decisions.is_empty() {
            println!("\nadmission (Kyverno verifyImages: signature + SPDX SBOM from the signer):");
            for d in &demo.decisions {
                let why = if d.admitted {
                    format!("pinned to {}", d.pinned.join(", "))
                } else {
                    d.messages
                        .iter()
                        .find(|m| !m.starts_with("pass"))
                        .cloned()
                        .unwrap_or_default()
                };
                println!(
                    "  {} pod/{:<13} {}",
                    if d.admitted {
                        "✓ admitted"
                    } else {
                        "✗ refused "
                    },
                    d.name,
                    why
                );
            }
        }
        println!(
            "\ndone in {:.1}s{}",
            started.elapsed().as_secs_f64(),
            if args.work.is_some() {
                format!("; files in {}", work.display())
            } else {
                String::new()
            }
        );
    }
    let expected = demo.decisions.len() == 2
        && demo.decisions.first().is_some_and(|d| d.admitted)
        && demo.decisions.get(1).is_some_and(|d| !d.admitted);
    let code = finish(&demo.report, ctx, args.report.as_deref())?;
    if demo.report.passed && !expected {
        bail!("the admission decisions were not as expected (signed admitted, unsigned refused)");
    }
    Ok(code)
}
