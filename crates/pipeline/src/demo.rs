//! `vouch demo`: the whole pipeline with nothing else running. An in-process registry, a
//! bundled advisory set, a sample image built from `examples/demo-app` (compiled in), every
//! stage, then the admission decision for a signed pod and an unsigned one.

use std::path::{Path, PathBuf};

use vouch_build::{Add, Spec};
use vouch_oci::Location;
use vouch_sign::{KeyAlgorithm, SigningKey, TrustedRoot};
use vouch_vuln::Severity;

use crate::error::{Error, Result};
use crate::registry::{LocalRegistry, RegistryLimits};
use crate::run::{
    BuildPlan, Decision, Event, Expect, ImageSigner, KeySigner, Plan, Report, Signing, admission,
    load_policy,
};

/// The sample application (`examples/demo-app/rootfs`), compiled in so the demo runs from
/// any directory.
const APP_FILES: &[(&str, &str)] = &[
    (
        "app/hello.py",
        include_str!("../../../examples/demo-app/rootfs/app/hello.py"),
    ),
    (
        "usr/lib/python3/dist-packages/urllib3-2.0.6.dist-info/METADATA",
        include_str!(
            "../../../examples/demo-app/rootfs/usr/lib/python3/dist-packages/urllib3-2.0.6.dist-info/METADATA"
        ),
    ),
];

/// OSV records for the scan (`data/advisories/README.md`: PyPA, CC-BY-4.0).
pub const ADVISORIES: &[(&str, &str)] = &[
    (
        "PYSEC-2023-212.yaml",
        include_str!("../data/advisories/PYSEC-2023-212.yaml"),
    ),
    (
        "PYSEC-2023-192.yaml",
        include_str!("../data/advisories/PYSEC-2023-192.yaml"),
    ),
    (
        "PYSEC-2021-108.yaml",
        include_str!("../data/advisories/PYSEC-2021-108.yaml"),
    ),
];

/// The demo's admission policy: the seed's Kyverno `verifyImages` shape (signature and SPDX
/// SBOM attestation from the pipeline's signer, tags pinned to digests), for images under
/// the demo registry. `SIGNER` is replaced by the attestor entry. `type: SigstoreBundle`: the
/// pipeline signs as cosign 3 does (bundles as OCI referrers), the only place that type reads.
const POLICY: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-signed-image-and-sbom
spec:
  background: false
  rules:
  - name: verify-signature-and-sbom
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - failureAction: Enforce
      type: SigstoreBundle
      imageReferences:
      - "REGISTRY/demo/*"
      mutateDigest: true
      verifyDigest: true
      required: true
      attestors:
      - count: 1
        entries:
SIGNER
      attestations:
      - name: sbom
        type: https://spdx.dev/Document
        attestors:
        - entries:
SIGNER_ATTESTATION
        conditions:
        - all:
          - key: "{{ spdxVersion }}"
            operator: AnyIn
            value: ["SPDX-2.2", "SPDX-2.3"]
"#;

/// The workflow the keyless demo signs as: the seed's GitHub Actions identity, for acme/api
/// (`OWNER/REPO/.github/workflows/FILE@REF`, the `job_workflow_ref` claim).
pub const DEMO_WORKFLOW: &str = "acme/api/.github/workflows/release.yml@refs/heads/main";

/// The keyless demo policy's subject: the seed's wildcard over the owner's workflows, so
/// any acme repository's release workflow is admitted and no other owner's.
pub const DEMO_SUBJECT: &str = "https://github.com/acme/*";

const POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: NAME
  namespace: default
spec:
  containers:
  - name: app
    image: IMAGE
"#;

/// How the demo signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoSigning {
    /// Keyless, against a private instance started in-process.
    #[default]
    Keyless,
    /// An ephemeral ECDSA P-256 key, no log.
    EphemeralKey,
}

/// Demo switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoOptions {
    /// How to sign.
    pub signing: DemoSigning,
}

/// Signer, expectation, policy attestor entry (by indent), trust, log URL.
type SigningSetup = (
    Box<dyn ImageSigner>,
    Expect,
    Box<dyn Fn(usize) -> String>,
    TrustedRoot,
    Option<String>,
);

