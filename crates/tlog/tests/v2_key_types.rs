//! The key types a Rekor v2 log accepts (rekor-tiles' `AllowedClientSigningAlgorithms`, see
//! `vouch_tlog::v2` verify docs), with keys and signatures made by an independent
//! implementation (Debian's `openssl` CLI) and RFC 8032's Ed25519ph test vector: each accepted
//! over HTTP with the canonical body naming its key details and digest algorithm, and each
//! refused when tampered (signature over another digest, a flipped signature byte), and the
//! key types and details the log refuses.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{TestServer, b64, post};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::v2::TransparencyLogEntry;
use vouch_tlog::{Limits, LogKey, SqliteStorage};

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new(vouch_testkit::require_tool("openssl"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A private key made by `openssl genpkey`, and its DER SubjectPublicKeyInfo.
struct Key {
    pem: PathBuf,
    spki: Vec<u8>,
    dir: PathBuf,
}

impl Key {
    fn generate(dir: &Path, name: &str, genpkey: &[&str]) -> Self {
        let pem = dir.join(format!("{name}.pem"));
        let mut args = vec!["genpkey"];
        args.extend_from_slice(genpkey);
        args.extend_from_slice(&["-out", pem.to_str().unwrap()]);
        openssl(&args);
        let spki = openssl(&[
            "pkey",
            "-in",
            pem.to_str().unwrap(),
            "-pubout",
            "-outform",
            "DER",
        ]);
        Self {
            pem,
            spki,
            dir: dir.to_path_buf(),
        }
    }

    /// `openssl pkeyutl -sign` over a digest (ECDSA; RSA PKCS#1 v1.5 unless `extra` says PSS).
    fn sign_digest(&self, digest: &[u8], md: &str, extra: &[&str]) -> Vec<u8> {
        let input = self.dir.join("digest.bin");
        std::fs::write(&input, digest).unwrap();
        let md = format!("digest:{md}");
        let mut args = vec![
            "pkeyutl",
            "-sign",
            "-inkey",
            self.pem.to_str().unwrap(),
            "-in",
            input.to_str().unwrap(),
            "-pkeyopt",
            &md,
        ];
        args.extend_from_slice(extra);
        openssl(&args)
    }

    /// `openssl pkeyutl -sign -rawin` over a message (pure Ed25519).
    fn sign_message(&self, message: &[u8]) -> Vec<u8> {
        let input = self.dir.join("message.bin");
        std::fs::write(&input, message).unwrap();
        openssl(&[
            "pkeyutl",
            "-sign",
            "-rawin",
            "-inkey",
            self.pem.to_str().unwrap(),
            "-in",
            input.to_str().unwrap(),
        ])
    }

    /// A self-signed DER certificate for the key.
    fn certificate(&self) -> Vec<u8> {
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            self.pem.to_str().unwrap(),
            "-subj",
            "/CN=vouch key type test",
            "-days",
            "1",
            "-outform",
            "DER",
        ])
    }
}

fn hashed(digest: &[u8], sig: &[u8], verifier: Value) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": b64(digest),
        "signature": {"content": b64(sig), "verifier": verifier}}})
}

fn public_key(spki: &[u8], details: &str) -> Value {
    json!({"publicKey": {"rawBytes": b64(spki)}, "keyDetails": details})
}

fn create(url: &str, request: &Value) -> common::Answer {
    post(
        &format!("{url}/api/v2/log/entries"),
        &serde_json::to_vec(request).unwrap(),
    )
}

