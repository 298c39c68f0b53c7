//! `monsoon dht` on 127.0.0.1: a node started `--alone` is the whole DHT;
//! `monsoon seed` joins it and announces its torrent there; `monsoon dht
//! --get-peers` joins the same node and finds the seeder, reports the
//! routing table and traffic it saw, and saves the table for next time.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Guard, data, fails, monsoon, monsoon_bounded, ok, scratch};

/// How long the seeder may take to announce itself.
const LIMIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    tcp.local_addr().unwrap().port()
}

#[test]
fn finds_a_seeder_announced_on_a_private_dht_and_saves_its_table() {
    let dir = scratch("dht-cmd");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/data.bin"), data(100_000, 3)).unwrap();
    ok(&monsoon(
        &dir,
        &["create", "src/data.bin", "-o", "t.torrent"],
    ));
    let info = ok(&monsoon(&dir, &["info", "--json", "t.torrent"]));
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let hash = info["info_hash"].as_str().unwrap().to_owned();

    // The whole DHT: one node that joins nobody.
    let mut root = Command::new(env!("CARGO_BIN_EXE_monsoon"))
        .args(["dht", "--alone", "--port", "0", "--stay", "120s"])
        .current_dir(&dir)
        .env("XDG_STATE_HOME", dir.join(".root-state"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(root.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _root = Guard(root);
    let root_port: u16 = line
        .trim()
        .strip_prefix("DHT node on UDP port ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let bootstrap = format!("127.0.0.1:{root_port}");

    let seed_port = free_port();
    let seeder = Command::new(env!("CARGO_BIN_EXE_monsoon"))
        .args([
            "seed",
            "t.torrent",
            "-d",
            "src",
            "--no-trackers",
            "--no-lsd",
        ])
        .args(["--quiet", "--port", &seed_port.to_string()])
        .args(["--dht-bootstrap", &bootstrap])
        .current_dir(&dir)
        .env("XDG_STATE_HOME", dir.join(".seed-state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _seeder = Guard(seeder);

    // Look until the seeder's announce has reached the root node.
    let state = dir.join("lookup-state");
    let want = format!("127.0.0.1:{seed_port}");
    let started = Instant::now();
    let report = loop {
        let out = monsoon_bounded(
            &dir,
            &[
                "dht",
                "--port",
                "0",
                "--bootstrap",
                &bootstrap,
                "--get-peers",
                &hash,
                "--json",
                "--state-dir",
                state.to_str().unwrap(),
            ],
            Stdio::null(),
            LIMIT,
        );
        let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
        let peers = v["get_peers"]["peers"].as_array().unwrap().clone();
        if peers.iter().any(|p| p.as_str() == Some(want.as_str())) {
            break v;
        }
        assert!(
            started.elapsed() < LIMIT,
            "the seeder was never found: last report {v}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    // It met the root node and talked to it.
    assert!(report["nodes_v4"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["responses_in"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["queries_out"].as_u64().unwrap() >= 1, "{report}");
    // And saved its table for the next run.
    let saved = std::fs::metadata(state.join("dht.state")).expect("no saved routing table");
    assert!(saved.len() > 20, "an empty routing table was saved");
}

#[test]
fn a_bad_info_hash_is_refused() {
    let dir = scratch("dht-bad-hash");
    for bad in [
        "abc",
        "zz".repeat(20).as_str(),
        "magnet:?xt=urn:btmh:1220ab",
    ] {
        let err = fails(&monsoon(
            &dir,
            &["dht", "--alone", "--port", "0", "--get-peers", bad],
        ));
        assert!(
            err.contains("info-hash") || err.contains("magnet"),
            "{bad}: {err}"
        );
    }
}
