//! The machine a run happens on: what decides whether two runs are comparable, and how busy
//! the machine was.

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
    HostInfo { fingerprint, hostname, cpu, cores, memory_bytes, os, kernel, load_avg }
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
