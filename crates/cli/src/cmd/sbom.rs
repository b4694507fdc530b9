//! `vouch sbom`: the software bill of materials of an image or directory.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use vouch_sbom::format::{self, Format, Stamp};

use crate::cli::Context;

pub(crate) const SBOM_HELP: &str = "\
Sources (syft's spellings work too):
  REF, registry:REF          an image in a registry (registry: as in syft)
  oci:DIR[:TAG], oci-dir:DIR an OCI image layout directory
  oci-archive:FILE           an OCI image layout in a tarball
  docker-archive:FILE        a `docker save` tarball
  dir:PATH, PATH             a directory (a bare path that exists wins over a reference)
  file:PATH                  one file (a lock file, a binary), cataloged on its own

Outputs (-o FORMAT[=FILE], repeatable; one may go to stdout):
  table           NAME, VERSION, TYPE per package (the default on a terminal)
  json            vouch's package model (the default when stdout is not a terminal)
  syft-json       syft's JSON, schema 16.1.13 (what grype and syft convert read)
  spdx-json       SPDX 2.3 JSON
  spdx-tag-value  SPDX 2.3 tag-value (also: spdx, spdx-tv)
  cyclonedx-json  CycloneDX 1.6 JSON
  cyclonedx-xml   CycloneDX 1.6 XML (also: cyclonedx)
  github-json     GitHub dependency submission API snapshot (also: github)
  purls           one package URL a line (also: purl)

Examples:
  vouch sbom alpine:3.20 -o syft-json=sbom.syft.json -o spdx-json=sbom.spdx.json
  vouch sbom ./src --exclude './node_modules/**' -o cyclonedx-xml
  vouch sbom convert sbom.syft.json -o spdx-tag-value

Files that cannot be parsed are reported as warnings on stderr and in the json output;
the SBOM is still written.";

/// Flags of `vouch sbom`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct SbomArgs {
    /// The image or directory (see Sources below).
    #[arg(value_name = "SOURCE", required = true)]
    pub(crate) source: Option<String>,
    /// Which filesystem view to catalog.
    #[arg(short = 's', long, value_enum, default_value_t = ScopeArg::Squashed)]
    pub(crate) scope: ScopeArg,
    /// Platform to pick from a multi-platform index (default: this machine's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<String>,
    /// Supplier of the image or directory as a whole, for the SBOM's root component
    /// ("Organization: NAME", "Person: NAME" or a bare organisation name). Default: the
    /// image's org.opencontainers.image.vendor label.
    #[arg(long, value_name = "NAME")]
    pub(crate) supplier: Option<String>,
    /// Run only these catalogers (comma-separated or repeated), e.g. dpkg-db-cataloger.
    #[arg(long = "select-catalogers", value_name = "NAME", value_delimiter = ',')]
    pub(crate) catalogers: Vec<String>,
    /// Leave out packages found in files matching this glob (repeatable), as syft: an
    /// absolute path in an image (`/usr/share/**`); for a directory it must start with
    /// `./`, `*/` or `**/` (`./node_modules/**`). `*` stays in one path component, `**`
    /// crosses them; a pattern also covers everything below what it matches.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Name of the scanned source in the SBOM (document name, root component).
    #[arg(long, value_name = "NAME")]
    pub(crate) source_name: Option<String>,
    /// Version of the scanned source in the SBOM.
    #[arg(long, value_name = "VERSION")]
    pub(crate) source_version: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Option<SbomCommand>,
}

/// `vouch sbom` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SbomCommand {
    /// Convert an SBOM between formats, as `syft convert`: reads SPDX 2.x JSON, CycloneDX
    /// JSON, syft JSON or vouch JSON (`-` for stdin); writes every -o format.
    Convert(ConvertArgs),
}

/// Flags of `vouch sbom convert`.
#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The SBOM to read, or `-` for stdin.
    #[arg(value_name = "SBOM")]
    pub(crate) input: String,
}

/// `--scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScopeArg {
    /// What a container of the image sees.
    Squashed,
    /// Every layer's files, deleted and overwritten ones included: one entry per package,
    /// with a location in each layer that wrote it.
    AllLayers,
}

/// One `-o FORMAT[=FILE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputSpec {
    pub(crate) format: Format,
    pub(crate) file: Option<PathBuf>,
}

