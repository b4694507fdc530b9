//! One module per command group; each builds library configuration from flags once and
//! calls into the library.

pub(crate) mod admission;
pub(crate) mod blob;
pub(crate) mod build;
pub(crate) mod ca;
pub(crate) mod cosign_compat;
pub(crate) mod db;
mod image;
pub(crate) mod instance;
pub(crate) mod keys;
pub(crate) mod meta;
pub(crate) mod pipeline;
pub(crate) mod policy;
pub(crate) mod sbom;
pub(crate) mod scan;
pub(crate) mod sign;
pub(crate) mod tlog;
pub(crate) mod trust;
pub(crate) mod tsa;
pub(crate) mod verify;

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Command, Context};

/// Runs a parsed command.
pub(crate) fn run(command: Command, ctx: &Context) -> anyhow::Result<ExitCode> {
    if !matches!(command, Command::Sbom(_) | Command::Scan(_)) {
        // Only `vouch sbom` and `vouch scan` (grype's -o formats) write other formats and
        // files; the rest print table or JSON.
        if let Some(bad) = ctx
            .outputs
            .iter()
            .find(|o| o.as_str() != "table" && o.as_str() != "json")
        {
            anyhow::bail!(
                "-o {bad}: this command prints `table` or `json` (SBOM formats and FORMAT=FILE are for `vouch sbom`)"
            );
        }
    }
    match command {
        Command::Build(a) => build::run(&a, ctx),
        Command::Pipeline(a) => pipeline::pipeline(&a, ctx),
        Command::Demo(a) => pipeline::demo(&a, ctx),
        Command::Sbom(a) => sbom::run(&a, ctx),
        Command::Image(c) => image::run(c, ctx),
        Command::Db(c) => db::run(c, ctx),
        Command::Scan(a) => scan::run(a, ctx),
        Command::GenerateKeyPair(a) => keys::generate_key_pair(&a, ctx),
        Command::ImportKeyPair(a) => keys::import_key_pair(&a, ctx),
        Command::SignBlob(a) => blob::sign_blob(&a, ctx),
        Command::AttestBlob(a) => blob::attest_blob(&a, ctx),
        Command::VerifyBlob(a) => blob::verify_blob(&a, ctx),
        Command::Sign(a) => sign::sign(&a, ctx),
        Command::Attest(a) => sign::attest(&a, ctx),
        Command::Verify(a) => verify::verify(&a, ctx),
        Command::VerifyAttestation(a) => verify::verify_attestation(&a, ctx),
        Command::Tlog(c) => tlog::run(c, ctx),
        Command::Ca(c) => ca::run(c, ctx),
        Command::Oidc(c) => ca::run_oidc(c, ctx),
        Command::Instance(c) => instance::run(c, ctx),
        Command::Tsa(c) => tsa::run(c, ctx),
        Command::Policy(c) => policy::run(c, ctx),
        Command::Trust(c) => trust::run(c, ctx),
        Command::Admission(c) => admission::run(c, ctx),
        Command::Completions(a) => meta::completions(&a),
        Command::Man(a) => meta::man(&a),
        Command::Tree(a) => cosign_compat::tree(&a, ctx),
        Command::Download(c) => cosign_compat::download(&c, ctx),
        Command::Attach(c) => cosign_compat::attach(&c, ctx),
        Command::Clean(a) => cosign_compat::clean(&a, ctx),
        Command::PublicKey(a) => cosign_compat::public_key(&a, ctx),
        Command::Triangulate(a) => cosign_compat::triangulate(&a, ctx),
    }
}

/// Registry options from the global flags.
pub(crate) fn registry_options(ctx: &Context) -> anyhow::Result<vouch_oci::RegistryOptions> {
    let mut options = vouch_oci::RegistryOptions {
        transport: vouch_http::TransportPolicy::with_insecure_hosts(
            ctx.insecure_registries.iter().cloned(),
        ),
        ..Default::default()
    };
    options.http.connect_timeout = ctx.registry_timeout;
    options.http.response_timeout = ctx.registry_timeout;
    options.http.retry.budget = ctx.registry_retry_budget;
    if let Some(ca) = &ctx.registry_ca {
        let pem =
            std::fs::read(ca).with_context(|| format!("reading --registry-ca {}", ca.display()))?;
        options.http.ca_pem.push(pem);
    }
    if let Some(creds) = &ctx.creds {
        let (username, password) = creds
            .split_once(':')
            .context("--creds must be USER:PASSWORD")?;
        options.credentials = Some(vouch_oci::auth::Credentials::Basic {
            username: username.into(),
            password: password.into(),
        });
    }
    Ok(options)
}
