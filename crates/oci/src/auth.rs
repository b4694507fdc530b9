//! Registry credentials and the token challenge flow.
//!
//! Credentials come from the same files `docker`, `podman` and `skopeo` read, first match
//! wins: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. An entry is `auth`
//! (base64 `user:password`), `username`/`password`, or `identitytoken` (an OAuth refresh
//! token); `credHelpers` and `credsStore` run `docker-credential-<name> get`.
//!
//! Challenges follow the distribution "token authentication" spec: a `401` with
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…` sends us to `realm` for a token,
//! with Basic credentials if we have them; `Basic realm=…` means the registry takes the
//! credentials directly.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

/// What the user gave us to log in with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A user name and password (or access token used as a password).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in the auth file).
    IdentityToken(String),
}

impl std::fmt::Debug for Credentials {
    // Never print secrets, even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

impl Credentials {
    /// The `Authorization: Basic …` value, for Basic credentials.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Self::Basic { username, password } => Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            )),
            Self::IdentityToken(_) => None,
        }
    }
}

/// The auth files consulted, in order.
pub fn auth_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(Path::new(&p).join("containers/auth.json"));
    }
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => files.push(Path::new(&dir).join("config.json")),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                files.push(Path::new(&home).join(".docker/config.json"));
            }
        }
    }
    files
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// Finds credentials for `registry` (`host[:port]`, `docker.io` for Docker Hub) in `files`
/// (usually [`auth_files`]), first match wins.
pub fn lookup(registry: &str, files: &[PathBuf]) -> Result<Option<Credentials>> {
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(file, e)),
        };
        let parsed: AuthFile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::malformed(file.display().to_string(), e))?;
        if let Some(c) = from_file(&parsed, registry, file)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

fn from_file(file: &AuthFile, registry: &str, path: &Path) -> Result<Option<Credentials>> {
    let wanted = normalise_key(registry);
    let helper = file
        .cred_helpers
        .iter()
        .find(|(k, _)| normalise_key(k) == wanted)
        .map(|(_, v)| v)
        .or(file.creds_store.as_ref());
    if let Some(helper) = helper
        && let Some(c) = run_helper(helper, registry)?
    {
        return Ok(Some(c));
    }
    let Some(entry) = file
        .auths
        .iter()
        .find(|(k, _)| normalise_key(k) == wanted)
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    if let Some(token) = &entry.identitytoken
        && !token.is_empty()
    {
        return Ok(Some(Credentials::IdentityToken(token.clone())));
    }
    if let Some(auth) = &entry.auth
        && !auth.is_empty()
    {
        let what = format!("{}: auths[{registry:?}].auth", path.display());
        let decoded = STANDARD
            .decode(auth.trim())
            .map_err(|e| Error::malformed(&what, e))?;
        let text = String::from_utf8(decoded).map_err(|e| Error::malformed(&what, e))?;
        let (u, p) = text
            .split_once(':')
            .ok_or_else(|| Error::malformed(&what, "not base64 of user:password"))?;
        return Ok(Some(Credentials::Basic {
            username: u.into(),
            password: p.into(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) => Ok(Some(Credentials::Basic {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}

/// Auth-file keys come as `host`, `host:port` or URLs (`https://index.docker.io/v1/`).
fn normalise_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

/// `docker-credential-<helper> get`, server URL on stdin, JSON `{Username, Secret}` out.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let server = if registry == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    let child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        // A configured helper that is not installed: docker errors, we fall back to auths.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&program, e)),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| Error::io(&program, e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(&program, e))?;
    if !out.status.success() {
        return Ok(None); // "credentials not found in native keychain"
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperOut {
        username: String,
        secret: String,
    }
    let h: HelperOut =
        serde_json::from_slice(&out.stdout).map_err(|e| Error::malformed(&program, e))?;
    if h.username == "<token>" {
        return Ok(Some(Credentials::IdentityToken(h.secret)));
    }
    Ok(Some(Credentials::Basic {
        username: h.username,
        password: h.secret,
    }))
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm=…`
    Basic,
    /// `Bearer realm=…,service=…,scope=…`
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses the first challenge we understand (RFC 7235 section 4.1 syntax, auth-params with
/// quoted strings).
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(params);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        }),
        _ => None,
    }
}

fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[end.min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        out.insert(key, value);
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_table() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="http://127.0.0.1:1/t", scope="a:b:pull,push""#),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: None,
                scope: Some("a:b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
    }

    #[test]
    fn auth_file_entries() {
        let json = r#"{"auths":{
            "https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
            "localhost:5000":{"username":"a","password":"b:c"},
            "ghcr.io":{"identitytoken":"tok"},
            "bad.example":{"auth":"!!!"}}}"#;
        let f: AuthFile = serde_json::from_str(json).expect("parse");
        let p = Path::new("config.json");
        assert_eq!(
            from_file(&f, "docker.io", p).expect("ok"),
            Some(Credentials::Basic {
                username: "user".into(),
                password: "pass".into()
            })
        );
        assert_eq!(
            from_file(&f, "localhost:5000", p).expect("ok"),
            Some(Credentials::Basic {
                username: "a".into(),
                password: "b:c".into()
            })
        );
        assert_eq!(
            from_file(&f, "ghcr.io", p).expect("ok"),
            Some(Credentials::IdentityToken("tok".into()))
        );
        assert_eq!(from_file(&f, "quay.io", p).expect("ok"), None);
        assert!(matches!(
            from_file(&f, "bad.example", p),
            Err(Error::Malformed { .. })
        ));
        assert_eq!(
            format!(
                "{:?}",
                Credentials::Basic {
                    username: "u".into(),
                    password: "secret".into()
                }
            ),
            "Basic(u, ***)"
        );
    }
}
