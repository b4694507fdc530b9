//! `Instance::start` on loopback: the three services answer at the URLs the trust files name,
//! dev tokens are exchanged for certificates, and `stop` releases the ports.
#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use serde_json::Value;
use vouch_instance::{Instance, StartOptions, TRUST_CONFIG};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn get(url: &str) -> (u16, Value) {
    let mut r = agent().get(url).call().expect("GET");
    let status = r.status().as_u16();
    (status, json(r.body_mut()))
}

fn json(body: &mut ureq::Body) -> Value {
    serde_json::from_slice(&body.read_to_vec().unwrap()).unwrap_or(Value::Null)
}

#[test]
fn start_serves_what_the_trust_config_names_and_stop_releases_ports() {
    let dir = tempfile::tempdir().unwrap();
    let running = Instance::start(dir.path(), &StartOptions::default()).unwrap();
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(TRUST_CONFIG)).unwrap()).unwrap();
    let root = &config["trustedRoot"];
    assert_eq!(root["certificateAuthorities"][0]["uri"], running.ca_url());
    assert_eq!(root["tlogs"][0]["baseUrl"], running.log_url());
    let signing = &config["signingConfig"];
    assert_eq!(signing["caUrls"][0]["url"], running.ca_url());
    assert_eq!(signing["rekorTlogUrls"][0]["url"], running.log_url());
    assert_eq!(signing["oidcUrls"][0]["url"], running.oidc_url().unwrap());
    // The TSA: its full endpoint in tsaUrls (what clients POST to), its chain in the root.
    assert_eq!(
        signing["tsaUrls"],
        serde_json::json!([{"url": format!("{}/api/v1/timestamp", running.tsa_url()),
            "majorApiVersion": 1, "validFor": {"start": "1970-01-01T00:00:00Z"},
            "operator": "vouch"}])
    );
    let tsa_entry = &root["timestampAuthorities"][0];
    assert_eq!(root["timestampAuthorities"].as_array().unwrap().len(), 1);
    assert_eq!(tsa_entry["uri"], running.tsa_url());
    assert_eq!(
        tsa_entry["subject"],
        serde_json::json!({"organization": "vouch", "commonName": "vouch timestamping"})
    );
    assert_eq!(tsa_entry["validFor"]["start"], "1970-01-01T00:00:00Z");
    // The trusted root parses and its log key is the one the log serves.
    let trust = vouch_sign::TrustedRoot::from_json(
        &std::fs::read(running.trusted_root_path()).unwrap(),
        &vouch_sign::Limits::default(),
    )
    .unwrap();
    let served = vouch_tlog::Client::new(running.log_url())
        .unwrap()
        .public_key()
        .unwrap();
    assert_eq!(
        trust.tlogs[0].key.as_ref().unwrap().spki_der(),
        served.spki_der()
    );

    // The chain in the trusted root is the chain the running TSA serves (leaf first).
    let served_chain = agent()
        .get(&format!("{}/api/v1/timestamp/certchain", running.tsa_url()))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let served_der: Vec<Vec<u8>> = served_chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(|pem| {
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap()
        })
        .collect();
    assert_eq!(served_der.len(), 2);
    assert_eq!(trust.timestamp_authorities.len(), 1);
    assert_eq!(trust.timestamp_authorities[0].chain, served_der);
    assert!(dir.path().join("tsa/tsa-key.pem").exists());

    let (status, bundle) = get(&format!("{}/api/v2/trustBundle", running.ca_url()));
    assert_eq!(status, 200);
    assert_eq!(
        bundle["chains"][0]["certificates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, discovery) = get(&format!(
        "{}/.well-known/openid-configuration",
        running.oidc_url().unwrap()
    ));
    assert_eq!(status, 200);
    assert_eq!(discovery["issuer"], running.oidc_url().unwrap());

    // A dev token buys a certificate (the CA fetched the issuer's JWKS by discovery).
    let key = vouch_sign::SigningKey::generate(vouch_sign::KeyAlgorithm::EcdsaP256).unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let body = serde_json::json!({
        "credentials": {"oidcIdentityToken": running.token().unwrap()},
        "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": key.public_key().to_pem()},
                             "proofOfPossession": b64(&key.sign_bytes(running.email().as_bytes()))}});
    let mut r = agent()
        .post(&format!("{}/api/v2/signingCert", running.ca_url()))
        .header("Content-Type", "application/json")
        .send(&serde_json::to_vec(&body).unwrap())
        .unwrap();
    let answer = json(r.body_mut());
    assert_eq!(r.status().as_u16(), 200, "{answer}");
    let chain = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap();
    assert_eq!(chain.len(), 3);

    // A token minted from the directory alone (what `vouch instance token` does) is accepted.
    let offline_token = running.instance().mint_token(&Default::default()).unwrap();
    assert_eq!(offline_token.split('.').count(), 3);

    let ca_url = running.ca_url().to_owned();
    running.stop();
    assert!(
        agent()
            .get(&format!("{ca_url}/api/v2/trustBundle"))
            .call()
            .is_err(),
        "CA still answering after stop"
    );

    // Restart on the same directory: same keys, new ports, trust files rewritten.
    let again = Instance::start(dir.path(), &StartOptions::default()).unwrap();
    let trust2 = vouch_sign::TrustedRoot::from_json(
        &std::fs::read(again.trusted_root_path()).unwrap(),
        &vouch_sign::Limits::default(),
    )
    .unwrap();
    assert_eq!(trust2.tlogs[0].log_id, trust.tlogs[0].log_id);
    assert_eq!(
        trust2.certificate_authorities[0].chain,
        trust.certificate_authorities[0].chain
    );
    assert_eq!(trust2.certificate_authorities[0].uri, again.ca_url());
    assert_eq!(
        trust2.timestamp_authorities[0].chain,
        trust.timestamp_authorities[0].chain
    );
    assert_eq!(trust2.timestamp_authorities[0].uri, again.tsa_url());
}

