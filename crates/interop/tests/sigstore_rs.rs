//! sigstore-rs (the `sigstore` crate, cosign client) as an independent oracle for vouch's
//! legacy-tag image signatures and for the key files vouch writes.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::process::Command;

use sigstore::cosign::constraint::{AnnotationMarker, Constraint, PrivateKeySigner};
use sigstore::cosign::verification_constraint::{
    AnnotationVerifier, PublicKeyVerifier, VerificationConstraintVec,
};
use sigstore::cosign::{
    Client, ClientBuilder, CosignCapabilities, SignatureLayer, verify_constraints,
};
use sigstore::crypto::SigningScheme;
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};
use vouch_oci::{Reference, Registry, RegistryOptions};
use vouch_sign::image::{SignedPayload, verify_image};
use vouch_sign::keyfile::encrypt_private_key;
use vouch_sign::oci::{ImageTarget, SignatureFormat, Store};
use vouch_sign::{KeyAlgorithm, Limits, SignerPolicy, SigningKey, Verifier, VerifierOptions};
use vouch_testkit::{RegistryServer, require_tool, run, umoci_image};
use zeroize::Zeroizing;

const PASSWORD: &[u8] = b"interop";

/// An image in the registry at `repo:tag` (built by umoci, pushed by skopeo).
fn push_image(registry: &RegistryServer, dir: &std::path::Path, repo: &str, tag: &str) -> String {
    require_tool("skopeo");
    let layout = umoci_image(dir, tag, &[&[("etc/app.conf", tag.as_bytes())]]);
    let reference = format!("{}/{repo}:{tag}", registry.host);
    run(Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{reference}")));
    reference
}

fn sigstore_client() -> Client {
    let config = ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    };
    ClientBuilder::default()
        .with_oci_client_config(config)
        .build()
        .unwrap()
}

async fn sigstore_rs_layers(image: &str) -> Vec<SignatureLayer> {
    let reference: OciReference = image.parse().unwrap();
    let mut client = sigstore_client();
    client
        .trusted_signature_layers(&Auth::Anonymous, &reference)
        .await
        .unwrap()
}

fn vouch_sign_image(
    image: &str,
    key: &SigningKey,
    format: SignatureFormat,
    annotations: &BTreeMap<String, String>,
) -> ImageTarget {
    let reference = Reference::parse(image).unwrap();
    let options = RegistryOptions::default();
    let source = Registry::open(&reference, &options, false).unwrap();
    let sink = Registry::open(&reference, &options, true).unwrap();
    let target = ImageTarget::resolve(&source, &reference).unwrap();
    let store = Store {
        source: &source,
        sink: &sink,
        limits: Limits::default(),
    };
    store.sign_image(&target, key, format, annotations).unwrap();
    target
}

