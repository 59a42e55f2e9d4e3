//! The dashboard's data gathered from a store, shared by the static report ([`write_site`],
//! `perfwatch report --html`) and the live server (`perfwatch serve`): histories, the stored
//! change points, the latest comparison (by [`crate::compare`]'s rule), overview rows, and the
//! explanations of profiled cases between two stored runs ([`stored_explanation`]), which the
//! static report writes as files and the server draws on request.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, mpsc};

use perfwatch_detect::changepoint;
use perfwatch_detect::profile::{rank_changes, signed_delta};
use perfwatch_model::{
    CaseId, ChangePoint, ComparisonReport, ExplainReport, ExplainSide, HistoryPoint, Plan, Profile, Profiler,
    RunMeta, RunReport, SCHEMA_VERSION, Verdict, metric::BUILTIN_ORDER,
};
use perfwatch_report::flame;
use perfwatch_report::html::{
    self, CaseView, ExplainGraph, Link, Overview, OverviewRow, SeriesColumns, assets, case_data_href,
    case_href, case_slug, change_runs, explain_files, run_href,
};
use perfwatch_store::{RunFilter, SeriesInfo, Store};

use crate::error::{AppError, Result, StoreContext};
use crate::history;

/// What the pages show and how they are computed.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// Static report only: run pages are written for this many newest runs (plus every run at a
    /// change point, the two compared runs and baseline runs). Other points of a chart show their
    /// details on hover but link nowhere. Default 100.
    pub max_run_pages: usize,
    /// Points in each overview sparkline (the newest). Default 60.
    pub spark_points: usize,
    /// Detector settings for series that `perfwatch detect` has not analysed (those it has are
    /// shown as it stored them). Default: the detector's defaults.
    pub detect: changepoint::Options,
    /// The suite, for the thresholds and budgets of comparisons (as `perfwatch compare` uses
    /// them); without one, the default threshold and no budgets.
    pub plan: Option<Plan>,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            max_run_pages: 100,
            spark_points: 60,
            detect: changepoint::Options::default(),
            plan: None,
        }
    }
}

impl SiteOptions {
    /// `candidate` against `baseline` by the rule of `perfwatch compare`.
    pub fn compare(&self, baseline: &RunReport, candidate: &RunReport) -> ComparisonReport {
        crate::compare::build_report(baseline, None, candidate, self.plan.as_ref())
    }
}

/// What [`write_site`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteSummary {
    /// Cases (one page each).
    pub cases: usize,
    /// Case × metric series.
    pub series: usize,
    /// History points over all series.
    pub points: usize,
    /// Run pages written.
    pub run_pages: usize,
    /// Runs in the store.
    pub runs: usize,
    /// Files written.
    pub files: usize,
    /// Explanation pages written (each with its differential flame graph): one per case of a
    /// comparison page, and per change point, whose two runs both stored the case's profile.
    pub explanations: usize,
}

/// Position of a metric in display order: built-ins first, then custom ones by name.
fn metric_rank(m: &str) -> (usize, &str) {
    (BUILTIN_ORDER.iter().position(|b| *b == m).unwrap_or(BUILTIN_ORDER.len()), m)
}

/// Series grouped by case, metrics in display order.
pub fn group_by_case(series: Vec<SeriesInfo>) -> BTreeMap<CaseId, Vec<SeriesInfo>> {
    let mut by_case: BTreeMap<CaseId, Vec<SeriesInfo>> = BTreeMap::new();
    for s in series {
        by_case.entry(s.case.clone()).or_default().push(s);
    }
    for v in by_case.values_mut() {
        v.sort_by(|a, b| metric_rank(&a.metric).cmp(&metric_rank(&b.metric)));
    }
    by_case
}

/// The case view of a page.
pub fn case_view(case: &CaseId, series: &[SeriesInfo], live: bool) -> CaseView {
    CaseView {
        case: case.clone(),
        metrics: series.iter().map(|s| (s.metric.clone(), s.unit.clone(), s.points)).collect(),
        live,
    }
}

/// Verdicts of a comparison by case × metric.
pub type VerdictMap = HashMap<(CaseId, String), (Verdict, f64)>;

