//! The store thread of `perfwatch serve` and what it caches: pages and data are computed here,
//! one request at a time, from one connection; handlers send it closures ([`App::call`]).
//!
//! The PostgreSQL client is blocking and must not run on a tokio worker, hence a thread of its
//! own. A panic while answering (a bug in detection, say) loses only that request (500): the
//! thread and its store survive.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, mpsc};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use perfwatch_app::AppError;
use perfwatch_app::history;
use perfwatch_app::site::{
    EXPLAIN_TOP, SiteOptions, StoredExplanation, Unexplained, baseline_compare_href, group_by_case,
    latest_comparison, overview_row, run_index, stored_explanation, verdict_map,
};
use perfwatch_model::{CaseId, ChangePoint, ComparisonReport, HistoryPoint, RunMeta, RunReport, RunStatus};
use perfwatch_report::html::{
    self, Link, Overview, Pager, SeriesColumns, case_slug, change_runs, explain_href, is_safe_run_id,
};
use perfwatch_store::{RunFilter, SeriesInfo, Store, StoreError};

use crate::ingest::{Gate, Pool};
use crate::metrics::{LatestPoint, RequestCounts};

/// Overview pages cached at once; beyond them the cache starts over (people read the first
/// few pages; a crawler walking all of them must not make the cache hold the whole store).
const CACHED_PAGES: usize = 16;

/// A request's work, run on the store thread.
pub(crate) type Job = Box<dyn FnOnce(&mut Db) + Send>;
type Cases = Arc<BTreeMap<CaseId, Vec<SeriesInfo>>>;
/// Change points of a series with the point count and newest run id they were computed for.
type CachedMarks = (usize, String, Arc<Vec<ChangePoint>>);

/// What `GET /explain` finds for a case and two run ids.
pub(crate) enum Explanation {
    /// No stored run has this id (or it is a prefix of several).
    NoRun(String),
    /// The runs are stored, but cannot be explained for this case.
    Unexplained(Unexplained),
    /// The explanation.
    Found(Box<StoredExplanation>),
}

/// Runs `f`, turning a panic into `None` so that the store thread survives it; the request
/// that caused it gets a 500 (its reply channel is dropped).
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> Option<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

/// The store thread's loop: jobs first; when none is waiting, warm the change-point cache one
/// series at a time so that the first overview does not have to analyse every history.
pub(crate) fn serve_jobs(mut db: Db, rx: mpsc::Receiver<Job>, warm_up: bool) {
    loop {
        match rx.try_recv() {
            Ok(job) => run_job(job, &mut db),
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                if warm_up && guarded(|| db.warm_up_step()).unwrap_or(false) {
                    continue;
                }
                match rx.recv() {
                    Ok(job) => run_job(job, &mut db),
                    Err(_) => break,
                }
            }
        }
    }
}

fn run_job(job: Job, db: &mut Db) {
    if guarded(|| job(db)).is_none() {
        // The cached pages may be half-updated: start over.
        db.forget();
    }
}

/// The store and what is cached from it; lives on the store thread only.
pub(crate) struct Db {
    pub(crate) store: Box<dyn Store>,
    opts: SiteOptions,
    /// Newest run and its status when the caches below were filled.
    key: Option<(String, RunStatus)>,
    cases: Option<Cases>,
    /// Overview pages made since the caches were last dropped, by page number (at most
    /// [`CACHED_PAGES`]).
    overview: HashMap<usize, Arc<String>>,
    /// Series per overview page.
    page_size: usize,
    runs: Option<Arc<Vec<RunMeta>>>,
    runs_js: Option<Arc<String>>,
    /// The newest point of every series, for `/metrics`.
    latest: Option<Arc<Vec<LatestPoint>>>,
    /// Change points by series, valid for (points, newest run id).
    marks: HashMap<(CaseId, String), CachedMarks>,
    /// Series the idle warm-up has analysed since the series list was last read.
    warmed: HashSet<(CaseId, String)>,
}

