//! Import results other harnesses wrote (hyperfine, criterion, Google Benchmark,
//! pytest-benchmark, `go test -bench`, …) as one stored run, so they get perfwatch's history,
//! comparisons and change points.
//!
//! All or nothing: every file is read and checked before anything is stored, and the run is
//! written in one transaction. Harness summaries stay summaries: a metric the harness wrote
//! only a mean or median of is stored without samples ([`Summary::is_summary_only`]) and the
//! case carries [`Caveat::SummaryOnly`], so `compare` says "summary-only: no interval" instead
//! of judging it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use perfwatch_import::{CriterionFile, CriterionFiles, Format, Imported, ImportedCase, SourceMeta, Values};
use perfwatch_model::{
    CaseFailure, CaseId, CaseReport, CaseStatus, Caveat, ExitKind, GitInfo, HostInfo, RunMeta, RunReport,
    RunStatus, SCHEMA_VERSION, Summary,
};
use perfwatch_store::Store;

use crate::error::{AppError, Result, StoreContext};

/// What to import and how to label the run.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// Result files (a criterion `target/criterion` directory counts as one).
    pub files: Vec<PathBuf>,
    /// The format of every file; `None` sniffs each file's own.
    pub format: Option<Format>,
    /// Labels of the run.
    pub labels: BTreeMap<String, String>,
    /// Commit to record, overriding what the files say (`--commit`).
    pub commit: Option<String>,
    /// Branch to record, overriding what the files say (`--branch`).
    pub branch: Option<String>,
    /// Git state of the work tree the import runs in: used where the files and the flags are
    /// silent.
    pub local_git: Option<GitInfo>,
    /// This machine: used where the files do not name their host.
    pub local_host: Option<HostInfo>,
}

/// One file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    /// The file (or criterion directory).
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Whether the format was sniffed rather than given.
    pub sniffed: bool,
    /// Cases it held.
    pub cases: usize,
    /// Metrics of those cases that are summary-only.
    pub summary_only: usize,
}

/// The imported run, as stored.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// The stored run.
    pub report: RunReport,
    /// What each file held.
    pub files: Vec<FileRead>,
}

/// Reads every file, builds one run from them and stores it in the store `open` gives —
/// opened only once every file has been read, so a bad file neither stores anything nor
/// creates a store.
pub fn import(req: &ImportRequest, open: impl FnOnce() -> Result<Box<dyn Store>>) -> Result<ImportOutcome> {
    let (report, files) = read_run(req)?;
    let mut store = open()?;
    store.insert_run(&report).store_context(|| "saving the imported run".to_string())?;
    Ok(ImportOutcome { report, files })
}

/// The run the files make, without storing it.
pub fn read_run(req: &ImportRequest) -> Result<(RunReport, Vec<FileRead>)> {
    if req.files.is_empty() {
        return Err(AppError::Usage("nothing to import: name at least one result file".into()));
    }
    let mut cases: Vec<CaseReport> = Vec::new();
    let mut seen: BTreeMap<CaseId, PathBuf> = BTreeMap::new();
    let mut reads = Vec::new();
    let mut meta = SourceMeta::default();
    for path in &req.files {
        let (format, sniffed, imported) = read_file(path, req.format)?;
        let (mut summary_only, in_file) = (0, imported.cases.len());
        for case in imported.cases {
            if let Some(first) = seen.insert(case.case.clone(), path.clone()) {
                return Err(AppError::Usage(format!(
                    "{}: case {} is also in {}; import them as separate runs",
                    path.display(),
                    case.case,
                    first.display()
                )));
            }
            let report = case_report(case, format);
            summary_only += report.metrics.values().filter(|s| s.is_summary_only()).count();
            cases.push(report);
        }
        reads.push(FileRead { path: path.clone(), format, sniffed, cases: in_file, summary_only });
        meta = merge(meta, imported.meta);
    }
    let formats: BTreeSet<&str> = reads.iter().map(|r| r.format.name()).collect();
    let run = run_meta(req, &meta, &formats.into_iter().collect::<Vec<_>>().join(","));
    Ok((RunReport { schema_version: SCHEMA_VERSION, run, benchmarks: cases, budgets: vec![] }, reads))
}

