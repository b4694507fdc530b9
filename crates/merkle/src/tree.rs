//! Tree geometry: perfect subtrees ([`NodeId`]) and the append-only [`Frontier`].
//!
//! RFC 6962 section 2.1 defines the root of `n` leaves recursively, splitting at the largest
//! power of two smaller than `n`. Unrolled, every such tree is a sequence of *perfect*
//! subtrees (one per set bit of `n`, largest first) whose hashes, folded from the right with
//! [`node_hash`], give the root. Perfect subtrees never change once complete, so a log stores
//! each one's hash exactly once and every root or proof needs O(log n) of them.

use crate::{EMPTY_ROOT, Error, Hash, node_hash};

/// A perfect subtree: the `2^level` leaves starting at leaf `index << level`.
///
/// Level 0 nodes are leaves (their hash is the leaf hash); the node at `(level, index)` is the
/// parent of `(level - 1, 2 * index)` and `(level - 1, 2 * index + 1)`. This is the addressing
/// of tlog-tiles and of Trillian's storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf, at most 63).
    pub level: u8,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf at `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// First leaf covered.
    pub const fn begin(&self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered.
    pub const fn end(&self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// Perfect subtrees whose folded hashes give `MTH(D[begin:end])`, largest first.
///
/// `begin` must be a multiple of the smallest power of two not below `end - begin`, which
/// holds for `[0, n)` and for every range the RFC 6962 recursion visits.
pub(crate) fn range_nodes(begin: u64, end: u64) -> impl Iterator<Item = NodeId> {
    let mut pos = begin;
    std::iter::from_fn(move || {
        let remaining = end - pos;
        if remaining == 0 {
            return None;
        }
        let level = 63 - remaining.leading_zeros() as u8;
        debug_assert_eq!(
            pos % (1 << level),
            0,
            "range [{begin}, {end}) is not MTH-aligned"
        );
        let id = NodeId::new(level, pos >> level);
        pos += 1 << level;
        Some(id)
    })
}

/// Folds perfect-subtree hashes (largest first) into the root of their range.
pub(crate) fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    match iter.next() {
        None => EMPTY_ROOT,
        Some(last) => iter.fold(*last, |acc, h| node_hash(h, &acc)),
    }
}

/// The largest power of two strictly smaller than `n` (`k` in RFC 6962 section 2.1); `n >= 2`.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Root of a tree given all its leaf hashes: `MTH(D[n])` (RFC 6962 section 2.1).
///
/// Runs in O(n) time and O(log n) memory.
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        // A slice never holds u64::MAX elements.
        let _ = frontier.append(*leaf, |_, _| {});
    }
    frontier.root()
}

/// The right edge of an append-only tree: the hashes of the perfect subtrees that make up
/// `[0, size)`, at most one per level (a *compact range* starting at leaf 0).
///
/// This is all a log needs to append leaves and compute the new root without reading the rest
/// of the tree. [`append`](Self::append) reports every perfect subtree it completes, so the
/// log stores each node hash once; after a restart [`Frontier::node_ids`] names the O(log n)
/// nodes to read back and [`Frontier::from_nodes`] resumes.
///
/// ```
/// use vouch_merkle::{Frontier, NodeId, leaf_hash};
///
/// let mut frontier = Frontier::new();
/// let mut stored = Vec::new();
/// for entry in [&b"a"[..], b"b", b"c"] {
///     frontier.append(leaf_hash(entry), |id, hash| stored.push((id, hash)))?;
/// }
/// // Leaves 0, 1, 2 and their completed parent (level 1, index 0).
/// assert_eq!(stored.len(), 4);
/// assert_eq!(Frontier::node_ids(3), vec![NodeId::new(1, 0), NodeId::new(0, 2)]);
///
/// // Resume from storage.
/// let hashes = Frontier::node_ids(3).iter()
///     .map(|id| stored.iter().find(|(s, _)| s == id).unwrap().1)
///     .collect();
/// let resumed = Frontier::from_nodes(3, hashes)?;
/// assert_eq!(resumed.root(), frontier.root());
/// # Ok::<(), vouch_merkle::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One hash per set bit of `size`, largest subtree first.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub const fn new() -> Self {
        Self {
            size: 0,
            hashes: Vec::new(),
        }
    }

    /// The perfect subtrees that make up a tree of `size` leaves, largest first: the nodes to
    /// read back for [`from_nodes`](Self::from_nodes).
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        range_nodes(0, size).collect()
    }

    /// Rebuilds the frontier of a tree of `size` leaves from the hashes of
    /// [`node_ids(size)`](Self::node_ids), in that order.
    pub fn from_nodes(size: u64, hashes: Vec<Hash>) -> Result<Self, Error> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(Error::NodeCount {
                expected,
                found: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// Number of leaves.
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees and their hashes, largest first.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        range_nodes(0, self.size).zip(self.hashes.iter().copied())
    }

    /// Appends a leaf hash and returns its index.
    ///
    /// `on_node` is called with the new leaf (level 0) and then with every perfect subtree the
    /// leaf completes, bottom-up: exactly the node hashes a log must store.
    pub fn append(
        &mut self,
        leaf_hash: Hash,
        mut on_node: impl FnMut(NodeId, Hash),
    ) -> Result<u64, Error> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(Error::TreeFull)?;
        on_node(NodeId::leaf(index), leaf_hash);
        let mut hash = leaf_hash;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a perfect subtree of that height that the new
        // leaf's subtree now completes, smallest first.
        while (index >> level) & 1 == 1 {
            let left = self.hashes.pop().ok_or(Error::NodeCount {
                expected: 1,
                found: 0,
            })?;
            hash = node_hash(&left, &hash);
            level += 1;
            on_node(NodeId::new(level, index >> level), hash);
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(index)
    }

    /// Root of the tree: the perfect subtrees folded from the right (RFC 6962 section 2.1).
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    #[test]
    fn split_point_is_largest_power_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (u64::MAX, 1 << 63),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn range_nodes_decompose_by_bits() {
        let ids: Vec<_> = range_nodes(0, 13).collect();
        assert_eq!(
            ids,
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        let ids: Vec<_> = range_nodes(8, 11).collect();
        assert_eq!(ids, vec![NodeId::new(1, 4), NodeId::new(0, 10)]);
        assert_eq!(range_nodes(5, 5).count(), 0);
    }

    #[test]
    fn append_reports_completed_subtrees() {
        let mut frontier = Frontier::new();
        let mut seen = Vec::new();
        for i in 0..8u8 {
            frontier.append(leaf_hash(&[i]), |id, _| seen.push(id)).ok();
        }
        // 8 leaves, 4 + 2 + 1 parents.
        assert_eq!(seen.len(), 15);
        assert!(seen.contains(&NodeId::new(3, 0)));
        assert_eq!(
            frontier.nodes().map(|(id, _)| id).collect::<Vec<_>>(),
            [NodeId::new(3, 0)]
        );
    }

    #[test]
    fn from_nodes_checks_count() {
        assert!(matches!(
            Frontier::from_nodes(3, vec![EMPTY_ROOT]),
            Err(Error::NodeCount {
                expected: 2,
                found: 1
            })
        ));
    }

    #[test]
    fn node_id_bounds() {
        let id = NodeId::new(2, 3);
        assert_eq!((id.begin(), id.end()), (12, 16));
    }
}
