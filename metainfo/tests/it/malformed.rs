//! One malformed torrent per `MetainfoError` variant.

use monsoon_bencode::OwnedValue;
use monsoon_metainfo::{
    MAX_FILE_LENGTH, MAX_PATH_DEPTH, MAX_PIECE_LENGTH, MAX_PIECES, Metainfo, MetainfoError,
};

use super::{hashes, list, multi_info, parse, s, single_info, torrent};

fn err(v: &OwnedValue) -> MetainfoError {
    parse(v).unwrap_err()
}

fn without(info: OwnedValue, key: &str) -> OwnedValue {
    match info {
        OwnedValue::Dict(mut d) => {
            d.remove(key.as_bytes());
            OwnedValue::Dict(d)
        }
        other => other,
    }
}

#[test]
fn not_bencode() {
    match Metainfo::from_bytes(b"d4:info").unwrap_err() {
        MetainfoError::Bencode(e) => assert_eq!(e.offset, 7),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        Metainfo::from_bytes(b"d1:ai1e1:ai2ee").unwrap_err(),
        MetainfoError::Bencode(_)
    ));
}

#[test]
fn top_level_not_a_dict() {
    assert_eq!(err(&list(&["x"])), MetainfoError::NotADict);
    assert_eq!(err(&OwnedValue::Int(3)), MetainfoError::NotADict);
}

#[test]
fn missing_or_invalid_info() {
    assert_eq!(
        err(&OwnedValue::dict().insert("announce", s("x"))),
        MetainfoError::MissingInfo
    );
    assert_eq!(err(&torrent(s("info"))), MetainfoError::InvalidInfo);
}

#[test]
fn missing_or_invalid_name() {
    let info = without(single_info("x", 10, 16384), "name");
    assert_eq!(err(&torrent(info)), MetainfoError::MissingName);
    let info = single_info("x", 10, 16384).insert("name", 5.into());
    assert_eq!(err(&torrent(info)), MetainfoError::InvalidName);
}

#[test]
fn piece_length_errors() {
    let info = without(single_info("x", 10, 16384), "piece length");
    assert_eq!(err(&torrent(info)), MetainfoError::MissingPieceLength);
    let info = single_info("x", 10, 16384).insert("piece length", s("16384"));
    assert_eq!(err(&torrent(info)), MetainfoError::MissingPieceLength);
    let info = single_info("x", 10, 16384).insert("piece length", 0.into());
    assert_eq!(err(&torrent(info)), MetainfoError::InvalidPieceLength(0));
    let info = single_info("x", 10, 16384).insert("piece length", (-16384).into());
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::InvalidPieceLength(-16384)
    );
    let too_big = i64::from(MAX_PIECE_LENGTH) * 2;
    let info = single_info("x", 10, 16384).insert("piece length", too_big.into());
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::PieceLengthTooLarge(too_big)
    );
    // The maximum itself is accepted.
    let info = single_info("x", 10, i64::from(MAX_PIECE_LENGTH));
    assert!(parse(&torrent(info)).is_ok());
}

#[test]
fn pieces_errors() {
    let info = without(single_info("x", 10, 16384), "pieces");
    assert_eq!(err(&torrent(info)), MetainfoError::MissingPieces);
    let info = single_info("x", 10, 16384).insert("pieces", 5.into());
    assert_eq!(err(&torrent(info)), MetainfoError::MissingPieces);
    let info = single_info("x", 10, 16384).insert("pieces", hashes(1)[..19].to_vec().into());
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::PiecesNotMultipleOf20(19)
    );
    let info = single_info("x", 40000, 16384).insert("pieces", hashes(2).into());
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::PieceCountMismatch {
            expected: 3,
            actual: 2
        }
    );
    let info = single_info("x", 10, 16384).insert("pieces", OwnedValue::Bytes(Vec::new()));
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::PieceCountMismatch {
            expected: 1,
            actual: 0
        }
    );
}

#[test]
fn too_many_pieces() {
    let pieces = u64::from(MAX_PIECES) + 1;
    let info = single_info("x", 1, 16384)
        .insert("length", ((pieces * 16384) as i64).into())
        .insert("pieces", hashes(1).into());
    assert_eq!(err(&torrent(info)), MetainfoError::TooManyPieces(pieces));
}

