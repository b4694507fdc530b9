//! Cross-repository blob mounts (distribution-spec `spec.md`, "Mounting a blob from another
//! repository") and the blob-info cache, against a real registry (Debian's docker-registry).
//! Every request is seen at a logging TCP relay in front of the registry, so the tests
//! assert what went over the wire (mount POSTs, upload PUTs, cancelling DELETEs), and the
//! registry's own storage shows the blob linked into the second repository.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use vouch_oci::auth::Credentials;
use vouch_oci::copy::{BlobInfoCache, copy_image_with_cache};
use vouch_oci::{
    CopyOptions, CopyReport, Digest, ImageSink, ImageSource, Layout, Limits, RawManifest,
    Reference, Registry, RegistryOptions, Selector,
};
use vouch_testkit::RegistryServer;

type Conn = Arc<Mutex<Vec<u8>>>;

/// Relays every connection to `upstream`, keeping what clients sent.
struct LoggingRelay {
    host: String,
    sent: Arc<Mutex<Vec<Conn>>>,
}

impl LoggingRelay {
    fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        let sent: Arc<Mutex<Vec<Conn>>> = Arc::default();
        let all = sent.clone();
        let upstream = upstream.to_owned();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let log: Conn = Arc::default();
                all.lock().unwrap().push(log.clone());
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Some(log),
                );
                pipe(server, client, None);
            }
        });
        Self { host, sent }
    }

    /// Request lines (`PUT /v2/… HTTP/1.1`) sent so far, in order per connection. A request
    /// follows the previous one's body directly, so each line is found from its end
    /// (` HTTP/1.1\r\n`) back to the method that starts it.
    fn requests(&self) -> Vec<String> {
        const END: &[u8] = b" HTTP/1.1\r\n";
        let methods: [&[u8]; 6] = [
            b"GET /v2/",
            b"HEAD /v2/",
            b"POST /v2/",
            b"PUT /v2/",
            b"PATCH /v2/",
            b"DELETE /v2/",
        ];
        let mut out = Vec::new();
        for conn in self.sent.lock().unwrap().iter() {
            let bytes = conn.lock().unwrap();
            for e in 0..bytes.len().saturating_sub(END.len() - 1) {
                if &bytes[e..e + END.len()] != END {
                    continue;
                }
                let window = &bytes[e.saturating_sub(8192)..e];
                let start = methods
                    .iter()
                    .filter_map(|m| window.windows(m.len()).rposition(|w| w == *m))
                    .max();
                if let Some(p) = start
                    && let Ok(line) = std::str::from_utf8(&window[p..])
                    && !line.contains("\r\n")
                {
                    out.push(format!("{line} HTTP/1.1"));
                }
            }
        }
        out
    }

    fn clear(&self) {
        self.sent.lock().unwrap().clear();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, log: Option<Conn>) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(l) = &log {
                        l.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

fn options() -> RegistryOptions {
    RegistryOptions {
        auth_files: Some(Vec::new()),
        ..Default::default()
    }
}

/// `digest` as it appears form-encoded in a query.
fn q(d: &Digest) -> String {
    d.to_string().replace(':', "%3A")
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    let mut x = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes an image of `config` and `layers` (arbitrary bytes: the registry does not look
/// inside) to the layout at `dir` under `tag`.
fn image(dir: &Path, tag: &str, config: &[u8], layers: &[&[u8]]) -> RawManifest {
    let layout = Layout::create(dir, &Limits::default()).unwrap();
    let put = |b: &[u8], mt: &str| {
        let d = Digest::sha256(b);
        layout.put_blob(&d, b.len() as u64, &mut &b[..]).unwrap();
        serde_json::json!({"mediaType": mt, "digest": d.to_string(), "size": b.len()})
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": put(config, "application/vnd.oci.image.config.v1+json"),
        "layers": layers.iter().map(|l| put(l, "application/vnd.oci.image.layer.v1.tar+gzip")).collect::<Vec<_>>(),
    });
    let raw = RawManifest::new(serde_json::to_vec(&manifest).unwrap(), None, None, "test").unwrap();
    layout.put_manifest(&raw, Some(tag)).unwrap();
    raw
}

fn config(name: &str) -> Vec<u8> {
    format!(r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"n":"{name}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#).into_bytes()
}

fn dest(host: &str, repo: &str, options: &RegistryOptions) -> Registry {
    Registry::open(
        &Reference::parse(&format!("{host}/{repo}")).unwrap(),
        options,
        true,
    )
    .unwrap()
}

fn copy(
    src: &dyn ImageSource,
    tag: &str,
    dst: &Registry,
    cache: Option<&BlobInfoCache>,
) -> CopyReport {
    copy_image_with_cache(
        src,
        &Selector::Tag(tag.into()),
        dst,
        Some(tag),
        &CopyOptions {
            platform: None,
            parallelism: 4,
        },
        cache,
        &|_| {},
    )
    .unwrap()
}

fn layout_source(dir: &Path) -> Layout {
    Layout::open(dir, &Limits::default()).unwrap()
}

/// Upload PUTs (`PUT …/blobs/uploads/…?digest=D`) for `d`.
fn uploads_of(requests: &[String], d: &Digest) -> usize {
    requests
        .iter()
        .filter(|r| r.starts_with("PUT ") && r.contains("/blobs/uploads/"))
        .filter(|r| r.contains(&format!("digest={}", q(d))))
        .count()
}

fn mounts_of<'a>(requests: &'a [String], d: &Digest) -> Vec<&'a str> {
    requests
        .iter()
        .filter(|r| r.starts_with("POST ") && r.contains(&format!("mount={}", q(d))))
        .map(String::as_str)
        .collect()
}

/// The registry's storage links `d` into `repo` (distribution's filesystem layout).
fn linked(registry: &RegistryServer, repo: &str, d: &Digest) -> bool {
    let hex = d.to_string().trim_start_matches("sha256:").to_owned();
    registry
        .data_dir()
        .join("docker/registry/v2/repositories")
        .join(repo)
        .join("_layers/sha256")
        .join(hex)
        .join("link")
        .is_file()
}

/// Reads every blob of `manifest` back from `repo`, verified by digest.
fn read_back(repo: &Registry, manifest: &RawManifest) {
    let got = repo
        .manifest(&Selector::Digest(manifest.digest.clone()))
        .unwrap();
    assert_eq!(got.bytes, manifest.bytes);
    let v: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap();
    let descs = std::iter::once(&v["config"]).chain(v["layers"].as_array().unwrap());
    for d in descs {
        let digest: Digest = d["digest"].as_str().unwrap().parse().unwrap();
        let size = d["size"].as_u64().unwrap();
        vouch_oci::read_blob(repo, &digest, size).unwrap();
    }
}

struct Fixture {
    shared: Vec<Vec<u8>>,
}

impl Fixture {
    fn new() -> Self {
        // One layer above the 64 KiB single-piece threshold (streamed), one below.
        Self {
            shared: vec![bytes(1, 300_000), bytes(2, 5_000)],
        }
    }
    fn shared_digests(&self) -> Vec<Digest> {
        self.shared.iter().map(|b| Digest::sha256(b)).collect()
    }
}

#[test]
fn second_layout_image_mounts_the_layers_the_first_copy_pushed() {
    let registry = RegistryServer::start();
    let relay = LoggingRelay::start(&registry.host);
    let dir = tempfile::tempdir().unwrap();
    let cache_path = dir.path().join("cache/blob-info.json");
    let f = Fixture::new();
    let own = bytes(3, 200_000);
    let a = image(
        &dir.path().join("a"),
        "a",
        &config("a"),
        &[&f.shared[0], &f.shared[1]],
    );
    let b = image(
        &dir.path().join("b"),
        "b",
        &config("b"),
        &[&f.shared[0], &f.shared[1], &own],
    );
    let opts = options();

    let cache = BlobInfoCache::open(&cache_path);
    let one = dest(&relay.host, "team/one", &opts);
    let ra = copy(
        &layout_source(&dir.path().join("a")),
        "a",
        &one,
        Some(&cache),
    );
    assert_eq!((ra.blobs_copied, ra.blobs_mounted), (3, 0));
    assert!(cache_path.is_file(), "the first copy saved the cache");

    // A new process: the cache is read back from its file.
    relay.clear();
    let cache = BlobInfoCache::open(&cache_path);
    let two = dest(&relay.host, "team/two", &opts);
    let rb = copy(
        &layout_source(&dir.path().join("b")),
        "b",
        &two,
        Some(&cache),
    );
    assert_eq!(
        (rb.blobs_copied, rb.blobs_mounted, rb.blobs_skipped),
        (2, 2, 0),
        "{rb:?}"
    );
    let requests = relay.requests();
    for d in f.shared_digests() {
        assert_eq!(
            uploads_of(&requests, &d),
            0,
            "{d} uploaded again: {requests:#?}"
        );
        let m = mounts_of(&requests, &d);
        assert_eq!(m.len(), 1, "{requests:#?}");
        assert!(
            m[0].starts_with("POST /v2/team/two/blobs/uploads/?"),
            "{}",
            m[0]
        );
        assert!(m[0].contains("from=team%2Fone"), "{}", m[0]);
        assert!(
            linked(&registry, "team/two", &d),
            "{d} not linked into team/two"
        );
    }
    assert_eq!(uploads_of(&requests, &Digest::sha256(&own)), 1);
    assert_eq!(uploads_of(&requests, &Digest::sha256(&config("b"))), 1);
    // Nothing mounted that was not in the cache.
    assert!(mounts_of(&requests, &Digest::sha256(&own)).is_empty());
    read_back(&two, &b);
    read_back(&one, &a);

    // The cache now knows both repositories, newest first, and only on this host.
    let cache = BlobInfoCache::open(&cache_path);
    let d0 = &f.shared_digests()[0];
    assert_eq!(
        cache.repositories(d0, &relay.host),
        vec!["team/two".to_string(), "team/one".to_string()]
    );
    assert!(cache.repositories(d0, "other.example:5000").is_empty());
}

#[test]
fn registry_to_registry_copy_across_repositories_mounts_without_a_cache() {
    let registry = RegistryServer::start();
    let relay = LoggingRelay::start(&registry.host);
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    let a = image(
        &dir.path().join("a"),
        "a",
        &config("a"),
        &[&f.shared[0], &f.shared[1]],
    );
    let opts = options();
    let one = dest(&relay.host, "team/one", &opts);
    copy(&layout_source(&dir.path().join("a")), "a", &one, None);

    relay.clear();
    let src = Registry::open(
        &Reference::parse(&format!("{}/team/one", relay.host)).unwrap(),
        &opts,
        false,
    )
    .unwrap();
    let three = dest(&relay.host, "mirror/three", &opts);
    let r = copy(&src, "a", &three, None);
    assert_eq!((r.blobs_copied, r.blobs_mounted), (0, 3), "{r:?}");
    let requests = relay.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("PUT ") && r.contains("/blobs/")),
        "no blob uploaded: {requests:#?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("GET ") && r.contains("/blobs/")),
        "no blob downloaded: {requests:#?}"
    );
    for d in f.shared_digests() {
        assert!(mounts_of(&requests, &d)[0].contains("from=team%2Fone"));
        assert!(linked(&registry, "mirror/three", &d));
    }
    read_back(&three, &a);
}

