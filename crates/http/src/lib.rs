//! HTTP transport policy shared by every vouch client, and (feature `server`) the services'
//! accept loop.
//!
//! Two rules live here and nowhere else:
//!
//! * **Which scheme a host gets** ([`TransportPolicy`]): HTTPS always, except for loopback
//!   hosts (`localhost`, `127.0.0.0/8`, `::1`) and hosts the user named as insecure, which
//!   get plain HTTP. This mirrors Docker's and containerd's rule for "insecure registries",
//!   minus the silent HTTPS-to-HTTP downgrade: a non-loopback host is never spoken to in
//!   clear text unless the user said so by name.
//! * **How failures are retried** ([`Client::send`]): transient failures (connection errors,
//!   timeouts, `429` and `5xx` answers) are retried with exponential back-off, honouring a
//!   `Retry-After` header; every other answer goes back to the caller untouched so the caller
//!   can name the registry's own error.
//!
//! The client is blocking ([`ureq`]); callers that live in an async server run it on a
//! blocking thread. Responses are streamed: nothing here reads a body into memory. Each
//! attempt must connect within [`ClientConfig::connect_timeout`] and see the response head
//! within [`ClientConfig::response_timeout`]; all attempts together stay within
//! [`RetryPolicy::budget`], and errors say how many attempts took how long.
//!
//! With the `server` feature, [`server`] is the other side: the accept loop every vouch
//! service runs (connection limits, header/idle timeout, TLS).
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod server;

use std::net::IpAddr;
use std::time::Duration;

pub use ureq;
pub use ureq::http;

/// A response whose body has not been read yet.
pub type Response = http::Response<ureq::Body>;

/// Errors from the transport (the peer's HTTP answers are not errors here).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never got an HTTP answer, after all retries.
    #[error(
        "{what}: {source} (gave up after {attempts} attempt(s) in {:.1}s; retry budget \
         {budget:?}, first-byte timeout {timeout:?} per attempt)",
        elapsed.as_secs_f64()
    )]
    Transport {
        /// What was being done, e.g. `GET https://host/v2/`.
        what: String,
        /// How many attempts were made.
        attempts: u32,
        /// Time spent on all attempts and the waits between them.
        elapsed: Duration,
        /// [`RetryPolicy::budget`].
        budget: Duration,
        /// [`ClientConfig::response_timeout`].
        timeout: Duration,
        /// The last transport error (boxed: it is large, and errors travel by value).
        #[source]
        source: Box<ureq::Error>,
    },
    /// The server kept answering with a retryable status.
    #[error(
        "{what}: server answered {status} {attempts} time(s) in {:.1}s; giving up (retry budget {budget:?})",
        elapsed.as_secs_f64()
    )]
    Exhausted {
        /// Time spent on all attempts and the waits between them.
        elapsed: Duration,
        /// [`RetryPolicy::budget`].
        budget: Duration,
        /// What was being done.
        what: String,
        /// The last status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A CA bundle given by the user could not be read.
    #[error("reading CA certificates from {path}: {reason}")]
    CaBundle {
        /// The file.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
}

/// Which hosts may be reached over plain HTTP.
#[derive(Debug, Clone, Default)]
pub struct TransportPolicy {
    insecure_hosts: Vec<String>,
}

impl TransportPolicy {
    /// A policy that allows plain HTTP to loopback hosts and to the given `host[:port]`
    /// names (compared case-insensitively, with and without the port).
    pub fn with_insecure_hosts<I, S>(hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            insecure_hosts: hosts
                .into_iter()
                .map(|h| h.into().to_ascii_lowercase())
                .collect(),
        }
    }

    /// The URL scheme to use for `host` (`host[:port]`, IPv6 in brackets).
    pub fn scheme_for(&self, host: &str) -> &'static str {
        let host = host.to_ascii_lowercase();
        let bare = strip_port(&host);
        if is_loopback(bare)
            || self
                .insecure_hosts
                .iter()
                .any(|h| h == &host || h.as_str() == bare)
        {
            "http"
        } else {
            "https"
        }
    }
}

/// `host[:port]` without the port; IPv6 literals keep no brackets.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Whether a bare host names this machine.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Retry schedule for transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound for one delay, `Retry-After` included.
    pub max_delay: Duration,
    /// Upper bound for one request with all its retries: no retry starts that could not get
    /// its answer (connect and first byte) before the budget runs out. Default 30 s.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            budget: Duration::from_secs(30),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// Connect timeout (TCP and TLS). Default 5 s.
    pub connect_timeout: Duration,
    /// Time from sending the request to the response headers ("first byte"): a server that
    /// accepts connections but never answers fails after it. Default 10 s.
    pub response_timeout: Duration,
    /// Time allowed between two reads of a response body (a stalled transfer fails after it;
    /// a slow but moving one does not). Default 60 s.
    pub read_timeout: Duration,
    /// Root certificates (PEM) to trust *instead of* the public Mozilla roots: what an
    /// air-gapped site with a private CA wants. Empty means the public roots.
    pub ca_pem: Vec<Vec<u8>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            ca_pem: Vec::new(),
        }
    }
}

/// A blocking HTTP client with vouch's retry rule.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    retry: RetryPolicy,
    /// The longest one attempt waits for its answer: connect plus first byte.
    attempt_timeout: Duration,
    response_timeout: Duration,
}

