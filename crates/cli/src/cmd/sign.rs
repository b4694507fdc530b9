//! `vouch sign IMAGE` and `vouch attest IMAGE`: sign an image digest (or attest a predicate
//! about it) and store the result in the registry the ways cosign does.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;
use vouch_oci::Location;
use vouch_sign::Limits;
use vouch_sign::intoto::{PREDICATE_COSIGN_CUSTOM, predicate_type_for};
use vouch_sign::oci::{ImageTarget, SignatureFormat, Store, Stored};

use super::keys::load_signer;
use super::registry_options;
use super::verify::parse_annotations;
use crate::cli::Context;
use crate::output::emit;

/// Help on keyless signing, shared with `sign-blob`.
macro_rules! keyless_help {
    () => {
        "
Keyless (--keyless): an ephemeral key gets a 10-minute certificate for your OIDC identity
from the CA, the signature is logged in the transparency log, and certificate, chain and log
evidence are stored with it (cosign's annotations, the v0.3 bundle). Verify with
--certificate-identity and --certificate-oidc-issuer.
  instance      --trust-config FILE or $VOUCH_TRUST_CONFIG: a ClientTrustConfig (as
                `sigstore --trust-config`; `vouch instance serve` writes one)
  identity      first of: --identity-token TOKEN|@FILE, $SIGSTORE_ID_TOKEN, GitHub Actions'
                $ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (audience sigstore), --oidc-dev-issuer
                URL or the trust config's OIDC issuer when it is a loopback dev issuer
"
    };
}
pub(crate) use keyless_help;

/// Help on logging key signatures, shared with `sign-blob`.
macro_rules! tlog_help {
    () => {
        "
Transparency log (--key): as cosign, a key signature is uploaded to the transparency log
whenever one is configured: --rekor-url URL (a Rekor v1 log), or every log the signing config
of --trust-config FILE ($VOUCH_TRUST_CONFIG) selects (rekorTlogUrls, Rekor v1 or v2;
rekorTlogConfig ALL, ANY or EXACT n, as cosign v3 and sigstore-go sign). Rekor v1 gets a
hashedrekord entry (dsse for statements); Rekor v2 a hashedrekord 0.0.2 (over the DSSE PAE for
statements) naming the public key, and since a v2 log signs no time, the signature also gets
an RFC 3161 timestamp from every TSA the signing config selects (tsaUrls; required). Every
entry (inclusion proof, checkpoint, Rekor v1's signed entry timestamp) goes into the bundle,
or into cosign's dev.sigstore.cosign/bundle annotation of a legacy layer (Rekor v1 only).
`cosign verify --key` and `vouch verify --key` then check them against the trusted root
(both require an entry; --tlog-threshold N requires N). --tlog-upload=false, or no log
configured, signs without an entry: verify that with --insecure-ignore-tlog.
"
    };
}
pub(crate) use tlog_help;

const STORAGE_HELP: &str = concat!(
    "\
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
An image in an OCI layout (oci:DIR[:TAG]) keeps its signatures in the layout the same ways
(the .sig/.att tag and referrers in index.json); `vouch image copy --signatures` carries
them to a registry. --recursive also signs each platform manifest of an index.

The image is always signed by DIGEST: a tag is resolved first and the digest printed.

Private keys (--key):
  PATH, file://PATH  cosign's encrypted key file (password from $VOUCH_PASSWORD or
                     $COSIGN_PASSWORD, else a prompt), or a plain PKCS#8 / SEC1 PEM
  env://NAME         the same PEM text in environment variable NAME
  pkcs11:token=T;object=O?module-path=MODULE
                     a key on a PKCS#11 token (RFC 7512 URI; PIN from pin-value, --pin,
                     $VOUCH_PKCS11_PIN or $COSIGN_PKCS11_PIN, else a prompt)
  hashivault://KEY   a Vault/OpenBao transit key ($VAULT_ADDR, $VAULT_TOKEN)
  awskms://[ENDPOINT]/KEY
                     an AWS KMS key by id, ARN or alias/NAME ($AWS_REGION, $AWS_ACCESS_KEY_ID,
                     $AWS_SECRET_ACCESS_KEY; ENDPOINT names an AWS-compatible service)
",
    tlog_help!(),
    keyless_help!(),
    "
Exit codes: 0 signed and stored, 1 error"
);

