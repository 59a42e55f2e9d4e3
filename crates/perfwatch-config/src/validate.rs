//! Stage 2: [`RawSuite`] → validated, fully expanded cases. Checks the relations between values
//! (command XOR shell, `min_runs ≤ max_runs`, unique names, known placeholders…) and expands
//! each bench's parameter matrix.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use perfwatch_model::metric::THROUGHPUT;
use perfwatch_model::{CaseId, CasePlan, CommandSpec, RunSettings};

use crate::diag::Diags;
use crate::raw::{RawBench, RawCommand, RawSettings, RawSuite, RawThroughput, S};
use crate::template::Template;
use crate::util::{list_names, near_miss, span_in_string};

/// Most cases one bench may expand to; a larger matrix is almost certainly a mistake.
const MAX_CASES_PER_BENCH: usize = 10_000;

/// The validated suite, before it is wrapped into a `Plan`.
pub(crate) struct Validated {
    pub build: Option<CommandSpec>,
    pub cases: Vec<CasePlan>,
}

/// Validates `raw`; problems go to `diags` (the result is only meaningful if none were found).
pub(crate) fn validate(raw: &RawSuite, source: &str, base_dir: &Path, diags: &mut Diags) -> Validated {
    let mut v = Validator { source, base_dir, diags };
    let build = raw.build.as_ref().and_then(|(span, cmd)| {
        v.command(cmd, span.clone(), "[build]").map(|c| match c {
            CmdSource::Argv(argv) => CommandSpec::Argv(argv.into_iter().map(|a| a.v).collect()),
            CmdSource::Shell(s) => CommandSpec::Shell(s.v),
        })
    });

    v.check_run_bounds(&RawSettings::default(), &raw.defaults);

    if raw.benches.is_empty() && !raw.bench_invalid {
        let end = source.len();
        v.diags
            .error(0..end.min(1), "the suite declares no benchmarks", "no [[bench]] in this file")
            .help("add a [[bench]] section with a `name` and a `command`, e.g.\n[[bench]]\nname = \"sort\"\ncommand = [\"sort\", \"-n\", \"data.txt\"]");
    }

    let mut seen: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let mut cases = Vec::new();
    for bench in &raw.benches {
        if let Some(name) = &bench.name {
            if let Some(first) = seen.get(&name.v) {
                let (line, _) = crate::util::line_col(source, first.start);
                v.diags
                    .error(
                        name.span.clone(),
                        format!("duplicate bench name `{}`", name.v),
                        "second definition",
                    )
                    .also(first.clone(), "first defined here")
                    .help(format!(
                        "bench names must be unique; `{}` is already defined on line {line}",
                        name.v
                    ));
            } else {
                seen.insert(name.v.clone(), name.span.clone());
            }
        }
        cases.extend(v.bench(bench, &raw.defaults));
    }
    Validated { build, cases }
}

enum CmdSource {
    Argv(Vec<S<String>>),
    Shell(S<String>),
}

struct Validator<'a> {
    source: &'a str,
    base_dir: &'a Path,
    diags: &'a mut Diags,
}

/// A template string of a bench, parsed and checked against the bench's parameters.
struct Checked {
    template: Template,
}

