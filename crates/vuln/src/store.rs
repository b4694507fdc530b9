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
//! (SQLite "Atomic Commit In SQLite", sections 3–4).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use crate::Error;
use crate::osv::Advisory;
use crate::severity::{Rating, Severity};

/// Bumped whenever the tables change shape; an older file must be re-imported.
const SCHEMA_VERSION: &str = "1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source (
  location TEXT PRIMARY KEY, imported_at INTEGER NOT NULL, records INTEGER NOT NULL,
  added INTEGER NOT NULL, updated INTEGER NOT NULL, unchanged INTEGER NOT NULL,
  malformed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS advisory (
  id TEXT PRIMARY KEY, modified INTEGER NOT NULL, modified_text TEXT NOT NULL,
  published TEXT, withdrawn TEXT, summary TEXT NOT NULL, aliases TEXT NOT NULL,
  severity TEXT NOT NULL, score REAL, severity_source TEXT, vector TEXT, url TEXT,
  source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS affected (
  advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL,
  package TEXT NOT NULL, ranges TEXT NOT NULL, informational TEXT,
  severity TEXT, score REAL, severity_source TEXT);
CREATE INDEX IF NOT EXISTS affected_by_package ON affected (ecosystem, name);
CREATE INDEX IF NOT EXISTS affected_by_advisory ON affected (advisory_id);
";

/// An open advisory database.
#[derive(Debug)]
pub struct Database {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
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
    pub(crate) summary: String,
    pub(crate) url: Option<String>,
    pub(crate) rating: Rating,
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
        };
        db.check_schema()?;
        Ok(db)
    }

    /// Opens a database for import, creating the file and its directory if needed.
    ///
    /// An existing file that is not a vouch database is refused ([`Error::DatabaseCorrupt`])
    /// rather than overwritten.
    pub fn open_or_create(path: &Path) -> Result<Self, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let existed = path.exists() && std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        let conn = Connection::open(path).map_err(|e| corrupt(path, &e))?;
        let db = Self {
            conn,
            path: path.to_owned(),
        };
        if existed {
            db.check_schema()?;
        } else {
            db.conn.execute_batch(SCHEMA).map_err(|e| db.sql(e))?;
            db.conn
                .execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(|e| db.sql(e))?;
        }
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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
        let aliases = serde_json::to_string(&adv.aliases).unwrap_or_else(|_| "[]".into());
        tx.prepare_cached(
            "INSERT OR REPLACE INTO advisory (id, modified, modified_text, published, withdrawn,
               summary, aliases, severity, score, severity_source, vector, url, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            adv.id,
            adv.modified,
            adv.modified_text,
            adv.published,
            adv.withdrawn,
            adv.summary,
            aliases,
            adv.rating.severity.as_str(),
            adv.rating.score,
            adv.rating.source,
            adv.rating.vector,
            adv.url,
            source,
        ])?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO affected (advisory_id, ecosystem, name, package, ranges, informational,
               severity, score, severity_source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for e in &adv.affected {
            insert.execute(params![
                adv.id,
                e.ecosystem,
                e.name,
                e.package,
                e.ranges,
                e.informational,
                e.rating.as_ref().map(|r| r.severity.as_str()),
                e.rating.as_ref().and_then(|r| r.score),
                e.rating.as_ref().and_then(|r| r.source.clone()),
            ])?;
        }
        Ok(outcome)
    }

    /// The advisories naming `name` (already normalised) in `ecosystem` (an
    /// [`crate::ecosystem_key`]).
    pub(crate) fn candidates(&self, ecosystem: &str, name: &str) -> Result<Vec<Candidate>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.withdrawn, a.aliases, a.summary, a.url, a.severity, a.score,
                        a.severity_source, a.vector, f.ecosystem, f.package, f.ranges,
                        f.informational, f.severity, f.score, f.severity_source
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
                };
                let entry_sev: Option<String> = r.get(13)?;
                let rating = match entry_sev {
                    Some(s) => Rating {
                        severity: parse_sev(&s),
                        score: r.get(14)?,
                        source: r.get(15)?,
                        vector: None,
                    },
                    None => record,
                };
                let aliases: String = r.get(2)?;
                Ok(Candidate {
                    id: r.get(0)?,
                    withdrawn: r.get::<_, Option<String>>(1)?.is_some(),
                    aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                    summary: r.get(3)?,
                    url: r.get(4)?,
                    rating,
                    package: r.get(10)?,
                    ranges: r.get(11)?,
                    informational: r.get(12)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
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
                "SELECT location, imported_at, records, added, updated, unchanged, malformed
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
        let size_bytes = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        Ok(Status {
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
