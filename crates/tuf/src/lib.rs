//! Sigstore's public trust through TUF.
//!
//! vouch carries the TUF `root.json` of Sigstore's public-good and staging instances and a
//! snapshot of the two TUF targets clients need, `trusted_root.json` and
//! `signing_config.v0.2.json` (the names sigstore/root-signing gives them), taken from
//! sigstore-python's embedded copies (`data/README.md` says which commit and when).
//!
//! [`update`] refreshes them from a TUF mirror with the `tough` client, which applies the TUF
//! specification's client workflow (§5): root rotation through every intermediate root, each
//! signed by a threshold of the old and the new root's keys; rollback checks of every role's
//! version against what was trusted before; expiry (freeze) of every role; snapshot/targets
//! consistency with the timestamp and snapshot that list them (mix-and-match); targets checked
//! against their length and hashes. The metadata tough trusts is kept per mirror in the user's
//! cache ([`Cache`]); the targets are only stored ([`Cache::store`]) after the whole update
//! succeeded, so a refused update leaves the previous trust in place.
//!
//! Layer 1 (I/O): fetches through `vouch-http` (HTTPS unless loopback, retries), and knows
//! nothing of what a trusted root means: callers parse the targets.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tough::{IntoVec as _, RepositoryLoader, TargetName};
use url::Url;

/// The TUF target holding the Sigstore trusted root (CAs, logs, timestamp authorities).
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
/// The TUF target holding the Sigstore signing config (service URLs).
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";
/// When the built-in files were last changed upstream (sigstore-python's `sigstore/_store`).
pub const BUILTIN_SNAPSHOT_DATE: &str = "2026-05-31";
/// Where the built-in files come from.
pub const BUILTIN_SOURCE: &str =
    "sigstore-python 27db13db157ecae5606eb22ec0be299ef348c370, sigstore/_store";

/// A body larger than this is not read (tough's own limits are smaller: 10 MiB for targets
/// metadata, the listed length for everything else).
const MAX_BODY_BYTES: u64 = 16 << 20;
/// A state file larger than this is corrupt.
const MAX_STATE_BYTES: u64 = 1 << 20;
const STATE_FILE: &str = "state.json";

/// A Sigstore instance whose trust vouch knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Instance {
    /// The public-good instance (sigstore/root-signing).
    PublicGood,
    /// The staging instance (sigstore/root-signing-staging).
    Staging,
}

impl Instance {
    /// `public-good` or `staging`.
    pub fn name(self) -> &'static str {
        match self {
            Self::PublicGood => "public-good",
            Self::Staging => "staging",
        }
    }

    /// The instance's TUF mirror, as sigstore-python and cosign name it.
    pub fn default_mirror(self) -> Url {
        let url = match self {
            Self::PublicGood => "https://tuf-repo-cdn.sigstore.dev/",
            Self::Staging => "https://tuf-repo-cdn.sigstage.dev/",
        };
        #[allow(clippy::expect_used)]
        Url::parse(url).expect("constant URL")
    }

    /// The files built into vouch.
    pub fn builtin(self) -> Builtin {
        match self {
            Self::PublicGood => Builtin {
                root: include_bytes!("../data/public-good/root.json"),
                trusted_root: include_bytes!("../data/public-good/trusted_root.json"),
                signing_config: include_bytes!("../data/public-good/signing_config.v0.2.json"),
            },
            Self::Staging => Builtin {
                root: include_bytes!("../data/staging/root.json"),
                trusted_root: include_bytes!("../data/staging/trusted_root.json"),
                signing_config: include_bytes!("../data/staging/signing_config.v0.2.json"),
            },
        }
    }
}

/// The trust files built into vouch for one instance.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The TUF root the first update starts from.
    pub root: &'static [u8],
    /// `trusted_root.json` as of [`BUILTIN_SNAPSHOT_DATE`].
    pub trusted_root: &'static [u8],
    /// `signing_config.v0.2.json` as of [`BUILTIN_SNAPSHOT_DATE`].
    pub signing_config: &'static [u8],
}

