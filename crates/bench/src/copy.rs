//! `vouch image copy` vs `skopeo copy`: an OCI layout of incompressible gzip layers pushed
//! to a local docker-registry and pulled back, by both tools, alternating runs. Both verify
//! every blob's digest; both stream.
//!
//! Then the case of mirroring many images that share layers: a second image (the same
//! layers plus a small one of its own) pushed from another layout to another repository of
//! the same registry, and the first image copied registry -> registry into a third
//! repository. skopeo mounts the shared blobs (its blob-info cache remembers where it pushed
//! them; a registry source in the same registry is a mount source by itself); so does vouch
//! (its blob-info cache, `~/.cache/vouch/blob-info.json`). Each tool's own user cache is
//! used, as a user would have it: a fresh registry per run (a new port) keeps runs apart.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use vouch_oci::{Digest, ImageSink, Layout, Limits, RawManifest};
use vouch_testkit::{RegistryServer, require_tool};

use crate::measure::{Sample, measure, median, vouch_binary};

pub(crate) fn run(mb: u64, layers: u64, runs: u64) -> anyhow::Result<()> {
    let skopeo = require_tool("skopeo");
    let vouch = vouch_binary()?;
    let dir = tempfile::tempdir()?;
    let layout = dir.path().join("layout");
    eprintln!("building a {mb} MB image of {layers} gzip layers …");
    let digest = build_layout(&layout, mb, layers, false)?;
    let src = format!("oci:{}:bench", layout.display());
    let second = dir.path().join("second");
    build_layout(&second, mb, layers, true)?;
    let src2 = format!("oci:{}:bench", second.display());

    let (mut push_v, mut push_s, mut pull_v, mut pull_s) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut second_v, mut second_s, mut mirror_v, mut mirror_s) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        // A fresh registry (and port) per run: nothing is already there, and skopeo's blob
        // info cache, keyed by registry host, cannot turn its uploads into cross-repo mounts.
        let registry = RegistryServer::start();
        let v_repo = format!("{}/bench/vouch{i}:t", registry.host);
        let s_repo = format!("{}/bench/skopeo{i}:t", registry.host);
        push_v.push(measure(
            &vouch,
            &[
                "-q".into(),
                "image".into(),
                "copy".into(),
                src.clone(),
                v_repo.clone(),
            ],
        )?);
        push_s.push(measure(
            &skopeo,
            &[
                "copy".into(),
                "-q".into(),
                "--dest-tls-verify=false".into(),
                src.clone(),
                format!("docker://{s_repo}"),
            ],
        )?);
        let v_out = format!("oci:{}:t", dir.path().join(format!("pull-v{i}")).display());
        let s_out = format!("oci:{}:t", dir.path().join(format!("pull-s{i}")).display());
        pull_v.push(measure(
            &vouch,
            &[
                "-q".into(),
                "image".into(),
                "copy".into(),
                v_repo.clone(),
                v_out,
            ],
        )?);
        pull_s.push(measure(
            &skopeo,
            &[
                "copy".into(),
                "-q".into(),
                "--src-tls-verify=false".into(),
                format!("docker://{s_repo}"),
                s_out,
            ],
        )?);
        // The second image, sharing all but one small layer, into another repository.
        second_v.push(measure(
            &vouch,
            &[
                "-q".into(),
                "image".into(),
                "copy".into(),
                src2.clone(),
                format!("{}/bench/vouch{i}-second:t", registry.host),
            ],
        )?);
        second_s.push(measure(
            &skopeo,
            &[
                "copy".into(),
                "-q".into(),
                "--dest-tls-verify=false".into(),
                src2.clone(),
                format!("docker://{}/bench/skopeo{i}-second:t", registry.host),
            ],
        )?);
        // Mirroring within the registry: the first image into a third repository.
        mirror_v.push(measure(
            &vouch,
            &[
                "-q".into(),
                "image".into(),
                "copy".into(),
                v_repo.clone(),
                format!("{}/mirror/vouch{i}:t", registry.host),
            ],
        )?);
        mirror_s.push(measure(
            &skopeo,
            &[
                "copy".into(),
                "-q".into(),
                "--src-tls-verify=false".into(),
                "--dest-tls-verify=false".into(),
                format!("docker://{s_repo}"),
                format!("docker://{}/mirror/skopeo{i}:t", registry.host),
            ],
        )?);
    }
    println!("image copy, {mb} MB in {layers} layers, manifest {digest}, median of {runs} run(s)");
    println!(
        "{:<28} {:>10} {:>12} {:>10} {:>12}",
        "direction", "vouch s", "vouch MB", "skopeo s", "skopeo MB"
    );
    for (name, v, s) in [
        ("layout -> registry (push)", &push_v, &push_s),
        ("registry -> layout (pull)", &pull_v, &pull_s),
        ("2nd image sharing layers", &second_v, &second_s),
        ("registry -> other repo", &mirror_v, &mirror_s),
    ] {
        let (v, s): (Sample, Sample) = (median(v), median(s));
        println!(
            "{name:<28} {:>10.2} {:>12.1} {:>10.2} {:>12.1}   speed x{:.2}, memory x{:.2}",
            v.seconds,
            v.peak_kb as f64 / 1024.0,
            s.seconds,
            s.peak_kb as f64 / 1024.0,
            s.seconds / v.seconds.max(1e-6),
            s.peak_kb as f64 / (v.peak_kb as f64).max(1.0)
        );
    }
    println!(
        "(speed xN: vouch is N times faster than skopeo; memory xN: skopeo uses N times vouch's peak RSS)"
    );
    Ok(())
}

/// Writes an OCI layout with `layers` gzip layers of pseudo-random bytes (`mb` in all);
/// with `extra`, one more 1 MiB layer and so another config and manifest (the same
/// `layers` otherwise: the generator is seeded the same).
fn build_layout(path: &Path, mb: u64, layers: u64, extra: bool) -> anyhow::Result<Digest> {
    let layout = Layout::create(path, &Limits::default())?;
    let per_layer = (mb << 20) / layers.max(1);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..layers + u64::from(extra) {
        let mut tar = tar::Builder::new(Vec::new());
        let len = if i < layers { per_layer } else { 1 << 20 };
        let mut data = vec![0u8; len as usize];
        for chunk in data.chunks_mut(8) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            chunk.copy_from_slice(&rng.to_le_bytes()[..chunk.len()]);
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("data/blob{i}"), &data[..])?;
        let tar = tar.into_inner()?;
        diff_ids.push(Digest::sha256(&tar).to_string());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar)?;
        let gz = gz.finish()?;
        let d = Digest::sha256(&gz);
        layout.put_blob(&d, gz.len() as u64, &mut &gz[..])?;
        descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d.to_string(), "size": gz.len()}));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {}
    }))?;
    let cd = Digest::sha256(&config);
    layout.put_blob(&cd, config.len() as u64, &mut &config[..])?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": descs
    }))?;
    let raw = RawManifest::new(manifest, None, None, "bench manifest").context("manifest")?;
    layout.put_manifest(&raw, Some("bench"))?;
    Ok(raw.digest)
}
