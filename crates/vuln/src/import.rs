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
    /// Threads decoding records while the calling thread writes them: `None` for one per
    /// available core (at most 4), `Some(0)` to read, decode and write on
    /// the calling thread alone. Either way the database ends up with the same rows.
    pub decoders: Option<usize>,
}

/// Most decoder threads an import starts by default: past this, writing the rows is the
/// bottleneck.
const MAX_DECODERS: usize = 4;

impl ImportOptions {
    fn decoder_threads(&self) -> usize {
        self.decoders.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_DECODERS))
        })
    }
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
    ///
    /// Files are decoded on [`ImportOptions::decoders`] threads while this one writes
    /// rows, in the order the files were read: the result is the same as decoding them one
    /// after the other. A new database is written to a temporary file beside its path
    /// without a rollback journal or fsyncs, synced once, and renamed into place
    /// ([`Database::open_or_create`]); an existing one is updated through SQLite's rollback
    /// journal.
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
        let fresh = self.pending.is_some();
        if fresh {
            // Nobody reads this file before it is synced and renamed, so a crash can only
            // lose a file that is not the database yet: no fsync per commit, and the
            // journal in memory (it still rolls back a failed import in this process;
            // "PRAGMA journal_mode", "PRAGMA synchronous" in SQLite's documentation).
            self.conn
                .execute_batch(
                    "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;
                     PRAGMA locking_mode = EXCLUSIVE",
                )
                .map_err(sql)?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        // Into an empty `affected` table (a first import, the common case): the indexes of
        // `affected` are dropped and built once after the load, inside this transaction
        // (SQLite builds an index from sorted keys much faster than it inserts 200,000 keys
        // in random order), so a failed import still leaves the previous file (with its
        // indexes) untouched.
        let empty: bool = tx
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM affected)", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        if empty {
            tx.execute_batch(
                "DROP INDEX IF EXISTS affected_by_package; DROP INDEX IF EXISTS affected_by_advisory",
            )
            .map_err(sql)?;
        }
        let decoders = options.decoder_threads();
        let mut report = ImportReport::default();
        for source in sources {
            let location = source.location();
            let mut writer = Writer {
                tx: &tx,
                location: &location,
                counts: SourceReport {
                    location: location.clone(),
                    ..SourceReport::default()
                },
                kinds: Vec::new(),
                newest: None,
                report: &mut report,
            };
            let read = if decoders == 0 {
                read_serial(source, options, &mut writer)
            } else {
                read_parallel(source, options, decoders, &mut writer)
            };
            read.map_err(|e| match e {
                Stop::Sql(e) => sql(e),
                Stop::Read(e) => e,
                // Only the parallel reader halts, and it reports the writer's error instead.
                Stop::Halted => Error::ImportThread { what: "writer" },
            })?;
            let mut counts = writer.finish();
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
            report.sources.push(std::mem::take(&mut counts));
        }
        tx.execute_batch(crate::store::AFFECTED_INDEXES)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        if fresh {
            self.publish()?;
        }
        Ok(report)
    }
}

/// Why reading a source stopped early: the source (I/O, zip, download, limits), the
/// database, or (in the reader of [`read_parallel`]) because the writer stopped.
enum Stop {
    Read(Error),
    Sql(rusqlite::Error),
    Halted,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Self::Read(e)
    }
}

/// Writes decoded records of one source into the import's transaction, counting them.
struct Writer<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    location: &'a str,
    counts: SourceReport,
    kinds: Vec<&'static str>,
    /// Newest date read, as microseconds (0 for whole-file dates) and text.
    newest: Option<(i64, String)>,
    report: &'a mut ImportReport,
}

