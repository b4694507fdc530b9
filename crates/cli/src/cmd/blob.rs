//! `vouch sign-blob FILE` and `vouch verify-blob FILE|sha256:<hex>`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use vouch_sign::sign::sign_blob as sign_bytes;
use vouch_sign::{Artifact, BlobContent, Bundle, Limits};

use super::keys::load_signing_key;
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
    #[command(flatten)]
    keyless: super::sign::KeylessArgs,
    /// Where to write the Sigstore bundle (v0.3, `messageSignature`); `-` for stdout.
    #[arg(long, value_name = "OUT", default_value = "-")]
    bundle: PathBuf,
}

const SIGN_BLOB_HELP: &str = concat!(
    "\
Signs FILE's bytes (ECDSA-SHA256 for P-256/P-384 keys, Ed25519 over the bytes) and writes a
Sigstore bundle v0.3 with a messageSignature and the key's hint; cosign verify-blob
--bundle and vouch verify-blob read it.

Private keys (--key):
  PATH, file://PATH  a PEM file: cosign's ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY (password from
                     $VOUCH_PASSWORD or $COSIGN_PASSWORD, else a prompt on the terminal), or
                     a plain PKCS#8 `PRIVATE KEY` / SEC1 `EC PRIVATE KEY`
  env://NAME         the same PEM text in environment variable NAME
",
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
    #[arg(long, value_name = "IN")]
    bundle: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
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

pub(crate) fn sign_blob(args: &SignBlobArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let data =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
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
        let key = load_signing_key(key_ref)?;
        (
            sign_bytes(&data, &key)?.to_json(),
            super::sign::SignerJson::key(&key),
        )
    };
    let to_stdout = args.bundle.as_os_str() == "-";
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(&bundle)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::write(&args.bundle, &bundle)
        .with_context(|| format!("writing {}", args.bundle.display()))?;
    let report = Signed {
        file: args.file.display().to_string(),
        sha256: super::keys::hex_encode(&sha256(&data)),
        bundle: args.bundle.display().to_string(),
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
    let (verifier, policy) = args.policy.build()?;
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
    let bundle_json = std::fs::read(&args.bundle)
        .with_context(|| format!("reading {}", args.bundle.display()))?;
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
        Err(e) => match e.failed_check() {
            None => {
                return Err(anyhow::anyhow!("{e}")).context(format!("verifying {}", args.artifact));
            }
            Some(check) => BlobVerdict {
                artifact: args.artifact.clone(),
                verified: false,
                evidence: None,
                payload: None,
                failed_check: Some(check),
                error: Some(e.to_string()),
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
            Err(e) => {
                writeln!(out, "FAILED: {}", v.artifact)?;
                writeln!(out, "    FAILED  {}: {e}", v.failed_check.unwrap_or("?"))?;
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
