//! cosign's registry commands that vouch had no counterpart for: `tree`, `download
//! signature|attestation|sbom`, `attach signature|attestation|sbom`, `clean`, `public-key` and
//! `triangulate`, with cosign v3's spellings and output formats where scripts parse them
//! (`tree`'s text, `download`'s JSON lines). Each reads what `vouch_sign::oci` stores (cosign's
//! two storage schemes) and nothing here trusts what it reads: `download` and `tree` show
//! unverified material, as cosign's do; `vouch verify` decides.
//!
//! Sources: sigstore/cosign v3.1.3 `cmd/cosign/cli/tree.go`, `download/{signature,attestation,
//! sbom}.go`, `attach/{sig,attach,sbom}.go`, `clean.go`, `publickey/public_key.go`,
//! `triangulate/triangulate.go`, `pkg/cosign/fetch.go` (the JSON shapes).

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};
use vouch_oci::manifest::media;
use vouch_oci::{Digest, ImageSource as _, Location, RawManifest, Selector};
use vouch_sign::bundle::Content;
use vouch_sign::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use vouch_sign::intoto::{Statement, predicate_type_for};
use vouch_sign::oci::{
    ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_REKOR_BUNDLE, ANNOTATION_SIGNATURE,
    BUNDLE_MEDIA_TYPE_PREFIX, Candidate, DSSE_LAYER_MEDIA_TYPE, ImageTarget, Kind,
    SIMPLE_SIGNING_MEDIA_TYPE, Scheme, Store, discover_in, simple_signing_payload,
};
use vouch_sign::{Bundle, KeyRef, Limits};

use super::registry_options;
use super::sign::{OpenedImage, open_image};
use crate::cli::{Context, Format};
use crate::output::emit;

/// Layer annotation of an RFC 3161 timestamp (`sigstore/cosign:pkg/oci/static/options.go`).
const ANNOTATION_RFC3161: &str = "dev.sigstore.cosign/rfc3161timestamp";

// ---------------------------------------------------------------------------------- flags

/// `vouch tree IMAGE`.
#[derive(Debug, Args)]
#[command(after_help = "\
Lists, without verifying anything, what is stored about the image: the layers of its
sha256-<hex>.sig / .att / .sbom tags and its OCI 1.1 referrers (by the referrers API, or the
sha256-<hex> tag index where the registry has none), in cosign tree's layout:
  📦 Supply Chain Security Related artifacts for an image: REF
  └── 🔐 Signatures for an image tag: REPO:sha256-<hex>.sig
     └── 🍒 sha256:<layer digest>
  └── 🔗 <predicate type> artifacts via OCI referrer: REPO@sha256:<manifest digest>
     └── 🍒 sha256:<layer digest>
-o json prints the same as one document.

Examples:
  vouch tree registry.example/app:1.0
  vouch tree oci:./layout:1.0 -o json")]
pub(crate) struct TreeArgs {
    /// The image: a registry reference or oci:DIR[:TAG].
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Accepted for cosign scripts (cosign 3's default: referrers are always listed).
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true")]
    experimental_oci11: Option<bool>,
}

/// `vouch download …`.
#[derive(Debug, Subcommand)]
pub(crate) enum DownloadCommand {
    /// Print an image's signatures, one JSON document per line, unverified (cosign's format:
    /// every Sigstore bundle referrer as bundle JSON; without any, each sha256-<hex>.sig
    /// layer as {"Base64Signature","Payload","Cert","Chain","Bundle","RFC3161Timestamp"}).
    #[command(
        after_help = "Examples:\n  vouch download signature registry.example/app:1.0 | jq -r .Base64Signature"
    )]
    Signature(DownloadArgs),
    /// Print an image's attestations, one JSON document per line, unverified: bundle referrers
    /// as bundle JSON, then each sha256-<hex>.att layer as its DSSE envelope
    /// {"payloadType","payload","signatures":[{"keyid","sig"}]}.
    #[command(
        after_help = "Examples:\n  vouch download attestation registry.example/app:1.0 --predicate-type spdxjson \\\n      | jq -r .payload | base64 -d | jq .predicate"
    )]
    Attestation(DownloadAttestationArgs),
    /// Print the SBOM attached at the image's sha256-<hex>.sbom tag (`vouch attach sbom`,
    /// cosign's deprecated scheme), as stored; its media type goes to stderr. Unsigned: prefer
    /// `vouch attest --type spdxjson` and `vouch verify-attestation`.
    Sbom(DownloadArgs),
}

/// The image of a `download` command.
#[derive(Debug, Args)]
pub(crate) struct DownloadArgs {
    /// The image: a registry reference or oci:DIR[:TAG].
    #[arg(value_name = "IMAGE")]
    image: String,
}

/// `vouch download attestation`.
#[derive(Debug, Args)]
pub(crate) struct DownloadAttestationArgs {
    /// The image: a registry reference or oci:DIR[:TAG].
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Only attestations of this predicate type (spdxjson, cyclonedx, slsaprovenance1,
    /// custom, vuln, openvex… or a URI); none found is an error.
    #[arg(long, value_name = "TYPE")]
    predicate_type: Option<String>,
}

/// `vouch attach …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AttachCommand {
    /// Store a signature made elsewhere: a layer of the image's sha256-<hex>.sig tag (the
    /// payload, its base64 signature, and the certificate, chain, Rekor bundle and RFC 3161
    /// timestamp when given), or, when --payload is a Sigstore bundle with a DSSE envelope,
    /// an OCI 1.1 referrer. Nothing is verified: run `vouch verify` afterwards.
    #[command(after_help = "\
The payload signed is the simple-signing JSON cosign signs (`vouch sign --signature-format
legacy` writes the same); without --payload vouch writes it for the image digest.

Examples:
  vouch sign-blob payload.json --key cosign.key --output-signature payload.sig --bundle /dev/null
  vouch attach signature registry.example/app@sha256:<hex> --payload payload.json \\
      --signature payload.sig
  vouch attach signature registry.example/app@sha256:<hex> --payload bundle.sigstore.json")]
    Signature(AttachSignatureArgs),
    /// Store DSSE envelopes (or Sigstore bundles with one) made elsewhere as attestations:
    /// envelopes as layers of the sha256-<hex>.att tag, bundles as OCI 1.1 referrers.
    /// Nothing is verified: run `vouch verify-attestation` afterwards.
    #[command(
        after_help = "Examples:\n  vouch attach attestation registry.example/app@sha256:<hex> --attestation envelope.json"
    )]
    Attestation(AttachAttestationArgs),
    /// Store an SBOM file, unsigned, at the image's sha256-<hex>.sbom tag (cosign's deprecated
    /// scheme, replacing what is there). Prefer `vouch attest --type spdxjson`.
    Sbom(AttachSbomArgs),
}

