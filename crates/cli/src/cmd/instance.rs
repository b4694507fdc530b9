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
  tlog.key.pem        the Rekor v1 log key (also for `vouch tlog serve --key DIR/tlog.key.pem`)
  tlog-v2.key.pem     instead, with --rekor-v2: the Rekor v2 tile log's Ed25519 checkpoint key
                      (origin: the log URL's host name, as sigstore-go/cosign check;
                      `vouch tlog serve --api v2 --origin HOST`)
  oidc.key.pem        the dev OIDC issuer's key (tokens stay valid across restarts)
  tsa/                the RFC 3161 timestamp authority's key and chain (also for
                      `vouch tsa serve --dir DIR/tsa`); its chain is in the trusted root
  tlog.db             the log (SQLite), created by serve
  trusted_root.json   application/vnd.dev.sigstore.trustedroot+json;version=0.1
  signing_config.json application/vnd.dev.sigstore.signingconfig.v0.2+json
  trust_config.json   ClientTrustConfig combining both (sigstore --trust-config, vouch --trust-config)
serve rewrites the three trust files with the URLs it actually listens on (port 0 = any free).

Rekor v2 (--rekor-v2): the log takes POST URL/api/v2/log/entries (hashedrekord/dsse 0.0.2)
and serves C2SP tlog-tiles reads (URL/checkpoint, URL/tile/...); the signing config lists it
with majorApiVersion 2 next to the TSA, since v2 entries carry no signed time: clients
(sigstore-python 4.x, vouch --keyless) get an RFC 3161 timestamp for every signature.

