//! Java archives: JAR, WAR, EAR and their kin, nested archives included.
//!
//! Evidence, strongest first: `META-INF/maven/GROUP/ARTIFACT/pom.properties` (Maven's
//! coordinates), the archive's file name (`commons-io-2.11.0.jar`), and
//! `META-INF/MANIFEST.MF` (`Implementation-Title`/`-Version`, `Bundle-SymbolicName`…).
//! The archive's own package takes its name and version from the file name or manifest
//! and, when one `pom.properties` matches it (or there is only one), its coordinates;
//! other `pom.properties` are packages the archive contains (shaded dependencies), and so
//! are nested archives (`WEB-INF/lib/*.jar`), read from memory up to a depth of four.
//! purl: `pkg:maven/GROUP/ARTIFACT@VERSION`.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek};

use super::{Cataloger, Cx, Want, base};
use crate::model::{Location, Package, PackageType, Supplier};

/// The cataloger.
pub(crate) struct Archive;

const EXTENSIONS: &[&str] = &[
    ".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".kar", ".lpkg",
];
/// Largest manifest or pom.properties read.
const MAX_META: u64 = 1 << 20;
/// Largest nested archive read into memory.
const MAX_NESTED: u64 = 256 << 20;
const MAX_DEPTH: usize = 4;

impl Cataloger for Archive {
    fn name(&self) -> &'static str {
        "java-archive-cataloger"
    }

    fn wants(&self, path: &str) -> Want {
        let b = base(path);
        Want::catalog_if(
            EXTENSIONS
                .iter()
                .any(|e| b.len() > e.len() && super::ends_with_ci(b, e)),
        )
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(f) = cx.open(path) else { continue };
            let location = cx.location(path);
            archive(cx, &location, base(path), f, 0);
        }
    }
}

