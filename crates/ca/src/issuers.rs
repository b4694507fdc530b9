//! Which OIDC issuers the CA trusts and how their claims become certificates, in Fulcio's own
//! configuration format (`sigstore/fulcio:pkg/config/config.go` `FulcioConfig`), JSON
//! (`OIDCIssuers`, `MetaIssuers`, `CIIssuerMetadata`, PascalCase fields) or YAML
//! (`oidc-issuers`, `meta-issuers`, `ci-issuer-metadata`, kebab-case fields), so an existing
//! Fulcio deployment's file works unchanged.
//!
//! Differences, all failing closed: an issuer URL listed twice (a duplicate map key, or the same
//! `IssuerURL` under two keys, or a shortcut flag naming a URL the file has) is refused instead
//! of silently keeping one; a `ci-provider` issuer naming metadata that does not exist, a
//! template outside the supported subset ([`crate::template`]) and `CACert` (a per-issuer TLS
//! root, not implemented) are refused when loading instead of failing at issuance.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::template::Template;

/// The audience Sigstore clients request (`client-id: sigstore` in Fulcio's config).
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// How an issuer's claims become a certificate identity (Fulcio's `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    /// SAN = the `email` claim (`email_verified` required unless `SkipEmailVerification`).
    Email,
    /// SAN = otherName `sub!SubjectDomain` (1.3.6.1.4.1.57264.1.7).
    Username,
    /// SAN = `sub`, a URI on `SubjectDomain`'s scheme and host.
    Uri,
    /// GitHub Actions, Fulcio's dedicated (deprecated) mapping: all workflow claims required.
    GithubWorkflow,
    /// GitLab CI, Fulcio's dedicated (deprecated) mapping.
    GitlabPipeline,
    /// Codefresh, Fulcio's dedicated mapping.
    CodefreshWorkflow,
    /// Buildkite, Fulcio's dedicated mapping.
    BuildkiteJob,
    /// Chainguard identity tokens.
    ChainguardIdentity,
    /// Any CI provider, mapped by the `CIIssuerMetadata` templates named by `CIProvider`.
    CiProvider,
    /// Kubernetes service accounts: SAN `https://kubernetes.io/namespaces/NS/serviceaccounts/SA`.
    Kubernetes,
    /// SPIFFE: SAN = `sub`, a SPIFFE ID in `SPIFFETrustDomain`.
    Spiffe,
}

impl IssuerType {
    /// Fulcio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Username => "username",
            Self::Uri => "uri",
            Self::GithubWorkflow => "github-workflow",
            Self::GitlabPipeline => "gitlab-pipeline",
            Self::CodefreshWorkflow => "codefresh-workflow",
            Self::BuildkiteJob => "buildkite-job",
            Self::ChainguardIdentity => "chainguard-identity",
            Self::CiProvider => "ci-provider",
            Self::Kubernetes => "kubernetes",
            Self::Spiffe => "spiffe",
        }
    }

    /// The claim the proof of possession signs (`issuerToChallengeClaim`).
    pub fn challenge_claim(self) -> &'static str {
        match self {
            Self::Email => "email",
            _ => "sub",
        }
    }
}

