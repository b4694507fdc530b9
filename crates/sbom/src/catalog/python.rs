//! Installed Python distributions: `*.dist-info/METADATA` (wheels, PEP 376/566),
//! `*.egg-info/PKG-INFO` and single-file `*.egg-info` (setuptools).
//!
//! METADATA is an RFC 822 header block (core metadata spec): `Name`, `Version`,
//! `License-Expression` (PEP 639), `License`, `Classifier: License :: …`, `Author`,
//! `Author-email`, `Maintainer`, `Home-page`. `RECORD` (CSV: path, hash, size) lists the
//! installed files relative to the directory holding the `.dist-info`; egg-info uses
//! `installed-files.txt` relative to itself. Names are normalised as PEP 503 does (runs of
//! `-`, `_`, `.` become `-`, lower-cased), as syft does.

use super::{Cataloger, Cx, Want, base, dir, ends_with_ci, starts_with_ci};
use crate::model::{Package, PackageType, Supplier};

/// The cataloger.
pub(crate) struct Python;

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        "python-installed-package-cataloger"
    }

    fn wants(&self, path: &str) -> Want {
        let d = dir(path);
        let b = base(path);
        let d_lower_dist = ends_with_ci(d, "dist-info");
        let d_lower_egg = ends_with_ci(d, "egg-info");
        if (d_lower_dist && b.eq_ignore_ascii_case("METADATA"))
            || (d_lower_egg && b.eq_ignore_ascii_case("PKG-INFO"))
        {
            return Want::Catalog;
        }
        if ends_with_ci(b, ".egg-info") {
            return Want::Catalog;
        }
        if (d_lower_dist && (b == "RECORD" || b == "direct_url.json"))
            || (d_lower_egg && b == "installed-files.txt")
        {
            return Want::Read;
        }
        // Licence texts, to tell which BSD licence a bare "BSD" means: beside the metadata,
        // or under `licenses/` (PEP 639).
        // Called for every path of the image: compared in place, no upper-cased copy.
        if ((d_lower_dist || d_lower_egg)
            && (starts_with_ci(b, "LICEN") || starts_with_ci(b, "COPYING")))
            || (ends_with_ci(dir(d), "dist-info") && d.ends_with("/licenses"))
        {
            return Want::Read;
        }
        Want::No
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(text) = cx.read_text(path) else {
                continue;
            };
            let headers = parse_metadata(&text);
            let get = |k: &str| {
                headers
                    .iter()
                    .find(|(h, _)| h.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.as_str())
                    .filter(|v| !v.trim().is_empty())
            };
            let (Some(name), Some(version)) = (get("Name"), get("Version")) else {
                cx.warn(
                    path,
                    "no Name or Version header; not a package metadata file",
                );
                continue;
            };
            let name = normalise_name(name);
            let version = version.trim().to_owned();
            let mut p = Package::new(PackageType::Python, &name, &version);
            p.locations.push(cx.location(path));
            p.licenses = licenses(&headers);
            if ambiguous_bsd(&headers) {
                resolve_bsd(cx, path, &headers, &mut p.licenses);
            }
            p.homepage = get("Home-page").map(|s| s.trim().to_owned()).or_else(|| {
                headers
                    .iter()
                    .filter(|(h, _)| h.eq_ignore_ascii_case("Project-URL"))
                    .find_map(|(_, v)| {
                        v.split_once(',')
                            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("homepage"))
                            .map(|(_, u)| u.trim().to_owned())
                    })
            });
            p.cpes = crate::cpe::python(&name, &version, get("Author"), get("Author-email"));
            p.supplier = supplier(get("Author"), get("Author-email"))
                .or_else(|| supplier(get("Maintainer"), get("Maintainer-email")));
            // Installed files.
            let meta_dir = dir(path).to_owned();
            let is_dist = ends_with_ci(&meta_dir, "dist-info");
            if is_dist {
                let record = format!("{meta_dir}/RECORD");
                if cx.exists(&record)
                    && let Some(b) = cx.read_optional(&record)
                {
                    let site = dir(&meta_dir);
                    p.files = super::text(&b)
                        .lines()
                        .filter_map(csv_first)
                        .map(|f| join_clean(site, &f))
                        .collect();
                    p.locations.push(cx.location(&record));
                }
            } else if ends_with_ci(&meta_dir, "egg-info") {
                let list = format!("{meta_dir}/installed-files.txt");
                if cx.exists(&list)
                    && let Some(b) = cx.read_optional(&list)
                {
                    p.files = super::text(&b)
                        .lines()
                        .filter(|l| !l.is_empty())
                        .map(|f| join_clean(&meta_dir, f))
                        .collect();
                    p.locations.push(cx.location(&list));
                }
            }
            p.purl = crate::purl::build("pypi", None, &name, &version, &[]);
            cx.add(p);
        }
    }
}