/// Catalogs one archive; returns the id of its own package, if it has one.
fn archive<R: Read + Seek>(
    cx: &mut Cx<'_>,
    location: &Location,
    file_name: &str,
    reader: R,
    depth: usize,
) -> Option<String> {
    let what = if depth == 0 {
        location.path.clone()
    } else {
        format!("{}:{file_name}", location.path)
    };
    let mut zip = match zip::ZipArchive::new(reader) {
        Ok(z) => z,
        Err(e) => {
            cx.warn(&what, format!("not a readable zip archive: {e}"));
            return None;
        }
    };
    let mut manifest = None;
    let mut poms: Vec<BTreeMap<String, String>> = Vec::new();
    // The directory of each pom.properties, parallel to `poms`.
    let mut pom_dirs: Vec<String> = Vec::new();
    // Embedded pom.xml files by (groupId, artifactId) from their path
    // (`META-INF/maven/GROUP/ARTIFACT/pom.xml`): only their licences are read.
    let mut pom_licences: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    // Embedded pom.xml coordinates by directory, for the CPEs.
    let mut pom_projects: BTreeMap<String, PomProject> = BTreeMap::new();
    let mut nested: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                cx.warn(&what, format!("entry {i}: {e}"));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let is_manifest = name.eq_ignore_ascii_case("META-INF/MANIFEST.MF");
        let is_pom = name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
        let pom_xml = name
            .strip_prefix("META-INF/maven/")
            .and_then(|r| r.strip_suffix("/pom.xml"))
            .and_then(|r| r.split_once('/'))
            .filter(|(_, a)| !a.contains('/'))
            .map(|(g, a)| (g.to_owned(), a.to_owned()));
        let is_nested = depth < MAX_DEPTH
            && EXTENSIONS
                .iter()
                .any(|e| name.to_ascii_lowercase().ends_with(e));
        if !(is_manifest || is_pom || is_nested || pom_xml.is_some()) {
            continue;
        }
        let limit = if is_nested { MAX_NESTED } else { MAX_META };
        let mut buf = Vec::new();
        if let Err(e) = (&mut entry).take(limit + 1).read_to_end(&mut buf) {
            cx.warn(&what, format!("{name}: {e}"));
            continue;
        }
        if buf.len() as u64 > limit {
            cx.warn(&what, format!("{name}: larger than {limit} bytes; skipped"));
            continue;
        }
        if is_manifest {
            manifest = Some(Manifest::parse(&super::text(&buf)));
        } else if is_pom {
            poms.push(parse_properties(&super::text(&buf)));
            pom_dirs.push(parent_dir(&name).to_owned());
        } else if let Some(key) = pom_xml {
            let text = super::text(&buf);
            pom_licences.insert(key, pom_licence_names(&text));
            pom_projects.insert(parent_dir(&name).to_owned(), PomProject::parse(&text));
        } else {
            nested.push((name, buf));
        }
    }
    let (fname, fversion) = split_file_name(file_name);
    // Only pom.properties naming both artifact and version count (as in syft).
    let keep: Vec<bool> = poms
        .iter()
        .map(|p| {
            p.get("artifactId").is_some_and(|a| !a.is_empty())
                && p.get("version").is_some_and(|v| !v.is_empty())
        })
        .collect();
    let mut k = keep.iter();
    poms.retain(|_| *k.next().unwrap_or(&false));
    let mut k = keep.iter();
    pom_dirs.retain(|_| *k.next().unwrap_or(&false));
    let mut own_id = None;
    let mut own_pom = None;
    // Without a manifest an archive has no package of its own, and its pom.properties are
    // not attributed to anything (syft's rule; nested archives are still read).
    if let Some(m) = manifest.as_ref() {
        let mget = |keys: &[&str]| keys.iter().find_map(|k| m.get(k));
        // Name and version: the single pom.properties whose artifactId extends the file
        // name, else the file name, else the manifest.
        let mut name = String::new();
        let mut version = String::new();
        if poms.len() == 1 && !fname.is_empty() && poms[0]["artifactId"].starts_with(&fname) {
            name = poms[0]["artifactId"].clone();
            version = poms[0]["version"].clone();
            own_pom = Some(0);
        }
        if name.is_empty() {
            // syft's selectName: the bundle plugin's symbolic name, the file name, then
            // the manifest's naming fields (java/parse_java_manifest.go).
            name = if let Some(n) = name_from_bundle_plugin(m) {
                n
            } else if !fname.is_empty() {
                name_from_file_name(&fname)
            } else {
                mget(&[
                    "Name",
                    "Bundle-Name",
                    "Short-Name",
                    "Extension-Name",
                    "Implementation-Title",
                ])
                .unwrap_or_default()
            };
        }
        if version.is_empty() {
            version = if fversion.is_empty() {
                mget(&[
                    "Implementation-Version",
                    "Specification-Version",
                    "Plugin-Version",
                    "Bundle-Version",
                ])
                .unwrap_or_default()
            } else {
                fversion
            };
        }
        // A pom.properties with the archive's own identity is more about the archive.
        if own_pom.is_none() {
            own_pom = poms.iter().position(|p| p["artifactId"] == name);
            if let Some(i) = own_pom {
                name = poms[i]["artifactId"].clone();
                version = poms[i]["version"].clone();
            }
        }
        // syft's groupIDFromJavaMetadata order: pom.properties, syft's table of well-known
        // artifact ids, the manifest (java/package_url.go).
        let main_project = main_pom_project(&fname, &poms, &pom_dirs, &pom_projects);
        let group = own_pom
            .and_then(|i| pom_group(&poms[i]))
            .or_else(|| main_project.and_then(PomProject::group))
            .or_else(|| known_group(&name, &version).map(str::to_owned))
            .or_else(|| m.group_id());
        // Archives that say nothing about their version are left out: a package without a
        // version cannot be matched against anything (syft lists them as "UNKNOWN").
        if !name.is_empty() && !version.is_empty() {
            let mut p = Package::new(PackageType::JavaArchive, &name, &version);
            p.locations.push(location.clone());
            p.licenses = mget(&["Bundle-License"])
                .and_then(|l| crate::license::normalise(l.split(';').next().unwrap_or(&l)))
                .into_iter()
                .collect();
            // As syft (java/archive_parser.go): the manifest's licence first, else the
            // `<licenses>` of the archive's own embedded pom.xml.
            if p.licenses.is_empty()
                && let Some(names) = group
                    .as_ref()
                    .and_then(|g| pom_licences.get(&(g.clone(), name.clone())))
                    .or_else(|| {
                        // The group may be known only from the pom's path.
                        let mut same = pom_licences.iter().filter(|((_, a), _)| *a == name);
                        match (same.next(), same.next()) {
                            (Some((_, l)), None) => Some(l),
                            _ => None,
                        }
                    })
            {
                p.licenses = names
                    .iter()
                    .filter_map(|n| crate::license::normalise(n))
                    .collect();
            }
            p.supplier = mget(&[
                "Implementation-Vendor",
                "Specification-Vendor",
                "Bundle-Vendor",
            ])
            .map(Supplier::Organization);
            p.homepage = mget(&["Bundle-DocURL"]);
            p.purl = purl(group.as_deref(), &name, &version);
            p.cpes = crate::cpe::java(
                &name,
                &version,
                &cpe_evidence(
                    &name,
                    &version,
                    own_pom.map(|i| &poms[i]),
                    main_project,
                    Some(m),
                ),
            );
            own_id = Some(cx.add(p));
        }
        for (i, pom) in poms.iter().enumerate() {
            if Some(i) == own_pom {
                continue;
            }
            let (a, v) = (&pom["artifactId"], &pom["version"]);
            let mut p = Package::new(PackageType::JavaArchive, a, v);
            p.locations.push(location.clone());
            let group = pom_group(pom);
            // The pom.xml beside this pom.properties (syft's newPackageFromMavenData).
            if let Some(names) = group
                .as_ref()
                .and_then(|g| pom_licences.get(&(g.clone(), a.clone())))
            {
                p.licenses = names
                    .iter()
                    .filter_map(|n| crate::license::normalise(n))
                    .collect();
            }
            p.purl = purl(group.as_deref(), a, v);
            p.cpes = crate::cpe::java(
                a,
                v,
                &cpe_evidence(a, v, Some(pom), pom_projects.get(&pom_dirs[i]), None),
            );
            let id = cx.add(p);
            if let Some(o) = &own_id {
                cx.contains(o, &id);
            }
        }
    }
    for (inner, bytes) in nested {
        if let Some(id) = archive(cx, location, base(&inner), Cursor::new(bytes), depth + 1)
            && let Some(o) = &own_id
        {
            cx.contains(o, &id);
        }
    }
    own_id
}

