//! The `bpf()` command layer: Linux's system call ABI on top of a [`Runtime`].
//!
//! An OS integrator forwards its `bpf(cmd, uattr, size)` system call to [`Bpf::syscall`]
//! with a [`UserMemory`] that reads and writes the calling process's memory; it returns
//! what Linux returns, an fd or a value `>= 0`, or `-errno`. [`Bpf::call`] takes the attr
//! bytes already copied in. The behaviour follows Linux 6.18 (`kernel/bpf/syscall.c`):
//! - `union bpf_attr` is [`ATTR_SIZE`] bytes; a larger `size` is fine if the extra bytes
//!   are zero (else `E2BIG`), more than a page is `E2BIG`; a shorter one is zero-extended;
//! - each command refuses non-zero bytes after its last field (`EINVAL`), and unknown
//!   commands are `EINVAL`;
//! - fds are the lowest free number from 3 (a table of this layer's own; an integrator
//!   with several processes keeps one [`Bpf`] per process over a shared [`Runtime`]).
//!
//! Commands: `MAP_CREATE`, `MAP_LOOKUP_ELEM`, `MAP_UPDATE_ELEM`, `MAP_DELETE_ELEM`,
//! `MAP_GET_NEXT_KEY`, `MAP_FREEZE`, `PROG_LOAD` (log buffer, `fd_array`),
//! `PROG_TEST_RUN` (xdp, socket filter, syscall, raw tracepoint as Linux; kprobe and
//! tracepoint too, which Linux cannot), `RAW_TRACEPOINT_OPEN` and `LINK_CREATE`
//! (`BPF_TRACE_KPROBE_MULTI`) to attach to hook points, `LINK_DETACH`. Other Linux
//! commands answer `EOPNOTSUPP`, so a caller can tell "not built" from "unknown".

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::{context::PtRegs, Context, LoadedProgram, MapRef, MapRefError, ProgramLoad, RunConfig, Runtime};
use crate::errno::*;
use crate::isa::{RawInsn, MAX_SLOTS};
use crate::maps::{create_flags, valid_name, Map, MapDef, BPF_ANY, BPF_F_LOCK};
use crate::prog::ProgType;
use crate::verifier::LogSink;

/// `sizeof(union bpf_attr)` in Linux 6.18.
pub const ATTR_SIZE: usize = 168;
/// Attrs larger than a page are refused.
pub const PAGE_SIZE: usize = 4096;

/// Command numbers (`enum bpf_cmd`).
pub mod cmd {
    pub const MAP_CREATE: u32 = 0;
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    pub const MAP_UPDATE_ELEM: u32 = 2;
    pub const MAP_DELETE_ELEM: u32 = 3;
    pub const MAP_GET_NEXT_KEY: u32 = 4;
    pub const PROG_LOAD: u32 = 5;
    pub const PROG_TEST_RUN: u32 = 10;
    pub const RAW_TRACEPOINT_OPEN: u32 = 17;
    pub const MAP_FREEZE: u32 = 22;
    pub const LINK_CREATE: u32 = 28;
    pub const LINK_DETACH: u32 = 34;
    /// The last command Linux 6.18 knows (`BPF_PROG_ASSOC_STRUCT_OPS`).
    pub const LAST_LINUX: u32 = 38;
}

/// `enum bpf_attach_type` values this layer takes.
pub mod attach_type {
    pub const TRACE_RAW_TP: u32 = 23;
    pub const TRACE_KPROBE_MULTI: u32 = 42;
}

/// `BPF_F_SLEEPABLE`.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `prog_flags` Linux accepts (`BPF_F_STRICT_ALIGNMENT` … `BPF_F_TOKEN_FD`); rvbpf takes
/// them and acts on `BPF_F_SLEEPABLE` only.
const PROG_FLAGS: u32 = 0x1 | 0x2 | 0x8 | BPF_F_SLEEPABLE | 0x20 | 0x40 | 0x80 | 0x100;
/// `BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED`.
const LOG_MASK: u32 = 0xf;

/// The verifier's log level for `BPF_PROG_LOAD`'s `log_level` bits: `BPF_LOG_LEVEL2` (2)
/// every instruction; `BPF_LOG_LEVEL1` (1) or `BPF_LOG_STATS` (4) the refusal and the
/// stats.
fn verifier_level(bits: u32) -> u32 {
    if bits & 2 != 0 {
        2
    } else if bits & 5 != 0 {
        1
    } else {
        0
    }
}
const LOG_FIXED: u32 = 8;
/// `BPF_F_KPROBE_MULTI_RETURN`.
const KPROBE_MULTI_RETURN: u32 = 1;
/// The Ethernet header a packet test run needs at least.
const ETH_HLEN: u32 = 14;

