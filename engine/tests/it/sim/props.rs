//! Random swarms: whatever the peer count, speeds, latencies and faults
//! (with one honest seeder among them), the leecher completes with the
//! right bytes and never asks for a piece it has.

use std::time::Duration;

use monsoon_engine::TorrentState;
use proptest::prelude::*;

use super::net::{Fault, NodeSpec, Sim, config};
use super::torrent::SimTorrent;

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::None),
        1 => Just(Fault::Corrupt),
        1 => (2u32..6).prop_map(Fault::ChokeFlap),
        1 => (16u64..100_000).prop_map(Fault::StallAfter),
        1 => (16u64..100_000).prop_map(Fault::DisconnectAfter),
        1 => Just(Fault::BadBitfield),
        1 => Just(Fault::UnrequestedBlock),
    ]
}

fn seeder() -> impl Strategy<Value = NodeSpec> {
    (20_000u64..5_000_000, 1u64..150, fault()).prop_map(|(rate, ms, fault)| {
        NodeSpec::seed(rate)
            .with_latency(Duration::from_millis(ms))
            .with_fault(fault)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn leecher_completes_in_any_swarm(
        len in 1usize..700_000,
        piece_kib in prop::sample::select(vec![16u32, 32, 64]),
        honest_rate in 50_000u64..2_000_000,
        others in prop::collection::vec(seeder(), 0..6),
        seed in any::<u64>(),
    ) {
        let t = SimTorrent::single(len, piece_kib * 1024, seed);
        let mut specs = vec![NodeSpec::leech(1_000_000), NodeSpec::seed(honest_rate)];
        specs.extend(others);
        let n = specs.len();
        let mut sim = Sim::new(t, specs, config());
        let all: Vec<usize> = (1..n).collect();
        sim.introduce(0, &all);
        let done = sim.run_until(Duration::from_secs(900), |s| {
            s.nodes[0].core.state() == TorrentState::Seeding
        });
        prop_assert!(done, "no completion: {:?}", sim.nodes[0].core.stats());
        let pieces = sim.meta().piece_count();
        prop_assert!(sim.torrent.holds(&sim.nodes[0].storage, 0..pieces));
        prop_assert!(sim.nodes[0].log.requested_owned.is_empty());
        // The honest seeder is never closed for a violation.
        prop_assert!(sim.nodes[0].log.closed.iter().all(|c| c.1 != 1 || !c.2.is_violation()));
    }
}
