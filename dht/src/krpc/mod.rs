//! KRPC messages (BEP 5) with the IPv6 additions of BEP 32 (`nodes6`,
//! `want`) and BEP 42's `ip`: typed queries, responses and errors, their
//! limits, the decoder ([`Message::decode`]) and the encoder
//! ([`Message::encode`]).

pub(crate) mod decode;
mod encode;

use std::net::SocketAddr;

use crate::compact::NodeInfo;
use crate::id::NodeId;

/// Longest datagram the node reads; longer ones are dropped as
/// [`Error::PacketTooLong`](crate::Error::PacketTooLong). Real KRPC
/// messages stay under the path MTU (about 1400 bytes).
pub const MAX_PACKET_LEN: usize = 4096;
/// Longest transaction id accepted (ours are 2 bytes; BEP 5 says short).
pub const MAX_TID_LEN: usize = 16;
/// Longest token accepted from another node (libtorrent's are 4 bytes).
pub const MAX_TOKEN_LEN: usize = 64;
/// Most nodes accepted in one `nodes` or `nodes6` string (8 is usual).
pub const MAX_NODES: usize = 64;
/// Most peers accepted in one `values` list.
pub const MAX_VALUES: usize = 256;
/// Deepest nesting of lists and dictionaries accepted (a KRPC message
/// needs 3: message, arguments, `values` list).
pub const MAX_DEPTH: usize = 6;

/// The KRPC error codes of BEP 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 201: generic error.
    Generic,
    /// 202: server error.
    Server,
    /// 203: protocol error (malformed packet, invalid arguments, bad token).
    Protocol,
    /// 204: method unknown.
    MethodUnknown,
    /// Any other code.
    Other(i64),
}

impl ErrorCode {
    /// The number on the wire.
    pub fn code(self) -> i64 {
        match self {
            Self::Generic => 201,
            Self::Server => 202,
            Self::Protocol => 203,
            Self::MethodUnknown => 204,
            Self::Other(c) => c,
        }
    }

    /// The code for a number on the wire.
    pub fn from_code(c: i64) -> Self {
        match c {
            201 => Self::Generic,
            202 => Self::Server,
            203 => Self::Protocol,
            204 => Self::MethodUnknown,
            c => Self::Other(c),
        }
    }
}

/// Which address families a query asks nodes of (BEP 32 `want`). Neither
/// set means the key was absent: answer with the family the query came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Want {
    /// `n4`: IPv4 nodes.
    pub v4: bool,
    /// `n6`: IPv6 nodes.
    pub v6: bool,
}

impl Want {
    /// Whether the key was present at all.
    pub fn given(&self) -> bool {
        self.v4 || self.v6
    }
}

/// A query's method and its arguments (the sender's id is in [`Query`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method<'a> {
    /// `ping`.
    Ping,
    /// `find_node`: the nodes closest to `target`.
    FindNode {
        /// The id looked for.
        target: NodeId,
        /// BEP 32 families wanted.
        want: Want,
    },
    /// `get_peers`: peers for `info_hash`, or the closest nodes, and a token.
    GetPeers {
        /// The torrent.
        info_hash: NodeId,
        /// BEP 32 families wanted.
        want: Want,
    },
    /// `announce_peer`: the sender is a peer of `info_hash`.
    AnnouncePeer {
        /// The torrent.
        info_hash: NodeId,
        /// The peer's port (ignored when `implied_port`).
        port: u16,
        /// Use the UDP source port instead of `port` (peers behind NAT).
        implied_port: bool,
        /// The token from an earlier `get_peers` response.
        token: &'a [u8],
    },
    /// A method this node does not know (answered with error 204).
    Unknown {
        /// The `q` value.
        name: &'a [u8],
    },
}

impl Method<'_> {
    /// The `q` value.
    pub fn name(&self) -> &[u8] {
        match self {
            Self::Ping => b"ping",
            Self::FindNode { .. } => b"find_node",
            Self::GetPeers { .. } => b"get_peers",
            Self::AnnouncePeer { .. } => b"announce_peer",
            Self::Unknown { name } => name,
        }
    }
}

/// A query: who asks, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<'a> {
    /// The querying node's id.
    pub id: NodeId,
    /// The method and its arguments.
    pub method: Method<'a>,
}

/// A response. Which keys are present depends on the query it answers
/// (matched by transaction id): every response has `id`; `find_node` and
/// `get_peers` add nodes; `get_peers` adds a token and maybe values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response<'a> {
    /// The responding node's id.
    pub id: NodeId,
    /// `nodes`: IPv4 nodes (BEP 5).
    pub nodes: Vec<NodeInfo>,
    /// `nodes6`: IPv6 nodes (BEP 32).
    pub nodes6: Vec<NodeInfo>,
    /// `values`: peers of the info-hash (IPv4 and IPv6 compact strings).
    pub values: Vec<SocketAddr>,
    /// `token`, for a later `announce_peer`.
    pub token: Option<&'a [u8]>,
}

/// An error message (`y` = `e`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage<'a> {
    /// Its code.
    pub code: ErrorCode,
    /// Its text (not necessarily UTF-8).
    pub message: &'a [u8],
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// `y` = `q`.
    Query(Query<'a>),
    /// `y` = `r`.
    Response(Response<'a>),
    /// `y` = `e`.
    Error(ErrorMessage<'a>),
}

/// One KRPC message, borrowing from the datagram it was decoded from.
///
/// ```
/// use monsoon_dht::{Body, Message, Method, NodeId, Query};
///
/// let ping = Message::query(b"aa", NodeId([1; 20]), Method::Ping);
/// let bytes = ping.encode();
/// assert!(bytes.starts_with(b"d1:ad2:id20:"));
/// let back = Message::decode(&bytes).unwrap();
/// assert_eq!(back, ping);
/// assert!(matches!(back.body, Body::Query(Query { method: Method::Ping, .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// `t`: the transaction id, echoed in the answer.
    pub tid: &'a [u8],
    /// The query, response or error.
    pub body: Body<'a>,
    /// `v`: the sender's client and version, if given.
    pub version: Option<&'a [u8]>,
    /// `ro` = 1: the sender is read-only (BEP 43) and must not be added to
    /// routing tables.
    pub read_only: bool,
    /// `ip`: in a response, the address the responder saw the query come
    /// from (BEP 42), i.e. our external address.
    pub ip: Option<SocketAddr>,
}

impl<'a> Message<'a> {
    /// A query with no version, not read-only.
    pub fn query(tid: &'a [u8], id: NodeId, method: Method<'a>) -> Self {
        Message {
            tid,
            body: Body::Query(Query { id, method }),
            version: None,
            read_only: false,
            ip: None,
        }
    }

    /// A response.
    pub fn response(tid: &'a [u8], response: Response<'a>) -> Self {
        Message {
            tid,
            body: Body::Response(response),
            version: None,
            read_only: false,
            ip: None,
        }
    }

    /// An error message.
    pub fn error(tid: &'a [u8], code: ErrorCode, message: &'a [u8]) -> Self {
        Message {
            tid,
            body: Body::Error(ErrorMessage { code, message }),
            version: None,
            read_only: false,
            ip: None,
        }
    }
}
