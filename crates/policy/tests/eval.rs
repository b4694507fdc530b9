//! Evaluation semantics with a scripted [`ImageVerifier`]: which images are checked, counts,
//! attestation conditions, digest pinning, autogen names, Audit versus Enforce, errors versus
//! failures. The real verifier is exercised end to end in `crates/cli/tests/policy.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use vouch_policy::eval::{CheckError, ImageVerifier, Options, Status, apply};
use vouch_policy::kyverno::Attestor;
use vouch_policy::{Documents, ImageInfo, Limits, Resource, parse_documents};

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// Keys are named by their PEM text; `good` signs everything under ghcr.io/acme except
/// `unsigned`; the SBOM of `nosbom` is missing and `oldsbom` has SPDX-2.1.
#[derive(Default)]
struct Fake {
    calls: RefCell<Vec<String>>,
    registry_down: bool,
}

/// Evidence a scripted verifier returns: a key signer with the checks a key signature passes.
fn evidence(key: &str) -> vouch_policy::Evidence {
    vouch_policy::Evidence {
        signer: vouch_policy::Signer::Key {
            key_id: key.to_owned(),
        },
        log_index: None,
        checks: vec!["signature"],
    }
}

/// A verified statement from its JSON form.
fn statement(v: Value, key: &str) -> vouch_policy::VerifiedStatement {
    vouch_policy::VerifiedStatement {
        statement: serde_json::from_value(v).unwrap(),
        evidence: evidence(key),
    }
}

fn key_of(a: &Attestor) -> String {
    a.keys()
        .and_then(|k| k.public_keys.clone())
        .unwrap_or_default()
}

impl ImageVerifier for Fake {
    fn resolve(&self, image: &ImageInfo) -> Result<String, CheckError> {
        self.calls
            .borrow_mut()
            .push(format!("resolve {}", image.kyverno_string()));
        if self.registry_down {
            return Err(CheckError::Error("connection refused".into()));
        }
        Ok(DIGEST.into())
    }
    fn verify_signature(
        &self,
        image: &ImageInfo,
        digest: &str,
        _: Option<vouch_policy::Scheme>,
        a: &Attestor,
    ) -> Result<vouch_policy::Evidence, CheckError> {
        self.calls
            .borrow_mut()
            .push(format!("sig {} {digest} {}", image.path, key_of(a)));
        if key_of(a) == "good" && !image.path.ends_with("unsigned") {
            Ok(evidence("good"))
        } else {
            Err(CheckError::Failed("no matching signatures".into()))
        }
    }
    fn verify_attestations(
        &self,
        image: &ImageInfo,
        _: &str,
        _: Option<vouch_policy::Scheme>,
        pt: &str,
        a: &Attestor,
    ) -> Result<Vec<vouch_policy::VerifiedStatement>, CheckError> {
        if key_of(a) != "good"
            || image.path.ends_with("nosbom")
            || pt != "https://spdx.dev/Document"
        {
            return Ok(vec![]);
        }
        let version = if image.path.ends_with("oldsbom") {
            "SPDX-2.1"
        } else {
            "SPDX-2.3"
        };
        Ok(vec![statement(
            json!({"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": pt, "predicate": {"spdxVersion": version, "packages": [{"name": "x"}]}}),
            "good",
        )])
    }
}

fn policy(extra: &str) -> String {
    format!(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: signed}}
spec:
  rules:
  - name: check
    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}
    verifyImages:
    - failureAction: Enforce
      imageReferences: ["ghcr.io/acme/*"]
      skipImageReferences: ["ghcr.io/acme/sandbox/*"]
{extra}"#
    )
}

const SIG_AND_SBOM: &str = r#"      attestors: [{entries: [{keys: {publicKeys: good}}]}]
      attestations:
      - type: https://spdx.dev/Document
        attestors: [{entries: [{keys: {publicKeys: good}}]}]
        conditions:
        - all:
          - {key: "{{ spdxVersion }}", operator: AnyIn, value: [SPDX-2.2, SPDX-2.3], message: "SBOM must be SPDX 2.2/2.3"}
"#;

