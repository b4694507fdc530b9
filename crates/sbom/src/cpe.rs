//! CPE 2.3 formatted strings (NISTIR 7695 §6.2) for packages.
//!
//! vouch writes one CPE per package, vendor and product both taken from the package (the
//! namespace, when there is one, as vendor), version as recorded. syft generates dozens
//! of candidates per package from heuristics and a dictionary; those candidates are the
//! main source of false matches in CPE-based scanners, and vouch's scanner matches by
//! purl, so one plain CPE is enough to identify a package to tools that want CPEs.

use crate::model::{Package, PackageType};

/// Escapes a CPE 2.3 attribute value: alphanumerics, `_`, `-` and `.` stay, everything
/// else is backslash-quoted; an empty value is `*` (ANY).
pub fn escape(v: &str) -> String {
    if v.is_empty() {
        return "*".into();
    }
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_graphic() {
            out.push('\\');
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

/// `cpe:2.3:a:VENDOR:PRODUCT:VERSION:*:*:*:*:*:*:*`.
pub fn format(vendor: &str, product: &str, version: &str) -> String {
    format!(
        "cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*",
        escape(vendor),
        escape(product),
        escape(version)
    )
}

/// The CPE vouch gives a package.
pub fn for_package(p: &Package, namespace: Option<&str>) -> Option<String> {
    if p.name.is_empty() || p.version.is_empty() {
        return None;
    }
    let product = match p.kind {
        // Last path element of a Go module path or Maven coordinate.
        PackageType::GoModule
        | PackageType::JavaArchive
        | PackageType::PhpComposer
        | PackageType::Npm => p.name.rsplit('/').next().unwrap_or(&p.name).to_owned(),
        _ => p.name.clone(),
    };
    let vendor = match (p.kind, namespace) {
        (PackageType::GoModule, Some(ns)) => ns.rsplit('/').next().unwrap_or(ns).to_owned(),
        (PackageType::JavaArchive | PackageType::PhpComposer, Some(ns)) => {
            ns.rsplit('.').next().unwrap_or(ns).to_owned()
        }
        (PackageType::Npm, Some(ns)) => ns.trim_start_matches('@').to_owned(),
        _ => product.clone(),
    };
    Some(format(&vendor, &product, &p.version))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::format("libc6", "libc6", "1:2.36-9+deb12u4"),
            "cpe:2.3:a:libc6:libc6:1\\:2.36-9\\+deb12u4:*:*:*:*:*:*:*"
        );
    }
}
