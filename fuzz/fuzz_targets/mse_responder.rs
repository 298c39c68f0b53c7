//! The MSE responder's parser with arbitrary bytes. The first byte picks a
//! mode: 0, raw bytes from the first one on (garbage keys, scans that must
//! stop at their bound); 1, a real key exchange first (a fixed initiator
//! key, the real `req1` and `req2 xor req3`), then the rest encrypted with
//! the real keyA stream, so the fuzzer reaches the VC, `crypto_provide`,
//! PadC and the initial payload. The second byte sets the chunk size.
//! Nothing may panic; the responder consumes no more than it is given and,
//! once established, names our torrent and has answered with 14 bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monsoon_mse::{
    Cipher, Direction, Entropy, Exchange, Methods, Responder, public_key, req1, req2, req3,
    shared_secret,
};

const INFO_HASH: [u8; 20] = [0xab; 20];

fuzz_target!(|data: &[u8]| {
    let [mode, chunk, rest @ ..] = data else {
        return;
    };
    let chunk = usize::from(*chunk).max(1);
    let lookup = |h: &[u8; 20]| (*h == req2(&INFO_HASH)).then_some(INFO_HASH);
    let entropy = Entropy::new([0x5a; 20], vec![0x11; 17]).expect("17 bytes of padding");
    let mut b = Responder::new(lookup, Methods::BOTH, entropy).expect("methods");
    let input = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let xa = [0x21; 20];
        let mut step1 = public_key(&xa).to_vec();
        step1.extend_from_slice(&[0x33; 5]);
        if b.receive(&step1) != Ok(step1.len()) {
            panic!("a valid step 1 was refused");
        }
        let step2 = b.take_output();
        assert_eq!(step2.len(), 96 + 17);
        let mut yb = [0u8; 96];
        yb.copy_from_slice(&step2[..96]);
        let s = shared_secret(&yb, &xa).expect("a real key");
        let mut input = req1(&s).to_vec();
        input.extend(req2(&INFO_HASH).iter().zip(req3(&s)).map(|(a, b)| a ^ b));
        let mut enc = rest.to_vec();
        Cipher::new(Direction::InitiatorToResponder, &s, &INFO_HASH).apply(&mut enc);
        input.extend_from_slice(&enc);
        input
    };
    let mut sent = 0;
    for part in input.chunks(chunk) {
        match b.receive(part) {
            Ok(n) => assert!(n <= part.len()),
            Err(e) => {
                // Errors stick.
                assert_eq!(b.receive(b"more"), Err(e));
                return;
            }
        }
        sent += b.take_output().len();
        if let Some(done) = b.take_established() {
            assert_eq!(done.info_hash, INFO_HASH);
            assert!(done.initial_payload.len() <= usize::from(u16::MAX));
            // Step 4 (VC, crypto_select, len(PadD)), after Yb and PadB when
            // the raw mode made the responder answer a random key.
            assert!(sent == 14 || sent == 96 + 17 + 14, "sent {sent}");
            return;
        }
    }
});
