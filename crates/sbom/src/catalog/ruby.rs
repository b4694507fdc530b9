//! Ruby: installed gem specifications, `specifications/NAME-VERSION.gemspec` (images, as
//! syft reads them).
//!
//! RubyGems writes these files as Ruby source (`Gem::Specification#to_ruby`), one
//! attribute a line: `s.name = "rake".freeze`, `s.version = "13.0.6"`,
//! `s.licenses = ["MIT".freeze]`, `s.authors = [...]`, `s.homepage = "…"`. vouch reads
//! those assignments without evaluating any Ruby. purl: `pkg:gem/NAME@VERSION`.

use super::{Applies, Cataloger, Cx, Want};
use crate::model::{Package, PackageType, Supplier};

/// The cataloger.
pub(crate) struct Gemspec;

impl Cataloger for Gemspec {
    fn name(&self) -> &'static str {
        "ruby-installed-gemspec-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Image
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(
            path.ends_with(".gemspec")
                && (path.contains("/specifications/") || path.starts_with("specifications/")),
        )
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        catalog_gemspecs(cx, found);
    }
}

/// Gem specifications anywhere in a directory, installed or in a source tree: syft's
/// `ruby-gemspec-cataloger` (`**/*.gemspec`, directory scans only; ruby/cataloger.go), which
/// is how a `dir:` scan of a root filesystem reports its installed gems.
pub(crate) struct GemspecDir;

impl Cataloger for GemspecDir {
    fn name(&self) -> &'static str {
        "ruby-gemspec-cataloger"
    }

    fn applies(&self) -> Applies {
        Applies::Dir
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(path.ends_with(".gemspec"))
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        catalog_gemspecs(cx, found);
    }
}

fn catalog_gemspecs(cx: &mut Cx<'_>, found: &[String]) {
    for path in found {
        let Some(text) = cx.read_text(path) else {
            continue;
        };
        let mut name = None;
        let mut version = None;
        let mut licenses = Vec::new();
        let mut authors = Vec::new();
        let mut homepage = None;
        for line in text.lines() {
            let Some((lhs, rhs)) = line.trim().split_once('=') else {
                continue;
            };
            let attr = lhs
                .trim()
                .trim_start_matches("s.")
                .trim_start_matches("spec.");
            let strings = quoted(rhs);
            match attr {
                "name" => name = strings.into_iter().next(),
                "version" => version = strings.into_iter().next(),
                "licenses" | "license" => licenses.extend(strings),
                "authors" | "author" => authors.extend(strings),
                "homepage" => homepage = strings.into_iter().next(),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            cx.warn(path, "no s.name or s.version assignment");
            continue;
        };
        let mut p = Package::new(PackageType::Gem, &name, &version);
        p.locations.push(cx.location(path));
        p.licenses = licenses
            .iter()
            .filter_map(|l| crate::license::normalise(l))
            .collect();
        p.cpes = crate::cpe::gem(&name, &version, &authors, homepage.as_deref());
        p.supplier = authors.first().and_then(|a| Supplier::from_maintainer(a));
        p.homepage = homepage;
        p.purl = crate::purl::build("gem", None, &name, &version, &[]);
        cx.add(p);
    }
}

/// Every double- or single-quoted string on the right-hand side, in order.
fn quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let mut v = String::new();
            let mut esc = false;
            for d in chars.by_ref() {
                if esc {
                    v.push(d);
                    esc = false;
                } else if d == '\\' {
                    esc = true;
                } else if d == c {
                    break;
                } else {
                    v.push(d);
                }
            }
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings() {
        assert_eq!(
            super::quoted(" [\"MIT\".freeze, 'Ruby'.freeze]"),
            vec!["MIT", "Ruby"]
        );
    }
}
