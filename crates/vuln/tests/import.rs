//! Import behaviour: malformed records, incremental re-import, zip and URL sources,
//! missing/corrupt databases, and failed imports leaving the previous database intact.

use crate::common;

use std::io::{Read, Write};
use std::path::Path;

use common::{db_with, scan, write};
use vouch_vuln::{Database, Error, ImportOptions, Source};

fn record(id: &str, modified: &str, name: &str, fixed: &str) -> String {
    format!(
        r#"{{"id": "{id}", "modified": "{modified}", "aliases": ["CVE-{id}"],
            "affected": [{{"package": {{"ecosystem": "PyPI", "name": "{name}"}},
              "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#
    )
}

#[allow(clippy::result_large_err)]
fn import(db: &mut Database, sources: &[&Path]) -> Result<vouch_vuln::ImportReport, Error> {
    let sources: Vec<Source> = sources
        .iter()
        .map(|p| Source::Path(p.to_path_buf()))
        .collect();
    db.import(&sources, &ImportOptions::default())
}

#[test]
fn malformed_records_are_reported_with_file_and_field_and_skipped() {
    let src = tempfile::tempdir().expect("tempdir");
    write(
        src.path(),
        "good.json",
        &record("GOOD-1", "2024-01-01T00:00:00Z", "demo", "2.0"),
    );
    write(src.path(), "not-json.json", "{ this is not json");
    write(
        src.path(),
        "no-modified.json",
        r#"{"id": "BAD-1", "affected": []}"#,
    );
    write(
        src.path(),
        "bad-time.json",
        r#"{"id": "BAD-2", "modified": "last tuesday"}"#,
    );
    write(
        src.path(),
        "no-name.yaml",
        "id: BAD-3\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package: {ecosystem: PyPI}\n",
    );
    write(
        src.path(),
        "bad-event.json",
        r#"{"id": "BAD-4", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12", "name": "x"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]},
                       {"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1.0"}]}]}]}"#,
    );
    write(src.path(), "README.txt", "not a record, ignored");
    let (_dir, db, report) = db_with(&[src.path().to_owned()]);

    let mut issues: Vec<(String, String)> = report
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
            )
        })
        .collect();
    issues.sort();
    assert_eq!(
        issues,
        [
            (
                "bad-event.json".to_owned(),
                "affected[0].ranges[1]".to_owned()
            ),
            ("bad-time.json".to_owned(), "modified".to_owned()),
            ("no-modified.json".to_owned(), "modified".to_owned()),
            (
                "no-name.yaml".to_owned(),
                "affected[0].package.name".to_owned()
            ),
            ("not-json.json".to_owned(), String::new()),
        ]
    );
    assert!(report.issues.iter().all(|i| !i.reason.is_empty()));
    assert_eq!(
        (
            report.sources[0].records,
            report.sources[0].added,
            report.sources[0].malformed
        ),
        (6, 1, 5)
    );
    assert_eq!(scan(&db, &["pkg:pypi/demo@1.0"]).findings.len(), 1);
}

#[test]
fn reimport_is_incremental_by_modified() {
    let src = tempfile::tempdir().expect("tempdir");
    let file = write(
        src.path(),
        "A-1.json",
        &record("A-1", "2024-01-01T00:00:00Z", "demo", "2.0"),
    );
    let (dir, mut db, first) = db_with(std::slice::from_ref(&file));
    assert_eq!(first.sources[0].added, 1);

    let again = import(&mut db, &[&file]).expect("reimport");
    assert_eq!(
        (
            again.sources[0].added,
            again.sources[0].updated,
            again.sources[0].unchanged
        ),
        (0, 0, 1)
    );

    // Newer `modified`: replaced, and the new range is what matches.
    write(
        src.path(),
        "A-1.json",
        &record("A-1", "2024-02-01T00:00:00.5+01:00", "demo", "1.5"),
    );
    let newer = import(&mut db, &[&file]).expect("newer");
    assert_eq!(newer.sources[0].updated, 1);
    assert_eq!(
        scan(&db, &["pkg:pypi/demo@1.0"]).findings[0].fixed_versions,
        ["1.5"]
    );
    assert!(scan(&db, &["pkg:pypi/demo@1.7"]).findings.is_empty());

    // Older `modified` never overwrites.
    write(
        src.path(),
        "A-1.json",
        &record("A-1", "2023-01-01T00:00:00Z", "demo", "9.0"),
    );
    let older = import(&mut db, &[&file]).expect("older");
    assert_eq!(older.sources[0].unchanged, 1);
    assert_eq!(
        scan(&db, &["pkg:pypi/demo@1.0"]).findings[0].fixed_versions,
        ["1.5"]
    );

    // A newer copy that is withdrawn stops matching.
    let withdrawn = record("A-1", "2024-03-01T00:00:00Z", "demo", "1.5").replacen(
        '{',
        r#"{"withdrawn": "2024-03-01T00:00:00Z", "#,
        1,
    );
    write(src.path(), "A-1.json", &withdrawn);
    import(&mut db, &[&file]).expect("withdrawn");
    assert!(scan(&db, &["pkg:pypi/demo@1.0"]).findings.is_empty());
    drop(dir);
}

