//! Go binaries: the module list the linker embeds (`runtime/debug.BuildInfo`).
//!
//! The `.go.buildinfo` ELF section starts with the 14-byte magic `\xff Go buildinf:`, a
//! pointer size and a flags byte (Go's `debug/buildinfo`). With flag bit 2 (Go 1.18 and
//! later) the Go version and the module information follow as varint-length strings;
//! before that, two pointers lead to Go string headers elsewhere in the binary. The module
//! information is text between two 16-byte sentinels: `path`, `mod` (the main module),
//! `dep` and `=>` (a replacement of the previous `dep`) lines, and `build` settings.
//!
//! Packages, as syft makes them: the main module (a `(devel)` version is replaced by the
//! version in `-ldflags -X …version=…` or a pseudo-version from `vcs.revision` and
//! `vcs.time`), every dependency, and `stdlib` at the Go version.

use super::{Cataloger, Cx, Want};
use crate::elf::Rd;
use crate::model::{Package, PackageType};

/// The cataloger.
pub(crate) struct GoBinary;

const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Largest `.go.buildinfo` read (real ones are a few kilobytes).
const MAX_SECTION: u64 = 16 << 20;

impl Cataloger for GoBinary {
    fn name(&self) -> &'static str {
        "go-module-binary-cataloger"
    }

    fn wants(&self, path: &str) -> Want {
        // Windows executables in a Linux image seldom carry an execute bit.
        Want::catalog_if(super::ends_with_ci(path, ".exe"))
    }

    fn wants_executables(&self) -> bool {
        true
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            let Some(elf) = cx.elf(path) else {
                if let Some(info) = macho_or_pe(cx, path) {
                    add_packages(cx, path, &info);
                }
                continue;
            };
            if elf.find(".go.buildinfo").is_none() {
                continue;
            }
            let Some(section) = cx.elf_section(path, &elf, ".go.buildinfo", MAX_SECTION) else {
                continue;
            };
            let info = match read_buildinfo(&section, |addr, n| {
                let f = cx.open(path).ok_or_else(|| "cannot reopen".to_owned())?;
                elf.read_at_addr(f, addr, n).map_err(|e| e.to_string())
            }) {
                Ok(i) => i,
                Err(e) => {
                    cx.warn(path, format!("Go build information: {e}"));
                    continue;
                }
            };
            add_packages(cx, path, &info);
        }
    }
}

/// Build information of a Mach-O or PE executable (Go 1.18 and later). The linker puts
/// the 16-byte aligned build information blob at the start of the data it writes
/// (`__DATA,__go_buildinfo` in Mach-O, the first writable data section in PE), and Go's
/// `debug/buildinfo` finds it by its magic at a 16-byte aligned position; section file
/// offsets in both formats keep that alignment, so the file is searched the same way.
/// Older binaries keep the strings behind pointers, which vouch follows only in ELF.
fn macho_or_pe(cx: &mut Cx<'_>, path: &str) -> Option<BuildInfo> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = cx.open(path)?;
    let mut head = [0u8; 4];
    f.read_exact(&mut head).ok()?;
    let format = match head {
        [0xcf, 0xfa, 0xed, 0xfe] | [0xce, 0xfa, 0xed, 0xfe] => "Mach-O",
        [0xfe, 0xed, 0xfa, 0xcf] | [0xfe, 0xed, 0xfa, 0xce] => "Mach-O",
        [b'M', b'Z', _, _] => "PE",
        _ => return None,
    };
    f.seek(SeekFrom::Start(0)).ok()?;
    let at = find_aligned(&mut f, MAGIC)?;
    f.seek(SeekFrom::Start(at)).ok()?;
    let mut blob = Vec::new();
    f.take(64 * 1024).read_to_end(&mut blob).ok()?;
    match read_buildinfo(&blob, |_, _| {
        Err(format!(
            "pre-Go 1.18 build information in a {format} file is not read"
        ))
    }) {
        Ok(info) => Some(info),
        Err(e) => {
            cx.warn(path, format!("Go build information ({format}): {e}"));
            None
        }
    }
}

