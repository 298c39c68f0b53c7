//! The lifecycle through the core: checking, downloading, seeding, paused,
//! error and stopped, with the announces and closes each transition makes.

use std::time::Duration;

use monsoon_engine::torrent::{Action, Direction};
use monsoon_engine::{CloseReason, ConnectError, PeerSource, TorrentError, TorrentState};
use monsoon_storage::StorageError;
use monsoon_tracker::Event;
use monsoon_wire::Message;

use super::harness::Harness;
use crate::sim::net::Have;
use crate::sim::torrent::SimTorrent;

fn small() -> SimTorrent {
    SimTorrent::single(6 * 16 * 1024, 16 * 1024, 4)
}

fn states(h: &mut Harness) -> Vec<TorrentState> {
    let mut got = Vec::new();
    h.out.retain(|a| match a {
        Action::StateChanged(s) => {
            got.push(*s);
            false
        }
        _ => true,
    });
    got
}

/// Downloads everything from one peer.
fn download_all(h: &mut Harness, key: monsoon_piece::PeerKey) {
    for _ in 0..20 {
        let asked = h.requests(key);
        if asked.is_empty() {
            break;
        }
        for r in asked {
            let block = h.block(r);
            h.msg(key, block);
        }
    }
}

#[test]
fn check_download_seed_with_announces() {
    let mut h = Harness::new(small(), Have::Nothing);
    assert_eq!(states(&mut h), [TorrentState::Downloading]);
    assert_eq!(h.announces(), [Event::Started]);
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    download_all(&mut h, k);
    assert_eq!(states(&mut h), [TorrentState::Seeding]);
    assert_eq!(h.announces(), [Event::Completed]);
    assert!(h.core.stats().is_complete());
    assert!(h.torrent.holds(&h.storage, 0..6));
    // A torrent complete on disk seeds at once and never says `completed`.
    let mut seed = Harness::new(small(), Have::All);
    assert_eq!(states(&mut seed), [TorrentState::Seeding]);
    assert_eq!(seed.announces(), [Event::Started]);
}

#[test]
fn pause_resume_and_stop() {
    let mut h = Harness::new(small(), Have::Nothing);
    h.announces();
    states(&mut h);
    let a = h.connect(1);
    let b = h.connect(2);
    h.core.pause(h.now);
    h.pump();
    let mut closed = h.closes();
    closed.sort();
    assert_eq!(closed, [(a, CloseReason::Paused), (b, CloseReason::Paused)]);
    assert_eq!(h.announces(), [Event::Stopped]);
    assert_eq!(states(&mut h), [TorrentState::Paused]);
    // Paused: nobody gets in, nobody is dialled.
    let refused = h.try_connect(3, Direction::Incoming, Harness::id(3), true);
    assert_eq!(refused, Err(CloseReason::NotAccepting));
    h.core
        .add_peers(h.now, &[Harness::addr(9)], PeerSource::User);
    h.pump();
    h.tick(3);
    assert!(h.connects().is_empty());
    h.core.resume(h.now);
    h.pump();
    assert_eq!(states(&mut h), [TorrentState::Downloading]);
    assert_eq!(h.announces(), [Event::Started]);
    assert_eq!(h.connects(), [Harness::addr(9)]);
    h.core.stop(h.now);
    h.pump();
    assert_eq!(states(&mut h), [TorrentState::Stopped]);
    assert_eq!(h.announces(), [Event::Stopped]);
    assert_eq!(
        h.core.poll_timeout(),
        None,
        "a stopped torrent needs no timer"
    );
    // Stopping again does nothing.
    h.out.clear();
    h.core.stop(h.now);
    h.pump();
    assert!(h.out.is_empty());
}

#[test]
fn added_paused_checks_only_when_resumed() {
    let mut h = Harness::with(
        small(),
        Have::Pieces(vec![0, 1]),
        monsoon_engine::SessionConfig::new("."),
        |p| {
            p.paused = true;
        },
    );
    assert_eq!(h.core.state(), TorrentState::Paused);
    assert_eq!(h.core.stats().pieces_done, 0, "not checked yet");
    assert!(h.announces().is_empty());
    h.core.resume(h.now);
    h.pump();
    assert_eq!(
        states(&mut h),
        [TorrentState::Checking, TorrentState::Downloading]
    );
    assert_eq!(h.core.stats().pieces_done, 2);
}

