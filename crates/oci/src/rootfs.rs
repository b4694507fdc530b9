//! Layers as one filesystem: the squashed view of an image, where every entry knows the
//! layer that put it there.
//!
//! Layers are applied in order as the OCI image spec's "Applying Changesets" says
//! (`layer.md`): a `.wh.NAME` entry deletes `NAME` from lower layers, `.wh..wh..opq` empties
//! its directory of lower-layer entries, and every other entry replaces what was at its
//! path. Parent paths are resolved through the symlinks already in the view, scoped to the
//! image root (as containerd's `fs.RootPath`), so `lib/x` under `lib -> usr/lib` lands in
//! `usr/lib/x`.
//!
//! The view is an index in memory; file contents the caller asks to keep are appended to
//! one private, unnamed temporary file (the *pack*) and found again by their offset, never
//! written under the layer's paths. So a hostile layer cannot make vouch write anywhere
//! else, whatever its `..`, absolute or symlinked paths: there is no path-based write at
//! all, and since offsets only grow no two contents can share a place. Paths that
//! climb above the root are refused outright ([`Error::PathEscapes`]); hard links must name
//! an entry already in the view (which makes link cycles impossible); symlink chains are
//! bounded; and every byte read from a layer is counted against [`Limits`], including the
//! bytes of tar extension headers (GNU long names, PAX records), which the `tar` crate would
//! otherwise read into memory unbounded.
//!
//! [`Rootfs::extract`] materialises the view into a directory for tools that need one.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ResolvedImage;
use crate::inflate::{Inflated, spawn_inflate};
use crate::limits::Limits;
use crate::manifest::{Compression, descriptor_digest};
use crate::store::ImageSource;

/// What kind of filesystem object an entry is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link, with its target as written.
    Symlink(String),
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
}

/// One path in the squashed view.
#[derive(Debug, Clone)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// Size in bytes (files).
    pub size: u64,
    /// Permission bits and set-id bits.
    pub mode: u32,
    /// Index into [`Rootfs::layers`] of the layer that last wrote it; `None` for `dir:`.
    pub layer: Option<usize>,
    content: Option<Content>,
}

#[derive(Debug, Clone)]
enum Content {
    /// Kept from a layer: the node's `size` bytes at this offset of the pack.
    Stored(u64),
    /// A file of a `dir:` source.
    Disk(PathBuf),
}

/// Kept contents are staged in memory up to this many bytes before they are written to the
/// pack: one write per few hundred small manifests instead of one each.
const PACK_BUFFER: usize = 1 << 20;

/// The private store of kept contents: one unnamed temporary file (nothing to clean up,
/// nothing another process can open by name) to which contents are only ever appended.
/// Contents stay out of the process's memory (the page cache holds them), and reading one
/// back is a single positioned read, with no file to open.
#[derive(Debug)]
struct Pack {
    file: std::sync::Arc<File>,
    /// Appended bytes not yet written to `file`.
    staged: Vec<u8>,
    /// Bytes appended so far (written and staged): the next content's offset.
    len: u64,
}

impl Pack {
    fn new() -> Result<Self> {
        let file = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        Ok(Self {
            file: std::sync::Arc::new(file),
            staged: Vec::with_capacity(PACK_BUFFER),
            len: 0,
        })
    }

    /// Appends exactly `size` bytes of `from` and returns their offset. Bytes go through
    /// the staging buffer, which is written out whenever it is full: a large content
    /// streams through it, and small ones share writes.
    fn append(&mut self, from: &mut dyn Read, size: u64, name: &str) -> Result<u64> {
        let offset = self.len;
        let mut left = size;
        while left > 0 {
            if self.staged.len() >= PACK_BUFFER {
                self.flush()?;
            }
            let room = (PACK_BUFFER - self.staged.len()) as u64;
            let n = from
                .take(left.min(room))
                .read_to_end(&mut self.staged)
                .map_err(|e| Error::from_stream(name, e))? as u64;
            if n == 0 {
                break;
            }
            left -= n;
            self.len += n;
        }
        if left > 0 {
            return Err(Error::from_stream(
                name,
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} of {size} bytes of a file's contents", size - left),
                ),
            ));
        }
        Ok(offset)
    }

    /// Writes the staged bytes: after this, every appended content can be read back.
    fn flush(&mut self) -> Result<()> {
        use io::Write as _;
        if !self.staged.is_empty() {
            (&*self.file)
                .write_all(&self.staged)
                .map_err(|e| Error::io(std::env::temp_dir(), e))?;
            self.staged.clear();
        }
        Ok(())
    }
}

