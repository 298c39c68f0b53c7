//! The BEP 10 extension handshake dictionary as a typed struct.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use monsoon_bencode::{DecodeOptions, Dict, OwnedValue};

use crate::error::WireError;
use crate::message::Message;

/// The extended message id of the extension handshake (BEP 10).
pub const EXTENDED_HANDSHAKE_ID: u8 = 0;

/// The BEP 10 extension handshake (the payload of `Extended { id: 0, .. }`).
///
/// Every field is optional on the wire. Decoding is lenient about what it
/// does not need: unknown keys are ignored, and a known key with the wrong
/// type or an out-of-range value is treated as absent (BEP 10 leaves the
/// dictionary open to extension). Only a payload that is not a bencoded
/// dictionary is an error.
///
/// ```
/// use monsoon_wire::ExtendedHandshake;
///
/// let mut hs = ExtendedHandshake::default();
/// hs.m.insert("ut_metadata".into(), 3);
/// hs.metadata_size = Some(31_235);
/// hs.reqq = Some(250);
/// let back = ExtendedHandshake::decode(&hs.encode()).unwrap();
/// assert_eq!(back, hs);
/// assert_eq!(back.extension_id("ut_metadata"), Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedHandshake {
    /// Extension names → the extended message ids the sender wants to
    /// receive them with. BEP 10: id 0 means the extension is disabled; use
    /// [`ExtendedHandshake::extension_id`] to look one up.
    pub m: BTreeMap<String, u8>,
    /// The sender's listen port.
    pub p: Option<u16>,
    /// Client name and version (UTF-8).
    pub v: Option<String>,
    /// How many outstanding requests the sender queues without dropping.
    pub reqq: Option<u32>,
    /// BEP 9: size of the info dictionary in bytes.
    pub metadata_size: Option<u64>,
    /// The receiver's IP address as the sender sees it (4 or 16 bytes).
    pub yourip: Option<IpAddr>,
    /// The sender's IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// The sender's IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// BEP 21: the sender is a partial seed that will not download.
    pub upload_only: Option<bool>,
}

impl ExtendedHandshake {
    /// The id the sender wants extension `name` sent with, if it supports
    /// it (an id of 0 means disabled and gives `None`).
    pub fn extension_id(&self, name: &str) -> Option<u8> {
        self.m.get(name).copied().filter(|&id| id != 0)
    }

    /// Canonical bencode of the dictionary (absent fields are left out).
    pub fn encode(&self) -> Bytes {
        let m = self
            .m
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), OwnedValue::Int(i64::from(*v))))
            .collect();
        let mut d = OwnedValue::dict().insert("m", OwnedValue::Dict(m));
        if let Some(p) = self.p {
            d = d.insert("p", i64::from(p).into());
        }
        if let Some(v) = &self.v {
            d = d.insert("v", v.as_str().into());
        }
        if let Some(r) = self.reqq {
            d = d.insert("reqq", i64::from(r).into());
        }
        if let Some(s) = self.metadata_size {
            // Sizes above i64::MAX cannot be bencoded; they are left out.
            if let Ok(s) = i64::try_from(s) {
                d = d.insert("metadata_size", s.into());
            }
        }
        if let Some(ip) = self.yourip {
            d = d.insert("yourip", ip_bytes(ip).into());
        }
        if let Some(ip) = self.ipv6 {
            d = d.insert("ipv6", ip.octets().to_vec().into());
        }
        if let Some(ip) = self.ipv4 {
            d = d.insert("ipv4", ip.octets().to_vec().into());
        }
        if let Some(u) = self.upload_only {
            d = d.insert("upload_only", i64::from(u).into());
        }
        Bytes::from(d.encode())
    }

    /// Decodes the dictionary (keys in any order; see the type docs for
    /// what is tolerated).
    pub fn decode(payload: &[u8]) -> Result<ExtendedHandshake, WireError> {
        let value = DecodeOptions::new().lenient().decode(payload)?;
        let dict = value.as_dict().ok_or(WireError::BadField("dictionary"))?;
        let m = dict
            .get_dict(b"m")
            .map(|m| {
                m.entries()
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = std::str::from_utf8(k).ok()?;
                        let id = u8::try_from(v.as_int()?).ok()?;
                        Some((name.to_owned(), id))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ExtendedHandshake {
            m,
            p: int(dict, b"p"),
            v: dict.get_str(b"v").map(str::to_owned),
            reqq: int(dict, b"reqq"),
            metadata_size: int(dict, b"metadata_size"),
            yourip: dict.get_bytes(b"yourip").and_then(parse_ip),
            ipv6: dict
                .get_bytes(b"ipv6")
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(Ipv6Addr::from),
            ipv4: dict
                .get_bytes(b"ipv4")
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(Ipv4Addr::from),
            upload_only: dict.get_int(b"upload_only").map(|u| u != 0),
        })
    }

    /// This handshake as an `Extended { id: 0, .. }` message, ready to send.
    pub fn to_message(&self) -> Message {
        Message::Extended {
            id: EXTENDED_HANDSHAKE_ID,
            payload: self.encode(),
        }
    }
}

fn int<T: TryFrom<i64>>(dict: &Dict<'_>, key: &[u8]) -> Option<T> {
    dict.get_int(key).and_then(|i| T::try_from(i).ok())
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        Some(IpAddr::from(a))
    } else if let Ok(a) = <[u8; 16]>::try_from(b) {
        Some(IpAddr::from(a))
    } else {
        None
    }
}
