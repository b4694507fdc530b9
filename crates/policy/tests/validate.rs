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

/// The problems loading `text` reports, as `path: message` lines: a shape error (unknown
/// field, wrong type, an attestor entry of no or two kinds) or the validation problems.
fn problems(text: &str) -> Vec<String> {
    let mut docs = Documents::default();
    match docs.add(
        parse_documents(text, "test", &Limits::default()).unwrap(),
        "test",
    ) {
        Err(vouch_policy::Error::Shape { reason, .. }) => vec![reason],
        Err(e) => panic!("{e}"),
        Ok(()) => docs
            .policy_set()
            .validate()
            .into_iter()
            .flat_map(|(_, p)| p)
            .map(|p| p.to_string())
            .collect(),
    }
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
        let message = text
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("# MESSAGE: "));
        let got = problems(&text);
        assert_eq!(
            got.iter()
                .map(|p| p.split_once(": ").map_or(p.as_str(), |x| x.0))
                .collect::<Vec<_>>(),
            want.split(" | ").collect::<Vec<_>>(),
            "{}: {got:?}",
            path.display()
        );
        if let Some(m) = message {
            assert!(got[0].contains(m), "{}: {got:?}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 30, "only {seen} cases");
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
    let keys = vi.attestors[0].entries[0].keys().unwrap();
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
    assert!(
        err.to_string()
            .contains("spec.rules[0].verifyImages[0].attestors[0].count: invalid type"),
        "{err}"
    );
}
