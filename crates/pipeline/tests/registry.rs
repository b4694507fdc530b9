//! The in-process registry speaks the distribution spec well enough for skopeo (as a peer
//! oracle) to push to it and read from it, and serves the referrers API vouch signs into.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

use serde_json::Value;
use vouch_build::{Add, Limits, Spec, build};
use vouch_oci::{ImageSource as _, Location, Reference, Registry, RegistryOptions};
use vouch_pipeline::registry::{LocalRegistry, RegistryLimits};
use vouch_testkit::{require_tool, run};

#[test]
fn skopeo_pushes_and_pulls_and_referrers_are_listed() {
    require_tool("skopeo");
    let registry = LocalRegistry::start(RegistryLimits::default()).unwrap();
    let host = registry.host();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("hello.txt"), "hello").unwrap();
    let spec = Spec {
        adds: vec![Add {
            source: src.path().to_owned(),
            dest: "/srv".into(),
        }],
        platform: Some("linux/amd64".parse().unwrap()),
        ..Spec::default()
    };
    let built = build(
        &spec,
        &Location::parse(&format!("{host}/demo/app:v1")).unwrap(),
        &RegistryOptions::default(),
        &Limits::default(),
    )
    .unwrap();

    // skopeo reads what vouch pushed, and copies it out and back in under another name.
    let v: Value = serde_json::from_str(&run(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{host}/demo/app:v1"),
    ])))
    .unwrap();
    assert_eq!(v["Digest"], built.digest.to_string());
    let out = tempfile::tempdir().unwrap();
    let layout = format!("oci:{}:v1", out.path().display());
    run(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{host}/demo/app:v1"),
        &layout,
    ]));
    run(Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        &layout,
        &format!("docker://{host}/other/copy:v2"),
    ]));
    let tags: Value = serde_json::from_str(&run(Command::new("skopeo").args([
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{host}/other/copy"),
    ])))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["v2"]));

    // A signature is stored as a referrer and listed by the referrers API.
    let key = vouch_sign::SigningKey::generate(vouch_sign::KeyAlgorithm::EcdsaP256).unwrap();
    let reference = Reference::parse(&format!("{host}/demo/app:v1")).unwrap();
    let reg = Registry::open(&reference, &RegistryOptions::default(), true).unwrap();
    let target = vouch_sign::oci::ImageTarget::resolve(&reg, &reference).unwrap();
    let store = vouch_sign::oci::Store {
        source: &reg,
        sink: &reg,
        limits: vouch_sign::Limits::default(),
    };
    let stored = store
        .sign_image(
            &target,
            &key,
            vouch_sign::oci::SignatureFormat::Bundle,
            &Default::default(),
        )
        .unwrap();
    assert_eq!(stored[0].note, "already listed as a referrer");
    let listed = reg.referrers(&built.digest, None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].digest().to_string(),
        stored[0].manifest.to_string()
    );

    // A blob that does not match its digest is refused.
    let resp = vouch_http_put(&host);
    assert_eq!(resp, 400);
}

/// A monolithic upload whose body does not hash to the digest it claims.
fn vouch_http_put(host: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let body = b"not the content";
    let digest = vouch_oci::Digest::sha256(b"other");
    write!(
        s,
        "POST /v2/demo/app/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
