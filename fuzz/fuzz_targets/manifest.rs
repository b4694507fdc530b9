//! Property: manifest parsing never panics, and an accepted manifest's digest covers the
//! exact input bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = vouch_oci::RawManifest::new(data.to_vec(), None, None, "fuzz") {
        assert_eq!(m.digest, vouch_oci::Digest::sha256(data));
        let _ = m.parse();
    }
});
