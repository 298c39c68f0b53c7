//! The decoder's error type: what went wrong and at which byte.

use std::fmt;

/// A decoding error: its kind and the byte offset in the input where it was found.
///
/// The offset is a field, not text in a message, so callers can point at the
/// bad byte themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset into the input where the problem starts.
    pub offset: usize,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }
}

/// What kind of problem the decoder found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended in the middle of a value.
    UnexpectedEof,
    /// A byte that cannot start a value (or cannot appear where it is).
    UnexpectedByte(u8),
    /// An integer or string length with a leading zero (`i03e`, `03:abc`).
    LeadingZero,
    /// The integer `-0`, which BEP 3 forbids.
    NegativeZero,
    /// An integer with no digits (`ie`, `i-e`).
    MissingDigits,
    /// An integer that does not fit in an `i64`, or a length that does not fit in `usize`.
    Overflow,
    /// A dictionary key that is not a byte string.
    KeyNotString,
    /// Dictionary keys out of sorted order (strict mode only).
    UnsortedKeys,
    /// The same dictionary key twice.
    DuplicateKey,
    /// Bytes left over after the top-level value.
    TrailingData,
    /// Lists and dictionaries nested deeper than the configured limit.
    DepthLimit,
    /// A byte string longer than the configured limit.
    StringTooLong,
    /// The whole input is longer than the configured limit.
    InputTooLong,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEof => f.write_str("unexpected end of input"),
            Self::UnexpectedByte(b) => write!(f, "unexpected byte 0x{b:02x}"),
            Self::LeadingZero => f.write_str("number with a leading zero"),
            Self::NegativeZero => f.write_str("negative zero"),
            Self::MissingDigits => f.write_str("number without digits"),
            Self::Overflow => f.write_str("number too large"),
            Self::KeyNotString => f.write_str("dictionary key is not a byte string"),
            Self::UnsortedKeys => f.write_str("dictionary keys not in sorted order"),
            Self::DuplicateKey => f.write_str("duplicate dictionary key"),
            Self::TrailingData => f.write_str("trailing data after the value"),
            Self::DepthLimit => f.write_str("nesting too deep"),
            Self::StringTooLong => f.write_str("byte string longer than the limit"),
            Self::InputTooLong => f.write_str("input longer than the limit"),
        }
    }
}