fn purl(group: Option<&str>, name: &str, version: &str) -> Option<String> {
    crate::purl::build(
        "maven",
        Some(group.filter(|g| !g.is_empty()).unwrap_or(name)),
        name,
        version,
        &[],
    )
}

/// A JAR manifest: the main section and the named ones (JAR spec: 72-byte lines continue
/// with a leading space; sections are separated by blank lines).
#[derive(Debug, Default)]
struct Manifest {
    sections: Vec<BTreeMap<String, String>>,
}

impl Manifest {
    fn parse(text: &str) -> Self {
        let mut sections: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
        let mut last: Option<String> = None;
        for line in text.lines() {
            if line.trim().is_empty() {
                if sections.last().is_some_and(|s| !s.is_empty()) {
                    sections.push(BTreeMap::new());
                }
                last = None;
                continue;
            }
            let cur = sections.last_mut().expect("at least one section");
            if line.starts_with(' ') {
                // syft (parse_java_manifest.go) trims the continuation on both sides.
                if let Some(v) = last.as_ref().and_then(|k| cur.get_mut(k)) {
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                cur.insert(k.trim().to_owned(), v.trim().to_owned());
                last = Some(k.trim().to_owned());
            }
        }
        sections.retain(|s| !s.is_empty());
        Self { sections }
    }

    /// A field of the main section only (syft's `manifest.Main.MustGet`).
    fn main(&self, key: &str) -> Option<String> {
        self.sections
            .first()
            .and_then(|s| s.get(key).filter(|v| !v.is_empty()).cloned())
    }

    /// A field of the main section, else of any named section.
    fn get(&self, key: &str) -> Option<String> {
        self.sections
            .iter()
            .find_map(|s| s.get(key).filter(|v| !v.is_empty()).cloned())
    }

    /// A group id from fields holding reverse domain names, as syft picks it: the
    /// alphabetically first candidate of the primary fields, else of the secondary ones.
    fn group_id(&self) -> Option<String> {
        self.group_ids().into_iter().find(|g| !g.is_empty())
    }

    /// Every group id candidate of the primary fields, sorted, else of the secondary ones
    /// (cpegenerate/java.go `groupIDsFromJavaManifest` without the artifact table).
    fn group_ids(&self) -> Vec<String> {
        const PRIMARY: &[&str] = &[
            "Group-Id",
            "Bundle-SymbolicName",
            "Extension-Name",
            "Specification-Vendor",
            "Implementation-Vendor",
            "Implementation-Vendor-Id",
            "Implementation-Title",
            "Bundle-Activator",
        ];
        const SECONDARY: &[&str] = &["Automatic-Module-Name", "Main-Class", "Package"];
        for fields in [PRIMARY, SECONDARY] {
            let mut found: Vec<String> = Vec::new();
            for f in fields {
                for s in &self.sections {
                    if let Some(v) = s.get(*f)
                        && crate::cpe::starts_with_domain(v)
                    {
                        found.push(clean_group(v));
                    }
                }
            }
            found.sort();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// Every value of `key`, main section first (syft's `Main.Get`, then each section's).
    fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.sections
            .iter()
            .filter_map(move |s| s.get(key).map(String::as_str))
    }
}

/// The group id syft's table of well-known artifact ids gives `artifact` at `version`
/// (cpegenerate/java_groupid_map.go `ArtifactIDToGroupID`: the groovy artifacts moved from
/// org.codehaus.groovy to org.apache.groovy at 4.0; the rest from
/// `defaultArtifactIDToGroupID`, copied to `src/data/java-artifact-groups.tsv`).
pub(crate) fn known_group(artifact: &str, version: &str) -> Option<&'static str> {
    const GROOVY: &[&str] = &[
        "groovy",
        "groovy-all",
        "groovy-all-jdk14",
        "groovy-all-minimal",
        "groovy-all-tests",
        "groovy-ant",
        "groovy-astbuilder",
        "groovy-backports-compat23",
        "groovy-binary",
        "groovy-bom",
        "groovy-bsf",
        "groovy-cli-commons",
        "groovy-cli-picocli",
        "groovy-console",
        "groovy-datetime",
        "groovy-dateutil",
        "groovy-docgenerator",
        "groovy-groovydoc",
        "groovy-groovysh",
        "groovy-jaxb",
        "groovy-jdk14",
        "groovy-jmx",
        "groovy-json",
        "groovy-json-direct",
        "groovy-jsr223",
        "groovy-macro",
        "groovy-nio",
        "groovy-servlet",
        "groovy-sql",
        "groovy-swing",
        "groovy-templates",
        "groovy-test",
        "groovy-test-junit5",
        "groovy-testng",
        "groovy-tests-vm8",
        "groovy-xml",
        "groovy-xmlrpc",
        "groovy-yaml",
    ];
    if GROOVY.contains(&artifact) {
        // majorVersion: the leading number before `.` or `-`, 0 when there is none.
        let lead = version.split('.').next().unwrap_or("");
        let major: u64 = lead.split('-').next().unwrap_or("").parse().unwrap_or(0);
        return Some(if major >= 4 {
            "org.apache.groovy"
        } else {
            "org.codehaus.groovy"
        });
    }
    static TABLE: std::sync::LazyLock<BTreeMap<&'static str, &'static str>> =
        std::sync::LazyLock::new(|| {
            include_str!("../data/java-artifact-groups.tsv")
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .collect()
        });
    TABLE.get(artifact).copied()
}

/// `org.bar;uses:="org.foo"` -> `org.bar` (OSGi directives and fragments dropped;
/// syft's one correction, `org.lz4.java` -> `org.lz4`).
fn clean_group(g: &str) -> String {
    let g = g
        .split(';')
        .next()
        .unwrap_or(g)
        .split('#')
        .next()
        .unwrap_or(g)
        .trim();
    if g == "org.lz4.java" { "org.lz4" } else { g }.to_owned()
}

/// `a/b/pom.xml` -> `a/b`.
fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The coordinates of an embedded pom.xml, as syft's Maven resolver gives them offline
/// (java/internal/maven/resolver.go `ResolveID`, `pomParent`): groupId inherited from the
/// parent when absent; `${…}` resolved from `project.*`/`project.parent.*` and
/// `<properties>`, an unresolvable reference becoming empty.
#[derive(Debug, Default, Clone)]
struct PomProject {
    group_id: String,
    artifact_id: String,
    parent_group_id: String,
    parent_artifact_id: String,
}

impl PomProject {
    /// syft's `groupIDFromPomProject` (java/package_url.go): the group id, an artifact id
    /// shaped like one, then the same of the parent.
    fn group(&self) -> Option<String> {
        [
            (&self.group_id, &self.artifact_id),
            (&self.parent_group_id, &self.parent_artifact_id),
        ]
        .into_iter()
        .find_map(|(g, a)| {
            if !g.is_empty() {
                Some(clean_group(g))
            } else if a.contains('.') {
                Some(clean_group(a))
            } else {
                None
            }
        })
    }

