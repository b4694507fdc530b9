//! CPE 2.3 formatted strings (NISTIR 7695 §6.2) for packages.
//!
//! Debian packages, Go modules, Rust crates, Python packages, gems and npm packages get
//! syft's CPEs ([`for_package`], [`python`], [`gem`], [`npm`]): the NVD dictionary's entries for the package when
//! syft's index has it (cpegenerate/generate.go `FromDictionaryFind`), else syft's generated
//! candidates (name variants as vendor and product, vendors from authors and home pages,
//! syft's additions and removals), most specific first, so a CPE-matching tool finds what
//! it finds with syft's SBOM. Other ecosystems still get one CPE, vendor and product taken
//! from the package (the namespace, when there is one, as vendor); not ported yet: Java (java.go: vendors and products from group ids and
//! manifest names), composer, .NET, apk and rpm.

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
    match p.kind {
        PackageType::Deb => candidates(p.kind, &p.name, &p.version),
        PackageType::Python => python(&p.name, &p.version, None, None),
        PackageType::Gem => gem(&p.name, &p.version, &[], None),
        PackageType::Npm => npm(&p.name, &p.version, None, None),
        PackageType::GoModule | PackageType::RustCrate => {
            from_dictionary(p.kind, &p.name, &p.version)
                .unwrap_or_else(|| candidates(p.kind, &p.name, &p.version))
        }
        _ => one(p, namespace).into_iter().collect(),
    }
}

/// A vendor or product candidate with syft's two flags (cpegenerate/field_candidate.go):
/// (value, no sub-selections, no delimiter variations). Like syft's map the same value may
/// sit in the set twice with different flags.
type Field = (String, bool, bool);

fn plain(v: impl Into<String>) -> Field {
    (v.into(), false, false)
}

/// syft's generated candidates (cpegenerate/generate.go `FromPackageAttributes`) for the
/// package types whose inputs are the name alone:
/// - Debian: no case for DpkgDBEntry in `candidateVendorsByType`; products are the name
///   and its `-`/`_` variations, vendors those plus every prefix ending before a `-`/`_`
///   (`addAllSubSelections`); the one Debian addition (candidate_by_package_type.go:
///   dnsmasq's vendor `thekelleys`).
/// - Go modules: product and vendor from the module path only (cpegenerate/go.go).
/// - Rust crates: vendors also `NAME_project`, target software `rust`, and the removals of
///   candidate_by_package_type.go.
///
/// An `apache` vendor stands alone (`knownVendors`). Every product is paired with every
/// vendor and sorted as syft's `BySourceThenSpecificity` (cpe/by_specificity.go).
pub fn candidates(kind: PackageType, name: &str, version: &str) -> Vec<String> {
    generate(kind, name, version, BTreeSet::new())
}

/// A Python package's CPEs (syft: the dictionary's pypi entries, else generated with
/// cpegenerate/python.go's vendors from the METADATA `Author` and `Author-email`).
pub fn python(
    name: &str,
    version: &str,
    author: Option<&str>,
    author_email: Option<&str>,
) -> Vec<String> {
    if let Some(c) = from_dictionary(PackageType::Python, name, version) {
        return c;
    }
    // candidateVendorsForPython: the normalised author (no variations at all) and its
    // `project`/`_project` forms; the e-mail's local part (delimiter variations allowed).
    let project = |v: &str| -> Vec<Field> {
        if v.ends_with("project") {
            Vec::new()
        } else {
            vec![
                (format!("{v}project"), true, true),
                (format!("{v}_project"), true, true),
            ]
        }
    };
    let mut vendors = BTreeSet::new();
    if let Some(a) = author {
        let n = person_name(a);
        vendors.extend(project(&n));
        vendors.insert((n, true, true));
    }
    if let Some(e) = author_email {
        let n = person_name(e.split('@').next().unwrap_or(e));
        vendors.extend(project(&n));
        vendors.insert((n, true, false));
    }
    generate(PackageType::Python, name, version, vendors)
}

