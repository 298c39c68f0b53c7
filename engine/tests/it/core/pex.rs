//! Peer exchange through the core: what we tell, what we take, how often.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use monsoon_bencode::OwnedValue;
use monsoon_engine::torrent::Direction;
use monsoon_wire::{ExtendedHandshake, Message};

use super::harness::Harness;
use crate::sim::net::Have;
use crate::sim::torrent::SimTorrent;

fn ext(ut_pex: u8, port: u16) -> Message {
    let mut m = BTreeMap::new();
    m.insert("ut_pex".to_string(), ut_pex);
    ExtendedHandshake {
        m,
        p: Some(port),
        ..ExtendedHandshake::default()
    }
    .to_message()
}

fn pex_added(addrs: &[SocketAddr]) -> Vec<u8> {
    let mut b = Vec::new();
    for a in addrs {
        if let SocketAddr::V4(v4) = a {
            b.extend_from_slice(&v4.ip().octets());
            b.extend_from_slice(&v4.port().to_be_bytes());
        }
    }
    OwnedValue::dict()
        .insert("added", OwnedValue::Bytes(b))
        .encode()
}

#[test]
fn peers_hear_of_each_other_once_a_minute_and_we_take_what_they_say() {
    let t = SimTorrent::single(1 << 20, 64 * 1024, 3);
    let mut h = Harness::new(t, Have::Nothing);
    let a = h.connect(1); // incoming: told us its port 6000
    h.msg(a, ext(7, 6000));
    let b = h
        .try_connect(2, Direction::Outgoing, Harness::id(2), true)
        .unwrap();
    h.msg(b, ext(9, 6881));
    h.sent(a);
    h.sent(b);
    h.tick(1);
    let to_a: Vec<Message> = h.take_sent(a, |m| matches!(m, Message::Extended { id: 7, .. }));
    let to_b: Vec<Message> = h.take_sent(b, |m| matches!(m, Message::Extended { id: 9, .. }));
    assert_eq!(to_a.len(), 1, "the first at once");
    let payload = |m: &Message| match m {
        Message::Extended { payload, .. } => payload.clone(),
        _ => unreachable!(),
    };
    let a_hears = String::from_utf8_lossy(&payload(&to_a[0])).into_owned();
    let b_hears = payload(&to_b[0]);
    // A hears of B (where we dialled it); B hears of A at its listen port.
    assert!(a_hears.contains("5:added6:"), "{a_hears}");
    // 10.0.1.1:6000, compact.
    let a_at = [10, 0, 1, 1, 0x17, 0x70];
    assert!(
        b_hears.windows(6).any(|w| w == a_at),
        "B hears of A at its listen port"
    );
    // Nothing new: nothing sent next minute.
    h.tick(60);
    assert!(
        h.take_sent(a, |m| matches!(m, Message::Extended { id: 7, .. }))
            .is_empty()
    );

    // What A tells us is tried; a second message within the minute is not.
    h.connects();
    let new: Vec<SocketAddr> = (1..=3)
        .map(|i| SocketAddr::from(([10, 9, 9, i], 6881)))
        .collect();
    h.msg(
        a,
        Message::Extended {
            id: 2,
            payload: pex_added(&new).into(),
        },
    );
    let mut dialled = h.connects();
    dialled.sort();
    assert_eq!(dialled, new);
    let more = [SocketAddr::from(([10, 9, 9, 99], 6881))];
    h.msg(
        a,
        Message::Extended {
            id: 2,
            payload: pex_added(&more).into(),
        },
    );
    assert!(
        h.connects().is_empty(),
        "a second message within a minute is ignored"
    );
}

#[test]
fn metadata_is_served_to_peers_that_ask() {
    let t = SimTorrent::single(1 << 20, 64 * 1024, 3);
    let info = t.meta.info_bytes.clone();
    let mut h = Harness::new(t, Have::All);
    let k = h.connect(1);
    let first = h.sent(k);
    let hello = first
        .iter()
        .find_map(|m| match m {
            Message::Extended { id: 0, payload } => ExtendedHandshake::decode(payload).ok(),
            _ => None,
        })
        .unwrap();
    assert_eq!(hello.metadata_size, Some(info.len() as u64));
    let ours = hello.extension_id("ut_metadata").unwrap();
    let mut m = BTreeMap::new();
    m.insert("ut_metadata".to_string(), 3);
    h.msg(
        k,
        ExtendedHandshake {
            m,
            ..ExtendedHandshake::default()
        }
        .to_message(),
    );
    let ask = |piece: u32| Message::Extended {
        id: ours,
        payload: monsoon_wire::MetadataMessage::Request { piece }
            .encode()
            .freeze(),
    };
    h.msg(k, ask(0));
    h.msg(k, ask(5));
    let replies = h.sent(k);
    assert_eq!(replies.len(), 2);
    let Message::Extended { id: 3, payload } = &replies[0] else {
        panic!("{replies:?}")
    };
    let (msg, used) = monsoon_wire::MetadataMessage::decode(payload).unwrap();
    assert!(matches!(
        msg,
        monsoon_wire::MetadataMessage::Data { piece: 0, .. }
    ));
    assert_eq!(&payload[used..], &info[..]);
    let Message::Extended { payload, .. } = &replies[1] else {
        panic!()
    };
    let (msg, _) = monsoon_wire::MetadataMessage::decode(payload).unwrap();
    assert!(matches!(
        msg,
        monsoon_wire::MetadataMessage::Reject { piece: 5 }
    ));
}
