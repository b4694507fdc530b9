//! Temporary: in-process verification rate (deleted after measuring).
#![allow(missing_docs, clippy::unwrap_used)]
use std::time::Instant;
use vouch_sign::*;
fn main() {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let artifact = std::fs::read(d.join("sigstore-python/bundle_v3.txt")).unwrap();
    let json = std::fs::read(d.join("sigstore-python/bundle_v3.txt.sigstore")).unwrap();
    let limits = Limits::default();
    let trust = TrustedRoot::from_json(&std::fs::read(d.join("trust-roots/staging.trusted_root.json")).unwrap(), &limits).unwrap();
    let verifier = Verifier::new(trust);
    let policy = SignerPolicy::Identity(IdentityPolicy::exact("william@yossarian.net", "https://github.com/login/oauth"));
    let n = 1000;
    let start = Instant::now();
    for _ in 0..n {
        let b = Bundle::from_json(&json, &limits).unwrap();
        verifier.verify_blob(Artifact::Bytes(&artifact), &b, &policy).unwrap();
    }
    let s = start.elapsed().as_secs_f64();
    println!("{n} bundles in {s:.3} s: {:.0} bundles/s", n as f64 / s);
}
