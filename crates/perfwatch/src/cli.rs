//! Command-line types (clap). Values are parsed into their types here (durations, percentages,
//! sizes, labels), so a bad one is a usage error before anything runs; nothing outside this
//! file sees clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// perfwatch — did this change make my program slower or hungrier, by how much, since when,
/// and where?
///
/// Exit codes: 0 success; 1 a gate failed (regression or budget breach); 2 usage or
/// configuration error (nothing was measured); 3 a benchmark run failed (the rest was measured
/// and saved); 4 measured, but the store could not save the results (they were printed); 130
/// interrupted by Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "perfwatch", version = VERSION, max_term_width = 100, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Print only results, warnings and errors (no progress, no notes).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more: where the suite and store were found, every measured run.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// `perfwatch --version`: the version and the commit it was built from (when built in a git
/// checkout).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("PERFWATCH_BUILD_COMMIT"), ")");

/// Examples of the top-level help.
const EXAMPLES: &str = "Examples:
  perfwatch init && perfwatch run          measure a new suite
  perfwatch baseline set main              name the latest run
  perfwatch compare                        latest run vs baseline main; exit 1 on a regression
  perfwatch ab './old' './new'             two commands side by side
  perfwatch serve                          dashboard on http://127.0.0.1:8080
Suite: -c FILE, else PERFWATCH_CONFIG, else perfwatch.toml here or in a parent directory.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter perfwatch.toml.
    #[command(after_help = "Examples:\n  perfwatch init\n  perfwatch init -c bench/perfwatch.toml --force")]
    Init(InitArgs),
    /// Validate the suite file and list the cases it expands to.
    #[command(after_help = "Examples:\n  perfwatch check\n  perfwatch check -b 'sort*'")]
    Check(CheckArgs),
    /// Measure the suite (or the benches matching -b), save the run and print results.
    #[command(
        after_help = "Examples:\n  perfwatch run\n  perfwatch run -b 'sort*' --label runner=ci-1 --format json -o run.json\n  perfwatch run --push https://perf.example.org"
    )]
    Run(RunArgs),
    /// Compare two commands side by side in randomized interleaved rounds (A/B).
    #[command(
        after_help = "Examples:\n  perfwatch ab './old --input x' './new --input x'\n  perfwatch ab 'python3 v1.py' 'python3 v2.py' --threshold 2% --max-time 30s --metric cpu\n  perfwatch ab './old' './new' --expect-speedup 3x      exit 1 unless new is at least 3x faster\n  perfwatch ab './old' './new' --metric instructions    once each under Valgrind, counts compared exactly"
    )]
    Ab(AbArgs),
    /// Compare a run against a baseline: ratio, 95% CI and verdict per case and metric.
    #[command(
        after_help = "Examples:\n  perfwatch compare                          latest run vs baseline main\n  perfwatch compare --to v1.2 --format markdown >> \"$GITHUB_STEP_SUMMARY\"\n  perfwatch compare --rev main               build main and the work tree, measure both interleaved"
    )]
    Compare(CompareArgs),
    /// Manage named baselines (`main`, `v1.2`): set, list, show, delete, update.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  perfwatch baseline set main\n  perfwatch baseline update main --if-better\n  perfwatch baseline list"
    )]
    Baseline(BaselineCommand),
    /// Store results written by another harness (hyperfine, criterion, Google Benchmark,
    /// pytest-benchmark, go test -bench, JMH, asv, cargo bench, Bencher BMF,
    /// github-action-benchmark) as one run.
    ///
    /// Every file is checked before anything is stored; a malformed one is an error naming
    /// the file, line and column (exit 2). Units become perfwatch's (seconds, bytes, per
    /// second); per-iteration times are the `wall` metric. Where a harness wrote every
    /// measurement (hyperfine times, criterion samples, gbench repetitions, pytest-benchmark
    /// data, go -count, JMH raw data) they become samples; where it wrote only a mean or
    /// median the metric is stored as summary-only, and compare says "summary-only: no
    /// interval" instead of judging it. The commit is --commit, else the file's, else the
    /// current git work tree's; the host is the file's, else this machine.
    #[command(
        after_help = "Examples:\n  hyperfine --export-json h.json './a' './b' && perfwatch import h.json\n  cargo bench && perfwatch import target/criterion\n  go test -bench=. -count=5 > go.txt && perfwatch import --format go go.txt --label runner=ci\n  perfwatch import results/*.json --commit \"$GITHUB_SHA\""
    )]
    Import(ImportArgs),
    /// Show a metric's median across runs, oldest first.
    #[command(
        after_help = "Examples:\n  perfwatch history\n  perfwatch history 'sort[n=1000]' --metric wall --last 20"
    )]
    History(HistoryArgs),
    /// Find change points in the history (when each metric shifted, by how much, which commit).
    #[command(
        after_help = "Examples:\n  perfwatch detect\n  perfwatch detect --recent 5 --fail-on regression      in a scheduled job\n  perfwatch detect --csv timings.csv --column latency_ms"
    )]
    Detect(DetectArgs),
    /// Measure past commits: each chosen commit of the first-parent chain A..B is built in a
    /// cached worktree with its own suite and saved dated with the commit's time, so history,
    /// detect and the dashboard show the past in commit order.
    ///
    /// Build failures are recorded and skipped. Runs are saved as each commit finishes, so
    /// a killed backfill keeps what finished; --skip-existing then continues where it
    /// stopped (commits with a complete run, or known not to build, are not measured again).
    #[command(
        after_help = "Examples:\n  perfwatch backfill v1.0..main --steps 20\n  perfwatch backfill HEAD~64..HEAD --every 4 --skip-existing\n  perfwatch backfill 'v1.0^..v1.1'                 v1.0 included"
    )]
    Backfill(BackfillArgs),
    /// Find the first commit between --good and --bad where CASE got worse, by binary search
    /// over the first-parent history; each step compares the midpoint side by side
    /// (interleaved rounds) with both ends and moves only when both agree.
    ///
    /// An inconclusive step is measured once more for twice as long; if it stays
    /// inconclusive bisect stops and reports the range it narrowed down, never a guess.
    /// Commits that do not build, lack the case or whose benchmark fails are skipped (like
    /// `git bisect skip`). The answer names the commit, the size of its step with a 95 %
    /// interval, the steps and time taken and the confidence of the path. Nothing is stored.
    #[command(
        after_help = "Examples:\n  perfwatch bisect --good v1.0 --bad main 'sort[n=1000]'\n  perfwatch bisect --good HEAD~40 --bad HEAD parse --metric cpu --threshold 2% --max-time 20s\n  perfwatch detect && perfwatch bisect --from-change-point parse"
    )]
    Bisect(BisectArgs),
    /// Show where CASE's cost moved between two versions: each side is profiled (or its
    /// stored profile read), and the functions whose own cost changed most are ranked with
    /// before, after, delta and their share of the total change.
    ///
    /// A side is a git revision (built in a cached worktree like `compare --rev`, and its
    /// case's command run once under the profiler) or a stored run that kept a profile
    /// (`[bench.instr] tool = "callgrind"`); write `rev:X` or `run:X` when a name could be
    /// either. Without --head the work tree is profiled. callgrind counts instructions
    /// exactly (any native program, symbols from debuginfo); py-spy samples Python stacks
    /// (Python function names); perf samples CPU time where the kernel allows it. --html
    /// writes a differential flame graph (red: more cost, blue: less), the two plain flame
    /// graphs and a page that shows them, all usable offline.
    #[command(
        after_help = "Examples:\n  perfwatch explain 'sort[n=1000]' --base main --html explain/\n  perfwatch explain parse --base v1.0 --head v1.1 --top 20\n  perfwatch explain bench.py --base HEAD~1 --profiler py-spy\n  perfwatch explain sort --base run:0190a3 --head run:0190b7   two stored runs, no rebuild"
    )]
    Explain(ExplainArgs),
    /// Write a self-contained static HTML report of the store (no network needed to view it).
    #[command(after_help = "Examples:\n  perfwatch report --html site/ && xdg-open site/index.html")]
    Report(ReportArgs),
    /// Serve the dashboard and its JSON API (/api/v1/) over the store; runners push into it.
    ///
    /// Runners push runs with `POST /api/v1/runs` (see `perfwatch push`), which needs a write
    /// token (`perfwatch token create NAME` on the same store). With --private every page and
    /// API read needs a token too (browsers ask for it: any user name, the token as
    /// password). Each request is logged as one JSON line on stderr (token names, never
    /// secrets). If PostgreSQL restarts, the server answers 503 while it is down and
    /// reconnects by itself.
    #[command(
        after_help = "Examples:\n  perfwatch serve\n  PERFWATCH_DB=postgres://perf@db/perf perfwatch serve --addr 0.0.0.0:8080 --private"
    )]
    Serve(ServeArgs),
    /// Create, list and revoke the API tokens that `perfwatch serve` accepts.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  perfwatch token create runner-1\n  perfwatch token list\n  perfwatch token revoke runner-1"
    )]
    Token(TokenCommand),
    /// Send runs to a team server (`perfwatch serve`); the token comes from PERFWATCH_TOKEN.
    ///
    /// One request per run (the JSON of `run --format json`, raw samples included). Pushing
    /// is idempotent: a run the server has already is not stored twice, so a push can always
    /// be repeated. Without RUN, every run marked unpushed (by a `run --push` that could not
    /// deliver) is sent, oldest first. Network errors, 5xx and 429 are retried with
    /// exponential backoff for --retry-for; other refusals are final. Exit 0 when every run
    /// was delivered, 2 otherwise (runs not delivered stay marked unpushed).
    #[command(
        after_help = "Examples:\n  PERFWATCH_TOKEN=pw_... perfwatch push https://perf.example.org\n  perfwatch push https://perf.example.org --all"
    )]
    Push(PushArgs),
    /// Delete old runs from the store and compact it. Never deleted: runs a baseline points
    /// to, runs not yet pushed, and runs still being measured (`incomplete`, with the lease
    /// their perfwatch renews while it measures). Abandoned runs — `incomplete`, their lease
    /// run out because their perfwatch was killed — are deleted whatever the policy.
    #[command(
        after_help = "Examples:\n  perfwatch prune --keep-last 200\n  perfwatch prune --older-than 90d"
    )]
    Prune(PruneArgs),
    /// List the stored runs, newest first.
    #[command(
        after_help = "Examples:\n  perfwatch runs --last 5\n  perfwatch runs --format json | jq '.runs[0].id'"
    )]
    Runs(RunsArgs),
    /// Show one stored run as `perfwatch run` printed it.
    #[command(
        after_help = "Examples:\n  perfwatch show 0190b6a8\n  perfwatch show 0190b6a8 --format json -o run.json"
    )]
    Show(ShowArgs),
    /// Print the JSON Schema of a document perfwatch writes.
    #[command(
        after_help = "Examples:\n  perfwatch schema comparison > comparison.schema.json\n  perfwatch schema --list"
    )]
    Schema(SchemaArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  source <(perfwatch completions bash)\n  perfwatch completions zsh > ~/.zfunc/_perfwatch"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff).
    #[command(
        after_help = "Examples:\n  perfwatch man | man -l -\n  perfwatch man > /usr/local/share/man/man1/perfwatch.1"
    )]
    Man,
}