/// A gem's CPEs (syft: the dictionary's rubygems entries, else generated with
/// cpegenerate/ruby.go's vendors: each author's normalised name or e-mail local part, and
/// the homepage's vendor).
pub fn gem(name: &str, version: &str, authors: &[String], homepage: Option<&str>) -> Vec<String> {
    if let Some(c) = from_dictionary(PackageType::Gem, name, version) {
        return c;
    }
    let mut vendors: BTreeSet<Field> = authors
        .iter()
        .map(|a| (person_name(a.split('@').next().unwrap_or(a)), true, false))
        .collect();
    vendors.extend(homepage.and_then(vendor_from_url));
    generate(PackageType::Gem, name, version, vendors)
}

/// An npm package's CPEs (syft: the dictionary's npm entries, else generated with
/// cpegenerate/javascript.go's vendors from package.json's `repository` URL and
/// `homepage`). Packages from lock files have neither.
pub fn npm(
    name: &str,
    version: &str,
    repository: Option<&str>,
    homepage: Option<&str>,
) -> Vec<String> {
    if let Some(c) = from_dictionary(PackageType::Npm, name, version) {
        return c;
    }
    let vendors = [repository, homepage]
        .into_iter()
        .flatten()
        .filter(|u| !u.is_empty())
        .filter_map(vendor_from_url)
        .collect();
    generate(PackageType::Npm, name, version, vendors)
}

/// syft's `candidateVendorsFromURL` (cpegenerate/vendors_from_url.go): a vendor for a few
/// project sites, else the GitHub or GitLab owner.
fn vendor_from_url(url: &str) -> Option<Field> {
    const PREFIXES: &[(&str, &str)] = &[
        ("https://www.gnu.org/", "gnu"),
        ("https://developer.gnome.org/", "gnome"),
        ("https://www.ruby-lang.org/", "ruby-lang"),
        ("https://llvm.org/", "llvm"),
        ("https://www.isc.org/", "isc"),
        ("https://musl.libc.org/", "musl-libc"),
        ("https://www.mozilla.org/", "mozilla"),
        ("https://www.x.org/", "x.org"),
        ("https://w1.fi/", "w1.fi"),
    ];
    static OWNER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(?:https|http|git)://(?:github|gitlab)\.com/(?P<vendor>[\w\-]*?)/.*$")
            .expect("valid regex")
    });
    if let Some((_, v)) = PREFIXES.iter().find(|(p, _)| url.starts_with(p)) {
        return Some(((*v).to_owned(), true, true));
    }
    OWNER
        .captures(url)
        .map(|c| (c["vendor"].to_owned(), true, true))
}

/// syft's `normalizePersonName` (cpegenerate/utils.go): lower case, `-`, ` ` and `.` as
/// `_`, a leading `the_` dropped.
fn person_name(n: &str) -> String {
    let n = n.trim().to_lowercase().replace(['-', ' ', '.'], "_");
    n.strip_prefix("the_").map(str::to_owned).unwrap_or(n)
}

