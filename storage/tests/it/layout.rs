//! Layout: offsets, piece sizes and the piece → file span mapping.

use monsoon_storage::{FileEntry, Layout, Span, StorageError};

fn f(name: &str, len: u64) -> FileEntry {
    FileEntry::new([name], len)
}

#[test]
fn single_file_pieces_and_last_piece() {
    let l = Layout::new(vec![f("a", 10)], 4).unwrap();
    assert_eq!(l.total_len(), 10);
    assert_eq!(l.piece_count(), 3);
    assert_eq!(
        (
            l.piece_size(0),
            l.piece_size(1),
            l.piece_size(2),
            l.piece_size(3)
        ),
        (4, 4, 2, 0)
    );
    assert_eq!(l.piece_range(2), 8..10);
    assert_eq!(
        l.spans(2, 0, 2),
        [Span {
            file: 0,
            file_offset: 8,
            len: 2,
            piece_offset: 0,
            padding: false
        }]
    );
    // Asking past the end of the last piece is clamped, and checked.
    assert_eq!(l.spans(2, 1, 10).len(), 1);
    assert_eq!(l.spans(2, 1, 10)[0].len, 1);
    assert!(l.spans(3, 0, 4).is_empty());
    assert!(matches!(
        l.check_range(2, 1, 2),
        Err(StorageError::OutOfRange {
            piece: 2,
            begin: 1,
            len: 2
        })
    ));
    assert!(l.check_range(2, 0, 2).is_ok());
    assert!(l.check_range(3, 0, 0).is_err());
}

#[test]
fn exact_multiple_of_piece_length() {
    let l = Layout::new(vec![f("a", 8)], 4).unwrap();
    assert_eq!((l.piece_count(), l.piece_size(1)), (2, 4));
}

#[test]
fn piece_spanning_many_files_including_empty_and_padding() {
    let l = Layout::new(
        vec![
            f("a", 3),
            f("empty1", 0),
            f("b", 2),
            FileEntry::padding(3),
            f("empty2", 0),
            f("c", 1),
            f("d", 7),
        ],
        8,
    )
    .unwrap();
    assert_eq!((l.total_len(), l.piece_count()), (16, 2));
    let spans = l.spans(0, 0, 8);
    let got: Vec<_> = spans
        .iter()
        .map(|s| (s.file, s.file_offset, s.len, s.piece_offset, s.padding))
        .collect();
    assert_eq!(
        got,
        [(0, 0, 3, 0, false), (2, 0, 2, 3, false), (3, 0, 3, 5, true),]
    );
    let got: Vec<_> = l
        .spans(1, 0, 8)
        .iter()
        .map(|s| (s.file, s.file_offset, s.len, s.piece_offset))
        .collect();
    assert_eq!(got, [(5, 0, 1, 0), (6, 0, 7, 1)]);
    // A range inside a piece starting mid-file.
    let got: Vec<_> = l
        .spans(0, 4, 3)
        .iter()
        .map(|s| (s.file, s.file_offset, s.len, s.piece_offset))
        .collect();
    assert_eq!(got, [(2, 1, 1, 4), (3, 0, 2, 5)]);
    assert_eq!(l.file_offset(4), 8);
    assert_eq!(l.file_pieces(0), 0..1);
    assert_eq!(l.file_pieces(1), 0..0);
    assert_eq!(l.file_pieces(4), 1..1);
    assert_eq!(l.file_pieces(6), 1..2);
    assert_eq!(l.file_pieces(99), 0..0);
}

#[test]
fn file_pieces_of_a_file_straddling_pieces() {
    let l = Layout::new(vec![f("a", 5), f("b", 10), f("c", 1)], 4).unwrap();
    assert_eq!(l.file_pieces(0), 0..2);
    assert_eq!(l.file_pieces(1), 1..4);
    assert_eq!(l.file_pieces(2), 3..4);
}

#[test]
fn files_smaller_than_a_block_share_one_piece() {
    let files: Vec<_> = (0..100).map(|i| f(&format!("f{i}"), 7)).collect();
    let l = Layout::new(files, 16 * 1024).unwrap();
    assert_eq!((l.piece_count(), l.piece_size(0)), (1, 700));
    let spans = l.spans(0, 0, 700);
    assert_eq!(spans.len(), 100);
    assert!(spans.iter().enumerate().all(|(i, s)| s.file == i
        && s.file_offset == 0
        && s.len == 7
        && s.piece_offset == 7 * i as u32));
}

#[test]
fn empty_torrent_has_no_pieces() {
    let l = Layout::new(vec![f("a", 0)], 4).unwrap();
    assert_eq!((l.total_len(), l.piece_count()), (0, 0));
    assert!(l.spans(0, 0, 4).is_empty());
    let l = Layout::new(vec![], 4).unwrap();
    assert_eq!(l.piece_count(), 0);
}

#[test]
fn bad_layouts_are_typed_errors() {
    assert!(matches!(
        Layout::new(vec![f("a", 1)], 0),
        Err(StorageError::ZeroPieceLength)
    ));
    assert!(matches!(
        Layout::new(vec![f("a", u64::MAX), f("b", 1)], 1 << 20),
        Err(StorageError::TooLarge)
    ));
    // More than u32::MAX pieces.
    assert!(matches!(
        Layout::new(vec![f("a", (1 << 32) + 1)], 1),
        Err(StorageError::TooLarge)
    ));
    // Exactly u32::MAX pieces is fine, and so is the largest piece size.
    let l = Layout::new(vec![f("a", u64::from(u32::MAX))], 1).unwrap();
    assert_eq!(l.piece_count(), u32::MAX);
    assert_eq!(l.piece_size(u32::MAX - 1), 1);
    assert!(matches!(
        Layout::new(vec![f("a", u64::MAX)], u32::MAX),
        Err(StorageError::TooLarge)
    ));
    let max = u64::from(u32::MAX);
    let l = Layout::new(vec![f("a", max * max - 1)], u32::MAX).unwrap();
    assert_eq!(l.piece_count(), u32::MAX);
    assert_eq!(l.piece_size(u32::MAX - 1), u32::MAX - 1);
    let last = l.spans(u32::MAX - 1, 1, u32::MAX);
    assert_eq!(
        (last.len(), last[0].len, last[0].file_offset),
        (1, u32::MAX - 2, max * (max - 1) + 1)
    );
}
