//! RFC 3161 timestamps in bundles: sigstore-python's TSA vectors verify against the trusted root
//! that lists their TSA (`tests/data/sigstore-python/tsa/ca.json`, as sigstore-python's
//! `TestVerifierWithTimestamp` sets it up), and every tampering fails naming the check.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use vouch_sign::{
    Artifact, Bundle, Error, Limits, SignerPolicy, Thresholds, TimeSourceKind, TrustedRoot,
    Verifier,
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
const TSA_BUNDLE: &str = "sigstore-python/tsa/bundle.txt.sigstore";
const TSA_ARTIFACT: &str = "sigstore-python/tsa/bundle.txt";

/// The staging trusted root with its timestamp authorities replaced by `tsas`.
fn root_with_tsas(tsas: Vec<Value>) -> TrustedRoot {
    let mut root = json(STAGING);
    root["timestampAuthorities"] = Value::Array(tsas);
    TrustedRoot::from_json(
        &serde_json::to_vec(&root).expect("json"),
        &Limits::default(),
    )
    .expect("trusted root")
}

fn test_tsa() -> Value {
    json("sigstore-python/tsa/ca.json")
}

/// sigstore-python's TSA bundle with only its first timestamp. Its second timestamp (SHA-512
/// imprint) is over other bytes than the bundle's signature: sigstore-python and sigstore-go skip
/// a timestamp that fails and count the rest; vouch refuses the bundle
/// ([`second_timestamp_over_other_bytes_fails_the_bundle`]).
fn good_bundle() -> Value {
    let mut bundle = json(TSA_BUNDLE);
    let stamps = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array_mut()
        .expect("timestamps");
    stamps.truncate(1);
    bundle
}

fn verify(root: TrustedRoot, bundle: &Value) -> Result<vouch_sign::Evidence, Error> {
    verify_with(Verifier::new(root), bundle)
}

fn verify_with(verifier: Verifier, bundle: &Value) -> Result<vouch_sign::Evidence, Error> {
    let bundle = Bundle::from_json(
        &serde_json::to_vec(bundle).expect("json"),
        &Limits::default(),
    )?;
    let verified = verifier.verify_blob(
        Artifact::Bytes(&data(TSA_ARTIFACT)),
        &bundle,
        &SignerPolicy::UnsafeAnyIdentity,
    )?;
    Ok(verified.into_parts().1)
}

fn timestamp_check(result: Result<vouch_sign::Evidence, Error>) -> &'static str {
    match result {
        Err(Error::Timestamp { check, .. }) => check,
        other => panic!("expected a timestamp failure, got {other:?}"),
    }
}

fn token(bundle: &Value, i: usize) -> Vec<u8> {
    let b64 = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][i]
        ["signedTimestamp"]
        .as_str()
        .expect("token");
    B64.decode(b64).expect("base64")
}

fn set_token(bundle: &mut Value, i: usize, der: &[u8]) {
    bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][i]["signedTimestamp"] =
        Value::String(B64.encode(der));
}

#[test]
fn second_timestamp_over_other_bytes_fails_the_bundle() {
    assert_eq!(
        timestamp_check(verify(root_with_tsas(vec![test_tsa()]), &json(TSA_BUNDLE))),
        "timestamp message imprint"
    );
}

#[test]
fn tsa_bundle_verifies_with_its_timestamp_and_the_integrated_time() {
    let evidence = verify(root_with_tsas(vec![test_tsa()]), &good_bundle()).expect("verifies");
    assert_eq!(evidence.timestamps.len(), 1);
    // genTime of the token, 2024-10-31T10:23:39Z.
    assert_eq!(evidence.timestamps[0].time, 1_730_370_219);
    assert_eq!(
        evidence.timestamps[0].authority,
        "CN=Test TSA Timestamping,O=local"
    );
    let kinds: Vec<&str> = evidence.times.iter().map(|t| t.kind.name()).collect();
    assert_eq!(kinds, ["rfc3161", "integrated-time"]);
    assert!(matches!(
        evidence.times[1].kind,
        TimeSourceKind::IntegratedTime {
            log_index: 35_355_462
        }
    ));
    assert!(evidence.checks.contains(&"RFC 3161 timestamp"));
    // Two verified times meet a threshold of two, not three.
    let three = Thresholds {
        tlog: 1,
        timestamps: 2,
    };
    let verifier = Verifier::new(root_with_tsas(vec![test_tsa()])).with_thresholds(three);
    assert!(verify_with(verifier, &good_bundle()).is_ok());
    let four = Thresholds {
        tlog: 1,
        timestamps: 3,
    };
    let verifier = Verifier::new(root_with_tsas(vec![test_tsa()])).with_thresholds(four);
    assert!(matches!(
        verify_with(verifier, &good_bundle()),
        Err(Error::ThresholdNotMet {
            required: 3,
            found: 2,
            ..
        })
    ));
    let two_logs = Thresholds {
        tlog: 2,
        timestamps: 1,
    };
    let verifier = Verifier::new(root_with_tsas(vec![test_tsa()])).with_thresholds(two_logs);
    assert!(matches!(
        verify_with(verifier, &good_bundle()),
        Err(Error::ThresholdNotMet { found: 1, .. })
    ));
}

