//! grype's spellings: its configuration file's `ignore:` rules (`.grype.yaml`), fix
//! states (`--only-fixed`, `--only-notfixed`, `--ignore-states`), and `--by-cve`.
//!
//! Rules follow grype's `grype/match/ignore.go`: a rule applies when every condition it
//! sets holds (`vulnerability` - the finding's id, or with `include-aliases` any alias;
//! `fix-state`; `package.name`/`upstream-name` exactly, or as an anchored regular
//! expression when they look like one; `package.version`, `type`, `language` exactly;
//! `package.location` as a doublestar glob against any location); a rule with no
//! condition applies to nothing. Fail closed: conditions vouch cannot evaluate
//! (`namespace`, `match-type`, `vex-status` rules) and configuration keys that change
//! what grype reports or fails on but that vouch does not read are refused at load, with
//! the key named, instead of being skipped.
//!
//! vouch's findings have two fix states: `fixed` when the advisories name a fixed version
//! newer than the installed one, otherwise `not-fixed` (OSV data does not say "won't
//! fix"; a `wont-fix` or `unknown` rule therefore matches nothing).

use serde::Deserialize;

use crate::Error;
use crate::matcher::{Finding, ScanReport, Suppression};

/// grype's fix states (`grype/vulnerability/fix.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixState {
    /// A fixed version exists.
    Fixed,
    /// No fixed version is known.
    NotFixed,
    /// The vendor will not fix it.
    WontFix,
    /// Unknown.
    Unknown,
}

impl FixState {
    /// Parses grype's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "fixed" => Self::Fixed,
            "not-fixed" => Self::NotFixed,
            "wont-fix" => Self::WontFix,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    /// grype's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::NotFixed => "not-fixed",
            Self::WontFix => "wont-fix",
            Self::Unknown => "unknown",
        }
    }

    /// A finding's state.
    pub fn of(f: &Finding) -> Self {
        if f.fixed_versions.is_empty() {
            Self::NotFixed
        } else {
            Self::Fixed
        }
    }
}

/// Parses `--ignore-states fixed,not-fixed` (each a grype fix state).
pub fn parse_fix_states(s: &str) -> Result<Vec<FixState>, String> {
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            FixState::parse(x).ok_or_else(|| {
                format!("{x:?} is not a fix state (fixed, not-fixed, wont-fix, unknown)")
            })
        })
        .collect()
}

/// Suppresses open findings whose fix state is in `states` (grype's `--only-fixed`,
/// `--only-notfixed` and `--ignore-states` are ignore rules on the fix state). `flag`
/// names the option in the recorded reason.
pub fn ignore_fix_states(report: &mut ScanReport, states: &[FixState], flag: &str) {
    for f in report
        .findings
        .iter_mut()
        .filter(|f| f.suppressed.is_none())
    {
        let st = FixState::of(f);
        if states.contains(&st) {
            f.suppressed = Some(Suppression {
                by: "fix-state".into(),
                reason: format!("fix state {} is ignored", st.as_str()),
                source: flag.to_owned(),
                justification: None,
            });
        }
    }
}

/// The id grype shows for a finding: distro records that wrap one CVE
/// (`DEBIAN-CVE-2024-1`, `UBUNTU-CVE-…`) are reported by grype under the CVE itself.
pub fn grype_id(f: &Finding) -> &str {
    match f.id.find("-CVE-") {
        Some(i) if f.id[..i].chars().all(|c| c.is_ascii_uppercase()) => &f.id[i + 1..],
        _ => &f.id,
    }
}

/// `--by-cve`: a finding whose id is not a CVE is reported under its CVE (the wrapped CVE
/// of a distro record, else the first CVE alias), the old id joining the aliases.
pub fn by_cve(report: &mut ScanReport) {
    for f in &mut report.findings {
        if f.id.starts_with("CVE-") {
            continue;
        }
        let cve = if grype_id(f) != f.id {
            Some(grype_id(f).to_owned())
        } else {
            f.aliases.iter().find(|a| a.starts_with("CVE-")).cloned()
        };
        if let Some(c) = cve {
            let old = std::mem::replace(&mut f.id, c.clone());
            f.aliases.retain(|a| *a != c);
            f.aliases.push(old);
            f.aliases.sort();
        }
    }
}

/// The package part of a rule.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RulePackage {
    /// Name, exact or an anchored regular expression.
    #[serde(default)]
    pub name: String,
    /// Version, exact.
    #[serde(default)]
    pub version: String,
    /// syft language (`python`, `go`, `java`, …).
    #[serde(default)]
    pub language: String,
    /// syft package type (`deb`, `python`, `go-module`, `npm`, …).
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Doublestar glob on a location path.
    #[serde(default)]
    pub location: String,
    /// Source package name, exact or a regular expression.
    #[serde(default)]
    pub upstream_name: String,
}

