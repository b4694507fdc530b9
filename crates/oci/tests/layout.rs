//! `oci:DIR` without a tag on a layout that signing has added to: the one image is found
//! among cosign `sha256-<hex>.sig` / `.att` images, referrers (manifests with a `subject`)
//! and referrers tag schema indexes, whether the image is tagged or not.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use serde_json::json;
use vouch_oci::layout::{is_signing_artifact, is_signing_tag};
use vouch_oci::{
    CopyOptions, Digest, Error, ImageSink, ImageSource, Layout, Limits, Location, Platform,
    RawManifest, RegistryOptions, Selector,
};
use vouch_testkit::umoci_image;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn options() -> RegistryOptions {
    RegistryOptions {
        auth_files: Some(Vec::new()),
        ..Default::default()
    }
}

fn put_blob(layout: &Layout, bytes: &[u8]) -> serde_json::Value {
    let d = Digest::sha256(bytes);
    layout
        .put_blob(&d, bytes.len() as u64, &mut &bytes[..])
        .unwrap();
    json!({"digest": d.to_string(), "size": bytes.len()})
}

fn put_manifest(layout: &Layout, value: &serde_json::Value, tag: Option<&str>) -> RawManifest {
    let bytes = serde_json::to_vec(value).unwrap();
    let mt = value["mediaType"].as_str().unwrap();
    let raw = RawManifest::new(bytes, Some(mt), None, "test").unwrap();
    layout.put_manifest(&raw, tag).unwrap();
    raw
}

fn with_media_type(mut desc: serde_json::Value, mt: &str) -> serde_json::Value {
    desc["mediaType"] = json!(mt);
    desc
}

/// Adds what `vouch sign oci:DIR` (and cosign) leave beside `image`: a legacy signature image
/// at `sha256-<hex>.sig`, an attestation image at `sha256-<hex>.att`, an untagged bundle
/// referrer with a `subject`, and the referrers tag schema index at `sha256-<hex>`.
fn add_signing_entries(dir: &Path, image: &RawManifest) {
    let layout = Layout::open(dir, &Limits::default()).unwrap();
    let config = with_media_type(
        put_blob(
            &layout,
            br#"{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}"#,
        ),
        "application/vnd.oci.image.config.v1+json",
    );
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"oci"}},"image":{{"docker-manifest-digest":"{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
        image.digest
    );
    let mut sig_layer = with_media_type(
        put_blob(&layout, payload.as_bytes()),
        "application/vnd.dev.cosign.simplesigning.v1+json",
    );
    sig_layer["annotations"] = json!({"dev.cosignproject.cosign/signature": "MEUCIQ=="});
    let tag = image.digest.tag_form();
    put_manifest(
        &layout,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [sig_layer]}),
        Some(&format!("{tag}.sig")),
    );
    let att_layer = with_media_type(
        put_blob(
            &layout,
            br#"{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[]}"#,
        ),
        "application/vnd.dsse.envelope.v1+json",
    );
    put_manifest(
        &layout,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [att_layer]}),
        Some(&format!("{tag}.att")),
    );
    let empty = with_media_type(
        put_blob(&layout, b"{}"),
        "application/vnd.oci.empty.v1+json",
    );
    let bundle = with_media_type(
        put_blob(
            &layout,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
        ),
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    );
    let subject = json!({
        "mediaType": image.media_type,
        "digest": image.digest.to_string(),
        "size": image.bytes.len(),
    });
    let referrer = put_manifest(
        &layout,
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "config": empty,
            "layers": [bundle],
            "subject": subject,
        }),
        None,
    );
    put_manifest(
        &layout,
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{
                "mediaType": OCI_MANIFEST,
                "digest": referrer.digest.to_string(),
                "size": referrer.bytes.len(),
                "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            }],
        }),
        Some(&tag),
    );
}

