//! cosign v3 (built by `scripts/peers`, pinned in `scripts/peers.txt`) as the oracle of vouch's
//! signatures, both ways: cosign verifies what vouch signs and attests, vouch verifies what
//! cosign signs and attests, with a key and keylessly through a vouch private instance, in
//! both storage schemes (cosign 2's `sha256-<hex>.sig`/`.att` tags, and cosign 3's Sigstore
//! bundles as OCI referrers), for blobs, and across `cosign copy` / `vouch image copy
//! --signatures`. Every accepting case has a refusing twin (a flipped signature bit, another
//! key, another identity) that both tools refuse.
//!
//! cosign never leaves loopback here (see `peers/mod.rs`): key verification runs with
//! `--insecure-ignore-tlog` (vouch's key signatures are not logged unless asked), keyless
//! verification with the instance's `--trusted-root` and `--offline`, and signing with
//! `--use-signing-config=false` or the instance's own `--signing-config`.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::peers;

use common::{fails_with, keypair, ok};
use peers::{Peer, by_digest, data, instance, mallory_token, push, tamper_bundles, tamper_legacy};

use base64::Engine as _;
use serde_json::Value;
use vouch_testkit::RegistryServer;

/// The JSON document cosign printed on stdout (`verify` prints one array of payloads).
fn printed_json(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .flat_map(|v| match v {
            Value::Array(items) => items,
            other => vec![other],
        })
        .collect()
}

/// The image digests cosign's `verify` output vouches for (`critical.image.docker-manifest-digest`).
fn verified_digests(stdout: &str) -> Vec<String> {
    printed_json(stdout)
        .iter()
        .map(|p| {
            p["critical"]["image"]["docker-manifest-digest"]
                .as_str()
                .unwrap_or_else(|| panic!("no digest in {p}"))
                .to_owned()
        })
        .collect()
}

/// The in-toto statements cosign's `verify-attestation` printed (DSSE payloads, decoded).
fn verified_statements(stdout: &str) -> Vec<Value> {
    printed_json(stdout)
        .iter()
        .map(|env| {
            let payload = env["payload"]
                .as_str()
                .unwrap_or_else(|| panic!("no payload in {env}"));
            serde_json::from_slice(
                &base64::engine::general_purpose::STANDARD
                    .decode(payload)
                    .unwrap(),
            )
            .unwrap()
        })
        .collect()
}

/// `vouch verify ARGS -o json`: asserts exit 0; returns the storage scheme (`legacy-tag`,
/// `referrer`) of each candidate that verified (attestations of other predicate types are
/// listed too, as rejected candidates).
fn vouch_verified(args: &[&str]) -> Vec<String> {
    let report = common::ok_json(args);
    assert_eq!(report["verified"], true, "{report}");
    let schemes: Vec<String> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verified"] == true)
        .map(|s| s["scheme"].as_str().unwrap().to_owned())
        .collect();
    assert!(!schemes.is_empty(), "{report}");
    schemes
}

/// cosign gets `--identity-token` as a file: it takes a raw value for a token only when it
/// parses as an RS256 JWT (sigstore/cosign v3.1.3 `internal/auth/auth.go:165`,
/// `jwt.ParseSigned(s, []jose.SignatureAlgorithm{"RS256"})`) and otherwise opens it as a path,
/// so an ES256 token (an instance's P-256 dev issuer, many real issuers) must come as a file.
/// Writes `token` to `dir/name` and returns the path.
fn token_file(dir: &std::path::Path, name: &str, token: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, token).unwrap();
    path.display().to_string()
}

/// Asserts cosign's `verify` vouched for `digest` only. In the bundle scheme cosign 3's
/// `verify` counts every bundle referrer whose statement names the digest, attestations
/// included (v3.1.3 `cmd/cosign/cli/verify/verify.go:240`, "OCI bundle always contains
/// attestation": `VerifyImageAttestations` without a predicate type), so an image that is
/// signed and attested lists two entries there; see
/// `cosign_verify_counts_an_attestation_as_a_signature_vouch_does_not`.
fn assert_verified_digest(stdout: &str, digest: &str) {
    let digests = verified_digests(stdout);
    assert!(!digests.is_empty(), "{stdout}");
    assert!(digests.iter().all(|d| d == digest), "{stdout}");
}

/// Borrowed arguments.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Cosign's flags for the loopback registry (plain HTTP).
const HTTP: &str = "--allow-http-registry";
/// cosign 3 defaults to bundles; this selects the cosign 2 `.sig`/`.att` tags.
const LEGACY: &str = "--new-bundle-format=false";

/// The two storage schemes, as vouch's `--signature-format` and what cosign needs to read it.
const SCHEMES: [(&str, &[&str], &str); 2] = [
    ("legacy", &[LEGACY], "legacy-tag"),
    ("bundle", &[], "referrer"),
];

