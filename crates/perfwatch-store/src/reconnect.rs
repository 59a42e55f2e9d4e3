//! A store that survives a PostgreSQL restart: see [`crate::open_reconnecting`].

use jiff::Timestamp;
use perfwatch_model::{
    BudgetResult, CaseId, CaseReport, ChangePoint, Profile, RunMeta, RunReport, RunStatus,
};

use crate::error::Result;
use crate::{
    Backend, BaselineInfo, HistoryPoint, PrunePolicy, PushState, RunFilter, SeriesInfo, Store, TokenHash,
    TokenInfo, TokenScope,
};

/// Wraps the store at `url`, reopening it when its connection broke.
pub(crate) struct Reconnecting {
    url: String,
    backend: Backend,
    inner: Option<Box<dyn Store>>,
}

impl Reconnecting {
    pub(crate) fn new(url: &str, first: Box<dyn Store>) -> Reconnecting {
        Reconnecting { url: url.to_string(), backend: first.backend(), inner: Some(first) }
    }

    /// Runs `f` on the store; when it fails because the connection broke, reopens the store
    /// and runs `f` once more. While the database stays unreachable every call fails fast
    /// with the connect error (and the next call tries again).
    fn call<R>(&mut self, mut f: impl FnMut(&mut dyn Store) -> Result<R>) -> Result<R> {
        let fresh = self.inner.is_none();
        let store = match self.inner.as_mut() {
            Some(s) => s,
            None => self.inner.insert(crate::open(&self.url)?),
        };
        match f(store.as_mut()) {
            Err(e) if e.is_disconnected() && !fresh => {
                self.inner = None;
                let store = self.inner.insert(crate::open(&self.url)?);
                let res = f(store.as_mut());
                if matches!(&res, Err(e) if e.is_disconnected()) {
                    self.inner = None;
                }
                res
            }
            Err(e) if e.is_disconnected() => {
                self.inner = None;
                Err(e)
            }
            other => other,
        }
    }
}

impl Store for Reconnecting {
    fn backend(&self) -> Backend {
        self.backend
    }
    fn begin_run(&mut self, meta: &RunMeta) -> Result<()> {
        self.call(|s| s.begin_run(meta))
    }
    fn add_case(&mut self, run_id: &str, case: &CaseReport) -> Result<()> {
        self.call(|s| s.add_case(run_id, case))
    }
    fn finish_run(&mut self, run_id: &str, status: RunStatus, ended_at: Timestamp) -> Result<()> {
        self.call(|s| s.finish_run(run_id, status, ended_at))
    }
    fn renew_lease(&mut self, run_id: &str, until: Timestamp) -> Result<()> {
        self.call(|s| s.renew_lease(run_id, until))
    }
    fn set_budgets(&mut self, run_id: &str, budgets: &[BudgetResult]) -> Result<()> {
        self.call(|s| s.set_budgets(run_id, budgets))
    }
    fn insert_run(&mut self, report: &RunReport) -> Result<bool> {
        self.call(|s| s.insert_run(report))
    }
    fn resolve_run_id(&mut self, id_or_prefix: &str) -> Result<Option<String>> {
        self.call(|s| s.resolve_run_id(id_or_prefix))
    }
    fn run(&mut self, id_or_prefix: &str) -> Result<Option<RunReport>> {
        self.call(|s| s.run(id_or_prefix))
    }
    fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunMeta>> {
        self.call(|s| s.list_runs(filter))
    }
    fn latest_run(&mut self, filter: &RunFilter) -> Result<Option<RunMeta>> {
        self.call(|s| s.latest_run(filter))
    }
    fn previous_run(&mut self, run_id: &str, same_host: bool) -> Result<Option<RunMeta>> {
        self.call(|s| s.previous_run(run_id, same_host))
    }
    fn add_profile(&mut self, run_id: &str, case: &CaseId, profile: &Profile) -> Result<()> {
        self.call(|s| s.add_profile(run_id, case, profile))
    }
    fn profile(&mut self, run_id: &str, case: &CaseId) -> Result<Option<Profile>> {
        self.call(|s| s.profile(run_id, case))
    }
    fn profiled_cases(&mut self, run_id: &str) -> Result<Vec<CaseId>> {
        self.call(|s| s.profiled_cases(run_id))
    }
    fn set_baseline(&mut self, name: &str, run_id: &str) -> Result<BaselineInfo> {
        self.call(|s| s.set_baseline(name, run_id))
    }
    fn baseline(&mut self, name: &str) -> Result<Option<BaselineInfo>> {
        self.call(|s| s.baseline(name))
    }
    fn list_baselines(&mut self) -> Result<Vec<BaselineInfo>> {
        self.call(|s| s.list_baselines())
    }
    fn delete_baseline(&mut self, name: &str) -> Result<bool> {
        self.call(|s| s.delete_baseline(name))
    }
    fn history(&mut self, case: &CaseId, metric: &str, last: Option<usize>) -> Result<Vec<HistoryPoint>> {
        self.call(|s| s.history(case, metric, last))
    }
    fn list_series(&mut self) -> Result<Vec<SeriesInfo>> {
        self.call(|s| s.list_series())
    }
    fn history_medians(&mut self, case: &CaseId, metric: &str) -> Result<Vec<f64>> {
        self.call(|s| s.history_medians(case, metric))
    }
    fn replace_change_points(
        &mut self,
        case: &CaseId,
        metric: &str,
        analysed: usize,
        points: &[ChangePoint],
    ) -> Result<()> {
        self.call(|s| s.replace_change_points(case, metric, analysed, points))
    }
    fn change_points(&mut self, case: &CaseId, metric: &str) -> Result<Option<Vec<ChangePoint>>> {
        self.call(|s| s.change_points(case, metric))
    }
    fn mark_alerted(&mut self, case: &CaseId, metric: &str, run_id: &str) -> Result<bool> {
        self.call(|s| s.mark_alerted(case, metric, run_id))
    }
    fn create_token(&mut self, name: &str, scope: TokenScope, hash: &str) -> Result<TokenInfo> {
        self.call(|s| s.create_token(name, scope, hash))
    }
    fn list_tokens(&mut self) -> Result<Vec<TokenInfo>> {
        self.call(|s| s.list_tokens())
    }
    fn active_tokens(&mut self) -> Result<Vec<TokenHash>> {
        self.call(|s| s.active_tokens())
    }
    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        self.call(|s| s.revoke_token(name))
    }
    fn set_push_state(&mut self, run_id: &str, state: Option<PushState>) -> Result<()> {
        self.call(|s| s.set_push_state(run_id, state))
    }
    fn push_state(&mut self, run_id: &str) -> Result<Option<PushState>> {
        self.call(|s| s.push_state(run_id))
    }
    fn unpushed_runs(&mut self) -> Result<Vec<String>> {
        self.call(|s| s.unpushed_runs())
    }
    fn prune(&mut self, policy: &PrunePolicy) -> Result<usize> {
        self.call(|s| s.prune(policy))
    }
    fn compact(&mut self) -> Result<()> {
        self.call(|s| s.compact())
    }
    fn integrity_check(&mut self) -> Result<()> {
        self.call(|s| s.integrity_check())
    }
}
