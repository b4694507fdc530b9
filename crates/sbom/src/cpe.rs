//! CPE 2.3 formatted strings (NISTIR 7695 §6.2) for packages.
//!
//! Every ecosystem syft generates CPEs for gets syft's (v1.57, the release the tests
//! compare with): Debian, Alpine and RPM packages, Go modules, crates, Python packages,
//! gems, npm and composer packages, Java archives and .NET packages ([`for_package`] and
//! the per-ecosystem entry points the catalogers call with their metadata: [`python`],
//! [`gem`], [`npm`], [`java`], [`apk`], [`rpm`], [`dotnet`]). That is the NVD dictionary's
//! entries for the package when syft's index has it (cpegenerate/generate.go
//! `FromDictionaryFind`), else syft's generated candidates (name variants as vendor and
//! product, vendors from authors, home pages, group ids and vendor fields, syft's additions
//! and removals), most specific first, so a CPE-matching tool finds what it finds with
//! syft's SBOM. Packages of other origins (a foreign SBOM's `unknown` type) get one CPE,
//! vendor and product taken from the package.

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
        PackageType::GoModule | PackageType::RustCrate | PackageType::PhpComposer => {
            from_dictionary(p.kind, &p.name, &p.version)
                .unwrap_or_else(|| candidates(p.kind, &p.name, &p.version))
        }
        // The catalogers pass these their metadata; without it, what syft generates from
        // the name alone.
        PackageType::JavaArchive => java(&p.name, &p.version, &JavaEvidence::default()),
        PackageType::Apk => apk(&p.name, &p.version, p.homepage.as_deref()),
        PackageType::Rpm => rpm(&p.name, &p.version, None),
        PackageType::Dotnet => dotnet(&p.name, &p.version, &[&p.name], &[&p.name]),
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

/// What a package type feeds syft's `FromPackageAttributes` besides its name.
#[derive(Debug, Default)]
struct Inputs {
    /// Replaces the name as the product candidates (.NET: `candidateProductsForDotnet`).
    products: Option<BTreeSet<Field>>,
    /// Products added to the name (Java: `candidateProductsForJava`; apk:
    /// `candidateProductsForAPK`).
    more_products: BTreeSet<Field>,
    /// The vendors `candidateVendorsByType` adds.
    vendors: BTreeSet<Field>,
    /// .NET: `candidateVendorsByType` clears the candidates before adding its own.
    replace_vendors: bool,
}

/// syft 1.57's bounds (generate.go `maxCandidateFieldLength`, `maxCandidates`,
/// `maxSubSelections`): a hostile name cannot make the cross-product explode.
const MAX_FIELD: usize = 512;
const MAX_CANDIDATES: usize = 64;
const MAX_SUB_SELECTIONS: usize = 10;

/// syft's `boundCandidates`: candidates longer than [`MAX_FIELD`] dropped, and beyond
/// [`MAX_CANDIDATES`] the shortest (then lexically first) kept.
fn bound(set: BTreeSet<&str>) -> BTreeSet<&str> {
    let mut v: Vec<&str> = set.into_iter().filter(|c| c.len() <= MAX_FIELD).collect();
    if v.len() > MAX_CANDIDATES {
        v.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        v.truncate(MAX_CANDIDATES);
    }
    v.into_iter().collect()
}

