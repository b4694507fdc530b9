//! OSV records: decoding (JSON or YAML), validation with field paths, and the normalised
//! form the store keeps.
//!
//! Schema: <https://ossf.github.io/osv-schema/> (fields `id`, `modified`, `withdrawn`,
//! `aliases`, `affected[].package`, `affected[].ranges`, `affected[].versions`,
//! `severity`, `database_specific`, `ecosystem_specific`). A record is decoded into a
//! [`serde_json::Value`] first and then checked field by field, so a malformed record is
//! reported with the exact field (`affected[1].ranges[0]`) instead of a byte offset.

use serde_json::Value;
use vouch_version::{AffectedVersions, Ecosystem, EcosystemKind, RawRange};

use crate::severity::{self, Rating};

/// A validated OSV record, reduced to what matching and reporting need.
#[derive(Debug, Clone)]
pub(crate) struct Advisory {
    pub(crate) id: String,
    /// `modified` in microseconds since the Unix epoch (for incremental import).
    pub(crate) modified: i64,
    pub(crate) modified_text: String,
    pub(crate) published: Option<String>,
    pub(crate) withdrawn: Option<String>,
    /// `aliases` (with `upstream`) as the JSON array the store keeps: encoded by the
    /// decoding threads of an import rather than its one writing thread.
    pub(crate) aliases_json: String,
    /// `related` ids as a JSON array: other records about the same flaw that are not
    /// aliases (SUSE and Red Hat name their CVEs here or in `upstream`). Used only to find
    /// a rating.
    pub(crate) related_json: String,
    pub(crate) summary: String,
    pub(crate) rating: Rating,
    pub(crate) url: Option<String>,
    pub(crate) affected: Vec<AffectedEntry>,
    /// Ecosystems of `affected[]` entries this build cannot order versions for (skipped).
    pub(crate) unsupported: Vec<String>,
}

/// One `affected[]` entry of a supported ecosystem.
#[derive(Debug, Clone)]
pub(crate) struct AffectedEntry {
    /// [`ecosystem_key`] of the entry's ecosystem.
    pub(crate) ecosystem: String,
    /// [`normalize_name`] of the package name.
    pub(crate) name: String,
    /// The name as written in the record.
    pub(crate) package: String,
    /// `{"ranges": [...], "versions": [...]}` as JSON, re-validated at match time; `versions`
    /// holds only the listed versions outside every range.
    pub(crate) ranges: String,
    /// RustSec's `database_specific.informational` (`unmaintained`, `unsound`, `notice`).
    pub(crate) informational: Option<String>,
    /// The distro's own rating for this entry (Debian urgency, Ubuntu priority, Red Hat
    /// severity); wins over any CVSS for packages of that distro.
    pub(crate) distro_rating: Option<Rating>,
    /// An entry-level CVSS `severity[]`, overriding the record's.
    pub(crate) cvss: Option<Rating>,
}

