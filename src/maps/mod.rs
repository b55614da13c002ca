//! BPF maps with Linux semantics.
//!
//! Every map is preallocated at creation, so a value pointer handed to a program stays
//! valid while its element exists and a JIT'd program can hold it (as with Linux's
//! default, preallocated hash maps). Each operation fails with the errno Linux gives for
//! the same call; [`MapError::errno`] returns it.
//!
//! Two views of each map:
//! - the **syscall view** (`lookup`, `update`, `delete`, `get_next_key`) copies keys and
//!   values in and out; per-CPU maps take and give `round_up(value_size, 8) × ncpus`
//!   bytes, CPU 0 first;
//! - the **program view** (`prog_lookup`, `prog_update`, `prog_delete`) works on the
//!   current CPU's slot and returns value addresses.
//!
//! Concurrency: updates to one element are serialised (hash maps swap in a fresh element,
//! so readers never see half of an update); the bytes of a value a program writes through
//! its pointer are not locked, exactly as in Linux: programs use atomics for counters.

mod array;
mod hash;
mod of_maps;
mod ringbuf;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::errno::*;
use crate::mem::Region;

pub use array::{ArrayMap, ProgArray};
pub use hash::HashMap;
pub use of_maps::{is_map_in_map, OfMaps};
pub use ringbuf::RingBuf;

/// `enum bpf_map_type` values rvbpf implements.
pub mod map_type {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const LRU_HASH: u32 = 9;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
    pub const STRUCT_OPS: u32 = 26;
    pub const RINGBUF: u32 = 27;

    /// The kernel's name of a map type, for listings.
    pub fn name(t: u32) -> &'static str {
        match t {
            HASH => "hash",
            ARRAY => "array",
            PROG_ARRAY => "prog_array",
            PERCPU_HASH => "percpu_hash",
            PERCPU_ARRAY => "percpu_array",
            LRU_HASH => "lru_hash",
            RINGBUF => "ringbuf",
            4 => "perf_event_array",
            10 => "lru_percpu_hash",
            11 => "lpm_trie",
            ARRAY_OF_MAPS => "array_of_maps",
            HASH_OF_MAPS => "hash_of_maps",
            22 => "queue",
            23 => "stack",
            STRUCT_OPS => "struct_ops",
            _ => "unknown",
        }
    }
}

/// Map creation flags (`BPF_F_*`).
pub mod create_flags {
    pub const NO_PREALLOC: u32 = 1 << 0;
    pub const NO_COMMON_LRU: u32 = 1 << 1;
    pub const NUMA_NODE: u32 = 1 << 2;
    pub const RDONLY: u32 = 1 << 3;
    pub const WRONLY: u32 = 1 << 4;
    pub const ZERO_SEED: u32 = 1 << 6;
    pub const RDONLY_PROG: u32 = 1 << 7;
    pub const WRONLY_PROG: u32 = 1 << 8;
    pub const MMAPABLE: u32 = 1 << 10;
    pub const PRESERVE_ELEMS: u32 = 1 << 11;
    pub const INNER_MAP: u32 = 1 << 12;
    pub const LINK: u32 = 1 << 13;
    pub(crate) const ACCESS: u32 = RDONLY | WRONLY | RDONLY_PROG | WRONLY_PROG;
}

/// rvbpf's bound on one map's preallocated memory; larger maps fail with ENOMEM, as a
/// kernel whose allocation fails would.
pub const MAX_MAP_BYTES: u64 = 1 << 30;

/// Maps one program may use (the kernel's `MAX_USED_MAPS`).
pub const MAX_USED_MAPS: usize = 64;

/// Update flags.
pub const BPF_ANY: u64 = 0;
pub const BPF_NOEXIST: u64 = 1;
pub const BPF_EXIST: u64 = 2;
pub const BPF_F_LOCK: u64 = 4;

/// What a map is: the fields of `BPF_MAP_CREATE` that rvbpf reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapDef {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
}

/// A map operation that failed, with Linux's errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} ({})", name(*errno))]
pub struct MapError {
    pub errno: i32,
    pub what: &'static str,
}

impl MapError {
    pub(crate) const fn new(errno: i32, what: &'static str) -> MapError {
        MapError { errno, what }
    }
    pub fn errno(&self) -> i32 {
        self.errno
    }
}

pub(crate) fn err<T>(errno: i32, what: &'static str) -> Result<T, MapError> {
    Err(MapError::new(errno, what))
}

