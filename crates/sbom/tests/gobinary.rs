//! Go build information in Mach-O and PE executables: a two-module program cross-compiled
//! here by Debian's Go toolchain for macOS (arm64, with `-ldflags -X main.version=…`) and
//! Windows (amd64), offline (`GOPROXY=off`, the dependency is a local `replace`). vouch
//! must read the same modules as `go version -m` and agree with syft.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;
use vouch_sbom::PackageType;
use vouch_testkit::{require_tool, run};

fn go_build(src: &Path, cache: &Path, goos: &str, goarch: &str, ldflags: &str, out: &Path) {
    run(Command::new(require_tool("go"))
        .current_dir(src)
        .env("GOOS", goos)
        .env("GOARCH", goarch)
        .env("CGO_ENABLED", "0")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", cache.join("build"))
        .env("GOPATH", cache.join("gopath"))
        .arg("build")
        .arg(format!("-ldflags={ldflags}"))
        .arg("-o")
        .arg(out)
        .arg("."));
}

#[test]
fn mach_o_and_pe_build_information() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("dep")).unwrap();
    std::fs::write(
        src.join("go.mod"),
        "module example.com/vouch/app\n\ngo 1.19\n\nrequire example.com/vouch/dep v1.2.3\n\nreplace example.com/vouch/dep => ./dep\n",
    )
    .unwrap();
    std::fs::write(
        src.join("dep/go.mod"),
        "module example.com/vouch/dep\n\ngo 1.19\n",
    )
    .unwrap();
    std::fs::write(
        src.join("dep/dep.go"),
        "package dep\n\nfunc Hello() string { return \"hello\" }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("main.go"),
        "package main\n\nimport \"example.com/vouch/dep\"\n\nfunc main() { println(dep.Hello()) }\n",
    )
    .unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    std::fs::create_dir_all(root.join("opt/win")).unwrap();
    let mac = root.join("usr/local/bin/app");
    let exe = root.join("opt/win/app.exe");
    go_build(
        &src,
        tmp.path(),
        "darwin",
        "arm64",
        "-X main.version=v0.4.2",
        &mac,
    );
    go_build(&src, tmp.path(), "windows", "amd64", "", &exe);
    // As copied from a Windows machine: no execute bit.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(&std::fs::read(&mac).unwrap()[..4], b"\xcf\xfa\xed\xfe");
    assert_eq!(&std::fs::read(&exe).unwrap()[..2], b"MZ");

    let input = format!("dir:{}", root.display());
    let sbom = vouch(&input);
    assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
    let go: Vec<_> = sbom
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::GoModule)
        .collect();
    for (file, main_version) in [
        ("/usr/local/bin/app", "v0.4.2"),
        ("/opt/win/app.exe", "(devel)"),
    ] {
        let here: Vec<_> = go
            .iter()
            .filter(|p| p.locations.iter().any(|l| l.path == file))
            .collect();
        assert!(
            here.iter()
                .any(|p| p.name == "example.com/vouch/app" && p.version == main_version),
            "{file}: {here:#?}"
        );
        assert!(
            here.iter()
                .any(|p| p.name == "stdlib" && p.version.starts_with("go1.")),
            "{file}: {here:#?}"
        );
        assert!(
            here.len() >= 3,
            "main, the replaced dependency, stdlib: {here:#?}"
        );
    }
    let report = assert_agreement(&sbom, &syft(&input), |_, _| None);
    assert!(
        report.get("go-module").is_some_and(|r| r.2 >= 3),
        "{report:?}"
    );
}

/// A binary built outside module mode (`GO111MODULE=off`, as Debian's dh-golang builds
/// docker-registry) carries only a `path` line. Its identity is the repository at the
/// GOPATH import path's root with the package as the purl subpath, so that scanners keyed
/// by module (`github.com/docker/distribution`) match it, and its CPE names the repository,
/// not the `cmd` directory.
#[test]
fn gopath_build_has_repository_purl_with_subpath() {
    let tmp = tempfile::tempdir().unwrap();
    let gopath = tmp.path().join("gopath");
    let pkg = gopath.join("src/github.com/docker/distribution/cmd/registry");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("main.go"),
        "package main\n\nvar version = \"\"\n\nfunc main() { println(version) }\n",
    )
    .unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    let out = root.join("usr/bin/docker-registry");
    run(Command::new(require_tool("go"))
        .current_dir(&pkg)
        .env("GO111MODULE", "off")
        .env("GOPATH", &gopath)
        .env("GOCACHE", tmp.path().join("cache"))
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0")
        .args(["build", "-ldflags=-X main.version=v2.8.2+ds1", "-o"])
        .arg(&out)
        .arg("."));
    let version_m = Command::new(require_tool("go"))
        .args(["version", "-m"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&version_m.stdout);
    assert!(
        text.contains("path\tgithub.com/docker/distribution/cmd/registry")
            && !text.contains("\tmod\t"),
        "expected path-only build information:\n{text}"
    );

    let sbom = vouch(&format!("dir:{}", root.display()));
    let main = sbom
        .packages
        .iter()
        .find(|p| p.name == "github.com/docker/distribution/cmd/registry")
        .unwrap_or_else(|| panic!("{:#?}", sbom.packages));
    assert_eq!(main.version, "v2.8.2+ds1");
    assert_eq!(
        main.purl.as_deref(),
        Some("pkg:golang/github.com/docker/distribution@v2.8.2%2Bds1#cmd/registry")
    );
    assert_eq!(
        main.cpes,
        vec!["cpe:2.3:a:docker:distribution:v2.8.2\\+ds1:*:*:*:*:*:*:*".to_owned()]
    );
}
