//! A private Sigstore instance: one directory of keys and trust files, and the services that
//! make it a complete offline Sigstore (Fulcio-compatible CA, Rekor-compatible transparency log
//! on SQLite, development OIDC issuer).
//!
//! * [`Instance::init`]: generates the root and intermediate CA, the CT log key, the log key,
//!   the dev issuer key and the RFC 3161 timestamp authority (`DIR/tsa`, vouch-tsa), and writes `trusted_root.json`
//!   (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`), `signing_config.json`
//!   (v0.2) and `trust_config.json` (a ClientTrustConfig combining both, what
//!   `sigstore --trust-config` and `vouch --trust-config` read).
//!   With [`InitOptions::rekor_v2`] the log is a Rekor v2 tile log (`sigstore/rekor-tiles`
//!   write API, C2SP tlog-tiles reads) with an Ed25519 checkpoint key in `tlog-v2.key.pem`,
//!   origin [`log_origin_v2`] (the log URL's host name): the trusted root's `tlogs[0].logId` is its C2SP key ID and the
//!   signing config lists it with `majorApiVersion: 2`. Rekor v2 gives no signed time, so
//!   clients take it from the TSA (always part of an instance).
//!   Formats: `sigstore/protobuf-specs:protos/sigstore_trustroot.proto`.
//! * [`Instance::start`]: runs CA, log, TSA and dev OIDC issuer in-process on loopback ports (port 0
//!   picks free ones), rewrites the trust files with the URLs actually served, and returns a
//!   [`RunningInstance`] that mints dev tokens and stops everything on [`RunningInstance::stop`]
//!   or drop.
//!
//! ```no_run
//! # fn main() -> Result<(), vouch_instance::Error> {
//! let dir = tempfile::tempdir().expect("tempdir");
//! let running = vouch_instance::Instance::start(dir.path(), &Default::default())?;
//! let token = running.token()?; // a dev-issuer identity token for `running.email()`
//! println!("CA {} log {} trust config {}", running.ca_url(), running.log_url(),
//!          running.trust_config_path().display());
//! # let _ = token;
//! running.stop();
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_ca::dev_oidc::{DevIssuer, DevKey, TokenRequest, TokenShape};
use vouch_ca::oidc::{IssuerSet, TokenVerifier};
use vouch_ca::{CaMaterial, CaService, CertificateAuthority};
use vouch_sign::{KeyAlgorithm, SigningKey};
use vouch_tlog::{Log, LogKey, SqliteStorage};

