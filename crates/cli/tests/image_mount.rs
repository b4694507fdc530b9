//! `vouch image copy` of a second image sharing layers: the blob-info cache in the user's
//! cache directory (`$XDG_CACHE_HOME/vouch/blob-info.json`) turns the shared layers into
//! cross-repository mounts, proven by the registry's own storage and by the copy report.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::path::Path;

use common::{check_ok, text, vouch_cmd};
use vouch_oci::{Digest, ImageSink, Layout, Limits, RawManifest};
use vouch_testkit::RegistryServer;

fn blob(layout: &Layout, bytes: &[u8], mt: &str) -> serde_json::Value {
    let d = Digest::sha256(bytes);
    layout
        .put_blob(&d, bytes.len() as u64, &mut &bytes[..])
        .unwrap();
    serde_json::json!({"mediaType": mt, "digest": d.to_string(), "size": bytes.len()})
}

/// Tags `a` (two layers) and `b` (the same two and one more) in the layout at `dir`.
fn layout_with_two_images(dir: &Path) -> Vec<Digest> {
    let layout = Layout::create(dir, &Limits::default()).unwrap();
    let layers: Vec<Vec<u8>> = (0..3u32)
        .map(|i| {
            (0..70_000u32)
                .flat_map(|x| (x ^ (i << 20)).to_le_bytes())
                .collect()
        })
        .collect();
    for (tag, n) in [("a", 2), ("b", 3)] {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"t":"{tag}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": blob(&layout, config.as_bytes(), "application/vnd.oci.image.config.v1+json"),
            "layers": layers[..n].iter().map(|l| blob(&layout, l, "application/vnd.oci.image.layer.v1.tar+gzip")).collect::<Vec<_>>(),
        });
        let raw =
            RawManifest::new(serde_json::to_vec(&manifest).unwrap(), None, None, tag).unwrap();
        layout.put_manifest(&raw, Some(tag)).unwrap();
    }
    layers[..2].iter().map(|l| Digest::sha256(l)).collect()
}

fn copy(cache_home: &Path, src: &str, dst: &str) -> (serde_json::Value, String) {
    let args = ["image", "copy", src, dst, "-o", "json"];
    let out = vouch_cmd(&args)
        .env("XDG_CACHE_HOME", cache_home)
        .output()
        .unwrap();
    let stdout = check_ok(&out, &args);
    (serde_json::from_str(&stdout).unwrap(), text(&out))
}

fn linked(registry: &RegistryServer, repo: &str, d: &Digest) -> bool {
    let hex = d.to_string().trim_start_matches("sha256:").to_owned();
    registry
        .data_dir()
        .join("docker/registry/v2/repositories")
        .join(repo)
        .join("_layers/sha256")
        .join(hex)
        .join("link")
        .is_file()
}

#[test]
fn second_image_sharing_layers_is_mounted_from_where_the_first_was_pushed() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let shared = layout_with_two_images(&dir.path().join("layout"));
    let layout = dir.path().join("layout");
    let src = |t: &str| format!("oci:{}:{t}", layout.display());
    let home = dir.path().join("cache");

    let (a, _) = copy(&home, &src("a"), &format!("{}/team/one:a", registry.host));
    assert_eq!(
        (a["blobsCopied"].as_u64(), a["blobsMounted"].as_u64()),
        (Some(3), Some(0))
    );
    let file = home.join("vouch/blob-info.json");
    let cache: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        cache["blobs"][shared[0].to_string()][0]["repository"],
        "team/one",
        "{cache}"
    );

    let (b, _) = copy(&home, &src("b"), &format!("{}/team/two:b", registry.host));
    assert_eq!(
        (b["blobsCopied"].as_u64(), b["blobsMounted"].as_u64()),
        (Some(2), Some(2)),
        "{b}"
    );
    for d in &shared {
        assert!(linked(&registry, "team/two", d), "{d} not in team/two");
    }
    // Pulled back whole (every blob verified by digest).
    let pulled = format!("oci:{}:b", dir.path().join("pulled").display());
    let (back, _) = copy(&home, &format!("{}/team/two:b", registry.host), &pulled);
    assert_eq!(back["digest"], b["digest"]);

    // Without the cache (another, empty cache directory) the same copy uploads.
    let (c, _) = copy(
        &dir.path().join("empty-cache"),
        &src("b"),
        &format!("{}/team/three:b", registry.host),
    );
    assert_eq!(
        (c["blobsCopied"].as_u64(), c["blobsMounted"].as_u64()),
        (Some(4), Some(0))
    );
}

#[test]
fn corrupt_cache_file_is_ignored_with_a_warning_and_rewritten() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    layout_with_two_images(&dir.path().join("layout"));
    let home = dir.path().join("cache");
    std::fs::create_dir_all(home.join("vouch")).unwrap();
    let file = home.join("vouch/blob-info.json");
    std::fs::write(&file, b"\x00not json").unwrap();

    let src = format!("oci:{}:a", dir.path().join("layout").display());
    let (a, all) = copy(&home, &src, &format!("{}/team/one:a", registry.host));
    assert_eq!(a["blobsCopied"].as_u64(), Some(3));
    assert!(
        all.contains("warning: ignoring the corrupt blob-info cache"),
        "{all}"
    );
    let cache: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(cache["version"], 1);
    assert_eq!(cache["blobs"].as_object().unwrap().len(), 3);
}