/// The `--help` text of a command: its `-h` text with `examples` put before the exit codes
/// (clap shows `after_long_help` in place of `after_help` for `--help`).
pub(crate) fn with_examples(help: &str, examples: &str) -> String {
    let examples = format!("Examples:\n{}\n", examples.trim_end());
    match help.find("Exit codes") {
        Some(i) => format!("{}{examples}\n{}", &help[..i], &help[i..]),
        None => format!("{help}\n\n{examples}"),
    }
}

const SIGN_EXAMPLES: &str = "  vouch sign registry.example/app:1.0 --key cosign.key
  vouch sign registry.example/app:1.0 --key cosign.key --signature-format both -a env=prod
  vouch sign registry.example/multi:1.0 --key cosign.key --recursive
  vouch sign oci:./layout:1.0 --key cosign.key --sign-container-identity registry.example/app
      (then: vouch image copy oci:./layout:1.0 registry.example/app:1.0 --signatures)";

const ATTEST_EXAMPLES: &str = "  vouch attest registry.example/app:1.0 --predicate sbom.spdx.json --type spdxjson --key cosign.key
  vouch attest registry.example/app:1.0 --predicate provenance.json --type slsaprovenance1 \\
      --keyless --trust-config trust_config.json
  vouch attest registry.example/multi:1.0 --predicate vex.json --type openvex --key cosign.key -r";

/// `vouch verify --help`.
pub(crate) fn verify_long_help() -> String {
    with_examples(
        super::verify::VERIFY_HELP,
        "  vouch verify registry.example/app:1.0 --key cosign.pub --trusted-root trusted_root.json
  vouch verify registry.example/app:1.0 --key cosign.pub --insecure-ignore-tlog -a env=prod -o json
  vouch verify registry.example/app:1.0 --trusted-root trusted_root.json \\
      --certificate-identity-regexp '^https://github.com/org/app/' \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  vouch verify oci:./layout:1.0 --key cosign.pub --insecure-ignore-tlog",
    )
}

/// `vouch verify-attestation --help`.
pub(crate) fn verify_attestation_long_help() -> String {
    with_examples(
        super::verify::VERIFY_HELP,
        "  vouch verify-attestation registry.example/app:1.0 --type spdxjson --key cosign.pub
  vouch verify-attestation registry.example/app:1.0 --type slsaprovenance1 -o json \\
      --trusted-root trusted_root.json --certificate-identity-regexp '^https://github.com/org/' \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com",
    )
}

/// `vouch verify-blob --help`.
pub(crate) fn verify_blob_long_help() -> String {
    with_examples(
        super::verify::VERIFY_HELP,
        "  vouch verify-blob release.tar.gz --bundle release.tar.gz.sigstore.json --key cosign.pub
  vouch verify-blob sha256:<hex> --bundle release.tar.gz.sigstore.json --key cosign.pub \\
      --insecure-ignore-tlog
  vouch verify-blob release.tar.gz --bundle release.tar.gz.sigstore.json \\
      --trusted-root trusted_root.json --certificate-identity ci@example.com \\
      --certificate-oidc-issuer https://accounts.example.com",
    )
}

