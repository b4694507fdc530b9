//! Tag resolution on every review, coalesced.
//!
//! The webhook resolves each tag to its digest on every review (never cached: a moved tag must
//! be verified again, notes §2.3), so under load many reviews of the same workload ask the
//! registry for the same tag at the same time. [`TagResolver`] lets them share one request:
//! the first review to need a tag sends it, reviews arriving while it is in flight wait for
//! its answer instead of sending their own (singleflight), and the entry is gone as soon as
//! the answer is published, so the next review asks the registry again. The digest a review
//! uses was therefore read from the registry during that review (or, for a review that joined,
//! by a request already on the wire when it arrived: at most one round trip older). Nothing is
//! remembered between flights.
//!
//! Digest-pinned references (`name@sha256:…`, which `/mutate` writes) are never resolved at
//! all: the digest is in the reference ([`vouch_policy::PolicySet::tags_to_resolve`] leaves
//! them out), so re-admitting a pinned pod touches only the verification cache.
//!
//! The registry connections behind the requests are the [`vouch_policy::SigstoreVerifier`]'s:
//! one open repository (one HTTP agent and its keep-alive pool, one bearer token) per
//! repository, kept for the webhook's lifetime. The tags of one review are resolved in
//! parallel on a fixed pool of [`WORKERS`] threads started once ([`TagResolver::resolve_all`]),
//! not on threads spawned per review: spawning 7 threads costs 0.2 ms at the median and
//! milliseconds at p99 on a loaded 2-core machine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, mpsc};

use vouch_policy::ImageInfo;
use vouch_policy::eval::{CheckError, ImageVerifier};

type Resolved = Result<String, CheckError>;

/// One resolution on the wire and the answer it will publish.
#[derive(Debug, Default)]
struct Flight {
    done: Mutex<Option<Resolved>>,
    ready: Condvar,
}

/// Coalesces concurrent resolutions of the same tag; shared by all reviews.
#[derive(Debug, Default)]
pub struct TagResolver {
    shared: Arc<Shared>,
    /// Where [`TagResolver::resolve_all`] sends work; the pool starts on first use.
    pool: OnceLock<Option<mpsc::Sender<Job>>>,
}

/// The flights and counters, shared with the pool's jobs.
#[derive(Debug, Default)]
struct Shared {
    in_flight: Mutex<HashMap<String, Arc<Flight>>>,
    requests: AtomicU64,
    joined: AtomicU64,
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads resolving tags for all reviews. 32: four reviews of 8 containers at once get all
/// their tags on the wire together; each thread mostly waits on the registry, and more work
/// queues (bounded by the review deadline, which answers the API server meanwhile).
pub const WORKERS: usize = 32;

fn start_pool() -> Option<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let rx = Arc::clone(&rx);
        let spawned = std::thread::Builder::new()
            .name(format!("vouch-resolve-{i}"))
            .spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    // A panicking resolution publishes an error to its waiters (`Publish`) and
                    // drops its result sender; the worker carries on.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        if spawned.is_err() && i == 0 {
            return None;
        }
    }
    Some(tx)
}

/// Publishes the leader's answer and removes the flight, even if the resolution panicked, so
/// no waiter is left behind.
struct Publish<'a> {
    resolver: &'a Shared,
    key: &'a str,
    flight: &'a Flight,
    value: Option<Resolved>,
}

impl Drop for Publish<'_> {
    fn drop(&mut self) {
        // Out of the map first: a review arriving from now on sends its own request.
        if let Ok(mut m) = self.resolver.in_flight.lock() {
            m.remove(self.key);
        }
        let value = self
            .value
            .take()
            .unwrap_or_else(|| Err(CheckError::Error("tag resolution aborted".into())));
        if let Ok(mut done) = self.flight.done.lock() {
            *done = Some(value);
        }
        self.flight.ready.notify_all();
    }
}

impl TagResolver {
    /// A resolver with nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// (registry requests sent, resolutions answered by joining one already in flight).
    pub fn stats(&self) -> (u64, u64) {
        (
            self.shared.requests.load(Ordering::Relaxed),
            self.shared.joined.load(Ordering::Relaxed),
        )
    }

