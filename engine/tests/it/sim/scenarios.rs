//! Swarms of real torrent cores on the simulated network: each runs in
//! milliseconds of real time, deterministic, asserting what the leecher
//! did and why connections were closed.

use std::time::Duration;

use monsoon_engine::{CloseReason, ConnectError, TorrentState};

use super::net::{Fault, Have, NodeSpec, Sim, config};
use super::torrent::SimTorrent;

const KB: u64 = 1000;
const MB: u64 = 1000 * KB;
/// Virtual time any one swarm may take.
const LIMIT: Duration = Duration::from_secs(600);

/// Runs until node `i` is seeding; panics with the stats if it does not.
pub(super) fn complete(sim: &mut Sim, i: usize) -> Duration {
    let done = sim.run_until(LIMIT, |s| s.nodes[i].core.state() == TorrentState::Seeding);
    if !done {
        let l = &sim.nodes[i].log;
        eprintln!(
            "connected {:?}\nclosed {:?}\nrequests {:?}",
            l.connected,
            l.closed,
            &l.requests[..l.requests.len().min(20)]
        );
        for (j, n) in sim.nodes.iter().enumerate() {
            eprintln!(
                "node {j}: connected {:?} closed {:?} served {}",
                n.log.connected, n.log.closed, n.log.served
            );
        }
    }
    assert!(
        done,
        "node {i} did not complete in {LIMIT:?} of virtual time: {:?}",
        sim.nodes[i].core.stats()
    );
    let n = sim.torrent.meta.piece_count();
    assert!(
        sim.torrent.holds(&sim.nodes[i].storage, 0..n),
        "node {i} holds the wrong bytes"
    );
    assert!(
        sim.nodes[i].log.requested_owned.is_empty(),
        "node {i} requested pieces it had"
    );
    sim.elapsed()
}

/// The reasons node `i` closed connections with node `peer`.
pub(super) fn closes(sim: &Sim, i: usize, peer: usize) -> Vec<CloseReason> {
    sim.nodes[i]
        .log
        .closed
        .iter()
        .filter(|(_, p, _)| *p == peer)
        .map(|(_, _, r)| *r)
        .collect()
}

#[test]
fn one_seeder_one_leecher() {
    let t = SimTorrent::single(1_000_003, 32 * 1024, 1);
    let mut sim = Sim::new(
        t,
        vec![NodeSpec::seed(10 * MB), NodeSpec::leech(MB)],
        config(),
    );
    sim.introduce(1, &[0]);
    let took = complete(&mut sim, 1);
    // 1 MB at 10 MB/s plus a few round trips.
    assert!(took < Duration::from_millis(700), "took {took:?}");
    let states: Vec<TorrentState> = sim.nodes[1].log.states.iter().map(|s| s.1).collect();
    assert_eq!(states, [TorrentState::Downloading, TorrentState::Seeding]);
    assert_eq!(
        sim.nodes[0].log.served,
        sim.meta().total_length,
        "each byte sent once"
    );
    assert!(sim.nodes[1].log.closed.iter().all(|c| !c.2.is_violation()));
    let stats = sim.nodes[1].core.stats();
    assert_eq!(
        (stats.done_bytes, stats.wasted),
        (sim.meta().total_length, 0)
    );
}

