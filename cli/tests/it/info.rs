//! `monsoon info`: text and JSON output for torrents and magnet links, and
//! one-line errors.

use serde_json::Value;

use crate::util::{bstr, data, fails, monsoon, ok, scratch};

/// A multi-file torrent with unsorted keys, two tiers, a web seed and a
/// padding file, written by hand.
fn hand_written() -> Vec<u8> {
    let mut info = b"d5:filesl".to_vec();
    for (path, len, pad) in [
        (&["sub", "a.txt"][..], 10_000, false),
        (&[".pad", "6384"][..], 6384, true),
        (&["b.bin"][..], 100, false),
    ] {
        info.extend_from_slice(format!("d6:lengthi{len}e4:pathl").as_bytes());
        for c in path {
            info.extend(bstr(c.as_bytes()));
        }
        info.push(b'e');
        if pad {
            info.extend_from_slice(b"4:attr1:p");
        }
        info.push(b'e');
    }
    info.extend_from_slice(b"e4:name4:demo12:piece lengthi16384e6:pieces40:");
    info.extend_from_slice(&[0x5a; 40]);
    info.extend_from_slice(b"7:privatei1ee");
    let mut t = b"d4:info".to_vec();
    t.extend(info);
    t.extend_from_slice(
        b"8:announce12:http://a/ann13:announce-listll12:http://a/annel9:udp://b:1ee",
    );
    t.extend_from_slice(b"8:url-list12:http://seed/7:comment2:hi13:creation datei1700000000ee");
    t
}

#[test]
fn json_output_has_the_documented_keys() {
    let dir = scratch("info-json");
    std::fs::write(dir.join("demo.torrent"), hand_written()).unwrap();
    let out = ok(&monsoon(&dir, &["info", "--json", "demo.torrent"]));
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["name"], "demo");
    assert_eq!(v["info_hash"].as_str().unwrap().len(), 40);
    assert_eq!(v["total_length"], 16484);
    assert_eq!(v["piece_length"], 16384);
    assert_eq!(v["piece_count"], 2);
    assert_eq!(v["private"], true);
    assert_eq!(
        v["trackers"],
        serde_json::json!([["http://a/ann"], ["udp://b:1"]])
    );
    assert_eq!(v["url_list"], serde_json::json!(["http://seed/"]));
    assert_eq!(v["comment"], "hi");
    assert_eq!(v["creation_date"], 1_700_000_000);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["path"], "demo/sub/a.txt");
    assert_eq!(files[0]["length"], 10_000);
    assert_eq!(files[1]["padding"], true);
    assert_eq!(files[2]["path"], "demo/b.bin");
}

#[test]
fn text_output() {
    let dir = scratch("info-text");
    std::fs::write(dir.join("demo.torrent"), hand_written()).unwrap();
    let out = ok(&monsoon(&dir, &["info", "demo.torrent"]));
    let json: Value =
        serde_json::from_str(&ok(&monsoon(&dir, &["info", "--json", "demo.torrent"]))).unwrap();
    for want in [
        "name:          demo".to_owned(),
        format!("info-hash:     {}", json["info_hash"].as_str().unwrap()),
        "16.10 KiB (16484 bytes)".to_owned(),
        "pieces:        2".to_owned(),
        "private:       yes".to_owned(),
        "tier 1: http://a/ann".to_owned(),
        "tier 2: udp://b:1".to_owned(),
        "files (2, plus 1 padding):".to_owned(),
        "demo/sub/a.txt".to_owned(),
        "2023-11-14 22:13:20 UTC".to_owned(),
    ] {
        assert!(out.contains(&want), "missing {want:?} in\n{out}");
    }
    assert!(!out.contains(".pad"), "{out}");
}

