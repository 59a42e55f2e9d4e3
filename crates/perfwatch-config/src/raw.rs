//! Stage 1: the TOML document → [`RawSuite`], the suite's settings as written, each with its
//! span. This stage checks keys, types and the syntax of single values (durations, sizes,
//! percentages, budgets); relations between values are checked by `validate`.

use std::ops::Range;
use std::time::Duration;

use perfwatch_model::{Better, Budget, GpuPlan, InstrPlan, InstrTool, MetricInfo, builtin_metric};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::budget::{is_metric_name, parse_budget};
use crate::diag::Diags;
use crate::units::{self, fmt_num};
use crate::util::{list_names, near_miss, span_in_string};

/// A value and the byte range it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S<T> {
    pub v: T,
    pub span: Range<usize>,
}

impl<T> S<T> {
    fn new(v: T, span: Range<usize>) -> Self {
        S { v, span }
    }
}

/// Keys of `[defaults]` that a `[[bench]]` may override too.
pub(crate) const SETTING_KEYS: [&str; 7] =
    ["warmup", "min_runs", "max_runs", "max_time", "precision", "timeout", "threshold"];

/// Keys of a `[[bench]]` entry besides the settings.
const BENCH_ONLY_KEYS: [&str; 14] = [
    "name",
    "command",
    "shell",
    "params",
    "setup",
    "prepare",
    "cleanup",
    "cwd",
    "env",
    "throughput",
    "budgets",
    "metrics",
    "gpu",
    "instr",
];

const TOP_KEYS: [&str; 3] = ["defaults", "bench", "build"];
const BUILD_KEYS: [&str; 2] = ["command", "shell"];
const METRIC_KEYS: [&str; 2] = ["unit", "better"];
const GPU_KEYS: [&str; 2] = ["enabled", "interval"];
const INSTR_KEYS: [&str; 1] = ["tool"];

/// Run settings as written (in `[defaults]` or a `[[bench]]`).
#[derive(Debug, Default, Clone)]
pub(crate) struct RawSettings {
    pub warmup: Option<S<u32>>,
    pub min_runs: Option<S<u32>>,
    pub max_runs: Option<S<u32>>,
    pub max_time: Option<S<Duration>>,
    pub precision: Option<S<f64>>,
    pub timeout: Option<S<Duration>>,
    /// `threshold = "5%"`: one threshold for every metric.
    pub threshold: Option<S<f64>>,
    /// `threshold = { wall = "5%" }`: per-metric thresholds.
    pub thresholds: Option<Vec<(S<String>, f64)>>,
}

/// `command` / `shell` as written, with the spans of their keys.
#[derive(Debug, Default)]
pub(crate) struct RawCommand {
    /// Span of the `command` key, when present (even with a value of the wrong type).
    pub command_key: Option<Range<usize>>,
    pub command: Option<S<Vec<S<String>>>>,
    /// Span of the `shell` key, when present.
    pub shell_key: Option<Range<usize>>,
    pub shell: Option<S<String>>,
    /// An unknown key is a near miss of `command` or `shell` (already reported).
    pub misspelled: bool,
}

/// `throughput` as written.
#[derive(Debug)]
pub(crate) enum RawThroughput {
    /// A number of items per run.
    Number(f64),
    /// A template such as `"{n}"`, substituted per case.
    Template(String),
}

/// One `[[bench]]` entry as written.
#[derive(Debug, Default)]
pub(crate) struct RawBench {
    /// Span of the entry (its header).
    pub span: Range<usize>,
    pub name_key: bool,
    pub name: Option<S<String>>,
    pub cmd: RawCommand,
    /// Every parameter name declared, valid or not.
    pub declared_params: Vec<String>,
    /// Parameters in declaration order, each with its values in order.
    pub params: Vec<(S<String>, Vec<S<String>>)>,
    pub setup: Option<S<String>>,
    pub prepare: Option<S<String>>,
    pub cleanup: Option<S<String>>,
    pub cwd: Option<S<String>>,
    pub env: Vec<(S<String>, S<String>)>,
    pub settings: RawSettings,
    pub throughput: Option<S<RawThroughput>>,
    pub budgets: Vec<S<Budget>>,
    pub metrics: Vec<(S<String>, MetricInfo)>,
    pub gpu: Option<GpuPlan>,
    pub instr: Option<InstrPlan>,
}

