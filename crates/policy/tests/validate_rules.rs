//! `validate.deny`, `preconditions` and `foreach` evaluated against the corpus cases written
//! for vouch (`data/kyverno-tests/vouch/*`): every expected result in their
//! `kyverno-test.yaml` (taken from the Kyverno CLI v1.19.1, which `crates/cli/tests` also runs
//! on them) is the one `apply` gives, and the rules Kyverno reports nothing for (a foreach
//! that checked no element) give no result here either. No registry is involved: these are
//! validate rules only.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use vouch_policy::eval::{CheckError, Evidence, ImageVerifier, Options, Status, apply};
use vouch_policy::kyverno::Attestor;
use vouch_policy::{Documents, ImageInfo, Limits, Scheme, VerifiedStatement, parse_documents};

/// Validate rules never reach a registry; any call is a test failure.
struct NoRegistry;

impl ImageVerifier for NoRegistry {
    fn resolve(&self, image: &ImageInfo) -> Result<String, CheckError> {
        panic!("validate rules resolved {image:?}")
    }
    fn verify_signature(
        &self,
        image: &ImageInfo,
        _: &str,
        _: Option<Scheme>,
        _: &Attestor,
    ) -> Result<Evidence, CheckError> {
        panic!("validate rules verified {image:?}")
    }
    fn verify_attestations(
        &self,
        image: &ImageInfo,
        _: &str,
        _: Option<Scheme>,
        _: &str,
        _: &Attestor,
    ) -> Result<Vec<VerifiedStatement>, CheckError> {
        panic!("validate rules verified {image:?}")
    }
}

fn load(dir: &Path, file: &str, docs: &mut Documents) {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    docs.add(
        parse_documents(&text, file, &Limits::default()).unwrap(),
        file,
    )
    .unwrap();
}

/// `(rule, kind, name, status)` of every result `apply` gives for the case in `dir`.
fn results(dir: &Path) -> BTreeSet<(String, String, String, String)> {
    let mut docs = Documents::default();
    load(dir, "policy.yaml", &mut docs);
    load(dir, "resources.yaml", &mut docs);
    let set = docs.policy_set();
    assert!(set.validate().is_empty(), "{:?}", set.validate());
    let mut out = BTreeSet::new();
    for r in &docs.resources {
        let report = apply(
            &set.kyverno,
            r,
            &NoRegistry,
            Options::default(),
            &Limits::default(),
        )
        .unwrap();
        for x in report.results {
            out.insert((
                x.rule,
                r.kind.clone(),
                r.name.clone(),
                x.status.name().to_owned(),
            ));
        }
    }
    out
}

/// The expectations of the case's `kyverno-test.yaml`, in the same form.
fn expected(dir: &Path) -> BTreeSet<(String, String, String, String)> {
    let text = std::fs::read_to_string(dir.join("kyverno-test.yaml")).unwrap();
    let test: Value = serde_norway::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    for r in test["results"].as_array().unwrap() {
        for name in r["resources"].as_array().unwrap() {
            out.insert((
                r["rule"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
                name.as_str().unwrap().to_owned(),
                r["result"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

fn case(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kyverno-tests/vouch")
        .join(name)
}

#[test]
fn deny_and_preconditions_give_kyvernos_results() {
    let dir = case("deny-conditions");
    let (got, want) = (results(&dir), expected(&dir));
    assert_eq!(got, want);
    // Every status occurs, autogen included: the case is not vacuous.
    for status in [Status::Pass, Status::Fail, Status::Skip, Status::Error] {
        assert!(got.iter().any(|r| r.3 == status.name()), "{status:?}");
    }
    assert!(got.iter().any(|r| r.0.starts_with("autogen-cronjob-")));
}

#[test]
fn foreach_gives_kyvernos_results() {
    let dir = case("foreach");
    let (got, want) = (results(&dir), expected(&dir));
    assert_eq!(got, want);
    // A foreach that checked no element is not reported (Kyverno's nil response): `good`
    // has no privileged container, so `scoped-false` says nothing about it.
    assert!(!got.iter().any(|r| r.0 == "scoped-false" && r.2 == "good"));
    assert!(got.iter().any(|r| r.0 == "ports" && r.3 == "fail"));
}

/// A deny whose conditions hold under Enforce blocks; the same policy in Audit does not.
#[test]
fn deny_blocks_only_under_enforce() {
    let dir = case("deny-conditions");
    let mut docs = Documents::default();
    load(&dir, "resources.yaml", &mut docs);
    let latest = docs
        .resources
        .iter()
        .find(|r| r.name == "latest")
        .unwrap()
        .clone();
    for (action, blocked) in [("Enforce", true), ("Audit", false)] {
        let text = std::fs::read_to_string(dir.join("policy.yaml"))
            .unwrap()
            .replace(
                "validationFailureAction: Enforce",
                &format!("validationFailureAction: {action}"),
            );
        let mut p = Documents::default();
        p.add(
            parse_documents(&text, "p", &Limits::default()).unwrap(),
            "p",
        )
        .unwrap();
        let report = apply(
            &p.policies,
            &latest,
            &NoRegistry,
            Options::default(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(report.blocked(), blocked, "{action}: {:?}", report.results);
    }
}