/// syft's `defaultCandidateAdditions` (candidate_by_package_type.go) keyed by package
/// name alone: (products, vendors) to add.
fn additions(kind: PackageType, name: &str) -> (&'static [&'static str], &'static [&'static str]) {
    use PackageType::{Apk, Gem, JavaArchive, Npm, Python};
    match (kind, name) {
        (Python, "python-rrdtool") => (&["rrdtool"], &[]),
        (Python, "cryptography") => (&["python-cryptography"], &["python-cryptography_project"]),
        (Python, "pip") => (&[], &["pypa"]),
        (Npm, "next") => (&["next.js"], &["vercel"]),
        (Npm, "hapi") => (&["hapi_server_framework"], &[]),
        (Npm, "handlebars.js") => (&["handlebars"], &[]),
        (Npm, "is-my-json-valid") => (&["is_my_json_valid"], &[]),
        (Npm, "mustache") => (&["mustache.js"], &[]),
        (Npm, "redis") => (&[], &["redis.js"]),
        (Gem, "Arabic-Prawn") => (&["arabic_prawn"], &[]),
        (Gem, "bio-basespace-sdk") => (&["basespace_ruby_sdk"], &[]),
        (Gem, "cremefraiche") => (&["creme_fraiche"], &[]),
        (Gem, "html-sanitizer") => (&["html_sanitizer"], &[]),
        (Gem, "sentry-raven") => (&["raven-ruby"], &[]),
        (Gem, "RedCloth") => (&["redcloth_library"], &[]),
        (Gem, "VladTheEnterprising") => (&["vladtheenterprising"], &[]),
        (Gem, "yajl-ruby") => (&["yajl-ruby_gem"], &[]),
        (Gem, "cgi" | "date" | "openssl" | "rake" | "rdoc" | "rexml" | "trunk" | "webrick") => {
            (&[], &["ruby-lang"])
        }
        (JavaArchive, "springframework" | "spring-core") => (
            &["spring_framework", "springsource_spring_framework"],
            &["pivotal_software", "springsource", "vmware"],
        ),
        (JavaArchive, "spring-security-core") => (&["spring_security"], &["vmware"]),
        (JavaArchive, "elasticsearch") => (&[], &["elastic"]),
        (JavaArchive, "log4j") => (&[], &["apache"]),
        (JavaArchive, "apache-cassandra") => (&["cassandra"], &[]),
        (JavaArchive, "handlebars") => (&[], &["handlebarsjs"]),
        (Apk, "curl") => (&[], &["haxx"]),
        (Apk, "python3") => (&["python"], &["python", "python_software_foundation"]),
        (Apk, "python") => (&[], &["python_software_foundation"]),
        (Apk, "nodejs" | "nodejs-current") => (&["node.js"], &[]),
        (Apk, "go") => (&[], &["golang"]),
        (Apk, "ruby") => (&[], &["ruby-lang"]),
        (Apk, "bazel") => (&[], &["google"]),
        (Apk, "chromium") => (&["chrome"], &["google"]),
        (Apk, "clang") => (&[], &["llvm"]),
        (Apk, "openjdk") => (&[], &["oracle"]),
        (Apk, "glibc" | "bash" | "make") => (&[], &["gnu"]),
        (Apk, "glib") => (&[], &["gnome"]),
        (Apk, "alsa-lib" | "alsa") => (&[], &["alsa-project"]),
        (Apk, "git") => (&[], &["git-scm"]),
        (Apk, "libavif") => (&[], &["aomedia"]),
        (Apk, "bind") => (&[], &["isc"]),
        (Apk, "libxpm") => (&[], &["libxpm_project"]),
        (Apk, "musl") => (&[], &["musl-libc"]),
        (Apk, "firefox" | "firefox-esr" | "thunderbird") => (&[], &["mozilla"]),
        (Apk, "apache") => (&["http_server"], &[]),
        (Apk, "tiff") => (&["libtiff"], &[]),
        (Apk, "ghostscript") => (&[], &["artifex"]),
        (Apk, "openjpeg") => (&[], &["uclouvain"]),
        (Apk, "xorg-server") => (&["x_server"], &["x.org"]),
        (Apk, "podofo") => (&[], &["podofo_project"]),
        (Apk, "wpa_supplicant") => (&[], &["w1.fi"]),
        _ => (&[], &[]),
    }
}

/// The vendor additions keyed by name and vendor together (only dnsmasq's `thekelleys`, for
/// Debian and Alpine), when `vendor` is a candidate.
fn keyed_vendor_addition(kind: PackageType, name: &str, vendor: &str) -> Option<&'static str> {
    (matches!(kind, PackageType::Deb | PackageType::Apk)
        && name == "dnsmasq"
        && vendor == "dnsmasq")
        .then_some("thekelleys")
}

