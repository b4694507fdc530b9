//! What the peer interop tests (`peers_cosign.rs`, `peers_kyverno.rs`) share: the Go peers
//! built by `scripts/peers` run hermetically and offline, images pushed to a loopback
//! docker-registry, a private instance, and the ways to tamper with stored signatures.
//!
//! Offline means: HOME, TUF_ROOT and DOCKER_CONFIG point into a fresh temporary directory (no
//! cached TUF root, no credentials), and HTTP(S)_PROXY name a dead loopback port, so any request
//! a peer tries beyond loopback (the public-good TUF CDN, Rekor, Fulcio) fails at once instead
//! of reaching the network. Go's proxy selection never proxies loopback addresses
//! (`golang.org/x/net/http/httpproxy` `useProxy`), so the test registry and the private instance
//! stay reachable.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_oci::{
    Digest, ImageSink as _, ImageSource as _, RawManifest, Reference, Registry, RegistryOptions,
    Selector,
};

use crate::common::{PASSWORD, ok};

/// A proxy nobody listens on: requests that would leave loopback fail with "connection refused".
const DEAD_PROXY: &str = "http://127.0.0.1:9";

/// A file of the peer tests' own data (`tests/peers/data`).
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers/data")
        .join(name)
}

/// A peer tool (`cosign`, `kyverno`) from `scripts/peers`, run with a hermetic environment.
pub struct Peer {
    name: &'static str,
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl Peer {
    /// The peer `name`; panics with how to build it when `scripts/peers` has not run.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            bin: vouch_testkit::peer_tool(name),
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// `PEER ARGS` with nothing from the machine's environment but what the test sets.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let home = self.home.path();
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("TUF_ROOT", home.join(".sigstore/root"))
            .env("DOCKER_CONFIG", home.join(".docker"))
            .env("KUBECONFIG", home.join("no-kubeconfig"))
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("HTTPS_PROXY", DEAD_PROXY)
            .env("HTTP_PROXY", DEAD_PROXY)
            .env("https_proxy", DEAD_PROXY)
            .env("http_proxy", DEAD_PROXY)
            .current_dir(home);
        cmd
    }

    /// Runs `PEER ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs `PEER ARGS`, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}):\n{}",
            self.name,
            out.status,
            crate::common::text(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `PEER ARGS`, asserts failure, returns stdout + stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let said = crate::common::text(&out);
        assert!(
            !out.status.success(),
            "{} {args:?} should have failed:\n{said}",
            self.name
        );
        said
    }

