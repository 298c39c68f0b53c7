//! Parse arbitrary bytes as a .torrent (v1, v2 or hybrid) and as a magnet
//! link; whatever is accepted must be self-consistent, keep every file and
//! symlink target inside the folder, and carry piece layers that hash to
//! their roots.
#![no_main]
use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use monsoon_metainfo::{Magnet, MetaVersion, Metainfo, is_contained, merkle};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metainfo::from_bytes(data) {
        let mut offset = 0u64;
        let mut seen = HashSet::new();
        for (i, f) in m.files.iter().enumerate() {
            assert_eq!(f.offset(), offset);
            offset += f.length();
            let path = f.path();
            assert!(is_contained(&path.to_path_buf()), "{path:?}");
            if !f.is_padding() {
                assert!(
                    seen.insert(path.to_string().to_ascii_lowercase()),
                    "{path:?}"
                );
            }
            if let Some(target) = f.symlink() {
                assert_eq!(f.length(), 0);
                assert!(is_contained(&target.to_path_buf()));
                assert_eq!(target.components().next(), path.components().next());
            }
            if f.pieces_root().is_some() && m.version == MetaVersion::V2 {
                assert_eq!(f.offset() % u64::from(m.piece_length), 0);
            }
            if let Some(layer) = m.piece_layers.get(&i) {
                let bpp = m.piece_length / merkle::BLOCK_SIZE;
                let root = merkle::root_from_piece_layer(layer, bpp);
                assert_eq!(Some(&root), f.pieces_root());
            }
        }
        assert_eq!(offset, m.total_length);
        assert!(m.total_length > 0);
        assert_eq!(
            u64::from(m.piece_count()),
            m.total_length.div_ceil(u64::from(m.piece_length))
        );
        match m.version {
            MetaVersion::V1 => assert!(m.info_hash_v2.is_none()),
            MetaVersion::V2 => {
                assert!(m.pieces.is_empty());
                assert_eq!(m.info_hash[..], m.info_hash_v2.unwrap()[..20]);
            }
            MetaVersion::Hybrid => assert!(m.info_hash_v2.is_some()),
        }
        if m.version.has_v1() {
            assert_eq!(m.pieces.len(), m.piece_count() as usize);
        }
        assert_eq!(Metainfo::from_bytes(data).as_ref(), Ok(&m));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(m) = Magnet::parse(s) {
            assert_eq!(m.info_hash_hex().len(), 40);
            if let Some(v2) = m.info_hash_v2 {
                assert!(m.has_v1 || m.info_hash[..] == v2[..20]);
            }
        }
    }
});
