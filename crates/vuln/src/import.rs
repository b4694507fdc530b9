//! `vouch db import`: reading OSV records from files, directories, zip exports and URLs
//! into the store, in one transaction.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::Path;

use rusqlite::{TransactionBehavior, params};
use serde::Serialize;

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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
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
            let read_result = std::thread::scope(|scope| -> Result<(), Error> {
                let worker = scope.spawn(move || {
                    let mut visit = |file: &str, bytes: &[u8], yaml: bool| {
                        for parsed in parse_file(file, bytes, yaml) {
                            // A closed channel means the writer stopped on an error.
                            let _ = send.send(parsed);
                        }
                    };
                    read_source(source, options, &mut visit)
                });
                for parsed in receive {
                    counts.records += 1;
                    let adv = match parsed.record {
                        Ok(a) => a,
                        Err(m) => {
                            counts.malformed += 1;
                            report.issues.push(issue(&parsed.label, m));
                            continue;
                        }
                    };
                    for eco in &adv.unsupported {
                        *report
                            .unsupported_ecosystems
                            .entry(eco.clone())
                            .or_default() += 1;
                    }
                    match Self::upsert(&tx, &adv, &location).map_err(sql)? {
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
            tx.execute(
                "INSERT OR REPLACE INTO source (location, imported_at, records, added, updated,
                   unchanged, malformed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    counts.location,
                    now_secs() as i64,
                    counts.records as i64,
                    counts.added as i64,
                    counts.updated as i64,
                    counts.unchanged as i64,
                    counts.malformed as i64
                ],
            )
            .map_err(sql)?;
            report.sources.push(counts);
        }
        tx.commit().map_err(sql)?;
        Ok(report)
    }
}

/// One record of a file, decoded and validated (or rejected).
struct Parsed {
    label: String,
    record: Result<osv::Advisory, Malformed>,
}

/// Decodes a file into its records: one, or several for a JSON array of records.
fn parse_file(file: &str, bytes: &[u8], yaml: bool) -> Vec<Parsed> {
    match osv::decode(bytes, yaml) {
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| Parsed {
                label: format!("{file}[{i}]"),
                record: osv::parse_record(&v),
            })
            .collect(),
        Ok(v) => vec![Parsed {
            label: file.to_owned(),
            record: osv::parse_record(&v),
        }],
        Err(m) => vec![Parsed {
            label: file.to_owned(),
            record: Err(m),
        }],
    }
}

fn issue(file: &str, m: Malformed) -> ImportIssue {
    ImportIssue {
        file: file.to_owned(),
        field: m.field,
        reason: m.reason,
    }
}

type Visit<'a> = dyn FnMut(&str, &[u8], bool) + 'a;

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

/// The record format of a file name, or `None` for files that are not records.
fn record_kind(name: &str) -> Option<bool> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Some(false)
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Some(true)
    } else {
        None
    }
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
    let Some(yaml) = record_kind(&name) else {
        return Err(Error::UnknownSource {
            path: name.into_owned(),
        });
    };
    let bytes = read_limited(path, limits.max_record_bytes)?;
    visit(&name, &bytes, yaml);
    Ok(())
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
            } else if let Some(yaml) = record_kind(&name) {
                files += 1;
                if files > limits.max_files {
                    return Err(Error::TooLarge {
                        what: dir.display().to_string(),
                        limit: limits.max_files,
                        unit: "files",
                    });
                }
                // Reading one oversized file is a malformed record, not a failed import.
                match read_limited(&path, limits.max_record_bytes) {
                    Ok(bytes) => visit(&path.to_string_lossy(), &bytes, yaml),
                    Err(Error::TooLarge { .. }) => {
                        let reason = format!("larger than {} bytes", limits.max_record_bytes);
                        visit(&path.to_string_lossy(), reason.as_bytes(), false);
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
        let Some(yaml) = record_kind(&name) else {
            continue;
        };
        let file = format!("{label}!{name}");
        buf.clear();
        (&mut entry)
            .take(limits.max_record_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Zip {
                path: file.clone(),
                source: e.into(),
            })?;
        if buf.len() as u64 > limits.max_record_bytes {
            return Err(Error::TooLarge {
                what: file,
                limit: limits.max_record_bytes,
                unit: "bytes",
            });
        }
        visit(&file, &buf, yaml);
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
    if copied > options.limits.max_record_bytes {
        return Err(Error::TooLarge {
            what: url.to_owned(),
            limit: options.limits.max_record_bytes,
            unit: "bytes",
        });
    }
    let mut bytes = Vec::new();
    tmp.read_to_end(&mut bytes).map_err(|e| Error::io(url, e))?;
    let path_part = url.split(['?', '#']).next().unwrap_or(url);
    visit(url, &bytes, record_kind(path_part) == Some(true));
    Ok(())
}