/// syft's `defaultCandidateRemovals`: (products, vendors) to remove.
fn removals(kind: PackageType, name: &str) -> (&'static [&'static str], &'static [&'static str]) {
    use PackageType::{Gem, JavaArchive, Npm, Python, RustCrate};
    match (kind, name) {
        (Python, "redis") => (&[], &["redis"]),
        (Python, "kubernetes") => (&["kubernetes"], &[]),
        (Npm, "redis") => (&[], &["redis"]),
        (Npm, "php") => (&[], &["php"]),
        (Npm, "delegate") => (&[], &["delegate"]),
        (Npm, "docker") => (&[], &["docker"]),
        (
            JavaArchive,
            "maven-builder-support"
            | "maven-model"
            | "maven-repository-metadata"
            | "maven-settings"
            | "maven-settings-builder"
            | "maven-resolver-api"
            | "maven-resolver-connector-basic"
            | "maven-resolver-impl"
            | "maven-resolver-named-locks"
            | "maven-resolver-spi"
            | "maven-resolver-transport-file"
            | "maven-resolver-transport-http"
            | "maven-resolver-transport-wagon"
            | "maven-resolver-util"
            | "maven-shared-utils",
        ) => (&["maven"], &[]),
        (JavaArchive, "gradle-enterprise") => (&["gradle-enterprise"], &["gradle"]),
        (Gem, "redis") => (&["redis"], &[]),
        (Gem, "grpc") => (&["grpc"], &[]),
        (RustCrate, "hyper") => (&[], &["vercel"]),
        (RustCrate, "opentelemetry") => (&["opentelemetry"], &[]),
        (RustCrate, "prometheus") => (&[], &["prometheus"]),
        (RustCrate, "phf") => (&[], &["phf"]),
        (RustCrate, "redis") => (&[], &["redis"]),
        _ => (&[], &[]),
    }
}

/// syft's `FromPackageAttributes` with `by_type` the vendors `candidateVendorsByType`
/// adds.
fn generate(kind: PackageType, name: &str, version: &str, by_type: BTreeSet<Field>) -> Vec<String> {
    generate_from(
        kind,
        name,
        version,
        Inputs {
            vendors: by_type,
            ..Inputs::default()
        },
    )
}

/// syft's `FromPackageAttributes` (cpegenerate/generate.go): `candidateProductSet`, then
/// `candidateVendors` starting from those products, every product paired with every vendor.
fn generate_from(kind: PackageType, name: &str, version: &str, inputs: Inputs) -> Vec<String> {
    if name.len() > MAX_FIELD || version.len() > MAX_FIELD {
        return Vec::new();
    }
    let mut products: BTreeSet<Field> = BTreeSet::new();
    match (kind, inputs.products) {
        (_, Some(replaced)) => products = replaced,
        (PackageType::GoModule, None) => {
            products.extend(go_product(name).map(plain));
        }
        (PackageType::Python, None) => {
            products.insert(plain(name));
            if !name.starts_with("python") {
                products.insert(plain(format!("python-{name}")));
            }
        }
        _ => {
            products.insert(plain(name));
        }
    }
    products.extend(inputs.more_products);
    products.retain(|f| !f.0.is_empty() && f.0 != "*");
    delimiter_variations(&mut products);
    let (more_products, more_vendors) = additions(kind, name);
    let (fewer_products, fewer_vendors) = removals(kind, name);
    products.extend(more_products.iter().map(|p| plain(*p)));
    products.retain(|f| !fewer_products.contains(&f.0.as_str()));
    // candidateVendors starts from the product set, except for Go (cleared).
    let mut vendors: BTreeSet<Field> = BTreeSet::new();
    if kind == PackageType::GoModule {
        vendors.extend(go_vendor(name).map(plain));
    } else {
        vendors.extend(products.iter().cloned());
    }
    // candidateVendors' language case: every Ruby package may be the language's own.
    if kind == PackageType::Gem {
        vendors.insert(plain("ruby-lang"));
    }
    if kind == PackageType::Npm && name == "node.js" {
        vendors.insert(plain("nodejs"));
    }
    if inputs.replace_vendors {
        vendors.clear();
    }
    vendors.extend(inputs.vendors);
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
    let keyed: Vec<&str> = vendors
        .iter()
        .filter_map(|f| keyed_vendor_addition(kind, name, &f.0))
        .collect();
    if !vendors.is_empty() {
        vendors.extend(more_vendors.iter().map(|v| plain(*v)));
    }
    vendors.extend(keyed.into_iter().map(plain));
    vendors.retain(|f| !fewer_vendors.contains(&f.0.as_str()));
    let mut vendors: BTreeSet<&str> = vendors.iter().map(|f| f.0.as_str()).collect();
    let products: BTreeSet<&str> = products.iter().map(|f| f.0.as_str()).collect();
    if vendors.contains("apache") {
        vendors = BTreeSet::from(["apache"]);
    }
    let (vendors, products) = (bound(vendors), bound(products));
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

/// What a Java archive's metadata says for syft's CPE candidates (cpegenerate/java.go),
/// gathered by the Java cataloger from the package's manifest, pom.properties and pom.xml.
#[derive(Debug, Default, Clone)]
pub struct JavaEvidence {
    /// pom.properties' `artifactId` (`artifactIDFromJavaPackage`).
    pub artifact_id: Option<String>,
    /// `GroupIDsFromJavaMetadata`: pom.properties, pom.xml (and its parent), then the
    /// manifest's reverse-domain fields or syft's table of well-known artifact ids.
    pub group_ids: Vec<String>,
    /// `Specification-Vendor` and `Implementation-Vendor` values not shaped like a domain,
    /// in manifest order (`vendorsFromJavaManifestNames`).
    pub manifest_vendors: Vec<String>,
}

/// A Java archive's CPEs (syft: no dictionary for Maven; generated with cpegenerate/java.go's
/// products from the artifact id and group id fields, vendors from the group ids and the
/// manifest's vendor names, and the Java additions and removals).
pub fn java(name: &str, version: &str, e: &JavaEvidence) -> Vec<String> {
    const FORBIDDEN_PRODUCT: &[&str] = &["plugin", "plugins", "client"];
    const FORBIDDEN_VENDOR: &[&str] = &["plugin", "plugins"];
    // artifactIDFromJavaPackage: an artifact id that looks like a group id is not one.
    let artifact = e
        .artifact_id
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.contains('.'))
        .unwrap_or("");
    // productsFromArtifactAndGroupIDs
    let mut products: BTreeSet<Field> = BTreeSet::new();
    if !artifact.is_empty() {
        products.insert(plain(artifact));
    }
    for g in &e.group_ids {
        let is_plugin = artifact.contains("plugin") || g.contains("plugin");
        for (i, field) in g.split('.').enumerate() {
            let field = field.trim();
            if field.is_empty()
                || FORBIDDEN_PRODUCT.contains(&field.to_lowercase().as_str())
                || i <= 1
            {
                continue;
            }
            let project = artifact.starts_with(field) || artifact.ends_with(field);
            if artifact.is_empty() || (project && !is_plugin) {
                products.insert(plain(field));
            }
        }
    }
    // vendorsFromGroupIDs and vendorsFromJavaManifestNames
    let mut vendors: BTreeSet<Field> = BTreeSet::new();
    for g in &e.group_ids {
        vendors.insert((g.clone(), true, true));
        for (i, field) in g.split('.').enumerate() {
            let field = field.trim();
            if field.is_empty()
                || FORBIDDEN_VENDOR.contains(&field.to_lowercase().as_str())
                || i == 0
            {
                continue;
            }
            vendors.insert(plain(field));
        }
    }
    for v in &e.manifest_vendors {
        vendors.insert((person_name(v), true, false));
    }
    generate_from(
        PackageType::JavaArchive,
        name,
        version,
        Inputs {
            more_products: products,
            vendors,
            ..Inputs::default()
        },
    )
}

