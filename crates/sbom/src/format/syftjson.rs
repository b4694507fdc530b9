//! syft's own JSON (`syft-json`), schema 16.1.13 as syft v1.57.2 writes it
//! (`schema/json/schema-16.1.13.json` in github.com/anchore/syft; the model is
//! `syft/format/syftjson/model/*.go`), so consumers of syft-json (grype, syft convert,
//! scripts reading `.artifacts[]`) read vouch's documents.
//!
//! Written: `artifacts` (id, name, version, type, foundBy, locations with the layer's diff
//! ID as `layerID`, licenses, language, cpes, purl, and for dpkg packages the
//! `dpkg-db-entry` metadata that carries the source package grype matches on),
//! `artifactRelationships` (`contains` from the source to each package, then
//! `dependency-of` and `contains` between packages, in syft's direction), `source`,
//! `distro`, `descriptor` and `schema`. Not written: `files` (syft's file catalog;
//! optional in the schema).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::model::{
    Distro, Layer, Location, Package, PackageType, Relationship, RelationshipKind, Sbom, Source,
    SourceKind, SourcePackage, Supplier,
};

/// The schema version syft v1.57.2 writes (`internal/constants.go`, `JSONSchemaVersion`).
pub const SCHEMA_VERSION: &str = "16.1.13";

fn schema_url() -> String {
    format!(
        "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-{SCHEMA_VERSION}.json"
    )
}

/// The source's id: syft hashes what identifies it; vouch uses the manifest digest for an
/// image and a SHA-256 of the name otherwise.
fn source_id(s: &Source) -> String {
    use sha2::Digest as _;
    match s.digest.as_deref().and_then(|d| d.strip_prefix("sha256:")) {
        Some(h) => h.to_owned(),
        None => hex::encode(sha2::Sha256::digest(s.name.as_bytes())),
    }
}

fn layer_id(l: &Layer) -> &str {
    // syft's layerID is the layer's diff ID (the digest of the uncompressed tar).
    l.diff_id.as_deref().unwrap_or(&l.digest)
}

fn artifact(p: &Package, sbom: &Sbom) -> Value {
    let locations: Vec<Value> = p
        .locations
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut o = json!({ "path": l.path, "accessPath": l.path });
            if let Some(layer) = sbom.layer(l.layer) {
                o["layerID"] = json!(layer_id(layer));
            }
            o["annotations"] = json!({ "evidence": if i == 0 { "primary" } else { "supporting" } });
            o
        })
        .collect();
    let licenses: Vec<Value> = p
        .licenses
        .iter()
        .map(|l| {
            json!({ "value": l, "spdxExpression": l, "type": "declared", "urls": [], "locations": [] })
        })
        .collect();
    let cpes: Vec<Value> = p
        .cpes
        .iter()
        .map(|c| json!({ "cpe": c, "source": "vouch-generated" }))
        .collect();
    let mut o = json!({
        "id": p.id,
        "name": p.name,
        "version": p.version,
        "type": p.kind.as_str(),
        "foundBy": p.found_by,
        "locations": locations,
        "licenses": licenses,
        "language": p.kind.language().unwrap_or(""),
        "cpes": cpes,
        "purl": p.purl.as_deref().unwrap_or(""),
    });
    if p.kind == PackageType::Deb {
        // DpkgDbEntry: every field is required by the schema.
        o["metadataType"] = json!("dpkg-db-entry");
        o["metadata"] = json!({
            "package": p.name,
            "source": p.source.as_ref().map_or("", |s| s.name.as_str()),
            "version": p.version,
            "sourceVersion": p.source.as_ref().and_then(|s| s.version.as_deref()).unwrap_or(""),
            "architecture": p.arch.as_deref().unwrap_or(""),
            "maintainer": p.supplier.as_ref().map_or("", Supplier::name),
            "installedSize": 0,
            "files": p.files.to_vec().into_iter().map(|f| json!({ "path": f })).collect::<Vec<_>>(),
        });
    }
    o
}