// PROG_TEST_RUN's input sizes are capped as Linux caps them (`net/bpf/test_run.c`), and
// checked before anything is allocated or read.
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` on a 64-bit kernel: the tailroom of
/// every test-run packet buffer.
const SHARED_INFO: u32 = 320;
/// An XDP test run's linear part: a page less `XDP_PACKET_HEADROOM` (256) and the
/// tailroom. The program sees these bytes; the rest of the packet rides in fragments.
pub const XDP_LINEAR_MAX: u32 = PAGE_SIZE as u32 - 256 - SHARED_INFO;
/// `MAX_SKB_FRAGS`: an XDP test run's fragments, a page each; a packet that needs more
/// is `ENOMEM`.
const XDP_MAX_FRAGS: u32 = 17;
/// `NET_IP_ALIGN`: 0 on x86, 2 on RISC-V and the other architectures that keep Linux's
/// default. The bpf() layer follows the Linux of the machine it is built for.
const NET_IP_ALIGN: u32 = if cfg!(target_arch = "x86_64") { 0 } else { 2 };
/// The largest `__sk_buff` test-run packet: a page less `NET_SKB_PAD` (64: the L1 cache
/// line), `NET_IP_ALIGN` and the tailroom. A larger one is `EINVAL`.
pub const SKB_DATA_MAX: u32 = PAGE_SIZE as u32 - 64 - NET_IP_ALIGN - SHARED_INFO;
/// The largest tracepoint record: `PERF_MAX_TRACE_SIZE`. A larger one is `E2BIG`.
const TRACE_RECORD_MAX: u32 = 8192;

/// A user-memory access that faulted (the command fails with `EFAULT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

/// The calling process's memory, as the integrator reaches it (`copy_from_user`).
pub trait UserMemory {
    /// Copies `dst.len()` bytes from user address `addr`.
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), Fault>;
    /// Copies `src` to user address `addr`.
    fn write(&self, addr: u64, src: &[u8]) -> Result<(), Fault>;
}

/// User memory that is this process's own memory: a hosted program calling its own
/// `bpf()` layer, as the CLI and the tests do. Address 0 faults; any other address is
/// trusted.
#[cfg(feature = "std")]
pub struct ProcessMemory(());

#[cfg(feature = "std")]
impl ProcessMemory {
    /// # Safety
    /// Every non-zero address the caller puts in an attr (and in the memory it points
    /// to) must be valid for the length the command reads or writes there.
    pub unsafe fn new() -> ProcessMemory {
        ProcessMemory(())
    }
}

#[cfg(feature = "std")]
impl UserMemory for ProcessMemory {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), Fault> {
        if dst.is_empty() {
            return Ok(());
        }
        if addr == 0 {
            return Err(Fault);
        }
        // SAFETY: the constructor's contract: non-zero addresses are valid for the length.
        unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }
    fn write(&self, addr: u64, src: &[u8]) -> Result<(), Fault> {
        if src.is_empty() {
            return Ok(());
        }
        if addr == 0 {
            return Err(Fault);
        }
        // SAFETY: as in `read`.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), addr as *mut u8, src.len()) };
        Ok(())
    }
}

/// A user address space of one buffer at `base`: every access outside it faults. For
/// tests, fuzzing and integrators that copy a request in first.
pub struct UserBuffer {
    pub base: u64,
    bytes: spin::Mutex<Vec<u8>>,
}

impl UserBuffer {
    pub fn new(base: u64, len: usize) -> UserBuffer {
        UserBuffer { base, bytes: spin::Mutex::new(vec![0; len]) }
    }
    fn range(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>, Fault> {
        let start = addr.checked_sub(self.base).ok_or(Fault)? as usize;
        let end = start.checked_add(len).ok_or(Fault)?;
        if end > self.bytes.lock().len() {
            return Err(Fault);
        }
        Ok(start..end)
    }
    /// Copies `data` in at `addr` (panics outside the buffer: a test's own mistake).
    pub fn put(&self, addr: u64, data: &[u8]) {
        self.write(addr, data).expect("UserBuffer::put outside the buffer");
    }
    /// `len` bytes at `addr` (panics outside the buffer).
    pub fn get(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.read(addr, &mut v).expect("UserBuffer::get outside the buffer");
        v
    }
}

impl UserMemory for UserBuffer {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), Fault> {
        let r = self.range(addr, dst.len())?;
        dst.copy_from_slice(&self.bytes.lock()[r]);
        Ok(())
    }
    fn write(&self, addr: u64, src: &[u8]) -> Result<(), Fault> {
        let r = self.range(addr, src.len())?;
        self.bytes.lock()[r].copy_from_slice(src);
        Ok(())
    }
}

/// What an fd refers to.
#[derive(Clone)]
enum File {
    Map { id: u32, map: Arc<Map> },
    Prog(Arc<LoadedProgram>),
    /// Hook attachments (link ids in [`super::hooks::Hooks`]); empty once detached.
    Link(Vec<u32>),
}

/// A command's failure: a positive errno.
type Res<T> = Result<T, i32>;

fn fault(_: Fault) -> i32 {
    EFAULT
}

/// A copied-in `union bpf_attr`.
struct Attr {
    b: [u8; ATTR_SIZE],
}

impl Attr {
    fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.b[off..off + 4].try_into().expect("4 bytes"))
    }
    fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.b[off..off + 8].try_into().expect("8 bytes"))
    }
    fn set_u32(&mut self, off: usize, v: u32) {
        self.b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    /// `CHECK_ATTR`: nothing after the command's last field, which ends at `end`.
    fn check_tail(&self, end: usize) -> Res<()> {
        match self.b[end..].iter().all(|&x| x == 0) {
            true => Ok(()),
            false => Err(EINVAL),
        }
    }
}

