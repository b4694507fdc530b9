//! `vouch_build::build` against real stores: OCI layouts read back by umoci, a
//! `docker-registry` read by skopeo, bases built by umoci; same inputs, same digest.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use vouch_build::{Add, Limits, Spec, build};
use vouch_oci::{Location, RegistryOptions};
use vouch_testkit::{RegistryServer, require_tool, run, umoci_image};

fn app_tree(root: &Path) {
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("etc/app")).unwrap();
    std::fs::write(root.join("bin/app"), "#!/bin/sh\necho hi\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(root.join("bin/app"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
    }
    std::fs::write(root.join("etc/app/config.toml"), "mode = 'prod'\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("config.toml", root.join("etc/app/current.toml")).unwrap();
}

fn spec(src: &Path) -> Spec {
    Spec {
        adds: vec![Add {
            source: src.to_owned(),
            dest: "/".into(),
        }],
        entrypoint: Some(vec!["/bin/app".into()]),
        cmd: Some(vec!["--serve".into()]),
        env: vec![("MODE".into(), "prod".into())],
        labels: BTreeMap::from([("org.opencontainers.image.title".into(), "app".into())]),
        user: Some("1000:1000".into()),
        workdir: Some("/srv".into()),
        platform: Some("linux/amd64".parse().unwrap()),
        source_date_epoch: 1_700_000_000,
        ..Spec::default()
    }
}

fn layout(dir: &Path, tag: &str) -> Location {
    Location::parse(&format!("oci:{}:{tag}", dir.display())).unwrap()
}

#[test]
fn same_inputs_give_the_same_digest_in_fresh_copies_and_layouts() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    app_tree(a.path());
    app_tree(b.path());
    // Different mtimes must not matter (modes do, and are kept: modes.rs).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(b.path().join("etc/app/config.toml"), "mode = 'prod'\n").unwrap();
    let out1 = tempfile::tempdir().unwrap();
    let out2 = tempfile::tempdir().unwrap();
    let opts = RegistryOptions::default();
    let one = build(
        &spec(a.path()),
        &layout(out1.path(), "v1"),
        &opts,
        &Limits::default(),
    )
    .unwrap();
    let two = build(
        &spec(b.path()),
        &layout(out2.path(), "v1"),
        &opts,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(one.digest, two.digest);
    assert_eq!(one.manifest.bytes, two.manifest.bytes);
    // Another epoch is another image.
    let mut later = spec(a.path());
    later.source_date_epoch += 1;
    let three = build(
        &later,
        &layout(out1.path(), "v2"),
        &opts,
        &Limits::default(),
    )
    .unwrap();
    assert_ne!(one.digest, three.digest);

    // umoci reads what we wrote: unpack and compare files, owners and modes.
    require_tool("umoci");
    let bundle = out1.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:v1", out1.path().display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("bin/app")).unwrap(),
        "#!/bin/sh\necho hi\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let m = std::fs::metadata(rootfs.join("bin/app")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o700, "the source's mode");
        let c = std::fs::metadata(rootfs.join("etc/app/config.toml")).unwrap();
        assert_eq!(c.permissions().mode() & 0o777, 0o644);
        assert_eq!(c.mtime(), 1_700_000_000);
        assert_eq!(
            std::fs::read_link(rootfs.join("etc/app/current.toml")).unwrap(),
            Path::new("config.toml")
        );
    }
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["process"]["args"],
        serde_json::json!(["/bin/app", "--serve"])
    );
    assert_eq!(config["process"]["cwd"], "/srv");
    assert_eq!(config["process"]["user"]["uid"], 1000);
    assert!(
        config["process"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "MODE=prod")
    );
}

#[test]
fn pushes_to_a_registry_that_skopeo_reads_and_copies() {
    require_tool("skopeo");
    let registry = RegistryServer::start();
    let src = tempfile::tempdir().unwrap();
    app_tree(src.path());
    // A base made by umoci, in a layout: its layer and config carry over.
    let basedir = tempfile::tempdir().unwrap();
    let base_layout = umoci_image(
        basedir.path(),
        "base",
        &[&[("etc/os-release", b"ID=scratchy\n")]],
    );
    let mut s = spec(src.path());
    s.base = Some(format!("oci:{}:base", base_layout.display()));
    s.platform = None;
    let dest = Location::parse(&format!("{}/acme/app:v1", registry.host)).unwrap();
    let built = build(&s, &dest, &RegistryOptions::default(), &Limits::default()).unwrap();
    assert_eq!(built.layers.len(), 2);
    assert!(built.base.is_some());

    let inspect = run(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/acme/app:v1", registry.host),
    ]));
    let v: Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v["Digest"], built.digest.to_string());
    assert_eq!(v["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(v["Labels"]["org.opencontainers.image.title"], "app");
    assert!(
        v["Env"].as_array().unwrap().iter().any(|e| e == "VOUCH=1"),
        "the base's env is kept: {v}"
    );
    // skopeo copies it out by digest, unchanged.
    let out = tempfile::tempdir().unwrap();
    run(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/acme/app@{}", registry.host, built.digest),
        &format!("oci:{}:copied", out.path().display()),
    ]));
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("index.json")).unwrap())
            .unwrap();
    assert_eq!(index["manifests"][0]["digest"], built.digest.to_string());

    // Pushing the same build again gives the same digest.
    let again = build(&s, &dest, &RegistryOptions::default(), &Limits::default()).unwrap();
    assert_eq!(again.digest, built.digest);
}

#[test]
fn provenance_describes_the_build() {
    let src = tempfile::tempdir().unwrap();
    app_tree(src.path());
    let out = tempfile::tempdir().unwrap();
    let s = spec(src.path());
    let built = build(
        &s,
        &layout(out.path(), "v1"),
        &RegistryOptions::default(),
        &Limits::default(),
    )
    .unwrap();
    let now = std::time::SystemTime::now();
    let p = vouch_build::provenance(
        &s,
        &built,
        &vouch_build::BuilderInfo {
            id: "https://ci.example/builder".into(),
            invocation_id: Some("https://ci.example/run/1".into()),
            started: now,
            finished: now,
        },
    );
    assert_eq!(p["buildDefinition"]["buildType"], vouch_build::BUILD_TYPE);
    assert_eq!(
        p["buildDefinition"]["externalParameters"]["platform"],
        "linux/amd64"
    );
    assert_eq!(
        p["buildDefinition"]["externalParameters"]["entrypoint"],
        serde_json::json!(["/bin/app"])
    );
    let deps = p["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["digest"]["sha256"], built.layers[0].diff_id.hex());
    assert_eq!(
        p["runDetails"]["builder"]["id"],
        "https://ci.example/builder"
    );
    assert_eq!(
        p["runDetails"]["metadata"]["invocationId"],
        "https://ci.example/run/1"
    );
}

#[test]
fn a_missing_source_names_the_file() {
    let out = tempfile::tempdir().unwrap();
    let s = Spec {
        adds: vec![Add {
            source: "/nonexistent/vouch-build".into(),
            dest: "/app".into(),
        }],
        ..Spec::default()
    };
    let err = build(
        &s,
        &layout(out.path(), "v1"),
        &RegistryOptions::default(),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, vouch_build::Error::Io { .. }), "{err}");
}
