//! SBOM documents: writing an [`Sbom`] as SPDX 2.3 JSON or tag-value, CycloneDX 1.6 JSON or
//! XML, syft JSON, a GitHub dependency snapshot, a purl list, a table or vouch JSON; and
//! reading SPDX, CycloneDX (vouch's or syft's), syft JSON and vouch JSON back.
//!
//! Output is deterministic apart from what must be unique per document (the SPDX
//! namespace and CycloneDX serial number, both from one random UUID) and the creation
//! time; [`Stamp`] holds those two so that tests and reproducible pipelines can fix them.

mod cyclonedx;
mod cyclonedx_xml;
mod github;
mod spdx;
mod spdx_tv;
mod syftjson;
mod table;

pub use syftjson::SCHEMA_VERSION as SYFT_JSON_SCHEMA_VERSION;

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::model::Sbom;

pub use table::table;

/// Output formats, named as syft names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SPDX 2.3 JSON (`spdx-json`).
    SpdxJson,
    /// SPDX 2.3 tag-value (`spdx-tag-value`, also `spdx`).
    SpdxTagValue,
    /// CycloneDX 1.6 JSON (`cyclonedx-json`).
    CycloneDxJson,
    /// CycloneDX 1.6 XML (`cyclonedx-xml`, also `cyclonedx`).
    CycloneDxXml,
    /// syft's own JSON, schema 16.1.13 (`syft-json`).
    SyftJson,
    /// A GitHub dependency submission API snapshot (`github-json`, also `github`).
    GithubJson,
    /// Package URLs, one a line (`purls`).
    Purls,
    /// A table for people (`table`).
    Table,
    /// vouch's own JSON: the package model as it is (`json`).
    Json,
}

impl Format {
    /// Every format.
    pub const ALL: [Self; 9] = [
        Self::SpdxJson,
        Self::SpdxTagValue,
        Self::CycloneDxJson,
        Self::CycloneDxXml,
        Self::SyftJson,
        Self::GithubJson,
        Self::Purls,
        Self::Table,
        Self::Json,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::SpdxJson => "spdx-json",
            Self::SpdxTagValue => "spdx-tag-value",
            Self::CycloneDxJson => "cyclonedx-json",
            Self::CycloneDxXml => "cyclonedx-xml",
            Self::SyftJson => "syft-json",
            Self::GithubJson => "github-json",
            Self::Purls => "purls",
            Self::Table => "table",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    /// syft's names and aliases (`syft/format/*/encoder.go` `ID()` and `Aliases()`); a
    /// `@VERSION` suffix is accepted only for the version vouch writes.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "spdx-json" | "spdx-json@2.3" => Ok(Self::SpdxJson),
            "spdx-tag-value" | "spdx-tv" | "spdx" | "spdx-tag-value@2.3" => Ok(Self::SpdxTagValue),
            "cyclonedx-json" | "cyclonedx-json@1.6" | "cdx-json" => Ok(Self::CycloneDxJson),
            "cyclonedx-xml" | "cyclonedx" | "cyclone" | "cdx" | "cyclonedx-xml@1.6" => {
                Ok(Self::CycloneDxXml)
            }
            "syft-json" | "syft-json@16.1.13" => Ok(Self::SyftJson),
            "github-json" | "github" => Ok(Self::GithubJson),
            "purls" | "purl" => Ok(Self::Purls),
            "table" | "syft-table" => Ok(Self::Table),
            "json" | "vouch-json" => Ok(Self::Json),
            other => Err(Error::Unsupported(format!(
                "unknown SBOM format {other:?} (syft-json, spdx-json, spdx-tag-value, \
                 cyclonedx-json, cyclonedx-xml, github-json, purls, table, json)"
            ))),
        }
    }
}

/// The per-document unique parts: a UUID and a creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Lower-case hyphenated UUID (version 4 when random).
    pub uuid: String,
    /// RFC 3339 UTC time, seconds precision (`2026-01-02T03:04:05Z`).
    pub created: String,
}

impl Stamp {
    /// A random UUID and the current time.
    pub fn now() -> Self {
        let mut b = [0u8; 16];
        // Without an entropy source the time is the best uniqueness left.
        if getrandom::fill(&mut b).is_err() {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            b = t.to_le_bytes();
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        );
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            uuid,
            created: rfc3339(secs),
        }
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Encodes with a fresh [`Stamp`].
pub fn encode(sbom: &Sbom, format: Format) -> Result<Vec<u8>> {
    encode_with(sbom, format, &Stamp::now())
}

/// Encodes with the given UUID and time.
pub fn encode_with(sbom: &Sbom, format: Format, stamp: &Stamp) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_with(sbom, format, stamp, &mut out)?;
    Ok(out)
}

