//! monsoon-metainfo integration tests (one binary): real-world-shaped
//! torrents, one malformed case per error, path sanitising, creation, magnet
//! links, property tests, and the heap a million files take (this binary
//! counts its allocations).

mod create;
mod heap;
mod libtorrent;
mod magnet;
mod malformed;
mod many_files;
mod paths;
mod v2;
mod vectors;

use monsoon_bencode::OwnedValue;
use monsoon_metainfo::{MetaVersion, Metainfo, MetainfoError};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// `n` distinct fake piece hashes.
pub(crate) fn hashes(n: usize) -> Vec<u8> {
    (0..n * 20).map(|i| (i % 251) as u8).collect()
}

pub(crate) fn s(v: &str) -> OwnedValue {
    OwnedValue::from(v)
}

pub(crate) fn list(items: &[&str]) -> OwnedValue {
    OwnedValue::List(items.iter().map(|i| s(i)).collect())
}

/// A single-file info dictionary.
pub(crate) fn single_info(name: &str, length: i64, piece_length: i64) -> OwnedValue {
    let n = (length as u64).div_ceil(piece_length as u64) as usize;
    OwnedValue::dict()
        .insert("name", s(name))
        .insert("length", length.into())
        .insert("piece length", piece_length.into())
        .insert("pieces", hashes(n).into())
}

/// A multi-file info dictionary from `(path, length)` pairs.
pub(crate) fn multi_info(name: &str, files: &[(&[&str], i64)], piece_length: i64) -> OwnedValue {
    let total = files.iter().fold(0i64, |a, f| a.saturating_add(f.1));
    let n = (total as u64).div_ceil(piece_length as u64).min(1000) as usize;
    let list = files
        .iter()
        .map(|(p, l)| {
            OwnedValue::dict()
                .insert("length", (*l).into())
                .insert("path", list(p))
        })
        .collect::<Vec<_>>();
    OwnedValue::dict()
        .insert("name", s(name))
        .insert("files", list.into())
        .insert("piece length", piece_length.into())
        .insert("pieces", hashes(n).into())
}

pub(crate) fn torrent(info: OwnedValue) -> OwnedValue {
    OwnedValue::dict()
        .insert("announce", s("http://tracker.example/announce"))
        .insert("info", info)
}

pub(crate) fn parse(v: &OwnedValue) -> Result<Metainfo, MetainfoError> {
    Metainfo::from_bytes(&v.encode())
}

fn sha1(b: &[u8]) -> [u8; 20] {
    Sha1::digest(b).into()
}

#[test]
fn single_file() {
    let info = single_info("ubuntu.iso", 100_000, 32768);
    let t = torrent(info.clone())
        .insert("comment", s("hello"))
        .insert("created by", s("mktorrent 1.1"))
        .insert("creation date", 1_700_000_000.into());
    let m = parse(&t).unwrap();
    assert_eq!(m.info_hash, sha1(&info.encode()));
    assert_eq!(m.info_hash_hex().len(), 40);
    assert_eq!(m.name, "ubuntu.iso");
    assert!(!m.multi_file);
    assert_eq!(m.total_length, 100_000);
    assert_eq!(m.piece_length, 32768);
    assert_eq!(m.piece_count(), 4);
    assert_eq!(m.piece_size(0), 32768);
    assert_eq!(m.piece_size(3), 100_000 - 3 * 32768);
    assert_eq!(m.piece_size(4), 0);
    assert_eq!(m.pieces[1].as_slice(), &hashes(4)[20..40]);
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files.file(0).path(), ["ubuntu.iso"]);
    assert_eq!(
        (m.files.file(0).length(), m.files.file(0).offset()),
        (100_000, 0)
    );
    assert_eq!(m.trackers, [["http://tracker.example/announce"]]);
    assert!(m.url_list.is_empty());
    assert!(!m.private);
    assert_eq!(m.creation_date, Some(1_700_000_000));
    assert_eq!(m.comment.as_deref(), Some("hello"));
    assert_eq!(m.created_by.as_deref(), Some("mktorrent 1.1"));
    assert_eq!(m.info_bytes, info.encode());
}

