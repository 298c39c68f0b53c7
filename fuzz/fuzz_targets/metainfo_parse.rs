//! Parse arbitrary bytes as a .torrent (and as a magnet link); whatever is
//! accepted must be self-consistent and keep every file inside the folder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monsoon_metainfo::{Magnet, Metainfo, is_contained};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metainfo::from_bytes(data) {
        let mut offset = 0u64;
        for f in &m.files {
            assert_eq!(f.offset, offset);
            offset += f.length;
            assert!(is_contained(&f.relative_path()), "{:?}", f.path);
        }
        assert_eq!(offset, m.total_length);
        assert!(m.total_length > 0);
        assert_eq!(
            u64::from(m.piece_count()),
            m.total_length.div_ceil(u64::from(m.piece_length))
        );
        assert_eq!(Metainfo::from_bytes(data).as_ref(), Ok(&m));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(m) = Magnet::parse(s) {
            assert_eq!(m.info_hash_hex().len(), 40);
        }
    }
});