impl Db {
    pub(crate) fn new(store: Box<dyn Store>, opts: SiteOptions, page_size: usize) -> Db {
        Db {
            store,
            opts,
            key: None,
            cases: None,
            overview: HashMap::new(),
            page_size: page_size.max(1),
            runs: None,
            runs_js: None,
            latest: None,
            marks: HashMap::new(),
            warmed: HashSet::new(),
        }
    }

    /// Drops the page caches (a run was added, or a page failed half-way).
    pub(crate) fn forget(&mut self) {
        self.key = None;
        self.cases = None;
        self.overview.clear();
        self.runs = None;
        self.runs_js = None;
        self.latest = None;
        self.warmed.clear();
    }

    /// Drops the page caches when a run was added or is still being written.
    fn refresh(&mut self) -> Result<(), StoreError> {
        let key = self.store.latest_run(&RunFilter::default())?.map(|r| (r.id, r.status));
        let settled = matches!(&key, Some((_, RunStatus::Complete | RunStatus::Interrupted)));
        if key != self.key || !settled {
            self.forget();
            self.key = key;
        }
        Ok(())
    }

    pub(crate) fn cases(&mut self) -> Result<Cases, StoreError> {
        self.refresh()?;
        if let Some(c) = &self.cases {
            return Ok(c.clone());
        }
        let c = Arc::new(group_by_case(self.store.list_series()?));
        self.cases = Some(c.clone());
        Ok(c)
    }

    pub(crate) fn case_by_slug(
        &mut self,
        slug: &str,
    ) -> Result<Option<(CaseId, Vec<SeriesInfo>)>, StoreError> {
        let cases = self.cases()?;
        Ok(cases.iter().find(|(c, _)| case_slug(c) == slug).map(|(c, s)| (c.clone(), s.clone())))
    }

    /// The change points of a series whose whole history is `points`: those `perfwatch
    /// detect` stored (read afresh: a `detect` may have run since), else computed here.
    pub(crate) fn marks(
        &mut self,
        info: &SeriesInfo,
        points: &[HistoryPoint],
    ) -> Result<Arc<Vec<ChangePoint>>, StoreError> {
        match self.stored_marks(info)? {
            Some(stored) => Ok(stored),
            None => Ok(self.computed_marks(info, points)),
        }
    }

    /// The change points of a series whose newest points are `recent` (and whose length is
    /// `info.points`), reading the whole history only when they must be computed anew.
    fn cached_marks(
        &mut self,
        info: &SeriesInfo,
        recent: &[HistoryPoint],
    ) -> Result<Arc<Vec<ChangePoint>>, StoreError> {
        if let Some(stored) = self.stored_marks(info)? {
            return Ok(stored);
        }
        let last = recent.last().map(|p| p.run_id.as_str()).unwrap_or_default();
        if let Some((n, l, m)) = self.marks.get(&(info.case.clone(), info.metric.clone()))
            && *n as u64 == info.points
            && l == last
        {
            return Ok(m.clone());
        }
        let points = self.store.history(&info.case, &info.metric, None)?;
        Ok(self.computed_marks(info, &points))
    }

    fn stored_marks(&mut self, info: &SeriesInfo) -> Result<Option<Arc<Vec<ChangePoint>>>, StoreError> {
        Ok(history::stored_marks(self.store.as_mut(), info).map_err(app_store_error)?.map(Arc::new))
    }

    /// Change points of a series `detect` never analysed, computed with the dashboard's
    /// settings and cached until the history grows.
    fn computed_marks(&mut self, info: &SeriesInfo, points: &[HistoryPoint]) -> Arc<Vec<ChangePoint>> {
        let key = (info.case.clone(), info.metric.clone());
        let last = points.last().map(|p| p.run_id.clone()).unwrap_or_default();
        if let Some((n, l, m)) = self.marks.get(&key)
            && *n == points.len()
            && *l == last
        {
            return m.clone();
        }
        let m = Arc::new(history::computed_marks(info.better, points, &self.opts.detect));
        self.marks.insert(key, (points.len(), last, m.clone()));
        m
    }

