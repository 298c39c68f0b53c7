//! The routing table: a property test of its invariants under random
//! inserts, failures and time, and examples of replacement and splitting.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use monsoon_dht::{
    FRESH, Insert, K, MAX_BUCKETS, MAX_FAILURES, NodeId, Reject, RoutingTable, Status,
};
use proptest::prelude::*;

const OWN: NodeId = NodeId([0x3c; 20]);

/// An id sharing exactly `prefix` leading bits with `OWN` (or equal to it
/// for 160), the rest from `rest`.
fn id_near(prefix: usize, rest: [u8; 20]) -> NodeId {
    if prefix >= 160 {
        return OWN;
    }
    let mut id = NodeId(rest);
    for i in 0..=prefix {
        let want = if i == prefix { !OWN.bit(i) } else { OWN.bit(i) };
        if id.bit(i) != want {
            id = id.with_bit_flipped(i);
        }
    }
    id
}

fn addr(n: u32) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::from(0x0a00_0000 + n), 6881))
}

#[derive(Debug, Clone)]
enum Op {
    /// A node `prefix` bits from us answered from address number `host`.
    Insert {
        prefix: usize,
        rest: [u8; 20],
        host: u32,
    },
    /// The `n`-th node of the table (modulo its size) did not answer.
    Fail(usize),
    /// Time passes.
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop_oneof![0usize..8, 0usize..161], any::<[u8; 20]>(), 0u32..400)
            .prop_map(|(prefix, rest, host)| Op::Insert { prefix, rest, host }),
        2 => any::<usize>().prop_map(Op::Fail),
        1 => (0u64..2000).prop_map(Op::Wait),
    ]
}

