//! Key signing logs by default, as cosign: with a transparency log configured (the instance's
//! trust config, or `--rekor-url`), `sign`, `attest` and `sign-blob --key` upload a
//! hashedrekord / dsse entry and carry it in the bundle or the legacy layer's Rekor bundle
//! annotation. vouch and cosign v3 (`verify --key`, no flag: both require a log entry for
//! keys by default) accept the result against the instance's trusted root, and both refuse it
//! with the entry removed (`--tlog-upload=false`) or tampered with, unless
//! `--insecure-ignore-tlog` (image, attestation and blob).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::peers;

use common::{fails_with, keypair, ok, ok_json};
use peers::Peer;

use std::path::Path;

use serde_json::Value;
use vouch_testkit::{RegistryServer, umoci_image};

/// An image pushed to `registry` at `repo:v1`; returns the reference.
fn push_image(registry: &RegistryServer, dir: &Path, repo: &str, content: &[u8]) -> String {
    let tag = repo.replace('/', "-");
    let layout = umoci_image(dir, &tag, &[&[("etc/app.conf", content)]]);
    let reference = format!("{}/{repo}:v1", registry.host);
    ok(&[
        "image",
        "copy",
        &format!("oci:{}:{tag}", layout.display()),
        &reference,
    ]);
    reference
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn key_signed_image_and_attestation_carry_log_entries_cosign_and_vouch_verify_them() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = vouch_instance::Instance::start(d.join("instance"), &Default::default()).unwrap();
    let tc = running.trust_config_path().display().to_string();
    let root = running.trusted_root_path().display().to_string();
    let (key, public) = keypair(d, "cosign");
    let cosign = Peer::new("cosign");
    let sbom = peers::data("sbom.spdx.json");
    let sbom = sbom.to_str().unwrap();

    // Signed and attested with the instance's log (from the trust config), both schemes.
    let image = push_image(&registry, d, "acme/logged", b"logged\n");
    ok(&[
        "sign",
        &image,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--signature-format",
        "both",
    ]);
    ok(&[
        "attest",
        &image,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--predicate",
        sbom,
        "--type",
        "spdxjson",
        "--signature-format",
        "both",
    ]);
    // vouch: every candidate (legacy layer and referrer bundle) verifies with its entry.
    for (command, extra) in [
        ("verify", &[][..]),
        ("verify-attestation", &["--type", "spdxjson"][..]),
    ] {
        let args = [
            &[command, &image, "--key", &public, "--trusted-root", &root][..],
            extra,
            &["-o", "json"],
        ]
        .concat();
        let report = json(&ok(&args)).to_string();
        assert_eq!(
            report.matches("\"inclusionProofVerified\":true").count(),
            2,
            "{command}: both schemes logged and proven: {report}"
        );
        assert!(report.contains("\"kind\":\"dsse\""), "{report}");
    }
    // cosign v3: key verification demands a log entry by default; the instance's root
    // supplies the log key. Bundles (cosign 3 default) and legacy tags (cosign 2).
    for legacy in [false, true] {
        let format: &[&str] = if legacy {
            &["--new-bundle-format=false"]
        } else {
            &[]
        };
        let common = [
            "--key",
            &public,
            "--trusted-root",
            &root,
            "--offline",
            "--allow-http-registry",
        ];
        let out = cosign.ok(&[&["verify", &image][..], &common, format].concat());
        assert!(out.contains("\"critical\""), "{out}");
        cosign.ok(&[
            &["verify-attestation", &image, "--type", "spdxjson"][..],
            &common,
            format,
        ]
        .concat());
    }

    // The same with --tlog-upload=false: no entry, refused by both without an insecure flag.
    let unlogged = push_image(&registry, d, "acme/unlogged", b"unlogged\n");
    ok(&[
        "sign",
        &unlogged,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--tlog-upload=false",
        "--signature-format",
        "both",
    ]);
    // vouch refuses it by default, names the check and the way out, for the signature and
    // the attestation; the deprecated --require-tlog changes nothing.
    ok(&[
        "attest",
        &unlogged,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--tlog-upload=false",
        "--predicate",
        sbom,
        "--type",
        "spdxjson",
    ]);
    for (command, extra) in [
        ("verify", &[][..]),
        ("verify", &["--require-tlog"][..]),
        ("verify-attestation", &["--type", "spdxjson"][..]),
    ] {
        let args = [
            &[
                command,
                &unlogged,
                "--key",
                &public,
                "--trusted-root",
                &root,
            ][..],
            extra,
        ]
        .concat();
        let said = fails_with(3, &args);
        assert!(
            said.contains(
                "FAILED  transparency log entry: invalid bundle: expected a transparency log entry"
            ),
            "{command} {extra:?}: {said}"
        );
        assert!(said.contains("--insecure-ignore-tlog"), "{said}");
        assert!(said.contains("--rekor-url or --trust-config"), "{said}");
        let report = json(
            &String::from_utf8(common::vouch(&[&args[..], &["-o", "json"]].concat()).stdout)
                .unwrap(),
        );
        assert_eq!(report["verified"], false, "{report}");
        assert_eq!(
            report["signatures"][0]["failedCheck"], "transparency log entry",
            "{report}"
        );
        if extra == ["--require-tlog"] {
            continue; // contradicts the insecure flag: below
        }
        // Accepted when the user says so, in those words.
        let report = ok_json(&[&args[..], &["--insecure-ignore-tlog"]].concat());
        assert_eq!(report["verified"], true, "{report}");
        assert!(
            report["signatures"][0]["evidence"]["tlogEntries"]
                .as_array()
                .is_some_and(Vec::is_empty),
            "{report}"
        );
    }
    // Contradictory flags are a usage error, not a silent choice.
    let said = fails_with(
        1,
        &[
            "verify",
            &unlogged,
            "--key",
            &public,
            "--require-tlog",
            "--insecure-ignore-tlog",
        ],
    );
    assert!(
        said.contains("contradicts --insecure-ignore-tlog"),
        "{said}"
    );
    for legacy in [false, true] {
        let format: &[&str] = if legacy {
            &["--new-bundle-format=false"]
        } else {
            &[]
        };
        let said = cosign.fails(
            &[
                &[
                    "verify",
                    &unlogged,
                    "--key",
                    &public,
                    "--trusted-root",
                    &root,
                ][..],
                &["--offline", "--allow-http-registry"],
                format,
            ]
            .concat(),
        );
        // cosign 3 finds no verified entry in the bundle; cosign 2's tag scheme has no Rekor
        // bundle annotation to verify offline.
        let expected = if legacy {
            "no matching signatures: offline verification failed"
        } else {
            "not enough verified log entries from transparency log: 0 < 1"
        };
        assert!(said.contains(expected), "{said}");
    }
}

