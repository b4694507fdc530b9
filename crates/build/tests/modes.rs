//! `vouch build` keeps the mode bits the source has (setuid, setgid and sticky included), as
//! BuildKit's COPY, umoci and GNU tar do, and stays reproducible: the layers are listed by GNU
//! tar and the image unpacked by umoci, and every mode compared with the source's; two builds
//! of two copies of the tree give one digest. On a base, the layer leaves the base's
//! directories alone (a file added under `/tmp` keeps the base's 1777 `/tmp`).
#![cfg(unix)]
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use vouch_build::{Add, Built, Limits, Spec, build};
use vouch_oci::{Location, RegistryOptions};
use vouch_testkit::{require_tool, run};

/// The tree's paths and their modes, set explicitly (the umask plays no part).
const TREE: &[(&str, u32)] = &[
    ("etc", 0o755),
    ("etc/app.key", 0o600),
    ("etc/app.toml", 0o644),
    ("srv", 0o755),
    ("srv/shared", 0o2775),
    ("srv/shared/notes.txt", 0o664),
    ("tmp", 0o1777),
    ("usr", 0o755),
    ("usr/bin", 0o755),
    ("usr/bin/helper", 0o4755),
    ("usr/bin/run", 0o700),
];

fn is_dir(path: &str) -> bool {
    !path.contains('.') && !path.ends_with("helper") && !path.ends_with("run")
}

fn tree(root: &Path) {
    for (path, _) in TREE {
        let p = root.join(path);
        if is_dir(path) {
            std::fs::create_dir_all(&p).unwrap();
        } else {
            std::fs::write(&p, format!("{path}\n")).unwrap();
        }
    }
    // Deepest first, so a 0700 directory never stops the rest being set.
    for (path, mode) in TREE.iter().rev() {
        std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    for (path, mode) in TREE {
        let got = std::fs::symlink_metadata(root.join(path)).unwrap().mode() & 0o7777;
        assert_eq!(got, *mode, "the source tree's {path}");
    }
}

fn spec(adds: Vec<Add>, base: Option<String>) -> Spec {
    Spec {
        adds,
        base,
        platform: Some("linux/amd64".parse().unwrap()),
        source_date_epoch: 1_700_000_000,
        ..Spec::default()
    }
}

fn add(source: &Path, dest: &str) -> Add {
    Add {
        source: source.to_owned(),
        dest: dest.into(),
    }
}

fn build_into(spec: &Spec, layout: &Path, tag: &str) -> Built {
    let dest = Location::parse(&format!("oci:{}:{tag}", layout.display())).unwrap();
    build(spec, &dest, &RegistryOptions::default(), &Limits::default()).unwrap()
}

fn blob(layout: &Path, built: &Built, layer: usize) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(built.layers[layer].digest.hex())
}

/// GNU tar's listing of a gzip layer: path (without a trailing `/`) -> (mode string, owner).
fn tar_listing(blob: &Path) -> BTreeMap<String, (String, String)> {
    let out = run(Command::new(require_tool("tar"))
        .args(["--list", "--verbose", "--numeric-owner", "--gzip", "--file"])
        .arg(blob));
    out.lines()
        .map(|line| {
            // drwxrwxrwt 0/0 0 2023-11-14 22:13 tmp/
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 6, "unexpected tar -tv line {line:?}");
            (
                f[5].trim_end_matches('/').to_owned(),
                (f[0].to_owned(), f[1].to_owned()),
            )
        })
        .collect()
}

