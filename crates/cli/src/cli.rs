//! Flags, as plain data. Each command turns them into library configuration once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit code for a command that could not do its job (bad input, unreachable registry…).
pub(crate) const EXIT_ERROR: u8 = 1;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error: the command could not do its job (bad input, registry or network failure,
     digest mismatch); the message names what failed
  2  usage error: unknown flag or missing argument
  3  a negative verdict: verification failed (verify, verify-blob, verify-attestation),
     the --fail-on threshold was reached (scan), a policy rule failed (policy apply),
     or the log misbehaved (tlog verify/monitor)";

const LOCATIONS: &str = "\
Locations (SOURCE / DEST):
  REF, docker://REF           an image in a registry: nginx, ghcr.io/org/app:v1,
                              localhost:5000/app@sha256:…  (plain HTTP only for loopback
                              and --insecure-registry hosts)
  oci:DIR[:TAG]               an OCI image layout directory
  docker-archive:FILE[:REF]   a `docker save` tarball (read only)
  dir:PATH                    a plain directory used as a root filesystem";

/// Prove a container image is what its pipeline built: SBOM, vulnerability scan,
/// signature, SBOM attestation, verification and admission control, in one binary that
/// works offline.
#[derive(Debug, Parser)]
#[command(name = "vouch", version = env!("VOUCH_VERSION_LONG"), about, long_about = None, after_help = EXIT_CODES, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// More detail on stderr (repeat for more); errors show their full cause chain.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// Print nothing but results and errors; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Answer yes to confirmation prompts (cosign's --yes; vouch asks only before `clean`,
    /// never before uploading to a transparency log).
    #[arg(short = 'y', long, global = true)]
    pub(crate) yes: bool,
    /// Output format for commands that print data.
    /// `table` or `json`; `vouch sbom` also writes syft's formats (`syft-json`,
    /// `spdx-json`, `spdx-tag-value`, `cyclonedx-json`, `cyclonedx-xml`, `github-json`,
    /// `purls`) and `vouch scan` grype's (`sarif`, `cyclonedx`, `cyclonedx-json`); those
    /// two take FORMAT=FILE and the flag more than once.
    #[arg(short, long, global = true, value_name = "FORMAT[=FILE]")]
    pub(crate) output: Vec<String>,
    /// Allow plain HTTP to this registry host[:port] (repeatable). Loopback hosts
    /// (localhost, 127.0.0.1, ::1) always use plain HTTP.
    #[arg(long = "insecure-registry", value_name = "HOST", global = true)]
    pub(crate) insecure_registries: Vec<String>,
    /// PEM file of CA certificates to trust for registries instead of the public roots.
    #[arg(long = "registry-ca", value_name = "FILE", global = true)]
    pub(crate) registry_ca: Option<PathBuf>,
    /// Registry credentials as USER:PASSWORD, overriding ~/.docker/config.json and
    /// $REGISTRY_AUTH_FILE.
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        global = true,
        env = "VOUCH_REGISTRY_CREDS",
        hide_env_values = true
    )]
    pub(crate) creds: Option<String>,
    /// Seconds a registry has to accept a connection, and then to start answering each request
    /// (a registry that accepts but never answers fails after it). A download that has
    /// started may be slow; it fails only after 60 s without data.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) registry_timeout: u64,
    /// Seconds one registry request may take with all its retries (at most 4 attempts, with
    /// back-off): no retry starts that could not be answered in time. Errors say how many
    /// attempts were made and how long they took.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) registry_retry_budget: u64,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Human-readable.
    Table,
    /// JSON, one document on stdout.
    Json,
}

/// Settings every command sees.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) verbose: u8,
    pub(crate) quiet: bool,
    /// `--yes`.
    pub(crate) yes: bool,
    pub(crate) format: Format,
    /// Every `-o` as given (`vouch sbom` reads FORMAT[=FILE] from these).
    pub(crate) outputs: Vec<String>,
    pub(crate) insecure_registries: Vec<String>,
    pub(crate) registry_ca: Option<PathBuf>,
    pub(crate) creds: Option<String>,
    /// `--registry-timeout` and `--registry-retry-budget`.
    pub(crate) registry_timeout: std::time::Duration,
    pub(crate) registry_retry_budget: std::time::Duration,
}

