//! The squashed view against a reference: random layer stacks (adds, overwrites, deletions,
//! whiteouts, opaque directories, hard links, symlinks, files above the size that keeps
//! contents in memory) squashed by [`Rootfs`] equal, path by path and byte by byte, what a
//! plain extraction written here gives, both through [`Rootfs::read`] and through
//! [`Rootfs::extract`].
//!
//! The reference applies each layer as the OCI image spec's "Applying Changesets" says
//! (image-spec `layer.md`): whiteouts and opaque markers hide entries of lower layers, any
//! other entry replaces what was at its path (a directory over a directory keeps the
//! children), and missing parents are created as directories (`mkdir -p`, replacing a
//! non-directory in the way as containerd's apply removes and replaces). Layers are written
//! as container tools write them: a layer's whiteouts before its other entries.
//!
//! Layers are stored plain, as one gzip member or as two. Cases: 256 by default, `VOUCH_PROPTEST_CASES=N` for more.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use vouch_oci::manifest::Compression;
use vouch_oci::rootfs::{Keep, Kind, LayerInfo};
use vouch_oci::{Digest, Limits, Rootfs};

/// Large files are larger than this: many of them straddle two of the store's 1 MiB writes
/// (rootfs.rs `PACK_BUFFER`), and hard links share their contents.
const SPILL: usize = 256 * 1024;

/// Directory components; file entries may also take these names (a file replacing a
/// directory and back). Symlinks have names of their own and are never a parent, so no path
/// of the test resolves through one and the reference need not follow links.
const DIRS: &[&str] = &["d0", "d1"];
const FILES: &[&str] = &["f0", "f1", "f2", "d0", "d1"];
const LINKS: &[&str] = &["l0", "l1"];
const TARGETS: &[&str] = &["f0", "../f1", "/d0/f2", "d1/", "l1", "/nowhere"];

#[derive(Debug, Clone)]
enum Op {
    /// `.wh.NAME` in `dir`.
    Whiteout(String),
    /// `.wh..wh..opq` in this directory.
    Opaque(String),
    File(String, Body),
    Dir(String),
    Symlink(String, String),
    /// A hard link to whatever file or symlink is at the target when the layer is written
    /// (skipped when there is none: a tar cannot link to nothing).
    HardLink(String, String),
}

#[derive(Debug, Clone, Copy)]
struct Body {
    seed: u8,
    big: bool,
    extra: u16,
}

impl Body {
    fn bytes(self) -> Vec<u8> {
        let len = if self.big {
            SPILL + 1 + self.extra as usize
        } else {
            self.extra as usize % 700
        };
        (0..len)
            .map(|i| {
                (i as u32)
                    .wrapping_mul(31)
                    .wrapping_add(self.seed as u32 * 7) as u8
            })
            .collect()
    }
}

fn dir_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(DIRS), 1..=2).prop_map(|c| c.join("/"))
}

fn under(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(proptest::sample::select(DIRS), 0..=2),
        proptest::sample::select(names),
    )
        .prop_map(|(mut parents, name)| {
            parents.push(name);
            parents.join("/")
        })
}

fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![under(FILES), under(LINKS), dir_path()]
}

fn body() -> impl Strategy<Value = Body> {
    (any::<u8>(), proptest::bool::weighted(0.3), 0u16..4096).prop_map(|(seed, big, extra)| Body {
        seed,
        big,
        extra,
    })
}

fn deletion() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any_path().prop_map(Op::Whiteout),
        1 => dir_path().prop_map(Op::Opaque),
    ]
}

fn addition() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (under(FILES), body()).prop_map(|(p, b)| Op::File(p, b)),
        2 => dir_path().prop_map(Op::Dir),
        2 => (under(LINKS), proptest::sample::select(TARGETS))
            .prop_map(|(p, t)| Op::Symlink(p, t.to_owned())),
        // A link to a symlink is a symlink: it takes a symlink's name, so that no
        // symlink ever sits where a later path needs a directory.
        2 => prop_oneof![(under(FILES), under(FILES)), (under(LINKS), under(LINKS))]
            .prop_map(|(p, t)| Op::HardLink(p, t)),
    ]
}

fn layer_ops() -> impl Strategy<Value = Vec<Op>> {
    (
        proptest::collection::vec(deletion(), 0..4),
        proptest::collection::vec(addition(), 0..10),
    )
        .prop_map(|(mut d, a)| {
            d.extend(a);
            d
        })
}

fn stack() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(layer_ops(), 1..6)
}

/// The reference view: path -> node, the root `""` included.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RefNode {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

/// Path -> (node, the layer that last wrote it; `None` for the root).
type View = BTreeMap<String, (RefNode, Option<usize>)>;

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

