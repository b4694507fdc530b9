//! `vouch verify-blob` fails closed, exit code 3, naming the failed check, for every kind of
//! tampering and every policy mismatch: one table of cases over the public sigstore-python
//! vector `bundle_v3.txt.sigstore` (staging: certificate chain, SCT, SET, inclusion proof,
//! checkpoint), plus key-signed bundles vouch makes itself. Each case starts from inputs that
//! verify (asserted first), changes one thing, and expects one check to fail.
//!
//! Identity, issuer and prefix-only regular expressions on this vector are covered by
//! `sign.rs` (`certificate_identity_checks_on_public_vectors`); this file adds the byte-level
//! tampering, replay, expiry and untrusted-root cases.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{sign_data, text, vouch};

use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::LogKey;

const IDENTITY: &str = "william@yossarian.net";
const ISSUER: &str = "https://github.com/login/oauth";
/// The vector's leaf certificate is valid 2024-04-02T19:19:09Z to 19:29:09Z (ten minutes).
const LEAF_NOT_AFTER: u64 = 1_712_086_149;
/// The vector's Rekor entry: log index, checkpoint origin (host and tree ID).
const REKOR_HOST: &str = "rekor.sigstage.dev";
const REKOR_TREE_ID: u64 = 8_050_909_264_565_447_525;

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Flips the low bit of byte `index` (negative: from the end) of a base64 string field.
fn flip_b64(value: &mut Value, index: isize) {
    let mut bytes = B64.decode(value.as_str().unwrap()).unwrap();
    let i = if index < 0 {
        bytes.len() - index.unsigned_abs()
    } else {
        index.unsigned_abs()
    };
    bytes[i] ^= 1;
    *value = Value::String(B64.encode(bytes));
}

fn entry(bundle: &mut Value) -> &mut Value {
    &mut bundle["verificationMaterial"]["tlogEntries"][0]
}

/// What one `verify-blob` call gets.
#[derive(Clone)]
struct Inputs {
    /// The artifact's bytes, or `sha256:<hex>` to verify by digest.
    artifact: Result<Vec<u8>, String>,
    bundle: Value,
    /// The trusted root (keyless cases) or `None` with `key` set.
    root: Option<Value>,
    /// `--key` public key PEM path (key-signed cases).
    key: Option<String>,
    identity: Vec<String>,
}