/// `perfwatch import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Result files; a criterion `target/criterion` directory counts as one.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Format of the files: `auto` recognises each file by its content and says what it
    /// chose; else hyperfine (--export-json, 1.x and 2.x), criterion (the target/criterion
    /// directory), cargo-criterion (--message-format=json), libtest (cargo bench output),
    /// pytest-benchmark, gbench (Google Benchmark JSON), go (go test -bench), jmh (-rf json),
    /// asv (a results file), bmf (Bencher Metric Format) or gab (github-action-benchmark).
    #[arg(long, default_value = "auto", value_parser = import_format)]
    pub format: ImportFormatChoice,
    /// Attach a label to the run (repeatable), e.g. --label runner=gpu-1.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label)]
    pub labels: Vec<(String, String)>,
    /// Commit the results belong to [default: the file's, else the current work tree's].
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Branch the results belong to [default: the file's, else the current branch].
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `import --format`: a format, or `None` for `auto`.
pub type ImportFormatChoice = Option<perfwatch_import::Format>;

/// `auto` or a format name, the names being perfwatch-import's own (one list, not two).
fn import_format(text: &str) -> Result<ImportFormatChoice, String> {
    if text == "auto" {
        return Ok(None);
    }
    perfwatch_import::Format::from_name(text).map(Some).ok_or_else(|| {
        let names: Vec<&str> = perfwatch_import::Format::ALL.iter().map(|f| f.name()).collect();
        format!("expected auto or one of {}", names.join(", "))
    })
}

/// `perfwatch runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only the newest N runs.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `perfwatch show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Run id or unique prefix (or a baseline name).
    pub run: String,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `perfwatch schema`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true))]
