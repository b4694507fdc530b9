//! The Kubernetes manifests in `deploy/` validate against the Kubernetes API schemas with
//! `kubernetes-validate` (PyPI; it ships the schemas, so this runs offline), strictly (unknown
//! fields rejected). No API server runs here, so the schemas are the oracle; a broken copy of
//! a manifest must fail, or the oracle proves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vouch_policy::{Documents, Limits, parse_documents};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn validate(files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(vouch_testkit::venv_tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.37.0"])
        .args(files)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn manifests_validate_against_the_kubernetes_schemas() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let (ok, out) = validate(&files);
    assert!(ok, "{out}");
    let mut kinds: Vec<String> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for doc in parse_documents(&text, "deploy", &Limits::default()).unwrap() {
            kinds.push(doc["kind"].as_str().unwrap().to_owned());
        }
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(out.contains(&format!("{name} passed")), "{name}: {out}");
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "MutatingWebhookConfiguration",
            "Namespace",
            "Secret",
            "Service",
            "ValidatingWebhookConfiguration"
        ]
    );

    // The oracle rejects a wrong type and an unknown field.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(deploy_dir().join("validating-webhook.yaml")).unwrap();
    for (i, broken) in [
        text.replace("timeoutSeconds: 10", "timeoutSeconds: ten"),
        text.replace(
            "sideEffects: None",
            "sideEffects: None\n    sideEffect: None",
        ),
    ]
    .iter()
    .enumerate()
    {
        assert_ne!(*broken, text);
        let path = dir.path().join(format!("broken{i}.yaml"));
        std::fs::write(&path, broken).unwrap();
        let (ok, out) = validate(&[path]);
        assert!(!ok, "{out}");
        assert!(out.contains("did not validate"), "{out}");
    }
}

#[test]
fn webhooks_point_at_the_service_and_fail_closed_within_bounds() {
    let mut docs = Vec::new();
    for name in [
        "validating-webhook.yaml",
        "mutating-webhook.yaml",
        "deployment.yaml",
    ] {
        let text = std::fs::read_to_string(deploy_dir().join(name)).unwrap();
        docs.extend(parse_documents(&text, name, &Limits::default()).unwrap());
    }
    for hook in &docs[..2] {
        let w = &hook["webhooks"][0];
        assert_eq!(w["clientConfig"]["service"]["name"], "vouch-admission");
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["sideEffects"], "None");
        let timeout = w["timeoutSeconds"].as_u64().unwrap();
        assert!((1..=30).contains(&timeout));
        // The webhook's own deadline is below the API server's timeout.
        let args = docs[2]["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap();
        let ms: u64 = args
            .iter()
            .find_map(|a| a.as_str()?.strip_prefix("--timeout="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(ms < timeout * 1000);
    }
    assert_eq!(
        docs[0]["webhooks"][0]["clientConfig"]["service"]["path"],
        "/validate"
    );
    assert_eq!(
        docs[1]["webhooks"][0]["clientConfig"]["service"]["path"],
        "/mutate"
    );
}

#[test]
fn the_shipped_policy_loads_and_validates() {
    let text = std::fs::read_to_string(deploy_dir().join("policies-configmap.yaml")).unwrap();
    let cm = &parse_documents(&text, "cm", &Limits::default()).unwrap()[0];
    let policies = cm["data"]["policies.yaml"].as_str().unwrap();
    let mut docs = Documents::default();
    docs.add(
        parse_documents(policies, "policies.yaml", &Limits::default()).unwrap(),
        "policies.yaml",
    )
    .unwrap();
    let set = docs.policy_set();
    assert_eq!(set.kyverno.len(), 1);
    assert!(set.validate().is_empty(), "{:?}", set.validate());
    assert!(set.fails_closed());
}
