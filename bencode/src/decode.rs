//! The decoder: nom parsers for the four bencode types, with limits.
//!
//! nom's types stay inside this file: the public surface is [`decode`],
//! [`decode_prefix`] and [`DecodeOptions`], which return [`Error`].

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::take;
use nom::character::complete::{char as ch, digit1};
use nom::combinator::opt;

use crate::error::{Error, ErrorKind};
use crate::value::{Dict, Value};

/// Default maximum nesting depth of lists and dictionaries.
pub const DEFAULT_MAX_DEPTH: usize = 100;
/// Nesting depth can never be set above this (recursion must stay well inside
/// a thread's stack).
pub const MAX_DEPTH_CEILING: usize = 256;
/// Default maximum length of the whole input (64 MiB).
pub const DEFAULT_MAX_INPUT: usize = 64 << 20;
/// Default maximum length of a single byte string (32 MiB).
pub const DEFAULT_MAX_STRING: usize = 32 << 20;

/// Decoder settings: strictness and limits. Build with [`DecodeOptions::new`]
/// (strict, default limits) and the setters.
///
/// ```
/// use monsoon_bencode::DecodeOptions;
/// let opts = DecodeOptions::new().lenient().max_depth(8);
/// assert!(opts.decode(b"d1:bi1e1:ai2ee").is_ok()); // unsorted keys allowed
/// assert!(opts.decode(b"d1:ai1e1:ai2ee").is_err()); // duplicates never are
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    strict: bool,
    max_depth: usize,
    max_input: usize,
    max_string: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl DecodeOptions {
    /// Strict BEP 3 decoding with the default limits.
    pub const fn new() -> Self {
        Self {
            strict: true,
            max_depth: DEFAULT_MAX_DEPTH,
            max_input: DEFAULT_MAX_INPUT,
            max_string: DEFAULT_MAX_STRING,
        }
    }

    /// Accept dictionary keys out of sorted order (real torrents have them).
    /// Duplicates and malformed numbers are still rejected.
    pub const fn lenient(mut self) -> Self {
        self.strict = false;
        self
    }

    /// Maximum nesting depth (clamped to [`MAX_DEPTH_CEILING`]).
    pub const fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = if depth > MAX_DEPTH_CEILING {
            MAX_DEPTH_CEILING
        } else {
            depth
        };
        self
    }

    /// Maximum length of the whole input.
    pub const fn max_input(mut self, len: usize) -> Self {
        self.max_input = len;
        self
    }

    /// Maximum length of one byte string.
    pub const fn max_string(mut self, len: usize) -> Self {
        self.max_string = len;
        self
    }

    /// Decodes exactly one value filling the whole input.
    pub fn decode<'a>(&self, input: &'a [u8]) -> Result<Value<'a>, Error> {
        let (value, used) = self.decode_prefix(input)?;
        if used != input.len() {
            return Err(Error::new(ErrorKind::TrailingData, used));
        }
        Ok(value)
    }

    /// Decodes one value from the start of the input and returns it with the
    /// number of bytes it used (for messages where data follows a dictionary,
    /// such as BEP 9 metadata pieces).
    pub fn decode_prefix<'a>(&self, input: &'a [u8]) -> Result<(Value<'a>, usize), Error> {
        if input.len() > self.max_input {
            return Err(Error::new(ErrorKind::InputTooLong, self.max_input));
        }
        let mut p = Parser_ {
            opts: self,
            items: Vec::new(),
            entries: Vec::new(),
        };
        match p.value(input, 0) {
            Ok((rest, v)) => Ok((v, input.len() - rest.len())),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                Err(Error::new(e.kind, input.len() - e.rest_len))
            }
            // Only streaming parsers return Incomplete; these are all complete.
            Err(nom::Err::Incomplete(_)) => Err(Error::new(ErrorKind::UnexpectedEof, input.len())),
        }
    }
}

/// Decodes one strict bencode value filling the whole input, with default limits.
pub fn decode(input: &[u8]) -> Result<Value<'_>, Error> {
    DecodeOptions::new().decode(input)
}

/// Decodes one strict value at the start of `input`; returns it and the bytes used.
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), Error> {
    DecodeOptions::new().decode_prefix(input)
}

/// nom error carrying our kind and where (as the length of the remaining input).
#[derive(Debug)]
struct PErr {
    kind: ErrorKind,
    rest_len: usize,
}

impl PErr {
    fn at(kind: ErrorKind, rest: &[u8]) -> nom::Err<Self> {
        nom::Err::Failure(Self {
            kind,
            rest_len: rest.len(),
        })
    }
}

impl nom::error::ParseError<&[u8]> for PErr {
    fn from_error_kind(input: &[u8], _kind: nom::error::ErrorKind) -> Self {
        let kind = match input.first() {
            None => ErrorKind::UnexpectedEof,
            Some(&b) => ErrorKind::UnexpectedByte(b),
        };
        Self {
            kind,
            rest_len: input.len(),
        }
    }

