//! The bpf() layer against the Linux kernel's bpf() on this machine: the same attr bytes
//! go to both, and return values, errno, the bytes written back and map contents must
//! agree. Needs root and a kernel that allows bpf(); skipped with the reason otherwise.
//!
//! - `random_map_commands_agree`: proptest sequences of raw map commands (create with
//!   random types, sizes, flags and names; lookup, update, delete, get_next_key, freeze
//!   with random keys, flags, NULL pointers, bad fds and stray attr bytes);
//! - `prog_load_and_test_run_agree`: a table of PROG_LOAD and PROG_TEST_RUN attrs at the
//!   edges of their rules (log level and buffer, sizes, flags, short output buffers).

#[path = "common/linux.rs"]
mod linux;

use std::sync::Arc;

use proptest::prelude::*;
use rvbpf::maps::{Map, Storage};
use rvbpf::runtime::syscall::{cmd, Bpf, ProcessMemory, ATTR_SIZE};
use rvbpf::runtime::{Runtime, StaticKernel, Task};

fn kernel_missing() -> bool {
    match linux::unavailable() {
        Some(why) => {
            println!("SKIPPED: the kernel differential needs bpf(): {why}");
            true
        }
        None => false,
    }
}

fn ours() -> Bpf {
    Bpf::new(Arc::new(Runtime::new(Arc::new(StaticKernel::new(Task::default())), linux::possible_cpus())))
}

fn mem() -> ProcessMemory {
    // SAFETY: every address these tests put in an attr is a live buffer of the length
    // the command uses (or 0).
    unsafe { ProcessMemory::new() }
}

/// A command's outcome: Ok(value) or Err(errno), as both sides report it.
fn ours_call(b: &Bpf, c: u32, attr: &mut [u8]) -> Result<i64, i32> {
    let r = b.call(c, attr, &mem());
    if r < 0 {
        Err(-r as i32)
    } else {
        Ok(r)
    }
}

const MAP_TYPES: [u32; 7] = [1, 2, 3, 5, 6, 9, 27];
const CREATE_FLAGS: [u32; 8] = [0, 1, 1 << 3, 1 << 4, 1 << 7, 1 << 2, 1 << 1, 1 << 20];

#[derive(Clone, Debug)]
enum Op {
    Create { map_type: u32, key_size: u32, value_size: u32, max_entries: u32, flags: u32, bad_name: bool },
    Lookup { map: usize, key: u8, null_key: bool, flags: u64 },
    Update { map: usize, key: u8, fill: u8, flags: u64 },
    Delete { map: usize, key: u8, stray_value: bool },
    NextKey { map: usize, key: Option<u8> },
    Freeze { map: usize },
}

/// A stray non-zero byte in the attr: after the command's last field (EINVAL) or past
/// `sizeof(union bpf_attr)` (E2BIG).
#[derive(Clone, Debug)]
struct Step {
    op: Op,
    stray: Option<usize>,
}