/// Verdicts of `c` by case × metric.
pub fn verdict_map(c: Option<&ComparisonReport>) -> VerdictMap {
    c.map(|c| {
        c.comparisons.iter().map(|x| ((x.case.clone(), x.metric.clone()), (x.verdict, x.ratio))).collect()
    })
    .unwrap_or_default()
}

/// One overview row from a series and its analysis; `points` may be only the newest ones
/// (at least `spark_points`), `total` is the length of the whole history.
pub fn overview_row(
    info: &SeriesInfo,
    points: &[HistoryPoint],
    total: usize,
    marks: &[ChangePoint],
    spark_points: usize,
    verdicts: &VerdictMap,
) -> OverviewRow {
    let from = points.len().saturating_sub(spark_points);
    let v = verdicts.get(&(info.case.clone(), info.metric.clone()));
    OverviewRow {
        case: info.case.clone(),
        metric: info.metric.clone(),
        unit: info.unit.clone(),
        better: info.better,
        points: total as u64,
        latest: points.last().cloned(),
        spark: points[from..].iter().map(|p| p.median).collect(),
        verdict: v.map(|v| v.0),
        ratio: v.map(|v| v.1),
        change: marks.last().cloned(),
    }
}

/// The newest run and the run before it on the same machine, compared; `None` with fewer than
/// two runs.
pub fn latest_comparison(
    store: &mut dyn Store,
    opts: &SiteOptions,
) -> Result<Option<(ComparisonReport, RunReport, RunReport)>> {
    let context = || "finding the latest comparison".to_string();
    let Some(latest) = store.latest_run(&RunFilter::default()).store_context(context)? else {
        return Ok(None);
    };
    let Some(prev) = store.previous_run(&latest.id, true).store_context(context)? else { return Ok(None) };
    let (Some(cand), Some(base)) =
        (store.run(&latest.id).store_context(context)?, store.run(&prev.id).store_context(context)?)
    else {
        return Ok(None);
    };
    let mut c = opts.compare(&base, &cand);
    c.candidate.name.get_or_insert_with(|| "latest".into());
    c.baseline.name.get_or_insert_with(|| "previous".into());
    Ok(Some((c, base, cand)))
}

/// File name of the page comparing the newest run against baseline `name`.
pub fn baseline_compare_href(name: &str) -> String {
    format!("compare-baseline-{}.html", case_slug(&CaseId::new(name, Vec::<(String, String)>::new())))
}

/// How many functions an explanation page of the dashboard ranks.
pub const EXPLAIN_TOP: usize = 20;

/// Why a case cannot be explained between two stored runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unexplained {
    /// The run (full id) has no stored profile of the case.
    NoProfile {
        /// The run.
        run_id: String,
    },
    /// The two profiles were made by different profilers (base's, head's), whose costs do not
    /// compare.
    Profilers(Profiler, Profiler),
}

impl std::fmt::Display for Unexplained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unexplained::NoProfile { run_id } => write!(f, "run {run_id} has no stored profile of this case"),
            Unexplained::Profilers(a, b) => write!(
                f,
                "the runs were profiled with {} and {}, whose costs do not compare",
                a.as_str(),
                b.as_str()
            ),
        }
    }
}

/// Where a case's cost moved between two stored runs (as `perfwatch explain --base RUN --head
/// RUN` finds it), with the two profiles for its flame graph.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExplanation {
    /// The ranked functions and both sides.
    pub report: ExplainReport,
    /// The base run's profile.
    pub base: Profile,
    /// The head run's profile.
    pub head: Profile,
}

impl StoredExplanation {
    /// The differential flame graph (head's shape, red where a frame's cost grew, blue where
    /// it shrank) as SVG, or why there is none (an empty head profile).
    pub fn diff_svg(&self) -> std::result::Result<String, String> {
        let r = &self.report;
        let title = format!("{}: {} → {}", r.case, r.base.label, r.head.label);
        flame::diff_flame_graph(&self.base, &self.head, &title, &r.unit)
    }

