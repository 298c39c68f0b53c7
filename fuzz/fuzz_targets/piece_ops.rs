//! Drive the piece picker with arbitrary event sequences (peers, bitfields,
//! haves, picks, blocks — requested or not — hash results, priorities) and
//! check its bookkeeping stays consistent; parse arbitrary wire bitfields.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monsoon_piece::{BLOCK_LEN, Bitfield, Block, Geometry, Picker};

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    // Bitfield parsing: whatever parses must round-trip.
    let len = u32::from(head) * 3;
    if let Ok(b) = Bitfield::from_bytes(rest, len) {
        assert_eq!(b.as_bytes(), rest);
        assert_eq!(b.iter_ones().count() as u32, b.count_ones());
    }

    let pieces = u32::from(head % 12) + 1;
    let piece_len = BLOCK_LEN * u32::from(head / 12 % 3 + 1) + u32::from(head / 36) * 7;
    let geo = Geometry::new(u64::from(pieces) * u64::from(piece_len) - 1, piece_len).unwrap();
    let n = geo.piece_count();
    let mut p = Picker::new(geo, u64::from(head));
    let mut last_picked: Vec<(u32, Block)> = Vec::new();
    for chunk in rest.chunks_exact(3) {
        let (op, a, b) = (chunk[0], u32::from(chunk[1]), u32::from(chunk[2]));
        let peer = a % 6;
        match op % 16 {
            0 => p.peer_join(peer),
            1 => {
                let mut bits = Bitfield::new(n);
                for i in 0..n.min(8) {
                    bits.set(i, b & (1 << i) != 0);
                }
                p.on_bitfield(peer, &bits);
            }
            2 | 3 => p.on_have(peer, b % (n + 1)),
            4 => p.on_have_all(peer),
            5 => p.on_have_none(peer),
            6 => p.peer_gone(peer),
            7 => {
                p.on_choked(peer);
            }
            8..=10 => {
                for blk in p.pick(peer, (b % 9) as usize) {
                    last_picked.push((peer, blk));
                }
            }
            11 | 12 => {
                if !last_picked.is_empty() {
                    let (k, blk) = last_picked.swap_remove(b as usize % last_picked.len());
                    let sender = if op % 16 == 11 { k } else { peer };
                    if p.on_block(sender, blk, ()).piece_complete {
                        let blocks = p.take_piece(blk.piece).map(|b| b.len());
                        assert_eq!(blocks, Some(geo.blocks_in_piece(blk.piece) as usize));
                        if a % 4 == 0 {
                            p.on_piece_failed(blk.piece);
                        } else {
                            p.on_piece_verified(blk.piece);
                        }
                    }
                }
            }
            13 => {
                p.on_block(
                    peer,
                    Block {
                        piece: b % (n + 1),
                        begin: (a % 3) * BLOCK_LEN,
                        length: b * 100,
                    },
                    (),
                );
            }
            14 => {
                if let Some(&(k, blk)) = last_picked.get(b as usize) {
                    p.release(k, blk);
                }
            }
            _ => {
                if a % 2 == 0 {
                    let prio: Vec<u8> = (0..n)
                        .map(|i| ((b >> (i % 8)) & 1) as u8 * (a as u8 % 3))
                        .collect();
                    p.set_priorities(&prio);
                } else {
                    p.set_sequential(b % 2 == 0);
                }
            }
        }
    }
    if let Err(e) = p.check_consistency() {
        panic!("picker inconsistent: {e}");
    }
});
