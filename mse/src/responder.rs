//! The responder's side (B): it learns the torrent from the initiator's
//! `HASH('req2', SKEY)` through a [`SkeyLookup`] over all its torrents,
//! chooses a method, and hands on the initiator's initial payload.

use crate::dh::{KEY_LEN, PRIVATE_KEY_LEN, public_key, shared_secret};
use crate::error::{MseError, Pad, Stage};
use crate::handshake::{
    Ciphers, CryptoMethod, Entropy, Established, Exchange, MAX_PAD, Methods, VC, fill, scan,
};
use crate::keys::{Cipher, Direction, req1, req3};

/// Bytes of the encrypted header after the stream-key hash: VC,
/// `crypto_provide`, `len(PadC)`.
const HEADER_LEN: usize = 8 + 4 + 2;

/// Finds a torrent's info-hash (the stream key) from `HASH('req2', SKEY)`
/// (see [`req2`](crate::req2)). A closure `Fn(&[u8; 20]) -> Option<[u8; 20]>`
/// is one.
pub trait SkeyLookup {
    /// The info-hash whose `req2` hash is `req2`, if we have that torrent.
    fn find(&self, req2: &[u8; 20]) -> Option<[u8; 20]>;
}

impl<F: Fn(&[u8; 20]) -> Option<[u8; 20]>> SkeyLookup for F {
    fn find(&self, req2: &[u8; 20]) -> Option<[u8; 20]> {
        self(req2)
    }
}

/// The responder's handshake. See [`Exchange`] for the call order.
pub struct Responder<L> {
    lookup: L,
    allow: Methods,
    private_key: [u8; PRIVATE_KEY_LEN],
    padding: Vec<u8>,
    out: Vec<u8>,
    /// Bytes of the field being read (or the scan window).
    buf: Vec<u8>,
    received: usize,
    state: State,
}

enum State {
    /// Reading Ya.
    Key,
    /// Scanning PadA for HASH('req1', S).
    Sync {
        s: [u8; KEY_LEN],
        req1: [u8; 20],
    },
    /// Reading HASH('req2', SKEY) xor HASH('req3', S).
    Skey {
        s: [u8; KEY_LEN],
    },
    /// Reading VC, crypto_provide, len(PadC).
    Header {
        skey: [u8; 20],
        read: Cipher,
        write: Cipher,
    },
    /// Skipping PadC (`left` bytes of it), then reading len(IA).
    Pad {
        left: usize,
        hs: Chosen,
    },
    /// Reading IA.
    Payload {
        len: usize,
        hs: Chosen,
    },
    Done(Option<Established>),
    Failed(MseError),
}

/// What is settled once the header is read.
struct Chosen {
    skey: [u8; 20],
    method: CryptoMethod,
    read: Cipher,
    write: Cipher,
}

impl<L: SkeyLookup> Responder<L> {
    /// Starts a responder that accepts the methods in `allow` (choosing RC4
    /// when the initiator offers both and `allow` has it) and finds
    /// torrents through `lookup`. It sends nothing until the initiator's
    /// public key has arrived.
    ///
    /// # Errors
    /// [`MseError::NoMethod`] for an empty `allow`.
    pub fn new(lookup: L, allow: Methods, entropy: Entropy) -> Result<Self, MseError> {
        if allow.is_empty() {
            return Err(MseError::NoMethod);
        }
        Ok(Self {
            lookup,
            allow,
            private_key: entropy.private_key,
            padding: entropy.padding,
            out: Vec::new(),
            buf: Vec::with_capacity(KEY_LEN),
            received: 0,
            state: State::Key,
        })
    }

