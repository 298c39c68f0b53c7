//! One sans-IO node fed hand-made datagrams: answers to each query, tokens,
//! errors both ways, rate limits, matching of responses, bounds, BEP 42.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use monsoon_dht::{
    Body, Config, Error, ErrorCode, Message, Method, Node, NodeId, Response, SavedState, TOKEN_LEN,
    Want, bep42_id, bep42_valid,
};

pub(crate) fn config(seed: u64) -> Config {
    let mut c = Config::default();
    c.seed = seed;
    c.ipv6 = false;
    c.restrict_routing_ips = false;
    c
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Drains what the node sent.
fn sent(node: &mut Node) -> Vec<(SocketAddr, Vec<u8>)> {
    std::iter::from_fn(|| node.poll_transmit())
        .map(|t| (t.to, t.data))
        .collect()
}

fn query(tid: &[u8], id: NodeId, method: Method<'_>) -> Vec<u8> {
    Message::query(tid, id, method).encode()
}

/// Whether a datagram is a response or an error (not a query of ours,
/// such as the ping that checks a new node).
fn is_answer(data: &[u8]) -> bool {
    !matches!(Message::decode(data).unwrap().body, Body::Query(_))
}

/// Sends `data` from `from` and returns the single answer.
fn ask(node: &mut Node, now: Instant, from: SocketAddr, data: &[u8]) -> Vec<u8> {
    node.handle_packet(now, from, data).unwrap();
    let out: Vec<_> = sent(node)
        .into_iter()
        .filter(|(to, d)| *to == from && is_answer(d))
        .collect();
    assert_eq!(out.len(), 1, "expected one answer, got {out:?}");
    out.into_iter().next().unwrap().1
}

fn response(data: &[u8]) -> Response<'_> {
    match Message::decode(data).unwrap().body {
        Body::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    }
}

fn error_code(data: &[u8]) -> ErrorCode {
    match Message::decode(data).unwrap().body {
        Body::Error(e) => e.code,
        other => panic!("not an error: {other:?}"),
    }
}

/// Makes `node` ping `addr` and answers as `id`: the node is in the table.
fn learn(node: &mut Node, now: Instant, id: NodeId, addr: SocketAddr) {
    node.add_node(now, addr);
    let (to, ping) = sent(node).pop().expect("a ping");
    assert_eq!(to, addr);
    let tid = Message::decode(&ping).unwrap().tid.to_vec();
    let r = Message::response(
        &tid,
        Response {
            id,
            ..Response::default()
        },
    )
    .encode();
    node.handle_packet(now, addr, &r).unwrap();
}

