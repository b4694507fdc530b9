//! The services' accept loop against real sockets: a flood of idle and trickling connections
//! on one service (10x its limit) neither starves a service beside it (sharing the process
//! limit) nor keeps its connections open past the header timeout.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use vouch_http::server::{ConnectionLimit, ServerConfig, ServerStats, serve_with_stats};

const LIMIT: usize = 4;

struct Running {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
}

fn start(
    runtime: &tokio::runtime::Runtime,
    name: &'static str,
    process: &ConnectionLimit,
) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(ServerStats::default());
    let config = ServerConfig {
        max_connections: LIMIT,
        header_timeout: Duration::from_millis(1500),
        process: process.clone(),
        ..ServerConfig::named(name)
    };
    let router = Router::new().route("/healthz", get(|| async { "ok\n" }));
    let s = Arc::clone(&stats);
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        serve_with_stats(listener, router, None, config, s, std::future::pending())
            .await
            .unwrap();
    });
    Running { addr, stats }
}

/// `GET /healthz` on a new connection, with a 1 s bound on connecting and reading.
fn healthz(addr: SocketAddr) -> Result<String, String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    Ok(answer)
}

/// Whether the server closed `s` (EOF or reset) within `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_flood_on_one_service_neither_starves_another_nor_stays_open() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Two services of one process: 4 connections each, 6 for the process.
    let process = ConnectionLimit::new(LIMIT + 2);
    let flooded = start(&runtime, "flooded", &process);
    let neighbour = start(&runtime, "neighbour", &process);
    assert!(healthz(flooded.addr).unwrap().starts_with("HTTP/1.1 200"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while process.in_use() > 0 {
        assert!(
            Instant::now() < deadline,
            "the first connection is still held"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // 10x the limit: half idle (connect, send nothing), half trickling a header byte by byte.
    let mut flood: Vec<TcpStream> = (0..LIMIT * 10)
        .map(|_| TcpStream::connect(flooded.addr).unwrap())
        .collect();
    for (i, s) in flood.iter_mut().enumerate() {
        if i % 2 == 1 {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while flooded.stats.accepted.load(Ordering::SeqCst)
        + flooded.stats.refused.load(Ordering::SeqCst)
        < 1 + (LIMIT * 10) as u64
    {
        assert!(Instant::now() < deadline, "the flood was not accepted");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The flooded service holds its limit and refused the rest at once.
    assert_eq!(
        flooded.stats.accepted.load(Ordering::SeqCst),
        1 + LIMIT as u64
    );
    assert_eq!(
        flooded.stats.refused.load(Ordering::SeqCst),
        (LIMIT * 9) as u64
    );
    assert_eq!(process.in_use(), LIMIT);

    // The neighbour answers within 1 s, again and again, while the flood is held.
    for _ in 0..5 {
        let answer = healthz(neighbour.addr).expect("neighbour answers during the flood");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok\n"), "{answer}");
    }
    assert_eq!(neighbour.stats.refused.load(Ordering::SeqCst), 0);

    // Trickle more header bytes: slow headers do not extend the header timeout.
    for s in flood.iter_mut().skip(1).step_by(2) {
        let _ = s.write_all(b"a");
    }
    // Every flood connection is closed: the refused ones at once, the held ones (idle or
    // trickling) at the 1.5 s header timeout.
    for (i, s) in flood.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(10)),
            "flood connection {i} still open"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while process.in_use() > 0 {
        assert!(
            Instant::now() < deadline,
            "connections still held: {}",
            process.in_use()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // And the flooded service serves again.
    assert!(healthz(flooded.addr).unwrap().starts_with("HTTP/1.1 200"));

    // A keep-alive connection left idle after its answer is closed too.
    let mut kept = TcpStream::connect(neighbour.addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 256];
    kept.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let n = kept.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(
        closed_within(&mut kept, Duration::from_secs(10)),
        "idle keep-alive connection still open"
    );
}
