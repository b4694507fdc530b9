//! Where the OIDC identity token comes from, in this order (as cosign and sigstore-python):
//!
//! 1. `--identity-token VALUE` or `@FILE`;
//! 2. `SIGSTORE_ID_TOKEN`;
//! 3. GitHub Actions' ambient credentials: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore`
//!    with `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer `{"value": JWT}`
//!    (`sigstore/sigstore:pkg/oauthflow`, `sigstore-python:sigstore/oidc.py` `detect_credential`);
//! 4. a vouch dev OIDC issuer: `GET <issuer>/token` answering `{"id_token": JWT}`.
//!
//! The token is not verified here (the CA does that); its claims are read for the proof of
//! possession and for messages.

use std::io::Read as _;

use base64::Engine as _;
use serde_json::Value;

use crate::error::{Error, Result};

/// The audience Sigstore CAs require.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";
/// Largest token or token-endpoint answer read (tokens are a few KiB).
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `--identity-token`.
    Flag,
    /// `SIGSTORE_ID_TOKEN`.
    Environment,
    /// GitHub Actions' ambient OIDC credentials.
    GithubActions,
    /// A vouch dev OIDC issuer's token endpoint.
    DevIssuer,
}

impl TokenSource {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flag => "--identity-token",
            Self::Environment => "SIGSTORE_ID_TOKEN",
            Self::GithubActions => "GitHub Actions",
            Self::DevIssuer => "dev OIDC issuer",
        }
    }
}

