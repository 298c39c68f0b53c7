//! BEP 52 merkle proofs from arbitrary input: a tree over fuzzed leaves
//! answers a fuzzed `hash request`; every answer must verify against the
//! root, a tampered one must not, and arbitrary proofs never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monsoon_metainfo::merkle::{self, MerkleTree};

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let [leaves, base, index, count, proof, bpp, _, _] = *head;
    let leaves: Vec<merkle::Hash256> = (0..usize::from(leaves) + 1)
        .map(|i| merkle::block_hash(&[rest.get(i).copied().unwrap_or(0), i as u8]))
        .collect();
    let tree = MerkleTree::from_leaves(&leaves);
    let root = tree.root();
    assert_eq!(root, merkle::root_from_leaves(&leaves));
    let (base, index, count) = (u32::from(base % 10), u32::from(index), 1u32 << (count % 5));
    if let Some((hashes, uncles)) = tree.hashes(base, index, count, u32::from(proof)) {
        let full = merkle::verify_hashes(
            &root,
            tree.leaf_count(),
            base,
            index.into(),
            &hashes,
            &uncles,
        );
        let top = tree.leaf_count().trailing_zeros() - base - count.trailing_zeros();
        assert_eq!(full, uncles.len() as u32 == top);
        if full {
            let mut bad = hashes.clone();
            bad[0][0] ^= 1;
            assert!(!merkle::verify_hashes(
                &root,
                tree.leaf_count(),
                base,
                index.into(),
                &bad,
                &uncles
            ));
        }
    }
    // Piece layers: the root from the layer is the root from the leaves.
    let bpp = 1usize << (bpp % 4);
    if leaves.len() > bpp {
        let layer = merkle::piece_layer(&leaves, bpp);
        assert_eq!(merkle::root_from_piece_layer(&layer, bpp as u32), root);
        assert_eq!(
            MerkleTree::from_piece_layer(&layer, bpp as u32).root(),
            root
        );
    }
    // Arbitrary claims: no panic, whatever the numbers.
    let hashes: Vec<merkle::Hash256> = rest
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap())
        .collect();
    let _ = merkle::verify_hashes(
        &root,
        u64::from(head[6]) << (head[7] % 40),
        u32::from(head[1]),
        u64::from(head[2]),
        &hashes,
        &hashes,
    );
});
