//! FileStorage: real files under a temporary root.

use std::fs;

use bytes::Bytes;
use monsoon_storage::{
    FileEntry, FileStorage, Layout, Storage, StorageError, check_piece, recheck,
};

use crate::util::{TempDir, blocks, content, hashes, piece_of, write_all};

fn three_files() -> Layout {
    // Piece 1 (bytes 16..32) spans "b", the empty file, "c/d" and "e".
    Layout::new(
        vec![
            FileEntry::new(["t", "a"], 20),
            FileEntry::new(["t", "b"], 5),
            FileEntry::new(["t", "empty"], 0),
            FileEntry::new(["t", "c", "d"], 3),
            FileEntry::new(["t", "e"], 30),
        ],
        16,
    )
    .unwrap()
}

#[test]
fn pieces_spanning_several_files_round_trip() {
    let dir = TempDir::new();
    let layout = three_files();
    let data = content(&layout, 1);
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    // Blocks of 3 bytes: block boundaries never line up with file ones.
    for p in (0..layout.piece_count()).rev() {
        storage
            .write_piece(p, &blocks(&layout, &data, p, 3))
            .unwrap();
    }
    storage.flush().unwrap();
    let on_disk: Vec<u8> = ["a", "b", "c/d", "e"]
        .iter()
        .flat_map(|n| fs::read(dir.path().join("t").join(n)).unwrap())
        .collect();
    assert_eq!(on_disk, data);
    // The zero-length file is only created on request.
    assert!(!dir.path().join("t/empty").exists());
    storage.create_empty_files().unwrap();
    assert_eq!(fs::metadata(dir.path().join("t/empty")).unwrap().len(), 0);

    for p in 0..layout.piece_count() {
        let size = layout.piece_size(p);
        assert_eq!(
            storage.read(p, 0, size).unwrap(),
            piece_of(&layout, &data, p)
        );
        // Every sub-range of the piece.
        for begin in 0..size {
            for len in 0..=size - begin {
                let start = layout.piece_range(p).start as usize + begin as usize;
                assert_eq!(
                    storage.read(p, begin, len).unwrap(),
                    &data[start..start + len as usize]
                );
            }
        }
    }
    // The last piece is shorter: 58 bytes = 3 * 16 + 10.
    assert_eq!(layout.piece_size(3), 10);
    assert!(matches!(
        storage.read(3, 0, 11),
        Err(StorageError::OutOfRange { piece: 3, .. })
    ));
}

#[test]
fn files_smaller_than_a_block() {
    let dir = TempDir::new();
    let files = (0..40).map(|i| FileEntry::new(["many".to_owned(), format!("{i}")], i % 5));
    let layout = Layout::new(files.collect(), 32 * 1024).unwrap();
    let data = content(&layout, 2);
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    write_all(&storage, &data);
    for (i, f) in layout.files().iter().enumerate() {
        let path = dir.path().join("many").join(i.to_string());
        if f.length() == 0 {
            assert!(!path.exists());
        } else {
            let start = layout.file_offset(i) as usize;
            assert_eq!(
                fs::read(path).unwrap(),
                &data[start..start + f.length() as usize]
            );
        }
    }
}

#[test]
fn files_are_sparse_and_full_length_after_first_write() {
    let dir = TempDir::new();
    let layout = Layout::new(vec![FileEntry::new(["big"], 10 * 1024 * 1024)], 1 << 20).unwrap();
    let data = content(&layout, 3);
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    storage
        .write_piece(5, &blocks(&layout, &data, 5, 16 * 1024))
        .unwrap();
    let meta = fs::metadata(dir.path().join("big")).unwrap();
    assert_eq!(meta.len(), 10 * 1024 * 1024);
    // Unwritten pieces read as zeros and fail their hash.
    assert_eq!(storage.read(0, 0, 4).unwrap(), &[0u8; 4][..]);
    let h = hashes(&layout, &data);
    assert!(!check_piece(&storage, 0, &h[0]).unwrap());
    assert!(check_piece(&storage, 5, &h[5]).unwrap());
}