    /// Resolves `image`'s tag through `verifier`, sharing a request already in flight for the
    /// same reference.
    pub fn resolve(&self, verifier: &dyn ImageVerifier, image: &ImageInfo) -> Resolved {
        self.shared.resolve(verifier, image)
    }

    /// Resolves every tag, in parallel: the first on the calling thread, the others on the
    /// pool. Answers in the order of `tags`.
    pub fn resolve_all<V>(&self, verifier: &Arc<V>, tags: &[ImageInfo]) -> Vec<Resolved>
    where
        V: ImageVerifier + Send + Sync + 'static,
    {
        self.resolve_all_traced(verifier, tags)
            .into_iter()
            .map(|(r, _)| r)
            .collect()
    }

    /// [`TagResolver::resolve_all`], each answer with whether it came from joining a request
    /// already in flight (`true`) rather than sending one (for the decision log's `explain`).
    pub fn resolve_all_traced<V>(
        &self,
        verifier: &Arc<V>,
        tags: &[ImageInfo],
    ) -> Vec<(Resolved, bool)>
    where
        V: ImageVerifier + Send + Sync + 'static,
    {
        let Some((first, rest)) = tags.split_first() else {
            return Vec::new();
        };
        let pool = self.pool.get_or_init(start_pool).as_ref();
        let (tx, rx) = mpsc::channel::<(usize, (Resolved, bool))>();
        let mut out: Vec<Option<(Resolved, bool)>> = vec![None; tags.len()];
        for (i, tag) in rest.iter().enumerate() {
            let (shared, verifier, tag, tx) = (
                Arc::clone(&self.shared),
                Arc::clone(verifier),
                tag.clone(),
                tx.clone(),
            );
            let job: Job = Box::new(move || {
                let _ = tx.send((i + 1, shared.resolve_traced(verifier.as_ref(), &tag)));
            });
            // No pool (threads could not be started): resolve here, one after the other.
            let sent = match pool {
                Some(p) => p.send(job),
                None => Err(mpsc::SendError(job)),
            };
            if let Err(mpsc::SendError(job)) = sent {
                job();
            }
        }
        drop(tx);
        out[0] = Some(self.shared.resolve_traced(verifier.as_ref(), first));
        // Ends when every job has answered or dropped its sender (a panic).
        for (i, r) in rx {
            out[i] = Some(r);
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    (
                        Err(CheckError::Error("tag resolution aborted".into())),
                        false,
                    )
                })
            })
            .collect()
    }
}

impl Shared {
    fn resolve(&self, verifier: &dyn ImageVerifier, image: &ImageInfo) -> Resolved {
        self.resolve_traced(verifier, image).0
    }