/// PEP 503: runs of `-`, `_`, `.` become one `-`, lower-cased.
pub(crate) fn normalise_name(n: &str) -> String {
    let mut out = String::with_capacity(n.len());
    let mut sep = false;
    for c in n.trim().chars() {
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

/// RFC 822 headers up to the first blank line (the body is the long description).
fn parse_metadata(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = out.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// PEP 639 `License-Expression`, then a short `License` value, then trove classifiers.
fn licenses(headers: &[(String, String)]) -> Vec<String> {
    let get = |k: &str| {
        headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    if let Some(e) = get("License-Expression").and_then(crate::license::normalise) {
        return vec![e];
    }
    if let Some(e) = get("License").and_then(crate::license::normalise) {
        return vec![e];
    }
    let mut out = Vec::new();
    for (h, v) in headers {
        if !h.eq_ignore_ascii_case("Classifier") {
            continue;
        }
        let Some(rest) = v.strip_prefix("License :: ") else {
            continue;
        };
        let last = rest.rsplit(" :: ").next().unwrap_or(rest);
        if let Some(id) = classifier(last)
            .map(str::to_owned)
            .or_else(|| crate::license::normalise(last).filter(|e| crate::license::is_spdx(e)))
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// Whether the declared licence is "BSD" without saying which: a `License` of `BSD` or
/// `BSD License` (which [`crate::license::normalise`] reads as BSD-2-Clause, the SPDX list's
/// imprecise match), or no `License` at all and the trove classifier
/// `License :: OSI Approved :: BSD License`.
fn ambiguous_bsd(headers: &[(String, String)]) -> bool {
    let get = |k: &str| {
        headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
    };
    if get("License-Expression").is_some() {
        return false;
    }
    match get("License") {
        Some(v) => matches!(
            v.as_str(),
            "bsd" | "bsd license" | "bsd-style" | "bsd style" | "bsd-like" | "bsd licence"
        ),
        None => headers.iter().any(|(h, v)| {
            h.eq_ignore_ascii_case("Classifier") && v.trim().ends_with(":: BSD License")
        }),
    }
}

/// Replaces an ambiguous BSD with what the package's licence text is: the third clause
/// ("Neither the name of … may be used to endorse or promote products") makes it
/// BSD-3-Clause, an advertising clause BSD-4-Clause, the two redistribution conditions
/// alone BSD-2-Clause. Texts are the `License-File` headers' files, else the metadata
/// directory's LICENSE/COPYING files. Without a text the declaration stays as it was.
fn resolve_bsd(
    cx: &mut Cx<'_>,
    metadata: &str,
    headers: &[(String, String)],
    out: &mut Vec<String>,
) {
    let meta_dir = dir(metadata);
    let mut files: Vec<String> = headers
        .iter()
        .filter(|(h, _)| h.eq_ignore_ascii_case("License-File"))
        .flat_map(|(_, v)| {
            let v = v.trim();
            [
                format!("{meta_dir}/licenses/{v}"),
                format!("{meta_dir}/{v}"),
            ]
        })
        .collect();
    files.extend(cx.children(meta_dir).into_iter().filter(|c| {
        let b = base(c);
        starts_with_ci(b, "LICEN") || starts_with_ci(b, "COPYING")
    }));
    let Some(text) = files
        .iter()
        .find(|f| cx.exists(f))
        .cloned()
        .and_then(|f| cx.read_text(&f))
    else {
        return;
    };
    let flat = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let which = if flat.contains("advertising materials") {
        "BSD-4-Clause"
    } else if flat.contains("endorse or promote") {
        "BSD-3-Clause"
    } else if flat.contains("redistributions in binary form must reproduce") {
        "BSD-2-Clause"
    } else {
        return;
    };
    out.retain(|l| !l.starts_with("BSD-"));
    out.insert(0, which.to_owned());
}

/// The trove classifiers whose names are not SPDX names.
fn classifier(c: &str) -> Option<&'static str> {
    Some(match c {
        "MIT License" => "MIT",
        "BSD License" => return None, // which BSD is not said
        "Apache Software License" => "Apache-2.0",
        "Mozilla Public License 2.0 (MPL 2.0)" => "MPL-2.0",
        "Python Software Foundation License" => "PSF-2.0",
        "ISC License (ISCL)" => "ISC",
        "GNU Lesser General Public License v3 (LGPLv3)" => "LGPL-3.0-only",
        "GNU Lesser General Public License v2 (LGPLv2)" => "LGPL-2.0-only",
        "GNU General Public License v2 (GPLv2)" => "GPL-2.0-only",
        "GNU General Public License v3 (GPLv3)" => "GPL-3.0-only",
        "GNU General Public License v2 or later (GPLv2+)" => "GPL-2.0-or-later",
        "GNU General Public License v3 or later (GPLv3+)" => "GPL-3.0-or-later",
        "The Unlicense (Unlicense)" => "Unlicense",
        _ => return None,
    })
}

fn supplier(name: Option<&str>, email: Option<&str>) -> Option<Supplier> {
    match (name, email) {
        // `Author-email: Jane <jane@x>, Joe <joe@x>`: the first.
        (None, Some(e)) => Supplier::from_maintainer(e.split(',').next().unwrap_or(e)),
        (Some(n), Some(e)) if !e.contains('<') => Supplier::from_maintainer(&format!("{n} <{e}>")),
        (Some(n), Some(e)) => Supplier::from_maintainer(e.split(',').next().unwrap_or(e))
            .or_else(|| Supplier::from_maintainer(n)),
        (Some(n), None) => Supplier::from_maintainer(n),
        (None, None) => None,
    }
}

/// First field of a CSV line (RECORD paths may be quoted when they contain commas).
fn csv_first(line: &str) -> Option<std::borrow::Cow<'_, str>> {
    if line.is_empty() {
        return None;
    }
    if let Some(rest) = line.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    out.push('"');
                } else {
                    return Some(out.into());
                }
            } else {
                out.push(c);
            }
        }
        return Some(out.into());
    }
    Some(line.split(',').next().unwrap_or(line).into())
}

