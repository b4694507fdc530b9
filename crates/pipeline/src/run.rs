//! The stages, in order, on the image digest: (build) -> SBOM -> scan -> sign -> attest SBOM
//! (-> attest provenance) -> verify -> (policy). A stage that fails stops the run; later
//! stages are reported as skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;
use vouch_build::{BuilderInfo, Spec};
use vouch_oci::{Location, RegistryOptions};
use vouch_policy::{Policy, Resource, SigstoreVerifier, Status as RuleStatus};
use vouch_sign::image::{ImageReport, verify_image, verify_image_attestations};
use vouch_sign::intoto::{PREDICATE_SLSA_PROVENANCE_V1, PREDICATE_SPDX};
use vouch_sign::oci::{Candidate, ImageTarget, Kind, SignatureFormat, Store, Stored, discover};
use vouch_sign::sign::{TransparencyLog, Witnesses};
use vouch_sign::{
    IdentityPolicy, Signer, SignerPolicy, TrustedRoot, VerifiedSigner, Verifier, VerifierOptions,
    VerifyingKey,
};
use vouch_vuln::{Database, Severity};

use crate::error::{Error, Result};

/// The stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// `vouch build`.
    Build,
    /// The SBOM (SPDX 2.3 and CycloneDX 1.6).
    Sbom,
    /// Vulnerability scan against the threshold.
    Scan,
    /// Image signature.
    Sign,
    /// SBOM attestation.
    AttestSbom,
    /// SLSA provenance attestation.
    AttestProvenance,
    /// Signature and attestations verified against the expected signer.
    Verify,
    /// Admission policy evaluated against resources.
    Policy,
}

impl Stage {
    /// The name used in reports and exit messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::Sbom => "sbom",
            Self::Scan => "scan",
            Self::Sign => "sign",
            Self::AttestSbom => "attest-sbom",
            Self::AttestProvenance => "attest-provenance",
            Self::Verify => "verify",
            Self::Policy => "policy",
        }
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Done, checks held.
    Passed,
    /// A check did not hold, or the stage could not run.
    Failed,
    /// Not run (an earlier stage failed, or nothing to do).
    Skipped,
}

/// One stage's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageResult {
    /// Which.
    pub stage: Stage,
    /// How it ended.
    pub status: Status,
    /// Wall time in milliseconds.
    pub millis: u64,
    /// One line for people.
    pub summary: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the failure is a negative verdict (threshold reached, verification or policy
    /// refused) rather than an error (unreachable registry, bad input).
    pub verdict: bool,
}

/// Progress, for a terminal.
#[derive(Debug)]
pub enum Event<'a> {
    /// A stage began.
    Started(Stage),
    /// A stage ended.
    Finished(&'a StageResult),
}

/// What a signer returns.
pub type SignResult = std::result::Result<Vec<Stored>, Box<dyn std::error::Error + Send + Sync>>;

/// How a run signs: with a key ([`KeySigner`]: any [`vouch_sign::Signer`], a key file, a
/// PKCS#11 token, a KMS key, or an ephemeral key) or keyless ([`crate::keyless::Keyless`]: a
/// short-lived certificate per signature, logged in a transparency log). Both sign through
/// vouch-sign's one seam ([`Store::sign_image_with`]); this trait only says who signs and
/// gives keyless its fresh certificate per signature.
pub trait ImageSigner {
    /// Who signs, for the report (`key sha256:…`, `dev@vouch.invalid (https://issuer)`).
    fn identity(&self) -> String;
    /// Signs `target` and stores the signature.
    fn sign(&self, store: &Store<'_>, target: &ImageTarget, format: SignatureFormat) -> SignResult;
    /// Attests `predicate` about `target` and stores it.
    fn attest(
        &self,
        store: &Store<'_>,
        target: &ImageTarget,
        format: SignatureFormat,
        predicate_type: &str,
        predicate: Value,
    ) -> SignResult;
}

/// Signing with a private key: a cosign key file or PEM, a PKCS#11 token or KMS key (any
/// [`vouch_sign::Signer`]), or a key generated for one run; logged, as `vouch sign --key`
/// logs, in the transparency logs it is given ([`KeySigner::logged`]).
pub struct KeySigner {
    key: Box<dyn Signer>,
    logs: Vec<Box<dyn TransparencyLog>>,
    timestamper: Option<Box<Timestamps>>,
}

/// RFC 3161 timestamps over a signature (one per authority), as the signing seam asks them.
pub type Timestamps = vouch_sign::sign::TimestampFn;

impl KeySigner {
    /// Signs with `key`, without log entry.
    pub fn new(key: impl Signer + 'static) -> Self {
        Self::boxed(Box::new(key))
    }

