//! Gathering the dashboard's data from a store, shared by the static report ([`write_site`]) and
//! the live server: histories, change points, the latest comparison, overview rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use perfwatch_detect::changepoint::{self, detect};
use perfwatch_model::{
    Better, CaseId, ComparisonReport, HistoryPoint, RunMeta, RunReport, Verdict, metric::BUILTIN_ORDER,
};
use perfwatch_report::html::{
    self, CaseView, ChangeMark, Link, Overview, OverviewRow, SeriesColumns, assets, case_data_href,
    case_href, case_slug, run_href,
};
use perfwatch_store::{RunFilter, SeriesInfo, Store};

use crate::ServerError;

/// A function comparing a candidate run (second) against a baseline run (first).
pub type Comparer = Arc<dyn Fn(&RunReport, &RunReport) -> ComparisonReport + Send + Sync>;

/// What the pages show and how they are computed.
#[derive(Clone)]
pub struct SiteOptions {
    /// Static report only: run pages are written for this many newest runs (plus every run at a
    /// change point, the two compared runs and baseline runs). Other points of a chart show their
    /// details on hover but link nowhere. Default 100.
    pub max_run_pages: usize,
    /// Points in each overview sparkline (the newest). Default 60.
    pub spark_points: usize,
    /// Change-point detector settings. Default: the detector's defaults.
    pub detect: changepoint::Options,
    /// Threshold τ of the built-in comparison (a fraction). Default 0.02.
    pub threshold: f64,
    /// How to compare two runs; `None` uses `perfwatch_detect::verdict::compare_runs` (the rule
    /// `perfwatch compare` applies) with `threshold` for every metric.
    pub comparer: Option<Comparer>,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            max_run_pages: 100,
            spark_points: 60,
            detect: changepoint::Options::default(),
            threshold: 0.02,
            comparer: None,
        }
    }
}