    /// Analyses one series whose change points are not cached yet; `false` when there is none
    /// (or the store fails: then the pages report the error when asked).
    fn warm_up_step(&mut self) -> bool {
        let Ok(cases) = self.cases() else { return false };
        let cold = cases.values().flatten().find(|info| {
            let key = (info.case.clone(), info.metric.clone());
            !self.warmed.contains(&key)
                && self.marks.get(&key).is_none_or(|(n, _, _)| *n as u64 != info.points)
        });
        let Some(info) = cold.cloned() else { return false };
        self.warmed.insert((info.case.clone(), info.metric.clone()));
        if matches!(self.stored_marks(&info), Ok(Some(_))) {
            return true; // `detect` analysed it: nothing to compute
        }
        match self.store.history(&info.case, &info.metric, None) {
            Ok(points) => {
                self.computed_marks(&info, &points);
                true
            }
            Err(_) => false,
        }
    }

    /// Every run, newest first.
    fn runs(&mut self) -> Result<Arc<Vec<RunMeta>>, StoreError> {
        self.refresh()?;
        if let Some(r) = &self.runs {
            return Ok(r.clone());
        }
        let r = Arc::new(self.store.list_runs(&RunFilter::default())?);
        self.runs = Some(r.clone());
        Ok(r)
    }

    /// `data/runs.js`: every run, all with pages (the server renders any run).
    pub(crate) fn runs_js(&mut self) -> Result<Arc<String>, StoreError> {
        self.refresh()?;
        if let Some(r) = &self.runs_js {
            return Ok(r.clone());
        }
        let r = Arc::new(html::runs_js(&self.runs()?, |_| true));
        self.runs_js = Some(r.clone());
        Ok(r)
    }

    /// The newest point of every series (one indexed read each), cached until a run is added.
    pub(crate) fn latest_points(&mut self) -> Result<Arc<Vec<LatestPoint>>, StoreError> {
        let cases = self.cases()?;
        if let Some(l) = &self.latest {
            return Ok(l.clone());
        }
        let mut latest = Vec::new();
        for info in cases.values().flatten() {
            if let Some(p) = self.store.history(&info.case, &info.metric, Some(1))?.pop() {
                latest.push(LatestPoint {
                    case: info.case.clone(),
                    metric: info.metric.clone(),
                    unit: info.unit.clone(),
                    median: p.median,
                    run_started: p.time,
                });
            }
        }
        let latest = Arc::new(latest);
        self.latest = Some(latest.clone());
        Ok(latest)
    }

    /// Page `page` (0-based; past the last, the last) of the overview: the series of that page
    /// only, so that a store of 20,000 series is read, held and sent a page at a time.
    pub(crate) fn overview(&mut self, page: usize) -> Result<Arc<String>, StoreError> {
        let cases = self.cases()?;
        let total = cases.values().map(Vec::len).sum();
        let pager = Pager { page, per_page: self.page_size, total };
        let pager = Pager { page: page.min(pager.pages() - 1), ..pager };
        if let Some(o) = self.overview.get(&pager.page) {
            return Ok(o.clone());
        }
        let latest = latest_comparison(self.store.as_mut(), &self.opts).map_err(app_store_error)?;
        let verdicts = verdict_map(latest.as_ref().map(|l| &l.0));
        let mut rows = Vec::new();
        let range = pager.range();
        for info in cases.values().flatten().skip(range.start).take(range.len()) {
            let recent = self.store.history(&info.case, &info.metric, Some(self.opts.spark_points.max(1)))?;
            let marks = self.cached_marks(info, &recent)?;
            let points = info.points as usize;
            rows.push(overview_row(info, &recent, points, &marks, self.opts.spark_points, &verdicts));
        }
        let recent_runs = self.store.list_runs(&RunFilter { limit: Some(20), ..RunFilter::default() })?;
        let run_count = self.runs()?.len();
        let mut comparisons =
            vec![Link { href: "compare-latest.html".into(), label: "Latest run vs the previous one".into() }];
        for b in self.store.list_baselines()? {
            let label = format!("Latest run vs baseline {}", b.name);
            comparisons.push(Link { href: baseline_compare_href(&b.name), label });
        }
        let o = Overview {
            rows,
            recent_runs: recent_runs.into_iter().map(|r| (r, true)).collect(),
            run_count,
            comparisons,
            generated_at: Some(jiff::Timestamp::now()),
            live: true,
            pager: Some(pager),
        };
        let made = Arc::new(html::overview_page(&o));
        if self.overview.len() >= CACHED_PAGES {
            self.overview.clear();
        }
        self.overview.insert(pager.page, made.clone());
        Ok(made)
    }

