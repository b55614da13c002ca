//! Hash, per-CPU hash and LRU hash maps.
//!
//! Preallocated like Linux's default: `max_entries + ncpus` element slots (the extra ones
//! let an update of an existing key in a full map swap in a fresh element, so readers
//! never see a half-written value), a free list, and `roundup_pow_of_two(max_entries)`
//! buckets, each a spin lock over an intrusive chain. New elements go to the head of
//! their chain, as in `hashtab.c`, so `get_next_key` walks buckets in index order and
//! each chain newest first.

use core::hash::Hasher;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use alloc::boxed::Box;
use alloc::vec::Vec;
use spin::Mutex;

use super::array::PCPU_MIN_UNIT_SIZE;
use super::{create_flags::*, err, map_type, round8, MapDef, MapError, Slab, BPF_EXIST, BPF_NOEXIST};
use crate::errno::*;
use crate::mem::{Area, Region};

const NONE: u32 = u32::MAX;
/// `KMALLOC_MAX_SIZE` with 4 KiB pages, the bound on key + value.
const KMALLOC_MAX_SIZE: u64 = 4 << 20;
pub use super::MAX_MAP_BYTES;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    PerCpu,
    Lru,
}

/// A hash map of fixed-size keys and values.
pub struct HashMap {
    kind: Kind,
    key_size: usize,
    value_size: usize,
    /// Bytes per slot in `values` (one rounded value per CPU for the per-CPU type).
    vstride: usize,
    kstride: usize,
    max_entries: u32,
    ncpus: u32,
    keys: Slab,
    values: Slab,
    buckets: Box<[Mutex<u32>]>,
    /// Chain links, written only under the lock of the bucket the slot is in.
    next: Box<[AtomicU32]>,
    free: Mutex<Vec<u32>>,
    count: AtomicU32,
    /// LRU: which bucket each slot is linked in (NONE when free), and its reference bit.
    home: Box<[AtomicU32]>,
    referenced: Box<[AtomicBool]>,
    hand: AtomicU32,
}

fn atomics(n: usize, v: u32) -> Result<Box<[AtomicU32]>, MapError> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| MapError::new(ENOMEM, "cannot allocate map memory"))?;
    out.resize_with(n, || AtomicU32::new(v));
    Ok(out.into_boxed_slice())
}

impl HashMap {
    pub(crate) fn new(def: &MapDef, ncpus: u32) -> Result<HashMap, MapError> {
        let kind = match def.map_type {
            map_type::PERCPU_HASH => Kind::PerCpu,
            map_type::LRU_HASH => Kind::Lru,
            _ => Kind::Plain,
        };
        let f = def.map_flags;
        if f & !(NO_PREALLOC | NO_COMMON_LRU | NUMA_NODE | ACCESS | ZERO_SEED) != 0 {
            return err(EINVAL, "flag not valid for hash maps");
        }
        if kind != Kind::Lru && f & NO_COMMON_LRU != 0 {
            return err(EINVAL, "BPF_F_NO_COMMON_LRU needs an LRU map");
        }
        if kind == Kind::Lru && f & NO_PREALLOC != 0 {
            return err(ENOTSUPP, "LRU maps are always preallocated");
        }
        if kind == Kind::PerCpu && f & NUMA_NODE != 0 {
            return err(EINVAL, "per-CPU maps take no NUMA node");
        }
        if def.max_entries == 0 || def.key_size == 0 || def.value_size == 0 {
            return err(EINVAL, "hash maps need non-zero key_size, value_size and max_entries");
        }
        if def.key_size as u64 + def.value_size as u64 >= KMALLOC_MAX_SIZE - 48 {
            return err(E2BIG, "key_size + value_size too large");
        }
        if kind == Kind::PerCpu && round8(def.value_size) > PCPU_MIN_UNIT_SIZE {
            return err(E2BIG, "per-CPU value_size too large");
        }
        if def.max_entries > 1 << 31 {
            return err(E2BIG, "max_entries too large");
        }
        let copies = if kind == Kind::PerCpu { ncpus as usize } else { 1 };
        let (kstride, vstride) = (round8(def.key_size), round8(def.value_size) * copies);
        let slots = def.max_entries as u64 + ncpus as u64;
        let nbuckets = (def.max_entries as u64).next_power_of_two();
        let bytes = slots * (kstride + vstride) as u64 + slots * 12 + nbuckets * 8;
        if bytes > MAX_MAP_BYTES {
            return err(ENOMEM, "map exceeds rvbpf's per-map memory bound");
        }
        let slots = slots as usize;
        let mut free = Vec::new();
        free.try_reserve_exact(slots).map_err(|_| MapError::new(ENOMEM, "cannot allocate map memory"))?;
        free.extend((0..slots as u32).rev());
        let mut buckets = Vec::new();
        buckets.try_reserve_exact(nbuckets as usize).map_err(|_| MapError::new(ENOMEM, "cannot allocate map memory"))?;
        buckets.resize_with(nbuckets as usize, || Mutex::new(NONE));
        let lru_slots = if kind == Kind::Lru { slots } else { 0 };
        let mut referenced = Vec::new();
        referenced.resize_with(lru_slots, || AtomicBool::new(false));
        Ok(HashMap {
            kind,
            key_size: def.key_size as usize,
            value_size: def.value_size as usize,
            vstride,
            kstride,
            max_entries: def.max_entries,
            ncpus,
            keys: Slab::zeroed((slots * kstride) as u64)?,
            values: Slab::zeroed((slots * vstride) as u64)?,
            buckets: buckets.into_boxed_slice(),
            next: atomics(slots, NONE)?,
            free: Mutex::new(free),
            count: AtomicU32::new(0),
            home: atomics(lru_slots, NONE)?,
            referenced: referenced.into_boxed_slice(),
            hand: AtomicU32::new(0),
        })
    }

