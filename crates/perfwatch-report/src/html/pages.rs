//! The four pages. Markup is built by hand: every interpolated name goes through
//! [`escape_html`], every number through the unit formatter; no inline scripts (so a strict
//! Content-Security-Policy holds), each page's behaviour is chosen by `<body data-page>`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use jiff::Timestamp;
use perfwatch_model::metric::BUILTIN_ORDER;
use perfwatch_model::{CaseId, ComparisonReport, RunReport, Verdict};

use super::svg::{distribution, sparkline};
use super::{
    CaseView, Overview, SITE_NAME, case_data_href, case_href, escape_html as esc, is_safe_run_id, run_href,
};
use crate::units::{human, pct_change, trim};

fn fmt_time(t: &Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn short_commit(c: &str) -> &str {
    c.get(..12).unwrap_or(c)
}

/// The page frame: head, skip link, navigation, `body` and the scripts (`src` paths).
fn layout(title: &str, page: &str, body: &str, scripts: &[&str]) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{} · {SITE_NAME}</title>\
         <link rel=\"stylesheet\" href=\"assets/uPlot.min.css\"><link rel=\"stylesheet\" href=\"assets/app.css\">\
         </head><body data-page=\"{page}\"><a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><nav aria-label=\"Site\"><a class=\"brand\" href=\"index.html\">{SITE_NAME}</a> \
         <a href=\"index.html\">Overview</a> <a href=\"compare-latest.html\">Latest vs previous run</a></nav></header>\
         <main id=\"main\" tabindex=\"-1\">",
        esc(title)
    );
    out.push_str(body);
    out.push_str("</main><footer>Charts: <a href=\"assets/LICENSE-uPlot.txt\">uPlot</a> (MIT).</footer>");
    for s in scripts {
        let _ = write!(out, "<script src=\"{}\"></script>", esc(s));
    }
    out.push_str("</body></html>\n");
    out
}

fn verdict_badge(v: Option<Verdict>, ratio: Option<f64>) -> String {
    match v {
        Some(v) => {
            let r = ratio.map(|r| format!(" {}", pct_change(r))).unwrap_or_default();
            format!("<span class=\"badge v-{0}\">{0}{1}</span>", v.as_str(), esc(&r))
        }
        None => "<span class=\"muted\">—</span>".into(),
    }
}

fn verdict_rank(v: Option<Verdict>) -> u8 {
    match v {
        Some(Verdict::Regressed) => 0,
        Some(Verdict::Inconclusive) => 1,
        Some(Verdict::Improved) => 2,
        Some(Verdict::Unchanged) => 3,
        None => 4,
    }
}

