//! The two older rpm package databases, read without Berkeley DB or rpm: both only hold
//! package header blobs, which [`super::rpm`] then parses like the SQLite ones.
//!
//! * Berkeley DB `Packages` (RHEL/CentOS up to 8, older SUSE, Amazon Linux 2): a Berkeley DB
//!   hash database (libdb `dbinc/db_page.h`) keyed by the package's instance number. Page 0
//!   is the hash metadata page (magic `0x061561` at byte 12, page size at 20, last page
//!   number at 32; the magic's byte order is the file's). Hash pages (type 13, or 2 for the
//!   unsorted pages of RHEL 5) hold an index of 2-byte item offsets after the 26-byte page
//!   header, in key/value pairs. Headers are far larger than a page, so Berkeley DB stores
//!   them as `H_OFFPAGE` items (type 3: page number at +4, total length at +8) pointing at
//!   a chain of overflow pages (type 7), each with `hf_offset` bytes of data after its header
//!   and the next page number at byte 16. As in syft's reader (`knqyf263/go-rpmdb`
//!   `pkg/bdb`), only off-page values are headers: the small in-page values are rpm's own
//!   bookkeeping (instance number 0 holds the next free instance).
//! * NDB `Packages.db` (SUSE since SLE 15 SP3 / openSUSE): rpm's own format
//!   (`lib/backend/ndb/rpmpkg.c`): a 32-byte header (`RpmP`, version 0, generation, number
//!   of 4 KiB slot pages), then slots of 16 bytes (`Slot`, package index, block offset,
//!   block count; index 0 is a free slot; the header takes the first two slots), and at
//!   each used slot's offset (in 16-byte blocks) a blob: `BlbS`, package index, generation,
//!   length, the header blob itself and a 12-byte tail, all inside the slot's blocks. All
//!   numbers little-endian.
//!
//! Every offset, length and page number is checked against the file before use, overflow
//! chains cannot loop (each page is visited at most once), and blob sizes are bounded.

/// Largest header blob accepted (real ones are tens of kilobytes).
const MAX_BLOB: usize = 64 << 20;

fn u16_at(b: &[u8], at: usize, big: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big {
        u16::from_be_bytes(s)
    } else {
        u16::from_le_bytes(s)
    })
}

fn u32_at(b: &[u8], at: usize, big: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(s)
    } else {
        u32::from_le_bytes(s)
    })
}

const BDB_HASH_MAGIC: u32 = 0x0006_1561;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_OFFPAGE: u8 = 3;
/// Size of every page's header (`PAGE` in `db_page.h`).
const PAGE_HEADER: usize = 26;

/// The header blobs of a Berkeley DB hash `Packages` database.
pub(crate) fn read_bdb(b: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let big = match (u32_at(b, 12, false), u32_at(b, 12, true)) {
        (Some(BDB_HASH_MAGIC), _) => false,
        (_, Some(BDB_HASH_MAGIC)) => true,
        _ => return Err("no Berkeley DB hash magic at byte 12".into()),
    };
    let page_size = u32_at(b, 20, big).ok_or("truncated metadata page")? as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!(
            "page size {page_size} is not a Berkeley DB page size"
        ));
    }
    if b.get(24) != Some(&0) {
        return Err("encrypted database".into());
    }
    if b.get(25) != Some(&P_HASHMETA) {
        return Err("page 0 is not a hash metadata page".into());
    }
    let last = u32_at(b, 32, big).ok_or("truncated metadata page")? as usize;
    let pages = b.len() / page_size;
    if last >= pages {
        return Err(format!(
            "the metadata names page {last} as last, the file holds {pages} pages"
        ));
    }
    let page = |n: usize| &b[n * page_size..(n + 1) * page_size];
    let mut out = Vec::new();
    for n in 1..=last {
        let p = page(n);
        if p[25] != P_HASH && p[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = usize::from(u16_at(p, 20, big).unwrap_or(0));
        if entries % 2 != 0 || PAGE_HEADER + 2 * entries > page_size {
            return Err(format!("hash page {n}: bad item count {entries}"));
        }
        // Items come in key/value pairs; the values are the odd ones.
        for i in (1..entries).step_by(2) {
            let off = usize::from(u16_at(p, PAGE_HEADER + 2 * i, big).unwrap_or(0));
            if off >= page_size || off < PAGE_HEADER {
                return Err(format!(
                    "hash page {n}: item {i} at {off} is outside the page"
                ));
            }
            if p[off] != H_OFFPAGE {
                continue;
            }
            if off + 12 > page_size {
                return Err(format!(
                    "hash page {n}: off-page item {i} at {off} is cut short"
                ));
            }
            let first = u32_at(p, off + 4, big).unwrap_or(0) as usize;
            let total = u32_at(p, off + 8, big).unwrap_or(0) as usize;
            if total > MAX_BLOB {
                return Err(format!("hash page {n}: a {total} byte item"));
            }
            out.push(overflow_chain(b, page_size, last, first, total, big)?);
        }
    }
    Ok(out)
}

