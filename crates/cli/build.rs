//! Puts the commit and its date into `vouch --version` (`0.1.0 (1a2b3c4d5e6f 2026-12-06)`).
//! The date is the commit's, not the build's, so rebuilding the same commit gives the same
//! binary; outside a git checkout (a source tarball) both read `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let date = git(&["log", "-1", "--format=%cs"]).unwrap_or_else(|| "unknown".into());
    println!(
        "cargo:rustc-env=VOUCH_VERSION_LONG={} ({commit} {date})",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default()
    );
    // Re-run when HEAD moves (a commit or a checkout), not on every source change.
    let git_dir = std::path::Path::new("../../.git");
    if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) {
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        if let Some(r) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed={}", git_dir.join(r).display());
        }
    }
}
