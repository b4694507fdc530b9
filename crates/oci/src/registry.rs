//! A repository in a remote registry, spoken to with the OCI distribution spec v1.1.
//!
//! Endpoints used (distribution-spec `spec.md`): `GET/HEAD /v2/<name>/manifests/<ref>`,
//! `PUT /v2/<name>/manifests/<ref>`, `GET/HEAD /v2/<name>/blobs/<digest>`,
//! `POST /v2/<name>/blobs/uploads/` then a monolithic `PUT <location>?digest=`,
//! `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>` (cross-repository mount:
//! 201 mounted, 202 an ordinary upload session opened instead; `DELETE <location>` cancels),
//! `GET /v2/<name>/tags/list` (paginated with `Link`), `GET /v2/<name>/referrers/<digest>`
//! (falling back to the `<alg>-<hex>` tag schema when the registry answers 404).

use std::io::Read;
use std::sync::Mutex;

use oci_spec::image::{Descriptor, ImageIndex};
use vouch_http::{Client, Response, TransportPolicy, http, ureq};

use crate::auth::{self, Challenge, Credentials};
use crate::digest::{Digest, VerifyingReader};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::{RawManifest, media};
use crate::reference::{Reference, Selector};
use crate::store::{BlobReader, ImageSink, ImageSource, Mount, PendingUpload, RepositoryId};

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Which hosts may use plain HTTP.
    pub transport: TransportPolicy,
    /// HTTP client settings.
    pub http: vouch_http::ClientConfig,
    /// Credentials to use instead of the auth files.
    pub credentials: Option<Credentials>,
    /// Auth files to read credentials from; `None` means the standard ones
    /// ([`auth::auth_files`]: `$REGISTRY_AUTH_FILE`, containers' and Docker's).
    pub auth_files: Option<Vec<std::path::PathBuf>>,
    /// Size limits on what the registry sends.
    pub limits: Limits,
    /// A client every [`Registry::open`] with these options clones instead of building its
    /// own from `http`, so repositories of one host share its connection pool (and TLS
    /// sessions). `None`: each opened repository has a client, and connections, of its own.
    /// Set it with [`RegistryOptions::with_shared_client`] for long-lived processes.
    pub shared_client: Option<Client>,
}

impl RegistryOptions {
    /// These options with a client built from `http` once, shared by every repository
    /// opened with them (and their clones).
    pub fn with_shared_client(mut self) -> Result<Self> {
        self.shared_client = Some(Client::new(&self.http)?);
        Ok(self)
    }
}

/// One repository (`registry/name`) in a registry.
#[derive(Debug)]
pub struct Registry {
    http: Client,
    base: String,
    registry: String,
    repository: String,
    credentials: Option<Credentials>,
    push: bool,
    authorization: Mutex<Option<String>>,
    limits: Limits,
}

enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
}

impl Registry {
    /// Opens `reference`'s repository. `push` asks for push rights when the registry
    /// challenges (token scope `pull,push`).
    pub fn open(reference: &Reference, options: &RegistryOptions, push: bool) -> Result<Self> {
        let host = reference.api_host();
        let credentials = match &options.credentials {
            Some(c) => Some(c.clone()),
            None => match &options.auth_files {
                Some(files) => auth::lookup(reference.registry(), files)?,
                None => auth::lookup(reference.registry(), &auth::auth_files())?,
            },
        };
        Ok(Self {
            http: match &options.shared_client {
                Some(c) => c.clone(),
                None => Client::new(&options.http)?,
            },
            base: format!("{}://{host}", options.transport.scheme_for(host)),
            registry: reference.registry().to_owned(),
            repository: reference.repository().to_owned(),
            credentials,
            push,
            authorization: Mutex::new(None),
            limits: options.limits.clone(),
        })
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", self.base, self.repository)
    }

    fn auth_header(&self) -> Option<String> {
        self.authorization.lock().map(|g| g.clone()).unwrap_or(None)
    }

