//! Policy validation: each file in `data/invalid` holds one mistake Kyverno rejects and names
//! the field path vouch must report; the seed-shaped policy is valid.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use vouch_policy::{Documents, Limits, parse_documents};

fn load(text: &str) -> Documents {
    let mut docs = Documents::default();
    docs.add(
        parse_documents(text, "test", &Limits::default()).unwrap(),
        "test",
    )
    .unwrap();
    docs
}

#[test]
fn invalid_policies_report_their_field_path() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/invalid");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let want = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# PROBLEM: "))
            .expect("first line names the expected path");
        let docs = load(&text);
        assert_eq!(docs.policies.len(), 1, "{}", path.display());
        let problems = docs.policies[0].validate();
        assert_eq!(
            problems.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            [want],
            "{}: {problems:?}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} cases");
}

#[test]
fn seed_policy_is_valid_and_read_as_written() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seed/policy.yaml"),
    )
    .unwrap()
    .replace("PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----");
    let docs = load(&text);
    let p = &docs.policies[0];
    assert_eq!(p.validate(), []);
    assert_eq!(p.key(), "/require-signed-image-and-sbom");
    assert!(p.spec.fails_closed());
    let vi = &p.spec.rules[0].verify_images[0];
    assert!(vi.mutate_digest() && vi.verify_digest());
    assert_eq!(vi.attestors[0].required(), 1);
    let keys = vi.attestors[0].entries[0].keys.as_ref().unwrap();
    assert!(keys.rekor.as_ref().unwrap().ignore_tlog);
    assert!(keys.ctlog.as_ref().unwrap().ignore_sct);
    let att = &vi.attestations[0];
    assert_eq!(att.predicate_type(), Some("https://spdx.dev/Document"));
    assert_eq!(att.conditions[0].all.len(), 2);
    assert!(p.spec.rules[0].match_.pod_only());
}

#[test]
fn shape_errors_name_the_field() {
    let mut docs = Documents::default();
    let err = docs
        .add(
            parse_documents(
                "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec: {rules: [{name: r, verifyImages: [{attestors: [{count: many}]}]}]}\n",
                "t",
                &Limits::default(),
            )
            .unwrap(),
            "t",
        )
        .unwrap_err();
    assert!(matches!(err, vouch_policy::Error::Shape { .. }), "{err}");
    assert!(err.to_string().contains("invalid type"), "{err}");
}
