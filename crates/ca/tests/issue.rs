//! Certificates issued by vouch-ca pass vouch-sign's keyless verification (chain, profile, SCT,
//! identity), and fail it for the wrong identity, issuer, time, or trust root.

use crate::common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{KeylessFixture, email_identity};
use vouch_ca::CertificateAuthority;
use vouch_sign::{Error as SignError, IdentityPolicy, SignerPolicy};

const EMAIL: &str = "alice@example.com";
const ISSUER: &str = "https://issuer.example";

#[test]
fn issued_certificate_verifies_with_identity_policy() {
    let ca = CertificateAuthority::generate("vouch test").expect("CA");
    let fx = KeylessFixture::sign(&ca, &email_identity(EMAIL, ISSUER), SystemTime::now());
    let verified = fx
        .verify(
            &ca,
            &SignerPolicy::Identity(IdentityPolicy::exact(EMAIL, ISSUER)),
        )
        .expect("verifies");
    let checks = &verified.evidence().checks;
    for check in [
        "certificate chain",
        "certificate profile",
        "SCT",
        "identity",
        "signature",
    ] {
        assert!(checks.contains(&check), "missing {check} in {checks:?}");
    }
    // Both issuer extensions, the raw 1.1 and the UTF8String 1.8.
    let id = vouch_sign::certificate_identity(fx.chain.leaf()).expect("identity");
    assert_eq!(
        id.extensions
            .get("1.3.6.1.4.1.57264.1.1")
            .map(String::as_str),
        Some(ISSUER)
    );
    assert_eq!(
        id.extensions
            .get("1.3.6.1.4.1.57264.1.8")
            .map(String::as_str),
        Some(ISSUER)
    );
    assert_eq!(id.subject_alternative_names, [EMAIL]);
    assert_eq!(fx.chain.certificates.len(), 3);
}

#[test]
fn uri_identity_and_extra_extensions() {
    let ca = CertificateAuthority::generate("vouch test").expect("CA");
    let san = "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main";
    let identity = vouch_ca::Identity {
        san: vouch_ca::San::Uri(san.into()),
        issuer: "https://token.actions.githubusercontent.com".into(),
        extensions: vec![(
            "1.3.6.1.4.1.57264.1.12".into(),
            "https://github.com/o/r".into(),
        )],
    };
    let fx = KeylessFixture::sign(&ca, &identity, SystemTime::now());
    let policy = IdentityPolicy::exact(san, "https://token.actions.githubusercontent.com")
        .with_extension(
            vouch_sign::verify::OID_SOURCE_REPOSITORY_URI,
            "https://github.com/o/r",
        );
    fx.verify(&ca, &SignerPolicy::Identity(policy))
        .expect("verifies");
}

#[test]
fn wrong_identity_issuer_or_time_fails() {
    let ca = CertificateAuthority::generate("vouch test").expect("CA");
    let fx = KeylessFixture::sign(&ca, &email_identity(EMAIL, ISSUER), SystemTime::now());
    let wrong_identity = IdentityPolicy::exact("mallory@example.com", ISSUER);
    assert!(matches!(
        fx.verify(&ca, &SignerPolicy::Identity(wrong_identity)),
        Err(SignError::IdentityMismatch { .. })
    ));
    let wrong_issuer = IdentityPolicy::exact(EMAIL, "https://other.example");
    assert!(matches!(
        fx.verify(&ca, &SignerPolicy::Identity(wrong_issuer)),
        Err(SignError::IssuerMismatch { .. })
    ));

    // A certificate whose 10 minutes ended before the log integrated the signature.
    let past = SystemTime::now() - Duration::from_secs(3600);
    let expired = KeylessFixture::sign_logged_at(
        &ca,
        &email_identity(EMAIL, ISSUER),
        past,
        unix(SystemTime::now()),
    );
    assert!(matches!(
        expired.verify(
            &ca,
            &SignerPolicy::Identity(IdentityPolicy::exact(EMAIL, ISSUER))
        ),
        Err(SignError::CertificateNotValidAt { .. })
    ));
}

#[test]
fn other_root_fails() {
    let ca = CertificateAuthority::generate("vouch test").expect("CA");
    let other = CertificateAuthority::generate("someone else").expect("CA");
    let fx = KeylessFixture::sign(&ca, &email_identity(EMAIL, ISSUER), SystemTime::now());
    // Trusted root lists `other`'s chain and CT key only.
    assert!(matches!(
        fx.verify(
            &other,
            &SignerPolicy::Identity(IdentityPolicy::exact(EMAIL, ISSUER))
        ),
        Err(SignError::UntrustedCertificate { .. } | SignError::SignatureInvalid { .. })
    ));
}

#[test]
fn ca_round_trips_through_pem() {
    let ca = CertificateAuthority::generate("vouch test").expect("CA");
    let loaded = CertificateAuthority::from_pem(&ca.to_pem().expect("pem")).expect("load");
    assert_eq!(loaded.ca_chain(), ca.ca_chain());
    let fx = KeylessFixture::sign(&loaded, &email_identity(EMAIL, ISSUER), SystemTime::now());
    fx.verify(
        &ca,
        &SignerPolicy::Identity(IdentityPolicy::exact(EMAIL, ISSUER)),
    )
    .expect("verifies");
    // A key that does not match the intermediate is refused.
    let mut bad = ca.to_pem().expect("pem");
    bad.intermediate_key_pem = bad.ct_key_pem.clone();
    assert!(matches!(
        CertificateAuthority::from_pem(&bad),
        Err(vouch_ca::Error::Material { .. })
    ));
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after epoch").as_secs()
}
