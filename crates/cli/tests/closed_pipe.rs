//! Every command stops quietly with exit 0 when its stdout is closed (`vouch … | head -c1`),
//! as Unix tools do, instead of panicking with "failed printing to stdout" (exit 101).
//!
//! The read end of the pipe is closed before the command starts, so its first write fails
//! with EPIPE every time: no race with how fast the reader goes.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;

use common::vouch_cmd;

/// Runs `vouch ARGS` with stdout a pipe nobody reads; asserts exit 0 and no panic.
fn closed_stdout(args: &[&str]) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = vouch_cmd(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "vouch {args:?} panicked on a closed stdout:\n{stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "vouch {args:?} on a closed stdout: {}\n{stderr}",
        out.status
    );
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn help_and_generated_text() {
    closed_stdout(&["--help"]);
    closed_stdout(&["--version"]);
    closed_stdout(&["completions", "bash"]);
    closed_stdout(&["completions", "zsh"]);
    closed_stdout(&["man"]);
}

#[test]
fn every_subcommand_help() {
    // `vouch --help` lists the commands; each one's help goes to a closed pipe too.
    let out = common::ok(&["--help"]);
    let commands: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions continue on deeper-indented lines.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(
        commands.len() > 15,
        "commands parsed from --help: {commands:?}"
    );
    for c in commands {
        closed_stdout(&[c, "--help"]);
    }
}

#[test]
fn data_commands() {
    let layout = root().join("examples/hello-oci");
    let oci = format!("oci:{}", layout.display());
    closed_stdout(&["image", "inspect", &oci]);
    closed_stdout(&["image", "inspect", &oci, "-o", "json"]);
    closed_stdout(&["image", "tags", &oci]);
    closed_stdout(&["sbom", &oci]);
    closed_stdout(&["sbom", &oci, "-o", "spdx-json"]);
    let rootfs = format!("dir:{}", root().join("examples/demo-app/rootfs").display());
    closed_stdout(&["sbom", &rootfs, "-o", "cyclonedx-json"]);
}

#[test]
fn demo_into_a_closed_pipe() {
    // The issue's own example: `vouch demo | head -1` panicked with exit 101.
    closed_stdout(&["demo"]);
}

#[test]
fn completions_and_man_pages_are_real() {
    let bash = common::ok(&["completions", "bash"]);
    assert!(
        bash.contains("complete -F") && bash.contains("verify-blob"),
        "{bash}"
    );
    let fish = common::ok(&["completions", "fish"]);
    assert!(fish.contains("complete -c vouch") && fish.contains("generate-key-pair"));
    let man = common::ok(&["man"]);
    assert!(man.starts_with(".ie") || man.contains(".TH vouch"), "{man}");
    let dir = tempfile::tempdir().unwrap();
    common::ok(&["man", "--dir", dir.path().to_str().unwrap()]);
    for page in ["vouch.1", "vouch-verify.1", "vouch-image-copy.1"] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    // --version names the commit and its date.
    let v = common::ok(&["--version"]);
    let re = v.trim();
    assert!(re.starts_with("vouch 0."), "{re}");
    assert!(
        re.contains('(') && re.ends_with(')'),
        "version without commit/date: {re}"
    );
}
