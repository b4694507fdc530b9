//! The decision log: one JSON line per answered review (issue 20 item 5), written to stderr or
//! a file (`vouch admission serve --decision-log FILE`), so an operator can answer "why was
//! this pod refused / what verified it" from logs without the API server's audit log.
//!
//! Fields: `uid`, `namespace`, `name`, `kind`, `operation`, `endpoint`, `dry_run`, `images`
//! (each as written and the digest it was verified at, `null` when not resolved), `rule`
//! (`policy/rule` that decided: the first blocking rule of a denial, the first verified rule of
//! an admission), `attestor` (the attestor entry that verified it, as a path in the rule),
//! `verdict` (`allow` or `deny`), `reason`, `warnings`, `latency_ms`; with `-v` also `explain`:
//! how each tag was resolved (a registry request or joining one in flight) and whether each
//! check came from the verification cache.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

/// One image of the reviewed object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LoggedImage {
    /// As written in the pod spec (before any pin).
    pub image: String,
    /// `sha256:…`: pinned in the reference or resolved during this review; `None` when the
    /// tag could not be resolved (or was not looked at).
    pub digest: Option<String>,
}

/// What evaluation learnt about one review, beyond the verdict.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// The images, in Kyverno's container order.
    pub images: Vec<LoggedImage>,
    /// `policy/rule` that decided.
    pub rule: Option<String>,
    /// The attestor entry that verified the deciding rule.
    pub attestor: Option<String>,
    /// Why, in one line (the blocking rule's message, or what verified).
    pub reason: Option<String>,
    /// Tag resolutions and cache hits (logged with `-v`).
    pub explain: Vec<String>,
}

/// One line of the decision log.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRecord {
    /// `request.uid`.
    pub uid: String,
    /// `request.namespace` (empty for cluster-scoped objects).
    pub namespace: String,
    /// `request.name`, or the object's name or generateName.
    pub name: String,
    /// `request.kind.kind`.
    pub kind: String,
    /// `CREATE`, `UPDATE`, …
    pub operation: String,
    /// `validate` or `mutate`.
    pub endpoint: &'static str,
    /// `request.dryRun`.
    pub dry_run: bool,
    /// Images and their digests.
    pub images: Vec<LoggedImage>,
    /// `policy/rule` that decided.
    pub rule: Option<String>,
    /// The attestor entry that verified.
    pub attestor: Option<String>,
    /// `allow` or `deny`.
    pub verdict: &'static str,
    /// Why.
    pub reason: String,
    /// Warnings returned to the client.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// From the request arriving to the answer, in milliseconds.
    pub latency_ms: f64,
    /// With `-v`: tag resolutions and cache hits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Vec<String>>,
}

/// Where decision lines go. Lines are written whole under a lock, so concurrent reviews never
/// interleave within a line.
pub struct DecisionLog {
    out: Mutex<Box<dyn Write + Send>>,
    verbose: bool,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

impl DecisionLog {
    /// Lines to standard error.
    pub fn stderr(verbose: bool) -> Self {
        Self::to_writer(Box::new(std::io::stderr()), verbose)
    }

    /// Lines appended to `path` (created when missing).
    pub fn file(path: &Path, verbose: bool) -> std::io::Result<Self> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::to_writer(Box::new(f), verbose))
    }

    /// Lines to any writer.
    pub fn to_writer(out: Box<dyn Write + Send>, verbose: bool) -> Self {
        Self {
            out: Mutex::new(out),
            verbose,
        }
    }

    /// Whether `explain` is logged.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Writes one line. A log that cannot be written does not change the answer (the API
    /// server's decision must not depend on the disk), so errors are dropped here.
    pub fn write(&self, record: &DecisionRecord) {
        let Ok(mut line) = serde_json::to_vec(record) else {
            return;
        };
        line.push(b'\n');
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(&line);
            let _ = out.flush();
        }
    }
}
