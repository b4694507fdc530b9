//! cosign users' command lines, run through vouch (issue #20, "compatible spellings"). Each
//! invocation is copied from cosign's own documentation, cited next to it:
//!
//! * `doc/cosign_*.md` and the `Example:` texts of `cmd/cosign/cli/*.go` in sigstore/cosign
//!   (v3.1.3, the cosign `scripts/peers` builds),
//! * README.md of sigstore/cosign,
//! * the Sigstore documentation, sigstore/docs `content/en/cosign/...` (docs.sigstore.dev).
//!
//! Images are pushed to a loopback docker-registry; where both tools can run, cosign v3.1.3
//! (`scripts/peers`) runs side by side and must agree: it verifies what `vouch attach` stored,
//! `tree` lists the same lines, `download signature|attestation` prints the same JSON
//! documents (modulo order), `public-key` and `triangulate` print the same bytes. Accepting
//! cases have refusing twins (a signature over another payload, another CA).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::peers;

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{fails_with, keypair, ok, vouch};
use peers::{Peer, by_digest, data, instance, instance_pems, push};
use serde_json::Value;
use vouch_testkit::RegistryServer;

/// cosign's flag for the loopback registry (plain HTTP).
const HTTP: &str = "--allow-http-registry";

/// The JSON documents of a JSON-lines output, as a set.
fn json_lines(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
                .to_string()
        })
        .collect()
}

/// The lines of `tree` output, as a sorted list (cosign prints groups in Go map order).
fn tree_lines(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// Runs `vouch ARGS` with stdout a pipe nobody reads: exit 0, no panic (as `closed_pipe.rs`).
fn closed_stdout(args: &[&str]) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = common::vouch_cmd(args)
        .stdout(std::process::Stdio::from(writer))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "vouch {args:?}: {stderr}");
    assert_eq!(out.status.code(), Some(0), "vouch {args:?}: {stderr}");
}

