//! The program's control-flow graph as the verifier needs it, by iterative walks only
//! (a crafted graph cannot overflow the host stack): every instruction reachable from
//! the entry (the kernel refuses unreachable ones), the loops (each back edge `s → h` of
//! a depth-first walk of one function, with `h` dominating `s`: a loop entered anywhere
//! but its head, an irreducible one, is refused, and clang does not emit them; and the
//! natural loop's body), and a weak topological order, the fixpoint's iteration order.
//!
//! The weak topological order (Bourdoncle's) is, for a reducible graph, a reverse
//! postorder with each loop made contiguous: every instruction is keyed by the
//! reverse-postorder positions of the heads of the loops around it, outermost first,
//! then its own. A loop's head then comes first in its loop, its body right after, and
//! every edge but a back edge goes forward; a worklist that takes the lowest position
//! first stabilises an inner loop before it leaves for its outer loop, and a loop before
//! what follows it.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::isa::{Insn, Program};

/// Why a program's graph is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("unreachable insn {0}")]
    Unreachable(usize),
    #[error("irreducible loop: the back-edge from insn {from} to {to} enters a loop other than through its head")]
    Irreducible { from: usize, to: usize },
}

/// One loop: its head, the sources of its back edges, and its body (head included), as
/// instruction indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loop {
    pub head: usize,
    pub latches: Vec<usize>,
    pub body: Vec<usize>,
}

impl Loop {
    pub fn contains(&self, i: usize) -> bool {
        self.body.binary_search(&i).is_ok()
    }
}

/// The facts the analysis and the termination proof use.
#[derive(Clone, Debug)]
pub struct Graph {
    /// The position of each instruction in the weak topological order of the whole
    /// program (calls followed into their callees).
    pub order: Vec<usize>,
    /// The loops, sorted by head.
    pub loops: Vec<Loop>,
}

/// Successors within the function, and a call's callee, for the reachability walk (at
/// most three: no allocation per instruction).
fn edges(prog: &Program, i: usize, calls: bool) -> [Option<usize>; 3] {
    let insn = &prog.insns()[i];
    let callee = match insn {
        Insn::CallLocal { .. } if calls => prog.cfg().jump_target(i, insn),
        _ => None,
    };
    let mut out = [None, None, callee];
    for (k, j) in prog.cfg().successors(i, insn).enumerate().take(2) {
        out[k] = Some(j);
    }
    out
}

/// Depth-first from `root` (`calls`: into callees too); `visit(i)` in postorder, and each
/// edge to an instruction still on the walk's stack (a retreating edge) reported.
fn dfs(prog: &Program, root: usize, calls: bool, seen: &mut [bool], post: &mut Vec<usize>, back: &mut Vec<(usize, usize)>) {
    let n = prog.insns().len();
    let mut on_stack = vec![false; n];
    let mut stack: Vec<(usize, [Option<usize>; 3], usize)> = Vec::new();
    seen[root] = true;
    on_stack[root] = true;
    stack.push((root, edges(prog, root, calls), 3));
    while let Some((i, rest, left)) = stack.last_mut() {
        let i = *i;
        // Edges taken from the last: the fall-through (first) is walked first.
        let next = loop {
            if *left == 0 {
                break None;
            }
            *left -= 1;
            if let Some(j) = rest[*left] {
                break Some(j);
            }
        };
        match next {
            Some(j) if on_stack[j] => back.push((i, j)),
            Some(j) if !seen[j] => {
                seen[j] = true;
                on_stack[j] = true;
                stack.push((j, edges(prog, j, calls), 3));
            }
            Some(_) => {}
            None => {
                on_stack[i] = false;
                post.push(i);
                stack.pop();
            }
        }
    }
}

/// Whether `to` can be reached from `from` within the function without passing `avoid`.
pub fn reaches(prog: &Program, from: usize, to: usize, avoid: usize, within: Option<&Loop>) -> bool {
    let n = prog.insns().len();
    let mut seen = vec![false; n];
    let mut work = vec![from];
    seen[from] = true;
    while let Some(i) = work.pop() {
        if i == to {
            return true;
        }
        for j in prog.cfg().successors(i, &prog.insns()[i]) {
            if j != avoid && !seen[j] && within.is_none_or(|l| l.contains(j)) {
                seen[j] = true;
                work.push(j);
            }
        }
    }
    false
}

impl Graph {
    pub fn new(prog: &Program) -> Result<Graph, GraphError> {
        let n = prog.insns().len();
        let cfg = prog.cfg();
        let mut seen = vec![false; n];
        let mut post = Vec::with_capacity(n);
        dfs(prog, 0, true, &mut seen, &mut post, &mut Vec::new());
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(GraphError::Unreachable(cfg.slot_of(i)));
        }
        let mut order = vec![0; n];
        for (k, &i) in post.iter().rev().enumerate() {
            order[i] = k;
        }
        // Each instruction's predecessors within its function, in one array: those of `j`
        // are `preds[start[j]..start[j + 1]]` (no allocation per instruction).
        let mut start = vec![0usize; n + 1];
        for (i, insn) in prog.insns().iter().enumerate() {
            for j in cfg.successors(i, insn) {
                start[j + 1] += 1;
            }
        }
        for k in 0..n {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut preds = vec![0usize; start[n]];
        for (i, insn) in prog.insns().iter().enumerate() {
            for j in cfg.successors(i, insn) {
                preds[fill[j]] = i;
                fill[j] += 1;
            }
        }
        // Loops, function by function.
        let mut heads: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &f in cfg.subprograms() {
            let mut seen = vec![false; n];
            let mut back = Vec::new();
            dfs(prog, f, false, &mut seen, &mut Vec::new(), &mut back);
            for (s, h) in back {
                // `h` dominates `s` when `s` cannot be reached from the entry avoiding `h`.
                if h != f && reaches(prog, f, s, h, None) {
                    return Err(GraphError::Irreducible { from: cfg.slot_of(s), to: cfg.slot_of(h) });
                }
                heads.entry(h).or_default().push(s);
            }
        }
        let loops: Vec<Loop> = heads
            .into_iter()
            .map(|(head, mut latches)| {
                latches.sort_unstable();
                latches.dedup();
                // The natural loop: the head, and everything that reaches a latch
                // backwards without passing the head.
                let mut inside = vec![false; n];
                inside[head] = true;
                let mut work = latches.clone();
                while let Some(i) = work.pop() {
                    if !inside[i] {
                        inside[i] = true;
                        work.extend(preds[start[i]..start[i + 1]].iter().copied().filter(|&p| !inside[p]));
                    }
                }
                let body = (0..n).filter(|&i| inside[i]).collect();
                Loop { head, latches, body }
            })
            .collect();
        let order = weak_topological(&order, &loops);
        Ok(Graph { order, loops })
    }
}

