//! `hashivault://` keys: what vouch refuses before and without a Vault server (missing
//! address or token, a clear-text address to a remote host, an address nobody answers on,
//! malformed key names), and end to end against a real Vault dev server (Vault v1.14.10,
//! MPL-2.0, built by scripts/peers from the Go module proxy; `vault server -dev` on a free
//! loopback port, transit enabled and keys/policies/tokens made with the `vault` CLI, an
//! independent client): `generate-key-pair --kms` creates the key and writes cosign.pub;
//! images, attestations and blobs signed through transit verify with vouch and with cosign
//! (the peer); the key types cosign uses on transit sign; wrong tokens, tokens without the
//! permission, missing keys and mounts, and unsupported key types are refused naming what is
//! wrong, with nothing written.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::peers;

use common::{check_ok, text, vouch_cmd};
use peers::Peer;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vouch_testkit::{RegistryServer, free_port};

/// `vouch ARGS` with exactly the Vault variables given (none from the machine).
fn vouch_with(vars: &[(&str, &str)], home: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = vouch_cmd(args);
    for name in [
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "BAO_ADDR",
        "BAO_TOKEN",
        "VAULT_NAMESPACE",
        "VAULT_CACERT",
        "TRANSIT_SECRET_ENGINE_PATH",
    ] {
        cmd.env_remove(name);
    }
    // No ~/.vault-token from the developer's machine.
    cmd.env("HOME", home);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn fails(vars: &[(&str, &str)], home: &std::path::Path, args: &[&str]) -> String {
    let out = vouch_with(vars, home, args);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "vouch {args:?}:\n{said}");
    said
}

#[test]
fn refused_without_a_usable_vault() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let blob = dir.path().join("f");
    std::fs::write(&blob, b"x").unwrap();
    let blob = blob.display().to_string();
    let bundle = dir.path().join("f.bundle").display().to_string();
    let sign = [
        "sign-blob",
        blob.as_str(),
        "--key",
        "hashivault://release",
        "--bundle",
        &bundle,
    ];

    let said = fails(&[], home, &sign);
    assert!(said.contains("VAULT_ADDR"), "{said}");
    let said = fails(&[("VAULT_ADDR", "http://127.0.0.1:8200")], home, &sign);
    assert!(said.contains("VAULT_TOKEN"), "{said}");
    // The token would travel in clear text to a remote host: refused before any request.
    let said = fails(
        &[
            ("VAULT_ADDR", "http://vault.example:8200"),
            ("VAULT_TOKEN", "t"),
        ],
        home,
        &sign,
    );
    assert!(said.contains("clear text"), "{said}");
    // ~/.vault-token (the Vault CLI's token helper file) is read, then nobody answers.
    std::fs::write(home.join(".vault-token"), "s.token\n").unwrap();
    let addr = format!("http://127.0.0.1:{}", free_port());
    let said = fails(&[("VAULT_ADDR", &addr)], home, &sign);
    assert!(said.contains("Vault transit"), "{said}");
    assert!(said.contains(&addr), "{said}");
    assert!(!std::path::Path::new(&bundle).exists());

    // generate-key-pair fails the same way, writing nothing.
    let prefix = dir.path().join("k").display().to_string();
    let said = fails(
        &[],
        home,
        &[
            "generate-key-pair",
            "--kms",
            "hashivault://release",
            "--output-key-prefix",
            &prefix,
        ],
    );
    assert!(said.contains("VAULT_ADDR"), "{said}");
    assert!(!std::path::Path::new(&format!("{prefix}.pub")).exists());

    // Key names follow cosign's grammar; anything else is named malformed, not a path.
    for bad in ["hashivault://", "hashivault://a/b", "openbao://-x"] {
        let said = fails(&[], home, &["sign-blob", &blob, "--key", bad]);
        assert!(
            said.contains("malformed hashivault:// reference"),
            "{bad}: {said}"
        );
    }
}

/// A Vault dev server (in-memory storage, unsealed, root token known) with transit enabled
/// at `transit/`; killed on drop. The `vault` binary doubles as the independent client.
struct VaultDev {
    child: Child,
    vault: Peer,
    /// `http://127.0.0.1:PORT`
    addr: String,
    root: String,
    dir: tempfile::TempDir,
}

