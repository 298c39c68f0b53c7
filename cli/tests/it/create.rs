//! `monsoon create`: the result loads in libtorrent with the same info-hash
//! and libtorrent finds every piece valid; options and errors.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{data, fails, monsoon, ok, scratch};

/// Loads `torrent` in libtorrent (python3-libtorrent), checks the data in
/// `save_path` and prints `info_hash`, `info_hash_v2` (`none` when absent),
/// `num_pieces`, and the count of pieces libtorrent holds after checking.
const LT_CHECK: &str = r#"
import sys, time
try:
    import libtorrent as lt
except ImportError:
    print("python3-libtorrent missing: run `cargo xtask setup`")
    sys.exit(3)
torrent, save_path = sys.argv[1], sys.argv[2]
ti = lt.torrent_info(torrent)
ih = ti.info_hashes()
print("info_hash", str(ih.v1) if ih.has_v1() else "none")
print("info_hash_v2", str(ih.v2) if ih.has_v2() else "none")
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

/// What libtorrent says about a torrent and its data.
struct LtCheck {
    info_hash: String,
    info_hash_v2: String,
    num_pieces: u32,
    have: u32,
    seeding: bool,
}

fn libtorrent_check(torrent: &Path, save_path: &Path) -> LtCheck {
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
    LtCheck {
        info_hash: field("info_hash "),
        info_hash_v2: field("info_hash_v2 "),
        num_pieces: field("num_pieces ").parse().unwrap(),
        have: field("have ").parse().unwrap(),
        seeding: field("seeding ") == "True",
    }
}

fn info_json(dir: &Path, torrent: &str) -> Value {
    serde_json::from_str(&ok(&monsoon(dir, &["info", "--json", torrent]))).unwrap()
}

/// `--v1`: a v1-only torrent (no v2 info-hash, no padding between files).
#[test]
fn v1_folder_torrent_is_valid_in_libtorrent() {
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
            "--v1",
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

    let lt = libtorrent_check(&dir.join("share.torrent"), &dir);
    assert_eq!(lt.info_hash, v["info_hash"].as_str().unwrap());
    assert_eq!(lt.info_hash_v2, "none");
    assert_eq!(u64::from(lt.num_pieces), v["piece_count"].as_u64().unwrap());
    assert_eq!(lt.have, lt.num_pieces, "libtorrent found invalid pieces");
    assert!(lt.seeding);
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
    let lt = libtorrent_check(&dir.join("out.torrent"), &dir);
    assert_eq!(lt.info_hash, v["info_hash"].as_str().unwrap());
    assert_eq!((lt.have, lt.seeding), (lt.num_pieces, true));

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

/// `--v2`, `--hybrid` and no flag (hybrid, the default): libtorrent loads
/// the torrents with the info-hashes `monsoon info` shows, and finds every
/// piece of the data valid (v2 pieces through the merkle roots, hybrid ones
/// through both).
#[test]
fn v2_and_hybrid_torrents_are_valid_in_libtorrent() {
    let dir = scratch("create-v2");
    let src = dir.join("tree");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    for (i, (p, len)) in [
        ("big.bin", 150_000),
        ("sub/odd.bin", 33_333),
        ("sub/empty", 0),
        ("tiny", 3),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(src.join(p), data(len, i as u32 + 10)).unwrap();
    }
    std::fs::write(dir.join("alone.bin"), data(70_000, 20)).unwrap();
    for (flag, version) in [("--v2", "v2"), ("--hybrid", "hybrid"), ("", "hybrid")] {
        for (what, piece) in [("tree", "32K"), ("alone.bin", "16K")] {
            let out_name = format!("{what}{flag}.torrent");
            let mut args = vec!["create", what, "-l", piece, "-o", &out_name, "--no-date"];
            if !flag.is_empty() {
                args.push(flag);
            }
            let out = ok(&monsoon(&dir, &args));
            assert!(out.contains("v2 info-hash"), "{out}");
            let v = info_json(&dir, &out_name);
            assert_eq!(v["version"], version);
            let v2 = v["info_hash_v2"].as_str().unwrap();
            assert_eq!(v2.len(), 64);
            let lt = libtorrent_check(&dir.join(&out_name), &dir);
            assert_eq!(lt.info_hash_v2, v2, "{out_name}");
            if version == "hybrid" {
                assert_eq!(lt.info_hash, v["info_hash"].as_str().unwrap());
                assert_eq!(v["info_hash_v1"], v["info_hash"]);
            } else {
                assert_eq!(lt.info_hash, "none");
                assert!(v["info_hash_v1"].is_null());
                assert_eq!(v["info_hash"].as_str().unwrap(), &v2[..40]);
            }
            assert_eq!(u64::from(lt.num_pieces), v["piece_count"].as_u64().unwrap());
            assert_eq!(
                lt.have, lt.num_pieces,
                "{out_name}: libtorrent found invalid pieces"
            );
            assert!(lt.seeding, "{out_name}");
            // Every file with data has its merkle root.
            for f in v["files"].as_array().unwrap() {
                let data = f["padding"].is_null() && f["length"].as_u64().unwrap() > 0;
                assert_eq!(f["pieces_root"].is_string(), data, "{f}");
            }
        }
    }
    // The default is byte-identical to --hybrid.
    for what in ["tree", "alone.bin"] {
        assert_eq!(
            std::fs::read(dir.join(format!("{what}.torrent"))).unwrap(),
            std::fs::read(dir.join(format!("{what}--hybrid.torrent"))).unwrap(),
            "{what}"
        );
    }
    for pair in [["--v2", "--hybrid"], ["--v1", "--hybrid"], ["--v1", "--v2"]] {
        let out = monsoon(&dir, &["create", "alone.bin", pair[0], pair[1]]);
        assert_eq!(out.status.code(), Some(2), "{pair:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
            "{pair:?}"
        );
    }
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
