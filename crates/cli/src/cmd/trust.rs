//! `vouch trust update` and `vouch trust show`, and [`TrustArgs::resolve`]: the one place
//! every verifying command (verify, verify-attestation, verify-blob,
//! verify-blob-attestation, policy apply/test, admission serve) gets its trusted root from.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use vouch_sign::{Limits, TrustedRoot};
use vouch_tuf::{Cache, Instance};

use crate::cli::{Context, EXIT_ERROR};
use crate::cmd::verify::EXIT_VERIFY_FAILED;
use crate::output::emit;

/// How the trust of verifying commands is chosen (their `--help` repeats it).
pub(crate) const TRUST_ORDER_HELP: &str = "\
Trust (the CAs, transparency logs and timestamp authorities accepted), first that applies:
  1. --trusted-root FILE or --trust-config FILE;
  2. Sigstore's public-good trust (--staging: staging) as last stored by `vouch trust update`
     in $XDG_CACHE_HOME/vouch/tuf (~/.cache/vouch/tuf);
  3. the public-good (staging) trusted_root.json built into vouch.
Verification never fetches trust from the network (--offline states it, for command lines
written for cosign or sigstore-python); -v prints the trust in use.";

const TRUST_HELP: &str = "\
Sigstore publishes the trust of its public-good and staging instances (trusted_root.json,
signing_config.v0.2.json) through TUF, signed by the root-signing key holders. vouch carries
the TUF root of each and a snapshot of both files; `vouch trust update` refreshes them through
TUF (threshold signatures, root rotation, rollback, freeze and mix-and-match checks, target
hashes) into $XDG_CACHE_HOME/vouch/tuf/<mirror-host>/, where every verifying command finds
them. A refused update changes nothing: the trust in use stays what it was.

Examples:
  vouch trust update                       # public-good, https://tuf-repo-cdn.sigstore.dev
  vouch trust update --staging
  vouch trust update --mirror https://tuf.internal.example --root root.json
  vouch trust show -o json

Exit codes:
  0  done
  1  error: mirror unreachable, cache unwritable, target unusable
  3  the mirror's metadata was refused (a TUF check failed); the previous trust is kept";

/// `vouch trust …`
#[derive(Debug, Subcommand)]
#[command(after_help = TRUST_HELP)]
pub(crate) enum TrustCommand {
    /// Refresh Sigstore's public-good (or staging) trust through TUF into the user's cache.
    #[command(after_help = TRUST_HELP)]
    Update(UpdateArgs),
    /// Show the trust verifying commands use without --trusted-root: its source and age.
    #[command(after_help = TRUST_ORDER_HELP)]
    Show(ShowArgs),
}

/// `vouch trust update`
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// Sigstore's staging instance instead of public-good.
    #[arg(long)]
    staging: bool,
    /// TUF repository URL (metadata at its root, targets under targets/); default
    /// https://tuf-repo-cdn.sigstore.dev (staging: https://tuf-repo-cdn.sigstage.dev).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// TUF root.json to start from for a mirror never updated from (default: the one built
    /// into vouch), as `cosign initialize --root`; later updates start from the cached root.
    #[arg(long, value_name = "FILE")]
    root: Option<PathBuf>,
}

/// `vouch trust show`
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Sigstore's staging instance instead of public-good.
    #[arg(long)]
    staging: bool,
}

/// Trust flags of every verifying command.
#[derive(Debug, Args, Clone)]
pub(crate) struct TrustArgs {
    /// Sigstore trusted_root.json: the CAs, log keys and timestamp authorities to trust
    /// (instead of Sigstore's public-good trust).
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,
    /// A ClientTrustConfig (as `sigstore --trust-config`): its trusted root is used, as with
    /// --trusted-root.
    #[arg(long, value_name = "FILE", conflicts_with = "trusted_root")]
    pub(crate) trust_config: Option<PathBuf>,
    /// Trust Sigstore's staging instance instead of public-good (from `vouch trust update
    /// --staging`, else built in).
    #[arg(long, conflicts_with_all = ["trusted_root", "trust_config"])]
    pub(crate) staging: bool,
    /// Use no network for trust. vouch never fetches trust while verifying (run `vouch trust
    /// update`); the flag is accepted for cosign and sigstore-python command lines.
    #[arg(long)]
    pub(crate) offline: bool,
}

