//! sigstore's own timestamp authority (github.com/sigstore/timestamp-authority v2.1.3, its
//! `timestamp-server` built by scripts/peers, in-memory signer) as a second, independent TSA
//! next to the vouch instance's (Rekor v2 log): a signing config listing both with `tsaConfig.selector: ALL`
//! makes vouch's client collect a timestamp from each; the bundle passes
//! `--timestamp-threshold 2`, and fails it with one timestamp altered or dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_keyless::{IdentityToken, KeylessSigner, TokenSource, TrustConfig};
use vouch_sign::verify::Thresholds;
use vouch_sign::{
    Artifact, Bundle, IdentityPolicy, Limits, Match, SignerPolicy, TrustedRoot, Verifier,
};

/// A running `timestamp-server serve`. Its Prometheus endpoint always binds :2112 (not
/// configurable in v2.1.3, `pkg/server/prometheus.go`) and the server exits when that fails,
/// so instances are serialised across test processes with a file lock held for the
/// server's lifetime.
struct TimestampServer {
    child: Child,
    url: String,
    _lock: std::fs::File,
    _log: tempfile::TempDir,
}

impl TimestampServer {
    fn start() -> Self {
        let binary = vouch_testkit::peer_tool("timestamp-server");
        let lock_path = std::env::temp_dir().join("vouch-test-timestamp-server-2112.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .unwrap();
        lock.lock().unwrap();
        let port = vouch_testkit::free_port();
        // Its log goes to a file: a pipe nobody reads would fill and stall the server.
        let log_dir = tempfile::tempdir().unwrap();
        let log_path = log_dir.path().join("timestamp-server.log");
        let mut child = Command::new(binary)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--timestamp-signer", "memory", "--disable-ntp-monitoring"])
            .args(["--log-type", "prod"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let err = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("timestamp-server exited ({status}) before serving: {err}");
            }
            if ureq::get(&format!("{url}/ping")).call().is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "timestamp-server did not answer /ping in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            url,
            _lock: lock,
            _log: log_dir,
        }
    }

    /// The signer's chain (`GET /api/v1/timestamp/certchain`), DER, leaf first.
    fn chain(&self) -> Vec<Vec<u8>> {
        let pem = ureq::get(&format!("{}/api/v1/timestamp/certchain", self.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let chain: Vec<Vec<u8>> = pem
            .split_inclusive("-----END CERTIFICATE-----")
            .filter(|p| p.contains("BEGIN CERTIFICATE"))
            .map(|p| {
                let body: String = p
                    .lines()
                    .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
                    .collect();
                B64.decode(body.trim()).unwrap()
            })
            .collect();
        assert!(chain.len() >= 2, "certchain: {pem}");
        chain
    }
}

impl Drop for TimestampServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn policy(identity: &str, issuer: &str) -> SignerPolicy {
    SignerPolicy::Identity(IdentityPolicy {
        identity: Match::Exact(identity.into()),
        issuer: Match::Exact(issuer.into()),
        extensions: Vec::new(),
    })
}

/// The instance's trust config with sigstore's TSA added to the trusted root and the
/// signing config (another operator, so both are selected), `tsaConfig.selector: ALL`.
fn two_tsa_config(instance_config: &[u8], peer: &TimestampServer) -> Value {
    let mut config: Value = serde_json::from_slice(instance_config).unwrap();
    let certificates: Vec<Value> = peer
        .chain()
        .iter()
        .map(|der| json!({"rawBytes": B64.encode(der)}))
        .collect();
    config["trustedRoot"]["timestampAuthorities"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "subject": {"organization": "sigstore timestamp-authority", "commonName": "memory"},
            "uri": peer.url,
            "certChain": {"certificates": certificates},
            "validFor": {"start": "1970-01-01T00:00:00Z"},
        }));
    config["signingConfig"]["tsaUrls"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "url": format!("{}/api/v1/timestamp", peer.url),
            "majorApiVersion": 1,
            "validFor": {"start": "1970-01-01T00:00:00Z"},
            "operator": "sigstore-timestamp-authority",
        }));
    config["signingConfig"]["tsaConfig"] = json!({"selector": "ALL"});
    config
}

