//! `scripts/image`: vouch builds, scans, signs and attests its own webhook image, which then
//! runs. The script runs against a real docker-registry with this build's binary (stripped, to
//! bound the layer's size) on the debootstrap base it caches in ~/.cache/vouch/image-base
//! (debootstrap runs once, as root, ~1-3 min). Then: `vouch verify --key` of the pushed image
//! with the script's key passes, and fails for another key and for a tampered manifest that
//! inherits the signature's referrers; the SBOM attestation verifies and lists the base's
//! Debian packages; the same inputs give the same digest; and the image's rootfs, unpacked
//! by umoci, runs the webhook as the image's user (chroot, uid 65532) with the image's
//! entrypoint and environment, on the image's own libc: real AdmissionReviews over HTTPS
//! are allowed for the signed image and denied for an unsigned one and for the tampered one.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{PASSWORD, fails_with, keypair, ok, ok_json, text};

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use vouch_testkit::{RegistryServer, require_tool, umoci_image};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `scripts/image ARGS`, hermetic as `common::vouch_cmd` (no credentials, trust config or
/// signing key from the machine), at a fixed SOURCE_DATE_EPOCH.
fn script(args: &[&str]) -> Output {
    script_with(args, &[])
}

/// `scripts/image ARGS` as [`script`], with `envs` set on top.
fn script_with(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(workspace().join("scripts/image"));
    cmd.args(args)
        .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .env("DOCKER_CONFIG", "/nonexistent")
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("SOURCE_DATE_EPOCH", "1764979200")
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("vouch-tests-cache"),
        );
    for name in [
        "VOUCH_IMAGE_KEY",
        "VOUCH_TRUST_CONFIG",
        "VOUCH_PASSWORD",
        "VOUCH_REGISTRY_CREDS",
        "SIGSTORE_ID_TOKEN",
        "VOUCH_DB",
    ] {
        cmd.env_remove(name);
    }
    cmd.envs(envs.iter().copied()).output().unwrap()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
}

/// The seed's policy (crates/policy/tests/data/seed: signature + SPDX SBOM attestation from
/// a key, `REGISTRY/acme/*`) for `host` and `public_pem`.
fn seed_policy(host: &str, public_pem: &str) -> String {
    let template =
        std::fs::read_to_string(workspace().join("crates/policy/tests/data/seed/policy.yaml"))
            .unwrap();
    let mut out = String::new();
    for line in template.lines() {
        if line.trim() == "PUBLIC_KEY" {
            let indent = &line[..line.len() - line.trim_start().len()];
            for pem_line in public_pem.trim().lines() {
                out.push_str(&format!("{indent}{pem_line}\n"));
            }
        } else {
            out.push_str(&line.replace("REGISTRY", host));
            out.push('\n');
        }
    }
    out
}

/// The webhook started from an unpacked image bundle as its runtime config says: the image's
/// entrypoint (plus the Deployment's args), user and environment, chrooted into its rootfs.
struct Webhook {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Webhook {
    fn start(bundle: &Path, ca: &Path, args: &[&str]) -> Self {
        let config = read_json(&bundle.join("config.json"));
        let process = &config["process"];
        let entrypoint: Vec<&str> = process["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let user = format!("{}:{}", process["user"]["uid"], process["user"]["gid"]);
        let mut cmd = Command::new(require_tool("chroot"));
        cmd.arg(format!("--userspec={user}"))
            .arg(bundle.join("rootfs"))
            .args(&entrypoint)
            .args(args)
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for kv in process["env"].as_array().unwrap() {
            let (k, v) = kv.as_str().unwrap().split_once('=').unwrap();
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.trim().is_empty() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the webhook did not start from the image's rootfs: {}",
                text(&out)
            );
        }
        let pem = std::fs::read(ca).unwrap();
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        let agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            )
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .new_agent();
        Self {
            child,
            base: format!("https://{}", line.trim()),
            agent,
        }
    }

