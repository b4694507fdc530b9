//! Python dependencies declared in requirement and lock files (directory scans only), as
//! syft's `python-package-cataloger` (python/cataloger.go) reads them:
//!
//! - `*requirements*.txt`: one requirement a line (PEP 508 with pip's extensions). Only
//!   pinned entries (`name==V` or `name===V`, no other operator) name a version; syft skips
//!   the rest unless asked to guess (parse_requirements.go `parsePinnedVersion`), and so
//!   does vouch. `#` starts a comment, a trailing `\` continues the line, option lines
//!   (`-r`, `-e`, `--hash`, …) are not requirements.
//! - `poetry.lock`, `uv.lock` (and PEP 723 script locks `*.py.lock`): TOML, every
//!   `[[package]]` with its `name` and `version`.
//! - `Pipfile.lock`: JSON, the `default` section (not `develop`), versions as `==V`.
//!
//! Names are normalised as PEP 503 says (and syft does): runs of `-_.` become `-`,
//! lower-cased. purl: `pkg:pypi/NAME@VERSION`.

use super::{Applies, Cataloger, Cx, Want, base, ends_with_ci};
use crate::model::{Package, PackageType};

/// The cataloger.
pub(crate) struct PythonLock;

impl Cataloger for PythonLock {
    fn name(&self) -> &'static str {
        "python-package-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Dir
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(kind(path).is_some())
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(kind) = kind(path) else { continue };
            let Some(text) = cx.read_text(path) else {
                continue;
            };
            let entries = match kind {
                Kind::Requirements => Ok(requirements(&text)),
                Kind::TomlLock => toml_lock(&text),
                Kind::Pipfile => pipfile_lock(&text),
            };
            let entries = match entries {
                Ok(e) => e,
                Err(e) => {
                    cx.warn(path, e);
                    continue;
                }
            };
            let location = cx.location(path);
            for (name, version) in entries {
                let name = super::python::normalise_name(&name);
                let mut p = Package::new(PackageType::Python, &name, &version);
                p.locations.push(location.clone());
                p.purl = crate::purl::build("pypi", None, &name, &version, &[]);
                cx.add(p);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Requirements,
    TomlLock,
    Pipfile,
}

fn kind(path: &str) -> Option<Kind> {
    let b = base(path);
    if b.contains("requirements") && b.ends_with(".txt") {
        Some(Kind::Requirements)
    } else if b == "poetry.lock" || b == "uv.lock" || ends_with_ci(b, ".py.lock") {
        Some(Kind::TomlLock)
    } else if b == "Pipfile.lock" {
        Some(Kind::Pipfile)
    } else {
        None
    }
}

/// Pinned requirements as (name, version).
fn requirements(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        // A comment runs to the end of the line (syft cuts at the first `#`).
        let line = raw.split('#').next().unwrap_or("").trim();
        pending.push_str(line);
        if let Some(head) = pending.strip_suffix('\\') {
            pending = head.to_owned();
            continue;
        }
        let line = std::mem::take(&mut pending);
        let line = line.trim();
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        if let Some(entry) = pinned(line) {
            out.push(entry);
        }
    }
    out
}

/// `name[extras] == V ; markers --hash=…` -> (name, V) when the only operator is `==`/`===`.
fn pinned(line: &str) -> Option<(String, String)> {
    // Markers and hashes are not part of the version constraint.
    let spec = line.split(';').next()?;
    let spec = spec.split(" --hash").next()?.trim();
    let name_end = spec
        .find(['=', '<', '>', '!', '~', '@', ' ', '\t', '['])
        .unwrap_or(spec.len());
    let name = spec[..name_end].trim();
    if name.is_empty() || !name.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return None;
    }
    // Skip the extras.
    let mut rest = spec[name_end..].trim_start();
    if rest.starts_with('[') {
        rest = rest[rest.find(']')? + 1..].trim_start();
    }
    if rest.contains(['*', ',', '<', '>']) || rest.contains("!=") {
        return None;
    }
    let version = ["===", "=="].iter().find_map(|op| {
        rest.strip_prefix(op)
            .filter(|v| !v.starts_with('='))
            .map(str::trim)
    })?;
    // A URL requirement (`name @ https://…`) or anything after the version is not a pin.
    if version.is_empty() || version.contains(char::is_whitespace) {
        return None;
    }
    Some((name.to_owned(), version.to_owned()))
}

#[derive(serde::Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<TomlPackage>,
}

#[derive(serde::Deserialize)]
struct TomlPackage {
    name: String,
    #[serde(default)]
    version: String,
}

/// `[[package]]` entries of poetry.lock and uv.lock.
fn toml_lock(text: &str) -> Result<Vec<(String, String)>, String> {
    let lock: TomlLock = toml::from_str(text).map_err(|e| format!("not a TOML lock file: {e}"))?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect())
}

/// The `default` section of Pipfile.lock.
fn pipfile_lock(text: &str) -> Result<Vec<(String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(default) = v.get("default").and_then(serde_json::Value::as_object) else {
        return Err("no \"default\" object".into());
    };
    Ok(default
        .iter()
        .map(|(name, entry)| {
            let version = entry
                .get("version")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            (
                name.clone(),
                version.strip_prefix("==").unwrap_or(version).to_owned(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pinned_requirements() {
        let text = "\
# comment
requests==2.31.0
Flask[async] == 3.0.0 ; python_version >= \"3.8\"
numpy>=1.0
pandas==2.*
six==1.16.0 \\
    --hash=sha256:abc
-r other.txt
-e git+https://example.com/x.git#egg=x
urllib3===2.0.7
pip @ https://example.com/pip.whl
idna!=3.0
certifi==2024.2.2  # trailing comment
";
        assert_eq!(
            requirements(text),
            vec![
                ("requests".into(), "2.31.0".into()),
                ("Flask".into(), "3.0.0".into()),
                ("six".into(), "1.16.0".into()),
                ("urllib3".into(), "2.0.7".into()),
                ("certifi".into(), "2024.2.2".into()),
            ]
        );
    }

    #[test]
    fn locks() {
        let poetry = "[[package]]\nname = \"Jinja2\"\nversion = \"3.1.2\"\n\n[package.dependencies]\nMarkupSafe = \">=2.0\"\n\n[[package]]\nname = \"markupsafe\"\nversion = \"2.1.3\"\n\n[metadata]\nlock-version = \"2.0\"\n";
        assert_eq!(
            toml_lock(poetry).unwrap(),
            vec![
                ("Jinja2".into(), "3.1.2".into()),
                ("markupsafe".into(), "2.1.3".into())
            ]
        );
        let pipfile = r#"{"_meta":{},"default":{"requests":{"version":"==2.31.0"}},"develop":{"pytest":{"version":"==8.0.0"}}}"#;
        assert_eq!(
            pipfile_lock(pipfile).unwrap(),
            vec![("requests".into(), "2.31.0".into())]
        );
        assert!(toml_lock("[[package]\n").is_err());
    }
}
