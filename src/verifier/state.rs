//! The abstract state at one program point: the eleven registers and the stack frames of
//! the calls in progress.

use alloc::vec;
use alloc::vec::Vec;

use super::domain::stack::Stack;
use super::reg::{Reg, Region};

/// Registers and frames.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub regs: [Reg; 11],
    /// Frame 0 is the program's; each bpf-to-bpf call in progress adds one.
    pub frames: Vec<Stack<Reg>>,
}

impl State {
    /// At the program's first instruction: r1 the context, r10 the top of frame 0, the
    /// rest never written (the runtime sets them to 0, but a program may not rely on it,
    /// as on Linux).
    pub fn entry() -> State {
        let mut regs = [Reg::not_init(); 11];
        regs[1] = Reg::ptr(Region::Ctx);
        regs[10] = Reg::ptr(Region::Stack { frame: 0 });
        State { regs, frames: vec![Stack::new()] }
    }

    /// The frame of the running function.
    pub fn frame(&self) -> usize {
        self.frames.len() - 1
    }

    /// What both states allow. States of different call depths do not meet (each call
    /// site's return is its own program point).
    pub fn join(&self, o: &State) -> State {
        let regs = core::array::from_fn(|k| self.regs[k].join(&o.regs[k]));
        let frames = self.frames.iter().zip(&o.frames).map(|(a, b)| a.join(b)).collect();
        State { regs, frames }
    }

    /// The join, with every register widened (stack contents are joined: a byte's
    /// knowledge only weakens, so they stabilise by themselves).
    pub fn widen(&self, o: &State) -> State {
        let mut j = self.join(o);
        for k in 0..11 {
            j.regs[k] = self.regs[k].widen(&o.regs[k]);
        }
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
        a.frames[0].store(-8, 8, Some(Reg::konst(7)), false).unwrap();
        let j = a.join(&b);
        assert!(a.within(&j) && b.within(&j) && !j.within(&a));
        assert!(j.frames[0].load(-8, 8).is_err(), "written on one path only");
    }
}
