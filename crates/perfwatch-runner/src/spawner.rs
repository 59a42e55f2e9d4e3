//! The real executor: a small, long-lived helper process that spawns and measures benchmarks.
//!
//! Why a helper: on Linux a child's `ru_maxrss` starts from the high-water mark of the memory
//! image it replaced at `exec`. When a big process (perfwatch after loading a long history)
//! spawns `true` directly, `true` is charged the parent's peak. The helper is a fresh image
//! of a small program that stays small (fixed buffers), so what it spawns reports its own
//! peak. It also sits in its own process group, so the terminal's Ctrl-C reaches perfwatch
//! only; perfwatch then stops between runs.
//!
//! Protocol (line-delimited JSON): the parent writes one [`ExecRequest`] per line to the
//! helper's stdin; the helper answers with zero or more [`Reply::Output`] lines (only when
//! forwarding was asked for) and one [`Reply::Done`]. When its stdin closes (perfwatch exited
//! or died) the helper kills the running benchmark's group and exits.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use perfwatch_model::{Better, ExitKind};
use serde::{Deserialize, Serialize};

use crate::executor::{
    ExecOutcome, ExecRequest, Executor, ExecutorError, MAX_METRIC_LINE, MAX_METRIC_LINES,
    MAX_METRICS_FILE_BYTES, MAX_ODD_METRIC_LINES, METRICS_FILE_ENV, RawMetricLine, STDERR_TAIL_BYTES,
    STDERR_TAIL_LINES, Stream,
};
use crate::metric::{METRIC_PREFIX, parse_metric_line};
use crate::sys;

/// First argument that turns a perfwatch binary into the spawner helper.
pub const SPAWNER_ARG: &str = "__perfwatch-spawner";

/// How long output is still drained after the benchmark's group was killed; only processes
/// that left the group can hold the pipes open this long.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// Read buffer for benchmark output; the helper's memory stays bounded by it.
const READ_BUF: usize = 64 * 1024;
/// Without pidfds, how often `wait4(WNOHANG)` is polled.
const FALLBACK_POLL_MS: i32 = 1;

/// A message from the helper to perfwatch.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// A chunk of benchmark output (only with `forward_output`).
    Output {
        /// Which stream.
        stream: Stream,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The request finished.
    Done(Box<ExecOutcome>),
    /// The helper could not process the request (malformed request).
    Error(String),
}

/// If this process was started as the spawner helper (first argument [`SPAWNER_ARG`]), runs
/// the helper loop and exits; otherwise returns at once.
///
/// Call it first thing in `main`, before the program allocates anything large.
pub fn run_spawner_if_requested() {
    if std::env::args_os().nth(1).is_some_and(|a| a == SPAWNER_ARG) {
        let code = match spawner_main() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("perfwatch spawner: {e}");
                1
            }
        };
        std::process::exit(code);
    }
}

/// The [`Executor`] that runs commands through the spawner helper process.
#[derive(Debug)]
pub struct SpawnerExecutor {
    child: Child,
    to_helper: Option<BufWriter<ChildStdin>>,
    from_helper: BufReader<ChildStdout>,
    line: String,
}

impl SpawnerExecutor {
    /// Starts the helper by re-executing the current binary with [`SPAWNER_ARG`]; that binary
    /// must call [`run_spawner_if_requested`] first thing in `main`.
    pub fn start() -> Result<Self, ExecutorError> {
        let exe = std::env::current_exe()
            .map_err(|e| ExecutorError::Spawner(format!("cannot find own executable: {e}")))?;
        Self::start_with(exe, [SPAWNER_ARG])
    }

