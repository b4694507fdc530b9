//! Offline bundle verification: vouch in-process (bundles per second on one core), one
//! `vouch verify-blob` process, and sigstore-python's `sigstore verify identity --offline` on
//! the same keyless bundles, two of sigstore-python's own test vectors (staging instance):
//!
//! * `bundle_v3.txt.sigstore`, Rekor v1: certificate chain, SCT, signed entry timestamp,
//!   inclusion proof against a signed checkpoint, identity, signature: every check;
//! * `staging-rekor-v2.txt.sigstore.json`, Rekor v2 + RFC 3161 (issue 13's target): the same
//!   certificate checks, a `hashedrekord` 0.0.2 entry rebuilt and compared, its inclusion proof
//!   against an Ed25519 C2SP checkpoint, and the timestamp.sigstage.dev token (CMS signature by
//!   a P-384 key, TSA chain, imprint over the signature) as the only verified time.
//!
//! ```text
//! cargo build --release -p vouch -p vouch-bench
//! target/release/vouch-bench verify [--bundles 1000] [--runs 5]
//! ```
//!
//! sigstore-python comes from the project venv (`.ci/requirements.txt`, `sigstore`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use vouch_sign::{Artifact, Bundle, IdentityPolicy, Limits, SignerPolicy, TrustedRoot, Verifier};

use crate::measure::{Sample, measure, median, vouch_binary};

const ISSUER: &str = "https://github.com/login/oauth";

/// One keyless bundle of sigstore-python's test vectors and the identity that signed it.
struct Case {
    name: &'static str,
    artifact: &'static str,
    bundle: &'static str,
    identity: &'static str,
}

const CASES: [Case; 2] = [
    Case {
        name: "Rekor v1 (bundle_v3.txt.sigstore)",
        artifact: "sigstore-python/bundle_v3.txt",
        bundle: "sigstore-python/bundle_v3.txt.sigstore",
        identity: "william@yossarian.net",
    },
    Case {
        name: "Rekor v2 + RFC 3161 (staging-rekor-v2.txt.sigstore.json)",
        artifact: "sigstore-python/staging-rekor-v2.txt",
        bundle: "sigstore-python/staging-rekor-v2.txt.sigstore.json",
        identity: "jku@goto.fi",
    },
];

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sign/tests/data")
        .join(path)
}

/// What the run measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Report {
    pub(crate) case: &'static str,
    pub(crate) bundles: usize,
    pub(crate) bundles_per_sec: f64,
    pub(crate) vouch_process: Sample,
    pub(crate) sigstore_python: Sample,
}

/// Runs the benchmark on every case and prints a table per case.
pub(crate) fn run(bundles: usize, runs: usize) -> anyhow::Result<Vec<Report>> {
    let mut reports = Vec::new();
    for case in &CASES {
        reports.push(run_case(case, bundles, runs)?);
    }
    distinct_keyless(bundles)?;
    println!("summary (in process: warm verifier, 1 thread; process: median wall time)");
    for r in &reports {
        println!(
            "  {:<58} {:>6.0} bundles/s  vouch {:.3} s vs sigstore-python {:.3} s: {:.1}x  ({} bundles)",
            r.case,
            r.bundles_per_sec,
            r.vouch_process.seconds,
            r.sigstore_python.seconds,
            r.sigstore_python.seconds / r.vouch_process.seconds.max(0.001),
            r.bundles
        );
    }
    Ok(reports)
}

