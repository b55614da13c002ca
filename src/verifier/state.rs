//! The abstract state at one program point: the eleven registers, the stack frames of
//! the calls in progress with the registers each caller keeps (r6–r10), and the
//! references the program holds (ring-buffer records it must submit or discard).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::domain::scalar::Thresholds;
use super::domain::stack::Stack;
use super::reg::{Reg, Region};

/// The stack frames of the calls in progress, the program's first. Shared between
/// states until one writes (a state is copied at every step, and most instructions touch
/// no frame): the list, and each frame in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frames(Arc<Vec<Arc<Stack<Reg>>>>);

impl core::ops::Deref for Frames {
    type Target = [Arc<Stack<Reg>>];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Frames {
    /// A call: a new frame, nothing written to it.
    pub fn push(&mut self) {
        Arc::make_mut(&mut self.0).push(Arc::new(Stack::new()));
    }

    /// A return: the callee's frame ends.
    pub fn pop(&mut self) {
        Arc::make_mut(&mut self.0).pop();
    }

    /// Frame `k`, to write (unshared first).
    pub fn get_mut(&mut self, k: usize) -> &mut Stack<Reg> {
        Arc::make_mut(&mut Arc::make_mut(&mut self.0)[k])
    }

    /// Each frame of both, combined by `f`; a frame both share stays shared.
    fn zip_with(&self, o: &Frames, f: impl Fn(&Stack<Reg>, &Stack<Reg>) -> Stack<Reg>) -> Frames {
        if Arc::ptr_eq(&self.0, &o.0) {
            return self.clone();
        }
        Frames(Arc::new(self.iter().zip(o.iter()).map(|(a, b)| if Arc::ptr_eq(a, b) { a.clone() } else { Arc::new(f(a, b)) }).collect()))
    }
}

/// Registers, frames and references.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub regs: [Reg; 11],
    /// Frame 0 is the program's; each bpf-to-bpf call in progress adds one.
    pub frames: Frames,
    /// For each call in progress (frame k + 1), the caller's r6–r10 at the call.
    pub saved: Vec<[Reg; 5]>,
    /// The ids of acquired references not yet released, sorted.
    pub refs: Vec<u32>,
}

impl State {
    /// At the program's first instruction: r1 the context, r10 the top of frame 0, the
    /// rest never written (the runtime sets them to 0, but a program may not rely on it,
    /// as on Linux).
    pub fn entry() -> State {
        State::entry_with(Reg::ptr(Region::Ctx), Reg::not_init())
    }

    /// At the first instruction with `r1` and `r2` given (the conformance convention
    /// passes memory and its length).
    pub fn entry_with(r1: Reg, r2: Reg) -> State {
        let mut regs = [Reg::not_init(); 11];
        regs[1] = r1;
        regs[2] = r2;
        regs[10] = Reg::ptr(Region::Stack { frame: 0 });
        State { regs, frames: Frames(Arc::new(vec![Arc::new(Stack::new())])), saved: Vec::new(), refs: Vec::new() }
    }

    /// The frame of the running function.
    pub fn frame(&self) -> usize {
        self.frames.len() - 1
    }

    /// Frame `k`, to write (unshared first).
    pub fn frame_mut(&mut self, k: usize) -> &mut Stack<Reg> {
        self.frames.get_mut(k)
    }

    /// Applies `f` to every register and every spilled register of every frame,
    /// including the registers callers keep (a frame is unshared only where it has
    /// spills).
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut Reg)) {
        self.regs.iter_mut().for_each(&mut f);
        for s in self.saved.iter_mut() {
            s.iter_mut().for_each(&mut f);
        }
        for k in 0..self.frames.len() {
            if self.frames[k].spilled().next().is_some() {
                self.frames.get_mut(k).for_each_spill(&mut f);
            }
        }
    }

    /// What both states allow. States of different call depths do not meet (each call
    /// site's return is its own program point). A reference held on either path is held.
    pub fn join(&self, o: &State) -> State {
        let regs = core::array::from_fn(|k| self.regs[k].join(&o.regs[k]));
        let frames = self.frames.zip_with(&o.frames, |a, b| a.join(b));
        let saved = self.saved.iter().zip(&o.saved).map(|(a, b)| core::array::from_fn(|k| a[k].join(&b[k]))).collect();
        let mut refs = self.refs.clone();
        refs.extend(o.refs.iter().filter(|r| !self.refs.contains(r)));
        refs.sort_unstable();
        State { regs, frames, saved, refs }
    }

    /// The join, with every register and every spilled register widened (up to the
    /// thresholds `t`); the stack's bytes are joined (a byte's knowledge only weakens,
    /// so they stabilise by themselves).
    pub fn widen(&self, o: &State, t: &Thresholds<u64>) -> State {
        let mut j = self.join(o);
        for k in 0..11 {
            j.regs[k] = self.regs[k].widen(&o.regs[k], t);
        }
        j.frames = self.frames.zip_with(&o.frames, |a, b| a.join_with(b, |x, y| x.widen(y, t)));
        j
    }

    /// Every state `self` allows, `o` allows too.
    pub fn within(&self, o: &State) -> bool {
        self.frames.len() == o.frames.len() && o.join(self) == *o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::reg::Kind;

    #[test]
    fn entry_state_and_join() {
        let s = State::entry();
        assert_eq!(s.regs[1].kind, Kind::Ptr(Region::Ctx));
        assert_eq!(s.regs[0].kind, Kind::NotInit);
        let mut a = s.clone();
        let mut b = s.clone();
        a.regs[2] = Reg::konst(1);
        b.regs[2] = Reg::konst(2);
        a.frame_mut(0).store(-8, 8, Some(Reg::konst(7)), false).unwrap();
        let j = a.join(&b);
        assert!(a.within(&j) && b.within(&j) && !j.within(&a));
        assert!(j.frames[0].load(-8, 8).is_err(), "written on one path only");
        // A reference held on one path is held after the join.
        a.refs.push(3);
        let j = a.join(&b);
        assert_eq!(j.refs, [3]);
        assert!(b.within(&j) && !j.within(&b));
    }
}
