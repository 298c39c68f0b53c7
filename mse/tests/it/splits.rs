//! The handshake bytes split at every point, and one byte at a time: the
//! same result, the same bytes sent, and no byte of the payload that
//! follows consumed.

use monsoon_mse::{CryptoMethod, Exchange, Methods};

use crate::support::{entropy, initiator, responder, run};

const BT_HANDSHAKE: &[u8; 68] =
    b"\x13BitTorrent protocol\0\0\0\0\0\x10\0\x05<<<<<<<<<<<<<<<<<<<<-MO0100-abcdefghijkl";
const PAYLOAD: &[u8] = b"bytes after the handshake";

/// A recorded exchange: what the initiator sent, what the responder sent.
fn recorded(allow: Methods) -> (Vec<u8>, Vec<u8>) {
    let mut a = initiator(Methods::BOTH, BT_HANDSHAKE, entropy(1, 37));
    let mut b = responder(allow, entropy(2, 100));
    let (_, _, a_sent, b_sent) = run(&mut a, &mut b).unwrap();
    (a_sent, b_sent)
}

/// Feeds `parts` to `hs` in order; returns the bytes consumed and what it sent.
fn feed(hs: &mut impl Exchange, parts: &[&[u8]]) -> (usize, Vec<u8>) {
    let mut sent = hs.take_output();
    let mut used = 0;
    for p in parts {
        used += hs.receive(p).unwrap();
        sent.extend(hs.take_output());
    }
    (used, sent)
}

#[test]
fn responder_at_every_split_point() {
    for allow in [Methods::RC4, Methods::PLAINTEXT] {
        let (a_sent, b_sent) = recorded(allow);
        let mut input = a_sent.clone();
        input.extend_from_slice(PAYLOAD);
        for at in 0..=input.len() {
            let mut b = responder(allow, entropy(2, 100));
            let (used, sent) = feed(&mut b, &[&input[..at], &input[at..]]);
            assert_eq!(used, a_sent.len(), "split at {at}");
            assert_eq!(sent, b_sent, "split at {at}");
            let done = b.take_established().expect("established");
            assert_eq!(done.initial_payload, BT_HANDSHAKE, "split at {at}");
        }
        let mut b = responder(allow, entropy(2, 100));
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (used, sent) = feed(&mut b, &bytes);
        assert_eq!((used, sent), (a_sent.len(), b_sent));
        assert!(b.take_established().is_some());
    }
}

#[test]
fn initiator_at_every_split_point() {
    for (allow, method) in [
        (Methods::RC4, CryptoMethod::Rc4),
        (Methods::PLAINTEXT, CryptoMethod::Plaintext),
    ] {
        let (a_sent, b_sent) = recorded(allow);
        let mut input = b_sent.clone();
        input.extend_from_slice(PAYLOAD);
        for at in 0..=input.len() {
            let mut a = initiator(Methods::BOTH, BT_HANDSHAKE, entropy(1, 37));
            let (used, sent) = feed(&mut a, &[&input[..at], &input[at..]]);
            assert_eq!(used, b_sent.len(), "split at {at}");
            assert_eq!(sent, a_sent, "split at {at}");
            assert_eq!(a.take_established().expect("established").method, method);
        }
        let mut a = initiator(Methods::BOTH, BT_HANDSHAKE, entropy(1, 37));
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (used, sent) = feed(&mut a, &bytes);
        assert_eq!((used, sent), (b_sent.len(), a_sent));
        assert!(a.take_established().is_some());
    }
}

#[test]
fn the_result_is_given_once() {
    let mut a = initiator(Methods::BOTH, b"", entropy(1, 0));
    let mut b = responder(Methods::BOTH, entropy(2, 0));
    run(&mut a, &mut b).unwrap();
    assert!(a.take_established().is_none());
    assert!(b.take_established().is_none());
    // After the end, nothing more is consumed: it is payload.
    assert_eq!(a.receive(PAYLOAD).unwrap(), 0);
    assert_eq!(b.receive(PAYLOAD).unwrap(), 0);
}
