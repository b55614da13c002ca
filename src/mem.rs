//! The memory a running program may touch: its stack frames and the regions its
//! environment exposes (input memory, contexts, packets, map values).
//!
//! Below every engine: the interpreter checks each access against a [`Memory`], the JIT
//! gives helpers the same view, and helpers read and write program memory only through
//! it. BPF addresses are host addresses, so a pointer means the same thing to the
//! interpreter, to JIT code and to a helper.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::ops::Range;

/// Bytes of stack per frame (the kernel's `MAX_BPF_STACK`).
pub const STACK_FRAME: usize = 512;
/// Maximum call depth, counting the entry frame (the kernel's `MAX_CALL_FRAMES`).
pub const MAX_FRAMES: usize = 8;
/// The whole BPF stack of one run: every frame.
pub const STACK_SIZE: usize = STACK_FRAME * MAX_FRAMES;

/// What a region holds, for messages: an access outside the program's memory is said
/// relative to the nearest region (`ctx+292`, `map value+4096`), never as a host address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// The memory a raw program is given (r1).
    Memory,
    Ctx,
    Packet,
    MapValue,
    /// A ring-buffer record the run holds.
    Record,
    /// A conformance-suite variable.
    Variable,
}

impl Area {
    pub fn name(self) -> &'static str {
        match self {
            Area::Memory => "memory",
            Area::Ctx => "ctx",
            Area::Packet => "packet",
            Area::MapValue => "map value",
            Area::Record => "ring-buffer record",
            Area::Variable => "variable",
        }
    }
}

/// One range of host memory a program may access.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub start: u64,
    pub len: u64,
    pub writable: bool,
    pub area: Area,
}

impl Region {
    /// A region covering `buf`, writable (the program's memory: name it otherwise with
    /// [`Region::named`]).
    pub fn of_mut(buf: &mut [u8]) -> Region {
        Region { start: buf.as_mut_ptr() as u64, len: buf.len() as u64, writable: true, area: Area::Memory }
    }
    /// A region covering `buf`, read-only.
    pub fn of(buf: &[u8]) -> Region {
        Region { start: buf.as_ptr() as u64, len: buf.len() as u64, writable: false, area: Area::Memory }
    }
    /// The same region, holding `area`.
    pub fn named(self, area: Area) -> Region {
        Region { area, ..self }
    }
    #[inline(always)]
    fn contains(&self, addr: u64, len: u64, write: bool) -> bool {
        // Below the start, the offset wraps past every length.
        let off = addr.wrapping_sub(self.start);
        off <= self.len && len <= self.len - off && (self.writable || !write)
    }
}

/// An access outside the memory a program may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("pointer 0x{addr:x} (+{len} bytes) is outside the memory the program may access")]
pub struct MemError {
    pub addr: u64,
    pub len: usize,
}

/// The regions of one run, in up to four groups borrowed from where each is kept (the
/// run's input or context, the program's maps, the environment's): a run copies and
/// allocates none of them.
pub type Regions<'a> = [&'a [Region]; 4];

/// The BPF stack of a run, every frame, kept from run to run (per interpreter, or per
/// CPU in the runtime). It remembers the lowest byte any run may have written, so making
/// it all zero again for a checked run costs only what earlier runs used: a run that
/// barely touches its stack pays for barely anything.
pub struct Stack {
    words: Box<[u64; STACK_SIZE / 8]>,
    /// Every byte below this address is zero.
    dirty: u64,
}

impl Stack {
    pub fn new() -> Stack {
        // u64 words: the frames are 8-byte aligned, as the kernel's are.
        let mut words = Box::new([0; STACK_SIZE / 8]);
        let dirty = words.as_mut_ptr() as u64 + STACK_SIZE as u64;
        Stack { words, dirty }
    }

    /// One past the highest byte: r10 of the entry frame.
    #[inline]
    pub fn top(&mut self) -> u64 {
        self.words.as_mut_ptr() as u64 + STACK_SIZE as u64
    }

    /// The stack all zero (what a checked run starts from, so an unverified program
    /// reads zeros, never an earlier run's data); returns its top.
    #[inline]
    pub fn zeroed(&mut self) -> u64 {
        let top = self.top();
        if self.dirty < top {
            let from = (self.dirty - self.words.as_mut_ptr() as u64) / 8;
            self.words[from as usize..].fill(0);
            self.dirty = top;
        }
        top
    }

    /// Notes that a run may have written the stack from `lo` up.
    #[inline]
    pub fn written(&mut self, lo: u64) {
        let base = self.words.as_mut_ptr() as u64;
        self.dirty = self.dirty.min(lo.max(base));
    }
}

impl Default for Stack {
    fn default() -> Self {
        Stack::new()
    }
}

/// The memory a running program may touch: the live part of its stack, fixed regions,
/// and the ring-buffer records the run holds. Helpers get it to read and write through
/// the same checks.
pub struct Memory<'a> {
    stack_lo: u64,
    stack_hi: u64,
    /// The lowest stack address written through this view.
    dirty: Cell<u64>,
    regions: Regions<'a>,
    /// Records reserved in this run and not yet submitted or discarded: accessible from
    /// `bpf_ringbuf_reserve` until the record is given back, and never after.
    records: RefCell<Vec<Region>>,
}