    /// Starts the helper as `program args…` (for tests and for binaries that dispatch the
    /// helper argument differently).
    pub fn start_with<I, S>(program: impl AsRef<Path>, args: I) -> Result<Self, ExecutorError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let program = program.as_ref();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Own group: the terminal's SIGINT goes to perfwatch, which stops between runs.
            .process_group(0)
            .spawn()
            .map_err(|e| ExecutorError::Spawner(format!("cannot start {}: {e}", program.display())))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(ExecutorError::Spawner("spawner pipes missing".into()));
        };
        Ok(SpawnerExecutor {
            child,
            to_helper: Some(BufWriter::new(stdin)),
            from_helper: BufReader::new(stdout),
            line: String::new(),
        })
    }

    fn broken(&mut self, what: &str, e: impl std::fmt::Display) -> ExecutorError {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!(" (spawner {status})"),
            _ => String::new(),
        };
        ExecutorError::Spawner(format!("{what}: {e}{status}"))
    }
}

impl Executor for SpawnerExecutor {
    fn execute(
        &mut self,
        req: &ExecRequest,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<ExecOutcome, ExecutorError> {
        let Some(w) = self.to_helper.as_mut() else {
            return Err(ExecutorError::Spawner("spawner already shut down".into()));
        };
        let sent = serde_json::to_writer(&mut *w, req)
            .map_err(io::Error::from)
            .and_then(|()| w.write_all(b"\n"))
            .and_then(|()| w.flush());
        if let Err(e) = sent {
            return Err(self.broken("cannot send request", e));
        }
        loop {
            self.line.clear();
            match self.from_helper.read_line(&mut self.line) {
                Ok(0) => return Err(self.broken("spawner exited", "unexpected end of output")),
                Ok(_) => {}
                Err(e) => return Err(self.broken("cannot read reply", e)),
            }
            let reply: Reply = match serde_json::from_str(&self.line) {
                Ok(r) => r,
                Err(e) => return Err(self.broken("malformed reply", e)),
            };
            match reply {
                Reply::Output { stream, data } => output(stream, &data),
                Reply::Done(outcome) => return Ok(*outcome),
                Reply::Error(message) => return Err(ExecutorError::Spawner(message)),
            }
        }
    }

    fn process_root(&self) -> Option<u32> {
        Some(self.child.id())
    }
}

impl Drop for SpawnerExecutor {
    fn drop(&mut self) {
        // Closing its stdin makes the helper kill any running benchmark and exit.
        drop(self.to_helper.take());
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Helper side.

fn spawner_main() -> io::Result<()> {
    // Orphans of a benchmark become our children, so that runs can clean up after themselves.
    // Without it (kernels before 3.4) leftovers are only reported by their absence.
    let _ = sys::become_subreaper();
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut out = BufWriter::new(io::stdout().lock());
    let devnull = File::open("/dev/null")?;
    let mut state = SpawnState {
        buf: vec![0u8; READ_BUF].into_boxed_slice(),
        devnull,
        metrics_dir: None,
        metrics_files: 0,
    };
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(()); // perfwatch closed the channel: normal shutdown.
        }
        let reply = match serde_json::from_str::<ExecRequest>(&line) {
            Ok(req) => {
                let mut send_err = None;
                let outcome = state.run(&req, &mut |stream, data| {
                    if send_err.is_none() {
                        let msg = Reply::Output { stream, data: data.to_vec() };
                        send_err = write_reply(&mut out, &msg).err();
                    }
                });
                if let Some(e) = send_err {
                    return Err(e);
                }
                match outcome {
                    Some(outcome) => Reply::Done(Box::new(outcome)),
                    None => return Ok(()), // control channel closed mid-run; child group killed
                }
            }
            Err(e) => Reply::Error(format!("malformed request: {e}")),
        };
        write_reply(&mut out, &reply)?;
    }
}

fn write_reply(out: &mut impl Write, reply: &Reply) -> io::Result<()> {
    serde_json::to_writer(&mut *out, reply)?;
    out.write_all(b"\n")?;
    out.flush()
}

struct SpawnState {
    buf: Box<[u8]>,
    devnull: File,
    /// Private directory (mode 0700) for the runs' metrics files, made on first use and
    /// removed when the helper exits.
    metrics_dir: Option<PathBuf>,
    /// Metrics files handed out so far (each run gets a new name).
    metrics_files: u64,
}

impl Drop for SpawnState {
    fn drop(&mut self) {
        if let Some(dir) = &self.metrics_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Scans one output stream for metric lines and keeps the stderr tail.
struct StreamScan {
    stream: Stream,
    line_no: u64,
    cur: Vec<u8>,
    /// The current line can no longer be a metric line (its start did not match).
    skip: bool,
    truncated: bool,
    /// Each valid metric seen: where its latest line is kept, with its unit and direction.
    kept: HashMap<String, (usize, Option<String>, Option<Better>)>,
    /// Malformed or conflicting lines kept so far.
    odd: usize,
}

impl StreamScan {
    fn new(stream: Stream) -> Self {
        StreamScan {
            stream,
            line_no: 1,
            cur: Vec::with_capacity(256),
            skip: false,
            truncated: false,
            kept: HashMap::new(),
            odd: 0,
        }
    }

    fn feed(&mut self, mut data: &[u8], lines: &mut Vec<RawMetricLine>, dropped: &mut u64) {
        while !data.is_empty() {
            let (seg, rest, newline) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (&data[..i], &data[i + 1..], true),
                None => (data, &[][..], false),
            };
            // Indentation before the prefix is allowed (a log formatter, a nested printer).
            let seg = if self.cur.is_empty() && !self.skip {
                let start = seg.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(seg.len());
                &seg[start..]
            } else {
                seg
            };
            if !self.skip {
                let room = MAX_METRIC_LINE.saturating_sub(self.cur.len());
                self.cur.extend_from_slice(&seg[..seg.len().min(room)]);
                if seg.len() > room {
                    self.truncated = true;
                }
                let n = self.cur.len().min(METRIC_PREFIX.len());
                if self.cur[..n] != METRIC_PREFIX.as_bytes()[..n] {
                    self.skip = true;
                    self.cur.clear();
                }
            }
            if newline {
                self.end_line(lines, dropped);
            }
            data = rest;
        }
    }

    fn end_line(&mut self, lines: &mut Vec<RawMetricLine>, dropped: &mut u64) {
        if !self.skip && self.cur.len() >= METRIC_PREFIX.len() {
            let text = String::from_utf8_lossy(&self.cur).trim_end_matches('\r').to_string();
            let parsed = if self.truncated { None } else { parse_metric_line(&text).ok() };
            let line =
                RawMetricLine { stream: self.stream, line_no: self.line_no, text, truncated: self.truncated };
            self.keep(line, parsed, lines, dropped);
        }
        self.cur.clear();
        self.skip = false;
        self.truncated = false;
        self.line_no += 1;
    }

    /// Keeps `line`: a metric seen before with the same unit and direction replaces its
    /// earlier line; a new metric is added up to [`MAX_METRIC_LINES`]; a malformed line, or
    /// one that disagrees with its metric's earlier line, is added (for its warning) up to
    /// [`MAX_ODD_METRIC_LINES`]. Anything else is counted as dropped.
    fn keep(
        &mut self,
        line: RawMetricLine,
        parsed: Option<crate::MetricLine>,
        lines: &mut Vec<RawMetricLine>,
        dropped: &mut u64,
    ) {
        let Some(m) = parsed else { return self.keep_odd(line, lines, dropped) };
        match self.kept.get(&m.name) {
            Some((at, unit, better)) if *unit == m.unit && *better == m.better => lines[*at] = line,
            Some(_) => self.keep_odd(line, lines, dropped),
            None if self.kept.len() < MAX_METRIC_LINES => {
                self.kept.insert(m.name, (lines.len(), m.unit, m.better));
                lines.push(line);
            }
            None => *dropped += 1,
        }
    }

    fn keep_odd(&mut self, line: RawMetricLine, lines: &mut Vec<RawMetricLine>, dropped: &mut u64) {
        if self.odd < MAX_ODD_METRIC_LINES {
            self.odd += 1;
            lines.push(line);
        } else {
            *dropped += 1;
        }
    }

    fn finish(&mut self, lines: &mut Vec<RawMetricLine>, dropped: &mut u64) {
        if !self.cur.is_empty() {
            self.end_line(lines, dropped);
        }
    }
}

/// The metric lines the spawner keeps from one stream that wrote `chunks` (in that order),
/// and how many more it dropped: exactly what a benchmark's run reports, without running one.
/// Public so that fuzzing (`fuzz/`) can drive the scanner with arbitrary bytes and splits.
pub fn scan_metric_stream<'a>(
    stream: Stream,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<RawMetricLine>, u64) {
    let (mut lines, mut dropped) = (Vec::new(), 0);
    let mut scan = StreamScan::new(stream);
    for chunk in chunks {
        scan.feed(chunk, &mut lines, &mut dropped);
    }
    scan.finish(&mut lines, &mut dropped);
    (lines, dropped)
}

/// Keeps the last [`STDERR_TAIL_BYTES`] bytes written.
struct Tail(std::collections::VecDeque<u8>);

impl Tail {
    fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(STDERR_TAIL_BYTES)..];
        let excess = (self.0.len() + data.len()).saturating_sub(STDERR_TAIL_BYTES);
        self.0.drain(..excess);
        self.0.extend(data);
    }

    fn text(&self) -> String {
        let bytes: Vec<u8> = self.0.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end_matches('\n');
        let lines: Vec<&str> = text.rsplit('\n').take(STDERR_TAIL_LINES).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl SpawnState {
    /// Runs one request. `None` means the control channel closed while the benchmark ran
    /// (its group has been killed and reaped).
    fn run(&mut self, req: &ExecRequest, forward: &mut dyn FnMut(Stream, &[u8])) -> Option<ExecOutcome> {
        let Some(program) = req.argv.first() else {
            return Some(ExecOutcome::spawn_failed("empty command"));
        };
        // Everything that can be prepared is prepared before the clock starts.
        let (pipes, stdin) = match (sys::pipe(), sys::pipe(), self.devnull.try_clone()) {
            (Ok(o), Ok(e), Ok(n)) => ((o, e), n),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return Some(ExecOutcome::spawn_failed(format!("cannot create pipes: {e}")));
            }
        };
        let ((out_r, out_w), (err_r, err_w)) = pipes;
        let mut cmd = Command::new(program);
        cmd.args(&req.argv[1..])
            .current_dir(&req.cwd)
            .envs(&req.env)
            .stdin(stdin)
            .stdout(Stdio::from(out_w))
            .stderr(Stdio::from(err_w))
            .process_group(0);

        // Without a metrics file (a full or read-only temporary directory) the run still
        // happens: lines printed on stdout and stderr count as before.
        let metrics_file = if req.metrics_file { self.new_metrics_file().ok() } else { None };
        // Set in the helper's own environment, which the child inherits, rather than with
        // `cmd.env`: any `cmd.env` makes `spawn` copy the whole environment, and that copy
        // falls inside the timed window. The helper has a single thread, so this is sound.
        match &metrics_file {
            // SAFETY: no other thread exists in the helper to read the environment meanwhile.
            Some(path) => unsafe { std::env::set_var(METRICS_FILE_ENV, path) },
            // SAFETY: as above.
            None => unsafe { std::env::remove_var(METRICS_FILE_ENV) },
        }

        // Processes already ours before the run (a server `setup` started) are not leftovers.
        let before =
            if req.kill_leftovers && sys::has_children() { sys::running_children() } else { Vec::new() };

        // ---- timed window: spawn → observed exit ----
        let start = Instant::now();
        let spawned = cmd.spawn();
        // Close our copies of the pipes' write ends, or we would never see EOF.
        drop(cmd);
        let child = match spawned {
            Ok(child) => child,
            Err(e) => return Some(ExecOutcome::spawn_failed(spawn_message(program, &req.cwd, &e))),
        };
        let group = child.id() as libc::pid_t;
        let mut outcome = self.watch(req, child, start, File::from(out_r), File::from(err_r), forward);
        if req.kill_leftovers {
            let killed = kill_leftovers(&before, group);
            if let Some(outcome) = outcome.as_mut() {
                outcome.leftovers_killed = killed;
            }
        }
        match outcome {
            Some(outcome) => Some(self.with_metrics_file(outcome, metrics_file)),
            None => {
                if let Some(path) = &metrics_file {
                    let _ = std::fs::remove_file(path);
                }
                None
            }
        }
    }

    /// A new, empty file (mode 0600) in the private metrics directory.
    fn new_metrics_file(&mut self) -> io::Result<PathBuf> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let dir = match &self.metrics_dir {
            Some(dir) => dir.clone(),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let dir = std::env::temp_dir().join(format!("perfwatch-{}-{nanos}", std::process::id()));
                std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
                self.metrics_dir = Some(dir.clone());
                dir
            }
        };
        self.metrics_files += 1;
        let path = dir.join(format!("run-{}.metrics", self.metrics_files));
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        Ok(path)
    }

    /// Adds the metric lines the run appended to its metrics file (up to
    /// [`MAX_METRICS_FILE_BYTES`]), then deletes the file.
    fn with_metrics_file(&mut self, mut outcome: ExecOutcome, path: Option<PathBuf>) -> ExecOutcome {
        let Some(path) = path else { return outcome };
        if let Ok(file) = File::open(&path) {
            let mut scan = StreamScan::new(Stream::MetricsFile);
            let mut limited = file.take(MAX_METRICS_FILE_BYTES);
            while let Ok(n @ 1..) = limited.read(&mut self.buf) {
                scan.feed(&self.buf[..n], &mut outcome.metric_lines, &mut outcome.dropped_metric_lines);
            }
            scan.finish(&mut outcome.metric_lines, &mut outcome.dropped_metric_lines);
            if limited.into_inner().read(&mut self.buf[..1]).is_ok_and(|n| n > 0) {
                // More than the bound was written: say that lines were left unread.
                outcome.dropped_metric_lines += 1;
            }
        }
        let _ = std::fs::remove_file(&path);
        outcome
    }

    /// Drains the benchmark's output and waits for its exit (or its timeout); `None` when the
    /// control channel closed meanwhile (the benchmark's group is then killed and reaped).
    fn watch(
        &mut self,
        req: &ExecRequest,
        child: Child,
        start: Instant,
        out_r: File,
        err_r: File,
        forward: &mut dyn FnMut(Stream, &[u8]),
    ) -> Option<ExecOutcome> {
        let pid = child.id() as libc::pid_t;
        // We reap with wait4 ourselves; std's Child handle is not used again.
        drop(child);
        let mut w = Watch::new(pid, req.timeout.map(|t| start + t), [out_r, err_r]);
        let stdin_fd = io::stdin().as_raw_fd();
        while let Some(wait_ms) = w.wait_ms() {
            let mut fds = [
                sys::pollfd(w.files[0].as_ref(), libc::POLLIN),
                sys::pollfd(w.files[1].as_ref(), libc::POLLIN),
                sys::pollfd(if w.exited.is_none() { w.pidfd.as_ref() } else { None }, libc::POLLIN),
                // Only hang-up matters on the control channel while a benchmark runs.
                libc::pollfd { fd: stdin_fd, events: 0, revents: 0 },
            ];
            if sys::poll(&mut fds, wait_ms).is_err() {
                // poll only fails on resource exhaustion; do not spin, fall back to a blocking reap.
                sys::kill_group(pid);
            }
            // Take the end time first thing, so draining output is not part of the run.
            w.reap_if_exited(fds[2].revents != 0);
            if fds[3].revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                w.abandon();
                return None;
            }
            for (i, fd) in fds.iter().take(2).enumerate() {
                if fd.revents != 0 {
                    w.read(i, &mut self.buf, &mut |stream, data| {
                        if req.forward_output {
                            forward(stream, data);
                        }
                    });
                }
            }
        }
        Some(w.outcome(start))
    }
}