#[test]
fn fifty_peers_with_mixed_speeds_all_complete() {
    let t = SimTorrent::single(2 * 1024 * 1024 + 77, 64 * 1024, 2);
    let mut specs = Vec::new();
    for i in 0..10u64 {
        specs.push(
            NodeSpec::seed(100 * KB + i * 500 * KB).with_latency(Duration::from_millis(5 + i * 9)),
        );
    }
    for i in 0..40u64 {
        specs.push(
            NodeSpec::leech(50 * KB + i * 25 * KB).with_latency(Duration::from_millis(2 + i * 2)),
        );
    }
    let mut sim = Sim::new(t, specs, config());
    // Everyone announces `started` and learns everyone from the "tracker".
    assert!(
        sim.run_until(LIMIT, Sim::all_complete),
        "the swarm did not complete"
    );
    let l = &sim.nodes[20].log;
    eprintln!(
        "conn {:?}",
        l.connected.iter().filter(|c| c.1 == 16).collect::<Vec<_>>()
    );
    eprintln!(
        "closed {:?}",
        l.closed.iter().filter(|c| c.1 == 16).collect::<Vec<_>>()
    );
    eprintln!(
        "req {:?}",
        l.requests
            .iter()
            .filter(|c| c.0 == 16 && c.1.index == 28)
            .collect::<Vec<_>>()
    );
    eprintln!(
        "cancels {:?}",
        l.cancels.iter().filter(|c| c.0 == 16).collect::<Vec<_>>()
    );
    eprintln!(
        "16 req {:?}",
        sim.nodes[16]
            .log
            .requests
            .iter()
            .filter(|c| c.0 == 20 && c.1.index == 28)
            .collect::<Vec<_>>()
    );
    for i in 10..50 {
        let n = sim.meta().piece_count();
        assert!(sim.torrent.holds(&sim.nodes[i].storage, 0..n));
        assert!(sim.nodes[i].log.requested_owned.is_empty());
        assert!(
            sim.nodes[i].log.closed.iter().all(|c| !c.2.is_violation()),
            "node {i}: {:?}",
            sim.nodes[i].log.closed
        );
    }
    let from_leechers: u64 = (10..50).map(|i| sim.nodes[i].log.served).sum();
    assert!(from_leechers > 0, "leechers trade pieces among themselves");
}

