//! RFC 3161 timestamps per second from vouch-tsa (issue 14 target: 5,000/s), in process (parse a
//! DER TimeStampReq made as `openssl ts -query -cert` makes it, issue, encode) on 1 and N
//! threads, and over HTTP on loopback with N keep-alive clients.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use sha2::Digest as _;
use vouch_tsa::{Config, Material, TimestampAuthority, TimestampRequest};

const TARGET_PER_SEC: f64 = 5_000.0;

/// A DER request: SHA-256 imprint, an 8-byte nonce, certReq true (what `openssl ts -query
/// -sha256 -cert` writes).
fn query(i: u64) -> Vec<u8> {
    let digest = sha2::Sha256::digest(i.to_be_bytes());
    // SEQUENCE { INTEGER 1, MessageImprint { AlgorithmIdentifier { sha256, NULL }, OCTET
    // STRING }, INTEGER nonce, BOOLEAN TRUE } built by the same x509-tsp types the TSA parses.
    use der07::Encode as _;
    let req = x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifierOwned {
                oid: der07::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
                parameters: Some(der07::asn1::Any::null()),
            },
            hashed_message: der07::asn1::OctetString::new(digest.to_vec()).expect("octets"),
        },
        req_policy: None,
        nonce: Some(der07::asn1::Int::new(&(i | 1 << 62).to_be_bytes()).expect("nonce")),
        cert_req: true,
        extensions: None,
    };
    req.to_der().expect("encode")
}

fn in_process(
    tsa: &Arc<TimestampAuthority>,
    requests: usize,
    threads: usize,
) -> anyhow::Result<f64> {
    let queries: Vec<Vec<u8>> = (0..requests as u64).map(query).collect();
    let queries = Arc::new(queries);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (tsa, queries) = (Arc::clone(tsa), Arc::clone(&queries));
            std::thread::spawn(move || -> anyhow::Result<usize> {
                let mut bytes = 0;
                for q in queries.iter().skip(t).step_by(threads) {
                    let request = TimestampRequest::from_der(q)?;
                    bytes += tsa.timestamp(&request)?.response.len();
                }
                Ok(bytes)
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("thread panicked"))??;
    }
    Ok(requests as f64 / start.elapsed().as_secs_f64())
}

fn over_http(
    tsa: &Arc<TimestampAuthority>,
    requests: usize,
    clients: usize,
) -> anyhow::Result<f64> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/api/v1/timestamp", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(vouch_tsa::server::serve(
        listener,
        Arc::clone(tsa),
        None,
        async {
            let _ = stopped.await;
        },
    ));
    let queries = Arc::new((0..requests as u64).map(query).collect::<Vec<_>>());
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|t| {
            let (queries, url) = (Arc::clone(&queries), url.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let agent = ureq::Agent::new_with_defaults();
                for q in queries.iter().skip(t).step_by(clients) {
                    let mut resp = agent
                        .post(&url)
                        .header("Content-Type", "application/timestamp-query")
                        .send(q.as_slice())?;
                    resp.body_mut().read_to_vec()?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
    }
    let rate = requests as f64 / start.elapsed().as_secs_f64();
    let _ = stop.send(());
    runtime.block_on(server).context("server task")??;
    Ok(rate)
}

/// Prints timestamps/s in process (1 and `threads` threads) and over HTTP.
pub(crate) fn run(requests: usize, threads: usize) -> anyhow::Result<()> {
    let material = Material::generate("vouch bench")?;
    let tsa = Arc::new(TimestampAuthority::new(&material, &Config::default())?);
    // Warm up (page in, allocator).
    in_process(&tsa, 200, 1)?;
    let one = in_process(&tsa, requests, 1)?;
    let many = in_process(&tsa, requests, threads)?;
    let http = over_http(&tsa, requests, threads)?;
    println!("tsa timestamps/s (DER request with nonce and certReq, ECDSA P-256 token)");
    for (name, rate) in [
        ("in process, 1 thread".to_owned(), one),
        (format!("in process, {threads} threads"), many),
        (format!("HTTP loopback, {threads} clients"), http),
    ] {
        println!(
            "  {name:<28} {rate:>9.0}/s   {:.2}x the 5,000/s target",
            rate / TARGET_PER_SEC
        );
    }
    Ok(())
}
