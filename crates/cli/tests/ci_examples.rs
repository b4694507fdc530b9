//! examples/ci: the GitHub Actions and GitLab CI examples that install vouch from a release
//! binary, verified before it runs. Both files are parsed as YAML and their fields checked
//! (triggers, permissions, the install step, no `cargo install`); then each install script
//! runs as written, with bash as the CI runners run it, against a release directory served
//! over file:// whose binary was signed the way the examples expect (`vouch sign-blob --key`,
//! logged in a transparency log: here a private instance's, whose trusted root stands where
//! the example expects the committed one). It installs a correctly signed release, and
//! installs nothing for a replaced binary, a bundle from another key, a bundle without a log
//! entry, or a verifier whose SHA-256 is not the pinned one.
//!
//! The composite action (.github/actions/vouch) and docs/ci/gitlab-ci.yml install vouch the
//! same way: their install scripts must be the examples' byte for byte, no step or job may
//! build, download or install vouch any other way, and their scripts run through the same
//! cases.
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

/// The CI file at `path` (from the workspace root), parsed.
fn ci_file(path: &str) -> (String, Value) {
    let yaml = std::fs::read_to_string(workspace().join(path)).unwrap();
    let mut docs =
        vouch_policy::parse_documents(&yaml, path, &vouch_policy::Limits::default()).unwrap();
    assert_eq!(docs.len(), 1, "{path}: one YAML document");
    (yaml, docs.remove(0))
}

fn example(name: &str) -> (String, Value) {
    ci_file(&format!("examples/ci/{name}"))
}

const ACTION: &str = ".github/actions/vouch/action.yml";
const GITLAB_DOC: &str = "docs/ci/gitlab-ci.yml";

/// The variables the install scripts read, and the action input each comes from.
const INSTALL_INPUTS: [(&str, &str); 6] = [
    ("VOUCH_RELEASES", "releases"),
    ("VOUCH_VERSION", "version"),
    ("VOUCH_VERIFIER_VERSION", "verifier-version"),
    ("VOUCH_VERIFIER_SHA256", "verifier-sha256"),
    ("VOUCH_RELEASE_KEY", "release-key"),
    ("VOUCH_RELEASE_TRUSTED_ROOT", "release-trusted-root"),
];

/// What installs or fetches a binary other than the verified install script.
const UNVERIFIED: [&str; 5] = ["cargo ", "curl ", "wget ", "rustup", "install -"];

/// The action's install step: its script, and the variables it gets with the inputs' defaults
/// (an input without a default gives the empty string, as GitHub does).
fn action_install(action: &Value) -> (String, Value) {
    let steps = action["runs"]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| s["name"] == "Download and verify vouch")
        .unwrap_or_else(|| panic!("no install step in {steps:?}"));
    assert_eq!(step["shell"], "bash");
    let mut vars = serde_json::Map::new();
    for (var, input) in INSTALL_INPUTS {
        assert_eq!(
            step["env"][var],
            format!("${{{{ inputs.{input} }}}}"),
            "{ACTION}: env.{var}"
        );
        let default = action["inputs"][input]["default"].as_str().unwrap_or("");
        vars.insert(var.to_owned(), default.into());
    }
    (
        step["run"].as_str().unwrap().to_owned(),
        Value::Object(vars),
    )
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

