//! .NET: `*.deps.json`, the dependency manifest `dotnet publish` writes beside an
//! application.
//!
//! `targets` maps each target framework to `Name/Version` entries (their `dependencies` and
//! the `runtime`, `resources`, `compile` and `native` assets they bring); `libraries` gives
//! each entry's `type` (`package`, `project`, `referenceassembly`, …). Which entries are
//! packages follows syft's defaults (dotnet/deps_binary_cataloger.go
//! `packagesFromLogicalDepsJSON`, dotnet/config.go `DefaultCatalogerConfig`):
//! - the application's own project (the `project` library named as the file, `NAME.deps.json`)
//!   is one;
//! - other projects, and reference assemblies without a hash and path, are not;
//! - an entry that claims no asset, neither itself nor through any dependency, is not
//!   (`DepPackagesMustClaimDLL` with `PropagateDLLClaimsToParents`), unless a known IL
//!   bundler (ILRepack, Costura.Fody, …) is among the entries (`RelaxDLLClaimsWhenBundlingDetected`).
//!
//! purl: `pkg:nuget/NAME@VERSION`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Cataloger, Cx, Want, base};
use crate::model::{Package, PackageType};

/// The cataloger.
pub(crate) struct DepsJson;

/// syft's `knownBundlers` (dotnet/deps_json.go).
const BUNDLERS: &[&str] = &[
    "ILRepack.Lib.MSBuild.Task",
    "ILRepack.Lib",
    "ILRepack.Lib.MSBuild",
    "ILRepack.Lib.NET",
    "ILRepack.NETStandard",
    "ILRepack.FullAuto",
    "ILMerge",
    "JetBrains.Build.ILRepack",
    "PostSharp.Community.Packer",
    "Brokenevent.ILStrip",
    "Brokenevent.ILStrip.CLI",
    "Costura.Fody",
    "Fody",
];

/// One `Name/Version` entry merged over every target framework.
#[derive(Default)]
struct Entry {
    claims: bool,
    dependencies: BTreeSet<String>,
}

impl Cataloger for DepsJson {
    fn name(&self) -> &'static str {
        "dotnet-deps-cataloger"
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(path.ends_with(".deps.json"))
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(v) = cx.read_json(path) else {
                continue;
            };
            let Some(libs) = v.get("libraries").and_then(Value::as_object) else {
                cx.warn(path, "no \"libraries\" object");
                continue;
            };
            let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
            for targets in v
                .get("targets")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|t| t.values())
                .filter_map(Value::as_object)
            {
                for (key, target) in targets {
                    let e = entries.entry(key.clone()).or_default();
                    e.claims |= ["runtime", "resources", "compile", "native"]
                        .iter()
                        .any(|k| {
                            target
                                .get(*k)
                                .and_then(Value::as_object)
                                .is_some_and(|o| !o.is_empty())
                        });
                    if let Some(deps) = target.get("dependencies").and_then(Value::as_object) {
                        e.dependencies.extend(
                            deps.iter()
                                .filter_map(|(n, v)| Some(format!("{n}/{}", v.as_str()?))),
                        );
                    }
                }
            }
            let bundling = entries
                .keys()
                .any(|k| BUNDLERS.contains(&k.split('/').next().unwrap_or("")));
            let root = base(path).strip_suffix(".deps.json").unwrap_or("");
            let location = cx.location(path);
            for (key, lib) in libs_in_order(&entries, libs) {
                let Some((name, version)) = key.split_once('/') else {
                    cx.warn(path, format!("library {key:?} is not NAME/VERSION"));
                    continue;
                };
                let ty = lib.and_then(|l| l.get("type")).and_then(Value::as_str);
                let s = |k: &str| {
                    lib.and_then(|l| l.get(k))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                };
                let is_root = ty == Some("project") && name == root;
                if !is_root {
                    if ty == Some("project")
                        || (ty == Some("referenceassembly")
                            && s("sha512").is_empty()
                            && s("path").is_empty())
                    {
                        continue;
                    }
                    if !bundling && !claims(&entries, key) {
                        continue;
                    }
                }
                let mut p = Package::new(PackageType::Dotnet, name, version);
                p.locations.push(location.clone());
                p.purl = crate::purl::build("nuget", None, name, version, &[]);
                cx.add(p);
            }
        }
    }
}

/// The entries of `targets`, with their `libraries` record when there is one.
fn libs_in_order<'a>(
    entries: &'a BTreeMap<String, Entry>,
    libs: &'a serde_json::Map<String, Value>,
) -> impl Iterator<Item = (&'a str, Option<&'a Value>)> {
    entries.keys().map(|k| (k.as_str(), libs.get(k)))
}

/// Whether `key` or anything it depends on, transitively, claims an asset (syft's
/// `ClaimsDLLs(true)` with `searchForDLLClaims`).
fn claims(entries: &BTreeMap<String, Entry>, key: &str) -> bool {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack = vec![key];
    while let Some(k) = stack.pop() {
        if !seen.insert(k) {
            continue;
        }
        if let Some(e) = entries.get(k) {
            if e.claims {
                return true;
            }
            stack.extend(e.dependencies.iter().map(String::as_str));
        }
    }
    false
}
