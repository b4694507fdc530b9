#![allow(missing_docs)]
//! The suite against SQLite, plus SQLite-specific checks.
mod common;

use vouch_tlog::{SqliteStorage, Storage};

#[test]
fn suite_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    common::suite::run(&|| Box::new(SqliteStorage::open(&path).expect("open")) as Box<dyn Storage>);
}

#[test]
fn open_rejects_unknown_urls() {
    assert!(vouch_tlog::storage::open("mysql://x").is_err());
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("a.db").display());
    assert_eq!(
        vouch_tlog::storage::open(&url)
            .expect("open")
            .size()
            .expect("size"),
        0
    );
}
