//! Human units in scenario files: durations (`"250ms"`, `"2s"`) and rates (`"20/s"`).
//!
//! Durations become integer microseconds at parse time, so nothing downstream
//! sees a float time. Rates stay `f64` messages per second because they only
//! ever feed random draws and inter-arrival divisions, which round to whole
//! microseconds before they touch the agenda.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// The longest duration a scenario may name: 10 years of simulated time.
pub const DURATION_US_MAX: u64 = 10 * 365 * 24 * 3600 * 1_000_000;
/// The highest rate a scenario may name, in messages per second.
pub const RATE_PER_S_MAX: f64 = 10_000_000.0;

/// A span of simulated time in whole microseconds, written `"1.5s"`, `"250ms"`,
/// `"40us"`, `"2m"`, `"1h"` in scenario files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

impl Duration {
    pub const ZERO: Duration = Duration(0);
    pub fn from_ms(ms: u64) -> Self {
        Duration(ms * 1000)
    }
    pub fn from_s(s: u64) -> Self {
        Duration(s * 1_000_000)
    }
    pub fn us(self) -> u64 {
        self.0
    }
}

/// Parse a number with an optional fractional part into (mantissa, decimal places)
/// without going through floats, so `"0.1s"` is exactly 100000 us.
fn parse_decimal(num: &str) -> Option<(u128, u32)> {
    if num.is_empty() {
        return None;
    }
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.len() + frac.len() > 30 {
        return None;
    }
    let digits = format!("{int}{frac}");
    let mantissa: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some((mantissa, frac.len() as u32))
}

/// At most `max_chars` characters of untrusted text, for an error message
/// (a 1 MB bad value is not echoed whole); `…` marks a cut.
pub fn clip(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    // A bad value is echoed, but not a megabyte of it.
    let shown = clip(text, 60);
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!(
            "duration {shown:?} is negative: a duration is 0 or more (e.g. \"250ms\")"
        ));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ' '))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_us: u128 = match unit.trim() {
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        "" => {
            return Err(format!(
                "duration {shown:?} needs a unit: us, ms, s, m or h (e.g. \"250ms\")"
            ))
        }
        other => {
            return Err(format!(
                "unknown duration unit {:?} in {shown:?}; use us, ms, s, m (or min) or h",
                clip(other, 20)
            ))
        }
    };
    let (mantissa, places) = parse_decimal(num.trim())
        .ok_or_else(|| format!("{shown:?} is not a duration like \"250ms\" or \"1.5s\""))?;
    let scale = 10u128.pow(places);
    let total = mantissa
        .checked_mul(unit_us)
        .ok_or_else(|| format!("duration {shown:?} is too large"))?;
    if total % scale != 0 {
        return Err(format!("duration {shown:?} is finer than one microsecond"));
    }
    let us = total / scale;
    if us > DURATION_US_MAX as u128 {
        return Err(format!(
            "duration {shown:?} is longer than the 10-year limit"
        ));
    }
    Ok(Duration(us as u64))
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us == 0 {
            write!(f, "0s")
        } else if us % 1_000_000 == 0 {
            write!(f, "{}s", us / 1_000_000)
        } else if us % 1000 == 0 {
            write!(f, "{}ms", us / 1000)
        } else {
            write!(f, "{us}us")
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"2s\" or \"1.5m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            // Exactly what `parse_duration` reads (spaces around and
            // between are allowed, `2.` is 2): an editor checking a file
            // against the schema agrees with the simulator.
            // `tests/engine/json_paths.rs` compares the two on many forms.
            "pattern": "^\\s*([0-9]+\\.?[0-9]*|\\.[0-9]+)\\s*(us|µs|ms|s|m|min|h)\\s*$",
            "description": "A span of simulated time with a unit: \"40us\", \"250ms\", \"1.5s\", \"2m\", \"1h\".",
            "examples": ["250ms", "2s"]
        })
    }
}

/// Messages per second, written `"20/s"`, `"1200/min"`, `"0.5/s"`, `"3/ms"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl Rate {
    pub fn per_s(self) -> f64 {
        self.0
    }
}

