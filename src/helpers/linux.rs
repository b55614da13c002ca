//! The Linux helper set: ids, names and prototypes (shared with the verifier), which
//! program types may call each helper, and the kernel's `bpf_trace_printk` formatter.
//!
//! The implementations live in the runtime (`runtime::env`), which owns the maps, the
//! CPU and the kernel services they need.

use alloc::string::String;
use alloc::vec::Vec;

use crate::loader::ProgType;

/// What a helper argument must be (the kernel's `ARG_*`, the kinds rvbpf uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// No argument in this position.
    None,
    /// Any scalar.
    Anything,
    /// A map (`lddw` of a map).
    ConstMapPtr,
    /// Pointer to `key_size` readable bytes.
    MapKey,
    /// Pointer to `value_size` readable bytes.
    MapValue,
    /// Pointer to readable memory whose size is the next argument.
    Mem,
    /// Pointer to writable memory whose size is the next argument (may be uninitialised).
    UninitMem,
    /// Size of the previous memory argument (> 0).
    ConstSize,
    /// Size of the previous memory argument (may be 0).
    ConstSizeOrZero,
    /// The program's context.
    Ctx,
    /// A ring-buffer record from `bpf_ringbuf_reserve`.
    RingbufRecord,
    /// A NUL-terminated constant string (format strings).
    ConstStr,
}

/// What a helper returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    Integer,
    Void,
    /// Pointer to a map value, or NULL.
    MapValueOrNull,
    /// Pointer to `arg2` bytes of ring-buffer memory, or NULL.
    RingbufMemOrNull,
}

/// A helper prototype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proto {
    pub id: u32,
    pub name: &'static str,
    pub ret: Ret,
    pub args: [Arg; 5],
    /// Only programs with a GPL-compatible license may call it.
    pub gpl_only: bool,
}

const fn p(id: u32, name: &'static str, ret: Ret, args: [Arg; 5], gpl_only: bool) -> Proto {
    Proto { id, name, ret, args, gpl_only }
}

use Arg::*;

/// The Linux helpers rvbpf implements, by id.
pub const PROTOS: &[Proto] = &[
    p(1, "map_lookup_elem", Ret::MapValueOrNull, [ConstMapPtr, MapKey, None, None, None], false),
    p(2, "map_update_elem", Ret::Integer, [ConstMapPtr, MapKey, MapValue, Anything, None], false),
    p(3, "map_delete_elem", Ret::Integer, [ConstMapPtr, MapKey, None, None, None], false),
    p(4, "probe_read", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, None, None], true),
    p(5, "ktime_get_ns", Ret::Integer, [None; 5], false),
    p(6, "trace_printk", Ret::Integer, [Mem, ConstSize, Anything, Anything, Anything], true),
    p(7, "get_prandom_u32", Ret::Integer, [None; 5], false),
    p(8, "get_smp_processor_id", Ret::Integer, [None; 5], false),
    p(12, "tail_call", Ret::Void, [Ctx, ConstMapPtr, Anything, None, None], false),
    p(14, "get_current_pid_tgid", Ret::Integer, [None; 5], false),
    p(15, "get_current_uid_gid", Ret::Integer, [None; 5], false),
    p(16, "get_current_comm", Ret::Integer, [UninitMem, ConstSize, None, None, None], false),
    p(26, "skb_load_bytes", Ret::Integer, [Ctx, Anything, UninitMem, ConstSize, None], false),
    p(45, "probe_read_str", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, None, None], true),
    p(112, "probe_read_user", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, None, None], true),
    p(113, "probe_read_kernel", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, None, None], true),
    p(114, "probe_read_user_str", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, None, None], true),
    p(115, "probe_read_kernel_str", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, None, None], true),
    p(125, "ktime_get_boot_ns", Ret::Integer, [None; 5], false),
    p(130, "ringbuf_output", Ret::Integer, [ConstMapPtr, Mem, ConstSizeOrZero, Anything, None], false),
    p(131, "ringbuf_reserve", Ret::RingbufMemOrNull, [ConstMapPtr, Anything, Anything, None, None], false),
    p(132, "ringbuf_submit", Ret::Void, [RingbufRecord, Anything, None, None, None], false),
    p(133, "ringbuf_discard", Ret::Void, [RingbufRecord, Anything, None, None, None], false),
    p(134, "ringbuf_query", Ret::Integer, [ConstMapPtr, Anything, None, None, None], false),
    p(177, "trace_vprintk", Ret::Integer, [Mem, ConstSize, Mem, ConstSizeOrZero, None], true),
];

/// The prototype of helper `id`.
pub fn proto(id: u32) -> Option<&'static Proto> {
    PROTOS.iter().find(|p| p.id == id)
}

