//! `vouch db import | update | status`: the local vulnerability database.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vouch_vuln::{Database, ImportOptions, Source};

use crate::cli::Context;
use crate::output::{emit, human_bytes};

const DB_HELP: &str = "\
The database is one SQLite file: --db PATH, else $VOUCH_DB, else
$XDG_DATA_HOME/vouch/vuln.db (~/.local/share/vouch/vuln.db). Scans read only the rows of
the packages they look up and never touch the network.

Exit codes:
  0  success (malformed records are reported on stderr and skipped; the rest is imported)
  1  error: a source could not be read or downloaded, or the database is damaged; an
     import that fails leaves the database exactly as it was before
  2  usage error";

/// Where the database lives (shared with `vouch scan`).
#[derive(Debug, Args)]
pub(crate) struct DbPath {
    /// The vulnerability database file.
    #[arg(long = "db", value_name = "PATH", env = "VOUCH_DB")]
    pub(crate) db: Option<PathBuf>,
}

impl DbPath {
    pub(crate) fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(vouch_vuln::default_db_path)
    }
}

/// Import OSV advisories and show what the local vulnerability database holds.
#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Import OSV advisories from files, directories, zip exports or URLs.
    ///
    /// Each SOURCE is an OSV record (.json, .yaml/.yml), a directory searched recursively
    /// for them, a zip archive such as the per-ecosystem all.zip exports of osv.dev, or an
    /// http(s) URL of either. Re-importing is incremental: a record replaces the stored
    /// copy only if its `modified` time is newer. Everything is imported in one
    /// transaction, so an interrupted or failed import leaves the previous database intact.
    ///
    /// Examples:
    ///   vouch db import advisory-db/crates/ go-vulndb/osv/ pypa/vulns/
    ///   vouch db import ~/Downloads/PyPI-all.zip
    ///   vouch db import https://mirror.example/osv/Debian/all.zip
    ///
    /// Besides OSV records, SOURCE may be an NVD CVE 2.0 feed or API response (.json or
    /// .json.gz), a CVEList v5 record or directory of them (ratings for the CVEs distro
    /// advisories name), an EPSS CSV (.csv or .csv.gz) or CISA's KEV catalogue
    /// (known_exploited_vulnerabilities.json); the kind is recognised from the content.
    #[command(after_help = DB_HELP, verbatim_doc_comment)]
    Import(ImportArgs),
    /// Refresh the database from osv.dev (or a mirror of its bucket).
    ///
    /// Downloads <BASE>/<ECOSYSTEM>/all.zip for each ecosystem, osv.dev's per-ecosystem
    /// exports, and imports them incrementally: a record replaces the stored copy only
    /// when its `modified` is newer. Without --ecosystem, the ecosystems the database
    /// already holds are refreshed. --from takes an http(s) URL or a local directory in
    /// the same layout (for air gaps: copy the bucket's folders).
    ///
    /// Examples:
    ///   vouch db update --ecosystem Debian --ecosystem PyPI
    ///   vouch db update
    ///   vouch db update --from /srv/osv-mirror
    #[command(after_help = DB_HELP, verbatim_doc_comment)]
    Update(UpdateArgs),
    /// Push the database to a registry as an OCI artifact and sign it.
    ///
    /// The artifact (artifactType application/vnd.vouch.vulndb.v1) holds the SQLite file
    /// as its one layer; it is signed like `vouch sign` signs an image (a Sigstore bundle
    /// stored as an OCI 1.1 referrer), so it travels with `vouch image copy` and is checked
    /// by `vouch db pull` before use. Sign with --key (logged to the transparency log when
    /// one is configured, as `vouch sign --key`), or with --keyless: a short-lived
    /// certificate for your OIDC identity from the CA of --trust-config, the signature
    /// logged in its transparency log; `db pull --certificate-identity
    /// --certificate-oidc-issuer` then checks who signed.
    ///
    /// Examples:
    ///   vouch db push registry.example/security/vulndb:2024-06-01 --key cosign.key
    ///   vouch db push registry.example/security/vulndb:2024-06-01 --keyless \
    ///       --trust-config trust_config.json
    #[command(after_help = DB_HELP, verbatim_doc_comment)]
    // Boxed: its signing flags make it several times the size of the others
    // (clippy::large_enum_variant); clap parses a Box<Args> like the Args.
    Push(Box<PushArgs>),
    /// Pull a database pushed by `vouch db push`, verifying its signature first.
    ///
    /// The artifact's signature must verify against --key, or come from the certificate
    /// identity and OIDC issuer given (--certificate-identity[-regexp] and
    /// --certificate-oidc-issuer[-regexp], as cosign spells them) under the trusted root
    /// (--trusted-root, --trust-config, or the TUF cache); otherwise nothing is written. The
    /// layer is checked against its digest, opened as a vouch database of this schema, and
    /// only then replaces the database file (atomically).
    ///
    /// Examples:
    ///   vouch db pull registry.example/security/vulndb:2024-06-01 --key cosign.pub
    ///   vouch db pull registry.example/security/vulndb:2024-06-01 \
    ///       --certificate-identity release@example.com \
    ///       --certificate-oidc-issuer https://accounts.example.com \
    ///       --trust-config trust_config.json
    #[command(after_help = DB_HELP, verbatim_doc_comment)]
    Pull(Box<PullArgs>),
    /// Show the database's sources, advisory counts per ecosystem and age.
    #[command(after_help = DB_HELP)]
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// OSV files, directories, zip archives or http(s) URLs.
    #[arg(value_name = "SOURCE", required = true)]
    sources: Vec<String>,
    #[command(flatten)]
    db: DbPath,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// Base URL or directory of the bucket layout.
    #[arg(long, value_name = "URL|DIR", default_value = vouch_vuln::OSV_BUCKET)]
    from: String,
    /// Ecosystem folder to fetch (`Debian`, `Alpine`, `Ubuntu`, `Red Hat`, `SUSE`,
    /// `openSUSE`, `Rocky Linux`, `AlmaLinux`, `Wolfi`, `Chainguard`, `PyPI`, `Go`, ...);
    /// repeatable. Default: the ecosystems already in the database.
    #[arg(long = "ecosystem", value_name = "NAME")]
    ecosystems: Vec<String>,
    #[command(flatten)]
    db: DbPath,
}

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// Registry reference to push to (`registry/repo:tag`).
    #[arg(value_name = "REF")]
    reference: String,
    /// Private key to sign the artifact with, as for `vouch sign` (a file, env://NAME, a
    /// KMS or pkcs11: URI), or --keyless.
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
    #[command(flatten)]
    db: DbPath,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// Registry reference of the artifact (`registry/repo:tag` or `@sha256:…`).
    #[arg(value_name = "REF")]
    reference: String,
    #[command(flatten)]
    policy: super::verify::PolicyArgs,
    #[command(flatten)]
    db: DbPath,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    db: DbPath,
}

