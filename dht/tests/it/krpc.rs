//! KRPC encoding and decoding: the examples of BEP 5 byte for byte,
//! round trips of every message, and hostile input giving typed errors.

use std::net::SocketAddr;

use monsoon_bencode::ErrorKind;
use monsoon_dht::{
    Body, Error, ErrorCode, MAX_NODES, MAX_PACKET_LEN, MAX_VALUES, Message, Method, NodeId,
    NodeInfo, Query, Response, Want,
};

const A: NodeId = NodeId(*b"abcdefghij0123456789");
const M: NodeId = NodeId(*b"mnopqrstuvwxyz123456");

/// Each example of BEP 5 decodes to the expected message and our encoder
/// writes exactly the same bytes back.
#[test]
fn bep5_examples_byte_for_byte() {
    let cases: Vec<(&[u8], Message<'_>)> = vec![
        (
            b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
            Message::query(b"aa", A, Method::Ping),
        ),
        (
            b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re",
            Message::response(b"aa", Response { id: M, ..Response::default() }),
        ),
        (
            b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
            Message::query(b"aa", A, Method::FindNode { target: M, want: Want::default() }),
        ),
        (
            b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe",
            Message::query(b"aa", A, Method::GetPeers { info_hash: M, want: Want::default() }),
        ),
        (
            b"d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re",
            Message::response(
                b"aa",
                Response {
                    id: A,
                    token: Some(b"aoeusnth"),
                    values: vec![
                        "97.120.106.101:11893".parse().unwrap(),
                        "105.100.104.116:28269".parse().unwrap(),
                    ],
                    ..Response::default()
                },
            ),
        ),
        (
            b"d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
            Message::query(
                b"aa",
                A,
                Method::AnnouncePeer { info_hash: M, port: 6881, implied_port: true, token: b"aoeusnth" },
            ),
        ),
        (
            b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
            Message::error(b"aa", ErrorCode::Generic, b"A Generic Error Ocurred"),
        ),
    ];
    for (bytes, msg) in cases {
        let shown = String::from_utf8_lossy(bytes);
        assert_eq!(Message::decode(bytes).unwrap(), msg, "{shown}");
        assert_eq!(msg.encode(), bytes, "{shown}");
    }
}

fn node(i: u8, addr: &str) -> NodeInfo {
    NodeInfo {
        id: NodeId([i; 20]),
        addr: addr.parse().unwrap(),
    }
}

