//! `vouch.toml`: the pipeline's configuration file. Every key is optional; command-line flags
//! override it. Relative paths are relative to the file's directory.
//!
//! ```toml
//! image = "ghcr.io/acme/app:v1"      # a registry reference or oci:DIR[:TAG]
//! out = "vouch-out"                   # artifacts: SBOMs, scan JSON/SARIF, bundles, report
//!
//! [build]                             # optional: build the image first (vouch build)
//! from = "oci:base:latest"
//! add = ["dist:/app"]
//! cmd = ["/app/run"]
//! env = { MODE = "prod" }
//!
//! [scan]
//! fail_on = "high"                    # low | medium | high | critical
//! db = "~/.cache/vouch/vuln.db"       # or advisories = ["osv/"] to import first
//!
//! [sign]
//! key = "cosign.key"                  # or keyless = true (OIDC identity, CA, log)
//!
//! [verify]
//! key = "cosign.pub"                  # or certificate_identity(_regexp) +
//!                                     # certificate_oidc_issuer + trusted_root
//!
//! [policy]                            # optional admission check
//! policies = ["policy/verify-images.yaml"]
//! resources = ["deploy/pods.yaml"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The image.
    pub image: Option<String>,
    /// Output directory.
    pub out: Option<PathBuf>,
    /// Build first.
    pub build: Option<BuildConfig>,
    /// Scan settings.
    #[serde(default)]
    pub scan: ScanConfig,
    /// Signing settings.
    #[serde(default)]
    pub sign: SignConfig,
    /// Verification settings.
    #[serde(default)]
    pub verify: VerifyConfig,
    /// Admission check.
    pub policy: Option<PolicyConfig>,
}

/// `[build]`, as `vouch build`'s flags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// Base image; none is scratch.
    pub from: Option<String>,
    /// `SRC:DEST` entries.
    #[serde(default)]
    pub add: Vec<String>,
    /// Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Cmd.
    pub cmd: Option<Vec<String>>,
    /// Environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// User.
    pub user: Option<String>,
    /// Working directory.
    pub workdir: Option<String>,
    /// Platform.
    pub platform: Option<String>,
    /// Provenance builder id.
    pub builder_id: Option<String>,
}

/// `[scan]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Database file.
    pub db: Option<PathBuf>,
    /// OSV files or directories to import into `<out>/vuln.db` first.
    #[serde(default)]
    pub advisories: Vec<PathBuf>,
    /// Threshold.
    pub fail_on: Option<String>,
    /// Count unknown severities.
    #[serde(default)]
    pub fail_on_unknown: bool,
}

/// `[sign]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignConfig {
    /// Private key (cosign key file, PEM, `env://NAME`).
    pub key: Option<String>,
    /// Sign keylessly.
    #[serde(default)]
    pub keyless: bool,
    /// `bundle`, `legacy` or `both`.
    pub signature_format: Option<String>,
    /// A provenance predicate file to attest (a `[build]` makes one).
    pub provenance: Option<PathBuf>,
    /// Keyless: the CA to get certificates from instead of `trust_config`'s (`vouch sign
    /// --fulcio-url`); the certificate is still checked against its trusted root.
    pub fulcio_url: Option<String>,
    /// Key signing: the Rekor v1 log key signatures are uploaded to (`vouch sign --key
    /// --rekor-url`); else the logs `trust_config` selects. Verification then needs the log's
    /// key: `[verify] trusted_root` (or `trust_config`'s).
    pub rekor_url: Option<String>,
    /// Trust config (instance `trust_config.json`): keyless, the CA, logs and TSAs; with a
    /// key, the logs and TSAs key signatures go to (as `vouch sign --key --trust-config`).
    pub trust_config: Option<PathBuf>,
    /// Keyless: OIDC identity token file (else `$SIGSTORE_ID_TOKEN`, or the GitHub
    /// Actions token service).
    pub identity_token: Option<PathBuf>,
}

/// `[verify]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// Public key.
    pub key: Option<String>,
    /// Exact identity.
    pub certificate_identity: Option<String>,
    /// Identity regexp.
    pub certificate_identity_regexp: Option<String>,
    /// Exact issuer.
    pub certificate_oidc_issuer: Option<String>,
    /// Issuer regexp.
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// `trusted_root.json`.
    pub trusted_root: Option<PathBuf>,
}

/// `[policy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Kyverno policy files.
    #[serde(default)]
    pub policies: Vec<PathBuf>,
    /// Resource files.
    #[serde(default)]
    pub resources: Vec<PathBuf>,
    /// `trusted_root.json` for keyless attestors (default: `[verify].trusted_root`).
    pub trusted_root: Option<PathBuf>,
}