    fn parse(xml: &str) -> Self {
        let fields = pom_fields(xml);
        let raw = |k: &str| fields.get(k).cloned();
        let resolve = |v: Option<String>| -> String {
            let Some(v) = v else { return String::new() };
            let mut out = String::new();
            let mut rest = v.as_str();
            while let Some(i) = rest.find("${") {
                out.push_str(&rest[..i]);
                let Some(j) = rest[i..].find('}') else {
                    out.push_str(&rest[i..]);
                    rest = "";
                    break;
                };
                let expr = rest[i + 2..i + j].trim();
                let key = match expr.strip_prefix("project.").or(expr.strip_prefix("pom.")) {
                    Some(k) => k.to_owned(),
                    None => format!("properties.{expr}"),
                };
                let value = fields
                    .get(&key)
                    .or_else(|| match key.as_str() {
                        "groupId" => fields.get("parent.groupId"),
                        "version" => fields.get("parent.version"),
                        _ => None,
                    })
                    .filter(|v| !v.contains("${"))
                    .cloned()
                    .unwrap_or_default();
                out.push_str(&value);
                rest = &rest[i + j + 1..];
            }
            out.push_str(rest);
            out.trim().to_owned()
        };
        let mut group_id = resolve(raw("groupId"));
        if group_id.is_empty() && raw("groupId").unwrap_or_default().is_empty() {
            group_id = resolve(raw("parent.groupId"));
        }
        Self {
            group_id,
            artifact_id: resolve(raw("artifactId")),
            parent_group_id: resolve(raw("parent.groupId")),
            parent_artifact_id: resolve(raw("parent.artifactId")),
        }
    }
}

/// The text of a pom.xml's `<project>` children and grandchildren that carry text
/// (`groupId`, `parent.groupId`, `properties.NAME`, …), read with a small tag walker: comments,
/// processing instructions and CDATA-free markup only, which is what POMs are.
fn pom_fields(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    let mut text_start: Option<&str> = None;
    while let Some(i) = rest.find('<') {
        let before = &rest[..i];
        rest = &rest[i..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |j| &rest[j + 3..]);
            continue;
        }
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if let (Some(_), Some(top)) = (text_start.take(), stack.last())
                && top == name.trim()
                && (2..=3).contains(&stack.len())
            {
                let key = stack[1..].join(".");
                let value = before
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&");
                out.entry(key).or_insert_with(|| value.trim().to_owned());
            }
            stack.pop();
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned();
        if self_closing {
            continue;
        }
        stack.push(name);
        text_start = Some(rest);
        if stack.len() > 64 {
            break;
        }
    }
    out
}