/// Whether programs of type `t` may call helper `id`, following the kernel's
/// `*_func_proto` tables for the helpers above.
pub fn allowed(t: ProgType, id: u32) -> bool {
    let base = matches!(id, 1 | 2 | 3 | 5 | 6 | 7 | 8 | 12 | 125 | 130..=134 | 177);
    let tracing = matches!(id, 4 | 14 | 15 | 16 | 45 | 112..=115);
    match t {
        ProgType::Kprobe | ProgType::Tracepoint | ProgType::RawTracepoint | ProgType::PerfEvent => base || tracing,
        ProgType::SocketFilter => base || id == 26,
        ProgType::SchedCls => base || id == 26,
        ProgType::Xdp => base,
        ProgType::Syscall => base || matches!(id, 14 | 15 | 16 | 112 | 113 | 114 | 115),
    }
}

/// A `bpf_trace_printk` argument as the formatter sees it.
pub trait PrintkArgs {
    /// The `i`th argument value.
    fn value(&self, i: usize) -> u64;
    /// Reads a string (up to `max` bytes, stopping at NUL) at address `addr`; None when
    /// unreadable (printed as `(efault)`, like the kernel).
    fn string(&self, addr: u64, max: usize) -> Option<Vec<u8>>;
    /// Reads `n` bytes at `addr` (for `%pI4`).
    fn bytes(&self, addr: u64, n: usize) -> Option<Vec<u8>>;
}

/// Formats like the kernel's `bpf_bprintf_prepare` + `bstr_printf`: `%d %i %u %x %X`
/// with optional `l`/`ll`, flags `0 + - space` and a width, `%c`, `%s`, `%p` (with `x`,
/// `K`, `s`, `S`, `B` suffixes printed as the raw value, and `i4`/`I4` as an IPv4
/// address), and `%%`. At most `nargs` conversions. Anything else is `-EINVAL`, as in the
/// kernel: the error is returned instead of a partial string.
pub fn format_printk(fmt: &[u8], nargs: usize, args: &dyn PrintkArgs) -> Result<String, ()> {
    use core::fmt::Write;
    let mut out = String::new();
    let mut i = 0;
    let mut spec = 0;
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    while i < fmt.len() && fmt[i] != 0 {
        let c = fmt[i];
        if !(c.is_ascii_graphic() || c.is_ascii_whitespace() || c == b' ') {
            return Err(());
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
            return Err(());
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
                    (b'i' | b'I', b'4') => {
                        i += 2;
                        let b = args.bytes(v, 4).ok_or(())?;
                        alloc::format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
                    }
                    (b'x' | b'K' | b's' | b'S' | b'B', _) => {
                        i += 1;
                        alloc::format!("{v:016x}")
                    }
                    _ => alloc::format!("{v:016x}"),
                }
            }
            b's' => {
                i += 1;
                match args.string(v, 512) {
                    Some(s) => String::from_utf8_lossy(&s).into_owned(),
                    Option::None => String::from("(efault)"),
                }
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
                    return Err(());
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
    impl PrintkArgs for A {
        fn value(&self, i: usize) -> u64 {
            self.0[i]
        }
        fn string(&self, addr: u64, _: usize) -> Option<Vec<u8>> {
            (addr == 1).then(|| b"str".to_vec())
        }
        fn bytes(&self, _: u64, n: usize) -> Option<Vec<u8>> {
            Some(alloc::vec![10, 0, 0, 1][..n].to_vec())
        }
    }

    #[test]
    fn formats_like_the_kernel() {
        let f = |fmt: &str, args: &[u64]| format_printk(fmt.as_bytes(), 3, &A(args.to_vec()));
        assert_eq!(f("pid %d comm %s", &[u64::MAX, 1]).unwrap(), "pid -1 comm str");
        assert_eq!(f("%u %lu %llx", &[u64::MAX, u64::MAX, 255]).unwrap(), "4294967295 18446744073709551615 ff");
        assert_eq!(f("[%5d|%-4x|%04u]", &[42, 10, 7]).unwrap(), "[   42|a   |0007]");
        assert_eq!(f("%s %%", &[2]).unwrap(), "(efault) %");
        assert_eq!(f("%pI4", &[0]).unwrap(), "10.0.0.1");
        assert_eq!(f("%c%c", &[b'o' as u64, b'k' as u64]).unwrap(), "ok");
        assert!(f("%f", &[0]).is_err(), "floats are refused");
        assert!(f("%d %d %d %d", &[1, 2, 3, 4]).is_err(), "more conversions than arguments");
        assert!(f("bad \x01 byte", &[]).is_err());
    }
}