/// syft's `FromPackageAttributes` with `by_type` the vendors `candidateVendorsByType`
/// adds.
fn generate(kind: PackageType, name: &str, version: &str, by_type: BTreeSet<Field>) -> Vec<String> {
    let mut products: BTreeSet<Field> = BTreeSet::new();
    let mut vendors: BTreeSet<Field> = BTreeSet::new();
    match kind {
        PackageType::GoModule => {
            products.extend(go_product(name).map(plain));
            vendors.extend(go_vendor(name).map(plain));
        }
        PackageType::Python => {
            products.insert(plain(name));
            if !name.starts_with("python") {
                products.insert(plain(format!("python-{name}")));
            }
        }
        _ => {
            products.insert(plain(name));
        }
    }
    products.retain(|f| !f.0.is_empty() && f.0 != "*");
    delimiter_variations(&mut products);
    // defaultCandidateAdditions / defaultCandidateRemovals (candidate_by_package_type.go).
    let (more_products, more_vendors): (&[&str], &[&str]) = match (kind, name) {
        (PackageType::Python, "python-rrdtool") => (&["rrdtool"], &[]),
        (PackageType::Python, "cryptography") => {
            (&["python-cryptography"], &["python-cryptography_project"])
        }
        (PackageType::Python, "pip") => (&[], &["pypa"]),
        (PackageType::Npm, "next") => (&["next.js"], &["vercel"]),
        (PackageType::Npm, "hapi") => (&["hapi_server_framework"], &[]),
        (PackageType::Npm, "handlebars.js") => (&["handlebars"], &[]),
        (PackageType::Npm, "is-my-json-valid") => (&["is_my_json_valid"], &[]),
        (PackageType::Npm, "mustache") => (&["mustache.js"], &[]),
        (PackageType::Npm, "redis") => (&[], &["redis.js"]),
        (PackageType::Gem, "Arabic-Prawn") => (&["arabic_prawn"], &[]),
        (PackageType::Gem, "bio-basespace-sdk") => (&["basespace_ruby_sdk"], &[]),
        (PackageType::Gem, "cremefraiche") => (&["creme_fraiche"], &[]),
        (PackageType::Gem, "html-sanitizer") => (&["html_sanitizer"], &[]),
        (PackageType::Gem, "sentry-raven") => (&["raven-ruby"], &[]),
        (PackageType::Gem, "RedCloth") => (&["redcloth_library"], &[]),
        (PackageType::Gem, "VladTheEnterprising") => (&["vladtheenterprising"], &[]),
        (PackageType::Gem, "yajl-ruby") => (&["yajl-ruby_gem"], &[]),
        (
            PackageType::Gem,
            "cgi" | "date" | "openssl" | "rake" | "rdoc" | "rexml" | "trunk" | "webrick",
        ) => (&[], &["ruby-lang"]),
        _ => (&[], &[]),
    };
    products.extend(more_products.iter().map(|p| plain(*p)));
    if matches!(
        (kind, name),
        (PackageType::RustCrate, "opentelemetry") | (PackageType::Python, "kubernetes")
    ) {
        products.retain(|f| f.0 != name);
    }
    // candidateVendors starts from the product set, except for Go (cleared).
    if kind != PackageType::GoModule {
        vendors.extend(products.iter().cloned());
    }
    // candidateVendors' language case: every Ruby package may be the language's own.
    if kind == PackageType::Gem {
        vendors.insert(plain("ruby-lang"));
    }
    if kind == PackageType::Npm && name == "node.js" {
        vendors.insert(plain("nodejs"));
    }
    vendors.extend(by_type);
    vendors.retain(|f| !f.0.is_empty() && f.0 != "*");
    delimiter_variations(&mut vendors);
    if kind == PackageType::RustCrate {
        vendors.insert(plain(format!("{name}_project")));
    }
    let subs: Vec<String> = vendors
        .iter()
        .filter(|f| !f.1)
        .flat_map(|f| sub_selections(&f.0))
        .collect();
    vendors.extend(subs.into_iter().map(plain));
    if kind == PackageType::Deb && name == "dnsmasq" && vendors.iter().any(|f| f.0 == "dnsmasq") {
        vendors.insert(plain("thekelleys"));
    }
    if !more_vendors.is_empty() {
        vendors.extend(more_vendors.iter().map(|v| plain(*v)));
    }
    {
        let removed = match (kind, name) {
            (PackageType::RustCrate, "hyper") => Some("vercel"),
            (PackageType::RustCrate, "prometheus" | "phf" | "redis") => Some(name),
            (PackageType::Python, "redis") => Some(name),
            (PackageType::Npm, "redis" | "php" | "delegate" | "docker") => Some(name),
            _ => None,
        };
        vendors.retain(|f| Some(f.0.as_str()) != removed);
    }
    let mut vendors: BTreeSet<&str> = vendors.iter().map(|f| f.0.as_str()).collect();
    let products: BTreeSet<&str> = products.iter().map(|f| f.0.as_str()).collect();
    if vendors.contains("apache") {
        vendors = BTreeSet::from(["apache"]);
    }
    let target = if kind == PackageType::RustCrate {
        "rust"
    } else {
        ""
    };
    let mut out: Vec<Cpe> = Vec::new();
    for product in &products {
        for vendor in &vendors {
            let c = Cpe {
                vendor: (*vendor).to_owned(),
                product: (*product).to_owned(),
                version: version.to_owned(),
                target_sw: target.to_owned(),
            };
            if !c.filtered(name) && valid(&c.bind()) {
                out.push(c);
            }
        }
    }
    sorted(out)
}

