//! bpf() layer unit tests, in a simulated user address space (the Linux differential is
//! tests/syscall.rs).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use super::*;
use crate::isa::asm;
use crate::runtime::{StaticKernel, Task};

/// A process: its bpf() layer and a user address space with a bump allocator.
struct Proc {
    bpf: Bpf,
    mem: UserBuffer,
    next: Cell<u64>,
}

const BASE: u64 = 0x10000;

impl Proc {
    fn new() -> Proc {
        let rt = Arc::new(Runtime::new(Arc::new(StaticKernel::new(Task::default())), 2));
        Proc { bpf: Bpf::new(rt), mem: UserBuffer::new(BASE, 1 << 17), next: Cell::new(BASE + 64) }
    }
    /// Places `data` in user memory; returns its address.
    fn put(&self, data: &[u8]) -> u64 {
        let at = self.next.get();
        self.mem.put(at, data);
        self.next.set((at + data.len() as u64 + 8) & !7);
        at
    }
    fn call(&self, cmd: u32, attr: &mut [u8]) -> i64 {
        self.bpf.call(cmd, attr, &self.mem)
    }
    fn map_create(&self, t: u32, k: u32, v: u32, n: u32, flags: u32) -> i64 {
        let mut a = attr(&[(0, t), (4, k), (8, v), (12, n), (16, flags)], &[]);
        self.call(cmd::MAP_CREATE, &mut a)
    }
    fn elem(&self, c: u32, fd: i64, key: Option<&[u8]>, value: u64, flags: u64) -> i64 {
        let k = key.map_or(0, |k| self.put(k));
        let mut a = attr(&[(0, fd as u32)], &[(8, k), (16, value), (24, flags)]);
        self.call(c, &mut a)
    }
    fn prog_load(&self, t: u32, src: &str, flags: u32, log: Option<(u32, u32)>) -> (i64, [u8; ATTR_SIZE], Vec<u8>) {
        let code = crate::isa::encode_all(&asm::assemble(src).unwrap());
        let insns = self.put(&code);
        let lic = self.put(b"GPL\0");
        let (level, size) = log.unwrap_or((0, 0));
        let buf = if log.is_some() { self.put(&vec![0xaa; size as usize]) } else { 0 };
        let mut a = attr(&[(0, t), (4, code.len() as u32 / 8), (24, level), (28, size), (44, flags)], &[(8, insns), (16, lic), (32, buf)]);
        let r = self.call(cmd::PROG_LOAD, &mut a);
        let log = if buf != 0 { self.mem.get(buf, size as usize) } else { Vec::new() };
        (r, a.try_into().unwrap(), log)
    }
}

