//! A development OIDC issuer: discovery document, JWKS and a token endpoint minting identity
//! tokens (audience `sigstore`) of the shapes real issuers send: e-mail (Google, Dex), GitHub
//! Actions, GitLab CI, Kubernetes service accounts. RS256-signed like GitHub's by default (an
//! instance created before RSA keeps its P-256 key and signs ES256). For tests and demos only:
//! anyone who can reach it gets a token, so it must be asked for, listens on loopback only
//! ([`check_listen_address`]) and a CA trusts it only when told to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::oidc::SIGSTORE_AUDIENCE;

const GITHUB_PATH: &str = "github-actions";
const GITLAB_PATH: &str = "gitlab";
const KUBERNETES_PATH: &str = "kubernetes";

/// Lifetime of minted tokens, in seconds (GitHub's are 5 minutes, Google's an hour).
pub const TOKEN_LIFETIME_SECS: u64 = 600;

/// The dev issuer refuses any listen address but loopback: it hands out identities to whoever
/// asks (issue 19 item 7).
pub fn check_listen_address(addr: SocketAddr) -> Result<()> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    Err(Error::Config {
        reason: format!(
            "the dev OIDC issuer mints a token for any identity to anyone who reaches it; it \
             listens on loopback only, not {addr}"
        ),
    })
}

/// The issuer's signing key.
#[derive(Clone)]
pub enum DevKey {
    /// RSA (RS256), PKCS#1 DER.
    Rsa(Vec<u8>),
    /// ECDSA P-256 (ES256), PKCS#8 DER.
    P256(Vec<u8>),
}

impl DevKey {
    /// A fresh RSA-2048 key.
    pub fn generate_rsa() -> Result<Self> {
        use rsa::Generate as _;
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let key = rsa::PrivateKey::try_generate().map_err(|_| Error::Random)?;
        let der = key.to_pkcs1_der().map_err(Error::encoding)?;
        Ok(Self::Rsa(der.as_bytes().to_vec()))
    }

    /// Reads a PKCS#8 PEM key: RSA or P-256.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        use p256::pkcs8::DecodePrivateKey as _;
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        if let Ok(k) = rsa::PrivateKey::from_pkcs8_pem(pem.trim()) {
            let der = k.to_pkcs1_der().map_err(Error::encoding)?;
            return Ok(Self::Rsa(der.as_bytes().to_vec()));
        }
        let (label, der) =
            der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| Error::Material {
                what: "dev issuer key".into(),
                reason: e.to_string(),
            })?;
        if label != "PRIVATE KEY" || p256::ecdsa::SigningKey::from_pkcs8_der(&der).is_err() {
            return Err(Error::Material {
                what: "dev issuer key".into(),
                reason: "not a PKCS#8 RSA or P-256 private key".into(),
            });
        }
        Ok(Self::P256(der))
    }

    /// PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> Result<String> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::EncodePrivateKey as _;
        let der = match self {
            Self::Rsa(pkcs1) => rsa::PrivateKey::from_pkcs1_der(pkcs1)
                .map_err(Error::encoding)?
                .to_pkcs8_der()
                .map_err(Error::encoding)?
                .as_bytes()
                .to_vec(),
            Self::P256(der) => der.clone(),
        };
        Ok(crate::issue::pem("PRIVATE KEY", &der))
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Rsa(_) => Algorithm::RS256,
            Self::P256(_) => Algorithm::ES256,
        }
    }

    fn encoding_key(&self) -> EncodingKey {
        match self {
            Self::Rsa(der) => EncodingKey::from_rsa_der(der),
            Self::P256(der) => EncodingKey::from_ec_der(der),
        }
    }
}

/// The issuer's identity and key.
pub struct DevIssuer {
    issuer_url: String,
    key: DevKey,
    encoding: EncodingKey,
    jwk: Value,
    kid: String,
    subject: String,
    email: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer_url", &self.issuer_url)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Claims a token request may override (e-mail shape).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    /// `sub` (default: the configured subject).
    pub subject: Option<String>,
    /// `email` (default: the configured email).
    pub email: Option<String>,
    /// `aud` (default `sigstore`).
    pub audience: Option<String>,
}

