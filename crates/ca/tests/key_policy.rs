//! Fulcio's key policy, the same for a proof of possession and a CSR: RSA 2048..=4096 bits,
//! ECDSA P-256/P-384/P-521, Ed25519. Keys and CSRs are made by OpenSSL (an independent encoder).

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;
use vouch_ca::dev_oidc::{DevIssuer, TokenRequest};
use vouch_ca::oidc::{IssuerConfig, IssuerKeys, IssuerSet, KeyCache, TokenVerifier};
use vouch_ca::{CaService, CertificateAuthority, Limits};

const EMAIL: &str = "dev@example.com";
const ISSUER: &str = "https://issuer.example";

fn service() -> (CaService, DevIssuer) {
    let dev = DevIssuer::generate(ISSUER, "s", EMAIL).expect("issuer");
    let limits = Limits::default();
    let client = vouch_http::Client::new(&vouch_http::ClientConfig::default()).expect("client");
    let mut keys = KeyCache::new(client, limits);
    keys.pin(ISSUER, IssuerKeys::from_jwks(&dev.jwks()).expect("jwks"));
    let service = CaService {
        ca: CertificateAuthority::generate("vouch test").expect("CA"),
        tokens: TokenVerifier::with_keys(
            IssuerSet::new([IssuerConfig::email(ISSUER)]).expect("issuers"),
            keys,
            limits,
        ),
        limits,
    };
    (service, dev)
}

fn openssl(dir: &Path, args: &[&str]) {
    let openssl = vouch_testkit::require_tool("openssl");
    vouch_testkit::run(Command::new(openssl).current_dir(dir).args(args));
}

/// A private key of `algorithm` (openssl genpkey arguments) and its CSR (base64 of PEM, as
/// sigstore-python sends it) and public key PEM, plus a proof of possession over EMAIL.
fn key_material(dir: &Path, name: &str, genpkey: &[&str]) -> (String, String, String) {
    let key = format!("{name}.key");
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey);
    args.extend_from_slice(&["-out", &key]);
    openssl(dir, &args);
    let csr = format!("{name}.csr");
    openssl(
        dir,
        &["req", "-new", "-key", &key, "-subj", "/CN=x", "-out", &csr],
    );
    let public = format!("{name}.pub");
    openssl(dir, &["pkey", "-in", &key, "-pubout", "-out", &public]);
    std::fs::write(dir.join("principal"), EMAIL).expect("write");
    let sig = format!("{name}.sig");
    if name.starts_with("ed") {
        openssl(
            dir,
            &[
                "pkeyutl",
                "-sign",
                "-rawin",
                "-inkey",
                &key,
                "-in",
                "principal",
                "-out",
                &sig,
            ],
        );
    } else {
        openssl(
            dir,
            &["dgst", "-sha256", "-sign", &key, "-out", &sig, "principal"],
        );
    }
    let read = |f: &str| std::fs::read(dir.join(f)).expect("read");
    (
        B64.encode(read(&csr)),
        String::from_utf8(read(&public)).expect("pem"),
        B64.encode(read(&sig)),
    )
}

#[test]
fn rsa_1024_is_refused_ed25519_csr_accepted_same_rules_both_ways() {
    let (service, dev) = service();
    let token = dev.mint(&TokenRequest::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        (
            "rsa1024",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
            Some("RSA key of 1024 bits"),
        ),
        (
            "rsa2048",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            None,
        ),
        (
            "rsa4608",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4608"],
            Some("RSA key of 4608 bits"),
        ),
        (
            "p256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            None,
        ),
        (
            "p384",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            None,
        ),
        (
            "secp256k1",
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:secp256k1",
            ],
            Some("ECDSA curve 1.3.132.0.10"),
        ),
        ("ed25519", &["-algorithm", "ED25519"], None),
    ];
    for (name, genpkey, refusal) in cases {
        let (csr, public, proof) = key_material(dir.path(), name, genpkey);
        let by_csr = json!({"certificateSigningRequest": csr});
        let by_proof = json!({"publicKeyRequest": {"publicKey": {"content": public},
                                                   "proofOfPossession": proof}});
        for (how, body) in [("CSR", by_csr), ("proof of possession", by_proof)] {
            let body = serde_json::to_vec(&body).expect("json");
            let result = service.signing_cert(Some(&token), &body);
            match refusal {
                None => {
                    let chain = result.unwrap_or_else(|e| panic!("{name} by {how}: {e}"));
                    let id = vouch_sign::certificate_identity(chain.leaf()).expect("identity");
                    assert_eq!(id.subject_alternative_names, [EMAIL], "{name} by {how}");
                }
                Some(reason) => {
                    let message = result.expect_err(name).to_string();
                    assert!(
                        message.contains("public key refused") && message.contains(reason),
                        "{name} by {how}: {message}"
                    );
                }
            }
        }
    }
}