#[test]
fn answers_every_query() {
    let now = Instant::now();
    let mut node = Node::new(config(1), now);
    let me = node.id();
    let asker = sa("1.2.3.4:1000");
    let id = NodeId([7; 20]);

    let out = ask(&mut node, now, asker, &query(b"p1", id, Method::Ping));
    let msg = Message::decode(&out).unwrap();
    assert_eq!(msg.tid, b"p1");
    assert_eq!(msg.ip, Some(asker), "BEP 42: the requester's address");
    assert_eq!(response(&out).id, me);

    for i in 1..=3u8 {
        learn(
            &mut node,
            now,
            NodeId([i; 20]),
            SocketAddr::from(([10, 0, 0, i], 6881)),
        );
    }
    let target = NodeId([2; 20]);
    let want = Want::default();
    let out = ask(
        &mut node,
        now,
        asker,
        &query(b"f1", id, Method::FindNode { target, want }),
    );
    let r = response(&out);
    assert_eq!(r.nodes.len(), 3);
    assert_eq!(r.nodes[0].id, target, "closest first");
    assert!(r.nodes6.is_empty());

    let info_hash = NodeId([9; 20]);
    let out = ask(
        &mut node,
        now,
        asker,
        &query(b"g1", id, Method::GetPeers { info_hash, want }),
    );
    let r = response(&out);
    let token = r.token.expect("a token").to_vec();
    assert_eq!(token.len(), TOKEN_LEN);
    assert!(r.values.is_empty());
    assert_eq!(r.nodes.len(), 3);

    let announce = |port, implied_port, token: &[u8]| {
        query(
            b"a1",
            id,
            Method::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
            },
        )
    };
    let out = ask(&mut node, now, asker, &announce(6000, false, &token));
    assert_eq!(response(&out).id, me);
    let out = ask(&mut node, now, asker, &announce(0, true, &token));
    assert_eq!(response(&out).id, me);

    let other = sa("5.6.7.8:2000");
    let out = ask(
        &mut node,
        now,
        other,
        &query(b"g2", NodeId([8; 20]), Method::GetPeers { info_hash, want }),
    );
    let mut values = response(&out).values;
    values.sort();
    assert_eq!(values, vec![sa("1.2.3.4:1000"), sa("1.2.3.4:6000")]);

    let out = ask(
        &mut node,
        now,
        asker,
        &query(b"u1", id, Method::Unknown { name: b"put" }),
    );
    assert_eq!(error_code(&out), ErrorCode::MethodUnknown);
    let stats = node.stats(now);
    assert_eq!(
        (stats.announces_in, stats.stored_peers, stats.errors_out),
        (2, 2, 1)
    );
}

#[test]
fn tokens_rotate_and_are_bound_to_the_address() {
    let t0 = Instant::now();
    let mut node = Node::new(config(2), t0);
    let asker = sa("1.2.3.4:1000");
    let id = NodeId([7; 20]);
    let info_hash = NodeId([9; 20]);
    let want = Want::default();
    let out = ask(
        &mut node,
        t0,
        asker,
        &query(b"g", id, Method::GetPeers { info_hash, want }),
    );
    let token = response(&out).token.unwrap().to_vec();
    let announce = query(
        b"a",
        id,
        Method::AnnouncePeer {
            info_hash,
            port: 1,
            implied_port: false,
            token: &token,
        },
    );

    // Another address cannot use it.
    let out = ask(&mut node, t0, sa("1.2.3.5:1000"), &announce);
    assert_eq!(error_code(&out), ErrorCode::Protocol);
    // One rotation later (5 min) it still works: the previous secret counts.
    let t6 = t0 + Duration::from_secs(6 * 60);
    node.handle_timeout(t6);
    assert_eq!(
        response(&ask(&mut node, t6, asker, &announce)).id,
        node.id()
    );
    // Two rotations later it does not.
    let t11 = t0 + Duration::from_secs(11 * 60);
    node.handle_timeout(t11);
    assert_eq!(
        error_code(&ask(&mut node, t11, asker, &announce)),
        ErrorCode::Protocol
    );
    // Nor after a long idle time without timers (both secrets replaced).
    let out = ask(
        &mut node,
        t11,
        asker,
        &query(b"g", id, Method::GetPeers { info_hash, want }),
    );
    let fresh = response(&out).token.unwrap().to_vec();
    let late = t11 + Duration::from_secs(3600);
    let announce = query(
        b"a",
        id,
        Method::AnnouncePeer {
            info_hash,
            port: 1,
            implied_port: false,
            token: &fresh,
        },
    );
    assert_eq!(
        error_code(&ask(&mut node, late, asker, &announce)),
        ErrorCode::Protocol
    );
    assert_eq!(node.stats(late).bad_tokens, 3);
}