/// The shape of a token: which issuer it imitates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenShape {
    /// Google/Dex style: `email`, `email_verified`.
    Email {
        /// `email`.
        email: String,
    },
    /// GitHub Actions (`token.actions.githubusercontent.com`): `OWNER/REPO/PATH@REF` as in
    /// `job_workflow_ref`, e.g. `acme/api/.github/workflows/release.yml@refs/heads/main`.
    GithubWorkflow {
        /// `job_workflow_ref`.
        workflow_ref: String,
        /// `event_name` (default `push`).
        event_name: String,
    },
    /// GitLab CI: `GROUP/PROJECT` and a branch.
    GitlabPipeline {
        /// `project_path`.
        project_path: String,
        /// `ref` (a branch).
        branch: String,
    },
    /// A Kubernetes service account token.
    Kubernetes {
        /// `kubernetes.io.namespace`.
        namespace: String,
        /// `kubernetes.io.serviceaccount.name`.
        service_account: String,
    },
}

/// A deterministic hex string for fake ids and digests (stable across runs for one input).
fn fake_hex(seed: &str, len: usize) -> String {
    let mut out = String::new();
    let mut counter = 0u32;
    while out.len() < len {
        let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{counter}:{seed}"));
        out.push_str(&hex::encode(digest));
        counter += 1;
    }
    out.truncate(len);
    out
}

fn fake_number(seed: &str) -> String {
    let h = fake_hex(seed, 8);
    u64::from_str_radix(&h, 16).map_or_else(
        |_| "1".into(),
        |n| (n % 900_000_000 + 100_000_000).to_string(),
    )
}

impl TokenShape {
    /// Parses `OWNER/REPO/.github/workflows/F.yml@REF` into a GitHub shape.
    pub fn github(workflow_ref: &str) -> Result<Self> {
        let bad = || Error::Config {
            reason: format!(
                "--github-workflow {workflow_ref:?}: expected OWNER/REPO/.github/workflows/FILE.yml@REF"
            ),
        };
        let (path, git_ref) = workflow_ref.split_once('@').ok_or_else(bad)?;
        let parts: Vec<&str> = path.splitn(3, '/').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) || git_ref.is_empty() {
            return Err(bad());
        }
        Ok(Self::GithubWorkflow {
            workflow_ref: workflow_ref.to_owned(),
            event_name: "push".into(),
        })
    }

    /// The claims of this shape, besides `iss`/`aud`/times (GitHub's documented claim set:
    /// docs.github.com "About security hardening with OpenID Connect").
    pub fn claims(&self) -> Value {
        match self {
            Self::Email { email } => json!({
                "sub": email, "email": email, "email_verified": true,
            }),
            Self::GithubWorkflow {
                workflow_ref,
                event_name,
            } => {
                let (path, git_ref) = workflow_ref.split_once('@').unwrap_or((workflow_ref, ""));
                let mut it = path.splitn(3, '/');
                let owner = it.next().unwrap_or("");
                let repo = it.next().unwrap_or("");
                let repository = format!("{owner}/{repo}");
                let sha = fake_hex(&format!("{repository}@{git_ref}"), 40);
                let workflow = path.rsplit('/').next().unwrap_or(path);
                json!({
                    "sub": format!("repo:{repository}:ref:{git_ref}"),
                    "ref": git_ref,
                    "ref_type": if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" },
                    "sha": sha,
                    "repository": repository,
                    "repository_owner": owner,
                    "repository_owner_id": fake_number(owner),
                    "repository_id": fake_number(&repository),
                    "repository_visibility": "public",
                    "run_id": fake_number(&format!("run:{workflow_ref}")),
                    "run_number": "1",
                    "run_attempt": "1",
                    "runner_environment": "github-hosted",
                    "actor": owner,
                    "actor_id": fake_number(owner),
                    "workflow": workflow,
                    "workflow_ref": workflow_ref,
                    "workflow_sha": sha,
                    "job_workflow_ref": workflow_ref,
                    "job_workflow_sha": sha,
                    "event_name": event_name,
                    "head_ref": "",
                    "base_ref": "",
                })
            }
            Self::GitlabPipeline {
                project_path,
                branch,
            } => {
                let namespace = project_path.split('/').next().unwrap_or(project_path);
                let sha = fake_hex(&format!("{project_path}@{branch}"), 40);
                json!({
                    "sub": format!("project_path:{project_path}:ref_type:branch:ref:{branch}"),
                    "namespace_id": fake_number(namespace),
                    "namespace_path": namespace,
                    "project_id": fake_number(project_path),
                    "project_path": project_path,
                    "project_visibility": "public",
                    "user_login": namespace,
                    "pipeline_id": fake_number(&format!("pipeline:{project_path}")),
                    "pipeline_source": "push",
                    "job_id": fake_number(&format!("job:{project_path}")),
                    "ref": branch,
                    "ref_type": "branch",
                    "ref_protected": "true",
                    "runner_id": 1,
                    "runner_environment": "gitlab-hosted",
                    "sha": sha,
                    "ci_config_ref_uri": format!("gitlab.com/{project_path}//.gitlab-ci.yml@refs/heads/{branch}"),
                    "ci_config_sha": sha,
                })
            }
            Self::Kubernetes {
                namespace,
                service_account,
            } => json!({
                "sub": format!("system:serviceaccount:{namespace}:{service_account}"),
                "kubernetes.io": {
                    "namespace": namespace,
                    "serviceaccount": {"name": service_account, "uid": fake_hex(service_account, 32)},
                    "pod": {"name": format!("{service_account}-0"), "uid": fake_hex(namespace, 32)},
                },
            }),
        }
    }
}