impl<'a> Memory<'a> {
    /// The view of a run whose accessible stack is `stack` and whose other memory is
    /// `regions`.
    #[inline]
    pub fn new(stack: Range<u64>, regions: Regions<'a>) -> Memory<'a> {
        Memory { stack_lo: stack.start, stack_hi: stack.end, dirty: Cell::new(stack.end), regions, records: RefCell::new(Vec::new()) }
    }

    /// The lowest stack address written through this view (the stack's top if none).
    #[inline]
    pub fn dirty_lo(&self) -> u64 {
        self.dirty.get()
    }

    fn region_iter(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter().flat_map(|g| g.iter())
    }

    /// A ring-buffer record the run now holds.
    pub fn add_record(&self, record: Region) {
        self.records.borrow_mut().push(record);
    }

    /// Gives back the record starting at `start`; false when the run holds none there.
    pub fn remove_record(&self, start: u64) -> bool {
        let mut records = self.records.borrow_mut();
        let Some(i) = records.iter().position(|r| r.start == start) else { return false };
        records.swap_remove(i);
        true
    }

    /// The records the run still holds, which it gives up (the run is ending).
    pub fn take_records(&self) -> Vec<Region> {
        core::mem::take(&mut *self.records.borrow_mut())
    }

    /// Moves the bottom of the accessible stack (the interpreter admits only live frames).
    #[inline(always)]
    pub(crate) fn set_stack_lo(&mut self, lo: u64) {
        self.stack_lo = lo;
    }

    /// Checked host pointer for `len` bytes at `addr`.
    #[inline(always)]
    pub fn translate(&self, addr: u64, len: u64, write: bool) -> Option<*mut u8> {
        let off = addr.wrapping_sub(self.stack_lo);
        if off <= self.stack_hi - self.stack_lo && len <= self.stack_hi - self.stack_lo - off {
            if write && addr < self.dirty.get() {
                self.dirty.set(addr);
            }
            return Some(addr as *mut u8);
        }
        for group in &self.regions {
            for r in *group {
                if r.contains(addr, len, write) {
                    return Some(addr as *mut u8);
                }
            }
        }
        self.records.borrow().iter().any(|r| r.contains(addr, len, write)).then_some(addr as *mut u8)
    }

    /// Where `addr` is, as the program sees it: an offset from r10 (`fp`, the frame
    /// pointer of the access) near the stack, an offset into the nearest region near one
    /// (`ctx+292`, `map value+4096`), a small number as itself (a NULL or scalar
    /// pointer), and otherwise no host address but "an address outside".
    pub fn describe(&self, addr: u64, fp: u64) -> alloc::string::String {
        const NEAR: u64 = 1 << 16;
        let distance = |r: &Region| if addr < r.start { r.start - addr } else { addr.saturating_sub(r.start + r.len) };
        let stack = Region { start: self.stack_hi.saturating_sub(STACK_SIZE as u64), len: STACK_SIZE as u64, writable: true, area: Area::Memory };
        let records = self.records.borrow();
        let nearest = self.region_iter().chain(records.iter()).filter(|r| distance(r) <= NEAR).min_by_key(|r| distance(r));
        match nearest {
            Some(r) if distance(r) < distance(&stack) => alloc::format!("{}{:+}", r.area.name(), addr.wrapping_sub(r.start) as i64),
            _ if distance(&stack) <= NEAR => alloc::format!("r10{:+}", addr.wrapping_sub(fp) as i64),
            _ if addr < NEAR => alloc::format!("{addr:#x}"),
            _ => "an address outside the stack, the context and every region".into(),
        }
    }

    /// Reads `len` bytes at `addr` after checking they are accessible.
    pub fn read(&self, addr: u64, len: usize) -> Result<&[u8], MemError> {
        let p = self.translate(addr, len as u64, false).ok_or(MemError { addr, len })?;
        // SAFETY: translate checked that [addr, addr+len) lies in a live region that the
        // engine's borrows keep alive for the duration of the run.
        Ok(unsafe { core::slice::from_raw_parts(p, len) })
    }

    /// Writes `bytes` at `addr` after checking the range is writable.
    pub fn write(&self, addr: u64, bytes: &[u8]) -> Result<(), MemError> {
        let p = self.translate(addr, bytes.len() as u64, true).ok_or(MemError { addr, len: bytes.len() })?;
        // SAFETY: as in `read`, and the region is writable.
        unsafe { core::ptr::copy(bytes.as_ptr(), p, bytes.len()) };
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<&[u8], MemError> {
        for n in 0..max {
            let b = self.read(addr.wrapping_add(n as u64), 1)?[0];
            if b == 0 {
                return self.read(addr, n);
            }
        }
        Err(MemError { addr, len: max })
    }
}
