//! Reproducible layers: one `--add SRC:DEST` becomes one gzip tar layer whose bytes depend
//! only on the files' paths, contents, symlink targets and permission bits.
//!
//! Kept from the source: the permission bits of every file and directory, setuid, setgid and
//! sticky included (`mode & 0o7777`): a 1777 `/tmp`, a 2775 shared directory or a 0600 key
//! come out as they went in. BuildKit's COPY does the same (tonistiigi/fsutil
//! `copy/copy_unix.go`, `copyFileInfo`: `os.Chmod(name, fi.Mode())`), as do umoci repack and
//! GNU tar without `--mode`. The modes are part of the input, like the contents: a checkout
//! made under umask 002 (0664 files, 0775 directories) is another input than one made under
//! 022, and gives another digest.
//!
//! What is normalised, because it describes the machine that built rather than the image (as
//! `reproducible-builds.org/docs/archives/` recommends, and as BuildKit's `rewrite-timestamp`
//! and `ko` do): entries sorted by path bytes; every mtime set to `SOURCE_DATE_EPOCH`;
//! uid/gid 0 with empty user and group names, which is what Dockerfile `COPY` does without
//! `--chown` ("All new files and directories are created with a UID and GID of 0", Dockerfile
//! reference): the builder's own uid (1000 on a laptop, 1001 on a CI runner) means nothing in
//! the image; mode 0777 for symlinks (Linux ignores a symlink's mode); no xattrs or device
//! numbers. The tar is GNU format (long names as `././@LongLink`), the gzip member has mtime
//! 0, no file name and OS byte 255 (RFC 1952 §2.3 "unknown"), compression level 6.
//!
//! DEST and its parent directories are not in the source: on scratch they are emitted as
//! 0755 root directories, so the layer unpacks on its own ([`Parents::Emit`]). On a base they
//! are left out ([`Parents::FromBase`]): an entry for `tmp/` would replace the base's 1777
//! `/tmp` with 0755, while without one the base's directory stands, and a parent the base
//! lacks is created 0755 by the unpacker (moby `pkg/archive` `Unpack` and containerd
//! `archive/tar.go`: `MkdirAll(parentPath, 0755)`), the same as the entry we would have
//! written. Dockerfile COPY likewise copies a directory's contents, not the directory itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use vouch_oci::Digest;

use crate::error::{Error, Result};
use crate::limits::Limits;

/// One `--add SRC:DEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// A file or directory on this machine.
    pub source: PathBuf,
    /// Absolute path in the image. A file source goes to DEST, or into DEST when DEST ends
    /// with `/`; a directory source's contents go under DEST.
    pub dest: String,
}

impl Add {
    /// Parses `SRC:DEST` (split at the last `:`; DEST must be absolute).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadArgument {
            flag: "--add",
            value: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (src, dest) = spec
            .rsplit_once(':')
            .ok_or_else(|| bad("expected SRC:DEST"))?;
        if src.is_empty() {
            return Err(bad("SRC is empty"));
        }
        if !dest.starts_with('/') {
            return Err(bad("DEST must be an absolute path in the image"));
        }
        if dest.split('/').any(|c| c == "..") {
            return Err(bad("DEST must not contain `..`"));
        }
        Ok(Self {
            source: PathBuf::from(src),
            dest: dest.to_owned(),
        })
    }
}

/// A built layer.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The gzip-compressed tar (the blob).
    pub blob: Vec<u8>,
    /// Digest of `blob`.
    pub digest: Digest,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
    /// Entries written (directories included).
    pub entries: usize,
}

/// Whether DEST and its parent directories get entries of their own (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parents {
    /// On scratch: 0755 root entries, so the layer unpacks on its own.
    Emit,
    /// On a base: none, so the base's directories keep their modes.
    FromBase,
}

/// The mode of DEST and its parents on scratch (what unpackers create for a missing parent).
const CREATED_DIR_MODE: u32 = 0o755;

/// The permission bits a tar header carries: rwx for all three, setuid, setgid, sticky
/// (POSIX `ustar` mode field: TSUID 04000, TSGID 02000, TSVTX 01000, and 0777).
const MODE_BITS: u32 = 0o7777;

#[derive(Debug)]
enum Kind {
    Dir { mode: u32 },
    File { path: PathBuf, mode: u32 },
    Symlink(PathBuf),
}

