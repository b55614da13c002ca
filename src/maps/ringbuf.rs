//! `BPF_MAP_TYPE_RINGBUF`: a multi-producer, single-consumer byte ring with Linux's
//! record format and positions.
//!
//! Records are an 8-byte header (`len` with the BUSY and DISCARD bits, then a page
//! offset rvbpf leaves 0) and the data, rounded up to 8 bytes; positions only grow and
//! are taken modulo the size. Linux maps the data pages twice so a record may run past
//! the end; here the data area is allocated at twice the size for the same effect: a
//! record is always contiguous from its header. So `ringbuf_query` positions and the
//! space accounting match Linux exactly.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use spin::Mutex;

use super::hash::MAX_MAP_BYTES;
use super::{create_flags::NUMA_NODE, err, MapDef, MapError, Slab};
use crate::errno::*;

pub const BUSY_BIT: u32 = 1 << 31;
pub const DISCARD_BIT: u32 = 1 << 30;
pub const HDR_SIZE: u64 = 8;
/// `bpf_ringbuf_query` flags.
pub const RB_AVAIL_DATA: u64 = 0;
pub const RB_RING_SIZE: u64 = 1;
pub const RB_CONS_POS: u64 = 2;
pub const RB_PROD_POS: u64 = 3;
/// Wake-up flags accepted by output/submit/discard.
pub const RB_NO_WAKEUP: u64 = 1;
pub const RB_FORCE_WAKEUP: u64 = 2;
const PAGE_SIZE: u32 = 4096;

/// The ring.
pub struct RingBuf {
    data: Slab,
    mask: u64,
    consumer: AtomicU64,
    producer: AtomicU64,
    /// Serialises producers (Linux's `spinlock`), so positions are handed out in order.
    lock: Mutex<()>,
}

impl RingBuf {
    pub(crate) fn new(def: &MapDef) -> Result<RingBuf, MapError> {
        if def.map_flags & !NUMA_NODE != 0 {
            return err(EINVAL, "flag not valid for ring buffers");
        }
        if def.key_size != 0 || def.value_size != 0 || !def.max_entries.is_power_of_two() || def.max_entries % PAGE_SIZE != 0 {
            return err(EINVAL, "ring buffers need key_size 0, value_size 0 and a power-of-2 page multiple as max_entries");
        }
        if 2 * def.max_entries as u64 > MAX_MAP_BYTES {
            return err(ENOMEM, "ring buffer exceeds rvbpf's per-map memory bound");
        }
        Ok(RingBuf {
            data: Slab::zeroed(2 * def.max_entries as u64)?,
            mask: def.max_entries as u64 - 1,
            consumer: AtomicU64::new(0),
            producer: AtomicU64::new(0),
            lock: Mutex::new(()),
        })
    }

    /// Size of the data area in bytes.
    pub fn size(&self) -> u64 {
        self.mask + 1
    }

    fn header(&self, pos: u64) -> &AtomicU32 {
        // SAFETY: positions are 8-aligned, the slab is 8-aligned and the header lies in
        // the first `size` bytes of a `2 × size` allocation that lives as long as self.
        unsafe { AtomicU32::from_ptr(self.data.base().add((pos & self.mask) as usize) as *mut u32) }
    }

    /// `bpf_ringbuf_reserve`: address of `size` writable bytes, or None (NULL) when the
    /// flags are not 0 or the ring has no room.
    pub fn reserve(&self, size: u64, flags: u64) -> Option<u64> {
        if flags != 0 || size > (u32::MAX / 4) as u64 {
            return None;
        }
        let len = (size + HDR_SIZE).div_ceil(8) * 8;
        if len > self.size() {
            return None;
        }
        let _g = self.lock.lock();
        let cons = self.consumer.load(Ordering::Acquire);
        let prod = self.producer.load(Ordering::Relaxed);
        if prod + len - cons > self.mask {
            return None;
        }
        self.header(prod).store(size as u32 | BUSY_BIT, Ordering::Relaxed);
        // SAFETY: the header's page-offset word, as above.
        unsafe { AtomicU32::from_ptr(self.data.base().add((prod & self.mask) as usize + 4) as *mut u32).store(0, Ordering::Relaxed) };
        self.producer.store(prod + len, Ordering::Release);
        Some(self.data.addr((prod & self.mask) as usize + HDR_SIZE as usize))
    }

    /// Position of the busy record whose data starts at `addr`, if it is one.
    fn record_at(&self, addr: u64) -> Option<u64> {
        let base = self.data.addr(0);
        let off = addr.checked_sub(base)?.checked_sub(HDR_SIZE)?;
        if off > self.mask || off % 8 != 0 {
            return None;
        }
        (self.header(off).load(Ordering::Acquire) & BUSY_BIT != 0).then_some(off)
    }

    /// `bpf_ringbuf_submit` / `bpf_ringbuf_discard`. Returns false when `addr` is not a
    /// reserved record (the verifier will rule that out; the runtime reports it).
    pub fn commit(&self, addr: u64, discard: bool) -> bool {
        let Some(off) = self.record_at(addr) else { return false };
        let h = self.header(off);
        let len = h.load(Ordering::Relaxed) & !BUSY_BIT;
        h.store(len | if discard { DISCARD_BIT } else { 0 }, Ordering::Release);
        true
    }

    /// `bpf_ringbuf_output`: reserve, copy, submit. `Err(errno)` as Linux returns it.
    pub fn output(&self, bytes: &[u8], flags: u64) -> Result<(), i32> {
        if flags & !(RB_NO_WAKEUP | RB_FORCE_WAKEUP) != 0 {
            return Err(EINVAL);
        }
        let addr = self.reserve(bytes.len() as u64, 0).ok_or(EAGAIN)?;
        let off = (addr - self.data.addr(0)) as usize;
        self.data.write(off, bytes);
        self.commit(addr, false);
        Ok(())
    }

    /// `bpf_ringbuf_query`.
    pub fn query(&self, flags: u64) -> u64 {
        let (cons, prod) = (self.consumer.load(Ordering::Acquire), self.producer.load(Ordering::Acquire));
        match flags {
            RB_AVAIL_DATA => prod - cons,
            RB_RING_SIZE => self.size(),
            RB_CONS_POS => cons,
            RB_PROD_POS => prod,
            _ => 0,
        }
    }

    /// Consumes submitted records in order, calling `f` with each record's data;
    /// discarded ones are skipped. Stops at the first record still being written.
    /// Returns the number of records passed to `f`.
    pub fn consume(&self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        let mut cons = self.consumer.load(Ordering::Acquire);
        let prod = self.producer.load(Ordering::Acquire);
        let mut buf = alloc::vec::Vec::new();
        while cons < prod {
            let h = self.header(cons).load(Ordering::Acquire);
            if h & BUSY_BIT != 0 {
                break;
            }
            // The length is clamped: programs can write into the ring.
            let len = ((h & !(BUSY_BIT | DISCARD_BIT)) as u64).min(self.size() - HDR_SIZE);
            if h & DISCARD_BIT == 0 {
                buf.resize(len as usize, 0);
                self.data.read((cons & self.mask) as usize + HDR_SIZE as usize, &mut buf);
                f(&buf);
                n += 1;
            }
            cons = (cons + (len + HDR_SIZE).div_ceil(8) * 8).min(prod);
            self.consumer.store(cons, Ordering::Release);
        }
        n
    }
}