/// The user address `off` bytes past `base`: EFAULT where that is past the top of the
/// address space (a user pointer never wraps to low memory).
fn user_at(base: u64, off: u64) -> Res<u64> {
    base.checked_add(off).ok_or(EFAULT)
}

/// Reads a NUL-terminated string of at most `max` bytes (with the NUL); `None` when no
/// NUL comes within `max`.
fn read_str(mem: &dyn UserMemory, addr: u64, max: usize) -> Res<Option<String>> {
    let mut out = Vec::new();
    let mut b = [0u8];
    for i in 0..max {
        mem.read(user_at(addr, i as u64)?, &mut b).map_err(fault)?;
        if b[0] == 0 {
            return Ok(Some(String::from_utf8_lossy(&out).into_owned()));
        }
        out.push(b[0]);
    }
    Ok(None)
}

/// `bpf_obj_name_cpy`: a name of at most 15 of `[A-Za-z0-9_.]`, NUL-terminated in 16.
fn obj_name(raw: &[u8]) -> Res<String> {
    let end = raw.iter().position(|&c| c == 0).ok_or(EINVAL)?;
    let name = core::str::from_utf8(&raw[..end]).map_err(|_| EINVAL)?;
    if !valid_name(name) {
        return Err(EINVAL);
    }
    Ok(name.into())
}

/// The `bpf()` system call over one runtime.
pub struct Bpf {
    rt: Arc<Runtime>,
    files: spin::Mutex<BTreeMap<i32, File>>,
    /// Programs whose fds are closed but that a link or prog array may still hold.
    orphans: spin::Mutex<Vec<u32>>,
}

impl Bpf {
    pub fn new(rt: Arc<Runtime>) -> Bpf {
        Bpf { rt, files: spin::Mutex::new(BTreeMap::new()), orphans: spin::Mutex::new(Vec::new()) }
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.rt
    }

    /// The system call: the attr is `size` bytes at user address `uattr`.
    pub fn syscall(&self, cmd: u32, uattr: u64, size: u32, mem: &dyn UserMemory) -> i64 {
        let size = size as usize;
        if size > PAGE_SIZE {
            return -(E2BIG as i64);
        }
        let mut bytes = vec![0u8; size];
        if mem.read(uattr, &mut bytes).is_err() {
            return -(EFAULT as i64);
        }
        let before = bytes.clone();
        let r = self.call(cmd, &mut bytes, mem);
        // Linux writes results (retval, log_true_size, ...) into the user's attr.
        if let (Some(first), Some(last)) = (bytes.iter().zip(&before).position(|(a, b)| a != b), bytes.iter().zip(&before).rposition(|(a, b)| a != b)) {
            if user_at(uattr, first as u64).and_then(|at| mem.write(at, &bytes[first..=last]).map_err(fault)).is_err() {
                return -(EFAULT as i64);
            }
        }
        r
    }

    /// The system call with the attr already copied in; results Linux writes into the
    /// attr are written into `attr`.
    pub fn call(&self, cmd: u32, attr: &mut [u8], mem: &dyn UserMemory) -> i64 {
        if attr.len() > PAGE_SIZE {
            return -(E2BIG as i64);
        }
        if attr.iter().skip(ATTR_SIZE).any(|&b| b != 0) {
            return -(E2BIG as i64);
        }
        let n = attr.len().min(ATTR_SIZE);
        let mut a = Attr { b: [0; ATTR_SIZE] };
        a.b[..n].copy_from_slice(&attr[..n]);
        let r = match cmd {
            cmd::MAP_CREATE => self.map_create(&a),
            cmd::MAP_LOOKUP_ELEM => self.map_lookup(&a, mem),
            cmd::MAP_UPDATE_ELEM => self.map_update(&a, mem),
            cmd::MAP_DELETE_ELEM => self.map_delete(&a, mem),
            cmd::MAP_GET_NEXT_KEY => self.map_get_next_key(&a, mem),
            cmd::MAP_FREEZE => self.map_freeze(&a),
            cmd::PROG_LOAD => self.prog_load(&mut a, n, mem),
            cmd::PROG_TEST_RUN => self.prog_test_run(&mut a, mem),
            cmd::RAW_TRACEPOINT_OPEN => self.raw_tracepoint_open(&a, mem),
            cmd::LINK_CREATE => self.link_create(&a, mem),
            cmd::LINK_DETACH => self.link_detach(&a),
            c if c <= cmd::LAST_LINUX => Err(EOPNOTSUPP),
            _ => Err(EINVAL),
        };
        attr[..n].copy_from_slice(&a.b[..n]);
        match r {
            Ok(v) => v,
            Err(e) => -(e as i64),
        }
    }

