//! .NET assemblies on disk (`*.dll`, `*.exe`): the assembly's name and version from the
//! PE version resource, as syft's `dotnet-portable-executable-cataloger` reads them
//! (syft/pkg/cataloger/dotnet/package.go `newDotnetBinaryPackage`; the PE reading is
//! syft/pkg/cataloger/internal/dotnet/pe/pe.go).
//!
//! Only managed assemblies count: the PE must have a CLR header (the COM descriptor data
//! directory, ECMA-335 §II.25.3.3) naming a runtime version, or a `CLRDEBUGINFO` resource.
//! The version resource is `VS_VERSIONINFO` (Win32 `VERSIONINFO`): its `StringFileInfo`
//! string table gives `ProductName`, `FileDescription`, `ProductVersion`, `FileVersion`, ….
//! An assembly that a `*.deps.json` beside it lists belongs to that manifest's packages
//! (the deps.json cataloger), as syft attaches such files to them.
//! purl: `pkg:nuget/NAME@VERSION`.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use super::{Cataloger, Cx, Want, base, dir, ends_with_ci};
use crate::model::{Package, PackageType};

/// The cataloger.
pub(crate) struct DotnetPe;

/// Largest resource section read (version resources are a few kilobytes).
const MAX_RESOURCES: u32 = 16 << 20;
/// Most resource directory entries visited, against crafted loops and fan-outs.
const MAX_ENTRIES: usize = 4096;

impl Cataloger for DotnetPe {
    fn name(&self) -> &'static str {
        "dotnet-portable-executable-cataloger"
    }

    fn wants(&self, path: &str) -> Want {
        Want::catalog_if(ends_with_ci(path, ".dll") || ends_with_ci(path, ".exe"))
    }

    fn catalog(&self, cx: &mut Cx<'_>, found: &[String]) {
        for path in found {
            if listed_by_deps_json(cx, path) {
                continue;
            }
            let Some(f) = cx.open(path) else {
                cx.warn(path, "not readable (its contents were not kept)");
                continue;
            };
            let info = match read_pe(f) {
                Ok(Some(info)) => info,
                // Not a PE, or a native one: not an assembly.
                Ok(None) => continue,
                Err(e) => {
                    cx.warn(path, format!("PE file: {e}"));
                    continue;
                }
            };
            if !info.clr {
                continue;
            }
            let mut name = find_name(&info.strings);
            if name.is_empty() {
                // Older runtime assemblies may have no version resource.
                let b = base(path);
                name = b
                    .strip_suffix(".exe")
                    .or_else(|| b.strip_suffix(".dll"))
                    .unwrap_or(b)
                    .to_owned();
            }
            let version = find_version(&info.strings);
            let mut p = Package::new(PackageType::Dotnet, &name, &version);
            p.locations.push(cx.location(path));
            p.purl = crate::purl::build("nuget", None, &name, &version, &[]);
            // syft's DotnetPortableExecutableEntry: ProductName and CompanyName, trimmed
            // (dotnet/package.go `cleanVersionResourceField`); no company, no CPE.
            let field = |k: &str| info.strings.get(k).map_or("", |v| v.trim());
            p.cpes = crate::cpe::dotnet(
                &name,
                &version,
                &[field("ProductName")],
                &[field("CompanyName")],
            );
            cx.add_with_cpes(p);
        }
    }
}

/// Whether a `*.deps.json` in the same directory names this file.
fn listed_by_deps_json(cx: &mut Cx<'_>, path: &str) -> bool {
    let file = base(path);
    let siblings: Vec<String> = cx
        .children(dir(path))
        .into_iter()
        .filter(|p| p.ends_with(".deps.json"))
        .collect();
    siblings.iter().any(|deps| {
        cx.read_optional(deps).is_some_and(|b| {
            let text = super::text(&b);
            text.contains(&format!("\"{file}\"")) || text.contains(&format!("/{file}\""))
        })
    })
}