impl DevIssuer {
    /// A new issuer at `issuer_url` (the URL it is served on, without trailing slash) with a
    /// fresh RSA key; tokens name `email` (verified) and `subject` by default.
    pub fn generate(issuer_url: &str, subject: &str, email: &str) -> Result<Self> {
        Self::with_key(issuer_url, DevKey::generate_rsa()?, subject, email)
    }

    /// An issuer with a given key.
    pub fn with_key(issuer_url: &str, key: DevKey, subject: &str, email: &str) -> Result<Self> {
        let alg = key.algorithm();
        let encoding = key.encoding_key();
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).map_err(Error::encoding)?;
        // kid: RFC 7638 thumbprint, as many issuers do.
        let kid = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .map_err(Error::encoding)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwk = serde_json::to_value(&jwk).map_err(Error::encoding)?;
        Ok(Self {
            issuer_url: issuer_url.trim_end_matches('/').to_owned(),
            key,
            encoding,
            jwk,
            kid,
            subject: subject.into(),
            email: email.into(),
        })
    }

    /// The issuer URL (`iss`).
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// The signing key.
    pub fn key(&self) -> &DevKey {
        &self.key
    }

    /// The issuer URL of tokens of `shape`: an issuer URL maps to exactly one issuer type, so
    /// each shape has its own (the base URL for e-mail, `/github-actions`, `/gitlab`,
    /// `/kubernetes` under it), all served here with one JWKS.
    pub fn issuer_for(&self, shape: &TokenShape) -> String {
        match shape {
            TokenShape::Email { .. } => self.issuer_url.clone(),
            TokenShape::GithubWorkflow { .. } => format!("{}/{GITHUB_PATH}", self.issuer_url),
            TokenShape::GitlabPipeline { .. } => format!("{}/{GITLAB_PATH}", self.issuer_url),
            TokenShape::Kubernetes { .. } => format!("{}/{KUBERNETES_PATH}", self.issuer_url),
        }
    }

    /// The issuer configurations a CA needs to trust every shape this issuer mints.
    pub fn trusted_issuers(&self) -> Vec<crate::issuers::IssuerConfig> {
        use crate::issuers::IssuerConfig;
        vec![
            IssuerConfig::email(self.issuer_url.clone()),
            IssuerConfig::github(format!("{}/{GITHUB_PATH}", self.issuer_url)),
            IssuerConfig::gitlab(format!("{}/{GITLAB_PATH}", self.issuer_url)),
            IssuerConfig::kubernetes(format!("{}/{KUBERNETES_PATH}", self.issuer_url)),
        ]
    }

    /// The discovery document (OpenID Connect Discovery 1.0 §3) of the issuer at `issuer`.
    pub fn discovery_for(&self, issuer: &str) -> Value {
        let mut d = self.discovery();
        d["issuer"] = issuer.into();
        d
    }

    /// The discovery document (OpenID Connect Discovery 1.0 §3).
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer_url,
            "jwks_uri": format!("{}/jwks", self.issuer_url),
            "token_endpoint": format!("{}/token", self.issuer_url),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [format!("{:?}", self.key.algorithm())],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified",
                                 "repository", "job_workflow_ref", "project_path", "kubernetes.io"],
        })
    }

    /// The JWKS.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Mints an e-mail-shaped token valid from now for [`TOKEN_LIFETIME_SECS`].
    pub fn mint(&self, request: &TokenRequest) -> String {
        let now = Self::now();
        self.mint_claims(&json!({
            "iss": self.issuer_url,
            "sub": request.subject.as_deref().unwrap_or(&self.subject),
            "aud": request.audience.as_deref().unwrap_or(SIGSTORE_AUDIENCE),
            "email": request.email.as_deref().unwrap_or(&self.email),
            "email_verified": true,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECS,
        }))
    }

    /// Mints a token of `shape` (audience `audience`, default `sigstore`).
    pub fn mint_shape(&self, shape: &TokenShape, audience: Option<&str>) -> String {
        let now = Self::now();
        let mut claims = shape.claims();
        if let Some(map) = claims.as_object_mut() {
            map.insert("iss".into(), self.issuer_for(shape).into());
            map.insert(
                "aud".into(),
                audience.unwrap_or(SIGSTORE_AUDIENCE).to_owned().into(),
            );
            map.insert("iat".into(), now.into());
            map.insert("nbf".into(), now.into());
            map.insert("exp".into(), (now + TOKEN_LIFETIME_SECS).into());
        }
        self.mint_claims(&claims)
    }

    /// Signs arbitrary claims with the issuer's key (tests of the CA's refusals).
    pub fn mint_claims(&self, claims: &Value) -> String {
        let mut header = Header::new(self.key.algorithm());
        header.kid = Some(self.kid.clone());
        // Signing with a key we generated and checked cannot fail; an empty string (refused by
        // every verifier) is the fail-closed answer if it ever did.
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }
}

