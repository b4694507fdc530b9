//! Container images for vouch: where they live, what they are made of, and how to move them.
//!
//! * [`Reference`] parses and normalises image references exactly as Docker does.
//! * [`Location`] is what users type for a source or destination: a registry reference,
//!   `oci:DIR[:TAG]`, `docker-archive:FILE[:REF]` or `dir:PATH`.
//! * [`ImageSource`] and [`ImageSink`] are the one seam for reading and writing images,
//!   implemented by [`Registry`] (OCI distribution spec v1.1, with token auth), [`Layout`]
//!   (OCI image layout) and [`DockerArchive`] (`docker save`, read only). Every byte read
//!   through them is verified against its digest while it streams.
//! * [`resolve`] turns a selector into one platform's [`ResolvedImage`]; [`copy_image`]
//!   copies everything reachable from a manifest, by digest.
//! * [`Rootfs`] squashes layers into one filesystem view in which each file knows its
//!   layer, refusing hostile tars (traversal, bombs, link loops) with typed errors.
//! * [`Limits`] holds every bound on untrusted input.
//!
//! ```
//! use vouch_oci::{Location, Reference};
//! let r = Reference::parse("nginx:1.27").unwrap();
//! assert_eq!(r.to_string(), "docker.io/library/nginx:1.27");
//! assert!(matches!(Location::parse("oci:/tmp/layout:v1").unwrap(), Location::Layout { .. }));
//! ```
#![forbid(unsafe_code)]

pub mod archive;
pub mod auth;
pub mod copy;
pub mod digest;
mod error;
pub mod image;
mod inflate;
pub use inflate::decompressed_size;
pub mod layout;
mod limits;
pub mod manifest;
pub mod platform;
pub mod reference;
pub mod registry;
pub mod rootfs;
pub mod store;

pub use archive::DockerArchive;
pub use copy::{CopyEvent, CopyOptions, CopyReport, copy_image};
pub use digest::Digest;
pub use error::{Error, Result};
pub use image::{ResolvedImage, open_sink, open_source, read_blob, resolve};
pub use layout::Layout;
pub use limits::Limits;
pub use manifest::{Manifest, RawManifest};
pub use platform::Platform;
pub use reference::{Reference, Selector};
pub use registry::{Registry, RegistryOptions};
pub use rootfs::Rootfs;
pub use store::{ImageSink, ImageSource, Location};

pub use oci_spec;
