//! Offline verification of Sigstore bundles, trusting only a [`TrustedRoot`].
//!
//! A [`Verifier`] holds the trust material and the deployment's options; a [`SignerPolicy`] says
//! what one call must prove (a public key, or a certificate identity). Verification follows
//! `sigstore/architecture-docs:client-spec.md` §4 and returns [`Verified`] evidence.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, Content, TlogEntry, VerificationMaterial};
use crate::certs::{self, CertificateIdentity, ParsedCert, TrustedChain};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::intoto::Statement;
use crate::keys::{HashAlgorithm, VerifyingKey};
use crate::rekor;
use crate::timestamp::{self, VerifiedTimestamp};
use crate::tlog;
use crate::trust_root::TrustedRoot;

/// Clock skew tolerated for integrated times in the future, in seconds.
const MAX_FUTURE_SKEW_SECS: u64 = 60;

/// The artifact a signature is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// Only its SHA-256 digest (`verify-blob sha256:<hex>`).
    Sha256([u8; 32]),
}

impl Artifact<'_> {
    fn sha256(&self) -> [u8; 32] {
        match self {
            Self::Bytes(b) => Sha256::digest(b).into(),
            Self::Sha256(d) => *d,
        }
    }

    /// The artifact's digest under `hash`: `None` when only its SHA-256 is known and another
    /// hash is asked for.
    pub(crate) fn digest(&self, hash: HashAlgorithm) -> Option<Vec<u8>> {
        match self {
            Self::Bytes(b) => Some(hash.digest(b)),
            Self::Sha256(d) if hash == HashAlgorithm::Sha2_256 => Some(d.to_vec()),
            Self::Sha256(_) => None,
        }
    }
}

/// A string matcher for identities and issuers.
#[derive(Debug, Clone)]
pub enum Match {
    /// Equal to this string.
    Exact(String),
    /// Matches this regular expression. Like cosign's `--certificate-identity-regexp`, the
    /// expression is not anchored for you: write `^...$` to match the whole value.
    Regex(Regex),
}

impl Match {
    /// Compiles a regular expression matcher.
    pub fn regex(pattern: &str) -> Result<Self> {
        Regex::new(pattern)
            .map(Self::Regex)
            .map_err(|e| Error::malformed("identity regular expression", e))
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(s) => s == value,
            Self::Regex(r) => r.is_match(value),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Exact(s) => s.clone(),
            Self::Regex(r) => format!("regexp:{}", r.as_str()),
        }
    }
}

/// Which certificate identity must have signed (`--certificate-identity[-regexp]`,
/// `--certificate-oidc-issuer[-regexp]`, plus Fulcio extension claims such as
/// `--certificate-github-workflow-repository`).
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    /// Matched against every SAN value; one must match.
    pub identity: Match,
    /// Matched against the OIDC issuer extension.
    pub issuer: Match,
    /// Fulcio extension OID (e.g. [`OID_SOURCE_REPOSITORY_URI`]) to exact expected value.
    pub extensions: Vec<(&'static str, String)>,
}

/// Fulcio extension: GitHub workflow trigger (deprecated raw form, read by `cosign --certificate-github-workflow-trigger`).
pub const OID_GITHUB_WORKFLOW_TRIGGER: &str = "1.3.6.1.4.1.57264.1.2";
/// Fulcio extension: GitHub workflow SHA (deprecated raw form).
pub const OID_GITHUB_WORKFLOW_SHA: &str = "1.3.6.1.4.1.57264.1.3";
/// Fulcio extension: GitHub workflow name (deprecated raw form).
pub const OID_GITHUB_WORKFLOW_NAME: &str = "1.3.6.1.4.1.57264.1.4";
/// Fulcio extension: GitHub workflow repository (deprecated raw form).
pub const OID_GITHUB_WORKFLOW_REPOSITORY: &str = "1.3.6.1.4.1.57264.1.5";
/// Fulcio extension: GitHub workflow ref (deprecated raw form).
pub const OID_GITHUB_WORKFLOW_REF: &str = "1.3.6.1.4.1.57264.1.6";
/// Fulcio extension: source repository URI.
pub const OID_SOURCE_REPOSITORY_URI: &str = "1.3.6.1.4.1.57264.1.12";
/// Fulcio extension: source repository ref.
pub const OID_SOURCE_REPOSITORY_REF: &str = "1.3.6.1.4.1.57264.1.14";
/// Fulcio extension: build trigger.
pub const OID_BUILD_TRIGGER: &str = "1.3.6.1.4.1.57264.1.20";