/// Parses `FORMAT[=FILE]`.
pub(crate) fn parse_output(s: &str) -> anyhow::Result<OutputSpec> {
    let (f, file) = match s.split_once('=') {
        Some((f, p)) if !p.is_empty() => (f, Some(PathBuf::from(p))),
        Some((f, _)) => (f, None),
        None => (s, None),
    };
    Ok(OutputSpec {
        format: f.parse()?,
        file,
    })
}

fn outputs(ctx: &Context) -> anyhow::Result<Vec<OutputSpec>> {
    let mut outputs = ctx
        .outputs
        .iter()
        .map(|o| parse_output(o))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if outputs.is_empty() {
        let format = if std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        };
        outputs.push(OutputSpec { format, file: None });
    }
    if outputs.iter().filter(|o| o.file.is_none()).count() > 1 {
        anyhow::bail!(
            "more than one -o writes to stdout; give all but one a file (-o FORMAT=FILE)"
        );
    }
    Ok(outputs)
}

fn write_outputs(sbom: &vouch_sbom::Sbom, outputs: &[OutputSpec]) -> anyhow::Result<()> {
    // One stamp for the run: SPDX namespace and CycloneDX serial share the UUID.
    let stamp = Stamp::now();
    for o in outputs {
        match &o.file {
            Some(path) => {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                let mut w = std::io::BufWriter::new(f);
                format::write_with(sbom, o.format, &stamp, &mut w)?;
                w.flush()
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => {
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                format::write_with(sbom, o.format, &stamp, &mut out)?;
                out.flush()?;
            }
        }
    }
    Ok(())
}

pub(crate) fn run(args: &SbomArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if let Some(SbomCommand::Convert(c)) = &args.command {
        return convert(c, ctx);
    }
    let Some(source) = args.source.as_deref() else {
        anyhow::bail!("give a SOURCE to catalog, or `vouch sbom convert SBOM`");
    };
    let outputs = outputs(ctx)?;
    let mut options = vouch_sbom::Options {
        scope: match args.scope {
            ScopeArg::Squashed => vouch_sbom::Scope::Squashed,
            ScopeArg::AllLayers => vouch_sbom::Scope::AllLayers,
        },
        registry: super::registry_options(ctx)?,
        catalogers: args.catalogers.clone(),
        ..Default::default()
    };
    if let Some(p) = &args.platform {
        options.platform = Some(p.parse().with_context(|| format!("--platform {p}"))?);
    }
    if let Some(s) = &args.supplier {
        options.supplier = Some(
            vouch_sbom::Supplier::parse_spdx(s)
                .unwrap_or_else(|| vouch_sbom::Supplier::Organization(s.trim().to_owned())),
        );
    }
    let mut sbom =
        vouch_sbom::generate(source, &options).with_context(|| format!("cataloging {source}"))?;
    let dropped = vouch_sbom::exclude(&mut sbom, &args.exclude).context("--exclude")?;
    if let Some(n) = &args.source_name {
        sbom.source.name.clone_from(n);
    }
    if let Some(v) = &args.source_version {
        sbom.source.version = Some(v.clone());
    }
    if !ctx.quiet {
        for w in &sbom.warnings {
            eprintln!("vouch: warning: {w}");
        }
        if ctx.verbose > 0 {
            eprintln!(
                "vouch: {} packages, {} warnings{}",
                sbom.packages.len(),
                sbom.warnings.len(),
                if dropped > 0 {
                    format!(", {dropped} excluded by --exclude")
                } else {
                    String::new()
                }
            );
        }
    }
    write_outputs(&sbom, &outputs)?;
    Ok(ExitCode::SUCCESS)
}

fn convert(args: &ConvertArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let outputs = outputs(ctx)?;
    let bytes = if args.input == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .context("reading the SBOM from stdin")?;
        b
    } else {
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input))?
    };
    let sbom = format::decode(&bytes).with_context(|| {
        format!(
            "{}: vouch sbom convert reads SPDX JSON, CycloneDX JSON, syft JSON and vouch JSON",
            args.input
        )
    })?;
    write_outputs(&sbom, &outputs)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn output_specs() {
        assert_eq!(
            parse_output("spdx-json=/tmp/x.json").unwrap(),
            OutputSpec {
                format: Format::SpdxJson,
                file: Some("/tmp/x.json".into())
            }
        );
        assert_eq!(parse_output("table").unwrap().file, None);
        assert!(parse_output("xml").is_err());
        assert_eq!(
            parse_output("syft-json=out.json").unwrap().format,
            Format::SyftJson
        );
        assert_eq!(
            parse_output("cyclonedx").unwrap().format,
            Format::CycloneDxXml
        );
    }
}
