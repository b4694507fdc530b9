//! The verification cache: results keyed **by digest**, never by tag.
//!
//! Every admission resolves each tag to its digest first (never cached), then looks up a
//! typed [`CheckKey`] `(repository, digest, predicate type or signature, the whole attestor
//! entry with its trust material)`, stored as the SHA-256 of its `Hash` encoding. A tag
//! moved to another manifest therefore misses and is verified again, and the pin written by
//! `/mutate` is always the digest that was verified (the TOCTOU of Kyverno's tag-keyed cache,
//! notes §2.3, cannot happen). Editing a policy's keys or identities changes the key too.
//!
//! Successes live [`CacheConfig::ttl`]; verification failures (a signature that did not
//! verify, an attestation not found) live [`CacheConfig::negative_ttl`], short, so a freshly
//! signed image is admitted soon; errors (registry unreachable, timeouts) are never cached.
//! The map holds at most [`CacheConfig::max_entries`]: when full, expired entries go first,
//! then the ones expiring soonest. Concurrent misses of one key run the check once
//! (singleflight): the other callers wait for its result.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use std::hash::{Hash as _, Hasher};

use sha2::{Digest as _, Sha256};
use vouch_policy::eval::{CheckError, ImageVerifier};
use vouch_policy::kyverno::Attestor;
use vouch_policy::{CheckKey, CheckOutcome, Evidence, ImageInfo, Scheme, VerifiedStatement};

/// Cache bounds.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// How long a success is kept. 60 minutes: Kyverno's `imageVerifyCacheTTLDuration`
    /// default. Safe because the key is the digest: a signature cannot stop verifying for
    /// unchanged content and trust material (revocation needs a policy edit, which changes
    /// the key, or a restart).
    pub ttl: Duration,
    /// How long a verification failure is kept. 30 s: absorbs a crash-looping controller
    /// re-submitting the same unsigned pod (kyverno #9503) while a newly signed image is
    /// admitted half a minute later at worst.
    pub negative_ttl: Duration,
    /// Entries kept. 10,000 entries of a few hundred bytes each: a few MiB.
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(30),
            max_entries: 10_000,
        }
    }
}

type Stored = Result<CheckOutcome, CheckError>;

/// Shared across requests.
#[derive(Debug)]
pub struct VerificationCache {
    config: CacheConfig,
    map: Mutex<HashMap<[u8; 32], (Instant, Stored)>>,
    /// Checks running now: a second review needing the same check waits for the first
    /// instead of repeating it (singleflight; kyverno #16997).
    in_flight: Mutex<HashMap<[u8; 32], Arc<Flight>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// One running check and the result it will publish.
#[derive(Debug, Default)]
struct Flight {
    done: Mutex<Option<Stored>>,
    ready: Condvar,
}

impl VerificationCache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Self {
        Self {
            config,
            map: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// (hits, misses, entries).
    pub fn stats(&self) -> (u64, u64, usize) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.map.lock().map(|m| m.len()).unwrap_or(0),
        )
    }