    fn bucket_of(&self, key: &[u8]) -> usize {
        let mut h = rustc_hash::FxHasher::default();
        h.write(key);
        let h = h.finish();
        // Fold the high bits in: FxHash's low bits are weak for short keys.
        ((h ^ (h >> 29) ^ (h >> 47)) as usize) & (self.buckets.len() - 1)
    }

    fn key_at(&self, slot: u32) -> &[u8] {
        let off = slot as usize * self.kstride;
        // SAFETY: a slot's key is written before it is linked and not changed while
        // linked; callers hold the bucket lock of a chain the slot is in.
        unsafe { core::slice::from_raw_parts(self.keys.base().add(off), self.key_size) }
    }

    /// Slot holding `key` in the chain starting at `head`, and its predecessor.
    fn find(&self, head: u32, key: &[u8]) -> Option<(u32, u32)> {
        let (mut prev, mut cur) = (NONE, head);
        while cur != NONE {
            if self.key_at(cur) == key {
                return Some((prev, cur));
            }
            prev = cur;
            cur = self.next[cur as usize].load(Ordering::Relaxed);
        }
        None
    }

    fn unlink(&self, head: &mut u32, prev: u32, slot: u32) {
        let after = self.next[slot as usize].load(Ordering::Relaxed);
        if prev == NONE {
            *head = after;
        } else {
            self.next[prev as usize].store(after, Ordering::Relaxed);
        }
    }

    fn push_head(&self, head: &mut u32, slot: u32, bucket: usize) {
        self.next[slot as usize].store(*head, Ordering::Relaxed);
        *head = slot;
        if self.kind == Kind::Lru {
            self.home[slot as usize].store(bucket as u32, Ordering::Release);
            self.referenced[slot as usize].store(false, Ordering::Relaxed);
        }
    }

    fn release(&self, slot: u32) {
        if self.kind == Kind::Lru {
            self.home[slot as usize].store(NONE, Ordering::Release);
        }
        self.free.lock().push(slot);
    }

    fn value_off(&self, slot: u32, cpu: u32) -> usize {
        let copies = if self.kind == Kind::PerCpu { self.ncpus } else { 1 };
        slot as usize * self.vstride + (cpu % copies) as usize * round8(self.value_size as u32)
    }

    /// Writes a value into `slot`: all CPUs from a syscall buffer, or one CPU's value
    /// (zeroing the others when `fresh`) from a program.
    fn store_value(&self, slot: u32, value: &[u8], cpu: Option<u32>, fresh: bool) {
        let per = round8(self.value_size as u32);
        match (self.kind, cpu) {
            (Kind::PerCpu, None) => {
                for c in 0..self.ncpus {
                    let at = c as usize * per;
                    self.values.write(self.value_off(slot, c), &value[at..at + per]);
                }
            }
            (Kind::PerCpu, Some(c)) => {
                if fresh {
                    self.values.zero(slot as usize * self.vstride, self.vstride);
                }
                self.values.write(self.value_off(slot, c), &value[..self.value_size]);
            }
            _ => self.values.write(self.value_off(slot, 0), &value[..self.value_size]),
        }
    }

