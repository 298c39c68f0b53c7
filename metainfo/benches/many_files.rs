//! Criterion bench: loading a torrent of a million files (issue 19) as the
//! engine does: `Metainfo::from_bytes` (decode, sanitise, resolve
//! conflicts, build the file table) and a storage `Layout` over its table.
//!
//! `cargo bench -p monsoon-metainfo --bench many_files`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use monsoon_metainfo::Metainfo;
use monsoon_storage::Layout;

#[path = "../tests/it/many_files.rs"]
mod many_files;

fn load(c: &mut Criterion) {
    const FILES: usize = 1_000_000;
    let bytes = many_files::torrent(FILES);
    let mut g = c.benchmark_group("many_files");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(FILES as u64));
    g.bench_function("parse_and_layout_1M_files", |b| {
        b.iter(|| {
            let meta = Metainfo::from_bytes(black_box(&bytes)).unwrap();
            let layout = Layout::from_table(meta.files.clone(), meta.piece_length).unwrap();
            black_box((meta, layout))
        })
    });
    g.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