/// One grype ignore rule.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rule {
    /// Vulnerability id.
    #[serde(default)]
    pub vulnerability: String,
    /// Also match the finding's aliases.
    #[serde(default)]
    pub include_aliases: bool,
    /// Why (shown in reports).
    #[serde(default)]
    pub reason: String,
    /// grype's database namespace: not evaluated by vouch (refused).
    #[serde(default)]
    pub namespace: String,
    /// Fix state.
    #[serde(default)]
    pub fix_state: String,
    /// Package conditions.
    #[serde(default)]
    pub package: RulePackage,
    /// VEX rules: not evaluated by vouch (refused).
    #[serde(default)]
    pub vex_status: String,
    /// VEX justification (with `vex-status`).
    #[serde(default)]
    pub vex_justification: String,
    /// grype match type: not evaluated by vouch (refused).
    #[serde(default)]
    pub match_type: String,
}

/// The keys of grype's configuration file vouch reads. Keys that only affect grype's own
/// operation (update checks, logging, database location) are accepted and do nothing;
/// others are refused by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Ignore rules.
    #[serde(default)]
    pub ignore: Vec<Rule>,
    /// `--only-fixed`.
    #[serde(default)]
    pub only_fixed: bool,
    /// `--only-notfixed`.
    #[serde(default)]
    pub only_notfixed: bool,
    /// `--ignore-states` (grype reads the key `ignore-wontfix`; its own config dump
    /// writes `ignore-states`, so both are read).
    #[serde(default, alias = "ignore-states")]
    pub ignore_wontfix: String,
    /// `--by-cve`.
    #[serde(default)]
    pub by_cve: bool,
    /// `--fail-on` (`negligible`, `low`, `medium`, `high`, `critical`).
    #[serde(default)]
    pub fail_on_severity: String,
    /// `-o`: a format name or a list of them.
    #[serde(default)]
    pub output: Option<serde_norway::Value>,
    /// Accepted, no effect (vouch never checks for updates).
    #[serde(default)]
    pub check_for_app_update: Option<bool>,
    /// Accepted, no effect on results.
    #[serde(default)]
    pub quiet: Option<bool>,
    /// Accepted, no effect on results.
    #[serde(default)]
    pub log: Option<serde_norway::Value>,
    /// Accepted, no effect on results (suppressed findings are always in JSON/SARIF).
    #[serde(default)]
    pub show_suppressed: Option<bool>,
    /// Accepted, no effect on results (JSON is always indented).
    #[serde(default)]
    pub pretty: Option<bool>,
    /// Accepted, no effect on results.
    #[serde(default)]
    pub timestamp: Option<bool>,
}

/// A loaded grype configuration with compiled rules.
#[derive(Debug)]
pub struct GrypeConfig {
    /// The file.
    pub source: String,
    /// The settings.
    pub config: Config,
    rules: Vec<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    rule: Rule,
    name: Option<Matcher>,
    upstream: Option<Matcher>,
    location: Option<glob::Pattern>,
    fix_state: Option<FixState>,
}

#[derive(Debug)]
enum Matcher {
    Exact(String),
    Regex(regex::Regex),
}

impl Matcher {
    /// grype's `isLikelyARegex` test, then `^NAME$` (ignore.go `packageNameRegex`).
    fn new(s: &str) -> Result<Self, regex::Error> {
        let looks_like_regex = s.chars().any(|c| "^$*+?[](){}|\\".contains(c));
        if looks_like_regex {
            Ok(Self::Regex(regex::Regex::new(&format!("^{s}$"))?))
        } else {
            Ok(Self::Exact(s.to_owned()))
        }
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Self::Exact(e) => e == s,
            Self::Regex(r) => r.is_match(s),
        }
    }
}

