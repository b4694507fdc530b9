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
Input: an SPDX 2.2/2.3 JSON, CycloneDX JSON or syft JSON SBOM (vouch's or syft's; `sbom:FILE`
as in grype), a text file of purls, one per line, or an image or directory to catalog
first (any `vouch sbom` source: REF, registry:REF, oci-archive:FILE, dir:PATH, …).
Packages are matched by ecosystem and name (PEP 503 names for PyPI); OS packages (deb,
apk) by source package in their distro release's advisories (Debian:12, Alpine:v3.19).
One CVE reported by several records is one finding; withdrawn records and RustSec
informational notices are not findings.

Severity: for OS packages the distro's own rating wins where it gives one (Debian
urgency, Ubuntu priority, Red Hat / AlmaLinux / Rocky severity), as in grype. Otherwise
the advisory's CVSS v3.x, v4 or v2 vector (scored by vouch), else GHSA's word. Distro
records (DEBIAN-CVE, DSA, DLA, ALPINE, SUSE, ...) usually carry none: then the rating
of the CVEs they name (upstream, aliases, related) is used, from OSV CVE-* records, NVD
CVE 2.0 feeds or CVEList v5 records imported with `vouch db import`. JSON/SARIF say where
each rating came from (rating.from; the table's RATED BY). Without any it is `unknown`,
which --fail-on does not count unless --fail-on-unknown is given.

OS packages of a distro release the database has no advisories for (or that osv.dev
does not cover, such as Amazon Linux) are named in a warning and in the JSON report
(distros_without_data): an empty result for them proves nothing.

Prioritisation: with EPSS (CSV) and CISA KEV (JSON) files imported, findings carry
their EPSS score and KEV listing; --fail-on-kev and --fail-on-epss P fail on them.

Ignore file (--ignore, YAML or JSON):
  ignore:
    - id: CVE-2021-33203        # finding id or any alias
      package: django           # optional: name or purl
      expires: 2030-01-31       # optional: stops applying after this day
      reason: admin site not deployed
OpenVEX (--vex): statements with status not_affected or fixed suppress the finding for
the products/subcomponents they name; the justification is shown. Suppressed findings
stay in JSON, SARIF and VEX output, marked, and never count for --fail-on.

Outputs (-o FORMAT[=FILE], repeatable, as grype; one may go to stdout):
  table, json, sarif (SARIF 2.1.0), cyclonedx (CycloneDX 1.6 XML with vulnerabilities),
  cyclonedx-json (the same as JSON)

grype's configuration file (-c FILE, else .grype.yaml, .grype/config.yaml,
~/.grype.yaml, $XDG_CONFIG_HOME/grype/config.yaml): its `ignore:` rules (vulnerability,
include-aliases, fix-state, package name/version/type/language/location/upstream-name)
suppress findings as grype documents; only-fixed, only-notfixed, ignore-wontfix, by-cve,
fail-on-severity and output are read. Keys vouch cannot evaluate (namespace, match-type,
vex-status rules, or other settings that change results) make loading fail.
Fix states: `fixed` when a newer fixed version is known, else `not-fixed`.