/// `len` bytes of the pack from `start`, read with positioned reads (so readers on several
/// threads share one file without sharing a cursor).
struct Section {
    file: std::sync::Arc<File>,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(&self.file, &mut buf[..want], self.start + self.pos)?;
        if n == 0 {
            // The pack is shorter than what was appended to it: never hand on a shorter
            // file as if it were the entry.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("kept contents end after {} of {} bytes", self.pos, self.len),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl io::Seek for Section {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let pos = match to {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(pos) = pos else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of a kept file",
            ));
        };
        self.pos = pos;
        Ok(pos)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}
#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::windows::fs::FileExt as _;
    file.seek_read(buf, offset)
}

/// A kept file opened for reading and seeking.
pub trait ReadSeek: Read + io::Seek {}
impl<T: Read + io::Seek> ReadSeek for T {}

/// A predicate over a file's path (relative, no leading `/`) and size.
pub type PathFilter = Box<dyn Fn(&str, u64) -> bool + Send + Sync>;
/// A predicate over a file's path, size and permission bits.
pub type ModeFilter = Box<dyn Fn(&str, u64, u32) -> bool + Send + Sync>;

/// Which file contents to keep while squashing (everything else is indexed only).
pub enum Keep {
    /// Keep every regular file.
    All,
    /// Keep none.
    None,
    /// Keep files whose path (relative, no leading `/`) and size the predicate accepts.
    Matching(PathFilter),
    /// Keep files whose path, size and permission bits the predicate accepts (an SBOM
    /// keeps executables to look for embedded build information, wherever they are).
    MatchingMode(ModeFilter),
}

impl std::fmt::Debug for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::All => "All",
            Self::None => "None",
            Self::Matching(_) => "Matching",
            Self::MatchingMode(_) => "MatchingMode",
        })
    }
}

impl Keep {
    /// Whether the file at `path` (relative) with this size and mode is kept.
    pub fn wants(&self, path: &str, size: u64, mode: u32) -> bool {
        match self {
            Self::All => true,
            Self::None => false,
            Self::Matching(f) => f(path, size),
            Self::MatchingMode(f) => f(path, size, mode),
        }
    }
}

/// A layer of the view.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerInfo {
    /// Compressed digest (as in the manifest).
    pub digest: Digest,
    /// Media type.
    pub media_type: String,
    /// Compressed size.
    pub size: u64,
}

/// The squashed filesystem of an image or a directory.
#[derive(Debug)]
pub struct Rootfs {
    nodes: BTreeMap<String, Node>,
    layers: Vec<LayerInfo>,
    /// Kept contents of layers (`None` for `dir:`). Offsets only ever grow, so no two
    /// contents share a place: ids derived from the node count (before the pack) repeated
    /// once whiteouts shrank the view, and a later store truncated an earlier file that
    /// was still in use (issue 18).
    pack: Option<Pack>,
    limits: Limits,
    /// The parent directory of the last entry applied, when it resolved to itself (no
    /// symlink on the way): then it and each of its ancestors is a directory of the view,
    /// so it resolves to itself again as long as none of them is removed or replaced. An
    /// entry only changes its own path (or, as a whiteout, a sibling's; as an opaque
    /// marker, its siblings'), never its parent, so this holds until the next entry; any
    /// removal forgets it all the same ([`Rootfs::forget_parent`]). A layer lists a
    /// directory's files one after another, and resolving a parent walks and looks up
    /// every ancestor.
    parent: Option<String>,
}

impl Rootfs {
    /// A view holding only the root directory, with a private store for kept contents.
    fn empty_with_store(limits: &Limits) -> Result<Self> {
        let mut fs = Self {
            nodes: BTreeMap::new(),
            layers: Vec::new(),
            pack: Some(Pack::new()?),
            limits: limits.clone(),
            parent: None,
        };
        fs.nodes.insert(String::new(), dir_node(None));
        Ok(fs)
    }

    /// Squashes `image`'s layers read from `source`.
    pub fn from_image(
        source: &dyn ImageSource,
        image: &ResolvedImage,
        keep: &Keep,
        limits: &Limits,
    ) -> Result<Self> {
        let layers = image.layers().iter().map(|desc| {
            let media_type = desc.media_type().to_string();
            let digest = descriptor_digest(desc)?;
            let compression = Compression::from_media_type(&media_type).ok_or_else(|| {
                Error::UnsupportedMediaType {
                    what: format!("layer {digest}"),
                    media_type: media_type.clone(),
                }
            })?;
            let blob = BufReader::with_capacity(128 * 1024, source.blob(&digest, desc.size())?);
            let info = LayerInfo {
                digest,
                media_type,
                size: desc.size(),
            };
            Ok((info, compression, blob))
        });
        Self::squash(layers, keep, limits)
    }

