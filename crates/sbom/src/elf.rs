//! Just enough ELF to find a section by name and read it (System V gABI, "Sections"):
//! the file header, the section header table and the section-name string table, for
//! 32- and 64-bit files of either byte order. Reads are positioned, so a 100 MB binary
//! costs a few kilobytes of I/O, and every size is checked against the file's length
//! before anything is allocated.

use std::io::{self, Read, Seek, SeekFrom};

/// A section header.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) kind: u32,
    pub(crate) addr: u64,
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

/// An ELF file's section table.
#[derive(Debug, Clone)]
pub(crate) struct Elf {
    pub(crate) sections: Vec<Section>,
    len: u64,
}

const SHT_NOBITS: u32 = 8;
/// More sections than any real binary has (Linux binaries have under a hundred).
const MAX_SECTIONS: u64 = 65_535;

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

impl Elf {
    /// Parses the section table; an error for files that are not ELF or are truncated.
    pub(crate) fn parse<R: Read + Seek>(mut r: R) -> io::Result<Self> {
        let len = r.seek(SeekFrom::End(0))?;
        r.seek(SeekFrom::Start(0))?;
        let mut h = [0u8; 64];
        let n = read_up_to(&mut r, &mut h)?;
        if n < 52 || &h[..4] != b"\x7fELF" {
            return Err(bad("not an ELF file"));
        }
        let is64 = match h[4] {
            1 => false,
            2 => true,
            _ => return Err(bad("bad ELF class")),
        };
        let big_endian = match h[5] {
            1 => false,
            2 => true,
            _ => return Err(bad("bad ELF byte order")),
        };
        if is64 && n < 64 {
            return Err(bad("truncated ELF header"));
        }
        let rd = Rd { big_endian };
        let (shoff, shentsize, shnum, shstrndx) = if is64 {
            (
                rd.u64(&h[0x28..]),
                u64::from(rd.u16(&h[0x3a..])),
                u64::from(rd.u16(&h[0x3c..])),
                u64::from(rd.u16(&h[0x3e..])),
            )
        } else {
            (
                u64::from(rd.u32(&h[0x20..])),
                u64::from(rd.u16(&h[0x2e..])),
                u64::from(rd.u16(&h[0x30..])),
                u64::from(rd.u16(&h[0x32..])),
            )
        };
        let min_ent = if is64 { 64 } else { 40 };
        if shnum == 0 || shoff == 0 {
            return Ok(Self {
                sections: Vec::new(),
                len,
            });
        }
        if shentsize < min_ent
            || shnum > MAX_SECTIONS
            || shoff
                .checked_add(shentsize * shnum)
                .is_none_or(|end| end > len)
        {
            return Err(bad("section header table outside the file"));
        }
        let mut table = vec![0u8; (shentsize * shnum) as usize];
        r.seek(SeekFrom::Start(shoff))?;
        r.read_exact(&mut table)?;
        let mut raw = Vec::with_capacity(shnum as usize);
        for i in 0..shnum as usize {
            let e = &table[i * shentsize as usize..];
            let s = if is64 {
                (
                    rd.u32(e),
                    rd.u32(&e[4..]),
                    rd.u64(&e[0x10..]),
                    rd.u64(&e[0x18..]),
                    rd.u64(&e[0x20..]),
                )
            } else {
                (
                    rd.u32(e),
                    rd.u32(&e[4..]),
                    u64::from(rd.u32(&e[0x0c..])),
                    u64::from(rd.u32(&e[0x10..])),
                    u64::from(rd.u32(&e[0x14..])),
                )
            };
            raw.push(s);
        }
        let names = match raw.get(shstrndx as usize) {
            Some(&(_, _, _, off, size))
                if off.checked_add(size).is_some_and(|e| e <= len) && size < (16 << 20) =>
            {
                let mut b = vec![0u8; size as usize];
                r.seek(SeekFrom::Start(off))?;
                r.read_exact(&mut b)?;
                b
            }
            _ => Vec::new(),
        };
        let sections = raw
            .into_iter()
            .map(|(name_off, kind, addr, offset, size)| {
                let name = names
                    .get(name_off as usize..)
                    .map(|s| {
                        String::from_utf8_lossy(
                            &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())],
                        )
                        .into_owned()
                    })
                    .unwrap_or_default();
                Section {
                    name,
                    kind,
                    addr,
                    offset,
                    size,
                }
            })
            .collect();
        Ok(Self { sections, len })
    }

    /// The named section's header.
    pub(crate) fn find(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Reads the named section (at most `limit` bytes); `None` if there is none.
    pub(crate) fn section<R: Read + Seek>(
        &self,
        mut r: R,
        name: &str,
        limit: u64,
    ) -> io::Result<Option<Vec<u8>>> {
        let Some(s) = self.find(name) else {
            return Ok(None);
        };
        if s.kind == SHT_NOBITS {
            return Ok(None);
        }
        if s.offset.checked_add(s.size).is_none_or(|e| e > self.len) {
            return Err(bad("section outside the file"));
        }
        if s.size > limit {
            return Err(bad("section larger than the read limit"));
        }
        let mut b = vec![0u8; s.size as usize];
        r.seek(SeekFrom::Start(s.offset))?;
        r.read_exact(&mut b)?;
        Ok(Some(b))
    }

    /// Reads `n` bytes at virtual address `addr`, from whichever section maps it.
    pub(crate) fn read_at_addr<R: Read + Seek>(
        &self,
        mut r: R,
        addr: u64,
        n: u64,
    ) -> io::Result<Vec<u8>> {
        let s = self
            .sections
            .iter()
            .find(|s| {
                s.kind != SHT_NOBITS
                    && s.addr != 0
                    && addr >= s.addr
                    && addr.checked_add(n).is_some_and(|e| e <= s.addr + s.size)
            })
            .ok_or_else(|| bad("address not mapped by any section"))?;
        let off = s.offset + (addr - s.addr);
        if off.checked_add(n).is_none_or(|e| e > self.len) || n > (64 << 20) {
            return Err(bad("read outside the file"));
        }
        let mut b = vec![0u8; n as usize];
        r.seek(SeekFrom::Start(off))?;
        r.read_exact(&mut b)?;
        Ok(b)
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Integer reads in the file's byte order.
#[derive(Clone, Copy)]
pub(crate) struct Rd {
    pub(crate) big_endian: bool,
}

impl Rd {
    pub(crate) fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    pub(crate) fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
    pub(crate) fn u64(self, b: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        if self.big_endian {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        }
    }
    /// A pointer of `size` bytes (4 or 8).
    pub(crate) fn ptr(self, b: &[u8], size: usize) -> u64 {
        if size == 8 {
            self.u64(b)
        } else {
            u64::from(self.u32(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_junk() {
        assert!(Elf::parse(io::Cursor::new(b"#!/bin/sh\necho hi\n".to_vec())).is_err());
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[0x28..0x30].copy_from_slice(&1_000_000u64.to_le_bytes());
        h[0x3a] = 64;
        h[0x3c] = 3;
        assert!(Elf::parse(io::Cursor::new(h)).is_err());
    }
}