/// Which TUF check an update failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Check {
    /// A role was not signed by a threshold of its keys (root: of the old and the new root).
    Signatures,
    /// A role's version is older than the one trusted before (rollback attack).
    Rollback,
    /// A role has expired (freeze attack), or the clock went backwards.
    Expiry,
    /// Snapshot or targets metadata disagree with the timestamp or snapshot listing them
    /// (mix-and-match attack).
    Consistency,
    /// A target's length or hash differs from its targets metadata.
    TargetHash,
    /// A file was larger than allowed.
    Size,
    /// Metadata could not be parsed.
    Malformed,
    /// The mirror could not be reached or did not answer.
    Download,
    /// Anything else tough refused.
    Other,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Signatures => "signature threshold",
            Self::Rollback => "rollback: version older than the trusted one",
            Self::Expiry => "expired metadata (freeze)",
            Self::Consistency => {
                "metadata inconsistent with the snapshot/timestamp (mix-and-match)"
            }
            Self::TargetHash => "target length or hash",
            Self::Size => "size limit",
            Self::Malformed => "malformed metadata",
            Self::Download => "download",
            Self::Other => "TUF",
        })
    }
}

/// Errors of the trust cache and of updates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither `$XDG_CACHE_HOME` nor `$HOME` is set.
    #[error("no cache directory: set XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    /// A file of the cache could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The cache does not hold what its state file says.
    #[error(
        "trust cache {} is corrupt: {reason} (run `vouch trust update` again, or remove the directory)",
        path.display()
    )]
    CorruptCache {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The mirror URL is not usable.
    #[error("TUF mirror {mirror}: {reason}")]
    Mirror {
        /// The mirror.
        mirror: String,
        /// Why.
        reason: &'static str,
    },
    /// tough refused the repository.
    #[error("TUF update from {mirror} refused ({check}): {message}")]
    Refused {
        /// The mirror.
        mirror: String,
        /// The check that failed.
        check: Check,
        /// tough's explanation, with its causes.
        message: String,
    },
    /// The repository does not list a target vouch needs.
    #[error("TUF repository {mirror} has no target {target}")]
    MissingTarget {
        /// The mirror.
        mirror: String,
        /// The target name.
        target: &'static str,
    },
}

/// The user's trust cache: `$XDG_CACHE_HOME/vouch/tuf` (else `$HOME/.cache/vouch/tuf`), with one
/// directory per mirror (`<host>` or `<host>_<port>`) holding tough's metadata (`metadata/`),
/// the targets by digest (`targets/<sha256>.<name>`) and `state.json`, and one pointer per
/// instance (`public-good.json`, `staging.json`) naming the mirror last updated from.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// What a successful update stored for one mirror.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Instance the mirror serves.
    pub instance: Instance,
    /// Mirror URL.
    pub mirror: String,
    /// When the update finished (RFC 3339).
    pub updated: jiff::Timestamp,
    /// Versions of the roles trusted after the update.
    pub versions: RoleVersions,
    /// The earliest expiry of the four top-level roles.
    pub expires: jiff::Timestamp,
    /// Target name -> sha256 (hex) of the stored file.
    pub targets: BTreeMap<String, String>,
}

/// TUF role versions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RoleVersions {
    /// root.json
    pub root: u64,
    /// timestamp.json
    pub timestamp: u64,
    /// snapshot.json
    pub snapshot: u64,
    /// targets.json
    pub targets: u64,
}

