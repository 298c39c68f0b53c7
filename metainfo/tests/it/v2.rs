//! BEP 52 v2 and hybrid torrents built in memory: round-trips of random
//! file trees, the implied padding, limits, and hostile input (every
//! truncation, random corruption) giving typed errors, never a panic.

use monsoon_bencode::{ErrorKind, OwnedValue};
use monsoon_metainfo::merkle::{self, BLOCK_SIZE, Hash256};
use monsoon_metainfo::{MAX_PATH_DEPTH, MetaVersion, Metainfo, MetainfoError, is_contained};
use proptest::prelude::*;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Deterministic file bytes.
fn content(seed: u64, len: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(seed | 1) >> 3) as u8 ^ seed as u8)
        .collect()
}

/// One file of a tree: its path under the torrent folder and its bytes.
#[derive(Debug, Clone)]
struct Src {
    path: Vec<String>,
    data: Vec<u8>,
}

/// A v2 (or, with `hybrid`, hybrid) torrent for `files`, with `piece
/// layers`; returns the encoded torrent and its info dictionary.
fn build(name: &str, files: &[Src], piece_length: u64, hybrid: bool) -> (Vec<u8>, OwnedValue) {
    let bpp = (piece_length / u64::from(BLOCK_SIZE)) as usize;
    let mut tree = OwnedValue::dict();
    let mut layers = OwnedValue::dict();
    let mut v1_files = Vec::new();
    let mut stream = Vec::new();
    for f in files {
        let leaves: Vec<Hash256> = f
            .data
            .chunks(BLOCK_SIZE as usize)
            .map(merkle::block_hash)
            .collect();
        let mut leaf = OwnedValue::dict().insert("length", (f.data.len() as i64).into());
        if !f.data.is_empty() {
            let root = merkle::root_from_leaves(&leaves);
            leaf = leaf.insert("pieces root", OwnedValue::bytes(root));
            if f.data.len() as u64 > piece_length {
                let layer = merkle::piece_layer(&leaves, bpp);
                layers = layers.insert(root, OwnedValue::bytes(layer.concat()));
            }
        }
        tree = insert(tree, &f.path, OwnedValue::dict().insert("", leaf));
        let path: Vec<OwnedValue> = f
            .path
            .iter()
            .map(|c| OwnedValue::from(c.as_str()))
            .collect();
        v1_files.push(
            OwnedValue::dict()
                .insert("length", (f.data.len() as i64).into())
                .insert("path", path.into()),
        );
        stream.extend_from_slice(&f.data);
        let rest = stream.len() as u64 % piece_length;
        if !f.data.is_empty() && rest != 0 {
            let pad = piece_length - rest;
            stream.resize(stream.len() + pad as usize, 0);
            v1_files.push(
                OwnedValue::dict()
                    .insert("attr", "p".into())
                    .insert("length", (pad as i64).into())
                    .insert(
                        "path",
                        vec![
                            OwnedValue::from(".pad"),
                            OwnedValue::from(pad.to_string().as_str()),
                        ]
                        .into(),
                    ),
            );
        }
    }
    let mut info = OwnedValue::dict()
        .insert("name", name.into())
        .insert("meta version", 2.into())
        .insert("piece length", (piece_length as i64).into())
        .insert("file tree", tree);
    if hybrid {
        let pieces: Vec<u8> = stream
            .chunks(piece_length as usize)
            .flat_map(|c| <[u8; 20]>::from(Sha1::digest(c)))
            .collect();
        info = info
            .insert("files", v1_files.into())
            .insert("pieces", pieces.into());
    }
    let top = OwnedValue::dict()
        .insert("info", info.clone())
        .insert("piece layers", layers);
    (top.encode(), info)
}

/// Inserts `leaf` at `path` in a nested dictionary.
fn insert(dir: OwnedValue, path: &[String], leaf: OwnedValue) -> OwnedValue {
    let OwnedValue::Dict(mut d) = dir else {
        unreachable!()
    };
    let key = path[0].as_bytes().to_vec();
    if path.len() == 1 {
        d.insert(key, leaf);
    } else {
        let sub = d.remove(&key).unwrap_or_else(OwnedValue::dict);
        d.insert(key, insert(sub, &path[1..], leaf));
    }
    OwnedValue::Dict(d)
}

fn src(path: &[&str], seed: u64, len: u64) -> Src {
    Src {
        path: path.iter().map(|c| (*c).to_owned()).collect(),
        data: content(seed, len),
    }
}

fn sample() -> Vec<Src> {
    vec![
        src(&["a.bin"], 1, 70_000),
        src(&["d", "e", "one"], 2, 1),
        src(&["d", "empty"], 3, 0),
        src(&["z"], 4, 32768),
    ]
}

