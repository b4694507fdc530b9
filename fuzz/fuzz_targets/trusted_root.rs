//! Property: `trusted_root.json` / `ClientTrustConfig` (untrusted until pinned: a file the
//! user points at, or a TUF target) parses or fails with an error; an accepted root respects
//! the limits (CA chains non-empty and at most `max_chain_len`, every log key has a validity
//! start), parses identically from its canonical JSON re-encoding, and identically when
//! wrapped in a `ClientTrustConfig`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use vouch_sign::{Limits, TrustedRoot};

const CLIENT_TRUST_CONFIG: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_chain_len: 3,
        ..Limits::default()
    };
    let Ok(root) = TrustedRoot::from_json(data, &limits) else {
        return;
    };
    for ca in root
        .certificate_authorities
        .iter()
        .chain(&root.timestamp_authorities)
    {
        assert!(!ca.chain.is_empty() && ca.chain.len() <= limits.max_chain_len);
    }
    for log in root.tlogs.iter().chain(&root.ctlogs) {
        assert!(log.valid_for.start.is_some(), "log without validity start");
    }
    let value: Value = serde_json::from_slice(data).expect("accepted root is JSON");
    let canonical = serde_json::to_vec(&value).expect("serialises");
    let again = TrustedRoot::from_json(&canonical, &limits).expect("canonical form parses");
    assert_eq!(format!("{again:?}"), format!("{root:?}"));
    if value["mediaType"] != CLIENT_TRUST_CONFIG {
        let wrapped = json!({"mediaType": CLIENT_TRUST_CONFIG, "trustedRoot": value});
        let wrapped = serde_json::to_vec(&wrapped).expect("serialises");
        let unwrapped = TrustedRoot::from_json(&wrapped, &limits).expect("wrapped root parses");
        assert_eq!(format!("{unwrapped:?}"), format!("{root:?}"));
    }
});
