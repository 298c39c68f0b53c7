//! Benchmarks of the tracker protocol's pure functions: building the
//! announce query and parsing responses (HTTP compact, HTTP dictionary
//! list, UDP).
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use monsoon_bencode::OwnedValue;
use monsoon_tracker::{
    AnnounceRequest, Event, announce_url, decode_announce, encode_announce, parse_announce_response,
};

fn compact_body(n: usize) -> Vec<u8> {
    let peers: Vec<u8> = (0..n)
        .flat_map(|i| {
            let i = i as u32;
            let mut e = (0x0a00_0000 | i).to_be_bytes().to_vec();
            e.extend(6881u16.to_be_bytes());
            e
        })
        .collect();
    OwnedValue::dict()
        .insert("interval", OwnedValue::Int(1800))
        .insert("complete", OwnedValue::Int(10))
        .insert("incomplete", OwnedValue::Int(20))
        .insert("peers", OwnedValue::bytes(peers))
        .encode()
}

fn dict_body(n: usize) -> Vec<u8> {
    let peers = (0..n)
        .map(|i| {
            OwnedValue::dict()
                .insert(
                    "ip",
                    OwnedValue::bytes(format!("10.0.{}.{}", i / 256, i % 256)),
                )
                .insert("port", OwnedValue::Int(6881))
                .insert("peer id", OwnedValue::bytes([b'x'; 20]))
        })
        .collect();
    OwnedValue::dict()
        .insert("interval", OwnedValue::Int(1800))
        .insert("peers", OwnedValue::List(peers))
        .encode()
}

fn benches(c: &mut Criterion) {
    let mut req = AnnounceRequest::new(
        [0xa5; 20],
        *b"-MO0001-\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b",
        6881,
    );
    req.event = Event::Started;
    req.left = 1 << 30;
    c.bench_function("announce_url", |b| {
        b.iter(|| announce_url(black_box("http://tracker.example:6969/announce?pk=1"), &req))
    });

    let mut g = c.benchmark_group("parse_http");
    let body = compact_body(200);
    g.throughput(Throughput::Elements(200));
    g.bench_function("compact_200", |b| {
        b.iter(|| parse_announce_response(black_box(&body)))
    });
    let body = dict_body(200);
    g.bench_function("dict_200", |b| {
        b.iter(|| parse_announce_response(black_box(&body)))
    });
    g.finish();

    let mut pkt = vec![0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 7, 8, 0, 0, 0, 1, 0, 0, 0, 2];
    pkt.extend(std::iter::repeat_n([10, 0, 0, 1, 0x1a, 0xe1], 200).flatten());
    let mut g = c.benchmark_group("udp");
    g.bench_function("encode_announce", |b| {
        b.iter(|| encode_announce(1, 2, black_box(&req)))
    });
    g.throughput(Throughput::Elements(200));
    g.bench_function("decode_announce_200", |b| {
        b.iter(|| decode_announce(black_box(&pkt), 7, false))
    });
    g.finish();
}

criterion_group!(protocol, benches);
criterion_main!(protocol);
