//! Decoding: accepted forms, every error kind with its offset, limits.
use monsoon_bencode::{DecodeOptions, ErrorKind, OwnedValue, Value, decode, decode_prefix};

fn err(input: &[u8]) -> (ErrorKind, usize) {
    let e = decode(input).unwrap_err();
    (e.kind, e.offset)
}

#[test]
fn scalars() {
    assert_eq!(decode(b"i42e").unwrap(), Value::Int(42));
    assert_eq!(decode(b"i-42e").unwrap(), Value::Int(-42));
    assert_eq!(decode(b"i0e").unwrap(), Value::Int(0));
    assert_eq!(
        decode(b"i9223372036854775807e").unwrap(),
        Value::Int(i64::MAX)
    );
    assert_eq!(
        decode(b"i-9223372036854775808e").unwrap(),
        Value::Int(i64::MIN)
    );
    assert_eq!(decode(b"4:spam").unwrap(), Value::Bytes(b"spam"));
    assert_eq!(decode(b"0:").unwrap(), Value::Bytes(b""));
}

#[test]
fn containers_and_raw_spans() {
    let input = b"d1:ald1:xi1eee1:bd1:ci2eee";
    let v = decode(input).unwrap();
    let d = v.as_dict().unwrap();
    assert_eq!(d.raw(), &input[..]);
    assert_eq!(d.get_dict(b"b").unwrap().raw(), b"d1:ci2ee");
    let list = d.get_list(b"a").unwrap();
    assert_eq!(list[0].as_dict().unwrap().raw(), b"d1:xi1ee");
    assert_eq!(d.get(b"zz"), None);
}

#[test]
fn number_errors() {
    assert_eq!(err(b"i03e"), (ErrorKind::LeadingZero, 1));
    assert_eq!(err(b"i-0e"), (ErrorKind::NegativeZero, 0));
    assert_eq!(err(b"i-03e"), (ErrorKind::LeadingZero, 2));
    assert_eq!(err(b"ie"), (ErrorKind::MissingDigits, 1));
    assert_eq!(err(b"i-e"), (ErrorKind::MissingDigits, 2));
    assert_eq!(err(b"i1x"), (ErrorKind::UnexpectedByte(b'x'), 2));
    assert_eq!(err(b"i9223372036854775808e"), (ErrorKind::Overflow, 1));
    assert_eq!(err(b"03:abc"), (ErrorKind::LeadingZero, 0));
    assert_eq!(err(b"99999999999999999999999:a"), (ErrorKind::Overflow, 0));
    assert_eq!(err(b"i12"), (ErrorKind::UnexpectedEof, 3));
}

#[test]
fn structure_errors() {
    assert_eq!(err(b""), (ErrorKind::UnexpectedEof, 0));
    assert_eq!(err(b"x"), (ErrorKind::UnexpectedByte(b'x'), 0));
    assert_eq!(err(b"5:abc"), (ErrorKind::UnexpectedEof, 5));
    assert_eq!(err(b"l"), (ErrorKind::UnexpectedEof, 1));
    assert_eq!(err(b"d1:a"), (ErrorKind::UnexpectedEof, 4));
    assert_eq!(err(b"di1ei2ee"), (ErrorKind::KeyNotString, 1));
    assert_eq!(err(b"d1:bi1e1:ai2ee"), (ErrorKind::UnsortedKeys, 7));
    assert_eq!(err(b"d1:ai1e1:ai2ee"), (ErrorKind::DuplicateKey, 7));
    assert_eq!(err(b"i1ei2e"), (ErrorKind::TrailingData, 3));
}

#[test]
fn lenient_accepts_unsorted_but_not_duplicates() {
    let opts = DecodeOptions::new().lenient();
    let v = opts.decode(b"d1:bi1e1:ai2ee").unwrap();
    let keys: Vec<&[u8]> = v
        .as_dict()
        .unwrap()
        .entries()
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(keys, vec![&b"b"[..], &b"a"[..]], "input order is kept");
    let e = opts.decode(b"d1:bi1e1:ai2e1:bi3ee").unwrap_err();
    assert_eq!(e.kind, ErrorKind::DuplicateKey);
    assert_eq!(
        opts.decode(b"i-0e").unwrap_err().kind,
        ErrorKind::NegativeZero
    );
    assert_eq!(
        opts.decode(b"i01e").unwrap_err().kind,
        ErrorKind::LeadingZero
    );
}

#[test]
fn limits() {
    let deep = |n: usize| {
        let mut v = vec![b'l'; n];
        v.extend(std::iter::repeat_n(b'e', n));
        v
    };
    assert!(decode(&deep(100)).is_ok());
    assert_eq!(err(&deep(101)), (ErrorKind::DepthLimit, 100));
    let shallow = DecodeOptions::new().max_depth(2);
    assert_eq!(
        shallow.decode(&deep(3)).unwrap_err().kind,
        ErrorKind::DepthLimit
    );
    // The ceiling holds whatever is asked for: no stack overflow on 100k nested lists.
    let huge = DecodeOptions::new().max_depth(usize::MAX);
    assert_eq!(
        huge.decode(&deep(100_000)).unwrap_err().kind,
        ErrorKind::DepthLimit
    );

    let short = DecodeOptions::new().max_string(3);
    assert!(short.decode(b"3:abc").is_ok());
    assert_eq!(
        short.decode(b"4:abcd").unwrap_err().kind,
        ErrorKind::StringTooLong
    );
    let small = DecodeOptions::new().max_input(4);
    assert_eq!(
        small.decode(b"5:abcde").unwrap_err(),
        monsoon_bencode::Error {
            kind: ErrorKind::InputTooLong,
            offset: 4
        }
    );
    // A huge declared length with little data is an EOF error, not an allocation.
    assert_eq!(err(b"4294967295:x").0, ErrorKind::StringTooLong);
    let big = DecodeOptions::new().max_string(usize::MAX);
    assert_eq!(
        big.decode(b"4294967295:x").unwrap_err().kind,
        ErrorKind::UnexpectedEof
    );
}

#[test]
fn prefix_reports_bytes_used() {
    let (v, used) = decode_prefix(b"d1:ai1ee\x00\x01data").unwrap();
    assert_eq!(used, 8);
    assert_eq!(v.as_dict().unwrap().get_int(b"a"), Some(1));
}

#[test]
fn encoding_is_canonical() {
    let v = DecodeOptions::new()
        .lenient()
        .decode(b"d1:bli-1e0:e1:ai0ee")
        .unwrap();
    assert_eq!(v.encode(), b"d1:ai0e1:bli-1e0:ee");
    let o = OwnedValue::List(vec![OwnedValue::Int(i64::MIN), OwnedValue::bytes(b"\xff")]);
    let enc = o.encode();
    assert_eq!(enc, b"li-9223372036854775808e1:\xffe");
    assert_eq!(enc.len(), o.encoded_len());
    let mut buf = Vec::new();
    o.encode_to(&mut buf);
    assert_eq!(buf, enc);
}
