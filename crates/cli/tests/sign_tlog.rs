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
    let tampers: [Edit; 4] = [
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

/// A second Rekor v2 log: `vouch tlog serve --api v2` with its own Ed25519 key, killed on
/// drop. `tlog` is its `trustedRoot.tlogs[]` entry (log ID = the C2SP key ID, as Rekor v2 and
/// the instance's own log). Its origin is the host name of its URL: sigstore-go (cosign v3)
/// verifies a Rekor v2 checkpoint under the host name of the trusted root's `baseUrl`
/// (`pkg/verify/tlog.go`), as rekor-tiles names its logs.
struct SecondLog {
    child: std::process::Child,
    url: String,
    tlog: Value,
}

impl Drop for SecondLog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn second_log(dir: &Path, name: &str) -> SecondLog {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use sha2::{Digest as _, Sha256};
    use std::io::BufRead as _;
    use vouch_sign::{KeyAlgorithm, SigningKey};

    const ORIGIN: &str = "127.0.0.1";
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let b64 = B64.encode(key.to_pkcs8_der().unwrap().as_bytes());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&key_path, pem).unwrap();
    let db = format!("sqlite:{}", dir.join(format!("{name}.db")).display());
    let mut child = common::vouch_cmd(&[
        "tlog",
        "serve",
        "--api",
        "v2",
        "--origin",
        ORIGIN,
        "--db",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--key",
        key_path.to_str().unwrap(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::inherit())
    .spawn()
    .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"))
        .to_owned();
    let spki = key.public_key().spki_der().to_vec();
    // C2SP signed-note key ID: SHA-256(origin || "\n" || 0x01 || Ed25519 public key).
    let log_id = Sha256::new()
        .chain_update(ORIGIN.as_bytes())
        .chain_update(b"\n\x01")
        .chain_update(&spki[spki.len() - 32..])
        .finalize();
    let tlog = serde_json::json!({
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "logId": {"keyId": B64.encode(log_id)},
        "publicKey": {
            "keyDetails": "PKIX_ED25519",
            "rawBytes": B64.encode(&spki),
            "validFor": {"start": "1970-01-01T00:00:00Z"},
        },
    });
    SecondLog { child, url, tlog }
}

/// The instance's trust config with `logs` added to the trusted root and to the signing
/// config (each its own operator; `only`: instead of the instance's log) under `selector`;
/// written to `dir/name`, with its trusted root next to it. Returns (trust config, trusted
/// root) paths.
fn two_log_trust(
    trust_config: &Path,
    logs: &[&SecondLog],
    selector: Value,
    dir: &Path,
    name: &str,
    only: bool,
) -> (String, String) {
    let mut tc = json(&std::fs::read_to_string(trust_config).unwrap());
    let template = tc["signingConfig"]["rekorTlogUrls"][0].clone();
    if only {
        tc["signingConfig"]["rekorTlogUrls"] = Value::Array(Vec::new());
    }
    for (i, log) in logs.iter().enumerate() {
        tc["trustedRoot"]["tlogs"]
            .as_array_mut()
            .unwrap()
            .push(log.tlog.clone());
        let mut service = template.clone();
        service["url"] = Value::from(log.url.clone());
        service["operator"] = Value::from(format!("operator {i}"));
        tc["signingConfig"]["rekorTlogUrls"]
            .as_array_mut()
            .unwrap()
            .push(service);
    }
    tc["signingConfig"]["rekorTlogConfig"] = selector;
    let tc_path = dir.join(format!("{name}.trust_config.json"));
    let root_path = dir.join(format!("{name}.trusted_root.json"));
    std::fs::write(&tc_path, tc.to_string()).unwrap();
    std::fs::write(&root_path, tc["trustedRoot"].to_string()).unwrap();
    (
        tc_path.display().to_string(),
        root_path.display().to_string(),
    )
}

/// A named edit of a bundle.
type Edit = (&'static str, fn(&mut Value));

/// A named edit of a bundle, the check vouch names refusing it, whether cosign refuses it.
type Tamper = (&'static str, fn(&mut Value), &'static str, bool);

fn entries(bundle: &Value) -> &Vec<Value> {
    bundle["verificationMaterial"]["tlogEntries"]
        .as_array()
        .unwrap_or_else(|| panic!("no tlogEntries: {bundle}"))
}

#[test]
fn key_signatures_go_into_every_selected_rekor_v2_log_with_a_timestamp_and_both_verify_them() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options = vouch_instance::StartOptions {
        rekor_v2: true,
        ..Default::default()
    };
    let running = vouch_instance::Instance::start(d.join("instance"), &options).unwrap();
    let tc = running.trust_config_path().display().to_string();
    let root = running.trusted_root_path().display().to_string();
    let second = second_log(d, "second");
    let third = second_log(d, "third");
    let tc_path = running.trust_config_path();
    // The second log alone (with the instance's TSA), a `vouch tlog serve --api v2` of its own.
    let (tc2, root2) = two_log_trust(
        &tc_path,
        &[&second],
        serde_json::json!({"selector": "ANY"}),
        d,
        "second",
        true,
    );
    let (key, public) = keypair(d, "cosign");
    let cosign = Peer::new("cosign");
    let file = d.join("release.tar.gz");
    std::fs::write(&file, b"release bytes for Rekor v2\n").unwrap();
    let file = file.to_str().unwrap();
    let predicate = d.join("predicate.json");
    std::fs::write(&predicate, br#"{"builder":"ci"}"#).unwrap();
    let predicate = predicate.to_str().unwrap();
    let vouch_verify = |bundle: &Path, root: &str, extra: &[&str]| {
        let b = bundle.to_str().unwrap().to_owned();
        [
            &[
                "verify-blob",
                file,
                "--bundle",
                &b,
                "--key",
                &public,
                "--trusted-root",
                root,
            ][..],
            extra,
        ]
        .concat()
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<String>>()
    };
    let run_ok = |args: &[String]| ok_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let run_fails =
        |args: &[String]| fails_with(3, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let cosign_args = |bundle: &Path, root: &str| -> Vec<String> {
        [
            "verify-blob",
            file,
            "--bundle",
            bundle.to_str().unwrap(),
            "--key",
            &public,
            "--trusted-root",
            root,
            "--offline",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let cosign_ok = |bundle: &Path, root: &str| {
        cosign.ok(&cosign_args(bundle, root)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>())
    };
    let cosign_fails = |bundle: &Path, root: &str| {
        cosign.fails(
            &cosign_args(bundle, root)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    };

    // The instance's own trust config (its Rekor v2 log and TSA): logged, timestamped,
    // verified by vouch.
    let mine = d.join("instance-log.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--bundle",
        mine.to_str().unwrap(),
    ]);
    let report = run_ok(&vouch_verify(&mine, &root, &[])).to_string();
    assert!(report.contains("hashedrekord 0.0.2 (Rekor v2)"), "{report}");
    // cosign v3 (sigstore-go) names a v2 checkpoint's note verifier after the log URL's host
    // name: the instance's log signs under that origin, so cosign verifies its entries too.
    cosign_ok(&mine, &root);

    // One Rekor v2 log: a hashedrekord 0.0.2 naming the public key, no promise, and the TSA's
    // timestamp; a statement is logged as hashedrekord over its PAE (sigstore-go and
    // sigstore-python 4.x on Rekor v2).
    let (tc, root) = (tc2, root2);
    let blob = d.join("blob.sigstore.json");
    let att = d.join("att.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--bundle",
        blob.to_str().unwrap(),
    ]);
    ok(&[
        "attest-blob",
        file,
        "--predicate",
        predicate,
        "--type",
        "https://vouch.example/test/v1",
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--bundle",
        att.to_str().unwrap(),
    ]);
    let spki = {
        use base64::Engine as _;
        let pem = std::fs::read_to_string(&public).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.encode(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        )
    };
    for bundle in [&blob, &att] {
        let parsed = json(&std::fs::read_to_string(bundle).unwrap());
        let [entry] = entries(&parsed).as_slice() else {
            panic!("one entry: {parsed}");
        };
        assert_eq!(
            entry["kindVersion"],
            serde_json::json!({"kind": "hashedrekord", "version": "0.0.2"}),
            "{parsed}"
        );
        assert!(entry["inclusionPromise"].is_null(), "{entry}");
        assert!(
            entry["integratedTime"].is_null() || entry["integratedTime"] == "0",
            "{entry}"
        );
        let body = {
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(entry["canonicalizedBody"].as_str().unwrap())
                .unwrap();
            json(&String::from_utf8(raw).unwrap())
        };
        let verifier = &body["spec"]["hashedRekordV002"]["signature"]["verifier"];
        assert_eq!(verifier["keyDetails"], "PKIX_ECDSA_P256_SHA_256", "{body}");
        assert_eq!(verifier["publicKey"]["rawBytes"], spki.as_str(), "{body}");
        assert!(parsed["verificationMaterial"]["publicKey"]["hint"].is_string());
        assert_eq!(
            parsed["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{parsed}"
        );
        let report = run_ok(&vouch_verify(bundle, &root, &[])).to_string();
        assert!(
            report.contains("\"inclusionProofVerified\":true"),
            "{report}"
        );
        assert!(report.contains("hashedrekord 0.0.2 (Rekor v2)"), "{report}");
        cosign_ok(bundle, &root);
    }

    // cosign v3's spelling: a bare signing config (--signing-config) and the trusted root to
    // check against (--trusted-root). cosign v3 signs with the same two files into the same
    // log; each tool verifies the other's bundle.
    let signing_config = d.join("second.signing_config.json");
    std::fs::write(
        &signing_config,
        json(&std::fs::read_to_string(&tc).unwrap())["signingConfig"].to_string(),
    )
    .unwrap();
    let sc = signing_config.to_str().unwrap();
    let by_vouch = d.join("by-vouch-sc.sigstore.json");
    let by_cosign = d.join("by-cosign-sc.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--signing-config",
        sc,
        "--trusted-root",
        &root,
        "--bundle",
        by_vouch.to_str().unwrap(),
    ]);
    cosign.ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--signing-config",
        sc,
        "--trusted-root",
        &root,
        "--bundle",
        by_cosign.to_str().unwrap(),
        "--yes",
    ]);
    for bundle in [&by_vouch, &by_cosign] {
        let parsed = json(&std::fs::read_to_string(bundle).unwrap());
        assert_eq!(entries(&parsed).len(), 1, "{parsed}");
        assert_eq!(
            entries(&parsed)[0]["kindVersion"]["version"],
            "0.0.2",
            "{parsed}"
        );
        run_ok(&vouch_verify(bundle, &root, &[]));
        cosign_ok(bundle, &root);
    }
    // Without --trusted-root key signing is not checked after signing (as cosign); keyless
    // signing always is, so it needs one.
    ok(&["sign-blob", file, "--key", &key, "--signing-config", sc]);
    let said = fails_with(1, &["sign-blob", file, "--keyless", "--signing-config", sc]);
    assert!(said.contains("needs --trusted-root"), "{said}");

    // Images: signed and attested (bundle format, cosign 3's) into the v2 log; cosign v3 and
    // vouch verify them with the key and the instance's root. The legacy format needs a
    // Rekor v1 signed entry timestamp for cosign's annotation: refused, not stored unlogged.
    let image = push_image(&registry, d, "acme/v2logged", b"v2 logged\n");
    ok(&["sign", &image, "--key", &key, "--trust-config", &tc]);
    ok(&[
        "attest",
        &image,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--predicate",
        predicate,
        "--type",
        "custom",
    ]);
    let report = ok_json(&["verify", &image, "--key", &public, "--trusted-root", &root]);
    assert!(
        report.to_string().contains("hashedrekord 0.0.2 (Rekor v2)"),
        "{report}"
    );
    ok(&[
        "verify-attestation",
        &image,
        "--type",
        "custom",
        "--key",
        &public,
        "--trusted-root",
        &root,
    ]);
    let cosign_image = [
        "--key",
        &public,
        "--trusted-root",
        &root,
        "--offline",
        "--allow-http-registry",
    ];
    cosign.ok(&[&["verify", &image][..], &cosign_image].concat());
    cosign.ok(&[
        &["verify-attestation", &image, "--type", "custom"][..],
        &cosign_image,
    ]
    .concat());
    let said = fails_with(
        1,
        &[
            "sign",
            &image,
            "--key",
            &key,
            "--trust-config",
            &tc,
            "--signature-format",
            "legacy",
        ],
    );
    assert!(said.contains("signed entry timestamp"), "{said}");

    // Negative: the v2 entry tampered with, its timestamp removed, more entries required
    // than there are: refused by vouch (naming the check) and by cosign.
    let original = json(&std::fs::read_to_string(&blob).unwrap());
    // cosign (sigstore-go) rebuilds a Rekor v2 entry's hash from the bundle instead of reading
    // canonicalizedBody, and asks a key signature for no time: it accepts the changed body and
    // the removed timestamp, where vouch refuses both (it compares the body with the bundle and
    // wants a verified time for every v2 entry).
    let tampers: [Tamper; 3] = [
        (
            "entry body",
            |b| {
                use base64::Engine as _;
                let e = &mut b["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"];
                let mut raw = base64::engine::general_purpose::STANDARD
                    .decode(e.as_str().unwrap())
                    .unwrap();
                // The digest's first base64 character, inside the JSON string.
                let at = String::from_utf8_lossy(&raw).find("\"digest\":\"").unwrap() + 10;
                raw[at] = if raw[at] == b'A' { b'B' } else { b'A' };
                *e = Value::from(base64::engine::general_purpose::STANDARD.encode(raw));
            },
            "FAILED  ",
            false,
        ),
        (
            "log index",
            |b| {
                let e = &mut b["verificationMaterial"]["tlogEntries"][0];
                let index: u64 = e["logIndex"].as_str().unwrap().parse().unwrap();
                e["logIndex"] = Value::from((index + 1).to_string());
                e["inclusionProof"]["logIndex"] = Value::from((index + 1).to_string());
            },
            "FAILED  ",
            true,
        ),
        (
            "timestamp removed",
            |b| {
                b["verificationMaterial"]["timestampVerificationData"] =
                    serde_json::json!({"rfc3161Timestamps": []});
            },
            "a Rekor v2 entry needs a verified RFC 3161 timestamp",
            false,
        ),
    ];
    for (what, tamper, expected, cosign_refuses) in tampers {
        let mut bundle = original.clone();
        tamper(&mut bundle);
        let path = d.join("tampered.sigstore.json");
        std::fs::write(&path, bundle.to_string()).unwrap();
        let said = run_fails(&vouch_verify(&path, &root, &[]));
        assert!(said.contains(expected), "{what}: {said}");
        if cosign_refuses {
            cosign_fails(&path, &root);
        }
    }
    let said = run_fails(&vouch_verify(&blob, &root, &["--tlog-threshold", "2"]));
    assert!(
        said.contains("FAILED  threshold: transparency log entries: 1 verified, 2 required"),
        "{said}"
    );

    // Two logs: the instance's and a second `vouch tlog serve --api v2`, both in the signing
    // config (ALL): one entry from each, --tlog-threshold 2 met; EXACT 1 and ANY: one entry;
    // EXACT 3 of 2: refused at signing.
    let (tc, root) = (
        running.trust_config_path().display().to_string(),
        running.trusted_root_path().display().to_string(),
    );
    let (tc_all, root_all) = two_log_trust(
        &tc_path,
        &[&second],
        serde_json::json!({"selector": "ALL"}),
        d,
        "all",
        false,
    );
    let both = d.join("both.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--trust-config",
        &tc_all,
        "--bundle",
        both.to_str().unwrap(),
    ]);
    let parsed = json(&std::fs::read_to_string(&both).unwrap());
    let logged = entries(&parsed);
    assert_eq!(logged.len(), 2, "{parsed}");
    assert_ne!(logged[0]["logId"], logged[1]["logId"], "{parsed}");
    let report = run_ok(&vouch_verify(&both, &root_all, &["--tlog-threshold", "2"]));
    let verified = report["evidence"]["tlogEntries"].as_array().unwrap();
    assert_eq!(verified.len(), 2, "{report}");
    assert!(
        verified.iter().all(|e| e["inclusionProofVerified"] == true),
        "{report}"
    );
    // cosign v3 verifies a bundle with entries from two logs: the second and a third
    // `vouch tlog serve --api v2`.
    let (tc_pair, root_pair) = two_log_trust(
        &tc_path,
        &[&second, &third],
        serde_json::json!({"selector": "ALL"}),
        d,
        "pair",
        true,
    );
    let pair = d.join("pair.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--trust-config",
        &tc_pair,
        "--bundle",
        pair.to_str().unwrap(),
    ]);
    assert_eq!(
        entries(&json(&std::fs::read_to_string(&pair).unwrap())).len(),
        2
    );
    run_ok(&vouch_verify(&pair, &root_pair, &["--tlog-threshold", "2"]));
    cosign_ok(&pair, &root_pair);
    // An attestation into both logs.
    let both_att = d.join("both-att.sigstore.json");
    ok(&[
        "attest-blob",
        file,
        "--predicate",
        predicate,
        "--type",
        "https://vouch.example/test/v1",
        "--key",
        &key,
        "--trust-config",
        &tc_all,
        "--bundle",
        both_att.to_str().unwrap(),
    ]);
    assert_eq!(
        entries(&json(&std::fs::read_to_string(&both_att).unwrap())).len(),
        2
    );
    run_ok(&vouch_verify(
        &both_att,
        &root_all,
        &["--tlog-threshold", "2"],
    ));
    // One of the two entries removed: threshold 2 not met; the instance's root alone does not
    // know the second log.
    let mut one = parsed.clone();
    one["verificationMaterial"]["tlogEntries"]
        .as_array_mut()
        .unwrap()
        .pop();
    let one_path = d.join("one-of-two.sigstore.json");
    std::fs::write(&one_path, one.to_string()).unwrap();
    let said = run_fails(&vouch_verify(
        &one_path,
        &root_all,
        &["--tlog-threshold", "2"],
    ));
    assert!(said.contains("1 verified, 2 required"), "{said}");
    run_ok(&vouch_verify(&one_path, &root_all, &[]));
    let said = run_fails(&vouch_verify(&both, &root, &[]));
    assert!(said.contains("FAILED  "), "{said}");

    for (name, selector, count) in [
        (
            "exact1",
            serde_json::json!({"selector": "EXACT", "count": 1}),
            1,
        ),
        ("any", serde_json::json!({"selector": "ANY"}), 1),
        (
            "exact2",
            serde_json::json!({"selector": "EXACT", "count": 2}),
            2,
        ),
    ] {
        let (tc_n, root_n) = two_log_trust(&tc_path, &[&second], selector, d, name, false);
        let out = d.join(format!("{name}.sigstore.json"));
        ok(&[
            "sign-blob",
            file,
            "--key",
            &key,
            "--trust-config",
            &tc_n,
            "--bundle",
            out.to_str().unwrap(),
        ]);
        let parsed = json(&std::fs::read_to_string(&out).unwrap());
        assert_eq!(entries(&parsed).len(), count, "{name}: {parsed}");
        let threshold = count.to_string();
        run_ok(&vouch_verify(
            &out,
            &root_n,
            &["--tlog-threshold", &threshold],
        ));
    }
    let (tc_3, _) = two_log_trust(
        &tc_path,
        &[&second],
        serde_json::json!({"selector": "EXACT", "count": 3}),
        d,
        "exact3",
        false,
    );
    let said = fails_with(
        1,
        &["sign-blob", file, "--key", &key, "--trust-config", &tc_3],
    );
    assert!(said.contains("EXACT 3"), "{said}");

    // A signing config with the v2 log and no TSA is refused (a v2 entry carries no signed
    // time). An Ed25519 key (vouch's own key file) is logged as Ed25519ph.
    let mut no_tsa = json(&std::fs::read_to_string(&tc).unwrap());
    no_tsa["signingConfig"]["tsaUrls"] = Value::Array(Vec::new());
    let no_tsa_path = d.join("no-tsa.trust_config.json");
    std::fs::write(&no_tsa_path, no_tsa.to_string()).unwrap();
    let said = fails_with(
        1,
        &[
            "sign-blob",
            file,
            "--key",
            &key,
            "--trust-config",
            no_tsa_path.to_str().unwrap(),
        ],
    );
    assert!(said.contains("tsaUrls"), "{said}");
    let (ed_key, ed_public) = common::keypair_with(d, "ed", "ed25519");
    let ed_bundle = d.join("ed.sigstore.json");
    ok(&[
        "sign-blob",
        file,
        "--key",
        &ed_key,
        "--trust-config",
        &tc,
        "--bundle",
        ed_bundle.to_str().unwrap(),
    ]);
    let report = ok_json(&[
        "verify-blob",
        file,
        "--bundle",
        ed_bundle.to_str().unwrap(),
        "--key",
        &ed_public,
        "--trusted-root",
        &root,
    ]);
    assert!(
        report.to_string().contains("hashedrekord 0.0.2 (Rekor v2)"),
        "{report}"
    );
    // A selected log that cannot be reached fails the signature (nothing is written), rather
    // than leaving the bundle with fewer entries than the signing config asked for.
    let mut dead = json(&std::fs::read_to_string(&tc_all).unwrap());
    dead["signingConfig"]["rekorTlogUrls"][1]["url"] = Value::from("http://127.0.0.1:9");
    let dead_path = d.join("dead.trust_config.json");
    std::fs::write(&dead_path, dead.to_string()).unwrap();
    let dead_bundle = d.join("dead.sigstore.json");
    let said = fails_with(
        1,
        &[
            "sign-blob",
            file,
            "--key",
            &key,
            "--trust-config",
            dead_path.to_str().unwrap(),
            "--bundle",
            dead_bundle.to_str().unwrap(),
        ],
    );
    assert!(said.contains("127.0.0.1:9"), "{said}");
    assert!(!dead_bundle.exists());
    // Opting out signs without an entry.
    let unlogged = json(&ok(&[
        "sign-blob",
        file,
        "--key",
        &key,
        "--trust-config",
        &tc,
        "--tlog-upload=false",
    ]));
    assert!(
        unlogged["verificationMaterial"]["tlogEntries"].is_null(),
        "{unlogged}"
    );
}

/// `vouch pipeline` with a key logs its signatures as `vouch sign --key` does: `[sign]
/// rekor_url` (checked against `[verify] trusted_root`), or the logs of `[sign] trust_config`
/// (a Rekor v2 instance: timestamped too). The pipeline's own verify stage and a plain `vouch
/// verify --key --trusted-root` (no insecure flag) accept the result; URLs that do not apply
/// to the signing mode are refused, naming the key.
#[test]
fn pipeline_key_signatures_are_logged_from_its_sign_config() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v1 = vouch_instance::Instance::start(d.join("v1"), &Default::default()).unwrap();
    let v2 = vouch_instance::Instance::start(
        d.join("v2"),
        &vouch_instance::StartOptions {
            rekor_v2: true,
            ..Default::default()
        },
    )
    .unwrap();
    let (key, public) = keypair(d, "cosign");
    let adv = d.join("advisories");
    std::fs::create_dir_all(&adv).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/data/advisories");
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&p, adv.join(p.file_name().unwrap())).unwrap();
        }
    }
    let app = d.join("app");
    std::fs::create_dir_all(app.join("app")).unwrap();
    std::fs::write(app.join("app/main.py"), "print('app')\n").unwrap();
    let add = format!("{}:/", app.display());
    let run = |name: &str, toml: &str| -> std::process::Output {
        let config = d.join(format!("{name}.toml"));
        std::fs::write(&config, toml).unwrap();
        let image = format!("{}/acme/{name}:v1", registry.host);
        let out = d.join(format!("out-{name}"));
        common::vouch(&[
            "pipeline",
            &image,
            "--config",
            config.to_str().unwrap(),
            "--add",
            &add,
            "--advisories",
            adv.to_str().unwrap(),
            "--fail-on",
            "high",
            "--out",
            out.to_str().unwrap(),
            "-o",
            "json",
        ])
    };
    let v1_root = v1.trusted_root_path().display().to_string();
    let v2_tc = v2.trust_config_path().display().to_string();
    let v2_root = v2.trusted_root_path().display().to_string();
    for (name, toml, root, kind) in [
        (
            "rekor-url",
            format!(
                "[sign]\nkey = {key:?}\nrekor_url = {:?}\n[verify]\ntrusted_root = {v1_root:?}\n",
                v1.log_url()
            ),
            &v1_root,
            "\"version\":\"0.0.1\"",
        ),
        (
            "trust-config",
            format!("[sign]\nkey = {key:?}\ntrust_config = {v2_tc:?}\n"),
            &v2_root,
            "\"version\":\"0.0.2\"",
        ),
    ] {
        let out = run(name, &toml);
        let said = common::text(&out);
        assert!(out.status.success(), "{name}: {said}");
        let report = json(&String::from_utf8_lossy(&out.stdout));
        let stages = report["stages"].to_string();
        assert!(!stages.contains("\"failed\""), "{name}: {report}");
        assert!(
            report
                .to_string()
                .contains("--trusted-root trusted_root.json"),
            "{name}: the verify commands name the root, not --insecure-ignore-tlog: {report}"
        );
        let image = format!("{}/acme/{name}:v1", registry.host);
        let verified = ok_json(&["verify", &image, "--key", &public, "--trusted-root", root]);
        let text = verified.to_string();
        assert!(
            text.contains("\"inclusionProofVerified\":true"),
            "{name}: {text}"
        );
        assert!(text.contains(kind), "{name}: {text}");
    }

    // Refusals, each naming the key: a log whose entries nothing could check, a CA for a key
    // signer, a log URL for keyless signing.
    for (name, toml, expected) in [
        (
            "no-root",
            format!("[sign]\nkey = {key:?}\nrekor_url = {:?}\n", v1.log_url()),
            "[verify] trusted_root",
        ),
        (
            "ca-for-key",
            format!("[sign]\nkey = {key:?}\nfulcio_url = {:?}\n", v1.ca_url()),
            "[sign] fulcio_url applies to keyless signing",
        ),
        (
            "log-for-keyless",
            format!(
                "[sign]\nkeyless = true\ntrust_config = {v2_tc:?}\nrekor_url = {:?}\n",
                v1.log_url()
            ),
            "[sign] rekor_url applies to key signing",
        ),
    ] {
        let out = run(name, &toml);
        let said = common::text(&out);
        assert!(!out.status.success(), "{name}: {said}");
        assert!(said.contains(expected), "{name}: {said}");
    }
}