/// `vouch attach signature`.
#[derive(Debug, Args)]
pub(crate) struct AttachSignatureArgs {
    /// The image (a tag is resolved to its digest).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// The signed payload: simple-signing JSON, or a Sigstore bundle (then nothing else is
    /// needed). Default: the simple-signing payload of the image digest.
    #[arg(long, value_name = "FILE")]
    payload: Option<PathBuf>,
    /// File holding the base64 signature over the payload (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    signature: Option<String>,
    /// PEM signing certificate to store with the signature.
    #[arg(long, value_name = "FILE")]
    certificate: Option<PathBuf>,
    /// PEM chain (intermediates, root) of --certificate.
    #[arg(long, value_name = "FILE", requires = "certificate")]
    certificate_chain: Option<PathBuf>,
    /// cosign's local signed payload JSON whose `rekorBundle` is stored with the signature.
    #[arg(long = "rekor-response", alias = "bundle", value_name = "FILE")]
    rekor_response: Option<PathBuf>,
    /// DER RFC 3161 timestamp response over the signature, stored with it.
    #[arg(long, value_name = "FILE")]
    tsr: Option<PathBuf>,
}

/// `vouch attach attestation`.
#[derive(Debug, Args)]
pub(crate) struct AttachAttestationArgs {
    /// The image (a tag is resolved to its digest).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// A file of DSSE envelope JSON (one or more, in-toto payload, signed) or a Sigstore
    /// bundle holding one (repeatable).
    #[arg(long, value_name = "FILE", required = true)]
    attestation: Vec<PathBuf>,
}

/// `--type` of `attach sbom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SbomType {
    /// SPDX (`text/spdx`, or `text/spdx+json` for JSON).
    Spdx,
    /// CycloneDX (`application/vnd.cyclonedx+xml` or `+json`).
    Cyclonedx,
    /// syft's JSON (`application/vnd.syft+json`).
    Syft,
}

/// `--input-format` of `attach sbom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SbomInputFormat {
    /// JSON.
    Json,
    /// XML (CycloneDX).
    Xml,
    /// Text (SPDX tag-value).
    Text,
}

/// `vouch attach sbom`.
#[derive(Debug, Args)]
pub(crate) struct AttachSbomArgs {
    /// The image (a tag is resolved to its digest).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// The SBOM file.
    #[arg(long, value_name = "FILE")]
    sbom: PathBuf,
    /// What the SBOM is (sets the layer media type).
    #[arg(long = "type", value_enum, default_value_t = SbomType::Spdx)]
    sbom_type: SbomType,
    /// Its encoding (default: JSON when the file starts with `{`).
    #[arg(long, value_enum)]
    input_format: Option<SbomInputFormat>,
}

/// `--type` of `clean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CleanType {
    /// The sha256-<hex>.sig tag.
    Signature,
    /// The sha256-<hex>.att tag.
    Attestation,
    /// The sha256-<hex>.sbom tag.
    Sbom,
    /// Sigstore bundle referrers and the sha256-<hex> referrers tag index.
    Referrer,
    /// All of the above.
    All,
}

/// `vouch clean IMAGE`.
#[derive(Debug, Args)]
#[command(after_help = "\
Deletes, by digest (DELETE /v2/<name>/manifests/<digest>; the registry must allow deletes),
the image's sha256-<hex>.sig, .att and .sbom tags, its Sigstore bundle referrers and the
sha256-<hex> referrers tag index. Each removal is reported on stderr. Without --force it asks
on the terminal, and refuses when there is none.

Examples:
  vouch clean registry.example/app:1.0 --force
  vouch clean registry.example/app:1.0 --type signature -f")]
pub(crate) struct CleanArgs {
    /// The image (a registry reference; a tag is resolved to its digest).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// What to remove.
    #[arg(long = "type", value_enum, default_value_t = CleanType::All)]
    clean_type: CleanType,
    /// Do not ask for confirmation (as --yes).
    #[arg(short = 'f', long)]
    force: bool,
}

/// `vouch public-key`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  vouch public-key --key cosign.key > cosign.pub
  vouch public-key --key 'pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so' \\
      --outfile release.pub")]
pub(crate) struct PublicKeyArgs {
    /// The private key: a key file (cosign's encrypted format or PEM), env://NAME, or a
    /// pkcs11: URI (its public key object is read; no PIN needed).
    #[arg(long, value_name = "KEY")]
    key: String,
    /// Write the PEM here instead of stdout.
    #[arg(long, value_name = "FILE")]
    outfile: Option<PathBuf>,
}

/// `--type` of `triangulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TriangulateType {
    /// The sha256-<hex>.sig tag.
    Signature,
    /// The sha256-<hex>.att tag.
    Attestation,
    /// The sha256-<hex>.sbom tag.
    Sbom,
    /// The image by digest.
    Digest,
}

/// `vouch triangulate IMAGE`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints where cosign's tag scheme stores the image's signatures (or --type attestation, sbom,
digest), e.g. registry.example/app:sha256-<hex>.sig. Bundle referrers have no such name: see
`vouch tree`.")]
pub(crate) struct TriangulateArgs {
    /// The image (a tag is resolved to its digest).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Which attachment.
    #[arg(long = "type", value_enum, default_value_t = TriangulateType::Signature)]
    attachment: TriangulateType,
}

// ------------------------------------------------------------------------------- commands

/// `registry/repo` (or `oci:DIR`): what tags and digests are appended to in messages.
fn repository_name(location: &Location) -> String {
    match location {
        Location::Registry(r) => r.name(),
        Location::Layout { path, .. } => format!("oci:{}", path.display()),
        other => other.to_string(),
    }
}