impl Global {
    pub(crate) fn context(&self) -> Context {
        Context {
            verbose: self.verbose,
            quiet: self.quiet,
            yes: self.yes,
            format: self
                .output
                .iter()
                .rev()
                .find_map(|o| match o.as_str() {
                    "json" => Some(Format::Json),
                    "table" => Some(Format::Table),
                    _ => None,
                })
                .unwrap_or(Format::Table),
            outputs: self.output.clone(),
            insecure_registries: self.insecure_registries.clone(),
            registry_ca: self.registry_ca.clone(),
            creds: self.creds.clone(),
            registry_timeout: std::time::Duration::from_secs(self.registry_timeout),
            registry_retry_budget: std::time::Duration::from_secs(self.registry_retry_budget),
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Inspect, copy and list container images in registries, layouts and archives.
    #[command(subcommand, after_help = LOCATIONS)]
    Image(ImageCommand),
    /// Assemble an image from a base (or scratch) and files, reproducibly, without a container
    /// engine; push it to a registry or an OCI layout, with SLSA provenance.
    Build(crate::cmd::build::BuildArgs),
    /// Run every stage on an image digest: (build,) SBOM, scan, sign, attest, verify,
    /// (admission policy), configured by vouch.toml and flags (exit 3 names a failed stage).
    Pipeline(Box<crate::cmd::pipeline::PipelineArgs>),
    /// The whole pipeline with nothing else running: in-process registry, sample image,
    /// every stage, and the admission decision for a signed and an unsigned pod.
    Demo(crate::cmd::pipeline::DemoArgs),
    /// Import OSV advisories into the local vulnerability database and show its status.
    #[command(subcommand)]
    Db(crate::cmd::db::DbCommand),
    /// Write the software bill of materials of an image or directory (syft JSON, SPDX,
    /// CycloneDX, GitHub snapshot, purls, table, JSON), with packages from dpkg, apk, rpm,
    /// Python, npm, Go and Rust binaries, Java archives, gems, composer and .NET.
    #[command(after_help = crate::cmd::sbom::SBOM_HELP)]
    Sbom(crate::cmd::sbom::SbomArgs),
    /// Find known vulnerabilities in an SBOM's packages, offline (exit 3 with --fail-on).
    Scan(crate::cmd::scan::ScanArgs),
    /// Create a cosign-compatible key pair (cosign.key, encrypted; cosign.pub).
    GenerateKeyPair(crate::cmd::keys::GenerateKeyPairArgs),
    /// Import a PEM private key (PKCS#8, SEC1, cosign) as a cosign key pair.
    ImportKeyPair(crate::cmd::keys::ImportKeyPairArgs),
    /// Sign a file into a Sigstore bundle.
    SignBlob(crate::cmd::blob::SignBlobArgs),
    /// Attest a predicate about a file as a signed in-toto statement in a Sigstore bundle.
    AttestBlob(crate::cmd::blob::AttestBlobArgs),
    /// Verify a file (or a sha256 digest) against a Sigstore bundle, offline (exit 3 when it fails).
    VerifyBlob(crate::cmd::blob::VerifyBlobArgs),
    /// Sign an image by digest and store the signature in its registry.
    Sign(crate::cmd::sign::SignArgs),
    /// Attest a predicate (SBOM, provenance…) about an image as a signed in-toto statement.
    Attest(crate::cmd::sign::AttestArgs),
    /// Verify an image's signatures, found by both cosign storage schemes (exit 3 when none verifies).
    Verify(crate::cmd::verify::VerifyArgs),
    /// Verify an image's attestations of a predicate type (exit 3 when none verifies).
    VerifyAttestation(crate::cmd::verify::VerifyAttestationArgs),
    /// Run a Rekor-compatible transparency log, and verify or monitor one (exit 3 on a fork).
    #[command(subcommand)]
    Tlog(crate::cmd::tlog::TlogCommand),
    /// Run a Fulcio-compatible certificate authority for keyless signing.
    #[command(subcommand)]
    Ca(crate::cmd::ca::CaCommand),
    /// Run a development OIDC issuer (tokens for tests and demos).
    #[command(subcommand)]
    Oidc(crate::cmd::ca::OidcCommand),
    /// Create a private Sigstore instance: keys and trust files for CA, log and clients.
    #[command(subcommand)]
    Instance(crate::cmd::instance::InstanceCommand),
    /// Create and run an RFC 3161 timestamp authority (sigstore timestamp-authority's API).
    #[command(subcommand)]
    Tsa(crate::cmd::tsa::TsaCommand),
    /// Evaluate Kyverno verifyImages admission policies against resources, offline (exit 3 on violations).
    #[command(subcommand)]
    Policy(crate::cmd::policy::PolicyCommand),
    /// Serve the Kubernetes admission webhook (AdmissionReview v1 over HTTPS), offline.
    #[command(subcommand)]
    Admission(crate::cmd::admission::AdmissionCommand),
    /// Refresh and show Sigstore's public-good/staging trust (TUF) used by verifying commands.
    #[command(subcommand)]
    Trust(crate::cmd::trust::TrustCommand),
    /// Print a shell completion script: `vouch completions bash > /etc/bash_completion.d/vouch`,
    /// `vouch completions zsh > "${fpath[1]}/_vouch"`, `vouch completions fish`, `powershell`.
    Completions(crate::cmd::meta::CompletionsArgs),
    /// Write man pages (vouch.1 and one per command, e.g. vouch-verify.1) into a directory,
    /// or print vouch.1 to stdout: `vouch man --dir /usr/local/share/man/man1`.
    Man(crate::cmd::meta::ManArgs),
    /// List what is stored about an image (signature, attestation and SBOM tags, OCI 1.1
    /// referrers), unverified, as `cosign tree` does.
    Tree(crate::cmd::cosign_compat::TreeArgs),
    /// Print an image's stored signatures, attestations or attached SBOM, unverified, in
    /// cosign's formats (`cosign download`).
    #[command(subcommand)]
    Download(crate::cmd::cosign_compat::DownloadCommand),
    /// Store signatures, attestations or an SBOM made elsewhere with an image (`cosign attach`).
    #[command(subcommand)]
    Attach(crate::cmd::cosign_compat::AttachCommand),
    /// Delete an image's signatures, attestations, SBOM and bundle referrers from its
    /// registry (`cosign clean`).
    Clean(crate::cmd::cosign_compat::CleanArgs),
    /// Print the public key of a private key (file, env://, pkcs11:) as PEM (`cosign public-key`).
    PublicKey(crate::cmd::cosign_compat::PublicKeyArgs),
    /// Print where cosign's tag scheme stores an image's signatures (`cosign triangulate`).
    Triangulate(crate::cmd::cosign_compat::TriangulateArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImageCommand {
    /// Show an image's digest, media type, platforms, layers and config.
    #[command(after_help = LOCATIONS)]
    Inspect(InspectArgs),
    /// Copy an image by digest between registries, OCI layouts and archives, with every
    /// platform of an index unless --platform picks one. Blobs the destination already
    /// has are skipped; everything is verified against its digest on the way.
    #[command(after_help = LOCATIONS)]
    Copy(CopyArgs),
    /// List the tags of a repository or layout.
    #[command(after_help = LOCATIONS)]
    Tags(TagsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The image.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Platform to show from a multi-platform index (default: this machine's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<String>,
    /// Print the raw manifest bytes instead of a summary.
    #[arg(long)]
    pub(crate) raw: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// Where to read the image.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Where to write it (a registry reference or oci:DIR[:TAG]).
    #[arg(value_name = "DEST")]
    pub(crate) dest: String,
    /// Copy only this platform out of an index (the copy's digest is then that platform's
    /// manifest digest).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<String>,
    /// Blobs transferred at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub(crate) jobs: u16,
    /// Also copy the image's signatures and attestations (cosign's sha256-<hex>.sig/.att
    /// tags and OCI 1.1 referrers, of the index and each platform manifest), merging with
    /// those already at the destination.
    #[arg(long)]
    pub(crate) signatures: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TagsArgs {
    /// The repository (a tag or digest in it is ignored) or layout.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
}