/// Zeroed, 8-byte aligned bytes at a fixed address that several threads and running
/// programs read and write. Like kernel memory, it is shared without a lock; callers
/// serialise what must be serialised.
pub(crate) struct Slab {
    words: Box<[UnsafeCell<u64>]>,
}

// SAFETY: all access goes through raw pointers with the map's own locking discipline.
unsafe impl Sync for Slab {}
unsafe impl Send for Slab {}

impl Slab {
    /// `bytes` zeroed bytes, or ENOMEM when the allocation fails. The allocation is
    /// zeroed by the allocator, so untouched pages of a large map cost nothing.
    pub(crate) fn zeroed(bytes: u64) -> Result<Slab, MapError> {
        if bytes > MAX_MAP_BYTES {
            return err(ENOMEM, "map exceeds rvbpf's per-map memory bound");
        }
        let words = usize::try_from(bytes.div_ceil(8).max(1)).map_err(|_| MapError::new(ENOMEM, "map memory does not fit in the address space"))?;
        let layout = core::alloc::Layout::array::<u64>(words).map_err(|_| MapError::new(ENOMEM, "map memory does not fit in the address space"))?;
        // SAFETY: the layout is non-zero sized; a null return is handled; UnsafeCell<u64>
        // has u64's layout and all-zero bytes are a valid value.
        let words = unsafe {
            let p = alloc::alloc::alloc_zeroed(layout) as *mut UnsafeCell<u64>;
            if p.is_null() {
                return err(ENOMEM, "cannot allocate map memory");
            }
            Box::from_raw(core::ptr::slice_from_raw_parts_mut(p, words))
        };
        Ok(Slab { words })
    }
    pub(crate) fn base(&self) -> *mut u8 {
        self.words.as_ptr() as *mut u8
    }
    pub(crate) fn len(&self) -> usize {
        self.words.len() * 8
    }
    pub(crate) fn addr(&self, off: usize) -> u64 {
        self.base() as u64 + off as u64
    }
    /// Copies `out.len()` bytes at `off` out. `off + out.len()` must be in bounds.
    pub(crate) fn read(&self, off: usize, out: &mut [u8]) {
        assert!(off + out.len() <= self.len());
        // SAFETY: bounds checked above; shared memory semantics as documented on Slab.
        unsafe { core::ptr::copy_nonoverlapping(self.base().add(off), out.as_mut_ptr(), out.len()) }
    }
    pub(crate) fn write(&self, off: usize, bytes: &[u8]) {
        assert!(off + bytes.len() <= self.len());
        // SAFETY: as in `read`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base().add(off), bytes.len()) }
    }
    pub(crate) fn zero(&self, off: usize, len: usize) {
        assert!(off + len <= self.len());
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_bytes(self.base().add(off), 0, len) }
    }
}

pub(crate) fn round8(n: u32) -> usize {
    (n as usize).div_ceil(8) * 8
}

/// The storage behind a map.
pub enum Storage {
    Array(ArrayMap),
    Hash(HashMap),
    ProgArray(ProgArray),
    RingBuf(RingBuf),
    OfMaps(OfMaps),
}

/// One BPF map.
pub struct Map {
    name: String,
    def: MapDef,
    ncpus: u32,
    frozen: AtomicBool,
    storage: Storage,
}

impl core::fmt::Debug for Map {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Map").field("name", &self.name).field("def", &self.def).finish()
    }
}

