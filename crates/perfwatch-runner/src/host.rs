//! The machine a run happens on: what decides whether two runs are comparable, and how busy
//! the machine was.

use std::path::{Path, PathBuf};

use perfwatch_model::{Caveat, HostInfo};

use crate::sys;

/// Describes this machine from `/proc/cpuinfo`, `/proc/meminfo`, `/proc/loadavg`,
/// `/etc/os-release` and `uname(2)`. Missing sources give empty/zero fields, never an error.
///
/// `fingerprint` is the 64-bit FNV-1a hash (lowercase hex, 16 digits) of
/// `cpu \n cores \n memory_bytes \n os \n kernel`. FNV-1a has fixed constants, so the value
/// is the same in every process and every perfwatch version that keeps this field list.
pub fn host_info() -> HostInfo {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let os_release = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let (hostname, kernel, machine) = sys::uname().unwrap_or_default();

    let cpu = cpu_model(&cpuinfo).unwrap_or(machine);
    let cores = match cpuinfo.lines().filter(|l| key_of(l) == "processor").count() {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        n => n as u32,
    };
    let memory_bytes = meminfo
        .lines()
        .find(|l| key_of(l) == "MemTotal")
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib.saturating_mul(1024));
    let os = os_name(&os_release).unwrap_or_else(|| "Linux".to_string());
    let mut load_avg = [0.0; 3];
    for (slot, field) in load_avg.iter_mut().zip(loadavg.split_whitespace()) {
        *slot = field.parse().unwrap_or(0.0);
    }
    let fingerprint = fingerprint(&cpu, cores, memory_bytes, &os, &kernel);
    let governor = SysRoot::default().governor();
    HostInfo { fingerprint, hostname, cpu, cores, memory_bytes, os, kernel, load_avg, governor, gpu: None }
}

/// The host-fingerprint hash: FNV-1a 64 over the comparability fields, as 16 hex digits.
pub fn fingerprint(cpu: &str, cores: u32, memory_bytes: u64, os: &str, kernel: &str) -> String {
    let text = format!("{cpu}\n{cores}\n{memory_bytes}\n{os}\n{kernel}");
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A [`Caveat::HighLoad`] when the one-minute load average is at least the number of logical
/// cores, i.e. the machine was saturated before perfwatch added its own work.
pub fn high_load_caveat(host: &HostInfo) -> Option<Caveat> {
    let load = host.load_avg[0];
    (host.cores > 0 && load >= f64::from(host.cores)).then_some(Caveat::HighLoad { load, cores: host.cores })
}

/// Where `/proc` and `/sys` live: `/` on a real machine, a temporary directory in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysRoot(PathBuf);

impl Default for SysRoot {
    fn default() -> Self {
        SysRoot(PathBuf::from("/"))
    }
}

impl SysRoot {
    /// A root other than `/` (tests fake `proc/stat` and `sys/devices/...` under it).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SysRoot(path.into())
    }

    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.0.join(rel)).ok()
    }

    /// Directories `sys/devices/system/cpu/cpuN`, sorted by N (unreadable → none).
    fn cpu_dirs(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.0.join("sys/devices/system/cpu")) else { return vec![] };
        let mut dirs: Vec<(u32, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let n = e.file_name().to_str()?.strip_prefix("cpu")?.parse::<u32>().ok()?;
                Some((n, e.path()))
            })
            .collect();
        dirs.sort();
        dirs.into_iter().map(|(_, p)| p).collect()
    }

    /// The scaling governor of the first CPU that has cpufreq; `None` where there is none
    /// (VMs and containers often hide cpufreq).
    pub fn governor(&self) -> Option<String> {
        self.cpu_dirs()
            .iter()
            .find_map(|d| read_path(&d.join("cpufreq/scaling_governor")).and_then(|s| parse_governor(&s)))
    }

    /// Sum of `core_throttle_count` and `package_throttle_count` over every CPU; `None` when
    /// no CPU exposes `thermal_throttle` (then throttling cannot be seen, which is not an error).
    pub fn throttle_count(&self) -> Option<u64> {
        let counts: Vec<u64> = self
            .cpu_dirs()
            .iter()
            .flat_map(|d| {
                ["core_throttle_count", "package_throttle_count"].map(|f| d.join("thermal_throttle").join(f))
            })
            .filter_map(|p| read_path(&p).and_then(|s| parse_count(&s)))
            .collect();
        (!counts.is_empty()).then(|| counts.iter().fold(0u64, |a, &c| a.saturating_add(c)))
    }

    /// The aggregate `cpu` line of `proc/stat`.
    pub fn cpu_ticks(&self) -> Option<CpuTicks> {
        self.read("proc/stat").and_then(|s| parse_proc_stat(&s))
    }

    /// Everything [`health_caveats`] compares, read now.
    pub fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot { throttle: self.throttle_count(), ticks: self.cpu_ticks() }
    }
}