impl Client {
    /// A client with the given settings.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        let mut builder = ureq::Agent::config_builder()
            // Status codes are the caller's business: a 404 from a registry is an answer.
            .http_status_as_error(false)
            .user_agent(concat!("vouch/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(config.connect_timeout))
            .timeout_recv_response(Some(config.response_timeout))
            .timeout_per_read(Some(config.read_timeout))
            // Registries redirect blob downloads to storage; credentials must not follow.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .max_idle_connections_per_host(8);
        if !config.ca_pem.is_empty() {
            let mut certs = Vec::new();
            for pem in &config.ca_pem {
                for cert in ureq::tls::parse_pem(pem) {
                    match cert {
                        Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                        Ok(_) => {}
                        Err(e) => {
                            return Err(Error::CaBundle {
                                path: "(PEM)".into(),
                                reason: e.to_string(),
                            });
                        }
                    }
                }
            }
            builder = builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        Ok(Self {
            agent: builder.build().new_agent(),
            retry: config.retry,
            attempt_timeout: config.connect_timeout + config.response_timeout,
            response_timeout: config.response_timeout,
        })
    }

    /// The underlying agent, for requests that must not be retried.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Sends a request built by `make`, retrying transient failures.
    ///
    /// `make` is called once per attempt so that request bodies can be re-created; `what`
    /// names the request in errors (`"GET https://…"`). The response of the last attempt
    /// is returned whatever its status, unless that status is still retryable, in which
    /// case [`Error::Exhausted`] says so. Retries stop after [`RetryPolicy::attempts`], or
    /// earlier when the next one could not be answered within [`RetryPolicy::budget`].
    pub fn send<F>(&self, what: &str, mut make: F) -> Result<Response, Error>
    where
        F: FnMut(&ureq::Agent) -> Result<Response, ureq::Error>,
    {
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let can_retry = |delay: Duration| {
                attempt < self.retry.attempts && self.may_retry(started.elapsed(), delay)
            };
            match make(&self.agent) {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if !is_retryable_status(status) {
                        return Ok(resp);
                    }
                    let delay = retry_after(&resp)
                        .unwrap_or_else(|| self.backoff(attempt))
                        .min(self.retry.max_delay);
                    if !can_retry(delay) {
                        return Err(Error::Exhausted {
                            what: what.into(),
                            status,
                            attempts: attempt,
                            elapsed: started.elapsed(),
                            budget: self.retry.budget,
                        });
                    }
                    std::thread::sleep(delay);
                }
                Err(e) if is_transient(&e) && can_retry(self.backoff(attempt)) => {
                    std::thread::sleep(self.backoff(attempt));
                }
                Err(source) => {
                    return Err(Error::Transport {
                        what: what.into(),
                        attempts: attempt,
                        elapsed: started.elapsed(),
                        budget: self.retry.budget,
                        timeout: self.response_timeout,
                        source: Box::new(source),
                    });
                }
            }
        }
    }

    /// The error of a request sent once, without [`send`](Self::send) (a streamed upload
    /// cannot be replayed), in the same words as `send`'s.
    pub fn single_attempt_error(
        &self,
        what: String,
        started: std::time::Instant,
        source: ureq::Error,
    ) -> Error {
        Error::Transport {
            what,
            attempts: 1,
            elapsed: started.elapsed(),
            budget: self.retry.budget,
            timeout: self.response_timeout,
            source: Box::new(source),
        }
    }

    /// Whether another attempt, after waiting `delay`, would still get its answer (connect
    /// and first byte) within the retry budget.
    fn may_retry(&self, elapsed: Duration, delay: Duration) -> bool {
        elapsed + delay + self.attempt_timeout <= self.retry.budget
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << (attempt - 1).min(10);
        (self.retry.base_delay * factor).min(self.retry.max_delay)
    }
}

/// 429 Too Many Requests and the 5xx family, except 501 Not Implemented (an answer,
/// not a hiccup: registries use it for unsupported APIs).
fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status) && status != 501 && status != 505
}

fn is_transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed
    )
}

/// `Retry-After` in seconds (the HTTP-date form is rare from registries and is ignored).
fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_rule_table() {
        let policy = TransportPolicy::with_insecure_hosts(["registry.lan:5000", "Mirror.Corp"]);
        let cases = [
            ("localhost", "http"),
            ("localhost:5000", "http"),
            ("127.0.0.1:5000", "http"),
            ("127.8.9.1", "http"),
            ("[::1]:5000", "http"),
            ("registry.lan:5000", "http"),
            ("registry.lan", "https"),
            ("registry.lan:5001", "https"),
            ("mirror.corp:443", "http"),
            ("docker.io", "https"),
            ("10.0.0.1:5000", "https"),
            ("localhost.evil.com", "https"),
        ];
        for (host, want) in cases {
            assert_eq!(policy.scheme_for(host), want, "{host}");
        }
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 201, 202, 400, 401, 403, 404, 405, 416, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let c = Client::new(&ClientConfig::default()).expect("client");
        assert_eq!(c.backoff(1), Duration::from_millis(250));
        assert_eq!(c.backoff(2), Duration::from_millis(500));
        assert_eq!(c.backoff(3), Duration::from_millis(1000));
        assert_eq!(c.backoff(30), Duration::from_secs(10));
    }
}
