//! `vouch sign-blob FILE`, `vouch attest-blob FILE` and `vouch verify-blob FILE|sha256:<hex>`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use vouch_sign::intoto::{Statement, Subject, predicate_type_for};
use vouch_sign::sign::{sign_blob_with, sign_statement_with};
use vouch_sign::{Artifact, BlobContent, Bundle, Limits};

use super::keys::load_signer;
use super::verify::{
    EXIT_VERIFY_FAILED, EvidenceJson, PolicyArgs, VERIFY_HELP, signer_line, write_checks,
    write_times,
};
use crate::cli::Context;
use crate::output::emit;

#[derive(Debug, Args)]
#[command(after_help = SIGN_BLOB_HELP)]
pub(crate) struct SignBlobArgs {
    /// The file to sign.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Private key (see "Private keys" below), or --keyless.
    #[arg(long, value_name = "KEY", required_unless_present = "keyless")]
    key: Option<String>,
    /// PIN of a pkcs11: key's token (else the URI's pin-value, $VOUCH_PKCS11_PIN,
    /// $COSIGN_PKCS11_PIN, or a prompt).
    #[arg(long, value_name = "PIN", requires = "key")]
    pin: Option<String>,
    #[command(flatten)]
    keyless: super::sign::KeylessArgs,
    #[command(flatten)]
    tlog: super::sign::TlogArgs,
    /// Where to write the Sigstore bundle (v0.3, `messageSignature`); `-` for stdout.
    #[arg(long, value_name = "OUT", default_value = "-")]
    bundle: PathBuf,
    /// FILE is an in-toto statement: sign it as is into a DSSE envelope
    /// (`application/vnd.in-toto+json`), as an attestation bundle.
    #[arg(long)]
    in_toto: bool,
    #[command(flatten)]
    compat: super::cosign_compat::SignBlobCompat,
}

#[derive(Debug, Args)]
#[command(after_help = ATTEST_BLOB_HELP)]
pub(crate) struct AttestBlobArgs {
    /// The file the attestation is about (its SHA-256 becomes the statement's subject).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The predicate: a JSON file.
    #[arg(long, value_name = "FILE")]
    predicate: PathBuf,
    /// Predicate type: a URI, or a cosign name (slsaprovenance1, spdxjson, cyclonedx, custom, ...).
    #[arg(long = "type", value_name = "TYPE")]
    predicate_type: String,
    /// Private key, or --keyless.
    #[arg(long, value_name = "KEY", required_unless_present = "keyless")]
    key: Option<String>,
    /// PIN of a pkcs11: key's token (else the URI's pin-value, $VOUCH_PKCS11_PIN,
    /// $COSIGN_PKCS11_PIN, or a prompt).
    #[arg(long, value_name = "PIN", requires = "key")]
    pin: Option<String>,
    #[command(flatten)]
    keyless: super::sign::KeylessArgs,
    #[command(flatten)]
    tlog: super::sign::TlogArgs,
    /// Where to write the Sigstore bundle (v0.3, `dsseEnvelope`); `-` for stdout.
    #[arg(long, value_name = "OUT", default_value = "-")]
    bundle: PathBuf,
    #[command(flatten)]
    compat: super::cosign_compat::SignBlobCompat,
}

const ATTEST_BLOB_HELP: &str = "\
Builds an in-toto v1 statement (subject: FILE's name and SHA-256; predicateType; predicate
from --predicate) and signs it into a DSSE envelope in a Sigstore bundle v0.3, as
`sigstore attest` does. `vouch verify-blob FILE --bundle OUT` verifies it (the statement must
name FILE's digest); -o json prints the statement.

Examples:
  vouch attest-blob dist/app.whl --predicate provenance.json --type slsaprovenance1 \\
      --key cosign.key --bundle dist/app.whl.sigstore.json
  vouch attest-blob dist/app.whl --predicate provenance.json \\
      --type https://slsa.dev/provenance/v1 --keyless --trust-config trust_config.json \\
      --bundle dist/app.whl.sigstore.json

Exit codes: 0 signed, 1 error";

const SIGN_BLOB_HELP: &str = concat!(
    "\
Signs FILE's bytes (ECDSA-SHA256 for P-256/P-384 keys, ECDSA-SHA512 for P-521, RSA PKCS#1
v1.5 SHA-256, Ed25519 over the bytes) and writes a Sigstore bundle v0.3 with a
messageSignature and the key's hint; cosign verify-blob --bundle and vouch verify-blob read
it. Into a Rekor v2 log the signature is made as its entry names it, as cosign v3 does:
P-384 over SHA-384, Ed25519 as Ed25519ph over SHA-512.

Private keys (--key):
  PATH, file://PATH  a PEM file: cosign's ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY (password from
                     $VOUCH_PASSWORD or $COSIGN_PASSWORD, else a prompt on the terminal), or
                     a plain PKCS#8 `PRIVATE KEY` / SEC1 `EC PRIVATE KEY` / PKCS#1
                     `RSA PRIVATE KEY`
  env://NAME         the same PEM text in environment variable NAME
  pkcs11:token=T;object=O?module-path=MODULE
                     a key on a PKCS#11 token (RFC 7512 URI; PIN from pin-value, --pin,
                     $VOUCH_PKCS11_PIN or $COSIGN_PKCS11_PIN, else a prompt)
  hashivault://KEY   a Vault/OpenBao transit key ($VAULT_ADDR, $VAULT_TOKEN)
  awskms://[ENDPOINT]/KEY
                     an AWS KMS key by id, ARN or alias/NAME ($AWS_REGION, $AWS_ACCESS_KEY_ID,
                     $AWS_SECRET_ACCESS_KEY; ENDPOINT names an AWS-compatible service)
