//! Real identities: tokens minted by an independent JOSE implementation (PyJWT with
//! pyca/cryptography, `tests/data/oidc_issuer.py`) whose discovery and JWKS are served on
//! loopback, verified by the CA and turned into certificates; and every refusal by name.
//! Expected extension values for GitHub are Fulcio's own (`sigstore/fulcio:
//! pkg/identity/ciprovider/principal_test.go` `TestEmbed`).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_ca::oidc::{IssuerConfig, IssuerSet, IssuerType, TokenVerifier};
use vouch_ca::{CaService, CertificateAuthority, Limits};
use vouch_sign::{KeyAlgorithm, SigningKey};

/// The PyJWT issuer, stopped on drop.
struct PyIssuer {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl PyIssuer {
    fn start() -> Self {
        let python = vouch_testkit::venv_tool("python");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/oidc_issuer.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python issuer (needs PyJWT from .ci/requirements.txt)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("issuer URL");
        assert!(
            line.starts_with("http://127.0.0.1:"),
            "issuer said {line:?}"
        );
        Self {
            child,
            base: line.trim().to_owned(),
            agent: ureq::Agent::new_with_defaults(),
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn post(&self, path: &str, body: &Value) -> String {
        self.agent
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .expect("issuer answers")
            .body_mut()
            .read_to_string()
            .expect("body")
    }

    fn mint(&self, key: &str, claims: &Value) -> String {
        self.post("/mint", &json!({"key": key, "claims": claims}))
    }

    fn discovery_fetches(&self) -> u64 {
        self.stats()["discovery_fetches"].as_u64().expect("count")
    }

    fn jwks_fetches(&self) -> u64 {
        self.stats()["jwks_fetches"].as_u64().expect("count")
    }

    fn stats(&self) -> Value {
        self.agent
            .get(&format!("{}/stats", self.base))
            .call()
            .expect("stats")
            .body_mut()
            .read_to_vec()
            .map(|b| serde_json::from_slice(&b).expect("json"))
            .expect("body")
    }
}

impl Drop for PyIssuer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

fn service(issuer: &PyIssuer, refresh_secs: u64) -> CaService {
    let issuers = IssuerSet::new([
        IssuerConfig::email(issuer.url("email")),
        IssuerConfig::github(issuer.url("github")),
        IssuerConfig::gitlab(issuer.url("gitlab")),
        IssuerConfig::kubernetes(issuer.url("k8s")),
    ])
    .expect("issuers");
    let limits = Limits {
        jwks_refresh_interval_secs: refresh_secs,
        ..Limits::default()
    };
    let client = vouch_http::Client::new(&vouch_http::ClientConfig::default()).expect("client");
    CaService {
        ca: CertificateAuthority::generate("vouch test").expect("CA"),
        tokens: TokenVerifier::with_discovery(issuers, client, limits),
        limits,
    }
}

/// GitHub's claim set with Fulcio's `TestEmbed` values.
fn github_claims(iss: &str) -> Value {
    json!({
        "iss": iss, "aud": "sigstore", "sub": "repo:repository:ref:ref",
        "iat": now(), "nbf": now(), "exp": now() + 300,
        "event_name": "trigger", "sha": "sha", "workflow": "workflowname",
        "repository": "repository", "ref": "ref", "job_workflow_sha": "jobWorkflowSha",
        "job_workflow_ref": "jobWorkflowRef", "runner_environment": "runnerEnv",
        "repository_id": "repoID", "repository_owner": "repoOwner",
        "repository_owner_id": "repoOwnerID", "workflow_ref": "workflowRef",
        "workflow_sha": "workflowSHA", "run_id": "runID", "run_attempt": "runAttempt",
        "repository_visibility": "public", "environment": "production",
    })
}

fn gitlab_claims(iss: &str) -> Value {
    json!({
        "iss": iss, "aud": "sigstore", "iat": now(), "exp": now() + 300,
        "sub": "project_path:cpanato/testing-cosign:ref_type:branch:ref:main",
        "project_path": "cpanato/testing-cosign", "project_id": "42", "pipeline_source": "push",
        "pipeline_id": "757451528", "namespace_path": "cpanato", "namespace_id": "1730270",
        "job_id": "3659681386", "ref": "main", "ref_type": "branch",
        "sha": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "runner_environment": "gitlab-hosted",
        "runner_id": 1, "project_visibility": "public",
        "ci_config_ref_uri": "gitlab.com/cpanto/testing-cosign//.gitlab-ci.yml@refs/head/main",
        "ci_config_sha": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    })
}

fn k8s_claims(iss: &str) -> Value {
    json!({
        "iss": iss, "aud": ["sigstore"], "iat": now(), "exp": now() + 300,
        "sub": "system:serviceaccount:prod:builder",
        "kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "builder", "uid": "u"},
                          "pod": {"name": "p", "uid": "v"}},
    })
}

fn email_claims(iss: &str) -> Value {
    json!({
        "iss": iss, "aud": "sigstore", "iat": now(), "exp": now() + 300,
        "sub": "1234", "email": "alice@example.com", "email_verified": true,
    })
}

fn request(principal: &str) -> Vec<u8> {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    serde_json::to_vec(&json!({"publicKeyRequest": {
        "publicKey": {"content": key.public_key().to_pem()},
        "proofOfPossession": B64.encode(key.sign_bytes(principal.as_bytes()))}}))
    .expect("json")
}

fn identity(service: &CaService, token: &str, principal: &str) -> vouch_sign::CertificateIdentity {
    let chain = service
        .signing_cert(Some(token), &request(principal))
        .unwrap_or_else(|e| panic!("certificate for {principal}: {e}"));
    vouch_sign::certificate_identity(chain.leaf()).expect("identity")
}

#[test]
fn rs_ps_es384_eddsa_tokens_of_every_shape_produce_certificates() {
    let py = PyIssuer::start();
    let service = service(&py, 30);
    for key in ["rsa", "pss", "ec384", "ed25519"] {
        let gh = identity(
            &service,
            &py.mint(key, &github_claims(&py.url("github"))),
            "repo:repository:ref:ref",
        );
        assert_eq!(
            gh.subject_alternative_names,
            ["https://github.com/jobWorkflowRef"],
            "{key}"
        );
        let gl = identity(
            &service,
            &py.mint(key, &gitlab_claims(&py.url("gitlab"))),
            "project_path:cpanato/testing-cosign:ref_type:branch:ref:main",
        );
        assert_eq!(
            gl.subject_alternative_names,
            ["https://gitlab.com/cpanto/testing-cosign//.gitlab-ci.yml@refs/head/main"],
            "{key}"
        );
        let k8s = identity(
            &service,
            &py.mint(key, &k8s_claims(&py.url("k8s"))),
            "system:serviceaccount:prod:builder",
        );
        assert_eq!(
            k8s.subject_alternative_names,
            ["https://kubernetes.io/namespaces/prod/serviceaccounts/builder"],
            "{key}"
        );
        let mail = identity(
            &service,
            &py.mint(key, &email_claims(&py.url("email"))),
            "alice@example.com",
        );
        assert_eq!(
            mail.subject_alternative_names,
            ["alice@example.com"],
            "{key}"
        );
        assert_eq!(mail.issuer.as_deref(), Some(py.url("email").as_str()));
    }
    // Discovery and JWKS were fetched once per issuer, not once per token.
    assert_eq!(py.discovery_fetches(), 4);
    assert_eq!(py.jwks_fetches(), 4);
}

/// Fulcio's `TestEmbed` ("GitHub workflow challenge should have all GitHub workflow extensions
/// and issuer set"), field by field, through Fulcio's public github-workflow templates.
#[test]
fn github_extensions_equal_fulcio_test_embed() {
    let py = PyIssuer::start();
    let service = service(&py, 30);
    let iss = py.url("github");
    let id = identity(
        &service,
        &py.mint("rsa", &github_claims(&iss)),
        "repo:repository:ref:ref",
    );
    let want: &[(u32, &str)] = &[
        (1, iss.as_str()),
        (2, "trigger"),
        (3, "sha"),
        (4, "workflowname"),
        (5, "repository"),
        (6, "ref"),
        (8, iss.as_str()),
        (9, "https://github.com/jobWorkflowRef"),
        (10, "jobWorkflowSha"),
        (11, "runnerEnv"),
        (12, "https://github.com/repository"),
        (13, "sha"),
        (14, "ref"),
        (15, "repoID"),
        (16, "https://github.com/repoOwner"),
        (17, "repoOwnerID"),
        (18, "https://github.com/workflowRef"),
        (19, "workflowSHA"),
        (20, "trigger"),
        (
            21,
            "https://github.com/repository/actions/runs/runID/attempts/runAttempt",
        ),
        (22, "public"),
        (23, "production"),
        (24, "repo:repository:ref:ref"),
    ];
    for (arc, value) in want {
        let oid = format!("1.3.6.1.4.1.57264.1.{arc}");
        assert_eq!(
            id.extensions.get(&oid).map(String::as_str),
            Some(*value),
            "{oid}"
        );
    }
    assert_eq!(id.extensions.len(), want.len(), "{:?}", id.extensions);

    // Without `environment`, 1.23 is absent (the second TestEmbed case).
    let mut claims = github_claims(&iss);
    claims
        .as_object_mut()
        .expect("object")
        .remove("environment");
    let id = identity(
        &service,
        &py.mint("rsa", &claims),
        "repo:repository:ref:ref",
    );
    assert!(!id.extensions.contains_key("1.3.6.1.4.1.57264.1.23"));
}

/// Fulcio's gitlabcom `TestEmbed` values for the same claims, through the gitlab-pipeline
/// templates.
#[test]
fn gitlab_extensions_equal_fulcio() {
    let py = PyIssuer::start();
    let service = service(&py, 30);
    let id = identity(
        &service,
        &py.mint("rsa", &gitlab_claims(&py.url("gitlab"))),
        "project_path:cpanato/testing-cosign:ref_type:branch:ref:main",
    );
    for (arc, value) in [
        (
            9,
            "https://gitlab.com/cpanto/testing-cosign//.gitlab-ci.yml@refs/head/main",
        ),
        (12, "https://gitlab.com/cpanato/testing-cosign"),
        (14, "refs/heads/main"),
        (16, "https://gitlab.com/cpanato"),
        (
            18,
            "https://gitlab.com/cpanto/testing-cosign//.gitlab-ci.yml@refs/head/main",
        ),
        (20, "push"),
        (
            21,
            "https://gitlab.com/cpanato/testing-cosign/-/jobs/3659681386",
        ),
        (22, "public"),
    ] {
        let oid = format!("1.3.6.1.4.1.57264.1.{arc}");
        assert_eq!(
            id.extensions.get(&oid).map(String::as_str),
            Some(value),
            "{oid}"
        );
    }
}

fn refused(service: &CaService, token: &str, principal: &str) -> String {
    match service.signing_cert(Some(token), &request(principal)) {
        Ok(_) => panic!("token accepted: {token}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn hostile_tokens_are_refused_naming_the_reason() {
    let py = PyIssuer::start();
    let service = service(&py, 30);
    let iss = py.url("email");
    let claims = |over: Value| {
        let mut c = email_claims(&iss);
        for (k, v) in over.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let mint = |body: Value| py.post("/mint", &body);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            mint(json!({"key": "rsa", "alg": "none", "claims": claims(json!({}))})),
            "unsigned tokens are never accepted",
        ),
        (
            "HS256 keyed with the issuer's public key",
            mint(json!({"key": "rsa", "alg": "HS256", "claims": claims(json!({}))})),
            "MAC algorithms are never accepted",
        ),
        (
            "wrong audience",
            py.mint("rsa", &claims(json!({"aud": "other"}))),
            "audience",
        ),
        (
            "expired",
            py.mint(
                "rsa",
                &claims(json!({"exp": now() - 3600, "iat": now() - 4000})),
            ),
            "exp = ",
        ),
        (
            "future nbf",
            py.mint("rsa", &claims(json!({"nbf": now() + 3600}))),
            "nbf = ",
        ),
        (
            "unknown issuer",
            py.mint("rsa", &claims(json!({"iss": py.url("nobody")}))),
            "is not configured",
        ),
        (
            "RS256 token naming the ES384 key",
            mint(
                json!({"key": "rsa", "kid": "ec384-1", "alg": "RS256", "claims": claims(json!({}))}),
            ),
            "contradicts the key",
        ),
        (
            "ES384 token naming the RSA key",
            mint(
                json!({"key": "ec384", "kid": "rsa-1", "alg": "ES384", "claims": claims(json!({}))}),
            ),
            "contradicts the key",
        ),
        (
            "PS256 key signing as RS256 (alg pinned by the JWK)",
            mint(json!({"key": "pss", "alg": "RS256", "claims": claims(json!({}))})),
            "contradicts the key",
        ),
        (
            "unknown kid",
            mint(json!({"key": "rsa", "kid": "made-up", "claims": claims(json!({}))})),
            "is not in",
        ),
        (
            "unverified email",
            py.mint("rsa", &claims(json!({"email_verified": false}))),
            "email_verified",
        ),
        ("oversized token", "a".repeat(20_000), "limit"),
        ("not a JWS", "abc.def".into(), "malformed"),
    ];
    for (name, token, reason) in cases {
        let message = refused(&service, &token, "alice@example.com");
        assert!(
            message.contains(reason),
            "{name}: {message:?} does not name {reason:?}"
        );
    }
    // A GitHub token missing a claim a template needs is refused naming it.
    let mut gh = github_claims(&py.url("github"));
    gh.as_object_mut().expect("object").remove("run_id");
    let message = refused(&service, &py.mint("rsa", &gh), "repo:repository:ref:ref");
    assert!(message.contains("run_id"), "{message}");
}

#[test]
fn jwks_rotation_is_picked_up_and_unknown_kids_are_rate_limited() {
    let py = PyIssuer::start();
    let iss = py.url("email");
    // Refresh allowed at once: rotation mid-test works.
    let eager = service(&py, 0);
    identity(
        &eager,
        &py.mint("rsa", &email_claims(&iss)),
        "alice@example.com",
    );
    let old = py.mint("rsa", &email_claims(&iss));
    let new_kid = py.post("/rotate", &json!({"key": "rsa"}));
    assert_eq!(new_kid, "rsa-2");
    identity(
        &eager,
        &py.mint("rsa", &email_claims(&iss)),
        "alice@example.com",
    );
    // The old key left the JWKS: a token it signed is refused.
    assert!(refused(&eager, &old, "alice@example.com").contains("is not in"));

    // Refresh at most once an hour: made-up kids do not cause fetches.
    let strict = service(&py, 3600);
    let before = py.jwks_fetches();
    identity(
        &strict,
        &py.mint("rsa", &email_claims(&iss)),
        "alice@example.com",
    );
    for _ in 0..5 {
        let token = py.post(
            "/mint",
            &json!({"key": "rsa", "kid": "nope", "claims": email_claims(&iss)}),
        );
        assert!(refused(&strict, &token, "alice@example.com").contains("is not in"));
    }
    assert_eq!(
        py.jwks_fetches(),
        before + 1,
        "one fetch, then the rate limit"
    );
}

#[test]
fn fulcio_config_files_load_and_duplicates_are_refused() {
    let json_config = br#"{
      "OIDCIssuers": {
        "https://token.actions.githubusercontent.com": {
          "IssuerURL": "https://token.actions.githubusercontent.com",
          "ClientID": "sigstore", "Type": "ci-provider", "CIProvider": "github-workflow"},
        "https://accounts.google.com": {
          "IssuerURL": "https://accounts.google.com", "ClientID": "sigstore", "Type": "email"},
        "https://spiffe.example.com": {
          "IssuerURL": "https://spiffe.example.com", "ClientID": "sigstore", "Type": "spiffe",
          "SPIFFETrustDomain": "example.com"}
      },
      "MetaIssuers": {
        "https://oidc.eks.*.amazonaws.com/id/*": {"ClientID": "sigstore", "Type": "kubernetes"}
      }
    }"#;
    let set = IssuerSet::from_fulcio_config(json_config).expect("JSON config");
    assert_eq!(
        set.lookup("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC")
            .map(|i| i.issuer_type),
        Some(IssuerType::Kubernetes)
    );
    assert_eq!(
        set.lookup("https://accounts.google.com")
            .map(|i| i.issuer_type),
        Some(IssuerType::Email)
    );
    // Fulcio's own YAML, as deployed (anchors, CIIssuerMetadata overriding the built-in one).
    let yaml = br#"
define:
  - &github-type "github-workflow"
oidc-issuers:
  https://token.actions.githubusercontent.com:
    issuer-url: https://token.actions.githubusercontent.com
    client-id: sigstore
    type: ci-provider
    ci-provider: *github-type
meta-issuers:
  https://container.googleapis.com/v1/projects/*/locations/*/clusters/*:
    client-id: sigstore
    type: kubernetes
ci-issuer-metadata:
  github-workflow:
    default-template-values:
      url: "https://github.example"
    extension-templates:
      source-repository-uri: "{{ .url }}/{{ .repository }}"
    subject-alternative-name-template: "{{ .url }}/{{ .job_workflow_ref }}"
"#;
    let set = IssuerSet::from_fulcio_config(yaml).expect("YAML config");
    assert!(
        set.lookup("https://container.googleapis.com/v1/projects/p/locations/l/clusters/c")
            .is_some()
    );
    assert_eq!(
        set.metadata("github-workflow")
            .map(|m| m.extension_templates.len()),
        Some(1)
    );

    for (name, bad, reason) in [
        (
            "duplicate key",
            r#"{"OIDCIssuers": {"https://a.example": {"ClientID": "sigstore", "Type": "email"},
                                "https://a.example": {"ClientID": "sigstore", "Type": "uri"}}}"#,
            "listed twice",
        ),
        (
            "same IssuerURL under two keys",
            r#"{"OIDCIssuers": {"https://a.example": {"ClientID": "sigstore", "Type": "email"},
                                "https://b.example": {"IssuerURL": "https://a.example",
                                                      "ClientID": "sigstore", "Type": "email"}}}"#,
            "differ",
        ),
        (
            "unknown CI provider",
            r#"{"OIDCIssuers": {"https://a.example": {"ClientID": "sigstore",
                 "Type": "ci-provider", "CIProvider": "nope"}}}"#,
            "no CIIssuerMetadata",
        ),
        (
            "spiffe without trust domain",
            r#"{"OIDCIssuers": {"https://a.example": {"ClientID": "sigstore", "Type": "spiffe"}}}"#,
            "SPIFFETrustDomain",
        ),
        (
            "unknown type",
            r#"{"OIDCIssuers": {"https://a.example": {"ClientID": "sigstore", "Type": "magic"}}}"#,
            "magic",
        ),
        (
            "unsupported template",
            r#"{"CIIssuerMetadata": {"x": {"SubjectAlternativeNameTemplate": "{{ printf .a }}"}}}"#,
            "unsupported",
        ),
    ] {
        let err = IssuerSet::from_fulcio_config(bad.as_bytes())
            .expect_err(name)
            .to_string();
        assert!(err.contains(reason), "{name}: {err}");
    }
    // A shortcut naming a URL the file already has.
    let mut set = IssuerSet::from_fulcio_config(json_config).expect("config");
    let err = set
        .add(IssuerConfig::email("https://accounts.google.com"))
        .expect_err("twice")
        .to_string();
    assert!(err.contains("configured twice"), "{err}");
}