#[test]
fn length_errors() {
    let info = without(single_info("x", 10, 16384), "length");
    assert_eq!(err(&torrent(info)), MetainfoError::MissingLength);
    let info = single_info("x", 10, 16384).insert("length", (-1).into());
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::InvalidLength { file: 0 }
    );
    let info = single_info("x", 10, 16384).insert("length", s("10"));
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::InvalidLength { file: 0 }
    );
    let info = multi_info("d", &[(&["a"], 10), (&["b"], -3)], 16384);
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::InvalidLength { file: 1 }
    );
    let info = multi_info("d", &[(&["a"], 1), (&["b"], i64::MAX)], 16384);
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::FileTooLarge {
            file: 1,
            length: i64::MAX as u64
        }
    );
    let max = MAX_FILE_LENGTH as i64;
    // The largest file is accepted (the piece count is then what fails).
    let info = multi_info("d", &[(&["a"], max)], 1 << 26);
    assert!(matches!(
        err(&torrent(info)),
        MetainfoError::PieceCountMismatch {
            expected: 262_144,
            ..
        }
    ));
    let info = multi_info("d", &[(&["a"], max + 1)], 16384);
    assert!(matches!(
        err(&torrent(info)),
        MetainfoError::FileTooLarge { file: 0, .. }
    ));
    // 2^48 bytes in total: past libtorrent's limit even if each file fits.
    let files: Vec<(&[&str], i64)> = vec![(&["a"], max); 17];
    let info = multi_info("d", &files, 16384);
    assert_eq!(err(&torrent(info)), MetainfoError::LengthOverflow);
}

#[test]
fn zero_total_length() {
    let info = single_info("x", 0, 16384);
    assert_eq!(err(&torrent(info)), MetainfoError::ZeroTotalLength);
    let info = multi_info("d", &[(&["a"], 0), (&["b"], 0)], 16384);
    assert_eq!(err(&torrent(info)), MetainfoError::ZeroTotalLength);
}

#[test]
fn empty_or_invalid_file_list() {
    let info = multi_info("d", &[], 16384);
    assert_eq!(err(&torrent(info)), MetainfoError::EmptyFileList);
    // `files` that is not a list is ignored (as libtorrent does): the torrent
    // is then single-file, and needs a `length`.
    let info = multi_info("d", &[(&["a"], 1)], 16384).insert("files", s("a"));
    assert_eq!(err(&torrent(info.clone())), MetainfoError::MissingLength);
    let info = info.insert("length", 1.into());
    assert_eq!(parse(&torrent(info)).unwrap().files.file(0).path(), ["d"]);
    let info = multi_info("d", &[(&["a"], 1)], 16384)
        .insert("files", OwnedValue::List(vec![OwnedValue::Int(1)]));
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::InvalidFileEntry { file: 0 }
    );
}

#[test]
fn invalid_paths() {
    let bad_paths = [
        None,
        Some(s("a/b")),
        Some(OwnedValue::List(vec![s("a"), OwnedValue::Int(1)])),
    ];
    for p in bad_paths {
        let mut f = OwnedValue::dict().insert("length", 5.into());
        if let Some(p) = p {
            f = f.insert("path", p);
        }
        let ok = OwnedValue::dict()
            .insert("length", 5.into())
            .insert("path", list(&["ok"]));
        let info = multi_info("d", &[(&["a"], 10)], 16384).insert("files", vec![ok, f].into());
        assert_eq!(err(&torrent(info)), MetainfoError::InvalidPath { file: 1 });
    }
}

#[test]
fn path_too_deep() {
    let deep: Vec<&str> = vec!["d"; MAX_PATH_DEPTH + 1];
    let info = multi_info("x", &[(&deep, 10)], 16384);
    assert_eq!(
        err(&torrent(info)),
        MetainfoError::PathTooDeep {
            file: 0,
            depth: MAX_PATH_DEPTH + 1
        }
    );
    let ok: Vec<&str> = vec!["d"; MAX_PATH_DEPTH];
    assert!(parse(&torrent(multi_info("x", &[(&ok, 10)], 16384))).is_ok());
}

#[test]
fn unsupported_meta_version() {
    let info = single_info("x", 10, 16384).insert("meta version", 3.into());
    assert_eq!(err(&torrent(info)), MetainfoError::UnsupportedVersion(3));
}

#[test]
fn errors_have_messages() {
    let e = MetainfoError::PieceCountMismatch {
        expected: 3,
        actual: 2,
    };
    assert_eq!(
        e.to_string(),
        "`pieces` holds 2 hashes but the total length needs 3"
    );
}