impl Writer<'_> {
    fn write(&mut self, parsed: Parsed) -> Result<(), rusqlite::Error> {
        if let Ok(Item::Dated(kind, date)) = &parsed.record {
            if !self.kinds.contains(kind) {
                self.kinds.push(kind);
            }
            if self.newest.as_ref().is_none_or(|(_, n)| n < date) {
                self.newest = Some((0, date.clone()));
            }
            return Ok(());
        }
        self.counts.records += 1;
        let label = parsed.label();
        let item = match parsed.record {
            Ok(a) => a,
            Err(m) => {
                self.counts.malformed += 1;
                self.report.issues.push(issue(&label, m));
                return Ok(());
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
            Item::Dated(..) => return Ok(()),
        };
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
        if let Some((m, text)) = modified
            && self.newest.as_ref().is_none_or(|(n, _)| *n < m)
        {
            self.newest = Some((m, text.clone()));
        }
        let outcome = match item {
            Item::Osv(adv) => {
                for eco in &adv.unsupported {
                    *self
                        .report
                        .unsupported_ecosystems
                        .entry(eco.clone())
                        .or_default() += 1;
                }
                Database::upsert(self.tx, &adv, self.location)
            }
            Item::Rating(r) => Database::upsert_rating(self.tx, &r, self.location),
            Item::Epss(row) => Database::put_epss(self.tx, &row),
            Item::Kev(row) => Database::put_kev(self.tx, &row),
            Item::Dated(..) => return Ok(()),
        }?;
        match outcome {
            Upsert::Added => self.counts.added += 1,
            Upsert::Updated => self.counts.updated += 1,
            Upsert::Unchanged => self.counts.unchanged += 1,
        }
        Ok(())
    }

    /// The source's counts, with its kinds and newest date.
    fn finish(mut self) -> SourceReport {
        self.kinds.sort_unstable();
        self.counts.kind = if self.kinds.is_empty() {
            "osv".to_owned()
        } else {
            self.kinds.join("+")
        };
        self.counts.newest = self.newest.map(|(_, t)| t);
        self.counts
    }
}

/// Reads, decodes and writes on the calling thread (`decoders: 0`).
fn read_serial(
    source: &Source,
    options: &ImportOptions,
    writer: &mut Writer<'_>,
) -> Result<(), Stop> {
    read_source(source, options, &mut |file, bytes, format| {
        for parsed in parse_file(file, &bytes, format) {
            writer.write(parsed).map_err(Stop::Sql)?;
        }
        Ok(())
    })
}

/// A file read but not decoded yet.
struct RawFile {
    label: String,
    bytes: Vec<u8>,
    format: Format,
}

/// Files go to the decoders in batches of this many (or [`BATCH_BYTES`]), one channel
/// message each: handing over single records cost more in thread wake-ups than decoding
/// them.
const BATCH_FILES: usize = 64;
const BATCH_BYTES: usize = 1 << 20;

/// Reads files on one thread, decodes batches of them on `decoders` threads, and writes
/// the decoded records here in the order the files were read (batches are numbered and
/// written strictly in sequence), so the rows are those of [`read_serial`].
///
/// Memory stays bounded: both channels hold at most `2 * decoders` batches, and the
/// writer always drains the result channel (batches ahead of the next one wait in
/// `ahead`), so no thread waits on another in a cycle. When the writer fails it drops the
/// result channel; the decoders then stop, which drops the work channel and stops the
/// reader.
fn read_parallel(
    source: &Source,
    options: &ImportOptions,
    decoders: usize,
    writer: &mut Writer<'_>,
) -> Result<(), Stop> {
    use std::sync::mpsc::sync_channel;
    let (work_send, work_receive) = sync_channel::<(u64, Vec<RawFile>)>(2 * decoders);
    let (done_send, done_receive) = sync_channel::<(u64, Vec<Parsed>)>(2 * decoders);
    let work_receive = std::sync::Arc::new(std::sync::Mutex::new(work_receive));
    std::thread::scope(|scope| {
        for _ in 0..decoders {
            let work = std::sync::Arc::clone(&work_receive);
            let done = done_send.clone();
            scope.spawn(move || {
                loop {
                    // The lock is held only while waiting for the next batch.
                    let job = match work.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, files)) = job else { return };
                    let parsed: Vec<Parsed> = files
                        .iter()
                        .flat_map(|f| parse_file(&f.label, &f.bytes, f.format))
                        .collect();
                    if done.send((seq, parsed)).is_err() {
                        return;
                    }
                }
            });
        }
        // Only the decoders hold these now: when they all stop, the reader's sends fail.
        drop(work_receive);
        drop(done_send);
        let reader = scope.spawn(move || -> Result<u64, Stop> {
            let mut batch: Vec<RawFile> = Vec::new();
            let mut bytes_in_batch = 0usize;
            let mut sent = 0u64;
            let send = |batch: &mut Vec<RawFile>, sent: &mut u64| -> Result<(), Stop> {
                work_send
                    .send((*sent, std::mem::take(batch)))
                    .map_err(|_| Stop::Halted)?;
                *sent += 1;
                Ok(())
            };
            let read = read_source(source, options, &mut |file, bytes, format| {
                bytes_in_batch += bytes.len();
                batch.push(RawFile {
                    label: file.to_owned(),
                    bytes,
                    format,
                });
                if batch.len() >= BATCH_FILES || bytes_in_batch >= BATCH_BYTES {
                    bytes_in_batch = 0;
                    send(&mut batch, &mut sent)?;
                }
                Ok(())
            });
            match read {
                // The writer stopped: its error is the one reported.
                Err(Stop::Halted) => Ok(sent),
                Err(e) => Err(e),
                Ok(()) => {
                    if !batch.is_empty() {
                        // A failed send means the writer stopped; it reports why.
                        let _ = send(&mut batch, &mut sent);
                    }
                    Ok(sent)
                }
            }
        });
        let mut ahead: BTreeMap<u64, Vec<Parsed>> = BTreeMap::new();
        let mut next = 0u64;
        for (seq, parsed) in done_receive {
            ahead.insert(seq, parsed);
            while let Some(batch) = ahead.remove(&next) {
                next += 1;
                for parsed in batch {
                    // Returning drops the result channel, which stops the other threads.
                    writer.write(parsed).map_err(Stop::Sql)?;
                }
            }
        }
        let sent = reader
            .join()
            .map_err(|_| Stop::Read(Error::ImportThread { what: "reader" }))??;
        if next != sent {
            // A decoder stopped without handing back its batch (it panicked).
            return Err(Stop::Read(Error::ImportThread { what: "decoder" }));
        }
        Ok(())
    })
}

