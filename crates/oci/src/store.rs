//! The seam every image location implements: [`ImageSource`] to read, [`ImageSink`] to write.
//!
//! Implementations: a registry ([`crate::registry`]), an OCI image layout directory
//! ([`crate::layout`]) and a `docker save` tarball ([`crate::archive`], read only). A plain
//! directory (`dir:PATH`) has no manifests: it is a filesystem, opened by
//! [`crate::rootfs`], and [`Location`] tells the two apart.

use std::io::Read;
use std::path::PathBuf;

use oci_spec::image::Descriptor;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::RawManifest;
use crate::reference::{Reference, Selector};

/// A verified blob stream: reading it to the end checks its size and digest.
pub type BlobReader = Box<dyn Read + Send>;

/// Reading images.
pub trait ImageSource: Send + Sync {
    /// Where this is, for messages (`localhost:5000/app`, `oci:/tmp/layout`).
    fn location(&self) -> String;

    /// The manifest (or index) named by `selector`. By-digest answers are verified.
    fn manifest(&self, selector: &Selector) -> Result<RawManifest>;

    /// A blob's content, streamed; the stream fails if it does not match `digest`/`size`.
    fn blob(&self, digest: &Digest, size: u64) -> Result<BlobReader>;

    /// The tags this location holds (sorted).
    fn tags(&self) -> Result<Vec<String>>;

    /// Manifests whose `subject` is `subject` (OCI distribution spec v1.1, "Listing
    /// Referrers"), optionally only those of `artifact_type`. Where the location has no
    /// referrers API, the tag-schema fallback (`<alg>-<hex>` tag holding an index) is read.
    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>>;

    /// The registry repository this is, when it is one (copies mount blobs from it).
    fn registry_repository(&self) -> Option<RepositoryId> {
        None
    }
}

/// A repository in a registry, with the credentials it is spoken to with: a cross-repository
/// mount is only attempted between two of these on the same host with the same credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct RepositoryId {
    /// The registry host as the user wrote it (`localhost:5000`, `docker.io`).
    pub registry: String,
    /// The repository (`library/nginx`).
    pub repository: String,
    pub(crate) credentials: Option<crate::auth::Credentials>,
}

impl std::fmt::Debug for RepositoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// What a sink answered to a cross-repository mount request.
#[derive(Debug)]
pub enum Mount {
    /// The blob is now in the destination (distribution spec: 201 Created).
    Mounted,
    /// The registry did not mount but opened an ordinary upload session instead (202
    /// Accepted): it must be used with [`ImageSink::put_blob_in`] or given back with
    /// [`ImageSink::cancel_upload`].
    UploadStarted(PendingUpload),
    /// This kind of sink cannot mount.
    Unsupported,
}

/// An upload session a registry opened (its absolute `Location`).
#[derive(Debug)]
pub struct PendingUpload {
    pub(crate) location: String,
}

/// Writing images.
pub trait ImageSink: Send + Sync {
    /// Where this is, for messages.
    fn location(&self) -> String;

    /// Whether the blob is already there (copies skip it).
    fn has_blob(&self, digest: &Digest) -> Result<bool>;

    /// Stores a blob, verifying it on the way: nothing is committed unless `data` yields
    /// exactly `size` bytes hashing to `digest`.
    fn put_blob(&self, digest: &Digest, size: u64, data: &mut dyn Read) -> Result<()>;

    /// Stores a manifest under its digest and, if given, a tag.
    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<()>;

    /// The registry repository this is, when it is one.
    fn registry_repository(&self) -> Option<RepositoryId> {
        None
    }

    /// Asks for `digest` to be mounted from repository `from` of the same registry.
    fn mount_blob(&self, digest: &Digest, from: &str) -> Result<Mount> {
        let _ = (digest, from);
        Ok(Mount::Unsupported)
    }

    /// [`ImageSink::put_blob`] into an upload session [`ImageSink::mount_blob`] opened.
    fn put_blob_in(
        &self,
        upload: PendingUpload,
        digest: &Digest,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<()> {
        let _ = upload;
        self.put_blob(digest, size, data)
    }

    /// Gives back an upload session that will not be used (best effort).
    fn cancel_upload(&self, upload: PendingUpload) {
        let _ = upload;
    }
}

/// Where images (or a filesystem) are read from or written to, as the user writes it.
///
/// | form | meaning |
/// |---|---|
/// | `REF`, `docker://REF` | a registry reference (`localhost:5000/app:v1`) |
/// | `oci:DIR[:TAG]` | an OCI image layout directory |
/// | `docker-archive:FILE[:REF]` | a `docker save` tarball (read only) |
/// | `dir:PATH` | a plain directory, as a root filesystem (no manifests) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A registry.
    Registry(Reference),
    /// An OCI layout directory with an optional tag.
    Layout {
        /// The directory.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to use.
        tag: Option<String>,
    },
    /// A `docker save` tarball with an optional `RepoTags` entry.
    DockerArchive {
        /// The tarball.
        path: PathBuf,
        /// Which image, if the archive holds several.
        reference: Option<String>,
    },
    /// A plain directory.
    Dir(PathBuf),
}

