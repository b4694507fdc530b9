//! Property: a Sigstore bundle with a Rekor v2 entry (hashedrekord 0.0.2, C2SP checkpoint, no
//! SET) and RFC 3161 timestamps, mutated anywhere, is refused or verified without a panic
//! against the staging trusted root; an accepted bundle verifies the same way again from its
//! canonical JSON re-encoding, with the same evidence.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vouch_sign::{Artifact, Bundle, Limits, SignerPolicy, TrustedRoot, Verifier};

const ROOT: &[u8] = include_bytes!("../../crates/sign/tests/data/trust-roots/staging.trusted_root.json");
const ARTIFACT: &[u8] = include_bytes!("../../crates/sign/tests/data/sigstore-python/staging-rekor-v2.txt");

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(bundle) = Bundle::from_json(data, &limits) else {
        return;
    };
    let verifier = Verifier::new(TrustedRoot::from_json(ROOT, &limits).expect("root"));
    let Ok(first) = verifier.verify_blob(Artifact::Bytes(ARTIFACT), &bundle, &SignerPolicy::UnsafeAnyIdentity) else {
        return;
    };
    let value: serde_json::Value = serde_json::from_slice(data).expect("accepted bundle is JSON");
    let canonical = serde_json::to_vec(&value).expect("serialises");
    let again = Bundle::from_json(&canonical, &limits).expect("canonical form parses");
    let second = verifier
        .verify_blob(Artifact::Bytes(ARTIFACT), &again, &SignerPolicy::UnsafeAnyIdentity)
        .expect("canonical form verifies");
    assert_eq!(format!("{first:?}"), format!("{second:?}"));
});
