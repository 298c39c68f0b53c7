//! `hash_pieces`: every piece hashed once on several threads, SHA-1 and
//! BEP 52 merkle, checked against hashes computed directly from the data.

use monsoon_storage::merkle::{self, BLOCK_SIZE, Hash256};
use monsoon_storage::{
    Digests, FileEntry, Layout, MemoryStorage, StorageError, hash_bytes, hash_pieces,
};

use crate::util::content;

const BOTH: Digests = Digests {
    sha1: true,
    merkle: true,
};

/// A v2-style layout: each file padded to a 32 KiB piece boundary, with an
/// empty file and files of one block, one piece, and several pieces.
fn aligned() -> (Layout, Vec<u64>) {
    let piece = 32 * 1024u64;
    let lengths = [100_000u64, 0, 5, 32 * 1024, 70_000];
    let mut files = Vec::new();
    for (i, &len) in lengths.iter().enumerate() {
        files.push(FileEntry::new(["t".to_owned(), format!("f{i}")], len));
        if len % piece != 0 {
            files.push(FileEntry::padding(piece - len % piece));
        }
    }
    (Layout::new(files, piece as u32).unwrap(), lengths.to_vec())
}

#[test]
fn sha1_matches_the_data_on_any_thread_count() {
    let layout = Layout::new(
        vec![
            FileEntry::new(["a"], 40_000),
            FileEntry::new(["b"], 1),
            FileEntry::new(["c"], 50_001),
        ],
        16 * 1024,
    )
    .unwrap();
    let data = content(&layout, 3);
    let expected: Vec<[u8; 20]> = data.chunks(16 * 1024).map(hash_bytes).collect();
    let storage = MemoryStorage::from_bytes(layout, &data).unwrap();
    for threads in [0, 1, 2, 7, 100] {
        let h = hash_pieces(
            &storage,
            Digests {
                sha1: true,
                merkle: false,
            },
            threads,
        )
        .unwrap();
        assert_eq!(h.sha1, expected, "{threads} threads");
        assert!(h.merkle.is_empty());
    }
}

#[test]
fn merkle_hashes_are_piece_layers_and_roots() {
    let (layout, lengths) = aligned();
    let data = content(&layout, 9);
    let storage = MemoryStorage::from_bytes(layout.clone(), &data).unwrap();
    let h = hash_pieces(&storage, BOTH, 3).unwrap();
    assert_eq!(h.sha1.len(), layout.piece_count() as usize);
    assert_eq!(h.merkle.len(), layout.piece_count() as usize);
    let bpp = layout.piece_len() / BLOCK_SIZE;
    let mut checked = 0;
    for (i, f) in layout.files().iter().enumerate() {
        if f.is_padding() || f.length() == 0 {
            continue;
        }
        let start = layout.file_offset(i) as usize;
        let file = &data[start..start + f.length() as usize];
        let leaves: Vec<Hash256> = file
            .chunks(BLOCK_SIZE as usize)
            .map(merkle::block_hash)
            .collect();
        let root = merkle::root_from_leaves(&leaves);
        let mine =
            &h.merkle[layout.file_pieces(i).start as usize..layout.file_pieces(i).end as usize];
        if f.length() > u64::from(layout.piece_len()) {
            assert_eq!(mine, merkle::piece_layer(&leaves, bpp as usize));
            assert_eq!(merkle::root_from_piece_layer(mine, bpp), root);
        } else {
            assert_eq!(mine, [root]);
        }
        checked += 1;
    }
    assert_eq!(checked, lengths.iter().filter(|&&l| l > 0).count());
}

#[test]
fn merkle_needs_an_aligned_layout() {
    // "b" starts in the middle of piece 0.
    let layout = Layout::new(
        vec![FileEntry::new(["a"], 100), FileEntry::new(["b"], 100)],
        16384,
    )
    .unwrap();
    let data = content(&layout, 1);
    let storage = MemoryStorage::from_bytes(layout, &data).unwrap();
    assert!(matches!(
        hash_pieces(&storage, BOTH, 1),
        Err(StorageError::NotPieceAligned { piece: 0 })
    ));
    // A piece length that is not a power of two of at least 16 KiB.
    let layout = Layout::new(vec![FileEntry::new(["a"], 100)], 8192).unwrap();
    let storage = MemoryStorage::from_bytes(layout, &[7; 100]).unwrap();
    assert!(matches!(
        hash_pieces(&storage, BOTH, 1),
        Err(StorageError::NotPieceAligned { piece: 0 })
    ));
    assert!(
        hash_pieces(
            &storage,
            Digests {
                sha1: true,
                merkle: false
            },
            1
        )
        .is_ok()
    );
}

#[test]
fn missing_data_is_an_error() {
    let (layout, _) = aligned();
    let storage = MemoryStorage::new(layout);
    assert!(matches!(
        hash_pieces(&storage, BOTH, 2),
        Err(StorageError::NotFound { .. })
    ));
}
