//! Picker throughput on 1,000,000 pieces and 200 peers: pick + on_block
//! cycles (and on_piece_verified when a piece completes).
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use monsoon_piece::{Bitfield, Geometry, Picker};

const PIECES: u32 = 1_000_000;
const PEERS: u32 = 200;
/// Blocks asked for per pick (a piece has 16, so picks mix partial and new pieces).
const PER_PICK: usize = 10;
/// A peer has each piece with this probability.
const HAVE_PCT: u64 = 90;
const SPARSE_PEER: u32 = PEERS;

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn random_bits(rng: &mut SplitMix, pct: u64) -> Bitfield {
    let mut b = Bitfield::new(PIECES);
    for i in 0..PIECES {
        if rng.next() % 100 < pct {
            b.set(i, true);
        }
    }
    b
}

/// 1M pieces of 256 KiB (16 blocks), 200 peers with ~90% of the pieces,
/// one more peer with ~1%, and the random first pieces already done.
fn swarm() -> Picker {
    let geo = Geometry::new(u64::from(PIECES) * 256 * 1024, 256 * 1024).unwrap();
    let mut picker = Picker::new(geo, 7);
    let mut rng = SplitMix(1);
    for peer in 0..PEERS {
        picker.peer_join(peer);
        picker.on_bitfield(peer, &random_bits(&mut rng, HAVE_PCT));
    }
    picker.on_bitfield(SPARSE_PEER, &random_bits(&mut rng, 1));
    for piece in 0..monsoon_piece::RANDOM_FIRST_PIECES {
        picker.on_piece_verified(piece);
    }
    picker
}

/// Runs `iters` pick cycles for the peers `peer(i)` yields, timing only the
/// cycles; the picker is reset from `base` (untimed) when a quarter of it is
/// done or a pick comes back empty (that pick is not counted).
fn cycles(
    base: &Picker,
    work: &mut Picker,
    iters: u64,
    mut peer: impl FnMut(u64) -> u32,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    let mut reset = false;
    while done < iters {
        if reset || work.wanted_remaining() < PIECES * 3 / 4 {
            *work = base.clone();
            reset = false;
        }
        let end = iters.min(done + 10_000);
        let start = Instant::now();
        while done < end {
            let k = peer(done);
            let blocks = work.pick(k, PER_PICK);
            if blocks.is_empty() {
                reset = true;
                break;
            }
            for b in blocks {
                if work.on_block(k, b, ()).piece_complete {
                    work.on_piece_verified(b.piece);
                }
            }
            done += 1;
        }
        total += start.elapsed();
    }
    black_box(work.wanted_remaining());
    total
}

fn bench(c: &mut Criterion) {
    let base = swarm();
    let mut g = c.benchmark_group("picker_1M_pieces_200_peers");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(1));

    let mut work = base.clone();
    g.bench_function("pick10_on_block/rarest_first", |b| {
        b.iter_custom(|iters| cycles(&base, &mut work, iters, |i| (i % u64::from(PEERS)) as u32))
    });

    let mut work = base.clone();
    g.bench_function("pick10_on_block/sparse_peer_1pct", |b| {
        b.iter_custom(|iters| cycles(&base, &mut work, iters, |_| SPARSE_PEER))
    });

    let mut seq = base.clone();
    seq.set_sequential(true);
    let mut work = seq.clone();
    g.bench_function("pick10_on_block/sequential", |b| {
        b.iter_custom(|iters| cycles(&seq, &mut work, iters, |i| (i % u64::from(PEERS)) as u32))
    });
    g.finish();

    // A peer connecting (bitfield with ~90% of the pieces) and leaving:
    // O(n / 64 + pieces it has) each way.
    let mut g = c.benchmark_group("peer_1M_pieces_200_peers");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let mut work = base.clone();
    let bits = random_bits(&mut SplitMix(99), HAVE_PCT);
    g.bench_function("on_bitfield_90pct_then_peer_gone", |b| {
        b.iter(|| {
            work.on_bitfield(1000, &bits);
            work.peer_gone(1000);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