Examples:
  vouch instance init ./instance
  vouch instance init --rekor-v2 ./instance-v2
  vouch instance serve --dev-oidc ./instance &
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
    /// Run the instance: CA, transparency log (SQLite in DIR) and RFC 3161 timestamp authority
    /// (POST URL/api/v1/timestamp), plus the dev OIDC issuer with
    /// --dev-oidc, in one process until Ctrl-C, on the addresses `init` wrote. Initialises DIR
    /// first when it holds no instance.
    #[command(after_help = INSTANCE_HELP)]
    Serve(ServeArgs),
    /// Print a fresh dev-issuer identity token (RS256, audience sigstore, 10 minutes) for
    /// scripts: e-mail shape by default, or GitHub Actions / GitLab / Kubernetes shapes.
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
    /// Base URL the RFC 3161 timestamp authority will serve on (the signing config lists
    /// URL/api/v1/timestamp).
    #[arg(long, default_value = "http://127.0.0.1:3004")]
    tsa_url: String,
    /// Organization name in the CA certificates.
    #[arg(long, default_value = "vouch")]
    organization: String,
    /// Make the log a Rekor v2 tile log (rekor-tiles write API, C2SP tlog-tiles reads, Ed25519
    /// checkpoints) instead of Rekor v1; signatures then need the instance's TSA.
    #[arg(long)]
    rekor_v2: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The instance directory (initialised when empty).
    dir: PathBuf,
    /// Address of the CA (Fulcio v2 API); default: the host and port of the CA URL that
    /// `instance init` wrote, when that is a loopback URL, else 127.0.0.1:5555.
    #[arg(long, value_name = "ADDR")]
    listen_ca: Option<SocketAddr>,
    /// Address of the transparency log (Rekor v1 or v2 API); default as --listen-ca, else
    /// 127.0.0.1:3000.
    #[arg(long, value_name = "ADDR")]
    listen_log: Option<SocketAddr>,
    /// Address of the RFC 3161 timestamp authority; default as --listen-ca, else
    /// 127.0.0.1:3004.
    #[arg(long, value_name = "ADDR")]
    listen_tsa: Option<SocketAddr>,
    /// Address of the dev OIDC issuer (with --dev-oidc; loopback only); default as
    /// --listen-ca, else 127.0.0.1:5556.
    #[arg(long, value_name = "ADDR")]
    listen_oidc: Option<SocketAddr>,
    /// Run the dev OIDC issuer, which mints a token for any identity to anyone who can reach it
    /// (tests and demos only; it refuses a non-loopback address). Without it the CA trusts only
    /// --issuers/--github-issuer/--email-issuer.
    #[arg(long)]
    dev_oidc: bool,
    /// Accepted for old scripts: the dev issuer is off unless --dev-oidc.
    #[arg(long, hide = true, conflicts_with = "dev_oidc")]
    no_dev_oidc: bool,
    /// Trusted issuers in Fulcio's configuration format (JSON or YAML: OIDCIssuers,
    /// MetaIssuers, CIIssuerMetadata), as for `vouch ca serve --issuers`.
    #[arg(long, value_name = "FILE")]
    issuers: Option<PathBuf>,
    /// Also trust this OIDC issuer whose tokens carry a verified email. Repeatable.
    #[arg(long, value_name = "URL")]
    email_issuer: Vec<String>,
    /// Also trust this GitHub Actions issuer (Fulcio's github-workflow templates). Repeatable.
    #[arg(long, value_name = "URL")]
    github_issuer: Vec<String>,
    /// Default `sub` of dev tokens.
    #[arg(long, default_value = vouch_instance::DEFAULT_SUBJECT)]
    subject: String,
    /// Default `email` of dev tokens (the certificate SAN).
    #[arg(long, default_value = vouch_instance::DEFAULT_EMAIL)]
    email: String,
    /// When DIR holds no instance yet: initialise it with a Rekor v2 log (as `init
    /// --rekor-v2`). An initialised DIR keeps the log it has.
    #[arg(long)]
    rekor_v2: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The instance directory.
    dir: PathBuf,
    /// `sub` claim (e-mail shape).
    #[arg(long)]
    subject: Option<String>,
    /// `email` claim, the certificate SAN (e-mail shape).
    #[arg(long)]
    email: Option<String>,
    /// A GitHub Actions token for this workflow: OWNER/REPO/.github/workflows/F.yml@REF (the
    /// job_workflow_ref claim; repository, ref, sha, run ids ... filled to match). The
    /// certificate SAN becomes https://github.com/OWNER/REPO/.github/workflows/F.yml@REF.
    #[arg(long, value_name = "WORKFLOW_REF", conflicts_with_all = ["email", "subject", "gitlab_project", "k8s_service_account"])]
    github_workflow: Option<String>,
    /// A GitLab CI token for this project (GROUP/PROJECT, branch main).
    #[arg(long, value_name = "PROJECT", conflicts_with_all = ["email", "subject", "k8s_service_account"])]
    gitlab_project: Option<String>,
    /// A Kubernetes service-account token: NAMESPACE/NAME.
    #[arg(long, value_name = "NS/NAME", conflicts_with_all = ["email", "subject"])]
    k8s_service_account: Option<String>,
    /// `aud` claim (default sigstore).
    #[arg(long)]
    audience: Option<String>,
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
                tsa: args.tsa_url.clone(),
            },
            organization: args.organization.clone(),
            rekor_v2: args.rekor_v2,
        },
    )?;
    if !ctx.quiet {
        println!("instance written to {}", args.dir.display());
        println!(
            "the dev OIDC issuer ({}) runs only with `vouch instance serve --dev-oidc` and only \
             on a loopback address: it mints a token for any identity to anyone who reaches it",
            args.oidc_url
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Serving {
    ca_url: String,
    log_url: String,
    /// 1 or 2: the Rekor API the log speaks.
    log_api_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc_url: Option<String>,
    tsa_url: String,
    trust_config: String,
    trusted_root: String,
}

/// `host:port` of a loopback URL written by `init` (item 6 of issue 15: serve listens where init
/// said); `None` for another host, which `serve` cannot bind by name.
fn listen_of(url: Option<&str>) -> Option<SocketAddr> {
    let rest = url?.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let addr: SocketAddr = authority.replace("localhost", "127.0.0.1").parse().ok()?;
    addr.ip().is_loopback().then_some(addr)
}

fn serve(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let _ = args.no_dev_oidc; // the default now
    let mut issuers = match &args.issuers {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            vouch_ca::oidc::IssuerSet::from_fulcio_config(&bytes)
                .with_context(|| format!("--issuers {}", path.display()))?
        }
        None => vouch_ca::oidc::IssuerSet::default(),
    };
    for url in &args.email_issuer {
        issuers.add(vouch_ca::oidc::IssuerConfig::email(url.as_str()))?;
    }
    for url in &args.github_issuer {
        issuers.add(vouch_ca::oidc::IssuerConfig::github(url.as_str()))?;
    }
    if issuers.is_empty() && !args.dev_oidc {
        anyhow::bail!(
            "no OIDC issuer for the CA: give --issuers FILE, --github-issuer or --email-issuer, \
             or --dev-oidc for the development issuer (tests and demos only)"
        );
    }
    let written = Instance::open(&args.dir).and_then(|i| i.urls()).ok();
    let from_init = |pick: fn(&Urls) -> Option<&str>, default: [u8; 4], port: u16| {
        written
            .as_ref()
            .and_then(|u| listen_of(pick(u)))
            .unwrap_or(SocketAddr::from((default, port)))
    };
    let localhost = [127, 0, 0, 1];
    let options = StartOptions {
        listen_ca: args
            .listen_ca
            .unwrap_or_else(|| from_init(|u| Some(u.ca.as_str()), localhost, 5555)),
        listen_log: args
            .listen_log
            .unwrap_or_else(|| from_init(|u| Some(u.log.as_str()), localhost, 3000)),
        listen_tsa: args
            .listen_tsa
            .unwrap_or_else(|| from_init(|u| Some(u.tsa.as_str()), localhost, 3004)),
        listen_oidc: args.dev_oidc.then(|| {
            args.listen_oidc
                .unwrap_or_else(|| from_init(|u| u.oidc.as_deref(), localhost, 5556))
        }),
        subject: args.subject.clone(),
        email: args.email.clone(),
        issuers,
        rekor_v2: args.rekor_v2,
        ..StartOptions::default()
    };
    let running = Instance::start(&args.dir, &options)
        .with_context(|| format!("starting the instance in {}", args.dir.display()))?;
    let report = Serving {
        ca_url: running.ca_url().to_owned(),
        log_url: running.log_url().to_owned(),
        log_api_version: if running.instance().is_rekor_v2() {
            2
        } else {
            1
        },
        oidc_url: running.oidc_url().map(str::to_owned),
        tsa_url: running.tsa_url().to_owned(),
        trust_config: running.trust_config_path().display().to_string(),
        trusted_root: running.trusted_root_path().display().to_string(),
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "CA:               {}", r.ca_url)?;
        writeln!(
            out,
            "transparency log: {} (Rekor v{})",
            r.log_url, r.log_api_version
        )?;
        writeln!(out, "timestamp (3161): {}", r.tsa_url)?;
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
    use vouch_ca::dev_oidc::TokenShape;
    let instance = Instance::open(&args.dir)?;
    let shape = if let Some(w) = &args.github_workflow {
        Some(TokenShape::github(w)?)
    } else if let Some(p) = &args.gitlab_project {
        Some(TokenShape::GitlabPipeline {
            project_path: p.clone(),
            branch: "main".into(),
        })
    } else if let Some(sa) = &args.k8s_service_account {
        let (namespace, name) = sa
            .split_once('/')
            .filter(|(n, s)| !n.is_empty() && !s.is_empty())
            .with_context(|| format!("--k8s-service-account {sa:?}: expected NAMESPACE/NAME"))?;
        Some(TokenShape::Kubernetes {
            namespace: namespace.into(),
            service_account: name.into(),
        })
    } else {
        None
    };
    let token = match shape {
        Some(shape) => instance.mint_shaped_token(&shape, args.audience.as_deref())?,
        None => instance.mint_token(&TokenRequest {
            subject: args.subject.clone(),
            email: args.email.clone(),
            audience: args.audience.clone(),
        })?,
    };
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
