//! Admission webhook latency: AdmissionReviews for pods with 1 and 8 containers sent over
//! HTTPS (one keep-alive connection per client thread) to the release `vouch admission
//! serve`, against images in a local docker-registry, each signed and SBOM-attested by vouch,
//! under the seed-shaped Kyverno policy (signature + SPDX attestation with conditions,
//! mutateDigest, Enforce).
//!
//! * cold: a webhook started with the cache off (`--cache-ttl 0 --cache-negative-ttl 0`), so
//!   every review resolves the tags and verifies signatures and attestations of 1 / 8
//!   distinct images from the registry (first sight of each image);
//! * warm, tags: the default cache after one review: tags are still resolved on every review
//!   (a GET manifest per tag, by design, coalesced across concurrent reviews), verification
//!   comes from the digest-keyed cache;
//! * warm, digest-pinned: the same pods as `/mutate` leaves them (`name:tag@sha256:…`), which
//!   is what the API server stores and re-admits (ReplicaSet pods, restarts): no registry
//!   request at all, only the cache;
//! * reviews/s for each case: 8-container reviews from `--threads` clients at once.
//!
//! Also printed: the registry floor (8 tags resolved in parallel outside the webhook) and the
//! TCP connections the webhook opened to the registry during the warm phases (keep-alive
//! reuse means a handful, not one per request).
//!
//! Targets (issue 8): warm p99 < 5 ms, cold 8 images < 500 ms, 1,000 reviews/s warm.
//!
//! ```text
//! cargo build --release -p vouch -p vouch-bench
//! target/release/vouch-bench admission [--reviews 500] [--threads 4]
//! ```

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use vouch_testkit::{RegistryServer, umoci_image};

use crate::measure::vouch_binary;

fn run_ok(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output()?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Server {
    child: Child,
    base: String,
    /// The webhook's decision log (`--decision-log`): one JSON line per review with the
    /// server's own `latency_ms`, which separates the webhook's time from the transport's.
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(vouch: &Path, dir: &Path, policy: &Path, extra: &[&str]) -> anyhow::Result<Server> {
    let log = dir.join(format!("decisions-{}.jsonl", extra.len()));
    let mut child = Command::new(vouch)
        .args(["admission", "serve", "--policy"])
        .arg(policy)
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .args(["--listen", "127.0.0.1:0", "--print-address", "-q"])
        .arg("--decision-log")
        .arg(&log)
        .args(extra)
        .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    if line.trim().is_empty() {
        bail!("webhook did not start");
    }
    Ok(Server {
        child,
        log,
        base: format!("https://{}", line.trim()),
    })
}

fn certs(dir: &Path) -> anyhow::Result<()> {
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args([
                "-days",
                "1",
                "-subj",
                "/CN=bench CA",
                "-keyout",
                &p("ca.key"),
                "-out",
                &p("ca.crt"),
            ]),
    )?;
    run_ok(Command::new("openssl").arg("req").args(ec).args([
        "-subj",
        "/CN=webhook",
        "-keyout",
        &p("tls.key"),
        "-out",
        &p("tls.csr"),
    ]))?;
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )?;
    run_ok(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &p("tls.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &p("ext.cnf"),
        "-out",
        &p("tls.crt"),
    ]))?;
    Ok(())
}

fn agent(dir: &Path) -> anyhow::Result<ureq::Agent> {
    let pem = std::fs::read(dir.join("ca.crt"))?;
    let roots: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    Ok(ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
                .build(),
        )
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent())
}

fn review(i: usize, images: &[String]) -> String {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(k, im)| json!({"name": format!("c{k}"), "image": im}))
        .collect();
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": format!("u{i}"), "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "default", "operation": "CREATE", "name": format!("p{i}"),
            "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("p{i}"), "namespace": "default"},
                "spec": {"containers": containers}}}})
    .to_string()
}

