//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>).
//!
//! Components carry `supplier`, `purl`, the first CPE in `cpe` (the rest as
//! `vouch:cpe23` properties, as syft does with `syft:cpe23`), licences as one SPDX
//! `expression`, and vouch properties for type, cataloger, locations and the layer that
//! introduced the package. The distro is an `operating-system` component. `dependencies`
//! lists every component's direct dependencies.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::Stamp;
use crate::error::{Error, Result};
use crate::model::{
    Distro, Package, PackageType, Relationship, RelationshipKind, Sbom, Source, SourceKind,
    Supplier,
};

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

fn supplier(s: &Supplier) -> Value {
    json!({ "name": s.name() })
}

fn component(p: &Package, sbom: &Sbom) -> Value {
    let mut o = json!({
        "bom-ref": p.id,
        "type": "library",
        "name": p.name,
        "version": p.version,
    });
    if let Some(s) = &p.supplier {
        o["supplier"] = supplier(s);
    }
    if let Some(e) = p.license_expression() {
        o["licenses"] = json!([{ "expression": e }]);
    }
    if let Some(c) = p.cpes.first() {
        o["cpe"] = json!(c);
    }
    if let Some(u) = &p.purl {
        o["purl"] = json!(u);
    }
    let mut refs = Vec::new();
    if let Some(h) = &p.homepage {
        refs.push(json!({ "url": h, "type": "website" }));
    }
    if let Some(d) = &p.download_url {
        refs.push(json!({ "url": d, "type": "distribution" }));
    }
    if !refs.is_empty() {
        o["externalReferences"] = Value::Array(refs);
    }
    let mut props = vec![
        prop("vouch:package:type", p.kind.as_str()),
        prop("vouch:package:foundBy", &p.found_by),
    ];
    if let Some(l) = p.kind.language() {
        props.push(prop("vouch:package:language", l));
    }
    if let Some(s) = &p.source {
        props.push(prop("vouch:package:sourceName", &s.name));
        if let Some(v) = &s.version {
            props.push(prop("vouch:package:sourceVersion", v));
        }
    }
    if let Some(a) = &p.arch {
        props.push(prop("vouch:package:arch", a));
    }
    if let Some(layer) = sbom.layer(p.layer) {
        props.push(prop(
            "vouch:package:layerID",
            layer.diff_id.as_deref().unwrap_or(&layer.digest),
        ));
        props.push(prop("vouch:package:layerDigest", &layer.digest));
    }
    for c in p.cpes.iter().skip(1) {
        props.push(prop("vouch:cpe23", c));
    }
    for (i, l) in p.locations.iter().enumerate() {
        if let Some(layer) = sbom.layer(l.layer) {
            props.push(prop(
                &format!("vouch:location:{i}:layerID"),
                layer.diff_id.as_deref().unwrap_or(&layer.digest),
            ));
        }
        props.push(prop(&format!("vouch:location:{i}:path"), &l.path));
    }
    o["properties"] = Value::Array(props);
    o
}

fn os_component(d: &Distro) -> Value {
    let mut o = json!({
        "bom-ref": format!("os:{}@{}", d.id, d.version_id),
        "type": "operating-system",
        "name": d.id,
        "version": d.version_id,
    });
    if !d.pretty_name.is_empty() {
        o["description"] = json!(d.pretty_name);
    }
    let mut props = vec![prop("vouch:distro:id", &d.id)];
    for (i, l) in d.id_like.iter().enumerate() {
        props.push(prop(&format!("vouch:distro:idLike:{i}"), l));
    }
    if !d.version_id.is_empty() {
        props.push(prop("vouch:distro:versionID", &d.version_id));
    }
    if !d.codename.is_empty() {
        props.push(prop("vouch:distro:versionCodename", &d.codename));
    }
    o["properties"] = Value::Array(props);
    o
}

