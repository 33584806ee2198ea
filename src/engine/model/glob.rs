//! Redis's glob matching for PSUBSCRIBE patterns (and KEYS, SCAN MATCH): a
//! port of the rules of `stringmatchlen` in Redis's `src/util.c`, byte for
//! byte, case-sensitive. Pure: no state, no allocation.
//!
//!   `*`        any run of bytes, the empty one too (`**` is one `*`)
//!   `?`        exactly one byte
//!   `[abc]`    one of the listed bytes; `[^abc]` one byte not listed
//!              (only `^` negates: `[!a]` is the set {`!`, `a`})
//!   `[a-z]`    a range (reversed ends are swapped: `[z-a]` = `[a-z]`);
//!              `\x` inside brackets is the byte `x`; an unclosed `[`
//!              takes the rest of the pattern as its set
//!   `\x`       the byte `x` literally (a trailing lone `\` is a literal `\`)
//!
//! Fidelity notes, from Redis's code: bytes are compared as C `char`s, which
//! are signed on the platforms Redis ships for, so a range's ends and the
//! byte tested are compared as `i8`; after a `*` fails to match the rest of
//! the pattern anywhere, longer matches of earlier stars are not tried
//! (Redis's `skipLongerMatches`, which keeps `*a*a*a…b` linear); recursion
//! deeper than 1000 nested stars is refused as no match (Redis's guard).
//! Documented in Redis's KEYS page ("Supported glob-style patterns") and in
//! the PSUBSCRIBE page.

/// Redis's guard against abusive patterns: nesting beyond this never matches.
const NESTING_MAX: u32 = 1000;

/// Does `string` match glob `pattern` by Redis's rules?
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, &mut skip_longer, 0)
}

fn match_impl(mut p: &[u8], mut s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > NESTING_MAX {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_impl(&p[1..], s, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                let c = s[0] as i8;
                loop {
                    if p.is_empty() {
                        // Unclosed: Redis steps back one byte so the
                        // advance after the switch lands at the end.
                        break;
                    } else if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0] as i8, p[2] as i8);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if p[0] == s[0] {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // The unclosed set consumed the pattern: Redis's
                    // step-back-then-advance leaves it empty too.
                    if s.is_empty() {
                        break;
                    }
                    continue;
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if p[0] != s[0] {
                    return false;
                }
                s = &s[1..];
            }
            b => {
                if b != s[0] {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn redis_keys_page_examples() {
        // Redis docs, KEYS: "Supported glob-style patterns".
        for s in ["hello", "hallo", "hxllo"] {
            assert!(m("h?llo", s), "{s}");
        }
        assert!(m("h*llo", "hllo") && m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hello") && m("h[ae]llo", "hallo") && !m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo") && m("h[^e]llo", "hbllo") && !m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hallo") && m("h[a-b]llo", "hbllo") && !m("h[a-b]llo", "hcllo"));
    }
}
