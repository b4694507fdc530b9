//! C2SP `tlog-tiles` geometry: which node hashes a tile holds, how tiles and entry bundles are
//! named, and the entry bundle encoding.
//!
//! A tile at level `L`, index `N` holds the hashes of the tree nodes at height `8 * L`, indexes
//! `N * 256 ..`, up to 256 of them ("the *n*-th tile at level *l* ... `MTH(D[(n * 256 + i) *
//! 256**l : (n * 256 + i + 1) * 256**l])`", `C2SP/C2SP:tlog-tiles.md`). In [`NodeId`] terms
//! that is `NodeId::new(8 * L, N * 256 + i)`: a log that stores every perfect subtree (as
//! [`Frontier::append`](crate::Frontier::append) reports them) can serve any tile. A tile is
//! *partial* (`.p/<W>`, 1 <= W <= 255 hashes) when the tree does not yet fill it; the partial
//! tile at level `L` of a tree of size `s` has `floor(s / 256^L) mod 256` hashes.
//!
//! Paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, `N` written as zero-padded
//! 3-digit groups, all but the last prefixed with `x` (`1234067` -> `x001/x234/067`).
//! Entry bundles are the entries, each prefixed by its length as a big-endian `u16`.

use crate::{Error, Hash, NodeId, node_hash};

/// Hashes (or entries) in a full tile (or bundle).
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Highest tile level a 64-bit tree can have (C2SP allows `L` up to 63).
pub const MAX_TILE_LEVEL: u8 = 63;

/// A tile of node hashes (`level` >= 0) or an entry bundle, with its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Tile level `L`; `None` for an entry bundle (`tile/entries/...`).
    pub level: Option<u8>,
    /// Tile index `N` within the level.
    pub index: u64,
    /// Hashes or entries in it: 256 for a full tile, 1..=255 for a partial one.
    pub width: u16,
}

impl TileId {
    /// A full tile (256 hashes) at `level`, `index`.
    pub const fn full(level: u8, index: u64) -> Self {
        Self {
            level: Some(level),
            index,
            width: TILE_WIDTH as u16,
        }
    }

    /// Whether the tile is full.
    pub const fn is_full(&self) -> bool {
        self.width as u64 == TILE_WIDTH
    }

    /// Parses the part of a URL after `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`,
    /// strictly as C2SP writes them (no leading zeros in `L` and `W`, 3-digit groups in `N`).
    pub fn parse_path(path: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::TilePath {
            path: path.chars().take(128).collect(),
            reason: reason.to_owned(),
        };
        let (level, rest) = path
            .split_once('/')
            .ok_or_else(|| bad("expected <L>/<N>"))?;
        let level = if level == "entries" {
            None
        } else {
            let l = parse_decimal(level).ok_or_else(|| bad("level is not a decimal integer"))?;
            if l > u64::from(MAX_TILE_LEVEL) {
                return Err(bad("level above 63"));
            }
            Some(l as u8)
        };
        let (digits, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = parse_decimal(w).ok_or_else(|| bad("width is not a decimal integer"))?;
                if w == 0 || w >= TILE_WIDTH {
                    return Err(bad("partial width outside 1..=255"));
                }
                (n, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let groups: Vec<&str> = digits.split('/').collect();
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let g = if last {
                *group
            } else {
                group
                    .strip_prefix('x')
                    .ok_or_else(|| bad("non-final index groups start with x"))?
            };
            if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index groups are 3 decimal digits"));
            }
            if i == 0 && groups.len() > 1 && g == "000" {
                return Err(bad("index has a leading zero group"));
            }
            let value: u64 = g.parse().map_err(|_| bad("index group"))?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(value))
                .ok_or_else(|| bad("index overflows 64 bits"))?;
        }
        Ok(Self {
            level,
            index,
            width,
        })
    }

    /// The path after the URL prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let level = match self.level {
            Some(l) => l.to_string(),
            None => "entries".to_owned(),
        };
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// The node hashes this tile holds (for a hash tile), in order.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let level = self.level.unwrap_or(0).saturating_mul(TILE_HEIGHT);
        let first = self.index * TILE_WIDTH;
        (0..u64::from(self.width))
            .map(|i| NodeId::new(level, first + i))
            .collect()
    }

    /// Whether a tree of `size` leaves contains this tile at this width (a partial tile of a
    /// smaller width than the tree now has is still answerable: its hashes never change).
    pub fn exists_in(&self, size: u64) -> bool {
        let count = match self.level {
            None => size,
            Some(l) => size
                .checked_shr(u32::from(l) * u32::from(TILE_HEIGHT))
                .unwrap_or(0),
        };
        let end = self
            .index
            .checked_mul(TILE_WIDTH)
            .and_then(|s| s.checked_add(u64::from(self.width)));
        end.is_some_and(|end| end <= count)
    }
}