    /// Closes an fd (what `close(2)` does for bpf objects): a map's last user reference
    /// going empties a prog array, as Linux's `map_release_uref`; a program stays loaded
    /// while a link or prog array holds it.
    pub fn close(&self, fd: i32) -> Result<(), i32> {
        let f = self.files.lock().remove(&fd).ok_or(EBADF)?;
        match f {
            File::Map { id, map } => {
                if !self.files.lock().values().any(|f| matches!(f, File::Map { id: i, .. } if *i == id)) {
                    if let Some(pa) = map.prog_array() {
                        pa.clear();
                    }
                    self.rt.remove_map(id);
                }
            }
            File::Prog(p) => {
                if !self.files.lock().values().any(|f| matches!(f, File::Prog(q) if q.id == p.id)) {
                    self.orphans.lock().push(p.id);
                }
            }
            File::Link(links) => {
                for l in links {
                    let _ = self.rt.hooks.detach(l);
                }
            }
        }
        self.collect();
        Ok(())
    }

    /// Unloads programs without fds that no hook or prog array holds any more.
    fn collect(&self) {
        let mut orphans = self.orphans.lock();
        orphans.retain(|&id| {
            let held = self.rt.hooks.holds(id) || self.rt.prog_arrays_hold(id);
            if !held {
                self.rt.remove_program(id);
            }
            held
        });
    }

    /// The map behind an fd (for integrators and tests).
    pub fn map(&self, fd: i32) -> Option<Arc<Map>> {
        match self.files.lock().get(&fd)? {
            File::Map { map, .. } => Some(map.clone()),
            _ => None,
        }
    }

    /// The program behind an fd.
    pub fn program(&self, fd: i32) -> Option<Arc<LoadedProgram>> {
        match self.files.lock().get(&fd)? {
            File::Prog(p) => Some(p.clone()),
            _ => None,
        }
    }

    fn install(&self, f: File) -> i32 {
        let mut files = self.files.lock();
        let fd = (3..).find(|fd| !files.contains_key(fd)).expect("fewer than 2^31 files");
        files.insert(fd, f);
        fd
    }

    /// `__bpf_map_get`: not an fd → EBADF, an fd of something else → EINVAL.
    fn map_fd(&self, fd: u32) -> Res<Arc<Map>> {
        match self.files.lock().get(&(fd as i32)) {
            None => Err(EBADF),
            Some(File::Map { map, .. }) => Ok(map.clone()),
            Some(_) => Err(EINVAL),
        }
    }

    /// `bpf_prog_get`: not an fd → EBADF, an fd of something else → EINVAL.
    fn prog_fd(&self, fd: u32) -> Res<Arc<LoadedProgram>> {
        match self.files.lock().get(&(fd as i32)) {
            None => Err(EBADF),
            Some(File::Prog(p)) => Ok(p.clone()),
            Some(_) => Err(EINVAL),
        }
    }

    fn map_create(&self, a: &Attr) -> Res<i64> {
        // Last field: excl_prog_hash_size (u32 at 88).
        a.check_tail(92)?;
        let (btf_key, btf_value, btf_vmlinux) = (a.u32(52), a.u32(56), a.u32(60));
        if btf_vmlinux != 0 || (btf_key != 0 && btf_value == 0) {
            return Err(EINVAL);
        }
        if btf_key != 0 || btf_value != 0 {
            // No BTF objects exist here: the fd is either not open or not BTF.
            return Err(if self.files.lock().contains_key(&(a.u32(48) as i32)) { EINVAL } else { EBADF });
        }
        if a.u64(64) != 0 {
            return Err(EINVAL); // map_extra is for bloom filters and arenas
        }
        let flags = a.u32(16);
        if flags & create_flags::NUMA_NODE != 0 && a.u32(24) != 0 {
            return Err(EINVAL); // one NUMA node
        }
        if a.u32(44) != 0 || a.u64(80) != 0 || a.u32(88) != 0 {
            return Err(EINVAL); // device offload, exclusive maps: not here
        }
        let def = MapDef { map_type: a.u32(0), key_size: a.u32(4), value_size: a.u32(8), max_entries: a.u32(12), map_flags: flags };
        if def.map_type == crate::maps::map_type::STRUCT_OPS {
            return Err(EINVAL); // needs btf_vmlinux_value_type_id, the kernel's value type
        }
        // Linux allocates before it copies the name: allocation errors come first.
        let name = obj_name(&a.b[28..44]);
        let created = match crate::maps::is_map_in_map(def.map_type) {
            // bpf_map_meta_alloc: the template is an open map.
            true => self.rt.create_map_of_maps(name.as_deref().unwrap_or(""), def, &*self.map_fd(a.u32(20))?),
            false => self.rt.create_map(name.as_deref().unwrap_or(""), def),
        };
        let (id, map) = created.map_err(|e| e.errno)?;
        if let Err(e) = name {
            self.rt.remove_map(id);
            return Err(e);
        }
        Ok(self.install(File::Map { id, map }) as i64)
    }

    /// `__bpf_copy_key`: `key_size` bytes; a key pointer for a keyless map is EINVAL.
    fn copy_key(map: &Map, addr: u64, mem: &dyn UserMemory) -> Res<Vec<u8>> {
        let n = map.def().key_size as usize;
        if n == 0 && addr != 0 {
            return Err(EINVAL);
        }
        let mut k = vec![0; n];
        mem.read(addr, &mut k).map_err(fault)?;
        Ok(k)
    }

