//! The crate's integration tests as one binary: one link instead of one per file keeps the
//! debug build (and CI's disk) small. Each module is one former `tests/*.rs` file.
#![allow(missing_docs, dead_code, clippy::unwrap_used, clippy::expect_used)]

mod build;
mod modes;
