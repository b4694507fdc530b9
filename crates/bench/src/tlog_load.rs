//! The load generator of the log and TSA benchmarks: a cheap, fair HTTP/1.1 client.
//!
//! The client shares the 2 cores with the server it measures, so it must cost little: a
//! blocking client thread per connection (ureq) took a quarter of the machine's CPU in
//! `tlog-v2`. Here `threads` OS threads (1 by default) each run a single-threaded Tokio
//! runtime driving its share of `connections` keep-alive connections; every request's bytes
//! (request line, headers, body) are built before the clock starts, and a response is read by
//! its `Content-Length` (or chunked framing, which Go's net/http uses for bodies over 2 KiB).
//! The same client drives vouch and its Go peers. Each thread measures its own CPU time, so
//! the report can say what share of the process the client took.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Judges one answer: `(request index, HTTP status, body, sent at)` to a latency, or `None`
/// when the latency is measured later.
pub(crate) type Answer =
    dyn Fn(usize, u16, &[u8], Instant) -> anyhow::Result<Option<Duration>> + Send + Sync;

/// What a load run measured.
pub(crate) struct Load {
    /// First request sent to last answer read.
    pub(crate) elapsed: Duration,
    /// The latencies `answer` returned.
    pub(crate) latencies: Vec<Duration>,
    /// CPU time of the client threads (user + system).
    pub(crate) client_cpu: Duration,
}

/// `POST` requests for `bodies` to `url` (`http://host:port/path`), built up front.
pub(crate) fn post_requests(
    url: &str,
    content_type: &str,
    bodies: &[Vec<u8>],
) -> anyhow::Result<(SocketAddr, Arc<Vec<Vec<u8>>>)> {
    let rest = url
        .strip_prefix("http://")
        .context("the load client speaks plain http:// only")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr: SocketAddr = authority
        .parse()
        .with_context(|| format!("{authority}: the load client needs an IP:port"))?;
    let requests = bodies
        .iter()
        .map(|body| {
            let mut r = format!(
                "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        })
        .collect();
    Ok((addr, Arc::new(requests)))
}

/// Sends every request of `requests` once over `connections` keep-alive connections spread
/// over `threads` client threads, each connection sending its next request when the previous
/// answer is read (a closed loop, as `connections` clients each waiting for their answer).
pub(crate) fn run(
    addr: SocketAddr,
    requests: &Arc<Vec<Vec<u8>>>,
    connections: usize,
    threads: usize,
    answer: Arc<Answer>,
) -> anyhow::Result<Load> {
    let connections = connections.max(1);
    let threads = threads.clamp(1, connections);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            // Connections of this thread: an even share of the total.
            let mine = connections / threads + usize::from(t < connections % threads);
            let (requests, next, answer) =
                (Arc::clone(requests), Arc::clone(&next), Arc::clone(&answer));
            std::thread::Builder::new()
                .name(format!("load-client-{t}"))
                .spawn(
                    move || -> anyhow::Result<(Vec<Duration>, Duration, Instant)> {
                        let cpu_before = thread_cpu()?;
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_io()
                            .build()?;
                        let latencies = runtime.block_on(async move {
                            let tasks: Vec<_> = (0..mine)
                                .map(|_| {
                                    tokio::spawn(connection(
                                        addr,
                                        Arc::clone(&requests),
                                        Arc::clone(&next),
                                        Arc::clone(&answer),
                                    ))
                                })
                                .collect();
                            let mut all = Vec::new();
                            for task in tasks {
                                all.extend(task.await??);
                            }
                            Ok::<_, anyhow::Error>(all)
                        })?;
                        let done = Instant::now();
                        Ok((latencies, thread_cpu()?.saturating_sub(cpu_before), done))
                    },
                )
        })
        .collect::<Result<_, _>>()?;
    let mut latencies = Vec::new();
    let mut client_cpu = Duration::ZERO;
    let mut last = started;
    for w in workers {
        let (l, cpu, done) = w
            .join()
            .map_err(|_| anyhow::anyhow!("load client panicked"))??;
        latencies.extend(l);
        client_cpu += cpu;
        last = last.max(done);
    }
    Ok(Load {
        elapsed: last.duration_since(started),
        latencies,
        client_cpu,
    })
}

/// One keep-alive connection: request, answer, next request.
async fn connection(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
    answer: Arc<Answer>,
) -> anyhow::Result<Vec<Duration>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(16 << 10);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(request) = requests.get(i) else {
            return Ok(latencies);
        };
        let t = Instant::now();
        write_all(&stream, request).await?;
        let (status, body) = read_response(&stream, &mut buf).await?;
        if let Some(l) = answer(i, status, &body, t)? {
            latencies.push(l);
        }
    }
}

async fn write_all(stream: &tokio::net::TcpStream, mut bytes: &[u8]) -> anyhow::Result<()> {
    while !bytes.is_empty() {
        // Try first: a socket with room in its send buffer needs no readiness wait.
        match stream.try_write(bytes) {
            Ok(0) => anyhow::bail!("connection closed while sending"),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads more bytes into `buf`; fails on end of stream.
async fn fill(stream: &tokio::net::TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    let len = buf.len();
    buf.resize(len + (8 << 10), 0);
    loop {
        stream.readable().await?;
        match stream.try_read(&mut buf[len..]) {
            Ok(0) => {
                buf.truncate(len);
                anyhow::bail!("connection closed before the whole response was read");
            }
            Ok(n) => {
                buf.truncate(len + n);
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                buf.truncate(len);
                return Err(e.into());
            }
        }
    }
}

/// One HTTP/1.1 response: status and body (`Content-Length` or chunked). `buf` keeps bytes
/// read past the response (none with a closed-loop client, but never dropped).
async fn read_response(
    stream: &tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        anyhow::ensure!(buf.len() < 64 << 10, "response head over 64 KiB");
        fill(stream, buf).await?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .context("no status line")?
        .parse()
        .context("status code")?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().context("Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    buf.drain(..head_end);
    if chunked {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(p) = find(buf, b"\r\n") {
                    break p;
                }
                fill(stream, buf).await?;
            };
            let size_text = std::str::from_utf8(&buf[..line_end]).context("chunk size")?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16).context("chunk size")?;
            // The chunk, then its CRLF (for the last chunk: the CRLF ending the trailers).
            while buf.len() < line_end + 2 + size + 2 {
                fill(stream, buf).await?;
            }
            body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
            buf.drain(..line_end + 2 + size + 2);
            if size == 0 {
                return Ok((status, body));
            }
        }
    }
    let length = length.context("response without Content-Length or chunked body")?;
    while buf.len() < length {
        fill(stream, buf).await?;
    }
    let body = buf[..length].to_vec();
    buf.drain(..length);
    Ok((status, body))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// CPU time of the calling thread (`/proc/thread-self/schedstat`: nanoseconds on a CPU).
pub(crate) fn thread_cpu() -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let ns: u64 = text
        .split_whitespace()
        .next()
        .ok_or_else(|| anyhow::anyhow!("empty /proc/thread-self/schedstat"))?
        .parse()?;
    Ok(Duration::from_nanos(ns))
}

/// CPU time (user + system) of the whole process, exited threads included
/// (`/proc/self/stat` fields 14 and 15, in clock ticks of 1/100 s on Linux).
pub(crate) fn process_cpu() -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may hold spaces; fields after it start past the last ')'.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow::anyhow!("unexpected /proc/self/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime field 15.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(i - 3)
            .ok_or_else(|| anyhow::anyhow!("short /proc/self/stat"))?
            .parse()?)
    };
    Ok(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}
