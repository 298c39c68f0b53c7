//! Recheck: hashing existing data on several threads.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;

use monsoon_storage::{
    FileEntry, FileStorage, Layout, MemoryStorage, Storage, StorageError, recheck,
};

use crate::util::{TempDir, blocks, content, hashes, write_all};

fn layout() -> Layout {
    Layout::new(
        vec![
            FileEntry::new(["r", "one"], 100_000),
            FileEntry::padding(31_072),
            FileEntry::new(["r", "two"], 5),
            FileEntry::new(["r", "three"], 200_000),
        ],
        32 * 1024,
    )
    .unwrap()
}

#[test]
fn complete_data_is_all_valid_on_any_thread_count() {
    let dir = TempDir::new();
    let layout = layout();
    let data = content(&layout, 10);
    let h = hashes(&layout, &data);
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    write_all(&storage, &data);
    for threads in [0, 1, 2, 7, 1000] {
        assert!(recheck(&storage, &h, threads).unwrap().iter().all(|&v| v));
    }
    let memory = MemoryStorage::from_bytes(layout, &data).unwrap();
    assert!(recheck(&memory, &h, 0).unwrap().iter().all(|&v| v));
}

#[test]
fn one_corrupt_byte_fails_exactly_its_piece() {
    let dir = TempDir::new();
    let layout = layout();
    let data = content(&layout, 11);
    let h = hashes(&layout, &data);
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    write_all(&storage, &data);
    drop(storage);
    // Byte 70_000 of "three" is at torrent offset 201_077: piece 6.
    assert_eq!(layout.piece_count(), 11);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join("r/three"))
        .unwrap();
    let mut b = [0u8];
    file.read_exact_at(&mut b, 70_000).unwrap();
    file.write_all_at(&[b[0] ^ 1], 70_000).unwrap();
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    let valid = recheck(&storage, &h, 2).unwrap();
    let bad: Vec<usize> = (0..valid.len()).filter(|&i| !valid[i]).collect();
    assert_eq!(bad, [6]);
}

#[test]
fn missing_and_half_written_files() {
    let dir = TempDir::new();
    let layout = layout();
    let data = content(&layout, 12);
    let h = hashes(&layout, &data);
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    assert_eq!(recheck(&storage, &h, 2).unwrap(), vec![false; 11]);
    // Write only piece 6 (inside "three"): the file is created full length,
    // so the other pieces of "three" read zeros and fail.
    storage
        .write_piece(6, &blocks(&layout, &data, 6, 16384))
        .unwrap();
    let valid = recheck(&storage, &h, 2).unwrap();
    let good: Vec<usize> = (0..valid.len()).filter(|&i| valid[i]).collect();
    assert_eq!(good, [6]);
    // Pieces 0..=2 lie in "one", which does not exist, and were not read:
    // recheck created nothing.
    assert!(!dir.path().join("r/one").exists());
    // A file cut short on disk fails the pieces it cannot supply.
    write_all(&storage, &data);
    drop(storage);
    let f = OpenOptions::new()
        .write(true)
        .open(dir.path().join("r/one"))
        .unwrap();
    f.set_len(50_000).unwrap();
    let storage = FileStorage::new(dir.path(), layout).unwrap();
    let valid = recheck(&storage, &h, 3).unwrap();
    let bad: Vec<usize> = (0..valid.len()).filter(|&i| !valid[i]).collect();
    assert_eq!(bad, [1, 2, 3]);
    // "two" holds the first 5 bytes of piece 4.
    fs::remove_file(dir.path().join("r/two")).unwrap();
    assert!(!storage.file_exists(2));
    let valid = recheck(&storage, &h, 3).unwrap();
    let bad: Vec<usize> = (0..valid.len()).filter(|&i| !valid[i]).collect();
    assert_eq!(bad, [1, 2, 3, 4]);
}

#[test]
fn hash_count_must_match() {
    let storage = MemoryStorage::new(layout());
    assert!(matches!(
        recheck(&storage, &[[0; 20]; 3], 1),
        Err(StorageError::HashCountMismatch {
            expected: 11,
            actual: 3
        })
    ));
}

#[test]
fn empty_torrent_rechecks_to_nothing() {
    let storage = MemoryStorage::new(Layout::new(vec![], 16).unwrap());
    assert_eq!(recheck(&storage, &[], 0).unwrap(), Vec::<bool>::new());
}

#[test]
fn progress_reports_every_piece_once() {
    use std::sync::Mutex;

    let layout = layout();
    let data = content(&layout, 13);
    let h = hashes(&layout, &data);
    let storage = MemoryStorage::new(layout.clone());
    for p in [0, 5, 10] {
        storage
            .write_piece(p, &blocks(&layout, &data, p, 16384))
            .unwrap();
    }
    let seen = Mutex::new(Vec::new());
    let valid = monsoon_storage::recheck_with_progress(&storage, &h, 3, &|p, ok| {
        seen.lock().unwrap().push((p, ok));
    })
    .unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    let expected: Vec<(u32, bool)> = (0..11).map(|p| (p, valid[p as usize])).collect();
    assert_eq!(seen, expected);
    let good: Vec<u32> = expected.iter().filter(|e| e.1).map(|e| e.0).collect();
    assert_eq!(good, [0, 5, 10]);
}