pub struct SchemaArgs {
    /// The document: run, comparison, history, detection, api-series, api-series-data,
    /// api-runs, api-baselines, api-error, push-receipt.
    #[arg(group = "which")]
    pub name: Option<String>,
    /// List the names.
    #[arg(long, group = "which")]
    pub list: bool,
}

/// `perfwatch completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where the suite file and the store are.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// Suite file [default: perfwatch.toml in the current directory or its nearest parent]
    #[arg(short = 'c', long = "config", value_name = "FILE", env = "PERFWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// History store: sqlite://PATH or postgres://… [default: .perfwatch/history.db beside the
    /// suite file]
    #[arg(long, env = "PERFWATCH_DB", value_name = "URL")]
    pub db: Option<String>,
}

/// Output format and destination.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Output format [default: from -o's extension (.json, .md, .csv, .xml = junit, .txt =
    /// table); else table on a terminal, JSON when standard output is a pipe or file].
    /// `github` prints workflow-command annotations and appends the Markdown report to
    /// $GITHUB_STEP_SUMMARY when that is set; `junit`, `bmf` and `hyperfine` are the formats
    /// other tools read.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write results to FILE instead of standard output (atomically: nothing half-written).
    /// Repeat for several outputs; `-` is standard output; a FORMAT: prefix sets that file's
    /// format (`-o - -o junit:perf.xml -o hyperfine:h.json`), else --format, else the
    /// extension.
    #[arg(short = 'o', long = "output", value_name = "[FORMAT:]FILE", value_parser = parse_output)]
    pub output: Vec<OutputTarget>,
}