/// Trust read from the cache.
#[derive(Debug, Clone)]
pub struct Cached {
    /// The mirror's cache directory.
    pub dir: PathBuf,
    /// What the update recorded.
    pub state: State,
    /// `trusted_root.json`.
    pub trusted_root: Vec<u8>,
    /// `signing_config.v0.2.json`, when the repository has it.
    pub signing_config: Option<Vec<u8>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Pointer {
    mirror: String,
}

impl Cache {
    /// The cache at `dir` (created on first store).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The user's cache: `$XDG_CACHE_HOME/vouch/tuf`, else `$HOME/.cache/vouch/tuf`.
    pub fn user() -> Result<Self, Error> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })
            .ok_or(Error::NoCacheDir)?;
        Ok(Self::at(base.join("vouch").join("tuf")))
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of one mirror: its host, and `_<port>` when the URL names a port.
    pub fn mirror_dir(&self, mirror: &Url) -> PathBuf {
        let host = mirror
            .host_str()
            .unwrap_or("local")
            .replace(['[', ']', ':'], "_");
        let name = match mirror.port() {
            Some(port) => format!("{host}_{port}"),
            None => host,
        };
        self.dir.join(name)
    }

    fn pointer_path(&self, instance: Instance) -> PathBuf {
        self.dir.join(format!("{}.json", instance.name()))
    }

    /// The trust the last successful update of `instance` stored, if any. Every stored target
    /// is checked against the digest the update recorded.
    pub fn load(&self, instance: Instance) -> Result<Option<Cached>, Error> {
        let pointer_path = self.pointer_path(instance);
        let Some(bytes) = read_optional(&pointer_path, MAX_STATE_BYTES)? else {
            return Ok(None);
        };
        let pointer: Pointer = serde_json::from_slice(&bytes).map_err(|e| Error::CorruptCache {
            path: pointer_path.clone(),
            reason: e.to_string(),
        })?;
        let mirror = Url::parse(&pointer.mirror).map_err(|e| Error::CorruptCache {
            path: pointer_path.clone(),
            reason: format!("mirror {}: {e}", pointer.mirror),
        })?;
        let dir = self.mirror_dir(&mirror);
        let state_path = dir.join(STATE_FILE);
        let bytes =
            read_optional(&state_path, MAX_STATE_BYTES)?.ok_or_else(|| Error::CorruptCache {
                path: state_path.clone(),
                reason: "missing".into(),
            })?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| Error::CorruptCache {
            path: state_path.clone(),
            reason: e.to_string(),
        })?;
        if state.instance != instance || state.mirror != pointer.mirror {
            return Err(Error::CorruptCache {
                path: state_path,
                reason: format!(
                    "records {} from {}, the pointer says {} from {}",
                    state.instance.name(),
                    state.mirror,
                    instance.name(),
                    pointer.mirror
                ),
            });
        }
        let read_target = |name: &str| -> Result<Option<Vec<u8>>, Error> {
            let Some(digest) = state.targets.get(name) else {
                return Ok(None);
            };
            let path = dir.join("targets").join(format!("{digest}.{name}"));
            let bytes =
                read_optional(&path, MAX_BODY_BYTES)?.ok_or_else(|| Error::CorruptCache {
                    path: path.clone(),
                    reason: "missing".into(),
                })?;
            if hex::encode(Sha256::digest(&bytes)) != *digest {
                return Err(Error::CorruptCache {
                    path,
                    reason: format!("sha256 differs from {digest} recorded by the update"),
                });
            }
            Ok(Some(bytes))
        };
        let trusted_root =
            read_target(TRUSTED_ROOT_TARGET)?.ok_or_else(|| Error::CorruptCache {
                path: state_path.clone(),
                reason: format!("no {TRUSTED_ROOT_TARGET}"),
            })?;
        let signing_config = read_target(SIGNING_CONFIG_TARGET)?;
        Ok(Some(Cached {
            dir,
            state,
            trusted_root,
            signing_config,
        }))
    }

    /// Stores what [`update`] fetched and makes it the trust of its instance: targets are
    /// written under their digest, then `state.json` and the instance pointer are replaced by
    /// rename, so a reader sees the old trust or the new one, never a mix.
    pub fn store(&self, update: &Update) -> Result<Cached, Error> {
        let mirror = Url::parse(&update.state.mirror).map_err(|_| Error::Mirror {
            mirror: update.state.mirror.clone(),
            reason: "not a URL",
        })?;
        let dir = self.mirror_dir(&mirror);
        let targets_dir = dir.join("targets");
        create_dir(&targets_dir)?;
        for (name, bytes) in &update.targets {
            let digest = &update.state.targets[name];
            write_atomic(&targets_dir.join(format!("{digest}.{name}")), bytes)?;
        }
        let state = serde_json::to_vec_pretty(&update.state).map_err(|e| Error::Io {
            what: "serializing",
            path: dir.join(STATE_FILE),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&dir.join(STATE_FILE), &state)?;
        let pointer = serde_json::to_vec(&Pointer {
            mirror: update.state.mirror.clone(),
        })
        .map_err(|e| Error::Io {
            what: "serializing",
            path: self.pointer_path(update.state.instance),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&self.pointer_path(update.state.instance), &pointer)?;
        // Targets of earlier updates are no longer referenced.
        if let Ok(entries) = std::fs::read_dir(&targets_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let kept = update
                    .state
                    .targets
                    .iter()
                    .any(|(target, digest)| name == format!("{digest}.{target}"));
                if !kept {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(Cached {
            dir,
            state: update.state.clone(),
            trusted_root: update.targets[TRUSTED_ROOT_TARGET].clone(),
            signing_config: update.targets.get(SIGNING_CONFIG_TARGET).cloned(),
        })
    }
}

/// How to update.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// The instance the mirror serves.
    pub instance: Instance,
    /// The TUF mirror: metadata at its root, targets under `targets/`.
    pub mirror: Url,
    /// The root to start from when this mirror has no trusted metadata in the cache yet
    /// (default: the instance's built-in root).
    pub initial_root: Option<Vec<u8>>,
    /// HTTP settings.
    pub http: vouch_http::ClientConfig,
}

/// What an update fetched and verified, not yet stored.
#[derive(Debug, Clone)]
pub struct Update {
    /// What [`Cache::store`] records.
    pub state: State,
    /// Target name -> bytes, each verified against its targets metadata.
    pub targets: BTreeMap<String, Vec<u8>>,
    /// Whether the update started from the cached metadata (else from the initial root).
    pub from_cache: bool,
}

/// Refreshes `options.instance`'s trust from its mirror through TUF. The metadata tough
/// trusts after the update (rotated root, newer timestamp…) is persisted in the mirror's
/// cache directory as the TUF client workflow requires; the targets are returned, to be
/// checked by the caller and stored with [`Cache::store`].
pub fn update(cache: &Cache, options: &UpdateOptions) -> Result<Update, Error> {
    let mirror_text = options.mirror.to_string();
    let mirror = normalise_mirror(&options.mirror)?;
    let host = mirror.host_str().unwrap_or_default().to_owned();
    if mirror.scheme() == "http" && !vouch_http::is_loopback(&host) {
        return Err(Error::Mirror {
            mirror: mirror_text,
            reason: "plain HTTP is only for loopback mirrors: use https://",
        });
    }
    let dir = cache.mirror_dir(&mirror);
    let metadata_dir = dir.join("metadata");
    create_dir(&metadata_dir)?;
    // TUF §5.2: start from the root trusted last time (tough persisted it), else the root
    // shipped out of band: --root, or the one built into vouch.
    let cached_root = read_optional(&metadata_dir.join("root.json"), MAX_BODY_BYTES)?;
    let from_cache = cached_root.is_some();
    let root = match (cached_root, &options.initial_root) {
        (Some(root), _) => root,
        (None, Some(root)) => root.clone(),
        (None, None) => options.instance.builtin().root.to_vec(),
    };
    let client = vouch_http::Client::new(&options.http).map_err(|e| Error::Refused {
        mirror: mirror_text.clone(),
        check: Check::Download,
        message: e.to_string(),
    })?;
    #[allow(clippy::expect_used)]
    let targets_url = mirror.join("targets/").expect("relative URL");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Io {
            what: "starting the TUF client runtime for",
            path: dir.clone(),
            source: e,
        })?;
    let transport = Transport {
        client,
        unreachable: std::sync::Arc::default(),
    };
    let unreachable = transport.unreachable.clone();
    let refused = |check: Check, e: &tough::error::Error| {
        if let Some(failure) = unreachable.lock().ok().and_then(|s| s.clone()) {
            return Error::Refused {
                mirror: mirror_text.clone(),
                check: Check::Download,
                message: failure,
            };
        }
        Error::Refused {
            mirror: mirror_text.clone(),
            check: classify(e).unwrap_or(check),
            message: chain(e),
        }
    };
    runtime.block_on(async {
        let repo = RepositoryLoader::new(&root, mirror.clone(), targets_url)
            .transport(transport)
            .datastore(metadata_dir.clone())
            .load()
            .await
            .map_err(|e| refused(Check::Other, &e))?;
        let mut targets = BTreeMap::new();
        let mut digests = BTreeMap::new();
        for (name, required) in [(TRUSTED_ROOT_TARGET, true), (SIGNING_CONFIG_TARGET, false)] {
            let target = TargetName::new(name).map_err(|e| refused(Check::Other, &e))?;
            let stream = repo
                .read_target(&target)
                .await
                .map_err(|e| refused(Check::TargetHash, &e))?;
            let Some(stream) = stream else {
                if required {
                    return Err(Error::MissingTarget {
                        mirror: mirror_text.clone(),
                        target: name,
                    });
                }
                continue;
            };
            let bytes = stream.into_vec().await.map_err(|e| {
                let mut err = refused(Check::TargetHash, &e);
                if let Error::Refused { check, .. } = &mut err {
                    // A hash mismatch while reading a target is about the target.
                    if *check == Check::Consistency {
                        *check = Check::TargetHash;
                    }
                }
                err
            })?;
            digests.insert(name.to_owned(), hex::encode(Sha256::digest(&bytes)));
            targets.insert(name.to_owned(), bytes);
        }
        let versions = RoleVersions {
            root: repo.root().signed.version.get(),
            timestamp: repo.timestamp().signed.version.get(),
            snapshot: repo.snapshot().signed.version.get(),
            targets: repo.targets().signed.version.get(),
        };
        let expires = [
            repo.root().signed.expires,
            repo.timestamp().signed.expires,
            repo.snapshot().signed.expires,
            repo.targets().signed.expires,
        ]
        .into_iter()
        .min()
        .unwrap_or_else(jiff::Timestamp::now);
        Ok(Update {
            state: State {
                instance: options.instance,
                mirror: mirror.to_string(),
                // Whole seconds: what `trust show` prints.
                updated: jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
                    .unwrap_or_else(|_| jiff::Timestamp::now()),
                versions,
                expires,
                targets: digests,
            },
            targets,
            from_cache,
        })
    })
}

/// The mirror with a trailing slash (so `join` appends), and only http(s).
fn normalise_mirror(mirror: &Url) -> Result<Url, Error> {
    if !matches!(mirror.scheme(), "https" | "http") || mirror.host_str().is_none() {
        return Err(Error::Mirror {
            mirror: mirror.to_string(),
            reason: "must be an https:// URL (http:// for loopback)",
        });
    }
    let mut url = mirror.clone();
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The TUF check behind a tough error: the most specific tough error in its cause chain
/// (hash mismatches and size limits arrive wrapped in transport errors).
fn classify(err: &tough::error::Error) -> Option<Check> {
    use tough::error::Error as E;
    let mut found = None;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(t) = e.downcast_ref::<E>() {
            let check = match t {
                E::VerifyMetadata { .. }
                | E::VerifyRoleMetadata { .. }
                | E::VerifyTrustedMetadata { .. }
                | E::DuplicateKeyid { .. } => Some(Check::Signatures),
                E::OlderMetadata { .. }
                | E::OlderSnapshotInTimestamp { .. }
                | E::SnapshotRoleRollback { .. }
                | E::SnapshotRoleMissing { .. } => Some(Check::Rollback),
                E::ExpiredMetadata { .. } | E::SystemTimeSteppedBackward { .. } => {
                    Some(Check::Expiry)
                }
                E::VersionMismatch { .. }
                | E::MetaMissing { .. }
                | E::MissingSnapshotMeta { .. }
                | E::SnapshotTargetsMetaMissing { .. }
                | E::TimestampMetaLength { .. }
                | E::HashMismatch { .. } => Some(Check::Consistency),
                E::MaxSizeExceeded { .. } | E::MaxUpdatesExceeded { .. } => Some(Check::Size),
                E::ParseMetadata { .. } | E::ParseTrustedMetadata { .. } => Some(Check::Malformed),
                E::Transport { .. } => Some(Check::Download),
                _ => None,
            };
            if check.is_some() {
                found = check;
            }
        }
        current = e.source();
    }
    found
}

/// An error and its causes, each said once.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        current = e.source();
    }
    out
}