fn run_case(case: &Case, bundles: usize, runs: usize) -> anyhow::Result<Report> {
    let artifact_path = data(case.artifact);
    let bundle_path = data(case.bundle);
    let root_path = data("trust-roots/staging.trusted_root.json");
    println!("offline keyless bundle verification: {}", case.name);
    let artifact = std::fs::read(&artifact_path).context("artifact")?;
    let bundle_json = std::fs::read(&bundle_path).context("bundle")?;
    let limits = Limits::default();
    let trust = TrustedRoot::from_json(&std::fs::read(&root_path)?, &limits)?;
    let verifier = Verifier::new(trust.clone());
    let policy = SignerPolicy::Identity(IdentityPolicy::exact(case.identity, ISSUER));

    // In-process, one thread: parse + full verification per bundle, with one long-lived
    // Verifier (as a service or admission controller holds): the trusted root's CA links and
    // this leaf's signature by its issuer are verified once and remembered (exact DER), every
    // other check (SET, checkpoint, inclusion proof, SCT, validity, identity, signature) runs
    // per bundle.
    let start = Instant::now();
    for _ in 0..bundles {
        let bundle = Bundle::from_json(&bundle_json, &limits)?;
        verifier.verify_blob(Artifact::Bytes(&artifact), &bundle, &policy)?;
    }
    let bundles_per_sec = bundles as f64 / start.elapsed().as_secs_f64();
    // Cold: a new Verifier per bundle remembers nothing (both P-384 chain signatures again,
    // and for the v2 bundle the TSA's P-384 token signature and chain): what a distinct
    // bundle from the same CA and TSA costs, less the CA links.
    let cold_runs = (bundles / 10).max(10);
    let start = Instant::now();
    for _ in 0..cold_runs {
        let bundle = Bundle::from_json(&bundle_json, &limits)?;
        Verifier::new(trust.clone()).verify_blob(Artifact::Bytes(&artifact), &bundle, &policy)?;
    }
    let cold_per_sec = cold_runs as f64 / start.elapsed().as_secs_f64();
    println!(
        "  in-process, 1 thread: {bundles} bundles, {bundles_per_sec:.0} bundles/s (warm verifier, \
         {:.2}x the 2,000/s target); {cold_per_sec:.0} bundles/s with a new verifier per bundle \
         ({cold_runs} bundles)",
        bundles_per_sec / 2_000.0
    );

    let s = |p: &PathBuf| p.display().to_string();
    let vouch = vouch_binary()?;
    let vouch_args = vec![
        "verify-blob".to_owned(),
        s(&artifact_path),
        "--bundle".into(),
        s(&bundle_path),
        "--trusted-root".into(),
        s(&root_path),
        "--certificate-identity".into(),
        case.identity.into(),
        "--certificate-oidc-issuer".into(),
        ISSUER.into(),
    ];
    let sigstore = vouch_testkit::venv_tool("sigstore");
    let python_args = vec![
        "--staging".to_owned(),
        "verify".into(),
        "identity".into(),
        "--offline".into(),
        "--bundle".into(),
        s(&bundle_path),
        "--cert-identity".into(),
        case.identity.into(),
        "--cert-oidc-issuer".into(),
        ISSUER.into(),
        s(&artifact_path),
    ];
    let mut v = Vec::new();
    let mut p = Vec::new();
    for _ in 0..runs.max(1) {
        v.push(measure(&vouch, &vouch_args)?);
        p.push(measure(&sigstore, &python_args)?);
    }
    let report = Report {
        case: case.name,
        bundles,
        bundles_per_sec,
        vouch_process: median(&v),
        sigstore_python: median(&p),
    };
    println!(
        "  one process, median of {runs}: vouch verify-blob {:.3} s ({} KB peak), sigstore-python {:.3} s ({} KB peak): {:.1}x (target 50x)",
        report.vouch_process.seconds,
        report.vouch_process.peak_kb,
        report.sigstore_python.seconds,
        report.sigstore_python.peak_kb,
        report.sigstore_python.seconds / report.vouch_process.seconds.max(0.001)
    );
    Ok(report)
}

/// `n` distinct keyless bundles from a private instance started here (each with its own
/// ephemeral key, its own 10-minute certificate and its own log entry), verified offline by
/// one verifier: what a batch verifier or an admission controller seeing new images does.
/// Nothing per bundle is cached (every leaf is new); the trusted root's CA links are checked
/// once per verifier.
fn distinct_keyless(n: usize) -> anyhow::Result<()> {
    use vouch_keyless::{IdentityToken, KeylessSigner, TokenSource, TrustConfig};
    let dir = tempfile::tempdir()?;
    let running = vouch_instance::Instance::start(dir.path(), &Default::default())?;
    let limits = Limits::default();
    let signer = KeylessSigner::new(TrustConfig::from_file(
        &running.trust_config_path(),
        &limits,
    )?)?;
    let token = IdentityToken::parse(&running.token()?, TokenSource::Flag)?;
    let made = Instant::now();
    let mut signed = Vec::with_capacity(n);
    for i in 0..n {
        let artifact = format!("artifact {i}").into_bytes();
        let bundle = signer.certify(&token)?.sign_blob(&artifact)?;
        signed.push((artifact, bundle.to_json()));
    }
    let made = made.elapsed().as_secs_f64();
    let trust = TrustedRoot::from_json(&std::fs::read(running.trusted_root_path())?, &limits)?;
    let issuer = running.oidc_url().context("dev issuer")?.to_owned();
    let policy = SignerPolicy::Identity(IdentityPolicy::exact(running.email(), &issuer));
    running.stop();
    let verifier = Verifier::new(trust);
    let start = Instant::now();
    for (artifact, json) in &signed {
        let bundle = Bundle::from_json(json, &limits)?;
        verifier.verify_blob(Artifact::Bytes(artifact), &bundle, &policy)?;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "  in-process, 1 thread: {n} distinct keyless bundles of a private instance (new key, \
         certificate and log entry each), one verifier: {per_sec:.0} bundles/s \
         (signing them took {made:.1} s)"
    );
    Ok(())
}