/// `--signature-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// OCI 1.1 referrer holding a Sigstore bundle (cosign 3 default).
    #[value(alias = "true")]
    Bundle,
    /// `sha256-<hex>.sig` / `.att` tag (cosign 2).
    #[value(alias = "false")]
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
#[command(after_help = STORAGE_HELP, after_long_help = with_examples(STORAGE_HELP, SIGN_EXAMPLES))]
pub(crate) struct SignArgs {
    /// The image: a registry reference or oci:DIR[:TAG] (a tag is resolved to the digest that
    /// is signed).
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Private key (or --keyless).
    #[arg(long, value_name = "KEY", required_unless_present = "keyless")]
    key: Option<String>,
    /// PIN of a pkcs11: key's token (else the URI's pin-value, $VOUCH_PKCS11_PIN,
    /// $COSIGN_PKCS11_PIN, or a prompt).
    #[arg(long, value_name = "PIN", requires = "key")]
    pin: Option<String>,
    #[command(flatten)]
    keyless: KeylessArgs,
    #[command(flatten)]
    tlog: TlogArgs,
    #[command(flatten)]
    targets: TargetArgs,
    /// Where to store the signature. cosign's --new-bundle-format=true|false means
    /// bundle|legacy.
    #[arg(long, value_enum, default_value_t = FormatArg::Bundle,
          visible_alias = "new-bundle-format")]
    signature_format: FormatArg,
    /// KEY=VALUE claim to sign along (repeatable); `vouch verify -a` can require it.
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = STORAGE_HELP, after_long_help = with_examples(STORAGE_HELP, ATTEST_EXAMPLES))]
pub(crate) struct AttestArgs {
    /// The image: a registry reference or oci:DIR[:TAG] (a tag is resolved to the digest
    /// attested).
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
    /// Private key (or --keyless).
    #[arg(long, value_name = "KEY", required_unless_present = "keyless")]
    key: Option<String>,
    /// PIN of a pkcs11: key's token (else the URI's pin-value, $VOUCH_PKCS11_PIN,
    /// $COSIGN_PKCS11_PIN, or a prompt).
    #[arg(long, value_name = "PIN", requires = "key")]
    pin: Option<String>,
    #[command(flatten)]
    keyless: KeylessArgs,
    #[command(flatten)]
    tlog: TlogArgs,
    #[command(flatten)]
    targets: TargetArgs,
    /// Where to store the attestation. cosign's --new-bundle-format=true|false means
    /// bundle|legacy.
    #[arg(long, value_enum, default_value_t = FormatArg::Bundle,
          visible_alias = "new-bundle-format")]
    signature_format: FormatArg,
}

/// Which digests to sign and the name signed with them (`sign`, `attest`).
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// For a multi-platform index: also sign every platform manifest it lists (cosign's
    /// --recursive), not only the index digest.
    #[arg(long, short = 'r')]
    recursive: bool,
    /// The repository name to sign as the payload's docker-reference (cosign's flag of
    /// this name; default the image's repository, `oci:DIR` for a layout). Verification
    /// checks the digest, not this name.
    #[arg(long, value_name = "NAME")]
    sign_container_identity: Option<String>,
}

/// Keyless signing flags (`sign`, `attest`, `sign-blob`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Keyless signing")]
pub(crate) struct KeylessArgs {
    /// Sign with a 10-minute certificate for your OIDC identity instead of a key.
    #[arg(long, conflicts_with = "key")]
    keyless: bool,
    /// The OIDC identity token, or @FILE holding it (else $SIGSTORE_ID_TOKEN, GitHub
    /// Actions, the dev issuer).
    #[arg(long, value_name = "TOKEN|@FILE", requires = "keyless")]
    identity_token: Option<String>,
    /// ClientTrustConfig naming the CA and transparency log (and the trusted root the result
    /// is checked against). With --key: the log key signatures are uploaded to.
    #[arg(
        long,
        value_name = "FILE",
        env = vouch_keyless::config::TRUST_CONFIG_ENV
    )]
    trust_config: Option<PathBuf>,
    /// A bare signing config (SigningConfig v0.2, as cosign v3's --signing-config) naming the
    /// CA, the logs and the timestamp authorities; takes precedence over --trust-config.
    #[arg(long, value_name = "FILE")]
    signing_config: Option<PathBuf>,
    /// With --signing-config: the trusted root results are checked against before they are
    /// stored (cosign v3's --trusted-root); required with --keyless.
    #[arg(long, value_name = "FILE", requires = "signing_config")]
    trusted_root: Option<PathBuf>,
    /// A vouch dev OIDC issuer to get the token from (development only).
    #[arg(long, value_name = "URL", requires = "keyless")]
    oidc_dev_issuer: Option<String>,
    /// The CA to get the certificate from instead of the trust config's (cosign's
    /// --fulcio-url); the certificate is still checked against the trusted root.
    #[arg(long, value_name = "URL", requires = "keyless")]
    fulcio_url: Option<String>,
}

impl KeylessArgs {
    /// Whether --keyless was given.
    pub(crate) fn enabled(&self) -> bool {
        self.keyless
    }

