//! Runs every comparison of the version-ordering oracles in `tests/data/` (see its README)
//! against every ecosystem that uses the file's ordering, in both directions, and checks
//! that the order is consistent over all versions a file mentions.

use std::cmp::Ordering;
use std::path::Path;

use vouch_version::{Ecosystem, Scheme, Version};

struct Comparison {
    line: usize,
    a: String,
    expected: Ordering,
    b: String,
}

fn read_oracle(file: &str) -> Vec<Comparison> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut comparisons = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // Comment and blank-line rules of the osv-scalibr fixture reader.
        if line.is_empty() || line.starts_with("# ") || line.starts_with("// ") {
            continue;
        }
        let pieces: Vec<&str> = line.split(' ').collect();
        let [a, op, b] = pieces[..] else {
            panic!("{file}:{}: expected `a OP b`, got {line:?}", i + 1);
        };
        let expected = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}:{}: unknown operator {op:?}", i + 1),
        };
        comparisons.push(Comparison {
            line: i + 1,
            a: a.into(),
            expected,
            b: b.into(),
        });
    }
    assert!(!comparisons.is_empty(), "{file} holds no comparisons");
    comparisons
}

/// Checks every line of `file` for the ecosystem `ecosystem`; returns the number of lines.
fn check(file: &str, ecosystem: &str) -> usize {
    let scheme = ecosystem.parse::<Ecosystem>().expect(ecosystem).scheme();
    let parse = |s: &str, line: usize| {
        Version::parse(scheme, s)
            .unwrap_or_else(|e| panic!("{file}:{line}: {ecosystem} cannot parse {s:?}: {e}"))
    };
    let comparisons = read_oracle(file);
    let mut failures = Vec::new();
    for c in &comparisons {
        let (a, b) = (parse(&c.a, c.line), parse(&c.b, c.line));
        let forward = a.partial_cmp(&b);
        let backward = b.partial_cmp(&a);
        if forward != Some(c.expected) || backward != Some(c.expected.reverse()) {
            failures.push(format!(
                "{file}:{}: {} {:?} {}: got {forward:?} / reversed {backward:?}",
                c.line, c.a, c.expected, c.b
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{ecosystem}: {} of {} lines failed:\n{}",
        failures.len(),
        comparisons.len(),
        failures.join("\n")
    );
    comparisons.len()
}

/// Sorts all versions the file mentions and checks that every pair is ordered as the sort
/// says: a violation of antisymmetry or transitivity among them shows up as a pair out of
/// order.
fn check_total_order(file: &str, scheme: Scheme, exclude: impl Fn(&str) -> bool) {
    let mut versions: Vec<Version> = read_oracle(file)
        .iter()
        .flat_map(|c| [c.a.clone(), c.b.clone()])
        .filter(|s| !exclude(s))
        .map(|s| Version::parse(scheme, &s).expect("parsed above"))
        .collect();
    // Insertion sort: it cannot panic on an inconsistent order, which is what we test.
    for i in 1..versions.len() {
        let mut j = i;
        while j > 0 && versions[j - 1] > versions[j] {
            versions.swap(j - 1, j);
            j -= 1;
        }
    }
    for i in 0..versions.len() {
        for j in i + 1..versions.len() {
            let (a, b) = (&versions[i], &versions[j]);
            assert!(
                a.partial_cmp(b).is_some_and(Ordering::is_le)
                    && b.partial_cmp(a).is_some_and(Ordering::is_ge),
                "{file}: inconsistent order: {a} sorted before {b} but compares {:?}",
                a.partial_cmp(b)
            );
        }
    }
}

const TABLE: &[(&str, &[&str])] = &[
    (
        "alpine-versions.txt",
        &["Alpine:v3.19", "Wolfi", "Chainguard"],
    ),
    (
        "debian-versions.txt",
        &["Debian", "Debian:12", "Ubuntu:22.04"],
    ),
    ("maven-versions.txt", &["Maven"]),
    ("nuget-versions.txt", &["NuGet"]),
    ("packagist-versions.txt", &["Packagist"]),
    ("pypi-versions.txt", &["PyPI"]),
    (
        "redhat-versions.txt",
        &["Red Hat", "Rocky Linux", "AlmaLinux"],
    ),
    ("rubygems-versions.txt", &["RubyGems"]),
    ("semver-versions.txt", &["Go", "crates.io", "npm"]),
];

#[test]
fn every_oracle_line_passes() {
    let mut report = Vec::new();
    for (file, ecosystems) in TABLE {
        for ecosystem in *ecosystems {
            let lines = check(file, ecosystem);
            report.push(format!("{file} / {ecosystem}: {lines} lines"));
        }
    }
    // Visible with `--nocapture`; used for the crate's coverage summary.
    println!("{}", report.join("\n"));
}

#[test]
fn oracle_versions_are_totally_ordered() {
    for (file, ecosystems) in TABLE {
        let scheme = ecosystems[0].parse::<Ecosystem>().expect("listed").scheme();
        // PHP's `#` placeholder equals every number (see `PackagistVersion`), so versions
        // holding it cannot be ordered consistently; everything else must be.
        check_total_order(file, scheme, |s| {
            scheme == Scheme::Packagist && s.contains('#')
        });
    }
}

#[test]
fn oracle_files_are_all_used() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/data")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-versions.txt"))
        .collect();
    files.sort();
    let used: Vec<&str> = TABLE.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        files, used,
        "every copied oracle file is run, and only those"
    );
}