impl Validator<'_> {
    fn command(&mut self, cmd: &RawCommand, owner_span: Range<usize>, owner: &str) -> Option<CmdSource> {
        match (&cmd.command_key, &cmd.shell_key) {
            (Some(c), Some(s)) => {
                self.diags
                    .error(s.clone(), format!("{owner} sets both `command` and `shell`"), "`shell` set here")
                    .also(c.clone(), "`command` set here")
                    .help("use `command` for an argv run directly, or `shell` for a string run via `sh -c`, not both");
                None
            }
            (None, None) if cmd.misspelled => None,
            (None, None) => {
                self.diags
                    .error(owner_span, format!("{owner} has neither `command` nor `shell`"), "no command")
                    .help("add `command = [\"program\", \"arg\"]` (run directly) or `shell = \"...\"` (run via sh -c)");
                None
            }
            (Some(_), None) => {
                let argv = cmd.command.as_ref()?;
                if argv.v.is_empty() {
                    self.diags.error(argv.span.clone(), "`command` is empty", "empty array").help(
                        "name the program and its arguments, e.g. command = [\"sort\", \"-n\", \"data.txt\"]",
                    );
                    return None;
                }
                if argv.v[0].v.trim().is_empty() {
                    self.diags
                        .error(
                            argv.v[0].span.clone(),
                            "the program name in `command` is empty",
                            "empty program name",
                        )
                        .help("the first element of `command` is the program to run, e.g. \"sort\"");
                    return None;
                }
                Some(CmdSource::Argv(argv.v.clone()))
            }
            (None, Some(_)) => {
                let shell = cmd.shell.as_ref()?;
                if shell.v.trim().is_empty() {
                    self.diags.error(shell.span.clone(), "`shell` is empty", "empty string").help(
                        "write the shell command to measure, e.g. shell = \"gzip -c data.txt > /dev/null\"",
                    );
                    return None;
                }
                Some(CmdSource::Shell(shell.clone()))
            }
        }
    }

    /// Checks `min_runs ≤ max_runs` for `settings` over `base`; reported once, where the
    /// offending value is written.
    fn check_run_bounds(&mut self, base: &RawSettings, settings: &RawSettings) {
        let builtin = RunSettings::default();
        let min = settings.min_runs.as_ref().or(base.min_runs.as_ref());
        let max = settings.max_runs.as_ref().or(base.max_runs.as_ref());
        if settings.min_runs.is_none() && settings.max_runs.is_none() {
            return; // nothing set here; checked where the values come from
        }
        let min_v = min.map_or(builtin.min_runs, |s| s.v);
        let max_v = max.map_or(builtin.max_runs, |s| s.v);
        if min_v <= max_v {
            return;
        }
        let (primary, primary_label, other) = match (&settings.min_runs, &settings.max_runs) {
            (Some(m), _) => (
                m.span.clone(),
                format!("min_runs = {min_v}"),
                max.map(|s| (s.span.clone(), format!("max_runs = {max_v}"))),
            ),
            (None, Some(m)) => (
                m.span.clone(),
                format!("max_runs = {max_v}"),
                min.map(|s| (s.span.clone(), format!("min_runs = {min_v}"))),
            ),
            (None, None) => return,
        };
        let p = self.diags.error(
            primary,
            format!("`min_runs` ({min_v}) is greater than `max_runs` ({max_v})"),
            primary_label,
        );
        if let Some((span, label)) = other {
            p.also(span, label);
        }
        p.help(format!(
            "min_runs must not exceed max_runs (defaults: min_runs = {}, max_runs = {})",
            builtin.min_runs, builtin.max_runs
        ));
    }

    fn check_template(&mut self, s: &S<String>, what: &str, params: &[&str]) -> Option<Checked> {
        let template = match Template::parse(&s.v) {
            Ok(t) => t,
            Err(e) => {
                let span = span_in_string(self.source, &s.span, &s.v, e.range);
                self.diags
                    .error(span, format!("{what}: {}", e.message), "malformed placeholder")
                    .help(e.help);
                return None;
            }
        };
        let mut ok = true;
        for (name, range) in template.placeholders() {
            if params.contains(&name) {
                continue;
            }
            ok = false;
            let span = span_in_string(self.source, &s.span, &s.v, range);
            let identifier = name.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c));
            if !identifier {
                self.diags
                    .error(span, format!("unknown placeholder `{{{name}}}` in {what}"), "unknown placeholder")
                    .help(format!(
                        "braces mark placeholders such as `{{n}}`; for literal braces write them doubled: `{{{{{name}}}}}`"
                    ));
                continue;
            }
            let mut help = if params.is_empty() {
                "this bench has no `params`".to_string()
            } else {
                format!("parameters of this bench: {}", list_names(params))
            };
            if let Some(near) = near_miss(name, params.iter().copied()) {
                help = format!("did you mean `{{{near}}}`? {help}");
            }
            help.push_str("; write `{{` and `}}` for literal braces");
            self.diags
                .error(span, format!("unknown placeholder `{{{name}}}` in {what}"), "unknown placeholder")
                .help(help);
        }
        ok.then_some(Checked { template })
    }

    fn nonempty(&mut self, s: &Option<S<String>>, key: &str) {
        if let Some(s) = s {
            if s.v.trim().is_empty() {
                self.diags
                    .error(s.span.clone(), format!("`{key}` is empty"), "empty string")
                    .help(format!("remove `{key}` or give it a command"));
            }
        }
    }

    fn bench(&mut self, b: &RawBench, defaults: &RawSettings) -> Vec<CasePlan> {
        let errors_before = self.diags.len();
        let name = self.bench_name(b);
        let owner = match &name {
            Some(n) => format!("bench `{n}`"),
            None => "this [[bench]]".to_string(),
        };
        let owner_span = b.name.as_ref().map_or(b.span.clone(), |n| n.span.clone());
        let templates = self.bench_templates(b, &owner, owner_span.clone());
        self.check_run_bounds(defaults, &b.settings);
        self.check_throughput_budgets(b, &owner);
        let case_count = b.params.iter().try_fold(1usize, |acc, (_, vals)| acc.checked_mul(vals.len()));
        if case_count.is_none_or(|n| n > MAX_CASES_PER_BENCH) {
            let span = b.params.first().map_or(owner_span.clone(), |(k, _)| k.span.clone());
            self.diags
                .error(
                    span,
                    format!("the parameters of {owner} expand to more than {MAX_CASES_PER_BENCH} cases"),
                    "too many combinations",
                )
                .help("split the bench or use fewer values per parameter");
            return Vec::new();
        }
        if self.diags.len() != errors_before {
            return Vec::new();
        }
        let (Some(name), Some(templates)) = (name, templates.complete()) else {
            return Vec::new();
        };
        let shared = Shared {
            settings: merge_settings(defaults, &b.settings),
            thresholds: instr_thresholds(thresholds(defaults, &b.settings), b.instr.is_some()),
            budgets: b.budgets.iter().map(|bu| bu.v.clone()).collect(),
            metrics: b.metrics.iter().map(|(k, m)| (k.v.clone(), m.clone())).collect(),
            gpu: b.gpu,
            instr: b.instr,
        };
        self.expand(b, &name, &templates, &shared, owner_span)
    }

    /// The bench's name, when it is one (an empty or reserved one is reported).
    fn bench_name(&mut self, b: &RawBench) -> Option<String> {
        match &b.name {
            Some(n) if n.v.trim().is_empty() => {
                self.diags
                    .error(n.span.clone(), "the bench name is empty", "empty name")
                    .help("give the bench a short name, e.g. name = \"sort\"");
                None
            }
            Some(n) if n.v.chars().any(|c| "[],=".contains(c) || c.is_control()) => {
                self.diags
                    .error(n.span.clone(), format!("the bench name `{}` contains a character reserved for case names", n.v), "invalid name")
                    .help("bench names cannot contain `[`, `]`, `,` or `=` (case names look like `sort[n=1000]`)");
                None
            }
            Some(n) => Some(n.v.clone()),
            None => {
                if !b.name_key {
                    self.diags
                        .error(b.span.clone(), "this [[bench]] has no `name`", "no name")
                        .help("add a name, e.g. name = \"sort\"");
                }
                None
            }
        }
    }

    /// Every template of the bench (command, hooks, cwd, env, throughput) checked against its
    /// declared parameters.
    fn bench_templates(&mut self, b: &RawBench, owner: &str, owner_span: Range<usize>) -> BenchTemplates {
        let command = self.command(&b.cmd, owner_span, owner);
        // Every declared parameter name counts, even one whose values were invalid (already
        // reported), so its placeholders do not cascade into more errors.
        let params: Vec<&str> = b.declared_params.iter().map(String::as_str).collect();
        let command = command.and_then(|c| match c {
            CmdSource::Argv(argv) => {
                let checked: Vec<Option<Checked>> =
                    argv.iter().map(|a| self.check_template(a, "`command`", &params)).collect();
                checked.into_iter().collect::<Option<Vec<_>>>().map(CheckedCmd::Argv)
            }
            CmdSource::Shell(s) => self.check_template(&s, "`shell`", &params).map(CheckedCmd::Shell),
        });
        for (field, key) in
            [(&b.setup, "setup"), (&b.prepare, "prepare"), (&b.cleanup, "cleanup"), (&b.cwd, "cwd")]
        {
            self.nonempty(field, key);
        }
        let mut opt =
            |s: &Option<S<String>>, what: &str| s.as_ref().map(|s| self.check_template(s, what, &params));
        let hooks = [opt(&b.setup, "`setup`"), opt(&b.prepare, "`prepare`"), opt(&b.cleanup, "`cleanup`")];
        let cwd = opt(&b.cwd, "`cwd`");
        let env = b
            .env
            .iter()
            .map(|(k, v)| {
                (k.v.clone(), self.check_template(v, &format!("environment variable `{}`", k.v), &params))
            })
            .collect();
        let throughput = match &b.throughput {
            Some(S { v: RawThroughput::Template(t), span }) => {
                let s = S { v: t.clone(), span: span.clone() };
                Some(self.check_template(&s, "`throughput`", &params).map(Throughput::Template))
            }
            Some(S { v: RawThroughput::Number(n), .. }) => Some(Some(Throughput::Number(*n))),
            None => None,
        };
        BenchTemplates { command, hooks, cwd, env, throughput }
    }

    /// Budgets on throughput need a throughput.
    fn check_throughput_budgets(&mut self, b: &RawBench, owner: &str) {
        if b.throughput.is_some() {
            return;
        }
        for budget in b.budgets.iter().filter(|bu| bu.v.metric == THROUGHPUT) {
            self.diags
                .error(
                    budget.span.clone(),
                    format!("{owner} has a throughput budget but no `throughput`"),
                    "no throughput to check",
                )
                .help("declare the items processed per run, e.g. throughput = \"{n}\" or throughput = 1000");
        }
    }

    /// One case per combination of parameter values, templates rendered; a throughput that
    /// renders to something other than a positive number is an error.
    fn expand(
        &mut self,
        b: &RawBench,
        name: &str,
        t: &Templates,
        shared: &Shared,
        owner_span: Range<usize>,
    ) -> Vec<CasePlan> {
        let mut cases = Vec::new();
        let mut bad_throughput: Vec<(CaseId, String)> = Vec::new();
        for values in product(&b.params) {
            let render = |c: &Checked| c.template.render(&values);
            let id = CaseId { name: name.to_string(), params: values.clone() };
            let tput = match &t.throughput {
                None => None,
                Some(Throughput::Number(n)) => Some(*n),
                Some(Throughput::Template(tp)) => {
                    let text = render(tp);
                    match text.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() && n > 0.0 => Some(n),
                        _ => {
                            bad_throughput.push((id.clone(), text));
                            None
                        }
                    }
                }
            };
            let cwd = match &t.cwd {
                Some(c) => {
                    let p = PathBuf::from(render(c));
                    if p.is_absolute() { p } else { self.base_dir.join(p) }
                }
                None => self.base_dir.to_path_buf(),
            };
            // Hooks and `shell` run through `sh -c`: values go in as single shell words.
            let render_shell = |c: &Checked| c.template.render_shell(&values);
            let [setup, prepare, cleanup] =
                [&t.setup, &t.prepare, &t.cleanup].map(|h| h.as_ref().map(render_shell));
            cases.push(CasePlan {
                id,
                command: match &t.command {
                    CheckedCmd::Argv(argv) => CommandSpec::Argv(argv.iter().map(render).collect()),
                    CheckedCmd::Shell(s) => CommandSpec::Shell(render_shell(s)),
                },
                setup,
                prepare,
                cleanup,
                cwd,
                env: t.env.iter().map(|(k, v)| (k.clone(), render(v))).collect(),
                settings: shared.settings,
                throughput: tput,
                thresholds: shared.thresholds.clone(),
                budgets: shared.budgets.clone(),
                metrics: shared.metrics.clone(),
                gpu: shared.gpu,
                instr: shared.instr,
            });
        }
        if let Some((id, text)) = bad_throughput.first() {
            let span = b.throughput.as_ref().map_or(owner_span, |t| t.span.clone());
            let others = match bad_throughput.len() - 1 {
                0 => String::new(),
                1 => " (and in 1 other case)".to_string(),
                n => format!(" (and in {n} other cases)"),
            };
            self.diags
                .error(
                    span,
                    format!("the throughput of case `{id}` is `{text}`, not a positive number{others}"),
                    "not a positive number",
                )
                .help("`throughput` is the number of items one run processes: a number, or a placeholder such as \"{n}\" whose every value is a number");
            return Vec::new();
        }
        cases
    }
}

