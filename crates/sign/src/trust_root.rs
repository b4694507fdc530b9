//! `trusted_root.json` (`sigstore/protobuf-specs:protos/sigstore_trustroot.proto`): the only source
//! of trust for verification. Certificate authorities with their chains and validity windows,
//! transparency logs, CT logs and timestamp authorities.
//!
//! A `ClientTrustConfig` (`application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`, as
//! sigstore-python's `--trust-config`) is accepted too; its `trustedRoot` is used.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use crate::bundle::{RawCertChain, RawLogId};
use crate::error::{Error, Result};
use crate::keys::VerifyingKey;
use crate::limits::{self, Limits};

const TRUSTED_ROOT_MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    "application/vnd.dev.sigstore.trustedroot.v0.1+json",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
];
const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// A validity window in unix seconds, inclusive at both ends (`validFor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Validity {
    /// Start, if bounded.
    pub start: Option<u64>,
    /// End, if bounded.
    pub end: Option<u64>,
}

impl Validity {
    /// True when `t` lies inside the window.
    pub fn contains(&self, t: u64) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }
}

/// A transparency log or CT log.
#[derive(Debug, Clone)]
pub struct TransparencyLog {
    /// `baseUrl`.
    pub base_url: String,
    /// `logId.keyId`.
    pub log_id: Vec<u8>,
    /// `publicKey.keyDetails`.
    pub key_details: String,
    /// The key, or `None` when its algorithm is not supported (such a log never verifies).
    pub key: Option<VerifyingKey>,
    /// `publicKey.validFor`.
    pub valid_for: Validity,
}

/// A certificate authority or timestamp authority.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    /// `uri`.
    pub uri: String,
    /// DER certificates, leaf-most first; the last one is the trust anchor.
    pub chain: Vec<Vec<u8>>,
    /// `validFor`.
    pub valid_for: Validity,
}

/// A parsed trusted root.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoot {
    /// Rekor logs.
    pub tlogs: Vec<TransparencyLog>,
    /// Certificate transparency logs.
    pub ctlogs: Vec<TransparencyLog>,
    /// Fulcio instances.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

impl TrustedRoot {
    /// Parses a trusted root (or a client trust config wrapping one).
    pub fn from_json(json: &[u8], limits: &Limits) -> Result<Self> {
        limits::check("trusted root", limits.max_trusted_root_bytes, json.len())?;
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| Error::malformed("trusted root", e))?;
        let media_type = value
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or_default();
        let root_value = if media_type == CLIENT_TRUST_CONFIG_MEDIA_TYPE {
            value
                .get("trustedRoot")
                .cloned()
                .ok_or(Error::MissingField {
                    what: "client trust config",
                    field: "trustedRoot",
                })?
        } else {
            value
        };
        let raw: RawTrustedRoot =
            serde_json::from_value(root_value).map_err(|e| Error::malformed("trusted root", e))?;
        if !TRUSTED_ROOT_MEDIA_TYPES.contains(&raw.media_type.as_str()) {
            return Err(Error::UnsupportedMediaType {
                what: "trusted root",
                media_type: raw.media_type,
            });
        }
        Ok(Self {
            tlogs: raw
                .tlogs
                .into_iter()
                .map(log_from_raw)
                .collect::<Result<_>>()?,
            ctlogs: raw
                .ctlogs
                .into_iter()
                .map(log_from_raw)
                .collect::<Result<_>>()?,
            certificate_authorities: raw
                .certificate_authorities
                .into_iter()
                .map(|ca| ca_from_raw(ca, limits))
                .collect::<Result<_>>()?,
            timestamp_authorities: raw
                .timestamp_authorities
                .into_iter()
                .map(|ca| ca_from_raw(ca, limits))
                .collect::<Result<_>>()?,
        })
    }

    /// The transparency log with this log ID.
    pub fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }

    /// The CT logs with this log ID.
    pub fn ctlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.ctlogs.iter().find(|l| l.log_id == log_id)
    }
}

