//! The swarm bench's scenarios: which links the seeders sit behind, drawn
//! from a fixed seed so every client and every run meets the same swarm.
use std::time::Duration;

use super::link::{LinkSpec, Stall};

/// One megabyte (rates are in MB/s, as links are sold).
const MB: f64 = 1_000_000.0;

/// A swarm to download from.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Its number in the issue's list (1 to 4).
    pub(crate) number: u32,
    /// One line saying what it is.
    pub(crate) title: String,
    /// One link per seeder.
    pub(crate) links: Vec<LinkSpec>,
}

/// How big the swarms are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Seeders of scenario 1 (and the base of scenario 2).
    pub(crate) uneven: usize,
    /// Scenario 2: seeders that stall, and how long.
    pub(crate) stallers: usize,
    pub(crate) stall: Duration,
    /// Scenario 2: seeders that vanish mid-piece.
    pub(crate) vanishing: usize,
    /// Scenario 3: fast and slow seeders.
    pub(crate) fast: usize,
    pub(crate) slow: usize,
    /// Scenario 4: seeders.
    pub(crate) many: usize,
}

impl Scale {
    /// The issue's swarms.
    pub(crate) const FULL: Scale = Scale {
        uneven: 20,
        stallers: 5,
        stall: Duration::from_secs(10),
        vanishing: 3,
        fast: 2,
        slow: 30,
        many: 100,
    };
    /// Smaller swarms for a smoke run (`--quick`).
    pub(crate) const QUICK: Scale = Scale {
        uneven: 6,
        stallers: 2,
        stall: Duration::from_secs(3),
        vanishing: 1,
        fast: 1,
        slow: 8,
        many: 24,
    };
}

/// splitmix64: a fixed sequence from a seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Log-uniform in [lo, hi): as many links near 1 MB/s as near 10.
    pub(crate) fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }
}

/// A link of 10 to 200 ms round trip and `lo` to `hi` MB/s (log-uniform).
fn uneven(rng: &mut Rng, lo: f64, hi: f64) -> LinkSpec {
    let rtt = Duration::from_micros((rng.uniform(10.0, 200.0) * 1000.0) as u64);
    LinkSpec::new(rtt, (rng.log_uniform(lo, hi) * MB) as u64)
}