fn remove_tree(view: &mut View, path: &str) {
    if path.is_empty() {
        return;
    }
    let prefix = format!("{path}/");
    view.retain(|p, _| p != path && !p.starts_with(&prefix));
}

fn mkdir_p(view: &mut View, dir: &str, layer: usize) {
    let mut cur = String::new();
    for c in dir.split('/').filter(|c| !c.is_empty()) {
        cur = if cur.is_empty() {
            c.to_owned()
        } else {
            format!("{cur}/{c}")
        };
        if view.get(&cur).map(|(n, _)| n) != Some(&RefNode::Dir) {
            remove_tree(view, &cur);
            view.insert(cur.clone(), (RefNode::Dir, Some(layer)));
        }
    }
}

/// Applies one op to the reference and returns the tar entry that carries it, if any.
fn apply(view: &mut View, op: &Op, layer: usize) -> Option<Entry> {
    match op {
        Op::Whiteout(path) => {
            mkdir_p(view, parent_of(path), layer);
            remove_tree(view, path);
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            Some(Entry::File(join(dir, &format!(".wh.{name}")), Vec::new()))
        }
        Op::Opaque(dir) => {
            mkdir_p(view, dir, layer);
            // Hides what lower layers put there; this layer's own entries stay.
            let prefix = format!("{dir}/");
            view.retain(|p, (_, l)| !(p.starts_with(&prefix) && l.is_some_and(|l| l < layer)));
            Some(Entry::File(join(dir, ".wh..wh..opq"), Vec::new()))
        }
        Op::File(path, body) => {
            mkdir_p(view, parent_of(path), layer);
            remove_tree(view, path);
            let bytes = body.bytes();
            view.insert(path.clone(), (RefNode::File(bytes.clone()), Some(layer)));
            Some(Entry::File(path.clone(), bytes))
        }
        Op::Dir(path) => {
            mkdir_p(view, path, layer);
            // A directory over a directory keeps its children and is now this layer's.
            view.get_mut(path).unwrap().1 = Some(layer);
            Some(Entry::Dir(path.clone()))
        }
        Op::Symlink(path, target) => {
            mkdir_p(view, parent_of(path), layer);
            remove_tree(view, path);
            view.insert(
                path.clone(),
                (RefNode::Symlink(target.clone()), Some(layer)),
            );
            Some(Entry::Symlink(path.clone(), target.clone()))
        }
        Op::HardLink(path, target) => {
            // A link whose target is one of its own parents would see the target replaced
            // by that parent directory before linking: no tool writes that.
            if path == target || path.starts_with(&format!("{target}/")) {
                return None;
            }
            let node = match view.get(target) {
                Some((n @ (RefNode::File(_) | RefNode::Symlink(_)), _)) => n.clone(),
                _ => return None,
            };
            mkdir_p(view, parent_of(path), layer);
            remove_tree(view, path);
            view.insert(path.clone(), (node, Some(layer)));
            Some(Entry::HardLink(path.clone(), target.clone()))
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

enum Entry {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, String),
    HardLink(String, String),
}

fn tar_layer(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_mode(0o644);
        match e {
            Entry::File(p, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, data.as_slice()).unwrap();
            }
            Entry::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, format!("{p}/"), std::io::empty())
                    .unwrap();
            }
            Entry::Symlink(p, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
            Entry::HardLink(p, t) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Writes the layers and computes the reference view.
fn build(stack: &[Vec<Op>]) -> (Vec<Vec<u8>>, View) {
    let mut view = View::new();
    view.insert(String::new(), (RefNode::Dir, None));
    let layers = stack
        .iter()
        .enumerate()
        .map(|(layer, ops)| {
            let entries: Vec<Entry> = ops
                .iter()
                .filter_map(|op| apply(&mut view, op, layer))
                .collect();
            tar_layer(&entries)
        })
        .collect();
    (layers, view)
}

/// gzip members of `parts`, one after another (RFC 1952 §2.2 allows several).
fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, p).unwrap();
        out.extend(e.finish().unwrap());
    }
    out
}

fn squash(layers: Vec<Vec<u8>>) -> Rootfs {
    let layers = layers
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            // Each layer is stored one of three ways, so that decompression is part of the
            // property: a plain tar, one gzip member, or two members split inside the tar.
            let (compression, blob) = match (i + data.len() / 512) % 3 {
                0 => (Compression::None, data),
                1 => (Compression::Gzip, gzip(&[&data])),
                _ => {
                    let (a, b) = data.split_at(data.len() / 3);
                    (Compression::Gzip, gzip(&[a, b]))
                }
            };
            let info = LayerInfo {
                digest: Digest::sha256(&blob),
                media_type: "application/vnd.oci.image.layer.v1.tar".into(),
                size: blob.len() as u64,
            };
            (info, compression, Cursor::new(blob))
        })
        .collect();
    Rootfs::from_layers(layers, &Keep::All, &Limits::default()).unwrap()
}