#[test]
fn a_write_error_fails_the_torrent_with_the_storage_error_and_resume_retries() {
    let mut h = Harness::new(small(), Have::Nothing);
    states(&mut h);
    h.announces();
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    h.fail_writes = Some(std::io::ErrorKind::StorageFull);
    let asked = h.requests(k);
    for r in asked.iter().take(1) {
        let block = h.block(*r);
        h.msg(k, block);
    }
    assert_eq!(states(&mut h), [TorrentState::Error]);
    let err = h.core.stats().error.clone().expect("an error in the stats");
    assert!(
        matches!(&err, TorrentError::Write { piece, .. } if *piece == asked[0].index),
        "{err:?}"
    );
    let full = matches!(err.storage(), Some(StorageError::Io { source, .. }) if source.kind() == std::io::ErrorKind::StorageFull);
    assert!(full, "a caller can tell a full disk: {err:?}");
    assert_eq!(h.closes(), [(k, CloseReason::Failed)]);
    assert_eq!(h.announces(), [Event::Stopped]);
    // The disk has room again: resume downloads the failed piece too.
    h.fail_writes = None;
    h.core.resume(h.now);
    h.pump();
    assert_eq!(states(&mut h), [TorrentState::Downloading]);
    assert!(h.core.stats().error.is_none());
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    download_all(&mut h, k);
    assert_eq!(states(&mut h), [TorrentState::Seeding]);
    assert!(h.torrent.holds(&h.storage, 0..6));
}

#[test]
fn a_failed_check_is_an_error_and_resume_checks_again() {
    let t = small();
    let mut h = Harness::with(t, Have::All, monsoon_engine::SessionConfig::new("."), |p| {
        p.paused = true
    });
    h.fail_check = true;
    h.core.resume(h.now);
    h.pump();
    assert_eq!(
        states(&mut h),
        [TorrentState::Checking, TorrentState::Error]
    );
    assert!(matches!(h.core.stats().error, Some(TorrentError::Check(_))));
    h.fail_check = false;
    h.core.resume(h.now);
    h.pump();
    assert_eq!(
        states(&mut h),
        [TorrentState::Checking, TorrentState::Seeding]
    );
}

#[test]
fn choosing_more_files_goes_back_to_downloading() {
    let mut h = Harness::with(
        small(),
        Have::Pieces(vec![0, 1, 2]),
        monsoon_engine::SessionConfig::new("."),
        |p| {
            p.piece_priorities = Some(vec![1, 1, 1, 0, 0, 0]);
        },
    );
    assert_eq!(states(&mut h), [TorrentState::Seeding]);
    h.core.set_piece_priorities(h.now, vec![1; 6]).unwrap();
    h.pump();
    assert_eq!(states(&mut h), [TorrentState::Downloading]);
    assert_eq!(h.core.stats().wanted_bytes, 6 * 16 * 1024);
    h.core
        .set_piece_priorities(h.now, vec![1, 1, 1, 0, 0, 0])
        .unwrap();
    h.pump();
    assert_eq!(states(&mut h), [TorrentState::Seeding]);
    let wrong = h.core.set_piece_priorities(h.now, vec![1; 5]);
    assert!(matches!(
        wrong,
        Err(monsoon_engine::EngineError::PiecePriorityCount {
            given: 5,
            pieces: 6
        })
    ));
}

#[test]
fn a_user_peer_is_retried_with_backoff_and_the_status_says_why() {
    let mut h = Harness::new(small(), Have::Nothing);
    h.core
        .add_peers(h.now, &[Harness::addr(5)], PeerSource::User);
    h.pump();
    assert_eq!(h.connects(), [Harness::addr(5)]);
    let refused = ConnectError::Io(std::io::ErrorKind::ConnectionRefused);
    let mut waits = Vec::new();
    for _ in 0..6 {
        h.core
            .handle_connect_failed(h.now, Harness::addr(5), refused.clone());
        h.pump();
        let mut waited = 0;
        while h.connects().is_empty() {
            h.tick(1);
            waited += 1;
            assert!(waited <= 16, "no retry");
        }
        waits.push(waited);
    }
    assert_eq!(waits, [1, 2, 4, 8, 15, 15]);
    let stats = h.core.stats();
    assert_eq!(stats.last_connect_error, Some((Harness::addr(5), refused)));
    assert_eq!(stats.connect_attempts, 7);
    assert_eq!(stats.peers, 0);
    // Once it answers, the fail count is forgotten.
    let k = h
        .try_connect(5, Direction::Outgoing, Harness::id(5), true)
        .unwrap();
    h.core
        .handle_closed(h.now, k, monsoon_engine::torrent::PeerEnd::ClosedByPeer);
    h.pump();
    h.tick(1);
    assert_eq!(h.connects(), [Harness::addr(5)], "retried after 1 s again");
    let _ = Duration::ZERO;
}