pub(crate) fn run(command: DbCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Import(a) => import(&a, ctx),
        DbCommand::Update(a) => update(&a, ctx),
        DbCommand::Push(a) => push(&a, ctx),
        DbCommand::Pull(a) => pull(&a, ctx),
        DbCommand::Status(a) => status(&a, ctx),
    }
    .map(|()| ExitCode::SUCCESS)
}

/// How many malformed records are listed on stderr without -v.
const SHOWN_ISSUES: usize = 20;

/// The artifact type of a pushed database, and its config and layer media types.
const DB_ARTIFACT: &str = "application/vnd.vouch.vulndb.v1";
const DB_CONFIG: &str = "application/vnd.vouch.vulndb.config.v1+json";
const DB_LAYER: &str = "application/vnd.vouch.vulndb.sqlite.v1";
/// Largest database `db pull` accepts.
const MAX_PULLED_DB: u64 = 16 << 30;

fn registry_location(reference: &str) -> anyhow::Result<vouch_oci::Location> {
    let location = vouch_oci::Location::parse(reference)?;
    if !matches!(location, vouch_oci::Location::Registry(_)) {
        anyhow::bail!("{reference}: give a registry reference (registry/repo:tag)");
    }
    Ok(location)
}

/// `db push -o json`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PushReport {
    reference: String,
    digest: String,
    size: usize,
    schema_version: String,
    advisories: u64,
    #[serde(flatten)]
    signer: super::sign::SignerJson,
}