/// Rounds of [`kill_leftovers`]: killing a daemon orphans its own children to us in turn.
const LEFTOVER_ROUNDS: usize = 16;

/// Kills and reaps the children that were not there before the run (`before`): processes the
/// benchmark left behind, reparented to us as their subreaper. Returns how many were outside
/// the benchmark's process group `group`; members of the group (already sent SIGKILL with it,
/// perhaps not yet dead) are reaped but not counted. Nothing is scanned when we have no child
/// at all, the usual case.
fn kill_leftovers(before: &[libc::pid_t], group: libc::pid_t) -> u32 {
    let mut killed = 0;
    for _ in 0..LEFTOVER_ROUNDS {
        sys::reap_exited();
        if !sys::has_children() {
            break;
        }
        let new: Vec<libc::pid_t> =
            sys::running_children().into_iter().filter(|pid| !before.contains(pid)).collect();
        if new.is_empty() {
            break;
        }
        for pid in new {
            let escaped = sys::process_group(pid) != Some(group);
            sys::kill_and_reap(pid);
            killed += u32::from(escaped);
        }
    }
    killed
}

/// One running benchmark: its output streams being drained and scanned, and its exit.
struct Watch {
    pid: libc::pid_t,
    /// Readable when the process exits (kernel ≥ 5.3); without it the exit is polled for.
    pidfd: Option<std::os::fd::OwnedFd>,
    deadline: Option<Instant>,
    files: [Option<File>; 2],
    scans: [StreamScan; 2],
    tail: Tail,
    metric_lines: Vec<RawMetricLine>,
    dropped: u64,
    timed_out: bool,
    /// Status, usage and the time the exit was seen.
    exited: Option<(sys::WaitStatus, sys::Usage, Instant)>,
}

