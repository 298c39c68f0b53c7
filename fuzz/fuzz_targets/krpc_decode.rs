//! Decode arbitrary bytes as a KRPC message (and as a saved DHT state):
//! whatever decodes must encode to canonical bencode that decodes to the
//! same value; a node fed the bytes as a datagram never panics and only
//! sends valid KRPC.
#![no_main]
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use monsoon_dht::{Config, Message, Node, SavedState};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let enc = m.encode();
        monsoon_bencode::decode(&enc).expect("our encoding is canonical bencode");
        assert_eq!(Message::decode(&enc).expect("our encoding decodes"), m);
    }
    if let Ok(s) = SavedState::decode(data) {
        assert_eq!(SavedState::decode(&s.encode()).expect("state decodes"), s);
    }
    let mut config = Config::default();
    config.seed = 1;
    let now = Instant::now();
    let mut node = Node::new(config, now);
    let _ = node.handle_packet(now, "192.0.2.1:6881".parse().unwrap(), data);
    while let Some(t) = node.poll_transmit() {
        Message::decode(&t.data).expect("the node sends valid KRPC");
    }
});
