//! The certificate-transparency 8-leaf test vectors (tests/data/rfc6962/vectors.json):
//! roots, generated proofs, verification, and the corruptions the CT verifier tests try.

use serde_json::Value;
use vouch_merkle::{
    ConsistencyProof, EMPTY_ROOT, Error, Frontier, Hash, InclusionProof, MemoryTree, ProofKind,
    leaf_hash, root_from_leaf_hashes,
};

struct Vectors {
    leaves: Vec<Vec<u8>>,
    /// `roots[n - 1]` is the root of the first `n` leaves.
    roots: Vec<Hash>,
    empty_root: Hash,
    inclusion: Vec<InclusionProof>,
    consistency: Vec<ConsistencyProof>,
}

fn load() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rfc6962/vectors.json"
    );
    let json: Value = serde_json::from_slice(&std::fs::read(path).expect("read vectors"))
        .expect("vectors are JSON");
    let hash = |v: &Value| Hash::from_hex(v.as_str().expect("hex string")).expect("hash");
    let hashes = |v: &Value| {
        v.as_array()
            .expect("array")
            .iter()
            .map(hash)
            .collect::<Vec<_>>()
    };
    let num = |v: &Value| v.as_u64().expect("number");
    Vectors {
        leaves: json["leaves"]
            .as_array()
            .expect("leaves")
            .iter()
            .map(|l| hex::decode(l.as_str().expect("hex")).expect("hex"))
            .collect(),
        roots: hashes(&json["roots"]),
        empty_root: hash(&json["empty_root"]),
        inclusion: json["inclusion"]
            .as_array()
            .expect("inclusion")
            .iter()
            .map(|p| InclusionProof::new(num(&p["index"]), num(&p["size"]), hashes(&p["hashes"])))
            .collect(),
        consistency: json["consistency"]
            .as_array()
            .expect("consistency")
            .iter()
            .map(|p| {
                ConsistencyProof::new(
                    num(&p["old_size"]),
                    num(&p["new_size"]),
                    hashes(&p["hashes"]),
                )
            })
            .collect(),
    }
}

fn tree(v: &Vectors) -> MemoryTree {
    MemoryTree::from_leaf_hashes(v.leaves.iter().map(|l| leaf_hash(l)))
}

#[test]
fn roots_of_every_prefix() {
    let v = load();
    assert_eq!(v.empty_root, EMPTY_ROOT);
    assert_eq!(root_from_leaf_hashes(&[]), EMPTY_ROOT);
    let leaf_hashes: Vec<_> = v.leaves.iter().map(|l| leaf_hash(l)).collect();
    let t = tree(&v);
    let mut frontier = Frontier::new();
    for (n, want) in (1u64..).zip(&v.roots) {
        let prefix = &leaf_hashes[..n as usize];
        assert_eq!(
            root_from_leaf_hashes(prefix),
            *want,
            "root_from_leaf_hashes({n})"
        );
        assert_eq!(t.root_at(n).ok(), Some(*want), "MemoryTree::root_at({n})");
        frontier
            .append(prefix[n as usize - 1], |_, _| {})
            .expect("append");
        assert_eq!(frontier.root(), *want, "Frontier::root after {n}");
    }
}

#[test]
fn generated_proofs_match_vectors() {
    let v = load();
    let t = tree(&v);
    for want in &v.inclusion {
        let got = t
            .inclusion_proof(want.index(), want.size())
            .expect("inclusion proof");
        assert_eq!(&got, want, "inclusion {} in {}", want.index(), want.size());
    }
    for want in &v.consistency {
        let got = t
            .consistency_proof(want.old_size(), want.new_size())
            .expect("consistency");
        assert_eq!(
            &got,
            want,
            "consistency {} -> {}",
            want.old_size(),
            want.new_size()
        );
    }
}

