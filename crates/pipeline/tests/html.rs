//! The HTML report rendered by headless Chromium (Debian's `chromium`): the DOM after the
//! page's JavaScript ran must show the stages, the digest and signer, the severity chart,
//! the vulnerability table sorted by severity, packages by ecosystem and the admission
//! decisions. The page must load nothing from anywhere.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::Command;

use vouch_pipeline::demo::run_demo;
use vouch_pipeline::{Report, Vulnerability};
use vouch_testkit::{require_tool, run};

/// Renders `html` with JavaScript on and returns the serialised DOM.
fn dump_dom(html: &Path) -> String {
    let chromium = require_tool("chromium");
    let profile = tempfile::tempdir().unwrap();
    run(Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display())))
}

fn demo_report() -> Report {
    let work = tempfile::tempdir().unwrap();
    let demo = run_demo(work.path(), &Default::default(), &mut |_| {}, &mut |_| {}).unwrap();
    assert!(demo.report.passed, "{:?}", demo.report.failure());
    demo.report
}

fn vuln(id: &str, severity: &str, score: Option<f64>) -> Vulnerability {
    Vulnerability {
        id: id.into(),
        package: "urllib3".into(),
        version: "1.26.0".into(),
        ecosystem: "PyPI".into(),
        severity: severity.into(),
        score,
        fixed: vec!["1.26.18".into()],
        summary: format!("summary of {id} <script>alert(1)</script>"),
        url: None,
    }
}

#[test]
fn the_rendered_page_shows_the_run_and_sorts_by_severity() {
    let mut report = demo_report();
    // More findings than the demo has, in id order, so sorting has work to do.
    report.vulnerabilities = vec![
        vuln("A-LOW", "low", Some(3.1)),
        vuln("B-CRIT", "critical", Some(9.8)),
        vuln("C-MED", "medium", Some(5.3)),
        vuln("D-HIGH", "high", Some(8.1)),
        vuln("E-UNK", "unknown", None),
    ];
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("report.html");
    let html = vouch_pipeline::html::render(&report);
    // Self-contained: nothing is loaded from anywhere (links to log entries are anchors).
    for external in ["src=", "<link", "@import", "url(", "<iframe", "fetch("] {
        assert!(!html.contains(external), "external resource {external:?}");
    }
    let log = report.log_url.clone().unwrap();
    assert!(html.contains(&format!(
        r#"href="{}/api/v1/log/entries?logIndex=0""#,
        log.trim_end_matches('/')
    )));
    std::fs::write(&html_path, &html).unwrap();
    let dom = dump_dom(&html_path);

    // The script ran and sorted the vulnerability table by severity, descending.
    assert!(dom.contains(r#"data-js="ready""#), "script did not run");
    assert!(dom.contains(r#"data-sorted="0:descending""#), "{dom}");
    let order: Vec<usize> = ["B-CRIT", "D-HIGH", "C-MED", "A-LOW", "E-UNK"]
        .iter()
        .map(|id| dom.find(&format!(r#"data-id="{id}""#)).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "not sorted: {order:?}"
    );
    // Untrusted text is escaped, never markup.
    assert!(!dom.contains("<script>alert(1)</script>"));
    // The chart has a bar per severity with its count.
    assert!(dom.contains(r#"data-severity="critical" data-count="1""#));
    assert!(dom.contains(r#"data-severity="medium" data-count="1""#));
    // Stages, digest, signer, packages by ecosystem, attestations, admission.
    for stage in [
        "build",
        "sbom",
        "scan",
        "sign",
        "attest-sbom",
        "attest-provenance",
        "verify",
        "policy",
    ] {
        assert!(
            dom.contains(&format!(r#"data-stage="{stage}""#)),
            "stage {stage}"
        );
    }
    assert!(dom.contains(report.digest.as_deref().unwrap()));
    assert!(dom.contains(report.signer.as_deref().unwrap()));
    assert!(dom.contains(r#"data-ecosystem="pypi""#));
    assert!(dom.contains("https://spdx.dev/Document"));
    assert!(dom.contains("https://slsa.dev/provenance/v1"));
    assert!(dom.contains(">admitted<"));
    assert!(dom.contains("vouch verify "));
}

#[test]
fn clicking_a_header_resorts_the_table() {
    // The same page with a script appended that clicks the "id" header twice (ascending,
    // then descending) the way a user would.
    let mut report = demo_report();
    report.vulnerabilities = vec![
        vuln("B", "high", Some(8.0)),
        vuln("A", "low", Some(2.0)),
        vuln("C", "medium", Some(5.0)),
    ];
    let html = vouch_pipeline::html::render(&report).replace(
        "</body>",
        "<script>var th=document.querySelectorAll('#vulns th')[2];th.click();th.click();</script></body>",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, html).unwrap();
    let dom = dump_dom(&path);
    assert!(dom.contains(r#"data-sorted="2:descending""#), "{dom}");
    let (c, b, a) = (
        dom.find(r#"data-id="C""#).unwrap(),
        dom.find(r#"data-id="B""#).unwrap(),
        dom.find(r#"data-id="A""#).unwrap(),
    );
    assert!(c < b && b < a);
}
