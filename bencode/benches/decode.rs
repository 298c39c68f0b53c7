//! Decode throughput on a large (> 10 MB) torrent-shaped input.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use monsoon_bencode::{DecodeOptions, OwnedValue};

/// A torrent with 50 000 files in nested folders and a 10 MB `pieces` string.
fn big_torrent() -> Vec<u8> {
    let files: Vec<OwnedValue> = (0..50_000u32)
        .map(|i| {
            OwnedValue::dict()
                .insert("length", i64::from(i * 7919 % 1_000_000 + 1).into())
                .insert(
                    "path",
                    OwnedValue::List(vec![
                        format!("season {:02}", i / 5000).as_str().into(),
                        format!("disc {}", i / 500 % 10).as_str().into(),
                        format!("track {i:05} - some longer file name.flac")
                            .as_str()
                            .into(),
                    ]),
                )
        })
        .collect();
    let pieces: Vec<u8> = (0..500_000u32 * 20).map(|i| (i * 31 % 251) as u8).collect();
    let info = OwnedValue::dict()
        .insert("name", "a big collection".into())
        .insert("piece length", (1i64 << 20).into())
        .insert("pieces", pieces.into())
        .insert("files", files.into());
    let tiers: Vec<OwnedValue> = (0..20)
        .map(|i| {
            OwnedValue::List(vec![
                format!("udp://tracker{i}.example:1337/announce")
                    .as_str()
                    .into(),
            ])
        })
        .collect();
    OwnedValue::dict()
        .insert("announce", "udp://tracker0.example:1337/announce".into())
        .insert("announce-list", tiers.into())
        .insert("info", info)
        .encode()
}

fn decode(c: &mut Criterion) {
    let input = big_torrent();
    assert!(input.len() >= 10_000_000, "{} bytes", input.len());
    let opts = DecodeOptions::new().lenient();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.sample_size(20);
    g.bench_function("torrent_lenient", |b| {
        b.iter(|| opts.decode(black_box(&input)).unwrap())
    });
    g.bench_function("torrent_strict", |b| {
        b.iter(|| monsoon_bencode::decode(black_box(&input)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