#[test]
fn multi_file_offsets_and_paths() {
    let info = multi_info(
        "album",
        &[
            (&["cd1", "01.flac"], 5000),
            (&["cover.jpg"], 0),
            (&["cd2", "x", "02.flac"], 7000),
        ],
        4096,
    );
    let m = parse(&torrent(info)).unwrap();
    assert!(m.multi_file);
    assert_eq!(m.total_length, 12000);
    assert_eq!(m.piece_count(), 3);
    let got: Vec<_> = m
        .files
        .iter()
        .map(|f| (f.path().to_string(), f.length(), f.offset(), f.is_padding()))
        .collect();
    assert_eq!(
        got,
        [
            ("album/cd1/01.flac".to_owned(), 5000, 0, false),
            ("album/cover.jpg".to_owned(), 0, 5000, false),
            ("album/cd2/x/02.flac".to_owned(), 7000, 5000, false),
        ]
    );
    assert_eq!(
        m.files.file(2).path().to_path_buf(),
        std::path::Path::new("album/cd2/x/02.flac")
    );
}

#[test]
fn unsorted_keys_keep_their_true_hash() {
    // `pieces` before `piece length` before `name`, `length` last; top-level
    // `info` before `announce`. Strict bencode would reject both.
    let mut info = b"d6:pieces20:".to_vec();
    info.extend_from_slice(&[7u8; 20]);
    info.extend_from_slice(b"12:piece lengthi16384e4:name5:a.bin6:lengthi100ee");
    let mut file = b"d4:info".to_vec();
    file.extend_from_slice(&info);
    file.extend_from_slice(b"8:announce12:http://t/anne");
    assert!(monsoon_bencode::decode(&file).is_err());
    let m = Metainfo::from_bytes(&file).unwrap();
    assert_eq!(m.info_hash, sha1(&info));
    let reencoded = monsoon_bencode::DecodeOptions::new()
        .lenient()
        .decode(&info)
        .unwrap()
        .encode();
    assert_ne!(m.info_hash, sha1(&reencoded));
    assert_eq!(m.name, "a.bin");
    assert_eq!(m.total_length, 100);
    assert_eq!(m.trackers, [["http://t/ann"]]);
}

#[test]
fn padding_files() {
    let pad = OwnedValue::dict()
        .insert("attr", s("p"))
        .insert("length", 3000.into())
        .insert("path", list(&[".pad", "3000"]));
    let pad2 = pad.clone();
    let files = vec![
        OwnedValue::dict()
            .insert("length", 1096.into())
            .insert("path", list(&["a"])),
        pad,
        OwnedValue::dict()
            .insert("attr", s("x"))
            .insert("length", 1096.into())
            .insert("path", list(&["b"])),
        pad2,
        OwnedValue::dict()
            .insert("length", 10.into())
            .insert("path", list(&["c"])),
    ];
    let info = OwnedValue::dict()
        .insert("name", s("padded"))
        .insert("files", files.into())
        .insert("piece length", 4096.into())
        .insert("pieces", hashes(3).into());
    let m = parse(&torrent(info)).unwrap();
    let pads: Vec<bool> = m.files.iter().map(|f| f.is_padding()).collect();
    assert_eq!(pads, [false, true, false, true, false]);
    assert_eq!(m.files.file(2).offset(), 4096);
    assert_eq!(m.files.file(4).offset(), 8192);
    // Identical padding paths are not renamed (they are never written).
    assert_eq!(m.files.file(1).path(), m.files.file(3).path());
}

