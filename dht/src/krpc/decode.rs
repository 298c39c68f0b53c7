//! Decoding KRPC messages from a datagram, with the limits of the parent
//! module: every malformed input is a typed [`Error`] naming the key.

use monsoon_bencode::{DecodeOptions, Dict, Value};

use super::{
    Body, ErrorCode, ErrorMessage, MAX_DEPTH, MAX_NODES, MAX_PACKET_LEN, MAX_TID_LEN,
    MAX_TOKEN_LEN, MAX_VALUES, Message, Method, Query, Response, Want,
};
use crate::compact::{NODE_V4_LEN, NODE_V6_LEN, NodeInfo, addr_from, nodes_from};
use crate::error::Error;
use crate::id::NodeId;

/// Lenient about key order (some clients do not sort), strict about
/// everything else, and bounded by the packet limits.
const OPTIONS: DecodeOptions = DecodeOptions::new()
    .lenient()
    .max_depth(MAX_DEPTH)
    .max_input(MAX_PACKET_LEN)
    .max_string(MAX_PACKET_LEN);

fn wrong(key: &'static str, expected: &'static str) -> Error {
    Error::WrongType { key, expected }
}

fn opt_bytes<'a>(d: &Dict<'a>, key: &'static str) -> Result<Option<&'a [u8]>, Error> {
    match d.get(key.as_bytes()) {
        None => Ok(None),
        Some(Value::Bytes(b)) => Ok(Some(b)),
        Some(_) => Err(wrong(key, "a byte string")),
    }
}

fn bytes<'a>(d: &Dict<'a>, key: &'static str) -> Result<&'a [u8], Error> {
    opt_bytes(d, key)?.ok_or(Error::MissingKey { key })
}

fn opt_int(d: &Dict<'_>, key: &'static str) -> Result<Option<i64>, Error> {
    match d.get(key.as_bytes()) {
        None => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i)),
        Some(_) => Err(wrong(key, "an integer")),
    }
}

fn dict<'v, 'a>(d: &'v Dict<'a>, key: &'static str) -> Result<&'v Dict<'a>, Error> {
    match d.get(key.as_bytes()) {
        None => Err(Error::MissingKey { key }),
        Some(Value::Dict(inner)) => Ok(inner),
        Some(_) => Err(wrong(key, "a dictionary")),
    }
}

fn bounded<'a>(
    b: &'a [u8],
    key: &'static str,
    max: usize,
    what: &'static str,
) -> Result<&'a [u8], Error> {
    if b.len() > max {
        return Err(Error::WrongLength {
            key,
            len: b.len(),
            expected: what,
        });
    }
    Ok(b)
}

fn id20(d: &Dict<'_>, key: &'static str) -> Result<NodeId, Error> {
    let b = bytes(d, key)?;
    let arr: [u8; 20] = b.try_into().map_err(|_| Error::WrongLength {
        key,
        len: b.len(),
        expected: "20",
    })?;
    Ok(NodeId(arr))
}

fn want(d: &Dict<'_>) -> Result<Want, Error> {
    let mut w = Want::default();
    match d.get(b"want") {
        None => {}
        Some(Value::List(items)) => {
            if items.len() > 8 {
                return Err(Error::TooMany {
                    key: "want",
                    count: items.len(),
                    max: 8,
                });
            }
            for item in items {
                match item.as_bytes() {
                    Some(b"n4") => w.v4 = true,
                    Some(b"n6") => w.v6 = true,
                    Some(_) => {} // other families: ignored
                    None => return Err(wrong("want", "a list of byte strings")),
                }
            }
        }
        Some(_) => return Err(wrong("want", "a list")),
    }
    Ok(w)
}

fn port(value: i64, key: &'static str, allow_zero: bool) -> Result<u16, Error> {
    match u16::try_from(value) {
        Ok(p) if p != 0 || allow_zero => Ok(p),
        _ => Err(Error::BadPort { key, value }),
    }
}

fn nodes(d: &Dict<'_>, key: &'static str, entry: usize) -> Result<Vec<NodeInfo>, Error> {
    let Some(b) = opt_bytes(d, key)? else {
        return Ok(Vec::new());
    };
    if b.len() % entry != 0 {
        return Err(Error::WrongLength {
            key,
            len: b.len(),
            expected: if entry == NODE_V4_LEN {
                "a multiple of 26"
            } else {
                "a multiple of 38"
            },
        });
    }
    let count = b.len() / entry;
    if count > MAX_NODES {
        return Err(Error::TooMany {
            key,
            count,
            max: MAX_NODES,
        });
    }
    Ok(nodes_from(b, entry).collect())
}