    pub(crate) fn case_data(&mut self, case: &CaseId, infos: &[SeriesInfo]) -> Result<String, StoreError> {
        let runs = self.runs()?;
        let index = run_index(&runs);
        let mut hist = Vec::with_capacity(infos.len());
        for info in infos {
            let points = self.store.history(case, &info.metric, None)?;
            let marks = self.marks(info, &points)?;
            hist.push((points, marks));
        }
        let cols: Vec<SeriesColumns<'_>> = infos
            .iter()
            .zip(&hist)
            .map(|(info, (points, marks))| SeriesColumns {
                metric: &info.metric,
                unit: &info.unit,
                better: info.better,
                points,
                change_points: marks,
            })
            .collect();
        // The runs at and just before each change point that have a profile of the case.
        let mut profiled: HashMap<String, bool> = HashMap::new();
        for (points, marks) in &hist {
            for (b, h) in marks.iter().filter_map(|c| change_runs(points, c.index)) {
                for run in [b, h] {
                    if !profiled.contains_key(run) && is_safe_run_id(run) {
                        let has = self.store.profiled_cases(run)?.contains(case);
                        profiled.insert(run.to_string(), has);
                    }
                }
            }
        }
        let has = |run: &str| profiled.get(run).copied().unwrap_or(false);
        let explain = |b: &str, h: &str| (has(b) && has(h)).then(|| explain_href(case, b, h));
        Ok(html::case_data_js(case, &cols, &index, &explain))
    }

    /// The comparison page of `c` between the runs `base` and `cand`, linking the explanation
    /// of each case both runs stored a profile of.
    pub(crate) fn comparison_page(
        &mut self,
        c: &ComparisonReport,
        (base, cand): (&RunReport, &RunReport),
        title: &str,
    ) -> Result<String, StoreError> {
        let (b, h) = (base.run.id.as_str(), cand.run.id.as_str());
        let (in_base, in_cand) = if is_safe_run_id(b) && is_safe_run_id(h) {
            (self.store.profiled_cases(b)?, self.store.profiled_cases(h)?)
        } else {
            (Vec::new(), Vec::new()) // `/explain` takes only such ids
        };
        let explain = |case: &CaseId| {
            (in_base.contains(case) && in_cand.contains(case)).then(|| explain_href(case, b, h))
        };
        Ok(html::comparison_page(c, Some(base), Some(cand), title, &explain))
    }

    /// The explanation of the case displayed as `case` between the runs `base` and `head`
    /// (ids or unique prefixes).
    pub(crate) fn explanation(
        &mut self,
        case: &str,
        base: &str,
        head: &str,
    ) -> Result<Explanation, StoreError> {
        let runs = self.runs()?;
        let mut sides = Vec::with_capacity(2);
        for id in [base, head] {
            let meta = match self.store.resolve_run_id(id) {
                Ok(Some(full)) => runs.iter().find(|r| r.id == full),
                Ok(None) => None,
                Err(e) if e.kind() == perfwatch_store::ErrorKind::Ambiguous => None,
                Err(e) => return Err(e),
            };
            match meta {
                Some(m) => sides.push(m),
                None => return Ok(Explanation::NoRun(id.to_string())),
            }
        }
        let found = stored_explanation(self.store.as_mut(), case, (sides[0], sides[1]), EXPLAIN_TOP)
            .map_err(app_store_error)?;
        Ok(match found {
            Ok(e) => Explanation::Found(Box::new(e)),
            Err(why) => Explanation::Unexplained(why),
        })
    }

