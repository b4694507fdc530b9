//! Source names as syft spells them (`syft/source/sourceproviders` and the README's
//! "Supported sources"): `registry:REF`, `oci-archive:FILE`, `oci-dir:DIR`, `file:PATH`,
//! `dir:PATH`, `docker-archive:FILE`, and a bare path that exists (a directory, an OCI or
//! `docker save` tarball, or any other file) - each mapped onto a vouch location. `--exclude`
//! and the source name/version overrides live here too.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::Sbom;

/// What a user's source string means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A location vouch's own parser reads (`REF`, `oci:…`, `docker-archive:…`, `dir:…`).
    Native(String),
    /// An OCI image layout in a tarball (`oci-archive:FILE`, or a bare tarball with an
    /// `oci-layout` member).
    OciArchive(PathBuf),
    /// One file, cataloged as the only file of a root filesystem (`file:PATH`).
    File(PathBuf),
}

/// Maps syft's source schemes onto vouch locations.
pub(crate) fn resolve(input: &str) -> Result<Resolved> {
    if let Some(r) = input.strip_prefix("registry:") {
        if r.is_empty() {
            return Err(Error::Unsupported(
                "registry: needs an image reference".into(),
            ));
        }
        return Ok(Resolved::Native(r.to_owned()));
    }
    if let Some(p) = input.strip_prefix("oci-archive:") {
        return Ok(Resolved::OciArchive(non_empty(p, "oci-archive:")?.into()));
    }
    if let Some(p) = input.strip_prefix("oci-dir:") {
        return Ok(Resolved::Native(format!(
            "oci:{}",
            non_empty(p, "oci-dir:")?
        )));
    }
    if let Some(p) = input.strip_prefix("file:") {
        return Ok(Resolved::File(non_empty(p, "file:")?.into()));
    }
    for scheme in ["docker:", "podman:", "containerd:", "singularity:"] {
        if input.starts_with(scheme) {
            return Err(Error::Unsupported(format!(
                "{input}: vouch reads no container daemon or {} image; use registry:REF, \
                 oci-archive:FILE, oci-dir:DIR or docker-archive:FILE (`docker save`)",
                scheme.trim_end_matches(':')
            )));
        }
    }
    let has_scheme = ["oci:", "docker-archive:", "dir:", "docker://"]
        .iter()
        .any(|s| input.starts_with(s));
    if !has_scheme {
        // A bare path that exists wins over an image reference, as in syft.
        let path = Path::new(input);
        if path.is_dir() {
            return Ok(Resolved::Native(format!("dir:{input}")));
        }
        if path.is_file() {
            return Ok(match tar_kind(path) {
                Some(TarKind::Oci) => Resolved::OciArchive(path.into()),
                Some(TarKind::Docker) => Resolved::Native(format!("docker-archive:{input}")),
                None => Resolved::File(path.into()),
            });
        }
    }
    Ok(Resolved::Native(input.to_owned()))
}

fn non_empty<'a>(s: &'a str, scheme: &str) -> Result<&'a str> {
    if s.is_empty() {
        Err(Error::Unsupported(format!("{scheme} needs a path")))
    } else {
        Ok(s)
    }
}

enum TarKind {
    Oci,
    Docker,
}

/// Looks at a tarball's member names: `oci-layout` makes an OCI archive, `manifest.json` a
/// `docker save` archive. Anything that is not a tarball is neither.
fn tar_kind(path: &Path) -> Option<TarKind> {
    let f = std::fs::File::open(path).ok()?;
    let mut ar = tar::Archive::new(f);
    let mut docker = false;
    for e in ar.entries().ok()? {
        let e = e.ok()?;
        let p = e.path().ok()?;
        let name = p.to_string_lossy();
        let name = name.trim_start_matches("./");
        if name == "oci-layout" {
            return Some(TarKind::Oci);
        }
        docker |= name == "manifest.json";
    }
    docker.then_some(TarKind::Docker)
}

/// Most members an OCI archive may have.
const MAX_ARCHIVE_MEMBERS: usize = 100_000;

/// Unpacks an OCI archive's layout (`oci-layout`, `index.json`, `blobs/…`) into `dir`.
/// Only regular files with plain relative names are written (no links, no `..`, no
/// absolute paths); each blob is checked against its digest later, when it is read.
pub(crate) fn unpack_oci_archive(archive: &Path, dir: &Path, max_bytes: u64) -> Result<()> {
    let what = format!("oci-archive:{}", archive.display());
    let f = std::fs::File::open(archive).map_err(|e| Error::Unsupported(format!("{what}: {e}")))?;
    let mut ar = tar::Archive::new(f);
    let mut total = 0u64;
    for (n, e) in ar.entries()?.enumerate() {
        // A layout holds a few files per image; a tarball of millions is not one.
        if n >= MAX_ARCHIVE_MEMBERS {
            return Err(Error::Unsupported(format!(
                "{what}: more than {MAX_ARCHIVE_MEMBERS} members; not an OCI image archive"
            )));
        }
        let mut e = e?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let rel = e.path()?.into_owned();
        if !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(Error::Unsupported(format!(
                "{what}: member {} escapes the archive",
                rel.display()
            )));
        }
        total = total.saturating_add(e.size());
        if total > max_bytes {
            return Err(Error::Unsupported(format!(
                "{what}: more than {max_bytes} bytes unpacked (the image size limit)"
            )));
        }
        let out = dir.join(&rel);
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut w = std::fs::File::create(&out)?;
        std::io::copy(&mut (&mut e).take(max_bytes), &mut w)?;
    }
    if !dir.join("oci-layout").is_file() {
        return Err(Error::Unsupported(format!(
            "{what}: no oci-layout file; not an OCI image archive"
        )));
    }
    Ok(())
}