",
    super::sign::tlog_help!(),
    super::sign::keyless_help!(),
    "
With --keyless the bundle carries the certificate and a hashedrekord log entry (inclusion
proof, checkpoint, SET): what `sigstore verify identity` and `cosign verify-blob` accept.

Examples:
  vouch sign-blob release.tar.gz --key cosign.key --bundle release.tar.gz.sigstore.json
  vouch sign-blob release.tar.gz --keyless --trust-config trust_config.json \\
      --bundle release.tar.gz.sigstore.json

Exit codes: 0 signed, 1 error"
);

#[derive(Debug, Args)]
#[command(after_help = VERIFY_HELP, after_long_help = super::sign::verify_blob_long_help())]
pub(crate) struct VerifyBlobArgs {
    /// The signed file, or `sha256:<hex>` to verify by digest without the file.
    #[arg(value_name = "FILE|sha256:HEX")]
    artifact: String,
    /// The Sigstore bundle (v0.1 to v0.3; messageSignature or dsseEnvelope).
    #[arg(long, value_name = "IN", required_unless_present = "signature")]
    bundle: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    detached: super::cosign_compat::DetachedArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Signed {
    file: String,
    sha256: String,
    bundle: String,
    #[serde(flatten)]
    signer: super::sign::SignerJson,
}

/// Signs `statement` with --key or --keyless into a DSSE bundle.
fn sign_in_toto(
    statement: &Statement,
    key: Option<&str>,
    pin: Option<&str>,
    keyless: &super::sign::KeylessArgs,
    tlog: &super::sign::TlogArgs,
) -> anyhow::Result<(Vec<u8>, super::sign::SignerJson)> {
    if keyless.enabled() {
        let (signer, token) = keyless.signer()?;
        let session = signer.certify(&token)?;
        let bundle = session
            .sign_statement(statement)
            .context("keyless signing the statement")?;
        return Ok((bundle.to_json(), super::sign::SignerJson::session(&session)));
    }
    let key_ref = key.ok_or_else(|| anyhow::anyhow!("give --key KEY or --keyless"))?;
    let key = load_signer(key_ref, pin)?;
    let log = tlog.key_log(keyless, &*key)?;
    let witnesses = log
        .as_ref()
        .map(super::sign::KeyLog::witnesses)
        .unwrap_or_default();
    Ok((
        sign_statement_with(statement, &*key, &witnesses)?.to_json(),
        super::sign::SignerJson::key(&*key),
    ))
}

/// `vouch attest-blob`.
pub(crate) fn attest_blob(args: &AttestBlobArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    args.compat.check()?;
    let data =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let predicate_json = std::fs::read(&args.predicate)
        .with_context(|| format!("reading --predicate {}", args.predicate.display()))?;
    let predicate: Value = serde_json::from_slice(&predicate_json)
        .with_context(|| format!("--predicate {} is not JSON", args.predicate.display()))?;
    let predicate_type = predicate_type_for(&args.predicate_type)?;
    let name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let digest = super::keys::hex_encode(&sha256(&data));
    let statement = Statement::new(
        vec![Subject::sha256(name, digest.clone())],
        predicate_type,
        predicate,
    );
    let (bundle, signer) = sign_in_toto(
        &statement,
        args.key.as_deref(),
        args.pin.as_deref(),
        &args.keyless,
        &args.tlog,
    )?;
    args.compat.write_outputs(&bundle)?;
    write_bundle(&args.bundle, &bundle, &args.file, &digest, signer, ctx)
}

pub(crate) fn sign_blob(args: &SignBlobArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    args.compat.check()?;
    let data =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    if args.in_toto {
        let statement = Statement::from_json(&data)
            .with_context(|| format!("{} is not an in-toto statement", args.file.display()))?;
        let (bundle, signer) = sign_in_toto(
            &statement,
            args.key.as_deref(),
            args.pin.as_deref(),
            &args.keyless,
            &args.tlog,
        )?;
        let digest = super::keys::hex_encode(&sha256(&data));
        args.compat.write_outputs(&bundle)?;
        return write_bundle(&args.bundle, &bundle, &args.file, &digest, signer, ctx);
    }
    let (bundle, signer) = if args.keyless.enabled() {
        let (signer, token) = args.keyless.signer()?;
        let session = signer.certify(&token)?;
        let bundle = session
            .sign_blob(&data)
            .with_context(|| format!("keyless signing {}", args.file.display()))?;
        (bundle.to_json(), super::sign::SignerJson::session(&session))
    } else {
        let key_ref = args
            .key
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("give --key KEY or --keyless"))?;
        let key = load_signer(key_ref, args.pin.as_deref())?;
        let log = args.tlog.key_log(&args.keyless, &*key)?;
        let witnesses = log
            .as_ref()
            .map(super::sign::KeyLog::witnesses)
            .unwrap_or_default();
        let bundle = sign_blob_with(&data, &*key, &witnesses)?;
        if let Some(log) = &log {
            log.check_blob(&data, &bundle)?;
        }
        (bundle.to_json(), super::sign::SignerJson::key(&*key))
    };
    let digest = super::keys::hex_encode(&sha256(&data));
    args.compat.write_outputs(&bundle)?;
    write_bundle(&args.bundle, &bundle, &args.file, &digest, signer, ctx)
}

