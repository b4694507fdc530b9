//! Proof generation over stored perfect-subtree hashes.
//!
//! A [`ProofPlan`] says which perfect subtrees ([`NodeId`]s) a proof needs and how to combine
//! their hashes; it is pure, so a storage layer can fetch the nodes however it likes (one SQL
//! query, async, a cache) and call [`ProofPlan::assemble`]. [`NodeSource`] is the convenience
//! for synchronous storage, and [`MemoryTree`] the in-memory implementation.

use crate::tree::{fold_right, range_nodes, split_point};
use crate::{ConsistencyProof, EMPTY_ROOT, Error, Frontier, Hash, InclusionProof, NodeId};

/// Storage that can hand out the hashes of perfect subtrees.
///
/// A log stores every node that [`Frontier::append`] reports; proofs and roots for any
/// earlier tree size then cost O(log n) node reads, requested in one batch.
pub trait NodeSource {
    /// The hashes of `ids`, in the same order.
    ///
    /// Return [`Error::MissingNode`] for a node that is not stored and wrap storage failures
    /// in [`Error::Storage`].
    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Error> {
        (**self).node_hashes(ids)
    }
}

/// The nodes a proof needs and how to fold them into the proof's hashes.
///
/// Every element of an RFC 6962 proof is the root of a range of leaves that is either a
/// perfect subtree or, on the right edge of the tree, a few of them folded together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    ids: Vec<NodeId>,
    /// Number of consecutive `ids` that make up each proof element.
    counts: Vec<usize>,
}

impl ProofPlan {
    /// The plan for the inclusion proof of leaf `index` in a tree of `size` leaves:
    /// `PATH(m, D[n])` of RFC 6962 section 2.1.1, unrolled.
    pub fn inclusion(index: u64, size: u64) -> Result<Self, Error> {
        if index >= size {
            return Err(Error::IndexOutOfRange { index, size });
        }
        let (mut lo, mut hi) = (0, size);
        let mut ranges = Vec::new();
        while hi - lo > 1 {
            let k = split_point(hi - lo);
            if index < lo + k {
                ranges.push((lo + k, hi));
                hi = lo + k;
            } else {
                ranges.push((lo, lo + k));
                lo += k;
            }
        }
        // The recursion appends the sibling after the deeper part: leaf-to-root order.
        ranges.reverse();
        Ok(Self::from_ranges(&ranges))
    }

    /// The plan for the consistency proof between trees of `old_size` and `new_size` leaves:
    /// `PROOF(m, D[n])` / `SUBPROOF(m, D[n], b)` of RFC 9162 section 2.1.4.1, unrolled.
    ///
    /// The proof is empty when `old_size` is 0 or equals `new_size`.
    pub fn consistency(old_size: u64, new_size: u64) -> Result<Self, Error> {
        if old_size > new_size {
            return Err(Error::SizeOrder { old_size, new_size });
        }
        let mut ranges = Vec::new();
        if old_size > 0 {
            // `m` is relative to `lo`; `complete` is the RFC's `b`.
            let (mut lo, mut hi, mut m, mut complete) = (0, new_size, old_size, true);
            loop {
                let n = hi - lo;
                if m == n {
                    if !complete {
                        ranges.push((lo, hi));
                    }
                    break;
                }
                let k = split_point(n);
                if m <= k {
                    ranges.push((lo + k, hi));
                    hi = lo + k;
                } else {
                    ranges.push((lo, lo + k));
                    lo += k;
                    m -= k;
                    complete = false;
                }
            }
            ranges.reverse();
        }
        Ok(Self::from_ranges(&ranges))
    }

    fn from_ranges(ranges: &[(u64, u64)]) -> Self {
        let mut ids = Vec::new();
        let mut counts = Vec::with_capacity(ranges.len());
        for &(begin, end) in ranges {
            let before = ids.len();
            ids.extend(range_nodes(begin, end));
            counts.push(ids.len() - before);
        }
        Self { ids, counts }
    }

    /// The perfect subtrees to fetch, in the order [`assemble`](Self::assemble) wants them.
    pub fn node_ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Folds the fetched node hashes (in [`node_ids`](Self::node_ids) order) into the
    /// proof's hashes, leaf-to-root.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, Error> {
        if hashes.len() != self.ids.len() {
            return Err(Error::NodeCount {
                expected: self.ids.len(),
                found: hashes.len(),
            });
        }
        let mut rest = hashes;
        let mut proof = Vec::with_capacity(self.counts.len());
        for &count in &self.counts {
            let (element, tail) = rest.split_at(count);
            proof.push(fold_right(element));
            rest = tail;
        }
        Ok(proof)
    }

    fn run(&self, source: &(impl NodeSource + ?Sized)) -> Result<Vec<Hash>, Error> {
        let hashes = source.node_hashes(&self.ids)?;
        self.assemble(&hashes)
    }
}