#[test]
fn no_mount_across_hosts_or_credentials() {
    let registry = RegistryServer::start();
    let relay = LoggingRelay::start(&registry.host);
    let other_host = LoggingRelay::start(&registry.host);
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    image(
        &dir.path().join("a"),
        "a",
        &config("a"),
        &[&f.shared[0], &f.shared[1]],
    );
    let opts = options();
    copy(
        &layout_source(&dir.path().join("a")),
        "a",
        &dest(&relay.host, "team/one", &opts),
        None,
    );
    relay.clear();

    // Same registry behind another host name: a different registry as far as we know.
    let src = Registry::open(
        &Reference::parse(&format!("{}/team/one", other_host.host)).unwrap(),
        &opts,
        false,
    )
    .unwrap();
    let r = copy(&src, "a", &dest(&relay.host, "team/x", &opts), None);
    assert_eq!((r.blobs_copied, r.blobs_mounted), (3, 0));

    // Same host, different credentials (the open registry ignores them; we must not).
    let with = |user: &str| RegistryOptions {
        credentials: Some(Credentials::Basic {
            username: user.into(),
            password: "pw".into(),
        }),
        ..options()
    };
    let src = Registry::open(
        &Reference::parse(&format!("{}/team/one", relay.host)).unwrap(),
        &with("alice"),
        false,
    )
    .unwrap();
    let r = copy(&src, "a", &dest(&relay.host, "team/y", &with("bob")), None);
    assert_eq!((r.blobs_copied, r.blobs_mounted), (3, 0));
    let requests = relay.requests();
    assert!(
        !requests.iter().any(|r| r.contains("mount=")),
        "{requests:#?}"
    );
}