fn push(args: &PushArgs, ctx: &Context) -> anyhow::Result<()> {
    use vouch_oci::{Digest, RawManifest};
    let path = args.db.path();
    // Only a database this vouch can read is pushed.
    let status = Database::open(&path)?.status()?;
    // The signer is settled before anything is uploaded (a missing key, trust config or
    // token fails here); a keyless certificate is requested only once the artifact is
    // stored, so its ten minutes are not spent on the upload.
    let keyless = if args.keyless.enabled() {
        Some(args.keyless.signer()?)
    } else {
        None
    };
    let key = match (&keyless, &args.key) {
        (None, Some(key)) => Some(super::keys::load_signer(key, args.pin.as_deref())?),
        (None, None) => anyhow::bail!("give --key KEY or --keyless"),
        (Some(_), _) => None,
    };
    let log = match &key {
        Some(key) => args.tlog.key_log(&args.keyless, &**key)?,
        None => None,
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let location = registry_location(&args.reference)?;
    let options = super::registry_options(ctx)?;
    let (sink, tag) = vouch_oci::open_sink(&location, &options)?;
    let config = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": status.schema_version,
        "advisories": status.advisories,
        "newestModified": status.newest_modified,
    }))?;
    let config_digest = Digest::sha256(&config);
    let layer_digest = Digest::sha256(&bytes);
    sink.put_blob(&config_digest, config.len() as u64, &mut &config[..])?;
    sink.put_blob(&layer_digest, bytes.len() as u64, &mut &bytes[..])?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": DB_ARTIFACT,
        "config": {"mediaType": DB_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": DB_LAYER, "digest": layer_digest.to_string(), "size": bytes.len(),
                    "annotations": {"org.opencontainers.image.title": "vuln.db"}}],
    }))?;
    let raw = RawManifest::new(manifest, None, None, "database manifest")?;
    sink.put_manifest(&raw, tag.as_deref())?;
    // Sign the manifest by digest, as `vouch sign` signs an image.
    let pinned = format!(
        "{}@{}",
        match &location {
            vouch_oci::Location::Registry(r) => r.name(),
            _ => unreachable!("checked above"),
        },
        raw.digest
    );
    let opened = super::sign::open_image(&pinned, ctx, None)?;
    let store = vouch_sign::oci::Store {
        source: opened.source.as_ref(),
        sink: sink.as_ref(),
        limits: vouch_sign::Limits::default(),
    };
    let format = vouch_sign::oci::SignatureFormat::Bundle;
    let no_annotations = std::collections::BTreeMap::new();
    let signer = match (&keyless, &key) {
        (Some((signer, token)), _) => {
            let session = signer.certify(token)?;
            session
                .sign_image(&store, &opened.target, format, &no_annotations)
                .with_context(|| format!("signing {pinned}"))?;
            super::sign::SignerJson::session(&session)
        }
        (None, Some(key)) => {
            let witnesses = log
                .as_ref()
                .map(super::sign::KeyLog::witnesses)
                .unwrap_or_default();
            store
                .sign_image_with(&opened.target, &**key, &witnesses, format, &no_annotations)
                .with_context(|| format!("signing {pinned}"))?;
            super::sign::SignerJson::key(&**key)
        }
        (None, None) => unreachable!("a signer was required above"),
    };
    let report = PushReport {
        reference: args.reference.clone(),
        digest: raw.digest.to_string(),
        size: bytes.len(),
        schema_version: status.schema_version.clone(),
        advisories: status.advisories,
        signer,
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(
            out,
            "pushed {} ({}, {} advisories) as {} and signed it as {}",
            path.display(),
            human_bytes(bytes.len() as u64),
            status.advisories,
            pinned,
            r.signer.line()
        )
    })
}

