//! One BPF stack frame, byte by byte: what the verifier knows of each of its 512 bytes.
//!
//! A byte is uninitialised, initialised (some value), or known zero. An 8-byte-aligned
//! store of a whole register is a spill: the slot keeps the register's abstract value
//! (its type and bounds), and a fill of the same slot gets it back. Any other store to a
//! spilled slot turns it into plain bytes. Reading an uninitialised byte is refused. A
//! store at an offset the verifier knows only as a range may touch any byte of it: the
//! bytes that were initialised stay initialised (with some value), the others stay
//! uninitialised, and spills in the range become plain bytes.
//!
//! Offsets are from the frame pointer, -512..0. The spilled value is generic ([`Spill`]):
//! the verifier's register state; here, anything that joins.

use alloc::vec::Vec;

/// Bytes in one frame.
pub const FRAME: usize = 512;

/// What a spilled value must do: join with another.
pub trait Spill: Clone + PartialEq {
    fn join(&self, o: &Self) -> Self;
}

/// What is known of one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Byte {
    /// Known to be 0.
    Zero,
    /// Holds some value.
    Init,
    /// Never written on some path.
    Uninit,
}

impl Byte {
    /// The least that both allow (`Zero` ⊑ `Init` ⊑ `Uninit`).
    fn join(self, o: Byte) -> Byte {
        self.max(o)
    }

    /// The kernel log's letter: `0` zero, `m` misc, `?` invalid.
    pub fn letter(self) -> char {
        match self {
            Byte::Zero => '0',
            Byte::Init => 'm',
            Byte::Uninit => '?',
        }
    }
}

/// Why a stack access is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    #[error("invalid stack access off={off} size={size}: outside the frame's {FRAME} bytes")]
    Bounds { off: i64, size: u64 },
    /// `byte`: the first uninitialised byte, counted from `off`.
    #[error("invalid read from stack off {off}+{byte} size {size}: uninitialised")]
    Uninit { off: i64, byte: u64, size: u64 },
}

/// What a read gives.
#[derive(Clone, Debug, PartialEq)]
pub enum Read<T> {
    /// The whole spilled register, back.
    Spilled(T),
    /// Every byte known zero.
    Zero,
    /// Some value.
    Init,
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack<T> {
    /// Byte `k` is at offset `k - 512` from the frame pointer.
    bytes: [Byte; FRAME],
    /// The spilled registers by 8-byte slot (slot `k` covers bytes `8k..8k+8`), sorted
    /// by slot: few slots hold one, and states are copied at every step.
    spills: Vec<(u8, T)>,
}

impl<T: Spill> Default for Stack<T> {
    fn default() -> Self {
        Stack::new()
    }
}

impl<T: Spill> Stack<T> {
    /// A frame nothing has been written to.
    pub fn new() -> Stack<T> {
        Stack { bytes: [Byte::Uninit; FRAME], spills: Vec::new() }
    }

    /// The byte index range of `size` bytes at `off`, if inside the frame.
    fn span(off: i64, size: u64) -> Result<core::ops::Range<usize>, StackError> {
        let start = off + FRAME as i64;
        if off >= 0 || start < 0 || size == 0 || start as u64 + size > FRAME as u64 {
            return Err(StackError::Bounds { off, size });
        }
        Ok(start as usize..start as usize + size as usize)
    }

    /// Spills in `span` become plain bytes.
    fn unspill(&mut self, span: &core::ops::Range<usize>) {
        let slots = span.start / 8..span.end.div_ceil(8);
        self.spills.retain(|(k, _)| !slots.contains(&(*k as usize)));
    }

    /// The spill at slot `k`, if any.
    fn spill(&self, k: usize) -> Option<&T> {
        self.spills.binary_search_by_key(&(k as u8), |(s, _)| *s).ok().map(|i| &self.spills[i].1)
    }

    /// A store of `size` bytes at `off`: a spill of `value` when it is a whole register
    /// at an aligned slot, else bytes that are `zero` or some value.
    pub fn store(&mut self, off: i64, size: u64, value: Option<T>, zero: bool) -> Result<(), StackError> {
        let span = Self::span(off, size)?;
        if size == 8 || !crate::verifier_bug!(SpillPartialOverwriteKeepsType) {
            self.unspill(&span);
        }
        let b = if zero { Byte::Zero } else { Byte::Init };
        for k in span.clone() {
            self.bytes[k] = b;
        }
        if let (Some(v), 8, 0) = (value, size, span.start % 8) {
            let k = (span.start / 8) as u8;
            // unspill removed the slot's old spill: insert in order.
            let at = self.spills.partition_point(|(s, _)| *s < k);
            self.spills.insert(at, (k, v));
        }
        Ok(())
    }

