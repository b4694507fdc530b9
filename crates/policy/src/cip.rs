//! sigstore policy-controller `ClusterImagePolicy` (policy.sigstore.dev/v1beta1 and v1alpha1,
//! which have the same fields), read as written and evaluated through the same
//! [`ImageVerifier`] as Kyverno rules.
//!
//! Semantics (`PC:pkg/apis/policy/v1beta1/clusterimagepolicy_types.go`, `_validation.go`,
//! `PC:pkg/webhook/validator.go`; notes §4.1):
//! * `spec.images[].glob` selects images ([`glob_match`]: `*` stays within a path component,
//!   `**` crosses `/`), matched against the fully-qualified name (`index.docker.io/library/…`)
//!   and, as policy-controller still does, the image string as written.
//! * **Any one** authority satisfies a policy; **every** policy matching an image must pass.
//! * An authority is `key` (inline PEM `data`), `keyless` (`identities` with strict
//!   `issuer`/`subject` equality or the `*RegExp` forms) or `static` (`pass`/`fail`).
//! * An authority with `attestations` is satisfied by those attestations (each name needs at
//!   least one verified statement of its predicate type), not by a plain signature.
//! * `key` without `ctlog`: the transparency log is not checked (`checkOptsFromAuthority`);
//!   `keyless`: log entries are checked offline against the trusted root.
//! * `mode: warn` turns failures into admission warnings.
//!
//! Not supported, reported as errors rather than silently passing: CUE/Rego policies
//! (`spec.policy`, `attestations[].policy`), `key.secretRef`/`key.kms`, `source`,
//! `rfc3161timestamp`. `trustRootRef` is ignored with a validation warning: trust comes from
//! the `--trusted-root` file instead; `keyless.url` and `ctlog.url` are never contacted.

use serde::Deserialize;
use serde_json::Value;

use crate::Scheme;
use crate::error::Problem;
use crate::eval::{CheckError, ImageVerifier, Outcome};
use crate::image::{ImageInfo, glob_match};
use crate::kyverno::{Attestor, AttestorKind, CtLog, Keyless, Rekor, StaticKeys};

/// A `ClusterImagePolicy`.
#[derive(Debug, Clone)]
pub struct ClusterImagePolicy {
    /// metadata.name.
    pub name: String,
    /// `policy.sigstore.dev/v1beta1` or `/v1alpha1`.
    pub api_version: String,
    /// The spec.
    pub spec: CipSpec,
    /// The `TrustRoot`s its `trustRootRef`s name, by name (filled when the policy set is
    /// built from the loaded files).
    pub trust_roots: std::collections::BTreeMap<String, TrustRootPem>,
}

/// A policy-controller `TrustRoot` (policy.sigstore.dev/v1alpha1) with `spec.sigstoreKeys`,
/// as PEM text per kind of authority (the resource carries base64 PEM).
#[derive(Debug, Clone, Default)]
pub struct TrustRootPem {
    /// metadata.name.
    pub name: String,
    /// Fulcio CA chains.
    pub certificate_authorities: Option<String>,
    /// Rekor keys.
    pub tlogs: Option<String>,
    /// CT log keys.
    pub ctlogs: Option<String>,
}