fn pull(args: &PullArgs, ctx: &Context) -> anyhow::Result<()> {
    use vouch_oci::{Digest, Selector};
    registry_location(&args.reference)?;
    let (verifier, policy) = args.policy.build(ctx)?;
    let opened = super::sign::open_image(&args.reference, ctx, None)?;
    let target = &opened.target;
    let report = vouch_sign::image::verify_image(
        &verifier,
        opened.source.as_ref(),
        target,
        &policy,
        &std::collections::BTreeMap::new(),
        &vouch_sign::Limits::default(),
    )
    .with_context(|| format!("verifying the signature of {}", target.pinned()))?;
    if !report.is_verified() {
        let reasons: Vec<String> = report
            .checked
            .iter()
            .filter_map(|c| c.outcome.as_ref().err())
            .map(|e| {
                let (check, message) = super::verify::failure(e, &policy)
                    .unwrap_or(("reading signature", e.to_string()));
                format!("{check}: {message}")
            })
            .collect();
        anyhow::bail!(
            "refusing {}: no signature verifies against the given key or identity{}; the \
             database was not changed",
            target.pinned(),
            if reasons.is_empty() {
                " (none found)".to_owned()
            } else {
                format!(" ({})", reasons.join("; "))
            }
        );
    }
    // The verified digest names the manifest; the manifest names the layer by digest.
    let raw = opened
        .source
        .manifest(&Selector::Digest(target.digest.clone()))?;
    let manifest: serde_json::Value = serde_json::from_slice(&raw.bytes)?;
    let layer = match manifest["layers"].as_array().map(Vec::as_slice) {
        Some([one])
            if manifest["config"]["mediaType"] == DB_CONFIG && one["mediaType"] == DB_LAYER =>
        {
            one
        }
        _ => anyhow::bail!(
            "{} is not a vouch database artifact (expected config {DB_CONFIG} and one {DB_LAYER} layer)",
            target.pinned()
        ),
    };
    let digest: Digest = layer["digest"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .context("the layer digest")?;
    let size = layer["size"].as_u64().context("the layer size")?;
    if size > MAX_PULLED_DB {
        anyhow::bail!("the database layer is {size} bytes, over the {MAX_PULLED_DB}-byte limit");
    }
    let bytes = vouch_oci::read_blob(opened.source.as_ref(), &digest, size)?;
    let path = args.db.path();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    // A temporary file beside the database, renamed over it only once it opens.
    let tmp = dir.join(format!(
        ".{}.pull-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("vuln.db"),
        std::process::id()
    ));
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    let checked = Database::open(&tmp).and_then(|db| db.status());
    let status = match checked {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).context("the pulled file is not a usable vouch database");
        }
    };
    if let Err(e) = std::fs::rename(&tmp, &path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    let out = serde_json::json!({
        "reference": args.reference,
        "digest": target.digest.to_string(),
        "database": path.display().to_string(),
        "advisories": status.advisories,
        "verified": true,
    });
    emit(ctx.format, &out, |w, _| {
        writeln!(
            w,
            "verified {} and wrote {} ({} advisories)",
            target.pinned(),
            path.display(),
            status.advisories
        )
    })
}

fn import_options(ctx: &Context) -> ImportOptions {
    ImportOptions {
        transport: vouch_http::TransportPolicy::with_insecure_hosts(
            ctx.insecure_registries.iter().cloned(),
        ),
        ..ImportOptions::default()
    }
}

fn update(args: &UpdateArgs, ctx: &Context) -> anyhow::Result<()> {
    let path = args.db.path();
    let started = std::time::Instant::now();
    let mut db = Database::open_or_create(&path)?;
    let ecosystems = if args.ecosystems.is_empty() {
        db.ecosystems()?
    } else {
        args.ecosystems.clone()
    };
    if ecosystems.is_empty() {
        anyhow::bail!(
            "the database {} is empty: name what to fetch with --ecosystem (e.g. --ecosystem \
             Debian --ecosystem PyPI)",
            path.display()
        );
    }
    let report = db
        .update(&args.from, &ecosystems, &import_options(ctx))
        .with_context(|| format!("updating {} from {}", path.display(), args.from))?;
    report_import(&report, &path, started.elapsed(), ctx)
}

fn import(args: &ImportArgs, ctx: &Context) -> anyhow::Result<()> {
    let path = args.db.path();
    let sources: Vec<Source> = args.sources.iter().map(|s| Source::parse(s)).collect();
    let started = std::time::Instant::now();
    let mut db = Database::open_or_create(&path)?;
    let report = db
        .import(&sources, &import_options(ctx))
        .with_context(|| format!("importing into {}", path.display()))?;
    report_import(&report, &path, started.elapsed(), ctx)
}

