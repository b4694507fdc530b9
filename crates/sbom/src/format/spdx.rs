//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>).
//!
//! Shape follows syft's so tools that read one read the other, with three deliberate
//! differences: every package has a supplier (NTIA minimum elements; see
//! `scan::fallback_supplier`), packages never CONTAIN files (syft's package→file edges
//! with `filesAnalyzed: false` fail spdx-tools validation), and the layer that introduced
//! a package is written into its `sourceInfo`. Licences outside the SPDX list appear as
//! `LicenseRef-…` with an entry in `hasExtractedLicensingInfos`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::Stamp;
use crate::error::{Error, Result};
use crate::model::{
    Package, PackageType, Relationship, RelationshipKind, Sbom, Source, SourceKind, Supplier,
};

const NOASSERTION: &str = "NOASSERTION";

/// `SPDXRef-` plus the parts, every character outside `[A-Za-z0-9.-]` made `-`.
fn spdx_id(parts: &[&str]) -> String {
    let body: String = parts
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{body}")
}

fn package_spdx_id(p: &Package) -> String {
    spdx_id(&["Package", p.kind.as_str(), &p.name, &p.id])
}

fn root_spdx_id(source: &Source) -> String {
    spdx_id(&[
        "DocumentRoot",
        if source.kind == SourceKind::Image {
            "Image"
        } else {
            "Directory"
        },
        &clean_name(&source.name),
    ])
}

/// The source name without the scheme and with `#`, `:` and `@` made `-` (for ids and
/// the namespace URI).
/// The purl name of the image itself (purl-spec `oci` type: the last path segment of the
/// repository, lower case): `host:5000/demo/app@sha256:…`, `…/app:v1` and `oci:DIR:app` all
/// give `app`. Digest and tag are cut from the raw reference before any character is
/// replaced, so neither leaks into the name.
fn oci_purl_name(reference: &str) -> String {
    let r = reference
        .strip_prefix("oci:")
        .or_else(|| reference.strip_prefix("docker://"))
        .unwrap_or(reference);
    let r = r.split('@').next().unwrap_or(r);
    let last = r.rsplit('/').next().unwrap_or(r);
    // `name:tag` (registry) or `DIR:tag` (layout without slashes): the part before the colon.
    let repo = last.split(':').next().unwrap_or(last);
    let repo = if repo.is_empty() { "image" } else { repo };
    clean_name(repo).to_ascii_lowercase()
}

fn clean_name(name: &str) -> String {
    let n = name
        .strip_prefix("dir:")
        .or_else(|| name.strip_prefix("oci:"))
        .unwrap_or(name);
    let n: String = n
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let n = n.trim_matches('/').to_owned();
    if n.is_empty() { "root".into() } else { n }
}

/// A URL as SPDX accepts it (`downloadLocation`, `homepage`); anything else is dropped.
fn uri(u: Option<&str>) -> Option<String> {
    let u = u?.trim();
    let ok = (u.starts_with("https://") || u.starts_with("http://") || u.starts_with("git+"))
        && u.len() < 2048
        && !u.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
        });
    ok.then(|| u.to_owned())
}

fn source_info(p: &Package, sbom: &Sbom) -> String {
    let what = match p.kind {
        PackageType::Deb => "DPKG DB",
        PackageType::Apk => "APK DB",
        PackageType::Rpm => "RPM DB",
        PackageType::Python => "installed python package manifest file",
        PackageType::Npm => "installed node module manifest file",
        PackageType::GoModule => "go module information",
        PackageType::RustCrate => "rust cargo manifest",
        PackageType::JavaArchive => "installed java archive",
        PackageType::Gem => "installed gem metadata file",
        PackageType::PhpComposer => "PHP composer manifest",
        PackageType::Dotnet => "dotnet project assets file",
        PackageType::Unknown => "package metadata",
    };
    let paths: Vec<&str> = p.locations.iter().map(|l| l.path.as_str()).collect();
    let mut s = format!("acquired package info from {what}: {}", paths.join(", "));
    if let Some(layer) = sbom.layer(p.layer) {
        s.push_str(&format!(
            " (introduced in layer {} {})",
            layer.index, layer.digest
        ));
    }
    s
}