/// Reads a `TrustRoot`: only `spec.sigstoreKeys` (inline material) is supported; `remote`
/// and `repository` (TUF) are refused.
pub(crate) fn trust_root_from_value(doc: &Value) -> Result<TrustRootPem, String> {
    use base64::Engine as _;
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Spec {
        remote: Option<Value>,
        repository: Option<Value>,
        sigstore_keys: Option<Keys>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Keys {
        #[serde(default)]
        certificate_authorities: Vec<Ca>,
        #[serde(default)]
        t_logs: Vec<Log>,
        #[serde(default)]
        ct_logs: Vec<Log>,
        #[serde(default)]
        timestamp_authorities: Vec<Ca>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Ca {
        // Read so that a misspelling is refused; the chain alone is the trust.
        #[serde(rename = "subject")]
        _subject: Option<Value>,
        #[serde(rename = "uri")]
        _uri: Option<String>,
        #[serde(default)]
        cert_chain: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Log {
        // Read so that a misspelling is refused; the key alone is the trust (URLs are
        // never contacted).
        #[serde(rename = "baseURL")]
        _base_url: Option<String>,
        #[serde(rename = "hashAlgorithm")]
        _hash_algorithm: Option<String>,
        #[serde(default)]
        public_key: String,
    }
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let spec: Spec = crate::strict::from_value(&doc["spec"], "spec").map_err(|e| e.to_string())?;
    if spec.remote.is_some() || spec.repository.is_some() {
        return Err(
            "spec.remote / spec.repository: not supported: TUF trust roots (use spec.sigstoreKeys)"
                .into(),
        );
    }
    let keys = spec
        .sigstore_keys
        .ok_or("spec.sigstoreKeys: missing field(s)")?;
    if !keys.timestamp_authorities.is_empty() {
        return Err(
            "spec.sigstoreKeys.timestampAuthorities: not supported: RFC 3161 timestamp authorities"
                .into(),
        );
    }
    let decode = |what: String, b64: &str| -> Result<String, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("{what}: not base64: {e}"))?;
        String::from_utf8(bytes).map_err(|_| format!("{what}: not PEM text"))
    };
    let join = |items: Vec<String>| (!items.is_empty()).then(|| items.join("\n"));
    let key = |what: String, b64: &str| -> Result<String, String> {
        let pem = decode(what.clone(), b64)?;
        vouch_sign::VerifyingKey::from_pem(pem.trim())
            .map_err(|e| format!("{what}: not a PEM public key: {e}"))?;
        Ok(pem)
    };
    let chain = |what: String, b64: &str| -> Result<String, String> {
        let pem = decode(what.clone(), b64)?;
        crate::trust::parse_certificates(&pem).map_err(|e| format!("{what}: {e}"))?;
        Ok(pem)
    };
    Ok(TrustRootPem {
        name,
        certificate_authorities: join(
            keys.certificate_authorities
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    chain(
                        format!("spec.sigstoreKeys.certificateAuthorities[{i}].certChain"),
                        &c.cert_chain,
                    )
                })
                .collect::<Result<_, _>>()?,
        ),
        tlogs: join(
            keys.t_logs
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    key(
                        format!("spec.sigstoreKeys.tLogs[{i}].publicKey"),
                        &l.public_key,
                    )
                })
                .collect::<Result<_, _>>()?,
        ),
        ctlogs: join(
            keys.ct_logs
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    key(
                        format!("spec.sigstoreKeys.ctLogs[{i}].publicKey"),
                        &l.public_key,
                    )
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// `spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CipSpec {
    /// Image globs.
    #[serde(default)]
    pub images: Vec<ImagePattern>,
    /// Authorities (OR).
    #[serde(default)]
    pub authorities: Vec<Authority>,
    /// CIP-level CUE/Rego policy (not supported).
    pub policy: Option<Value>,
    /// `enforce` (default) or `warn`.
    pub mode: Option<String>,
    /// Resource matchers `{group, version, resource, selector}` (not evaluated; reported).
    #[serde(rename = "match", default)]
    pub match_: Vec<Value>,
}

/// `images[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePattern {
    /// The glob.
    pub glob: Option<String>,
}

/// `authorities[]`: exactly one of `key`, `keyless`, `static`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authority {
    /// Name (`authority-<i>` when unset).
    pub name: Option<String>,
    /// Public key.
    pub key: Option<KeyRef>,
    /// Fulcio identities.
    pub keyless: Option<KeylessRef>,
    /// Fixed verdict.
    #[serde(rename = "static")]
    pub static_: Option<StaticRef>,
    /// Alternate signature sources (not supported).
    #[serde(default)]
    pub source: Vec<Value>,
    /// Transparency log (`ctlog` is the Rekor setting despite its name).
    pub ctlog: Option<TlogRef>,
    /// TSA settings (not supported).
    pub rfc3161timestamp: Option<Value>,
    /// `legacy` (default) or `bundle`: the one storage scheme this authority reads.
    pub signature_format: Option<String>,
    /// Attestations that satisfy this authority.
    #[serde(default)]
    pub attestations: Vec<CipAttestation>,
}

