//! `vouch db import`: reading OSV records from files, directories, zip exports and URLs
//! into the store, in one transaction.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::Path;

use rusqlite::{TransactionBehavior, params};
use serde::Serialize;

use crate::feeds::{self, CveRating, EpssRow, KevRow};
use crate::osv::{self, Malformed};
use crate::store::{Database, Upsert, now_secs};
use crate::{Error, Limits};

/// Where to import from: a path (file, directory, zip) or an `http(s)` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file or directory.
    Path(std::path::PathBuf),
    /// A URL whose body is an OSV record or a zip of records (`all.zip`).
    Url(String),
}

impl Source {
    /// `http://` and `https://` arguments are URLs; everything else is a path.
    pub fn parse(arg: &str) -> Self {
        let lower = arg.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Self::Url(arg.to_owned())
        } else {
            Self::Path(arg.into())
        }
    }

    /// How the source is named in reports and in `vouch db status`.
    pub fn location(&self) -> String {
        match self {
            Self::Path(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            Self::Url(u) => u.clone(),
        }
    }
}

/// Settings of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Size limits.
    pub limits: Limits,
    /// HTTP settings for URL sources.
    pub http: vouch_http::ClientConfig,
    /// Which hosts may be fetched over plain HTTP (loopback always may).
    pub transport: vouch_http::TransportPolicy,
}

/// A record that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportIssue {
    /// The file (for a zip entry `archive.zip!entry.json`; for a JSON array `file[3]`).
    pub file: String,
    /// The field at fault; empty when the file itself could not be decoded.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// Per-source counts of an import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceReport {
    /// The source, as recorded in the database.
    pub location: String,
    /// Records read.
    pub records: u64,
    /// New records.
    pub added: u64,
    /// Records that replaced an older version of themselves.
    pub updated: u64,
    /// Records already stored with the same or a newer `modified`.
    pub unchanged: u64,
    /// Records rejected (listed in [`ImportReport::issues`]).
    pub malformed: u64,
    /// What the source held: `osv`, `nvd`, `cvelist`, `epss`, `kev`, or several joined
    /// by `+`.
    pub kind: String,
    /// Newest `modified` (OSV), `lastModified` (NVD), `dateUpdated` (CVEList), score date
    /// (EPSS) or release date (KEV) read from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// One entry per source, in the order given.
    pub sources: Vec<SourceReport>,
    /// Malformed records, skipped.
    pub issues: Vec<ImportIssue>,
    /// `affected[]` entries skipped because vouch cannot order their ecosystem's versions,
    /// counted per ecosystem.
    pub unsupported_ecosystems: BTreeMap<String, u64>,
}

