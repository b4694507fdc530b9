//! Property: Kyverno's `validate.pattern` matcher (a policy author's pattern against a resource
//! from the API server, both untrusted shapes) never panics or overflows the stack on any pair
//! of JSON documents, and gives the same verdict twice. The input is two JSON documents
//! separated by a NUL byte: the resource, then the pattern.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vouch_policy::pattern::match_pattern;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0);
    let (Some(resource), Some(pattern)) = (parts.next(), parts.next()) else {
        return;
    };
    let (Ok(resource), Ok(pattern)) = (
        serde_json::from_slice::<Value>(resource),
        serde_json::from_slice::<Value>(pattern),
    ) else {
        return;
    };
    let first = match_pattern(&resource, &pattern).map_err(|e| format!("{e:?}"));
    let second = match_pattern(&resource, &pattern).map_err(|e| format!("{e:?}"));
    assert_eq!(first, second);
    // A document always matches itself when it has no anchors or wildcard strings: not a
    // property of Kyverno's matcher in general (`*` in a value is a wildcard), so only
    // determinism is asserted.
});
