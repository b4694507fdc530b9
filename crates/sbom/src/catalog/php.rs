//! PHP composer: `vendor/composer/installed.json` (images) and `composer.lock`
//! (directories), as syft splits them.
//!
//! `installed.json` is an array of packages (composer 1) or `{"packages": [...]}`
//! (composer 2); `composer.lock` has `packages` (reported) and `packages-dev` (not, as
//! syft). Each package has
//! `name` (`vendor/project`), `version`, `license` (an array of SPDX ids), `authors` and
//! `dist.url`. purl: `pkg:composer/VENDOR/PROJECT@VERSION`.

use serde_json::Value;

use super::{Applies, Cataloger, Cx, Want, base};
use crate::model::{Package, PackageType, Supplier};

/// `installed.json`.
pub(crate) struct Installed;

/// `composer.lock`.
pub(crate) struct Lock;

impl Cataloger for Installed {
    fn name(&self) -> &'static str {
        "php-composer-installed-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Image
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(base(path) == "installed.json")
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(v) = cx.read_json(path) else {
                continue;
            };
            let list = match &v {
                Value::Array(a) => a.clone(),
                Value::Object(o) => o
                    .get("packages")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            add_all(cx, path, &list);
        }
    }
}

impl Cataloger for Lock {
    fn name(&self) -> &'static str {
        "php-composer-lock-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Dir
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(base(path) == "composer.lock")
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(v) = cx.read_json(path) else {
                continue;
            };
            // `packages` only: `packages-dev` are what `composer install --no-dev` leaves
            // out of a deployment, and syft does not list them either
            // (php/parse_composer_lock.go reads `packages-dev` and reports none of it).
            let list = v
                .get("packages")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            add_all(cx, path, &list);
        }
    }
}

fn add_all(cx: &mut Cx<'_>, path: &str, list: &[Value]) {
    let location = cx.location(path);
    for item in list {
        let s = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let (Some(name), Some(version)) = (s("name"), s("version")) else {
            continue;
        };
        let Some((vendor, project)) = name.split_once('/') else {
            cx.warn(path, format!("package name {name:?} is not vendor/project"));
            continue;
        };
        let mut p = Package::new(PackageType::PhpComposer, name, version);
        p.locations.push(location.clone());
        p.licenses = item
            .get("license")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter_map(crate::license::normalise)
                    .collect()
            })
            .unwrap_or_default();
        p.supplier = item
            .get("authors")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|a| {
                let n = a.get("name").and_then(Value::as_str).unwrap_or("");
                let e = a.get("email").and_then(Value::as_str).unwrap_or("");
                Supplier::from_maintainer(&if e.is_empty() {
                    n.to_owned()
                } else {
                    format!("{n} <{e}>")
                })
            });
        p.homepage = s("homepage").map(str::to_owned);
        p.download_url = item
            .get("dist")
            .and_then(|d| d.get("url"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        p.purl = crate::purl::build("composer", Some(vendor), project, version, &[]);
        cx.add(p);
    }
}
