//! Reading NVIDIA GPUs through NVML, the library the driver ships (`libnvidia-ml.so.1`),
//! loaded at run time: perfwatch builds and runs without CUDA or a GPU.

use std::ffi::OsStr;

use nvml_wrapper::enum_wrappers::device::Clock;
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};

use super::usage::GpuSample;

/// Environment variable naming the NVML library to load instead of `libnvidia-ml.so.1`
/// (a driver installed outside the loader's path; the test suite's fake NVML).
pub const NVML_LIBRARY_ENV: &str = "PERFWATCH_NVML_LIBRARY";

/// An opened NVML with at least one device.
pub struct Gpu {
    nvml: Nvml,
    devices: u32,
    description: String,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("devices", &self.devices).field("description", &self.description).finish()
    }
}

impl Gpu {
    /// Loads NVML (from `$PERFWATCH_NVML_LIBRARY` when set) and finds its devices. The error
    /// says why there is no GPU to read, in words for a person.
    pub fn open() -> Result<Gpu, String> {
        let library = std::env::var_os(NVML_LIBRARY_ENV);
        Self::open_library(library.as_deref())
    }

    /// Like [`Gpu::open`] with an explicit library (`None`: the driver's default name).
    pub fn open_library(library: Option<&OsStr>) -> Result<Gpu, String> {
        let mut builder = Nvml::builder();
        if let Some(path) = library {
            builder.lib_path(path);
        }
        let nvml = builder.init().map_err(|e| match e {
            // The loader's message names the file: "libnvidia-ml.so.1: cannot open shared …".
            NvmlError::LibloadingError(e) => format!("cannot load the NVIDIA management library: {e}"),
            NvmlError::DriverNotLoaded => "the NVIDIA driver is not loaded".to_string(),
            e => format!("NVML did not start: {e}"),
        })?;
        let devices = nvml.device_count().map_err(|e| format!("NVML cannot count devices: {e}"))?;
        if devices == 0 {
            return Err("NVML sees no device".to_string());
        }
        let name = nvml.device_by_index(0).and_then(|d| d.name()).unwrap_or_else(|_| "unnamed GPU".into());
        let driver = nvml.sys_driver_version().map(|v| format!(" (driver {v})")).unwrap_or_default();
        let count = if devices > 1 { format!("{devices} × ") } else { String::new() };
        Ok(Gpu { nvml, devices, description: format!("{count}{name}{driver}") })
    }

    /// The devices, e.g. `2 × NVIDIA A100-SXM4-40GB (driver 550.54)` (named after the first).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Reads every device now. `ours` says whether a process id belongs to the run.
    /// Readings a device does not support are left out; any other failure fails the sample.
    pub fn read(&self, at: f64, ours: &dyn Fn(u32) -> bool) -> Result<GpuSample, String> {
        let mut sample = GpuSample { at, ..GpuSample::default() };
        let mut utils = Vec::new();
        for index in 0..self.devices {
            let device = self.nvml.device_by_index(index).map_err(|e| failed("device handle", &e))?;
            let memory = device.memory_info().map_err(|e| failed("memory", &e))?;
            sample.device_mem += memory.used;
            sample.process_mem += process_memory(&device, ours)?;
            if let Some(u) = optional(device.utilization_rates(), "utilisation")? {
                utils.push(f64::from(u.gpu) / 100.0);
            }
            if let Some(mw) = optional(device.power_usage(), "power")? {
                *sample.power_w.get_or_insert(0.0) += f64::from(mw) / 1e3;
            }
            if let Some(mj) = optional(device.total_energy_consumption(), "energy")? {
                *sample.energy_j.get_or_insert(0.0) += mj as f64 / 1e3;
            }
            if let Some(mhz) = optional(device.clock_info(Clock::SM), "SM clock")? {
                let mhz = f64::from(mhz);
                sample.sm_clock_mhz = Some(sample.sm_clock_mhz.map_or(mhz, |m: f64| m.min(mhz)));
            }
            if let Some(reasons) = optional(device.current_throttle_reasons(), "throttle reasons")? {
                sample.throttle |= reasons.bits();
            }
        }
        if !utils.is_empty() {
            sample.util = Some(utils.iter().sum::<f64>() / utils.len() as f64);
        }
        Ok(sample)
    }
}

/// Memory of the run's processes on `device`.
fn process_memory(device: &Device<'_>, ours: &dyn Fn(u32) -> bool) -> Result<u64, String> {
    let Some(processes) = optional(device.running_compute_processes(), "processes")? else {
        return Ok(0);
    };
    Ok(processes
        .iter()
        .filter(|p| ours(p.pid))
        .map(|p| match p.used_gpu_memory {
            UsedGpuMemory::Used(bytes) => bytes,
            UsedGpuMemory::Unavailable => 0,
        })
        .sum())
}

/// A reading the device may not offer: unsupported or absent from the library is `None`.
fn optional<T>(result: Result<T, NvmlError>, what: &str) -> Result<Option<T>, String> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(NvmlError::NotSupported | NvmlError::FailedToLoadSymbol(_)) => Ok(None),
        Err(e) => Err(failed(what, &e)),
    }
}

fn failed(what: &str, e: &NvmlError) -> String {
    format!("reading {what}: {e}")
}