/// The overview: every case × metric with its latest value, a sparkline, the latest verdict and
/// the newest change point; search, filters and sortable columns (see `assets/app.js`).
pub fn overview_page(o: &Overview) -> String {
    let cases: BTreeSet<&CaseId> = o.rows.iter().map(|r| &r.case).collect();
    let metrics: BTreeSet<&str> = o.rows.iter().map(|r| r.metric.as_str()).collect();
    let mut b = String::with_capacity(1024 + o.rows.len() * 1400);
    b.push_str("<h1>Benchmarks</h1><p class=\"meta\">");
    let _ = write!(b, "{} cases · {} series · {} runs", cases.len(), o.rows.len(), o.run_count);
    if let Some((newest, page)) = o.recent_runs.first() {
        b.push_str(" · newest run ");
        b.push_str(&run_link(&newest.id, *page, &fmt_time(&newest.started_at)));
    }
    if let Some(t) = &o.generated_at {
        let _ = write!(b, " · {} {}", if o.live { "live, as of" } else { "report made" }, esc(&fmt_time(t)));
    }
    b.push_str("</p>");
    b.push_str(
        "<div class=\"controls\" role=\"search\">\
         <label>Search <input id=\"pw-search\" type=\"search\" placeholder=\"case name\" autocomplete=\"off\"></label>\
         <label>Metric <select id=\"pw-metric\"><option value=\"\">all</option>",
    );
    for m in &metrics {
        let _ = write!(b, "<option>{}</option>", esc(m));
    }
    b.push_str(
        "</select></label><label>Show <select id=\"pw-show\"><option value=\"\">all series</option>\
         <option value=\"change\">with a change point</option>\
         <option value=\"regression\">newest change is a regression</option>\
         <option value=\"regressed\">latest verdict: regressed</option>\
         <option value=\"improved\">latest verdict: improved</option></select></label>\
         <output id=\"pw-shown\" aria-live=\"polite\"></output></div>",
    );
    b.push_str(
        "<table id=\"pw-overview\" class=\"grid\"><caption class=\"sr\">Every case and metric; \
         the column buttons sort</caption><thead><tr>\
         <th aria-sort=\"ascending\"><button type=\"button\" data-sort=\"name\">Case</button></th>\
         <th><button type=\"button\" data-sort=\"metric\">Metric</button></th>\
         <th class=\"num\"><button type=\"button\" data-sort=\"latest\">Latest</button></th>\
         <th>Trend</th>\
         <th><button type=\"button\" data-sort=\"verdict\">Latest vs previous</button></th>\
         <th><button type=\"button\" data-sort=\"cptime\">Newest change point</button></th>\
         <th class=\"num\"><button type=\"button\" data-sort=\"points\">Points</button></th>\
         </tr></thead><tbody>",
    );
    for r in &o.rows {
        let name = r.case.to_string();
        let latest = r.latest.as_ref();
        let _ = write!(
            b,
            "<tr data-name=\"{}\" data-metric=\"{}\" data-latest=\"{}\" data-verdict=\"{}\" data-vrank=\"{}\" \
             data-kind=\"{}\" data-cptime=\"{}\" data-points=\"{}\">",
            esc(&name.to_lowercase()),
            esc(&r.metric),
            latest.map_or(String::new(), |p| p.median.to_string()),
            r.verdict.map_or("", |v| v.as_str()),
            verdict_rank(r.verdict),
            r.change.as_ref().map_or("", |c| c.kind.as_str()),
            r.change.as_ref().and_then(|c| c.time).map_or(0, |t| t.as_second()),
            r.points
        );
        let _ = write!(
            b,
            "<td><a href=\"{}#metric={}\">{}</a></td><td>{}</td>",
            esc(&case_href(&r.case)),
            esc(&r.metric),
            esc(&name),
            esc(&r.metric)
        );
        match latest {
            Some(p) => {
                let _ = write!(
                    b,
                    "<td class=\"num\" title=\"95% CI {} – {}\">{}</td>",
                    esc(&human(p.ci95[0], &r.unit)),
                    esc(&human(p.ci95[1], &r.unit)),
                    esc(&human(p.median, &r.unit))
                );
            }
            None => b.push_str("<td class=\"num muted\">—</td>"),
        }
        let _ = write!(
            b,
            "<td>{}</td>",
            sparkline(&r.spark, 120.0, 24.0, &format!("trend of {name} {}", r.metric))
        );
        let _ = write!(b, "<td>{}</td>", verdict_badge(r.verdict, r.ratio));
        match &r.change {
            Some(c) => {
                let run = c.run_id.as_deref().unwrap_or_default();
                let at = c.commit.as_deref().map(short_commit).unwrap_or(&run[..run.len().min(8)]);
                let _ = write!(
                    b,
                    "<td><span class=\"badge k-{}\">{}</span> at <code>{}</code> <span class=\"muted\">{}</span></td>",
                    c.kind.as_str(),
                    esc(&pct_change(1.0 + c.change)),
                    esc(at),
                    esc(&c.time.as_ref().map(fmt_time).unwrap_or_default())
                );
            }
            None => b.push_str("<td class=\"muted\">none</td>"),
        }
        let _ = write!(b, "<td class=\"num\">{}</td></tr>", r.points);
    }
    b.push_str("</tbody></table>");
    if o.rows.is_empty() {
        b.push_str("<p>No results stored yet: run <code>perfwatch run</code> first.</p>");
    }
    b.push_str("<div class=\"cols\"><section><h2>Recent runs</h2><ul class=\"plain\">");
    for (run, page) in &o.recent_runs {
        let label = match &run.git {
            Some(g) => format!(
                "{} · {}{}{}",
                fmt_time(&run.started_at),
                short_commit(&g.commit),
                g.branch.as_deref().map(|b| format!(" ({b})")).unwrap_or_default(),
                if g.dirty { " dirty" } else { "" }
            ),
            None => fmt_time(&run.started_at),
        };
        let _ = write!(
            b,
            "<li>{} <span class=\"muted\">{}</span></li>",
            run_link(&run.id, *page, &label),
            esc(run.status.as_str())
        );
    }
    b.push_str("</ul></section><section><h2>Comparisons</h2><ul class=\"plain\">");
    for l in &o.comparisons {
        let _ = write!(b, "<li><a href=\"{}\">{}</a></li>", esc(&l.href), esc(&l.label));
    }
    b.push_str("</ul></section></div>");
    layout("Overview", "overview", &b, &["assets/app.js"])
}

