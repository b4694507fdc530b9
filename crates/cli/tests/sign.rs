//! `vouch generate-key-pair | sign-blob | verify-blob | sign | attest | verify |
//! verify-attestation` end to end: the binary against a real docker-registry (which has no
//! referrers API, so the referrers tag schema is exercised), with a negative test per check.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{fails_with, keypair, ok, sign_data, vouch};

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use vouch_oci::{
    Digest, ImageSink as _, ImageSource as _, RawManifest, Reference, Registry, RegistryOptions,
    Selector,
};
use vouch_testkit::{RegistryServer, umoci_image};

/// An image pushed to `registry` at `repo:tag`; returns the reference and its digest.
fn push_image(
    registry: &RegistryServer,
    dir: &Path,
    repo: &str,
    tag: &str,
    content: &[u8],
) -> (String, String) {
    let layout = umoci_image(dir, tag, &[&[("etc/app.conf", content)]]);
    let reference = format!("{}/{repo}:{tag}", registry.host);
    let copied: Value = serde_json::from_str(&ok(&[
        "image",
        "copy",
        &format!("oci:{}:{tag}", layout.display()),
        &reference,
        "-o",
        "json",
    ]))
    .unwrap();
    (reference, copied["digest"].as_str().unwrap().to_owned())
}

fn registry_client(reference: &str) -> Registry {
    Registry::open(
        &Reference::parse(reference).unwrap(),
        &RegistryOptions::default(),
        true,
    )
    .unwrap()
}

fn manifest_json(client: &Registry, selector: Selector) -> Value {
    serde_json::from_slice(&client.manifest(&selector).unwrap().bytes).unwrap()
}

fn put_json_blob(client: &Registry, bytes: &[u8]) -> Digest {
    let d = Digest::sha256(bytes);
    client
        .put_blob(&d, bytes.len() as u64, &mut &bytes[..])
        .unwrap();
    d
}

fn put_manifest(
    client: &Registry,
    value: &Value,
    media_type: &str,
    tag: Option<&str>,
) -> RawManifest {
    let raw = RawManifest::new(
        serde_json::to_vec(value).unwrap(),
        Some(media_type),
        None,
        "test",
    )
    .unwrap();
    client.put_manifest(&raw, tag).unwrap();
    raw
}

