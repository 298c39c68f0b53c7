//! `monsoon create`: the result loads in libtorrent with the same info-hash
//! and libtorrent finds every piece valid; options and errors.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{data, fails, monsoon, ok, scratch};

/// Loads `torrent` in libtorrent (python3-libtorrent), checks the data in
/// `save_path` and prints `info_hash`, `num_pieces`, and the count of pieces
/// libtorrent holds after checking.
const LT_CHECK: &str = r#"
import sys, time
try:
    import libtorrent as lt
except ImportError:
    print("python3-libtorrent missing: run `cargo xtask setup`")
    sys.exit(3)
torrent, save_path = sys.argv[1], sys.argv[2]
ti = lt.torrent_info(torrent)
ih = ti.info_hashes().v1 if hasattr(ti, "info_hashes") else ti.info_hash()
print("info_hash", str(ih))
print("num_pieces", ti.num_pieces())
ses = lt.session({
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
})
params = lt.add_torrent_params()
params.ti = ti
params.save_path = save_path
h = ses.add_torrent(params)
deadline = time.time() + 30
while time.time() < deadline:
    s = h.status()
    if s.is_seeding or s.state == lt.torrent_status.downloading:
        break
    time.sleep(0.1)
s = h.status()
print("have", s.num_pieces)
print("seeding", s.is_seeding)
"#;

fn libtorrent_check(torrent: &Path, save_path: &Path) -> (String, u32, u32, bool) {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(LT_CHECK)
        .arg(torrent)
        .arg(save_path)
        .output()
        .expect("python3-libtorrent missing: run `cargo xtask setup` (/usr/bin/python3 not found)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.contains("python3-libtorrent missing"),
        "python3-libtorrent missing: run `cargo xtask setup`"
    );
    assert!(
        out.status.success(),
        "libtorrent check failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {k} in {stdout}"))
    };
    (
        field("info_hash "),
        field("num_pieces ").parse().unwrap(),
        field("have ").parse().unwrap(),
        field("seeding ") == "True",
    )
}

fn info_json(dir: &Path, torrent: &str) -> Value {
    serde_json::from_str(&ok(&monsoon(dir, &["info", "--json", torrent]))).unwrap()
}

#[test]
fn folder_torrent_is_valid_in_libtorrent() {
    let dir = scratch("create-lt");
    let src = dir.join("share");
    std::fs::create_dir_all(src.join("nested/deeper")).unwrap();
    for (i, (p, len)) in [
        ("a.bin", 100_000),
        ("nested/b.bin", 33_333),
        ("nested/deeper/c.bin", 65_536),
        ("nested/empty", 0),
        ("z.txt", 7),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(src.join(p), data(len, i as u32)).unwrap();
    }
    let out = ok(&monsoon(
        &dir,
        &[
            "create",
            "share",
            "-t",
            "http://127.0.0.1:1/announce",
            "-t",
            "udp://127.0.0.1:2,udp://127.0.0.1:3",
            "-l",
            "16K",
            "-c",
            "test torrent",
        ],
    ));
    assert!(out.starts_with("share.torrent: share"), "{out}");
    let v = info_json(&dir, "share.torrent");
    assert_eq!(v["piece_length"], 16384);
    assert_eq!(v["files"].as_array().unwrap().len(), 5);
    assert_eq!(v["comment"], "test torrent");
    assert!(v["created_by"].as_str().unwrap().starts_with("monsoon/"));
    assert!(v["creation_date"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        v["trackers"],
        serde_json::json!([
            ["http://127.0.0.1:1/announce"],
            ["udp://127.0.0.1:2", "udp://127.0.0.1:3"]
        ])
    );

    let (hash, num, have, seeding) = libtorrent_check(&dir.join("share.torrent"), &dir);
    assert_eq!(hash, v["info_hash"].as_str().unwrap());
    assert_eq!(u64::from(num), v["piece_count"].as_u64().unwrap());
    assert_eq!(have, num, "libtorrent found invalid pieces");
    assert!(seeding);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn single_file_private_default_piece_length() {
    let dir = scratch("create-single");
    std::fs::write(dir.join("big.dat"), data(5_000_000, 3)).unwrap();
    ok(&monsoon(
        &dir,
        &[
            "create",
            "big.dat",
            "--private",
            "-o",
            "out.torrent",
            "--no-date",
        ],
    ));
    let v = info_json(&dir, "out.torrent");
    assert_eq!(v["private"], true);
    assert_eq!(v["piece_length"], 16384);
    assert!(v["creation_date"].is_null());
    assert_eq!(v["trackers"], serde_json::json!([]));
    let (hash, num, have, seeding) = libtorrent_check(&dir.join("out.torrent"), &dir);
    assert_eq!(hash, v["info_hash"].as_str().unwrap());
    assert_eq!((have, seeding), (num, true));

    // Same data and no date: byte-identical with any number of threads and
    // the same piece length spelled differently.
    ok(&monsoon(
        &dir,
        &[
            "create",
            "big.dat",
            "-o",
            "again.torrent",
            "--no-date",
            "--private",
            "--threads",
            "1",
            "-l",
            "14",
        ],
    ));
    assert_eq!(
        std::fs::read(dir.join("out.torrent")).unwrap(),
        std::fs::read(dir.join("again.torrent")).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_are_one_line_with_status_1() {
    let dir = scratch("create-errors");
    let err = fails(&monsoon(&dir, &["create", "nothing-here"]));
    assert!(err.contains("nothing-here"), "{err}");

    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let err = fails(&monsoon(&dir, &["create", "empty"]));
    assert!(
        err.contains("empty") && err.contains("total size is 0"),
        "{err}"
    );

    std::fs::write(dir.join("f"), b"data").unwrap();
    let err = fails(&monsoon(&dir, &["create", "f", "-l", "1000"]));
    assert!(err.contains("invalid piece length 1000"), "{err}");

    let err = fails(&monsoon(&dir, &["create", "f", "-t", "not a url"]));
    assert!(err.contains("not a URL"), "{err}");

    ok(&monsoon(&dir, &["create", "f"]));
    let err = fails(&monsoon(&dir, &["create", "f"]));
    assert!(err.contains("f.torrent: already exists"), "{err}");
    ok(&monsoon(&dir, &["create", "f", "--force"]));

    // Usage errors are clap's (status 2), never a panic.
    let out = monsoon(&dir, &["create", "f", "-l", "banana"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
