//! The advisory store: one SQLite file.
//!
//! Tables: `advisory` (one row per OSV id, with its rating and aliases), `affected` (one row
//! per `affected[]` entry, indexed by `(ecosystem, name)` so a scan reads only the rows of
//! the packages it looks up), `source` (what was imported from where, when) and `meta`
//! (schema version). Affected ranges are kept as the record's JSON and validated again at
//! match time by `vouch-version`, so the store never holds a half-understood range.
//!
//! Writes happen in one transaction per import ([`Database::import`]): SQLite's rollback
//! journal guarantees that a crash or kill part-way leaves the previous contents intact
//! (SQLite "Atomic Commit In SQLite", sections 3–4). A new database is imported into a
//! temporary file that is synced and renamed into place only once complete, so its path
//! never holds a half-imported file (rename(2) replaces the name atomically).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use crate::Error;
use crate::osv::Advisory;
use crate::severity::{Rating, Severity};

/// The schema version this build writes and reads (stored in the file's `meta` table).
/// Bumped whenever the tables change shape; an older file must be re-imported.
pub const SCHEMA_VERSION: &str = "2";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source (
  location TEXT PRIMARY KEY, imported_at INTEGER NOT NULL, records INTEGER NOT NULL,
  added INTEGER NOT NULL, updated INTEGER NOT NULL, unchanged INTEGER NOT NULL,
  malformed INTEGER NOT NULL, kind TEXT NOT NULL, newest TEXT);
CREATE TABLE IF NOT EXISTS advisory (
  id TEXT PRIMARY KEY, modified INTEGER NOT NULL, modified_text TEXT NOT NULL,
  published TEXT, withdrawn TEXT, summary TEXT NOT NULL, aliases TEXT NOT NULL,
  related TEXT NOT NULL,
  severity TEXT NOT NULL, score REAL, severity_source TEXT, vector TEXT, url TEXT,
  source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS affected (
  advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL,
  package TEXT NOT NULL, ranges TEXT NOT NULL, informational TEXT,
  severity TEXT, score REAL, severity_source TEXT, vector TEXT, distro INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rating (
  id TEXT NOT NULL, provider TEXT NOT NULL, modified INTEGER NOT NULL,
  severity TEXT NOT NULL, score REAL, kind TEXT, vector TEXT, origin TEXT,
  source TEXT NOT NULL, PRIMARY KEY (id, provider));
CREATE TABLE IF NOT EXISTS epss (cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kev (
  cve TEXT PRIMARY KEY, date_added TEXT NOT NULL, due_date TEXT, ransomware INTEGER NOT NULL,
  name TEXT);
";

/// The indexes of `affected`: by package (what a scan reads) and by advisory (what an
/// updated record's old rows are deleted by). Their own constant so an import into an
/// empty table can build them once after the load ([`Database::import`]): SQLite builds an
/// index from sorted keys much faster than it inserts 200,000 keys in random order.
pub(crate) const AFFECTED_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS affected_by_package ON affected (ecosystem, name);
CREATE INDEX IF NOT EXISTS affected_by_advisory ON affected (advisory_id);
";

/// An open advisory database.
#[derive(Debug)]
pub struct Database {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    /// A new database that is not at `path` yet: `conn` writes this temporary file beside
    /// it, which the first successful import syncs and renames to `path`
    /// ([`Database::publish`]); dropped unpublished, it is deleted. So a path holds either
    /// nothing or a completely imported database, never an empty or half-written one that
    /// a scan would read as "no vulnerabilities".
    pub(crate) pending: Option<tempfile::TempPath>,
}

/// What happened to one record during an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    Added,
    Updated,
    Unchanged,
}

/// A candidate advisory for one package, as read from the store.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) id: String,
    pub(crate) withdrawn: bool,
    pub(crate) aliases: Vec<String>,
    pub(crate) related: Vec<String>,
    pub(crate) summary: String,
    pub(crate) url: Option<String>,
    /// The record's CVSS/GHSA rating (or the entry's own CVSS).
    pub(crate) rating: Rating,
    /// The distro's rating of this entry, if any.
    pub(crate) distro_rating: Option<Rating>,
    pub(crate) package: String,
    pub(crate) ranges: String,
    pub(crate) informational: Option<String>,
}

/// Summary of a database for `vouch db status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The database file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Advisories stored (withdrawn ones included).
    pub advisories: u64,
    /// Of those, withdrawn.
    pub withdrawn: u64,
    /// Advisories per ecosystem (an advisory affecting two ecosystems counts in both).
    pub ecosystems: Vec<EcosystemCount>,
    /// Import sources, most recent first.
    pub sources: Vec<SourceInfo>,
    /// Newest `modified` time of any advisory (RFC 3339, as written in the record).
    pub newest_modified: Option<String>,
    /// Seconds since the most recent import.
    pub age_seconds: Option<u64>,
    /// Schema version recorded in the file.
    pub schema_version: String,
    /// Seconds between the newest `modified` of any advisory and now: how old the data
    /// itself is, whatever the time it was imported (what `--max-db-age` checks).
    pub data_age_seconds: Option<u64>,
    /// CVE ratings held from NVD / CVEList imports.
    pub cve_ratings: u64,
    /// EPSS scores held.
    pub epss_scores: u64,
    /// CISA KEV entries held.
    pub kev_entries: u64,
}

