//! The parallel import (files decoded on several threads, rows written on one) against the
//! serial one, and the new-database path (built beside the target, renamed in when done).

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{data, scan, write};
use vouch_vuln::{Database, Error, ImportOptions, ImportReport, Limits, Source};

fn record(id: &str, modified: &str, name: &str, fixed: &str) -> String {
    format!(
        r#"{{"id": "{id}", "modified": "{modified}", "aliases": ["CVE-{id}"],
            "affected": [{{"package": {{"ecosystem": "PyPI", "name": "{name}"}},
              "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#
    )
}

fn zip_of(records: &[(String, String)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in records {
        w.start_file(name.as_str(), opts).expect("start_file");
        w.write_all(text.as_bytes()).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

/// Every row of every table, in storage (insertion) order, as text; `source.imported_at`
/// (the clock) left out.
fn dump(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut out = Vec::new();
    for table in [
        "meta", "source", "advisory", "affected", "rating", "epss", "kev",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
            .expect("select");
        let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let rows = stmt
            .query_map([], |r| {
                let mut line = format!("{table}:");
                for (i, name) in names.iter().enumerate() {
                    if name != "imported_at" {
                        let v: rusqlite::types::Value = r.get(i)?;
                        line.push_str(&format!(" {name}={v:?}"));
                    }
                }
                Ok(line)
            })
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("row");
        out.extend(rows);
    }
    out
}

/// Sources whose result depends on the order records are written in: 400 small files
/// where later files carry the same ids with newer or older `modified` (so each copy is
/// added, updated or left unchanged depending on what came before), malformed files, a
/// JSON array, and a zip repeating ids; plus every real record shape in tests/data.
fn corpus(dir: &Path) -> Vec<Source> {
    let files = dir.join("files");
    std::fs::create_dir_all(&files).expect("mkdir");
    for k in 0..400usize {
        let day = 1 + (k * 7) % 28;
        let text = if k % 97 == 13 {
            format!("{{\"id\": \"BAD-{k}\", \"modified\": \"day {day}\"}}")
        } else {
            record(
                &format!("G-{}", k % 150),
                &format!("2024-01-{day:02}T00:00:00Z"),
                &format!("pkg{}", k % 40),
                &format!("{}.0", 1 + k % 9),
            )
        };
        write(&files, &format!("g{k:04}.json"), &text);
    }
    let array: Vec<String> = (0..50)
        .map(|k| record(&format!("G-{k}"), "2024-02-01T00:00:00Z", "arrayed", "5.0"))
        .collect();
    write(&files, "zz-array.json", &format!("[{}]", array.join(",")));
    let zipped: Vec<(String, String)> = (0..200)
        .map(|k| {
            (
                format!("Z-{k}.json"),
                record(
                    &format!("G-{}", k % 170),
                    &format!("2024-01-{:02}T12:00:00Z", 1 + (k * 11) % 28),
                    "zipped",
                    "3.0",
                ),
            )
        })
        .collect();
    let zip = dir.join("all.zip");
    std::fs::write(&zip, zip_of(&zipped)).expect("write zip");
    vec![
        Source::Path(data("")),
        Source::Path(files),
        Source::Path(zip),
    ]
}

fn import_with(decoders: usize, sources: &[Source]) -> (tempfile::TempDir, PathBuf, ImportReport) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vuln.db");
    let mut db = Database::open_or_create(&path).expect("create");
    let options = ImportOptions {
        decoders: Some(decoders),
        ..ImportOptions::default()
    };
    let report = db.import(sources, &options).expect("import");
    (dir, path, report)
}

#[test]
fn parallel_import_writes_the_same_rows_as_a_serial_one() {
    let src = tempfile::tempdir().expect("tempdir");
    let sources = corpus(src.path());
    let (_serial_dir, serial, serial_report) = import_with(0, &sources);
    let serial_rows = dump(&serial);
    // The corpus exercises every outcome, so the order of writes shows in the result.
    let s = &serial_report.sources[1];
    assert!(
        s.added > 0 && s.updated > 0 && s.unchanged > 0 && s.malformed > 0,
        "{s:?}"
    );
    assert!(serial_report.sources[2].updated > 0 && serial_report.sources[2].unchanged > 0);
    assert!(serial_rows.iter().any(|r| r.starts_with("rating:")));
    assert!(serial_rows.iter().any(|r| r.starts_with("kev:")));
    let purls = [
        "pkg:pypi/pkg3@0.5",
        "pkg:pypi/arrayed@1.0",
        "pkg:pypi/zipped@1.0",
        "pkg:pypi/jinja2@2.11.2",
        "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bdeb11u1?upstream=zlib&distro=debian-11",
    ];
    let serial_scan =
        serde_json::to_value(scan(&Database::open(&serial).expect("open"), &purls)).expect("json");
    assert!(serial_scan["findings"].as_array().expect("findings").len() > 5);

    for decoders in [1, 3] {
        let (_dir, parallel, report) = import_with(decoders, &sources);
        assert_eq!(
            serde_json::to_value(&report).expect("json"),
            serde_json::to_value(&serial_report).expect("json"),
            "{decoders} decoders: report"
        );
        let rows = dump(&parallel);
        assert_eq!(rows.len(), serial_rows.len(), "{decoders} decoders: rows");
        for (a, b) in rows.iter().zip(&serial_rows) {
            assert_eq!(a, b, "{decoders} decoders");
        }
        let scanned = serde_json::to_value(scan(&Database::open(&parallel).expect("open"), &purls))
            .expect("json");
        assert_eq!(scanned, serial_scan, "{decoders} decoders: scan");
    }
}

/// What is in `dir` besides `keep`.
fn others(dir: &Path, keep: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != keep)
        .collect();
    names.sort();
    names
}

#[test]
fn a_new_database_appears_only_when_its_first_import_is_complete() {
    let src = tempfile::tempdir().expect("tempdir");
    let good = write(
        src.path(),
        "A-1.json",
        &record("A-1", "2024-01-01T00:00:00Z", "first", "2.0"),
    );
    // A zip whose last entry is over the record limit: the reader fails after the
    // writer has stored the entries before it.
    let mut entries: Vec<(String, String)> = (0..300)
        .map(|k| {
            (
                format!("B-{k}.json"),
                record(&format!("B-{k}"), "2024-01-01T00:00:00Z", "zipped", "2.0"),
            )
        })
        .collect();
    entries.push(("HUGE.json".into(), format!("{:4096}", " ")));
    let bad_zip = src.path().join("bad.zip");
    std::fs::write(&bad_zip, zip_of(&entries)).expect("zip");
    let limits = Limits {
        max_record_bytes: 2048,
        ..Limits::default()
    };

    for decoders in [0, 2] {
        let options = ImportOptions {
            decoders: Some(decoders),
            limits,
            ..ImportOptions::default()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vuln.db");
        let mut db = Database::open_or_create(&path).expect("create");
        // Nothing at the path before the import: a scan is told to import, not given an
        // empty database.
        assert!(!path.exists());
        assert!(matches!(
            Database::open(&path),
            Err(Error::DatabaseMissing { .. })
        ));
        let err = db
            .import(
                &[Source::Path(good.clone()), Source::Path(bad_zip.clone())],
                &options,
            )
            .expect_err("oversized entry");
        assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
        assert!(!path.exists(), "{decoders} decoders: failed first import");

        // The same value imports again after the failure, and then the file is there,
        // complete, with its indexes, and nothing else is left in the directory.
        db.import(&[Source::Path(good.clone())], &options)
            .expect("import");
        assert!(path.exists());
        assert_eq!(db.path(), path);
        let reopened = Database::open(&path).expect("open");
        assert_eq!(reopened.status().expect("status").advisories, 1);
        assert_eq!(scan(&reopened, &["pkg:pypi/first@1.0"]).findings.len(), 1);
        assert!(
            scan(&reopened, &["pkg:pypi/zipped@1.0"])
                .findings
                .is_empty()
        );
        let conn = rusqlite::Connection::open(&path).expect("open");
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'affected' ORDER BY name")
            .expect("indexes")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("names");
        assert_eq!(indexes, ["affected_by_advisory", "affected_by_package"]);
        drop(conn);

        // A later import through the same value goes to the published file (journaled).
        let more = write(
            src.path(),
            "A-2.json",
            &record("A-2", "2024-01-01T00:00:00Z", "first", "3.0"),
        );
        db.import(&[Source::Path(more)], &options).expect("import");
        assert_eq!(scan(&reopened, &["pkg:pypi/first@1.0"]).findings.len(), 2);
        // An import that fails now leaves the published database as it was.
        let err = db
            .import(&[Source::Path(bad_zip.clone())], &options)
            .expect_err("oversized entry");
        assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
        assert!(
            scan(&reopened, &["pkg:pypi/zipped@1.0"])
                .findings
                .is_empty()
        );
        drop(db);
        assert_eq!(others(dir.path(), "vuln.db"), Vec::<String>::new());
    }

    // Dropped without an import: nothing is left behind.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open_or_create(&dir.path().join("vuln.db")).expect("create");
    drop(db);
    assert_eq!(others(dir.path(), ""), Vec::<String>::new());
}

/// A JSON array of records is decoded element by element, but a syntax error anywhere in
/// it still rejects the whole file: none of its records is stored.
#[test]
fn a_broken_json_array_rejects_the_whole_file() {
    let src = tempfile::tempdir().expect("tempdir");
    let good = record("ARR-1", "2024-01-01T00:00:00Z", "arrayed", "2.0");
    write(src.path(), "broken.json", &format!("[{good}, {{\"id\": "));
    write(src.path(), "trailing.json", &format!("[{good}] ]"));
    write(
        src.path(),
        "fine.json",
        &format!(
            " \n[{good}, {}, 7]",
            record("ARR-2", "2024-01-01T00:00:00Z", "arrayed", "3.0")
        ),
    );
    for decoders in [0, 2] {
        let (_dir, path, report) = import_with(decoders, &[Source::Path(src.path().to_owned())]);
        let mut issues: Vec<(String, String, bool)> = report
            .issues
            .iter()
            .map(|i| {
                (
                    Path::new(&i.file)
                        .file_name()
                        .expect("name")
                        .to_string_lossy()
                        .into_owned(),
                    i.field.clone(),
                    i.reason.starts_with("invalid JSON"),
                )
            })
            .collect();
        issues.sort();
        assert_eq!(
            issues,
            [
                ("broken.json".to_owned(), String::new(), true),
                ("fine.json[2]".to_owned(), String::new(), false),
                ("trailing.json".to_owned(), String::new(), true),
            ],
            "{decoders} decoders"
        );
        let db = Database::open(&path).expect("open");
        assert_eq!(db.status().expect("status").advisories, 2);
        let found = scan(&db, &["pkg:pypi/arrayed@1.0"]);
        assert_eq!(found.findings.len(), 2, "{decoders} decoders");
    }
}