impl Location {
    /// Parses a location string (see the type's table).
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadLocation {
            input: input.into(),
            reason: reason.into(),
        };
        if let Some(rest) = input.strip_prefix("oci:") {
            let (path, tag) = split_path_suffix(rest);
            if path.is_empty() {
                return Err(bad("missing directory after oci:"));
            }
            if let Some(t) = tag {
                // Layout tags follow the reference tag grammar (image-spec annotations.md
                // only says "SHOULD"; we are strict so they survive a copy to a registry).
                Reference::parse("x")?
                    .with_tag(t)
                    .map_err(|_| bad("invalid tag"))?;
            }
            return Ok(Self::Layout {
                path: path.into(),
                tag: tag.map(Into::into),
            });
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            // The reference may contain '/' and ':' (`img.tar:ghcr.io/a/b:v1`): the file is
            // the shortest prefix that exists, else the last-'/' rule decides.
            let existing = rest
                .match_indices(':')
                .map(|(i, _)| (&rest[..i], &rest[i + 1..]))
                .find(|(p, _)| std::path::Path::new(p).is_file());
            let (path, reference) = match existing {
                Some((p, r)) => (p, Some(r).filter(|r| !r.is_empty())),
                None => split_path_suffix(rest),
            };
            if path.is_empty() {
                return Err(bad("missing file after docker-archive:"));
            }
            return Ok(Self::DockerArchive {
                path: path.into(),
                reference: reference.map(Into::into),
            });
        }
        if let Some(rest) = input.strip_prefix("dir:") {
            if rest.is_empty() {
                return Err(bad("missing directory after dir:"));
            }
            return Ok(Self::Dir(rest.into()));
        }
        let reference = input.strip_prefix("docker://").unwrap_or(input);
        if let Some((scheme, _)) = reference.split_once(':')
            && [
                "oci-archive",
                "containers-storage",
                "docker-daemon",
                "http",
                "https",
            ]
            .contains(&scheme)
        {
            return Err(bad(
                "unsupported transport; use REF, docker://REF, oci:DIR[:TAG], docker-archive:FILE or dir:PATH",
            ));
        }
        Ok(Self::Registry(Reference::parse(reference)?))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Registry(r) => write!(f, "{r}"),
            Self::Layout { path, tag: Some(t) } => write!(f, "oci:{}:{t}", path.display()),
            Self::Layout { path, tag: None } => write!(f, "oci:{}", path.display()),
            Self::DockerArchive {
                path,
                reference: Some(r),
            } => {
                write!(f, "docker-archive:{}:{r}", path.display())
            }
            Self::DockerArchive {
                path,
                reference: None,
            } => {
                write!(f, "docker-archive:{}", path.display())
            }
            Self::Dir(p) => write!(f, "dir:{}", p.display()),
        }
    }
}

/// `PATH[:SUFFIX]`: the suffix follows the last `:` that comes after the last `/`.
fn split_path_suffix(s: &str) -> (&str, Option<&str>) {
    let after_slash = s.rfind('/').map_or(0, |i| i + 1);
    match s[after_slash..].find(':') {
        Some(i) => {
            let cut = after_slash + i;
            // A suffix that itself looks like a reference with a registry (`a:b/c:d`) is
            // not split here: the last '/' rule already handled it.
            (&s[..cut], Some(&s[cut + 1..]).filter(|t| !t.is_empty()))
        }
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_table() {
        let r = |s: &str| Location::Registry(Reference::parse(s).expect("ref"));
        let cases = [
            ("nginx", r("nginx")),
            ("docker://localhost:5000/a:b", r("localhost:5000/a:b")),
            (
                "oci:/tmp/x",
                Location::Layout {
                    path: "/tmp/x".into(),
                    tag: None,
                },
            ),
            (
                "oci:/tmp/x:v1",
                Location::Layout {
                    path: "/tmp/x".into(),
                    tag: Some("v1".into()),
                },
            ),
            (
                "oci:rel/dir",
                Location::Layout {
                    path: "rel/dir".into(),
                    tag: None,
                },
            ),
            (
                "docker-archive:/a/img.tar",
                Location::DockerArchive {
                    path: "/a/img.tar".into(),
                    reference: None,
                },
            ),
            (
                "docker-archive:img.tar:app:v1",
                Location::DockerArchive {
                    path: "img.tar".into(),
                    reference: Some("app:v1".into()),
                },
            ),
            ("dir:/srv/root", Location::Dir("/srv/root".into())),
        ];
        for (input, want) in cases {
            assert_eq!(Location::parse(input).expect(input), want, "{input}");
        }
        for bad in [
            "oci:",
            "dir:",
            "docker-archive:",
            "oci:/x:bad tag",
            "oci-archive:/x.tar",
            "Bad",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }
}
