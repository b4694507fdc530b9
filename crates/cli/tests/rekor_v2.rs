//! Issue #14 "done when": a vouch instance with a Rekor v2 tile log (`instance init
//! --rekor-v2`) serves sigstore-python 4.x and vouch's own keyless client; their bundles carry
//! `hashedrekord` 0.0.2 entries and an RFC 3161 timestamp, both tools verify both offline, and
//! a one-byte change to the timestamp or the checkpoint fails in both. An independent tile
//! reader (`tilecheck`: Go's golang.org/x/mod/sumdb/tlog and note, scripts/peers) verifies the
//! log over HTTP: checkpoint, inclusion of every entry, consistency between two checkpoints,
//! and refuses a tampered tile.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use common::{ok, vouch, vouch_cmd};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use vouch_testkit::{free_port, peer_tool, venv_tool};

/// `vouch instance serve` as a child process, killed on drop.
struct Served {
    child: Child,
    oidc: String,
    log: String,
    trust_config: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Served {
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let mut child = vouch_cmd(&[
        "instance",
        "serve",
        dir.to_str().unwrap(),
        "--dev-oidc",
        "--listen-ca",
        &addr(free_port()),
        "--listen-log",
        &addr(free_port()),
        "--listen-oidc",
        &addr(free_port()),
        "--listen-tsa",
        &addr(free_port()),
        "-o",
        "json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    // The JSON report is printed once everything listens.
    let report = common::read_json_report(child.stdout.take().unwrap());
    assert_eq!(report["logApiVersion"], 2, "{report}");
    Served {
        child,
        oidc: report["oidcUrl"].as_str().unwrap().to_owned(),
        log: report["logUrl"].as_str().unwrap().to_owned(),
        trust_config: PathBuf::from(report["trustConfig"].as_str().unwrap()),
    }
}

fn sigstore(args: &[&str]) -> Output {
    Command::new(venv_tool("sigstore"))
        .args(args)
        .env_remove("SIGSTORE_IDENTITY_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The log's note verifier key in Go's `note.NewVerifier` form, computed here from the trusted
/// root's Ed25519 key and the origin (C2SP signed-note: key ID = SHA-256(name || "\n" || 0x01
/// || key)[:4]); the trusted root's logId must be that same hash.
fn vkey(trust: &Value, origin: &str) -> String {
    let tlog = &trust["trustedRoot"]["tlogs"][0];
    assert_eq!(tlog["publicKey"]["keyDetails"], "PKIX_ED25519");
    let spki = B64
        .decode(tlog["publicKey"]["rawBytes"].as_str().unwrap())
        .unwrap();
    let (vkey, id) = vkey_for(origin, &spki[spki.len() - 32..]);
    assert_eq!(
        B64.decode(tlog["logId"]["keyId"].as_str().unwrap())
            .unwrap(),
        id,
        "the trusted root's logId is the C2SP key ID"
    );
    vkey
}

/// `(vkey, key ID hash)` of an Ed25519 public key under `origin`.
fn vkey_for(origin: &str, key: &[u8]) -> (String, Vec<u8>) {
    let mut material = vec![0x01];
    material.extend_from_slice(key);
    let id = Sha256::new()
        .chain_update(origin.as_bytes())
        .chain_update(b"\n")
        .chain_update(&material)
        .finalize();
    let hash: String = id[..4].iter().map(|b| format!("{b:02x}")).collect();
    (
        format!("{origin}+{hash}+{}", B64.encode(&material)),
        id.to_vec(),
    )
}

fn tilecheck(log: &str, vkey: &str, args: &[&str]) -> Output {
    Command::new(peer_tool("tilecheck"))
        .args(["-log", log, "-vkey", vkey])
        .args(args)
        .output()
        .unwrap()
}

fn entry_of(bundle: &Value) -> &Value {
    &bundle["verificationMaterial"]["tlogEntries"][0]
}

/// The bundle with one byte changed by `edit`, written next to `path`.
fn tampered(path: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut bundle);
    let out = path.with_file_name(name);
    std::fs::write(&out, serde_json::to_vec(&bundle).unwrap()).unwrap();
    out
}

/// One byte of the first RFC 3161 timestamp's DER flipped (inside the SignerInfo signature).
fn flip_timestamp(bundle: &mut Value) {
    let ts = &mut bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        [0]["signedTimestamp"];
    let mut der = B64.decode(ts.as_str().unwrap()).unwrap();
    let at = der.len() - 10;
    der[at] ^= 0x01;
    *ts = Value::from(B64.encode(&der));
}

/// One character of the checkpoint's root hash line changed (the note then no longer verifies).
fn flip_checkpoint(bundle: &mut Value) {
    let cp = &mut bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"];
    let text = cp.as_str().unwrap().to_owned();
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let root = &mut lines[2];
    let first = root.remove(0);
    root.insert(0, if first == 'A' { 'B' } else { 'A' });
    *cp = Value::from(lines.join("\n"));
}

#[test]
fn sigstore_python_and_vouch_sign_into_a_rekor_v2_instance_and_tilecheck_verifies_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("instance");
    let inst_s = inst.to_str().unwrap();
    ok(&["instance", "init", "--rekor-v2", inst_s]);
    let served = serve(&inst);
    let tc = served.trust_config.to_str().unwrap().to_owned();
    let trust: Value = serde_json::from_slice(&std::fs::read(&tc).unwrap()).unwrap();
    let logs = &trust["signingConfig"]["rekorTlogUrls"];
    assert_eq!(logs[0]["majorApiVersion"], 2, "{logs}");
    assert_eq!(logs[0]["url"], served.log.as_str());
    assert!(trust["signingConfig"]["tsaUrls"][0]["url"].is_string());
    let email = vouch_instance::DEFAULT_EMAIL;
    let token = ok(&["instance", "token", inst_s]).trim().to_owned();

    // sigstore-python signs a blob and attests an in-toto statement through the instance.
    let file = dir.path().join("by-python.txt");
    std::fs::write(&file, b"signed by sigstore-python into Rekor v2\n").unwrap();
    let py_blob = dir.path().join("py-blob.sigstore.json");
    let py_att = dir.path().join("py-att.sigstore.json");
    let predicate = dir.path().join("predicate.json");
    std::fs::write(
        &predicate,
        br#"{"buildDefinition":{"buildType":"https://example/b","externalParameters":{}},"runDetails":{"builder":{"id":"https://example/builder"}}}"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    for args in [
        vec![
            "--trust-config",
            &tc,
            "sign",
            "--identity-token",
            &token,
            "--bundle",
            py_blob.to_str().unwrap(),
            f,
        ],
        vec![
            "--trust-config",
            &tc,
            "attest",
            "--identity-token",
            &token,
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--predicate",
            predicate.to_str().unwrap(),
            "--bundle",
            py_att.to_str().unwrap(),
            f,
        ],
    ] {
        let out = sigstore(&args);
        assert!(out.status.success(), "sigstore {args:?}: {}", said(&out));
    }

    // vouch signs and attests the same way (its keyless client follows the signing config).
    let mine = dir.path().join("by-vouch.txt");
    std::fs::write(&mine, b"signed by vouch into Rekor v2\n").unwrap();
    let m = mine.to_str().unwrap();
    let my_blob = dir.path().join("my-blob.sigstore.json");
    let my_att = dir.path().join("my-att.sigstore.json");
    ok(&[
        "sign-blob",
        m,
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--bundle",
        my_blob.to_str().unwrap(),
    ]);
    ok(&[
        "attest-blob",
        m,
        "--predicate",
        predicate.to_str().unwrap(),
        "--type",
        "slsaprovenance1",
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--bundle",
        my_att.to_str().unwrap(),
    ]);

    let bundles = [
        (&file, &py_blob),
        (&file, &py_att),
        (&mine, &my_blob),
        (&mine, &my_att),
    ];
    for (_, path) in bundles {
        let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        // Rekor v2 logs DSSE envelopes as hashedrekord over the PAE (rekor-v2-spec §6.1.4,
        // sigstore-python 4.x) or as dsse 0.0.2.
        let kind = &entry_of(&bundle)["kindVersion"];
        assert!(
            kind == &json!({"kind": "hashedrekord", "version": "0.0.2"})
                || kind == &json!({"kind": "dsse", "version": "0.0.2"}),
            "{}: {kind}",
            path.display()
        );
        assert!(entry_of(&bundle)["inclusionPromise"].is_null());
        assert!(
            entry_of(&bundle)["inclusionProof"]["checkpoint"]["envelope"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1\n")
        );
        assert_eq!(
            bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{}",
            path.display()
        );
    }

    // Both tools verify every bundle offline; a one-byte change to the timestamp or the
    // checkpoint fails in both.
    let vouch_verify = |artifact: &Path, bundle: &Path| -> Output {
        vouch(&[
            "verify-blob",
            artifact.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            "--trust-config",
            &tc,
            "--certificate-identity",
            email,
            "--certificate-oidc-issuer",
            &served.oidc,
        ])
    };
    let python_verify = |artifact: &Path, bundle: &Path| -> Output {
        sigstore(&[
            "--trust-config",
            &tc,
            "verify",
            "identity",
            "--offline",
            "--bundle",
            bundle.to_str().unwrap(),
            "--cert-identity",
            email,
            "--cert-oidc-issuer",
            &served.oidc,
            artifact.to_str().unwrap(),
        ])
    };
    for (artifact, bundle) in bundles {
        let out = vouch_verify(artifact, bundle);
        assert!(
            out.status.success(),
            "vouch verify {}: {}",
            bundle.display(),
            said(&out)
        );
        let out = python_verify(artifact, bundle);
        assert!(
            out.status.success(),
            "sigstore verify {}: {}",
            bundle.display(),
            said(&out)
        );
        // The checks that refuse them: vouch names the check; sigstore-python has no other
        // verified time (Rekor v2 signs none) or cannot verify the checkpoint note.
        for (name, edit, vouch_check, python_reason) in [
            (
                "ts.json",
                flip_timestamp as fn(&mut Value),
                "FAILED  RFC 3161 timestamp",
                "not enough sources of verified time",
            ),
            (
                "cp.json",
                flip_checkpoint as fn(&mut Value),
                "checkpoint signature",
                "checkpoint",
            ),
        ] {
            let bad = tampered(bundle, name, edit);
            let out = vouch_verify(artifact, &bad);
            assert_eq!(
                out.status.code(),
                Some(3),
                "vouch accepted {name}: {}",
                said(&out)
            );
            assert!(said(&out).contains(vouch_check), "{name}: {}", said(&out));
            let out = python_verify(artifact, &bad);
            assert!(
                said(&out).contains(python_reason),
                "sigstore-python {name}: {}",
                said(&out)
            );
            assert!(
                !out.status.success(),
                "sigstore-python accepted {name}: {}",
                said(&out)
            );
        }
    }

    // The independent tile reader: checkpoint, every entry included (its bytes are the
    // bundle's canonicalizedBody), consistency from the first bundle's checkpoint to now.
    let vk = vkey(&trust, "127.0.0.1");
    let out = tilecheck(&served.log, &vk, &["checkpoint"]);
    assert!(out.status.success(), "tilecheck checkpoint: {}", said(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("size 4 "),
        "{}",
        said(&out)
    );
    for (_, path) in bundles {
        let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let entry = entry_of(&bundle);
        let body = dir.path().join("entry.bin");
        std::fs::write(
            &body,
            B64.decode(entry["canonicalizedBody"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        let index = entry["logIndex"].as_str().unwrap();
        let out = tilecheck(
            &served.log,
            &vk,
            &[
                "inclusion",
                "-index",
                index,
                "-entry",
                body.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "tilecheck inclusion {index}: {}",
            said(&out)
        );
    }
    let first: Value = serde_json::from_slice(&std::fs::read(&py_blob).unwrap()).unwrap();
    let old = dir.path().join("old.checkpoint");
    std::fs::write(
        &old,
        entry_of(&first)["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let out = tilecheck(
        &served.log,
        &vk,
        &["consistency", "-old", old.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "tilecheck consistency: {}",
        said(&out)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "consistent 1 -> 4"
    );

    // vouch's own tile reader: `tlog verify --tiles` records the checkpoint, one more entry
    // is appended, `tlog monitor --tiles` proves consistency from the tiles alone.
    let spki = B64
        .decode(
            trust["trustedRoot"]["tlogs"][0]["publicKey"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let pem_body: String = B64
        .encode(&spki)
        .as_bytes()
        .chunks(64)
        .map(|l| format!("{}\n", String::from_utf8_lossy(l)))
        .collect();
    let log_pub = dir.path().join("log.pub");
    std::fs::write(
        &log_pub,
        format!("-----BEGIN PUBLIC KEY-----\n{pem_body}-----END PUBLIC KEY-----\n"),
    )
    .unwrap();
    let state = dir.path().join("monitor.json");
    let (lp, st) = (log_pub.to_str().unwrap(), state.to_str().unwrap());
    let tile_args = |cmd: &'static str| -> Vec<String> {
        [
            "tlog",
            cmd,
            "--tiles",
            "--url",
            &served.log,
            "--public-key",
            lp,
            "--state",
            st,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let args = tile_args("verify");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first_contact: Value =
        serde_json::from_str(&ok(&[&args[..], &["-o", "json"]].concat())).unwrap();
    assert_eq!(first_contact["tree_size"], 4, "{first_contact}");
    // The origin is the log URL's host name, as sigstore-go requires of a v2 checkpoint.
    assert_eq!(first_contact["origin"], "127.0.0.1");
    assert_eq!(first_contact["consistency_verified"], false);
    ok(&[
        "sign-blob",
        m,
        "--keyless",
        "--trust-config",
        &tc,
        "--identity-token",
        &token,
        "--bundle",
        dir.path().join("fifth.sigstore.json").to_str().unwrap(),
    ]);
    let args = tile_args("monitor");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let round = ok(&args);
    assert!(
        round.contains("size 5") && round.contains("consistency proved"),
        "{round}"
    );
    // Refused: another origin pinned; another key; a recorded checkpoint that was altered.
    let out = vouch(&[&args[..], &["--origin", "other.example/log"]].concat());
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    assert!(said(&out).contains("LOG MISBEHAVIOUR"), "{}", said(&out));
    let other_key = dir.path().join("other.key");
    let other_pub = dir.path().join("other.pub");
    let openssl = vouch_testkit::require_tool("openssl");
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "ed25519",
            "-out",
            other_key.to_str().unwrap(),
        ],
        vec![
            "pkey",
            "-in",
            other_key.to_str().unwrap(),
            "-pubout",
            "-out",
            other_pub.to_str().unwrap(),
        ],
    ] {
        vouch_testkit::run(Command::new(&openssl).args(&args));
    }
    let mut with_other = args.clone();
    let at = with_other.iter().position(|a| *a == lp).unwrap();
    with_other[at] = other_pub.to_str().unwrap();
    let out = vouch(&with_other);
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let mut altered = saved.clone();
    altered["checkpoint"] = Value::from(
        saved["checkpoint"]
            .as_str()
            .unwrap()
            .replacen("\n5\n", "\n3\n", 1),
    );
    std::fs::write(&state, serde_json::to_vec(&altered).unwrap()).unwrap();
    let out = vouch(&args);
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();

    // A mirror of the log as files (a static web server's view) verifies too; one byte of its
    // level-0 tile changed, or an entry changed, is refused; so is another key.
    let mirror = dir.path().join("mirror");
    let checkpoint = ureq_get(&format!("{}/checkpoint", served.log));
    let tile = ureq_get(&format!("{}/tile/0/000.p/5", served.log));
    let entries = ureq_get(&format!("{}/tile/entries/000.p/5", served.log));
    for (path, bytes) in [
        ("checkpoint", &checkpoint),
        ("tile/0/000.p/5", &tile),
        ("tile/entries/000.p/5", &entries),
    ] {
        let p = mirror.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let m = mirror.to_str().unwrap();
    let out = tilecheck(m, &vk, &["inclusion", "-index", "2"]);
    assert!(
        out.status.success(),
        "tilecheck on the mirror: {}",
        said(&out)
    );
    let mut bad_tile = tile.clone();
    bad_tile[2 * 32 + 5] ^= 0x01;
    std::fs::write(mirror.join("tile/0/000.p/5"), &bad_tile).unwrap();
    let out = tilecheck(m, &vk, &["inclusion", "-index", "2"]);
    assert!(!out.status.success(), "tampered tile accepted");
    assert!(said(&out).contains("inconsistent tile"), "{}", said(&out));
    std::fs::write(mirror.join("tile/0/000.p/5"), &tile).unwrap();
    let mut bad_entries = entries;
    let last = bad_entries.len() - 1;
    bad_entries[last] ^= 0x01;
    std::fs::write(mirror.join("tile/entries/000.p/5"), &bad_entries).unwrap();
    let out = tilecheck(m, &vk, &["inclusion", "-index", "0"]);
    assert!(!out.status.success(), "tampered entry bundle accepted");
    let (other, _) = vkey_for("127.0.0.1", &[7; 32]);
    let out = tilecheck(&served.log, &other, &["checkpoint"]);
    assert!(
        !out.status.success(),
        "checkpoint accepted under another key"
    );
}

fn ureq_get(url: &str) -> Vec<u8> {
    ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap()
}
