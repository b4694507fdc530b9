//! The operating system of a root filesystem, from `os-release` (freedesktop.org
//! `os-release(5)`): `/etc/os-release`, then `/usr/lib/os-release`.
//!
//! For Debian, `/etc/debian_version` gives the point release (`12.11`), which replaces
//! `VERSION_ID=12` as current syft does; scanners reduce it to the major version.

use vouch_oci::Rootfs;

use crate::model::Distro;

/// Files read for detection (their contents are kept while squashing).
pub(crate) const FILES: &[&str] = &["etc/os-release", "usr/lib/os-release", "etc/debian_version"];

/// Detects the distro; `None` when there is no readable os-release.
pub(crate) fn detect(fs: &Rootfs) -> Option<Distro> {
    let text = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| fs.read(p, 1 << 20).ok().flatten())?;
    let mut d = parse_os_release(&String::from_utf8_lossy(&text))?;
    if d.id == "debian"
        && let Ok(Some(v)) = fs.read("etc/debian_version", 4096)
    {
        let v = String::from_utf8_lossy(&v).trim().to_owned();
        let numeric = !v.is_empty()
            && v.split('.').count() <= 2
            && v.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if numeric
            && (d.version_id.is_empty()
                || v.starts_with(&format!("{}.", d.version_id))
                || v == d.version_id)
        {
            d.version_id = v;
        }
    }
    Some(d)
}

/// Parses `KEY=value` lines (values optionally quoted, shell escapes undone).
pub(crate) fn parse_os_release(text: &str) -> Option<Distro> {
    let mut d = Distro::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim() {
            "ID" => d.id = v.to_ascii_lowercase(),
            "ID_LIKE" => d.id_like = v.split_whitespace().map(str::to_owned).collect(),
            "VERSION_ID" => d.version_id = v,
            "VERSION_CODENAME" => d.codename = v,
            "PRETTY_NAME" => d.pretty_name = v,
            _ => {}
        }
    }
    (!d.id.is_empty()).then_some(d)
}

fn unquote(v: &str) -> String {
    let inner = if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut out = String::with_capacity(inner.len());
    let mut esc = false;
    for c in inner.chars() {
        if esc {
            out.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn os_release() {
        let d = super::parse_os_release(
            "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n",
        )
        .unwrap();
        assert_eq!(d.id, "ubuntu");
        assert!(d.is_like("debian"));
        assert_eq!(d.version_id, "22.04");
        assert!(super::parse_os_release("# nothing\n").is_none());
    }
}