/// One CPE's attributes as syft's `cpe.Attributes`, unescaped; `""` is ANY.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cpe {
    vendor: String,
    product: String,
    version: String,
    target_sw: String,
}

impl Cpe {
    /// `cpe:2.3:a:VENDOR:PRODUCT:VERSION:*:*:*:*:TARGET_SW:*:*`, escaped as syft's
    /// `Attributes.String` (cpe/cpe.go `sanitize`, then the formatted-string binding).
    fn bind(&self) -> String {
        let f = |v: &str| {
            if v.is_empty() {
                return "*".to_owned();
            }
            let mut out = String::with_capacity(v.len());
            for c in v.chars() {
                match c {
                    ' ' => out.push('_'),
                    // allowedCPEPunctuation, less `-` and `.` which the binding unquotes.
                    '!' | '"' | '#' | '$' | '%' | '&' | '\'' | '(' | ')' | '+' | ',' | '/'
                    | ':' | ';' | '<' | '=' | '>' | '@' | '[' | ']' | '^' | '`' | '{' | '|'
                    | '}' | '~' => {
                        out.push('\\');
                        out.push(c);
                    }
                    _ => out.push(c),
                }
            }
            out
        };
        format!(
            "cpe:2.3:a:{}:{}:{}:*:*:*:*:{}:*:*",
            f(&self.vendor),
            f(&self.product),
            f(&self.version),
            f(&self.target_sw)
        )
    }

    /// syft's `cpeFilters` (cpegenerate/filter.go): Jira server CPEs for client packages,
    /// Jenkins CPEs for packages that are not Jenkins.
    fn filtered(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        (self.product == "jira"
            && lower.contains("client")
            && ["", "jira", "atlassian"].contains(&self.vendor.as_str()))
            || (self.product == "jenkins"
                && !lower.contains("jenkins")
                && ["", "jenkins", "cloudbees"].contains(&self.vendor.as_str()))
    }

    /// syft's `weightedCountForSpecifiedFields` (part is always set).
    fn weight(&self) -> usize {
        2 + 3 * usize::from(!self.vendor.is_empty())
            + 4 * usize::from(!self.product.is_empty())
            + usize::from(!self.version.is_empty())
            + usize::from(!self.target_sw.is_empty())
    }

    fn field_length(&self) -> usize {
        1 + self.vendor.len() + self.product.len() + self.version.len() + self.target_sw.len()
    }
}

/// Whether a bound CPE passes syft's `cpe.ValidateString` (newCPE drops the rest): every
/// attribute is `*`, `-`, or ASCII letters, digits, `-`, `.`, `_` and backslash-quoted
/// punctuation (the CPE 2.3 formatted-string grammar, NISTIR 7695 §6.2.5); so a vendor from
/// an author named with letters outside ASCII gives no CPE.
fn valid(bound: &str) -> bool {
    const QUOTABLE: &str = "\\*?!\"#$%&'()+,/:;<=>@[]^`{|}~";
    let Some(rest) = bound.strip_prefix("cpe:2.3:") else {
        return false;
    };
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(q) if QUOTABLE.contains(q) => {}
                _ => return false,
            },
            ':' | '*' | '-' | '.' | '_' => {}
            c if c.is_ascii_alphanumeric() => {}
            _ => return false,
        }
    }
    true
}

/// Most specific first, then longest, then by the formatted string (cpe/by_specificity.go
/// `isMoreSpecific`), duplicates dropped.
fn sorted(cpes: Vec<Cpe>) -> Vec<String> {
    let mut keyed: Vec<(usize, usize, String)> = cpes
        .iter()
        .map(|c| (c.weight(), c.field_length(), c.bind()))
        .collect();
    keyed.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    keyed.dedup_by(|a, b| a.2 == b.2);
    keyed.into_iter().map(|k| k.2).collect()
}