    fn can_read(map: &Map) -> Res<()> {
        match map.def().map_flags & create_flags::WRONLY {
            0 => Ok(()),
            _ => Err(EPERM),
        }
    }

    fn can_write(map: &Map) -> Res<()> {
        match map.def().map_flags & create_flags::RDONLY != 0 || map.is_frozen() {
            true => Err(EPERM),
            false => Ok(()),
        }
    }

    fn map_lookup(&self, a: &Attr, mem: &dyn UserMemory) -> Res<i64> {
        a.check_tail(32)?;
        let flags = a.u64(24);
        if flags & !BPF_F_LOCK != 0 {
            return Err(EINVAL);
        }
        let map = self.map_fd(a.u32(0))?;
        Self::can_read(&map)?;
        if flags & BPF_F_LOCK != 0 {
            return Err(EINVAL); // no bpf_spin_lock in any value
        }
        let key = Self::copy_key(&map, a.u64(8), mem)?;
        let mut value = vec![0; map.syscall_value_size()];
        map.lookup(&key, &mut value).map_err(|e| e.errno)?;
        mem.write(a.u64(16), &value).map_err(fault)?;
        Ok(0)
    }

    fn map_update(&self, a: &Attr, mem: &dyn UserMemory) -> Res<i64> {
        a.check_tail(32)?;
        let map = self.map_fd(a.u32(0))?;
        Self::can_write(&map)?;
        let flags = a.u64(24);
        if flags & BPF_F_LOCK != 0 {
            return Err(EINVAL);
        }
        let key = Self::copy_key(&map, a.u64(8), mem)?;
        let mut value = vec![0; map.syscall_value_size()];
        mem.read(a.u64(16), &mut value).map_err(fault)?;
        if let Some(pa) = map.prog_array() {
            // bpf_fd_array_map_update_elem: flags, then the index, then the fd.
            if flags != BPF_ANY {
                return Err(EINVAL);
            }
            if u32::from_ne_bytes(key[..4].try_into().expect("key_size 4")) >= pa.len() {
                return Err(E2BIG);
            }
            let prog = self.prog_fd(u32::from_ne_bytes(value[..4].try_into().expect("value_size 4")))?;
            value.copy_from_slice(&prog.id.to_ne_bytes());
        }
        if let Some(outer) = map.of_maps() {
            // An array checks its flags and index before the fd, as a prog array does.
            if outer.is_array() && flags != BPF_ANY {
                return Err(EINVAL);
            }
            if !outer.index_ok(&key) {
                return Err(E2BIG);
            }
            let fd = u32::from_ne_bytes(value[..4].try_into().expect("value_size 4"));
            let (id, inner) = match self.files.lock().get(&(fd as i32)) {
                None => return Err(EBADF),
                Some(File::Map { id, map }) => (*id, map.clone()),
                Some(_) => return Err(EINVAL),
            };
            return map.update_inner(&key, id, &inner, flags).map(|()| 0).map_err(|e| e.errno);
        }
        map.update(&key, &value, flags).map_err(|e| e.errno)?;
        Ok(0)
    }

    fn map_delete(&self, a: &Attr, mem: &dyn UserMemory) -> Res<i64> {
        a.check_tail(16)?;
        let map = self.map_fd(a.u32(0))?;
        Self::can_write(&map)?;
        let key = Self::copy_key(&map, a.u64(8), mem)?;
        map.delete(&key).map_err(|e| e.errno)?;
        if map.prog_array().is_some() {
            self.collect();
        }
        Ok(0)
    }

    fn map_get_next_key(&self, a: &Attr, mem: &dyn UserMemory) -> Res<i64> {
        a.check_tail(24)?;
        let map = self.map_fd(a.u32(0))?;
        Self::can_read(&map)?;
        let key = match a.u64(8) {
            0 => None,
            addr => Some(Self::copy_key(&map, addr, mem)?),
        };
        let mut next = vec![0; map.def().key_size as usize];
        map.get_next_key(key.as_deref(), &mut next).map_err(|e| e.errno)?;
        mem.write(a.u64(16), &next).map_err(fault)?;
        Ok(0)
    }

    fn map_freeze(&self, a: &Attr) -> Res<i64> {
        a.check_tail(4)?;
        let map = self.map_fd(a.u32(0))?;
        // A frozen map has lost write access, so a second freeze is EPERM, as in Linux.
        Self::can_write(&map)?;
        map.freeze().map_err(|e| e.errno)?;
        Ok(0)
    }