/// One trusted OIDC issuer (`OIDCIssuer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerConfig {
    /// The issuer URL, compared byte for byte with `iss`; discovery is fetched from
    /// `<url>/.well-known/openid-configuration`.
    #[serde(rename = "IssuerURL", alias = "issuer-url", default)]
    pub issuer_url: String,
    /// Required audience (`sigstore`).
    #[serde(rename = "ClientID", alias = "client-id", default)]
    pub client_id: String,
    /// Claim mapping.
    #[serde(rename = "Type", alias = "type")]
    pub issuer_type: IssuerType,
    /// For `ci-provider`: the `CIIssuerMetadata` entry (e.g. `github-workflow`).
    #[serde(rename = "CIProvider", alias = "ci-provider", default)]
    pub ci_provider: Option<String>,
    /// For `email`: a JSONPath (`$.a.b`) of the claim that names the issuer written into the
    /// certificate (Dex's `federated_claims.connector_id`).
    #[serde(rename = "IssuerClaim", alias = "issuer-claim", default)]
    pub issuer_claim: Option<String>,
    /// For `uri` (scheme://host) and `username` (a domain).
    #[serde(rename = "SubjectDomain", alias = "subject-domain", default)]
    pub subject_domain: Option<String>,
    /// For `spiffe`.
    #[serde(rename = "SPIFFETrustDomain", alias = "spiffe-trust-domain", default)]
    pub spiffe_trust_domain: Option<String>,
    /// Overrides the challenge claim shown in `/api/v2/configuration`.
    #[serde(rename = "ChallengeClaim", alias = "challenge-claim", default)]
    pub challenge_claim: Option<String>,
    /// For `email`: accept tokens without `email_verified` (trusted internal IdPs only).
    #[serde(
        rename = "SkipEmailVerification",
        alias = "skip-email-verification",
        default
    )]
    pub skip_email_verification: bool,
    /// Free text.
    #[serde(rename = "Description", alias = "description", default)]
    pub description: Option<String>,
    /// Free text.
    #[serde(rename = "Contact", alias = "contact", default)]
    pub contact: Option<String>,
    /// Free text (`staging`/`production` in Fulcio's deployments).
    #[serde(rename = "Environment", alias = "environment", default)]
    pub environment: Option<String>,
    /// Per-issuer TLS root: not implemented, so refused when loading.
    #[serde(rename = "CACert", alias = "ca-cert", default)]
    pub ca_cert: Option<String>,
}

impl IssuerConfig {
    /// An issuer of `issuer_type` with audience `sigstore` and nothing else set.
    pub fn new(issuer_url: impl Into<String>, issuer_type: IssuerType) -> Self {
        Self {
            issuer_url: issuer_url.into().trim_end_matches('/').to_owned(),
            client_id: SIGSTORE_AUDIENCE.into(),
            issuer_type,
            ci_provider: None,
            issuer_claim: None,
            subject_domain: None,
            spiffe_trust_domain: None,
            challenge_claim: None,
            skip_email_verification: false,
            description: None,
            contact: None,
            environment: None,
            ca_cert: None,
        }
    }

    /// An email issuer.
    pub fn email(issuer_url: impl Into<String>) -> Self {
        Self::new(issuer_url, IssuerType::Email)
    }

    /// A GitHub Actions issuer as Fulcio's public deployment configures it: `ci-provider` with
    /// the `github-workflow` metadata.
    pub fn github(issuer_url: impl Into<String>) -> Self {
        Self {
            ci_provider: Some("github-workflow".into()),
            ..Self::new(issuer_url, IssuerType::CiProvider)
        }
    }

    /// A GitLab issuer: `ci-provider` with the `gitlab-pipeline` metadata.
    pub fn gitlab(issuer_url: impl Into<String>) -> Self {
        Self {
            ci_provider: Some("gitlab-pipeline".into()),
            ..Self::new(issuer_url, IssuerType::CiProvider)
        }
    }

    /// A Kubernetes service-account issuer.
    pub fn kubernetes(issuer_url: impl Into<String>) -> Self {
        Self::new(issuer_url, IssuerType::Kubernetes)
    }

    fn challenge(&self) -> &str {
        self.challenge_claim
            .as_deref()
            .unwrap_or(self.issuer_type.challenge_claim())
    }
}

/// The extension fields Fulcio's templates fill (`pkg/certificate/extensions.go`): arc under
/// 1.3.6.1.4.1.57264.1, JSON name, YAML name.
pub const EXTENSION_FIELDS: [(u32, &str, &str); 22] = [
    (2, "GithubWorkflowTrigger", "github-workflow-trigger"),
    (3, "GithubWorkflowSHA", "github-workflow-sha"),
    (4, "GithubWorkflowName", "github-workflow-name"),
    (5, "GithubWorkflowRepository", "github-workflow-repository"),
    (6, "GithubWorkflowRef", "github-workflow-ref"),
    (9, "BuildSignerURI", "build-signer-uri"),
    (10, "BuildSignerDigest", "build-signer-digest"),
    (11, "RunnerEnvironment", "runner-environment"),
    (12, "SourceRepositoryURI", "source-repository-uri"),
    (13, "SourceRepositoryDigest", "source-repository-digest"),
    (14, "SourceRepositoryRef", "source-repository-ref"),
    (
        15,
        "SourceRepositoryIdentifier",
        "source-repository-identifier",
    ),
    (
        16,
        "SourceRepositoryOwnerURI",
        "source-repository-owner-uri",
    ),
    (
        17,
        "SourceRepositoryOwnerIdentifier",
        "source-repository-owner-identifier",
    ),
    (18, "BuildConfigURI", "build-config-uri"),
    (19, "BuildConfigDigest", "build-config-digest"),
    (20, "BuildTrigger", "build-trigger"),
    (21, "RunInvocationURI", "run-invocation-uri"),
    (
        22,
        "SourceRepositoryVisibilityAtSigning",
        "source-repository-visibility-at-signing",
    ),
    (23, "DeploymentEnvironment", "deployment-environment"),
    // Issuer and Subject are never taken from templates (ciprovider `Embed` skips them).
    (1, "Issuer", "issuer"),
    (24, "Subject", "subject"),
];

