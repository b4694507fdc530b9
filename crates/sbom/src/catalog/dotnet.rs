//! .NET: `*.deps.json`, the dependency manifest `dotnet publish` writes beside an
//! application.
//!
//! `libraries` maps `Name/Version` to `{"type": "package" | "project" | "reference", …}`;
//! NuGet packages are the `package` entries (projects are the application's own
//! assemblies). purl: `pkg:nuget/NAME@VERSION`.

use serde_json::Value;

use super::{Cataloger, Cx, Want};
use crate::model::{Package, PackageType};

/// The cataloger.
pub(crate) struct DepsJson;

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
            let location = cx.location(path);
            for (key, lib) in libs {
                if lib.get("type").and_then(Value::as_str) != Some("package") {
                    continue;
                }
                let Some((name, version)) = key.split_once('/') else {
                    cx.warn(path, format!("library {key:?} is not NAME/VERSION"));
                    continue;
                };
                let mut p = Package::new(PackageType::Dotnet, name, version);
                p.locations.push(location.clone());
                p.purl = crate::purl::build("nuget", None, name, version, &[]);
                cx.add(p);
            }
        }
    }
}