fn check(t: &RoutingTable, restrict: bool) {
    let views: Vec<_> = t.buckets().collect();
    assert!(!views.is_empty() && views.len() <= MAX_BUCKETS);
    let last = views.len() - 1;
    let mut ids = HashSet::new();
    let mut ips = HashSet::new();
    for (i, b) in views.iter().enumerate() {
        assert!(b.nodes.len() <= K, "bucket {i} holds {}", b.nodes.len());
        assert!(b.replacements.len() <= K);
        // The ranges are those of a table split only around our id: bucket
        // i < last shares i bits with us and differs at bit i; the last
        // one shares `last` bits and so holds our own id.
        if i < last {
            assert_eq!(b.prefix_len, i + 1);
            assert!(!b.covers(&OWN), "bucket {i} covers our id");
        } else {
            assert_eq!(b.prefix_len, last);
            assert!(b.covers(&OWN));
        }
        for e in b.nodes.iter().chain(b.replacements) {
            assert!(b.covers(&e.id), "{:?} outside bucket {i}", e.id);
            assert_ne!(e.id, OWN, "own id stored");
        }
        for e in b.nodes {
            assert!(ids.insert(e.id), "{:?} twice", e.id);
            if restrict {
                assert!(ips.insert(e.addr.ip()), "{} twice", e.addr.ip());
            }
        }
    }
    assert_eq!(t.len(), ids.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn invariants_hold(ops in prop::collection::vec(op(), 1..200), restrict in any::<bool>()) {
        let mut now = Instant::now();
        let mut t = RoutingTable::new(OWN, now, restrict);
        for op in ops {
            let before = t.bucket_count();
            match op {
                Op::Insert { prefix, rest, host } => {
                    let id = id_near(prefix, rest);
                    let outcome = t.insert(id, addr(host), now);
                    if id == OWN {
                        prop_assert_eq!(outcome.clone(), Insert::Rejected(Reject::OwnId));
                    }
                    // Only an insert into our own (the last) bucket splits.
                    if t.bucket_count() > before {
                        prop_assert!(OWN.common_prefix_len(&id) >= before - 1);
                    }
                    if matches!(outcome, Insert::Added | Insert::Updated | Insert::Replaced(_)) {
                        prop_assert_eq!(t.get(&id).map(|e| e.addr), Some(addr(host)));
                    }
                }
                Op::Fail(n) => {
                    let all: Vec<_> = t.entries().map(|e| (e.id, e.addr)).collect();
                    if !all.is_empty() {
                        let (id, a) = all[n % all.len()];
                        t.failed(&id, a, now);
                    }
                }
                Op::Wait(s) => now += Duration::from_secs(s),
            }
            prop_assert!(t.bucket_count() >= before, "buckets never merge");
            check(&t, restrict);
        }
    }
}

#[test]
fn far_buckets_do_not_split_but_keep_replacements() {
    let now = Instant::now();
    let mut t = RoutingTable::new(OWN, now, true);
    // Fill our bucket with nodes one bit away (they all differ from us at
    // bit 0, so after one split they stay in the far bucket 0).
    for n in 0..K as u32 {
        assert_eq!(
            t.insert(id_near(0, [n as u8; 20]), addr(n), now),
            Insert::Added
        );
    }
    assert_eq!(t.bucket_count(), 1);
    // One more far node: the bucket splits (it held our id), but every
    // node lands in bucket 0, which is full: the newcomer waits.
    let extra = id_near(0, [0xee; 20]);
    assert_eq!(t.insert(extra, addr(100), now), Insert::Full(None));
    assert_eq!(t.bucket_count(), 2);
    assert!(t.get(&extra).is_none());
    // A near node still gets in: bucket 1 (ours) is empty.
    assert_eq!(t.insert(id_near(5, [1; 20]), addr(101), now), Insert::Added);

    // After 15 minutes the far nodes are questionable: a newcomer asks for
    // the least recently seen one to be pinged (once a minute at most).
    let later = now + FRESH;
    let first = t.buckets().next().unwrap().nodes[0].id;
    assert_eq!(t.get(&first).unwrap().status(later), Status::Questionable);
    let Insert::Full(Some(ping)) = t.insert(id_near(0, [0xef; 20]), addr(102), later) else {
        panic!("expected a node to ping");
    };
    // The next newcomer asks for another one: each is pinged once.
    let Insert::Full(Some(next)) = t.insert(id_near(0, [0xf0; 20]), addr(103), later) else {
        panic!("expected a second node to ping");
    };
    assert_ne!(next.id, ping.id);
    // It fails MAX_FAILURES pings: it is bad and the newest replacement
    // takes its place.
    for _ in 0..MAX_FAILURES {
        t.failed(&ping.id, ping.addr, later);
    }
    assert!(t.get(&ping.id).is_none());
    assert!(t.get(&id_near(0, [0xf0; 20])).is_some());
}

#[test]
fn same_ip_and_moved_ids() {
    let now = Instant::now();
    let mut t = RoutingTable::new(OWN, now, true);
    let a = id_near(3, [1; 20]);
    let b = id_near(4, [2; 20]);
    assert_eq!(t.insert(a, addr(1), now), Insert::Added);
    // Another id on the same IP (other port) is refused when restricted.
    let other_port = SocketAddr::new(addr(1).ip(), 7000);
    assert_eq!(
        t.insert(b, other_port, now),
        Insert::Rejected(Reject::SameIp)
    );
    // A known id answering from another address is refused while good.
    assert_eq!(
        t.insert(a, addr(2), now),
        Insert::Rejected(Reject::AddressChanged)
    );
    // The same address answering with a new id replaces the old entry.
    assert_eq!(t.insert(b, addr(1), now), Insert::Added);
    assert!(t.get(&a).is_none());
    assert_eq!(t.len(), 1);
    let mut open = RoutingTable::new(OWN, now, false);
    open.insert(a, addr(1), now);
    assert_eq!(open.insert(b, other_port, now), Insert::Added);
}

#[test]
fn closest_skips_bad_nodes_and_stale_buckets_are_reported() {
    let now = Instant::now();
    let mut t = RoutingTable::new(OWN, now, false);
    let ids: Vec<NodeId> = (0..6).map(|i| id_near(i * 3, [i as u8; 20])).collect();
    for (n, id) in ids.iter().enumerate() {
        t.insert(*id, addr(n as u32), now);
    }
    let target = ids[5];
    assert_eq!(t.closest(&target, 1, now)[0].id, target);
    for _ in 0..MAX_FAILURES {
        t.failed(&target, addr(5), now);
    }
    assert!(t.closest(&target, 10, now).iter().all(|n| n.id != target));
    assert_eq!(t.closest(&target, 10, now).len(), 5);
    assert!(t.take_stale(now + Duration::from_secs(60)).is_empty());
    let stale = t.take_stale(now + FRESH);
    assert_eq!(stale.len(), t.bucket_count());
    assert!(
        t.take_stale(now + FRESH).is_empty(),
        "reported once per period"
    );
}
