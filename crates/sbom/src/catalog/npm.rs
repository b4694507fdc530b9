//! JavaScript: installed packages (`node_modules/**/package.json`, images) and lock files
//! (`package-lock.json` versions 1 to 3, directories), as syft splits them.
//!
//! purl: `pkg:npm/%40scope/name@version` (the scope is the namespace).

use std::collections::HashMap;

use serde_json::Value;

use super::{Applies, Cataloger, Cx, Want, base};
use crate::model::{Package, PackageType, Supplier};

/// `package.json` of installed packages.
pub(crate) struct PackageJson;

/// `package-lock.json`.
pub(crate) struct PackageLock;

impl Cataloger for PackageJson {
    fn name(&self) -> &'static str {
        "javascript-package-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Image
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(base(path) == "package.json")
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(v) = cx.read_json(path) else {
                continue;
            };
            let (Some(name), Some(version)) = (str_field(&v, "name"), str_field(&v, "version"))
            else {
                // Fixtures and workspace roots often have neither; syft skips them too.
                continue;
            };
            let mut p = Package::new(PackageType::Npm, name, version);
            p.locations.push(cx.location(path));
            p.licenses = licenses(&v);
            p.homepage = str_field(&v, "homepage").map(str::to_owned);
            // `repository` is a URL string or `{"url": …}` (syft's parse_package_json.go).
            let repository = v.get("repository").and_then(|r| {
                r.as_str()
                    .or_else(|| r.get("url").and_then(serde_json::Value::as_str))
            });
            p.cpes = crate::cpe::npm(name, version, repository, p.homepage.as_deref());
            p.supplier = author(&v);
            p.purl = purl(name, version);
            cx.add(p);
        }
    }
}

impl Cataloger for PackageLock {
    fn name(&self) -> &'static str {
        "javascript-lock-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Dir
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(base(path) == "package-lock.json")
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(v) = cx.read_json(path) else {
                continue;
            };
            let location = cx.location(path);
            let mut ids: HashMap<String, String> = HashMap::new();
            let mut edges: Vec<(String, Vec<String>)> = Vec::new();
            if let Some(packages) = v.get("packages").and_then(Value::as_object) {
                // lockfileVersion 2 and 3: keys are install paths, "" is the project.
                for (key, meta) in packages {
                    if meta.get("link").and_then(Value::as_bool) == Some(true) {
                        continue;
                    }
                    let name = str_field(meta, "name")
                        .map(str::to_owned)
                        .or_else(|| key.rsplit_once("node_modules/").map(|(_, n)| n.to_owned()));
                    let (Some(name), Some(version)) = (name, str_field(meta, "version")) else {
                        continue;
                    };
                    let mut p = Package::new(PackageType::Npm, &name, version);
                    p.locations.push(location.clone());
                    p.licenses = licenses(meta);
                    p.download_url = str_field(meta, "resolved").map(str::to_owned);
                    p.purl = purl(&name, version);
                    let deps: Vec<String> = meta
                        .get("dependencies")
                        .and_then(Value::as_object)
                        .map(|d| d.keys().cloned().collect())
                        .unwrap_or_default();
                    let id = cx.add(p);
                    ids.entry(name).or_insert_with(|| id.clone());
                    edges.push((id, deps));
                }
            } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
                // lockfileVersion 1: nested "dependencies" maps.
                let mut stack: Vec<(&String, &Value)> = deps.iter().collect();
                while let Some((name, meta)) = stack.pop() {
                    if let Some(version) = str_field(meta, "version") {
                        let mut p = Package::new(PackageType::Npm, name.as_str(), version);
                        p.locations.push(location.clone());
                        p.download_url = str_field(meta, "resolved").map(str::to_owned);
                        p.purl = purl(name, version);
                        let req: Vec<String> = meta
                            .get("requires")
                            .and_then(Value::as_object)
                            .map(|d| d.keys().cloned().collect())
                            .unwrap_or_default();
                        let id = cx.add(p);
                        ids.entry(name.clone()).or_insert_with(|| id.clone());
                        edges.push((id, req));
                    }
                    if let Some(nested) = meta.get("dependencies").and_then(Value::as_object) {
                        stack.extend(nested.iter());
                    }
                }
            } else {
                cx.warn(
                    path,
                    "neither \"packages\" nor \"dependencies\": not a package-lock.json",
                );
            }
            for (id, deps) in edges {
                for d in deps {
                    if let Some(t) = ids.get(&d) {
                        cx.depends(&id, t);
                    }
                }
            }
        }
    }
}

fn str_field<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `pkg:npm/%40scope/name@version`.
pub(crate) fn purl(name: &str, version: &str) -> Option<String> {
    match name.split_once('/') {
        Some((scope, n)) if scope.starts_with('@') => {
            crate::purl::build("npm", Some(scope), n, version, &[])
        }
        _ => crate::purl::build("npm", None, name, version, &[]),
    }
}

/// `"license": "MIT"`, `"license": {"type": "MIT"}`, or the old `"licenses": [{"type": …}]`.
fn licenses(v: &Value) -> Vec<String> {
    let mut raw = Vec::new();
    match v.get("license") {
        Some(Value::String(s)) => raw.push(s.clone()),
        Some(Value::Object(o)) => {
            raw.extend(o.get("type").and_then(Value::as_str).map(str::to_owned))
        }
        _ => {}
    }
    if let Some(Value::Array(a)) = v.get("licenses") {
        for l in a {
            match l {
                Value::String(s) => raw.push(s.clone()),
                Value::Object(o) => {
                    raw.extend(o.get("type").and_then(Value::as_str).map(str::to_owned))
                }
                _ => {}
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for r in raw {
        if let Some(e) = crate::license::normalise(r.trim_start_matches('(').trim_end_matches(')'))
            .or_else(|| crate::license::normalise(&r))
            && !out.contains(&e)
        {
            out.push(e);
        }
    }
    out
}

/// `"author": "Name <email> (url)"` or `{"name": …, "email": …}`.
fn author(v: &Value) -> Option<Supplier> {
    match v.get("author")? {
        Value::String(s) => Supplier::from_maintainer(s.split('(').next().unwrap_or(s)),
        Value::Object(o) => {
            let name = o.get("name").and_then(Value::as_str).unwrap_or("");
            let email = o.get("email").and_then(Value::as_str).unwrap_or("");
            Supplier::from_maintainer(&if email.is_empty() {
                name.to_owned()
            } else {
                format!("{name} <{email}>")
            })
        }
        _ => None,
    }
}