    /// Squashes layers given as (compression, stream) pairs: for tests and for callers that
    /// hold layers outside any store.
    pub fn from_layers<R: BufRead + Send>(
        layers: Vec<(LayerInfo, Compression, R)>,
        keep: &Keep,
        limits: &Limits,
    ) -> Result<Self> {
        Self::squash(layers.into_iter().map(Ok), keep, limits)
    }

    /// Applies the layers in order. Each layer is decompressed on a thread of its own
    /// ([`spawn_inflate`]) while this thread parses its tar stream and applies the entries,
    /// and the next layer's decompression starts while the current one is applied: the
    /// two costs overlap instead of adding up. Entries are still applied strictly in
    /// layer order, so whiteouts, hard links and symlinked parents resolve exactly as in a
    /// sequential squash, and every limit is checked on the bytes this thread reads.
    fn squash<R: BufRead + Send>(
        layers: impl Iterator<Item = Result<(LayerInfo, Compression, R)>>,
        keep: &Keep,
        limits: &Limits,
    ) -> Result<Self> {
        /// Layers being decompressed at once: the one applied and the next.
        const IN_FLIGHT: usize = 2;
        let mut fs = Self::empty_with_store(limits)?;
        let mut budget = Budget::new(limits.image_bytes);
        let mut layers = layers;
        std::thread::scope(|scope| {
            let mut pending = std::collections::VecDeque::with_capacity(IN_FLIGHT);
            loop {
                while pending.len() < IN_FLIGHT {
                    let Some(next) = layers.next() else { break };
                    let (info, compression, blob) = next?;
                    pending.push_back((info, spawn_inflate(scope, blob, compression)));
                }
                let Some((info, reader)) = pending.pop_front() else {
                    break;
                };
                let index = fs.layers.len();
                fs.layers.push(info);
                fs.apply_layer(reader, index, keep, &mut budget)?;
            }
            if let Some(pack) = &mut fs.pack {
                pack.flush()?;
                pack.staged = Vec::new();
            }
            fs.compact();
            Ok(fs)
        })
    }

    /// Rebuilds the index with full nodes. Paths arrive in tar order, which is mostly
    /// sorted, and a B-tree filled in order splits its nodes into halves that stay about
    /// half empty; built from sorted entries (`FromIterator` sorts, then bulk-builds), every
    /// node is full. For the 51,000 paths of a Python-heavy image that is 4 MB less for
    /// the rest of the run, for one pass over the entries.
    fn compact(&mut self) {
        self.nodes = std::mem::take(&mut self.nodes).into_iter().collect();
    }

