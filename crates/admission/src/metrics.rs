//! Prometheus text exposition (format 0.0.4) of the webhook's counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency histogram bucket bounds in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counters, updated lock-free.
#[derive(Debug)]
pub struct Metrics {
    /// [endpoint][verdict]: endpoints validate, mutate; verdicts allowed, denied, malformed.
    requests: [[AtomicU64; 3]; 2],
    timeouts: AtomicU64,
    overloaded: AtomicU64,
    dry_runs: AtomicU64,
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// How a request ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// allowed: true.
    Allowed = 0,
    /// allowed: false.
    Denied = 1,
    /// Not an AdmissionReview.
    Malformed = 2,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Default::default(),
            timeouts: AtomicU64::new(0),
            overloaded: AtomicU64::new(0),
            dry_runs: AtomicU64::new(0),
            buckets: BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, mutate: bool, outcome: Outcome, elapsed: Duration) {
        self.requests[usize::from(mutate)][outcome as usize].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (b, bound) in self.buckets.iter().zip(BUCKETS) {
            if secs <= *bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// A request ran past its deadline.
    pub fn timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// A request found every evaluation slot busy.
    pub fn overloaded(&self) {
        self.overloaded.fetch_add(1, Ordering::Relaxed);
    }

    /// A dry-run request.
    pub fn dry_run(&self) {
        self.dry_runs.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `cache` is (hits, misses, entries), `tags` is (registry
    /// requests resolving a tag, resolutions that joined a request already in flight).
    pub fn render(&self, cache: (u64, u64, usize), tags: (u64, u64)) -> String {
        let mut o = String::new();
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            o,
            "# HELP vouch_admission_requests_total AdmissionReviews answered."
        );
        let _ = writeln!(o, "# TYPE vouch_admission_requests_total counter");
        for (e, endpoint) in ["validate", "mutate"].iter().enumerate() {
            for (v, verdict) in ["allowed", "denied", "malformed"].iter().enumerate() {
                let _ = writeln!(
                    o,
                    "vouch_admission_requests_total{{endpoint=\"{endpoint}\",verdict=\"{verdict}\"}} {}",
                    g(&self.requests[e][v])
                );
            }
        }
        for (name, help, v) in [
            (
                "timeouts",
                "Reviews answered at the deadline.",
                &self.timeouts,
            ),
            (
                "overloaded",
                "Reviews answered without evaluation: all slots busy.",
                &self.overloaded,
            ),
            ("dry_runs", "Dry-run reviews.", &self.dry_runs),
        ] {
            let _ = writeln!(o, "# HELP vouch_admission_{name}_total {help}");
            let _ = writeln!(o, "# TYPE vouch_admission_{name}_total counter");
            let _ = writeln!(o, "vouch_admission_{name}_total {}", g(v));
        }
        let _ = writeln!(
            o,
            "# HELP vouch_admission_cache_hits_total Verification cache hits."
        );
        let _ = writeln!(o, "# TYPE vouch_admission_cache_hits_total counter");
        let _ = writeln!(o, "vouch_admission_cache_hits_total {}", cache.0);
        let _ = writeln!(
            o,
            "# HELP vouch_admission_cache_misses_total Verification cache misses."
        );
        let _ = writeln!(o, "# TYPE vouch_admission_cache_misses_total counter");
        let _ = writeln!(o, "vouch_admission_cache_misses_total {}", cache.1);
        let _ = writeln!(
            o,
            "# HELP vouch_admission_cache_entries Verification cache entries."
        );
        let _ = writeln!(o, "# TYPE vouch_admission_cache_entries gauge");
        let _ = writeln!(o, "vouch_admission_cache_entries {}", cache.2);
        for (name, help, v) in [
            (
                "tag_resolutions",
                "Registry requests resolving a tag to its digest.",
                tags.0,
            ),
            (
                "tag_resolutions_joined",
                "Tag resolutions answered by a request already in flight for the same tag.",
                tags.1,
            ),
        ] {
            let _ = writeln!(o, "# HELP vouch_admission_{name}_total {help}");
            let _ = writeln!(o, "# TYPE vouch_admission_{name}_total counter");
            let _ = writeln!(o, "vouch_admission_{name}_total {v}");
        }
        let _ = writeln!(
            o,
            "# HELP vouch_admission_request_duration_seconds Time to answer a review."
        );
        let _ = writeln!(
            o,
            "# TYPE vouch_admission_request_duration_seconds histogram"
        );
        for (b, bound) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                o,
                "vouch_admission_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                g(b)
            );
        }
        let count = g(&self.count);
        let _ = writeln!(
            o,
            "vouch_admission_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        #[allow(clippy::cast_precision_loss)]
        let sum = g(&self.sum_micros) as f64 / 1e6;
        let _ = writeln!(o, "vouch_admission_request_duration_seconds_sum {sum}");
        let _ = writeln!(o, "vouch_admission_request_duration_seconds_count {count}");
        o
    }
}
