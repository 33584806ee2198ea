//! Exchange matching rules, as RabbitMQ documents them. Pure functions: they
//! never schedule events; the world applies their result.
//!
//!   producer ──publish──► exchange ──match bindings──► queues (one copy each)
//!
//! - direct: binding key equals routing key.
//! - fanout: every binding matches.
//! - topic: keys are words separated by `.`; `*` matches exactly one word, `#`
//!   zero or more. The empty key has zero words (RabbitMQ splits `""` into no
//!   words), so `#` matches it and `*` does not; `a..b` has an empty middle word.
//! - headers: `x-match` `all` / `any` compare the binding's headers with the
//!   message's, ignoring headers whose name starts with `x-`; `all-with-x` and
//!   `any-with-x` include them. A binding header with no value matches presence.
//!   `all` with no headers to compare matches; `any` with none does not.

use crate::scenario::XMatch;
use std::collections::BTreeMap;

/// Split a routing or binding key into topic words (`""` has none).
fn words(key: &str) -> impl Iterator<Item = &str> + Clone {
    let empty = key.is_empty();
    key.split('.').filter(move |_| !empty)
}

/// Does the topic `pattern` match `routing_key`?
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    let p: Vec<&str> = words(pattern).collect();
    let k: Vec<&str> = words(routing_key).collect();
    topic_match_words(&p, &k)
}

/// Iterative wildcard match with backtracking to the last `#`: O(|p|·|k|) worst
/// case, no recursion, so a hostile pattern cannot blow the stack.
fn topic_match_words(p: &[&str], k: &[&str]) -> bool {
    let (mut pi, mut ki) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None; // (pattern index of '#', key index it resumes at)
    loop {
        if pi < p.len() && p[pi] == "#" {
            star = Some((pi, ki));
            pi += 1;
            continue;
        }
        if ki < k.len() && pi < p.len() && (p[pi] == "*" || p[pi] == k[ki]) {
            pi += 1;
            ki += 1;
            continue;
        }
        if ki == k.len() && pi == p.len() {
            return true;
        }
        // Mismatch: let the last '#' swallow one more word, if it can.
        match star {
            Some((sp, sk)) if sk < k.len() => {
                star = Some((sp, sk + 1));
                pi = sp + 1;
                ki = sk + 1;
            }
            _ => return false,
        }
    }
}