    /// Indexes a plain directory (`dir:`), without following symlinks out of it.
    pub fn from_dir(root: &Path, limits: &Limits) -> Result<Self> {
        let meta = fs::metadata(root).map_err(|e| Error::io(root, e))?;
        if !meta.is_dir() {
            return Err(Error::BadLocation {
                input: root.display().to_string(),
                reason: "not a directory".into(),
            });
        }
        let mut nodes = BTreeMap::new();
        nodes.insert(String::new(), dir_node(None));
        let mut stack = vec![(root.to_owned(), String::new())];
        let mut count = 0u64;
        while let Some((dir, rel)) = stack.pop() {
            let rd = fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
            for entry in rd {
                let entry = entry.map_err(|e| Error::io(&dir, e))?;
                count += 1;
                if count > limits.layer_entries {
                    return Err(Error::Limit {
                        what: root.display().to_string(),
                        limit: "layer_entries",
                        max: limits.layer_entries,
                        actual: count,
                    });
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let meta = entry
                    .path()
                    .symlink_metadata()
                    .map_err(|e| Error::io(entry.path(), e))?;
                let ft = meta.file_type();
                let mode = permissions(&meta);
                let node = if ft.is_symlink() {
                    let target =
                        fs::read_link(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
                    Node {
                        kind: Kind::Symlink(target.to_string_lossy().into_owned()),
                        size: 0,
                        mode,
                        layer: None,
                        content: None,
                    }
                } else if ft.is_dir() {
                    stack.push((entry.path(), path.clone()));
                    dir_node(None)
                } else if ft.is_file() {
                    Node {
                        kind: Kind::File,
                        size: meta.len(),
                        mode,
                        layer: None,
                        content: Some(Content::Disk(entry.path())),
                    }
                } else {
                    Node {
                        kind: Kind::Fifo,
                        size: 0,
                        mode,
                        layer: None,
                        content: None,
                    }
                };
                nodes.insert(path, node);
            }
        }
        Ok(Self {
            nodes,
            layers: Vec::new(),
            pack: None,
            limits: limits.clone(),
            parent: None,
        })
    }

    /// The layers, base first (empty for `dir:`).
    pub fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    /// Every entry, sorted by path (relative, no leading `/`; the root is `""`).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes
            .iter()
            .filter(|(p, _)| !p.is_empty())
            .map(|(p, n)| (p.as_str(), n))
    }

    /// The entry at `path` itself (a symlink is returned as a symlink).
    pub fn get(&self, path: &str) -> Option<&Node> {
        let p = normalise(path, "lookup").ok()?;
        self.nodes.get(&p)
    }

    /// Follows symlinks (scoped to the root) and returns the final path and entry.
    pub fn resolve(&self, path: &str) -> Result<Option<(String, &Node)>> {
        let real = self.resolve_path(&normalise(path, "lookup")?, true, "lookup")?;
        Ok(self.nodes.get(&real).map(|n| (real, n)))
    }

    /// Reads a kept file's contents (following symlinks), at most `limit` bytes.
    pub fn read(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let Some((real, node)) = self.resolve(path)? else {
            return Ok(None);
        };
        if node.kind != Kind::File {
            return Ok(None);
        }
        let too_big = |actual| Error::Limit {
            what: real.clone(),
            limit: "read limit",
            max: limit,
            actual,
        };
        if let Some(Content::Stored(_)) = &node.content {
            // The size is known: one allocation and one positioned read.
            if node.size > limit {
                return Err(too_big(node.size));
            }
            let Some(mut r) = self.open_content(node, &real)? else {
                return Ok(None);
            };
            let mut out = vec![0u8; usize::try_from(node.size).map_err(|_| too_big(node.size))?];
            r.read_exact(&mut out)
                .map_err(|e| Error::io(format!("/{real}"), e))?;
            return Ok(Some(out));
        }
        let Some(mut r) = self.open_content(node, &real)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        r.by_ref()
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::io(&real, e))?;
        if out.len() as u64 > limit {
            return Err(too_big(node.size));
        }
        Ok(Some(out))
    }

    /// Opens a kept file (following symlinks) for reading and seeking: for readers that
    /// need a few parts of a large file (an executable's section table) and not all of it.
    /// Returns the resolved path and the file.
    pub fn open(&self, path: &str) -> Result<Option<(String, Box<dyn ReadSeek>)>> {
        let Some((real, node)) = self.resolve(path)? else {
            return Ok(None);
        };
        if node.kind != Kind::File {
            return Ok(None);
        }
        let f: Box<dyn ReadSeek> = match &node.content {
            None => return Ok(None),
            Some(Content::Disk(p)) => Box::new(File::open(p).map_err(|e| Error::io(p, e))?),
            Some(Content::Stored(offset)) => Box::new(self.stored(*offset, node, &real)?),
        };
        Ok(Some((real, f)))
    }

    /// Whether `node` has contents that can be read (it was kept, or it is on disk).
    pub fn has_content(node: &Node) -> bool {
        node.content.is_some()
    }

    /// Opens `node`'s contents; `path` (the entry's path in the view) names it in errors.
    fn open_content(&self, node: &Node, path: &str) -> Result<Option<Box<dyn Read>>> {
        match &node.content {
            None => Ok(None),
            Some(Content::Disk(p)) => Ok(Some(Box::new(BufReader::new(
                File::open(p).map_err(|e| Error::io(p, e))?,
            )))),
            Some(Content::Stored(offset)) => Ok(Some(Box::new(self.stored(*offset, node, path)?))),
        }
    }

