//! Property tests: round-trips and no panics on arbitrary bytes.
use monsoon_bencode::{DecodeOptions, OwnedValue, decode};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = OwnedValue> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(OwnedValue::Int),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(OwnedValue::Bytes),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(OwnedValue::List),
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..8),
                inner,
                0..8
            )
            .prop_map(OwnedValue::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn encode_decode_round_trip(v in value()) {
        let bytes = v.encode();
        prop_assert_eq!(bytes.len(), v.encoded_len());
        let decoded = decode(&bytes).unwrap();
        prop_assert_eq!(decoded.to_owned_value(), v);
        prop_assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let strict = decode(&bytes);
        let lenient = DecodeOptions::new().lenient().decode(&bytes);
        if let Ok(v) = &strict {
            // Whatever strict accepts is canonical: re-encoding gives the input back.
            prop_assert_eq!(&v.encode(), &bytes);
            prop_assert!(lenient.is_ok());
        }
        if let Err(e) = strict {
            prop_assert!(e.offset <= bytes.len());
        }
    }

    #[test]
    fn mutated_encodings_never_panic(v in value(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut bytes = v.encode();
        let i = at.index(bytes.len());
        bytes[i] = b;
        if let Ok(v) = DecodeOptions::new().lenient().decode(&bytes) {
            // Anything accepted re-encodes to canonical bytes that decode strictly to the same tree.
            let canonical = v.encode();
            prop_assert_eq!(decode(&canonical).unwrap().to_owned_value(), v.to_owned_value());
        }
    }
}