#[test]
fn corrupt_peer_is_banned_after_its_second_bad_piece() {
    let t = SimTorrent::single(3_000_000, 16 * 1024, 3);
    let specs = vec![
        NodeSpec::seed(5 * MB).with_fault(Fault::Corrupt),
        NodeSpec::seed(MB),
        NodeSpec::seed(MB),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(3, &[0, 1, 2]);
    let done = complete(&mut sim, 3);
    let bans: Vec<_> = sim.nodes[3]
        .log
        .closed
        .iter()
        .filter(|c| c.2 == CloseReason::Banned)
        .collect();
    assert_eq!(bans.len(), 1, "{:?}", sim.nodes[3].log.closed);
    assert_eq!(bans[0].1, 0, "the corrupt node is the one banned");
    assert!(bans[0].0 < done, "banned before the download finished");
    let stats = sim.nodes[3].core.stats();
    assert_eq!(stats.banned_peers, 1);
    assert_eq!(stats.closed_by_us.get(CloseReason::Banned), 1);
    // Its first bad piece is a strike, the second a ban: two pieces wasted
    // at least, and nothing from it was kept.
    assert!(stats.wasted >= 2 * 16 * 1024, "{stats:?}");
    // It is not connected again.
    let log = &sim.nodes[3].log;
    assert!(!log.connected.iter().any(|c| c.1 == 0 && c.0 > bans[0].0));
}

#[test]
fn choke_flapping_peer_still_serves_the_download() {
    let t = SimTorrent::single(600_000, 32 * 1024, 4);
    let specs = vec![
        NodeSpec::seed(2 * MB).with_fault(Fault::ChokeFlap(3)),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(1, &[0]);
    complete(&mut sim, 1);
    // Blocks released by a choke and answered late are accepted quietly.
    assert!(
        closes(&sim, 1, 0).iter().all(|r| !r.is_violation()),
        "{:?}",
        closes(&sim, 1, 0)
    );
}

#[test]
fn a_peer_that_drops_mid_piece_is_retried_until_done() {
    // The only peer, given by the user, drops every connection after
    // 40 KiB of a 64 KiB piece: received blocks are kept, the rest asked
    // again after each reconnect.
    let t = SimTorrent::single(512 * 1024, 64 * 1024, 5);
    let specs = vec![
        NodeSpec::seed(MB).with_fault(Fault::DisconnectAfter(40 * 1024)),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(1, &[0]);
    complete(&mut sim, 1);
    // 48 KiB per connection (3 blocks): 11 connections for 512 KiB.
    let connections = sim.nodes[1].log.connected.len();
    assert!(connections >= 11, "{connections} connections");
    assert_eq!(sim.nodes[1].core.stats().wasted, 0);
    // Nothing was fetched twice.
    assert!(sim.nodes[0].log.served <= sim.meta().total_length + 16 * 1024 * 13);
}

#[test]
fn a_peer_that_comes_up_late_is_found() {
    // `--peer A` given before the peer at A is up: refused dials are
    // retried, and the status says why there is no peer meanwhile.
    let t = SimTorrent::single(300_000, 32 * 1024, 11);
    let mut sim = Sim::new(t, vec![NodeSpec::seed(MB), NodeSpec::leech(MB)], config());
    sim.take_offline(0);
    sim.introduce(1, &[0]);
    sim.run_until(Duration::from_secs(8), |_| false);
    let stats = sim.nodes[1].core.stats();
    assert_eq!(stats.peers, 0);
    assert!(stats.connect_attempts >= 3, "{stats:?}");
    let refused = ConnectError::Io(std::io::ErrorKind::ConnectionRefused);
    assert_eq!(stats.last_connect_error, Some((sim.nodes[0].addr, refused)));
    sim.bring_online(0);
    let took = complete(&mut sim, 1);
    assert!(
        took < Duration::from_secs(8 + 16),
        "found {took:?} after the start"
    );
}

#[test]
fn a_seeder_that_vanishes_leaves_the_others_to_finish() {
    let t = SimTorrent::single(2_000_000, 32 * 1024, 12);
    let specs = vec![
        NodeSpec::seed(2 * MB),
        NodeSpec::seed(500 * KB),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(2, &[0, 1]);
    sim.run_until(Duration::from_millis(400), |_| false);
    let before = sim.nodes[2].core.stats().downloaded;
    assert!(before > 0 && before < sim.meta().total_length, "{before}");
    sim.take_offline(0);
    complete(&mut sim, 2);
    let from_other = sim.nodes[1].log.served;
    assert!(
        from_other >= sim.meta().total_length - before,
        "{from_other}"
    );
}

#[test]
fn endgame_asks_twice_and_cancels_the_slow_copy() {
    let t = SimTorrent::single(1024 * 1024, 64 * 1024, 6);
    let specs = vec![
        NodeSpec::seed(10 * MB),
        NodeSpec::seed(30 * KB),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(2, &[1]);
    // The slow peer gets its requests in first; the fast one comes later.
    sim.run_until(Duration::from_millis(300), |_| false);
    sim.introduce(2, &[0]);
    let took = complete(&mut sim, 2);
    let cancels = &sim.nodes[2].log.cancels;
    assert!(!cancels.is_empty(), "endgame sent no cancel");
    assert!(
        cancels.iter().all(|(to, _)| *to == 1),
        "cancels go to the slow peer"
    );
    // The slow peer alone would need 35 s.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn snubbing_peer_loses_its_requests() {
    let t = SimTorrent::single(2 * 1024 * 1024, 64 * 1024, 7);
    let specs = vec![
        NodeSpec::seed(MB).with_fault(Fault::StallAfter(32 * 1024)),
        NodeSpec::seed(300 * KB),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(2, &[0]);
    let snubbed = sim.run_until(Duration::from_secs(20), |s| {
        s.nodes[2].core.stats().snubbed_peers == 1
    });
    assert!(snubbed, "the stalled peer was never snubbed");
    let at = sim.elapsed();
    assert!(
        at >= Duration::from_secs(5),
        "snubbed after the 5 s timeout, not at {at:?}"
    );
    // Everything it held is asked of the other peer, which is not in endgame
    // yet: the requests to the stalled peer were released.
    let held: Vec<_> = sim.nodes[2]
        .log
        .requests
        .iter()
        .filter(|r| r.0 == 0)
        .map(|r| r.1)
        .collect();
    sim.introduce(2, &[1]);
    complete(&mut sim, 2);
    let later: Vec<_> = sim.nodes[2]
        .log
        .requests
        .iter()
        .filter(|r| r.0 == 1)
        .map(|r| r.1)
        .collect();
    let first_of_stalled = held.iter().skip(2).take(10);
    for b in first_of_stalled {
        assert!(later.contains(b), "{b:?} was never asked of the other peer");
    }
    // While snubbed it gets one request at a time.
    let to_stalled_after = sim.nodes[2]
        .log
        .requests
        .iter()
        .filter(|r| r.0 == 0)
        .count()
        - held.len();
    assert!(
        to_stalled_after <= 1,
        "{to_stalled_after} more requests to a snubbed peer"
    );
}

#[test]
fn resume_fetches_only_missing_pieces() {
    let t = SimTorrent::single(40 * 16 * 1024 + 1000, 16 * 1024, 8);
    let half: Vec<u32> = (0..20).collect();
    let mut leech = NodeSpec::leech(MB);
    leech.have = Have::Pieces(half.clone());
    let mut sim = Sim::new(t, vec![NodeSpec::seed(5 * MB), leech], config());
    sim.introduce(1, &[0]);
    complete(&mut sim, 1);
    let missing = sim.meta().total_length - 20 * 16 * 1024;
    assert_eq!(
        sim.nodes[0].log.served, missing,
        "only missing pieces are fetched"
    );
    assert!(sim.nodes[1].log.requests.iter().all(|(_, r)| r.index >= 20));
}

#[test]
fn selective_download_skips_unwanted_files() {
    let files = [("a.bin", 100_000), ("b.bin", 300_000), ("c.bin", 50_000)];
    let t = SimTorrent::new(&files, 32 * 1024, 9);
    let n = t.meta.piece_count();
    // Pieces wholly inside b.bin are skipped.
    let prio: Vec<u8> = (0..n)
        .map(|p| {
            let r = t.layout.piece_range(p);
            u8::from(!(r.start >= 100_000 && r.end <= 400_000))
        })
        .collect();
    let mut leech = NodeSpec::leech(MB);
    leech.priorities = Some(prio.clone());
    let mut sim = Sim::new(t, vec![NodeSpec::seed(5 * MB), leech], config());
    sim.introduce(1, &[0]);
    sim.run_until(LIMIT, |s| s.nodes[1].core.state() == TorrentState::Seeding);
    assert_eq!(sim.nodes[1].core.state(), TorrentState::Seeding);
    let wanted: Vec<u32> = (0..n).filter(|&p| prio[p as usize] > 0).collect();
    assert!(
        sim.torrent
            .holds(&sim.nodes[1].storage, wanted.iter().copied())
    );
    assert!(
        sim.nodes[1]
            .log
            .requests
            .iter()
            .all(|(_, r)| prio[r.index as usize] > 0)
    );
    let stats = sim.nodes[1].core.stats();
    assert_eq!(stats.done_bytes, stats.wanted_bytes);
    assert!(stats.wanted_bytes < sim.meta().total_length);
}

/// A hostile seeder and a good one: the download completes, and the
/// leecher closed the hostile one for `reason` before it finished.
fn hostile(fault: Fault, reason: CloseReason) {
    let t = SimTorrent::single(400_000, 16 * 1024, 10);
    let specs = vec![
        NodeSpec::seed(MB).with_fault(fault),
        NodeSpec::seed(MB),
        NodeSpec::leech(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(2, &[0, 1]);
    let done = complete(&mut sim, 2);
    let closed = &sim.nodes[2].log.closed;
    assert!(
        closed
            .iter()
            .any(|(at, peer, r)| *peer == 0 && *r == reason && *at < done),
        "{fault:?}: not closed for {reason:?} before completing: {closed:?}"
    );
    assert!(sim.nodes[2].core.stats().closed_by_us.get(reason) >= 1);
    assert!(closes(&sim, 2, 1).iter().all(|r| !r.is_violation()));
}

#[test]
fn bad_bitfield_closes_the_connection() {
    hostile(Fault::BadBitfield, CloseReason::BadBitfield);
}

#[test]
fn unrequested_block_closes_the_connection() {
    hostile(Fault::UnrequestedBlock, CloseReason::UnrequestedBlock);
}

#[test]
fn have_out_of_range_closes_the_connection() {
    hostile(Fault::HaveOutOfRange, CloseReason::HaveOutOfRange);
}

/// A torrent whose info dictionary spans several metadata pieces.
fn many_files() -> SimTorrent {
    let names: Vec<String> = (0..1200)
        .map(|i| format!("dir/file-number-{i:04}.bin"))
        .collect();
    let files: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 1500)).collect();
    SimTorrent::new(&files, 16 * 1024, 13)
}

#[test]
fn a_magnet_link_fetches_the_metadata_then_downloads() {
    let t = many_files();
    assert!(
        t.meta.info_bytes.len() > 2 * 16 * 1024,
        "several metadata pieces"
    );
    let specs = vec![NodeSpec::seed(MB), NodeSpec::seed(MB), NodeSpec::magnet(MB)];
    let mut sim = Sim::new(t, specs, config());
    assert_eq!(sim.nodes[2].core.state(), TorrentState::FetchingMetadata);
    assert!(sim.nodes[2].core.metainfo().is_none());
    sim.introduce(2, &[0, 1]);
    complete(&mut sim, 2);
    let states: Vec<TorrentState> = sim.nodes[2].log.states.iter().map(|s| s.1).collect();
    assert_eq!(
        states,
        [
            TorrentState::FetchingMetadata,
            TorrentState::Checking,
            TorrentState::Downloading,
            TorrentState::Seeding
        ]
    );
    assert_eq!(
        sim.nodes[2].core.metainfo().unwrap().info_bytes,
        sim.meta().info_bytes
    );
    // The peers that gave the metadata gave the data too: nobody was
    // dropped or dialled again once it arrived.
    let l = &sim.nodes[2].log;
    let arrived = l
        .states
        .iter()
        .find(|s| s.1 == TorrentState::Checking)
        .unwrap()
        .0;
    let done = l.completed_at.unwrap();
    // The peers unchoked us while the metadata came: requests go out as
    // soon as the check is done, not at some later tick.
    let downloading = l
        .states
        .iter()
        .find(|s| s.1 == TorrentState::Downloading)
        .unwrap()
        .0;
    let first = l.first_request_at.unwrap();
    assert!(
        first <= downloading + Duration::from_millis(100),
        "first request {first:?}, downloading since {downloading:?}"
    );
    assert!(
        l.connected.iter().all(|c| c.0 <= arrived),
        "{:?}",
        l.connected
    );
    assert!(
        l.closed.iter().all(|c| c.0 <= arrived || c.0 >= done),
        "{:?}",
        l.closed
    );
}

#[test]
fn a_peer_with_a_huge_metadata_size_is_dropped() {
    let t = many_files();
    let specs = vec![
        NodeSpec::seed(MB).with_fault(Fault::MetadataSize(4 << 30)),
        NodeSpec::seed(MB),
        NodeSpec::magnet(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(2, &[0, 1]);
    let done = complete(&mut sim, 2);
    let closed = &sim.nodes[2].log.closed;
    assert!(
        closed
            .iter()
            .any(|(at, p, r)| *p == 0 && *r == CloseReason::MetadataTooLarge && *at < done),
        "{closed:?}"
    );
}

#[test]
fn metadata_that_does_not_hash_closes_whoever_sent_it() {
    bad_metadata_piece(Fault::CorruptMetadata);
}

/// A magnet leecher meets only `fault`'s seeder first: it must close it
/// for bad metadata and stay fetching; then an honest seeder finishes it.
fn bad_metadata_piece(fault: Fault) {
    let t = many_files();
    let specs = vec![
        NodeSpec::seed(MB).with_fault(fault),
        NodeSpec::seed(MB),
        NodeSpec::magnet(MB),
    ];
    let mut sim = Sim::new(t, specs, config());
    sim.introduce(2, &[0]);
    let closed = sim.run_until(Duration::from_secs(10), |s| {
        s.nodes[2]
            .log
            .closed
            .iter()
            .any(|c| c.1 == 0 && c.2 == CloseReason::BadMetadata)
    });
    assert!(closed, "{fault:?}: {:?}", sim.nodes[2].log.closed);
    assert_eq!(sim.nodes[2].core.state(), TorrentState::FetchingMetadata);
    sim.introduce(2, &[1]);
    complete(&mut sim, 2);
}

#[test]
fn a_metadata_piece_of_the_wrong_size_closes_the_sender() {
    bad_metadata_piece(Fault::ShortMetadata);
}

#[test]
fn a_metadata_piece_out_of_range_closes_the_sender() {
    bad_metadata_piece(Fault::MetadataPieceOutOfRange);
}

#[test]
fn a_peer_lying_about_the_metadata_size_first_does_not_pin_it() {
    bad_metadata_piece(Fault::MetadataSize(1000));
}
