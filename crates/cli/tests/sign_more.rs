//! More of `vouch sign | attest | verify`: re-signing appends in both storage schemes (a
//! registry without a referrers API and an OCI layout, whose `index.json` lists referrers),
//! `import-key-pair` of openssl-made keys checked against openssl itself, the air-gapped
//! workflow (sign in a layout, `image copy --signatures`, verify in the registry) and
//! `--recursive` signing of a multi-platform index.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{fails_with, keypair_with, ok, ok_json, text};

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use vouch_oci::{ImageSink as _, ImageSource as _, RawManifest, Reference, Registry, Selector};
use vouch_testkit::{RegistryServer, require_tool, umoci_image};

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new(require_tool("openssl"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    out.stdout
}

/// Pushes a one-layer umoci image to `registry` as `repo:tag`; returns reference and digest.
fn push_image(
    registry: &RegistryServer,
    dir: &Path,
    repo: &str,
    tag: &str,
    content: &[u8],
) -> (String, String) {
    let layout = umoci_image(dir, tag, &[&[("etc/app.conf", content)]]);
    let reference = format!("{}/{repo}:{tag}", registry.host);
    let copied = ok_json(&[
        "image",
        "copy",
        &format!("oci:{}:{tag}", layout.display()),
        &reference,
    ]);
    (reference, copied["digest"].as_str().unwrap().to_owned())
}

fn client(reference: &str) -> Registry {
    Registry::open(
        &Reference::parse(reference).unwrap(),
        &vouch_oci::RegistryOptions::default(),
        true,
    )
    .unwrap()
}

fn manifest_json(source: &dyn vouch_oci::ImageSource, selector: Selector) -> Value {
    serde_json::from_slice(&source.manifest(&selector).unwrap().bytes).unwrap()
}

fn count(value: &Value, field: &str) -> usize {
    value[field].as_array().map_or(0, Vec::len)
}

/// `Verified OK: … (N of M signatures verified)` → (N, M).
fn verified_counts(table: &str) -> (usize, usize) {
    let start = table.find('(').unwrap() + 1;
    let words: Vec<&str> = table[start..].split_whitespace().collect();
    (words[0].parse().unwrap(), words[2].parse().unwrap())
}

/// Signs `image` with two keys in `format`, then checks both signatures are kept and each key
/// verifies its own; returns the two public keys.
fn sign_twice(dir: &Path, image: &str, format: &str, tag: &str) -> (String, String) {
    let (key1, pub1) = keypair_with(dir, &format!("{tag}-one"), "ecdsa-p256");
    let (key2, pub2) = keypair_with(dir, &format!("{tag}-two"), "ecdsa-p384");
    let first = ok_json(&["sign", image, "--key", &key1, "--signature-format", format]);
    let second = ok_json(&["sign", image, "--key", &key2, "--signature-format", format]);
    for (s1, s2) in first["stored"]
        .as_array()
        .unwrap()
        .iter()
        .zip(second["stored"].as_array().unwrap())
    {
        assert_eq!(s1["scheme"], s2["scheme"]);
        assert_ne!(s1["manifest"], s2["manifest"], "{first} {second}");
    }
    let per_key = if format == "both" { 2 } else { 1 };
    for public in [&pub1, &pub2] {
        let report = ok_json(&["verify", image, "--insecure-ignore-tlog", "--key", public]);
        let sigs = report["signatures"].as_array().unwrap();
        assert_eq!(
            sigs.len(),
            2 * per_key,
            "both keys' signatures kept: {report}"
        );
        let verified = sigs.iter().filter(|s| s["verified"] == true).count();
        assert_eq!(
            verified, per_key,
            "each key verifies exactly its own: {report}"
        );
    }
    (pub1, pub2)
}

#[test]
fn resigning_appends_in_every_scheme_registry_and_layout() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();

    // Registry (docker-registry 2.8: no referrers API, so the tag schema index is used).
    let (legacy_image, digest) = push_image(&registry, dir.path(), "resign/legacy", "v1", b"1\n");
    let hex = digest.trim_start_matches("sha256:").to_owned();
    sign_twice(dir.path(), &legacy_image, "legacy", "reg-legacy");
    let c = client(&legacy_image);
    let sig = manifest_json(&c, Selector::Tag(format!("sha256-{hex}.sig")));
    assert_eq!(count(&sig, "layers"), 2, "{sig}");
    assert!(
        c.manifest(&Selector::Tag(format!("sha256-{hex}"))).is_err(),
        "legacy-only signing wrote no referrer"
    );

    let (bundle_image, digest) = push_image(&registry, dir.path(), "resign/bundle", "v2", b"2\n");
    let hex2 = digest.trim_start_matches("sha256:").to_owned();
    let (pub1, pub2) = sign_twice(dir.path(), &bundle_image, "bundle", "reg-bundle");
    let c2 = client(&bundle_image);
    let index = manifest_json(&c2, Selector::Tag(format!("sha256-{hex2}")));
    assert_eq!(count(&index, "manifests"), 2, "{index}");
    assert!(
        c2.manifest(&Selector::Tag(format!("sha256-{hex2}.sig")))
            .is_err()
    );
    // Then the other scheme on top: nothing of the first two is dropped.
    let (key3, pub3) = keypair_with(dir.path(), "three", "ed25519");
    ok(&[
        "sign",
        &bundle_image,
        "--key",
        &key3,
        "--signature-format",
        "both",
    ]);
    let index = manifest_json(&c2, Selector::Tag(format!("sha256-{hex2}")));
    assert_eq!(count(&index, "manifests"), 3, "{index}");
    for public in [&pub1, &pub2, &pub3] {
        let table = ok(&[
            "verify",
            &bundle_image,
            "--insecure-ignore-tlog",
            "--key",
            public,
        ]);
        assert_eq!(verified_counts(&table).1, 4, "{table}");
    }
    // Ed25519 signatures are deterministic: the same key signing the same payload again is
    // cosign's duplicate, detected and not appended (the referrer is a new bundle each time).
    let again = ok_json(&[
        "sign",
        &bundle_image,
        "--key",
        &key3,
        "--signature-format",
        "legacy",
    ]);
    assert_eq!(
        again["stored"][0]["note"], "identical signature already present",
        "{again}"
    );
    let sig = manifest_json(&c2, Selector::Tag(format!("sha256-{hex2}.sig")));
    assert_eq!(count(&sig, "layers"), 1);

    // Attestations too: two keys, both kept, each verifies.
    let predicate = dir.path().join("sbom.json");
    std::fs::write(&predicate, br#"{"spdxVersion":"SPDX-2.3","name":"x"}"#).unwrap();
    let predicate = predicate.to_str().unwrap();
    let (ka, pa) = keypair_with(dir.path(), "att-a", "ecdsa-p256");
    let (kb, pb) = keypair_with(dir.path(), "att-b", "ecdsa-p256");
    for key in [&ka, &kb] {
        ok(&[
            "attest",
            &legacy_image,
            "--predicate",
            predicate,
            "--type",
            "spdxjson",
            "--key",
            key,
            "--signature-format",
            "both",
        ]);
    }
    let att = manifest_json(&c, Selector::Tag(format!("sha256-{hex}.att")));
    assert_eq!(count(&att, "layers"), 2);
    for public in [&pa, &pb] {
        let report = ok_json(&[
            "verify-attestation",
            &legacy_image,
            "--type",
            "spdxjson",
            "--insecure-ignore-tlog",
            "--key",
            public,
        ]);
        let verified = report["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["verified"] == true)
            .count();
        assert_eq!(
            verified, 2,
            "legacy layer and referrer of this key: {report}"
        );
    }

    // OCI layout: referrers are listed by index.json (the layout's "referrers API").
    let layout_dir = dir.path().join("resign-layout");
    let layout = umoci_image(&layout_dir, "v1", &[&[("etc/a", b"layout\n")]]);
    let image = format!("oci:{}:v1", layout.display());
    sign_twice(dir.path(), &image, "both", "layout");
    let l = vouch_oci::Layout::open(&layout, &vouch_oci::Limits::default()).unwrap();
    let digest = l.manifest(&Selector::Tag("v1".into())).unwrap().digest;
    let sig = manifest_json(&l, Selector::Tag(format!("{}.sig", digest.tag_form())));
    assert_eq!(count(&sig, "layers"), 2);
    assert_eq!(l.referrers(&digest, None).unwrap().len(), 2);
}

#[test]
fn import_key_pair_of_openssl_keys_signs_what_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    // SEC1 with the EC PARAMETERS block `openssl ecparam -genkey` writes first.
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        &d("sec1.pem"),
    ]);
    assert!(
        std::fs::read_to_string(d("sec1.pem"))
            .unwrap()
            .contains("BEGIN EC PARAMETERS")
    );
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &d("pkcs8.pem"),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        &d("ed25519.pem"),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-out",
        &d("p384.pem"),
    ]);
    let artifact = d("artifact.txt");
    std::fs::write(&artifact, b"release 1.0\n").unwrap();

    for name in ["sec1", "pkcs8", "ed25519", "p384"] {
        let prefix = d(&format!("imported-{name}"));
        let out = ok_json(&[
            "import-key-pair",
            "--key",
            &d(&format!("{name}.pem")),
            "--output-key-prefix",
            &prefix,
        ]);
        assert!(out["keyId"].as_str().unwrap().len() == 64, "{out}");
        let key_file = std::fs::read_to_string(format!("{prefix}.key")).unwrap();
        assert!(key_file.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        // The public key openssl derives is the one vouch wrote.
        let openssl_pub = d(&format!("{name}.openssl.pub"));
        openssl(&[
            "pkey",
            "-in",
            &d(&format!("{name}.pem")),
            "-pubout",
            "-out",
            &openssl_pub,
        ]);
        assert_eq!(
            std::fs::read_to_string(&openssl_pub).unwrap().trim(),
            std::fs::read_to_string(format!("{prefix}.pub"))
                .unwrap()
                .trim(),
            "{name}"
        );
        // Sign with the imported (encrypted) key, verify with openssl's public key.
        let bundle = d(&format!("{name}.sigstore.json"));
        ok(&[
            "sign-blob",
            &artifact,
            "--key",
            &format!("{prefix}.key"),
            "--bundle",
            &bundle,
        ]);
        ok(&[
            "verify-blob",
            &artifact,
            "--bundle",
            &bundle,
            "--insecure-ignore-tlog",
            "--key",
            &openssl_pub,
        ]);
        // openssl itself verifies the ECDSA signature (an independent implementation).
        if name != "ed25519" {
            let b: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
            let sig = base64_decode(b["messageSignature"]["signature"].as_str().unwrap());
            let sig_file = d(&format!("{name}.sig"));
            std::fs::write(&sig_file, sig).unwrap();
            let verified = openssl(&[
                "dgst",
                "-sha256",
                "-verify",
                &openssl_pub,
                "-signature",
                &sig_file,
                &artifact,
            ]);
            assert!(String::from_utf8_lossy(&verified).contains("Verified OK"));
        }
    }

    // Refusals: existing files without --force, RSA under 2048 bits, garbage.
    let text = fails_with(
        1,
        &[
            "import-key-pair",
            "--key",
            &d("pkcs8.pem"),
            "--output-key-prefix",
            &d("imported-pkcs8"),
        ],
    );
    assert!(text.contains("already exists; pass --force"), "{text}");
    ok(&[
        "import-key-pair",
        "--key",
        &d("pkcs8.pem"),
        "--output-key-prefix",
        &d("imported-pkcs8"),
        "--force",
    ]);
    // RSA keys (PKCS#8 and PKCS#1) are imported; one under 2048 bits is refused.
    openssl(&["genrsa", "-out", &d("rsa8.pem"), "2048"]);
    openssl(&["genrsa", "-traditional", "-out", &d("rsa1.pem"), "2048"]);
    for rsa in ["rsa8", "rsa1"] {
        ok(&[
            "import-key-pair",
            "--key",
            &d(&format!("{rsa}.pem")),
            "--output-key-prefix",
            &d(rsa),
        ]);
        assert!(Path::new(&format!("{}.key", d(rsa))).exists());
        let public = std::fs::read_to_string(format!("{}.pub", d(rsa))).unwrap();
        assert!(
            public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
            "{public}"
        );
    }
    openssl(&["genrsa", "-out", &d("rsa-small.pem"), "1024"]);
    let text = fails_with(
        1,
        &[
            "import-key-pair",
            "--key",
            &d("rsa-small.pem"),
            "--output-key-prefix",
            &d("rsa-small"),
        ],
    );
    assert!(text.contains("RSA private key refused"), "{text}");
    assert!(!Path::new(&format!("{}.key", d("rsa-small"))).exists());
    std::fs::write(d("junk.pem"), "not a key\n").unwrap();
    let text = fails_with(
        1,
        &[
            "import-key-pair",
            "--key",
            &d("junk.pem"),
            "--output-key-prefix",
            &d("junk"),
        ],
    );
    assert!(text.contains("no private key block"), "{text}");

    // A cosign key file imports too (same password), keeping the key.
    let prefix = d("reimported");
    ok(&[
        "import-key-pair",
        "--key",
        &d("imported-sec1.key"),
        "--output-key-prefix",
        &prefix,
    ]);
    assert_eq!(
        std::fs::read_to_string(format!("{prefix}.pub")).unwrap(),
        std::fs::read_to_string(d("imported-sec1.pub")).unwrap()
    );

    // An imported key signs an image; openssl's public key verifies it.
    let registry = RegistryServer::start();
    let (image, _) = push_image(&registry, dir.path(), "imported/app", "v1", b"i\n");
    ok(&[
        "sign",
        &image,
        "--key",
        &d("imported-ed25519.key"),
        "--signature-format",
        "both",
    ]);
    let table = ok(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &d("ed25519.openssl.pub"),
    ]);
    assert_eq!(verified_counts(&table), (2, 2), "{table}");
}

