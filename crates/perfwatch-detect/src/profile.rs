//! Where the cost moved between two profiles: per function, its self cost (spent in the
//! function itself) and inclusive cost (the function and everything it called), before and
//! after, ranked by how much of the total change each function's own cost accounts for.
//!
//! The decomposition is the one of differential flame graphs (Gregg, "Differential Flame
//! Graphs", 2014) read per function instead of per path: summing self costs over the frames
//! of a function and taking their difference attributes every unit of the total change to
//! exactly one function, so the self deltas add up to the total delta and a share of "80 % of
//! the change" means what it says. Inclusive costs count a recursive function once per stack
//! (KCachegrind's convention), so a function's inclusive cost never exceeds the total.

use std::collections::{BTreeMap, HashSet};

use perfwatch_model::{FunctionDelta, Profile};

/// Self and inclusive cost of one function in one profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionCost {
    /// Cost in frames where the function is innermost.
    pub self_cost: u64,
    /// Cost of every stack the function is on (once per stack).
    pub inclusive: u64,
}

/// The cost of every function of `profile`.
pub fn function_costs(profile: &Profile) -> BTreeMap<&str, FunctionCost> {
    let mut costs: BTreeMap<&str, FunctionCost> = BTreeMap::new();
    for (stack, &cost) in &profile.stacks {
        let mut seen = HashSet::new();
        let mut frames = stack.split(';').peekable();
        while let Some(frame) = frames.next() {
            let c = costs.entry(frame).or_default();
            if frames.peek().is_none() {
                c.self_cost = c.self_cost.saturating_add(cost);
            }
            if seen.insert(frame) {
                c.inclusive = c.inclusive.saturating_add(cost);
            }
        }
    }
    costs
}

/// The `top` functions whose self cost changed most from `base` to `head` (by absolute
/// change, ties by name), with their share of the total change (0 when the totals are equal).
pub fn rank_changes(base: &Profile, head: &Profile, top: usize) -> Vec<FunctionDelta> {
    let (b, h) = (function_costs(base), function_costs(head));
    let total_delta = signed_delta(base.total(), head.total());
    let names: std::collections::BTreeSet<&str> = b.keys().chain(h.keys()).copied().collect();
    let mut out: Vec<FunctionDelta> = names
        .into_iter()
        .map(|name| {
            let (cb, ch) =
                (b.get(name).copied().unwrap_or_default(), h.get(name).copied().unwrap_or_default());
            let self_delta = signed_delta(cb.self_cost, ch.self_cost);
            FunctionDelta {
                function: name.to_string(),
                self_base: cb.self_cost,
                self_head: ch.self_cost,
                self_delta,
                self_share: if total_delta == 0 { 0.0 } else { self_delta as f64 / total_delta as f64 },
                inclusive_base: cb.inclusive,
                inclusive_head: ch.inclusive,
                inclusive_delta: signed_delta(cb.inclusive, ch.inclusive),
            }
        })
        .filter(|d| d.self_delta != 0 || d.inclusive_delta != 0)
        .collect();
    out.sort_by(|x, y| {
        y.self_delta.unsigned_abs().cmp(&x.self_delta.unsigned_abs()).then(x.function.cmp(&y.function))
    });
    out.truncate(top);
    out
}

/// `after − before`, saturated to the range of `i64`.
pub fn signed_delta(before: u64, after: u64) -> i64 {
    let d = i128::from(after) - i128::from(before);
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_model::Profiler;
    use proptest::prelude::*;

    fn profile(text: &str) -> Profile {
        Profile::from_folded(Profiler::Callgrind, text).unwrap()
    }

    #[test]
    fn self_and_inclusive_costs_count_recursion_once_per_stack() {
        let p = profile("main 1\nmain;f 2\nmain;f;f 3\nmain;f;g 4\nmain;g 5\n");
        let c = function_costs(&p);
        assert_eq!(c["main"], FunctionCost { self_cost: 1, inclusive: 15 });
        assert_eq!(c["f"], FunctionCost { self_cost: 5, inclusive: 9 });
        assert_eq!(c["g"], FunctionCost { self_cost: 9, inclusive: 9 });
    }

    #[test]
    fn the_function_made_three_times_slower_comes_first_with_its_share() {
        // alpha, beta, gamma cost 100 each; head makes beta 3× slower.
        let base = profile("main 10\nmain;alpha 100\nmain;beta 100\nmain;gamma 100\n");
        let head = profile("main 10\nmain;alpha 100\nmain;beta 300\nmain;gamma 98\n");
        let r = rank_changes(&base, &head, 10);
        assert_eq!(r[0].function, "beta");
        assert_eq!((r[0].self_base, r[0].self_head, r[0].self_delta), (100, 300, 200));
        assert!((r[0].self_share - 200.0 / 198.0).abs() < 1e-12);
        assert_eq!((r[1].function.as_str(), r[1].self_delta), ("gamma", -2));
        assert_eq!(r[2].function, "main"); // inclusive moved, self did not
        assert_eq!((r[2].self_delta, r[2].inclusive_delta), (0, 198));
        assert_eq!(r.len(), 3, "alpha did not move: {r:?}");
        assert_eq!(rank_changes(&base, &head, 1).len(), 1);
        assert!(rank_changes(&base, &base, 10).is_empty());
    }

    #[test]
    fn deltas_saturate() {
        assert_eq!(signed_delta(0, u64::MAX), i64::MAX);
        assert_eq!(signed_delta(u64::MAX, 0), i64::MIN);
        assert_eq!(signed_delta(5, 3), -2);
    }

    fn arb_profile() -> impl Strategy<Value = Profile> {
        let frame = prop::sample::select(vec!["main", "a", "b", "c"]);
        let stack = prop::collection::vec(frame, 1..5).prop_map(|f| f.join(";"));
        prop::collection::btree_map(stack, 0u64..1000, 0..12)
            .prop_map(|stacks| Profile { profiler: Profiler::Perf, stacks })
    }

    proptest! {
        /// The self deltas of all functions add up to the total delta, and no function's
        /// inclusive cost exceeds the profile's total.
        #[test]
        fn self_deltas_sum_to_the_total_change(base in arb_profile(), head in arb_profile()) {
            let all = rank_changes(&base, &head, usize::MAX);
            let sum: i64 = all.iter().map(|d| d.self_delta).sum();
            prop_assert_eq!(sum, signed_delta(base.total(), head.total()));
            for d in &all {
                prop_assert!(d.inclusive_base <= base.total() && d.inclusive_head <= head.total());
                prop_assert!(d.self_base <= d.inclusive_base && d.self_head <= d.inclusive_head);
            }
            if head.total() != base.total() {
                let shares: f64 = all.iter().map(|d| d.self_share).sum();
                prop_assert!((shares - 1.0).abs() < 1e-9);
            }
        }
    }
}