/// Appends `request`, expecting 201, and returns the logged canonical body.
fn accepted(url: &str, name: &str, request: &Value) -> Value {
    let answer = create(url, request);
    assert_eq!(
        answer.status,
        201,
        "{name}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let entry: TransparencyLogEntry = serde_json::from_slice(&answer.body).unwrap();
    serde_json::from_slice(&B64.decode(&entry.canonicalized_body).unwrap()).unwrap()
}

/// Expects a 400 whose message contains `expected`.
fn refused(url: &str, name: &str, request: &Value, expected: &str) {
    let answer = create(url, request);
    assert_eq!(
        answer.status,
        400,
        "{name}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let text = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(text.contains(expected), "{name}: {text} lacks {expected:?}");
}

fn server(dir: &Path) -> TestServer {
    let key = LogKey::new_v2(
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
        "log.example/keys",
    )
    .unwrap();
    TestServer::start(
        Box::new(SqliteStorage::open(dir.join("log.db")).unwrap()),
        key,
        Limits::default(),
    )
}

#[test]
fn v2_hashedrekord_key_types() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let url = server.url.clone();
    // (name, genpkey args, keyDetails, digest function, openssl digest name, proto name)
    type Case = (
        &'static str,
        Vec<&'static str>,
        &'static str,
        fn(&[u8]) -> Vec<u8>,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "P-384",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "PKIX_ECDSA_P384_SHA_384",
            |b| Sha384::digest(b).to_vec(),
            "sha384",
            "SHA2_384",
        ),
        (
            "P-521",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "PKIX_ECDSA_P521_SHA_512",
            |b| Sha512::digest(b).to_vec(),
            "sha512",
            "SHA2_512",
        ),
        (
            "P-256",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "PKIX_ECDSA_P256_SHA_256",
            |b| Sha256::digest(b).to_vec(),
            "sha256",
            "SHA2_256",
        ),
        (
            "RSA-2048",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "PKIX_RSA_PKCS1V15_2048_SHA256",
            |b| Sha256::digest(b).to_vec(),
            "sha256",
            "SHA2_256",
        ),
        (
            "RSA-3072",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            "PKIX_RSA_PKCS1V15_3072_SHA256",
            |b| Sha256::digest(b).to_vec(),
            "sha256",
            "SHA2_256",
        ),
        (
            "RSA-4096",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
            "PKIX_RSA_PKCS1V15_4096_SHA256",
            |b| Sha256::digest(b).to_vec(),
            "sha256",
            "SHA2_256",
        ),
    ];
    let mut keys = Vec::new();
    for (name, genpkey, details, digest, md, proto) in &cases {
        let key = Key::generate(dir.path(), &name.replace('-', ""), genpkey);
        let artifact = format!("{name} artifact");
        let d = digest(artifact.as_bytes());
        let sig = key.sign_digest(&d, md, &[]);
        let request = hashed(&d, &sig, public_key(&key.spki, details));
        let body = accepted(&url, name, &request);
        let spec = &body["spec"]["hashedRekordV002"];
        assert_eq!(spec["data"]["algorithm"], *proto, "{name}");
        assert_eq!(spec["data"]["digest"], b64(&d), "{name}");
        assert_eq!(spec["signature"]["verifier"]["keyDetails"], *details);
        assert_eq!(
            spec["signature"]["verifier"]["publicKey"]["rawBytes"],
            b64(&key.spki)
        );
        // The same key in a certificate.
        let cert = key.certificate();
        let d2 = digest(format!("{name} certified artifact").as_bytes());
        let sig2 = key.sign_digest(&d2, md, &[]);
        let verifier = json!({"x509Certificate": {"rawBytes": b64(&cert)}, "keyDetails": details});
        let body = accepted(&url, name, &hashed(&d2, &sig2, verifier.clone()));
        assert_eq!(
            body["spec"]["hashedRekordV002"]["signature"]["verifier"]["x509Certificate"]["rawBytes"],
            b64(&cert)
        );
        // The same requests under the proto field names (read by the general path, the
        // ones above by the fast path): the same canonical bodies, so the same entries.
        for (what, request) in [
            ("key", hashed(&d, &sig, public_key(&key.spki, details))),
            ("certificate", hashed(&d2, &sig2, verifier)),
        ] {
            let snake = serde_json::to_string(&request)
                .unwrap()
                .replace("hashedRekordRequestV002", "hashed_rekord_request_v002")
                .replace("rawBytes", "raw_bytes")
                .replace("keyDetails", "key_details")
                .replace("publicKey", "public_key")
                .replace("x509Certificate", "x509_certificate");
            let answer = post(&format!("{url}/api/v2/log/entries"), snake.as_bytes());
            // Answered as rekor-tiles answers a duplicate: 409 naming the existing entry.
            assert_eq!(
                answer.status,
                409,
                "{name} {what} under proto names: {}",
                String::from_utf8_lossy(&answer.body)
            );
            assert!(
                String::from_utf8_lossy(&answer.body).contains(
                    "an equivalent entry already exists in the transparency log with index"
                ),
                "{name} {what}: {}",
                String::from_utf8_lossy(&answer.body)
            );
        }
        // A signature valid for another digest: refused.
        let other = digest(b"another artifact");
        let other_sig = key.sign_digest(&other, md, &[]);
        refused(
            &url,
            &format!("{name}: signature over another digest"),
            &hashed(&d, &other_sig, public_key(&key.spki, details)),
            "hashedrekord signature over the digest",
        );
        // The digest tampered under the signature, and the signature tampered.
        let mut bad_digest = d.clone();
        bad_digest[0] ^= 1;
        refused(
            &url,
            &format!("{name}: tampered digest"),
            &hashed(&bad_digest, &sig, public_key(&key.spki, details)),
            "hashedrekord signature over the digest",
        );
        let mut bad_sig = sig.clone();
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        refused(
            &url,
            &format!("{name}: tampered signature"),
            &hashed(&d, &bad_sig, public_key(&key.spki, details)),
            "hashedrekord signature over the digest",
        );
        keys.push((*name, key, *details));
    }

    // RSA-PSS is not accepted (rekor-tiles verifies hashedrekords with PKCS#1 v1.5): a PSS
    // signature under PKCS#1 v1.5 details does not verify, and PSS details are refused.
    let (_, rsa, _) = &keys[3];
    let d = Sha256::digest(b"pss artifact").to_vec();
    let pss = rsa.sign_digest(
        &d,
        "sha256",
        &[
            "-pkeyopt",
            "rsa_padding_mode:pss",
            "-pkeyopt",
            "rsa_pss_saltlen:digest",
        ],
    );
    refused(
        &url,
        "RSA-PSS signature",
        &hashed(
            &d,
            &pss,
            public_key(&rsa.spki, "PKIX_RSA_PKCS1V15_2048_SHA256"),
        ),
        "hashedrekord signature over the digest",
    );
    refused(
        &url,
        "RSA-PSS details",
        &hashed(&d, &pss, public_key(&rsa.spki, "PKIX_RSA_PSS_2048_SHA256")),
        "keyDetails \"PKIX_RSA_PSS_2048_SHA256\" is not accepted",
    );
    // Details that do not describe the key: another RSA size, another curve, RSA as ECDSA.
    let sig = rsa.sign_digest(&d, "sha256", &[]);
    for (details, holds) in [
        ("PKIX_RSA_PKCS1V15_4096_SHA256", "needs an RSA-4096 key"),
        ("PKIX_ECDSA_P256_SHA_256", "needs an ECDSA P-256 key"),
    ] {
        refused(
            &url,
            details,
            &hashed(&d, &sig, public_key(&rsa.spki, details)),
            holds,
        );
    }
    let (_, p521, _) = &keys[1];
    let d512 = Sha512::digest(b"p521").to_vec();
    let sig = p521.sign_digest(&d512, "sha512", &[]);
    refused(
        &url,
        "P-521 under P-384 details",
        &hashed(
            &d512,
            &sig,
            public_key(&p521.spki, "PKIX_ECDSA_P384_SHA_384"),
        ),
        "needs an ECDSA P-384 key",
    );
    // The deprecated P-521/SHA-256 pairing, and a digest of the wrong length for the details.
    refused(
        &url,
        "P-521 with SHA-256",
        &hashed(&d, &sig, public_key(&p521.spki, "PKIX_ECDSA_P521_SHA_256")),
        "is not accepted",
    );
    refused(
        &url,
        "P-521 with a 32-byte digest",
        &hashed(&d, &sig, public_key(&p521.spki, "PKIX_ECDSA_P521_SHA_512")),
        "hashedRekordRequestV002.digest",
    );
    // Curves and key types outside the registry.
    let secp256k1 = Key::generate(
        dir.path(),
        "k1",
        &[
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
        ],
    );
    let dk = Sha256::digest(b"k1").to_vec();
    let sig = secp256k1.sign_digest(&dk, "sha256", &[]);
    refused(
        &url,
        "secp256k1",
        &hashed(
            &dk,
            &sig,
            public_key(&secp256k1.spki, "PKIX_ECDSA_P256_SHA_256"),
        ),
        "EC curve 1.3.132.0.10 is not accepted",
    );
    let rsa1024 = Key::generate(
        dir.path(),
        "rsa1024",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
    );
    let sig = rsa1024.sign_digest(&dk, "sha256", &[]);
    refused(
        &url,
        "RSA-1024",
        &hashed(
            &dk,
            &sig,
            public_key(&rsa1024.spki, "PKIX_RSA_PKCS1V15_2048_SHA256"),
        ),
        "needs an RSA-2048 key, the verifier holds an RSA-1024 key",
    );
    // A compressed P-384 point (Go's crypto/x509, and so every Sigstore verifier, cannot read it).
    let (_, p384, _) = &keys[0];
    let compressed = openssl(&[
        "pkey",
        "-in",
        p384.pem.to_str().unwrap(),
        "-pubout",
        "-outform",
        "DER",
        "-ec_conv_form",
        "compressed",
    ]);
    assert_ne!(compressed, p384.spki);
    let d384 = Sha384::digest(b"compressed").to_vec();
    let sig = p384.sign_digest(&d384, "sha384", &[]);
    refused(
        &url,
        "compressed point",
        &hashed(
            &d384,
            &sig,
            public_key(&compressed, "PKIX_ECDSA_P384_SHA_384"),
        ),
        "not an uncompressed point",
    );
    // Nothing refused was appended: two entries per accepted key type.
    assert_eq!(server.log.storage().size().unwrap(), 2 * cases.len() as u64);
}

