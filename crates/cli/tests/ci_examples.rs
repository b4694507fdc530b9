//! examples/ci: the GitHub Actions and GitLab CI examples that install vouch from a release
//! binary, verified before it runs. Both files are parsed as YAML and their fields checked
//! (triggers, permissions, the install step, no `cargo install`); then each install script
//! runs as written, with bash as the CI runners run it, against a release directory served
//! over file:// whose binary was signed the way the examples expect (`vouch sign-blob --key`,
//! logged in a transparency log: here a private instance's, whose trusted root stands where
//! the example expects the committed one). It installs a correctly signed release, and
//! installs nothing for a replaced binary, a bundle from another key, a bundle without a log
//! entry, or a verifier whose SHA-256 is not the pinned one.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{PASSWORD, keypair, ok, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const ASSET: &str = "vouch-x86_64-unknown-linux-gnu";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> (String, Value) {
    let path = workspace().join("examples/ci").join(name);
    let yaml = std::fs::read_to_string(&path).unwrap();
    let mut docs =
        vouch_policy::parse_documents(&yaml, name, &vouch_policy::Limits::default()).unwrap();
    assert_eq!(docs.len(), 1, "{name}: one YAML document");
    (yaml, docs.remove(0))
}

fn github() -> (String, Value) {
    example("github-actions.yml")
}

fn gitlab() -> (String, Value) {
    example("gitlab-ci.yml")
}

/// The GitHub install step's script.
fn github_install(doc: &Value) -> String {
    let steps = doc["jobs"]["supply-chain"]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| s["name"] == "Download and verify vouch")
        .unwrap_or_else(|| panic!("no install step in {steps:?}"));
    assert_eq!(step["shell"], "bash");
    step["run"].as_str().unwrap().to_owned()
}

/// The GitLab `.install-vouch` template's script.
fn gitlab_install(doc: &Value) -> String {
    let before = doc[".install-vouch"]["before_script"].as_array().unwrap();
    assert_eq!(before.len(), 1, "one script block: {before:?}");
    before[0].as_str().unwrap().to_owned()
}

#[test]
fn ci_examples_parse_with_their_fields() {
    // (Only the parsed content counts: the comments name what the examples replace.)
    let (_, gh) = github();
    assert!(
        !gh.to_string().contains("cargo install"),
        "github-actions.yml builds from source"
    );
    assert!(gh["on"]["push"].is_object(), "{gh}");
    assert_eq!(gh["permissions"]["contents"], "read");
    assert_eq!(gh["permissions"]["id-token"], "write");
    for var in [
        "VOUCH_RELEASES",
        "VOUCH_VERSION",
        "VOUCH_VERIFIER_VERSION",
        "VOUCH_VERIFIER_SHA256",
        "VOUCH_RELEASE_KEY",
        "VOUCH_RELEASE_TRUSTED_ROOT",
    ] {
        assert!(gh["env"][var].is_string(), "env.{var} in {gh}");
    }
    let job = &gh["jobs"]["supply-chain"];
    assert!(job["runs-on"].is_string());
    let steps = job["steps"].as_array().unwrap();
    assert!(
        steps[0]["uses"]
            .as_str()
            .unwrap()
            .starts_with("actions/checkout@")
    );
    let names: Vec<&str> = steps.iter().filter_map(|s| s["name"].as_str()).collect();
    let install = names.iter().position(|n| *n == "Download and verify vouch");
    let pipeline = names.iter().position(|n| *n == "Pipeline");
    assert!(install.is_some() && install < pipeline, "{names:?}");
    let run = github_install(&gh);
    let verify = run.find("verify-blob").unwrap();
    assert!(run.find("sha256sum --check").unwrap() < verify, "{run}");
    assert!(
        run.find("install -D").unwrap() > verify,
        "installed before verified: {run}"
    );

    // (Only the parsed content counts: the comments name what the examples replace.)
    let (_, gl) = gitlab();
    assert!(
        !gl.to_string().contains("cargo install"),
        "gitlab-ci.yml builds from source"
    );
    assert_eq!(gl["stages"], serde_json::json!(["supply-chain"]));
    for var in [
        "VOUCH_RELEASES",
        "VOUCH_VERSION",
        "VOUCH_VERIFIER_VERSION",
        "VOUCH_VERIFIER_SHA256",
        "VOUCH_RELEASE_KEY",
        "VOUCH_RELEASE_TRUSTED_ROOT",
    ] {
        assert!(gl["variables"][var].is_string(), "variables.{var} in {gl}");
    }
    assert_eq!(gl["vouch"]["extends"], ".install-vouch");
    assert_eq!(gl["vouch"]["stage"], "supply-chain");
    assert_eq!(
        gl["vouch"]["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"],
        "sigstore"
    );
    assert!(
        gl["vouch"]["script"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("vouch pipeline")),
        "{gl}"
    );
    let script = gitlab_install(&gl);
    let verify = script.find("verify-blob").unwrap();
    assert!(
        script.find("sha256sum --check").unwrap() < verify,
        "{script}"
    );
    assert!(script.find("install -D").unwrap() > verify, "{script}");
}