/// syft's `candidateProductForGo` (cpegenerate/go.go): the path after the host, the whole
/// path on golang.org and gopkg.in, its first element on google.golang.org.
fn go_product(name: &str) -> Option<String> {
    let (host, path) = name.split_once('/').unwrap_or((name, ""));
    let path = path.trim_matches('/');
    let elements: Vec<&str> = path.split('/').collect();
    match host {
        "golang.org" | "gopkg.in" => Some(path.to_owned()),
        "google.golang.org" => Some(elements[0].to_owned()),
        _ if elements.len() < 2 => None,
        _ => Some(elements[1..].join("/")),
    }
}

/// syft's `candidateVendorForGo`: the first path element, `google`/`golang` for Google's
/// hosts, none for gopkg.in.
fn go_vendor(name: &str) -> Option<String> {
    let (host, path) = name.split_once('/').unwrap_or((name, ""));
    match host {
        "google.golang.org" => return Some("google".into()),
        "golang.org" => return Some("golang".into()),
        "gopkg.in" => return None,
        _ => {}
    }
    let elements: Vec<&str> = path.trim_matches('/').split('/').collect();
    (elements.len() >= 2).then(|| elements[0].to_owned())
}

/// The CPEs syft's NVD-derived dictionary lists for a Go module or crate, with the
/// package's version (cpegenerate/generate.go `FromDictionaryFind`; data copied to
/// `src/data/cpe-dictionary.json`, see the README there). syft uses them instead
/// of generating any.
fn from_dictionary(kind: PackageType, name: &str, version: &str) -> Option<Vec<String>> {
    static DICT: std::sync::LazyLock<
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<String>>>,
    > = std::sync::LazyLock::new(|| {
        serde_json::from_str(include_str!("data/cpe-dictionary.json"))
            .expect("the bundled dictionary is valid JSON")
    });
    let eco = match kind {
        PackageType::Python => "pypi",
        PackageType::Gem => "rubygems",
        PackageType::Npm => "npm",
        PackageType::GoModule => "go_modules",
        PackageType::RustCrate => "rust_crates",
        _ => return None,
    };
    let entries = DICT.get(eco)?.get(name)?;
    let cpes: Vec<Cpe> = entries
        .iter()
        .filter_map(|e| {
            let f = split_bound(e)?;
            Some(Cpe {
                vendor: f[3].clone(),
                product: f[4].clone(),
                version: version.to_owned(),
                target_sw: f[10].clone(),
            })
        })
        .collect();
    (!cpes.is_empty()).then(|| sorted(cpes))
}

/// A formatted-string CPE's 13 fields, unquoted, `*` as empty (ANY).
fn split_bound(s: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next()?),
            ':' => fields.push(String::new()),
            _ => fields.last_mut()?.push(c),
        }
    }
    if fields.len() != 13 {
        return None;
    }
    for f in &mut fields {
        if f == "*" {
            f.clear();
        }
    }
    Some(fields)
}

