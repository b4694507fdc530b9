//! Container images assembled without a container engine, reproducibly.
//!
//! * [`Spec`]: what to build: a base image (any vouch location) or scratch, [`Add`]ed
//!   files and directories (one layer each), and the runtime config (entrypoint, cmd, env,
//!   labels, user, workdir, platform).
//! * [`build`] writes the image to a registry or an OCI layout and returns [`Built`]: its
//!   digest, manifest and layers. The same [`Spec`] (same files, same `SOURCE_DATE_EPOCH`)
//!   gives the same digest: [`layer`] explains what is kept from the source (every mode
//!   bit) and what is normalised (owners, timestamps, order).
//! * [`provenance`] is the SLSA provenance v1 predicate (<https://slsa.dev/provenance/v1>)
//!   describing what [`build`] did, for `vouch attest --type slsaprovenance1`.
//!
//! ```
//! use vouch_build::{Add, Limits, Spec, build};
//! let src = tempfile::tempdir()?;
//! std::fs::write(src.path().join("hello.txt"), "hi")?;
//! let out = tempfile::tempdir()?;
//! let spec = Spec {
//!     adds: vec![Add { source: src.path().into(), dest: "/app".into() }],
//!     cmd: Some(vec!["/app/hello.txt".into()]),
//!     platform: Some("linux/amd64".parse()?),
//!     ..Spec::default()
//! };
//! let dest = vouch_oci::Location::parse(&format!("oci:{}:v1", out.path().display()))?;
//! let one = build(&spec, &dest, &Default::default(), &Limits::default())?;
//! let two = build(&spec, &dest, &Default::default(), &Limits::default())?;
//! assert_eq!(one.digest, two.digest);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod error;
pub mod layer;
mod limits;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use vouch_oci::manifest::{descriptor_digest, media};
use vouch_oci::{Digest, Location, Platform, RawManifest, RegistryOptions};

pub use error::{Error, Result};
pub use layer::{Add, Layer, Parents, build_layer};
pub use limits::Limits;

/// SLSA `buildType` of images built by `vouch build`: the external parameters are the
/// `vouch build` flags (`base`, `add`, `entrypoint`, `cmd`, `env`, `labels`, `user`,
/// `workdir`, `platform`), the internal parameter is `sourceDateEpoch`.
pub const BUILD_TYPE: &str = "https://example.invalid/vouch/build/v1";

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Base image location (`REF`, `oci:DIR:TAG`, `docker-archive:FILE`); `None` is scratch.
    pub base: Option<String>,
    /// Target platform: picks from a multi-platform base; default the base's, else this
    /// machine's.
    pub platform: Option<Platform>,
    /// New layers, in order.
    pub adds: Vec<Add>,
    /// `config.Entrypoint` (replaces the base's).
    pub entrypoint: Option<Vec<String>>,
    /// `config.Cmd` (replaces the base's).
    pub cmd: Option<Vec<String>>,
    /// `config.Env` entries set (replacing a base entry of the same name).
    pub env: Vec<(String, String)>,
    /// `config.Labels` set (merged over the base's).
    pub labels: BTreeMap<String, String>,
    /// `config.User`.
    pub user: Option<String>,
    /// `config.WorkingDir`.
    pub workdir: Option<String>,
    /// Every timestamp in layers and config (`SOURCE_DATE_EPOCH`, reproducible-builds.org).
    pub source_date_epoch: u64,
}

/// Parses `KEY=VALUE` (for `--env` and `--label`).
pub fn parse_key_value(flag: &'static str, s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(Error::BadArgument {
            flag,
            value: s.to_owned(),
            reason: "expected KEY=VALUE".into(),
        }),
    }
}

/// The base image a build started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The base as given.
    pub name: String,
    /// Digest of the platform manifest used.
    pub digest: Digest,
}

/// One layer of the built image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltLayer {
    /// Blob digest.
    pub digest: Digest,
    /// Uncompressed digest.
    pub diff_id: Digest,
    /// Blob size.
    pub size: u64,
    /// Layer media type (Docker types of a base become their OCI equivalents).
    pub media_type: String,
    /// The `--add` it came from; `None` for base layers.
    pub added: Option<Add>,
}