/// RFC 8032 §7.3 "TEST abc": an Ed25519ph signature over SHA-512("abc"), logged as
/// `PKIX_ED25519_PH`; pure Ed25519 (`PKIX_ED25519`) refused for a hashedrekord.
#[test]
fn v2_hashedrekord_ed25519ph() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let url = server.url.clone();
    let public =
        hex::decode("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf").unwrap();
    let sig = hex::decode(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
         31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
    )
    .unwrap();
    // SubjectPublicKeyInfo { id-Ed25519 (1.3.101.112), BIT STRING key } (RFC 8410).
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend_from_slice(&public);
    let digest = Sha512::digest(b"abc").to_vec();
    let body = accepted(
        &url,
        "Ed25519ph",
        &hashed(&digest, &sig, public_key(&spki, "PKIX_ED25519_PH")),
    );
    let spec = &body["spec"]["hashedRekordV002"];
    assert_eq!(spec["data"]["algorithm"], "SHA2_512");
    assert_eq!(
        spec["signature"]["verifier"]["keyDetails"],
        "PKIX_ED25519_PH"
    );
    let other = Sha512::digest(b"abd").to_vec();
    refused(
        &url,
        "Ed25519ph over another digest",
        &hashed(&other, &sig, public_key(&spki, "PKIX_ED25519_PH")),
        "hashedrekord signature over the digest",
    );
    let mut bad = sig.clone();
    bad[10] ^= 1;
    refused(
        &url,
        "Ed25519ph tampered",
        &hashed(&digest, &bad, public_key(&spki, "PKIX_ED25519_PH")),
        "hashedrekord signature over the digest",
    );
    refused(
        &url,
        "pure Ed25519",
        &hashed(&digest, &sig, public_key(&spki, "PKIX_ED25519")),
        "keyDetails \"PKIX_ED25519\" is not accepted for a hashedrekord",
    );
    refused(
        &url,
        "Ed25519ph with a 32-byte digest",
        &hashed(&digest[..32], &sig, public_key(&spki, "PKIX_ED25519_PH")),
        "hashedRekordRequestV002.digest",
    );
    assert_eq!(server.log.storage().size().unwrap(), 1);
}