    /// Whether `size` bytes at every offset in `lo..=hi` lie inside the frame.
    pub fn inside(&self, lo: i64, hi: i64, size: u64) -> Result<(), StackError> {
        Self::span(lo, (hi - lo) as u64 + size).map(|_| ())
    }

    /// A store of `size` bytes at some offset in `lo..=hi` (a variable offset).
    pub fn store_somewhere(&mut self, lo: i64, hi: i64, size: u64) -> Result<(), StackError> {
        let span = Self::span(lo, (hi - lo) as u64 + size)?;
        self.unspill(&span);
        for k in span {
            // Written or not: a zero may now be anything; uninitialised stays so.
            if self.bytes[k] == Byte::Zero {
                self.bytes[k] = Byte::Init;
            }
        }
        Ok(())
    }

    /// A helper wrote `size` bytes at `off` (every byte of it).
    pub fn written(&mut self, off: i64, size: u64) -> Result<(), StackError> {
        self.store(off, size, None, false)
    }

    /// A load of `size` bytes at `off`.
    pub fn load(&self, off: i64, size: u64) -> Result<Read<T>, StackError> {
        let span = Self::span(off, size)?;
        if let Some(k) = span.clone().position(|k| self.bytes[k] == Byte::Uninit) {
            if !crate::verifier_bug!(StackUninitRead) {
                return Err(StackError::Uninit { off, byte: k as u64, size });
            }
        }
        if size == 8 && span.start % 8 == 0 {
            if let Some(v) = self.spill(span.start / 8) {
                return Ok(Read::Spilled(v.clone()));
            }
        }
        if span.clone().all(|k| self.bytes[k] == Byte::Zero) {
            return Ok(Read::Zero);
        }
        Ok(Read::Init)
    }

    /// A read of `size` bytes at some offset in `lo..=hi`: every byte it may touch must
    /// be initialised.
    pub fn load_somewhere(&self, lo: i64, hi: i64, size: u64) -> Result<(), StackError> {
        let span = Self::span(lo, (hi - lo) as u64 + size)?;
        match span.clone().position(|k| self.bytes[k] == Byte::Uninit) {
            Some(_) if crate::verifier_bug!(StackUninitRead) => Ok(()),
            // `byte` counts from `lo`, as for a load at a known offset.
            Some(k) => Err(StackError::Uninit { off: lo, byte: k as u64, size: span.len() as u64 }),
            None => Ok(()),
        }
    }

    /// What both frames allow: each byte the weaker of the two, a spill kept where both
    /// spilled that slot.
    pub fn join(&self, o: &Stack<T>) -> Stack<T> {
        self.join_with(o, |a, b| a.join(b))
    }

    /// The join, with each spill present in both combined by `f` (a widening, at a loop
    /// head: a counter kept on the stack must stop growing there too).
    pub fn join_with(&self, o: &Stack<T>, f: impl Fn(&T, &T) -> T) -> Stack<T> {
        let bytes = core::array::from_fn(|k| self.bytes[k].join(o.bytes[k]));
        let spills = self.spills.iter().filter_map(|(k, a)| o.spill(*k as usize).map(|b| (*k, f(a, b)))).collect();
        Stack { bytes, spills }
    }

    /// Every spilled value.
    pub fn spilled(&self) -> impl Iterator<Item = &T> {
        self.spills.iter().map(|(_, v)| v)
    }

    /// Applies `f` to every spilled value.
    pub fn for_each_spill(&mut self, mut f: impl FnMut(&mut T)) {
        for (_, v) in self.spills.iter_mut() {
            f(v);
        }
    }

    /// The kernel log's view of the slot at `off` (8-aligned): `fp-8=mmmm????`, or the
    /// spill.
    pub fn slot(&self, off: i64) -> Option<(Option<&T>, [Byte; 8])> {
        let span = Self::span(off, 8).ok()?;
        let mut b = [Byte::Uninit; 8];
        // The log prints the highest byte first.
        for (i, k) in span.clone().rev().enumerate() {
            b[i] = self.bytes[k];
        }
        Some((self.spill(span.start / 8), b))
    }

