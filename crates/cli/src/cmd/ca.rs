//! `vouch ca`: a Fulcio-compatible certificate authority for keyless signing, and `vouch oidc`:
//! a development OIDC issuer whose tokens the CA can be told to trust.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vouch_ca::dev_oidc::DevIssuer;
use vouch_ca::oidc::{IssuerConfig, IssuerSet, IssuerType, TokenVerifier};
use vouch_ca::{CaMaterial, CaService, CertificateAuthority, Limits};

use crate::cli::Context;

const CA_HELP: &str = "\
Exit codes:
  0  stopped cleanly (SIGINT/SIGTERM)
  1  error: bad flags, unreadable or mismatched CA material, address in use

The CA directory holds root.crt.pem, intermediate.crt.pem, intermediate.key.pem (PKCS#8) and
ctlog.key.pem (PKCS#8, the CT log key that signs every certificate's embedded SCT). With --init
they are generated when missing (ECDSA P-256; key files mode 0600). A trusted_root.json for
verifiers must list the intermediate+root chain under certificateAuthorities and the CT key
under ctlogs.

Endpoints (Fulcio v2): POST /api/v2/signingCert, GET /api/v2/trustBundle,
GET /api/v2/configuration.

Examples:
  vouch oidc serve --listen 127.0.0.1:5556 --email dev@example.com &
  vouch ca serve --dir ./ca --init --listen 127.0.0.1:5555 --email-issuer http://127.0.0.1:5556
  curl -s http://127.0.0.1:5555/api/v2/trustBundle";

const OIDC_HELP: &str = "\
Exit codes:
  0  stopped cleanly (SIGINT/SIGTERM)
  1  error: bad flags, address in use

For tests and demos only: anyone who reaches it gets a token. Its key is generated at start, so
a CA fetches the JWKS again after a restart (unknown kid triggers a refetch).

Endpoints: GET /.well-known/openid-configuration, GET /jwks,
GET|POST /token[?subject=S&email=E&audience=A] -> {\"id_token\": ...} (audience sigstore);
  ?github_workflow=OWNER/REPO/.github/workflows/F.yml@REF, ?gitlab_project=GROUP/PROJECT,
  ?k8s_namespace=NS&k8s_service_account=SA mint those shapes under <issuer>/github-actions,
  <issuer>/gitlab, <issuer>/kubernetes (one issuer URL per type).

Examples:
  vouch oidc serve --listen 127.0.0.1:5556 --email dev@example.com
  curl -s http://127.0.0.1:5556/token | jq -r .id_token";

/// `vouch ca …`
#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Run the certificate authority: validates OIDC identity tokens of the configured issuers
    /// (signature against the issuer's JWKS from discovery, iss, aud=sigstore, exp/nbf with
    /// clock skew) and issues 10-minute code-signing certificates with one embedded SCT.
    #[command(after_help = CA_HELP)]
    Serve(CaServeArgs),
}

/// `vouch oidc …`
#[derive(Debug, Subcommand)]
pub(crate) enum OidcCommand {
    /// Run a development OIDC issuer minting RS256 identity tokens (e-mail, GitHub Actions,
    /// GitLab and Kubernetes shapes). Loopback addresses only: it gives anyone a token.
    #[command(after_help = OIDC_HELP)]
    Serve(OidcServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CaServeArgs {
    /// Directory with the CA material (see below).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Generate a root, intermediate and CT log key into --dir when they are missing.
    #[arg(long)]
    init: bool,
    /// Address to listen on (port 0 picks a free port; the URL is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5555")]
    listen: String,
    /// Trusted issuers in Fulcio's own configuration format (JSON or YAML: OIDCIssuers,
    /// MetaIssuers with wildcards, CIIssuerMetadata), so an existing Fulcio deployment's file
    /// works unchanged. The shortcut flags below add entries; an issuer URL listed twice is an
    /// error.
    #[arg(long, value_name = "FILE")]
    issuers: Option<PathBuf>,
    /// Trust an OIDC issuer whose tokens carry a verified `email` (SAN = email). Repeatable.
    #[arg(long, value_name = "URL")]
    email_issuer: Vec<String>,
    /// Trust an OIDC issuer whose `sub` is a URI on the issuer's own scheme and host (SAN =
    /// sub). Repeatable.
    #[arg(long, value_name = "URL")]
    uri_issuer: Vec<String>,
    /// Trust a GitHub Actions issuer (type ci-provider, Fulcio's github-workflow templates: SAN =
    /// https://github.com/<job_workflow_ref>, extensions 1.2-1.6 and 1.9-1.24). Repeatable; e.g.
    /// https://token.actions.githubusercontent.com.
    #[arg(long, value_name = "URL")]
    github_issuer: Vec<String>,
    /// Organization name in generated CA certificates (with --init).
    #[arg(long, default_value = "vouch")]
    organization: String,
    /// Clock skew tolerated on token exp/nbf/iat, seconds.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().clock_skew_secs)]
    clock_skew: u64,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, SEC1 or PKCS#1) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct OidcServeArgs {
    /// Address to listen on (port 0 picks a free port; the URL is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5556")]
    listen: String,
    /// Issuer URL (`iss`); default http://<listen address>.
    #[arg(long, value_name = "URL")]
    issuer_url: Option<String>,
    /// Default `sub` of minted tokens.
    #[arg(long, default_value = "vouch-dev")]
    subject: String,
    /// Default `email` of minted tokens (marked verified).
    #[arg(long, default_value = "dev@vouch.invalid")]
    email: String,
}

/// Runs `vouch ca`.
pub(crate) fn run(command: CaCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        CaCommand::Serve(a) => ca_serve(&a, ctx),
    }
}

/// Runs `vouch oidc`.
pub(crate) fn run_oidc(command: OidcCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        OidcCommand::Serve(a) => oidc_serve(&a, ctx),
    }
}

const FILES: [&str; 4] = [
    "root.crt.pem",
    "intermediate.crt.pem",
    "intermediate.key.pem",
    "ctlog.key.pem",
];

fn load_or_init(
    dir: &Path,
    init: bool,
    organization: &str,
) -> anyhow::Result<CertificateAuthority> {
    let present = FILES.iter().filter(|f| dir.join(f).exists()).count();
    if present == 0 && init {
        let ca = CertificateAuthority::generate(organization)?;
        let m = ca.to_pem()?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text, secret) in [
            (FILES[0], &m.root_cert_pem, false),
            (FILES[1], &m.intermediate_cert_pem, false),
            (FILES[2], &m.intermediate_key_pem, true),
            (FILES[3], &m.ct_key_pem, true),
        ] {
            write_file(&dir.join(name), text, secret)?;
        }
        return Ok(ca);
    }
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).with_context(|| {
            format!(
                "reading {} (use --init to generate)",
                dir.join(name).display()
            )
        })
    };
    Ok(CertificateAuthority::from_pem(&CaMaterial {
        root_cert_pem: read(FILES[0])?,
        intermediate_cert_pem: read(FILES[1])?,
        intermediate_key_pem: read(FILES[2])?,
        ct_key_pem: read(FILES[3])?,
    })?)
}

