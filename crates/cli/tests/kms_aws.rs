//! `awskms://` keys end to end against moto's server mode (PyPI `moto[server]`, in the venv
//! from .ci/requirements.txt): an AWS-API-compatible KMS on a loopback port that also checks
//! SigV4 signatures (IAM authentication switched on with `INITIAL_NO_AUTH_ACTION_COUNT`, so
//! the IAM user and access key are made by boto3, an independent AWS client).
//!
//! `generate-key-pair --kms` creates the key and alias; `sign`, `attest`, `sign-blob` sign
//! through KMS; `verify --key cosign.pub` and `verify --key awskms://...` accept the result and
//! refuse a tampered artifact; cosign (the peer) verifies vouch's KMS signatures. Wrong
//! secret, unknown access key, unknown key and an existing alias are each refused naming what
//! is wrong, and a signature the KMS got wrong never reaches a bundle.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::peers;

use common::{check_ok, text, vouch_cmd};
use peers::Peer;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vouch_testkit::{RegistryServer, free_port, run, venv_tool};

/// IAM calls boto3 makes before authentication starts being enforced (user, key, policy).
const SETUP_CALLS: &str = "3";

/// boto3 (installed with moto) creates an IAM user allowed `kms:*` and prints its access key.
const SETUP: &str = r#"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="signer")
key = iam.create_access_key(UserName="signer")["AccessKey"]
iam.put_user_policy(UserName="signer", PolicyName="kms", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}))
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
"#;

/// A moto server with one IAM user; killed on drop.
struct Moto {
    child: Child,
    host: String,
    access_key: String,
    secret: String,
    dir: tempfile::TempDir,
}