const GLOB: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl GrypeConfig {
    /// Parses a grype configuration file (YAML).
    pub fn parse(bytes: &[u8], source: &str) -> Result<Self, Error> {
        let bad = |field: String, reason: String| Error::BadPolicyFile {
            path: source.to_owned(),
            field,
            reason,
        };
        let config: Config = if bytes.iter().all(u8::is_ascii_whitespace) {
            Config::default()
        } else {
            serde_norway::from_slice(bytes).map_err(|e| {
                bad(
                    String::new(),
                    format!(
                        "{e} (vouch reads these grype keys: ignore, only-fixed, only-notfixed, \
                         ignore-wontfix, by-cve, fail-on-severity, output; a key that changes \
                         grype's results and that vouch does not evaluate is refused)"
                    ),
                )
            })?
        };
        let mut rules = Vec::new();
        for (i, r) in config.ignore.iter().enumerate() {
            let f = |k: &str| format!("ignore[{i}].{k}");
            for (k, v) in [
                ("namespace", &r.namespace),
                ("match-type", &r.match_type),
                ("vex-status", &r.vex_status),
            ] {
                if !v.is_empty() {
                    return Err(bad(
                        f(k),
                        "not evaluated by vouch; refused rather than ignored (use --vex for VEX)"
                            .into(),
                    ));
                }
            }
            let re = |k: &str, s: &str| {
                if s.is_empty() {
                    Ok(None)
                } else {
                    Matcher::new(s)
                        .map(Some)
                        .map_err(|e| bad(f(k), format!("invalid regular expression: {e}")))
                }
            };
            let fix_state = if r.fix_state.is_empty() {
                None
            } else {
                Some(FixState::parse(&r.fix_state).ok_or_else(|| {
                    bad(
                        f("fix-state"),
                        format!(
                            "{:?} is not fixed, not-fixed, wont-fix or unknown",
                            r.fix_state
                        ),
                    )
                })?)
            };
            let location = if r.package.location.is_empty() {
                None
            } else {
                Some(
                    glob::Pattern::new(&r.package.location)
                        .map_err(|e| bad(f("package.location"), e.to_string()))?,
                )
            };
            rules.push(Compiled {
                name: re("package.name", &r.package.name)?,
                upstream: re("package.upstream-name", &r.package.upstream_name)?,
                location,
                fix_state,
                rule: r.clone(),
            });
        }
        if !config.ignore_wontfix.is_empty() {
            parse_fix_states(&config.ignore_wontfix)
                .map_err(|e| bad("ignore-wontfix".into(), e))?;
        }
        if !config.fail_on_severity.is_empty()
            && !["negligible", "low", "medium", "high", "critical"]
                .contains(&config.fail_on_severity.as_str())
        {
            return Err(bad(
                "fail-on-severity".into(),
                format!(
                    "{:?} is not negligible, low, medium, high or critical",
                    config.fail_on_severity
                ),
            ));
        }
        Ok(Self {
            source: source.to_owned(),
            config,
            rules,
        })
    }

    /// Marks open findings that a rule covers as suppressed (the first rule that applies
    /// gives the reason).
    pub fn apply(&self, report: &mut ScanReport) {
        for f in report
            .findings
            .iter_mut()
            .filter(|f| f.suppressed.is_none())
        {
            if let Some(c) = self.rules.iter().find(|c| c.applies(f)) {
                f.suppressed = Some(Suppression {
                    by: "ignore-rule".into(),
                    reason: if c.rule.reason.is_empty() {
                        "grype ignore rule".into()
                    } else {
                        c.rule.reason.clone()
                    },
                    source: self.source.clone(),
                    justification: None,
                });
            }
        }
    }
}

impl Compiled {
    fn applies(&self, f: &Finding) -> bool {
        let r = &self.rule;
        let p = &f.package;
        let mut conditions = 0;
        let mut check = |set: bool, holds: &dyn Fn() -> bool| {
            if set {
                conditions += 1;
                holds()
            } else {
                true
            }
        };
        let all = check(!r.vulnerability.is_empty(), &|| {
            r.vulnerability == f.id
                || r.vulnerability == grype_id(f)
                || (r.include_aliases && f.aliases.contains(&r.vulnerability))
        }) && check(self.name.is_some(), &|| {
            self.name.as_ref().is_some_and(|m| m.is_match(&p.name))
        }) && check(!r.package.version.is_empty(), &|| {
            r.package.version == p.version
        }) && check(!r.package.language.is_empty(), &|| {
            language(p.syft_type()) == r.package.language
        }) && check(!r.package.kind.is_empty(), &|| {
            r.package.kind == p.syft_type()
        }) && check(self.location.is_some(), &|| {
            self.location
                .as_ref()
                .is_some_and(|g| p.locations.iter().any(|l| g.matches_with(l, GLOB)))
        }) && check(self.fix_state.is_some(), &|| {
            self.fix_state == Some(FixState::of(f))
        }) && check(self.upstream.is_some(), &|| {
            self.upstream
                .as_ref()
                .is_some_and(|m| p.source_name.as_deref().is_some_and(|s| m.is_match(s)))
        });
        // grype: a rule without conditions ignores nothing.
        all && conditions > 0
    }
}

/// syft's language of a package type (`syft/pkg/language.go`).
fn language(syft_type: &str) -> &'static str {
    match syft_type {
        "python" => "python",
        "go-module" => "go",
        "rust-crate" => "rust",
        "java-archive" => "java",
        "npm" => "javascript",
        "gem" => "ruby",
        "php-composer" => "php",
        "dotnet" => "dotnet",
        "hex" => "erlang",
        "dart-pub" => "dart",
        "swift" => "swift",
        "pod" => "swift",
        "conan" => "c++",
        _ => "",
    }
}

