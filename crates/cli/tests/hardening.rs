//! Hardening against hostile registries (issue 19): a broken referrer is one rejected candidate
//! and does not hide the good signature beside it; a registry that accepts connections but
//! never answers fails in seconds with the retry budget in the message; error chains are
//! printed once.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{fails_with, keypair_with, ok_json, text, vouch_cmd};

use std::path::Path;

use serde_json::Value;
use vouch_oci::{ImageSource as _, Reference, Registry, Selector};
use vouch_testkit::{RegistryServer, umoci_image};

/// Pushes a one-layer image to `registry`; returns its reference.
fn push_image(registry: &RegistryServer, dir: &Path, repo: &str, content: &[u8]) -> String {
    let layout = umoci_image(dir, "v1", &[&[("etc/app.conf", content)]]);
    let reference = format!("{}/{repo}:v1", registry.host);
    ok_json(&[
        "image",
        "copy",
        &format!("oci:{}:v1", layout.display()),
        &reference,
    ]);
    reference
}

/// Signs `image` with a new key as a referrer bundle; returns the public key and the referrer
/// manifest digest.
fn sign_referrer(dir: &Path, image: &str, name: &str) -> (String, String) {
    let (key, public) = keypair_with(dir, name, "ecdsa-p256");
    let report = ok_json(&["sign", image, "--key", &key, "--signature-format", "bundle"]);
    let stored = report["stored"].as_array().unwrap();
    assert_eq!(stored.len(), 1, "{report}");
    assert_eq!(stored[0]["scheme"], "referrer", "{report}");
    (public, stored[0]["manifest"].as_str().unwrap().to_owned())
}

fn signatures(report: &Value) -> &Vec<Value> {
    report["signatures"].as_array().unwrap()
}

fn by_location<'a>(report: &'a Value, manifest: &str) -> &'a Value {
    signatures(report)
        .iter()
        .find(|s| s["location"] == format!("referrer {manifest}"))
        .unwrap_or_else(|| panic!("referrer {manifest} not listed: {report}"))
}

#[test]
fn broken_referrers_are_rejected_candidates_and_the_good_one_verifies() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let image = push_image(&registry, dir.path(), "hardening/referrers", b"referrers\n");
    let (good_pub, good) = sign_referrer(dir.path(), &image, "good");
    let (blobless_pub, blobless) = sign_referrer(dir.path(), &image, "blobless");
    let (_, manifestless) = sign_referrer(dir.path(), &image, "manifestless");

    // One referrer loses its bundle blob, another its manifest, as a registry that lost data
    // (or someone who can push broken manifests) would serve them.
    let client = Registry::open(
        &Reference::parse(&image).unwrap(),
        &vouch_oci::RegistryOptions::default(),
        false,
    )
    .unwrap();
    let manifest: Value = serde_json::from_slice(
        &client
            .manifest(&Selector::Digest(blobless.parse().unwrap()))
            .unwrap()
            .bytes,
    )
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    std::fs::remove_file(registry.blob_path(layer)).unwrap();
    std::fs::remove_file(registry.blob_path(&manifestless)).unwrap();

    let report = ok_json(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &good_pub,
    ]);
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(
        signatures(&report).len(),
        3,
        "every referrer listed: {report}"
    );
    assert_eq!(by_location(&report, &good)["verified"], true, "{report}");
    for (broken, missing) in [(&blobless, layer), (&manifestless, manifestless.as_str())] {
        let s = by_location(&report, broken);
        assert_eq!(s["verified"], false, "{report}");
        assert_eq!(s["failedCheck"], "reading signature", "{report}");
        let error = s["error"].as_str().unwrap();
        assert!(
            error.contains(missing) || error.contains("not found") || error.contains("unknown"),
            "the reason names what is missing: {error}"
        );
    }
    // The human report lists the rejected ones with their reason.
    let out = vouch_cmd(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &good_pub,
    ])
    .output()
    .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 of 3 signatures verified"), "{said}");
    assert!(
        said.contains(&format!("referrer {blobless} (referrer): rejected")),
        "{said}"
    );

    // The key whose only signature is unreadable does not verify: fail closed.
    let said = fails_with(
        3,
        &[
            "verify",
            &image,
            "--insecure-ignore-tlog",
            "--key",
            &blobless_pub,
        ],
    );
    assert!(said.contains("none of the 3 signatures"), "{said}");
}

/// A registry that accepts connections, reads requests and never answers.
fn silent_registry() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            match stream {
                Ok(s) => held.push(s),
                Err(_) => return,
            }
        }
    });
    (host, handle)
}

#[test]
fn a_registry_that_never_answers_fails_within_the_retry_budget() {
    let (host, _server) = silent_registry();
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = keypair_with(dir.path(), "k", "ecdsa-p256");
    let image = format!("{host}/silent/app:v1");
    // Configured: 1 s to the first byte, 3 s for the whole request with its retries.
    let said = fails_with(
        1,
        &[
            "verify",
            &image,
            "--insecure-ignore-tlog",
            "--key",
            &public,
            "--registry-timeout",
            "1",
            "--registry-retry-budget",
            "3",
        ],
    );
    assert!(said.contains("retry budget 3s"), "{said}");
    assert!(said.contains("first-byte timeout 1s"), "{said}");
    assert!(said.contains("gave up after "), "{said}");
    // The defaults: 10 s to the first byte, 30 s budget (0.1 waited 4 x 60 s).
    let said = fails_with(
        1,
        &["verify", &image, "--insecure-ignore-tlog", "--key", &public],
    );
    assert!(said.contains("retry budget 30s"), "{said}");
    assert!(said.contains("first-byte timeout 10s"), "{said}");
}

#[test]
fn error_causes_are_printed_once() {
    let said = fails_with(
        1,
        &[
            "verify-blob",
            "/nonexistent/artifact",
            "--insecure-ignore-tlog",
            "--key",
            "/nonexistent/key.pub",
            "--bundle",
            "/nonexistent/bundle.json",
        ],
    );
    assert!(said.contains("/nonexistent/key.pub"), "{said}");
    assert_eq!(
        said.matches("(os error 2)").count(),
        1,
        "the root cause once: {said}"
    );
}
