//! Writes the million-file torrent of issue 19 (the one the `many_files`
//! bench and the heap test load) to a file, to time `monsoon info` on it:
//!
//! ```sh
//! cargo run --release -p monsoon-metainfo --example many_files -- /tmp/m1.torrent 1000000
//! /usr/bin/time -v target/release/monsoon info /tmp/m1.torrent > /dev/null
//! ```

#[path = "../tests/it/many_files.rs"]
mod many_files;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), count) = (args.next(), args.next()) else {
        eprintln!("usage: many_files OUT.torrent [FILES (default 1000000)]");
        std::process::exit(2);
    };
    let files = match count.map(|c| c.parse::<usize>()) {
        None => 1_000_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("FILES must be a positive number");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::write(&path, many_files::torrent(files)) {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    }
}