    /// Signs with `key`, without log entry.
    pub fn boxed(key: Box<dyn Signer>) -> Self {
        Self {
            key,
            logs: Vec::new(),
            timestamper: None,
        }
    }

    /// Every signature is also uploaded to each of `logs` (one bundle entry each) and
    /// timestamped by `timestamper` (required by a Rekor v2 log).
    pub fn logged(
        mut self,
        logs: Vec<Box<dyn TransparencyLog>>,
        timestamper: Option<Box<Timestamps>>,
    ) -> Self {
        self.logs = logs;
        self.timestamper = timestamper;
        self
    }

    fn witnesses(&self) -> Witnesses<'_> {
        Witnesses {
            logs: &self.logs,
            timestamper: self.timestamper.as_deref(),
            check: None,
        }
    }
}

impl ImageSigner for KeySigner {
    fn identity(&self) -> String {
        format!(
            "key sha256:{}",
            hex::encode(self.key.verifying_key().key_id())
        )
    }

    fn sign(&self, store: &Store<'_>, target: &ImageTarget, format: SignatureFormat) -> SignResult {
        Ok(store.sign_image_with(
            target,
            &*self.key,
            &self.witnesses(),
            format,
            &BTreeMap::new(),
        )?)
    }

    fn attest(
        &self,
        store: &Store<'_>,
        target: &ImageTarget,
        format: SignatureFormat,
        predicate_type: &str,
        predicate: Value,
    ) -> SignResult {
        Ok(store.attest_image_with(
            target,
            &*self.key,
            &self.witnesses(),
            format,
            predicate_type,
            predicate,
        )?)
    }
}

/// Who verification must find as the signer.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A public key (key-signed without a log entry: `vouch verify --key --insecure-ignore-tlog`).
    Key(VerifyingKey),
    /// A public key whose signatures carry log entries from a log `trust` lists (key-signed
    /// with a log: `vouch verify --key --trusted-root`).
    LoggedKey {
        /// The key.
        key: VerifyingKey,
        /// The logs' keys (and the timestamp authorities' chains).
        trust: TrustedRoot,
    },
    /// A certificate identity chaining to `trust`, with a log entry.
    Identity {
        /// Identity and issuer.
        policy: IdentityPolicy,
        /// CA and log keys.
        trust: TrustedRoot,
        /// Weakening switches (all off by default).
        options: VerifierOptions,
    },
}

impl Expect {
    /// `vouch verify` and `vouch verify-attestation` command lines that check the same thing
    /// by hand (`IMAGE` is a placeholder).
    pub fn commands(&self) -> Vec<String> {
        let who = match self {
            // Key signatures without a log (run.rs `verifier`).
            Self::Key(_) => "--key cosign.pub --insecure-ignore-tlog".to_owned(),
            Self::LoggedKey { .. } => {
                "--key cosign.pub --trusted-root trusted_root.json".to_owned()
            }
            Self::Identity { policy, .. } => {
                let m = |flag: &str, m: &vouch_sign::Match| match m {
                    vouch_sign::Match::Exact(s) => format!("--{flag} '{s}'"),
                    vouch_sign::Match::Regex(r) => format!("--{flag}-regexp '{}'", r.as_str()),
                };
                format!(
                    "{} {} --trusted-root trusted_root.json",
                    m("certificate-identity", &policy.identity),
                    m("certificate-oidc-issuer", &policy.issuer)
                )
            }
        };
        vec![
            format!("vouch verify IMAGE {who}"),
            format!("vouch verify-attestation IMAGE --type spdxjson {who}"),
        ]
    }

    fn verifier(&self) -> (Verifier, SignerPolicy) {
        match self {
            Self::Key(k) => (
                Verifier::with_options(
                    TrustedRoot::default(),
                    VerifierOptions {
                        keys_without_tlog: true,
                        ..Default::default()
                    },
                ),
                SignerPolicy::Key(k.clone()),
            ),
            Self::LoggedKey { key, trust } => {
                (Verifier::new(trust.clone()), SignerPolicy::Key(key.clone()))
            }
            Self::Identity {
                policy,
                trust,
                options,
            } => (
                Verifier::with_options(trust.clone(), *options),
                SignerPolicy::Identity(policy.clone()),
            ),
        }
    }
}

/// The admission stage's input.
pub struct PolicyPlan {
    /// Kyverno policies (validated).
    pub policies: Vec<Policy>,
    /// Resources to admit.
    pub resources: Vec<Resource>,
    /// Trust for keyless attestors.
    pub trust: TrustedRoot,
}