/// What [`build`] wrote.
#[derive(Debug, Clone)]
pub struct Built {
    /// Where it was written, as given.
    pub destination: String,
    /// The tag written, if any.
    pub tag: Option<String>,
    /// The manifest's digest: what to sign.
    pub digest: Digest,
    /// The manifest's exact bytes.
    pub manifest: RawManifest,
    /// The config blob's digest.
    pub config_digest: Digest,
    /// The platform built for.
    pub platform: Platform,
    /// The base, if not scratch.
    pub base: Option<BaseImage>,
    /// Every layer, base layers first.
    pub layers: Vec<BuiltLayer>,
}

impl Built {
    /// `destination` pinned to the digest: `registry/repo@sha256:…` for a registry,
    /// `oci:DIR@sha256:…` for a layout.
    pub fn pinned(&self) -> String {
        match Location::parse(&self.destination) {
            Ok(Location::Registry(r)) => format!("{}@{}", r.name(), self.digest),
            Ok(Location::Layout { path, .. }) => format!("oci:{}@{}", path.display(), self.digest),
            _ => format!("{}@{}", self.destination, self.digest),
        }
    }
}

/// Builds `spec` and writes the image to `dest` (a registry reference or `oci:DIR[:TAG]`).
pub fn build(
    spec: &Spec,
    dest: &Location,
    options: &RegistryOptions,
    limits: &Limits,
) -> Result<Built> {
    let created = rfc3339(spec.source_date_epoch);
    // The base: its config, its layers, the source to copy them from.
    let mut base_layers: Vec<BuiltLayer> = Vec::new();
    let mut base_info = None;
    let mut base_source = None;
    let (mut config, platform) = match &spec.base {
        None => {
            let platform = spec.platform.clone().unwrap_or_else(Platform::host);
            let mut c = json!({
                "architecture": platform.architecture,
                "os": platform.os,
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
                "history": [],
            });
            if let Some(v) = &platform.variant {
                c["variant"] = Value::from(v.as_str());
            }
            (c, platform)
        }
        Some(base) => {
            let base_err = |source| Error::Base {
                base: base.clone(),
                source: Box::new(source),
            };
            let location = Location::parse(base).map_err(base_err)?;
            let (source, selector) =
                vouch_oci::open_source(&location, options).map_err(base_err)?;
            let wanted = spec.platform.clone().unwrap_or_else(Platform::host);
            let image = vouch_oci::resolve(source.as_ref(), &selector, &wanted, &options.limits)
                .map_err(base_err)?;
            let config: Value =
                serde_json::from_slice(&image.config_bytes).map_err(|e| Error::BaseInvalid {
                    base: base.clone(),
                    reason: format!("config: {e}"),
                })?;
            let diff_ids: Vec<String> = image.config.rootfs().diff_ids().to_vec();
            if diff_ids.len() != image.layers().len() {
                return Err(Error::BaseInvalid {
                    base: base.clone(),
                    reason: "config rootfs.diff_ids and manifest layers differ in number".into(),
                });
            }
            for (d, diff) in image.layers().iter().zip(&diff_ids) {
                base_layers.push(BuiltLayer {
                    digest: descriptor_digest(d).map_err(base_err)?,
                    diff_id: diff.parse().map_err(|e| Error::BaseInvalid {
                        base: base.clone(),
                        reason: format!("diff_id {diff}: {e}"),
                    })?,
                    size: d.size(),
                    media_type: oci_layer_media_type(d.media_type().as_ref()),
                    added: None,
                });
            }
            let platform = Platform {
                os: image.config.os().to_string(),
                architecture: image.config.architecture().to_string(),
                variant: image.config.variant().clone(),
            };
            base_info = Some(BaseImage {
                name: base.clone(),
                digest: image.manifest.digest,
            });
            base_source = Some(source);
            (config, platform)
        }
    };

    // DEST's parent directories: entries on scratch, the base's own on a base (layer.rs).
    let parents = if spec.base.is_some() {
        Parents::FromBase
    } else {
        Parents::Emit
    };
    let mut new_layers = Vec::new();
    for add in &spec.adds {
        new_layers.push((
            add.clone(),
            build_layer(add, spec.source_date_epoch, parents, limits)?,
        ));
    }

    // The config (OCI image-spec config.md): runtime settings, diff_ids, history.
    if !config.get("config").is_some_and(Value::is_object) {
        config["config"] = json!({});
    }
    let c = &mut config["config"];
    if let Some(e) = &spec.entrypoint {
        c["Entrypoint"] = json!(e);
    }
    if let Some(cmd) = &spec.cmd {
        c["Cmd"] = json!(cmd);
    }
    if !spec.env.is_empty() {
        let mut env: Vec<String> = c
            .get("Env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in &spec.env {
            let prefix = format!("{k}=");
            env.retain(|e| !e.starts_with(&prefix));
            env.push(format!("{k}={v}"));
        }
        c["Env"] = json!(env);
    }
    if !spec.labels.is_empty() {
        let mut labels: BTreeMap<String, Value> = c
            .get("Labels")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        for (k, v) in &spec.labels {
            labels.insert(k.clone(), Value::from(v.as_str()));
        }
        c["Labels"] = json!(labels);
    }
    if let Some(u) = &spec.user {
        c["User"] = Value::from(u.as_str());
    }
    if let Some(w) = &spec.workdir {
        c["WorkingDir"] = Value::from(w.as_str());
    }
    config["created"] = Value::from(created.as_str());
    let mut diff_ids: Vec<Value> = base_layers
        .iter()
        .map(|l| Value::from(l.diff_id.to_string()))
        .collect();
    let mut history: Vec<Value> = config
        .get("history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (add, layer) in &new_layers {
        diff_ids.push(Value::from(layer.diff_id.to_string()));
        history.push(json!({
            "created": created,
            "created_by": format!("vouch build --add {}", add.dest),
            "comment": "vouch build",
        }));
    }
    config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
    config["history"] = Value::Array(history);
    let config_bytes = serde_json::to_vec(&config).map_err(|e| Error::BadArgument {
        flag: "config",
        value: String::new(),
        reason: e.to_string(),
    })?;
    let config_digest = Digest::sha256(&config_bytes);

    // The manifest (OCI image-spec manifest.md). Base layers keep their bytes; Docker
    // media types become their OCI equivalents (same content, image-spec media-types.md).
    let mut layers: Vec<BuiltLayer> = base_layers.clone();
    for (add, l) in &new_layers {
        layers.push(BuiltLayer {
            digest: l.digest.clone(),
            diff_id: l.diff_id.clone(),
            size: l.blob.len() as u64,
            media_type: media::OCI_LAYER_GZIP.to_owned(),
            added: Some(add.clone()),
        });
    }
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            json!({
                "mediaType": l.media_type,
                "digest": l.digest.to_string(),
                "size": l.size,
            })
        })
        .collect();
    let mut annotations =
        BTreeMap::from([("org.opencontainers.image.created".to_owned(), created)]);
    if let Some(b) = &base_info {
        annotations.insert(
            "org.opencontainers.image.base.digest".into(),
            b.digest.to_string(),
        );
        annotations.insert("org.opencontainers.image.base.name".into(), b.name.clone());
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": {
            "mediaType": media::OCI_CONFIG,
            "digest": config_digest.to_string(),
            "size": config_bytes.len(),
        },
        "layers": layer_descs,
        "annotations": annotations,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| Error::BadArgument {
        flag: "manifest",
        value: String::new(),
        reason: e.to_string(),
    })?;
    let raw = RawManifest {
        media_type: media::OCI_MANIFEST.to_owned(),
        digest: Digest::sha256(&manifest_bytes),
        bytes: manifest_bytes,
    };

    // Write: blobs first (base layers the destination lacks, new layers, config), then the
    // manifest, so a reader never sees a manifest with missing blobs.
    let dest_name = dest.to_string();
    let werr = |source| Error::Write {
        dest: dest_name.clone(),
        source: Box::new(source),
    };
    let (sink, tag) = vouch_oci::open_sink(dest, options).map_err(werr)?;
    if let Some(src) = &base_source {
        for l in &base_layers {
            if !sink.has_blob(&l.digest).map_err(werr)? {
                let mut reader = src.blob(&l.digest, l.size).map_err(|source| Error::Base {
                    base: spec.base.clone().unwrap_or_default(),
                    source: Box::new(source),
                })?;
                sink.put_blob(&l.digest, l.size, &mut reader)
                    .map_err(werr)?;
            }
        }
    }
    for (_, l) in &new_layers {
        if !sink.has_blob(&l.digest).map_err(werr)? {
            sink.put_blob(&l.digest, l.blob.len() as u64, &mut l.blob.as_slice())
                .map_err(werr)?;
        }
    }
    if !sink.has_blob(&config_digest).map_err(werr)? {
        sink.put_blob(
            &config_digest,
            config_bytes.len() as u64,
            &mut config_bytes.as_slice(),
        )
        .map_err(werr)?;
    }
    sink.put_manifest(&raw, tag.as_deref()).map_err(werr)?;
    Ok(Built {
        destination: dest_name,
        tag,
        digest: raw.digest.clone(),
        manifest: raw,
        config_digest,
        platform,
        base: base_info,
        layers,
    })
}

