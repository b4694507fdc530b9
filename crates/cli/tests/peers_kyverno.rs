//! The Kyverno CLI (v1.19, built by `scripts/peers`) as the oracle of `vouch policy apply`: the
//! seed's scenario (a ClusterPolicy requiring a Cosign signature and an SPDX SBOM attestation
//! for images under a registry prefix, Enforce, mutateDigest) evaluated by `kyverno apply` and
//! `kyverno test` and by vouch on the same policy and resource files, against images vouch
//! signed in a loopback registry: the verdicts and the digest mutations must be the same.
//!
//! What the Kyverno CLI can and cannot do offline, and so what is covered:
//! * `keys` attestors with `rekor.ignoreTlog`/`ctlog.ignoreSCT` (the seed's key policy):
//!   offline, both verification types.
//! * `keyless` attestors with the instance's `roots`, `rekor.pubkey` and `ctlog.pubkey` inline
//!   (`type: Cosign`): offline; without them Kyverno asks TUF for the public-good roots.
//! * `keyless` with `type: SigstoreBundle`: not covered; Kyverno always takes the trusted root
//!   from the public-good TUF repository for it (`pkg/image/verifiers/cpol/cosign/sigstore.go`
//!   `getTrustedMaterial` → `sigstoretuf.TrustedRoot`), so it cannot run offline.
//! * Digest mutation: Kyverno's CLI prints no verifyImages patch, so an observer policy shows
//!   the images its validate phase sees (`peers/data/kyverno/observe-images.yaml`).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::peers;

use common::{keypair, ok, text, vouch};
use peers::{Peer, data, instance, instance_pems, mallory_token, push, tamper_legacy};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_json::Value;
use vouch_testkit::RegistryServer;

/// The seed policy's rule and its autogen twin for pod controllers.
const RULE: &str = "verify-signature-and-sbom";
const POLICY: &str = "require-signed-image-and-sbom";
/// The SPDX SBOM the signed images are attested with.
const SBOM: &str = "sbom.spdx.json";

