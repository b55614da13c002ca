//! The Linux helpers' implementations (the table in [`super::LINUX`] names them) and the
//! kernel's `bpf_trace_printk` formatter.
//!
//! Each follows the kernel's behaviour for the program's view: a failure the kernel
//! reports to the program (full map, bad flags, faulting read) is a negative errno in r0;
//! a pointer outside the program's memory or a handle that is not one of its maps is an
//! error that stops the run (the verifier will rule those out before a program runs).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::{HelperCall, MAX_TAIL_CALLS};
use crate::env::{Flow, HelperError};
use crate::errno::*;
use crate::maps::Map;
use crate::mem::{Area, Memory, Region};

fn neg(errno: i32) -> u64 {
    (-(errno as i64)) as u64
}

fn ok(v: u64) -> Result<Flow, HelperError> {
    Ok(Flow::Continue(v))
}

fn len_arg(v: u64) -> Result<usize, HelperError> {
    usize::try_from(v).ok().filter(|&n| n <= 1 << 30).ok_or(HelperError::Invalid("size argument too large"))
}

pub(super) fn map_lookup_elem(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let m = c.map(a[0])?;
    let key = c.mem.read(a[1], m.def().key_size as usize)?;
    if let Some(outer) = m.of_maps() {
        // The inner map is the handle; one put in after the run began reads as absent
        // (the run's view of the outer map is the one it started with).
        let inner = outer.get(key).filter(|(_, im)| c.inner.iter().any(|h| Arc::ptr_eq(h, im)));
        return ok(inner.map_or(0, |(_, im)| Arc::as_ptr(&im) as u64));
    }
    ok(m.prog_lookup(key, c.cpu).unwrap_or(0))
}

pub(super) fn map_update_elem(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let m = c.map(a[0])?;
    let key = c.mem.read(a[1], m.def().key_size as usize)?;
    let value = c.mem.read(a[2], m.def().value_size as usize)?;
    ok(match m.prog_update(key, value, a[3], c.cpu) {
        Ok(()) => 0,
        Err(e) => neg(e.errno),
    })
}

pub(super) fn map_delete_elem(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let m = c.map(a[0])?;
    let key = c.mem.read(a[1], m.def().key_size as usize)?;
    ok(match m.prog_delete(key) {
        Ok(()) => 0,
        Err(e) => neg(e.errno),
    })
}

/// `bpf_probe_read_kernel` (and `_user`, and the old `bpf_probe_read`).
pub(super) fn probe_read(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    read_into(c, a[0], a[1], a[2], false).map(Flow::Continue)
}

/// `bpf_probe_read_kernel_str` (and `_user_str`, and the old `bpf_probe_read_str`).
pub(super) fn probe_read_str(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    read_into(c, a[0], a[1], a[2], true).map(Flow::Continue)
}

/// The program's own memory first, then the kernel's. On failure the destination is
/// zeroed and -EFAULT returned.
fn read_into(c: &HelperCall, dst: u64, size: u64, src: u64, string: bool) -> Result<u64, HelperError> {
    let mem = c.mem;
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
                        if c.kernel.probe_read(src.wrapping_add(k as u64), &mut one).is_err() {
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
        Err(_) => c.kernel.probe_read(src, &mut buf).is_ok(),
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

pub(super) fn ktime_get_ns(c: &HelperCall, _: [u64; 5]) -> Result<Flow, HelperError> {
    ok(c.kernel.ktime_ns())
}

pub(super) fn ktime_get_boot_ns(c: &HelperCall, _: [u64; 5]) -> Result<Flow, HelperError> {
    ok(c.kernel.boot_ns())
}

pub(super) fn trace_printk(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    printk(c, a[0], a[1], &a[2..5]).map(Flow::Continue)
}

/// `bpf_trace_vprintk`: the arguments as an array of u64 in program memory.
pub(super) fn trace_vprintk(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let n = len_arg(a[3])?;
    if n % 8 != 0 || n > 8 * 12 {
        return ok(neg(EINVAL));
    }
    let raw = if n == 0 { &[][..] } else { c.mem.read(a[2], n)? };
    let vals: Vec<u64> = raw.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default())).collect();
    printk(c, a[0], a[1], &vals).map(Flow::Continue)
}