fn pod(images: &[&str]) -> Resource {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, im)| json!({"name": format!("c{i}"), "image": im}))
        .collect();
    Resource::from_value(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": containers}}),
    )
}

fn run(
    policy_yaml: &str,
    resource: &Resource,
    fake: &Fake,
    options: Options,
) -> vouch_policy::ResourceReport {
    let mut docs = Documents::default();
    docs.add(
        parse_documents(policy_yaml, "p", &Limits::default()).unwrap(),
        "p",
    )
    .unwrap();
    apply(&docs.policies, resource, fake, options, &Limits::default()).unwrap()
}

fn one(policy_yaml: &str, resource: &Resource) -> (Status, String) {
    let r = run(policy_yaml, resource, &Fake::default(), Options::default());
    assert_eq!(r.results.len(), 1, "{:?}", r.results);
    (r.results[0].status, r.results[0].message.clone())
}

#[test]
fn seed_scenario_signed_unsigned_nosbom_wrong_key() {
    let p = policy(SIG_AND_SBOM);
    let (s, m) = one(&p, &pod(&["ghcr.io/acme/api:v1"]));
    assert_eq!(
        (s, m.as_str()),
        (
            Status::Pass,
            "verified image signatures for ghcr.io/acme/api:v1"
        )
    );
    let (s, m) = one(&p, &pod(&["ghcr.io/acme/unsigned:v1"]));
    assert_eq!(s, Status::Fail);
    assert_eq!(
        m,
        "failed to verify image ghcr.io/acme/unsigned:v1: .attestors[0].entries[0].keys: no matching signatures"
    );
    let (s, m) = one(&p, &pod(&["ghcr.io/acme/nosbom:v1"]));
    assert_eq!(s, Status::Fail);
    assert!(
        m.contains("attestations not found for predicate type https://spdx.dev/Document"),
        "{m}"
    );
    let (s, m) = one(&p, &pod(&["ghcr.io/acme/oldsbom:v1"]));
    assert_eq!(s, Status::Fail);
    assert!(m.contains("SBOM must be SPDX 2.2/2.3"), "{m}");
    let wrong = p.replace("publicKeys: good", "publicKeys: other");
    let (s, _) = one(&wrong, &pod(&["ghcr.io/acme/api:v1"]));
    assert_eq!(s, Status::Fail);
}

#[test]
fn digest_is_pinned_and_patch_applies() {
    let fake = Fake::default();
    let r = run(
        &policy(SIG_AND_SBOM),
        &pod(&["nginx", "ghcr.io/acme/api:v1", "ghcr.io/acme/api:v1"]),
        &fake,
        Options::default(),
    );
    assert_eq!(r.results[0].status, Status::Pass);
    let paths: Vec<_> = r
        .patches
        .iter()
        .map(|p| (p.path.as_str(), p.value.as_str()))
        .collect();
    let pinned = format!("ghcr.io/acme/api:v1@{DIGEST}");
    assert_eq!(
        paths,
        [
            ("/spec/containers/1/image", pinned.as_str()),
            ("/spec/containers/2/image", pinned.as_str())
        ]
    );
    assert_eq!(r.patched["spec"]["containers"][0]["image"], "nginx");
    assert_eq!(r.patched["spec"]["containers"][2]["image"], pinned.as_str());
    // The signature is checked against the digest the tag was resolved to.
    assert!(
        fake.calls
            .borrow()
            .iter()
            .any(|c| c == &format!("sig acme/api {DIGEST} good"))
    );
    // A pinned reference is verified as is, never patched (idempotent re-admission).
    let again = run(
        &policy(SIG_AND_SBOM),
        &Resource::from_value(r.patched.clone()),
        &Fake::default(),
        Options::default(),
    );
    assert_eq!(again.results[0].status, Status::Pass);
    assert!(again.patches.is_empty());
}