    fn prog_load(&self, a: &mut Attr, size: usize, mem: &dyn UserMemory) -> Res<i64> {
        let (level, log_size, log_buf) = (a.u32(24), a.u32(28), a.u64(32));
        // bpf_vlog_init's rules.
        if level == 0 && (log_buf != 0 || log_size != 0) || level & !LOG_MASK != 0 || level != 0 && (log_buf == 0 || log_size == 0) || log_size > u32::MAX >> 2 {
            return Err(EINVAL);
        }
        let mut log = String::new();
        let r = self.prog_load_inner(a, mem, &mut log);
        if level == 0 {
            return r;
        }
        // The log is written whatever the outcome; a log that does not fit keeps its
        // tail (its head with BPF_LOG_FIXED) and turns the result into ENOSPC.
        let total = log.len() + 1;
        let room = log_size as usize;
        let mut out: Vec<u8> = log.into_bytes();
        let truncated = total > room;
        if truncated {
            out = if level & LOG_FIXED != 0 { out[..room - 1].to_vec() } else { out[total - room..].to_vec() };
        }
        out.push(0);
        if mem.write(log_buf, &out).is_err() {
            if let Ok(fd) = r {
                let _ = self.close(fd as i32);
            }
            return Err(EFAULT);
        }
        // log_true_size (u32 at 140) is written when the caller's attr has it.
        if size >= 144 {
            a.set_u32(140, total as u32);
        }
        match (r, truncated) {
            (Ok(fd), true) => {
                let _ = self.close(fd as i32);
                Err(ENOSPC)
            }
            (_, true) => Err(ENOSPC),
            (r, false) => r,
        }
    }

