//! The whole vouch pipeline as one step.
//!
//! * [`run`] runs the stages ([`Stage`]) in order on an image **digest**: (build) -> SBOM ->
//!   scan (`fail_on`) -> sign -> attest SBOM (-> attest provenance) -> verify against the
//!   expected signer -> (admission policy). It returns a [`Report`]: one [`StageResult`] per
//!   stage (a failed stage stops the run and names itself), findings, packages,
//!   attestations, log entries and admission decisions; artifacts go to the plan's `out_dir`.
//! * [`Signing`]: a run signs with an [`ImageSigner`] or only verifies. [`KeySigner`] signs
//!   with any `vouch_sign::Signer` (key file, PKCS#11 token, KMS key, ephemeral key);
//!   [`keyless::Keyless`] gets a short-lived certificate per signature (OIDC identity -> CA
//!   -> log entry). Both go through vouch-sign's one signing seam.
//! * [`config::Config`] reads `vouch.toml`.
//! * [`registry::LocalRegistry`]: a minimal in-process OCI registry on loopback (the admission
//!   verifier reads signatures from a registry; the demo needs one without `docker-registry`).
//! * [`demo::run_demo`]: everything with nothing else running.
//! * [`html::render`]: the self-contained HTML report.
#![forbid(unsafe_code)]

pub mod config;
pub mod demo;
mod error;
pub mod html;
pub mod keyless;
pub mod registry;
mod run;

pub use error::{Error, Result};
pub use run::{
    AttestationRow, BuildPlan, Decision, Event, Expect, ImageSigner, KeySigner, LogEntryRow,
    PackageRow, Plan, PolicyPlan, Report, SignResult, Signing, Stage, StageResult, Status,
    Timestamps, Vulnerability, admission, import_advisories, load_policy, run,
};