/// Reads `oci:DIR` (no tag) as `vouch image inspect` does and copies it as `vouch image copy`
/// does; returns the digest each found.
fn inspect_and_copy(dir: &Path, dest: &Path) -> (Digest, Digest) {
    let loc = Location::parse(&format!("oci:{}", dir.display())).unwrap();
    let (source, selector) = vouch_oci::open_source(&loc, &options()).unwrap();
    let image = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &Platform::host(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(image.layers().len(), 1);
    let dst = Location::parse(&format!("oci:{}:copied", dest.display())).unwrap();
    let (sink, tag) = vouch_oci::open_sink(&dst, &options()).unwrap();
    let report = vouch_oci::copy_image(
        source.as_ref(),
        &selector,
        sink.as_ref(),
        tag.as_deref(),
        &CopyOptions {
            platform: None,
            parallelism: 2,
        },
        &|_| {},
    )
    .unwrap();
    (image.top.digest, report.digest)
}

#[test]
fn untagged_selection_skips_signatures_attestations_and_referrers() {
    let dir = tempfile::tempdir().unwrap();
    let layout_dir = umoci_image(dir.path(), "v1", &[&[("etc/hostname", b"box\n")]]);
    let layout = Layout::open(&layout_dir, &Limits::default()).unwrap();
    let image = layout.manifest(&Selector::Tag("v1".into())).unwrap();
    add_signing_entries(&layout_dir, &image);
    assert_eq!(layout.index().unwrap().manifests().len(), 5);
    assert_eq!(layout.default_image().unwrap(), Selector::Tag("v1".into()));
    let (inspected, copied) = inspect_and_copy(&layout_dir, &dir.path().join("copy1"));
    assert_eq!(inspected, image.digest);
    assert_eq!(copied, image.digest);

    // The same image stored untagged (as `vouch image copy SRC oci:DIR` writes it): found by
    // digest among the same entries.
    let untagged = dir.path().join("untagged");
    let (sink, _) = vouch_oci::open_sink(
        &Location::parse(&format!("oci:{}", untagged.display())).unwrap(),
        &options(),
    )
    .unwrap();
    vouch_oci::copy_image(
        &layout,
        &Selector::Tag("v1".into()),
        sink.as_ref(),
        None,
        &CopyOptions::default(),
        &|_| {},
    )
    .unwrap();
    add_signing_entries(&untagged, &image);
    let untagged_layout = Layout::open(&untagged, &Limits::default()).unwrap();
    assert_eq!(
        untagged_layout.default_image().unwrap(),
        Selector::Digest(image.digest.clone())
    );
    let (inspected, copied) = inspect_and_copy(&untagged, &dir.path().join("copy2"));
    assert_eq!(inspected, image.digest);
    assert_eq!(copied, image.digest);
}

#[test]
fn two_images_beside_signatures_are_still_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let layout_dir = umoci_image(dir.path(), "v1", &[&[("a", b"1")]]);
    let layout_dir2 = umoci_image(dir.path(), "v2", &[&[("a", b"2")]]);
    assert_eq!(layout_dir, layout_dir2);
    let layout = Layout::open(&layout_dir, &Limits::default()).unwrap();
    let image = layout.manifest(&Selector::Tag("v1".into())).unwrap();
    add_signing_entries(&layout_dir, &image);
    let loc = Location::parse(&format!("oci:{}", layout_dir.display())).unwrap();
    let (source, selector) = vouch_oci::open_source(&loc, &options()).unwrap();
    let err = source.manifest(&selector).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("2 images"), "{err}");
    // A tag still selects among them.
    let tagged = Location::parse(&format!("oci:{}:v2", layout_dir.display())).unwrap();
    let (source, selector) = vouch_oci::open_source(&tagged, &options()).unwrap();
    assert!(source.manifest(&selector).is_ok());
}

#[test]
fn signing_tags_and_artifacts_are_recognised() {
    let hex = "a".repeat(64);
    for t in [
        format!("sha256-{hex}"),
        format!("sha256-{hex}.sig"),
        format!("sha256-{hex}.att"),
        format!("sha256-{hex}.sbom"),
    ] {
        assert!(is_signing_tag(&t), "{t}");
    }
    for t in [
        "latest",
        "sha256-abc.sig",
        "sha256-",
        &format!("sha256-{hex}.txt"),
    ] {
        assert!(!is_signing_tag(t), "{t}");
    }
    assert!(is_signing_artifact(br#"{"subject":{"digest":"x"}}"#));
    assert!(is_signing_artifact(br#"{"artifactType":"application/x"}"#));
    assert!(is_signing_artifact(
        br#"{"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}"#
    ));
    assert!(!is_signing_artifact(
        br#"{"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}]}"#
    ));
    assert!(!is_signing_artifact(br#"{"layers":[]}"#));
    assert!(!is_signing_artifact(b"not json"));
}
