//! Criterion benches: SHA-1 throughput on pieces (in wall time and in the
//! thread's CPU time, which other processes on a busy machine do not
//! inflate), and a recheck of a 1 GiB file (timed next to `sha1sum` on the
//! same file, printed to stderr).

use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use bytes::Bytes;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use monsoon_storage::{FileEntry, FileStorage, Layout, hash_blocks, hash_bytes, recheck};

const PIECE: u32 = 256 * 1024;
const BLOCK: usize = 16 * 1024;
const GIB: u64 = 1 << 30;

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`) or of the
/// whole process (`CLOCK_PROCESS_CPUTIME_ID`, for the multi-threaded
/// recheck).
struct CpuTime(libc::clockid_t);

fn cpu_now(clock: libc::clockid_t) -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(clock, &mut t) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        cpu_now(self.0)
    }
    fn end(&self, start: Duration) -> Duration {
        cpu_now(self.0).saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as for wall time.
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

fn piece_hashing_cpu(c: &mut Criterion<CpuTime>) {
    let piece = data(PIECE as usize, 1);
    let mut g = c.benchmark_group("sha1_cpu_time");
    g.throughput(Throughput::Bytes(u64::from(PIECE)));
    g.bench_function("piece_256KiB_contiguous", |b| {
        b.iter(|| hash_bytes(black_box(&piece)))
    });
    g.finish();
}

fn piece_hashing(c: &mut Criterion) {
    let piece = data(PIECE as usize, 1);
    let blocks: Vec<Bytes> = piece.chunks(BLOCK).map(Bytes::copy_from_slice).collect();
    let mut g = c.benchmark_group("sha1");
    g.throughput(Throughput::Bytes(u64::from(PIECE)));
    g.bench_function("piece_256KiB_contiguous", |b| {
        b.iter(|| hash_bytes(black_box(&piece)))
    });
    g.bench_function("piece_256KiB_16_blocks", |b| {
        b.iter(|| hash_blocks(black_box(&blocks)))
    });
    g.finish();
}

/// A 1 GiB file in a temp dir, removed when dropped.
struct BigFile {
    dir: PathBuf,
    layout: Layout,
    hashes: Vec<[u8; 20]>,
}

impl BigFile {
    fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("monsoon-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let layout = Layout::new(vec![FileEntry::new(["big.bin"], GIB)], PIECE).unwrap();
        let mut out = BufWriter::new(File::create(dir.join("big.bin")).unwrap());
        let mut hashes = Vec::new();
        for p in 0..layout.piece_count() {
            let piece = data(PIECE as usize, u64::from(p) + 7);
            hashes.push(hash_bytes(&piece));
            out.write_all(&piece).unwrap();
        }
        out.into_inner().unwrap().sync_all().unwrap();
        BigFile {
            dir,
            layout,
            hashes,
        }
    }
}

impl Drop for BigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn recheck_1gib(c: &mut Criterion) {
    let big = BigFile::create();
    let path = big.dir.join("big.bin");
    let storage = FileStorage::new(&big.dir, big.layout.clone()).unwrap();
    // Warm the page cache so both tools hash from memory.
    assert!(
        recheck(&storage, &big.hashes, 0)
            .unwrap()
            .iter()
            .all(|&v| v)
    );

    let start = Instant::now();
    let sha1sum = Command::new("sha1sum").arg(&path).output();
    let secs = start.elapsed().as_secs_f64();
    match sha1sum {
        Ok(out) if out.status.success() => eprintln!(
            "sha1sum on the same 1 GiB file: {secs:.3} s ({:.0} MB/s)",
            GIB as f64 / secs / 1e6
        ),
        _ => eprintln!("sha1sum not found: install coreutils to compare"),
    }

    let mut g = c.benchmark_group("recheck");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(GIB));
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    g.bench_function(format!("1GiB_file_{threads}_threads"), |b| {
        b.iter(|| recheck(&storage, &big.hashes, threads).unwrap())
    });
    g.bench_function("1GiB_file_1_thread", |b| {
        b.iter(|| recheck(&storage, &big.hashes, 1).unwrap())
    });
    g.finish();

    // The same recheck in CPU time of all threads, which other processes
    // competing for the cores do not inflate.
    let mut cpu = Criterion::default()
        .with_measurement(CpuTime(libc::CLOCK_PROCESS_CPUTIME_ID))
        .configure_from_args();
    let mut g = cpu.benchmark_group("recheck_cpu_time");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(GIB));
    g.bench_function(format!("1GiB_file_{threads}_threads"), |b| {
        b.iter(|| recheck(&storage, &big.hashes, threads).unwrap())
    });
    g.finish();
}

criterion_group!(benches, piece_hashing, recheck_1gib);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(CpuTime(libc::CLOCK_THREAD_CPUTIME_ID));
    targets = piece_hashing_cpu
}
criterion_main!(benches, cpu_benches);
