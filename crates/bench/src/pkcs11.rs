//! Signatures per second through a PKCS#11 token (SoftHSM2, a software token reached through
//! the same C ABI as an HSM) against the same curve's key in memory (a cosign key file once
//! decrypted), both through `vouch_sign::Signer` on one thread: what `--key pkcs11:` costs.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when the module initialises, and the workspace forbids the
//! `unsafe` that setting it in process takes, so the benchmark makes a token in a temp dir and
//! runs itself again with the variable set.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use vouch_sign::{KeyAlgorithm, Pkcs11Key, Pkcs11Uri, Signer, SigningKey};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "1234";
const CHILD_ENV: &str = "VOUCH_BENCH_PKCS11_CHILD";

pub(crate) fn run(signatures: usize) -> anyhow::Result<()> {
    if std::env::var_os(CHILD_ENV).is_some() {
        return measure(signatures);
    }
    let util = vouch_testkit::require_tool("softhsm2-util");
    let dir = tempfile::tempdir()?;
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens)?;
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    vouch_testkit::run(
        Command::new(util)
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", "bench"])
            .args(["--pin", PIN, "--so-pin", "5678"]),
    );
    let status = Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_ENV, "1")
        .status()
        .context("running the benchmark with SOFTHSM2_CONF set")?;
    if !status.success() {
        bail!("pkcs11 benchmark failed ({status})");
    }
    Ok(())
}

fn per_sec(signer: &dyn Signer, signatures: usize) -> anyhow::Result<f64> {
    let message = vec![0x5a_u8; 1024];
    let start = Instant::now();
    for _ in 0..signatures {
        signer.sign(&message)?;
    }
    Ok(signatures as f64 / start.elapsed().as_secs_f64())
}

fn measure(signatures: usize) -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).ok();
    println!("signatures/s over a 1 KiB message, 1 thread, {signatures} signatures each");
    for (algorithm, name) in [
        (KeyAlgorithm::EcdsaP256, "P-256"),
        (KeyAlgorithm::EcdsaP384, "P-384"),
    ] {
        let uri: Pkcs11Uri =
            format!("pkcs11:token=bench;object=bench-{name}?module-path={MODULE}&pin-value={PIN}")
                .parse()?;
        let token = Pkcs11Key::generate(&uri, None, &env, algorithm)?;
        let file = SigningKey::generate(algorithm)?;
        // Warm up both (first C_Sign, lazy tables).
        per_sec(&token, 10)?;
        per_sec(&file, 10)?;
        let hsm = per_sec(&token, signatures)?;
        let mem = per_sec(&file, signatures)?;
        println!(
            "{name}  SoftHSM2 {hsm:>8.0}/s   file key {mem:>8.0}/s   token/file {:.2}",
            hsm / mem
        );
    }
    Ok(())
}
