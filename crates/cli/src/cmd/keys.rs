//! `vouch generate-key-pair`, and loading `--key` for the signing commands.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use vouch_sign::keyfile::encrypt_private_key;
use vouch_sign::keyref::password_from_env;
use vouch_sign::{KeyAlgorithm, KeyRef, Limits, Pkcs11Key, Pkcs11Uri, Signer, SigningKey};
use zeroize::Zeroizing;

use crate::cli::Context;
use crate::output::emit;

#[derive(Debug, Args)]
#[command(
    after_help = "\
Writes PREFIX.key (the private key, encrypted as cosign does: scrypt + NaCl secretbox,
PEM type ENCRYPTED SIGSTORE PRIVATE KEY) and PREFIX.pub (PKIX PUBLIC KEY PEM). cosign,
sigstore-rs and vouch read both files.

The password comes from $VOUCH_PASSWORD or $COSIGN_PASSWORD (empty is allowed), else it
is asked twice on the terminal.

Exit codes: 0 written, 1 error (files exist without --force, no password source…)",
    after_long_help = "\
Writes PREFIX.key (the private key, encrypted as cosign does: scrypt + NaCl secretbox,
PEM type ENCRYPTED SIGSTORE PRIVATE KEY) and PREFIX.pub (PKIX PUBLIC KEY PEM). cosign,
sigstore-rs and vouch read both files.

The password comes from $VOUCH_PASSWORD or $COSIGN_PASSWORD (empty is allowed), else it
is asked twice on the terminal.

Examples:
  COSIGN_PASSWORD=s3cret vouch generate-key-pair
  vouch generate-key-pair --output-key-prefix release --algorithm ed25519
  vouch sign registry.example/app:1.0 --key cosign.key
  vouch verify registry.example/app:1.0 --key cosign.pub --insecure-ignore-tlog   (no log)