impl IdentityPolicy {
    /// Exact identity and issuer.
    pub fn exact(identity: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            identity: Match::Exact(identity.into()),
            issuer: Match::Exact(issuer.into()),
            extensions: Vec::new(),
        }
    }

    /// Adds a required Fulcio extension value.
    pub fn with_extension(mut self, oid: &'static str, value: impl Into<String>) -> Self {
        self.extensions.push((oid, value.into()));
        self
    }

    fn check(&self, id: &CertificateIdentity) -> Result<()> {
        let issuer_ok = id.issuer.as_deref().is_some_and(|i| self.issuer.matches(i));
        if !issuer_ok {
            return Err(Error::IssuerMismatch {
                expected: self.issuer.describe(),
                found: id.issuer.clone(),
            });
        }
        if !id
            .subject_alternative_names
            .iter()
            .any(|san| self.identity.matches(san))
        {
            return Err(Error::IdentityMismatch {
                expected: self.identity.describe(),
                found: id.subject_alternative_names.clone(),
            });
        }
        for (oid, want) in &self.extensions {
            let found = id.extensions.get(*oid);
            if found != Some(want) {
                return Err(Error::ExtensionMismatch {
                    oid,
                    expected: want.clone(),
                    found: found.cloned(),
                });
            }
        }
        Ok(())
    }
}

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum SignerPolicy {
    /// A known public key (`--key`); the bundle must carry `publicKey` material.
    Key(VerifyingKey),
    /// A certificate chaining to the trusted root, with this identity.
    Identity(IdentityPolicy),
    /// A certificate chaining to the trusted root, any identity. For tests and tools that
    /// report the identity instead of enforcing it; never a default.
    UnsafeAnyIdentity,
}

/// Deployment-wide options. Every field weakens verification; all default to off.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifierOptions {
    /// Accept bundles without a transparency log entry (cosign `--insecure-ignore-tlog`).
    /// Certificates then cannot be time-checked and fail with [`Error::NoVerifiedTime`].
    pub insecure_ignore_tlog: bool,
    /// Skip the embedded SCT check (cosign `--insecure-ignore-sct`).
    pub insecure_ignore_sct: bool,
    /// Accept key-signed bundles that carry no transparency log entry (an entry that is present
    /// is still verified). Certificate-signed bundles always need one. Key signatures are
    /// logged only when their signer configured a log (`--tlog-upload`), so `vouch verify
    /// --key` sets this unless `--require-tlog`; cosign's equivalent is `--insecure-ignore-tlog`.
    pub keys_without_tlog: bool,
}

/// Evidence of what verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The signer.
    pub signer: VerifiedSigner,
    /// The first transparency log entry that was checked, if any.
    pub tlog: Option<TlogEvidence>,
    /// Every transparency log entry that was checked, in bundle order.
    pub tlog_entries: Vec<TlogEvidence>,
    /// The RFC 3161 timestamps that verified, in bundle order.
    pub timestamps: Vec<VerifiedTimestamp>,
    /// The verified times the certificate was checked at, with their sources.
    pub times: Vec<TimeSource>,
    /// Names of the checks that passed, in order.
    pub checks: Vec<&'static str>,
}

/// A verified time and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSource {
    /// Unix seconds.
    pub time: u64,
    /// The source.
    pub kind: TimeSourceKind,
}

/// Where a verified time came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSourceKind {
    /// An RFC 3161 timestamp from this authority (TSA certificate subject).
    Timestamp {
        /// TSA certificate subject.
        authority: String,
    },
    /// A transparency log's integrated time, from a verified signed entry timestamp.
    IntegratedTime {
        /// Global log index of the entry.
        log_index: u64,
    },
}

impl TimeSourceKind {
    /// `"rfc3161"` or `"integrated-time"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Timestamp { .. } => "rfc3161",
            Self::IntegratedTime { .. } => "integrated-time",
        }
    }
}