#[test]
fn every_field_round_trips() {
    let r = Response {
        id: A,
        nodes: vec![node(1, "1.2.3.4:5"), node(2, "10.0.0.1:65535")],
        nodes6: vec![node(3, "[2001:db8::1]:6881")],
        values: vec!["1.1.1.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()],
        token: Some(&[0, 1, 2]),
    };
    let mut msg = Message::response(b"\x00\xff", r);
    msg.ip = Some("203.0.113.9:4000".parse().unwrap());
    msg.version = Some(b"LT\x01\x02");
    let bytes = msg.encode();
    // Canonical: the strict decoder (sorted keys) accepts it.
    monsoon_bencode::decode(&bytes).unwrap();
    assert_eq!(Message::decode(&bytes).unwrap(), msg);

    let both = Want { v4: true, v6: true };
    for method in [
        Method::FindNode {
            target: M,
            want: both,
        },
        Method::GetPeers {
            info_hash: M,
            want: Want {
                v4: false,
                v6: true,
            },
        },
        Method::AnnouncePeer {
            info_hash: M,
            port: 1,
            implied_port: false,
            token: b"t",
        },
        Method::Unknown { name: b"vote" },
    ] {
        let mut q = Message::query(b"xy", A, method);
        q.read_only = true;
        let bytes = q.encode();
        monsoon_bencode::decode(&bytes).unwrap();
        assert_eq!(Message::decode(&bytes).unwrap(), q);
    }
}

#[test]
fn unknown_keys_and_unsorted_keys_are_accepted() {
    // libtorrent adds keys of its own; some clients do not sort keys.
    let m = Message::decode(
        b"d1:t2:aa1:y1:q1:q4:ping1:ad2:id20:abcdefghij01234567894:seedi1ee1:v4:LT\x01\x02e",
    )
    .unwrap();
    assert!(matches!(
        m.body,
        Body::Query(Query {
            id: A,
            method: Method::Ping
        })
    ));
    assert_eq!(m.version, Some(&b"LT\x01\x02"[..]));
}

/// Decodes `bytes`, which must fail; returns the error.
fn bad(bytes: &[u8]) -> Error {
    match Message::decode(bytes) {
        Ok(m) => panic!("{:?} decoded to {m:?}", String::from_utf8_lossy(bytes)),
        Err(e) => e,
    }
}

fn with_r(inner: &str) -> Vec<u8> {
    format!("d1:rd2:id20:abcdefghij0123456789{inner}e1:t2:aa1:y1:re").into_bytes()
}

#[test]
fn garbage_and_wrong_shapes() {
    assert!(matches!(bad(b""), Error::Bencode(e) if e.kind == ErrorKind::UnexpectedEof));
    assert!(
        matches!(bad(b"\x00\x01garbage"), Error::Bencode(e) if e.kind == ErrorKind::UnexpectedByte(0))
    );
    assert!(
        matches!(bad(b"d1:t2:aae trailing"), Error::Bencode(e) if e.kind == ErrorKind::TrailingData)
    );
    assert!(matches!(bad(b"li1ee"), Error::NotADict));
    assert!(matches!(bad(b"d1:y1:qe"), Error::MissingKey { key: "t" }));
    assert!(matches!(bad(b"d1:t2:aae"), Error::MissingKey { key: "y" }));
    assert!(matches!(bad(b"d1:t2:aa1:y1:xe"), Error::UnknownType(y) if y == "x"));
    assert!(matches!(
        bad(b"d1:ti5e1:y1:qe"),
        Error::WrongType { key: "t", .. }
    ));
    assert!(matches!(
        bad(b"d1:t17:aaaaaaaaaaaaaaaaa1:y1:re"),
        Error::WrongLength {
            key: "t",
            len: 17,
            ..
        }
    ));
    assert!(matches!(
        bad(b"d1:q4:ping1:t2:aa1:y1:qe"),
        Error::MissingKey { key: "a" }
    ));
    assert!(matches!(
        bad(b"d1:ali1ee1:q4:ping1:t2:aa1:y1:qe"),
        Error::WrongType { key: "a", .. }
    ));
    assert!(matches!(
        bad(b"d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe"),
        Error::WrongLength {
            key: "id",
            len: 3,
            ..
        }
    ));
    assert!(matches!(
        bad(b"d1:ad2:idd1:xi1eee1:q4:ping1:t2:aa1:y1:qe"),
        Error::WrongType { key: "id", .. }
    ));
    assert!(matches!(
        bad(b"d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe"),
        Error::MissingKey { key: "target" }
    ));
    assert!(matches!(
        bad(b"d1:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe"),
        Error::MissingKey { key: "q" }
    ));
    assert!(matches!(
        bad(b"d1:t2:aa1:y1:re"),
        Error::MissingKey { key: "r" }
    ));
    assert!(matches!(
        bad(b"d1:e3:abc1:t2:aa1:y1:ee"),
        Error::WrongType { key: "e", .. }
    ));
    assert!(matches!(
        bad(b"d1:el3:abce1:t2:aa1:y1:ee"),
        Error::WrongType { key: "e", .. }
    ));
    assert!(matches!(
        bad(b"d1:eli201e1:ai3ee1:t2:aa1:y1:ee"),
        Error::TooMany {
            key: "e",
            count: 3,
            max: 2
        }
    ));
    assert!(matches!(
        bad(b"d2:ip3:abc1:t2:aa1:y1:re"),
        Error::WrongLength {
            key: "ip",
            len: 3,
            ..
        }
    ));
}

#[test]
fn bad_arguments_of_queries() {
    let announce = |args: &str| {
        format!("d1:ad2:id20:abcdefghij0123456789{args}e1:q13:announce_peer1:t2:aa1:y1:qe")
            .into_bytes()
    };
    let h = "9:info_hash20:mnopqrstuvwxyz123456";
    assert!(matches!(
        bad(&announce(&format!("{h}4:porti70000e5:token1:x"))),
        Error::BadPort {
            key: "port",
            value: 70000
        }
    ));
    assert!(matches!(
        bad(&announce(&format!("{h}4:porti0e5:token1:x"))),
        Error::BadPort { value: 0, .. }
    ));
    assert!(matches!(
        bad(&announce(&format!("{h}4:porti-1e5:token1:x"))),
        Error::BadPort { value: -1, .. }
    ));
    assert!(matches!(
        bad(&announce(&format!("{h}5:token1:x"))),
        Error::MissingKey { key: "port" }
    ));
    assert!(matches!(
        bad(&announce(&format!("{h}4:porti1e"))),
        Error::MissingKey { key: "token" }
    ));
    let long_token = "x".repeat(65);
    assert!(matches!(
        bad(&announce(&format!("{h}4:porti1e5:token65:{long_token}"))),
        Error::WrongLength {
            key: "token",
            len: 65,
            ..
        }
    ));
    assert!(matches!(
        bad(&announce(&format!("{h}4:port1:15:token1:x"))),
        Error::WrongType { key: "port", .. }
    ));
    // implied_port without a port is fine: the source port is used.
    let ok = announce(&format!("12:implied_porti1e{h}5:token1:x"));
    let m = Message::decode(&ok).unwrap();
    assert!(matches!(
        m.body,
        Body::Query(Query {
            method: Method::AnnouncePeer {
                implied_port: true,
                port: 0,
                ..
            },
            ..
        })
    ));

    let find = |want: &str| {
        format!("d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456{want}e1:q9:find_node1:t2:aa1:y1:qe").into_bytes()
    };
    assert!(matches!(
        bad(&find("4:want2:n4")),
        Error::WrongType { key: "want", .. }
    ));
    assert!(matches!(
        bad(&find("4:wantli4ee")),
        Error::WrongType { key: "want", .. }
    ));
    assert!(matches!(
        bad(&find(&format!("4:wantl{}e", "2:n4".repeat(9)))),
        Error::TooMany {
            key: "want",
            count: 9,
            ..
        }
    ));
    let bytes = find("4:wantl2:n63:xyze");
    let m = Message::decode(&bytes).unwrap();
    assert!(matches!(
        m.body,
        Body::Query(Query {
            method: Method::FindNode {
                want: Want {
                    v4: false,
                    v6: true
                },
                ..
            },
            ..
        })
    ));
}

#[test]
fn bad_responses() {
    assert!(matches!(
        bad(&with_r("5:nodes27:aaaaaaaaaaaaaaaaaaaaaaaaaaa")),
        Error::WrongLength {
            key: "nodes",
            len: 27,
            ..
        }
    ));
    assert!(matches!(
        bad(&with_r("6:nodes626:aaaaaaaaaaaaaaaaaaaaaaaaaa")),
        Error::WrongLength {
            key: "nodes6",
            len: 26,
            ..
        }
    ));
    let many = "a".repeat(26 * (MAX_NODES + 1));
    assert!(matches!(
        bad(&with_r(&format!("5:nodes{}:{many}", many.len()))),
        Error::TooMany { key: "nodes", count, max: MAX_NODES } if count == MAX_NODES + 1
    ));
    assert!(matches!(
        bad(&with_r("6:values6:abcdef")),
        Error::WrongType { key: "values", .. }
    ));
    assert!(matches!(
        bad(&with_r("6:valuesli1ee")),
        Error::WrongType { key: "values", .. }
    ));
    assert!(matches!(
        bad(&with_r("6:valuesl7:abcdefge")),
        Error::WrongLength {
            key: "values",
            len: 7,
            ..
        }
    ));
    let values = "6:abcdef".repeat(MAX_VALUES + 1);
    assert!(matches!(
        bad(&with_r(&format!("6:valuesl{values}e"))),
        Error::TooMany { key: "values", count, max: MAX_VALUES } if count == MAX_VALUES + 1
    ));
    assert!(matches!(
        bad(&with_r("5:tokeni1e")),
        Error::WrongType { key: "token", .. }
    ));
    assert!(matches!(
        bad(b"d1:rd5:nodes0:e1:t2:aa1:y1:re"),
        Error::MissingKey { key: "id" }
    ));
}

#[test]
fn size_and_nesting_limits() {
    let mut big = with_r("");
    big.resize(MAX_PACKET_LEN + 1, b' ');
    assert!(
        matches!(bad(&big), Error::PacketTooLong { len, max: MAX_PACKET_LEN } if len == MAX_PACKET_LEN + 1)
    );
    // A string claiming 2^60 bytes is refused before any allocation.
    assert!(
        matches!(bad(b"d1:t1152921504606846976:x"), Error::Bencode(e) if e.kind == ErrorKind::StringTooLong)
    );
    let deep = format!("d1:t2:aa1:x{}{}e", "l".repeat(40), "e".repeat(40));
    assert!(matches!(bad(deep.as_bytes()), Error::Bencode(e) if e.kind == ErrorKind::DepthLimit));
    // The most values that fit in one packet decode fine.
    let values = "6:abcdef".repeat(MAX_VALUES);
    let ok = with_r(&format!("6:valuesl{values}e"));
    assert!(ok.len() <= MAX_PACKET_LEN);
    let m = Message::decode(&ok).unwrap();
    let Body::Response(r) = m.body else { panic!() };
    assert_eq!(r.values.len(), MAX_VALUES);
    let want: SocketAddr = "97.98.99.100:25958".parse().unwrap();
    assert!(r.values.iter().all(|v| *v == want));
}
