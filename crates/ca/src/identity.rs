//! Claims to certificate identity, per issuer type, as Fulcio's principals do it
//! (`sigstore/fulcio:pkg/identity/*/principal.go`, `PrincipalFromIDToken` + `Embed`): the name
//! the proof of possession signs, the SAN, and the extensions (`pkg/certificate/extensions.go`:
//! issuer 1.1/1.8, deprecated GitHub 1.2-1.6, CI 1.9-1.23, token subject 1.24).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::issue::{Identity, San};
use crate::issuers::{IssuerMetadata, IssuerSet, IssuerType, valid_trust_domain};
use crate::oidc::VerifiedToken;

/// A token's claims.
pub type Claims = serde_json::Map<String, Value>;

/// What a verified token certifies: the proof-of-possession name and the identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The name the proof of possession signs (`Principal.Name`).
    pub name: String,
    /// SAN, issuer and extensions.
    pub identity: Identity,
}

fn claim_err(claim: &'static str, reason: impl Into<String>) -> Error {
    Error::TokenClaim {
        claim,
        reason: reason.into(),
    }
}

fn string<'a>(claims: &'a Claims, name: &'static str) -> Result<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| claim_err(name, format!("missing {name} claim in ID token")))
}

/// Fulcio's `url.JoinPath`: elements joined by `/`, runs of `/` reduced to one, `.` and `..`
/// segments resolved.
fn join_path(base: &str, parts: &[&str]) -> String {
    let (scheme_host, path) = match base.find("://") {
        Some(i) => {
            let rest = &base[i + 3..];
            let slash = rest.find('/').map_or(base.len(), |j| i + 3 + j);
            (&base[..slash], &base[slash..])
        }
        None => ("", base),
    };
    let mut segments: Vec<&str> = Vec::new();
    for piece in std::iter::once(path).chain(parts.iter().copied()) {
        for seg in piece.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments.push(s),
            }
        }
    }
    format!("{scheme_host}/{}", segments.join("/"))
}

/// The extensions Fulcio renders besides the issuer: arc -> value, empty values left out.
type Extensions = BTreeMap<u32, String>;

fn identity(san: San, issuer: &str, subject: &str, mut extensions: Extensions) -> Identity {
    extensions.insert(24, subject.to_owned());
    Identity {
        san,
        issuer: issuer.to_owned(),
        extensions: extensions
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(arc, v)| (format!("1.3.6.1.4.1.57264.1.{arc}"), v))
            .collect(),
    }
}

/// A plausible e-mail address (govalidator `IsEmail`, reduced: one `@`, both sides non-empty,
/// no spaces or controls, a dot in the domain).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

/// Go's `fmt.Sprintf("%v")` of a claim for templates (`mapValuesToString`): strings as is,
/// whole numbers without a fraction, booleans `true`/`false`; objects and arrays are not
/// usable in templates and are left out.
fn template_data(claims: &Claims, defaults: &HashMap<String, String>) -> HashMap<String, String> {
    let mut data = defaults.clone();
    for (k, v) in claims {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.as_i64().map_or_else(
                || {
                    n.as_f64().map_or_else(
                        || n.to_string(),
                        |f| {
                            if f.fract() == 0.0 && f.abs() < 1e15 {
                                format!("{}", f as i64)
                            } else {
                                f.to_string()
                            }
                        },
                    )
                },
                |i| i.to_string(),
            ),
            _ => continue,
        };
        data.insert(k.clone(), s);
    }
    data
}