fn source(s: &Source, version: &str) -> Value {
    let metadata = match s.kind {
        SourceKind::Image => {
            let (os, arch) = s
                .platform
                .as_deref()
                .and_then(|p| p.split_once('/'))
                .map_or(("", ""), |(o, a)| (o, a.split('/').next().unwrap_or(a)));
            json!({
                "userInput": s.name,
                "imageID": s.image_id.as_deref().unwrap_or(""),
                "manifestDigest": s.digest.as_deref().unwrap_or(""),
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "tags": [],
                "imageSize": 0,
                "layers": s.layers.iter().map(|l| json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_id(l),
                    "size": 0,
                })).collect::<Vec<_>>(),
                "manifest": "",
                "config": "",
                "repoDigests": [],
                "architecture": arch,
                "os": os,
            })
        }
        SourceKind::Dir => json!({ "path": s.name }),
    };
    let mut o = json!({
        "id": source_id(s),
        "name": s.name,
        "version": version,
        "type": match s.kind { SourceKind::Image => "image", SourceKind::Dir => "directory" },
        "metadata": metadata,
    });
    if let Some(sup) = &s.supplier {
        o["supplier"] = json!(sup.name());
    }
    o
}

fn distro(d: &Distro) -> Value {
    let mut o = json!({ "id": d.id });
    if !d.pretty_name.is_empty() {
        o["prettyName"] = json!(d.pretty_name);
    }
    if !d.id_like.is_empty() {
        o["idLike"] = json!(d.id_like);
    }
    if !d.version_id.is_empty() {
        o["versionID"] = json!(d.version_id);
    }
    if !d.codename.is_empty() {
        o["versionCodename"] = json!(d.codename);
    }
    o
}

/// Encodes the SBOM as syft JSON.
pub(super) fn encode(sbom: &Sbom) -> Value {
    // The source's version: `--source-version`, a file's digest, else empty as in syft.
    let version = sbom.source.version.as_deref().unwrap_or("");
    let src_id = source_id(&sbom.source);
    let mut rels: Vec<Value> = sbom
        .packages
        .iter()
        .map(|p| json!({ "parent": src_id, "child": p.id, "type": "contains" }))
        .collect();
    for r in &sbom.relationships {
        rels.push(match r.kind {
            // syft: the dependency is the parent of a `dependency-of` edge.
            RelationshipKind::DependsOn => {
                json!({ "parent": r.to, "child": r.from, "type": "dependency-of" })
            }
            RelationshipKind::Contains => {
                json!({ "parent": r.from, "child": r.to, "type": "contains" })
            }
        });
    }
    json!({
        "artifacts": sbom.packages.iter().map(|p| artifact(p, sbom)).collect::<Vec<_>>(),
        "artifactRelationships": rels,
        "source": source(&sbom.source, version),
        // syft writes an empty object when no distro was found; the schema requires the key.
        "distro": sbom.distro.as_ref().map_or_else(|| json!({}), distro),
        "descriptor": { "name": "vouch", "version": env!("CARGO_PKG_VERSION") },
        "schema": { "version": SCHEMA_VERSION, "url": schema_url() },
    })
}

/// Whether a JSON document is syft JSON: syft's decoder identifies it by its `schema.url`
/// (`syft/format/syftjson/decoder.go`), which every schema version since 1 has named.
pub(super) fn is_syft_json(v: &Value) -> bool {
    v.get("artifacts").is_some()
        && v.get("schema")
            .and_then(|s| s.get("url"))
            .and_then(Value::as_str)
            .is_some_and(|u| u.contains("anchore") && u.contains("schema"))
}