#[test]
fn timestamps_alone_establish_time_without_an_inclusion_promise() {
    // sigstore-python `test_verifier_verify_no_inclusion_promise_and_integrated_time`.
    let mut bundle = good_bundle();
    let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
    let obj = entry.as_object_mut().expect("entry");
    obj.remove("inclusionPromise");
    obj.remove("integratedTime");
    let evidence = verify(root_with_tsas(vec![test_tsa()]), &bundle).expect("verifies");
    assert_eq!(evidence.times.len(), 1);
    assert_eq!(evidence.times[0].kind.name(), "rfc3161");
}

#[test]
fn base64_with_line_breaks_is_accepted() {
    let mut bundle = good_bundle();
    let der = token(&bundle, 0);
    let wrapped: String = B64
        .encode(&der)
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join("\r\n");
    bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] =
        Value::String(wrapped + "\n");
    assert!(verify(root_with_tsas(vec![test_tsa()]), &bundle).is_ok());
}

#[test]
fn timestamps_from_an_unlisted_authority_fail() {
    // The staging root lists timestamp.sigstage.dev, not the test TSA.
    let root = TrustedRoot::from_json(&data(STAGING), &Limits::default()).expect("root");
    assert_eq!(
        timestamp_check(verify(root, &good_bundle())),
        "timestamp authority"
    );
    assert_eq!(
        timestamp_check(verify(root_with_tsas(Vec::new()), &good_bundle())),
        "timestamp authority"
    );
}

#[test]
fn garbage_in_place_of_a_timestamp_fails() {
    let mut bundle = good_bundle();
    set_token(&mut bundle, 0, b"not a timestamp");
    assert_eq!(
        timestamp_check(verify(root_with_tsas(vec![test_tsa()]), &bundle)),
        "timestamp syntax"
    );
}

#[test]
fn every_one_byte_change_in_the_token_fails() {
    let root = root_with_tsas(vec![test_tsa()]);
    let verifier = Verifier::new(root);
    let original = good_bundle();
    let der = token(&original, 0);
    // Verified once first: the verifier remembers the TSA's signature over these exact bytes,
    // and no change may ride on that.
    verify_with(verifier.clone(), &original).expect("the original verifies");
    let mut checks = std::collections::BTreeMap::new();
    for i in 0..der.len() {
        let mut tampered = der.clone();
        tampered[i] ^= 0xff;
        let mut bundle = original.clone();
        set_token(&mut bundle, 0, &tampered);
        match verify_with(verifier.clone(), &bundle) {
            Ok(_) => panic!("byte {i} of {} changed and still verified", der.len()),
            Err(Error::Timestamp { check, .. }) => *checks.entry(check).or_insert(0) += 1,
            Err(other) => {
                *checks
                    .entry(other.failed_check().unwrap_or("?"))
                    .or_insert(0) += 1
            }
        }
    }
    // The sweep reaches the signature, the imprint, the signed attributes and the chain.
    for check in [
        "timestamp syntax",
        "timestamp signature",
        "timestamp signed attributes",
        "timestamp certificate chain",
        "timestamp authority",
    ] {
        assert!(
            checks.contains_key(check),
            "{check} never failed: {checks:?}"
        );
    }
}

#[test]
fn imprint_over_other_bytes_fails() {
    // The second token of the bundle moved in front of a bundle with another signature.
    let mut bundle = good_bundle();
    let mut signature = B64
        .decode(
            bundle["messageSignature"]["signature"]
                .as_str()
                .expect("sig"),
        )
        .expect("b64");
    let last = signature.len() - 1;
    signature[last] ^= 1;
    bundle["messageSignature"]["signature"] = Value::String(B64.encode(&signature));
    assert_eq!(
        timestamp_check(verify(root_with_tsas(vec![test_tsa()]), &bundle)),
        "timestamp message imprint"
    );
}

