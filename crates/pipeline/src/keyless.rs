//! Keyless signing through `vouch-keyless`: an OIDC identity token is exchanged for a
//! short-lived certificate over an ephemeral key at the CA, and every signature is logged in
//! the transparency log. Each signature and attestation gets its own certificate (as each
//! `cosign sign` / `cosign attest` invocation does).

use serde_json::Value;
use vouch_keyless::{IdentityToken, KeylessSigner, TrustConfig};
use vouch_sign::oci::{ImageTarget, SignatureFormat, Store};

use crate::run::{ImageSigner, SignResult};

/// Signs as the identity in `token`, with the CA and log of `config`.
pub struct Keyless {
    signer: KeylessSigner,
    token: IdentityToken,
}

impl Keyless {
    /// A signer for one instance and one identity.
    pub fn new(config: TrustConfig, token: IdentityToken) -> vouch_keyless::Result<Self> {
        Ok(Self {
            signer: KeylessSigner::new(config)?,
            token,
        })
    }

    /// A signer for `config`'s instance whose identity token is found as `vouch sign
    /// --keyless` finds it ([`vouch_keyless::token::resolve`]: explicit, `$SIGSTORE_ID_TOKEN`,
    /// GitHub Actions, the instance's loopback dev issuer).
    pub fn resolve(config: TrustConfig, explicit: Option<String>) -> vouch_keyless::Result<Self> {
        let options = vouch_keyless::token::TokenOptions {
            explicit,
            dev_issuer: config.dev_issuer().map(str::to_owned),
        };
        let signer = KeylessSigner::new(config)?;
        let token = vouch_keyless::token::resolve(&options, signer.http())?;
        Ok(Self { signer, token })
    }

    /// The instance.
    pub fn config(&self) -> &TrustConfig {
        self.signer.config()
    }
}

impl ImageSigner for Keyless {
    fn identity(&self) -> String {
        format!("{} ({})", self.token.principal(), self.token.issuer)
    }

    fn sign(&self, store: &Store<'_>, target: &ImageTarget, format: SignatureFormat) -> SignResult {
        let session = self.signer.certify(&self.token)?;
        Ok(session.sign_image(store, target, format, &Default::default())?)
    }

    fn attest(
        &self,
        store: &Store<'_>,
        target: &ImageTarget,
        format: SignatureFormat,
        predicate_type: &str,
        predicate: Value,
    ) -> SignResult {
        let session = self.signer.certify(&self.token)?;
        Ok(session.attest_image(store, target, format, predicate_type, predicate)?)
    }
}