fn attr(u32s: &[(usize, u32)], u64s: &[(usize, u64)]) -> Vec<u8> {
    let mut a = vec![0u8; ATTR_SIZE];
    for &(o, v) in u32s {
        a[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    for &(o, v) in u64s {
        a[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    a
}

fn le32(a: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(a[o..o + 4].try_into().unwrap())
}

const E: fn(i32) -> i64 = |e| -(e as i64);

#[test]
fn attr_size_and_tail_rules() {
    let p = Proc::new();
    // Larger than the union but zero beyond it: fine. Non-zero beyond: E2BIG.
    let mut a = attr(&[(0, 2), (4, 4), (8, 4), (12, 1)], &[]);
    a.resize(512, 0);
    assert_eq!(p.call(cmd::MAP_CREATE, &mut a), 3);
    a[300] = 1;
    assert_eq!(p.call(cmd::MAP_CREATE, &mut a), E(E2BIG));
    assert_eq!(p.call(cmd::MAP_CREATE, &mut vec![0; PAGE_SIZE + 1]), E(E2BIG));
    // Non-zero after the command's last field: EINVAL. Short attrs are zero-extended.
    let mut a = attr(&[(0, 2), (4, 4), (8, 4), (12, 1), (100, 1)], &[]);
    assert_eq!(p.call(cmd::MAP_CREATE, &mut a), E(EINVAL));
    assert_eq!(p.call(cmd::MAP_FREEZE, &mut 3u32.to_le_bytes().to_vec()), 0);
    // Unknown commands are EINVAL; known but not offered, EOPNOTSUPP.
    assert_eq!(p.call(99, &mut attr(&[], &[])), E(EINVAL));
    assert_eq!(p.call(6, &mut attr(&[], &[])), E(EOPNOTSUPP));
    // Through user memory: a bad attr pointer faults.
    assert_eq!(p.bpf.syscall(cmd::MAP_CREATE, 8, 64, &p.mem), E(EFAULT));
}

#[test]
fn map_commands() {
    let p = Proc::new();
    let fd = p.map_create(1, 4, 8, 2, 0);
    assert_eq!(fd, 3);
    assert_eq!(p.map_create(1, 4, 8, 2, 0), 4, "lowest free fd");
    let v = p.put(&7u64.to_le_bytes());
    let k1 = 1u32.to_le_bytes();
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, fd, Some(&k1), v, 0), 0);
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, fd, Some(&k1), v, 1), E(EEXIST));
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, fd, Some(&2u32.to_le_bytes()), v, 0), 0);
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, fd, Some(&3u32.to_le_bytes()), v, 0), E(E2BIG), "full");
    let out = p.put(&[0; 8]);
    assert_eq!(p.elem(cmd::MAP_LOOKUP_ELEM, fd, Some(&k1), out, 0), 0);
    assert_eq!(p.mem.get(out, 8), 7u64.to_le_bytes());
    assert_eq!(p.elem(cmd::MAP_LOOKUP_ELEM, fd, None, out, 0), E(EFAULT), "NULL key");
    assert_eq!(p.elem(cmd::MAP_LOOKUP_ELEM, fd, Some(&k1), out, 8), E(EINVAL), "unknown flag");
    assert_eq!(p.elem(cmd::MAP_LOOKUP_ELEM, 40, Some(&k1), out, 0), E(EBADF));
    // get_next_key walks both keys, then ENOENT.
    let mut seen = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    loop {
        let nk = p.put(&[0; 4]);
        let r = p.elem(cmd::MAP_GET_NEXT_KEY, fd, key.as_deref(), nk, 0);
        if r != 0 {
            assert_eq!(r, E(ENOENT));
            break;
        }
        key = Some(p.mem.get(nk, 4));
        seen.push(le32(key.as_ref().unwrap(), 0));
    }
    seen.sort();
    assert_eq!(seen, [1, 2]);
    assert_eq!(p.elem(cmd::MAP_DELETE_ELEM, fd, Some(&k1), 0, 0), 0);
    assert_eq!(p.elem(cmd::MAP_DELETE_ELEM, fd, Some(&k1), 0, 0), E(ENOENT));
    assert_eq!(p.elem(cmd::MAP_DELETE_ELEM, fd, Some(&k1), 0, 1), E(EINVAL), "delete has no flags");
    // Freeze: writes are EPERM after, and so is a second freeze.
    assert_eq!(p.call(cmd::MAP_FREEZE, &mut attr(&[(0, fd as u32)], &[])), 0);
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, fd, Some(&k1), v, 0), E(EPERM));
    assert_eq!(p.call(cmd::MAP_FREEZE, &mut attr(&[(0, fd as u32)], &[])), E(EPERM));
    // Closing frees the fd number for reuse.
    p.bpf.close(fd as i32).unwrap();
    assert_eq!(p.bpf.close(fd as i32), Err(EBADF));
    assert_eq!(p.map_create(2, 4, 4, 1, 0), 3);
}

#[test]
fn map_create_checks() {
    let p = Proc::new();
    let mut a = attr(&[(0, 2), (4, 4), (8, 4), (12, 1)], &[]);
    a[28..33].copy_from_slice(b"ok.n_");
    assert_eq!(p.call(cmd::MAP_CREATE, &mut a.clone()), 3);
    a[29] = b'-';
    assert_eq!(p.call(cmd::MAP_CREATE, &mut a.clone()), E(EINVAL), "bad name character");
    a[28..44].copy_from_slice(b"sixteen_chars_xx");
    assert_eq!(p.call(cmd::MAP_CREATE, &mut a.clone()), E(EINVAL), "no NUL in 16 bytes");
    assert_eq!(p.map_create(2, 4, 4, 0, 0), E(EINVAL), "max_entries 0 comes before the name");
    assert_eq!(p.map_create(2, 4, 4, 1, create_flags::RDONLY | create_flags::WRONLY), E(EINVAL));
    assert_eq!(p.map_create(77, 4, 4, 1, 0), E(EINVAL), "unknown type");
    assert_eq!(p.call(cmd::MAP_CREATE, &mut attr(&[(0, 2), (4, 4), (8, 4), (12, 1), (52, 1), (56, 1), (48, 9)], &[])), E(EBADF), "BTF fd not open");
}