/// One `-o` value: a destination and the format its prefix asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget {
    /// The format named by a `FORMAT:` prefix.
    pub format: Option<FormatArg>,
    /// The file; `None` for standard output (`-`).
    pub path: Option<PathBuf>,
}

fn parse_output(text: &str) -> Result<OutputTarget, String> {
    let (format, rest) = match text.split_once(':') {
        Some((prefix, rest)) => match FormatArg::from_str(prefix, true) {
            Ok(format) => (Some(format), rest),
            // Not a format name: the colon is part of the file name.
            Err(_) => (None, text),
        },
        None => (None, text),
    };
    match rest {
        "" => Err(format!("expected a file name after {text:?} (or - for standard output)")),
        "-" => Ok(OutputTarget { format, path: None }),
        path => Ok(OutputTarget { format, path: Some(PathBuf::from(path)) }),
    }
}

/// `--format` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FormatArg {
    /// Aligned table fitted to the terminal.
    Table,
    /// JSON described by the schemas in schemas/.
    Json,
    /// Markdown, e.g. for a pull-request comment.
    #[value(alias = "md")]
    Markdown,
    /// CSV, one row per case and metric.
    Csv,
    /// GitHub Actions annotations (::error/::warning) and $GITHUB_STEP_SUMMARY (runs, comparisons).
    Github,
    /// JUnit XML: one test case per judged case × metric and per budget (runs, comparisons).
    Junit,
    /// Bencher Metric Format JSON (runs).
    Bmf,
    /// hyperfine's --export-json shape (runs).
    Hyperfine,
}

/// `--fail-on` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOnArg {
    /// Exit 1 on a regression or a budget breach.
    Regression,
    /// Exit 1 also when a verdict is inconclusive.
    Inconclusive,
    /// Never exit 1 because of verdicts or budgets.
    Never,
}

/// `perfwatch init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the suite.
    #[arg(short = 'c', long = "config", value_name = "FILE", default_value = "perfwatch.toml")]
    pub config: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `perfwatch check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Suite file [default: perfwatch.toml in the current directory or its nearest parent]
    #[arg(short = 'c', long = "config", value_name = "FILE", env = "PERFWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Only the benches matching PATTERN (bench or case name; * and ? globs). Repeatable.
    #[arg(short = 'b', long = "bench", value_name = "PATTERN")]
    pub bench: Vec<String>,
}

/// `perfwatch run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Only the benches matching PATTERN (bench or case name; * and ? globs). Repeatable.
    #[arg(short = 'b', long = "bench", value_name = "PATTERN")]
    pub bench: Vec<String>,
    /// Do not save the run in the history store.
    #[arg(long)]
    pub no_save: bool,
    /// Attach a label to the run (repeatable), e.g. --label runner=gpu-1.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label)]
    pub labels: Vec<(String, String)>,
    /// Show the benchmarks' own output (it is discarded otherwise, but always scanned for
    /// perfwatch-metric lines).
    #[arg(long)]
    pub show_output: bool,
    /// After saving the run locally, push it to the team server at URL (`perfwatch serve`;
    /// token from PERFWATCH_TOKEN). If that fails the run stays in the local store marked
    /// unpushed, with a warning (the exit code does not change): `perfwatch push URL`
    /// delivers it later.
    #[arg(long, value_name = "URL", conflicts_with = "no_save")]
    pub push: Option<String>,
    /// Retry settings of --push.
    #[command(flatten)]
    pub push_retry: RetryArgs,
}