#[test]
fn skips_counts_and_missing_digest() {
    let p = policy(SIG_AND_SBOM);
    assert_eq!(one(&p, &pod(&["nginx:latest"])).0, Status::Skip);
    let (s, m) = one(&p, &pod(&["ghcr.io/acme/sandbox/x:1"]));
    assert_eq!(
        (s, m.as_str()),
        (
            Status::Skip,
            "skipping image reference image ghcr.io/acme/sandbox/x:1"
        )
    );
    let any = policy(
        "      attestors: [{count: 1, entries: [{keys: {publicKeys: bad}}, {keys: {publicKeys: good}}]}]\n",
    );
    assert_eq!(one(&any, &pod(&["ghcr.io/acme/api:v1"])).0, Status::Pass);
    let all = policy(
        "      attestors: [{entries: [{keys: {publicKeys: bad}}, {keys: {publicKeys: good}}]}]\n",
    );
    assert_eq!(one(&all, &pod(&["ghcr.io/acme/api:v1"])).0, Status::Fail);
    let no_mutate = policy(
        "      mutateDigest: false\n      attestors: [{entries: [{keys: {publicKeys: good}}]}]\n",
    );
    let (s, m) = one(&no_mutate, &pod(&["ghcr.io/acme/api:v1"]));
    assert_eq!(
        (s, m.as_str()),
        (Status::Fail, "missing digest for ghcr.io/acme/api:v1")
    );
    let pinned = format!("ghcr.io/acme/api@{DIGEST}");
    assert_eq!(one(&no_mutate, &pod(&[&pinned])).0, Status::Pass);
}

#[test]
fn registry_errors_are_errors_and_audit_warns() {
    let fake = Fake {
        registry_down: true,
        ..Fake::default()
    };
    let r = run(
        &policy(SIG_AND_SBOM),
        &pod(&["ghcr.io/acme/api:v1"]),
        &fake,
        Options::default(),
    );
    assert_eq!(r.results[0].status, Status::Error);
    assert!(r.blocked());
    let audit = policy(SIG_AND_SBOM).replace(
        "failureAction: Enforce",
        "failureAction: Audit\n      mutateDigest: false",
    );
    let r = run(
        &audit,
        &pod(&["ghcr.io/acme/unsigned@sha256:00"]),
        &Fake::default(),
        Options {
            audit_warn: true,
            ..Options::default()
        },
    );
    assert_eq!(r.results[0].status, Status::Warn);
    assert!(!r.blocked());
}

#[test]
fn autogen_rules_for_controllers_and_namespaced_policies() {
    let p = policy(SIG_AND_SBOM);
    let template = json!({"spec": {"containers": [{"name": "a", "image": "ghcr.io/acme/api:v1"}]}});
    let deploy = Resource::from_value(
        json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": template}}),
    );
    let r = run(&p, &deploy, &Fake::default(), Options::default());
    assert_eq!(r.results[0].rule, "autogen-check");
    assert_eq!(r.patches[0].path, "/spec/template/spec/containers/0/image");
    let cron = Resource::from_value(
        json!({"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": template}}}}),
    );
    let r = run(&p, &cron, &Fake::default(), Options::default());
    assert_eq!(r.results[0].rule, "autogen-cronjob-check");
    assert_eq!(
        r.patches[0].path,
        "/spec/jobTemplate/spec/template/spec/containers/0/image"
    );
    let cm = Resource::from_value(json!({"kind": "ConfigMap", "metadata": {"name": "c"}}));
    assert!(
        run(&p, &cm, &Fake::default(), Options::default())
            .results
            .is_empty()
    );
    // A namespaced Policy applies only in its namespace; exclude removes namespaces.
    let ns = p.replace("kind: ClusterPolicy", "kind: Policy").replace(
        "metadata: {name: signed}",
        "metadata: {name: signed, namespace: other}",
    );
    assert!(
        run(
            &ns,
            &pod(&["ghcr.io/acme/api:v1"]),
            &Fake::default(),
            Options::default()
        )
        .results
        .is_empty()
    );
    let ex = p.replace(
        "    verifyImages:",
        "    exclude: {any: [{resources: {namespaces: [ns]}}]}\n    verifyImages:",
    );
    assert!(
        run(
            &ex,
            &pod(&["ghcr.io/acme/api:v1"]),
            &Fake::default(),
            Options::default()
        )
        .results
        .is_empty()
    );
    let blocked = vouch_policy::eval::blocked_rules(&run(
        &p,
        &pod(&["ghcr.io/acme/unsigned:1"]),
        &Fake::default(),
        Options::default(),
    ));
    assert_eq!(blocked.keys().collect::<Vec<_>>(), ["signed"]);
    let _: BTreeMap<_, _> = blocked;
}