/// Building first.
pub struct BuildPlan {
    /// What to build.
    pub spec: Spec,
    /// Provenance `builder.id`.
    pub builder_id: String,
    /// Provenance `invocationId`.
    pub invocation_id: Option<String>,
}

/// A whole run, fully resolved.
pub struct Plan {
    /// The image: a registry reference or `oci:DIR[:TAG]` (built there first with `build`).
    pub image: String,
    /// Build the image first.
    pub build: Option<BuildPlan>,
    /// Where artifacts go.
    pub out_dir: PathBuf,
    /// The vulnerability database (SQLite, from `vouch db import`).
    pub db: PathBuf,
    /// Fail the scan stage at this severity.
    pub fail_on: Option<Severity>,
    /// Count unknown severities for `fail_on`.
    pub fail_on_unknown: bool,
    /// Sign with a signer, or only verify.
    pub signing: Signing,
    /// Storage scheme of signatures.
    pub signature_format: SignatureFormat,
    /// Who verification expects.
    pub expect: Expect,
    /// SLSA provenance predicate to attest (a build makes one).
    pub provenance: Option<Value>,
    /// Admission check.
    pub policy: Option<PolicyPlan>,
    /// Registry access.
    pub registry: RegistryOptions,
    /// The transparency log's base URL (keyless), for links in the report.
    pub log_url: Option<String>,
}

/// What a run does about signatures.
pub enum Signing {
    /// Build, SBOM, scan, sign and attest with this signer, then verify.
    With(Box<dyn ImageSigner>),
    /// Only verify (and evaluate the policy): the deploy-side check of an image signed by an
    /// earlier run. Provenance is required only when the plan's `provenance` is given.
    VerifyOnly,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::With(s) => f.debug_tuple("With").field(&s.identity()).finish(),
            Self::VerifyOnly => f.write_str("VerifyOnly"),
        }
    }
}

impl Signing {
    fn signer(&self) -> std::result::Result<&dyn ImageSigner, Failure> {
        match self {
            Self::With(s) => Ok(s.as_ref()),
            Self::VerifyOnly => Err(error("a verify-only run signs nothing")),
        }
    }
}

/// A vulnerability in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vulnerability {
    /// Advisory id.
    pub id: String,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Ecosystem.
    pub ecosystem: String,
    /// `critical` … `unknown`.
    pub severity: String,
    /// CVSS base score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Fixed versions.
    pub fixed: Vec<String>,
    /// Summary.
    pub summary: String,
    /// Advisory URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A package of the SBOM.
#[derive(Debug, Clone, Serialize)]
pub struct PackageRow {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// purl type (`pypi`, `deb`…) or the cataloger's kind.
    pub ecosystem: String,
    /// purl.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A signature or attestation found and verified.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationRow {
    /// `https://sigstore.dev/cosign/sign/v1` for signatures, else the predicate type.
    pub predicate_type: String,
    /// Where it is stored.
    pub location: String,
    /// Whether it verified against the expected signer.
    pub verified: bool,
    /// Signer established by verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Why it did not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A verified transparency log entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryRow {
    /// What it logs.
    pub what: String,
    /// Log index.
    pub log_index: u64,
    /// Log id (hex).
    pub log_id: String,
    /// Integrated time (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<u64>,
    /// Whether the inclusion proof was verified.
    pub inclusion_proof: bool,
}

/// One admission decision.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// `Pod`…
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Whether it would be admitted.
    pub admitted: bool,
    /// Rule messages.
    pub messages: Vec<String>,
    /// Images pinned by `mutateDigest` (`image@sha256:…`).
    pub pinned: Vec<String>,
}

/// Everything a run established.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The image as given.
    pub image: String,
    /// Its digest, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `name@digest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    /// Every stage passed.
    pub passed: bool,
    /// The stage that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_stage: Option<Stage>,
    /// Per stage.
    pub stages: Vec<StageResult>,
    /// Who signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Scan threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<String>,
    /// Findings (not suppressed).
    pub vulnerabilities: Vec<Vulnerability>,
    /// SBOM packages.
    pub packages: Vec<PackageRow>,
    /// Signatures and attestations seen by the verify stage.
    pub attestations: Vec<AttestationRow>,
    /// Log entries verified.
    pub log_entries: Vec<LogEntryRow>,
    /// Admission decisions.
    pub admission: Vec<Decision>,
    /// Files written to the output directory.
    pub artifacts: Vec<String>,
    /// The transparency log's base URL, for links to entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    /// `vouch` commands that re-check the result by hand (`IMAGE` stands for the pinned
    /// image).
    pub verify_commands: Vec<String>,
}