    /// The services and trust the flags name: --signing-config (with --trusted-root, else an
    /// empty root: `checked` false), or --trust-config; none without either.
    pub(crate) fn trust(&self) -> anyhow::Result<Option<Trust>> {
        if let Some(path) = &self.signing_config {
            let (root, checked) = match &self.trusted_root {
                Some(root_path) => {
                    let json = std::fs::read(root_path).with_context(|| {
                        format!("reading --trusted-root {}", root_path.display())
                    })?;
                    let root = vouch_sign::TrustedRoot::from_json(&json, &Limits::default())
                        .with_context(|| {
                            format!("parsing --trusted-root {}", root_path.display())
                        })?;
                    (root, true)
                }
                None => (vouch_sign::TrustedRoot::default(), false),
            };
            let json = std::fs::read(path)
                .with_context(|| format!("reading --signing-config {}", path.display()))?;
            let config = vouch_keyless::TrustConfig::from_signing_config(&json, root)
                .with_context(|| format!("reading --signing-config {}", path.display()))?;
            return Ok(Some(Trust { config, checked }));
        }
        match &self.trust_config {
            Some(path) => Ok(Some(Trust {
                config: vouch_keyless::TrustConfig::from_file(path, &Limits::default())
                    .with_context(|| format!("reading --trust-config {}", path.display()))?,
                checked: true,
            })),
            None => Ok(None),
        }
    }

    /// The signer for the instance and the identity token, from the flags.
    pub(crate) fn signer(
        &self,
    ) -> anyhow::Result<(vouch_keyless::KeylessSigner, vouch_keyless::IdentityToken)> {
        let Some(Trust {
            mut config,
            checked,
        }) = self.trust()?
        else {
            bail!(
                "--keyless needs --trust-config FILE (or ${}), or --signing-config FILE with \
                 --trusted-root FILE, naming the CA and transparency log",
                vouch_keyless::config::TRUST_CONFIG_ENV
            );
        };
        if !checked {
            bail!(
                "--keyless with --signing-config needs --trusted-root FILE: every keyless \
                 signature is verified against it before it is stored"
            );
        }
        if let Some(url) = &self.fulcio_url {
            config.ca_url = Some(url.clone());
        }
        let dev_issuer = self
            .oidc_dev_issuer
            .clone()
            .or_else(|| config.dev_issuer().map(str::to_owned));
        let signer = vouch_keyless::KeylessSigner::new(config)?;
        let token = vouch_keyless::token::resolve(
            &vouch_keyless::token::TokenOptions {
                explicit: self.identity_token.clone(),
                dev_issuer,
            },
            signer.http(),
        )?;
        Ok((signer, token))
    }
}

/// What --trust-config or --signing-config (+ --trusted-root) name.
pub(crate) struct Trust {
    /// Services and trusted root.
    pub(crate) config: vouch_keyless::TrustConfig,
    /// Whether results can be checked against a trusted root (--signing-config without
    /// --trusted-root: no).
    pub(crate) checked: bool,
}

/// Transparency log flags for key signing (`sign`, `attest`, `sign-blob`, `attest-blob`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Transparency log")]
pub(crate) struct TlogArgs {
    /// Upload key signatures to the transparency log, as cosign does: on whenever a log is
    /// configured (--rekor-url, or the logs of --trust-config / $VOUCH_TRUST_CONFIG);
    /// --tlog-upload=false signs without a log entry. Keyless signatures are always logged.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    tlog_upload: bool,
    /// Rekor v1 transparency log (base URL) key signatures are uploaded to; else the logs the
    /// --trust-config signing config selects.
    #[arg(long, value_name = "URL")]
    rekor_url: Option<String>,
}

/// A check run on every bundle before it is stored.
type BundleCheckFn = dyn Fn(&vouch_sign::Bundle) -> vouch_sign::Result<()>;

/// The logs key signatures go to, the timestamp authorities, and (with a trust config) the
/// check of every bundle against its trusted root before anything is stored, as keyless
/// signing checks its own.
pub(crate) struct KeyLog {
    logs: Vec<Box<dyn vouch_sign::sign::TransparencyLog>>,
    timestamper: Option<Box<vouch_sign::sign::TimestampFn>>,
    trust: Option<std::rc::Rc<(vouch_sign::Verifier, vouch_sign::SignerPolicy)>>,
    check: Option<Box<BundleCheckFn>>,
}

