//! Running an [`Image`]: the code mapped W^X with the instruction cache synchronised,
//! one safe call that behaves like [`Interpreter::run_with`](crate::interp::Interpreter),
//! and the helper dispatcher the code calls.
//!
//! Only riscv64 hosts execute; elsewhere [`JitProgram::new`] says how to run the same
//! thing under qemu-riscv64. The code does no checks of its own: it runs programs that
//! are valid by construction (tests, the conformance suite) or, once the verifier exists,
//! verified ones. The host gives it a separate BPF stack of `MAX_FRAMES` × 512 bytes; the
//! code stops a call that would need more, as the interpreter does. Helpers see the same
//! checked `Memory` as under the interpreter, except that the whole BPF stack is in it
//! (the interpreter admits only the live frames).


use super::emit::{compile, Image};
use super::error::JitError;
use super::lower::Ext;
use crate::env::{Env, Flow, HelperError};
use crate::interp::{ExecError, ExecErrorKind, Outcome};
use crate::isa::{HelperId, Program};
use crate::mem::{Memory, Regions, Stack, STACK_SIZE};

/// Whether this host executes JIT code (riscv64); the error says how to run under qemu.
pub fn host_check() -> Result<(), JitError> {
    if cfg!(target_arch = "riscv64") {
        Ok(())
    } else {
        Err(JitError::NotRiscv64)
    }
}

/// A compiled program ready to run.
pub struct JitProgram {
    image: Image,
    #[cfg(target_arch = "riscv64")]
    code: dynasmrt::ExecutableBuffer,
    /// Other hosts cannot build one.
    #[cfg(not(target_arch = "riscv64"))]
    never: core::convert::Infallible,
}

/// How a helper stopped the program.
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
enum Stop {
    Exit,
    TailCall { target: u64, site: u64 },
    Error { site: u64, kind: ExecErrorKind },
}

/// What the code and the dispatcher share during one run. `#[repr(C)]`: the stop path
/// stores r10 into the first word.
#[repr(C)]
struct RunCtx<'a> {
    r10_at_stop: u64,
    /// Written by the call-depth stop: the call's address.
    depth_site: u64,
    env: &'a mut dyn Env,
    mem: &'a Memory<'a>,
    stop: Option<Stop>,
}

/// (a0, a1) on return: r0 and whether a helper stopped the program.
#[repr(C)]
struct Ret {
    r0: u64,
    stop: u64,
}

#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
/// The helper dispatcher: every helper call of JIT code lands here, with r1–r5, the
/// helper id, the run context and the call's address.
extern "C" fn dispatch(a1: u64, a2: u64, a3: u64, a4: u64, a5: u64, id: u64, ctx: *mut RunCtx<'_>, site: u64) -> Ret {
    // SAFETY: the code passes back the context pointer `run` gave it, which outlives the
    // run, and nothing else refers to it while the helper runs.
    let ctx = unsafe { &mut *ctx };
    let mut stop = |s: Stop, r0: u64| {
        ctx.stop = Some(s);
        Ret { r0, stop: 1 }
    };
    // `call` puts its sign-extended imm in a5, `callx` its register.
    let Some(id) = HelperId::from_reg(id) else { return stop(Stop::Error { site, kind: ExecErrorKind::UnknownCallx { value: id } }, 0) };
    // A panic must not unwind into JIT code: it becomes the helper's error.
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.env.call(id, [a1, a2, a3, a4, a5], ctx.mem)))
        .unwrap_or(Err(HelperError::Invalid("the helper panicked")));
    match res {
        Ok(Flow::Continue(v)) => Ret { r0: v, stop: 0 },
        Ok(Flow::Exit(v)) => stop(Stop::Exit, v),
        Ok(Flow::TailCall(target)) => stop(Stop::TailCall { target, site }, 0),
        Err(err) => stop(Stop::Error { site, kind: ExecErrorKind::Helper { id, err } }, 0),
    }
}