/// How the push client retries (network errors, 5xx and 429 are retried with exponential
/// backoff and jitter; other 4xx answers are final).
#[derive(Debug, Args, Clone)]
pub struct RetryArgs {
    /// Give up on a run after retrying for this long, e.g. 2m, 30s, 0s for no retries.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = duration)]
    pub retry_for: Duration,
    /// Time limit of one request (connect, send, answer).
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    pub request_timeout: Duration,
}

/// `perfwatch compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Suite file (for thresholds and budgets) and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Baseline name or run id (prefix) to compare against [default: baseline `main` if it
    /// exists, else the previous run on the same host].
    #[arg(long = "to", value_name = "BASELINE|RUN")]
    pub to: Option<String>,
    /// Run id (prefix) to judge [default: the latest finished run: complete or interrupted, not
    /// one still being measured or killed].
    #[arg(long, value_name = "RUN")]
    pub candidate: Option<String>,
    /// Build and measure git revisions side by side instead: `--rev BASE --rev HEAD`
    /// (interleaved rounds; the work tree, dirty or not, is the candidate when only one
    /// --rev is given). Both runs are saved.
    #[arg(long = "rev", value_name = "REV", conflicts_with_all = ["to", "candidate"])]
    pub rev: Vec<String>,
    /// With --rev: only the benches matching PATTERN. Repeatable.
    #[arg(short = 'b', long = "bench", value_name = "PATTERN", requires = "rev")]
    pub bench: Vec<String>,
    /// With --rev: measuring time budget per case for the interleaved rounds.
    #[arg(long, value_name = "DURATION", requires = "rev", value_parser = duration)]
    pub max_time: Option<Duration>,
    /// With --rev: seed of the random round order (for reproducible schedules).
    #[arg(long, value_name = "N", requires = "rev")]
    pub seed: Option<u64>,
    /// When to exit 1.
    #[arg(long, value_enum, default_value_t = FailOnArg::Regression)]
    pub fail_on: FailOnArg,
}

/// `perfwatch backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The commits after A up to B along first parents (`A^..B` includes A).
    #[arg(value_name = "A..B")]
    pub range: String,
    /// Measure N commits spread evenly over the range, both ends included.
    #[arg(long, value_name = "N", conflicts_with = "every")]
    pub steps: Option<usize>,
    /// Measure every K-th commit, counting back from B [default: every commit].
    #[arg(long, value_name = "K")]
    pub every: Option<usize>,
    /// Skip commits that already have a complete run, or that did not build last time.
    #[arg(long)]
    pub skip_existing: bool,
    /// Only the benches matching PATTERN. Repeatable.
    #[arg(short = 'b', long = "bench", value_name = "PATTERN")]
    pub bench: Vec<String>,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `perfwatch bisect`.