/// A decimal number as a person types it in a knob or a URL (`12`, `-0.5`,
/// `.5`, `2.`, `+3`, `007`, `1e3`; spaces around it allowed): its value, or
/// None for anything else and for values that are not finite. Read by
/// serde_json's number parser, which the app carries anyway, rather than
/// `str::parse::<f64>` (whose tables weigh about 10 KiB in the wasm); for such
/// numbers both give the same value.
pub fn parse_f64(text: &str) -> Option<f64> {
    let text = text.trim();
    let (sign, body) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    let digits_end = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (int, rest) = body.split_at(digits_end(body));
    let (frac, exponent) = match rest.strip_prefix('.') {
        Some(r) => r.split_at(digits_end(r)),
        None => ("", rest),
    };
    if (int.is_empty() && frac.is_empty())
        || !(exponent.is_empty() || exponent.starts_with(['e', 'E']))
    {
        return None;
    }
    // JSON wants no leading zeros and a digit on both sides of a point.
    let int = match int.trim_start_matches('0') {
        "" => "0",
        i => i,
    };
    let point = if frac.is_empty() { "" } else { "." };
    let json = format!("{sign}{int}{point}{frac}{exponent}");
    let v: f64 = serde_json::from_slice(json.as_bytes()).ok()?;
    v.is_finite().then_some(v)
}

pub fn parse_rate(text: &str) -> Result<Rate, String> {
    // A bad value is echoed, but not a megabyte of it.
    let shown = clip(text, 60);
    let t = text.trim();
    let (num, unit) = t
        .split_once('/')
        .ok_or_else(|| format!("rate {shown:?} needs a unit: \"20/s\", \"600/min\", \"2/ms\""))?;
    let per_s_factor = match unit.trim() {
        "s" | "sec" => 1.0,
        "ms" => 1000.0,
        "m" | "min" => 1.0 / 60.0,
        "h" => 1.0 / 3600.0,
        other => {
            return Err(format!(
                "unknown rate unit {:?} in {shown:?}; use /s, /ms, /min or /h",
                clip(other, 20)
            ))
        }
    };
    let (mantissa, places) = parse_decimal(num.trim())
        .ok_or_else(|| format!("{shown:?} is not a rate like \"20/s\""))?;
    // Exact powers of ten (`powi` is not guaranteed bit-identical across targets).
    let scale = 10u128.pow(places) as f64;
    let value = mantissa as f64 / scale * per_s_factor;
    if !(value.is_finite()) || value > RATE_PER_S_MAX {
        return Err(format!("rate {shown:?} is above the limit of 10000000/s"));
    }
    Ok(Rate(value))
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate string such as \"20/s\" or \"600/min\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                parse_rate(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]*\\.?[0-9]+ ?/ ?(s|sec|ms|m|min|h)$",
            "description": "Messages per unit of time: \"20/s\", \"600/min\", \"2/ms\".",
            "examples": ["20/s"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration(250_000));
        assert_eq!(parse_duration("0.1s").unwrap(), Duration(100_000));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration(90_000_000));
        assert_eq!(parse_duration("40us").unwrap(), Duration(40));
        assert_eq!(parse_duration("40µs").unwrap(), Duration(40));
        assert_eq!(parse_duration(" 2 s ").unwrap(), Duration(2_000_000));
        assert_eq!(parse_duration("1h").unwrap(), Duration(3_600_000_000));
    }

    #[test]
    fn bad_durations_name_the_problem() {
        assert!(parse_duration("250").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("-1s").unwrap_err().contains("is negative"));
        assert!(parse_duration("5 parsecs")
            .unwrap_err()
            .contains("unknown duration unit"));
        assert!(parse_duration("0.5us").unwrap_err().contains("finer than"));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("99999999999999999999999999h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration(".s").is_err());
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("20/s").unwrap().per_s(), 20.0);
        assert_eq!(parse_rate("600/min").unwrap().per_s(), 10.0);
        assert_eq!(parse_rate("2/ms").unwrap().per_s(), 2000.0);
        assert!(parse_rate("20").is_err());
        assert!(parse_rate("20/fortnight").is_err());
        assert!(parse_rate("1e9/s").is_err());
    }

    #[test]
    fn duration_display_round_trips() {
        for us in [0u64, 1, 1000, 250_000, 2_000_000, 1_500] {
            let d = Duration(us);
            assert_eq!(parse_duration(&d.to_string()).unwrap(), d);
        }
    }

    #[test]
    fn typed_numbers_parse_as_str_parse_does() {
        for t in [
            "12", "-0.5", ".5", "2.", "+3", "007", "1e3", " 4.25 ", "-.75", "0", "1E-2", "123.456",
            "0.1", "99.99", "1000000", "1.e5", "1e+5",
        ] {
            assert_eq!(parse_f64(t), t.trim().parse::<f64>().ok(), "{t:?}");
        }
        for t in [
            "", ".", "-", "abc", "1..2", "1e", "inf", "NaN", "1e999", "--1", "1,5", "0x10",
        ] {
            assert_eq!(parse_f64(t), None, "{t:?}");
        }
    }
}