    /// The answer and whether it came from joining a flight.
    fn resolve_traced(&self, verifier: &dyn ImageVerifier, image: &ImageInfo) -> (Resolved, bool) {
        let key = image.fetch_reference();
        let (flight, leader) = match self.in_flight.lock() {
            Ok(mut m) => match m.get(&key) {
                Some(f) => (Arc::clone(f), false),
                None => {
                    let f = Arc::new(Flight::default());
                    m.insert(key.clone(), Arc::clone(&f));
                    (f, true)
                }
            },
            Err(_) => {
                self.requests.fetch_add(1, Ordering::Relaxed);
                return (verifier.resolve(image), false);
            }
        };
        if leader {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut publish = Publish {
                resolver: self,
                key: &key,
                flight: &flight,
                value: None,
            };
            let value = verifier.resolve(image);
            publish.value = Some(value.clone());
            return (value, false);
        }
        self.joined.fetch_add(1, Ordering::Relaxed);
        // Bounded by the leader's registry timeouts (one attempt, read timeout = the review
        // deadline); the review's own deadline answers the API server meanwhile.
        let Ok(mut done) = flight.done.lock() else {
            return (verifier.resolve(image), false);
        };
        loop {
            if let Some(v) = done.as_ref() {
                return (v.clone(), true);
            }
            done = match flight.ready.wait(done) {
                Ok(d) => d,
                Err(_) => return (verifier.resolve(image), false),
            };
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use vouch_policy::kyverno::Attestor;

    use super::*;

    /// Counts resolutions and answers a digest naming the call's number. With a `gate`, a
    /// resolution waits (up to 10 s) until that many callers have joined it.
    struct Counting<'a> {
        calls: AtomicU64,
        gate: Option<(&'a TagResolver, u64)>,
    }

    impl ImageVerifier for Counting<'_> {
        fn resolve(&self, _: &ImageInfo) -> Result<String, CheckError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some((resolver, joined)) = self.gate {
                let start = std::time::Instant::now();
                while resolver.stats().1 < joined && start.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Ok(format!("sha256:{n}"))
        }
        fn verify_signature(
            &self,
            _: &ImageInfo,
            _: &str,
            _: Option<vouch_policy::Scheme>,
            _: &Attestor,
        ) -> Result<vouch_policy::Evidence, CheckError> {
            Err(CheckError::Error("unused".into()))
        }
        fn verify_attestations(
            &self,
            _: &ImageInfo,
            _: &str,
            _: Option<vouch_policy::Scheme>,
            _: &str,
            _: &Attestor,
        ) -> Result<Vec<vouch_policy::VerifiedStatement>, CheckError> {
            Err(CheckError::Error("unused".into()))
        }
    }

    #[test]
    fn concurrent_resolutions_share_one_request_and_the_next_asks_again() {
        let r = TagResolver::new();
        let gated = Counting {
            calls: AtomicU64::new(0),
            gate: Some((&r, 5)),
        };
        let image = ImageInfo::parse("registry.example/acme/api:v1").unwrap();
        let other = ImageInfo::parse("registry.example/acme/api:v2").unwrap();
        // The first request is held open until the five other callers have joined it.
        let answers: Vec<Resolved> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..6)
                .map(|_| s.spawn(|| r.resolve(&gated, &image)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(r.stats(), (1, 5));
        assert_eq!(gated.calls.load(Ordering::SeqCst), 1);
        assert!(
            answers.iter().all(|a| a == &Ok("sha256:0".to_owned())),
            "{answers:?}"
        );
        // Once answered, nothing is remembered: the same tag is asked for again.
        let plain = Counting {
            calls: AtomicU64::new(0),
            gate: None,
        };
        assert_eq!(r.resolve(&plain, &image), Ok("sha256:0".to_owned()));
        assert_eq!(r.resolve(&plain, &image), Ok("sha256:1".to_owned()));
        assert_eq!(r.resolve(&plain, &other), Ok("sha256:2".to_owned()));
        assert_eq!(r.stats(), (4, 5));
    }

    /// Answers `sha256:<repository path>`, counting calls.
    #[derive(Default)]
    struct Echo(AtomicU64);

    impl ImageVerifier for Echo {
        fn resolve(&self, image: &ImageInfo) -> Result<String, CheckError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(format!("sha256:{}", image.path))
        }
        fn verify_signature(
            &self,
            _: &ImageInfo,
            _: &str,
            _: Option<vouch_policy::Scheme>,
            _: &Attestor,
        ) -> Result<vouch_policy::Evidence, CheckError> {
            Err(CheckError::Error("unused".into()))
        }
        fn verify_attestations(
            &self,
            _: &ImageInfo,
            _: &str,
            _: Option<vouch_policy::Scheme>,
            _: &str,
            _: &Attestor,
        ) -> Result<Vec<vouch_policy::VerifiedStatement>, CheckError> {
            Err(CheckError::Error("unused".into()))
        }
    }

    #[test]
    fn resolve_all_answers_in_order_from_the_pool() {
        let r = TagResolver::new();
        let v = Arc::new(Echo::default());
        let tags: Vec<ImageInfo> = (0..9)
            .map(|i| ImageInfo::parse(&format!("registry.example/acme/app{i}:v1")).unwrap())
            .collect();
        assert!(r.resolve_all(&v, &[]).is_empty());
        for round in 0..3u64 {
            let answers = r.resolve_all(&v, &tags);
            let expected: Vec<Resolved> =
                (0..9).map(|i| Ok(format!("sha256:acme/app{i}"))).collect();
            assert_eq!(answers, expected);
            // Every tag asked for again each round: nothing is remembered.
            assert_eq!(v.0.load(Ordering::SeqCst), 9 * (round + 1));
        }
        assert_eq!(r.stats(), (27, 0));
    }
}
