//! Java archives whose manifest says nothing about their identity (only a `Main-Class`, no
//! pom.properties, no Implementation-Title): name and version come from the file name, by
//! syft's rules (java/archive_filename.go, java/parse_java_manifest.go). The jars are written
//! here with the zip crate; the latest syft reads the same directory and must agree exactly.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::io::Write;
use std::path::Path;

use common::*;
use vouch_sbom::PackageType;

fn jar(path: &Path, manifest: &str) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    z.add_directory("META-INF/", opts).unwrap();
    z.start_file("META-INF/MANIFEST.MF", opts).unwrap();
    z.write_all(manifest.as_bytes()).unwrap();
    z.start_file("com/example/hello/Main.class", opts).unwrap();
    z.write_all(&[0xca, 0xfe, 0xba, 0xbe]).unwrap();
    z.finish().unwrap();
}

const MAIN_CLASS: &str = "Manifest-Version: 1.0\r\nMain-Class: com.example.hello.Main\r\n\r\n";

/// (file name, the name and version syft derives from it; `None`: no version evidence).
/// The group is the Main-Class (syft's secondary manifest fields) except where syft's table
/// of well-known artifact ids names one.
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("hello-cli-1.4.2.jar", "hello-cli", Some("1.4.2")),
    // groupId.artifactId with an `_` version: the secondary pattern, then the last field.
    ("org.example.tool_2.0.1.jar", "tool", Some("2.0.1")),
    ("jetpack-build235-rc5.jar", "jetpack", Some("build235-rc5")),
    // The name pattern is ungreedy but a group starting with `r<digit>` followed by more
    // text still continues the name: syft's own regular expression, kept as is.
    ("ironman-r4-2009.jar", "ironman-r4", Some("2009")),
    ("my-http2-server-5.jar", "my-http2-server", Some("5")),
    ("Tool-RC1.jar", "Tool", Some("RC1")),
    (
        "org.eclipse.core.runtime_3.29.0.jar",
        "org.eclipse.core.runtime",
        Some("3.29.0"),
    ),
    ("plain.jar", "plain", None),
    ("app.v3.jar", "v3", None),
];

#[test]
fn main_class_only_jars_are_named_from_the_file_as_syft_does() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    for (file, _, _) in CASES {
        jar(&root.join(file), MAIN_CLASS);
    }
    // The Apache Maven Bundle Plugin's symbolic name (groupId.artifactId) beats the file
    // name; the version still comes from the file name.
    jar(
        &root.join("widgets-bundle-3.1.jar"),
        "Manifest-Version: 1.0\r\nCreated-By: Apache Maven Bundle Plugin\r\nBundle-SymbolicName: org.acme.widgets\r\nMain-Class: org.acme.widgets.Cli\r\n\r\n",
    );
    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
    let got = |name: &str| {
        sbom.packages
            .iter()
            .find(|p| p.kind == PackageType::JavaArchive && p.name == name)
    };
    for (file, name, version) in CASES {
        match version {
            Some(v) => {
                let p = got(name).unwrap_or_else(|| panic!("{file}: no package {name}"));
                assert_eq!(&p.version, v, "{file}");
                let group = if name.starts_with("org.eclipse.") {
                    "org.eclipse.platform"
                } else {
                    "com.example.hello.Main"
                };
                assert_eq!(
                    p.purl.as_deref(),
                    Some(format!("pkg:maven/{group}/{name}@{v}").as_str()),
                    "{file}"
                );
                assert!(p.locations[0].path.ends_with(file), "{file}");
            }
            // No version evidence: left out (a package without a version matches nothing);
            // syft lists it with the placeholder UNKNOWN, explained below.
            None => assert!(got(name).is_none(), "{file}"),
        }
    }
    let w = got("widgets").expect("bundle plugin name");
    assert_eq!(w.version, "3.1");
    assert_eq!(
        sbom.packages
            .iter()
            .filter(|p| p.kind == PackageType::JavaArchive)
            .count(),
        CASES.iter().filter(|c| c.2.is_some()).count() + 1
    );

    let latest = syft_latest(&input);
    let report = assert_agreement(&sbom, &latest, syft_placeholder_version);
    let (v, s, common) = report["java-archive"];
    assert_eq!(
        (v, s, common),
        (v, v, v),
        "every jar agrees with syft latest"
    );
}
