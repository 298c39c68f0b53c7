//! Fast resume: the resume file's format and its hostile inputs, and a
//! restart that trusts unchanged files and rechecks only changed ones.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use monsoon_engine::{AddTorrentOptions, ResumeData, ResumeError, Session, SessionConfig};
use monsoon_piece::Bitfield;
use monsoon_storage::{FileStamp, FileStorage, Layout, Storage, StorageError};

use crate::support::{Fault, TestTorrent, assert_same_files, make_torrent, seeder, temp_dir};

fn sample() -> ResumeData {
    let mut have = Bitfield::new(11);
    for p in [0, 3, 10] {
        have.set(p, true);
    }
    ResumeData {
        info_hash: [7; 20],
        have,
        files: vec![
            Some(FileStamp {
                len: 5,
                mtime_secs: 1_700_000_000,
                mtime_nanos: 42,
            }),
            None,
        ],
        uploaded: 123,
        downloaded: 456,
        root: "/srv/a".into(),
    }
}

#[test]
fn round_trip_and_every_kind_of_bad_file() {
    let d = sample();
    let path = Path::new("x.resume");
    let bytes = d.encode();
    assert_eq!(
        ResumeData::decode(&bytes, path, &[7; 20], 11, 2).unwrap(),
        d
    );
    let invalid = |b: &[u8], ih: [u8; 20], pieces: u32, files: usize| match ResumeData::decode(
        b, path, &ih, pieces, files,
    ) {
        Err(ResumeError::Invalid { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(invalid(&bytes, [8; 20], 11, 2), "for another torrent");
    assert_eq!(invalid(&bytes, [7; 20], 12, 2), "wrong piece count");
    assert_eq!(invalid(&bytes, [7; 20], 11, 3), "wrong file count");
    assert_eq!(invalid(b"garbage", [7; 20], 11, 2), "not bencode");
    // Every truncation is an error, never a panic.
    for cut in 0..bytes.len() {
        assert!(ResumeData::decode(&bytes[..cut], path, &[7; 20], 11, 2).is_err());
    }
    // Spare bits in the bitfield.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut bad = bytes.clone();
    let at = text.find("4:have2:").unwrap() + 8;
    bad[at + 1] |= 0x01;
    assert_eq!(invalid(&bad, [7; 20], 11, 2), "bad `have` bitfield");
}

#[test]
fn saved_atomically_and_a_corrupt_file_is_moved_aside() {
    let dir = temp_dir("resume-file");
    let path = dir.join("t.resume");
    assert!(
        ResumeData::load(&path, &[7; 20], 11, 2, Path::new("/srv/a"))
            .unwrap()
            .is_none(),
        "none yet"
    );
    sample().save(&path).unwrap();
    assert!(!dir.join("t.resume.tmp").exists());
    assert_eq!(
        ResumeData::load(&path, &[7; 20], 11, 2, Path::new("/srv/a")).unwrap(),
        Some(sample())
    );
    std::fs::write(&path, b"d7:versioni1e4:hav").unwrap();
    assert!(ResumeData::load(&path, &[7; 20], 11, 2, Path::new("/srv/a")).is_err());
    assert!(!path.exists(), "moved aside");
    assert!(dir.join("t.resume.corrupt").exists());
    assert!(
        ResumeData::load(&path, &[7; 20], 11, 2, Path::new("/srv/a"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn data_for_another_folder_is_left_alone_and_not_used() {
    let dir = temp_dir("resume-folder");
    let path = dir.join("t.resume");
    sample().save(&path).unwrap();
    let load = |root: &str| ResumeData::load(&path, &[7; 20], 11, 2, Path::new(root));
    assert_eq!(load("/srv/b").unwrap(), None, "another folder's data");
    assert!(path.exists(), "left where it was, not moved aside");
    assert_eq!(load("/srv/a").unwrap(), Some(sample()));
    // The same folder by another spelling.
    assert_eq!(load("/srv/./a").unwrap(), Some(sample()));
    // A folder that is missing or not a string: a bad file.
    let bytes = sample().encode();
    let at = bytes.windows(6).position(|w| w == b"4:root").unwrap();
    let end = at + "4:root6:/srv/a".len();
    for (with, reason) in [
        (&b""[..], "no `root`"),
        (b"4:rooti1e", "`root` is not a string"),
    ] {
        let mut bad = bytes.clone();
        bad.splice(at..end, with.iter().copied());
        let got = ResumeData::decode(&bad, &path, &[7; 20], 11, 2);
        assert!(
            matches!(got, Err(ResumeError::Invalid { reason: r, .. }) if r == reason),
            "{got:?}"
        );
    }
}

/// File storage that counts the bytes read from it.
struct Counting {
    inner: FileStorage,
    read: Arc<AtomicU64>,
}

impl Storage for Counting {
    fn layout(&self) -> &Layout {
        self.inner.layout()
    }
    fn write_piece(&self, piece: u32, blocks: &[Bytes]) -> Result<(), StorageError> {
        self.inner.write_piece(piece, blocks)
    }
    fn read_into(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        self.read.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.inner.read_into(piece, begin, buf)
    }
    fn flush(&self) -> Result<(), StorageError> {
        self.inner.flush()
    }
    fn file_exists(&self, file: usize) -> bool {
        self.inner.file_exists(file)
    }
    fn file_stamp(&self, file: usize) -> Option<FileStamp> {
        self.inner.file_stamp(file)
    }
}

fn config(root: &Path) -> SessionConfig {
    let mut cfg = SessionConfig::new(root);
    cfg.listen_addr = "127.0.0.1:0".parse().unwrap();
    cfg
}

/// Runs the torrent in `out` to completion (from `peer` if given) with a
/// counting storage; returns the bytes read from disk.
async fn run(
    t: &TestTorrent,
    out: &Path,
    resume: &Path,
    peer: Option<std::net::SocketAddr>,
) -> u64 {
    let layout = Layout::from_table(t.meta.files.clone(), t.meta.piece_length).unwrap();
    let read = Arc::new(AtomicU64::new(0));
    let storage = Counting {
        inner: FileStorage::new(out, layout).unwrap(),
        read: read.clone(),
    };
    let session = Session::new(config(out)).await.unwrap();
    let mut opts = AddTorrentOptions::default();
    opts.no_trackers = true;
    opts.storage = Some(Arc::new(storage));
    opts.resume_file = Some(resume.to_owned());
    opts.peers = peer.into_iter().collect();
    let h = session.add_torrent((*t.meta).clone(), opts).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), h.wait_complete())
        .await
        .expect("in time")
        .unwrap();
    let stats = h.stats();
    assert!(stats.resume_error.is_none(), "{:?}", stats.resume_error);
    session.shutdown().await;
    read.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_trusts_unchanged_files_and_rechecks_changed_ones() {
    crate::support::init_logging();
    let piece = 16 * 1024;
    let t = make_torrent(
        "resume",
        "multi",
        &[
            ("a.bin", 40 * piece),
            ("b.bin", 40 * piece),
            ("c.bin", 40 * piece),
        ],
        piece as u32,
    );
    let s = seeder(&t, Fault::None).await;
    let out = temp_dir("resume-out");
    let resume = temp_dir("resume-state").join("t.resume");
    run(&t, &out, &resume, Some(s.addr)).await;
    assert_same_files(&t.meta, &t.source, &out);
    assert!(resume.exists(), "saved when it stopped");

    // Unchanged: at most two spot-checked pieces per file are read.
    let read = run(&t, &out, &resume, None).await;
    assert!(
        read <= 3 * 2 * piece as u64,
        "read {read} bytes on a trusted restart"
    );

    // b.bin changes (one byte, a new time): its pieces are hashed, the bad
    // one fetched again; the others stay trusted.
    let b = out.join("multi/b.bin");
    let mut bytes = std::fs::read(&b).unwrap();
    bytes[5 * piece + 1] ^= 0xff;
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&b, bytes).unwrap();
    let served = s.bytes_served.load(Ordering::Relaxed);
    let read = run(&t, &out, &resume, Some(s.addr)).await;
    assert!(read >= 40 * piece as u64, "b.bin was hashed: {read}");
    assert!(
        read <= (40 + 2 * 2 + 1) * piece as u64,
        "only b.bin (+ spot checks): {read}"
    );
    assert_eq!(
        s.bytes_served.load(Ordering::Relaxed) - served,
        piece as u64,
        "one piece fetched"
    );
    assert_same_files(&t.meta, &t.source, &out);

    // c.bin is deleted: its pieces are missing without a read of each (and
    // fetched again); a.bin and b.bin stay trusted.
    std::fs::remove_file(out.join("multi/c.bin")).unwrap();
    let served = s.bytes_served.load(Ordering::Relaxed);
    let read = run(&t, &out, &resume, Some(s.addr)).await;
    assert!(
        read <= 2 * 2 * piece as u64,
        "read {read} bytes: c.bin's pieces were read"
    );
    assert_eq!(
        s.bytes_served.load(Ordering::Relaxed) - served,
        40 * piece as u64,
        "c.bin fetched again"
    );
    assert_same_files(&t.meta, &t.source, &out);
}

/// One state directory, the same torrent in two folders: the second does
/// not take the first one's resume data (its pieces are not there, its
/// totals are the other copy's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_folder_does_not_take_the_first_ones_resume_data() {
    crate::support::init_logging();
    let piece = 16 * 1024;
    let t = make_torrent("resume2", "one", &[("a.bin", 24 * piece)], piece as u32);
    let s = seeder(&t, Fault::None).await;
    let (first, second) = (temp_dir("resume2-a"), temp_dir("resume2-b"));
    let resume = temp_dir("resume2-state").join("t.resume");
    let load = |root: &Path| {
        ResumeData::load(&resume, &t.meta.info_hash, t.meta.piece_count(), 1, root)
            .unwrap()
            .expect("a resume file for this folder")
    };
    run(&t, &first, &resume, Some(s.addr)).await;
    assert_eq!(load(&first).downloaded, 24 * piece as u64);
    run(&t, &second, &resume, Some(s.addr)).await;
    assert_same_files(&t.meta, &t.source, &second);
    let r = load(&second);
    assert_eq!(
        r.downloaded,
        24 * piece as u64,
        "the second folder's own total, not both"
    );
    assert_eq!(r.root, monsoon_engine::folder_key(&second));
}