impl Moto {
    fn start() -> Self {
        let server = venv_tool("moto_server");
        let python = venv_tool("python");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("moto.log")).unwrap();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", SETUP_CALLS)
            .env("MOTO_CALL_RESET_API", "false")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn moto_server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&host).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {host}:\n{}",
                std::fs::read_to_string(dir.path().join("moto.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let keys: Value = serde_json::from_str(&run(Command::new(python).args([
            "-c",
            SETUP,
            &format!("http://{host}"),
        ])))
        .unwrap();
        Self {
            child,
            host,
            access_key: keys["id"].as_str().unwrap().to_owned(),
            secret: keys["secret"].as_str().unwrap().to_owned(),
            dir,
        }
    }

    /// `awskms://127.0.0.1:PORT/KEY`.
    fn key(&self, key: &str) -> String {
        format!("awskms://{}/{key}", self.host)
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `vouch ARGS` with this server's credentials (`secret` in place of the real one).
    fn vouch_as(&self, access_key: &str, secret: &str, args: &[&str]) -> Output {
        self.cmd_as(access_key, secret, args).output().unwrap()
    }

    fn cmd_as(&self, access_key: &str, secret: &str, args: &[&str]) -> Command {
        let mut cmd = vouch_cmd(args);
        cmd.env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT_URL_KMS");
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        check_ok(&self.vouch_as(&self.access_key, &self.secret, args), args)
    }

    /// Runs `vouch ARGS` as `access_key`/`secret`, asserts exit code 1, returns what it said.
    fn fails_as(&self, access_key: &str, secret: &str, args: &[&str]) -> String {
        let out = self.vouch_as(access_key, secret, args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "vouch {args:?}:\n{said}");
        said
    }

    fn fails(&self, args: &[&str]) -> String {
        self.fails_as(&self.access_key, &self.secret, args)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn push_image(registry: &RegistryServer, dir: &Path, repo: &str) -> String {
    let (reference, _) = peers::push(&registry.host, dir, repo, "v1");
    reference
}

#[test]
fn generate_sign_and_verify_image_and_blob_through_aws_kms() {
    let moto = Moto::start();
    let key = moto.key("alias/release");
    let prefix = moto.path("cosign");
    let public = format!("{prefix}.pub");

    let generated: Value = serde_json::from_str(&moto.ok(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--output-key-prefix",
        &prefix,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(generated["algorithm"], "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(generated["publicKey"], public.as_str());
    assert!(!Path::new(&format!("{prefix}.key")).exists());
    let pem = std::fs::read_to_string(&public).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");

    // `public-key` (cosign's command) prints the same PEM from KMS.
    assert_eq!(moto.ok(&["public-key", "--key", &key]), pem);

    // The alias now names a key: generating again is refused, nothing overwritten.
    let again = moto.fails(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--output-key-prefix",
        &moto.path("again"),
    ]);
    assert!(again.contains("already exists"), "{again}");
    assert!(!Path::new(&moto.path("again.pub")).exists());

    // An image signed through KMS verifies with cosign.pub and with the KMS reference.
    let registry = RegistryServer::start();
    let image = push_image(&registry, moto.dir.path(), "kms/app");
    moto.ok(&["sign", &image, "--key", &key]);
    let key_id = generated["keyId"].as_str().unwrap();
    let by_file = moto.ok(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-o",
        "json",
    ]);
    assert!(by_file.contains(key_id), "{by_file}");
    let by_kms = moto.ok(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &key,
        "-o",
        "json",
    ]);
    assert!(by_kms.contains(key_id), "{by_kms}");

    // An attestation signed through KMS.
    let predicate = moto.path("predicate.json");
    std::fs::write(&predicate, br#"{"builtOn":"moto"}"#).unwrap();
    let predicate_type = "https://vouch.example/kms-test/v1";
    moto.ok(&[
        "attest",
        &image,
        "--predicate",
        &predicate,
        "--type",
        predicate_type,
        "--key",
        &key,
    ]);
    let attested = moto.ok(&[
        "verify-attestation",
        &image,
        "--type",
        predicate_type,
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-o",
        "json",
    ]);
    assert!(attested.contains("moto"), "{attested}");

    // A blob: the bundle verifies; a changed blob does not.
    let blob = moto.path("artifact.txt");
    std::fs::write(&blob, b"release notes\n").unwrap();
    let bundle = moto.path("artifact.bundle");
    moto.ok(&["sign-blob", &blob, "--key", &key, "--bundle", &bundle]);
    moto.ok(&[
        "verify-blob",
        &blob,
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "--bundle",
        &bundle,
    ]);
    moto.ok(&[
        "verify-blob",
        &blob,
        "--insecure-ignore-tlog",
        "--key",
        &key,
        "--bundle",
        &bundle,
    ]);
    // cosign's form without a host finds the service through AWS_ENDPOINT_URL, as the SDKs do.
    let args = [
        "verify-blob",
        blob.as_str(),
        "--insecure-ignore-tlog",
        "--key",
        "awskms:///alias/release",
        "--bundle",
        &bundle,
    ];
    let out = moto
        .cmd_as(&moto.access_key, &moto.secret, &args)
        .env("AWS_ENDPOINT_URL", format!("http://{}", moto.host))
        .output()
        .unwrap();
    check_ok(&out, &args);
    std::fs::write(&blob, b"release notes, edited\n").unwrap();
    let out = moto.vouch_as(
        &moto.access_key,
        &moto.secret,
        &[
            "verify-blob",
            &blob,
            "--insecure-ignore-tlog",
            "--key",
            &public,
            "--bundle",
            &bundle,
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("digest mismatch"), "{said}");

    // cosign (the peer) verifies vouch's KMS-signed image with the same public key.
    let cosign = Peer::new("cosign");
    let out = cosign.ok(&[
        "verify",
        &image,
        "--key",
        &public,
        "--insecure-ignore-tlog",
        "--offline",
        "--allow-http-registry",
    ]);
    assert!(out.contains("\"critical\""), "{out}");
    let by_vouch = moto.path("by-vouch.bundle");
    std::fs::write(&blob, b"release notes\n").unwrap();
    moto.ok(&["sign-blob", &blob, "--key", &key, "--bundle", &by_vouch]);
    let out = cosign.run(&[
        "verify-blob",
        "--key",
        &public,
        "--bundle",
        &by_vouch,
        "--insecure-ignore-tlog",
        "--offline",
        &blob,
    ]);
    assert!(out.status.success(), "cosign verify-blob:\n{}", text(&out));
}

/// An `ECC_NIST_P384` key, which KMS signs only as `ECDSA_SHA_384`: its blob bundles record a
/// SHA-384 message digest (`PKIX_ECDSA_P384_SHA_384`, as cosign v3), also in a Rekor v2 log.
/// vouch and cosign v3 verify; both refuse another key.
#[test]
fn p384_keys_sign_over_sha384_into_rekor_v2() {
    let moto = Moto::start();
    let key = moto.key("alias/p384");
    let prefix = moto.path("p384");
    let generated: Value = serde_json::from_str(&moto.ok(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--algorithm",
        "ecdsa-p384",
        "--output-key-prefix",
        &prefix,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(generated["algorithm"], "PKIX_ECDSA_P384_SHA_384");
    let other = moto.path("other384");
    moto.ok(&[
        "generate-key-pair",
        "--kms",
        &moto.key("alias/other384"),
        "--algorithm",
        "ecdsa-p384",
        "--output-key-prefix",
        &other,
    ]);
    let blob = moto.path("blob");
    std::fs::write(&blob, b"signed by KMS into Rekor v2\n").unwrap();
    let v2 = crate::sign_tlog::key_signing_instance(&moto.dir.path().join("v2"), true);
    let bundle = moto.path("p384.v2.sigstore.json");
    crate::sign_tlog::check_p384_v2_blob(
        |args| moto.ok(args),
        &v2,
        &key,
        &blob,
        &bundle,
        &format!("{prefix}.pub"),
        &format!("{other}.pub"),
    );
    // Without a log too: the bundle's digest is SHA-384, verified by vouch and cosign.
    let unlogged = moto.path("p384.sigstore.json");
    moto.ok(&["sign-blob", &blob, "--key", &key, "--bundle", &unlogged]);
    let parsed: Value = serde_json::from_str(&std::fs::read_to_string(&unlogged).unwrap()).unwrap();
    assert_eq!(
        parsed["messageSignature"]["messageDigest"]["algorithm"], "SHA2_384",
        "{parsed}"
    );
    moto.ok(&[
        "verify-blob",
        &blob,
        "--bundle",
        &unlogged,
        "--key",
        &format!("{prefix}.pub"),
        "--insecure-ignore-tlog",
    ]);
    let out = Peer::new("cosign").run(&[
        "verify-blob",
        "--key",
        &format!("{prefix}.pub"),
        "--bundle",
        &unlogged,
        "--insecure-ignore-tlog",
        "--offline",
        "--signature-digest-algorithm",
        "sha384",
        &blob,
    ]);
    assert!(out.status.success(), "cosign verify-blob:\n{}", text(&out));
}

#[test]
fn wrong_credentials_and_unknown_keys_are_refused_clearly() {
    let moto = Moto::start();
    let key = moto.key("alias/release");
    moto.ok(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--output-key-prefix",
        &moto.path("cosign"),
    ]);
    let blob = moto.path("f");
    std::fs::write(&blob, b"x").unwrap();
    let bundle = moto.path("f.bundle");
    let sign = [
        "sign-blob",
        blob.as_str(),
        "--key",
        &key,
        "--bundle",
        &bundle,
    ];

    // Right access key, wrong secret: moto recomputes the SigV4 signature and refuses it.
    let said = moto.fails_as(&moto.access_key, "not-the-secret", &sign);
    assert!(said.contains("SignatureDoesNotMatch"), "{said}");
    assert!(said.contains("AWS_SECRET_ACCESS_KEY"), "{said}");
    // An access key IAM does not know.
    let said = moto.fails_as("AKIAIOSFODNN7EXAMPLE", &moto.secret, &sign);
    assert!(said.contains("InvalidClientTokenId"), "{said}");
    assert!(said.contains("AWS_ACCESS_KEY_ID"), "{said}");
    // No credentials at all.
    let said = moto.fails_as("", "", &sign);
    assert!(said.contains("no AWS credentials"), "{said}");
    assert!(!Path::new(&bundle).exists());

    // A key that does not exist, by alias and by key id.
    for missing in ["alias/nope", "1234abcd-12ab-34cd-56ef-1234567890ab"] {
        let said = moto.fails(&[
            "sign-blob",
            &blob,
            "--key",
            &moto.key(missing),
            "--bundle",
            &bundle,
        ]);
        assert!(said.contains("NotFoundException"), "{missing}: {said}");
    }
    // Creating needs the alias form, as in cosign.
    let said = moto.fails(&[
        "generate-key-pair",
        "--kms",
        &moto.key("1234abcd-12ab-34cd-56ef-1234567890ab"),
        "--output-key-prefix",
        &moto.path("byid"),
    ]);
    assert!(said.contains("alias/NAME"), "{said}");
    // moto 5.2 does not implement `MessageType: DIGEST` (it signs the SHA-256 of the digest),
    // which is what vouch sends for messages over 4096 bytes: the wrong signature is caught
    // by the check against the key's public key and no bundle is written.
    let big = moto.path("big");
    std::fs::write(&big, vec![b'x'; 5000]).unwrap();
    let said = moto.fails(&["sign-blob", &big, "--key", &key, "--bundle", &bundle]);
    assert!(
        said.contains("does not verify with the key's public key"),
        "{said}"
    );
    assert!(!Path::new(&bundle).exists());
    // Malformed references name the expected form, never a file path.
    let said = moto.fails(&["sign-blob", &blob, "--key", "awskms://host/not-a-key"]);
    assert!(said.contains("malformed awskms:// reference"), "{said}");
}
