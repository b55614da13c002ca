//! The services of the kernel that hosts rvbpf, as helpers need them: time, the current
//! task, trace output, reading kernel memory. The integrator implements [`Kernel`];
//! [`StaticKernel`] is a deterministic one for tests and reproducible runs.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// The task a helper sees as "current".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Task {
    pub pid: u32,
    pub tgid: u32,
    pub uid: u32,
    pub gid: u32,
    pub comm: [u8; 16],
}

/// A read of kernel memory that faulted (`bpf_probe_read_kernel` returns -EFAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("kernel memory read faulted")]
pub struct ReadFault;

/// The services of the kernel that hosts rvbpf, as helpers need them.
pub trait Kernel: Send + Sync {
    /// `CLOCK_MONOTONIC` in ns.
    fn ktime_ns(&self) -> u64;
    /// `CLOCK_BOOTTIME` in ns (includes suspend).
    fn boot_ns(&self) -> u64 {
        self.ktime_ns()
    }
    fn prandom_u32(&self) -> u32;
    /// The task on whose behalf the program runs.
    fn current_task(&self) -> Task;
    /// One `bpf_trace_printk` line (what Linux writes to `trace_pipe`).
    fn trace(&self, cpu: u32, line: &str);
    /// Reads kernel memory at `addr` that is not one of the program's own regions
    /// (`bpf_probe_read_kernel`). Must not fault; the default says every read faults.
    fn probe_read(&self, _addr: u64, _dst: &mut [u8]) -> Result<(), ReadFault> {
        Err(ReadFault)
    }
}

/// A deterministic kernel: a clock that advances 1000 ns per reading, a fixed task, a
/// linear congruential random stream, trace lines kept in memory. For tests and for
/// reproducible runs.
pub struct StaticKernel {
    pub task: Task,
    clock: AtomicU64,
    rand: AtomicU64,
    lines: spin::Mutex<Vec<String>>,
}

impl StaticKernel {
    pub fn new(task: Task) -> StaticKernel {
        let k = StaticKernel { task, clock: AtomicU64::new(0), rand: AtomicU64::new(0), lines: spin::Mutex::new(Vec::new()) };
        k.restart();
        k
    }
    /// The clock and the random sequence back where they started: runs that follow
    /// see the same times and numbers as the first runs did.
    pub fn restart(&self) {
        self.clock.store(1_000_000, Ordering::Relaxed);
        self.rand.store(0x2545_f491_4f6c_dd1d, Ordering::Relaxed);
    }
    /// The trace lines written so far, emptying the buffer.
    pub fn take_trace(&self) -> Vec<String> {
        core::mem::take(&mut *self.lines.lock())
    }
}

impl Kernel for StaticKernel {
    fn ktime_ns(&self) -> u64 {
        self.clock.fetch_add(1000, Ordering::Relaxed)
    }
    fn prandom_u32(&self) -> u32 {
        let x = self.rand.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed).wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        ((z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb) >> 32) as u32
    }
    fn current_task(&self) -> Task {
        self.task
    }
    fn trace(&self, _cpu: u32, line: &str) {
        self.lines.lock().push(line.into());
    }
}
