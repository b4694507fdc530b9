//! `vouch trust update|show` against TUF repositories made by python-tuf (the reference
//! implementation, `tests/data/tuf/tuf_repo.py`) and served on loopback by Python's
//! http.server; and the trust every verifying command resolves (flags, then the TUF cache,
//! then the built-in public-good root), checked with real Sigstore bundles.
//!
//! Each attack (expired timestamp, expired snapshot, rollback, mix-and-match, target hash,
//! root signed below threshold) must be refused with exit 3 naming the check, and leave the
//! trust in use exactly as the last good update stored it.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{text, vouch_cmd};
use serde_json::Value;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Sigstore test vectors of vouch-sign (sigstore-python's, Apache-2.0, LICENSE beside them).
fn sign_data(rel: &str) -> String {
    data("../sign/tests/data")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

const STAGING_ROOT: &str = "trust-roots/staging.trusted_root.json";
const PUBLIC_GOOD_ROOT: &str = "trust-roots/public-good.trusted_root.json";

/// `vouch ARGS` with its own user cache directory.
fn vouch_in(cache: &Path, args: &[&str]) -> Output {
    vouch_cmd(args)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap()
}

fn ok_in(cache: &Path, args: &[&str]) -> Output {
    let out = vouch_in(cache, args);
    assert!(out.status.success(), "vouch {args:?}:\n{}", text(&out));
    out
}

fn json_in(cache: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_slice(&ok_in(cache, &all).stdout).unwrap()
}

/// A python-tuf repository in a temporary directory, served by `python -m http.server`.
struct Repo {
    work: tempfile::TempDir,
    server: Child,
    url: String,
}

impl Repo {
    fn new(targets: &[(&str, &str)]) -> Self {
        let work = tempfile::tempdir().unwrap();
        let repo = Self::python_tuf(work.path(), "init", targets, &[]);
        let port = vouch_testkit::free_port();
        std::fs::create_dir_all(work.path().join("repo")).unwrap();
        let server = Command::new(vouch_testkit::venv_tool("python"))
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(work.path().join("repo"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        drop(repo);
        // Ready once it accepts connections (bounded: 200 tries, 50 ms apart).
        let mut ready = false;
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                ready = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(ready, "python http.server did not start on port {port}");
        Self {
            work,
            server,
            url: format!("http://127.0.0.1:{port}/"),
        }
    }

    fn python_tuf(work: &Path, cmd: &str, targets: &[(&str, &str)], extra: &[&str]) -> String {
        let mut c = Command::new(vouch_testkit::venv_tool("python"));
        c.arg(data("tests/data/tuf/tuf_repo.py")).arg(cmd).arg(work);
        for (name, file) in targets {
            c.arg("--target").arg(format!("{name}={file}"));
        }
        c.args(extra);
        vouch_testkit::run(&mut c)
    }

    fn run(&self, cmd: &str, targets: &[(&str, &str)], extra: &[&str]) {
        Self::python_tuf(self.work.path(), cmd, targets, extra);
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work.path().join(rel)
    }

    fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.path("state.json")).unwrap()).unwrap()
    }

    fn root(&self) -> String {
        self.path("root.json").to_string_lossy().into_owned()
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `trust show` output without the age, which moves with the clock.
fn without_age(show: &Value) -> Value {
    let mut v = show.clone();
    if let Some(source) = v["source"].as_object_mut() {
        source.remove("ageSeconds");
    }
    v
}

/// Runs an update that must be refused: exit 3, the check named, the trust unchanged.
fn refused(cache: &Path, repo: &Repo, check: &str, before: &Value) {
    let out = vouch_in(cache, &["trust", "update", "--mirror", &repo.url]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "expected a refusal:\n{said}");
    assert!(
        said.contains(check),
        "refusal should name {check:?}:\n{said}"
    );
    assert!(said.contains("unchanged"), "{said}");
    let after = json_in(cache, &["trust", "show"]);
    assert_eq!(
        without_age(&after),
        without_age(before),
        "the trust in use changed after a refused update"
    );
}

/// Verify the staging bundle `bundle_v3.txt` with no trust flags.
fn verify_staging_bundle(cache: &Path) -> Output {
    vouch_in(
        cache,
        &[
            "verify-blob",
            &sign_data("sigstore-python/bundle_v3.txt"),
            "--bundle",
            &sign_data("sigstore-python/bundle_v3.txt.sigstore"),
            "--certificate-identity",
            "william@yossarian.net",
            "--certificate-oidc-issuer",
            "https://github.com/login/oauth",
            "-v",
        ],
    )
}

#[test]
fn update_rotation_and_attacks_keep_the_previous_trust() {
    let staging = sign_data(STAGING_ROOT);
    let public_good = sign_data(PUBLIC_GOOD_ROOT);
    let signing_config = data("../tuf/data/public-good/signing_config.v0.2.json")
        .to_string_lossy()
        .into_owned();
    let repo = Repo::new(&[
        ("trusted_root.json", &staging),
        ("signing_config.v0.2.json", &signing_config),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path();

    // Before any update: the built-in public-good trust, which does not know staging's CA.
    let show = json_in(cache, &["trust", "show"]);
    assert_eq!(show["source"]["type"], "builtin", "{show}");
    let out = verify_staging_bundle(cache);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("trust built into vouch"),
        "{}",
        text(&out)
    );

    // A first update, from python-tuf's root.json.
    let report = json_in(
        cache,
        &[
            "trust",
            "update",
            "--mirror",
            &repo.url,
            "--root",
            &repo.root(),
        ],
    );
    assert_eq!(report["tufVersions"]["root"], 1, "{report}");
    assert_eq!(report["fromCache"], false, "{report}");
    assert_eq!(
        report["targets"]["trusted_root.json"],
        sha256_hex(&std::fs::read(&staging).unwrap())
    );
    assert_eq!(
        report["targets"]["signing_config.v0.2.json"],
        sha256_hex(&std::fs::read(&signing_config).unwrap())
    );
    let staging_json: Value = serde_json::from_slice(&std::fs::read(&staging).unwrap()).unwrap();
    assert_eq!(
        report["trustedRoot"]["certificateAuthorities"],
        staging_json["certificateAuthorities"]
            .as_array()
            .unwrap()
            .len(),
        "{report}"
    );
    let show = json_in(cache, &["trust", "show"]);
    assert_eq!(show["source"]["type"], "cache", "{show}");
    assert_eq!(show["source"]["mirror"], repo.url.as_str(), "{show}");
    // Every verifying command now uses it: the staging bundle verifies with no trust flag.
    let out = verify_staging_bundle(cache);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("trust from TUF"), "{}", text(&out));
    // --trusted-root still wins over the cache.
    let mut args = vec![
        "verify-blob",
        "x",
        "--bundle",
        "x",
        "--certificate-identity",
        "william@yossarian.net",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "-v",
    ];
    let (file, bundle) = (
        sign_data("sigstore-python/bundle_v3.txt"),
        sign_data("sigstore-python/bundle_v3.txt.sigstore"),
    );
    args[1] = &file;
    args[3] = &bundle;
    args.extend(["--trusted-root", &public_good]);
    let out = vouch_in(cache, &args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--trusted-root"), "{}", text(&out));

    // A new trusted root published: the next update takes it, starting from the cached root.
    repo.run("publish", &[("trusted_root.json", &public_good)], &[]);
    let report = json_in(cache, &["trust", "update", "--mirror", &repo.url]);
    assert_eq!(report["fromCache"], true, "{report}");
    assert_eq!(
        report["targets"]["trusted_root.json"],
        sha256_hex(&std::fs::read(&public_good).unwrap())
    );
    assert_eq!(report["tufVersions"]["targets"], 2, "{report}");

    // Root key rotation, signed by 2 of the 3 old root keys and by the new ones.
    repo.run("rotate-root", &[], &["--old-signatures", "2"]);
    let report = json_in(cache, &["trust", "update", "--mirror", &repo.url]);
    assert_eq!(report["tufVersions"]["root"], 2, "{report}");
    let good = json_in(cache, &["trust", "show"]);
    assert_eq!(good["source"]["rootVersion"], 2, "{good}");

    // Expired timestamp (freeze).
    repo.run("publish", &[], &["--expired", "timestamp"]);
    refused(cache, &repo, "expired", &good);
    repo.run("publish", &[], &[]);
    let good = json_in(cache, &["trust", "update", "--mirror", &repo.url]);
    let mut good_show = json_in(cache, &["trust", "show"]);
    assert!(
        good["tufVersions"]["timestamp"].as_u64().unwrap() > 2,
        "{good}"
    );

    // Expired snapshot, expired targets.
    for role in ["snapshot", "targets"] {
        repo.run("publish", &[], &["--expired", role]);
        refused(cache, &repo, "expired", &good_show);
        repo.run("publish", &[], &[]);
        ok_in(cache, &["trust", "update", "--mirror", &repo.url]);
        good_show = json_in(cache, &["trust", "show"]);
    }

    // A timestamp signed by a key the root does not list for it.
    repo.run("publish", &[], &["--timestamp-key", "rogue"]);
    refused(cache, &repo, "signature threshold", &good_show);
    repo.run("publish", &[], &[]);
    ok_in(cache, &["trust", "update", "--mirror", &repo.url]);
    let good_show = json_in(cache, &["trust", "show"]);

    // Rollback: an older timestamp.json, validly signed, served again.
    let old_timestamp = std::fs::read(repo.path("repo/timestamp.json")).unwrap();
    repo.run("publish", &[], &[]);
    ok_in(cache, &["trust", "update", "--mirror", &repo.url]);
    let good_show_2 = json_in(cache, &["trust", "show"]);
    let newer_timestamp = std::fs::read(repo.path("repo/timestamp.json")).unwrap();
    std::fs::write(repo.path("repo/timestamp.json"), &old_timestamp).unwrap();
    refused(cache, &repo, "rollback", &good_show_2);
    std::fs::write(repo.path("repo/timestamp.json"), &newer_timestamp).unwrap();
    assert_ne!(
        without_age(&good_show),
        without_age(&good_show_2),
        "the rollback check needs a newer trust"
    );

    // Mix-and-match: the snapshot lists targets version N, the file N.targets.json holds
    // the (validly signed) targets of version N-1.
    repo.run("publish", &[("trusted_root.json", &staging)], &[]);
    let n = repo.state()["targets"].as_u64().unwrap();
    let older = std::fs::read(repo.path(&format!("repo/{}.targets.json", n - 1))).unwrap();
    let newer = std::fs::read(repo.path(&format!("repo/{n}.targets.json"))).unwrap();
    std::fs::write(repo.path(&format!("repo/{n}.targets.json")), &older).unwrap();
    refused(cache, &repo, "mix-and-match", &good_show_2);
    std::fs::write(repo.path(&format!("repo/{n}.targets.json")), &newer).unwrap();
    ok_in(cache, &["trust", "update", "--mirror", &repo.url]);
    let good_show = json_in(cache, &["trust", "show"]);
    let out = verify_staging_bundle(cache);
    assert!(out.status.success(), "{}", text(&out));

    // Target hash: one byte of the served trusted_root.json changed (same length).
    let digest = sha256_hex(&std::fs::read(&staging).unwrap());
    let target = repo.path(&format!("repo/targets/{digest}.trusted_root.json"));
    let original = std::fs::read(&target).unwrap();
    let mut tampered = original.clone();
    let at = tampered.iter().position(|&b| b == b'A').unwrap();
    tampered[at] = b'B';
    std::fs::write(&target, &tampered).unwrap();
    repo.run("publish", &[], &[]);
    refused(cache, &repo, "target length or hash", &good_show);
    std::fs::write(&target, &original).unwrap();
    ok_in(cache, &["trust", "update", "--mirror", &repo.url]);
    let mut good_show = json_in(cache, &["trust", "show"]);

    // Bad root rotations, each removed again after its refusal: signed by only 1 of the 2
    // required old root keys; by only 1 of the 2 required new ones.
    assert_eq!(good_show["source"]["rootVersion"], 2);
    for args in [["--old-signatures", "1"], ["--new-signatures", "1"]] {
        let state = std::fs::read(repo.path("state.json")).unwrap();
        repo.run("rotate-root", &[], &args);
        refused(cache, &repo, "signature threshold", &good_show);
        std::fs::remove_file(repo.path("repo/3.root.json")).unwrap();
        std::fs::write(repo.path("state.json"), state).unwrap();
        repo.run("publish", &[], &[]);
        ok_in(cache, &["trust", "update", "--mirror", &repo.url]);
        good_show = json_in(cache, &["trust", "show"]);
    }
    assert_eq!(good_show["source"]["rootVersion"], 2, "{good_show}");

    // An expired root at the end of the chain (freeze). Correctly signed, it is persisted as
    // the trusted root (TUF 5.3.8) but refused (5.3.10): only a newer root heals the mirror.
    repo.run("rotate-root", &[], &["--expired"]);
    refused(cache, &repo, "expired", &good_show);
    refused(cache, &repo, "expired", &good_show);
    repo.run("rotate-root", &[], &[]);
    let report = json_in(cache, &["trust", "update", "--mirror", &repo.url]);
    assert_eq!(report["tufVersions"]["root"], 4, "{report}");

    // The cached trust is still what verification uses.
    let out = verify_staging_bundle(cache);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn public_good_bundle_verifies_with_built_in_trust_and_no_network() {
    let cache = tempfile::tempdir().unwrap();
    let file = sign_data("sigstore-python/bundle_v3_github.whl");
    let bundle = sign_data("sigstore-python/bundle_v3_github.whl.sigstore");
    let args = [
        "verify-blob",
        &file,
        "--bundle",
        &bundle,
        "--certificate-identity",
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
        "--certificate-oidc-issuer",
        "https://token.actions.githubusercontent.com",
        "--offline",
        "-v",
    ];
    let out = ok_in(cache.path(), &args);
    let said = text(&out);
    assert!(
        said.contains("public-good trust built into vouch"),
        "{said}"
    );
    // Nothing was written to the cache: no update happened behind the user's back.
    assert!(!cache.path().join("vouch/tuf").exists());
    // The staging trust does not know the public-good CA.
    let mut staging = args.to_vec();
    staging.push("--staging");
    let out = vouch_in(cache.path(), &staging);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("staging trust built into vouch"),
        "{}",
        text(&out)
    );
    // --staging with a trust file is a usage error.
    let mut both = args.to_vec();
    both.extend(["--staging", "--trusted-root", &bundle]);
    assert_eq!(vouch_in(cache.path(), &both).status.code(), Some(2));

    let show = json_in(cache.path(), &["trust", "show"]);
    assert_eq!(show["source"]["type"], "builtin");
    assert_eq!(show["source"]["instance"], "public-good");
    assert!(
        show["trustedRoot"]["tlogs"].as_u64().unwrap() >= 1,
        "{show}"
    );
    let show = json_in(cache.path(), &["trust", "show", "--staging"]);
    assert_eq!(show["source"]["instance"], "staging");
}

#[test]
fn corrupt_cache_fails_closed() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("vouch/tuf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("public-good.json"),
        br#"{"mirror":"https://tuf-repo-cdn.sigstore.dev/"}"#,
    )
    .unwrap();
    // The pointer names a mirror whose state is missing: an error, not the built-in trust.
    let out = vouch_in(
        cache.path(),
        &[
            "verify-blob",
            &sign_data("sigstore-python/bundle_v3_github.whl"),
            "--bundle",
            &sign_data("sigstore-python/bundle_v3_github.whl.sigstore"),
            "--certificate-identity-regexp",
            ".",
            "--certificate-oidc-issuer-regexp",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("trust cache"), "{}", text(&out));
    let out = vouch_in(cache.path(), &["trust", "show"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn unreachable_mirror_is_an_error_and_keeps_the_trust() {
    let cache = tempfile::tempdir().unwrap();
    let port = vouch_testkit::free_port();
    let out = vouch_in(
        cache.path(),
        &[
            "trust",
            "update",
            "--mirror",
            &format!("http://127.0.0.1:{port}/"),
            "--registry-retry-budget",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("unchanged"), "{}", text(&out));
    let show = json_in(cache.path(), &["trust", "show"]);
    assert_eq!(show["source"]["type"], "builtin");
    // Plain HTTP to anything but loopback is refused before any connection.
    let out = vouch_in(
        cache.path(),
        &["trust", "update", "--mirror", "http://tuf.example.com/"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("plain HTTP"), "{}", text(&out));
}

/// policy apply and policy test take their trust from the same resolution (their flags come
/// from the same struct): -v names it, --staging picks staging, --staging with a trust file
/// is a usage error.
#[test]
fn policy_commands_resolve_trust_the_same_way() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let template =
        std::fs::read_to_string(data("../policy/tests/data/seed/policy-keyless.yaml")).unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        template
            .replace("REGISTRY", "localhost:1")
            .replace("SUBJECT_REGEXP", "^ci@example\\\\.com$")
            .replace("SUBJECT", "ci@example.com")
            .replace("ISSUER", "https://issuer.example")
            .replace("REKOR_URL", "https://rekor.example"),
    )
    .unwrap();
    let pods = dir.path().join("pods.yaml");
    std::fs::write(
        &pods,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: default}\nspec:\n  containers:\n  - {name: app, image: \"localhost:1/app:1\"}\n",
    )
    .unwrap();
    let (policy, pods) = (policy.to_str().unwrap(), pods.to_str().unwrap());
    let out = vouch_in(cache.path(), &["policy", "apply", policy, "-r", pods, "-v"]);
    assert!(
        text(&out).contains("vouch: trust: public-good trust built into vouch"),
        "{}",
        text(&out)
    );
    let out = vouch_in(
        cache.path(),
        &["policy", "apply", policy, "-r", pods, "-v", "--staging"],
    );
    assert!(
        text(&out).contains("vouch: trust: staging trust built into vouch"),
        "{}",
        text(&out)
    );
    let out = vouch_in(
        cache.path(),
        &[
            "policy",
            "apply",
            policy,
            "-r",
            pods,
            "--staging",
            "--trusted-root",
            pods,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = vouch_in(cache.path(), &["admission", "serve", "--help"]);
    assert!(text(&out).contains("--staging") && text(&out).contains("--trusted-root"));
}
