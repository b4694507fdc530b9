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
    // Embedded pom.xml files by (groupId, artifactId) from their path
    // (`META-INF/maven/GROUP/ARTIFACT/pom.xml`): only their licences are read.
    let mut pom_licences: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
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
            manifest = Some(Manifest::parse(&String::from_utf8_lossy(&buf)));
        } else if is_pom {
            poms.push(parse_properties(&String::from_utf8_lossy(&buf)));
        } else if let Some(key) = pom_xml {
            pom_licences.insert(key, pom_licence_names(&String::from_utf8_lossy(&buf)));
        } else {
            nested.push((name, buf));
        }
    }
    let (fname, fversion) = split_file_name(file_name);
    // Only pom.properties naming both artifact and version count (as in syft).
    poms.retain(|p| {
        p.get("artifactId").is_some_and(|a| !a.is_empty())
            && p.get("version").is_some_and(|v| !v.is_empty())
    });
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
        let group = own_pom
            .and_then(|i| pom_group(&poms[i]))
            .or_else(|| known_group(&name).map(str::to_owned))
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
            if let Some(cont) = line.strip_prefix(' ') {
                if let Some(v) = last.as_ref().and_then(|k| cur.get_mut(k)) {
                    v.push_str(cont);
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
                        && ["com", "org", "net", "io", "be"]
                            .iter()
                            .any(|d| v.starts_with(d))
                    {
                        found.push(clean_group(v));
                    }
                }
            }
            found.sort();
            if let Some(g) = found.into_iter().find(|g| !g.is_empty()) {
                return Some(g);
            }
        }
        None
    }
}

/// The group id syft's table of well-known artifact ids gives `artifact`
/// (cpegenerate/java_groupid_map.go `DefaultArtifactIDToGroupID`, copied to
/// `src/data/java-artifact-groups.tsv`).
pub(crate) fn known_group(artifact: &str) -> Option<&'static str> {
    static TABLE: std::sync::LazyLock<BTreeMap<&'static str, &'static str>> =
        std::sync::LazyLock::new(|| {
            include_str!("../data/java-artifact-groups.tsv")
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .collect()
        });
    TABLE.get(artifact).copied()
}

/// `org.bar;uses:="org.foo"` -> `org.bar` (OSGi directives and fragments dropped).
fn clean_group(g: &str) -> String {
    g.split(';')
        .next()
        .unwrap_or(g)
        .split('#')
        .next()
        .unwrap_or(g)
        .trim()
        .to_owned()
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
            "Manifest-Version: 1.0\nImplementation-Title: a very long\n  title\n\nName: x\nMain-Class: org.example.Main\n",
        );
        assert_eq!(
            m.get("Implementation-Title").as_deref(),
            Some("a very long title")
        );
        assert_eq!(m.group_id().as_deref(), Some("org.example.Main"));
    }
}
