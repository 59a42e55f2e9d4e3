//! What GPU samples taken during one run add up to: peaks, time-weighted means and energy.
//! Pure: no NVML, no clock; the sampler hands in timestamped readings.

use std::collections::BTreeMap;

use perfwatch_model::metric::{GPU_ENERGY, GPU_MEM_DEVICE_PEAK, GPU_MEM_PEAK, GPU_SM_CLOCK, GPU_UTIL};
use serde::{Deserialize, Serialize};

/// One reading of every device, at one moment of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuSample {
    /// Seconds since sampling started.
    pub at: f64,
    /// GPU memory used by the run's own processes, summed over them and over devices (bytes).
    pub process_mem: u64,
    /// GPU memory used on all devices, by anyone (bytes).
    pub device_mem: u64,
    /// Mean utilisation over devices (0–1), when the devices report it.
    pub util: Option<f64>,
    /// Power drawn by all devices (watts), when reported.
    pub power_w: Option<f64>,
    /// Sum of the devices' energy counters since driver load (joules), when reported.
    pub energy_j: Option<f64>,
    /// Lowest SM clock over devices (MHz), when reported.
    pub sm_clock_mhz: Option<f64>,
    /// NVML clock-throttle reason bits, OR-ed over devices.
    pub throttle: u64,
}

/// What the GPU did during one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuUsage {
    /// Readings that succeeded.
    pub samples: u32,
    /// Peak of [`GpuSample::process_mem`] (bytes).
    pub mem_peak: u64,
    /// Peak of [`GpuSample::device_mem`] (bytes).
    pub device_mem_peak: u64,
    /// Time-weighted mean utilisation (0–1).
    pub util: Option<f64>,
    /// Energy drawn over the sampled window (joules).
    pub energy_j: Option<f64>,
    /// Time-weighted mean of the lowest SM clock (MHz).
    pub sm_clock_mhz: Option<f64>,
    /// Throttle reasons that slow the device, by name (see [`slowing_reasons`]).
    pub throttle_reasons: Vec<String>,
    /// Readings that failed.
    pub errors: u32,
    /// The first failure, with when it happened.
    pub first_error: Option<String>,
}

impl GpuUsage {
    /// The run's GPU metrics by name ([`perfwatch_model::metric`]); none without a sample.
    pub fn metrics(&self) -> BTreeMap<&'static str, f64> {
        let mut out = BTreeMap::new();
        if self.samples == 0 {
            return out;
        }
        out.insert(GPU_MEM_PEAK, self.mem_peak as f64);
        out.insert(GPU_MEM_DEVICE_PEAK, self.device_mem_peak as f64);
        let optional =
            [(GPU_UTIL, self.util), (GPU_ENERGY, self.energy_j), (GPU_SM_CLOCK, self.sm_clock_mhz)];
        out.extend(optional.into_iter().filter_map(|(name, v)| Some((name, v?))));
        out
    }
}

/// Summarises the samples of one run (in time order) and the failed readings.
///
/// Peaks are the largest sample. Utilisation and clock are time-weighted means by the
/// trapezoidal rule over the sampled window (a plain mean when there is one sample or no
/// time between them). Energy is the growth of the devices' energy counters between the
/// first and last sample when every sample has one and it never decreased; otherwise the
/// trapezoidal integral of power over time. (Trapezoidal rule: Press et al., *Numerical
/// Recipes*, 3rd ed., §4.1; the error is O(h²·f″) for sample spacing h, so sampling at a
/// fraction of the run's length keeps it small for smoothly varying readings.)
pub fn summarize(samples: &[GpuSample], errors: u32, first_error: Option<String>) -> GpuUsage {
    let mut usage = GpuUsage { samples: samples.len() as u32, errors, first_error, ..GpuUsage::default() };
    if samples.is_empty() {
        return usage;
    }
    usage.mem_peak = samples.iter().map(|s| s.process_mem).max().unwrap_or(0);
    usage.device_mem_peak = samples.iter().map(|s| s.device_mem).max().unwrap_or(0);
    usage.util = time_weighted_mean(samples, |s| s.util);
    usage.sm_clock_mhz = time_weighted_mean(samples, |s| s.sm_clock_mhz);
    usage.energy_j = counter_growth(samples).or_else(|| integral(samples, |s| s.power_w));
    usage.throttle_reasons = slowing_reasons(samples.iter().fold(0, |bits, s| bits | s.throttle));
    usage
}

