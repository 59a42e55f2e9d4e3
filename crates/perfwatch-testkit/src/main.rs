//! `pw-fake`: tiny fake benchmark programs used by perfwatch's tests and examples.
//!
//! Every subcommand does one predictable thing (sleep, allocate, fail, hang, crash, print
//! metric lines, spin, flood its output) so tests can check what perfwatch measures against
//! a known truth. Run `pw-fake help` for the list.

use std::hint::black_box;
use std::io::{self, Write};
use std::process::{Command, ExitCode};
use std::time::Duration;

const USAGE: &str = "\
usage: pw-fake COMMAND [ARGS]
  sleep MS                      sleep MS milliseconds, exit 0
  alloc MIB [--hold MS]         allocate and touch MIB MiB, hold them MS ms, exit 0
  fork-alloc MIB                start a child that allocates MIB MiB, wait for it
  fail CODE                     print a few lines to stderr, exit CODE
  hang                          start a child that sleeps forever, then sleep forever
  crash [abort|segv]            die by SIGABRT (default) or SIGSEGV
  metric NAME=VALUE[,unit=U,better=lower|higher]...
                                print `perfwatch-metric` lines among ordinary output
  spin ITERS                    CPU-bound dependent loop of ITERS steps
  spam BYTES                    write BYTES bytes to stdout and BYTES bytes to stderr";

/// Bytes in one mebibyte.
const MIB: usize = 1 << 20;
/// Touch one byte per page; 4 KiB is the smallest page size on Linux targets.
const PAGE: usize = 4096;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("pw-fake: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    match cmd.as_str() {
        "sleep" => std::thread::sleep(Duration::from_millis(parse(rest.first(), "MS")?)),
        "alloc" => alloc(rest)?,
        "fork-alloc" => {
            let mib: usize = parse(rest.first(), "MIB")?;
            let status = Command::new(self_exe()?)
                .args(["alloc", &mib.to_string()])
                .status()
                .map_err(|e| format!("cannot start child: {e}"))?;
            if !status.success() {
                return Err(format!("child failed: {status}"));
            }
        }
        "fail" => {
            let code: u8 = parse(rest.first(), "CODE")?;
            println!("pw-fake: this line goes to stdout");
            for i in 1..=3 {
                eprintln!("pw-fake: error line {i} of 3");
            }
            eprintln!("pw-fake: failing with status {code}");
            return Ok(ExitCode::from(code));
        }
        "hang" => hang()?,
        "crash" => crash(rest.first().map(String::as_str))?,
        "metric" => {
            println!("pw-fake: ordinary output before the metrics");
            for spec in rest {
                println!("{}", metric_line(spec)?);
            }
            eprintln!("pw-fake: ordinary stderr output");
            println!("pw-fake: done");
        }
        "spin" => spin(parse(rest.first(), "ITERS")?),
        "spam" => {
            let bytes: usize = parse(rest.first(), "BYTES")?;
            spam(bytes).map_err(|e| format!("write failed: {e}"))?;
        }
        "help" | "--help" | "-h" => println!("{USAGE}"),
        other => return Err(format!("unknown command {other:?}")),
    }
    flush();
    Ok(ExitCode::SUCCESS)
}

/// `alloc MIB [--hold MS]`: touches MIB mebibytes, optionally holding them.
fn alloc(rest: &[String]) -> Result<(), String> {
    let mib: usize = parse(rest.first(), "MIB")?;
    let hold = match rest.get(1).map(String::as_str) {
        Some("--hold") => parse::<u64>(rest.get(2), "MS")?,
        Some(other) => return Err(format!("unexpected argument {other:?}")),
        None => 0,
    };
    let buf = touch(mib);
    std::thread::sleep(Duration::from_millis(hold));
    black_box(&buf);
    Ok(())
}

/// `hang`: starts a sleeping child and never returns.
fn hang() -> Result<(), String> {
    let child = Command::new(self_exe()?)
        .args(["sleep", "1000000000"])
        .spawn()
        .map_err(|e| format!("cannot start child: {e}"))?;
    // Reported as a metric so a test can find the grandchild without --show-output.
    println!("perfwatch-metric name=hang_child_pid value={}", child.id());
    eprintln!("pw-fake: hanging; child pid {}", child.id());
    flush();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// `crash [abort|segv]`: dies of a signal.
fn crash(kind: Option<&str>) -> Result<(), String> {
    match kind {
        None | Some("abort") => std::process::abort(),
        Some("segv") => {
            eprintln!("pw-fake: about to die of SIGSEGV");
            // Rust's runtime installs a SIGSEGV handler (stack-overflow detection) that would
            // swallow a raised signal; restore the default action first.
            // SAFETY: signal() with SIG_DFL installs no Rust code as a handler, and raise()
            // only sends a signal to this process, whose default action ends it.
            unsafe {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::raise(libc::SIGSEGV);
            }
            Err("still alive after SIGSEGV".into())
        }
        Some(other) => Err(format!("unknown crash kind {other:?}")),
    }
}

/// `spin ITERS`: a dependent chain of multiply-adds, so the work cannot be vectorised away.
fn spin(iters: u64) {
    let mut x: u64 = 1;
    for _ in 0..iters {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407));
    }
    println!("{x}");
}

fn parse<T: std::str::FromStr>(arg: Option<&String>, what: &str) -> Result<T, String> {
    let arg = arg.ok_or_else(|| format!("missing {what}"))?;
    arg.parse().map_err(|_| format!("invalid {what}: {arg:?}"))
}

fn self_exe() -> Result<std::path::PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))
}

fn flush() {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
}

/// Allocates `mib` MiB and writes one byte in every page so all of it becomes resident.
fn touch(mib: usize) -> Vec<u8> {
    let len = mib.saturating_mul(MIB);
    let mut buf = vec![0u8; len];
    for i in (0..len).step_by(PAGE) {
        buf[i] = 1;
    }
    black_box(buf)
}

/// `name=x,unit=s,better=lower` (or `x=1.5,unit=s`) → a `perfwatch-metric` line.
fn metric_line(spec: &str) -> Result<String, String> {
    let mut parts = spec.split(',');
    let head = parts.next().unwrap_or_default();
    let (name, value) =
        head.split_once('=').ok_or_else(|| format!("metric spec {spec:?} must start with NAME=VALUE"))?;
    let mut line = format!("perfwatch-metric name={name} value={value}");
    for extra in parts {
        line.push(' ');
        line.push_str(extra);
    }
    Ok(line)
}

/// Writes `bytes` to stdout and to stderr, interleaved in 64 KiB lines-of-x chunks.
fn spam(bytes: usize) -> io::Result<()> {
    let mut chunk = vec![b'x'; 64 * 1024];
    for i in (99..chunk.len()).step_by(100) {
        chunk[i] = b'\n';
    }
    let mut out = io::stdout().lock();
    let mut err = io::stderr().lock();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n])?;
        err.write_all(&chunk[..n])?;
        left -= n;
    }
    out.flush()?;
    err.flush()
}
