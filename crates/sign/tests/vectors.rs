//! Public Sigstore vectors (sigstore-python, cosign, sigstore-rs) verify or fail offline as their
//! projects' own tests say. Data and provenance: `tests/data/*/README.md`.

use std::path::PathBuf;

use vouch_sign::verify::OID_SOURCE_REPOSITORY_URI;
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

fn verifier(root: &str) -> Verifier {
    Verifier::new(TrustedRoot::from_json(&data(root), &Limits::default()).expect("trusted root"))
}

fn bundle(path: &str) -> Bundle {
    Bundle::from_json(&data(path), &Limits::default()).expect(path)
}

const STAGING: &str = "trust-roots/staging.trusted_root.json";
const PUBLIC_GOOD: &str = "trust-roots/public-good.trusted_root.json";
const GITHUB_OAUTH: &str = "https://github.com/login/oauth";

#[test]
fn good_sigstore_python_bundles_verify_with_identity() {
    let cases = [
        ("bundle.txt", STAGING, "a@tny.town", GITHUB_OAUTH, 7_390_977),
        (
            "bundle_v3.txt",
            STAGING,
            "william@yossarian.net",
            GITHUB_OAUTH,
            25_915_956,
        ),
        (
            "bundle_v3_alt.txt",
            STAGING,
            "william@yossarian.net",
            GITHUB_OAUTH,
            0,
        ),
        (
            "bundle_v3_github.whl",
            PUBLIC_GOOD,
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
            "https://token.actions.githubusercontent.com",
            0,
        ),
    ];
    // tsa/bundle.txt: tests/timestamps.rs (its TSA is not in the staging root).
    for (name, root, identity, issuer, log_index) in cases {
        let artifact = data(&format!("sigstore-python/{name}"));
        let b = bundle(&format!("sigstore-python/{name}.sigstore"));
        let policy = SignerPolicy::Identity(IdentityPolicy::exact(identity, issuer));
        let verified = verifier(root)
            .verify_blob(Artifact::Bytes(&artifact), &b, &policy)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.value(), &BlobContent::MessageSignature, "{name}");
        let evidence = verified.evidence();
        let tlog = evidence.tlog.as_ref().expect("tlog evidence");
        assert!(
            tlog.integrated_time.is_some() && tlog.inclusion_proof_verified,
            "{name}"
        );
        if log_index != 0 {
            assert_eq!(tlog.log_index, log_index, "{name}");
        }
        for check in [
            "inclusion proof",
            "signed entry timestamp",
            "certificate chain",
            "SCT",
            "identity",
            "signature",
        ] {
            assert!(
                evidence.checks.contains(&check),
                "{name}: {check} in {:?}",
                evidence.checks
            );
        }
        let VerifiedSigner::Certificate(id) = &evidence.signer else {
            panic!("{name}: expected a certificate signer");
        };
        assert_eq!(id.issuer.as_deref(), Some(issuer), "{name}");
    }
}