#[test]
fn malformed_queries_get_error_203_and_garbage_is_dropped() {
    let now = Instant::now();
    let mut node = Node::new(config(3), now);
    let from = sa("1.2.3.4:1000");
    let bad = b"d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:zz1:y1:qe";
    let err = node.handle_packet(now, from, bad).unwrap_err();
    assert!(matches!(err, Error::MissingKey { key: "target" }), "{err}");
    let out = sent(&mut node);
    assert_eq!(out.len(), 1);
    let msg = Message::decode(&out[0].1).unwrap();
    assert_eq!(msg.tid, b"zz");
    assert_eq!(error_code(&out[0].1), ErrorCode::Protocol);

    for garbage in [
        &b"\xff\xfe"[..],
        b"d1:t2:zz1:y1:re",
        b"i5e",
        b"d1:t2:zz1:y1:x1:q4:pinge",
    ] {
        assert!(node.handle_packet(now, from, garbage).is_err());
    }
    assert!(sent(&mut node).is_empty(), "no answer to garbage");
    assert_eq!(node.stats(now).decode_errors, 5);
}

#[test]
fn a_query_flood_from_one_address_is_rate_limited() {
    let now = Instant::now();
    let mut node = Node::new(config(4), now);
    let flooder = sa("6.6.6.6:1");
    let ping = query(b"pp", NodeId([1; 20]), Method::Ping);
    for _ in 0..1000 {
        node.handle_packet(now, flooder, &ping).unwrap();
    }
    let answered = sent(&mut node)
        .iter()
        .filter(|(to, d)| *to == flooder && is_answer(d))
        .count();
    let limit = config(4).rate_limit;
    assert_eq!(answered, limit.burst as usize);
    let stats = node.stats(now);
    assert_eq!(stats.rate_limited, 1000 - u64::from(limit.burst));
    assert_eq!(stats.queries_in, u64::from(limit.burst));
    // Another address is not affected.
    let polite = sa("7.7.7.7:1");
    ask(&mut node, now, polite, &ping);
    // One second later the flooder has earned `per_second` more answers.
    let later = now + Duration::from_secs(1);
    for _ in 0..100 {
        node.handle_packet(later, flooder, &ping).unwrap();
    }
    let answered = sent(&mut node)
        .iter()
        .filter(|(to, d)| *to == flooder && is_answer(d))
        .count();
    assert_eq!(answered, limit.per_second as usize);
}

#[test]
fn the_rate_limit_table_is_bounded() {
    let now = Instant::now();
    let mut c = config(5);
    c.rate_limit.sources = 10;
    let mut node = Node::new(c, now);
    let ping = query(b"pp", NodeId([1; 20]), Method::Ping);
    for i in 0..20u8 {
        node.handle_packet(now, SocketAddr::from(([9, 9, 9, i], 1)), &ping)
            .unwrap();
    }
    let stats = node.stats(now);
    assert_eq!(stats.rate_sources, 10);
    assert_eq!(
        stats.rate_limited, 10,
        "new sources wait while the table is full"
    );
    // Once the known sources have refilled, they make room.
    let later = now + Duration::from_secs(5);
    ask(&mut node, later, sa("9.9.8.1:1"), &ping);
    assert!(node.stats(later).rate_sources <= 10);
}

#[test]
fn unmatched_late_and_spoofed_responses_are_ignored() {
    let now = Instant::now();
    let mut node = Node::new(config(6), now);
    let peer = sa("10.0.0.9:6881");
    node.add_node(now, peer);
    let (_, ping) = sent(&mut node).pop().unwrap();
    let tid = Message::decode(&ping).unwrap().tid.to_vec();
    let answer = Message::response(
        &tid,
        Response {
            id: NodeId([5; 20]),
            ..Response::default()
        },
    )
    .encode();
    let wrong_tid = Message::response(
        b"??",
        Response {
            id: NodeId([5; 20]),
            ..Response::default()
        },
    )
    .encode();

    node.handle_packet(now, sa("10.0.0.10:6881"), &answer)
        .unwrap(); // right tid, wrong sender
    node.handle_packet(now, peer, &wrong_tid).unwrap();
    assert_eq!(node.stats(now).unmatched, 2);
    assert_eq!(node.table_v4().unwrap().len(), 0);

    let late = now + Duration::from_secs(6);
    node.handle_timeout(late);
    assert_eq!(node.stats(late).timeouts, 1);
    node.handle_packet(late, peer, &answer).unwrap();
    assert_eq!(node.stats(late).unmatched, 3);
    assert_eq!(
        node.table_v4().unwrap().len(),
        0,
        "a late answer is ignored"
    );

    // The control: an answer in time joins the table.
    learn(&mut node, late, NodeId([5; 20]), peer);
    assert_eq!(node.table_v4().unwrap().len(), 1);
}

