//! Every failure, as the typed error it must be: scans that give up at
//! the bound, garbage, truncated exchanges, methods nobody offered.

use monsoon_mse::{
    Entropy, Exchange, Initiator, MAX_PAD, Methods, MseError, Pad, Responder, Stage, public_key,
    req2,
};
use proptest::prelude::*;

use crate::support::{
    HandInitiator, INFO_HASH, Lookup, entropy, hand_responder_bytes, initiator, key, padding,
    responder, run,
};

/// The initiator's step 1, and Yb from a responder key (valid key, no VC ever).
fn initiator_after_key() -> Initiator {
    let mut a = initiator(Methods::BOTH, b"ia", entropy(1, 0));
    a.take_output();
    assert_eq!(a.receive(&public_key(&key(2))).unwrap(), 96);
    assert_eq!(a.stage(), Stage::Sync);
    a
}

#[test]
fn a_vc_that_never_comes_is_given_up_after_512_bytes_of_padding() {
    // 519 bytes: the VC could still end at byte 520.
    let mut a = initiator_after_key();
    let garbage = padding(77, MAX_PAD + 7);
    assert_eq!(a.receive(&garbage).unwrap(), garbage.len());
    assert_eq!(a.stage(), Stage::Sync);
    assert_eq!(
        a.receive(&[0x42]),
        Err(MseError::VcNotFound { scanned: 520 })
    );
    // All at once, and more than enough: the scan stops at its bound.
    let mut a = initiator_after_key();
    let err = a.receive(&padding(77, 4000));
    assert_eq!(err, Err(MseError::VcNotFound { scanned: 520 }));
    // The error sticks.
    assert_eq!(a.receive(b"x"), Err(MseError::VcNotFound { scanned: 520 }));
}

#[test]
fn a_req1_that_never_comes_is_given_up_after_512_bytes_of_padding() {
    let mut b = responder(Methods::BOTH, entropy(2, 0));
    assert_eq!(b.receive(&public_key(&key(1))).unwrap(), 96);
    assert_eq!(b.take_output().len(), 96, "Yb is sent once Ya is in");
    let garbage = padding(13, MAX_PAD + 19);
    assert_eq!(b.receive(&garbage).unwrap(), garbage.len());
    assert_eq!(b.stage(), Stage::Sync);
    assert_eq!(
        b.receive(&[1]),
        Err(MseError::Req1NotFound { scanned: 532 })
    );
    assert_eq!(
        b.receive(&[1]),
        Err(MseError::Req1NotFound { scanned: 532 })
    );
}

#[test]
fn a_select_we_did_not_offer() {
    for (offer, select) in [
        (Methods::RC4, 0x01),
        (Methods::PLAINTEXT, 0x02),
        (Methods::BOTH, 0x03),
        (Methods::BOTH, 0x00),
        (Methods::BOTH, 0x04),
        (Methods::BOTH, 0x8000_0002),
    ] {
        let mut a = initiator(offer, b"ia", entropy(1, 0));
        let step1 = a.take_output();
        let answer = hand_responder_bytes(&step1, &key(8), &[], select, &[]);
        assert_eq!(
            a.receive(&answer),
            Err(MseError::NotOffered {
                selected: select,
                offered: offer.bits()
            })
        );
    }
}

#[test]
fn paddings_over_512_bytes() {
    let mut a = initiator(Methods::BOTH, b"ia", entropy(1, 0));
    let step1 = a.take_output();
    let mut answer = hand_responder_bytes(&step1, &key(8), &[], 0x02, &[]);
    // len(PadD) is the last field: make it 513 (re-encrypting it is not
    // needed: flip the bits the keystream put there).
    let n = answer.len();
    answer[n - 2] ^= 0x02; // 0x0000 -> 0x0201
    answer[n - 1] ^= 0x01;
    assert_eq!(
        a.receive(&answer),
        Err(MseError::PadTooLong {
            which: Pad::D,
            len: 0x0201
        })
    );

    let mut peer = HandInitiator::new(5);
    peer.pad_c = padding(1, MAX_PAD + 1);
    let mut b = responder(Methods::BOTH, entropy(2, 0));
    assert_eq!(
        peer.against(&mut b).unwrap_err(),
        MseError::PadTooLong {
            which: Pad::C,
            len: 513
        }
    );

    assert!(matches!(
        Entropy::new([1; 20], vec![0; 513]),
        Err(MseError::PadTooLong {
            which: Pad::Key,
            len: 513
        })
    ));
}

#[test]
fn no_common_method() {
    let mut a = initiator(Methods::PLAINTEXT, b"ia", entropy(1, 0));
    let mut b = responder(Methods::RC4, entropy(2, 0));
    assert_eq!(
        run(&mut a, &mut b).unwrap_err(),
        MseError::NoCommonMethod {
            provided: 1,
            allowed: 2
        }
    );
    // Unknown bits in crypto_provide are not methods.
    let mut peer = HandInitiator::new(5);
    peer.provide = 0xffff_fffc;
    let mut b = responder(Methods::BOTH, entropy(2, 0));
    assert_eq!(
        peer.against(&mut b).unwrap_err(),
        MseError::NoCommonMethod {
            provided: 0xffff_fffc,
            allowed: 3
        }
    );
}

