//! Seeded random streams, one per component, stable across versions and targets.
//!
//!   seed ──┬─ stream("producer:orders") ─► inter-arrival gaps, keys
//!          ├─ stream("consumer:workers") ─► service times, failures, jitter
//!          └─ …
//!
//! Each stream is a `ChaCha8Rng` seeded from the run seed and switched to the
//! ChaCha stream number given by a fixed FNV-1a hash of the component's label.
//! ChaCha's output is specified, so the same seed and label give the same numbers
//! on every platform and version; adding a component never shifts another's
//! numbers. Every transcendental function goes through `libm`, whose results do
//! not depend on the platform's math library. `exponential` takes the
//! logarithm of the next output one draw early, for speed; the numbers are
//! the same as without it.

use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

/// FNV-1a over bytes (fixed by its specification, so labels hash the same everywhere).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(Debug)]
pub struct Stream {
    rng: ChaCha8Rng,
    /// The stream's next output, drawn one ahead by `exponential` together
    /// with the logarithm an exponential draw of it needs (see there).
    ahead: Option<Ahead>,
    /// `exponential` draws ahead (see there): off once an output drawn
    /// ahead went to another kind of draw, on again when two exponentials
    /// follow each other.
    look_ahead: bool,
    /// The last draw was an exponential.
    last_exponential: bool,
}

/// One output drawn ahead: the raw word and `libm::log(1 - unit)` of it.
#[derive(Clone, Copy, Debug)]
struct Ahead {
    raw: u64,
    log_1mu: f64,
}

/// Uniform in [0, 1) with 53 random bits of `raw`.
#[inline(always)]
fn unit_of(raw: u64) -> f64 {
    (raw >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `ln(1 - u)` of a raw output (finite: 1 - u lies in (0, 1]).
#[inline(always)]
fn log_1mu(raw: u64) -> f64 {
    libm::log(1.0 - unit_of(raw))
}

/// `ChaCha8Rng` (chacha20 0.10) is deliberately not `Clone`; its documented
/// state round-trip (seed, stream, word position) gives an exact copy, which
/// engine checkpoints need.
impl Clone for Stream {
    fn clone(&self) -> Self {
        Stream {
            rng: ChaCha8Rng::deserialize_state(&self.rng.serialize_state()),
            ahead: self.ahead,
            look_ahead: self.look_ahead,
            last_exponential: self.last_exponential,
        }
    }
}

impl Stream {
    pub fn new(seed: u64, label: &str) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(fnv1a64(label.as_bytes()));
        Stream {
            rng,
            ahead: None,
            look_ahead: true,
            last_exponential: false,
        }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.last_exponential = false;
        match self.ahead.take() {
            Some(a) => {
                // Its logarithm was computed for nothing: stop drawing ahead.
                self.look_ahead = false;
                a.raw
            }
            None => self.rng.next_u64(),
        }
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        unit_of(self.next_u64())
    }

    /// Uniform integer in [0, n); n must be positive. Multiply-shift (Lemire)
    /// without rejection: the bias is below 2^-32 for the small n used here.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Bernoulli trial with probability p.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponential with the given mean, by inversion through `libm::log`.
    ///
    /// The numbers are those of `-mean * ln(1 - unit())`, output after
    /// output, but the logarithm is computed one draw ahead: after each
    /// exponential the next output is drawn and its logarithm taken at
    /// once, and kept (`ahead`) for the next draw of any kind. A caller
    /// usually needs the result at once (it is an event's time), and the
    /// logarithm is a long chain of dependent operations; taken ahead, it is
    /// ready by the next draw, computed while the processor works on the
    /// rest of the event. Streams that draw other kinds in between get the
    /// raw output back unchanged, so the sequence never depends on this.
    /// A stream whose exponentials alternate with other draws (a Kafka
    /// producer: a key, then the gap to the next record) would take every
    /// logarithm twice, once for nothing; it stops drawing ahead after the
    /// first wasted one (`look_ahead`), and starts again when two
    /// exponentials follow each other.
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        let l = match self.ahead.take() {
            Some(a) => a.log_1mu,
            None => {
                self.look_ahead |= self.last_exponential;
                log_1mu(self.rng.next_u64())
            }
        };
        if self.look_ahead {
            let raw = self.rng.next_u64();
            self.ahead = Some(Ahead {
                raw,
                log_1mu: log_1mu(raw),
            });
        }
        self.last_exponential = true;
        -mean * l
    }

    /// Standard normal by Box-Muller, through `libm`.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    /// Log-normal with the given median and shape sigma.
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * libm::exp(sigma * self.normal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_outputs_are_pinned() {
        // If this changes, every golden trace changes: the generator is not stable.
        let mut s = Stream::new(42, "producer:p");
        let got: Vec<u64> = (0..3).map(|_| s.next_u64()).collect();
        expect_test::expect![[r#"
            [
                6149942126184183815,
                4327340610602179339,
                11311819314877750338,
            ]
        "#]]
        .assert_debug_eq(&got);
    }

    #[test]
    fn streams_are_independent_of_each_other() {
        let mut a = Stream::new(1, "a");
        let mut b = Stream::new(1, "b");
        assert_ne!(a.next_u64(), b.next_u64());
        let mut a2 = Stream::new(1, "a");
        let mut a = Stream::new(1, "a");
        assert_eq!(a.next_u64(), a2.next_u64());
    }

    #[test]
    fn exponential_mean_is_right() {
        let mut s = Stream::new(7, "x");
        let n = 200_000;
        let mean = (0..n).map(|_| s.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((mean - 2.0).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn drawing_ahead_does_not_change_the_sequence() {
        // Exponentials compute the next output's logarithm ahead; any mix
        // of draws must still read the outputs in order, as a stream that
        // never draws ahead does (computed here from the raw outputs).
        let mut s = Stream::new(11, "mix");
        let mut raw = Stream::new(11, "mix").rng;
        let mut next = || raw.next_u64();
        for k in 0..1000u32 {
            match k % 7 {
                0 | 1 | 4 => {
                    let want = -3.0 * libm::log(1.0 - unit_of(next()));
                    assert_eq!(s.exponential(3.0).to_bits(), want.to_bits(), "draw {k}");
                }
                2 => assert_eq!(s.next_u64(), next(), "draw {k}"),
                3 => assert_eq!(s.unit().to_bits(), unit_of(next()).to_bits()),
                5 => assert_eq!(s.below(10), ((next() as u128 * 10) >> 64) as u64),
                _ => {
                    let c = s.clone();
                    let mut c2 = c.clone();
                    assert_eq!(c2.next_u64(), s.clone().next_u64(), "clones agree");
                }
            }
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut s = Stream::new(3, "y");
        let mut seen = [0u32; 5];
        for _ in 0..10_000 {
            seen[s.below(5) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 1800 && c < 2200), "{seen:?}");
    }
}