/// The first 16-byte aligned offset of `needle` in `r` (read in 1 MiB chunks, at most
/// 1 GiB).
fn find_aligned<R: std::io::Read>(mut r: R, needle: &[u8]) -> Option<u64> {
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK];
    let mut base = 0u64; // file offset of buf[0]
    let mut have = 0usize;
    loop {
        let n = r.read(&mut buf[have..]).ok()?;
        have += n;
        let eof = n == 0;
        let mut i = 0;
        while i + needle.len() <= have {
            if buf[i] == needle[0] && buf[i..i + needle.len()] == *needle {
                return Some(base + i as u64);
            }
            i += 16;
        }
        if eof || base > (1 << 30) {
            return None;
        }
        // Keep the unsearched tail, from an aligned position.
        let keep_from = i.min(have);
        buf.copy_within(keep_from..have, 0);
        base += keep_from as u64;
        have -= keep_from;
    }
}

/// What a Go binary says about how it was built.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct BuildInfo {
    pub(crate) go_version: String,
    pub(crate) path: String,
    pub(crate) main: Option<Module>,
    pub(crate) deps: Vec<Module>,
    pub(crate) settings: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Module {
    pub(crate) path: String,
    pub(crate) version: String,
    pub(crate) sum: String,
}

/// Parses a `.go.buildinfo` section; `read_addr` reads memory for the pre-1.18 layout.
pub(crate) fn read_buildinfo(
    data: &[u8],
    mut read_addr: impl FnMut(u64, u64) -> Result<Vec<u8>, String>,
) -> Result<BuildInfo, String> {
    let start = (0..data.len().saturating_sub(MAGIC.len()))
        .step_by(16)
        .find(|&i| data[i..].starts_with(MAGIC))
        .ok_or("no build information magic")?;
    let d = &data[start..];
    if d.len() < 32 {
        return Err("truncated header".into());
    }
    let ptr_size = d[14] as usize;
    let flags = d[15];
    let (version, modinfo) = if flags & 2 != 0 {
        let (v, rest) = varint_string(&d[32..]).ok_or("truncated Go version")?;
        let (m, _) = varint_string(rest).ok_or("truncated module information")?;
        (v.to_vec(), m.to_vec())
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(format!("pointer size {ptr_size}"));
        }
        let rd = Rd {
            big_endian: flags & 1 != 0,
        };
        let mut go_string = |ptr_at: usize| -> Result<Vec<u8>, String> {
            let addr = rd.ptr(&d[ptr_at..], ptr_size);
            let hdr = read_addr(addr, 2 * ptr_size as u64)?;
            let (sptr, slen) = (rd.ptr(&hdr, ptr_size), rd.ptr(&hdr[ptr_size..], ptr_size));
            if slen > (4 << 20) {
                return Err("string too long".into());
            }
            read_addr(sptr, slen)
        };
        if d.len() < 16 + 2 * ptr_size {
            return Err("truncated header".into());
        }
        (go_string(16)?, go_string(16 + ptr_size)?)
    };
    let mut info = parse_modinfo(&String::from_utf8_lossy(strip_sentinels(&modinfo)));
    info.go_version = String::from_utf8_lossy(&version).into_owned();
    if !info.go_version.starts_with("go") {
        return Err(format!(
            "Go version {:?} does not start with \"go\"",
            info.go_version
        ));
    }
    Ok(info)
}

fn varint_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut n: u64 = 0;
    let mut shift = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let start = i + 1;
            let end = start.checked_add(usize::try_from(n).ok()?)?;
            return (end <= b.len()).then(|| (&b[start..end], &b[end..]));
        }
        shift += 7;
    }
    None
}

fn strip_sentinels(m: &[u8]) -> &[u8] {
    if m.len() >= 33 && m[m.len() - 17] == b'\n' {
        &m[16..m.len() - 16]
    } else {
        m
    }
}

pub(crate) fn parse_modinfo(text: &str) -> BuildInfo {
    let mut info = BuildInfo::default();
    for line in text.lines() {
        let mut f = line.split('\t');
        let kind = f.next().unwrap_or("");
        let m = |f: &mut std::str::Split<'_, char>| Module {
            path: f.next().unwrap_or("").to_owned(),
            version: f.next().unwrap_or("").to_owned(),
            sum: f.next().unwrap_or("").to_owned(),
        };
        match kind {
            "path" => info.path = f.next().unwrap_or("").to_owned(),
            "mod" => info.main = Some(m(&mut f)),
            "dep" => info.deps.push(m(&mut f)),
            "=>" => {
                let r = m(&mut f);
                if let Some(last) = info.deps.last_mut() {
                    *last = r;
                } else if let Some(main) = info.main.as_mut() {
                    *main = r;
                }
            }
            "build" => {
                let s = f.collect::<Vec<_>>().join("\t");
                if let Some((k, v)) = s.split_once('=') {
                    info.settings
                        .push((k.to_owned(), v.trim_matches('"').to_owned()));
                }
            }
            _ => {}
        }
    }
    info
}

