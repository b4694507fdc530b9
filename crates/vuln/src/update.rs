//! `vouch db update`: refreshing the store from osv.dev's bucket layout or a mirror of it.
//!
//! osv.dev publishes one archive per ecosystem at `<base>/<ECOSYSTEM>/all.zip`
//! (`gs://osv-vulnerabilities`, served as `https://osv-vulnerabilities.storage.googleapis.com`;
//! osv.dev "Data dumps" documentation), the ecosystem being the OSV name without its release
//! (`Debian`, `Alpine`, `Red Hat`, `PyPI`). A mirror is the same tree on a web server or a
//! local directory. Each archive is imported like `vouch db import` does: one transaction,
//! and a record only replaces the stored copy when its `modified` is newer, so an update
//! rewrites only what changed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::Error;
use crate::import::{ImportOptions, ImportReport, Source};
use crate::store::Database;

/// osv.dev's public bucket.
pub const OSV_BUCKET: &str = "https://osv-vulnerabilities.storage.googleapis.com";

impl Database {
    /// The ecosystems (bucket folder names: the OSV ecosystem without its release) the
    /// database already holds advisories for; what an update without `--ecosystem`
    /// refreshes.
    pub fn ecosystems(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT ecosystem FROM affected")
            .map_err(|e| self.sql(e))?;
        let keys = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e))?;
        let names: BTreeSet<String> = keys
            .iter()
            .map(|k| k.split(':').next().unwrap_or(k).to_owned())
            .collect();
        Ok(names.into_iter().collect())
    }

    /// Imports `<base>/<ecosystem>/all.zip` for each ecosystem, in one transaction. `base`
    /// is an `http(s)` URL or a local directory in the same layout.
    pub fn update(
        &mut self,
        base: &str,
        ecosystems: &[String],
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let sources = update_sources(base, ecosystems)?;
        self.import(&sources, options)
    }
}

/// The `all.zip` source of each ecosystem under `base`.
pub(crate) fn update_sources(base: &str, ecosystems: &[String]) -> Result<Vec<Source>, Error> {
    let is_url = matches!(Source::parse(base), Source::Url(_));
    ecosystems
        .iter()
        .map(|eco| {
            // Ecosystem names are folder names: refuse anything that could leave the tree.
            if eco.is_empty()
                || eco.contains(['/', '\\', '?', '#', ':'])
                || eco == "."
                || eco == ".."
                || eco.chars().any(char::is_control)
            {
                return Err(Error::UnknownSource {
                    path: format!("ecosystem {eco:?} is not an osv.dev bucket folder name"),
                });
            }
            Ok(if is_url {
                let folder: String = eco
                    .bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect();
                Source::Url(format!("{}/{folder}/all.zip", base.trim_end_matches('/')))
            } else {
                Source::Path(PathBuf::from(base).join(eco).join("all.zip"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_paths() {
        let s = update_sources(OSV_BUCKET, &["Red Hat".into(), "PyPI".into()]).expect("ok");
        assert_eq!(
            s,
            [
                Source::Url(format!("{OSV_BUCKET}/Red%20Hat/all.zip")),
                Source::Url(format!("{OSV_BUCKET}/PyPI/all.zip")),
            ]
        );
        assert!(update_sources("/m", &["../etc".into()]).is_err());
        assert_eq!(
            update_sources("/m", &["Debian".into()]).expect("ok"),
            [Source::Path("/m/Debian/all.zip".into())]
        );
    }
}