/// tough's transport over vouch-http: HTTPS unless loopback, retries with back-off, a body
/// limit. The runtime is single-threaded and runs nothing else, so the blocking client is
/// called directly.
#[derive(Debug, Clone)]
struct Transport {
    client: vouch_http::Client,
    /// The last request that got no HTTP answer. tough reads any failure to fetch
    /// N+1.root.json as "no newer root" (TUF §5.3.3) and then reports the next check that
    /// fails (an expired root, say); an unreachable mirror is named as such instead.
    unreachable: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

#[async_trait::async_trait]
impl tough::Transport for Transport {
    async fn fetch(&self, url: Url) -> Result<tough::TransportStream, tough::TransportError> {
        use tough::{TransportError, TransportErrorKind};
        let what = format!("GET {url}");
        let response = self
            .client
            .send(&what, |agent| agent.get(url.as_str()).call())
            .map_err(|e| {
                if let Ok(mut slot) = self.unreachable.lock() {
                    *slot = Some(e.to_string());
                }
                TransportError::new_with_cause(TransportErrorKind::Other, &url, e)
            })?;
        let status = response.status().as_u16();
        if status == 404 || status == 403 {
            // Sigstore's CDN (a storage bucket) answers 403 for a missing object; TUF §5.3.3
            // treats either as "no such version".
            return Err(TransportError::new(TransportErrorKind::FileNotFound, &url));
        }
        if status != 200 {
            return Err(TransportError::new_with_cause(
                TransportErrorKind::Other,
                &url,
                format!("HTTP {status}"),
            ));
        }
        let body = response
            .into_body()
            .into_with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| TransportError::new_with_cause(TransportErrorKind::Other, &url, e))?;
        let chunk: Result<bytes::Bytes, TransportError> = Ok(bytes::Bytes::from(body));
        Ok(Box::pin(futures_util::stream::iter(std::iter::once(chunk))))
    }
}