fn write_file(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    use std::io::Write as _;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

fn ca_serve(args: &CaServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let ca = load_or_init(&args.dir, args.init, &args.organization)?;
    let mut issuers = match &args.issuers {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            IssuerSet::from_fulcio_config(&bytes)
                .with_context(|| format!("--issuers {}", path.display()))?
        }
        None => IssuerSet::default(),
    };
    for url in &args.email_issuer {
        issuers.add(IssuerConfig::email(url.as_str()))?;
    }
    for url in &args.uri_issuer {
        let mut issuer = IssuerConfig::new(url.as_str(), IssuerType::Uri);
        issuer.subject_domain = Some(uri_domain(url)?);
        issuers.add(issuer)?;
    }
    for url in &args.github_issuer {
        issuers.add(IssuerConfig::github(url.as_str()))?;
    }
    if issuers.is_empty() {
        anyhow::bail!(
            "no OIDC issuer configured: give --issuers FILE, --email-issuer, --uri-issuer or \
             --github-issuer"
        );
    }
    let limits = Limits {
        clock_skew_secs: args.clock_skew,
        ..Limits::default()
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(vouch_tlog::tls::server_config_from_files(cert, key)?),
        _ => None,
    };
    let client = vouch_http::Client::new(&vouch_http::ClientConfig::default())?;
    let service = Arc::new(CaService {
        ca,
        tokens: TokenVerifier::with_discovery(issuers, client, limits),
        limits,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("listening on {scheme}://{}", listener.local_addr()?);
        if !ctx.quiet {
            eprintln!(
                "level=info msg=started ctlog_id={}",
                hex_string(&service.ca.ct_log_id()?)
            );
        }
        let router = vouch_ca::server::router(service);
        match tls {
            Some(config) => {
                vouch_tlog::tls::serve_router(listener, router, config, shutdown_signal()).await?;
            }
            None => vouch_ca::server::serve(listener, router, shutdown_signal()).await?,
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `scheme://host[:port]` of an issuer URL: the subject domain of a `--uri-issuer`.
fn uri_domain(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("--uri-issuer {url}: not an absolute URL"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{scheme}://{host}"))
}

fn oidc_serve(args: &OidcServeArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    let addr: std::net::SocketAddr = args
        .listen
        .parse()
        .with_context(|| format!("--listen {}: expected IP:PORT", args.listen))?;
    vouch_ca::dev_oidc::check_listen_address(addr)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let url = format!("http://{}", listener.local_addr()?);
        let issuer_url = args.issuer_url.clone().unwrap_or_else(|| url.clone());
        let issuer = Arc::new(DevIssuer::generate(
            &issuer_url,
            &args.subject,
            &args.email,
        )?);
        println!("listening on {url}");
        let router = vouch_ca::dev_oidc::router(issuer);
        vouch_ca::server::serve(listener, router, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