/// An identity token with its (unverified) claims.
#[derive(Clone)]
pub struct IdentityToken {
    raw: String,
    /// Where it came from.
    pub source: TokenSource,
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`, when present.
    pub email: Option<String>,
    /// `exp` (unix seconds), when present.
    pub expires_at: Option<u64>,
}

impl std::fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityToken")
            .field("source", &self.source)
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl IdentityToken {
    /// Reads the claims of a compact JWS (header.payload.signature).
    pub fn parse(raw: &str, source: TokenSource) -> Result<Self> {
        let bad = |reason: &str| Error::MalformedToken {
            source_name: source.name(),
            reason: reason.to_owned(),
        };
        let raw = raw.trim();
        if raw.len() as u64 > MAX_TOKEN_BYTES {
            return Err(bad("larger than 64 KiB"));
        }
        let mut parts = raw.split('.');
        let (Some(_), Some(payload), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not a JWT (three dot-separated parts)"));
        };
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|e| bad(&format!("payload base64url: {e}")))?;
        let claims: Value =
            serde_json::from_slice(&json).map_err(|e| bad(&format!("payload JSON: {e}")))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            raw: raw.to_owned(),
            source,
            issuer: text("iss").ok_or_else(|| bad("no `iss` claim"))?,
            subject: text("sub").ok_or_else(|| bad("no `sub` claim"))?,
            email: text("email"),
            expires_at: claims.get("exp").and_then(Value::as_u64),
        })
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// What the proof of possession signs: the email when the token has one, else `sub`
    /// (`sigstore/sigstore:pkg/oauthflow` `SubjectFromToken`, which cosign signs; Fulcio's
    /// email principal checks the address, the others `sub`).
    pub fn principal(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }
}

/// Inputs to [`resolve`].
#[derive(Debug, Clone, Default)]
pub struct TokenOptions {
    /// `--identity-token`: the token, or `@FILE`.
    pub explicit: Option<String>,
    /// A dev OIDC issuer to ask last (from `--oidc-dev-issuer` or a loopback `oidcUrls` entry
    /// of the trust config).
    pub dev_issuer: Option<String>,
}

/// Finds a token in the documented order, reading the environment through `env`.
pub fn resolve_with_env(
    options: &TokenOptions,
    http: &vouch_http::Client,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<IdentityToken> {
    if let Some(value) = &options.explicit {
        let text = match value.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.into(),
                source,
            })?,
            None => value.clone(),
        };
        return IdentityToken::parse(&text, TokenSource::Flag);
    }
    if let Some(token) = env("SIGSTORE_ID_TOKEN").filter(|t| !t.trim().is_empty()) {
        return IdentityToken::parse(&token, TokenSource::Environment);
    }
    if let (Some(url), Some(bearer)) = (
        env("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        let separator = if url.contains('?') { '&' } else { '?' };
        let full = format!("{url}{separator}audience={SIGSTORE_AUDIENCE}");
        let answer = get_json(http, &full, Some(&bearer), &url)?;
        let token =
            answer
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::TokenEndpoint {
                    url: url.clone(),
                    reason: "answer has no `value`".into(),
                })?;
        return IdentityToken::parse(token, TokenSource::GithubActions);
    }
    if let Some(issuer) = &options.dev_issuer {
        let url = format!("{}/token", issuer.trim_end_matches('/'));
        let answer = get_json(http, &url, None, &url)?;
        let token = answer
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::TokenEndpoint {
                url: url.clone(),
                reason: "answer has no `id_token`".into(),
            })?;
        return IdentityToken::parse(token, TokenSource::DevIssuer);
    }
    Err(Error::NoToken)
}

/// [`resolve_with_env`] with the process environment.
pub fn resolve(options: &TokenOptions, http: &vouch_http::Client) -> Result<IdentityToken> {
    resolve_with_env(options, http, &|name| std::env::var(name).ok())
}

fn get_json(
    http: &vouch_http::Client,
    url: &str,
    bearer: Option<&str>,
    shown: &str,
) -> Result<Value> {
    let what = format!("GET {shown}");
    let response = http.send(&what, |agent| {
        let request = agent.get(url).header("Accept", "application/json");
        match bearer {
            Some(b) => request
                .header("Authorization", &format!("bearer {b}"))
                .call(),
            None => request.call(),
        }
    })?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_TOKEN_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::TokenEndpoint {
            url: shown.to_owned(),
            reason: e.to_string(),
        })?;
    if status != 200 {
        return Err(Error::TokenEndpoint {
            url: shown.to_owned(),
            reason: format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::TokenEndpoint {
        url: shown.to_owned(),
        reason: format!("answer is not JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b(r#"{"alg":"ES256"}"#), b(claims))
    }

    fn http() -> vouch_http::Client {
        vouch_http::Client::new(&vouch_http::ClientConfig::default()).expect("client")
    }

    #[test]
    fn order_is_flag_then_environment_then_actions() {
        let flag = jwt(r#"{"iss":"https://a","sub":"flag"}"#);
        let envtok = jwt(r#"{"iss":"https://a","sub":"env","email":"e@x"}"#);
        let env = |name: &str| (name == "SIGSTORE_ID_TOKEN").then(|| envtok.clone());
        let got = resolve_with_env(
            &TokenOptions {
                explicit: Some(flag),
                dev_issuer: None,
            },
            &http(),
            &env,
        )
        .expect("flag");
        assert_eq!(
            (got.source, got.subject.as_str()),
            (TokenSource::Flag, "flag")
        );
        assert_eq!(got.principal(), "flag");
        let got = resolve_with_env(&TokenOptions::default(), &http(), &env).expect("env");
        assert_eq!(got.source, TokenSource::Environment);
        assert_eq!(
            got.principal(),
            "e@x",
            "email is the principal when present"
        );
        let none = resolve_with_env(&TokenOptions::default(), &http(), &|_| None);
        assert!(matches!(none, Err(Error::NoToken)));
    }

    #[test]
    fn github_actions_ambient_token_is_requested_with_audience_sigstore() {
        use std::io::{BufRead as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/token?api-version=2.0",
            listener.local_addr().expect("addr")
        );
        let token = jwt(
            r#"{"iss":"https://token.actions.githubusercontent.com","sub":"repo:o/r:ref:refs/heads/main"}"#,
        );
        let answer = format!(r#"{{"count":1,"value":"{token}"}}"#);
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("read");
                if line.trim().is_empty() {
                    break;
                }
                head.push(line.trim().to_owned());
            }
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .expect("write");
            head
        });
        let env = |name: &str| match name {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(url.clone()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("runner-secret".to_owned()),
            _ => None,
        };
        let got = resolve_with_env(&TokenOptions::default(), &http(), &env).expect("actions");
        assert_eq!(got.source, TokenSource::GithubActions);
        assert_eq!(got.principal(), "repo:o/r:ref:refs/heads/main");
        let head = server.join().expect("server");
        assert_eq!(
            head[0],
            "GET /token?api-version=2.0&audience=sigstore HTTP/1.1"
        );
        assert!(
            head.iter()
                .any(|h| h.eq_ignore_ascii_case("authorization: bearer runner-secret")),
            "{head:?}"
        );
    }

    #[test]
    fn file_tokens_and_malformed_tokens() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t");
        std::fs::write(&path, format!("{}\n", jwt(r#"{"iss":"i","sub":"s"}"#))).expect("write");
        let options = TokenOptions {
            explicit: Some(format!("@{}", path.display())),
            dev_issuer: None,
        };
        let got = resolve_with_env(&options, &http(), &|_| None).expect("file");
        assert_eq!(got.issuer, "i");
        for bad in ["", "a.b", "a.!!!.c", &jwt(r#"{"sub":"s"}"#)] {
            assert!(
                matches!(
                    IdentityToken::parse(bad, TokenSource::Flag),
                    Err(Error::MalformedToken { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