#[test]
fn existing_files_are_not_truncated_or_resized() {
    let dir = TempDir::new();
    fs::write(dir.path().join("short"), b"xy").unwrap();
    fs::write(dir.path().join("long"), vec![7u8; 100]).unwrap();
    let layout = Layout::new(
        vec![FileEntry::new(["short"], 8), FileEntry::new(["long"], 8)],
        4,
    )
    .unwrap();
    let storage = FileStorage::new(dir.path(), layout).unwrap();
    storage
        .write_piece(2, &[Bytes::from_static(b"abcd")])
        .unwrap();
    assert_eq!(fs::read(dir.path().join("short")).unwrap(), b"xy");
    let long = fs::read(dir.path().join("long")).unwrap();
    assert_eq!(long.len(), 100);
    assert_eq!(&long[..6], b"abcd\x07\x07");
    // The short file cannot satisfy a read of its piece.
    assert!(matches!(
        storage.read(0, 0, 4),
        Err(StorageError::ShortRead {
            offset: 0,
            needed: 4,
            ..
        })
    ));
}

#[test]
fn reads_of_missing_files_are_not_found_and_create_nothing() {
    let dir = TempDir::new();
    let layout = three_files();
    let storage = FileStorage::new(dir.path().join("root"), layout.clone()).unwrap();
    assert!(matches!(
        storage.read(0, 0, 1),
        Err(StorageError::NotFound { .. })
    ));
    let h = hashes(&layout, &content(&layout, 0));
    assert!(!check_piece(&storage, 1, &h[1]).unwrap());
    assert!(!dir.path().join("root").exists());
    assert!(!storage.file_exists(0));
}

#[test]
fn padding_files_are_never_created() {
    let dir = TempDir::new();
    let layout = Layout::new(
        vec![
            FileEntry::new(["x"], 5),
            FileEntry::padding(3),
            FileEntry::new(["y"], 8),
        ],
        8,
    )
    .unwrap();
    let storage = FileStorage::new(dir.path(), layout.clone()).unwrap();
    let data = content(&layout, 4);
    write_all(&storage, &data);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(storage.read(0, 4, 4).unwrap(), &[data[4], 0, 0, 0][..]);
    assert!(storage.path(1).is_none());
    assert!(storage.file_exists(1));
}

#[test]
fn open_handles_stay_bounded() {
    let dir = TempDir::new();
    let files = (0..300).map(|i| FileEntry::new([format!("f{i}")], 100));
    let layout = Layout::new(files.collect(), 1000).unwrap();
    let data = content(&layout, 5);
    let storage = FileStorage::new(dir.path(), layout.clone())
        .unwrap()
        .with_max_open_files(4);
    write_all(&storage, &data);
    assert!(storage.open_files() <= 4);
    for p in (0..layout.piece_count()).rev() {
        assert_eq!(
            storage.read(p, 0, layout.piece_size(p)).unwrap(),
            piece_of(&layout, &data, p)
        );
        assert!(storage.open_files() <= 4);
    }
    storage.flush().unwrap();
    assert!(storage.open_files() <= 4);
}