/// What vouch reads of a PE file.
#[derive(Debug, Default)]
pub(crate) struct PeInfo {
    /// A CLR header with a runtime version, or a `CLRDEBUGINFO` resource.
    pub(crate) clr: bool,
    /// The version resource's strings.
    pub(crate) strings: BTreeMap<String, String>,
}

struct Section {
    va: u32,
    size: u32,
    raw_ptr: u32,
    raw_size: u32,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn read_at<R: Read + Seek>(r: &mut R, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    r.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut buf = vec![0; len];
    r.read_exact(&mut buf)
        .map_err(|e| format!("{len} bytes at {offset}: {e}"))?;
    Ok(buf)
}

/// Reads the PE headers, the CLR header and the version resource. `Ok(None)` when the
/// file is not a PE image at all.
pub(crate) fn read_pe<R: Read + Seek>(mut r: R) -> Result<Option<PeInfo>, String> {
    let mut dos = [0u8; 64];
    if r.read_exact(&mut dos).is_err() || &dos[..2] != b"MZ" {
        return Ok(None);
    }
    let pe_off = u64::from(u32_at(&dos, 0x3c).unwrap_or(0));
    // Signature, COFF header (20 bytes), then the optional header.
    let Ok(head) = read_at(&mut r, pe_off, 24) else {
        return Ok(None);
    };
    if &head[..4] != b"PE\0\0" {
        return Ok(None);
    }
    let sections_n = usize::from(u16_at(&head, 6).unwrap_or(0));
    let opt_size = usize::from(u16_at(&head, 20).unwrap_or(0));
    let opt = read_at(&mut r, pe_off + 24, opt_size)?;
    // PE32 and PE32+ differ in where the data directories start (PE format, "Optional
    // Header Data Directories").
    let (count_at, dirs_at) = match u16_at(&opt, 0) {
        Some(0x10b) => (92, 96),
        Some(0x20b) => (108, 112),
        Some(m) => return Err(format!("unknown optional header magic {m:#x}")),
        None => return Err("no optional header".into()),
    };
    let dir_count = u32_at(&opt, count_at).unwrap_or(0) as usize;
    let directory = |i: usize| -> Option<(u32, u32)> {
        if i >= dir_count {
            return None;
        }
        let rva = u32_at(&opt, dirs_at + i * 8)?;
        let size = u32_at(&opt, dirs_at + i * 8 + 4)?;
        (rva != 0 && size != 0).then_some((rva, size))
    };
    let table = read_at(&mut r, pe_off + 24 + opt_size as u64, sections_n * 40)?;
    let sections: Vec<Section> = (0..sections_n)
        .filter_map(|i| {
            let s = &table[i * 40..i * 40 + 40];
            Some(Section {
                size: u32_at(s, 8)?,
                va: u32_at(s, 12)?,
                raw_size: u32_at(s, 16)?,
                raw_ptr: u32_at(s, 20)?,
            })
        })
        .collect();
    let to_offset = |rva: u32| -> Option<u64> {
        sections.iter().find_map(|s| {
            let span = s.size.max(s.raw_size);
            (rva >= s.va && rva - s.va < span).then(|| u64::from(s.raw_ptr) + u64::from(rva - s.va))
        })
    };
    let mut info = PeInfo::default();
    // IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR (14): IMAGE_COR20_HEADER, cb then the runtime's
    // major and minor version.
    if let Some((rva, _)) = directory(14)
        && let Some(off) = to_offset(rva)
        && let Ok(cor) = read_at(&mut r, off, 8)
    {
        info.clr = u16_at(&cor, 4).unwrap_or(0) != 0 && u16_at(&cor, 6).unwrap_or(0) != 0;
    }
    // IMAGE_DIRECTORY_ENTRY_RESOURCE (2).
    if let Some((rva, size)) = directory(2) {
        if size > MAX_RESOURCES {
            return Err(format!("resource section of {size} bytes"));
        }
        let off = to_offset(rva).ok_or("resource directory outside every section")?;
        let res = read_at(&mut r, off, size as usize)?;
        let mut walk = ResourceWalk {
            res: &res,
            rva,
            visited: 0,
            strings: &mut info.strings,
            clr_debug: false,
        };
        walk.directory(0, 0, false)?;
        info.clr |= walk.clr_debug;
    }
    Ok(Some(info))
}

struct ResourceWalk<'a> {
    res: &'a [u8],
    /// The resource section's RVA: data entries point at RVAs.
    rva: u32,
    visited: usize,
    strings: &'a mut BTreeMap<String, String>,
    clr_debug: bool,
}