impl KeyLog {
    /// What vouches for key signatures besides the key: the logs, the timestamps, the check.
    pub(crate) fn witnesses(&self) -> vouch_sign::sign::Witnesses<'_> {
        vouch_sign::sign::Witnesses {
            logs: &self.logs,
            timestamper: self.timestamper.as_deref(),
            check: self.check.as_deref(),
        }
    }

    /// Verifies a message-signature bundle over `data` against the trust config's root.
    pub(crate) fn check_blob(
        &self,
        data: &[u8],
        bundle: &vouch_sign::Bundle,
    ) -> anyhow::Result<()> {
        if let Some(trust) = &self.trust {
            let (verifier, policy) = &**trust;
            verifier
                .verify_blob(vouch_sign::Artifact::Bytes(data), bundle, policy)
                .context("the logged signature does not verify against the trust config's root")?;
        }
        Ok(())
    }
}

impl TlogArgs {
    /// The logs `key`'s signatures are uploaded to: --rekor-url, else every log the trust
    /// config's signing config selects (Rekor v1 or v2, `rekorTlogConfig` ALL/ANY/EXACT, as
    /// cosign v3 signs with a signing config), with a timestamp from every timestamp authority
    /// it selects; none with --tlog-upload=false or when no log is configured.
    pub(crate) fn key_log(
        &self,
        keyless: &KeylessArgs,
        key: &dyn vouch_sign::Signer,
    ) -> anyhow::Result<Option<KeyLog>> {
        if !self.tlog_upload {
            return Ok(None);
        }
        let given = keyless.trust()?;
        let checked = given.as_ref().is_some_and(|t| t.checked);
        let trust = given.map(|t| t.config);
        let logs: Vec<Box<dyn vouch_sign::sign::TransparencyLog>> = match (&self.rekor_url, &trust)
        {
            (Some(url), _) => vec![Box::new(
                vouch_keyless::RekorLog::new(url)
                    .with_context(|| format!("transparency log {url}"))?,
            )],
            (None, Some(t)) => {
                vouch_keyless::transparency_logs(t, &vouch_http::ClientConfig::default())?
            }
            (None, None) => return Ok(None),
        };
        let timestamper = match trust.as_ref().filter(|t| !t.tsa_urls.is_empty()) {
            Some(t) => {
                let tsa = vouch_keyless::TimestampAuthorities::new(t.tsa_urls.clone())?;
                Some(
                    Box::new(move |signature: &[u8]| tsa.timestamper()(signature))
                        as Box<vouch_sign::sign::TimestampFn>,
                )
            }
            None => None,
        };
        // The trusted root checks what the logs answered when they are the trust config's own
        // (an explicit --rekor-url may be a log that root does not list).
        let trust = trust
            .filter(|_| checked)
            .filter(|t| {
                self.rekor_url
                    .as_deref()
                    .is_none_or(|u| t.logs.iter().any(|log| log.url == u.trim_end_matches('/')))
            })
            .map(|t| {
                std::rc::Rc::new((
                    vouch_sign::Verifier::new(t.trusted_root),
                    vouch_sign::SignerPolicy::Key(key.verifying_key()),
                ))
            });
        let check = trust.clone().map(|trust| {
            Box::new(move |bundle: &vouch_sign::Bundle| {
                let (verifier, policy) = &*trust;
                verifier
                    .verify_attestation(bundle, None, None, policy)
                    .map(|_| ())
            }) as Box<BundleCheckFn>
        });
        Ok(Some(KeyLog {
            logs,
            timestamper,
            trust,
            check,
        }))
    }
}

/// Who signed, for reports.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignerJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) certificate_identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) certificate_oidc_issuer: Option<String>,
}

impl SignerJson {
    pub(crate) fn key(key: &dyn vouch_sign::Signer) -> Self {
        Self {
            key_id: Some(super::keys::hex_encode(&key.verifying_key().key_id())),
            ..Self::default()
        }
    }