fn log_from_raw(raw: RawLog) -> Result<TransparencyLog> {
    let pk = raw.public_key.ok_or(Error::MissingField {
        what: "trusted root log",
        field: "publicKey",
    })?;
    let valid_for = pk.valid_for.as_ref().map(validity_from_raw).transpose()?;
    // A log without a validity start is rejected (conformance
    // `trust-root-tlog-missing-validity-start_fail`).
    let valid_for = match valid_for {
        Some(v) if v.start.is_some() => v,
        _ => {
            return Err(Error::MissingField {
                what: "trusted root log key",
                field: "validFor.start",
            });
        }
    };
    let der = pk
        .raw_bytes
        .as_deref()
        .map(|b| {
            B64.decode(b)
                .map_err(|e| Error::malformed("log publicKey rawBytes", e))
        })
        .transpose()?;
    let key = der
        .as_deref()
        .and_then(|d| VerifyingKey::from_spki_der(d).ok());
    let log_id = raw.log_id.ok_or(Error::MissingField {
        what: "trusted root log",
        field: "logId",
    })?;
    Ok(TransparencyLog {
        base_url: raw.base_url.unwrap_or_default(),
        log_id: B64
            .decode(&log_id.key_id)
            .map_err(|e| Error::malformed("logId.keyId", e))?,
        key_details: pk.key_details.unwrap_or_default(),
        key,
        valid_for,
    })
}

fn ca_from_raw(raw: RawCa, limits: &Limits) -> Result<CertificateAuthority> {
    let chain = raw.cert_chain.map(|c| c.certificates).unwrap_or_default();
    limits::check("CA certificate chain", limits.max_chain_len, chain.len())?;
    if chain.is_empty() {
        return Err(Error::MissingField {
            what: "trusted root certificate authority",
            field: "certChain.certificates",
        });
    }
    Ok(CertificateAuthority {
        uri: raw.uri.unwrap_or_default(),
        chain: chain
            .iter()
            .map(|c| {
                B64.decode(&c.raw_bytes)
                    .map_err(|e| Error::malformed("CA rawBytes", e))
            })
            .collect::<Result<_>>()?,
        valid_for: raw
            .valid_for
            .as_ref()
            .map(validity_from_raw)
            .transpose()?
            .unwrap_or_default(),
    })
}

fn validity_from_raw(raw: &RawValidity) -> Result<Validity> {
    Ok(Validity {
        start: raw.start.as_deref().map(parse_rfc3339).transpose()?,
        end: raw.end.as_deref().map(parse_rfc3339).transpose()?,
    })
}

/// Parses an RFC 3339 timestamp (`2021-01-12T11:53:27Z`, fractional seconds and numeric offsets
/// allowed) to unix seconds, truncating fractions.
pub fn parse_rfc3339(s: &str) -> Result<u64> {
    let bad = || Error::malformed("RFC 3339 timestamp", s);
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32> {
        let part = s.get(r).ok_or_else(bad)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..).ok_or_else(bad)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = frac.get(digits..).ok_or_else(bad)?;
    }
    let offset: i64 = match rest {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && (tz.starts_with('+') || tz.starts_with('-'))
            && tz.get(3..4) == Some(":") =>
        {
            let hh: i64 = tz.get(1..3).ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let mm: i64 = tz.get(4..6).ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (hh * 3600 + mm * 60)
        }
        _ => return Err(bad()),
    };
    let year = u16::try_from(year).map_err(|_| bad())?;
    let narrow = |v: u32| u8::try_from(v).map_err(|_| bad());
    let dt = der::DateTime::new(
        year,
        narrow(month)?,
        narrow(day)?,
        narrow(hour)?,
        narrow(minute)?,
        narrow(second)?,
    )
    .map_err(|_| bad())?;
    let local = i64::try_from(dt.unix_duration().as_secs()).map_err(|_| bad())?;
    u64::try_from(local - offset).map_err(|_| bad())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrustedRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    base_url: Option<String>,
    public_key: Option<RawPublicKey>,
    log_id: Option<RawLogId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: Option<String>,
    key_details: Option<String>,
    valid_for: Option<RawValidity>,
}

#[derive(Deserialize)]
struct RawValidity {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    uri: Option<String>,
    cert_chain: Option<RawCertChain>,
    valid_for: Option<RawValidity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").ok(), Some(0));
        assert_eq!(
            parse_rfc3339("2021-01-12T11:53:27Z").ok(),
            Some(1_610_452_407)
        );
        assert_eq!(
            parse_rfc3339("2021-01-12T11:53:27.000Z").ok(),
            Some(1_610_452_407)
        );
        assert_eq!(
            parse_rfc3339("2021-01-12T12:53:27+01:00").ok(),
            Some(1_610_452_407)
        );
        for bad in [
            "2021-01-12",
            "2021-01-12T11:53:27",
            "2021-13-12T11:53:27Z",
            "2021-01-12T11:53:27.Z",
            "２０21-01-12T11:53:27Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validity_is_inclusive() {
        let v = Validity {
            start: Some(10),
            end: Some(20),
        };
        assert!(v.contains(10) && v.contains(20) && !v.contains(9) && !v.contains(21));
        assert!(Validity::default().contains(0));
    }
}