/// One record of a file, decoded and validated (or rejected).
struct Parsed {
    /// The file, shared by all its records (a label is only formatted for a rejected one).
    file: std::sync::Arc<str>,
    /// The record's place in a JSON array of records.
    index: Option<usize>,
    record: Result<Item, Malformed>,
}

impl Parsed {
    /// How the record is named in an [`ImportIssue`]: `file`, or `file[3]` in an array.
    fn label(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}]", self.file),
            None => self.file.to_string(),
        }
    }
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
    let file: std::sync::Arc<str> = std::sync::Arc::from(file);
    let at = |index, record| Parsed {
        file: std::sync::Arc::clone(&file),
        index,
        record,
    };
    let one = |record| at(None, record);
    if format == Format::Csv {
        let (date, rows) = feeds::parse_epss(&String::from_utf8_lossy(bytes));
        let mut out: Vec<Parsed> = rows.into_iter().map(|r| one(r.map(Item::Epss))).collect();
        if let Some(d) = date {
            out.push(one(Ok(Item::Dated("epss", d))));
        }
        return out;
    }
    // A JSON array of records (a bundle of many) is decoded one element at a time, each
    // validated and dropped before the next: one record's tree alive at a time instead of
    // the whole file's, which keeps the allocator reusing the same memory. A syntax error
    // anywhere still rejects the whole file, as decoding it at once did.
    if format == Format::Json && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let mut out = Vec::new();
        let mut record = |i: usize, v: serde_json::Value| {
            out.push(at(
                Some(i),
                osv::parse_record(&v).map(|a| Item::Osv(Box::new(a))),
            ));
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let decoded = serde::Deserializer::deserialize_seq(&mut de, EachRecord(&mut record))
            .and_then(|()| de.end());
        return match decoded {
            Ok(()) => out,
            Err(e) => vec![one(Err(Malformed {
                field: String::new(),
                reason: format!("invalid JSON: {e}"),
            }))],
        };
    }
    match osv::decode(bytes, format == Format::Yaml) {
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                at(
                    Some(i),
                    osv::parse_record(&v).map(|a| Item::Osv(Box::new(a))),
                )
            })
            .collect(),
        Ok(v) => match feeds::classify(&v) {
            feeds::Kind::Osv => vec![one(osv::parse_record(&v).map(|a| Item::Osv(Box::new(a))))],
            feeds::Kind::Nvd => feeds::parse_nvd(&v)
                .into_iter()
                .map(|r| one(r.map(Item::Rating)))
                .collect(),
            feeds::Kind::CveList => vec![one(feeds::parse_cvelist(&v).map(Item::Rating))],
            feeds::Kind::Kev => {
                let (date, rows) = feeds::parse_kev(&v);
                let mut out: Vec<Parsed> =
                    rows.into_iter().map(|r| one(r.map(Item::Kev))).collect();
                if let Some(d) = date {
                    out.push(one(Ok(Item::Dated("kev", d))));
                }
                out
            }
        },
        Err(m) => vec![one(Err(m))],
    }
}