/// The tiles (level, index, width) that a tree of `size` leaves is made of: every full tile and
/// the partial tile of each level (C2SP: "a tree of size 70,000 will be represented by 273
/// full level 0 tiles, one partial level 0 tile of width 112, ...").
pub fn tiles_for_size(size: u64) -> impl Iterator<Item = TileId> {
    (0..=MAX_TILE_LEVEL)
        .take_while(move |l| u32::from(*l) * 8 < 64 && (size >> (u32::from(*l) * 8)) > 0)
        .flat_map(move |l| {
            let count = size >> (u32::from(l) * 8);
            let full = count / TILE_WIDTH;
            let rest = (count % TILE_WIDTH) as u16;
            (0..full)
                .map(move |n| TileId::full(l, n))
                .chain((rest > 0).then_some(TileId {
                    level: Some(l),
                    index: full,
                    width: rest,
                }))
        })
}

/// The tile at `level` holding node index `node` of tree height `8 * level`, at the width a
/// tree of `size` leaves gives it (256 if full).
pub fn tile_for_node(level: u8, node: u64, size: u64) -> TileId {
    let count = size
        .checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0);
    let index = node / TILE_WIDTH;
    let width = count.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH) as u16;
    TileId {
        level: Some(level),
        index,
        width,
    }
}

/// The hash of node `id` computed from the tile hashes at the tile level below or at it:
/// `hashes` are the hashes of nodes `(8 * L, first ..)` where `L = id.level / 8`, and
/// `first` is the index of `hashes[0]`. Folds the `2^(id.level mod 8)` hashes the node covers.
pub fn node_from_tile(id: NodeId, first: u64, hashes: &[Hash]) -> Result<Hash, Error> {
    let k = u32::from(id.level % TILE_HEIGHT);
    let start = id.index << k;
    let count = 1u64 << k;
    let offset = start.checked_sub(first).ok_or(Error::NodeCount {
        expected: count as usize,
        found: 0,
    })? as usize;
    let end = offset + count as usize;
    if end > hashes.len() {
        return Err(Error::NodeCount {
            expected: count as usize,
            found: hashes.len().saturating_sub(offset),
        });
    }
    let mut level: Vec<Hash> = hashes[offset..end].to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    Ok(level[0])
}

/// A [`NodeSource`](crate::NodeSource) over a tile log at one tree size: each node is folded
/// from the tile that holds it, fetched by `fetch` (HTTP, files) at the width the tree of
/// `size` gives it. Tiles must be 32 bytes per hash ([`Error::TilePath`] otherwise); a client
/// then proves inclusion and consistency with [`prove_inclusion`](crate::prove_inclusion) and
/// [`prove_consistency`](crate::prove_consistency) and verifies the proofs against a
/// verified checkpoint (the tiles themselves are not trusted).
pub struct TileNodes<F> {
    size: u64,
    fetch: F,
}

impl<F: Fn(&TileId) -> Result<Vec<u8>, Error>> TileNodes<F> {
    /// Nodes of the tree of `size` leaves, read through `fetch`.
    pub fn new(size: u64, fetch: F) -> Self {
        Self { size, fetch }
    }
}

impl<F: Fn(&TileId) -> Result<Vec<u8>, Error>> crate::NodeSource for TileNodes<F> {
    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Error> {
        let mut last: Option<(TileId, Vec<Hash>)> = None;
        ids.iter()
            .map(|id| {
                if id.end() > self.size {
                    return Err(Error::MissingNode {
                        level: id.level,
                        index: id.index,
                    });
                }
                let level = id.level / TILE_HEIGHT;
                let first = id.index << (id.level % TILE_HEIGHT);
                let tile = tile_for_node(level, first, self.size);
                let hashes = match &last {
                    Some((t, h)) if *t == tile => h.clone(),
                    _ => {
                        let bytes = (self.fetch)(&tile)?;
                        if bytes.len() != usize::from(tile.width) * Hash::LEN {
                            return Err(Error::TilePath {
                                path: tile.path(),
                                reason: format!(
                                    "{} bytes, expected {} hashes",
                                    bytes.len(),
                                    tile.width
                                ),
                            });
                        }
                        let h = bytes
                            .chunks_exact(Hash::LEN)
                            .map(Hash::from_slice)
                            .collect::<Result<Vec<_>, _>>()?;
                        last = Some((tile, h.clone()));
                        h
                    }
                };
                node_from_tile(*id, tile.index * TILE_WIDTH, &hashes)
            })
            .collect()
    }
}

/// `N` as C2SP path elements: `1234067` -> `x001/x234/067`, `5` -> `005`.
pub fn encode_index(mut index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        groups.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Appends one entry to an entry bundle: big-endian `u16` length, then the bytes.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(entry.len()).map_err(|_| Error::EntryTooLarge { len: entry.len() })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries.
pub fn parse_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err(Error::Bundle {
                reason: "truncated length prefix".into(),
            });
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(Error::Bundle {
                reason: format!(
                    "entry {} claims {len} bytes, {} left",
                    entries.len(),
                    tail.len()
                ),
            });
        }
        let (entry, next) = tail.split_at(len);
        entries.push(entry);
        rest = next;
    }
    Ok(entries)
}

