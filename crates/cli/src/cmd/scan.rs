//! `vouch scan`: match an SBOM's packages against the local vulnerability database.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use vouch_vuln::{Database, IgnoreRules, ScanOptions, ScanReport, Severity, Vex};

use super::db::DbPath;
use crate::cli::{Context, Format};

/// Exit code when a finding at or above `--fail-on` remains after suppressions.
pub(crate) const EXIT_VULNERABLE: u8 = 3;

const SCAN_HELP: &str = "\
Input: an SPDX 2.2/2.3 JSON or CycloneDX JSON SBOM (vouch's or syft's), or a text file
of purls, one per line. Packages are matched by ecosystem and name (PEP 503 names for
PyPI); OS packages (deb, apk) by source package in their distro release's advisories
(Debian:12, Alpine:v3.19). One CVE reported by several records is one finding; withdrawn
records and RustSec informational notices are not findings.

Severity comes from the advisory's CVSS v3.x or v4 vector (scored by vouch), else the
vendor's word (GHSA, Debian urgency). Without either it is `unknown`, which --fail-on
does not count unless --fail-on-unknown is given.

Ignore file (--ignore, YAML or JSON):
  ignore:
    - id: CVE-2021-33203        # finding id or any alias
      package: django           # optional: name or purl
      expires: 2030-01-31       # optional: stops applying after this day
      reason: admin site not deployed
OpenVEX (--vex): statements with status not_affected or fixed suppress the finding for
the products/subcomponents they name; the justification is shown. Suppressed findings
stay in JSON, SARIF and VEX output, marked, and never count for --fail-on.

Exit codes:
  0  no finding at or above --fail-on (or no --fail-on)
  1  error: unreadable SBOM, missing or damaged database (the message says how to import)
  2  usage error
  3  at least one unsuppressed finding at or above the --fail-on severity";

