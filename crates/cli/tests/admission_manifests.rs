//! `vouch admission manifests` and the Helm chart deploy/helm/vouch: both validate against the
//! Kubernetes 1.37 API schemas with `kubernetes-validate --strict` (PyPI; it ships the schemas,
//! so this runs offline; no API server here, so the schemas are the oracle, and a broken copy
//! must fail or the oracle proves nothing), `deploy/vouch-admission.yaml` is exactly the
//! command's output, and `helm template` (the real helm CLI, built by scripts/peers) renders
//! the same objects as the command.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{fails_with, ok, text, vouch};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const EXAMPLE_POLICY: &str = "deploy/policies/require-signed-image-and-sbom.yaml";

fn validate(files: &[&Path]) -> (bool, String) {
    let out = Command::new(vouch_testkit::venv_tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.37.0"])
        .args(files)
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

fn documents(yaml: &str) -> Vec<Value> {
    vouch_policy::parse_documents(yaml, "manifests", &vouch_policy::Limits::default()).unwrap()
}

fn by_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {docs:?}"))
}

/// A CA certificate (what caBundle holds).
fn ca(dir: &Path) -> PathBuf {
    let openssl = vouch_testkit::require_tool("openssl");
    let (crt, key) = (dir.join("ca.crt"), dir.join("ca.key"));
    let out = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=webhook CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    crt
}

#[test]
fn manifests_validate_and_carry_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let policy = root().join(EXAMPLE_POLICY);
    // A second policy file: a ClusterImagePolicy with a key.
    let cip = dir.path().join("cip.yaml");
    std::fs::write(
        &cip,
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: cip}\nspec:\n  images: [{glob: 'registry.example/**'}]\n  authorities:\n  - key:\n      data: |\n        -----BEGIN PUBLIC KEY-----\n        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZxAfzrQG1EbWyCI8LiSB7YgSFXoI\n        FNGTyQGKHFc6/H8TQumT9VLS78pUwtv3w7EfKoyFZoP32KrO7nzUy2q6Cw==\n        -----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let yaml = ok(&[
        "admission",
        "manifests",
        "--namespace",
        "sec",
        "--tls-secret",
        "webhook-cert",
        "--ca-bundle",
        ca.to_str().unwrap(),
        "--image",
        "registry.example/vouch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "--policy",
        policy.to_str().unwrap(),
        cip.to_str().unwrap(),
    ]);
    let file = dir.path().join("manifests.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let (valid, out) = validate(&[&file]);
    assert!(valid, "{out}");
    let docs = documents(&yaml);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Deployment",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration"
        ]
    );
    for k in &kinds {
        assert!(
            out.contains(&format!("passed for resource {}/", k.to_lowercase())),
            "{k}: {out}"
        );
    }
    for d in &docs[1..5] {
        assert_eq!(d["metadata"]["namespace"], "sec", "{d}");
    }
    assert_eq!(docs[0]["metadata"]["name"], "sec");

    // The ConfigMap holds the policy files byte for byte; the container reads each.
    let cm = by_kind(&docs, "ConfigMap");
    assert_eq!(
        cm["data"]["require-signed-image-and-sbom.yaml"],
        std::fs::read_to_string(&policy).unwrap()
    );
    assert_eq!(
        cm["data"]["cip.yaml"],
        std::fs::read_to_string(&cip).unwrap()
    );
    let pod = &by_kind(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "vouch-admission");
    assert_eq!(
        by_kind(&docs, "ServiceAccount")["metadata"]["name"],
        "vouch-admission"
    );
    let c = &pod["containers"][0];
    assert_eq!(
        c["image"],
        "registry.example/vouch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"--policy=/etc/vouch/policies/require-signed-image-and-sbom.yaml"));
    assert!(args.contains(&"--policy=/etc/vouch/policies/cip.yaml"));
    assert_eq!(pod["volumes"][1]["secret"]["secretName"], "webhook-cert");
    let deadline_ms: u64 = args
        .iter()
        .find_map(|a| a.strip_prefix("--timeout="))
        .unwrap()
        .parse()
        .unwrap();

    use base64::Engine as _;
    let ca_b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&ca).unwrap());
    for (kind, path) in [
        ("ValidatingWebhookConfiguration", "/validate"),
        ("MutatingWebhookConfiguration", "/mutate"),
    ] {
        let w = &by_kind(&docs, kind)["webhooks"][0];
        assert_eq!(w["clientConfig"]["caBundle"], ca_b64.as_str());
        assert_eq!(
            w["clientConfig"]["service"],
            serde_json::json!({"name": "vouch-admission", "namespace": "sec", "path": path, "port": 443})
        );
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["sideEffects"], "None");
        assert_eq!(w["admissionReviewVersions"], serde_json::json!(["v1"]));
        // The webhook's own deadline answers before the API server gives up.
        let timeout = w["timeoutSeconds"].as_u64().unwrap();
        assert_eq!(timeout, 10);
        assert!(deadline_ms < timeout * 1000, "{deadline_ms} vs {timeout} s");
        assert_eq!(
            w["namespaceSelector"],
            serde_json::json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                "operator": "NotIn", "values": ["sec", "kube-system"]}]})
        );
    }
    assert_eq!(
        by_kind(&docs, "MutatingWebhookConfiguration")["webhooks"][0]["reinvocationPolicy"],
        "IfNeeded"
    );

    // -o json: the same objects in a v1 List.
    let json: Value = serde_json::from_str(&ok(&[
        "admission",
        "manifests",
        "--namespace",
        "sec",
        "--tls-secret",
        "webhook-cert",
        "--ca-bundle",
        ca.to_str().unwrap(),
        "--image",
        "registry.example/vouch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "--policy",
        policy.to_str().unwrap(),
        cip.to_str().unwrap(),
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["kind"], "List");
    assert_eq!(json["items"].as_array().unwrap(), &docs);

    // The oracle rejects a wrong type and an unknown field in these objects.
    for (i, broken) in [
        yaml.replace("timeoutSeconds: 10", "timeoutSeconds: ten"),
        yaml.replace("sideEffects: None", "sideEffects: None\n  sideEffect: None"),
    ]
    .iter()
    .enumerate()
    {
        assert_ne!(*broken, yaml);
        let path = dir.path().join(format!("broken{i}.yaml"));
        std::fs::write(&path, broken).unwrap();
        let (valid, out) = validate(&[&path]);
        assert!(!valid, "{out}");
        assert!(out.contains("did not validate"), "{out}");
    }
}

#[test]
fn manifests_refuse_what_would_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let policy = root().join(EXAMPLE_POLICY);
    let p = policy.to_str().unwrap();
    // No policy: the webhook would refuse to start.
    let err = fails_with(2, &["admission", "manifests"]);
    assert!(err.contains("--policy"), "{err}");
    // A policy the webhook would reject at start, named with its field.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: bad}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    verifyImages:\n    - imageReferences: ['*']\n      attestors: [{entries: [{keys: {publicKeys: k, bogusField: 1}}]}]\n",
    )
    .unwrap();
    let err = fails_with(
        1,
        &["admission", "manifests", "--policy", bad.to_str().unwrap()],
    );
    assert!(err.contains("bogusField"), "{err}");
    // A caBundle that is not PEM certificates.
    let not_pem = dir.path().join("ca.crt");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let err = fails_with(
        1,
        &[
            "admission",
            "manifests",
            "--policy",
            p,
            "--ca-bundle",
            not_pem.to_str().unwrap(),
        ],
    );
    assert!(err.contains("--ca-bundle"), "{err}");
    // Two files with one name would share a ConfigMap key.
    let other = dir.path().join("require-signed-image-and-sbom.yaml");
    std::fs::copy(&policy, &other).unwrap();
    let err = fails_with(
        1,
        &[
            "admission",
            "manifests",
            "--policy",
            p,
            other.to_str().unwrap(),
        ],
    );
    assert!(err.contains("ConfigMap keys must differ"), "{err}");
    // timeoutSeconds outside what the API server accepts (1..30, and 2 s for our deadline).
    let err = fails_with(
        2,
        &[
            "admission",
            "manifests",
            "--policy",
            p,
            "--timeout-seconds",
            "31",
        ],
    );
    assert!(err.contains("--timeout-seconds"), "{err}");
    // Without a CA the output says what is missing.
    let out = vouch(&["admission", "manifests", "--policy", p]);
    assert!(out.status.success());
    assert!(text(&out).contains("no --ca-bundle"), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("caBundle"));
}

