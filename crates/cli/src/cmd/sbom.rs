//! `vouch sbom`: the software bill of materials of an image or directory.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use vouch_sbom::format::{self, Format, Stamp};

use crate::cli::Context;

pub(crate) const SBOM_HELP: &str = "\
Outputs (-o FORMAT[=FILE], repeatable; one may go to stdout):
  table           NAME, VERSION, TYPE per package (the default on a terminal)
  json            vouch's package model (the default when stdout is not a terminal)
  spdx-json       SPDX 2.3 JSON
  cyclonedx-json  CycloneDX 1.6 JSON

Files that cannot be parsed are reported as warnings on stderr and in the json output;
the SBOM is still written.";

/// Flags of `vouch sbom`.
#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// The image (REF, oci:DIR[:TAG], docker-archive:FILE) or directory (dir:PATH).
    #[arg(value_name = "SOURCE")]
    pub(crate) source: String,
    /// Which filesystem view to catalog.
    #[arg(long, value_enum, default_value_t = ScopeArg::Squashed)]
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

pub(crate) fn run(args: &SbomArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
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
    let sbom = vouch_sbom::generate(&args.source, &options)
        .with_context(|| format!("cataloging {}", args.source))?;
    if !ctx.quiet {
        for w in &sbom.warnings {
            eprintln!("vouch: warning: {w}");
        }
        if ctx.verbose > 0 {
            eprintln!(
                "vouch: {} packages, {} warnings",
                sbom.packages.len(),
                sbom.warnings.len()
            );
        }
    }
    // One stamp for the run: SPDX namespace and CycloneDX serial share the UUID.
    let stamp = Stamp::now();
    for o in &outputs {
        match &o.file {
            Some(path) => {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                let mut w = std::io::BufWriter::new(f);
                format::write_with(&sbom, o.format, &stamp, &mut w)?;
                w.flush()
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => {
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                format::write_with(&sbom, o.format, &stamp, &mut out)?;
                out.flush()?;
            }
        }
    }
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
    }
}