fn printk(c: &HelperCall, fmt: u64, fmt_size: u64, args: &[u64]) -> Result<u64, HelperError> {
    let n = len_arg(fmt_size)?;
    let fmt = c.mem.read(fmt, n)?;
    if fmt.last() != Some(&0) {
        return Ok(neg(EINVAL));
    }
    struct Args<'a> {
        call: &'a HelperCall<'a>,
        mem: &'a Memory<'a>,
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
                    Err(_) => self.call.kernel.probe_read(addr.wrapping_add(k), &mut b).ok()?,
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
    let a = Args { call: c, mem: c.mem, vals: args };
    match format_printk(fmt, args.len(), &a) {
        Ok(line) => {
            c.kernel.trace(c.cpu, &line);
            Ok(line.len() as u64)
        }
        Err(BadFormat) => Ok(neg(EINVAL)),
    }
}

pub(super) fn get_prandom_u32(c: &HelperCall, _: [u64; 5]) -> Result<Flow, HelperError> {
    ok(c.kernel.prandom_u32() as u64)
}

pub(super) fn get_smp_processor_id(c: &HelperCall, _: [u64; 5]) -> Result<Flow, HelperError> {
    ok(c.cpu as u64)
}

/// `bpf_tail_call`: ends the program in favour of the target, if there is one of the
/// same type and the run has tail calls left; otherwise -ENOENT and the program goes on.
pub(super) fn tail_call(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let m = c.map(a[1])?;
    let Some(pa) = m.prog_array() else { return Err(HelperError::Invalid("tail call through a map that is not a prog array")) };
    let target = u32::try_from(a[2]).ok().and_then(|i| pa.get(i));
    match target.and_then(|id| Some((id, c.programs.prog_type(id)?))) {
        Some((id, t)) if c.tail_calls < MAX_TAIL_CALLS && t == c.prog_type => Ok(Flow::TailCall(id as u64)),
        _ => ok(neg(ENOENT)),
    }
}

pub(super) fn get_current_pid_tgid(c: &HelperCall, _: [u64; 5]) -> Result<Flow, HelperError> {
    let t = c.kernel.current_task();
    ok((t.tgid as u64) << 32 | t.pid as u64)
}

pub(super) fn get_current_uid_gid(c: &HelperCall, _: [u64; 5]) -> Result<Flow, HelperError> {
    let t = c.kernel.current_task();
    ok((t.gid as u64) << 32 | t.uid as u64)
}

pub(super) fn get_current_comm(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let n = len_arg(a[1])?;
    let comm = c.kernel.current_task().comm;
    let mut buf = vec![0u8; n];
    if n > 0 {
        let len = comm.iter().position(|&b| b == 0).unwrap_or(16).min(n - 1);
        buf[..len].copy_from_slice(&comm[..len]);
    }
    c.mem.write(a[0], &buf)?;
    ok(0)
}

pub(super) fn skb_load_bytes(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let n = len_arg(a[3])?;
    let (pkt, plen) = c.packet.ok_or(HelperError::Invalid("no packet in this context"))?;
    let off = a[1] as u32 as usize;
    if n == 0 || off.checked_add(n).is_none_or(|e| e > plen) {
        c.mem.write(a[2], &vec![0u8; n])?;
        return ok(neg(EFAULT));
    }
    // SAFETY: [pkt, pkt+plen) is the run's packet, alive for the run.
    let bytes = unsafe { core::slice::from_raw_parts((pkt as usize + off) as *const u8, n) };
    c.mem.write(a[2], bytes)?;
    ok(0)
}

pub(super) fn ringbuf_output(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let rb = c.map(a[0])?.ringbuf().ok_or(HelperError::Invalid("not a ring buffer"))?;
    let data = c.mem.read(a[1], len_arg(a[2])?)?;
    ok(match rb.output(data, a[3]) {
        Ok(()) => 0,
        Err(e) => neg(e),
    })
}

pub(super) fn ringbuf_reserve(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let rb = c.map(a[0])?.ringbuf().ok_or(HelperError::Invalid("not a ring buffer"))?;
    let Some(record) = rb.reserve(a[1], a[2]) else { return ok(0) };
    // The run may touch the record until it gives it back.
    c.mem.add_record(Region { start: record, len: a[1], writable: true, area: Area::Record });
    ok(record)
}

pub(super) fn ringbuf_submit(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    commit(c, a[0], false)
}

pub(super) fn ringbuf_discard(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    commit(c, a[0], true)
}

