//! `pkcs11:` keys end to end against SoftHSM2 (Debian `softhsm2`): `generate-key-pair --kms`
//! makes a sensitive, never-extractable key on a fresh token (checked with OpenSC's
//! `pkcs11-tool`, an independent PKCS#11 client), `sign`/`sign-blob` sign through the token and
//! `verify --key cosign.pub` accepts the result; wrong PIN, missing token and missing object
//! are refused naming what is wrong. cosign's KMS schemes vouch does not implement are refused
//! with "not supported yet" (awskms:// and hashivault:// are tested in kms_*.rs).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::peers;

use common::{check_ok, ok, text, vouch_cmd};
use peers::Peer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use vouch_testkit::{RegistryServer, require_tool, run, umoci_image};

/// Debian's SoftHSM2 module (package `softhsm2` / `libsofthsm2`).
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "1234";

/// A SoftHSM2 store in a temp dir with one initialised token `label` (user PIN 1234).
struct SoftHsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl SoftHsm {
    fn new(label: &str) -> Self {
        let util = require_tool("softhsm2-util");
        assert!(
            Path::new(MODULE).is_file(),
            "{MODULE} missing: apt-get install softhsm2 (listed in .ci/apt-packages.txt)"
        );
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        run(Command::new(util)
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--pin", PIN, "--so-pin", "5678"]));
        Self { dir, conf }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `vouch ARGS` seeing this token store, with no PIN from the machine's environment.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = vouch_cmd(args);
        cmd.env("SOFTHSM2_CONF", &self.conf)
            .env_remove("VOUCH_PKCS11_PIN")
            .env_remove("COSIGN_PKCS11_PIN")
            .env_remove("COSIGN_PKCS11_MODULE_PATH");
        cmd
    }

    fn vouch(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        check_ok(&self.vouch(args), args)
    }

    /// Runs `vouch ARGS`, asserts it fails with exit code 1; returns what it said.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.vouch(args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "vouch {args:?}:\n{said}");
        said
    }

    /// `pkcs11-tool --list-objects` logged in: what OpenSC sees on the token.
    fn list_objects(&self) -> String {
        let tool = require_tool("pkcs11-tool");
        run(Command::new(tool).env("SOFTHSM2_CONF", &self.conf).args([
            "--module",
            MODULE,
            "--list-objects",
            "--login",
            "--pin",
            PIN,
        ]))
    }
}

/// `pkcs11:token=TOKEN;object=OBJECT?module-path=MODULE[&pin-value=PIN]`.
fn uri(token: &str, object: &str, pin: Option<&str>) -> String {
    let mut u = format!("pkcs11:token={token};object={object}?module-path={MODULE}");
    if let Some(pin) = pin {
        u.push_str(&format!("&pin-value={pin}"));
    }
    u
}

/// The `Private Key Object` block of `pkcs11-tool --list-objects` output labelled `label`.
fn private_key_block<'a>(listing: &'a str, label: &str) -> &'a str {
    listing
        .split("Private Key Object")
        .skip(1)
        .map(|block| block.split("Object;").next().unwrap_or(block))
        .find(|block| block.contains(&format!("label:      {label}\n")))
        .unwrap_or_else(|| panic!("no private key {label} in:\n{listing}"))
}

fn push_image(registry: &RegistryServer, dir: &Path, repo: &str) -> String {
    let layout = umoci_image(dir, "v1", &[&[("etc/app.conf", b"hsm\n")]]);
    let reference = format!("{}/{repo}:v1", registry.host);
    ok(&[
        "image",
        "copy",
        &format!("oci:{}:v1", layout.display()),
        &reference,
    ]);
    reference
}

