//! `vouch instance`: a private Sigstore instance (CA, transparency log, dev OIDC) described by
//! trust files that Sigstore clients read (`sigstore/protobuf-specs:sigstore_trustroot.proto`).
//! The logic lives in `vouch-instance`; this file is flags and output.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use vouch_ca::dev_oidc::TokenRequest;
use vouch_instance::{InitOptions, Instance, StartOptions, Urls};

use crate::cli::Context;
use crate::output::emit;

const INSTANCE_HELP: &str = "\
Exit codes:
  0  done (serve: stopped cleanly by SIGINT/SIGTERM)
  1  error: DIR already initialised (init), not an instance (token), address in use (serve)

DIR holds:
  ca/                 root, intermediate and CT log keys (also for `vouch ca serve --dir DIR/ca`)
  tlog.key.pem        the log key (also for `vouch tlog serve --key DIR/tlog.key.pem`)
  oidc.key.pem        the dev OIDC issuer's key (tokens stay valid across restarts)
  tlog.db             the log (SQLite), created by serve
  trusted_root.json   application/vnd.dev.sigstore.trustedroot+json;version=0.1
  signing_config.json application/vnd.dev.sigstore.signingconfig.v0.2+json
  trust_config.json   ClientTrustConfig combining both (sigstore --trust-config, vouch --trust-config)
serve rewrites the three trust files with the URLs it actually listens on (port 0 = any free).

Examples:
  vouch instance init ./instance
  vouch instance serve ./instance &
  vouch sign-blob --keyless --trust-config ./instance/trust_config.json \\
      --identity-token \"$(vouch instance token ./instance)\" --bundle a.sigstore.json a.txt
  vouch verify-blob a.txt --bundle a.sigstore.json --trusted-root ./instance/trusted_root.json \\
      --certificate-identity dev@vouch.invalid --certificate-oidc-issuer http://127.0.0.1:5556";

/// `vouch instance …`
#[derive(Debug, Subcommand)]
pub(crate) enum InstanceCommand {
    /// Generate a private instance's keys and trust files (trusted root, signing config,
    /// client trust config) with URLs pointing at the loopback ports it will serve on.
    #[command(after_help = INSTANCE_HELP)]
    Init(InitArgs),
    /// Run the instance: CA, transparency log (SQLite in DIR) and dev OIDC issuer in one
    /// process, until Ctrl-C. Initialises DIR first when it holds no instance.
    #[command(after_help = INSTANCE_HELP)]
    Serve(ServeArgs),
    /// Print a fresh dev-issuer identity token (audience sigstore, 10 minutes) for scripts.
    #[command(after_help = INSTANCE_HELP)]
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Directory to create (must not already hold an instance).
    dir: PathBuf,
    /// URL the CA will serve on.
    #[arg(long, default_value = "http://127.0.0.1:5555")]
    ca_url: String,
    /// URL the transparency log will serve on.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    tlog_url: String,
    /// URL of the OIDC issuer clients get tokens from.
    #[arg(long, default_value = "http://127.0.0.1:5556")]
    oidc_url: String,
    /// Organization name in the CA certificates.
    #[arg(long, default_value = "vouch")]
    organization: String,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The instance directory (initialised when empty).
    dir: PathBuf,
    /// Address of the CA (Fulcio v2 API).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5555")]
    listen_ca: SocketAddr,
    /// Address of the transparency log (Rekor v1 API).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    listen_log: SocketAddr,
    /// Address of the dev OIDC issuer.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5556")]
    listen_oidc: SocketAddr,
    /// Do not run the dev OIDC issuer (the CA then trusts only --github-issuer/--email-issuer).
    #[arg(long)]
    no_dev_oidc: bool,
    /// Also trust this OIDC issuer whose tokens carry a verified email. Repeatable.
    #[arg(long, value_name = "URL")]
    email_issuer: Vec<String>,
    /// Also trust this GitHub Actions-style issuer. Repeatable.
    #[arg(long, value_name = "URL")]
    github_issuer: Vec<String>,
    /// Default `sub` of dev tokens.
    #[arg(long, default_value = vouch_instance::DEFAULT_SUBJECT)]
    subject: String,
    /// Default `email` of dev tokens (the certificate SAN).
    #[arg(long, default_value = vouch_instance::DEFAULT_EMAIL)]
    email: String,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The instance directory.
    dir: PathBuf,
    /// `sub` claim.
    #[arg(long)]
    subject: Option<String>,
    /// `email` claim (the certificate SAN).
    #[arg(long)]
    email: Option<String>,
}

/// Runs `vouch instance`.
pub(crate) fn run(command: InstanceCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        InstanceCommand::Init(a) => init(&a, ctx),
        InstanceCommand::Serve(a) => serve(&a, ctx),
        InstanceCommand::Token(a) => token(&a),
    }
}

fn init(args: &InitArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    Instance::init_with(
        &args.dir,
        &InitOptions {
            urls: Urls {
                ca: args.ca_url.clone(),
                log: args.tlog_url.clone(),
                oidc: Some(args.oidc_url.clone()),
            },
            organization: args.organization.clone(),
        },
    )?;
    if !ctx.quiet {
        println!("instance written to {}", args.dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Serving {
    ca_url: String,
    log_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc_url: Option<String>,
    trust_config: String,
    trusted_root: String,
}

fn serve(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let issuer = |url: &String, issuer_type| vouch_ca::oidc::IssuerConfig {
        issuer_url: url.trim_end_matches('/').to_owned(),
        client_id: vouch_ca::oidc::SIGSTORE_AUDIENCE.into(),
        issuer_type,
    };
    let issuers = args
        .email_issuer
        .iter()
        .map(|u| issuer(u, vouch_ca::oidc::IssuerType::Email))
        .chain(
            args.github_issuer
                .iter()
                .map(|u| issuer(u, vouch_ca::oidc::IssuerType::GithubWorkflow)),
        )
        .collect();
    let options = StartOptions {
        listen_ca: args.listen_ca,
        listen_log: args.listen_log,
        listen_oidc: (!args.no_dev_oidc).then_some(args.listen_oidc),
        subject: args.subject.clone(),
        email: args.email.clone(),
        issuers,
        ..StartOptions::default()
    };
    let running = Instance::start(&args.dir, &options)
        .with_context(|| format!("starting the instance in {}", args.dir.display()))?;
    let report = Serving {
        ca_url: running.ca_url().to_owned(),
        log_url: running.log_url().to_owned(),
        oidc_url: running.oidc_url().map(str::to_owned),
        trust_config: running.trust_config_path().display().to_string(),
        trusted_root: running.trusted_root_path().display().to_string(),
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "CA:               {}", r.ca_url)?;
        writeln!(out, "transparency log: {}", r.log_url)?;
        if let Some(oidc) = &r.oidc_url {
            writeln!(out, "dev OIDC issuer:  {oidc}")?;
        }
        writeln!(out, "trust config:     {}", r.trust_config)?;
        writeln!(out, "trusted root:     {}", r.trusted_root)
    })?;
    {
        use std::io::Write as _;
        std::io::stdout().flush()?;
    }
    running.wait_for_signal()?;
    Ok(ExitCode::SUCCESS)
}

fn token(args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let instance = Instance::open(&args.dir)?;
    let token = instance.mint_token(&TokenRequest {
        subject: args.subject.clone(),
        email: args.email.clone(),
        audience: None,
    })?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