fn zip_of(records: &[(&str, String)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in records {
        w.start_file(*name, opts).expect("start_file");
        w.write_all(text.as_bytes()).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

#[test]
fn zip_exports_import_and_a_failed_import_leaves_the_database_intact() {
    let src = tempfile::tempdir().expect("tempdir");
    let zip = src.path().join("all.zip");
    std::fs::write(
        &zip,
        zip_of(&[
            (
                "Z-1.json",
                record("Z-1", "2024-01-01T00:00:00Z", "zipped", "2.0"),
            ),
            (
                "Z-2.json",
                record("Z-2", "2024-01-01T00:00:00Z", "zipped", "3.0"),
            ),
            ("notes.txt", "skipped".into()),
        ]),
    )
    .expect("write zip");
    let (_dir, mut db, report) = db_with(std::slice::from_ref(&zip));
    assert_eq!((report.sources[0].records, report.sources[0].added), (2, 2));
    let before = db.status().expect("status");

    // Second import: a good record, then a truncated zip. The whole import fails and the
    // good record of the same run is not committed.
    let good = write(
        src.path(),
        "NEW-1.json",
        &record("NEW-1", "2024-01-01T00:00:00Z", "fresh", "2.0"),
    );
    let bytes = std::fs::read(&zip).expect("read zip");
    let broken = src.path().join("broken.zip");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).expect("write broken zip");
    let err = import(&mut db, &[&good, &broken]).expect_err("broken zip must fail");
    assert!(matches!(err, Error::Zip { .. }), "{err:?}");

    let after = db.status().expect("status");
    assert_eq!(
        (after.advisories, after.sources.len()),
        (before.advisories, before.sources.len())
    );
    assert!(scan(&db, &["pkg:pypi/fresh@1.0"]).findings.is_empty());
    assert_eq!(scan(&db, &["pkg:pypi/zipped@1.0"]).findings.len(), 2);

    // A missing path fails the same way.
    let err = import(&mut db, &[&good, &src.path().join("nope")]).expect_err("missing");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(scan(&db, &["pkg:pypi/fresh@1.0"]).findings.is_empty());
}

/// Serves `body` with `status` to each of `n` connections on a loopback port.
fn serve(status: u16, body: Vec<u8>, n: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn url_sources_from_a_loopback_server() {
    let url = serve(
        200,
        zip_of(&[(
            "U-1.json",
            record("U-1", "2024-01-01T00:00:00Z", "remote", "2.0"),
        )]),
        1,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = Database::open_or_create(&dir.path().join("v.db")).expect("db");
    let report = db
        .import(
            &[Source::parse(&format!("{url}/PyPI/all.zip"))],
            &ImportOptions::default(),
        )
        .expect("import");
    assert_eq!(report.sources[0].added, 1);
    assert_eq!(report.sources[0].location, format!("{url}/PyPI/all.zip"));
    assert_eq!(scan(&db, &["pkg:pypi/remote@1.0"]).findings.len(), 1);

    let url = serve(404, b"no".to_vec(), 1);
    let err = db
        .import(
            &[Source::parse(&format!("{url}/x.json"))],
            &ImportOptions::default(),
        )
        .expect_err("404");
    assert!(
        matches!(err, Error::HttpStatus { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(scan(&db, &["pkg:pypi/remote@1.0"]).findings.len(), 1);

    let err = db
        .import(
            &[Source::parse("http://example.invalid/all.zip")],
            &ImportOptions::default(),
        )
        .expect_err("plain http");
    assert!(matches!(err, Error::PlainHttp { .. }), "{err:?}");
}

#[test]
fn missing_and_corrupt_databases_say_how_to_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.db");
    let err = Database::open(&missing).expect_err("missing");
    assert!(matches!(err, Error::DatabaseMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("vouch db import"));
    assert!(
        !missing.exists(),
        "opening for a scan must not create the file"
    );

    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, b"this is not an SQLite database, just some bytes....................................................................").expect("write");
    for result in [Database::open(&corrupt), Database::open_or_create(&corrupt)] {
        let err = result.expect_err("corrupt");
        assert!(matches!(err, Error::DatabaseCorrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("vouch db import"));
    }
    // The user's file is left alone.
    assert!(
        std::fs::read(&corrupt)
            .expect("read")
            .starts_with(b"this is not")
    );
}

#[test]
fn update_from_a_mirror_directory_is_incremental_by_modified() {
    let mirror = tempfile::tempdir().expect("tempdir");
    let pypi = mirror.path().join("PyPI");
    std::fs::create_dir_all(&pypi).expect("mkdir");
    let write_zip = |records: &[(&str, String)]| {
        std::fs::write(pypi.join("all.zip"), zip_of(records)).expect("write zip");
    };
    write_zip(&[
        (
            "M-1.json",
            record("M-1", "2024-01-01T00:00:00Z", "one", "2.0"),
        ),
        (
            "M-2.json",
            record("M-2", "2024-01-01T00:00:00Z", "two", "2.0"),
        ),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = Database::open_or_create(&dir.path().join("v.db")).expect("db");
    let base = mirror.path().to_str().expect("utf-8");
    let r = db
        .update(base, &["PyPI".into()], &ImportOptions::default())
        .expect("update");
    assert_eq!((r.sources[0].added, r.sources[0].unchanged), (2, 0));
    assert_eq!(db.ecosystems().expect("ecosystems"), ["PyPI"]);

    // The mirror moves on: M-2 is modified (fix moved), M-3 is new, M-1 untouched.
    write_zip(&[
        (
            "M-1.json",
            record("M-1", "2024-01-01T00:00:00Z", "one", "2.0"),
        ),
        (
            "M-2.json",
            record("M-2", "2024-06-01T00:00:00Z", "two", "3.0"),
        ),
        (
            "M-3.json",
            record("M-3", "2024-06-01T00:00:00Z", "three", "1.0"),
        ),
    ]);
    let r = db
        .update(
            base,
            &db.ecosystems().expect("e"),
            &ImportOptions::default(),
        )
        .expect("update");
    let s = &r.sources[0];
    assert_eq!((s.added, s.updated, s.unchanged), (1, 1, 1));
    assert_eq!(s.newest.as_deref(), Some("2024-06-01T00:00:00Z"));
    let found = scan(&db, &["pkg:pypi/two@2.5"]);
    assert_eq!(found.findings[0].fixed_versions, ["3.0"]);

    // The data is as old as its newest record, whatever the import time.
    let age = db.data_age_seconds().expect("age").expect("some");
    assert!(age > 86_400 * 30, "{age}");
    let status = db.status().expect("status");
    assert_eq!(status.schema_version, vouch_vuln::SCHEMA_VERSION);
    assert_eq!(status.sources[0].kind, "osv");

    // A missing ecosystem folder is an error naming the file, and changes nothing.
    let err = db
        .update(base, &["Debian".into()], &ImportOptions::default())
        .expect_err("no Debian in the mirror");
    assert!(err.to_string().contains("Debian"), "{err}");
    assert_eq!(scan(&db, &["pkg:pypi/three@0.5"]).findings.len(), 1);
}

/// What the planner uses to read `affected` by package, from the file itself.
fn package_lookup_plan(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut stmt = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT * FROM affected WHERE ecosystem = 'PyPI' AND name = 'x'",
        )
        .expect("plan");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("plan rows");
    rows.join("; ")
}

/// A first import builds the package index after the load (issue 22 speed); the index is
/// there afterwards, and a first import that fails leaves no database at all (it was being
/// built beside the path; see import_order.rs).
#[test]
fn package_index_is_built_after_a_first_import_and_kept_when_it_fails() {
    let src = tempfile::tempdir().expect("tempdir");
    let good = write(
        src.path(),
        "A-1.json",
        &record("A-1", "2024-01-01T00:00:00Z", "indexed", "2.0"),
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("failed.db");
    let mut db = Database::open_or_create(&path).expect("create");
    let err = import(&mut db, &[&good, &src.path().join("nope")]).expect_err("missing");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(!path.exists());
    // Importing again through the same value (its transaction rolled back) works.
    import(&mut db, &[&good]).expect("import");
    let plan = package_lookup_plan(&path);
    assert!(plan.contains("affected_by_package"), "{plan}");

    let path = dir.path().join("good.db");
    let mut db = Database::open_or_create(&path).expect("create");
    import(&mut db, &[&good]).expect("import");
    let plan = package_lookup_plan(&path);
    assert!(plan.contains("affected_by_package"), "{plan}");
    assert_eq!(scan(&db, &["pkg:pypi/indexed@1.0"]).findings.len(), 1);

    // A second import into the now non-empty table keeps the index as it is.
    let more = write(
        src.path(),
        "A-2.json",
        &record("A-2", "2024-01-01T00:00:00Z", "indexed", "3.0"),
    );
    import(&mut db, &[&more]).expect("import");
    let plan = package_lookup_plan(&path);
    assert!(plan.contains("affected_by_package"), "{plan}");
    assert_eq!(scan(&db, &["pkg:pypi/indexed@1.0"]).findings.len(), 2);
}
