//! `cargo xtask bench --memory [--quick] [--dir DIR]`: whether monsoon's
//! memory stays flat as a torrent grows. `monsoon download` fetches torrents
//! of zeros from one libtorrent seeder on loopback, under `measure.py`
//! (wait4: wall, CPU, peak RSS): 1 GiB and 64 GiB with 256 KiB pieces, 1 GiB
//! and the largest torrent monsoon loads with 16 KiB pieces. The table gives
//! each peak RSS as a ratio to the 1 GiB figure of the same piece length and
//! the verdict against the target "within 10 %".
//!
//! 64 GiB with 16 KiB pieces is 4 Mi pieces, 80 MiB of piece hashes: more
//! than monsoon's `MAX_PIECES` (2 Mi, libtorrent's default `max_pieces` too)
//! and its 64 MiB metainfo input limit, so no client with default limits
//! loads it. The largest 16 KiB torrent monsoon loads is measured instead
//! (32 GiB, 2 Mi pieces, a 40 MiB .torrent; the seeder loads it with
//! libtorrent's `max_buffer_size` raised from its default 10 MB).
//!
//! The data is sparse files of zeros (`File::set_len`), and nothing hashes
//! 64 GiB: every whole piece of zeros has the same SHA-1, so the .torrent is
//! written here with that hash repeated ([`zero_torrent`]). The seeder runs
//! in seed mode with every piece trusted (no hashing). The downloads need
//! the full size on disk in `--dir` (default `target/bench-memory`), checked
//! up front: on a compressing filesystem (btrfs `compress-force=zstd`) zeros
//! take about 3 % of that. Each download is deleted right after its run, and
//! a run is stopped should the free space of `--dir` or of `target/` (where
//! a loop-mounted image would live) fall below 2 GiB. monsoon's resident
//! set every 250 ms goes to `target/bench-memory/rss-NAME.txt`.
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use monsoon_bencode::{encode_bytes, encode_int};
use monsoon_metainfo::{MAX_PIECES, Metainfo};
use sha1::{Digest, Sha1};

use crate::cmd;
use crate::e2e::{self, Client, LtOptions, PYTHON, Proc, Seeder, Tracker};

const GIB: u64 = 1 << 30;

/// The size the issue asks for.
const TARGET_SIZE: u64 = 64 * GIB;

/// Free space kept on every filesystem the run writes to.
const RESERVE: u64 = 2 * GIB;

/// How long one download may take.
const LIMIT: Duration = Duration::from_secs(3600);

/// Bytes a .torrent of [`zero_torrent`] needs besides the piece hashes
/// (keys, lengths, name, announce URL), rounded up generously.
const OVERHEAD: u64 = 4096;

/// One download to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Case {
    pub(crate) size: u64,
    pub(crate) piece_length: u64,
}

impl Case {
    fn pieces(self) -> u64 {
        self.size.div_ceil(self.piece_length)
    }

    fn name(self) -> String {
        format!(
            "zeros-{}-{}k.bin",
            human(self.size).replace(' ', ""),
            self.piece_length >> 10
        )
    }
}

/// `64 GiB`, `512 MiB`.
fn human(bytes: u64) -> String {
    if bytes >= GIB && bytes % GIB == 0 {
        format!("{} GiB", bytes / GIB)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// The largest size up to `want` that monsoon loads at `piece_length`:
/// at most [`MAX_PIECES`] pieces and a .torrent within
/// [`monsoon_bencode::DEFAULT_MAX_INPUT`].
pub(crate) fn largest(want: u64, piece_length: u64) -> u64 {
    let by_input = (monsoon_bencode::DEFAULT_MAX_INPUT as u64 - OVERHEAD) / 20;
    let pieces = want
        .div_ceil(piece_length)
        .min(u64::from(MAX_PIECES))
        .min(by_input);
    want.min(pieces * piece_length)
}

/// The SHA-1 of `len` zero bytes.
fn zero_hash(len: u64) -> [u8; 20] {
    let block = [0u8; 1 << 16];
    let mut h = Sha1::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64);
        h.update(&block[..n as usize]);
        left -= n;
    }
    h.finalize().into()
}