/// The pom.xml syft attaches to an archive's own package (java/archive_parser.go
/// `discoverMainPackageFromPomInfo`): beside the first pom.properties (by directory) whose
/// artifact id matches the file name, one with a pom.xml preferred; with no pom.properties
/// and exactly one pom.xml, that one.
fn main_pom_project<'a>(
    file_name: &str,
    poms: &[BTreeMap<String, String>],
    dirs: &[String],
    projects: &'a BTreeMap<String, PomProject>,
) -> Option<&'a PomProject> {
    if poms.is_empty() {
        return match projects.len() {
            1 => projects.values().next(),
            _ => None,
        };
    }
    if file_name.is_empty() {
        return None;
    }
    let named_exactly = poms.iter().any(|p| p["artifactId"] == file_name);
    let matches = |a: &str| {
        if named_exactly {
            a == file_name
        } else {
            a.starts_with(file_name) || file_name.ends_with(a)
        }
    };
    let mut order: Vec<usize> = (0..poms.len()).collect();
    order.sort_by(|a, b| dirs[*a].cmp(&dirs[*b]));
    let mut chosen: Option<(usize, Option<&PomProject>)> = None;
    for i in order {
        let a = poms[i]["artifactId"].as_str();
        if !matches(a) {
            continue;
        }
        let project = projects.get(&dirs[i]);
        match chosen {
            None => chosen = Some((i, project)),
            Some((_, None)) if project.is_some() => chosen = Some((i, project)),
            Some((_, Some(_))) if project.is_some() => {
                let g = poms[i].get("groupId").map_or("", String::as_str);
                if file_name.contains(g) || file_name == a {
                    chosen = Some((i, project));
                }
            }
            _ => {}
        }
        // isExactMatch ends the search.
        if let Some((j, Some(_))) = chosen
            && j == i
        {
            let g = poms[i].get("groupId").map_or("", String::as_str);
            if file_name.contains(g) || file_name == a {
                break;
            }
        }
    }
    chosen.and_then(|(_, p)| p)
}