/// The templates of a bench as checked: `None` where one was invalid (already reported).
struct BenchTemplates {
    command: Option<CheckedCmd>,
    /// `setup`, `prepare`, `cleanup`: absent, or checked.
    hooks: [Option<Option<Checked>>; 3],
    cwd: Option<Option<Checked>>,
    env: Vec<(String, Option<Checked>)>,
    throughput: Option<Option<Throughput>>,
}

impl BenchTemplates {
    /// The templates when every one is valid.
    fn complete(self) -> Option<Templates> {
        let [setup, prepare, cleanup] = self.hooks;
        Some(Templates {
            command: self.command?,
            setup: setup.flatten(),
            prepare: prepare.flatten(),
            cleanup: cleanup.flatten(),
            cwd: self.cwd.flatten(),
            env: self.env.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect(),
            throughput: self.throughput.flatten(),
        })
    }
}

/// The valid templates of a bench, ready to render per case.
struct Templates {
    command: CheckedCmd,
    setup: Option<Checked>,
    prepare: Option<Checked>,
    cleanup: Option<Checked>,
    cwd: Option<Checked>,
    env: Vec<(String, Checked)>,
    throughput: Option<Throughput>,
}

/// What every case of a bench shares.
struct Shared {
    settings: RunSettings,
    thresholds: BTreeMap<String, f64>,
    budgets: Vec<perfwatch_model::Budget>,
    metrics: BTreeMap<String, perfwatch_model::MetricInfo>,
    gpu: Option<perfwatch_model::GpuPlan>,
    instr: Option<perfwatch_model::InstrPlan>,
}