/// `validFor.start` of every trust file entry: the instance's keys are valid from the epoch,
/// as in sigstore-python's conformance trust config.
const VALID_FROM: &str = "1970-01-01T00:00:00Z";
/// Host name in the log's checkpoints (origin `"<host> - <tree id>"`), as `vouch tlog serve`.
pub const LOG_HOSTNAME: &str = "vouch-tlog";
/// Checkpoint origin (and note key name) of an instance's Rekor v2 log served at `log_url`:
/// the URL's host name, without port. sigstore-go (so cosign v3) verifies a v2 checkpoint with a
/// note verifier named `url.Parse(baseUrl).Hostname()` (pkg/verify/tlog.go), as the public
/// logs do (`log2025-1.rekor.sigstore.dev`); any other origin fails there with "note has no
/// verifiable signatures". The log ID in the trusted root (the C2SP key ID) binds it to the key.
pub fn log_origin_v2(log_url: &str) -> Result<String> {
    let parsed = url::Url::parse(log_url).map_err(|e| Error::LogUrl {
        url: log_url.to_owned(),
        reason: e.to_string(),
    })?;
    // `host_str` keeps IPv6 brackets; Go's Hostname() drops them.
    let host = parsed.host_str().ok_or_else(|| Error::LogUrl {
        url: log_url.to_owned(),
        reason: "no host name (a Rekor v2 checkpoint origin is the log's host name)".into(),
    })?;
    Ok(host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned())
}
/// Default subject of dev tokens.
pub const DEFAULT_SUBJECT: &str = "vouch-dev";
/// Default (verified) email of dev tokens, the certificate SAN of keyless signatures.
pub const DEFAULT_EMAIL: &str = "dev@vouch.invalid";

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file of the instance.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `init` on a directory that already holds an instance.
    #[error("{0} already holds an instance")]
    AlreadyInitialised(PathBuf),
    /// A file the instance needs is missing or unreadable.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A listen address could not be bound.
    #[error("listening for the {service} on {addr}: {source}")]
    Bind {
        /// `CA`, `transparency log`, `timestamp authority` or `OIDC issuer`.
        service: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The log's URL cannot name a Rekor v2 checkpoint origin.
    #[error("log URL {url}: {reason}")]
    LogUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The dev OIDC issuer is not part of this instance.
    #[error("the dev OIDC issuer is disabled in this instance")]
    NoDevIssuer,
    /// The service runtime could not start.
    #[error("starting the service runtime: {0}")]
    Runtime(String),
    /// CA material.
    #[error(transparent)]
    Ca(#[from] vouch_ca::Error),
    /// Log key or storage.
    #[error(transparent)]
    Tlog(Box<vouch_tlog::Error>),
    /// Key generation or encoding.
    #[error(transparent)]
    Sign(#[from] vouch_sign::Error),
    /// The timestamp authority's key or chain.
    #[error("timestamp authority: {0}")]
    Tsa(#[from] vouch_tsa::Error),
}

impl From<vouch_tlog::Error> for Error {
    fn from(e: vouch_tlog::Error) -> Self {
        Self::Tlog(Box::new(e))
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Base URLs of the three services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// The CA (Fulcio v2 API base).
    pub ca: String,
    /// The transparency log (Rekor v1 API base).
    pub log: String,
    /// The dev OIDC issuer (`iss` of its tokens); `None` when disabled.
    pub oidc: Option<String>,
    /// The RFC 3161 timestamp authority's base URL; the signing config lists
    /// `<tsa>/api/v1/timestamp`, the URL clients POST to.
    pub tsa: String,
}

impl Default for Urls {
    /// The ports `vouch instance serve` uses by default.
    fn default() -> Self {
        Self {
            ca: "http://127.0.0.1:5555".into(),
            log: "http://127.0.0.1:3000".into(),
            oidc: Some("http://127.0.0.1:5556".into()),
            tsa: "http://127.0.0.1:3004".into(),
        }
    }
}

/// How to initialise.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// URLs written into the trust files. [`Instance::start`] rewrites loopback ones with the
    /// ports it binds and keeps any other (a DNS name or proxy clients reach the instance by).
    pub urls: Urls,
    /// Organization name in the CA certificates.
    pub organization: String,
    /// Make the log a Rekor v2 tile log (Ed25519 checkpoint key) instead of Rekor v1.
    pub rekor_v2: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            urls: Urls::default(),
            organization: "vouch".into(),
            rekor_v2: false,
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Where the CA listens (default `127.0.0.1:0`, a free port).
    pub listen_ca: SocketAddr,
    /// Where the transparency log listens.
    pub listen_log: SocketAddr,
    /// Where the RFC 3161 timestamp authority listens.
    pub listen_tsa: SocketAddr,
    /// Where the dev OIDC issuer listens; `None` disables it (the CA then trusts only
    /// `issuers`). The default (loopback, any port) serves in-process tests and demos;
    /// `vouch instance serve` sets it only with `--dev-oidc`. A non-loopback address is refused:
    /// the dev issuer gives a token for any identity to whoever asks.
    pub listen_oidc: Option<SocketAddr>,
    /// Default `sub` of dev tokens.
    pub subject: String,
    /// Default `email` of dev tokens (the certificate SAN).
    pub email: String,
    /// Further OIDC issuers the CA trusts (e.g. GitHub Actions, or a Fulcio config file's).
    pub issuers: IssuerSet,
    /// Organization name, when `start` has to initialise the directory first.
    pub organization: String,
    /// A Rekor v2 log, when `start` has to initialise the directory first
    /// ([`InitOptions::rekor_v2`]); an initialised directory keeps the log it has.
    pub rekor_v2: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            listen_ca: any,
            listen_log: any,
            listen_tsa: any,
            listen_oidc: Some(any),
            subject: DEFAULT_SUBJECT.into(),
            email: DEFAULT_EMAIL.into(),
            issuers: IssuerSet::default(),
            organization: "vouch".into(),
            rekor_v2: false,
        }
    }
}

/// An initialised instance directory.
#[derive(Debug, Clone)]
pub struct Instance {
    dir: PathBuf,
}

const ROOT_CERT: &str = "ca/root.crt.pem";
const INTERMEDIATE_CERT: &str = "ca/intermediate.crt.pem";
const INTERMEDIATE_KEY: &str = "ca/intermediate.key.pem";
const CT_KEY: &str = "ca/ctlog.key.pem";
const LOG_KEY: &str = "tlog.key.pem";
/// The Rekor v2 log's Ed25519 key; its presence makes the instance's log a v2 log.
const LOG_KEY_V2: &str = "tlog-v2.key.pem";
const OIDC_KEY: &str = "oidc.key.pem";
const LOG_DB: &str = "tlog.db";
/// The timestamp authority's directory (`vouch tsa init --dir` layout, so
/// `vouch tsa serve --dir DIR/tsa` serves the same TSA).
const TSA_DIR: &str = "tsa";
/// Path of sigstore timestamp-authority's API the signing config lists (`tsaUrls[].url` is the
/// URL clients POST to: sigstore-python `TimestampAuthorityClient`, the public good config).
const TSA_PATH: &str = "/api/v1/timestamp";
/// File name of the trusted root in the instance directory.
pub const TRUSTED_ROOT: &str = "trusted_root.json";
/// File name of the signing config.
pub const SIGNING_CONFIG: &str = "signing_config.json";
/// File name of the ClientTrustConfig.
pub const TRUST_CONFIG: &str = "trust_config.json";

impl Instance {
    /// Initialises `dir` with the default URLs (the ports `vouch instance serve` uses).
    pub fn init(dir: impl AsRef<Path>) -> Result<Self> {
        Self::init_with(dir, &InitOptions::default())
    }

    /// Generates the instance's keys into `dir` (created if missing) and writes the trust files
    /// for `options.urls`. Key files are mode 0600. Refuses a directory that already holds an
    /// instance.
    pub fn init_with(dir: impl AsRef<Path>, options: &InitOptions) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if dir.join(TRUSTED_ROOT).exists() {
            return Err(Error::AlreadyInitialised(dir));
        }
        let ca_dir = dir.join("ca");
        std::fs::create_dir_all(&ca_dir).map_err(io(&ca_dir))?;
        let ca = CertificateAuthority::generate(&options.organization)?;
        let m = ca.to_pem()?;
        write_new(&dir.join(ROOT_CERT), &m.root_cert_pem, false)?;
        write_new(
            &dir.join(INTERMEDIATE_CERT),
            &m.intermediate_cert_pem,
            false,
        )?;
        write_new(&dir.join(INTERMEDIATE_KEY), &m.intermediate_key_pem, true)?;
        write_new(&dir.join(CT_KEY), &m.ct_key_pem, true)?;
        // Rekor v2 logs sign checkpoints with Ed25519 as rekor-tiles does by default (C2SP
        // key IDs); v1 logs keep ECDSA P-256 as Rekor v1.
        let (algorithm, key_file) = if options.rekor_v2 {
            (KeyAlgorithm::Ed25519, LOG_KEY_V2)
        } else {
            (KeyAlgorithm::EcdsaP256, LOG_KEY)
        };
        let log_signing = SigningKey::generate(algorithm)?;
        let log_pem = vouch_ca::issue::pem("PRIVATE KEY", log_signing.to_pkcs8_der()?.as_bytes());
        write_new(&dir.join(key_file), &log_pem, true)?;
        let log_key = if options.rekor_v2 {
            LogKey::new_v2(log_signing, &log_origin_v2(&options.urls.log)?)?
        } else {
            LogKey::new(log_signing, LOG_HOSTNAME)?
        };
        // RSA like GitHub's and most issuers' keys, so the CA's RS256 path is what dev runs use.
        let oidc_pem = DevKey::generate_rsa()?.to_pkcs8_pem()?;
        write_new(&dir.join(OIDC_KEY), &oidc_pem, true)?;
        let tsa = vouch_tsa::Material::generate(&options.organization)?;
        tsa.write(&dir.join(TSA_DIR))?;
        let instance = Self { dir };
        instance.write_trust_files(&ca, &log_key, &tsa, &options.urls)?;
        Ok(instance)
    }

    /// An existing instance directory (it must hold `trusted_root.json`).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let root = dir.join(TRUSTED_ROOT);
        if !root.exists() {
            return Err(Error::BadFile {
                path: root,
                reason: "missing: not an instance directory (run `vouch instance init`)".into(),
            });
        }
        Ok(Self { dir })
    }

    /// Starts the instance in `dir` (initialising it first when it holds none): CA, log
    /// (SQLite `DIR/tlog.db`) and dev OIDC issuer on the addresses in `options`, each in this
    /// process on a runtime thread of its own. The trust files are rewritten with the URLs
    /// actually bound, so they are right even with port 0. Usable from sync and async code.
    pub fn start(dir: impl AsRef<Path>, options: &StartOptions) -> Result<RunningInstance> {
        let dir = dir.as_ref();
        let instance = if dir.join(TRUSTED_ROOT).exists() {
            Self::open(dir)?
        } else {
            Self::init_with(
                dir,
                &InitOptions {
                    organization: options.organization.clone(),
                    rekor_v2: options.rekor_v2,
                    ..InitOptions::default()
                },
            )?
        };
        instance.run(options)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/trust_config.json` (ClientTrustConfig: trusted root + signing config).
    pub fn trust_config_path(&self) -> PathBuf {
        self.dir.join(TRUST_CONFIG)
    }

    /// `DIR/trusted_root.json`.
    pub fn trusted_root_path(&self) -> PathBuf {
        self.dir.join(TRUSTED_ROOT)
    }

    /// `DIR/signing_config.json`.
    pub fn signing_config_path(&self) -> PathBuf {
        self.dir.join(SIGNING_CONFIG)
    }

    /// The URLs recorded in the signing config (those of the last start, or of `init`).
    pub fn urls(&self) -> Result<Urls> {
        let path = self.signing_config_path();
        let text = std::fs::read(&path).map_err(io(&path))?;
        let config: Value = serde_json::from_slice(&text).map_err(|e| Error::BadFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let first = |field: &str| {
            config[field]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|s| s["url"].as_str())
                .map(str::to_owned)
        };
        let missing = |field: &str| Error::BadFile {
            path: path.clone(),
            reason: format!("no {field}[0].url"),
        };
        Ok(Urls {
            ca: first("caUrls").ok_or_else(|| missing("caUrls"))?,
            log: first("rekorTlogUrls").ok_or_else(|| missing("rekorTlogUrls"))?,
            oidc: first("oidcUrls"),
            tsa: first("tsaUrls")
                .map(|u| u.strip_suffix(TSA_PATH).map_or(u.clone(), str::to_owned))
                .ok_or_else(|| missing("tsaUrls"))?,
        })
    }

    /// Mints a dev-issuer token with the instance's issuer key for the issuer URL recorded in
    /// the signing config (the instance need not be running in this process; the CA accepts
    /// the token while the issuer serves its JWKS). `subject`/`email` default to
    /// [`DEFAULT_SUBJECT`]/[`DEFAULT_EMAIL`].
    pub fn mint_token(&self, request: &TokenRequest) -> Result<String> {
        let url = self.urls()?.oidc.ok_or(Error::NoDevIssuer)?;
        let issuer = self.dev_issuer(&url, DEFAULT_SUBJECT, DEFAULT_EMAIL)?;
        Ok(issuer.mint(request))
    }

    /// Mints a dev-issuer token of `shape` (GitHub Actions, GitLab, Kubernetes, e-mail), like
    /// [`Self::mint_token`].
    pub fn mint_shaped_token(&self, shape: &TokenShape, audience: Option<&str>) -> Result<String> {
        let url = self.urls()?.oidc.ok_or(Error::NoDevIssuer)?;
        let issuer = self.dev_issuer(&url, DEFAULT_SUBJECT, DEFAULT_EMAIL)?;
        Ok(issuer.mint_shape(shape, audience))
    }

    fn dev_issuer(&self, url: &str, subject: &str, email: &str) -> Result<DevIssuer> {
        let path = self.dir.join(OIDC_KEY);
        let pem = read(&path)?;
        let key = DevKey::from_pkcs8_pem(&pem).map_err(|e| Error::BadFile {
            path,
            reason: e.to_string(),
        })?;
        Ok(DevIssuer::with_key(url, key, subject, email)?)
    }

    /// Whether the instance's log is a Rekor v2 tile log.
    pub fn is_rekor_v2(&self) -> bool {
        self.dir.join(LOG_KEY_V2).exists()
    }

    /// The log's key: Rekor v2 (`tlog-v2.key.pem`, origin [`log_origin_v2`] of the URL the
    /// trust files advertise for it) or v1.
    fn load_log_key(&self, log_url: &str) -> Result<LogKey> {
        if self.is_rekor_v2() {
            return Ok(LogKey::from_pem_v2(
                &read(&self.dir.join(LOG_KEY_V2))?,
                &log_origin_v2(log_url)?,
            )?);
        }
        Ok(LogKey::from_pem(
            &read(&self.dir.join(LOG_KEY))?,
            LOG_HOSTNAME,
        )?)
    }

    fn load_ca(&self) -> Result<CertificateAuthority> {
        Ok(CertificateAuthority::from_pem(&CaMaterial {
            root_cert_pem: read(&self.dir.join(ROOT_CERT))?,
            intermediate_cert_pem: read(&self.dir.join(INTERMEDIATE_CERT))?,
            intermediate_key_pem: read(&self.dir.join(INTERMEDIATE_KEY))?,
            ct_key_pem: read(&self.dir.join(CT_KEY))?,
        })?)
    }

    /// Writes (overwrites) the three trust files for `urls`.
    /// The URLs the trust files give clients once the services are bound: a CA or log URL
    /// that `init --ca-url/--tlog-url` set to a name other than loopback (a DNS name, a proxy
    /// in front of the instance) is kept; loopback URLs follow the ports actually bound. The
    /// dev OIDC issuer always follows its bound address, since its tokens name it.
    fn advertised(&self, bound: &Urls) -> Urls {
        let current = self.urls().ok();
        let keep = |old: Option<&String>, new: &String| match old {
            Some(old) if !is_loopback_url(old) => old.clone(),
            _ => new.clone(),
        };
        Urls {
            ca: keep(current.as_ref().map(|u| &u.ca), &bound.ca),
            log: keep(current.as_ref().map(|u| &u.log), &bound.log),
            oidc: bound.oidc.clone(),
            tsa: keep(current.as_ref().map(|u| &u.tsa), &bound.tsa),
        }
    }

    fn write_trust_files(
        &self,
        ca: &CertificateAuthority,
        log_key: &LogKey,
        tsa: &vouch_tsa::Material,
        urls: &Urls,
    ) -> Result<()> {
        let (ca_entry, ctlog) = ca.trusted_root_entries(&urls.ca, VALID_FROM)?;
        // protobuf-specs `CertificateAuthority` for the TSA: chain leaf first, root last, as
        // sigstore-go `ParseTimestampAuthority` and sigstore-python read it.
        let (organization, common_name) = tsa.subject()?;
        let tsa_entry = json!({
            "subject": {"organization": organization, "commonName": common_name},
            "uri": urls.tsa,
            "certChain": {"certificates": tsa.chain.iter()
                .map(|der| json!({"rawBytes": B64.encode(der)})).collect::<Vec<_>>()},
            "validFor": {"start": VALID_FROM},
        });
        let trusted_root = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            // Rekor v2: the log ID is the checkpoint key's C2SP key ID (rekor-tiles
            // `note.KeyHash`; sigstore-python and vouch select the checkpoint signature by its
            // first 4 bytes), v1: SHA-256 of the SPKI.
            "tlogs": [{"baseUrl": urls.log, "hashAlgorithm": "SHA2_256",
                       "publicKey": {"rawBytes": B64.encode(log_key.public_key().spki_der()),
                                     "keyDetails": log_key_details(log_key),
                                     "validFor": {"start": VALID_FROM}},
                       "logId": {"keyId": B64.encode(log_key.log_id())}}],
            "certificateAuthorities": [ca_entry],
            "ctlogs": [ctlog],
            "timestampAuthorities": [tsa_entry],
        });
        // sigstore-python 4.x: Fulcio/Rekor/OIDC/TSA `majorApiVersion` 1, one service per
        // operator (`sigstore/models.py` `SigningConfig`); the TSA URL is the full
        // `/api/v1/timestamp` endpoint, as in the public good signing config.
        let service_v = |url: &str, version: u32| {
            json!({"url": url, "majorApiVersion": version, "validFor": {"start": VALID_FROM},
                   "operator": "vouch"})
        };
        let service = |url: &str| service_v(url, 1);
        let log_version = if log_key.is_v2() { 2 } else { 1 };
        let oidc: Vec<Value> = urls.oidc.iter().map(|u| service(u)).collect();
        let signing_config = json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(&urls.ca)],
            "oidcUrls": oidc,
            "rekorTlogUrls": [service_v(&urls.log, log_version)],
            "tsaUrls": [service(&format!("{}{TSA_PATH}", urls.tsa))],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        });
        let trust_config = json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": trusted_root,
            "signingConfig": signing_config,
        });
        for (name, value) in [
            (TRUSTED_ROOT, &trusted_root),
            (SIGNING_CONFIG, &signing_config),
            (TRUST_CONFIG, &trust_config),
        ] {
            let path = self.dir.join(name);
            let text = serde_json::to_string_pretty(value).map_err(|e| Error::BadFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            // Write then rename, so a reader never sees half a file.
            let tmp = self.dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, text).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
        }
        Ok(())
    }

    fn run(self, options: &StartOptions) -> Result<RunningInstance> {
        let bind = |service: &'static str, addr: SocketAddr| {
            let listener = std::net::TcpListener::bind(addr).map_err(|source| Error::Bind {
                service,
                addr,
                source,
            })?;
            listener
                .set_nonblocking(true)
                .map_err(|source| Error::Bind {
                    service,
                    addr,
                    source,
                })?;
            // A wildcard listen address (0.0.0.0, ::) is no address a client can use: the
            // URL written for local clients names loopback on the bound port instead.
            let url = listener
                .local_addr()
                .map(|mut a| {
                    if a.ip().is_unspecified() {
                        a.set_ip(if a.is_ipv4() {
                            std::net::Ipv4Addr::LOCALHOST.into()
                        } else {
                            std::net::Ipv6Addr::LOCALHOST.into()
                        });
                    }
                    format!("http://{a}")
                })
                .map_err(|source| Error::Bind {
                    service,
                    addr,
                    source,
                })?;
            Ok::<_, Error>((listener, url))
        };
        let (ca_listener, ca_url) = bind("CA", options.listen_ca)?;
        let (log_listener, log_url) = bind("transparency log", options.listen_log)?;
        let (tsa_listener, tsa_url) = bind("timestamp authority", options.listen_tsa)?;
        if let Some(addr) = options.listen_oidc {
            vouch_ca::dev_oidc::check_listen_address(addr)?;
        }
        let oidc = options
            .listen_oidc
            .map(|addr| bind("OIDC issuer", addr))
            .transpose()?;
        let urls = Urls {
            ca: ca_url,
            log: log_url,
            oidc: oidc.as_ref().map(|(_, u)| u.clone()),
            tsa: tsa_url,
        };

        let ca = self.load_ca()?;
        let advertised = self.advertised(&urls);
        let log_key = self.load_log_key(&advertised.log)?;
        let tsa_dir = self.dir.join(TSA_DIR);
        // An instance initialised before it had a TSA gets one on its next start; the trust
        // files written below then list it.
        if !tsa_dir.join(vouch_tsa::KEY_FILE).exists() {
            vouch_tsa::Material::generate(&options.organization)?.write(&tsa_dir)?;
        }
        let tsa = vouch_tsa::Material::load(&tsa_dir)?;
        self.write_trust_files(&ca, &log_key, &tsa, &advertised)?;
        let authority = Arc::new(vouch_tsa::TimestampAuthority::new(
            &tsa,
            &vouch_tsa::Config::default(),
        )?);
        let issuer = urls
            .oidc
            .as_deref()
            .map(|u| self.dev_issuer(u, &options.subject, &options.email))
            .transpose()?
            .map(Arc::new);
        let mut issuers = options.issuers.clone();
        if let Some(dev) = &issuer {
            for trusted in dev.trusted_issuers() {
                issuers.add(trusted)?;
            }
        }
        let limits = vouch_ca::Limits::default();
        let http = vouch_http::Client::new(&vouch_http::ClientConfig::default())
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let service = Arc::new(CaService {
            ca,
            tokens: TokenVerifier::with_discovery(issuers, http, limits),
            limits,
        });
        let storage = SqliteStorage::open(self.dir.join(LOG_DB))?;
        let log = Log::start(Box::new(storage), log_key, vouch_tlog::Limits::default())?;

        let ca_router = vouch_ca::server::router(service);
        let log_state = vouch_tlog::AppState::new(log, false);
        let oidc_router = issuer
            .as_ref()
            .map(|i| vouch_ca::dev_oidc::router(Arc::clone(i)));
        let oidc_listener = oidc.map(|(l, _)| l);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let thread = std::thread::Builder::new()
            .name("vouch-instance".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("vouch-instance-worker")
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(Error::Runtime(e.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                        let _ = rx.wait_for(|s| *s).await;
                    };
                    let convert = |l: std::net::TcpListener| tokio::net::TcpListener::from_std(l);
                    let (ca_l, log_l, tsa_l) = match (
                        convert(ca_listener),
                        convert(log_listener),
                        convert(tsa_listener),
                    ) {
                        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
                        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                            let _ = ready_tx.send(Err(Error::Runtime(e.to_string())));
                            return;
                        }
                    };
                    let mut tasks = tokio::task::JoinSet::new();
                    tasks.spawn(vouch_ca::server::serve(
                        ca_l,
                        ca_router,
                        stopped(stop_rx.clone()),
                    ));
                    tasks.spawn(vouch_tlog::serve(
                        log_l,
                        log_state,
                        stopped(stop_rx.clone()),
                    ));
                    tasks.spawn(vouch_tsa::server::serve(
                        tsa_l,
                        authority,
                        None,
                        stopped(stop_rx.clone()),
                    ));
                    if let (Some(l), Some(router)) = (oidc_listener, oidc_router) {
                        match convert(l) {
                            Ok(l) => {
                                tasks.spawn(vouch_ca::server::serve(
                                    l,
                                    router,
                                    stopped(stop_rx.clone()),
                                ));
                            }
                            Err(e) => {
                                let _ = ready_tx.send(Err(Error::Runtime(e.to_string())));
                                return;
                            }
                        }
                    }
                    let _ = ready_tx.send(Ok(()));
                    stopped(stop_rx).await;
                    // Graceful shutdown closes idle keep-alive connections; a client that
                    // holds a request open does not keep the instance up for long.
                    let _ = tokio::time::timeout(Duration::from_secs(3), tasks.join_all()).await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| Error::Runtime(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Error::Runtime("service thread ended early".into())),
        }
        Ok(RunningInstance {
            instance: self,
            urls,
            issuer,
            email: options.email.clone(),
            stop: stop_tx,
            thread: Some(thread),
        })
    }
}

/// A started instance. Dropping it stops the services (as [`RunningInstance::stop`] does).
#[derive(Debug)]
pub struct RunningInstance {
    instance: Instance,
    urls: Urls,
    issuer: Option<Arc<DevIssuer>>,
    email: String,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningInstance {
    /// The instance directory.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// The URLs served.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// The CA's base URL (`http://127.0.0.1:PORT`).
    pub fn ca_url(&self) -> &str {
        &self.urls.ca
    }

    /// The transparency log's base URL.
    pub fn log_url(&self) -> &str {
        &self.urls.log
    }

    /// The timestamp authority's base URL (`/api/v1/timestamp` takes RFC 3161 requests).
    pub fn tsa_url(&self) -> &str {
        &self.urls.tsa
    }

    /// The dev OIDC issuer URL (the `iss` of its tokens and the certificates' OIDC issuer).
    pub fn oidc_url(&self) -> Option<&str> {
        self.urls.oidc.as_deref()
    }

    /// `DIR/trust_config.json`, matching the ports served.
    pub fn trust_config_path(&self) -> PathBuf {
        self.instance.trust_config_path()
    }

    /// `DIR/trusted_root.json`, matching the ports served.
    pub fn trusted_root_path(&self) -> PathBuf {
        self.instance.trusted_root_path()
    }

    /// The default identity of dev tokens: the `email` claim, which becomes the SAN.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// A fresh dev token (audience `sigstore`, 10 minutes) for the default subject and email.
    pub fn token(&self) -> Result<String> {
        self.token_for(&TokenRequest::default())
    }

    /// A fresh dev token of `shape` (GitHub Actions, GitLab, Kubernetes, e-mail).
    pub fn token_shaped(&self, shape: &TokenShape) -> Result<String> {
        Ok(self
            .issuer
            .as_ref()
            .ok_or(Error::NoDevIssuer)?
            .mint_shape(shape, None))
    }

    /// A fresh dev token with overridden claims.
    pub fn token_for(&self, request: &TokenRequest) -> Result<String> {
        Ok(self
            .issuer
            .as_ref()
            .ok_or(Error::NoDevIssuer)?
            .mint(request))
    }

    /// The dev issuer itself (to sign arbitrary claims in negative tests).
    pub fn dev_issuer(&self) -> Option<&DevIssuer> {
        self.issuer.as_deref()
    }

    /// Stops the services and waits for them (at most a few seconds).
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Blocks until Ctrl-C / SIGTERM of the process (`vouch instance serve`), then stops.
    pub fn wait_for_signal(self) -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        runtime.block_on(async {
            #[cfg(unix)]
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            let _ = tokio::signal::ctrl_c().await;
        });
        self.stop();
        Ok(())
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningInstance {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `PublicKeyDetails` of the log key as the trusted root names it.
fn log_key_details(key: &LogKey) -> &'static str {
    if key.public_key().is_ed25519() {
        KeyAlgorithm::Ed25519.key_details()
    } else {
        KeyAlgorithm::EcdsaP256.key_details()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(io(path))
}

fn write_new(path: &Path, text: &str, secret: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    use std::io::Write as _;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(io(path))
}

/// Whether `url`'s host is loopback or a wildcard (`localhost`, `127.0.0.0/8`, `::1`,
/// `0.0.0.0`, `::`): a URL only this machine can use.
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

#[cfg(test)]
mod url_tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_and_wildcard_urls_are_local_names_are_not() {
        for local in [
            "http://127.0.0.1:5555",
            "http://localhost:3000",
            "http://[::1]:80/api",
            "http://0.0.0.0:1",
            "http://[::]:9",
            "http://127.1.2.3",
        ] {
            assert!(is_loopback_url(local), "{local}");
        }
        for remote in [
            "https://ca.example.internal",
            "http://log.example.internal:3000",
            "http://10.0.0.5:5555",
            "http://[fd00::1]:80",
        ] {
            assert!(!is_loopback_url(remote), "{remote}");
        }
    }
}