    /// POSTs an AdmissionReview v1 for a pod running `image`; returns the answer.
    fn review(&self, path: &str, image: &str) -> Value {
        let body = std::fs::read_to_string(
            workspace().join("crates/admission/tests/data/reviews/pod-create.json"),
        )
        .unwrap()
        .replace("IMAGE", image);
        let mut resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .send(&body)
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let answer: Value =
            serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(answer["kind"], "AdmissionReview", "{answer}");
        assert_eq!(
            answer["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002",
            "{answer}"
        );
        answer
    }
}

/// Pushes the manifest of `digest`, changed (one more annotation), under `repo:tag`, and
/// copies what points at the original digest to the new one: the referrers' tag-schema index
/// (`sha256-<hex>`, docker-registry having no referrers API) and cosign's legacy `.sig` and
/// `.att` tags. The signature and attestations now "belong" to a manifest they did not sign.
/// Returns the new digest.
fn tamper(host: &str, repo: &str, tag: &str, digest: &str) -> String {
    const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
        application/vnd.oci.image.manifest.v1+json, \
        application/vnd.docker.distribution.manifest.v2+json";
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let get = |reference: &str| -> (String, Vec<u8>) {
        let mut resp = agent
            .get(format!("http://{host}/v2/{repo}/manifests/{reference}"))
            .header("Accept", ACCEPT)
            .call()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "GET {repo}:{reference}");
        let media_type = resp
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        (media_type, resp.body_mut().read_to_vec().unwrap())
    };
    let put = |reference: &str, media_type: &str, body: &[u8]| {
        let resp = agent
            .put(format!("http://{host}/v2/{repo}/manifests/{reference}"))
            .header("Content-Type", media_type)
            .send(body)
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201, "PUT {repo}:{reference}");
        resp.headers()
            .get("docker-content-digest")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    let (media_type, bytes) = get(digest);
    let mut manifest: Value = serde_json::from_slice(&bytes).unwrap();
    manifest["annotations"]["org.opencontainers.image.description"] = "tampered".into();
    let tampered = put(tag, &media_type, &serde_json::to_vec(&manifest).unwrap());
    assert_ne!(tampered, digest);
    for suffix in ["", ".sig", ".att"] {
        let (media_type, bytes) = get(&format!("{}{suffix}", digest.replace(':', "-")));
        put(
            &format!("{}{suffix}", tampered.replace(':', "-")),
            &media_type,
            &bytes,
        );
    }
    tampered
}

