//! Criterion benchmarks of the codec's hot path: streams of 16 KiB piece messages.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use monsoon_wire::{Message, PeerCodec, PieceRef};
use tokio_util::codec::{Decoder, Encoder};

const BLOCK: usize = 16 * 1024;
/// 256 blocks = 4 MiB of block data per iteration.
const BLOCKS: usize = 256;

fn pieces() -> Vec<Message> {
    let data = Bytes::from(vec![0x5A; BLOCK]);
    (0..BLOCKS)
        .map(|i| Message::Piece {
            index: (i / 16) as u32,
            begin: ((i % 16) * BLOCK) as u32,
            data: data.clone(),
        })
        .collect()
}

fn stream() -> BytesMut {
    let mut wire = BytesMut::new();
    for m in pieces() {
        m.encode(&mut wire).unwrap();
    }
    wire
}

fn decode(c: &mut Criterion) {
    let wire = stream();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(wire.len() as u64));

    // The codec alone: the whole stream is already in the read buffer.
    g.bench_function("piece_16k", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| {
                let mut codec = PeerCodec::new();
                let mut n = 0;
                while let Some(m) = codec.decode(buf).unwrap() {
                    black_box(&m);
                    n += 1;
                }
                assert_eq!(n, BLOCKS);
            },
            BatchSize::LargeInput,
        );
    });

    // As under `Framed`: 64 KiB socket reads appended to the read buffer
    // (the copy a read makes is included), frames split off as they complete.
    g.bench_function("piece_16k_64k_reads", |b| {
        b.iter(|| {
            let mut codec = PeerCodec::new();
            let mut buf = BytesMut::with_capacity(8 * 1024);
            let mut n = 0;
            for chunk in wire.chunks(64 * 1024) {
                buf.extend_from_slice(chunk);
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    black_box(&m);
                    n += 1;
                }
            }
            assert_eq!(n, BLOCKS);
        });
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let msgs = pieces();
    let total: usize = msgs.iter().map(Message::encoded_len).sum();
    let block = vec![0x5A; BLOCK];
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(total as u64));

    g.bench_function("piece_16k", |b| {
        let mut codec = PeerCodec::new();
        let mut dst = BytesMut::with_capacity(total);
        b.iter(|| {
            dst.clear();
            for m in &msgs {
                codec.encode(m.clone(), &mut dst).unwrap();
            }
            black_box(&dst);
        });
    });

    g.bench_function("piece_ref_16k", |b| {
        let mut dst = BytesMut::with_capacity(total);
        b.iter(|| {
            dst.clear();
            for i in 0..BLOCKS {
                let piece = PieceRef {
                    index: (i / 16) as u32,
                    begin: ((i % 16) * BLOCK) as u32,
                    data: &block,
                };
                piece.encode(&mut dst).unwrap();
            }
            black_box(&dst);
        });
    });
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
