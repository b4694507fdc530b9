//! Test fixture: a keyless bundle signed with an issued certificate, a hand-made transparency
//! log entry (hashedrekord 0.0.1 with a SignedEntryTimestamp from a test log key: vouch-ca may
//! not depend on vouch-tlog), and a trusted root JSON listing the CA, its CT key and the log.
#![allow(dead_code, unreachable_pub)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use vouch_ca::{CertificateAuthority, Identity, IssuedChain, San};
use vouch_sign::bundle::{TlogEntry, VerificationMaterial};
use vouch_sign::sign::sign_blob;
use vouch_sign::{
    Artifact, BlobContent, Bundle, KeyAlgorithm, Limits, SignerPolicy, SigningKey, TrustedRoot,
    Verified, Verifier,
};

pub const ARTIFACT: &[u8] = b"artifact signed keylessly";

pub fn email_identity(email: &str, issuer: &str) -> Identity {
    Identity {
        san: San::Email(email.into()),
        issuer: issuer.into(),
        extensions: Vec::new(),
    }
}

pub struct KeylessFixture {
    pub chain: IssuedChain,
    pub bundle: Bundle,
    pub log_key: SigningKey,
}

impl KeylessFixture {
    /// Issues at `not_before`, signs, and logs one minute later.
    pub fn sign(ca: &CertificateAuthority, identity: &Identity, not_before: SystemTime) -> Self {
        let logged = unix(not_before) + 60;
        Self::sign_logged_at(ca, identity, not_before, logged)
    }

    pub fn sign_logged_at(
        ca: &CertificateAuthority,
        identity: &Identity,
        not_before: SystemTime,
        integrated_time: u64,
    ) -> Self {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        let chain = ca
            .issue_at(key.public_key().spki_der(), identity, not_before)
            .expect("issue");
        Self::from_chain(chain, &key, integrated_time)
    }

    pub fn from_chain(chain: IssuedChain, key: &SigningKey, integrated_time: u64) -> Self {
        let mut bundle = sign_blob(ARTIFACT, key).expect("sign");
        bundle.material = VerificationMaterial::Certificate(chain.leaf().to_vec());
        let log_key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("log key");
        let cert_pem = vouch_ca::issue::pem("CERTIFICATE", chain.leaf());
        let body = serde_json::json!({
            "apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256",
                                  "value": hex::encode(vouch_sign::HashAlgorithm::Sha2_256.digest(ARTIFACT))}},
                "signature": {"content": B64.encode(bundle.content.signature()),
                              "publicKey": {"content": B64.encode(cert_pem.as_bytes())}}}});
        let mut entry = TlogEntry {
            log_index: 0,
            log_id: log_key.public_key().key_id().to_vec(),
            kind: "hashedrekord".into(),
            kind_version: "0.0.1".into(),
            integrated_time,
            signed_entry_timestamp: None,
            inclusion_proof: None,
            canonicalized_body: serde_json::to_vec(&body).expect("json"),
        };
        entry.signed_entry_timestamp = Some(log_key.sign_bytes(&vouch_sign::set_message(&entry)));
        bundle.tlog_entries = vec![entry];
        // Not round-tripped through JSON: v0.3 bundles must also carry an inclusion proof with
        // a checkpoint, which needs a real log (vouch-tlog, not a dependency of this crate).
        Self {
            chain,
            bundle,
            log_key,
        }
    }

    /// A trusted root for `ca` (its chain and CT key) and this fixture's log key.
    pub fn trusted_root(&self, ca: &CertificateAuthority) -> TrustedRoot {
        let log = |spki: &[u8], id: &[u8]| {
            serde_json::json!({
                "baseUrl": "http://127.0.0.1", "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": B64.encode(spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                              "validFor": {"start": "1970-01-01T00:00:00Z"}},
                "logId": {"keyId": B64.encode(id)}})
        };
        let log_pk = self.log_key.public_key();
        let (ca_entry, ctlog) = ca
            .trusted_root_entries("http://127.0.0.1", "1970-01-01T00:00:00Z")
            .expect("entries");
        let json = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(log_pk.spki_der(), &log_pk.key_id())],
            "ctlogs": [ctlog],
            "certificateAuthorities": [ca_entry],
            "timestampAuthorities": []
        });
        TrustedRoot::from_json(
            &serde_json::to_vec(&json).expect("json"),
            &Limits::default(),
        )
        .expect("trusted root")
    }

    pub fn verify(
        &self,
        ca: &CertificateAuthority,
        policy: &SignerPolicy,
    ) -> vouch_sign::Result<Verified<BlobContent>> {
        Verifier::new(self.trusted_root(ca)).verify_blob(
            Artifact::Bytes(ARTIFACT),
            &self.bundle,
            policy,
        )
    }
}

pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after epoch").as_secs()
}
