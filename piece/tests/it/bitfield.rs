//! Bitfield: wire round-trips, typed errors, counting and iteration.
use monsoon_piece::{Bitfield, PieceError};
use proptest::prelude::*;

#[test]
fn wire_errors_are_typed() {
    assert_eq!(
        Bitfield::from_bytes(&[0, 0], 9).map(|_| ()),
        Ok(()),
        "9 bits need 2 bytes"
    );
    assert_eq!(
        Bitfield::from_bytes(&[0], 9),
        Err(PieceError::BitfieldLength {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        Bitfield::from_bytes(&[0, 0, 0], 9),
        Err(PieceError::BitfieldLength {
            expected: 2,
            got: 3
        })
    );
    assert_eq!(
        Bitfield::from_bytes(&[0, 0b0100_0000], 9),
        Err(PieceError::SpareBits { len: 9 })
    );
    assert!(Bitfield::from_bytes(&[0xff, 0x80], 9).unwrap().all());
    assert_eq!(Bitfield::from_bytes(&[], 0).unwrap().len(), 0);
}

#[test]
fn msb_first_and_counting() {
    let mut b = Bitfield::new(20);
    assert!(b.none() && !b.all());
    b.set(0, true);
    b.set(9, true);
    b.set(19, true);
    b.set(19, true);
    assert_eq!(b.as_bytes(), &[0x80, 0x40, 0x10]);
    assert_eq!(b.count_ones(), 3);
    assert_eq!(b.iter_ones().collect::<Vec<_>>(), vec![0, 9, 19]);
    assert_eq!(b.iter_ones_from(1).collect::<Vec<_>>(), vec![9, 19]);
    assert_eq!(b.next_one(10), Some(19));
    assert!(!b.get(20), "past the end reads as clear");
    b.set(0, false);
    assert_eq!(b.count_ones(), 2);
    let f = Bitfield::full(20);
    assert_eq!(f.as_bytes(), &[0xff, 0xff, 0xf0]);
    assert_eq!(f.to_bytes(), vec![0xff, 0xff, 0xf0]);
    assert!(f.all());
    assert_eq!(Bitfield::from_bytes(f.as_bytes(), 20).unwrap(), f);
}

proptest! {
    #[test]
    fn round_trip_and_iteration(bits in proptest::collection::vec(any::<bool>(), 0..300), from in 0u32..310) {
        let len = bits.len() as u32;
        let mut b = Bitfield::new(len);
        for (i, &v) in bits.iter().enumerate() {
            b.set(i as u32, v);
        }
        let ones: Vec<u32> = (0..len).filter(|&i| bits[i as usize]).collect();
        prop_assert_eq!(b.iter_ones().collect::<Vec<_>>(), ones.clone());
        prop_assert_eq!(
            b.iter_ones_from(from).collect::<Vec<_>>(),
            ones.iter().copied().filter(|&i| i >= from).collect::<Vec<_>>()
        );
        prop_assert_eq!(b.count_ones() as usize, ones.len());
        prop_assert_eq!(b.all(), ones.len() == bits.len());
        let again = Bitfield::from_bytes(&b.to_bytes(), len).unwrap();
        prop_assert_eq!(again, b);
    }

    #[test]
    fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40), len in 0u32..400) {
        match Bitfield::from_bytes(&bytes, len) {
            Ok(b) => {
                prop_assert_eq!(b.as_bytes(), &bytes[..]);
                prop_assert!(b.iter_ones().all(|i| i < len));
            }
            Err(PieceError::BitfieldLength { expected, got }) => {
                prop_assert_eq!(expected, (len as usize).div_ceil(8));
                prop_assert_eq!(got, bytes.len());
            }
            Err(PieceError::SpareBits { len: l }) => prop_assert_eq!(l, len),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}
