//! Alert rules (`alerts[]`, see `scenario::alert`): unique names, a watched
//! node of the kind the metric needs, a threshold in range, and an
//! evaluation interval, window, `for` and `keep_firing_for` within bounds
//! (the window's history is bounded by `ALERT_WINDOW_STEPS_MAX` evaluations).

use super::{check_id, Kind, Scenario, V};
use crate::scenario::alert::{
    AlertMetric, ALERTS_MAX, ALERT_EVERY_MIN_US, ALERT_SPAN_MAX_US, ALERT_WINDOW_STEPS_MAX,
};
use crate::scenario::Duration;

pub(super) fn check_alerts(v: &mut V, s: &Scenario, kind_of: &dyn Fn(&str) -> Option<Kind>) {
    if s.alerts.len() > ALERTS_MAX {
        v.err(
            "alerts",
            format!("at most {ALERTS_MAX} alert rules, not {}", s.alerts.len()),
        );
        return;
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, a) in s.alerts.iter().enumerate() {
        let at = format!("alerts[{i}]");
        check_id(v, &format!("{at}.id"), &a.id);
        if !names.insert(a.id.as_str()) {
            v.err(format!("{at}.id"), format!("{:?} is used twice", a.id));
        }
        let (wanted, noun): (&[Kind], &str) = match a.metric {
            AlertMetric::ErrorRate => (
                &[Kind::Consumer, Kind::Group],
                "a consumer or consumer group",
            ),
            AlertMetric::Depth => (&[Kind::Queue], "a queue"),
            AlertMetric::Lag => (&[Kind::Group], "a consumer group"),
        };
        match kind_of(&a.node) {
            None => v.err(
                format!("{at}.node"),
                format!(
                    "no node {:?} (the {} alert watches {noun})",
                    a.node,
                    a.metric.name()
                ),
            ),
            Some(k) if !wanted.contains(&k) => v.err(
                format!("{at}.node"),
                format!(
                    "{:?} is a {}; {} {} alert watches {noun}",
                    a.node,
                    k.noun(),
                    if a.metric == AlertMetric::ErrorRate {
                        "an"
                    } else {
                        "a"
                    },
                    a.metric.name()
                ),
            ),
            Some(_) => {}
        }
        if !a.above.is_finite() || a.above < 0.0 {
            v.err(format!("{at}.above"), "must be a number, at least 0");
        } else if a.metric == AlertMetric::ErrorRate && a.above >= 1.0 {
            v.err(
                format!("{at}.above"),
                "an error rate is a fraction: must be below 1 (0.05 is 5%)",
            );
        }
        let every = a.every.us();
        if !(ALERT_EVERY_MIN_US..=ALERT_SPAN_MAX_US).contains(&every) {
            v.err(
                format!("{at}.every"),
                format!(
                    "must be between {} and {}",
                    Duration(ALERT_EVERY_MIN_US),
                    Duration(ALERT_SPAN_MAX_US)
                ),
            );
        }
        if a.hold.us() > ALERT_SPAN_MAX_US {
            v.err(
                format!("{at}.for"),
                format!("must be at most {}", Duration(ALERT_SPAN_MAX_US)),
            );
        }
        if a.keep_firing_for.us() > ALERT_SPAN_MAX_US {
            v.err(
                format!("{at}.keep_firing_for"),
                format!("must be at most {}", Duration(ALERT_SPAN_MAX_US)),
            );
        }
        match (a.metric, a.window) {
            (AlertMetric::ErrorRate, Some(w)) => {
                if w.us() > ALERT_SPAN_MAX_US {
                    v.err(
                        format!("{at}.window"),
                        format!("must be at most {}", Duration(ALERT_SPAN_MAX_US)),
                    );
                } else if every >= ALERT_EVERY_MIN_US && w.us() < every {
                    v.err(
                        format!("{at}.window"),
                        format!("must be at least the evaluation interval `every` ({})", a.every),
                    );
                } else if every >= ALERT_EVERY_MIN_US && w.us() / every > ALERT_WINDOW_STEPS_MAX {
                    v.err(
                        format!("{at}.window"),
                        format!(
                            "spans more than {ALERT_WINDOW_STEPS_MAX} evaluations; \
                             make `every` longer or the window shorter"
                        ),
                    );
                }
            }
            (AlertMetric::ErrorRate, None) => {
                let w = a.window_or_default().us();
                if every >= ALERT_EVERY_MIN_US && w < every {
                    v.err(
                        format!("{at}.every"),
                        format!("must be at most the window ({})", a.window_or_default()),
                    );
                }
            }
            (m, Some(_)) => v.err(
                format!("{at}.window"),
                format!(
                    "applies only to error_rate alerts (a {} alert looks at the value at each evaluation)",
                    m.name()
                ),
            ),
            (_, None) => {}
        }
    }
}
