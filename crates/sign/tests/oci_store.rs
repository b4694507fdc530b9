//! `oci::Store` on OCI layouts: re-signing appends, `copy_signatures_from` merges without
//! dropping or duplicating and refuses tampered blobs, and `descendants` walks nested indexes.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use vouch_oci::{Digest, ImageSink as _, ImageSource as _, Layout, RawManifest, Selector};
use vouch_sign::oci::{ImageTarget, SignatureFormat, Store};
use vouch_sign::{KeyAlgorithm, Limits, SigningKey};

fn put_blob(layout: &Layout, bytes: &[u8]) -> Value {
    let d = Digest::sha256(bytes);
    layout
        .put_blob(&d, bytes.len() as u64, &mut &bytes[..])
        .unwrap();
    json!({"digest": d.to_string(), "size": bytes.len()})
}

fn put_manifest(
    layout: &Layout,
    value: &Value,
    media_type: &str,
    tag: Option<&str>,
) -> RawManifest {
    let raw = RawManifest::new(
        serde_json::to_vec(value).unwrap(),
        Some(media_type),
        None,
        "test",
    )
    .unwrap();
    layout.put_manifest(&raw, tag).unwrap();
    raw
}

/// A one-layer image at `tag` in a new layout at `dir`.
fn image(dir: &Path, tag: &str, content: &[u8]) -> (Layout, ImageTarget) {
    let layout = Layout::create(dir, &vouch_oci::Limits::default()).unwrap();
    let mut config = put_blob(&layout, br#"{"architecture":"amd64","os":"linux"}"#);
    config["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let mut layer = put_blob(&layout, content);
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
    put_manifest(
        &layout,
        &json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [layer],
        }),
        "application/vnd.oci.image.manifest.v1+json",
        Some(tag),
    );
    let target =
        ImageTarget::resolve_selector(&layout, &Selector::Tag(tag.into()), "example/app".into())
            .unwrap();
    (layout, target)
}

fn sign(layout: &Layout, target: &ImageTarget, key: &SigningKey, format: SignatureFormat) {
    Store {
        source: layout,
        sink: layout,
        limits: Limits::default(),
    }
    .sign_image(target, key, format, &BTreeMap::new())
    .unwrap();
}

fn sig_layers(layout: &Layout, target: &ImageTarget) -> Vec<String> {
    let raw = layout
        .manifest(&Selector::Tag(format!("{}.sig", target.digest.tag_form())))
        .unwrap();
    let v: Value = serde_json::from_slice(&raw.bytes).unwrap();
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["annotations"]["dev.cosignproject.cosign/signature"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn copying_signatures_merges_and_never_drops() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, target) = image(&tmp.path().join("src"), "v1", b"layer");
    let (dst, dst_target) = image(&tmp.path().join("dst"), "v1", b"layer");
    assert_eq!(target.digest, dst_target.digest);
    let a = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let b = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let c = SigningKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    sign(&src, &target, &a, SignatureFormat::Both);
    sign(&src, &target, &b, SignatureFormat::Both);
    sign(&dst, &target, &c, SignatureFormat::Legacy);
    let before_src = sig_layers(&src, &target);
    let before_dst = sig_layers(&dst, &target);
    assert_eq!((before_src.len(), before_dst.len()), (2, 1));

    let store = Store {
        source: &dst,
        sink: &dst,
        limits: Limits::default(),
    };
    let stored = store.copy_signatures_from(&src, &target).unwrap();
    assert_eq!(stored.len(), 3, "{stored:?}"); // .sig + 2 referrers
    assert_eq!(stored[0].note, "merged with the signatures already there");
    let merged = sig_layers(&dst, &target);
    assert_eq!(merged, [before_dst, before_src].concat());
    assert_eq!(dst.referrers(&target.digest, None).unwrap().len(), 2);

    // Again: nothing new, nothing duplicated.
    let again = store.copy_signatures_from(&src, &target).unwrap();
    assert_eq!(again[0].note, "all already present");
    assert_eq!(sig_layers(&dst, &target), merged);
    assert_eq!(dst.referrers(&target.digest, None).unwrap().len(), 2);
}

#[test]
fn a_tampered_signature_blob_is_not_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, target) = image(&tmp.path().join("src"), "v1", b"layer");
    let (dst, _) = image(&tmp.path().join("dst"), "v1", b"layer");
    let key = || SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    sign(&src, &target, &key(), SignatureFormat::Legacy);
    sign(&dst, &target, &key(), SignatureFormat::Legacy);
    let kept = sig_layers(&dst, &target);
    // (Another key: the same key over the same payload is cosign's duplicate, not appended.)
    sign(&src, &target, &key(), SignatureFormat::Legacy);
    // Overwrite the new payload blob in the source with other bytes of the same length.
    let raw = src
        .manifest(&Selector::Tag(format!("{}.sig", target.digest.tag_form())))
        .unwrap();
    let v: Value = serde_json::from_slice(&raw.bytes).unwrap();
    let digest = v["layers"][1]["digest"].as_str().unwrap();
    let path = tmp
        .path()
        .join("src/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let store = Store {
        source: &dst,
        sink: &dst,
        limits: Limits::default(),
    };
    let err = store.copy_signatures_from(&src, &target).unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");
    assert_eq!(sig_layers(&dst, &target), kept);
}

#[test]
fn descendants_walk_nested_indexes_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (layout, one) = image(&tmp.path().join("l"), "one", b"1");
    let (_, two) = image(&tmp.path().join("l"), "two", b"2");
    let entry = |t: &ImageTarget| json!({"mediaType": t.media_type, "digest": t.digest.to_string(), "size": t.size});
    let index_mt = "application/vnd.oci.image.index.v1+json";
    let inner = put_manifest(
        &layout,
        &json!({"schemaVersion": 2, "mediaType": index_mt, "manifests": [entry(&two)]}),
        index_mt,
        None,
    );
    let outer = put_manifest(
        &layout,
        &json!({"schemaVersion": 2, "mediaType": index_mt, "manifests": [
            entry(&one),
            {"mediaType": index_mt, "digest": inner.digest.to_string(), "size": inner.bytes.len()},
            entry(&one),
        ]}),
        index_mt,
        Some("multi"),
    );
    let top =
        ImageTarget::resolve_selector(&layout, &Selector::Tag("multi".into()), "x".into()).unwrap();
    assert_eq!(top.digest, outer.digest);
    let found: Vec<Digest> = top
        .descendants(&layout, &Limits::default())
        .unwrap()
        .into_iter()
        .map(|t| t.digest)
        .collect();
    assert_eq!(found, [one.digest.clone(), inner.digest, two.digest]);
    assert!(
        one.descendants(&layout, &Limits::default())
            .unwrap()
            .is_empty()
    );
    let tight = Limits {
        max_image_signatures: 2,
        ..Limits::default()
    };
    assert!(top.descendants(&layout, &tight).is_err());
}
