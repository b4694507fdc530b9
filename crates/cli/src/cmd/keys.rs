//! `vouch generate-key-pair`, and loading `--key` for the signing commands.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use vouch_sign::keyfile::encrypt_private_key;
use vouch_sign::keyref::password_from_env;
use vouch_sign::{KeyAlgorithm, KeyRef, Limits, SigningKey};
use zeroize::Zeroizing;

use crate::cli::Context;
use crate::output::emit;

#[derive(Debug, Args)]
#[command(after_help = "\
Writes PREFIX.key (the private key, encrypted as cosign does: scrypt + NaCl secretbox,
PEM type ENCRYPTED SIGSTORE PRIVATE KEY) and PREFIX.pub (PKIX PUBLIC KEY PEM). cosign,
sigstore-rs and vouch read both files.

The password comes from $VOUCH_PASSWORD or $COSIGN_PASSWORD (empty is allowed), else it
is asked twice on the terminal.

Examples:
  COSIGN_PASSWORD=s3cret vouch generate-key-pair
  vouch generate-key-pair --output-key-prefix release --algorithm ed25519

Exit codes: 0 written, 1 error (files exist without --force, no password source…)")]
pub(crate) struct GenerateKeyPairArgs {
    /// File name prefix: writes PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    output_key_prefix: PathBuf,
    /// Key algorithm: ecdsa-p256 (cosign's default), ecdsa-p384 or ed25519.
    #[arg(long, value_name = "ALG", default_value = "ecdsa-p256")]
    algorithm: String,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Generated {
    private_key: String,
    public_key: String,
    algorithm: &'static str,
    key_id: String,
}

pub(crate) fn generate_key_pair(
    args: &GenerateKeyPairArgs,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let key_path = with_suffix(&args.output_key_prefix, "key");
    let pub_path = with_suffix(&args.output_key_prefix, "pub");
    if !args.force {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                bail!(
                    "{} already exists; pass --force to overwrite it",
                    p.display()
                );
            }
        }
    }
    let password = match password_from_env() {
        Some(p) => p,
        None => prompt_new_password()?,
    };
    let key = SigningKey::generate(algorithm)?;
    let pem = encrypt_private_key(&key, password.as_bytes())?;
    write_private(&key_path, pem.as_bytes())?;
    let public = key.public_key();
    std::fs::write(&pub_path, public.to_pem())
        .with_context(|| format!("writing {}", pub_path.display()))?;
    let report = Generated {
        private_key: key_path.display().to_string(),
        public_key: pub_path.display().to_string(),
        algorithm: algorithm.key_details(),
        key_id: hex_encode(&public.key_id()),
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "Private key written to {}", r.private_key)?;
        writeln!(out, "Public key written to {}", r.public_key)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the signing key `--key` names, asking for its password only if it is encrypted.
pub(crate) fn load_signing_key(reference: &str) -> anyhow::Result<SigningKey> {
    let key_ref: KeyRef = reference.parse()?;
    let limits = Limits::default();
    let pem = key_ref.read_pem(&limits)?;
    let encrypted = pem.contains("ENCRYPTED SIGSTORE PRIVATE KEY")
        || pem.contains("ENCRYPTED COSIGN PRIVATE KEY");
    let password = match (encrypted, password_from_env()) {
        (false, _) => Zeroizing::new(String::new()),
        (true, Some(p)) => p,
        (true, None) => prompt("Enter password for private key: ")?,
    };
    vouch_sign::keyfile::read_private_key(&pem, password.as_bytes(), &limits)
        .with_context(|| format!("reading private key {reference}"))
}

fn prompt(message: &str) -> anyhow::Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "the key is encrypted: set VOUCH_PASSWORD or COSIGN_PASSWORD (no terminal to ask on)"
        );
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password(message).context("reading password")?,
    ))
}

fn prompt_new_password() -> anyhow::Result<Zeroizing<String>> {
    let first = prompt("Enter password for private key: ")?;
    let second = prompt("Enter password for private key again: ")?;
    if first != second {
        bail!("passwords do not match");
    }
    Ok(first)
}

fn with_suffix(prefix: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes the private key readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
