//! Which instance to sign with: a `ClientTrustConfig`
//! (`application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`,
//! `sigstore/protobuf-specs:protos/sigstore_trustroot.proto`), as sigstore-python's
//! `--trust-config` reads it: the signing config v0.2 names the CA, the Rekor log and the OIDC
//! issuer and the RFC 3161 timestamp authority; the trusted root is what the result is
//! checked against.
//!
//! Service selection follows sigstore-python 4.x (`sigstore/models.py`
//! `SigningConfig._get_valid_services`): entries currently valid with a supported
//! `majorApiVersion` (Fulcio 1, Rekor 1 or 2, TSA 1), one per `operator` (its highest API
//! version, then the newest `validFor.start`), then pruned by the `ServiceConfiguration`
//! selector (`ALL`: every one; `ANY`: the first; `EXACT`: `count` of them, fewer is an error).
//! Logs are selected as sigstore-go's `root.SelectServices` (what cosign v3 signs with) also
//! does: only services of the highest API version any operator offers (a Rekor v2 log and a
//! Rekor v1 log of another operator: the v2 one).
//!
//! vouch signs into every selected log, as sigstore-go's `sign.Bundle` does (one tlog entry
//! each; sigstore-python 4.x signs into the first only), and asks every selected TSA for a
//! timestamp, so a config listing two logs with `rekorTlogConfig.selector: ALL` yields bundles
//! that pass `--tlog-threshold 2`, and two TSAs `--timestamp-threshold 2`. A Rekor v2 log gives
//! no signed time of its own (`sigstore/architecture-docs:rekor-v2-spec.md`), so it needs at
//! least one TSA.

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
    /// The CA's base URL (`/api/v2/signingCert` is appended): keyless signing needs one
    /// ([`crate::KeylessSigner::new`] refuses a config without), key signing does not (cosign
    /// v3 selects a CA only for an identity token: `pkg/cosign/bundle/sign.go` `SignData`).
    pub ca_url: Option<String>,
    /// The logs every signature is uploaded to, in signing config order (at least one).
    pub logs: Vec<LogService>,
    /// The OIDC issuer the signing config names, if any.
    pub oidc_url: Option<String>,
    /// The RFC 3161 timestamp authorities selected (`tsaUrls[].url`, the URL requests are
    /// POSTed to, e.g. `https://timestamp.sigstore.dev/api/v1/timestamp`); each signature gets
    /// a timestamp from every one. Empty: the log's integrated time is the signing time.
    pub tsa_urls: Vec<String>,
}

/// A selected transparency log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogService {
    /// Base URL (`/api/v1/log/entries` or `/api/v2/log/entries` is appended).
    pub url: String,
    /// Its API (`majorApiVersion` of the signing config entry).
    pub api: RekorApi,
}