/// One `CIIssuerMetadata` entry, templates parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerMetadata {
    /// Values used when a claim is missing (claims win).
    pub default_template_values: HashMap<String, String>,
    /// Extension arc -> template or claim name.
    pub extension_templates: BTreeMap<u32, ClaimTemplate>,
    /// The SAN (a URI).
    pub subject_alternative_name_template: ClaimTemplate,
}

/// A template string, or the name of a claim to copy (Fulcio: a string without `{{`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimTemplate {
    /// `{{ ... }}`.
    Template(Template),
    /// A claim (or default value) name.
    Claim(String),
}

impl ClaimTemplate {
    fn parse(source: &str) -> std::result::Result<Self, String> {
        if Template::is_template(source) {
            Template::parse(source).map(Self::Template)
        } else {
            Ok(Self::Claim(source.to_owned()))
        }
    }

    /// Renders over claims merged over defaults (`applyTemplateOrReplace`).
    pub fn apply(&self, data: &HashMap<String, String>) -> std::result::Result<String, String> {
        match self {
            Self::Template(t) => t.render(data),
            Self::Claim(name) => data
                .get(name)
                .cloned()
                .ok_or_else(|| format!("value <{name}> not present in either claims or defaults")),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawMetadata {
    #[serde(
        rename = "DefaultTemplateValues",
        alias = "default-template-values",
        default
    )]
    default_template_values: HashMap<String, String>,
    #[serde(rename = "ExtensionTemplates", alias = "extension-templates", default)]
    extension_templates: HashMap<String, String>,
    #[serde(
        rename = "SubjectAlternativeNameTemplate",
        alias = "subject-alternative-name-template",
        default
    )]
    subject_alternative_name_template: String,
}

impl IssuerMetadata {
    fn from_raw(name: &str, raw: RawMetadata) -> Result<Self> {
        let bad = |reason: String| Error::Config {
            reason: format!("CIIssuerMetadata {name}: {reason}"),
        };
        let mut extension_templates = BTreeMap::new();
        for (field, source) in raw.extension_templates {
            let (arc, _, _) = EXTENSION_FIELDS
                .iter()
                .find(|(_, json, yaml)| *json == field || *yaml == field)
                .ok_or_else(|| bad(format!("unknown extension {field:?}")))?;
            if *arc == 1 || *arc == 24 || source.trim().is_empty() {
                continue;
            }
            extension_templates.insert(*arc, ClaimTemplate::parse(&source).map_err(bad)?);
        }
        if raw.subject_alternative_name_template.trim().is_empty() {
            return Err(bad("SubjectAlternativeNameTemplate is empty".into()));
        }
        Ok(Self {
            default_template_values: raw.default_template_values,
            extension_templates,
            subject_alternative_name_template: ClaimTemplate::parse(
                &raw.subject_alternative_name_template,
            )
            .map_err(bad)?,
        })
    }
}

/// Deserializes a map into its entries in order, refusing a key given twice (Go's and serde's
/// maps would keep one silently).
fn unique_entries<'de, D, V>(deserializer: D) -> std::result::Result<Vec<(String, V)>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Entries<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out: Vec<(String, V)> = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, V>()? {
                if out.iter().any(|(seen, _)| *seen == k) {
                    return Err(serde::de::Error::custom(format!("{k} is listed twice")));
                }
                out.push((k, v));
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Entries(std::marker::PhantomData))
}