impl Authority {
    /// The one storage scheme `signatureFormat` names. policy-controller
    /// (`pkg/webhook/validator.go`, `checkOptsFromAuthority`) sets
    /// `NewBundleFormat: authority.SignatureFormat == "bundle"`, and cosign then reads only
    /// Sigstore bundles stored as OCI referrers; unset or `legacy` reads only cosign's
    /// `.sig` / `.att` tags. Reading both would accept a signature the policy's own
    /// controller never looks at.
    pub fn scheme(&self) -> Scheme {
        match self.signature_format.as_deref() {
            Some("bundle") => Scheme::Referrer,
            _ => Scheme::LegacyTag,
        }
    }
}

/// `key`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRef {
    /// PEM public key.
    pub data: Option<String>,
    /// Secret holding the key (not supported: no API server).
    pub secret_ref: Option<Value>,
    /// KMS URI (not supported offline).
    pub kms: Option<String>,
    /// `sha224`/`sha256`/`sha384`/`sha512`.
    pub hash_algorithm: Option<String>,
}

/// `keyless`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeylessRef {
    /// Fulcio URL (never contacted).
    pub url: Option<String>,
    /// Accepted identities (any one).
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// CA certificate reference (trust comes from the trusted root instead).
    #[serde(rename = "ca-cert")]
    pub ca_cert: Option<Value>,
    /// TrustRoot name (ignored with a warning).
    pub trust_root_ref: Option<String>,
    /// Skip the SCT check.
    #[serde(rename = "insecureIgnoreSCT")]
    pub insecure_ignore_sct: Option<bool>,
}

/// `identities[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Exact issuer.
    pub issuer: Option<String>,
    /// Exact subject (SAN).
    pub subject: Option<String>,
    /// Issuer regular expression.
    #[serde(rename = "issuerRegExp")]
    pub issuer_regexp: Option<String>,
    /// Subject regular expression.
    #[serde(rename = "subjectRegExp")]
    pub subject_regexp: Option<String>,
}

/// `static`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRef {
    /// `pass` or `fail`.
    #[serde(default)]
    pub action: String,
    /// Message for `fail`.
    pub message: Option<String>,
}

/// `ctlog`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlogRef {
    /// Rekor URL (never contacted).
    pub url: Option<String>,
    /// TrustRoot name (ignored with a warning).
    pub trust_root_ref: Option<String>,
}

/// `attestations[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CipAttestation {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Short name (`spdxjson`, …) or URI.
    #[serde(default)]
    pub predicate_type: String,
    /// CUE/Rego policy over the statement (not supported).
    pub policy: Option<AttestationPolicy>,
}

/// `attestations[].policy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttestationPolicy {
    /// `cue` or `rego`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Inline policy.
    pub data: Option<String>,
    /// Remote policy.
    pub remote: Option<Value>,
    /// ConfigMap policy.
    pub config_map_ref: Option<Value>,
}

/// cosign's short predicate type names (`sigstore/cosign:pkg/cosign/attestation`), which
/// policy-controller still accepts.
pub fn predicate_type_uri(short: &str) -> Option<&'static str> {
    Some(match short {
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        "slsaprovenance" | "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
        "slsaprovenance1" => "https://slsa.dev/provenance/v1",
        "spdx" | "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "link" => "https://in-toto.io/Link/v1",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex" => "https://openvex.dev/ns",
        _ => return None,
    })
}

impl Authority {
    /// `name`, or `authority-<i>`.
    pub fn display_name(&self, i: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("authority-{i}"))
    }
}

impl ClusterImagePolicy {
    /// Whether failures deny (`enforce`, the default) rather than warn.
    pub fn enforce(&self) -> bool {
        self.spec.mode.as_deref() != Some("warn")
    }

    /// Whether any `images[].glob` matches `raw` (fully-qualified name, or as written).
    pub fn matches(&self, raw: &str) -> bool {
        let full = ImageInfo::parse(raw).ok().map(|i| i.ggcr_name());
        self.spec.images.iter().any(|p| {
            p.glob.as_deref().is_some_and(|g| {
                full.as_deref()
                    .is_some_and(|f| glob_match(g, f) == Some(true))
                    || glob_match(g, raw) == Some(true)
            })
        })
    }