/// Fulcio's `TestPrincipalFromIDToken`/`TestEmbed` tables of the email, username, uri, spiffe
/// and kubernetes principals, with their issuer URLs: PyJWT mints the tokens, the CA verifies
/// them under the Python issuer's JWKS pinned for those URLs.
#[test]
fn fulcio_principal_tables_for_every_type() {
    let py = PyIssuer::start();
    let jwks: Value = serde_json::from_str(
        &py.agent
            .get(&format!("{}/jwks", py.url("any")))
            .call()
            .expect("jwks")
            .body_mut()
            .read_to_string()
            .expect("body"),
    )
    .expect("json");
    let config = br#"{"OIDCIssuers": {
      "https://iss.example.com": {"ClientID": "sigstore", "Type": "email"},
      "https://accounts.example.com": {"ClientID": "sigstore", "Type": "username",
                                       "SubjectDomain": "example.com"},
      "https://uri.example.com": {"ClientID": "sigstore", "Type": "uri",
                                  "SubjectDomain": "https://example.com"},
      "https://issuer.example.com": {"ClientID": "sigstore", "Type": "spiffe",
                                     "SPIFFETrustDomain": "example.com"},
      "https://k8s.example.com": {"ClientID": "sigstore", "Type": "kubernetes"},
      "https://agent.buildkite.com": {"ClientID": "sigstore", "Type": "ci-provider",
                                      "CIProvider": "buildkite-job"}}}"#;
    let issuers = IssuerSet::from_fulcio_config(config).expect("config");
    let limits = Limits::default();
    let client = vouch_http::Client::new(&vouch_http::ClientConfig::default()).expect("client");
    let mut keys = vouch_ca::oidc::KeyCache::new(client, limits);
    for iss in [
        "https://iss.example.com",
        "https://accounts.example.com",
        "https://uri.example.com",
        "https://issuer.example.com",
        "https://k8s.example.com",
        "https://agent.buildkite.com",
    ] {
        keys.pin(
            iss,
            vouch_ca::oidc::IssuerKeys::from_jwks(&jwks).expect("keys"),
        );
    }
    let service = CaService {
        ca: CertificateAuthority::generate("vouch test").expect("CA"),
        tokens: TokenVerifier::with_keys(issuers, keys, limits),
        limits,
    };
    let token = |iss: &str, sub: &str, extra: Value| {
        let mut c = json!({"iss": iss, "sub": sub, "aud": "sigstore", "iat": now(),
                           "exp": now() + 300});
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        py.mint("rsa", &c)
    };
    // (issuer, sub, extra claims, principal name, SAN) that Fulcio accepts.
    let accepted: &[(&str, &str, Value, &str, &str)] = &[
        (
            "https://iss.example.com",
            "doesntmatter",
            json!({"email": "alice@example.com", "email_verified": true}),
            "alice@example.com",
            "alice@example.com",
        ),
        (
            "https://accounts.example.com",
            "alice",
            json!({}),
            "alice",
            "alice!example.com",
        ),
        (
            "https://uri.example.com",
            "https://example.com/users/1",
            json!({}),
            "https://example.com/users/1",
            "https://example.com/users/1",
        ),
        (
            "https://issuer.example.com",
            "spiffe://example.com/foo/bar",
            json!({}),
            "spiffe://example.com/foo/bar",
            "spiffe://example.com/foo/bar",
        ),
        (
            "https://k8s.example.com",
            "system:serviceaccount:foo:baz",
            json!({"kubernetes.io": {"namespace": "foo", "pod": {"name": "bar", "uid": "1"},
                                     "serviceaccount": {"name": "baz", "uid": "2"}}}),
            "system:serviceaccount:foo:baz",
            "https://kubernetes.io/namespaces/foo/serviceaccounts/baz",
        ),
        (
            "https://agent.buildkite.com",
            "organization:acme-inc:pipeline:bash-example:ref:refs/heads/main",
            json!({"organization_slug": "acme-inc", "pipeline_slug": "bash-example",
                   "build_number": 1, "job_id": "j1", "runner_environment": "buildkite-hosted",
                   "build_commit": "c0ffee", "build_source": "ui"}),
            "organization:acme-inc:pipeline:bash-example:ref:refs/heads/main",
            "https://buildkite.com/acme-inc/bash-example",
        ),
    ];
    for (iss, sub, extra, name, san) in accepted {
        let id = identity(&service, &token(iss, sub, extra.clone()), name);
        assert_eq!(id.subject_alternative_names, [*san], "{iss}");
        assert_eq!(id.issuer.as_deref(), Some(*iss), "{iss}");
        assert_eq!(
            id.extensions
                .get("1.3.6.1.4.1.57264.1.1")
                .map(String::as_str),
            Some(*iss),
            "{iss}: deprecated issuer extension"
        );
        assert_eq!(
            id.extensions
                .get("1.3.6.1.4.1.57264.1.24")
                .map(String::as_str),
            Some(*sub),
            "{iss}: token subject extension"
        );
    }
    // The Buildkite metadata's extensions (Fulcio's config.yaml templates).
    let bk = identity(
        &service,
        &token(accepted[5].0, accepted[5].1, accepted[5].2.clone()),
        accepted[5].3,
    );
    for (arc, value) in [
        (11, "buildkite-hosted"),
        (13, "c0ffee"),
        (20, "ui"),
        (
            21,
            "https://buildkite.com/acme-inc/bash-example/builds/1#j1",
        ),
    ] {
        let oid = format!("1.3.6.1.4.1.57264.1.{arc}");
        assert_eq!(
            bk.extensions.get(&oid).map(String::as_str),
            Some(value),
            "{oid}"
        );
    }

    // Fulcio's error rows.
    let refused_rows: &[(&str, &str, Value, &str)] = &[
        ("https://accounts.example.com", "alice!", json!({}), "!"),
        (
            "https://accounts.example.com",
            "alice@example.com",
            json!({}),
            "email",
        ),
        (
            "https://uri.example.com",
            "user@example.com",
            json!({}),
            "email",
        ),
        (
            "https://uri.example.com",
            "https://notexample.com/users/1",
            json!({}),
            "hostname",
        ),
        (
            "https://uri.example.com",
            "http://example.com/users/1",
            json!({}),
            "scheme",
        ),
        (
            "https://uri.example.com",
            "not\n#a#uri",
            json!({}),
            "not a URI",
        ),
        (
            "https://issuer.example.com",
            "spiffe://foo.example.com/foo/bar",
            json!({}),
            "trust domain",
        ),
        (
            "https://issuer.example.com",
            "not-a-spiffe-id",
            json!({}),
            "invalid spiffe ID",
        ),
        (
            "https://iss.example.com",
            "x",
            json!({"email": "alice@example.com", "email_verified": false}),
            "email_verified",
        ),
        (
            "https://iss.example.com",
            "x",
            json!({"email": "not-an-email", "email_verified": true}),
            "not valid",
        ),
        (
            "https://notaccounts.example.com",
            "alice",
            json!({}),
            "not configured",
        ),
    ];
    for (iss, sub, extra, reason) in refused_rows {
        let message = refused(&service, &token(iss, sub, extra.clone()), sub);
        assert!(message.contains(reason), "{iss} {sub:?}: {message}");
    }
}
