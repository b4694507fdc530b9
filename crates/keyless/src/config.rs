//! Which instance to sign with: a `ClientTrustConfig`
//! (`application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`,
//! `sigstore/protobuf-specs:protos/sigstore_trustroot.proto`), as sigstore-python's
//! `--trust-config` reads it: the signing config v0.2 names the CA, the Rekor log and the OIDC
//! issuer and the RFC 3161 timestamp authority; the trusted root is what the result is
//! checked against.
//!
//! Service selection follows sigstore-python (`sigstore/models.py` `SigningConfig`): entries
//! currently valid, with a supported `majorApiVersion` (Fulcio 1, Rekor 1), newest
//! `validFor.start` first.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use vouch_sign::TrustedRoot;
use vouch_sign::trust_root::parse_rfc3339;

use crate::error::{Error, Result};

const CLIENT_TRUST_CONFIG: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
const SIGNING_CONFIG_V0_2: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// Environment variable naming the trust config when `--trust-config` is absent.
pub const TRUST_CONFIG_ENV: &str = "VOUCH_TRUST_CONFIG";

/// The services and trust of one instance.
#[derive(Debug, Clone)]
pub struct TrustConfig {
    /// What signatures are checked against after signing.
    pub trusted_root: TrustedRoot,
    /// The CA's base URL (`/api/v2/signingCert` is appended).
    pub ca_url: String,
    /// The Rekor v1 log's base URL (`/api/v1/log/entries` is appended).
    pub log_url: String,
    /// The OIDC issuer the signing config names, if any.
    pub oidc_url: Option<String>,
    /// The RFC 3161 timestamp authority the signing config names (`tsaUrls[].url`, the URL
    /// requests are POSTed to, e.g. `https://timestamp.sigstore.dev/api/v1/timestamp`), if any.
    pub tsa_url: Option<String>,
}

impl TrustConfig {
    /// Parses a ClientTrustConfig.
    pub fn from_json(json: &[u8], limits: &vouch_sign::Limits) -> Result<Self> {
        let bad = |reason: String| Error::TrustConfig { reason };
        let value: Value =
            serde_json::from_slice(json).map_err(|e| bad(format!("not JSON: {e}")))?;
        let media_type = value["mediaType"].as_str().unwrap_or_default();
        if media_type != CLIENT_TRUST_CONFIG {
            return Err(bad(format!(
                "mediaType {media_type:?} is not {CLIENT_TRUST_CONFIG} (a bare trusted root has no service URLs)"
            )));
        }
        let trusted_root = TrustedRoot::from_json(json, limits)?;
        let signing = &value["signingConfig"];
        let signing_type = signing["mediaType"].as_str().unwrap_or_default();
        if signing_type != SIGNING_CONFIG_V0_2 {
            return Err(bad(format!(
                "signingConfig.mediaType {signing_type:?} is not {SIGNING_CONFIG_V0_2}"
            )));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ca_url = select(&signing["caUrls"], 1, now)?
            .ok_or_else(|| bad("signingConfig.caUrls has no valid Fulcio (API 1) entry".into()))?;
        let log_url = select(&signing["rekorTlogUrls"], 1, now)?.ok_or_else(|| {
            bad("signingConfig.rekorTlogUrls has no valid Rekor v1 entry (vouch signs with Rekor v1)".into())
        })?;
        let oidc_url = select(&signing["oidcUrls"], 1, now)?;
        // sigstore-python: `tsaUrls` entries with majorApiVersion 1 (timestamp-authority v1).
        let tsa_url = select(&signing["tsaUrls"], 1, now)?;
        Ok(Self {
            trusted_root,
            ca_url,
            log_url,
            oidc_url,
            tsa_url,
        })
    }

    /// Reads a ClientTrustConfig file.
    pub fn from_file(path: &Path, limits: &vouch_sign::Limits) -> Result<Self> {
        let json = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&json, limits)
    }

    /// The OIDC issuer to ask for a dev token: the signing config's issuer when it is on
    /// loopback (a vouch instance's dev issuer; a real issuer needs a browser flow).
    pub fn dev_issuer(&self) -> Option<&str> {
        self.oidc_url.as_deref().filter(|u| is_loopback_url(u))
    }
}

/// The newest currently valid service with `majorApiVersion == version`.
fn select(services: &Value, version: u64, now: u64) -> Result<Option<String>> {
    let Some(list) = services.as_array() else {
        return Ok(None);
    };
    let mut best: Option<(u64, String)> = None;
    for service in list {
        if service["majorApiVersion"].as_u64() != Some(version) {
            continue;
        }
        let Some(url) = service["url"].as_str() else {
            continue;
        };
        let bound = |field: &str| -> Result<Option<u64>> {
            service["validFor"][field]
                .as_str()
                .map(parse_rfc3339)
                .transpose()
                .map_err(Error::from)
        };
        let start = bound("start")?.unwrap_or(0);
        let end = bound("end")?;
        if start > now || end.is_some_and(|e| e < now) {
            continue;
        }
        if best.as_ref().is_none_or(|(s, _)| start > *s) {
            best = Some((start, url.trim_end_matches('/').to_owned()));
        }
    }
    Ok(best.map(|(_, url)| url))
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    vouch_http::is_loopback(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_the_newest_valid_supported_service() {
        let services = serde_json::json!([
            {"url": "https://old", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}},
            {"url": "https://new/", "majorApiVersion": 1, "validFor": {"start": "2022-01-01T00:00:00Z"}},
            {"url": "https://v2", "majorApiVersion": 2, "validFor": {"start": "2023-01-01T00:00:00Z"}},
            {"url": "https://ended", "majorApiVersion": 1,
             "validFor": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"}},
            {"url": "https://future", "majorApiVersion": 1, "validFor": {"start": "2999-01-01T00:00:00Z"}},
        ]);
        let now = parse_rfc3339("2025-01-01T00:00:00Z").expect("time");
        assert_eq!(
            select(&services, 1, now).expect("select").as_deref(),
            Some("https://new")
        );
        assert_eq!(select(&services, 3, now).expect("select"), None);
    }

    #[test]
    fn loopback_urls() {
        assert!(is_loopback_url("http://127.0.0.1:5556"));
        assert!(is_loopback_url("http://localhost/x"));
        assert!(is_loopback_url("http://[::1]:80"));
        assert!(!is_loopback_url("https://oauth2.sigstore.dev/auth"));
    }
}
