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
pub(crate) struct StatusArgs {
    #[command(flatten)]
    db: DbPath,
}

pub(crate) fn run(command: DbCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Import(a) => import(&a, ctx),
        DbCommand::Update(a) => update(&a, ctx),
        DbCommand::Status(a) => status(&a, ctx),
    }
    .map(|()| ExitCode::SUCCESS)
}

/// How many malformed records are listed on stderr without -v.
const SHOWN_ISSUES: usize = 20;

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