#[test]
fn ci_action_and_gitlab_doc_install_only_the_verified_release() {
    let (_, gh) = github();
    let (_, gl) = gitlab();

    // The composite action: the example's install step, then the pipeline on what it installed.
    let (_, action) = ci_file(ACTION);
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["name"], "Download and verify vouch", "{steps:?}");
    // Skipped only for a binary the caller names (built or verified in its own step).
    assert_eq!(steps[0]["if"], "inputs.vouch-binary == ''");
    let (script, vars) = action_install(&action);
    assert_eq!(
        script,
        github_install(&gh),
        "{ACTION}: the install script is not the example's"
    );
    for (var, input) in INSTALL_INPUTS {
        if var == "VOUCH_VERIFIER_SHA256" {
            // No pin ships with the action: the caller vets its verifier.
            assert_eq!(vars[var], "", "{ACTION}: inputs.{input} has a default");
            assert_eq!(action["inputs"][input]["required"], true);
        } else {
            assert_eq!(vars[var], gh["env"][var], "{ACTION}: inputs.{input}");
        }
    }
    for step in &steps[1..] {
        let run = step["run"].as_str().unwrap_or("");
        for word in UNVERIFIED {
            assert!(
                !run.contains(word),
                "{ACTION}: step {} runs {word:?}: {run}",
                step["name"]
            );
        }
        assert!(step["uses"].is_null(), "{ACTION}: {step}");
    }
    let pipeline = steps.iter().find(|s| s["id"] == "run").unwrap();
    assert!(
        pipeline["run"]
            .as_str()
            .unwrap()
            .contains(r#"VOUCH="${INPUT_VOUCH_BINARY:-$HOME/.local/bin/vouch}""#),
        "{ACTION}: the pipeline step runs another binary than the installed one: {pipeline}"
    );
    assert!(script.contains(r#"install -D -m 0755 "$asset" "$HOME/.local/bin/vouch""#));

    // The workflow that uses it: the verified install, not a binary of its own.
    let (_, workflow) = ci_file(".github/workflows/vouch.yml");
    assert!(
        !workflow.to_string().contains("cargo "),
        "vouch.yml builds from source"
    );
    let steps = workflow["jobs"]["pipeline"]["steps"].as_array().unwrap();
    let uses = steps
        .iter()
        .find(|s| s["uses"] == "./.github/actions/vouch")
        .unwrap();
    assert!(uses["with"]["vouch-binary"].is_null(), "{uses}");
    assert!(uses["with"]["verifier-sha256"].is_string(), "{uses}");

    // docs/ci/gitlab-ci.yml: the example's variables and template; every job extends it and
    // none replaces its before_script (GitLab would run the job's instead of the template's).
    let (_, doc) = ci_file(GITLAB_DOC);
    assert!(
        !doc.to_string().contains("cargo install"),
        "{GITLAB_DOC} builds from source"
    );
    assert_eq!(doc["variables"], gl["variables"], "{GITLAB_DOC}: variables");
    assert_eq!(
        gitlab_install(&doc),
        gitlab_install(&gl),
        "{GITLAB_DOC}: the install script is not the example's"
    );
    assert!(doc["default"].is_null(), "{GITLAB_DOC}: {}", doc["default"]);
    let mut jobs = 0;
    for (name, job) in doc.as_object().unwrap() {
        if name.starts_with('.') || job.get("script").is_none() {
            continue;
        }
        jobs += 1;
        assert_eq!(job["extends"], ".install-vouch", "{GITLAB_DOC}: job {name}");
        for key in ["before_script", "after_script"] {
            assert!(job[key].is_null(), "{GITLAB_DOC}: job {name} has {key}");
        }
        for line in job["script"].as_array().unwrap() {
            let line = line.as_str().unwrap();
            for word in UNVERIFIED {
                assert!(
                    !line.contains(word),
                    "{GITLAB_DOC}: job {name} runs {word:?}: {line}"
                );
            }
        }
    }
    assert_eq!(jobs, 2, "{GITLAB_DOC}: the vouch and verify jobs");
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
    let (action_script, action_vars) = action_install(&ci_file(ACTION).1);
    let (_, gl_doc) = ci_file(GITLAB_DOC);
    let gh_runner = Runner::new(d, &gh["env"], &sha256_of(vouch));
    let gl_runner = Runner::new(d, &gl["variables"], &sha256_of(vouch));
    let action_runner = Runner::new(d, &action_vars, &sha256_of(vouch));
    let gl_doc_runner = Runner::new(d, &gl_doc["variables"], &sha256_of(vouch));
    for r in [&action_runner, &gl_doc_runner] {
        for var in [
            "VOUCH_VERSION",
            "VOUCH_RELEASE_KEY",
            "VOUCH_RELEASE_TRUSTED_ROOT",
        ] {
            assert_eq!(r.var(var), gh_runner.var(var), "{var}");
        }
    }
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

    // Each file's install script, with its variables, and where it installs vouch.
    let gh_script = github_install(&gh);
    let gl_script = gitlab_install(&gl);
    let gl_doc_script = gitlab_install(&gl_doc);
    const GH_BIN: &str = "home/.local/bin/vouch";
    const GL_BIN: &str = "builds/.vouch/bin/vouch";
    let sites = [
        ("gh", &gh_runner, &gh_script, GH_BIN),
        ("action", &action_runner, &action_script, GH_BIN),
        ("gl", &gl_runner, &gl_script, GL_BIN),
        ("gl-doc", &gl_doc_runner, &gl_doc_script, GL_BIN),
    ];

    // Signed and logged: installed, and it runs.
    for (site, runner, script, installed) in sites {
        let (out, dir) = runner.run(&format!("{site}-ok"), script, &[]);
        assert!(
            out.status.success(),
            "{site}: install script failed:\n{}",
            text(&out)
        );
        let version_out = vouch_testkit::run(Command::new(dir.join(installed)).arg("--version"));
        assert!(version_out.starts_with("vouch "), "{site}: {version_out}");
        if installed == GH_BIN {
            assert_eq!(
                std::fs::read_to_string(dir.join("github_path"))
                    .unwrap()
                    .trim(),
                dir.join("home/.local/bin").display().to_string(),
                "{site}"
            );
        } else {
            // The template runs the installed binary itself, on the job's PATH.
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("vouch "),
                "{site}: {}",
                text(&out)
            );
        }
    }

    // Each refusal installs nothing, in every file.
    let refused = |case: &str, expect: &str, extra: &[(&str, &str)]| {
        for (site, runner, script, installed) in sites {
            let (out, dir) = runner.run(&format!("{case}-{site}"), script, extra);
            let said = text(&out);
            assert!(
                !out.status.success(),
                "{case} ({site}): installed anyway:\n{said}"
            );
            assert!(
                !dir.join(installed).exists(),
                "{case} ({site}): {installed} exists"
            );
            assert!(
                said.contains(expect),
                "{case} ({site}): expected {expect:?} in:\n{said}"
            );
            assert!(
                !said.contains("pwned"),
                "{case} ({site}): the replaced binary ran:\n{said}"
            );
        }
    };

    // The verifier is not the vetted one (the examples' placeholder pin).
    refused(
        "verifier-hash",
        "FAILED",
        &[("VOUCH_VERIFIER_SHA256", &"0".repeat(64))],
    );
    // No pin at all (the action's verifier-sha256 left out).
    refused(
        "verifier-unpinned",
        "no properly formatted",
        &[("VOUCH_VERIFIER_SHA256", "")],
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