/// Encodes the SBOM.
pub(super) fn encode(sbom: &Sbom, stamp: &Stamp) -> Value {
    let mut root = json!({
        "bom-ref": "vouch-root",
        "type": if sbom.source.kind == SourceKind::Image { "container" } else { "file" },
        "name": sbom.source.name,
    });
    if let Some(v) = &sbom.source.version {
        root["version"] = json!(v);
    }
    if let Some(d) = &sbom.source.digest {
        if sbom.source.version.is_none() {
            root["version"] = json!(d);
        }
        if let Some(h) = d.strip_prefix("sha256:") {
            root["hashes"] = json!([{ "alg": "SHA-256", "content": h }]);
        }
    }
    if let Some(s) = &sbom.source.supplier {
        root["supplier"] = supplier(s);
    }
    let mut components: Vec<Value> = sbom.packages.iter().map(|p| component(p, sbom)).collect();
    if let Some(d) = &sbom.distro {
        components.push(os_component(d));
    }
    let mut deps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &sbom.packages {
        deps.entry(p.id.as_str()).or_default();
    }
    for r in &sbom.relationships {
        if r.kind == RelationshipKind::DependsOn {
            deps.entry(r.from.as_str()).or_default().push(r.to.as_str());
        }
    }
    let dependencies: Vec<Value> = deps
        .into_iter()
        .map(|(r, mut on)| {
            on.sort_unstable();
            on.dedup();
            json!({ "ref": r, "dependsOn": on })
        })
        .collect();
    let mut metadata = json!({
        "timestamp": stamp.created,
        "tools": { "components": [{ "type": "application", "name": "vouch", "version": env!("CARGO_PKG_VERSION") }] },
        "component": root,
    });
    if let Some(s) = &sbom.source.supplier {
        metadata["supplier"] = supplier(s);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", stamp.uuid),
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": dependencies,
    })
}