    /// The explanation's page with its graph at `svg_href` (see [`html::explanation_page`]),
    /// and the graph itself; without a graph, the page says why. `has_page` says which runs
    /// have a page to link.
    pub fn page(&self, svg_href: &str, has_page: &dyn Fn(&str) -> bool) -> (String, Option<String>) {
        match self.diff_svg() {
            Ok(svg) => {
                let height = flame::graph_height(&svg).unwrap_or(600);
                let graph = ExplainGraph { href: svg_href.to_string(), height };
                (html::explanation_page(&self.report, Some(&graph), "", has_page), Some(svg))
            }
            Err(why) => {
                let note = format!("No flame graph: {why}.");
                (html::explanation_page(&self.report, None, &note, has_page), None)
            }
        }
    }
}

/// One side of a stored explanation: the run's id as label, and its commit.
fn stored_side(run: &RunMeta, profile: &Profile) -> ExplainSide {
    ExplainSide {
        label: run.id.clone(),
        commit: run.git.as_ref().map(|g| g.commit.clone()),
        run_id: Some(run.id.clone()),
        total: profile.total(),
    }
}

/// The explanation of the case whose display form is `case` (`sort[n=1000]`, compared as
/// text, so any name works) between the stored runs `base` and `head`: their profiles diffed
/// per function and the `top` functions ranked. `Ok(Err(why))` when a run has no profile of
/// the case or the profilers differ.
pub fn stored_explanation(
    store: &mut dyn Store,
    case: &str,
    (base, head): (&RunMeta, &RunMeta),
    top: usize,
) -> Result<std::result::Result<StoredExplanation, Unexplained>> {
    let context = || format!("reading the profiles of {case}");
    let cases = store.profiled_cases(&head.id).store_context(context)?;
    let Some(id) = cases.into_iter().find(|c| c.to_string() == case) else {
        return Ok(Err(Unexplained::NoProfile { run_id: head.id.clone() }));
    };
    let Some(base_profile) = store.profile(&base.id, &id).store_context(context)? else {
        return Ok(Err(Unexplained::NoProfile { run_id: base.id.clone() }));
    };
    let Some(head_profile) = store.profile(&head.id, &id).store_context(context)? else {
        return Ok(Err(Unexplained::NoProfile { run_id: head.id.clone() }));
    };
    if base_profile.profiler != head_profile.profiler {
        return Ok(Err(Unexplained::Profilers(base_profile.profiler, head_profile.profiler)));
    }
    let profiler = head_profile.profiler;
    let report = ExplainReport {
        schema_version: SCHEMA_VERSION,
        case: id,
        profiler,
        unit: profiler.unit().to_string(),
        rounds: 1,
        base: stored_side(base, &base_profile),
        head: stored_side(head, &head_profile),
        total_delta: signed_delta(base_profile.total(), head_profile.total()),
        functions: rank_changes(&base_profile, &head_profile, top),
        files: None,
    };
    Ok(Ok(StoredExplanation { report, base: base_profile, head: head_profile }))
}

/// The cases each run has a stored profile of (runs without any left out): one cheap query
/// per run.
pub fn profiled_index(store: &mut dyn Store, runs: &[RunMeta]) -> Result<HashMap<String, HashSet<CaseId>>> {
    let mut index = HashMap::new();
    for r in runs {
        let cases =
            store.profiled_cases(&r.id).store_context(|| format!("reading the profiles of run {}", r.id))?;
        if !cases.is_empty() {
            index.insert(r.id.clone(), cases.into_iter().collect());
        }
    }
    Ok(index)
}

/// Whether both runs have a profile of `case`, by [`profiled_index`].
fn both_profiled(index: &HashMap<String, HashSet<CaseId>>, case: &CaseId, base: &str, head: &str) -> bool {
    [base, head].iter().all(|r| index.get(*r).is_some_and(|cases| cases.contains(case)))
}

/// Explanations the static report links: (case, base run, head run).
type Explained = BTreeSet<(CaseId, String, String)>;

fn write(dir: &Path, rel: &str, body: &str, files: &mut usize) -> Result<()> {
    let path = dir.join(rel);
    std::fs::write(&path, body).map_err(|e| AppError::io(format!("cannot write {}", path.display()), e))?;
    *files += 1;
    Ok(())
}