    /// SHA-256 of the key's `Hash` encoding: injective for these types (strings end with
    /// 0xff, which UTF-8 never contains; sequences and maps are length-prefixed; enums and
    /// options write their discriminant), so two different checks never share an entry.
    fn key(key: &CheckKey) -> [u8; 32] {
        struct ShaHasher(Sha256);
        impl Hasher for ShaHasher {
            fn finish(&self) -> u64 {
                0
            }
            fn write(&mut self, bytes: &[u8]) {
                self.0.update(bytes);
            }
        }
        let mut h = ShaHasher(Sha256::new());
        key.hash(&mut h);
        h.0.finalize().into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<Stored> {
        let map = self.map.lock().ok()?;
        match map.get(key) {
            Some((expires, v)) if *expires > Instant::now() => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(v.clone())
            }
            _ => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn put(&self, key: [u8; 32], value: &Stored) {
        let ttl = match value {
            Ok(_) => self.config.ttl,
            Err(CheckError::Failed(_)) => self.config.negative_ttl,
            Err(CheckError::Error(_)) => return,
        };
        if ttl.is_zero() || self.config.max_entries == 0 {
            return;
        }
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        let now = Instant::now();
        if map.len() >= self.config.max_entries {
            map.retain(|_, (expires, _)| *expires > now);
        }
        while map.len() >= self.config.max_entries {
            let Some(soonest) = map.iter().min_by_key(|(_, (e, _))| *e).map(|(k, _)| *k) else {
                break;
            };
            map.remove(&soonest);
        }
        map.insert(key, (now + ttl, value.clone()));
    }

    #[cfg(test)]
    fn through(&self, key: [u8; 32], run: impl FnOnce() -> Stored) -> Stored {
        self.through_traced(key, run).0
    }

    /// The result and where it came from (for the decision log's `explain`).
    fn through_traced(&self, key: [u8; 32], run: impl FnOnce() -> Stored) -> (Stored, Source) {
        if let Some(hit) = self.get(&key) {
            return (hit, Source::Hit);
        }
        // Join a running check of the same key, or become the one running it.
        let (flight, leader) = match self.in_flight.lock() {
            Ok(mut m) => match m.get(&key) {
                Some(f) => (Arc::clone(f), false),
                None => {
                    let f = Arc::new(Flight::default());
                    m.insert(key, Arc::clone(&f));
                    (f, true)
                }
            },
            Err(_) => return (run(), Source::Verified),
        };
        if !leader {
            if let Ok(mut done) = flight.done.lock() {
                // Bounded by the leader's own registry timeouts; the review's deadline
                // answers the API server meanwhile.
                while done.is_none() {
                    done = match flight.ready.wait(done) {
                        Ok(d) => d,
                        Err(_) => return (run(), Source::Verified),
                    };
                }
                if let Some(v) = done.as_ref() {
                    return (v.clone(), Source::Joined);
                }
            }
            return (run(), Source::Verified);
        }
        // Waiters must be released whatever happens to the check.
        let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
            .unwrap_or_else(|_| Err(CheckError::Error("verification aborted".into())));
        self.put(key, &value);
        if let Ok(mut done) = flight.done.lock() {
            *done = Some(value.clone());
        }
        flight.ready.notify_all();
        if let Ok(mut m) = self.in_flight.lock() {
            m.remove(&key);
        }
        (value, Source::Verified)
    }
}

/// Where a check's result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A live cache entry.
    Hit,
    /// Another review running the same check at the same time.
    Joined,
    /// Verified now.
    Verified,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Self::Hit => "cache hit",
            Self::Joined => "joined the same check running for another review",
            Self::Verified => "cache miss, verified",
        }
    }
}

/// An [`ImageVerifier`] answering from a [`VerificationCache`] and asking `inner` on a miss.
/// `resolve` always goes to `inner`: the tag is resolved on every admission.
pub struct CachedVerifier<'a> {
    /// The cache.
    pub cache: &'a VerificationCache,
    /// The real verifier.
    pub inner: &'a dyn ImageVerifier,
    /// Where each check's result came from is appended here (the decision log's `explain`).
    pub trace: Option<&'a Mutex<Vec<String>>>,
}

impl CachedVerifier<'_> {
    fn note(&self, what: impl FnOnce() -> String, source: Source) {
        if let Some(t) = self.trace
            && let Ok(mut t) = t.lock()
        {
            t.push(format!("{}: {}", what(), source.describe()));
        }
    }
}