impl Watch {
    fn new(pid: libc::pid_t, deadline: Option<Instant>, [out, err]: [File; 2]) -> Watch {
        Watch {
            pid,
            pidfd: sys::pidfd_open(pid),
            deadline,
            files: [Some(out), Some(err)],
            scans: [StreamScan::new(Stream::Stdout), StreamScan::new(Stream::Stderr)],
            tail: Tail(std::collections::VecDeque::with_capacity(STDERR_TAIL_BYTES)),
            metric_lines: Vec::new(),
            dropped: 0,
            timed_out: false,
            exited: None,
        }
    }

    /// How long the next poll may wait (−1: forever); `None` when watching is over. Phase 1
    /// runs until the child exits (killing its group at the timeout); phase 2 drains what is
    /// left of its output, bounded by [`DRAIN_GRACE`].
    fn wait_ms(&mut self) -> Option<i32> {
        let now = Instant::now();
        let wait_ms = match (self.exited.as_ref(), self.deadline) {
            (Some((_, _, end)), _) => {
                let limit = *end + DRAIN_GRACE;
                if now >= limit || self.files.iter().all(Option::is_none) {
                    return None;
                }
                ms_until(now, limit)
            }
            (None, Some(d)) if now >= d => {
                // Timeout: kill the whole group and reap it; then drain.
                self.timed_out = true;
                sys::kill_group(self.pid);
                let (status, usage) = match sys::wait4(self.pid, false) {
                    Ok(Some(reaped)) => reaped,
                    _ => (0, sys::Usage::default()),
                };
                self.exited = Some((status, usage, Instant::now()));
                return self.wait_ms();
            }
            (None, Some(d)) => ms_until(now, d),
            (None, None) => -1,
        };
        Some(if self.exited.is_none() && self.pidfd.is_none() {
            if wait_ms < 0 { FALLBACK_POLL_MS } else { wait_ms.min(FALLBACK_POLL_MS) }
        } else {
            wait_ms
        })
    }

