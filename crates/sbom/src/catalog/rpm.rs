//! RPM: the package databases: SQLite (`rpmdb.sqlite`, RHEL 9, Fedora 33 and later),
//! Berkeley DB (`Packages`, RHEL/CentOS up to 8) and NDB (`Packages.db`, SUSE).
//!
//! Each row of the `Packages` table holds one package's header blob as rpm stores it
//! (the header structure of the RPM file format, without the 8-byte lead): a big-endian
//! index count and data length, then 16-byte index entries (tag, type, offset, count),
//! then the data store. vouch reads the tags it needs: NAME (1000), VERSION (1001),
//! RELEASE (1002), EPOCH (1003), VENDOR (1011), LICENSE (1014), ARCH (1022),
//! SOURCERPM (1044). The Berkeley DB (`Packages`) and NDB (`Packages.db`) databases
//! hold the same header blobs; [`super::rpmdb`] reads them out.
//!
//! Version is `VERSION-RELEASE`, with `EPOCH:` in front when there is an epoch; the purl
//! carries the epoch as a qualifier (syft's form):
//! `pkg:rpm/<distro>/NAME@VERSION-RELEASE?arch=…&epoch=…&upstream=SOURCERPM&distro=…`.

use std::io::Write;

use super::{Cataloger, Cx, Want, base, dir};
use crate::model::{Package, PackageType, SourcePackage, Supplier};

/// The cataloger.
pub(crate) struct Rpm;

/// Most packages read from one database.
const MAX_ROWS: usize = 1_000_000;

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        "rpm-db-cataloger"
    }

    fn wants(&self, path: &str) -> Want {
        let d = dir(path);
        if !(d.ends_with("var/lib/rpm")
            || d.ends_with("usr/share/rpm")
            || d.ends_with("usr/lib/sysimage/rpm"))
        {
            return Want::No;
        }
        match base(path) {
            "rpmdb.sqlite" | "Packages" | "Packages.db" => Want::Catalog,
            _ => Want::No,
        }
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(bytes) = cx.read(path) else { continue };
            let (what, headers) = match base(path) {
                "rpmdb.sqlite" => ("SQLite", read_sqlite(&bytes)),
                "Packages" => ("Berkeley DB", super::rpmdb::read_bdb(&bytes)),
                _ => ("NDB", super::rpmdb::read_ndb(&bytes)),
            };
            let mut headers = match headers {
                Ok(h) => h,
                Err(e) => {
                    cx.warn(path, format!("not a readable rpm {what} database: {e}"));
                    continue;
                }
            };
            headers.truncate(MAX_ROWS);
            let location = cx.location(path);
            for (i, blob) in headers.iter().enumerate() {
                let h = match Header::parse(blob) {
                    Ok(h) => h,
                    Err(e) => {
                        cx.warn(path, format!("package header {}: {e}", i + 1));
                        continue;
                    }
                };
                let (Some(name), Some(ver), Some(rel)) = (
                    h.string(TAG_NAME),
                    h.string(TAG_VERSION),
                    h.string(TAG_RELEASE),
                ) else {
                    cx.warn(
                        path,
                        format!("package header {}: no name, version or release", i + 1),
                    );
                    continue;
                };
                if name == "gpg-pubkey" {
                    continue; // imported signing keys, not software
                }
                let epoch = h.int(TAG_EPOCH);
                let vr = format!("{ver}-{rel}");
                let version = match epoch {
                    Some(e) => format!("{e}:{vr}"),
                    None => vr.clone(),
                };
                let mut p = Package::new(PackageType::Rpm, &name, &version);
                p.arch = h.string(TAG_ARCH);
                let srpm = h.string(TAG_SOURCERPM);
                if let Some(s) = &srpm {
                    let stem = s.trim_end_matches(".src.rpm");
                    // name-version-release: the name is everything before the last two dashes.
                    let src_name = stem.rsplitn(3, '-').nth(2).unwrap_or(stem);
                    p.source = Some(SourcePackage {
                        name: src_name.to_owned(),
                        version: None,
                    });
                }
                p.licenses = h
                    .string(TAG_LICENSE)
                    .and_then(|l| crate::license::normalise(&l))
                    .into_iter()
                    .collect();
                let vendor = h.string(TAG_VENDOR).filter(|v| !v.is_empty());
                p.cpes = crate::cpe::rpm(&name, &version, vendor.as_deref());
                p.supplier = vendor.map(Supplier::Organization);
                p.locations.push(location.clone());
                p.purl = cx.distro.and_then(|d| {
                    let ns = match d.id.as_str() {
                        "rhel" => "redhat".to_owned(),
                        id if id.starts_with("opensuse") => "opensuse".to_owned(),
                        id => id.to_owned(),
                    };
                    let distro = cx.distro_qualifier().unwrap_or_default();
                    let epoch = epoch.map(|e| e.to_string()).unwrap_or_default();
                    crate::purl::build(
                        "rpm",
                        Some(&ns),
                        &name,
                        &vr,
                        &[
                            ("arch", p.arch.as_deref().unwrap_or("")),
                            ("distro", &distro),
                            ("epoch", &epoch),
                            ("upstream", srpm.as_deref().unwrap_or("")),
                        ],
                    )
                });
                cx.add(p);
            }
        }
    }
}