fn run_link(id: &str, page: bool, label: &str) -> String {
    if page { format!("<a href=\"{}\">{}</a>", esc(&run_href(id)), esc(label)) } else { esc(label) }
}

/// A case page: history chart of the medians with the 95 % CI band, change points, hover and
/// keyboard details, metric switcher, x by run or time, zoom. The data come from
/// `data/runs.js` and [`case_data_href`].
pub fn case_page(c: &CaseView) -> String {
    let name = c.case.to_string();
    let mut b = String::with_capacity(4096);
    let _ = write!(b, "<h1 id=\"pw-case-name\">{}</h1>", esc(&name));
    b.push_str("<div class=\"controls\"><label>Metric <select id=\"pw-metric-select\">");
    for (m, unit, n) in &c.metrics {
        let _ = write!(b, "<option value=\"{0}\">{0} ({1}, {2} points)</option>", esc(m), esc(unit), n);
    }
    b.push_str(
        "</select></label><fieldset class=\"seg\"><legend>X axis</legend>\
         <label><input type=\"radio\" name=\"pw-x\" value=\"run\" checked> run</label>\
         <label><input type=\"radio\" name=\"pw-x\" value=\"time\"> time</label></fieldset>\
         <button type=\"button\" id=\"pw-zoom-in\">Zoom in</button>\
         <button type=\"button\" id=\"pw-zoom-out\">Zoom out</button>\
         <button type=\"button\" id=\"pw-zoom-reset\">Reset zoom</button></div>\
         <div id=\"pw-chart\" class=\"chart\" tabindex=\"0\" role=\"application\" \
         aria-label=\"History chart. Left and right arrows move between runs, Home and End jump, \
         Enter opens the run, plus and minus zoom, 0 resets the zoom. Drag to zoom with a mouse.\" \
         aria-describedby=\"pw-details\"></div>\
         <p id=\"pw-details\" class=\"details\" aria-live=\"polite\">Hover over or focus the chart to see a run; click a point to open it.</p>\
         <noscript><p>The chart needs JavaScript.</p></noscript>\
         <h2>Change points</h2><div id=\"pw-cps\"><p class=\"muted\">Loading…</p></div>",
    );
    if c.metrics.is_empty() {
        b.push_str("<p>No stored points for this case.</p>");
    }
    let data = case_data_href(&c.case);
    layout(&name, "case", &b, &["assets/app.js", "assets/uPlot.iife.min.js", "data/runs.js", &data])
}