Exit codes:
  0  no finding at or above --fail-on (or no --fail-on)
  1  error: unreadable SBOM, missing or damaged database (the message says how to import)
  2  usage error
  3  at least one unsuppressed finding at or above the --fail-on severity, in KEV
     (--fail-on-kev) or at or above the --fail-on-epss probability
  1  also: the database is older than --max-db-age";

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
    /// Exit with code 3 if an unsuppressed finding is in CISA's Known Exploited
    /// Vulnerabilities catalogue (needs a KEV file imported).
    #[arg(long)]
    fail_on_kev: bool,
    /// Exit with code 3 if an unsuppressed finding's EPSS probability is at least P
    /// (0 to 1, e.g. 0.1; needs an EPSS file imported).
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    fail_on_epss: Option<f64>,
    /// Fail (exit 1) when the newest advisory in the database is older than this, e.g.
    /// `5d`, `36h` (grype's fail-on-stale check; `vouch db update` refreshes it).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    max_db_age: Option<u64>,
    /// Report only findings with a known fixed version.
    #[arg(long, conflicts_with = "only_notfixed")]
    only_fixed: bool,
    /// Suppress findings that have a fixed version (grype's --only-notfixed).
    #[arg(long)]
    only_notfixed: bool,
    /// Suppress findings in these fix states, comma-separated: fixed, not-fixed,
    /// wont-fix, unknown (grype's --ignore-states).
    #[arg(long, value_name = "STATES", value_parser = parse_states)]
    ignore_states: Option<FixStates>,
    /// Report findings under their CVE id where one is known (grype's --by-cve).
    #[arg(long)]
    by_cve: bool,
    /// grype configuration file to read ignore rules and settings from (default: the first
    /// of .grype.yaml, .grype/config.yaml, ~/.grype.yaml that exists).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    grype_config: Option<PathBuf>,
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
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            Self::Negligible => Severity::Negligible,
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
    /// CycloneDX 1.6 JSON with vulnerabilities (also `cyclonedx-json`).
    #[value(alias = "cyclonedx-json")]
    CyclonedxVex,
    /// CycloneDX 1.6 XML with vulnerabilities (grype's `cyclonedx`).
    #[value(name = "cyclonedx", alias = "cyclonedx-xml")]
    CyclonedxXml,
}

/// `--ignore-states` as one value (clap would read a `Vec` as repeated values).
#[derive(Debug, Clone)]
struct FixStates(Vec<vouch_vuln::grype::FixState>);

fn parse_states(s: &str) -> Result<FixStates, String> {
    vouch_vuln::grype::parse_fix_states(s).map(FixStates)
}

/// One `-o FORMAT[=FILE]` of `vouch scan`, in grype's names.
fn parse_output(s: &str) -> anyhow::Result<(ScanFormat, Option<PathBuf>)> {
    let (f, file) = match s.split_once('=') {
        Some((f, p)) if !p.is_empty() => (f, Some(PathBuf::from(p))),
        Some((f, _)) => (f, None),
        None => (s, None),
    };
    let format = ScanFormat::from_str(f, false).map_err(|_| {
        anyhow::anyhow!(
            "-o {f}: vouch scan writes table, json, sarif, cyclonedx (XML) and cyclonedx-json"
        )
    })?;
    Ok((format, file))
}