/// Encodes the SBOM.
pub(super) fn encode(sbom: &Sbom, stamp: &Stamp) -> Value {
    let root_id = root_spdx_id(&sbom.source);
    let kind = if sbom.source.kind == SourceKind::Image {
        "image"
    } else {
        "dir"
    };
    let namespace = format!(
        "https://vouch.invalid/spdx/{kind}/{}-{}",
        clean_name(&sbom.source.name),
        stamp.uuid
    );
    let mut ids: HashMap<&str, String> = HashMap::new();
    let mut packages = Vec::with_capacity(sbom.packages.len() + 1);
    let mut refs: BTreeSet<String> = BTreeSet::new();
    // The version the user gave (`--source-version`, as syft), else the image digest.
    let root_version = match (&sbom.source.version, &sbom.source.digest) {
        (Some(v), _) => v.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => {
            // A directory has no version; record a digest of what was found in it, so
            // two scans of the same tree agree.
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            for p in &sbom.packages {
                h.update(p.id.as_bytes());
            }
            format!("sha256:{}", hex::encode(h.finalize()))
        }
    };
    let mut root = json!({
        "name": sbom.source.name,
        "SPDXID": root_id,
        "versionInfo": root_version,
        "supplier": sbom.source.supplier.as_ref().map_or(NOASSERTION.to_owned(), Supplier::spdx),
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": false,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": if sbom.source.kind == SourceKind::Image { "CONTAINER" } else { "FILE" },
    });
    if let Some(d) = sbom
        .source
        .digest
        .as_deref()
        .and_then(|d| d.strip_prefix("sha256:"))
    {
        root["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": d }]);
        let name = oci_purl_name(&sbom.source.name);
        let arch = sbom
            .source
            .platform
            .as_deref()
            .and_then(|p| p.split('/').nth(1))
            .unwrap_or("");
        if let Some(purl) = crate::purl::build(
            "oci",
            None,
            &name,
            &format!("sha256:{d}"),
            &[("arch", arch)],
        ) {
            root["externalRefs"] = json!([{ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl }]);
        }
    }
    packages.push(root);
    for p in &sbom.packages {
        let id = package_spdx_id(p);
        ids.insert(p.id.as_str(), id.clone());
        let mut refs_json = Vec::new();
        if let Some(purl) = &p.purl {
            refs_json.push(json!({ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl }));
        }
        for c in &p.cpes {
            refs_json.push(json!({ "referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": c }));
        }
        let declared = p.license_expression();
        if let Some(d) = &declared {
            refs.extend(crate::license::license_refs(d));
        }
        let mut o = json!({
            "name": p.name,
            "SPDXID": id,
            "versionInfo": p.version,
            "supplier": p.supplier.as_ref().map_or(NOASSERTION.to_owned(), Supplier::spdx),
            "downloadLocation": uri(p.download_url.as_deref()).unwrap_or_else(|| NOASSERTION.into()),
            "filesAnalyzed": false,
            "sourceInfo": source_info(p, sbom),
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": declared.unwrap_or_else(|| NOASSERTION.into()),
            "copyrightText": NOASSERTION,
            "externalRefs": refs_json,
            "primaryPackagePurpose": if p.kind.is_os() { "OPERATING-SYSTEM" } else { "LIBRARY" },
        });
        if let Some(h) = uri(p.homepage.as_deref()) {
            o["homepage"] = json!(h);
        }
        if p.kind.is_os() && p.kind == PackageType::Deb {
            // Keep the source package readable for scanners that match on it.
            if let Some(s) = &p.source {
                o["comment"] = json!(format!(
                    "source package: {}{}",
                    s.name,
                    s.version
                        .as_ref()
                        .map(|v| format!(" ({v})"))
                        .unwrap_or_default()
                ));
            }
        }
        packages.push(o);
    }
    let mut relationships = vec![
        json!({ "spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": root_id, "relationshipType": "DESCRIBES" }),
    ];
    for p in &sbom.packages {
        relationships.push(json!({ "spdxElementId": root_id, "relatedSpdxElement": ids[p.id.as_str()], "relationshipType": "CONTAINS" }));
    }
    for r in &sbom.relationships {
        let (Some(from), Some(to)) = (ids.get(r.from.as_str()), ids.get(r.to.as_str())) else {
            continue;
        };
        relationships.push(match r.kind {
            // syft's direction: the dependency is DEPENDENCY_OF the dependent.
            RelationshipKind::DependsOn => json!({ "spdxElementId": to, "relatedSpdxElement": from, "relationshipType": "DEPENDENCY_OF" }),
            RelationshipKind::Contains => json!({ "spdxElementId": from, "relatedSpdxElement": to, "relationshipType": "CONTAINS" }),
        });
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": sbom.source.name,
        "documentNamespace": namespace,
        "creationInfo": {
            "licenseListVersion": licence_list_version(),
            "creators": ["Organization: vouch", format!("Tool: vouch-{}", env!("CARGO_PKG_VERSION"))],
            "created": stamp.created,
        },
        "documentDescribes": [root_id],
        "packages": packages,
        "relationships": relationships,
    });
    if !refs.is_empty() {
        doc["hasExtractedLicensingInfos"] = Value::Array(
            refs.iter()
                .map(|r| {
                    let text = r.trim_start_matches("LicenseRef-");
                    json!({ "licenseId": r, "name": text, "extractedText": format!("The package declares the licence \"{text}\", which is not on the SPDX License List.") })
                })
                .collect(),
        );
    }
    doc
}