#[derive(Debug, Deserialize)]
struct RawConfig {
    #[serde(
        rename = "OIDCIssuers",
        alias = "oidc-issuers",
        default,
        deserialize_with = "unique_entries"
    )]
    oidc_issuers: Vec<(String, IssuerConfig)>,
    #[serde(
        rename = "MetaIssuers",
        alias = "meta-issuers",
        default,
        deserialize_with = "unique_entries"
    )]
    meta_issuers: Vec<(String, IssuerConfig)>,
    #[serde(
        rename = "CIIssuerMetadata",
        alias = "ci-issuer-metadata",
        default,
        deserialize_with = "unique_entries"
    )]
    ci_issuer_metadata: Vec<(String, RawMetadata)>,
}

/// A meta issuer: a URL pattern whose `*` matches one `[-_a-zA-Z0-9]+` segment part
/// (`MetaRegex`, anchored at both ends since GHSA-59jp-pj84-45mr).
#[derive(Debug, Clone)]
struct MetaIssuer {
    pattern: String,
    regex: regex::Regex,
    config: IssuerConfig,
}

/// The trusted issuers: exact URLs, wildcard meta issuers, and CI-provider metadata.
#[derive(Debug, Clone)]
pub struct IssuerSet {
    exact: Vec<IssuerConfig>,
    meta: Vec<MetaIssuer>,
    metadata: HashMap<String, IssuerMetadata>,
}

impl Default for IssuerSet {
    fn default() -> Self {
        Self {
            exact: Vec::new(),
            meta: Vec::new(),
            metadata: builtin_metadata(),
        }
    }
}

/// Fulcio's public CI-provider metadata (`fulcio_ci_metadata.yaml`).
fn builtin_metadata() -> HashMap<String, IssuerMetadata> {
    let text = include_str!("fulcio_ci_metadata.yaml");
    // The embedded file is tested (`builtin_metadata_loads`); an error here is a build defect,
    // answered by having no built-in metadata (ci-provider issuers then fail to load, closed).
    serde_norway::from_str::<RawConfig>(text)
        .ok()
        .map(|raw| {
            raw.ci_issuer_metadata
                .into_iter()
                .filter_map(|(name, m)| IssuerMetadata::from_raw(&name, m).ok().map(|m| (name, m)))
                .collect()
        })
        .unwrap_or_default()
}

impl IssuerSet {
    /// The issuers given, with Fulcio's built-in CI metadata; refuses a URL listed twice.
    pub fn new(issuers: impl IntoIterator<Item = IssuerConfig>) -> Result<Self> {
        let mut set = Self::default();
        for issuer in issuers {
            set.add(issuer)?;
        }
        Ok(set)
    }

    /// Reads a Fulcio configuration file's bytes (JSON, else YAML, as `parseConfig`).
    pub fn from_fulcio_config(bytes: &[u8]) -> Result<Self> {
        let raw: RawConfig = match serde_json::from_slice(bytes) {
            Ok(raw) => raw,
            Err(json) => {
                let text = std::str::from_utf8(bytes).map_err(|_| Error::Config {
                    reason: format!("neither JSON ({json}) nor UTF-8 YAML"),
                })?;
                serde_norway::from_str(text).map_err(|yaml| Error::Config {
                    reason: format!("neither JSON ({json}) nor YAML ({yaml})"),
                })?
            }
        };
        let mut set = Self::default();
        for (name, m) in raw.ci_issuer_metadata {
            let parsed = IssuerMetadata::from_raw(&name, m)?;
            set.metadata.insert(name, parsed);
        }
        for (key, mut issuer) in raw.oidc_issuers {
            if issuer.issuer_url.is_empty() {
                issuer.issuer_url.clone_from(&key);
            } else if issuer.issuer_url != key {
                return Err(Error::Config {
                    reason: format!(
                        "OIDCIssuers key {key} and its IssuerURL {} differ",
                        issuer.issuer_url
                    ),
                });
            }
            set.add(issuer)?;
        }
        for (pattern, issuer) in raw.meta_issuers {
            set.add_meta(&pattern, issuer)?;
        }
        Ok(set)
    }