/// Decodes CycloneDX JSON (1.2 and later), vouch's or syft's.
pub(super) fn decode(v: &Value) -> Result<Sbom> {
    let spec = v.get("specVersion").and_then(Value::as_str).unwrap_or("");
    if !spec.starts_with("1.") {
        return Err(Error::Decode(format!(
            "unsupported CycloneDX specVersion {spec:?}"
        )));
    }
    let meta_c = v.get("metadata").and_then(|m| m.get("component"));
    let s = |o: Option<&Value>, k: &str| {
        o.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
    };
    let mut source = Source {
        kind: if s(meta_c, "type").as_deref() == Some("container") {
            SourceKind::Image
        } else {
            SourceKind::Dir
        },
        name: s(meta_c, "name").unwrap_or_default(),
        digest: s(meta_c, "version").filter(|d| d.starts_with("sha256:")),
        image_id: None,
        version: None,
        platform: None,
        layers: Vec::new(),
        supplier: meta_c
            .and_then(|c| c.get("supplier"))
            .and_then(|x| s(Some(x), "name"))
            .map(Supplier::Organization),
    };
    if source.supplier.is_none() {
        source.supplier = v
            .get("metadata")
            .and_then(|m| m.get("supplier"))
            .and_then(|x| s(Some(x), "name"))
            .map(Supplier::Organization);
    }
    let mut distro = None;
    let mut packages = Vec::new();
    let mut by_ref: HashMap<String, String> = HashMap::new();
    // Components may nest (`components` inside a component); walk them all.
    let mut stack: Vec<&Value> = v
        .get("components")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    while let Some(c) = stack.pop() {
        if let Some(children) = c.get("components").and_then(Value::as_array) {
            stack.extend(children.iter());
        }
        let props: Vec<(String, String)> = c
            .get("properties")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        Some((
                            p.get("name")?.as_str()?.to_owned(),
                            p.get("value")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let prop = |k: &str| {
            props
                .iter()
                .find(|(n, _)| n == &format!("vouch:{k}") || n == &format!("syft:{k}"))
                .map(|(_, v)| v.clone())
        };
        let ty = s(Some(c), "type").unwrap_or_default();
        if ty == "operating-system" {
            distro = Some(Distro {
                id: prop("distro:id")
                    .or_else(|| s(Some(c), "name"))
                    .unwrap_or_default(),
                version_id: prop("distro:versionID")
                    .or_else(|| s(Some(c), "version"))
                    .unwrap_or_default(),
                id_like: props
                    .iter()
                    .filter(|(n, _)| n.contains("distro:idLike"))
                    .map(|(_, v)| v.clone())
                    .collect(),
                codename: prop("distro:versionCodename").unwrap_or_default(),
                pretty_name: s(Some(c), "description").unwrap_or_default(),
            });
            continue;
        }
        if ty == "container" || ty == "file" {
            continue;
        }
        let Some(name) = s(Some(c), "name") else {
            continue;
        };
        let purl = s(Some(c), "purl");
        let kind = prop("package:type")
            .map(|t| PackageType::from_name(&t))
            .filter(|t| *t != PackageType::Unknown)
            .or_else(|| {
                purl.as_deref()
                    .and_then(crate::purl::Purl::parse)
                    .map(|u| PackageType::from_purl_type(&u.ty))
            })
            .unwrap_or(PackageType::Unknown);
        // A namespaced name: CycloneDX may put the scope or group in `group`.
        let full = match s(Some(c), "group") {
            Some(g) if kind == PackageType::Npm || kind == PackageType::PhpComposer => {
                format!("{g}/{name}")
            }
            _ => name,
        };
        let mut p = Package::new(kind, full, s(Some(c), "version").unwrap_or_default());
        p.purl = purl;
        p.cpes = s(Some(c), "cpe")
            .into_iter()
            .chain(
                props
                    .iter()
                    .filter(|(n, _)| n.ends_with(":cpe23"))
                    .map(|(_, v)| v.clone()),
            )
            .collect();
        p.licenses = licenses(c);
        p.supplier = c
            .get("supplier")
            .and_then(|x| s(Some(x), "name"))
            .map(Supplier::Organization)
            .or_else(|| s(Some(c), "publisher").map(Supplier::Organization));
        p.found_by = prop("package:foundBy").unwrap_or_default();
        p.locations = props
            .iter()
            .filter(|(n, _)| n.contains(":location:") && n.ends_with(":path"))
            .map(|(_, v)| crate::model::Location {
                path: v.clone(),
                layer: None,
            })
            .collect();
        p.assign_id();
        if by_ref.values().any(|i| *i == p.id) {
            p.id = format!("{}-{}", p.id, packages.len());
        }
        if let Some(r) = s(Some(c), "bom-ref") {
            by_ref.insert(r, p.id.clone());
        }
        packages.push(p);
    }
    let mut relationships = Vec::new();
    for d in v
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(from) = s(Some(d), "ref").and_then(|r| by_ref.get(&r).cloned()) else {
            continue;
        };
        for to in d
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(to) = by_ref.get(to) {
                relationships.push(Relationship {
                    from: from.clone(),
                    to: to.clone(),
                    kind: RelationshipKind::DependsOn,
                });
            }
        }
    }
    if distro.is_none() {
        distro = super::distro_from_purls(
            packages
                .iter()
                .filter(|p| p.kind.is_os())
                .filter_map(|p| p.purl.as_deref()),
        );
    }
    Ok(Sbom {
        source,
        distro,
        packages,
        relationships,
        warnings: Vec::new(),
    })
}

fn licenses(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for l in c
        .get("licenses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = l.get("expression").and_then(Value::as_str) {
            out.push(e.to_owned());
        } else if let Some(lic) = l.get("license") {
            if let Some(id) = lic.get("id").and_then(Value::as_str) {
                out.push(id.to_owned());
            } else if let Some(n) = lic.get("name").and_then(Value::as_str)
                && let Some(e) = crate::license::normalise(n)
            {
                out.push(e);
            }
        }
    }
    out
}