fn oci_layer_media_type(m: &str) -> String {
    match m {
        media::DOCKER_LAYER_GZIP => media::OCI_LAYER_GZIP.to_owned(),
        media::DOCKER_LAYER => media::OCI_LAYER.to_owned(),
        other => other.to_owned(),
    }
}

/// Who ran the build, for [`provenance`].
#[derive(Debug, Clone)]
pub struct BuilderInfo {
    /// `runDetails.builder.id`: a URI naming the build platform (a CI workflow URL, or
    /// `https://example.invalid/vouch/builder/local` by default).
    pub id: String,
    /// `runDetails.metadata.invocationId` (a CI run URL), if any.
    pub invocation_id: Option<String>,
    /// When the build started.
    pub started: SystemTime,
    /// When it finished.
    pub finished: SystemTime,
}

/// The SLSA provenance v1 predicate (`https://slsa.dev/provenance/v1`, "Build
/// Definition" and "Run Details") describing `built` from `spec`. Its subject, the image
/// digest, is set by whoever wraps it in an in-toto statement.
pub fn provenance(spec: &Spec, built: &Built, builder: &BuilderInfo) -> Value {
    let mut external = json!({
        "add": spec.adds.iter().map(|a| json!({
            "source": a.source.display().to_string(),
            "destination": a.dest,
        })).collect::<Vec<_>>(),
        "platform": built.platform.to_string(),
    });
    if let Some(b) = &spec.base {
        external["base"] = Value::from(b.as_str());
    }
    if let Some(e) = &spec.entrypoint {
        external["entrypoint"] = json!(e);
    }
    if let Some(c) = &spec.cmd {
        external["cmd"] = json!(c);
    }
    if !spec.env.is_empty() {
        external["env"] = json!(
            spec.env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        );
    }
    if !spec.labels.is_empty() {
        external["labels"] = json!(spec.labels);
    }
    if let Some(u) = &spec.user {
        external["user"] = Value::from(u.as_str());
    }
    if let Some(w) = &spec.workdir {
        external["workdir"] = Value::from(w.as_str());
    }
    // resolvedDependencies: the base manifest, and each added tree by its layer's diff_id
    // (the digest of exactly the files that went in).
    let mut deps = Vec::new();
    if let Some(b) = &built.base {
        deps.push(json!({
            "uri": b.name,
            "name": "base",
            "digest": digest_set(&b.digest),
        }));
    }
    for l in &built.layers {
        if let Some(a) = &l.added {
            deps.push(json!({
                "uri": format!("file:{}", a.source.display()),
                "name": a.dest,
                "digest": digest_set(&l.diff_id),
                "annotations": {"layer": l.digest.to_string()},
            }));
        }
    }
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut metadata = json!({
        "startedOn": rfc3339(secs(builder.started)),
        "finishedOn": rfc3339(secs(builder.finished)),
    });
    if let Some(i) = &builder.invocation_id {
        metadata["invocationId"] = Value::from(i.as_str());
    }
    json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": {"sourceDateEpoch": spec.source_date_epoch},
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {
                "id": builder.id,
                "version": {"vouch": env!("CARGO_PKG_VERSION")},
            },
            "metadata": metadata,
        },
    })
}

/// An in-toto `DigestSet` (`{"sha256": "<hex>"}`).
fn digest_set(d: &Digest) -> Value {
    let text = d.to_string();
    let alg = text.split_once(':').map_or("sha256", |(a, _)| a);
    json!({ alg: d.hex() })
}

/// Unix seconds as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_value("--env", "A=b=c").ok(),
            Some(("A".into(), "b=c".into()))
        );
        assert!(parse_key_value("--env", "=x").is_err());
        assert!(parse_key_value("--label", "nope").is_err());
    }
}