/// The entry's signature (see [`super::lower::header`]).
#[cfg(target_arch = "riscv64")]
type Entry = unsafe extern "C" fn(r1: u64, r2: u64, r10: u64, ctx: *mut RunCtx<'_>, dispatch: usize, floor: u64) -> Ret;

impl JitProgram {
    /// Compiles `prog` (lddw resolved) and maps the code executable, unchecked: the
    /// runtime's `jit_compile` proves the image first where z3 is built in.
    pub fn new(prog: &Program, ext: Ext) -> Result<JitProgram, JitError> {
        JitProgram::from_image(compile(prog, ext)?)
    }

    /// Maps a compiled image executable.
    pub fn from_image(image: Image) -> Result<JitProgram, JitError> {
        #[cfg(target_arch = "riscv64")]
        {
            let mut buf = dynasmrt::mmap::MutableBuffer::new(image.code.len()).map_err(|e| JitError::Emit(format!("mapping code: {e}")))?;
            buf.set_len(image.code.len());
            buf[..].copy_from_slice(&image.code);
            // Writable, then executable, never both; make_exec synchronises the icache.
            let code = buf.make_exec().map_err(|e| JitError::Emit(format!("mapping code executable: {e}")))?;
            Ok(JitProgram { image, code })
        }
        #[cfg(not(target_arch = "riscv64"))]
        {
            drop(image);
            Err(JitError::NotRiscv64)
        }
    }

    pub fn image(&self) -> &Image {
        &self.image
    }

    /// The BPF slot whose code contains `addr`.
    #[cfg(target_arch = "riscv64")]
    fn slot_at(&self, addr: u64) -> usize {
        self.image.slot_at(addr.wrapping_sub(self.code.as_ptr() as u64) as usize).unwrap_or(0)
    }

    /// Runs with r1, r2 and the regions helpers may access, like the interpreter's
    /// `run_with`, on a stack of its own that starts all zero (what a program that may
    /// read stack it never wrote, unverified, needs to run the same every time).
    /// `insns_executed` is 0: JIT code does not count.
    pub fn run_with(&self, r1: u64, r2: u64, regions: Regions<'_>, env: &mut dyn Env) -> Result<Outcome, ExecError> {
        self.run_on(&mut Stack::new(), r1, r2, regions, env)
    }

    /// [`JitProgram::run_with`] on `stack` as it is (the runtime's stack of the CPU
    /// running it): a verified program never reads stack it did not write. JIT code's
    /// stores leave no mark, so afterwards the whole stack counts as written.
    pub fn run_on(&self, stack: &mut Stack, r1: u64, r2: u64, regions: Regions<'_>, env: &mut dyn Env) -> Result<Outcome, ExecError> {
        let top = stack.top();
        let base = top - STACK_SIZE as u64;
        let out = self.run_at(top, r1, r2, regions, env);
        stack.written(base);
        out
    }

    fn run_at(&self, top: u64, r1: u64, r2: u64, regions: Regions<'_>, env: &mut dyn Env) -> Result<Outcome, ExecError> {
        let base = top - STACK_SIZE as u64;
        let mem = Memory::new(base..top, regions);
        let mut ctx = RunCtx { r10_at_stop: top, depth_site: 0, env, mem: &mem, stop: None };
        #[cfg(target_arch = "riscv64")]
        {
            // SAFETY: the code is an image compiled by `compile` with this entry ABI; it
            // touches only its BPF stack, the memory the program was given (the caller's
            // promise: a valid or verified program) and `ctx` through the dispatcher.
            let ret = unsafe {
                let entry: Entry = core::mem::transmute(self.code.as_ptr());
                entry(r1, r2, top, &mut ctx, dispatch as *const () as usize, base + crate::mem::STACK_FRAME as u64)
            };
            ctx.env.end(&mem);
            let done = |r0: u64, tail_call: Option<u64>| Ok(Outcome { r0, insns_executed: 0, tail_call });
            match ret.stop as i64 {
                0 => return done(ret.r0, None),
                super::lower::STOP_CALL_DEPTH => return Err(ExecError { pc: self.slot_at(ctx.depth_site), kind: ExecErrorKind::CallDepth }),
                _ => {}
            }
            match ctx.stop.take() {
                Some(Stop::Exit) => done(ret.r0, None),
                Some(Stop::TailCall { site, .. }) if ctx.r10_at_stop != top => Err(ExecError { pc: self.slot_at(site), kind: ExecErrorKind::TailCallInSubprog }),
                Some(Stop::TailCall { target, .. }) => done(0, Some(target)),
                Some(Stop::Error { site, kind }) => Err(ExecError { pc: self.slot_at(site), kind }),
                None => unreachable!("the code stops only when the dispatcher says so"),
            }
        }
        #[cfg(not(target_arch = "riscv64"))]
        {
            let _ = (r1, r2, &mut ctx);
            match self.never {}
        }
    }
}