/// Where the trust in use came from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum TrustSource {
    /// `--trusted-root` or `--trust-config`.
    #[serde(rename_all = "camelCase")]
    File { flag: &'static str, path: PathBuf },
    /// The TUF cache.
    #[serde(rename_all = "camelCase")]
    Cache {
        instance: &'static str,
        mirror: String,
        dir: PathBuf,
        updated: String,
        age_seconds: i64,
        expires: String,
        expired: bool,
        root_version: u64,
        tuf_versions: vouch_tuf::RoleVersions,
    },
    /// Built into vouch.
    #[serde(rename_all = "camelCase")]
    Builtin {
        instance: &'static str,
        snapshot_date: &'static str,
        source: &'static str,
    },
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { flag, path } => write!(f, "{flag} {}", path.display()),
            Self::Cache {
                instance,
                mirror,
                dir,
                updated,
                age_seconds,
                expires,
                expired,
                root_version,
                ..
            } => {
                write!(
                    f,
                    "{instance} trust from TUF ({mirror}, root v{root_version}), updated {updated} \
                     ({} ago), cached in {}",
                    age(*age_seconds),
                    dir.display()
                )?;
                if *expired {
                    write!(
                        f,
                        "; its TUF metadata expired at {expires}: run `vouch trust update`"
                    )?;
                }
                Ok(())
            }
            Self::Builtin {
                instance,
                snapshot_date,
                ..
            } => write!(
                f,
                "{instance} trust built into vouch (snapshot of {snapshot_date}; `vouch trust update` refreshes it)"
            ),
        }
    }
}

fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// The trusted root in use and where it came from.
#[derive(Debug)]
pub(crate) struct Trust {
    pub(crate) root: TrustedRoot,
    pub(crate) source: TrustSource,
}

impl TrustArgs {
    /// The Sigstore instance for the cache and built-in trust.
    fn instance(&self) -> Instance {
        if self.staging {
            Instance::Staging
        } else {
            Instance::PublicGood
        }
    }

    /// Resolves the trust once, in the documented order (see [`TRUST_ORDER_HELP`]); with -v
    /// says which. A cache that exists but is corrupt is an error, never skipped.
    pub(crate) fn resolve(&self, ctx: &Context) -> anyhow::Result<Trust> {
        let limits = Limits::default();
        let file = match (&self.trusted_root, &self.trust_config) {
            (Some(p), _) => Some(("--trusted-root", p)),
            (None, Some(p)) => Some(("--trust-config", p)),
            (None, None) => None,
        };
        let trust = if let Some((flag, path)) = file {
            let json = std::fs::read(path)
                .with_context(|| format!("reading {flag} {}", path.display()))?;
            Trust {
                root: TrustedRoot::from_json(&json, &limits)
                    .with_context(|| format!("parsing {flag} {}", path.display()))?,
                source: TrustSource::File {
                    flag,
                    path: path.clone(),
                },
            }
        } else {
            instance_trust(self.instance())?
        };
        if ctx.verbose > 0 {
            eprintln!("vouch: trust: {}", trust.source);
        }
        Ok(trust)
    }
}

/// The cached trust of `instance`, else the built-in one.
fn instance_trust(instance: Instance) -> anyhow::Result<Trust> {
    let limits = Limits::default();
    let cached = match Cache::user() {
        Ok(cache) => cache.load(instance)?,
        Err(vouch_tuf::Error::NoCacheDir) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(match cached {
        Some(c) => {
            let now = now_seconds();
            let root = TrustedRoot::from_json(&c.trusted_root, &limits).with_context(|| {
                format!(
                    "parsing {} of the trust cache {}",
                    vouch_tuf::TRUSTED_ROOT_TARGET,
                    c.dir.display()
                )
            })?;
            Trust {
                root,
                source: TrustSource::Cache {
                    instance: instance.name(),
                    mirror: c.state.mirror.clone(),
                    dir: c.dir.clone(),
                    updated: c.state.updated.to_string(),
                    age_seconds: now - c.state.updated.as_second(),
                    expires: c.state.expires.to_string(),
                    expired: c.state.expires.as_second() <= now,
                    root_version: c.state.versions.root,
                    tuf_versions: c.state.versions,
                },
            }
        }
        None => Trust {
            root: TrustedRoot::from_json(instance.builtin().trusted_root, &limits)
                .context("parsing the built-in trusted root")?,
            source: TrustSource::Builtin {
                instance: instance.name(),
                snapshot_date: vouch_tuf::BUILTIN_SNAPSHOT_DATE,
                source: vouch_tuf::BUILTIN_SOURCE,
            },
        },
    })
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) fn run(command: TrustCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        TrustCommand::Update(a) => update(&a, ctx),
        TrustCommand::Show(a) => show(&a, ctx),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RootSummary {
    certificate_authorities: usize,
    tlogs: usize,
    ctlogs: usize,
    timestamp_authorities: usize,
}

impl From<&TrustedRoot> for RootSummary {
    fn from(r: &TrustedRoot) -> Self {
        Self {
            certificate_authorities: r.certificate_authorities.len(),
            tlogs: r.tlogs.len(),
            ctlogs: r.ctlogs.len(),
            timestamp_authorities: r.timestamp_authorities.len(),
        }
    }
}

impl std::fmt::Display for RootSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} certificate authorities, {} transparency logs, {} CT logs, {} timestamp authorities",
            self.certificate_authorities, self.tlogs, self.ctlogs, self.timestamp_authorities
        )
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpdateReport {
    instance: &'static str,
    mirror: String,
    cache_dir: PathBuf,
    /// Whether the update started from the cached TUF metadata (else from the initial root).
    from_cache: bool,
    tuf_versions: vouch_tuf::RoleVersions,
    expires: String,
    /// Target name -> sha256.
    targets: std::collections::BTreeMap<String, String>,
    trusted_root: RootSummary,
}

