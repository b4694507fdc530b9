//! `vouch instance`: a private Sigstore instance (CA, transparency log, dev OIDC) described by
//! trust files that Sigstore clients read (`sigstore/protobuf-specs:sigstore_trustroot.proto`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;
use vouch_ca::CertificateAuthority;
use vouch_sign::{KeyAlgorithm, SigningKey};

use crate::cli::Context;

const INSTANCE_HELP: &str = "\
Exit codes:
  0  files written
  1  error: DIR already initialised, unwritable

Writes into DIR:
  ca/                 root, intermediate and CT log keys for `vouch ca serve --dir DIR/ca`
  tlog.key.pem        the log key for `vouch tlog serve --key DIR/tlog.key.pem`
  trusted_root.json   application/vnd.dev.sigstore.trustedroot+json;version=0.1
  signing_config.json application/vnd.dev.sigstore.signingconfig.v0.2+json
  trust_config.json   ClientTrustConfig combining both (sigstore --trust-config, vouch --trust-config)

Examples:
  vouch instance init ./instance
  vouch tlog serve --db sqlite:./instance/tlog.db --key ./instance/tlog.key.pem --listen 127.0.0.1:3000 &
  vouch oidc serve --listen 127.0.0.1:5556 &
  vouch ca serve --dir ./instance/ca --listen 127.0.0.1:5555 --email-issuer http://127.0.0.1:5556 &";

/// `vouch instance …`
#[derive(Debug, Subcommand)]
pub(crate) enum InstanceCommand {
    /// Generate a private instance's keys and trust files (trusted root, signing config,
    /// client trust config) with URLs pointing at the loopback ports it will serve on.
    #[command(after_help = INSTANCE_HELP)]
    Init(InitArgs),
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

/// Runs `vouch instance`.
pub(crate) fn run(command: InstanceCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        InstanceCommand::Init(a) => init(&a, ctx),
    }
}

fn init(args: &InitArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    if dir.join("trusted_root.json").exists() {
        anyhow::bail!("{} already holds an instance", dir.display());
    }
    let ca_dir = dir.join("ca");
    std::fs::create_dir_all(&ca_dir).with_context(|| format!("creating {}", ca_dir.display()))?;
    let ca = CertificateAuthority::generate(&args.organization)?;
    let m = ca.to_pem()?;
    write(&ca_dir.join("root.crt.pem"), &m.root_cert_pem, false)?;
    write(
        &ca_dir.join("intermediate.crt.pem"),
        &m.intermediate_cert_pem,
        false,
    )?;
    write(
        &ca_dir.join("intermediate.key.pem"),
        &m.intermediate_key_pem,
        true,
    )?;
    write(&ca_dir.join("ctlog.key.pem"), &m.ct_key_pem, true)?;
    let log_key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let log_der = log_key.to_pkcs8_der()?;
    let log_pem = vouch_ca::issue::pem("PRIVATE KEY", log_der.as_bytes());
    write(&dir.join("tlog.key.pem"), &log_pem, true)?;

    let start = "1970-01-01T00:00:00Z";
    let b64 = |d: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(d)
    };
    let (ca_entry, ctlog) = ca.trusted_root_entries(&args.ca_url, start)?;
    let log_pk = log_key.public_key();
    let trusted_root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"baseUrl": args.tlog_url, "hashAlgorithm": "SHA2_256",
                   "publicKey": {"rawBytes": b64(log_pk.spki_der()), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                 "validFor": {"start": start}},
                   "logId": {"keyId": b64(&log_pk.key_id())}}],
        "certificateAuthorities": [ca_entry],
        "ctlogs": [ctlog],
        "timestampAuthorities": [],
    });
    let service = |url: &str| json!({"url": url, "majorApiVersion": 1, "validFor": {"start": start}, "operator": "vouch"});
    let signing_config = json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [service(&args.ca_url)],
        "oidcUrls": [service(&args.oidc_url)],
        "rekorTlogUrls": [service(&args.tlog_url)],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    });
    let trust_config = json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": trusted_root,
        "signingConfig": signing_config,
    });
    for (name, value) in [
        ("trusted_root.json", &trusted_root),
        ("signing_config.json", &signing_config),
        ("trust_config.json", &trust_config),
    ] {
        write(
            &dir.join(name),
            &serde_json::to_string_pretty(value)?,
            false,
        )?;
    }
    if !ctx.quiet {
        println!("instance written to {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
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
