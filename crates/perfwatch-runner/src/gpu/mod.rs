//! GPU use during measured runs (`[bench.gpu]`): an [`Executor`] wrapper that samples the
//! devices from a thread while the inner executor runs a command, and what the samples add
//! up to.
//!
//! Sampling happens in perfwatch's own process, not in the spawner helper: the helper must
//! stay a small image (see [`crate::spawner`]), and NVML is a large library. The run's
//! processes are those descending from the helper, which runs one command at a time.

mod nvml;
mod usage;

use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use nvml::{Gpu, NVML_LIBRARY_ENV};
pub use usage::{GpuSample, GpuUsage, integral, slowing_reasons, summarize, time_weighted_mean};

use crate::executor::{ExecOutcome, ExecRequest, Executor, ExecutorError, Stream};

/// Readings of a failing device after which a run stops asking (the rest of the run would
/// only repeat the error).
const MAX_ERRORS_PER_RUN: u32 = 20;

/// Runs commands with `inner` and, for requests with [`ExecRequest::gpu_interval`], samples
/// the GPU while they run ([`ExecOutcome::gpu`]).
pub struct GpuSampling<'a> {
    inner: &'a mut dyn Executor,
    gpu: &'a Gpu,
}

impl<'a> GpuSampling<'a> {
    /// Wraps `inner`; `gpu` is read during every request that asks for it.
    pub fn new(inner: &'a mut dyn Executor, gpu: &'a Gpu) -> Self {
        GpuSampling { inner, gpu }
    }
}

impl Executor for GpuSampling<'_> {
    fn execute(
        &mut self,
        req: &ExecRequest,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<ExecOutcome, ExecutorError> {
        let Some(interval) = req.gpu_interval else {
            return self.inner.execute(req, output);
        };
        let root = self.inner.process_root();
        let gpu = self.gpu;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let sampler = scope.spawn(move || sample_until(gpu, root, interval, &stopped));
            let result = self.inner.execute(req, output);
            drop(stop);
            let usage =
                sampler.join().unwrap_or_else(|_| summarize(&[], 1, Some("the sampler panicked".into())));
            result.map(|outcome| ExecOutcome { gpu: Some(usage), ..outcome })
        })
    }

    fn now(&self) -> Duration {
        self.inner.now()
    }

    fn process_root(&self) -> Option<u32> {
        self.inner.process_root()
    }
}

/// Reads `gpu` at once, then every `interval` until `stopped` is closed, then once more (a
/// peak at the command's very end counts).
fn sample_until(gpu: &Gpu, root: Option<u32>, interval: Duration, stopped: &mpsc::Receiver<()>) -> GpuUsage {
    let start = Instant::now();
    let ours = |pid: u32| root.is_some_and(|root| descends_from(pid, root));
    let (mut samples, mut errors, mut first_error) = (Vec::new(), 0u32, None);
    let mut read = || {
        let at = start.elapsed().as_secs_f64();
        match gpu.read(at, &ours) {
            Ok(sample) => samples.push(sample),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{e} at {at:.2} s"));
            }
        }
        errors < MAX_ERRORS_PER_RUN
    };
    while read() {
        if let Err(mpsc::RecvTimeoutError::Disconnected) = stopped.recv_timeout(interval) {
            read();
            break;
        }
    }
    summarize(&samples, errors, first_error)
}

/// Whether `pid` is `root` or one of its descendants (following parents in `/proc`).
fn descends_from(pid: u32, root: u32) -> bool {
    let mut current = pid as libc::pid_t;
    for _ in 0..64 {
        if current == root as libc::pid_t {
            return true;
        }
        match crate::sys::parent_pid(current) {
            Some(parent) if parent > 1 => current = parent,
            _ => return false,
        }
    }
    false
}