impl Config {
    /// Reads `path`, resolving relative paths against its directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut c = Self::parse(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new(""));
        c.rebase(base);
        Ok(c)
    }

    /// Parses TOML text.
    pub fn parse(text: &str, name: &str) -> Result<Self> {
        // Unknown keys are refused (`deny_unknown_fields`); how `[sign]` URLs combine with
        // keyless or key signing is checked where the mode is known (`vouch pipeline`).
        toml::from_str(text).map_err(|e| Error::config(name, e))
    }

    fn rebase(&mut self, base: &Path) {
        if base.as_os_str().is_empty() {
            return;
        }
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let fix_str = |s: &mut String| {
            // Key references (`env://`, `file://`) and locations keep their scheme.
            if !s.contains("://") && Path::new(s.as_str()).is_relative() {
                *s = base.join(&*s).display().to_string();
            }
        };
        if let Some(o) = &mut self.out {
            fix(o);
        }
        if let Some(d) = &mut self.scan.db {
            fix(d);
        }
        self.scan.advisories.iter_mut().for_each(fix);
        if let Some(k) = &mut self.sign.key {
            fix_str(k);
        }
        if let Some(p) = &mut self.sign.provenance {
            fix(p);
        }
        if let Some(p) = &mut self.sign.trust_config {
            fix(p);
        }
        if let Some(p) = &mut self.sign.identity_token {
            fix(p);
        }
        if let Some(k) = &mut self.verify.key {
            fix_str(k);
        }
        if let Some(p) = &mut self.verify.trusted_root {
            fix(p);
        }
        if let Some(p) = &mut self.policy {
            p.policies.iter_mut().for_each(fix);
            p.resources.iter_mut().for_each(fix);
            if let Some(t) = &mut p.trusted_root {
                fix(t);
            }
        }
        if let Some(b) = &mut self.build {
            for a in &mut b.add {
                if let Some((src, dest)) = a.rsplit_once(':')
                    && Path::new(src).is_relative()
                {
                    *a = format!("{}:{dest}", base.join(src).display());
                }
            }
            if let Some(from) = &mut b.from
                && let Some(rest) = from.strip_prefix("oci:")
                && Path::new(rest).is_relative()
            {
                *from = format!("oci:{}", base.join(rest).display());
            }
        }
        if let Some(image) = &mut self.image
            && let Some(rest) = image.strip_prefix("oci:")
            && Path::new(rest).is_relative()
        {
            *image = format!("oci:{}", base.join(rest).display());
        }
    }
}

/// `low` … `critical` as a severity.
pub fn parse_severity(s: &str) -> Result<vouch_vuln::Severity> {
    use vouch_vuln::Severity;
    match s.to_ascii_lowercase().as_str() {
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        "critical" => Ok(Severity::Critical),
        other => Err(Error::config(
            "fail_on",
            format!("{other:?}: expected low, medium, high or critical"),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_rebases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vouch.toml");
        std::fs::write(
            &path,
            r#"
image = "oci:out/layout:v1"
out = "vouch-out"
[build]
add = ["app:/app"]
cmd = ["/app/run"]
env = { A = "b" }
[scan]
fail_on = "high"
advisories = ["osv"]
[sign]
key = "env://KEY"
[verify]
key = "cosign.pub"
[policy]
policies = ["p.yaml"]
resources = ["r.yaml"]
"#,
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.out.unwrap(), dir.path().join("vouch-out"));
        assert_eq!(
            c.image.unwrap(),
            format!("oci:{}", dir.path().join("out/layout:v1").display())
        );
        assert_eq!(c.sign.key.unwrap(), "env://KEY");
        assert_eq!(
            c.verify.key.unwrap(),
            dir.path().join("cosign.pub").display().to_string()
        );
        assert_eq!(
            c.build.unwrap().add,
            [format!("{}:/app", dir.path().join("app").display())]
        );
        assert_eq!(
            parse_severity(c.scan.fail_on.as_deref().unwrap()).unwrap(),
            vouch_vuln::Severity::High
        );
        assert!(matches!(
            Config::parse("imagee = 1", "x"),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn sign_urls_parse_and_unknown_keys_are_refused() {
        let c = Config::parse(
            "[sign]\nkey = \"k\"\nrekor_url = \"https://log.example\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.sign.rekor_url.as_deref(), Some("https://log.example"));
        let c = Config::parse(
            "[sign]\nkeyless = true\nfulcio_url = \"https://ca.example\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.sign.fulcio_url.as_deref(), Some("https://ca.example"));
        let err = Config::parse("[sign]\nrekor_urls = \"https://log.example\"\n", "x")
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("rekor_urls"), "{err}");
        let c = Config::parse("[sign]\nkeyless = true\ntrust_config = \"tc.json\"\n", "x").unwrap();
        assert_eq!(c.sign.trust_config.unwrap(), PathBuf::from("tc.json"));
    }
}
