//! Proof verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) returning evidence.

use crate::{EMPTY_ROOT, Error, Hash, ProofKind, node_hash};

/// An inclusion proof as sent by a log: the audit path of leaf `index` in a tree of `size`
/// leaves, hashes ordered leaf-to-root, excluding the leaf and the root.
///
/// Holding one proves nothing; [`verify`](Self::verify) it against a trusted root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    index: u64,
    size: u64,
    hashes: Vec<Hash>,
}

impl InclusionProof {
    /// Wraps a received proof.
    pub fn new(index: u64, size: u64, hashes: Vec<Hash>) -> Self {
        Self {
            index,
            size,
            hashes,
        }
    }

    /// Zero-based leaf index (Rekor: `inclusionProof.logIndex`, the shard-local index).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Tree size the proof is for.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The audit path, leaf-to-root.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The root this proof leads to from `leaf_hash` (RFC 9162 section 2.1.3.2, steps 1-4).
    ///
    /// Fails if the index is outside the tree or the path has the wrong length.
    pub fn root_from_leaf(&self, leaf_hash: &Hash) -> Result<Hash, Error> {
        let (index, size) = (self.index, self.size);
        if index >= size {
            return Err(Error::IndexOutOfRange { index, size });
        }
        let expected = inclusion_proof_len(index, size);
        if self.hashes.len() != expected {
            let found = self.hashes.len();
            return Err(Error::ProofLength {
                kind: ProofKind::Inclusion,
                expected,
                found,
            });
        }
        // RFC 9162 2.1.3.2 step 2-4: `fn` walks up from the leaf, `sn` from the last leaf.
        let (mut fn_, mut sn) = (index, size - 1);
        let mut r = *leaf_hash;
        for p in &self.hashes {
            if sn == 0 {
                // Unreachable after the length check; kept as the RFC's step 4a.
                return Err(Error::ProofLength {
                    kind: ProofKind::Inclusion,
                    expected,
                    found: 0,
                });
            }
            if fn_ & 1 == 1 || fn_ == sn {
                r = node_hash(p, &r);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        Ok(r)
    }

    /// Checks that `leaf_hash` is leaf `index` of the tree whose root is `root`
    /// (RFC 9162 section 2.1.3.2).
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<VerifiedInclusion, Error> {
        let computed = self.root_from_leaf(leaf_hash)?;
        if computed != *root {
            return Err(Error::InclusionRoot {
                index: self.index,
                size: self.size,
                expected: *root,
                computed,
            });
        }
        Ok(VerifiedInclusion {
            leaf_hash: *leaf_hash,
            index: self.index,
            size: self.size,
            root: *root,
        })
    }
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` (`index < size`):
/// the levels below the point where the leaf's path leaves the tree's right edge, plus one
/// per perfect subtree to its left above that point.
pub(crate) fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Evidence that a leaf is in a tree: returned only by a successful verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedInclusion {
    leaf_hash: Hash,
    index: u64,
    size: u64,
    root: Hash,
}

impl VerifiedInclusion {
    /// The leaf hash proven included.
    pub fn leaf_hash(&self) -> Hash {
        self.leaf_hash
    }

    /// Its zero-based index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Size of the tree it is included in.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root of that tree.
    pub fn root(&self) -> Hash {
        self.root
    }
}

/// A consistency proof as sent by a log: hashes showing that the tree of `old_size` leaves is
/// a prefix of the tree of `new_size` leaves (RFC 9162 section 2.1.4).
///
/// Holding one proves nothing; [`verify`](Self::verify) it against two trusted roots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    old_size: u64,
    new_size: u64,
    hashes: Vec<Hash>,
}

impl ConsistencyProof {
    /// Wraps a received proof.
    pub fn new(old_size: u64, new_size: u64, hashes: Vec<Hash>) -> Self {
        Self {
            old_size,
            new_size,
            hashes,
        }
    }

    /// Size of the earlier tree.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// Size of the later tree.
    pub fn new_size(&self) -> u64 {
        self.new_size
    }

    /// The proof hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Checks that the tree with root `old_root` is a prefix of the tree with root `new_root`.
    ///
    /// Equal sizes need an empty proof and equal roots (different roots are
    /// [`Error::RootsDiffer`]: a fork). From size 0 the proof is empty and `old_root` must be
    /// the empty-tree root. Otherwise this is RFC 9162 section 2.1.4.2.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<VerifiedConsistency, Error> {
        let (old_size, new_size) = (self.old_size, self.new_size);
        if old_size > new_size {
            return Err(Error::SizeOrder { old_size, new_size });
        }
        let expected = consistency_proof_len(old_size, new_size);
        if self.hashes.len() != expected {
            let found = self.hashes.len();
            return Err(Error::ProofLength {
                kind: ProofKind::Consistency,
                expected,
                found,
            });
        }
        if old_size == new_size {
            if old_root != new_root {
                return Err(Error::RootsDiffer {
                    size: old_size,
                    old_root: *old_root,
                    new_root: *new_root,
                });
            }
        } else if old_size == 0 {
            if *old_root != EMPTY_ROOT {
                return Err(Error::ConsistencyOldRoot {
                    old_size,
                    new_size,
                    expected: *old_root,
                    computed: EMPTY_ROOT,
                });
            }
        } else {
            let (computed_old, computed_new) = self.chain(old_root);
            if computed_old != *old_root {
                return Err(Error::ConsistencyOldRoot {
                    old_size,
                    new_size,
                    expected: *old_root,
                    computed: computed_old,
                });
            }
            if computed_new != *new_root {
                return Err(Error::ConsistencyNewRoot {
                    old_size,
                    new_size,
                    expected: *new_root,
                    computed: computed_new,
                });
            }
        }
        Ok(VerifiedConsistency {
            old_size,
            old_root: *old_root,
            new_size,
            new_root: *new_root,
        })
    }

    /// RFC 9162 section 2.1.4.2 steps 2-6 for `0 < old_size < new_size` and a proof of the
    /// right length: the old and new roots the proof leads to.
    fn chain(&self, old_root: &Hash) -> (Hash, Hash) {
        // Step 2: a power-of-two old tree is a node of the new one; its root seeds the path.
        let seeded;
        let path: &[Hash] = if self.old_size.is_power_of_two() {
            seeded = std::iter::once(*old_root)
                .chain(self.hashes.iter().copied())
                .collect::<Vec<_>>();
            &seeded
        } else {
            &self.hashes
        };
        // Steps 3-4.
        let (mut fn_, mut sn) = (self.old_size - 1, self.new_size - 1);
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
        // Step 5.
        let (mut fr, mut sr) = (path[0], path[0]);
        // Step 6.
        for c in &path[1..] {
            if sn == 0 {
                break; // unreachable after the length check; the roots then mismatch
            }
            if fn_ & 1 == 1 || fn_ == sn {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        (fr, sr)
    }
}

/// Number of hashes in the consistency proof from `old_size` to `new_size` (`old <= new`).
pub(crate) fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    if old_size == 0 || old_size == new_size {
        return 0;
    }
    // The path from the old tree's last leaf, with the levels inside the old tree's rightmost
    // perfect subtree removed; that subtree's root is sent unless it is the whole old tree.
    let shift = old_size.trailing_zeros() as usize;
    let full = inclusion_proof_len(old_size - 1, new_size);
    let seed = usize::from(!old_size.is_power_of_two());
    full - shift + seed
}

/// Evidence that one tree is a prefix of another: returned only by a successful verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedConsistency {
    old_size: u64,
    old_root: Hash,
    new_size: u64,
    new_root: Hash,
}

impl VerifiedConsistency {
    /// Size of the earlier tree.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// Root of the earlier tree.
    pub fn old_root(&self) -> Hash {
        self.old_root
    }

    /// Size of the later tree.
    pub fn new_size(&self) -> u64 {
        self.new_size
    }

    /// Root of the later tree.
    pub fn new_root(&self) -> Hash {
        self.new_root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths() {
        assert_eq!(inclusion_proof_len(0, 1), 0);
        assert_eq!(inclusion_proof_len(0, 8), 3);
        assert_eq!(inclusion_proof_len(2, 3), 1);
        assert_eq!(inclusion_proof_len(1, 5), 3);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(consistency_proof_len(1, 8), 3);
        assert_eq!(consistency_proof_len(6, 8), 3);
        assert_eq!(consistency_proof_len(2, 5), 2);
        assert_eq!(consistency_proof_len(6, 7), 3);
        assert_eq!(consistency_proof_len(4, 4), 0);
    }
}