/// A key `openssl genpkey` makes (`args` after `-algorithm`), as PKCS#8 PEM, with its
/// `PUBLIC KEY` PEM; with `cosign`, also imported into a cosign key file (`cosign
/// import-key-pair`, the tests' password) so both tools sign with the same key.
struct OpensslKey {
    pem: String,
    public: String,
    cosign_key: String,
}

fn openssl_key(d: &Path, name: &str, args: &[&str], cosign: Option<&Peer>) -> OpensslKey {
    let openssl = vouch_testkit::require_tool("openssl");
    let pem = d.join(format!("{name}.pem"));
    let public = d.join(format!("{name}.pub.pem"));
    let mut genpkey = std::process::Command::new(&openssl);
    genpkey
        .args(["genpkey", "-algorithm"])
        .args(args)
        .arg("-out")
        .arg(&pem);
    vouch_testkit::run(&mut genpkey);
    let mut pubout = std::process::Command::new(&openssl);
    pubout
        .args(["pkey", "-pubout", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&public);
    vouch_testkit::run(&mut pubout);
    let prefix = d.join(format!("{name}-cosign"));
    if let Some(cosign) = cosign {
        cosign.ok(&[
            "import-key-pair",
            "--key",
            pem.to_str().unwrap(),
            "--output-key-prefix",
            prefix.to_str().unwrap(),
            "--yes",
        ]);
    }
    OpensslKey {
        pem: pem.display().to_string(),
        public: public.display().to_string(),
        cosign_key: format!("{}.key", prefix.display()),
    }
}

fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The decoded canonical body of a bundle's only Rekor v2 entry.
fn v2_body(bundle: &Value) -> Value {
    use base64::Engine as _;
    let [entry] = entries(bundle).as_slice() else {
        panic!("one entry: {bundle}");
    };
    assert_eq!(
        entry["kindVersion"],
        serde_json::json!({"kind": "hashedrekord", "version": "0.0.2"}),
        "{bundle}"
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(entry["canonicalizedBody"].as_str().unwrap())
        .unwrap();
    json(&String::from_utf8(raw).unwrap())
}

/// Every key type a Rekor v2 log accepts signs into one through `--signing-config` without a
/// CA (cosign v3 asks for one only when keyless): P-384 over SHA-384, P-521 over SHA-512, RSA
/// PKCS#1 v1.5 2048/3072/4096 over SHA-256, Ed25519 as Ed25519ph over SHA-512 (sigstore-go
/// `getRekorV2TLE`, cosign v3 `GetDefaultLoadOptions`), blobs and statements alike. Keys come
/// from openssl, read as PEM and as cosign key files. vouch verifies its own bundles and
/// cosign v3's made with the same key and signing config; cosign v3 verifies vouch's. A
/// tampered signature, another key and a tampered entry body are refused for every type.
#[test]
fn every_key_type_of_rekor_v2_is_logged_and_vouch_and_cosign_verify_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options = vouch_instance::StartOptions {
        rekor_v2: true,
        ..Default::default()
    };
    let running = vouch_instance::Instance::start(d.join("instance"), &options).unwrap();
    let root = running.trusted_root_path().display().to_string();
    let tc = running.trust_config_path();
    // cosign v3's files: a bare signing config, here without caUrls, and the trusted root.
    let mut signing_config = json(&std::fs::read_to_string(&tc).unwrap())["signingConfig"].clone();
    signing_config["caUrls"] = Value::Array(Vec::new());
    let sc_path = d.join("no-ca.signing_config.json");
    std::fs::write(&sc_path, signing_config.to_string()).unwrap();
    let sc = sc_path.to_str().unwrap();
    let cosign = Peer::new("cosign");
    let file = d.join("artifact.txt");
    std::fs::write(&file, b"an artifact for every key type\n").unwrap();
    let file = file.to_str().unwrap();
    // cosign signs another artifact: RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic,
    // so the same bytes signed by both tools would be one entry (a log de-duplicates it).
    let cosign_file = d.join("cosign-artifact.txt");
    std::fs::write(&cosign_file, b"an artifact cosign signs\n").unwrap();
    let cosign_file = cosign_file.to_str().unwrap();
    let predicate = d.join("predicate.json");
    std::fs::write(&predicate, br#"{"builder":"ci"}"#).unwrap();
    let predicate = predicate.to_str().unwrap();
    let other = openssl_key(
        d,
        "other",
        &["EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        Some(&cosign),
    );

    let vouch_verify = |bundle: &Path, public: &str| -> Vec<String> {
        let signed = if bundle.to_str().unwrap().contains(".cosign.") {
            cosign_file
        } else {
            file
        };
        [
            "verify-blob",
            signed,
            "--bundle",
            bundle.to_str().unwrap(),
            "--key",
            public,
            "--trusted-root",
            &root,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    // cosign v3.1 loads a --key verifier with SHA-256 whatever the bundle's digest says
    // (`verify_blob.go`: `LoadVerifierFromKeyOrCert(.., c.HashAlgorithm)`, SHA-256 unless
    // --signature-digest-algorithm), so the scheme's hash is named for it.
    let cosign_verify = |bundle: &Path, public: &str, hash: &str| -> Vec<String> {
        let signed = if bundle.to_str().unwrap().contains(".cosign.") {
            cosign_file
        } else {
            file
        };
        let digest = match hash {
            "SHA2_384" => "sha384",
            "SHA2_512" => "sha512",
            _ => "sha256",
        };
        [
            "verify-blob",
            signed,
            "--bundle",
            bundle.to_str().unwrap(),
            "--key",
            public,
            "--trusted-root",
            &root,
            "--offline",
            "--signature-digest-algorithm",
            digest,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };

    let key_types: [(&str, &[&str], &str, &str); 6] = [
        (
            "p384",
            &["EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "PKIX_ECDSA_P384_SHA_384",
            "SHA2_384",
        ),
        (
            "p521",
            &["EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "PKIX_ECDSA_P521_SHA_512",
            "SHA2_512",
        ),
        (
            "rsa2048",
            &["RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "PKIX_RSA_PKCS1V15_2048_SHA256",
            "SHA2_256",
        ),
        (
            "rsa3072",
            &["RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            "PKIX_RSA_PKCS1V15_3072_SHA256",
            "SHA2_256",
        ),
        (
            "rsa4096",
            &["RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
            "PKIX_RSA_PKCS1V15_4096_SHA256",
            "SHA2_256",
        ),
        ("ed25519", &["ed25519"], "PKIX_ED25519_PH", "SHA2_512"),
    ];
    for (name, genpkey, details, hash) in key_types {
        let key = openssl_key(d, name, genpkey, Some(&cosign));
        let blob = d.join(format!("{name}.blob.sigstore.json"));
        let att = d.join(format!("{name}.att.sigstore.json"));
        let by_cosign = d.join(format!("{name}.cosign.sigstore.json"));
        // The PEM key for the blob, the cosign key file for the statement.
        ok(&[
            "sign-blob",
            file,
            "--key",
            &key.pem,
            "--signing-config",
            sc,
            "--trusted-root",
            &root,
            "--bundle",
            blob.to_str().unwrap(),
        ]);
        ok(&[
            "attest-blob",
            file,
            "--predicate",
            predicate,
            "--type",
            "https://vouch.example/test/v1",
            "--key",
            &key.cosign_key,
            "--signing-config",
            sc,
            "--trusted-root",
            &root,
            "--bundle",
            att.to_str().unwrap(),
        ]);
        // cosign v3.1 signs Ed25519 keys as Ed25519ph into the log but verifies with pure
        // Ed25519 (`LoadVerifierFromKeyOrCert` without `WithED25519ph`): it refuses its own
        // bundle after signing ("failed to verify signature") and at verify-blob, so for
        // Ed25519 it signs without the post-signing check and verifies nothing.
        let cosign_verifies = name != "ed25519";
        let root_args: &[&str] = if cosign_verifies {
            &["--trusted-root", &root]
        } else {
            &[]
        };
        cosign.ok(&[
            &[
                "sign-blob",
                cosign_file,
                "--key",
                &key.cosign_key,
                "--signing-config",
                sc,
                "--bundle",
                by_cosign.to_str().unwrap(),
                "--yes",
            ][..],
            root_args,
        ]
        .concat());
        let spki = {
            let pem = std::fs::read_to_string(&key.public).unwrap();
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            body
        };
        for (bundle, what) in [
            (&blob, "vouch blob"),
            (&att, "vouch statement"),
            (&by_cosign, "cosign blob"),
        ] {
            let parsed = json(&std::fs::read_to_string(bundle).unwrap());
            let body = v2_body(&parsed);
            let spec = &body["spec"]["hashedRekordV002"];
            assert_eq!(
                spec["signature"]["verifier"]["keyDetails"], details,
                "{name} {what}: {body}"
            );
            assert_eq!(spec["data"]["algorithm"], hash, "{name} {what}: {body}");
            assert_eq!(
                spec["signature"]["verifier"]["publicKey"]["rawBytes"],
                spki.as_str(),
                "{name} {what}: {body}"
            );
            if bundle != &att {
                assert_eq!(
                    parsed["messageSignature"]["messageDigest"]["algorithm"], hash,
                    "{name} {what}: {parsed}"
                );
            }
            let report = ok_json(&as_refs(&vouch_verify(bundle, &key.public))).to_string();
            assert!(
                report.contains("hashedrekord 0.0.2 (Rekor v2)"),
                "{name} {what}: {report}"
            );
            if cosign_verifies {
                cosign.ok(&as_refs(&cosign_verify(bundle, &key.public, hash)));
            }
        }
        // Negative, each refused by vouch and (signature, key) by cosign: a signature byte
        // changed; another key; the entry's digest changed.
        let original = json(&std::fs::read_to_string(&blob).unwrap());
        let mut bad_sig = original.clone();
        {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let s = &mut bad_sig["messageSignature"]["signature"];
            let mut raw = b64.decode(s.as_str().unwrap()).unwrap();
            let last = raw.len() - 1;
            raw[last] ^= 1;
            *s = Value::from(b64.encode(raw));
        }
        let bad_sig_path = d.join(format!("{name}.bad-sig.sigstore.json"));
        std::fs::write(&bad_sig_path, bad_sig.to_string()).unwrap();
        let said = fails_with(3, &as_refs(&vouch_verify(&bad_sig_path, &key.public)));
        assert!(
            said.contains("FAILED  "),
            "{name} tampered signature: {said}"
        );
        if cosign_verifies {
            cosign.fails(&as_refs(&cosign_verify(&bad_sig_path, &key.public, hash)));
        }
        let said = fails_with(3, &as_refs(&vouch_verify(&blob, &other.public)));
        assert!(said.contains("FAILED  "), "{name} wrong key: {said}");
        if cosign_verifies {
            cosign.fails(&as_refs(&cosign_verify(&blob, &other.public, hash)));
        }
        let mut bad_body = original.clone();
        {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let e = &mut bad_body["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"];
            let mut raw = b64.decode(e.as_str().unwrap()).unwrap();
            let at = String::from_utf8_lossy(&raw).find("\"digest\":\"").unwrap() + 10;
            raw[at] = if raw[at] == b'A' { b'B' } else { b'A' };
            *e = Value::from(b64.encode(raw));
        }
        let bad_body_path = d.join(format!("{name}.bad-body.sigstore.json"));
        std::fs::write(&bad_body_path, bad_body.to_string()).unwrap();
        let said = fails_with(3, &as_refs(&vouch_verify(&bad_body_path, &key.public)));
        assert!(said.contains("FAILED  "), "{name} tampered body: {said}");
    }

    // An image signed and attested (bundle format) with a P-521 key into the log: the DSSE
    // envelope is logged as a hashedrekord over the SHA-512 of its PAE; vouch and cosign v3
    // verify both.
    let registry = RegistryServer::start();
    let image = push_image(&registry, d, "acme/p521", b"p521 logged\n");
    let p521_key = d.join("p521.pem").display().to_string();
    let p521_public = d.join("p521.pub.pem").display().to_string();
    ok(&[
        "sign",
        &image,
        "--key",
        &p521_key,
        "--signing-config",
        sc,
        "--trusted-root",
        &root,
    ]);
    ok(&[
        "attest",
        &image,
        "--key",
        &p521_key,
        "--signing-config",
        sc,
        "--trusted-root",
        &root,
        "--predicate",
        predicate,
        "--type",
        "custom",
    ]);
    let report = ok_json(&[
        "verify",
        &image,
        "--key",
        &p521_public,
        "--trusted-root",
        &root,
    ]);
    assert!(
        report.to_string().contains("hashedrekord 0.0.2 (Rekor v2)"),
        "{report}"
    );
    ok(&[
        "verify-attestation",
        &image,
        "--type",
        "custom",
        "--key",
        &p521_public,
        "--trusted-root",
        &root,
    ]);
    let cosign_image = [
        "--key",
        &p521_public,
        "--trusted-root",
        &root,
        "--offline",
        "--allow-http-registry",
        "--signature-digest-algorithm",
        "sha512",
    ];
    cosign.ok(&[&["verify", &image][..], &cosign_image].concat());
    cosign.ok(&[
        &["verify-attestation", &image, "--type", "custom"][..],
        &cosign_image,
    ]
    .concat());
    let said = fails_with(
        3,
        &[
            "verify",
            &image,
            "--key",
            &other.public,
            "--trusted-root",
            &root,
        ],
    );
    assert!(said.contains("FAILED  "), "{said}");

    // An RSA key of a size no Rekor v2 key details name is refused before anything is logged,
    // naming the sizes.
    let odd = openssl_key(
        d,
        "rsa2560",
        &["RSA", "-pkeyopt", "rsa_keygen_bits:2560"],
        None,
    );
    let said = fails_with(
        1,
        &[
            "sign-blob",
            file,
            "--key",
            &odd.pem,
            "--signing-config",
            sc,
            "--trusted-root",
            &root,
        ],
    );
    assert!(
        said.contains("RSA-2560") && said.contains("2048, 3072 or 4096"),
        "{said}"
    );

    // Without caUrls, keyless signing is refused naming the field; key signing went through.
    let said = fails_with(
        1,
        &[
            "sign-blob",
            file,
            "--keyless",
            "--signing-config",
            sc,
            "--trusted-root",
            &root,
        ],
    );
    assert!(said.contains("caUrls"), "{said}");
}

/// A running instance and cosign v3's files for key signing into its log: a bare signing
/// config without `caUrls` (key signing needs none) and the trusted root. Used by the KMS and
/// PKCS#11 tests too.
pub(crate) struct KeySigningInstance {
    _running: vouch_instance::RunningInstance,
    pub(crate) root: String,
    pub(crate) signing_config: String,
    pub(crate) trust_config: String,
}

/// Starts an instance in `dir` whose log is Rekor v2 (`rekor_v2`) or Rekor v1.
pub(crate) fn key_signing_instance(dir: &Path, rekor_v2: bool) -> KeySigningInstance {
    let options = vouch_instance::StartOptions {
        rekor_v2,
        ..Default::default()
    };
    let running = vouch_instance::Instance::start(dir.join("instance"), &options).unwrap();
    let tc = running.trust_config_path();
    let mut signing_config = json(&std::fs::read_to_string(&tc).unwrap())["signingConfig"].clone();
    signing_config["caUrls"] = Value::Array(Vec::new());
    let sc_path = dir.join("no-ca.signing_config.json");
    std::fs::write(&sc_path, signing_config.to_string()).unwrap();
    KeySigningInstance {
        root: running.trusted_root_path().display().to_string(),
        signing_config: sc_path.display().to_string(),
        trust_config: tc.display().to_string(),
        _running: running,
    }
}

/// `sign-blob BLOB --key KEY` by a P-384 key (file, KMS or token) into `instance`'s Rekor v2
/// log, run by `run` (the caller's environment: token, KMS endpoint), written to `bundle`:
/// the entry names `PKIX_ECDSA_P384_SHA_384` and a SHA2_384 digest, the bundle a SHA2_384
/// message digest; vouch and cosign v3 verify it with `public`; both refuse `other_public`.
pub(crate) fn check_p384_v2_blob(
    run: impl Fn(&[&str]) -> String,
    instance: &KeySigningInstance,
    key: &str,
    blob: &str,
    bundle: &str,
    public: &str,
    other_public: &str,
) {
    run(&[
        "sign-blob",
        blob,
        "--key",
        key,
        "--signing-config",
        &instance.signing_config,
        "--trusted-root",
        &instance.root,
        "--bundle",
        bundle,
    ]);
    let parsed = json(&std::fs::read_to_string(bundle).unwrap());
    let body = v2_body(&parsed);
    let spec = &body["spec"]["hashedRekordV002"];
    assert_eq!(
        spec["signature"]["verifier"]["keyDetails"], "PKIX_ECDSA_P384_SHA_384",
        "{body}"
    );
    assert_eq!(spec["data"]["algorithm"], "SHA2_384", "{body}");
    assert_eq!(
        parsed["messageSignature"]["messageDigest"]["algorithm"], "SHA2_384",
        "{parsed}"
    );
    let vouch_args = |key: &str| {
        [
            "verify-blob",
            blob,
            "--bundle",
            bundle,
            "--key",
            key,
            "--trusted-root",
            &instance.root,
        ]
        .map(str::to_owned)
    };
    let report = ok_json(&as_refs(&vouch_args(public))).to_string();
    assert!(report.contains("hashedrekord 0.0.2 (Rekor v2)"), "{report}");
    let said = fails_with(3, &as_refs(&vouch_args(other_public)));
    assert!(said.contains("FAILED  "), "{said}");
    let cosign = Peer::new("cosign");
    let cosign_args = |key: &str| {
        [
            "verify-blob",
            blob,
            "--bundle",
            bundle,
            "--key",
            key,
            "--trusted-root",
            &instance.root,
            "--offline",
            "--signature-digest-algorithm",
            "sha384",
        ]
        .map(str::to_owned)
    };
    cosign.ok(&as_refs(&cosign_args(public)));
    cosign.fails(&as_refs(&cosign_args(other_public)));
}

/// The decoded canonical body of a bundle's only Rekor v1 entry, which must be `kind`
/// 0.0.1.
fn v1_body(bundle: &Value, kind: &str) -> Value {
    use base64::Engine as _;
    let [entry] = entries(bundle).as_slice() else {
        panic!("one entry: {bundle}");
    };
    assert_eq!(
        entry["kindVersion"],
        serde_json::json!({"kind": kind, "version": "0.0.1"}),
        "{bundle}"
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(entry["canonicalizedBody"].as_str().unwrap())
        .unwrap();
    json(&String::from_utf8(raw).unwrap())
}

/// Every key type into a Rekor v1 log (the instance's own): a message signature is a
/// `hashedrekord` 0.0.1 over the digest of the key's own hash, as sigstore-go
/// (`getRekorV1TLE`) and cosign v3 log it and as Rekor v1's schema allows (`sha256`,
/// `sha384`, `sha512`; Ed25519 only as Ed25519ph): P-384 over SHA-384, P-521 over SHA-512,
/// RSA over SHA-256, Ed25519ph over SHA-512. A statement is a `dsse` 0.0.1 entry, signed as
/// Rekor v1 verifies it (the key's own scheme). vouch verifies each bundle and cosign v3's
/// made with the same key into the same log; cosign v3 verifies vouch's (not Ed25519: it
/// verifies with pure Ed25519). A tampered signature, another key and an entry the log
/// signed for another artifact are refused.
#[test]
fn every_key_type_into_a_rekor_v1_log_is_logged_with_its_own_hash_and_both_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let instance = key_signing_instance(d, false);
    let root = instance.root.as_str();
    let sc = instance.signing_config.as_str();
    let tc = instance.trust_config.as_str();
    let cosign = Peer::new("cosign");
    let file = d.join("artifact.txt");
    std::fs::write(&file, b"an artifact for a Rekor v1 log\n").unwrap();
    let file = file.to_str().unwrap();
    let other_file = d.join("other.txt");
    std::fs::write(&other_file, b"another artifact\n").unwrap();
    let other_file = other_file.to_str().unwrap();
    let cosign_file = d.join("cosign-artifact.txt");
    std::fs::write(&cosign_file, b"an artifact cosign signs into Rekor v1\n").unwrap();
    let cosign_file = cosign_file.to_str().unwrap();
    let predicate = d.join("predicate.json");
    std::fs::write(&predicate, br#"{"builder":"ci"}"#).unwrap();
    let predicate = predicate.to_str().unwrap();
    let other = openssl_key(
        d,
        "other",
        &["EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        None,
    );
    let vouch_verify = |signed: &str, bundle: &Path, public: &str| -> Vec<String> {
        [
            "verify-blob",
            signed,
            "--bundle",
            bundle.to_str().unwrap(),
            "--key",
            public,
            "--trusted-root",
            root,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let cosign_verify = |signed: &str, bundle: &Path, public: &str, hash: &str| -> Vec<String> {
        [
            "verify-blob",
            signed,
            "--bundle",
            bundle.to_str().unwrap(),
            "--key",
            public,
            "--trusted-root",
            root,
            "--offline",
            "--signature-digest-algorithm",
            hash,
        ]
        .map(str::to_owned)
        .to_vec()
    };

    let key_types: [(&str, &[&str], &str, &str); 4] = [
        (
            "p384",
            &["EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "sha384",
            "SHA2_384",
        ),
        (
            "p521",
            &["EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "sha512",
            "SHA2_512",
        ),
        (
            "rsa2048",
            &["RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "sha256",
            "SHA2_256",
        ),
        ("ed25519", &["ed25519"], "sha512", "SHA2_512"),
    ];
    for (name, genpkey, hash, proto_hash) in key_types {
        let key = openssl_key(d, name, genpkey, Some(&cosign));
        let blob = d.join(format!("{name}.v1.sigstore.json"));
        let att = d.join(format!("{name}.v1-att.sigstore.json"));
        let by_cosign = d.join(format!("{name}.v1-cosign.sigstore.json"));
        let other_blob = d.join(format!("{name}.v1-other.sigstore.json"));
        ok(&[
            "sign-blob",
            file,
            "--key",
            &key.pem,
            "--trust-config",
            tc,
            "--bundle",
            blob.to_str().unwrap(),
        ]);
        ok(&[
            "sign-blob",
            other_file,
            "--key",
            &key.pem,
            "--signing-config",
            sc,
            "--trusted-root",
            root,
            "--bundle",
            other_blob.to_str().unwrap(),
        ]);
        ok(&[
            "attest-blob",
            file,
            "--predicate",
            predicate,
            "--type",
            "https://vouch.example/test/v1",
            "--key",
            &key.cosign_key,
            "--trust-config",
            tc,
            "--bundle",
            att.to_str().unwrap(),
        ]);
        // cosign v3.1 verifies Ed25519 with pure Ed25519 and refuses its own Ed25519ph
        // bundle after signing (see the Rekor v2 test): no post-signing check for it.
        let cosign_verifies = name != "ed25519";
        let root_args: &[&str] = if cosign_verifies {
            &["--trusted-root", root]
        } else {
            &[]
        };
        cosign.ok(&[
            &[
                "sign-blob",
                cosign_file,
                "--key",
                &key.cosign_key,
                "--signing-config",
                sc,
                "--bundle",
                by_cosign.to_str().unwrap(),
                "--yes",
            ][..],
            root_args,
        ]
        .concat());

        for (signed, bundle, what) in [
            (file, &blob, "vouch"),
            (other_file, &other_blob, "vouch, signing config"),
            (cosign_file, &by_cosign, "cosign"),
        ] {
            let parsed = json(&std::fs::read_to_string(bundle).unwrap());
            let body = v1_body(&parsed, "hashedrekord");
            assert_eq!(
                body["spec"]["data"]["hash"]["algorithm"], hash,
                "{name} {what}: {body}"
            );
            assert_eq!(
                parsed["messageSignature"]["messageDigest"]["algorithm"], proto_hash,
                "{name} {what}: {parsed}"
            );
            let report = ok_json(&as_refs(&vouch_verify(signed, bundle, &key.public))).to_string();
            assert!(
                report.contains("entry hashedrekord 0.0.1"),
                "{name} {what}: {report}"
            );
            if cosign_verifies {
                cosign.ok(&as_refs(&cosign_verify(signed, bundle, &key.public, hash)));
            }
        }
        let parsed = json(&std::fs::read_to_string(&att).unwrap());
        v1_body(&parsed, "dsse");
        ok(&as_refs(&vouch_verify(file, &att, &key.public)));

        // Negative: a signature byte changed; another key; the entry the log signed for the
        // other artifact (its SET verifies, its body names another digest).
        let original = json(&std::fs::read_to_string(&blob).unwrap());
        let mut bad_sig = original.clone();
        {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let s = &mut bad_sig["messageSignature"]["signature"];
            let mut raw = b64.decode(s.as_str().unwrap()).unwrap();
            let last = raw.len() - 1;
            raw[last] ^= 1;
            *s = Value::from(b64.encode(raw));
        }
        let bad_sig_path = d.join(format!("{name}.v1-bad-sig.sigstore.json"));
        std::fs::write(&bad_sig_path, bad_sig.to_string()).unwrap();
        let said = fails_with(3, &as_refs(&vouch_verify(file, &bad_sig_path, &key.public)));
        assert!(
            said.contains("FAILED  "),
            "{name} tampered signature: {said}"
        );
        let said = fails_with(3, &as_refs(&vouch_verify(file, &blob, &other.public)));
        assert!(said.contains("FAILED  "), "{name} wrong key: {said}");
        if cosign_verifies {
            cosign.fails(&as_refs(&cosign_verify(
                file,
                &bad_sig_path,
                &key.public,
                hash,
            )));
            cosign.fails(&as_refs(&cosign_verify(file, &blob, &other.public, hash)));
        }
        let mut swapped = original.clone();
        let other_parsed = json(&std::fs::read_to_string(&other_blob).unwrap());
        swapped["verificationMaterial"]["tlogEntries"] =
            other_parsed["verificationMaterial"]["tlogEntries"].clone();
        let swapped_path = d.join(format!("{name}.v1-swapped.sigstore.json"));
        std::fs::write(&swapped_path, swapped.to_string()).unwrap();
        let said = fails_with(3, &as_refs(&vouch_verify(file, &swapped_path, &key.public)));
        assert!(
            said.contains("FAILED  ") && said.contains("signature"),
            "{name} another artifact's entry: {said}"
        );
        if cosign_verifies {
            cosign.fails(&as_refs(&cosign_verify(
                file,
                &swapped_path,
                &key.public,
                hash,
            )));
        }
        // The entry's body with its digest changed: its leaf is no longer the one the log's
        // inclusion proof (and signed entry timestamp) covers.
        let mut bad_body = original.clone();
        {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let e = &mut bad_body["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"];
            let raw = String::from_utf8(b64.decode(e.as_str().unwrap()).unwrap()).unwrap();
            let at = raw.find("\"value\":\"").unwrap() + 9;
            let mut bytes = raw.into_bytes();
            bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
            *e = Value::from(b64.encode(bytes));
        }
        let bad_body_path = d.join(format!("{name}.v1-bad-body.sigstore.json"));
        std::fs::write(&bad_body_path, bad_body.to_string()).unwrap();
        let said = fails_with(
            3,
            &as_refs(&vouch_verify(file, &bad_body_path, &key.public)),
        );
        assert!(
            said.contains("FAILED  inclusion proof"),
            "{name} tampered body: {said}"
        );
        if cosign_verifies {
            cosign.fails(&as_refs(&cosign_verify(
                file,
                &bad_body_path,
                &key.public,
                hash,
            )));
        }
    }
}

/// `generate-key-pair --algorithm` makes, behind that flag, key types beyond cosign v3's
/// generate-key-pair (P-256 only) that cosign v3 signs with: P-521 and RSA. The encrypted
/// key file signs with vouch and with cosign v3 into a Rekor v2 log (P-521 over SHA-512,
/// RSA PKCS#1 v1.5 over SHA-256), and each tool verifies the other's bundle; another key is
/// refused. An RSA size Sigstore names no details for and an unknown name are refused.
#[test]
fn generated_p521_and_rsa_key_files_sign_with_vouch_and_cosign_into_rekor_v2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let instance = key_signing_instance(d, true);
    let root = instance.root.as_str();
    let sc = instance.signing_config.as_str();
    let cosign = Peer::new("cosign");
    let file = d.join("artifact.txt");
    std::fs::write(&file, b"signed with a generated key\n").unwrap();
    let file = file.to_str().unwrap();
    let cosign_file = d.join("cosign-artifact.txt");
    std::fs::write(&cosign_file, b"cosign signs with vouch's key file\n").unwrap();
    let cosign_file = cosign_file.to_str().unwrap();
    let (_, other_public) = common::keypair_with(d, "other", "ecdsa-p521");
    for (algorithm, details, hash) in [
        ("ecdsa-p521", "PKIX_ECDSA_P521_SHA_512", "sha512"),
        ("rsa-2048", "PKIX_RSA_PKCS1V15_2048_SHA256", "sha256"),
    ] {
        let prefix = d.join(algorithm);
        let generated = ok_json(&[
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
            "--algorithm",
            algorithm,
            "-o",
            "json",
        ]);
        assert_eq!(generated["algorithm"], details, "{generated}");
        let key = format!("{}.key", prefix.display());
        let public = format!("{}.pub", prefix.display());
        let by_vouch = d.join(format!("{algorithm}.sigstore.json"));
        let by_cosign = d.join(format!("{algorithm}.cosign.sigstore.json"));
        ok(&[
            "sign-blob",
            file,
            "--key",
            &key,
            "--signing-config",
            sc,
            "--trusted-root",
            root,
            "--bundle",
            by_vouch.to_str().unwrap(),
        ]);
        cosign.ok(&[
            "sign-blob",
            cosign_file,
            "--key",
            &key,
            "--signing-config",
            sc,
            "--trusted-root",
            root,
            "--bundle",
            by_cosign.to_str().unwrap(),
            "--yes",
        ]);
        for (signed, bundle) in [(file, &by_vouch), (cosign_file, &by_cosign)] {
            let parsed = json(&std::fs::read_to_string(bundle).unwrap());
            let body = v2_body(&parsed);
            assert_eq!(
                body["spec"]["hashedRekordV002"]["signature"]["verifier"]["keyDetails"], details,
                "{body}"
            );
            let vouch_args = |key: &str| {
                [
                    "verify-blob",
                    signed,
                    "--bundle",
                    bundle.to_str().unwrap(),
                    "--key",
                    key,
                    "--trusted-root",
                    root,
                ]
                .map(str::to_owned)
            };
            ok(&as_refs(&vouch_args(&public)));
            let said = fails_with(3, &as_refs(&vouch_args(&other_public)));
            assert!(said.contains("FAILED  "), "{algorithm}: {said}");
            cosign.ok(&[
                "verify-blob",
                signed,
                "--bundle",
                bundle.to_str().unwrap(),
                "--key",
                &public,
                "--trusted-root",
                root,
                "--offline",
                "--signature-digest-algorithm",
                hash,
            ]);
        }
    }
    for refused in ["rsa-2560", "ecdsa-p224"] {
        let said = fails_with(
            1,
            &[
                "generate-key-pair",
                "--output-key-prefix",
                d.join(refused).to_str().unwrap(),
                "--algorithm",
                refused,
            ],
        );
        assert!(said.contains(refused), "{said}");
        assert!(!d.join(format!("{refused}.key")).exists());
    }
}

/// Images signed and attested into a Rekor v1 log with P-384 and Ed25519 keys, both storage
/// schemes. Bundles are DSSE statements, logged as `dsse` entries signed as Rekor v1 verifies
/// one (P-384 over SHA-256, pure Ed25519); a legacy layer's payload is a `hashedrekord` that
/// cosign's legacy path verifies only over SHA-256, so a P-384 key signs it over SHA-256 and
/// an Ed25519 key as Ed25519ph over SHA-512 (the only Ed25519 Rekor v1 logs). vouch verifies
/// every candidate with its entry and refuses another key; cosign v3 verifies the P-384
/// ones, bundle and legacy tag, with its default SHA-256.
#[test]
fn p384_and_ed25519_images_into_a_rekor_v1_log_verify_with_their_entries() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let instance = key_signing_instance(d, false);
    let root = instance.root.as_str();
    let tc = instance.trust_config.as_str();
    let cosign = Peer::new("cosign");
    let predicate = d.join("predicate.json");
    std::fs::write(&predicate, br#"{"builder":"ci"}"#).unwrap();
    let predicate = predicate.to_str().unwrap();
    let other = openssl_key(
        d,
        "other",
        &["EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        None,
    );
    for (name, genpkey) in [
        ("p384", &["EC", "-pkeyopt", "ec_paramgen_curve:P-384"][..]),
        ("ed25519", &["ed25519"][..]),
    ] {
        let key = openssl_key(d, name, genpkey, None);
        let image = push_image(&registry, d, &format!("acme/{name}"), name.as_bytes());
        ok(&[
            "sign",
            &image,
            "--key",
            &key.pem,
            "--trust-config",
            tc,
            "--signature-format",
            "both",
        ]);
        ok(&[
            "attest",
            &image,
            "--key",
            &key.pem,
            "--trust-config",
            tc,
            "--predicate",
            predicate,
            "--type",
            "custom",
            "--signature-format",
            "both",
        ]);
        for (command, extra, kind) in [
            ("verify", &[][..], "entry hashedrekord 0.0.1"),
            (
                "verify-attestation",
                &["--type", "custom"][..],
                "\"kind\":\"dsse\"",
            ),
        ] {
            let args = |public: &str| -> Vec<String> {
                [
                    &[command, &image, "--key", public, "--trusted-root", root][..],
                    extra,
                    &["-o", "json"],
                ]
                .concat()
                .into_iter()
                .map(str::to_owned)
                .collect()
            };
            let report = ok_json(&as_refs(&args(&key.public))).to_string();
            assert_eq!(
                report.matches("\"inclusionProofVerified\":true").count(),
                2,
                "{name} {command}: both schemes logged and proven: {report}"
            );
            assert!(report.contains(kind), "{name} {command}: {report}");
            let said = fails_with(3, &as_refs(&args(&other.public)));
            assert!(
                said.contains("\"verified\": false") && !said.contains("\"verified\": true"),
                "{name} {command}: {said}"
            );
        }
        if name == "p384" {
            for legacy in [false, true] {
                let format: &[&str] = if legacy {
                    &["--new-bundle-format=false"]
                } else {
                    &[]
                };
                let common = [
                    "--key",
                    &key.public,
                    "--trusted-root",
                    root,
                    "--offline",
                    "--allow-http-registry",
                ];
                cosign.ok(&[&["verify", &image][..], &common, format].concat());
                cosign.ok(&[
                    &["verify-attestation", &image, "--type", "custom"][..],
                    &common,
                    format,
                ]
                .concat());
            }
        }
    }
}
