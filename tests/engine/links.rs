//! Share links round-trip: a random scenario (the property tests' grammar),
//! a random seed, a command log recorded by really running the engine with
//! commands at random instants, a time and a view string — encoded, decoded,
//! and equal; and the decoded link replays to the very same trace.

use crate::props::{command, scenario_json, Genes};
use proptest::prelude::*;
use queuelab::engine::{Command, Engine, SimTime};
use queuelab::link::{Link, LINK_TEXT_MAX};
use queuelab::scenario;

/// Build a scenario from the genome, run it with commands at random points
/// (some rejected, as a user's would be), and return the session as a link.
fn session(genome: &[u32], seed: u64, view: String) -> Result<(Link, Engine), String> {
    let mut g = Genes { g: genome, at: 0 };
    let json = scenario_json(&mut g);
    let s = scenario::load(&json.to_string()).map_err(|e| format!("invalid scenario: {e}"))?;
    let mut e = Engine::new(s.clone(), seed).map_err(|e| e.to_string())?;
    let mut t = 0u64;
    for _ in 0..g.pick(10) {
        t += [0, 1, 999, 20_000, 300_000][g.pick(5) as usize];
        if g.pick(3) == 0 {
            // Land between two events of one instant.
            for _ in 0..g.pick(5) {
                e.step();
            }
        } else {
            e.run_until(SimTime(t), 20_000);
        }
        let c: Command = serde_json::from_value(command(&mut g, &json, false))
            .map_err(|err| format!("malformed command: {err}"))?;
        let _ = e.submit(c);
    }
    e.run_until(SimTime(e.now().0 + 500_000), 20_000);
    let link = Link {
        scenario: s,
        seed,
        commands: e.command_log().to_vec(),
        time_us: e.now().0,
        view,
    };
    Ok((link, e))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x11_4b5),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn links_round_trip_and_replay_the_same_trace(
        genome in prop::collection::vec(any::<u32>(), 40..300),
        seed in any::<u64>(),
        view in "\\PC{0,40}",
    ) {
        let (link, original) = match session(&genome, seed, view) {
            Ok(x) => x,
            Err(why) => return Err(TestCaseError::fail(format!("{why}\ngenome {genome:?} seed {seed}"))),
        };
        let url = link.to_url("https://example.org/queuelab/").unwrap();
        prop_assert!(url.len() <= LINK_TEXT_MAX);
        let back = Link::decode(&url).unwrap();
        prop_assert_eq!(&back, &link);
        // The scenario inside survives as the same JSON, field for field.
        prop_assert_eq!(
            serde_json::to_value(&back.scenario).unwrap(),
            serde_json::to_value(&link.scenario).unwrap()
        );
        let replayed = Engine::replay(back.scenario, back.seed, &back.commands, SimTime(back.time_us))
            .map_err(|why| TestCaseError::fail(format!("replay failed: {why}")))?;
        prop_assert_eq!(
            (replayed.trace_hash(), replayed.events()),
            (original.trace_hash(), original.events()),
            "genome {:?} seed {}", genome, seed
        );
    }

    /// Any damage to a good link is an error or (if it happens to stay valid)
    /// a link; never a panic.
    #[test]
    fn damaged_links_never_panic(
        genome in prop::collection::vec(any::<u32>(), 40..120),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let (link, _) = session(&genome, 1, String::new()).map_err(TestCaseError::fail)?;
        let text = link.encode().unwrap();
        let _ = Link::decode(&text[..cut.index(text.len())]);
        let mut bytes = text.into_bytes();
        let at = flip.index(bytes.len());
        bytes[at] = byte;
        let _ = Link::decode(&String::from_utf8_lossy(&bytes));
    }
}