/// Kyverno's validating webhook (notes §2.1): it sees the already-mutated object; only rules
/// with `verifyDigest` or `required` take part; `verifyDigest` fails a tag without a digest
/// ("missing digest for …") without asking the registry; `required` fails an image that does
/// not verify (vouch verifies; Kyverno reads its own annotation).
#[test]
fn validate_phase_verify_digest_and_required() {
    let validate = Options {
        phase: vouch_policy::Phase::Validate,
        ..Options::default()
    };
    let p = policy(SIG_AND_SBOM);
    let pinned = format!("ghcr.io/acme/api:v1@{DIGEST}");
    let phase = |policy_yaml: &str, images: &[&str]| {
        let fake = Fake::default();
        let r = run(policy_yaml, &pod(images), &fake, validate);
        let calls = fake.calls.borrow().clone();
        (r, calls)
    };

    // Defaults (verifyDigest and required true): a tag is refused as missing its digest,
    // before any registry request; the pinned, signed image passes and is not patched.
    let (r, calls) = phase(&p, &["ghcr.io/acme/api:v1"]);
    assert_eq!(r.results[0].status, Status::Fail);
    assert_eq!(
        r.results[0].message,
        "missing digest for ghcr.io/acme/api:v1"
    );
    assert!(calls.is_empty(), "{calls:?}");
    let (r, calls) = phase(&p, &[&pinned]);
    assert_eq!(
        (r.results[0].status, r.results[0].message.as_str()),
        (
            Status::Pass,
            &*format!("verified image signatures for {pinned}")
        )
    );
    assert!(r.patches.is_empty());
    assert!(calls.iter().all(|c| !c.starts_with("resolve")), "{calls:?}");
    // required: a pinned but unsigned image is refused (a forged annotation cannot help).
    let unsigned = format!("ghcr.io/acme/unsigned:v1@{DIGEST}");
    let (r, _) = phase(&p, &[&unsigned]);
    assert_eq!(r.results[0].status, Status::Fail);
    assert!(
        r.results[0]
            .message
            .starts_with(&format!("failed to verify image {unsigned}: .attestors[0]")),
        "{}",
        r.results[0].message
    );
    // Skipped and unmatched images are not held to either check.
    let (r, _) = phase(&p, &["ghcr.io/acme/sandbox/x:1", "nginx:latest"]);
    assert_eq!(r.results[0].status, Status::Skip);

    // required: false leaves verification to the mutating webhook: only the digest counts.
    let loose = p.replace(
        "      skipImageReferences:",
        "      required: false\n      skipImageReferences:",
    );
    let (r, calls) = phase(&loose, &[&unsigned]);
    assert_eq!(
        (r.results[0].status, r.results[0].message.as_str()),
        (
            Status::Pass,
            &*format!("image {unsigned} is pinned to a digest")
        )
    );
    assert!(calls.is_empty(), "{calls:?}");
    let (r, _) = phase(&loose, &["ghcr.io/acme/unsigned:v1"]);
    assert_eq!(r.results[0].status, Status::Fail);
    // verifyDigest: false and required: true: a tag is resolved and verified.
    let tags_ok = p.replace(
        "      skipImageReferences:",
        "      verifyDigest: false\n      skipImageReferences:",
    );
    let (r, calls) = phase(&tags_ok, &["ghcr.io/acme/api:v1"]);
    assert_eq!(r.results[0].status, Status::Pass, "{:?}", r.results);
    assert!(calls.iter().any(|c| c.starts_with("resolve")), "{calls:?}");
    // Neither: the rule takes no part in validation (no result at all).
    let neither = p.replace(
        "      skipImageReferences:",
        "      verifyDigest: false\n      required: false\n      skipImageReferences:",
    );
    let (r, calls) = phase(&neither, &["ghcr.io/acme/unsigned:v1"]);
    assert!(r.results.is_empty(), "{:?}", r.results);
    assert!(calls.is_empty(), "{calls:?}");
    // The mutating phase is unchanged: the tag is verified and pinned.
    let r = run(
        &p,
        &pod(&["ghcr.io/acme/api:v1"]),
        &Fake::default(),
        Options::default(),
    );
    assert_eq!(r.results[0].status, Status::Pass);
    assert_eq!(r.patches.len(), 1);
}

