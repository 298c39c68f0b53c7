//! Decode arbitrary bytes as every BEP 15 response (the transaction id is
//! taken from the input so the checks past it are reached); an accepted
//! announce or scrape re-encoded must give back the same bytes.
#![no_main]
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use monsoon_tracker::{
    decode_announce, decode_connect, decode_error, decode_scrape,
};

fuzz_target!(|data: &[u8]| {
    let tid = match data.get(4..8) {
        Some(b) => u32::from_be_bytes(b.try_into().unwrap()),
        None => 0,
    };
    let _ = decode_connect(data, tid);
    let _ = decode_error(data, tid);
    for ipv6 in [false, true] {
        if let Ok(r) = decode_announce(data, tid, ipv6) {
            let mut out = data[..8].to_vec();
            out.extend((r.interval.as_secs() as u32).to_be_bytes());
            out.extend(r.incomplete.unwrap().to_be_bytes());
            out.extend(r.complete.unwrap().to_be_bytes());
            for p in &r.peers {
                match p.ip() {
                    IpAddr::V4(a) => out.extend(a.octets()),
                    IpAddr::V6(a) => out.extend(a.octets()),
                }
                out.extend(p.port().to_be_bytes());
            }
            assert_eq!(out, data);
        }
    }
    let n = data.len().saturating_sub(8) / 12;
    if let Ok(s) = decode_scrape(data, tid, n) {
        assert_eq!(s.len(), n);
        let mut out = data[..8].to_vec();
        for e in &s {
            out.extend(e.complete.to_be_bytes());
            out.extend(e.downloaded.to_be_bytes());
            out.extend(e.incomplete.to_be_bytes());
        }
        assert_eq!(out, data[..8 + 12 * n]);
    }
    // A count larger than the packet holds is an error, never a panic.
    let _ = decode_scrape(data, tid, usize::MAX);
});
