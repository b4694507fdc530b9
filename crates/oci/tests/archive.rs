//! `docker save` archives (made here by skopeo) and OCI layouts as sources.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

use vouch_oci::{CopyOptions, Error, Location, Platform, RegistryOptions, Selector};
use vouch_testkit::{require_tool, run, umoci_image};

fn options() -> RegistryOptions {
    RegistryOptions {
        auth_files: Some(Vec::new()),
        ..Default::default()
    }
}

#[test]
fn docker_archive_reads_like_the_layout_it_came_from() {
    require_tool("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(
        dir.path(),
        "v1",
        &[&[("etc/hostname", b"box\n")], &[("srv/data", b"payload")]],
    );
    let archive = dir.path().join("image.tar");
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!(
            "docker-archive:{}:example/app:v1",
            archive.display()
        )));

    let loc = Location::parse(&format!("docker-archive:{}", archive.display())).unwrap();
    let (source, selector) = vouch_oci::open_source(&loc, &options()).unwrap();
    assert_eq!(
        source.tags().unwrap(),
        vec!["docker.io/example/app:v1".to_string()]
    );
    // Selecting by the short name finds the normalised RepoTags entry.
    let named = Location::parse(&format!(
        "docker-archive:{}:example/app:v1",
        archive.display()
    ))
    .unwrap();
    assert!(vouch_oci::open_source(&named, &options()).is_ok());
    let image = vouch_oci::resolve(
        source.as_ref(),
        &selector,
        &Platform::host(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(image.layers().len(), 2);
    let fs = vouch_oci::Rootfs::from_image(
        source.as_ref(),
        &image,
        &vouch_oci::rootfs::Keep::All,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(fs.read("srv/data", 100).unwrap().unwrap(), b"payload");
    assert_eq!(fs.get("srv/data").unwrap().layer, Some(1));

    // The same config as the layout's (layers differ only in compression).
    let (lsrc, lsel) = vouch_oci::open_source(
        &Location::parse(&format!("oci:{}:v1", layout.display())).unwrap(),
        &options(),
    )
    .unwrap();
    let limage =
        vouch_oci::resolve(lsrc.as_ref(), &lsel, &Platform::host(), &Default::default()).unwrap();
    assert_eq!(
        image.config.rootfs().diff_ids(),
        limage.config.rootfs().diff_ids()
    );

    // Copy out of the archive into a layout, by digest: the (Docker schema 2) manifest is
    // kept byte for byte. (skopeo's oci: transport only looks up OCI media types in
    // index.json, so it is no judge of this copy; vouch reads it back and every blob is
    // verified on the way.)
    let out = dir.path().join("out");
    let (sink, tag) = vouch_oci::open_sink(
        &Location::parse(&format!("oci:{}:copied", out.display())).unwrap(),
        &options(),
    )
    .unwrap();
    let report = vouch_oci::copy_image(
        source.as_ref(),
        &selector,
        sink.as_ref(),
        tag.as_deref(),
        &CopyOptions::default(),
        &|_| {},
    )
    .unwrap();
    let (copy, copy_sel) = vouch_oci::open_source(
        &Location::parse(&format!("oci:{}:copied", out.display())).unwrap(),
        &options(),
    )
    .unwrap();
    let copied = vouch_oci::resolve(
        copy.as_ref(),
        &copy_sel,
        &Platform::host(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(copied.manifest.digest, report.digest);
    let fs = vouch_oci::Rootfs::from_image(
        copy.as_ref(),
        &copied,
        &vouch_oci::rootfs::Keep::All,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(fs.read("etc/hostname", 100).unwrap().unwrap(), b"box\n");

    // Naming an image the archive does not hold fails with the name.
    let missing =
        Location::parse(&format!("docker-archive:{}:other:v2", archive.display())).unwrap();
    match vouch_oci::open_source(&missing, &options()) {
        Err(Error::NotFound { what, .. }) => assert_eq!(what, "other:v2"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("accepted a missing image"),
    }
}

#[test]
fn layout_refuses_unknown_media_types_and_tampered_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(dir.path(), "t", &[&[("a", b"a")]]);
    let loc = format!("oci:{}:t", layout.display());
    let (source, selector) =
        vouch_oci::open_source(&Location::parse(&loc).unwrap(), &options()).unwrap();
    let top = source.manifest(&selector).unwrap();

    // Rewrite index.json to claim an unknown manifest media type.
    let index_path = layout.join("index.json");
    let original = std::fs::read_to_string(&index_path).unwrap();
    let doctored = original.replace(
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.example.thing+json",
    );
    std::fs::write(&index_path, &doctored).unwrap();
    match source.manifest(&selector) {
        Err(Error::UnsupportedMediaType { media_type, .. }) => {
            assert_eq!(media_type, "application/vnd.example.thing+json")
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(&index_path, &original).unwrap();

    // Tamper with the manifest blob: asking by tag or digest is refused.
    let blob = layout.join("blobs/sha256").join(top.digest.hex());
    let mut bytes = std::fs::read(&blob).unwrap();
    let i = bytes.iter().position(|b| *b == b'{').unwrap();
    bytes.insert(i + 1, b' ');
    std::fs::write(&blob, bytes).unwrap();
    assert!(matches!(
        source.manifest(&selector),
        Err(Error::DigestMismatch { .. })
    ));
    assert!(matches!(
        source.manifest(&Selector::Digest(top.digest)),
        Err(Error::DigestMismatch { .. })
    ));
}