/// Run ids in the chronological order of `data/runs.js`, with their index.
pub fn run_index(runs: &[RunMeta]) -> HashMap<&str, usize> {
    let mut sorted: Vec<&RunMeta> = runs.iter().collect();
    sorted.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.id.cmp(&b.id)));
    sorted.into_iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect()
}

/// One case's histories (with what `detect` stored for them) read from the store, handed to a
/// worker.
struct CaseJob {
    case: CaseId,
    series: Vec<(SeriesInfo, Vec<HistoryPoint>, Option<Vec<ChangePoint>>)>,
    /// The runs with a stored profile of the case.
    profiled: HashSet<String>,
}

/// What the case workers of [`write_site`] produced.
#[derive(Default)]
struct CasePages {
    rows: Vec<OverviewRow>,
    /// Runs at a change point (they get a page).
    change_runs: BTreeSet<String>,
    /// Change points whose run and the run before both have a profile of the case.
    explained: Explained,
    files: usize,
    points: usize,
}

/// Writes the static, self-contained site for `store` into `dir` (created if missing; files of
/// an earlier report are overwritten, stale ones left alone). Open `DIR/index.html` in a
/// browser: nothing is fetched from a network.
///
/// Histories are read on the calling thread; change-point detection (for series `perfwatch
/// detect` has not analysed) and page rendering run on up to four worker threads.
pub fn write_site(store: &mut dyn Store, dir: &Path, opts: &SiteOptions) -> Result<SiteSummary> {
    for sub in ["", "assets", "data"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| AppError::io(format!("cannot create {}", d.display()), e))?;
    }
    let mut files = 0;
    for (path, _, body) in assets::ALL {
        write(dir, path, body, &mut files)?;
    }
    let context = || "reading the store".to_string();
    let runs = store.list_runs(&RunFilter::default()).store_context(context)?;
    let by_case = group_by_case(store.list_series().store_context(context)?);
    let latest = latest_comparison(store, opts)?;
    let verdicts = verdict_map(latest.as_ref().map(|l| &l.0));
    let profiled = profiled_index(store, &runs)?;
    let cases = write_cases(store, dir, &by_case, (&run_index(&runs), &verdicts, &profiled), opts)?;
    files += cases.files;
    let mut rows = cases.rows;
    let order: HashMap<(&CaseId, &str), usize> = by_case
        .iter()
        .flat_map(|(c, v)| v.iter().map(move |s| (c, s.metric.as_str())))
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    rows.sort_by_key(|r| order.get(&(&r.case, r.metric.as_str())).copied().unwrap_or(usize::MAX));

    // Which runs get a page: the newest, those at change points, the compared and baseline runs.
    let mut pages: BTreeSet<String> = runs.iter().take(opts.max_run_pages).map(|r| r.id.clone()).collect();
    pages.extend(cases.change_runs);
    if let Some((c, _, _)) = &latest {
        pages.extend([c.baseline.run_id.clone(), c.candidate.run_id.clone()]);
    }
    let baselines = store.list_baselines().store_context(context)?;
    pages.extend(baselines.iter().map(|b| b.run_id.clone()));
    let known: BTreeSet<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    pages.retain(|id| known.contains(id.as_str()));
    let mut run_pages = 0;
    for id in &pages {
        if let Some(report) = store.run(id).store_context(context)? {
            write(dir, &run_href(id), &html::run_page(&report, |c| by_case.contains_key(c)), &mut files)?;
            run_pages += 1;
        }
    }
    let mut explained = cases.explained;
    let links = write_comparisons(
        store,
        dir,
        (&runs, &baselines),
        latest.as_ref(),
        (opts, &profiled, &mut explained),
        &mut files,
    )?;
    let has_page = |id: &str| pages.contains(id);
    let explanations = write_explanations(store, dir, (&runs, &explained), &has_page, &mut files)?;
    write(dir, "data/runs.js", &html::runs_js(&runs, |r| pages.contains(&r.id)), &mut files)?;
    let overview = Overview {
        rows,
        recent_runs: runs.iter().take(20).map(|r| (r.clone(), pages.contains(&r.id))).collect(),
        run_count: runs.len(),
        comparisons: links,
        generated_at: Some(jiff::Timestamp::now()),
        live: false,
        pager: None,
    };
    let series = overview.rows.len();
    write(dir, "index.html", &html::overview_page(&overview), &mut files)?;
    let (cases, points, runs) = (by_case.len(), cases.points, runs.len());
    Ok(SiteSummary { cases, series, points, run_pages, runs, files, explanations })
}