/// The signer that verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedSigner {
    /// A public key given by the caller.
    Key {
        /// Hex SHA-256 of its SubjectPublicKeyInfo.
        key_id: String,
    },
    /// A certificate from a trusted CA.
    Certificate(CertificateIdentity),
}

/// A verified transparency log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogEvidence {
    /// Global log index.
    pub log_index: u64,
    /// Hex log ID.
    pub log_id: String,
    /// Integrated time (unix seconds) from a verified signed entry timestamp; `None` when the
    /// entry only had an inclusion proof.
    pub integrated_time: Option<u64>,
    /// Whether an inclusion proof against a signed checkpoint was verified.
    pub inclusion_proof_verified: bool,
    /// `kindVersion.kind` and `kindVersion.version` of the entry.
    pub kind: String,
    /// Entry schema version (`0.0.1`, `0.0.2`).
    pub kind_version: String,
}

/// A value that passed verification, with the evidence. Only this crate constructs it.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    value: T,
    evidence: Evidence,
}

impl<T> Verified<T> {
    /// Wraps a value whose checks passed (crate-internal: only verification code builds these).
    pub(crate) fn new(value: T, evidence: Evidence) -> Self {
        Self { value, evidence }
    }

    /// The verified value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// What was established.
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    /// Splits into value and evidence.
    pub fn into_parts(self) -> (T, Evidence) {
        (self.value, self.evidence)
    }
}

/// What a verified blob bundle contained.
#[derive(Debug, Clone, PartialEq)]
pub enum BlobContent {
    /// A message signature over the artifact.
    MessageSignature,
    /// An in-toto statement naming the artifact as a subject.
    Statement(Statement),
}

/// Verifies bundles against a trusted root.
#[derive(Debug, Clone)]
pub struct Verifier {
    trust: TrustedRoot,
    /// The trusted root's CA chains, parsed once, their internal links verified once.
    chains: Arc<Vec<TrustedChain>>,
    /// The trusted root's timestamp authority chains, likewise.
    tsas: Arc<Vec<TrustedChain>>,
    options: VerifierOptions,
    thresholds: Thresholds,
}

/// How many independent pieces of evidence a bundle must carry (sigstore-go
/// `WithTransparencyLog(n)`, `WithObserverTimestamps(n)`; cosign and vouch `--tlog-threshold`,
/// `--timestamp-threshold`). Each is at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Verified transparency log entries (distinct log and index), unless the log check is
    /// waived by [`VerifierOptions`].
    pub tlog: usize,
    /// Verified times for a certificate: RFC 3161 timestamps plus integrated times from
    /// verified signed entry timestamps. Key-signed bundles need none (the key is trusted as
    /// given, as sigstore-go's `WithKey` verifies).
    pub timestamps: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            tlog: 1,
            timestamps: 1,
        }
    }
}

impl Verifier {
    /// A verifier with every check on.
    pub fn new(trust: TrustedRoot) -> Self {
        Self::with_options(trust, VerifierOptions::default())
    }

    /// A verifier with explicit options.
    pub fn with_options(trust: TrustedRoot, options: VerifierOptions) -> Self {
        let chains = Arc::new(TrustedChain::all(&trust));
        let tsas = Arc::new(TrustedChain::from_authorities(&trust.timestamp_authorities));
        Self {
            trust,
            chains,
            tsas,
            options,
            thresholds: Thresholds::default(),
        }
    }

