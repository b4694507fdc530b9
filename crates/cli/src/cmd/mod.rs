//! One module per command group; each builds library configuration from flags once and
//! calls into the library.

mod image;

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Command, Context};

/// Runs a parsed command.
pub(crate) fn run(command: Command, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Image(c) => image::run(c, ctx),
    }
}

/// Registry options from the global flags.
pub(crate) fn registry_options(ctx: &Context) -> anyhow::Result<vouch_oci::RegistryOptions> {
    let mut options = vouch_oci::RegistryOptions {
        transport: vouch_http::TransportPolicy::with_insecure_hosts(ctx.insecure_registries.iter().cloned()),
        ..Default::default()
    };
    if let Some(ca) = &ctx.registry_ca {
        let pem = std::fs::read(ca).with_context(|| format!("reading --registry-ca {}", ca.display()))?;
        options.http.ca_pem.push(pem);
    }
    if let Some(creds) = &ctx.creds {
        let (username, password) =
            creds.split_once(':').context("--creds must be USER:PASSWORD")?;
        options.credentials = Some(vouch_oci::auth::Credentials::Basic {
            username: username.into(),
            password: password.into(),
        });
    }
    Ok(options)
}