#[test]
fn wrong_blocks_and_bad_pieces_are_typed_errors() {
    let dir = TempDir::new();
    let layout = three_files();
    let storage = FileStorage::new(dir.path(), layout).unwrap();
    assert!(matches!(
        storage.write_piece(0, &[Bytes::from_static(b"short")]),
        Err(StorageError::WrongPieceLength {
            piece: 0,
            expected: 16,
            actual: 5
        })
    ));
    assert!(matches!(
        storage.write_piece(4, &[]),
        Err(StorageError::OutOfRange { piece: 4, .. })
    ));
    assert!(matches!(
        storage.read(0, u32::MAX, 2),
        Err(StorageError::OutOfRange { .. })
    ));
    // Nothing was written.
    assert!(fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn hostile_paths_cannot_escape_the_root() {
    let dir = TempDir::new();
    let root = dir.path().join("root");
    let hostile: [&[&str]; 9] = [
        &[".."],
        &["..", "escaped"],
        &["a", "..", "..", "escaped"],
        &["/tmp/escaped"],
        &["a/../../escaped"],
        &["..\\escaped"],
        &[""],
        &["."],
        &[],
    ];
    for path in hostile {
        let layout = Layout::new(
            vec![
                FileEntry::new(["ok"], 4),
                FileEntry::new(path.iter().copied(), 4),
            ],
            4,
        )
        .unwrap();
        assert!(
            matches!(
                FileStorage::new(&root, layout),
                Err(StorageError::PathEscapesRoot(_))
            ),
            "{path:?} accepted"
        );
    }
    assert!(!root.exists());
    assert!(!dir.path().join("escaped").exists());
    // A name made of dots but not `..` is an ordinary file inside the root.
    let layout = Layout::new(vec![FileEntry::new(["...", "..a"], 4)], 4).unwrap();
    let storage = FileStorage::new(&root, layout).unwrap();
    storage
        .write_piece(0, &[Bytes::from_static(b"data")])
        .unwrap();
    assert_eq!(fs::read(root.join(".../..a")).unwrap(), b"data");
}

#[test]
fn concurrent_writers_and_readers() {
    let dir = TempDir::new();
    let files = (0..20).map(|i| FileEntry::new(["c".to_owned(), format!("{i}")], 3000 + i));
    let layout = Layout::new(files.collect(), 4096).unwrap();
    let data = content(&layout, 6);
    let storage = FileStorage::new(dir.path(), layout.clone())
        .unwrap()
        .with_max_open_files(3);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (storage, layout, data) = (&storage, &layout, &data);
            s.spawn(move || {
                for p in (t..layout.piece_count()).step_by(4) {
                    storage
                        .write_piece(p, &blocks(layout, data, p, 1000))
                        .unwrap();
                    assert_eq!(
                        storage.read(p, 0, layout.piece_size(p)).unwrap(),
                        piece_of(layout, data, p)
                    );
                }
            });
        }
    });
    storage.flush().unwrap();
    for (i, f) in layout.files().iter().enumerate() {
        let start = layout.file_offset(i) as usize;
        let disk = fs::read(dir.path().join("c").join(i.to_string())).unwrap();
        assert_eq!(disk, &data[start..start + f.length() as usize]);
    }
}

/// Env var telling a child run of the test below that it is the child.
const FD_CHILD: &str = "MONSOON_STORAGE_TEST_FD_CHILD";

/// With far fewer descriptors than the cache may hold, an open that fails
/// with EMFILE closes the cached handles, shrinks the cache, and retries:
/// every write and read succeeds. The limit is per process, so the test
/// runs itself again in a child under `ulimit -n 32`.
#[test]
fn running_out_of_descriptors_sheds_cached_files_and_retries() {
    let name = "file::running_out_of_descriptors_sheds_cached_files_and_retries";
    if std::env::var_os(FD_CHILD).is_some() {
        return under_a_low_fd_limit();
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 32 && exec \"$0\" \"$@\"")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(FD_CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // The child ran this very test (not zero tests).
    assert!(text.contains("1 passed"), "{text}");
}

fn under_a_low_fd_limit() {
    let dir = TempDir::new();
    let files = (0..300).map(|i| FileEntry::new(["d".to_owned(), format!("f{i}")], 10 + i % 7));
    let layout = Layout::new(files.collect(), 1000).unwrap();
    let data = content(&layout, 8);
    let storage = FileStorage::new(dir.path(), layout.clone())
        .unwrap()
        .with_max_open_files(10_000);
    // Each piece spans about 80 files, more than the process may open.
    write_all(&storage, &data);
    storage.flush().unwrap();
    assert!(
        storage.max_open_files() < 32,
        "{}",
        storage.max_open_files()
    );
    for p in 0..layout.piece_count() {
        assert_eq!(
            storage.read(p, 0, layout.piece_size(p)).unwrap(),
            piece_of(&layout, &data, p)
        );
    }
    let h = hashes(&layout, &data);
    assert!(recheck(&storage, &h, 4).unwrap().iter().all(|&v| v));
    assert!(storage.open_files() < 32);
}