    /// Reaps the benchmark when its pidfd says it exited (or, without pidfds, when it has).
    fn reap_if_exited(&mut self, pidfd_ready: bool) {
        if self.exited.is_some() || !(pidfd_ready || self.pidfd.is_none()) {
            return;
        }
        let end = Instant::now();
        if self.pidfd.is_some() {
            // The leader has exited but is not reaped: as a zombie it keeps its pid, so the
            // group id cannot have been recycled. Leftover processes of the benchmark's group
            // must not outlive the run.
            sys::kill_group(self.pid);
        }
        if let Ok(Some((status, usage))) = sys::wait4(self.pid, self.pidfd.is_none()) {
            self.exited = Some((status, usage, end));
            if self.pidfd.is_none() {
                // Without pidfds we only learn of the exit by reaping; the group id stays
                // reserved while the group still has members.
                sys::kill_group(self.pid);
            }
        }
    }

    /// Reads what stream `i` has, scanning it for metric lines (stderr also feeds the tail).
    fn read(&mut self, i: usize, buf: &mut [u8], forward: &mut dyn FnMut(Stream, &[u8])) {
        let Some(file) = self.files[i].as_mut() else { return };
        match file.read(buf) {
            Ok(0) | Err(_) => self.files[i] = None,
            Ok(n) => {
                let data = &buf[..n];
                self.scans[i].feed(data, &mut self.metric_lines, &mut self.dropped);
                if i == 1 {
                    self.tail.push(data);
                }
                forward(self.scans[i].stream, data);
            }
        }
    }