/// The whole suite as written.
#[derive(Debug, Default)]
pub(crate) struct RawSuite {
    pub defaults: RawSettings,
    pub build: Option<(Range<usize>, RawCommand)>,
    pub benches: Vec<RawBench>,
    /// Whether `bench` was present but malformed (already reported).
    pub bench_invalid: bool,
}

type Entry<'a, 'i> = (&'a Spanned<std::borrow::Cow<'i, str>>, &'a Spanned<DeValue<'i>>);

/// The entries of a table in the order they appear in the file.
fn entries<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut v: Vec<_> = table.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

/// "a string", "an integer"…
fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The number a TOML integer or float stands for.
fn number(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|n| n as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
        _ => None,
    }
}

/// Reads the document into a [`RawSuite`], recording every problem in `diags`.
pub(crate) fn read(doc: &DeTable<'_>, source: &str, diags: &mut Diags) -> RawSuite {
    let mut r = Reader { source, diags };
    let mut suite = RawSuite::default();
    for (key, val) in entries(doc) {
        match key.get_ref().as_ref() {
            "defaults" => {
                if let Some(table) = r.table(val, "[defaults]") {
                    suite.defaults = r.defaults(table);
                }
            }
            "build" => {
                if let Some(table) = r.table(val, "[build]") {
                    suite.build = Some((val.span(), r.build(table)));
                }
            }
            "bench" => {
                let before = r.diags.len();
                suite.benches = r.benches(val);
                suite.bench_invalid = r.diags.len() != before && suite.benches.is_empty();
            }
            other => {
                let help = if SETTING_KEYS.contains(&other) {
                    Some(format!(
                        "run settings go under [defaults] (or into a [[bench]] entry): move `{other}` there"
                    ))
                } else if BENCH_ONLY_KEYS.contains(&other) {
                    Some(format!("`{other}` belongs in a [[bench]] entry"))
                } else if other.starts_with("bench") {
                    Some("benchmarks are declared as [[bench]] entries".to_string())
                } else {
                    None
                };
                r.unknown_key(key, &TOP_KEYS, "at the top level", help);
            }
        }
    }
    suite
}

struct Reader<'a> {
    source: &'a str,
    diags: &'a mut Diags,
}

