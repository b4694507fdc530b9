//! vouch-oci against a real registry (Debian's docker-registry) and real peers (umoci, skopeo).
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::Command;

use vouch_oci::auth::Credentials;
use vouch_oci::{CopyOptions, Error, Location, Platform, RegistryOptions, Selector};
use vouch_testkit::{RegistryAuth, RegistryServer, require_tool, run, umoci_image};

fn no_progress(_: vouch_oci::CopyEvent<'_>) {}

/// Options that read no auth file of the machine running the tests.
fn options() -> RegistryOptions {
    RegistryOptions {
        auth_files: Some(Vec::new()),
        ..Default::default()
    }
}

/// A two-layer image built by umoci in `dir`; returns the layout location string.
fn umoci_layout(dir: &Path, tag: &str) -> String {
    let big: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let layout = umoci_image(
        dir,
        tag,
        &[
            &[("etc/os-release", b"ID=vouchtest\n"), ("usr/bin/app", &big)],
            &[("etc/motd", b"hello\n")],
        ],
    );
    format!("oci:{}:{tag}", layout.display())
}

fn copy(src: &str, dst: &str, options: &RegistryOptions) -> Result<vouch_oci::CopyReport, Error> {
    let (source, selector) = vouch_oci::open_source(&Location::parse(src)?, options)?;
    let (sink, tag) = vouch_oci::open_sink(&Location::parse(dst)?, options)?;
    vouch_oci::copy_image(
        source.as_ref(),
        &selector,
        sink.as_ref(),
        tag.as_deref(),
        &CopyOptions {
            platform: None,
            parallelism: 4,
        },
        &no_progress,
    )
}

fn skopeo_digest(reference: &str) -> String {
    require_tool("skopeo");
    let out = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(reference));
    vouch_oci::Digest::sha256(out.as_bytes()).to_string()
}

#[test]
fn umoci_image_pushed_by_vouch_reads_back_identically_with_skopeo() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let src = umoci_layout(dir.path(), "v1");
    let dst = format!("{}/team/app:v1", registry.host);
    let report = copy(&src, &dst, &options()).unwrap();
    assert_eq!(report.blobs_copied, 3, "config + 2 layers");
    assert_eq!(report.manifests, 1);

    // skopeo sees exactly the bytes we pushed.
    assert_eq!(
        skopeo_digest(&format!("docker://{dst}")),
        report.digest.to_string()
    );
    // skopeo can pull it all (it verifies every blob) into a layout of its own ...
    let out = dir.path().join("skopeo-out");
    run(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", &format!("docker://{dst}")])
        .arg(format!("oci:{}:x", out.display())));
    // ... whose manifest is the same manifest.
    let (layout, sel) = vouch_oci::open_source(
        &Location::parse(&format!("oci:{}:x", out.display())).unwrap(),
        &options(),
    )
    .unwrap();
    assert_eq!(layout.manifest(&sel).unwrap().digest, report.digest);

    // Copying again moves no blob.
    let again = copy(&src, &dst, &options()).unwrap();
    assert_eq!(again.blobs_copied, 0);
    assert_eq!(again.blobs_skipped, 3);

    // Tags are listed.
    let (reg, _) = vouch_oci::open_source(&Location::parse(&dst).unwrap(), &options()).unwrap();
    assert_eq!(reg.tags().unwrap(), vec!["v1".to_string()]);
}

#[test]
fn image_pushed_by_skopeo_is_read_by_vouch() {
    require_tool("skopeo");
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let src = umoci_layout(dir.path(), "s");
    let dst = format!("{}/by/skopeo:s", registry.host);
    run(Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(&src)
        .arg(format!("docker://{dst}")));
    let digest = skopeo_digest(&format!("docker://{dst}"));

    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&dst).unwrap(), &options()).unwrap();
    let image = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &Platform::host(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(image.top.digest.to_string(), digest);
    assert_eq!(image.layers().len(), 2);
    assert_eq!(
        image
            .config
            .config()
            .as_ref()
            .unwrap()
            .entrypoint()
            .as_ref()
            .unwrap(),
        &vec!["/bin/app".to_string()]
    );

    // And by digest, the squashed filesystem knows which layer each file came from.
    let by_digest = Location::parse(&format!("{}/by/skopeo@{digest}", registry.host)).unwrap();
    let (source, selector) = vouch_oci::open_source(&by_digest, &options()).unwrap();
    let image = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &Platform::host(),
        &Default::default(),
    )
    .unwrap();
    let fs = vouch_oci::Rootfs::from_image(
        source.as_ref(),
        &image,
        &vouch_oci::rootfs::Keep::All,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        fs.read("etc/os-release", 1024).unwrap().unwrap(),
        b"ID=vouchtest\n"
    );
    assert_eq!(fs.get("etc/os-release").unwrap().layer, Some(0));
    assert_eq!(fs.get("etc/motd").unwrap().layer, Some(1));
    assert_eq!(
        fs.layers()[1].digest.to_string(),
        image.layers()[1].digest().to_string()
    );
}

