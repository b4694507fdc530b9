//! Every limit on untrusted input, in one place.

use std::time::Duration;

/// Limits the service applies to requests (and the client to responses).
///
/// The defaults accept what cosign and sigstore-python send (a hashedrekord is ~3 KiB; a DSSE
/// entry embeds the whole attestation, SBOM attestations reach a few MiB) while bounding memory
/// and CPU per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes (Rekor's default `max_request_body_size` is 32 MiB; vouch
    /// uses 8 MiB). Larger requests get 413.
    pub max_request_bytes: usize,
    /// Most signatures (DSSE) or verifiers in one entry. Default 16.
    pub max_signatures: usize,
    /// Most items in each list of `POST /api/v1/log/entries/retrieve`. Default 10 (Rekor's
    /// `maxItems`).
    pub max_retrieve_items: usize,
    /// Most UUIDs returned by `POST /api/v1/index/retrieve`. Default 1000.
    pub max_search_results: usize,
    /// Time a request may take before it is answered 503. Default 30 s.
    pub request_timeout: Duration,
    /// Most entries the sequencer integrates in one transaction. Default 1024.
    pub max_batch: usize,
    /// Group commit window: when appends arrive concurrently (the previous transaction held
    /// more than one) and fewer are queued than it took, the sequencer waits up to this long
    /// for that many before it commits them in one transaction and one fsync. A lone client
    /// never waits, nor does a saturated log (its queue refills during each commit). Default 2 ms: a fraction of one
    /// fsync, which costs milliseconds on real disks.
    pub batch_window: Duration,
    /// Largest response body the client reads, bytes. Default 16 MiB.
    pub max_response_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 8 << 20,
            max_signatures: 16,
            max_retrieve_items: 10,
            max_search_results: 1000,
            request_timeout: Duration::from_secs(30),
            max_batch: 1024,
            batch_window: Duration::from_millis(2),
            max_response_bytes: 16 << 20,
        }
    }
}
