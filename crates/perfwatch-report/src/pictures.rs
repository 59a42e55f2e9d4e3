//! Small pictures for the terminal: a sparkline of a series and a distribution strip.
//!
//! Both are one line of Unicode block characters so they survive pipes, logs and
//! `tmux capture-pane`; colour is never needed to read them.

/// Points in a sparkline: the newest, so it fits on one line beside a title (the
/// detection report keeps this many values per series for it).
pub const SPARK_POINTS: usize = 60;

/// Eight heights, lowest first (U+2581 … U+2588).
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per value, its height scaled between the smallest and largest finite value
/// (a flat series is drawn at mid height; a value that is not finite is a space).
pub fn sparkline(values: &[f64]) -> String {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi <= lo {
                BARS[3]
            } else {
                let level = ((v - lo) / (hi - lo) * (BARS.len() - 1) as f64).round() as usize;
                BARS[level.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// A histogram of `values` over `[lo, hi]` in `width` bins, one character each: a space for
/// an empty bin, else a bar whose height is the bin's share of the fullest bin of the strip
/// (so two strips drawn over the same range can be read against each other).
pub fn strip(values: &[f64], (lo, hi): (f64, f64), width: usize) -> String {
    let counts = bin_counts(values, (lo, hi), width);
    let fullest = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                ' '
            } else {
                let level = (c * BARS.len()).div_ceil(fullest.max(1)) - 1;
                BARS[level.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// Counts of finite `values` in `width` equal bins over `[lo, hi]`; values outside are left
/// out, `hi` falls in the last bin, a zero-width range puts everything in the middle bin.
fn bin_counts(values: &[f64], (lo, hi): (f64, f64), width: usize) -> Vec<usize> {
    let mut counts = vec![0usize; width];
    if width == 0 {
        return counts;
    }
    for &v in values.iter().filter(|v| v.is_finite() && **v >= lo && **v <= hi) {
        let bin = if hi > lo { ((v - lo) / (hi - lo) * width as f64) as usize } else { width / 2 };
        counts[bin.min(width - 1)] += 1;
    }
    counts
}

/// The range two samples are drawn over: from the smaller 1st to the larger 99th
/// percentile-ish bound (the extremes after dropping one value in a hundred on each side), so
/// one wild run does not squash both strips into a column.
pub fn shared_range(a: &[f64], b: &[f64]) -> (f64, f64) {
    let trimmed = |xs: &[f64]| -> Option<(f64, f64)> {
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let cut = v.len() / 100;
        Some((v[cut], v[v.len() - 1 - cut]))
    };
    match (trimmed(a), trimmed(b)) {
        (Some((la, ha)), Some((lb, hb))) => (la.min(lb), ha.max(hb)),
        (Some(r), None) | (None, Some(r)) => r,
        (None, None) => (0.0, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_sparkline_spans_lowest_to_highest() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[5.0, 5.0, 5.0]), "▄▄▄");
        assert_eq!(sparkline(&[1.0, f64::NAN, 3.0]), "▁ █");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn a_strip_puts_each_value_in_its_bin() {
        // Bins of 1.0 over [0, 4]: 0.5 | 1.2 1.7 | - | 3.9 4.0
        assert_eq!(bin_counts(&[0.5, 1.2, 1.7, 3.9, 4.0], (0.0, 4.0), 4), vec![1, 2, 0, 2]);
        assert_eq!(strip(&[0.5, 1.2, 1.7, 3.9, 4.0], (0.0, 4.0), 4), "▄█ █");
        // Outside the range: left out; a point range: the middle bin.
        assert_eq!(bin_counts(&[-1.0, 9.0], (0.0, 4.0), 4), vec![0, 0, 0, 0]);
        assert_eq!(bin_counts(&[2.0, 2.0], (2.0, 2.0), 5), vec![0, 0, 2, 0, 0]);
    }

    #[test]
    fn the_shared_range_ignores_one_wild_value_in_a_hundred() {
        let mut a: Vec<f64> = (0..200).map(|i| 10.0 + f64::from(i) / 200.0).collect();
        a.push(1000.0);
        let b: Vec<f64> = (0..200).map(|i| 10.5 + f64::from(i) / 200.0).collect();
        let (lo, hi) = shared_range(&a, &b);
        assert!(lo < 10.05 && hi < 11.5, "{lo} {hi}");
    }

    proptest! {
        #[test]
        fn pictures_have_one_char_per_value_or_bin(
            xs in prop::collection::vec(-1e6f64..1e6, 0..80), width in 0usize..60,
        ) {
            prop_assert_eq!(sparkline(&xs).chars().count(), xs.len());
            let range = shared_range(&xs, &[]);
            prop_assert_eq!(strip(&xs, range, width).chars().count(), width);
            // Every value inside the range is counted once.
            let inside = xs.iter().filter(|x| **x >= range.0 && **x <= range.1).count();
            let counted: usize = bin_counts(&xs, range, width).iter().sum();
            prop_assert_eq!(counted, if width == 0 { 0 } else { inside });
        }
    }
}