    /// Adds an exact issuer; refuses its URL when already configured.
    pub fn add(&mut self, issuer: IssuerConfig) -> Result<()> {
        validate(&issuer, &self.metadata, false)?;
        if self.exact.iter().any(|i| i.issuer_url == issuer.issuer_url) {
            return Err(Error::Config {
                reason: format!(
                    "issuer {} is configured twice (an issuer URL maps to exactly one type)",
                    issuer.issuer_url
                ),
            });
        }
        self.exact.push(issuer);
        Ok(())
    }

    /// Adds a meta issuer (`https://oidc.eks.*.amazonaws.com/id/*`).
    pub fn add_meta(&mut self, pattern: &str, issuer: IssuerConfig) -> Result<()> {
        validate(&issuer, &self.metadata, true)?;
        if self.meta.iter().any(|m| m.pattern == pattern) {
            return Err(Error::Config {
                reason: format!("meta issuer {pattern} is configured twice"),
            });
        }
        let regex = format!(
            "^{}$",
            regex::escape(pattern).replace(r"\*", "[-_a-zA-Z0-9]+")
        );
        let regex = regex::Regex::new(&regex).map_err(|e| Error::Config {
            reason: format!("meta issuer {pattern}: {e}"),
        })?;
        self.meta.push(MetaIssuer {
            pattern: pattern.to_owned(),
            regex,
            config: issuer,
        });
        Ok(())
    }

    /// Whether nothing is trusted.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.meta.is_empty()
    }

    /// The configuration for a token's `iss` (`GetIssuer`): an exact entry, else the first
    /// meta issuer whose pattern matches, made concrete with `iss`.
    pub fn lookup(&self, iss: &str) -> Option<IssuerConfig> {
        if let Some(exact) = self.exact.iter().find(|i| i.issuer_url == iss) {
            return Some(exact.clone());
        }
        self.meta
            .iter()
            .find(|m| m.regex.is_match(iss))
            .map(|m| IssuerConfig {
                issuer_url: iss.to_owned(),
                ..m.config.clone()
            })
    }

    /// The CI-provider metadata called `name`.
    pub fn metadata(&self, name: &str) -> Option<&IssuerMetadata> {
        self.metadata.get(name)
    }

    /// The exact issuers.
    pub fn exact(&self) -> &[IssuerConfig] {
        &self.exact
    }

    /// `GET /api/v2/configuration` entries (`ToIssuers`: `fulcio.proto` `OIDCIssuer`).
    pub fn to_configuration(&self) -> Vec<serde_json::Value> {
        let entry = |i: &IssuerConfig, key: &str, value: &str| {
            let mut v = serde_json::json!({
                key: value,
                "audience": i.client_id,
                "challengeClaim": i.challenge(),
                "issuerType": i.issuer_type.as_str(),
            });
            if let Some(d) = &i.spiffe_trust_domain {
                v["spiffeTrustDomain"] = d.clone().into();
            }
            if let Some(d) = &i.subject_domain {
                v["subjectDomain"] = d.clone().into();
            }
            v
        };
        self.exact
            .iter()
            .map(|i| entry(i, "issuerUrl", &i.issuer_url))
            .chain(
                self.meta
                    .iter()
                    .map(|m| entry(&m.config, "wildcardIssuerUrl", &m.pattern)),
            )
            .collect()
    }
}