/// Checks a map name like the kernel (`bpf_obj_name_cpy`): at most 15 characters of
/// `[A-Za-z0-9_.]`.
pub fn valid_name(name: &str) -> bool {
    name.len() < 16 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

impl Map {
    /// Creates a map as `BPF_MAP_CREATE` would, with `ncpus` possible CPUs for per-CPU maps.
    /// A map-in-map needs its inner template: [`Map::create_of_maps`].
    pub fn create(name: &str, def: MapDef, ncpus: u32) -> Result<Map, MapError> {
        Self::check_create(name, &def)?;
        let ncpus = ncpus.max(1);
        let storage = match def.map_type {
            map_type::ARRAY | map_type::PERCPU_ARRAY => Storage::Array(ArrayMap::new(&def, ncpus)?),
            map_type::PROG_ARRAY => Storage::ProgArray(ProgArray::new(&def)?),
            map_type::HASH | map_type::PERCPU_HASH | map_type::LRU_HASH => Storage::Hash(HashMap::new(&def, ncpus)?),
            map_type::RINGBUF => Storage::RingBuf(RingBuf::new(&def)?),
            // Its one value is the struct's bytes; nothing here registers or attaches it.
            map_type::STRUCT_OPS => {
                if def.key_size != 4 || def.max_entries != 1 || def.map_flags & !create_flags::LINK != 0 {
                    return err(EINVAL, "a struct_ops map has key_size 4, max_entries 1 and no flag but BPF_F_LINK");
                }
                Storage::Array(ArrayMap::new(&MapDef { map_type: map_type::ARRAY, map_flags: 0, ..def }, ncpus)?)
            }
            t if is_map_in_map(t) => return err(EINVAL, "a map-in-map needs an inner map as its template (inner_map_fd)"),
            _ => return err(EINVAL, "map type not supported"),
        };
        Ok(Map { name: name.into(), def, ncpus, frozen: AtomicBool::new(false), storage })
    }

    /// Creates an array or hash of maps whose elements must match `inner`
    /// (`BPF_MAP_CREATE` with `inner_map_fd`).
    pub fn create_of_maps(name: &str, def: MapDef, inner: &Map, ncpus: u32) -> Result<Map, MapError> {
        Self::check_create(name, &def)?;
        if !is_map_in_map(def.map_type) {
            return err(EINVAL, "only a map-in-map takes an inner map");
        }
        let storage = Storage::OfMaps(OfMaps::new(&def, inner)?);
        Ok(Map { name: name.into(), def, ncpus: ncpus.max(1), frozen: AtomicBool::new(false), storage })
    }

    /// What every map type checks first: the name and the flag combinations.
    fn check_create(name: &str, def: &MapDef) -> Result<(), MapError> {
        use create_flags::*;
        if !valid_name(name) {
            return err(EINVAL, "map name must be at most 15 characters of [A-Za-z0-9_.]");
        }
        let f = def.map_flags;
        if f & RDONLY != 0 && f & WRONLY != 0 || f & RDONLY_PROG != 0 && f & WRONLY_PROG != 0 {
            return err(EINVAL, "read-only and write-only flags together");
        }
        if matches!(def.map_type, map_type::PERCPU_ARRAY | map_type::PERCPU_HASH) && f & NUMA_NODE != 0 {
            return err(EINVAL, "per-CPU maps cannot be bound to a NUMA node");
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn def(&self) -> &MapDef {
        &self.def
    }
    pub fn ncpus(&self) -> u32 {
        self.ncpus
    }
    pub fn storage(&self) -> &Storage {
        &self.storage
    }
    pub fn is_percpu(&self) -> bool {
        matches!(self.def.map_type, map_type::PERCPU_ARRAY | map_type::PERCPU_HASH)
    }
    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::Acquire)
    }
    pub fn ringbuf(&self) -> Option<&RingBuf> {
        match &self.storage {
            Storage::RingBuf(r) => Some(r),
            _ => None,
        }
    }
    pub fn prog_array(&self) -> Option<&ProgArray> {
        match &self.storage {
            Storage::ProgArray(p) => Some(p),
            _ => None,
        }
    }
    /// The elements of an array or hash of maps.
    pub fn of_maps(&self) -> Option<&OfMaps> {
        match &self.storage {
            Storage::OfMaps(o) => Some(o),
            _ => None,
        }
    }

    /// Bytes the syscall view takes and gives per value.
    pub fn syscall_value_size(&self) -> usize {
        match &self.storage {
            Storage::Array(_) | Storage::Hash(_) if self.is_percpu() => round8(self.def.value_size) * self.ncpus as usize,
            _ => self.def.value_size as usize,
        }
    }

    /// Syscall reads: not on write-only maps; ring buffers have no elements.
    fn user_may_read(&self) -> Result<(), MapError> {
        if self.def.map_flags & create_flags::WRONLY != 0 {
            return err(EPERM, "map is write-only for user space");
        }
        if let Storage::RingBuf(_) = self.storage {
            return err(ENOTSUPP, "ring buffers have no elements or keys");
        }
        Ok(())
    }

    /// Syscall writes: not on read-only or frozen maps; ring buffers have no elements.
    fn user_may_write(&self) -> Result<(), MapError> {
        if self.def.map_flags & create_flags::RDONLY != 0 || self.is_frozen() {
            return err(EPERM, "map is read-only for user space (frozen or BPF_F_RDONLY)");
        }
        if let Storage::RingBuf(_) = self.storage {
            return err(ENOTSUPP, "ring buffers have no elements to change");
        }
        Ok(())
    }

    fn check_key(&self, key: &[u8]) -> Result<(), MapError> {
        if key.len() != self.def.key_size as usize {
            return err(EINVAL, "key has the wrong size");
        }
        Ok(())
    }

    /// `BPF_MAP_LOOKUP_ELEM`: copies the value of `key` into `out`.
    pub fn lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        self.user_may_read()?;
        self.check_key(key)?;
        if out.len() != self.syscall_value_size() {
            return err(EINVAL, "value buffer has the wrong size");
        }
        match &self.storage {
            Storage::Array(a) => a.lookup(key, out),
            Storage::Hash(h) => h.lookup(key, out),
            Storage::ProgArray(p) => p.lookup(key, out),
            Storage::OfMaps(o) => o.lookup(key, out),
            Storage::RingBuf(_) => unreachable!(),
        }
    }

    /// `BPF_MAP_UPDATE_ELEM`. For a prog array the value is a program id (the bpf()
    /// layer turns the caller's fd into it); a map-in-map takes a map:
    /// [`Map::update_inner`].
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.user_may_write()?;
        if flags & BPF_F_LOCK != 0 {
            return err(EINVAL, "BPF_F_LOCK needs a bpf_spin_lock in the value");
        }
        self.check_key(key)?;
        if value.len() != self.syscall_value_size() {
            return err(EINVAL, "value has the wrong size");
        }
        match &self.storage {
            Storage::Array(a) => a.update(key, value, flags, None),
            Storage::Hash(h) => h.update(key, value, flags, None),
            Storage::ProgArray(p) => p.update(key, value, flags),
            Storage::OfMaps(_) => err(EINVAL, "a map-in-map's value is a map: update it with one"),
            Storage::RingBuf(_) => unreachable!(),
        }
    }

    /// `BPF_MAP_UPDATE_ELEM` of a map-in-map: puts `inner`, whose id is `id`, at `key`
    /// (the bpf() layer turns the caller's fd into both).
    pub fn update_inner(&self, key: &[u8], id: u32, inner: &Arc<Map>, flags: u64) -> Result<(), MapError> {
        self.user_may_write()?;
        self.check_key(key)?;
        match &self.storage {
            Storage::OfMaps(o) => o.update(key, id, inner, flags),
            _ => err(EINVAL, "not a map-in-map: its values are bytes"),
        }
    }

    /// `BPF_MAP_DELETE_ELEM`.
    pub fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.user_may_write()?;
        self.check_key(key)?;
        match &self.storage {
            Storage::Array(_) => err(EINVAL, "array elements cannot be deleted"),
            Storage::Hash(h) => h.delete(key),
            Storage::ProgArray(p) => p.delete(key),
            Storage::OfMaps(o) => o.delete(key),
            Storage::RingBuf(_) => unreachable!(),
        }
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first key when `key` is `None`
    /// or not in the map); ENOENT after the last.
    pub fn get_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        self.user_may_read()?;
        if let Some(k) = key {
            self.check_key(k)?;
        }
        if out.len() != self.def.key_size as usize {
            return err(EINVAL, "key buffer has the wrong size");
        }
        match &self.storage {
            Storage::Array(a) => a.get_next_key(key, out),
            Storage::ProgArray(p) => p.get_next_key(key, out),
            Storage::Hash(h) => h.get_next_key(key, out),
            Storage::OfMaps(o) => o.get_next_key(key, out),
            Storage::RingBuf(_) => unreachable!(),
        }
    }

    /// `BPF_MAP_FREEZE`: user space can no longer write. A second freeze is EBUSY.
    pub fn freeze(&self) -> Result<(), MapError> {
        if self.def.map_flags & create_flags::RDONLY != 0 {
            return err(EPERM, "freezing needs write access and the map is BPF_F_RDONLY");
        }
        if self.frozen.swap(true, Ordering::AcqRel) {
            return err(EBUSY, "map already frozen");
        }
        Ok(())
    }

    /// All keys, in `get_next_key` order.
    pub fn keys(&self) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        let mut next = alloc::vec![0u8; self.def.key_size as usize];
        // Bounded: a map never holds more than max_entries keys.
        for _ in 0..=self.def.max_entries {
            if self.get_next_key(cur.as_deref(), &mut next).is_err() {
                break;
            }
            keys.push(next.clone());
            cur = Some(next.clone());
        }
        keys
    }

    /// Program view: address of the current CPU's value for `key`, or `None` (the
    /// helper returns NULL). `key` has already been read from program memory. A
    /// map-in-map's lookup is the inner map: [`OfMaps::get`].
    pub fn prog_lookup(&self, key: &[u8], cpu: u32) -> Option<u64> {
        if key.len() != self.def.key_size as usize {
            return None;
        }
        match &self.storage {
            Storage::Array(a) => a.prog_lookup(key, cpu),
            Storage::Hash(h) => h.prog_lookup(key, cpu),
            Storage::ProgArray(_) | Storage::RingBuf(_) | Storage::OfMaps(_) => None,
        }
    }

    /// Program view of update: writes the current CPU's value (a per-CPU hash insert
    /// zeroes the other CPUs' values, as Linux does).
    pub fn prog_update(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<(), MapError> {
        if self.def.map_flags & create_flags::RDONLY_PROG != 0 {
            return err(EPERM, "map is read-only for programs");
        }
        if flags & BPF_F_LOCK != 0 {
            return err(EINVAL, "BPF_F_LOCK needs a bpf_spin_lock in the value");
        }
        if key.len() != self.def.key_size as usize || value.len() != self.def.value_size as usize {
            return err(EINVAL, "key or value has the wrong size");
        }
        match &self.storage {
            Storage::Array(a) => a.update(key, value, flags, Some(cpu)),
            Storage::Hash(h) => h.update(key, value, flags, Some(cpu)),
            Storage::ProgArray(_) | Storage::RingBuf(_) | Storage::OfMaps(_) => err(EOPNOTSUPP, "programs cannot update this map type"),
        }
    }

    /// Program view of delete.
    pub fn prog_delete(&self, key: &[u8]) -> Result<(), MapError> {
        if self.def.map_flags & create_flags::RDONLY_PROG != 0 {
            return err(EPERM, "map is read-only for programs");
        }
        if key.len() != self.def.key_size as usize {
            return err(EINVAL, "key has the wrong size");
        }
        match &self.storage {
            Storage::Array(_) => err(EINVAL, "array elements cannot be deleted"),
            Storage::Hash(h) => h.delete(key),
            Storage::ProgArray(_) | Storage::RingBuf(_) | Storage::OfMaps(_) => err(EOPNOTSUPP, "programs cannot delete from this map type"),
        }
    }

    /// Address of the value of a one-element array at `off` (`BPF_PSEUDO_MAP_VALUE`), as
    /// Linux's `map_direct_value_addr`: only arrays with `max_entries == 1`.
    pub fn direct_value_addr(&self, off: u32) -> Result<u64, MapError> {
        match &self.storage {
            Storage::Array(a) if !self.is_percpu() => {
                if self.def.max_entries != 1 {
                    return err(ENOTSUPP, "direct value access needs a one-element array");
                }
                if off >= self.def.value_size {
                    return err(EINVAL, "direct value offset outside the value");
                }
                Ok(a.value_addr(0, 0) + off as u64)
            }
            _ => err(EINVAL, "map type has no direct value access"),
        }
    }

    /// The memory programs may access in this map.
    pub fn regions(&self) -> Vec<Region> {
        let writable = self.def.map_flags & create_flags::RDONLY_PROG == 0;
        match &self.storage {
            Storage::Array(a) => alloc::vec![a.region(writable)],
            Storage::Hash(h) => alloc::vec![h.region(writable)],
            // A ring's records become accessible one by one as they are reserved.
            Storage::ProgArray(_) | Storage::OfMaps(_) | Storage::RingBuf(_) => Vec::new(),
        }
    }

    /// [`Map::regions`] made exact, for the soundness oracle: each value is its own
    /// region of `value_size` bytes, so an access that runs from one value into the
    /// next (or into the padding between them) is out of bounds, as the verifier means.
    pub fn exact_regions(&self) -> Vec<Region> {
        let writable = self.def.map_flags & create_flags::RDONLY_PROG == 0;
        match &self.storage {
            Storage::Array(a) => a.value_regions(writable).collect(),
            Storage::Hash(h) => h.value_regions(writable).collect(),
            _ => self.regions(),
        }
    }
}

#[cfg(test)]
mod tests;
