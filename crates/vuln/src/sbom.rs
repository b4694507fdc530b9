//! Reading package lists out of SBOMs: SPDX 2.2/2.3 JSON and CycloneDX JSON (1.2–1.7), as
//! written by vouch or syft, plus a plain list of purls (one per line).
//!
//! Only what matching needs is read: each package's purl (SPDX
//! `packages[].externalRefs[]` with `referenceType: purl`, SPDX 2.3 §7.21; CycloneDX
//! `components[].purl`, nested components included). Packages without a purl, and the
//! document's own root package (an image or directory), cannot be matched and are
//! reported as skipped. A distro named once in the SBOM (CycloneDX `operating-system`
//! component) fills in OS packages whose purl lacks a `distro` qualifier.

use serde_json::Value;

use crate::package::Package;
use crate::{Error, Limits};

/// The packages of an SBOM, plus the entries that could not be turned into packages.
#[derive(Debug, Clone, Default)]
pub struct PackageList {
    /// Packages with a usable purl.
    pub packages: Vec<Package>,
    /// Entries skipped, with why (`name: reason`).
    pub skipped: Vec<String>,
    /// `spdx`, `cyclonedx` or `purls`.
    pub format: &'static str,
}

/// Reads an SBOM's bytes; `label` names the file in errors.
pub fn read_sbom(bytes: &[u8], label: &str, limits: &Limits) -> Result<PackageList, Error> {
    if bytes.len() as u64 > limits.max_sbom_bytes {
        return Err(Error::TooLarge {
            what: label.to_owned(),
            limit: limits.max_sbom_bytes,
            unit: "bytes",
        });
    }
    let bad = |reason: String| Error::BadSbom {
        path: label.to_owned(),
        reason,
    };
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &bytes[i..]);
    let mut list = if trimmed.starts_with(b"{") {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        if doc.get("spdxVersion").is_some() {
            read_spdx(&doc)
        } else if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
            read_cyclonedx(&doc)
        } else if doc.get("artifacts").is_some()
            && doc
                .pointer("/schema/url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains("anchore"))
        {
            read_syft(&doc)
        } else {
            return Err(bad(
                "JSON is neither SPDX (no spdxVersion), CycloneDX (no bomFormat) nor syft JSON \
                 (no schema.url)"
                    .into(),
            ));
        }
    } else if trimmed.starts_with(b"pkg:") {
        read_purl_lines(&String::from_utf8_lossy(bytes))
    } else {
        return Err(bad(
            "not an SPDX JSON, CycloneDX JSON, syft JSON or purl-list SBOM".into(),
        ));
    };
    if list.packages.len() as u64 > limits.max_packages {
        return Err(Error::TooLarge {
            what: label.to_owned(),
            limit: limits.max_packages,
            unit: "packages",
        });
    }
    list.packages
        .sort_by(|a, b| (&a.kind, &a.name, &a.version).cmp(&(&b.kind, &b.name, &b.version)));
    list.packages.dedup_by(|a, b| a.purl == b.purl);
    Ok(list)
}

fn push_purl(list: &mut PackageList, who: &str, purl: &str) {
    match Package::from_purl(purl) {
        Ok(p) => list.packages.push(p),
        Err(reason) => list.skipped.push(format!("{who}: {reason}")),
    }
}

fn read_spdx(doc: &Value) -> PackageList {
    let mut list = PackageList {
        format: "spdx",
        ..PackageList::default()
    };
    for pkg in doc
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = pkg.get("name").and_then(Value::as_str).unwrap_or("?");
        let purl = pkg
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
            .and_then(|r| r.get("referenceLocator"))
            .and_then(Value::as_str);
        match purl {
            // The document's root (an image or a directory) is not a package to match.
            Some(p) if p.starts_with("pkg:oci/") || p.starts_with("pkg:docker/") => {}
            Some(p) => push_purl(&mut list, name, p),
            None if pkg
                .get("primaryPackagePurpose")
                .and_then(Value::as_str)
                .is_some_and(|p| p == "CONTAINER" || p == "FILE") => {}
            None => list.skipped.push(format!("{name}: no purl")),
        }
    }
    list
}