    /// perfwatch's end of the control channel closed: the benchmark must not outlive it.
    fn abandon(&mut self) {
        sys::kill_group(self.pid);
        if self.exited.is_none() {
            let _ = sys::wait4(self.pid, false);
        }
    }

    /// What was measured, from `start` (the spawn) to the observed exit.
    fn outcome(mut self, start: Instant) -> ExecOutcome {
        for scan in &mut self.scans {
            scan.finish(&mut self.metric_lines, &mut self.dropped);
        }
        let (status, usage, end) = self.exited.unwrap_or((0, sys::Usage::default(), Instant::now()));
        let exit = if self.timed_out {
            ExitKind::TimedOut
        } else {
            match sys::decode_status(status) {
                Ok(code) => ExitKind::Exited { code },
                Err(signal) => ExitKind::Signaled { signal },
            }
        };
        ExecOutcome {
            wall: end.duration_since(start).as_secs_f64(),
            user: usage.user,
            sys: usage.sys,
            max_rss: usage.max_rss,
            exit,
            metric_lines: self.metric_lines,
            dropped_metric_lines: self.dropped,
            stderr_tail: self.tail.text(),
            leftovers_killed: 0,
            gpu: None,
        }
    }
}

fn ms_until(now: Instant, then: Instant) -> i32 {
    let d = then.saturating_duration_since(now);
    // Round up so we never wake before the deadline and spin.
    (d.as_micros().div_ceil(1000)).min(i32::MAX as u128) as i32
}

