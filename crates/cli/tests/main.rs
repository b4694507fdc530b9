//! The crate's integration tests as one binary: one link instead of one per file keeps the
//! debug build (and CI's disk) small. Each module is one former `tests/*.rs` file.
#![allow(missing_docs, dead_code, clippy::unwrap_used, clippy::expect_used)]

mod common;
mod peers;

mod admission_decision_log;
mod admission_manifests;
mod attest_blob;
mod ca;
mod ci_examples;
mod closed_pipe;
mod connections;
mod db_keyless;
mod dropin_cosign;
mod dropin_syft_grype;
mod hardening;
mod image;
mod image_mount;
mod keyless;
mod kms_aws;
mod kms_vault;
mod peers_cosign;
mod peers_kyverno;
mod pipeline;
mod pkcs11;
mod policy;
mod rekor_v2;
mod sbom;
mod scan;
mod scripts_image;
mod sign;
mod sign_more;
mod sign_tlog;
mod tlog;
mod tlog_v2_crash;
mod tsa;
mod tuf;
mod verify_negative;
