//! `github-json`: a snapshot for GitHub's dependency submission API
//! (`POST /repos/{owner}/{repo}/dependency-graph/snapshots`), shaped as syft v1.57.2's
//! `syft/format/github/internal/model` writes it: `version` 0, an empty `job` (the CI step
//! that submits fills `job`, `sha` and `ref`), `detector`, `metadata` (`syft:distro` as a
//! generic purl), one `manifests` entry per evidence file with the packages it resolves
//! keyed by their purl without qualifiers, and `scanned`.
//!
//! One deliberate difference: syft lists under a package's `dependencies` the packages
//! that depend on it (its `dependency-of` edges read forwards); GitHub's API defines
//! `dependencies` as what the package depends on, which is what vouch writes.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::Stamp;
use crate::model::{RelationshipKind, Sbom, SourceKind};

/// A purl without its qualifiers and subpath (syft's `dependencyName`).
fn bare(purl: &str) -> &str {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    &purl[..end]
}

pub(super) fn encode(sbom: &Sbom, stamp: &Stamp) -> Value {
    let mut metadata = json!({});
    if let Some(d) = &sbom.distro {
        let mut p = format!("pkg:generic/{}", d.id);
        if !d.version_id.is_empty() {
            p.push('@');
            p.push_str(&d.version_id);
        }
        if !d.id_like.is_empty() {
            p.push_str("?like=");
            p.push_str(&d.id_like.join("%2C"));
        }
        metadata["syft:distro"] = json!(p);
    }
    let input = sbom.source.name.trim_start_matches("./");
    let purl_of: HashMap<&str, &str> = sbom
        .packages
        .iter()
        .filter_map(|p| Some((p.id.as_str(), p.purl.as_deref()?)))
        .collect();
    let mut deps: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &sbom.relationships {
        if r.kind == RelationshipKind::DependsOn
            && let Some(to) = purl_of.get(r.to.as_str())
        {
            deps.entry(r.from.as_str()).or_default().push(bare(to));
        }
    }
    let mut manifests: BTreeMap<String, Value> = BTreeMap::new();
    for p in &sbom.packages {
        let loc = p.locations.first();
        let path = match (loc, sbom.source.kind) {
            (Some(l), SourceKind::Image) => format!(
                "{}:/{}",
                input.replace(":/", "//"),
                l.path.trim_start_matches('/')
            ),
            (Some(l), SourceKind::Dir) => {
                let dir = input.trim_start_matches("dir:").trim_end_matches('/');
                let rel = l.path.trim_start_matches('/');
                if dir.is_empty() || dir == "." {
                    rel.to_owned()
                } else {
                    format!("{dir}/{rel}")
                }
            }
            (None, _) => input.to_owned(),
        };
        let m = manifests.entry(path.clone()).or_insert_with(|| {
            let mut m =
                json!({ "name": path, "file": { "source_location": path }, "resolved": {} });
            if let Some(layer) = sbom.layer(loc.and_then(|l| l.layer)) {
                m["metadata"] = json!({
                    "syft:filesystem": layer.diff_id.as_deref().unwrap_or(&layer.digest)
                });
            }
            m
        });
        let Some(purl) = &p.purl else { continue };
        let mut node = json!({ "package_url": purl, "relationship": "direct", "scope": "runtime" });
        if let Some(d) = deps.get(p.id.as_str()) {
            let mut d = d.clone();
            d.sort_unstable();
            d.dedup();
            node["dependencies"] = json!(d);
        }
        m["resolved"][bare(purl)] = node;
    }
    json!({
        "version": 0,
        "job": {},
        "detector": {
            "name": "vouch",
            "url": env!("CARGO_PKG_REPOSITORY"),
            "version": env!("CARGO_PKG_VERSION"),
        },
        "metadata": metadata,
        "manifests": manifests,
        "scanned": stamp.created,
    })
}

/// `purls`: each distinct package URL once, one a line, in package order (syft's
/// `syft/format/purls/encoder.go`).
pub(super) fn purls(sbom: &Sbom) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for p in &sbom.packages {
        if let Some(u) = p.purl.as_deref().map(str::trim)
            && !u.is_empty()
            && crate::purl::Purl::parse(u).is_some()
            && seen.insert(u)
        {
            out.push_str(u);
            out.push('\n');
        }
    }
    out
}