/// Builds the layer for `add`, all timestamps at `epoch`.
pub fn build_layer(add: &Add, epoch: u64, parents: Parents, limits: &Limits) -> Result<Layer> {
    let meta = std::fs::symlink_metadata(&add.source).map_err(|e| Error::io(&add.source, e))?;
    // Entry paths inside the tar: relative, `/`-separated, no leading `/`.
    let dest = add.dest.trim_start_matches('/').trim_end_matches('/');
    let mut entries: Vec<(String, Kind)> = Vec::new();
    // Parents of DEST (and DEST itself for a directory source) are entries too, on scratch.
    let emit = parents == Parents::Emit;
    let created = || Kind::Dir {
        mode: CREATED_DIR_MODE,
    };
    let components: Vec<&str> = dest.split('/').filter(|c| !c.is_empty()).collect();
    let file_target = if meta.is_dir() {
        for i in 1..=components.len() {
            if emit {
                entries.push((components[..i].join("/"), created()));
            }
        }
        walk(&add.source, dest, &mut entries, limits)?;
        None
    } else {
        let name = add
            .source
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::BadArgument {
                flag: "--add",
                value: add.source.display().to_string(),
                reason: "file name is not UTF-8".into(),
            })?;
        let target = if add.dest.ends_with('/') || dest.is_empty() {
            if dest.is_empty() {
                name.to_owned()
            } else {
                format!("{dest}/{name}")
            }
        } else {
            dest.to_owned()
        };
        let tc: Vec<&str> = target.split('/').collect();
        for i in 1..tc.len() {
            if emit {
                entries.push((tc[..i].join("/"), created()));
            }
        }
        Some((target, kind_of(&add.source, &meta)?))
    };
    if let Some((target, kind)) = file_target {
        entries.push((target, kind));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    entries.dedup_by(|a, b| a.0 == b.0);
    if entries.len() > limits.max_entries {
        return Err(Error::Limit {
            what: add.source.display().to_string(),
            limit: "max_entries",
            max: limits.max_entries as u64,
        });
    }

    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    let mut total: u64 = 0;
    for (path, kind) in &entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(epoch);
        // Empty names: the numeric ids are what counts (reproducible-builds archives guide).
        let _ = h.set_username("");
        let _ = h.set_groupname("");
        let io = |e| Error::io(&add.source, e);
        match kind {
            Kind::Dir { mode } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                tar.append_data(&mut h, format!("{path}/"), std::io::empty())
                    .map_err(io)?;
            }
            Kind::File { path: src, mode } => {
                let data = std::fs::read(src).map_err(|e| Error::io(src, e))?;
                total += data.len() as u64;
                if total > limits.max_layer_bytes {
                    return Err(Error::Limit {
                        what: add.source.display().to_string(),
                        limit: "max_layer_bytes",
                        max: limits.max_layer_bytes,
                    });
                }
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                tar.append_data(&mut h, path, data.as_slice()).map_err(io)?;
            }
            Kind::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                tar.append_link(&mut h, path, target).map_err(io)?;
            }
        }
    }
    let tar_bytes = tar.into_inner().map_err(|e| Error::io(&add.source, e))?;
    let diff_id = Digest::sha256(&tar_bytes);
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(6));
    gz.write_all(&tar_bytes)
        .map_err(|e| Error::io(&add.source, e))?;
    let blob = gz.finish().map_err(|e| Error::io(&add.source, e))?;
    let digest = Digest::sha256(&blob);
    Ok(Layer {
        blob,
        digest,
        diff_id,
        entries: entries.len(),
    })
}

fn kind_of(path: &Path, meta: &std::fs::Metadata) -> Result<Kind> {
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(path).map_err(|e| Error::io(path, e))?;
        Ok(Kind::Symlink(target))
    } else if ft.is_dir() {
        Ok(Kind::Dir {
            mode: mode_of(meta, CREATED_DIR_MODE),
        })
    } else if ft.is_file() {
        Ok(Kind::File {
            path: path.to_owned(),
            mode: mode_of(meta, 0o644),
        })
    } else {
        Err(Error::UnsupportedFile {
            path: path.to_owned(),
        })
    }
}

/// The source's permission bits, setuid/setgid/sticky included (module docs); `fallback`
/// where the platform has no Unix modes.
fn mode_of(meta: &std::fs::Metadata, fallback: u32) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = fallback;
        meta.permissions().mode() & MODE_BITS
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, MODE_BITS);
        fallback
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Kind)>, limits: &Limits) -> Result<()> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        names.push(entry.file_name());
    }
    names.sort();
    for name in names {
        let Some(n) = name.to_str() else {
            return Err(Error::BadArgument {
                flag: "--add",
                value: dir.join(&name).display().to_string(),
                reason: "file name is not UTF-8".into(),
            });
        };
        let path = dir.join(&name);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        let rel = if prefix.is_empty() {
            n.to_owned()
        } else {
            format!("{prefix}/{n}")
        };
        let kind = kind_of(&path, &meta)?;
        let is_dir = matches!(kind, Kind::Dir { .. });
        out.push((rel.clone(), kind));
        if out.len() > limits.max_entries {
            return Err(Error::Limit {
                what: dir.display().to_string(),
                limit: "max_entries",
                max: limits.max_entries as u64,
            });
        }
        if is_dir {
            walk(&path, &rel, out, limits)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn add_specs() {
        let a = Add::parse("examples/app:/app").unwrap();
        assert_eq!(a.source, PathBuf::from("examples/app"));
        assert_eq!(a.dest, "/app");
        assert!(matches!(
            Add::parse("x:app"),
            Err(Error::BadArgument { .. })
        ));
        assert!(matches!(
            Add::parse("x:/a/../etc"),
            Err(Error::BadArgument { .. })
        ));
        assert!(Add::parse("nocolon").is_err());
    }

    #[test]
    fn same_files_same_layer_whatever_the_mtimes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("b/c/f.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        let add = Add {
            source: dir.path().to_owned(),
            dest: "/srv/app".into(),
        };
        let one = build_layer(&add, 0, Parents::Emit, &Limits::default()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        let two = build_layer(&add, 0, Parents::Emit, &Limits::default()).unwrap();
        assert_eq!(one.digest, two.digest);
        assert_eq!(one.diff_id, two.diff_id);
        // srv, srv/app, a.txt, b, b/c, b/c/f.txt
        assert_eq!(one.entries, 6);
        let other_epoch =
            build_layer(&add, 1_700_000_000, Parents::Emit, &Limits::default()).unwrap();
        assert_ne!(one.digest, other_epoch.digest);

        let mut names = Vec::new();
        let tar_bytes = {
            let mut d = flate2::read::GzDecoder::new(one.blob.as_slice());
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut d, &mut v).unwrap();
            v
        };
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            assert_eq!(e.header().uid().unwrap(), 0);
            assert_eq!(e.header().mtime().unwrap(), 0);
            names.push(e.path().unwrap().display().to_string());
        }
        assert_eq!(
            names,
            [
                "srv/",
                "srv/app/",
                "srv/app/a.txt",
                "srv/app/b/",
                "srv/app/b/c/",
                "srv/app/b/c/f.txt"
            ]
        );
    }
}