/// Generates the inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn prove_inclusion(
    source: &(impl NodeSource + ?Sized),
    index: u64,
    size: u64,
) -> Result<InclusionProof, Error> {
    let hashes = ProofPlan::inclusion(index, size)?.run(source)?;
    Ok(InclusionProof::new(index, size, hashes))
}

/// Generates the consistency proof from the tree of `old_size` leaves to that of `new_size`.
pub fn prove_consistency(
    source: &(impl NodeSource + ?Sized),
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, Error> {
    let hashes = ProofPlan::consistency(old_size, new_size)?.run(source)?;
    Ok(ConsistencyProof::new(old_size, new_size, hashes))
}

/// Root of the tree of the first `size` leaves, from `popcount(size)` stored nodes.
pub fn root_at(source: &(impl NodeSource + ?Sized), size: u64) -> Result<Hash, Error> {
    let ids = Frontier::node_ids(size);
    let hashes = source.node_hashes(&ids)?;
    Frontier::from_nodes(size, hashes).map(|f| f.root())
}

/// An append-only tree held in memory, storing every perfect-subtree hash.
///
/// The reference [`NodeSource`]: tests, tools and small logs use it directly; a database-backed
/// log stores the same nodes (those [`Frontier::append`] reports).
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of node `(l, i)`.
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash and returns its index.
    pub fn push(&mut self, leaf_hash: Hash) -> u64 {
        let levels = &mut self.levels;
        let store = |id: NodeId, hash| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            levels[level].push(hash);
        };
        // Memory runs out long before u64::MAX leaves.
        self.frontier.append(leaf_hash, store).unwrap_or(u64::MAX)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, Error> {
        if size > self.size() {
            return Err(Error::SizeOrder {
                old_size: size,
                new_size: self.size(),
            });
        }
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        root_at(self, size)
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, Error> {
        if size > self.size() {
            return Err(Error::SizeOrder {
                old_size: size,
                new_size: self.size(),
            });
        }
        prove_inclusion(self, index, size)
    }

    /// Consistency proof from the first `old_size` leaves to the first `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, Error> {
        if new_size > self.size() {
            return Err(Error::SizeOrder {
                old_size: new_size,
                new_size: self.size(),
            });
        }
        prove_consistency(self, old_size, new_size)
    }
}

impl NodeSource for MemoryTree {
    fn node_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Error> {
        ids.iter()
            .map(|id| {
                let index = usize::try_from(id.index).ok();
                self.levels
                    .get(usize::from(id.level))
                    .and_then(|level| level.get(index?))
                    .copied()
                    .ok_or(Error::MissingNode {
                        level: id.level,
                        index: id.index,
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    fn tree(n: u8) -> MemoryTree {
        MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&[i])))
    }

    #[test]
    fn inclusion_plan_uses_log_n_nodes() {
        // Leaf 0 of 7: siblings are leaf 1, node [2,4), and the right edge [4,7) = (1,2)+(0,6).
        let plan = ProofPlan::inclusion(0, 7).ok();
        let ids = plan.as_ref().map(|p| p.node_ids().to_vec());
        assert_eq!(
            ids,
            Some(vec![
                NodeId::new(0, 1),
                NodeId::new(1, 1),
                NodeId::new(1, 2),
                NodeId::new(0, 6)
            ])
        );
    }

    #[test]
    fn plan_rejects_bad_arguments() {
        assert!(matches!(
            ProofPlan::inclusion(3, 3),
            Err(Error::IndexOutOfRange { index: 3, size: 3 })
        ));
        assert!(matches!(
            ProofPlan::consistency(4, 3),
            Err(Error::SizeOrder {
                old_size: 4,
                new_size: 3
            })
        ));
        assert!(matches!(
            ProofPlan::consistency(0, 3).map(|p| p.counts.len()),
            Ok(0)
        ));
        assert!(matches!(
            ProofPlan::consistency(3, 3).map(|p| p.counts.len()),
            Ok(0)
        ));
    }

    #[test]
    fn assemble_checks_count() {
        let plan = ProofPlan::inclusion(0, 4).ok();
        let result = plan.map(|p| p.assemble(&[EMPTY_ROOT]));
        assert!(matches!(
            result,
            Some(Err(Error::NodeCount {
                expected: 2,
                found: 1
            }))
        ));
    }

    #[test]
    fn memory_tree_refuses_future_sizes() {
        let t = tree(5);
        assert!(matches!(t.root_at(6), Err(Error::SizeOrder { .. })));
        assert!(matches!(
            t.inclusion_proof(0, 6),
            Err(Error::SizeOrder { .. })
        ));
        assert!(matches!(
            t.consistency_proof(1, 6),
            Err(Error::SizeOrder { .. })
        ));
        assert!(matches!(
            t.node_hashes(&[NodeId::new(3, 0)]),
            Err(Error::MissingNode { level: 3, index: 0 })
        ));
        assert_eq!(t.root_at(0).ok(), Some(EMPTY_ROOT));
    }
}
