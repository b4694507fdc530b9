//! Property: squashing arbitrary bytes as a layer never panics, and every path in the
//! resulting view is relative and free of `..`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vouch_oci::manifest::Compression;
use vouch_oci::rootfs::{Keep, LayerInfo};

fuzz_target!(|data: &[u8]| {
    let info = LayerInfo { digest: vouch_oci::Digest::sha256(data), media_type: "fuzz".into(), size: data.len() as u64 };
    let limits = vouch_oci::Limits { layer_bytes: 1 << 20, layer_entries: 1000, ..Default::default() };
    let compression = Compression::sniff(data);
    if let Ok(fs) = vouch_oci::Rootfs::from_layers(vec![(info, compression, data)], &Keep::All, &limits) {
        for (path, _) in fs.entries() {
            assert!(!path.starts_with('/'), "{path}");
            assert!(!path.split('/').any(|c| c == ".." || c.is_empty()), "{path}");
        }
    }
});