/// A clear message for a failed spawn: which of program, permissions or cwd was the problem.
fn spawn_message(program: &str, cwd: &Path, e: &io::Error) -> String {
    if !cwd.is_dir() {
        return format!("working directory does not exist or is not a directory: {}", cwd.display());
    }
    match e.kind() {
        io::ErrorKind::NotFound if program.contains('/') => {
            let path = PathBuf::from(program);
            let shown = if path.is_absolute() { path } else { cwd.join(path) };
            format!("no such file: {}", shown.display())
        }
        io::ErrorKind::NotFound => format!("command not found: {program}"),
        io::ErrorKind::PermissionDenied => format!("permission denied: {program}"),
        _ => format!("cannot start {program}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_metric_lines_across_chunks() {
        let mut scan = StreamScan::new(Stream::Stdout);
        let mut lines = Vec::new();
        let mut dropped = 0;
        let text = b"hello\nperfwatch-metric name=a value=1\nperfwatch-x\nperfwatch-metric name=b value=2";
        for chunk in text.chunks(3) {
            scan.feed(chunk, &mut lines, &mut dropped);
        }
        scan.finish(&mut lines, &mut dropped);
        let got: Vec<(u64, &str)> = lines.iter().map(|l| (l.line_no, l.text.as_str())).collect();
        assert_eq!(got, [(2, "perfwatch-metric name=a value=1"), (4, "perfwatch-metric name=b value=2")]);
    }

    #[test]
    fn indented_metric_lines_count_even_when_the_indent_spans_chunks() {
        let mut scan = StreamScan::new(Stream::Stdout);
        let (mut lines, mut dropped) = (Vec::new(), 0);
        let text =
            b"  \t perfwatch-metric name=a value=1\n    not a metric\n\tperfwatch-metric name=b value=2\n";
        for chunk in text.chunks(2) {
            scan.feed(chunk, &mut lines, &mut dropped);
        }
        scan.finish(&mut lines, &mut dropped);
        let got: Vec<(u64, &str)> = lines.iter().map(|l| (l.line_no, l.text.as_str())).collect();
        assert_eq!(got, [(1, "perfwatch-metric name=a value=1"), (3, "perfwatch-metric name=b value=2")]);
    }

    #[test]
    fn repeats_and_malformed_lines_cannot_crowd_out_a_valid_line() {
        let mut scan = StreamScan::new(Stream::Stdout);
        let (mut lines, mut dropped) = (Vec::new(), 0);
        let mut text = String::new();
        for i in 0..5000 {
            text += &format!("perfwatch-metric name=a value={i} unit=s\n");
        }
        for _ in 0..1500 {
            text += "perfwatch-metric name=b value=oops\n";
        }
        text += "perfwatch-metric name=a value=1 unit=ms\n"; // conflicts with the unit so far
        text += "perfwatch-metric name=late value=42\n";
        scan.feed(text.as_bytes(), &mut lines, &mut dropped);
        scan.finish(&mut lines, &mut dropped);
        let a: Vec<&str> =
            lines.iter().filter(|l| l.text.contains("name=a ")).map(|l| l.text.as_str()).collect();
        // The last value of `a` in its unit, and the conflicting line apart (for its warning)
        // only if it fitted among the odd lines: the 100 malformed ones filled them first.
        assert_eq!(a, ["perfwatch-metric name=a value=4999 unit=s"]);
        assert_eq!(lines.iter().filter(|l| l.text.contains("oops")).count(), MAX_ODD_METRIC_LINES);
        assert!(
            lines.iter().any(|l| l.text == "perfwatch-metric name=late value=42"),
            "the valid line was lost"
        );
        assert_eq!(dropped, 1400 + 1);
        assert_eq!(lines.len(), 1 + MAX_ODD_METRIC_LINES + 1);
    }

    #[test]
    fn long_metric_line_is_cut_and_flagged() {
        let mut scan = StreamScan::new(Stream::Stderr);
        let mut lines = Vec::new();
        let mut dropped = 0;
        let mut text = b"perfwatch-metric name=a value=".to_vec();
        text.extend(std::iter::repeat_n(b'1', 10_000));
        text.push(b'\n');
        scan.feed(&text, &mut lines, &mut dropped);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].truncated);
        assert_eq!(lines[0].text.len(), MAX_METRIC_LINE);
    }

    #[test]
    fn tail_keeps_last_lines() {
        let mut tail = Tail(Default::default());
        for i in 0..100 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        let text = tail.text();
        assert_eq!(text.lines().count(), STDERR_TAIL_LINES);
        assert!(text.ends_with("line 99"));
        tail.push(&vec![b'y'; 10_000]);
        assert_eq!(tail.text().len(), STDERR_TAIL_BYTES);
    }
}