/// A single-file v1 .torrent for `length` bytes of zeros named `name`:
/// every whole piece has the same hash, the last (shorter) one its own, so
/// nothing reads the data.
pub(crate) fn zero_torrent(name: &str, length: u64, piece_length: u64, announce: &str) -> Vec<u8> {
    let pieces = length.div_ceil(piece_length);
    let whole = zero_hash(piece_length);
    let tail = length - (pieces - 1) * piece_length;
    let last = if tail == piece_length {
        whole
    } else {
        zero_hash(tail)
    };
    let mut hashes = Vec::with_capacity(pieces as usize * 20);
    for _ in 1..pieces {
        hashes.extend_from_slice(&whole);
    }
    hashes.extend_from_slice(&last);
    let int = |n: u64| i64::try_from(n).expect("sizes fit in i64");
    let mut out = Vec::with_capacity(hashes.len() + 256);
    out.push(b'd');
    encode_bytes(b"announce", &mut out);
    encode_bytes(announce.as_bytes(), &mut out);
    encode_bytes(b"info", &mut out);
    out.push(b'd');
    encode_bytes(b"length", &mut out);
    encode_int(int(length), &mut out);
    encode_bytes(b"name", &mut out);
    encode_bytes(name.as_bytes(), &mut out);
    encode_bytes(b"piece length", &mut out);
    encode_int(int(piece_length), &mut out);
    encode_bytes(b"pieces", &mut out);
    encode_bytes(&hashes, &mut out);
    out.extend_from_slice(b"ee");
    out
}

/// The downloads `--quick` or the full run measures, and what is said
/// about the sizes left out.
fn cases(quick: bool) -> (Vec<Case>, Vec<String>) {
    let mut notes = Vec::new();
    let (base, want) = if quick {
        (64 << 20, GIB)
    } else {
        (GIB, TARGET_SIZE)
    };
    let mut out = Vec::new();
    for piece_length in [256 << 10, 16 << 10] {
        out.push(Case {
            size: base,
            piece_length,
        });
        let size = largest(want, piece_length);
        if size < want {
            let pieces = want / piece_length;
            notes.push(format!(
                "{} at {} KiB pieces is {pieces} pieces, {} MiB of piece hashes: more than \
                 monsoon loads ({MAX_PIECES} pieces and a {} MiB .torrent at most; \
                 libtorrent's default max_pieces is 2097152 and its max_buffer_size 10 MB), \
                 so {} ({} pieces) is measured instead",
                human(want),
                piece_length >> 10,
                (pieces * 20) >> 20,
                monsoon_bencode::DEFAULT_MAX_INPUT >> 20,
                human(size),
                size / piece_length
            ));
        }
        out.push(Case { size, piece_length });
    }
    (out, notes)
}

/// Bytes free for an unprivileged user on the filesystem of `dir`.
fn free_bytes(dir: &Path) -> Result<u64> {
    let text = e2e::check_output(
        Command::new("df").args(["--output=avail", "-B1"]).arg(dir),
        Duration::from_secs(30),
    )?;
    text.lines()
        .nth(1)
        .context("df printed no figure")?
        .trim()
        .parse()
        .context("df's figure")
}

/// One measured download.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) case: Case,
    pub(crate) wall: f64,
    pub(crate) cpu: f64,
    pub(crate) rss_kib: u64,
}

/// The table: each peak RSS against the first row of its piece length,
/// and the verdict on "within 10 %".
pub(crate) fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| size | piece length | pieces | wall (s) | CPU user+sys (s) | peak RSS (MiB) | RSS / smallest of this piece length | within 10 % |\n\
         |---|---|---|---|---|---|---|---|",
    );
    for row in rows {
        let base = rows
            .iter()
            .find(|r| r.case.piece_length == row.case.piece_length)
            .expect("the row itself at least");
        let ratio = row.rss_kib as f64 / base.rss_kib as f64;
        let verdict = if std::ptr::eq(base, row) {
            "(base)".to_owned()
        } else if ratio <= 1.10 {
            "met".to_owned()
        } else {
            "NOT met".to_owned()
        };
        let _ = write!(
            out,
            "\n| {} | {} KiB | {} | {:.1} | {:.1} | {:.1} | {ratio:.2}x | {verdict} |",
            human(row.case.size),
            row.case.piece_length >> 10,
            row.case.pieces(),
            row.wall,
            row.cpu,
            row.rss_kib as f64 / 1024.0
        );
    }
    out
}