/// One review; fails unless it was admitted, with a patch iff `patch` (a pinned pod needs
/// none).
fn send_expect(
    agent: &ureq::Agent,
    url: &str,
    body: &str,
    patch: bool,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let text = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)?
        .body_mut()
        .read_to_string()?;
    let elapsed = start.elapsed();
    let v: Value = serde_json::from_str(&text)?;
    if v["response"]["allowed"] != true || v["response"]["patch"].is_null() == patch {
        bail!("not admitted as expected (patch: {patch}): {text}");
    }
    Ok(elapsed)
}

/// One review of tagged images; fails unless it was admitted with a patch.
fn send(agent: &ureq::Agent, url: &str, body: &str) -> anyhow::Result<Duration> {
    send_expect(agent, url, body, true)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn latencies(
    agent: &ureq::Agent,
    url: &str,
    images: &[String],
    n: usize,
) -> anyhow::Result<(f64, f64)> {
    let patch = images.iter().any(|i| !i.contains('@'));
    let mut t = Vec::with_capacity(n);
    for i in 0..n {
        t.push(send_expect(agent, url, &review(i, images), patch)?);
    }
    t.sort();
    Ok((pct(&t, 0.5), pct(&t, 0.99)))
}

/// The decision log's size now: where the next phase's lines start.
fn log_mark(server: &Server) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(&server.log)?.len())
}

/// p50 and p99 of the webhook's own `latency_ms` over the decision log lines written after
/// `from` (request parsed to response built: policy, cache and verdict; not TLS, HTTP or the
/// client).
fn server_side(server: &Server, from: u64) -> anyhow::Result<(f64, f64)> {
    let text = std::fs::read(&server.log)?;
    let start = usize::try_from(from)?.min(text.len());
    let mut t = Vec::new();
    for line in text[start..]
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let record: Value = serde_json::from_slice(line)?;
        let ms = record["latency_ms"]
            .as_f64()
            .context("decision log line without latency_ms")?;
        t.push(Duration::from_secs_f64(ms / 1000.0));
    }
    anyhow::ensure!(!t.is_empty(), "no decision log lines");
    t.sort();
    Ok((pct(&t, 0.5), pct(&t, 0.99)))
}