// ---------------------------------------------------------------------------------------
// cosign verifies vouch.

#[test]
fn cosign_verifies_vouch_key_signatures_in_both_schemes() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, public) = keypair(d, "cosign");
    let (_, stranger) = keypair(d, "stranger");
    for (format, cosign_flags, scheme) in SCHEMES {
        let (image, digest) = push(&registry.host, d, "acme/signed", format);
        ok(&[
            "sign",
            &image,
            "--key",
            &key,
            "--signature-format",
            format,
            "-a",
            "env=prod",
        ]);
        let verify = |public: &str| -> Vec<String> {
            [
                &[
                    "verify",
                    &image,
                    "--key",
                    public,
                    "--insecure-ignore-tlog",
                    "--offline",
                    HTTP,
                ][..],
                cosign_flags,
            ]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect()
        };
        let out = cosign.ok(&strs(&verify(&public)));
        assert_verified_digest(&out, &digest);
        assert_eq!(printed_json(&out)[0]["optional"]["env"], "prod", "{out}");
        assert_eq!(
            vouch_verified(&["verify", &image, "--insecure-ignore-tlog", "--key", &public]),
            [scheme]
        );
        // The signed claim (-a) required by both; twin: a claim that was not signed.
        let with_claim = |claim: &str| {
            let mut args = verify(&public);
            args.extend(["-a".to_owned(), claim.to_owned()]);
            args
        };
        cosign.ok(&strs(&with_claim("env=prod")));
        vouch_verified(&[
            "verify",
            &image,
            "--insecure-ignore-tlog",
            "--key",
            &public,
            "-a",
            "env=prod",
        ]);
        let said = cosign.fails(&strs(&with_claim("env=dev")));
        assert!(said.contains("missing or incorrect annotation"), "{said}");
        fails_with(
            3,
            &[
                "verify",
                &image,
                "--insecure-ignore-tlog",
                "--key",
                &public,
                "-a",
                "env=dev",
            ],
        );

        // Twin: another key. Both refuse.
        let said = cosign.fails(&strs(&verify(&stranger)));
        assert!(
            said.contains("no matching signatures") || said.contains("verif"),
            "{said}"
        );
        fails_with(
            3,
            &[
                "verify",
                &image,
                "--insecure-ignore-tlog",
                "--key",
                &stranger,
            ],
        );

        // Twin: one bit of the stored signature flipped. Both refuse.
        let n = match format {
            "legacy" => tamper_legacy(&image, &digest),
            _ => tamper_bundles(&image, &digest),
        };
        assert_eq!(n, 1, "{format}");
        cosign.fails(&strs(&verify(&public)));
        fails_with(
            3,
            &["verify", &image, "--insecure-ignore-tlog", "--key", &public],
        );
    }
}

#[test]
fn cosign_verifies_vouch_key_attestations_of_each_type_in_both_schemes() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, public) = keypair(d, "cosign");
    let (_, stranger) = keypair(d, "stranger");
    let types = [
        ("spdxjson", "sbom.spdx.json", "https://spdx.dev/Document"),
        ("cyclonedx", "sbom.cdx.json", "https://cyclonedx.org/bom"),
        (
            "slsaprovenance1",
            "provenance.slsa1.json",
            "https://slsa.dev/provenance/v1",
        ),
    ];
    for (format, cosign_flags, scheme) in SCHEMES {
        let (image, digest) = push(&registry.host, d, "acme/attested", format);
        for (kind, file, _) in types {
            let predicate = data(file);
            ok(&[
                "attest",
                &image,
                "--key",
                &key,
                "--type",
                kind,
                "--predicate",
                predicate.to_str().unwrap(),
                "--signature-format",
                format,
            ]);
        }
        let verify = |kind: &str, public: &str| -> Vec<String> {
            [
                &[
                    "verify-attestation",
                    &image,
                    "--type",
                    kind,
                    "--key",
                    public,
                    "--insecure-ignore-tlog",
                    "--offline",
                    HTTP,
                ][..],
                cosign_flags,
            ]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect()
        };
        for (kind, file, predicate_type) in types {
            let out = cosign.ok(&strs(&verify(kind, &public)));
            let statements = verified_statements(&out);
            assert_eq!(statements.len(), 1, "{format} {kind}: {out}");
            let s = &statements[0];
            assert_eq!(s["predicateType"], predicate_type, "{s}");
            assert_eq!(
                s["subject"][0]["digest"]["sha256"],
                digest.trim_start_matches("sha256:")
            );
            let expected: Value =
                serde_json::from_slice(&std::fs::read(data(file)).unwrap()).unwrap();
            assert_eq!(s["predicate"], expected, "{format} {kind}");
            assert_eq!(
                vouch_verified(&[
                    "verify-attestation",
                    &image,
                    "--type",
                    kind,
                    "--insecure-ignore-tlog",
                    "--key",
                    &public
                ]),
                [scheme]
            );
            // Twin: another key.
            cosign.fails(&strs(&verify(kind, &stranger)));
            fails_with(
                3,
                &[
                    "verify-attestation",
                    &image,
                    "--type",
                    kind,
                    "--insecure-ignore-tlog",
                    "--key",
                    &stranger,
                ],
            );
        }
        // Twin: a predicate type nobody attested (cosign checks it for bundles since
        // GHSA-w6c6-c85g-mmv6, sigstore/cosign#4801).
        cosign.fails(&strs(&verify("openvex", &public)));
        fails_with(
            3,
            &[
                "verify-attestation",
                &image,
                "--type",
                "openvex",
                "--insecure-ignore-tlog",
                "--key",
                &public,
            ],
        );
        // Twin: the DSSE signatures flipped.
        let n = match format {
            "legacy" => tamper_legacy(&image, &digest),
            _ => tamper_bundles(&image, &digest),
        };
        assert_eq!(n, 3, "{format}");
        for (kind, _, _) in types {
            cosign.fails(&strs(&verify(kind, &public)));
            fails_with(
                3,
                &[
                    "verify-attestation",
                    &image,
                    "--type",
                    kind,
                    "--insecure-ignore-tlog",
                    "--key",
                    &public,
                ],
            );
        }
    }
}