/// Decodes syft JSON (schema 1 and later as far as the fields read here go).
pub(super) fn decode(v: &Value) -> Result<Sbom> {
    let major = v
        .pointer("/schema/version")
        .and_then(Value::as_str)
        .and_then(|s| s.split('.').next())
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| Error::Decode("syft JSON without a schema.version".into()))?;
    if major > 16 {
        return Err(Error::Decode(format!(
            "syft JSON schema {major} is newer than this vouch reads (16)"
        )));
    }
    let str_of = |o: Option<&Value>, k: &str| {
        o.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let src = v.get("source");
    let meta = src.and_then(|s| s.get("metadata"));
    let layers: Vec<Layer> = meta
        .and_then(|m| m.get("layers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .filter_map(|(index, l)| {
                    let d = str_of(Some(l), "digest")?;
                    Some(Layer {
                        index,
                        digest: d.clone(),
                        diff_id: Some(d),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let layer_of: HashMap<String, usize> =
        layers.iter().map(|l| (l.digest.clone(), l.index)).collect();
    let kind = match str_of(src, "type").as_deref() {
        Some("image") => SourceKind::Image,
        _ => SourceKind::Dir,
    };
    let source = Source {
        kind,
        name: str_of(src, "name").unwrap_or_default(),
        digest: str_of(meta, "manifestDigest"),
        image_id: str_of(meta, "imageID"),
        version: str_of(src, "version"),
        platform: match (str_of(meta, "os"), str_of(meta, "architecture")) {
            (Some(o), Some(a)) => Some(format!("{o}/{a}")),
            _ => None,
        },
        layers,
        supplier: str_of(src, "supplier").map(Supplier::Organization),
    };
    let d = v.get("distro").filter(|d| d.get("id").is_some());
    let distro = d.map(|d| Distro {
        id: str_of(Some(d), "id").unwrap_or_default(),
        version_id: str_of(Some(d), "versionID").unwrap_or_default(),
        id_like: d
            .get("idLike")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        codename: str_of(Some(d), "versionCodename").unwrap_or_default(),
        pretty_name: str_of(Some(d), "prettyName").unwrap_or_default(),
    });
    let arts = v
        .get("artifacts")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Decode("syft JSON: artifacts is not a list".into()))?;
    let mut packages = Vec::with_capacity(arts.len());
    let mut ids: HashMap<String, String> = HashMap::new();
    for (i, a) in arts.iter().enumerate() {
        let name = str_of(Some(a), "name")
            .ok_or_else(|| Error::Decode(format!("syft JSON: artifacts[{i}].name missing")))?;
        let kind = PackageType::from_name(&str_of(Some(a), "type").unwrap_or_default());
        let mut p = Package::new(kind, name, str_of(Some(a), "version").unwrap_or_default());
        p.purl = str_of(Some(a), "purl");
        p.found_by = str_of(Some(a), "foundBy").unwrap_or_default();
        p.cpes = a
            .get("cpes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            // Schema < 16 wrote CPEs as plain strings.
            .filter_map(|c| {
                c.as_str()
                    .map(str::to_owned)
                    .or_else(|| str_of(Some(c), "cpe"))
            })
            .collect();
        p.licenses = a
            .get("licenses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| {
                l.as_str()
                    .and_then(crate::license::normalise)
                    .or_else(|| str_of(Some(l), "spdxExpression"))
                    .or_else(|| {
                        str_of(Some(l), "value").and_then(|x| crate::license::normalise(&x))
                    })
            })
            .collect();
        p.locations = a
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| {
                Some(Location {
                    path: str_of(Some(l), "path")?,
                    layer: str_of(Some(l), "layerID").and_then(|d| layer_of.get(&d).copied()),
                })
            })
            .collect();
        p.layer = p.locations.first().and_then(|l| l.layer);
        let m = a.get("metadata");
        if kind == PackageType::Deb || kind == PackageType::Apk || kind == PackageType::Rpm {
            let src_name = str_of(m, "source")
                .or_else(|| str_of(m, "originPackage"))
                .or_else(|| str_of(m, "sourceRpm"));
            if let Some(n) = src_name {
                p.source = Some(SourcePackage {
                    name: n,
                    version: str_of(m, "sourceVersion"),
                });
            }
            p.arch = str_of(m, "architecture");
        }
        p.assign_id();
        if let Some(orig) = str_of(Some(a), "id") {
            ids.insert(orig, p.id.clone());
        }
        packages.push(p);
    }
    let mut relationships = Vec::new();
    for r in v
        .get("artifactRelationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(parent), Some(child)) = (
            str_of(Some(r), "parent").and_then(|x| ids.get(&x).cloned()),
            str_of(Some(r), "child").and_then(|x| ids.get(&x).cloned()),
        ) else {
            continue; // an edge to the source or to a file
        };
        match str_of(Some(r), "type").as_deref() {
            Some("dependency-of") => relationships.push(Relationship {
                from: child,
                to: parent,
                kind: RelationshipKind::DependsOn,
            }),
            Some("contains") => relationships.push(Relationship {
                from: parent,
                to: child,
                kind: RelationshipKind::Contains,
            }),
            _ => {}
        }
    }
    Ok(Sbom {
        source,
        distro,
        packages,
        relationships,
        warnings: Vec::new(),
    })
}
