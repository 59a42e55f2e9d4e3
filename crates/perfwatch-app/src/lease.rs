//! The lease of a run being measured: how the process measuring it tells every other process
//! (`perfwatch prune` above all) that the `incomplete` run is alive, and lets a run whose
//! perfwatch was killed be recognised as abandoned once the lease runs out. A start time
//! cannot tell the two apart: `backfill` dates runs at their commit's time, and a soak test
//! runs for a day.

use std::time::{Duration, Instant};

use perfwatch_model::Plan;
use perfwatch_store::Store;

/// A lease's length and when it was last renewed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    length: Duration,
    renewed: Option<Instant>,
}

impl Lease {
    /// Renewals are at least this far apart: one small write a minute at most.
    const RENEW_EVERY: Duration = Duration::from_secs(60);
    /// The shortest lease: several renewals could be late or fail before it runs out.
    const SHORTEST: Duration = Duration::from_secs(600);

    /// A lease that outlasts the longest silence between two renewals, which come at least
    /// once per case (and, for `run`, once per measured run): three times the longest case of
    /// `plans` (its `max_time`, or `max_time` when given, plus one run's `timeout`), at least
    /// [`Lease::SHORTEST`].
    pub(crate) fn for_plans(plans: &[&Plan], max_time: Option<Duration>) -> Lease {
        let longest = plans
            .iter()
            .flat_map(|p| &p.cases)
            .map(|c| max_time.unwrap_or(c.settings.max_time).saturating_add(c.settings.timeout))
            .max()
            .unwrap_or_default();
        Lease { length: longest.saturating_mul(3).max(Self::SHORTEST), renewed: None }
    }

    /// Renews the lease of `runs` when a renewal is due. A failed renewal is not fatal: saving
    /// the cases reports store failures, and a lapsed lease only lets `prune` take the run.
    pub(crate) fn renew<'a>(&mut self, store: &mut dyn Store, runs: impl IntoIterator<Item = &'a str>) {
        if self.renewed.is_some_and(|at| at.elapsed() < Self::RENEW_EVERY) {
            return;
        }
        let length = jiff::SignedDuration::try_from(self.length).unwrap_or(jiff::SignedDuration::MAX);
        let until = jiff::Timestamp::now().checked_add(length).unwrap_or(jiff::Timestamp::MAX);
        if runs.into_iter().all(|id| store.renew_lease(id, until).is_ok()) {
            self.renewed = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_spans_three_of_the_longest_cases_and_at_least_ten_minutes() {
        let suite = "[[bench]]\nname = \"a\"\ncommand = [\"true\"]\nmax_time = \"5m\"\ntimeout = \"2m\"\n\
                     [[bench]]\nname = \"b\"\ncommand = [\"true\"]\n";
        let plan = perfwatch_config::parse(suite, std::path::Path::new("perfwatch.toml")).unwrap();
        assert_eq!(Lease::for_plans(&[&plan], None).length, Duration::from_secs(3 * 420));
        assert_eq!(
            Lease::for_plans(&[&plan], Some(Duration::from_secs(3600))).length,
            Duration::from_secs(3 * 3720)
        );
        let short = perfwatch_config::parse(
            "[[bench]]\nname = \"b\"\ncommand = [\"true\"]\n",
            std::path::Path::new("perfwatch.toml"),
        )
        .unwrap();
        assert_eq!(
            Lease::for_plans(&[&short], None).length,
            Lease::SHORTEST,
            "10 s + 60 s, tripled, is under 10 min"
        );
    }
}