Exit codes: 0 written, 1 error (files exist without --force, no password source…)"
)]
pub(crate) struct GenerateKeyPairArgs {
    /// File name prefix: writes PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    output_key_prefix: PathBuf,
    /// Key algorithm: ecdsa-p256 (cosign's default and only one), ecdsa-p384, ecdsa-p521,
    /// rsa-2048, rsa-3072, rsa-4096 or ed25519 (files only: tokens and KMS keys are made
    /// ecdsa-p256 or ecdsa-p384).
    #[arg(long, value_name = "ALG", default_value = "ecdsa-p256")]
    algorithm: String,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
    /// Create the key on a PKCS#11 token or in a KMS instead of in a file:
    /// `pkcs11:token=T;object=LABEL?module-path=/path/to/module.so`, `hashivault://KEY`
    /// (Vault/OpenBao transit: $VAULT_ADDR, $VAULT_TOKEN) or `awskms://[ENDPOINT]/alias/NAME`
    /// (AWS KMS: $AWS_REGION, $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY). The private key is
    /// generated there and never leaves it; only PREFIX.pub is written.
    #[arg(long, value_name = "URI")]
    kms: Option<String>,
    /// PIN of the PKCS#11 token (else the URI's pin-value, $VOUCH_PKCS11_PIN,
    /// $COSIGN_PKCS11_PIN, or a prompt).
    #[arg(long, value_name = "PIN", requires = "kms")]
    pin: Option<String>,
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
    if let Some(kms) = &args.kms {
        return generate_on_token(args, kms, algorithm, ctx);
    }
    let key_path = with_suffix(&args.output_key_prefix, "key");
    let pub_path = with_suffix(&args.output_key_prefix, "pub");
    refuse_overwrite(&[&key_path, &pub_path], args.force)?;
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

/// `generate-key-pair --kms pkcs11:...`: the key pair is made on the token; PREFIX.pub written.
fn generate_on_token(
    args: &GenerateKeyPairArgs,
    kms: &str,
    algorithm: KeyAlgorithm,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let (uri, public) = match kms.parse::<KeyRef>()? {
        KeyRef::Pkcs11(uri) => {
            refuse_overwrite(&[&with_suffix(&args.output_key_prefix, "pub")], args.force)?;
            let key = open_pkcs11(&uri, args.pin.as_deref(), Some(algorithm))?;
            (uri.to_string(), key.verifying_key())
        }
        KeyRef::Kms(kms_ref) => {
            refuse_overwrite(&[&with_suffix(&args.output_key_prefix, "pub")], args.force)?;
            let key = kms_ref.create(&|name| std::env::var(name).ok(), algorithm)?;
            (kms_ref.to_string(), key.verifying_key())
        }
        _ => bail!(
            "--kms takes a key reference such as pkcs11:token=T;object=O, hashivault://KEY or awskms:///alias/NAME (got {kms:?})"
        ),
    };
    let pub_path = with_suffix(&args.output_key_prefix, "pub");
    std::fs::write(&pub_path, public.to_pem())
        .with_context(|| format!("writing {}", pub_path.display()))?;
    let report = Generated {
        private_key: uri,
        public_key: pub_path.display().to_string(),
        algorithm: algorithm.key_details(),
        key_id: hex_encode(&public.key_id()),
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "Private key created in {}", r.private_key)?;
        writeln!(out, "Public key written to {}", r.public_key)
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
#[command(after_help = IMPORT_HELP, after_long_help = IMPORT_LONG_HELP)]
pub(crate) struct ImportKeyPairArgs {
    /// The private key to import: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`, with or
    /// without the `EC PARAMETERS` block `openssl ecparam` writes) or a cosign key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// File name prefix: writes PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX", default_value = "import-cosign")]
    output_key_prefix: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
}

macro_rules! import_help {
    () => {
        "\
Re-encrypts an existing private key as cosign does (scrypt + NaCl secretbox, PEM type
ENCRYPTED SIGSTORE PRIVATE KEY) into PREFIX.key and writes its public key to PREFIX.pub,
like `cosign import-key-pair`. Accepted: ECDSA P-256 / P-384 / P-521, RSA (2048 to 8192
bits; PKCS#1 v1.5 signatures over SHA-256) and Ed25519 keys as PKCS#8, SEC1 or PKCS#1 PEM,
and cosign key files (decrypted with the same password).

The new password comes from $VOUCH_PASSWORD or $COSIGN_PASSWORD (empty is allowed), else
it is asked twice on the terminal.

Exit codes: 0 written, 1 error (unsupported key, files exist without --force…)"
    };
}
const IMPORT_HELP: &str = import_help!();
const IMPORT_LONG_HELP: &str = concat!(
    import_help!(),
    "

Examples:
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
  COSIGN_PASSWORD=s3cret vouch import-key-pair --key ec.pem --output-key-prefix release
  vouch sign registry.example/app:1.0 --key release.key
  openssl pkey -in ec.pem -pubout > ec.pub; vouch verify registry.example/app:1.0 --key ec.pub"
);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Imported {
    private_key: String,
    public_key: String,
    algorithm: &'static str,
    key_id: String,
}

pub(crate) fn import_key_pair(args: &ImportKeyPairArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let key_path = with_suffix(&args.output_key_prefix, "key");
    let pub_path = with_suffix(&args.output_key_prefix, "pub");
    refuse_overwrite(&[&key_path, &pub_path], args.force)?;
    let limits = Limits::default();
    let pem = KeyRef::File(args.key.clone())
        .read_pem(&limits)
        .with_context(|| format!("reading {}", args.key.display()))?;
    let env_password = password_from_env();
    // A cosign key file being imported is decrypted with the same password it is re-encrypted
    // with (as `cosign import-key-pair` reads only plain keys, this is vouch's extension).
    let encrypted = pem.contains("ENCRYPTED SIGSTORE PRIVATE KEY")
        || pem.contains("ENCRYPTED COSIGN PRIVATE KEY");
    let old_password = match (encrypted, &env_password) {
        (false, _) => Zeroizing::new(String::new()),
        (true, Some(p)) => p.clone(),
        (true, None) => prompt("Enter password of the key being imported: ")?,
    };
    let key = vouch_sign::keyfile::read_private_key(&pem, old_password.as_bytes(), &limits)
        .with_context(|| format!("importing {}", args.key.display()))?;
    let password = match env_password {
        Some(p) => p,
        None => prompt_new_password()?,
    };
    let encrypted_pem = encrypt_private_key(&key, password.as_bytes())?;
    write_private(&key_path, encrypted_pem.as_bytes())?;
    let public = key.public_key();
    std::fs::write(&pub_path, public.to_pem())
        .with_context(|| format!("writing {}", pub_path.display()))?;
    let report = Imported {
        private_key: key_path.display().to_string(),
        public_key: pub_path.display().to_string(),
        algorithm: key.algorithm().key_details(),
        key_id: hex_encode(&public.key_id()),
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "Private key written to {}", r.private_key)?;
        writeln!(out, "Public key written to {}", r.public_key)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn refuse_overwrite(paths: &[&PathBuf], force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    for p in paths {
        if p.exists() {
            bail!(
                "{} already exists; pass --force to overwrite it",
                p.display()
            );
        }
    }
    Ok(())
}

/// Opens the signer `--key` names: a key on a PKCS#11 token (`pkcs11:` URI, PIN from the URI,
/// `pin` (--pin), $VOUCH_PKCS11_PIN / $COSIGN_PKCS11_PIN, else a prompt), a KMS key
/// (`hashivault://`, `awskms://`) or a key file.
pub(crate) fn load_signer(reference: &str, pin: Option<&str>) -> anyhow::Result<Box<dyn Signer>> {
    let key_ref: KeyRef = reference.parse()?;
    if let KeyRef::Pkcs11(uri) = &key_ref {
        let key = open_pkcs11(uri, pin, None)?;
        return Ok(Box::new(key));
    }
    if let KeyRef::Kms(kms) = &key_ref {
        return Ok(kms.open(&|name| std::env::var(name).ok())?);
    }
    Ok(Box::new(load_signing_key(reference)?))
}

/// Opens (or with `generate`, creates) the PKCS#11 key `uri` names.
fn open_pkcs11(
    uri: &Pkcs11Uri,
    pin: Option<&str>,
    generate: Option<KeyAlgorithm>,
) -> anyhow::Result<Pkcs11Key> {
    let env = |name: &str| std::env::var(name).ok();
    let prompted = match uri.resolve_pin(pin, &env) {
        Some(_) => None,
        None if std::io::stdin().is_terminal() => Some(prompt("Enter PIN for PKCS#11 token: ")?),
        None => None,
    };
    let pin = pin.or(prompted.as_deref().map(String::as_str));
    let key = match generate {
        Some(algorithm) => Pkcs11Key::generate(uri, pin, &env, algorithm),
        None => Pkcs11Key::open(uri, pin, &env),
    };
    Ok(key?)
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
