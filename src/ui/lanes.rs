//! Variants side by side: one engine per lane of the scenario's `variants`,
//! all with the same seed, following the app's one clock. A plain Rust type
//! with no DOM in it (the view and the painting live in `app/compare.rs`).
//!
//!   main Sim (the clock, the command script)
//!      │ now_us, script
//!      ▼
//!   Lanes::advance_lane(k, now_us, script, budget) ──► lane k's Engine runs to now_us,
//!                                                      applying each scripted command at its time
//!   seek(t) ──► every lane rebuilt from t = 0 and run to t (bounded)
//!
//! Common random numbers: every component draws from its own stream named by
//! its id, so two lanes that differ in one knob see the same publishes at the
//! same times (see README, "Variants"). The user's commands reach every lane
//! at the simulated time they were given (a command that does not fit a
//! lane's variant is skipped there). Bounded: a frame gives each lane its
//! share of the event budget; a seek at most `SEEK_EVENTS_MAX` per lane.

use super::sim::{FRAME_CHUNK, SEEK_EVENTS_MAX};
use crate::engine::{Engine, LoggedCommand, SimTime};
use crate::scenario::{self, Scenario};

/// Lanes drawn at most (every lane the scenario format allows).
pub const LANES_MAX: usize = crate::scenario::VARIANTS_MAX;

pub struct Lane {
    pub name: String,
    /// The variant's scenario (the base with its `set` applied).
    pub scenario: Scenario,
    pub engine: Engine,
    /// Commands of the main script already applied here.
    applied: usize,
}

impl Lane {
    /// Commands of the main script applied in this lane so far.
    pub fn applied(&self) -> usize {
        self.applied
    }
}

pub struct Lanes {
    pub lanes: Vec<Lane>,
    pub seed: u64,
}

impl Lanes {
    /// One lane per variant of `sc` (at most `LANES_MAX`), each a whole
    /// scenario; an error names the lane.
    pub fn new(sc: &Scenario, seed: u64) -> Result<Lanes, String> {
        if sc.variants.is_empty() {
            return Err("this scenario has no variants to compare".into());
        }
        let mut base = sc.clone();
        base.variants.clear();
        let mut lanes = Vec::new();
        for v in sc.variants.iter().take(LANES_MAX) {
            let s = scenario::patch::apply(&base, &v.set)
                .map_err(|e| format!("variant {:?}: {e}", v.name))?;
            let engine = lane_engine(&s, seed).map_err(|e| format!("variant {:?}: {e}", v.name))?;
            lanes.push(Lane {
                name: v.name.clone(),
                scenario: s,
                engine,
                applied: 0,
            });
        }
        Ok(Lanes { lanes, seed })
    }

    /// Some lane is short of `t_us`.
    pub fn behind(&self, t_us: u64) -> bool {
        self.lanes.iter().any(|l| l.engine.now().0 < t_us)
    }

    /// Run lane `k` towards `t_us` with at most `budget` events (checking
    /// `out_of_time` every `FRAME_CHUNK`), applying the script's commands at
    /// their times. Returns whether it got there.
    pub fn advance_lane(
        &mut self,
        k: usize,
        t_us: u64,
        script: &[LoggedCommand],
        mut budget: u64,
        out_of_time: &dyn Fn() -> bool,
    ) -> bool {
        let Some(lane) = self.lanes.get_mut(k) else {
            return true;
        };
        lane.applied = lane.applied.min(script.len());
        loop {
            let next = script.get(lane.applied).filter(|c| c.at_us <= t_us);
            let target = next.map_or(t_us, |c| c.at_us);
            if lane.engine.now().0 < target
                || lane.engine.next_event_time().is_some_and(|t| t.0 <= target)
            {
                if budget == 0 || out_of_time() {
                    return false;
                }
                let out = lane
                    .engine
                    .run_until(SimTime(target), FRAME_CHUNK.min(budget));
                budget = budget.saturating_sub(out.work);
                if !out.reached {
                    continue;
                }
            }
            match next {
                Some(c) => {
                    // A command that does not fit this variant (a node it
                    // lacks) is skipped here, as the engine refuses it.
                    let _ = lane.engine.submit(c.command.clone());
                    lane.applied += 1;
                }
                None => return true,
            }
        }
    }

    /// Rebuild every lane at t = 0 and run it to `t_us` (at most
    /// `SEEK_EVENTS_MAX` events each; a lane short of it catches up in the
    /// next frames).
    pub fn seek(&mut self, t_us: u64, script: &[LoggedCommand]) {
        for k in 0..self.lanes.len() {
            let lane = &mut self.lanes[k];
            if let Ok(e) = lane_engine(&lane.scenario, self.seed) {
                lane.engine = e;
                lane.applied = 0;
            }
            self.advance_lane(k, t_us, script, SEEK_EVENTS_MAX, &|| false);
        }
    }
}

fn lane_engine(s: &Scenario, seed: u64) -> Result<Engine, String> {
    let mut e = Engine::new(s.clone(), seed).map_err(|e| e.to_string())?;
    // Lanes draw no charts: no series to keep.
    e.set_series(false);
    Ok(e)
}
