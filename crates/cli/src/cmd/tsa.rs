//! `vouch tsa`: create and run an RFC 3161 timestamp authority.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use vouch_tsa::{Config, Material, TimestampAuthority};

use crate::cli::Context;
use crate::output::emit;

const TSA_HELP: &str = "\
Examples:
  vouch tsa init --dir /etc/vouch/tsa
  vouch tsa serve --dir /etc/vouch/tsa --listen 0.0.0.0:3004
  openssl ts -query -data FILE -sha256 -cert -out req.tsq
  curl -s -H 'Content-Type: application/timestamp-query' --data-binary @req.tsq \\
       http://127.0.0.1:3004/api/v1/timestamp > reply.tsr
  openssl ts -verify -data FILE -in reply.tsr -CAfile /etc/vouch/tsa/root.pem \\
       -untrusted /etc/vouch/tsa/tsa-cert.pem";

/// `vouch tsa …`
#[derive(Debug, Subcommand)]
pub(crate) enum TsaCommand {
    /// Create a TSA: an ECDSA P-256 root CA and a timestamping certificate (critical extended
    /// key usage timeStamping only, RFC 3161 §2.3) with its key, written into --dir as
    /// tsa-key.pem (mode 0600), tsa-cert.pem, root.pem (what verifiers trust) and chain.pem.
    #[command(after_help = TSA_HELP)]
    Init(InitArgs),
    /// Run the TSA: sigstore timestamp-authority's API. POST /api/v1/timestamp takes an RFC
    /// 3161 TimeStampReq (Content-Type: application/timestamp-query) or sigstore's JSON request
    /// (application/json) and answers a TimeStampResp (application/timestamp-reply): granted,
    /// with the request's imprint and nonce, or status rejection (HTTP 400) naming the failure
    /// (badAlg, badRequest, badDataFormat, unacceptedPolicy, unacceptedExtension).
    /// GET /api/v1/timestamp/certchain serves the PEM chain; /healthz answers ok.
    #[command(after_help = TSA_HELP)]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Directory to write the key and certificates into (created; an existing key is never
    /// overwritten).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Organization named in the certificates' subjects.
    #[arg(long, value_name = "NAME", default_value = "vouch")]
    organization: String,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Directory written by `vouch tsa init` (tsa-key.pem and chain.pem are read).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3004")]
    listen: String,
    /// Policy OID of tokens whose request names none (sigstore's default policy unless set).
    #[arg(long = "default-policy-oid", value_name = "OID", default_value = vouch_tsa::DEFAULT_POLICY)]
    policy: String,
    /// A further policy OID requests may ask for (repeatable); requests naming any other
    /// policy are rejected with unacceptedPolicy.
    #[arg(long = "accepted-policy-oid", value_name = "OID")]
    accepted_policies: Vec<String>,
    /// The accuracy stated in every token, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    accuracy_ms: u64,
    /// When a request asks for certificates, embed the whole chain, not only the TSA
    /// certificate (sigstore's --include-chain-in-response).
    #[arg(long = "include-chain-in-response")]
    include_chain: bool,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Runs a `vouch tsa` command.
pub(crate) fn run(command: TsaCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        TsaCommand::Init(a) => init(&a, ctx),
        TsaCommand::Serve(a) => serve(&a, ctx),
    }
}

#[derive(Serialize)]
struct Initialized {
    key: PathBuf,
    certificate: PathBuf,
    root: PathBuf,
    chain: PathBuf,
}

fn init(args: &InitArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let key = args.dir.join(vouch_tsa::KEY_FILE);
    if key.exists() {
        anyhow::bail!(
            "--dir {}: {} already exists; refusing to replace a TSA key",
            args.dir.display(),
            key.display()
        );
    }
    Material::generate(&args.organization)?
        .write(&args.dir)
        .with_context(|| format!("writing the TSA into --dir {}", args.dir.display()))?;
    let done = Initialized {
        key,
        certificate: args.dir.join(vouch_tsa::LEAF_FILE),
        root: args.dir.join(vouch_tsa::ROOT_FILE),
        chain: args.dir.join(vouch_tsa::CHAIN_FILE),
    };
    emit(ctx.format, &done, |out, d| {
        writeln!(out, "TSA key:         {}", d.key.display())?;
        writeln!(out, "TSA certificate: {}", d.certificate.display())?;
        writeln!(out, "root (trust it): {}", d.root.display())?;
        writeln!(out, "chain:           {}", d.chain.display())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn serve(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let material = Material::load(&args.dir)
        .with_context(|| format!("loading the TSA from --dir {}", args.dir.display()))?;
    let config = Config {
        policy: args.policy.clone(),
        accepted_policies: args.accepted_policies.clone(),
        accuracy: Duration::from_millis(args.accuracy_ms),
        include_chain: args.include_chain,
    };
    let authority = Arc::new(
        TimestampAuthority::new(&material, &config)
            .context("--default-policy-oid / --accepted-policy-oid")?,
    );
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(vouch_tsa::server::tls_config_from_files(cert, key)?),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("listening on {scheme}://{addr}");
        if !ctx.quiet {
            eprintln!("level=info msg=started policy={}", args.policy);
        }
        vouch_tsa::server::serve(listener, authority, tls, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
