//! Array and per-CPU array maps, and the prog array used by tail calls.

use core::sync::atomic::{AtomicU32, Ordering};

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{create_flags::*, err, round8, MapDef, MapError, Slab, BPF_EXIST, BPF_NOEXIST};
use crate::errno::*;
use crate::mem::{Area, Region};

/// Largest value Linux's arrays accept (`KMALLOC_MAX_SIZE` with 4 KiB pages).
const KMALLOC_MAX_SIZE: u32 = 4 << 20;
/// Largest per-CPU value (`PCPU_MIN_UNIT_SIZE`).
pub(crate) const PCPU_MIN_UNIT_SIZE: usize = 32 << 10;

fn index(key: &[u8]) -> u32 {
    u32::from_ne_bytes(key.try_into().expect("key size checked by Map"))
}

/// `BPF_MAP_TYPE_ARRAY` and `BPF_MAP_TYPE_PERCPU_ARRAY`: `max_entries` zeroed values,
/// each `round_up(value_size, 8)` bytes apart, one per CPU for the per-CPU type.
pub struct ArrayMap {
    slab: Slab,
    value_size: usize,
    stride: usize,
    max_entries: u32,
    ncpus: u32,
    percpu: bool,
}

impl ArrayMap {
    pub(crate) fn new(def: &MapDef, ncpus: u32) -> Result<ArrayMap, MapError> {
        let percpu = def.map_type == super::map_type::PERCPU_ARRAY;
        if def.max_entries == 0 || def.key_size != 4 || def.value_size == 0 {
            return err(EINVAL, "arrays need key_size 4 and non-zero value_size and max_entries");
        }
        if def.map_flags & !(NUMA_NODE | MMAPABLE | ACCESS | PRESERVE_ELEMS | INNER_MAP) != 0 {
            return err(EINVAL, "flag not valid for arrays");
        }
        if percpu && def.map_flags & MMAPABLE != 0 {
            return err(EINVAL, "per-CPU arrays cannot be mmapped");
        }
        if def.value_size > KMALLOC_MAX_SIZE {
            return err(E2BIG, "value_size too large");
        }
        if percpu && round8(def.value_size) > PCPU_MIN_UNIT_SIZE {
            return err(E2BIG, "per-CPU value_size too large");
        }
        let stride = round8(def.value_size);
        let copies = if percpu { ncpus as u64 } else { 1 };
        let slab = Slab::zeroed(def.max_entries as u64 * stride as u64 * copies)?;
        Ok(ArrayMap { slab, value_size: def.value_size as usize, stride, max_entries: def.max_entries, ncpus, percpu })
    }

    fn offset(&self, idx: u32, cpu: u32) -> usize {
        let copies = if self.percpu { self.ncpus as usize } else { 1 };
        let cpu = if self.percpu { cpu as usize % copies } else { 0 };
        (idx as usize * copies + cpu) * self.stride
    }

    pub(crate) fn value_addr(&self, idx: u32, cpu: u32) -> u64 {
        self.slab.addr(self.offset(idx, cpu))
    }

    pub(crate) fn lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let idx = index(key);
        if idx >= self.max_entries {
            return err(ENOENT, "index beyond max_entries");
        }
        if self.percpu {
            for cpu in 0..self.ncpus {
                let at = cpu as usize * self.stride;
                self.slab.read(self.offset(idx, cpu), &mut out[at..at + self.stride]);
            }
        } else {
            self.slab.read(self.offset(idx, 0), out);
        }
        Ok(())
    }

    /// `cpu` is `None` for the syscall view (all CPUs' values given), `Some` for a program.
    pub(crate) fn update(&self, key: &[u8], value: &[u8], flags: u64, cpu: Option<u32>) -> Result<(), MapError> {
        if flags > BPF_EXIST {
            return err(EINVAL, "unknown update flags");
        }
        let idx = index(key);
        if idx >= self.max_entries {
            return err(E2BIG, "index beyond max_entries");
        }
        if flags == BPF_NOEXIST {
            return err(EEXIST, "array elements always exist (BPF_NOEXIST)");
        }
        match cpu {
            None if self.percpu => {
                for c in 0..self.ncpus {
                    let at = c as usize * self.stride;
                    self.slab.write(self.offset(idx, c), &value[at..at + self.stride]);
                }
            }
            _ => self.slab.write(self.offset(idx, cpu.unwrap_or(0)), &value[..self.value_size]),
        }
        Ok(())
    }

    pub(crate) fn get_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        next_index(key, self.max_entries, out)
    }

    pub(crate) fn prog_lookup(&self, key: &[u8], cpu: u32) -> Option<u64> {
        let idx = index(key);
        (idx < self.max_entries).then(|| self.value_addr(idx, cpu))
    }

    pub(crate) fn region(&self, writable: bool) -> Region {
        Region { start: self.slab.addr(0), len: self.slab.len() as u64, writable, area: Area::MapValue }
    }

    /// Each value (each CPU's copy) as its own region of `value_size` bytes.
    pub(crate) fn value_regions(&self, writable: bool) -> impl Iterator<Item = Region> + '_ {
        let copies = if self.percpu { self.ncpus } else { 1 };
        (0..self.max_entries).flat_map(move |i| (0..copies).map(move |c| Region { start: self.value_addr(i, c), len: self.value_size as u64, writable, area: Area::MapValue }))
    }
}