#[test]
fn scripts_image_ships_a_signed_webhook_image_that_runs_from_its_own_rootfs() {
    require_tool("debootstrap"); // the base's first build (then cached)
    require_tool("umoci");
    require_tool("objcopy"); // --strip
    assert!(
        Command::new("id").arg("-u").output().unwrap().stdout == b"0\n",
        "scripts/image needs root for debootstrap and this test for chroot (CI runs as root)"
    );
    let registry = RegistryServer::start();
    let host = registry.host.clone();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, public) = keypair(d, "release");
    let (_, other_public) = keypair(d, "other");
    let advisories = workspace().join("crates/vuln/tests/data/osv-dev/records");
    let advisories = advisories.to_str().unwrap();
    let vouch = env!("CARGO_BIN_EXE_vouch");

    // No signer: refused before anything is built.
    let out = script(&[&format!("{host}/acme/vouch:v0"), "--binary", vouch]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no signer: give --key KEY"),
        "{}",
        text(&out)
    );

    // 1. The image, through vouch's own pipeline.
    let reference = format!("{host}/acme/vouch:v1");
    let out_dir = d.join("out");
    let args = [
        reference.as_str(),
        "--binary",
        vouch,
        "--strip",
        "--key",
        &key,
        "--out",
        out_dir.to_str().unwrap(),
        "--",
        "--advisories",
        advisories,
        "--fail-on",
        "critical",
    ];
    let out = script(&args);
    assert!(
        out.status.success(),
        "scripts/image failed:\n{}",
        text(&out)
    );
    let build = read_json(&out_dir.join("build.json"));
    let digest = build["digest"].as_str().unwrap().to_owned();
    let pinned = format!("{reference}@{digest}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().last(),
        Some(build["pinned"].as_str().unwrap())
    );
    let layers = build["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "base + binary: {build}");
    assert!(
        layers[1]["added"]
            .as_str()
            .unwrap()
            .ends_with(":/usr/bin/vouch"),
        "{build}"
    );
    let report = read_json(&out_dir.join("report.json"));
    let stages: Vec<(String, String)> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap_or_default().to_owned(),
                s["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for stage in [
        "sbom",
        "scan",
        "sign",
        "attest-sbom",
        "attest-provenance",
        "verify",
    ] {
        assert!(
            stages.contains(&(stage.to_owned(), "passed".to_owned())),
            "stage {stage} did not pass: {report}"
        );
    }
    // The image config: entrypoint, non-root user, labels.
    let inspect = ok_json(&["image", "inspect", &pinned]);
    let config = &inspect["config"];
    assert_eq!(
        config["entrypoint"],
        serde_json::json!(["/usr/bin/vouch"]),
        "{inspect}"
    );
    assert_eq!(config["user"], "65532:65532", "{inspect}");
    assert_eq!(
        config["created"], "2025-12-06T00:00:00Z",
        "SOURCE_DATE_EPOCH: {inspect}"
    );
    assert!(
        config["labels"]["org.opencontainers.image.base.digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{inspect}"
    );

    // 2. Its signature verifies with the script's key, and no other.
    let verified = ok_json(&[
        "verify",
        &pinned,
        "--key",
        &public,
        "--insecure-ignore-tlog",
    ]);
    assert!(verified.to_string().contains(&digest), "{verified}");
    let said = fails_with(
        3,
        &[
            "verify",
            &pinned,
            "--key",
            &other_public,
            "--insecure-ignore-tlog",
        ],
    );
    assert!(
        said.contains("none of the 2 signatures") && said.contains("signature check failed"),
        "{said}"
    );

    // 3. The SBOM attestation verifies and lists the base's Debian packages.
    let attested = ok(&[
        "verify-attestation",
        &pinned,
        "--key",
        &public,
        "--type",
        "spdxjson",
        "--insecure-ignore-tlog",
        "-o",
        "json",
    ]);
    for package in [
        "\"libc6\"",
        "\"libgcc-s1\"",
        "\"ca-certificates\"",
        "\"base-files\"",
    ] {
        assert!(
            attested.contains(package),
            "{package} not in the SBOM attestation: {attested}"
        );
    }
    let sbom = read_json(&out_dir.join("sbom.spdx.json"));
    let names: Vec<&str> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"libc6") && names.contains(&"libgcc-s1"),
        "{names:?}"
    );

    // 4. Reproducible: the same binary, base and epoch give the same digest (another repo).
    let again_dir = d.join("again");
    let again_ref = format!("{host}/acme/vouch-again:v1");
    let mut again = args.to_vec();
    again[0] = &again_ref;
    again[7] = again_dir.to_str().unwrap();
    let out = script(&again);
    assert!(
        out.status.success(),
        "scripts/image (again) failed:\n{}",
        text(&out)
    );
    assert_eq!(
        read_json(&again_dir.join("build.json"))["digest"],
        digest.as_str()
    );

    // 5. A tampered manifest carrying the signature's referrers is refused.
    let tampered = tamper(&host, "acme/vouch", "v1", &digest);
    let tampered_pinned = format!("{reference}@{tampered}");
    let said = fails_with(
        3,
        &[
            "verify",
            &tampered_pinned,
            "--key",
            &public,
            "--insecure-ignore-tlog",
        ],
    );
    // Both candidates (legacy tag, referrer) are examined and refused over the signed bytes.
    for check in [
        "none of the 2 signatures",
        "payload digest == image digest",
        "digest mismatch",
        "is not a subject of the statement",
    ] {
        assert!(said.contains(check), "{check:?} not in: {said}");
    }

    // 6. The image's rootfs runs the webhook.
    let layout = d.join("layout");
    ok(&[
        "image",
        "copy",
        &pinned,
        &format!("oci:{}:v1", layout.display()),
    ]);
    let bundle = d.join("bundle");
    vouch_testkit::run(
        Command::new("umoci")
            .args(["unpack", "--image", &format!("{}:v1", layout.display())])
            .arg(&bundle),
    );
    let rootfs = bundle.join("rootfs");
    assert!(!rootfs.join("bin/sh").exists(), "a shell in the image");
    // /tmp as in distroless: world-writable with the sticky bit, whatever the caller's umask.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(rootfs.join("tmp"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o1777, "/tmp mode {mode:o}");
        let mode = std::fs::metadata(rootfs.join("etc/passwd"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o644, "/etc/passwd mode {mode:o}");
    }
    // What the Deployment mounts: the policy ConfigMap and the TLS Secret.
    let (ca, cert, tls_key) = common::serving_cert(d);
    let etc = rootfs.join("etc/vouch");
    std::fs::create_dir_all(etc.join("policies")).unwrap();
    std::fs::create_dir_all(etc.join("tls")).unwrap();
    std::fs::write(
        etc.join("policies/policy.yaml"),
        seed_policy(&host, &std::fs::read_to_string(&public).unwrap()),
    )
    .unwrap();
    std::fs::copy(&cert, etc.join("tls/tls.crt")).unwrap();
    std::fs::copy(&tls_key, etc.join("tls/tls.key")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            etc.join("tls/tls.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let unsigned_layout = umoci_image(&d.join("unsigned"), "v1", &[&[("etc/app.conf", b"x")]]);
    let unsigned = format!("{host}/acme/unsigned:v1");
    let copied = ok_json(&[
        "image",
        "copy",
        &format!("oci:{}:v1", unsigned_layout.display()),
        &unsigned,
    ]);
    let unsigned_pinned = format!("{unsigned}@{}", copied["digest"].as_str().unwrap());
    let hook = Webhook::start(
        &bundle,
        &ca,
        &[
            "admission",
            "serve",
            "--policy=/etc/vouch/policies/policy.yaml",
            "--tls-cert=/etc/vouch/tls/tls.crt",
            "--tls-key=/etc/vouch/tls/tls.key",
            "--listen=127.0.0.1:0",
            "--print-address",
        ],
    );
    let signed_pinned = format!("{reference}@{digest}");
    let r = hook.review("/validate", &signed_pinned);
    assert_eq!(r["response"]["allowed"], true, "signed image refused: {r}");
    let r = hook.review("/validate", &unsigned_pinned);
    assert_eq!(
        r["response"]["allowed"], false,
        "unsigned image admitted: {r}"
    );
    assert!(
        r["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains(&unsigned),
        "{r}"
    );
    let r = hook.review("/validate", &tampered_pinned);
    assert_eq!(
        r["response"]["allowed"], false,
        "tampered image admitted: {r}"
    );
    let message = r["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains(&tampered_pinned), "{message}");
    drop(hook);
}

/// "Keyless when configured": with $VOUCH_TRUST_CONFIG set and no key, the script signs with
/// the OIDC identity (a private instance's CA and log); the image verifies for that identity
/// against the instance's trusted root, and not for another identity.
#[test]
fn scripts_image_signs_keylessly_when_a_trust_config_is_set() {
    require_tool("debootstrap");
    require_tool("objcopy");
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = vouch_instance::Instance::start(d.join("instance"), &Default::default()).unwrap();
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let token = running.token().unwrap();
    let trust_config = running.trust_config_path().display().to_string();
    let trusted_root = running.trusted_root_path().display().to_string();
    let advisories = workspace().join("crates/vuln/tests/data/osv-dev/records");
    let reference = format!("{}/acme/vouch-keyless:v1", registry.host);
    let out_dir = d.join("out");
    let out = script_with(
        &[
            &reference,
            "--binary",
            env!("CARGO_BIN_EXE_vouch"),
            "--strip",
            "--out",
            out_dir.to_str().unwrap(),
            "--",
            "--advisories",
            advisories.to_str().unwrap(),
            "--identity-token",
            &token,
            "--certificate-identity",
            &email,
            "--certificate-oidc-issuer",
            &issuer,
        ],
        &[("VOUCH_TRUST_CONFIG", &trust_config)],
    );
    assert!(
        out.status.success(),
        "scripts/image (keyless) failed:\n{}",
        text(&out)
    );
    let report = read_json(&out_dir.join("report.json"));
    assert_eq!(report["signer"], format!("{email} ({issuer})"), "{report}");
    assert_eq!(report["failedStage"], Value::Null, "{report}");
    let digest = read_json(&out_dir.join("build.json"))["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let pinned = format!("{reference}@{digest}");
    ok(&[
        "verify",
        &pinned,
        "--certificate-identity",
        &email,
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &trusted_root,
    ]);
    let said = fails_with(
        3,
        &[
            "verify",
            &pinned,
            "--certificate-identity",
            "mallory@vouch.invalid",
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &trusted_root,
        ],
    );
    assert!(
        said.contains("mallory@vouch.invalid") || said.contains("identity"),
        "{said}"
    );
}

/// With no cached base and no debootstrap on PATH, the script stops before building anything
/// and says how to install it (it never builds on some other base).
#[test]
fn scripts_image_without_debootstrap_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, _) = keypair(d, "release");
    let cache = d.join("cache");
    let out = script_with(
        &[
            "oci:/nonexistent/layout:v1",
            "--binary",
            env!("CARGO_BIN_EXE_vouch"),
            "--key",
            &key,
            "--base-cache",
            cache.to_str().unwrap(),
        ],
        // /usr/bin and /bin only: no /usr/sbin/debootstrap.
        &[("PATH", "/usr/bin:/bin")],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("debootstrap is not installed: apt-get install debootstrap"),
        "{said}"
    );
    assert!(!cache.join("bookworm-amd64-minbase.done").exists());
}
