//! One sort for small lists off the engine's event paths (the picture's
//! layout and render, the ledger, the builder; the assignors, consumer
//! priorities and scenario loading): a stable sort of indices through a
//! single instance of the standard library's sort, then the permutation
//! applied in place.
//!
//! Why not `slice::sort_by`: every element type and every comparator
//! closure compiles a sort of its own into the wasm (driftsort and its
//! small-sort and merge helpers, about 1.2 KiB gzip each; the app carried
//! some thirty of them). Here each call site adds only the few lines of
//! `sort_by` below. The result is the standard stable sort's: equal
//! elements keep their order, so replacing `sort_unstable` on lists whose
//! equal elements are identical changes nothing.
//!
//! Not for the engine's per-event paths (a comparison is a dynamic call)
//! nor for large arrays (the index vector is one `usize` per element).

use std::cmp::Ordering;

/// The order of `0..n` under `cmp`, stable. Not generic: one instance of
/// the standard sort serves every caller.
fn sorted_indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| cmp(a, b));
    idx
}

/// Sort `v` by `cmp`, stably (as `slice::sort_by`).
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let mut idx = sorted_indices(v.len(), &|a, b| cmp(&v[a], &v[b]));
    // Position k takes the element that was at idx[k]: walk each cycle of
    // the permutation once, swapping, and mark its slots done.
    const DONE: usize = usize::MAX;
    for start in 0..idx.len() {
        let mut cur = start;
        while idx[cur] != DONE {
            let src = idx[cur];
            idx[cur] = DONE;
            if src == start {
                break;
            }
            v.swap(cur, src);
            cur = src;
        }
    }
}

/// Sort `v` by the key `f` gives, stably (as `slice::sort_by_key`).
pub fn sort_by_key<T, K: Ord>(v: &mut [T], f: impl Fn(&T) -> K) {
    sort_by(v, |a, b| f(a).cmp(&f(b)));
}

/// Sort `v` ascending (as `slice::sort`).
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency for a unit test).
    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn agrees_with_the_standard_stable_sort_on_many_lists() {
        let mut seed = 7;
        for len in 0..200 {
            for _ in 0..5 {
                // (key, original position): few keys, so many ties.
                let v: Vec<(u64, usize)> = (0..len).map(|i| (lcg(&mut seed) % 7, i)).collect();
                let mut ours = v.clone();
                sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
                let mut std_sorted = v.clone();
                std_sorted.sort_by(|a, b| a.0.cmp(&b.0));
                assert_eq!(ours, std_sorted, "len {len}");
            }
        }
    }

    #[test]
    fn keys_floats_and_plain_order() {
        let mut xs = [3.5, -1.0, 2.0, f64::INFINITY, 0.0];
        sort_by(&mut xs, f64::total_cmp);
        assert_eq!(xs, [-1.0, 0.0, 2.0, 3.5, f64::INFINITY]);
        let mut names = vec!["c", "a", "b", "a"];
        sort(&mut names);
        assert_eq!(names, ["a", "a", "b", "c"]);
        let mut by_len = vec!["ccc", "a", "bb", "d"];
        sort_by_key(&mut by_len, |s| s.len());
        assert_eq!(by_len, ["a", "d", "bb", "ccc"]);
    }
}