    /// A stored content, checked to be whole in the pack: contents that do not read back
    /// whole are an error naming the entry's path (callers turn it into a warning), never a
    /// shorter file handed on as if it were the entry.
    fn stored(&self, offset: u64, node: &Node, path: &str) -> Result<Section> {
        let named = || PathBuf::from(format!("/{path}"));
        let Some(pack) = &self.pack else {
            return Err(Error::io(
                named(),
                io::Error::new(io::ErrorKind::NotFound, "no store of kept contents"),
            ));
        };
        let have = pack
            .file
            .metadata()
            .map_err(|e| Error::io(named(), e))?
            .len();
        if offset.saturating_add(node.size) > have {
            return Err(Error::io(
                named(),
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "kept contents read back as {} bytes, the layer wrote {}",
                        have.saturating_sub(offset).min(node.size),
                        node.size
                    ),
                ),
            ));
        }
        Ok(Section {
            file: pack.file.clone(),
            start: offset,
            len: node.size,
            pos: 0,
        })
    }

    /// Writes the view into `target` (which must be empty or absent): directories, kept
    /// files, symlinks (as written; they are only ever created, never followed) and no
    /// device nodes. Nothing is written outside `target`.
    pub fn extract(&self, target: &Path) -> Result<()> {
        fs::create_dir_all(target).map_err(|e| Error::io(target, e))?;
        if fs::read_dir(target)
            .map_err(|e| Error::io(target, e))?
            .next()
            .is_some()
        {
            return Err(Error::BadLocation {
                input: target.display().to_string(),
                reason: "extraction target is not empty".into(),
            });
        }
        // BTreeMap order puts parents before children. Paths were normalised on the way in
        // and no entry has a symlink among its ancestors (parents are resolved when layers
        // are applied), so each join stays inside `target`; the check below is the belt to
        // those braces.
        for (path, node) in self.entries() {
            let dest = target.join(path);
            if let Some(parent) = Path::new(path).parent() {
                let mut cur = target.to_owned();
                for c in parent.components() {
                    cur.push(c);
                    let m = cur.symlink_metadata().map_err(|e| Error::io(&cur, e))?;
                    if !m.is_dir() {
                        return Err(Error::PathEscapes {
                            layer: "extract".into(),
                            path: path.into(),
                        });
                    }
                }
            }
            match &node.kind {
                Kind::Dir => fs::create_dir(&dest).map_err(|e| Error::io(&dest, e))?,
                Kind::File => {
                    let mut out = fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&dest)
                        .map_err(|e| Error::io(&dest, e))?;
                    if let Some(mut r) = self.open_content(node, path)? {
                        io::copy(&mut r, &mut out).map_err(|e| Error::io(&dest, e))?;
                    }
                }
                Kind::Symlink(t) => symlink(t, &dest)?,
                Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => {}
            }
        }
        Ok(())
    }

    fn apply_layer(
        &mut self,
        decompressed: Inflated,
        layer: usize,
        keep: &Keep,
        image_budget: &mut Budget,
    ) -> Result<()> {
        let name = format!("layer {}", self.layers[layer].digest);
        let header_budget = (self.limits.path_bytes as u64) * 4 + 64 * 1024;
        let guard_state = GuardState::new(self.limits.layer_bytes, header_budget);
        let guarded = Guard {
            inner: decompressed,
            state: guard_state.clone(),
            layer: name.clone(),
        };
        let mut archive = tar::Archive::new(guarded);
        let mut count = 0u64;
        let entries = archive
            .entries_with_seek()
            .map_err(|e| Error::from_stream(&name, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| Error::from_stream(&name, e))?;
            count += 1;
            if count > self.limits.layer_entries {
                return Err(Error::Limit {
                    what: name,
                    limit: "layer_entries",
                    max: self.limits.layer_entries,
                    actual: count,
                });
            }
            // The entry's data plus padding, then at most the header budget, may be read
            // before the next entry is handed to us.
            guard_state.allow(entry.size().div_ceil(512) * 512 + header_budget);
            let raw_path = entry.path_bytes().into_owned();
            if raw_path.len() > self.limits.path_bytes {
                return Err(Error::Limit {
                    what: name,
                    limit: "path_bytes",
                    max: self.limits.path_bytes as u64,
                    actual: raw_path.len() as u64,
                });
            }
            let path_str = String::from_utf8_lossy(&raw_path).into_owned();
            self.apply_entry(&mut entry, &path_str, layer, keep, &name)?;
        }
        // Drain trailing bytes so the blob's digest is verified (the tar end marker may come
        // before the end of the compressed stream).
        let mut rest = archive.into_inner();
        rest.state.allow(u64::MAX / 2);
        loop {
            let n = rest
                .room(usize::MAX)
                .and_then(|n| rest.inner.skip(n))
                .map_err(|e| Error::from_stream(&name, e))?;
            if n == 0 {
                break;
            }
            rest.count(n).map_err(|e| Error::from_stream(&name, e))?;
        }
        image_budget.spend(rest.state.total.get(), &name)?;
        Ok(())
    }

    fn apply_entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        raw: &str,
        layer: usize,
        keep: &Keep,
        name: &str,
    ) -> Result<()> {
        let path = normalise(raw, name)?;
        if path.is_empty() {
            return Ok(()); // "./" itself
        }
        let (written, base) = path.rsplit_once('/').unwrap_or(("", &path));
        let parent = match &self.parent {
            Some(known) if known == written => known.clone(),
            _ => {
                let real = self.ensure_dir(written, layer, name)?;
                self.parent = (real == written).then(|| real.clone());
                real
            }
        };
        let join = |b: &str| {
            if parent.is_empty() {
                b.to_owned()
            } else {
                format!("{parent}/{b}")
            }
        };
        if base == ".wh..wh..opq" {
            let prefix = if parent.is_empty() {
                String::new()
            } else {
                format!("{parent}/")
            };
            // Only the directory's own run of the sorted map is visited (every path under
            // `a/` sorts after `a/` itself), not the whole view once per marker.
            let doomed: Vec<String> = self
                .nodes
                .range::<str, _>((
                    std::ops::Bound::Excluded(prefix.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(p, _)| p.starts_with(&prefix))
                .filter(|(_, n)| n.layer.is_some_and(|l| l < layer))
                .map(|(p, _)| p.clone())
                .collect();
            for p in doomed {
                self.nodes.remove(&p);
            }
            self.forget_parent();
            return Ok(());
        }
        if let Some(hidden) = base.strip_prefix(".wh.") {
            self.remove_tree(&join(hidden));
            return Ok(());
        }
        let target = join(base);
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let kind = header.entry_type();
        let node = match kind {
            tar::EntryType::Directory => {
                if let Some(existing) = self.nodes.get_mut(&target)
                    && existing.kind == Kind::Dir
                {
                    existing.mode = mode;
                    existing.layer = Some(layer);
                    return Ok(());
                }
                Node {
                    kind: Kind::Dir,
                    size: 0,
                    mode,
                    layer: Some(layer),
                    content: None,
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let size = entry.size();
                let content = if keep.wants(&target, size, mode) {
                    Some(self.store_content(entry, name)?)
                } else {
                    None
                };
                Node {
                    kind: Kind::File,
                    size,
                    mode,
                    layer: Some(layer),
                    content,
                }
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if link.len() > self.limits.path_bytes {
                    return Err(Error::Limit {
                        what: name.into(),
                        limit: "path_bytes",
                        max: self.limits.path_bytes as u64,
                        actual: link.len() as u64,
                    });
                }
                Node {
                    kind: Kind::Symlink(link),
                    size: 0,
                    mode,
                    layer: Some(layer),
                    content: None,
                }
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let link_path = normalise(&link, name)?;
                // The target's parents resolve like any path; the target itself is not
                // followed (a hard link to a symlink links the symlink).
                let resolved = self.resolve_path(&link_path, false, name)?;
                let Some(t) = self.nodes.get(&resolved) else {
                    return Err(Error::DanglingHardLink {
                        layer: name.into(),
                        path: target,
                        target: link,
                    });
                };
                if t.kind == Kind::Dir {
                    return Err(Error::DanglingHardLink {
                        layer: name.into(),
                        path: target,
                        target: format!("{link} (a directory)"),
                    });
                }
                Node {
                    layer: Some(layer),
                    ..t.clone()
                }
            }
            tar::EntryType::Char => Node {
                kind: Kind::CharDevice,
                size: 0,
                mode,
                layer: Some(layer),
                content: None,
            },
            tar::EntryType::Block => Node {
                kind: Kind::BlockDevice,
                size: 0,
                mode,
                layer: Some(layer),
                content: None,
            },
            tar::EntryType::Fifo => Node {
                kind: Kind::Fifo,
                size: 0,
                mode,
                layer: Some(layer),
                content: None,
            },
            // PAX global headers and other metadata-only types carry no filesystem object.
            _ => return Ok(()),
        };
        self.remove_tree(&target);
        self.nodes.insert(target, node);
        Ok(())
    }

    fn store_content<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<Content> {
        let size = entry.size();
        let Some(pack) = &mut self.pack else {
            return Err(Error::io(
                std::env::temp_dir(),
                io::Error::new(io::ErrorKind::NotFound, "no store of kept contents"),
            ));
        };
        Ok(Content::Stored(pack.append(entry, size, name)?))
    }

    /// Makes sure `dir` (already normalised) exists as a directory, creating missing parents,
    /// and returns its real path after resolving symlinks in the view.
    fn ensure_dir(&mut self, dir: &str, layer: usize, name: &str) -> Result<String> {
        let real = self.resolve_path(dir, true, name)?;
        let mut cur = String::new();
        for c in real.split('/').filter(|c| !c.is_empty()) {
            cur = if cur.is_empty() {
                c.to_owned()
            } else {
                format!("{cur}/{c}")
            };
            match self.nodes.get(&cur) {
                Some(n) if n.kind == Kind::Dir => {}
                _ => {
                    // Missing, or a non-directory in the way: a directory replaces it, as
                    // the runtime would when extracting.
                    self.remove_tree(&cur);
                    self.nodes.insert(cur.clone(), dir_node(Some(layer)));
                }
            }
        }
        Ok(real)
    }

    /// Resolves symlinks in `path` inside the root; `follow_last` decides whether the last
    /// component is followed too. `..` never climbs above the root here: a symlink's target
    /// is interpreted as inside a chroot.
    fn resolve_path(&self, path: &str, follow_last: bool, name: &str) -> Result<String> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_owned)
            .collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0usize;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(c);
            let is_last = pending.is_empty();
            let cur = resolved.join("/");
            if let Some(Node {
                kind: Kind::Symlink(target),
                ..
            }) = self.nodes.get(&cur)
                && (!is_last || follow_last)
            {
                hops += 1;
                if hops > self.limits.link_hops {
                    return Err(Error::LinkLoop {
                        layer: name.into(),
                        path: path.into(),
                        max: self.limits.link_hops,
                    });
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for t in target.split('/').filter(|c| !c.is_empty()).rev() {
                    pending.push(t.to_owned());
                }
            }
        }
        Ok(resolved.join("/"))
    }

    fn remove_tree(&mut self, path: &str) {
        if path.is_empty() {
            return;
        }
        let mut removed = self.nodes.remove(path).is_some();
        let prefix = format!("{path}/");
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p.clone())
            .collect();
        removed |= !doomed.is_empty();
        for p in doomed {
            self.nodes.remove(&p);
        }
        if removed {
            self.forget_parent();
        }
    }

    /// Drops the remembered parent resolution: an entry was removed or replaced, which
    /// may change how paths resolve.
    fn forget_parent(&mut self) {
        self.parent = None;
    }
}

