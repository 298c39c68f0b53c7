//! Padding of every length the specification allows (0 to 512), in each
//! of the four places, and the keys of both roles agreeing.

use monsoon_mse::{CryptoMethod, Exchange, MAX_PAD, Methods};

use crate::support::{
    HandInitiator, entropy, hand_responder_bytes, initiator, key, padding, responder, run,
};

#[test]
fn pad_a_and_pad_b_of_every_length() {
    for len in 0..=MAX_PAD {
        let mut a = initiator(Methods::BOTH, b"ia", entropy(1, len));
        let mut b = responder(Methods::BOTH, entropy(2, MAX_PAD - len));
        let (a_done, b_done, a_sent, b_sent) = run(&mut a, &mut b).unwrap();
        assert_eq!(
            a_sent.len(),
            96 + len + 20 + 20 + 8 + 4 + 2 + 2 + 2,
            "PadA {len}"
        );
        assert_eq!(
            b_sent.len(),
            96 + (MAX_PAD - len) + 8 + 4 + 2,
            "PadB {}",
            MAX_PAD - len
        );
        assert_eq!(a_done.method, CryptoMethod::Rc4);
        assert_eq!(b_done.initial_payload, b"ia");
        // The streams agree both ways.
        let (mut ac, mut bc) = (a_done.ciphers.unwrap(), b_done.ciphers.unwrap());
        let mut msg = *b"ping";
        ac.write.apply(&mut msg);
        bc.read.apply(&mut msg);
        assert_eq!(&msg, b"ping");
        bc.write.apply(&mut msg);
        ac.read.apply(&mut msg);
        assert_eq!(&msg, b"ping");
    }
}

#[test]
fn pad_c_of_every_length() {
    for len in 0..=MAX_PAD {
        let mut peer = HandInitiator::new(5);
        peer.pad_c = padding(9, len);
        let mut b = responder(Methods::BOTH, entropy(2, 7));
        let done = peer.against(&mut b).unwrap();
        assert_eq!(done.initial_payload, b"initial payload", "PadC {len}");
    }
}

#[test]
fn pad_d_of_every_length() {
    for len in 0..=MAX_PAD {
        let mut a = initiator(Methods::BOTH, b"ia", entropy(1, 3));
        let step1 = a.take_output();
        let mut answer =
            hand_responder_bytes(&step1, &key(8), &padding(8, 11), 0x02, &padding(4, len));
        let end = answer.len();
        answer.extend_from_slice(b"payload");
        assert_eq!(a.receive(&answer).unwrap(), end, "PadD {len}");
        assert_eq!(
            a.take_established().expect("established").method,
            CryptoMethod::Rc4
        );
    }
}
