//! Criterion benches: writing a 256 KiB piece of 16 blocks with
//! `FileStorage::write_piece` (one `pwritev`) next to a loop of
//! `write_all_at` (one `pwrite` per block), and reading a block back.

use std::fs::File;
use std::hint::black_box;
use std::os::unix::fs::FileExt;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use monsoon_storage::{FileEntry, FileStorage, Layout, Storage};

const PIECE: u32 = 256 * 1024;
const BLOCK: usize = 16 * 1024;
const PIECES: u32 = 64;

fn write_piece(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("monsoon-bench-io-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let layout = Layout::new(
        vec![FileEntry::new(
            ["w.bin"],
            u64::from(PIECE) * u64::from(PIECES),
        )],
        PIECE,
    )
    .unwrap();
    let storage = FileStorage::new(&dir, layout).unwrap();
    let blocks: Vec<Bytes> = (0..PIECE as usize / BLOCK)
        .map(|i| Bytes::from(vec![i as u8; BLOCK]))
        .collect();
    std::fs::create_dir_all(&dir).unwrap();
    let plain = File::create(dir.join("plain.bin")).unwrap();
    plain.set_len(u64::from(PIECE) * u64::from(PIECES)).unwrap();

    let mut g = c.benchmark_group("write_piece");
    g.throughput(Throughput::Bytes(u64::from(PIECE)));
    let mut p = 0;
    g.bench_function("pwritev_256KiB_16_blocks", |b| {
        b.iter(|| {
            p = (p + 1) % PIECES;
            storage.write_piece(p, black_box(&blocks)).unwrap();
        })
    });
    let mut p = 0u64;
    g.bench_function("pwrite_loop_256KiB_16_blocks", |b| {
        b.iter(|| {
            p = (p + 1) % u64::from(PIECES);
            let mut at = p * u64::from(PIECE);
            for block in black_box(&blocks) {
                plain.write_all_at(block, at).unwrap();
                at += block.len() as u64;
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Bytes(BLOCK as u64));
    let mut p = 0;
    g.bench_function("block_16KiB", |b| {
        b.iter(|| {
            p = (p + 1) % PIECES;
            storage.read(p, 16 * 1024, BLOCK as u32).unwrap()
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, write_piece);
criterion_main!(benches);