/// Arrays' `get_next_key`: a missing or out-of-range key restarts at 0.
pub(super) fn next_index(key: Option<&[u8]>, max_entries: u32, out: &mut [u8]) -> Result<(), MapError> {
    let next = match key.map(index) {
        Some(i) if i < max_entries => {
            if i == max_entries - 1 {
                return err(ENOENT, "no key after the last index");
            }
            i + 1
        }
        _ => 0,
    };
    out.copy_from_slice(&next.to_ne_bytes());
    Ok(())
}

/// `BPF_MAP_TYPE_PROG_ARRAY`: slots holding program ids (0 = empty) for `bpf_tail_call`.
/// The runtime turns the fds user space writes into ids.
pub struct ProgArray {
    slots: Box<[AtomicU32]>,
}

impl ProgArray {
    pub(crate) fn new(def: &MapDef) -> Result<ProgArray, MapError> {
        if def.max_entries == 0 || def.key_size != 4 || def.value_size != 4 {
            return err(EINVAL, "prog arrays need key_size 4, value_size 4 and non-zero max_entries");
        }
        if def.map_flags & !(NUMA_NODE | RDONLY | WRONLY | PRESERVE_ELEMS | INNER_MAP) != 0 {
            return err(EINVAL, "flag not valid for prog arrays");
        }
        if def.max_entries as u64 * 4 > super::MAX_MAP_BYTES {
            return err(ENOMEM, "map exceeds rvbpf's per-map memory bound");
        }
        let mut slots = Vec::new();
        slots.try_reserve_exact(def.max_entries as usize).map_err(|_| MapError::new(ENOMEM, "cannot allocate map memory"))?;
        slots.resize_with(def.max_entries as usize, || AtomicU32::new(0));
        Ok(ProgArray { slots: slots.into_boxed_slice() })
    }

    /// The program id in slot `idx`, if any.
    pub fn get(&self, idx: u32) -> Option<u32> {
        let id = self.slots.get(idx as usize)?.load(Ordering::Acquire);
        (id != 0).then_some(id)
    }

    /// Number of slots (`max_entries`).
    pub fn len(&self) -> u32 {
        self.slots.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether some slot holds program `id`.
    pub fn holds(&self, id: u32) -> bool {
        self.slots.iter().any(|s| s.load(Ordering::Acquire) == id)
    }

    /// Empties every slot (the map's last user reference is gone).
    pub fn clear(&self) {
        for s in self.slots.iter() {
            s.store(0, Ordering::Release);
        }
    }

    /// Empties every slot holding `id` (the program is being unloaded).
    pub fn remove_program(&self, id: u32) {
        for s in self.slots.iter() {
            let _ = s.compare_exchange(id, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    pub(crate) fn lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        match self.get(index(key)) {
            Some(id) => {
                out.copy_from_slice(&id.to_ne_bytes());
                Ok(())
            }
            None => err(ENOENT, "no program in this slot"),
        }
    }

    pub(crate) fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != 0 {
            return err(EINVAL, "prog arrays take only BPF_ANY");
        }
        let idx = index(key) as usize;
        let Some(slot) = self.slots.get(idx) else { return err(E2BIG, "index beyond max_entries") };
        let id = u32::from_ne_bytes(value.try_into().expect("value size checked by Map"));
        if id == 0 {
            return err(EBADF, "not a program");
        }
        slot.store(id, Ordering::Release);
        Ok(())
    }

    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let Some(slot) = self.slots.get(index(key) as usize) else { return err(E2BIG, "index beyond max_entries") };
        match slot.swap(0, Ordering::AcqRel) {
            0 => err(ENOENT, "slot already empty"),
            _ => Ok(()),
        }
    }

    pub(crate) fn get_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        next_index(key, self.slots.len() as u32, out)
    }
}