impl Inputs {
    fn run(&self, dir: &Path, name: &str) -> Output {
        let artifact_arg = match &self.artifact {
            Ok(bytes) => {
                let p = dir.join(format!("{name}.artifact"));
                std::fs::write(&p, bytes).unwrap();
                p.display().to_string()
            }
            Err(digest) => digest.clone(),
        };
        let bundle = dir.join(format!("{name}.sigstore.json"));
        std::fs::write(&bundle, serde_json::to_vec(&self.bundle).unwrap()).unwrap();
        let mut args = vec![
            "verify-blob".to_owned(),
            artifact_arg,
            "--bundle".to_owned(),
            bundle.display().to_string(),
        ];
        if let Some(root) = &self.root {
            let p = dir.join(format!("{name}.trusted_root.json"));
            std::fs::write(&p, serde_json::to_vec(root).unwrap()).unwrap();
            args.extend(["--trusted-root".to_owned(), p.display().to_string()]);
        }
        if let Some(key) = &self.key {
            // The key-signed bundles here carry no log entry: the signature checks are
            // under test, not the (default) log requirement, which sign_tlog.rs covers.
            args.extend([
                "--key".to_owned(),
                key.clone(),
                "--insecure-ignore-tlog".to_owned(),
            ]);
        }
        args.extend(self.identity.iter().cloned());
        vouch(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

fn keyless_inputs() -> Inputs {
    Inputs {
        artifact: Ok(std::fs::read(sign_data("sigstore-python/bundle_v3.txt")).unwrap()),
        bundle: read_json(&sign_data("sigstore-python/bundle_v3.txt.sigstore")),
        root: Some(read_json(&sign_data(
            "trust-roots/staging.trusted_root.json",
        ))),
        key: None,
        identity: [
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            ISSUER,
        ]
        .map(String::from)
        .to_vec(),
    }
}

/// The vector re-logged by a log whose key we hold: the SET and checkpoint are re-signed with
/// it, the trusted root trusts it instead of staging's Rekor, and the integrated time is
/// `integrated_time`. Everything else (certificate, SCT, proof hashes) is the vector's.
fn relogged(integrated_time: u64) -> Inputs {
    let mut inputs = keyless_inputs();
    let key = LogKey::new(
        SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        REKOR_HOST,
    )
    .unwrap();
    let e = entry(&mut inputs.bundle);
    let body = B64
        .decode(e["canonicalizedBody"].as_str().unwrap())
        .unwrap();
    let index: u64 = e["logIndex"].as_str().unwrap().parse().unwrap();
    e["integratedTime"] = json!(integrated_time.to_string());
    e["logId"]["keyId"] = json!(B64.encode(key.log_id()));
    e["inclusionPromise"]["signedEntryTimestamp"] =
        json!(B64.encode(key.sign_set(&body, integrated_time, index)));
    let proof = &mut e["inclusionProof"];
    let size: u64 = proof["treeSize"].as_str().unwrap().parse().unwrap();
    let root =
        vouch_merkle::Hash::from_slice(&B64.decode(proof["rootHash"].as_str().unwrap()).unwrap())
            .unwrap();
    proof["checkpoint"]["envelope"] =
        json!(key.sign_checkpoint(REKOR_TREE_ID, size, root).unwrap());
    let trusted = inputs.root.as_mut().unwrap();
    trusted["tlogs"] = json!([{
        "baseUrl": "https://tlog.negative.test",
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": B64.encode(key.public_key().spki_der()),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": "2020-01-01T00:00:00Z"}
        },
        "logId": {"keyId": B64.encode(key.log_id())}
    }]);
    inputs
}

/// A blob signed with a fresh key pair by `vouch sign-blob` (no transparency log).
fn key_signed_inputs(dir: &Path) -> Inputs {
    let prefix = dir.join("cosign");
    let out = vouch(&[
        "generate-key-pair",
        "--output-key-prefix",
        prefix.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let artifact = dir.join("release.tar");
    std::fs::write(&artifact, b"release bytes\n").unwrap();
    let bundle = dir.join("release.sigstore.json");
    let key = format!("{}.key", prefix.display());
    let out = vouch(&[
        "sign-blob",
        artifact.to_str().unwrap(),
        "--key",
        &key,
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    Inputs {
        artifact: Ok(b"release bytes\n".to_vec()),
        bundle: read_json(&bundle),
        root: None,
        key: Some(format!("{}.pub", prefix.display())),
        identity: Vec::new(),
    }
}

fn sha256_arg(bytes: &[u8]) -> String {
    format!("sha256:{}", vouch_oci::Digest::sha256(bytes).hex())
}

type Mutation = Box<dyn Fn(&mut Inputs)>;

/// (case, the check the output must name, more text it must contain, the change).
fn keyless_cases() -> Vec<(&'static str, &'static str, &'static str, Mutation)> {
    vec![
        (
            "payload: one artifact byte changed",
            "tlog entry data.hash",
            "digest mismatch",
            Box::new(|i| {
                if let Ok(bytes) = &mut i.artifact {
                    bytes[0] ^= 1;
                }
            }),
        ),
        (
            "signature: one byte changed",
            "tlog entry matches bundle",
            "signature",
            Box::new(|i| flip_b64(&mut i.bundle["messageSignature"]["signature"], 10)),
        ),
        (
            "certificate: one byte of its signature changed",
            "tlog entry matches bundle",
            "publicKey",
            Box::new(|i| {
                flip_b64(
                    &mut i.bundle["verificationMaterial"]["certificate"]["rawBytes"],
                    -5,
                );
            }),
        ),
        (
            "SET: one byte changed",
            "signed entry timestamp",
            "signature check failed",
            Box::new(|i| {
                flip_b64(
                    &mut entry(&mut i.bundle)["inclusionPromise"]["signedEntryTimestamp"],
                    20,
                );
            }),
        ),
        (
            "inclusion proof: one byte of a hash changed",
            "inclusion proof",
            "inclusion proof",
            Box::new(|i| flip_b64(&mut entry(&mut i.bundle)["inclusionProof"]["hashes"][3], 0)),
        ),
        (
            "checkpoint: tree size changed under its signature",
            "inclusion proof",
            "checkpoint signature",
            Box::new(|i| {
                let c = &mut entry(&mut i.bundle)["inclusionProof"]["checkpoint"]["envelope"];
                *c = json!(
                    c.as_str()
                        .unwrap()
                        .replacen("\n25901138\n", "\n25901139\n", 1)
                );
            }),
        ),
        (
            "replay: the signature presented for another artifact's digest",
            "tlog entry data.hash",
            "digest mismatch",
            Box::new(|i| i.artifact = Err(sha256_arg(b"another artifact"))),
        ),
        (
            "untrusted root: public-good CAs in place of staging's",
            "certificate chain",
            "does not chain to a trusted certificate authority",
            Box::new(|i| {
                let public_good =
                    read_json(&sign_data("trust-roots/public-good.trusted_root.json"));
                i.root.as_mut().unwrap()["certificateAuthorities"] =
                    public_good["certificateAuthorities"].clone();
            }),
        ),
        (
            "untrusted log: public-good's Rekor in place of staging's",
            "trusted transparency log",
            "is not trusted",
            Box::new(|i| {
                let public_good =
                    read_json(&sign_data("trust-roots/public-good.trusted_root.json"));
                i.root.as_mut().unwrap()["tlogs"] = public_good["tlogs"].clone();
            }),
        ),
        (
            "expired CA: the trusted root ends the CA's validity before the signing time",
            "certificate chain",
            "does not chain to a trusted certificate authority",
            Box::new(|i| {
                for ca in i.root.as_mut().unwrap()["certificateAuthorities"]
                    .as_array_mut()
                    .unwrap()
                {
                    ca["validFor"]["end"] = json!("2024-01-01T00:00:00Z");
                }
            }),
        ),
    ]
}

#[test]
fn keyless_vector_tampering_fails_closed_naming_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let good = keyless_inputs();
    let out = good.run(dir.path(), "baseline");
    assert!(out.status.success(), "baseline must verify: {}", text(&out));
    for (n, (case, check, detail, mutate)) in keyless_cases().into_iter().enumerate() {
        let mut inputs = good.clone();
        mutate(&mut inputs);
        let out = inputs.run(dir.path(), &format!("case{n}"));
        let output = text(&out);
        assert_eq!(out.status.code(), Some(3), "{case}: {output}");
        assert!(
            output.contains(&format!("FAILED  {check}:")),
            "{case}: expected check {check:?} named in\n{output}"
        );
        assert!(
            output.to_lowercase().contains(&detail.to_lowercase()),
            "{case}: expected {detail:?} in\n{output}"
        );
    }
}

/// An expired certificate: the entry is re-logged (SET and checkpoint re-signed by a log the
/// trusted root trusts) at a time after the leaf's notAfter. The same re-logging at the
/// original time verifies, so the only failing check is the leaf's validity.
#[test]
fn certificate_expired_at_the_logged_time_fails() {
    let dir = tempfile::tempdir().unwrap();
    let original: u64 =
        keyless_inputs().bundle["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    let out = relogged(original).run(dir.path(), "relogged");
    assert!(
        out.status.success(),
        "the re-logged vector verifies: {}",
        text(&out)
    );
    let out = relogged(LEAF_NOT_AFTER + 60).run(dir.path(), "expired");
    let output = text(&out);
    assert_eq!(out.status.code(), Some(3), "{output}");
    assert!(
        output.contains("FAILED  certificate validity at signing time:"),
        "{output}"
    );
}

#[test]
fn key_signed_tampering_and_replay_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let good = key_signed_inputs(dir.path());
    let out = good.run(dir.path(), "baseline");
    assert!(out.status.success(), "baseline must verify: {}", text(&out));
    let other_key = {
        let prefix = dir.path().join("other");
        let out = vouch(&[
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        format!("{}.pub", prefix.display())
    };
    let cases: Vec<(&str, &str, Mutation)> = vec![
        (
            "signature: one byte changed",
            "message signature",
            Box::new(|i| flip_b64(&mut i.bundle["messageSignature"]["signature"], -3)),
        ),
        (
            "payload: one artifact byte changed",
            "bundle messageDigest",
            Box::new(|i| {
                if let Ok(bytes) = &mut i.artifact {
                    bytes[3] ^= 1;
                }
            }),
        ),
        (
            "replay: signature and digest presented for another artifact",
            "message signature",
            Box::new(|i| {
                let other = b"another release\n";
                i.bundle["messageSignature"]["messageDigest"]["digest"] =
                    json!(B64.encode(<sha2::Sha256 as sha2::Digest>::digest(other)));
                i.artifact = Ok(other.to_vec());
            }),
        ),
        (
            "wrong key",
            "message signature",
            Box::new(move |i| i.key = Some(other_key.clone())),
        ),
    ];
    for (n, (case, check, mutate)) in cases.into_iter().enumerate() {
        let mut inputs = good.clone();
        mutate(&mut inputs);
        let out = inputs.run(dir.path(), &format!("key{n}"));
        let output = text(&out);
        assert_eq!(out.status.code(), Some(3), "{case}: {output}");
        assert!(
            output.contains(&format!("FAILED  {check}:")),
            "{case}: expected check {check:?} named in\n{output}"
        );
    }
}

// ------------------------------------------------------------------ Rekor v2 and RFC 3161

/// sigstore-python's staging Rekor v2 vector: `hashedrekord` 0.0.2, a C2SP checkpoint signed
/// with Ed25519, and an RFC 3161 timestamp from timestamp.sigstage.dev as its only time.
fn rekor_v2_inputs() -> Inputs {
    Inputs {
        artifact: Ok(std::fs::read(sign_data("sigstore-python/staging-rekor-v2.txt")).unwrap()),
        bundle: read_json(&sign_data(
            "sigstore-python/staging-rekor-v2.txt.sigstore.json",
        )),
        root: Some(read_json(&sign_data(
            "trust-roots/staging.trusted_root.json",
        ))),
        key: None,
        identity: [
            "--certificate-identity",
            "jku@goto.fi",
            "--certificate-oidc-issuer",
            ISSUER,
        ]
        .map(String::from)
        .to_vec(),
    }
}

fn timestamp(bundle: &mut Value) -> &mut Value {
    &mut bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"]
}

#[test]
fn rekor_v2_bundle_verifies_reporting_its_time_source() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = rekor_v2_inputs();
    let out = inputs.run(dir.path(), "v2");
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    for check in [
        "RFC 3161 timestamp",
        "checkpoint signature",
        "inclusion proof",
        "entry hashedrekord 0.0.2 (Rekor v2)",
        "certificate chain",
        "SCT",
        "identity",
        "signature",
    ] {
        assert!(
            output.contains(&format!("ok      {check}\n")),
            "{check}: {output}"
        );
    }
    // genTime of the vector's timestamp: 2025-06-09T11:57:38Z.
    assert!(
        output
            .contains("time    2025-06-09T11:57:38Z (unix 1749470258) from RFC 3161 timestamp by"),
        "{output}"
    );

    let mut json_inputs = inputs;
    json_inputs
        .identity
        .extend(["-o".to_owned(), "json".to_owned()]);
    let out = json_inputs.run(dir.path(), "v2json");
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let evidence = &report["evidence"];
    assert_eq!(
        evidence["timeSources"],
        json!([{
            "source": "rfc3161",
            "time": 1_749_470_258,
            "authority": "CN=sigstore-tsa,O=sigstore.dev",
        }]),
        "{report}"
    );
    assert_eq!(evidence["tlogEntries"][0]["version"], "0.0.2");
    assert_eq!(evidence["tlogEntries"][0]["integratedTime"], Value::Null);
}

#[test]
fn rekor_v2_and_timestamp_tampering_fails_closed_naming_the_check() {
    let cases: Vec<(&str, &str, &str, Mutation)> = vec![
        (
            "timestamp: one byte of the TSA's signature changed",
            "RFC 3161 timestamp",
            "timestamp signature",
            Box::new(|i| flip_b64(timestamp(&mut i.bundle), -3)),
        ),
        (
            "timestamp: garbage in place of the token",
            "RFC 3161 timestamp",
            "timestamp syntax",
            Box::new(|i| *timestamp(&mut i.bundle) = json!(B64.encode(b"garbage"))),
        ),
        (
            "timestamp: removed (a Rekor v2 entry has no other time)",
            "verified signing time",
            "needs a verified RFC 3161 timestamp",
            Box::new(|i| {
                i.bundle["verificationMaterial"]
                    .as_object_mut()
                    .unwrap()
                    .remove("timestampVerificationData");
            }),
        ),
        (
            "timestamp authority: validFor ends before the token's genTime",
            "RFC 3161 timestamp",
            "validFor",
            Box::new(|i| {
                for tsa in i.root.as_mut().unwrap()["timestampAuthorities"]
                    .as_array_mut()
                    .unwrap()
                {
                    tsa["validFor"]["end"] = json!("2025-06-09T11:57:37Z");
                }
            }),
        ),
        (
            "timestamp authority: not in the trusted root",
            "RFC 3161 timestamp",
            "lists no timestamp authority",
            Box::new(|i| i.root.as_mut().unwrap()["timestampAuthorities"] = json!([])),
        ),
        (
            "checkpoint: one byte of its signature changed",
            "inclusion proof",
            "checkpoint signature",
            Box::new(|i| {
                let c = &mut entry(&mut i.bundle)["inclusionProof"]["checkpoint"]["envelope"];
                let text = c.as_str().unwrap().to_owned();
                let (head, line) = text.trim_end().rsplit_once(' ').unwrap();
                let mut sig = B64.decode(line).unwrap();
                sig[20] ^= 1;
                *c = json!(format!("{head} {}\n", B64.encode(sig)));
            }),
        ),
        (
            "checkpoint: origin changed",
            "inclusion proof",
            "checkpoint signature",
            Box::new(|i| {
                let c = &mut entry(&mut i.bundle)["inclusionProof"]["checkpoint"]["envelope"];
                *c = json!(
                    c.as_str()
                        .unwrap()
                        .replacen("log2025-alpha1.", "log2025-alpha9.", 1)
                );
            }),
        ),
        (
            "inclusion proof: one byte of a hash changed",
            "inclusion proof",
            "inclusion proof",
            Box::new(|i| flip_b64(&mut entry(&mut i.bundle)["inclusionProof"]["hashes"][1], 0)),
        ),
        (
            "threshold: two verified times demanded, one present",
            "threshold",
            "1 verified, 2 required",
            Box::new(|i| {
                i.identity
                    .extend(["--timestamp-threshold".to_owned(), "2".to_owned()]);
            }),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (n, (case, check, detail, mutate)) in cases.into_iter().enumerate() {
        let mut inputs = rekor_v2_inputs();
        mutate(&mut inputs);
        let out = inputs.run(dir.path(), &format!("v2case{n}"));
        let output = text(&out);
        assert_eq!(out.status.code(), Some(3), "{case}: {output}");
        assert!(
            output.contains(&format!("FAILED  {check}:")),
            "{case}: expected check {check:?} named in\n{output}"
        );
        assert!(
            output.to_lowercase().contains(&detail.to_lowercase()),
            "{case}: expected {detail:?} in\n{output}"
        );
    }
}