fn read_path(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The governor named in a `scaling_governor` file (`None` when empty).
pub fn parse_governor(contents: &str) -> Option<String> {
    Some(contents.trim().to_string()).filter(|g| !g.is_empty())
}

/// A non-negative decimal counter file such as `core_throttle_count`.
pub fn parse_count(contents: &str) -> Option<u64> {
    contents.trim().parse().ok()
}

/// Tick counters of the aggregate `cpu` line of `/proc/stat`, in USER_HZ ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    /// Sum of user, nice, system, idle, iowait, irq, softirq and steal. Guest time is left
    /// out: the kernel already counts it in user/nice (proc(5)).
    pub total: u64,
    /// The `steal` column (8th value): time the hypervisor ran something else.
    pub steal: u64,
}

/// The aggregate `cpu ` line of `/proc/stat` (see proc(5)); `None` when absent or malformed.
/// Kernels before 2.6.11 have no steal column: steal is then 0.
pub fn parse_proc_stat(contents: &str) -> Option<CpuTicks> {
    let line = contents.lines().find(|l| l.split_whitespace().next() == Some("cpu"))?;
    let values: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().ok()).collect::<Option<_>>()?;
    if values.len() < 4 {
        return None;
    }
    let total = values.iter().take(8).fold(0u64, |a, &v| a.saturating_add(v));
    Some(CpuTicks { total, steal: values.get(7).copied().unwrap_or(0) })
}

/// Host health at one moment: compared between a case's start and end.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthSnapshot {
    /// The sum of the thermal throttle counters, when visible.
    pub throttle: Option<u64>,
    /// The `/proc/stat` cpu ticks, when readable.
    pub ticks: Option<CpuTicks>,
}

/// Steal shares at or below this are not reported. Even an idle, healthy VM shows a
/// fraction of a percent of steal from hypervisor housekeeping, and tick counts are coarse
/// (USER_HZ is usually 100/s per CPU); 2 % is where steal starts to exceed the run-to-run
/// noise of a typical benchmark, so it is worth saying.
pub const STEAL_THRESHOLD: f64 = 0.02;

/// Governors that change the clock with load, making timings depend on how busy the CPU was
/// just before. Only `powersave` is flagged: `schedutil` and `ondemand` are the defaults of
/// most distributions and ramp to full speed within milliseconds under a CPU-bound
/// benchmark, so flagging them would put a caveat on nearly every laptop and server run
/// and teach people to ignore it. `powersave` (on intel_pstate it still scales, but biased
/// low; on acpi-cpufreq it pins the lowest frequency) is the one that visibly slows runs.
pub fn governor_caveat(governor: Option<&str>) -> Option<Caveat> {
    governor.filter(|g| *g == "powersave").map(|g| Caveat::PowersaveGovernor { governor: g.to_string() })
}

/// The caveats of a case measured between `start` and `end`: the CPU throttled (a throttle
/// counter grew) or the hypervisor stole more than [`STEAL_THRESHOLD`] of the ticks.
/// Missing sources give no caveat. (The governor is a run-level caveat, see
/// [`governor_caveat`]: it is read once, into [`HostInfo::governor`].)
pub fn health_caveats(start: &HealthSnapshot, end: &HealthSnapshot) -> Vec<Caveat> {
    let mut caveats = Vec::new();
    if let (Some(a), Some(b)) = (start.throttle, end.throttle) {
        // A counter that went down was reset (CPU hot-plug); that says nothing.
        if b > a {
            caveats.push(Caveat::Throttled { events: b - a });
        }
    }
    if let (Some(a), Some(b)) = (start.ticks, end.ticks) {
        let total = b.total.saturating_sub(a.total);
        let steal = b.steal.saturating_sub(a.steal);
        if total > 0 {
            let share = steal as f64 / total as f64;
            if share > STEAL_THRESHOLD {
                caveats.push(Caveat::CpuSteal { share });
            }
        }
    }
    caveats
}

fn key_of(line: &str) -> &str {
    line.split(':').next().unwrap_or("").trim()
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    // x86 says "model name"; some ARM kernels say "Model", "Hardware" or "Processor".
    ["model name", "Model", "Hardware", "Processor", "cpu model", "cpu"].iter().find_map(|want| {
        cpuinfo
            .lines()
            .find(|l| key_of(l) == *want)
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|v| !v.is_empty())
    })
}

