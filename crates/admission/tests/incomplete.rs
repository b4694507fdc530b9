//! Issue 19 item 5: reviews that carry nothing to verify. A container whose `image` is empty,
//! null or missing, or a CREATE/UPDATE without `object`, is denied with the reason under any
//! policy that matches the resource (Kyverno ignores empty images; vouch does not admit what
//! it could not look at), and admitted when no policy matches. No registry is contacted: the
//! denial comes before any verification.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use serde_json::{Value, json};
use vouch_admission::review::{Parsed, parse};
use vouch_admission::{Config, Endpoint, Webhook};
use vouch_policy::{Documents, Limits, parse_documents};

const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZxAfzrQG1EbWyCI8LiSB7YgSFXoI\nFNGTyQGKHFc6/H8TQumT9VLS78pUwtv3w7EfKoyFZoP32KrO7nzUy2q6Cw==\n-----END PUBLIC KEY-----";

fn kyverno(action: &str, kinds: &str) -> String {
    let key: String = KEY
        .lines()
        .map(|l| format!("              {l}\n"))
        .collect();
    format!(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: signed}}\nspec:\n  rules:\n  - name: check\n    match: {{any: [{{resources: {{kinds: [{kinds}]}}}}]}}\n    verifyImages:\n    - failureAction: {action}\n      mutateDigest: false\n      verifyDigest: false\n      imageReferences: ['*']\n      attestors:\n      - entries:\n        - keys:\n            publicKeys: |-\n{key}            rekor: {{ignoreTlog: true}}\n"
    )
}

fn cip() -> String {
    "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: all}\nspec:\n  images: [{glob: '**'}]\n  authorities: [{static: {action: pass}}]\n".to_owned()
}

fn webhook(yaml: &str) -> Arc<Webhook> {
    let mut docs = Documents::default();
    docs.add(parse_documents(yaml, "p", &Limits::default()).unwrap(), "p")
        .unwrap();
    let registry = vouch_oci::RegistryOptions {
        auth_files: Some(Vec::new()),
        ..Default::default()
    };
    Webhook::new(Config::new(
        docs.policy_set(),
        vouch_sign::TrustedRoot::default(),
        registry,
    ))
    .unwrap()
}

fn review(operation: &str, kind: &str, object: Value) -> vouch_admission::Request {
    let body = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u1",
            "kind": {"group": "", "version": "v1", "kind": kind},
            "namespace": "shop",
            "name": "web",
            "operation": operation,
            "object": object,
        }
    });
    match parse(body.to_string().as_bytes()) {
        Parsed::Request(r) => *r,
        Parsed::Malformed { reason, .. } => panic!("{reason}"),
    }
}

fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": containers}})
}

#[test]
fn empty_or_missing_images_are_denied_under_a_matching_policy() {
    for yaml in [kyverno("Enforce", "Pod"), kyverno("Audit", "Pod"), cip()] {
        let hook = webhook(&yaml);
        for (container, what) in [
            (json!({"name": "app", "image": ""}), "empty"),
            (json!({"name": "app"}), "missing"),
            (json!({"name": "app", "image": null}), "null"),
        ] {
            for endpoint in [Endpoint::Mutate, Endpoint::Validate] {
                let v = hook.evaluate(
                    endpoint,
                    &review("CREATE", "Pod", pod(json!([container.clone()]))),
                );
                assert!(!v.allowed, "{what} {endpoint:?} {yaml}");
                let m = v.message.unwrap();
                assert!(
                    m.contains("container \"app\" (/spec/containers/0/image) has no image"),
                    "{m}"
                );
            }
        }
    }
    // No policy matches a ConfigMap-only rule's Pod: admitted.
    let hook = webhook(&kyverno("Enforce", "ConfigMap"));
    let v = hook.evaluate(
        Endpoint::Mutate,
        &review("CREATE", "Pod", pod(json!([{"name": "app", "image": ""}]))),
    );
    assert!(v.allowed, "{:?}", v.message);
}

#[test]
fn missing_object_on_create_or_update_is_denied_under_a_matching_policy() {
    for yaml in [kyverno("Enforce", "Pod"), cip()] {
        let hook = webhook(&yaml);
        for op in ["CREATE", "UPDATE"] {
            for kind in ["Pod", "Deployment"] {
                let v = hook.evaluate(Endpoint::Mutate, &review(op, kind, Value::Null));
                assert!(!v.allowed, "{op} {kind}");
                let m = v.message.unwrap();
                assert!(
                    m.contains(&format!("request.object is missing on {op}")),
                    "{m}"
                );
                assert!(m.contains("signed") || m.contains("all"), "{m}");
            }
        }
        // DELETE has no object by design.
        assert!(
            hook.evaluate(Endpoint::Mutate, &review("DELETE", "Pod", Value::Null))
                .allowed
        );
        // A kind no policy matches.
        assert!(
            hook.evaluate(
                Endpoint::Mutate,
                &review("CREATE", "ConfigMap", Value::Null)
            )
            .allowed
        );
    }
}