/// A run page: metadata (host, git, labels), every case with every metric's median and CI,
/// caveats, failures and budgets. `case_has_page` says which cases get a link.
pub fn run_page(r: &RunReport, case_has_page: impl Fn(&CaseId) -> bool) -> String {
    let m = &r.run;
    let mut b = String::with_capacity(2048 + r.benchmarks.len() * 600);
    let _ = write!(b, "<h1>Run <code>{}</code></h1><table class=\"kv\"><tbody>", esc(&m.id));
    let mut row = |k: &str, v: String| {
        let _ = write!(b, "<tr><th scope=\"row\">{}</th><td>{}</td></tr>", esc(k), v);
    };
    row("Started", esc(&fmt_time(&m.started_at)));
    row("Ended", m.ended_at.as_ref().map_or("—".into(), |t| esc(&fmt_time(t))));
    row("Status", esc(m.status.as_str()));
    match &m.git {
        Some(g) => {
            row(
                "Commit",
                format!("<code>{}</code>{}", esc(&g.commit), if g.dirty { " (dirty work tree)" } else { "" }),
            );
            row("Branch", esc(g.branch.as_deref().unwrap_or("(detached)")));
        }
        None => row("Commit", "not a git work tree".into()),
    }
    let h = &m.host;
    row(
        "Host",
        format!("{} <span class=\"muted\">fingerprint {}</span>", esc(&h.hostname), esc(&h.fingerprint)),
    );
    row("CPU", format!("{} · {} logical cores", esc(&h.cpu), h.cores));
    row("Memory", esc(&human(h.memory_bytes as f64, "bytes")));
    row("OS", format!("{} · kernel {}", esc(&h.os), esc(&h.kernel)));
    row("Load at start", esc(&format!("{:.2} {:.2} {:.2}", h.load_avg[0], h.load_avg[1], h.load_avg[2])));
    if !m.labels.is_empty() {
        let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))).collect();
        row("Labels", labels.join(", "));
    }
    row("perfwatch", format!("{} · suite {}", esc(&m.perfwatch_version), esc(&m.suite_hash)));
    b.push_str("</tbody></table>");
    let _ = write!(b, "<h2>Cases ({})</h2>", r.benchmarks.len());
    b.push_str(
        "<table class=\"grid\"><thead><tr><th>Case</th><th>Status</th><th class=\"num\">Runs</th><th>Metric</th>\
         <th class=\"num\">Median</th><th class=\"num\">95% CI</th><th class=\"num\">p95</th><th>Caveats</th></tr></thead><tbody>",
    );
    for c in &r.benchmarks {
        let id = &c.case;
        let name = id.to_string();
        let span = c.metrics.len().max(1);
        let title = if case_has_page(id) {
            format!("<a href=\"{}\">{}</a>", esc(&case_href(id)), esc(&name))
        } else {
            esc(&name)
        };
        let mut notes: Vec<String> = c.caveats.iter().map(|cv| esc(&cv.to_string())).collect();
        if let Some(f) = &c.failure {
            notes.push(format!("<strong>{}</strong>", esc(&f.message)));
            if !f.stderr_tail.is_empty() {
                notes.push(format!("<pre>{}</pre>", esc(&f.stderr_tail)));
            }
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("<ul><li>{}</li></ul>", notes.join("</li><li>"))
        };
        let _ = write!(
            b,
            "<tr><td rowspan=\"{span}\">{title}</td><td rowspan=\"{span}\"><span class=\"badge s-{0}\">{0}</span></td>\
             <td rowspan=\"{span}\" class=\"num\">{1}</td>",
            c.status.as_str(),
            c.runs
        );
        if c.metrics.is_empty() {
            let _ = write!(b, "<td colspan=\"4\" class=\"muted\">no metrics</td><td>{notes}</td></tr>");
        }
        // Built-in metrics in their usual order (wall first), then custom ones by name.
        let mut metrics: Vec<_> = c.metrics.iter().collect();
        metrics.sort_by_key(|(m, _)| {
            (BUILTIN_ORDER.iter().position(|b| b == m).unwrap_or(BUILTIN_ORDER.len()), m.as_str())
        });
        for (i, (metric, s)) in metrics.into_iter().enumerate() {
            if i > 0 {
                b.push_str("<tr>");
            }
            let _ = write!(
                b,
                "<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{} – {}</td><td class=\"num\">{}</td>",
                esc(metric),
                esc(&human(s.median, &s.unit)),
                esc(&human(s.ci95[0], &s.unit)),
                esc(&human(s.ci95[1], &s.unit)),
                esc(&human(s.p95, &s.unit))
            );
            if i == 0 {
                let _ = write!(b, "<td rowspan=\"{span}\">{notes}</td>");
            }
            b.push_str("</tr>");
        }
    }
    b.push_str("</tbody></table>");
    if !r.budgets.is_empty() {
        b.push_str("<h2>Budgets</h2><table class=\"grid\"><thead><tr><th>Case</th><th>Budget</th><th class=\"num\">Measured</th><th>Status</th></tr></thead><tbody>");
        for bu in &r.budgets {
            let id = &bu.case;
            let _ = write!(
                b,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&id.to_string()),
                esc(&bu.budget),
                bu.measured.map_or("—".into(), |v| esc(&trim(v))),
                esc(&format!("{:?}", bu.status).to_lowercase())
            );
        }
        b.push_str("</tbody></table>");
    }
    layout(&format!("Run {}", short_commit(&m.id)), "run", &b, &["assets/app.js"])
}