#[test]
fn cosign_verifies_vouch_keyless_signatures_and_attestations_in_both_schemes() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let running = instance(&d.join("instance"));
    let tc = running.trust_config_path().display().to_string();
    let root = running.trusted_root_path().display().to_string();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let token = running.token().unwrap();
    let stranger = vouch_instance::Instance::init(d.join("stranger")).unwrap();
    let stranger_root = stranger.trusted_root_path().display().to_string();
    let sbom = data("sbom.spdx.json");
    for (format, cosign_flags, scheme) in SCHEMES {
        let (image, digest) = push(&registry.host, d, "acme/keyless", format);
        let keyless = [
            "--keyless",
            "--trust-config",
            &tc,
            "--identity-token",
            &token,
        ];
        ok(&[
            &["sign", &image, "--signature-format", format][..],
            &keyless,
        ]
        .concat());
        ok(&[
            &[
                "attest",
                &image,
                "--type",
                "spdxjson",
                "--predicate",
                sbom.to_str().unwrap(),
                "--signature-format",
                format,
            ][..],
            &keyless,
        ]
        .concat());
        let cosign_args = |command: &str, identity: &str, issuer: &str| {
            let mut args = vec![
                command.to_owned(),
                image.clone(),
                "--trusted-root".into(),
                root.clone(),
                "--certificate-identity".into(),
                identity.into(),
                "--certificate-oidc-issuer".into(),
                issuer.into(),
                "--offline".into(),
                HTTP.into(),
            ];
            if command == "verify-attestation" {
                args.extend(["--type".into(), "spdxjson".into()]);
            }
            args.extend(cosign_flags.iter().map(|s| (*s).to_owned()));
            args
        };
        let run_ok = |args: Vec<String>| cosign.ok(&strs(&args));
        let run_fails = |args: Vec<String>| cosign.fails(&strs(&args));
        let out = run_ok(cosign_args("verify", &email, &issuer));
        assert_verified_digest(&out, &digest);
        let out = run_ok(cosign_args("verify-attestation", &email, &issuer));
        let statements = verified_statements(&out);
        assert_eq!(statements.len(), 1, "{out}");
        assert_eq!(statements[0]["predicateType"], "https://spdx.dev/Document");
        let vouch_args = |command: &str, identity: &str, issuer: &str| {
            let mut args = vec![
                command.to_owned(),
                image.clone(),
                "--trusted-root".into(),
                root.clone(),
                "--certificate-identity".into(),
                identity.into(),
                "--certificate-oidc-issuer".into(),
                issuer.into(),
            ];
            if command == "verify-attestation" {
                args.extend(["--type".into(), "spdxjson".into()]);
            }
            args
        };
        for command in ["verify", "verify-attestation"] {
            let args = vouch_args(command, &email, &issuer);
            assert_eq!(vouch_verified(&strs(&args)), [scheme], "{format} {command}");
            // Twins: another identity, another issuer. Both refuse.
            for (identity, iss) in [
                ("mallory@evil.invalid", issuer.as_str()),
                (
                    email.as_str(),
                    "https://token.actions.githubusercontent.com",
                ),
            ] {
                run_fails(cosign_args(command, identity, iss));
                fails_with(3, &strs(&vouch_args(command, identity, iss)));
            }
            // Twin: another instance's trusted root (its own CA, log and CT log keys).
            let swap_root = |mut args: Vec<String>| {
                let at = args.iter().position(|a| a == "--trusted-root").unwrap();
                args[at + 1] = stranger_root.clone();
                args
            };
            run_fails(swap_root(cosign_args(command, &email, &issuer)));
            fails_with(3, &strs(&swap_root(vouch_args(command, &email, &issuer))));
        }
        // Twin: flipped signatures (the log entry no longer matches either).
        let n = match format {
            "legacy" => tamper_legacy(&image, &digest),
            _ => tamper_bundles(&image, &digest),
        };
        assert_eq!(n, 2, "{format}");
        for command in ["verify", "verify-attestation"] {
            run_fails(cosign_args(command, &email, &issuer));
            fails_with(3, &strs(&vouch_args(command, &email, &issuer)));
        }
    }
}

