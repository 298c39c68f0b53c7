//! Encoding KRPC messages: canonical bencode written straight into a
//! buffer, dictionary keys in sorted order.

use monsoon_bencode::{encode_bytes, encode_int};

use super::{Body, Message, Method, Response, Want};
use crate::compact::{NodeInfo, put_addr, put_node};

fn key(out: &mut Vec<u8>, k: &str) {
    encode_bytes(k.as_bytes(), out);
}

fn want(out: &mut Vec<u8>, w: Want) {
    if !w.given() {
        return;
    }
    key(out, "want");
    out.push(b'l');
    if w.v4 {
        encode_bytes(b"n4", out);
    }
    if w.v6 {
        encode_bytes(b"n6", out);
    }
    out.push(b'e');
}

fn node_list(out: &mut Vec<u8>, k: &str, nodes: &[NodeInfo], entry: usize) {
    if nodes.is_empty() {
        return;
    }
    key(out, k);
    out.extend_from_slice((nodes.len() * entry).to_string().as_bytes());
    out.push(b':');
    for n in nodes {
        put_node(out, n);
    }
}

fn args(out: &mut Vec<u8>, id: &[u8; 20], method: &Method<'_>) {
    out.push(b'd');
    key(out, "id");
    encode_bytes(id, out);
    match method {
        Method::Ping | Method::Unknown { .. } => {}
        Method::FindNode { target, want: w } => {
            key(out, "target");
            encode_bytes(&target.0, out);
            want(out, *w);
        }
        Method::GetPeers { info_hash, want: w } => {
            key(out, "info_hash");
            encode_bytes(&info_hash.0, out);
            want(out, *w);
        }
        Method::AnnouncePeer {
            info_hash,
            port,
            implied_port,
            token,
        } => {
            if *implied_port {
                key(out, "implied_port");
                encode_int(1, out);
            }
            key(out, "info_hash");
            encode_bytes(&info_hash.0, out);
            key(out, "port");
            encode_int(i64::from(*port), out);
            key(out, "token");
            encode_bytes(token, out);
        }
    }
    out.push(b'e');
}

fn response(out: &mut Vec<u8>, r: &Response<'_>) {
    out.push(b'd');
    key(out, "id");
    encode_bytes(&r.id.0, out);
    node_list(out, "nodes", &r.nodes, crate::compact::NODE_V4_LEN);
    node_list(out, "nodes6", &r.nodes6, crate::compact::NODE_V6_LEN);
    if let Some(t) = r.token {
        key(out, "token");
        encode_bytes(t, out);
    }
    if !r.values.is_empty() {
        key(out, "values");
        out.push(b'l');
        let mut buf = Vec::with_capacity(18);
        for v in &r.values {
            buf.clear();
            put_addr(&mut buf, v);
            encode_bytes(&buf, out);
        }
        out.push(b'e');
    }
    out.push(b'e');
}

impl Message<'_> {
    /// The message as canonical bencode.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.encode_to(&mut out);
        out
    }

    /// Appends the message as canonical bencode to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(b'd');
        if let Body::Query(q) = &self.body {
            key(out, "a");
            args(out, &q.id.0, &q.method);
        }
        if let Body::Error(e) = &self.body {
            key(out, "e");
            out.push(b'l');
            encode_int(e.code.code(), out);
            encode_bytes(e.message, out);
            out.push(b'e');
        }
        if let Some(ip) = &self.ip {
            key(out, "ip");
            let mut buf = Vec::with_capacity(18);
            put_addr(&mut buf, ip);
            encode_bytes(&buf, out);
        }
        if let Body::Query(q) = &self.body {
            key(out, "q");
            encode_bytes(q.method.name(), out);
        }
        if let Body::Response(r) = &self.body {
            key(out, "r");
            response(out, r);
        }
        if self.read_only {
            key(out, "ro");
            encode_int(1, out);
        }
        key(out, "t");
        encode_bytes(self.tid, out);
        if let Some(v) = self.version {
            key(out, "v");
            encode_bytes(v, out);
        }
        key(out, "y");
        encode_bytes(
            match self.body {
                Body::Query(_) => b"q",
                Body::Response(_) => b"r",
                Body::Error(_) => b"e",
            },
            out,
        );
        out.push(b'e');
    }
}