#[test]
fn inclusion_vectors_verify_and_corruptions_fail() {
    let v = load();
    for proof in &v.inclusion {
        let (index, size) = (proof.index(), proof.size());
        let leaf = leaf_hash(&v.leaves[index as usize]);
        let root = v.roots[size as usize - 1];
        let ok = proof.verify(&leaf, &root).expect("vector verifies");
        assert_eq!(
            (ok.index(), ok.size(), ok.root(), ok.leaf_hash()),
            (index, size, root, leaf)
        );

        for (name, bad) in corrupt_inclusion(proof, &root) {
            assert!(
                bad.verify(&leaf, &root).is_err(),
                "{name} of {index}/{size} verified"
            );
        }
        let wrong_leaf = leaf_hash(b"WrongLeaf");
        assert!(matches!(
            proof.verify(&wrong_leaf, &root),
            Err(Error::InclusionRoot { expected, .. }) if expected == root
        ));
        for wrong_root in [EMPTY_ROOT, leaf_hash(b"random root")] {
            assert!(matches!(
                proof.verify(&leaf, &wrong_root),
                Err(Error::InclusionRoot { index: i, size: s, .. }) if (i, s) == (index, size)
            ));
        }
    }
}

fn corrupt_inclusion(p: &InclusionProof, root: &Hash) -> Vec<(String, InclusionProof)> {
    let (index, size, hashes) = (p.index(), p.size(), p.hashes().to_vec());
    let with = |i: u64, s: u64, h: Vec<Hash>| InclusionProof::new(i, s, h);
    let mut out = vec![
        (
            "index - 1".to_owned(),
            with(index.wrapping_sub(1), size, hashes.clone()),
        ),
        (
            "index + 1".to_owned(),
            with(index + 1, size, hashes.clone()),
        ),
        (
            "index ^ 2".to_owned(),
            with(index ^ 2, size, hashes.clone()),
        ),
        ("size * 2".to_owned(), with(index, size * 2, hashes.clone())),
        ("size / 2".to_owned(), with(index, size / 2, hashes.clone())),
        (
            "trailing root".to_owned(),
            with(index, size, [hashes.clone(), vec![*root]].concat()),
        ),
        (
            "preceding root".to_owned(),
            with(index, size, [vec![*root], hashes.clone()].concat()),
        ),
    ];
    for i in 0..hashes.len() {
        let mut flipped = hashes.clone();
        let mut bytes = *flipped[i].as_bytes();
        bytes[0] ^= 8;
        flipped[i] = Hash::new(bytes);
        out.push((
            format!("flipped bit in hash {i}"),
            with(index, size, flipped),
        ));
    }
    if !hashes.is_empty() {
        out.push((
            "removed hash".to_owned(),
            with(index, size, hashes[..hashes.len() - 1].to_vec()),
        ));
    }
    out
}

#[test]
fn consistency_vectors_verify_and_corruptions_fail() {
    let v = load();
    for proof in &v.consistency {
        let (m, n) = (proof.old_size(), proof.new_size());
        let (root1, root2) = (v.roots[m as usize - 1], v.roots[n as usize - 1]);
        let ok = proof.verify(&root1, &root2).expect("vector verifies");
        assert_eq!(
            (ok.old_size(), ok.old_root(), ok.new_size(), ok.new_root()),
            (m, root1, n, root2)
        );
        if proof.hashes().is_empty() {
            continue;
        }
        for (name, bad, r1, r2) in corrupt_consistency(proof, &root1, &root2) {
            assert!(bad.verify(&r1, &r2).is_err(), "{name} of {m}->{n} verified");
        }
    }
}