/// vouch's view in the reference's terms, contents read back through [`Rootfs::read`].
fn vouch_view(fs: &Rootfs) -> View {
    let mut view = View::new();
    view.insert(String::new(), (RefNode::Dir, None));
    for (path, node) in fs.entries() {
        let n = match &node.kind {
            Kind::Dir => RefNode::Dir,
            Kind::File => RefNode::File(
                fs.read(path, u64::MAX / 2)
                    .unwrap_or_else(|e| panic!("{path}: {e}"))
                    .unwrap_or_else(|| panic!("{path}: contents not kept")),
            ),
            Kind::Symlink(t) => RefNode::Symlink(t.clone()),
            other => panic!("{path}: unexpected {other:?}"),
        };
        view.insert(path.to_owned(), (n, node.layer));
    }
    view
}

/// The tree [`Rootfs::extract`] wrote, in the reference's terms.
fn extracted_view(root: &Path) -> BTreeMap<String, RefNode> {
    let mut view = BTreeMap::new();
    view.insert(String::new(), RefNode::Dir);
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let ft = e.file_type().unwrap();
            let n = if ft.is_symlink() {
                RefNode::Symlink(
                    std::fs::read_link(e.path())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                )
            } else if ft.is_dir() {
                stack.push(e.path());
                RefNode::Dir
            } else {
                RefNode::File(std::fs::read(e.path()).unwrap())
            };
            view.insert(rel, n);
        }
    }
    view
}

/// A readable difference: sizes instead of megabytes of contents.
fn describe<'a>(view: impl IntoIterator<Item = (&'a String, &'a RefNode)>) -> Vec<String> {
    view.into_iter()
        .map(|(p, n)| match n {
            RefNode::Dir => format!("{p}/"),
            RefNode::File(b) => format!(
                "{p} ({} bytes, sha256 {})",
                b.len(),
                &Digest::sha256(b).to_string()[7..19]
            ),
            RefNode::Symlink(t) => format!("{p} -> {t}"),
        })
        .collect()
}

fn cases() -> u32 {
    std::env::var("VOUCH_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn check(stack: &[Vec<Op>]) -> Result<(), TestCaseError> {
    let (layers, want) = build(stack);
    let fs = squash(layers);
    let got = vouch_view(&fs);
    let nodes = |v: &View| -> BTreeMap<String, RefNode> {
        v.iter().map(|(p, (n, _))| (p.clone(), n.clone())).collect()
    };
    let (got_nodes, want_nodes) = (nodes(&got), nodes(&want));
    prop_assert_eq!(
        describe(&got_nodes),
        describe(&want_nodes),
        "squashed view (read)"
    );
    prop_assert!(
        got_nodes == want_nodes,
        "contents differ with equal digests?"
    );
    let layers = |v: &View| -> Vec<(String, Option<usize>)> {
        v.iter().map(|(p, (_, l))| (p.clone(), *l)).collect()
    };
    prop_assert_eq!(
        layers(&got),
        layers(&want),
        "the layer that last wrote each entry"
    );
    let out = tempfile::tempdir().unwrap();
    fs.extract(&out.path().join("root")).unwrap();
    let extracted = extracted_view(&out.path().join("root"));
    prop_assert_eq!(
        describe(&extracted),
        describe(&want_nodes),
        "extracted tree"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Shrinking re-squashes megabytes per step; a few hundred steps find the core.
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    })]

    #[test]
    fn squash_equals_reference_extraction(stack in stack()) {
        check(&stack)?;
    }
}

/// The loss of issue 18, as it happened: a large file kept in layer 0, then whiteouts in
/// layer 1 shrink the view before another large file is kept. With ids derived from the
/// node count, the second store reused the first file's name and truncated it. Several
/// whiteout counts, so that one of them lines the old ids up whatever else ran before.
#[test]
fn spilled_file_survives_later_whiteouts_and_stores() {
    for doomed in 0..6 {
        let first = Body {
            seed: 1,
            big: true,
            extra: 10,
        };
        let second = Body {
            seed: 2,
            big: true,
            extra: 20,
        };
        let mut l0: Vec<Op> = (0..doomed)
            .map(|i| {
                Op::File(
                    format!("d0/f{i}"),
                    Body {
                        seed: 9,
                        big: false,
                        extra: 5,
                    },
                )
            })
            .collect();
        l0.push(Op::File("d1/f0".into(), first));
        let l1 = vec![
            Op::Whiteout("d0".into()),
            Op::File("d1/f1".into(), second),
            Op::File("f2".into(), second),
        ];
        check(&[l0, l1]).unwrap();
    }
}