/// The main module's version when the toolchain wrote `(devel)`: `-X …version=V` in
/// `-ldflags`, else a pseudo-version from the VCS settings (Go's module.PseudoVersion
/// form `v0.0.0-YYYYMMDDHHMMSS-REV12`).
pub(crate) fn main_version(info: &BuildInfo) -> Option<String> {
    let setting = |k: &str| {
        info.settings
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    };
    if let Some(ld) = setting("-ldflags") {
        let words: Vec<&str> = ld.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let arg = match *w {
                "-X" => words.get(i + 1).copied(),
                w if w.starts_with("-X=") => Some(&w[3..]),
                _ => None,
            };
            let Some((key, value)) = arg.and_then(|a| a.split_once('=')) else {
                continue;
            };
            let var = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
            let value = value.trim_matches(|c| c == '\'' || c == '"');
            if (var.contains("version") || var == "tag" || var == "gittag" || var == "release")
                && looks_semver(value)
            {
                return Some(if value.starts_with('v') {
                    value.to_owned()
                } else {
                    format!("v{value}")
                });
            }
        }
    }
    let (rev, time) = (setting("vcs.revision")?, setting("vcs.time")?);
    let stamp: String = time.chars().filter(char::is_ascii_digit).take(14).collect();
    if stamp.len() != 14 || rev.len() < 12 {
        return None;
    }
    Some(format!("v0.0.0-{stamp}-{}", &rev[..12]))
}

/// The first version string in a binary's bytes that sits between a NUL (or a byte that
/// is not ASCII) and a NUL, optionally after a one-byte prefix and `L`: the strings Go's
/// linker lays out for `-X` variables look like this. It is a guess (syft's
/// `extractVersionFromContents`, which can be wrong), used only when the build
/// information names no version.
pub(crate) fn version_from_contents<R: std::io::Read>(mut r: R) -> Option<String> {
    const CHUNK: usize = 1 << 20;
    const KEEP: usize = 256;
    let mut buf = vec![0u8; CHUNK + KEEP];
    let mut have = 0usize;
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf[have..]).ok()?;
        let eof = n == 0;
        have += n;
        total += n as u64;
        if total > (1 << 30) {
            return None;
        }
        // Only positions whose match cannot run past the buffer are decided now.
        let decided = if eof { have } else { have.saturating_sub(KEEP) };
        let mut i = 0;
        while i < decided {
            // 64 positions at a time, without a branch per byte: the bytes that can start
            // a match are rare, and testing each byte in turn mispredicted on most of a
            // binary's NULs. The candidates are then checked in order, exactly as below.
            if i + 64 <= decided && i + 67 <= have {
                if any_candidate(&buf[i..i + 67]) {
                    for k in i..i + 64 {
                        // version_at's own first test, inline: most positions fail it.
                        if !(delimits(buf[k])
                            && (starts_version(buf[k + 1])
                                || (buf[k + 2] == b'L' && starts_version(buf[k + 3]))))
                        {
                            continue;
                        }
                        if let Some(v) = version_at(&buf[..have], k) {
                            return Some(v);
                        }
                    }
                }
                i += 64;
            } else {
                if let Some(v) = version_at(&buf[..have], i) {
                    return Some(v);
                }
                i += 1;
            }
        }
        if eof {
            return None;
        }
        buf.copy_within(decided..have, 0);
        have -= decided;
    }
}

/// Whether a byte can precede a version (NUL or not ASCII) and whether one can start it.
fn delimits(b: u8) -> bool {
    b == 0 || b >= 0x80
}
fn starts_version(b: u8) -> bool {
    b == b'v' || b.is_ascii_digit()
}