    /// The peer's scratch directory (its HOME and working directory).
    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

/// Pushes a one-file image (built by umoci) to `host/repo:tag` with `vouch image copy`;
/// returns the tag reference and the digest.
pub fn push(host: &str, dir: &Path, repo: &str, tag: &str) -> (String, String) {
    let dir = dir.join(format!("img-{}-{tag}", repo.replace('/', "-")));
    std::fs::create_dir_all(&dir).unwrap();
    let layout = vouch_testkit::umoci_image(
        &dir,
        tag,
        &[&[("etc/app.conf", format!("{repo}:{tag}").as_bytes())]],
    );
    let reference = format!("{host}/{repo}:{tag}");
    let copied: Value = serde_json::from_str(&ok(&[
        "image",
        "copy",
        &format!("oci:{}:{tag}", layout.display()),
        &reference,
        "-o",
        "json",
    ]))
    .unwrap();
    (reference, copied["digest"].as_str().unwrap().to_owned())
}

/// `host/repo:tag` → `host/repo@digest`.
pub fn by_digest(reference: &str, digest: &str) -> String {
    let repo = reference.rsplit_once(':').unwrap().0;
    format!("{repo}@{digest}")
}

/// A private instance (CA, log, dev OIDC issuer) on free loopback ports, in `dir`.
pub fn instance(dir: &Path) -> vouch_instance::RunningInstance {
    vouch_instance::Instance::start(dir, &vouch_instance::StartOptions::default()).unwrap()
}

/// A dev-issuer token for another identity (`mallory@evil.invalid`).
pub fn mallory_token(running: &vouch_instance::RunningInstance) -> String {
    running
        .token_for(&vouch_ca::dev_oidc::TokenRequest {
            subject: Some("mallory".into()),
            email: Some("mallory@evil.invalid".into()),
            audience: None,
        })
        .unwrap()
}

/// An instance's trust material as PEM, the way Kyverno's `keyless` attestor takes it:
/// (`roots`: the CA chain, `rekor.pubkey`: the log key, `ctlog.pubkey`: the CT log key),
/// read from its `trusted_root.json` (`sigstore/protobuf-specs` `TrustedRoot`).
pub fn instance_pems(trusted_root: &Path) -> (String, String, String) {
    let root: Value = serde_json::from_slice(&std::fs::read(trusted_root).unwrap()).unwrap();
    let pem = |label: &str, b64: &str| {
        let der = B64.decode(b64).unwrap();
        let body = B64.encode(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for chunk in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out
    };
    let chain: String = root["certificateAuthorities"][0]["certChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| pem("CERTIFICATE", c["rawBytes"].as_str().unwrap()))
        .collect();
    let rekor = pem(
        "PUBLIC KEY",
        root["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap(),
    );
    let ctlog = pem(
        "PUBLIC KEY",
        root["ctlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap(),
    );
    (chain, rekor, ctlog)
}

// ---------------------------------------------------------------------------------------
// Tampering with stored signatures (docker-registry 2.x has no referrers API, so bundles live
// in the referrers tag-schema index at tag `sha256-<hex>`, where both tools look).

/// A push/pull client for the repository of `reference`.
pub fn client(reference: &str) -> Registry {
    Registry::open(
        &Reference::parse(reference).unwrap(),
        &RegistryOptions::default(),
        true,
    )
    .unwrap()
}

fn manifest(client: &Registry, selector: Selector) -> Value {
    serde_json::from_slice(&client.manifest(&selector).unwrap().bytes).unwrap()
}

fn blob(client: &Registry, descriptor: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut client
            .blob(
                &descriptor["digest"].as_str().unwrap().parse().unwrap(),
                descriptor["size"].as_u64().unwrap(),
            )
            .unwrap(),
        &mut out,
    )
    .unwrap();
    out
}

fn put_blob(client: &Registry, bytes: &[u8]) -> Digest {
    let d = Digest::sha256(bytes);
    client
        .put_blob(&d, bytes.len() as u64, &mut &bytes[..])
        .unwrap();
    d
}

fn put_manifest(
    client: &Registry,
    value: &Value,
    media_type: &str,
    tag: Option<&str>,
) -> RawManifest {
    let raw = RawManifest::new(
        serde_json::to_vec(value).unwrap(),
        Some(media_type),
        None,
        "test",
    )
    .unwrap();
    client.put_manifest(&raw, tag).unwrap();
    raw
}

/// Flips one bit of a base64 signature (a byte in the middle: still well-formed DER/raw, no
/// longer valid).
fn flip(b64: &str) -> String {
    let mut bytes = B64.decode(b64).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0x01;
    B64.encode(bytes)
}

/// A DSSE envelope (JSON) with its first signature flipped.
fn flip_envelope(envelope: &mut Value) {
    let sig = envelope["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_owned();
    envelope["signatures"][0]["sig"] = json!(flip(&sig));
}

/// Replaces the layer `i` of `m` by `bytes` (pushed as a blob).
fn replace_layer(client: &Registry, m: &mut Value, i: usize, bytes: &[u8]) {
    let d = put_blob(client, bytes);
    m["layers"][i]["digest"] = json!(d.to_string());
    m["layers"][i]["size"] = json!(bytes.len());
}

/// Flips the signature of every legacy signature (`.sig`: the layer annotation) and
/// attestation (`.att`: the DSSE envelope layer) stored for `digest` in the repository of
/// `reference`. Returns how many were tampered with.
pub fn tamper_legacy(reference: &str, digest: &str) -> usize {
    let client = client(reference);
    let hex = digest.trim_start_matches("sha256:");
    let mut n = 0;
    for suffix in ["sig", "att"] {
        let tag = format!("sha256-{hex}.{suffix}");
        let Ok(raw) = client.manifest(&Selector::Tag(tag.clone())) else {
            continue;
        };
        let mut m: Value = serde_json::from_slice(&raw.bytes).unwrap();
        let media_type = raw.media_type.clone();
        for i in 0..m["layers"].as_array().unwrap().len() {
            if suffix == "sig" {
                let key = "dev.cosignproject.cosign/signature";
                let sig = m["layers"][i]["annotations"][key]
                    .as_str()
                    .unwrap()
                    .to_owned();
                m["layers"][i]["annotations"][key] = json!(flip(&sig));
            } else {
                let mut envelope: Value =
                    serde_json::from_slice(&blob(&client, &m["layers"][i])).unwrap();
                flip_envelope(&mut envelope);
                replace_layer(&client, &mut m, i, &serde_json::to_vec(&envelope).unwrap());
            }
            n += 1;
        }
        put_manifest(&client, &m, &media_type, Some(&tag));
    }
    n
}

/// Flips the signature inside every Sigstore bundle stored as a referrer of `digest` (listed in
/// the tag-schema index `sha256-<hex>`). Returns how many were tampered with.
pub fn tamper_bundles(reference: &str, digest: &str) -> usize {
    let client = client(reference);
    let tag = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    let mut index = manifest(&client, Selector::Tag(tag.clone()));
    let mut n = 0;
    for entry in index["manifests"].as_array_mut().unwrap() {
        let selector = Selector::Digest(entry["digest"].as_str().unwrap().parse().unwrap());
        let raw = client.manifest(&selector).unwrap();
        let mut m: Value = serde_json::from_slice(&raw.bytes).unwrap();
        let mut bundle: Value = serde_json::from_slice(&blob(&client, &m["layers"][0])).unwrap();
        if bundle["dsseEnvelope"].is_object() {
            flip_envelope(&mut bundle["dsseEnvelope"]);
        } else {
            let sig = bundle["messageSignature"]["signature"]
                .as_str()
                .unwrap()
                .to_owned();
            bundle["messageSignature"]["signature"] = json!(flip(&sig));
        }
        replace_layer(&client, &mut m, 0, &serde_json::to_vec(&bundle).unwrap());
        let pushed = put_manifest(&client, &m, &raw.media_type, None);
        entry["digest"] = json!(pushed.digest.to_string());
        entry["size"] = json!(pushed.bytes.len());
        n += 1;
    }
    put_manifest(
        &client,
        &index,
        "application/vnd.oci.image.index.v1+json",
        Some(&tag),
    );
    n
}