/// Facts from several files: the first file that says something wins.
fn merge(a: SourceMeta, b: SourceMeta) -> SourceMeta {
    SourceMeta {
        commit: a.commit.or(b.commit),
        branch: a.branch.or(b.branch),
        dirty: a.dirty.or(b.dirty),
        time: a.time.or(b.time),
        hostname: a.hostname.or(b.hostname),
        cpu: a.cpu.or(b.cpu),
        cores: a.cores.or(b.cores),
    }
}

/// One file (or criterion directory): its format and what it held, or a located error
/// naming the file.
fn read_file(path: &Path, format: Option<Format>) -> Result<(Format, bool, Imported)> {
    if path.is_dir() {
        return match format {
            None | Some(Format::Criterion) => {
                Ok((Format::Criterion, format.is_none(), read_criterion(path)?))
            }
            Some(f) => Err(AppError::Usage(format!("{}: is a directory, not a {f} file", path.display()))),
        };
    }
    if format == Some(Format::Criterion) {
        // `new/sample.json` or `new/benchmark.json` of one benchmark: its directory.
        let dir = path
            .parent()
            .and_then(Path::parent)
            .filter(|_| path.ends_with("new/sample.json") || path.ends_with("new/benchmark.json"));
        return match dir {
            Some(dir) => Ok((Format::Criterion, false, read_criterion(dir)?)),
            None => Err(AppError::Usage(format!(
                "{}: criterion results are the target/criterion directory (or a benchmark's new/sample.json)",
                path.display()
            ))),
        };
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::Usage(format!("{}: cannot read: {e}", path.display())))?;
    let (format, sniffed) = match format {
        Some(f) => (f, false),
        None => (perfwatch_import::sniff(&text).ok_or_else(|| unknown_format(path))?, true),
    };
    let imported = perfwatch_import::parse(format, &text).map_err(|e| located(path, format, &e))?;
    Ok((format, sniffed, imported))
}

fn unknown_format(path: &Path) -> AppError {
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    AppError::Usage(format!(
        "{}: not a result file perfwatch recognises; name its format with --format ({})",
        path.display(),
        names.join(", ")
    ))
}

fn located(path: &Path, format: Format, e: &perfwatch_import::ImportError) -> AppError {
    let place = match (e.line, e.column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    };
    let at = e
        .path
        .as_deref()
        .filter(|p| !p.is_empty() && *p != ".")
        .map(|p| format!(" at {p}"))
        .unwrap_or_default();
    AppError::Usage(format!("{}{place}: not a valid {format} file{at}: {}", path.display(), e.message))
}

/// Every benchmark under a criterion directory: each `…/new/` holding `benchmark.json` and
/// `sample.json` (the `base/` and `change/` copies are older runs and comparisons).
fn read_criterion(dir: &Path) -> Result<Imported> {
    let mut found = Vec::new();
    walk(dir, &mut found)
        .map_err(|e| AppError::Io { context: format!("reading {}", dir.display()), source: e })?;
    found.sort();
    if found.is_empty() {
        return Err(AppError::Usage(format!(
            "{}: no criterion results here (expected <benchmark>/new/sample.json, as in target/criterion)",
            dir.display()
        )));
    }
    let mut cases = Vec::new();
    for new in found {
        let read = |name: &str| {
            let p = new.join(name);
            std::fs::read_to_string(&p)
                .map_err(|e| AppError::Usage(format!("{}: cannot read: {e}", p.display())))
        };
        let files = CriterionFiles { benchmark: read("benchmark.json")?, sample: read("sample.json")? };
        let case = perfwatch_import::parse_criterion(&files).map_err(|(which, e)| {
            let file = match which {
                CriterionFile::Benchmark => "benchmark.json",
                CriterionFile::Sample => "sample.json",
            };
            located(&new.join(file), Format::Criterion, &e)
        })?;
        cases.push(case);
    }
    Ok(Imported { cases, meta: SourceMeta::default() })
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") && path.join("sample.json").is_file() {
            found.push(path);
        } else if !path.file_name().is_some_and(|n| n == "base" || n == "change" || n == "report") {
            walk(&path, found)?;
        }
    }
    Ok(())
}