/// A documented difference, not a disagreement to fix: in the bundle scheme `cosign verify`
/// accepts an image that carries only an SBOM attestation, since it takes any bundle whose
/// statement names the digest for a signature (v3.1.3 `cmd/cosign/cli/verify/verify.go:240`).
/// vouch's `verify` wants a signature (predicate type `https://sigstore.dev/cosign/sign/v1`)
/// and leaves attestations to `verify-attestation`, as cosign itself does in the legacy scheme
/// (`.sig` and `.att` tags). Both refuse the image in the legacy scheme.
#[test]
fn cosign_verify_counts_an_attestation_as_a_signature_vouch_does_not() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, public) = keypair(d, "cosign");
    let sbom = data("sbom.spdx.json");
    for (format, cosign_flags, _) in SCHEMES {
        let (image, digest) = push(&registry.host, d, "acme/attested-only", format);
        ok(&[
            "attest",
            &image,
            "--key",
            &key,
            "--type",
            "spdxjson",
            "--predicate",
            sbom.to_str().unwrap(),
            "--signature-format",
            format,
        ]);
        let args = [
            &[
                "verify",
                &image,
                "--key",
                &public,
                "--insecure-ignore-tlog",
                "--offline",
                HTTP,
            ][..],
            cosign_flags,
        ]
        .concat();
        let said = fails_with(
            3,
            &["verify", &image, "--insecure-ignore-tlog", "--key", &public],
        );
        assert!(said.contains("no signatures found"), "{said}");
        if format == "bundle" {
            let out = cosign.ok(&args);
            let printed = printed_json(&out);
            assert_eq!(printed.len(), 1, "{out}");
            assert_eq!(printed[0]["critical"]["type"], "https://spdx.dev/Document");
            assert_verified_digest(&out, &digest);
        } else {
            cosign.fails(&args);
        }
    }
}

// ---------------------------------------------------------------------------------------
// vouch verifies cosign.

#[test]
fn vouch_verifies_cosign_key_signatures_and_attestations_in_both_schemes() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    // cosign's own key pair (cosign.key/cosign.pub in its working directory).
    cosign.ok(&["generate-key-pair"]);
    let key = cosign.home().join("cosign.key").display().to_string();
    let public = cosign.home().join("cosign.pub").display().to_string();
    let (_, stranger) = keypair(d, "stranger");
    let sbom = data("sbom.spdx.json");
    for (format, cosign_flags, scheme) in SCHEMES {
        let (image, digest) = push(&registry.host, d, "acme/by-cosign", format);
        let pinned = by_digest(&image, &digest);
        let no_log = [
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--yes",
            HTTP,
        ];
        cosign.ok(&[
            &["sign", "--key", &key][..],
            &no_log,
            cosign_flags,
            &[&pinned],
        ]
        .concat());
        cosign.ok(&[
            &[
                "attest",
                "--key",
                &key,
                "--type",
                "spdxjson",
                "--predicate",
                sbom.to_str().unwrap(),
            ][..],
            &no_log,
            cosign_flags,
            &[&pinned],
        ]
        .concat());
        assert_eq!(
            vouch_verified(&["verify", &image, "--insecure-ignore-tlog", "--key", &public]),
            [scheme],
            "{format}"
        );
        let report = common::ok_json(&[
            "verify-attestation",
            &image,
            "--type",
            "spdxjson",
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ]);
        let sigs = report["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 1, "{report}");
        assert_eq!(sigs[0]["scheme"], scheme);
        assert_eq!(sigs[0]["payload"]["predicate"]["spdxVersion"], "SPDX-2.3");
        // And cosign agrees with itself on the same stored objects.
        let cosign_verify = |command: &str, public: &str| {
            let mut args = vec![
                command,
                &image,
                "--key",
                public,
                "--insecure-ignore-tlog",
                "--offline",
                HTTP,
            ];
            if command == "verify-attestation" {
                args.extend(["--type", "spdxjson"]);
            }
            args.extend(cosign_flags);
            cosign.run(&args).status.success()
        };
        assert!(cosign_verify("verify", &public) && cosign_verify("verify-attestation", &public));

        // Twins: another key; then flipped signatures. Both refuse.
        for command in ["verify", "verify-attestation"] {
            assert!(!cosign_verify(command, &stranger));
            let mut args = vec![command, &image, "--key", &stranger];
            if command == "verify-attestation" {
                args.extend(["--type", "spdxjson"]);
            }
            fails_with(3, &args);
        }
        let n = match format {
            "legacy" => tamper_legacy(&image, &digest),
            _ => tamper_bundles(&image, &digest),
        };
        assert_eq!(n, 2, "{format}");
        for command in ["verify", "verify-attestation"] {
            assert!(!cosign_verify(command, &public));
            let mut args = vec![command, &image, "--key", &public];
            if command == "verify-attestation" {
                args.extend(["--type", "spdxjson"]);
            }
            fails_with(3, &args);
        }
    }
}