#[test]
fn generate_on_token_sign_image_and_blob_verify_with_cosign_pub() {
    let hsm = SoftHsm::new("T");
    let prefix = hsm.path("cosign");
    let public = format!("{prefix}.pub");
    let key = uri("T", "signer", None);

    let generated: Value = serde_json::from_str(&hsm.ok(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--pin",
        PIN,
        "--output-key-prefix",
        &prefix,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(generated["algorithm"], "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(generated["publicKey"], public.as_str());
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----"),
    );
    // No private key file: the key exists only on the token.
    assert!(!Path::new(&format!("{prefix}.key")).exists());

    // OpenSC sees the private key as sensitive and never extractable, and signing-capable.
    let listing = hsm.list_objects();
    let block = private_key_block(&listing, "signer");
    let access = block
        .lines()
        .find(|l| l.trim_start().starts_with("Access:"))
        .unwrap_or_else(|| panic!("no Access line:\n{block}"));
    // OpenSC prints each flag set: `sensitive, always sensitive, never extractable, local`;
    // a bare `extractable` would mean CKA_EXTRACTABLE is true.
    let flags: Vec<&str> = access
        .trim_start()
        .trim_start_matches("Access:")
        .split(',')
        .map(str::trim)
        .collect();
    for want in ["sensitive", "always sensitive", "never extractable"] {
        assert!(flags.contains(&want), "{want} missing: {access}");
    }
    assert!(!flags.contains(&"extractable"), "{access}");
    assert!(block.contains("sign"), "{block}");
    assert!(listing.contains("Public Key Object; EC"), "{listing}");

    // The same label again is refused rather than making a second key.
    let again = hsm.fails(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--pin",
        PIN,
        "--output-key-prefix",
        &hsm.path("again"),
    ]);
    assert!(again.contains("already exists"), "{again}");

    // sign an image with the PIN from $VOUCH_PKCS11_PIN; verify with cosign.pub.
    let registry = RegistryServer::start();
    let image = push_image(&registry, hsm.dir.path(), "hsm/app");
    let args = ["sign", &image, "--key", &key, "--signature-format", "both"];
    check_ok(
        &hsm.cmd(&args)
            .env("VOUCH_PKCS11_PIN", PIN)
            .output()
            .unwrap(),
        &args,
    );
    let verified: Value = serde_json::from_str(&ok(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-o",
        "json",
    ]))
    .unwrap();
    let key_id = generated["keyId"].as_str().unwrap();
    assert!(verified.to_string().contains(key_id), "{verified}");
    // cosign (the peer) verifies the token's signature in both storage schemes.
    let cosign = Peer::new("cosign");
    for extra in [&[][..], &["--new-bundle-format=false"][..]] {
        let mut args = vec![
            "verify",
            &image,
            "--key",
            &public,
            "--insecure-ignore-tlog",
            "--offline",
            "--allow-http-registry",
        ];
        args.extend(extra);
        let out = cosign.ok(&args);
        assert!(out.contains("\"critical\""), "{out}");
    }
    // attest through the token (PIN from $COSIGN_PKCS11_PIN); verify-attestation accepts it.
    let predicate = hsm.path("predicate.json");
    std::fs::write(&predicate, br#"{"builtOn":"softhsm2"}"#).unwrap();
    let predicate_type = "https://vouch.example/hsm-test/v1";
    let args = [
        "attest",
        &image,
        "--predicate",
        &predicate,
        "--type",
        predicate_type,
        "--key",
        &key,
    ];
    check_ok(
        &hsm.cmd(&args)
            .env("COSIGN_PKCS11_PIN", PIN)
            .output()
            .unwrap(),
        &args,
    );
    let attested = ok(&[
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
    assert!(attested.contains("softhsm2"), "{attested}");
    // verify --key pkcs11:... reads the token's public key object (no PIN needed), as cosign.
    let by_token = hsm.vouch(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &key,
        "-o",
        "json",
    ]);
    assert!(check_ok(&by_token, &["verify"]).contains(key_id));
    // A different key does not verify it.
    let stranger = common::keypair(hsm.dir.path(), "stranger").1;
    let out = vouch_cmd(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &stranger,
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    // sign-blob with the PIN in the URI (cosign's pin-value), and $COSIGN_PKCS11_PIN wrong:
    // the URI wins.
    let blob = hsm.path("release.tar");
    std::fs::write(&blob, b"release bytes").unwrap();
    let bundle = hsm.path("release.tar.sigstore.json");
    let with_pin = uri("T", "signer", Some(PIN));
    let args = ["sign-blob", &blob, "--key", &with_pin, "--bundle", &bundle];
    check_ok(
        &hsm.cmd(&args)
            .env("COSIGN_PKCS11_PIN", "0000")
            .output()
            .unwrap(),
        &args,
    );
    ok(&[
        "verify-blob",
        &blob,
        "--bundle",
        &bundle,
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    cosign.ok(&[
        "verify-blob",
        &blob,
        "--bundle",
        &bundle,
        "--key",
        &public,
        "--insecure-ignore-tlog",
    ]);
    std::fs::write(&blob, b"tampered bytes").unwrap();
    let out = vouch_cmd(&[
        "verify-blob",
        &blob,
        "--bundle",
        &bundle,
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn p384_key_on_token_signs_blobs() {
    let hsm = SoftHsm::new("T384");
    let prefix = hsm.path("p384");
    let key = uri("T384", "k384", Some(PIN));
    let generated: Value = serde_json::from_str(&hsm.ok(&[
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
    let blob = hsm.path("b");
    std::fs::write(&blob, b"p384").unwrap();
    let bundle = hsm.path("b.json");
    hsm.ok(&["sign-blob", &blob, "--key", &key, "--bundle", &bundle]);
    ok(&[
        "verify-blob",
        &blob,
        "--bundle",
        &bundle,
        "--insecure-ignore-tlog",
        "--key",
        &format!("{prefix}.pub"),
    ]);
    // A key made with an explicit CKA_ID (percent-encoded, RFC 7512) is found by id alone.
    let by_id_prefix = hsm.path("byid");
    hsm.ok(&[
        "generate-key-pair",
        "--kms",
        &format!("pkcs11:token=T384;object=byid;id=%0a%0b?module-path={MODULE}&pin-value={PIN}"),
        "--output-key-prefix",
        &by_id_prefix,
    ]);
    let by_id = format!("pkcs11:token=T384;id=%0A%0B?module-path={MODULE}&pin-value={PIN}");
    hsm.ok(&["sign-blob", &blob, "--key", &by_id, "--bundle", &bundle]);
    ok(&[
        "verify-blob",
        &blob,
        "--bundle",
        &bundle,
        "--insecure-ignore-tlog",
        "--key",
        &format!("{by_id_prefix}.pub"),
    ]);
    let listing = hsm.list_objects();
    assert!(
        private_key_block(&listing, "byid").contains("ID:         0a0b"),
        "{listing}"
    );
    // Ed25519 is not an algorithm tokens generally offer: refused before touching the token.
    let said = hsm.fails(&[
        "generate-key-pair",
        "--kms",
        &uri("T384", "ed", Some(PIN)),
        "--algorithm",
        "ed25519",
        "--output-key-prefix",
        &hsm.path("ed"),
    ]);
    assert!(said.contains("ed25519"), "{said}");
}

/// A P-384 token key signs into a Rekor v2 log as the log's key details require: `CKM_ECDSA`
/// over a SHA-384 digest computed by vouch (`PKIX_ECDSA_P384_SHA_384`, as cosign v3). vouch
/// and cosign v3 verify the bundle; both refuse it with another P-384 key.
#[test]
fn p384_token_key_signs_into_rekor_v2_over_sha384() {
    let hsm = SoftHsm::new("T384v2");
    let prefix = hsm.path("p384");
    let other = hsm.path("other384");
    let key = uri("T384v2", "k384", Some(PIN));
    for (object, out) in [("k384", &prefix), ("other384", &other)] {
        hsm.ok(&[
            "generate-key-pair",
            "--kms",
            &uri("T384v2", object, Some(PIN)),
            "--algorithm",
            "ecdsa-p384",
            "--output-key-prefix",
            out,
        ]);
    }
    let blob = hsm.path("blob");
    std::fs::write(&blob, b"signed on a token into Rekor v2\n").unwrap();
    let v2 = crate::sign_tlog::key_signing_instance(&hsm.dir.path().join("v2"), true);
    let bundle = hsm.path("p384.v2.sigstore.json");
    crate::sign_tlog::check_p384_v2_blob(
        |args| hsm.ok(args),
        &v2,
        &key,
        &blob,
        &bundle,
        &format!("{prefix}.pub"),
        &format!("{other}.pub"),
    );
    // A statement too: its PAE signed over SHA-384 and logged as a hashedrekord.
    let predicate = hsm.path("predicate.json");
    std::fs::write(&predicate, br#"{"builder":"token"}"#).unwrap();
    let attested = hsm.path("p384.v2-att.sigstore.json");
    hsm.ok(&[
        "attest-blob",
        &blob,
        "--predicate",
        &predicate,
        "--type",
        "https://vouch.example/test/v1",
        "--key",
        &key,
        "--signing-config",
        &v2.signing_config,
        "--trusted-root",
        &v2.root,
        "--bundle",
        &attested,
    ]);
    let report = ok(&[
        "verify-blob",
        &blob,
        "--bundle",
        &attested,
        "--key",
        &format!("{prefix}.pub"),
        "--trusted-root",
        &v2.root,
        "-o",
        "json",
    ]);
    assert!(report.contains("hashedrekord 0.0.2 (Rekor v2)"), "{report}");
}

#[test]
fn wrong_pin_missing_token_missing_object_are_named() {
    let hsm = SoftHsm::new("T");
    hsm.ok(&[
        "generate-key-pair",
        "--kms",
        &uri("T", "signer", Some(PIN)),
        "--output-key-prefix",
        &hsm.path("cosign"),
    ]);
    let blob = hsm.path("f");
    std::fs::write(&blob, b"x").unwrap();
    let bundle = hsm.path("f.json");
    let sign = |key: &str| hsm.fails(&["sign-blob", &blob, "--key", key, "--bundle", &bundle]);

    let said = sign(&uri("T", "signer", Some("9999")));
    assert!(
        said.contains("wrong PIN") && said.contains("\"T\""),
        "{said}"
    );
    let said = sign(&uri("Nope", "signer", Some(PIN)));
    assert!(
        said.contains("token token=Nope not found") && said.contains("[\"T\"]"),
        "{said}"
    );
    let said = sign(&uri("T", "missing", Some(PIN)));
    assert!(
        said.contains("private key object=missing not found on token \"T\""),
        "{said}"
    );
    // verify through a token without that key names the public key it looked for.
    let said = hsm.fails(&[
        "verify-blob",
        &blob,
        "--bundle",
        &bundle,
        "--insecure-ignore-tlog",
        "--key",
        &uri("T", "missing", None),
    ]);
    assert!(
        said.contains("public key object=missing not found on token \"T\""),
        "{said}"
    );
    // No PIN anywhere and no terminal: says where a PIN can come from.
    let said = sign(&uri("T", "signer", None));
    assert!(
        said.contains("no PIN") && said.contains("VOUCH_PKCS11_PIN"),
        "{said}"
    );
    // A module that does not exist is named.
    let said = sign(&format!(
        "pkcs11:token=T;object=signer?module-path=/nonexistent/libp11.so&pin-value={PIN}"
    ));
    assert!(
        said.contains("cannot load PKCS#11 module /nonexistent/libp11.so"),
        "{said}"
    );
    // Malformed URIs say what is wrong with them.
    let said = sign(&format!("pkcs11:object=signer?module-path={MODULE}"));
    assert!(
        said.contains("invalid PKCS#11 URI: one of token and slot-id must be set"),
        "{said}"
    );
    let said = sign(&format!(
        "pkcs11:token=T;object=signer;serial=42?module-path={MODULE}"
    ));
    assert!(said.contains("\"serial\" is not supported"), "{said}");
    // None of the refused runs wrote a bundle.
    assert!(!Path::new(&bundle).exists());
    // --pin is used when the URI has none.
    hsm.ok(&[
        "sign-blob",
        &blob,
        "--key",
        &uri("T", "signer", None),
        "--pin",
        PIN,
        "--bundle",
        &bundle,
    ]);
    assert!(
        std::fs::read_to_string(&bundle)
            .unwrap()
            .contains("messageSignature")
    );
}

#[test]
fn other_kms_schemes_are_not_supported_yet() {
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("f");
    std::fs::write(&blob, b"x").unwrap();
    let blob = blob.display().to_string();
    for (key, scheme) in [
        (
            "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k",
            "gcpkms://",
        ),
        ("azurekms://vault.vault.azure.net/key", "azurekms://"),
        ("k8s://namespace/secret", "k8s://"),
        ("GCPKMS://projects/p", "gcpkms://"),
    ] {
        let out = vouch_cmd(&["sign-blob", &blob, "--key", key])
            .output()
            .unwrap();
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{key}: {said}");
        assert!(
            said.contains(&format!("not supported yet: {scheme}")),
            "{key}: {said}"
        );
        let prefix = dir.path().join("k").display().to_string();
        let out = vouch_cmd(&[
            "generate-key-pair",
            "--kms",
            key,
            "--output-key-prefix",
            &prefix,
        ])
        .output()
        .unwrap();
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{key}: {said}");
        assert!(
            said.contains(&format!("not supported yet: {scheme}")),
            "{key}: {said}"
        );
        assert!(!Path::new(&format!("{prefix}.pub")).exists());
    }
}

/// `vouch pipeline --key pkcs11:...` end to end: build, SBOM, scan, sign, attest and verify,
/// every signature made by the token's non-extractable key; cosign (the peer) and vouch then
/// verify the pipeline's signature and SBOM attestation with the token's public key.
#[test]
fn pipeline_signs_and_attests_through_the_token() {
    let hsm = SoftHsm::new("P");
    let prefix = hsm.path("pipeline");
    let public = format!("{prefix}.pub");
    let key = uri("P", "release", Some(PIN));
    hsm.ok(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--output-key-prefix",
        &prefix,
    ]);
    let app = hsm.dir.path().join("app");
    std::fs::create_dir_all(app.join("app")).unwrap();
    std::fs::write(app.join("app/main.py"), "print('signed by a token')\n").unwrap();
    // The bundled advisories (crates/pipeline/data/advisories, PyPA, CC-BY-4.0).
    let advisories = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/data/advisories");
    let registry = RegistryServer::start();
    let image = format!("{}/hsm/pipeline:v1", registry.host);
    let add = format!("{}:/", app.display());
    let out_dir = hsm.path("out");
    let args = [
        "pipeline",
        &image,
        "--add",
        &add,
        "--advisories",
        advisories.to_str().unwrap(),
        "--key",
        &key,
        "--out",
        &out_dir,
        "-o",
        "json",
    ];
    let report: Value = serde_json::from_str(&hsm.ok(&args)).unwrap();
    assert_eq!(report["passed"], true, "{report}");
    for stage in ["build", "sbom", "scan", "sign", "attest-sbom", "verify"] {
        let status = report["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == stage)
            .map(|s| s["status"].clone());
        assert_eq!(status, Some(Value::from("passed")), "{stage}: {report}");
    }
    assert!(
        report["signer"]
            .as_str()
            .unwrap()
            .starts_with("key sha256:"),
        "{report}"
    );
    let pinned = format!(
        "{}@{}",
        image.trim_end_matches(":v1"),
        report["digest"].as_str().unwrap()
    );
    let cosign = Peer::new("cosign");
    let common = [
        "--key",
        &public,
        "--insecure-ignore-tlog",
        "--offline",
        "--allow-http-registry",
    ];
    cosign.ok(&[&["verify", &pinned][..], &common].concat());
    cosign.ok(&[
        &["verify-attestation", &pinned, "--type", "spdxjson"][..],
        &common,
    ]
    .concat());
    let attested = ok(&[
        "verify-attestation",
        &pinned,
        "--type",
        "spdxjson",
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "-o",
        "json",
    ]);
    assert!(attested.contains("SPDX-2.3"), "{attested}");
    // A different key is refused: the signatures are the token's.
    let other = hsm.path("other");
    ok(&["generate-key-pair", "--output-key-prefix", &other]);
    let said = common::fails_with(
        3,
        &[
            "verify",
            &pinned,
            "--insecure-ignore-tlog",
            "--key",
            &format!("{other}.pub"),
        ],
    );
    assert!(said.contains("FAILED"), "{said}");
}

/// Kyverno `keys.kms` and ClusterImagePolicy `key.kms` take the same `pkcs11:` references as
/// `--key`: the token's public key admits the image it signed and refuses one signed by
/// another key; KMS schemes vouch does not implement, and paths, are refused at load time.
#[test]
fn policies_verify_with_kms_references_to_the_token() {
    let hsm = SoftHsm::new("K");
    let key = uri("K", "admission", None);
    hsm.ok(&[
        "generate-key-pair",
        "--kms",
        &key,
        "--pin",
        PIN,
        "--output-key-prefix",
        &hsm.path("admission"),
    ]);
    let registry = RegistryServer::start();
    let signed = push_image(&registry, hsm.dir.path(), "acme/by-token");
    // Both schemes: Kyverno's SigstoreBundle reads the referrer, policy-controller the tag.
    let args = [
        "sign",
        &signed,
        "--key",
        &key,
        "--pin",
        PIN,
        "--signature-format",
        "both",
    ];
    check_ok(&hsm.vouch(&args), &args);
    let other = push_image(&registry, hsm.dir.path(), "acme/by-file");
    let file_key = hsm.path("file");
    ok(&["generate-key-pair", "--output-key-prefix", &file_key]);
    ok(&[
        "sign",
        &other,
        "--key",
        &format!("{file_key}.key"),
        "--signature-format",
        "both",
    ]);

    let pod = |name: &str, image: &str| {
        let path = hsm.path(&format!("pod-{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: prod}}\nspec:\n  containers:\n  - name: app\n    image: {image}\n"
            ),
        )
        .unwrap();
        path
    };
    let (good, bad) = (pod("good", &signed), pod("bad", &other));
    let host = &registry.host;
    let kyverno = |kms: &str| {
        format!(
            r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: token-signed
spec:
  rules:
  - name: verify
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - failureAction: Enforce
      type: SigstoreBundle
      imageReferences: ["{host}/acme/*"]
      attestors:
      - entries:
        - keys:
            kms: "{kms}"
            rekor: {{ignoreTlog: true}}
"#
        )
    };
    let cip = |kms: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: token-signed}}\nspec:\n  images:\n  - glob: \"{host}/acme/**\"\n  authorities:\n  - name: token\n    key:\n      kms: \"{kms}\"\n"
        )
    };
    for (kind, policy) in [("kyverno", kyverno(&key)), ("cip", cip(&key))] {
        let path = hsm.path(&format!("{kind}.yaml"));
        std::fs::write(&path, policy).unwrap();
        let apply = |pod: &str| hsm.vouch(&["policy", "apply", &path, "-r", pod]);
        let out = apply(&good);
        assert!(out.status.success(), "{kind}: {}", text(&out));
        assert!(text(&out).contains("pass"), "{kind}: {}", text(&out));
        let out = apply(&bad);
        assert!(!out.status.success(), "{kind}: {}", text(&out));
        assert!(text(&out).contains("fail"), "{kind}: {}", text(&out));
    }
    // Refused at load time, naming the field and the reason.
    for (kms, reason) in [
        (
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
            "not supported yet: gcpkms://",
        ),
        (
            "/etc/keys/cosign.pub",
            "is not a KMS or PKCS#11 key reference",
        ),
    ] {
        for (kind, policy, field) in [
            ("kyverno", kyverno(kms), "keys.kms"),
            ("cip", cip(kms), "key.kms"),
        ] {
            let path = hsm.path(&format!("{kind}-refused.yaml"));
            std::fs::write(&path, policy).unwrap();
            let out = hsm.vouch(&["policy", "apply", &path, "-r", &good]);
            let said = text(&out);
            assert_eq!(out.status.code(), Some(1), "{kind} {kms}: {said}");
            assert!(
                said.contains(field) && said.contains(reason),
                "{kind} {kms}: {said}"
            );
        }
    }
}