/// One line of [`Status::ecosystems`].
#[derive(Debug, Clone, Serialize)]
pub struct EcosystemCount {
    /// Ecosystem, e.g. `PyPI`, `Debian:12`.
    pub ecosystem: String,
    /// Advisories with at least one entry in it.
    pub advisories: u64,
    /// Distinct packages named.
    pub packages: u64,
}

/// One line of [`Status::sources`].
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    /// Path or URL as given to the import.
    pub location: String,
    /// When it was last imported (seconds since the Unix epoch).
    pub imported_at: u64,
    /// Records read from it in its last import.
    pub records: u64,
    /// Of those, new.
    pub added: u64,
    /// Of those, replacing an older version (newer `modified`).
    pub updated: u64,
    /// Of those, already present with the same or a newer `modified`.
    pub unchanged: u64,
    /// Records rejected as malformed.
    pub malformed: u64,
    /// What it held: `osv`, `nvd`, `cvelist`, `epss`, `kev` (joined by `+` when mixed).
    pub kind: String,
    /// Newest date the source's records carry (`modified`, `lastModified`, score date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Seconds from `newest` to now, when it parses as a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_seconds: Option<u64>,
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Database {
    /// Opens an existing database for reading (what a scan does).
    ///
    /// Fails with [`Error::DatabaseMissing`] if there is no file and
    /// [`Error::DatabaseCorrupt`] if it is not a vouch database of this version; both
    /// messages tell the user how to import.
    pub fn open(path: &Path) -> Result<Self, Error> {
        if !path.exists() {
            return Err(Error::DatabaseMissing {
                path: path.to_owned(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| corrupt(path, &e))?;
        let db = Self {
            conn,
            path: path.to_owned(),
            pending: None,
        };
        db.check_schema()?;
        Ok(db)
    }

    /// Opens a database for import, creating its directory if needed.
    ///
    /// An existing file is updated in place (each import is one transaction). For a path
    /// with no file, the database is built in a temporary file in the same directory and
    /// appears at `path` only when the first import succeeds; until then `path` stays
    /// absent, and dropping the database without a successful import leaves nothing.
    ///
    /// An existing file that is not a vouch database is refused ([`Error::DatabaseCorrupt`])
    /// rather than overwritten.
    pub fn open_or_create(path: &Path) -> Result<Self, Error> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let existed = path.exists() && std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        if existed {
            let conn = Connection::open(path).map_err(|e| corrupt(path, &e))?;
            let db = Self {
                conn,
                path: path.to_owned(),
                pending: None,
            };
            db.check_schema()?;
            return Ok(db);
        }
        // Beside the target, so the final rename stays within one file system.
        let name = path
            .file_name()
            .map_or_else(|| "vuln.db".into(), |n| n.to_string_lossy());
        let pending = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".importing")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?
            .into_temp_path();
        let conn = Connection::open(&pending).map_err(|e| corrupt(&pending, &e))?;
        let db = Self {
            conn,
            path: path.to_owned(),
            pending: Some(pending),
        };
        db.conn.execute_batch(SCHEMA).map_err(|e| db.sql(e))?;
        db.conn
            .execute_batch(AFFECTED_INDEXES)
            .map_err(|e| db.sql(e))?;
        db.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?1)",
                [SCHEMA_VERSION],
            )
            .map_err(|e| db.sql(e))?;
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes a new database (imported into [`Database::pending`] with the journal in
    /// memory and no fsyncs) durable and visible: fsync the file, rename it to the
    /// database's path, fsync the directory so the rename survives a crash, and reopen the
    /// connection there (SQLite names its rollback journal after the path it opened, so
    /// later imports through this value must use the final name).
    pub(crate) fn publish(&mut self) -> Result<(), Error> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        std::fs::File::open(&pending)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&*pending, e))?;
        pending.persist(&self.path).map_err(|e| Error::Io {
            path: self.path.clone(),
            source: e.error,
        })?;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
        self.conn = Connection::open(&self.path).map_err(|e| self.sql(e))?;
        Ok(())
    }

    fn check_schema(&self) -> Result<(), Error> {
        let version: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| corrupt(&self.path, &e))?;
        match version.as_deref() {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(other) => Err(Error::DatabaseCorrupt {
                path: self.path.clone(),
                reason: format!(
                    "schema version {other}, this vouch reads version {SCHEMA_VERSION}"
                ),
            }),
            None => Err(Error::DatabaseCorrupt {
                path: self.path.clone(),
                reason: "no schema version recorded".into(),
            }),
        }
    }

    pub(crate) fn sql(&self, source: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Inserts or replaces `adv` unless the stored copy is as new or newer.
    pub(crate) fn upsert(
        tx: &rusqlite::Transaction<'_>,
        adv: &Advisory,
        source: &str,
    ) -> rusqlite::Result<Upsert> {
        let existing: Option<i64> = tx
            .prepare_cached("SELECT modified FROM advisory WHERE id = ?1")?
            .query_row([&adv.id], |r| r.get(0))
            .optional()?;
        let outcome = match existing {
            Some(m) if m >= adv.modified => return Ok(Upsert::Unchanged),
            Some(_) => {
                tx.prepare_cached("DELETE FROM affected WHERE advisory_id = ?1")?
                    .execute([&adv.id])?;
                Upsert::Updated
            }
            None => Upsert::Added,
        };
        tx.prepare_cached(
            "INSERT OR REPLACE INTO advisory (id, modified, modified_text, published, withdrawn,
               summary, aliases, related, severity, score, severity_source, vector, url, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            adv.id,
            adv.modified,
            adv.modified_text,
            adv.published,
            adv.withdrawn,
            adv.summary,
            adv.aliases_json,
            adv.related_json,
            adv.rating.severity.as_str(),
            adv.rating.score,
            adv.rating.source,
            adv.rating.vector,
            adv.url,
            source,
        ])?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO affected (advisory_id, ecosystem, name, package, ranges, informational,
               severity, score, severity_source, vector, distro)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for e in &adv.affected {
            // One rating column set per entry: the distro's word if it gave one (it wins
            // for this distro), else the entry's own CVSS.
            let (rating, distro) = match (&e.distro_rating, &e.cvss) {
                (Some(r), _) => (Some(r), true),
                (None, Some(r)) => (Some(r), false),
                (None, None) => (None, false),
            };
            insert.execute(params![
                adv.id,
                e.ecosystem,
                e.name,
                e.package,
                e.ranges,
                e.informational,
                rating.map(|r| r.severity.as_str()),
                rating.and_then(|r| r.score),
                rating.and_then(|r| r.source.clone()),
                rating.and_then(|r| r.vector.clone()),
                distro,
            ])?;
        }
        Ok(outcome)
    }

    /// Stores a CVE rating from NVD or CVEList unless the stored one is as new or newer.
    pub(crate) fn upsert_rating(
        tx: &rusqlite::Transaction<'_>,
        r: &crate::feeds::CveRating,
        source: &str,
    ) -> rusqlite::Result<Upsert> {
        let existing: Option<i64> = tx
            .prepare_cached("SELECT modified FROM rating WHERE id = ?1 AND provider = ?2")?
            .query_row([&r.id, r.provider], |row| row.get(0))
            .optional()?;
        let outcome = match existing {
            Some(m) if m >= r.modified => return Ok(Upsert::Unchanged),
            Some(_) => Upsert::Updated,
            None => Upsert::Added,
        };
        let rating = r.rating.clone().unwrap_or_else(Rating::unknown);
        tx.prepare_cached(
            "INSERT OR REPLACE INTO rating (id, provider, modified, severity, score, kind, vector,
               origin, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            r.id,
            r.provider,
            r.modified,
            rating.severity.as_str(),
            rating.score,
            rating.source,
            rating.vector,
            rating.from,
            source,
        ])?;
        Ok(outcome)
    }

    /// Stores an EPSS score (each EPSS file is a full daily snapshot: the newest import wins).
    pub(crate) fn put_epss(
        tx: &rusqlite::Transaction<'_>,
        row: &crate::feeds::EpssRow,
    ) -> rusqlite::Result<Upsert> {
        let old: Option<(f64, f64)> = tx
            .prepare_cached("SELECT score, percentile FROM epss WHERE cve = ?1")?
            .query_row([&row.cve], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if old == Some((row.score, row.percentile)) {
            return Ok(Upsert::Unchanged);
        }
        tx.prepare_cached(
            "INSERT OR REPLACE INTO epss (cve, score, percentile) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![row.cve, row.score, row.percentile])?;
        Ok(if old.is_some() {
            Upsert::Updated
        } else {
            Upsert::Added
        })
    }

    /// Stores a KEV entry.
    pub(crate) fn put_kev(
        tx: &rusqlite::Transaction<'_>,
        row: &crate::feeds::KevRow,
    ) -> rusqlite::Result<Upsert> {
        let old: Option<String> = tx
            .prepare_cached("SELECT date_added FROM kev WHERE cve = ?1")?
            .query_row([&row.cve], |r| r.get(0))
            .optional()?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO kev (cve, date_added, due_date, ransomware, name)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            row.cve,
            row.date_added,
            row.due_date,
            row.ransomware,
            row.name
        ])?;
        Ok(match old {
            Some(d) if d == row.date_added => Upsert::Unchanged,
            Some(_) => Upsert::Updated,
            None => Upsert::Added,
        })
    }

    /// The best rating the database holds for any of `ids` from a record other than the
    /// finding's own: an OSV record with that id (`CVE-*` records converted from NVD or
    /// CVEList, or any other record named as upstream), else an NVD rating, else a CVEList
    /// one. Among several ids the highest severity wins (a DSA fixing three CVEs is as
    /// severe as the worst of them).
    pub(crate) fn related_rating(&self, ids: &[&str]) -> Result<Option<Rating>, Error> {
        let mut best: Option<(u8, Rating)> = None;
        let mut consider = |rank: u8, r: Rating| {
            let better = match &best {
                None => true,
                Some((brank, b)) => {
                    (r.severity, std::cmp::Reverse(rank)) > (b.severity, std::cmp::Reverse(*brank))
                }
            };
            if better {
                best = Some((rank, r));
            }
        };
        let mut osv = self
            .conn
            .prepare_cached(
                "SELECT severity, score, severity_source, vector FROM advisory
                 WHERE id = ?1 AND withdrawn IS NULL AND severity != 'unknown'",
            )
            .map_err(|e| self.sql(e))?;
        let mut cve = self
            .conn
            .prepare_cached(
                "SELECT severity, score, kind, vector, origin, provider FROM rating
                 WHERE id = ?1 AND severity != 'unknown'",
            )
            .map_err(|e| self.sql(e))?;
        for id in ids {
            let found = osv
                .query_row([id], |r| {
                    Ok(Rating {
                        severity: parse_sev(r.get::<_, String>(0)?.as_str()),
                        score: r.get(1)?,
                        source: r.get(2)?,
                        vector: r.get(3)?,
                        from: Some(format!("{id} (OSV)")),
                    })
                })
                .optional()
                .map_err(|e| self.sql(e))?;
            if let Some(r) = found {
                consider(0, r);
            }
            let rows = cve
                .query_map([id], |r| {
                    let provider: String = r.get(5)?;
                    Ok((
                        u8::from(provider != "NVD") + 1,
                        Rating {
                            severity: parse_sev(r.get::<_, String>(0)?.as_str()),
                            score: r.get(1)?,
                            source: r.get(2)?,
                            vector: r.get(3)?,
                            from: r.get(4)?,
                        },
                    ))
                })
                .map_err(|e| self.sql(e))?;
            for row in rows {
                let (rank, r) = row.map_err(|e| self.sql(e))?;
                consider(rank, r);
            }
        }
        Ok(best.map(|(_, r)| r))
    }

    /// EPSS score and percentile of a CVE.
    pub(crate) fn epss(&self, cve: &str) -> Result<Option<(f64, f64)>, Error> {
        self.conn
            .prepare_cached("SELECT score, percentile FROM epss WHERE cve = ?1")
            .and_then(|mut s| {
                s.query_row([cve], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.sql(e))
    }

    /// KEV entry of a CVE: date added, due date, known ransomware use.
    pub(crate) fn kev(&self, cve: &str) -> Result<Option<(String, Option<String>, bool)>, Error> {
        self.conn
            .prepare_cached("SELECT date_added, due_date, ransomware FROM kev WHERE cve = ?1")
            .and_then(|mut s| {
                s.query_row([cve], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(|e| self.sql(e))
    }

    /// Whether the `epss` or `kev` table holds any row.
    pub(crate) fn table_has_rows(&self, table: &'static str) -> Result<bool, Error> {
        let sql = match table {
            "epss" => "SELECT EXISTS (SELECT 1 FROM epss)",
            _ => "SELECT EXISTS (SELECT 1 FROM kev)",
        };
        self.conn
            .query_row(sql, [], |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    /// Whether any advisory names a package in `ecosystem` (an [`crate::ecosystem_key`]).
    pub(crate) fn has_ecosystem(&self, ecosystem: &str) -> Result<bool, Error> {
        self.conn
            .prepare_cached("SELECT 1 FROM affected WHERE ecosystem = ?1 LIMIT 1")
            .and_then(|mut s| s.exists([ecosystem]))
            .map_err(|e| self.sql(e))
    }

    /// The advisories naming `name` (already normalised) in `ecosystem` (an
    /// [`crate::ecosystem_key`]).
    pub(crate) fn candidates(&self, ecosystem: &str, name: &str) -> Result<Vec<Candidate>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.withdrawn, a.aliases, a.summary, a.url, a.severity, a.score,
                        a.severity_source, a.vector, f.ecosystem, f.package, f.ranges,
                        f.informational, f.severity, f.score, f.severity_source, f.vector,
                        f.distro, a.related
                 FROM affected f JOIN advisory a ON a.id = f.advisory_id
                 WHERE f.ecosystem = ?1 AND f.name = ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([ecosystem, name], |r| {
                let record = Rating {
                    severity: parse_sev(r.get::<_, String>(5)?.as_str()),
                    score: r.get(6)?,
                    source: r.get(7)?,
                    vector: r.get(8)?,
                    from: None,
                };
                let entry_sev: Option<String> = r.get(13)?;
                let entry = entry_sev.map(|s| -> rusqlite::Result<Rating> {
                    Ok(Rating {
                        severity: parse_sev(&s),
                        score: r.get(14)?,
                        source: r.get(15)?,
                        vector: r.get(16)?,
                        from: None,
                    })
                });
                let entry = entry.transpose()?;
                let distro: bool = r.get(17)?;
                let (rating, distro_rating) = match entry {
                    Some(e) if distro => (record, Some(e)),
                    Some(e) => (e, None),
                    None => (record, None),
                };
                let aliases: String = r.get(2)?;
                let related: String = r.get(18)?;
                Ok(Candidate {
                    id: r.get(0)?,
                    withdrawn: r.get::<_, Option<String>>(1)?.is_some(),
                    aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                    related: serde_json::from_str(&related).unwrap_or_default(),
                    summary: r.get(3)?,
                    url: r.get(4)?,
                    rating,
                    distro_rating,
                    package: r.get(10)?,
                    ranges: r.get(11)?,
                    informational: r.get(12)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// How old the advisory data is: seconds from the newest `modified` of any OSV source
    /// to now (`None` when nothing was imported). Read from the `source` table, so it costs
    /// one small query (what `vouch scan --max-db-age` checks).
    pub fn data_age_seconds(&self) -> Result<Option<u64>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT newest FROM source WHERE kind LIKE '%osv%' AND newest IS NOT NULL",
            )
            .map_err(|e| self.sql(e))?;
        let newest = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e))?;
        Ok(newest.iter().filter_map(|t| age_of(t)).min())
    }

    /// Counts, sources and age, for `vouch db status`.
    pub fn status(&self) -> Result<Status, Error> {
        let q = |sql: &str| -> Result<u64, Error> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| self.sql(e))
        };
        let advisories = q("SELECT count(*) FROM advisory")?;
        let withdrawn = q("SELECT count(*) FROM advisory WHERE withdrawn IS NOT NULL")?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT ecosystem, count(DISTINCT advisory_id), count(DISTINCT name) FROM affected
                 GROUP BY ecosystem ORDER BY ecosystem",
            )
            .map_err(|e| self.sql(e))?;
        let ecosystems = stmt
            .query_map([], |r| {
                Ok(EcosystemCount {
                    ecosystem: r.get(0)?,
                    advisories: r.get::<_, i64>(1)? as u64,
                    packages: r.get::<_, i64>(2)? as u64,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e))?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT location, imported_at, records, added, updated, unchanged, malformed,
                        kind, newest
                 FROM source ORDER BY imported_at DESC, location",
            )
            .map_err(|e| self.sql(e))?;
        let sources = stmt
            .query_map([], |r| {
                Ok(SourceInfo {
                    location: r.get(0)?,
                    imported_at: r.get::<_, i64>(1)? as u64,
                    records: r.get::<_, i64>(2)? as u64,
                    added: r.get::<_, i64>(3)? as u64,
                    updated: r.get::<_, i64>(4)? as u64,
                    unchanged: r.get::<_, i64>(5)? as u64,
                    malformed: r.get::<_, i64>(6)? as u64,
                    kind: r.get(7)?,
                    data_age_seconds: r.get::<_, Option<String>>(8)?.as_deref().and_then(age_of),
                    newest: r.get(8)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e))?;
        let newest_modified: Option<String> = self
            .conn
            .query_row(
                "SELECT modified_text FROM advisory ORDER BY modified DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let age_seconds = sources
            .iter()
            .map(|s| s.imported_at)
            .max()
            .map(|t| now_secs().saturating_sub(t));
        let file = self.pending.as_deref().unwrap_or(&self.path);
        let size_bytes = std::fs::metadata(file).map_or(0, |m| m.len());
        let schema_version: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        let data_age_seconds = newest_modified.as_deref().and_then(age_of);
        Ok(Status {
            schema_version,
            data_age_seconds,
            cve_ratings: q("SELECT count(*) FROM rating")?,
            epss_scores: q("SELECT count(*) FROM epss")?,
            kev_entries: q("SELECT count(*) FROM kev")?,
            path: self.path.clone(),
            size_bytes,
            advisories,
            withdrawn,
            ecosystems,
            sources,
            newest_modified,
            age_seconds,
        })
    }
}

/// Seconds from an RFC 3339 time (or NVD's offset-less form, or EPSS's `+0000`) to now.
fn age_of(text: &str) -> Option<u64> {
    let t = crate::osv::parse_rfc3339(text)
        .or_else(|| crate::osv::parse_rfc3339(&format!("{text}Z")))
        .or_else(|| {
            // EPSS writes `2024-03-01T00:00:00+0000`.
            let (head, off) = text.split_at(text.len().checked_sub(5)?);
            let (sign, digits) = off.split_at(1);
            if !matches!(sign, "+" | "-") {
                return None;
            }
            crate::osv::parse_rfc3339(&format!("{head}{sign}{}:{}", &digits[..2], &digits[2..]))
        })?;
    let secs = t.div_euclid(1_000_000);
    Some(now_secs().saturating_sub(u64::try_from(secs).ok()?))
}

fn parse_sev(s: &str) -> Severity {
    s.parse().unwrap_or(Severity::Unknown)
}

fn corrupt(path: &Path, e: &rusqlite::Error) -> Error {
    Error::DatabaseCorrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// The default database path: `$VOUCH_DB` is handled by the CLI; this is
/// `$XDG_DATA_HOME/vouch/vuln.db`, else `$HOME/.local/share/vouch/vuln.db` (XDG Base
/// Directory Specification), else `./vouch-vuln.db`.
pub fn default_db_path() -> PathBuf {
    let from_env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = from_env("XDG_DATA_HOME") {
        return d.join("vouch").join("vuln.db");
    }
    if let Some(h) = from_env("HOME") {
        return h.join(".local").join("share").join("vouch").join("vuln.db");
    }
    PathBuf::from("vouch-vuln.db")
}