impl Reader<'_> {
    fn unknown_key(
        &mut self,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        allowed: &[&str],
        place: &str,
        help: Option<String>,
    ) {
        let name = key.get_ref().as_ref();
        let help = help.unwrap_or_else(|| match near_miss(name, allowed.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("allowed keys: {}", allowed.join(", ")),
        });
        self.diags.error(key.span(), format!("unknown key `{name}` {place}"), "unknown key").help(help);
    }

    fn wrong_type(
        &mut self,
        val: &Spanned<DeValue<'_>>,
        what: &str,
        expected: &str,
    ) -> &mut crate::diag::Pending {
        let text = self.source.get(val.span()).unwrap_or("");
        let help = match (expected, val.get_ref()) {
            ("a string", DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_)) => {
                Some(format!("quote it: \"{text}\""))
            }
            ("a string", _) => Some("write a quoted string, e.g. \"text\"".to_string()),
            ("an integer", DeValue::String(s)) if s.trim().parse::<u64>().is_ok() => {
                Some(format!("remove the quotes: {}", s.trim()))
            }
            ("an integer", _) => Some("write a whole number without quotes, e.g. 3".to_string()),
            ("a table", _) => {
                Some("write a table: a [section] or an inline table { key = value }".to_string())
            }
            _ => None,
        };
        let p = self.diags.error(
            val.span(),
            format!("{what} must be {expected}, found {}", type_name(val.get_ref())),
            format!("expected {expected}"),
        );
        p.maybe_help(help)
    }

    fn table<'v, 'i>(&mut self, val: &'v Spanned<DeValue<'i>>, what: &str) -> Option<&'v DeTable<'i>> {
        match val.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(val, what, "a table");
                None
            }
        }
    }

    fn string(&mut self, val: &Spanned<DeValue<'_>>, what: &str) -> Option<S<String>> {
        match val.get_ref() {
            DeValue::String(s) => Some(S::new(s.to_string(), val.span())),
            _ => {
                self.wrong_type(val, what, "a string");
                None
            }
        }
    }

    fn defaults(&mut self, table: &DeTable<'_>) -> RawSettings {
        let mut settings = RawSettings::default();
        for (key, val) in entries(table) {
            let k = key.get_ref().as_ref();
            if SETTING_KEYS.contains(&k) {
                self.setting(&mut settings, k, val);
            } else if BENCH_ONLY_KEYS.contains(&k) {
                self.diags
                    .error(key.span(), format!("`{k}` cannot be set in [defaults]"), "not a default setting")
                    .help(format!(
                        "set it in each [[bench]] entry; [defaults] takes {}",
                        list_names(&SETTING_KEYS)
                    ));
            } else {
                self.unknown_key(key, &SETTING_KEYS, "in [defaults]", None);
            }
        }
        settings
    }

    fn setting(&mut self, s: &mut RawSettings, key: &str, val: &Spanned<DeValue<'_>>) {
        let what = format!("`{key}`");
        match key {
            "warmup" => s.warmup = self.count(val, &what, 0),
            "min_runs" => s.min_runs = self.count(val, &what, 1),
            "max_runs" => s.max_runs = self.count(val, &what, 1),
            "max_time" => s.max_time = self.duration(val, &what, true),
            "timeout" => s.timeout = self.duration(val, &what, true),
            "precision" => s.precision = self.percent(val, &what),
            "threshold" => match val.get_ref() {
                DeValue::Table(t) => {
                    let mut per_metric = Vec::new();
                    for (mkey, mval) in entries(t) {
                        let name = mkey.get_ref().as_ref();
                        if !is_metric_name(name) {
                            self.diags
                                .error(mkey.span(), format!("invalid metric name `{name}` in `threshold`"), "not a metric name")
                                .help("metric names use letters, digits, `_`, `-` and `.`, e.g. `wall` or `max_rss`");
                            continue;
                        }
                        if let Some(p) = self.percent(mval, &format!("the threshold of `{name}`")) {
                            per_metric.push((S::new(name.to_string(), mkey.span()), p.v));
                        }
                    }
                    s.thresholds = Some(per_metric);
                }
                _ => s.threshold = self.percent(val, &what),
            },
            _ => {}
        }
    }

    fn count(&mut self, val: &Spanned<DeValue<'_>>, what: &str, min: u32) -> Option<S<u32>> {
        let DeValue::Integer(i) = val.get_ref() else {
            let p = self.wrong_type(val, what, "an integer");
            if let Some(n) = number(val.get_ref()).filter(|n| n.fract() == 0.0) {
                p.help(format!("write {} without a decimal point", fmt_num(n)));
            }
            return None;
        };
        let parsed = i64::from_str_radix(i.as_str(), i.radix()).ok();
        match parsed.and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n >= min => Some(S::new(n, val.span())),
            _ => {
                // Too large is its own message: "must be at least 1" for 4294967296 misleads.
                let too_large = parsed.is_none_or(|n| n > i64::from(u32::MAX));
                let bound = match (too_large, min) {
                    (true, _) => format!("at most {}", u32::MAX),
                    (false, 0) => "zero or more".to_string(),
                    (false, _) => format!("at least {min}"),
                };
                let help = match what {
                    "`warmup`" => "the number of unmeasured runs per case, e.g. warmup = 1 (0 for none)",
                    "`min_runs`" => "at least one run must be measured, e.g. min_runs = 5",
                    "`max_runs`" => "the most runs measured per case, e.g. max_runs = 200",
                    _ => "write a whole number in range",
                };
                self.diags
                    .error(
                        val.span(),
                        format!("{what} must be {bound}, found {i}"),
                        format!("expected {bound}"),
                    )
                    .help(help);
                None
            }
        }
    }

    fn duration(&mut self, val: &Spanned<DeValue<'_>>, what: &str, positive: bool) -> Option<S<Duration>> {
        match val.get_ref() {
            DeValue::String(text) => match units::parse_duration(text) {
                Ok(d) if positive && d.is_zero() => {
                    self.diags
                        .error(val.span(), format!("{what} must be greater than zero"), "zero duration")
                        .help("write a positive duration such as \"10s\"");
                    None
                }
                Ok(d) => Some(S::new(d, val.span())),
                Err(e) => {
                    self.diags
                        .error(val.span(), format!("{what}: {}", e.message), "invalid duration")
                        .maybe_help(e.help);
                    None
                }
            },
            v @ (DeValue::Integer(_) | DeValue::Float(_)) => {
                let n = number(v).unwrap_or(0.0);
                self.diags
                    .error(val.span(), format!("{what} is a bare number; a duration needs a unit"), "no unit")
                    .help(units::bare_duration_hint(n));
                None
            }
            _ => {
                self.wrong_type(val, what, "a duration string")
                    .help("write for example \"10s\" or \"500ms\"");
                None
            }
        }
    }

    fn percent(&mut self, val: &Spanned<DeValue<'_>>, what: &str) -> Option<S<f64>> {
        let result = match val.get_ref() {
            DeValue::String(text) => units::parse_percent_str(text),
            v @ (DeValue::Integer(_) | DeValue::Float(_)) => {
                units::parse_percent_number(number(v).unwrap_or(f64::NAN))
            }
            _ => {
                self.wrong_type(val, what, "a percentage")
                    .help("write a percentage such as \"2%\", or a fraction such as 0.02");
                return None;
            }
        };
        match result {
            Ok(p) => Some(S::new(p, val.span())),
            Err(e) => {
                self.diags
                    .error(val.span(), format!("{what}: {}", e.message), "invalid percentage")
                    .maybe_help(e.help);
                None
            }
        }
    }

    fn build(&mut self, table: &DeTable<'_>) -> RawCommand {
        let mut cmd = RawCommand::default();
        for (key, val) in entries(table) {
            match key.get_ref().as_ref() {
                "command" => {
                    cmd.command_key = Some(key.span());
                    cmd.command = self.argv(val);
                }
                "shell" => {
                    cmd.shell_key = Some(key.span());
                    cmd.shell = self.string(val, "`shell`");
                }
                k => {
                    cmd.misspelled |= near_miss(k, BUILD_KEYS).is_some();
                    self.unknown_key(key, &BUILD_KEYS, "in [build]", None);
                }
            }
        }
        cmd
    }

    fn argv(&mut self, val: &Spanned<DeValue<'_>>) -> Option<S<Vec<S<String>>>> {
        match val.get_ref() {
            DeValue::Array(items) => {
                let mut argv = Vec::new();
                let mut ok = true;
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => argv.push(S::new(s.to_string(), item.span())),
                        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                            ok = false;
                            let text = self.source.get(item.span()).unwrap_or("").to_string();
                            self.wrong_type(item, "every `command` argument", "a string")
                                .help(format!("quote it: \"{text}\""));
                        }
                        _ => {
                            ok = false;
                            self.wrong_type(item, "every `command` argument", "a string");
                        }
                    }
                }
                ok.then(|| S::new(argv, val.span()))
            }
            DeValue::String(_) => {
                self.wrong_type(val, "`command`", "an array of strings").help(
                    "`command` is an argv run directly, e.g. [\"sort\", \"-n\", \"data.txt\"]; to run a string through `sh -c`, write `shell = \"...\"` instead",
                );
                None
            }
            _ => {
                self.wrong_type(val, "`command`", "an array of strings")
                    .help("write for example command = [\"sort\", \"-n\", \"data.txt\"]");
                None
            }
        }
    }

    fn benches(&mut self, val: &Spanned<DeValue<'_>>) -> Vec<RawBench> {
        match val.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(t) => out.push(self.bench(t, item.span())),
                        _ => {
                            self.wrong_type(item, "every `bench` entry", "a table").help(
                                "declare each benchmark as a [[bench]] section, or as an inline table { name = \"...\", command = [...] }",
                            );
                        }
                    }
                }
                out
            }
            DeValue::Table(_) => {
                self.diags
                    .error(val.span(), "`bench` must be an array of tables", "a single table")
                    .help("write the header with double brackets: [[bench]]");
                Vec::new()
            }
            _ => {
                self.wrong_type(val, "`bench`", "an array of tables")
                    .help("declare each benchmark as a [[bench]] section");
                Vec::new()
            }
        }
    }

    fn bench(&mut self, table: &DeTable<'_>, span: Range<usize>) -> RawBench {
        let mut b = RawBench { span, ..RawBench::default() };
        for (key, val) in entries(table) {
            let k = key.get_ref().as_ref();
            match k {
                "name" => {
                    b.name_key = true;
                    b.name = self.string(val, "`name`");
                }
                "command" => {
                    b.cmd.command_key = Some(key.span());
                    b.cmd.command = self.argv(val);
                }
                "shell" => {
                    b.cmd.shell_key = Some(key.span());
                    b.cmd.shell = self.string(val, "`shell`");
                    if matches!(val.get_ref(), DeValue::Array(_)) {
                        if let Some(p) = self.diags_last() {
                            p.help("`shell` is one string run via `sh -c`; for an argv array, write `command = [...]` instead");
                        }
                    }
                }
                "params" => {
                    if let DeValue::Table(t) = val.get_ref() {
                        b.declared_params = entries(t).iter().map(|(k, _)| k.get_ref().to_string()).collect();
                    }
                    b.params = self.params(val);
                }
                "setup" => b.setup = self.string(val, "`setup`"),
                "prepare" => b.prepare = self.string(val, "`prepare`"),
                "cleanup" => b.cleanup = self.string(val, "`cleanup`"),
                "cwd" => b.cwd = self.string(val, "`cwd`"),
                "env" => b.env = self.env(val),
                "throughput" => b.throughput = self.throughput(val),
                "budgets" => b.budgets = self.budgets(val),
                "metrics" => b.metrics = self.metrics(val),
                "gpu" => b.gpu = self.gpu(val),
                "instr" => b.instr = self.instr(val),
                _ if SETTING_KEYS.contains(&k) => self.setting(&mut b.settings, k, val),
                _ => {
                    // A misspelled `command`/`shell`/`name` is reported once, as the unknown key,
                    // not again as a missing one.
                    match near_miss(k, ["command", "shell", "name"]) {
                        Some("name") => b.name_key = true,
                        Some(_) => b.cmd.misspelled = true,
                        None => {}
                    }
                    let mut allowed: Vec<&str> = BENCH_ONLY_KEYS.to_vec();
                    allowed.extend(SETTING_KEYS);
                    self.unknown_key(key, &allowed, "in [[bench]]", None);
                }
            }
        }
        b
    }

    fn params(&mut self, val: &Spanned<DeValue<'_>>) -> Vec<(S<String>, Vec<S<String>>)> {
        let Some(table) = self.table(val, "`params`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, values) in entries(table) {
            let name = key.get_ref().as_ref();
            if name.is_empty()
                || name.chars().any(|c| "[],={}".contains(c) || c.is_whitespace() || c.is_control())
            {
                self.diags
                    .error(key.span(), format!("invalid parameter name `{name}`"), "invalid name")
                    .help("parameter names cannot be empty or contain whitespace, `[`, `]`, `,`, `=`, `{` or `}`");
                continue;
            }
            let DeValue::Array(items) = values.get_ref() else {
                let text = self.source.get(values.span()).unwrap_or("…");
                let scalar = matches!(
                    values.get_ref(),
                    DeValue::String(_) | DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_)
                );
                let help = format!("write `{name} = [{text}]` for a single value");
                let p = self.wrong_type(values, &format!("parameter `{name}`"), "an array of values");
                if scalar {
                    p.help(help);
                }
                continue;
            };
            if items.is_empty() {
                self.diags
                    .error(values.span(), format!("parameter `{name}` has no values"), "empty array")
                    .help("give at least one value, or remove the parameter");
                continue;
            }
            let mut strings: Vec<S<String>> = Vec::new();
            for item in items.iter() {
                let text = match item.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    DeValue::Integer(i) => Some(
                        i64::from_str_radix(i.as_str(), i.radix())
                            .map_or_else(|_| i.to_string(), |n| n.to_string()),
                    ),
                    DeValue::Float(f) if number(item.get_ref()).is_some_and(f64::is_finite) => {
                        Some(f.as_str().to_string())
                    }
                    DeValue::Boolean(b) => Some(b.to_string()),
                    _ => None,
                };
                let Some(text) = text else {
                    self.wrong_type(
                        item,
                        &format!("every value of parameter `{name}`"),
                        "a string, number or boolean",
                    );
                    continue;
                };
                if text.chars().any(|c| "[],".contains(c) || c.is_control()) {
                    self.diags
                        .error(item.span(), format!("the value `{text}` of parameter `{name}` cannot be used in a case name"), "invalid value")
                        .help("parameter values cannot contain `[`, `]`, `,` or control characters (they appear in case names like `sort[n=1000]`)");
                    continue;
                }
                if let Some(first) = strings.iter().find(|s| s.v == text) {
                    let first_span = first.span.clone();
                    self.diags
                        .error(
                            item.span(),
                            format!("parameter `{name}` lists the value `{text}` twice"),
                            "duplicate value",
                        )
                        .also(first_span, "first listed here")
                        .help("each value makes one case; remove the duplicate");
                    continue;
                }
                strings.push(S::new(text, item.span()));
            }
            out.push((S::new(name.to_string(), key.span()), strings));
        }
        out
    }

    fn env(&mut self, val: &Spanned<DeValue<'_>>) -> Vec<(S<String>, S<String>)> {
        let Some(table) = self.table(val, "`env`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, v) in entries(table) {
            let name = key.get_ref().as_ref();
            if name.is_empty() || name.contains(['=', '\0']) {
                self.diags
                    .error(key.span(), format!("invalid environment variable name `{name}`"), "invalid name")
                    .help("environment variable names cannot be empty or contain `=`");
                continue;
            }
            match v.get_ref() {
                DeValue::String(s) => {
                    out.push((S::new(name.to_string(), key.span()), S::new(s.to_string(), v.span())))
                }
                DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                    let text = self.source.get(v.span()).unwrap_or("").to_string();
                    self.wrong_type(v, &format!("environment variable `{name}`"), "a string")
                        .help(format!("quote it: {name} = \"{text}\""));
                }
                _ => {
                    self.wrong_type(v, &format!("environment variable `{name}`"), "a string");
                }
            }
        }
        out
    }

    fn throughput(&mut self, val: &Spanned<DeValue<'_>>) -> Option<S<RawThroughput>> {
        match val.get_ref() {
            DeValue::String(s) => Some(S::new(RawThroughput::Template(s.to_string()), val.span())),
            v @ (DeValue::Integer(_) | DeValue::Float(_)) => match number(v) {
                Some(n) if n.is_finite() && n > 0.0 => Some(S::new(RawThroughput::Number(n), val.span())),
                _ => {
                    self.diags
                        .error(
                            val.span(),
                            "`throughput` must be a positive number of items per run",
                            "not positive",
                        )
                        .help("write the number of items one run processes, e.g. 1000 or \"{n}\"");
                    None
                }
            },
            _ => {
                self.wrong_type(val, "`throughput`", "a number or a string")
                    .help("write the number of items one run processes, e.g. 1000 or \"{n}\"");
                None
            }
        }
    }

    fn budgets(&mut self, val: &Spanned<DeValue<'_>>) -> Vec<S<Budget>> {
        let DeValue::Array(items) = val.get_ref() else {
            let p = self.wrong_type(val, "`budgets`", "an array of strings");
            if let DeValue::String(s) = val.get_ref() {
                p.help(format!("write budgets = [\"{s}\"]"));
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let Some(text) = self.string(item, "every budget") else {
                continue;
            };
            match parse_budget(&text.v) {
                Ok(b) => out.push(S::new(b, item.span())),
                Err(e) => {
                    let span = span_in_string(self.source, &item.span(), &text.v, e.range);
                    self.diags.error(span, e.message, "invalid budget").maybe_help(e.help);
                }
            }
        }
        out
    }

    fn metrics(&mut self, val: &Spanned<DeValue<'_>>) -> Vec<(S<String>, MetricInfo)> {
        let Some(table) = self.table(val, "`metrics`") else {
            return Vec::new();
        };
        let example = "declare a custom metric as name = { unit = \"ratio\", better = \"higher\" }";
        let mut out = Vec::new();
        for (key, v) in entries(table) {
            let name = key.get_ref().as_ref();
            if !is_metric_name(name) {
                self.diags.error(key.span(), format!("invalid metric name `{name}`"), "invalid name").help(
                    "metric names use letters, digits, `_`, `-` and `.`, starting with a letter or `_`",
                );
                continue;
            }
            if builtin_metric(name).is_some() {
                self.diags
                    .error(key.span(), format!("`{name}` is a built-in metric and cannot be declared"), "built-in metric")
                    .help("built-in metrics (wall, user, sys, cpu, max_rss, throughput, gpu_*) have fixed units; pick another name");
                continue;
            }
            let Some(fields) = self.table(v, &format!("metric `{name}`")) else {
                if let Some(p) = self.diags_last() {
                    p.help(example);
                }
                continue;
            };
            let (mut unit, mut better) = (None, None);
            for (fkey, fval) in entries(fields) {
                match fkey.get_ref().as_ref() {
                    "unit" => unit = self.string(fval, "`unit`"),
                    "better" => match fval.get_ref() {
                        DeValue::String(s) if s == "lower" => better = Some(Better::Lower),
                        DeValue::String(s) if s == "higher" => better = Some(Better::Higher),
                        _ => {
                            self.diags
                                .error(
                                    fval.span(),
                                    "`better` must be \"lower\" or \"higher\"",
                                    "expected \"lower\" or \"higher\"",
                                )
                                .help("\"higher\" for rates and hit ratios, \"lower\" for times and sizes");
                            better = None;
                        }
                    },
                    _ => self.unknown_key(fkey, &METRIC_KEYS, &format!("in metric `{name}`"), None),
                }
            }
            let has_key = |k: &str| fields.iter().any(|(fk, _)| fk.get_ref().as_ref() == k);
            if !has_key("unit") || !has_key("better") {
                let missing: Vec<&str> = METRIC_KEYS.iter().copied().filter(|k| !has_key(k)).collect();
                self.diags
                    .error(
                        v.span(),
                        format!("metric `{name}` lacks {}", list_names(&missing)),
                        "incomplete declaration",
                    )
                    .help(example);
            }
            if let (Some(unit), Some(better)) = (unit, better) {
                out.push((S::new(name.to_string(), key.span()), MetricInfo::new(unit.v, better)));
            }
        }
        out
    }

    /// `[bench.gpu]`: `enabled = "auto" | "required" | "off"` (default `auto` once the table
    /// is written) and `interval` between samples. `None` for `off` or a table with errors.
    fn gpu(&mut self, val: &Spanned<DeValue<'_>>) -> Option<GpuPlan> {
        let table = self.table(val, "`gpu`")?;
        let mut plan = GpuPlan { required: false, interval: GpuPlan::DEFAULT_INTERVAL };
        let mut enabled = true;
        let mut ok = true;
        for (key, v) in entries(table) {
            match key.get_ref().as_ref() {
                "enabled" => match v.get_ref() {
                    DeValue::String(s) if s == "auto" => {}
                    DeValue::String(s) if s == "required" => plan.required = true,
                    DeValue::String(s) if s == "off" => enabled = false,
                    DeValue::Boolean(b) => enabled = *b,
                    _ => {
                        self.diags
                            .error(v.span(), "`enabled` must be \"auto\", \"required\" or \"off\"", "unknown mode")
                            .help("\"auto\" samples a GPU when there is one; \"required\" fails the run without one");
                        ok = false;
                    }
                },
                "interval" => match self.duration(v, "`interval`", true) {
                    Some(d) if d.v < Duration::from_millis(1) => {
                        self.diags
                            .error(v.span(), "`interval` must be at least 1ms", "too short")
                            .help("NVML refreshes its counters every few milliseconds; try \"10ms\"");
                        ok = false;
                    }
                    Some(d) => plan.interval = d.v,
                    None => ok = false,
                },
                _ => {
                    self.unknown_key(key, &GPU_KEYS, "in [bench.gpu]", None);
                    ok = false;
                }
            }
        }
        (ok && enabled).then_some(plan)
    }

    /// `[bench.instr]`: `tool = "cachegrind" | "callgrind"` (default cachegrind once the
    /// table is written). `None` for a table with errors.
    fn instr(&mut self, val: &Spanned<DeValue<'_>>) -> Option<InstrPlan> {
        let table = self.table(val, "`instr`")?;
        let mut plan = InstrPlan { tool: InstrTool::Cachegrind };
        let mut ok = true;
        for (key, v) in entries(table) {
            match key.get_ref().as_ref() {
                "tool" => match v.get_ref() {
                    DeValue::String(s) if s == "cachegrind" => plan.tool = InstrTool::Cachegrind,
                    DeValue::String(s) if s == "callgrind" => plan.tool = InstrTool::Callgrind,
                    _ => {
                        self.diags
                            .error(v.span(), "`tool` must be \"cachegrind\" or \"callgrind\"", "unknown tool")
                            .help("both count instructions under Valgrind; callgrind also records the call graph");
                        ok = false;
                    }
                },
                _ => {
                    self.unknown_key(key, &INSTR_KEYS, "in [bench.instr]", None);
                    ok = false;
                }
            }
        }
        ok.then_some(plan)
    }

    fn diags_last(&mut self) -> Option<&mut crate::diag::Pending> {
        self.diags.last_mut()
    }
}
