//! The one error type of `vouch-sign`.
//!
//! Variants are grouped by who is at fault: the input was malformed or unsupported, a key file
//! could not be opened, a verification check failed (each variant names the check and carries
//! what was expected and what was found), or the local environment failed (I/O, environment
//! variables). Callers match on variants; the messages are for people.

use std::path::PathBuf;

/// Everything that can go wrong while signing, parsing or verifying.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---------------------------------------------------------------- bad input
    /// A document or field could not be parsed.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed (`"bundle"`, `"DSSE envelope"`, `"certificate"`, ...).
        what: &'static str,
        /// The parser's explanation.
        detail: String,
    },
    /// An input exceeded a limit from [`crate::Limits`].
    #[error("{what} is {actual} bytes/items, over the limit of {limit}")]
    TooLarge {
        /// Which input.
        what: &'static str,
        /// The configured limit.
        limit: usize,
        /// The size found.
        actual: usize,
    },
    /// A media type this library does not know.
    #[error("unsupported {what} media type {media_type:?}")]
    UnsupportedMediaType {
        /// Bundle or trusted root.
        what: &'static str,
        /// The media type found.
        media_type: String,
    },
    /// A key or signature algorithm this library cannot use for the requested operation.
    #[error("unsupported key or algorithm: {algorithm}")]
    UnsupportedAlgorithm {
        /// OID, key details name or PEM label of the key.
        algorithm: String,
    },
    /// A transparency log entry kind this verifier cannot check (Rekor v2 `hashedrekord 0.0.2`
    /// needs RFC 3161 timestamps, `intoto` entries are not accepted by current clients).
    #[error("unsupported transparency log entry {kind} {version}")]
    UnsupportedEntryKind {
        /// `kindVersion.kind`.
        kind: String,
        /// `kindVersion.version`.
        version: String,
    },
    /// A PEM block had a label other than the expected ones.
    #[error("unexpected PEM label {found:?}, expected one of {expected:?}")]
    UnexpectedPemLabel {
        /// Labels accepted here.
        expected: &'static [&'static str],
        /// Label found.
        found: String,
    },
    /// A required field was absent.
    #[error("{what} is missing {field}")]
    MissingField {
        /// The containing structure.
        what: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// The bundle has no transparency log entry where one is required (every certificate;
    /// key signatures unless the caller allowed them without one, as cosign's
    /// `--insecure-ignore-tlog`).
    #[error("invalid bundle: expected a transparency log entry")]
    MissingTlogEntry,
    /// The bundle's shape breaks a rule of its version (tlog entry count, missing
    /// checkpoint, certificate form, ...).
    #[error("invalid bundle: {rule}")]
    InvalidBundle {
        /// The rule that was broken.
        rule: &'static str,
    },

    // ---------------------------------------------------------------- key files
    /// The password was wrong or the encrypted key was altered (secretbox authentication failed).
    #[error("cannot decrypt private key: wrong password or corrupted key file")]
    KeyDecryption,
    /// scrypt parameters in a key file are outside the accepted range (denial-of-service guard).
    #[error("scrypt parameters N={n} r={r} p={p} outside the accepted range")]
    KdfParamsOutOfRange {
        /// Cost parameter N.
        n: u64,
        /// Block size r.
        r: u32,
        /// Parallelism p.
        p: u32,
    },
    /// A key reference string could not be resolved to a key.
    #[error("cannot resolve key reference {reference:?}: {reason}")]
    KeyRef {
        /// The reference as given.
        reference: String,
        /// Why it failed (scheme unknown, variable unset).
        reason: &'static str,
    },

    // ---------------------------------------------------------------- verification failed
    /// A signature did not verify.
    #[error("signature check failed: {check}")]
    SignatureInvalid {
        /// Which signature: `"message signature"`, `"DSSE envelope"`, `"signed entry timestamp"`,
        /// `"certificate chain"`, `"SCT"`, `"checkpoint"`.
        check: &'static str,
    },
    /// A digest differs from the one expected.
    #[error("{check}: digest mismatch, expected {expected}, found {found}")]
    DigestMismatch {
        /// Which comparison.
        check: &'static str,
        /// Expected value (hex).
        expected: String,
        /// Found value (hex).
        found: String,
    },
    /// The transparency log entry does not describe this signature, key or artifact.
    #[error("transparency log entry is inconsistent with the bundle: {field} differs")]
    TlogBodyMismatch {
        /// Which part of the entry body differs.
        field: &'static str,
    },
    /// The log entry names a log that the trusted root does not list (or not for that time).
    #[error("transparency log {key_id} is not trusted{}", if *.at_time { " at the entry's time" } else { "" })]
    UntrustedLog {
        /// Base64 log ID from the entry.
        key_id: String,
        /// True when the log is known but its key was not valid at the integrated time.
        at_time: bool,
    },
    /// The inclusion proof or its signed checkpoint did not verify.
    #[error("inclusion proof check failed at {check}: {source}")]
    InclusionProof {
        /// Which step: checkpoint syntax, key, signature, proof hashes, inclusion proof.
        check: &'static str,
        /// The Merkle library's error, with the values it compared.
        #[source]
        source: vouch_merkle::Error,
    },
    /// An RFC 3161 timestamp in the bundle did not verify (a timestamp that fails is a failed
    /// check, never skipped).
    #[error("RFC 3161 timestamp check failed at {check}: {detail}")]
    Timestamp {
        /// Which step: `timestamp syntax`, `timestamp status`, `timestamp message imprint`,
        /// `timestamp signed attributes`, `timestamp signature`, `timestamp authority`,
        /// `timestamp certificate chain`, `timestamp certificate profile`,
        /// `timestamp authority validity`.
        check: &'static str,
        /// What was found.
        detail: String,
    },
    /// Fewer pieces of evidence than the caller's threshold demands.
    #[error("{what}: {found} verified, {required} required")]
    ThresholdNotMet {
        /// `"transparency log entries"` or `"verified timestamps"`.
        what: &'static str,
        /// The threshold.
        required: usize,
        /// How many verified.
        found: usize,
    },
    /// No trustworthy time for the signature was established.
    #[error("no verified signing time: {reason}")]
    NoVerifiedTime {
        /// Why (no tlog entry, no signed entry timestamp, ...).
        reason: &'static str,
    },
    /// The certificate does not chain to a certificate authority of the trusted root.
    #[error("certificate issued by {issuer:?} does not chain to a trusted certificate authority")]
    UntrustedCertificate {
        /// Issuer distinguished name of the certificate that could not be chained.
        issuer: String,
    },
    /// A certificate of the chain was not valid at the signing time.
    #[error("certificate {subject:?} valid {not_before}..={not_after} (unix s), not at {at}")]
    CertificateNotValidAt {
        /// Subject DN (empty for Fulcio leaves).
        subject: String,
        /// Start of validity, unix seconds.
        not_before: u64,
        /// End of validity, unix seconds.
        not_after: u64,
        /// The signing time checked, unix seconds.
        at: u64,
    },
    /// The certificate's profile is wrong for code signing (EKU, key usage, CA flag).
    #[error("certificate profile check failed: {check}")]
    CertificateProfile {
        /// The property that is missing or wrong.
        check: &'static str,
    },
    /// The certificate carries no valid SCT from a trusted CT log.
    #[error("signed certificate timestamp check failed: {reason}")]
    Sct {
        /// What went wrong.
        reason: &'static str,
    },
    /// The certificate's subject alternative names do not match the policy.
    #[error("certificate identity mismatch: expected {expected}, found {found:?}")]
    IdentityMismatch {
        /// The policy's identity (exact value or `regexp:` pattern).
        expected: String,
        /// SAN values in the certificate.
        found: Vec<String>,
    },
    /// The certificate's OIDC issuer does not match the policy.
    #[error("certificate OIDC issuer mismatch: expected {expected}, found {found:?}")]
    IssuerMismatch {
        /// The policy's issuer.
        expected: String,
        /// Issuer from the certificate (extension 1.3.6.1.4.1.57264.1.1 or .1.8).
        found: Option<String>,
    },
    /// A Fulcio extension required by the policy does not match.
    #[error("certificate extension {oid} mismatch: expected {expected:?}, found {found:?}")]
    ExtensionMismatch {
        /// The extension OID.
        oid: &'static str,
        /// Expected value.
        expected: String,
        /// Value found.
        found: Option<String>,
    },
    /// The DSSE payload type is not the expected one.
    #[error("DSSE payload type {found:?}, expected {expected:?}")]
    PayloadTypeMismatch {
        /// Expected payload type.
        expected: String,
        /// Payload type found.
        found: String,
    },
    /// The in-toto predicate type is not the expected one.
    #[error("in-toto predicate type {found:?}, expected {expected:?}")]
    PredicateTypeMismatch {
        /// Expected predicate type.
        expected: String,
        /// Predicate type found.
        found: String,
    },
    /// The artifact digest is not among the statement's subjects.
    #[error("artifact digest {digest} is not a subject of the statement")]
    SubjectNotFound {
        /// `sha256:<hex>` of the artifact.
        digest: String,
    },
    /// The bundle's verification material does not fit the verification requested (public key
    /// bundle verified against an identity policy, or the other way round).
    #[error("verification material mismatch: {reason}")]
    MaterialMismatch {
        /// What does not fit.
        reason: &'static str,
    },

    /// A claim inside the signed payload does not match what is being verified (simple-signing
    /// `critical.type`, a required `--annotations` value, the statement's subject annotations).
    #[error("signed claim {claim} mismatch: expected {expected:?}, found {found:?}")]
    ClaimMismatch {
        /// The claim's path in the payload.
        claim: String,
        /// Expected value.
        expected: String,
        /// Value found, if any.
        found: Option<String>,
    },
    /// No signature or attestation for the image was found by either storage scheme.
    #[error("no {what} found for {image} (looked in tag {tag} and the referrers of the digest)")]
    NothingFound {
        /// `signatures` or `attestations`.
        what: &'static str,
        /// `repository@digest`.
        image: String,
        /// The legacy tag that was read.
        tag: String,
    },

    // ---------------------------------------------------------------- environment
    /// Reading or writing the registry (or OCI layout) failed.
    #[error(transparent)]
    Oci(#[from] vouch_oci::Error),
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
    /// A PKCS#11 token, module or key failed (names the token or object).
    #[error(transparent)]
    Pkcs11(#[from] crate::pkcs11::Pkcs11Error),
    /// A service a signer relies on (transparency log, timestamp authority, KMS) failed or
    /// refused; `source` is that client's own typed error.
    #[error("{service}: {source}")]
    Service {
        /// Which service, e.g. `transparency log upload`.
        service: &'static str,
        /// The client's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// The verification check this error reports as failed, or `None` when the error is not a
    /// verification verdict (I/O, registry, environment): callers map the two to different
    /// exit codes. Malformed and oversized signature material counts as a failed check
    /// (`"bundle format"`): it was examined and did not hold.
    pub fn failed_check(&self) -> Option<&'static str> {
        Some(match self {
            Self::Malformed { .. }
            | Self::TooLarge { .. }
            | Self::UnsupportedMediaType { .. }
            | Self::MissingField { .. }
            | Self::InvalidBundle { .. }
            | Self::UnexpectedPemLabel { .. } => "bundle format",
            Self::UnsupportedAlgorithm { .. } => "supported algorithm",
            Self::UnsupportedEntryKind { .. } => "transparency log entry kind",
            Self::MissingTlogEntry => "transparency log entry",
            Self::SignatureInvalid { check } => check,
            Self::DigestMismatch { check, .. } => check,
            Self::TlogBodyMismatch { .. } => "tlog entry matches bundle",
            Self::UntrustedLog { .. } => "trusted transparency log",
            Self::InclusionProof { .. } => "inclusion proof",
            Self::Timestamp { .. } => "RFC 3161 timestamp",
            Self::ThresholdNotMet { .. } => "threshold",
            Self::NoVerifiedTime { .. } => "verified signing time",
            Self::UntrustedCertificate { .. } => "certificate chain",
            Self::CertificateNotValidAt { .. } => "certificate validity at signing time",
            Self::CertificateProfile { .. } => "certificate profile",
            Self::Sct { .. } => "SCT",
            Self::IdentityMismatch { .. } => "identity",
            Self::IssuerMismatch { .. } => "OIDC issuer",
            Self::ExtensionMismatch { .. } => "certificate extension",
            Self::PayloadTypeMismatch { .. } => "DSSE payload type",
            Self::PredicateTypeMismatch { .. } => "predicate type",
            Self::SubjectNotFound { .. } => "subject digest",
            Self::MaterialMismatch { .. } => "verification material",
            Self::ClaimMismatch { .. } => "signed claims",
            Self::NothingFound { .. } => "signature present",
            Self::KeyDecryption
            | Self::KdfParamsOutOfRange { .. }
            | Self::KeyRef { .. }
            | Self::Oci(_)
            | Self::Io { .. }
            | Self::Random
            | Self::Pkcs11(_)
            | Self::Service { .. } => return None,
        })
    }

    /// Shorthand for [`Error::Malformed`].
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