impl Report {
    /// The failed stage's result.
    pub fn failure(&self) -> Option<&StageResult> {
        self.stages.iter().find(|s| s.status == Status::Failed)
    }
}

/// A stage's failure: verdict or error, with the message.
struct Failure {
    verdict: bool,
    message: String,
}

fn error(e: impl std::fmt::Display) -> Failure {
    Failure {
        verdict: false,
        message: e.to_string(),
    }
}

fn verdict(message: impl Into<String>) -> Failure {
    Failure {
        verdict: true,
        message: message.into(),
    }
}

type StageOutcome = std::result::Result<String, Failure>;
type StageFn = fn(&mut Ctx<'_>) -> StageOutcome;

/// The state threaded through the stages.
struct Ctx<'a> {
    plan: &'a Plan,
    report: Report,
    target: Option<ImageTarget>,
    location: Option<Location>,
    spdx: Option<Value>,
    cyclonedx: Option<Vec<u8>>,
    provenance: Option<Value>,
}

/// Runs every stage of `plan`, reporting progress to `progress`.
pub fn run(plan: &Plan, progress: &mut dyn FnMut(Event<'_>)) -> Result<Report> {
    std::fs::create_dir_all(&plan.out_dir).map_err(|e| Error::io(&plan.out_dir, e))?;
    let mut ctx = Ctx {
        plan,
        report: Report {
            image: plan.image.clone(),
            digest: None,
            pinned: None,
            passed: false,
            failed_stage: None,
            stages: Vec::new(),
            signer: None,
            fail_on: plan.fail_on.map(|s| s.to_string()),
            vulnerabilities: Vec::new(),
            packages: Vec::new(),
            attestations: Vec::new(),
            log_entries: Vec::new(),
            admission: Vec::new(),
            artifacts: Vec::new(),
            log_url: plan.log_url.clone(),
            verify_commands: plan.expect.commands(),
        },
        target: None,
        location: None,
        spdx: None,
        cyclonedx: None,
        provenance: plan.provenance.clone(),
    };
    let mut stages: Vec<(Stage, StageFn)> = Vec::new();
    if let Signing::With(_) = plan.signing {
        if plan.build.is_some() {
            stages.push((Stage::Build, build));
        }
        stages.push((Stage::Sbom, sbom));
        stages.push((Stage::Scan, scan));
        stages.push((Stage::Sign, sign));
        stages.push((Stage::AttestSbom, attest_sbom));
        if plan.provenance.is_some() || plan.build.is_some() {
            stages.push((Stage::AttestProvenance, attest_provenance));
        }
    }
    stages.push((Stage::Verify, verify));
    if plan.policy.is_some() {
        stages.push((Stage::Policy, policy));
    }
    let mut failed = false;
    for (stage, f) in stages {
        if failed {
            let r = StageResult {
                stage,
                status: Status::Skipped,
                millis: 0,
                summary: "skipped: an earlier stage failed".into(),
                error: None,
                verdict: false,
            };
            progress(Event::Finished(&r));
            ctx.report.stages.push(r);
            continue;
        }
        progress(Event::Started(stage));
        let started = Instant::now();
        // Resolving the digest is part of the first stage that needs it.
        let outcome = if stage != Stage::Build && ctx.target.is_none() {
            resolve(&mut ctx).and_then(|()| f(&mut ctx))
        } else {
            f(&mut ctx)
        };
        let millis = started.elapsed().as_millis() as u64;
        let r = match outcome {
            Ok(summary) => StageResult {
                stage,
                status: Status::Passed,
                millis,
                summary,
                error: None,
                verdict: false,
            },
            Err(f) => {
                failed = true;
                ctx.report.failed_stage = Some(stage);
                StageResult {
                    stage,
                    status: Status::Failed,
                    millis,
                    summary: f.message.lines().next().unwrap_or_default().to_owned(),
                    error: Some(f.message),
                    verdict: f.verdict,
                }
            }
        };
        progress(Event::Finished(&r));
        ctx.report.stages.push(r);
    }
    ctx.report.passed = !failed;
    let report_path = plan.out_dir.join("report.json");
    let json = serde_json::to_vec_pretty(&ctx.report).unwrap_or_default();
    std::fs::write(&report_path, json).map_err(|e| Error::io(&report_path, e))?;
    Ok(ctx.report)
}

fn write(ctx: &mut Ctx<'_>, name: &str, bytes: &[u8]) -> std::result::Result<(), Failure> {
    let path = ctx.plan.out_dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| error(format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(&path, bytes).map_err(|e| error(format!("{}: {e}", path.display())))?;
    ctx.report.artifacts.push(name.to_owned());
    Ok(())
}

fn build(ctx: &mut Ctx<'_>) -> StageOutcome {
    let Some(b) = &ctx.plan.build else {
        return Ok("nothing to build".into());
    };
    let dest = Location::parse(&ctx.plan.image).map_err(error)?;
    let started = SystemTime::now();
    let built = vouch_build::build(
        &b.spec,
        &dest,
        &ctx.plan.registry,
        &vouch_build::Limits::default(),
    )
    .map_err(error)?;
    let predicate = vouch_build::provenance(
        &b.spec,
        &built,
        &BuilderInfo {
            id: b.builder_id.clone(),
            invocation_id: b.invocation_id.clone(),
            started,
            finished: SystemTime::now(),
        },
    );
    let bytes = serde_json::to_vec_pretty(&predicate).map_err(error)?;
    write(ctx, "provenance.json", &bytes)?;
    if ctx.provenance.is_none() {
        ctx.provenance = Some(predicate);
    }
    let new = built.layers.iter().filter(|l| l.added.is_some()).count();
    Ok(format!(
        "{} ({} new layer{}, {})",
        built.pinned(),
        new,
        if new == 1 { "" } else { "s" },
        built.platform
    ))
}

/// The image's digest and the store to sign into.
fn resolve(ctx: &mut Ctx<'_>) -> std::result::Result<(), Failure> {
    let location = Location::parse(&ctx.plan.image).map_err(error)?;
    let (source, selector) =
        vouch_oci::open_source(&location, &ctx.plan.registry).map_err(error)?;
    let top = source.manifest(&selector).map_err(error)?;
    let repository = match &location {
        Location::Registry(r) => r.name(),
        Location::Layout { path, .. } => format!("oci:{}", path.display()),
        other => other.to_string(),
    };
    let target = ImageTarget {
        repository,
        digest: top.digest.clone(),
        media_type: top.media_type.clone(),
        size: top.bytes.len() as u64,
    };
    ctx.report.digest = Some(target.digest.to_string());
    ctx.report.pinned = Some(target.pinned());
    ctx.target = Some(target);
    ctx.location = Some(location);
    Ok(())
}

/// The location to read the image by digest (registries) or by its tag (layouts, which
/// vouch addresses by tag; the digest was resolved and is checked by every later stage).
fn pinned_input(ctx: &Ctx<'_>) -> String {
    match (&ctx.location, &ctx.target) {
        (Some(Location::Registry(_)), Some(t)) => t.pinned(),
        _ => ctx.plan.image.clone(),
    }
}

fn sbom(ctx: &mut Ctx<'_>) -> StageOutcome {
    let input = pinned_input(ctx);
    let options = vouch_sbom::Options {
        scope: vouch_sbom::Scope::Squashed,
        platform: None,
        registry: ctx.plan.registry.clone(),
        supplier: None,
        catalogers: Vec::new(),
    };
    let sbom = vouch_sbom::generate(&input, &options).map_err(error)?;
    let stamp = vouch_sbom::format::Stamp::now();
    let spdx = vouch_sbom::format::encode_with(&sbom, vouch_sbom::format::Format::SpdxJson, &stamp)
        .map_err(error)?;
    let cdx =
        vouch_sbom::format::encode_with(&sbom, vouch_sbom::format::Format::CycloneDxJson, &stamp)
            .map_err(error)?;
    write(ctx, "sbom.spdx.json", &spdx)?;
    write(ctx, "sbom.cdx.json", &cdx)?;
    ctx.spdx = Some(serde_json::from_slice(&spdx).map_err(error)?);
    ctx.cyclonedx = Some(cdx);
    let mut by_eco: BTreeMap<String, usize> = BTreeMap::new();
    for p in &sbom.packages {
        let ecosystem = p
            .purl
            .as_deref()
            .and_then(|u| u.strip_prefix("pkg:"))
            .and_then(|u| u.split('/').next())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{:?}", p.kind).to_lowercase());
        *by_eco.entry(ecosystem.clone()).or_default() += 1;
        ctx.report.packages.push(PackageRow {
            name: p.name.clone(),
            version: p.version.clone(),
            ecosystem,
            purl: p.purl.clone(),
        });
    }
    let eco: Vec<String> = by_eco.iter().map(|(e, n)| format!("{n} {e}")).collect();
    Ok(format!(
        "{} package{}{} -> sbom.spdx.json, sbom.cdx.json",
        sbom.packages.len(),
        if sbom.packages.len() == 1 { "" } else { "s" },
        if eco.is_empty() {
            String::new()
        } else {
            format!(" ({})", eco.join(", "))
        }
    ))
}

fn scan(ctx: &mut Ctx<'_>) -> StageOutcome {
    let Some(cdx) = ctx.cyclonedx.clone() else {
        return Err(error("no SBOM"));
    };
    let limits = vouch_vuln::Limits::default();
    let list = vouch_vuln::read_sbom(&cdx, "sbom.cdx.json", &limits).map_err(error)?;
    let db = Database::open(&ctx.plan.db).map_err(error)?;
    let report = db
        .scan(&list.packages, vouch_vuln::ScanOptions::default())
        .map_err(error)?;
    let json = serde_json::to_vec_pretty(&report).map_err(error)?;
    write(ctx, "scan.json", &json)?;
    let label = pinned_input(ctx);
    let sarif =
        serde_json::to_vec_pretty(&vouch_vuln::report::sarif(&report, &label)).map_err(error)?;
    write(ctx, "scan.sarif", &sarif)?;
    let mut counts: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for f in report.open() {
        *counts.entry(std::cmp::Reverse(f.severity())).or_default() += 1;
        ctx.report.vulnerabilities.push(Vulnerability {
            id: f.id.clone(),
            package: f.package.name.clone(),
            version: f.package.version.clone(),
            ecosystem: f.ecosystem.clone(),
            severity: f.severity().to_string(),
            score: f.rating.score,
            fixed: f.fixed_versions.clone(),
            summary: f.summary.clone(),
            url: f.url.clone(),
        });
    }
    let by_sev: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.0)).collect();
    let findings = report.open().count();
    let summary = format!(
        "{} package{}, {findings} finding{}{}",
        report.packages,
        if report.packages == 1 { "" } else { "s" },
        if findings == 1 { "" } else { "s" },
        if by_sev.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_sev.join(", "))
        }
    );
    if let Some(threshold) = ctx.plan.fail_on {
        let failing: Vec<String> = report
            .open()
            .filter(|f| {
                f.severity() >= threshold
                    || (ctx.plan.fail_on_unknown && f.severity() == Severity::Unknown)
            })
            .map(|f| {
                format!(
                    "{} {} {} ({})",
                    f.package.name,
                    f.package.version,
                    f.id,
                    f.severity()
                )
            })
            .collect();
        if !failing.is_empty() {
            return Err(verdict(format!(
                "{} finding(s) at or above {threshold}: {}",
                failing.len(),
                failing.join(", ")
            )));
        }
        return Ok(format!("{summary}; none at or above {threshold}"));
    }
    Ok(summary)
}