#[test]
fn error_answers_fail_the_query_without_a_timeout() {
    let now = Instant::now();
    let mut node = Node::new(config(7), now);
    let peer = sa("10.0.0.9:6881");
    node.add_node(now, peer);
    let (_, ping) = sent(&mut node).pop().unwrap();
    let tid = Message::decode(&ping).unwrap().tid.to_vec();
    let err = Message::error(&tid, ErrorCode::Generic, b"busy").encode();
    node.handle_packet(now, peer, &err).unwrap();
    let later = now + Duration::from_secs(10);
    node.handle_timeout(later);
    let stats = node.stats(later);
    assert_eq!(
        (stats.errors_in, stats.timeouts, stats.outstanding),
        (1, 0, 0)
    );
    assert_eq!(node.table_v4().unwrap().len(), 0);
}

#[test]
fn queries_in_flight_are_bounded() {
    let now = Instant::now();
    let mut c = config(8);
    c.max_outstanding = 4;
    let mut node = Node::new(c, now);
    for i in 1..=10u8 {
        node.add_node(now, SocketAddr::from(([10, 0, 0, i], 6881)));
    }
    assert_eq!(sent(&mut node).len(), 4);
    let stats = node.stats(now);
    assert_eq!((stats.outstanding, stats.queries_skipped), (4, 6));
}

#[test]
fn the_peer_store_is_bounded_and_expires() {
    let now = Instant::now();
    let mut c = config(9);
    c.store.per_info_hash = 3;
    c.store.info_hashes = 2;
    c.rate_limit.burst = 1000;
    let ttl = c.store.ttl;
    let mut node = Node::new(c, now);
    let want = Want::default();
    let announce = |node: &mut Node, host: u8, hash: u8| {
        let from = SocketAddr::from(([20, 0, 0, host], 4000));
        let info_hash = NodeId([hash; 20]);
        let id = NodeId([host; 20]);
        let out = ask(
            node,
            now,
            from,
            &query(b"g", id, Method::GetPeers { info_hash, want }),
        );
        let token = response(&out).token.unwrap().to_vec();
        let method = Method::AnnouncePeer {
            info_hash,
            port: 0,
            implied_port: true,
            token: &token,
        };
        ask(node, now, from, &query(b"a", id, method))
    };
    for host in 1..=5 {
        response(&announce(&mut node, host, 1));
    }
    let out = ask(
        &mut node,
        now,
        sa("30.0.0.1:1"),
        &query(
            b"g",
            NodeId([3; 20]),
            Method::GetPeers {
                info_hash: NodeId([1; 20]),
                want,
            },
        ),
    );
    assert_eq!(response(&out).values.len(), 3, "per info-hash cap");
    response(&announce(&mut node, 6, 2));
    assert_eq!(
        error_code(&announce(&mut node, 7, 3)),
        ErrorCode::Server,
        "info-hash cap"
    );
    assert_eq!(node.stats(now).stored_peers, 4);
    let later = now + ttl + Duration::from_secs(1);
    node.handle_timeout(later);
    let stats = node.stats(later);
    assert_eq!((stats.stored_peers, stats.info_hashes), (0, 0));
}

