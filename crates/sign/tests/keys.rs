//! cosign key files written by cosign and sigstore-rs are read; keys vouch writes read back.

use std::path::PathBuf;

use vouch_sign::keyfile::{encrypt_private_key, read_private_key};
use vouch_sign::{Error, KeyAlgorithm, KeyRef, Limits, SigningKey};

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/sigstore-rs-keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn sigstore_rs_keys_decrypt_with_their_passwords() {
    let cases = [
        (
            "ecdsa_encrypted_private.key",
            "123",
            KeyAlgorithm::EcdsaP256,
        ),
        (
            "ed25519_encrypted_private.key",
            "123",
            KeyAlgorithm::Ed25519,
        ),
        (
            "cosign_generated_encrypted_empty_private.key",
            "",
            KeyAlgorithm::EcdsaP256,
        ),
        ("ecdsa_private.key", "", KeyAlgorithm::EcdsaP256),
        ("ed25519_private.key", "", KeyAlgorithm::Ed25519),
    ];
    for (file, password, alg) in cases {
        let key = read_private_key(&data(file), password.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.algorithm(), alg, "{file}");
        let sig = key.sign_bytes(b"payload");
        key.public_key()
            .verify("test", b"payload", &sig)
            .expect(file);
    }
}

#[test]
fn wrong_password_is_a_decryption_error() {
    let err = read_private_key(
        &data("ecdsa_encrypted_private.key"),
        b"124",
        &Limits::default(),
    );
    assert!(matches!(err, Err(Error::KeyDecryption)), "{err:?}");
}

/// sigstore-rs's RSA vectors (encrypted cosign key, plain PEM) are the same key: read, signed
/// with (PKCS#1 v1.5 over SHA-256), and verified; a wrong password is still refused.
#[test]
fn rsa_keys_sign_as_cosign_does() {
    let encrypted = read_private_key(
        &data("rsa_encrypted_private.key"),
        b"123",
        &Limits::default(),
    )
    .expect("encrypted RSA key");
    let plain =
        read_private_key(&data("rsa_private.key"), b"", &Limits::default()).expect("RSA PEM");
    let public = plain.public_key();
    assert_eq!(public.algorithm_name(), "RSA");
    assert!(matches!(plain.algorithm(), KeyAlgorithm::Rsa(_)));
    for key in [&encrypted, &plain] {
        let sig = key.sign_bytes(b"artifact");
        key.public_key()
            .verify("test", b"artifact", &sig)
            .expect("verifies");
        assert!(key.public_key().verify("test", b"artifacT", &sig).is_err());
    }
    let err = read_private_key(
        &data("rsa_encrypted_private.key"),
        b"wrong",
        &Limits::default(),
    );
    assert!(matches!(err, Err(Error::KeyDecryption)), "{err:?}");
    // Re-encrypted as vouch writes cosign key files, it reads back as the same key.
    let pem = encrypt_private_key(&plain, b"pw").expect("encrypt");
    let back = read_private_key(&pem, b"pw", &Limits::default()).expect("read back");
    assert_eq!(back.public_key(), public);
}

#[test]
fn reencrypting_an_imported_key_keeps_it() {
    let key =
        read_private_key(&data("ed25519_private.key"), b"", &Limits::default()).expect("read");
    let pem = encrypt_private_key(&key, b"new").expect("encrypt");
    let back = read_private_key(&pem, b"new", &Limits::default()).expect("read back");
    assert_eq!(back.public_key(), key.public_key());
}

#[test]
fn key_refs_resolve_files_and_env_and_refuse_kms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("generate");
    let priv_path = dir.path().join("cosign.key");
    let pub_path = dir.path().join("cosign.pub");
    std::fs::write(
        &priv_path,
        encrypt_private_key(&key, b"pw").expect("encrypt"),
    )
    .expect("write");
    std::fs::write(&pub_path, key.public_key().to_pem()).expect("write");

    let by_file: KeyRef = priv_path.to_str().expect("utf8").parse().expect("parse");
    let loaded = by_file
        .load_signing_key(b"pw", &Limits::default())
        .expect("load");
    assert_eq!(loaded.public_key(), key.public_key());
    let public: KeyRef = pub_path.to_str().expect("utf8").parse().expect("parse");
    assert_eq!(
        public.load_verifying_key(&Limits::default()).expect("pub"),
        key.public_key()
    );

    let pem = key.public_key().to_pem();
    let env = |name: &str| (name == "VOUCH_TEST_PUB").then(|| pem.clone());
    let by_env: KeyRef = "env://VOUCH_TEST_PUB".parse().expect("parse");
    let text = by_env.read_pem_with(&env, &Limits::default()).expect("env");
    assert_eq!(
        vouch_sign::VerifyingKey::from_pem(&text).expect("pem"),
        key.public_key()
    );
    let unset: KeyRef = "env://VOUCH_TEST_UNSET".parse().expect("parse");
    assert!(matches!(
        unset.read_pem_with(&env, &Limits::default()),
        Err(Error::KeyRef { .. })
    ));

    let kms = "awskms:///alias/x".parse::<KeyRef>();
    assert!(matches!(kms, Ok(KeyRef::Kms(_))), "{kms:?}");
    let kms = "awskms:///not-a-key".parse::<KeyRef>();
    assert!(matches!(kms, Err(Error::KeyRef { .. })), "{kms:?}");
    let kms = "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k".parse::<KeyRef>();
    assert!(
        matches!(&kms, Err(Error::KeyRef { reason, .. }) if reason.starts_with("not supported yet: gcpkms://")),
        "{kms:?}"
    );
}
