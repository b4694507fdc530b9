//! `vouch image inspect | copy | tags`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use vouch_oci::{CopyEvent, CopyOptions, Location, Platform};

use super::registry_options;
use crate::cli::{Context, CopyArgs, Format, ImageCommand, InspectArgs, TagsArgs};
use crate::output::{emit, human_bytes};

pub(crate) fn run(command: ImageCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        ImageCommand::Inspect(a) => inspect(&a, ctx),
        ImageCommand::Copy(a) => copy(&a, ctx),
        ImageCommand::Tags(a) => tags(&a, ctx),
    }
    .map(|()| ExitCode::SUCCESS)
}

fn platform(flag: Option<&str>) -> anyhow::Result<Platform> {
    Ok(match flag {
        Some(p) => p.parse()?,
        None => Platform::host(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspection {
    source: String,
    digest: String,
    media_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    platforms: Vec<String>,
    manifest_digest: String,
    platform: String,
    config: ConfigSummary,
    layers: Vec<LayerSummary>,
    size: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigSummary {
    digest: String,
    created: Option<String>,
    user: Option<String>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
    labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayerSummary {
    digest: String,
    media_type: String,
    size: u64,
}

fn inspect(args: &InspectArgs, ctx: &Context) -> anyhow::Result<()> {
    let location = Location::parse(&args.source)?;
    let options = registry_options(ctx)?;
    let (source, selector) = vouch_oci::open_source(&location, &options)?;
    if args.raw {
        let raw = source.manifest(&selector)?;
        std::io::stdout().write_all(&raw.bytes)?;
        return Ok(());
    }
    let wanted = platform(args.platform.as_deref())?;
    let image = vouch_oci::resolve(source.as_ref(), &selector, &wanted, &options.limits)
        .with_context(|| format!("inspecting {location}"))?;
    let cfg = image.config.config().clone().unwrap_or_default();
    let layers: Vec<LayerSummary> = image
        .layers()
        .iter()
        .map(|l| LayerSummary {
            digest: l.digest().to_string(),
            media_type: l.media_type().to_string(),
            size: l.size(),
        })
        .collect();
    let report = Inspection {
        source: location.to_string(),
        digest: image.top.digest.to_string(),
        media_type: image.top.media_type.clone(),
        platforms: image.platforms.iter().map(ToString::to_string).collect(),
        manifest_digest: image.manifest.digest.to_string(),
        platform: format!(
            "{}/{}{}",
            image.config.os(),
            image.config.architecture(),
            image
                .config
                .variant()
                .as_ref()
                .map(|v| format!("/{v}"))
                .unwrap_or_default()
        ),
        config: ConfigSummary {
            digest: image.parsed.config().digest().to_string(),
            created: image.config.created().clone(),
            user: cfg.user().clone().filter(|u| !u.is_empty()),
            entrypoint: cfg.entrypoint().clone(),
            cmd: cfg.cmd().clone(),
            env: cfg.env().clone(),
            working_dir: cfg.working_dir().clone().filter(|w| !w.is_empty()),
            labels: cfg.labels().clone().map(|l| l.into_iter().collect()),
        },
        size: layers.iter().map(|l| l.size).sum(),
        layers,
    };
    emit(ctx.format, &report, |out, r| {
        writeln!(out, "Source:       {}", r.source)?;
        writeln!(out, "Digest:       {}", r.digest)?;
        writeln!(out, "Media type:   {}", r.media_type)?;
        if !r.platforms.is_empty() {
            writeln!(out, "Platforms:    {}", r.platforms.join(", "))?;
            writeln!(out, "Manifest:     {} ({})", r.manifest_digest, r.platform)?;
        } else {
            writeln!(out, "Platform:     {}", r.platform)?;
        }
        writeln!(out, "Config:       {}", r.config.digest)?;
        if let Some(c) = &r.config.created {
            writeln!(out, "Created:      {c}")?;
        }
        if let Some(e) = &r.config.entrypoint {
            writeln!(out, "Entrypoint:   {}", e.join(" "))?;
        }
        if let Some(c) = &r.config.cmd {
            writeln!(out, "Cmd:          {}", c.join(" "))?;
        }
        if let Some(u) = &r.config.user {
            writeln!(out, "User:         {u}")?;
        }
        for e in r.config.env.iter().flatten() {
            writeln!(out, "Env:          {e}")?;
        }
        for (k, v) in r.config.labels.iter().flatten() {
            writeln!(out, "Label:        {k}={v}")?;
        }
        writeln!(
            out,
            "Layers:       {} ({} compressed)",
            r.layers.len(),
            human_bytes(r.size)
        )?;
        for l in &r.layers {
            writeln!(
                out,
                "  {}  {:>9}  {}",
                l.digest,
                human_bytes(l.size),
                l.media_type
            )?;
        }
        Ok(())
    })
}

fn copy(args: &CopyArgs, ctx: &Context) -> anyhow::Result<()> {
    let src_loc = Location::parse(&args.source).context("SOURCE")?;
    let dst_loc = Location::parse(&args.dest).context("DEST")?;
    let options = registry_options(ctx)?;
    let (source, mut selector) = vouch_oci::open_source(&src_loc, &options)?;
    if let (true, Location::Layout { path, tag: None }) = (args.signatures, &src_loc) {
        // `oci:DIR` once signed holds signature entries too: take the one image among them.
        selector = super::sign::only_image_in_layout(path, &options.limits)?;
    }
    let (sink, tag) = vouch_oci::open_sink(&dst_loc, &options)?;
    let copy_options = CopyOptions {
        platform: args.platform.as_deref().map(str::parse).transpose()?,
        parallelism: usize::from(args.jobs),
    };
    let bar = progress_bar(ctx);
    let started = Instant::now();
    let total = Mutex::new(0u64);
    let on_event = |e: CopyEvent<'_>| match e {
        CopyEvent::BlobStart { size, skipped, .. } => {
            if let Ok(mut t) = total.lock() {
                *t += size;
                bar.set_length(*t);
            }
            if skipped {
                bar.inc(size);
            }
        }
        CopyEvent::Bytes(n) => bar.inc(n),
        CopyEvent::BlobDone { .. } => {}
    };
    let report = vouch_oci::copy_image(
        source.as_ref(),
        &selector,
        sink.as_ref(),
        tag.as_deref(),
        &copy_options,
        &on_event,
    )
    .with_context(|| format!("copying {src_loc} to {dst_loc}"))?;
    let signatures = if args.signatures {
        copy_signatures(source.as_ref(), sink.as_ref(), &dst_loc, &report, ctx)
            .with_context(|| format!("copying the signatures of {} to {dst_loc}", report.digest))?
    } else {
        Vec::new()
    };
    bar.finish_and_clear();
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Copied<'a> {
        source: String,
        destination: String,
        #[serde(flatten)]
        report: &'a vouch_oci::CopyReport,
        seconds: f64,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        signatures: Vec<CopiedSignature>,
    }
    let out = Copied {
        source: src_loc.to_string(),
        destination: dst_loc.to_string(),
        report: &report,
        seconds: started.elapsed().as_secs_f64(),
        signatures,
    };
    if ctx.quiet && ctx.format == Format::Table {
        println!("{}", report.digest);
        return Ok(());
    }
    emit(ctx.format, &out, |w, c| {
        writeln!(
            w,
            "Copied {} -> {}\nDigest: {}\n{} manifest(s), {} blob(s) copied ({}), {} already present, {:.2}s",
            c.source,
            c.destination,
            c.report.digest,
            c.report.manifests,
            c.report.blobs_copied,
            human_bytes(c.report.bytes),
            c.report.blobs_skipped,
            c.seconds
        )?;
        for s in &c.signatures {
            let at = s
                .tag
                .as_deref()
                .map(|t| format!(" at tag {t}"))
                .unwrap_or_default();
            writeln!(
                w,
                "Signatures of {}: {} {}{at} ({}; {} there)",
                s.subject, s.scheme, s.manifest, s.note, s.count
            )?;
        }
        Ok(())
    })
}

/// One place signatures were copied to (`--signatures`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CopiedSignature {
    subject: String,
    scheme: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    manifest: String,
    count: usize,
    note: &'static str,
}

/// `image copy --signatures`: the signatures and attestations of the copied digest (and of
/// each platform manifest of a copied index) follow it, by both cosign storage schemes.
fn copy_signatures(
    source: &dyn vouch_oci::ImageSource,
    sink: &dyn vouch_oci::ImageSink,
    dst_loc: &Location,
    report: &vouch_oci::CopyReport,
    ctx: &Context,
) -> anyhow::Result<Vec<CopiedSignature>> {
    use vouch_sign::oci::{ImageTarget, Store};
    let options = registry_options(ctx)?;
    let (dest, _) = vouch_oci::open_source(dst_loc, &options)?;
    let store = Store {
        source: dest.as_ref(),
        sink,
        limits: vouch_sign::Limits::default(),
    };
    let top = ImageTarget::resolve_selector(
        source,
        &vouch_oci::Selector::Digest(report.digest.clone()),
        String::new(),
    )?;
    let mut subjects = vec![top.clone()];
    subjects.extend(top.descendants(source, &store.limits)?);
    let mut out = Vec::new();
    for subject in &subjects {
        for s in store.copy_signatures_from(source, subject)? {
            out.push(CopiedSignature {
                subject: subject.digest.to_string(),
                scheme: s.scheme.name(),
                tag: s.tag,
                manifest: s.manifest.to_string(),
                count: s.count,
                note: s.note,
            });
        }
    }
    Ok(out)
}

fn tags(args: &TagsArgs, ctx: &Context) -> anyhow::Result<()> {
    let location = Location::parse(&args.source)?;
    let options = registry_options(ctx)?;
    let (source, _) = vouch_oci::open_source(&location, &options)?;
    let tags = source
        .tags()
        .with_context(|| format!("listing tags of {location}"))?;
    emit(ctx.format, &tags, |out, t| {
        for tag in t {
            writeln!(out, "{tag}")?;
        }
        Ok(())
    })
}

/// A byte progress bar on a terminal; hidden when stderr is not one or with --quiet.
fn progress_bar(ctx: &Context) -> ProgressBar {
    use std::io::IsTerminal;
    if ctx.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bar:30} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