impl Database {
    /// Imports every record of `sources` in one transaction: either all sources are read
    /// and committed, or (on an I/O, zip or download error, or if the process dies) the
    /// database keeps exactly its previous contents.
    ///
    /// A record is stored if its id is new or its `modified` is newer than the stored
    /// copy's (incremental re-import). Malformed records are skipped and reported; they do
    /// not fail the import.
    pub fn import(
        &mut self,
        sources: &[Source],
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let path = self.path.clone();
        let sql = |source| Error::Sqlite {
            path: path.clone(),
            source,
        };
        // A page cache that holds the indexes being written (SQLite's default is 2 MiB;
        // a full Debian + NVD import otherwise re-reads b-tree pages it just evicted).
        // Memory is only taken as pages are used.
        self.conn
            .execute_batch("PRAGMA cache_size = -262144")
            .map_err(sql)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        // Into an empty `affected` table (a first import, the common case): the package
        // index is dropped and built once after the load, inside this transaction, so a
        // failed import still leaves the previous file (with its index) untouched.
        let empty: bool = tx
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM affected)", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        if empty {
            tx.execute_batch("DROP INDEX IF EXISTS affected_by_package")
                .map_err(sql)?;
        }
        let mut report = ImportReport::default();
        for source in sources {
            let location = source.location();
            let mut counts = SourceReport {
                location: location.clone(),
                ..SourceReport::default()
            };
            // Two stages on two threads: reading and decoding records (the costly part) on a
            // scoped worker, writing rows here, connected by a bounded channel.
            let (send, receive) = std::sync::mpsc::sync_channel::<Parsed>(256);
            let mut kinds: Vec<&'static str> = Vec::new();
            let mut newest: Option<(i64, String)> = None;
            let read_result = std::thread::scope(|scope| -> Result<(), Error> {
                let worker = scope.spawn(move || {
                    let mut visit = |file: &str, bytes: &[u8], format: Format| {
                        for parsed in parse_file(file, bytes, format) {
                            // A closed channel means the writer stopped on an error.
                            let _ = send.send(parsed);
                        }
                    };
                    read_source(source, options, &mut visit)
                });
                for parsed in receive {
                    if let Item::Dated(kind, date) = &parsed.record.as_ref().unwrap_or(&Item::None)
                    {
                        if !kinds.contains(kind) {
                            kinds.push(kind);
                        }
                        if newest.as_ref().is_none_or(|(_, n)| n < date) {
                            newest = Some((0, date.clone()));
                        }
                        continue;
                    }
                    counts.records += 1;
                    let item = match parsed.record {
                        Ok(a) => a,
                        Err(m) => {
                            counts.malformed += 1;
                            report.issues.push(issue(&parsed.label, m));
                            continue;
                        }
                    };
                    let (kind, modified) = match &item {
                        Item::Osv(a) => ("osv", Some((a.modified, &a.modified_text))),
                        Item::Rating(r) => (
                            if r.provider == "NVD" {
                                "nvd"
                            } else {
                                "cvelist"
                            },
                            Some((r.modified, &r.modified_text)),
                        ),
                        Item::Epss(_) => ("epss", None),
                        Item::Kev(_) => ("kev", None),
                        Item::Dated(..) | Item::None => continue,
                    };
                    if !kinds.contains(&kind) {
                        kinds.push(kind);
                    }
                    if let Some((m, text)) = modified
                        && newest.as_ref().is_none_or(|(n, _)| *n < m)
                    {
                        newest = Some((m, text.clone()));
                    }
                    let outcome = match item {
                        Item::Osv(adv) => {
                            for eco in &adv.unsupported {
                                *report
                                    .unsupported_ecosystems
                                    .entry(eco.clone())
                                    .or_default() += 1;
                            }
                            Self::upsert(&tx, &adv, &location)
                        }
                        Item::Rating(r) => Self::upsert_rating(&tx, &r, &location),
                        Item::Epss(row) => Self::put_epss(&tx, &row),
                        Item::Kev(row) => Self::put_kev(&tx, &row),
                        Item::Dated(..) | Item::None => continue,
                    };
                    match outcome.map_err(sql)? {
                        Upsert::Added => counts.added += 1,
                        Upsert::Updated => counts.updated += 1,
                        Upsert::Unchanged => counts.unchanged += 1,
                    }
                }
                worker.join().unwrap_or_else(|_| {
                    Err(Error::UnknownSource {
                        path: location.clone(),
                    })
                })
            });
            read_result?;
            kinds.sort_unstable();
            counts.kind = if kinds.is_empty() {
                "osv".to_owned()
            } else {
                kinds.join("+")
            };
            counts.newest = newest.map(|(_, t)| t);
            tx.execute(
                "INSERT OR REPLACE INTO source (location, imported_at, records, added, updated,
                   unchanged, malformed, kind, newest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    counts.location,
                    now_secs() as i64,
                    counts.records as i64,
                    counts.added as i64,
                    counts.updated as i64,
                    counts.unchanged as i64,
                    counts.malformed as i64,
                    counts.kind,
                    counts.newest,
                ],
            )
            .map_err(sql)?;
            report.sources.push(counts);
        }
        tx.execute_batch(crate::store::AFFECTED_BY_PACKAGE)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(report)
    }
}

/// One record of a file, decoded and validated (or rejected).
struct Parsed {
    label: String,
    record: Result<Item, Malformed>,
}

/// What one record of a file is.
enum Item {
    Osv(Box<osv::Advisory>),
    Rating(CveRating),
    Epss(EpssRow),
    Kev(KevRow),
    /// Not a record: the date a whole file states about itself (EPSS score date, KEV
    /// release), with the file's kind.
    Dated(&'static str, String),
    None,
}

/// How a file's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
    Csv,
}

