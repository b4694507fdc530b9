//! Alpine (and Wolfi, Chainguard): `lib/apk/db/installed`.
//!
//! The database is one paragraph per package of single-letter fields (`apk-tools`
//! `database.c`): `P` name, `V` version, `A` arch, `o` origin (source package), `L`
//! licence, `U` URL, `m` maintainer, `D` depends, `p` provides, `F` a directory and the
//! `R` files inside it that follow. purl: `pkg:apk/<distro ID>/NAME@VERSION?arch=…&distro=…`
//! plus `upstream=ORIGIN` when the origin differs from the name.

use std::collections::HashMap;

use super::{Cataloger, Cx, Want};
use crate::model::{Package, PackageType, SourcePackage, Supplier};

/// The cataloger.
pub(crate) struct Apk;

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk-db-cataloger"
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(path.ends_with("lib/apk/db/installed"))
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(text) = cx.read_text(path) else {
                continue;
            };
            let mut records: Vec<Vec<(char, String)>> = Vec::new();
            let mut cur = Vec::new();
            for line in text.lines() {
                if line.trim().is_empty() {
                    if !cur.is_empty() {
                        records.push(std::mem::take(&mut cur));
                    }
                    continue;
                }
                let mut chars = line.chars();
                match (chars.next(), chars.next()) {
                    (Some(k), Some(':')) => cur.push((k, line[k.len_utf8() + 1..].to_owned())),
                    _ => cx.warn(path, format!("line {:?} is not KEY:VALUE", truncate(line))),
                }
            }
            if !cur.is_empty() {
                records.push(cur);
            }
            let mut added: Vec<(String, Vec<String>)> = Vec::new();
            let mut provides: HashMap<String, String> = HashMap::new();
            for rec in records {
                let get = |k: char| {
                    rec.iter()
                        .find(|(c, _)| *c == k)
                        .map(|(_, v)| v.as_str())
                        .filter(|v| !v.is_empty())
                };
                let (Some(name), Some(version)) = (get('P'), get('V')) else {
                    cx.warn(path, "record without P: (name) or V: (version); skipped");
                    continue;
                };
                let mut p = Package::new(PackageType::Apk, name, version);
                p.arch = get('A').map(str::to_owned);
                if let Some(o) = get('o') {
                    p.source = Some(SourcePackage {
                        name: o.to_owned(),
                        version: None,
                    });
                }
                if let Some(l) = get('L') {
                    p.licenses = licenses(l);
                }
                p.homepage = get('U').map(str::to_owned);
                p.cpes = crate::cpe::apk(name, version, get('U'));
                p.supplier = get('m').and_then(Supplier::from_maintainer);
                let mut dir = String::new();
                for (k, v) in &rec {
                    match k {
                        'F' => dir = v.clone(),
                        'R' => p.files.push(&if dir.is_empty() {
                            format!("/{v}")
                        } else {
                            format!("/{dir}/{v}")
                        }),
                        _ => {}
                    }
                }
                p.locations.push(cx.location(path));
                // The layer that wrote the package's first file is the one that installed it.
                if let Some(first) = p.files.first()
                    && let Some(layer) = cx.location(first.trim_start_matches('/')).layer
                {
                    p.layer = Some(layer);
                }
                p.purl = cx.distro.and_then(|d| {
                    let upstream = get('o').filter(|o| *o != name).unwrap_or("");
                    let distro = cx.distro_qualifier().unwrap_or_default();
                    crate::purl::build(
                        "apk",
                        Some(&d.id.to_ascii_lowercase()),
                        name,
                        version,
                        &[
                            ("arch", p.arch.as_deref().unwrap_or("")),
                            ("distro", &distro),
                            ("upstream", upstream),
                        ],
                    )
                });
                let depends: Vec<String> = get('D')
                    .map(|d| {
                        d.split_whitespace()
                            .filter(|x| !x.starts_with('!'))
                            .map(dep_name)
                            .collect()
                    })
                    .unwrap_or_default();
                let provided: Vec<String> = get('p')
                    .map(|d| d.split_whitespace().map(dep_name).collect())
                    .unwrap_or_default();
                let id = cx.add(p);
                for pr in provided {
                    provides.entry(pr).or_insert_with(|| id.clone());
                }
                provides.insert(name.to_owned(), id.clone());
                added.push((id, depends));
            }
            for (id, deps) in &added {
                for d in deps {
                    if let Some(t) = provides.get(d) {
                        cx.depends(id, t);
                    }
                }
            }
        }
    }
}

/// `so:libc.musl-x86_64.so.1`, `cmd:sh`, `pc:zlib>=1.2` -> the name before any operator.
fn dep_name(d: &str) -> String {
    d.split(['<', '>', '=', '~']).next().unwrap_or(d).to_owned()
}

/// apk licence fields are SPDX-ish, space separated: `MIT BSD GPL-2.0-or-later`, or an
/// expression with `AND`/`OR`.
fn licenses(l: &str) -> Vec<String> {
    if let Some(e) = crate::license::normalise(l).filter(|e| crate::license::is_spdx(e)) {
        return vec![e];
    }
    l.split_whitespace()
        .filter_map(crate::license::normalise)
        .collect()
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