impl std::fmt::Debug for SiteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteOptions")
            .field("max_run_pages", &self.max_run_pages)
            .field("spark_points", &self.spark_points)
            .field("detect", &self.detect)
            .field("threshold", &self.threshold)
            .field("comparer", &self.comparer.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl SiteOptions {
    pub(crate) fn compare(&self, baseline: &RunReport, candidate: &RunReport) -> ComparisonReport {
        match &self.comparer {
            Some(c) => c(baseline, candidate),
            None => perfwatch_detect::verdict::compare_runs(baseline, candidate, &|_, _| self.threshold),
        }
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
}

/// Change points of a history, placed on its runs.
pub(crate) fn change_marks(
    points: &[HistoryPoint],
    better: Better,
    opts: &changepoint::Options,
) -> Vec<ChangeMark> {
    if points.len() < 4 {
        return Vec::new();
    }
    let medians: Vec<f64> = points.iter().map(|p| p.median).collect();
    detect(&medians, opts)
        .into_iter()
        .filter_map(|c| {
            let p = points.get(c.index)?;
            Some(ChangeMark {
                index: c.index,
                run_id: p.run_id.clone(),
                commit: p.commit.clone(),
                time: p.time,
                before: c.before,
                after: c.after,
                change: c.change,
                p_value: c.p_value,
                kind: ChangeMark::kind_for(c.change, better),
            })
        })
        .collect()
}

/// Position of a metric in display order: built-ins first, then custom ones by name.
fn metric_rank(m: &str) -> (usize, &str) {
    (BUILTIN_ORDER.iter().position(|b| *b == m).unwrap_or(BUILTIN_ORDER.len()), m)
}

/// Series grouped by case, metrics in display order.
pub(crate) fn group_by_case(series: Vec<SeriesInfo>) -> BTreeMap<CaseId, Vec<SeriesInfo>> {
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
pub(crate) fn case_view(case: &CaseId, series: &[SeriesInfo], live: bool) -> CaseView {
    CaseView {
        case: case.clone(),
        metrics: series.iter().map(|s| (s.metric.clone(), s.unit.clone(), s.points)).collect(),
        live,
    }
}

/// Verdicts of a comparison by case × metric.
pub(crate) type VerdictMap = HashMap<(CaseId, String), (Verdict, f64)>;

pub(crate) fn verdict_map(c: Option<&ComparisonReport>) -> VerdictMap {
    c.map(|c| {
        c.comparisons
            .iter()
            .map(|x| {
                (
                    (CaseId { name: x.name.clone(), params: x.params.clone() }, x.metric.clone()),
                    (x.verdict, x.ratio),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

/// One overview row from a series and its analysis; `points` may be only the newest ones
/// (at least `spark_points`), `total` is the length of the whole history.
pub(crate) fn overview_row(
    info: &SeriesInfo,
    points: &[HistoryPoint],
    total: usize,
    marks: &[ChangeMark],
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
pub(crate) fn latest_comparison(
    store: &mut dyn Store,
    opts: &SiteOptions,
) -> Result<Option<(ComparisonReport, RunReport, RunReport)>, ServerError> {
    let Some(latest) = store.latest_run(&RunFilter::default())? else { return Ok(None) };
    let Some(prev) = store.previous_run(&latest.id, true)? else { return Ok(None) };
    let (Some(cand), Some(base)) = (store.run(&latest.id)?, store.run(&prev.id)?) else { return Ok(None) };
    let mut c = opts.compare(&base, &cand);
    c.candidate.name.get_or_insert_with(|| "latest".into());
    c.baseline.name.get_or_insert_with(|| "previous".into());
    Ok(Some((c, base, cand)))
}

/// File name of the page comparing the newest run against baseline `name`.
pub(crate) fn baseline_compare_href(name: &str) -> String {
    format!("compare-baseline-{}.html", case_slug(&CaseId::new(name, Vec::<(String, String)>::new())))
}

fn write(dir: &Path, rel: &str, body: &str, files: &mut usize) -> Result<(), ServerError> {
    let path = dir.join(rel);
    std::fs::write(&path, body)
        .map_err(|source| ServerError::Io { context: format!("cannot write {}", path.display()), source })?;
    *files += 1;
    Ok(())
}

/// Run ids in the chronological order of `data/runs.js`, with their index.
pub(crate) fn run_index(runs: &[RunMeta]) -> HashMap<&str, usize> {
    let mut sorted: Vec<&RunMeta> = runs.iter().collect();
    sorted.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.id.cmp(&b.id)));
    sorted.into_iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect()
}

/// One case's histories read from the store, handed to a worker.
struct CaseJob {
    case: CaseId,
    series: Vec<(SeriesInfo, Vec<HistoryPoint>)>,
}

/// Opens the store at `store_url` and writes the static site into `dir`: what
/// `perfwatch report --html DIR` does (see [`write_site`]).
pub fn report_html(store_url: &str, dir: &Path, opts: &SiteOptions) -> Result<SiteSummary, ServerError> {
    let mut store = perfwatch_store::open(store_url)?;
    write_site(store.as_mut(), dir, opts)
}

/// Writes the static, self-contained site for `store` into `dir` (created if missing; files of
/// an earlier report are overwritten, stale ones left alone). Open `DIR/index.html` in a
/// browser: nothing is fetched from a network.
///
/// Histories are read on the calling thread; change-point detection and page rendering run on
/// up to four worker threads.
pub fn write_site(store: &mut dyn Store, dir: &Path, opts: &SiteOptions) -> Result<SiteSummary, ServerError> {
    for sub in ["", "assets", "data"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|source| ServerError::Io {
            context: format!("cannot create {}", d.display()),
            source,
        })?;
    }
    let mut files = 0;
    for (path, _, body) in assets::ALL {
        write(dir, path, body, &mut files)?;
    }
    let runs = store.list_runs(&RunFilter::default())?;
    let by_case = group_by_case(store.list_series()?);
    let latest = latest_comparison(store, opts)?;
    let verdicts = verdict_map(latest.as_ref().map(|l| &l.0));
    let index = run_index(&runs);

    // Workers: detect, render, write; main thread: read histories.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let (tx, rx) = mpsc::sync_channel::<CaseJob>(workers * 2);
    let rx = Mutex::new(rx);
    let results: Mutex<(Vec<OverviewRow>, BTreeSet<String>, usize, usize)> = Mutex::new(Default::default());
    let failure: Mutex<Option<ServerError>> = Mutex::new(None);
    let read_result = std::thread::scope(|scope| -> Result<(), ServerError> {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let job = { rx.lock().expect("queue lock").recv() };
                    let Ok(job) = job else { break };
                    let case = job.case.to_string();
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut rows = Vec::new();
                        let mut cps = BTreeSet::new();
                        let marks: Vec<Vec<ChangeMark>> = job
                            .series
                            .iter()
                            .map(|(info, pts)| change_marks(pts, info.better, &opts.detect))
                            .collect();
                        let cols: Vec<SeriesColumns<'_>> = job
                            .series
                            .iter()
                            .zip(&marks)
                            .map(|((info, pts), m)| SeriesColumns {
                                metric: &info.metric,
                                unit: &info.unit,
                                better: info.better,
                                points: pts,
                                change_points: m,
                            })
                            .collect();
                        let data = html::case_data_js(&job.case, &cols, &index);
                        let infos: Vec<SeriesInfo> = job.series.iter().map(|(i, _)| i.clone()).collect();
                        let page = html::case_page(&case_view(&job.case, &infos, false));
                        let mut n_files = 0;
                        let res = write(dir, &case_data_href(&job.case), &data, &mut n_files)
                            .and_then(|()| write(dir, &case_href(&job.case), &page, &mut n_files));
                        if let Err(e) = res {
                            failure.lock().expect("error lock").get_or_insert(e);
                        }
                        let mut n_points = 0;
                        for ((info, pts), m) in job.series.iter().zip(&marks) {
                            rows.push(overview_row(info, pts, pts.len(), m, opts.spark_points, &verdicts));
                            cps.extend(m.iter().map(|c| c.run_id.clone()));
                            n_points += pts.len();
                        }
                        let mut r = results.lock().expect("results lock");
                        r.0.extend(rows);
                        r.1.extend(cps);
                        r.2 += n_files;
                        r.3 += n_points;
                    }));
                    if done.is_err() {
                        failure.lock().expect("error lock").get_or_insert(ServerError::Internal(format!(
                            "analysing the history of {case} failed (see the panic message above)"
                        )));
                    }
                }
            });
        }
        for (case, infos) in &by_case {
            let mut series = Vec::with_capacity(infos.len());
            for info in infos {
                let pts = store.history(case, &info.metric, None)?;
                series.push((info.clone(), pts));
            }
            if tx.send(CaseJob { case: case.clone(), series }).is_err() {
                break;
            }
        }
        drop(tx);
        Ok(())
    });
    read_result?;
    if let Some(e) = failure.into_inner().expect("error lock") {
        return Err(e);
    }
    let (mut rows, cp_runs, case_files, points) = results.into_inner().expect("results lock");
    files += case_files;
    let order: HashMap<(&CaseId, &str), usize> = by_case
        .iter()
        .flat_map(|(c, v)| v.iter().map(move |s| (c, s.metric.as_str())))
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    rows.sort_by_key(|r| order.get(&(&r.case, r.metric.as_str())).copied().unwrap_or(usize::MAX));

    // Which runs get a page.
    let mut pages: BTreeSet<String> = runs.iter().take(opts.max_run_pages).map(|r| r.id.clone()).collect();
    pages.extend(cp_runs);
    if let Some((c, _, _)) = &latest {
        pages.insert(c.baseline.run_id.clone());
        pages.insert(c.candidate.run_id.clone());
    }
    let baselines = store.list_baselines()?;
    pages.extend(baselines.iter().map(|b| b.run_id.clone()));
    let known: BTreeSet<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    pages.retain(|id| known.contains(id.as_str()));
    let mut run_pages = 0;
    for id in &pages {
        if let Some(report) = store.run(id)? {
            let page = html::run_page(&report, |c| by_case.contains_key(c));
            write(dir, &run_href(id), &page, &mut files)?;
            run_pages += 1;
        }
    }

    // Comparisons.
    let mut links = Vec::new();
    match &latest {
        Some((c, base, cand)) => {
            write(
                dir,
                "compare-latest.html",
                &html::comparison_page(c, Some(base), Some(cand), "Latest run vs the previous one"),
                &mut files,
            )?;
            links.push(Link {
                href: "compare-latest.html".into(),
                label: "Latest run vs the previous one".into(),
            });
        }
        None => write(
            dir,
            "compare-latest.html",
            &html::notice_page("No comparison", "The store holds fewer than two runs on one machine."),
            &mut files,
        )?,
    }
    if let Some(newest) = runs.first() {
        let cand = store.run(&newest.id)?;
        for b in &baselines {
            if let (Some(cand), Some(base)) = (&cand, store.run(&b.run_id)?) {
                let mut c = opts.compare(&base, cand);
                c.baseline.name = Some(b.name.clone());
                let title = format!("Latest run vs baseline {}", b.name);
                let href = baseline_compare_href(&b.name);
                write(dir, &href, &html::comparison_page(&c, Some(&base), Some(cand), &title), &mut files)?;
                links.push(Link { href, label: title });
            }
        }
    }

    write(dir, "data/runs.js", &html::runs_js(&runs, |r| pages.contains(&r.id)), &mut files)?;
    let overview = Overview {
        rows,
        recent_runs: runs.iter().take(20).map(|r| (r.clone(), pages.contains(&r.id))).collect(),
        run_count: runs.len(),
        comparisons: links,
        generated_at: Some(jiff::Timestamp::now()),
        live: false,
    };
    let series = overview.rows.len();
    write(dir, "index.html", &html::overview_page(&overview), &mut files)?;
    Ok(SiteSummary { cases: by_case.len(), series, points, run_pages, runs: runs.len(), files })
}