#[test]
fn bep42_ids_from_a_known_or_voted_external_address() {
    let now = Instant::now();
    let ip: IpAddr = "81.2.3.4".parse().unwrap();
    let mut c = config(10);
    c.external_ip = Some(ip);
    let fixed = Node::new(c, now);
    assert!(bep42_valid(&fixed.id(), ip));

    let mut node = Node::new(config(11), now);
    let first = node.id();
    assert!(!bep42_valid(&first, ip));
    for i in 1..=4u8 {
        let peer = SocketAddr::from(([50, 0, 0, i], 6881));
        node.add_node(now, peer);
        let (_, ping) = sent(&mut node).pop().unwrap();
        let tid = Message::decode(&ping).unwrap().tid.to_vec();
        let mut r = Message::response(
            &tid,
            Response {
                id: NodeId([i; 20]),
                ..Response::default()
            },
        );
        r.ip = Some(SocketAddr::new(ip, 6881));
        node.handle_packet(now, peer, &r.encode()).unwrap();
        assert_eq!(node.id() == first, i < 4, "after {i} votes");
    }
    assert!(bep42_valid(&node.id(), ip));
    let stats = node.stats(now);
    assert_eq!((stats.external_ip, stats.id_changes), (Some(ip), 1));
    assert_eq!(
        node.table_v4().unwrap().len(),
        4,
        "the table survives the new id"
    );
}

#[test]
fn enforced_node_ids_keep_mismatched_nodes_out() {
    let now = Instant::now();
    let mut c = config(12);
    c.enforce_node_id = true;
    let mut node = Node::new(c, now);
    let public = sa("8.8.8.8:6881");
    learn(&mut node, now, NodeId([1; 20]), public);
    assert_eq!(node.table_v4().unwrap().len(), 0);
    assert_eq!(node.stats(now).invalid_ids, 1);
    learn(&mut node, now, bep42_id(public.ip(), 3, [1; 20]), public);
    assert_eq!(node.table_v4().unwrap().len(), 1);
}

#[test]
fn unknown_queriers_are_pinged_before_joining_unless_read_only() {
    let now = Instant::now();
    let mut node = Node::new(config(13), now);
    let asker = sa("10.1.1.1:6881");
    let id = NodeId([4; 20]);
    node.handle_packet(now, asker, &query(b"p", id, Method::Ping))
        .unwrap();
    let out = sent(&mut node);
    assert_eq!(out.len(), 2, "the answer and a ping back");
    let ping = out
        .iter()
        .find(|(_, d)| matches!(Message::decode(d).unwrap().body, Body::Query(_)))
        .unwrap();
    let tid = Message::decode(&ping.1).unwrap().tid.to_vec();
    node.handle_packet(
        now,
        asker,
        &Message::response(
            &tid,
            Response {
                id,
                ..Response::default()
            },
        )
        .encode(),
    )
    .unwrap();
    assert!(node.table_v4().unwrap().get(&id).is_some());

    let mut ro = Message::query(b"p", NodeId([5; 20]), Method::Ping);
    ro.read_only = true;
    node.handle_packet(now, sa("10.1.1.2:6881"), &ro.encode())
        .unwrap();
    assert_eq!(sent(&mut node).len(), 1, "answered, not pinged");

    let mut c = config(14);
    c.read_only = true;
    let mut quiet = Node::new(c, now);
    quiet
        .handle_packet(now, asker, &query(b"p", id, Method::Ping))
        .unwrap();
    assert!(
        sent(&mut quiet).is_empty(),
        "a read-only node does not answer"
    );
    quiet.add_node(now, asker);
    let (_, q) = sent(&mut quiet).pop().unwrap();
    assert!(Message::decode(&q).unwrap().read_only);
}