/// A release directory, a checkout with the committed trust, and the runner's directories.
struct Runner {
    dir: PathBuf,
    /// The example's variables, with the release location and verifier pin of this test.
    vars: Vec<(String, String)>,
}

impl Runner {
    fn new(dir: &Path, vars: &Value, verifier_sha256: &str) -> Self {
        let mut v: Vec<(String, String)> = vars
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("VOUCH_"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        for (k, value) in [
            (
                "VOUCH_RELEASES",
                format!("file://{}", dir.join("releases").display()),
            ),
            ("VOUCH_VERIFIER_VERSION", "v0.0.9".to_owned()),
            ("VOUCH_VERIFIER_SHA256", verifier_sha256.to_owned()),
        ] {
            v.retain(|(name, _)| name != k);
            v.push((k.to_owned(), value));
        }
        Self {
            dir: dir.to_owned(),
            vars: v,
        }
    }

    fn var(&self, name: &str) -> &str {
        &self.vars.iter().find(|(k, _)| k == name).unwrap().1
    }

    /// Runs `script` as GitHub runs a `shell: bash` step (`bash --noprofile --norc -eo
    /// pipefail`), with the CI's variables for a fresh runner `name`.
    fn run(&self, name: &str, script: &str, extra: &[(&str, &str)]) -> (Output, PathBuf) {
        let runner = self.dir.join(name);
        std::fs::create_dir_all(runner.join("home")).unwrap();
        std::fs::create_dir_all(runner.join("tmp")).unwrap();
        let file = runner.join("step.sh");
        std::fs::write(&file, script).unwrap();
        let checkout = self.dir.join("checkout");
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(&checkout)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", runner.join("home"))
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("XDG_CACHE_HOME", runner.join("cache"))
            // GitHub Actions
            .env("RUNNER_TEMP", runner.join("tmp"))
            .env("GITHUB_WORKSPACE", &checkout)
            .env("GITHUB_PATH", runner.join("github_path"))
            // GitLab CI
            .env("CI_BUILDS_DIR", runner.join("builds"))
            .env("CI_PROJECT_DIR", &checkout)
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().copied())
            .output()
            .unwrap();
        (out, runner)
    }

    /// Where the release file of `version` lives.
    fn release(&self, version: &str) -> PathBuf {
        self.dir.join("releases").join(version).join(ASSET)
    }
}