/// Whether any of the 64 positions of `w` (67 bytes: the positions and the 3 bytes a test
/// looks ahead) passes the cheap test of [`version_at`]. Non-short-circuit operators and
/// an OR of bytes keep the loop free of branches, so it compiles to vector compares.
fn any_candidate(w: &[u8]) -> bool {
    let w: &[u8; 67] = match w.try_into() {
        Ok(w) => w,
        Err(_) => return true,
    };
    let mut any = 0u8;
    for k in 0..64 {
        let hit = delimits(w[k])
            & (starts_version(w[k + 1]) | ((w[k + 2] == b'L') & starts_version(w[k + 3])));
        any |= u8::from(hit);
    }
    any != 0
}

/// The version whose delimiter is at `i` of `buf` (the bytes read so far), if any.
fn version_at(buf: &[u8], i: usize) -> Option<String> {
    let have = buf.len();
    if !delimits(buf[i]) {
        return None;
    }
    let j = i + 1;
    // Cheap test first: a version starts with `v` or a digit.
    let starts = |k: usize| k < have && starts_version(buf[k]);
    if !(starts(j) || (starts(j + 2) && buf.get(j + 1) == Some(&b'L'))) {
        return None;
    }
    if buf.get(j + 1) == Some(&b'L')
        && j + 2 <= have
        && let Some(v) = semver_then_nul(&buf[j + 2..have])
    {
        return Some(v);
    }
    if j <= have {
        return semver_then_nul(&buf[j..have]);
    }
    None
}

/// `v?D+.D+.D+[-\w]*[+\w]*` followed by NUL at the start of `b`.
fn semver_then_nul(b: &[u8]) -> Option<String> {
    let mut i = usize::from(b.first() == Some(&b'v'));
    for part in 0..3 {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        if part < 2 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    while b.get(i).is_some_and(|c| word(c) || *c == b'-') {
        i += 1;
    }
    while b.get(i).is_some_and(|c| word(c) || *c == b'+') {
        i += 1;
    }
    (b.get(i) == Some(&0)).then(|| String::from_utf8_lossy(&b[..i]).into_owned())
}

fn looks_semver(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut parts = v.splitn(3, '.');
    let num =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()));
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    num(a) && num(b) && c.is_some_and(|c| c.starts_with(|ch: char| ch.is_ascii_digit()))
}

/// `pkg:golang/<module path up to the last slash>/<last element>@<version>`: the module
/// path is the purl's namespace and name, slashes unescaped, so major-version suffixes stay
/// part of the identity (`pkg:golang/github.com/cli/cli/v2@v2.63.0`; purl-spec golang
/// definition and issue 63, current syft). syft 1.18 split after the third element and
/// moved the rest to a subpath (`…/cli/cli@v2.63.0#v2`), which names a different module.
pub(crate) fn purl(path: &str, version: &str) -> Option<String> {
    let (ns, name) = match path.rsplit_once('/') {
        Some((ns, n)) if !n.is_empty() => (Some(ns), n),
        _ => (None, path),
    };
    crate::purl::build("golang", ns, name, version, &[])
}