#[test]
fn saved_state_round_trips_and_rejects_bad_files() {
    let now = Instant::now();
    let mut node = Node::new(config(15), now);
    learn(&mut node, now, NodeId([1; 20]), sa("10.0.0.1:6881"));
    learn(&mut node, now, NodeId([2; 20]), sa("10.0.0.2:6882"));
    let state = node.save(now);
    assert_eq!(state.id, node.id());
    assert_eq!(state.nodes.len(), 2);
    let mut with_v6 = state.clone();
    with_v6.nodes.push(monsoon_dht::NodeInfo {
        id: NodeId([3; 20]),
        addr: sa("[2001:db8::1]:1"),
    });
    assert_eq!(SavedState::decode(&with_v6.encode()).unwrap(), with_v6);

    assert!(matches!(SavedState::decode(b"le"), Err(Error::NotADict)));
    assert!(matches!(
        SavedState::decode(b"de"),
        Err(Error::MissingKey { key: "id" })
    ));
    assert!(matches!(
        SavedState::decode(b"d2:id2:abe"),
        Err(Error::WrongLength { key: "id", .. })
    ));
    let bad_nodes = b"d2:id20:abcdefghij01234567895:nodes3:abce";
    assert!(matches!(
        SavedState::decode(bad_nodes),
        Err(Error::WrongLength {
            key: "nodes",
            len: 3,
            ..
        })
    ));

    // A new node restoring the state bootstraps from the saved nodes.
    let mut c = config(16);
    c.id = Some(state.id);
    let mut next = Node::new(c, now);
    next.restore(&state);
    next.bootstrap(now).unwrap();
    let mut to: Vec<SocketAddr> = sent(&mut next).into_iter().map(|(a, _)| a).collect();
    to.sort();
    assert_eq!(to, vec![sa("10.0.0.1:6881"), sa("10.0.0.2:6882")]);
    assert_eq!(next.id(), node.id());
}

#[test]
fn both_families_side_by_side_and_want() {
    let now = Instant::now();
    let mut c = config(17);
    c.ipv6 = true;
    let mut node = Node::new(c, now);
    learn(&mut node, now, NodeId([1; 20]), sa("10.0.0.1:6881"));
    learn(&mut node, now, NodeId([2; 20]), sa("[fd00::2]:6881"));
    assert_eq!(node.table_v4().unwrap().len(), 1);
    assert_eq!(node.table_v6().unwrap().len(), 1);
    let target = NodeId([3; 20]);
    let find = |want| query(b"f", NodeId([9; 20]), Method::FindNode { target, want });

    // No `want`: the family the query came over.
    let r4 = ask(&mut node, now, sa("1.2.3.4:1"), &find(Want::default()));
    let r = response(&r4);
    assert_eq!((r.nodes.len(), r.nodes6.len()), (1, 0));
    let r6 = ask(
        &mut node,
        now,
        sa("[2001:db8::9]:1"),
        &find(Want::default()),
    );
    let r = response(&r6);
    assert_eq!((r.nodes.len(), r.nodes6.len()), (0, 1));
    assert_eq!(r.nodes6[0].addr, sa("[fd00::2]:6881"));
    // `want` both: both, whatever the transport.
    let both = ask(
        &mut node,
        now,
        sa("1.2.3.4:1"),
        &find(Want { v4: true, v6: true }),
    );
    let r = response(&both);
    assert_eq!((r.nodes.len(), r.nodes6.len()), (1, 1));

    // Our own lookups ask for both families and query both tables.
    node.find_node(now, [3; 20]).unwrap();
    let out = sent(&mut node);
    let mut to: Vec<SocketAddr> = out.iter().map(|(a, _)| *a).collect();
    to.sort();
    assert_eq!(to, vec![sa("10.0.0.1:6881"), sa("[fd00::2]:6881")]);
    let Body::Query(q) = Message::decode(&out[0].1).unwrap().body else {
        panic!()
    };
    assert!(matches!(
        q.method,
        Method::FindNode {
            want: Want { v4: true, v6: true },
            ..
        }
    ));
}

