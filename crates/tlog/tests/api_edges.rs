#![allow(missing_docs, clippy::unwrap_used)]
//! Out-of-range and malformed queries are the client's error (400/404), never a 500 or an
//! empty success.
use crate::common;

use common::{TestServer, get, hashedrekord, post};
use vouch_sign::KeyAlgorithm;
use vouch_tlog::{Limits, LogKey, SqliteStorage};

#[test]
fn huge_indexes_and_malformed_hashes_are_client_errors() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path().join("log.db")).unwrap();
    let key = LogKey::generate(KeyAlgorithm::EcdsaP256, "log.example").unwrap();
    let server = TestServer::start(Box::new(storage), key, Limits::default());
    let url = &server.url;
    let signer = common::key();
    let body = serde_json::to_vec(&hashedrekord(&signer, b"one")).unwrap();
    assert_eq!(
        post(&format!("{url}/api/v1/log/entries"), &body).status,
        201
    );

    // logIndex beyond the tree, up to and past the database's 63-bit integers: 404.
    for index in [
        "1",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
    ] {
        let answer = get(&format!("{url}/api/v1/log/entries?logIndex={index}"));
        assert_eq!(
            answer.status,
            404,
            "logIndex {index}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.json()["code"], 404);
    }
    // Past u64: not a number this API accepts.
    let answer = get(&format!(
        "{url}/api/v1/log/entries?logIndex=18446744073709551616"
    ));
    assert_eq!(answer.status, 400);
    // The same indexes in a retrieve query: found nothing, not an error.
    let answer = post(
        &format!("{url}/api/v1/log/entries/retrieve"),
        br#"{"logIndexes": [0, 9223372036854775808, 18446744073709551615]}"#,
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.json().as_array().unwrap().len(), 1);

    // index/retrieve: a hash that is not [alg:]hex of the algorithm's length is a 400.
    let search = |query: &str| post(&format!("{url}/api/v1/index/retrieve"), query.as_bytes());
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"one"));
    for good in [
        digest.clone(),
        format!("sha256:{digest}"),
        digest.to_uppercase(),
    ] {
        let answer = search(&format!(r#"{{"hash": "{good}"}}"#));
        assert_eq!(answer.status, 200, "{good}");
        assert_eq!(answer.json().as_array().unwrap().len(), 1, "{good}");
    }
    for bad in [
        "\"nothex\"".to_owned(),
        "\"sha256:abc\"".to_owned(),
        format!("\"sha1:{digest}\""),
        format!("\"md5:{digest}\""),
        format!("\"{}zz\"", &digest[..62]),
        "42".to_owned(),
    ] {
        let answer = search(&format!(r#"{{"hash": {bad}}}"#));
        assert_eq!(
            answer.status,
            400,
            "hash {bad}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert!(
            answer.json()["message"].as_str().unwrap().contains("hash"),
            "the message names the field"
        );
    }
    // A well-formed hash nobody logged: an empty answer.
    let answer = search(&format!(r#"{{"hash": "sha512:{}"}}"#, "ab".repeat(64)));
    assert_eq!(answer.status, 200);
    assert!(answer.json().as_array().unwrap().is_empty());
}
