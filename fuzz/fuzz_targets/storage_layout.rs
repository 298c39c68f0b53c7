//! Arbitrary bytes as a torrent layout (piece length: 2 bytes; file count:
//! 1 byte; per file 2 bytes of length and 1 of flags, bit 0 = padding) and
//! reads (piece, begin, len: 2 bytes each): spans must tile every piece exactly, and reads
//! from a `MemoryStorage` must return the bytes the layout says.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monsoon_storage::{FileEntry, Layout, MemoryStorage, Storage};

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let piece_len = u32::from(u16::from_le_bytes(*head));
    let Some((&count, rest)) = rest.split_first() else {
        return;
    };
    let (files, reads) = rest.split_at(rest.len().min(usize::from(count % 32) * 3));
    let files: Vec<FileEntry> = files
        .chunks_exact(3)
        .enumerate()
        .map(|(i, c)| {
            let len = u64::from(u16::from_le_bytes([c[0], c[1]]) % 4096);
            if c[2] & 1 == 1 {
                FileEntry::padding(len)
            } else {
                FileEntry::new([format!("f{i}")], len)
            }
        })
        .collect();
    let Ok(layout) = Layout::new(files, piece_len) else {
        assert_eq!(piece_len, 0);
        return;
    };
    let total = layout.total_len();
    let content: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    for p in 0..layout.piece_count() {
        let size = layout.piece_size(p);
        let mut at = 0;
        for s in layout.spans(p, 0, size) {
            assert!(s.len > 0);
            assert_eq!(s.piece_offset, at);
            assert_eq!(
                layout.file_offset(s.file) + s.file_offset,
                layout.piece_range(p).start + u64::from(at)
            );
            at += s.len;
        }
        assert_eq!(at, size);
    }
    let storage = MemoryStorage::from_bytes(layout.clone(), &content).unwrap();
    for r in reads.chunks_exact(6) {
        let piece = u32::from(u16::from_le_bytes([r[0], r[1]]));
        let begin = u32::from(u16::from_le_bytes([r[2], r[3]]));
        let len = u32::from(u16::from_le_bytes([r[4], r[5]]));
        match storage.read(piece, begin, len) {
            Ok(got) => {
                let start = (layout.piece_range(piece).start + u64::from(begin)) as usize;
                let mut want = content[start..start + len as usize].to_vec();
                // Padding reads as zeros whatever the content says.
                for s in layout.spans(piece, begin, len) {
                    if s.padding {
                        let at = (s.piece_offset - begin) as usize;
                        want[at..at + s.len as usize].fill(0);
                    }
                }
                assert_eq!(&got[..], &want[..]);
            }
            Err(_) => assert!(!layout.contains(piece, begin, len)),
        }
    }
});