fn dir_node(layer: Option<usize>) -> Node {
    Node {
        kind: Kind::Dir,
        size: 0,
        mode: 0o755,
        layer,
        content: None,
    }
}

/// `./a//b/./c/` -> `a/b/c`; a leading `/` means the image root. `..` may step back inside
/// the path but never above the root.
fn normalise(raw: &str, name: &str) -> Result<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(Error::PathEscapes {
                        layer: name.into(),
                        path: raw.into(),
                    });
                }
            }
            c => out.push(c),
        }
    }
    Ok(out.join("/"))
}

#[cfg(unix)]
fn permissions(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}
#[cfg(not(unix))]
fn permissions(_meta: &fs::Metadata) -> u32 {
    0o644
}

#[cfg(unix)]
fn symlink(target: &str, dest: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, dest).map_err(|e| Error::io(dest, e))
}
#[cfg(not(unix))]
fn symlink(_target: &str, _dest: &Path) -> Result<()> {
    Ok(())
}

/// Byte accounting across all layers of an image.
struct Budget {
    left: u64,
    max: u64,
}

impl Budget {
    fn new(max: u64) -> Self {
        Self { left: max, max }
    }
    fn spend(&mut self, n: u64, what: &str) -> Result<()> {
        if n > self.left {
            return Err(Error::Limit {
                what: what.into(),
                limit: "image_bytes",
                max: self.max,
                actual: self.max - self.left + n,
            });
        }
        self.left -= n;
        Ok(())
    }
}

