//! Keyless signing end to end against a running private instance: `vouch instance serve` as a
//! process with sigstore-python 4.x as the peer (both directions), and an in-process instance
//! with a real registry for image signatures and SBOM attestations, verified by identity and
//! issuer before and after the instance is stopped.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{check_ok, fails_with, ok, vouch, vouch_cmd};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};
use vouch_testkit::{RegistryServer, free_port, umoci_image, venv_tool};

/// `vouch instance serve` as a child process, killed on drop.
struct Served {
    child: Child,
    oidc: String,
    tsa: String,
    trust_config: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Served {
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let (ca, log, oidc, tsa) = (free_port(), free_port(), free_port(), free_port());
    let mut child = vouch_cmd(&[
        "instance",
        "serve",
        dir.to_str().unwrap(),
        "--dev-oidc",
        "--listen-ca",
        &addr(ca),
        "--listen-log",
        &addr(log),
        "--listen-oidc",
        &addr(oidc),
        "--listen-tsa",
        &addr(tsa),
        "-o",
        "json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    // The JSON report is printed once everything listens.
    let report = common::read_json_report(child.stdout.take().unwrap());
    assert_eq!(report["caUrl"], format!("http://{}", addr(ca)));
    assert_eq!(report["logUrl"], format!("http://{}", addr(log)));
    assert_eq!(report["tsaUrl"], format!("http://{}", addr(tsa)));
    Served {
        child,
        oidc: report["oidcUrl"].as_str().unwrap().to_owned(),
        tsa: report["tsaUrl"].as_str().unwrap().to_owned(),
        trust_config: PathBuf::from(report["trustConfig"].as_str().unwrap()),
    }
}

/// `verify-blob -o json` checked the certificate at an RFC 3161 time from vouch's TSA.
fn assert_tsa_time(report: &Value) {
    let text = report.to_string();
    let sources = report
        .pointer("/evidence/timeSources")
        .or_else(|| report.pointer("/timeSources"))
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no timeSources: {text}"));
    assert!(
        sources.iter().any(|s| s["source"] == "rfc3161"
            && s["authority"] == "CN=vouch timestamping,O=vouch"
            && s["time"].as_u64().is_some()),
        "{text}"
    );
}

/// How many RFC 3161 timestamps of `bundle` sigstore-python's `Verifier` accepts as verified
/// times against the trusted root of `trust_config` (`Verifier._establish_time`, source
/// TIMESTAMP_AUTHORITY).
fn python_tsa_times(trust_config: &str, bundle: &Path) -> usize {
    const SCRIPT: &str = "
import sys
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier
from sigstore._internal.timestamp import TimestampSource
config = ClientTrustConfig.from_json(open(sys.argv[1]).read())
bundle = Bundle.from_json(open(sys.argv[2], 'rb').read())
times = Verifier(trusted_root=config.trusted_root)._establish_time(bundle)
print(sum(1 for t in times if t.source == TimestampSource.TIMESTAMP_AUTHORITY))
";
    let out = Command::new(venv_tool("python3"))
        .args(["-c", SCRIPT, trust_config, bundle.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore-python Verifier: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn sigstore(args: &[&str]) -> Output {
    Command::new(venv_tool("sigstore"))
        .args(args)
        .env_remove("SIGSTORE_IDENTITY_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .output()
        .unwrap()
}

#[test]
fn sigstore_python_signs_against_the_instance_and_verifies_vouch_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("instance");
    let served = serve(&inst);
    let tc = served.trust_config.to_str().unwrap().to_owned();
    let trust: Value = serde_json::from_slice(&std::fs::read(&tc).unwrap()).unwrap();
    assert_eq!(
        trust["signingConfig"]["tsaUrls"][0]["url"],
        format!("{}/api/v1/timestamp", served.tsa)
    );
    assert_eq!(
        trust["trustedRoot"]["timestampAuthorities"][0]["uri"],
        served.tsa.as_str()
    );
    let email = vouch_instance::DEFAULT_EMAIL;
    let token = ok(&["instance", "token", inst.to_str().unwrap()])
        .trim()
        .to_owned();

    // sigstore-python signs with vouch's trust config against the running instance...
    let file = dir.path().join("by-python.txt");
    std::fs::write(&file, b"signed by sigstore-python\n").unwrap();
    let py_bundle = dir.path().join("by-python.sigstore.json");
    let out = sigstore(&[
        "--trust-config",
        &tc,
        "sign",
        "--identity-token",
        &token,
        "--bundle",
        py_bundle.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "sigstore sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and vouch verifies its bundle by identity and issuer, offline.
    let verify = |artifact: &Path, bundle: &Path, identity: &str, issuer: &str| -> Vec<String> {
        [
            "verify-blob",
            artifact.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            "--trust-config",
            &tc,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let args = verify(&file, &py_bundle, email, &served.oidc);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = ok(&args);
    assert!(text.contains("Verified OK"), "{text}");
    // The signing config lists vouch's TSA: sigstore-python's bundle carries its timestamp,
    // and vouch checked the certificate at that time.
    let py: Value = serde_json::from_slice(&std::fs::read(&py_bundle).unwrap()).unwrap();
    assert_eq!(
        py["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{py}"
    );
    assert_eq!(python_tsa_times(&tc, &py_bundle), 1);
    let mut json_args = args.clone();
    json_args.extend(["-o", "json"]);
    let report: Value = serde_json::from_str(&ok(&json_args)).unwrap();
    assert_tsa_time(&report);
    for (identity, issuer, check) in [
        ("mallory@vouch.invalid", served.oidc.as_str(), "identity"),
        (
            email,
            "https://token.actions.githubusercontent.com",
            "OIDC issuer",
        ),
    ] {
        let args = verify(&file, &py_bundle, identity, issuer);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = fails_with(3, &args);
        assert!(text.contains(&format!("FAILED  {check}")), "{text}");
    }

    // vouch signs keyless (token from the loopback dev issuer named in the trust config)...
    let mine = dir.path().join("by-vouch.txt");
    std::fs::write(&mine, b"signed by vouch\n").unwrap();
    let my_bundle = dir.path().join("by-vouch.sigstore.json");
    let report: Value = serde_json::from_str(&ok(&[
        "sign-blob",
        mine.to_str().unwrap(),
        "--keyless",
        "--trust-config",
        &tc,
        "--bundle",
        my_bundle.to_str().unwrap(),
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(report["certificateIdentity"], email);
    assert_eq!(report["certificateOidcIssuer"], served.oidc.as_str());
    let bundle: Value = serde_json::from_slice(&std::fs::read(&my_bundle).unwrap()).unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert!(bundle["verificationMaterial"]["certificate"]["rawBytes"].is_string());
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"],
        json!({"kind": "hashedrekord", "version": "0.0.1"})
    );
    // vouch's keyless client asked the TSA the signing config lists for a timestamp.
    let stamps = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .unwrap();
    assert_eq!(stamps.len(), 1);
    let args = verify(&mine, &my_bundle, email, &served.oidc);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["-o", "json"]);
    let report: Value = serde_json::from_str(&ok(&args)).unwrap();
    assert_tsa_time(&report);
    // One byte of the timestamp changed (the last byte of its CMS signature): vouch and
    // sigstore-python both refuse the bundle.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut der = b64
        .decode(stamps[0]["signedTimestamp"].as_str().unwrap())
        .unwrap();
    *der.last_mut().unwrap() ^= 0x01;
    let mut tampered = bundle.clone();
    tampered["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] =
        json!(b64.encode(&der));
    let tampered_path = dir.path().join("tampered-timestamp.sigstore.json");
    std::fs::write(&tampered_path, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let args = verify(&mine, &tampered_path, email, &served.oidc);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = fails_with(3, &args);
    assert!(text.contains("FAILED  RFC 3161 timestamp"), "{text}");
    // sigstore-python's verifier counts vouch's timestamp as a verified time, and not once a
    // byte of it changed. (Its `verify` CLI then still passes on the Rekor v1 integrated time:
    // `Verifier._verify_timestamp_authority` drops a timestamp that fails instead of failing
    // the bundle; vouch requires every timestamp to verify.)
    assert_eq!(python_tsa_times(&tc, &my_bundle), 1);
    assert_eq!(python_tsa_times(&tc, &tampered_path), 0);
    // ...and sigstore-python accepts it offline; a wrong identity fails there too.
    let py_verify = |identity: &str| {
        sigstore(&[
            "--trust-config",
            &tc,
            "verify",
            "identity",
            "--offline",
            "--bundle",
            my_bundle.to_str().unwrap(),
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            &served.oidc,
            mine.to_str().unwrap(),
        ])
    };
    let out = py_verify(email);
    assert!(
        out.status.success(),
        "sigstore verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = py_verify("mallory@vouch.invalid");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SANs do not match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // DSSE both ways: a sigstore-python attestation (Rekor `dsse` entry) verifies in vouch,
    // and a vouch keyless statement bundle verifies in sigstore-python.
    let predicate = dir.path().join("provenance.json");
    std::fs::write(
        &predicate,
        br#"{"buildDefinition":{"buildType":"https://example.com/build","externalParameters":{}},
            "runDetails":{"builder":{"id":"https://example.com/builder"}}}"#,
    )
    .unwrap();
    let py_att = dir.path().join("by-python.att.sigstore.json");
    let out = sigstore(&[
        "--trust-config",
        &tc,
        "attest",
        "--identity-token",
        &token,
        "--predicate",
        predicate.to_str().unwrap(),
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--bundle",
        py_att.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "sigstore attest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = verify(&file, &py_att, email, &served.oidc);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&args);

    let config =
        vouch_keyless::TrustConfig::from_file(&served.trust_config, &Default::default()).unwrap();
    let signer = vouch_keyless::KeylessSigner::new(config).unwrap();
    let session = signer
        .certify(
            &vouch_keyless::IdentityToken::parse(&token, vouch_keyless::TokenSource::Flag).unwrap(),
        )
        .unwrap();
    let digest = vouch_oci::Digest::sha256(&std::fs::read(&mine).unwrap());
    let statement = vouch_sign::intoto::Statement::new(
        vec![vouch_sign::intoto::Subject::sha256(
            "by-vouch.txt",
            digest.hex(),
        )],
        "https://slsa.dev/provenance/v1",
        serde_json::from_slice(&std::fs::read(&predicate).unwrap()).unwrap(),
    );
    let my_att = dir.path().join("by-vouch.att.sigstore.json");
    std::fs::write(
        &my_att,
        session.sign_statement(&statement).unwrap().to_json(),
    )
    .unwrap();
    let out = sigstore(&[
        "--trust-config",
        &tc,
        "verify",
        "identity",
        "--offline",
        "--bundle",
        my_att.to_str().unwrap(),
        "--cert-identity",
        email,
        "--cert-oidc-issuer",
        &served.oidc,
        mine.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "sigstore verify (DSSE): {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // SIGTERM stops `instance serve` cleanly (exit 0).
    let status = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut served = served;
    assert!(served.child.wait().unwrap().success());
}

/// An image pushed to `registry` at `repo:tag`; returns the reference and its digest.
fn push_image(registry: &RegistryServer, dir: &Path, repo: &str) -> (String, String) {
    let layout = umoci_image(dir, "v1", &[&[("etc/app.conf", b"keyless\n")]]);
    let reference = format!("{}/{repo}:v1", registry.host);
    let copied: Value = serde_json::from_str(&ok(&[
        "image",
        "copy",
        &format!("oci:{}:v1", layout.display()),
        &reference,
        "-o",
        "json",
    ]))
    .unwrap();
    (reference, copied["digest"].as_str().unwrap().to_owned())
}

#[test]
fn keyless_image_signature_and_sbom_attestation_verify_by_identity_also_offline() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let running =
        vouch_instance::Instance::start(dir.path().join("instance"), &Default::default()).unwrap();
    let tc = running.trust_config_path().to_str().unwrap().to_owned();
    let root = running.trusted_root_path().to_str().unwrap().to_owned();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let (image, digest) = push_image(&registry, dir.path(), "keyless/app");

    // sign: token from the dev issuer the trust config names; both storage schemes.
    let report: Value = serde_json::from_str(&ok(&[
        "sign",
        &image,
        "--keyless",
        "--trust-config",
        &tc,
        "--signature-format",
        "both",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(report["certificateIdentity"], email.as_str());
    assert_eq!(report["stored"].as_array().unwrap().len(), 2, "{report}");

    // attest an SBOM: token from SIGSTORE_ID_TOKEN, trust config from VOUCH_TRUST_CONFIG.
    let sbom = dir.path().join("sbom.spdx.json");
    std::fs::write(
        &sbom,
        br#"{"spdxVersion":"SPDX-2.3","name":"app","packages":[]}"#,
    )
    .unwrap();
    let attest_args = [
        "attest",
        image.as_str(),
        "--keyless",
        "--predicate",
        sbom.to_str().unwrap(),
        "--type",
        "spdxjson",
        "--signature-format",
        "both",
    ];
    let out = vouch_cmd(&attest_args)
        .env("SIGSTORE_ID_TOKEN", running.token().unwrap())
        .env("VOUCH_TRUST_CONFIG", &tc)
        .output()
        .unwrap();
    check_ok(&out, &attest_args);

    // The legacy layers carry cosign's keyless annotations.
    let hex = digest.trim_start_matches("sha256:");
    let registry_client = vouch_oci::Registry::open(
        &vouch_oci::Reference::parse(&image).unwrap(),
        &vouch_oci::RegistryOptions::default(),
        false,
    )
    .unwrap();
    for suffix in ["sig", "att"] {
        let raw = vouch_oci::ImageSource::manifest(
            &registry_client,
            &vouch_oci::Selector::Tag(format!("sha256-{hex}.{suffix}")),
        )
        .unwrap();
        let manifest: Value = serde_json::from_slice(&raw.bytes).unwrap();
        let annotations = &manifest["layers"][0]["annotations"];
        assert!(
            annotations["dev.sigstore.cosign/certificate"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----"),
            "{manifest}"
        );
        assert_eq!(
            annotations["dev.sigstore.cosign/chain"]
                .as_str()
                .unwrap()
                .matches("BEGIN CERTIFICATE")
                .count(),
            2
        );
        let rekor: Value =
            serde_json::from_str(annotations["dev.sigstore.cosign/bundle"].as_str().unwrap())
                .unwrap();
        assert!(rekor["SignedEntryTimestamp"].is_string(), "{rekor}");
        assert!(rekor["Payload"]["integratedTime"].is_u64(), "{rekor}");
    }

    let verify_all = |when: &str| {
        let report: Value = serde_json::from_str(&ok(&[
            "verify",
            &image,
            "--certificate-identity",
            &email,
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &root,
            "-o",
            "json",
        ]))
        .unwrap();
        let sigs = report["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 2, "{when}: {report}");
        assert!(
            sigs.iter().all(|s| s["verified"] == true),
            "{when}: {report}"
        );
        let report: Value = serde_json::from_str(&ok(&[
            "verify-attestation",
            &image,
            "--type",
            "spdxjson",
            "--certificate-identity-regexp",
            "^dev@vouch\\.invalid$",
            "--certificate-oidc-issuer",
            &issuer,
            "--trust-config",
            &tc,
            "-o",
            "json",
        ]))
        .unwrap();
        let atts = report["signatures"].as_array().unwrap();
        assert_eq!(atts.len(), 2, "{when}: {report}");
        for a in atts {
            assert_eq!(a["verified"], true, "{when}: {a}");
            assert_eq!(a["payload"]["predicateType"], "https://spdx.dev/Document");
            assert_eq!(a["payload"]["subject"][0]["digest"]["sha256"], hex);
        }
    };
    verify_all("instance running");

    // Negative: wrong identity, wrong issuer.
    let text = fails_with(
        3,
        &[
            "verify",
            &image,
            "--certificate-identity",
            "mallory@vouch.invalid",
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &root,
        ],
    );
    assert!(text.contains("FAILED  identity"), "{text}");
    let text = fails_with(
        3,
        &[
            "verify-attestation",
            &image,
            "--type",
            "spdxjson",
            "--certificate-identity",
            &email,
            "--certificate-oidc-issuer-regexp",
            "^https://accounts\\.google\\.com$",
            "--trusted-root",
            &root,
        ],
    );
    assert!(text.contains("FAILED  OIDC issuer"), "{text}");

    // Offline: the instance is stopped; verification needs no service.
    running.stop();
    verify_all("instance stopped");
}

#[test]
fn expired_and_foreign_tokens_are_refused_by_the_ca_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let running =
        vouch_instance::Instance::start(dir.path().join("instance"), &Default::default()).unwrap();
    let tc = running.trust_config_path().to_str().unwrap().to_owned();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"x").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = running.dev_issuer().unwrap().mint_claims(&json!({
        "iss": running.oidc_url().unwrap(), "sub": "s", "aud": "sigstore",
        "email": running.email(), "email_verified": true,
        "iat": now - 4000, "exp": now - 3600}));
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &expired).unwrap();
    let out = vouch(&[
        "sign-blob",
        file.to_str().unwrap(),
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &format!("@{}", token_file.display()),
        "--bundle",
        dir.path().join("b.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused (HTTP 401)") && stderr.contains("exp"),
        "{stderr}"
    );
    assert!(!dir.path().join("b.json").exists());

    // Without any token source (no dev issuer in a non-loopback config) the error says how.
    let out = vouch(&[
        "sign-blob",
        file.to_str().unwrap(),
        "--keyless",
        "--bundle",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--trust-config"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The seed's scenario, offline: a GitHub-Actions-shaped RS256 token for acme/api (minted by
/// `vouch instance token --github-workflow`) signs an image; verification by the workflow
/// identity and `--certificate-github-workflow-repository acme/api` passes, `evil/api` fails,
/// and an image signed by evil/api's workflow fails the acme identity.
#[test]
fn github_workflow_identity_signs_and_verifies_by_repository() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let instance_dir = dir.path().join("instance");
    let running = vouch_instance::Instance::start(&instance_dir, &Default::default()).unwrap();
    let tc = running.trust_config_path().to_str().unwrap().to_owned();
    let root = running.trusted_root_path().to_str().unwrap().to_owned();
    let github_issuer = format!("{}/github-actions", running.oidc_url().unwrap());
    let token = |workflow: &str| {
        ok(&[
            "instance",
            "token",
            instance_dir.to_str().unwrap(),
            "--github-workflow",
            workflow,
        ])
        .trim()
        .to_owned()
    };
    let acme = token("acme/api/.github/workflows/release.yml@refs/heads/main");
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            acme.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256", "GitHub signs RS256");

    let (image, _) = push_image(&registry, dir.path(), "acme/api");
    let (evil_image, _) = push_image(&registry, dir.path(), "evil/api");
    let report: Value = serde_json::from_str(&ok(&[
        "sign",
        &image,
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &acme,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        report["certificateIdentity"],
        "https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main"
    );
    let evil = token("evil/api/.github/workflows/release.yml@refs/heads/main");
    ok(&[
        "sign",
        &evil_image,
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &evil,
    ]);

    let verify = |image: &str, repository: &str| {
        vouch(&[
            "verify",
            image,
            "--certificate-identity-regexp",
            "^https://github.com/acme/",
            "--certificate-oidc-issuer",
            &github_issuer,
            "--certificate-github-workflow-repository",
            repository,
            "--trusted-root",
            &root,
            "-o",
            "json",
        ])
    };
    let out = verify(&image, "acme/api");
    assert!(out.status.success(), "{}", common::text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["verified"] == true),
        "{report}"
    );
    // sigstore-python accepts a blob bundle by the workflow URI and GitHub issuer extensions.
    let blob = dir.path().join("release.tar.gz");
    std::fs::write(&blob, b"release\n").unwrap();
    let blob_bundle = dir.path().join("release.sigstore.json");
    ok(&[
        "sign-blob",
        blob.to_str().unwrap(),
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &acme,
        "--bundle",
        blob_bundle.to_str().unwrap(),
    ]);
    let py_verify = |identity: &str| {
        sigstore(&[
            "--trust-config",
            &tc,
            "verify",
            "identity",
            "--offline",
            "--bundle",
            blob_bundle.to_str().unwrap(),
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            &github_issuer,
            blob.to_str().unwrap(),
        ])
    };
    let out =
        py_verify("https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main");
    assert!(
        out.status.success(),
        "sigstore verify: {}",
        common::text(&out)
    );
    let out =
        py_verify("https://github.com/evil/api/.github/workflows/release.yml@refs/heads/main");
    assert!(
        !out.status.success(),
        "evil identity accepted by sigstore-python"
    );

    for (image, repository, why) in [
        (&image, "evil/api", "repository extension says acme/api"),
        (&evil_image, "evil/api", "SAN is evil's workflow"),
        (&evil_image, "acme/api", "SAN and repository are evil's"),
    ] {
        let out = verify(image, repository);
        assert_eq!(out.status.code(), Some(3), "{why}: {}", common::text(&out));
    }
}
