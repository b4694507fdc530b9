//! Retries against a real socket: a server that fails before it answers.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vouch_http::{Client, ClientConfig, Error, RetryPolicy};

/// Serves the given status lines in order (then 200s), counting requests.
fn serve(statuses: Vec<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut s = stream.unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let n = c.fetch_add(1, Ordering::SeqCst);
            let status = statuses.get(n).copied().unwrap_or("200 OK");
            let extra = if status.starts_with("429") {
                "Retry-After: 0\r\n"
            } else {
                ""
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\n{extra}Content-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    (addr, count)
}

fn client(attempts: u32) -> Client {
    Client::new(&ClientConfig {
        retry: RetryPolicy {
            attempts,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        ..ClientConfig::default()
    })
    .unwrap()
}

#[test]
fn transient_statuses_are_retried_until_success() {
    let (addr, count) = serve(vec![
        "503 Service Unavailable",
        "429 Too Many Requests",
        "502 Bad Gateway",
    ]);
    let url = format!("http://{addr}/v2/");
    let resp = client(4).send("GET", |a| a.get(&url).call()).unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[test]
fn answers_that_are_not_transient_come_back_at_once() {
    let (addr, count) = serve(vec!["404 Not Found"]);
    let url = format!("http://{addr}/v2/x");
    let resp = client(4).send("GET", |a| a.get(&url).call()).unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn giving_up_names_the_last_status() {
    let (addr, count) = serve(vec!["503 Service Unavailable"; 10]);
    let url = format!("http://{addr}/v2/");
    match client(3).send("GET x", |a| a.get(&url).call()) {
        Err(Error::Exhausted {
            status, attempts, ..
        }) => {
            assert_eq!((status, attempts), (503, 3));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn connection_refused_is_retried_then_reported() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    match client(3).send("GET refused", |a| a.get(&url).call()) {
        Err(Error::Transport { attempts, .. }) => assert_eq!(attempts, 3),
        other => panic!("{other:?}"),
    }
}

/// A server that accepts connections and reads requests but never answers: each attempt ends
/// at the first-byte timeout and the retries stop at the budget, which the error names (on
/// 0.1 the defaults were 4 attempts of 60 s each).
#[test]
fn a_server_that_never_answers_fails_within_the_retry_budget() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            a.fetch_add(1, Ordering::SeqCst);
            held.push(stream.unwrap());
        }
    });
    let client = Client::new(&ClientConfig {
        retry: RetryPolicy {
            attempts: 100,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            budget: Duration::from_secs(2),
        },
        connect_timeout: Duration::from_millis(200),
        response_timeout: Duration::from_millis(300),
        ..ClientConfig::default()
    })
    .unwrap();
    let url = format!("http://{addr}/v2/");
    let err = client
        .send("GET silent", |a| a.get(&url).call())
        .unwrap_err();
    let Error::Transport {
        attempts, budget, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    // Each attempt ends at the 0.3 s first-byte timeout; none starts that could not get its
    // answer (0.2 s connect + 0.3 s) within the 2 s budget: at most 2 / 0.3 attempts, far
    // below the 100 allowed.
    assert!((1..=6).contains(attempts), "{err}");
    assert_eq!(*budget, Duration::from_secs(2));
    assert_eq!(accepted.load(Ordering::SeqCst), *attempts as usize);
    let message = err.to_string();
    assert!(
        message.contains("retry budget 2s, first-byte timeout 300ms"),
        "{message}"
    );
    assert!(
        message.contains(&format!("after {attempts} attempt(s)")),
        "{message}"
    );
}