fn sha256_of(path: &Path) -> String {
    let out = vouch_testkit::run(Command::new("sha256sum").arg(path));
    out.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn ci_examples_install_vouch_only_when_the_release_signature_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = vouch_instance::Instance::start(d.join("instance"), &Default::default()).unwrap();
    let tc = running.trust_config_path().display().to_string();
    let (key, public) = keypair(d, "release");
    let (other_key, _) = keypair(d, "other");
    let vouch = Path::new(env!("CARGO_BIN_EXE_vouch"));

    // The checkout: the example's trust files, here the test's key and the instance's root.
    let (_, gh) = github();
    let (_, gl) = gitlab();
    let trust = d.join("checkout/ci/vouch-release");
    std::fs::create_dir_all(&trust).unwrap();
    let key_var = gh["env"]["VOUCH_RELEASE_KEY"].as_str().unwrap();
    let root_var = gh["env"]["VOUCH_RELEASE_TRUSTED_ROOT"].as_str().unwrap();
    assert_eq!(gl["variables"]["VOUCH_RELEASE_KEY"], key_var);
    assert_eq!(gl["variables"]["VOUCH_RELEASE_TRUSTED_ROOT"], root_var);
    std::fs::copy(&public, d.join("checkout").join(key_var)).unwrap();
    std::fs::copy(
        running.trusted_root_path(),
        d.join("checkout").join(root_var),
    )
    .unwrap();

    // The releases: the vetted verifier and the release in use are both this build's binary.
    let gh_runner = Runner::new(d, &gh["env"], &sha256_of(vouch));
    let gl_runner = Runner::new(d, &gl["variables"], &sha256_of(vouch));
    let version = gh_runner.var("VOUCH_VERSION").to_owned();
    assert_eq!(gl_runner.var("VOUCH_VERSION"), version);
    let release = gh_runner.release(&version);
    let verifier = gh_runner.release("v0.0.9");
    for p in [&release, &verifier] {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(vouch, p).unwrap();
    }
    let bundle = PathBuf::from(format!("{}.sigstore.json", release.display()));
    let sign = |key: &str, logged: bool| {
        let _ = std::fs::remove_file(&bundle);
        let r = release.to_str().unwrap();
        let b = bundle.to_str().unwrap();
        let mut args = vec!["sign-blob", r, "--key", key, "--bundle", b];
        if logged {
            args.extend(["--trust-config", tc.as_str()]);
        }
        ok(&args);
    };
    // The release workflow's signature: the release key, logged.
    sign(&key, true);

    let gh_script = github_install(&gh);
    let gl_script = gitlab_install(&gl);

    // Signed and logged: installed, and it runs.
    let (out, runner) = gh_runner.run("gh-ok", &gh_script, &[]);
    assert!(
        out.status.success(),
        "GitHub install step failed:\n{}",
        text(&out)
    );
    let installed = runner.join("home/.local/bin/vouch");
    let version_out = vouch_testkit::run(Command::new(&installed).arg("--version"));
    assert!(version_out.starts_with("vouch "), "{version_out}");
    assert_eq!(
        std::fs::read_to_string(runner.join("github_path"))
            .unwrap()
            .trim(),
        runner.join("home/.local/bin").display().to_string()
    );
    let (out, runner) = gl_runner.run("gl-ok", &gl_script, &[]);
    assert!(
        out.status.success(),
        "GitLab install script failed:\n{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("vouch "),
        "{}",
        text(&out)
    );
    assert!(runner.join("builds/.vouch/bin/vouch").is_file());

    // Each refusal installs nothing, in both examples.
    let refused = |case: &str, expect: &str, extra: &[(&str, &str)]| {
        for (runner, script, installed) in [
            (&gh_runner, &gh_script, "home/.local/bin/vouch"),
            (&gl_runner, &gl_script, "builds/.vouch/bin/vouch"),
        ] {
            let name = format!(
                "{case}-{}",
                if installed.starts_with("home") {
                    "gh"
                } else {
                    "gl"
                }
            );
            let (out, dir) = runner.run(&name, script, extra);
            let said = text(&out);
            assert!(!out.status.success(), "{case}: installed anyway:\n{said}");
            assert!(!dir.join(installed).exists(), "{case}: {installed} exists");
            assert!(
                said.contains(expect),
                "{case}: expected {expect:?} in:\n{said}"
            );
            assert!(
                !said.contains("pwned"),
                "{case}: the replaced binary ran:\n{said}"
            );
        }
    };

    // The verifier is not the vetted one (the examples' placeholder pin).
    refused(
        "verifier-hash",
        "FAILED",
        &[("VOUCH_VERIFIER_SHA256", &"0".repeat(64))],
    );
    // A bundle from another key.
    sign(&other_key, true);
    refused("other-key", "verif", &[]);
    // The release key's signature, without a log entry.
    sign(&key, false);
    refused("unlogged", "transparency log", &[]);
    // The binary replaced after signing.
    sign(&key, true);
    std::fs::remove_file(&release).unwrap();
    std::fs::write(&release, "#!/bin/sh\necho pwned\n").unwrap();
    refused("replaced", "verif", &[]);
}