    /// Every mistake policy-controller's validation rejects, with its field path and the
    /// knative-style message (`missing field(s)`, `expected exactly one, got both`, …).
    /// Unsupported features are reported here too: vouch refuses to load a policy it would
    /// not enforce as written.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |path: String, message: String| out.push(Problem { path, message });
        if self.name.is_empty() {
            push("metadata.name".into(), "missing field(s)".into());
        }
        let spec = &self.spec;
        if let Some(m) = &spec.mode
            && !matches!(m.as_str(), "enforce" | "warn")
        {
            push(
                "spec.mode".into(),
                format!("invalid value: {m}: unsupported mode"),
            );
        }
        if spec.images.is_empty() {
            push("spec.images".into(), "missing field(s)".into());
        }
        for (i, p) in spec.images.iter().enumerate() {
            match p.glob.as_deref() {
                None | Some("") => {
                    push(format!("spec.images[{i}].glob"), "missing field(s)".into());
                }
                Some(g) if glob_match(g, "").is_none() => {
                    push(
                        format!("spec.images[{i}].glob"),
                        format!("invalid value: {g}"),
                    );
                }
                Some(_) => {}
            }
        }
        if spec.authorities.is_empty() {
            push("spec.authorities".into(), "missing field(s)".into());
        }
        if spec.policy.is_some() {
            push(
                "spec.policy".into(),
                "not supported: CUE/Rego policies are not evaluated by vouch".into(),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for (a, auth) in spec.authorities.iter().enumerate() {
            let ap = format!("spec.authorities[{a}]");
            if !names.insert(auth.display_name(a)) {
                push(format!("{ap}.name"), "duplicate authority name".into());
            }
            let n = usize::from(auth.key.is_some())
                + usize::from(auth.keyless.is_some())
                + usize::from(auth.static_.is_some());
            if n != 1 {
                push(
                    ap.clone(),
                    format!(
                        "expected exactly one, got {}: key, keyless, static",
                        if n == 0 { "neither" } else { "both" }
                    ),
                );
            }
            if let Some(k) = &auth.key {
                let m = usize::from(k.data.is_some())
                    + usize::from(k.secret_ref.is_some())
                    + usize::from(k.kms.is_some());
                if m != 1 {
                    push(
                        format!("{ap}.key"),
                        format!(
                            "expected exactly one, got {}: data, kms, secretref",
                            if m == 0 { "neither" } else { "both" }
                        ),
                    );
                }
                if let Some(d) = &k.data
                    && vouch_sign::VerifyingKey::from_pem(d.trim()).is_err()
                {
                    push(
                        format!("{ap}.key.data"),
                        "invalid value: not a public key".into(),
                    );
                }
                if k.secret_ref.is_some() {
                    push(
                        format!("{ap}.key"),
                        "not supported: secretRef keys (no API server; inline data or kms)".into(),
                    );
                }
                if let Some(Err(reason)) = k.kms.as_deref().map(crate::sigstore::kms_key_ref) {
                    push(format!("{ap}.key.kms"), format!("not supported: {reason}"));
                }
                if let Some(h) = &k.hash_algorithm
                    && !matches!(h.as_str(), "sha224" | "sha256" | "sha384" | "sha512")
                {
                    push(
                        format!("{ap}.key.hashAlgorithm"),
                        format!("invalid value: {h}"),
                    );
                }
            }
            if let Some(k) = &auth.keyless {
                if k.url.is_some() && k.ca_cert.is_some() {
                    push(
                        format!("{ap}.keyless"),
                        "expected exactly one, got both: ca-cert, url".into(),
                    );
                }
                if k.identities.is_empty() {
                    push(format!("{ap}.keyless.identities"), "Invalid value".into());
                }
                for (i, id) in k.identities.iter().enumerate() {
                    let ip = format!("{ap}.keyless.identities[{i}]");
                    if id.issuer.as_deref().is_none_or(str::is_empty)
                        && id.issuer_regexp.as_deref().is_none_or(str::is_empty)
                    {
                        push(format!("{ip}.issuer"), "missing field(s)".into());
                    }
                    if id.subject.as_deref().is_none_or(str::is_empty)
                        && id.subject_regexp.as_deref().is_none_or(str::is_empty)
                    {
                        push(format!("{ip}.subject"), "missing field(s)".into());
                    }
                    for (f, re) in [
                        ("issuerRegExp", &id.issuer_regexp),
                        ("subjectRegExp", &id.subject_regexp),
                    ] {
                        if let Some(re) = re
                            && regex::Regex::new(re).is_err()
                        {
                            push(format!("{ip}.{f}"), format!("invalid value: {re}"));
                        }
                    }
                }
            }
            if let Some(s) = &auth.static_ {
                if !matches!(s.action.as_str(), "pass" | "fail") {
                    push(
                        format!("{ap}.static.action"),
                        format!("invalid value: {}", s.action),
                    );
                }
                for (f, set) in [
                    ("attestations", !auth.attestations.is_empty()),
                    ("source", !auth.source.is_empty()),
                    ("ctlog", auth.ctlog.is_some()),
                    ("rfc3161timestamp", auth.rfc3161timestamp.is_some()),
                ] {
                    if set {
                        push(
                            format!("{ap}.{f}"),
                            "expected exactly one, got both: static cannot be combined".into(),
                        );
                    }
                }
            }
            if auth.source.len() > 1 {
                push(format!("{ap}.source"), "too many: only one source".into());
            }
            if !auth.source.is_empty() {
                push(
                    format!("{ap}.source"),
                    "not supported: signatures are read from the image's own repository".into(),
                );
            }
            if auth.rfc3161timestamp.is_some() {
                push(
                    format!("{ap}.rfc3161timestamp"),
                    "not supported by vouch's admission verifier".into(),
                );
            }
            match auth.signature_format.as_deref() {
                None | Some("legacy") => {}
                Some("bundle") if auth.keyless.is_some() => {}
                Some("bundle") => push(
                    format!("{ap}.signatureFormat"),
                    "invalid value: bundle: only keyless authorities".into(),
                ),
                Some(f) => push(
                    format!("{ap}.signatureFormat"),
                    format!("invalid value: {f}"),
                ),
            }
            let refs = auth
                .keyless
                .as_ref()
                .and_then(|k| k.trust_root_ref.as_ref())
                .map(|r| (format!("{ap}.keyless.trustRootRef"), r))
                .into_iter()
                .chain(
                    auth.ctlog
                        .as_ref()
                        .and_then(|c| c.trust_root_ref.as_ref())
                        .map(|r| (format!("{ap}.ctlog.trustRootRef"), r)),
                );
            for (path, name) in refs {
                if !self.trust_roots.contains_key(name) {
                    push(
                        path,
                        format!("TrustRoot {name} is not among the policy files"),
                    );
                }
            }
            if let Some(ca) = auth.keyless.as_ref().and_then(|k| k.ca_cert.as_ref()) {
                match ca.get("data").and_then(Value::as_str) {
                    Some(pem) if crate::trust::parse_certificates(pem).is_ok() => {}
                    Some(_) => push(
                        format!("{ap}.keyless.ca-cert.data"),
                        "invalid value: not a PEM certificate chain".into(),
                    ),
                    None => push(
                        format!("{ap}.keyless.ca-cert"),
                        "not supported: secretRef and kms CA certificates (inline data only)"
                            .into(),
                    ),
                }
            }
            let mut att_names = std::collections::BTreeSet::new();
            for (t, att) in auth.attestations.iter().enumerate() {
                let tp = format!("{ap}.attestations[{t}]");
                if att.name.is_empty() {
                    push(format!("{tp}.name"), "missing field(s)".into());
                } else if !att_names.insert(att.name.as_str()) {
                    push(
                        format!("{tp}.name"),
                        format!("duplicate name: {}", att.name),
                    );
                }
                if att.predicate_type.is_empty() {
                    push(format!("{tp}.predicateType"), "missing field(s)".into());
                } else if predicate_type_uri(&att.predicate_type).is_none()
                    && !att.predicate_type.contains("://")
                {
                    push(
                        format!("{tp}.predicateType"),
                        format!("invalid value: {}", att.predicate_type),
                    );
                }
                if let Some(p) = &att.policy {
                    if !matches!(p.type_.as_str(), "cue" | "rego") {
                        push(
                            format!("{tp}.policy.type"),
                            format!("invalid value: {}", p.type_),
                        );
                    }
                    let sources = usize::from(p.data.is_some())
                        + usize::from(p.remote.is_some())
                        + usize::from(p.config_map_ref.is_some());
                    if sources != 1 {
                        push(
                            format!("{tp}.policy"),
                            "expected exactly one: data, remote, configMapRef".into(),
                        );
                    }
                    push(
                        format!("{tp}.policy"),
                        format!(
                            "not supported: {} attestation policies are not evaluated by vouch",
                            p.type_
                        ),
                    );
                }
            }
        }
        out
    }

    /// Settings vouch accepts but ignores (`match`: the policy applies to every pod-spec kind).
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if !self.spec.match_.is_empty() {
            out.push(Problem {
                path: "spec.match".into(),
                message: "ignored: the policy applies to every resource kind vouch reads".into(),
            });
        }
        out
    }

