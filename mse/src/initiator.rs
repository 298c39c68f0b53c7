//! The initiator's side (A): it knows the torrent, offers methods and sends
//! the initial payload (the BitTorrent handshake) inside step 3.
//!
//! ```text
//! 1 A->B: Ya, PadA
//! 2 B->A: Yb, PadB
//! 3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//!         ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//! 4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
//! ```

use crate::dh::{KEY_LEN, public_key, shared_secret};
use crate::error::{MseError, Pad, Stage};
use crate::handshake::{
    Ciphers, CryptoMethod, Entropy, Established, Exchange, MAX_PAD, Methods, VC, fill, scan,
};
use crate::keys::{Cipher, Direction, req1, req2, req3};

/// Bytes after the crypto header's VC: `crypto_select` and `len(PadD)`.
const SELECT_LEN: usize = 4 + 2;

/// The initiator's handshake. See [`Exchange`] for the call order.
#[derive(Debug)]
pub struct Initiator {
    skey: [u8; 20],
    offer: Methods,
    private_key: [u8; crate::dh::PRIVATE_KEY_LEN],
    initial_payload: Vec<u8>,
    out: Vec<u8>,
    /// Bytes of the field being read (or the scan window).
    buf: Vec<u8>,
    received: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Reading Yb.
    Key,
    /// Scanning PadB for ENCRYPT(VC).
    Sync {
        vc: [u8; 8],
        read: Cipher,
        write: Cipher,
    },
    /// Reading crypto_select and len(PadD).
    Select {
        read: Cipher,
        write: Cipher,
    },
    /// Skipping PadD.
    Pad {
        left: usize,
        method: CryptoMethod,
        read: Cipher,
        write: Cipher,
    },
    /// Established; the result not taken yet (`None`: taken).
    Done(Option<Established>),
    Failed(MseError),
}

impl Initiator {
    /// Starts a handshake for the torrent `info_hash`, offering `offer`
    /// and carrying `initial_payload` (the BitTorrent handshake, usually)
    /// in step 3. Step 1 is ready in [`take_output`](Exchange::take_output).
    ///
    /// # Errors
    /// [`MseError::NoMethod`] for an empty offer;
    /// [`MseError::PayloadTooLong`] for more than 65535 bytes of payload.
    pub fn new(
        info_hash: [u8; 20],
        offer: Methods,
        initial_payload: &[u8],
        entropy: Entropy,
    ) -> Result<Self, MseError> {
        if offer.is_empty() {
            return Err(MseError::NoMethod);
        }
        if initial_payload.len() > usize::from(u16::MAX) {
            return Err(MseError::PayloadTooLong {
                len: initial_payload.len(),
            });
        }
        let mut out = Vec::with_capacity(KEY_LEN + entropy.padding.len());
        out.extend_from_slice(&public_key(&entropy.private_key));
        out.extend_from_slice(&entropy.padding);
        Ok(Self {
            skey: info_hash,
            offer,
            private_key: entropy.private_key,
            initial_payload: initial_payload.to_vec(),
            out,
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
            State::Sync {
                vc,
                mut read,
                write,
            } => {
                let (n, found) = scan(&mut self.buf, &vc, MAX_PAD + VC.len(), input);
                self.state = match found {
                    None => State::Sync { vc, read, write },
                    Some(false) => {
                        return Err(MseError::VcNotFound {
                            scanned: self.buf.len(),
                        });
                    }
                    Some(true) => {
                        // The VC is the first 8 bytes of the stream.
                        read.apply(&mut [0u8; 8]);
                        self.buf.clear();
                        State::Select { read, write }
                    }
                };
                Ok(n)
            }
            State::Select { mut read, write } => {
                let (n, full) = fill(&mut self.buf, SELECT_LEN, input);
                if !full {
                    self.state = State::Select { read, write };
                    return Ok(n);
                }
                read.apply(&mut self.buf);
                let selected =
                    u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                let pad = usize::from(u16::from_be_bytes([self.buf[4], self.buf[5]]));
                self.buf.clear();
                let method = CryptoMethod::from_select(selected)
                    .filter(|m| self.offer.contains(*m))
                    .ok_or(MseError::NotOffered {
                        selected,
                        offered: self.offer.bits(),
                    })?;
                if pad > MAX_PAD {
                    return Err(MseError::PadTooLong {
                        which: Pad::D,
                        len: pad,
                    });
                }
                self.state = State::Pad {
                    left: pad,
                    method,
                    read,
                    write,
                };
                self.finish_if_padded();
                Ok(n)
            }
            State::Pad {
                left,
                method,
                mut read,
                write,
            } => {
                let n = left.min(input.len());
                let mut skip = [0u8; MAX_PAD];
                read.apply(&mut skip[..n]);
                self.state = State::Pad {
                    left: left - n,
                    method,
                    read,
                    write,
                };
                self.finish_if_padded();
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

    /// Yb is in `buf`: derive the keys and send step 3.
    fn on_key(&mut self) -> Result<(), MseError> {
        let mut y = [0u8; KEY_LEN];
        y.copy_from_slice(&self.buf);
        self.buf.clear();
        let s = shared_secret(&y, &self.private_key)?;
        let mut write = Cipher::new(Direction::InitiatorToResponder, &s, &self.skey);
        let read = Cipher::new(Direction::ResponderToInitiator, &s, &self.skey);
        let mut vc = VC;
        Cipher::new(Direction::ResponderToInitiator, &s, &self.skey).apply(&mut vc);

        self.out.extend_from_slice(&req1(&s));
        let r2 = req2(&self.skey);
        let r3 = req3(&s);
        self.out.extend(r2.iter().zip(r3).map(|(a, b)| a ^ b));
        let start = self.out.len();
        self.out.extend_from_slice(&VC);
        self.out.extend_from_slice(&self.offer.bits().to_be_bytes());
        self.out.extend_from_slice(&0u16.to_be_bytes()); // len(PadC): no PadC
        let ia_len = u16::try_from(self.initial_payload.len()).unwrap_or(u16::MAX);
        self.out.extend_from_slice(&ia_len.to_be_bytes());
        self.out.extend_from_slice(&self.initial_payload);
        write.apply(&mut self.out[start..]);
        self.initial_payload = Vec::new();
        self.state = State::Sync { vc, read, write };
        Ok(())
    }

    fn finish_if_padded(&mut self) {
        if let State::Pad { left: 0, .. } = self.state {
            let State::Pad {
                method,
                read,
                write,
                ..
            } = std::mem::replace(&mut self.state, State::Done(None))
            else {
                return;
            };
            self.state = State::Done(Some(Established {
                method,
                info_hash: self.skey,
                initial_payload: Vec::new(),
                ciphers: (method == CryptoMethod::Rc4).then_some(Ciphers { read, write }),
            }));
        }
    }
}

impl Exchange for Initiator {
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
                    // A step that consumed nothing and did not move on needs more input.
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
            State::Select { .. } => Stage::Header,
            State::Pad { .. } => Stage::Padding,
            State::Done(_) | State::Failed(_) => Stage::Done,
        }
    }

    fn received(&self) -> usize {
        self.received
    }
}