/// Writes every case's page and data script: histories read here, pages made by workers.
fn write_cases(
    store: &mut dyn Store,
    dir: &Path,
    by_case: &BTreeMap<CaseId, Vec<SeriesInfo>>,
    (index, verdicts, profiled): (&HashMap<&str, usize>, &VerdictMap, &HashMap<String, HashSet<CaseId>>),
    opts: &SiteOptions,
) -> Result<CasePages> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let (tx, rx) = mpsc::sync_channel::<CaseJob>(workers * 2);
    let rx = Mutex::new(rx);
    let results = Mutex::new(CasePages::default());
    let failure: Mutex<Option<AppError>> = Mutex::new(None);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Ok(job) = { rx.lock().expect("queue lock").recv() } {
                    let case = job.case.to_string();
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let res = case_files(dir, job, index, verdicts, opts);
                        match res {
                            Ok(part) => {
                                let mut r = results.lock().expect("results lock");
                                r.rows.extend(part.rows);
                                r.change_runs.extend(part.change_runs);
                                r.explained.extend(part.explained);
                                r.files += part.files;
                                r.points += part.points;
                            }
                            Err(e) => {
                                failure.lock().expect("error lock").get_or_insert(e);
                            }
                        }
                    }));
                    if done.is_err() {
                        let message =
                            format!("analysing the history of {case} failed (see the panic message above)");
                        failure.lock().expect("error lock").get_or_insert(AppError::Executor(message));
                    }
                }
            });
        }
        for (case, infos) in by_case {
            let mut series = Vec::with_capacity(infos.len());
            for info in infos {
                let pts =
                    store.history(case, &info.metric, None).store_context(|| format!("reading {case}"))?;
                series.push((info.clone(), pts, history::stored_marks(store, info)?));
            }
            let profiled =
                profiled.iter().filter(|(_, cases)| cases.contains(case)).map(|(r, _)| r.clone()).collect();
            if tx.send(CaseJob { case: case.clone(), series, profiled }).is_err() {
                break;
            }
        }
        drop(tx);
        Ok(())
    })?;
    if let Some(e) = failure.into_inner().expect("error lock") {
        return Err(e);
    }
    Ok(results.into_inner().expect("results lock"))
}

/// One case's page and data script, and its overview rows.
fn case_files(
    dir: &Path,
    job: CaseJob,
    index: &HashMap<&str, usize>,
    verdicts: &VerdictMap,
    opts: &SiteOptions,
) -> Result<CasePages> {
    let marks: Vec<Vec<ChangePoint>> = job
        .series
        .iter()
        .map(|(info, pts, stored)| history::marks(stored.clone(), info.better, pts, &opts.detect))
        .collect();
    let cols: Vec<SeriesColumns<'_>> = job
        .series
        .iter()
        .zip(&marks)
        .map(|((info, pts, _), m)| SeriesColumns {
            metric: &info.metric,
            unit: &info.unit,
            better: info.better,
            points: pts,
            change_points: m,
        })
        .collect();
    let mut out = CasePages::default();
    for ((_, pts, _), m) in job.series.iter().zip(&marks) {
        for (b, h) in m.iter().filter_map(|c| change_runs(pts, c.index)) {
            if job.profiled.contains(b) && job.profiled.contains(h) {
                out.explained.insert((job.case.clone(), b.to_string(), h.to_string()));
            }
        }
    }
    let explain = |b: &str, h: &str| {
        out.explained
            .contains(&(job.case.clone(), b.to_string(), h.to_string()))
            .then(|| explain_files(&job.case, b, h).0)
    };
    let data = html::case_data_js(&job.case, &cols, index, &explain);
    write(dir, &case_data_href(&job.case), &data, &mut out.files)?;
    let infos: Vec<SeriesInfo> = job.series.iter().map(|(i, _, _)| i.clone()).collect();
    write(
        dir,
        &case_href(&job.case),
        &html::case_page(&case_view(&job.case, &infos, false)),
        &mut out.files,
    )?;
    for ((info, pts, _), m) in job.series.iter().zip(&marks) {
        out.rows.push(overview_row(info, pts, pts.len(), m, opts.spark_points, verdicts));
        out.change_runs.extend(m.iter().filter_map(|c| c.run_id.clone()));
        out.points += pts.len();
    }
    Ok(out)
}

