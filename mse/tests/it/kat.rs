//! Known answers from an independent implementation
//! (`tests/vectors/make_vectors.py`: Python's integers, hashlib and its own
//! RC4): the DH keys and secret, the hashes, the RC4 keys and streams, and
//! the bytes of whole handshakes in both roles, byte for byte.

use std::collections::HashMap;

use monsoon_mse::{
    Cipher, CryptoMethod, Direction, Entropy, Exchange, Initiator, Methods, Responder, prime,
    public_key, rc4_key, req1, req2, req3, shared_secret,
};

type Case = HashMap<String, Vec<u8>>;

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn cases() -> Vec<Case> {
    let text = include_str!("../vectors/vectors.txt");
    let mut cases: Vec<Case> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (k, v) = line.split_once(' ').expect("name hex");
        if k == "case" {
            cases.push(Case::new());
        }
        cases
            .last_mut()
            .expect("case first")
            .insert(k.to_owned(), unhex(v));
    }
    assert_eq!(cases.len(), 3, "vectors.txt holds three cases");
    cases
}

fn arr<const N: usize>(c: &Case, k: &str) -> [u8; N] {
    c[k].as_slice().try_into().expect(k)
}

fn u32_of(c: &Case, k: &str) -> u32 {
    u32::from_be_bytes(arr(c, k))
}

#[test]
fn the_prime_is_the_specifications() {
    let p = prime();
    assert_eq!(&p[..8], &[0xff; 8]);
    assert_eq!(&p[88..], &[0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x05, 0x63]);
}

#[test]
fn key_derivation() {
    for c in cases() {
        let (xa, xb) = (arr(&c, "xa"), arr(&c, "xb"));
        let (ya, yb) = (arr(&c, "ya"), arr(&c, "yb"));
        let (s, skey): ([u8; 96], [u8; 20]) = (arr(&c, "s"), arr(&c, "skey"));
        assert_eq!(public_key(&xa), ya);
        assert_eq!(public_key(&xb), yb);
        assert_eq!(shared_secret(&yb, &xa).unwrap(), s);
        assert_eq!(shared_secret(&ya, &xb).unwrap(), s);
        assert_eq!(req1(&s).to_vec(), c["req1"]);
        assert_eq!(req2(&skey).to_vec(), c["req2"]);
        assert_eq!(req3(&s).to_vec(), c["req3"]);
        let key_a = rc4_key(Direction::InitiatorToResponder, &s, &skey);
        let key_b = rc4_key(Direction::ResponderToInitiator, &s, &skey);
        assert_eq!(key_a.to_vec(), c["key_a"]);
        assert_eq!(key_b.to_vec(), c["key_b"]);
    }
}

#[test]
fn rc4_streams_after_the_discard() {
    for c in cases() {
        let (s, skey): ([u8; 96], [u8; 20]) = (arr(&c, "s"), arr(&c, "skey"));
        for (dir, name) in [
            (Direction::InitiatorToResponder, "stream_a"),
            (Direction::ResponderToInitiator, "stream_b"),
        ] {
            // In one go, and in pieces of odd sizes: the same stream.
            let mut whole = [0u8; 64];
            Cipher::new(dir, &s, &skey).apply(&mut whole);
            assert_eq!(whole.to_vec(), c[name]);
            let mut pieces = [0u8; 64];
            let mut cipher = Cipher::from_key(&rc4_key(dir, &s, &skey));
            for chunk in pieces.chunks_mut(7) {
                cipher.apply(chunk);
            }
            assert_eq!(pieces, whole);
        }
    }
}

#[test]
fn initiator_sends_the_known_bytes() {
    for c in cases() {
        let entropy = Entropy::new(arr(&c, "xa"), c["pad_a"].clone()).unwrap();
        let offer = Methods::from_bits(u32_of(&c, "provide"));
        let mut a = Initiator::new(arr(&c, "skey"), offer, &c["ia"], entropy).unwrap();
        assert_eq!(a.take_output(), c["step1"]);
        let mut from_b = c["step2"].clone();
        from_b.extend_from_slice(&c["step4"]);
        let handshake_len = from_b.len();
        from_b.extend_from_slice(&c["b_wire"]);
        // Everything arrives at once: the handshake is consumed, the payload is not.
        assert_eq!(a.receive(&from_b).unwrap(), handshake_len);
        assert_eq!(a.take_output(), c["step3"]);
        let done = a.take_established().expect("established");
        let method = CryptoMethod::from_select(u32_of(&c, "select")).unwrap();
        assert_eq!(done.method, method);
        let mut payload = from_b[handshake_len..].to_vec();
        let mut wire = c["a_payload"].clone();
        match done.ciphers {
            Some(mut ciphers) => {
                ciphers.read.apply(&mut payload);
                ciphers.write.apply(&mut wire);
            }
            None => assert_eq!(method, CryptoMethod::Plaintext),
        }
        assert_eq!(payload, c["b_payload"]);
        assert_eq!(wire, c["a_wire"]);
    }
}

#[test]
fn responder_sends_the_known_bytes() {
    for c in cases() {
        let skey: [u8; 20] = arr(&c, "skey");
        let lookup = move |h: &[u8; 20]| (*h == req2(&skey)).then_some(skey);
        let entropy = Entropy::new(arr(&c, "xb"), c["pad_b"].clone()).unwrap();
        let allow = Methods::from_bits(u32_of(&c, "select"));
        let mut b = Responder::new(lookup, allow, entropy).unwrap();
        assert_eq!(b.receive(&c["step1"]).unwrap(), c["step1"].len());
        assert_eq!(b.take_output(), c["step2"]);
        let mut from_a = c["step3"].clone();
        let handshake_len = from_a.len();
        from_a.extend_from_slice(&c["a_wire"]);
        assert_eq!(b.receive(&from_a).unwrap(), handshake_len);
        assert_eq!(b.take_output(), c["step4"]);
        let done = b.take_established().expect("established");
        assert_eq!(done.info_hash, skey);
        assert_eq!(done.initial_payload, c["ia"]);
        let mut payload = from_a[handshake_len..].to_vec();
        let mut wire = c["b_payload"].clone();
        if let Some(mut ciphers) = done.ciphers {
            ciphers.read.apply(&mut payload);
            ciphers.write.apply(&mut wire);
        }
        assert_eq!(payload, c["a_payload"]);
        assert_eq!(wire, c["b_wire"]);
    }
}