    /// The same verifier demanding `thresholds` (each raised to at least 1).
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = Thresholds {
            tlog: thresholds.tlog.max(1),
            timestamps: thresholds.timestamps.max(1),
        };
        self
    }

    /// `verify-blob`: the bundle signs `artifact`, either with a message signature or with a DSSE
    /// in-toto statement listing the artifact's SHA-256 among its subjects.
    pub fn verify_blob(
        &self,
        artifact: Artifact<'_>,
        bundle: &Bundle,
        policy: &SignerPolicy,
    ) -> Result<Verified<BlobContent>> {
        let digest = artifact.sha256();
        let (key, mut evidence) = self.verify_common(bundle, policy, Some(artifact))?;
        let value = match &bundle.content {
            Content::MessageSignature(m) => {
                if let Some((alg, claimed)) = &m.digest {
                    let actual = match artifact {
                        Artifact::Bytes(b) => alg.digest(b),
                        Artifact::Sha256(d) if *alg == HashAlgorithm::Sha2_256 => d.to_vec(),
                        Artifact::Sha256(_) => {
                            return Err(Error::UnsupportedAlgorithm {
                                algorithm: format!("message digest {}", alg.proto_name()),
                            });
                        }
                    };
                    if *claimed != actual {
                        return Err(Error::DigestMismatch {
                            check: "bundle messageDigest",
                            expected: hex::encode(actual),
                            found: hex::encode(claimed),
                        });
                    }
                }
                // Over the bytes, the signature is checked with every hash the key signs with
                // (P-384: SHA-256 or SHA-384; Ed25519: pure or Ed25519ph), as sigstore-go
                // verifies the artifact with the key's verifier; the message digest was
                // compared with the artifact above.
                match artifact {
                    Artifact::Bytes(b)
                        if verify_fast(&key, Some(EcdsaHash::Sha256), b, &m.signature) => {}
                    Artifact::Bytes(b) => {
                        key.verify("message signature", b, &m.signature)?;
                    }
                    Artifact::Sha256(_) => key.verify_prehashed(
                        "message signature",
                        HashAlgorithm::Sha2_256,
                        &digest,
                        &m.signature,
                    )?,
                }
                BlobContent::MessageSignature
            }
            Content::DsseEnvelope(env) => {
                let statement = verified_statement(env, &key)?;
                let hex_digest = hex::encode(digest);
                if !statement.has_subject_digest("sha256", &hex_digest) {
                    return Err(Error::SubjectNotFound {
                        digest: format!("sha256:{hex_digest}"),
                    });
                }
                BlobContent::Statement(statement)
            }
        };
        evidence.checks.push("signature");
        Ok(Verified { value, evidence })
    }

    /// `verify-attestation`: the bundle holds a DSSE in-toto statement with `predicate_type`
    /// (when given) about `subject_sha256` (when given).
    pub fn verify_attestation(
        &self,
        bundle: &Bundle,
        subject_sha256: Option<[u8; 32]>,
        predicate_type: Option<&str>,
        policy: &SignerPolicy,
    ) -> Result<Verified<Statement>> {
        let Content::DsseEnvelope(env) = &bundle.content else {
            return Err(Error::MaterialMismatch {
                reason: "bundle holds a message signature, not an attestation",
            });
        };
        let (key, mut evidence) = self.verify_common(bundle, policy, None)?;
        let statement = verified_statement(env, &key)?;
        evidence.checks.push("signature");
        if let Some(digest) = subject_sha256 {
            let hex_digest = hex::encode(digest);
            if !statement.has_subject_digest("sha256", &hex_digest) {
                return Err(Error::SubjectNotFound {
                    digest: format!("sha256:{hex_digest}"),
                });
            }
            evidence.checks.push("subject digest");
        }
        if let Some(expected) = predicate_type {
            if statement.predicate_type != expected {
                return Err(Error::PredicateTypeMismatch {
                    expected: expected.to_owned(),
                    found: statement.predicate_type,
                });
            }
            evidence.checks.push("predicate type");
        }
        Ok(Verified {
            value: statement,
            evidence,
        })
    }

    /// Client spec §4 steps 1 to 3: signer material, transparency log, certificate and identity.
    /// Returns the key that must have made the signature.
    fn verify_common(
        &self,
        bundle: &Bundle,
        policy: &SignerPolicy,
        artifact: Option<Artifact<'_>>,
    ) -> Result<(VerifyingKey, Evidence)> {
        let leaf = match (&bundle.material, policy) {
            (VerificationMaterial::PublicKey { .. }, SignerPolicy::Key(_)) => None,
            (VerificationMaterial::PublicKey { .. }, _) => {
                return Err(Error::MaterialMismatch {
                    reason: "bundle names a public key but a certificate identity was requested",
                });
            }
            (_, SignerPolicy::Key(_)) => {
                return Err(Error::MaterialMismatch {
                    reason: "bundle carries a certificate but a public key was given",
                });
            }
            (material, _) => {
                let der = material.leaf_certificate().ok_or(Error::InvalidBundle {
                    rule: "expected non-empty certificate chain",
                })?;
                Some(ParsedCert::from_der(der)?)
            }
        };
        let (key, signer_der) = match (&leaf, policy) {
            (Some(cert), _) => (cert.key.clone(), cert.der.clone()),
            (None, SignerPolicy::Key(k)) => (k.clone(), k.spki_der().to_vec()),
            // Excluded by the match above: public-key material only pairs with a key policy.
            (None, _) => {
                return Err(Error::MaterialMismatch {
                    reason: "bundle names a public key but a certificate identity was requested",
                });
            }
        };
        let mut checks = Vec::new();

        // RFC 3161 timestamps (client spec §4 step 1): each one must verify; one that fails
        // fails the bundle (sigstore-go merely does not count it).
        let signature = bundle.content.signature();
        let timestamps = bundle
            .rfc3161_timestamps
            .iter()
            .map(|token| timestamp::verify(token, signature, &self.tsas))
            .collect::<Result<Vec<_>>>()?;
        if !timestamps.is_empty() {
            checks.push("RFC 3161 timestamp");
        }

        // Transparency log (§4 steps 1 and 3).
        let key_signed_without_log =
            leaf.is_none() && bundle.tlog_entries.is_empty() && self.options.keys_without_tlog;
        let mut tlog_entries = Vec::new();
        if !(self.options.insecure_ignore_tlog || key_signed_without_log) {
            if bundle.tlog_entries.is_empty() {
                return Err(Error::MissingTlogEntry);
            }
            let expected = rekor::Expected {
                content: &bundle.content,
                signer_der: &signer_der,
                signer_is_certificate: leaf.is_some(),
                signer_key: &key,
                artifact,
            };
            let tsa_times: Vec<u64> = timestamps.iter().map(|t| t.time).collect();
            for entry in &bundle.tlog_entries {
                let evidence = self.verify_tlog_entry(entry, &tsa_times, &mut checks)?;
                rekor::check_body(entry, &expected)?;
                for check in ["tlog entry matches bundle", rekor::entry_check_name(entry)] {
                    if !checks.contains(&check) {
                        checks.push(check);
                    }
                }
                tlog_entries.push(evidence);
            }
            let mut distinct: Vec<(&str, u64)> = tlog_entries
                .iter()
                .map(|t| (t.log_id.as_str(), t.log_index))
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.len() < self.thresholds.tlog {
                return Err(Error::ThresholdNotMet {
                    what: "transparency log entries",
                    required: self.thresholds.tlog,
                    found: distinct.len(),
                });
            }
        }

        // Verified times: every timestamp, and the integrated time of every v1 entry whose
        // signed entry timestamp verified (sigstore-python `_establish_time`).
        let mut times: Vec<TimeSource> = timestamps
            .iter()
            .map(|t| TimeSource {
                time: t.time,
                kind: TimeSourceKind::Timestamp {
                    authority: t.authority.clone(),
                },
            })
            .collect();
        // An entry repeated in the bundle is one time source, not several.
        let mut seen: Vec<(&str, u64)> = Vec::new();
        times.extend(tlog_entries.iter().filter_map(|t| {
            let id = (t.log_id.as_str(), t.log_index);
            if seen.contains(&id) {
                return None;
            }
            seen.push(id);
            t.integrated_time.map(|time| TimeSource {
                time,
                kind: TimeSourceKind::IntegratedTime {
                    log_index: t.log_index,
                },
            })
        }));

        // Certificate: chain at every verified time, profile, SCT, identity (§4 step 2).
        let signer = match leaf {
            None => {
                times.clear();
                VerifiedSigner::Key {
                    key_id: hex::encode(key.key_id()),
                }
            }
            Some(leaf) => {
                if times.is_empty() {
                    return Err(Error::NoVerifiedTime {
                        reason: "a certificate needs a verified RFC 3161 timestamp or a signed entry timestamp from the log",
                    });
                }
                if times.len() < self.thresholds.timestamps {
                    return Err(Error::ThresholdNotMet {
                        what: "verified timestamps",
                        required: self.thresholds.timestamps,
                        found: times.len(),
                    });
                }
                let mut path = None;
                for source in &times {
                    path = Some(certs::verify_chain(&leaf, &self.chains, source.time)?);
                }
                let path = path.ok_or(Error::NoVerifiedTime {
                    reason: "no verified time",
                })?;
                checks.push("certificate chain");
                certs::check_leaf_profile(&leaf)?;
                checks.push("certificate profile");
                if !self.options.insecure_ignore_sct {
                    let issuer = path.first().ok_or(Error::UntrustedCertificate {
                        issuer: String::new(),
                    })?;
                    certs::verify_embedded_sct(&leaf, issuer, &self.trust)?;
                    checks.push("SCT");
                }
                let identity = certs::identity(&leaf)?;
                if let SignerPolicy::Identity(policy) = policy {
                    policy.check(&identity)?;
                    checks.push("identity");
                }
                VerifiedSigner::Certificate(identity)
            }
        };
        Ok((
            key,
            Evidence {
                signer,
                tlog: tlog_entries.first().cloned(),
                tlog_entries,
                timestamps,
                times,
                checks,
            },
        ))
    }

    /// Verifies one entry: inclusion proof against a checkpoint signed by the log, signed entry
    /// timestamp (Rekor v1), the log's key valid at the entry's time. `tsa_times` are the
    /// bundle's verified RFC 3161 times: a Rekor v2 entry has no integrated time and needs
    /// them (sigstore-go, conformance `rekor2-no-timestamp_fail`).
    fn verify_tlog_entry(
        &self,
        entry: &TlogEntry,
        tsa_times: &[u64],
        checks: &mut Vec<&'static str>,
    ) -> Result<TlogEvidence> {
        let untrusted = |at_time| Error::UntrustedLog {
            key_id: base64_std(&entry.log_id),
            at_time,
        };
        let log = self
            .trust
            .tlog(&entry.log_id)
            .ok_or_else(|| untrusted(false))?;
        let key = log.key.as_ref().ok_or_else(|| untrusted(false))?;
        let inclusion_proof_verified = match &entry.inclusion_proof {
            Some(proof) => {
                tlog::verify_inclusion(entry, proof, log)?;
                for check in ["checkpoint signature", "inclusion proof"] {
                    if !checks.contains(&check) {
                        checks.push(check);
                    }
                }
                true
            }
            None => false,
        };
        let integrated_time = match &entry.signed_entry_timestamp {
            Some(set) => {
                let message = rekor::set_message(entry);
                if !verify_fast(key, None, &message, set) {
                    key.verify("signed entry timestamp", &message, set)?;
                }
                if !log.valid_for.contains(entry.integrated_time) {
                    return Err(untrusted(true));
                }
                if entry.integrated_time > now().saturating_add(MAX_FUTURE_SKEW_SECS) {
                    return Err(Error::NoVerifiedTime {
                        reason: "integrated time is in the future",
                    });
                }
                if !checks.contains(&"signed entry timestamp") {
                    checks.push("signed entry timestamp");
                }
                Some(entry.integrated_time)
            }
            None if entry.kind_version == "0.0.2"
                && matches!(entry.kind.as_str(), "hashedrekord" | "dsse") =>
            {
                // Rekor v2: no promise, no integrated time; the log key must have been valid
                // at the verified timestamps.
                if tsa_times.is_empty() {
                    return Err(Error::NoVerifiedTime {
                        reason: "a Rekor v2 entry needs a verified RFC 3161 timestamp",
                    });
                }
                if !tsa_times.iter().all(|t| log.valid_for.contains(*t)) {
                    return Err(untrusted(true));
                }
                None
            }
            None if inclusion_proof_verified => None,
            None => {
                return Err(Error::NoVerifiedTime {
                    reason: "log entry has neither inclusion promise nor inclusion proof",
                });
            }
        };
        Ok(TlogEvidence {
            log_index: entry.log_index,
            log_id: hex::encode(&entry.log_id),
            integrated_time,
            inclusion_proof_verified,
            kind: entry.kind.clone(),
            kind_version: entry.kind_version.clone(),
        })
    }
}