/// With `[bench.instr]`, the instruction metrics' own small threshold
/// ([`perfwatch_model::metric::INSTR_THRESHOLD`]) unless the suite names one for the metric:
/// a plain `threshold` is sized for timings' noise, which counts do not have.
fn instr_thresholds(mut thresholds: BTreeMap<String, f64>, instr: bool) -> BTreeMap<String, f64> {
    if instr {
        for metric in perfwatch_model::metric::INSTR_METRICS {
            thresholds.entry(metric.to_string()).or_insert(perfwatch_model::metric::INSTR_THRESHOLD);
        }
    }
    thresholds
}

/// Per-metric thresholds: the bench's, over those of `[defaults]` unless the bench sets a
/// plain `threshold` (which then applies to every metric without its own).
fn thresholds(defaults: &RawSettings, bench: &RawSettings) -> BTreeMap<String, f64> {
    let mut thresholds: BTreeMap<String, f64> = BTreeMap::new();
    if bench.threshold.is_none() {
        for (k, v) in defaults.thresholds.iter().flatten() {
            thresholds.insert(k.v.clone(), *v);
        }
    }
    for (k, v) in bench.thresholds.iter().flatten() {
        thresholds.insert(k.v.clone(), *v);
    }
    thresholds
}

enum CheckedCmd {
    Argv(Vec<Checked>),
    Shell(Checked),
}