#[derive(Debug, Args)]
pub struct BisectArgs {
    /// The case to follow: its full name (`sort[n=1000]`) or a bench name with one case.
    pub case: String,
    /// A commit where the case is fine.
    #[arg(long, value_name = "REV", required_unless_present = "from_change_point")]
    pub good: Option<String>,
    /// A later commit where it is worse.
    #[arg(long, value_name = "REV", required_unless_present = "from_change_point")]
    pub bad: Option<String>,
    /// Take --good and --bad from the newest regression `perfwatch detect` stored for CASE
    /// and --metric: the commits of the run before it and of the run where it appeared.
    #[arg(long, conflicts_with_all = ["good", "bad"])]
    pub from_change_point: bool,
    /// The metric that decides (wall, cpu, max_rss or a custom metric).
    #[arg(long, default_value = "wall", value_name = "METRIC")]
    pub metric: String,
    /// Smallest relative change that counts [default: the case's threshold].
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub threshold: Option<f64>,
    /// Measuring time budget per comparison [default: the case's max_time].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub max_time: Option<Duration>,
    /// Seed of the random round orders (for reproducible schedules).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `perfwatch explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The case: its full name (`sort[n=1000]`) or a bench name with one case.
    pub case: String,
    /// The version to compare from: a git revision or a stored run id (prefix).
    #[arg(long, value_name = "REV|RUN")]
    pub base: String,
    /// The version to explain: a git revision or a stored run id [default: the work tree].
    #[arg(long, value_name = "REV|RUN")]
    pub head: Option<String>,
    /// The profiler for sides profiled now [default: a stored side's; py-spy for a Python
    /// command, else callgrind].
    #[arg(long, value_name = "PROFILER", value_parser = ["callgrind", "perf", "py-spy"])]
    pub profiler: Option<String>,
    /// How many functions to list.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub top: u32,
    /// Profiled runs per side, alternating between the sides, their costs summed [default: 1
    /// for callgrind, whose counts do not vary; 3 for py-spy and perf, so that a neighbour's
    /// load falls on both sides alike].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: Option<u32>,
    /// Write the flame graphs (diff.svg, base.svg, head.svg), the folded profiles and an
    /// index.html showing them into DIR.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `perfwatch ab`.
#[derive(Debug, Args)]
pub struct AbArgs {
    /// Command A (the reference), as one string split like a shell would (no shell runs it
    /// unless --shell).
    pub command_a: String,
    /// Command B (the candidate).
    pub command_b: String,
    /// Run both commands through `sh -c`.
    #[arg(long)]
    pub shell: bool,
    /// Smallest relative change that counts as a regression or improvement [default: 1%;
    /// 0.5% when --metric is an instruction count].
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub threshold: Option<f64>,
    /// Time budget for all rounds together.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = duration)]
    pub max_time: Duration,
    /// Rounds always run before stopping early is considered.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub min_rounds: u32,
    /// Unmeasured runs of each command before the first round.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub warmup: u32,
    /// Per-run timeout (0s: none).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = duration)]
    pub timeout: Duration,
    /// Metric whose verdict decides when to stop early and what --fail-on judges
    /// (wall, cpu, max_rss or a custom metric). With an instruction count (instructions,
    /// est_cycles, l1_misses, ll_misses) nothing is timed: A and B each run once under
    /// Valgrind's cachegrind (fixed cache model; needs valgrind installed, timeout 100×
    /// --timeout) and the counts are compared exactly; the round and warm-up options are
    /// ignored.
    #[arg(long, default_value = "wall", value_name = "METRIC")]
    pub metric: String,
    /// Seed of the random round order (for reproducible schedules).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
    /// When to exit 1.
    #[arg(long, value_enum, default_value_t = FailOnArg::Regression)]
    pub fail_on: FailOnArg,
    /// Expect B to be at least FACTOR times faster than A on --metric (e.g. 3x, 2.5x, 3;
    /// more than 1). Measuring then stops once the goal is decided, and the exit code
    /// judges the goal: 0 when met (the whole 95% interval of the speedup is at or above
    /// FACTOR), 1 when missed (wholly below), and with --fail-on inconclusive also 1 when
    /// undecided.
    #[arg(long, value_name = "FACTOR", value_parser = speedup_factor)]
    pub expect_speedup: Option<f64>,
}

/// `perfwatch baseline …`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Point NAME at RUN (default: the latest finished run).
    Set {
        /// Baseline name, e.g. main.
        name: String,
        /// Run id or unique prefix.
        run: Option<String>,
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List baselines.
    List {
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show the run a baseline points to.
    Show {
        /// Baseline name.
        name: String,
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
        /// Output format and destination.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a baseline (the run itself stays).
    Delete {
        /// Baseline name.
        name: String,
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Move NAME to RUN (default: the latest finished run), with --if-better only when no
    /// metric regressed and at least one improved.
    Update {
        /// Baseline name.
        name: String,
        /// Run id or unique prefix.
        run: Option<String>,
        /// Only update when the run is better: no regression, at least one improvement.
        #[arg(long)]
        if_better: bool,
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `perfwatch history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Case name (`sort[n=1000]`) or bench name (all its cases) [default: every case].
    pub case: Option<String>,
    /// Metric to show.
    #[arg(long, default_value = "wall")]
    pub metric: String,
    /// Only the last N runs.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `perfwatch detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Cases to analyse: full name (`sort[n=1000]`) or bench name [default: every case].
    pub cases: Vec<String>,
    /// Metrics to analyse (repeatable) [default: every metric except user and sys, whose sum
    /// cpu is analysed].
    #[arg(long = "metric", value_name = "METRIC")]
    pub metrics: Vec<String>,
    /// Only report change points at or after this run (id prefix) or date (2026-11-01 or RFC 3339).
    #[arg(long, value_name = "RUN|DATE")]
    pub since: Option<String>,
    /// With `--fail-on regression`: exit 1 when a regression change point not alerted before
    /// lies within the most recent N runs (it is then marked alerted, so it fails only once).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub recent: usize,
    /// When to exit 1.
    #[arg(long, value_enum, default_value_t = FailOnArg::Regression)]
    pub fail_on: FailOnArg,
    /// Analyse a column of your own CSV file instead of the store.
    #[arg(long, value_name = "FILE", requires = "column")]
    pub csv: Option<PathBuf>,
    /// With --csv: the column holding the values.
    #[arg(long, value_name = "NAME", requires = "csv")]
    pub column: Option<String>,
    /// With --csv: a column that labels rows (a time, a commit) in the output.
    #[arg(long, value_name = "NAME", requires = "csv")]
    pub label_column: Option<String>,
    /// With --csv: whether lower or higher values are better (decides regression vs improvement).
    #[arg(long, value_enum, default_value_t = BetterArg::Lower, requires = "csv")]
    pub better: BetterArg,
    /// Detector: combined (default; both must agree), edivisive (Hunter/Otava), potts (asv-style L1 fit).
    #[arg(long, value_enum, default_value_t = MethodArg::Combined)]
    pub method: MethodArg,
    /// Window length of the split step (at least 4).
    #[arg(long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(4..))]
    pub window: u32,
    /// Largest p-value of a reported change point (between 0 and 1).
    #[arg(long, default_value_t = 0.001, value_name = "P", value_parser = probability)]
    pub max_p_value: f64,
    /// Drop change points smaller than this relative change, e.g. 2%.
    #[arg(long, default_value = "0%", value_name = "PERCENT", value_parser = percent)]
    pub min_magnitude: f64,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format and destination.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--better` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BetterArg {
    /// Lower values are better (times, memory).
    Lower,
    /// Higher values are better (throughput).
    Higher,
}

/// `--method` values of `detect`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MethodArg {
    /// Candidates from both detectors, kept when both agree.
    Combined,
    /// E-Divisive means with windowed t-test and merge (Hunter/Otava).
    Edivisive,
    /// Robust L1 Potts fit (asv).
    Potts,
}

/// `perfwatch report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Directory to write the site into (created if missing; open DIR/index.html).
    #[arg(long, value_name = "DIR")]
    pub html: PathBuf,
    /// Run pages are written for this many newest runs (plus baselines and change points).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_run_pages: usize,
    /// Suite file (thresholds) and store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `perfwatch serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. The default is loopback only; listening on another interface
    /// publishes the dashboard to that network.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: std::net::SocketAddr,
    /// Reads (dashboard and JSON API) need a token too, not only pushes.
    #[arg(long)]
    pub private: bool,
    /// Largest request body accepted (a pushed run report); larger ones get 413.
    #[arg(long, default_value = "32MiB", value_name = "SIZE", value_parser = size)]
    pub max_body: usize,
    /// Requests per second allowed per token (sustained; 0 turns the limit off). Beyond it
    /// the answer is 429 with Retry-After.
    #[arg(long, default_value_t = 50.0, value_name = "N", value_parser = rate)]
    pub rate_limit: f64,
    /// Requests a token may send at once after a quiet spell.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub rate_burst: u32,
    /// Do not log requests on stderr.
    #[arg(long)]
    pub no_request_log: bool,
    /// Suite file (thresholds) and store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `perfwatch token …`: API tokens of the server whose store is --db / PERFWATCH_DB.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown this once; only its hash is stored).
    Create {
        /// Token name, e.g. ci-runner-1 (1 to 64 of A-Z a-z 0-9 . _ -); logged with each
        /// request made with it.
        name: String,
        /// Only read (for a --private server's dashboard and API); cannot push runs.
        #[arg(long)]
        read_only: bool,
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens: name, scope, created, revoked (never the secrets).
    List {
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token: the server refuses it from its next request on.
    Revoke {
        /// Token name.
        name: String,
        /// Suite file and store.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `perfwatch push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The server, e.g. https://perf.example.org (the same as for the dashboard).
    pub url: String,
    /// Run ids (or unique prefixes) to send [default: every unpushed run].
    pub runs: Vec<String>,
    /// Send every run in the local store (e.g. to fill a new team server).
    #[arg(long, conflicts_with = "runs")]
    pub all: bool,
    /// Retry settings.
    #[command(flatten)]
    pub retry: RetryArgs,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `perfwatch prune`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("policy").required(true))]
pub struct PruneArgs {
    /// Keep the newest N runs (runs a baseline points to are always kept).
    #[arg(long, value_name = "N", group = "policy")]
    pub keep_last: Option<usize>,
    /// Delete runs older than DURATION, e.g. 90d, 12h.
    #[arg(long, value_name = "DURATION", group = "policy", value_parser = duration)]
    pub older_than: Option<Duration>,
    /// Suite file and store.
    #[command(flatten)]
    pub store: StoreArgs,
}

// ------------------------------------------------------------------ typed value parsers

/// A unit parser's error, with its hint.
fn unit_message(e: perfwatch_config::UnitError) -> String {
    match e.help {
        Some(help) => format!("{} ({help})", e.message),
        None => e.message,
    }
}

/// `1.5s`, `200ms`, `2m`, `90d`.
fn duration(text: &str) -> Result<Duration, String> {
    perfwatch_config::parse_duration(text).map_err(unit_message)
}

/// `2%` or `0.02`, as a fraction.
fn percent(text: &str) -> Result<f64, String> {
    perfwatch_config::parse_percent_str(text).map_err(unit_message)
}

/// `32MiB`, `200MB`, `1024`: a whole number of bytes, at least 1.
fn size(text: &str) -> Result<usize, String> {
    let bytes = perfwatch_config::parse_size(text).map_err(unit_message)?;
    if (1.0..=(usize::MAX as f64)).contains(&bytes) {
        Ok(bytes as usize)
    } else {
        Err("must be at least 1 byte".into())
    }
}

/// `3x`, `3×`, `2.5x` or `3`: a finite speedup factor greater than 1.
fn speedup_factor(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix(['x', 'X', '×']).unwrap_or(text.trim()).trim_end();
    match number.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 1.0 => Ok(f),
        Ok(_) => Err("the factor must be a number greater than 1 (B faster than A), e.g. 3x".into()),
        Err(_) => Err(format!("expected a factor such as 3x or 2.5x, not {text:?}")),
    }
}

/// A p-value bound strictly between 0 and 1.
fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 1.0 => Ok(p),
        _ => Err("expected a number between 0 and 1, e.g. 0.001".into()),
    }
}

/// Requests per second: a finite number, 0 for no limit.
fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r >= 0.0 && r.is_finite() => Ok(r),
        _ => Err("expected requests per second, 0 for no limit".into()),
    }
}

/// `KEY=VALUE` with a non-empty key.
fn label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err("expected KEY=VALUE".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_parsed_into_their_types() {
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(duration("5").is_err());
        assert_eq!(percent("2%"), Ok(0.02));
        assert_eq!(size("1KiB"), Ok(1024));
        assert!(size("0").is_err());
        assert!(probability("1").is_err() && probability("0.01").is_ok());
        assert!(rate("-1").is_err() && rate("0").is_ok());
        assert_eq!(label("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(label("=x").is_err());
        assert_eq!(speedup_factor("3x"), Ok(3.0));
        assert_eq!(speedup_factor("2.5x"), Ok(2.5));
        assert_eq!(speedup_factor("3"), Ok(3.0));
        assert_eq!(speedup_factor("4×"), Ok(4.0));
        for bad in ["1x", "0.5x", "-3x", "x", "", "3xx", "inf", "NaNx", "fast"] {
            assert!(speedup_factor(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn import_formats_are_auto_or_the_importers_own_names() {
        assert_eq!(import_format("auto"), Ok(None));
        assert_eq!(import_format("cargo-criterion"), Ok(Some(perfwatch_import::Format::CargoCriterion)));
        for f in perfwatch_import::Format::ALL {
            assert_eq!(import_format(f.name()), Ok(Some(f)));
        }
        let err = import_format("hyperfin").unwrap_err();
        assert!(err.starts_with("expected auto or one of hyperfine, criterion,"), "{err}");
    }

    #[test]
    fn an_output_is_a_file_or_stdout_with_an_optional_format_prefix() {
        let target = |format, path: Option<&str>| OutputTarget { format, path: path.map(PathBuf::from) };
        assert_eq!(parse_output("run.xml"), Ok(target(None, Some("run.xml"))));
        assert_eq!(parse_output("-"), Ok(target(None, None)));
        assert_eq!(parse_output("github:-"), Ok(target(Some(FormatArg::Github), None)));
        assert_eq!(parse_output("hyperfine:h.json"), Ok(target(Some(FormatArg::Hyperfine), Some("h.json"))));
        assert_eq!(parse_output("md:c.md"), Ok(target(Some(FormatArg::Markdown), Some("c.md"))));
        // A colon that does not follow a format name belongs to the file name.
        assert_eq!(parse_output("results:2026.json"), Ok(target(None, Some("results:2026.json"))));
        assert!(parse_output("junit:").is_err());
        assert!(parse_output("").is_err());
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