/// A record that was rejected, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed {
    /// The offending field, as a path (`modified`, `affected[0].package.name`); empty when
    /// the file is not a JSON/YAML document at all.
    pub(crate) field: String,
    /// What is wrong.
    pub(crate) reason: String,
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> Malformed {
    Malformed {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Decodes one file's bytes as JSON (if it starts like JSON) or YAML.
pub(crate) fn decode(bytes: &[u8], yaml: bool) -> Result<Value, Malformed> {
    if yaml {
        serde_norway::from_slice(bytes).map_err(|e| bad("", format!("invalid YAML: {e}")))
    } else {
        serde_json::from_slice(bytes).map_err(|e| bad("", format!("invalid JSON: {e}")))
    }
}

/// Longest `summary` kept (the first line of `details` when there is no summary).
const MAX_SUMMARY: usize = 240;

/// Validates a decoded record.
pub(crate) fn parse_record(v: &Value) -> Result<Advisory, Malformed> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad("", "record is not an object"))?;
    let id = req_str(v, "id")?;
    if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("id", "empty, over 256 bytes, or containing whitespace"));
    }
    let modified_text = req_str(v, "modified")?;
    let modified = parse_rfc3339(modified_text).ok_or_else(|| {
        bad(
            "modified",
            format!("{modified_text:?} is not an RFC 3339 time"),
        )
    })?;
    let published = opt_str(v, "published")?.map(str::to_owned);
    let withdrawn = opt_str(v, "withdrawn")?.map(str::to_owned);
    // `upstream` (OSV 1.6) names the vulnerabilities a distro record is derived from
    // (osv.dev's Debian records list the CVE there, not in `aliases`); for merging and for
    // matching ignore rules and VEX statements by CVE it counts as an alias.
    let mut aliases = str_array(v.get("aliases"), "aliases")?;
    for up in str_array(v.get("upstream"), "upstream")? {
        if !aliases.contains(&up) {
            aliases.push(up);
        }
    }
    let related = str_array(v.get("related"), "related")?;
    let summary = match opt_str(v, "summary")? {
        Some(s) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => opt_str(v, "details")?
            .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or("")
            .trim()
            .to_owned(),
    };
    let summary = truncate(summary, MAX_SUMMARY);
    let url = obj
        .get("references")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("type").and_then(Value::as_str) == Some("ADVISORY"))
        })
        .and_then(|r| r.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned);

    let mut affected = Vec::new();
    let mut unsupported = Vec::new();
    let entries = match v.get("affected") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(bad("affected", "not an array")),
    };
    for (i, entry) in entries.iter().enumerate() {
        let at = |f: &str| format!("affected[{i}].{f}");
        let Some(package) = entry.get("package") else {
            // Entries without `package` describe non-package software; nothing to match.
            continue;
        };
        let eco_text = package
            .get("ecosystem")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(at("package.ecosystem"), "missing or not a string"))?;
        let name = package
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(at("package.name"), "missing, empty or not a string"))?;
        let ecosystem: Ecosystem = match eco_text.parse() {
            Ok(e) => e,
            Err(vouch_version::Error::UnsupportedEcosystem { .. }) => {
                unsupported.push(eco_text.to_owned());
                continue;
            }
            Err(e) => return Err(bad(at("package.ecosystem"), e.to_string())),
        };
        let ranges: Vec<RawRange> = match entry.get("ranges") {
            None | Some(Value::Null) => Vec::new(),
            // Deserialized from the borrowed tree: no copy of it.
            Some(r) => <Vec<RawRange> as serde::Deserialize>::deserialize(r)
                .map_err(|e| bad(at("ranges"), e.to_string()))?,
        };
        let versions = str_array(entry.get("versions"), &at("versions"))?;
        let full = match AffectedVersions::new(ecosystem.clone(), &ranges, &versions) {
            Ok(full) => full,
            Err(e) => {
                // Find which range or version it was, for the report.
                let field = locate_range_error(&ecosystem, &ranges, &versions)
                    .map_or_else(|| at("ranges"), |f| at(&f));
                return Err(bad(field, e.to_string()));
            }
        };
        // Keep only the listed versions the ranges do not already cover. PyPA enumerates
        // hundreds of versions per record, nearly always inside its ranges; dropping those
        // here keeps the answer identical (OSV: affected = in a range OR listed) and spares
        // every scan from parsing them again.
        let ranges_only = AffectedVersions::new(ecosystem.clone(), &ranges, &[])
            .map_err(|e| bad(at("ranges"), e.to_string()))?;
        let extra: Vec<&str> = full
            .versions()
            .iter()
            .filter(|v| !ranges_only.contains_version(v).unwrap_or(false))
            .map(vouch_version::Version::as_str)
            .collect();
        let evaluated: Vec<&RawRange> = ranges.iter().filter(|r| r.kind != "GIT").collect();
        let ranges_json = serde_json::json!({ "ranges": evaluated, "versions": extra }).to_string();
        affected.push(AffectedEntry {
            ecosystem: ecosystem_key(&ecosystem),
            name: normalize_name(ecosystem.kind(), name),
            package: name.to_owned(),
            ranges: ranges_json,
            informational: entry
                .pointer("/database_specific/informational")
                .and_then(Value::as_str)
                .map(str::to_owned),
            distro_rating: severity::distro_rating(v, entry, ecosystem.kind()),
            cvss: severity::rate_affected_cvss(entry),
        });
    }
    let json = |ids: &[String]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    Ok(Advisory {
        id: id.to_owned(),
        modified,
        modified_text: modified_text.to_owned(),
        published,
        withdrawn,
        aliases_json: json(&aliases),
        related_json: json(&related),
        summary,
        rating: severity::rate_record(v),
        url,
        affected,
        unsupported,
    })
}

fn locate_range_error(eco: &Ecosystem, ranges: &[RawRange], versions: &[String]) -> Option<String> {
    for (j, r) in ranges.iter().enumerate() {
        if AffectedVersions::new(eco.clone(), std::slice::from_ref(r), &[]).is_err() {
            return Some(format!("ranges[{j}]"));
        }
    }
    for (j, ver) in versions.iter().enumerate() {
        if vouch_version::Version::parse(eco.scheme(), ver).is_err() {
            return Some(format!("versions[{j}]"));
        }
    }
    None
}

fn req_str<'a>(v: &'a Value, field: &str) -> Result<&'a str, Malformed> {
    opt_str(v, field)?.ok_or_else(|| bad(field, "missing"))
}

fn opt_str<'a>(v: &'a Value, field: &str) -> Result<Option<&'a str>, Malformed> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(field, "not a string")),
    }
}

