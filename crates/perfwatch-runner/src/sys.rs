//! The few raw system calls the runner needs, each in one small audited function.
//!
//! std does not expose `wait4` (we need the child's own `rusage`), pidfds, `poll` or
//! process-group kills, and nix/rustix do not wrap `wait4` either.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Resource usage of one reaped child (and the descendants it reaped).
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// User CPU seconds.
    pub user: f64,
    /// System CPU seconds.
    pub sys: f64,
    /// Peak RSS in bytes.
    pub max_rss: u64,
}

/// Raw status from `wait4`.
pub type WaitStatus = libc::c_int;

/// A pipe whose both ends are close-on-exec: `(read, write)`.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid, writable array of two c_ints as pipe2 requires.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A pidfd for `pid` (Linux ≥ 5.3), or `None` when the kernel does not support it.
pub fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; no memory
    // is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the syscall returned a fresh descriptor that we now own.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `poll(2)` over `fds`, retrying on EINTR. `timeout_ms < 0` waits forever.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    loop {
        // SAFETY: `fds` is a valid mutable slice of pollfd structs of the given length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Sends SIGKILL to every process of process group `pgid`. A group that no longer exists
/// (ESRCH) is not an error.
pub fn kill_group(pgid: libc::pid_t) {
    if pgid <= 1 {
        // kill(0 or -1, …) would hit our own group or every process we may signal.
        return;
    }
    // SAFETY: kill takes plain integers; a negative pid addresses the group `pgid`.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// `wait4(pid)`: returns the status and usage once the child has exited, or `None` with
/// `nohang` if it is still running. Retries on EINTR.
pub fn wait4(pid: libc::pid_t, nohang: bool) -> io::Result<Option<(WaitStatus, Usage)>> {
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain old data, for which all-zero bytes are a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `ru` are valid, writable and live for the whole call.
        let rc = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
        if rc == pid {
            let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
            let usage = Usage {
                user: secs(ru.ru_utime),
                sys: secs(ru.ru_stime),
                // Linux reports ru_maxrss in KiB.
                max_rss: (ru.ru_maxrss.max(0) as u64).saturating_mul(1024),
            };
            return Ok(Some((status, usage)));
        }
        if rc == 0 {
            return Ok(None);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Splits a wait status into `Ok(exit code)` or `Err(signal)`.
pub fn decode_status(status: WaitStatus) -> Result<i32, i32> {
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Err(libc::WTERMSIG(status))
    } else {
        // Stop/continue statuses are never reported because we do not pass WUNTRACED or
        // WCONTINUED; map the impossible case to a visible non-zero code rather than panic.
        Ok(-1)
    }
}

/// Kernel name, host name, release and machine from `uname(2)`.
pub fn uname() -> Option<(String, String, String)> {
    // SAFETY: utsname is plain old data; all-zero bytes are a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname for the duration of the call.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some((field(&u.nodename), field(&u.release), field(&u.machine)))
}

/// A `pollfd` entry; a negative `fd` is ignored by poll.
pub fn pollfd(fd: Option<&impl AsRawFd>, events: libc::c_short) -> libc::pollfd {
    libc::pollfd { fd: fd.map_or(-1, |f| f.as_raw_fd()), events, revents: 0 }
}

/// Makes this process the child subreaper of its descendants (`prctl(PR_SET_CHILD_SUBREAPER)`,
/// Linux ≥ 3.4): a process whose parent dies is reparented to it instead of to init, so what a
/// benchmark leaves behind — a daemon that double-forked with `setsid`, outside the
/// benchmark's process group — can still be found and killed.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes one integer argument; the rest are unused.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Whether this process has any child at all, running or exited (one `waitid` call; ECHILD
/// means none). Lets the common case — the benchmark left nothing — skip scanning `/proc`.
pub fn has_children() -> bool {
    // SAFETY: siginfo_t is plain old data; all-zero bytes are a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is valid and writable; WNOWAIT leaves any exited child unreaped.
    let rc =
        unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ECHILD)
}

/// The children of this process that are still running (not zombies), from each
/// `/proc/PID/stat`'s parent field (`/proc/…/children` needs a kernel option that not every
/// kernel has).
pub fn running_children() -> Vec<libc::pid_t> {
    let me = std::process::id() as libc::pid_t;
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|&pid| state_and_parent(pid).is_some_and(|(state, ppid)| ppid == me && state != 'Z'))
        .collect()
}

/// The parent of process `pid`, if it still exists.
pub fn parent_pid(pid: libc::pid_t) -> Option<libc::pid_t> {
    state_and_parent(pid).map(|(_, ppid)| ppid)
}

/// The state letter and parent of `pid` from `/proc/PID/stat`.
fn state_and_parent(pid: libc::pid_t) -> Option<(char, libc::pid_t)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses, so read after the
    // last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The process group of `pid`, if it still exists.
pub fn process_group(pid: libc::pid_t) -> Option<libc::pid_t> {
    // SAFETY: getpgid takes a plain integer.
    let pgid = unsafe { libc::getpgid(pid) };
    (pgid >= 0).then_some(pgid)
}

/// Kills process `pid` (and the process group it leads, if it leads one) and reaps it.
pub fn kill_and_reap(pid: libc::pid_t) {
    if pid <= 1 {
        return;
    }
    let leads_group = process_group(pid) == Some(pid);
    // SAFETY: kill takes plain integers; a negative pid addresses the group `pid` leads.
    unsafe {
        if leads_group {
            libc::kill(-pid, libc::SIGKILL);
        }
        libc::kill(pid, libc::SIGKILL);
    }
    let _ = wait4(pid, false);
}

/// Reaps every child that has already exited (zombies left by leftovers that ended by
/// themselves), without waiting.
pub fn reap_exited() {
    loop {
        let mut status = 0;
        // SAFETY: `status` is valid and writable.
        let rc = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if rc <= 0 {
            return;
        }
    }
}
