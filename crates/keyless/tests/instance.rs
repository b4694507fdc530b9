//! Keyless signing against a private instance running on loopback (CA, log, dev OIDC issuer):
//! token -> certificate -> logged signature -> bundle that verifies offline by identity, and
//! the CA's refusals surfacing with their reason.
#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::json;
use vouch_keyless::token::{TokenOptions, resolve_with_env};
use vouch_keyless::{Error, IdentityToken, KeylessSigner, TokenSource, TrustConfig};
use vouch_sign::{
    Artifact, Bundle, IdentityPolicy, Limits, Match, SignerPolicy, TrustedRoot, Verifier,
};

fn signer(running: &vouch_instance::RunningInstance) -> KeylessSigner {
    let config = TrustConfig::from_file(&running.trust_config_path(), &Limits::default()).unwrap();
    assert_eq!(config.ca_url.as_deref(), Some(running.ca_url()));
    assert_eq!(config.logs.len(), 1, "{:?}", config.logs);
    assert_eq!(config.logs[0].url, running.log_url());
    assert_eq!(config.dev_issuer(), running.oidc_url());
    assert_eq!(config.logs[0].api, vouch_keyless::RekorApi::V1);
    assert_eq!(
        config.tsa_urls,
        [format!("{}/api/v1/timestamp", running.tsa_url())]
    );
    KeylessSigner::new(config).unwrap()
}

fn policy(identity: &str, issuer: &str) -> SignerPolicy {
    SignerPolicy::Identity(IdentityPolicy {
        identity: Match::Exact(identity.into()),
        issuer: Match::Exact(issuer.into()),
        extensions: Vec::new(),
    })
}

#[test]
fn blob_and_statement_bundles_verify_offline_by_identity() {
    let dir = tempfile::tempdir().unwrap();
    let running = vouch_instance::Instance::start(dir.path(), &Default::default()).unwrap();
    let signer = signer(&running);
    // The dev issuer named by the trust config is the token source of last resort.
    let token = resolve_with_env(
        &TokenOptions {
            explicit: None,
            dev_issuer: signer.config().dev_issuer().map(str::to_owned),
        },
        signer.http(),
        &|_| None,
    )
    .unwrap();
    assert_eq!(token.source, TokenSource::DevIssuer);
    let session = signer.certify(&token).unwrap();
    assert_eq!(
        session.identity().subject_alternative_names,
        vec![running.email().to_owned()]
    );
    assert_eq!(session.identity().issuer.as_deref(), running.oidc_url());

    let blob = b"release artifact";
    let bundle = session.sign_blob(blob).unwrap();
    let entry = &bundle.tlog_entries[0];
    assert_eq!(entry.kind, "hashedrekord");
    assert!(entry.inclusion_proof.as_ref().unwrap().checkpoint.is_some());
    assert!(entry.signed_entry_timestamp.is_some());

    let statement = vouch_sign::intoto::Statement::new(
        vec![vouch_sign::intoto::Subject::sha256("x", "ab".repeat(32))],
        "https://example.com/predicate",
        json!({"k": "v"}),
    );
    let att = session.sign_statement(&statement).unwrap();
    assert_eq!(att.tlog_entries[0].kind, "dsse");
    // The signing config lists the instance's TSA: each bundle carries one RFC 3161 timestamp.
    assert_eq!(bundle.rfc3161_timestamps.len(), 1);
    assert_eq!(att.rfc3161_timestamps.len(), 1);
    assert!(
        String::from_utf8(bundle.to_json()).unwrap().contains(
            "\"timestampVerificationData\":{\"rfc3161Timestamps\":[{\"signedTimestamp\":\""
        )
    );

    let root_json = std::fs::read(running.trusted_root_path()).unwrap();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    running.stop();

    // Offline: the instance is gone, the bundles still verify from the JSON alone.
    let verifier = Verifier::new(TrustedRoot::from_json(&root_json, &Limits::default()).unwrap());
    let read_back = Bundle::from_json(&bundle.to_json(), &Limits::default()).unwrap();
    let verified = verifier
        .verify_blob(Artifact::Bytes(blob), &read_back, &policy(&email, &issuer))
        .unwrap();
    let evidence = verified.evidence();
    assert_eq!(evidence.timestamps.len(), 1);
    assert_eq!(
        evidence.timestamps[0].authority,
        "CN=vouch timestamping,O=vouch"
    );
    assert!(
        evidence
            .times
            .iter()
            .any(|t| t.kind.name() == "rfc3161" && t.time == evidence.timestamps[0].time),
        "{:?}",
        evidence.times
    );
    // One byte of the timestamp changed (the last byte of its CMS signature): refused.
    let mut stamp_tampered = read_back.clone();
    let last = stamp_tampered.rfc3161_timestamps[0].len() - 1;
    stamp_tampered.rfc3161_timestamps[0][last] ^= 0x01;
    let err = verifier
        .verify_blob(
            Artifact::Bytes(blob),
            &stamp_tampered,
            &policy(&email, &issuer),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("timestamp"), "{err}");
    let wrong_identity =
        verifier.verify_blob(Artifact::Bytes(blob), &read_back, &policy("x@y", &issuer));
    assert!(wrong_identity.is_err());
    let wrong_issuer = verifier.verify_blob(
        Artifact::Bytes(blob),
        &read_back,
        &policy(&email, "https://accounts.google.com"),
    );
    assert!(wrong_issuer.is_err());
    let tampered = verifier.verify_blob(
        Artifact::Bytes(b"other"),
        &read_back,
        &policy(&email, &issuer),
    );
    assert!(tampered.is_err());
    let att_back = Bundle::from_json(&att.to_json(), &Limits::default()).unwrap();
    verifier
        .verify_attestation(
            &att_back,
            None,
            Some("https://example.com/predicate"),
            &policy(&email, &issuer),
        )
        .unwrap();
}