impl ResourceWalk<'_> {
    /// An IMAGE_RESOURCE_DIRECTORY at `off`; `depth` 0 is the type level, where only
    /// RT_VERSION (16) is followed, except that names are looked at for `CLRDEBUGINFO`.
    fn directory(&mut self, off: usize, depth: usize, version: bool) -> Result<(), String> {
        if depth > 3 {
            return Err("resource directories nested too deep".into());
        }
        let named = usize::from(u16_at(self.res, off + 12).ok_or("truncated resource directory")?);
        let ids = usize::from(u16_at(self.res, off + 14).ok_or("truncated resource directory")?);
        for i in 0..named + ids {
            self.visited += 1;
            if self.visited > MAX_ENTRIES {
                return Err("too many resource entries".into());
            }
            let e = off + 16 + i * 8;
            let name = u32_at(self.res, e).ok_or("truncated resource entry")?;
            let data = u32_at(self.res, e + 4).ok_or("truncated resource entry")?;
            if name & 0x8000_0000 != 0 {
                let at = (name & 0x7fff_ffff) as usize;
                if utf16_counted(self.res, at).as_deref() == Some("CLRDEBUGINFO") {
                    self.clr_debug = true;
                }
            }
            let is_version = version || (depth == 0 && name == 16);
            if !is_version {
                continue;
            }
            let target = (data & 0x7fff_ffff) as usize;
            if data & 0x8000_0000 != 0 {
                if target <= off {
                    return Err("resource directory points backwards".into());
                }
                self.directory(target, depth + 1, true)?;
            } else {
                // IMAGE_RESOURCE_DATA_ENTRY: data RVA and size.
                let rva = u32_at(self.res, target).ok_or("truncated resource data entry")?;
                let size = u32_at(self.res, target + 4).ok_or("truncated resource data entry")?;
                let start =
                    rva.checked_sub(self.rva)
                        .ok_or("resource data outside the section")? as usize;
                let bytes = self
                    .res
                    .get(start..start + size as usize)
                    .ok_or("resource data outside the section")?;
                version_info(bytes, self.strings);
            }
        }
        Ok(())
    }
}

/// An IMAGE_RESOURCE_DIR_STRING_U: a length in UTF-16 units, then the units.
fn utf16_counted(b: &[u8], at: usize) -> Option<String> {
    let n = usize::from(u16_at(b, at)?);
    let units: Vec<u16> = (0..n)
        .map(|i| u16_at(b, at + 2 + i * 2))
        .collect::<Option<_>>()?;
    Some(String::from_utf16_lossy(&units))
}

/// One version-resource block (`wLength`, `wValueLength`, `wType`, `szKey`, padding,
/// `Value`, padding, `Children`): its key, value bytes and children, or `None` if malformed.
fn block(b: &[u8], at: usize) -> Option<(String, &[u8], usize, usize)> {
    let len = usize::from(u16_at(b, at)?);
    let value_len = usize::from(u16_at(b, at + 2)?);
    let text = u16_at(b, at + 4)? == 1;
    let end = at.checked_add(len)?;
    if len < 6 || end > b.len() {
        return None;
    }
    let mut p = at + 6;
    let mut key = Vec::new();
    loop {
        let c = u16_at(b, p)?;
        p += 2;
        if c == 0 {
            break;
        }
        key.push(c);
    }
    let align = |x: usize| (x + 3) & !3;
    p = align(p);
    // A text value's length counts UTF-16 units; a binary one's bytes.
    let value_bytes = if text { value_len * 2 } else { value_len };
    let value = b.get(p..(p + value_bytes).min(end))?;
    let children = align(p + value_bytes).min(end);
    Some((String::from_utf16_lossy(&key), value, children, end))
}