fn os_name(os_release: &str) -> Option<String> {
    let get = |key: &str| {
        os_release.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_string()).filter(|v| !v.is_empty())
        })
    };
    get("PRETTY_NAME").or_else(|| get("NAME"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn host_info_reads_this_machine() {
        let h = host_info();
        assert!(h.cores >= 1);
        assert!(h.memory_bytes > 0);
        assert!(!h.kernel.is_empty());
        assert_eq!(h.fingerprint.len(), 16);
        assert_eq!(h.fingerprint, host_info().fingerprint, "stable within a process");
        assert_eq!(h.fingerprint, fingerprint(&h.cpu, h.cores, h.memory_bytes, &h.os, &h.kernel));
    }

    /// A real `/proc/stat` head from a 2-CPU KVM guest (trimmed after `intr`).
    const PROC_STAT: &str = "cpu  4705 356 584 3699176 23060 0 277 3021 0 0
cpu0 1393280 32966 572056 13343292 6130 0 17875 1512 0 0
cpu1 1335793 22966 441044 13369880 5913 0 3209 1509 0 0
intr 114930548 113199788 3 0 5 263 0 4 [... more]
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
";

    #[test]
    fn parses_proc_stat_cpu_line() {
        let t = parse_proc_stat(PROC_STAT).unwrap();
        assert_eq!(t.steal, 3021);
        assert_eq!(t.total, 4705 + 356 + 584 + 3699176 + 23060 + 277 + 3021);
        // An old kernel without steal, and garbage.
        assert_eq!(parse_proc_stat("cpu 1 2 3 4\n"), Some(CpuTicks { total: 10, steal: 0 }));
        assert_eq!(parse_proc_stat("cpu 1 2 x 4\n"), None);
        assert_eq!(parse_proc_stat("cpu0 1 2 3 4\n"), None);
        assert_eq!(parse_proc_stat(""), None);
    }

    #[test]
    fn parses_sysfs_values() {
        assert_eq!(parse_governor("performance\n").as_deref(), Some("performance"));
        assert_eq!(parse_governor("\n"), None);
        assert_eq!(parse_count("17\n"), Some(17));
        assert_eq!(parse_count("-1"), None);
    }

    fn snap(throttle: Option<u64>, total: u64, steal: u64) -> HealthSnapshot {
        HealthSnapshot { throttle, ticks: Some(CpuTicks { total, steal }) }
    }

    #[test]
    fn caveats_between_snapshots() {
        let start = snap(Some(5), 1000, 10);
        assert_eq!(health_caveats(&start, &snap(Some(5), 2000, 20)), vec![]);
        assert_eq!(
            health_caveats(&start, &snap(Some(8), 2000, 110)),
            vec![Caveat::Throttled { events: 3 }, Caveat::CpuSteal { share: 0.1 }]
        );
        // Exactly at the threshold is not reported; a reset counter and no ticks elapsed: nothing.
        assert_eq!(health_caveats(&start, &snap(Some(5), 2000, 30)), vec![]);
        assert_eq!(health_caveats(&start, &snap(Some(0), 1000, 10)), vec![]);
        assert_eq!(health_caveats(&start, &HealthSnapshot::default()), vec![]);
        assert_eq!(health_caveats(&HealthSnapshot::default(), &HealthSnapshot::default()), vec![]);
    }

    #[test]
    fn only_powersave_is_flagged() {
        assert_eq!(
            governor_caveat(Some("powersave")),
            Some(Caveat::PowersaveGovernor { governor: "powersave".into() })
        );
        for g in [None, Some("performance"), Some("schedutil"), Some("ondemand")] {
            assert_eq!(governor_caveat(g), None);
        }
    }

    fn write(root: &Path, rel: &str, contents: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    #[test]
    fn reads_a_fake_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = SysRoot::new(dir.path());
        assert_eq!(root.snapshot(), HealthSnapshot::default(), "nothing there: no error, no values");
        write(dir.path(), "proc/stat", PROC_STAT);
        write(dir.path(), "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "powersave\n");
        write(dir.path(), "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count", "2\n");
        write(dir.path(), "sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count", "3\n");
        write(dir.path(), "sys/devices/system/cpu/cpu1/thermal_throttle/package_throttle_count", "4\n");
        write(dir.path(), "sys/devices/system/cpu/cpufreq/policy0/scaling_governor", "ignored\n");
        assert_eq!(root.governor().as_deref(), Some("powersave"));
        let start = root.snapshot();
        assert_eq!(start.throttle, Some(9));
        assert_eq!(start.ticks.map(|t| t.steal), Some(3021));
        write(dir.path(), "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count", "12\n");
        let caveats = health_caveats(&start, &root.snapshot());
        assert!(caveats.contains(&Caveat::Throttled { events: 10 }), "{caveats:?}");
    }

    #[test]
    fn parses_os_release_and_cpuinfo() {
        assert_eq!(
            os_name("NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n").as_deref(),
            Some("Debian GNU/Linux 12")
        );
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: AMD  EPYC 7B13\n").as_deref(),
            Some("AMD EPYC 7B13")
        );
    }
}