/// Issue 16 item 2: a rule vouch does not evaluate never passes. Loaded normally it is
/// refused (see `validate.rs`); loaded with `--ignore-unsupported` it is reported as `skip`
/// with the path and reason, never as pass and never silently dropped.
#[test]
fn unsupported_rules_are_skipped_with_the_reason() {
    let yaml = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: mixed}
spec:
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "baseline"
      podSecurity: {level: baseline, version: latest}
  - name: signed
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - failureAction: Enforce
      imageReferences: ["ghcr.io/acme/*"]
      attestors: [{entries: [{keys: {publicKeys: good}}]}]
"#;
    let mut docs = Documents::default();
    docs.add(parse_documents(yaml, "p", &Limits::default()).unwrap(), "p")
        .unwrap();
    let set = docs.policy_set();
    let refused = set.validate();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].1[0].path, "spec.rules[0].validate.podSecurity");
    assert!(refused[0].1[0].message.starts_with("not supported:"));
    assert!(set.validate_with(true).is_empty());
    let r = run(
        yaml,
        &pod(&["ghcr.io/acme/api:v1"]),
        &Fake::default(),
        Options::default(),
    );
    let got: Vec<_> = r
        .results
        .iter()
        .map(|x| (x.rule.as_str(), x.status, x.message.as_str()))
        .collect();
    assert_eq!(got[0].0, "no-latest");
    assert_eq!(got[0].1, Status::Skip);
    assert!(
        got[0]
            .2
            .starts_with("spec.rules[0].validate.podSecurity: not supported:"),
        "{got:?}"
    );
    assert_eq!(
        got[1],
        (
            "signed",
            Status::Pass,
            "verified image signatures for ghcr.io/acme/api:v1"
        )
    );
}

/// Issue 19 item 5: a container with an empty or missing image under a matching rule is
/// refused, by pointer, even under Audit; a resource no rule matches is not affected.
#[test]
fn containers_without_an_image_are_refused_under_a_matching_rule() {
    let p = policy(SIG_AND_SBOM);
    for container in [
        json!({"name": "empty", "image": ""}),
        json!({"name": "none"}),
        json!({"name": "null", "image": null}),
    ] {
        let name = container["name"].as_str().unwrap().to_owned();
        let r = Resource::from_value(
            json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [{"name": "ok", "image": "ghcr.io/acme/api:v1"}, container]}}),
        );
        let report = run(&p, &r, &Fake::default(), Options::default());
        assert!(report.blocked(), "{:?}", report.results);
        assert_eq!(report.results[0].status, Status::Fail);
        assert!(
            report.results[0].message.contains(&format!(
                "container \"{name}\" (/spec/containers/1/image) has no image"
            )),
            "{}",
            report.results[0].message
        );
        assert!(report.patches.is_empty());
    }
    let audit = policy(SIG_AND_SBOM).replace(
        "failureAction: Enforce",
        "failureAction: Audit\n      mutateDigest: false",
    );
    let r = Resource::from_value(
        json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "x", "image": ""}]}}),
    );
    assert!(run(&audit, &r, &Fake::default(), Options::default()).blocked());
    let cm = Resource::from_value(json!({"kind": "ConfigMap", "metadata": {"name": "c"}}));
    assert!(
        run(&p, &cm, &Fake::default(), Options::default())
            .results
            .is_empty()
    );
}