fn read_optional(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                what: "reading",
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            what: "reading",
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(Error::CorruptCache {
            path: path.to_owned(),
            reason: format!("larger than {limit} bytes"),
        });
    }
    Ok(Some(bytes))
}

fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        what: "creating",
        path: dir.to_owned(),
        source,
    })
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir(dir)?;
    let io = |what: &'static str| {
        let path = path.to_owned();
        move |source| Error::Io { what, path, source }
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&tmp).map_err(io("writing"))?;
    file.write_all(bytes).map_err(io("writing"))?;
    file.sync_all().map_err(io("writing"))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io("replacing"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The built-in roots are TUF roots signed by a threshold of their own root keys
    /// (what tough checks before anything else, TUF §5.2).
    #[test]
    fn builtin_roots_are_self_signed() {
        for instance in [Instance::PublicGood, Instance::Staging] {
            let builtin = instance.builtin();
            let root: tough::schema::Signed<tough::schema::Root> =
                serde_json::from_slice(builtin.root).unwrap();
            root.signed.verify_role(&root).unwrap();
            // A byte changed in the signed part breaks it.
            let mut value: serde_json::Value = serde_json::from_slice(builtin.root).unwrap();
            value["signed"]["version"] = serde_json::json!(999);
            let tampered: tough::schema::Signed<tough::schema::Root> =
                serde_json::from_value(value).unwrap();
            assert!(root.signed.verify_role(&tampered).is_err());
            let trusted_root: serde_json::Value =
                serde_json::from_slice(builtin.trusted_root).unwrap();
            assert_eq!(
                trusted_root["mediaType"],
                "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
            );
            let config: serde_json::Value = serde_json::from_slice(builtin.signing_config).unwrap();
            assert_eq!(
                config["mediaType"],
                "application/vnd.dev.sigstore.signingconfig.v0.2+json"
            );
        }
    }

    #[test]
    fn mirror_directories_and_urls() {
        let cache = Cache::at("/c");
        assert_eq!(
            cache.mirror_dir(&Instance::PublicGood.default_mirror()),
            Path::new("/c/tuf-repo-cdn.sigstore.dev")
        );
        assert_eq!(
            cache.mirror_dir(&Url::parse("http://127.0.0.1:8080/repo").unwrap()),
            Path::new("/c/127.0.0.1_8080")
        );
        assert_eq!(
            normalise_mirror(&Url::parse("http://127.0.0.1:1/a/b").unwrap())
                .unwrap()
                .as_str(),
            "http://127.0.0.1:1/a/b/"
        );
        assert!(normalise_mirror(&Url::parse("file:///tmp/repo").unwrap()).is_err());
    }

    #[test]
    fn plain_http_mirror_refused_unless_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let err = update(
            &Cache::at(dir.path()),
            &UpdateOptions {
                instance: Instance::PublicGood,
                mirror: Url::parse("http://tuf.example.com/").unwrap(),
                initial_root: None,
                http: vouch_http::ClientConfig::default(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("plain HTTP"), "{err}");
    }

    #[test]
    fn empty_cache_has_no_trust_and_corrupt_state_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        assert!(cache.load(Instance::PublicGood).unwrap().is_none());
        std::fs::write(dir.path().join("public-good.json"), b"{").unwrap();
        let err = cache.load(Instance::PublicGood).unwrap_err();
        assert!(matches!(err, Error::CorruptCache { .. }), "{err}");
    }
}