/// Applies `metadata` to the claims (`ciprovider.Embed`).
fn ci_provider(token: &VerifiedToken, metadata: &IssuerMetadata, sub: &str) -> Result<Identity> {
    let data = template_data(&token.claims, &metadata.default_template_values);
    let san = metadata
        .subject_alternative_name_template
        .apply(&data)
        .map_err(|e| claim_err("sub", format!("SubjectAlternativeName: {e}")))?;
    url::Url::parse(&san)
        .map_err(|e| claim_err("sub", format!("SAN {san:?} is not a URI: {e}")))?;
    let mut extensions = Extensions::new();
    for (arc, template) in &metadata.extension_templates {
        let value = template
            .apply(&data)
            .map_err(|e| claim_err("sub", format!("extension 1.3.6.1.4.1.57264.1.{arc}: {e}")))?;
        extensions.insert(*arc, value);
    }
    Ok(identity(
        San::Uri(san),
        &token.issuer.issuer_url,
        sub,
        extensions,
    ))
}

fn github_workflow(token: &VerifiedToken, sub: &str) -> Result<Identity> {
    let c = &token.claims;
    let s = |name| string(c, name);
    let base = "https://github.com/";
    let (job_workflow_ref, sha, event, repository, workflow, git_ref) = (
        s("job_workflow_ref")?,
        s("sha")?,
        s("event_name")?,
        s("repository")?,
        s("workflow")?,
        s("ref")?,
    );
    let (job_workflow_sha, runner, repo_id, owner, owner_id, visibility) = (
        s("job_workflow_sha")?,
        s("runner_environment")?,
        s("repository_id")?,
        s("repository_owner")?,
        s("repository_owner_id")?,
        s("repository_visibility")?,
    );
    let (workflow_ref, workflow_sha, run_id, run_attempt) = (
        s("workflow_ref")?,
        s("workflow_sha")?,
        s("run_id")?,
        s("run_attempt")?,
    );
    let signer = join_path(base, &[job_workflow_ref]);
    let extensions = Extensions::from([
        (2, event.to_owned()),
        (3, sha.to_owned()),
        (4, workflow.to_owned()),
        (5, repository.to_owned()),
        (6, git_ref.to_owned()),
        (9, signer.clone()),
        (10, job_workflow_sha.to_owned()),
        (11, runner.to_owned()),
        (12, join_path(base, &[repository])),
        (13, sha.to_owned()),
        (14, git_ref.to_owned()),
        (15, repo_id.to_owned()),
        (16, join_path(base, &[owner])),
        (17, owner_id.to_owned()),
        (18, join_path(base, &[workflow_ref])),
        (19, workflow_sha.to_owned()),
        (20, event.to_owned()),
        (
            21,
            join_path(
                base,
                &[repository, "actions/runs", run_id, "attempts", run_attempt],
            ),
        ),
        (22, visibility.to_owned()),
    ]);
    Ok(identity(
        San::Uri(signer),
        &token.issuer.issuer_url,
        sub,
        extensions,
    ))
}

fn gitlab_pipeline(token: &VerifiedToken, sub: &str) -> Result<Identity> {
    let c = &token.claims;
    let s = |name| string(c, name);
    let base = "https://gitlab.com/";
    let project_path = s("project_path")?;
    let source = s("pipeline_source")?;
    s("pipeline_id")?;
    let config_ref = s("ci_config_ref_uri")?;
    let job_id = s("job_id")?;
    let git_ref = s("ref")?;
    let ref_type = s("ref_type")?;
    let namespace = s("namespace_path")?;
    let namespace_id = s("namespace_id")?;
    let project_id = s("project_id")?;
    let sha = s("sha")?;
    let runner = s("runner_environment")?;
    if c.get("runner_id").and_then(Value::as_i64).unwrap_or(0) == 0 {
        return Err(claim_err(
            "runner_id",
            "missing runner_id claim in ID token",
        ));
    }
    let full_ref = match ref_type {
        "branch" => format!("refs/heads/{git_ref}"),
        "tag" => format!("refs/tags/{git_ref}"),
        other => {
            return Err(claim_err(
                "ref_type",
                format!("unexpected ref_type: {other}"),
            ));
        }
    };
    let config_sha = c.get("ci_config_sha").and_then(Value::as_str).unwrap_or("");
    // url.Parse of "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main" has no scheme; Fulcio sets
    // https, which prints as "https://" + the path.
    let config_url = if config_ref.contains("://") {
        config_ref.to_owned()
    } else {
        format!("https://{config_ref}")
    };
    let visibility = c
        .get("project_visibility")
        .and_then(Value::as_str)
        .unwrap_or("");
    let extensions = Extensions::from([
        (9, config_url.clone()),
        (10, config_sha.to_owned()),
        (11, runner.to_owned()),
        (12, join_path(base, &[project_path])),
        (13, sha.to_owned()),
        (14, full_ref),
        (15, project_id.to_owned()),
        (16, join_path(base, &[namespace])),
        (17, namespace_id.to_owned()),
        (18, config_url.clone()),
        (19, config_sha.to_owned()),
        (20, source.to_owned()),
        (21, join_path(base, &[project_path, "/-/jobs/", job_id])),
        (22, visibility.to_owned()),
    ]);
    Ok(identity(
        San::Uri(config_url),
        &token.issuer.issuer_url,
        sub,
        extensions,
    ))
}