/// The comparison page of `c`, linking the explanation of every case both runs have a profile
/// of (and noting those in `explained`).
fn comparison_with_explanations(
    (c, base, cand): (&ComparisonReport, &RunReport, &RunReport),
    title: &str,
    profiled: &HashMap<String, HashSet<CaseId>>,
    explained: &mut Explained,
) -> String {
    let (b, h) = (c.baseline.run_id.as_str(), c.candidate.run_id.as_str());
    for cmp in &c.comparisons {
        if both_profiled(profiled, &cmp.case, b, h) {
            explained.insert((cmp.case.clone(), b.to_string(), h.to_string()));
        }
    }
    let explain = |case: &CaseId| both_profiled(profiled, case, b, h).then(|| explain_files(case, b, h).0);
    html::comparison_page(c, Some(base), Some(cand), title, &explain)
}

/// The comparison pages: newest run vs the previous one, and vs every baseline.
fn write_comparisons(
    store: &mut dyn Store,
    dir: &Path,
    (runs, baselines): (&[RunMeta], &[perfwatch_store::BaselineInfo]),
    latest: Option<&(ComparisonReport, RunReport, RunReport)>,
    (opts, profiled, explained): (&SiteOptions, &HashMap<String, HashSet<CaseId>>, &mut Explained),
    files: &mut usize,
) -> Result<Vec<Link>> {
    let mut links = Vec::new();
    let title = "Latest run vs the previous one";
    let page = match latest {
        Some((c, base, cand)) => {
            links.push(Link { href: "compare-latest.html".into(), label: title.into() });
            comparison_with_explanations((c, base, cand), title, profiled, explained)
        }
        None => html::notice_page("No comparison", "The store holds fewer than two runs on one machine."),
    };
    write(dir, "compare-latest.html", &page, files)?;
    let Some(newest) = runs.first() else { return Ok(links) };
    let context = || "reading the store".to_string();
    let Some(cand) = store.run(&newest.id).store_context(context)? else { return Ok(links) };
    for b in baselines {
        if let Some(base) = store.run(&b.run_id).store_context(context)? {
            let mut c = opts.compare(&base, &cand);
            c.baseline.name = Some(b.name.clone());
            let title = format!("Latest run vs baseline {}", b.name);
            let href = baseline_compare_href(&b.name);
            let page = comparison_with_explanations((&c, &base, &cand), &title, profiled, explained);
            write(dir, &href, &page, files)?;
            links.push(Link { href, label: title });
        }
    }
    Ok(links)
}

/// Writes the page and the differential flame graph of every explanation in `explained`
/// ([`html::explain_files`]); returns how many pages it wrote (each with its graph, unless the
/// head's profile is empty: then the page says so instead).
fn write_explanations(
    store: &mut dyn Store,
    dir: &Path,
    (runs, explained): (&[RunMeta], &Explained),
    has_page: &dyn Fn(&str) -> bool,
    files: &mut usize,
) -> Result<usize> {
    let meta: HashMap<&str, &RunMeta> = runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut written = 0;
    for (case, b, h) in explained {
        let (Some(base), Some(head)) = (meta.get(b.as_str()), meta.get(h.as_str())) else { continue };
        let (page_file, svg_file) = explain_files(case, b, h);
        let (page, svg) = match stored_explanation(store, &case.to_string(), (base, head), EXPLAIN_TOP)? {
            Ok(e) => e.page(&svg_file, has_page),
            // Profiles of different profilers: the link still leads to a page, which says so.
            Err(why) => (html::notice_page("Nothing to explain", &format!("{why}.")), None),
        };
        write(dir, &page_file, &page, files)?;
        if let Some(svg) = svg {
            write(dir, &svg_file, &svg, files)?;
        }
        written += 1;
    }
    Ok(written)
}
