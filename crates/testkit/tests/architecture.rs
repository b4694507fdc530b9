//! The workspace's layering rule (docs/design/architecture.md), checked against
//! `cargo metadata`: a dependency edge between vouch crates must be on the allowed list.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::process::Command;

/// (crate, vouch crates it may depend on, normal or dev).
const ALLOWED: &[(&str, &[&str])] = &[
    ("vouch-version", &[]),
    ("vouch-merkle", &[]),
    ("vouch-http", &[]),
    ("vouch-oci", &["vouch-http"]),
    // layer 1: Sigstore's public trust through TUF (tough over vouch-http); parses no trust.
    ("vouch-tuf", &["vouch-http"]),
    ("vouch-sbom", &["vouch-oci", "vouch-http"]),
    (
        "vouch-vuln",
        &["vouch-version", "vouch-sbom", "vouch-oci", "vouch-http"],
    ),
    ("vouch-sign", &["vouch-oci", "vouch-merkle", "vouch-http"]),
    (
        "vouch-tlog",
        &["vouch-sign", "vouch-merkle", "vouch-http", "vouch-oci"],
    ),
    (
        "vouch-ca",
        &["vouch-sign", "vouch-http", "vouch-oci", "vouch-merkle"],
    ),
    (
        "vouch-policy",
        &["vouch-sign", "vouch-oci", "vouch-http", "vouch-merkle"],
    ),
    ("vouch-build", &["vouch-oci", "vouch-http"]),
    // layer 3 service: the RFC 3161 timestamp authority; never tlog, ca or policy
    // (vouch-sign only as a dev-dependency: its verifier checks the tokens).
    ("vouch-tsa", &["vouch-http", "vouch-sign"]),
    (
        // layer 4 service: the admission webhook; never tlog or ca.
        "vouch-admission",
        &["vouch-policy", "vouch-sign", "vouch-oci", "vouch-http"],
    ),
    (
        "vouch-instance",
        &[
            "vouch-ca",
            "vouch-tlog",
            "vouch-tsa",
            "vouch-sign",
            "vouch-http",
            "vouch-oci",
            "vouch-merkle",
        ],
    ),
    (
        // vouch-ca and vouch-instance as dev-dependencies only (tests against a running CA).
        "vouch-keyless",
        &[
            "vouch-sign",
            "vouch-http",
            "vouch-tlog",
            "vouch-oci",
            "vouch-merkle",
            "vouch-ca",
            "vouch-instance",
        ],
    ),
    (
        "vouch-pipeline",
        &[
            "vouch-build",
            "vouch-oci",
            "vouch-http",
            "vouch-sbom",
            "vouch-vuln",
            "vouch-version",
            "vouch-sign",
            "vouch-merkle",
            "vouch-policy",
            "vouch-tlog",
            "vouch-ca",
            "vouch-instance",
            "vouch-keyless",
        ],
    ),
    ("vouch-testkit", &[]),
];

/// Binaries and test-only crates may depend on anything.
const UNRESTRICTED: &[&str] = &["vouch", "vouch-bench", "vouch-interop"];

#[test]
fn dependencies_point_down_the_layers() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    let mut violations = Vec::new();
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        if UNRESTRICTED.contains(&name) {
            continue;
        }
        let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
            violations.push(format!("{name}: not in the layering table (add it to ALLOWED and docs/design/architecture.md)"));
            continue;
        };
        for dep in package["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let dev = dep["kind"].as_str() == Some("dev");
            // A crate's dev-dependency on itself only turns on its own features for its tests
            // (vouch-http's `server`): not an edge between crates.
            if !members.contains(dep_name)
                || (dev && dep_name == "vouch-testkit")
                || (dev && dep_name == name)
            {
                continue;
            }
            if !allowed.contains(&dep_name) {
                violations.push(format!(
                    "{name} -> {dep_name}{}",
                    if dev { " (dev)" } else { "" }
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency edges against the layering:\n{}",
        violations.join("\n")
    );
}

/// A crate whose integration tests are one binary (`autotests = false`, `tests/main.rs`) only
/// compiles the files main.rs declares: a `tests/*.rs` file left out would be skipped without a
/// word. Every such file must be a module of main.rs (or a test target of its own).
#[test]
fn every_test_file_is_compiled() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let main = dir.join("tests/main.rs");
        let Ok(main_src) = std::fs::read_to_string(&main) else {
            continue;
        };
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let declared: BTreeSet<String> = main_src
            .lines()
            .filter_map(|l| l.trim().strip_prefix("mod "))
            .filter_map(|l| l.strip_suffix(';'))
            .map(str::to_owned)
            .collect();
        for file in std::fs::read_dir(dir.join("tests")).unwrap() {
            let path = file.unwrap().path();
            let Some(stem) = path
                .extension()
                .filter(|e| *e == "rs")
                .and(path.file_stem())
                .and_then(|s| s.to_str())
            else {
                continue;
            };
            let own_target = manifest.contains(&format!("path = \"tests/{stem}.rs\""));
            if stem != "main" && !declared.contains(stem) && !own_target {
                missing.push(path.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "test files no target compiles (add `mod <name>;` to the crate's tests/main.rs):\n{}",
        missing.join("\n")
    );
}
