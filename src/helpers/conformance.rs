//! The test helpers that uBPF's and bpf2c's conformance plugins define (ids 0-5), which
//! the ecosystem's `.data` suites call. [`HelperSet`] keys them by id; the conformance
//! environment (`conformance::ConformanceEnv`) runs programs with them.

use alloc::collections::BTreeMap;

use crate::env::{Flow, HelperError};
use crate::isa::HelperId;
use crate::mem::Memory;

/// A helper implementation: r1-r5 in, r0 out, memory through the checked view.
pub type TestHelperFn = fn(args: [u64; 5], mem: &Memory) -> Result<u64, HelperError>;

/// One registered test helper.
#[derive(Clone, Copy, Debug)]
pub struct TestHelper {
    pub id: HelperId,
    pub name: &'static str,
    /// What the verifier checks of a call.
    pub proto: super::Proto,
    pub func: TestHelperFn,
    /// When the helper returns 0 the program stops with r0 = 0 (uBPF's unwind).
    pub unwind_on_zero: bool,
}

/// Test helpers keyed by id.
#[derive(Clone, Debug, Default)]
pub struct HelperSet {
    helpers: BTreeMap<HelperId, TestHelper>,
}

impl HelperSet {
    pub fn new() -> HelperSet {
        HelperSet::default()
    }

    /// Adds or replaces a helper.
    pub fn register(&mut self, helper: TestHelper) {
        self.helpers.insert(helper.id, helper);
    }

    pub fn get(&self, id: HelperId) -> Option<&TestHelper> {
        self.helpers.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &TestHelper> {
        self.helpers.values()
    }

    /// Calls helper `id`, applying its unwind rule.
    pub fn call(&self, id: HelperId, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError> {
        let h = self.helpers.get(&id).ok_or(HelperError::Unknown)?;
        let v = (h.func)(args, mem)?;
        Ok(if h.unwind_on_zero && v == 0 { Flow::Exit(0) } else { Flow::Continue(v) })
    }

    /// The test helpers that uBPF's and bpf2c's conformance plugins define (ids 0-5).
    pub fn conformance() -> HelperSet {
        let mut set = HelperSet::new();
        use super::Arg::{Anything as Any, ConstSizeOrZero, ConstStr, Mem, None as NO};
        for (id, name, args, func, unwind) in [
            (0, "gather_bytes", [Any; 5], gather_bytes as TestHelperFn, false),
            // It writes the bytes it reads: initialised, writable memory.
            (1, "memfrob", [Mem, ConstSizeOrZero, NO, NO, NO], memfrob as TestHelperFn, false),
            (2, "no_op", [NO; 5], no_op as TestHelperFn, false),
            (3, "sqrti", [Any, NO, NO, NO, NO], sqrti as TestHelperFn, false),
            (4, "strcmp_ext", [ConstStr, ConstStr, NO, NO, NO], strcmp_ext as TestHelperFn, false),
            (5, "unwind", [Any, NO, NO, NO, NO], unwind as TestHelperFn, true),
        ] {
            let proto = super::Proto { id: HelperId(id), name, ret: super::Ret::Integer, args, gpl_only: false };
            set.register(TestHelper { id: HelperId(id), name, proto, func, unwind_on_zero: unwind });
        }
        set
    }
}

/// `(a&0xff)<<32 | (b&0xff)<<24 | (c&0xff)<<16 | (d&0xff)<<8 | (e&0xff)`.
fn gather_bytes(a: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok((a[0] & 0xff) << 32 | (a[1] & 0xff) << 24 | (a[2] & 0xff) << 16 | (a[3] & 0xff) << 8 | (a[4] & 0xff))
}

/// XORs `len` bytes at `ptr` with 42; returns 0.
fn memfrob(a: [u64; 5], mem: &Memory) -> Result<u64, HelperError> {
    let len = usize::try_from(a[1]).map_err(|_| HelperError::Invalid("length does not fit in memory"))?;
    let mut buf = alloc::vec::Vec::from(mem.read(a[0], len)?);
    buf.iter_mut().for_each(|b| *b ^= 42);
    mem.write(a[0], &buf)?;
    Ok(0)
}

fn no_op(_: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok(0)
}

/// Integer square root (floor).
fn sqrti(a: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok(a[0].isqrt())
}

/// strcmp of two NUL-terminated strings: the difference of the first differing bytes,
/// sign-extended to 64 bits.
fn strcmp_ext(a: [u64; 5], mem: &Memory) -> Result<u64, HelperError> {
    const MAX: usize = 4096;
    let (x, y) = (mem.read_cstr(a[0], MAX)?, mem.read_cstr(a[1], MAX)?);
    let n = x.len().max(y.len());
    for i in 0..=n {
        let (p, q) = (*x.get(i).unwrap_or(&0), *y.get(i).unwrap_or(&0));
        if p != q {
            return Ok((p as i64 - q as i64) as u64);
        }
    }
    Ok(0)
}

/// Returns its argument; as the unwind helper, a 0 stops the program with r0 = 0.
fn unwind(a: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok(a[0])
}