/// Borrowed arguments.
fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn s(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// Signing, listing, downloading, triangulating and cleaning with a key, both schemes.
#[test]
fn key_signing_tree_download_triangulate_clean_as_cosign() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");

    // doc/cosign_generate-key-pair.md: `cosign generate-key-pair --output-key-prefix my-name`
    ok(&[
        "generate-key-pair",
        "--output-key-prefix",
        &s(&d.join("my-name")),
    ]);
    let key = s(&d.join("my-name.key"));
    let public = s(&d.join("my-name.pub"));

    // sigstore/docs content/en/cosign/verifying/verify.md "Retrieving a public key":
    // `cosign public-key --key cosign.key`. Same PEM as cosign's and as the .pub file.
    let ours = ok(&["public-key", "--key", &key]);
    let theirs = cosign.ok(&["public-key", "--key", &key]);
    assert_eq!(ours, theirs);
    assert_eq!(ours, std::fs::read_to_string(&public).unwrap());
    // doc/cosign_public-key.md: `cosign public-key --key <PRIVATE KEY FILE> --outfile <OUTPUT>`
    let outfile = d.join("out.pub");
    ok(&["public-key", "--key", &key, "--outfile", &s(&outfile)]);
    assert_eq!(std::fs::read_to_string(&outfile).unwrap(), theirs);
    // Twin: a public key is not a private key.
    let said = fails_with(1, &["public-key", "--key", &public]);
    assert!(said.contains("private key"), "{said}");

    let (image, digest) = push(&registry.host, d, "acme/app", "v1");
    let pinned = by_digest(&image, &digest);
    let hex = digest.strip_prefix("sha256:").unwrap();
    let repo = image.rsplit_once(':').unwrap().0.to_owned();

    // tree before anything is signed: both say there is nothing.
    let said = ok(&["tree", &image]);
    assert!(
        said.contains("No Supply Chain Security Related Artifacts found"),
        "{said}"
    );
    let theirs = cosign.ok(&["tree", HTTP, &image]);
    assert!(
        theirs.contains("No Supply Chain Security Related Artifacts found"),
        "{theirs}"
    );

    // sigstore/docs content/en/quickstart/quickstart-ci.md: `cosign sign --yes ${images}`,
    // with doc/cosign_sign.md's `--key cosign.key <IMAGE DIGEST>`; cosign's
    // `--new-bundle-format=false` (doc/cosign_sign.md Options) selects the legacy tag.
    ok(&[
        "sign",
        "--yes",
        "--key",
        &key,
        "--new-bundle-format=false",
        &pinned,
    ]);
    // doc/cosign_sign.md: `cosign sign --key cosign.key -a key1=value1 -a key2=value2 <IMAGE DIGEST>`
    // (bundle scheme: cosign 3's default, `-y`).
    ok(&[
        "sign",
        "-y",
        "--key",
        &key,
        "-a",
        "key1=value1",
        "-a",
        "key2=value2",
        &pinned,
    ]);
    // sigstore/cosign README.md: `cosign attest --predicate <file> --key cosign.key $IMAGE_URI_DIGEST`
    // in both schemes.
    let sbom = s(&data("sbom.spdx.json"));
    for format in ["--new-bundle-format=true", "--new-bundle-format=false"] {
        ok(&[
            "attest",
            "--predicate",
            &sbom,
            "--type",
            "spdxjson",
            "--key",
            &key,
            format,
            &pinned,
        ]);
    }

    // doc/cosign_tree.md: `cosign tree <IMAGE>`. The same lines as cosign's.
    let ours = ok(&["tree", &image]);
    let theirs = cosign.ok(&["tree", HTTP, &image]);
    assert_eq!(
        tree_lines(&ours),
        tree_lines(&theirs),
        "vouch:\n{ours}\ncosign:\n{theirs}"
    );
    assert!(
        ours.contains(&format!(
            "🔐 Signatures for an image tag: {repo}:sha256-{hex}.sig"
        )),
        "{ours}"
    );
    assert!(ours.contains("💾 Attestations for an image tag"), "{ours}");
    assert!(
        ours.contains("🔗 https://sigstore.dev/cosign/sign/v1 artifacts via OCI referrer"),
        "{ours}"
    );
    assert!(
        ours.contains("🔗 https://spdx.dev/Document artifacts via OCI referrer"),
        "{ours}"
    );
    let tree_json = common::ok_json(&["tree", &image]);
    assert_eq!(tree_json["digest"], digest.as_str());
    assert_eq!(
        tree_json["referrers"].as_array().unwrap().len(),
        2,
        "{tree_json}"
    );

    // doc/cosign_download_signature.md: `cosign download signature <image uri>`. With bundles
    // stored, cosign prints every bundle referrer; so does vouch, the same documents.
    let ours = ok(&["download", "signature", &image]);
    let theirs = cosign.ok(&["download", "signature", HTTP, &image]);
    assert_eq!(
        json_lines(&ours),
        json_lines(&theirs),
        "vouch:\n{ours}\ncosign:\n{theirs}"
    );
    assert_eq!(json_lines(&ours).len(), 2);

    // doc/cosign_download_attestation.md: `cosign download attestation <image uri>
    // [--predicate-type]`: bundle referrers, then the .att envelopes.
    let ours = ok(&["download", "attestation", &image]);
    let theirs = cosign.ok(&["download", "attestation", HTTP, &image]);
    assert_eq!(
        json_lines(&ours),
        json_lines(&theirs),
        "vouch:\n{ours}\ncosign:\n{theirs}"
    );
    let ours = ok(&[
        "download",
        "attestation",
        &image,
        "--predicate-type",
        "spdxjson",
    ]);
    let theirs = cosign.ok(&[
        "download",
        "attestation",
        HTTP,
        &image,
        "--predicate-type",
        "spdxjson",
    ]);
    assert_eq!(json_lines(&ours), json_lines(&theirs));
    let envelope: Value = ours
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v.get("payloadType").is_some())
        .unwrap();
    let statement: Value =
        serde_json::from_slice(&B64.decode(envelope["payload"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(statement["subject"][0]["digest"]["sha256"], hex);
    // Twin: a predicate type nobody attested. Both fail.
    let said = fails_with(
        1,
        &[
            "download",
            "attestation",
            &image,
            "--predicate-type",
            "openvex",
        ],
    );
    assert!(
        said.contains("no attestations with predicate type"),
        "{said}"
    );
    cosign.fails(&[
        "download",
        "attestation",
        HTTP,
        &image,
        "--predicate-type",
        "openvex",
    ]);

    // cmd/cosign/cli/triangulate.go: `cosign triangulate <IMAGE>` (and --type).
    for kind in ["signature", "attestation", "sbom", "digest"] {
        let ours = ok(&["triangulate", "--type", kind, &image]);
        let theirs = cosign.ok(&["triangulate", HTTP, "--type", kind, &image]);
        assert_eq!(ours, theirs, "{kind}");
    }
    assert_eq!(
        ok(&["triangulate", &image]).trim(),
        format!("{repo}:sha256-{hex}.sig")
    );

    // The new commands stop quietly on a closed stdout (`vouch tree IMG | head -c1`).
    for args in [
        &["tree", &image][..],
        &["download", "signature", &image],
        &["download", "attestation", &image],
        &["triangulate", &image],
        &["public-key", "--key", &key],
    ] {
        closed_stdout(args);
    }

    // sigstore/docs content/en/cosign/signing/signing_with_containers.md: `cosign clean $IMAGE`.
    // Without a terminal, vouch wants the confirmation as a flag.
    let said = fails_with(1, &["clean", &image]);
    assert!(said.contains("--force"), "{said}");
    ok(&["verify", &image, "--insecure-ignore-tlog", "--key", &public]);
    let out = vouch(&["clean", "--type", "signature", "-f", &image]);
    assert!(out.status.success(), "{}", common::text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("Removed {repo}:sha256-{hex}.sig")),
        "{said}"
    );
    // The bundle signature is still there: cosign and vouch verify it.
    ok(&["verify", &image, "--insecure-ignore-tlog", "--key", &public]);
    ok(&["clean", "--yes", &image]);
    // Nothing left: both tools refuse to verify, and tree shows nothing.
    fails_with(
        3,
        &["verify", &image, "--insecure-ignore-tlog", "--key", &public],
    );
    cosign.fails(&[
        "verify",
        HTTP,
        "--key",
        &public,
        "--insecure-ignore-tlog",
        &image,
    ]);
    let said = ok(&["tree", &image]);
    assert!(
        said.contains("No Supply Chain Security Related Artifacts found"),
        "{said}"
    );
    let said = fails_with(1, &["download", "signature", &image]);
    assert!(said.contains("no signatures"), "{said}");
}

/// `cosign download signature` of legacy signatures prints cosign's SignedPayload JSON.
#[test]
fn download_signature_of_legacy_signatures_is_cosigns_signed_payload() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, _) = keypair(d, "cosign");
    let (image, digest) = push(&registry.host, d, "acme/legacy", "v1");
    let pinned = by_digest(&image, &digest);
    ok(&[
        "sign",
        "--key",
        &key,
        "--signature-format",
        "legacy",
        &pinned,
    ]);
    // And one signed by cosign itself, appended to the same tag.
    cosign.ok(&[
        "sign",
        HTTP,
        "--key",
        &key,
        "--tlog-upload=false",
        "--use-signing-config=false",
        "--new-bundle-format=false",
        "-a",
        "by=cosign",
        &pinned,
    ]);
    // sigstore/docs content/en/cosign/verifying/verify.md "Download the signatures to verify
    // with another tool": `cosign download signature us-central1-docker.pkg.dev/user-vmtest2/test/taskrun`
    let ours = ok(&["download", "signature", &image]);
    let theirs = cosign.ok(&["download", "signature", HTTP, &image]);
    assert_eq!(
        json_lines(&ours),
        json_lines(&theirs),
        "vouch:\n{ours}\ncosign:\n{theirs}"
    );
    // Field order as Go writes it, so line-based tools see the same text.
    let first = ours.lines().next().unwrap();
    assert!(first.starts_with("{\"Base64Signature\":\""), "{first}");
    let payload: Value = serde_json::from_slice(
        &B64.decode(
            serde_json::from_str::<Value>(first).unwrap()["Payload"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
}

/// `cosign attach signature|attestation|sbom`: what vouch attaches, cosign verifies and reads.
#[test]
fn attach_signature_attestation_sbom_as_cosign() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cosign = Peer::new("cosign");
    let (key, public) = keypair(d, "cosign");
    let (image, digest) = push(&registry.host, d, "acme/attach", "v1");
    let pinned = by_digest(&image, &digest);
    let (other, other_digest) = push(&registry.host, d, "acme/attach", "v2");

    // The payload cosign signs (cosign generate writes it; vouch's legacy signature stores it).
    ok(&[
        "sign",
        "--key",
        &key,
        "--new-bundle-format=false",
        &by_digest(&other, &other_digest),
    ]);
    let stored = ok(&["download", "signature", &other]);
    let signed: Value = serde_json::from_str(stored.lines().next().unwrap()).unwrap();
    let other_payload = B64.decode(signed["Payload"].as_str().unwrap()).unwrap();
    let payload_text = String::from_utf8(other_payload)
        .unwrap()
        .replace(&other_digest, &digest);
    let payload = d.join("payload.json");
    std::fs::write(&payload, &payload_text).unwrap();

    // doc/cosign_sign-blob.md Options: `--output-signature FILE` ("write the signature to FILE").
    let sig = d.join("payload.sig");
    ok(&[
        "sign-blob",
        "--key",
        &key,
        "--output-signature",
        &s(&sig),
        "--bundle",
        &s(&d.join("p.json")),
        &s(&payload),
    ]);
    assert!(B64.decode(std::fs::read(&sig).unwrap()).is_ok());
    // doc/cosign_verify-blob.md Options (`--signature`), with a key, as cosign verifies a
    // detached signature: `cosign verify-blob --key cosign.pub --signature sig <blob>`.
    ok(&[
        "verify-blob",
        &s(&payload),
        "--insecure-ignore-tlog",
        "--key",
        &public,
        "--signature",
        &s(&sig),
    ]);
    cosign.ok(&[
        "verify-blob",
        "--key",
        &public,
        "--signature",
        &s(&sig),
        "--insecure-ignore-tlog",
        &s(&payload),
    ]);
    // Twin: the signature of another file. Both refuse.
    std::fs::write(d.join("other.txt"), "other").unwrap();
    fails_with(
        3,
        &[
            "verify-blob",
            &s(&d.join("other.txt")),
            "--insecure-ignore-tlog",
            "--key",
            &public,
            "--signature",
            &s(&sig),
        ],
    );
    cosign.fails(&[
        "verify-blob",
        "--key",
        &public,
        "--signature",
        &s(&sig),
        "--insecure-ignore-tlog",
        &s(&d.join("other.txt")),
    ]);

    // cmd/cosign/cli/attach.go: `cosign attach signature --payload <payload.json> --signature
    // <base64 signature file> $IMAGE`. cosign verifies what vouch attached, and vouch does.
    ok(&[
        "attach",
        "signature",
        "--payload",
        &s(&payload),
        "--signature",
        &s(&sig),
        &pinned,
    ]);
    cosign.ok(&[
        "verify",
        HTTP,
        "--key",
        &public,
        "--insecure-ignore-tlog",
        "--new-bundle-format=false",
        &pinned,
    ]);
    ok(&[
        "verify",
        &pinned,
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    // Twin: the payload of the other image with this signature, attached to a third image:
    // stored (attach verifies nothing), refused by both.
    let (third, third_digest) = push(&registry.host, d, "acme/attach", "v3");
    let third_pinned = by_digest(&third, &third_digest);
    ok(&[
        "attach",
        "signature",
        "--payload",
        &s(&payload),
        "--signature",
        &s(&sig),
        &third_pinned,
    ]);
    cosign.fails(&[
        "verify",
        HTTP,
        "--key",
        &public,
        "--insecure-ignore-tlog",
        "--new-bundle-format=false",
        &third_pinned,
    ]);
    fails_with(
        3,
        &[
            "verify",
            &third_pinned,
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    // Twin: garbage as a signature is refused before anything is stored.
    std::fs::write(d.join("bad.sig"), "not base64 !!").unwrap();
    let said = fails_with(
        1,
        &[
            "attach",
            "signature",
            "--payload",
            &s(&payload),
            "--signature",
            &s(&d.join("bad.sig")),
            &pinned,
        ],
    );
    assert!(said.contains("base64"), "{said}");

    // cmd/cosign/cli/attach.go: `cosign attach attestation --attestation <attestation file
    // path> <image uri>`: an envelope signed by vouch attest on `other`, moved to `image`
    // is refused (its subject is the other digest); put back on `other` it verifies.
    ok(&[
        "attest",
        "--predicate",
        &s(&data("sbom.spdx.json")),
        "--type",
        "spdxjson",
        "--key",
        &key,
        "--new-bundle-format=false",
        &by_digest(&other, &other_digest),
    ]);
    let envelope = ok(&["download", "attestation", &other]);
    let env_file = d.join("envelope.json");
    std::fs::write(&env_file, envelope.lines().next().unwrap()).unwrap();
    ok(&["clean", "-f", "--type", "attestation", &other]);
    fails_with(
        3,
        &[
            "verify-attestation",
            &other,
            "--type",
            "spdxjson",
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    ok(&[
        "attach",
        "attestation",
        "--attestation",
        &s(&env_file),
        &by_digest(&other, &other_digest),
    ]);
    cosign.ok(&[
        "verify-attestation",
        HTTP,
        "--key",
        &public,
        "--insecure-ignore-tlog",
        "--type",
        "spdxjson",
        "--new-bundle-format=false",
        &other,
    ]);
    ok(&[
        "verify-attestation",
        &other,
        "--type",
        "spdxjson",
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    ok(&[
        "attach",
        "attestation",
        "--attestation",
        &s(&env_file),
        &pinned,
    ]);
    fails_with(
        3,
        &[
            "verify-attestation",
            &pinned,
            "--type",
            "spdxjson",
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ],
    );
    cosign.fails(&[
        "verify-attestation",
        HTTP,
        "--key",
        &public,
        "--insecure-ignore-tlog",
        "--type",
        "spdxjson",
        "--new-bundle-format=false",
        &pinned,
    ]);

    // `cosign attach sbom --sbom FILE --type spdx <image uri>` (cmd/cosign/cli/attach.go,
    // doc/cosign_attach_sbom.md Options) and `cosign download sbom <image uri>`
    // (doc/cosign_download_sbom.md): each tool reads what the other attached, byte for byte.
    let sbom = std::fs::read(data("sbom.spdx.json")).unwrap();
    ok(&[
        "attach",
        "sbom",
        "--sbom",
        &s(&data("sbom.spdx.json")),
        "--type",
        "spdx",
        &pinned,
    ]);
    let out = cosign.run(&["download", "sbom", HTTP, &pinned]);
    assert!(out.status.success(), "{}", common::text(&out));
    assert_eq!(out.stdout, sbom);
    assert!(String::from_utf8_lossy(&out.stderr).contains("text/spdx+json"));
    let cdx = d.join("bom.xml");
    std::fs::write(&cdx, "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"/>").unwrap();
    cosign.ok(&[
        "attach",
        "sbom",
        HTTP,
        "--sbom",
        &s(&cdx),
        "--type",
        "cyclonedx",
        &third_pinned,
    ]);
    let out = vouch(&["download", "sbom", &third_pinned]);
    assert!(out.status.success(), "{}", common::text(&out));
    assert_eq!(out.stdout, std::fs::read(&cdx).unwrap());
    assert!(String::from_utf8_lossy(&out.stderr).contains("application/vnd.cyclonedx+xml"));
    // Twin: no SBOM attached. Both fail.
    let said = fails_with(1, &["download", "sbom", &by_digest(&other, &other_digest)]);
    assert!(said.contains("no sbom"), "{said}");
    cosign.fails(&["download", "sbom", HTTP, &by_digest(&other, &other_digest)]);
}

/// Keyless with a private instance: `--fulcio-url`, `--yes`, `--output-certificate`,
/// `verify --certificate-chain` / `--ca-roots`, `verify-blob --certificate --signature`.
#[test]
fn keyless_cosign_spellings_against_a_private_instance() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let running = instance(&d.join("instance"));
    let tc = s(&running.trust_config_path());
    let root = s(&running.trusted_root_path());
    let issuer = running.oidc_url().unwrap().to_owned();
    let email = running.email().to_owned();
    let token = running.token().unwrap();
    let (chain, _, _) = instance_pems(&running.trusted_root_path());
    let chain_file = d.join("chain.crt");
    std::fs::write(&chain_file, &chain).unwrap();
    let stranger = vouch_instance::Instance::init(d.join("stranger")).unwrap();
    let (stranger_chain, _, _) = instance_pems(&stranger.trusted_root_path());
    let stranger_file = d.join("stranger.crt");
    std::fs::write(&stranger_file, &stranger_chain).unwrap();
    // The instance's chain is intermediate then root.
    let pems: Vec<&str> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .collect();
    assert_eq!(pems.len(), 2, "{chain}");
    let roots_file = d.join("ca-roots.pem");
    std::fs::write(&roots_file, pems[1]).unwrap();
    let intermediates_file = d.join("ca-intermediates.pem");
    std::fs::write(&intermediates_file, pems[0]).unwrap();

    let (image, digest) = push(&registry.host, d, "acme/keyless", "v1");
    let pinned = by_digest(&image, &digest);
    // doc/cosign_sign.md Options `--fulcio-url`, with sigstore/docs quickstart-ci.md's
    // `cosign sign --yes ${images}`.
    ok(&[
        "sign",
        "--yes",
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--fulcio-url",
        running.ca_url(),
        &pinned,
    ]);
    // A keyless legacy signature: `download signature` carries its certificate, chain and Rekor
    // bundle where cosign puts them; cosign's `Cert`/`Chain` are Go's whole x509.Certificate,
    // of which vouch writes `Raw`: the fields both write are equal.
    let (legacy, legacy_digest) = push(&registry.host, d, "acme/keyless", "legacy");
    ok(&[
        "sign",
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--new-bundle-format=false",
        &by_digest(&legacy, &legacy_digest),
    ]);
    let ours: Value = serde_json::from_str(ok(&["download", "signature", &legacy]).trim()).unwrap();
    let cosign = Peer::new("cosign");
    let theirs: Value =
        serde_json::from_str(cosign.ok(&["download", "signature", HTTP, &legacy]).trim()).unwrap();
    for field in ["Base64Signature", "Payload", "Bundle", "RFC3161Timestamp"] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    assert!(ours["Bundle"]["Payload"]["logIndex"].is_i64(), "{ours}");
    assert_eq!(ours["Cert"]["Raw"], theirs["Cert"]["Raw"]);
    assert_eq!(ours["Chain"].as_array().unwrap().len(), 2, "{ours}");
    for i in 0..2 {
        assert_eq!(ours["Chain"][i]["Raw"], theirs["Chain"][i]["Raw"]);
    }

    // Twin: a CA that is not there.
    let said = fails_with(
        1,
        &[
            "sign",
            "--yes",
            "--keyless",
            "--trust-config",
            &tc,
            "--identity-token",
            &token,
            "--fulcio-url",
            "http://127.0.0.1:9",
            &pinned,
        ],
    );
    assert!(said.contains("127.0.0.1:9"), "{said}");

    // sigstore/docs content/en/cosign/verifying/verify.md "Verify image with user-provided
    // trusted chain": `cosign verify --certificate-chain chain.crt --certificate-oidc-issuer
    // https://issuer.example.com --certificate-identity foo@example.com user/demo`; the
    // instance's logs come from --trusted-root.
    let verify = |flag: &str, file: &std::path::Path| {
        vec![
            "verify".to_owned(),
            pinned.clone(),
            "--trusted-root".into(),
            root.clone(),
            flag.into(),
            s(file),
            "--certificate-oidc-issuer".into(),
            issuer.clone(),
            "--certificate-identity".into(),
            email.clone(),
        ]
    };
    ok(&refs(&verify("--certificate-chain", &chain_file)));
    // `cosign verify --ca-roots ca-roots.pem --ca-intermediates ca-intermediates ...` (same page).
    let mut with_roots = verify("--ca-roots", &roots_file);
    with_roots.extend(["--ca-intermediates".to_owned(), s(&intermediates_file)]);
    ok(&refs(&with_roots));
    // Twin: the root without the intermediate that issued the certificate.
    let said = fails_with(3, &refs(&verify("--ca-roots", &roots_file)));
    assert!(said.contains("does not chain"), "{said}");
    // Twin: another CA's chain replaces the trusted root's: refused, though --trusted-root
    // alone would accept.
    let said = fails_with(3, &refs(&verify("--certificate-chain", &stranger_file)));
    assert!(said.contains("certificate"), "{said}");
    // README.md of cosign: `cosign verify --key cosign.pub --offline ...`; vouch is offline
    // anyway, and `--rekor-url` (doc/cosign_verify.md Options) is accepted, never contacted.
    let out = vouch(&[
        "verify",
        &pinned,
        "--trusted-root",
        &root,
        "--offline",
        "--rekor-url",
        "http://127.0.0.1:9",
        "--certificate-oidc-issuer",
        &issuer,
        "--certificate-identity",
        &email,
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not contacted"));

    // sigstore/cosign README.md: `cosign sign-blob artifact --bundle artifact.sigstore.json
    // --yes`, with doc/cosign_sign-blob.md's `--output-certificate` and `--output-signature`.
    let artifact = d.join("artifact");
    std::fs::write(&artifact, "release bytes").unwrap();
    let bundle = d.join("artifact.sigstore.json");
    let cert = d.join("artifact.crt");
    let sig = d.join("artifact.sig");
    ok(&[
        "sign-blob",
        &s(&artifact),
        "--bundle",
        &s(&bundle),
        "--yes",
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--output-certificate",
        &s(&cert),
        "--output-signature",
        &s(&sig),
    ]);
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    let stored: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        stored["messageSignature"]["signature"].as_str().unwrap(),
        std::fs::read_to_string(&sig).unwrap()
    );
    // sigstore/cosign README.md: `cosign verify-blob artifact --bundle artifact.sigstore.json
    // --certificate-identity ... --certificate-oidc-issuer ...`
    ok(&[
        "verify-blob",
        &s(&artifact),
        "--bundle",
        &s(&bundle),
        "--trusted-root",
        &root,
        "--certificate-identity",
        &email,
        "--certificate-oidc-issuer",
        &issuer,
    ]);
    // sigstore/docs content/en/cosign/system_config/installation.md: `cosign verify-blob
    // new-cosign --certificate cosign-release.pem --signature cosign-release.sig`. A detached
    // signature and certificate carry no log entry or timestamp, so nothing proves the
    // certificate was valid when it signed: vouch refuses (exit 3) and names what is missing
    // (cosign would look the entry up in Rekor online; vouch never goes online to verify).
    let said = fails_with(
        3,
        &[
            "verify-blob",
            &s(&artifact),
            "--certificate",
            &s(&cert),
            "--signature",
            &s(&sig),
            "--trusted-root",
            &root,
            "--certificate-identity",
            &email,
            "--certificate-oidc-issuer",
            &issuer,
        ],
    );
    assert!(said.contains("transparency log entry"), "{said}");
    // doc/cosign_verify-blob.md Options `--rfc3161-timestamp` (with `--insecure-ignore-tlog`):
    // the timestamp `sign-blob --rfc3161-timestamp` wrote is the verified time the detached
    // certificate is checked at.
    let ts = d.join("artifact.tsr.json");
    ok(&[
        "sign-blob",
        &s(&artifact),
        "--bundle",
        &s(&bundle),
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--output-certificate",
        &s(&cert),
        "--output-signature",
        &s(&sig),
        "--rfc3161-timestamp",
        &s(&ts),
    ]);
    let detached = |ts: &std::path::Path| {
        vec![
            "verify-blob".to_owned(),
            s(&artifact),
            "--certificate".into(),
            s(&cert),
            "--signature".into(),
            s(&sig),
            "--rfc3161-timestamp".into(),
            s(ts),
            "--insecure-ignore-tlog".into(),
            "--trusted-root".into(),
            root.clone(),
            "--certificate-identity".into(),
            email.clone(),
            "--certificate-oidc-issuer".into(),
            issuer.clone(),
        ]
    };
    let said = ok(&refs(&detached(&ts)));
    assert!(said.contains("RFC 3161 timestamp"), "{said}");
    // Twin: the timestamp of another signature. Refused.
    let other = d.join("other");
    std::fs::write(&other, "other bytes").unwrap();
    let other_ts = d.join("other.tsr.json");
    ok(&[
        "sign-blob",
        &s(&other),
        "--bundle",
        &s(&d.join("other.json")),
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--rfc3161-timestamp",
        &s(&other_ts),
    ]);
    fails_with(3, &refs(&detached(&other_ts)));

    // `--new-bundle-format=false` asks sign-blob for cosign's old JSON: refused, named.
    let said = fails_with(
        1,
        &[
            "sign-blob",
            &s(&artifact),
            "--new-bundle-format=false",
            "--keyless",
            "--trust-config",
            &tc,
            "--identity-token",
            &token,
        ],
    );
    assert!(said.contains("--new-bundle-format=false"), "{said}");
}

/// sigstore/docs content/en/cosign/signing/pkcs11.md:
/// `cosign public-key --key "<PKCS11_URI>" > pub.key`: the token's public key, read without
/// logging in, is the one generate-key-pair wrote; a token that does not exist is named.
#[test]
fn public_key_of_a_pkcs11_key() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    let util = vouch_testkit::require_tool("softhsm2-util");
    assert!(
        std::path::Path::new(MODULE).is_file(),
        "{MODULE} missing: apt-get install softhsm2 (listed in .ci/apt-packages.txt)"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tokens")).unwrap();
    let conf = d.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            d.join("tokens").display()
        ),
    )
    .unwrap();
    vouch_testkit::run(
        std::process::Command::new(util)
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", "T"])
            .args(["--pin", "1234", "--so-pin", "5678"]),
    );
    let run = |args: &[&str]| {
        common::vouch_cmd(args)
            .env("SOFTHSM2_CONF", &conf)
            .env_remove("VOUCH_PKCS11_PIN")
            .env_remove("COSIGN_PKCS11_PIN")
            .output()
            .unwrap()
    };
    let key = format!("pkcs11:token=T;object=signer?module-path={MODULE}");
    let prefix = s(&d.join("hsm"));
    let args = [
        "generate-key-pair",
        "--kms",
        &key,
        "--pin",
        "1234",
        "--output-key-prefix",
        &prefix,
    ];
    common::check_ok(&run(&args), &args);
    let args = ["public-key", "--key", &key];
    let printed = common::check_ok(&run(&args), &args);
    assert_eq!(
        printed,
        std::fs::read_to_string(format!("{prefix}.pub")).unwrap()
    );
    // Twin: another token label.
    let missing = key.replace("token=T", "token=absent");
    let out = run(&["public-key", "--key", &missing]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("absent"),
        "{}",
        common::text(&out)
    );
}