fn report_import(
    report: &vouch_vuln::ImportReport,
    path: &std::path::Path,
    elapsed: std::time::Duration,
    ctx: &Context,
) -> anyhow::Result<()> {
    let shown = if ctx.verbose > 0 {
        report.issues.len()
    } else {
        SHOWN_ISSUES
    };
    for i in report.issues.iter().take(shown) {
        let field = if i.field.is_empty() {
            String::new()
        } else {
            format!(" field {}:", i.field)
        };
        eprintln!(
            "vouch: skipped malformed record {}:{field} {}",
            i.file, i.reason
        );
    }
    if report.issues.len() > shown {
        eprintln!(
            "vouch: … and {} more malformed records (-v lists all)",
            report.issues.len() - shown
        );
    }
    emit(ctx.format, report, |out, r| {
        for s in &r.sources {
            writeln!(
                out,
                "{} [{}]: {} records ({} new, {} updated, {} unchanged, {} malformed){}",
                s.location,
                s.kind,
                s.records,
                s.added,
                s.updated,
                s.unchanged,
                s.malformed,
                s.newest
                    .as_deref()
                    .map(|n| format!(", newest {n}"))
                    .unwrap_or_default()
            )?;
        }
        if !r.unsupported_ecosystems.is_empty() && ctx.verbose > 0 {
            let list: Vec<String> = r
                .unsupported_ecosystems
                .iter()
                .map(|(k, v)| format!("{k} ({v})"))
                .collect();
            writeln!(
                out,
                "entries of ecosystems without version ordering, skipped: {}",
                list.join(", ")
            )?;
        }
        if !ctx.quiet {
            writeln!(
                out,
                "database {} updated in {:.2} s",
                path.display(),
                elapsed.as_secs_f64()
            )?;
        }
        Ok(())
    })
}

fn status(args: &StatusArgs, ctx: &Context) -> anyhow::Result<()> {
    let db = Database::open(&args.db.path())?;
    let status = db.status()?;
    emit(ctx.format, &status, |out, s| {
        writeln!(
            out,
            "Database:   {} ({})",
            s.path.display(),
            human_bytes(s.size_bytes)
        )?;
        writeln!(out, "Schema:     {}", s.schema_version)?;
        writeln!(
            out,
            "Advisories: {} ({} withdrawn)",
            s.advisories, s.withdrawn
        )?;
        writeln!(
            out,
            "CVE ratings: {} (NVD/CVEList), EPSS scores: {}, KEV entries: {}",
            s.cve_ratings, s.epss_scores, s.kev_entries
        )?;
        if let Some(m) = &s.newest_modified {
            let age = s
                .data_age_seconds
                .map(|a| format!(", {} old", human_age(a)))
                .unwrap_or_default();
            writeln!(out, "Newest:     {m} (modified{age})")?;
        }
        if let Some(age) = s.age_seconds {
            writeln!(out, "Imported:   {} ago", human_age(age))?;
        }
        writeln!(
            out,
            "\n{:<28} {:>10} {:>9}",
            "ECOSYSTEM", "ADVISORIES", "PACKAGES"
        )?;
        for e in &s.ecosystems {
            writeln!(
                out,
                "{:<28} {:>10} {:>9}",
                e.ecosystem, e.advisories, e.packages
            )?;
        }
        writeln!(out, "\nSOURCES")?;
        for src in &s.sources {
            writeln!(
                out,
                "  {} [{}] (imported {} ago{}): {} records, {} new, {} updated, {} malformed",
                src.location,
                src.kind,
                human_age(vouch_age(src.imported_at)),
                src.data_age_seconds
                    .map(|a| format!(", data {} old", human_age(a)))
                    .unwrap_or_default(),
                src.records,
                src.added,
                src.updated,
                src.malformed
            )?;
        }
        Ok(())
    })
}

fn vouch_age(at: u64) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    now.saturating_sub(at)
}

/// `93784` -> `1 d 2 h`.
pub(crate) fn human_age(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}