fn values(d: &Dict<'_>) -> Result<Vec<std::net::SocketAddr>, Error> {
    let items = match d.get(b"values") {
        None => return Ok(Vec::new()),
        Some(Value::List(items)) => items,
        Some(_) => return Err(wrong("values", "a list")),
    };
    if items.len() > MAX_VALUES {
        return Err(Error::TooMany {
            key: "values",
            count: items.len(),
            max: MAX_VALUES,
        });
    }
    items
        .iter()
        .map(|v| {
            let b = v
                .as_bytes()
                .ok_or(wrong("values", "a list of byte strings"))?;
            addr_from(b).ok_or(Error::WrongLength {
                key: "values",
                len: b.len(),
                expected: "6 or 18",
            })
        })
        .collect()
}

fn query<'a>(d: &Dict<'a>) -> Result<Query<'a>, Error> {
    let name = bytes(d, "q")?;
    let a = dict(d, "a")?;
    let id = id20(a, "id")?;
    let method = match name {
        b"ping" => Method::Ping,
        b"find_node" => Method::FindNode {
            target: id20(a, "target")?,
            want: want(a)?,
        },
        b"get_peers" => Method::GetPeers {
            info_hash: id20(a, "info_hash")?,
            want: want(a)?,
        },
        b"announce_peer" => {
            let implied_port = opt_int(a, "implied_port")?.is_some_and(|v| v != 0);
            let port = match opt_int(a, "port")? {
                Some(v) => port(v, "port", implied_port)?,
                None if implied_port => 0,
                None => return Err(Error::MissingKey { key: "port" }),
            };
            Method::AnnouncePeer {
                info_hash: id20(a, "info_hash")?,
                port,
                implied_port,
                token: bounded(bytes(a, "token")?, "token", MAX_TOKEN_LEN, "at most 64")?,
            }
        }
        other => Method::Unknown { name: other },
    };
    Ok(Query { id, method })
}

fn response<'a>(d: &Dict<'a>) -> Result<Response<'a>, Error> {
    let r = dict(d, "r")?;
    Ok(Response {
        id: id20(r, "id")?,
        nodes: nodes(r, "nodes", NODE_V4_LEN)?,
        nodes6: nodes(r, "nodes6", NODE_V6_LEN)?,
        values: values(r)?,
        token: opt_bytes(r, "token")?
            .map(|t| bounded(t, "token", MAX_TOKEN_LEN, "at most 64"))
            .transpose()?,
    })
}

fn error<'a>(d: &Dict<'a>) -> Result<ErrorMessage<'a>, Error> {
    let items = match d.get(b"e") {
        None => return Err(Error::MissingKey { key: "e" }),
        Some(Value::List(items)) => items,
        Some(_) => return Err(wrong("e", "a list")),
    };
    let code = items
        .first()
        .and_then(Value::as_int)
        .ok_or(wrong("e", "a list starting with an integer"))?;
    let message = match items.get(1) {
        None => &[][..],
        Some(Value::Bytes(b)) => b,
        Some(_) => return Err(wrong("e", "[code, message string]")),
    };
    if items.len() > 2 {
        return Err(Error::TooMany {
            key: "e",
            count: items.len(),
            max: 2,
        });
    }
    Ok(ErrorMessage {
        code: ErrorCode::from_code(code),
        message,
    })
}

impl<'a> Message<'a> {
    /// Decodes one datagram.
    pub fn decode(data: &'a [u8]) -> Result<Message<'a>, Error> {
        if data.len() > MAX_PACKET_LEN {
            return Err(Error::PacketTooLong {
                len: data.len(),
                max: MAX_PACKET_LEN,
            });
        }
        let v = OPTIONS.decode(data)?;
        let d = v.as_dict().ok_or(Error::NotADict)?;
        let tid = bounded(bytes(d, "t")?, "t", MAX_TID_LEN, "at most 16")?;
        let ip = match opt_bytes(d, "ip")? {
            None => None,
            Some(b) => Some(addr_from(b).ok_or(Error::WrongLength {
                key: "ip",
                len: b.len(),
                expected: "6 or 18",
            })?),
        };
        let version = opt_bytes(d, "v")?;
        let read_only = opt_int(d, "ro")?.is_some_and(|v| v == 1);
        let body = match bytes(d, "y")? {
            b"q" => Body::Query(query(d)?),
            b"r" => Body::Response(response(d)?),
            b"e" => Body::Error(error(d)?),
            other => {
                let shown = &other[..other.len().min(16)];
                return Err(Error::UnknownType(
                    String::from_utf8_lossy(shown).into_owned(),
                ));
            }
        };
        Ok(Message {
            tid,
            body,
            version,
            read_only,
            ip,
        })
    }
}

/// The transaction id of a datagram that claims to be a query, even when
/// its arguments are malformed: enough to answer it with error 203.
pub(crate) fn query_tid(data: &[u8]) -> Option<&[u8]> {
    let v = OPTIONS.decode(data).ok()?;
    let d = v.as_dict()?;
    if d.get_bytes(b"y")? != b"q" {
        return None;
    }
    d.get_bytes(b"t").filter(|t| t.len() <= MAX_TID_LEN)
}