/// `ls -l`'s mode string for `mode` of a file or directory (what `tar -tv` prints).
fn mode_string(dir: bool, mode: u32) -> String {
    let mut s = String::from(if dir { "d" } else { "-" });
    for (shift, special, set, unset) in [(6, 0o4000, 's', 'S'), (3, 0o2000, 's', 'S')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (mode & special != 0, bits & 1 != 0) {
            (true, true) => set,
            (true, false) => unset,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    let bits = mode & 7;
    s.push(if bits & 4 != 0 { 'r' } else { '-' });
    s.push(if bits & 2 != 0 { 'w' } else { '-' });
    s.push(match (mode & 0o1000 != 0, bits & 1 != 0) {
        (true, true) => 't',
        (true, false) => 'T',
        (false, true) => 'x',
        (false, false) => '-',
    });
    s
}

/// Unpacks `layout:tag` with umoci (as root: modes and owners applied as an engine would;
/// otherwise `--rootless`) and returns the rootfs.
fn umoci_unpack(layout: &Path, tag: &str, bundle: &Path) -> PathBuf {
    let root = run(Command::new("id").arg("-u")).trim() == "0";
    let mut cmd = Command::new(require_tool("umoci"));
    cmd.arg("unpack");
    if !root {
        cmd.arg("--rootless");
    }
    cmd.arg("--image")
        .arg(format!("{}:{tag}", layout.display()))
        .arg(bundle);
    run(&mut cmd);
    bundle.join("rootfs")
}

#[test]
fn build_keeps_every_mode_bit_and_the_same_tree_gives_the_same_digest() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    tree(a.path());
    // A second copy, written later: other mtimes, other inode order, same files and modes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    tree(b.path());
    let out = tempfile::tempdir().unwrap();
    let (one_dir, two_dir) = (out.path().join("one"), out.path().join("two"));
    let one = build_into(&spec(vec![add(a.path(), "/")], None), &one_dir, "v1");
    let two = build_into(&spec(vec![add(b.path(), "/")], None), &two_dir, "v1");
    assert_eq!(one.digest, two.digest, "same tree, same modes: same image");
    assert_eq!(one.layers[0].diff_id, two.layers[0].diff_id);

    // GNU tar reads every mode from the layer as the source had it, owned by 0/0.
    let listed = tar_listing(&blob(&one_dir, &one, 0));
    assert_eq!(listed.len(), TREE.len(), "{listed:?}");
    for (path, mode) in TREE {
        let (m, owner) = &listed[*path];
        assert_eq!(m, &mode_string(is_dir(path), *mode), "tar -tv of {path}");
        assert_eq!(owner, "0/0", "{path}");
    }

    // umoci applies them.
    let rootfs = umoci_unpack(&one_dir, "v1", &out.path().join("bundle"));
    for (path, mode) in TREE {
        let m = std::fs::symlink_metadata(rootfs.join(path)).unwrap();
        assert_eq!(m.is_dir(), is_dir(path), "{path}");
        assert_eq!(
            m.mode() & 0o7777,
            *mode,
            "umoci unpack of {path}: {:o}",
            m.mode() & 0o7777
        );
        assert_eq!(m.mtime(), 1_700_000_000, "{path}");
    }

    // A mode is part of the input: the sticky bit alone makes another image.
    std::fs::set_permissions(b.path().join("tmp"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let three = build_into(&spec(vec![add(b.path(), "/")], None), &two_dir, "v2");
    assert_ne!(one.digest, three.digest);
}

#[test]
fn a_layer_on_a_base_leaves_the_bases_directories_alone() {
    let base_tree = tempfile::tempdir().unwrap();
    tree(base_tree.path());
    let out = tempfile::tempdir().unwrap();
    let layout = out.path().join("oci");
    build_into(
        &spec(vec![add(base_tree.path(), "/")], None),
        &layout,
        "base",
    );

    // A file into the base's 1777 /tmp, a directory under its 2775 /srv/shared, and one
    // under a directory the base lacks.
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("seed"), "seed\n").unwrap();
    std::fs::set_permissions(
        files.path().join("seed"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>hi</p>\n").unwrap();
    std::fs::set_permissions(
        site.path().join("index.html"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let base = Some(format!("oci:{}:base", layout.display()));
    let s = spec(
        vec![
            add(&files.path().join("seed"), "/tmp/seed"),
            add(site.path(), "/srv/shared/site"),
            add(site.path(), "/opt/www"),
        ],
        base,
    );
    let built = build_into(&s, &layout, "app");
    let again = build_into(&s, &out.path().join("again"), "app");
    assert_eq!(built.digest, again.digest);

    // The new layers carry only what was added: no entry for /tmp or /srv/shared.
    let listed = tar_listing(&blob(&layout, &built, 1));
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        ["tmp/seed"],
        "{listed:?}"
    );
    assert_eq!(listed["tmp/seed"].0, "-rw-r-----");
    let listed = tar_listing(&blob(&layout, &built, 2));
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        ["srv/shared/site/index.html"],
        "{listed:?}"
    );

    let rootfs = umoci_unpack(&layout, "app", &out.path().join("bundle"));
    let mode = |p: &str| std::fs::symlink_metadata(rootfs.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode("tmp"), 0o1777, "the base's /tmp");
    assert_eq!(mode("srv/shared"), 0o2775, "the base's /srv/shared");
    assert_eq!(mode("tmp/seed"), 0o640);
    assert_eq!(mode("srv/shared/site/index.html"), 0o644);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("opt/www/index.html")).unwrap(),
        "<p>hi</p>\n"
    );
    // A parent the base lacks is made as any unpacker makes it (moby/containerd: 0755).
    assert_eq!(mode("opt"), 0o755);
    assert_eq!(mode("opt/www"), 0o755);
    // Everything the base had is still there, modes unchanged.
    for (path, m) in TREE {
        assert_eq!(mode(path), *m, "{path} after the new layers");
    }
}