#[test]
fn missing_image_is_one_line_naming_reference_and_answer() {
    let registry = RegistryServer::start();
    let reference = format!("{}/no/such:tag", registry.host);
    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&reference).unwrap(), &options()).unwrap();
    let err = source.manifest(&selector).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains("no/such:tag"), "{msg}");
    assert!(msg.contains(&registry.host), "{msg}");
    assert!(
        msg.contains("UNKNOWN"),
        "names the registry's answer: {msg}"
    );
}

#[test]
fn corrupted_blob_in_registry_is_refused() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let src = umoci_layout(dir.path(), "c");
    let dst = format!("{}/corrupt/me:c", registry.host);
    copy(&src, &dst, &options()).unwrap();
    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&dst).unwrap(), &options()).unwrap();
    let image = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &Platform::host(),
        &Default::default(),
    )
    .unwrap();
    let layer = &image.layers()[0];
    let path = registry.blob_path(layer.digest().as_ref());
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    // Reading the layer fails with a digest mismatch naming the blob ...
    let digest: vouch_oci::Digest = layer.digest().to_string().parse().unwrap();
    let err = vouch_oci::read_blob(source.as_ref(), &digest, layer.size()).unwrap_err();
    match &err {
        Error::DigestMismatch { expected, .. } => assert_eq!(expected, &digest),
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    // ... and a copy out of it fails without writing the manifest to the destination.
    let out = dir.path().join("out");
    let err = copy(&dst, &format!("oci:{}:c", out.display()), &options()).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    let (layout, _) = vouch_oci::open_source(
        &Location::parse(&format!("oci:{}", out.display())).unwrap(),
        &options(),
    )
    .unwrap();
    assert!(layout.tags().unwrap().is_empty(), "no manifest was written");
}

#[test]
fn htpasswd_registry_needs_and_accepts_credentials() {
    let registry = RegistryServer::start_with(RegistryAuth::Htpasswd {
        user: "alice".into(),
        password: "s3cret".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let src = umoci_layout(dir.path(), "h");
    let dst = format!("{}/private/app:h", registry.host);

    // No credentials anywhere: the registry's 401 is reported as such.
    let anonymous = RegistryOptions {
        auth_files: Some(Vec::new()),
        ..options()
    };
    let err = copy(&src, &dst, &anonymous).unwrap_err();
    assert!(matches!(err, Error::Denied { status: 401, .. }), "{err:?}");

    let wrong = RegistryOptions {
        credentials: Some(Credentials::Basic {
            username: "alice".into(),
            password: "nope".into(),
        }),
        ..options()
    };
    let err = copy(&src, &dst, &wrong).unwrap_err();
    assert!(matches!(err, Error::Denied { .. }), "{err:?}");

    let good = RegistryOptions {
        credentials: Some(Credentials::Basic {
            username: "alice".into(),
            password: "s3cret".into(),
        }),
        ..options()
    };
    let report = copy(&src, &dst, &good).unwrap();
    assert_eq!(
        skopeo_digest_with_creds(&dst, "alice:s3cret"),
        report.digest.to_string()
    );
}

#[test]
fn token_auth_registry_with_bearer_challenge() {
    let registry = RegistryServer::start_with(RegistryAuth::Token {
        user: "bob".into(),
        password: "hunter2".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let src = umoci_layout(dir.path(), "t");
    let dst = format!("{}/tok/app:t", registry.host);

    // Credentials from a docker config.json, as `docker login` writes them.
    let cfg = dir.path().join("auth.json");
    let auth = base64_encode("bob:hunter2");
    std::fs::write(
        &cfg,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
    )
    .unwrap();
    let from_file = RegistryOptions {
        auth_files: Some(vec![cfg]),
        ..options()
    };
    let report = copy(&src, &dst, &from_file).unwrap();
    assert!(registry.tokens_issued() >= 1, "the token server was used");

    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&dst).unwrap(), &from_file).unwrap();
    assert_eq!(source.manifest(&selector).unwrap().digest, report.digest);

    let wrong = RegistryOptions {
        credentials: Some(Credentials::Basic {
            username: "bob".into(),
            password: "x".into(),
        }),
        ..options()
    };
    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&dst).unwrap(), &wrong).unwrap();
    let err = source.manifest(&selector).unwrap_err();
    assert!(matches!(err, Error::Denied { .. }), "{err:?}");
}

