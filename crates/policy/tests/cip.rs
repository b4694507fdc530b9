//! policy-controller `ClusterImagePolicy`: validation (each file in `data/cip-invalid` holds
//! one mistake policy-controller rejects, or a feature vouch refuses rather than ignores) and
//! evaluation semantics with a scripted verifier (authorities OR, policies AND, identities,
//! attestations, static, warn mode, no-match).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use serde_json::{Value, json};
use vouch_policy::eval::{CheckError, ImageVerifier, NoMatch, Options, Status};
use vouch_policy::kyverno::Attestor;
use vouch_policy::{Documents, ImageInfo, Limits, Resource, evaluate, parse_documents};

const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZxAfzrQG1EbWyCI8LiSB7YgSFXoI\nFNGTyQGKHFc6/H8TQumT9VLS78pUwtv3w7EfKoyFZoP32KrO7nzUy2q6Cw==\n-----END PUBLIC KEY-----";

fn load(text: &str) -> Documents {
    let mut docs = Documents::default();
    docs.add(parse_documents(text, "t", &Limits::default()).unwrap(), "t")
        .unwrap();
    docs
}

#[test]
fn invalid_cluster_image_policies_report_their_field_path() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cip-invalid");
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
        assert_eq!(docs.image_policies.len(), 1, "{}", path.display());
        let problems = docs.image_policies[0].validate();
        assert!(
            problems.iter().any(|p| p.path == want),
            "{}: want {want}, got {problems:?}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} cases");
}

fn cip(name: &str, glob: &str, authorities: &str, mode: &str) -> String {
    format!(
        "---\napiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: {name}}}\nspec:\n  mode: {mode}\n  images: [{{glob: '{glob}'}}]\n  authorities:\n{authorities}"
    )
}

fn key_authority(name: &str) -> String {
    let pem: String = KEY.lines().map(|l| format!("        {l}\n")).collect();
    format!("  - name: {name}\n    key:\n      data: |\n{pem}")
}

#[test]
fn trust_root_ref_must_name_a_loaded_trust_root() {
    let yaml = cip(
        "k",
        "ghcr.io/acme/**",
        "  - keyless:\n      trustRootRef: private\n      identities:\n      - issuer: https://issuer.example\n        subjectRegExp: '^https://github\\.com/acme/.+$'\n    ctlog: {trustRootRef: private}\n",
        "enforce",
    );
    // Without the TrustRoot the reference is refused (it used to be ignored with a warning,
    // verifying against whatever --trusted-root said).
    let docs = load(&yaml);
    let set = docs.policy_set();
    let p = &set.image_policies[0];
    let paths: Vec<_> = p.validate().into_iter().map(|w| w.path).collect();
    assert_eq!(
        paths,
        [
            "spec.authorities[0].keyless.trustRootRef",
            "spec.authorities[0].ctlog.trustRootRef"
        ]
    );
    assert_eq!(p.warnings(), []);
    // With it, the policy is valid.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(KEY);
    let root = format!(
        "---\napiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata: {{name: private}}\nspec:\n  sigstoreKeys:\n    tLogs: [{{baseURL: 'https://rekor.example', hashAlgorithm: sha-256, publicKey: '{b64}'}}]\n"
    );
    let docs = load(&format!("{yaml}{root}"));
    let set = docs.policy_set();
    let p = &set.image_policies[0];
    assert_eq!(p.validate(), []);
    assert!(
        p.trust_roots["private"]
            .tlogs
            .as_deref()
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    // A TrustRoot that is not inline material, or with a typo, is refused by path.
    for (spec, want) in [
        ("  remote: {mirror: 'https://tuf.example'}\n", "spec.remote"),
        (
            "  sigstoreKeys: {tlogs: []}\n",
            "spec.sigstoreKeys.tlogs: unknown field, did you mean tLogs?",
        ),
        (
            "  sigstoreKeys: {tLogs: [{publicKey: 'bm90IGEga2V5'}]}\n",
            "spec.sigstoreKeys.tLogs[0].publicKey",
        ),
    ] {
        let text = format!(
            "apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata: {{name: t}}\nspec:\n{spec}"
        );
        let mut docs = Documents::default();
        let err = docs
            .add(
                parse_documents(&text, "t", &Limits::default()).unwrap(),
                "t",
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}");
    }
    let docs = load(&yaml);
    let p = &docs.image_policies[0];
    assert!(p.matches("ghcr.io/acme/team/app:v1"));
    assert!(!p.matches("ghcr.io/other/app:v1"));
    let star = load(&cip("s", "*", "  - static: {action: pass}\n", "enforce"));
    assert!(star.image_policies[0].matches("nginx"));
    assert!(!star.image_policies[0].matches("acme/nginx"));
}

/// Signed by the key `KEY` (key authorities) or by identity `ci@acme` from
/// `https://issuer.example` (keyless): everything but `unsigned`; SBOMs for all but `nosbom`.
struct Fake;

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

fn signer_ok(a: &Attestor) -> bool {
    if let Some(k) = a.keys() {
        return k.public_keys.as_deref() == Some(KEY);
    }
    let k = a.keyless().unwrap();
    let re = |r: &Option<String>, v: &str| {
        regex::Regex::new(r.as_deref().unwrap())
            .unwrap()
            .is_match(v)
    };
    re(&k.subject_regexp, "ci@acme") && re(&k.issuer_regexp, "https://issuer.example")
}

impl ImageVerifier for Fake {
    fn resolve(&self, _: &ImageInfo) -> Result<String, CheckError> {
        Ok(DIGEST.into())
    }
    fn verify_signature(
        &self,
        i: &ImageInfo,
        d: &str,
        _: Option<vouch_policy::Scheme>,
        a: &Attestor,
    ) -> Result<vouch_policy::Evidence, CheckError> {
        assert_eq!(d, DIGEST);
        if signer_ok(a) && !i.path.ends_with("unsigned") {
            Ok(evidence("k"))
        } else {
            Err(CheckError::Failed("no matching signatures".into()))
        }
    }
    fn verify_attestations(
        &self,
        i: &ImageInfo,
        _: &str,
        _: Option<vouch_policy::Scheme>,
        pt: &str,
        a: &Attestor,
    ) -> Result<Vec<vouch_policy::VerifiedStatement>, CheckError> {
        Ok(
            if signer_ok(a) && !i.path.ends_with("nosbom") && pt == "https://spdx.dev/Document" {
                vec![statement(
                    json!({"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": pt, "predicate": {}}),
                    "k",
                )]
            } else {
                vec![]
            },
        )
    }
}

fn pod(images: &[&str]) -> Resource {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, im)| json!({"name": format!("c{i}"), "image": im}))
        .collect();
    Resource::from_value(
        json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": containers}}),
    )
}