#[test]
fn prog_array_values_are_prog_fds() {
    let p = Proc::new();
    let pa = p.map_create(3, 4, 4, 2, 0);
    let (prog, _, _) = p.prog_load(6, "mov %r0, 2\nexit", 0, None);
    assert!(prog > 0);
    let v = p.put(&(prog as u32).to_le_bytes());
    let k0 = 0u32.to_le_bytes();
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, pa, Some(&k0), v, 1), E(EINVAL), "only BPF_ANY");
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, pa, Some(&5u32.to_le_bytes()), v, 0), E(E2BIG));
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, pa, Some(&k0), p.put(&77u32.to_le_bytes()), 0), E(EBADF));
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, pa, Some(&k0), p.put(&(pa as u32).to_le_bytes()), 0), E(EINVAL), "a map fd is not a program");
    assert_eq!(p.elem(cmd::MAP_UPDATE_ELEM, pa, Some(&k0), v, 0), 0);
    // The syscall view of a prog array slot is the program's id.
    let out = p.put(&[0; 4]);
    assert_eq!(p.elem(cmd::MAP_LOOKUP_ELEM, pa, Some(&k0), out, 0), 0);
    let id = p.bpf.program(prog as i32).unwrap().id;
    assert_eq!(le32(&p.mem.get(out, 4), 0), id);
    // Closing the program's fd keeps it loaded while the array holds it.
    p.bpf.close(prog as i32).unwrap();
    assert!(p.bpf.runtime().program(id).is_some());
    assert_eq!(p.elem(cmd::MAP_DELETE_ELEM, pa, Some(&k0), 0, 0), 0);
    assert!(p.bpf.runtime().program(id).is_none(), "unloaded once nothing holds it");
}

#[test]
fn prog_load_log_rules() {
    let p = Proc::new();
    let ok = "mov %r0, 7\nexit";
    assert!(p.prog_load(6, ok, 0, None).0 > 0);
    assert_eq!(p.prog_load(6, ok, 0, Some((0, 64))).0, E(EINVAL), "a buffer without a level");
    assert_eq!(p.prog_load(6, ok, 0, Some((16, 64))).0, E(EINVAL), "unknown level bit");
    assert_eq!(p.prog_load(6, ok, 0, Some((1, 0))).0, E(EINVAL), "level without a buffer");
    assert_eq!(p.prog_load(99, ok, 0, None).0, E(EINVAL), "unknown program type");
    assert_eq!(p.prog_load(6, ok, 1 << 30, None).0, E(EINVAL), "unknown flag");
    assert_eq!(p.prog_load(31, ok, 0, None).0, E(EINVAL), "syscall programs must be sleepable");
    assert!(p.prog_load(31, ok, BPF_F_SLEEPABLE, None).0 > 0);
    // A refused program's log says why; log_true_size counts the NUL.
    let (r, a, log) = p.prog_load(6, "call 9999\nexit", 0, Some((1, 256)));
    assert_eq!(r, E(EINVAL));
    let text = core::str::from_utf8(&log[..log.iter().position(|&b| b == 0).unwrap()]).unwrap();
    assert!(text.contains("unknown func"), "{text}");
    assert_eq!(le32(&a, 140) as usize, text.len() + 1);
    // A log that does not fit: ENOSPC, the tail kept (the head with BPF_LOG_FIXED).
    let (r, _, small) = p.prog_load(6, "call 9999\nexit", 0, Some((1, 8)));
    assert_eq!(r, E(ENOSPC));
    assert_eq!(&small[..8], [text.as_bytes()[text.len() - 7..].to_vec(), vec![0]].concat());
    let (r, _, fixed) = p.prog_load(6, "call 9999\nexit", 0, Some((9, 8)));
    assert_eq!(r, E(ENOSPC));
    assert_eq!(&fixed[..8], [text.as_bytes()[..7].to_vec(), vec![0]].concat());
    // A short attr without log_true_size does not get it written.
    let code = crate::isa::encode_all(&asm::assemble(ok).unwrap());
    let (insns, lic, buf) = (p.put(&code), p.put(b"GPL\0"), p.put(&[0; 128]));
    let mut a = attr(&[(0, 6), (4, 2), (24, 1), (28, 128)], &[(8, insns), (16, lic), (32, buf)]);
    a.truncate(120);
    assert!(p.call(cmd::PROG_LOAD, &mut a) > 0);
    assert_eq!(a.len(), 120);
}

