//! Every limit on untrusted input, in one place.

/// Bounds on what registries, archives and layers may make vouch read or write.
///
/// The defaults are generous for real images and small enough that a hostile registry or
/// layer cannot exhaust memory or disk: the OCI distribution spec lets registries refuse
/// manifests over 4 MiB, and no real image layer expands past tens of GiB.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest manifest, index, tag list or referrers answer, in bytes (4 MiB).
    pub manifest_bytes: u64,
    /// Largest image config blob, in bytes (16 MiB).
    pub config_bytes: u64,
    /// Largest token-server answer, in bytes (1 MiB).
    pub token_bytes: u64,
    /// Most pages of a tag list.
    pub tag_pages: usize,
    /// Most uncompressed bytes in one layer (64 GiB), against decompression bombs.
    pub layer_bytes: u64,
    /// Most uncompressed bytes in all layers of an image (256 GiB).
    pub image_bytes: u64,
    /// Most tar entries in one layer.
    pub layer_entries: u64,
    /// Longest path in a tar entry, in bytes (tar's PAX/GNU long names are otherwise unbounded).
    pub path_bytes: usize,
    /// Most symlink/hard-link hops when resolving a path (Linux uses 40).
    pub link_hops: usize,
    /// Most layers in one image.
    pub layers: usize,
    /// Most manifests in one index.
    pub index_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            manifest_bytes: 4 << 20,
            config_bytes: 16 << 20,
            token_bytes: 1 << 20,
            tag_pages: 10_000,
            layer_bytes: 64 << 30,
            image_bytes: 256 << 30,
            layer_entries: 4_000_000,
            path_bytes: 4096,
            link_hops: 40,
            layers: 512,
            index_entries: 1024,
        }
    }
}