impl VaultDev {
    fn start() -> Self {
        let vault = Peer::new("vault");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let root = format!("vouch-dev-root-{port}");
        let log = std::fs::File::create(dir.path().join("vault.log")).unwrap();
        let child = vault
            .cmd(&[
                "server",
                "-dev",
                &format!("-dev-root-token-id={root}"),
                &format!("-dev-listen-address={listen}"),
                "-dev-no-store-token",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn vault server -dev");
        let mut dev = Self {
            child,
            vault,
            addr: format!("http://{listen}"),
            root,
            dir,
        };
        // `vault status` exits 0 once the server answers and is unsealed.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if TcpStream::connect(&listen).is_ok()
                && dev
                    .vault_as(&dev.root.clone(), &["status"])
                    .status
                    .success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "vault server -dev did not come up on {listen}:\n{}",
                std::fs::read_to_string(dev.dir.path().join("vault.log")).unwrap_or_default()
            );
            if let Ok(Some(status)) = dev.child.try_wait() {
                panic!(
                    "vault server -dev exited ({status}):\n{}",
                    std::fs::read_to_string(dev.dir.path().join("vault.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        dev.vault_ok(&["secrets", "enable", "transit"]);
        dev
    }

    /// `vault ARGS` (the CLI) against this server with `token`.
    fn vault_as(&self, token: &str, args: &[&str]) -> Output {
        self.vault
            .cmd(args)
            .env("VAULT_ADDR", &self.addr)
            .env("VAULT_TOKEN", token)
            .output()
            .unwrap()
    }

    /// `vault ARGS` as root; asserts success, returns stdout.
    fn vault_ok(&self, args: &[&str]) -> String {
        let out = self.vault_as(&self.root, args);
        assert!(out.status.success(), "vault {args:?}:\n{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// The transit key as Vault reports it (`vault read transit/keys/KEY`).
    fn key_info(&self, key: &str) -> Value {
        let read = self.vault_ok(&["read", "-format=json", &format!("transit/keys/{key}")]);
        serde_json::from_str::<Value>(&read).unwrap()["data"].clone()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `vouch ARGS` with this server's address and `token` (nothing else from the machine).
    fn vouch_as(&self, token: &str, args: &[&str]) -> Output {
        self.vouch_env(&[("VAULT_TOKEN", token)], args)
    }

    fn vouch_env(&self, vars: &[(&str, &str)], args: &[&str]) -> Output {
        let mut all = vec![("VAULT_ADDR", self.addr.as_str())];
        all.extend_from_slice(vars);
        vouch_with(&all, self.dir.path(), args)
    }

    fn ok(&self, args: &[&str]) -> String {
        check_ok(&self.vouch_as(&self.root, args), args)
    }

    /// Runs `vouch ARGS` with `token`, asserts exit code 1, returns what it said.
    fn fails_as(&self, token: &str, args: &[&str]) -> String {
        let out = self.vouch_as(token, args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "vouch {args:?}:\n{said}");
        said
    }
}

impl Drop for VaultDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The base64 body of a PEM block (line breaks aside, two PEMs of one key are equal).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

#[test]
fn generate_sign_and_verify_image_and_blob_through_vault_transit() {
    let dev = VaultDev::start();
    let key = "hashivault://release";
    let prefix = dev.path("cosign");
    let public = format!("{prefix}.pub");

    let generated: Value = serde_json::from_str(&dev.ok(&[
        "generate-key-pair",
        "--kms",
        key,
        "--output-key-prefix",
        &prefix,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(generated["algorithm"], "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(generated["publicKey"], public.as_str());
    assert!(!Path::new(&format!("{prefix}.key")).exists());
    // Vault made an ecdsa-p256 transit key, and cosign.pub is its public key.
    let info = dev.key_info("release");
    assert_eq!(info["type"], "ecdsa-p256");
    assert_eq!(info["latest_version"], 1);
    let pem = std::fs::read_to_string(&public).unwrap();
    assert_eq!(
        pem_body(&pem),
        pem_body(info["keys"]["1"]["public_key"].as_str().unwrap())
    );
    // `public-key` (cosign's command) prints the same key, read from Vault.
    assert_eq!(
        pem_body(&dev.ok(&["public-key", "--key", key])),
        pem_body(&pem)
    );

    // The name now exists in Vault: generating again is refused, nothing written.
    let again = dev.fails_as(
        &dev.root,
        &[
            "generate-key-pair",
            "--kms",
            key,
            "--output-key-prefix",
            &dev.path("again"),
        ],
    );
    assert!(again.contains("already exists"), "{again}");
    assert!(!Path::new(&dev.path("again.pub")).exists());

    // An image signed through transit verifies with cosign.pub and with the Vault reference.
    let registry = RegistryServer::start();
    let (image, _) = peers::push(&registry.host, dev.dir.path(), "vault/app", "v1");
    dev.ok(&["sign", &image, "--key", key]);
    let key_id = generated["keyId"].as_str().unwrap();
    for by in [public.as_str(), key] {
        let verified = dev.ok(&[
            "verify",
            &image,
            "--insecure-ignore-tlog",
            "--key",
            by,
            "-o",
            "json",
        ]);
        assert!(verified.contains(key_id), "{by}: {verified}");
    }

    // An attestation signed through transit.
    let predicate = dev.path("predicate.json");
    std::fs::write(&predicate, br#"{"builtOn":"vault-transit"}"#).unwrap();
    let predicate_type = "https://vouch.example/vault-test/v1";
    dev.ok(&[
        "attest",
        &image,
        "--predicate",
        &predicate,
        "--type",
        predicate_type,
        "--key",
        key,
    ]);
    let attested = dev.ok(&[
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
    assert!(attested.contains("vault-transit"), "{attested}");

    // A blob: the bundle verifies by file and by reference (cosign's openbao:// alias too);
    // a changed blob does not.
    let blob = dev.path("artifact.txt");
    std::fs::write(&blob, b"release notes\n").unwrap();
    let bundle = dev.path("artifact.bundle");
    dev.ok(&["sign-blob", &blob, "--key", key, "--bundle", &bundle]);
    for by in [public.as_str(), key, "openbao://release"] {
        dev.ok(&[
            "verify-blob",
            &blob,
            "--insecure-ignore-tlog",
            "--key",
            by,
            "--bundle",
            &bundle,
        ]);
    }
    // Vault itself says the bundle's signature is its own over the blob's SHA-256.
    let bundle_json: Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let signature = bundle_json["messageSignature"]["signature"]
        .as_str()
        .unwrap();
    let digest = bundle_json["messageSignature"]["messageDigest"]["digest"]
        .as_str()
        .unwrap();
    let verdict = dev.vault_ok(&[
        "write",
        "-format=json",
        "transit/verify/release/sha2-256",
        &format!("input={digest}"),
        "prehashed=true",
        &format!("signature=vault:v1:{signature}"),
    ]);
    let verdict: Value = serde_json::from_str(&verdict).unwrap();
    assert_eq!(verdict["data"]["valid"], true, "{verdict}");

    std::fs::write(&blob, b"release notes, edited\n").unwrap();
    let out = dev.vouch_as(
        &dev.root,
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
    std::fs::write(&blob, b"release notes\n").unwrap();

    // cosign (the peer) verifies vouch's transit-signed image and blob with cosign.pub.
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
    let out = cosign.run(&[
        "verify-blob",
        "--key",
        &public,
        "--bundle",
        &bundle,
        "--insecure-ignore-tlog",
        "--offline",
        &blob,
    ]);
    assert!(out.status.success(), "cosign verify-blob:\n{}", text(&out));
}

#[test]
fn transit_key_types_cosign_uses_sign_and_verify() {
    let dev = VaultDev::start();
    let cosign = Peer::new("cosign");
    let blob = dev.path("blob");
    std::fs::write(&blob, b"signed by every key type\n").unwrap();

    // generate-key-pair --algorithm ecdsa-p384 makes an ecdsa-p384 transit key.
    let prefix = dev.path("p384");
    let generated: Value = serde_json::from_str(&dev.ok(&[
        "generate-key-pair",
        "--kms",
        "hashivault://p384",
        "--algorithm",
        "ecdsa-p384",
        "--output-key-prefix",
        &prefix,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(generated["algorithm"], "PKIX_ECDSA_P384_SHA_384");
    assert_eq!(dev.key_info("p384")["type"], "ecdsa-p384");

    // RSA keys are made in Vault (cosign's generate-key-pair makes only its default type).
    for rsa in ["rsa-2048", "rsa-3072", "rsa-4096"] {
        dev.vault_ok(&[
            "write",
            "-f",
            &format!("transit/keys/{rsa}"),
            &format!("type={rsa}"),
        ]);
    }
    for name in ["p384", "rsa-2048", "rsa-3072", "rsa-4096"] {
        let key = format!("hashivault://{name}");
        let public = dev.path(&format!("{name}.pub"));
        std::fs::write(&public, dev.ok(&["public-key", "--key", &key])).unwrap();
        assert_eq!(
            pem_body(&std::fs::read_to_string(&public).unwrap()),
            pem_body(
                dev.key_info(name)["keys"]["1"]["public_key"]
                    .as_str()
                    .unwrap()
            ),
            "{name}"
        );
        let bundle = dev.path(&format!("{name}.bundle"));
        dev.ok(&["sign-blob", &blob, "--key", &key, "--bundle", &bundle]);
        dev.ok(&[
            "verify-blob",
            &blob,
            "--insecure-ignore-tlog",
            "--key",
            &public,
            "--bundle",
            &bundle,
        ]);
        let out = cosign.run(&[
            "verify-blob",
            "--key",
            &public,
            "--bundle",
            &bundle,
            "--insecure-ignore-tlog",
            "--offline",
            &blob,
        ]);
        assert!(
            out.status.success(),
            "cosign verify-blob ({name}):\n{}",
            text(&out)
        );
    }

    // Types vouch does not sign with are refused by name, before any signature.
    dev.vault_ok(&["write", "-f", "transit/keys/ed", "type=ed25519"]);
    dev.vault_ok(&["write", "-f", "transit/keys/p521", "type=ecdsa-p521"]);
    dev.vault_ok(&["write", "-f", "transit/keys/aes", "type=aes256-gcm96"]);
    let bundle = dev.path("refused.bundle");
    for (name, expected) in [
        ("ed", "not supported yet: transit keys of type ed25519"),
        ("p521", "not supported yet: transit keys of type ecdsa-p521"),
        ("aes", "(type aes256-gcm96) does not support signing"),
    ] {
        let said = dev.fails_as(
            &dev.root,
            &[
                "sign-blob",
                &blob,
                "--key",
                &format!("hashivault://{name}"),
                "--bundle",
                &bundle,
            ],
        );
        assert!(said.contains(expected), "{name}: {said}");
        assert!(!Path::new(&bundle).exists());
    }
    let said = dev.fails_as(
        &dev.root,
        &[
            "generate-key-pair",
            "--kms",
            "hashivault://new-ed",
            "--algorithm",
            "ed25519",
            "--output-key-prefix",
            &dev.path("new-ed"),
        ],
    );
    assert!(said.contains("not supported yet"), "{said}");
    assert!(!Path::new(&dev.path("new-ed.pub")).exists());
    let listed = dev.vault_ok(&["list", "-format=json", "transit/keys"]);
    assert!(!listed.contains("new-ed"), "{listed}");
}

#[test]
fn wrong_tokens_missing_keys_and_rotation_through_vault() {
    let dev = VaultDev::start();
    let key = "hashivault://release";
    let prefix = dev.path("cosign");
    dev.ok(&[
        "generate-key-pair",
        "--kms",
        key,
        "--output-key-prefix",
        &prefix,
    ]);
    let public = format!("{prefix}.pub");
    let blob = dev.path("f");
    std::fs::write(&blob, b"x").unwrap();
    let bundle = dev.path("f.bundle");
    let sign = [
        "sign-blob",
        blob.as_str(),
        "--key",
        key,
        "--bundle",
        &bundle,
    ];

    // A token Vault does not know.
    let said = dev.fails_as("hvs.not-a-token", &sign);
    assert!(said.contains("permission denied"), "{said}");
    assert!(said.contains("VAULT_TOKEN"), "{said}");
    assert!(said.contains("403"), "{said}");
    assert!(!Path::new(&bundle).exists());

    // A real token whose policy may read the key but not sign with it, nor create keys.
    let policy = dev.path("reader.hcl");
    std::fs::write(
        &policy,
        "path \"transit/keys/*\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    dev.vault_ok(&["policy", "write", "transit-reader", &policy]);
    let reader = dev.vault_ok(&["token", "create", "-policy=transit-reader", "-field=token"]);
    let reader = reader.trim();
    let said = dev.fails_as(reader, &sign);
    assert!(said.contains("sign with transit key release"), "{said}");
    assert!(said.contains("permission denied"), "{said}");
    assert!(said.contains("its policy"), "{said}");
    assert!(!Path::new(&bundle).exists());
    // ... it still reads the public key, so it verifies.
    dev.ok(&["sign-blob", &blob, "--key", key, "--bundle", &bundle]);
    let out = dev.vouch_as(
        reader,
        &[
            "verify-blob",
            &blob,
            "--insecure-ignore-tlog",
            "--key",
            key,
            "--bundle",
            &bundle,
        ],
    );
    check_ok(&out, &["verify-blob", "--key", key]);
    std::fs::remove_file(&bundle).unwrap();
    let said = dev.fails_as(
        reader,
        &[
            "generate-key-pair",
            "--kms",
            "hashivault://by-reader",
            "--output-key-prefix",
            &dev.path("by-reader"),
        ],
    );
    assert!(said.contains("create transit key by-reader"), "{said}");
    assert!(said.contains("permission denied"), "{said}");
    assert!(!Path::new(&dev.path("by-reader.pub")).exists());

    // A key that does not exist, and a mount that does not.
    let said = dev.fails_as(
        &dev.root,
        &[
            "sign-blob",
            &blob,
            "--key",
            "hashivault://nope",
            "--bundle",
            &bundle,
        ],
    );
    assert!(said.contains("no transit key \"nope\""), "{said}");
    assert!(said.contains(&format!("{}/v1/transit", dev.addr)), "{said}");
    let out = dev.vouch_env(
        &[
            ("VAULT_TOKEN", &dev.root),
            ("TRANSIT_SECRET_ENGINE_PATH", "signing"),
        ],
        &sign,
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("TRANSIT_SECRET_ENGINE_PATH"), "{said}");
    assert!(said.contains("/v1/signing"), "{said}");
    assert!(!Path::new(&bundle).exists());
    // The same key under another mount path is found there.
    dev.vault_ok(&["secrets", "enable", "-path=signing", "transit"]);
    dev.vault_ok(&["write", "-f", "signing/keys/release", "type=ecdsa-p256"]);
    let out = dev.vouch_env(
        &[
            ("VAULT_TOKEN", &dev.root),
            ("TRANSIT_SECRET_ENGINE_PATH", "signing"),
        ],
        &sign,
    );
    check_ok(&out, &sign);
    let out = dev.vouch_as(
        &dev.root,
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
    assert_eq!(out.status.code(), Some(3), "another key: {}", text(&out));

    // After a rotation vouch signs with the latest version: the old cosign.pub refuses the
    // new signature; the key as Vault now reports it accepts it.
    dev.vault_ok(&["write", "-f", "transit/keys/release/rotate"]);
    assert_eq!(dev.key_info("release")["latest_version"], 2);
    dev.ok(&sign);
    let out = dev.vouch_as(
        &dev.root,
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
    assert_eq!(out.status.code(), Some(3), "old key: {}", text(&out));
    dev.ok(&[
        "verify-blob",
        &blob,
        "--insecure-ignore-tlog",
        "--key",
        key,
        "--bundle",
        &bundle,
    ]);
}

/// An `ecdsa-p384` transit key signs into a Rekor v2 log as the log's key details require:
/// `sign/KEY/sha2-384` over the SHA-384 digest (`PKIX_ECDSA_P384_SHA_384`, as cosign v3).
/// vouch and cosign v3 verify the bundle; both refuse it with another P-384 key. Into the
/// instance's Rekor v1 log the message signature is a `hashedrekord` over SHA-384 too.
#[test]
fn p384_transit_key_signs_into_rekor_v2_and_v1_over_sha384() {
    let dev = VaultDev::start();
    let blob = dev.path("blob");
    std::fs::write(&blob, b"signed by a transit key into Rekor v2\n").unwrap();
    for name in ["p384", "other384"] {
        dev.ok(&[
            "generate-key-pair",
            "--kms",
            &format!("hashivault://{name}"),
            "--algorithm",
            "ecdsa-p384",
            "--output-key-prefix",
            &dev.path(name),
        ]);
    }
    let v2 = crate::sign_tlog::key_signing_instance(&dev.dir.path().join("v2"), true);
    let bundle = dev.path("p384.v2.sigstore.json");
    crate::sign_tlog::check_p384_v2_blob(
        |args| dev.ok(args),
        &v2,
        "hashivault://p384",
        &blob,
        &bundle,
        &dev.path("p384.pub"),
        &dev.path("other384.pub"),
    );
    let v1 = crate::sign_tlog::key_signing_instance(&dev.dir.path().join("v1"), false);
    let bundle = dev.path("p384.v1.sigstore.json");
    dev.ok(&[
        "sign-blob",
        &blob,
        "--key",
        "hashivault://p384",
        "--trust-config",
        &v1.trust_config,
        "--bundle",
        &bundle,
    ]);
    let parsed: Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(
        parsed["messageSignature"]["messageDigest"]["algorithm"], "SHA2_384",
        "{parsed}"
    );
    let report = dev.ok(&[
        "verify-blob",
        &blob,
        "--bundle",
        &bundle,
        "--key",
        &dev.path("p384.pub"),
        "--trusted-root",
        &v1.root,
        "-o",
        "json",
    ]);
    assert!(report.contains("entry hashedrekord 0.0.1"), "{report}");
}