/// Reviews/s of `images` pods from `threads` clients sending `per_thread` reviews each, on
/// their own keep-alive connections.
fn throughput(
    dir: &Path,
    url: &str,
    images: &[String],
    threads: usize,
    per_thread: usize,
) -> anyhow::Result<f64> {
    let patch = images.iter().any(|i| !i.contains('@'));
    let agents: Vec<ureq::Agent> = (0..threads).map(|_| agent(dir)).collect::<Result<_, _>>()?;
    for a in &agents {
        send_expect(a, url, &review(0, images), patch)?; // connection + TLS handshake
    }
    let start_all = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = agents
            .iter()
            .map(|a| {
                s.spawn(move || -> anyhow::Result<()> {
                    for i in 0..per_thread {
                        send_expect(a, url, &review(i, images), patch)?;
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
    #[allow(clippy::cast_precision_loss)]
    Ok((per_thread * threads) as f64 / start_all.elapsed().as_secs_f64())
}

/// TCP sockets on this machine whose remote end is `port` on loopback, in any state
/// (ESTABLISHED, and TIME_WAIT for closed ones, which linger 60 s): the connections opened
/// to the registry recently.
fn connections_to(port: u16) -> usize {
    let Ok(text) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    let needle = format!(":{port:04X}");
    text.lines()
        .skip(1)
        .filter(|l| {
            l.split_whitespace()
                .nth(2)
                .is_some_and(|remote| remote.ends_with(&needle))
        })
        .count()
}

fn metric(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or("?")
        .to_owned()
}

/// Runs the benchmark and prints its table.
pub(crate) fn run(reviews: usize, threads: usize) -> anyhow::Result<()> {
    let vouch = vouch_binary()?;
    let registry = RegistryServer::start();
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    certs(d)?;
    let prefix = d.join("cosign");
    run_ok(
        Command::new(&vouch)
            .args(["generate-key-pair", "--output-key-prefix"])
            .arg(&prefix)
            .env("COSIGN_PASSWORD", "bench"),
    )?;
    let key = format!("{}.key", prefix.display());
    let public = std::fs::read_to_string(format!("{}.pub", prefix.display()))?;
    let sbom = d.join("sbom.json");
    std::fs::write(
        &sbom,
        r#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"busybox","SPDXID":"SPDXRef-p"}]}"#,
    )?;
    let mut images = Vec::new();
    let mut pinned = Vec::new();
    for i in 0..8 {
        let dir = d.join(format!("img{i}"));
        std::fs::create_dir_all(&dir)?;
        let content = format!("image {i}");
        let layout = umoci_image(&dir, "v1", &[&[("etc/app.conf", content.as_bytes())]]);
        let reference = format!("{}/acme/app{i}:v1", registry.host);
        let vouch_cmd = |args: &[&str]| {
            run_ok(
                Command::new(&vouch)
                    .args(args)
                    .env("COSIGN_PASSWORD", "bench")
                    .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json"),
            )
        };
        let copied: Value = serde_json::from_str(&vouch_cmd(&[
            "image",
            "copy",
            &format!("oci:{}:v1", layout.display()),
            &reference,
            "-o",
            "json",
        ])?)?;
        let digest = copied["digest"].as_str().context("copy: no digest")?;
        vouch_cmd(&["sign", &reference, "--key", &key])?;
        vouch_cmd(&[
            "attest",
            &reference,
            "--key",
            &key,
            "--type",
            "spdxjson",
            "--predicate",
            &sbom.to_string_lossy(),
        ])?;
        pinned.push(format!("{reference}@{digest}"));
        images.push(reference);
    }
    let policy = write_policy(d, &registry.host, &public)?;
    let agent = agent(d)?;
    let samples = reviews.clamp(20, 2000);
    let threads = threads.max(1);
    let registry_port: u16 = registry
        .host
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .context("registry port")?;

    println!(
        "admission: Kyverno policy (signature + SPDX attestation + conditions), images in a local docker-registry, HTTPS keep-alive"
    );
    let cold = start(
        &vouch,
        d,
        &policy,
        &["--cache-ttl", "0", "--cache-negative-ttl", "0"],
    )?;
    let url = format!("{}/mutate", cold.base);
    send(&agent, &url, &review(0, &images[..1]))?; // connection + TLS handshake
    let cold_samples = (samples / 5).max(20);
    let (c1_50, c1_99) = latencies(&agent, &url, &images[..1], cold_samples)?;
    let (c8_50, c8_99) = latencies(&agent, &url, &images, cold_samples)?;
    let cold_rate = throughput(d, &url, &images, threads, cold_samples.div_ceil(threads))?;
    drop(cold);

    let warm = start(&vouch, d, &policy, &[])?;
    let url = format!("{}/mutate", warm.base);
    let conns_before = connections_to(registry_port);
    send(&agent, &url, &review(0, &images))?;
    let (w1_50, w1_99) = latencies(&agent, &url, &images[..1], samples)?;
    let (w8_50, w8_99) = latencies(&agent, &url, &images, samples)?;
    let tags_rate = throughput(d, &url, &images, threads, samples)?;
    let mark = log_mark(&warm)?;
    let (p1_50, p1_99) = latencies(&agent, &url, &pinned[..1], samples)?;
    let (s1_50, s1_99) = server_side(&warm, mark)?;
    let mark = log_mark(&warm)?;
    let (p8_50, p8_99) = latencies(&agent, &url, &pinned, samples)?;
    let (s8_50, s8_99) = server_side(&warm, mark)?;
    let pinned_rate = throughput(d, &url, &pinned, threads, samples * 4)?;
    let conns = connections_to(registry_port).saturating_sub(conns_before);
    let metrics = agent
        .get(format!("{}/metrics", warm.base))
        .call()?
        .body_mut()
        .read_to_string()?;
    let hits = metric(&metrics, "vouch_admission_cache_hits_total");
    let resolutions = metric(&metrics, "vouch_admission_tag_resolutions_total");
    let joined = metric(&metrics, "vouch_admission_tag_resolutions_joined_total");

    let (f50, f99) = registry_floor(&images, samples)?;
    println!(
        "{:<34} {:>10} {:>10} {:>12}",
        "", "p50 ms", "p99 ms", "reviews/s"
    );
    println!("{:<34} {c1_50:>10.2} {c1_99:>10.2}", "cold, 1 container");
    println!(
        "{:<34} {c8_50:>10.2} {c8_99:>10.2} {cold_rate:>12.0}   (target < 500 ms)",
        "cold, 8 distinct images"
    );
    println!(
        "{:<34} {w1_50:>10.2} {w1_99:>10.2}",
        "warm, tags, 1 container"
    );
    println!(
        "{:<34} {w8_50:>10.2} {w8_99:>10.2} {tags_rate:>12.0}   (target p99 < 5 ms, 1,000/s)",
        "warm, tags, 8 containers"
    );
    println!(
        "{:<34} {p1_50:>10.2} {p1_99:>10.2}",
        "warm, digest-pinned, 1 container"
    );
    println!(
        "{:<34} {p8_50:>10.2} {p8_99:>10.2} {pinned_rate:>12.0}   (target p99 < 5 ms, 1,000/s)",
        "warm, digest-pinned, 8 containers"
    );
    println!(
        "{:<34} {s1_50:>10.2} {s1_99:>10.2}   (webhook's own latency_ms from its decision log)",
        "  of which in the webhook, 1"
    );
    println!(
        "{:<34} {s8_50:>10.2} {s8_99:>10.2}   (issue 16 target: p99 < 1 ms end to end)",
        "  of which in the webhook, 8"
    );
    println!(
        "{:<34} {f50:>10.2} {f99:>10.2}   (8 parallel GET manifest by tag, reused connections)",
        "registry floor, 8 tags"
    );
    println!(
        "reviews/s from {threads} clients; warm webhook: cache hits {hits}, tag requests {resolutions}, joined in flight {joined}, TCP connections opened to the registry {conns}"
    );
    Ok(())
}

/// What every warm review must spend at least: resolving 8 tags against the registry at
/// once (the webhook resolves tags on every review, by design), with open connections.
fn registry_floor(images: &[String], n: usize) -> anyhow::Result<(f64, f64)> {
    use vouch_oci::store::ImageSource as _;
    let options = vouch_oci::RegistryOptions {
        auth_files: Some(Vec::new()),
        ..Default::default()
    };
    let refs: Vec<vouch_oci::Reference> = images
        .iter()
        .map(|i| vouch_oci::Reference::parse(i))
        .collect::<Result<_, _>>()?;
    let registries: Vec<vouch_oci::Registry> = refs
        .iter()
        .map(|r| vouch_oci::Registry::open(r, &options, false))
        .collect::<Result<_, _>>()?;
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        std::thread::scope(|s| -> anyhow::Result<()> {
            let handles: Vec<_> = registries
                .iter()
                .zip(&refs)
                .map(|(reg, r)| s.spawn(move || reg.manifest(&r.selector()).map(|_| ())))
                .collect();
            for h in handles {
                h.join().map_err(|_| anyhow::anyhow!("thread panicked"))??;
            }
            Ok(())
        })?;
        t.push(start.elapsed());
    }
    t.sort();
    Ok((pct(&t, 0.5), pct(&t, 0.99)))
}

fn write_policy(dir: &Path, host: &str, public: &str) -> anyhow::Result<PathBuf> {
    let key: String = public
        .trim()
        .lines()
        .map(|l| format!("                {l}\n"))
        .collect();
    let yaml = format!(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: require-signed-image-and-sbom}}
spec:
  rules:
  - name: verify-signature-and-sbom
    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}
    verifyImages:
    - failureAction: Enforce
      type: SigstoreBundle
      imageReferences: ["{host}/acme/*"]
      mutateDigest: true
      attestors:
      - entries:
        - keys:
            publicKeys: |-
{key}            rekor: {{ignoreTlog: true}}
      attestations:
      - type: https://spdx.dev/Document
        attestors:
        - entries:
          - keys:
              publicKeys: |-
{key}              rekor: {{ignoreTlog: true}}
        conditions:
        - all:
          - key: "{{{{ spdxVersion }}}}"
            operator: AnyIn
            value: ["SPDX-2.2", "SPDX-2.3"]
"#
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, yaml)?;
    Ok(path)
}