/// Decodes SPDX 2.x JSON.
pub(super) fn decode(v: &Value) -> Result<Sbom> {
    let version = v.get("spdxVersion").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("SPDX-2.") {
        return Err(Error::Decode(format!(
            "unsupported SPDX version {version:?}"
        )));
    }
    let pkgs = v
        .get("packages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let rels = v
        .get("relationships")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let rel = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut described: BTreeSet<String> = v
        .get("documentDescribes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for r in &rels {
        if rel(r, "relationshipType") == "DESCRIBES"
            && rel(r, "spdxElementId") == "SPDXRef-DOCUMENT"
        {
            described.insert(rel(r, "relatedSpdxElement"));
        }
    }
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut source = Source {
        kind: SourceKind::Image,
        name,
        digest: None,
        image_id: None,
        version: None,
        platform: None,
        layers: Vec::new(),
        supplier: None,
    };
    let mut packages = Vec::new();
    let mut by_spdx: BTreeMap<String, String> = BTreeMap::new();
    for p in &pkgs {
        let s = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .filter(|x| !x.is_empty() && *x != NOASSERTION)
                .map(str::to_owned)
        };
        let spdx_id = s("SPDXID").unwrap_or_default();
        let purpose = s("primaryPackagePurpose").unwrap_or_default();
        let refs = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let locator = |t: &str| -> Vec<String> {
            refs.iter()
                .filter(|r| r.get("referenceType").and_then(Value::as_str) == Some(t))
                .filter_map(|r| {
                    r.get("referenceLocator")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        };
        let purl = locator("purl").into_iter().next();
        let is_root = described.contains(&spdx_id)
            && (purpose == "CONTAINER"
                || purpose == "FILE"
                || spdx_id.contains("DocumentRoot")
                || purl.as_deref().is_some_and(|u| u.starts_with("pkg:oci/")));
        if is_root {
            source.kind = if purpose == "FILE" || spdx_id.contains("DocumentRoot-Directory") {
                SourceKind::Dir
            } else {
                SourceKind::Image
            };
            source.name = s("name").unwrap_or(source.name);
            source.digest = s("versionInfo").filter(|v| v.starts_with("sha256:"));
            source.supplier = s("supplier").and_then(|x| Supplier::parse_spdx(&x));
            continue;
        }
        let raw = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
        };
        let Some(name) = raw("name") else { continue };
        let kind = purl
            .as_deref()
            .and_then(crate::purl::Purl::parse)
            .map(|u| PackageType::from_purl_type(&u.ty))
            .filter(|t| *t != PackageType::Unknown)
            .unwrap_or_else(|| type_from_spdx_id(&spdx_id));
        let mut pkg = Package::new(kind, name, raw("versionInfo").unwrap_or_default());
        pkg.purl = purl;
        pkg.cpes = locator("cpe23Type");
        pkg.licenses = s("licenseDeclared").into_iter().collect();
        pkg.supplier = s("supplier").and_then(|x| Supplier::parse_spdx(&x));
        pkg.homepage = s("homepage");
        pkg.download_url = s("downloadLocation").filter(|d| d.contains("://"));
        if let Some(info) = s("sourceInfo")
            && let Some((_, paths)) = info.split_once(": ")
        {
            let paths = paths.split(" (introduced in layer").next().unwrap_or(paths);
            pkg.locations = paths
                .split(", ")
                .filter(|x| x.starts_with('/'))
                .map(|x| crate::model::Location {
                    path: x.to_owned(),
                    layer: None,
                })
                .collect();
        }
        pkg.assign_id();
        // Two identical packages at the same place are one; keep ids unique regardless.
        if by_spdx.values().any(|i| *i == pkg.id) {
            pkg.id = format!("{}-{}", pkg.id, packages.len());
        }
        by_spdx.insert(spdx_id, pkg.id.clone());
        packages.push(pkg);
    }
    let mut relationships = Vec::new();
    for r in &rels {
        let (a, b) = (rel(r, "spdxElementId"), rel(r, "relatedSpdxElement"));
        let (Some(a), Some(b)) = (by_spdx.get(&a), by_spdx.get(&b)) else {
            continue;
        };
        let edge = match rel(r, "relationshipType").as_str() {
            "DEPENDENCY_OF" => Relationship {
                from: b.clone(),
                to: a.clone(),
                kind: RelationshipKind::DependsOn,
            },
            "DEPENDS_ON" => Relationship {
                from: a.clone(),
                to: b.clone(),
                kind: RelationshipKind::DependsOn,
            },
            "CONTAINS" => Relationship {
                from: a.clone(),
                to: b.clone(),
                kind: RelationshipKind::Contains,
            },
            "CONTAINED_BY" => Relationship {
                from: b.clone(),
                to: a.clone(),
                kind: RelationshipKind::Contains,
            },
            _ => continue,
        };
        relationships.push(edge);
    }
    let distro = super::distro_from_purls(
        packages
            .iter()
            .filter(|p| p.kind.is_os())
            .filter_map(|p| p.purl.as_deref()),
    );
    Ok(Sbom {
        source,
        distro,
        packages,
        relationships,
        warnings: Vec::new(),
    })
}

/// syft's ids are `SPDXRef-Package-<type>-<name>-<id>`; the type is one of the known names.
fn type_from_spdx_id(id: &str) -> PackageType {
    let Some(rest) = id.strip_prefix("SPDXRef-Package-") else {
        return PackageType::Unknown;
    };
    PackageType::ALL
        .into_iter()
        .filter(|t| *t != PackageType::Unknown)
        .find(|t| rest.starts_with(&format!("{}-", t.as_str())))
        .unwrap_or(PackageType::Unknown)
}

/// `3.29` for list version `3.29.0` (SPDX writes major.minor).
fn licence_list_version() -> String {
    let v = ::spdx::license_version();
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        _ => v.to_owned(),
    }
}

#[cfg(test)]
mod oci_purl_name_tests {
    #[test]
    fn image_purl_names_drop_registry_tag_and_digest() {
        for (reference, want) in [
            ("localhost:5000/demo/app@sha256:27e4", "app"),
            ("localhost:5000/demo/app:v1@sha256:27e4", "app"),
            ("ghcr.io/Acme/Web-App:1.2", "web-app"),
            ("docker.io/library/debian", "debian"),
            ("oci:/tmp/layout:app", "layout"),
            ("docker://quay.io/x/y:z", "y"),
        ] {
            assert_eq!(super::oci_purl_name(reference), want, "{reference}");
        }
    }
}