/// Shared between the guard (owned by the tar reader) and the loop that drives it.
#[derive(Clone)]
struct GuardState {
    total: Rc<Cell<u64>>,
    allowance: Rc<Cell<u64>>,
    layer_limit: u64,
}

impl GuardState {
    fn new(layer_limit: u64, first_header: u64) -> Self {
        Self {
            total: Rc::new(Cell::new(0)),
            allowance: Rc::new(Cell::new(first_header)),
            layer_limit,
        }
    }
    fn allow(&self, n: u64) {
        self.allowance.set(n);
    }
}

/// Counts decompressed bytes: fails the stream past the layer limit, and past the
/// allowance between two entries (which bounds tar extension headers).
struct Guard<R> {
    inner: R,
    state: GuardState,
    layer: String,
}

impl<R> Guard<R> {
    /// How many of `want` bytes may be consumed now: at most the allowance left before the
    /// next entry.
    fn room(&self, want: usize) -> io::Result<usize> {
        let allowance = self.state.allowance.get();
        if allowance == 0 {
            return Err(limit_error(&self.layer, "tar header size", 0, 0));
        }
        Ok(want.min(usize::try_from(allowance).unwrap_or(usize::MAX)))
    }

    /// Counts `n` consumed bytes against the allowance and the layer limit.
    fn count(&self, n: usize) -> io::Result<()> {
        self.state
            .allowance
            .set(self.state.allowance.get().saturating_sub(n as u64));
        let total = self.state.total.get() + n as u64;
        self.state.total.set(total);
        if total > self.state.layer_limit {
            return Err(limit_error(
                &self.layer,
                "layer_bytes",
                self.state.layer_limit,
                total,
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.room(buf.len())?;
        let n = self.inner.read(&mut buf[..want])?;
        self.count(n)?;
        Ok(n)
    }
}

/// The tar reader skips the contents of entries nobody reads (most of a layer, for an SBOM)
/// by seeking forward (`tar::Archive::entries_with_seek`): the decompressed chunks are
/// dropped instead of copied out, and every skipped byte is counted as a read one is.
/// Returns the position in the stream, as `Seek` must (tar keeps its offsets by it).
impl io::Seek for Guard<Inflated> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let mut left = match pos {
            io::SeekFrom::Current(n) => u64::try_from(n).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a layer stream is only skipped forward",
                )
            })?,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a layer stream is only skipped forward",
                ));
            }
        };
        while left > 0 {
            let want = self.room(usize::try_from(left).unwrap_or(usize::MAX))?;
            let n = self.inner.skip(want)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "unexpected EOF during skip",
                ));
            }
            self.count(n)?;
            left -= n as u64;
        }
        Ok(self.state.total.get())
    }
}

