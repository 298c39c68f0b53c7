//! BEP 12 multi-tracker tiers as a small state machine, with no I/O:
//! tiers shuffled once, tried in order, a tracker that answers moved to the
//! front of its tier.
//!
//! Call order: [`Tiers::new`] once, then for each announce walk
//! [`Tiers::order`] and try each position; on the first success call
//! [`Tiers::on_success`] and stop; on failure go on to the next position
//! (which falls through to the next tier when a tier is exhausted).

/// A deterministic pseudo-random generator (SplitMix64), enough for
/// shuffling tiers and picking transaction ids; not for secrets.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        // n is at most usize::MAX; the modulo bias is irrelevant here.
        (self.next_u64() % n as u64) as usize
    }
}

/// Where a tracker sits: its tier and its index inside the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TierPos {
    /// Tier index (0 is tried first).
    pub tier: usize,
    /// Index inside the tier.
    pub index: usize,
}

/// Trackers (of any type `T`) grouped in tiers.
#[derive(Debug, Clone)]
pub struct Tiers<T> {
    tiers: Vec<Vec<T>>,
}

impl<T> Tiers<T> {
    /// Shuffles each tier with a generator seeded by `seed` and drops empty
    /// tiers.
    pub fn new(tiers: Vec<Vec<T>>, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let tiers = tiers
            .into_iter()
            .filter(|t| !t.is_empty())
            .map(|mut t| {
                for i in (1..t.len()).rev() {
                    let j = rng.below(i + 1);
                    t.swap(i, j);
                }
                t
            })
            .collect();
        Self { tiers }
    }

    /// The tiers in their current order.
    pub fn tiers(&self) -> &[Vec<T>] {
        &self.tiers
    }

    /// Whether there is no tracker at all.
    pub fn is_empty(&self) -> bool {
        self.tiers.is_empty()
    }

    /// Total number of trackers.
    pub fn len(&self) -> usize {
        self.tiers.iter().map(Vec::len).sum()
    }

    /// Every position in the order to try them: tier by tier, front first.
    pub fn order(&self) -> Vec<TierPos> {
        self.tiers
            .iter()
            .enumerate()
            .flat_map(|(tier, t)| (0..t.len()).map(move |index| TierPos { tier, index }))
            .collect()
    }

    /// The tracker at `pos`.
    pub fn get(&self, pos: TierPos) -> Option<&T> {
        self.tiers.get(pos.tier)?.get(pos.index)
    }

    /// The tracker at `pos`, mutably.
    pub fn get_mut(&mut self, pos: TierPos) -> Option<&mut T> {
        self.tiers.get_mut(pos.tier)?.get_mut(pos.index)
    }

    /// Every tracker with its position, mutably (for announcing to all).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (TierPos, &mut T)> {
        self.tiers.iter_mut().enumerate().flat_map(|(tier, t)| {
            t.iter_mut()
                .enumerate()
                .map(move |(index, x)| (TierPos { tier, index }, x))
        })
    }

    /// The tracker at `pos` answered: move it to the front of its tier
    /// (the others keep their order).
    pub fn on_success(&mut self, pos: TierPos) {
        if let Some(t) = self.tiers.get_mut(pos.tier)
            && pos.index < t.len()
        {
            t[..=pos.index].rotate_right(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_seeded_and_keeps_everything() {
        let input = vec![(0..10).collect::<Vec<_>>(), vec![], vec![10, 11]];
        let a = Tiers::new(input.clone(), 1);
        let b = Tiers::new(input.clone(), 1);
        assert_eq!(a.tiers(), b.tiers());
        assert_eq!(a.tiers().len(), 2, "empty tier dropped");
        assert_eq!(a.len(), 12);
        let mut first = a.tiers()[0].clone();
        first.sort_unstable();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        // Some seed changes the order (the shuffle does something).
        assert!((0..20).any(|s| Tiers::new(input.clone(), s).tiers() != a.tiers()));
    }

    #[test]
    fn order_is_tier_by_tier() {
        let t = Tiers::new(vec![vec!["a"], vec!["b", "c"]], 0);
        let names: Vec<_> = t.order().into_iter().map(|p| *t.get(p).unwrap()).collect();
        assert_eq!(names[0], "a");
        assert_eq!(names.len(), 3);
        assert!(t.get(TierPos { tier: 5, index: 0 }).is_none());
    }

    /// Simulates announces where only some trackers answer, as the
    /// tracker list does: first success wins and is promoted.
    fn announce(t: &mut Tiers<&'static str>, up: &[&str]) -> Option<&'static str> {
        for pos in t.order() {
            let name = *t.get(pos).unwrap();
            if up.contains(&name) {
                t.on_success(pos);
                return Some(name);
            }
        }
        None
    }

    #[test]
    fn success_moves_to_front_and_failure_falls_through() {
        let mut t = Tiers::new(vec![vec!["a", "b", "c"], vec!["d", "e"]], 7);
        let tier0: Vec<_> = t.tiers()[0].clone();
        // The last of tier 0 answers: it becomes first, others keep order.
        let last = tier0[2];
        assert_eq!(announce(&mut t, &[last, "d"]), Some(last));
        assert_eq!(t.tiers()[0], [tier0[2], tier0[0], tier0[1]]);
        // Nothing in tier 0 answers: fall through to tier 1.
        let e_first = t.tiers()[1][0];
        let other = if e_first == "d" { "e" } else { "d" };
        assert_eq!(announce(&mut t, &[other]), Some(other));
        assert_eq!(t.tiers()[1][0], other);
        // The tier order itself never changes.
        assert!(t.tiers()[0].contains(&"a"));
        assert_eq!(announce(&mut t, &[]), None);
        // Out-of-range positions are ignored.
        t.on_success(TierPos { tier: 0, index: 99 });
        t.on_success(TierPos { tier: 99, index: 0 });
        assert_eq!(t.len(), 5);
    }

    #[test]
    fn rng_below_is_in_range() {
        let mut r = SplitMix64::new(42);
        for n in 1..100 {
            assert!(r.below(n) < n);
        }
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }
}