/// `/`-rooted `base/rel` with `.` and `..` resolved (RECORD paths like `../../bin/x`).
fn join_clean(base: &str, rel: &str) -> String {
    // Nearly every RECORD line is a plain relative path under a plain base: then the join
    // is a concatenation (one allocation per file of every distribution, not four).
    if !rel.starts_with('/')
        && rel.split('/').all(|c| !matches!(c, "" | "." | ".."))
        && base.split('/').all(|c| !c.is_empty())
    {
        let mut out = String::with_capacity(base.len() + rel.len() + 2);
        out.push('/');
        if !base.is_empty() {
            out.push_str(base);
            out.push('/');
        }
        out.push_str(rel);
        return out;
    }
    join_components(base, rel)
}

/// [`join_clean`] component by component.
fn join_components(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|c| !c.is_empty()).collect()
    };
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(normalise_name("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(
            join_clean("usr/lib/python3/site-packages", "../../../bin/x"),
            "/usr/bin/x"
        );
        assert_eq!(csv_first("\"a,b\",sha256=x,1").as_deref(), Some("a,b"));
        // The concatenation shortcut agrees with the component walk on every shape.
        let parts = ["", ".", "..", "a", "bin", "x.py", "é"];
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut pick = |n: u64| -> String {
            let k = 1 + next() % n;
            (0..k)
                .map(|_| parts[(next() % parts.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join("/")
        };
        for _ in 0..2000 {
            let (mut base, mut rel) = (pick(3), pick(4));
            if base == "." {
                base.clear();
            }
            if rel.len() % 3 == 0 {
                rel.insert(0, '/');
            }
            assert_eq!(
                join_clean(&base, &rel),
                join_components(&base, &rel),
                "{base:?} {rel:?}"
            );
        }
    }
}