/// syft's `startsWithTopLevelDomain` (cpegenerate/java.go): a plain prefix test, so
/// `commons-io` counts as well as `com.example`.
pub fn starts_with_domain(v: &str) -> bool {
    ["com", "org", "net", "io", "be"]
        .iter()
        .any(|d| v.starts_with(d))
}

/// An apk package's CPEs (cpegenerate/apk.go): the upstream name (the package name without
/// its stream version, `py-`/`ruby-` prefixes stripped and that ecosystem's additions
/// applied) as product and vendor, and a vendor from the package URL.
pub fn apk(name: &str, version: &str, url: Option<&str>) -> Vec<String> {
    static STREAM: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // Go's `\w` is ASCII.
        regex::Regex::new(
            r"^(?P<stream>[a-zA-Z][0-9A-Za-z_-]*?)(?P<streamVersion>-?[0-9][0-9.]*?)($|-(?P<subPackage>[a-zA-Z][0-9A-Za-z_-]*?)?)$",
        )
        .expect("valid regex")
    });
    let mut upstream = name.to_owned();
    if let Some(c) = STREAM.captures(name)
        && let Some(stream) = c
            .name("stream")
            .map(|m| m.as_str())
            .filter(|s| !s.is_empty())
    {
        upstream = match c
            .name("subPackage")
            .map(|m| m.as_str())
            .filter(|s| !s.is_empty())
        {
            Some(sub) => format!("{stream}-{sub}"),
            None => stream.to_owned(),
        };
    }
    // upstreamCandidates: `py-` and `ruby-` name Python and Ruby packages.
    let (kind, upstream) = match (upstream.strip_prefix("py-"), upstream.strip_prefix("ruby-")) {
        (Some(t), _) if !t.is_empty() => (PackageType::Python, t.to_owned()),
        (_, Some(t)) if !t.is_empty() => (PackageType::Gem, t.to_owned()),
        _ => (PackageType::Apk, upstream),
    };
    let mut products: BTreeSet<Field> = BTreeSet::new();
    let mut vendors: BTreeSet<Field> = BTreeSet::new();
    if !upstream.is_empty() {
        // candidateProductsForAPK / candidateVendorsForAPK. Their closing loops that would
        // forbid variations change copies of the set's keys (Go map iteration), so the
        // candidates keep the default flags.
        let (more_p, _) = additions(kind, &upstream);
        let (less_p, _) = removals(kind, &upstream);
        products.insert(plain(upstream.as_str()));
        products.extend(more_p.iter().map(|p| plain(*p)));
        products.retain(|f| !less_p.contains(&f.0.as_str()));
        let add_vendor = |v: &str, vendors: &mut BTreeSet<Field>| {
            vendors.insert(plain(v));
            let (_, more_v) = additions(kind, v);
            vendors.extend(more_v.iter().map(|x| plain(*x)));
            vendors.extend(keyed_vendor_addition(kind, v, v).map(plain));
            let (_, less_v) = removals(kind, v);
            vendors.retain(|f| !less_v.contains(&f.0.as_str()));
        };
        add_vendor(&upstream, &mut vendors);
        if kind == PackageType::Python && !upstream.ends_with("project") {
            add_vendor(&format!("{upstream}project"), &mut vendors);
            add_vendor(&format!("{upstream}_project"), &mut vendors);
        }
    }
    vendors.extend(url.and_then(vendor_from_url));
    generate_from(
        PackageType::Apk,
        name,
        version,
        Inputs {
            more_products: products,
            vendors,
            ..Inputs::default()
        },
    )
}