fn limit_error(layer: &str, limit: &'static str, max: u64, actual: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        Error::Limit {
            what: layer.into(),
            limit,
            max,
            actual,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn one_layer(entries: &[(&str, &[u8])]) -> Rootfs {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, path, *data).unwrap();
        }
        let data = b.into_inner().unwrap();
        let info = LayerInfo {
            digest: Digest::sha256(&data),
            media_type: "test".into(),
            size: data.len() as u64,
        };
        Rootfs::from_layers(
            vec![(info, Compression::None, io::Cursor::new(data))],
            &Keep::All,
            &Limits::default(),
        )
        .unwrap()
    }

    /// The store is an unnamed file nobody else can reach; should it still come back
    /// shorter than what was appended (a full disk, a failing device), a kept content that
    /// cannot be read back whole is an error naming the entry's path (the SBOM turns it
    /// into a warning), never a shorter file handed on as if it were the entry (issue 18).
    #[test]
    fn contents_that_do_not_read_back_whole_are_errors_naming_the_path() {
        let big = vec![7u8; 3 << 20];
        let fs = one_layer(&[("a/small", b"small"), ("b/big", &big), ("c/after", b"end")]);
        assert_eq!(fs.read("b/big", 4 << 20).unwrap().unwrap(), big);
        let Some(Content::Stored(at)) = fs.get("b/big").unwrap().content else {
            panic!("b/big not stored");
        };
        fs.pack.as_ref().unwrap().file.set_len(at + 1000).unwrap();
        assert_eq!(fs.read("a/small", 10).unwrap().unwrap(), b"small");
        for err in [
            fs.read("b/big", 4 << 20).unwrap_err(),
            fs.read("c/after", 10).unwrap_err(),
            fs.open("b/big").err().unwrap(),
        ] {
            let text = err.to_string();
            assert!(
                text.contains("/b/big") || text.contains("/c/after"),
                "names the path: {text}"
            );
            assert!(text.contains("read back"), "{text}");
        }
        let out = tempfile::tempdir().unwrap();
        let err = fs.extract(&out.path().join("root")).unwrap_err();
        assert!(err.to_string().contains("/b/big"), "{err}");
    }
}