/// Setup facts, printed before the stages.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The services started: (name, what and where).
    pub services: Vec<(&'static str, String)>,
    /// `127.0.0.1:PORT`.
    pub registry: String,
    /// The image the pipeline runs on.
    pub image: String,
    /// The unsigned image the second pod uses.
    pub unsigned_image: String,
    /// How the demo signs.
    pub signing: String,
    /// Working directory (artifacts in `<work>/out`).
    pub work: PathBuf,
}

/// What the demo established.
#[derive(Debug)]
pub struct Demo {
    /// Setup.
    pub setup: Setup,
    /// The pipeline run.
    pub report: Report,
    /// Admission decisions: the signed pod, then the unsigned one.
    pub decisions: Vec<Decision>,
}

fn write_tree(root: &Path, files: &[(&str, &str)]) -> Result<()> {
    for (rel, text) in files {
        let path = root.join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Runs the demo in `work` (which should be empty), calling `setup` once the services are up
/// and `progress` for each stage.
pub fn run_demo(
    work: &Path,
    options: &DemoOptions,
    setup_done: &mut dyn FnMut(&Setup),
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Demo> {
    let registry = LocalRegistry::start(RegistryLimits::default())?;
    let host = registry.host();
    let registry_options = vouch_oci::RegistryOptions::default();

    // Inputs: the sample rootfs, an unsigned image's rootfs, the advisories.
    let app = work.join("demo-app/rootfs");
    write_tree(&app, APP_FILES)?;
    let other = work.join("unsigned/rootfs");
    write_tree(&other, &[("app/hello.py", "print('nobody signed me')\n")])?;
    let advisories = work.join("advisories");
    write_tree(&advisories, ADVISORIES)?;
    let db = work.join("vuln.db");
    crate::run::import_advisories(&db, &[advisories])?;

    // The image nobody signs, pushed next to the signed one.
    let unsigned_image = format!("{host}/demo/unsigned:v1");
    vouch_build::build(
        &Spec {
            adds: vec![Add {
                source: other,
                dest: "/".into(),
            }],
            cmd: Some(vec!["python3".into(), "/app/hello.py".into()]),
            ..Spec::default()
        },
        &Location::parse(&unsigned_image).map_err(|e| Error::config("demo", e))?,
        &registry_options,
        &vouch_build::Limits::default(),
    )
    .map_err(|e| Error::config("demo", e))?;

    // Signing: keyless against a private instance started here (CA, log on SQLite, dev
    // OIDC issuer), or an ephemeral key.
    let mut services: Vec<(&'static str, String)> = vec![(
        "registry",
        format!("{host} (in-process OCI registry, in memory)"),
    )];
    let instance;
    let (signer, expect, attestor_entry, trust, log_url): SigningSetup = match options.signing {
        DemoSigning::Keyless => {
            let running = vouch_instance::Instance::start(
                work.join("instance"),
                &vouch_instance::StartOptions::default(),
            )
            .map_err(|e| Error::Service {
                service: "private Sigstore instance",
                reason: e.to_string(),
            })?;
            let service = |e: &dyn std::fmt::Display| Error::Service {
                service: "private Sigstore instance",
                reason: e.to_string(),
            };
            // The seed's identity (issue 15): a GitHub Actions workflow of acme/api, its token
            // RS256-signed as GitHub's are, from the dev issuer's GitHub-shaped issuer URL. The
            // certificate SAN is the workflow URI, so the policy's `subject:
            // https://github.com/acme/*` (the seed's) is what the demo enforces.
            let shape =
                vouch_ca::dev_oidc::TokenShape::github(DEMO_WORKFLOW).map_err(|e| service(&e))?;
            let issuer = running
                .dev_issuer()
                .ok_or_else(|| service(&"no dev OIDC issuer"))?
                .issuer_for(&shape);
            let identity = format!("https://github.com/{DEMO_WORKFLOW}");
            let raw = running.token_shaped(&shape).map_err(|e| service(&e))?;
            let token =
                vouch_keyless::IdentityToken::parse(&raw, vouch_keyless::TokenSource::DevIssuer)
                    .map_err(|e| service(&e))?;
            let limits = vouch_sign::Limits::default();
            let config =
                vouch_keyless::TrustConfig::from_file(&running.trust_config_path(), &limits)
                    .map_err(|e| service(&e))?;
            let trust = config.trusted_root.clone();
            let log_url = running.log_url().to_owned();
            services.push((
                "CA",
                format!("{} (Fulcio-compatible, in-process)", running.ca_url()),
            ));
            services.push((
                "log",
                format!("{log_url} (Rekor-compatible, SQLite, in-process)"),
            ));
            services.push(("OIDC", format!("{issuer} (dev issuer, in-process)")));
            let signer = crate::keyless::Keyless::new(config, token).map_err(|e| service(&e))?;
            let expect = Expect::Identity {
                policy: vouch_sign::IdentityPolicy::exact(identity, issuer.clone()),
                trust: trust.clone(),
                options: Default::default(),
            };
            // `rekor.url` names the log; vouch never fetches it (entries are checked offline
            // against the trusted root).
            let (e2, i2, l2) = (DEMO_SUBJECT, issuer, log_url.clone());
            let entry = move |indent: usize| {
                let pad = " ".repeat(indent);
                format!(
                    "{pad}- keyless:\n{pad}    subject: \"{e2}\"\n{pad}    issuer: \"{i2}\"\n{pad}    rekor:\n{pad}      url: \"{l2}\""
                )
            };
            instance = Some(running);
            (
                Box::new(signer),
                expect,
                Box::new(entry),
                trust,
                Some(log_url),
            )
        }
        DemoSigning::EphemeralKey => {
            instance = None;
            let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)
                .map_err(|e| Error::config("demo", e))?;
            let public = key.public_key();
            let pem = public.to_pem();
            let entry = move |indent: usize| {
                let pad = " ".repeat(indent);
                let key: Vec<String> = pem
                    .trim()
                    .lines()
                    .map(|l| format!("{pad}      {l}"))
                    .collect();
                format!(
                    "{pad}- keys:\n{pad}    publicKeys: |-\n{}\n{pad}    rekor:\n{pad}      ignoreTlog: true",
                    key.join("\n")
                )
            };
            (
                Box::new(KeySigner::new(key)),
                Expect::Key(public),
                Box::new(entry),
                TrustedRoot::default(),
                None,
            )
        }
    };
    let signing = signer.identity();

    let policy_path = work.join("policy.yaml");
    let policy = POLICY
        .replace("REGISTRY", &host)
        .replace("SIGNER_ATTESTATION", &attestor_entry(10))
        .replace("SIGNER", &attestor_entry(8));
    std::fs::write(&policy_path, policy).map_err(|e| Error::io(&policy_path, e))?;
    let image = format!("{host}/demo/app:v1");
    let pod = |name: &str, image: &str| POD.replace("NAME", name).replace("IMAGE", image);
    let signed_pod = work.join("pod-signed.yaml");
    std::fs::write(&signed_pod, pod("signed-app", &image))
        .map_err(|e| Error::io(&signed_pod, e))?;
    let unsigned_pod = work.join("pod-unsigned.yaml");
    std::fs::write(&unsigned_pod, pod("unsigned-app", &unsigned_image))
        .map_err(|e| Error::io(&unsigned_pod, e))?;

    let setup = Setup {
        services,
        registry: host,
        image: image.clone(),
        unsigned_image,
        signing,
        work: work.to_owned(),
    };
    setup_done(&setup);

    let plan = Plan {
        image,
        build: Some(BuildPlan {
            spec: Spec {
                adds: vec![Add {
                    source: app,
                    dest: "/".into(),
                }],
                cmd: Some(vec!["python3".into(), "/app/hello.py".into()]),
                labels: [(
                    "org.opencontainers.image.title".to_owned(),
                    "vouch demo app".to_owned(),
                )]
                .into(),
                ..Spec::default()
            },
            builder_id: "https://example.invalid/vouch/builder/demo".into(),
            invocation_id: None,
        }),
        out_dir: work.join("out"),
        db,
        fail_on: Some(Severity::High),
        fail_on_unknown: false,
        signing: Signing::With(signer),
        signature_format: Default::default(),
        expect,
        provenance: None,
        policy: Some(load_policy(
            std::slice::from_ref(&policy_path),
            std::slice::from_ref(&signed_pod),
            trust.clone(),
        )?),
        registry: registry_options.clone(),
        log_url,
    };
    let report = crate::run::run(&plan, progress)?;
    let both = load_policy(&[policy_path], &[signed_pod, unsigned_pod], trust)?;
    let decisions = if report.passed {
        admission(&both, &registry_options).map_err(|e| Error::config("demo policy", e))?
    } else {
        Vec::new()
    };
    drop(registry);
    if let Some(i) = instance {
        i.stop();
    }
    Ok(Demo {
        setup,
        report,
        decisions,
    })
}