/// Drops what `--exclude` patterns cover, as syft does (`getImageExclusionFunction` in
/// `syft/source/stereoscopesource/image_source.go`, `GetDirectoryExclusionFunctions` in
/// `syft/source/directorysource/directory_source.go`): a package whose primary evidence
/// file is excluded is not found; excluded supporting locations are dropped. For images
/// the patterns are absolute paths (`/etc/**`); for directories they must start with
/// `./`, `*/` or `**/` and are relative to the scanned directory. A pattern also covers
/// everything below what it matches (`PATTERN/**`). `*` stays within a path component,
/// `**` spans components. Returns how many packages were dropped.
pub fn exclude(sbom: &mut Sbom, patterns: &[String]) -> Result<usize> {
    if patterns.is_empty() {
        return Ok(0);
    }
    let dir = sbom.source.kind == crate::model::SourceKind::Dir;
    let mut compiled = Vec::new();
    for p in patterns {
        let pat = if dir {
            let rel = ["./", "*/", "**/"]
                .iter()
                .find(|s| p.starts_with(*s))
                .map(|_| p.trim_start_matches("./").trim_end_matches('/'))
                .ok_or_else(|| {
                    Error::Unsupported(format!(
                        "invalid exclusion pattern {p:?} (must start with one of: './', '*/', or '**/')"
                    ))
                })?;
            format!("/{rel}")
        } else {
            p.clone()
        };
        for q in [pat.clone(), format!("{}/**", pat.trim_end_matches('/'))] {
            compiled.push(glob::Pattern::new(&q).map_err(|e| {
                Error::Unsupported(format!("invalid exclusion pattern {p:?}: {e}"))
            })?);
        }
    }
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let excluded = |path: &str| compiled.iter().any(|g| g.matches_with(path, opts));
    let before = sbom.packages.len();
    sbom.packages
        .retain(|p| p.locations.first().is_none_or(|l| !excluded(&l.path)));
    for p in &mut sbom.packages {
        p.locations.retain(|l| !excluded(&l.path));
    }
    let dropped = before - sbom.packages.len();
    sbom.normalise();
    Ok(dropped)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(
            resolve("registry:localhost:5000/a:v1").unwrap(),
            Resolved::Native("localhost:5000/a:v1".into())
        );
        assert_eq!(
            resolve("oci-dir:/x").unwrap(),
            Resolved::Native("oci:/x".into())
        );
        assert_eq!(
            resolve("oci-archive:/x.tar").unwrap(),
            Resolved::OciArchive("/x.tar".into())
        );
        assert_eq!(resolve("file:/a/b").unwrap(), Resolved::File("/a/b".into()));
        assert!(resolve("docker:nginx").is_err());
        assert!(resolve("registry:").is_err());
        let d = tempfile::tempdir().unwrap();
        let s = d.path().display().to_string();
        assert_eq!(resolve(&s).unwrap(), Resolved::Native(format!("dir:{s}")));
    }

    /// A tarball whose member is named `name` (written raw, as a hostile archive would).
    fn tarball(dir: &Path, name: &[u8]) -> std::path::PathBuf {
        let path = dir.join("a.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
        for (n, data) in [(&b"oci-layout"[..], &b"{}"[..]), (name, &b"x"[..])] {
            let mut h = tar::Header::new_gnu();
            h.as_gnu_mut().unwrap().name[..n.len()].copy_from_slice(n);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append(&h, data).unwrap();
        }
        b.finish().unwrap();
        path
    }

    #[test]
    fn oci_archive_members_stay_inside() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let good = tarball(d.path(), b"blobs/sha256/ab");
        unpack_oci_archive(&good, &out, 1 << 20).unwrap();
        assert!(out.join("blobs/sha256/ab").is_file());
        for bad in [&b"../evil"[..], b"blobs/../../evil", b"/etc/evil"] {
            let t = tarball(d.path(), bad);
            let err = unpack_oci_archive(&t, &out, 1 << 20)
                .unwrap_err()
                .to_string();
            assert!(err.contains("escapes the archive"), "{err}");
        }
        assert!(!d.path().join("evil").exists());
        // The size limit holds.
        let good = tarball(d.path(), b"blobs/sha256/ab");
        let err = unpack_oci_archive(&good, &out, 2).unwrap_err().to_string();
        assert!(err.contains("bytes unpacked"), "{err}");
    }
}
