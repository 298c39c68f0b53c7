//! Parse arbitrary bytes as HTTP tracker announce and scrape bodies; an
//! accepted announce re-encoded as bencode must parse to the same response.
#![no_main]
use std::net::{IpAddr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use monsoon_bencode::OwnedValue;
use monsoon_tracker::{parse_announce_response, parse_scrape_response};

fn compact(peers: &[SocketAddr], v6: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for p in peers {
        match p.ip() {
            IpAddr::V4(a) if !v6 => out.extend(a.octets()),
            IpAddr::V6(a) if v6 => out.extend(a.octets()),
            _ => continue,
        }
        out.extend(p.port().to_be_bytes());
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_scrape_response(data);
    let Ok(r) = parse_announce_response(data) else {
        return;
    };
    let secs = |d: std::time::Duration| OwnedValue::Int(d.as_secs() as i64);
    let mut d = OwnedValue::dict()
        .insert("interval", secs(r.interval))
        .insert("peers", OwnedValue::bytes(compact(&r.peers, false)))
        .insert("peers6", OwnedValue::bytes(compact(&r.peers, true)));
    if let Some(m) = r.min_interval {
        d = d.insert("min interval", secs(m));
    }
    if let Some(c) = r.complete {
        d = d.insert("complete", OwnedValue::Int(i64::from(c)));
    }
    if let Some(c) = r.incomplete {
        d = d.insert("incomplete", OwnedValue::Int(i64::from(c)));
    }
    if let Some(w) = &r.warning {
        d = d.insert("warning message", OwnedValue::bytes(w));
    }
    if let Some(t) = &r.tracker_id {
        d = d.insert("tracker id", OwnedValue::bytes(t));
    }
    let again = parse_announce_response(&d.encode()).expect("re-encoded response must parse");
    let (mut a, mut b) = (r.peers.clone(), again.peers.clone());
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
    assert_eq!((again.interval, again.min_interval), (r.interval, r.min_interval));
    assert_eq!((again.complete, again.incomplete), (r.complete, r.incomplete));
    assert_eq!((&again.warning, &again.tracker_id), (&r.warning, &r.tracker_id));
});