/// Decodes a file into its records: one OSV record, several for a JSON array of records,
/// every CVE of an NVD feed, one CVEList record, every row of an EPSS or KEV file.
fn parse_file(file: &str, bytes: &[u8], format: Format) -> Vec<Parsed> {
    let one = |label: String, record| Parsed { label, record };
    if format == Format::Csv {
        let (date, rows) = feeds::parse_epss(&String::from_utf8_lossy(bytes));
        let mut out: Vec<Parsed> = rows
            .into_iter()
            .map(|r| one(file.to_owned(), r.map(Item::Epss)))
            .collect();
        if let Some(d) = date {
            out.push(one(file.to_owned(), Ok(Item::Dated("epss", d))));
        }
        return out;
    }
    match osv::decode(bytes, format == Format::Yaml) {
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                one(
                    format!("{file}[{i}]"),
                    osv::parse_record(&v).map(|a| Item::Osv(Box::new(a))),
                )
            })
            .collect(),
        Ok(v) => match feeds::classify(&v) {
            feeds::Kind::Osv => vec![one(
                file.to_owned(),
                osv::parse_record(&v).map(|a| Item::Osv(Box::new(a))),
            )],
            feeds::Kind::Nvd => feeds::parse_nvd(&v)
                .into_iter()
                .map(|r| one(file.to_owned(), r.map(Item::Rating)))
                .collect(),
            feeds::Kind::CveList => vec![one(
                file.to_owned(),
                feeds::parse_cvelist(&v).map(Item::Rating),
            )],
            feeds::Kind::Kev => {
                let (date, rows) = feeds::parse_kev(&v);
                let mut out: Vec<Parsed> = rows
                    .into_iter()
                    .map(|r| one(file.to_owned(), r.map(Item::Kev)))
                    .collect();
                if let Some(d) = date {
                    out.push(one(file.to_owned(), Ok(Item::Dated("kev", d))));
                }
                out
            }
        },
        Err(m) => vec![one(file.to_owned(), Err(m))],
    }
}

fn issue(file: &str, m: Malformed) -> ImportIssue {
    ImportIssue {
        file: file.to_owned(),
        field: m.field,
        reason: m.reason,
    }
}

type Visit<'a> = dyn FnMut(&str, &[u8], Format) + 'a;

fn read_source(
    source: &Source,
    options: &ImportOptions,
    visit: &mut Visit<'_>,
) -> Result<(), Error> {
    match source {
        Source::Path(p) => read_path(p, &options.limits, visit),
        Source::Url(url) => read_url(url, options, visit),
    }
}

/// The format of a file name and whether it is gzip-compressed, or `None` for files that
/// are not records. NVD publishes its feeds and FIRST its EPSS scores as `.gz`.
fn record_kind(name: &str) -> Option<(Format, bool)> {
    let lower = name.to_ascii_lowercase();
    let (base, gz) = match lower.strip_suffix(".gz") {
        Some(b) => (b, true),
        None => (lower.as_str(), false),
    };
    let format = if base.ends_with(".json") {
        Format::Json
    } else if base.ends_with(".yaml") || base.ends_with(".yml") {
        Format::Yaml
    } else if base.ends_with(".csv") {
        Format::Csv
    } else {
        return None;
    };
    Some((format, gz))
}

/// Whole-feed files (NVD, EPSS, KEV, anything compressed) may be far larger than one OSV
/// record; they get [`Limits::max_feed_bytes`].
fn size_limit(name: &str, limits: &Limits) -> u64 {
    let lower = name.to_ascii_lowercase();
    let file = lower.rsplit(['/', '!']).next().unwrap_or(&lower);
    if file.ends_with(".gz")
        || file.ends_with(".csv")
        || file.starts_with("nvdcve")
        || file.starts_with("known_exploited")
    {
        limits.max_feed_bytes
    } else {
        limits.max_record_bytes
    }
}

/// Hands `bytes` to `visit`, gunzipped first when `gz` (bounded by the feed limit).
fn visit_bytes(
    file: &str,
    bytes: &[u8],
    (format, gz): (Format, bool),
    limits: &Limits,
    visit: &mut Visit<'_>,
) -> Result<(), Error> {
    if !gz {
        visit(file, bytes, format);
        return Ok(());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limits.max_feed_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::io(file, e))?;
    if out.len() as u64 > limits.max_feed_bytes {
        return Err(Error::TooLarge {
            what: file.to_owned(),
            limit: limits.max_feed_bytes,
            unit: "bytes",
        });
    }
    visit(file, &out, format);
    Ok(())
}

fn read_path(path: &Path, limits: &Limits, visit: &mut Visit<'_>) -> Result<(), Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return walk_dir(path, limits, visit);
    }
    let name = path.to_string_lossy();
    if name.to_ascii_lowercase().ends_with(".zip") || has_zip_magic(path) {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        return read_zip(file, &name, limits, visit);
    }
    let Some(kind) = record_kind(&name) else {
        return Err(Error::UnknownSource {
            path: name.into_owned(),
        });
    };
    let bytes = read_limited(path, size_limit(&name, limits))?;
    visit_bytes(&name, &bytes, kind, limits, visit)
}

fn has_zip_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PK\x03\x04"
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            what: path.display().to_string(),
            limit,
            unit: "bytes",
        });
    }
    Ok(bytes)
}

