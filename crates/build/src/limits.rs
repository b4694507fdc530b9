//! Bounds on what one build reads.

/// Limits on build inputs. Layers are assembled in memory, so they are bounded.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Uncompressed bytes of file contents in one layer. 2 GiB: far above application
    /// layers this tool is meant for, below what would exhaust a CI runner's memory.
    pub max_layer_bytes: u64,
    /// Entries (files, directories, symlinks) in one layer. 1,000,000 is more than a full
    /// distribution root filesystem (Debian's ~30,000 files in a base image).
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_layer_bytes: 2 << 30,
            max_entries: 1_000_000,
        }
    }
}