fn str_array(v: Option<&Value>, field: &str) -> Result<Vec<String>, Malformed> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                // YAML writes versions like 2.0 unquoted; they arrive as numbers. The PyPA
                // files quote them, but hand-written records often do not.
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad(format!("{field}[{i}]"), "not a string")),
            })
            .collect(),
        Some(_) => Err(bad(field, "not an array")),
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// The ecosystem string the store indexes by: the OSV name with its qualifier, reduced to
/// what an installed package's distro release can say:
///
/// * Ubuntu: the `:LTS` marker is dropped (`Ubuntu:22.04:LTS` -> `Ubuntu:22.04`);
/// * Red Hat: the repository after `::` is dropped, since a container's rpmdb does not
///   record which repository a package came from (`Red Hat:enterprise_linux:9::appstream`
///   -> `Red Hat:enterprise_linux:9`);
/// * SUSE: every Linux Enterprise product and module of one service pack is one key
///   (`SUSE:Linux Enterprise Module for Basesystem 15 SP5` -> `SUSE:Linux Enterprise 15 SP5`),
///   as SLES and BCI images install packages of the base system and its modules; SLE Micro
///   stays apart (`SUSE:Linux Enterprise Micro 5.5`).
pub fn ecosystem_key(eco: &Ecosystem) -> String {
    let s = eco.to_string();
    match eco.kind() {
        EcosystemKind::Ubuntu => s.strip_suffix(":LTS").unwrap_or(&s).to_owned(),
        EcosystemKind::RedHat => s.split_once("::").map_or(s.as_str(), |(k, _)| k).to_owned(),
        EcosystemKind::Suse => suse_key(&s).unwrap_or(s),
        _ => s,
    }
}

fn suse_key(s: &str) -> Option<String> {
    let product = s.strip_prefix("SUSE:")?;
    if !product.starts_with("Linux Enterprise") {
        return None;
    }
    // The release is the trailing `15 SP5`, `15`, or `5.5` (Micro).
    let words: Vec<&str> = product.split(' ').collect();
    let n = words.len();
    let is_num = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let release = if n >= 2 && words[n - 1].starts_with("SP") && is_num(words[n - 2]) {
        format!("{} {}", words[n - 2], words[n - 1])
    } else if n >= 1 && is_num(words[n - 1]) {
        words[n - 1].to_owned()
    } else {
        return None;
    };
    let micro = product.contains(" Micro ");
    Some(if micro {
        format!("SUSE:Linux Enterprise Micro {release}")
    } else {
        format!("SUSE:Linux Enterprise {release}")
    })
}

/// Normalises a package name the way its ecosystem compares names.
///
/// PyPI: PEP 503 (lower-case, runs of `-`, `_`, `.` become one `-`). crates.io, NuGet,
/// Packagist, Hex, Pub and the distros compare case-insensitively: lower-case. Everything
/// else (Go module paths, npm, Maven, RubyGems) is case-sensitive and kept as is.
pub fn normalize_name(kind: EcosystemKind, name: &str) -> String {
    match kind {
        EcosystemKind::PyPI => {
            let mut out = String::with_capacity(name.len());
            let mut sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    sep = true;
                } else {
                    if sep && !out.is_empty() {
                        out.push('-');
                    }
                    sep = false;
                    out.push(c.to_ascii_lowercase());
                }
            }
            out
        }
        EcosystemKind::Go
        | EcosystemKind::Npm
        | EcosystemKind::Maven
        | EcosystemKind::RubyGems
        | EcosystemKind::SwiftUrl => name.to_owned(),
        _ => name.to_ascii_lowercase(),
    }
}

/// Parses an RFC 3339 date-time (`2021-07-05T00:01:22.043149Z`, offsets allowed) to
/// microseconds since the Unix epoch.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let mut scaled = String::from(&frac[..digits.min(6)]);
        while scaled.len() < 6 {
            scaled.push('0');
        }
        micros = scaled.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms", `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Today's date as `YYYY-MM-DD` in UTC (Hinnant's `civil_from_days`).
pub(crate) fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_and_case_rules() {
        assert_eq!(normalize_name(EcosystemKind::PyPI, "Django"), "django");
        assert_eq!(normalize_name(EcosystemKind::PyPI, "PyYAML"), "pyyaml");
        assert_eq!(
            normalize_name(EcosystemKind::PyPI, "zope.interface"),
            "zope-interface"
        );
        assert_eq!(normalize_name(EcosystemKind::PyPI, "a__b-.C"), "a-b-c");
        assert_eq!(normalize_name(EcosystemKind::CratesIo, "Hyper"), "hyper");
        assert_eq!(
            normalize_name(EcosystemKind::Go, "github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500_000));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2021-07-05T00:01:22.043149Z"),
            Some(1_625_443_282_043_149)
        );
        for bad in [
            "",
            "2021-07-05",
            "2021-13-05T00:00:00Z",
            "2021-07-05T00:00:00",
            "yesterday!!!!!!!!!!!",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