/// `validateConfig`, per issuer.
fn validate(
    issuer: &IssuerConfig,
    metadata: &HashMap<String, IssuerMetadata>,
    meta: bool,
) -> Result<()> {
    let name = if issuer.issuer_url.is_empty() {
        "meta issuer".to_owned()
    } else {
        issuer.issuer_url.clone()
    };
    let bad = |reason: &str| Error::Config {
        reason: format!("{name}: {reason}"),
    };
    if !meta && issuer.issuer_url.is_empty() {
        return Err(bad("IssuerURL is empty"));
    }
    if issuer.client_id.is_empty() {
        return Err(bad("ClientID (the audience tokens must carry) is empty"));
    }
    if issuer.ca_cert.is_some() {
        return Err(bad(
            "CACert (a per-issuer TLS root) is not supported by vouch",
        ));
    }
    if issuer.issuer_claim.is_some() && issuer.issuer_type != IssuerType::Email {
        return Err(bad("only email issuers can use issuer claim mapping"));
    }
    match issuer.issuer_type {
        IssuerType::Spiffe if meta => return Err(bad("SPIFFE meta issuers not supported")),
        IssuerType::Spiffe => {
            let domain = issuer.spiffe_trust_domain.as_deref().unwrap_or("");
            if !valid_trust_domain(domain) {
                return Err(bad("spiffe issuer must have a valid SPIFFETrustDomain"));
            }
        }
        IssuerType::Uri => {
            let domain = issuer.subject_domain.as_deref().unwrap_or("");
            let (Some(d), Some(i)) = (url::Url::parse(domain).ok(), parse_url(&issuer.issuer_url))
            else {
                return Err(bad(
                    "uri issuer must have a SubjectDomain with scheme, and an issuer URL",
                ));
            };
            if !meta {
                if d.scheme() != i.scheme() {
                    return Err(bad("SubjectDomain and issuer URI schemes do not match"));
                }
                allowed_domain(d.host_str().unwrap_or(""), i.host_str().unwrap_or(""))
                    .map_err(|e| bad(&e))?;
            }
        }
        IssuerType::Username => {
            let domain = issuer.subject_domain.as_deref().unwrap_or("");
            if domain.is_empty() || domain.contains("://") {
                return Err(bad(
                    "username issuer must have a SubjectDomain without scheme",
                ));
            }
            if !meta {
                let i = parse_url(&issuer.issuer_url).ok_or_else(|| bad("issuer URL"))?;
                allowed_domain(domain, i.host_str().unwrap_or("")).map_err(|e| bad(&e))?;
            }
        }
        IssuerType::CiProvider => {
            let provider = issuer.ci_provider.as_deref().unwrap_or("");
            if !metadata.contains_key(provider) {
                return Err(bad(&format!(
                    "CIProvider {provider:?} has no CIIssuerMetadata entry"
                )));
            }
        }
        IssuerType::CodefreshWorkflow | IssuerType::ChainguardIdentity => {
            return Err(bad(
                "this dedicated issuer type is not implemented; use type ci-provider",
            ));
        }
        _ => {}
    }
    Ok(())
}

fn parse_url(s: &str) -> Option<url::Url> {
    url::Url::parse(s).ok()
}

/// `validateAllowedDomain`: equal hosts, or the same top- and second-level domain.
fn allowed_domain(subject: &str, issuer: &str) -> std::result::Result<(), String> {
    if subject == issuer {
        return Ok(());
    }
    let s: Vec<&str> = subject.split('.').collect();
    let i: Vec<&str> = issuer.split('.').collect();
    if s.len() < 2 || i.len() < 2 {
        return Err(format!("hostname too short: {subject} / {issuer}"));
    }
    if s[s.len() - 1] == i[i.len() - 1] && s[s.len() - 2] == i[i.len() - 2] {
        return Ok(());
    }
    Err(format!(
        "hostname top-level and second-level domains do not match: {subject}, {issuer}"
    ))
}

/// A SPIFFE trust domain: lower-case letters, digits, `.`, `-`, `_` (SPIFFE-ID §2.1).
pub(crate) fn valid_trust_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builtin_metadata_loads() {
        let m = builtin_metadata();
        for name in [
            "github-workflow",
            "gitlab-pipeline",
            "codefresh-workflow",
            "buildkite-job",
            "circleci-job",
            "buddy-pipeline",
        ] {
            assert!(m.contains_key(name), "{name}");
        }
        assert_eq!(m["github-workflow"].extension_templates.len(), 20);
    }

    #[test]
    fn meta_issuer_wildcards_match_one_part_only() {
        let mut set = IssuerSet::default();
        set.add_meta(
            "https://oidc.eks.*.amazonaws.com/id/*",
            IssuerConfig::kubernetes(""),
        )
        .unwrap();
        let hit = set
            .lookup("https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB")
            .unwrap();
        assert_eq!(hit.issuer_type, IssuerType::Kubernetes);
        assert_eq!(
            hit.issuer_url,
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB"
        );
        for miss in [
            "https://oidc.eks.us-west-2.amazonaws.com/id/a/b",
            "https://oidc.eks.evil.com/x.amazonaws.com/id/a",
            "http://localhost:3000?https://oidc.eks.a.amazonaws.com/id/b",
        ] {
            assert!(set.lookup(miss).is_none(), "{miss}");
        }
    }
}