fn read_cyclonedx(doc: &Value) -> PackageList {
    let mut list = PackageList {
        format: "cyclonedx",
        ..PackageList::default()
    };
    let mut distro = None;
    let mut stack: Vec<&Value> = doc
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    while let Some(c) = stack.pop() {
        stack.extend(
            c.get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        if ty == "operating-system" {
            if let Some(v) = c.get("version").and_then(Value::as_str) {
                distro = Some(format!("{}-{v}", name.to_ascii_lowercase()));
            }
            continue;
        }
        match c.get("purl").and_then(Value::as_str) {
            Some(p) if p.starts_with("pkg:oci/") || p.starts_with("pkg:docker/") => {}
            Some(p) => {
                push_purl(&mut list, name, p);
                // vouch and syft record evidence paths as `…:location:N:path` properties.
                if let Some(pkg) = list
                    .packages
                    .last_mut()
                    .filter(|k| k.purl.as_deref() == Some(p))
                {
                    pkg.locations = c
                        .get("properties")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter(|x| {
                            x.get("name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| n.contains(":location:") && n.ends_with(":path"))
                        })
                        .filter_map(|x| x.get("value").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect();
                }
            }
            None if matches!(ty, "container" | "file") => {}
            None => list.skipped.push(format!("{name}: no purl")),
        }
    }
    if let Some(d) = distro {
        for p in &mut list.packages {
            let family_only = p.distro.as_deref().is_none_or(|x| !x.contains('-'));
            if matches!(p.kind.as_str(), "deb" | "apk" | "rpm") && family_only {
                p.distro = Some(d.clone());
            }
        }
    }
    list
}

/// syft JSON (`artifacts[]` with `purl` and `locations[].path`; the distro from
/// `distro.id`/`versionID` for OS packages whose purl lacks one), as grype reads it.
fn read_syft(doc: &Value) -> PackageList {
    let mut list = PackageList {
        format: "syft-json",
        ..PackageList::default()
    };
    let distro = doc.get("distro").and_then(|d| {
        Some(format!(
            "{}-{}",
            d.get("id")?.as_str()?,
            d.get("versionID")?.as_str()?
        ))
    });
    for a in doc
        .get("artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = a.get("name").and_then(Value::as_str).unwrap_or("?");
        match a
            .get("purl")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            Some(p) => {
                push_purl(&mut list, name, p);
                if let Some(pkg) = list
                    .packages
                    .last_mut()
                    .filter(|k| k.purl.as_deref() == Some(p))
                {
                    pkg.locations = a
                        .get("locations")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l.get("path").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect();
                    let family_only = pkg.distro.as_deref().is_none_or(|x| !x.contains('-'));
                    if let Some(d) = &distro
                        && matches!(pkg.kind.as_str(), "deb" | "apk" | "rpm")
                        && family_only
                    {
                        pkg.distro = Some(d.clone());
                    }
                }
            }
            None => list.skipped.push(format!("{name}: no purl")),
        }
    }
    list
}

fn read_purl_lines(text: &str) -> PackageList {
    let mut list = PackageList {
        format: "purls",
        ..PackageList::default()
    };
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        push_purl(&mut list, line, line);
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_and_cyclonedx_shapes() {
        let spdx = br#"{"spdxVersion":"SPDX-2.3","packages":[
            {"name":"img","primaryPackagePurpose":"CONTAINER","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:oci/img@sha256%3Aab"}]},
            {"name":"django","externalRefs":[{"referenceCategory":"SECURITY","referenceType":"cpe23Type","referenceLocator":"cpe:2.3:a:x"},
              {"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:pypi/django@3.2.0"}]},
            {"name":"nopurl"}]}"#;
        let l = read_sbom(spdx, "s.json", &Limits::default()).expect("spdx");
        assert_eq!(l.packages.len(), 1);
        assert_eq!(l.packages[0].name, "django");
        assert_eq!(l.skipped, vec!["nopurl: no purl".to_owned()]);

        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
            {"type":"library","name":"libc6","version":"2.36-9","purl":"pkg:deb/debian/libc6@2.36-9?upstream=glibc"},
            {"type":"operating-system","name":"debian","version":"12"},
            {"type":"library","name":"outer","purl":"pkg:cargo/outer@1.0.0","components":[{"type":"library","name":"inner","purl":"pkg:cargo/inner@0.1.0"}]}]}"#;
        let l = read_sbom(cdx, "c.json", &Limits::default()).expect("cdx");
        let names: Vec<_> = l.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["inner", "outer", "libc6"]);
        assert_eq!(l.packages[2].distro.as_deref(), Some("debian-12"));

        assert!(matches!(
            read_sbom(b"{}", "x.json", &Limits::default()),
            Err(Error::BadSbom { .. })
        ));
        assert!(matches!(
            read_sbom(b"\x00garbage", "x", &Limits::default()),
            Err(Error::BadSbom { .. })
        ));
    }
}
