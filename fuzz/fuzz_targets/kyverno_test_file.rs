//! Property: a Kyverno CLI test file (`kyverno-test.yaml`, read by `vouch policy test`) goes
//! through the same two steps as there, YAML to a JSON value (serde_norway) and the strict
//! loader (`vouch_policy::strict::from_value`, unknown fields refused with their path and a
//! suggestion), into the shape of the `Test` resource; neither step panics, a refusal names a
//! path, and an accepted file is accepted again from its JSON re-encoding with the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use vouch_policy::strict::from_value;

/// The `cli.kyverno.io/v1alpha1` `Test` fields `vouch policy test` runs (its own struct lives
/// in the binary crate; this mirrors its shape and strictness).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Test {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<serde_json::Value>,
    name: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    results: Vec<Expected>,
    variables: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expected {
    policy: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    resources: Vec<String>,
    resource: Option<String>,
    #[serde(default)]
    kind: String,
    result: String,
    namespace: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = serde_norway::from_str::<serde_json::Value>(text) else {
        return;
    };
    match from_value::<Test>(&value, "") {
        Ok(test) => {
            let json = serde_json::to_vec(&value).expect("serialises");
            let again: serde_json::Value = serde_json::from_slice(&json).expect("parses");
            assert_eq!(from_value::<Test>(&again, "").expect("re-encoded accepted"), test);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