fn op() -> impl Strategy<Value = Op> {
    let create = (
        prop::sample::select(&MAP_TYPES[..]),
        prop::sample::select(&[0u32, 1, 3, 4, 8][..]),
        prop::sample::select(&[0u32, 1, 4, 8, 12][..]),
        prop::sample::select(&[0u32, 1, 2, 4, 64, 4096][..]),
        prop::sample::select(&CREATE_FLAGS[..]),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(map_type, key_size, value_size, max_entries, flags, bad_name)| Op::Create { map_type, key_size, value_size, max_entries, flags, bad_name });
    let map = 0usize..6;
    let key = 0u8..6;
    prop_oneof![
        2 => create,
        3 => (map.clone(), key.clone(), prop::bool::weighted(0.05), prop::sample::select(&[0u64, 0, 0, 4, 8][..])).prop_map(|(map, key, null_key, flags)| Op::Lookup { map, key, null_key, flags }),
        5 => (map.clone(), key.clone(), any::<u8>(), prop::sample::select(&[0u64, 0, 1, 2, 3, 4][..])).prop_map(|(map, key, fill, flags)| Op::Update { map, key, fill, flags }),
        2 => (map.clone(), key.clone(), prop::bool::weighted(0.05)).prop_map(|(map, key, stray_value)| Op::Delete { map, key, stray_value }),
        2 => (map.clone(), prop::option::weighted(0.7, key)).prop_map(|(map, key)| Op::NextKey { map, key }),
        1 => map.prop_map(|map| Op::Freeze { map }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (op(), prop::option::weighted(0.04, 0usize..ATTR_SIZE + 64)).prop_map(|(op, stray)| Step { op, stray })
}

/// A map both sides created: the kernel's fd, ours, and what the test needs to know.
struct Pair {
    kfd: i32,
    ofd: i32,
    map_type: u32,
    key_size: usize,
    value_size: usize,
    max_entries: u32,
    flags: u32,
    /// An LRU map that was full on an update: which element goes is the LRU algorithm's
    /// choice (rvbpf: a clock; Linux: two lists with reference bits, per-CPU free lists
    /// and batch shrinking), so this map is no longer compared.
    evicting: bool,
}

impl Pair {
    fn is_hash(&self) -> bool {
        matches!(self.map_type, 1 | 5 | 9)
    }
}

fn u32_at(a: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(a[off..off + 4].try_into().expect("4 bytes"))
}

fn put32(a: &mut [u8], off: usize, v: u32) {
    linux::put32(a, off, v)
}

/// Runs one step on both sides; returns a description of any disagreement.
fn run_step(b: &Bpf, maps: &mut Vec<Pair>, step: &Step, ncpus: usize) -> Result<(), String> {
    let mut a = vec![0u8; ATTR_SIZE + 64];
    let mut key = [0u8; 16];
    let mut kout = [0u8; 16];
    let mut oout = [0u8; 16];
    let mut value = vec![0u8; 8 * 16 * ncpus];
    let mut kval = vec![0u8; 8 * 16 * ncpus];
    let mut oval = vec![0u8; 8 * 16 * ncpus];
    let (c, map) = match &step.op {
        Op::Create { map_type, key_size, value_size, max_entries, flags, bad_name } => {
            put32(&mut a, 0, *map_type);
            put32(&mut a, 4, *key_size);
            put32(&mut a, 8, *value_size);
            put32(&mut a, 12, *max_entries);
            put32(&mut a, 16, *flags);
            a[28..32].copy_from_slice(if *bad_name { b"a-b\0" } else { b"m_1\0" });
            (cmd::MAP_CREATE, None)
        }
        Op::Lookup { map, key: k, null_key, flags } => {
            key[0] = *k;
            linux::put64(&mut a, 8, if *null_key { 0 } else { key.as_ptr() as u64 });
            linux::put64(&mut a, 24, *flags);
            (cmd::MAP_LOOKUP_ELEM, Some(*map))
        }
        Op::Update { map, key: k, fill, flags } => {
            key[0] = *k;
            value.iter_mut().enumerate().for_each(|(i, v)| *v = fill.wrapping_add(i as u8));
            linux::put64(&mut a, 8, key.as_ptr() as u64);
            linux::put64(&mut a, 16, value.as_ptr() as u64);
            linux::put64(&mut a, 24, *flags);
            (cmd::MAP_UPDATE_ELEM, Some(*map))
        }
        Op::Delete { map, key: k, stray_value } => {
            key[0] = *k;
            linux::put64(&mut a, 8, key.as_ptr() as u64);
            linux::put64(&mut a, 16, if *stray_value { value.as_ptr() as u64 } else { 0 });
            (cmd::MAP_DELETE_ELEM, Some(*map))
        }
        Op::NextKey { map, key: k } => {
            if let Some(k) = k {
                key[0] = *k;
                linux::put64(&mut a, 8, key.as_ptr() as u64);
            }
            (cmd::MAP_GET_NEXT_KEY, Some(*map))
        }
        Op::Freeze { map } => (cmd::MAP_FREEZE, Some(*map)),
    };
    if let Some(off) = step.stray {
        a[if off < 168 { 92.max(off) } else { off }] = 0x5a;
    }
    let mut ka = a.clone();
    let mut oa = a.clone();
    // An index past the created maps names a closed fd (EBADF).
    let pair = map.and_then(|m| maps.get(m));
    let (kfd, ofd) = pair.map_or((1_000_000, 1_000_000), |p| (p.kfd, p.ofd));
    if c != cmd::MAP_CREATE {
        put32(&mut ka, 0, kfd as u32);
        put32(&mut oa, 0, ofd as u32);
    }
    // The output buffers differ per side.
    if matches!(step.op, Op::Lookup { .. }) {
        linux::put64(&mut ka, 16, kval.as_mut_ptr() as u64);
        linux::put64(&mut oa, 16, oval.as_mut_ptr() as u64);
    }
    if matches!(step.op, Op::NextKey { .. }) {
        linux::put64(&mut ka, 16, kout.as_mut_ptr() as u64);
        linux::put64(&mut oa, 16, oout.as_mut_ptr() as u64);
    }
    if let (Op::Update { map, .. }, Some(p)) = (&step.op, pair) {
        // LRU capacity: per CPU with BPF_F_NO_COMMON_LRU (the test runs on one CPU).
        let room = if p.flags & 2 != 0 { p.max_entries / ncpus as u32 } else { p.max_entries };
        // The element count, not `keys()`: a write-only map lists no keys to user space.
        let full = |m: &Map| matches!(m.storage(), Storage::Hash(h) if h.len() >= room);
        if p.map_type == 9 && b.map(p.ofd).is_some_and(|m| full(&m)) {
            maps[*map].evicting = true;
        }
    }
    let pair = map.and_then(|m| maps.get(m));
    if pair.is_some_and(|p| p.evicting) {
        let _ = (linux::bpf(c as i64, &mut ka), ours_call(b, c, &mut oa));
        return Ok(());
    }
    let kr = linux::bpf(c as i64, &mut ka);
    let or = ours_call(b, c, &mut oa);
    if let Op::Create { map_type, key_size, value_size, max_entries, flags, .. } = &step.op {
        return match (kr, or) {
            (Ok(kfd), Ok(ofd)) => {
                let percpu = matches!(map_type, 5 | 6);
                let vs = if percpu { (*value_size as usize).div_ceil(8) * 8 * ncpus } else { *value_size as usize };
                maps.push(Pair { kfd: kfd as i32, ofd: ofd as i32, map_type: *map_type, key_size: *key_size as usize, value_size: vs, max_entries: *max_entries, flags: *flags, evicting: false });
                Ok(())
            }
            (Err(k), Err(o)) if k == o => Ok(()),
            (k, o) => Err(format!("create: kernel {k:?}, rvbpf {o:?}")),
        };
    }
    let existing_key_in_hash = matches!(step.op, Op::NextKey { key: Some(_), .. }) && pair.is_some_and(|p| p.is_hash());
    match (kr, or) {
        (Ok(_), Ok(_)) => {}
        // After an existing key, which key comes next (or none) is hash order: differs.
        (k, o) if existing_key_in_hash && k.is_ok_or(2) && o.is_ok_or(2) => return Ok(()),
        (Err(k), Err(o)) if k == o => return Ok(()),
        (k, o) => return Err(format!("{:?}: kernel {k:?}, rvbpf {o:?}", step.op)),
    }
    let p = pair.expect("a command on a map succeeded");
    match step.op {
        Op::Lookup { .. } if kval[..p.value_size] != oval[..p.value_size] => Err(format!("{:?}: kernel value {:02x?}, rvbpf {:02x?}", step.op, &kval[..p.value_size], &oval[..p.value_size])),
        Op::NextKey { .. } if !p.is_hash() && kout[..p.key_size] != oout[..p.key_size] => Err(format!("{:?}: kernel next {:02x?}, rvbpf {:02x?}", step.op, &kout[..p.key_size], &oout[..p.key_size])),
        _ => Ok(()),
    }
}

trait OkOr {
    fn is_ok_or(&self, errno: i32) -> bool;
}
impl OkOr for Result<i64, i32> {
    fn is_ok_or(&self, errno: i32) -> bool {
        self.is_ok() || *self == Err(errno)
    }
}

/// One side's bpf(): a command and its attr in, the result or the errno out.
type Call<'a> = dyn FnMut(u32, &mut [u8]) -> Result<i64, i32> + 'a;
/// A map's contents: (key, value) pairs.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every (key, value) of a map, sorted, read through bpf() on one side.
fn dump(call: &mut Call, fd: i32, ks: usize, vs: usize) -> Result<Entries, i32> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    loop {
        let mut next = vec![0u8; ks.max(1)];
        let mut a = vec![0u8; ATTR_SIZE];
        put32(&mut a, 0, fd as u32);
        if let Some(k) = &cur {
            linux::put64(&mut a, 8, k.as_ptr() as u64);
        }
        linux::put64(&mut a, 16, next.as_mut_ptr() as u64);
        match call(cmd::MAP_GET_NEXT_KEY, &mut a) {
            Ok(_) => {}
            Err(2) => break,
            Err(e) => return Err(e),
        }
        let mut v = vec![0u8; vs.max(1)];
        let mut a = vec![0u8; ATTR_SIZE];
        put32(&mut a, 0, fd as u32);
        linux::put64(&mut a, 8, next.as_ptr() as u64);
        linux::put64(&mut a, 16, v.as_mut_ptr() as u64);
        if call(cmd::MAP_LOOKUP_ELEM, &mut a).is_ok() {
            out.push((next[..ks].to_vec(), v[..vs].to_vec()));
        }
        if out.len() > 10_000 {
            return Err(-1);
        }
        cur = Some(next);
    }
    out.sort();
    Ok(out)
}

fn run_case(steps: &[Step]) -> Result<(), String> {
    let ncpus = linux::possible_cpus() as usize;
    let b = ours();
    let mut maps = Vec::new();
    let mut r = Ok(());
    for s in steps {
        r = run_step(&b, &mut maps, s, ncpus);
        if r.is_err() {
            break;
        }
    }
    if r.is_ok() {
        for (i, p) in maps.iter().enumerate().filter(|(_, p)| !p.evicting) {
            let k = dump(&mut |c, a| linux::bpf(c as i64, a), p.kfd, p.key_size, p.value_size);
            let o = dump(&mut |c, a| ours_call(&b, c, a), p.ofd, p.key_size, p.value_size);
            if k != o {
                r = Err(format!("map {i} (type {}, flags {:#x}): kernel contents {k:02x?}, rvbpf {o:02x?}", p.map_type, p.flags));
                break;
            }
        }
    }
    for p in &maps {
        linux::close(p.kfd);
    }
    r
}

#[test]
fn random_map_commands_agree() {
    if kernel_missing() {
        return;
    }
    linux::pin_to_cpu0();
    let cases = std::env::var("RVBPF_SYSCALL_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() });
    let strategy = prop::collection::vec(step(), 1..40);
    let commands = std::cell::Cell::new(0usize);
    let result = runner.run(&strategy, |steps| {
        commands.set(commands.get() + steps.len());
        run_case(&steps).map_err(TestCaseError::fail)
    });
    let commands = commands.get();
    if let Err(e) = result {
        panic!("bpf() map commands disagree with the kernel: {e}");
    }
    println!("{cases} random command sequences ({commands} commands incl. shrinking) agree with the kernel");
}

/// One PROG_LOAD / PROG_TEST_RUN case: the attr to send to both sides.
struct Case {
    what: &'static str,
    cmd: u32,
    attr: Vec<u8>,
    /// Output buffers the attr points at, zeroed per side (address offsets in the attr).
    out: Vec<(usize, usize)>,
    /// For a test run: which of the programs loaded on both sides runs.
    prog: usize,
}

#[test]
fn prog_load_and_test_run_agree() {
    if kernel_missing() {
        return;
    }
    let b = ours();
    let exit7: Vec<u8> = [0xb7u8, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0].to_vec();
    let no_exit: Vec<u8> = exit7[..8].to_vec();
    let lic = b"GPL\0".to_vec();
    // Larger than the largest XDP test run Linux takes (linear part and 17 fragments).
    let packet = vec![0x11u8; 80_000];
    let load = |ptype: u32, code: &Vec<u8>, n: u32, level: u32, size: u32, buf: bool, flags: u32, attr_len: usize| -> (Vec<u8>, Vec<(usize, usize)>) {
        let mut a = vec![0u8; attr_len.max(ATTR_SIZE)];
        put32(&mut a, 0, ptype);
        put32(&mut a, 4, n);
        linux::put64(&mut a, 8, code.as_ptr() as u64);
        linux::put64(&mut a, 16, lic.as_ptr() as u64);
        put32(&mut a, 24, level);
        put32(&mut a, 28, size);
        put32(&mut a, 44, flags);
        a.truncate(attr_len);
        let out = if buf { vec![(32, size.max(1) as usize)] } else { vec![] };
        (a, out)
    };
    let mut cases = Vec::new();
    let lc = |what, (attr, out): (Vec<u8>, Vec<(usize, usize)>)| Case { what, cmd: cmd::PROG_LOAD, attr, out, prog: 0 };
    cases.push(lc("xdp ok", load(6, &exit7, 2, 0, 0, false, 0, ATTR_SIZE)));
    cases.push(lc("log level 1", load(6, &exit7, 2, 1, 4096, true, 0, ATTR_SIZE)));
    cases.push(lc("log buffer without level", load(6, &exit7, 2, 0, 4096, true, 0, ATTR_SIZE)));
    cases.push(lc("log size without buffer", load(6, &exit7, 2, 0, 4096, false, 0, ATTR_SIZE)));
    cases.push(lc("level without buffer", load(6, &exit7, 2, 1, 4096, false, 0, ATTR_SIZE)));
    cases.push(lc("unknown level bit", load(6, &exit7, 2, 16, 4096, true, 0, ATTR_SIZE)));
    cases.push(lc("BPF_LOG_FIXED alone", load(6, &exit7, 2, 8, 4096, true, 0, ATTR_SIZE)));
    cases.push(lc("refused program, log too small", load(6, &no_exit, 1, 1, 8, true, 0, ATTR_SIZE)));
    cases.push(lc("insn_cnt 0", load(6, &exit7, 0, 0, 0, false, 0, ATTR_SIZE)));
    cases.push(lc("unknown type", load(99, &exit7, 2, 0, 0, false, 0, ATTR_SIZE)));
    cases.push(lc("unknown flag", load(6, &exit7, 2, 0, 0, false, 1 << 30, ATTR_SIZE)));
    cases.push(lc("sleepable xdp", load(6, &exit7, 2, 0, 0, false, 1 << 4, ATTR_SIZE)));
    cases.push(lc("syscall not sleepable", load(31, &exit7, 2, 0, 0, false, 0, ATTR_SIZE)));
    cases.push(lc("syscall sleepable", load(31, &exit7, 2, 0, 0, false, 1 << 4, ATTR_SIZE)));
    cases.push(lc("socket filter", load(1, &exit7, 2, 0, 0, false, 0, ATTR_SIZE)));
    cases.push(lc("short attr", load(6, &exit7, 2, 0, 0, false, 0, 72)));
    let mut big = load(6, &exit7, 2, 0, 0, false, 0, 300);
    big.0[200] = 1;
    cases.push(lc("non-zero past the union", big));
    // expected_attach_type: required by some types, and it decides the return range.
    let exit1: Vec<u8> = [0xb7u8, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0].to_vec();
    let attached = |ptype: u32, code: &Vec<u8>, attach: u32| {
        let mut l = load(ptype, code, 2, 0, 0, false, 0, ATTR_SIZE);
        put32(&mut l.0, 68, attach);
        l
    };
    cases.push(lc("sock_addr without an attach type", attached(18, &exit1, 0)));
    cases.push(lc("sock_addr connect4", attached(18, &exit1, 10)));
    cases.push(lc("sock_addr recvmsg4 returning 1", attached(18, &exit1, 19)));
    cases.push(lc("sock_addr recvmsg4 returning 7", attached(18, &exit7, 19)));
    cases.push(lc("cgroup_skb egress returning 7", attached(8, &exit7, 1)));
    cases.push(lc("sk_lookup without its attach type", attached(30, &exit1, 0)));
    cases.push(lc("sk_lookup", attached(30, &exit1, 36)));
    cases.push(lc("sockopt with a sock_addr attach type", attached(25, &exit1, 10)));
    let mut bad_name = load(6, &exit7, 2, 0, 0, false, 0, ATTR_SIZE);
    bad_name.0[48..52].copy_from_slice(b"a b\0");
    cases.push(lc("bad program name", bad_name));

    // Each side loads its own programs for the test runs: XDP returning 7, XDP returning
    // data_end - data, a socket filter returning skb->len, a kprobe returning 0.
    let xdp_len: Vec<u8> = [[0x61u8, 0x12, 4, 0, 0, 0, 0, 0], [0x61, 0x11, 0, 0, 0, 0, 0, 0], [0xbf, 0x20, 0, 0, 0, 0, 0, 0], [0x1f, 0x10, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]].concat();
    let skb_len: Vec<u8> = [[0x61u8, 0x10, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]].concat();
    let programs = [(6, &exit7, 2), (6, &xdp_len, 5), (1, &skb_len, 2)];
    let loaded: Vec<(u32, u32)> = programs
        .iter()
        .map(|&(t, code, n)| {
            let (a, _) = load(t, code, n, 0, 0, false, 0, ATTR_SIZE);
            let k = linux::bpf(5, &mut a.clone()).expect("the kernel loads the test-run program") as u32;
            let o = ours_call(&b, cmd::PROG_LOAD, &mut a.clone()).expect("rvbpf loads the test-run program") as u32;
            (k, o)
        })
        .collect();
    let run = |data_in: usize, data_out: usize, repeat: u32, ctx_in: usize| -> (Vec<u8>, Vec<(usize, usize)>) {
        let mut a = vec![0u8; ATTR_SIZE];
        put32(&mut a, 8, data_in as u32);
        linux::put64(&mut a, 16, if data_in > 0 { packet.as_ptr() as u64 } else { 0 });
        put32(&mut a, 12, data_out as u32);
        put32(&mut a, 32, repeat);
        put32(&mut a, 40, ctx_in as u32);
        let out = if data_out > 0 { vec![(24, data_out)] } else { vec![] };
        (a, out)
    };
    let rc = |what, (attr, out): (Vec<u8>, Vec<(usize, usize)>)| Case { what, cmd: cmd::PROG_TEST_RUN, attr, out, prog: 0 };
    cases.push(rc("xdp run", run(64, 64, 1, 0)));
    cases.push(rc("xdp repeat 5", run(64, 64, 5, 0)));
    cases.push(rc("xdp output buffer short", run(64, 10, 1, 0)));
    cases.push(rc("xdp no output buffer", run(64, 0, 1, 0)));
    cases.push(rc("xdp shorter than Ethernet", run(13, 64, 1, 0)));
    cases.push(rc("ctx size without ctx", run(64, 64, 1, 8)));
    // Input sizes at Linux's caps: what the program sees of the packet, what comes back,
    // and the errno past the cap.
    let sized = |what, prog, size: u32| Case { what, cmd: cmd::PROG_TEST_RUN, attr: run(size as usize, 0, 1, 0).0, out: vec![(24, packet.len())], prog };
    for (what, size) in [("xdp linear part", 3520), ("xdp one byte of fragment", 3521), ("xdp 17 fragments", 3520 + 17 * 4096), ("xdp 18 fragments", 3521 + 17 * 4096), ("xdp 4 GiB", u32::MAX)] {
        cases.push(sized(what, 1, size));
    }
    for (what, size) in [("skb 1500", 1500), ("skb 3700", 3700), ("skb one page", 4096), ("skb 64 KiB", 65536), ("skb 4 GiB", u32::MAX)] {
        cases.push(sized(what, 2, size));
    }

    let mut disagree = Vec::new();
    for c in &cases {
        let per_side = |call: &mut dyn FnMut(&mut [u8]) -> Result<i64, i32>, prog: fn(&(u32, u32)) -> u32| {
            let mut a = c.attr.clone();
            let mut bufs: Vec<Vec<u8>> = c.out.iter().map(|&(_, n)| vec![0u8; n]).collect();
            for (&(off, _), buf) in c.out.iter().zip(bufs.iter_mut()) {
                linux::put64(&mut a, off, buf.as_mut_ptr() as u64);
            }
            if c.cmd == cmd::PROG_TEST_RUN {
                put32(&mut a, 0, prog(&loaded[c.prog]));
            }
            let r = call(&mut a);
            // Fields written back: retval and data_size_out for runs; outputs for runs.
            // Output buffers compared as (length of the written prefix, a hash of it): a
            // disagreement is printed short.
            let digest = |b: &Vec<u8>| {
                let n = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::hash::Hash::hash(&b[..n], &mut h);
                (n, std::hash::Hasher::finish(&h))
            };
            let written = if c.cmd == cmd::PROG_TEST_RUN && a.len() >= 16 { Some((u32_at(&a, 4), u32_at(&a, 12), bufs.iter().map(digest).collect::<Vec<_>>())) } else { None };
            (r.map(|v| v >= 0), written)
        };
        let k = per_side(&mut |a| linux::bpf(c.cmd as i64, a), |p| p.0);
        let o = per_side(&mut |a| ours_call(&b, c.cmd, a), |p| p.1);
        if k != o {
            disagree.push(format!("{}: kernel {:?}, rvbpf {:?}", c.what, k, o));
        }
    }
    assert!(disagree.is_empty(), "PROG_LOAD/PROG_TEST_RUN disagree with the kernel:\n{}", disagree.join("\n"));
    println!("{} PROG_LOAD/PROG_TEST_RUN cases agree with the kernel", cases.len());
}

/// One step of the map-in-map differential: maps are named by the index of the step
/// that created them, so that each side uses its own fds.
enum Mim {
    /// type, key size, value size, max_entries, flags, inner template (a step's map, or a
    /// raw fd).
    Create(u32, u32, u32, u32, u32, Fd),
    /// outer map, key, inner map (a step's map, or a raw fd), flags.
    Update(usize, u32, Fd, u64),
    Lookup(usize, u32),
    Delete(usize, u32),
    NextKey(usize, Option<u32>),
}

#[derive(Clone, Copy)]
enum Fd {
    Map(usize),
    Raw(u32),
}

/// What a step gave, comparable across the two sides: a lookup's id is replaced by the
/// step that created the map it names.
#[derive(Debug, PartialEq)]
enum Got {
    Ok,
    Err(i32),
    Map(Option<usize>),
    Key(u32),
}

/// One side's bpf(): a command and its attr, the result or errno.
type Side<'a> = dyn Fn(u32, &mut [u8]) -> Result<i64, i32> + 'a;
/// Which step's map (by the side's fds) a map id names.
type IdOf<'a> = dyn Fn(u32, &[Option<i32>]) -> Option<usize> + 'a;

#[test]
fn map_in_map_commands_agree() {
    if kernel_missing() {
        return;
    }
    use Fd::{Map as M, Raw};
    use Mim::*;
    const AOM: u32 = 12;
    const HOM: u32 = 13;
    const INNER_MAP: u32 = 1 << 12;
    let steps = [
        Create(2, 4, 8, 4, 0, Raw(0)),                // 0: array template
        Create(1, 4, 8, 16, 0, Raw(0)),               // 1: hash template
        Create(3, 4, 4, 2, 0, Raw(0)),                // 2: prog array
        Create(27, 0, 0, 4096, 0, Raw(0)),            // 3: ring buffer
        Create(2, 4, 8, 4, INNER_MAP, Raw(0)),        // 4: array template, any max_entries
        Create(AOM, 4, 4, 4, 0, M(0)),                // 5: array of arrays
        Create(HOM, 4, 4, 2, 0, M(1)),                // 6: hash of hashes
        Create(AOM, 4, 4, 4, 0, M(2)),                // prog arrays cannot be inner maps
        Create(AOM, 4, 4, 4, 0, M(5)),                // nor maps-in-maps
        Create(AOM, 4, 4, 4, 0, Raw(4000)),           // nor a closed fd
        Create(AOM, 4, 8, 4, 0, M(0)),                // the value is a 4-byte fd
        Create(AOM, 8, 4, 4, 0, M(0)),                // an array's key is 4 bytes
        Create(AOM, 4, 4, 0, 0, M(0)),                // max_entries 0
        Create(AOM, 4, 4, 2, 0, M(3)),                // 13: array of ring buffers
        Create(AOM, 4, 4, 2, 0, M(4)),                // 14: array of BPF_F_INNER_MAP arrays
        Create(2, 4, 8, 4, 0, Raw(0)),                // 15: another array like 0
        Create(2, 4, 8, 9, 0, Raw(0)),                // 16: an array with 9 entries
        Create(1, 4, 8, 99, 0, Raw(0)),               // 17: a hash with 99 entries
        Create(2, 4, 8, 9, INNER_MAP, Raw(0)),        // 18: INNER_MAP array, 9 entries
        Update(5, 0, M(15), 0),
        Update(5, 1, M(0), 0),
        Update(5, 2, M(16), 0),                       // max_entries differs
        Update(5, 3, M(1), 0),                        // another type
        Update(5, 4, M(15), 0),                       // past max_entries
        Update(5, 0, M(15), 1),                       // arrays take only BPF_ANY
        Update(5, 3, Raw(4000), 0),                   // a closed fd
        Update(5, 3, M(2), 0),                        // a prog array
        Update(6, 7, M(17), 0),                       // hashes: max_entries may differ
        Update(6, 7, M(1), 1),                        // BPF_NOEXIST on a present key
        Update(6, 8, M(1), 2),                        // BPF_EXIST on an absent key
        Update(6, 8, M(1), 0),
        Update(6, 9, M(1), 0),                        // full
        Update(6, 9, M(0), 1),                        // another type, BPF_NOEXIST
        Update(6, 7, M(1), 4),                        // unknown flags
        Update(13, 1, M(3), 0),
        Update(14, 0, M(18), 0),
        Update(14, 1, M(16), 0),                      // flags differ from the template
        Lookup(5, 0),
        Lookup(5, 1),
        Lookup(5, 2),
        Lookup(5, 9),
        Lookup(6, 7),
        Lookup(6, 8),
        Lookup(6, 5),
        Lookup(13, 1),
        Lookup(14, 0),
        NextKey(5, None),
        NextKey(5, Some(1)),
        NextKey(5, Some(3)),
        NextKey(5, Some(77)),
        Delete(5, 1),
        Lookup(5, 1),
        Delete(5, 1),
        Delete(5, 4),
        Delete(6, 8),
        Delete(6, 8),
        Lookup(6, 8),
        Update(6, 8, M(17), 1),
        Lookup(6, 8),
    ];
    let b = ours();
    let mut kfds: Vec<Option<i32>> = Vec::new();
    let mut ofds: Vec<Option<i32>> = Vec::new();
    let (mut disagree, mut got) = (Vec::new(), Vec::new());
    for (i, step) in steps.iter().enumerate() {
        // Each side, its own fds: (side's call, side's fds).
        let outcome = |call: &Side, fds: &mut Vec<Option<i32>>, id_of: &IdOf| -> Got {
            let fd = |f: Fd| match f {
                Fd::Map(k) => fds[k].unwrap_or(4001) as u32,
                Fd::Raw(n) => n,
            };
            let mut a = vec![0u8; ATTR_SIZE];
            let mut value = [0u8; 4];
            let (c, out, key) = match *step {
                Create(t, k, v, max, flags, inner) => {
                    for (off, x) in [(0, t), (4, k), (8, v), (12, max), (16, flags), (20, fd(inner))] {
                        put32(&mut a, off, x);
                    }
                    let r = call(cmd::MAP_CREATE, &mut a);
                    fds.push(r.ok().map(|fd| fd as i32));
                    return r.map_or_else(Got::Err, |_| Got::Ok);
                }
                Update(m, k, inner, flags) => {
                    value = fd(inner).to_ne_bytes();
                    linux::put64(&mut a, 24, flags);
                    (cmd::MAP_UPDATE_ELEM, m, k)
                }
                Lookup(m, k) => (cmd::MAP_LOOKUP_ELEM, m, k),
                Delete(m, k) => (cmd::MAP_DELETE_ELEM, m, k),
                NextKey(m, k) => (cmd::MAP_GET_NEXT_KEY, m, k.unwrap_or(0)),
            };
            let key = key.to_ne_bytes();
            fds.push(None);
            put32(&mut a, 0, fds[out].unwrap_or(4001) as u32);
            let key_at = if matches!(step, NextKey(_, None)) { 0 } else { key.as_ptr() as u64 };
            linux::put64(&mut a, 8, key_at);
            if c != cmd::MAP_DELETE_ELEM {
                linux::put64(&mut a, 16, value.as_mut_ptr() as u64);
            }
            match (call(c, &mut a), step) {
                (Err(e), _) => Got::Err(e),
                (Ok(_), Lookup(..)) => Got::Map(id_of(u32::from_ne_bytes(value), fds)),
                (Ok(_), NextKey(..)) => Got::Key(u32::from_ne_bytes(value)),
                (Ok(_), _) => Got::Ok,
            }
        };
        let kernel = |c: u32, a: &mut [u8]| linux::bpf(c as i64, a);
        let k_id = |id: u32, fds: &[Option<i32>]| {
            fds.iter().position(|f| f.is_some_and(|fd| {
                let mut info = [0u8; 80];
                let mut a = vec![0u8; ATTR_SIZE];
                put32(&mut a, 0, fd as u32);
                put32(&mut a, 4, info.len() as u32);
                linux::put64(&mut a, 8, info.as_mut_ptr() as u64);
                linux::bpf(15, &mut a).is_ok() && u32::from_ne_bytes(info[4..8].try_into().unwrap()) == id
            }))
        };
        let k = outcome(&kernel, &mut kfds, &k_id);
        let rt = b.runtime().clone();
        let o_id = |id: u32, fds: &[Option<i32>]| {
            let m = rt.map(id)?;
            fds.iter().position(|f| f.and_then(|fd| b.map(fd)).is_some_and(|x| Arc::ptr_eq(&x, &m)))
        };
        let o = outcome(&|c, a| ours_call(&b, c, a), &mut ofds, &o_id);
        got.push(format!("{k:?}"));
        if k != o {
            disagree.push(format!("step {i}: kernel {k:?}, rvbpf {o:?}"));
        }
    }
    for fd in kfds.into_iter().flatten() {
        linux::close(fd);
    }
    println!("map-in-map: {} steps, {} disagree; the kernel's answers: {}", steps.len(), disagree.len(), got.join(" "));
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
