//! Geometry: piece and block sizes, checked construction, block validation.
use monsoon_piece::{BLOCK_LEN, Block, Geometry, PieceError};
use proptest::prelude::*;

#[test]
fn rejects_bad_lengths() {
    assert_eq!(Geometry::new(10, 0), Err(PieceError::ZeroPieceLength));
    assert_eq!(Geometry::new(0, 16), Err(PieceError::EmptyTorrent));
    assert_eq!(
        Geometry::new(u64::MAX, 1),
        Err(PieceError::TooManyPieces { count: u64::MAX })
    );
    let g = Geometry::new(u64::from(u32::MAX) * 2, 2).unwrap();
    assert_eq!(g.piece_count(), u32::MAX);
}

#[test]
fn last_piece_and_block_shorter() {
    let g = Geometry::new(3 * 40_000 + 5, 40_000).unwrap();
    assert_eq!(g.piece_count(), 4);
    assert_eq!(g.piece_len(), 40_000);
    assert_eq!(g.total_len(), 120_005);
    assert_eq!(g.piece_size(0), 40_000);
    assert_eq!(g.piece_size(3), 5);
    assert_eq!(g.piece_size(4), 0);
    assert_eq!(g.piece_offset(3), 120_000);
    assert_eq!(g.blocks_in_piece(0), 3);
    assert_eq!(g.blocks_in_piece(3), 1);
    assert_eq!(
        g.block(0, 2),
        Block {
            piece: 0,
            begin: 2 * BLOCK_LEN,
            length: 40_000 - 2 * BLOCK_LEN
        }
    );
    assert_eq!(g.block(0, 2).index_in_piece(), 2);
    assert_eq!(g.block(3, 0).length, 5);
}

#[test]
fn block_at_validates() {
    let g = Geometry::new(3 * 40_000 + 5, 40_000).unwrap();
    assert_eq!(g.block_at(0, 0, BLOCK_LEN), Some(g.block(0, 0)));
    assert_eq!(
        g.block_at(0, 2 * BLOCK_LEN, 40_000 - 2 * BLOCK_LEN),
        Some(g.block(0, 2))
    );
    assert_eq!(g.block_at(0, 2 * BLOCK_LEN, BLOCK_LEN), None, "too long");
    assert_eq!(g.block_at(0, 1, BLOCK_LEN), None, "unaligned");
    assert_eq!(g.block_at(0, 0, BLOCK_LEN - 1), None, "too short");
    assert_eq!(g.block_at(0, 3 * BLOCK_LEN, 0), None, "past the piece");
    assert_eq!(g.block_at(3, 0, 5), Some(g.block(3, 0)));
    assert_eq!(g.block_at(4, 0, 5), None, "past the torrent");
    assert_eq!(g.block_at(u32::MAX, u32::MAX, u32::MAX), None);
}

proptest! {
    #[test]
    fn blocks_tile_the_torrent(total in 1u64..5_000_000, piece_len in 1u32..300_000) {
        let g = Geometry::new(total, piece_len).unwrap();
        let mut offset = 0u64;
        for p in 0..g.piece_count() {
            prop_assert_eq!(g.piece_offset(p), offset);
            let mut in_piece = 0u32;
            for b in 0..g.blocks_in_piece(p) {
                let blk = g.block(p, b);
                prop_assert_eq!(blk.begin, in_piece);
                prop_assert!(blk.length > 0 && blk.length <= BLOCK_LEN);
                prop_assert_eq!(g.block_at(p, blk.begin, blk.length), Some(blk));
                in_piece += blk.length;
            }
            prop_assert_eq!(in_piece, g.piece_size(p));
            offset += u64::from(in_piece);
        }
        prop_assert_eq!(offset, total);
    }
}
