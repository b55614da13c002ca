//! The Linux helpers' implementations: the environment one run sees.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::{HelperCall, LoadedProgram, Runtime, MAX_TAIL_CALLS};
use crate::errno::*;
use crate::helpers::linux::{format_printk, PrintkArgs};
use crate::helpers::{Env, Flow, HelperError};
use crate::interp::Memory;
use crate::isa::LdKind;
use crate::maps::Map;

/// One run's environment: the runtime, the running program, the CPU it holds.
pub(crate) struct ProgEnv<'r> {
    pub rt: &'r Runtime,
    pub prog: Arc<LoadedProgram>,
    pub cpu: u32,
    pub tail_calls: u32,
    /// Packet bytes for `bpf_skb_load_bytes` (socket filters).
    pub packet: Option<(u64, usize)>,
}

fn neg(errno: i32) -> u64 {
    (-(errno as i64)) as u64
}

fn len_arg(v: u64) -> Result<usize, HelperError> {
    usize::try_from(v).ok().filter(|&n| n <= 1 << 30).ok_or(HelperError::Invalid("size argument too large"))
}

impl ProgEnv<'_> {
    /// The map whose handle the program passed, among the maps it uses.
    fn map(&self, handle: u64) -> Result<&Arc<Map>, HelperError> {
        self.prog.maps.iter().find(|m| Arc::as_ptr(m) as u64 == handle).ok_or(HelperError::Invalid("argument is not a map the program uses"))
    }

    /// `bpf_probe_read_kernel`: the program's own memory first, then the kernel's.
    /// On failure the destination is zeroed and -EFAULT returned.
    fn probe_read(&self, mem: &Memory, dst: u64, size: u64, src: u64, string: bool) -> Result<u64, HelperError> {
        let n = len_arg(size)?;
        // The destination must be writable program memory (the verifier's ARG_PTR_TO_UNINIT_MEM).
        mem.translate(dst, n as u64, true).ok_or(HelperError::BadPointer { addr: dst, len: n })?;
        let mut buf = vec![0u8; n];
        let ok = match mem.read(src, n) {
            Ok(b) => {
                buf.copy_from_slice(b);
                true
            }
            Err(_) if string => {
                // Strings may end before the region does: read byte by byte.
                let mut ok = true;
                for (k, slot) in buf.iter_mut().enumerate() {
                    match mem.read(src.wrapping_add(k as u64), 1) {
                        Ok(b) => *slot = b[0],
                        Err(_) => {
                            let mut one = [0u8];
                            if self.rt.kernel.probe_read(src.wrapping_add(k as u64), &mut one).is_err() {
                                ok = k > 0 && buf[..k].contains(&0);
                                break;
                            }
                            *slot = one[0];
                        }
                    }
                    if *slot == 0 {
                        break;
                    }
                }
                ok
            }
            Err(_) => self.rt.kernel.probe_read(src, &mut buf).is_ok(),
        };
        if !ok {
            mem.write(dst, &vec![0u8; n])?;
            return Ok(neg(EFAULT));
        }
        if string {
            if n == 0 {
                return Ok(0);
            }
            let len = buf.iter().position(|&b| b == 0).unwrap_or(n - 1);
            buf[len] = 0;
            mem.write(dst, &buf[..=len])?;
            return Ok(len as u64 + 1);
        }
        mem.write(dst, &buf)?;
        Ok(0)
    }

    fn printk(&self, mem: &Memory, fmt: u64, fmt_size: u64, args: &[u64]) -> Result<u64, HelperError> {
        let n = len_arg(fmt_size)?;
        let fmt = mem.read(fmt, n)?;
        if fmt.last() != Some(&0) {
            return Ok(neg(EINVAL));
        }
        struct Args<'a> {
            env: &'a ProgEnv<'a>,
            mem: &'a Memory,
            vals: &'a [u64],
        }
        impl PrintkArgs for Args<'_> {
            fn value(&self, i: usize) -> u64 {
                self.vals.get(i).copied().unwrap_or(0)
            }
            fn string(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
                let mut out = Vec::new();
                for k in 0..max as u64 {
                    let mut b = [0u8];
                    match self.mem.read(addr.wrapping_add(k), 1) {
                        Ok(x) => b[0] = x[0],
                        Err(_) => self.env.rt.kernel.probe_read(addr.wrapping_add(k), &mut b).ok()?,
                    }
                    if b[0] == 0 {
                        break;
                    }
                    out.push(b[0]);
                }
                Some(out)
            }
            fn bytes(&self, addr: u64, n: usize) -> Option<Vec<u8>> {
                self.mem.read(addr, n).ok().map(|b| b.to_vec())
            }
        }
        let a = Args { env: self, mem, vals: args };
        match format_printk(fmt, args.len(), &a) {
            Ok(line) => {
                self.rt.kernel.trace(self.cpu, &line);
                Ok(line.len() as u64)
            }
            Err(()) => Ok(neg(EINVAL)),
        }
    }

    fn call_linux(&mut self, id: i64, a: [u64; 5], mem: &Memory) -> Result<Flow, HelperError> {
        let k = &*self.rt.kernel;
        let v = match id {
            1 => {
                let m = self.map(a[0])?;
                let key = mem.read(a[1], m.def().key_size as usize)?;
                m.prog_lookup(key, self.cpu).unwrap_or(0)
            }
            2 => {
                let m = self.map(a[0])?;
                let key = mem.read(a[1], m.def().key_size as usize)?;
                let value = mem.read(a[2], m.def().value_size as usize)?;
                match m.prog_update(key, value, a[3], self.cpu) {
                    Ok(()) => 0,
                    Err(e) => neg(e.errno),
                }
            }
            3 => {
                let m = self.map(a[0])?;
                let key = mem.read(a[1], m.def().key_size as usize)?;
                match m.prog_delete(key) {
                    Ok(()) => 0,
                    Err(e) => neg(e.errno),
                }
            }
            4 | 112 | 113 => self.probe_read(mem, a[0], a[1], a[2], false)?,
            45 | 114 | 115 => self.probe_read(mem, a[0], a[1], a[2], true)?,
            5 => k.ktime_ns(),
            125 => k.boot_ns(),
            6 => self.printk(mem, a[0], a[1], &a[2..5])?,
            177 => {
                let n = len_arg(a[3])?;
                if n % 8 != 0 || n > 8 * 12 {
                    return Ok(Flow::Continue(neg(EINVAL)));
                }
                let raw = if n == 0 { &[][..] } else { mem.read(a[2], n)? };
                let vals: Vec<u64> = raw.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default())).collect();
                self.printk(mem, a[0], a[1], &vals)?
            }
            7 => k.prandom_u32() as u64,
            8 => self.cpu as u64,
            12 => {
                let m = self.map(a[1])?;
                let Some(pa) = m.prog_array() else { return Err(HelperError::Invalid("tail call through a map that is not a prog array")) };
                let target = u32::try_from(a[2]).ok().and_then(|i| pa.get(i));
                match target.and_then(|id| self.rt.program(id)) {
                    Some(p) if self.tail_calls < MAX_TAIL_CALLS && p.prog_type == self.prog.prog_type => return Ok(Flow::TailCall(p.id as u64)),
                    _ => neg(ENOENT),
                }
            }
            14 => {
                let t = k.current_task();
                (t.tgid as u64) << 32 | t.pid as u64
            }
            15 => {
                let t = k.current_task();
                (t.gid as u64) << 32 | t.uid as u64
            }
            16 => {
                let n = len_arg(a[1])?;
                let comm = k.current_task().comm;
                let mut buf = vec![0u8; n];
                if n > 0 {
                    let len = comm.iter().position(|&b| b == 0).unwrap_or(16).min(n - 1);
                    buf[..len].copy_from_slice(&comm[..len]);
                }
                mem.write(a[0], &buf)?;
                0
            }
            26 => {
                let n = len_arg(a[3])?;
                let (pkt, plen) = self.packet.ok_or(HelperError::Invalid("no packet in this context"))?;
                let off = a[1] as u32 as usize;
                if n == 0 || off.checked_add(n).is_none_or(|e| e > plen) {
                    mem.write(a[2], &vec![0u8; n])?;
                    neg(EFAULT)
                } else {
                    // SAFETY: [pkt, pkt+plen) is the run's packet, alive for the run.
                    let bytes = unsafe { core::slice::from_raw_parts((pkt as usize + off) as *const u8, n) };
                    mem.write(a[2], bytes)?;
                    0
                }
            }
            130 => {
                let rb = self.map(a[0])?.ringbuf().ok_or(HelperError::Invalid("not a ring buffer"))?;
                let data = mem.read(a[1], len_arg(a[2])?)?;
                match rb.output(data, a[3]) {
                    Ok(()) => 0,
                    Err(e) => neg(e),
                }
            }
            131 => {
                let rb = self.map(a[0])?.ringbuf().ok_or(HelperError::Invalid("not a ring buffer"))?;
                rb.reserve(a[1], a[2]).unwrap_or(0)
            }
            132 | 133 => {
                let found = self.prog.maps.iter().filter_map(|m| m.ringbuf()).any(|rb| rb.commit(a[0], id == 133));
                if !found {
                    return Err(HelperError::Invalid("not a reserved ring-buffer record"));
                }
                0
            }
            134 => {
                let rb = self.map(a[0])?.ringbuf().ok_or(HelperError::Invalid("not a ring buffer"))?;
                rb.query(a[1])
            }
            _ => return Err(HelperError::Unknown),
        };
        Ok(Flow::Continue(v))
    }
}

impl Env for ProgEnv<'_> {
    fn call(&mut self, id: i64, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError> {
        // Integrator helpers cannot take a Linux helper's id, so Linux ids go straight
        // through and only the others pay for the registry lookup.
        match self.call_linux(id, args, mem) {
            Err(HelperError::Unknown) => {
                let (_, f) = u32::try_from(id).ok().and_then(|i| self.rt.custom_helper(i)).ok_or(HelperError::Unknown)?;
                let call = HelperCall { mem, cpu: self.cpu, kernel: &*self.rt.kernel };
                f(&call, args).map(Flow::Continue)
            }
            other => other,
        }
    }

    fn ld_imm64(&mut self, _: LdKind, _: i32, _: i32, _: usize) -> Result<u64, HelperError> {
        // Fixup turned every pseudo lddw into a constant before the program could run.
        Err(HelperError::Invalid("pseudo lddw left after fixup"))
    }
}