#[test]
fn github_workflow_claims_are_checked() {
    let artifact = data("sigstore-python/bundle_v3_github.whl");
    let b = bundle("sigstore-python/bundle_v3_github.whl.sigstore");
    let base = IdentityPolicy {
        identity: vouch_sign::Match::regex(r"^https://github\.com/trailofbits/rfc8785\.py/")
            .expect("re"),
        issuer: vouch_sign::Match::Exact("https://token.actions.githubusercontent.com".into()),
        extensions: Vec::new(),
    };
    let good = base.clone().with_extension(
        OID_SOURCE_REPOSITORY_URI,
        "https://github.com/trailofbits/rfc8785.py",
    );
    verifier(PUBLIC_GOOD)
        .verify_blob(
            Artifact::Bytes(&artifact),
            &b,
            &SignerPolicy::Identity(good),
        )
        .expect("claims match");
    let bad = base.with_extension(
        OID_SOURCE_REPOSITORY_URI,
        "https://github.com/evil/rfc8785.py",
    );
    let err = verifier(PUBLIC_GOOD)
        .verify_blob(Artifact::Bytes(&artifact), &b, &SignerPolicy::Identity(bad))
        .expect_err("wrong repository");
    assert!(
        matches!(
            err,
            Error::ExtensionMismatch {
                oid: OID_SOURCE_REPOSITORY_URI,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn bad_sigstore_python_bundles_fail_to_parse() {
    let parse =
        |p: &str| Bundle::from_json(&data(&format!("sigstore-python/{p}")), &Limits::default());
    assert!(matches!(
        parse("bundle_invalid_version.txt.sigstore"),
        Err(Error::UnsupportedMediaType { .. })
    ));
    assert!(matches!(
        parse("bundle_no_cert_v1.txt.sigstore"),
        Err(Error::InvalidBundle {
            rule: "expected non-empty certificate chain"
        })
    ));
    assert!(matches!(
        parse("bundle_no_checkpoint.txt.sigstore"),
        Err(Error::InvalidBundle {
            rule: "entry must contain inclusion proof, with checkpoint"
        })
    ));
    assert!(matches!(
        parse("tsa/bundle.duplicate.sigstore"),
        Err(Error::InvalidBundle {
            rule: "duplicate RFC 3161 timestamps"
        })
    ));
    assert!(matches!(
        parse("tsa/bundle.many_timestamp.sigstore"),
        Err(Error::TooLarge {
            limit: 32,
            actual: 33,
            ..
        })
    ));
}

fn verify_any(name: &str, bundle_file: &str, root: &str) -> Result<(), Error> {
    let artifact = data(&format!("sigstore-python/{name}"));
    let b = bundle(&format!("sigstore-python/{bundle_file}"));
    verifier(root)
        .verify_blob(
            Artifact::Bytes(&artifact),
            &b,
            &SignerPolicy::UnsafeAnyIdentity,
        )
        .map(|_| ())
}

#[test]
fn bad_sigstore_python_bundles_fail_verification() {
    let err = verify_any(
        "bundle_cve_2022_36056.txt",
        "bundle_cve_2022_36056.txt.sigstore",
        STAGING,
    );
    assert!(
        matches!(err, Err(Error::TlogBodyMismatch { .. })),
        "{err:?}"
    );
    let err = verify_any(
        "bundle_no_log_entry.txt",
        "bundle_no_log_entry.txt.sigstore",
        STAGING,
    );
    assert!(matches!(err, Err(Error::MissingTlogEntry)), "{err:?}");
    let err = verify_any(
        "bundle_v3_no_signed_time.txt",
        "bundle_v3_no_signed_time.txt.sigstore.json",
        PUBLIC_GOOD,
    );
    assert!(matches!(err, Err(Error::NoVerifiedTime { .. })), "{err:?}");
    // staging-rekor-v2.txt verifies: tests/rekor_v2.rs.
}

#[test]
fn good_bundles_fail_under_the_wrong_trusted_root() {
    let err = verify_any("bundle_v3.txt", "bundle_v3.txt.sigstore", PUBLIC_GOOD);
    assert!(matches!(err, Err(Error::UntrustedLog { .. })), "{err:?}");
}

#[test]
fn cosign_dsse_attestation_bundle_verifies() {
    let b = bundle("cosign-attestation/oci-attestation.sigstore.json");
    let v = Verifier::new(
        TrustedRoot::from_json(
            &data("cosign-attestation/trusted_root_pgi.json"),
            &Limits::default(),
        )
        .expect("root"),
    );
    let policy = SignerPolicy::Identity(IdentityPolicy::exact("cody@soyland.com", GITHUB_OAUTH));
    let subject: [u8; 32] =
        hex::decode("732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4")
            .expect("hex")
            .try_into()
            .expect("32 bytes");
    let verified = v
        .verify_attestation(
            &b,
            Some(subject),
            Some("https://cosign.sigstore.dev/attestation/v1"),
            &policy,
        )
        .expect("verifies");
    assert_eq!(verified.value().subject[0].name, "127.0.0.1:60943/repo");
    let err = v
        .verify_attestation(
            &b,
            Some(subject),
            Some("https://spdx.dev/Document"),
            &policy,
        )
        .expect_err("wrong predicate type");
    assert!(
        matches!(err, Error::PredicateTypeMismatch { .. }),
        "{err:?}"
    );
    let err = v
        .verify_attestation(&b, Some([0u8; 32]), None, &policy)
        .expect_err("wrong subject");
    assert!(matches!(err, Error::SubjectNotFound { .. }), "{err:?}");
}

#[test]
fn sigstore_rs_dsse_bundle_verifies() {
    let b = bundle("sigstore-rs-bundle/bundle_v03.json");
    let policy = SignerPolicy::Identity(IdentityPolicy::exact(
        "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
        "https://token.actions.githubusercontent.com",
    ));
    let verified = verifier(PUBLIC_GOOD)
        .verify_attestation(
            &b,
            None,
            Some("https://sigstore.dev/cosign/sign/v1"),
            &policy,
        )
        .expect("verifies");
    assert_eq!(
        verified.evidence().tlog.as_ref().map(|t| t.log_index),
        Some(1_261_105_807)
    );
}

#[test]
fn parsed_bundles_round_trip_through_v0_3_json() {
    for path in [
        "sigstore-python/bundle_v3.txt.sigstore",
        "cosign-attestation/oci-attestation.sigstore.json",
        "sigstore-rs-bundle/bundle_v03.json",
    ] {
        let original: serde_json::Value = serde_json::from_slice(&data(path)).expect("json");
        let b = bundle(path);
        let written: serde_json::Value = serde_json::from_slice(&b.to_json()).expect("json");
        assert_eq!(written, original, "{path}");
    }
}