/// The options of `bench --memory`.
pub(crate) struct Options {
    pub(crate) quick: bool,
    pub(crate) dir: Option<PathBuf>,
}

pub(crate) fn run(bin: &Path, opts: &Options) -> Result<()> {
    let (cases, notes) = cases(opts.quick);
    let work = e2e::fresh_dir("bench-memory")?;
    let dir = match &opts.dir {
        Some(d) => d.join("monsoon-bench-memory"),
        None => work.join("downloads"),
    };
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    let need = cases.iter().map(|c| c.size).max().unwrap_or(0) + RESERVE;
    let free = free_bytes(&dir)?;
    if free < need {
        fs::remove_dir_all(&dir)?;
        bail!(
            "bench --memory: {} has {:.1} GiB free; the largest download needs {:.1} GiB (its \
             size + {} GiB kept free). The data is zeros, so a compressing filesystem holds \
             it in ~3 % of that; as root, for example:\n  apt-get install -y btrfs-progs\n  \
             truncate -s 100G /var/tmp/memtest.img && mkfs.btrfs -q -f /var/tmp/memtest.img\n  \
             mkdir -p /mnt/memtest && mount -o loop,compress-force=zstd:1 /var/tmp/memtest.img /mnt/memtest\n  \
             cargo xtask bench --memory --dir /mnt/memtest\n  \
             umount /mnt/memtest && rm /var/tmp/memtest.img\n\
             (`--quick` needs about 3 GiB: 1 GiB downloads)",
            dir.display(),
            free as f64 / GIB as f64,
            need as f64 / GIB as f64,
            RESERVE / GIB
        );
    }
    for note in &notes {
        println!("bench --memory: {note}");
    }

    let data = work.join("data");
    fs::create_dir_all(&data)?;
    let port = e2e::free_port()?;
    let url = format!("http://127.0.0.1:{port}/announce");
    let mut made = Vec::new();
    for case in &cases {
        let name = case.name();
        fs::File::create(data.join(&name))?.set_len(case.size)?;
        let bytes = zero_torrent(&name, case.size, case.piece_length, &url);
        let meta = Metainfo::from_bytes(&bytes)
            .with_context(|| format!("monsoon does not load the torrent of {name}"))?;
        ensure!(u64::from(meta.piece_count()) == case.pieces());
        let torrent = work.join(format!("{name}.torrent"));
        fs::write(&torrent, &bytes)?;
        println!(
            "bench --memory: {} at {} KiB pieces: {} pieces, a {:.1} MiB .torrent",
            human(case.size),
            case.piece_length >> 10,
            case.pieces(),
            bytes.len() as f64 / (1 << 20) as f64
        );
        made.push((*case, torrent, meta.info_hash_hex()));
    }
    let hashes: Vec<&str> = made.iter().map(|(_, _, h)| h.as_str()).collect();
    let tracker = Tracker::start(&work.join("tracker"), port, &hashes)?;

    let machine_before = load();
    let mut rows = Vec::new();
    for (case, torrent, hash) in &made {
        let seeder = Seeder::libtorrent(
            torrent,
            &data,
            &work.join(format!("seed-{}", case.name())),
            LtOptions {
                seed_mode: true,
                trust: true,
                ..LtOptions::default()
            },
        )?;
        tracker.wait_seeders(hash, 1)?;
        let run_dir = dir.join(case.name());
        let result = download(bin, torrent, &run_dir, &work, *case);
        // Deleted whatever happened: the next case needs the room.
        let _ = fs::remove_dir_all(&run_dir);
        drop(seeder);
        let row = match result {
            Ok(row) => row,
            Err(e) => {
                if !rows.is_empty() {
                    println!("\nmeasured before the failure:\n{}", table(&rows));
                }
                return Err(e);
            }
        };
        println!(
            "bench --memory: {} / {} KiB: {:.1} s wall, {:.1} s CPU, {:.1} MiB peak RSS",
            human(case.size),
            case.piece_length >> 10,
            row.wall,
            row.cpu,
            row.rss_kib as f64 / 1024.0
        );
        rows.push(row);
    }
    let machine_after = load();
    println!(
        "\nmonsoon download, one libtorrent seeder (seed mode), sparse zeros, one run each:\n{}",
        table(&rows)
    );
    for note in &notes {
        println!("note: {note}");
    }
    println!("load before: {machine_before}; after: {machine_after}");
    let mut command = String::from("cargo xtask bench --memory");
    if opts.quick {
        command.push_str(" --quick");
    }
    if let Some(d) = &opts.dir {
        let _ = write!(command, " --dir {}", d.display());
    }
    println!("command: {command}");
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `/proc/loadavg`'s three averages.
fn load() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One `monsoon download` under `measure.py` into `run_dir`; stopped
/// (with an error) should `run_dir`'s or `target/`'s filesystem run low.
fn download(bin: &Path, torrent: &Path, run_dir: &Path, work: &Path, case: Case) -> Result<Row> {
    fs::create_dir_all(run_dir)?;
    e2e::check_output(&mut Command::new("sync"), Duration::from_secs(120))?;
    let out = run_dir.join("out");
    let inner =
        Client::Monsoon(bin.to_path_buf()).download_cmd(torrent, &out, e2e::free_port()?, &[])?;
    let result = work.join(format!("measure-{}.txt", case.name()));
    let mut cmd = Command::new(PYTHON);
    cmd.arg(e2e::script("measure.py"))
        .arg(&result)
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(work);
    let log = work.join(format!("monsoon-{}.log", case.name()));
    let mut proc = Proc::spawn("monsoon download", &mut cmd, &log)?;
    let started = Instant::now();
    let watched = [run_dir.to_path_buf(), cmd::root().join("target")];
    let mut checked = Instant::now();
    // monsoon's resident set every 250 ms (`SECONDS RSS_KIB`), to tell the
    // start's cost (the torrent parsed, the tables made) from the transfer's.
    let mut series = String::new();
    let mut sampled = Instant::now();
    let status = loop {
        if let Some(status) = proc.try_status()? {
            break status;
        }
        if sampled.elapsed() >= Duration::from_millis(250) {
            sampled = Instant::now();
            if let Some(kib) = child_rss(&proc) {
                let _ = writeln!(series, "{:.2} {kib}", started.elapsed().as_secs_f64());
            }
        }
        if started.elapsed() > LIMIT {
            stop_child(&mut proc);
            bail!("monsoon download still running after {LIMIT:?}; killed it");
        }
        if checked.elapsed() >= Duration::from_secs(1) {
            checked = Instant::now();
            for fs_dir in &watched {
                let free = free_bytes(fs_dir)?;
                if free < RESERVE {
                    stop_child(&mut proc);
                    bail!(
                        "stopped: {} has only {} MiB free (is --dir on a compressing filesystem?)",
                        fs_dir.display(),
                        free >> 20
                    );
                }
            }
        }
        thread::sleep(Duration::from_millis(50));
    };
    fs::write(work.join(format!("rss-{}.txt", case.name())), &series)?;
    let text = fs::read_to_string(&result).unwrap_or_default();
    ensure!(
        status.success(),
        "monsoon download failed ({status}): {}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    let file = out.join(case.name());
    let len = fs::metadata(&file)
        .with_context(|| format!("no {}", file.display()))?
        .len();
    ensure!(
        len == case.size,
        "{} is {len} bytes, not {}",
        file.display(),
        case.size
    );
    let sample = crate::bench::parse_measure(&text)?;
    Ok(Row {
        case,
        wall: sample.wall,
        cpu: sample.cpu,
        rss_kib: sample.rss_kib,
    })
}

/// The resident set (KiB) of `measure.py`'s child, monsoon.
fn child_rss(proc: &Proc) -> Option<u64> {
    let pid = proc.pid();
    let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    let child = children.split_whitespace().next()?;
    let status = fs::read_to_string(format!("/proc/{child}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Kills `measure.py`'s child (monsoon), then `measure.py`.
fn stop_child(proc: &mut Proc) {
    let pid = proc.pid();
    let children =
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", child]).status();
    }
    proc.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_torrent_loads_with_the_right_pieces() {
        // 5 whole pieces and a short one of 1000 bytes.
        let piece = 16 << 10;
        let len = 5 * piece + 1000;
        let bytes = zero_torrent("z.bin", len, piece, "http://127.0.0.1:1/announce");
        let meta = Metainfo::from_bytes(&bytes).expect("monsoon loads it");
        assert_eq!(meta.name, "z.bin");
        assert_eq!(meta.total_length, len);
        assert_eq!(u64::from(meta.piece_length), piece);
        assert_eq!(meta.piece_count(), 6);
        let whole: [u8; 20] = Sha1::digest(vec![0u8; piece as usize]).into();
        let tail: [u8; 20] = Sha1::digest([0u8; 1000]).into();
        assert_eq!(meta.pieces[..5], [whole; 5]);
        assert_eq!(meta.pieces[5], tail);
        assert_eq!(meta.trackers, [["http://127.0.0.1:1/announce"]]);
        // The info-hash is that of the info dictionary as written.
        let at = bytes.windows(6).position(|w| w == b"4:info").expect("info") + 6;
        let info = &bytes[at..bytes.len() - 1];
        let hash: [u8; 20] = Sha1::digest(info).into();
        assert_eq!(meta.info_hash, hash);

        // Exactly whole pieces: the last hash is the whole piece's.
        let bytes = zero_torrent("w.bin", 3 * piece, piece, "http://a/announce");
        let meta = Metainfo::from_bytes(&bytes).expect("monsoon loads it");
        assert_eq!(meta.pieces, [whole; 3]);
    }

    #[test]
    fn the_largest_16k_torrent_is_32_gib_and_loads() {
        assert_eq!(largest(64 * GIB, 256 << 10), 64 * GIB);
        assert_eq!(largest(64 * GIB, 16 << 10), 32 * GIB);
        assert_eq!(largest(GIB, 16 << 10), GIB);
        let (cases, notes) = cases(false);
        assert_eq!(
            cases,
            [
                Case {
                    size: GIB,
                    piece_length: 256 << 10
                },
                Case {
                    size: 64 * GIB,
                    piece_length: 256 << 10
                },
                Case {
                    size: GIB,
                    piece_length: 16 << 10
                },
                Case {
                    size: 32 * GIB,
                    piece_length: 16 << 10
                },
            ]
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("4194304 pieces, 80 MiB"), "{notes:?}");
        // 2 Mi pieces: a 40 MiB torrent that monsoon still loads.
        let bytes = zero_torrent("big.bin", 32 * GIB, 16 << 10, "http://a/announce");
        assert!(bytes.len() < monsoon_bencode::DEFAULT_MAX_INPUT);
        let meta = Metainfo::from_bytes(&bytes).expect("monsoon loads 2 Mi pieces");
        assert_eq!(meta.piece_count(), MAX_PIECES);
        // One piece more is refused.
        let bytes = zero_torrent("big.bin", 32 * GIB + 1, 16 << 10, "http://a/announce");
        assert!(Metainfo::from_bytes(&bytes).is_err());
    }

    #[test]
    fn table_ratios_and_verdicts_per_piece_length() {
        let row = |size, piece_length, rss_mib: u64| Row {
            case: Case { size, piece_length },
            wall: 2.0,
            cpu: 1.5,
            rss_kib: rss_mib * 1024,
        };
        let t = table(&[
            row(GIB, 256 << 10, 40),
            row(64 * GIB, 256 << 10, 44),
            row(GIB, 16 << 10, 50),
            row(32 * GIB, 16 << 10, 120),
        ]);
        assert!(
            t.contains("| 1 GiB | 256 KiB | 4096 | 2.0 | 1.5 | 40.0 | 1.00x | (base) |"),
            "{t}"
        );
        assert!(
            t.contains("| 64 GiB | 256 KiB | 262144 | 2.0 | 1.5 | 44.0 | 1.10x | met |"),
            "{t}"
        );
        assert!(
            t.contains("| 1 GiB | 16 KiB | 65536 | 2.0 | 1.5 | 50.0 | 1.00x | (base) |"),
            "{t}"
        );
        assert!(
            t.contains("| 32 GiB | 16 KiB | 2097152 | 2.0 | 1.5 | 120.0 | 2.40x | NOT met |"),
            "{t}"
        );
    }
}
