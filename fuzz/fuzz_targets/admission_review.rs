//! Property: an AdmissionReview body (`admission.k8s.io/v1`, untrusted: anything that reaches
//! the webhook port) either parses to a request with a non-empty uid and an object that is
//! null or a JSON object, or is malformed with an unreadable or non-empty uid; a parsed
//! request re-built as a canonical review parses back to the same request; a denial for it is
//! a well-formed response echoing the uid; its images respect `Limits::max_containers`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use vouch_admission::review::{self, Parsed};

fn canonical(r: &vouch_admission::Request) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": r.uid,
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "operation": r.operation,
            "object": r.object,
            "dryRun": r.dry_run,
        },
    })
}

/// Equality up to the last bits of floats: serde_json (without its `float_roundtrip`
/// feature) parses some decimal floats 1 ulp off, so a float re-read from its printed form
/// may differ in the last place. Everything else must be identical.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-15
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    match review::parse(data) {
        Parsed::Malformed { uid, .. } => {
            assert!(uid.is_none_or(|u| !u.is_empty()));
        }
        Parsed::Request(r) => {
            assert!(!r.uid.is_empty());
            assert!(r.object.is_null() || r.object.is_object());
            let text = serde_json::to_vec(&canonical(&r)).expect("serialises");
            let Parsed::Request(again) = review::parse(&text) else {
                panic!("canonical form of an accepted review is rejected");
            };
            assert!(
                same(&canonical(&again), &canonical(&r)),
                "{} != {}",
                canonical(&again),
                canonical(&r)
            );
            let denial = review::Verdict {
                warnings: vec![r.operation.clone()],
                ..review::Verdict::deny(r.uid.clone())
            }
            .to_review(&r.uid);
            assert_eq!(denial["response"]["uid"], r.uid.as_str());
            assert_eq!(denial["response"]["allowed"], false);
            for w in denial["response"]["warnings"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let n = w.as_str().map_or(0, |s| s.chars().count());
                assert!(n <= review::MAX_WARNING_CHARS);
            }
            let limits = vouch_policy::Limits {
                max_containers: 4,
                ..vouch_policy::Limits::default()
            };
            if let Ok(images) = vouch_policy::Resource::from_value(r.object.clone()).images(&limits)
            {
                assert!(images.len() <= limits.max_containers, "{}", images.len());
            }
        }
    }
});