/// The four scenarios of the issue at `scale`, for a torrent of `size`
/// bytes, drawn from `seed`.
pub(crate) fn all(scale: &Scale, size: u64, seed: u64) -> Vec<Scenario> {
    let mut rng = Rng::new(seed);
    let base: Vec<LinkSpec> = (0..scale.uneven)
        .map(|_| uneven(&mut rng, 1.0, 50.0))
        .collect();
    let one = Scenario {
        number: 1,
        title: format!("{} seeders, 10-200 ms RTT, 1-50 MB/s", scale.uneven),
        links: base.clone(),
    };

    let mut links = base;
    let stall_secs = scale.stall.as_secs_f64();
    for _ in 0..scale.stallers {
        let mut l = uneven(&mut rng, 1.0, 50.0);
        // Somewhere in the first seconds of the download, while it runs.
        let at = Duration::from_secs_f64(rng.uniform(0.5, 0.5 + stall_secs));
        l.stalls.push(Stall {
            at,
            len: scale.stall,
        });
        links.push(l);
    }
    for _ in 0..scale.vanishing {
        let mut l = uneven(&mut rng, 1.0, 50.0);
        // Between 1/64 and 1/8 of the torrent: mid-piece, almost surely.
        let cut = rng.uniform(size as f64 / 64.0, size as f64 / 8.0) as u64;
        l.disconnect_after = Some(cut.max(1));
        links.push(l);
    }
    let two = Scenario {
        number: 2,
        title: format!(
            "scenario 1 + {} seeders stalling {} s + {} vanishing mid-piece",
            scale.stallers,
            scale.stall.as_secs(),
            scale.vanishing
        ),
        links,
    };

    let mut links: Vec<LinkSpec> = (0..scale.fast)
        .map(|_| LinkSpec::new(Duration::from_millis(20), (50.0 * MB) as u64))
        .collect();
    for _ in 0..scale.slow {
        let rtt = Duration::from_micros((rng.uniform(10.0, 200.0) * 1000.0) as u64);
        links.push(LinkSpec::new(rtt, 256_000));
    }
    let three = Scenario {
        number: 3,
        title: format!(
            "{} fast seeders (50 MB/s, 20 ms) + {} slow (256 kB/s, 10-200 ms)",
            scale.fast, scale.slow
        ),
        links,
    };

    let links = (0..scale.many)
        .map(|_| uneven(&mut rng, 0.5, 8.0))
        .collect();
    let four = Scenario {
        number: 4,
        title: format!("{} seeders, 10-200 ms RTT, 0.5-8 MB/s", scale.many),
        links,
    };
    vec![one, two, three, four]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_is_fixed_by_the_seed() {
        let a = all(&Scale::FULL, 512 << 20, 18);
        let b = all(&Scale::FULL, 512 << 20, 18);
        let c = all(&Scale::FULL, 512 << 20, 19);
        let links =
            |s: &[Scenario]| -> Vec<LinkSpec> { s.iter().flat_map(|s| s.links.clone()).collect() };
        assert_eq!(links(&a), links(&b));
        assert_ne!(links(&a), links(&c));
    }

    #[test]
    fn scenarios_have_the_issues_shape() {
        let size = 512u64 << 20;
        let s = all(&Scale::FULL, size, 18);
        assert_eq!(s.iter().map(|s| s.number).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(s[0].links.len(), 20);
        for l in s[0].links.iter().chain(&s[3].links) {
            let rtt = l.delay * 2;
            assert!(rtt >= Duration::from_millis(9) && rtt <= Duration::from_millis(200));
            assert!(l.stalls.is_empty() && l.disconnect_after.is_none());
            assert_eq!(l.up_rate, l.down_rate);
        }
        assert!(
            s[0].links
                .iter()
                .all(|l| (1_000_000..=50_000_000).contains(&l.down_rate))
        );
        // Log-uniform: some slow and some fast links among twenty.
        assert!(s[0].links.iter().any(|l| l.down_rate < 5_000_000));
        assert!(s[0].links.iter().any(|l| l.down_rate > 15_000_000));

        // Scenario 2 is scenario 1 plus the stalling and vanishing seeders.
        assert_eq!(s[1].links.len(), 28);
        assert_eq!(s[1].links[..20], s[0].links[..]);
        let stalling: Vec<_> = s[1].links.iter().filter(|l| !l.stalls.is_empty()).collect();
        assert_eq!(stalling.len(), 5);
        assert!(
            stalling
                .iter()
                .all(|l| l.stalls[0].len == Duration::from_secs(10))
        );
        let cuts: Vec<u64> = s[1]
            .links
            .iter()
            .filter_map(|l| l.disconnect_after)
            .collect();
        assert_eq!(cuts.len(), 3);
        assert!(cuts.iter().all(|&c| c >= size / 64 && c <= size / 8));

        let fast = s[2]
            .links
            .iter()
            .filter(|l| l.down_rate == 50_000_000)
            .count();
        let slow = s[2].links.iter().filter(|l| l.down_rate == 256_000).count();
        assert_eq!((fast, slow, s[2].links.len()), (2, 30, 32));

        assert_eq!(s[3].links.len(), 100);
        assert!(
            s[3].links
                .iter()
                .all(|l| (500_000..=8_000_000).contains(&l.down_rate))
        );
    }

    #[test]
    fn rng_draws_stay_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let l = r.log_uniform(1.0, 50.0);
            assert!((1.0..50.0).contains(&l), "{l}");
        }
    }
}