/// Hands each element of a JSON array to a closure as it is decoded.
struct EachRecord<'a, F: FnMut(usize, serde_json::Value)>(&'a mut F);

impl<'de, F: FnMut(usize, serde_json::Value)> serde::de::Visitor<'de> for EachRecord<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of OSV records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            (self.0)(i, v);
            i += 1;
        }
        Ok(())
    }
}

fn issue(file: &str, m: Malformed) -> ImportIssue {
    ImportIssue {
        file: file.to_owned(),
        field: m.field,
        reason: m.reason,
    }
}

/// What a reader hands each record file to; an error stops the reading.
type Visit<'a> = dyn FnMut(&str, Vec<u8>, Format) -> Result<(), Stop> + 'a;

fn read_source(
    source: &Source,
    options: &ImportOptions,
    visit: &mut Visit<'_>,
) -> Result<(), Stop> {
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
    bytes: Vec<u8>,
    (format, gz): (Format, bool),
    limits: &Limits,
    visit: &mut Visit<'_>,
) -> Result<(), Stop> {
    if !gz {
        return visit(file, bytes, format);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .take(limits.max_feed_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::io(file, e))?;
    if out.len() as u64 > limits.max_feed_bytes {
        return Err(Error::TooLarge {
            what: file.to_owned(),
            limit: limits.max_feed_bytes,
            unit: "bytes",
        }
        .into());
    }
    visit(file, out, format)
}

fn read_path(path: &Path, limits: &Limits, visit: &mut Visit<'_>) -> Result<(), Stop> {
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
        }
        .into());
    };
    let bytes = read_limited(path, size_limit(&name, limits))?;
    visit_bytes(&name, bytes, kind, limits, visit)
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
    // Sized once from the file's length (`take` hides it from `read_to_end`, which would
    // otherwise grow the buffer by doubling and copying).
    let size = file.metadata().map_or(0, |m| m.len()).min(limit) as usize;
    let mut bytes = Vec::with_capacity(size + 1);
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
fn walk_dir(dir: &Path, limits: &Limits, visit: &mut Visit<'_>) -> Result<(), Stop> {
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
                    }
                    .into());
                }
                // Reading one oversized file is a malformed record, not a failed import.
                let label = path.to_string_lossy();
                let limit = size_limit(&label, limits);
                match read_limited(&path, limit) {
                    Ok(bytes) => visit_bytes(&label, bytes, kind, limits, visit)?,
                    Err(Error::TooLarge { .. }) => {
                        let reason = format!("larger than {limit} bytes");
                        visit(&label, reason.into_bytes(), Format::Json)?;
                    }
                    Err(e) => return Err(e.into()),
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
) -> Result<(), Stop> {
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
        }
        .into());
    }
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
        let mut buf = Vec::with_capacity(entry.size().min(limit + 1) as usize);
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
            }
            .into());
        }
        visit_bytes(&file, buf, kind, limits, visit)?;
    }
    Ok(())
}

/// Downloads `url` to a temporary file (bounded by [`Limits::max_download_bytes`]) and
/// reads it as a zip archive or a single record.
fn read_url(url: &str, options: &ImportOptions, visit: &mut Visit<'_>) -> Result<(), Stop> {
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
        }
        .into());
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
        }
        .into());
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
        }
        .into());
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
        }
        .into());
    }
    let mut bytes = Vec::new();
    tmp.read_to_end(&mut bytes).map_err(|e| Error::io(url, e))?;
    let kind = record_kind(path_part).unwrap_or((Format::Json, false));
    visit_bytes(url, bytes, kind, &options.limits, visit)
}