#[test]
fn prog_load_map_references() {
    let p = Proc::new();
    let m = p.map_create(2, 4, 8, 1, 0);
    // By fd, by fd_array index; a bad fd is EBADF, a non-map fd EINVAL.
    assert!(p.prog_load(6, &format!("lddw %r1, map_fd({m})\nmov %r0, 0\nexit"), 0, None).0 > 0);
    assert_eq!(p.prog_load(6, "lddw %r1, map_fd(50)\nmov %r0, 0\nexit", 0, None).0, E(EBADF));
    let prog = p.prog_load(6, "mov %r0, 0\nexit", 0, None).0;
    assert_eq!(p.prog_load(6, &format!("lddw %r1, map_fd({prog})\nmov %r0, 0\nexit"), 0, None).0, E(EINVAL));
    let code = crate::isa::encode_all(&asm::assemble("lddw %r1, map_idx(1)\nmov %r0, 0\nexit").unwrap());
    let fds = p.put(&[0u8, 0, 0, 0].iter().chain(&(m as u32).to_le_bytes()).copied().collect::<Vec<u8>>());
    let (insns, lic) = (p.put(&code), p.put(b"GPL\0"));
    let mut a = attr(&[(0, 6), (4, 4)], &[(8, insns), (16, lic), (120, fds)]);
    assert!(p.call(cmd::PROG_LOAD, &mut a) > 0);
    let mut a = attr(&[(0, 6), (4, 4)], &[(8, insns), (16, lic)]);
    assert_eq!(p.call(cmd::PROG_LOAD, &mut a), E(EINVAL), "an index without fd_array");
}

#[test]
fn test_run_xdp_and_short_output() {
    let p = Proc::new();
    // Writes 0xab into the first byte of the packet (when it has one), returns XDP_TX (3).
    let (prog, _, _) = p.prog_load(6, "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, +1\nstb [%r2+0], 0xab\nmov %r0, 3\nexit", 0, None);
    assert!(prog > 0, "{prog}");
    let data = p.put(&[1u8; 20]);
    let out = p.put(&[0u8; 20]);
    let mut a = attr(&[(0, prog as u32), (8, 20), (12, 20), (32, 3)], &[(16, data), (24, out)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), 0);
    assert_eq!(le32(&a, 4), 3, "retval");
    assert_eq!(le32(&a, 12), 20, "data_size_out");
    assert_eq!(p.mem.get(out, 2), [0xab, 1]);
    let mut a = attr(&[(0, prog as u32), (8, 20), (12, 4)], &[(16, data), (24, out)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), E(ENOSPC));
    assert_eq!(le32(&a, 12), 20, "the full size is reported");
    let mut a = attr(&[(0, prog as u32), (8, 10)], &[(16, data)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), E(EINVAL), "shorter than an Ethernet header");
    let mut a = attr(&[(0, prog as u32), (8, 20), (40, 4)], &[(16, data)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), E(EINVAL), "ctx size without ctx");
    let mut a = attr(&[(0, 77)], &[]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), E(EBADF));
}