#[test]
fn ca_refusals_surface_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let running = vouch_instance::Instance::start(dir.path(), &Default::default()).unwrap();
    let signer = signer(&running);
    let issuer = running.dev_issuer().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |exp: u64, aud: &str| {
        json!({"iss": issuer.issuer_url(), "sub": "s", "aud": aud, "email": "dev@vouch.invalid",
               "email_verified": true, "iat": now - 4000, "exp": exp})
    };
    for (name, raw, reason) in [
        (
            "expired",
            issuer.mint_claims(&claims(now - 3600, "sigstore")),
            "exp",
        ),
        (
            "wrong audience",
            issuer.mint_claims(&claims(now + 600, "other")),
            "audience",
        ),
    ] {
        let token = IdentityToken::parse(&raw, TokenSource::Flag).unwrap();
        match signer.certify(&token) {
            Err(Error::CaRefused {
                status, message, ..
            }) => {
                assert_eq!(status, 401, "{name}: {message}");
                assert!(
                    message.contains(reason),
                    "{name}: {message:?} lacks {reason:?}"
                );
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
    }
    // Another issuer's token (same URL, other key) is refused: signature.
    let impostor =
        vouch_ca::dev_oidc::DevIssuer::generate(issuer.issuer_url(), "s", "dev@vouch.invalid")
            .unwrap();
    let token =
        IdentityToken::parse(&impostor.mint(&Default::default()), TokenSource::Flag).unwrap();
    assert!(matches!(
        signer.certify(&token),
        Err(Error::CaRefused { status: 401, .. })
    ));
}

#[test]
fn a_trust_config_for_another_instance_fails_at_signing() {
    // Instance B's trust config, with instance A's URLs: A's certificates do not chain to B's
    // root, so the signer refuses to hand out the bundle.
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let a = vouch_instance::Instance::start(a_dir.path(), &Default::default()).unwrap();
    vouch_instance::Instance::init(b_dir.path()).unwrap();
    let mut config =
        TrustConfig::from_file(&b_dir.path().join("trust_config.json"), &Limits::default())
            .unwrap();
    config.ca_url = Some(a.ca_url().to_owned());
    config.logs[0].url = a.log_url().to_owned();
    config.tsa_urls = vec![format!("{}/api/v1/timestamp", a.tsa_url())];
    let signer = KeylessSigner::new(config).unwrap();
    let token = IdentityToken::parse(&a.token().unwrap(), TokenSource::Flag).unwrap();
    let session = signer.certify(&token).unwrap();
    assert!(matches!(session.sign_blob(b"x"), Err(Error::Sign(_))));
}

#[test]
fn a_timestamp_the_trusted_root_does_not_list_or_a_refusing_tsa_fails_at_signing() {
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let a = vouch_instance::Instance::start(a_dir.path(), &Default::default()).unwrap();
    let b = vouch_instance::Instance::start(b_dir.path(), &Default::default()).unwrap();
    let token = IdentityToken::parse(&a.token().unwrap(), TokenSource::Flag).unwrap();

    // A's CA and log, B's TSA: B's timestamp does not chain to A's timestampAuthorities.
    let mut config = TrustConfig::from_file(&a.trust_config_path(), &Limits::default()).unwrap();
    config.tsa_urls = vec![format!("{}/api/v1/timestamp", b.tsa_url())];
    let signer = KeylessSigner::new(config).unwrap();
    let session = signer.certify(&token).unwrap();
    match session.sign_blob(b"x") {
        Err(Error::Sign(e)) => assert!(e.to_string().contains("timestamp"), "{e}"),
        other => panic!("expected a timestamp verification failure, got {other:?}"),
    }

    // A URL that answers no TimeStampResp (the CA's): refused, naming the TSA.
    let mut config = TrustConfig::from_file(&a.trust_config_path(), &Limits::default()).unwrap();
    let bogus = format!("{}/api/v2/signingCert", a.ca_url());
    config.tsa_urls = vec![bogus.clone()];
    let signer = KeylessSigner::new(config).unwrap();
    let session = signer.certify(&token).unwrap();
    match session.sign_blob(b"x") {
        Err(Error::Timestamp { url, .. }) => assert_eq!(url, bogus),
        other => panic!("expected a TSA refusal, got {other:?}"),
    }
}

#[test]
fn a_rekor_v2_instance_gets_hashedrekord_0_0_2_entries_and_needs_a_tsa() {
    let dir = tempfile::tempdir().unwrap();
    vouch_instance::Instance::init_with(
        dir.path(),
        &vouch_instance::InitOptions {
            rekor_v2: true,
            ..Default::default()
        },
    )
    .unwrap();
    let running = vouch_instance::Instance::start(dir.path(), &Default::default()).unwrap();
    let json = std::fs::read(running.trust_config_path()).unwrap();
    let config = TrustConfig::from_json(&json, &Limits::default()).unwrap();
    assert_eq!(config.logs[0].api, vouch_keyless::RekorApi::V2);
    let signer = KeylessSigner::new(config).unwrap();
    let token = IdentityToken::parse(&running.token().unwrap(), TokenSource::Flag).unwrap();
    let session = signer.certify(&token).unwrap();
    let bundle = session.sign_blob(b"into a tile log").unwrap();
    let statement = vouch_sign::intoto::Statement::new(
        vec![vouch_sign::intoto::Subject::sha256("x", "ef".repeat(32))],
        "https://example.com/predicate",
        json!({}),
    );
    let att = session.sign_statement(&statement).unwrap();
    for (b, index) in [(&bundle, 0), (&att, 1)] {
        let entry = &b.tlog_entries[0];
        assert_eq!(
            (entry.kind.as_str(), entry.kind_version.as_str()),
            ("hashedrekord", "0.0.2")
        );
        assert_eq!(entry.log_index, index);
        assert!(entry.signed_entry_timestamp.is_none());
        assert_eq!(entry.integrated_time, 0);
        assert_eq!(b.rfc3161_timestamps.len(), 1);
    }
    // The RFC 3161 timestamp is the only verified time: without it the bundle fails.
    let root = TrustedRoot::from_json(
        &std::fs::read(running.trusted_root_path()).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let mut untimed = bundle.clone();
    untimed.rfc3161_timestamps.clear();
    let identity = policy(running.email(), running.oidc_url().unwrap());
    Verifier::new(root.clone())
        .verify_blob(Artifact::Bytes(b"into a tile log"), &bundle, &identity)
        .unwrap();
    assert!(
        Verifier::new(root)
            .verify_blob(Artifact::Bytes(b"into a tile log"), &untimed, &identity)
            .is_err()
    );

    // A signing config naming a Rekor v2 log but no TSA is refused when loaded.
    let mut value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    value["signingConfig"]["tsaUrls"] = json!([]);
    let err = TrustConfig::from_json(value.to_string().as_bytes(), &Limits::default())
        .expect_err("Rekor v2 without a TSA");
    assert!(err.to_string().contains("tsaUrls"), "{err}");
}

/// Signing into every log the signing config selects (`rekorTlogConfig`, as sigstore-go's
/// `sign.Bundle`): two Rekor v2 instances' logs under `ALL` give each bundle one entry from
/// each, which `--tlog-threshold 2` (Thresholds::tlog) counts; `EXACT 1` gives one.
#[test]
fn keyless_signatures_go_into_every_selected_log() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let options = vouch_instance::StartOptions {
        rekor_v2: true,
        ..Default::default()
    };
    let a = vouch_instance::Instance::start(dirs[0].path(), &options).unwrap();
    let b = vouch_instance::Instance::start(dirs[1].path(), &options).unwrap();
    let read = |path: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    // A's instance (CA, TSA, log) plus B's log, trusted and selected.
    let mut tc = read(a.trust_config_path());
    let b_tc = read(b.trust_config_path());
    tc["trustedRoot"]["tlogs"]
        .as_array_mut()
        .unwrap()
        .push(b_tc["trustedRoot"]["tlogs"][0].clone());
    let mut b_log = b_tc["signingConfig"]["rekorTlogUrls"][0].clone();
    b_log["operator"] = json!("instance b");
    tc["signingConfig"]["rekorTlogUrls"]
        .as_array_mut()
        .unwrap()
        .push(b_log);
    let root = TrustedRoot::from_json(tc["trustedRoot"].to_string().as_bytes(), &Limits::default())
        .unwrap();
    let token = IdentityToken::parse(&a.token().unwrap(), TokenSource::Flag).unwrap();
    let identity = policy(a.email(), a.oidc_url().unwrap());
    let two = vouch_sign::Thresholds {
        tlog: 2,
        ..Default::default()
    };

    for (selector, count) in [
        (json!({"selector": "ALL"}), 2),
        (json!({"selector": "EXACT", "count": 2}), 2),
        (json!({"selector": "EXACT", "count": 1}), 1),
    ] {
        tc["signingConfig"]["rekorTlogConfig"] = selector.clone();
        let config = TrustConfig::from_json(tc.to_string().as_bytes(), &Limits::default()).unwrap();
        assert_eq!(config.logs.len(), count, "{selector}");
        let signer = KeylessSigner::new(config).unwrap();
        let session = signer.certify(&token).unwrap();
        let bundle = session.sign_blob(b"into two logs").unwrap();
        assert_eq!(bundle.tlog_entries.len(), count, "{selector}");
        let statement = vouch_sign::intoto::Statement::new(
            vec![vouch_sign::intoto::Subject::sha256("x", "ef".repeat(32))],
            "https://example.com/predicate",
            json!({}),
        );
        assert_eq!(
            session
                .sign_statement(&statement)
                .unwrap()
                .tlog_entries
                .len(),
            count
        );
        let verified = Verifier::new(root.clone())
            .with_thresholds(vouch_sign::Thresholds {
                tlog: count,
                ..Default::default()
            })
            .verify_blob(Artifact::Bytes(b"into two logs"), &bundle, &identity)
            .unwrap();
        assert_eq!(verified.evidence().tlog_entries.len(), count);
        if count == 2 {
            assert_ne!(bundle.tlog_entries[0].log_id, bundle.tlog_entries[1].log_id);
            // One entry dropped: the threshold of two is not met.
            let mut one = bundle.clone();
            one.tlog_entries.pop();
            let err = Verifier::new(root.clone())
                .with_thresholds(two)
                .verify_blob(Artifact::Bytes(b"into two logs"), &one, &identity)
                .expect_err("one of two entries");
            assert!(
                matches!(
                    err,
                    vouch_sign::Error::ThresholdNotMet {
                        required: 2,
                        found: 1,
                        ..
                    }
                ),
                "{err}"
            );
        }
    }
    // More logs demanded than listed: refused when the config is loaded.
    tc["signingConfig"]["rekorTlogConfig"] = json!({"selector": "EXACT", "count": 3});
    let err = TrustConfig::from_json(tc.to_string().as_bytes(), &Limits::default())
        .expect_err("EXACT 3 of 2");
    assert!(err.to_string().contains("EXACT 3"), "{err}");
}
