//! A .torrent with very many files, written straight as bencode (shared
//! with the `many_files` bench and example): the shape of issue 19's
//! million-file torrent.

use std::io::Write as _;

/// Piece length of [`torrent`]: 4 MiB.
pub(crate) const PIECE_LENGTH: u64 = 4 << 20;

/// A v1 multi-file torrent named `many-files` with `n` files, a thousand
/// to a folder: `dir-0042/file-0042123.bin` (names of 8 and 16 bytes).
/// Odd-numbered files hold 1 KiB, the others are empty; the piece hashes
/// are zeros.
pub(crate) fn torrent(n: usize) -> Vec<u8> {
    let mut files = Vec::with_capacity(n * 48);
    let mut total = 0u64;
    for i in 0..n {
        let length = if i % 2 == 1 { 1024 } else { 0 };
        total += length;
        write!(
            files,
            "d6:lengthi{length}e4:pathl8:dir-{:04}16:file-{i:07}.binee",
            i / 1000
        )
        .expect("writing to a Vec");
    }
    let pieces = total.div_ceil(PIECE_LENGTH) as usize * 20;
    let mut out = Vec::with_capacity(files.len() + pieces + 200);
    out.extend_from_slice(b"d8:announce31:http://tracker.example/announce4:infod5:filesl");
    out.extend_from_slice(&files);
    write!(
        out,
        "e4:name10:many-files12:piece lengthi{PIECE_LENGTH}e6:pieces{pieces}:"
    )
    .expect("writing to a Vec");
    out.resize(out.len() + pieces, 0);
    out.extend_from_slice(b"ee");
    out
}