fn run(yaml: &str, images: &[&str], no_match: NoMatch) -> vouch_policy::ResourceReport {
    let docs = load(yaml);
    for p in &docs.image_policies {
        assert_eq!(p.validate(), [], "{}", p.name);
    }
    let options = Options {
        no_match,
        ..Options::default()
    };
    evaluate(
        &docs.policy_set(),
        &pod(images),
        &Fake,
        options,
        &Limits::default(),
    )
    .unwrap()
}

fn status(r: &vouch_policy::ResourceReport, policy: &str) -> (Status, String) {
    let x = r.results.iter().find(|x| x.policy == policy).unwrap();
    (x.status, x.message.clone())
}

#[test]
fn authorities_or_policies_and() {
    let keyless = "  - name: ci\n    keyless:\n      identities:\n      - {issuer: 'https://issuer.example', subject: 'ci@acme'}\n";
    let wrong_identity = "  - name: other\n    keyless:\n      identities:\n      - {issuer: 'https://issuer.example', subject: 'ci@acme.evil'}\n      - {issuer: 'https://issuer.example', subjectRegExp: '^ci@acme$'}\n";
    let sbom = format!(
        "{}    attestations:\n    - {{name: spdx, predicateType: spdxjson}}\n",
        key_authority("sbom")
    );
    // One of two authorities suffices.
    let other_key = key_authority("wrong")
        .replace(
            KEY.lines().nth(1).unwrap(),
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbDh24qYFAEjl1mPgzx52ZH977tjc",
        )
        .replace(
            KEY.lines().nth(2).unwrap(),
            "mWUT3xO64Jhh401kSedeAOvk75AF/el2E/VyQA/FKZ8/eCRyNSwC1j4MNw==",
        );
    let yaml = cip(
        "a",
        "ghcr.io/acme/**",
        &format!("{other_key}{keyless}"),
        "enforce",
    );
    let r = run(&yaml, &["ghcr.io/acme/api:v1"], NoMatch::Deny);
    assert_eq!(status(&r, "a").0, Status::Pass);
    assert_eq!(r.patches[0].value, format!("ghcr.io/acme/api:v1@{DIGEST}"));
    // Exact subject: ci@acme.evil does not match ci@acme; the regexp identity does.
    let yaml = cip("b", "ghcr.io/acme/**", wrong_identity, "enforce");
    assert_eq!(
        run(&yaml, &["ghcr.io/acme/api:v1"], NoMatch::Deny).results[0].status,
        Status::Pass
    );
    let only_exact = cip(
        "c",
        "ghcr.io/acme/**",
        "  - keyless:\n      identities:\n      - {issuer: 'https://issuer.example', subject: 'ci@acme.evil'}\n",
        "enforce",
    );
    let (s, m) = status(
        &run(&only_exact, &["ghcr.io/acme/api:v1"], NoMatch::Deny),
        "c",
    );
    assert_eq!(s, Status::Fail);
    assert!(
        m.starts_with("failed policy: c: signature keyless validation failed: no matching signatures for authority authority-0 for ghcr.io/acme/api:v1"),
        "{m}"
    );
    // Two policies match: both must pass; the attestation one fails for nosbom.
    let both = format!(
        "{}{}",
        cip("sig", "ghcr.io/acme/**", keyless, "enforce"),
        cip("att", "ghcr.io/acme/*", &sbom, "enforce")
    );
    let r = run(&both, &["ghcr.io/acme/nosbom:v1"], NoMatch::Deny);
    assert_eq!(status(&r, "sig").0, Status::Pass);
    let (s, m) = status(&r, "att");
    assert_eq!(s, Status::Fail);
    assert!(
        m.contains(
            "no matching attestations with type https://spdx.dev/Document for attestation spdx"
        ),
        "{m}"
    );
    assert!(
        r.patches.is_empty(),
        "not pinned unless every matching policy passed"
    );
    assert!(r.blocked());
    // warn mode: not blocking.
    let warn = cip("w", "ghcr.io/acme/**", &sbom, "warn");
    let r = run(&warn, &["ghcr.io/acme/nosbom:v1"], NoMatch::Deny);
    assert_eq!(status(&r, "w").0, Status::Fail);
    assert!(!r.blocked());
    // No match: deny by default, nothing with allow.
    let r = run(&warn, &["nginx"], NoMatch::Deny);
    assert_eq!(
        status(&r, "no-match-policy").1,
        "no matching policies: nginx"
    );
    assert!(r.blocked());
    assert!(run(&warn, &["nginx"], NoMatch::Allow).results.is_empty());
    // Static fail names its message.
    let st = cip(
        "st",
        "**",
        "  - static: {action: fail, message: frozen}\n",
        "enforce",
    );
    let (s, m) = status(&run(&st, &["ghcr.io/x/y:1"], NoMatch::Deny), "st");
    assert_eq!(
        (s, m.as_str()),
        (
            Status::Fail,
            "failed policy: st: frozen for authority authority-0 for ghcr.io/x/y:1"
        )
    );
}

