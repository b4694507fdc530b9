//! Rust: `Cargo.lock` (directories) and the dependency list `cargo auditable` embeds in
//! binaries (images and directories).
//!
//! `Cargo.lock` is TOML, but always in the shape cargo writes: `[[package]]` tables of
//! `name`, `version`, `source`, `checksum` and a `dependencies` array of `"name"` or
//! `"name version"` strings. A small reader for that shape is enough and keeps a TOML
//! parser out of the dependency tree. Crates without a `source` are the workspace's own;
//! as in syft they get no purl.
//!
//! `cargo auditable` stores zlib-compressed JSON in the `.dep-v0` ELF section:
//! `{"packages": [{"name", "version", "source", "kind", "dependencies": [index…], "root"}]}`.
//! Build-time dependencies (`"kind": "build"`) are not in the binary and are left out.

use std::collections::HashMap;
use std::io::Read;

use serde::Deserialize;

use super::{Applies, Cataloger, Cx, Want, base};
use crate::model::{Package, PackageType};

/// `Cargo.lock`.
pub(crate) struct CargoLock;

/// `cargo auditable` binaries.
pub(crate) struct Auditable;

impl Cataloger for CargoLock {
    fn name(&self) -> &'static str {
        "rust-cargo-lock-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Dir
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(base(path) == "Cargo.lock")
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(text) = cx.read_text(path) else {
                continue;
            };
            let crates = match parse_lock(&text) {
                Ok(c) => c,
                Err(e) => {
                    cx.warn(path, e);
                    continue;
                }
            };
            let location = cx.location(path);
            let mut ids: HashMap<(String, String), String> = HashMap::new();
            let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
            for c in &crates {
                let mut p = Package::new(PackageType::RustCrate, &c.name, &c.version);
                p.locations.push(location.clone());
                if !c.source.is_empty() {
                    p.purl = crate::purl::build("cargo", None, &c.name, &c.version, &[]);
                    if c.source.starts_with("registry+") {
                        p.download_url = Some(format!(
                            "https://crates.io/api/v1/crates/{}/{}/download",
                            c.name, c.version
                        ));
                    }
                }
                let id = cx.add(p);
                ids.insert((c.name.clone(), c.version.clone()), id.clone());
                by_name.entry(c.name.clone()).or_default().push(id);
            }
            for c in &crates {
                let from = &ids[&(c.name.clone(), c.version.clone())];
                for d in &c.dependencies {
                    let mut w = d.split_whitespace();
                    let name = w.next().unwrap_or("");
                    let target = match w.next() {
                        Some(v) => ids.get(&(name.to_owned(), v.to_owned())).cloned(),
                        None => by_name.get(name).and_then(|v| v.first()).cloned(),
                    };
                    if let Some(t) = target {
                        cx.depends(from, &t);
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct LockedCrate {
    name: String,
    version: String,
    source: String,
    dependencies: Vec<String>,
}

fn parse_lock(text: &str) -> Result<Vec<LockedCrate>, String> {
    let mut out = Vec::new();
    let mut cur: Option<LockedCrate> = None;
    let mut in_array = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if in_array {
            if let Some(c) = cur.as_mut() {
                for item in line.trim_end_matches(']').split(',') {
                    let item = item.trim().trim_matches('"');
                    if !item.is_empty() {
                        c.dependencies.push(item.to_owned());
                    }
                }
            }
            if line.ends_with(']') {
                in_array = false;
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            if let Some(c) = cur.take() {
                out.push(c);
            }
            if line == "[[package]]" {
                cur = Some(LockedCrate::default());
            }
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("line {}: expected KEY = VALUE", n + 1));
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "name" => c.name = unquote(v, n)?,
            "version" => c.version = unquote(v, n)?,
            "source" => c.source = unquote(v, n)?,
            "dependencies" => {
                let inner = v
                    .strip_prefix('[')
                    .ok_or_else(|| format!("line {}: dependencies is not an array", n + 1))?;
                for item in inner.trim_end_matches(']').split(',') {
                    let item = item.trim().trim_matches('"');
                    if !item.is_empty() {
                        c.dependencies.push(item.to_owned());
                    }
                }
                in_array = !v.ends_with(']');
            }
            _ => {}
        }
    }
    if let Some(c) = cur.take() {
        out.push(c);
    }
    if in_array {
        return Err("unterminated dependencies array".into());
    }
    if let Some(bad) = out
        .iter()
        .find(|c| c.name.is_empty() || c.version.is_empty())
    {
        return Err(format!(
            "a [[package]] without name or version (name {:?})",
            bad.name
        ));
    }
    Ok(out)
}

fn unquote(v: &str, n: usize) -> Result<String, String> {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| format!("line {}: expected a quoted string", n + 1))
}

impl Cataloger for Auditable {
    fn name(&self) -> &'static str {
        "cargo-auditable-binary-cataloger"
    }

    fn wants(&self, _path: &str) -> Want {
        Want::No
    }

    fn wants_executables(&self) -> bool {
        true
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(elf) = cx.elf(path) else { continue };
            if elf.find(".dep-v0").is_none() {
                continue;
            }
            let Some(compressed) = cx.elf_section(path, &elf, ".dep-v0", 8 << 20) else {
                continue;
            };
            let mut json = Vec::new();
            // Bounded: the JSON for thousands of crates is well under 8 MiB.
            if let Err(e) = flate2::read::ZlibDecoder::new(&compressed[..])
                .take(64 << 20)
                .read_to_end(&mut json)
            {
                cx.warn(path, format!(".dep-v0 is not zlib data: {e}"));
                continue;
            }
            let audit: Audit = match serde_json::from_slice(&json) {
                Ok(a) => a,
                Err(e) => {
                    cx.warn(path, format!(".dep-v0 is not cargo-auditable JSON: {e}"));
                    continue;
                }
            };
            let location = cx.location(path);
            let mut ids: Vec<Option<String>> = Vec::with_capacity(audit.packages.len());
            for c in &audit.packages {
                if c.kind.as_deref() == Some("build") || c.name.is_empty() || c.version.is_empty() {
                    ids.push(None);
                    continue;
                }
                let mut p = Package::new(PackageType::RustCrate, &c.name, &c.version);
                p.locations.push(location.clone());
                p.purl = crate::purl::build("cargo", None, &c.name, &c.version, &[]);
                ids.push(Some(cx.add(p)));
            }
            for (i, c) in audit.packages.iter().enumerate() {
                let Some(Some(from)) = ids.get(i).cloned() else {
                    continue;
                };
                for &d in &c.dependencies {
                    if let Some(Some(to)) = ids.get(d) {
                        cx.depends(&from, to);
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct Audit {
    packages: Vec<AuditCrate>,
}

#[derive(Deserialize)]
struct AuditCrate {
    name: String,
    version: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    dependencies: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock() {
        let t = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\n \"b\",\n \"c 1.0.0\",\n]\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n";
        let c = parse_lock(t).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].dependencies, vec!["b", "c 1.0.0"]);
        assert!(parse_lock("[[package]]\nname = \"a\"\n").is_err());
    }
}