fn with_store<T>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&Store<'_>, &ImageTarget) -> std::result::Result<T, Failure>,
) -> std::result::Result<T, Failure> {
    let (Some(location), Some(target)) = (&ctx.location, &ctx.target) else {
        return Err(error("image not resolved"));
    };
    let (source, _) = vouch_oci::open_source(location, &ctx.plan.registry).map_err(error)?;
    let (sink, _) = vouch_oci::open_sink(location, &ctx.plan.registry).map_err(error)?;
    let store = Store {
        source: source.as_ref(),
        sink: sink.as_ref(),
        limits: vouch_sign::Limits::default(),
    };
    f(&store, target)
}

fn stored_summary(stored: &[Stored]) -> String {
    stored
        .iter()
        .map(|s| {
            let d = s.manifest.to_string();
            format!("{} {}…", s.scheme.name(), d.get(..19).unwrap_or(&d))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sign(ctx: &mut Ctx<'_>) -> StageOutcome {
    let signer = ctx.plan.signing.signer()?;
    ctx.report.signer = Some(signer.identity());
    let format = ctx.plan.signature_format;
    let stored = with_store(ctx, |store, target| {
        signer.sign(store, target, format).map_err(error)
    })?;
    Ok(format!(
        "signed by {} -> {}",
        signer.identity(),
        stored_summary(&stored)
    ))
}

fn attest_sbom(ctx: &mut Ctx<'_>) -> StageOutcome {
    let Some(spdx) = ctx.spdx.clone() else {
        return Err(error("no SBOM"));
    };
    let format = ctx.plan.signature_format;
    let signer = ctx.plan.signing.signer()?;
    let stored = with_store(ctx, |store, target| {
        signer
            .attest(store, target, format, PREDICATE_SPDX, spdx)
            .map_err(error)
    })?;
    Ok(format!(
        "SPDX attestation ({PREDICATE_SPDX}) -> {}",
        stored_summary(&stored)
    ))
}

fn attest_provenance(ctx: &mut Ctx<'_>) -> StageOutcome {
    let Some(p) = ctx.provenance.clone() else {
        return Ok("no provenance".into());
    };
    let format = ctx.plan.signature_format;
    let signer = ctx.plan.signing.signer()?;
    let stored = with_store(ctx, |store, target| {
        signer
            .attest(store, target, format, PREDICATE_SLSA_PROVENANCE_V1, p)
            .map_err(error)
    })?;
    Ok(format!(
        "SLSA provenance v1 attestation -> {}",
        stored_summary(&stored)
    ))
}

fn signer_text(s: &VerifiedSigner) -> String {
    match s {
        VerifiedSigner::Key { key_id } => format!("key sha256:{key_id}"),
        VerifiedSigner::Certificate(c) => format!(
            "{}{}",
            c.subject_alternative_names.join(", "),
            c.issuer
                .as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default()
        ),
    }
}

fn record(ctx: &mut Ctx<'_>, report: &ImageReport, what: &str) -> usize {
    let mut ok = 0;
    for c in &report.checked {
        // Attestations of other predicate types are not candidates for this one.
        if matches!(
            c.outcome,
            Err(vouch_sign::Error::PredicateTypeMismatch { .. })
        ) {
            continue;
        }
        let (verified, signer, err) = match &c.outcome {
            Ok(v) => {
                ok += 1;
                if let Some(t) = &v.evidence().tlog {
                    ctx.report.log_entries.push(LogEntryRow {
                        what: what.to_owned(),
                        log_index: t.log_index,
                        log_id: t.log_id.clone(),
                        integrated_time: t.integrated_time,
                        inclusion_proof: t.inclusion_proof_verified,
                    });
                }
                (true, Some(signer_text(&v.evidence().signer)), None)
            }
            Err(e) => (false, None, Some(e.to_string())),
        };
        ctx.report.attestations.push(AttestationRow {
            predicate_type: what.to_owned(),
            location: c.location.clone(),
            verified,
            signer,
            error: err,
        });
    }
    ok
}

fn first_error(report: &ImageReport) -> String {
    report
        .checked
        .iter()
        .filter_map(|c| c.outcome.as_ref().err())
        .find(|e| !matches!(e, vouch_sign::Error::PredicateTypeMismatch { .. }))
        .map(|e| e.to_string())
        .unwrap_or_else(|| "none found".into())
}

fn verify(ctx: &mut Ctx<'_>) -> StageOutcome {
    let (verifier, policy) = ctx.plan.expect.verifier();
    let (Some(location), Some(target)) = (ctx.location.clone(), ctx.target.clone()) else {
        return Err(error("image not resolved"));
    };
    let (source, _) = vouch_oci::open_source(&location, &ctx.plan.registry).map_err(error)?;
    let limits = vouch_sign::Limits::default();
    let sigs = verify_image(
        &verifier,
        source.as_ref(),
        &target,
        &policy,
        &BTreeMap::new(),
        &limits,
    )
    .map_err(error)?;
    let n_sig = record(ctx, &sigs, vouch_sign::intoto::PREDICATE_COSIGN_SIGN);
    let mut wanted = vec![PREDICATE_SPDX];
    if ctx.provenance.is_some() {
        wanted.push(PREDICATE_SLSA_PROVENANCE_V1);
    }
    let mut att_reports = Vec::new();
    for p in &wanted {
        let r = verify_image_attestations(
            &verifier,
            source.as_ref(),
            &target,
            Some(p),
            &policy,
            &limits,
        )
        .map_err(error)?;
        let n = record(ctx, &r, p);
        att_reports.push((*p, r, n));
    }
    // The bundles as stored, for offline re-verification (`vouch verify-blob --bundle`).
    let mut n_bundles = 0;
    for kind in [Kind::Signatures, Kind::Attestations] {
        if let Ok((candidates, _)) = discover(source.as_ref(), &target.digest, kind, &limits) {
            for c in candidates {
                if let Candidate::Referrer { manifest, bundle } = c {
                    n_bundles += 1;
                    write(
                        ctx,
                        &format!("bundles/{}-{}.sigstore.json", kind.name(), manifest.hex()),
                        &bundle,
                    )?;
                }
            }
        }
    }
    if n_sig == 0 {
        return Err(verdict(format!(
            "no signature of {} verifies: {}",
            target.pinned(),
            first_error(&sigs)
        )));
    }
    for (p, r, n) in &att_reports {
        if *n == 0 {
            return Err(verdict(format!(
                "no {p} attestation of {} verifies: {}",
                target.pinned(),
                first_error(r)
            )));
        }
    }
    let signer = sigs
        .verified()
        .next()
        .map(|(_, v)| signer_text(&v.evidence().signer))
        .unwrap_or_default();
    let logged = ctx.report.log_entries.len();
    Ok(format!(
        "signature + {} attestation{} verified for {signer}{}{}",
        att_reports.len(),
        if att_reports.len() == 1 { "" } else { "s" },
        if logged > 0 {
            format!(", {logged} log entries")
        } else {
            String::new()
        },
        if n_bundles > 0 {
            format!(" -> bundles/ ({n_bundles})")
        } else {
            String::new()
        }
    ))
}

fn policy(ctx: &mut Ctx<'_>) -> StageOutcome {
    let Some(p) = &ctx.plan.policy else {
        return Ok("no policy".into());
    };
    let decisions = admission(p, &ctx.plan.registry).map_err(error)?;
    let admitted = decisions.iter().filter(|d| d.admitted).count();
    let refused: Vec<String> = decisions
        .iter()
        .filter(|d| !d.admitted)
        .map(|d| format!("{}/{}", d.kind, d.name))
        .collect();
    ctx.report.admission = decisions;
    if !refused.is_empty() {
        return Err(verdict(format!("refused: {}", refused.join(", "))));
    }
    Ok(format!("{admitted} resource(s) admitted"))
}

/// The admission decision for every resource of `plan`, as the admission controller would
/// take it (Kyverno `verifyImages`, tags resolved and pinned to digests).
pub fn admission(
    plan: &PolicyPlan,
    registry: &RegistryOptions,
) -> std::result::Result<Vec<Decision>, vouch_policy::Error> {
    let verifier = SigstoreVerifier::new(plan.trust.clone(), registry.clone());
    let limits = vouch_policy::Limits::default();
    let mut decisions = Vec::new();
    for resource in &plan.resources {
        let r = vouch_policy::apply(
            &plan.policies,
            resource,
            &verifier,
            vouch_policy::Options::default(),
            &limits,
        )?;
        decisions.push(Decision {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            admitted: !r.blocked(),
            messages: r
                .results
                .iter()
                .filter(|x| x.status != RuleStatus::Skip)
                .map(|x| format!("{}: {}", x.status.name(), x.message))
                .collect(),
            pinned: r.patches.iter().map(|x| x.value.clone()).collect(),
        });
    }
    Ok(decisions)
}

/// Reads Kyverno policy and resource files into a [`PolicyPlan`].
pub fn load_policy(
    policies: &[PathBuf],
    resources: &[PathBuf],
    trust: TrustedRoot,
) -> Result<PolicyPlan> {
    let limits = vouch_policy::Limits::default();
    let load = |files: &[PathBuf]| -> Result<vouch_policy::Documents> {
        let mut docs = vouch_policy::Documents::default();
        for f in files {
            let text = std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?;
            let name = f.display().to_string();
            let parsed = vouch_policy::parse_documents(&text, &name, &limits)
                .map_err(|e| Error::config("policy", e))?;
            docs.add(parsed, &name)
                .map_err(|e| Error::config("policy", e))?;
        }
        Ok(docs)
    };
    let p = load(policies)?;
    if p.policies.is_empty() {
        return Err(Error::config(
            "policy",
            "no kyverno.io ClusterPolicy or Policy in the policy files",
        ));
    }
    for pol in &p.policies {
        let problems = pol.validate();
        if !problems.is_empty() {
            return Err(Error::config(
                &pol.name,
                vouch_policy::Error::Invalid {
                    policy: pol.name.clone(),
                    problems,
                },
            ));
        }
    }
    let r = load(resources)?;
    Ok(PolicyPlan {
        policies: p.policies,
        resources: r.resources,
        trust,
    })
}

/// Imports OSV advisory files or directories into a new database at `db`.
pub fn import_advisories(db: &Path, sources: &[PathBuf]) -> Result<()> {
    let mut database =
        Database::open_or_create(db).map_err(|e| Error::config(db.display().to_string(), e))?;
    let sources: Vec<vouch_vuln::Source> = sources
        .iter()
        .map(|p| vouch_vuln::Source::Path(p.clone()))
        .collect();
    database
        .import(&sources, &vouch_vuln::ImportOptions::default())
        .map_err(|e| Error::config("advisories", e))?;
    Ok(())
}
