//! Test-only crate: its tests use sigstore-rs as an independent oracle for what vouch signs
//! (see `tests/`). It has no code of its own.