#[test]
fn test_run_sizes_are_capped_before_anything_is_read() {
    let p = Proc::new();
    // r0 = data_end - data, and r0 = skb->len: how much of the packet the program sees.
    let (xdp, _, _) = p.prog_load(6, "ldxw %r2, [%r1+4]\nldxw %r1, [%r1+0]\nmov %r0, %r2\nsub %r0, %r1\nexit", 0, None);
    let (skb, _, _) = p.prog_load(1, "ldxw %r0, [%r1+0]\nexit", 0, None);
    let (kprobe, _, _) = p.prog_load(2, "mov %r0, 0\nexit", 0, None);
    let (tp, _, _) = p.prog_load(5, "mov %r0, 0\nexit", 0, None);
    assert!(xdp > 0 && skb > 0 && kprobe > 0 && tp > 0);
    let data = p.put(&[7u8; 80_000]);
    let run = |prog: i64, size: u32| {
        let mut a = attr(&[(0, prog as u32), (8, size)], &[(16, data)]);
        (p.call(cmd::PROG_TEST_RUN, &mut a), le32(&a, 4), le32(&a, 12))
    };
    let frags = XDP_LINEAR_MAX + 17 * PAGE_SIZE as u32;
    // XDP: the program sees the linear part; the rest comes back as it went in.
    assert_eq!(run(xdp, XDP_LINEAR_MAX + 1), (0, XDP_LINEAR_MAX, XDP_LINEAR_MAX + 1));
    assert_eq!(run(xdp, frags), (0, XDP_LINEAR_MAX, frags));
    assert_eq!(run(xdp, frags + 1).0, E(ENOMEM), "one fragment more than MAX_SKB_FRAGS");
    assert_eq!(run(xdp, u32::MAX).0, E(ENOMEM), "4 GiB: refused after reading 18 pages at most");
    // __sk_buff: Linux strips the Ethernet header, so len is the rest.
    let (r, len, _) = run(skb, SKB_DATA_MAX);
    assert_eq!((r, len), (0, SKB_DATA_MAX - ETH_HLEN));
    assert_eq!(run(skb, SKB_DATA_MAX + 1).0, E(EINVAL));
    // An IP packet holds at least its fixed header.
    for (ethertype, header) in [(0x0800u16, 20), (0x86dd, 40)] {
        let mut frame = [0u8; 54];
        frame[12..14].copy_from_slice(&ethertype.to_be_bytes());
        let at = p.put(&frame);
        let run = |size: u32| p.call(cmd::PROG_TEST_RUN, &mut attr(&[(0, skb as u32), (8, size)], &[(16, at)]));
        assert_eq!(run(ETH_HLEN + header - 1), E(EINVAL), "{ethertype:#x} one byte short of its header");
        assert_eq!(run(ETH_HLEN + header), 0);
    }
    assert_eq!(run(skb, u32::MAX).0, E(EINVAL), "refused before it is read");
    // Contexts: past a page is E2BIG before reading; a tracepoint record past 8 KiB too.
    let zeros = p.put(&[0u8; 9000]);
    let ctx = |prog: i64, size: u32| {
        let mut a = attr(&[(0, prog as u32), (40, size)], &[(48, zeros)]);
        p.call(cmd::PROG_TEST_RUN, &mut a)
    };
    assert_eq!(ctx(kprobe, PAGE_SIZE as u32), 0, "zeros past pt_regs are taken");
    assert_eq!(ctx(kprobe, PAGE_SIZE as u32 + 1), E(E2BIG));
    assert_eq!(ctx(kprobe, 1 << 30), E(E2BIG), "1 GiB: refused unread");
    assert_eq!(ctx(tp, 8192), 0);
    assert_eq!(ctx(tp, 8193), E(E2BIG));
}

#[test]
fn test_run_kprobe_with_caller_registers() {
    let p = Proc::new();
    // r0 = regs->a0 * 2 (a0 is at offset 80 of riscv64 pt_regs).
    let (prog, _, _) = p.prog_load(2, "ldxdw %r0, [%r1+80]\nlsh %r0, 1\nexit", 0, None);
    assert!(prog > 0, "{prog}");
    let mut regs = PtRegs::default();
    regs.set("a0", 21);
    let ctx = p.put(&regs.words().iter().flat_map(|w| w.to_ne_bytes()).collect::<Vec<u8>>());
    let mut a = attr(&[(0, prog as u32), (40, PtRegs::SIZE as u32)], &[(48, ctx)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), 0);
    assert_eq!(le32(&a, 4), 42);
    // Shorter register sets are zero-extended; longer ones must be zero past pt_regs.
    let mut a = attr(&[(0, prog as u32), (40, 88)], &[(48, ctx)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), 0);
    assert_eq!(le32(&a, 4), 42);
    let big = p.put(&[1u8; PtRegs::SIZE + 8]);
    let mut a = attr(&[(0, prog as u32), (40, PtRegs::SIZE as u32 + 8)], &[(48, big)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), E(E2BIG));
}