/// The issuer's routes: `/.well-known/openid-configuration`, `/jwks`, and `/token` (GET or
/// POST; query `subject`, `email`, `audience` override the defaults of the e-mail shape;
/// `github_workflow`, `gitlab_project`, `k8s_namespace`+`k8s_service_account` pick another
/// shape). `/token` answers like an OAuth token endpoint:
/// `{"access_token", "id_token", "token_type", "expires_in"}`.
pub fn router(issuer: Arc<DevIssuer>) -> Router {
    let mut router = Router::new().route(
        "/.well-known/openid-configuration",
        get(|State(i): State<Arc<DevIssuer>>| async move { Json(i.discovery()) }),
    );
    for path in [GITHUB_PATH, GITLAB_PATH, KUBERNETES_PATH] {
        router = router.route(
            &format!("/{path}/.well-known/openid-configuration"),
            get(move |State(i): State<Arc<DevIssuer>>| async move {
                Json(i.discovery_for(&format!("{}/{path}", i.issuer_url)))
            }),
        );
    }
    router
        .route(
            "/jwks",
            get(|State(i): State<Arc<DevIssuer>>| async move { Json(i.jwks()) }),
        )
        .route("/token", get(token).post(token))
        .with_state(issuer)
}

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    subject: Option<String>,
    email: Option<String>,
    audience: Option<String>,
    github_workflow: Option<String>,
    gitlab_project: Option<String>,
    k8s_namespace: Option<String>,
    k8s_service_account: Option<String>,
}

async fn token(
    State(issuer): State<Arc<DevIssuer>>,
    Query(q): Query<TokenQuery>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let shape = if let Some(w) = &q.github_workflow {
        match TokenShape::github(w) {
            Ok(s) => Some(s),
            Err(e) => {
                return (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_request", "error_description": e.to_string()})),
                )
                    .into_response();
            }
        }
    } else if let Some(p) = &q.gitlab_project {
        Some(TokenShape::GitlabPipeline {
            project_path: p.clone(),
            branch: "main".into(),
        })
    } else {
        q.k8s_namespace.as_ref().map(|ns| TokenShape::Kubernetes {
            namespace: ns.clone(),
            service_account: q
                .k8s_service_account
                .clone()
                .unwrap_or_else(|| "default".into()),
        })
    };
    let token = match shape {
        Some(shape) => issuer.mint_shape(&shape, q.audience.as_deref()),
        None => issuer.mint(&TokenRequest {
            subject: q.subject,
            email: q.email,
            audience: q.audience,
        }),
    };
    Json(json!({
        "access_token": token,
        "id_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
    }))
    .into_response()
}