/// DSSE requests signed by P-384, P-521, RSA-3072 (PKCS#1 v1.5 over the hash of the PAE the
/// details name) and Ed25519 (over the PAE): accepted; tampered payloads refused; Ed25519ph
/// details refused for DSSE.
#[test]
fn v2_dsse_key_types() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let url = server.url.clone();
    let payload_type = "application/vnd.in-toto+json";
    let pae = |payload: &[u8]| vouch_sign::dsse::pae(payload_type, payload);
    let request = |payload: &[u8], sig: &[u8], verifier: Value| {
        json!({"dsseRequestV002": {
            "envelope": {"payload": b64(payload), "payloadType": payload_type,
                         "signatures": [{"sig": b64(sig), "keyid": ""}]},
            "verifiers": [verifier]}})
    };
    type Sign = Box<dyn Fn(&Key, &[u8]) -> Vec<u8>>;
    let cases: Vec<(&str, Vec<&str>, &str, Sign)> = vec![
        (
            "P-384",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "PKIX_ECDSA_P384_SHA_384",
            Box::new(|k, m| k.sign_digest(&Sha384::digest(m), "sha384", &[])),
        ),
        (
            "P-521",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "PKIX_ECDSA_P521_SHA_512",
            Box::new(|k, m| k.sign_digest(&Sha512::digest(m), "sha512", &[])),
        ),
        (
            "RSA-3072",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            "PKIX_RSA_PKCS1V15_3072_SHA256",
            Box::new(|k, m| k.sign_digest(&Sha256::digest(m), "sha256", &[])),
        ),
        (
            "Ed25519",
            vec!["-algorithm", "ED25519"],
            "PKIX_ED25519",
            Box::new(|k, m| k.sign_message(m)),
        ),
    ];
    for (name, genpkey, details, sign) in &cases {
        let key = Key::generate(dir.path(), &name.replace('-', ""), genpkey);
        let payload = format!(r#"{{"_type":"https://in-toto.io/Statement/v1","k":"{name}"}}"#);
        let sig = sign(&key, &pae(payload.as_bytes()));
        let body = accepted(
            &url,
            name,
            &request(payload.as_bytes(), &sig, public_key(&key.spki, details)),
        );
        let spec = &body["spec"]["dsseV002"];
        assert_eq!(
            spec["payloadHash"]["digest"],
            b64(&Sha256::digest(payload.as_bytes()))
        );
        assert_eq!(spec["signatures"][0]["content"], b64(&sig));
        assert_eq!(spec["signatures"][0]["verifier"]["keyDetails"], *details);
        refused(
            &url,
            &format!("{name}: tampered payload"),
            &request(b"{}", &sig, public_key(&key.spki, details)),
            "DSSE signature",
        );
        if *name == "Ed25519" {
            refused(
                &url,
                "Ed25519ph details for DSSE",
                &request(
                    payload.as_bytes(),
                    &sig,
                    public_key(&key.spki, "PKIX_ED25519_PH"),
                ),
                "is not accepted for DSSE",
            );
        }
    }
    assert_eq!(server.log.storage().size().unwrap(), cases.len() as u64);
}