/// The `(time, value)` points of the samples that have a `value`.
fn points(samples: &[GpuSample], value: impl Fn(&GpuSample) -> Option<f64>) -> Vec<(f64, f64)> {
    samples.iter().filter_map(|s| Some((s.at, value(s)?))).collect()
}

/// The trapezoidal integral over `points` (time, value); `None` with fewer than two.
fn trapezoid(points: &[(f64, f64)]) -> Option<f64> {
    (points.len() >= 2)
        .then(|| points.windows(2).map(|w| (w[1].0 - w[0].0).max(0.0) * (w[0].1 + w[1].1) / 2.0).sum())
}

/// The trapezoidal integral of `value` over the samples that have it.
pub fn integral(samples: &[GpuSample], value: impl Fn(&GpuSample) -> Option<f64>) -> Option<f64> {
    trapezoid(&points(samples, value))
}

/// The mean of `value` over time (trapezoidal), or its plain mean when the samples span no
/// time.
pub fn time_weighted_mean(samples: &[GpuSample], value: impl Fn(&GpuSample) -> Option<f64>) -> Option<f64> {
    let points = points(samples, value);
    let (first, last) = (points.first()?, points.last()?);
    let span = last.0 - first.0;
    if span > 0.0 {
        return Some(trapezoid(&points)? / span);
    }
    Some(points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64)
}

/// Growth of the energy counters from the first to the last sample, when every sample has
/// a reading and the counter never went back (a driver reload resets it).
fn counter_growth(samples: &[GpuSample]) -> Option<f64> {
    let readings: Option<Vec<f64>> = samples.iter().map(|s| s.energy_j).collect();
    let readings = readings?;
    if readings.len() < 2 || readings.windows(2).any(|w| w[1] < w[0]) {
        return None;
    }
    Some(readings[readings.len() - 1] - readings[0])
}

/// NVML's clock-throttle reason bits that slow the device down (from `nvml.h`,
/// `nvmlClocksThrottleReason*`), by the name perfwatch reports. Idle, application-clock and
/// display settings are left out: they are not the machine misbehaving.
const SLOWING: [(u64, &str); 5] = [
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
];

