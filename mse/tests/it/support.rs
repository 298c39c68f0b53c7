//! Test support: fixed entropy, running both roles against each other, and
//! hand-made peers built from the crate's primitives, for bytes our own
//! roles never send (PadC, PadD, a `crypto_select` we did not offer).

use monsoon_mse::{
    Cipher, Direction, Entropy, Established, Exchange, Initiator, Methods, MseError, Responder, VC,
    public_key, req1, req2, req3, shared_secret,
};

pub(crate) const INFO_HASH: [u8; 20] = [0x3c; 20];

/// A private key made from `seed`.
pub(crate) fn key(seed: u8) -> [u8; 20] {
    let mut key = [0u8; 20];
    for (i, b) in key.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8 * 7) | 1;
    }
    key
}

/// Padding bytes made from `seed`.
pub(crate) fn padding(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(3))
        .collect()
}

/// Entropy with `key(seed)` and `len` padding bytes.
pub(crate) fn entropy(seed: u8, len: usize) -> Entropy {
    Entropy::new(key(seed), padding(seed, len)).unwrap()
}

pub(crate) type Lookup = fn(&[u8; 20]) -> Option<[u8; 20]>;

/// A lookup that knows `INFO_HASH` only.
pub(crate) fn lookup(h: &[u8; 20]) -> Option<[u8; 20]> {
    (*h == req2(&INFO_HASH)).then_some(INFO_HASH)
}

pub(crate) fn responder(allow: Methods, e: Entropy) -> Responder<Lookup> {
    Responder::new(lookup as Lookup, allow, e).unwrap()
}

pub(crate) fn initiator(offer: Methods, payload: &[u8], e: Entropy) -> Initiator {
    Initiator::new(INFO_HASH, offer, payload, e).unwrap()
}

/// Runs both roles until both are established (bounded); returns the
/// results and every byte each sent.
pub(crate) fn run(
    a: &mut impl Exchange,
    b: &mut impl Exchange,
) -> Result<(Established, Established, Vec<u8>, Vec<u8>), MseError> {
    let (mut a_sent, mut b_sent) = (Vec::new(), Vec::new());
    let (mut a_done, mut b_done) = (None, None);
    for _ in 0..10 {
        let out = a.take_output();
        a_sent.extend_from_slice(&out);
        assert_eq!(
            b.receive(&out)?,
            out.len(),
            "b consumed less than a's handshake"
        );
        let out = b.take_output();
        b_sent.extend_from_slice(&out);
        assert_eq!(
            a.receive(&out)?,
            out.len(),
            "a consumed less than b's handshake"
        );
        a_done = a_done.or_else(|| a.take_established());
        b_done = b_done.or_else(|| b.take_established());
        if a_done.is_some() && b_done.is_some() {
            break;
        }
    }
    Ok((
        a_done.expect("initiator established"),
        b_done.expect("responder established"),
        a_sent,
        b_sent,
    ))
}

/// The responder's answer to an initiator, made by hand: `Yb, PadB`, then
/// `ENCRYPT(VC, crypto_select, len(PadD), PadD)` — whatever it offered.
pub(crate) fn hand_responder_bytes(
    initiator_step1: &[u8],
    xb: &[u8; 20],
    pad_b: &[u8],
    select: u32,
    pad_d: &[u8],
) -> Vec<u8> {
    let mut ya = [0u8; 96];
    ya.copy_from_slice(&initiator_step1[..96]);
    let s = shared_secret(&ya, xb).unwrap();
    let mut out = public_key(xb).to_vec();
    out.extend_from_slice(pad_b);
    let mut enc = VC.to_vec();
    enc.extend_from_slice(&select.to_be_bytes());
    enc.extend_from_slice(&(pad_d.len() as u16).to_be_bytes());
    enc.extend_from_slice(pad_d);
    Cipher::new(Direction::ResponderToInitiator, &s, &INFO_HASH).apply(&mut enc);
    out.extend_from_slice(&enc);
    out
}

/// An initiator made by hand, for any `crypto_provide`, PadC and VC.
pub(crate) struct HandInitiator {
    pub(crate) xa: [u8; 20],
    pub(crate) pad_a: Vec<u8>,
    pub(crate) provide: u32,
    pub(crate) pad_c: Vec<u8>,
    pub(crate) ia: Vec<u8>,
    pub(crate) vc: [u8; 8],
}

impl HandInitiator {
    pub(crate) fn new(seed: u8) -> Self {
        Self {
            xa: key(seed),
            pad_a: padding(seed, 40),
            provide: 0x03,
            pad_c: Vec::new(),
            ia: b"initial payload".to_vec(),
            vc: VC,
        }
    }

    /// Step 1: `Ya, PadA`.
    pub(crate) fn step1(&self) -> Vec<u8> {
        let mut out = public_key(&self.xa).to_vec();
        out.extend_from_slice(&self.pad_a);
        out
    }

    /// Step 3, given the responder's step 2; and the cipher to continue
    /// encrypting with.
    pub(crate) fn step3(&self, step2: &[u8]) -> (Vec<u8>, Cipher) {
        let mut yb = [0u8; 96];
        yb.copy_from_slice(&step2[..96]);
        let s = shared_secret(&yb, &self.xa).unwrap();
        let mut out = req1(&s).to_vec();
        out.extend(req2(&INFO_HASH).iter().zip(req3(&s)).map(|(a, b)| a ^ b));
        let mut enc = self.vc.to_vec();
        enc.extend_from_slice(&self.provide.to_be_bytes());
        enc.extend_from_slice(&(self.pad_c.len() as u16).to_be_bytes());
        enc.extend_from_slice(&self.pad_c);
        enc.extend_from_slice(&(self.ia.len() as u16).to_be_bytes());
        enc.extend_from_slice(&self.ia);
        let mut cipher = Cipher::new(Direction::InitiatorToResponder, &s, &INFO_HASH);
        cipher.apply(&mut enc);
        out.extend_from_slice(&enc);
        (out, cipher)
    }

    /// Drives `b` through a whole handshake; returns its result, or its error.
    pub(crate) fn against(&self, b: &mut impl Exchange) -> Result<Established, MseError> {
        b.receive(&self.step1())?;
        let step2 = b.take_output();
        let (step3, _) = self.step3(&step2);
        assert_eq!(b.receive(&step3)?, step3.len());
        Ok(b.take_established().expect("established"))
    }
}