/// Find known vulnerabilities in the packages of an SBOM, offline.
#[derive(Debug, Args)]
#[command(after_help = SCAN_HELP)]
pub(crate) struct ScanArgs {
    /// The SBOM (SPDX or CycloneDX JSON, or a purl list); `-` reads stdin.
    #[arg(value_name = "SBOM")]
    source: String,
    #[command(flatten)]
    db: DbPath,
    /// Exit with code 3 if an unsuppressed finding has this severity or higher.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
    /// With --fail-on, count findings of unknown severity as failing too.
    #[arg(long, requires = "fail_on")]
    fail_on_unknown: bool,
    /// Report only findings with a known fixed version.
    #[arg(long)]
    only_fixed: bool,
    /// Ignore-rules file (see below).
    #[arg(long, value_name = "FILE")]
    ignore: Option<PathBuf>,
    /// OpenVEX document; repeatable.
    #[arg(long, value_name = "FILE")]
    vex: Vec<PathBuf>,
    /// Report format; overrides -o (sarif for code-scanning uploads, cyclonedx-vex for
    /// CycloneDX 1.6 VEX).
    #[arg(long, value_enum)]
    format: Option<ScanFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            Self::Low => Severity::Low,
            Self::Medium => Severity::Medium,
            Self::High => Severity::High,
            Self::Critical => Severity::Critical,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScanFormat {
    Table,
    Json,
    Sarif,
    CyclonedxVex,
}

pub(crate) fn run(args: ScanArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = vouch_vuln::Limits::default();
    let (bytes, label) = read_input(&args.source, ctx)?;
    let list = vouch_vuln::read_sbom(&bytes, &label, &limits)?;
    let db = Database::open(&args.db.path())?;
    let mut report = db.scan(
        &list.packages,
        ScanOptions {
            only_fixed: args.only_fixed,
        },
    )?;
    let mut warnings: Vec<String> = Vec::new();
    if let Some(path) = &args.ignore {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading --ignore {}", path.display()))?;
        let rules = IgnoreRules::parse(&bytes, &path.display().to_string())?;
        warnings.extend(rules.apply(&mut report));
    }
    for path in &args.vex {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading --vex {}", path.display()))?;
        Vex::parse(&bytes, &path.display().to_string())?.apply(&mut report);
    }
    if !ctx.quiet {
        for w in &warnings {
            eprintln!("vouch: warning: {w}");
        }
        if ctx.verbose > 0 {
            for s in &list.skipped {
                eprintln!("vouch: not matched (SBOM entry): {s}");
            }
            for u in &report.unmatchable {
                eprintln!("vouch: not matched: {}: {}", u.package, u.reason);
            }
        }
    }
    let format = args.format.unwrap_or(match ctx.format {
        Format::Json => ScanFormat::Json,
        Format::Table => ScanFormat::Table,
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        ScanFormat::Json => serde_json::to_writer_pretty(&mut out, &report)?,
        ScanFormat::Sarif => {
            serde_json::to_writer_pretty(&mut out, &vouch_vuln::report::sarif(&report, &label))?
        }
        ScanFormat::CyclonedxVex => {
            serde_json::to_writer_pretty(&mut out, &vouch_vuln::report::cyclonedx_vex(&report))?
        }
        ScanFormat::Table => table(&mut out, &report)?,
    }
    if format != ScanFormat::Table {
        writeln!(out)?;
    }
    out.flush()?;
    if !ctx.quiet {
        eprintln!("vouch: {}", summary(&report, list.skipped.len()));
    }
    Ok(verdict(&report, &args, ctx))
}

fn read_input(source: &str, ctx: &Context) -> anyhow::Result<(Vec<u8>, String)> {
    if source == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("reading the SBOM from stdin")?;
        return Ok((bytes, "stdin".into()));
    }
    let path = Path::new(source);
    if path.is_file() && !source.starts_with("docker-archive:") {
        let bytes = std::fs::read(path).with_context(|| format!("reading {source}"))?;
        return Ok((bytes, source.to_owned()));
    }
    // An image or directory: catalog it first, then scan its CycloneDX form (the same path
    // an SBOM file takes, so distro and source-package details are read one way).
    let options = vouch_sbom::Options {
        scope: vouch_sbom::Scope::Squashed,
        platform: None,
        registry: super::registry_options(ctx)?,
        supplier: None,
        catalogers: Vec::new(),
    };
    let sbom = vouch_sbom::generate(source, &options)
        .with_context(|| format!("cataloging {source} (give an SBOM file to scan one instead)"))?;
    for w in &sbom.warnings {
        if !ctx.quiet {
            eprintln!("vouch: warning: {w}");
        }
    }
    let bytes = vouch_sbom::format::encode(&sbom, vouch_sbom::format::Format::CycloneDxJson)?;
    Ok((bytes, source.to_owned()))
}

fn verdict(report: &ScanReport, args: &ScanArgs, ctx: &Context) -> ExitCode {
    let Some(fail_on) = args.fail_on else {
        return ExitCode::SUCCESS;
    };
    let threshold = fail_on.severity();
    let failing = report
        .open()
        .filter(|f| {
            f.severity() >= threshold || (args.fail_on_unknown && f.severity() == Severity::Unknown)
        })
        .count();
    let unknown = report
        .open()
        .filter(|f| f.severity() == Severity::Unknown)
        .count();
    if unknown > 0 && !args.fail_on_unknown && !ctx.quiet {
        eprintln!(
            "vouch: note: {unknown} finding(s) of unknown severity were not counted for --fail-on \
             (add --fail-on-unknown to count them)"
        );
    }
    if failing > 0 {
        eprintln!(
            "vouch: {failing} finding(s) at or above {} severity",
            threshold
        );
        ExitCode::from(EXIT_VULNERABLE)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(report: &ScanReport, skipped_entries: usize) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for f in report.open() {
        *counts
            .entry(std::cmp::Reverse(f.severity()))
            .or_insert(0usize) += 1;
    }
    let by_sev: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.0)).collect();
    let suppressed = report.findings.len() - report.open().count();
    let not_matched = report.unmatchable.len() + skipped_entries;
    format!(
        "{} packages scanned, {} findings{}{}{}",
        report.packages,
        report.open().count(),
        if by_sev.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_sev.join(", "))
        },
        if suppressed > 0 {
            format!(", {suppressed} suppressed")
        } else {
            String::new()
        },
        if not_matched > 0 {
            format!(", {not_matched} entries not matchable (-v lists them)")
        } else {
            String::new()
        },
    )
}

fn table(out: &mut dyn Write, report: &ScanReport) -> std::io::Result<()> {
    let open: Vec<_> = report.open().collect();
    if open.is_empty() {
        writeln!(out, "No vulnerabilities found.")?;
    } else {
        let rows: Vec<[String; 5]> = open
            .iter()
            .map(|f| {
                [
                    f.package.name.clone(),
                    f.package.version.clone(),
                    if f.fixed_versions.is_empty() {
                        "-".into()
                    } else {
                        f.fixed_versions.join(", ")
                    },
                    f.id.clone(),
                    match f.rating.score {
                        Some(s) => format!("{} ({s:.1})", f.severity()),
                        None => f.severity().to_string(),
                    },
                ]
            })
            .collect();
        let headers = [
            "PACKAGE",
            "INSTALLED",
            "FIXED IN",
            "VULNERABILITY",
            "SEVERITY",
        ];
        let mut widths = headers.map(str::len);
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: [&str; 5]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i == 4 {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$}  ", w = widths[i]));
                }
            }
            s
        };
        writeln!(out, "{}", line(headers))?;
        for r in &rows {
            writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]))?;
        }
    }
    let suppressed: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .collect();
    if !suppressed.is_empty() {
        writeln!(out, "\nSuppressed:")?;
        for f in suppressed {
            if let Some(s) = &f.suppressed {
                writeln!(
                    out,
                    "  {} {} {}: {} ({})",
                    f.package.name, f.package.version, f.id, s.reason, s.by
                )?;
            }
        }
    }
    Ok(())
}