#[test]
fn init_refuses_an_existing_instance() {
    let dir = tempfile::tempdir().unwrap();
    Instance::init(dir.path()).unwrap();
    assert!(matches!(
        Instance::init(dir.path()),
        Err(vouch_instance::Error::AlreadyInitialised(_))
    ));
    let urls = Instance::open(dir.path()).unwrap().urls().unwrap();
    assert_eq!(urls, vouch_instance::Urls::default());
}

#[test]
fn advertised_urls_from_init_survive_start_and_wildcard_listens_name_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let public_ca = "https://ca.example.internal";
    Instance::init_with(
        dir.path(),
        &vouch_instance::InitOptions {
            urls: vouch_instance::Urls {
                ca: public_ca.into(),
                log: "http://127.0.0.1:3000".into(),
                oidc: None,
                tsa: "https://tsa.example.internal".into(),
            },
            ..Default::default()
        },
    )
    .unwrap();
    let options = StartOptions {
        listen_log: "0.0.0.0:0".parse().unwrap(),
        ..StartOptions::default()
    };
    let running = Instance::start(dir.path(), &options).unwrap();
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(TRUST_CONFIG)).unwrap()).unwrap();
    let signing = &config["signingConfig"];
    // The CA's name from init is what clients are told; the process still serves locally.
    assert_eq!(signing["caUrls"][0]["url"], public_ca);
    assert_eq!(
        config["trustedRoot"]["certificateAuthorities"][0]["uri"],
        public_ca
    );
    assert_ne!(running.ca_url(), public_ca);
    assert_eq!(
        signing["tsaUrls"][0]["url"],
        "https://tsa.example.internal/api/v1/timestamp"
    );
    assert_eq!(
        config["trustedRoot"]["timestampAuthorities"][0]["uri"],
        "https://tsa.example.internal"
    );
    // The log was loopback in init: it follows the bound port, and a wildcard listen address
    // is written as loopback, never as 0.0.0.0.
    let log_url = signing["rekorTlogUrls"][0]["url"].as_str().unwrap();
    assert!(log_url.starts_with("http://127.0.0.1:"), "{log_url}");
    assert_ne!(log_url, "http://127.0.0.1:3000");
    assert_eq!(log_url, running.log_url());
    let (status, _) = get(&format!("{log_url}/api/v1/log"));
    assert_eq!(status, 200);
    running.stop();
}

/// The dev issuer hands out identities to whoever asks: it never listens beyond loopback.
#[test]
fn dev_issuer_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let options = StartOptions {
        listen_oidc: Some("0.0.0.0:0".parse().unwrap()),
        ..StartOptions::default()
    };
    let err = Instance::start(dir.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("loopback only"), "{err}");
}