/// What syft's Java CPE generation reads from a package's metadata (cpegenerate/java.go
/// `GroupIDsFromJavaMetadata`, `artifactIDFromJavaPackage`, `vendorsFromJavaManifestNames`).
fn cpe_evidence(
    name: &str,
    version: &str,
    pom: Option<&BTreeMap<String, String>>,
    project: Option<&PomProject>,
    manifest: Option<&Manifest>,
) -> crate::cpe::JavaEvidence {
    use crate::cpe::starts_with_domain;
    let mut group_ids = Vec::new();
    let mut from_pair = |g: &str, a: &str| {
        if starts_with_domain(g) {
            group_ids.push(clean_group(g));
        }
        if starts_with_domain(a) && a.split('.').count() > 1 {
            group_ids.push(clean_group(a));
        }
    };
    let field = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    if let Some(p) = pom {
        from_pair(&field(p, "groupId"), &field(p, "artifactId"));
    }
    if let Some(p) = project {
        from_pair(&p.group_id, &p.artifact_id);
        if !(p.parent_group_id.is_empty() && p.parent_artifact_id.is_empty()) {
            from_pair(&p.parent_group_id, &p.parent_artifact_id);
        }
    }
    if let Some(g) = known_group(name, version) {
        group_ids.push(g.to_owned());
    } else if let Some(m) = manifest {
        group_ids.extend(m.group_ids());
    }
    let manifest_vendors = manifest
        .map(|m| {
            ["Specification-Vendor", "Implementation-Vendor"]
                .iter()
                .flat_map(|k| m.all(k))
                .filter(|v| !starts_with_domain(v))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    crate::cpe::JavaEvidence {
        artifact_id: pom.map(|p| field(p, "artifactId")),
        group_ids,
        manifest_vendors,
    }
}

/// A pom.properties' group: `groupId`, or an `artifactId` that looks like one.
fn pom_group(p: &BTreeMap<String, String>) -> Option<String> {
    match p.get("groupId").filter(|g| !g.is_empty()) {
        Some(g) => Some(clean_group(g)),
        None => p
            .get("artifactId")
            .filter(|a| a.contains('.'))
            .map(|a| clean_group(a)),
    }
}

fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once(['=', ':']))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The `<name>` of each `<license>` in a pom.xml's `<licenses>` (POM 4.0.0), read without an
/// XML library: comments are dropped, and only the first `<licenses>` element (the
/// project's; no other POM element has one) is looked at.
fn pom_licence_names(xml: &str) -> Vec<String> {
    let mut text = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find("<!--") {
        text.push_str(&rest[..i]);
        rest = rest[i..].find("-->").map_or("", |j| &rest[i + j + 3..]);
    }
    text.push_str(rest);
    let Some(start) = text.find("<licenses>") else {
        return Vec::new();
    };
    let section = &text[start..];
    let section = &section[..section.find("</licenses>").unwrap_or(section.len())];
    section
        .split("<license>")
        .skip(1)
        .filter_map(|l| {
            let inner = l.split("</license>").next()?;
            let name = inner.split("<name>").nth(1)?.split("</name>").next()?;
            let name = name
                .trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&");
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// An archive's file name split into name and version as syft does
/// (java/archive_filename.go `newJavaArchiveFilename`, same regular expressions: Go's
/// `regexp` and the `regex` crate are both leftmost-first over ASCII classes). The extension
/// is dropped; the version starts at the first `-` group that begins with a digit,
/// `build<digit>` or `r`/`rc<digit>`; failing that, a trailing `_`/`.`/`-` version
/// (`tool_2.0`) counts.
fn split_file_name(file: &str) -> (String, String) {
    static PRIMARY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?Ui)^(?P<name>(?:[[:alpha:]][[:word:].]*(?:\.[[:alpha:]][[:word:].]*)*-?)+)(?:-(?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$",
        )
        .expect("valid regex")
    });
    static SECONDARY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?:[._-](?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$",
        )
        .expect("valid regex")
    });
    // filepath.Ext: from the last `.` of the base name.
    let stem = match file.rfind('.') {
        Some(i) => &file[..i],
        None => file,
    };
    let group = |re: &regex::Regex, s: &str, g: &str| {
        re.captures(s)
            .and_then(|c| c.name(g).map(|m| m.as_str().to_owned()))
            .unwrap_or_default()
    };
    let mut name = group(&PRIMARY, stem, "name");
    let mut version = group(&PRIMARY, stem, "version");
    if version.is_empty() {
        version = group(&SECONDARY, &name, "version");
        if !version.is_empty() {
            name.truncate(name.len() - version.len() - 1);
        }
    }
    (name, version)
}