/// Does a headers-exchange binding match a message's headers?
pub fn headers_match(
    mode: XMatch,
    binding: &BTreeMap<String, Option<String>>,
    message: &BTreeMap<String, String>,
) -> bool {
    let with_x = matches!(mode, XMatch::AllWithX | XMatch::AnyWithX);
    // RabbitMQ (`rabbit_exchange_type_headers`, `match_x`) never compares the
    // binding's own `x-match` argument, even in the with-x modes, which
    // compare every other `x-` header.
    let mut considered = binding
        .iter()
        .filter(|(name, _)| *name != "x-match" && (with_x || !name.starts_with("x-")));
    let one = |(name, want): (&String, &Option<String>)| match (want, message.get(name)) {
        (None, Some(_)) => true,
        (Some(v), Some(got)) => v == got,
        (_, None) => false,
    };
    match mode {
        XMatch::All | XMatch::AllWithX => considered.all(one),
        XMatch::Any | XMatch::AnyWithX => considered.any(one),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules_from_the_rabbitmq_tutorial() {
        // "quick.orange.rabbit" example of RabbitMQ tutorial 5.
        assert!(topic_matches("*.orange.*", "quick.orange.rabbit"));
        assert!(topic_matches("*.*.rabbit", "quick.orange.rabbit"));
        assert!(topic_matches("lazy.#", "lazy.orange.elephant"));
        assert!(!topic_matches("*.orange.*", "quick.brown.fox"));
        assert!(topic_matches("lazy.#", "lazy.brown.fox"));
        assert!(!topic_matches("*.orange.*", "orange"));
        assert!(!topic_matches("*.orange.*", "quick.orange.new.rabbit"));
        assert!(topic_matches("lazy.#", "lazy.orange.new.rabbit"));
        assert!(topic_matches("lazy.#", "lazy"));
    }

    #[test]
    fn topic_edge_cases() {
        assert!(topic_matches("#", ""));
        assert!(topic_matches("#", "a.b.c"));
        assert!(!topic_matches("*", ""));
        assert!(topic_matches("", ""));
        assert!(!topic_matches("", "a"));
        assert!(
            topic_matches("a.*.b", "a..b"),
            "empty middle word is a word"
        );
        assert!(topic_matches("a.#.b", "a.b"), "# matches zero words");
        assert!(topic_matches("a.#.b", "a.x.y.b"));
        assert!(topic_matches("#.#", "a"));
        assert!(topic_matches("a.#.#.b", "a.b"));
        assert!(!topic_matches("a.#.c", "a.b.d"));
        assert!(topic_matches("*.#", "a"));
        assert!(!topic_matches("*.*", "a"));
        assert!(
            topic_matches("a.*", "a."),
            "trailing dot gives an empty last word"
        );
        assert!(topic_matches("#.a.#.a.#", "b.a.c.a.d"));
        assert!(!topic_matches("#.a.#.a.#", "b.a.c.d"));
    }

    fn h(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    fn b(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn headers_all_and_any() {
        let msg = h(&[("format", "pdf"), ("type", "report")]);
        assert!(headers_match(
            XMatch::All,
            &b(&[("format", Some("pdf")), ("type", Some("report"))]),
            &msg
        ));
        assert!(!headers_match(
            XMatch::All,
            &b(&[("format", Some("pdf")), ("type", Some("log"))]),
            &msg
        ));
        assert!(headers_match(
            XMatch::Any,
            &b(&[("format", Some("zip")), ("type", Some("report"))]),
            &msg
        ));
        assert!(!headers_match(
            XMatch::Any,
            &b(&[("format", Some("zip"))]),
            &msg
        ));
        assert!(
            headers_match(XMatch::All, &b(&[("format", None)]), &msg),
            "void value matches presence"
        );
    }

    #[test]
    fn headers_x_prefix_rules() {
        let msg = h(&[("x-tenant", "a"), ("kind", "k")]);
        // x- headers are ignored by all/any ...
        assert!(headers_match(
            XMatch::All,
            &b(&[("x-tenant", Some("zzz")), ("kind", Some("k"))]),
            &msg
        ));
        // ... and compared by all-with-x / any-with-x.
        assert!(!headers_match(
            XMatch::AllWithX,
            &b(&[("x-tenant", Some("zzz")), ("kind", Some("k"))]),
            &msg
        ));
        assert!(headers_match(
            XMatch::AnyWithX,
            &b(&[("x-tenant", Some("a"))]),
            &msg
        ));
        assert!(!headers_match(
            XMatch::Any,
            &b(&[("x-tenant", Some("a"))]),
            &msg
        ));
        // Empty comparisons: all matches, any does not.
        assert!(headers_match(XMatch::All, &b(&[]), &msg));
        assert!(!headers_match(XMatch::Any, &b(&[]), &msg));
    }

    #[test]
    fn the_binding_x_match_argument_is_never_compared() {
        // Binding arguments copied from RabbitMQ carry `x-match` itself; the
        // broker skips it in every mode (the message need not carry it).
        let msg = h(&[("a", "1"), ("x-tenant", "t")]);
        for mode in [XMatch::AllWithX, XMatch::All] {
            let args = b(&[("x-match", Some("all-with-x")), ("a", Some("1"))]);
            assert!(headers_match(mode, &args, &msg), "{mode:?}");
        }
        // any-with-x: `x-match` alone is no match (nothing is compared) ...
        let args = b(&[("x-match", Some("any-with-x"))]);
        assert!(!headers_match(XMatch::AnyWithX, &args, &msg));
        // ... while other x- headers still are.
        let args = b(&[("x-match", Some("any-with-x")), ("x-tenant", Some("t"))]);
        assert!(headers_match(XMatch::AnyWithX, &args, &msg));
    }
}
