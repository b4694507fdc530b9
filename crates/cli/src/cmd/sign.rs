//! `vouch sign IMAGE` and `vouch attest IMAGE`: sign an image digest (or attest a predicate
//! about it) and store the result in the registry the ways cosign does.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;
use vouch_oci::Location;
use vouch_sign::intoto::{PREDICATE_COSIGN_CUSTOM, predicate_type_for};
use vouch_sign::oci::{ImageTarget, SignatureFormat, Store, Stored};
use vouch_sign::{Limits, Signer as _};

use super::keys::load_signing_key;
use super::registry_options;
use super::verify::parse_annotations;
use crate::cli::Context;
use crate::output::emit;

const STORAGE_HELP: &str = "\
Storage (--signature-format):
  bundle  (default, as cosign 3) a Sigstore bundle v0.3 whose DSSE envelope holds an
          in-toto statement about the image digest, pushed as an OCI 1.1 referrer
          (artifactType application/vnd.dev.sigstore.bundle.v0.3+json). Registries
          without the referrers API (docker-registry 2.x) get the referrers tag-schema
          index at tag sha256-<hex>.
  legacy  cosign 2's tag scheme: a layer appended to the image at tag sha256-<hex>.sig
          (.att for attestations); read by cosign 2, sigstore-rs, policy-controller.
  both    both of the above.
Signing again appends; existing signatures are never dropped.

The image is always signed by DIGEST: a tag is resolved first and the digest printed.

Private keys (--key):
  PATH, file://PATH  cosign's encrypted key file (password from $VOUCH_PASSWORD or
                     $COSIGN_PASSWORD, else a prompt), or a plain PKCS#8 / SEC1 PEM
  env://NAME         the same PEM text in environment variable NAME

Exit codes: 0 signed and stored, 1 error";

/// `--signature-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// OCI 1.1 referrer holding a Sigstore bundle (cosign 3 default).
    Bundle,
    /// `sha256-<hex>.sig` / `.att` tag (cosign 2).
    Legacy,
    /// Both.
    Both,
}

impl From<FormatArg> for SignatureFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Bundle => Self::Bundle,
            FormatArg::Legacy => Self::Legacy,
            FormatArg::Both => Self::Both,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP)]
pub(crate) struct SignArgs {
    /// The image (registry reference; a tag is resolved to the digest that is signed).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Private key.
    #[arg(long, value_name = "KEY")]
    key: String,
    /// Where to store the signature.
    #[arg(long, value_enum, default_value_t = FormatArg::Bundle)]
    signature_format: FormatArg,
    /// KEY=VALUE claim to sign along (repeatable); `vouch verify -a` can require it.
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP)]
pub(crate) struct AttestArgs {
    /// The image (registry reference; a tag is resolved to the digest attested).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// The predicate: a JSON file (an SPDX or CycloneDX SBOM, SLSA provenance…). With
    /// --type custom, a non-JSON file is wrapped as {"Data": "<text>"}.
    #[arg(long, value_name = "FILE")]
    predicate: PathBuf,
    /// Predicate type: spdxjson, cyclonedx, slsaprovenance, slsaprovenance1, custom, vuln,
    /// openvex, link, or a URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    predicate_type: String,
    /// Private key.
    #[arg(long, value_name = "KEY")]
    key: String,
    /// Where to store the attestation.
    #[arg(long, value_enum, default_value_t = FormatArg::Bundle)]
    signature_format: FormatArg,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignReport {
    image: String,
    digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    predicate_type: Option<String>,
    key_id: String,
    stored: Vec<StoredJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredJson {
    scheme: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    manifest: String,
    count: usize,
    note: &'static str,
}

pub(crate) fn sign(args: &SignArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let annotations = parse_annotations(&args.annotations)?;
    let key = load_signing_key(&args.key)?;
    with_store(&args.image, ctx, None, &key, |store, target| {
        store.sign_image(target, &key, args.signature_format.into(), &annotations)
    })
}

pub(crate) fn attest(args: &AttestArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let predicate_type = predicate_type_for(&args.predicate_type)?;
    let text = std::fs::read(&args.predicate)
        .with_context(|| format!("reading {}", args.predicate.display()))?;
    let predicate: Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(_) if predicate_type == PREDICATE_COSIGN_CUSTOM => {
            serde_json::json!({"Data": String::from_utf8_lossy(&text)})
        }
        Err(e) => bail!(
            "{} is not JSON ({e}); only --type custom wraps other text",
            args.predicate.display()
        ),
    };
    let key = load_signing_key(&args.key)?;
    with_store(
        &args.image,
        ctx,
        Some(predicate_type.clone()),
        &key,
        |store, target| {
            store.attest_image(
                target,
                &key,
                args.signature_format.into(),
                &predicate_type,
                predicate,
            )
        },
    )
}

fn with_store(
    image: &str,
    ctx: &Context,
    predicate_type: Option<String>,
    key: &vouch_sign::SigningKey,
    write: impl FnOnce(&Store<'_>, &ImageTarget) -> vouch_sign::Result<Vec<Stored>>,
) -> anyhow::Result<ExitCode> {
    let Location::Registry(reference) = Location::parse(image)? else {
        bail!("{image}: signatures are stored in a registry; give a registry reference");
    };
    let options = registry_options(ctx)?;
    let location = Location::Registry(reference.clone());
    let (source, _) = vouch_oci::open_source(&location, &options)?;
    let (sink, _) = vouch_oci::open_sink(&location, &options)?;
    let target = ImageTarget::resolve(source.as_ref(), &reference)
        .with_context(|| format!("resolving {reference}"))?;
    if reference.digest().is_none() && !ctx.quiet {
        eprintln!(
            "vouch: {} resolves to {}; signing that digest, not the tag",
            reference, target.digest
        );
    }
    let store = Store {
        source: source.as_ref(),
        sink: sink.as_ref(),
        limits: Limits::default(),
    };
    let stored =
        write(&store, &target).with_context(|| format!("storing in {}", target.repository))?;
    let report = SignReport {
        image: image.to_owned(),
        digest: target.digest.to_string(),
        predicate_type,
        key_id: super::keys::hex_encode(&key.verifying_key().key_id()),
        stored: stored
            .iter()
            .map(|s| StoredJson {
                scheme: s.scheme.name(),
                tag: s.tag.clone(),
                manifest: s.manifest.to_string(),
                count: s.count,
                note: s.note,
            })
            .collect(),
    };
    emit(ctx.format, &report, |out, r| {
        let what = if r.predicate_type.is_some() {
            "Attested"
        } else {
            "Signed"
        };
        writeln!(out, "{what} {}", target.pinned())?;
        for s in &r.stored {
            let at = s
                .tag
                .as_deref()
                .map(|t| format!(" at tag {t}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}: manifest {}{at} ({}; {} stored)",
                s.scheme, s.manifest, s.note, s.count
            )?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