/// v2 and hybrid torrents: the version, both info-hashes and each file's
/// merkle root, in text and JSON.
#[test]
fn v2_and_hybrid_torrents() {
    let dir = scratch("info-v2");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    std::fs::write(dir.join("t/a.bin"), data(50_000, 1)).unwrap();
    std::fs::write(dir.join("t/b.txt"), data(10, 2)).unwrap();
    for (flag, version) in [("--hybrid", "hybrid"), ("--v2", "v2")] {
        let name = format!("{version}.torrent");
        ok(&monsoon(
            &dir,
            &["create", "t", flag, "-o", &name, "-l", "16K"],
        ));
        let v: Value =
            serde_json::from_str(&ok(&monsoon(&dir, &["info", "--json", &name]))).unwrap();
        assert_eq!(v["version"], version);
        let v2 = v["info_hash_v2"].as_str().unwrap().to_owned();
        let files = v["files"].as_array().unwrap();
        let roots: Vec<&str> = files
            .iter()
            .filter_map(|f| f["pieces_root"].as_str())
            .collect();
        assert_eq!(roots.len(), 2);
        assert!(
            files
                .iter()
                .all(|f| f["pieces_root"].is_null() || f["piece_layer"] == true)
        );
        let text = ok(&monsoon(&dir, &["info", &name]));
        for want in [
            format!("version:       {version}"),
            format!("info-hash v2:  {v2}"),
            format!("root {}", roots[0]),
            format!("root {}", roots[1]),
            "files (2, plus 2 padding):".to_owned(),
        ] {
            assert!(text.contains(&want), "missing {want:?} in\n{text}");
        }
        let v1_line = format!("info-hash:     {}", v["info_hash"].as_str().unwrap());
        assert_eq!(text.contains(&v1_line), version == "hybrid", "{text}");
    }
}

#[test]
fn magnet_links() {
    let dir = scratch("info-magnet");
    let uri = "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=Some+Name&tr=udp%3A%2F%2Ft%3A1&so=1,3-4";
    let v: Value = serde_json::from_str(&ok(&monsoon(&dir, &["info", "--json", uri]))).unwrap();
    assert_eq!(v["info_hash"], "c12fe1c06bba254a9dc9f519b335aa7c1367a88a");
    assert_eq!(v["name"], "Some Name");
    assert_eq!(v["trackers"], serde_json::json!([["udp://t:1"]]));
    assert_eq!(v["select_only"], serde_json::json!([[1, 1], [3, 4]]));
    assert!(v["total_length"].is_null());
    let text = ok(&monsoon(&dir, &["info", uri]));
    assert!(
        text.contains("c12fe1c06bba254a9dc9f519b335aa7c1367a88a"),
        "{text}"
    );
    assert!(text.contains("select only:   files 1,3-4"), "{text}");

    let v2 = "ab".repeat(32);
    let hybrid = format!(
        "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&xt=urn:btmh:1220{v2}"
    );
    let v: Value = serde_json::from_str(&ok(&monsoon(&dir, &["info", "--json", &hybrid]))).unwrap();
    assert_eq!(v["version"], "hybrid");
    assert_eq!(v["info_hash_v2"], v2.as_str());
    assert_eq!(
        v["info_hash_v1"],
        "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    );
    let only_v2 = format!("magnet:?xt=urn:btmh:1220{v2}");
    let text = ok(&monsoon(&dir, &["info", &only_v2]));
    assert!(text.contains("version:       v2"), "{text}");
    assert!(text.contains(&format!("info-hash v2:  {v2}")), "{text}");

    let err = fails(&monsoon(&dir, &["info", "magnet:?xt=urn:btih:123"]));
    assert!(
        err.contains("invalid magnet link") && err.contains("123"),
        "{err}"
    );
}

#[test]
fn errors_are_one_line_with_status_1() {
    let dir = scratch("info-errors");
    let err = fails(&monsoon(&dir, &["info", "missing.torrent"]));
    assert!(err.contains("missing.torrent"), "{err}");

    let err = fails(&monsoon(&dir, &["info", "."]));
    assert!(err.contains("folder"), "{err}");

    let mut bad = hand_written();
    // Cut the `pieces` string short: 40 -> 39 bytes is still valid bencode
    // once the length prefix is changed too.
    let at = bad.windows(10).position(|w| w == b"6:pieces40").unwrap();
    bad[at + 8..at + 10].copy_from_slice(b"39");
    bad.remove(at + 11);
    std::fs::write(dir.join("bad.torrent"), &bad).unwrap();
    let err = fails(&monsoon(&dir, &["info", "bad.torrent"]));
    assert!(
        err.contains("bad.torrent") && err.contains("not a multiple of 20"),
        "{err}"
    );

    std::fs::write(dir.join("junk.torrent"), data(100, 1)).unwrap();
    let err = fails(&monsoon(&dir, &["info", "--json", "junk.torrent"]));
    assert!(err.contains("junk.torrent: invalid torrent"), "{err}");

    std::fs::write(dir.join("trunc.torrent"), &hand_written()[..50]).unwrap();
    let err = fails(&monsoon(&dir, &["info", "trunc.torrent"]));
    assert!(err.contains("at byte 50"), "{err}");
}
