//! BitTorrent v2 and hybrid swarms on the simulated network: pieces checked
//! against piece layers, the piece layers of a `btmh` magnet link fetched
//! with `hash request`s (and checked against each file's root), v1-only
//! clients in a hybrid swarm.

use std::time::Duration;

use monsoon_engine::{CloseReason, MetaVersion, TorrentState};
use monsoon_storage::merkle;

use super::net::{Fault, NodeSpec, Sim, config};
use super::scenarios::{closes, complete};
use super::torrent::SimTorrent;

const MB: u64 = 1_000_000;
const LIMIT: Duration = Duration::from_secs(600);

/// Files of odd sizes, 32 KiB pieces: 31 pieces and 3 bytes, a few bytes,
/// 21 pieces and a bit.
const ODD: [(&str, usize); 3] = [
    ("a.bin", 31 * 32768 + 3),
    ("dir/b.bin", 33),
    ("dir/c.bin", 700_001),
];

fn odd(version: MetaVersion, seed: u64) -> SimTorrent {
    SimTorrent::versioned(&ODD, 32 * 1024, seed, version, None)
}

/// Runs until node `i` is connected to node `j`, and says whether that
/// connection speaks v2 (as node `i` sees it).
fn speaks_v2(sim: &mut Sim, i: usize, j: usize) -> bool {
    let addr = sim.nodes[j].addr;
    let link = |s: &Sim| {
        s.nodes[i]
            .core
            .peer_infos()
            .into_iter()
            .find(|p| p.addr == addr)
    };
    assert!(
        sim.run_until(LIMIT, |s| link(s).is_some()),
        "node {i} never connected to node {j}"
    );
    link(sim).is_some_and(|p| p.v2)
}

fn states(sim: &Sim, i: usize) -> Vec<TorrentState> {
    sim.nodes[i].log.states.iter().map(|s| s.1).collect()
}