    fn prog_load_inner(&self, a: &Attr, mem: &dyn UserMemory, log: &mut dyn LogSink) -> Res<i64> {
        let Some(prog_type) = ProgType::from_u32(a.u32(0)) else {
            return Err(EINVAL);
        };
        let prog_flags = a.u32(44);
        if prog_flags & !PROG_FLAGS != 0 {
            return Err(EINVAL);
        }
        let sleepable = prog_flags & BPF_F_SLEEPABLE != 0;
        if sleepable && !matches!(prog_type, ProgType::Syscall | ProgType::Kprobe) {
            return Err(EINVAL);
        }
        let insn_cnt = a.u32(4);
        if insn_cnt == 0 || insn_cnt as usize > MAX_SLOTS {
            return Err(E2BIG);
        }
        let license = read_str(mem, a.u64(16), 128)?.ok_or(EINVAL)?;
        let name = obj_name(&a.b[48..64])?;
        // BTF, func/line info, CO-RE relocations, attach targets, tokens and signatures
        // need BTF objects, which this runtime does not have.
        let unsupported = [(72, "prog_btf_fd"), (88, "func_info_cnt"), (104, "line_info_cnt"), (108, "attach_btf_id"), (112, "attach_prog_fd"), (116, "core_relo_cnt"), (144, "prog_token_fd"), (160, "signature_size")];
        if let Some((_, what)) = unsupported.iter().find(|(off, _)| a.u32(*off) != 0) {
            log.line(&format!("rvbpf: {what} is not supported (no BTF objects)"));
            return Err(EINVAL);
        }
        if a.u32(64) != 0 {
            return Err(EINVAL); // prog_ifindex: no offload devices
        }
        let mut bytes = vec![0u8; insn_cnt as usize * 8];
        mem.read(a.u64(8), &mut bytes).map_err(fault)?;
        let insns: Vec<RawInsn> = bytes.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().expect("8 bytes"))).collect();
        if prog_type == ProgType::Syscall && !sleepable {
            log.line("Syscall programs can only be sleepable");
            return Err(EINVAL);
        }
        let (fd_array, fd_array_cnt) = (a.u64(120), a.u32(148));
        let resolve = |r: MapRef| -> Result<Arc<Map>, MapRefError> {
            let fd = match r {
                MapRef::Fd(fd) => fd,
                MapRef::Index(i) => {
                    let bad = |errno, reason| MapRefError { errno, reason };
                    if fd_array == 0 || fd_array_cnt != 0 && i >= fd_array_cnt {
                        return Err(bad(EINVAL, format!("fd_idx without fd_array is invalid, or index {i} is past fd_array_cnt")));
                    }
                    let mut b = [0u8; 4];
                    let at = user_at(fd_array, 4 * i as u64).map_err(|e| bad(e, format!("fd_array[{i}] is past the top of the address space")))?;
                    mem.read(at, &mut b).map_err(|_| bad(EFAULT, format!("fd_array[{i}] is not readable")))?;
                    i32::from_ne_bytes(b)
                }
            };
            self.map_fd(fd as u32).map_err(|errno| MapRefError { errno, reason: format!("fd {fd} is not pointing to valid bpf_map") })
        };
        let attach = a.u32(68);
        if !prog_type.accepts_attach(attach) {
            log.line(&format!("rvbpf: expected_attach_type {attach} is not one a {} program can have", prog_type.name()));
            return Err(EINVAL);
        }
        let req = ProgramLoad { name: &name, prog_type, attach: Some(attach), insns: &insns, license: &license, functions: &[], maps: &resolve, returns_void: false, log_level: verifier_level(a.u32(24)) };
        // The stages write what they checked, or why they refused, to the log.
        let p = self.rt.load_program_logged(&req, log).map_err(|e| e.errno())?;
        Ok(self.install(File::Prog(p)) as i64)
    }

    fn prog_test_run(&self, a: &mut Attr, mem: &dyn UserMemory) -> Res<i64> {
        // Last field: batch_size (u32 at 72).
        a.check_tail(76)?;
        let (data_size_in, data_size_out, data_in, data_out) = (a.u32(8), a.u32(12), a.u64(16), a.u64(24));
        let (repeat, ctx_size_in, ctx_size_out, ctx_in, ctx_out) = (a.u32(32), a.u32(40), a.u32(44), a.u64(48), a.u64(56));
        let (flags, cpu, batch) = (a.u32(64), a.u32(68), a.u32(72));
        if (ctx_size_in != 0) != (ctx_in != 0) || (ctx_size_out != 0) != (ctx_out != 0) {
            return Err(EINVAL);
        }
        let prog = self.prog_fd(a.u32(0))?;
        // Pinning a run to a CPU is not offered: the runtime places runs.
        if flags != 0 || cpu != 0 || batch != 0 {
            return Err(EINVAL);
        }
        let read = |addr: u64, len: u32| -> Res<Vec<u8>> {
            let mut v = vec![0u8; len as usize];
            mem.read(addr, &mut v).map_err(fault)?;
            Ok(v)
        };
        let runs = repeat.max(1);
        let opts = RunConfig::default();
        let mut retval = 0u64;
        let t0 = self.rt.kernel().ktime_ns();
        let mut run = |ctx: &mut Context| -> Res<()> {
            for _ in 0..runs {
                retval = self.rt.run(&prog, ctx, &opts).map_err(|_| EINVAL)?.r0;
            }
            Ok(())
        };
        // What the run leaves for the caller: (data out, ctx out).
        let (data, ctx): (Option<Vec<u8>>, Option<Vec<u8>>) = match prog.prog_type {
            ProgType::Xdp | ProgType::SocketFilter => {
                if ctx_size_in != 0 || ctx_size_out != 0 {
                    return Err(EINVAL); // xdp_md / __sk_buff input is not offered
                }
                if data_size_in < ETH_HLEN {
                    return Err(EINVAL);
                }
                let packet = if prog.prog_type == ProgType::Xdp {
                    // The linear part, then a page per fragment, as Linux reads them.
                    let linear = data_size_in.min(XDP_LINEAR_MAX);
                    let mut packet = read(data_in, linear)?;
                    let mut frags = 0;
                    while (packet.len() as u32) < data_size_in {
                        if frags == XDP_MAX_FRAGS {
                            return Err(ENOMEM);
                        }
                        let at = packet.len() as u32;
                        packet.extend(read(user_at(data_in, at as u64)?, (data_size_in - at).min(PAGE_SIZE as u32))?);
                        frags += 1;
                    }
                    run(&mut Context::Xdp { packet: &mut packet[..linear as usize], ingress_ifindex: 1, rx_queue_index: 0 })?;
                    packet
                } else {
                    if data_size_in > SKB_DATA_MAX {
                        return Err(EINVAL);
                    }
                    let mut packet = read(data_in, data_size_in)?;
                    // An IP packet must hold its fixed header (20 bytes for IPv4, 40 for IPv6).
                    let ip_header = match u16::from_be_bytes([packet[12], packet[13]]) {
                        0x0800 => 20,
                        0x86dd => 40,
                        _ => 0,
                    };
                    if data_size_in < ETH_HLEN + ip_header {
                        return Err(EINVAL);
                    }
                    run(&mut Context::skb_from_ethernet(&packet))?;
                    // A socket filter sees no link layer: Linux gives the header back zeroed.
                    packet[..ETH_HLEN as usize].fill(0);
                    packet
                };
                (Some(packet), None)
            }
            ProgType::Syscall => {
                if data_in != 0 || data_out != 0 || ctx_out != 0 || repeat != 0 || ctx_size_in > u16::MAX as u32 {
                    return Err(EINVAL);
                }
                let mut ctx = read(ctx_in, ctx_size_in)?;
                run(&mut Context::Raw(&mut ctx))?;
                // The context goes back where it came from.
                mem.write(ctx_in, &ctx).map_err(fault)?;
                (None, None)
            }
            ProgType::RawTracepoint => {
                if data_in != 0 || data_out != 0 || ctx_out != 0 || repeat != 0 || ctx_size_in > 12 * 8 || ctx_size_in % 8 != 0 {
                    return Err(EINVAL);
                }
                let args: Vec<u64> = read(ctx_in, ctx_size_in)?.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes"))).collect();
                run(&mut Context::RawTracepoint(&args))?;
                (None, None)
            }
            ProgType::Kprobe | ProgType::PerfEvent => {
                // rvbpf's extension: the caller supplies the registers.
                if data_in != 0 || data_out != 0 {
                    return Err(EINVAL);
                }
                // bpf_ctx_init: a context past a page is E2BIG unread; past the struct,
                // its tail must be zero.
                if ctx_size_in as usize > PAGE_SIZE {
                    return Err(E2BIG);
                }
                let mut raw = read(ctx_in, ctx_size_in)?;
                if raw.iter().skip(PtRegs::SIZE).any(|&b| b != 0) {
                    return Err(E2BIG);
                }
                raw.resize(PtRegs::SIZE, 0);
                let regs = PtRegs::from_bytes(&raw);
                run(&mut Context::Kprobe(&regs))?;
                (None, Some(raw))
            }
            ProgType::Tracepoint => {
                if data_in != 0 || data_out != 0 {
                    return Err(EINVAL);
                }
                if ctx_size_in > TRACE_RECORD_MAX {
                    return Err(E2BIG);
                }
                let rec = read(ctx_in, ctx_size_in)?;
                run(&mut Context::Tracepoint(&rec))?;
                (None, Some(rec))
            }
            // The types the runtime verifies but does not run (`not_runnable` in their row).
            _ => return Err(ENOTSUPP),
        };
        let duration = ((self.rt.kernel().ktime_ns() - t0) / runs as u64).min(u32::MAX as u64) as u32;
        // bpf_test_finish: a short output buffer gets what fits and ENOSPC; a size of 0
        // means the buffer takes it all (the ABI before data_size_out was checked).
        let mut short = false;
        if let Some(d) = data {
            if data_out != 0 {
                let n = if data_size_out == 0 { d.len() } else { d.len().min(data_size_out as usize) };
                short |= n < d.len();
                mem.write(data_out, &d[..n]).map_err(fault)?;
            }
            a.set_u32(12, d.len() as u32);
        }
        if let (Some(c), true) = (ctx, ctx_out != 0) {
            let n = c.len().min(ctx_size_out as usize);
            short |= n < c.len();
            mem.write(ctx_out, &c[..n]).map_err(fault)?;
            a.set_u32(44, c.len() as u32);
        }
        a.set_u32(4, retval as u32);
        if matches!(prog.prog_type, ProgType::Xdp | ProgType::SocketFilter | ProgType::Kprobe | ProgType::PerfEvent | ProgType::Tracepoint) {
            a.set_u32(36, duration);
        }
        match short {
            true => Err(ENOSPC),
            false => Ok(0),
        }
    }

    /// `BPF_RAW_TRACEPOINT_OPEN`: attaches a raw_tracepoint program to the hook point
    /// `raw_tracepoint/NAME`; returns a link fd.
    fn raw_tracepoint_open(&self, a: &Attr, mem: &dyn UserMemory) -> Res<i64> {
        // Last field: cookie (u64 at 16).
        a.check_tail(24)?;
        let prog = self.prog_fd(a.u32(8))?;
        if prog.prog_type != ProgType::RawTracepoint {
            return Err(EINVAL);
        }
        let name = read_str(mem, a.u64(0), 128)?.ok_or(EINVAL)?;
        let link = self.rt.hooks.attach(&format!("raw_tracepoint/{name}"), prog).map_err(|e| e.errno())?;
        Ok(self.install(File::Link(vec![link])) as i64)
    }

    /// `BPF_LINK_CREATE` with `BPF_TRACE_KPROBE_MULTI`: attaches a kprobe program to the
    /// hook points `kprobe/SYM` (`kretprobe/SYM` with `BPF_F_KPROBE_MULTI_RETURN`) for
    /// each symbol of `kprobe_multi.syms`; all or none. Returns a link fd.
    fn link_create(&self, a: &Attr, mem: &dyn UserMemory) -> Res<i64> {
        // Last field of the kprobe_multi form: cookies (u64 at 40).
        a.check_tail(48)?;
        let prog = self.prog_fd(a.u32(0))?;
        if a.u32(8) != attach_type::TRACE_KPROBE_MULTI {
            return Err(EINVAL);
        }
        if a.u32(4) != 0 || a.u32(12) != 0 || prog.prog_type != ProgType::Kprobe {
            return Err(EINVAL);
        }
        let (kflags, cnt, syms) = (a.u32(16), a.u32(20), a.u64(24));
        if kflags & !KPROBE_MULTI_RETURN != 0 || cnt == 0 || syms == 0 || a.u64(32) != 0 || a.u64(40) != 0 {
            return Err(EINVAL); // addresses and cookies are not offered
        }
        if cnt > 1 << 20 {
            return Err(E2BIG); // MAX_KPROBE_MULTI_CNT
        }
        let kind = if kflags & KPROBE_MULTI_RETURN != 0 { "kretprobe" } else { "kprobe" };
        let mut links = Vec::new();
        for i in 0..cnt as u64 {
            let mut p = [0u8; 8];
            let got = mem.read(syms + 8 * i, &mut p).map_err(fault).and_then(|_| read_str(mem, u64::from_ne_bytes(p), 128)?.ok_or(E2BIG));
            let attached = got.and_then(|sym| self.rt.hooks.attach(&format!("{kind}/{sym}"), prog.clone()).map_err(|e| e.errno()));
            match attached {
                Ok(l) => links.push(l),
                Err(e) => {
                    for l in links {
                        let _ = self.rt.hooks.detach(l);
                    }
                    return Err(e);
                }
            }
        }
        Ok(self.install(File::Link(links)) as i64)
    }

    /// `BPF_LINK_DETACH`: the link stays open but holds nothing.
    fn link_detach(&self, a: &Attr) -> Res<i64> {
        a.check_tail(4)?;
        let mut files = self.files.lock();
        let Some(File::Link(links)) = files.get_mut(&(a.u32(0) as i32)) else {
            return Err(if files.contains_key(&(a.u32(0) as i32)) { EINVAL } else { EBADF });
        };
        for l in core::mem::take(links) {
            let _ = self.rt.hooks.detach(l);
        }
        drop(files);
        self.collect();
        Ok(0)
    }
}

#[cfg(test)]
mod tests;
