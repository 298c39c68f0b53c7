//! Zero-copy [bencode](https://www.bittorrent.org/beps/bep_0003.html) for BitTorrent.
//!
//! - [`decode`] parses bytes into a [`Value`] that borrows from the input:
//!   byte strings are `&[u8]` slices, dictionaries keep their entries in input
//!   order and the exact raw span they came from ([`Dict::raw`]), so an
//!   info-hash can be computed over the original bytes.
//! - Strict by default (BEP 3): no leading zeros, no `-0`, sorted unique keys,
//!   nothing after the value. [`DecodeOptions::lenient`] accepts unsorted keys.
//! - Limits on nesting depth, input length and string length are named
//!   constants with a builder ([`DecodeOptions`]); errors are [`Error`] with a
//!   [`ErrorKind`] and a byte offset. The decoder never panics and never
//!   allocates a size read from the input.
//! - [`OwnedValue`] builds messages and encodes canonical bencode.
//!
//! It does not do serde mapping: callers pick fields out of the [`Dict`].
//!
//! ```
//! use monsoon_bencode::{decode, ErrorKind, OwnedValue};
//!
//! let v = decode(b"d4:infod6:lengthi5ee4:name3:abce").unwrap();
//! let top = v.as_dict().unwrap();
//! assert_eq!(top.get_str(b"name"), Some("abc"));
//! assert_eq!(top.get_dict(b"info").unwrap().raw(), b"d6:lengthi5ee");
//!
//! let err = decode(b"i03e").unwrap_err();
//! assert_eq!((err.kind, err.offset), (ErrorKind::LeadingZero, 1));
//!
//! let msg = OwnedValue::dict().insert("b", 1.into()).insert("a", "x".into());
//! assert_eq!(msg.encode(), b"d1:a1:x1:bi1ee");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decode;
mod error;
mod owned;
mod value;

pub use decode::{
    DEFAULT_MAX_DEPTH, DEFAULT_MAX_INPUT, DEFAULT_MAX_STRING, DecodeOptions, MAX_DEPTH_CEILING,
    decode, decode_prefix,
};
pub use error::{Error, ErrorKind};
pub use owned::{OwnedValue, encode_bytes, encode_int};
pub use value::{Dict, Value};
