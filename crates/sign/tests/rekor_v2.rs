//! Rekor v2 entries (`hashedrekord` 0.0.2, C2SP checkpoints signed with Ed25519): sigstore-python's
//! staging vectors verify offline against the staging trusted root, and one-byte changes in the
//! checkpoint signature, the checkpoint origin, the inclusion proof or the body fail naming the
//! check.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use vouch_sign::{
    Artifact, BlobContent, Bundle, Error, IdentityPolicy, Limits, SignerPolicy, TrustedRoot,
    VerifiedSigner, Verifier,
};

fn data(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn json(path: &str) -> Value {
    serde_json::from_slice(&data(path)).expect(path)
}

const STAGING: &str = "trust-roots/staging.trusted_root.json";
const HASHEDREKORD: &str = "sigstore-python/staging-rekor-v2.txt";
const DSSE: &str = "sigstore-python/a.dsse.staging-rekor-v2.txt";

fn verifier() -> Verifier {
    Verifier::new(TrustedRoot::from_json(&data(STAGING), &Limits::default()).expect("root"))
}

fn verify(artifact: &str, bundle: &Value) -> Result<vouch_sign::Verified<BlobContent>, Error> {
    let bundle = Bundle::from_json(
        &serde_json::to_vec(bundle).expect("json"),
        &Limits::default(),
    )?;
    verifier().verify_blob(
        Artifact::Bytes(&data(artifact)),
        &bundle,
        &SignerPolicy::UnsafeAnyIdentity,
    )
}

fn bundle_of(artifact: &str) -> Value {
    json(&format!("{artifact}.sigstore.json"))
}

fn entry(bundle: &mut Value) -> &mut Value {
    &mut bundle["verificationMaterial"]["tlogEntries"][0]
}

#[test]
fn staging_rekor_v2_bundles_verify() {
    for artifact in [HASHEDREKORD, DSSE] {
        let evidence = if artifact == DSSE {
            // The statement's subject is `a.txt`, not this file: verified as an attestation, as
            // sigstore-python's `test_verifier_bundle_dsse` does with `verify_dsse`.
            let bundle =
                Bundle::from_json(&data(&format!("{DSSE}.sigstore.json")), &Limits::default())
                    .expect("bundle");
            let verified = verifier()
                .verify_attestation(&bundle, None, None, &SignerPolicy::UnsafeAnyIdentity)
                .unwrap_or_else(|e| panic!("{artifact}: {e}"));
            assert_eq!(
                verified.value().predicate_type,
                "https://slsa.dev/provenance/v1"
            );
            verified.into_parts().1
        } else {
            verify(artifact, &bundle_of(artifact))
                .unwrap_or_else(|e| panic!("{artifact}: {e}"))
                .into_parts()
                .1
        };
        let evidence = &evidence;
        let tlog = evidence.tlog.as_ref().expect("tlog");
        assert_eq!(
            (tlog.kind.as_str(), tlog.kind_version.as_str()),
            ("hashedrekord", "0.0.2")
        );
        assert!(tlog.inclusion_proof_verified && tlog.integrated_time.is_none());
        // The only verified time is the RFC 3161 timestamp.
        assert_eq!(evidence.times.len(), 1, "{artifact}");
        assert_eq!(evidence.times[0].kind.name(), "rfc3161");
        for check in [
            "RFC 3161 timestamp",
            "inclusion proof",
            "tlog entry matches bundle",
            "certificate chain",
            "SCT",
            "signature",
        ] {
            assert!(evidence.checks.contains(&check), "{artifact}: {check}");
        }
        assert!(matches!(evidence.signer, VerifiedSigner::Certificate(_)));
    }
    // With the identity of the signing certificate.
    let bundle = Bundle::from_json(
        &data(&format!("{HASHEDREKORD}.sigstore.json")),
        &Limits::default(),
    )
    .expect("bundle");
    let policy = SignerPolicy::Identity(IdentityPolicy::exact(
        "jku@goto.fi",
        "https://github.com/login/oauth",
    ));
    verifier()
        .verify_blob(Artifact::Bytes(&data(HASHEDREKORD)), &bundle, &policy)
        .expect("identity");
}

#[test]
fn rekor_v2_entry_without_a_timestamp_fails() {
    let mut bundle = bundle_of(HASHEDREKORD);
    bundle["verificationMaterial"]
        .as_object_mut()
        .expect("material")
        .remove("timestampVerificationData");
    let err = verify(HASHEDREKORD, &bundle).err();
    assert!(matches!(err, Some(Error::NoVerifiedTime { .. })), "{err:?}");
}

/// Replaces `old` by `new` in the checkpoint text.
fn edit_checkpoint(bundle: &mut Value, edit: impl Fn(&str) -> String) {
    let checkpoint = &mut entry(bundle)["inclusionProof"]["checkpoint"]["envelope"];
    let text = checkpoint.as_str().expect("checkpoint").to_owned();
    *checkpoint = Value::String(edit(&text));
}

fn inclusion_check(result: Result<vouch_sign::Verified<BlobContent>, Error>) -> &'static str {
    match result {
        Err(Error::InclusionProof { check, .. }) => check,
        other => panic!("expected an inclusion proof failure, got {other:?}"),
    }
}