#[test]
fn a_torrent_we_do_not_have() {
    let mut a = Initiator::new([9; 20], Methods::BOTH, b"ia", entropy(1, 0)).unwrap();
    let mut b = responder(Methods::BOTH, entropy(2, 0));
    assert_eq!(
        run(&mut a, &mut b).unwrap_err(),
        MseError::UnknownTorrent {
            req2: req2(&[9; 20])
        }
    );
}

#[test]
fn a_wrong_key_shows_in_the_vc() {
    // A lookup that answers with another torrent: the keys differ, and the
    // VC does not decrypt to zeros.
    let liar = |_: &[u8; 20]| Some([0x77; 20]);
    let mut b = Responder::new(liar, Methods::BOTH, entropy(2, 0)).unwrap();
    let mut peer = HandInitiator::new(5);
    let err = peer.against(&mut b).unwrap_err();
    assert!(
        matches!(err, MseError::BadVc { vc } if vc != [0; 8]),
        "{err:?}"
    );
    // A VC that is not zeros, with the right key.
    peer.vc = [0, 0, 0, 0, 0, 0, 0, 1];
    let mut b = responder(Methods::BOTH, entropy(2, 0));
    assert_eq!(
        peer.against(&mut b).unwrap_err(),
        MseError::BadVc {
            vc: [0, 0, 0, 0, 0, 0, 0, 1]
        }
    );
}

#[test]
fn degenerate_public_keys() {
    let mut b = responder(Methods::BOTH, entropy(2, 0));
    assert_eq!(b.receive(&[0u8; 96]), Err(MseError::BadPublicKey));
    assert!(b.take_output().is_empty(), "nothing sent to a bad key");
    let mut a = initiator(Methods::BOTH, b"", entropy(1, 0));
    let mut one = [0u8; 96];
    one[95] = 1;
    assert_eq!(a.receive(&one), Err(MseError::BadPublicKey));
}

#[test]
fn bad_arguments() {
    assert_eq!(
        Initiator::new(INFO_HASH, Methods::from_bits(0), b"", entropy(1, 0)).unwrap_err(),
        MseError::NoMethod
    );
    assert_eq!(
        Initiator::new(INFO_HASH, Methods::BOTH, &vec![0; 65536], entropy(1, 0)).unwrap_err(),
        MseError::PayloadTooLong { len: 65536 }
    );
    let lookup: Lookup = |_| None;
    assert_eq!(
        Responder::new(lookup, Methods::from_bits(0x10), entropy(1, 0)).unwrap_err(),
        MseError::NoMethod
    );
}

#[test]
fn truncated_exchanges_never_establish_and_say_where_they_stopped() {
    let mut a = initiator(Methods::BOTH, b"initial payload", entropy(1, 30));
    let mut b = responder(Methods::BOTH, entropy(2, 50));
    let (_, _, a_sent, b_sent) = run(&mut a, &mut b).unwrap();
    // The responder with every prefix of what the initiator sent.
    for cut in 0..a_sent.len() {
        let mut b = responder(Methods::BOTH, entropy(2, 50));
        assert_eq!(b.receive(&a_sent[..cut]).unwrap(), cut);
        assert!(b.take_established().is_none(), "established at {cut}");
        let stage = match cut {
            0..96 => Stage::PublicKey,
            // PadA (30) and req1 (20): still scanning.
            96..146 => Stage::Sync,
            // req2 xor req3 (20), then VC, provide, len(PadC) (14).
            146..180 => Stage::Header,
            // len(IA) (2).
            180..182 => Stage::Padding,
            _ => Stage::InitialPayload,
        };
        assert_eq!(
            b.truncated(),
            MseError::Truncated {
                stage,
                received: cut
            },
            "cut at {cut}"
        );
    }
    // The initiator with every prefix of the responder's answer.
    for cut in 0..b_sent.len() {
        let mut a = initiator(Methods::BOTH, b"initial payload", entropy(1, 30));
        assert_eq!(a.receive(&b_sent[..cut]).unwrap(), cut);
        assert!(a.take_established().is_none(), "established at {cut}");
        let stage = match cut {
            0..96 => Stage::PublicKey,
            // PadB (50), VC (8).
            96..154 => Stage::Sync,
            _ => Stage::Header,
        };
        assert_eq!(a.stage(), stage, "cut at {cut}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Garbage never panics, never establishes, and ends in an error
    /// within the bounds (96 + 512 + 20 bytes for a responder).
    #[test]
    fn garbage_to_a_responder(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let mut b = responder(Methods::BOTH, entropy(2, 0));
        match b.receive(&bytes) {
            Ok(n) => {
                prop_assert_eq!(n, bytes.len());
                prop_assert!(bytes.len() < 96 + MAX_PAD + 20);
            }
            Err(e) => prop_assert!(
                matches!(e, MseError::BadPublicKey | MseError::Req1NotFound { scanned: 532 }),
                "{:?}", e
            ),
        }
        prop_assert!(b.take_established().is_none());
    }

    #[test]
    fn garbage_to_an_initiator(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let mut a = initiator(Methods::BOTH, b"ia", entropy(1, 0));
        match a.receive(&bytes) {
            Ok(n) => {
                prop_assert_eq!(n, bytes.len());
                prop_assert!(bytes.len() < 96 + MAX_PAD + 8);
            }
            Err(e) => prop_assert!(
                matches!(e, MseError::BadPublicKey | MseError::VcNotFound { scanned: 520 }),
                "{:?}", e
            ),
        }
        prop_assert!(a.take_established().is_none());
    }
}
