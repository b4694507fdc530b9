//! The official sigstore-conformance bundle-verify cases, offline, by path and by digest
//! (`tests/data/sigstore-conformance/README.md` says how each case is set up). Every case must
//! give the suite's expected outcome.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vouch_sign::{
    Artifact, Bundle, Error, IdentityPolicy, Limits, SignerPolicy, TrustedRoot, Verifier,
    VerifyingKey,
};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_trimmed(path: &Path) -> Option<String> {
    path.exists()
        .then(|| String::from_utf8_lossy(&read(path)).trim().to_owned())
}

/// Runs one case; `by_digest` passes only the artifact's SHA-256.
fn run_case(dir: &Path, by_digest: bool) -> Result<(), Error> {
    let root_path = dir.join("trusted_root.json");
    let root_json = if root_path.exists() {
        read(&root_path)
    } else {
        read(&data_dir().join("trust-roots/public-good.trusted_root.json"))
    };
    let limits = Limits::default();
    let root = TrustedRoot::from_json(&root_json, &limits)?;
    let bundle = Bundle::from_json(&read(&dir.join("bundle.sigstore.json")), &limits)?;
    let artifact_path = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        dir.parent().expect("parent").join("a.txt")
    };
    let artifact = read(&artifact_path);
    let policy = match read_trimmed(&dir.join("key.pub")) {
        Some(pem) => SignerPolicy::Key(VerifyingKey::from_pem(&pem)?),
        None => SignerPolicy::Identity(IdentityPolicy::exact(
            read_trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.to_owned()),
            read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
        )),
    };
    let digest: [u8; 32] = Sha256::digest(&artifact).into();
    let input = if by_digest {
        Artifact::Sha256(digest)
    } else {
        Artifact::Bytes(&artifact)
    };
    Verifier::new(root)
        .verify_blob(input, &bundle, &policy)
        .map(|_| ())
}

#[test]
fn conformance_bundle_verify_cases() {
    let root = data_dir().join("sigstore-conformance/bundle-verify");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("conformance assets")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "the suite's 70 bundle-verify cases");
    let mut passed = 0;
    let mut wrong = Vec::new();
    for dir in &cases {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let must_fail = name.ends_with("_fail");
        for by_digest in [false, true] {
            let outcome = run_case(dir, by_digest);
            let how = if by_digest { "digest" } else { "path" };
            match (&outcome, must_fail) {
                (Ok(()), false) => passed += 1,
                (Err(e), true) => {
                    passed += 1;
                    if !by_digest {
                        eprintln!("{name}: {e}");
                    }
                }
                (Ok(()), true) => wrong.push(format!("{name} ({how}): verified, must fail")),
                (Err(e), false) => wrong.push(format!("{name} ({how}): {e}")),
            }
        }
    }
    eprintln!(
        "sigstore-conformance bundle-verify: {passed} of {} pass",
        cases.len() * 2
    );
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