/// Submits or discards a record this run reserved; from then on the run cannot touch it.
fn commit(c: &HelperCall, record: u64, discard: bool) -> Result<Flow, HelperError> {
    if !c.mem.remove_record(record) || !commit_record(c.maps.iter().chain(c.inner), record, discard) {
        return Err(HelperError::Invalid("not a ring-buffer record this run holds"));
    }
    ok(0)
}

/// Submits or discards the busy record at `record` in whichever of `maps` holds it.
pub fn commit_record<'m>(mut maps: impl Iterator<Item = &'m Arc<Map>>, record: u64, discard: bool) -> bool {
    maps.any(|m| m.ringbuf().is_some_and(|rb| rb.commit(record, discard)))
}

pub(super) fn ringbuf_query(c: &HelperCall, a: [u64; 5]) -> Result<Flow, HelperError> {
    let rb = c.map(a[0])?.ringbuf().ok_or(HelperError::Invalid("not a ring buffer"))?;
    ok(rb.query(a[1]))
}

/// A format string the kernel refuses (`-EINVAL` to the program).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bpf_trace_printk refuses this format")]
pub struct BadFormat;

/// A `bpf_trace_printk` argument as the formatter sees it.
pub trait PrintkArgs {
    /// The `i`th argument value.
    fn value(&self, i: usize) -> u64;
    /// Reads a string (up to `max` bytes, stopping at NUL) at address `addr`; None when
    /// unreadable (printed as an empty string, like the kernel).
    fn string(&self, addr: u64, max: usize) -> Option<Vec<u8>>;
    /// Reads `n` bytes at `addr` (for `%pI4`); None when unreadable (printed as zeros).
    fn bytes(&self, addr: u64, n: usize) -> Option<Vec<u8>>;
}