/// Concatenates the data of an overflow page chain starting at page `first`.
fn overflow_chain(
    b: &[u8],
    page_size: usize,
    last: usize,
    first: usize,
    total: usize,
    big: bool,
) -> Result<Vec<u8>, String> {
    let mut data = Vec::with_capacity(total.min(b.len()));
    let mut cur = first;
    let mut visited = 0usize;
    while cur != 0 && data.len() < total {
        visited += 1;
        if cur > last || visited > last {
            return Err(format!(
                "overflow chain from page {first} leaves the file or loops (page {cur})"
            ));
        }
        let p = &b[cur * page_size..(cur + 1) * page_size];
        if p[25] != P_OVERFLOW {
            return Err(format!(
                "page {cur} of an overflow chain is of type {}",
                p[25]
            ));
        }
        let len = usize::from(u16_at(p, 22, big).unwrap_or(0)).min(page_size - PAGE_HEADER);
        data.extend_from_slice(&p[PAGE_HEADER..PAGE_HEADER + len]);
        cur = u32_at(p, 16, big).unwrap_or(0) as usize;
    }
    if data.len() < total {
        return Err(format!(
            "overflow chain from page {first} holds {} of {total} bytes",
            data.len()
        ));
    }
    data.truncate(total);
    Ok(data)
}

const NDB_MAGIC: &[u8; 4] = b"RpmP";
const NDB_SLOT_MAGIC: &[u8; 4] = b"Slot";
const NDB_BLOB_MAGIC: &[u8; 4] = b"BlbS";
/// Slot pages are 4 KiB of 16-byte slots.
const NDB_SLOTS_PER_PAGE: usize = 4096 / 16;
/// rpm's own bound on slot pages (`rpmpkgReadHeader`'s sanity check, as go-rpmdb).
const NDB_MAX_SLOT_PAGES: usize = 2048;
/// Blob offsets count 16-byte blocks.
const NDB_BLOCK: usize = 16;

/// The header blobs of an NDB `Packages.db`.
pub(crate) fn read_ndb(b: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if b.get(..4) != Some(NDB_MAGIC) {
        return Err("no NDB magic \"RpmP\"".into());
    }
    if u32_at(b, 4, false) != Some(0) {
        return Err("unknown NDB version".into());
    }
    let slot_pages = u32_at(b, 12, false).ok_or("truncated NDB header")? as usize;
    if slot_pages == 0 || slot_pages > NDB_MAX_SLOT_PAGES {
        return Err(format!("{slot_pages} slot pages"));
    }
    if b.len() < slot_pages * 4096 {
        return Err("the file is shorter than its slot pages".into());
    }
    let mut out = Vec::new();
    // The 32-byte database header takes the place of the first two slots.
    for s in 2..slot_pages * NDB_SLOTS_PER_PAGE {
        let at = s * 16;
        if &b[at..at + 4] != NDB_SLOT_MAGIC {
            return Err(format!("slot {s} has no slot magic"));
        }
        let index = u32_at(b, at + 4, false).unwrap_or(0);
        if index == 0 {
            continue; // free
        }
        let blob_at = (u32_at(b, at + 8, false).unwrap_or(0) as usize)
            .checked_mul(NDB_BLOCK)
            .ok_or("blob offset overflows")?;
        let head = b
            .get(blob_at..blob_at + 16)
            .ok_or_else(|| format!("package {index}: blob offset {blob_at} is past the end"))?;
        if &head[..4] != NDB_BLOB_MAGIC {
            return Err(format!("package {index}: no blob magic at {blob_at}"));
        }
        if u32_at(head, 4, false) != Some(index) {
            return Err(format!(
                "package {index}: the blob belongs to another package"
            ));
        }
        let len = u32_at(head, 12, false).unwrap_or(0) as usize;
        if len > MAX_BLOB {
            return Err(format!("package {index}: a {len} byte blob"));
        }
        // The slot's blocks hold the blob's head, the blob and its 12-byte tail, and they
        // must all be in the file (rpm's `BlkCnt` rule).
        let blocks = (u32_at(b, at + 12, false).unwrap_or(0) as usize).saturating_mul(NDB_BLOCK);
        if blocks < 16 + len + 12 || blob_at.saturating_add(blocks) > b.len() {
            return Err(format!(
                "package {index}: the blob's {blocks} bytes of blocks do not hold its {len} \
                 bytes or run past the end of the file"
            ));
        }
        let blob = &b[blob_at + 16..blob_at + 16 + len];
        out.push(blob.to_vec());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_database() {
        assert!(read_bdb(b"").is_err());
        assert!(read_bdb(&[0u8; 4096]).is_err());
        assert!(read_ndb(b"RpmP").is_err());
        let mut ndb = vec![0u8; 4096];
        ndb[..4].copy_from_slice(NDB_MAGIC);
        ndb[12] = 1;
        // Slot 2 has no slot magic.
        assert!(read_ndb(&ndb).unwrap_err().contains("slot magic"));
    }

    #[test]
    fn overflow_chains_cannot_loop() {
        // Metadata page + one overflow page pointing at itself.
        let ps = 512;
        let mut b = vec![0u8; 2 * ps];
        b[12..16].copy_from_slice(&BDB_HASH_MAGIC.to_le_bytes());
        b[20..24].copy_from_slice(&(ps as u32).to_le_bytes());
        b[25] = P_HASHMETA;
        b[32..36].copy_from_slice(&1u32.to_le_bytes());
        b[ps + 25] = P_OVERFLOW;
        b[ps + 16..ps + 20].copy_from_slice(&1u32.to_le_bytes());
        b[ps + 22..ps + 24].copy_from_slice(&10u16.to_le_bytes());
        let err = overflow_chain(&b, ps, 1, 1, 1000, false).unwrap_err();
        assert!(err.contains("loops"), "{err}");
        assert_eq!(read_bdb(&b).unwrap(), Vec::<Vec<u8>>::new());
    }
}