impl Graph {
    /// Whether instruction `i` is a loop's head.
    pub fn is_head(&self, i: usize) -> bool {
        self.loops.binary_search_by_key(&i, |l| l.head).is_ok()
    }
}

/// The weak topological order from a reverse postorder `rpo` (position by instruction)
/// and the natural loops: positions after sorting by (heads around, outermost first;
/// then the instruction itself), all as reverse-postorder positions. A loop's head
/// dominates its body, so it comes first there, and an outer head before an inner one.
fn weak_topological(rpo: &[usize], loops: &[Loop]) -> Vec<usize> {
    if loops.is_empty() {
        return rpo.to_vec();
    }
    let n = rpo.len();
    let mut around: Vec<Vec<usize>> = vec![Vec::new(); n];
    for l in loops {
        for &i in &l.body {
            around[i].push(rpo[l.head]);
        }
    }
    let mut by: Vec<usize> = (0..n).collect();
    for a in around.iter_mut() {
        a.sort_unstable();
    }
    by.sort_unstable_by(|&x, &y| around[x].iter().chain([&rpo[x]]).cmp(around[y].iter().chain([&rpo[y]])));
    let mut order = vec![0; n];
    for (k, &i) in by.iter().enumerate() {
        order[i] = k;
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::asm::assemble;

    fn graph(src: &str) -> Result<Graph, GraphError> {
        Graph::new(&Program::new(assemble(src).unwrap()).unwrap())
    }

    #[test]
    fn loops_and_their_bodies() {
        // A counted loop at 1..=3 inside the program, with an exit at 4.
        let g = graph("mov r0, 0\nadd r0, 1\njlt r0, 10, +1\nja +1\nja -4\nexit").unwrap();
        assert_eq!(g.loops, [Loop { head: 1, latches: vec![4], body: vec![1, 2, 4] }]);
        // The order puts the entry first and the loop head before its body.
        assert_eq!(g.order[0], 0);
        assert!(g.order[1] < g.order[2] && g.order[2] < g.order[4]);
        assert_eq!(graph("mov r0, 0\nexit").unwrap().loops, []);
    }

    #[test]
    fn the_order_keeps_each_loop_contiguous_and_every_other_edge_forward() {
        // A reverse postorder may put the loop's exit (6) before the body's last
        // instructions (4, 5); the weak topological order puts it after the loop.
        let src = "mov r0, 0\nadd r0, 1\njgt r0, 10, +3\njeq r0, 5, +0\nja +0\nja -5\nexit";
        let prog = Program::new(assemble(src).unwrap()).unwrap();
        let g = Graph::new(&prog).unwrap();
        let l = &g.loops[0];
        assert_eq!((l.head, l.body.as_slice()), (1, &[1, 2, 3, 4, 5][..]));
        let mut span: Vec<usize> = l.body.iter().map(|&i| g.order[i]).collect();
        span.sort_unstable();
        assert_eq!(span, (g.order[1]..g.order[1] + 5).collect::<Vec<_>>(), "contiguous, head first");
        assert!(g.order[6] > g.order[5]);
        // Nested loops, and every edge that is not a back edge goes forward.
        let src = "mov r1, 0\nmov r2, 0\nadd r2, 1\njlt r2, 4, -2\nadd r1, 1\njlt r1, 4, -5\nmov r0, 0\nexit";
        let prog = Program::new(assemble(src).unwrap()).unwrap();
        let g = Graph::new(&prog).unwrap();
        assert_eq!(g.loops.len(), 2);
        for (i, insn) in prog.insns().iter().enumerate() {
            for j in prog.cfg().successors(i, insn) {
                let back = g.loops.iter().any(|l| l.head == j && l.latches.contains(&i));
                assert_eq!(g.order[j] > g.order[i], !back, "edge {i} -> {j}");
            }
        }
    }

    #[test]
    fn unreachable_and_irreducible_graphs_are_refused() {
        assert_eq!(graph("mov r0, 0\nja +1\nmov r0, 1\nexit").unwrap_err(), GraphError::Unreachable(2));
        // Two ways into the cycle 2 <-> 3.
        let e = graph("mov r0, 0\njeq r1, 0, +1\nja +0\njeq r0, 5, +1\nja -3\nexit").unwrap_err();
        assert!(matches!(e, GraphError::Irreducible { .. }), "{e:?}");
    }

    #[test]
    fn a_deep_chain_does_not_overflow_the_stack() {
        let mut src = String::new();
        for _ in 0..100_000 {
            src.push_str("mov r0, 0\n");
        }
        src.push_str("exit");
        assert!(graph(&src).is_ok());
    }
}