impl VerifiedToken {
    /// The principal of this token under `issuers` (whose CI metadata `ci-provider` issuers
    /// use).
    pub fn principal(&self, issuers: &IssuerSet) -> Result<Principal> {
        let c = &self.claims;
        let sub = string(c, "sub")?;
        let iss = self.issuer.issuer_url.as_str();
        let none = Extensions::new;
        let (name, identity) = match self.issuer.issuer_type {
            IssuerType::Email => {
                let email = string(c, "email")?;
                let verified = matches!(c.get("email_verified"), Some(Value::Bool(true)))
                    || c.get("email_verified").and_then(Value::as_str) == Some("true");
                if !self.issuer.skip_email_verification && !verified {
                    return Err(claim_err(
                        "email_verified",
                        "email_verified claim was false or missing",
                    ));
                }
                if !is_email(email) {
                    return Err(claim_err("email", "email address is not valid"));
                }
                let issuer = match &self.issuer.issuer_claim {
                    None => iss.to_owned(),
                    Some(path) => json_path(c, path).ok_or_else(|| {
                        claim_err(
                            "iss",
                            format!("issuer claim {path} missing or not a string"),
                        )
                    })?,
                };
                let id = identity(San::Email(email.to_owned()), &issuer, sub, none());
                (email.to_owned(), id)
            }
            IssuerType::Username => {
                if sub.contains('!') {
                    return Err(claim_err("sub", "username cannot contain ! character"));
                }
                if is_email(sub) {
                    return Err(claim_err("sub", "username subject should not be an email"));
                }
                let domain = self.issuer.subject_domain.as_deref().unwrap_or("");
                let san = San::OtherName(format!("{sub}!{domain}"));
                (sub.to_owned(), identity(san, iss, sub, none()))
            }
            IssuerType::Uri => {
                if is_email(sub) {
                    return Err(claim_err(
                        "sub",
                        "uri subject should not be an email address",
                    ));
                }
                let subject = url::Url::parse(sub)
                    .map_err(|e| claim_err("sub", format!("{sub:?} is not a URI: {e}")))?;
                let domain = self.issuer.subject_domain.as_deref().unwrap_or("");
                let domain = url::Url::parse(domain)
                    .map_err(|e| claim_err("sub", format!("SubjectDomain: {e}")))?;
                if subject.scheme() != domain.scheme() {
                    return Err(claim_err(
                        "sub",
                        format!(
                            "subject URI scheme ({}) must match expected domain URI scheme ({})",
                            subject.scheme(),
                            domain.scheme()
                        ),
                    ));
                }
                if subject.host_str() != domain.host_str() {
                    return Err(claim_err(
                        "sub",
                        format!(
                            "subject hostname ({}) must match expected domain ({})",
                            subject.host_str().unwrap_or(""),
                            domain.host_str().unwrap_or("")
                        ),
                    ));
                }
                (
                    sub.to_owned(),
                    identity(San::Uri(sub.into()), iss, sub, none()),
                )
            }
            IssuerType::Kubernetes => {
                let k8s = c.get("kubernetes.io");
                let field = |path: [&str; 2]| {
                    let v = match path[1] {
                        "" => k8s.and_then(|k| k.get(path[0])),
                        f => k8s.and_then(|k| k.get(path[0])).and_then(|o| o.get(f)),
                    };
                    v.and_then(Value::as_str).filter(|s| !s.is_empty())
                };
                // Fulcio builds the URI even from empty claims; an empty namespace or service
                // account is refused here instead.
                let (Some(ns), Some(sa)) =
                    (field(["namespace", ""]), field(["serviceaccount", "name"]))
                else {
                    return Err(claim_err(
                        "kubernetes.io",
                        "missing namespace or serviceaccount.name",
                    ));
                };
                let san = format!("https://kubernetes.io/namespaces/{ns}/serviceaccounts/{sa}");
                (sub.to_owned(), identity(San::Uri(san), iss, sub, none()))
            }
            IssuerType::Spiffe => {
                let domain = self.issuer.spiffe_trust_domain.as_deref().unwrap_or("");
                let rest = sub.strip_prefix("spiffe://").ok_or_else(|| {
                    claim_err("sub", format!("invalid spiffe ID provided: {sub}"))
                })?;
                let td = rest.split('/').next().unwrap_or("");
                if !valid_trust_domain(td) {
                    return Err(claim_err(
                        "sub",
                        format!("invalid spiffe ID provided: {sub}"),
                    ));
                }
                if td != domain {
                    return Err(claim_err(
                        "sub",
                        format!(
                            "spiffe ID trust domain {td} doesn't match configured trust domain {domain}"
                        ),
                    ));
                }
                (
                    sub.to_owned(),
                    identity(San::Uri(sub.into()), iss, sub, none()),
                )
            }
            IssuerType::GithubWorkflow => (sub.to_owned(), github_workflow(self, sub)?),
            IssuerType::GitlabPipeline => (sub.to_owned(), gitlab_pipeline(self, sub)?),
            IssuerType::BuildkiteJob => {
                let org = string(c, "organization_slug")?;
                let pipeline = string(c, "pipeline_slug")?;
                let san = format!("https://buildkite.com/{org}/{pipeline}");
                (sub.to_owned(), identity(San::Uri(san), iss, sub, none()))
            }
            IssuerType::CiProvider => {
                let provider = self.issuer.ci_provider.as_deref().unwrap_or("");
                let metadata = issuers.metadata(provider).ok_or_else(|| Error::Config {
                    reason: format!("metadata not found for ci provider {provider}, issuer {iss}"),
                })?;
                (sub.to_owned(), ci_provider(self, metadata, sub)?)
            }
            IssuerType::CodefreshWorkflow | IssuerType::ChainguardIdentity => {
                return Err(Error::Config {
                    reason: format!(
                        "issuer type {} is not implemented; use type ci-provider",
                        self.issuer.issuer_type.as_str()
                    ),
                });
            }
        };
        Ok(Principal { name, identity })
    }
}

/// `$.a.b` over the claims (`oauthflow.IssuerFromIDToken`'s JSONPath, dotted names only).
fn json_path(claims: &Claims, path: &str) -> Option<String> {
    let rest = path.strip_prefix("$.")?;
    let mut parts = rest.split('.');
    let mut value = claims.get(parts.next()?)?;
    for p in parts {
        value = value.get(p)?;
    }
    value.as_str().map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::join_path;

    #[test]
    fn join_path_cleans_like_go() {
        assert_eq!(
            join_path(
                "https://github.com/",
                &["acme/api/.github/workflows/r.yml@refs/heads/main"]
            ),
            "https://github.com/acme/api/.github/workflows/r.yml@refs/heads/main"
        );
        assert_eq!(
            join_path("https://gitlab.com/", &["g/p", "/-/jobs/", "42"]),
            "https://gitlab.com/g/p/-/jobs/42"
        );
    }
}
