//! `vouch build`: assemble an image from a base (or scratch) plus files, reproducibly,
//! without a container engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use vouch_build::{Add, BuilderInfo, Spec, parse_key_value};
use vouch_oci::Location;

use super::registry_options;
use crate::cli::Context;
use crate::output::emit;

const BUILD_HELP: &str = "\
Reproducible: every --add becomes one gzip tar layer with entries sorted, owner 0:0 (as
Dockerfile COPY), every timestamp (layers, config, history) at SOURCE_DATE_EPOCH (0 when
unset) and a fixed gzip header. Modes are kept as the source has them, setuid, setgid and
sticky included (a 1777 tmp/ stays 1777, a 0600 key 0600): they are part of the input, so a
checkout made under another umask is another input. The same base digest, files, modes and
flags give the same image digest on any machine. On a base, DEST's existing parent
directories keep the base's modes (the layer has no entries for them).

--entrypoint and --cmd take one word (`/app/run`) or a JSON array (`[\"/app/run\",\"-v\"]`).

Provenance (--provenance FILE): the SLSA provenance v1 predicate
(https://slsa.dev/provenance/v1) of the build: flags as externalParameters, the base digest
and each added tree's layer digest as resolvedDependencies. Attest it with
`vouch attest IMAGE@DIGEST --type slsaprovenance1 --predicate FILE` (`vouch pipeline` does).

Examples:
  vouch build --add examples/demo-app/rootfs:/ --cmd /app/hello.py --push oci:out:v1
  vouch build --from oci:examples/hello-oci:latest --add dist:/app --push localhost:5000/app:v1

Exit codes: 0 built and written, 1 error";

/// Flags of `vouch build`.
#[derive(Debug, Args)]
#[command(after_help = BUILD_HELP)]
pub(crate) struct BuildArgs {
    /// Base image (REF, oci:DIR[:TAG], docker-archive:FILE); default: scratch.
    #[arg(long = "from", value_name = "BASE")]
    pub(crate) from: Option<String>,
    /// A file or directory to add as a new layer at DEST (repeatable, one layer each).
    #[arg(long = "add", value_name = "SRC:DEST")]
    pub(crate) add: Vec<String>,
    /// Where to write the image: a registry reference or oci:DIR[:TAG].
    #[arg(long = "push", value_name = "DEST")]
    pub(crate) push: String,
    /// Entrypoint (one word, or a JSON array).
    #[arg(long, value_name = "CMD")]
    pub(crate) entrypoint: Option<String>,
    /// Default command (one word, or a JSON array).
    #[arg(long, value_name = "CMD")]
    pub(crate) cmd: Option<String>,
    /// Environment variable (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) env: Vec<String>,
    /// Label (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) label: Vec<String>,
    /// User the container runs as.
    #[arg(long, value_name = "USER[:GROUP]")]
    pub(crate) user: Option<String>,
    /// Working directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) workdir: Option<String>,
    /// Target platform (default: the base's, else this machine's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<String>,
    /// Timestamp of every file and history entry (unix seconds).
    #[arg(
        long,
        env = "SOURCE_DATE_EPOCH",
        default_value_t = 0,
        value_name = "SECONDS"
    )]
    pub(crate) source_date_epoch: u64,
    /// Write the SLSA provenance v1 predicate of this build to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) provenance: Option<PathBuf>,
    /// `runDetails.builder.id` of the provenance (default: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY
    /// workflow in GitHub Actions, else a local builder id).
    #[arg(long, value_name = "URI")]
    pub(crate) builder_id: Option<String>,
}

/// `vouch build`'s report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildReport {
    pub(crate) destination: String,
    pub(crate) digest: String,
    pub(crate) pinned: String,
    pub(crate) platform: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) base: Option<String>,
    pub(crate) layers: Vec<LayerJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) provenance: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LayerJson {
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    added: Option<String>,
}

/// `--entrypoint` / `--cmd`: a JSON array, or one word.
pub(crate) fn parse_command(flag: &str, s: &str) -> anyhow::Result<Vec<String>> {
    if s.trim_start().starts_with('[') {
        serde_json::from_str(s).with_context(|| format!("{flag} {s}: not a JSON array of strings"))
    } else {
        Ok(vec![s.to_owned()])
    }
}