/// A stored case from an imported one: samples summarised as if measured, summaries kept as
/// summary-only metrics (no samples, `ci95 = [value, value]`) with a [`Caveat::SummaryOnly`].
fn case_report(case: ImportedCase, format: Format) -> CaseReport {
    let mut metrics = BTreeMap::new();
    let mut summary_only = Vec::new();
    let mut runs = 0u32;
    for (name, m) in case.metrics {
        let summary = match m.values {
            Values::Samples(v) => {
                runs = runs.max(v.len() as u32);
                perfwatch_stats::summarize(&v, &m.info)
            }
            Values::Reported(r) => {
                summary_only.push(format!("{name} ({})", r.center.name()));
                runs = runs.max(r.n.unwrap_or(0));
                reported_summary(&m.info, &r)
            }
        };
        metrics.insert(name, summary);
    }
    let mut caveats = Vec::new();
    if !summary_only.is_empty() {
        caveats.push(Caveat::SummaryOnly { source: format.name().to_string(), metrics: summary_only });
    }
    let failure = case.failure.map(|message| CaseFailure {
        message: format!("{format}: {message}"),
        exit: ExitKind::Exited { code: 1 },
        stderr_tail: String::new(),
    });
    let status = if failure.is_some() { CaseStatus::Failed } else { CaseStatus::Ok };
    CaseReport { case: case.case, status, runs, caveats, metrics, failure, raw: vec![] }
}

/// A summary-only metric. Statistics the harness did not report are filled with the
/// headline value (mean, min, max, p95, p99) or 0 (stddev, MAD) — JSON has no "unknown"
/// number — and mean nothing: the empty `samples` and the case's caveat say so.
fn reported_summary(info: &perfwatch_model::MetricInfo, r: &perfwatch_import::Reported) -> Summary {
    let v = r.value;
    Summary {
        unit: info.unit.clone(),
        better: info.better,
        n: r.n.unwrap_or(0),
        median: v,
        ci95: [v, v],
        mean: r.mean.unwrap_or(v),
        stddev: r.stddev.unwrap_or(0.0),
        mad: 0.0,
        min: r.min.unwrap_or(v),
        max: r.max.unwrap_or(v),
        p95: v,
        p99: v,
        outliers: 0,
        samples: vec![],
    }
}

/// The run's metadata: flags first, then what the files say, then this work tree and machine.
fn run_meta(req: &ImportRequest, meta: &SourceMeta, formats: &str) -> RunMeta {
    let local = req.local_git.clone();
    let commit = req.commit.clone().or(meta.commit.clone()).or(local.as_ref().map(|g| g.commit.clone()));
    let git = commit.map(|commit| {
        let same_as_local = local.as_ref().is_some_and(|g| g.commit == commit);
        GitInfo {
            branch: req.branch.clone().or(meta.branch.clone()).or(if same_as_local {
                local.as_ref().and_then(|g| g.branch.clone())
            } else {
                None
            }),
            dirty: meta.dirty.unwrap_or(same_as_local && local.as_ref().is_some_and(|g| g.dirty)),
            commit,
        }
    });
    let started = meta.time.unwrap_or_else(jiff::Timestamp::now);
    let mut labels = req.labels.clone();
    labels.entry("imported_from".into()).or_insert_with(|| formats.to_string());
    RunMeta {
        id: uuid::Uuid::now_v7().to_string(),
        started_at: started,
        ended_at: Some(started),
        status: RunStatus::Complete,
        git,
        host: host(req.local_host.clone().unwrap_or_else(perfwatch_runner::host_info), meta),
        labels,
        perfwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        suite_hash: format!("import:{formats}"),
    }
}

/// This machine, unless the files name another: then their host name, CPU and cores, with a
/// fingerprint of those alone (so the imported runs compare with each other, and a
/// comparison with local runs warns that the hosts differ).
fn host(local: HostInfo, meta: &SourceMeta) -> HostInfo {
    let other = meta.hostname.as_ref().is_some_and(|h| *h != local.hostname)
        || meta.cpu.as_ref().is_some_and(|c| *c != local.cpu)
        || meta.cores.is_some_and(|c| c != local.cores);
    if !other {
        return local;
    }
    let cpu = meta.cpu.clone().unwrap_or_default();
    let cores = meta.cores.unwrap_or(0);
    HostInfo {
        fingerprint: perfwatch_runner::fingerprint(&cpu, cores, 0, "", ""),
        hostname: meta.hostname.clone().unwrap_or_default(),
        cpu,
        cores,
        memory_bytes: 0,
        os: String::new(),
        kernel: String::new(),
        load_avg: [0.0; 3],
        governor: None,
        gpu: None,
    }
}
