//! Handling one received datagram: queries are rate limited and answered
//! (`ping`, `find_node`, `get_peers`, `announce_peer`; error 203 for bad
//! arguments and tokens, 204 for unknown methods), responses and errors are
//! matched to our queries by transaction id and source address (anything
//! else is ignored).

use std::net::SocketAddr;
use std::time::Instant;

use crate::compact::NodeInfo;
use crate::error::Error;
use crate::id::{NodeId, bep42_valid};
use crate::krpc::decode::query_tid;
use crate::krpc::{Body, ErrorCode, ErrorMessage, Message, Method, Query, Response, Want};
use crate::node::{Node, Pending, Purpose, Transmit, canonical, family};
use crate::table::{Insert, K};

impl Node {
    /// Handles one datagram received from `from`. Answers go to
    /// [`poll_transmit`](Self::poll_transmit). A datagram that is not
    /// valid KRPC is dropped (a query with bad arguments is answered with
    /// error 203) and its decoding error returned.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), Error> {
        let from = canonical(from);
        self.tokens.tick(&mut self.rng, now);
        if !self.enabled(family(&from)) {
            return Ok(());
        }
        let result = match Message::decode(data) {
            Ok(msg) => {
                match &msg.body {
                    Body::Query(q) => self.on_query(now, from, msg.tid, q, msg.read_only),
                    Body::Response(r) => self.on_response(now, from, msg.tid, r, msg.ip),
                    Body::Error(e) => self.on_error(now, from, msg.tid, e),
                }
                Ok(())
            }
            Err(e) => {
                self.stats.decode_errors += 1;
                if let Some(tid) = query_tid(data) {
                    if self.allow(now, from) {
                        self.send_error(from, tid, ErrorCode::Protocol, b"malformed query");
                    }
                }
                Err(e)
            }
        };
        self.advance(now);
        result
    }

    /// The rate limit (and read-only mode) for a query from `from`.
    fn allow(&mut self, now: Instant, from: SocketAddr) -> bool {
        if self.config.read_only {
            return false;
        }
        if !self.limiter.allow(from.ip(), now) {
            self.stats.rate_limited += 1;
            return false;
        }
        true
    }

    fn send_error(&mut self, to: SocketAddr, tid: &[u8], code: ErrorCode, text: &[u8]) {
        let mut msg = Message::error(tid, code, text);
        msg.version = Some(&self.config.version);
        let data = msg.encode();
        self.transmits.push_back(Transmit { to, data });
        self.stats.errors_out += 1;
    }

    fn send_response(&mut self, to: SocketAddr, tid: &[u8], r: Response<'_>) {
        let mut msg = Message::response(tid, r);
        msg.version = Some(&self.config.version);
        msg.ip = Some(to);
        let data = msg.encode();
        self.transmits.push_back(Transmit { to, data });
        self.stats.responses_out += 1;
    }

    /// Families to answer with: those in `want`, or the one the query came over.
    fn families(want: Want, from: SocketAddr) -> (bool, bool) {
        if want.given() {
            (want.v4, want.v6)
        } else {
            (from.is_ipv4(), from.is_ipv6())
        }
    }

    fn nodes_for(
        &self,
        target: &NodeId,
        (v4, v6): (bool, bool),
        now: Instant,
    ) -> (Vec<NodeInfo>, Vec<NodeInfo>) {
        let closest = |f: usize, on: bool| match (&self.tables[f], on) {
            (Some(t), true) => t.closest(target, K, now),
            _ => Vec::new(),
        };
        (closest(0, v4), closest(1, v6))
    }

    fn on_query(&mut self, now: Instant, from: SocketAddr, tid: &[u8], q: &Query<'_>, ro: bool) {
        if !self.allow(now, from) {
            return;
        }
        self.stats.queries_in += 1;
        if q.id == self.id {
            return; // ourselves, or someone using our id
        }
        let known = self.tables[family(&from)]
            .as_mut()
            .is_some_and(|t| t.heard_query(&q.id, from, now));
        let id = self.id;
        match &q.method {
            Method::Ping => self.send_response(
                from,
                tid,
                Response {
                    id,
                    ..Response::default()
                },
            ),
            Method::FindNode { target, want } => {
                let (nodes, nodes6) = self.nodes_for(target, Self::families(*want, from), now);
                let r = Response {
                    id,
                    nodes,
                    nodes6,
                    ..Response::default()
                };
                self.send_response(from, tid, r);
            }
            Method::GetPeers { info_hash, want } => {
                let fams = Self::families(*want, from);
                let (nodes, nodes6) = self.nodes_for(info_hash, fams, now);
                let max = self.config.max_values_reply;
                let values = self.store.get(info_hash, fams, max, now, &mut self.rng);
                let token = self.tokens.issue(from.ip());
                let r = Response {
                    id,
                    nodes,
                    nodes6,
                    values,
                    token: Some(&token),
                };
                self.send_response(from, tid, r);
            }
            Method::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
            } => {
                if !self.tokens.verify(token, from.ip()) {
                    self.stats.bad_tokens += 1;
                    self.send_error(from, tid, ErrorCode::Protocol, b"bad token");
                    return;
                }
                let port = if *implied_port { from.port() } else { *port };
                if port == 0 {
                    self.send_error(from, tid, ErrorCode::Protocol, b"bad port");
                    return;
                }
                let peer = SocketAddr::new(from.ip(), port);
                if self.store.insert(*info_hash, peer, now) {
                    self.stats.announces_in += 1;
                    self.send_response(
                        from,
                        tid,
                        Response {
                            id,
                            ..Response::default()
                        },
                    );
                } else {
                    self.send_error(from, tid, ErrorCode::Server, b"peer store full");
                }
            }
            Method::Unknown { .. } => {
                self.send_error(from, tid, ErrorCode::MethodUnknown, b"method unknown");
            }
        }
        if !known && !ro {
            self.maybe_verify(now, q.id, from);
        }
    }

    /// The query in flight with transaction id `tid` sent to `from`.
    fn take_pending(&mut self, tid: &[u8], from: SocketAddr) -> Option<Pending> {
        let tid = u16::from_be_bytes(tid.try_into().ok()?);
        if self.pending.get(&tid)?.to != from {
            return None;
        }
        self.pending.remove(&tid)
    }

    fn on_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        tid: &[u8],
        r: &Response<'_>,
        ip: Option<SocketAddr>,
    ) {
        let Some(p) = self.take_pending(tid, from) else {
            self.stats.unmatched += 1;
            return;
        };
        self.stats.responses_in += 1;
        let valid =
            r.id != self.id && (!self.config.enforce_node_id || bep42_valid(&r.id, from.ip()));
        if !valid {
            self.stats.invalid_ids += 1;
            self.query_failed(p, now, false);
            return;
        }
        if let Some(seen) = ip {
            self.vote(from.ip(), seen, now);
        }
        let mut ping = None;
        if let Some(t) = self.tables[family(&from)].as_mut() {
            if let Insert::Full(Some(n)) = t.insert(r.id, from, now) {
                ping = Some(n);
            }
        }
        match p.purpose {
            Purpose::Ping => {}
            Purpose::Lookup(sid) => self.lookup_response(sid, from, r),
            Purpose::Announce(sid) => self.announce_answered(sid, Some(from)),
        }
        if let Some(n) = ping {
            self.ping(now, n.addr, Some(n.id));
        }
    }

    fn on_error(&mut self, now: Instant, from: SocketAddr, tid: &[u8], _e: &ErrorMessage<'_>) {
        let Some(p) = self.take_pending(tid, from) else {
            self.stats.unmatched += 1;
            return;
        };
        self.stats.errors_in += 1;
        // It answered, so it is alive; the query itself failed.
        self.query_failed(p, now, false);
    }
}
