//! Decode arbitrary bytes (strict and lenient); whatever decodes must
//! re-encode canonically and decode again to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use monsoon_bencode::{DecodeOptions, decode};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode(data) {
        let enc = v.encode();
        assert_eq!(enc, data, "strict decoding accepted non-canonical input");
        assert_eq!(decode(&enc).unwrap(), v);
    }
    if let Ok(v) = DecodeOptions::new().lenient().decode(data) {
        let enc = v.encode();
        let again = decode(&enc).expect("canonical encoding must decode strictly");
        assert_eq!(again.to_owned_value(), v.to_owned_value());
    }
});