    pub(crate) fn session(session: &vouch_keyless::Session<'_>) -> Self {
        let id = session.identity();
        Self {
            key_id: None,
            certificate_identity: id.subject_alternative_names.first().cloned(),
            certificate_oidc_issuer: id.issuer.clone(),
        }
    }

    /// `key <hex>` or `<identity> (issuer <url>)`.
    pub(crate) fn line(&self) -> String {
        match (&self.key_id, &self.certificate_identity) {
            (Some(k), _) => format!("key {k}"),
            (None, Some(id)) => format!(
                "{id} (issuer {})",
                self.certificate_oidc_issuer.as_deref().unwrap_or("?")
            ),
            (None, None) => "?".into(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignReport {
    image: String,
    digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    predicate_type: Option<String>,
    #[serde(flatten)]
    signer: SignerJson,
    stored: Vec<StoredJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredJson {
    /// The digest this signature is about (the image, or with --recursive a platform manifest).
    subject: String,
    scheme: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    manifest: String,
    count: usize,
    note: &'static str,
}

pub(crate) fn sign(args: &SignArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let annotations = parse_annotations(&args.annotations)?;
    if args.keyless.enabled() {
        let (signer, token) = args.keyless.signer()?;
        let session = signer.certify(&token)?;
        return with_store(
            &args.image,
            ctx,
            &args.targets,
            None,
            SignerJson::session(&session),
            |store, target| {
                Ok(
                    session.sign_image(
                        store,
                        target,
                        args.signature_format.into(),
                        &annotations,
                    )?,
                )
            },
        );
    }
    let key = load_signer(key_arg(args.key.as_deref())?, args.pin.as_deref())?;
    let log = args.tlog.key_log(&args.keyless, &*key)?;
    let witnesses = log.as_ref().map(KeyLog::witnesses).unwrap_or_default();
    with_store(
        &args.image,
        ctx,
        &args.targets,
        None,
        SignerJson::key(&*key),
        |store, target| {
            Ok(store.sign_image_with(
                target,
                &*key,
                &witnesses,
                args.signature_format.into(),
                &annotations,
            )?)
        },
    )
}

fn key_arg(key: Option<&str>) -> anyhow::Result<&str> {
    key.ok_or_else(|| anyhow::anyhow!("give --key KEY or --keyless"))
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
    if args.keyless.enabled() {
        let (signer, token) = args.keyless.signer()?;
        let session = signer.certify(&token)?;
        return with_store(
            &args.image,
            ctx,
            &args.targets,
            Some(predicate_type.clone()),
            SignerJson::session(&session),
            |store, target| {
                Ok(session.attest_image(
                    store,
                    target,
                    args.signature_format.into(),
                    &predicate_type,
                    predicate.clone(),
                )?)
            },
        );
    }
    let key = load_signer(key_arg(args.key.as_deref())?, args.pin.as_deref())?;
    let log = args.tlog.key_log(&args.keyless, &*key)?;
    let witnesses = log.as_ref().map(KeyLog::witnesses).unwrap_or_default();
    with_store(
        &args.image,
        ctx,
        &args.targets,
        Some(predicate_type.clone()),
        SignerJson::key(&*key),
        |store, target| {
            Ok(store.attest_image_with(
                target,
                &*key,
                &witnesses,
                args.signature_format.into(),
                &predicate_type,
                predicate.clone(),
            )?)
        },
    )
}

/// An image opened for signing or verifying: in a registry or an OCI layout (`oci:DIR[:TAG]`,
/// where signatures are stored in the layout itself as cosign stores them in a registry).
pub(crate) struct OpenedImage {
    /// Reads the image and its signatures.
    pub(crate) source: Box<dyn vouch_oci::ImageSource>,
    /// Where it is.
    pub(crate) location: Location,
    /// The image, by digest.
    pub(crate) target: ImageTarget,
    /// Whether the user named the digest (else a tag was resolved).
    pub(crate) by_digest: bool,
}

/// Opens `image` (a registry reference or `oci:DIR[:TAG]`) and resolves it to a digest.
/// `identity` overrides the repository name signed as the simple-signing `docker-reference`
/// (default: the reference's repository; `oci:DIR` for a layout).
pub(crate) fn open_image(
    image: &str,
    ctx: &Context,
    identity: Option<&str>,
) -> anyhow::Result<OpenedImage> {
    let location = Location::parse(image)?;
    let options = registry_options(ctx)?;
    let (repository, by_digest) = match &location {
        Location::Registry(reference) => (reference.name(), reference.digest().is_some()),
        Location::Layout { path, .. } => (format!("oci:{}", path.display()), false),
        _ => bail!(
            "{image}: signatures live in a registry or an OCI layout; give a registry \
             reference or oci:DIR[:TAG]"
        ),
    };
    let (source, mut selector) = vouch_oci::open_source(&location, &options)?;
    if let Location::Layout { path, tag: None } = &location {
        selector = only_image_in_layout(path, &options.limits)?;
    }
    let repository = identity.map_or(repository, str::to_owned);
    let target = ImageTarget::resolve_selector(source.as_ref(), &selector, repository)
        .with_context(|| format!("resolving {location}"))?;
    Ok(OpenedImage {
        source,
        location,
        target,
        by_digest,
    })
}

/// `oci:DIR` without a tag: the one image in `index.json`, not counting what signing added
/// (vouch-oci's [`vouch_oci::Layout::default_image`] rule).
pub(crate) fn only_image_in_layout(
    path: &std::path::Path,
    limits: &vouch_oci::Limits,
) -> anyhow::Result<vouch_oci::Selector> {
    Ok(vouch_oci::Layout::open(path, limits)?.default_image()?)
}

fn with_store(
    image: &str,
    ctx: &Context,
    targets: &TargetArgs,
    predicate_type: Option<String>,
    signer: SignerJson,
    write: impl Fn(&Store<'_>, &ImageTarget) -> anyhow::Result<Vec<Stored>>,
) -> anyhow::Result<ExitCode> {
    let opened = open_image(image, ctx, targets.sign_container_identity.as_deref())?;
    let options = registry_options(ctx)?;
    let (sink, _) = vouch_oci::open_sink(&opened.location, &options)?;
    let target = opened.target;
    if !opened.by_digest && !ctx.quiet {
        eprintln!(
            "vouch: {} resolves to {}; signing that digest, not the tag",
            opened.location, target.digest
        );
    }
    let store = Store {
        source: opened.source.as_ref(),
        sink: sink.as_ref(),
        limits: Limits::default(),
    };
    // cosign's --recursive: the index and then every platform manifest it lists.
    let mut all = vec![target.clone()];
    if targets.recursive {
        let children = target
            .descendants(opened.source.as_ref(), &store.limits)
            .with_context(|| format!("reading the index {}", target.pinned()))?;
        if children.is_empty() && !ctx.quiet {
            eprintln!(
                "vouch: {} is not an index; --recursive signs just it",
                target.pinned()
            );
        }
        all.extend(children);
    }
    let mut stored_json = Vec::new();
    for one in &all {
        let stored =
            write(&store, one).with_context(|| format!("storing in {}", opened.location))?;
        stored_json.extend(stored.iter().map(|s| StoredJson {
            subject: one.digest.to_string(),
            scheme: s.scheme.name(),
            tag: s.tag.clone(),
            manifest: s.manifest.to_string(),
            count: s.count,
            note: s.note,
        }));
    }
    let report = SignReport {
        image: image.to_owned(),
        digest: target.digest.to_string(),
        predicate_type,
        signer,
        stored: stored_json,
    };
    emit(ctx.format, &report, |out, r| {
        let what = if r.predicate_type.is_some() {
            "Attested"
        } else {
            "Signed"
        };
        writeln!(out, "{what} {} as {}", target.pinned(), r.signer.line())?;
        for s in &r.stored {
            let at = s
                .tag
                .as_deref()
                .map(|t| format!(" at tag {t}"))
                .unwrap_or_default();
            let of = if s.subject == r.digest {
                String::new()
            } else {
                format!(" for platform manifest {}", s.subject)
            };
            writeln!(
                out,
                "  {}{of}: manifest {}{at} ({}; {} stored)",
                s.scheme, s.manifest, s.note, s.count
            )?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