    /// The deepest initialised offset (for the frame's used size), if any byte is.
    pub fn depth(&self) -> usize {
        self.bytes.iter().position(|b| *b != Byte::Uninit).map_or(0, |k| FRAME - k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct V(u64, u64);

    impl Spill for V {
        fn join(&self, o: &V) -> V {
            V(self.0.min(o.0), self.1.max(o.1))
        }
    }

    #[test]
    fn a_spill_fills_back_and_a_partial_store_unspills() {
        let mut s: Stack<V> = Stack::new();
        s.store(-8, 8, Some(V(1, 5)), false).unwrap();
        assert_eq!(s.load(-8, 8), Ok(Read::Spilled(V(1, 5))));
        assert_eq!(s.load(-8, 4), Ok(Read::Init));
        s.store(-6, 2, None, false).unwrap();
        assert_eq!(s.load(-8, 8), Ok(Read::Init));
        // Unaligned whole-register stores are bytes, not spills.
        s.store(-20, 8, Some(V(0, 0)), false).unwrap();
        assert_eq!(s.load(-20, 8), Ok(Read::Init));
    }

    #[test]
    fn uninitialised_reads_are_refused_with_the_byte() {
        let mut s: Stack<V> = Stack::new();
        s.store(-16, 4, None, true).unwrap();
        assert_eq!(s.load(-16, 4), Ok(Read::Zero));
        assert_eq!(s.load(-16, 8), Err(StackError::Uninit { off: -16, byte: 4, size: 8 }));
        assert_eq!(s.load(-4, 1), Err(StackError::Uninit { off: -4, byte: 0, size: 1 }));
        assert_eq!(s.load(0, 8), Err(StackError::Bounds { off: 0, size: 8 }));
        assert_eq!(s.load(-513, 1), Err(StackError::Bounds { off: -513, size: 1 }));
        assert_eq!(s.store(-4, 8, None, false), Err(StackError::Bounds { off: -4, size: 8 }));
    }

    #[test]
    fn variable_offset_stores_keep_uninitialised_bytes_so() {
        let mut s: Stack<V> = Stack::new();
        s.store(-32, 8, None, true).unwrap();
        s.store(-24, 8, Some(V(3, 3)), false).unwrap();
        s.store_somewhere(-40, -20, 4).unwrap();
        // A byte the store may have missed is still uninitialised.
        assert!(s.load(-40, 1).is_err());
        // The zeros may now be anything; the spill is gone; bytes above stay uninit.
        assert_eq!(s.load(-32, 8), Ok(Read::Init));
        assert_eq!(s.load(-24, 8), Ok(Read::Init));
        assert!(s.load(-16, 1).is_err());
        assert!(s.load_somewhere(-32, -20, 4).is_ok());
        assert!(s.load_somewhere(-32, -12, 4).is_err());
    }

    #[test]
    fn join_takes_the_weaker_byte_and_common_spills() {
        let mut a: Stack<V> = Stack::new();
        let mut b: Stack<V> = Stack::new();
        a.store(-8, 8, Some(V(1, 2)), false).unwrap();
        b.store(-8, 8, Some(V(5, 9)), false).unwrap();
        a.store(-16, 8, None, true).unwrap();
        b.store(-16, 8, None, false).unwrap();
        a.store(-24, 8, None, false).unwrap();
        let j = a.join(&b);
        assert_eq!(j.load(-8, 8), Ok(Read::Spilled(V(1, 9))));
        assert_eq!(j.load(-16, 8), Ok(Read::Init));
        assert!(j.load(-24, 1).is_err(), "written on one path only");
        let (spill, bytes) = j.slot(-16).unwrap();
        assert!(spill.is_none());
        assert_eq!(bytes.iter().map(|b| b.letter()).collect::<String>(), "mmmmmmmm");
        assert_eq!(j.depth(), 16);
    }

    #[test]
    fn a_helper_write_initialises() {
        let mut s: Stack<V> = Stack::new();
        s.written(-64, 40).unwrap();
        assert_eq!(s.load(-64, 8), Ok(Read::Init));
        assert!(s.load(-24, 8).is_err());
    }
}