#[test]
fn tsa_chain_changes_fail() {
    // A one-byte change in each certificate of the trusted TSA chain.
    let tsa = test_tsa();
    let certs = tsa["certChain"]["certificates"]
        .as_array()
        .expect("certs")
        .len();
    for c in 0..certs {
        let mut changed = tsa.clone();
        let raw = B64
            .decode(
                changed["certChain"]["certificates"][c]["rawBytes"]
                    .as_str()
                    .expect("raw"),
            )
            .expect("b64");
        // The last byte of the certificate's public key: the certificate it signed (or, for
        // the TSA certificate, the token) no longer verifies.
        let mut raw = raw;
        let at = public_key_end(&raw) - 1;
        raw[at] ^= 0x01;
        changed["certChain"]["certificates"][c]["rawBytes"] = Value::String(B64.encode(&raw));
        let result = verify(root_with_tsas(vec![changed]), &good_bundle());
        let check = timestamp_check(result);
        assert!(
            check == "timestamp certificate chain" || check == "timestamp authority",
            "certificate {c}: {check}"
        );
    }
    // The chain without its root: incomplete.
    let mut leaf_only = tsa;
    let first = leaf_only["certChain"]["certificates"][0].clone();
    leaf_only["certChain"]["certificates"] = Value::Array(vec![first]);
    assert_eq!(
        timestamp_check(verify(root_with_tsas(vec![leaf_only]), &good_bundle())),
        "timestamp certificate chain"
    );
}

#[test]
fn authority_validity_window_is_enforced_end_inclusive() {
    // genTime of the token is 2024-10-31T10:23:39Z.
    let with_end = |end: &str| {
        let mut tsa = test_tsa();
        tsa["validFor"]["end"] = Value::String(end.to_owned());
        root_with_tsas(vec![tsa])
    };
    assert!(verify(with_end("2024-10-31T10:23:39Z"), &good_bundle()).is_ok());
    assert_eq!(
        timestamp_check(verify(with_end("2024-10-31T10:23:38Z"), &good_bundle())),
        "timestamp authority validity"
    );
    let mut late_start = test_tsa();
    late_start["validFor"]["start"] = Value::String("2024-10-31T10:23:40Z".into());
    assert_eq!(
        timestamp_check(verify(root_with_tsas(vec![late_start]), &good_bundle())),
        "timestamp authority validity"
    );
    // No end at all: open window (sigstore-python `test_verifier_no_validity_end`).
    let mut open = test_tsa();
    open["validFor"]
        .as_object_mut()
        .expect("validFor")
        .remove("end");
    assert!(verify(root_with_tsas(vec![open]), &good_bundle()).is_ok());
}

#[test]
fn timestamp_outside_the_signing_certificate_fails() {
    // sigstore-python `test_late_timestamp`: the token (from timestamp.sigstage.dev, which the
    // staging root lists) was requested 12 minutes after signing, past the 10-minute certificate.
    let result = verify(
        TrustedRoot::from_json(&data(STAGING), &Limits::default()).expect("root"),
        &json("sigstore-python/tsa/bundle.txt.late_timestamp.sigstore"),
    );
    assert!(
        matches!(result, Err(Error::CertificateNotValidAt { .. })),
        "{result:?}"
    );
}

#[test]
fn too_many_or_duplicate_timestamps_fail_to_parse() {
    for bad in [
        "sigstore-python/tsa/bundle.many_timestamp.sigstore",
        "sigstore-python/tsa/bundle.duplicate.sigstore",
    ] {
        assert!(
            Bundle::from_json(&data(bad), &Limits::default()).is_err(),
            "{bad}"
        );
    }
}

/// Offset just past the subject public key bits inside a DER certificate.
fn public_key_end(der: &[u8]) -> usize {
    use der::Decode as _;
    let cert = x509_cert::Certificate::from_der(der).expect("certificate");
    let key = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    der.windows(key.len())
        .position(|w| w == key.as_slice())
        .expect("key bytes in certificate")
        + key.len()
}

#[test]
fn the_same_log_entry_twice_counts_once() {
    let mut bundle = good_bundle();
    let entries = bundle["verificationMaterial"]["tlogEntries"]
        .as_array_mut()
        .expect("entries");
    let first = entries[0].clone();
    entries.push(first);
    let evidence = verify(root_with_tsas(vec![test_tsa()]), &bundle).expect("verifies");
    assert_eq!(evidence.tlog_entries.len(), 2);
    // One timestamp and one integrated time, however often the entry is repeated.
    assert_eq!(evidence.times.len(), 2);
    let three_times = Thresholds {
        tlog: 1,
        timestamps: 3,
    };
    let verifier = Verifier::new(root_with_tsas(vec![test_tsa()])).with_thresholds(three_times);
    assert!(matches!(
        verify_with(verifier, &bundle),
        Err(Error::ThresholdNotMet {
            what: "verified timestamps",
            found: 2,
            ..
        })
    ));
    let two_logs = Thresholds {
        tlog: 2,
        timestamps: 1,
    };
    let verifier = Verifier::new(root_with_tsas(vec![test_tsa()])).with_thresholds(two_logs);
    assert!(matches!(
        verify_with(verifier, &bundle),
        Err(Error::ThresholdNotMet {
            what: "transparency log entries",
            required: 2,
            found: 1,
        })
    ));
}