    /// A run by baseline name first, then by id or prefix.
    fn resolve(&mut self, which: &str) -> Result<Option<RunReport>, StoreError> {
        if let Some(b) = self.store.baseline(which)? {
            return self.store.run(&b.run_id);
        }
        self.store.run(which)
    }

    /// Baseline vs candidate (names or ids); defaults: newest run vs the previous one.
    pub(crate) fn comparison(
        &mut self,
        baseline: Option<&str>,
        candidate: Option<&str>,
    ) -> Result<Option<(ComparisonReport, RunReport, RunReport)>, StoreError> {
        if baseline.is_none() && candidate.is_none() {
            return latest_comparison(self.store.as_mut(), &self.opts).map_err(app_store_error);
        }
        let cand = match candidate {
            Some(c) => self.resolve(c)?,
            None => match self.store.latest_run(&RunFilter::default())? {
                Some(r) => self.store.run(&r.id)?,
                None => None,
            },
        };
        let Some(cand) = cand else { return Ok(None) };
        let base = match baseline {
            Some(b) => self.resolve(b)?,
            None => match self.store.previous_run(&cand.run.id, true)? {
                Some(r) => self.store.run(&r.id)?,
                None => None,
            },
        };
        let Some(base) = base else { return Ok(None) };
        let mut c = self.opts.compare(&base, &cand);
        c.baseline.name = baseline.map(str::to_string);
        c.candidate.name = candidate.map(str::to_string);
        Ok(Some((c, base, cand)))
    }
}

/// The store error inside an application error (the pages answer by its kind).
fn app_store_error(e: AppError) -> StoreError {
    match e {
        AppError::Store { source, .. } => source,
        other => StoreError::Invalid(other.to_string()),
    }
}

/// What every handler shares: the store thread, the ingest pool, the team-mode gate and the
/// request counts of `/metrics`.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) tx: mpsc::Sender<Job>,
    pub(crate) pool: Pool,
    pub(crate) gate: Arc<Gate>,
    pub(crate) requests: Arc<RequestCounts>,
}

impl App {
    /// Tells the page caches that a run was added (it may be older than the newest one, which
    /// alone would not show that anything changed).
    pub(crate) fn runs_changed(&self) {
        let _ = self.tx.send(Box::new(Db::forget));
    }

    /// Runs `f` on the store thread and waits for its answer without blocking a worker.
    pub(crate) async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> R + Send + 'static,
    ) -> Result<R, Response> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Box::new(move |db: &mut Db| {
                let _ = tx.send(f(db));
            }))
            .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "the store thread has stopped").into_response())?;
        rx.await.map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error while answering this request (see the server's log)",
            )
                .into_response()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Pool;

    /// A bug that panics while answering (in detection, say) costs only that request: it is
    /// answered 500 and the store thread goes on serving.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_panic_while_answering_is_a_500_and_the_store_thread_survives() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("history.db").display());
        let store = perfwatch_store::open(&url).unwrap();
        let (tx, rx) = mpsc::channel::<Job>();
        let thread =
            std::thread::spawn(move || serve_jobs(Db::new(store, SiteOptions::default(), 100), rx, false));
        let (pool, _ingest) = Pool::start(&url, 1).unwrap();
        let gate = Gate {
            private: false,
            max_body: 1 << 20,
            limiter: None,
            auth_failures: None,
            body_idle: std::time::Duration::from_secs(10),
            log: false,
        };
        let app = App { tx, pool, gate: Arc::new(gate), requests: Arc::default() };

        let answer = app.call(|_db| -> usize { panic!("a bug while answering") }).await;
        assert_eq!(answer.map_err(|r| r.status()), Err(StatusCode::INTERNAL_SERVER_ERROR));
        let cases = app.call(|db| db.cases().map(|c| c.len())).await;
        assert!(matches!(cases, Ok(Ok(0))), "the store thread still answers");
        drop(app);
        thread.join().unwrap();
    }
}