impl ImageVerifier for CachedVerifier<'_> {
    fn resolve(&self, image: &ImageInfo) -> Result<String, CheckError> {
        self.inner.resolve(image)
    }

    fn verify_signature(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<Scheme>,
        attestor: &Attestor,
    ) -> Result<Evidence, CheckError> {
        let key = VerificationCache::key(&CheckKey {
            repository: image.name(),
            digest: digest.to_owned(),
            predicate_type: None,
            scheme,
            attestor: attestor.clone(),
        });
        let (stored, source) = self.cache.through_traced(key, || {
            self.inner
                .verify_signature(image, digest, scheme, attestor)
                .map(CheckOutcome::Signature)
        });
        self.note(|| format!("signature of {}@{digest}", image.name()), source);
        match stored? {
            CheckOutcome::Signature(e) => Ok(e),
            CheckOutcome::Statements(_) => {
                Err(CheckError::Error("cache entry of another check".into()))
            }
        }
    }

    fn verify_attestations(
        &self,
        image: &ImageInfo,
        digest: &str,
        scheme: Option<Scheme>,
        predicate_type: &str,
        attestor: &Attestor,
    ) -> Result<Vec<VerifiedStatement>, CheckError> {
        let key = VerificationCache::key(&CheckKey {
            repository: image.name(),
            digest: digest.to_owned(),
            predicate_type: Some(predicate_type.to_owned()),
            scheme,
            attestor: attestor.clone(),
        });
        let (stored, source) = self.cache.through_traced(key, || {
            self.inner
                .verify_attestations(image, digest, scheme, predicate_type, attestor)
                .map(CheckOutcome::Statements)
        });
        self.note(
            || format!("attestation {predicate_type} of {}@{digest}", image.name()),
            source,
        );
        match stored? {
            CheckOutcome::Statements(s) => Ok(s),
            CheckOutcome::Signature(_) => {
                Err(CheckError::Error("cache entry of another check".into()))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vouch_policy::kyverno::{AttestorKind, StaticKeys};

    fn check_key(repository: &str) -> CheckKey {
        CheckKey {
            repository: repository.to_owned(),
            digest: "sha256:00".into(),
            predicate_type: None,
            scheme: Some(Scheme::LegacyTag),
            attestor: Attestor::new(AttestorKind::Keys(StaticKeys::default())),
        }
    }

    fn outcome(n: usize) -> CheckOutcome {
        CheckOutcome::Statements(Vec::with_capacity(n))
    }

    #[test]
    fn typed_keys_differ_by_every_part() {
        let base = check_key("r");
        let mut att = base.clone();
        att.predicate_type = Some(String::new());
        let mut other_key = base.clone();
        other_key.attestor = Attestor::new(AttestorKind::Keys(StaticKeys {
            public_keys: Some("k".into()),
            ..StaticKeys::default()
        }));
        let mut repo = base.clone();
        repo.repository = "r2".into();
        // A verdict read from one storage scheme never answers a policy reading the other.
        let mut bundle = base.clone();
        bundle.scheme = Some(Scheme::Referrer);
        let mut both = base.clone();
        both.scheme = None;
        let keys = [&base, &att, &other_key, &repo, &bundle, &both].map(VerificationCache::key);
        for i in 0..keys.len() {
            for j in i + 1..keys.len() {
                assert_ne!(keys[i], keys[j], "{i} {j}");
            }
        }
        assert_eq!(
            VerificationCache::key(&base),
            VerificationCache::key(&check_key("r"))
        );
    }

    #[test]
    fn ttl_negative_and_bounds() {
        let c = VerificationCache::new(CacheConfig {
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(60),
            max_entries: 2,
        });
        let k = |s: &str| VerificationCache::key(&check_key(s));
        assert_eq!(
            c.through(k("a"), || Ok(CheckOutcome::Statements(vec![]))),
            Ok(CheckOutcome::Statements(vec![]))
        );
        // A hit does not run the closure.
        assert!(
            c.through(k("a"), || Err(CheckError::Failed("ran".into())))
                .is_ok()
        );
        // Errors are not cached; failures are.
        let _ = c.through(k("e"), || Err(CheckError::Error("down".into())));
        assert!(c.get(&k("e")).is_none());
        let _ = c.through(k("f"), || Err(CheckError::Failed("unsigned".into())));
        assert!(c.get(&k("f")).is_some());
        let _ = c.through(k("g"), || Ok(outcome(0)));
        assert!(c.stats().2 <= 2);
        let zero = VerificationCache::new(CacheConfig {
            negative_ttl: Duration::ZERO,
            ..CacheConfig::default()
        });
        let _ = zero.through(k("f"), || Err(CheckError::Failed("unsigned".into())));
        assert!(zero.get(&k("f")).is_none());
    }

    #[test]
    fn concurrent_misses_run_once() {
        let c = VerificationCache::new(CacheConfig::default());
        let runs = AtomicU64::new(0);
        let key = VerificationCache::key(&check_key("same"));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = c.through(key, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                        Ok(outcome(1))
                    });
                    assert!(v.is_ok());
                });
            }
        });
        // The threads start well within the first run's 200 ms; a straggler would hit the
        // cache, so the check ran exactly once either way.
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