#[test]
fn deploy_directory_is_the_command_output() {
    let shipped = std::fs::read_to_string(root().join("deploy/vouch-admission.yaml")).unwrap();
    let body: String = shipped
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = common::vouch_cmd(&["admission", "manifests", "--policy", EXAMPLE_POLICY, "-q"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        body,
        String::from_utf8(out.stdout).unwrap(),
        "deploy/vouch-admission.yaml is stale: regenerate it with the command in its header"
    );
    let (valid, report) = validate(&[&root().join("deploy/vouch-admission.yaml")]);
    assert!(valid, "{report}");
    // The shipped example policy loads and fails closed.
    let docs = documents(&body);
    let text = by_kind(&docs, "ConfigMap")["data"]["require-signed-image-and-sbom.yaml"]
        .as_str()
        .unwrap();
    let mut set = vouch_policy::Documents::default();
    set.add(
        vouch_policy::parse_documents(text, "example", &vouch_policy::Limits::default()).unwrap(),
        "example",
    )
    .unwrap();
    let set = set.policy_set();
    assert_eq!(set.kyverno.len(), 1);
    assert!(set.validate().is_empty(), "{:?}", set.validate());
    assert!(set.fails_closed());
}

/// Objects keyed by kind, without top-level labels (Helm adds its own) and comments.
fn essential(docs: Vec<Value>) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = docs
        .into_iter()
        .filter(|d| d["kind"] != "Namespace")
        .map(|mut d| {
            d["metadata"].as_object_mut().unwrap().remove("labels");
            (d["kind"].as_str().unwrap().to_owned(), d)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn helm_chart_renders_the_same_objects() {
    let helm = vouch_testkit::peer_tool("helm");
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let policy = root().join(EXAMPLE_POLICY);
    let image = "registry.example/vouch:1.2.3";
    let render = |extra: &[&str]| {
        Command::new(&helm)
            .args(["template", "vouch"])
            .arg(root().join("deploy/helm/vouch"))
            .args(["--namespace", "sec"])
            .args(extra)
            .env("HELM_CACHE_HOME", dir.path().join("helm-cache"))
            .env("HELM_CONFIG_HOME", dir.path().join("helm-config"))
            .env("HELM_DATA_HOME", dir.path().join("helm-data"))
            .output()
            .unwrap()
    };
    let policy_value = format!(
        "policies.require-signed-image-and-sbom\\.yaml={}",
        policy.display()
    );
    let ca_value = format!("caBundle={}", ca.display());
    let out = render(&[
        "--set-file",
        &policy_value,
        "--set-file",
        &ca_value,
        "--set",
        &format!("image={image}"),
        "--set",
        "tlsSecret=webhook-cert",
        "--set",
        "replicas=3",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let rendered = String::from_utf8(out.stdout).unwrap();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, &rendered).unwrap();
    let (valid, report) = validate(&[&file]);
    assert!(valid, "{report}");
    assert_eq!(
        report.matches(" passed for resource ").count(),
        6,
        "{report}"
    );

    let cli = ok(&[
        "admission",
        "manifests",
        "--namespace",
        "sec",
        "--tls-secret",
        "webhook-cert",
        "--ca-bundle",
        ca.to_str().unwrap(),
        "--image",
        image,
        "--replicas",
        "3",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let (from_helm, from_cli) = (essential(documents(&rendered)), essential(documents(&cli)));
    assert_eq!(
        from_helm.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        from_cli.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    for ((kind, h), (_, c)) in from_helm.iter().zip(&from_cli) {
        assert_eq!(
            h, c,
            "{kind} differs between helm template and vouch admission manifests"
        );
    }

    // The chart refuses to render without a policy, as the command does.
    let out = render(&[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("at least one policy"), "{}", text(&out));
}
