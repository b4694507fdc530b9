//! Debian and Ubuntu: the dpkg database.
//!
//! * `var/lib/dpkg/status`: one RFC 822 paragraph per package (`Package`, `Version`,
//!   `Architecture`, `Source: NAME (VERSION)`, `Maintainer`, `Depends`, `Status`);
//!   packages whose `Status` says `deinstall` are gone but for their configuration and are
//!   skipped (as dpkg-query does).
//! * `var/lib/dpkg/status.d/NAME`: distroless images keep one paragraph per file, with the
//!   file list in `status.d/NAME.md5sums`.
//! * `var/lib/dpkg/info/NAME[:ARCH].list`: the files a package installed; the layer that
//!   wrote it is the layer that installed the package.
//! * `usr/share/doc/NAME/copyright`: machine-readable copyright files (DEP-5) name their
//!   licences on `License:` lines.
//!
//! purls follow syft: `pkg:deb/<distro ID>/NAME@VERSION?arch=…&distro=ID-VERSION&upstream=SRC`,
//! written only when the distro is Debian or derived from it.

use std::collections::HashMap;

use super::{Cataloger, Cx, Want, base, dir, field, paragraphs};
use crate::model::{Package, PackageType, SourcePackage, Supplier};

/// The cataloger.
pub(crate) struct Dpkg;

/// syft's name for it.
pub(crate) const NAME: &str = "dpkg-db-cataloger";

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        NAME
    }

    fn wants(&self, path: &str) -> Want {
        if path.ends_with("lib/dpkg/status") {
            return Want::Catalog;
        }
        if dir(path).ends_with("lib/dpkg/status.d") {
            let b = base(path);
            return if b.ends_with(".md5sums")
                || b.ends_with(".list")
                || b.ends_with(".conffiles")
                || b.starts_with('.')
            {
                Want::Read
            } else {
                Want::Catalog
            };
        }
        if dir(path).ends_with("lib/dpkg/info") && path.ends_with(".list") {
            return Want::Read;
        }
        if path.starts_with("usr/share/doc/")
            && path.ends_with("/copyright")
            && path.matches('/').count() == 4
        {
            return Want::Read;
        }
        Want::No
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        catalog_with(cx, found, cores.clamp(1, 4));
    }
}