/// The repository root of a GOPATH import path, split as a purl wants it:
/// (`host/owner`, `repo`, the package's path inside the repository).
///
/// A binary built outside module mode names only its main package
/// (`github.com/docker/distribution/cmd/registry`); the versioned unit is the repository
/// the package lives in. For the code hosts whose root the go command knows by pattern
/// (`go help importpath`: `github.com/user/project`, `bitbucket.org/user/project`, and
/// the `golang.org/x/…` repositories) that root is the first three elements, and the purl
/// spec's golang definition puts a package inside the module in the subpath
/// (`pkg:golang/github.com/docker/distribution@v2.8.2+ds1#cmd/registry`), which is what
/// vulnerability databases key Go advisories by. Other hosts have no rule without a network
/// lookup; the whole path stays the purl's name (as syft writes every Go purl since 1.47).
fn gopath_repo(import: &str) -> Option<(&str, &str, &str)> {
    let mut parts = import.splitn(4, '/');
    let (host, owner, repo, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let known = matches!(host, "github.com" | "bitbucket.org" | "gitlab.com")
        || (host == "golang.org" && owner == "x");
    if !known {
        return None;
    }
    if owner.is_empty() || repo.is_empty() || rest.is_empty() {
        return None;
    }
    // A major-version directory (`/v2`) is part of the module path, not a package: such a
    // path is not one the GOPATH rule covers.
    if rest.split('/').next().is_some_and(|e| {
        e.strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }) {
        return None;
    }
    Some((&import[..host.len() + 1 + owner.len()], repo, rest))
}

fn add_packages(cx: &mut Cx<'_>, path: &str, info: &BuildInfo) {
    let location = cx.location(path);
    let mut main_id = None;
    // Binaries built outside module mode (GOPATH, as Debian builds them) have no `mod`
    // line. As syft's `createMainModuleFromPath` (parse_go_binary.go): a single dependency
    // at `(devel)` is the main module; otherwise the main package's import path stands in.
    let mut deps: Vec<&Module> = info.deps.iter().collect();
    let gopath_main = if info.main.is_none() && info.path != "command-line-arguments" {
        let devel: Vec<usize> = (0..deps.len())
            .filter(|i| deps[*i].version == "(devel)")
            .collect();
        if let [i] = devel[..] {
            Some(deps.remove(i).clone())
        } else {
            (!info.path.is_empty()).then(|| Module {
                path: info.path.clone(),
                version: "(devel)".into(),
                sum: String::new(),
            })
        }
    } else {
        None
    };
    let path_only = gopath_main
        .as_ref()
        .is_some_and(|m| m.path == info.path && !info.path.is_empty());
    if let Some(main) = info
        .main
        .as_ref()
        .or(gopath_main.as_ref())
        .filter(|m| !m.path.is_empty())
    {
        let version = if main.version == "(devel)" || main.version.is_empty() {
            main_version(info)
                .or_else(|| {
                    // syft's "from contents" fallback: a NUL-delimited semver in the binary.
                    let f = cx.open(path)?;
                    version_from_contents(std::io::BufReader::with_capacity(1 << 20, f)).map(|v| {
                        if v.starts_with('v') {
                            v
                        } else {
                            format!("v{v}")
                        }
                    })
                })
                .unwrap_or_else(|| main.version.clone())
        } else {
            main.version.clone()
        };
        let mut p = Package::new(PackageType::GoModule, &main.path, &version);
        p.locations.push(location.clone());
        match gopath_repo(&main.path).filter(|_| path_only) {
            Some((owner_ns, repo, subpath)) => {
                p.purl = crate::purl::build_with_subpath(
                    "golang",
                    Some(owner_ns),
                    repo,
                    &version,
                    &[],
                    Some(subpath),
                );
                let owner = owner_ns.rsplit('/').next().unwrap_or(owner_ns);
                p.cpes = vec![crate::cpe::format(owner, repo, &version)];
            }
            None => p.purl = purl(&main.path, &version),
        }
        main_id = Some(cx.add(p));
    }
    for dep in deps {
        if dep.path.is_empty() || dep.version.is_empty() {
            continue;
        }
        let mut p = Package::new(PackageType::GoModule, &dep.path, &dep.version);
        p.locations.push(location.clone());
        p.purl = purl(&dep.path, &dep.version);
        let id = cx.add(p);
        if let Some(m) = &main_id {
            cx.depends(m, &id);
        }
    }
    // The standard library, linked into every Go binary.
    let go = info.go_version.split_whitespace().next().unwrap_or("");
    if go.starts_with("go1") {
        let mut p = Package::new(PackageType::GoModule, "stdlib", go);
        p.locations.push(location);
        p.purl = crate::purl::build("golang", None, "stdlib", go.trim_start_matches("go"), &[]);
        p.licenses = vec!["BSD-3-Clause".into()];
        p.cpes = crate::cpe::go_stdlib(go).into_iter().collect();
        let id = cx.add(p);
        if let Some(m) = &main_id {
            cx.depends(m, &id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modinfo_and_versions() {
        let text = "path\tgithub.com/x/cmd\nmod\tgithub.com/x\t(devel)\t\ndep\tgolang.org/x/sys\tv0.1.0\th1:abc\ndep\tgithub.com/old\tv1.0.0\th1:x\n=>\tgithub.com/new\tv1.1.0\th1:y\nbuild\t-ldflags=\"-s -X github.com/x/version.Version=2.8.1\"\nbuild\tvcs.revision=0123456789abcdef\nbuild\tvcs.time=2024-01-02T03:04:05Z\n";
        let info = parse_modinfo(text);
        assert_eq!(info.main.as_ref().unwrap().path, "github.com/x");
        assert_eq!(info.deps[1].path, "github.com/new");
        assert_eq!(main_version(&info).as_deref(), Some("v2.8.1"));
        let mut no_ld = parse_modinfo(text);
        no_ld.settings.retain(|(k, _)| k != "-ldflags");
        assert_eq!(
            main_version(&no_ld).as_deref(),
            Some("v0.0.0-20240102030405-0123456789ab")
        );
    }

    #[test]
    fn gopath_repository_roots() {
        assert_eq!(
            gopath_repo("github.com/docker/distribution/cmd/registry"),
            Some(("github.com/docker", "distribution", "cmd/registry"))
        );
        assert_eq!(
            gopath_repo("golang.org/x/tools/cmd/stringer"),
            Some(("golang.org/x", "tools", "cmd/stringer"))
        );
        assert_eq!(gopath_repo("github.com/docker/distribution"), None);
        assert_eq!(gopath_repo("github.com/cli/cli/v2/cmd/gh"), None);
        assert_eq!(gopath_repo("k8s.io/kubernetes/cmd/kubelet"), None);
    }

    #[test]
    fn contents_versions() {
        assert_eq!(
            version_from_contents(&b"abc\x00v2.8.2+ds1\x00zz"[..]).as_deref(),
            Some("v2.8.2+ds1")
        );
        assert_eq!(
            version_from_contents(&b"\x00xL1.2.3\x00"[..]).as_deref(),
            Some("1.2.3")
        );
        assert_eq!(version_from_contents(&b"1.2.3\x00 \x001.2\x00"[..]), None);
    }

    /// Hands out at most `max` bytes per read, so matches straddle the scanner's chunks.
    struct Trickle<'a>(&'a [u8], usize);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = out.len().min(self.1).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// The first position, in order, whose version test passes: what the block scan must
    /// find, wherever the reads and the 64-byte blocks cut the bytes.
    fn first_version(data: &[u8]) -> Option<String> {
        (0..data.len()).find_map(|i| version_at(data, i))
    }

    #[test]
    fn block_scan_finds_the_first_version_as_a_byte_scan_does() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Bytes that make and break versions, so partial matches abound.
        let alphabet = b"\x00\x00\x00\xff\x80vvL1234567890..++--_xa";
        for case in 0..400 {
            let len = (next() % 700) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let want = first_version(&data);
            let max = 1 + (next() % 97) as usize;
            assert_eq!(
                version_from_contents(Trickle(&data, max)),
                want,
                "case {case}: {data:?}"
            );
        }
        // Large inputs without any '.' (so no version) but for one planted near the
        // scanner's 1 MiB chunk edges and 64-byte block edges.
        let filler = b"\x00\x00\xffvL12x";
        for at in [
            0usize,
            63,
            64,
            1 << 20,
            (1 << 20) - 256,
            (1 << 20) - 259,
            (1 << 20) + 61,
            2_200_000,
        ] {
            let mut data: Vec<u8> = (0..2_300_000)
                .map(|_| filler[(next() % filler.len() as u64) as usize])
                .collect();
            let planted = b"\x00v1.22.3-rc1\x00";
            data[at..at + planted.len()].copy_from_slice(planted);
            let want = first_version(&data);
            assert_eq!(want.as_deref(), Some("v1.22.3-rc1"), "planted at {at}");
            for max in [usize::MAX, 4096, 1000] {
                assert_eq!(version_from_contents(Trickle(&data, max)), want, "at {at}");
            }
        }
    }

    #[test]
    fn new_format_section() {
        let mut s = MAGIC.to_vec();
        s.extend([8u8, 2]);
        s.resize(32, 0);
        s.push(8);
        s.extend(b"go1.22.5");
        let m = "path\tx\nmod\tx\tv1.0.0\t\n";
        s.push(m.len() as u8);
        s.extend(m.as_bytes());
        let info = read_buildinfo(&s, |_, _| Err("no".into())).unwrap();
        assert_eq!(info.go_version, "go1.22.5");
        assert_eq!(info.main.unwrap().version, "v1.0.0");
        assert!(read_buildinfo(&s[..20], |_, _| Err("no".into())).is_err());
    }
}