    /// Sends a request, answering one authentication challenge if the registry makes it.
    fn call(
        &self,
        method: &http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Response> {
        self.call_scoped(method, url, headers, body, None)
    }

    /// [`Self::call`], asking the token server for `extra_scope` too when challenged (a
    /// mount needs `repository:<from>:pull` besides our own scope: distribution
    /// `registry/handlers/app.go`, `appendAccessRecords`).
    fn call_scoped(
        &self,
        method: &http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
        extra_scope: Option<&str>,
    ) -> Result<Response> {
        let what = format!("{method} {url}");
        let send = |auth: Option<String>| {
            self.http.send(&what, |agent| {
                let mut req = http::Request::builder().method(method.clone()).uri(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                if let Some(a) = &auth {
                    req = req.header(http::header::AUTHORIZATION, a.as_str());
                }
                match body {
                    Body::Empty => agent.run(req.body(()).map_err(ureq::Error::from)?),
                    Body::Bytes(b) => agent.run(req.body(b).map_err(ureq::Error::from)?),
                }
            })
        };
        let resp = send(self.auth_header())?;
        if resp.status() != 401 {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::parse_challenge);
        let Some(challenge) = challenge else {
            return Err(self.denied(&what, resp));
        };
        let header = self.answer(&challenge, extra_scope)?;
        *self.authorization.lock().map_err(|_| poisoned())? = Some(header.clone());
        let resp = send(Some(header))?;
        if resp.status() == 401 || resp.status() == 403 {
            return Err(self.denied(&what, resp));
        }
        Ok(resp)
    }

    /// Turns a challenge into an `Authorization` value.
    fn answer(&self, challenge: &Challenge, extra_scope: Option<&str>) -> Result<String> {
        match challenge {
            Challenge::Basic => self
                .credentials
                .as_ref()
                .and_then(Credentials::basic_header)
                .ok_or_else(|| Error::Denied {
                    location: self.registry.clone(),
                    what: self.repository.clone(),
                    status: 401,
                    detail: "registry wants a user name and password; none configured \
                             (docker login, or REGISTRY_AUTH_FILE)"
                        .into(),
                }),
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => self.fetch_token(realm, service.as_deref(), scope.as_deref(), extra_scope),
        }
    }

    /// Distribution "token authentication": GET realm?service=…&scope=… (Basic auth if we
    /// have credentials) or, with a refresh token, the OAuth2 POST form.
    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
        extra_scope: Option<&str>,
    ) -> Result<String> {
        let actions = if self.push { "pull,push" } else { "pull" };
        let own_scope = format!("repository:{}:{actions}", self.repository);
        // Ask for our own scope; a registry may offer a narrower one (pull) in the challenge.
        let scope = if self.push {
            own_scope.as_str()
        } else {
            scope.unwrap_or(&own_scope)
        };
        let what = format!("token from {realm}");
        let resp = match &self.credentials {
            Some(Credentials::IdentityToken(refresh)) => {
                // OAuth2 form: one `scope`, entries space-separated (distribution
                // docs/spec/auth/oauth.md).
                let scopes = match extra_scope {
                    Some(x) => format!("{scope} {x}"),
                    None => scope.to_owned(),
                };
                let form = form_encode(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                    ("service", service.unwrap_or("")),
                    ("scope", &scopes),
                    ("client_id", "vouch"),
                ]);
                self.http.send(&what, |agent| {
                    agent
                        .post(realm)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .send(form.as_bytes())
                })?
            }
            creds => {
                let mut url = format!("{realm}{}", if realm.contains('?') { '&' } else { '?' });
                // `scope` once per entry (distribution docs/spec/auth/token.md).
                let mut params = vec![("scope", scope)];
                if let Some(x) = extra_scope {
                    params.push(("scope", x));
                }
                if let Some(s) = service {
                    params.push(("service", s));
                }
                url.push_str(&form_encode(&params));
                let basic = creds.as_ref().and_then(Credentials::basic_header);
                self.http.send(&what, |agent| {
                    let mut req = agent.get(&url);
                    if let Some(b) = &basic {
                        req = req.header("Authorization", b);
                    }
                    req.call()
                })?
            }
        };
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            return Err(Error::Denied {
                location: self.registry.clone(),
                what: self.repository.clone(),
                status,
                detail: format!("token server {realm} refused: {}", error_detail(resp)),
            });
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let body = read_limited(resp, self.limits.token_bytes, &what)?;
        let t: Token = serde_json::from_slice(&body).map_err(|e| Error::malformed(&what, e))?;
        let token = t.token.or(t.access_token).filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| Error::malformed(&what, "no token in answer"))?;
        Ok(format!("Bearer {token}"))
    }

    fn denied(&self, what: &str, resp: Response) -> Error {
        let status = resp.status().as_u16();
        let hint = if self.credentials.is_none() {
            " (no credentials configured)"
        } else {
            ""
        };
        Error::Denied {
            location: self.registry.clone(),
            what: what.to_owned(),
            status,
            detail: format!("{}{hint}", error_detail(resp)),
        }
    }

    fn unexpected(&self, what: &str, resp: Response) -> Error {
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return self.denied(what, resp);
        }
        Error::Registry {
            location: self.registry.clone(),
            what: what.into(),
            status,
            detail: error_detail(resp),
        }
    }

    fn not_found(&self, what: String, resp: Response) -> Error {
        Error::NotFound {
            what,
            location: self.registry.clone(),
            detail: error_detail(resp),
        }
    }

    /// `POST` an upload session.
    fn start_upload(&self) -> Result<PendingUpload> {
        let url = self.url("blobs/uploads/");
        let resp = self.call(
            &http::Method::POST,
            &url,
            &[("Content-Length", "0")],
            Body::Empty,
        )?;
        if resp.status() != 202 {
            return Err(self.unexpected(&format!("POST {url}"), resp));
        }
        self.upload_location(&url, &resp)
    }

    fn repository_id(&self) -> RepositoryId {
        RepositoryId {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            credentials: self.credentials.clone(),
        }
    }

    fn upload_location(&self, url: &str, resp: &Response) -> Result<PendingUpload> {
        let loc = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::malformed(url, "upload answer without Location"))?;
        Ok(PendingUpload {
            location: self.absolute(loc),
        })
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        }
    }

    fn tag_list_page(&self, url: &str) -> Result<(Vec<String>, Option<String>)> {
        let resp = self.call(&http::Method::GET, url, &[], Body::Empty)?;
        if resp.status() == 404 {
            return Err(self.not_found(format!("repository {}", self.repository), resp));
        }
        if !resp.status().is_success() {
            return Err(self.unexpected(&format!("GET {url}"), resp));
        }
        let next = resp
            .headers()
            .get(http::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.split(';').next())
            .map(|u| {
                u.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
            .map(|u| self.absolute(&u));
        #[derive(serde::Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let body = read_limited(resp, self.limits.manifest_bytes, url)?;
        let t: Tags = serde_json::from_slice(&body).map_err(|e| Error::malformed(url, e))?;
        Ok((t.tags.unwrap_or_default(), next))
    }
}

fn poisoned() -> Error {
    Error::malformed(
        "registry client",
        "internal lock poisoned by an earlier panic",
    )
}

impl ImageSource for Registry {
    fn location(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    fn manifest(&self, selector: &Selector) -> Result<RawManifest> {
        let url = self.url(&format!("manifests/{selector}"));
        let what = format!("{}/{}:{selector}", self.registry, self.repository);
        let resp = self.call(
            &http::Method::GET,
            &url,
            &[("Accept", media::ACCEPT_MANIFESTS)],
            Body::Empty,
        )?;
        if resp.status() == 404 {
            return Err(self.not_found(what, resp));
        }
        if !resp.status().is_success() {
            return Err(self.unexpected(&format!("GET {url}"), resp));
        }
        let content_type = header_str(&resp, http::header::CONTENT_TYPE);
        let claimed = header_str(&resp, "docker-content-digest");
        let bytes = read_limited(resp, self.limits.manifest_bytes, &what)?;
        let expected = match selector {
            Selector::Digest(d) => Some(d.clone()),
            // By tag: the registry's claimed digest, if any, must match what it sent.
            Selector::Tag(_) => claimed.as_deref().map(str::parse::<Digest>).transpose()?,
        };
        RawManifest::new(bytes, content_type.as_deref(), expected.as_ref(), &what)
    }

    fn blob(&self, digest: &Digest, size: u64) -> Result<BlobReader> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.call(&http::Method::GET, &url, &[], Body::Empty)?;
        if resp.status() == 404 {
            return Err(self.not_found(format!("blob {digest}"), resp));
        }
        if !resp.status().is_success() {
            return Err(self.unexpected(&format!("GET {url}"), resp));
        }
        let reader = resp.into_body().into_reader();
        Ok(Box::new(VerifyingReader::new(
            reader,
            digest,
            size,
            format!("blob {digest}"),
        )))
    }

    fn tags(&self) -> Result<Vec<String>> {
        let mut url = self.url("tags/list?n=1000");
        let mut all = Vec::new();
        for _ in 0..self.limits.tag_pages {
            let (tags, next) = self.tag_list_page(&url)?;
            all.extend(tags);
            match next {
                Some(n) => url = n,
                None => {
                    all.sort();
                    return Ok(all);
                }
            }
        }
        Err(Error::Limit {
            what: format!("tag list of {}", ImageSource::location(self)),
            limit: "tag_pages",
            max: self.limits.tag_pages as u64,
            actual: self.limits.tag_pages as u64 + 1,
        })
    }

    fn registry_repository(&self) -> Option<RepositoryId> {
        Some(self.repository_id())
    }

    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        let mut url = self.url(&format!("referrers/{subject}"));
        if let Some(t) = artifact_type {
            url.push_str(&format!("?{}", form_encode(&[("artifactType", t)])));
        }
        let resp = self.call(
            &http::Method::GET,
            &url,
            &[("Accept", media::OCI_INDEX)],
            Body::Empty,
        )?;
        let index_bytes = match resp.status().as_u16() {
            200 => {
                let filtered = resp.headers().contains_key("oci-filters-applied");
                let body = read_limited(resp, self.limits.manifest_bytes, &url)?;
                let index: ImageIndex =
                    serde_json::from_slice(&body).map_err(|e| Error::malformed(&url, e))?;
                let mut out = index.manifests().clone();
                if !filtered && let Some(t) = artifact_type {
                    out.retain(|d| {
                        d.artifact_type()
                            .as_ref()
                            .is_some_and(|a| a.to_string() == t)
                    });
                }
                return Ok(out);
            }
            // No referrers API: distribution-spec "Referrers Tag Schema" fallback.
            404 | 400 | 405 => match self.manifest(&Selector::Tag(subject.tag_form())) {
                // Only an index under that tag is a referrers list. `cosign copy` tags every
                // image it copies `sha256-<hex>` (sigstore/cosign cmd/cosign/cli/copy/copy.go,
                // `TagPrefix, h.Algorithm, "-", h.Hex`); that image lists no referrers, as
                // go-containerregistry's and ORAS's fallbacks also read it.
                Ok(raw) if !crate::manifest::is_index(&raw.media_type) => return Ok(Vec::new()),
                Ok(raw) => raw.bytes,
                Err(Error::NotFound { .. }) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            },
            _ => return Err(self.unexpected(&format!("GET {url}"), resp)),
        };
        let index: ImageIndex = serde_json::from_slice(&index_bytes)
            .map_err(|e| Error::malformed(subject.tag_form(), e))?;
        let mut out = index.manifests().clone();
        if let Some(t) = artifact_type {
            out.retain(|d| {
                d.artifact_type()
                    .as_ref()
                    .is_some_and(|a| a.to_string() == t)
            });
        }
        Ok(out)
    }
}