#[test]
fn refused_connections_say_why() {
    let mut cfg = monsoon_engine::SessionConfig::new(".");
    cfg.max_peers_per_torrent = 2;
    let mut h = Harness::with(small(), Have::Nothing, cfg, |_| {});
    let mut hs_other = monsoon_wire::Handshake::new([9; 20], Harness::id(1));
    hs_other.reserved = monsoon_wire::Reserved::default();
    let wrong = h
        .core
        .handle_connected(h.now, Harness::addr(1), Direction::Incoming, &hs_other);
    assert_eq!(wrong, Err(CloseReason::WrongInfoHash));
    let ourselves = h.try_connect(1, Direction::Outgoing, super::harness::OUR_ID, true);
    assert_eq!(ourselves, Err(CloseReason::SelfConnection));
    h.connect(2);
    let dup = h.try_connect(3, Direction::Incoming, Harness::id(2), true);
    assert_eq!(
        dup,
        Err(CloseReason::Duplicate),
        "same peer id, same direction"
    );
    h.connect(4);
    let full = h.try_connect(5, Direction::Incoming, Harness::id(5), true);
    assert_eq!(full, Err(CloseReason::PeerLimit));
    let c = &h.core.stats().closed_by_us;
    for r in [
        CloseReason::WrongInfoHash,
        CloseReason::SelfConnection,
        CloseReason::Duplicate,
        CloseReason::PeerLimit,
    ] {
        assert_eq!(c.get(r), 1, "{r:?}");
    }
}

#[test]
fn simultaneous_dials_keep_the_connection_of_the_greater_peer_id() {
    // Our id "-MO0100-…" is greater than "-AA…" and less than "-ZZ…".
    let lower = *b"-AA0000-000000000001";
    let greater = *b"-ZZ0000-000000000001";
    for (their, keep) in [(lower, Direction::Outgoing), (greater, Direction::Incoming)] {
        for first in [Direction::Incoming, Direction::Outgoing] {
            let mut h = Harness::new(small(), Have::Nothing);
            let second = if first == Direction::Incoming {
                Direction::Outgoing
            } else {
                Direction::Incoming
            };
            let a = h.try_connect(1, first, their, true).unwrap();
            let b = h.try_connect(1, second, their, true);
            if second == keep {
                let b = b.expect("the new one is kept");
                assert_eq!(h.closes(), [(a, CloseReason::Duplicate)]);
                assert_ne!(a, b);
            } else {
                assert_eq!(b, Err(CloseReason::Duplicate));
                assert!(h.closes().is_empty());
            }
            assert_eq!(h.core.peer_count(), 1);
        }
    }
}

#[test]
fn a_sole_sender_of_bad_pieces_is_banned_and_a_mixed_one_only_when_proven() {
    let t = small();
    let mut h = Harness::new(t.clone(), Have::Nothing);
    let k = h.connect(1);
    h.msg(k, Message::HaveAll);
    h.msg(k, Message::Unchoke);
    let asked = h.requests(k);
    // Two bad pieces from it alone: a strike, then a ban.
    for r in asked.iter().take(2) {
        h.msg(
            k,
            Message::Piece {
                index: r.index,
                begin: r.begin,
                data: vec![0xee; 16384].into(),
            },
        );
    }
    assert_eq!(h.closes(), [(k, CloseReason::Banned)]);
    assert_eq!(h.core.stats().banned_peers, 1);
    let again = h.try_connect(1, Direction::Incoming, Harness::id(1), true);
    assert_eq!(again, Err(CloseReason::Banned));

    // Smart ban: a two-block piece, one block from a liar and one from an
    // honest peer: nobody is struck until the piece passes; then the liar
    // (and only it) is banned. The liar queues one request, so the honest
    // peer is asked for the rest.
    let t = SimTorrent::single(2 * 32 * 1024, 32 * 1024, 5);
    let mut h = Harness::new(t, Have::Nothing);
    let liar = h.connect(1);
    let honest = h.connect(2);
    let one = monsoon_wire::ExtendedHandshake {
        reqq: Some(1),
        ..Default::default()
    };
    h.msg(liar, one.to_message());
    for k in [liar, honest] {
        h.msg(k, Message::HaveAll);
    }
    h.msg(liar, Message::Unchoke);
    let lied: Vec<_> = h.requests(liar);
    assert_eq!(lied.len(), 1);
    h.msg(honest, Message::Unchoke);
    let fair: Vec<_> = h.requests(honest);
    let bad = lied[0];
    let piece = bad.index;
    let good_ones: Vec<_> = fair.iter().filter(|r| r.index == piece).copied().collect();
    h.msg(
        liar,
        Message::Piece {
            index: bad.index,
            begin: bad.begin,
            data: vec![0xee; 16384].into(),
        },
    );
    for r in &good_ones {
        let block = h.block(*r);
        h.msg(honest, block);
    }
    assert!(h.closes().is_empty(), "nobody is judged on a mixed failure");
    assert!(h.core.stats().wasted > 0);
    // The liar chokes us; the piece comes again, all from the honest
    // peer, and passes.
    h.msg(liar, Message::Choke);
    for _ in 0..4 {
        let asked = h.requests(honest);
        for r in asked.into_iter().filter(|r| r.index == piece) {
            let block = h.block(r);
            h.msg(honest, block);
        }
        h.tick(1);
    }
    assert!(h.core.have().get(piece), "the piece passed");
    assert_eq!(h.closes(), [(liar, CloseReason::Banned)]);
}