#[test]
fn a_v2_torrent_is_downloaded_and_checked_against_its_piece_layers() {
    let t = odd(MetaVersion::V2, 1);
    assert!(t.meta.pieces.is_empty(), "no SHA-1 to fall back on");
    let specs = vec![
        NodeSpec::seed(MB),
        NodeSpec::seed(5 * MB).with_fault(Fault::Corrupt),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(2, &[0, 1]);
    assert!(speaks_v2(&mut sim, 2, 0), "v2 peers of a v2 torrent");
    complete(&mut sim, 2);
    // The merkle check caught the corrupt pieces of the lying seeder.
    assert!(
        closes(&sim, 2, 1).contains(&CloseReason::Banned),
        "{:?}",
        closes(&sim, 2, 1)
    );
    assert!(sim.nodes[2].core.stats().wasted >= 2 * 32768);
    assert_eq!(
        states(&sim, 2),
        [TorrentState::Downloading, TorrentState::Seeding]
    );
}

#[test]
fn a_hybrid_swarm_serves_v1_only_and_v2_peers() {
    let t = odd(MetaVersion::Hybrid, 2);
    let specs = vec![
        NodeSpec::seed(10 * MB),
        NodeSpec::leech(MB).v1_only(),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(1, &[0]);
    sim.introduce(2, &[0, 1]);
    assert!(!speaks_v2(&mut sim, 1, 0), "the v1-only client");
    assert!(!speaks_v2(&mut sim, 0, 1), "the seed to the v1-only client");
    assert!(speaks_v2(&mut sim, 2, 0), "a v2 client upgrades to v2");
    assert!(speaks_v2(&mut sim, 0, 2), "the seed agrees");
    assert!(!speaks_v2(&mut sim, 2, 1), "v1 with the v1-only client");
    complete(&mut sim, 1);
    complete(&mut sim, 2);
}

/// A v2 torrent with a file of 601 pieces (two chunks of the piece layer)
/// and a small one, 16 KiB pieces.
fn two_chunks() -> SimTorrent {
    let files = [("big.bin", 600 * 16384 + 5), ("small.bin", 10_000)];
    SimTorrent::versioned(&files, 16 * 1024, 3, MetaVersion::V2, None)
}

#[test]
fn a_btmh_magnet_link_fetches_the_metadata_then_the_piece_layers() {
    let t = two_chunks();
    let big_root = t.meta.files.file(0).pieces_root().copied().unwrap();
    let specs = vec![NodeSpec::seed(10 * MB), NodeSpec::magnet(10 * MB)];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(1, &[0]);
    complete(&mut sim, 1);
    assert_eq!(
        states(&sim, 1),
        [
            TorrentState::FetchingMetadata,
            TorrentState::Checking,
            TorrentState::Downloading,
            TorrentState::Seeding
        ]
    );
    let got = sim.nodes[1].core.metainfo().unwrap();
    assert_eq!(got.piece_layers, sim.meta().piece_layers);
    assert!(got.has_piece_layers());
    // One request per chunk of 512 piece hashes, for the big file only
    // (the small one's root is its only hash), each with its proof.
    let asked: Vec<(u32, u32, u32)> = sim.nodes[1]
        .log
        .hash_requests
        .iter()
        .inspect(|(peer, r)| assert_eq!((*peer, r.pieces_root), (0, big_root)))
        .map(|(_, r)| (r.index, r.length, r.proof_layers))
        .collect();
    let layers = merkle::leaf_count(600 * 16384 + 5).trailing_zeros();
    assert_eq!(
        asked,
        [(0, 512, layers - 1), (512, 128, layers - 1)],
        "{layers} layers"
    );
}

#[test]
fn a_hybrid_named_by_its_v2_hash_alone_is_fetched_and_downloaded() {
    let t = odd(MetaVersion::Hybrid, 5);
    let v2 = t.meta.info_hash_v2.unwrap();
    let specs = vec![NodeSpec::seed(10 * MB), NodeSpec::btmh_magnet(10 * MB)];
    let mut sim = Sim::new(t, specs, config());
    assert_eq!(sim.nodes[1].core.info_hash(), v2[..20]);
    sim.introduce(1, &[0]);
    assert!(speaks_v2(&mut sim, 1, 0));
    complete(&mut sim, 1);
    let got = sim.nodes[1].core.metainfo().unwrap();
    assert_eq!(got.info_hash, sim.meta().info_hash, "the v1 half is learnt");
    assert_eq!(got.info_hash_v2, Some(v2));
    assert_eq!(sim.nodes[1].core.info_hash(), v2[..20], "still known by it");
}

/// A v2 torrent whose first file has 3 pieces of 32 KiB.
fn layered() -> SimTorrent {
    let files = [("a.bin", 90_000), ("b.bin", 1000)];
    SimTorrent::versioned(&files, 32 * 1024, 4, MetaVersion::V2, None)
}

#[test]
fn hashes_that_do_not_lead_to_the_root_close_the_peer() {
    let specs = vec![
        NodeSpec::seed(10 * MB).with_fault(Fault::CorruptHashes),
        NodeSpec::seed(10 * MB),
        NodeSpec::magnet(10 * MB),
    ];
    let mut sim = Sim::new(layered(), specs, config());
    sim.introduce(2, &[0]);
    let liar_closed = sim.run_until(LIMIT, |s| closes(s, 2, 0).contains(&CloseReason::BadHashes));
    assert!(liar_closed, "{:?}", sim.nodes[2].log.closed);
    assert_eq!(sim.nodes[2].core.state(), TorrentState::FetchingMetadata);
    assert!(!sim.nodes[2].core.metainfo().unwrap().has_piece_layers());
    sim.introduce(2, &[1]);
    complete(&mut sim, 2);
    assert!(sim.nodes[2].log.hash_requests.iter().any(|r| r.0 == 1));
}

#[test]
fn a_seeder_that_rejected_a_hash_request_is_asked_again_later() {
    let specs = vec![
        NodeSpec::seed(10 * MB).with_fault(Fault::RejectHashes(1)),
        NodeSpec::magnet(10 * MB),
    ];
    let mut sim = Sim::new(layered(), specs, config());
    sim.introduce(1, &[0]);
    let took = complete(&mut sim, 1);
    assert_eq!(sim.nodes[1].log.hash_requests.len(), 2, "asked twice");
    assert!(took > Duration::from_secs(30), "not at once: {took:?}");
    assert!(
        !closes(&sim, 1, 0).iter().any(|r| r.is_violation()),
        "a reject is no offence: {:?}",
        closes(&sim, 1, 0)
    );
}