/// Signatures and attestations stored under one scheme only.
struct OneScheme(vouch_policy::Scheme);

impl ImageVerifier for OneScheme {
    fn resolve(&self, _: &ImageInfo) -> Result<String, CheckError> {
        Ok(DIGEST.into())
    }
    fn verify_signature(
        &self,
        _: &ImageInfo,
        _: &str,
        scheme: Option<vouch_policy::Scheme>,
        _: &Attestor,
    ) -> Result<vouch_policy::Evidence, CheckError> {
        if scheme == Some(self.0) {
            Ok(evidence("k"))
        } else {
            Err(CheckError::Failed(format!(
                "no signatures read as {scheme:?}"
            )))
        }
    }
    fn verify_attestations(
        &self,
        _: &ImageInfo,
        _: &str,
        scheme: Option<vouch_policy::Scheme>,
        pt: &str,
        _: &Attestor,
    ) -> Result<Vec<vouch_policy::VerifiedStatement>, CheckError> {
        Ok(if scheme == Some(self.0) {
            vec![statement(
                json!({"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": pt, "predicate": {}}),
                "k",
            )]
        } else {
            vec![]
        })
    }
}

/// `signatureFormat` names the one scheme an authority reads (policy-controller's
/// `checkOptsFromAuthority`: `NewBundleFormat` only for `bundle`): a bundle-only image fails
/// a legacy (default) authority and a tag-only image fails a `bundle` one, for signatures
/// and attestations alike; reading both would pass each.
#[test]
fn signature_format_reads_only_its_scheme() {
    use vouch_policy::Scheme;
    let keyless = "  - name: ci\n    keyless:\n      identities:\n      - {issuer: 'https://issuer.example', subject: 'ci@acme'}\n";
    let with = |format: &str, attest: bool| {
        let mut a = keyless.to_owned();
        if !format.is_empty() {
            a.push_str(&format!("    signatureFormat: {format}\n"));
        }
        if attest {
            a.push_str("    attestations:\n    - {name: spdx, predicateType: spdxjson}\n");
        }
        cip("p", "ghcr.io/acme/**", &a, "enforce")
    };
    for attest in [false, true] {
        for (format, stored, want) in [
            ("", Scheme::LegacyTag, Status::Pass),
            ("", Scheme::Referrer, Status::Fail),
            ("legacy", Scheme::LegacyTag, Status::Pass),
            ("legacy", Scheme::Referrer, Status::Fail),
            ("bundle", Scheme::Referrer, Status::Pass),
            ("bundle", Scheme::LegacyTag, Status::Fail),
        ] {
            let docs = load(&with(format, attest));
            assert_eq!(docs.image_policies[0].validate(), []);
            let r = evaluate(
                &docs.policy_set(),
                &pod(&["ghcr.io/acme/api:v1"]),
                &OneScheme(stored),
                Options::default(),
                &Limits::default(),
            )
            .unwrap();
            assert_eq!(
                status(&r, "p").0,
                want,
                "signatureFormat {format:?}, stored {stored:?}, attestation {attest}: {:?}",
                r.results
            );
        }
    }
}
