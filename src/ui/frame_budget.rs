//! The engine's share of an animation frame, adapted to what the page can
//! afford (pure: no clock, no DOM; the frame loop feeds it the frame intervals).
//!
//!   rAF interval dt ──observe(dt, wanted_more)──► engine_ms for the next frame
//!
//! At high speed the engine would take every millisecond it is given, so its
//! share is what sets the effective speed. A fixed 6 ms left half of a 60 Hz
//! frame idle on a fast machine and was too much on a slow one. This is an
//! additive-increase, multiplicative-decrease controller: while the engine
//! wants more and frames arrive on time, its share grows by `STEP_MS` per
//! frame, up to `SHARE_MAX` of the display's frame period; a late frame (one
//! that took more than 1.5 periods) cuts the share by `CUT`. The period
//! starts at 60 Hz and only ever falls, to the lower quartile of the
//! intervals of a `WINDOW` of frames (a 120 Hz display, seen while paused or
//! idle, gets half the budget; one stray short interval does not count):
//! intervals the engine itself stretched must not teach it that the display
//! is slower, or a stall would lock the page at a lower rate.
//!
//! Guarantees: the share stays within `[MIN_MS, SHARE_MAX × period]`; it never
//! grows on a late frame; nothing here reads the engine, so the simulation's
//! trace is the same whatever the budget (only how much of it a frame shows).

/// The share a page starts with [ms] (the old fixed budget).
pub const START_MS: f64 = 6.0;
/// The share never goes below this [ms], so a busy page still moves.
pub const MIN_MS: f64 = 3.0;
/// At most this fraction of the frame period goes to the engine (the rest
/// paints the canvas, the charts and the DOM).
pub const SHARE_MAX: f64 = 0.6;
/// Growth per on-time frame while the engine wants more [ms].
pub const STEP_MS: f64 = 0.25;
/// Factor applied on a late frame.
pub const CUT: f64 = 0.8;
/// Frames over which the lower quartile of the intervals estimates the
/// display period.
pub const WINDOW: usize = 60;

/// A frame interval this many periods long or more counts as late.
const LATE: f64 = 1.5;

#[derive(Clone, Debug)]
pub struct FrameBudget {
    engine_ms: f64,
    /// Display frame period estimate [ms].
    period_ms: f64,
    /// Intervals of the window in progress [ms] and how many there are.
    window: [f64; WINDOW],
    window_n: usize,
}

impl Default for FrameBudget {
    fn default() -> Self {
        FrameBudget {
            engine_ms: START_MS,
            period_ms: 1000.0 / 60.0,
            window: [0.0; WINDOW],
            window_n: 0,
        }
    }
}

impl FrameBudget {
    /// Engine time the next frame may spend [ms].
    pub fn engine_ms(&self) -> f64 {
        self.engine_ms
    }

    /// The display period the budget is sized for [ms].
    pub fn period_ms(&self) -> f64 {
        self.period_ms
    }

    /// One frame happened `dt_ms` after the previous one; `wanted_more` says
    /// the engine stopped on its budget rather than on reaching its target.
    pub fn observe(&mut self, dt_ms: f64, wanted_more: bool) {
        if !(dt_ms.is_finite() && dt_ms > 0.0) {
            return;
        }
        self.window[self.window_n] = dt_ms;
        self.window_n += 1;
        if self.window_n == WINDOW {
            // Down only, and not below 4 ms (240 Hz).
            crate::small_sort::sort_by(&mut self.window, f64::total_cmp);
            let quartile = self.window[WINDOW / 4];
            self.period_ms = self.period_ms.min(quartile.max(4.0));
            self.window_n = 0;
        }
        let max = (SHARE_MAX * self.period_ms).max(MIN_MS);
        if dt_ms >= LATE * self.period_ms {
            self.engine_ms = (self.engine_ms * CUT).max(MIN_MS);
        } else if wanted_more {
            self.engine_ms = (self.engine_ms + STEP_MS).min(max);
        }
        self.engine_ms = self.engine_ms.min(max);
    }
}