#[test]
fn test_run_syscall_writes_context_back() {
    let p = Proc::new();
    let (prog, _, _) = p.prog_load(31, "stw [%r1+0], 9\nmov %r0, 1\nexit", BPF_F_SLEEPABLE, None);
    assert!(prog > 0, "{prog}");
    let ctx = p.put(&[0u8; 8]);
    let mut a = attr(&[(0, prog as u32), (40, 8)], &[(48, ctx)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), 0);
    assert_eq!(p.mem.get(ctx, 4), 9u32.to_le_bytes());
    let mut a = attr(&[(0, prog as u32), (40, 8), (32, 2)], &[(48, ctx)]);
    assert_eq!(p.call(cmd::PROG_TEST_RUN, &mut a), E(EINVAL), "syscall programs take no repeat");
}

#[test]
fn attach_through_links() {
    let p = Proc::new();
    let rt = p.bpf.runtime().clone();
    rt.hooks.register("kprobe/f", ProgType::Kprobe).unwrap();
    rt.hooks.register("kprobe/g", ProgType::Kprobe).unwrap();
    rt.hooks.register("raw_tracepoint/sched_switch", ProgType::RawTracepoint).unwrap();
    let (kp, _, _) = p.prog_load(2, "mov %r0, 5\nexit", 0, None);
    let (rtp, _, _) = p.prog_load(17, "ldxdw %r0, [%r1+0]\nexit", 0, None);
    let (f, g, none) = (p.put(b"f\0"), p.put(b"g\0"), p.put(b"nope\0"));
    let syms = p.put(&[f.to_le_bytes(), g.to_le_bytes()].concat());
    let mut a = attr(&[(0, kp as u32), (8, attach_type::TRACE_KPROBE_MULTI), (20, 2)], &[(24, syms)]);
    let link = p.call(cmd::LINK_CREATE, &mut a);
    assert!(link > 0, "{link}");
    assert_eq!(rt.hooks.attached("kprobe/g").unwrap().len(), 1);
    // All or nothing: one unknown symbol attaches none.
    let bad = p.put(&[f.to_le_bytes(), none.to_le_bytes()].concat());
    let mut a = attr(&[(0, kp as u32), (8, attach_type::TRACE_KPROBE_MULTI), (20, 2)], &[(24, bad)]);
    assert_eq!(p.call(cmd::LINK_CREATE, &mut a), E(ENOENT));
    assert_eq!(rt.hooks.attached("kprobe/f").unwrap().len(), 1);
    // A raw tracepoint link; the program fires with the hook.
    let mut a = attr(&[(8, rtp as u32)], &[(0, p.put(b"sched_switch\0"))]);
    let rlink = p.call(cmd::RAW_TRACEPOINT_OPEN, &mut a);
    assert!(rlink > 0, "{rlink}");
    let fired = rt.fire("raw_tracepoint/sched_switch", &mut Context::RawTracepoint(&[11]), &RunConfig::default()).unwrap();
    assert_eq!(fired[0].as_ref().unwrap().r0, 11);
    // Closing the program fd keeps the attached program; closing the link drops both.
    let id = p.bpf.program(rtp as i32).unwrap().id;
    p.bpf.close(rtp as i32).unwrap();
    assert_eq!(rt.fire("raw_tracepoint/sched_switch", &mut Context::RawTracepoint(&[11]), &RunConfig::default()).unwrap().len(), 1);
    p.bpf.close(rlink as i32).unwrap();
    assert!(rt.hooks.attached("raw_tracepoint/sched_switch").unwrap().is_empty());
    assert!(rt.program(id).is_none());
    // LINK_DETACH empties a link; the fd stays until closed.
    assert_eq!(p.call(cmd::LINK_DETACH, &mut attr(&[(0, link as u32)], &[])), 0);
    assert!(rt.hooks.attached("kprobe/f").unwrap().is_empty());
    assert_eq!(p.call(cmd::LINK_DETACH, &mut attr(&[(0, kp as u32)], &[])), E(EINVAL), "not a link");
    assert_eq!(p.call(cmd::LINK_DETACH, &mut attr(&[(0, 99)], &[])), E(EBADF));
}