/// Issue 16: `verifyImages[].validate.deny` is evaluated on the verified data: the request is
/// denied when the conditions hold, with the message (variables substituted); the attestation's
/// predicate is in the context under its name. A deny that always holds always denies.
#[test]
fn verify_images_validate_deny_is_evaluated() {
    let with = |deny: &str| {
        policy(&format!(
            r#"      attestations:
      - name: sbom
        type: https://spdx.dev/Document
        attestors: [{{entries: [{{keys: {{publicKeys: good}}}}]}}]
      validate:
        message: "SBOM {{{{ sbom.spdxVersion }}}} of {{{{ request.object.metadata.name }}}} refused"
        deny:
          conditions:
{deny}"#
        ))
    };
    let always = with("            all: [{key: 1, operator: Equals, value: 1}]\n");
    let (s, m) = one(&always, &pod(&["ghcr.io/acme/api:v1"]));
    assert_eq!(s, Status::Fail, "{m}");
    assert_eq!(
        m,
        "image validation failed for ghcr.io/acme/api:v1: SBOM SPDX-2.3 of p refused"
    );
    let old = with(
        "            any: [{key: \"{{ sbom.spdxVersion }}\", operator: AnyIn, value: [SPDX-2.1]}]\n",
    );
    assert_eq!(one(&old, &pod(&["ghcr.io/acme/api:v1"])).0, Status::Pass);
    let (s, m) = one(&old, &pod(&["ghcr.io/acme/oldsbom:v1"]));
    assert_eq!(s, Status::Fail, "{m}");
    // The legacy list form (all must hold).
    let list =
        with("          - {key: \"{{ sbom.spdxVersion }}\", operator: Equals, value: SPDX-2.3}\n");
    assert_eq!(one(&list, &pod(&["ghcr.io/acme/api:v1"])).0, Status::Fail);
    // Kyverno's functions are evaluated.
    let upper = with(
        "            all: [{key: \"{{ to_upper(sbom.spdxVersion) }}\", operator: Equals, value: SPDX-2.3}]\n",
    );
    assert_eq!(one(&upper, &pod(&["ghcr.io/acme/api:v1"])).0, Status::Fail);
    // A path to a missing key is an error, as in Kyverno's JMESPath fork, not a pass.
    let bad =
        with("            all: [{key: \"{{ sbom.nothere }}\", operator: Equals, value: X}]\n");
    assert_eq!(one(&bad, &pod(&["ghcr.io/acme/api:v1"])).0, Status::Error);
}

/// `match.resources.selector` (matchLabels with Kyverno's wildcards, matchExpressions) and
/// `operations` are evaluated: a rule applies only to resources they select, and `apply`
/// evaluates CREATE as `kyverno apply` does.
#[test]
fn selectors_and_operations_select_resources() {
    let with = |filter: &str| {
        policy(SIG_AND_SBOM).replace(
            "match: {any: [{resources: {kinds: [Pod]}}]}",
            &format!("match: {{any: [{{resources: {{kinds: [Pod], {filter}}}}}]}}"),
        )
    };
    let labelled = |labels: Value| {
        Resource::from_value(
            json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "labels": labels},
            "spec": {"containers": [{"name": "a", "image": "ghcr.io/acme/unsigned:v1"}]}}),
        )
    };
    let applies = |yaml: &str, r: &Resource| {
        !run(yaml, r, &Fake::default(), Options::default())
            .results
            .is_empty()
    };
    let sel = with("selector: {matchLabels: {tier: 'front*'}}");
    assert!(applies(&sel, &labelled(json!({"tier": "frontend"}))));
    assert!(!applies(&sel, &labelled(json!({"tier": "backend"}))));
    assert!(!applies(&sel, &labelled(json!(null))));
    let expr = with(
        "selector: {matchExpressions: [{key: team, operator: NotIn, values: [ops]}, {key: tier, operator: Exists}]}",
    );
    assert!(applies(
        &expr,
        &labelled(json!({"tier": "x", "team": "dev"}))
    ));
    assert!(!applies(
        &expr,
        &labelled(json!({"tier": "x", "team": "ops"}))
    ));
    assert!(!applies(&expr, &labelled(json!({"team": "dev"}))));
    // A selected resource is verified (and this one is unsigned).
    let r = run(
        &sel,
        &labelled(json!({"tier": "frontend"})),
        &Fake::default(),
        Options::default(),
    );
    assert_eq!(r.results[0].status, Status::Fail);

    let update_only = with("operations: [UPDATE]");
    let mut pod = labelled(json!({}));
    assert!(!applies(&update_only, &pod), "apply evaluates CREATE");
    pod.operation = "UPDATE".into();
    assert!(applies(&update_only, &pod));
}