#[test]
fn multi_platform_index_selects_platform_and_copies_whole() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    // Two single-platform images from umoci, joined in an index we write ourselves.
    let a = umoci_layout(dir.path(), "amd");
    umoci_layout(dir.path(), "arm");
    let layout_dir = dir.path().join("layout");
    let (layout, _) = vouch_oci::open_source(&Location::parse(&a).unwrap(), &options()).unwrap();
    let ma = layout.manifest(&Selector::Tag("amd".into())).unwrap();
    let mb = layout.manifest(&Selector::Tag("arm".into())).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": ma.media_type, "digest": ma.digest.to_string(), "size": ma.bytes.len(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": mb.media_type, "digest": mb.digest.to_string(), "size": mb.bytes.len(), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ]
    });
    let raw = vouch_oci::RawManifest::new(serde_json::to_vec(&index).unwrap(), None, None, "index")
        .unwrap();
    let (sink, _) = vouch_oci::open_sink(
        &Location::parse(&format!("oci:{}", layout_dir.display())).unwrap(),
        &options(),
    )
    .unwrap();
    sink.put_manifest(&raw, Some("multi")).unwrap();

    let dst = format!("{}/multi/app:m", registry.host);
    let report = copy(
        &format!("oci:{}:multi", layout_dir.display()),
        &dst,
        &options(),
    )
    .unwrap();
    assert_eq!(report.digest, raw.digest, "the index digest is kept");
    assert_eq!(report.manifests, 3);
    assert_eq!(
        skopeo_digest(&format!("docker://{dst}")),
        raw.digest.to_string()
    );

    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&dst).unwrap(), &options()).unwrap();
    let arm = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &"linux/arm64".parse().unwrap(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(arm.manifest.digest, mb.digest);
    assert_eq!(arm.platforms.len(), 2);
    let amd = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &"linux/amd64".parse().unwrap(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(amd.manifest.digest, ma.digest);
    let err = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &"linux/s390x".parse().unwrap(),
        &Default::default(),
    )
    .unwrap_err();
    match err {
        Error::NoMatchingPlatform { available, .. } => {
            assert_eq!(available, "linux/amd64, linux/arm64/v8")
        }
        other => panic!("{other:?}"),
    }

    // --platform copies one manifest out of the index.
    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&dst).unwrap(), &options()).unwrap();
    let (sink, tag) = vouch_oci::open_sink(
        &Location::parse(&format!("{}/single/app:s", registry.host)).unwrap(),
        &options(),
    )
    .unwrap();
    let one = vouch_oci::copy_image(
        source.as_ref(),
        &selector,
        sink.as_ref(),
        tag.as_deref(),
        &CopyOptions {
            platform: Some("linux/arm64".parse().unwrap()),
            parallelism: 2,
        },
        &no_progress,
    )
    .unwrap();
    assert_eq!(one.digest, mb.digest);
}

#[test]
fn referrers_fall_back_to_the_tag_schema() {
    // Debian's docker-registry 2.8 has no referrers API: the fallback index must be found.
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let src = umoci_layout(dir.path(), "r");
    let dst = format!("{}/ref/app:r", registry.host);
    let report = copy(&src, &dst, &options()).unwrap();
    let (source, _) = vouch_oci::open_source(&Location::parse(&dst).unwrap(), &options()).unwrap();
    assert!(source.referrers(&report.digest, None).unwrap().is_empty());

    let (sink, _) = vouch_oci::open_sink(&Location::parse(&dst).unwrap(), &options()).unwrap();
    let empty = b"{}";
    let empty_digest = vouch_oci::Digest::sha256(empty);
    sink.put_blob(&empty_digest, 2, &mut &empty[..]).unwrap();
    let artifact = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.sig",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest.to_string(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest.to_string(), "size": 2}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": report.digest.to_string(), "size": 1}
    });
    let art = vouch_oci::RawManifest::new(
        serde_json::to_vec(&artifact).unwrap(),
        None,
        None,
        "artifact",
    )
    .unwrap();
    sink.put_manifest(&art, None).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": art.media_type, "digest": art.digest.to_string(), "size": art.bytes.len(), "artifactType": "application/vnd.example.sig"}]
    });
    let idx =
        vouch_oci::RawManifest::new(serde_json::to_vec(&index).unwrap(), None, None, "fallback")
            .unwrap();
    sink.put_manifest(&idx, Some(&report.digest.tag_form()))
        .unwrap();

    let found = source
        .referrers(&report.digest, Some("application/vnd.example.sig"))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].digest().to_string(), art.digest.to_string());
    assert!(
        source
            .referrers(&report.digest, Some("application/other"))
            .unwrap()
            .is_empty()
    );
}

fn skopeo_digest_with_creds(reference: &str, creds: &str) -> String {
    let out = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", "--creds", creds])
        .arg(format!("docker://{reference}")));
    vouch_oci::Digest::sha256(out.as_bytes()).to_string()
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
