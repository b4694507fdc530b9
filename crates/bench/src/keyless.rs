//! `vouch-bench keyless`: certificate issuance of a private instance over loopback HTTP
//! (requests per second, p50/p99 latency), and the wall time of a whole keyless `vouch sign`
//! of an image (token from the dev issuer, certificate, signature, log upload, registry push).
//! Targets from issue 7: issuance p99 < 20 ms, keyless sign < 300 ms. The dev issuer signs RS256
//! (like GitHub), so issuance includes an RSA-2048 token verification (JWKS cached).

use std::time::Instant;

use anyhow::{Context, bail};
use base64::Engine as _;
use serde_json::json;
use vouch_sign::{KeyAlgorithm, SigningKey};

use crate::measure::{measure, median, vouch_binary};

/// Runs the benchmark: `requests` sequential issuances for latency, then the same number
/// spread over `threads` clients for throughput, then `runs` keyless image signatures.
pub(crate) fn run(requests: usize, threads: usize, runs: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let running = vouch_instance::Instance::start(dir.path().join("instance"), &Default::default())
        .context("starting the instance")?;
    let url = format!("{}/api/v2/signingCert", running.ca_url());
    let token = running.token()?;
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let body = serde_json::to_vec(&json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": key.public_key().to_pem()},
            "proofOfPossession": base64::engine::general_purpose::STANDARD
                .encode(key.sign_bytes(running.email().as_bytes())),
        },
    }))?;
    let issue = |agent: &ureq::Agent| -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut response = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(&body[..])?;
        let status = response.status().as_u16();
        let _ = response.body_mut().read_to_vec()?;
        if status != 200 {
            bail!("CA answered HTTP {status}");
        }
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    };
    let agent = ureq::Agent::new_with_defaults();
    for _ in 0..20 {
        issue(&agent)?; // warm-up: JWKS fetch, connection
    }
    let mut latencies = (0..requests)
        .map(|_| issue(&agent))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];

    let per_thread = requests.div_ceil(threads.max(1));
    let started = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    let agent = ureq::Agent::new_with_defaults();
                    for _ in 0..per_thread {
                        issue(&agent)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
        }
        Ok(())
    })?;
    let throughput = (per_thread * threads.max(1)) as f64 / started.elapsed().as_secs_f64();
    println!(
        "keyless issuance: {throughput:.0} certificates/s ({} clients), latency p50 {:.2} ms \
         p99 {:.2} ms over {requests} sequential requests (target p99 < 20 ms)",
        threads.max(1),
        pct(0.50),
        pct(0.99)
    );

    // A full keyless `vouch sign` of an image in a local registry.
    let vouch = vouch_binary()?;
    let registry = vouch_testkit::RegistryServer::start();
    let layout = vouch_testkit::umoci_image(dir.path(), "v1", &[&[("etc/app.conf", b"bench\n")]]);
    let image = format!("{}/bench/keyless:v1", registry.host);
    let copy = std::process::Command::new(&vouch)
        .args(["image", "copy"])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(&image)
        .output()?;
    if !copy.status.success() {
        bail!("image copy: {}", String::from_utf8_lossy(&copy.stderr));
    }
    let args: Vec<String> = [
        "sign",
        image.as_str(),
        "--keyless",
        "--trust-config",
        running.trust_config_path().to_str().context("path")?,
        "-q",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let samples = (0..runs.max(1))
        .map(|_| measure(&vouch, &args))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let m = median(&samples);
    println!(
        "keyless vouch sign (image, bundle format, token from the dev issuer): median {:.0} ms \
         over {} runs, peak RSS {} KiB (target < 300 ms)",
        m.seconds * 1000.0,
        samples.len(),
        m.peak_kb
    );
    running.stop();
    Ok(())
}