    /// One step with `input`; returns the bytes consumed.
    fn step(&mut self, input: &[u8]) -> Result<usize, MseError> {
        match std::mem::replace(&mut self.state, State::Done(None)) {
            State::Key => {
                let (n, full) = fill(&mut self.buf, KEY_LEN, input);
                self.state = State::Key;
                if full {
                    self.on_key()?;
                }
                Ok(n)
            }
            State::Sync { s, req1 } => {
                let (n, found) = scan(&mut self.buf, &req1, MAX_PAD + req1.len(), input);
                self.state = match found {
                    None => State::Sync { s, req1 },
                    Some(false) => {
                        return Err(MseError::Req1NotFound {
                            scanned: self.buf.len(),
                        });
                    }
                    Some(true) => {
                        self.buf.clear();
                        State::Skey { s }
                    }
                };
                Ok(n)
            }
            State::Skey { s } => {
                let (n, full) = fill(&mut self.buf, 20, input);
                if !full {
                    self.state = State::Skey { s };
                    return Ok(n);
                }
                let mut req2 = [0u8; 20];
                for ((r, x), y) in req2.iter_mut().zip(&self.buf).zip(req3(&s)) {
                    *r = x ^ y;
                }
                self.buf.clear();
                let skey = self
                    .lookup
                    .find(&req2)
                    .ok_or(MseError::UnknownTorrent { req2 })?;
                self.state = State::Header {
                    skey,
                    read: Cipher::new(Direction::InitiatorToResponder, &s, &skey),
                    write: Cipher::new(Direction::ResponderToInitiator, &s, &skey),
                };
                Ok(n)
            }
            State::Header {
                skey,
                mut read,
                mut write,
            } => {
                let (n, full) = fill(&mut self.buf, HEADER_LEN, input);
                if !full {
                    self.state = State::Header { skey, read, write };
                    return Ok(n);
                }
                read.apply(&mut self.buf);
                let mut vc = [0u8; 8];
                vc.copy_from_slice(&self.buf[..8]);
                let provided =
                    u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]]);
                let pad = usize::from(u16::from_be_bytes([self.buf[12], self.buf[13]]));
                self.buf.clear();
                if vc != VC {
                    return Err(MseError::BadVc { vc });
                }
                if pad > MAX_PAD {
                    return Err(MseError::PadTooLong {
                        which: Pad::C,
                        len: pad,
                    });
                }
                let method = self.allow.choose(Methods::from_bits(provided)).ok_or(
                    MseError::NoCommonMethod {
                        provided,
                        allowed: self.allow.bits(),
                    },
                )?;
                // Step 4 now: it does not depend on the initial payload.
                let start = self.out.len();
                self.out.extend_from_slice(&VC);
                self.out.extend_from_slice(&method.bit().to_be_bytes());
                self.out.extend_from_slice(&0u16.to_be_bytes()); // len(PadD): no PadD
                write.apply(&mut self.out[start..]);
                self.state = State::Pad {
                    left: pad,
                    hs: Chosen {
                        skey,
                        method,
                        read,
                        write,
                    },
                };
                Ok(n)
            }
            State::Pad { left, mut hs } => {
                if left > 0 {
                    let n = left.min(input.len());
                    let mut skip = [0u8; MAX_PAD];
                    hs.read.apply(&mut skip[..n]);
                    self.state = State::Pad { left: left - n, hs };
                    return Ok(n);
                }
                let (n, full) = fill(&mut self.buf, 2, input);
                if !full {
                    self.state = State::Pad { left, hs };
                    return Ok(n);
                }
                hs.read.apply(&mut self.buf);
                let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
                self.buf.clear();
                self.state = if len == 0 {
                    self.done(hs, Vec::new())
                } else {
                    State::Payload { len, hs }
                };
                Ok(n)
            }
            State::Payload { len, mut hs } => {
                let (n, full) = fill(&mut self.buf, len, input);
                if !full {
                    self.state = State::Payload { len, hs };
                    return Ok(n);
                }
                let mut ia = std::mem::take(&mut self.buf);
                hs.read.apply(&mut ia);
                self.state = self.done(hs, ia);
                Ok(n)
            }
            done @ State::Done(_) => {
                self.state = done;
                Ok(0)
            }
            State::Failed(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Ya is in `buf`: derive S and send step 2.
    fn on_key(&mut self) -> Result<(), MseError> {
        let mut y = [0u8; KEY_LEN];
        y.copy_from_slice(&self.buf);
        self.buf.clear();
        let s = shared_secret(&y, &self.private_key)?;
        self.out.extend_from_slice(&public_key(&self.private_key));
        self.out.append(&mut self.padding);
        self.state = State::Sync { s, req1: req1(&s) };
        Ok(())
    }

    fn done(&self, hs: Chosen, initial_payload: Vec<u8>) -> State {
        State::Done(Some(Established {
            method: hs.method,
            info_hash: hs.skey,
            initial_payload,
            ciphers: (hs.method == CryptoMethod::Rc4).then_some(Ciphers {
                read: hs.read,
                write: hs.write,
            }),
        }))
    }
}

impl<L: SkeyLookup> Exchange for Responder<L> {
    fn receive(&mut self, input: &[u8]) -> Result<usize, MseError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        let mut used = 0;
        loop {
            let stage = self.stage();
            if stage == Stage::Done {
                break;
            }
            match self.step(&input[used..]) {
                Ok(n) => {
                    used += n;
                    self.received += n;
                    // Nothing consumed and no step taken: more input is needed.
                    if n == 0 && self.stage() == stage {
                        break;
                    }
                }
                Err(e) => {
                    self.state = State::Failed(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(used)
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn take_established(&mut self) -> Option<Established> {
        match &mut self.state {
            State::Done(est) => est.take(),
            _ => None,
        }
    }

    fn stage(&self) -> Stage {
        match self.state {
            State::Key => Stage::PublicKey,
            State::Sync { .. } => Stage::Sync,
            State::Skey { .. } | State::Header { .. } => Stage::Header,
            State::Pad { .. } => Stage::Padding,
            State::Payload { .. } => Stage::InitialPayload,
            State::Done(_) | State::Failed(_) => Stage::Done,
        }
    }

    fn received(&self) -> usize {
        self.received
    }
}

impl<L> std::fmt::Debug for Responder<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("allow", &self.allow)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}