/// Catalogs the status files `found` on up to `threads` threads.
fn catalog_with(cx: &mut Cx<'_>, found: &[String], threads: usize) {
    for path in found {
        let Some(text) = cx.read_text(path) else {
            continue;
        };
        let distroless = dir(path).ends_with("status.d");
        let db = if distroless {
            dir(dir(path))
        } else {
            dir(path)
        };
        let paras = paragraphs(&text);
        if paras.is_empty() {
            cx.warn(path, "no package paragraphs");
            continue;
        }
        let status = Status {
            path,
            db,
            distroless,
        };
        // Each paragraph is read on its own (its file list, its copyright file): a
        // Debian base's few hundred packages are split into one contiguous run per
        // core, each cataloged into a context of its own, and the runs are joined in
        // order, so the packages, ids and warnings are those of a serial pass.
        let threads = threads.min(paras.len().div_ceil(MIN_PER_THREAD));
        let per = paras.len().div_ceil(threads.max(1));
        let parts: Vec<(Cx<'_>, Vec<Added>)> = if threads <= 1 {
            let mut own = cx.fork();
            let added = status.packages(&mut own, &paras, 0);
            vec![(own, added)]
        } else {
            let base: &Cx<'_> = cx;
            std::thread::scope(|scope| {
                let workers: Vec<_> = paras
                    .chunks(per)
                    .enumerate()
                    .map(|(k, run)| {
                        let status = &status;
                        scope.spawn(move || {
                            let mut own = base.fork();
                            let added = status.packages(&mut own, run, k * per);
                            (own, added)
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let mut added = Vec::with_capacity(paras.len());
        for (own, a) in parts {
            cx.join(own);
            added.extend(a);
        }
        // Dependencies resolve within this database: a package's name, or a virtual
        // name the first package providing it gives.
        let mut provides: HashMap<&str, &str> = HashMap::new();
        for a in &added {
            for pr in &a.provided {
                provides.entry(pr).or_insert(&a.id);
            }
            provides.insert(&a.name, &a.id);
        }
        for a in &added {
            for d in &a.depends {
                if let Some(target) = provides.get(d.as_str()) {
                    cx.depends(&a.id, target);
                }
            }
        }
    }
}

/// Paragraphs below which a status file is not worth a second thread.
const MIN_PER_THREAD: usize = 64;

/// One status file being cataloged.
struct Status<'p> {
    path: &'p str,
    /// The dpkg database directory (`var/lib/dpkg`).
    db: &'p str,
    /// A distroless `status.d/NAME` file, with its file list in `NAME.md5sums`.
    distroless: bool,
}

/// A package added from one paragraph, with what its relationships need.
struct Added {
    id: String,
    name: String,
    depends: Vec<String>,
    provided: Vec<String>,
}

impl Status<'_> {
    /// Adds the packages of `paras` (paragraph `first` onwards of the file) to `cx`.
    fn packages(
        &self,
        cx: &mut Cx<'_>,
        paras: &[Vec<(String, String)>],
        first: usize,
    ) -> Vec<Added> {
        let mut memo = Memo::new();
        let mut added = Vec::with_capacity(paras.len());
        for (i, para) in paras.iter().enumerate() {
            if let Some(a) = self.package(cx, first + i, para, &mut memo) {
                added.push(a);
            }
        }
        added
    }

    fn package(
        &self,
        cx: &mut Cx<'_>,
        i: usize,
        para: &[(String, String)],
        memo: &mut Memo,
    ) -> Option<Added> {
        let (path, db_dir, distroless) = (self.path, self.db, self.distroless);
        let Some(name) = field(para, "Package") else {
            cx.warn(
                path,
                format!("paragraph {} has no Package field; skipped", i + 1),
            );
            return None;
        };
        if field(para, "Status").is_some_and(|s| s.contains("deinstall")) {
            return None;
        }
        let Some(version) = field(para, "Version") else {
            cx.warn(
                path,
                format!("package {name} has no Version field; skipped"),
            );
            return None;
        };
        if !valid_name(name) {
            cx.warn(
                path,
                format!("package name {name:?} is not a valid dpkg name; skipped"),
            );
            return None;
        }
        let mut p = Package::new(PackageType::Deb, name, version);
        let arch = field(para, "Architecture").map(str::to_owned);
        p.arch = arch.clone();
        if let Some(src) = field(para, "Source") {
            let (sname, sver) = match src.split_once('(') {
                Some((n, v)) => (n.trim(), Some(v.trim_end_matches(')').trim().to_owned())),
                None => (src.trim(), None),
            };
            p.source = Some(SourcePackage {
                name: sname.to_owned(),
                version: sver,
            });
        }
        p.supplier = field(para, "Maintainer").and_then(Supplier::from_maintainer);
        p.homepage = field(para, "Homepage").map(str::to_owned);
        p.locations.push(cx.location(path));
        // Installed files, and the layer that installed the package.
        let list_candidates: Vec<String> = if distroless {
            vec![format!("{db_dir}/status.d/{name}.md5sums")]
        } else {
            let mut v = Vec::new();
            if let Some(a) = &arch {
                v.push(format!("{db_dir}/info/{name}:{a}.list"));
            }
            v.push(format!("{db_dir}/info/{name}.list"));
            v
        };
        for list in list_candidates {
            if !cx.exists(&list) {
                continue;
            }
            let loc = cx.location(&list);
            p.layer = loc.layer;
            if let Some(b) = cx.read_optional(&list) {
                let text = super::text(&b);
                p.files = if distroless {
                    text.lines()
                        .filter_map(|l| l.split_whitespace().nth(1))
                        .map(|f| format!("/{}", f.trim_start_matches('/')))
                        .collect()
                } else {
                    // Sorted as borrowed lines, so the list is encoded once, in order.
                    let mut lines: Vec<&str> = text
                        .lines()
                        .filter(|l| !l.is_empty() && *l != "/.")
                        .collect();
                    lines.sort_unstable();
                    lines.dedup();
                    lines.into_iter().collect()
                };
            }
            p.locations.push(loc);
            break;
        }
        let copyright = format!("usr/share/doc/{name}/copyright");
        if cx.exists(&copyright)
            && let Some(b) = cx.read_optional(&copyright)
        {
            p.licenses = copyright_licenses(&super::text(&b), memo);
            p.locations.push(cx.location(&copyright));
        }
        p.purl = purl(cx, &p);
        let depends: Vec<String> = ["Depends", "Pre-Depends"]
            .iter()
            .filter_map(|k| field(para, k))
            .flat_map(dependency_names)
            .collect();
        let provided: Vec<String> = field(para, "Provides")
            .map(dependency_names)
            .unwrap_or_default();
        let id = cx.add(p);
        Some(Added {
            id,
            name: name.to_owned(),
            depends,
            provided,
        })
    }
}

fn purl(cx: &Cx<'_>, p: &Package) -> Option<String> {
    let d = cx.distro?;
    if !d.is_like("debian") {
        return None;
    }
    let upstream = p.source.as_ref().map(|s| match &s.version {
        Some(v) if v != &p.version => format!("{}@{v}", s.name),
        _ => s.name.clone(),
    });
    let distro = cx.distro_qualifier().unwrap_or_default();
    crate::purl::build(
        "deb",
        Some(&d.id),
        &p.name,
        &p.version,
        &[
            ("arch", p.arch.as_deref().unwrap_or("")),
            ("distro", &distro),
            ("upstream", upstream.as_deref().unwrap_or("")),
        ],
    )
}

/// dpkg package names: lower-case letters, digits, `+ - .`, at least two characters,
/// starting with an alphanumeric (Debian Policy §5.6.1).
fn valid_name(n: &str) -> bool {
    n.len() >= 2
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

/// `libc6 (>= 2.34), libfoo:any | libbar` -> every alternative's name.
fn dependency_names(v: &str) -> Vec<String> {
    v.split([',', '|'])
        .filter_map(|d| d.split_whitespace().next())
        .map(|n| n.split(':').next().unwrap_or(n).to_owned())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Licences a copyright file names, in order of first use: the `License:` lines of a
/// machine-readable (DEP-5) file, and in any file, DEP-5 or free-form, the licence texts it
/// points at under `/usr/share/common-licenses/` ("can be found in
/// /usr/share/common-licenses/GPL-2"), which is how most free-form Debian copyright files
/// say which licence applies. This is what syft 1.18's `parseLicensesFromCopyright` reads
/// (`licensePattern` and `commonLicensePathPattern`).
///
/// In a free-form file a `License:` line is only a licence name when it is one word
/// (`License: GPL-2`); otherwise it begins a sentence ("License: Permission is hereby
/// granted ..."), of which syft keeps the first word as a licence name and vouch nothing.
///
/// `memo` remembers what each licence name normalised to: an image's copyright files name
/// the same few licences hundreds of times, and normalising parses an SPDX expression.
fn copyright_licenses(text: &str, memo: &mut Memo) -> Vec<String> {
    // DEP-5 files start with the Format field (early drafts: Format-Specification).
    let dep5 = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.starts_with("Format:") || l.starts_with("Format-Specification:"));
    let mut out: Vec<String> = Vec::new();
    let add = |p: String, out: &mut Vec<String>| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    // The common-licenses references of the whole text, found in one pass (a substring
    // searcher per line cost more than the rest of this function) and taken line by line:
    // a reference never spans lines, and each line's come before its License: field.
    let mut refs = common_license_refs(text).peekable();
    for line in text.lines() {
        let end = line.as_ptr().addr() - text.as_ptr().addr() + line.len();
        while let Some((_, name)) = refs.next_if(|(at, _)| *at < end) {
            if let Some(e) = normalise(memo, name) {
                add(e, &mut out);
            }
        }
        let Some(v) = line.strip_prefix("License:") else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() || (!dep5 && v.contains(char::is_whitespace)) {
            continue;
        }
        // "GPL-2+ or Artistic" and "GPL-2+ with OpenSSL exception" are common; try the
        // whole value first, then each alternative on its own.
        let whole = normalise(memo, v).filter(|e| !e.starts_with("LicenseRef-"));
        let parts: Vec<String> = match whole {
            Some(e) => vec![e],
            None => v
                .split([',', '|'])
                .flat_map(|s| s.split(" or "))
                .flat_map(|s| s.split(" and "))
                .filter_map(|s| normalise(memo, s.split(" with ").next().unwrap_or(s)))
                .collect(),
        };
        for p in parts {
            add(p, &mut out);
        }
    }
    // A bare "GPL" (or a common-licenses file name without "+") says no version range; the
    // licence grant in the text does ("either version 2 of the License, or (at your
    // option) any later version").
    crate::license::apply_or_later(&mut out, text);
    out
}

/// Licence names already normalised, and what they gave.
type Memo = HashMap<String, Option<String>>;

/// [`crate::license::normalise`], remembered in `memo`.
fn normalise(memo: &mut Memo, name: &str) -> Option<String> {
    if let Some(e) = memo.get(name) {
        return e.clone();
    }
    let e = crate::license::normalise(name);
    memo.insert(name.to_owned(), e.clone());
    e
}

/// The licence file names in `/usr/share/common-licenses/NAME` references in a text (a
/// sentence's final `.` is not part of the name; a name ends at its line's end), each with
/// the byte offset where its reference starts.
fn common_license_refs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    const DIR: &str = "/usr/share/common-licenses/";
    text.match_indices(DIR).filter_map(|(i, _)| {
        let rest = &text[i + DIR.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches('.');
        (!name.is_empty()).then_some((i, name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lic(text: &str) -> Vec<String> {
        copyright_licenses(text, &mut Memo::new())
    }

    #[test]
    fn or_later_from_the_grant() {
        let text = "Copyright (C) 1995-2011 Software in the Public Interest.\n\nThis program is free software; you can redistribute it and/or modify\nit under the terms of the GNU General Public License as published by\nthe Free Software Foundation; either version 2 of the License, or\n(at your option) any later version.\n\nOn Debian systems, the complete text of the GNU General\nPublic License can be found in `/usr/share/common-licenses/GPL'.\n";
        assert_eq!(lic(text), vec!["GPL-2.0-or-later"]);
        let only = "under the terms of the GNU General Public License version 2 as published by the Free Software Foundation.\nSee /usr/share/common-licenses/GPL-2.\n";
        assert_eq!(lic(only), vec!["GPL-2.0-only"]);
        let lesser = "the GNU Lesser General Public License as published by the Free Software Foundation; either version 2.1 of the License, or (at your option) any later version. /usr/share/common-licenses/LGPL-2.1 and /usr/share/common-licenses/GPL-2\n";
        assert_eq!(lic(lesser), vec!["LGPL-2.1-or-later", "GPL-2.0-only"]);
    }

    /// The packages, relationships and warnings of a status file split across threads are
    /// those of a serial pass, in the same order: a database of 300 paragraphs with bad
    /// ones among them, file lists, copyright files, and dependencies on names (real and
    /// virtual) that other runs of paragraphs provide.
    #[test]
    fn a_split_database_catalogs_as_a_serial_one() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("var/lib/dpkg");
        std::fs::create_dir_all(db.join("info")).unwrap();
        let mut status = String::new();
        for i in 0..300 {
            let name = format!("pkg{i}");
            let mut para = match i % 50 {
                8 => format!("Package: Bad_{i}\n"), // an invalid name: a warning
                9 => format!("Package: {name}\nStatus: deinstall ok config-files\n"),
                _ => format!("Package: {name}\nStatus: install ok installed\n"),
            };
            if i % 50 != 7 {
                // Without a Version: a warning.
                para.push_str(&format!("Version: 1.{i}\n"));
            }
            para.push_str(&format!(
                "Architecture: amd64\nDepends: pkg{}, virt{}\n",
                (i * 7 + 3) % 300,
                (i * 11) % 300
            ));
            if i % 3 == 0 {
                para.push_str(&format!("Provides: virt{}\n", (i * 13) % 300));
            }
            status.push_str(&para);
            status.push('\n');
            std::fs::write(
                db.join(format!("info/{name}.list")),
                format!("/usr/share/{name}/b\n/.\n/usr/share/{name}/a\n"),
            )
            .unwrap();
            let doc = root.path().join(format!("usr/share/doc/{name}"));
            std::fs::create_dir_all(&doc).unwrap();
            let licence = if i % 2 == 0 { "GPL-2" } else { "Apache-2.0" };
            std::fs::write(
                doc.join("copyright"),
                format!("See /usr/share/common-licenses/{licence}.\n"),
            )
            .unwrap();
        }
        std::fs::write(db.join("status"), status).unwrap();
        let fs = vouch_oci::Rootfs::from_dir(root.path(), &vouch_oci::Limits::default()).unwrap();
        let run = |threads| {
            let mut cx = Cx::new(&fs, None);
            cx.cataloger = NAME;
            catalog_with(&mut cx, &["var/lib/dpkg/status".to_owned()], threads);
            (cx.packages, cx.relationships, cx.warnings)
        };
        let serial = run(1);
        assert_eq!(serial.0.len(), 300 - 3 * 6, "skipped paragraphs");
        assert_eq!(serial.2.len(), 2 * 6, "{:?}", serial.2);
        assert!(serial.1.len() > 300, "{}", serial.1.len());
        assert_eq!(
            serial.0[0].files.to_vec(),
            ["/usr/share/pkg0/a", "/usr/share/pkg0/b"]
        );
        assert_eq!(serial.0[1].licenses, ["Apache-2.0"]);
        for threads in [2, 3, 4] {
            assert!(run(threads) == serial, "{threads} threads differ from one");
        }
    }

    #[test]
    fn dependency_lists() {
        assert_eq!(
            dependency_names("libc6 (>= 2.34), libfoo:any | libbar"),
            vec!["libc6", "libfoo", "libbar"]
        );
    }

    #[test]
    fn copyright() {
        let t = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: x\nLicense: BSD-3-clause or Expat\n text\n";
        assert_eq!(lic(t), vec!["GPL-2.0-or-later", "BSD-3-Clause", "MIT"]);
        // Free-form (no Format: line): the licence texts it points at.
        let free = "This is Debian's prepackaged version of GNU cpp.\n\nOn Debian systems, the \
                    complete text of the GNU General Public License can be found in \
                    `/usr/share/common-licenses/GPL-3', and the LGPL in\n\
                    /usr/share/common-licenses/LGPL-2.1.\nSee /usr/share/common-licenses/GPL-3 again.\n";
        assert_eq!(lic(free), vec!["GPL-3.0-only", "LGPL-2.1-only"]);
        assert!(lic("no licence here\n").is_empty());
        assert_eq!(
            common_license_refs("/usr/share/common-licenses/ and /usr/share/common-licenses/BSD.")
                .collect::<Vec<_>>(),
            vec![(32, "BSD")]
        );
    }
}
