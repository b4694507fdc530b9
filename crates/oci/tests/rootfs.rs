//! Layers as a filesystem: whiteouts, provenance, compression, and hostile tars.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write;

use vouch_oci::manifest::Compression;
use vouch_oci::rootfs::{Keep, Kind, LayerInfo};
use vouch_oci::{Digest, Error, Limits, Rootfs};

/// One tar entry, written header by header so that hostile names (which `tar::Builder`
/// refuses) can be produced.
enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    /// A GNU long-name extension header declaring `size` bytes, followed by that many bytes.
    LongName(u64),
}

fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        let n = name.as_bytes();
        old.name[..n.len()].copy_from_slice(n);
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    h
}

fn tar_bytes(entries: &[E<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        match e {
            E::File(n, data) => {
                out.extend_from_slice(
                    raw_header(n, tar::EntryType::Regular, data.len() as u64, None).as_bytes(),
                );
                out.extend_from_slice(data);
                out.resize(out.len().div_ceil(512) * 512, 0);
            }
            E::Dir(n) => {
                out.extend_from_slice(raw_header(n, tar::EntryType::Directory, 0, None).as_bytes())
            }
            E::Symlink(n, t) => {
                out.extend_from_slice(raw_header(n, tar::EntryType::Symlink, 0, Some(t)).as_bytes())
            }
            E::HardLink(n, t) => {
                out.extend_from_slice(raw_header(n, tar::EntryType::Link, 0, Some(t)).as_bytes())
            }
            E::LongName(size) => {
                out.extend_from_slice(
                    raw_header("././@LongLink", tar::EntryType::GNULongName, *size, None)
                        .as_bytes(),
                );
                out.resize(out.len() + (*size as usize).div_ceil(512) * 512, b'a');
            }
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn layer(
    data: Vec<u8>,
    compression: Compression,
) -> (LayerInfo, Compression, std::io::Cursor<Vec<u8>>) {
    let info = LayerInfo {
        digest: Digest::sha256(&data),
        media_type: "test".into(),
        size: data.len() as u64,
    };
    (info, compression, std::io::Cursor::new(data))
}

fn squash(layers: Vec<Vec<u8>>) -> Result<Rootfs, Error> {
    squash_with(layers, &Limits::default())
}

fn squash_with(layers: Vec<Vec<u8>>, limits: &Limits) -> Result<Rootfs, Error> {
    Rootfs::from_layers(
        layers
            .into_iter()
            .map(|l| layer(l, Compression::None))
            .collect(),
        &Keep::All,
        limits,
    )
}

fn paths(fs: &Rootfs) -> Vec<String> {
    fs.entries().map(|(p, _)| p.to_owned()).collect()
}

#[test]
fn whiteouts_opaque_dirs_and_provenance() {
    let l0 = tar_bytes(&[
        E::Dir("a/"),
        E::File("a/b", b"1"),
        E::File("a/c", b"2"),
        E::File("d", b"3"),
        E::File("keep", b"k"),
    ]);
    let l1 = tar_bytes(&[
        E::File("a/new", b"4"),
        E::File("a/.wh..wh..opq", b""),
        E::File(".wh.d", b""),
        E::File("keep", b"K2"),
    ]);
    let fs = squash(vec![l0, l1]).unwrap();
    assert_eq!(paths(&fs), vec!["a", "a/new", "keep"]);
    assert_eq!(
        fs.get("a/new").unwrap().layer,
        Some(1),
        "entry of the opaque layer itself survives"
    );
    assert_eq!(fs.get("keep").unwrap().layer, Some(1));
    assert_eq!(fs.read("/keep", 100).unwrap().unwrap(), b"K2");
}

/// An opaque marker hides the lower layers' entries under its directory and nothing beside
/// it (`a-b` and `a.b` sort between `a` and `a/`), at the root too.
#[test]
fn opaque_markers_hide_exactly_their_directory() {
    let l0 = tar_bytes(&[
        E::File("a/x", b"1"),
        E::File("a/d/y", b"2"),
        E::File("a-b", b"3"),
        E::File("a.b", b"4"),
        E::File("ab/z", b"5"),
        E::File("r/s", b"6"),
    ]);
    let l1 = tar_bytes(&[E::File("a/.wh..wh..opq", b""), E::File("a/new", b"7")]);
    let fs = squash(vec![l0.clone(), l1]).unwrap();
    assert_eq!(
        paths(&fs),
        vec!["a", "a-b", "a.b", "a/new", "ab", "ab/z", "r", "r/s"]
    );
    let l1 = tar_bytes(&[E::File("top", b"8"), E::File(".wh..wh..opq", b"")]);
    let fs = squash(vec![l0, l1]).unwrap();
    assert_eq!(paths(&fs), vec!["top"]);
}

#[test]
fn whiteout_removes_whole_directory() {
    let l0 = tar_bytes(&[
        E::File("usr/lib/x/1", b"1"),
        E::File("usr/lib/x/2", b"2"),
        E::File("usr/lib/y", b"y"),
    ]);
    let l1 = tar_bytes(&[E::File("usr/lib/.wh.x", b"")]);
    let fs = squash(vec![l0, l1]).unwrap();
    assert_eq!(paths(&fs), vec!["usr", "usr/lib", "usr/lib/y"]);
}

#[test]
fn compressed_layers_gzip_and_zstd() {
    let l0 = tar_bytes(&[E::File("g", b"gzip")]);
    let l1 = tar_bytes(&[E::File("z", b"zstd")]);
    let fs = Rootfs::from_layers(
        vec![
            layer(gzip(&l0), Compression::Gzip),
            layer(zstd::encode_all(&l1[..], 3).unwrap(), Compression::Zstd),
        ],
        &Keep::All,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(fs.read("g", 10).unwrap().unwrap(), b"gzip");
    assert_eq!(fs.read("z", 10).unwrap().unwrap(), b"zstd");
}

/// A gzip layer whose trailer does not match its data is refused by the squash, although
/// the tar's end marker comes before the trailer: the squash reads every layer to its end,
/// so the CRC-32 and size checks run on every member. A layer cut inside its trailer is
/// refused too.
#[test]
fn a_gzip_layer_with_a_wrong_trailer_is_refused() {
    let good = gzip(&tar_bytes(&[E::File("f", b"content")]));
    let n = good.len();
    let mut wrong_crc = good.clone();
    wrong_crc[n - 8] ^= 0x01;
    let mut wrong_size = good.clone();
    wrong_size[n - 4] ^= 0x01;
    let cut = good[..n - 2].to_vec();
    assert!(
        Rootfs::from_layers(
            vec![layer(good, Compression::Gzip)],
            &Keep::All,
            &Limits::default()
        )
        .is_ok()
    );
    for (what, blob, want) in [
        ("crc", wrong_crc, "CRC-32"),
        ("size", wrong_size, "modulo 2^32"),
        ("cut", cut, "trailer"),
    ] {
        let err = Rootfs::from_layers(
            vec![layer(blob, Compression::Gzip)],
            &Keep::All,
            &Limits::default(),
        )
        .expect_err(what);
        let chain = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        assert!(chain.contains(want), "{what}: {chain}");
    }
}

#[test]
fn parent_symlinks_resolve_inside_the_root() {
    let l0 = tar_bytes(&[
        E::Dir("usr/lib/"),
        E::Symlink("lib", "usr/lib"),
        E::Symlink("escape", "../../../../../tmp"),
        E::Symlink("abs", "/etc"),
    ]);
    let l1 = tar_bytes(&[
        E::File("lib/libc.so", b"c"),
        E::File("escape/x", b"x"),
        E::File("abs/passwd", b"root"),
    ]);
    let fs = squash(vec![l0, l1]).unwrap();
    assert_eq!(fs.read("usr/lib/libc.so", 10).unwrap().unwrap(), b"c");
    assert_eq!(
        fs.read("lib/libc.so", 10).unwrap().unwrap(),
        b"c",
        "read follows the symlink"
    );
    assert_eq!(
        fs.read("tmp/x", 10).unwrap().unwrap(),
        b"x",
        "`..` in a symlink stops at the root"
    );
    assert_eq!(fs.read("etc/passwd", 10).unwrap().unwrap(), b"root");
    assert!(matches!(fs.get("escape").unwrap().kind, Kind::Symlink(_)));
}

#[test]
fn extraction_never_writes_outside_the_target() {
    let l0 = tar_bytes(&[
        E::Symlink("escape", "../../outside"),
        E::Symlink("root", "/"),
        E::File("/abs/file", b"a"),
    ]);
    let l1 = tar_bytes(&[
        E::File("escape/pwned", b"x"),
        E::File("root/also", b"y"),
        E::File("./ok/./f", b"ok"),
    ]);
    let fs = squash(vec![l0, l1]).unwrap();
    let base = tempfile::tempdir().unwrap();
    let target = base.path().join("a/b/target");
    fs.extract(&target).unwrap();
    // Everything landed below target; nothing next to it.
    let mut seen = Vec::new();
    for e in walk(base.path()) {
        seen.push(e.strip_prefix(base.path()).unwrap().display().to_string());
    }
    seen.sort();
    for p in &seen {
        assert!(
            p == "a" || p == "a/b" || p.starts_with("a/b/target"),
            "wrote outside the target: {p}"
        );
    }
    assert_eq!(std::fs::read(target.join("outside/pwned")).unwrap(), b"x");
    assert_eq!(std::fs::read(target.join("also")).unwrap(), b"y");
    assert_eq!(std::fs::read(target.join("abs/file")).unwrap(), b"a");
    assert_eq!(
        std::fs::read_link(target.join("escape"))
            .unwrap()
            .display()
            .to_string(),
        "../../outside"
    );
    // A non-empty target is refused rather than merged into.
    assert!(matches!(
        fs.extract(&target),
        Err(Error::BadLocation { .. })
    ));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if p.symlink_metadata().unwrap().is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

#[test]
fn dot_dot_above_the_root_is_refused() {
    for name in ["../etc/passwd", "a/../../etc/passwd", "./../x"] {
        let err = squash(vec![tar_bytes(&[E::File(name, b"x")])]).unwrap_err();
        match err {
            Error::PathEscapes { path, .. } => assert_eq!(path, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let err = squash(vec![tar_bytes(&[
        E::File("ok", b"1"),
        E::HardLink("h", "../../ok"),
    ])])
    .unwrap_err();
    assert!(matches!(err, Error::PathEscapes { .. }), "{err:?}");
}

#[test]
fn hard_links_must_name_an_existing_entry() {
    let fs = squash(vec![tar_bytes(&[
        E::File("bin/busybox", b"BB"),
        E::HardLink("bin/sh", "bin/busybox"),
    ])])
    .unwrap();
    assert_eq!(fs.read("bin/sh", 10).unwrap().unwrap(), b"BB");
    // A cycle of hard links (a -> b -> a) can never resolve: a's target does not exist yet.
    let err = squash(vec![tar_bytes(&[
        E::HardLink("a", "b"),
        E::HardLink("b", "a"),
    ])])
    .unwrap_err();
    assert!(matches!(err, Error::DanglingHardLink { .. }), "{err:?}");
    let err = squash(vec![tar_bytes(&[E::HardLink("self", "self")])]).unwrap_err();
    assert!(matches!(err, Error::DanglingHardLink { .. }), "{err:?}");
    let err = squash(vec![tar_bytes(&[E::Dir("d/"), E::HardLink("l", "d")])]).unwrap_err();
    assert!(
        matches!(err, Error::DanglingHardLink { .. }),
        "hard link to a directory: {err:?}"
    );
}

#[test]
fn symlink_loops_are_bounded() {
    let err = squash(vec![tar_bytes(&[
        E::Symlink("a", "b"),
        E::Symlink("b", "a"),
        E::File("a/x", b"x"),
    ])])
    .unwrap_err();
    assert!(matches!(err, Error::LinkLoop { .. }), "{err:?}");
    let fs = squash(vec![tar_bytes(&[E::Symlink("self", "self")])]).unwrap();
    assert!(matches!(fs.resolve("self"), Err(Error::LinkLoop { .. })));
}

#[test]
fn decompression_bomb_is_refused() {
    // 64 MiB of zeros in one file compresses to ~64 KiB; the layer limit is 8 MiB.
    let mut tar = Vec::new();
    let big = vec![0u8; 64 << 20];
    tar.extend_from_slice(
        raw_header("zeros", tar::EntryType::Regular, big.len() as u64, None).as_bytes(),
    );
    tar.extend_from_slice(&big);
    tar.extend_from_slice(&[0u8; 1024]);
    let bomb = gzip(&tar);
    assert!(bomb.len() < 1 << 20);
    let limits = Limits {
        layer_bytes: 8 << 20,
        ..Limits::default()
    };
    let err =
        Rootfs::from_layers(vec![layer(bomb, Compression::Gzip)], &Keep::All, &limits).unwrap_err();
    match err {
        Error::Limit { limit, .. } => assert_eq!(limit, "layer_bytes"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn huge_extension_header_is_refused_before_it_is_buffered() {
    // A GNU long name of 256 MiB: the tar crate would read it all into memory.
    let mut tar = raw_header(
        "././@LongLink",
        tar::EntryType::GNULongName,
        256 << 20,
        None,
    )
    .as_bytes()
    .to_vec();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&tar).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..256 {
        enc.write_all(&chunk).unwrap();
    }
    tar.clear();
    let bomb = enc.finish().unwrap();
    let err = Rootfs::from_layers(
        vec![layer(bomb, Compression::Gzip)],
        &Keep::All,
        &Limits::default(),
    )
    .unwrap_err();
    match err {
        Error::Limit { limit, .. } => assert_eq!(limit, "tar header size"),
        other => panic!("{other:?}"),
    }
    // A long name that fits is fine.
    let name = format!("{}/file", "d".repeat(300));
    let mut ok = Vec::new();
    ok.extend_from_slice(
        raw_header(
            "././@LongLink",
            tar::EntryType::GNULongName,
            name.len() as u64 + 1,
            None,
        )
        .as_bytes(),
    );
    ok.extend_from_slice(name.as_bytes());
    ok.push(0);
    ok.resize(ok.len().div_ceil(512) * 512, 0);
    ok.extend_from_slice(&tar_bytes(&[E::File("placeholder", b"x")])[..]);
    // Swap the placeholder's name for the long one by placing the long-name header first.
    let fs = squash(vec![ok]).unwrap();
    assert_eq!(fs.read(&name, 10).unwrap().unwrap(), b"x");
    let _ = E::LongName(0);
}

#[test]
fn too_many_entries_and_truncated_layers_fail_cleanly() {
    let many: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
    let entries: Vec<E<'_>> = many.iter().map(|n| E::File(n, b"")).collect();
    let limits = Limits {
        layer_entries: 10,
        ..Limits::default()
    };
    let err = squash_with(vec![tar_bytes(&entries)], &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: "layer_entries",
                ..
            }
        ),
        "{err:?}"
    );

    let whole = gzip(&tar_bytes(&[E::File("a", &[1u8; 5000])]));
    let cut = whole[..whole.len() / 2].to_vec();
    let err = Rootfs::from_layers(
        vec![layer(cut, Compression::Gzip)],
        &Keep::All,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Layer { .. }), "{err:?}");
    let err = Rootfs::from_layers(
        vec![layer(
            b"not a tar at all, just text".repeat(40),
            Compression::None,
        )],
        &Keep::All,
        &Limits::default(),
    );
    assert!(err.is_err());
}

/// A layer lists a directory's files one after another and the squash reuses the last
/// entry's parent: replacing or removing a directory in the same layer (by a symlink, a
/// whiteout, a file, a hard link) must send its next entries where the view now says.
#[test]
fn a_parent_replaced_within_a_layer_is_resolved_again() {
    let l0 = tar_bytes(&[
        E::File("a/x", b"1"),
        E::Symlink("a", "b"),
        E::File("a/y", b"2"),
        E::File("c/x", b"3"),
        E::File(".wh.c", b""),
        E::File("c/y", b"4"),
        E::File("d/x", b"5"),
        E::File("d", b"file"),
        E::File("d/z", b"6"),
        E::File("e/x", b"7"),
        E::HardLink("e", "c/y"),
        E::File("e/w", b"8"),
    ]);
    let fs = squash(vec![l0]).unwrap();
    assert_eq!(
        paths(&fs),
        vec!["a", "b", "b/y", "c", "c/y", "d", "d/z", "e", "e/w"]
    );
    assert_eq!(fs.get("a").unwrap().kind, Kind::Symlink("b".into()));
    for (path, want) in [
        ("b/y", &b"2"[..]),
        ("a/y", b"2"),
        ("c/y", b"4"),
        ("d/z", b"6"),
        ("e/w", b"8"),
    ] {
        assert_eq!(fs.read(path, 10).unwrap().unwrap(), want, "{path}");
    }
    for dir in ["c", "d", "e"] {
        assert_eq!(fs.get(dir).unwrap().kind, Kind::Dir, "{dir}");
    }
}

/// Entries nobody keeps are skipped without being copied out of the decompressed stream;
/// the contents kept between them must still be exactly theirs, across chunk boundaries
/// and tar padding, and the skipped bytes still count against the layer limit.
#[test]
fn skipped_entries_leave_kept_contents_intact_and_count_against_limits() {
    let body = |seed: u8, len: usize| -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(131).wrapping_add(seed as u32) as u8)
            .collect()
    };
    let sizes = [0usize, 1, 511, 512, 513, 70_000, 128 * 1024 + 7, 300_001, 3];
    let bodies: Vec<(String, Vec<u8>)> = sizes
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| {
            [
                (format!("skip/s{i}"), body(i as u8, n + 1000)),
                (format!("keep/k{i}"), body(100 + i as u8, n)),
            ]
        })
        .collect();
    let entries: Vec<E<'_>> = bodies.iter().map(|(p, b)| E::File(p, b)).collect();
    let data = gzip(&tar_bytes(&entries));
    let keep = Keep::Matching(Box::new(|p, _| p.starts_with("keep/")));
    let fs = Rootfs::from_layers(
        vec![layer(data.clone(), Compression::Gzip)],
        &keep,
        &Limits::default(),
    )
    .unwrap();
    for (path, want) in &bodies {
        let got = fs.read(path, 1 << 20).unwrap();
        if path.starts_with("keep/") {
            assert_eq!(got.as_deref(), Some(&want[..]), "{path}");
        } else {
            assert_eq!(got, None, "{path} is indexed, not kept");
            assert_eq!(fs.get(path).unwrap().size, want.len() as u64);
        }
    }
    // The largest skipped entry alone is over this limit.
    let limits = Limits {
        layer_bytes: 200_000,
        ..Limits::default()
    };
    let err =
        Rootfs::from_layers(vec![layer(data, Compression::Gzip)], &keep, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: "layer_bytes",
                ..
            }
        ) || err.to_string().contains("layer_bytes"),
        "{err:?}"
    );
}

#[test]
fn keep_matching_indexes_everything_but_stores_only_what_is_asked() {
    let l0 = tar_bytes(&[
        E::File("var/lib/dpkg/status", b"Package: x\n"),
        E::File("usr/bin/big", &[7u8; 4096]),
    ]);
    let keep = Keep::Matching(Box::new(|p, _| p.ends_with("dpkg/status")));
    let fs = Rootfs::from_layers(
        vec![layer(l0, Compression::None)],
        &keep,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        fs.read("var/lib/dpkg/status", 100).unwrap().unwrap(),
        b"Package: x\n"
    );
    assert_eq!(fs.get("usr/bin/big").unwrap().size, 4096);
    assert_eq!(
        fs.read("usr/bin/big", 10_000).unwrap(),
        None,
        "indexed, not kept"
    );
}

#[test]
fn dir_source_indexes_without_following_symlinks_out() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("etc")).unwrap();
    std::fs::write(d.path().join("etc/os-release"), "ID=debian\n").unwrap();
    std::os::unix::fs::symlink("/", d.path().join("hostroot")).unwrap();
    let fs = Rootfs::from_dir(d.path(), &Limits::default()).unwrap();
    assert_eq!(
        fs.read("etc/os-release", 100).unwrap().unwrap(),
        b"ID=debian\n"
    );
    assert!(matches!(fs.get("hostroot").unwrap().kind, Kind::Symlink(_)));
    assert!(
        fs.get("hostroot/etc").is_none(),
        "the host's / is not walked"
    );
    assert_eq!(fs.get("etc/os-release").unwrap().layer, None);
}