pub(crate) fn run(args: ScanArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let limits = vouch_vuln::Limits::default();
    // grype's configuration: named with -c, else found where grype looks.
    let config_path = match &args.grype_config {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| vouch_vuln::grype::find_config(&d)),
    };
    let grype = match &config_path {
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("reading grype configuration {}", p.display()))?;
            let g = vouch_vuln::grype::GrypeConfig::parse(&bytes, &p.display().to_string())?;
            // Said even without -v: a file found in the working directory or home can
            // suppress findings, so the run names it.
            if !ctx.quiet {
                eprintln!(
                    "vouch: grype configuration {} ({} ignore rules)",
                    p.display(),
                    g.config.ignore.len()
                );
            }
            Some(g)
        }
        None => None,
    };
    let conf = grype.as_ref().map(|g| &g.config);
    let mut outputs: Vec<(ScanFormat, Option<PathBuf>)> = ctx
        .outputs
        .iter()
        .map(|o| parse_output(o))
        .collect::<anyhow::Result<_>>()?;
    if outputs.is_empty()
        && let Some(o) = conf.and_then(|c| c.output.as_ref())
    {
        let names: Vec<String> = match o {
            serde_norway::Value::String(s) => vec![s.clone()],
            serde_norway::Value::Sequence(v) => v
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        for n in names {
            outputs.push(parse_output(&n).context("grype configuration `output`")?);
        }
    }
    if let Some(f) = args.format {
        // --format overrides the stdout -o (older vouch spelling).
        outputs.retain(|(_, file)| file.is_some());
        outputs.push((f, None));
    }
    if outputs.iter().all(|(_, file)| file.is_some()) {
        outputs.push((
            match ctx.format {
                Format::Json => ScanFormat::Json,
                Format::Table => ScanFormat::Table,
            },
            None,
        ));
    }
    if outputs.iter().filter(|(_, file)| file.is_none()).count() > 1 {
        anyhow::bail!(
            "more than one -o writes to stdout; give all but one a file (-o FORMAT=FILE)"
        );
    }
    let (bytes, label) = read_input(&args.source, ctx)?;
    let list = vouch_vuln::read_sbom(&bytes, &label, &limits)?;
    let db = Database::open(&args.db.path())?;
    if let Some(max) = args.max_db_age {
        match db.data_age_seconds()? {
            Some(age) if age <= max => {}
            Some(age) => anyhow::bail!(
                "the vulnerability database {} is stale: its newest advisory is {} old, \
                 more than --max-db-age {} (run `vouch db update`)",
                db.path().display(),
                super::db::human_age(age),
                super::db::human_age(max)
            ),
            None => anyhow::bail!(
                "the vulnerability database {} records no advisory dates, so --max-db-age \
                 cannot be checked (import OSV data with `vouch db update` or `vouch db import`)",
                db.path().display()
            ),
        }
    }
    let only_fixed = args.only_fixed || conf.is_some_and(|c| c.only_fixed);
    let only_notfixed = args.only_notfixed || conf.is_some_and(|c| c.only_notfixed);
    if only_fixed && only_notfixed {
        anyhow::bail!("--only-fixed and --only-notfixed together leave nothing to report");
    }
    let mut report = db.scan(&list.packages, ScanOptions { only_fixed })?;
    if args.by_cve || conf.is_some_and(|c| c.by_cve) {
        vouch_vuln::grype::by_cve(&mut report);
    }
    let mut warnings: Vec<String> = Vec::new();
    if let Some(path) = &args.ignore {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading --ignore {}", path.display()))?;
        let rules = IgnoreRules::parse(&bytes, &path.display().to_string())?;
        warnings.extend(rules.apply(&mut report));
    }
    if let Some(g) = &grype {
        g.apply(&mut report);
    }
    if only_notfixed {
        vouch_vuln::grype::ignore_fix_states(
            &mut report,
            &[vouch_vuln::grype::FixState::Fixed],
            "--only-notfixed",
        );
    }
    let mut states = args
        .ignore_states
        .as_ref()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    if let Some(c) = conf.filter(|c| !c.ignore_wontfix.is_empty()) {
        states.extend(
            vouch_vuln::grype::parse_fix_states(&c.ignore_wontfix)
                .map_err(|e| anyhow::anyhow!("grype configuration ignore-wontfix: {e}"))?,
        );
    }
    if !states.is_empty() {
        vouch_vuln::grype::ignore_fix_states(&mut report, &states, "--ignore-states");
    }
    for path in &args.vex {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading --vex {}", path.display()))?;
        Vex::parse(&bytes, &path.display().to_string())?.apply(&mut report);
    }
    // Not silenced by --quiet: without these a clean result would be misread.
    for g in &report.distros_without_data {
        eprintln!(
            "vouch: warning: {} OS package(s) of {} were not checked: {}",
            g.packages, g.distro, g.reason
        );
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
    for (format, file) in &outputs {
        match file {
            Some(path) => {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                let mut w = std::io::BufWriter::new(f);
                write_report(&mut w, *format, &report, &label)?;
                w.flush()
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => {
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                write_report(&mut out, *format, &report, &label)?;
                out.flush()?;
            }
        }
    }
    if !ctx.quiet {
        eprintln!("vouch: {}", summary(&report, list.skipped.len()));
    }
    let fail_on = args
        .fail_on
        .or_else(|| conf.and_then(|c| FailOn::from_str(&c.fail_on_severity, false).ok()));
    Ok(verdict(&report, &args, fail_on, ctx))
}

fn write_report(
    out: &mut dyn Write,
    format: ScanFormat,
    report: &ScanReport,
    label: &str,
) -> anyhow::Result<()> {
    match format {
        ScanFormat::Json => serde_json::to_writer_pretty(&mut *out, report)?,
        ScanFormat::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &vouch_vuln::report::sarif(report, label))?
        }
        ScanFormat::CyclonedxVex => {
            serde_json::to_writer_pretty(&mut *out, &vouch_vuln::report::cyclonedx_vex(report))?
        }
        ScanFormat::CyclonedxXml => {
            let xml = vouch_sbom::format::cyclonedx_json_to_xml(
                &vouch_vuln::report::cyclonedx_vex(report),
            )?;
            out.write_all(xml.as_bytes())?;
            return Ok(());
        }
        ScanFormat::Table => {
            table(out, report)?;
            return Ok(());
        }
    }
    writeln!(out)?;
    Ok(())
}