#[test]
fn key_pair_and_blob_signatures_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair(dir.path(), "cosign");
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{pem}"
    );
    // Refuses to overwrite without --force.
    let prefix = dir.path().join("cosign");
    let out = vouch(&[
        "generate-key-pair",
        "--output-key-prefix",
        prefix.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        pem,
        "key file must be untouched"
    );

    let file = dir.path().join("release.tar");
    std::fs::write(&file, b"release bytes\n").unwrap();
    let bundle = dir.path().join("release.tar.sigstore.json");
    let (f, b) = (file.to_str().unwrap(), bundle.to_str().unwrap());
    ok(&["sign-blob", f, "--key", &key, "--bundle", b]);
    let written: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        written["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert!(written["messageSignature"]["signature"].is_string());

    let table = ok(&[
        "verify-blob",
        f,
        "--bundle",
        b,
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    assert!(table.starts_with("Verified OK"), "{table}");
    assert!(table.contains("ok      signature"), "{table}");
    let digest = format!(
        "sha256:{}",
        vouch_oci::Digest::sha256(b"release bytes\n").hex()
    );
    ok(&[
        "verify-blob",
        &digest,
        "--bundle",
        b,
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    let report: Value = serde_json::from_str(&ok(&[
        "verify-blob",
        f,
        "--bundle",
        b,
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["evidence"]["signer"]["type"], "key");
    assert!(
        report["evidence"]["checks"]
            .as_array()
            .unwrap()
            .contains(&json!("signature"))
    );

    // Tampered artifact.
    let tampered = dir.path().join("tampered.tar");
    std::fs::write(&tampered, b"release bytes!\n").unwrap();
    let text = fails_with(
        3,
        &[
            "verify-blob",
            tampered.to_str().unwrap(),
            "--bundle",
            b,
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert!(text.contains("bundle messageDigest"), "{text}");
    // Tampered signature (one bit).
    let mut bad = written;
    let mut sig = base64_decode(bad["messageSignature"]["signature"].as_str().unwrap());
    let last = sig.len() - 5;
    sig[last] ^= 1;
    bad["messageSignature"]["signature"] = json!(base64_encode(&sig));
    let bad_path = dir.path().join("bad.sigstore.json");
    std::fs::write(&bad_path, serde_json::to_vec(&bad).unwrap()).unwrap();
    let text = fails_with(
        3,
        &[
            "verify-blob",
            f,
            "--bundle",
            bad_path.to_str().unwrap(),
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert!(text.contains("message signature"), "{text}");
    // Wrong key.
    let (_, other_pub) = keypair(dir.path(), "other");
    let out = fails_with(
        3,
        &[
            "verify-blob",
            f,
            "--bundle",
            b,
            "--insecure-ignore-tlog",
            "--key",
            &other_pub,
            "-o",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(
        out.lines()
            .take_while(|l| !l.starts_with("vouch:"))
            .collect::<String>()
            .as_str(),
    )
    .unwrap();
    assert_eq!(report["verified"], false);
    assert_eq!(report["failedCheck"], "message signature");

    // A key-signed bundle does not satisfy an identity policy, and errors that are not verdicts
    // (a missing bundle file) exit 1.
    fails_with(
        3,
        &[
            "verify-blob",
            f,
            "--bundle",
            b,
            "--certificate-identity",
            "a@b",
            "--certificate-oidc-issuer",
            "x",
            "--trusted-root",
            sign_data("trust-roots/staging.trusted_root.json")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(
        vouch(&[
            "verify-blob",
            f,
            "--bundle",
            "/nonexistent",
            "--insecure-ignore-tlog",
            "--key",
            &public
        ])
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn cosign_and_sigstore_rs_key_files_sign_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"a").unwrap();
    // sigstore-rs's public test key, encrypted with password 123 by cosign's format.
    let key = sign_data("sigstore-rs-keys/ecdsa_encrypted_private.key");
    let bundle = dir.path().join("a.sigstore.json");
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args([
            "sign-blob",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
        ])
        .env("VOUCH_PASSWORD", "123")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Wrong password: an error (exit 1), not a verdict.
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args([
            "sign-blob",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--bundle",
            "-",
        ])
        .env("VOUCH_PASSWORD", "124")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
}

#[test]
fn certificate_identity_checks_on_public_vectors() {
    let artifact = sign_data("sigstore-python/bundle_v3.txt");
    let bundle = sign_data("sigstore-python/bundle_v3.txt.sigstore");
    let root = sign_data("trust-roots/staging.trusted_root.json");
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "verify-blob",
            artifact.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend([
            "--trusted-root".to_owned(),
            root.to_str().unwrap().to_owned(),
        ]);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str]| vouch(&base(extra).iter().map(String::as_str).collect::<Vec<_>>());
    let good = [
        "--certificate-identity",
        "william@yossarian.net",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
    ];
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    for check in [
        "signed entry timestamp",
        "certificate chain",
        "SCT",
        "identity",
    ] {
        assert!(table.contains(check), "{check} missing from {table}");
    }
    // Anchored regular expressions, written by the user.
    assert!(
        run(&[
            "--certificate-identity-regexp",
            r"^william@yossarian\.net$",
            "--certificate-oidc-issuer-regexp",
            r"^https://github\.com/login/oauth$"
        ])
        .status
        .success()
    );

    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--certificate-identity",
                "someone@else.net",
                "--certificate-oidc-issuer",
                "https://github.com/login/oauth",
            ],
            "identity",
        ),
        (
            &[
                "--certificate-identity",
                "william@yossarian.net",
                "--certificate-oidc-issuer",
                "https://accounts.google.com",
            ],
            "OIDC issuer",
        ),
        // A regexp that only matches a prefix of the SAN must fail once anchored.
        (
            &[
                "--certificate-identity-regexp",
                "^william@yossarian$",
                "--certificate-oidc-issuer",
                "https://github.com/login/oauth",
            ],
            "identity",
        ),
        (
            &[
                "--certificate-identity",
                "william@yossarian.net",
                "--certificate-oidc-issuer-regexp",
                "^https://github.com$",
            ],
            "OIDC issuer",
        ),
    ];
    for (extra, check) in cases {
        let out = run(extra);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {text}");
        assert!(
            text.contains(&format!("FAILED  {check}:")),
            "{extra:?}: {text}"
        );
    }
    // An untrusted root (public-good, not staging).
    let out = vouch(&[
        "verify-blob",
        artifact.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--trusted-root",
        sign_data("trust-roots/public-good.trusted_root.json")
            .to_str()
            .unwrap(),
        "--certificate-identity",
        "william@yossarian.net",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn image_signatures_both_schemes_append_and_verify() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair(dir.path(), "cosign");
    let (image, digest) = push_image(&registry, dir.path(), "e2e/app", "v1", b"one\n");
    let hex = digest.trim_start_matches("sha256:");

    // Signing a tag prints the digest it resolved to.
    let out = vouch(&[
        "sign",
        &image,
        "--key",
        &key,
        "--signature-format",
        "both",
        "-a",
        "env=prod",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&digest),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = String::from_utf8_lossy(&out.stdout);
    assert!(
        signed.contains(&format!("sha256-{hex}.sig")) && signed.contains("referrers tag schema"),
        "{signed}"
    );

    // The legacy tag looks like cosign's.
    let client = registry_client(&image);
    let sig = manifest_json(&client, Selector::Tag(format!("sha256-{hex}.sig")));
    let layer = &sig["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    assert!(
        layer["annotations"]["dev.cosignproject.cosign/signature"]
            .as_str()
            .unwrap()
            .len()
            > 60
    );
    // The referrer, listed in the tag-schema index (docker-registry 2.8 has no referrers API).
    let index = manifest_json(&client, Selector::Tag(format!("sha256-{hex}")));
    assert_eq!(
        index["manifests"][0]["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let referrer = manifest_json(
        &client,
        Selector::Digest(
            index["manifests"][0]["digest"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        ),
    );
    assert_eq!(referrer["subject"]["digest"], digest.as_str());
    assert_eq!(
        referrer["annotations"]["dev.sigstore.bundle.predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );

    let report: Value = serde_json::from_str(&ok(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-a",
        "env=prod",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["digest"], digest.as_str());
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{report}");
    assert!(sigs.iter().all(|s| s["verified"] == true), "{report}");
    let schemes: Vec<&str> = sigs.iter().map(|s| s["scheme"].as_str().unwrap()).collect();
    assert_eq!(schemes, ["legacy-tag", "referrer"]);
    assert_eq!(
        sigs[0]["payload"]["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert_eq!(sigs[0]["payload"]["optional"]["env"], "prod");
    assert_eq!(
        sigs[1]["payload"]["subject"][0]["annotations"]["env"],
        "prod"
    );

    // Re-signing (another key, both schemes) appends: both old signatures stay.
    let (key2, public2) = keypair(dir.path(), "second");
    ok(&[
        "sign",
        &format!("{}/e2e/app@{digest}", registry.host),
        "--key",
        &key2,
        "--signature-format",
        "both",
    ]);
    let sig = manifest_json(&client, Selector::Tag(format!("sha256-{hex}.sig")));
    assert_eq!(sig["layers"].as_array().unwrap().len(), 2);
    let index = manifest_json(&client, Selector::Tag(format!("sha256-{hex}")));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    for public_key in [&public, &public2] {
        let table = ok(&[
            "verify",
            &image,
            "--insecure-ignore-tlog",
            "--key",
            public_key,
        ]);
        assert!(table.contains("2 of 4 signatures verified"), "{table}");
    }
    // The default format is the cosign 3 bundle: one more referrer, no new legacy layer.
    ok(&["sign", &image, "--key", &key]);
    assert_eq!(
        manifest_json(&client, Selector::Tag(format!("sha256-{hex}")))["manifests"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Negative: wrong key, unsigned claim, unsigned image.
    let (_, stranger) = keypair(dir.path(), "stranger");
    let text = fails_with(
        3,
        &[
            "verify",
            &image,
            "--insecure-ignore-tlog",
            "--key",
            &stranger,
        ],
    );
    assert!(
        text.contains("FAILED  message signature") && text.contains("FAILED  DSSE envelope"),
        "{text}"
    );
    let text = fails_with(
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
    assert!(text.contains("FAILED  signed claims"), "{text}");
    let (other, _) = push_image(&registry, dir.path(), "e2e/app", "v2", b"two\n");
    let text = fails_with(
        3,
        &["verify", &other, "--insecure-ignore-tlog", "--key", &public],
    );
    assert!(text.contains("no signatures found"), "{text}");
}

#[test]
fn replayed_and_tampered_image_signatures_fail() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair(dir.path(), "cosign");
    let (a, a_digest) = push_image(&registry, dir.path(), "e2e/replay", "a", b"a\n");
    let (b, b_digest) = push_image(&registry, dir.path(), "e2e/replay", "b", b"b\n");
    ok(&["sign", &a, "--key", &key, "--signature-format", "both"]);
    let client = registry_client(&a);
    let a_hex = a_digest.trim_start_matches("sha256:");
    let b_hex = b_digest.trim_start_matches("sha256:");

    // Replay A's legacy signature image onto B's tag.
    let sig = client
        .manifest(&Selector::Tag(format!("sha256-{a_hex}.sig")))
        .unwrap();
    client
        .put_manifest(&sig, Some(&format!("sha256-{b_hex}.sig")))
        .unwrap();
    // Replay A's referrer bundle as a referrer of B.
    let index = manifest_json(&client, Selector::Tag(format!("sha256-{a_hex}")));
    let mut referrer = manifest_json(
        &client,
        Selector::Digest(
            index["manifests"][0]["digest"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        ),
    );
    let b_manifest = client
        .manifest(&Selector::Digest(b_digest.parse().unwrap()))
        .unwrap();
    referrer["subject"] = json!({"mediaType": b_manifest.media_type, "digest": b_digest, "size": b_manifest.bytes.len()});
    let raw = put_manifest(
        &client,
        &referrer,
        "application/vnd.oci.image.manifest.v1+json",
        None,
    );
    let mut entry = index["manifests"][0].clone();
    entry["digest"] = json!(raw.digest.to_string());
    entry["size"] = json!(raw.bytes.len());
    put_manifest(
        &client,
        &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry]}),
        "application/vnd.oci.image.index.v1+json",
        Some(&format!("sha256-{b_hex}")),
    );

    let report = fails_with(
        3,
        &["verify", &b, "--insecure-ignore-tlog", "--key", &public],
    );
    assert!(
        report.contains("FAILED  payload digest == image digest"),
        "{report}"
    );
    assert!(report.contains("FAILED  subject digest"), "{report}");

    // Tampered payload (a claim added, the signature kept) and tampered signature, on A.
    let a_sig = manifest_json(&client, Selector::Tag(format!("sha256-{a_hex}.sig")));
    let layer = &a_sig["layers"][0];
    let payload = client
        .blob(
            &layer["digest"].as_str().unwrap().parse().unwrap(),
            layer["size"].as_u64().unwrap(),
        )
        .unwrap();
    let payload: Value = serde_json::from_reader(payload).unwrap();
    let mut forged = payload.clone();
    forged["optional"] = json!({"env": "prod"});
    let forged = serde_json::to_vec(&forged).unwrap();
    let forged_digest = put_json_blob(&client, &forged);
    let signature = layer["annotations"]["dev.cosignproject.cosign/signature"]
        .as_str()
        .unwrap();
    let mut sig_bytes = base64_decode(signature);
    let n = sig_bytes.len() - 3;
    sig_bytes[n] ^= 0x40;
    let original = serde_json::to_vec(&payload).unwrap();
    let original_digest = put_json_blob(&client, &original);
    let layers = json!([
        {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": forged_digest.to_string(), "size": forged.len(),
         "annotations": {"dev.cosignproject.cosign/signature": signature}},
        {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": original_digest.to_string(), "size": original.len(),
         "annotations": {"dev.cosignproject.cosign/signature": base64_encode(&sig_bytes)}},
    ]);
    let mut tampered = a_sig.clone();
    tampered["layers"] = layers;
    put_manifest(
        &client,
        &tampered,
        "application/vnd.oci.image.manifest.v1+json",
        Some(&format!("sha256-{a_hex}.sig")),
    );
    let report: Value = {
        let out = vouch(&[
            "verify",
            &a,
            "--insecure-ignore-tlog",
            "--key",
            &public,
            "-o",
            "json",
        ]);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // The referrer still verifies; both tampered legacy layers are rejected by the signature check.
    assert_eq!(report["verified"], true);
    let legacy: Vec<&Value> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["scheme"] == "legacy-tag")
        .collect();
    assert_eq!(legacy.len(), 2);
    for s in legacy {
        assert_eq!(s["verified"], false, "{s}");
        assert_eq!(s["failedCheck"], "message signature", "{s}");
    }
}

#[test]
fn attestations_in_both_schemes_verify_by_predicate_type() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair(dir.path(), "cosign");
    let (image, digest) = push_image(&registry, dir.path(), "e2e/att", "v1", b"att\n");
    let sbom = dir.path().join("sbom.spdx.json");
    std::fs::write(
        &sbom,
        br#"{"spdxVersion":"SPDX-2.3","name":"app","packages":[]}"#,
    )
    .unwrap();
    ok(&[
        "attest",
        &image,
        "--predicate",
        sbom.to_str().unwrap(),
        "--type",
        "spdxjson",
        "--key",
        &key,
        "--signature-format",
        "both",
    ]);

    let client = registry_client(&image);
    let hex = digest.trim_start_matches("sha256:");
    let att = manifest_json(&client, Selector::Tag(format!("sha256-{hex}.att")));
    assert_eq!(
        att["layers"][0]["mediaType"],
        "application/vnd.dsse.envelope.v1+json"
    );
    assert_eq!(
        att["layers"][0]["annotations"]["predicateType"],
        "https://spdx.dev/Document"
    );
    assert_eq!(
        att["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"],
        ""
    );

    let report: Value = serde_json::from_str(&ok(&[
        "verify-attestation",
        &image,
        "--type",
        "spdxjson",
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-o",
        "json",
    ]))
    .unwrap();
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{report}");
    for s in sigs {
        assert_eq!(s["verified"], true, "{s}");
        assert_eq!(s["payload"]["predicateType"], "https://spdx.dev/Document");
        assert_eq!(s["payload"]["predicate"]["spdxVersion"], "SPDX-2.3");
        assert_eq!(s["payload"]["subject"][0]["digest"]["sha256"], hex);
    }
    let text = fails_with(
        3,
        &[
            "verify-attestation",
            &image,
            "--type",
            "cyclonedx",
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    assert!(text.contains("FAILED  predicate type"), "{text}");
    // Image signatures and attestations do not stand in for each other.
    let text = fails_with(
        3,
        &["verify", &image, "--insecure-ignore-tlog", "--key", &public],
    );
    assert!(text.contains("no signatures found"), "{text}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | table.iter().position(|&t| t == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn base64_encode(data: &[u8]) -> String {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