/// The reference as cosign prints it (`name.Reference.String()`): `repo:tag` or `repo@digest`.
fn reference_text(location: &Location) -> String {
    match location {
        Location::Registry(r) => r.to_string(),
        other => other.to_string(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TreeReport {
    image: String,
    digest: String,
    tags: Vec<TreeTag>,
    referrers: Vec<TreeReferrer>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TreeTag {
    kind: &'static str,
    tag: String,
    layers: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TreeReferrer {
    artifact_type: String,
    manifest: String,
    layers: Vec<String>,
}

/// Layer digests of a manifest.
fn layer_digests(bytes: &[u8], what: &str) -> anyhow::Result<Vec<String>> {
    let manifest: Value =
        serde_json::from_slice(bytes).with_context(|| format!("{what} is not JSON"))?;
    Ok(manifest["layers"]
        .as_array()
        .map(|layers| {
            layers
                .iter()
                .filter_map(|l| l["digest"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// The manifest at `tag`, or `None` when there is none.
fn manifest_at(
    source: &dyn vouch_oci::ImageSource,
    tag: &str,
) -> anyhow::Result<Option<RawManifest>> {
    match source.manifest(&Selector::Tag(tag.to_owned())) {
        Ok(raw) => Ok(Some(raw)),
        Err(vouch_oci::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading tag {tag}")),
    }
}

/// `vouch tree`.
pub(crate) fn tree(args: &TreeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let OpenedImage {
        source,
        location,
        target,
        ..
    } = open_image(&args.image, ctx, None)?;
    let name = repository_name(&location);
    let mut tags = Vec::new();
    // cosign's kinds, with the words its tree prints for them.
    for (kind, suffix) in [
        ("signatures", "sig"),
        ("attestations", "att"),
        ("sboms", "sbom"),
    ] {
        let tag = format!("{}.{suffix}", target.digest.tag_form());
        if let Some(raw) = manifest_at(source.as_ref(), &tag)? {
            let layers = layer_digests(&raw.bytes, &tag)?;
            if !layers.is_empty() {
                tags.push(TreeTag { kind, tag, layers });
            }
        }
    }
    let mut referrers = Vec::new();
    for descriptor in source
        .referrers(&target.digest, None)
        .with_context(|| format!("listing the referrers of {}", target.pinned()))?
    {
        let Some(artifact_type) = descriptor.artifact_type().as_ref().map(ToString::to_string)
        else {
            continue;
        };
        let manifest: Digest = descriptor.digest().to_string().parse()?;
        let raw = match source.manifest(&Selector::Digest(manifest.clone())) {
            Ok(raw) => raw,
            Err(e) => {
                // cosign too reports an unreadable referrer and goes on.
                eprintln!("vouch: cannot read referrer {name}@{manifest}: {e}");
                continue;
            }
        };
        let value: Value = serde_json::from_slice(&raw.bytes).unwrap_or(Value::Null);
        // cosign shows a bundle's predicate type instead of the artifact type.
        let artifact_type = value["annotations"][vouch_sign::oci::ANNOTATION_BUNDLE_PREDICATE_TYPE]
            .as_str()
            .map_or(artifact_type, str::to_owned);
        referrers.push(TreeReferrer {
            artifact_type,
            manifest: manifest.to_string(),
            layers: layer_digests(&raw.bytes, "referrer manifest")?,
        });
    }
    let report = TreeReport {
        image: reference_text(&location),
        digest: target.digest.to_string(),
        tags,
        referrers,
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(
            out,
            "📦 Supply Chain Security Related artifacts for an image: {}",
            r.image
        )?;
        if r.tags.is_empty() && r.referrers.is_empty() {
            writeln!(
                out,
                "No Supply Chain Security Related Artifacts found for image {},\n start creating one with simply running$ vouch sign <img>",
                r.image
            )?;
            return Ok(());
        }
        for t in &r.tags {
            let what = match t.kind {
                "signatures" => "🔐 Signatures",
                "attestations" => "💾 Attestations",
                _ => "📦 SBOMs",
            };
            writeln!(out, "└── {what} for an image tag: {name}:{}", t.tag)?;
            write_layers(out, &t.layers)?;
        }
        for referrer in &r.referrers {
            writeln!(
                out,
                "└── 🔗 {} artifacts via OCI referrer: {name}@{}",
                referrer.artifact_type, referrer.manifest
            )?;
            write_layers(out, &referrer.layers)?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn write_layers(out: &mut dyn std::io::Write, layers: &[String]) -> std::io::Result<()> {
    for (i, layer) in layers.iter().enumerate() {
        let sym = if i + 1 == layers.len() {
            "   └──"
        } else {
            "   ├──"
        };
        writeln!(out, "{sym} 🍒 {layer}")?;
    }
    Ok(())
}

/// JSON text without insignificant whitespace, keys kept in their order: cosign prints each
/// bundle with Go's `json.Marshal`, which compacts what the bundle's `MarshalJSON` returns.
fn compact_json(bytes: &[u8]) -> anyhow::Result<String> {
    let text = std::str::from_utf8(bytes).context("bundle is not UTF-8")?;
    // Parse once to refuse what is not JSON at all.
    serde_json::from_str::<serde::de::IgnoredAny>(text).context("bundle is not JSON")?;
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    Ok(out)
}

/// Every Sigstore bundle referrer of `target` (signatures and attestations), as cosign's
/// `GetBundles` lists them; unreadable ones are reported and skipped as cosign skips them.
fn bundle_referrers(opened: &OpenedImage, limits: &Limits) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for kind in [Kind::Signatures, Kind::Attestations] {
        let (found, _) = discover_in(
            opened.source.as_ref(),
            &opened.target.digest,
            kind,
            Some(Scheme::Referrer),
            limits,
        )?;
        for candidate in found {
            match candidate {
                Candidate::Referrer { bundle, .. } => out.push(bundle),
                Candidate::Unreadable {
                    location, reason, ..
                } => eprintln!("vouch: skipping {location}: {reason}"),
                Candidate::Legacy { .. } => {}
            }
        }
    }
    Ok(out)
}

/// The layers of the legacy tag of `kind`.
fn legacy_layers(
    opened: &OpenedImage,
    kind: Kind,
    limits: &Limits,
) -> anyhow::Result<Vec<Candidate>> {
    let (found, _) = discover_in(
        opened.source.as_ref(),
        &opened.target.digest,
        kind,
        Some(Scheme::LegacyTag),
        limits,
    )?;
    Ok(found)
}

/// cosign's `SignedPayload` (`pkg/cosign/fetch.go`) as Go's `encoding/json` writes it: fields
/// in declaration order, `[]byte` as base64, absent pointers as `null`.
#[derive(Serialize)]
struct SignedPayload {
    #[serde(rename = "Base64Signature")]
    base64_signature: String,
    #[serde(rename = "Payload")]
    payload: String,
    /// Go marshals the whole `x509.Certificate`; vouch writes its first field, `Raw` (the DER,
    /// base64), which is what scripts read.
    #[serde(rename = "Cert")]
    cert: Option<RawCert>,
    #[serde(rename = "Chain")]
    chain: Option<Vec<RawCert>>,
    #[serde(rename = "Bundle")]
    bundle: Option<RekorBundle>,
    #[serde(rename = "RFC3161Timestamp")]
    rfc3161_timestamp: Option<Rfc3161Timestamp>,
}

#[derive(Serialize)]
struct RawCert {
    #[serde(rename = "Raw")]
    raw: String,
}

/// `pkg/cosign/bundle.RekorBundle`.
#[derive(Serialize, serde::Deserialize)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Serialize, serde::Deserialize)]
struct RekorPayload {
    body: Value,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// `pkg/cosign/bundle.RFC3161Timestamp`.
#[derive(Serialize, serde::Deserialize)]
struct Rfc3161Timestamp {
    #[serde(rename = "SignedRFC3161Timestamp")]
    signed_rfc3161_timestamp: String,
}

/// DER certificates of PEM text, each as `{"Raw": base64}`.
fn pem_certs(pem_text: &str) -> anyhow::Result<Vec<RawCert>> {
    Ok(pem_chain_der(pem_text)?
        .iter()
        .map(|der| RawCert {
            raw: B64.encode(der),
        })
        .collect())
}

/// The DER certificates of concatenated PEM `CERTIFICATE` blocks (cosign's `--certificate`,
/// `--certificate-chain`, `--ca-roots` files), in file order.
pub(crate) fn pem_chain_der(pem_text: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    use der::Encode as _;
    let certs = x509_cert::Certificate::load_pem_chain(pem_text.trim().as_bytes())
        .map_err(|e| anyhow::anyhow!("not PEM certificates: {e}"))?;
    certs
        .iter()
        .map(|c| {
            c.to_der()
                .map_err(|e| anyhow::anyhow!("re-encoding a certificate: {e}"))
        })
        .collect()
}

fn signed_payload(
    payload: &[u8],
    annotations: &BTreeMap<String, String>,
) -> anyhow::Result<SignedPayload> {
    let cert = match annotations.get(ANNOTATION_CERTIFICATE) {
        Some(pem) if !pem.is_empty() => pem_certs(pem)?.into_iter().next(),
        _ => None,
    };
    let chain = match annotations.get(ANNOTATION_CHAIN) {
        Some(pem) if !pem.is_empty() => Some(pem_certs(pem)?),
        _ => None,
    };
    let bundle = match annotations.get(ANNOTATION_REKOR_BUNDLE) {
        Some(text) => Some(
            serde_json::from_str(text)
                .context("the layer's Rekor bundle annotation is malformed")?,
        ),
        None => None,
    };
    let rfc3161_timestamp = match annotations.get(ANNOTATION_RFC3161) {
        Some(text) => Some(
            serde_json::from_str(text)
                .context("the layer's RFC 3161 timestamp annotation is malformed")?,
        ),
        None => None,
    };
    Ok(SignedPayload {
        base64_signature: annotations
            .get(ANNOTATION_SIGNATURE)
            .cloned()
            .unwrap_or_default(),
        payload: B64.encode(payload),
        cert,
        chain,
        bundle,
        rfc3161_timestamp,
    })
}

/// A DSSE envelope as go-securesystemslib's `dsse.Envelope` marshals.
#[derive(Serialize)]
struct GoEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<GoSignature>,
}

#[derive(Serialize)]
struct GoSignature {
    keyid: String,
    sig: String,
}

impl From<&Envelope> for GoEnvelope {
    fn from(e: &Envelope) -> Self {
        Self {
            payload_type: e.payload_type.clone(),
            payload: B64.encode(&e.payload),
            signatures: e
                .signatures
                .iter()
                .map(|s| GoSignature {
                    keyid: s.keyid.clone(),
                    sig: B64.encode(&s.sig),
                })
                .collect(),
        }
    }
}

/// Writes one JSON document per line; `-o json` is the same (the format is already JSON).
fn write_lines(lines: &[String]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// `vouch download …`.
pub(crate) fn download(command: &DownloadCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    match command {
        DownloadCommand::Signature(args) => {
            let opened = open_image(&args.image, ctx, None)?;
            // cosign: bundles first, and only them when there are any.
            let bundles = bundle_referrers(&opened, &limits)?;
            let lines = if bundles.is_empty() {
                let mut lines = Vec::new();
                for candidate in legacy_layers(&opened, Kind::Signatures, &limits)? {
                    match candidate {
                        Candidate::Legacy {
                            payload,
                            annotations,
                            ..
                        } => lines.push(serde_json::to_string(&signed_payload(
                            &payload,
                            &annotations,
                        )?)?),
                        Candidate::Unreadable {
                            location, reason, ..
                        } => {
                            bail!("reading {location}: {reason}")
                        }
                        Candidate::Referrer { .. } => {}
                    }
                }
                lines
            } else {
                bundles
                    .iter()
                    .map(|b| compact_json(b))
                    .collect::<anyhow::Result<_>>()?
            };
            if lines.is_empty() {
                bail!(
                    "no signatures associated with {} (tag {}.sig and referrers)",
                    opened.target.pinned(),
                    opened.target.digest.tag_form()
                );
            }
            write_lines(&lines)?;
        }
        DownloadCommand::Attestation(args) => {
            let wanted = args
                .predicate_type
                .as_deref()
                .map(predicate_type_for)
                .transpose()?;
            let opened = open_image(&args.image, ctx, None)?;
            let mut lines = Vec::new();
            for bundle in bundle_referrers(&opened, &limits)? {
                if let Some(wanted) = &wanted {
                    // cosign filters on the statement's predicate type, unverified.
                    let Ok(parsed) = Bundle::from_json(&bundle, &limits) else {
                        continue;
                    };
                    let Content::DsseEnvelope(envelope) = &parsed.content else {
                        continue;
                    };
                    match Statement::from_json(&envelope.payload) {
                        Ok(s) if &s.predicate_type == wanted => {}
                        _ => continue,
                    }
                }
                lines.push(compact_json(&bundle)?);
            }
            for candidate in legacy_layers(&opened, Kind::Attestations, &limits)? {
                let payload = match candidate {
                    Candidate::Legacy { payload, .. } => payload,
                    Candidate::Unreadable {
                        location, reason, ..
                    } => {
                        bail!("reading {location}: {reason}")
                    }
                    Candidate::Referrer { .. } => continue,
                };
                let envelope = Envelope::from_json(&payload)
                    .context("an attestation layer is not a DSSE envelope")?;
                if let Some(wanted) = &wanted {
                    match Statement::from_json(&envelope.payload) {
                        Ok(s) if &s.predicate_type == wanted => {}
                        _ => continue,
                    }
                }
                lines.push(serde_json::to_string(&GoEnvelope::from(&envelope))?);
            }
            if let (Some(wanted), true) = (&wanted, lines.is_empty()) {
                bail!("no attestations with predicate type '{wanted}' found");
            }
            write_lines(&lines)?;
        }
        DownloadCommand::Sbom(args) => {
            let opened = open_image(&args.image, ctx, None)?;
            let tag = format!("{}.sbom", opened.target.digest.tag_form());
            let Some(raw) = manifest_at(opened.source.as_ref(), &tag)? else {
                bail!("no sbom attached to {} (tag {tag})", opened.target.pinned());
            };
            let manifest: Value = serde_json::from_slice(&raw.bytes)
                .with_context(|| format!("tag {tag} is not a JSON manifest"))?;
            let layer = &manifest["layers"][0];
            let size = layer["size"]
                .as_u64()
                .context("the SBOM layer has no size")?;
            if size > limits.max_payload_bytes {
                bail!(
                    "the SBOM layer is {size} bytes, more than the {} allowed",
                    limits.max_payload_bytes
                );
            }
            let digest: Digest = layer["digest"]
                .as_str()
                .context("the SBOM layer has no digest")?
                .parse()?;
            let sbom = vouch_oci::read_blob(opened.source.as_ref(), &digest, size)?;
            if !ctx.quiet {
                eprintln!(
                    "Found SBOM of media type: {}",
                    layer["mediaType"].as_str().unwrap_or("?")
                );
            }
            let mut out = std::io::stdout().lock();
            out.write_all(&sbom)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachReport {
    image: String,
    digest: String,
    stored: Vec<StoredJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredJson {
    scheme: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    manifest: String,
    note: &'static str,
}

impl From<&vouch_sign::oci::Stored> for StoredJson {
    fn from(s: &vouch_sign::oci::Stored) -> Self {
        Self {
            scheme: s.scheme.name(),
            tag: s.tag.clone(),
            manifest: s.manifest.to_string(),
            note: s.note,
        }
    }
}

/// Opens `image` for writing what is attached to it.
fn with_store<T>(
    image: &str,
    ctx: &Context,
    write: impl FnOnce(&Store<'_>, &ImageTarget) -> anyhow::Result<T>,
) -> anyhow::Result<(ImageTarget, T)> {
    let opened = open_image(image, ctx, None)?;
    let options = registry_options(ctx)?;
    let (sink, _) = vouch_oci::open_sink(&opened.location, &options)?;
    if !opened.by_digest && !ctx.quiet {
        eprintln!(
            "vouch: {} resolves to {}; attaching to that digest, not the tag",
            opened.location, opened.target.digest
        );
    }
    let store = Store {
        source: opened.source.as_ref(),
        sink: sink.as_ref(),
        limits: Limits::default(),
    };
    let out =
        write(&store, &opened.target).with_context(|| format!("storing in {}", opened.location))?;
    Ok((opened.target, out))
}

fn report_attached(
    image: &str,
    target: &ImageTarget,
    stored: &[vouch_sign::oci::Stored],
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let report = AttachReport {
        image: image.to_owned(),
        digest: target.digest.to_string(),
        stored: stored.iter().map(StoredJson::from).collect(),
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "Attached to {}", target.pinned())?;
        for s in &r.stored {
            let at = s
                .tag
                .as_deref()
                .map(|t| format!(" at tag {t}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}: manifest {}{at} ({})",
                s.scheme, s.manifest, s.note
            )?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A bundle whose content is a DSSE envelope with an in-toto statement: the predicate type.
fn bundle_predicate_type(bundle: &Bundle, path: &std::path::Path) -> anyhow::Result<String> {
    let Content::DsseEnvelope(envelope) = &bundle.content else {
        bail!(
            "{}: the bundle holds a message signature, not a DSSE envelope; only bundles of \
             images (DSSE) can be attached",
            path.display()
        );
    };
    let statement = Statement::from_json(&envelope.payload).with_context(|| {
        format!(
            "{}: the envelope's payload is not an in-toto statement",
            path.display()
        )
    })?;
    Ok(statement.predicate_type)
}

/// No key is at hand to tell a stored signature equal to this one (cosign's `attach` appends
/// without duplicate detection, `pkg/oci/mutate.AttachSignatureToEntity`): a fresh key that
/// verifies nothing makes `append_legacy_layer` append, unless the layer is byte-identical
/// including an empty signature annotation (attestations), which is then kept once.
fn no_duplicate_key() -> anyhow::Result<vouch_sign::VerifyingKey> {
    Ok(vouch_sign::SigningKey::generate(vouch_sign::KeyAlgorithm::EcdsaP256)?.public_key())
}

/// `vouch attach …`.
pub(crate) fn attach(command: &AttachCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    match command {
        AttachCommand::Signature(args) => {
            let payload_file = args
                .payload
                .as_ref()
                .map(|p| {
                    std::fs::read(p).with_context(|| format!("reading --payload {}", p.display()))
                })
                .transpose()?;
            // A Sigstore bundle as --payload is stored as a referrer (cosign 3 does the same).
            if let (Some(path), Some(bytes)) = (&args.payload, &payload_file)
                && let Ok(bundle) = Bundle::from_json(bytes, &limits)
            {
                if args.signature.is_some() || args.certificate.is_some() {
                    bail!(
                        "--payload is a Sigstore bundle: it carries its own signature and certificate"
                    );
                }
                let predicate_type = bundle_predicate_type(&bundle, path)?;
                let (target, stored) = with_store(&args.image, ctx, |store, target| {
                    Ok(store.push_bundle_referrer(target, &bundle, &predicate_type)?)
                })?;
                return report_attached(&args.image, &target, &[stored], ctx);
            }
            let Some(signature_ref) = &args.signature else {
                bail!("--signature FILE is required (unless --payload is a Sigstore bundle)");
            };
            let signature = if signature_ref == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the signature from stdin")?;
                text
            } else {
                std::fs::read_to_string(signature_ref)
                    .with_context(|| format!("reading --signature {signature_ref}"))?
            };
            let signature = signature.trim().to_owned();
            if signature.is_empty() {
                bail!("--signature {signature_ref}: empty signature");
            }
            B64.decode(&signature).with_context(|| {
                format!("--signature {signature_ref}: not a base64 signature (as `vouch sign-blob --output-signature` writes)")
            })?;
            let mut annotations = BTreeMap::from([(ANNOTATION_SIGNATURE.to_owned(), signature)]);
            let mut key = None;
            if let Some(path) = &args.certificate {
                let pem_text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading --certificate {}", path.display()))?;
                let der = pem_chain_der(&pem_text)
                    .ok()
                    .and_then(|certs| certs.into_iter().next())
                    .with_context(|| {
                        format!("--certificate {}: not a PEM certificate", path.display())
                    })?;
                key = Some(
                    vouch_sign::certificate_public_key(&der)
                        .with_context(|| format!("--certificate {}", path.display()))?,
                );
                let chain = match &args.certificate_chain {
                    Some(p) => {
                        let text = std::fs::read_to_string(p).with_context(|| {
                            format!("reading --certificate-chain {}", p.display())
                        })?;
                        if pem_certs(&text)?.is_empty() {
                            bail!("--certificate-chain {}: no PEM certificate", p.display());
                        }
                        text
                    }
                    None => String::new(),
                };
                annotations.insert(ANNOTATION_CERTIFICATE.to_owned(), pem_text);
                annotations.insert(ANNOTATION_CHAIN.to_owned(), chain);
            }
            if let Some(path) = &args.rekor_response {
                #[derive(serde::Deserialize)]
                struct LocalSignedPayload {
                    #[serde(rename = "rekorBundle")]
                    rekor_bundle: Option<RekorBundle>,
                }
                let text = std::fs::read(path)
                    .with_context(|| format!("reading --rekor-response {}", path.display()))?;
                let local: LocalSignedPayload =
                    serde_json::from_slice(&text).with_context(|| {
                        format!(
                            "--rekor-response {}: not cosign's signed payload JSON",
                            path.display()
                        )
                    })?;
                let bundle = local.rekor_bundle.with_context(|| {
                    format!("--rekor-response {}: no rekorBundle", path.display())
                })?;
                annotations.insert(
                    ANNOTATION_REKOR_BUNDLE.to_owned(),
                    serde_json::to_string(&bundle)?,
                );
            }
            if let Some(path) = &args.tsr {
                let der = std::fs::read(path)
                    .with_context(|| format!("reading --tsr {}", path.display()))?;
                annotations.insert(
                    ANNOTATION_RFC3161.to_owned(),
                    serde_json::to_string(&Rfc3161Timestamp {
                        signed_rfc3161_timestamp: B64.encode(der),
                    })?,
                );
            }
            let key = match key {
                Some(k) => k,
                None => no_duplicate_key()?,
            };
            let (target, stored) = with_store(&args.image, ctx, |store, target| {
                let payload = payload_file
                    .clone()
                    .unwrap_or_else(|| simple_signing_payload(target, &BTreeMap::new()));
                Ok(store.append_legacy_layer(
                    target,
                    Kind::Signatures,
                    SIMPLE_SIGNING_MEDIA_TYPE,
                    payload,
                    annotations,
                    &key,
                )?)
            })?;
            report_attached(&args.image, &target, &[stored], ctx)
        }
        AttachCommand::Attestation(args) => {
            enum Item {
                Bundle(Box<Bundle>, String),
                Envelope(Vec<u8>),
            }
            let mut items = Vec::new();
            for path in &args.attestation {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("reading --attestation {}", path.display()))?;
                if let Ok(bundle) = Bundle::from_json(&bytes, &limits) {
                    let predicate_type = bundle_predicate_type(&bundle, path)?;
                    items.push(Item::Bundle(Box::new(bundle), predicate_type));
                    continue;
                }
                // One or more envelopes, one after another (cosign decodes a JSON stream).
                for (i, value) in serde_json::Deserializer::from_slice(&bytes)
                    .into_iter::<Value>()
                    .enumerate()
                {
                    let what = format!("--attestation {} (document {})", path.display(), i + 1);
                    let value = value.with_context(|| format!("{what}: not JSON"))?;
                    let envelope = Envelope::from_json(&serde_json::to_vec(&value)?)
                        .with_context(|| format!("{what}: not a DSSE envelope"))?;
                    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
                        bail!(
                            "{what}: invalid payloadType {} on envelope. Expected {IN_TOTO_PAYLOAD_TYPE}",
                            envelope.payload_type
                        );
                    }
                    if envelope.signatures.is_empty() {
                        bail!("{what}: could not attach attestation without having signatures");
                    }
                    items.push(Item::Envelope(serde_json::to_vec(&GoEnvelope::from(
                        &envelope,
                    ))?));
                }
            }
            let key = no_duplicate_key()?;
            let (target, stored) = with_store(&args.image, ctx, |store, target| {
                let mut stored = Vec::new();
                for item in items {
                    stored.push(match item {
                        Item::Bundle(bundle, predicate_type) => {
                            store.push_bundle_referrer(target, &bundle, &predicate_type)?
                        }
                        Item::Envelope(blob) => store.append_legacy_layer(
                            target,
                            Kind::Attestations,
                            DSSE_LAYER_MEDIA_TYPE,
                            blob,
                            BTreeMap::from([(ANNOTATION_SIGNATURE.to_owned(), String::new())]),
                            &key,
                        )?,
                    });
                }
                Ok(stored)
            })?;
            report_attached(&args.image, &target, &stored, ctx)
        }
        AttachCommand::Sbom(args) => attach_sbom(args, ctx),
    }
}

/// cosign's SBOM media types (`pkg/types/media.go`, `options.AttachSBOMOptions.MediaType`).
fn sbom_media_type(args: &AttachSbomArgs, sbom: &[u8]) -> anyhow::Result<&'static str> {
    let looks_like_json = sbom
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let json = match args.input_format {
        Some(SbomInputFormat::Json) => true,
        Some(_) => false,
        None => looks_like_json,
    };
    Ok(match (args.sbom_type, args.input_format) {
        (SbomType::Cyclonedx, Some(SbomInputFormat::Text)) => {
            bail!("--input-format text is not a CycloneDX encoding (json or xml)")
        }
        (SbomType::Cyclonedx, _) if json => "application/vnd.cyclonedx+json",
        (SbomType::Cyclonedx, _) => "application/vnd.cyclonedx+xml",
        (SbomType::Spdx, Some(SbomInputFormat::Xml)) => {
            bail!("--input-format xml is not an SPDX encoding (json or text)")
        }
        (SbomType::Spdx, _) if json => "text/spdx+json",
        (SbomType::Spdx, _) => "text/spdx",
        (SbomType::Syft, None | Some(SbomInputFormat::Json)) => "application/vnd.syft+json",
        (SbomType::Syft, _) => bail!("syft SBOMs are JSON (--input-format json)"),
    })
}

fn attach_sbom(args: &AttachSbomArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let sbom = std::fs::read(&args.sbom)
        .with_context(|| format!("reading --sbom {}", args.sbom.display()))?;
    let media_type = sbom_media_type(args, &sbom)?;
    let opened = open_image(&args.image, ctx, None)?;
    let options = registry_options(ctx)?;
    let (sink, _) = vouch_oci::open_sink(&opened.location, &options)?;
    let tag = format!("{}.sbom", opened.target.digest.tag_form());
    let put = |blob: &[u8]| -> anyhow::Result<Digest> {
        let digest = Digest::sha256(blob);
        if !sink.has_blob(&digest)? {
            sink.put_blob(&digest, blob.len() as u64, &mut &blob[..])?;
        }
        Ok(digest)
    };
    let layer = put(&sbom)?;
    // go-containerregistry's config for a one-layer image (`static.NewFile`); readers ignore it.
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.to_string()]},
    }))?;
    let config_digest = put(&config)?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": {
            "mediaType": media::OCI_CONFIG,
            "size": config.len(),
            "digest": config_digest.to_string(),
        },
        "layers": [{
            "mediaType": media_type,
            "size": sbom.len(),
            "digest": layer.to_string(),
        }],
    }))?;
    let raw = RawManifest::new(manifest, Some(media::OCI_MANIFEST), None, &tag)?;
    sink.put_manifest(&raw, Some(&tag))
        .with_context(|| format!("pushing tag {tag}"))?;
    let stored = vouch_sign::oci::Stored {
        scheme: Scheme::LegacyTag,
        tag: Some(tag),
        manifest: raw.digest,
        count: 1,
        note: media_type,
    };
    report_attached(&args.image, &opened.target, &[stored], ctx)
}

/// `vouch clean`.
pub(crate) fn clean(args: &CleanArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let Location::Registry(reference) = Location::parse(&args.image)? else {
        bail!(
            "{}: clean deletes from a registry; give a registry reference",
            args.image
        );
    };
    if !args.force && !ctx.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "clean deletes signatures: confirm with --force or --yes (no terminal to ask on)"
            );
        }
        eprint!(
            "WARNING: this will remove {} for {}. Are you sure? [y/N] ",
            match args.clean_type {
                CleanType::All => "all signatures, attestations, SBOMs and referrers",
                CleanType::Signature => "the signatures",
                CleanType::Attestation => "the attestations",
                CleanType::Sbom => "the SBOMs",
                CleanType::Referrer => "the Sigstore bundle referrers",
            },
            args.image
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("not confirmed; nothing removed");
        }
    }
    let options = registry_options(ctx)?;
    let registry = vouch_oci::Registry::open(&reference, &options, true)?;
    let target = ImageTarget::resolve(&registry, &reference)
        .with_context(|| format!("resolving {reference}"))?;
    let name = reference.name();
    let tag_form = target.digest.tag_form();
    let mut doomed: Vec<(String, Digest)> = Vec::new();
    let mut tag = |suffix: &str| -> anyhow::Result<()> {
        let tag = format!("{tag_form}{suffix}");
        if let Some(raw) = manifest_at(&registry, &tag)? {
            doomed.push((format!("{name}:{tag}"), raw.digest));
        }
        Ok(())
    };
    let types = match args.clean_type {
        CleanType::All => &[".sig", ".att", ".sbom", ""][..],
        CleanType::Signature => &[".sig"][..],
        CleanType::Attestation => &[".att"][..],
        CleanType::Sbom => &[".sbom"][..],
        CleanType::Referrer => &[""][..],
    };
    // "" is the referrers tag index (`sha256-<hex>`); every bundle referrer follows.
    for suffix in types {
        tag(suffix)?;
    }
    if types.contains(&"") {
        for descriptor in registry.referrers(&target.digest, None)? {
            let is_bundle = descriptor
                .artifact_type()
                .as_ref()
                .is_some_and(|a| a.to_string().starts_with(BUNDLE_MEDIA_TYPE_PREFIX));
            if is_bundle {
                let digest: Digest = descriptor.digest().to_string().parse()?;
                doomed.push((format!("{name}@{digest}"), digest));
            }
        }
    } else if !ctx.quiet
        && matches!(
            args.clean_type,
            CleanType::Signature | CleanType::Attestation
        )
        && !registry.referrers(&target.digest, None)?.is_empty()
    {
        eprintln!("vouch: the image has referrers too; --type referrer removes them");
    }
    let mut removed = Vec::new();
    for (what, digest) in doomed {
        if registry
            .delete_manifest(&digest)
            .with_context(|| format!("deleting {what}"))?
        {
            if !ctx.quiet {
                eprintln!("Removed {what} from {}", args.image);
            }
            removed.push(what);
        }
    }
    if ctx.format == Format::Json {
        emit(
            ctx.format,
            &json!({"image": args.image, "digest": target.digest.to_string(), "removed": removed}),
            |_, _| Ok(()),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `vouch public-key`.
pub(crate) fn public_key(args: &PublicKeyArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    let key_ref: KeyRef = args.key.parse()?;
    let public = match &key_ref {
        // The token's public key object: no login needed.
        KeyRef::Pkcs11(_) => key_ref
            .load_verifying_key(&Limits::default())
            .with_context(|| format!("reading the public key of {}", args.key))?,
        _ => super::keys::load_signer(&args.key, None)?.verifying_key(),
    };
    let pem_text = public.to_pem();
    match &args.outfile {
        Some(path) => std::fs::write(path, &pem_text)
            .with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(pem_text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vouch triangulate`.
pub(crate) fn triangulate(args: &TriangulateArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let opened = open_image(&args.image, ctx, None)?;
    let name = repository_name(&opened.location);
    let tag_form = opened.target.digest.tag_form();
    let line = match args.attachment {
        TriangulateType::Signature => format!("{name}:{tag_form}.sig"),
        TriangulateType::Attestation => format!("{name}:{tag_form}.att"),
        TriangulateType::Sbom => format!("{name}:{tag_form}.sbom"),
        TriangulateType::Digest => format!("{name}@{}", opened.target.digest),
    };
    emit(
        ctx.format,
        &json!({"image": args.image, "reference": line}),
        |out, _| writeln!(out, "{line}"),
    )?;
    Ok(ExitCode::SUCCESS)
}

// ------------------------------------------------------------- cosign flags on vouch commands

/// cosign's flags of `sign-blob` / `attest-blob` that vouch's own do not spell.
#[derive(Debug, Args)]
#[command(next_help_heading = "cosign spellings")]
pub(crate) struct SignBlobCompat {
    /// Also write the signature, base64, to FILE (cosign's --output-signature; the bundle
    /// still goes to --bundle).
    #[arg(long, value_name = "FILE")]
    output_signature: Option<PathBuf>,
    /// Also write the signing certificate (keyless), PEM, to FILE (cosign's --output-certificate).
    #[arg(long, value_name = "FILE")]
    output_certificate: Option<PathBuf>,
    /// Also write the bundle's RFC 3161 timestamp to FILE as cosign does
    /// (`{"SignedRFC3161Timestamp": base64 DER}`); refused when the bundle has none.
    #[arg(long, value_name = "FILE")]
    rfc3161_timestamp: Option<PathBuf>,
    /// cosign 3's default, and vouch's only format: a Sigstore bundle. `=false` (cosign's
    /// old JSON) is refused.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    new_bundle_format: Option<bool>,
}

impl SignBlobCompat {
    /// Refuses what vouch cannot write.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        if self.new_bundle_format == Some(false) {
            bail!(
                "--new-bundle-format=false: vouch writes only Sigstore bundles (cosign's \
                 pre-3 signature JSON is not written); use --bundle FILE, and \
                 --output-signature FILE for the bare signature"
            );
        }
        Ok(())
    }

    /// Writes --output-signature and --output-certificate from the bundle just made.
    pub(crate) fn write_outputs(&self, bundle_json: &[u8]) -> anyhow::Result<()> {
        if self.output_signature.is_none()
            && self.output_certificate.is_none()
            && self.rfc3161_timestamp.is_none()
        {
            return Ok(());
        }
        let bundle = Bundle::from_json(bundle_json, &Limits::default())
            .context("reading back the bundle just signed")?;
        if let Some(path) = &self.output_signature {
            // cosign writes the base64 text without a newline.
            std::fs::write(path, B64.encode(bundle.content.signature()))
                .with_context(|| format!("writing --output-signature {}", path.display()))?;
        }
        if let Some(path) = &self.output_certificate {
            let Some(der) = bundle.material.leaf_certificate() else {
                bail!(
                    "--output-certificate {}: a key signature has no certificate (sign with --keyless)",
                    path.display()
                );
            };
            std::fs::write(path, pem_encode("CERTIFICATE", der))
                .with_context(|| format!("writing --output-certificate {}", path.display()))?;
        }
        if let Some(path) = &self.rfc3161_timestamp {
            let Some(der) = bundle.rfc3161_timestamps.first() else {
                bail!(
                    "--rfc3161-timestamp {}: the bundle has no RFC 3161 timestamp (the trust \
                     config names no timestamp authority)",
                    path.display()
                );
            };
            let json = serde_json::to_string(&Rfc3161Timestamp {
                signed_rfc3161_timestamp: B64.encode(der),
            })?;
            std::fs::write(path, json)
                .with_context(|| format!("writing --rfc3161-timestamp {}", path.display()))?;
        }
        Ok(())
    }
}

/// PEM text of one DER block, 64 columns (RFC 7468).
fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// cosign's flags of the verifying commands that vouch's own do not spell.
#[derive(Debug, Args)]
#[command(next_help_heading = "cosign spellings")]
pub(crate) struct VerifyCompat {
    /// PEM chain (the signing certificate's issuer first, root last) to trust INSTEAD of the
    /// trusted root's certificate authorities (cosign's --certificate-chain); its logs,
    /// CT logs and timestamp authorities still apply.
    #[arg(long, value_name = "FILE", conflicts_with = "ca_roots")]
    certificate_chain: Option<PathBuf>,
    /// PEM file of root certificates, each trusted as a certificate authority INSTEAD of the
    /// trusted root's (cosign's --ca-roots); a signing certificate must be issued by one.
    #[arg(long, value_name = "FILE")]
    ca_roots: Option<PathBuf>,
    /// PEM file of intermediate certificates, each issued directly by one of --ca-roots
    /// (cosign's --ca-intermediates): a signing certificate may be issued by one of them.
    #[arg(long, value_name = "FILE", requires = "ca_roots")]
    ca_intermediates: Option<PathBuf>,
    /// Accepted for cosign command lines; vouch never asks a log: the entry must be in the
    /// bundle (or annotation) and is checked against the trusted root's log keys.
    #[arg(long, value_name = "URL")]
    rekor_url: Option<String>,
    /// Accepted for cosign command lines: vouch reads both storage schemes (bundles and the
    /// legacy tags) whatever the value.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    new_bundle_format: Option<bool>,
}

impl VerifyCompat {
    /// The trusted root with its certificate authorities replaced per --certificate-chain /
    /// --ca-roots (cosign: these are the roots, `cmd/cosign/cli/verify/verify.go` `loadCertsKeylessVerification`).
    pub(crate) fn apply(
        &self,
        mut trust: vouch_sign::TrustedRoot,
    ) -> anyhow::Result<vouch_sign::TrustedRoot> {
        if let Some(url) = &self.rekor_url {
            eprintln!(
                "vouch: --rekor-url {url}: not contacted; vouch verifies log entries offline from \
                 the bundle against the trusted root"
            );
        }
        let read = |flag: &str, path: &PathBuf| -> anyhow::Result<Vec<Vec<u8>>> {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {flag} {}", path.display()))?;
            let certs =
                pem_chain_der(&text).with_context(|| format!("{flag} {}", path.display()))?;
            if certs.is_empty() {
                bail!("{flag} {}: no PEM certificate in it", path.display());
            }
            Ok(certs)
        };
        let authority =
            |chain: Vec<Vec<u8>>, uri: String| vouch_sign::trust_root::CertificateAuthority {
                uri,
                chain,
                valid_for: vouch_sign::trust_root::Validity {
                    start: None,
                    end: None,
                },
            };
        if let Some(path) = &self.certificate_chain {
            let chain = read("--certificate-chain", path)?;
            trust.certificate_authorities =
                vec![authority(chain, format!("file://{}", path.display()))];
        } else if let Some(path) = &self.ca_roots {
            let uri = format!("file://{}", path.display());
            let roots = read("--ca-roots", path)?;
            let intermediates = match &self.ca_intermediates {
                Some(p) => read("--ca-intermediates", p)?,
                None => Vec::new(),
            };
            // Every root alone, and every intermediate under every root: a pair whose link
            // does not verify is one more authority that never matches (the verifier checks
            // each link), so no pairing has to be guessed here.
            let mut authorities = Vec::new();
            for root in &roots {
                authorities.push(authority(vec![root.clone()], uri.clone()));
                for intermediate in &intermediates {
                    authorities.push(authority(
                        vec![intermediate.clone(), root.clone()],
                        uri.clone(),
                    ));
                }
            }
            trust.certificate_authorities = authorities;
        }
        Ok(trust)
    }
}

/// `verify-blob --signature [--certificate]`: cosign's detached signature instead of a bundle.
#[derive(Debug, Args)]
#[command(next_help_heading = "Detached signature (instead of --bundle)")]
pub(crate) struct DetachedArgs {
    /// The base64 signature over FILE, or a file holding it (cosign's --signature).
    #[arg(long, value_name = "FILE|BASE64", conflicts_with = "bundle")]
    signature: Option<String>,
    /// The PEM signing certificate (cosign's --certificate); else --key verifies. A
    /// certificate needs a verified time, which a detached signature does not carry: give
    /// --rfc3161-timestamp FILE with --insecure-ignore-tlog (no log entry), else it is refused.
    #[arg(
        long,
        visible_alias = "cert",
        value_name = "FILE",
        requires = "signature"
    )]
    certificate: Option<PathBuf>,
    /// cosign's RFC 3161 timestamp file (`{"SignedRFC3161Timestamp": base64 DER}`, as
    /// `sign-blob --rfc3161-timestamp` writes) over the detached signature: the verified
    /// time a --certificate is checked at (with --insecure-ignore-tlog when there is no log
    /// entry). It must verify against the trusted root's timestamp authorities.
    #[arg(long, value_name = "FILE", requires = "signature")]
    rfc3161_timestamp: Option<PathBuf>,
}

impl DetachedArgs {
    /// The bundle to verify: the --bundle file, or one built from the detached signature
    /// (a v0.3 `messageSignature` with the artifact's SHA-256 and the certificate or an empty
    /// key hint). Verification then treats it as any bundle.
    pub(crate) fn bundle(
        &self,
        bundle: Option<&std::path::Path>,
        sha256: [u8; 32],
    ) -> anyhow::Result<Vec<u8>> {
        if let Some(path) = bundle {
            return std::fs::read(path).with_context(|| format!("reading {}", path.display()));
        }
        let Some(signature) = &self.signature else {
            bail!("give --bundle FILE, or --signature (with --key or --certificate)");
        };
        let text = match std::fs::read_to_string(signature) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => signature.clone(),
            Err(e) => return Err(e).with_context(|| format!("reading --signature {signature}")),
        };
        let sig = B64.decode(text.trim()).with_context(|| {
            format!("--signature {signature}: neither a file nor base64 signature text")
        })?;
        let material = match &self.certificate {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading --certificate {}", path.display()))?;
                let leaf = pem_chain_der(&text)
                    .with_context(|| format!("--certificate {}", path.display()))?
                    .into_iter()
                    .next()
                    .with_context(|| format!("--certificate {}: no certificate", path.display()))?;
                vouch_sign::bundle::VerificationMaterial::Certificate(leaf)
            }
            None => vouch_sign::bundle::VerificationMaterial::PublicKey {
                hint: String::new(),
            },
        };
        let content = Content::MessageSignature(vouch_sign::bundle::MessageSignature {
            digest: Some((vouch_sign::HashAlgorithm::Sha2_256, sha256.to_vec())),
            signature: sig,
        });
        let mut bundle = Bundle::new_v0_3(material, Vec::new(), content);
        if let Some(path) = &self.rfc3161_timestamp {
            let text = std::fs::read(path)
                .with_context(|| format!("reading --rfc3161-timestamp {}", path.display()))?;
            let ts: Rfc3161Timestamp = serde_json::from_slice(&text).with_context(|| {
                format!(
                    "--rfc3161-timestamp {}: not cosign's timestamp JSON",
                    path.display()
                )
            })?;
            bundle.rfc3161_timestamps.push(
                B64.decode(ts.signed_rfc3161_timestamp.trim())
                    .with_context(|| {
                        format!("--rfc3161-timestamp {}: not base64", path.display())
                    })?,
            );
        }
        Ok(bundle.to_json())
    }
}
