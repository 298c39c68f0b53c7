//! MemoryStorage: the in-memory storage behaves like the file one.

use std::sync::Arc;

use bytes::Bytes;
use monsoon_storage::{FileEntry, Layout, MemoryStorage, Storage, StorageError, check_piece};

use crate::util::{blocks, content, hashes};

fn layout() -> Layout {
    Layout::new(
        vec![
            FileEntry::new(["a"], 5),
            FileEntry::padding(3),
            FileEntry::new(["b"], 0),
            FileEntry::new(["c"], 9),
        ],
        4,
    )
    .unwrap()
}

#[test]
fn from_bytes_serves_every_piece() {
    let layout = layout();
    let data = content(&layout, 20);
    let storage: Arc<dyn Storage> =
        Arc::new(MemoryStorage::from_bytes(layout.clone(), &data).unwrap());
    let h = hashes(&layout, &data);
    for p in 0..layout.piece_count() {
        assert!(check_piece(storage.as_ref(), p, &h[p as usize]).unwrap());
    }
    assert!(matches!(
        MemoryStorage::from_bytes(layout, &data[1..]),
        Err(StorageError::DataLengthMismatch {
            expected: 17,
            actual: 16
        })
    ));
}

#[test]
fn files_exist_once_written() {
    let layout = layout();
    let data = content(&layout, 21);
    let storage = MemoryStorage::new(layout.clone());
    assert!(
        matches!(storage.read(0, 0, 1), Err(StorageError::NotFound { path }) if path.ends_with("a"))
    );
    assert!(!storage.file_exists(0));
    assert!(!storage.file_exists(99));
    // Piece 1 holds the last byte of "a" and the padding.
    storage
        .write_piece(1, &blocks(&layout, &data, 1, 1))
        .unwrap();
    assert!(storage.file_exists(0));
    assert!(!storage.file_exists(3));
    assert_eq!(storage.file_bytes(0), [0, 0, 0, 0, data[4]]);
    assert_eq!(storage.file_bytes(1), [0; 3]);
    assert_eq!(storage.file_bytes(3), [0; 9]);
    assert_eq!(storage.read(1, 0, 4).unwrap(), &[data[4], 0, 0, 0][..]);
    let mut buf = [9u8; 2];
    storage.read_into(0, 3, &mut buf[..1]).unwrap();
    assert_eq!(buf, [0, 9]);
    assert!(matches!(
        storage.read_into(4, 0, &mut buf),
        Err(StorageError::OutOfRange { piece: 4, .. })
    ));
    assert!(matches!(
        storage.write_piece(0, &[Bytes::from_static(b"abc")]),
        Err(StorageError::WrongPieceLength { .. })
    ));
    storage.flush().unwrap();
}