    pub(crate) fn lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let b = self.bucket_of(key);
        let head = self.buckets[b].lock();
        let Some((_, slot)) = self.find(*head, key) else { return err(ENOENT, "key not found") };
        if self.kind == Kind::PerCpu {
            let per = round8(self.value_size as u32);
            for c in 0..self.ncpus {
                let at = c as usize * per;
                self.values.read(self.value_off(slot, c), &mut out[at..at + per]);
            }
        } else {
            self.values.read(self.value_off(slot, 0), out);
        }
        Ok(())
    }

    pub(crate) fn prog_lookup(&self, key: &[u8], cpu: u32) -> Option<u64> {
        let b = self.bucket_of(key);
        let head = self.buckets[b].lock();
        let (_, slot) = self.find(*head, key)?;
        if self.kind == Kind::Lru {
            self.referenced[slot as usize].store(true, Ordering::Relaxed);
        }
        Some(self.values.addr(self.value_off(slot, cpu)))
    }

    /// Takes a slot for a new element, counting it when `counted`. None = map full.
    fn take_slot(&self, counted: bool) -> Option<u32> {
        if counted {
            let n = self.count.fetch_add(1, Ordering::AcqRel);
            if n >= self.max_entries {
                self.count.fetch_sub(1, Ordering::AcqRel);
                return None;
            }
        }
        let slot = self.free.lock().pop();
        if slot.is_none() && counted {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
        slot
    }

    pub(crate) fn update(&self, key: &[u8], value: &[u8], flags: u64, cpu: Option<u32>) -> Result<(), MapError> {
        if flags > BPF_EXIST {
            return err(EINVAL, "unknown update flags");
        }
        let b = self.bucket_of(key);
        // An LRU insert into a full map evicts and retries; each round frees a slot.
        for _ in 0..4 {
            let mut head = self.buckets[b].lock();
            let found = self.find(*head, key);
            match (found, flags) {
                (Some(_), BPF_NOEXIST) => return err(EEXIST, "key exists (BPF_NOEXIST)"),
                (None, BPF_EXIST) => return err(ENOENT, "key not found (BPF_EXIST)"),
                _ => {}
            }
            if let (Some((_, slot)), Kind::PerCpu) = (found, self.kind) {
                self.store_value(slot, value, cpu, false);
                return Ok(());
            }
            let Some(slot) = self.take_slot(found.is_none()) else {
                if self.kind == Kind::Lru {
                    drop(head);
                    self.evict_one();
                    continue;
                }
                return match found {
                    None => err(E2BIG, "map is full"),
                    Some(_) => err(ENOMEM, "no spare element for the replacement"),
                };
            };
            let koff = slot as usize * self.kstride;
            self.keys.write(koff, key);
            self.store_value(slot, value, cpu, true);
            if let Some((prev, old)) = found {
                self.unlink(&mut head, prev, old);
                self.push_head(&mut head, slot, b);
                drop(head);
                self.release(old);
            } else {
                self.push_head(&mut head, slot, b);
            }
            return Ok(());
        }
        err(E2BIG, "map is full and nothing could be evicted")
    }

    /// Clock sweep: the first linked slot whose reference bit is clear is evicted; bits
    /// that are set are cleared on the way (a second chance, like Linux's active list).
    fn evict_one(&self) {
        let n = self.home.len() as u32;
        for _ in 0..2 * n + 1 {
            let s = self.hand.fetch_add(1, Ordering::Relaxed) % n;
            let b = self.home[s as usize].load(Ordering::Acquire);
            if b == NONE || self.referenced[s as usize].swap(false, Ordering::Relaxed) {
                continue;
            }
            let mut head = self.buckets[b as usize].lock();
            if self.home[s as usize].load(Ordering::Acquire) != b {
                continue;
            }
            let (mut prev, mut cur) = (NONE, *head);
            while cur != NONE && cur != s {
                prev = cur;
                cur = self.next[cur as usize].load(Ordering::Relaxed);
            }
            if cur == s {
                self.unlink(&mut head, prev, s);
                drop(head);
                self.count.fetch_sub(1, Ordering::AcqRel);
                self.release(s);
                return;
            }
        }
    }

    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let b = self.bucket_of(key);
        let mut head = self.buckets[b].lock();
        let Some((prev, slot)) = self.find(*head, key) else { return err(ENOENT, "key not found") };
        self.unlink(&mut head, prev, slot);
        drop(head);
        self.count.fetch_sub(1, Ordering::AcqRel);
        self.release(slot);
        Ok(())
    }

    pub(crate) fn get_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        let mut start = 0;
        if let Some(k) = key {
            let b = self.bucket_of(k);
            let head = self.buckets[b].lock();
            if let Some((_, slot)) = self.find(*head, k) {
                let nx = self.next[slot as usize].load(Ordering::Relaxed);
                if nx != NONE {
                    out.copy_from_slice(self.key_at(nx));
                    return Ok(());
                }
                start = b + 1;
            }
        }
        for b in start..self.buckets.len() {
            let head = self.buckets[b].lock();
            if *head != NONE {
                out.copy_from_slice(self.key_at(*head));
                return Ok(());
            }
        }
        err(ENOENT, "no more keys")
    }

    /// Number of elements.
    pub fn len(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn region(&self, writable: bool) -> Region {
        Region { start: self.values.addr(0), len: self.values.len() as u64, writable, area: Area::MapValue }
    }

    /// Each slot's value (each CPU's copy) as its own region of `value_size` bytes.
    pub(crate) fn value_regions(&self, writable: bool) -> impl Iterator<Item = Region> + '_ {
        let copies = if self.kind == Kind::PerCpu { self.ncpus } else { 1 };
        let slots = (self.values.len() / self.vstride.max(1)) as u32;
        (0..slots).flat_map(move |s| (0..copies).map(move |c| Region { start: self.values.addr(self.value_off(s, c)), len: self.value_size as u64, writable, area: Area::MapValue }))
    }
}