/// Which Rekor API a log speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekorApi {
    /// Rekor v1 (`POST /api/v1/log/entries`, `hashedrekord`/`dsse` 0.0.1, SET + proof).
    V1,
    /// Rekor v2 (`POST /api/v2/log/entries`, `hashedrekord` 0.0.2, proof + checkpoint, no
    /// signed time: `sigstore/rekor-tiles:CLIENTS.md`).
    V2,
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
        Self::from_signing_value(&value["signingConfig"], "signingConfig.", trusted_root)
    }

    /// A bare `SigningConfig` v0.2 (`application/vnd.dev.sigstore.signingconfig.v0.2+json`, as
    /// cosign v3's `--signing-config` reads it) with the trusted root its results are checked
    /// against (cosign v3's `--trusted-root`).
    pub fn from_signing_config(json: &[u8], trusted_root: TrustedRoot) -> Result<Self> {
        let value: Value = serde_json::from_slice(json).map_err(|e| Error::TrustConfig {
            reason: format!("signing config is not JSON: {e}"),
        })?;
        Self::from_signing_value(&value, "", trusted_root)
    }

    /// `signing` is a SigningConfig v0.2; `at` prefixes its field names in errors.
    fn from_signing_value(signing: &Value, at: &str, trusted_root: TrustedRoot) -> Result<Self> {
        let bad = |reason: String| Error::TrustConfig { reason };
        let signing_type = signing["mediaType"].as_str().unwrap_or_default();
        if signing_type != SIGNING_CONFIG_V0_2 {
            return Err(bad(format!(
                "{at}mediaType {signing_type:?} is not {SIGNING_CONFIG_V0_2}"
            )));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ca_url = select(&signing["caUrls"], &[1], &Value::Null, now)?
            .into_iter()
            .next()
            .map(|s| s.url);
        let logs: Vec<LogService> = select(
            &signing["rekorTlogUrls"],
            &[1, 2],
            &signing["rekorTlogConfig"],
            now,
        )?
        .into_iter()
        .map(|s| LogService {
            url: s.url,
            api: if s.major_api_version == 2 {
                RekorApi::V2
            } else {
                RekorApi::V1
            },
        })
        .collect();
        if logs.is_empty() {
            return Err(bad(format!(
                "{at}rekorTlogUrls has no valid Rekor entry (majorApiVersion 1 or 2)"
            )));
        }
        let oidc_url = select(&signing["oidcUrls"], &[1], &Value::Null, now)?
            .into_iter()
            .next()
            .map(|s| s.url);
        // sigstore-python: `tsaUrls` entries with majorApiVersion 1 (timestamp-authority v1).
        let tsa_urls: Vec<String> = select(&signing["tsaUrls"], &[1], &signing["tsaConfig"], now)?
            .into_iter()
            .map(|s| s.url)
            .collect();
        if let Some(v2) = logs.iter().find(|l| l.api == RekorApi::V2)
            && tsa_urls.is_empty()
        {
            return Err(bad(format!(
                "{at}rekorTlogUrls selects the Rekor v2 log {} but tsaUrls has no valid timestamp authority: a Rekor v2 entry carries no signed time, so a signature needs an RFC 3161 timestamp",
                v2.url
            )));
        }
        Ok(Self {
            trusted_root,
            ca_url,
            logs,
            oidc_url,
            tsa_urls,
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

/// A selected service.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Service {
    url: String,
    major_api_version: u64,
}

/// sigstore-python's `_get_valid_services`: currently valid services with a supported
/// `majorApiVersion`, one per `operator` (highest API version, then newest `validFor.start`),
/// in order of the operators' first appearance, of the highest API version among them
/// (sigstore-go), pruned by `config` (a `ServiceConfiguration`; absent = `ALL`; `ANY` takes
/// the first where sigstore-go picks at random).
fn select(services: &Value, versions: &[u64], config: &Value, now: u64) -> Result<Vec<Service>> {
    let Some(list) = services.as_array() else {
        return Ok(Vec::new());
    };
    // (operator, best so far as (version, start, url))
    let mut by_operator: Vec<(String, (u64, u64, String))> = Vec::new();
    for service in list {
        let Some(version) = service["majorApiVersion"]
            .as_u64()
            .filter(|v| versions.contains(v))
        else {
            continue;
        };
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
        let operator = service["operator"].as_str().unwrap_or_default().to_owned();
        let candidate = (version, start, url.trim_end_matches('/').to_owned());
        match by_operator.iter_mut().find(|(o, _)| *o == operator) {
            Some((_, best)) => {
                if (candidate.0, candidate.1) > (best.0, best.1) {
                    *best = candidate;
                }
            }
            None => by_operator.push((operator, candidate)),
        }
    }
    // sigstore-go `SelectServices`: services of one API version only, the highest offered
    // (sigstore-python would mix versions across operators, but signs into one log only).
    let highest = by_operator
        .iter()
        .map(|(_, b)| b.0)
        .max()
        .unwrap_or_default();
    let result: Vec<Service> = by_operator
        .into_iter()
        .filter(|(_, best)| best.0 == highest)
        .map(|(_, (major_api_version, _, url))| Service {
            url,
            major_api_version,
        })
        .collect();
    let selector = config["selector"].as_str().unwrap_or("ALL");
    let count = match selector {
        "ALL" | "SERVICE_SELECTOR_UNDEFINED" => return Ok(result),
        "ANY" => 1,
        "EXACT" => {
            let count = config["count"].as_u64().filter(|c| *c > 0).unwrap_or(1);
            if (result.len() as u64) < count {
                return Err(Error::TrustConfig {
                    reason: format!(
                        "the signing config asks for EXACT {count} services but lists {} valid ones",
                        result.len()
                    ),
                });
            }
            usize::try_from(count).unwrap_or(usize::MAX)
        }
        other => {
            return Err(Error::TrustConfig {
                reason: format!("unknown service selector {other:?} (ALL, ANY or EXACT)"),
            });
        }
    };
    Ok(result.into_iter().take(count).collect())
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
        let urls = |versions: &[u64], config: &Value| -> Vec<String> {
            select(&services, versions, config, now)
                .expect("select")
                .into_iter()
                .map(|s| s.url)
                .collect()
        };
        // One operator (absent = ""): the highest supported version, then the newest start.
        assert_eq!(urls(&[1], &Value::Null), ["https://new"]);
        assert_eq!(urls(&[1, 2], &Value::Null), ["https://v2"]);
        assert!(urls(&[3], &Value::Null).is_empty());
    }

    #[test]
    fn one_service_per_operator_pruned_by_the_selector() {
        let services = serde_json::json!([
            {"url": "https://a", "majorApiVersion": 1, "operator": "a"},
            {"url": "https://b", "majorApiVersion": 1, "operator": "b"},
            {"url": "https://a2", "majorApiVersion": 1, "operator": "a",
             "validFor": {"start": "2024-01-01T00:00:00Z"}},
        ]);
        let now = parse_rfc3339("2025-01-01T00:00:00Z").expect("time");
        let urls = |config: Value| -> Result<Vec<String>> {
            Ok(select(&services, &[1], &config, now)?
                .into_iter()
                .map(|s| s.url)
                .collect())
        };
        let all = serde_json::json!({"selector": "ALL"});
        assert_eq!(urls(all).expect("all"), ["https://a2", "https://b"]);
        assert_eq!(
            urls(Value::Null).expect("absent"),
            ["https://a2", "https://b"]
        );
        let any = serde_json::json!({"selector": "ANY"});
        assert_eq!(urls(any).expect("any"), ["https://a2"]);
        let exact = serde_json::json!({"selector": "EXACT", "count": 2});
        assert_eq!(urls(exact).expect("exact"), ["https://a2", "https://b"]);
        let too_many = serde_json::json!({"selector": "EXACT", "count": 3});
        assert!(
            urls(too_many)
                .expect_err("3 of 2")
                .to_string()
                .contains("EXACT 3")
        );
        let unknown = serde_json::json!({"selector": "SOME"});
        assert!(urls(unknown).is_err());
    }

    #[test]
    fn only_the_highest_api_version_across_operators_is_selected() {
        let services = serde_json::json!([
            {"url": "https://v1-a", "majorApiVersion": 1, "operator": "a"},
            {"url": "https://v2-b", "majorApiVersion": 2, "operator": "b"},
            {"url": "https://v2-c", "majorApiVersion": 2, "operator": "c"},
        ]);
        let now = parse_rfc3339("2025-01-01T00:00:00Z").expect("time");
        let urls: Vec<String> = select(&services, &[1, 2], &Value::Null, now)
            .expect("select")
            .into_iter()
            .map(|s| s.url)
            .collect();
        assert_eq!(urls, ["https://v2-b", "https://v2-c"]);
        let v1: Vec<String> = select(&services, &[1], &Value::Null, now)
            .expect("select")
            .into_iter()
            .map(|s| s.url)
            .collect();
        assert_eq!(v1, ["https://v1-a"]);
    }

    #[test]
    fn loopback_urls() {
        assert!(is_loopback_url("http://127.0.0.1:5556"));
        assert!(is_loopback_url("http://localhost/x"));
        assert!(is_loopback_url("http://[::1]:80"));
        assert!(!is_loopback_url("https://oauth2.sigstore.dev/auth"));
    }
}