/// The package name a file name gives (syft's `extractNameFromArchiveFilename`,
/// java/parse_java_manifest.go): `org.eclipse.*` names stay whole; a dotted name whose every
/// field could start a Java identifier is taken as `groupId.artifactId` and gives its last
/// field.
fn name_from_file_name(name: &str) -> String {
    if name.contains('.') && !name.starts_with("org.eclipse.") {
        let fields: Vec<&str> = name.split('.').collect();
        // Java identifier start: a letter, `$`-like currency symbols or `_`-like connectors.
        let starts_identifier = |f: &&str| {
            f.chars().next().is_some_and(|c| {
                c.is_alphabetic() || c == '$' || c == '_' || c == '\u{203f}' || c == '\u{2040}'
            })
        };
        if fields.iter().all(starts_identifier) {
            return fields[fields.len() - 1].to_owned();
        }
    }
    name.to_owned()
}

/// The artifact id the Apache Maven Bundle Plugin wrote into `Bundle-SymbolicName`
/// (`groupId.artifactId` by that plugin's convention), unless it is only the group id
/// (syft's `extractNameFromApacheMavenBundlePlugin`).
fn name_from_bundle_plugin(m: &Manifest) -> Option<String> {
    if !m.main("Created-By")?.contains("Apache Maven Bundle Plugin") {
        return None;
    }
    let symbolic = m.main("Bundle-SymbolicName")?;
    if m.main("Implementation-Vendor-Id").as_deref() == Some(symbolic.as_str()) {
        return None;
    }
    symbolic.rsplit('.').next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_licences() {
        let pom = "<project><!-- <licenses><license><name>GPL</name></license></licenses> -->\n<dependencies><dependency><artifactId>x</artifactId></dependency></dependencies>\n<licenses>\n <license>\n  <name>The Apache Software License, Version 2.0</name>\n  <url>https://www.apache.org/licenses/LICENSE-2.0.txt</url>\n </license>\n <license><name>Eclipse Public License &amp; more</name></license>\n</licenses></project>";
        assert_eq!(
            pom_licence_names(pom),
            vec![
                "The Apache Software License, Version 2.0".to_owned(),
                "Eclipse Public License & more".to_owned()
            ]
        );
        assert!(pom_licence_names("<project/>").is_empty());
    }

    #[test]
    fn names() {
        assert_eq!(
            split_file_name("commons-io-2.11.0.jar"),
            ("commons-io".into(), "2.11.0".into())
        );
        assert_eq!(
            split_file_name("guava.jar"),
            ("guava".into(), String::new())
        );
        // syft's archive_filename_test.go cases.
        for (file, name, version) in [
            ("pkg-maven-4.3.2.blerg", "pkg-maven", "4.3.2"),
            (
                "pkg-extra-field-maven-4.3.2-rc1.jar",
                "pkg-extra-field-maven",
                "4.3.2-rc1",
            ),
            ("jetpack-build235-rc5.jar", "jetpack", "build235-rc5"),
            ("ironman-r4-2009.jar", "ironman-r4", "2009"),
            ("pkg-maven-4.3.2.jar", "pkg-maven", "4.3.2"),
            (
                "wagon-webdav-1.0.2-beta-2.2.3a-hudson.jar",
                "wagon-webdav",
                "1.0.2-beta-2.2.3a-hudson",
            ),
            (
                "spring-instrumentation-4.3.0-1.0.jar",
                "spring-instrumentation",
                "4.3.0-1.0",
            ),
            (
                "org.eclipse.ant.core-3.7.0.jar",
                "org.eclipse.ant.core",
                "3.7.0",
            ),
            (
                "org.multiverse.universe-1.0.jar",
                "org.multiverse.universe",
                "1.0",
            ),
            ("hudson-core-1.376.jar", "hudson-core", "1.376"),
            ("pkg-rc-4.3.2.jar", "pkg-rc", "4.3.2"),
            ("tool_2.0.1.jar", "tool", "2.0.1"),
            ("pkg-maven.4.3.2.blerg", "pkg-maven", "4.3.2"),
            ("guava-r06.jar", "guava", "r06"),
            (
                "jtidy-4aug2000r7-dev-hudson-1.jar",
                "jtidy",
                "4aug2000r7-dev-hudson-1",
            ),
            (
                "spring-data-r2dbc-1.1.0.RELEASE.jar",
                "spring-data-r2dbc",
                "1.1.0.RELEASE",
            ),
            (
                "jboss-saaj-api_1.4_spec-1.0.2.Final.jar",
                "jboss-saaj-api_1.4_spec",
                "1.0.2.Final",
            ),
            ("no-version.jar", "no-version", ""),
        ] {
            assert_eq!(
                split_file_name(file),
                (name.into(), version.into()),
                "{file}"
            );
        }
        assert_eq!(name_from_file_name("org.multiverse.universe"), "universe");
        assert_eq!(
            name_from_file_name("org.eclipse.ant.core"),
            "org.eclipse.ant.core"
        );
        assert_eq!(name_from_file_name("app.3x"), "app.3x");
        let m = Manifest::parse(
            "Manifest-Version: 1.0\nImplementation-Title: a very\n  long\n  title\n\nName: x\nMain-Class: org.example.Main\n",
        );
        assert_eq!(
            m.get("Implementation-Title").as_deref(),
            // syft trims each continuation line whole (parse_java_manifest.go), so the
            // JAR spec's one-space marker and any further spaces go: "a verylongtitle".
            Some("a verylongtitle")
        );
        assert_eq!(m.group_id().as_deref(), Some("org.example.Main"));
    }
}