#[test]
fn refused_mount_falls_back_to_the_upload_the_registry_started_or_cancels_it() {
    let registry = RegistryServer::start();
    let relay = LoggingRelay::start(&registry.host);
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    image(
        &dir.path().join("a"),
        "a",
        &config("a"),
        &[&f.shared[0], &f.shared[1]],
    );
    let own = bytes(4, 100_000);
    let c = image(
        &dir.path().join("c"),
        "c",
        &config("c"),
        &[&f.shared[0], &own],
    );
    let opts = options();
    let cache = BlobInfoCache::open(dir.path().join("blob-info.json"));
    copy(
        &layout_source(&dir.path().join("a")),
        "a",
        &dest(&relay.host, "team/one", &opts),
        Some(&cache),
    );
    let shared = Digest::sha256(&f.shared[0]);
    let own_d = Digest::sha256(&own);
    // Stale hints: the shared layer "newest" in a repository that does not exist (tried
    // first, 202, cancelled, then team/one mounts); the new layer only there (202, and
    // that upload session is the one used).
    cache.record(&shared, &relay.host, "team/ghost");
    cache.record(&own_d, &relay.host, "team/ghost");
    relay.clear();

    let four = dest(&relay.host, "team/four", &opts);
    let r = copy(
        &layout_source(&dir.path().join("c")),
        "c",
        &four,
        Some(&cache),
    );
    assert_eq!((r.blobs_copied, r.blobs_mounted), (2, 1), "{r:?}");
    let requests = relay.requests();
    let m = mounts_of(&requests, &shared);
    assert_eq!(m.len(), 2, "{requests:#?}");
    // (The log is per connection, so it does not show which came first.)
    assert!(m.iter().any(|r| r.contains("from=team%2Fghost")), "{m:?}");
    assert!(m.iter().any(|r| r.contains("from=team%2Fone")), "{m:?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("DELETE /v2/team/four/blobs/uploads/"))
            .count(),
        1,
        "the unused session is cancelled: {requests:#?}"
    );
    assert_eq!(uploads_of(&requests, &shared), 0);
    assert_eq!(mounts_of(&requests, &own_d).len(), 1);
    assert_eq!(uploads_of(&requests, &own_d), 1);
    // Only the config opened a session of its own: the new layer used the mount's.
    let plain_posts = requests
        .iter()
        .filter(|r| r.starts_with("POST /v2/team/four/blobs/uploads/ "))
        .count();
    assert_eq!(plain_posts, 1, "{requests:#?}");
    assert!(linked(&registry, "team/four", &shared));
    read_back(&four, &c);
}

