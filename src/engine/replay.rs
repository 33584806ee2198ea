//! Rebuilding a session from its command log (split from `core.rs`): the same
//! scenario and seed, then every logged command at the exact point (events
//! processed, clock) it was first applied. Rewind in the app, share links and
//! the CLI's link replay all go through here, so a replayed run is the
//! original run: same trace, same hash.

use super::core::Engine;
use super::time::SimTime;
use crate::scenario::{LoggedCommand, Scenario};

impl Engine {
    /// Rebuild a session: same scenario and seed, then every logged command at
    /// the exact point it was first applied, then run to `until`.
    pub fn replay(
        scenario: Scenario,
        seed: u64,
        log: &[LoggedCommand],
        until: SimTime,
    ) -> Result<Engine, String> {
        let mut e = Engine::new(scenario, seed).map_err(|e| e.to_string())?;
        for (k, entry) in log.iter().enumerate() {
            e.seek_point(entry.after_events, SimTime(entry.at_us))
                .map_err(|why| format!("command {k} cannot be replayed: {why}"))?;
            e.submit(entry.command.clone())
                .map_err(|why| format!("command {k}: {why}"))?;
        }
        e.run_until(until, u64::MAX);
        Ok(e)
    }

    /// Advance to exactly `events` processed events with the clock at `at`.
    pub fn seek_point(&mut self, events: u64, at: SimTime) -> Result<(), String> {
        if events < self.events || at < self.now {
            return Err("the log goes back in time".into());
        }
        while self.events < events {
            if !self.step() {
                return Err("ran out of events".into());
            }
        }
        if self.now > at {
            return Err("the clock passed the command's time".into());
        }
        if self.agenda.peek_time().is_some_and(|t| t < at) {
            // Setting the clock past a pending event would make time go back.
            return Err("the command's time skips over pending events".into());
        }
        self.now = at;
        Ok(())
    }
}