#[test]
fn stale_buckets_are_refreshed_and_quiet_nodes_pinged() {
    let t0 = Instant::now();
    let mut node = Node::new(config(18), t0);
    let peer = sa("10.0.0.1:6881");
    let id = NodeId([1; 20]);
    learn(&mut node, t0, id, peer);
    node.handle_timeout(t0);
    let _ = sent(&mut node);
    // Within 15 minutes the node stays good: nothing to do.
    let t10 = t0 + Duration::from_secs(10 * 60);
    node.handle_timeout(t10);
    assert!(sent(&mut node).is_empty());
    // After 15 minutes: the bucket is refreshed (find_node for an id in
    // its range) and the questionable node pinged.
    let t15 = t0 + Duration::from_secs(15 * 60 + 5);
    node.handle_timeout(t15);
    let kinds: Vec<Vec<u8>> = sent(&mut node)
        .into_iter()
        .map(|(to, d)| {
            assert_eq!(to, peer);
            match Message::decode(&d).unwrap().body {
                Body::Query(q) => q.method.name().to_vec(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert!(kinds.contains(&b"find_node".to_vec()), "{kinds:?}");
    assert!(kinds.contains(&b"ping".to_vec()), "{kinds:?}");
}

#[test]
fn a_lonely_node_bootstraps_again() {
    let t0 = Instant::now();
    let mut c = config(19);
    c.bootstrap = vec![sa("10.9.9.9:6881")];
    let mut node = Node::new(c, t0);
    node.handle_timeout(t0);
    assert_eq!(sent(&mut node).len(), 1, "the first bootstrap");
    // Nobody answers; a minute later it tries again, not before.
    let mut t = t0;
    let mut tries = 1;
    while t < t0 + Duration::from_secs(130) {
        t = node.poll_timeout();
        node.handle_timeout(t);
        tries += sent(&mut node).len();
        if t < t0 + Duration::from_secs(60) {
            assert_eq!(tries, 1, "retried after {:?}", t - t0);
        }
    }
    assert_eq!(tries, 3, "bootstrapped at 0, 60 s and 120 s");
}

#[test]
fn a_lookup_fed_endless_closer_nodes_ends() {
    let now = Instant::now();
    let mut node = Node::new(config(20), now);
    // Every node asked answers with 8 new nodes, each closer to the target
    // than any before: without a bound the lookup would never end.
    let mut made: u32 = 0;
    let fresh = |made: &mut u32| {
        *made += 1;
        let mut id = [0u8; 20];
        id[4..].copy_from_slice(&(u128::MAX - u128::from(*made)).to_be_bytes());
        monsoon_dht::NodeInfo {
            id: NodeId(id),
            addr: SocketAddr::from((std::net::Ipv4Addr::from(0x0a00_0000 + *made), 6881)),
        }
    };
    let first = fresh(&mut made);
    learn(&mut node, now, first.id, first.addr);
    let search = node.get_peers(now, [0; 20]).unwrap();
    let mut queries = 0;
    let mut done = None;
    for _ in 0..10_000 {
        if let Some(ev) = node.poll_event() {
            done = Some(ev);
            break;
        }
        let out = sent(&mut node);
        assert!(!out.is_empty(), "the lookup stalled");
        for (to, data) in out {
            let msg = Message::decode(&data).unwrap();
            let Body::Query(q) = &msg.body else { continue };
            assert_eq!(q.method.name(), b"get_peers");
            queries += 1;
            let r = Response {
                id: node_id_at(to),
                nodes: (0..8).map(|_| fresh(&mut made)).collect(),
                token: Some(b"t"),
                ..Response::default()
            };
            node.handle_packet(now, to, &Message::response(msg.tid, r).encode())
                .unwrap();
        }
    }
    assert!(
        matches!(done, Some(monsoon_dht::Event::Done(ref d)) if d.id == search),
        "{done:?}"
    );
    assert_eq!(queries, 128, "the lookup's query budget");
}

/// An id for the responder at `addr`, far from the target (all zeros).
fn node_id_at(addr: SocketAddr) -> NodeId {
    let mut id = [0x80u8; 20];
    if let IpAddr::V4(a) = addr.ip() {
        id[16..].copy_from_slice(&a.octets());
    }
    NodeId(id)
}
