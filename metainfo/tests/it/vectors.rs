//! Test vectors from libtorrent's `create_torrent` (v2 and hybrid torrents of
//! files whose bytes are [`data`]; `tests/fixtures/make_fixtures.py` makes
//! them): our parser reads the same info-hashes, roots and piece layers;
//! the merkle code computes the same roots and layers from the data; proofs
//! built from them check against libtorrent's roots; and `create_torrent`
//! makes byte-identical info dictionaries.

use std::path::PathBuf;

use monsoon_metainfo::merkle::{self, BLOCK_SIZE, Hash256, MerkleTree};
use monsoon_metainfo::{CreateOptions, MetaVersion, Metainfo, create_torrent};
use serde_json::Value;

use crate::libtorrent::{compare, hex};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The bytes of a source file: `content(seed, len)` in make_fixtures.py.
fn data(seed: u64, len: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed * 17 + (i >> 9)) % 251) as u8)
        .collect()
}

fn vectors() -> Vec<(String, Value)> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("created.json")).unwrap()).unwrap();
    let v: Vec<(String, Value)> = v.as_object().unwrap().clone().into_iter().collect();
    assert_eq!(v.len(), 6, "regenerate with make_fixtures.py");
    v
}

fn unhex32(s: &str) -> Hash256 {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// The sources of a vector: (path inside the torrent, bytes).
fn sources(v: &Value) -> Vec<(String, Vec<u8>)> {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let (seed, len) = (s["seed"].as_u64().unwrap(), s["length"].as_u64().unwrap());
            (s["path"].as_str().unwrap().to_owned(), data(seed, len))
        })
        .collect()
}

#[test]
fn parsing_libtorrent_torrents_gives_its_hashes_roots_and_layers() {
    for (name, v) in vectors() {
        let bytes = std::fs::read(fixtures().join(format!("created/{name}.torrent"))).unwrap();
        let m = Metainfo::from_bytes(&bytes).unwrap();
        let want = if v["version"] == "v2" {
            MetaVersion::V2
        } else {
            MetaVersion::Hybrid
        };
        assert_eq!(m.version, want, "{name}");
        let diffs = compare(&m, &v);
        assert!(diffs.is_empty(), "{name}: {diffs:?}");
        // Every file larger than a piece has its layer, as libtorrent wrote it.
        assert!(m.has_piece_layers(), "{name}");
        let layers = v["piece_layers"].as_object().unwrap();
        assert_eq!(m.piece_layers.len(), layers.len(), "{name}");
        for (i, layer) in &m.piece_layers {
            let root = hex(m.files.file(*i).pieces_root().unwrap());
            assert_eq!(layers[&root], hex(&layer.concat()), "{name} file {i}");
        }
        if m.version == MetaVersion::V2 {
            assert!(m.pieces.is_empty());
            assert_eq!(m.info_hash[..], m.info_hash_v2.unwrap()[..20]);
        }
    }
}

#[test]
fn merkle_roots_and_layers_from_the_data_match_libtorrent() {
    let mut checked = 0;
    for (name, v) in vectors() {
        let piece_length = v["piece_length"].as_u64().unwrap();
        let bpp = (piece_length / u64::from(BLOCK_SIZE)) as u32;
        for (path, bytes) in sources(&v) {
            let lt = v["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["path"].as_str().unwrap().ends_with(&path))
                .unwrap();
            let leaves: Vec<Hash256> = bytes
                .chunks(BLOCK_SIZE as usize)
                .map(merkle::block_hash)
                .collect();
            if bytes.is_empty() {
                assert!(lt["root"].is_null());
                continue;
            }
            let root = unhex32(lt["root"].as_str().unwrap());
            assert_eq!(merkle::root_from_leaves(&leaves), root, "{name} {path}");
            let tree = MerkleTree::from_leaves(&leaves);
            assert_eq!(tree.root(), root);
            if bytes.len() as u64 > piece_length {
                let layer = merkle::piece_layer(&leaves, bpp as usize);
                assert_eq!(
                    hex(&layer.concat()),
                    v["piece_layers"][hex(&root)],
                    "{name} {path}"
                );
                assert_eq!(merkle::root_from_piece_layer(&layer, bpp), root);
                check_proofs(
                    &MerkleTree::from_piece_layer(&layer, bpp),
                    &root,
                    bpp.trailing_zeros(),
                );
            }
            check_proofs(&tree, &root, 0);
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} files checked");
}

/// Every node of layers `base..` with every proof length that reaches the
/// root verifies against libtorrent's `root`; a changed hash, a changed
/// uncle or the wrong index does not.
fn check_proofs(tree: &MerkleTree, root: &Hash256, base: u32) {
    let leaves = tree.leaf_count();
    let mut layer = base;
    while let Some(nodes) = tree.layer(layer) {
        for count in [1u32, 2, 4]
            .into_iter()
            .filter(|&c| c as usize <= nodes.len())
        {
            for index in (0..nodes.len() as u32).step_by(count as usize) {
                let (hashes, uncles) = tree.hashes(layer, index, count, 64).unwrap();
                let i = u64::from(index);
                assert!(merkle::verify_hashes(
                    root, leaves, layer, i, &hashes, &uncles
                ));
                let mut bad = hashes.clone();
                bad[0][31] ^= 0x80;
                assert!(!merkle::verify_hashes(
                    root, leaves, layer, i, &bad, &uncles
                ));
                if let Some(u) = uncles.first() {
                    let mut bad = uncles.clone();
                    bad[0] = merkle::parent(u, u);
                    assert!(!merkle::verify_hashes(
                        root, leaves, layer, i, &hashes, &bad
                    ));
                    let other = i ^ u64::from(count);
                    if hashes != tree.layer(layer).unwrap()[other as usize..][..count as usize] {
                        assert!(!merkle::verify_hashes(
                            root, leaves, layer, other, &hashes, &uncles
                        ));
                    }
                }
            }
        }
        layer += 1;
    }
}

#[test]
fn create_makes_the_same_info_dictionary_as_libtorrent() {
    let root =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("vectors-{}", std::process::id()));
    for (name, v) in vectors() {
        let dir = root.join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        let srcs = sources(&v);
        let single = srcs.len() == 1;
        let top = if single {
            dir.join(&srcs[0].0)
        } else {
            dir.join(&name)
        };
        for (path, bytes) in &srcs {
            let p = if single { top.clone() } else { top.join(path) };
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        let version = if v["version"] == "v2" {
            MetaVersion::V2
        } else {
            MetaVersion::Hybrid
        };
        let opts = CreateOptions {
            piece_length: Some(v["piece_length"].as_u64().unwrap() as u32),
            version,
            threads: 2,
            ..CreateOptions::default()
        };
        let ours = Metainfo::from_bytes(&create_torrent(&top, &opts).unwrap()).unwrap();
        let theirs = std::fs::read(fixtures().join(format!("created/{name}.torrent"))).unwrap();
        let theirs = Metainfo::from_bytes(&theirs).unwrap();
        assert_eq!(ours.info_bytes, theirs.info_bytes, "{name}");
        assert_eq!(ours.info_hash, theirs.info_hash, "{name}");
        assert_eq!(ours.info_hash_v2, theirs.info_hash_v2, "{name}");
        assert_eq!(ours.piece_layers, theirs.piece_layers, "{name}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