/// An RPM's CPEs (cpegenerate/rpm.go): the name, and the header's `Vendor` (a trailing
/// `<https://…>` dropped, then syft's `normalizeName`: up to the first comma, lower case,
/// no spaces) as a vendor.
pub fn rpm(name: &str, version: &str, vendor: Option<&str>) -> Vec<String> {
    let mut vendors = BTreeSet::new();
    if let Some(v) = vendor {
        let v = strip_trailing_url(v);
        if !v.is_empty() {
            let n = v
                .split(',')
                .next()
                .unwrap_or(v)
                .trim()
                .to_lowercase()
                .replace(' ', "");
            vendors.insert((n, true, false));
        }
    }
    generate(PackageType::Rpm, name, version, vendors)
}

/// syft's `stripTrailingURL`: `Vendor Name <https://host/>` -> `Vendor Name`.
fn strip_trailing_url(value: &str) -> &str {
    let trimmed = value.trim();
    let Some(inner) = trimmed.strip_suffix('>') else {
        return value;
    };
    let Some(open) = inner.rfind('<') else {
        return value;
    };
    let url = &inner[open + 1..];
    let host_ok = ["http://", "https://"].iter().any(|s| {
        url.strip_prefix(s)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '?', '#']))
    });
    if !host_ok || url.contains(char::is_whitespace) {
        return value;
    }
    inner[..open].trim()
}

/// A .NET package's CPEs (cpegenerate/dotnet.go): products are the normalised names
/// (`candidateProductsForDotnet`: a deps.json entry's name, else a PE's `ProductName`, each
/// also with `_.net`), vendors only the normalised deps.json name or the PE's
/// `CompanyName`; no variations.
pub fn dotnet(
    name: &str,
    version: &str,
    product_names: &[&str],
    companies: &[&str],
) -> Vec<String> {
    let norm = |n: &str| {
        let n = n.trim().to_lowercase();
        let n = n.strip_suffix(".dll").unwrap_or(&n);
        n.replace(['-', ' ', '.'], "_")
    };
    let mut products = BTreeSet::new();
    for suffix in ["", "_.net"] {
        for n in product_names.iter().filter(|n| !n.is_empty()) {
            if !suffix.is_empty() && n.ends_with(suffix) {
                continue;
            }
            products.insert((format!("{}{suffix}", norm(n)), true, true));
        }
    }
    let vendors = companies
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| (norm(c), true, true))
        .collect();
    generate_from(
        PackageType::Dotnet,
        name,
        version,
        Inputs {
            products: Some(products),
            vendors,
            replace_vendors: true,
            ..Inputs::default()
        },
    )
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
        PackageType::PhpComposer => "php_composer",
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
    while !rest.is_empty() && out.len() < MAX_SUB_SELECTIONS {
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