#[test]
fn vouch_verifies_cosign_keyless_signatures_through_the_instance() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let running = instance(&d.join("instance"));
    let root = running.trusted_root_path().display().to_string();
    let signing_config = running
        .instance()
        .signing_config_path()
        .display()
        .to_string();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let token = token_file(d, "token", &running.token().unwrap());
    let mallory = token_file(d, "mallory-token", &mallory_token(&running));
    let sbom = data("sbom.spdx.json");
    // cosign 3 signs a bundle with the instance's signing config (Fulcio v2 API, Rekor v1);
    // cosign 2's legacy tags with the service URLs given as flags.
    let how = |format: &str| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--trusted-root".into(),
            root.clone(),
            "--yes".into(),
            HTTP.into(),
        ];
        if format == "legacy" {
            v.extend([
                "--use-signing-config=false".into(),
                LEGACY.into(),
                "--fulcio-url".into(),
                running.ca_url().into(),
                "--rekor-url".into(),
                running.log_url().into(),
            ]);
        } else {
            v.extend(["--signing-config".into(), signing_config.clone()]);
        }
        v
    };
    for (format, _, scheme) in SCHEMES {
        for (repo, token) in [
            ("acme/cosign-keyless", &token),
            ("acme/cosign-mallory", &mallory),
        ] {
            let (image, digest) = push(&registry.host, d, repo, format);
            let pinned = by_digest(&image, &digest);
            let how = how(format);
            let how = strs(&how);
            cosign.ok(&[&["sign", "--identity-token", token][..], &how, &[&pinned]].concat());
            cosign.ok(&[
                &[
                    "attest",
                    "--identity-token",
                    token,
                    "--type",
                    "spdxjson",
                    "--predicate",
                    sbom.to_str().unwrap(),
                ][..],
                &how,
                &[&pinned],
            ]
            .concat());
            let policy = [
                "--trusted-root",
                &root,
                "--certificate-identity",
                &email,
                "--certificate-oidc-issuer",
                &issuer,
            ];
            let verify = [&["verify", &image][..], &policy].concat();
            let attestation = [
                &["verify-attestation", &image, "--type", "spdxjson"][..],
                &policy,
            ]
            .concat();
            let cosign_flags: &[&str] = if format == "legacy" { &[LEGACY] } else { &[] };
            let cosign_verify = |args: &[&str]| {
                cosign
                    .run(&[args, &["--offline", HTTP], cosign_flags].concat())
                    .status
                    .success()
            };
            if repo == "acme/cosign-keyless" {
                assert_eq!(vouch_verified(&verify), [scheme], "{format}");
                assert_eq!(vouch_verified(&attestation), [scheme], "{format}");
                assert!(
                    cosign_verify(&verify) && cosign_verify(&attestation),
                    "{format}"
                );
                // Twin: flipped signatures. Both refuse.
                let n = match format {
                    "legacy" => tamper_legacy(&image, &digest),
                    _ => tamper_bundles(&image, &digest),
                };
                assert_eq!(n, 2);
            } else {
                // Twin: signed by another identity of the same issuer.
                let said = fails_with(3, &verify);
                assert!(said.contains("mallory@evil.invalid"), "{said}");
            }
            fails_with(3, &verify);
            fails_with(3, &attestation);
            assert!(
                !cosign_verify(&verify) && !cosign_verify(&attestation),
                "{format} {repo}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Blobs.

#[test]
fn blob_bundles_signed_with_a_key_verify_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, public) = keypair(d, "vouch");
    let file = d.join("release.tar.gz");
    std::fs::write(&file, b"release bytes\n").unwrap();
    let other = d.join("other.tar.gz");
    std::fs::write(&other, b"other bytes\n").unwrap();
    let (f, o) = (file.to_str().unwrap(), other.to_str().unwrap());

    // vouch signs, cosign verifies.
    let by_vouch = d.join("by-vouch.sigstore.json").display().to_string();
    ok(&["sign-blob", f, "--key", &key, "--bundle", &by_vouch]);
    let cosign_verify = |artifact: &str, bundle: &str, public: &str| {
        cosign.run(&[
            "verify-blob",
            "--key",
            public,
            "--bundle",
            bundle,
            "--insecure-ignore-tlog",
            "--offline",
            artifact,
        ])
    };
    let out = cosign_verify(f, &by_vouch, &public);
    assert!(out.status.success(), "{}", common::text(&out));

    // cosign signs (its own key pair), vouch verifies.
    cosign.ok(&["generate-key-pair"]);
    let cosign_key = cosign.home().join("cosign.key").display().to_string();
    let cosign_pub = cosign.home().join("cosign.pub").display().to_string();
    let by_cosign = d.join("by-cosign.sigstore.json").display().to_string();
    cosign.ok(&[
        "sign-blob",
        "--key",
        &cosign_key,
        "--bundle",
        &by_cosign,
        "--tlog-upload=false",
        "--use-signing-config=false",
        "--yes",
        f,
    ]);
    let text = ok(&[
        "verify-blob",
        f,
        "--bundle",
        &by_cosign,
        "--insecure-ignore-tlog",
        "--key",
        &cosign_pub,
    ]);
    assert!(text.contains("Verified OK"), "{text}");
    assert!(cosign_verify(f, &by_cosign, &cosign_pub).status.success());

    // Twins: another file; another key. Both refuse each bundle.
    for (bundle, right, wrong) in [
        (&by_vouch, &public, &cosign_pub),
        (&by_cosign, &cosign_pub, &public),
    ] {
        assert!(!cosign_verify(o, bundle, right).status.success());
        fails_with(
            3,
            &[
                "verify-blob",
                o,
                "--bundle",
                bundle,
                "--insecure-ignore-tlog",
                "--key",
                right,
            ],
        );
        assert!(!cosign_verify(f, bundle, wrong).status.success());
        fails_with(
            3,
            &[
                "verify-blob",
                f,
                "--bundle",
                bundle,
                "--insecure-ignore-tlog",
                "--key",
                wrong,
            ],
        );
    }
}

#[test]
fn blob_bundles_signed_keyless_verify_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let running = instance(&d.join("instance"));
    let tc = running.trust_config_path().display().to_string();
    let root = running.trusted_root_path().display().to_string();
    let signing_config = running
        .instance()
        .signing_config_path()
        .display()
        .to_string();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let token = running.token().unwrap();
    let file = d.join("release.tar.gz");
    std::fs::write(&file, b"release bytes\n").unwrap();
    let other = d.join("other.tar.gz");
    std::fs::write(&other, b"other bytes\n").unwrap();
    let (f, o) = (file.to_str().unwrap(), other.to_str().unwrap());

    let by_vouch = d.join("by-vouch.sigstore.json").display().to_string();
    ok(&[
        "sign-blob",
        f,
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--bundle",
        &by_vouch,
    ]);
    let by_cosign = d.join("by-cosign.sigstore.json").display().to_string();
    cosign.ok(&[
        "sign-blob",
        "--signing-config",
        &signing_config,
        "--trusted-root",
        &root,
        "--identity-token",
        &token_file(d, "token", &token),
        "--bundle",
        &by_cosign,
        "--yes",
        f,
    ]);
    let cosign_verify = |artifact: &str, bundle: &str, identity: &str, issuer: &str| {
        cosign
            .run(&[
                "verify-blob",
                "--bundle",
                bundle,
                "--trusted-root",
                &root,
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                issuer,
                "--offline",
                artifact,
            ])
            .status
            .success()
    };
    let vouch_args = |artifact: &str, bundle: &str, identity: &str, issuer: &str| {
        [
            "verify-blob",
            artifact,
            "--bundle",
            bundle,
            "--trusted-root",
            &root,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ]
        .map(str::to_owned)
    };
    for bundle in [&by_vouch, &by_cosign] {
        assert!(
            cosign_verify(f, bundle, &email, &issuer),
            "cosign on {bundle}"
        );
        let args = vouch_args(f, bundle, &email, &issuer);
        let text = ok(&args.each_ref().map(String::as_str));
        assert!(text.contains("Verified OK"), "{text}");
        // Twins: another file, another identity, another issuer.
        for (artifact, identity, iss) in [
            (o, email.as_str(), issuer.as_str()),
            (f, "mallory@evil.invalid", issuer.as_str()),
            (f, email.as_str(), "https://accounts.google.com"),
        ] {
            assert!(
                !cosign_verify(artifact, bundle, identity, iss),
                "cosign on {bundle}: {artifact} {identity} {iss}"
            );
            let args = vouch_args(artifact, bundle, identity, iss);
            fails_with(3, &args.each_ref().map(String::as_str));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Copies.

/// `cosign copy` carries what `vouch sign`/`attest` stored in cosign 2's tags; vouch and cosign
/// both verify the copy. `cosign copy` copies only the `.sig`/`.att`/`.sbom` tags, not OCI
/// referrers (`sigstore/cosign` `cmd/cosign/cli/copy/copy.go`: the tag maps
/// `SignatureTag, AttestationTag, SBOMTag`), so bundles stay behind; that is cosign's scope,
/// not a disagreement.
#[test]
fn cosign_copy_of_vouch_signed_images_verifies_in_both() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, public) = keypair(d, "cosign");
    let (_, stranger) = keypair(d, "stranger");
    let (image, digest) = push(&registry.host, d, "acme/src", "v1");
    ok(&[
        "sign",
        &image,
        "--key",
        &key,
        "--signature-format",
        "legacy",
    ]);
    let sbom = data("sbom.spdx.json");
    ok(&[
        "attest",
        &image,
        "--key",
        &key,
        "--type",
        "spdxjson",
        "--predicate",
        sbom.to_str().unwrap(),
        "--signature-format",
        "legacy",
    ]);
    let copy = format!("{}/acme/copied-by-cosign:v1", registry.host);
    cosign.ok(&["copy", HTTP, &image, &copy]);

    let verify = |public: &str| {
        let sig = cosign.run(&[
            "verify",
            &copy,
            "--key",
            public,
            "--insecure-ignore-tlog",
            "--offline",
            HTTP,
            LEGACY,
        ]);
        let att = cosign.run(&[
            "verify-attestation",
            &copy,
            "--type",
            "spdxjson",
            "--key",
            public,
            "--insecure-ignore-tlog",
            "--offline",
            HTTP,
            LEGACY,
        ]);
        (sig, att)
    };
    let (sig, att) = verify(&public);
    assert!(sig.status.success(), "{}", common::text(&sig));
    assert!(att.status.success(), "{}", common::text(&att));
    assert_verified_digest(&String::from_utf8_lossy(&sig.stdout), &digest);
    assert_eq!(
        vouch_verified(&["verify", &copy, "--insecure-ignore-tlog", "--key", &public]),
        ["legacy-tag"]
    );
    assert_eq!(
        vouch_verified(&[
            "verify-attestation",
            &copy,
            "--type",
            "spdxjson",
            "--insecure-ignore-tlog",
            "--key",
            &public
        ]),
        ["legacy-tag"]
    );
    // Twin: another key.
    let (sig, att) = verify(&stranger);
    assert!(!sig.status.success() && !att.status.success());
    fails_with(
        3,
        &[
            "verify",
            &copy,
            "--insecure-ignore-tlog",
            "--key",
            &stranger,
        ],
    );
    fails_with(
        3,
        &[
            "verify-attestation",
            &copy,
            "--type",
            "spdxjson",
            "--insecure-ignore-tlog",
            "--key",
            &stranger,
        ],
    );
}

/// `vouch image copy --signatures` carries what cosign stored, in both schemes; cosign and
/// vouch both verify the copy.
#[test]
fn vouch_copy_of_cosign_signed_images_verifies_in_both() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    cosign.ok(&["generate-key-pair"]);
    let key = cosign.home().join("cosign.key").display().to_string();
    let public = cosign.home().join("cosign.pub").display().to_string();
    let (_, stranger) = keypair(d, "stranger");
    let sbom = data("sbom.spdx.json");
    for (format, cosign_flags, scheme) in SCHEMES {
        let (image, digest) = push(&registry.host, d, "acme/cosign-src", format);
        let pinned = by_digest(&image, &digest);
        let no_log = [
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--yes",
            HTTP,
        ];
        cosign.ok(&[
            &["sign", "--key", &key][..],
            &no_log,
            cosign_flags,
            &[&pinned],
        ]
        .concat());
        cosign.ok(&[
            &[
                "attest",
                "--key",
                &key,
                "--type",
                "spdxjson",
                "--predicate",
                sbom.to_str().unwrap(),
            ][..],
            &no_log,
            cosign_flags,
            &[&pinned],
        ]
        .concat());
        let copy = format!("{}/acme/copied-by-vouch:{format}", registry.host);
        let report = common::ok_json(&["image", "copy", &image, &copy, "--signatures"]);
        assert_eq!(report["digest"], digest.as_str(), "{report}");

        let verify = |public: &str| {
            let base = ["--key", public, "--insecure-ignore-tlog", "--offline", HTTP];
            let sig = cosign.run(&[&["verify", &copy][..], &base, cosign_flags].concat());
            let att = cosign.run(
                &[
                    &["verify-attestation", &copy, "--type", "spdxjson"][..],
                    &base,
                    cosign_flags,
                ]
                .concat(),
            );
            (sig, att)
        };
        let (sig, att) = verify(&public);
        assert!(sig.status.success(), "{format}: {}", common::text(&sig));
        assert!(att.status.success(), "{format}: {}", common::text(&att));
        assert_verified_digest(&String::from_utf8_lossy(&sig.stdout), &digest);
        assert_eq!(
            vouch_verified(&["verify", &copy, "--insecure-ignore-tlog", "--key", &public]),
            [scheme]
        );
        assert_eq!(
            vouch_verified(&[
                "verify-attestation",
                &copy,
                "--type",
                "spdxjson",
                "--insecure-ignore-tlog",
                "--key",
                &public
            ]),
            [scheme]
        );
        // Twin: another key.
        let (sig, att) = verify(&stranger);
        assert!(!sig.status.success() && !att.status.success());
        fails_with(
            3,
            &[
                "verify",
                &copy,
                "--insecure-ignore-tlog",
                "--key",
                &stranger,
            ],
        );
        fails_with(
            3,
            &[
                "verify-attestation",
                &copy,
                "--type",
                "spdxjson",
                "--insecure-ignore-tlog",
                "--key",
                &stranger,
            ],
        );
    }
}