/// Random attrs through every command never panic.
#[test]
fn random_attrs_do_not_panic() {
    let p = Proc::new();
    p.map_create(1, 4, 4, 4, 0);
    p.prog_load(6, "mov %r0, 1\nexit", 0, None);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let c = (rnd() % 40) as u32;
        let mut a = vec![0u8; ATTR_SIZE];
        for _ in 0..(rnd() % 6) {
            let off = (rnd() % (ATTR_SIZE as u64 - 8)) as usize & !3;
            let v = match rnd() % 4 {
                0 => rnd() % 8,
                1 => BASE + rnd() % 0x10100,
                2 => 3 + rnd() % 3,
                _ => rnd(),
            };
            a[off..off + 8].copy_from_slice(&v.to_le_bytes());
        }
        let r = p.call(c, &mut a);
        assert!(r >= -(ENOTSUPP as i64), "{r}");
    }
}

/// User memory at the top of the address space and at address 0, over a process's own:
/// `u64::MAX - 1` and `u64::MAX` hold "GP", and 0.. holds "L\0" and then an fd, so that a
/// read that wrapped past the top would find a license or an fd there.
struct Wrapping<'a>(&'a UserBuffer, u32);

impl UserMemory for Wrapping<'_> {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), Fault> {
        let low = [b'L', 0, 0, 0].into_iter().chain(self.1.to_le_bytes()).collect::<Vec<u8>>();
        match addr {
            a if a >= u64::MAX - 1 => dst.iter_mut().zip(a..=u64::MAX).for_each(|(d, x)| *d = if x == u64::MAX { b'P' } else { b'G' }),
            a if a < 8 => dst.iter_mut().zip(&low[a as usize..]).for_each(|(d, b)| *d = *b),
            _ => return self.0.read(addr, dst),
        }
        Ok(())
    }
    fn write(&self, addr: u64, src: &[u8]) -> Result<(), Fault> {
        self.0.write(addr, src)
    }
}

/// User pointers near the top of the address space: a license string or an fd_array
/// entry past it is EFAULT, never a read that wrapped to address 0.
#[test]
fn user_addresses_past_the_top_are_efault() {
    let p = Proc::new();
    let m = p.map_create(2, 4, 8, 1, 0) as u32;
    let mem = Wrapping(&p.mem, m);
    let code = crate::isa::encode_all(&asm::assemble("mov %r0, 0\nexit").unwrap());
    let (insns, lic) = (p.put(&code), p.put(b"GPL\0"));
    let mut a = attr(&[(0, 6), (4, 2)], &[(8, insns), (16, lic)]);
    assert!(p.bpf.call(cmd::PROG_LOAD, &mut a, &mem) > 0, "the memory answers as a process's does");
    // "GP" at the top, then the string would go on at 0 if the address wrapped.
    let mut a = attr(&[(0, 6), (4, 2)], &[(8, insns), (16, u64::MAX - 1)]);
    assert_eq!(p.bpf.call(cmd::PROG_LOAD, &mut a, &mem), E(EFAULT), "the license runs past the top");
    // fd_array + 4 * 0x4000_0000 wraps to address 4, where an fd is.
    let code = crate::isa::encode_all(&asm::assemble("lddw %r1, map_idx(0x40000000)\nmov %r0, 0\nexit").unwrap());
    let insns = p.put(&code);
    let mut a = attr(&[(0, 6), (4, 4)], &[(8, insns), (16, lic), (120, 4u64.wrapping_sub(1 << 32))]);
    assert_eq!(p.bpf.call(cmd::PROG_LOAD, &mut a, &mem), E(EFAULT), "fd_array[0x40000000] is past the top");
}