/// Collects the strings of `VS_VERSIONINFO` → `StringFileInfo` → string tables.
fn version_info(b: &[u8], out: &mut BTreeMap<String, String>) {
    let Some((key, _, mut child, end)) = block(b, 0) else {
        return;
    };
    if key != "VS_VERSION_INFO" {
        return;
    }
    while child + 6 <= end {
        let Some((k, _, tables, child_end)) = block(b, child) else {
            return;
        };
        if k == "StringFileInfo" {
            let mut t = tables;
            while t + 6 <= child_end {
                let Some((_, _, mut s, table_end)) = block(b, t) else {
                    break;
                };
                while s + 6 <= table_end {
                    let Some((name, value, _, s_end)) = block(b, s) else {
                        break;
                    };
                    let units: Vec<u16> = value
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .take_while(|u| *u != 0)
                        .collect();
                    out.entry(name)
                        .or_insert_with(|| String::from_utf16_lossy(&units));
                    s = (s_end + 3) & !3;
                }
                t = (table_end + 3) & !3;
            }
        }
        child = (child_end + 3) & !3;
    }
}

fn is_microsoft(s: &BTreeMap<String, String>) -> bool {
    ["CompanyName", "ProductName"].iter().any(|k| {
        s.get(*k)
            .is_some_and(|v| v.to_lowercase().contains("microsoft"))
    })
}

/// Trimmed, whitespace runs made one space, control characters dropped (syft's
/// `spaceNormalize`).
fn space_normalise(v: &str) -> String {
    v.split(|c: char| c.is_whitespace() || c == '\u{a0}')
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// syft's `findNameAndRuntimeFromVersionResources`: the first non-empty of ProductName,
/// FileDescription, InternalName, OriginalFilename (FileDescription first for Microsoft's
/// files), without a trailing runtime such as ` (net8.0)`.
fn find_name(s: &BTreeMap<String, String>) -> String {
    let fields: &[&str] = if is_microsoft(s) {
        &[
            "FileDescription",
            "InternalName",
            "OriginalFilename",
            "ProductName",
        ]
    } else {
        &[
            "ProductName",
            "FileDescription",
            "InternalName",
            "OriginalFilename",
        ]
    };
    let name = fields
        .iter()
        .map(|f| space_normalise(s.get(*f).map_or("", String::as_str)))
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    // `\s*\((net[^)]*[0-9]+(\.[0-9]+)?)\)$`
    if let Some(open) = name.rfind(" (")
        && name.ends_with(')')
    {
        let runtime = &name[open + 2..name.len() - 1];
        if runtime.starts_with("net")
            && !runtime.contains(')')
            && runtime.ends_with(|c: char| c.is_ascii_digit())
        {
            return name[..open].trim().to_owned();
        }
    }
    name
}

/// A version as hashicorp/go-version (which syft uses) reads it: numeric segments, an
/// optional pre-release; build metadata is ignored when comparing.
#[derive(Debug, PartialEq, Eq)]
struct GoVersion {
    segments: Vec<u64>,
    pre: String,
}

impl GoVersion {
    fn parse(v: &str) -> Option<Self> {
        let v = v.strip_prefix('v').unwrap_or(v);
        let (core, _meta) = v.split_once('+').unwrap_or((v, ""));
        let num_end = core
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(core.len());
        let (nums, pre) = core.split_at(num_end);
        if nums.is_empty() || nums.starts_with('.') || nums.ends_with('.') || nums.contains("..") {
            return None;
        }
        let segments = nums
            .split('.')
            .map(|n| n.parse().ok())
            .collect::<Option<Vec<u64>>>()?;
        let pre = pre.strip_prefix('-').unwrap_or(pre);
        if !pre
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '~' | '.'))
        {
            return None;
        }
        Some(Self {
            segments,
            pre: pre.to_owned(),
        })
    }

    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let n = self.segments.len().max(other.segments.len());
        for i in 0..n {
            let (a, b) = (
                self.segments.get(i).copied().unwrap_or(0),
                other.segments.get(i).copied().unwrap_or(0),
            );
            if a != b {
                return a.cmp(&b);
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        }
    }
}