/// `a-b` adds `a_b` and `a_b` adds `a-b` (generate.go `addDelimiterVariations`), keeping
/// the candidate's flags; candidates that disallow it are skipped.
fn delimiter_variations(set: &mut BTreeSet<Field>) {
    for (v, no_sub, no_delim) in set.clone() {
        if no_delim {
            continue;
        }
        if v.contains('-') {
            set.insert((v.replace('-', "_"), no_sub, no_delim));
        }
        if v.contains('_') {
            set.insert((v.replace('_', "-"), no_sub, no_delim));
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

/// The Go standard library's CPE as syft writes it (golang/stdlib_package.go
/// `generateStdlibCpe`): `go1.22.5` -> `golang:go:1.22.5:-` (update `-`: none), `go1.21rc2`
/// -> `golang:go:1.21:rc2`; build metadata after `+` dropped.
pub fn go_stdlib(go_version: &str) -> Option<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?P<version>\d+(\.\d+)?(\.\d+)?)(?P<candidate>\w*)")
            .expect("valid regex")
    });
    let v = go_version.strip_prefix("go").unwrap_or(go_version);
    let v = v.split('+').next().unwrap_or(v);
    let c = RE.captures(v)?;
    let update = match c.name("candidate").map(|m| m.as_str()) {
        Some(u) if !u.is_empty() => u,
        _ => "-",
    };
    Some(format!(
        "cpe:2.3:a:golang:go:{}:{update}:*:*:*:*:*:*",
        &c["version"]
    ))
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
    use crate::model::PackageType::{Deb, GoModule, RustCrate};

    #[test]
    fn invalid_cpes_are_dropped_as_syft() {
        assert!(super::valid(
            "cpe:2.3:a:raphael_barrois\\+semver:x:1.0:*:*:*:*:*:*:*"
        ));
        assert!(!super::valid("cpe:2.3:a:víctor_muñoz:x:1.0:*:*:*:*:*:*:*"));
        assert!(!super::valid("cpe:2.3:a:a\\é:x:1.0:*:*:*:*:*:*:*"));
        let c = super::python(
            "isoduration",
            "20.11.0",
            Some("Víctor Muñoz"),
            Some("victorm@x"),
        );
        assert!(c.iter().all(|c| c.is_ascii()), "{c:?}");
        assert!(c.contains(&"cpe:2.3:a:victorm:isoduration:20.11.0:*:*:*:*:*:*:*".to_owned()));
    }

    #[test]
    fn go_and_rust_as_syft() {
        assert_eq!(
            super::go_stdlib("go1.22.5").as_deref(),
            Some("cpe:2.3:a:golang:go:1.22.5:-:*:*:*:*:*:*")
        );
        assert_eq!(
            super::go_stdlib("go1.21rc2").as_deref(),
            Some("cpe:2.3:a:golang:go:1.21:rc2:*:*:*:*:*:*")
        );
        // syft's go_test.go cases.
        assert_eq!(
            super::go_product("github.com/someone/something").as_deref(),
            Some("something")
        );
        assert_eq!(
            super::go_vendor("github.com/someone/something").as_deref(),
            Some("someone")
        );
        assert_eq!(
            super::go_product("golang.org/x/net").as_deref(),
            Some("x/net")
        );
        assert_eq!(
            super::go_vendor("golang.org/x/net").as_deref(),
            Some("golang")
        );
        assert_eq!(
            super::go_product("google.golang.org/grpc").as_deref(),
            Some("grpc")
        );
        assert_eq!(super::go_vendor("gopkg.in/yaml.v3"), None);
        assert_eq!(super::go_product("github.com/someone"), None);
        assert_eq!(
            super::candidates(GoModule, "golang.org/x/net", "v0.1.0"),
            ["cpe:2.3:a:golang:x\\/net:v0.1.0:*:*:*:*:*:*:*"]
        );
        assert!(super::candidates(GoModule, "gopkg.in/yaml.v3", "v3.0.1").is_empty());
        // A dictionary entry replaces generation.
        assert_eq!(
            super::from_dictionary(GoModule, "github.com/Azure/go-ntlmssp", "v0.0.1"),
            Some(vec![
                "cpe:2.3:a:microsoft:go-ntlmssp:v0.0.1:*:*:*:*:go:*:*".to_owned()
            ])
        );
        let serde = super::candidates(RustCrate, "serde_json", "1.0.1");
        assert_eq!(
            serde[0],
            "cpe:2.3:a:serde_json_project:serde-json:1.0.1:*:*:*:*:rust:*:*"
        );
        assert!(serde.contains(&"cpe:2.3:a:serde:serde-json:1.0.1:*:*:*:*:rust:*:*".to_owned()));
        assert!(
            !super::candidates(RustCrate, "redis", "0.1.0")
                .iter()
                .any(|c| c.starts_with("cpe:2.3:a:redis:"))
        );
    }

    #[test]
    fn debian_candidates_as_syft() {
        // syft latest's cpes for Debian 12's libpam-runtime, in its order.
        assert_eq!(
            super::candidates(Deb, "libpam-runtime", "1.5.2-6+deb12u1"),
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
            super::candidates(Deb, "apache2-bin", "2.4.62-1"),
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