#[test]
fn layout_signatures_travel_with_image_copy() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair_with(dir.path(), "airgap", "ecdsa-p256");
    let layout = umoci_image(&dir.path().join("l"), "1.0", &[&[("etc/a", b"air\n")]]);
    let image = format!("oci:{}:1.0", layout.display());

    // Sign and attest inside the layout (no registry involved).
    let signed = ok_json(&[
        "sign",
        &image,
        "--key",
        &key,
        "--signature-format",
        "both",
        "--sign-container-identity",
        &format!("{}/air/app", registry.host),
    ]);
    let digest = signed["digest"].as_str().unwrap().to_owned();
    let hex = digest.trim_start_matches("sha256:").to_owned();
    let predicate = dir.path().join("prov.json");
    std::fs::write(&predicate, br#"{"buildType":"test"}"#).unwrap();
    ok(&[
        "attest",
        &image,
        "--predicate",
        predicate.to_str().unwrap(),
        "--type",
        "slsaprovenance",
        "--key",
        &key,
        "--signature-format",
        "both",
    ]);
    // Stored as cosign stores them: the legacy tag in index.json, referrers with `subject`.
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    assert!(
        names.contains(&format!("sha256-{hex}.sig").as_str()),
        "{index}"
    );
    let l = vouch_oci::Layout::open(&layout, &vouch_oci::Limits::default()).unwrap();
    let referrers = l.referrers(&digest.parse().unwrap(), None).unwrap();
    assert_eq!(referrers.len(), 2, "signature and attestation referrers");
    let table = ok(&["verify", &image, "--insecure-ignore-tlog", "--key", &public]);
    assert_eq!(verified_counts(&table), (2, 2), "{table}");
    let report = ok_json(&["verify", &image, "--insecure-ignore-tlog", "--key", &public]);
    assert_eq!(
        report["signatures"][0]["payload"]["critical"]["identity"]["docker-reference"],
        format!("{}/air/app", registry.host)
    );
    ok(&[
        "verify-attestation",
        &image,
        "--type",
        "slsaprovenance",
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    // `oci:DIR` without a tag still means the one image (signatures do not count).
    let untagged = format!("oci:{}", layout.display());
    assert_eq!(
        ok_json(&[
            "verify",
            &untagged,
            "--insecure-ignore-tlog",
            "--key",
            &public
        ])["digest"],
        digest.as_str()
    );

    // Copy without --signatures: the image arrives unsigned.
    let plain = format!("{}/air/plain:1.0", registry.host);
    ok(&["image", "copy", &image, &plain]);
    let text = fails_with(
        3,
        &["verify", &plain, "--insecure-ignore-tlog", "--key", &public],
    );
    assert!(text.contains("no signatures found"), "{text}");

    // Copy with --signatures, then verify in the registry.
    let dest = format!("{}/air/app:1.0", registry.host);
    let copied = ok_json(&["image", "copy", &image, &dest, "--signatures"]);
    assert_eq!(copied["digest"], digest.as_str());
    let places = copied["signatures"].as_array().unwrap();
    assert_eq!(places.len(), 4, "{copied}"); // .sig and .att tags + 2 referrers
    let table = ok(&["verify", &dest, "--insecure-ignore-tlog", "--key", &public]);
    assert_eq!(verified_counts(&table), (2, 2), "{table}");
    let att = ok_json(&[
        "verify-attestation",
        &dest,
        "--type",
        "slsaprovenance",
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    assert_eq!(att["verified"], true);
    assert_eq!(
        att["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["verified"] == true)
            .count(),
        2,
        "the .att layer and the referrer: {att}"
    );
    let c = client(&dest);
    let fallback = manifest_json(&c, Selector::Tag(format!("sha256-{hex}")));
    assert_eq!(count(&fallback, "manifests"), 2, "{fallback}");

    // Signing again in the registry, then copying again: nothing is duplicated or dropped.
    let (key2, public2) = keypair_with(dir.path(), "registry-side", "ecdsa-p256");
    ok(&["sign", &dest, "--key", &key2, "--signature-format", "both"]);
    let again = ok_json(&["image", "copy", &image, &dest, "--signatures"]);
    let notes: Vec<&str> = again["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [
            "all already present",
            "all already present",
            // docker-registry's referrers come from the tag schema index, which lists them.
            "already listed as a referrer",
            "already listed as a referrer"
        ],
        "{again}"
    );
    let sig = manifest_json(&c, Selector::Tag(format!("sha256-{hex}.sig")));
    assert_eq!(count(&sig, "layers"), 2);
    assert_eq!(
        count(
            &manifest_json(&c, Selector::Tag(format!("sha256-{hex}"))),
            "manifests"
        ),
        3
    );
    for k in [&public, &public2] {
        let table = ok(&["verify", &dest, "--insecure-ignore-tlog", "--key", k]);
        assert_eq!(verified_counts(&table), (2, 4), "{table}");
    }
    // And the layout gains the registry-side signature when copied back (merge, not replace).
    ok(&["image", "copy", &dest, &image, "--signatures"]);
    let table = ok(&[
        "verify",
        &image,
        "--insecure-ignore-tlog",
        "--key",
        &public2,
    ]);
    assert_eq!(verified_counts(&table), (2, 4), "{table}");

    // An untagged image in a layout: `oci:DIR` names it, before and after signing (the
    // untagged referrer signing adds has a subject, so it is not taken for an image).
    let bare = format!("oci:{}", dir.path().join("bare").display());
    ok(&["image", "copy", &dest, &bare]);
    ok(&["sign", &bare, "--key", &key, "--signature-format", "both"]);
    ok(&["sign", &bare, "--key", &key2]);
    let report = ok_json(&["verify", &bare, "--insecure-ignore-tlog", "--key", &public]);
    assert_eq!(report["digest"], digest.as_str());
    // ... and `image copy oci:DIR --signatures` too.
    let from_bare = format!("{}/air/bare:1.0", registry.host);
    ok(&["image", "copy", &bare, &from_bare, "--signatures"]);
    let report = ok_json(&[
        "verify",
        &from_bare,
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    assert_eq!(
        report["signatures"].as_array().unwrap().len(),
        3,
        "{report}"
    );
}

#[test]
fn recursive_signs_the_index_and_every_platform() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair_with(dir.path(), "multi", "ecdsa-p256");
    let (_, amd) = push_image(&registry, dir.path(), "multi/app", "amd64", b"amd\n");
    let (_, arm) = push_image(&registry, dir.path(), "multi/app", "arm64", b"arm\n");
    let repo = format!("{}/multi/app", registry.host);
    let c = client(&format!("{repo}:amd64"));
    let entry = |digest: &str, arch: &str| {
        let raw = c
            .manifest(&Selector::Digest(digest.parse().unwrap()))
            .unwrap();
        json!({
            "mediaType": raw.media_type,
            "size": raw.bytes.len(),
            "digest": digest,
            "platform": {"os": "linux", "architecture": arch},
        })
    };
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&amd, "amd64"), entry(&arm, "arm64")],
    });
    let raw = RawManifest::new(
        serde_json::to_vec(&index).unwrap(),
        Some("application/vnd.oci.image.index.v1+json"),
        None,
        "test index",
    )
    .unwrap();
    c.put_manifest(&raw, Some("multi")).unwrap();
    let index_digest = raw.digest.to_string();

    // Without --recursive only the index is signed (cosign's default).
    let (key0, public0) = keypair_with(dir.path(), "flat", "ecdsa-p256");
    ok(&["sign", &format!("{repo}:multi"), "--key", &key0]);
    ok(&[
        "verify",
        &format!("{repo}@{index_digest}"),
        "--insecure-ignore-tlog",
        "--key",
        &public0,
    ]);
    let text = fails_with(
        3,
        &[
            "verify",
            &format!("{repo}@{amd}"),
            "--insecure-ignore-tlog",
            "--key",
            &public0,
        ],
    );
    assert!(text.contains("no signatures found"), "{text}");

    let signed = ok_json(&[
        "sign",
        &format!("{repo}:multi"),
        "--key",
        &key,
        "--recursive",
        "--signature-format",
        "both",
    ]);
    let subjects: Vec<&str> = signed["stored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            index_digest.as_str(),
            index_digest.as_str(),
            amd.as_str(),
            amd.as_str(),
            arm.as_str(),
            arm.as_str()
        ]
    );
    for digest in [&index_digest, &amd, &arm] {
        let table = ok(&[
            "verify",
            &format!("{repo}@{digest}"),
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ]);
        assert_eq!(verified_counts(&table).0, 2, "{digest}: {table}");
    }

    // attest --recursive: each platform gets a statement about its own digest.
    let predicate = dir.path().join("sbom.json");
    std::fs::write(
        &predicate,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.5"}"#,
    )
    .unwrap();
    ok(&[
        "attest",
        &format!("{repo}:multi"),
        "-r",
        "--predicate",
        predicate.to_str().unwrap(),
        "--type",
        "cyclonedx",
        "--key",
        &key,
    ]);
    let report = ok_json(&[
        "verify-attestation",
        &format!("{repo}@{arm}"),
        "--type",
        "cyclonedx",
        "--insecure-ignore-tlog",
        "--key",
        &public,
    ]);
    assert_eq!(
        report["signatures"][0]["payload"]["subject"][0]["digest"]["sha256"],
        arm.trim_start_matches("sha256:")
    );

    // Copying the index with --signatures carries the platforms' signatures along.
    let mirror = format!("{}/mirror/app", registry.host);
    ok(&[
        "image",
        "copy",
        &format!("{repo}:multi"),
        &format!("{mirror}:multi"),
        "--signatures",
    ]);
    for digest in [&index_digest, &amd, &arm] {
        ok(&[
            "verify",
            &format!("{mirror}@{digest}"),
            "--insecure-ignore-tlog",
            "--key",
            &public,
        ]);
    }
}

#[test]
fn help_teaches_with_examples() {
    for command in [
        "sign",
        "attest",
        "sign-blob",
        "verify",
        "verify-attestation",
        "verify-blob",
        "generate-key-pair",
        "import-key-pair",
    ] {
        let help = ok(&[command, "--help"]);
        let examples = help
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{command} --help has no Examples:\n{help}"));
        let lines = examples
            .lines()
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .filter(|l| l.contains("vouch "))
            .count();
        assert!(
            (2..=6).contains(&lines),
            "{command}: {lines} example lines\n{help}"
        );
        assert!(
            examples.contains(&format!("vouch {command} ")),
            "{command}: examples do not run it\n{help}"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