#[test]
fn corrupt_cache_is_ignored_and_rewritten_and_the_cache_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob-info.json");
    let d = Digest::sha256(b"x");
    for garbage in [
        &b"{not json"[..],
        br#"{"version":99,"blobs":{}}"#,
        br#"{"version":1,"blobs":{"not-a-digest":[]}}"#,
    ] {
        std::fs::write(&path, garbage).unwrap();
        let cache = BlobInfoCache::open(&path);
        assert!(cache.repositories(&d, "r").is_empty());
        cache.record(&d, "r", "a/b");
        cache.save();
        let reread = BlobInfoCache::open(&path);
        assert_eq!(reread.repositories(&d, "r"), vec!["a/b".to_string()]);
    }

    let cache = BlobInfoCache::open(&path);
    let n = BlobInfoCache::MAX_BLOBS + 10;
    for i in 0..n {
        cache.record(&Digest::sha256(&i.to_le_bytes()), "r", "x");
    }
    for i in 0..BlobInfoCache::MAX_LOCATIONS + 3 {
        cache.record(&d, "r", &format!("repo{i}"));
    }
    cache.save();
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["blobs"].as_object().unwrap().len(),
        BlobInfoCache::MAX_BLOBS
    );
    let reread = BlobInfoCache::open(&path);
    let repos = reread.repositories(&d, "r");
    assert_eq!(repos.len(), BlobInfoCache::MAX_LOCATIONS);
    assert_eq!(
        repos[0],
        format!("repo{}", BlobInfoCache::MAX_LOCATIONS + 2)
    );
    // The oldest digests were the ones dropped.
    assert!(
        reread
            .repositories(&Digest::sha256(&0usize.to_le_bytes()), "r")
            .is_empty()
    );
    // No temporary files left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn mount_refused_by_token_scope_falls_back_to_upload() {
    // distribution wants `repository:<from>:pull` in the token for a mount. We ask for it
    // as a second `scope` parameter; the test token server grants only the first, as a
    // token server would that refuses pull on the other repository: the registry refuses
    // the mount (401), the blobs are uploaded instead, and the copy succeeds.
    let registry = RegistryServer::start_with(vouch_testkit::RegistryAuth::Token {
        user: "bob".into(),
        password: "hunter2".into(),
    });
    let relay = LoggingRelay::start(&registry.host);
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    let a = image(
        &dir.path().join("a"),
        "a",
        &config("a"),
        &[&f.shared[0], &f.shared[1]],
    );
    let opts = RegistryOptions {
        credentials: Some(Credentials::Basic {
            username: "bob".into(),
            password: "hunter2".into(),
        }),
        ..options()
    };
    let cache = BlobInfoCache::open(dir.path().join("blob-info.json"));
    copy(
        &layout_source(&dir.path().join("a")),
        "a",
        &dest(&relay.host, "team/one", &opts),
        Some(&cache),
    );
    relay.clear();
    let five = dest(&relay.host, "team/five", &opts);
    let r = copy_image_with_cache(
        &layout_source(&dir.path().join("a")),
        &Selector::Tag("a".into()),
        &five,
        Some("a"),
        &CopyOptions {
            platform: None,
            parallelism: 1,
        },
        Some(&cache),
        &|_| {},
    )
    .unwrap();
    assert_eq!((r.blobs_copied, r.blobs_mounted), (3, 0), "{r:?}");
    let requests = relay.requests();
    // Refused once (sent twice: before and after fetching a token), then not asked again.
    let mount_posts = requests.iter().filter(|r| r.contains("mount=")).count();
    assert_eq!(mount_posts, 2, "{requests:#?}");
    for d in f.shared_digests() {
        assert_eq!(uploads_of(&requests, &d), 1, "{requests:#?}");
        assert!(linked(&registry, "team/five", &d));
    }
    read_back(&five, &a);
}
