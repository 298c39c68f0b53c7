//! Property tests: spans against a byte-by-byte model, and read-after-write
//! equality for both storages.

use bytes::Bytes;
use monsoon_storage::{FileEntry, FileStorage, Layout, MemoryStorage, Storage};
use proptest::prelude::*;

use crate::util::TempDir;

/// Files (length, is padding) and a piece length.
fn layout_strategy() -> impl Strategy<Value = Layout> {
    (
        prop::collection::vec((0u64..300, prop::bool::weighted(0.2)), 0..8),
        1u32..100,
    )
        .prop_map(|(files, piece_len)| {
            let files = files
                .into_iter()
                .enumerate()
                .map(|(i, (len, pad))| {
                    if pad {
                        FileEntry::padding(len)
                    } else {
                        FileEntry::new(["d".to_owned(), format!("f{i}")], len)
                    }
                })
                .collect();
            Layout::new(files, piece_len).unwrap()
        })
}

/// For every byte of the torrent: (file, offset in file).
fn byte_owners(layout: &Layout) -> Vec<(usize, u64)> {
    layout
        .files()
        .iter()
        .enumerate()
        .flat_map(|(i, f)| (0..f.length()).map(move |o| (i, o)))
        .collect()
}

proptest! {
    #[test]
    fn spans_match_the_byte_model(layout in layout_strategy(), begin in 0u32..120, len in 0u32..120) {
        let owners = byte_owners(&layout);
        prop_assert_eq!(owners.len() as u64, layout.total_len());
        for piece in 0..layout.piece_count() + 1 {
            let spans = layout.spans(piece, begin, len);
            let range = layout.piece_range(piece);
            let start = (range.start + u64::from(begin)).min(range.end);
            let end = (start + u64::from(len)).min(range.end);
            let mut expected = start;
            for s in &spans {
                prop_assert!(s.len > 0);
                prop_assert_eq!(u64::from(s.piece_offset), expected - range.start);
                prop_assert_eq!(s.padding, layout.files().file(s.file).is_padding());
                for k in 0..u64::from(s.len) {
                    prop_assert_eq!(owners[(expected + k) as usize], (s.file, s.file_offset + k));
                }
                expected += u64::from(s.len);
            }
            prop_assert_eq!(expected, end);
        }
        for (i, f) in layout.files().iter().enumerate() {
            let pieces = layout.file_pieces(i);
            let pl = u64::from(layout.piece_len());
            let model: Vec<u32> = (0..layout.piece_count())
                .filter(|&p| {
                    let s = u64::from(p) * pl;
                    let e = s + pl;
                    f.length() > 0 && s < layout.file_offset(i) + f.length() && layout.file_offset(i) < e
                })
                .collect();
            prop_assert_eq!(pieces.clone().collect::<Vec<_>>(), model);
        }
    }

    #[test]
    fn read_after_write_matches_the_model(
        layout in layout_strategy(),
        writes in prop::collection::vec((any::<u32>(), 1usize..40, any::<u8>()), 0..20),
        reads in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 1..20),
    ) {
        let dir = TempDir::new();
        let files = FileStorage::new(dir.path(), layout.clone()).unwrap().with_max_open_files(2);
        let memory = MemoryStorage::new(layout.clone());
        let storages: [&dyn Storage; 2] = [&files, &memory];
        // The model: torrent bytes, and which files have been created.
        let mut model = vec![0u8; layout.total_len() as usize];
        let mut created = vec![false; layout.files().len()];
        let count = layout.piece_count();
        for (piece, block, fill) in writes {
            if count == 0 {
                break;
            }
            let piece = piece % count;
            let range = layout.piece_range(piece);
            let data: Vec<u8> = (0..range.end - range.start)
                .map(|k| fill.wrapping_add(k as u8))
                .collect();
            // Padding must hold zeros, as in a real torrent.
            let mut data = data;
            for span in layout.spans(piece, 0, layout.piece_size(piece)) {
                if span.padding {
                    let at = span.piece_offset as usize;
                    data[at..at + span.len as usize].fill(0);
                } else {
                    created[span.file] = true;
                }
            }
            model[range.start as usize..range.end as usize].copy_from_slice(&data);
            let blocks: Vec<Bytes> = data.chunks(block).map(Bytes::copy_from_slice).collect();
            for s in storages {
                s.write_piece(piece, &blocks).unwrap();
            }
        }
        for (i, f) in layout.files().iter().enumerate() {
            let start = layout.file_offset(i) as usize;
            prop_assert_eq!(memory.file_bytes(i), &model[start..start + f.length() as usize]);
            if !f.is_padding() && f.length() > 0 {
                prop_assert_eq!(files.file_exists(i), created[i]);
                prop_assert_eq!(memory.file_exists(i), created[i]);
            }
        }
        for (piece, begin, len) in reads {
            let piece = piece % (count + 1);
            let size = layout.piece_size(piece);
            let begin = begin % (size + 2);
            let len = len % (size + 2);
            let in_range = layout.contains(piece, begin, len);
            let needs_missing = layout
                .spans(piece, begin, len)
                .iter()
                .any(|s| !s.padding && !created[s.file]);
            for s in storages {
                match s.read(piece, begin, len) {
                    Ok(got) => {
                        prop_assert!(in_range && !needs_missing);
                        let start = (layout.piece_range(piece).start + u64::from(begin)) as usize;
                        prop_assert_eq!(&got[..], &model[start..start + len as usize]);
                    }
                    Err(e) => prop_assert!(!in_range || (needs_missing && e.is_missing_data()), "{e}"),
                }
            }
        }
    }
}