#[test]
fn v2_files_are_padded_to_piece_boundaries() {
    let (bytes, info) = build("t", &sample(), 32768, false);
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.version, MetaVersion::V2);
    let digest: [u8; 32] = Sha256::digest(info.encode()).into();
    assert_eq!(m.info_hash_v2, Some(digest));
    assert_eq!(m.info_hash[..], digest[..20]);
    assert!(m.pieces.is_empty());
    let got: Vec<(String, u64, u64, bool)> = m
        .files
        .iter()
        .map(|f| (f.path().to_string(), f.length(), f.offset(), f.is_padding()))
        .collect();
    assert_eq!(
        got,
        [
            ("t/a.bin".to_owned(), 70_000, 0, false),
            ("t/.pad/28304".to_owned(), 28_304, 70_000, true),
            ("t/d/e/one".to_owned(), 1, 98_304, false),
            ("t/.pad/32767".to_owned(), 32_767, 98_305, true),
            ("t/d/empty".to_owned(), 0, 131_072, false),
            ("t/z".to_owned(), 32_768, 131_072, false),
        ]
    );
    assert_eq!((m.total_length, m.piece_count()), (163_840, 5));
    // The 3-piece file has its layer; one-piece files use their root.
    assert_eq!(m.piece_layer(0).unwrap().len(), 3);
    assert_eq!(
        m.piece_layer(2),
        Some(&[*m.files.file(2).pieces_root().unwrap()][..])
    );
    assert_eq!(m.piece_layer(1), None);
    assert_eq!(m.piece_layer(4), None);
    assert!(m.has_piece_layers());
}

#[test]
fn hybrid_keeps_the_v1_view() {
    let (bytes, info) = build("t", &sample(), 32768, true);
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.version, MetaVersion::Hybrid);
    assert_eq!(m.info_hash, <[u8; 20]>::from(Sha1::digest(info.encode())));
    assert_eq!(m.pieces.len(), 5);
    assert_eq!(m.files.len(), 6);
    assert!(m.files.file(1).is_padding() && m.files.file(3).is_padding());
}

#[test]
fn a_v2_single_file_is_named_by_its_key() {
    let (bytes, _) = build("name-field", &[src(&["key.bin"], 1, 20_000)], 16384, false);
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert!(!m.multi_file);
    assert_eq!(m.name, "key.bin");
    assert_eq!(m.files.file(0).path(), ["key.bin"]);
    assert!(m.files.file(1).is_padding());
    assert_eq!(m.total_length, 32768);
}

#[test]
fn missing_piece_layers_are_allowed_but_known() {
    let (bytes, info) = build("t", &sample(), 32768, false);
    let no_layers = OwnedValue::dict().insert("info", info).encode();
    let m = Metainfo::from_bytes(&no_layers).unwrap();
    assert!(m.piece_layers.is_empty());
    assert!(!m.has_piece_layers());
    assert_eq!(m.piece_layer(0), None);
    assert_eq!(
        m.info_hash_v2,
        Metainfo::from_bytes(&bytes).unwrap().info_hash_v2
    );
}

#[test]
fn deep_trees_are_rejected() {
    let deep: Vec<String> = (0..=MAX_PATH_DEPTH).map(|i| format!("d{i}")).collect();
    let files = [Src {
        path: deep,
        data: content(1, 10),
    }];
    let (bytes, _) = build("t", &files, 16384, false);
    assert!(matches!(
        Metainfo::from_bytes(&bytes),
        Err(MetainfoError::PathTooDeep { file: 0, .. })
    ));
    let ok: Vec<String> = (0..MAX_PATH_DEPTH).map(|i| format!("d{i}")).collect();
    let (bytes, _) = build(
        "t",
        &[Src {
            path: ok,
            data: content(1, 10),
        }],
        16384,
        false,
    );
    assert_eq!(
        Metainfo::from_bytes(&bytes)
            .unwrap()
            .files
            .file(0)
            .path()
            .len(),
        MAX_PATH_DEPTH + 1
    );
}