/// OCI layouts. What works: vouch signs an image in a layout (both schemes, as in an air gap),
/// `vouch image copy --signatures` carries it to a registry, and cosign verifies it there
/// (twin: another key, refused by both). What does not, in either direction, because the two
/// tools keep signatures in a layout differently: cosign's layouts (`cosign save`, `verify
/// --local-image`) mark manifests with a `kind` annotation (`dev.cosignproject.cosign/image`,
/// `.../sigs`, `.../atts`: sigstore/cosign `pkg/oci/layout`), vouch's name them by tag
/// (`sha256-<hex>.sig`) and list referrers. Both refusals are asserted as they stand; the
/// vouch side is a gap (reading cosign's layout format), reported, not a verification bug.
#[test]
fn layouts_signed_by_vouch_verify_in_cosign_after_a_copy() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, public) = keypair(d, "cosign");
    let (_, stranger) = keypair(d, "stranger");
    let layout =
        vouch_testkit::umoci_image(&d.join("air-gap"), "v1", &[&[("etc/app.conf", b"air gap")]]);
    let source = format!("oci:{}:v1", layout.display());
    ok(&["sign", &source, "--key", &key, "--signature-format", "both"]);
    let image = format!("{}/acme/from-layout:v1", registry.host);
    let copied = common::ok_json(&["image", "copy", &source, &image, "--signatures"]);
    let digest = copied["digest"].as_str().unwrap().to_owned();
    for (_, cosign_flags, scheme) in SCHEMES {
        let verify = |public: &str| {
            let args = [
                &[
                    "verify",
                    &image,
                    "--key",
                    public,
                    "--insecure-ignore-tlog",
                    "--offline",
                    HTTP,
                ][..],
                cosign_flags,
            ]
            .concat();
            cosign.run(&args)
        };
        let out = verify(&public);
        assert!(out.status.success(), "{scheme}: {}", common::text(&out));
        assert_verified_digest(&String::from_utf8_lossy(&out.stdout), &digest);
        assert!(!verify(&stranger).status.success(), "{scheme}");
    }
    assert_eq!(
        vouch_verified(&["verify", &image, "--insecure-ignore-tlog", "--key", &public]),
        ["legacy-tag", "referrer"]
    );
    fails_with(
        3,
        &[
            "verify",
            &image,
            "--insecure-ignore-tlog",
            "--key",
            &stranger,
        ],
    );

    // cosign reads only its own layout format...
    let said = cosign.fails(&[
        "verify",
        "--local-image",
        layout.to_str().unwrap(),
        "--key",
        &public,
        "--insecure-ignore-tlog",
        LEGACY,
    ]);
    assert!(
        said.contains("must verify either an image index or image"),
        "{said}"
    );
    // ...and vouch does not read cosign's (a gap: `kind`-annotated manifests, no tags).
    let saved = d.join("saved");
    cosign.ok(&["save", &image, "--dir", saved.to_str().unwrap(), HTTP]);
    let said = common::fails_with(
        1,
        &[
            "verify",
            &format!("oci:{}", saved.display()),
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert!(said.contains("holds 0 images besides signatures"), "{said}");
}