/// Writes `bundle` to `path` (`-`: stdout, nothing else printed) and reports what was signed.
fn write_bundle(
    path: &std::path::Path,
    bundle: &[u8],
    file: &std::path::Path,
    sha256_hex: &str,
    signer: super::sign::SignerJson,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bundle)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::write(path, bundle).with_context(|| format!("writing {}", path.display()))?;
    let report = Signed {
        file: file.display().to_string(),
        sha256: sha256_hex.to_owned(),
        bundle: path.display().to_string(),
        signer,
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(
            out,
            "Signed {} (sha256:{}) as {}; bundle written to {}",
            r.file,
            r.sha256,
            r.signer.line(),
            r.bundle
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BlobVerdict {
    artifact: String,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<EvidenceJson>,
    /// The in-toto statement, for DSSE bundles.
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_check: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(crate) fn verify_blob(args: &VerifyBlobArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (verifier, policy) = args.policy.build(ctx)?;
    let bytes;
    let artifact = if let Some(hex) = args.artifact.strip_prefix("sha256:") {
        let digest: [u8; 32] = decode_hex32(hex)
            .with_context(|| format!("{} is not sha256:<64 hex>", args.artifact))?;
        Artifact::Sha256(digest)
    } else {
        bytes =
            std::fs::read(&args.artifact).with_context(|| format!("reading {}", args.artifact))?;
        Artifact::Bytes(&bytes)
    };
    let artifact_sha256 = match &artifact {
        Artifact::Sha256(digest) => *digest,
        Artifact::Bytes(data) => sha256(data),
    };
    let bundle_json = args
        .detached
        .bundle(args.bundle.as_deref(), artifact_sha256)?;
    let outcome = Bundle::from_json(&bundle_json, &Limits::default())
        .and_then(|bundle| verifier.verify_blob(artifact, &bundle, &policy));
    let verdict = match &outcome {
        Ok(v) => BlobVerdict {
            artifact: args.artifact.clone(),
            verified: true,
            evidence: Some(EvidenceJson::from(v.evidence())),
            payload: match v.value() {
                BlobContent::Statement(s) => serde_json::to_value(s).ok(),
                _ => None,
            },
            failed_check: None,
            error: None,
        },
        Err(e) => match super::verify::failure(e, &policy) {
            None => {
                return Err(anyhow::anyhow!("{e}")).context(format!("verifying {}", args.artifact));
            }
            Some((check, message)) => BlobVerdict {
                artifact: args.artifact.clone(),
                verified: false,
                evidence: None,
                payload: None,
                failed_check: Some(check),
                error: Some(message),
            },
        },
    };
    emit(ctx.format, &verdict, |out, v| {
        match &outcome {
            Ok(verified) => {
                writeln!(
                    out,
                    "Verified OK: {}, signed by {}",
                    v.artifact,
                    signer_line(verified.evidence())
                )?;
                write_checks(out, &verified.evidence().checks)?;
                write_times(out, verified.evidence())?;
            }
            Err(_) => {
                writeln!(out, "FAILED: {}", v.artifact)?;
                writeln!(
                    out,
                    "    FAILED  {}: {}",
                    v.failed_check.unwrap_or("?"),
                    v.error.as_deref().unwrap_or_default()
                )?;
            }
        }
        Ok(())
    })?;
    Ok(if verdict.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VERIFY_FAILED)
    })
}

fn decode_hex32(hex: &str) -> anyhow::Result<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("expected 64 hex digits");
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}