    fn append(_input: &[u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a [u8], T, PErr>;

/// The parser, with two stacks shared by every list and dictionary being
/// decoded: a container's items go on the stack, then move to a `Vec` of
/// exactly their number when it closes, so a one-entry list takes one
/// slot (`Vec::push` would reserve four), and no `Vec` grows by copies.
struct Parser_<'o, 'a> {
    opts: &'o DecodeOptions,
    items: Vec<Value<'a>>,
    entries: Vec<(&'a [u8], Value<'a>)>,
}

impl<'a> Parser_<'_, 'a> {
    fn value(&mut self, input: &'a [u8], depth: usize) -> Res<'a, Value<'a>> {
        match input.first() {
            None => Err(PErr::at(ErrorKind::UnexpectedEof, input)),
            Some(b'i') => {
                let (rest, i) = integer(input)?;
                Ok((rest, Value::Int(i)))
            }
            Some(b'0'..=b'9') => {
                let (rest, s) = self.string(input)?;
                Ok((rest, Value::Bytes(s)))
            }
            Some(b'l') => self.list(input, depth),
            Some(b'd') => self.dict(input, depth),
            Some(&b) => Err(PErr::at(ErrorKind::UnexpectedByte(b), input)),
        }
    }

    fn string(&self, input: &'a [u8]) -> Res<'a, &'a [u8]> {
        let (rest, digits) = digit1(input)?;
        if digits.len() > 1 && digits[0] == b'0' {
            return Err(PErr::at(ErrorKind::LeadingZero, input));
        }
        let len = parse_unsigned(digits).ok_or_else(|| PErr::at(ErrorKind::Overflow, input))?;
        let (rest, _) = ch(':').parse(rest)?;
        if len > self.opts.max_string {
            return Err(PErr::at(ErrorKind::StringTooLong, input));
        }
        if len > rest.len() {
            return Err(PErr::at(ErrorKind::UnexpectedEof, &rest[rest.len()..]));
        }
        take(len).parse(rest)
    }

    fn enter(&self, input: &[u8], depth: usize) -> Result<usize, nom::Err<PErr>> {
        if depth >= self.opts.max_depth {
            return Err(PErr::at(ErrorKind::DepthLimit, input));
        }
        Ok(depth + 1)
    }

    fn list(&mut self, input: &'a [u8], depth: usize) -> Res<'a, Value<'a>> {
        let depth = self.enter(input, depth)?;
        let mut rest = &input[1..];
        let start = self.items.len();
        loop {
            if let Some(after) = rest.strip_prefix(b"e") {
                let items: Vec<Value<'a>> = self.items.drain(start..).collect();
                return Ok((after, Value::List(items)));
            }
            let (r, v) = self.value(rest, depth)?;
            self.items.push(v);
            rest = r;
        }
    }

    fn dict(&mut self, input: &'a [u8], depth: usize) -> Res<'a, Value<'a>> {
        let depth = self.enter(input, depth)?;
        let mut rest = &input[1..];
        let start = self.entries.len();
        let mut sorted = true;
        loop {
            if let Some(after) = rest.strip_prefix(b"e") {
                let entries: Vec<(&'a [u8], Value<'a>)> = self.entries.drain(start..).collect();
                if !sorted {
                    check_duplicates(&entries, input)?;
                }
                let raw = &input[..input.len() - after.len()];
                return Ok((after, Value::Dict(Dict { entries, raw })));
            }
            match rest.first() {
                None => return Err(PErr::at(ErrorKind::UnexpectedEof, rest)),
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(PErr::at(ErrorKind::KeyNotString, rest)),
            }
            let key_at = rest;
            let (r, key) = self.string(rest)?;
            if let Some((prev, _)) = self.entries[start..].last() {
                match (*prev).cmp(key) {
                    std::cmp::Ordering::Equal => {
                        return Err(PErr::at(ErrorKind::DuplicateKey, key_at));
                    }
                    std::cmp::Ordering::Greater if self.opts.strict => {
                        return Err(PErr::at(ErrorKind::UnsortedKeys, key_at));
                    }
                    std::cmp::Ordering::Greater => sorted = false,
                    std::cmp::Ordering::Less => {}
                }
            }
            let (r, v) = self.value(r, depth)?;
            self.entries.push((key, v));
            rest = r;
        }
    }
}

/// Lenient mode: unsorted keys are allowed, duplicates are not.
fn check_duplicates(entries: &[(&[u8], Value<'_>)], dict: &[u8]) -> Result<(), nom::Err<PErr>> {
    let mut keys: Vec<&[u8]> = entries.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(PErr::at(ErrorKind::DuplicateKey, dict));
    }
    Ok(())
}

fn integer(input: &[u8]) -> Res<'_, i64> {
    let (rest, _) = ch('i').parse(input)?;
    let (rest, neg) = opt(ch('-')).parse(rest)?;
    let digits_at = rest;
    let (rest, digits) = digit1(rest).map_err(|_: nom::Err<PErr>| {
        let kind = match digits_at.first() {
            None => ErrorKind::UnexpectedEof,
            Some(_) => ErrorKind::MissingDigits,
        };
        PErr::at(kind, digits_at)
    })?;
    if digits.len() > 1 && digits[0] == b'0' {
        return Err(PErr::at(ErrorKind::LeadingZero, digits_at));
    }
    if neg.is_some() && digits == b"0" {
        return Err(PErr::at(ErrorKind::NegativeZero, input));
    }
    let value = parse_signed(digits, neg.is_some())
        .ok_or_else(|| PErr::at(ErrorKind::Overflow, digits_at))?;
    let (rest, _) = ch('e').parse(rest)?;
    Ok((rest, value))
}

fn parse_unsigned(digits: &[u8]) -> Option<usize> {
    digits.iter().try_fold(0usize, |acc, d| {
        acc.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}

fn parse_signed(digits: &[u8], negative: bool) -> Option<i64> {
    // Accumulate towards the sign so that i64::MIN parses.
    digits.iter().try_fold(0i64, |acc, d| {
        let d = i64::from(d - b'0');
        let acc = acc.checked_mul(10)?;
        if negative {
            acc.checked_sub(d)
        } else {
            acc.checked_add(d)
        }
    })
}
