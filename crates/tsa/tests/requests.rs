//! Request parsing and token contents, in process: requests openssl cannot be asked to make
//! (extensions, version 2, trailing bytes, a non-NULL parameter), the JSON form's edges, and
//! the TSTInfo fields read back with x509-tsp.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, UNIX_EPOCH};

use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::signed_data::SignedData;
use der07::asn1::{Any, Int, ObjectIdentifier, OctetString};
use der07::{Decode as _, Encode as _};
use vouch_tsa::{Config, Failure, Material, TimestampAuthority, TimestampRequest};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

fn request() -> TimeStampReq {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(vec![7u8; 32]).unwrap(),
        },
        req_policy: None,
        nonce: Some(Int::new(&[0x00, 0xff, 0x01]).unwrap()),
        cert_req: false,
        extensions: None,
    }
}

fn failure(der: &[u8]) -> Failure {
    TimestampRequest::from_der(der).unwrap_err().failure
}

#[test]
fn requests_openssl_cannot_make_are_refused_by_name() {
    // An extension (RFC 3161: the TSA refuses extensions it does not know).
    let mut req = request();
    req.extensions = Some(vec![cms::cert::x509::ext::Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
        critical: false,
        extn_value: OctetString::new(vec![5u8, 0]).unwrap(),
    }]);
    assert_eq!(
        failure(&req.to_der().unwrap()),
        Failure::UnacceptedExtension
    );

    // Version 2.
    let mut der = request().to_der().unwrap();
    assert_eq!(&der[2..5], [0x02, 0x01, 0x01]);
    der[4] = 2;
    assert_eq!(failure(&der), Failure::BadDataFormat);

    // Trailing bytes after the request.
    let mut der = request().to_der().unwrap();
    der.push(0);
    assert_eq!(failure(&der), Failure::BadDataFormat);

    // Hash parameters other than absent/NULL.
    let mut req = request();
    req.message_imprint.hash_algorithm.parameters = Some(Any::encode_from(&SHA256).unwrap());
    assert_eq!(failure(&req.to_der().unwrap()), Failure::BadAlg);

    // SHA-384 with a 32-byte digest.
    let mut req = request();
    req.message_imprint.hash_algorithm.oid = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
    assert_eq!(failure(&req.to_der().unwrap()), Failure::BadRequest);

    // The well-formed request parses, nonce kept byte for byte.
    let parsed = TimestampRequest::from_der(&request().to_der().unwrap()).unwrap();
    assert_eq!(parsed.nonce(), Some(&[0x00, 0xff, 0x01][..]));
}

#[test]
fn json_requests_edges() {
    let ok = |body: &str| TimestampRequest::from_json(body.as_bytes());
    let b64 = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="; // 32 x 0x07
    // Algorithm names are case-insensitive, as sigstore's strings.ToLower.
    let r = ok(&format!(
        r#"{{"artifactHash":"{b64}","hashAlgorithm":"SHA256","nonce":255}}"#
    ))
    .unwrap();
    assert_eq!(r.nonce(), Some(&[0x00, 0xff][..]));
    for (body, want) in [
        (
            format!(r#"{{"artifactHash":"{b64}","hashAlgorithm":"sha1"}}"#),
            Failure::BadAlg,
        ),
        (
            format!(r#"{{"artifactHash":"{b64}","hashAlgorithm":"sha256","nonce":-1}}"#),
            Failure::BadDataFormat,
        ),
        (
            format!(r#"{{"artifactHash":"{b64}","hashAlgorithm":"sha256","nonce":1.5}}"#),
            Failure::BadDataFormat,
        ),
        (
            format!(r#"{{"artifactHash":"{b64}","hashAlgorithm":"sha256","tsaPolicyOID":"x.y"}}"#),
            Failure::BadDataFormat,
        ),
        (
            r#"{"hashAlgorithm":"sha256"}"#.to_owned(),
            Failure::BadDataFormat,
        ),
        (
            format!(
                r#"{{"artifactHash":"{b64}","hashAlgorithm":"sha256","pad":"{}"}}"#,
                "x".repeat(1024)
            ),
            Failure::BadRequest,
        ),
    ] {
        assert_eq!(ok(&body).unwrap_err().failure, want, "{body}");
    }
}

#[test]
fn token_fields_read_back() {
    let material = Material::generate("fields").unwrap();
    let tsa = TimestampAuthority::new(
        &material,
        &Config {
            accuracy: Duration::from_millis(250),
            ..Config::default()
        },
    )
    .unwrap();
    let req = TimestampRequest::from_der(&request().to_der().unwrap()).unwrap();
    let at = UNIX_EPOCH + Duration::from_millis(1_800_000_000_999);
    let issued = tsa.timestamp_at(&req, at).unwrap();
    assert_eq!(issued.gen_time, 1_800_000_000);
    let again = tsa.timestamp_at(&req, at).unwrap();
    assert_ne!(issued.serial, again.serial);

    let resp = TimeStampResp::from_der(&issued.response).unwrap();
    assert_eq!(resp.status.status, cmpv2::status::PkiStatus::Accepted);
    let token = resp.time_stamp_token.unwrap();
    let signed = SignedData::from_der(&token.content.to_der().unwrap()).unwrap();
    assert!(
        signed.certificates.is_none(),
        "certReq false: no certificate"
    );
    let econtent = signed.encap_content_info.econtent.unwrap();
    let tst = TstInfo::from_der(econtent.value()).unwrap();
    assert_eq!(tst.policy.to_string(), vouch_tsa::DEFAULT_POLICY);
    assert_eq!(tst.message_imprint, request().message_imprint);
    assert_eq!(tst.nonce.unwrap().as_bytes(), [0x00, 0xff, 0x01]);
    assert_eq!(tst.gen_time.to_unix_duration().as_secs(), 1_800_000_000);
    assert_eq!(tst.serial_number.as_bytes(), issued.serial.as_slice());
    let accuracy = tst.accuracy.unwrap();
    assert_eq!(
        (accuracy.seconds, accuracy.millis, accuracy.micros),
        (None, Some(250), None)
    );

    // A policy not configured is refused; the configured default is always accepted.
    let mut r = request();
    r.req_policy = Some(ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.99"));
    let parsed = TimestampRequest::from_der(&r.to_der().unwrap()).unwrap();
    assert_eq!(
        tsa.timestamp(&parsed).unwrap_err().failure,
        Failure::UnacceptedPolicy
    );
    r.req_policy = Some(ObjectIdentifier::new_unwrap(vouch_tsa::DEFAULT_POLICY));
    let parsed = TimestampRequest::from_der(&r.to_der().unwrap()).unwrap();
    assert!(tsa.timestamp(&parsed).is_ok());
}

#[test]
fn material_refuses_a_chain_whose_first_certificate_is_not_the_keys() {
    let tsa = Material::generate("eku").unwrap();
    let pems = tsa.chain_pems().unwrap();
    // The root first: not the key's certificate, refused.
    let key_dir = tempfile::tempdir().unwrap();
    tsa.write(key_dir.path()).unwrap();
    let key = std::fs::read_to_string(key_dir.path().join(vouch_tsa::KEY_FILE)).unwrap();
    let err = Material::from_pem(&key, &pems[1]).unwrap_err().to_string();
    assert!(err.contains("not the TSA private key"), "{err}");
    assert!(Material::from_pem(&key, &pems.concat()).is_ok());
    // The key is never overwritten.
    assert!(tsa.write(key_dir.path()).is_err());
}