fn pod(name: &str, image: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  containers:\n  - {{name: app, image: \"{image}\"}}\n"
    )
}

fn deployment(name: &str, image: &str) -> String {
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - {{name: app, image: \"{image}\"}}\n"
    )
}

/// Replaces each line that is just `PLACEHOLDER` by the PEM lines of `pem`, indented alike.
fn fill_pem(template: &str, placeholder: &str, pem: &str) -> String {
    let mut out = String::new();
    for line in template.lines() {
        if line.trim() == placeholder {
            let indent = &line[..line.len() - line.trim_start().len()];
            for pem_line in pem.trim().lines() {
                out.push_str(indent);
                out.push_str(pem_line);
                out.push('\n');
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The seed's key policy (the file vouch's own policy tests use) for `host` and `public`.
fn key_policy(dir: &Path, host: &str, public: &str, verification_type: &str) -> PathBuf {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy/tests/data/seed/policy.yaml"),
    )
    .unwrap();
    let text = fill_pem(
        &template,
        "PUBLIC_KEY",
        &std::fs::read_to_string(public).unwrap(),
    )
    .replace("REGISTRY", host)
    .replace("type: Cosign", &format!("type: {verification_type}"));
    let path = dir.join(format!("policy-{verification_type}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// One verdict: (status, message) by resource name, for the seed policy's rules.
type Verdicts = BTreeMap<String, (String, String)>;

/// `vouch policy apply POLICY -r RESOURCES --mutated M EXTRA -o json`: verdicts and the images
/// of each resource as written to `--mutated`.
fn vouch_apply(
    dir: &Path,
    policy: &Path,
    resources: &Path,
    extra: &[&str],
) -> (Verdicts, BTreeMap<String, Vec<String>>) {
    let mutated = dir.join("vouch-mutated.yaml");
    let args = [
        &[
            "policy",
            "apply",
            policy.to_str().unwrap(),
            "-r",
            resources.to_str().unwrap(),
            "--mutated",
            mutated.to_str().unwrap(),
        ][..],
        extra,
        &["-o", "json"],
    ]
    .concat();
    let out = vouch(&args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "vouch {args:?}: {}",
        text(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut verdicts = Verdicts::new();
    for r in report["resources"].as_array().unwrap() {
        for res in r["results"].as_array().unwrap() {
            let rule = res["rule"].as_str().unwrap();
            assert!(rule.ends_with(RULE), "{res}");
            verdicts.insert(
                r["name"].as_str().unwrap().to_owned(),
                (
                    res["status"].as_str().unwrap().to_owned(),
                    res["message"].as_str().unwrap().to_owned(),
                ),
            );
        }
    }
    let written = std::fs::read_to_string(&mutated).unwrap();
    (verdicts, images_by_name(&written))
}

/// The container images of every resource in a multi-document YAML file, by name.
fn images_by_name(yaml: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for doc in serde_norway::Deserializer::from_str(yaml) {
        let v = Value::deserialize(doc).unwrap();
        if v.is_null() {
            continue;
        }
        let spec = if v["spec"]["template"].is_object() {
            &v["spec"]["template"]["spec"]
        } else {
            &v["spec"]
        };
        let images = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["image"].as_str().unwrap().to_owned())
            .collect();
        out.insert(v["metadata"]["name"].as_str().unwrap().to_owned(), images);
    }
    out
}

/// What `kyverno apply` said about each resource: every result of the seed policy's rule (the
/// CLI reports a verifyImages rule twice, from its mutate phase `VerifyAndPatchImages` and from
/// its validate phase, which checks `verifyDigest`/`required` on the patched resource), and the
/// images each resource had after verifyImages (from the observer policy).
struct KyvernoReport {
    results: BTreeMap<String, Vec<(String, String)>>,
    images: BTreeMap<String, Vec<String>>,
    /// Everything it printed, for failure messages.
    raw: String,
}

impl KyvernoReport {
    /// One status per resource, as an admission would see it: `error` or `fail` if any phase
    /// said so, `pass` if a phase passed and none failed, else `skip`.
    fn verdict(&self, name: &str) -> Option<&'static str> {
        let results = self.results.get(name)?;
        let any = |s: &str| results.iter().any(|r| r.0 == s);
        Some(if any("error") {
            "error"
        } else if any("fail") {
            "fail"
        } else if any("pass") {
            "pass"
        } else {
            "skip"
        })
    }

    /// Whether any result message of `name` contains `needle`.
    fn said(&self, name: &str, needle: &str) -> bool {
        self.results
            .get(name)
            .is_some_and(|r| r.iter().any(|(_, m)| m.contains(needle)))
    }
}

fn kyverno_apply(kyverno: &Peer, policy: &Path, resources: &Path) -> KyvernoReport {
    let observer = data("kyverno/observe-images.yaml");
    let out = kyverno.run(&[
        "apply",
        policy.to_str().unwrap(),
        observer.to_str().unwrap(),
        "-r",
        resources.to_str().unwrap(),
        "--policy-report",
        "--output-format",
        "json",
        "--remove-color",
    ]);
    let raw = text(&out);
    let mut results: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut images = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(report) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        for r in report["results"].as_array().into_iter().flatten() {
            let name = r["resources"][0]["name"].as_str().unwrap().to_owned();
            let result = r["result"].as_str().unwrap().to_owned();
            let message = r["message"].as_str().unwrap_or_default().to_owned();
            if r["policy"] == "observe-images" {
                let list = message
                    .strip_prefix("images=")
                    .unwrap_or_else(|| panic!("{message}"));
                images.insert(name, list.split(',').map(str::to_owned).collect());
                continue;
            }
            assert_eq!(r["policy"], POLICY, "{r}");
            assert!(r["rule"].as_str().unwrap().ends_with(RULE), "{r}");
            results.entry(name).or_default().push((result, message));
        }
    }
    assert!(
        !results.is_empty() && !images.is_empty(),
        "kyverno apply printed no report:\n{raw}"
    );
    KyvernoReport {
        results,
        images,
        raw,
    }
}

/// Asserts both tools gave each resource the same status.
fn same_verdicts(vouch: &Verdicts, kyverno: &KyvernoReport, resources: &[&str]) {
    for name in resources {
        let v = vouch.get(*name).map(|v| v.0.as_str());
        assert_eq!(
            v,
            kyverno.verdict(name),
            "{name}: vouch said {:?}, kyverno said {:?}\n{}",
            vouch.get(*name),
            kyverno.results.get(*name),
            kyverno.raw
        );
    }
}

/// Compares the images after each tool's digest mutation, for the `cast` (name, tag
/// reference, digest) of pods, the Deployment `web` (running the first image of the cast) and
/// the pod `elsewhere` (an image no `imageReferences` matches: untouched by both).
///
/// Both pin the tag of an image that verified (`passing`) to its digest, the patch an admission
/// applies. Kyverno's mutate phase also pins every other image its `imageReferences` match,
/// failed or skipped by `skipImageReferences` alike: it resolves and patches the digest after
/// `verifyImage` whatever that returned (kyverno v1.19.1 `pkg/engine/internal/imageverifier.go`
/// lines 116-128; the skip is decided inside `verifyImage`). vouch pins only what verified. For
/// a failed image the difference is moot (Enforce denies the object, no patch applies); for a
/// skipped one it is a real difference in the admitted object (the sandbox pod): reported to the
/// policy owner, asserted here as it stands so that a change on either side shows.
fn same_mutations(
    k: &KyvernoReport,
    v_images: &BTreeMap<String, Vec<String>>,
    cast: &[(&str, String, String)],
    passing: &[&str],
) {
    let one = |name: &str, images: &BTreeMap<String, Vec<String>>| -> String {
        let list = images
            .get(name)
            .unwrap_or_else(|| panic!("no images for {name}: {images:?}"));
        assert_eq!(list.len(), 1, "{name}: {list:?}");
        list[0].clone()
    };
    for (name, image, digest) in cast {
        let pinned = format!("{image}@{digest}");
        assert_eq!(one(name, &k.images), pinned, "kyverno {name}\n{}", k.raw);
        let expected = if passing.contains(name) {
            &pinned
        } else {
            image
        };
        assert_eq!(&one(name, v_images), expected, "vouch {name}");
    }
    let web = format!("{}@{}", cast[0].1, cast[0].2);
    assert_eq!(one("web", &k.images), web, "{}", k.raw);
    assert_eq!(one("web", v_images), web);
    if v_images.contains_key("elsewhere") {
        assert_eq!(one("elsewhere", &k.images), one("elsewhere", v_images));
    }
}

/// What the key-signed scenarios share.
struct KeyScenario {
    registry: RegistryServer,
    dir: tempfile::TempDir,
    key: String,
    public: String,
    other_key: String,
}

impl KeyScenario {
    fn new() -> Self {
        let registry = RegistryServer::start();
        let dir = tempfile::tempdir().unwrap();
        let (key, public) = keypair(dir.path(), "cosign");
        let (other_key, _) = keypair(dir.path(), "other");
        Self {
            registry,
            dir,
            key,
            public,
            other_key,
        }
    }

    fn d(&self) -> &Path {
        self.dir.path()
    }

    /// Signs and (with an SPDX file of the test data) attests `image` with `key`, in `format`.
    fn sign(&self, image: &str, key: &str, sbom: Option<&str>, format: &str) {
        ok(&["sign", image, "--key", key, "--signature-format", format]);
        if let Some(file) = sbom {
            let predicate = data(file);
            ok(&[
                "attest",
                image,
                "--key",
                key,
                "--type",
                "spdxjson",
                "--predicate",
                predicate.to_str().unwrap(),
                "--signature-format",
                format,
            ]);
        }
    }

    /// The seed's cast, signed in cosign 2's tags (what Kyverno's `type: Cosign` reads):
    /// returns the resources file and the (name, tag reference, digest) of each image.
    fn seed_cast(&self) -> (PathBuf, Vec<(&'static str, String, String)>) {
        let host = &self.registry.host;
        let d = self.d();
        let mut cast = Vec::new();
        for (name, repo) in [
            ("signed", "acme/api"),
            ("unsigned", "acme/unsigned"),
            ("nosbom", "acme/nosbom"),
            ("wrongkey", "acme/wrongkey"),
            ("tampered", "acme/tampered"),
            ("emptysbom", "acme/emptysbom"),
            ("sandbox", "acme/sandbox/x"),
        ] {
            let (image, digest) = push(host, d, repo, "v1");
            match name {
                "signed" => self.sign(&image, &self.key, Some(SBOM), "legacy"),
                "nosbom" => self.sign(&image, &self.key, None, "legacy"),
                "wrongkey" => self.sign(&image, &self.other_key, Some(SBOM), "legacy"),
                "tampered" => {
                    self.sign(&image, &self.key, Some(SBOM), "legacy");
                    assert_eq!(tamper_legacy(&image, &digest), 2);
                }
                // Signed and attested, but the SBOM fails the policy's condition
                // `length(packages) > 0`.
                "emptysbom" => {
                    let sbom = Some("sbom-no-packages.spdx.json");
                    self.sign(&image, &self.key, sbom, "legacy");
                }
                _ => {}
            }
            cast.push((name, image, digest));
        }
        let signed = cast[0].1.clone();
        let mut docs: Vec<String> = cast.iter().map(|(n, i, _)| pod(n, i)).collect();
        docs.push(pod("elsewhere", "docker.io/library/busybox:1.36"));
        docs.push(deployment("web", &signed));
        let resources = d.join("resources.yaml");
        std::fs::write(&resources, docs.concat()).unwrap();
        (resources, cast)
    }
}

#[test]
fn kyverno_apply_and_vouch_agree_on_the_seed_scenario_with_a_key() {
    let kyverno = Peer::new("kyverno");
    let s = KeyScenario::new();
    let (resources, cast) = s.seed_cast();
    let policy = key_policy(s.d(), &s.registry.host, &s.public, "Cosign");
    let (v, v_images) = vouch_apply(s.d(), &policy, &resources, &[]);
    let k = kyverno_apply(&kyverno, &policy, &resources);

    same_verdicts(
        &v,
        &k,
        &[
            "signed",
            "unsigned",
            "nosbom",
            "wrongkey",
            "tampered",
            "emptysbom",
            "web",
        ],
    );
    assert_eq!(v["signed"].0, "pass");
    assert_eq!(v["web"].0, "pass");
    for name in ["unsigned", "nosbom", "wrongkey", "tampered", "emptysbom"] {
        assert_eq!(v[name].0, "fail", "{name}: {:?}", v[name]);
    }
    // The same reasons: the attestor entry that failed, for the image as written.
    for (name, image, _) in &cast {
        if ["unsigned", "wrongkey", "tampered"].contains(name) {
            let needle = format!("failed to verify image {image}: .attestors[0].entries[0].keys: ");
            assert!(
                v[*name].1.starts_with(&needle),
                "vouch {name}: {}",
                v[*name].1
            );
            assert!(k.said(name, &needle), "kyverno {name}:\n{}", k.raw);
        }
    }
    // No attestation at all: the same verdict in other words. Kyverno 1.19 checks the
    // attestation's attestors over the (missing) `.att` tag first: "image attestations
    // verification failed, verifiedCount: 0, requiredCount: 1, error: no matching attestations";
    // vouch words it as Kyverno does when `.att` holds only other predicate types.
    assert!(
        k.said("nosbom", "no matching attestations"),
        "kyverno nosbom:\n{}",
        k.raw
    );
    assert!(
        v["nosbom"]
            .1
            .contains("attestations not found for predicate type https://spdx.dev/Document"),
        "vouch nosbom: {}",
        v["nosbom"].1
    );
    // A condition on the SBOM fails (`length(packages) > 0`): the attestation entry that
    // failed, in both (Kyverno names the image by digest there, vouch as written).
    let needle = ".attestations[0].attestors[0].entries[0].keys: attestation checks failed for ";
    assert!(k.said("emptysbom", needle), "kyverno emptysbom:\n{}", k.raw);
    assert!(
        v["emptysbom"].1.contains(needle),
        "vouch: {:?}",
        v["emptysbom"]
    );
    // Out of scope for the rule: Kyverno reports a skip (skipImageReferences) or nothing
    // (no imageReferences match); vouch the same.
    for name in ["sandbox", "elsewhere"] {
        let kv = k.verdict(name);
        let vv = v.get(name).map(|x| x.0.as_str());
        assert!(
            matches!(kv, None | Some("skip")),
            "kyverno {name}: {kv:?}\n{}",
            k.raw
        );
        assert!(matches!(vv, None | Some("skip")), "vouch {name}: {vv:?}");
    }

    same_mutations(&k, &v_images, &cast, &["signed"]);
}

/// `kyverno test` with vouch's verdicts (`v`, from `vouch policy apply` on the same files) as
/// the expected results, in a `kyverno-test.yaml` written to `dir`: Kyverno confirms each one,
/// and so does `vouch policy test` on the same test file. A flipped expectation (the `unsigned`
/// pod passing) makes both fail, so the check is not vacuous.
fn kyverno_test_confirms(
    kyverno: &Peer,
    dir: &Path,
    policy: &Path,
    resources: &Path,
    v: &Verdicts,
) {
    let write_test = |flip: Option<&str>| {
        let mut results = String::new();
        for (name, (status, _)) in v {
            let (kind, rule) = if name == "web" {
                ("Deployment", format!("autogen-{RULE}"))
            } else {
                ("Pod", RULE.to_owned())
            };
            let status = match (flip, status.as_str()) {
                (Some(n), "pass") if n == name => "fail",
                (Some(n), _) if n == name => "pass",
                (_, status) => status,
            };
            results.push_str(&format!(
                "- policy: {POLICY}\n  rule: {rule}\n  kind: {kind}\n  resources: [{name}]\n  result: {status}\n"
            ));
        }
        std::fs::write(
            dir.join("kyverno-test.yaml"),
            format!(
                "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {{name: vouch-verdicts}}\npolicies: [{}]\nresources: [{}]\nresults:\n{results}",
                policy.file_name().unwrap().to_str().unwrap(),
                resources.file_name().unwrap().to_str().unwrap(),
            ),
        )
        .unwrap();
    };
    assert!(v.contains_key("unsigned") && v.len() >= 5, "{v:?}");
    write_test(None);
    let d = dir.to_str().unwrap();
    let out = kyverno.ok(&["test", d, "--remove-color", "--detailed-results"]);
    // One row per phase result of each resource (see `KyvernoReport`), all as expected.
    assert!(out.contains(" tests passed and 0 tests failed"), "{out}");
    for name in v.keys() {
        assert!(
            out.contains(&format!("/default/{name} ")),
            "{name} not checked:\n{out}"
        );
    }
    let mine = ok(&["policy", "test", d]);
    assert!(mine.contains(" tests passed and 0 tests failed"), "{mine}");

    // Twin: one expectation flipped.
    write_test(Some("unsigned"));
    let said = kyverno.fails(&["test", d, "--remove-color"]);
    assert!(said.contains(" tests failed"), "{said}");
    assert!(said.contains("Want pass, got fail"), "{said}");
    let said = common::fails_with(1, &["policy", "test", d]);
    assert!(said.contains("Want pass, got fail"), "{said}");
}

#[test]
fn kyverno_test_confirms_vouch_verdicts_with_a_key() {
    let kyverno = Peer::new("kyverno");
    let s = KeyScenario::new();
    let (resources, _) = s.seed_cast();
    let policy = key_policy(s.d(), &s.registry.host, &s.public, "Cosign");
    let (v, _) = vouch_apply(s.d(), &policy, &resources, &[]);
    kyverno_test_confirms(&kyverno, s.d(), &policy, &resources, &v);
}

#[test]
fn kyverno_and_vouch_agree_on_the_keyless_seed_scenario_with_inline_roots() {
    let kyverno = Peer::new("kyverno");
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = instance(&d.join("instance"));
    let tc = running.trust_config_path().display().to_string();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let token = running.token().unwrap();
    let mallory = mallory_token(&running);
    let sbom = data("sbom.spdx.json");
    let keyless = |image: &str, token: &str, sbom_too: bool| {
        let flags = [
            "--keyless",
            "--trust-config",
            &tc,
            "--identity-token",
            token,
            "--signature-format",
            "legacy",
        ];
        ok(&[&["sign", image][..], &flags].concat());
        if sbom_too {
            ok(&[
                &[
                    "attest",
                    image,
                    "--type",
                    "spdxjson",
                    "--predicate",
                    sbom.to_str().unwrap(),
                ][..],
                &flags,
            ]
            .concat());
        }
    };
    let mut cast = Vec::new();
    for (name, repo) in [
        ("signed", "acme/api"),
        ("unsigned", "acme/unsigned"),
        ("nosbom", "acme/nosbom"),
        ("mallory", "acme/mallory"),
        ("tampered", "acme/tampered"),
    ] {
        let (image, digest) = push(&registry.host, d, repo, "v1");
        match name {
            "signed" => keyless(&image, &token, true),
            "nosbom" => keyless(&image, &token, false),
            "mallory" => keyless(&image, &mallory, true),
            "tampered" => {
                keyless(&image, &token, true);
                assert_eq!(tamper_legacy(&image, &digest), 2);
            }
            _ => {}
        }
        cast.push((name, image, digest));
    }
    let resources = d.join("resources.yaml");
    let mut docs: Vec<String> = cast.iter().map(|(n, i, _)| pod(n, i)).collect();
    docs.push(deployment("web", &cast[0].1));
    std::fs::write(&resources, docs.concat()).unwrap();

    // The policy with the instance's trust inline: the one file both tools read, as is.
    let policy_for = |trusted_root: &Path, file: &str| {
        let (roots, rekor, ctlog) = instance_pems(trusted_root);
        let regexp =
            format!("^{}$", email.replace('.', "\\.").replace('+', "\\+")).replace('\\', "\\\\");
        let template = std::fs::read_to_string(data("kyverno/policy-keyless-inline.yaml")).unwrap();
        let mut text = fill_pem(&template, "ROOTS", &roots);
        text = fill_pem(&text, "REKOR_PUBKEY", &rekor);
        text = fill_pem(&text, "CTLOG_PUBKEY", &ctlog);
        let text = text
            .replace("REGISTRY", &registry.host)
            .replace("SUBJECT_REGEXP", &regexp)
            .replace("SUBJECT", &email)
            .replace("ISSUER", &issuer)
            .replace("REKOR_URL", running.log_url());
        let policy = d.join(file);
        std::fs::write(&policy, text).unwrap();
        policy
    };
    let policy = policy_for(&running.trusted_root_path(), "policy-keyless.yaml");

    let k = kyverno_apply(&kyverno, &policy, &resources);
    let (v, v_images) = vouch_apply(d, &policy, &resources, &[]);
    let names = ["signed", "unsigned", "nosbom", "mallory", "tampered", "web"];
    same_verdicts(&v, &k, &names);
    assert_eq!(v["signed"].0, "pass", "{:?}", v["signed"]);
    assert_eq!(v["web"].0, "pass", "{:?}", v["web"]);
    for name in ["unsigned", "nosbom", "mallory", "tampered"] {
        assert_eq!(v[name].0, "fail", "{name}: {:?}", v[name]);
    }
    for (name, image, _) in &cast {
        if ["unsigned", "mallory", "tampered"].contains(name) {
            let needle =
                format!("failed to verify image {image}: .attestors[0].entries[0].keyless: ");
            assert!(
                v[*name].1.starts_with(&needle),
                "vouch {name}: {}",
                v[*name].1
            );
            assert!(k.said(name, &needle), "kyverno {name}:\n{}", k.raw);
        }
    }
    assert!(k.said("nosbom", "no matching attestations"), "{}", k.raw);
    same_mutations(&k, &v_images, &cast, &["signed"]);
    kyverno_test_confirms(&kyverno, d, &policy, &resources, &v);

    // Twin: the same policy trusting another instance's CA, log and CT log (same issuer URL
    // and identity): nothing verifies in either tool.
    let stranger = vouch_instance::Instance::init(d.join("stranger")).unwrap();
    let policy = policy_for(&stranger.trusted_root_path(), "policy-stranger.yaml");
    let k = kyverno_apply(&kyverno, &policy, &resources);
    let (v, _) = vouch_apply(d, &policy, &resources, &[]);
    same_verdicts(&v, &k, &names);
    for name in names {
        assert_eq!(v[name].0, "fail", "{name}: {:?}", v[name]);
    }
}

/// Which storage scheme each verification type reads. Kyverno's `type: Cosign` reads only
/// cosign 2's `.sig`/`.att` tags (`cosign.VerifyImageSignatures`/`VerifyImageAttestations`
/// without `NewBundleFormat`: kyverno v1.19.1 `pkg/image/verifiers/cpol/cosign/verifier.go`),
/// and `type: SigstoreBundle` only Sigstore bundles stored as OCI referrers
/// (`pkg/image/verifiers/cpol/cosign/sigstore.go`, sigstore-go); keys with
/// `ignoreTlog`/`ignoreSCT` keep both offline. Kyverno verifies vouch's bundles (signature and
/// SPDX attestation) with `SigstoreBundle` and its legacy tags with `Cosign`.
///
/// vouch reads only the scheme `type` names, for signatures and attestations alike
/// (`ImageVerification::scheme` in crates/policy): the same verdicts as Kyverno, including
/// for images whose signature is stored one way and SBOM attestation the other (`mixed`:
/// legacy signature, bundle attestation; `crossed`: the reverse).
///
/// DISAGREEMENT (Kyverno laxer): under `SigstoreBundle` Kyverno admits `mixed`, taking its SBOM
/// attestation bundle as the signature; vouch refuses it (no signature bundle). Asserted as it
/// stands so that a change on either side shows.
#[test]
fn verification_type_decides_the_storage_scheme() {
    let kyverno = Peer::new("kyverno");
    let s = KeyScenario::new();
    let (host, d) = (s.registry.host.clone(), s.d().to_owned());
    let (legacy, _) = push(&host, &d, "acme/legacy", "v1");
    s.sign(&legacy, &s.key, Some(SBOM), "legacy");
    let (bundle, _) = push(&host, &d, "acme/bundle", "v1");
    s.sign(&bundle, &s.key, Some(SBOM), "bundle");
    let predicate = data(SBOM);
    let attest = |image: &str, format: &str| {
        ok(&[
            "attest",
            image,
            "--key",
            &s.key,
            "--type",
            "spdxjson",
            "--predicate",
            predicate.to_str().unwrap(),
            "--signature-format",
            format,
        ]);
    };
    let (mixed, _) = push(&host, &d, "acme/mixed", "v1");
    s.sign(&mixed, &s.key, None, "legacy");
    attest(&mixed, "bundle");
    let (crossed, _) = push(&host, &d, "acme/crossed", "v1");
    s.sign(&crossed, &s.key, None, "bundle");
    attest(&crossed, "legacy");
    let resources = d.join("resources.yaml");
    std::fs::write(
        &resources,
        [
            pod("legacy", &legacy),
            pod("bundle", &bundle),
            pod("mixed", &mixed),
            pod("crossed", &crossed),
        ]
        .concat(),
    )
    .unwrap();
    for (verification_type, reads, ignores) in [
        ("Cosign", "legacy", "bundle"),
        ("SigstoreBundle", "bundle", "legacy"),
    ] {
        let policy = key_policy(&d, &host, &s.public, verification_type);
        let k = kyverno_apply(&kyverno, &policy, &resources);
        let (v, _) = vouch_apply(&d, &policy, &resources, &[]);
        assert_eq!(
            k.verdict(reads),
            Some("pass"),
            "{verification_type}\n{}",
            k.raw
        );
        assert_eq!(v[reads].0, "pass", "{verification_type}: {v:?}");
        assert_eq!(
            k.verdict(ignores),
            Some("fail"),
            "{verification_type}\n{}",
            k.raw
        );
        assert!(
            k.said(ignores, ".attestors[0].entries[0].keys: "),
            "{verification_type}\n{}",
            k.raw
        );
        // vouch reads only the scheme `type` names too: it refuses the other image, naming
        // the same attestor entry.
        same_verdicts(&v, &k, &["legacy", "bundle", "crossed"]);
        assert_eq!(
            k.verdict("crossed"),
            Some("fail"),
            "{verification_type}\n{}",
            k.raw
        );
        if verification_type == "Cosign" {
            same_verdicts(&v, &k, &["mixed"]);
            assert_eq!(k.verdict("mixed"), Some("fail"), "{}", k.raw);
        } else {
            // Kyverno takes any bundle that verifies as the image's signature: its signature
            // check fetches referrer bundles with no predicate type (`fetchBundles(..,
            // opts.Type)` with `opts.Type` empty, `pkg/image/verifiers/cpol/cosign/sigstore.go`),
            // so `mixed`'s SBOM attestation bundle passes `attestors`. vouch requires a
            // signature bundle (predicate `https://sigstore.dev/cosign/sign/v1`), as cosign 3
            // does: stricter, and refused.
            assert_eq!(k.verdict("mixed"), Some("pass"), "{}", k.raw);
            assert_eq!(v["mixed"].0, "fail", "{v:?}");
            assert!(
                v["mixed"].1.contains(".attestors[0].entries[0].keys:"),
                "{v:?}"
            );
        }
        assert!(
            v[ignores].1.contains(".attestors[0].entries[0].keys:"),
            "{verification_type}: {v:?}"
        );
    }
}

/// Issue 15's done-when, the Kyverno line, offline: the seed's policy (keyless signature and
/// SPDX attestation, `subject: https://github.com/acme/*` as the seed's README describes it,
/// with the private instance's trust inline) admits an image signed and attested in CI as
/// `acme/api`'s release workflow (a GitHub-shaped RS256 token from the dev issuer's GitHub
/// issuer URL) and refuses the same image content signed and attested by `evil/api`'s
/// workflow, in `kyverno apply` and in `vouch policy apply` alike; a Deployment of the
/// admitted image passes through autogen in both.
#[test]
fn kyverno_and_vouch_agree_on_the_seed_github_identity() {
    use vouch_ca::dev_oidc::TokenShape;
    let kyverno = Peer::new("kyverno");
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = instance(&d.join("instance"));
    let tc = running.trust_config_path().display().to_string();
    let shape = |owner: &str| {
        TokenShape::github(&format!(
            "{owner}/api/.github/workflows/release.yml@refs/heads/main"
        ))
        .unwrap()
    };
    let issuer = running.dev_issuer().unwrap().issuer_for(&shape("acme"));
    assert!(issuer.ends_with("/github-actions"), "{issuer}");
    let acme = running.token_shaped(&shape("acme")).unwrap();
    let evil = running.token_shaped(&shape("evil")).unwrap();
    // RS256, as GitHub signs its tokens.
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            acme.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256", "{header}");
    let sbom = data("sbom.spdx.json");
    let keyless = |image: &str, token: &str| {
        let flags = [
            "--keyless",
            "--trust-config",
            &tc,
            "--identity-token",
            token,
            "--signature-format",
            "legacy",
        ];
        ok(&[&["sign", image][..], &flags].concat());
        ok(&[
            &[
                "attest",
                image,
                "--type",
                "spdxjson",
                "--predicate",
                sbom.to_str().unwrap(),
            ][..],
            &flags,
        ]
        .concat());
    };
    let (api, _) = push(&registry.host, d, "acme/api", "v1");
    keyless(&api, &acme);
    let (evil_image, _) = push(&registry.host, d, "acme/api-evil", "v1");
    keyless(&evil_image, &evil);
    let resources = d.join("resources.yaml");
    std::fs::write(
        &resources,
        [
            pod("acme", &api),
            pod("evil", &evil_image),
            deployment("web", &api),
        ]
        .concat(),
    )
    .unwrap();
    let (roots, rekor, ctlog) = instance_pems(&running.trusted_root_path());
    let template = std::fs::read_to_string(data("kyverno/policy-keyless-inline.yaml")).unwrap();
    let mut text = fill_pem(&template, "ROOTS", &roots);
    text = fill_pem(&text, "REKOR_PUBKEY", &rekor);
    text = fill_pem(&text, "CTLOG_PUBKEY", &ctlog);
    let text = text
        .replace("REGISTRY", &registry.host)
        // YAML double-quoted: `\\.` is the regular expression's `\.`.
        .replace("SUBJECT_REGEXP", "^https://github\\\\.com/acme/")
        .replace("SUBJECT", "https://github.com/acme/*")
        .replace("ISSUER", &issuer)
        .replace("REKOR_URL", running.log_url());
    let policy = d.join("policy-github.yaml");
    std::fs::write(&policy, text).unwrap();

    let k = kyverno_apply(&kyverno, &policy, &resources);
    let (v, _) = vouch_apply(d, &policy, &resources, &[]);
    let names = ["acme", "evil", "web"];
    same_verdicts(&v, &k, &names);
    assert_eq!(v["acme"].0, "pass", "{:?}", v["acme"]);
    assert_eq!(v["web"].0, "pass", "{:?}", v["web"]);
    assert_eq!(v["evil"].0, "fail", "{:?}", v["evil"]);
    let needle = format!("failed to verify image {evil_image}: .attestors[0].entries[0].keyless: ");
    assert!(v["evil"].1.starts_with(&needle), "vouch: {}", v["evil"].1);
    assert!(k.said("evil", &needle), "kyverno:\n{}", k.raw);
}
