//! Admission policies for vouch: Kyverno `verifyImages` rules and policy-controller
//! `ClusterImagePolicy`s read as users write them,
//! applied to Kubernetes resources, verified offline.
//!
//! * [`kyverno`]: the `ClusterPolicy` / `Policy` model ([`Policy`], [`ImageVerification`],
//!   [`AttestorSet`], [`Attestor`]) and [`Policy::validate`], which reports the mistakes
//!   Kyverno rejects with their field paths.
//! * [`image`]: [`ImageInfo`] (Kyverno's normalisation: `docker.io/` without `library/`, the
//!   tag dropped when a digest is present) and [`wildcard_match`].
//! * [`resource`]: [`Resource`] and the images of Pods and of the pod templates of
//!   Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs, with JSON
//!   pointers; [`parse_documents`] reads multi-document YAML.
//! * [`conditions`]: attestation conditions (Kyverno operators, a JMESPath subset).
//! * [`cip`]: sigstore policy-controller [`ClusterImagePolicy`] (v1beta1/v1alpha1) with its
//!   validation; evaluated through the same verifier.
//! * [`eval`]: [`apply`] evaluates rules against a resource through an [`ImageVerifier`];
//!   [`SigstoreVerifier`] is the real one (vouch-sign against the image's registry).
//!
//! ```
//! use vouch_policy::{Documents, Limits, parse_documents};
//! let yaml = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    verifyImages:\n    - imageReferences: ['ghcr.io/acme/*']\n      mutateDigest: false\n      attestors: [{entries: [{keyless: {subject: 'ci@acme.example', issuer: 'https://issuer.example', rekor: {url: 'https://rekor.example'}}}]}]\n";
//! let mut docs = Documents::default();
//! docs.add(parse_documents(yaml, "policy.yaml", &Limits::default())?, "policy.yaml")?;
//! assert!(docs.policies[0].validate().is_empty());
//! # Ok::<(), vouch_policy::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod cip;
pub mod conditions;
mod error;
pub mod eval;
pub mod image;
pub mod kyverno;
pub mod pattern;
pub mod resource;
mod sigstore;
pub mod strict;
pub mod trust;

pub use cip::ClusterImagePolicy;
pub use error::{Error, Problem, Result};
pub use eval::{
    CheckError, Decision, Evidence, ImageVerifier, NoMatch, Options, Phase, PolicySet,
    ResourceReport, RuleResult, Signer, Status, VerifiedStatement, apply, evaluate,
};
pub use image::{ImageInfo, glob_match, wildcard_match};
pub use kyverno::{Attestor, AttestorKind, AttestorSet, ImageVerification, Policy};
pub use resource::{Documents, Resource, parse_documents};
pub use sigstore::{CheckKey, CheckOutcome, SigstoreVerifier};
/// Where signatures are stored: cosign's legacy tags or Sigstore bundles as OCI referrers.
pub use vouch_sign::oci::Scheme;

/// Bounds on untrusted input (policy and resource files, admission bodies).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of one input file. 16 MiB: far above any real manifest bundle, well below memory
    /// trouble (Kubernetes itself caps objects at about 1.5 MB in etcd).
    pub max_file_bytes: usize,
    /// Documents in one file. 10,000 covers a whole cluster dump.
    pub max_documents: usize,
    /// Containers in one resource. Kubernetes has no hard cap; 256 is far beyond real pods and
    /// bounds the verification work one object can cause.
    pub max_containers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 16 << 20,
            max_documents: 10_000,
            max_containers: 256,
        }
    }
}