impl Registry {
    /// This repository's identity (host, name, credentials), for mount decisions.
    pub fn repository(&self) -> RepositoryId {
        self.repository_id()
    }

    /// Deletes the manifest `digest` (distribution-spec "Deleting Manifests": `DELETE
    /// /v2/<name>/manifests/<digest>`, 202 Accepted; by digest because docker-registry refuses
    /// deleting by tag). Returns `false` when the registry does not have it (404), as cosign's
    /// `clean` treats a missing tag. Open the registry with `push` for a token that may delete.
    pub fn delete_manifest(&self, digest: &Digest) -> Result<bool> {
        let url = self.url(&format!("manifests/{digest}"));
        let what = format!("DELETE {url}");
        let resp = self.call(&http::Method::DELETE, &url, &[], Body::Empty)?;
        match resp.status().as_u16() {
            200 | 202 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(self.unexpected(&what, resp)),
        }
    }
}

impl ImageSink for Registry {
    fn location(&self) -> String {
        ImageSource::location(self)
    }

    fn has_blob(&self, digest: &Digest) -> Result<bool> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.call(&http::Method::HEAD, &url, &[], Body::Empty)?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.unexpected(&format!("HEAD {url}"), resp)),
        }
    }

    fn put_blob(&self, digest: &Digest, size: u64, data: &mut dyn Read) -> Result<()> {
        let upload = self.start_upload()?;
        self.put_blob_in(upload, digest, size, data)
    }

    fn registry_repository(&self) -> Option<RepositoryId> {
        Some(self.repository_id())
    }

    /// distribution-spec `spec.md`, "Mounting a blob from another repository". A registry
    /// that does not know the blob in `from` (or does not mount) answers 202 with an upload
    /// session, handed back for the caller to use or cancel.
    fn mount_blob(&self, digest: &Digest, from: &str) -> Result<Mount> {
        let url = self.url(&format!(
            "blobs/uploads/?{}",
            form_encode(&[("mount", &digest.to_string()), ("from", from)])
        ));
        let from_scope = format!("repository:{from}:pull");
        let resp = self.call_scoped(
            &http::Method::POST,
            &url,
            &[("Content-Length", "0")],
            Body::Empty,
            Some(&from_scope),
        )?;
        match resp.status().as_u16() {
            201 => Ok(Mount::Mounted),
            202 => Ok(Mount::UploadStarted(self.upload_location(&url, &resp)?)),
            _ => Err(self.unexpected(&format!("POST {url}"), resp)),
        }
    }

    fn cancel_upload(&self, upload: PendingUpload) {
        // distribution-spec: "DELETE /v2/<name>/blobs/uploads/<reference>" cancels; a
        // registry that refuses only keeps a stale session until its own purge.
        let _ = self.call(&http::Method::DELETE, &upload.location, &[], Body::Empty);
    }

    fn put_blob_in(
        &self,
        upload: PendingUpload,
        digest: &Digest,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<()> {
        let location = upload.location;
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!(
            "{location}{sep}{}",
            form_encode(&[("digest", &digest.to_string())])
        );
        let what = format!("PUT blob {digest}");
        // The body is a stream we cannot rewind: one attempt, with the token obtained by the
        // POST above. The registry verifies the digest too; we verify on our side so a bad
        // source never produces a "successful" upload.
        let mut verified = VerifyingReader::new(data, digest, size, format!("blob {digest}"));
        let size_header = size.to_string();
        let mut req = http::Request::builder()
            .method(http::Method::PUT)
            .uri(&url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", size_header.as_str());
        if let Some(a) = self.auth_header() {
            req = req.header(http::header::AUTHORIZATION, a);
        }
        let req = req
            .body(ureq::SendBody::from_reader(&mut verified))
            .map_err(|e| Error::malformed(&what, e))?;
        let started = std::time::Instant::now();
        let resp = self.http.agent().run(req).map_err(|e| match e {
            ureq::Error::Io(io) => Error::from_stream(&what, io),
            other => Error::Http(self.http.single_attempt_error(what.clone(), started, other)),
        })?;
        if resp.status() != 201 {
            return Err(self.unexpected(&what, resp));
        }
        Ok(())
    }

    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<()> {
        let target = match tag {
            Some(t) => t.to_owned(),
            None => manifest.digest.to_string(),
        };
        let url = self.url(&format!("manifests/{target}"));
        let what = format!("PUT {url}");
        let resp = self.call(
            &http::Method::PUT,
            &url,
            &[("Content-Type", manifest.media_type.as_str())],
            Body::Bytes(&manifest.bytes),
        )?;
        if resp.status() != 201 {
            return Err(self.unexpected(&what, resp));
        }
        if let Some(claimed) = header_str(&resp, "docker-content-digest")
            && claimed != manifest.digest.to_string()
        {
            return Err(Error::DigestMismatch {
                what,
                expected: manifest.digest.clone(),
                actual: claimed.parse()?,
            });
        }
        Ok(())
    }
}

fn header_str(resp: &Response, name: impl http::header::AsHeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn read_limited(resp: Response, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut body = resp.into_body();
    let mut out = Vec::new();
    let n = body
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Layer {
            layer: what.into(),
            source: e,
        })?;
    if n as u64 > limit {
        return Err(Error::Limit {
            what: what.into(),
            limit: "response size",
            max: limit,
            actual: n as u64,
        });
    }
    Ok(out)
}

/// The registry's error body (`{"errors":[{"code","message","detail"}]}`) in one line, or
/// the status line when there is none.
fn error_detail(resp: Response) -> String {
    let status = resp.status();
    let mut body = String::new();
    let _ = resp
        .into_body()
        .as_reader()
        .take(64 * 1024)
        .read_to_string(&mut body);
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorItem {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(e) = serde_json::from_str::<Errors>(&body) {
        let parts: Vec<String> = e
            .errors
            .iter()
            .map(|i| match (&i.code, &i.message) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.clone(),
                (None, Some(m)) => m.clone(),
                (None, None) => "unknown error".into(),
            })
            .collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    let body = body.trim();
    if body.is_empty() || body.len() > 200 {
        status.to_string()
    } else {
        format!("{status}: {body}")
    }
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 unreserved characters pass; everything else is %XX.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode(&[("scope", "repository:a/b:pull,push"), ("service", "x y")]),
            "scope=repository%3Aa%2Fb%3Apull%2Cpush&service=x%20y"
        );
    }
}
