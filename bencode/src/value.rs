//! The borrowed value tree the decoder produces.

use crate::owned::OwnedValue;

/// A decoded bencode value borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// An integer (`i42e`).
    Int(i64),
    /// A byte string (`4:spam`), borrowed from the input.
    Bytes(&'a [u8]),
    /// A list (`l…e`).
    List(Vec<Value<'a>>),
    /// A dictionary (`d…e`), keys in input order, with its raw span.
    Dict(Dict<'a>),
}

/// A decoded dictionary: its entries in input order and the exact input
/// bytes it was decoded from (`d` through the closing `e`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dict<'a> {
    pub(crate) entries: Vec<(&'a [u8], Value<'a>)>,
    pub(crate) raw: &'a [u8],
}

impl<'a> Dict<'a> {
    /// The exact bytes of this dictionary in the input, for hashing (the
    /// BitTorrent info-hash is the SHA-1 of the raw `info` dictionary).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The entries in input order.
    pub fn entries(&self) -> &[(&'a [u8], Value<'a>)] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dictionary has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The integer at `key`, if present and an integer.
    pub fn get_int(&self, key: &[u8]) -> Option<i64> {
        self.get(key).and_then(Value::as_int)
    }

    /// The byte string at `key`, if present and a byte string.
    pub fn get_bytes(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.get(key).and_then(Value::as_bytes)
    }

    /// The UTF-8 string at `key`, if present and valid UTF-8.
    pub fn get_str(&self, key: &[u8]) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The list at `key`, if present and a list.
    pub fn get_list(&self, key: &[u8]) -> Option<&[Value<'a>]> {
        self.get(key).and_then(Value::as_list)
    }

    /// The dictionary at `key`, if present and a dictionary.
    pub fn get_dict(&self, key: &[u8]) -> Option<&Dict<'a>> {
        self.get(key).and_then(Value::as_dict)
    }
}

impl<'a> Value<'a> {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The byte string as UTF-8, if this is a byte string holding valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The elements, if this is a list.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Self::List(l) => Some(l),
            _ => None,
        }
    }

    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<&Dict<'a>> {
        match self {
            Self::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// A copy that owns its bytes (dictionary keys become sorted).
    pub fn to_owned_value(&self) -> OwnedValue {
        match self {
            Self::Int(i) => OwnedValue::Int(*i),
            Self::Bytes(b) => OwnedValue::Bytes(b.to_vec()),
            Self::List(l) => OwnedValue::List(l.iter().map(Value::to_owned_value).collect()),
            Self::Dict(d) => OwnedValue::Dict(
                d.entries
                    .iter()
                    .map(|(k, v)| (k.to_vec(), v.to_owned_value()))
                    .collect(),
            ),
        }
    }

    /// Canonical bencode of this value (dictionary keys sorted).
    pub fn encode(&self) -> Vec<u8> {
        self.to_owned_value().encode()
    }
}
