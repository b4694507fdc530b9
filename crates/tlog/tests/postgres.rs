#![allow(missing_docs)]
//! The same suite against a real PostgreSQL server started by the test harness.
use crate::common;

use vouch_testkit::PostgresServer;
use vouch_tlog::{PostgresStorage, Storage};

#[test]
fn suite_on_postgres() {
    let server = PostgresServer::start();
    let url = server.url.clone();
    common::suite::run(&|| {
        Box::new(PostgresStorage::open(&url).expect("open")) as Box<dyn Storage>
    });
}