/// syft's `extractVersionFromResourcesValue`: the leading words up to the first word
/// without a digit once a digit has been seen.
fn extract_version(v: &str) -> String {
    let mut out = String::new();
    for (i, w) in v.split_whitespace().enumerate() {
        if has_digit(&out) && !has_digit(w) {
            return out;
        }
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn has_digit(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
}

fn punctuation(s: &str) -> usize {
    // `[.,]+` matches.
    s.split(|c: char| c != '.' && c != ',')
        .filter(|p| !p.is_empty())
        .count()
}

/// syft's `findVersionFromVersionResources`.
fn find_version(s: &BTreeMap<String, String>) -> String {
    let get = |k: &str| extract_version(s.get(k).map_or("", String::as_str));
    let (product, file) = (get("ProductVersion"), get("FileVersion"));
    let (pv, fv) = (GoVersion::parse(&product), GoVersion::parse(&file));
    // Microsoft's file version is a build stamp: a product version of the same major.minor
    // with fewer segments wins (`preferShorterMajorMinorMatch`).
    if is_microsoft(s)
        && let (Some(p), Some(f)) = (&pv, &fv)
        && p.segments.len() >= 2
        && f.segments.len() >= 2
        && p.segments[..2] == f.segments[..2]
        && p.segments.len() < f.segments.len()
    {
        return product.split('+').next().unwrap_or(&product).to_owned();
    }
    // `keepGreaterSemanticVersion`.
    match (&pv, &fv) {
        (Some(_), None) => return product,
        (Some(p), Some(f)) => match p.cmp(f) {
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Less => return file,
            std::cmp::Ordering::Greater => return product,
        },
        (None, _) => {}
    }
    let (pd, fd) = (punctuation(&product), punctuation(&file));
    if has_digit(&product) && pd >= fd {
        product
    } else if has_digit(&file) && fd > 0 {
        file
    } else if has_digit(&product) {
        product
    } else if has_digit(&file) {
        file
    } else {
        product
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn names_and_versions_as_syft() {
        let s = strings(&[
            ("ProductName", "Humanizer (netstandard2.0)"),
            ("ProductVersion", "2.14.1+3ebc38de58"),
            ("FileVersion", "2.14.1.48190"),
        ]);
        assert_eq!(find_name(&s), "Humanizer");
        assert_eq!(find_version(&s), "2.14.1.48190");
        let ms = strings(&[
            ("CompanyName", "Microsoft Corporation"),
            ("FileDescription", "System.Text.Json"),
            ("ProductName", "Microsoft® .NET"),
            (
                "ProductVersion",
                "8.0.5+087e15321bb712ef6fe8b0ba6f8bd12facf92629",
            ),
            ("FileVersion", "8.0.524.21615"),
        ]);
        assert_eq!(find_name(&ms), "System.Text.Json");
        assert_eq!(find_version(&ms), "8.0.5");
        let equal = strings(&[("ProductVersion", "3.2.1"), ("FileVersion", "3.2.1.0")]);
        assert_eq!(find_version(&equal), "3.2.1.0");
        assert_eq!(extract_version("1.2.3 built by: x"), "1.2.3");
    }

    #[test]
    fn not_a_pe() {
        assert!(
            read_pe(std::io::Cursor::new(b"\x7fELF...."))
                .unwrap()
                .is_none()
        );
        let mut mz = vec![0u8; 128];
        mz[..2].copy_from_slice(b"MZ");
        mz[0x3c] = 64;
        assert!(read_pe(std::io::Cursor::new(mz)).unwrap().is_none());
    }
}