fn read_sqlite(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    // SQLite wants a file; the database is copied to a private temporary one.
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    tmp.write_all(bytes).map_err(|e| e.to_string())?;
    let conn = rusqlite::Connection::open_with_flags(
        tmp.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in rows.take(MAX_ROWS) {
        out.push(r.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// An rpm header: index entries over a data store.
pub(crate) struct Header<'a> {
    entries: Vec<(u32, u32, usize, u32)>,
    data: &'a [u8],
}

impl<'a> Header<'a> {
    pub(crate) fn parse(b: &'a [u8]) -> Result<Self, String> {
        let be = |i: usize| {
            b.get(i..i + 4)
                .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
                .ok_or("truncated header")
        };
        let il = be(0)? as usize;
        let dl = be(4)? as usize;
        let data_start = il
            .checked_mul(16)
            .and_then(|n| n.checked_add(8))
            .ok_or("index count overflows")?;
        if data_start.checked_add(dl).is_none_or(|end| end > b.len()) || il > 100_000 {
            return Err(format!(
                "index ({il} entries) and data ({dl} bytes) exceed the {} byte blob",
                b.len()
            ));
        }
        let mut entries = Vec::with_capacity(il);
        for i in 0..il {
            let o = 8 + i * 16;
            entries.push((be(o)?, be(o + 4)?, be(o + 8)? as usize, be(o + 12)?));
        }
        Ok(Self {
            entries,
            data: &b[data_start..data_start + dl],
        })
    }

    fn entry(&self, tag: u32) -> Option<(u32, usize, u32)> {
        self.entries
            .iter()
            .find(|e| e.0 == tag)
            .map(|e| (e.1, e.2, e.3))
    }

    pub(crate) fn string(&self, tag: u32) -> Option<String> {
        let (ty, off, _) = self.entry(tag)?;
        if ty != TYPE_STRING && ty != TYPE_I18NSTRING {
            return None;
        }
        let s = self.data.get(off..)?;
        let end = s.iter().position(|&c| c == 0)?;
        Some(String::from_utf8_lossy(&s[..end]).into_owned())
    }

    pub(crate) fn int(&self, tag: u32) -> Option<u32> {
        let (ty, off, count) = self.entry(tag)?;
        if ty != TYPE_INT32 || count == 0 {
            return None;
        }
        let s = self.data.get(off..off + 4)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as rpm writes it, built from (tag, type, data) triples.
    pub(crate) fn header(fields: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, d) in fields {
            if *ty == TYPE_INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            index.extend(tag.to_be_bytes());
            index.extend(ty.to_be_bytes());
            index.extend((data.len() as u32).to_be_bytes());
            index.extend(1u32.to_be_bytes());
            data.extend(d);
        }
        let mut out = (fields.len() as u32).to_be_bytes().to_vec();
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    #[test]
    fn header_fields() {
        let s = |v: &str| format!("{v}\0").into_bytes();
        let h = header(&[
            (TAG_NAME, TYPE_STRING, s("bash")),
            (TAG_EPOCH, TYPE_INT32, 1u32.to_be_bytes().to_vec()),
            (TAG_VERSION, TYPE_STRING, s("5.1.8")),
        ]);
        let p = Header::parse(&h).unwrap();
        assert_eq!(p.string(TAG_NAME).as_deref(), Some("bash"));
        assert_eq!(p.int(TAG_EPOCH), Some(1));
        assert_eq!(p.string(TAG_RELEASE), None);
        assert!(Header::parse(&h[..20]).is_err());
        let mut lying = h.clone();
        lying[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Header::parse(&lying).is_err());
    }
}
