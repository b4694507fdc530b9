//! Property tests against a naive recursive transcription of RFC 6962 / RFC 9162
//! (`MTH`, `PATH`, `SUBPROOF`) on random tree sizes.

use proptest::prelude::*;
use vouch_merkle::{
    ConsistencyProof, EMPTY_ROOT, Error, Frontier, Hash, InclusionProof, MemoryTree, NodeId,
    NodeSource, ProofPlan, leaf_hash, node_hash, prove_consistency, prove_inclusion,
    root_from_leaf_hashes,
};

/// RFC 6962 section 2.1: `k` is the largest power of two smaller than `n`.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// `MTH(D[n])`, over leaf hashes.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => {
            let k = split(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// `PATH(m, D[n])`.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        [path(m, &d[..k]), vec![mth(&d[k..])]].concat()
    } else {
        [path(m - k, &d[k..]), vec![mth(&d[..k])]].concat()
    }
}

/// `SUBPROOF(m, D[n], b)` (RFC 9162 section 2.1.4.1).
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = split(n);
    if m <= k {
        [subproof(m, &d[..k], b), vec![mth(&d[k..])]].concat()
    } else {
        [subproof(m - k, &d[k..], false), vec![mth(&d[..k])]].concat()
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn flip(h: &Hash, bit: u8) -> Hash {
    let mut bytes = *h.as_bytes();
    bytes[usize::from(bit / 8) % 32] ^= 1 << (bit % 8);
    Hash::new(bytes)
}

/// A tree size and a leaf index in it.
fn size_and_index() -> impl Strategy<Value = (usize, usize)> {
    (1usize..=300).prop_flat_map(|n| (Just(n), 0..n))
}

/// Two tree sizes, `0 < m <= n`.
fn two_sizes() -> impl Strategy<Value = (usize, usize)> {
    (1usize..=300).prop_flat_map(|n| (1..=n, Just(n)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn roots_match_naive(n in 0usize..=600) {
        let d = leaves(n);
        let want = mth(&d);
        prop_assert_eq!(root_from_leaf_hashes(&d), want);
        let tree = MemoryTree::from_leaf_hashes(d.iter().copied());
        prop_assert_eq!(tree.root(), want);
        // Every earlier root from O(log n) stored nodes.
        for m in [0, n / 3, n / 2, n.saturating_sub(1)] {
            prop_assert_eq!(tree.root_at(m as u64).ok(), Some(mth(&d[..m])));
        }
    }

    #[test]
    fn frontier_resumes_from_stored_nodes(n in 0usize..=300, extra in 1usize..=40) {
        let d = leaves(n + extra);
        let tree = MemoryTree::from_leaf_hashes(d[..n].iter().copied());
        let ids = Frontier::node_ids(n as u64);
        let hashes = tree.node_hashes(&ids).expect("stored");
        let mut frontier = Frontier::from_nodes(n as u64, hashes).expect("frontier");
        let mut reported = Vec::new();
        for leaf in &d[n..] {
            frontier.append(*leaf, |id, h| reported.push((id, h))).expect("append");
        }
        prop_assert_eq!(frontier.root(), mth(&d));
        // Every reported node is the MTH of the leaves it covers.
        for (id, h) in reported {
            prop_assert_eq!(h, mth(&d[id.begin() as usize..id.end() as usize]), "{:?}", id);
        }
    }

    #[test]
    fn inclusion_matches_naive_and_verifies((n, m) in size_and_index()) {
        let d = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(d.iter().copied());
        let proof = prove_inclusion(&tree, m as u64, n as u64).expect("proof");
        let want = path(m, &d);
        prop_assert_eq!(proof.hashes(), want.as_slice());
        let root = mth(&d);
        let ok = proof.verify(&d[m], &root).expect("verifies");
        prop_assert_eq!((ok.index(), ok.size(), ok.root()), (m as u64, n as u64, root));
        // Each plan reads O(log n) nodes.
        let plan = ProofPlan::inclusion(m as u64, n as u64).expect("plan");
        prop_assert!(plan.node_ids().len() <= 2 * 64);
    }

    #[test]
    fn tampered_inclusion_fails((n, m) in size_and_index(), pick in any::<prop::sample::Index>(), bit in any::<u8>()) {
        let d = leaves(n + 1);
        let root = mth(&d[..n]);
        let hashes = path(m, &d[..n]);
        let (index, size) = (m as u64, n as u64);
        let proof = |i: u64, s: u64, h: &[Hash]| InclusionProof::new(i, s, h.to_vec());
        if !hashes.is_empty() {
            let mut bad = hashes.clone();
            let i = pick.index(bad.len());
            bad[i] = flip(&bad[i], bit);
            let result = proof(index, size, &bad).verify(&d[m], &root);
            let is_root_error = matches!(result, Err(Error::InclusionRoot { .. }));
            prop_assert!(is_root_error);
            prop_assert!(proof(index, size, &hashes[1..]).verify(&d[m], &root).is_err());
        }
        let long = [hashes.clone(), vec![root]].concat();
        prop_assert!(proof(index, size, &long).verify(&d[m], &root).is_err());
        // Wrong leaf, wrong index.
        prop_assert!(proof(index, size, &hashes).verify(&flip(&d[m], bit), &root).is_err());
        if n > 1 {
            let other = (m + 1) % n;
            prop_assert!(proof(other as u64, size, &hashes).verify(&d[m], &root).is_err());
            prop_assert!(proof(index, size, &hashes).verify(&d[other], &root).is_err());
        }
        // Claimed against another tree size (and that tree's root).
        prop_assert!(proof(index, size + 1, &hashes).verify(&d[m], &mth(&d)).is_err());
        if m + 1 < n {
            prop_assert!(proof(index, size - 1, &hashes).verify(&d[m], &mth(&d[..n - 1])).is_err());
        }
    }

    #[test]
    fn consistency_matches_naive_and_verifies((m, n) in two_sizes()) {
        let d = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(d.iter().copied());
        let proof = prove_consistency(&tree, m as u64, n as u64).expect("proof");
        let want = if m == n { vec![] } else { subproof(m, &d, true) };
        prop_assert_eq!(proof.hashes(), want.as_slice());
        let (r1, r2) = (mth(&d[..m]), mth(&d));
        let ok = proof.verify(&r1, &r2).expect("verifies");
        prop_assert_eq!((ok.old_size(), ok.new_size()), (m as u64, n as u64));
    }

    #[test]
    fn tampered_consistency_fails((m, n) in two_sizes(), pick in any::<prop::sample::Index>(), bit in any::<u8>()) {
        prop_assume!(m < n);
        let d = leaves(n + 1);
        let (r1, r2) = (mth(&d[..m]), mth(&d[..n]));
        let hashes = subproof(m, &d[..n], true);
        let (old, new) = (m as u64, n as u64);
        let mut bad = hashes.clone();
        let i = pick.index(bad.len());
        bad[i] = flip(&bad[i], bit);
        prop_assert!(ConsistencyProof::new(old, new, bad).verify(&r1, &r2).is_err());
        let proof = ConsistencyProof::new(old, new, hashes.clone());
        prop_assert!(proof.verify(&flip(&r1, bit), &r2).is_err());
        prop_assert!(proof.verify(&r1, &flip(&r2, bit)).is_err());
        prop_assert!(ConsistencyProof::new(old, new, hashes[1..].to_vec()).verify(&r1, &r2).is_err());
        // Claimed between other tree sizes (and those trees' roots).
        prop_assert!(ConsistencyProof::new(old, new + 1, hashes.clone()).verify(&r1, &mth(&d)).is_err());
        if m > 1 {
            prop_assert!(ConsistencyProof::new(old - 1, new, hashes).verify(&mth(&d[..m - 1]), &r2).is_err());
        }
    }
}

#[test]
fn plans_read_only_stored_perfect_subtrees() {
    // Every node a plan asks for must be complete inside the tree of that size.
    for n in 1u64..=70 {
        for m in 0..n {
            let plan = ProofPlan::inclusion(m, n).expect("plan");
            assert!(
                plan.node_ids().iter().all(|id: &NodeId| id.end() <= n),
                "incl {m}/{n}"
            );
        }
        for m in 0..=n {
            let plan = ProofPlan::consistency(m, n).expect("plan");
            assert!(
                plan.node_ids().iter().all(|id| id.end() <= n),
                "cons {m}/{n}"
            );
        }
    }
}

#[test]
fn huge_sizes_do_not_overflow() {
    // Proof geometry at the top of the u64 range (no storage needed for the plan).
    let n = u64::MAX;
    let plan = ProofPlan::inclusion(n - 1, n).expect("plan");
    assert_eq!(plan.node_ids().len(), 63);
    let plan = ProofPlan::consistency(n - 1, n).expect("plan");
    assert!(!plan.node_ids().is_empty());
    assert_eq!(Frontier::node_ids(n).len(), 64);
}