#[test]
fn one_byte_in_the_checkpoint_signature_fails() {
    let mut bundle = bundle_of(HASHEDREKORD);
    edit_checkpoint(&mut bundle, |text| {
        // The signature line: "— <name> <base64(hint || signature)>"; change a byte of the
        // signature (after the 4-byte key hint).
        let (head, sig_line) = text.trim_end().rsplit_once('\n').expect("lines");
        let (prefix, b64) = sig_line.rsplit_once(' ').expect("signature");
        let mut raw = B64.decode(b64).expect("base64");
        raw[10] ^= 0x01;
        format!("{head}\n{prefix} {}\n", B64.encode(raw))
    });
    assert_eq!(
        inclusion_check(verify(HASHEDREKORD, &bundle)),
        "checkpoint signature"
    );
}

#[test]
fn one_byte_in_the_checkpoint_origin_fails() {
    let mut bundle = bundle_of(HASHEDREKORD);
    edit_checkpoint(&mut bundle, |text| {
        text.replacen("log2025-alpha1", "log2025-alpha2", 1)
    });
    assert_eq!(
        inclusion_check(verify(HASHEDREKORD, &bundle)),
        "checkpoint signature"
    );
}

#[test]
fn one_byte_in_the_inclusion_proof_fails() {
    let proof_len = bundle_of(HASHEDREKORD)["verificationMaterial"]["tlogEntries"][0]
        ["inclusionProof"]["hashes"]
        .as_array()
        .expect("hashes")
        .len();
    for i in 0..proof_len {
        let mut bundle = bundle_of(HASHEDREKORD);
        let hash = &mut entry(&mut bundle)["inclusionProof"]["hashes"][i];
        let mut raw = B64.decode(hash.as_str().expect("hash")).expect("base64");
        raw[0] ^= 0x01;
        *hash = Value::String(B64.encode(raw));
        assert_eq!(
            inclusion_check(verify(HASHEDREKORD, &bundle)),
            "inclusion proof",
            "hash {i}"
        );
    }
    // The root hash: no longer the checkpoint's.
    let mut bundle = bundle_of(HASHEDREKORD);
    let root = &mut entry(&mut bundle)["inclusionProof"]["rootHash"];
    let mut raw = B64.decode(root.as_str().expect("root")).expect("base64");
    raw[0] ^= 0x01;
    *root = Value::String(B64.encode(raw));
    assert!(matches!(
        verify(HASHEDREKORD, &bundle),
        Err(Error::TlogBodyMismatch { .. })
    ));
}

#[test]
fn entry_body_must_be_the_canonical_body_of_this_bundle() {
    // The hashedrekord body of the other vector: another digest, signature and certificate.
    let mut bundle = bundle_of(HASHEDREKORD);
    let other =
        bundle_of(DSSE)["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"].clone();
    entry(&mut bundle)["canonicalizedBody"] = other;
    assert!(verify(HASHEDREKORD, &bundle).is_err());

    // The same body with a space added: same content, another leaf, so the inclusion proof
    // fails (the byte comparison of the rebuilt body is unit-tested in `src/rekor.rs`).
    let body_b64 =
        bundle_of(HASHEDREKORD)["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
            .as_str()
            .expect("body")
            .to_owned();
    let body = String::from_utf8(B64.decode(body_b64).expect("b64")).expect("utf8");
    let spaced = body.replacen(r#""kind":"#, r#""kind": "#, 1);
    let mut bundle = bundle_of(HASHEDREKORD);
    entry(&mut bundle)["canonicalizedBody"] = Value::String(B64.encode(spaced));
    assert_eq!(
        inclusion_check(verify(HASHEDREKORD, &bundle)),
        "inclusion proof"
    );

    // Another artifact: the rebuilt digest differs.
    let err = verify(
        "sigstore-python/a.dsse.staging-rekor-v2.txt",
        &bundle_of(HASHEDREKORD),
    )
    .err();
    assert!(
        matches!(
            err,
            Some(Error::DigestMismatch { .. } | Error::Timestamp { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn log_key_outside_its_validity_fails() {
    // The staging root with the v2 log's validFor ending before the entry's timestamp.
    let mut root = json(STAGING);
    for log in root["tlogs"].as_array_mut().expect("tlogs") {
        if log["baseUrl"] == "https://log2025-alpha1.rekor.sigstage.dev" {
            log["publicKey"]["validFor"]["end"] = Value::String("2025-06-01T00:00:00Z".into());
        }
    }
    let root = TrustedRoot::from_json(
        &serde_json::to_vec(&root).expect("json"),
        &Limits::default(),
    )
    .expect("root");
    let bundle = Bundle::from_json(
        &data(&format!("{HASHEDREKORD}.sigstore.json")),
        &Limits::default(),
    )
    .expect("bundle");
    let err = Verifier::new(root)
        .verify_blob(
            Artifact::Bytes(&data(HASHEDREKORD)),
            &bundle,
            &SignerPolicy::UnsafeAnyIdentity,
        )
        .err();
    assert!(
        matches!(err, Some(Error::UntrustedLog { at_time: true, .. })),
        "{err:?}"
    );
}