/// The build spec from flags.
pub(crate) fn spec(args: &BuildArgs) -> anyhow::Result<Spec> {
    Ok(Spec {
        base: args.from.clone(),
        platform: args
            .platform
            .as_deref()
            .map(|p| p.parse().with_context(|| format!("--platform {p}")))
            .transpose()?,
        adds: args
            .add
            .iter()
            .map(|a| Add::parse(a))
            .collect::<Result<_, _>>()?,
        entrypoint: args
            .entrypoint
            .as_deref()
            .map(|e| parse_command("--entrypoint", e))
            .transpose()?,
        cmd: args
            .cmd
            .as_deref()
            .map(|c| parse_command("--cmd", c))
            .transpose()?,
        env: args
            .env
            .iter()
            .map(|e| parse_key_value("--env", e))
            .collect::<Result<_, _>>()?,
        labels: args
            .label
            .iter()
            .map(|l| parse_key_value("--label", l))
            .collect::<Result<_, _>>()?,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        source_date_epoch: args.source_date_epoch,
    })
}

/// The builder id: the flag, else the GitHub Actions workflow, else a local id.
pub(crate) fn builder_id(flag: Option<&str>) -> (String, Option<String>) {
    if let Some(id) = flag {
        return (id.to_owned(), None);
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(server), Some(repo), Some(workflow)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_WORKFLOW_REF"),
    ) {
        let run = var("GITHUB_RUN_ID").map(|r| format!("{server}/{repo}/actions/runs/{r}"));
        let path = workflow
            .split_once('/')
            .and_then(|(_, rest)| rest.split_once('/'))
            .map_or(workflow.as_str(), |(_, p)| p);
        return (format!("{server}/{repo}/{path}"), run);
    }
    ("https://example.invalid/vouch/builder/local".into(), None)
}

pub(crate) fn run(args: &BuildArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let spec = spec(args)?;
    let dest = Location::parse(&args.push).with_context(|| format!("--push {}", args.push))?;
    let started = SystemTime::now();
    let built = vouch_build::build(
        &spec,
        &dest,
        &registry_options(ctx)?,
        &vouch_build::Limits::default(),
    )?;
    let (id, invocation_id) = builder_id(args.builder_id.as_deref());
    if let Some(path) = &args.provenance {
        let predicate = vouch_build::provenance(
            &spec,
            &built,
            &BuilderInfo {
                id,
                invocation_id,
                started,
                finished: SystemTime::now(),
            },
        );
        std::fs::write(path, serde_json::to_vec_pretty(&predicate)?)
            .with_context(|| format!("writing --provenance {}", path.display()))?;
    }
    let report = BuildReport {
        destination: built.destination.clone(),
        digest: built.digest.to_string(),
        pinned: built.pinned(),
        platform: built.platform.to_string(),
        base: built
            .base
            .as_ref()
            .map(|b| format!("{}@{}", b.name, b.digest)),
        layers: built
            .layers
            .iter()
            .map(|l| LayerJson {
                digest: l.digest.to_string(),
                size: l.size,
                added: l
                    .added
                    .as_ref()
                    .map(|a| format!("{}:{}", a.source.display(), a.dest)),
            })
            .collect(),
        provenance: args.provenance.as_ref().map(|p| p.display().to_string()),
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "Built {}", r.pinned)?;
        writeln!(out, "  platform  {}", r.platform)?;
        if let Some(b) = &r.base {
            writeln!(out, "  base      {b}")?;
        }
        for l in &r.layers {
            writeln!(
                out,
                "  layer     {} {:>9} {}",
                l.digest,
                crate::output::human_bytes(l.size),
                l.added.as_deref().unwrap_or("(base)")
            )?;
        }
        if let Some(p) = &r.provenance {
            writeln!(out, "  provenance {p}")?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse_command("--cmd", "/app/run").unwrap(), ["/app/run"]);
        assert_eq!(
            parse_command("--cmd", r#"["/app/run", "-v"]"#).unwrap(),
            ["/app/run", "-v"]
        );
        assert!(parse_command("--cmd", "[oops").is_err());
    }
}