/// The digest an ECDSA signature was made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcdsaHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

/// ECDSA verification through ring (already linked through rustls; several times faster than
/// the pure-Rust curves) for P-256 and P-384 keys. `hash: None` accepts what
/// [`VerifyingKey::verify`] accepts over a whole message (P-256: SHA-256; P-384: SHA-384 or
/// SHA-256, the latter being what cosign signs with); `Some(hash)` exactly that digest, as
/// [`VerifyingKey::verify_prehashed`] does.
///
/// `true` means the signature verifies. `false` means ring did not accept it (or the key is
/// not ECDSA); callers then fall back to [`VerifyingKey`]'s own verifier, which decides and
/// names the failed check. The set of accepted signatures is that of a correct ECDSA verifier;
/// only the common, valid case is faster.
pub(crate) fn verify_fast(
    key: &VerifyingKey,
    hash: Option<EcdsaHash>,
    message: &[u8],
    signature: &[u8],
) -> bool {
    use ring::signature as rs;
    type Alg = &'static rs::EcdsaVerificationAlgorithm;
    let algorithms: &[Alg] = match (key.algorithm_name(), hash) {
        ("ECDSA P-256", None | Some(EcdsaHash::Sha256)) => &[&rs::ECDSA_P256_SHA256_ASN1],
        ("ECDSA P-256", Some(EcdsaHash::Sha384)) => &[&rs::ECDSA_P256_SHA384_ASN1],
        ("ECDSA P-384", None) => &[&rs::ECDSA_P384_SHA384_ASN1, &rs::ECDSA_P384_SHA256_ASN1],
        ("ECDSA P-384", Some(EcdsaHash::Sha384)) => &[&rs::ECDSA_P384_SHA384_ASN1],
        ("ECDSA P-384", Some(EcdsaHash::Sha256)) => &[&rs::ECDSA_P384_SHA256_ASN1],
        _ => return false,
    };
    let Ok(spki) = spki::SubjectPublicKeyInfoRef::try_from(key.spki_der()) else {
        return false;
    };
    let Some(point) = spki.subject_public_key.as_bytes() else {
        return false;
    };
    algorithms.iter().any(|algorithm| {
        rs::UnparsedPublicKey::new(*algorithm, point)
            .verify(message, signature)
            .is_ok()
    })
}