enum Throughput {
    Number(f64),
    Template(Checked),
}

/// The bench's settings over `[defaults]` over the built-in defaults.
fn merge_settings(defaults: &RawSettings, bench: &RawSettings) -> RunSettings {
    let d = RunSettings::default();
    fn pick<T: Copy>(b: &Option<S<T>>, d: &Option<S<T>>, builtin: T) -> T {
        b.as_ref().or(d.as_ref()).map_or(builtin, |s| s.v)
    }
    RunSettings {
        warmup: pick(&bench.warmup, &defaults.warmup, d.warmup),
        min_runs: pick(&bench.min_runs, &defaults.min_runs, d.min_runs),
        max_runs: pick(&bench.max_runs, &defaults.max_runs, d.max_runs),
        max_time: pick(&bench.max_time, &defaults.max_time, d.max_time),
        precision: pick(&bench.precision, &defaults.precision, d.precision),
        timeout: pick(&bench.timeout, &defaults.timeout, d.timeout),
        threshold: pick(&bench.threshold, &defaults.threshold, d.threshold),
    }
}

/// The cartesian product of the parameter values, in declaration order: the first parameter
/// varies slowest, the last fastest (like nested loops written in the file's order).
fn product(params: &[(S<String>, Vec<S<String>>)]) -> Vec<BTreeMap<String, String>> {
    let mut out = vec![BTreeMap::new()];
    for (key, values) in params {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for partial in &out {
            for value in values {
                let mut m = partial.clone();
                m.insert(key.v.clone(), value.v.clone());
                next.push(m);
            }
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> S<String> {
        S { v: v.to_string(), span: 0..0 }
    }

    #[test]
    fn product_order_is_first_key_slowest() {
        let params = vec![(s("n"), vec![s("1"), s("2")]), (s("algo"), vec![s("a"), s("b"), s("c")])];
        let got: Vec<String> =
            product(&params).into_iter().map(|m| format!("{}{}", m["n"], m["algo"])).collect();
        assert_eq!(got, ["1a", "1b", "1c", "2a", "2b", "2c"]);
        assert_eq!(product(&[]), vec![BTreeMap::new()]);
    }
}
