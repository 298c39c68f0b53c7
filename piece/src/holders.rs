//! Which peers (by slot) hold each piece: a piece-major bit matrix, so the
//! per-peer counters of the peers holding a piece are updated by reading one
//! short row instead of every peer's bitfield.

/// `rows × (row_words · 64)` bits: bit `s` of row `p` is set when the peer in
/// slot `s` has piece `p` (peers with a bitfield only; seeds are not here).
#[derive(Debug, Clone)]
pub(crate) struct Holders {
    words: Vec<u64>,
    row_words: usize,
}

impl Holders {
    pub(crate) fn new(rows: u32) -> Self {
        Self {
            words: vec![0; rows as usize],
            row_words: 1,
        }
    }

    /// Makes room for slot `slot`, doubling the row width when needed
    /// (O(rows · width), amortised over the peers that joined).
    pub(crate) fn reserve_slot(&mut self, slot: usize) {
        if slot < self.row_words * 64 {
            return;
        }
        let mut width = self.row_words;
        while slot >= width * 64 {
            width *= 2;
        }
        let rows = self.words.len() / self.row_words;
        let mut words = vec![0; rows * width];
        for (new, old) in words
            .chunks_exact_mut(width)
            .zip(self.words.chunks_exact(self.row_words))
        {
            new[..old.len()].copy_from_slice(old);
        }
        self.words = words;
        self.row_words = width;
    }

    #[inline]
    pub(crate) fn set(&mut self, piece: u32, slot: usize, v: bool) {
        let i = piece as usize * self.row_words + slot / 64;
        let mask = 1u64 << (slot % 64);
        if v {
            self.words[i] |= mask;
        } else {
            self.words[i] &= !mask;
        }
    }

    #[inline]
    pub(crate) fn get(&self, piece: u32, slot: usize) -> bool {
        slot < self.row_words * 64
            && self.words[piece as usize * self.row_words + slot / 64] & (1u64 << (slot % 64)) != 0
    }

    /// Calls `f` with the slot of every peer holding `piece`.
    #[inline]
    pub(crate) fn for_each(&self, piece: u32, mut f: impl FnMut(usize)) {
        let base = piece as usize * self.row_words;
        for (k, &word) in self.words[base..base + self.row_words].iter().enumerate() {
            let mut x = word;
            while x != 0 {
                f(k * 64 + x.trailing_zeros() as usize);
                x &= x - 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_keeps_bits() {
        let mut h = Holders::new(5);
        h.set(2, 3, true);
        h.set(4, 63, true);
        h.reserve_slot(200);
        h.set(2, 130, true);
        assert!(h.get(2, 3) && h.get(4, 63) && h.get(2, 130));
        assert!(!h.get(3, 3) && !h.get(2, 1000));
        let mut seen = Vec::new();
        h.for_each(2, |s| seen.push(s));
        assert_eq!(seen, vec![3, 130]);
        h.set(2, 3, false);
        seen.clear();
        h.for_each(2, |s| seen.push(s));
        assert_eq!(seen, vec![130]);
    }
}