#[test]
fn every_truncation_is_a_typed_error() {
    for hybrid in [false, true] {
        let (bytes, _) = build("t", &sample(), 32768, hybrid);
        for cut in 0..bytes.len() {
            match Metainfo::from_bytes(&bytes[..cut]) {
                Err(MetainfoError::Bencode(e)) => assert_eq!(e.kind, ErrorKind::UnexpectedEof),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        assert!(Metainfo::from_bytes(&bytes).is_ok());
    }
}

#[test]
fn removing_any_info_key_is_a_typed_error_or_a_valid_torrent() {
    let (_, info) = build("t", &sample(), 32768, true);
    let OwnedValue::Dict(d) = &info else {
        unreachable!()
    };
    for key in d.keys() {
        let mut smaller = d.clone();
        smaller.remove(key);
        let t = OwnedValue::dict()
            .insert("info", OwnedValue::Dict(smaller))
            .encode();
        let r = Metainfo::from_bytes(&t);
        match key.as_slice() {
            // Without `files` it is a valid v2-only torrent.
            b"files" => assert_eq!(r.unwrap().version, MetaVersion::V2),
            b"pieces" => assert_eq!(r, Err(MetainfoError::MissingPieces)),
            b"meta version" => assert_eq!(r, Err(MetainfoError::FileTreeWithoutVersion)),
            b"file tree" => assert_eq!(r, Err(MetainfoError::MissingFileTree)),
            b"name" => assert_eq!(r, Err(MetainfoError::MissingName)),
            b"piece length" => assert_eq!(r, Err(MetainfoError::MissingPieceLength)),
            k => panic!("{}: {r:?}", String::from_utf8_lossy(k)),
        }
    }
}

/// Random file trees: a few names at each level, sizes around piece and
/// block boundaries.
fn tree() -> impl Strategy<Value = (Vec<Src>, u64)> {
    let name = prop::sample::select(vec!["a", "b", "c", "D", "é", "x.bin"]);
    let path = prop::collection::vec(name, 1..4);
    let len = prop_oneof![
        Just(0u64),
        1u64..40_000,
        prop::sample::select(vec![16383u64, 16384, 16385, 32768, 65537]),
    ];
    let files = prop::collection::vec((path, len, any::<u64>()), 1..6);
    let piece = prop::sample::select(vec![16384u64, 32768, 65536]);
    (files, piece).prop_map(|(files, piece)| {
        // Paths must form a tree: no file where another one's folder is.
        let mut out: Vec<Src> = Vec::new();
        for (p, len, seed) in files {
            let p: Vec<String> = p.into_iter().map(str::to_owned).collect();
            let clash = out.iter().any(|o| {
                let n = o.path.len().min(p.len());
                o.path[..n] == p[..n]
            });
            if !clash {
                out.push(Src {
                    path: p,
                    data: content(seed, len),
                });
            }
        }
        // Tree order: byte order of the components.
        out.sort_by(|a, b| a.path.cmp(&b.path));
        (out, piece)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_trees_round_trip((files, piece) in tree(), hybrid in any::<bool>()) {
        let (bytes, info) = build("t", &files, piece, hybrid);
        let total_data: u64 = files.iter().map(|f| f.data.len() as u64).sum();
        let m = match Metainfo::from_bytes(&bytes) {
            Ok(m) => m,
            Err(e) => {
                prop_assert_eq!(total_data, 0);
                prop_assert_eq!(e, MetainfoError::ZeroTotalLength);
                return Ok(());
            }
        };
        prop_assert_eq!(&m.info_bytes, &info.encode());
        prop_assert_eq!(m.version, if hybrid { MetaVersion::Hybrid } else { MetaVersion::V2 });
        let data: Vec<_> = m.files.iter().filter(|f| !f.is_padding()).collect();
        prop_assert_eq!(data.len(), files.len());
        for (f, s) in data.iter().zip(&files) {
            let single = !m.multi_file;
            let want: Vec<String> = if single {
                s.path.clone()
            } else {
                std::iter::once("t".to_owned()).chain(s.path.iter().cloned()).collect()
            };
            prop_assert_eq!(f.path(), want);
            prop_assert_eq!(f.length(), s.data.len() as u64);
            if f.length() > 0 {
                // Every file with data starts a piece.
                prop_assert_eq!(f.offset() % piece, 0);
                let leaves: Vec<Hash256> = s.data.chunks(BLOCK_SIZE as usize).map(merkle::block_hash).collect();
                prop_assert_eq!(f.pieces_root(), Some(&merkle::root_from_leaves(&leaves)));
            } else {
                prop_assert_eq!(f.pieces_root(), None);
            }
        }
        prop_assert!(m.has_piece_layers());
        prop_assert_eq!(m.total_length, m.files.iter().map(|f| f.length()).sum::<u64>());
    }

    #[test]
    fn corrupted_v2_torrents_are_rejected_or_consistent(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        hybrid in any::<bool>(),
    ) {
        let (mut bytes, _) = build("t", &sample(), 32768, hybrid);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(m) = Metainfo::from_bytes(&bytes) {
            let mut offset = 0;
            for (i, f) in m.files.iter().enumerate() {
                prop_assert_eq!(f.offset(), offset);
                offset += f.length();
                prop_assert!(is_contained(&f.path().to_path_buf()));
                if let Some(layer) = m.piece_layers.get(&i) {
                    let bpp = m.piece_length / BLOCK_SIZE;
                    prop_assert_eq!(Some(&merkle::root_from_piece_layer(layer, bpp)), f.pieces_root());
                }
            }
            prop_assert_eq!(offset, m.total_length);
            prop_assert_eq!(m.pieces.len(), if m.version.has_v1() { m.piece_count() as usize } else { 0 });
        }
    }
}
