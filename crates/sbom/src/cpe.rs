//! CPE 2.3 formatted strings (NISTIR 7695 §6.2) for packages.
//!
//! Debian packages get syft's candidate set ([`candidates`]: name variants as vendor and
//! product, most specific first), so a CPE-matching tool finds what it finds with syft's
//! SBOM. Other ecosystems still get one CPE, vendor and product taken from the package (the
//! namespace, when there is one, as vendor): syft consults its NVD-derived dictionary first
//! for npm, gem, pypi, cargo, go and composer packages (cpegenerate/generate.go
//! `FromDictionaryFind`) and adds ecosystem rules (vendor from author, group id, GitHub
//! organisation: cpegenerate/{java,python,ruby,javascript,go}.go) not ported yet.

use std::collections::BTreeSet;

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

/// The CPEs vouch gives a package, the one to prefer first.
pub fn for_package(p: &Package, namespace: Option<&str>) -> Vec<String> {
    if p.name.is_empty() || p.version.is_empty() {
        return Vec::new();
    }
    if p.kind == PackageType::Deb {
        return candidates(&p.name, &p.version);
    }
    one(p, namespace).into_iter().collect()
}

/// syft's generated candidates for a package with no ecosystem-specific vendor or product
/// sources (dpkg: cpegenerate/generate.go `FromPackageAttributes` with no case for
/// DpkgDBEntry in `candidateVendorsByType`): products are the name and its `-`/`_`
/// variations; vendors are those, their variations again, and every prefix ending before a
/// `-` or `_` (`addAllSubSelections`); an `apache` vendor stands alone (`knownVendors`).
/// Every product is paired with every vendor, then sorted as syft's
/// `BySourceThenSpecificity` (cpe/by_specificity.go): longer first, then by the string.
/// syft's one Debian addition (candidate_by_package_type.go: dnsmasq's vendor
/// `thekelleys`) is included.
pub fn candidates(name: &str, version: &str) -> Vec<String> {
    let mut products: BTreeSet<String> = BTreeSet::from([name.to_owned()]);
    delimiter_variations(&mut products);
    let mut vendors = products.clone();
    delimiter_variations(&mut vendors);
    for v in vendors.clone() {
        vendors.extend(sub_selections(&v));
    }
    if name == "dnsmasq" && vendors.contains("dnsmasq") {
        vendors.insert("thekelleys".to_owned());
    }
    vendors.remove("");
    vendors.remove("*");
    if vendors.contains("apache") {
        vendors = BTreeSet::from(["apache".to_owned()]);
    }
    let mut out: Vec<(usize, String)> = Vec::new();
    for product in &products {
        for vendor in &vendors {
            // countFieldLength: part + vendor + product + version + target_sw (`*`).
            let len = 1 + vendor.len() + product.len() + version.len() + 1;
            out.push((len, format(vendor, product, version)));
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    out.dedup();
    out.into_iter().map(|(_, c)| c).collect()
}

/// `a-b` adds `a_b` and `a_b` adds `a-b` (generate.go `addDelimiterVariations`).
fn delimiter_variations(set: &mut BTreeSet<String>) {
    for v in set.clone() {
        if v.contains('-') {
            set.insert(v.replace('-', "_"));
        }
        if v.contains('_') {
            set.insert(v.replace('_', "-"));
        }
    }
}

/// `a-b_c` -> `a`, `a-b`, `a-b_c` (generate.go `generateSubSelections`: tokens end at each
/// `-`/`_`; empty tokens are skipped but their delimiter joins the next one).
fn sub_selections(field: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last = '-';
    let mut rest = field;
    while !rest.is_empty() {
        let end = rest.find(['-', '_']).map_or(rest.len(), |i| i + 1);
        let raw = &rest[..end];
        rest = &rest[end..];
        let token = raw.trim_matches(['-', '_']);
        if !token.is_empty() {
            let next = match out.last() {
                Some(prev) => format!("{prev}{last}{token}"),
                None => token.to_owned(),
            };
            out.push(next);
        }
        last = raw.chars().last().unwrap_or('-');
    }
    out
}

/// One CPE: vendor and product from the package.
fn one(p: &Package, namespace: Option<&str>) -> Option<String> {
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
    fn debian_candidates_as_syft() {
        // syft latest's cpes for Debian 12's libpam-runtime, in its order.
        assert_eq!(
            super::candidates("libpam-runtime", "1.5.2-6+deb12u1"),
            [
                "cpe:2.3:a:libpam-runtime:libpam-runtime:1.5.2-6\\+deb12u1:*:*:*:*:*:*:*",
                "cpe:2.3:a:libpam-runtime:libpam_runtime:1.5.2-6\\+deb12u1:*:*:*:*:*:*:*",
                "cpe:2.3:a:libpam_runtime:libpam-runtime:1.5.2-6\\+deb12u1:*:*:*:*:*:*:*",
                "cpe:2.3:a:libpam_runtime:libpam_runtime:1.5.2-6\\+deb12u1:*:*:*:*:*:*:*",
                "cpe:2.3:a:libpam:libpam-runtime:1.5.2-6\\+deb12u1:*:*:*:*:*:*:*",
                "cpe:2.3:a:libpam:libpam_runtime:1.5.2-6\\+deb12u1:*:*:*:*:*:*:*",
            ]
        );
        assert_eq!(super::sub_selections("a--b_c"), ["a", "a-b", "a-b_c"]);
        assert_eq!(
            super::candidates("apache2-bin", "2.4.62-1"),
            [
                "cpe:2.3:a:apache2-bin:apache2-bin:2.4.62-1:*:*:*:*:*:*:*",
                "cpe:2.3:a:apache2-bin:apache2_bin:2.4.62-1:*:*:*:*:*:*:*",
                "cpe:2.3:a:apache2_bin:apache2-bin:2.4.62-1:*:*:*:*:*:*:*",
                "cpe:2.3:a:apache2_bin:apache2_bin:2.4.62-1:*:*:*:*:*:*:*",
                "cpe:2.3:a:apache2:apache2-bin:2.4.62-1:*:*:*:*:*:*:*",
                "cpe:2.3:a:apache2:apache2_bin:2.4.62-1:*:*:*:*:*:*:*",
            ]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            super::format("libc6", "libc6", "1:2.36-9+deb12u4"),
            "cpe:2.3:a:libc6:libc6:1\\:2.36-9\\+deb12u4:*:*:*:*:*:*:*"
        );
    }
}