/// The names of the slowing reasons set in `bits`, in bit order.
pub fn slowing_reasons(bits: u64) -> Vec<String> {
    SLOWING.iter().filter(|(bit, _)| bits & bit != 0).map(|(_, name)| (*name).to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(t: f64) -> GpuSample {
        GpuSample { at: t, ..GpuSample::default() }
    }

    #[test]
    fn peaks_are_the_largest_sample() {
        let samples: Vec<GpuSample> = [(1u64 << 30, 2u64 << 30), (3 << 30, 4 << 30), (1 << 30, 5 << 30)]
            .iter()
            .enumerate()
            .map(|(i, &(p, d))| GpuSample { process_mem: p, device_mem: d, ..at(i as f64) })
            .collect();
        let u = summarize(&samples, 0, None);
        assert_eq!((u.mem_peak, u.device_mem_peak, u.samples), (3 << 30, 5 << 30, 3));
        assert_eq!(u.metrics()[GPU_MEM_PEAK], (3u64 << 30) as f64);
    }

    #[test]
    fn utilisation_is_weighted_by_time_not_by_sample_count() {
        // 0 % for 3 s sampled once a second, then 100 % for 1 s sampled ten times: the plain
        // mean of the samples would be 10/14; over time the trapezoids give
        // (0 + 0 + 0 + 0.5·0.1 + 1·0.9) / 4 = 0.2375 (the step from 0 to 1 spreads over the
        // interval it happened in).
        let mut samples: Vec<GpuSample> =
            (0..4).map(|i| GpuSample { util: Some(0.0), ..at(i as f64) }).collect();
        samples.extend((1..=10).map(|i| GpuSample { util: Some(1.0), ..at(3.0 + f64::from(i) * 0.1) }));
        let u = summarize(&samples, 0, None);
        assert!((u.util.unwrap() - (0.5 * 0.1 + 0.9) / 4.0).abs() < 1e-12, "{:?}", u.util);
    }

    #[test]
    fn energy_comes_from_the_counter_else_from_power_over_time() {
        let counted: Vec<GpuSample> = [(0.0, 100.0, 5000.0), (0.5, 300.0, 5080.0), (1.0, 100.0, 5190.0)]
            .iter()
            .map(|&(t, w, j)| GpuSample { power_w: Some(w), energy_j: Some(j), ..at(t) })
            .collect();
        assert_eq!(summarize(&counted, 0, None).energy_j, Some(190.0));
        // Without counters: (100+300)/2·0.5 + (300+100)/2·0.5 = 200 J.
        let powered: Vec<GpuSample> =
            counted.iter().map(|s| GpuSample { energy_j: None, ..s.clone() }).collect();
        assert_eq!(summarize(&powered, 0, None).energy_j, Some(200.0));
        // A counter that went back (driver reload) is not trusted.
        let mut reset = counted.clone();
        reset[2].energy_j = Some(10.0);
        assert_eq!(summarize(&reset, 0, None).energy_j, Some(200.0));
    }

    #[test]
    fn only_slowing_throttle_reasons_are_named() {
        assert_eq!(slowing_reasons(0x1 | 0x2 | 0x100), Vec::<String>::new());
        assert_eq!(slowing_reasons(0x4 | 0x40 | 0x1), vec!["sw_power_cap", "hw_thermal_slowdown"]);
    }

    #[test]
    fn no_samples_no_metrics_but_errors_are_kept() {
        let u = summarize(&[], 3, Some("GPU is lost".into()));
        assert!(u.metrics().is_empty());
        assert_eq!((u.errors, u.first_error.as_deref()), (3, Some("GPU is lost")));
    }

    proptest! {
        /// A constant reading integrates to value × span and averages to itself, however the
        /// samples are spaced.
        #[test]
        fn constants_integrate_exactly(value in 0.0f64..1e4, gaps in prop::collection::vec(0.0f64..2.0, 1..40)) {
            let mut t = 0.0;
            let mut samples = vec![GpuSample { power_w: Some(value), util: Some(value), ..at(0.0) }];
            for g in &gaps {
                t += g;
                samples.push(GpuSample { power_w: Some(value), util: Some(value), ..at(t) });
            }
            let u = summarize(&samples, 0, None);
            prop_assert!((u.energy_j.unwrap() - value * t).abs() <= 1e-9 * (1.0 + value * t));
            prop_assert!((u.util.unwrap() - value).abs() <= 1e-9 * (1.0 + value));
        }

        /// A time-weighted mean lies between the smallest and largest reading.
        #[test]
        fn means_stay_within_the_readings(readings in prop::collection::vec((0.001f64..1.0, 0.0f64..1.0), 1..40)) {
            let mut t = 0.0;
            let samples: Vec<GpuSample> = readings.iter().map(|&(gap, u)| { t += gap; GpuSample { util: Some(u), ..at(t) } }).collect();
            let mean = summarize(&samples, 0, None).util.unwrap();
            let (lo, hi) = readings.iter().fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(r.1), hi.max(r.1)));
            prop_assert!(mean >= lo - 1e-12 && mean <= hi + 1e-12, "{mean} not in [{lo}, {hi}]");
        }
    }
}