/// Decimal without leading zeros ("0" itself allowed).
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryTree, leaf_hash};

    #[test]
    fn index_encoding_matches_the_spec_example() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
        for n in [0, 5, 999, 1000, 1_234_067, u64::MAX] {
            let id = TileId {
                level: Some(3),
                index: n,
                width: 17,
            };
            assert_eq!(
                TileId::parse_path(&id.path()["tile/".len()..]).ok(),
                Some(id)
            );
        }
        let bundle = TileId::parse_path("entries/x001/234").expect("bundle");
        assert_eq!(
            (bundle.level, bundle.index, bundle.width),
            (None, 1234, 256)
        );
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "0/1",
            "0/01",
            "00/001",
            "64/000",
            "0/x000/001",
            "0/001/002",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0/x1/000",
            "-1/000",
            "0/000.p/",
            "0",
            "0/x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            assert!(TileId::parse_path(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn tiles_of_the_spec_example() {
        let tiles: Vec<_> = tiles_for_size(70_000).collect();
        let level0: Vec<_> = tiles.iter().filter(|t| t.level == Some(0)).collect();
        assert_eq!(level0.len(), 274);
        assert_eq!(level0[273].width, 112);
        let level1: Vec<_> = tiles.iter().filter(|t| t.level == Some(1)).collect();
        assert_eq!((level1.len(), level1[1].width), (2, 17));
        let level2: Vec<_> = tiles.iter().filter(|t| t.level == Some(2)).collect();
        assert_eq!((level2.len(), level2[0].width), (1, 1));
        let at_256: Vec<_> = tiles_for_size(256).collect();
        assert_eq!(
            at_256,
            vec![
                TileId::full(0, 0),
                TileId {
                    level: Some(1),
                    index: 0,
                    width: 1
                }
            ]
        );
    }

    #[test]
    fn nodes_fold_from_tiles() {
        let leaves: Vec<Hash> = (0..300u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        // Level 3, index 2: leaves 16..24.
        let node = node_from_tile(NodeId::new(3, 2), 0, &leaves[..256]).expect("node");
        let expected = crate::root_from_leaf_hashes(&leaves[16..24]);
        assert_eq!(node, expected);
        let tile = tile_for_node(0, 290, 300);
        assert_eq!((tile.index, tile.width), (1, 44));
        assert!(tile.exists_in(300));
        assert!(!TileId::full(0, 1).exists_in(300));
        assert!(TileId::full(0, 0).exists_in(300));
    }

    #[test]
    fn proofs_from_tiles_match_the_tree() {
        let leaves: Vec<Hash> = (0..70_000u32)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        for size in [1u64, 255, 256, 257, 65_536, 65_537, 70_000] {
            let fetch = |t: &TileId| -> Result<Vec<u8>, Error> {
                assert!(t.exists_in(size), "{} fetched at size {size}", t.path());
                let ids = t.node_ids();
                let hashes = crate::NodeSource::node_hashes(&tree, &ids)?;
                Ok(hashes.iter().flat_map(|h| *h.as_bytes()).collect())
            };
            let tiles = TileNodes::new(size, fetch);
            assert_eq!(crate::root_at(&tiles, size).ok(), tree.root_at(size).ok());
            for index in [0, size / 2, size - 1] {
                let proof = crate::prove_inclusion(&tiles, index, size).expect("proof");
                assert_eq!(
                    Some(proof),
                    tree.inclusion_proof(index, size).ok(),
                    "size {size} index {index}"
                );
            }
            let old = size / 3 + 1;
            assert_eq!(
                crate::prove_consistency(&tiles, old, size).ok(),
                tree.consistency_proof(old, size).ok()
            );
        }
        // A tile of the wrong length is refused.
        let short = TileNodes::new(300, |_: &TileId| Ok(vec![0u8; 31]));
        assert!(crate::root_at(&short, 300).is_err());
    }

    #[test]
    fn bundles_round_trip() {
        let mut bundle = Vec::new();
        push_bundle_entry(&mut bundle, b"one").expect("push");
        push_bundle_entry(&mut bundle, b"").expect("push");
        assert_eq!(bundle, b"\x00\x03one\x00\x00");
        assert_eq!(
            parse_bundle(&bundle).expect("parse"),
            vec![&b"one"[..], b""]
        );
        assert!(parse_bundle(b"\x00\x05one").is_err());
        assert!(parse_bundle(b"\x00").is_err());
        assert!(push_bundle_entry(&mut bundle, &vec![0; 65_536]).is_err());
    }
}