fn update(args: &UpdateArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let instance = if args.staging {
        Instance::Staging
    } else {
        Instance::PublicGood
    };
    let mirror = match &args.mirror {
        Some(m) => url::Url::parse(m).with_context(|| format!("--mirror {m}"))?,
        None => instance.default_mirror(),
    };
    let initial_root = match &args.root {
        Some(p) => {
            Some(std::fs::read(p).with_context(|| format!("reading --root {}", p.display()))?)
        }
        None => None,
    };
    let cache = Cache::user()?;
    // The mirror is reached with the same timeouts and retry budget as registries.
    let http = vouch_http::ClientConfig {
        connect_timeout: ctx.registry_timeout,
        response_timeout: ctx.registry_timeout,
        retry: vouch_http::RetryPolicy {
            budget: ctx.registry_retry_budget,
            ..Default::default()
        },
        ..Default::default()
    };
    let options = vouch_tuf::UpdateOptions {
        instance,
        mirror,
        initial_root,
        http,
    };
    let fetched = match vouch_tuf::update(&cache, &options) {
        Ok(f) => f,
        Err(e) => {
            let kept = instance_trust(instance)
                .map(|t| t.source.to_string())
                .unwrap_or_else(|e| format!("(unreadable: {e})"));
            eprintln!("vouch: error: {e}");
            eprintln!("vouch: the trust in use is unchanged: {kept}");
            let refused = matches!(
                &e,
                vouch_tuf::Error::Refused { check, .. } if *check != vouch_tuf::Check::Download
            );
            return Ok(ExitCode::from(if refused {
                EXIT_VERIFY_FAILED
            } else {
                EXIT_ERROR
            }));
        }
    };
    // The targets passed TUF; they must also be what verification can use before they replace
    // the trust in use.
    let root = TrustedRoot::from_json(
        &fetched.targets[vouch_tuf::TRUSTED_ROOT_TARGET],
        &Limits::default(),
    )
    .with_context(|| {
        format!(
            "{} from {}: not a usable trusted root; the trust in use is unchanged",
            vouch_tuf::TRUSTED_ROOT_TARGET,
            options.mirror
        )
    })?;
    if let Some(config) = fetched.targets.get(vouch_tuf::SIGNING_CONFIG_TARGET) {
        let value: serde_json::Value = serde_json::from_slice(config).with_context(|| {
            format!(
                "{} from {}: not JSON",
                vouch_tuf::SIGNING_CONFIG_TARGET,
                options.mirror
            )
        })?;
        let media_type = value["mediaType"].as_str().unwrap_or_default();
        anyhow::ensure!(
            media_type.starts_with("application/vnd.dev.sigstore.signingconfig"),
            "{} from {}: mediaType {media_type:?} is not a Sigstore signing config; the trust in use is unchanged",
            vouch_tuf::SIGNING_CONFIG_TARGET,
            options.mirror
        );
    }
    if args.root.is_some() && fetched.from_cache && !ctx.quiet {
        eprintln!(
            "vouch: note: --root was not used: the cache already trusts this mirror's root (TUF \
             starts from the last trusted root; remove {} to start over)",
            cache.mirror_dir(&options.mirror).display()
        );
    }
    let stored = cache.store(&fetched)?;
    let report = UpdateReport {
        instance: instance.name(),
        mirror: stored.state.mirror,
        cache_dir: stored.dir,
        from_cache: fetched.from_cache,
        tuf_versions: stored.state.versions,
        expires: stored.state.expires.to_string(),
        targets: stored.state.targets,
        trusted_root: RootSummary::from(&root),
    };
    emit(ctx.format, &report, |out, report| {
        writeln!(
            out,
            "{} trust updated from {} (TUF root v{}, timestamp v{}, snapshot v{}, targets v{}; expires {})",
            report.instance,
            report.mirror,
            report.tuf_versions.root,
            report.tuf_versions.timestamp,
            report.tuf_versions.snapshot,
            report.tuf_versions.targets,
            report.expires
        )?;
        for (name, digest) in &report.targets {
            writeln!(out, "  {name}  sha256:{digest}")?;
        }
        writeln!(out, "  trusted root: {}", report.trusted_root)?;
        writeln!(out, "  cached in {}", report.cache_dir.display())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShowReport {
    instance: &'static str,
    source: TrustSource,
    trusted_root: RootSummary,
}

fn show(args: &ShowArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let instance = if args.staging {
        Instance::Staging
    } else {
        Instance::PublicGood
    };
    let trust = instance_trust(instance)?;
    let report = ShowReport {
        instance: instance.name(),
        trusted_root: RootSummary::from(&trust.root),
        source: trust.source,
    };
    emit(ctx.format, &report, |out, report| {
        writeln!(out, "{}", report.source)?;
        writeln!(out, "  trusted root: {}", report.trusted_root)
    })?;
    Ok(ExitCode::SUCCESS)
}