/// Verifies a DSSE envelope with `key` and parses its in-toto statement (§4 step 4).
fn verified_statement(env: &Envelope, key: &VerifyingKey) -> Result<Statement> {
    env.verify(key)?;
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(Error::PayloadTypeMismatch {
            expected: IN_TOTO_PAYLOAD_TYPE.to_owned(),
            found: env.payload_type.clone(),
        });
    }
    Statement::from_json(&env.payload)
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, SigningKey};

    /// The ring fast path accepts exactly what `VerifyingKey` accepts on valid signatures, and
    /// nothing on tampered ones (where the slow path then decides and fails).
    #[test]
    fn fast_verification_agrees_with_the_keys_module() {
        for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            let key = SigningKey::generate(algorithm).expect("key");
            let public = key.public_key();
            // vouch signs ECDSA over SHA-256 for both curves, as cosign does.
            let signature = key.sign_bytes(b"message");
            assert!(public.verify("test", b"message", &signature).is_ok());
            assert!(verify_fast(&public, None, b"message", &signature));
            assert!(verify_fast(
                &public,
                Some(EcdsaHash::Sha256),
                b"message",
                &signature
            ));
            assert!(!verify_fast(
                &public,
                Some(EcdsaHash::Sha384),
                b"message",
                &signature
            ));
            assert!(!verify_fast(&public, None, b"messagE", &signature));
            let mut tampered = signature.clone();
            if let Some(last) = tampered.last_mut() {
                *last ^= 1;
            }
            assert!(!verify_fast(&public, None, b"message", &tampered));
            assert!(public.verify("test", b"message", &tampered).is_err());
        }
        let ed = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
        let signature = ed.sign_bytes(b"message");
        assert!(!verify_fast(&ed.public_key(), None, b"message", &signature));
        assert!(
            ed.public_key()
                .verify("test", b"message", &signature)
                .is_ok()
        );
    }
}