/// Walks `dir` depth-first in name order, visiting `.json`, `.yaml` and `.yml` files and
/// skipping hidden entries (`.git`). Zip files inside a directory are not opened.
fn walk_dir(dir: &Path, limits: &Limits, visit: &mut Visit<'_>) -> Result<(), Error> {
    let mut stack = vec![dir.to_owned()];
    let mut files = 0u64;
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| Error::io(&d, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| Error::io(&d, e))?;
        entries.sort_by_key(|e| std::cmp::Reverse(e.file_name()));
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let ty = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if ty.is_dir() {
                stack.push(path);
            } else if let Some(kind) = record_kind(&name) {
                files += 1;
                if files > limits.max_files {
                    return Err(Error::TooLarge {
                        what: dir.display().to_string(),
                        limit: limits.max_files,
                        unit: "files",
                    });
                }
                // Reading one oversized file is a malformed record, not a failed import.
                let label = path.to_string_lossy();
                let limit = size_limit(&label, limits);
                match read_limited(&path, limit) {
                    Ok(bytes) => visit_bytes(&label, &bytes, kind, limits, visit)?,
                    Err(Error::TooLarge { .. }) => {
                        let reason = format!("larger than {limit} bytes");
                        visit(&label, reason.as_bytes(), Format::Json);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// Reads every `.json`/`.yaml` entry of a zip archive (osv.dev's per-ecosystem `all.zip`
/// holds one `<ID>.json` per record).
fn read_zip<R: Read + Seek>(
    reader: R,
    label: &str,
    limits: &Limits,
    visit: &mut Visit<'_>,
) -> Result<(), Error> {
    let zip_err = |source| Error::Zip {
        path: label.to_owned(),
        source,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_err)?;
    if archive.len() as u64 > limits.max_files {
        return Err(Error::TooLarge {
            what: label.to_owned(),
            limit: limits.max_files,
            unit: "entries",
        });
    }
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(zip_err)?.into_owned();
        let Some(kind) = record_kind(&name) else {
            continue;
        };
        let file = format!("{label}!{name}");
        let limit = size_limit(&file, limits);
        buf.clear();
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Zip {
                path: file.clone(),
                source: e.into(),
            })?;
        if buf.len() as u64 > limit {
            return Err(Error::TooLarge {
                what: file,
                limit,
                unit: "bytes",
            });
        }
        visit_bytes(&file, &buf, kind, limits, visit)?;
    }
    Ok(())
}

/// Downloads `url` to a temporary file (bounded by [`Limits::max_download_bytes`]) and
/// reads it as a zip archive or a single record.
fn read_url(url: &str, options: &ImportOptions, visit: &mut Visit<'_>) -> Result<(), Error> {
    let host = url.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    let scheme = url
        .split_once("://")
        .map_or("", |(s, _)| s)
        .to_ascii_lowercase();
    if scheme == "http" && options.transport.scheme_for(host) != "http" {
        return Err(Error::PlainHttp {
            url: url.to_owned(),
        });
    }
    let client = vouch_http::Client::new(&options.http).map_err(|source| Error::Http {
        url: url.to_owned(),
        source,
    })?;
    let what = format!("GET {url}");
    let resp = client
        .send(&what, |agent| agent.get(url).call())
        .map_err(|source| Error::Http {
            url: url.to_owned(),
            source,
        })?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(Error::HttpStatus {
            url: url.to_owned(),
            status,
        });
    }
    let limit = options.limits.max_download_bytes;
    let mut tmp = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let mut body = resp.into_body().into_reader().take(limit + 1);
    let copied = std::io::copy(&mut body, &mut tmp).map_err(|e| Error::io(url, e))?;
    if copied > limit {
        return Err(Error::TooLarge {
            what: url.to_owned(),
            limit,
            unit: "bytes",
        });
    }
    tmp.rewind().map_err(|e| Error::io(url, e))?;
    let mut magic = [0u8; 4];
    let is_zip = tmp.read_exact(&mut magic).is_ok() && &magic == b"PK\x03\x04";
    tmp.rewind().map_err(|e| Error::io(url, e))?;
    if is_zip {
        return read_zip(tmp, url, &options.limits, visit);
    }
    let path_part = url.split(['?', '#']).next().unwrap_or(url);
    let limit = size_limit(path_part, &options.limits);
    if copied > limit {
        return Err(Error::TooLarge {
            what: url.to_owned(),
            limit,
            unit: "bytes",
        });
    }
    let mut bytes = Vec::new();
    tmp.read_to_end(&mut bytes).map_err(|e| Error::io(url, e))?;
    let kind = record_kind(path_part).unwrap_or((Format::Json, false));
    visit_bytes(url, &bytes, kind, &options.limits, visit)
}