/// Writes the document to `w` as it is produced (a large vouch JSON never sits whole in
/// memory), ending with a newline.
pub fn write_with(
    sbom: &Sbom,
    format: Format,
    stamp: &Stamp,
    w: &mut dyn std::io::Write,
) -> Result<()> {
    // serde_json's conversion hands back the writer's own io::Error (a closed pipe stays
    // BrokenPipe, which the CLI treats as a quiet exit); io::Error::other would hide it.
    let json = |e: serde_json::Error| Error::Io(e.into());
    match format {
        Format::SpdxJson => {
            serde_json::to_writer_pretty(&mut *w, &spdx::encode(sbom, stamp)).map_err(json)?
        }
        Format::CycloneDxJson => {
            serde_json::to_writer_pretty(&mut *w, &cyclonedx::encode(sbom, stamp)).map_err(json)?
        }
        Format::SyftJson => {
            serde_json::to_writer_pretty(&mut *w, &syftjson::encode(sbom)).map_err(json)?
        }
        Format::GithubJson => {
            serde_json::to_writer_pretty(&mut *w, &github::encode(sbom, stamp)).map_err(json)?
        }
        Format::SpdxTagValue => {
            return Ok(w.write_all(spdx_tv::render(&spdx::encode(sbom, stamp)).as_bytes())?);
        }
        Format::CycloneDxXml => {
            let xml = cyclonedx_xml::render(&cyclonedx::encode(sbom, stamp))?;
            return Ok(w.write_all(xml.as_bytes())?);
        }
        Format::Purls => return Ok(w.write_all(github::purls(sbom).as_bytes())?),
        Format::Json => serde_json::to_writer_pretty(
            &mut *w,
            &VouchJsonRef {
                vouch_sbom: 1,
                sbom,
            },
        )
        .map_err(json)?,
        Format::Table => return Ok(w.write_all(table(sbom).as_bytes())?),
    }
    w.write_all(b"\n")?;
    Ok(())
}

/// Renders a CycloneDX 1.6 JSON document (an SBOM, or a vulnerability report with
/// `vulnerabilities`) as CycloneDX 1.6 XML.
pub fn cyclonedx_json_to_xml(doc: &serde_json::Value) -> Result<String> {
    cyclonedx_xml::render(doc)
}

/// vouch JSON as written: the model, borrowed, with a format marker.
#[derive(serde::Serialize)]
struct VouchJsonRef<'a> {
    vouch_sbom: u32,
    #[serde(flatten)]
    sbom: &'a Sbom,
}

/// vouch JSON as read.
#[derive(serde::Deserialize)]
struct VouchJson {
    vouch_sbom: u32,
    #[serde(flatten)]
    sbom: Sbom,
}

/// Which document format a JSON SBOM is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// SPDX 2.x JSON.
    Spdx,
    /// CycloneDX JSON.
    CycloneDx,
    /// vouch JSON.
    Vouch,
    /// syft JSON.
    Syft,
}

/// Tells the format of a document from its top-level keys.
pub fn detect(v: &serde_json::Value) -> Option<DocumentKind> {
    if v.get("spdxVersion").is_some() {
        Some(DocumentKind::Spdx)
    } else if v.get("bomFormat").and_then(|b| b.as_str()) == Some("CycloneDX") {
        Some(DocumentKind::CycloneDx)
    } else if v.get("vouch_sbom").is_some() {
        Some(DocumentKind::Vouch)
    } else if syftjson::is_syft_json(v) {
        Some(DocumentKind::Syft)
    } else {
        None
    }
}

/// Reads an SPDX 2.x JSON, CycloneDX JSON, syft JSON or vouch JSON document into
/// the package model: name, version, type, purl, CPEs, licences, supplier and the
/// relationships between packages.
pub fn decode(bytes: &[u8]) -> Result<Sbom> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::Decode(format!("not JSON: {e}")))?;
    let mut sbom = match detect(&v) {
        Some(DocumentKind::Spdx) => spdx::decode(&v)?,
        Some(DocumentKind::CycloneDx) => cyclonedx::decode(&v)?,
        Some(DocumentKind::Syft) => syftjson::decode(&v)?,
        Some(DocumentKind::Vouch) => {
            let doc =
                serde_json::from_value::<VouchJson>(v).map_err(|e| Error::Decode(e.to_string()))?;
            if doc.vouch_sbom != 1 {
                return Err(Error::Decode(format!(
                    "vouch SBOM version {} (this vouch reads 1)",
                    doc.vouch_sbom
                )));
            }
            doc.sbom
        }
        None => {
            return Err(Error::Decode(
                "neither SPDX (spdxVersion), CycloneDX (bomFormat), syft JSON (schema.url) nor \
                 vouch JSON"
                    .into(),
            ));
        }
    };
    sbom.normalise();
    Ok(sbom)
}

/// A distro from a purl's `distro` qualifier (`debian-12.11` -> id `debian`, version `12.11`).
pub(crate) fn distro_from_purls<'a>(
    purls: impl Iterator<Item = &'a str>,
) -> Option<crate::model::Distro> {
    for p in purls {
        let Some(u) = crate::purl::Purl::parse(p) else {
            continue;
        };
        if let Some(d) = u.qualifiers.get("distro") {
            let (id, ver) = match d.split_once('-') {
                Some((i, v)) => (i, v),
                None => (d.as_str(), ""),
            };
            return Some(crate::model::Distro {
                id: id.to_owned(),
                version_id: ver.to_owned(),
                ..Default::default()
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        let s = super::Stamp::now();
        assert_eq!(s.uuid.len(), 36);
        assert_eq!(&s.uuid[14..15], "4");
    }
}
