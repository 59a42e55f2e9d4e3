//! Small inline SVG pictures drawn on the server: sparklines and sample distributions. They need
//! no script, so 500 of them on one page cost nothing at view time.

use std::fmt::Write as _;

use super::escape_html;

/// A trend sparkline of `values` (oldest first), `w`×`h` pixels, with the last point dotted.
pub(crate) fn sparkline(values: &[f64], w: f64, h: f64, label: &str) -> String {
    let vals: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if vals.len() < 2 {
        return String::new();
    }
    let (lo, hi) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let pad = 2.0;
    let step = (w - 2.0 * pad) / (vals.len() - 1) as f64;
    let y = |v: f64| pad + (h - 2.0 * pad) * (1.0 - (v - lo) / span);
    let mut pts = String::with_capacity(vals.len() * 12);
    for (i, &v) in vals.iter().enumerate() {
        let _ = write!(pts, "{:.1},{:.1} ", pad + step * i as f64, y(v));
    }
    let last = *vals.last().expect("two or more values");
    format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">\
         <polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.2\" points=\"{}\"/>\
         <circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"currentColor\"/></svg>",
        escape_html(label),
        pts.trim_end(),
        w - pad,
        y(last)
    )
}

/// Two strips of sample dots (baseline above, candidate below) on one shared axis, with each
/// median as a bar. `fmt` labels the axis ends.
pub(crate) fn distribution(baseline: &[f64], candidate: &[f64], fmt: impl Fn(f64) -> String) -> String {
    let all = baseline.iter().chain(candidate).copied().filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return String::new();
    }
    let (w, h, pad, label_w) = (260.0, 44.0, 4.0, 14.0);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x = |v: f64| label_w + pad + (w - label_w - 2.0 * pad) * (v - lo) / span;
    let mut out = format!(
        "<svg class=\"dist\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"samples: baseline above, candidate below, from {} to {}\">",
        h + 12.0,
        h + 12.0,
        escape_html(&fmt(lo)),
        escape_html(&fmt(hi))
    );
    for (row, (name, samples, class)) in
        [("B", baseline, "base"), ("C", candidate, "cand")].into_iter().enumerate()
    {
        let cy = 11.0 + row as f64 * 20.0;
        let _ = write!(out, "<text x=\"0\" y=\"{:.1}\" class=\"lbl\">{name}</text>", cy + 4.0);
        // At most 400 dots per strip: beyond that they only overlap.
        let stride = (samples.len() / 400).max(1);
        for (i, &v) in samples.iter().enumerate().filter(|(i, _)| i % stride == 0) {
            if v.is_finite() {
                // Deterministic jitter so that equal values stay visible.
                let jitter = ((i * 7919) % 9) as f64 - 4.0;
                let _ = write!(
                    out,
                    "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.8\"/>",
                    x(v),
                    cy + jitter
                );
            }
        }
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if !sorted.is_empty() {
            sorted.sort_by(f64::total_cmp);
            let med = sorted[sorted.len() / 2];
            let _ = write!(
                out,
                "<line class=\"med\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\"/>",
                x(med),
                cy - 8.0,
                cy + 8.0
            );
        }
    }
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" class=\"ax\">{}</text><text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{}</text></svg>",
        label_w + pad,
        h + 10.0,
        escape_html(&fmt(lo)),
        w - pad,
        h + 10.0,
        escape_html(&fmt(hi))
    );
    out
}