/// Issue 16 item 2: `validate.pattern` and `anyPattern` are evaluated, with Kyverno's
/// messages (`validate_resource.go`), on Pods and, through autogen, on the pod templates of
/// Deployments and CronJobs (Kyverno's `disallow-latest-tag` policy from its documentation).
#[test]
fn validate_patterns_with_autogen() {
    let yaml = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: disallow-latest-tag}
spec:
  validationFailureAction: Enforce
  rules:
  - name: validate-image-tag
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "Using a mutable image tag e.g. 'latest' is not allowed."
      pattern:
        spec:
          containers:
          - image: "!*:latest"
  - name: require-run-as-non-root
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "Running as root is not allowed."
      anyPattern:
      - spec: {securityContext: {runAsNonRoot: true}}
      - spec: {containers: [{securityContext: {runAsNonRoot: true}}]}
"#;
    let template = |image: &str, non_root: bool| {
        json!({"spec": {"securityContext": {"runAsNonRoot": non_root},
            "containers": [{"name": "a", "image": "nginx:1.25"}, {"name": "b", "image": image}]}})
    };
    let results = |r: &Resource| {
        run(yaml, r, &Fake::default(), Options::default())
            .results
            .into_iter()
            .map(|x| (x.rule, x.status, x.message))
            .collect::<Vec<_>>()
    };
    let pod = |image: &str, non_root: bool| {
        let mut o = template(image, non_root);
        o["kind"] = json!("Pod");
        o["metadata"] = json!({"name": "p"});
        Resource::from_value(o)
    };
    let got = results(&pod("nginx:1.25", true));
    assert_eq!(
        got,
        [
            (
                "validate-image-tag".to_owned(),
                Status::Pass,
                "validation rule 'validate-image-tag' passed.".to_owned()
            ),
            (
                "require-run-as-non-root".to_owned(),
                Status::Pass,
                "validation rule 'require-run-as-non-root' anyPattern[0] passed.".to_owned()
            ),
        ]
    );
    let got = results(&pod("nginx:latest", false));
    assert_eq!(got[0].1, Status::Fail);
    assert_eq!(
        got[0].2,
        "validation error: Using a mutable image tag e.g. 'latest' is not allowed. rule validate-image-tag failed at path /spec/containers/1/image/"
    );
    assert_eq!(got[1].1, Status::Fail);
    assert_eq!(
        got[1].2,
        "validation error: Running as root is not allowed. rule require-run-as-non-root[0] failed at path /spec/securityContext/runAsNonRoot/ rule require-run-as-non-root[1] failed at path /spec/containers/0/securityContext/"
    );
    let deployment = Resource::from_value(json!({"kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": template("nginx:latest", true)}}));
    let got = results(&deployment);
    assert_eq!(got[0].0, "autogen-validate-image-tag");
    assert_eq!(
        got[0].2,
        "validation error: Using a mutable image tag e.g. 'latest' is not allowed. rule autogen-validate-image-tag failed at path /spec/template/spec/containers/1/image/"
    );
    assert_eq!(
        got[1],
        (
            "autogen-require-run-as-non-root".to_owned(),
            Status::Pass,
            "validation rule 'autogen-require-run-as-non-root' anyPattern[0] passed.".to_owned()
        )
    );
    let cronjob = Resource::from_value(json!({"kind": "CronJob", "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": template("nginx:latest", true)}}}}));
    let got = results(&cronjob);
    assert_eq!(got[0].0, "autogen-cronjob-validate-image-tag");
    assert!(
        got[0]
            .2
            .ends_with("failed at path /spec/jobTemplate/spec/template/spec/containers/1/image/"),
        "{got:?}"
    );
    let r = run(yaml, &cronjob, &Fake::default(), Options::default());
    assert!(r.blocked());
}