fn corrupt_consistency(
    p: &ConsistencyProof,
    root1: &Hash,
    root2: &Hash,
) -> Vec<(String, ConsistencyProof, Hash, Hash)> {
    let (m, n, hashes) = (p.old_size(), p.new_size(), p.hashes().to_vec());
    let with = |m: u64, n: u64, h: Vec<Hash>| ConsistencyProof::new(m, n, h);
    let wrong = leaf_hash(b"WrongRoot");
    let (r1, r2) = (*root1, *root2);
    let mut out = vec![
        ("old - 1".to_owned(), with(m - 1, n, hashes.clone()), r1, r2),
        ("old + 1".to_owned(), with(m + 1, n, hashes.clone()), r1, r2),
        ("old ^ 2".to_owned(), with(m ^ 2, n, hashes.clone()), r1, r2),
        ("new * 2".to_owned(), with(m, n * 2, hashes.clone()), r1, r2),
        ("new / 2".to_owned(), with(m, n / 2, hashes.clone()), r1, r2),
        ("wrong root1".to_owned(), p.clone(), wrong, r2),
        ("wrong root2".to_owned(), p.clone(), r1, wrong),
        ("swapped roots".to_owned(), p.clone(), r2, r1),
        ("empty proof".to_owned(), with(m, n, vec![]), r1, r2),
        (
            "trailing root1".to_owned(),
            with(m, n, [hashes.clone(), vec![r1]].concat()),
            r1,
            r2,
        ),
        (
            "trailing root2".to_owned(),
            with(m, n, [hashes.clone(), vec![r2]].concat()),
            r1,
            r2,
        ),
        (
            "preceding root1".to_owned(),
            with(m, n, [vec![r1], hashes.clone()].concat()),
            r1,
            r2,
        ),
        (
            "preceding root2".to_owned(),
            with(m, n, [vec![r2], hashes.clone()].concat()),
            r1,
            r2,
        ),
        (
            "preceding proof[0]".to_owned(),
            with(m, n, [vec![hashes[0]], hashes.clone()].concat()),
            r1,
            r2,
        ),
        (
            "truncated".to_owned(),
            with(m, n, hashes[..hashes.len() - 1].to_vec()),
            r1,
            r2,
        ),
    ];
    for i in 0..hashes.len() {
        let mut flipped = hashes.clone();
        let mut bytes = *flipped[i].as_bytes();
        bytes[0] ^= 16;
        flipped[i] = Hash::new(bytes);
        out.push((
            format!("flipped bit in hash {i}"),
            with(m, n, flipped),
            r1,
            r2,
        ));
    }
    out
}

#[test]
fn degenerate_consistency_cases() {
    let v = load();
    let (r1, r8) = (v.roots[0], v.roots[7]);
    let empty = |m, n| ConsistencyProof::new(m, n, vec![]);
    // Same size, same root: consistent with an empty proof.
    assert!(empty(8, 8).verify(&r8, &r8).is_ok());
    // Same size, different roots: a fork, reported with both roots.
    assert!(matches!(
        empty(8, 8).verify(&r1, &r8),
        Err(Error::RootsDiffer { size: 8, old_root, new_root }) if old_root == r1 && new_root == r8
    ));
    // From the empty tree: empty proof, and the old root must be the empty root.
    assert!(empty(0, 8).verify(&EMPTY_ROOT, &r8).is_ok());
    assert!(matches!(
        empty(0, 8).verify(&r1, &r8),
        Err(Error::ConsistencyOldRoot { .. })
    ));
    assert!(empty(0, 0).verify(&EMPTY_ROOT, &EMPTY_ROOT).is_ok());
    // Non-empty proofs where none is due.
    let extra = ConsistencyProof::new(8, 8, vec![EMPTY_ROOT]);
    assert!(matches!(
        extra.verify(&r8, &r8),
        Err(Error::ProofLength {
            kind: ProofKind::Consistency,
            expected: 0,
            found: 1
        })
    ));
    // Time travel.
    assert!(matches!(
        empty(2, 1).verify(&r1, &r1),
        Err(Error::SizeOrder {
            old_size: 2,
            new_size: 1
        })
    ));
    // A missing proof where one is due.
    assert!(matches!(
        empty(1, 2).verify(&r1, &v.roots[1]),
        Err(Error::ProofLength {
            kind: ProofKind::Consistency,
            expected: 1,
            found: 0
        })
    ));
}

#[test]
fn degenerate_inclusion_cases() {
    let leaf = leaf_hash(b"data");
    // In a one-leaf tree the root is the leaf hash and the proof is empty.
    assert!(
        InclusionProof::new(0, 1, vec![])
            .verify(&leaf, &leaf)
            .is_ok()
    );
    for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1)] {
        assert!(matches!(
            InclusionProof::new(index, size, vec![]).verify(&leaf, &leaf),
            Err(Error::IndexOutOfRange { index: i, size: s }) if (i, s) == (index, size)
        ));
    }
    assert!(matches!(
        InclusionProof::new(0, 2, vec![]).verify(&leaf, &leaf),
        Err(Error::ProofLength {
            kind: ProofKind::Inclusion,
            expected: 1,
            found: 0
        })
    ));
}