/// A comparison page: verdict counts, warnings, and per case × metric the medians, the ratio with
/// its 95 % CI, the verdict and a strip plot of both sides' samples (taken from the two runs'
/// reports when given).
pub fn comparison_page(
    c: &ComparisonReport,
    baseline: Option<&RunReport>,
    candidate: Option<&RunReport>,
    title: &str,
) -> String {
    let mut b = String::with_capacity(2048 + c.comparisons.len() * 4000);
    let _ = write!(b, "<h1>{}</h1><table class=\"kv\"><tbody>", esc(title));
    for (label, side, report) in [("Baseline", &c.baseline, baseline), ("Candidate", &c.candidate, candidate)]
    {
        let mut v = run_link(&side.run_id, is_safe_run_id(&side.run_id), &side.run_id);
        if let Some(n) = &side.name {
            let _ = write!(v, " <span class=\"badge\">{}</span>", esc(n));
        }
        if let Some(commit) = &side.commit {
            let _ = write!(v, " · commit <code>{}</code>", esc(short_commit(commit)));
        }
        if let Some(r) = report {
            let _ = write!(v, " · {} · {}", esc(&fmt_time(&r.run.started_at)), esc(&r.run.host.hostname));
        }
        let _ = write!(b, "<tr><th scope=\"row\">{label}</th><td>{v}</td></tr>");
    }
    let s = &c.summary;
    let _ = write!(
        b,
        "</tbody></table><p class=\"summary\"><span class=\"badge v-regressed\">{} regressed</span> \
         <span class=\"badge v-improved\">{} improved</span> <span class=\"badge v-unchanged\">{} unchanged</span> \
         <span class=\"badge v-inconclusive\">{} inconclusive</span></p>",
        s.regressed, s.improved, s.unchanged, s.inconclusive
    );
    if !c.warnings.is_empty() {
        b.push_str("<ul class=\"warn\">");
        for w in &c.warnings {
            let _ = write!(b, "<li>{}</li>", esc(&w.to_string()));
        }
        b.push_str("</ul>");
    }
    b.push_str(
        "<div class=\"controls\"><label>Search <input id=\"pw-search\" type=\"search\" placeholder=\"case name\" autocomplete=\"off\"></label>\
         <output id=\"pw-shown\" aria-live=\"polite\"></output></div>\
         <table id=\"pw-compare\" class=\"grid\"><thead><tr><th>Case</th><th>Metric</th><th class=\"num\">Baseline</th>\
         <th class=\"num\">Candidate</th><th class=\"num\">Change (95% CI)</th><th>Verdict</th><th class=\"num\">p</th>\
         <th>Samples (B baseline, C candidate)</th></tr></thead><tbody>",
    );
    let samples = |r: Option<&RunReport>, id: &CaseId, metric: &str| -> Vec<f64> {
        r.and_then(|r| r.benchmarks.iter().find(|b| &b.case == id))
            .and_then(|b| b.metrics.get(metric))
            .map(|s| s.samples.clone())
            .unwrap_or_default()
    };
    for cmp in &c.comparisons {
        let id = &cmp.case;
        let name = id.to_string();
        let unit = cmp.unit.clone();
        let plot =
            distribution(&samples(baseline, id, &cmp.metric), &samples(candidate, id, &cmp.metric), |v| {
                human(v, &unit)
            });
        let _ = write!(
            b,
            "<tr data-name=\"{}\"><td><a href=\"{}#metric={}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{} <span class=\"muted\">[{}, {}]</span></td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&name.to_lowercase()),
            esc(&case_href(id)),
            esc(&cmp.metric),
            esc(&name),
            esc(&cmp.metric),
            esc(&human(cmp.baseline_median, &cmp.unit)),
            esc(&human(cmp.candidate_median, &cmp.unit)),
            esc(&pct_change(cmp.ratio)),
            esc(&pct_change(cmp.ci95[0])),
            esc(&pct_change(cmp.ci95[1])),
            verdict_badge(Some(cmp.verdict), None),
            esc(&format!("{:.3}", cmp.p_value)),
            plot
        );
    }
    b.push_str("</tbody></table>");
    if c.comparisons.is_empty() {
        b.push_str("<p>No case × metric was measured on both sides.</p>");
    }
    layout(title, "compare", &b, &["assets/app.js"])
}

/// A page with a title and one paragraph of text (empty states, "not found").
pub fn notice_page(title: &str, message: &str) -> String {
    layout(title, "notice", &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(message)), &["assets/app.js"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{Overview, OverviewRow};
    use perfwatch_model::{Better, HistoryPoint};

    #[test]
    fn names_are_escaped_everywhere() {
        let evil = CaseId::new("<script>alert(1)</script>", [("k\"", "'&")]);
        let point = HistoryPoint {
            run_id: "r1".into(),
            time: "2025-01-02T03:04:05Z".parse().unwrap(),
            commit: Some("<img src=x>".into()),
            median: 1.0,
            ci95: [0.9, 1.1],
        };
        let o = Overview {
            rows: vec![OverviewRow {
                case: evil.clone(),
                metric: "<b>m</b>".into(),
                unit: "s".into(),
                better: Better::Lower,
                points: 1,
                latest: Some(point),
                spark: vec![1.0, 2.0],
                verdict: None,
                ratio: None,
                change: None,
            }],
            ..Overview::default()
        };
        let html = overview_page(&o);
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>m</b>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let page =
            case_page(&CaseView { case: evil, metrics: vec![("<i>".into(), "s".into(), 1)], live: false });
        assert!(!page.contains("<script>alert") && !page.contains("<i>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