    /// The Kyverno-shaped attestor entries an authority's key or identities stand for (any
    /// one of them verifying satisfies it), each carrying the authority's own trust material
    /// (`keyless.ca-cert`, the TrustRoots named by `trustRootRef`).
    fn attestors(&self, auth: &Authority) -> Result<Vec<Attestor>, CheckError> {
        let tlog_root = match auth
            .ctlog
            .as_ref()
            .and_then(|c| c.trust_root_ref.as_deref())
        {
            Some(name) => Some(self.trust_root(name)?),
            None => None,
        };
        let rekor = |ignore_tlog: bool| {
            Some(Rekor {
                url: auth.ctlog.as_ref().and_then(|c| c.url.clone()),
                pubkey: tlog_root.and_then(|t| t.tlogs.clone()),
                ignore_tlog,
            })
        };
        if let Some(k) = &auth.key {
            // Inline data, or a kms reference read as `vouch verify --key` reads it.
            let (public_keys, kms) = match (&k.data, &k.kms) {
                (Some(pem), _) => (Some(pem.trim().to_owned()), None),
                (None, Some(kms)) => (None, Some(kms.clone())),
                (None, None) => {
                    return Err(CheckError::Error(
                        "key.secretRef is not supported by vouch".into(),
                    ));
                }
            };
            return Ok(vec![Attestor::new(AttestorKind::Keys(StaticKeys {
                public_keys,
                kms,
                // A key authority without ctlog does not check the log
                // (`checkOptsFromAuthority`).
                rekor: rekor(auth.ctlog.is_none()),
                ctlog: Some(CtLog {
                    ignore_sct: true,
                    ..CtLog::default()
                }),
                ..StaticKeys::default()
            }))]);
        }
        if let Some(k) = &auth.keyless {
            let exact = |s: &Option<String>, re: &Option<String>| match (s, re) {
                (Some(s), _) if !s.is_empty() => Some(format!("^{}$", regex::escape(s))),
                (_, Some(re)) => Some(re.clone()),
                _ => None,
            };
            let fulcio_root = match k.trust_root_ref.as_deref() {
                Some(name) => Some(self.trust_root(name)?),
                None => None,
            };
            let ca_cert = k
                .ca_cert
                .as_ref()
                .and_then(|c| c.get("data"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let roots =
                ca_cert.or_else(|| fulcio_root.and_then(|t| t.certificate_authorities.clone()));
            // The TrustRoot of the keyless authority supplies its logs too, unless the
            // authority's `ctlog` names another.
            let tlogs = tlog_root.or(fulcio_root).and_then(|t| t.tlogs.clone());
            let ctlogs = fulcio_root.and_then(|t| t.ctlogs.clone());
            return Ok(k
                .identities
                .iter()
                .map(|id| {
                    Attestor::new(AttestorKind::Keyless(Keyless {
                        subject_regexp: exact(&id.subject, &id.subject_regexp),
                        issuer_regexp: exact(&id.issuer, &id.issuer_regexp),
                        roots: roots.clone(),
                        rekor: Some(Rekor {
                            url: auth.ctlog.as_ref().and_then(|c| c.url.clone()),
                            pubkey: tlogs.clone(),
                            ignore_tlog: false,
                        }),
                        ctlog: Some(CtLog {
                            ignore_sct: k.insecure_ignore_sct.unwrap_or(false),
                            pubkey: ctlogs.clone(),
                            tsa_cert_chain: None,
                        }),
                        ..Keyless::default()
                    }))
                })
                .collect());
        }
        Err(CheckError::Error("authority has no key or keyless".into()))
    }

    fn trust_root(&self, name: &str) -> Result<&TrustRootPem, CheckError> {
        self.trust_roots.get(name).ok_or_else(|| {
            CheckError::Error(format!("TrustRoot {name} is not among the policy files"))
        })
    }

    /// Checks one authority against `image@digest`.
    fn check_authority(
        &self,
        auth: &Authority,
        info: &ImageInfo,
        digest: &str,
        verifier: &dyn ImageVerifier,
    ) -> Result<(), CheckError> {
        if let Some(s) = &auth.static_ {
            return match s.action.as_str() {
                "pass" => Ok(()),
                _ => Err(CheckError::Failed(
                    s.message
                        .clone()
                        .unwrap_or_else(|| "disallowed by static policy".into()),
                )),
            };
        }
        if !auth.source.is_empty() || auth.rfc3161timestamp.is_some() {
            return Err(CheckError::Error(
                "source / rfc3161timestamp is not supported by vouch".into(),
            ));
        }
        let attestors = self.attestors(auth)?;
        let any = |check: &mut dyn FnMut(&Attestor) -> Result<bool, CheckError>,
                   none: String|
         -> Result<(), CheckError> {
            let mut errors = Vec::new();
            let mut error = false;
            for a in &attestors {
                match check(a) {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(e) => {
                        error |= matches!(e, CheckError::Error(_));
                        errors.push(match e {
                            CheckError::Failed(m) | CheckError::Error(m) => m,
                        });
                    }
                }
            }
            let msg = if errors.is_empty() {
                none
            } else {
                format!("{none}: {}", errors.join("; "))
            };
            Err(if error {
                CheckError::Error(msg)
            } else {
                CheckError::Failed(msg)
            })
        };
        if auth.attestations.is_empty() {
            let what = if auth.key.is_some() {
                "signature key validation failed"
            } else {
                "signature keyless validation failed"
            };
            return any(
                &mut |a| {
                    verifier
                        .verify_signature(info, digest, Some(auth.scheme()), a)
                        .map(|_| true)
                },
                what.to_owned(),
            );
        }
        for att in &auth.attestations {
            if let Some(p) = &att.policy {
                return Err(CheckError::Error(format!(
                    "attestation {}: {} policies are not supported by vouch",
                    att.name, p.type_
                )));
            }
            let pt = predicate_type_uri(&att.predicate_type).unwrap_or(&att.predicate_type);
            any(
                &mut |a| {
                    verifier
                        .verify_attestations(info, digest, Some(auth.scheme()), pt, a)
                        .map(|v| !v.is_empty())
                },
                format!(
                    "no matching attestations with type {pt} for attestation {}",
                    att.name
                ),
            )?;
        }
        Ok(())
    }

    /// Evaluates this policy for one image it matches: any authority passing is enough.
    pub(crate) fn verify(
        &self,
        raw: &str,
        info: &ImageInfo,
        digest: &str,
        verifier: &dyn ImageVerifier,
    ) -> Outcome {
        if self.spec.policy.is_some() {
            return Outcome::Error(format!(
                "failed policy: {}: spec.policy (CUE/Rego) is not supported by vouch",
                self.name
            ));
        }
        let mut errors = Vec::new();
        let mut any_error = false;
        for (i, auth) in self.spec.authorities.iter().enumerate() {
            match self.check_authority(auth, info, digest, verifier) {
                Ok(()) => {
                    return Outcome::Pass {
                        message: format!(
                            "image {raw} verified by authority {} of {}",
                            auth.display_name(i),
                            self.name
                        ),
                        pin: info.digest.is_none().then(|| info.pinned(digest)),
                        evidence: Vec::new(),
                    };
                }
                Err(e) => {
                    any_error |= matches!(e, CheckError::Error(_));
                    let m = match e {
                        CheckError::Failed(m) | CheckError::Error(m) => m,
                    };
                    errors.push(format!(
                        "{m} for authority {} for {raw}",
                        auth.display_name(i)
                    ));
                }
            }
        }
        let msg = format!("failed policy: {}: {}", self.name, errors.join("; "));
        if any_error {
            Outcome::Error(msg)
        } else {
            Outcome::Fail(msg)
        }
    }
}

/// Reads one `ClusterImagePolicy` object.
pub(crate) fn from_value(doc: &Value) -> Result<ClusterImagePolicy, String> {
    crate::strict::check_keys(
        doc,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
    )
    .map_err(|e| e.to_string())?;
    let spec: CipSpec =
        crate::strict::from_value(&doc["spec"], "spec").map_err(|e| e.to_string())?;
    Ok(ClusterImagePolicy {
        name: doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        api_version: doc["apiVersion"].as_str().unwrap_or_default().to_owned(),
        spec,
        trust_roots: std::collections::BTreeMap::new(),
    })
}
