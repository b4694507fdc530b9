//! `RegistryOptions::shared_client`: repositories of one host opened with the same options
//! share one connection pool. Counted at a TCP relay in front of a real registry (Debian's
//! docker-registry): with the shared client, reads of two repositories arrive on one
//! connection; without it, each repository opens its own.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use vouch_oci::{CopyOptions, ImageSource, Location, Reference, Registry, RegistryOptions};
use vouch_testkit::{RegistryServer, umoci_image};

/// Relays every connection to `upstream`, counting the connections accepted.
struct CountingRelay {
    host: String,
    accepted: Arc<AtomicUsize>,
}

impl CountingRelay {
    fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let upstream = upstream.to_owned();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Self { host, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _: io::Result<()> = to.shutdown(Shutdown::Write);
    });
}

fn push(layout: &Path, dst: &str, options: &RegistryOptions) {
    let (source, selector) = vouch_oci::open_source(
        &Location::parse(&format!("oci:{}:v1", layout.display())).unwrap(),
        options,
    )
    .unwrap();
    let (sink, tag) = vouch_oci::open_sink(&Location::parse(dst).unwrap(), options).unwrap();
    vouch_oci::copy_image(
        source.as_ref(),
        &selector,
        sink.as_ref(),
        tag.as_deref(),
        &CopyOptions::default(),
        &|_| {},
    )
    .unwrap();
}

/// Lists the tags of `team/a` (opened with `options[0]`) and `team/b` (`options[1]`) through
/// the relay, three rounds, and returns the connections the relay accepted.
fn connections(registry: &RegistryServer, options: [&RegistryOptions; 2]) -> usize {
    let relay = CountingRelay::start(&registry.host);
    let repos: Vec<Registry> = ["a", "b"]
        .iter()
        .zip(options)
        .map(|(r, options)| {
            let reference = Reference::parse(&format!("{}/team/{r}:v1", relay.host)).unwrap();
            Registry::open(&reference, options, false).unwrap()
        })
        .collect();
    for _ in 0..3 {
        for repo in &repos {
            assert_eq!(repo.tags().unwrap(), vec!["v1".to_string()]);
        }
    }
    relay.accepted()
}

#[test]
fn repositories_of_one_host_share_the_shared_clients_connections() {
    let registry = RegistryServer::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = umoci_image(dir.path(), "v1", &[&[("etc/hostname", b"box\n")]]);
    let options = RegistryOptions {
        auth_files: Some(Vec::new()),
        ..Default::default()
    };
    for repo in ["a", "b"] {
        push(
            &layout,
            &format!("{}/team/{repo}:v1", registry.host),
            &options,
        );
    }

    let separate = connections(&registry, [&options, &options]);
    assert_eq!(separate, 2, "one pool per opened repository");

    let shared = options.with_shared_client().unwrap();
    assert_eq!(
        connections(&registry, [&shared, &shared]),
        1,
        "both repositories reuse one pooled connection"
    );
    // A clone of the options (as each admission worker holds) shares it too.
    let cloned = shared.clone();
    assert_eq!(connections(&registry, [&shared, &cloned]), 1);
}