#[test]
fn key_signed_blob_bundle_is_logged_and_tampering_with_the_entry_is_refused_by_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = vouch_instance::Instance::start(d.join("instance"), &Default::default()).unwrap();
    let tc = running.trust_config_path().display().to_string();
    let root = running.trusted_root_path().display().to_string();
    let log_url = running.log_url().to_owned();
    let (key, public) = keypair(d, "cosign");
    let cosign = Peer::new("cosign");
    let file = d.join("release.tar.gz");
    std::fs::write(&file, b"release bytes\n").unwrap();
    let file = file.to_str().unwrap();

    // --trust-config names the log; --rekor-url alone does too.
    let by_config = d.join("by-config.sigstore.json");
    let by_url = d.join("by-url.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--bundle",
        by_config.to_str().unwrap(),
    ]);
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--rekor-url",
        &log_url,
        "--bundle",
        by_url.to_str().unwrap(),
    ]);
    for bundle in [&by_config, &by_url] {
        let b = bundle.to_str().unwrap();
        let parsed = json(&std::fs::read_to_string(bundle).unwrap());
        let entries = parsed["verificationMaterial"]["tlogEntries"]
            .as_array()
            .unwrap();
        assert_eq!(entries.len(), 1, "{parsed}");
        assert_eq!(entries[0]["kindVersion"]["kind"], "hashedrekord");
        assert!(parsed["verificationMaterial"]["publicKey"]["hint"].is_string());
        let report = ok_json(&[
            "verify-blob",
            file,
            "--bundle",
            b,
            "--key",
            &public,
            "--trusted-root",
            &root,
        ])
        .to_string();
        assert!(
            report.contains("\"inclusionProofVerified\":true"),
            "{report}"
        );
        cosign.ok(&[
            "verify-blob",
            file,
            "--bundle",
            b,
            "--key",
            &public,
            "--trusted-root",
            &root,
            "--offline",
        ]);
    }

    // Tampered entries: each refused by vouch and by cosign.
    let original = json(&std::fs::read_to_string(&by_config).unwrap());
    let tampers: [(&str, fn(&mut Value)); 4] = [
        ("entry removed", |b| {
            b["verificationMaterial"]["tlogEntries"] = Value::Array(Vec::new());
        }),
        ("log index changed", |b| {
            let e = &mut b["verificationMaterial"]["tlogEntries"][0];
            let index: u64 = e["logIndex"].as_str().unwrap().parse().unwrap();
            e["logIndex"] = Value::from((index + 1).to_string());
        }),
        ("integrated time changed", |b| {
            let e = &mut b["verificationMaterial"]["tlogEntries"][0];
            let time: u64 = e["integratedTime"].as_str().unwrap().parse().unwrap();
            e["integratedTime"] = Value::from((time - 3600).to_string());
        }),
        ("signed entry timestamp flipped", |b| {
            let e = &mut b["verificationMaterial"]["tlogEntries"][0];
            let set = e["inclusionPromise"]["signedEntryTimestamp"]
                .as_str()
                .unwrap();
            // Flip one base64 character in the middle of the signature.
            let mut chars: Vec<char> = set.chars().collect();
            let i = chars.len() / 2;
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            e["inclusionPromise"]["signedEntryTimestamp"] =
                Value::from(chars.into_iter().collect::<String>());
        }),
    ];
    for (what, tamper) in tampers {
        let mut bundle = original.clone();
        tamper(&mut bundle);
        let path = d.join("tampered.sigstore.json");
        std::fs::write(&path, bundle.to_string()).unwrap();
        let p = path.to_str().unwrap();
        let vouch_said = fails_with(
            3,
            &[
                "verify-blob",
                file,
                "--bundle",
                p,
                "--key",
                &public,
                "--trusted-root",
                &root,
            ],
        );
        let said = cosign.fails(&[
            "verify-blob",
            file,
            "--bundle",
            p,
            "--key",
            &public,
            "--trusted-root",
            &root,
            "--offline",
        ]);
        // Without the entry nothing is logged; with a changed one the log's signed promise no
        // longer covers it.
        let expected = match what {
            "entry removed" => "expected a transparency log entry",
            _ => "FAILED  signed entry timestamp",
        };
        assert!(vouch_said.contains(expected), "{what}: {vouch_said}");
        assert!(
            said.contains("not enough verified log entries from transparency log"),
            "{what}: {said}"
        );
    }

    // A statement (sign-blob --in-toto / attest-blob) is logged as dsse.
    let predicate = d.join("predicate.json");
    std::fs::write(&predicate, br#"{"builder":"ci"}"#).unwrap();
    let attested = d.join("attested.sigstore.json");
    ok(&[
        "attest-blob",
        file,
        "--predicate",
        predicate.to_str().unwrap(),
        "--type",
        "https://vouch.example/test/v1",
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--bundle",
        attested.to_str().unwrap(),
    ]);
    let parsed = json(&std::fs::read_to_string(&attested).unwrap());
    assert_eq!(
        parsed["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"], "dsse",
        "{parsed}"
    );
    ok(&[
        "verify-blob",
        file,
        "--bundle",
        attested.to_str().unwrap(),
        "--key",
        &public,
        "--trusted-root",
        &root,
    ]);

    // A blob signed with no log: refused by default, naming the check and the flag; accepted
    // with --insecure-ignore-tlog.
    let unlogged = d.join("unlogged.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--bundle",
        unlogged.to_str().unwrap(),
    ]);
    let args = [
        "verify-blob",
        file,
        "--bundle",
        unlogged.to_str().unwrap(),
        "--key",
        &public,
    ];
    let said = fails_with(3, &args);
    assert!(
        said.contains(
            "FAILED  transparency log entry: invalid bundle: expected a transparency log entry"
        ),
        "{said}"
    );
    assert!(said.contains("--insecure-ignore-tlog"), "{said}");
    let report = json(
        &String::from_utf8(common::vouch(&[&args[..], &["-o", "json"]].concat()).stdout).unwrap(),
    );
    assert_eq!(report["failedCheck"], "transparency log entry", "{report}");
    let report = ok_json(&[&args[..], &["--insecure-ignore-tlog"]].concat());
    assert_eq!(report["verified"], true, "{report}");
}

#[test]
fn key_signing_refuses_a_rekor_v2_log_it_cannot_write_to_rather_than_skipping_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inst = d.join("instance");
    ok(&["instance", "init", "--rekor-v2", inst.to_str().unwrap()]);
    let tc = inst.join("trust_config.json");
    assert!(tc.is_file(), "instance init writes {}", tc.display());
    let (key, _) = keypair(d, "cosign");
    let file = d.join("a.txt");
    std::fs::write(&file, b"a\n").unwrap();
    let args = [
        "sign-blob",
        file.to_str().unwrap(),
        "--key",
        &key,
        "--trust-config",
        tc.to_str().unwrap(),
    ];
    let said = fails_with(1, &args);
    assert!(said.contains("is a Rekor v2 log"), "{said}");
    assert!(said.contains("--tlog-upload=false"), "{said}");
    // Opting out signs without an entry.
    let bundle = json(&ok(&[&args[..], &["--tlog-upload=false"]].concat()));
    assert!(
        bundle["verificationMaterial"]["tlogEntries"].is_null(),
        "{bundle}"
    );
}