#[test]
fn announce_list_tiers_win_and_are_deduplicated() {
    let t = torrent(single_info("x", 10, 16384)).insert(
        "announce-list",
        OwnedValue::List(vec![
            list(&["udp://a:1", " http://b/ann "]),
            list(&[]),
            list(&["udp://a:1"]),
            OwnedValue::Int(5),
            OwnedValue::List(vec![OwnedValue::Int(1), s("http://c/ann")]),
        ]),
    );
    let m = parse(&t).unwrap();
    assert_eq!(
        m.trackers,
        vec![vec!["udp://a:1", "http://b/ann"], vec!["http://c/ann"]]
    );

    // An announce-list with no usable URL falls back to announce.
    let t = torrent(single_info("x", 10, 16384))
        .insert("announce-list", OwnedValue::List(vec![list(&[])]));
    assert_eq!(
        parse(&t).unwrap().trackers,
        [["http://tracker.example/announce"]]
    );

    // No tracker at all (trackerless / DHT-only torrents).
    let t = OwnedValue::dict().insert("info", single_info("x", 10, 16384));
    assert!(parse(&t).unwrap().trackers.is_empty());
}

#[test]
fn url_list_string_or_list() {
    let t = torrent(single_info("x", 10, 16384)).insert("url-list", s("http://seed/x"));
    assert_eq!(parse(&t).unwrap().url_list, ["http://seed/x"]);
    let t = torrent(single_info("x", 10, 16384)).insert(
        "url-list",
        list(&["http://seed1/", "", "http://seed2/", "http://seed1/"]),
    );
    assert_eq!(
        parse(&t).unwrap().url_list,
        ["http://seed1/", "http://seed2/"]
    );
}

#[test]
fn private_flag() {
    let info = single_info("x", 10, 16384).insert("private", 1.into());
    assert!(parse(&torrent(info)).unwrap().private);
    let info = single_info("x", 10, 16384).insert("private", 0.into());
    assert!(!parse(&torrent(info)).unwrap().private);
}

#[test]
fn utf8_variants_and_invalid_utf8_names() {
    let info = single_info("x", 10, 16384)
        .insert("name", OwnedValue::Bytes(b"caf\xe9".to_vec()))
        .insert("name.utf-8", s("café"));
    assert_eq!(parse(&torrent(info)).unwrap().name, "café");

    let info = single_info("x", 10, 16384).insert("name", OwnedValue::Bytes(b"caf\xe9".to_vec()));
    assert_eq!(parse(&torrent(info)).unwrap().name, "caf_");

    let file = OwnedValue::dict()
        .insert("length", 10.into())
        .insert(
            "path",
            OwnedValue::List(vec![OwnedValue::Bytes(b"\xff.txt".to_vec())]),
        )
        .insert("path.utf-8", list(&["ÿ.txt"]));
    let file2 = OwnedValue::dict().insert("length", 10.into()).insert(
        "path",
        OwnedValue::List(vec![OwnedValue::Bytes(b"\xfe.txt".to_vec())]),
    );
    let info = OwnedValue::dict()
        .insert("name", s("dir"))
        .insert("files", vec![file, file2].into())
        .insert("piece length", 16384.into())
        .insert("pieces", hashes(1).into());
    let m = parse(&torrent(info)).unwrap();
    assert_eq!(m.files.file(0).path(), ["dir", "ÿ.txt"]);
    assert_eq!(m.files.file(1).path(), ["dir", "_.txt"]);
}

#[test]
fn hybrid_v1_v2_loads_through_v1() {
    let file_tree = OwnedValue::dict().insert(
        "a.bin",
        OwnedValue::dict().insert(
            "",
            OwnedValue::dict()
                .insert("length", 100.into())
                .insert("pieces root", OwnedValue::Bytes(vec![1; 32])),
        ),
    );
    let info = single_info("a.bin", 100, 16384)
        .insert("meta version", 2.into())
        .insert("file tree", file_tree);
    let t = torrent(info.clone()).insert("piece layers", OwnedValue::dict());
    let m = parse(&t).unwrap();
    assert_eq!(m.version, MetaVersion::Hybrid);
    assert_eq!(m.info_hash, sha1(&info.encode()));
    assert_eq!(m.info_hash_v2, Some(Sha256::digest(info.encode()).into()));
    assert_eq!(m.total_length, 100);
    assert_eq!(m.files.file(0).pieces_root(), Some(&[1; 32]));
    assert_eq!(m.pieces.len(), 1);
}