#[test]
fn timestamps_of_sigstores_tsa_count_as_a_second_independent_authority() {
    let dir = tempfile::tempdir().unwrap();
    // A Rekor v2 instance: its entries carry no signed time, so the RFC 3161 timestamps are
    // the only verified times and the threshold counts exactly them.
    let running = vouch_instance::Instance::start(
        dir.path(),
        &vouch_instance::StartOptions {
            rekor_v2: true,
            ..Default::default()
        },
    )
    .unwrap();
    let peer = TimestampServer::start();
    let config_json = two_tsa_config(&std::fs::read(running.trust_config_path()).unwrap(), &peer);
    let config =
        TrustConfig::from_json(config_json.to_string().as_bytes(), &Limits::default()).unwrap();
    assert_eq!(config.tsa_urls.len(), 2, "{:?}", config.tsa_urls);
    let signer = KeylessSigner::new(config).unwrap();
    let token = IdentityToken::parse(&running.token().unwrap(), TokenSource::Flag).unwrap();
    let session = signer.certify(&token).unwrap();

    let blob = b"two clocks";
    let bundle = session.sign_blob(blob).unwrap();
    assert_eq!(bundle.rfc3161_timestamps.len(), 2);
    let statement = vouch_sign::intoto::Statement::new(
        vec![vouch_sign::intoto::Subject::sha256("x", "cd".repeat(32))],
        "https://example.com/predicate",
        json!({}),
    );
    let attestation = session.sign_statement(&statement).unwrap();
    assert_eq!(attestation.rfc3161_timestamps.len(), 2);

    let root = TrustedRoot::from_json(
        config_json["trustedRoot"].to_string().as_bytes(),
        &Limits::default(),
    )
    .unwrap();
    let identity = policy(running.email(), running.oidc_url().unwrap());
    let verifier = |timestamps: usize| {
        Verifier::new(root.clone()).with_thresholds(Thresholds {
            tlog: 1,
            timestamps,
        })
    };
    // Two timestamps = 2 verified times: `--timestamp-threshold 2` passes, 3 does not.
    verifier(1)
        .verify_blob(Artifact::Bytes(blob), &bundle, &identity)
        .unwrap();
    let evidence = verifier(2)
        .verify_blob(Artifact::Bytes(blob), &bundle, &identity)
        .unwrap();
    // Two authorities signed: vouch's TSA and sigstore's (its memory signer's leaf).
    let authorities: Vec<&str> = evidence
        .evidence()
        .timestamps
        .iter()
        .map(|t| t.authority.as_str())
        .collect();
    assert_eq!(authorities.len(), 2, "{authorities:?}");
    assert_ne!(authorities[0], authorities[1], "{authorities:?}");
    verifier(2)
        .verify_attestation(&attestation, None, None, &identity)
        .unwrap();
    assert!(
        verifier(3)
            .verify_blob(Artifact::Bytes(blob), &bundle, &identity)
            .is_err()
    );

    // Which timestamp came from which TSA: each verifies only against its own chain.
    let only_vouch = {
        let mut c = config_json;
        c["trustedRoot"]["timestampAuthorities"]
            .as_array_mut()
            .unwrap()
            .truncate(1);
        TrustedRoot::from_json(c["trustedRoot"].to_string().as_bytes(), &Limits::default()).unwrap()
    };
    assert!(
        Verifier::new(only_vouch)
            .verify_blob(Artifact::Bytes(blob), &bundle, &identity)
            .is_err(),
        "sigstore's timestamp must not verify against vouch's TSA chain"
    );

    // One byte of either timestamp changed: refused (every timestamp must verify).
    for which in 0..2 {
        let mut tampered: Value = serde_json::from_slice(&bundle.to_json()).unwrap();
        let ts = &mut tampered["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            [which]["signedTimestamp"];
        let mut der = B64.decode(ts.as_str().unwrap()).unwrap();
        let at = der.len() - 10; // inside the signature at the end of the SignerInfo
        der[at] ^= 0x01;
        *ts = Value::from(B64.encode(&der));
        let tampered =
            Bundle::from_json(tampered.to_string().as_bytes(), &Limits::default()).unwrap();
        let err = verifier(1)
            .verify_blob(Artifact::Bytes(blob), &tampered, &identity)
            .expect_err("a tampered timestamp must fail");
        assert!(err.to_string().contains("timestamp"), "{err}");
    }

    // One timestamp dropped: 1 verified time no longer meets a threshold of 2.
    let mut dropped = bundle;
    dropped.rfc3161_timestamps.truncate(1);
    assert!(
        verifier(2)
            .verify_blob(Artifact::Bytes(blob), &dropped, &identity)
            .is_err()
    );
    verifier(1)
        .verify_blob(Artifact::Bytes(blob), &dropped, &identity)
        .unwrap();
}
