//! vouch-sign's RFC 3161 verifier (the one bundles go through) accepts vouch-tsa's tokens when
//! the trusted root lists the TSA's chain, and refuses them tampered or from an unlisted TSA.
//! The bundle is key-signed with no log entry (`keys_without_tlog`), so the timestamp is the
//! only time evidence and is checked on its own.
#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::Digest as _;
use vouch_sign::{
    Artifact, Bundle, Error, KeyAlgorithm, Limits, SignerPolicy, SigningKey, TrustedRoot, Verifier,
    VerifierOptions,
};
use vouch_tsa::{Config, Material, TimestampAuthority, TimestampRequest};

const ARTIFACT: &[u8] = b"an artifact signed with a key and timestamped\n";

/// A trusted root listing only `material`'s chain as a timestamp authority.
fn root_listing(material: &Material) -> TrustedRoot {
    let root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [],
        "certificateAuthorities": [],
        "ctlogs": [],
        "timestampAuthorities": [{
            "subject": {"organization": "vouch test", "commonName": "vouch test timestamping"},
            "certChain": {"certificates": material.chain.iter()
                .map(|der| json!({"rawBytes": B64.encode(der)})).collect::<Vec<_>>()},
            "validFor": {"start": "2020-01-01T00:00:00Z"}
        }]
    });
    TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap(), &Limits::default()).unwrap()
}

/// The TimeStampToken (ContentInfo) inside a granted TimeStampResp: what bundles carry.
fn token_of(response: &[u8]) -> Vec<u8> {
    use der07::{Decode as _, Encode as _};
    let resp = x509_tsp::TimeStampResp::from_der(response).unwrap();
    resp.time_stamp_token.unwrap().to_der().unwrap()
}

fn bundle(signature: &[u8], token: &[u8]) -> Bundle {
    Bundle::from_json(
        &serde_json::to_vec(&bundle_json(signature, token)).unwrap(),
        &Limits::default(),
    )
    .unwrap()
}

fn verify(
    root: TrustedRoot,
    key: &SigningKey,
    bundle: &Bundle,
) -> Result<vouch_sign::Evidence, Error> {
    let options = VerifierOptions {
        keys_without_tlog: true,
        ..VerifierOptions::default()
    };
    let verified = Verifier::with_options(root, options).verify_blob(
        Artifact::Bytes(ARTIFACT),
        bundle,
        &SignerPolicy::Key(key.public_key()),
    )?;
    Ok(verified.into_parts().1)
}

/// A timestamp over `signature` from `tsa`, as a signer asks for one (sigstore client spec:
/// the imprint is the digest of the signature bytes), with certReq.
fn stamp(tsa: &TimestampAuthority, signature: &[u8]) -> Vec<u8> {
    let body = json!({
        "artifactHash": B64.encode(sha2::Sha256::digest(signature)),
        "hashAlgorithm": "sha256",
        "certificates": true,
        "nonce": 42,
    });
    let request = TimestampRequest::from_json(body.to_string().as_bytes()).unwrap();
    token_of(&tsa.timestamp(&request).unwrap().response)
}

#[test]
fn vouch_sign_verifies_vouch_tsa_tokens_and_refuses_tampered_ones() {
    let material = Material::generate("vouch test").unwrap();
    let tsa = TimestampAuthority::new(&material, &Config::default()).unwrap();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let signature = key.sign_bytes(ARTIFACT);
    let token = stamp(&tsa, &signature);

    let evidence = verify(root_listing(&material), &key, &bundle(&signature, &token)).unwrap();
    assert_eq!(evidence.timestamps.len(), 1);
    assert_eq!(
        evidence.timestamps[0].authority,
        "CN=vouch test timestamping,O=vouch test"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(evidence.timestamps[0].time) < 600);
    assert!(evidence.checks.contains(&"RFC 3161 timestamp"));

    // Every one-bit change to the signed TSTInfo, and to the signature value, fails. (The
    // SignedData framing outside the signature, such as SignerInfo.version or the embedded
    // certificates, is not signed; the verifier checks the certificate against the trusted root.)
    let tst_info = {
        use der07::{Decode as _, Encode as _};
        let info = cms::content_info::ContentInfo::from_der(&token).unwrap();
        let signed =
            cms::signed_data::SignedData::from_der(&info.content.to_der().unwrap()).unwrap();
        signed.encap_content_info.econtent.unwrap().value().to_vec()
    };
    let tst_at = token
        .windows(tst_info.len())
        .position(|w| w == tst_info.as_slice())
        .unwrap();
    // The ECDSA signature is the token's last 70..72 bytes; its last 64 are within r and s.
    let offsets = (tst_at..tst_at + tst_info.len()).chain(token.len() - 60..token.len());
    let mut refused_by_verifier = 0;
    for offset in offsets {
        let mut bad = token.clone();
        bad[offset] ^= 0x01;
        // A token that no longer parses is refused when the bundle is read; that is a refusal too.
        let Ok(b) = Bundle::from_json(
            &serde_json::to_vec(&bundle_json(&signature, &bad)).unwrap(),
            &Limits::default(),
        ) else {
            continue;
        };
        assert!(
            verify(root_listing(&material), &key, &b).is_err(),
            "token with byte {offset} flipped verified"
        );
        refused_by_verifier += 1;
    }
    // Most flips still parse: the verifier's own checks refused them, not the parser.
    assert!(
        refused_by_verifier > (tst_info.len() + 60) / 2,
        "{refused_by_verifier}"
    );

    // A timestamp over other bytes than the signature.
    let other = stamp(&tsa, b"other signature bytes");
    let err = verify(root_listing(&material), &key, &bundle(&signature, &other)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timestamp {
                check: "timestamp message imprint",
                ..
            }
        ),
        "{err:?}"
    );

    // A trusted root listing another TSA.
    let elsewhere = Material::generate("vouch test").unwrap();
    let err = verify(root_listing(&elsewhere), &key, &bundle(&signature, &token)).unwrap_err();
    assert!(matches!(err, Error::Timestamp { .. }), "{err:?}");
}

fn bundle_json(signature: &[u8], token: &[u8]) -> Value {
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": {"hint": ""},
            "tlogEntries": [],
            "timestampVerificationData": {"rfc3161Timestamps": [
                {"signedTimestamp": B64.encode(token)}
            ]}
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256",
                              "digest": B64.encode(sha2::Sha256::digest(ARTIFACT))},
            "signature": B64.encode(signature)
        }
    })
}