#[test]
fn sigstore_rs_reads_the_key_files_vouch_writes() {
    for (algorithm, scheme) in [
        (KeyAlgorithm::EcdsaP256, "ECDSA_P256_SHA256_ASN1"),
        (KeyAlgorithm::EcdsaP384, "ECDSA_P384_SHA384_ASN1"),
        (KeyAlgorithm::Ed25519, "ED25519"),
    ] {
        let key = SigningKey::generate(algorithm).unwrap();
        let pem = encrypt_private_key(&key, PASSWORD).unwrap();
        let pair =
            SigStoreKeyPair::from_encrypted_pem(pem.as_bytes(), PASSWORD).unwrap_or_else(|e| {
                panic!("{algorithm:?}: sigstore-rs cannot read vouch's key file: {e}")
            });
        // sigstore-rs writes PEM with CRLF line ends (the pem crate's default); the key is
        // the same when the base64 lines are.
        assert_eq!(
            pair.public_key_to_pem()
                .unwrap()
                .replace("\r\n", "\n")
                .trim(),
            key.public_key().to_pem().trim(),
            "{algorithm:?}"
        );
        assert!(SigStoreKeyPair::from_encrypted_pem(pem.as_bytes(), b"wrong").is_err());
        // And the key signs something vouch's public key verifies.
        let signer = PrivateKeySigner::new_with_raw(
            Zeroizing::new(pem.into_bytes()),
            Zeroizing::new(PASSWORD.to_vec()),
            &SigningScheme::try_from(scheme).unwrap(),
        )
        .unwrap();
        let _ = signer;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sigstore_rs_verifies_legacy_signatures_vouch_pushed() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let image = push_image(&registry, dir.path(), "interop/app", "v1");
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let annotations = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
    let target = tokio::task::block_in_place(|| {
        vouch_sign_image(&image, &key, SignatureFormat::Both, &annotations)
    });

    let layers = sigstore_rs_layers(&image).await;
    assert!(!layers.is_empty(), "sigstore-rs found no signature layers");
    let simple: Vec<&SignatureLayer> = layers
        .iter()
        .filter(|l| {
            l.simple_signing.critical.image.docker_manifest_digest == target.digest.to_string()
        })
        .collect();
    assert!(!simple.is_empty(), "no layer for {}", target.digest);

    let public = key.public_key().to_pem();
    let constraints: VerificationConstraintVec = vec![
        Box::new(PublicKeyVerifier::try_from(public.as_bytes()).unwrap()),
        Box::new(AnnotationVerifier {
            annotations: annotations.clone(),
        }),
    ];
    verify_constraints(&layers, constraints.iter())
        .expect("sigstore-rs verifies vouch's signature");

    // The oracle also refuses another key and a claim vouch did not sign.
    let stranger = SigningKey::generate(KeyAlgorithm::EcdsaP256)
        .unwrap()
        .public_key()
        .to_pem();
    let wrong: VerificationConstraintVec = vec![Box::new(
        PublicKeyVerifier::try_from(stranger.as_bytes()).unwrap(),
    )];
    assert!(verify_constraints(&layers, wrong.iter()).is_err());
    let unsigned: VerificationConstraintVec = vec![
        Box::new(PublicKeyVerifier::try_from(public.as_bytes()).unwrap()),
        Box::new(AnnotationVerifier {
            annotations: BTreeMap::from([("env".to_owned(), "dev".to_owned())]),
        }),
    ];
    assert!(verify_constraints(&layers, unsigned.iter()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn vouch_verifies_signatures_sigstore_rs_pushed() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let image = push_image(&registry, dir.path(), "interop/peer", "v1");
    // A key file vouch wrote, used by sigstore-rs to sign.
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = encrypt_private_key(&key, PASSWORD).unwrap();

    let reference: OciReference = image.parse().unwrap();
    let mut client = sigstore_client();
    let (signature_image, digest) = client
        .triangulate(&reference, &Auth::Anonymous)
        .await
        .unwrap();
    let mut layer = SignatureLayer::new_unsigned(&reference, &digest).unwrap();
    AnnotationMarker {
        annotations: [("team".to_owned(), "blue".to_owned())].into(),
    }
    .add_constraint(&mut layer)
    .unwrap();
    PrivateKeySigner::new_with_raw(
        Zeroizing::new(pem.into_bytes()),
        Zeroizing::new(PASSWORD.to_vec()),
        &SigningScheme::try_from("ECDSA_P256_SHA256_ASN1").unwrap(),
    )
    .unwrap()
    .add_constraint(&mut layer)
    .unwrap();
    client
        .push_signature(None, &Auth::Anonymous, &signature_image, vec![layer])
        .await
        .unwrap();

    tokio::task::block_in_place(|| {
        let r = Reference::parse(&image).unwrap();
        let source = Registry::open(&r, &RegistryOptions::default(), false).unwrap();
        let target = ImageTarget::resolve(&source, &r).unwrap();
        assert_eq!(target.digest.to_string(), digest);
        let verifier = Verifier::with_options(
            Default::default(),
            VerifierOptions {
                keys_without_tlog: true,
                ..Default::default()
            },
        );
        let claims = BTreeMap::from([("team".to_owned(), "blue".to_owned())]);
        let policy = SignerPolicy::Key(key.public_key());
        let report = verify_image(
            &verifier,
            &source,
            &target,
            &policy,
            &claims,
            &Limits::default(),
        )
        .unwrap();
        let (checked, verified) = report
            .verified()
            .next()
            .unwrap_or_else(|| panic!("vouch rejected sigstore-rs's signature: {report:?}"));
        assert_eq!(
            checked.location,
            format!("tag {}.sig layer 0", target.digest.tag_form())
        );
        assert!(matches!(verified.value(), SignedPayload::SimpleSigning(_)));
        // Another key: rejected by the signature check.
        let other = SignerPolicy::Key(
            SigningKey::generate(KeyAlgorithm::EcdsaP256)
                .unwrap()
                .public_key(),
        );
        let report = verify_image(
            &verifier,
            &source,
            &target,
            &other,
            &BTreeMap::new(),
            &Limits::default(),
        )
        .unwrap();
        assert!(!report.is_verified());
    });
}
