//! The hosted kernel services: Linux user space standing in for a kernel.

use std::string::String;
use std::sync::Mutex;
use std::time::Instant;
use std::vec::Vec;

use super::{Kernel, Task};

/// Time from the monotonic clock, the calling thread as the current task, trace lines
/// kept in memory (and echoed to stderr when asked).
pub struct HostKernel {
    start: Instant,
    echo: bool,
    lines: Mutex<Vec<String>>,
    rand: std::sync::atomic::AtomicU64,
    comm: [u8; 16],
}

impl HostKernel {
    pub fn new(echo: bool) -> HostKernel {
        let mut comm = [0u8; 16];
        let name = std::fs::read_to_string("/proc/self/comm").unwrap_or_else(|_| "rvbpf".into());
        let name = name.trim_end().as_bytes();
        let n = name.len().min(15);
        comm[..n].copy_from_slice(&name[..n]);
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        HostKernel { start: Instant::now(), echo, lines: Mutex::new(Vec::new()), rand: seed.into(), comm }
    }

    /// The trace lines written so far, emptying the buffer.
    pub fn take_trace(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Kernel for HostKernel {
    fn ktime_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
    fn prandom_u32(&self) -> u32 {
        // xorshift64*: statistical quality, not secrecy, as the kernel's prandom.
        let mut x = self.rand.load(std::sync::atomic::Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rand.store(x, std::sync::atomic::Ordering::Relaxed);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
    fn current_task(&self) -> Task {
        // SAFETY: these calls only read the calling thread's ids.
        let (pid, uid, gid) = unsafe { (libc::gettid() as u32, libc::getuid(), libc::getgid()) };
        Task { pid, tgid: std::process::id(), uid, gid, comm: self.comm }
    }
    fn trace(&self, cpu: u32, line: &str) {
        if self.echo {
            eprintln!("[{cpu:03}] bpf_trace_printk: {line}");
        }
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).push(line.into());
    }
}