/// Formats like the kernel's `bpf_bprintf_prepare` + `bstr_printf`: `%d %i %u %x %X`
/// with optional `l`/`ll`, flags `0 + - space` and a width, `%c`, `%s`, `%p` (`%px` the
/// value in 16 hex digits, as `%p` and `%pK`, which Linux hashes; `%ps %pS %pB` as
/// `0x…`, an address without a symbol; `%pks %pus` as strings; `%pI4` as an IPv4
/// address and `%pi4` as one with each part padded to 3 digits), and `%%`. At most `nargs` conversions. Anything else is `-EINVAL`, as in the
/// kernel: the error is returned instead of a partial string.
pub fn format_printk(fmt: &[u8], nargs: usize, args: &dyn PrintkArgs) -> Result<String, BadFormat> {
    use core::fmt::Write;
    let mut out = String::new();
    let mut i = 0;
    let mut spec = 0;
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    while i < fmt.len() && fmt[i] != 0 {
        let c = fmt[i];
        if !(c.is_ascii_graphic() || c.is_ascii_whitespace() || c == b' ') {
            return Err(BadFormat);
        }
        if c != b'%' {
            out.push(c as char);
            i += 1;
            continue;
        }
        if at(i + 1) == b'%' {
            out.push('%');
            i += 2;
            continue;
        }
        if spec >= nargs {
            return Err(BadFormat);
        }
        i += 1;
        let (mut zero, mut left, mut plus, mut space) = (false, false, false, false);
        while matches!(at(i), b'0' | b'+' | b'-' | b' ') {
            match at(i) {
                b'0' => zero = true,
                b'-' => left = true,
                b'+' => plus = true,
                _ => space = true,
            }
            i += 1;
        }
        let mut width = 0usize;
        while at(i).is_ascii_digit() {
            width = (width * 10 + (at(i) - b'0') as usize).min(512);
            i += 1;
        }
        let v = args.value(spec);
        spec += 1;
        let body: String = match at(i) {
            b'p' => {
                i += 1;
                match (at(i), at(i + 1)) {
                    (k @ (b'i' | b'I'), b'4') => {
                        i += 2;
                        // An unreadable address prints as 0.0.0.0, as the kernel's copy
                        // into a zeroed buffer leaves it; %pi4 pads each part to 3 digits.
                        let b = args.bytes(v, 4).unwrap_or_else(|| alloc::vec![0; 4]);
                        match k {
                            b'i' => alloc::format!("{:03}.{:03}.{:03}.{:03}", b[0], b[1], b[2], b[3]),
                            _ => alloc::format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]),
                        }
                    }
                    // Symbols: rvbpf knows none, so they print as the kernel prints an
                    // address that is not one.
                    (b's' | b'S' | b'B', _) => {
                        i += 1;
                        alloc::format!("{v:#x}")
                    }
                    // Strings in kernel or user memory.
                    (b'k' | b'u', b's') => {
                        i += 2;
                        args.string(v, 512).map_or_else(String::new, |s| String::from_utf8_lossy(&s).into_owned())
                    }
                    // The raw value, where Linux prints %p and %pK hashed.
                    (b'x' | b'K', _) => {
                        i += 1;
                        alloc::format!("{v:016x}")
                    }
                    _ => alloc::format!("{v:016x}"),
                }
            }
            b's' => {
                i += 1;
                // An unreadable string prints as an empty one, as in the kernel.
                args.string(v, 512).map_or_else(String::new, |s| String::from_utf8_lossy(&s).into_owned())
            }
            b'c' => {
                i += 1;
                String::from((v as u8) as char)
            }
            _ => {
                let mut long = 0;
                while at(i) == b'l' && long < 2 {
                    long += 1;
                    i += 1;
                }
                let conv = at(i);
                if !matches!(conv, b'd' | b'i' | b'u' | b'x' | b'X') {
                    return Err(BadFormat);
                }
                i += 1;
                let v = if long == 0 { v & 0xffff_ffff } else { v };
                let signed = if long == 0 { v as u32 as i32 as i64 } else { v as i64 };
                let mut s = String::new();
                let _ = match conv {
                    b'd' | b'i' => {
                        if plus && signed >= 0 {
                            s.push('+');
                        } else if space && signed >= 0 {
                            s.push(' ');
                        }
                        write!(s, "{signed}")
                    }
                    b'u' => write!(s, "{v}"),
                    b'x' => write!(s, "{v:x}"),
                    _ => write!(s, "{v:X}"),
                };
                if zero && !left && s.len() < width {
                    let sign = s.starts_with(['-', '+', ' ']) as usize;
                    let pad = "0".repeat(width - s.len());
                    s.insert_str(sign, &pad);
                }
                s
            }
        };
        if body.len() < width {
            let pad = " ".repeat(width - body.len());
            if left {
                out.push_str(&body);
                out.push_str(&pad);
            } else {
                out.push_str(&pad);
                out.push_str(&body);
            }
        } else {
            out.push_str(&body);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A(Vec<u64>);
    const UNREADABLE: u64 = 8;
    impl PrintkArgs for A {
        fn value(&self, i: usize) -> u64 {
            self.0[i]
        }
        fn string(&self, addr: u64, _: usize) -> Option<Vec<u8>> {
            (addr == 1).then(|| b"str".to_vec())
        }
        fn bytes(&self, addr: u64, n: usize) -> Option<Vec<u8>> {
            (addr != UNREADABLE).then(|| alloc::vec![10, 0, 0, 1][..n].to_vec())
        }
    }

    #[test]
    fn formats_like_the_kernel() {
        let f = |fmt: &str, args: &[u64]| format_printk(fmt.as_bytes(), 3, &A(args.to_vec()));
        assert_eq!(f("pid %d comm %s", &[u64::MAX, 1]).unwrap(), "pid -1 comm str");
        assert_eq!(f("%u %lu %llx", &[u64::MAX, u64::MAX, 255]).unwrap(), "4294967295 18446744073709551615 ff");
        assert_eq!(f("[%5d|%-4x|%04u]", &[42, 10, 7]).unwrap(), "[   42|a   |0007]");
        assert_eq!(f("%s| %%", &[2]).unwrap(), "| %", "an unreadable string prints as nothing");
        assert_eq!(f("%pI4 %pi4", &[0, 0]).unwrap(), "10.0.0.1 010.000.000.001");
        assert_eq!(f("%pI4", &[UNREADABLE]).unwrap(), "0.0.0.0");
        assert_eq!(f("%c%c", &[b'o' as u64, b'k' as u64]).unwrap(), "ok");
        assert!(f("%f", &[0]).is_err(), "floats are refused");
        assert!(f("%d %d %d %d", &[1, 2, 3, 4]).is_err(), "more conversions than arguments");
        assert!(f("bad \x01 byte", &[]).is_err());
    }
}