fn read_input(source: &str, ctx: &Context) -> anyhow::Result<(Vec<u8>, String)> {
    if source == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("reading the SBOM from stdin")?;
        return Ok((bytes, "stdin".into()));
    }
    // grype's `sbom:FILE` names an SBOM explicitly.
    if let Some(file) = source.strip_prefix("sbom:") {
        let bytes = std::fs::read(file).with_context(|| format!("reading SBOM {file}"))?;
        return Ok((bytes, file.to_owned()));
    }
    let path = Path::new(source);
    if path.is_file() && !source.starts_with("docker-archive:") {
        let bytes = std::fs::read(path).with_context(|| format!("reading {source}"))?;
        // A tarball (`docker save`, OCI archive) is cataloged; a document is scanned.
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        let is_document =
            start.is_some_and(|i| bytes[i] == b'{' || bytes[i..].starts_with(b"pkg:"));
        if is_document || !is_tar(&bytes) {
            return Ok((bytes, source.to_owned()));
        }
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

/// A POSIX tar header: `ustar` magic at offset 257.
fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a probability between 0 and 1")),
    }
}

/// `90s`, `30m`, `36h`, `5d`, `2w` -> seconds.
fn parse_age(s: &str) -> Result<u64, String> {
    let err = || format!("{s:?} is not an age such as 36h or 5d (units s, m, h, d, w)");
    let unit_at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (n, unit) = s.split_at(unit_at);
    let n: u64 = n.parse().map_err(|_| err())?;
    let mul = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(err()),
    };
    n.checked_mul(mul).ok_or_else(err)
}

fn verdict(
    report: &ScanReport,
    args: &ScanArgs,
    fail_on: Option<FailOn>,
    ctx: &Context,
) -> ExitCode {
    let kev = if args.fail_on_kev {
        report.open().filter(|f| f.kev.is_some()).count()
    } else {
        0
    };
    let epss = args.fail_on_epss.map_or(0, |p| {
        report
            .open()
            .filter(|f| f.epss.as_ref().is_some_and(|e| e.score >= p))
            .count()
    });
    if kev > 0 {
        eprintln!("vouch: {kev} finding(s) listed in CISA KEV");
    }
    if epss > 0 {
        eprintln!(
            "vouch: {epss} finding(s) with EPSS at or above {}",
            args.fail_on_epss.unwrap_or_default()
        );
    }
    let Some(fail_on) = fail_on else {
        return if kev + epss > 0 {
            ExitCode::from(EXIT_VULNERABLE)
        } else {
            ExitCode::SUCCESS
        };
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
    if failing + kev + epss > 0 && failing == 0 {
        return ExitCode::from(EXIT_VULNERABLE);
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
    const COLS: usize = 8;
    let open: Vec<_> = report.open().collect();
    if open.is_empty() {
        writeln!(out, "No vulnerabilities found.")?;
    } else {
        let rows: Vec<[String; COLS]> = open
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
                    f.epss
                        .as_ref()
                        .map_or_else(|| "-".into(), |e| format!("{:.1}%", e.score * 100.0)),
                    if f.kev.is_some() { "yes" } else { "-" }.into(),
                    match (&f.rating.from, &f.rating.source) {
                        (Some(from), Some(src)) => format!("{src}: {from}"),
                        (Some(from), None) => from.clone(),
                        (None, Some(src)) => src.clone(),
                        (None, None) => "-".into(),
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
            "EPSS",
            "KEV",
            "RATED BY",
        ];
        let mut widths = headers.map(str::len);
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: [&str; COLS]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i == COLS - 1 {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$}  ", w = widths[i]));
                }
            }
            s
        };
        writeln!(out, "{}", line(headers))?;
        for r in &rows {
            writeln!(out, "{}", line(std::array::from_fn(|i| r[i].as_str())))?;
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
