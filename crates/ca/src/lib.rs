//! A Fulcio-compatible certificate authority for keyless signing, and a development OIDC issuer.
//!
//! * [`CertificateAuthority`]: a root and an intermediate (generated, or loaded from PEM
//!   certificates and PKCS#8 keys) and a CT log key of its own; [`CertificateAuthority::issue`]
//!   turns a public key and an [`Identity`] into a 10-minute code-signing certificate with
//!   Fulcio's profile and exactly one embedded SCT (RFC 6962 precertificate flow, [`sct`]).
//! * [`oidc`]: validation of OIDC identity tokens (RS*, PS*, ES256/384, EdDSA pinned by the
//!   issuer's JWKS found by discovery; `iss`, `aud`, `exp`, `nbf`, `iat`, skew).
//! * [`issuers`]: trusted issuers in Fulcio's configuration format (exact and wildcard issuers,
//!   CI-provider templates); [`identity`]: the claim-to-[`Identity`] mapping per issuer type.
//! * [`dev_oidc`]: a development OIDC issuer (discovery, JWKS, token endpoint) for tests and
//!   demos.
//! * [`server`]: the Fulcio v2 REST API (`/api/v2/signingCert`, `/api/v2/trustBundle`,
//!   `/api/v2/configuration`) as an axum router.
//!
//! Formats: `sigstore/fulcio:docs/certificate-specification.md`, `fulcio.proto`, RFC 6962.
//!
//! ```
//! use vouch_ca::{CertificateAuthority, Identity, San};
//! use vouch_sign::{KeyAlgorithm, SigningKey};
//!
//! let ca = CertificateAuthority::generate("example")?;
//! let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?; // the signer's ephemeral key
//! let identity = Identity {
//!     san: San::Email("alice@example.com".into()),
//!     issuer: "https://issuer.example".into(),
//!     extensions: Vec::new(),
//! };
//! let chain = ca.issue(key.public_key().spki_der(), &identity)?;
//! assert_eq!(chain.certificates.len(), 3); // leaf, intermediate, root
//! let read_back = vouch_sign::certificate_identity(chain.leaf())?;
//! assert_eq!(read_back.issuer.as_deref(), Some("https://issuer.example"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod error;
pub mod identity;
pub mod issue;
pub mod issuers;
pub mod limits;
pub(crate) mod sct;
pub mod template;

pub use error::{Error, Result};
pub use issue::{CaMaterial, CertificateAuthority, Identity, IssuedChain, San};
pub use limits::Limits;
pub mod dev_oidc;
pub mod oidc;
pub mod server;

pub use server::CaService;
