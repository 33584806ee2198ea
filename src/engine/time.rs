//! Simulated time: integer microseconds since the start of the run.
//!
//! Time is never a float, so two runs of one scenario agree bit for bit on every
//! platform. Floats appear only inside random draws and are rounded to whole
//! microseconds before they become a `SimTime`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in simulated time, in microseconds since the run began.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn us(self) -> u64 {
        self.0
    }
    /// Add a delay, saturating at the end of time rather than wrapping.
    pub fn after(self, delay_us: u64) -> SimTime {
        SimTime(self.0.saturating_add(delay_us))
    }
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl fmt::Display for SimTime {
    /// `12.345678s`: seconds with all six microsecond digits, so nothing is hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Round a non-negative float number of microseconds to a whole delay, clamped
/// to `[0, cap_us]`. NaN becomes 0. Rounding is plain arithmetic, identical on
/// every target.
pub fn delay_us_from_f64(us: f64, cap_us: u64) -> u64 {
    if us.is_nan() || us <= 0.0 {
        0
    } else if us >= cap_us as f64 {
        cap_us
    } else {
        (us + 0.5) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_microseconds() {
        assert_eq!(SimTime(1_234_567).to_string(), "1.234567s");
        assert_eq!(SimTime(0).to_string(), "0.000000s");
    }

    #[test]
    fn after_saturates() {
        assert_eq!(SimTime(u64::MAX - 1).after(10), SimTime::MAX);
    }

    #[test]
    fn delays_round_and_clamp() {
        assert_eq!(delay_us_from_f64(1.49, 100), 1);
        assert_eq!(delay_us_from_f64(1.5, 100), 2);
        assert_eq!(delay_us_from_f64(-3.0, 100), 0);
        assert_eq!(delay_us_from_f64(f64::NAN, 100), 0);
        assert_eq!(delay_us_from_f64(1e30, 100), 100);
    }
}