/// Where grype looks for its configuration (`grype --help`: `.grype.yaml`,
/// `.grype/config.yaml`, `~/.grype.yaml`, `$XDG_CONFIG_HOME/grype/config.yaml`), the first
/// that exists.
pub fn find_config(cwd: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut candidates = vec![
        cwd.join(".grype.yaml"),
        cwd.join(".grype.yml"),
        cwd.join(".grype/config.yaml"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(std::path::Path::new(&home).join(".grype.yaml"));
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME") {
        candidates.push(std::path::Path::new(&x).join("grype/config.yaml"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Package;

    fn finding(id: &str, aliases: &[&str], purl: &str, fixed: &[&str]) -> Finding {
        let mut package = Package::from_purl(purl).expect("purl");
        package.locations = vec!["/usr/lib/python3/dist-packages/x/METADATA".into()];
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|s| (*s).to_owned()).collect(),
            advisories: vec![id.into()],
            package,
            ecosystem: "PyPI".into(),
            matched_name: String::new(),
            matched_version: String::new(),
            rating: crate::Rating::unknown(),
            epss: None,
            kev: None,
            fixed_versions: fixed.iter().map(|s| (*s).to_owned()).collect(),
            summary: String::new(),
            url: None,
            suppressed: None,
        }
    }

    fn report(fs: Vec<Finding>) -> ScanReport {
        ScanReport {
            findings: fs,
            ..ScanReport::default()
        }
    }

    #[test]
    fn rules_as_grype_evaluates_them() {
        let cfg = GrypeConfig::parse(
            br#"
ignore:
  - vulnerability: CVE-1
  - vulnerability: GHSA-2
    include-aliases: false
  - vulnerability: CVE-3
    include-aliases: true
  - fix-state: not-fixed
    package:
      type: python
      name: "dj.*"
  - package:
      location: "/usr/lib/python3/**"
      version: "9.9"
  - {}
"#,
            "g.yaml",
        )
        .expect("parse");
        let mut r = report(vec![
            finding("CVE-1", &[], "pkg:pypi/a@1", &[]),
            finding("GHSA-9", &["CVE-3"], "pkg:pypi/b@1", &["2"]),
            finding("GHSA-8", &["GHSA-2"], "pkg:pypi/c@1", &["2"]),
            finding("GHSA-7", &[], "pkg:pypi/django@1", &[]),
            finding("GHSA-6", &[], "pkg:pypi/django@1", &["2"]),
            finding("GHSA-5", &[], "pkg:pypi/e@9.9", &["2"]),
            finding("GHSA-4", &[], "pkg:pypi/e@9.8", &["2"]),
            finding(
                "DEBIAN-CVE-1",
                &[],
                "pkg:deb/debian/f@1?distro=debian-12",
                &[],
            ),
        ]);
        cfg.apply(&mut r);
        let suppressed: Vec<bool> = r.findings.iter().map(|f| f.suppressed.is_some()).collect();
        assert_eq!(
            suppressed,
            [true, true, false, true, false, true, false, true]
        );
    }

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        for bad in [
            "ignore:\n  - namespace: debian:distro:debian:12\n",
            "ignore:\n  - vex-status: not_affected\n",
            "ignore:\n  - fix-state: maybe\n",
            "ignore:\n  - package:\n      name: \"(\"\n",
            "ignore:\n  - package:\n      purl: x\n",
            "exclude: ['/x']\n",
            "fail-on-severity: severe\n",
        ] {
            assert!(
                matches!(
                    GrypeConfig::parse(bad.as_bytes(), "g"),
                    Err(Error::BadPolicyFile { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn fix_states_and_by_cve() {
        let mut r = report(vec![
            finding("GHSA-1", &["CVE-2024-1"], "pkg:pypi/a@1", &["2"]),
            finding("DEBIAN-CVE-2024-2", &[], "pkg:deb/debian/b@1", &[]),
        ]);
        ignore_fix_states(&mut r, &parse_fix_states("fixed").expect("states"), "--x");
        assert!(r.findings[0].suppressed.is_some());
        assert!(r.findings[1].suppressed.is_none());
        by_cve(&mut r);
        assert_eq!(r.findings[0].id, "CVE-2024-1");
        assert_eq!(r.findings[0].aliases, ["GHSA-1"]);
        assert_eq!(r.findings[1].id, "CVE-2024-2");
        assert!(parse_fix_states("fixed,bogus").is_err());
    }
}
