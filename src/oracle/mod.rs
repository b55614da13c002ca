//! The soundness oracle (issue 13): random programs the verifier must judge
//! ([`gen`]), and for each it accepts, runs in the checked interpreter on random
//! packets, with exact regions (each map value its own region of `value_size` bytes)
//! and a watcher ([`shadow`]) that sees reads of registers and stack bytes never
//! written and checks, at every executed instruction, that the concrete registers lie
//! in the verifier's abstract state there. A run-time fault in an accepted program, or a
//! register outside its state, is a soundness escape; [`Oracle::reduce`] shrinks its
//! program to the snippets (and lines) that still escape.
//!
//! The programs are XDP programs, the one program type whose every context field the
//! runtime rewrites: an access to the context that was not rewritten is an escape too.

pub mod gen;
pub mod shadow;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::interp::Tracer;

use crate::isa::{asm, Program, RawInsn};
use crate::maps::{Map, MapDef};
use crate::prog::ProgType;
use crate::runtime::{fd_array, Context, ProgramLoad, RunConfig, RunError, Runtime, StaticKernel, Task};
use crate::verifier::{verify_with_states, NoLog, ProgramInfo};
use gen::{Rng, Snippet};
use shadow::{Bases, Item, Items, Shadow};

/// Runs of each accepted program, each on its own random packet and map contents.
pub const RUNS: usize = 4;

/// The instruction budget of one run (the generated loops end within a few dozen).
const BUDGET: u64 = 100_000;

/// What the oracle found of one program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The verifier refused it: the reason.
    Refused(String),
    /// Accepted, and every run was safe: instructions checked against a state, and what
    /// the runs exercised.
    Safe { steps: u64, exercised: Items },
    /// Accepted, and a run did what an accepted program must not.
    Escape { slot: usize, what: String },
}

/// A soundness escape with what reproduces it.
#[derive(Clone, Debug)]
pub struct Escape {
    /// The case's seed: `gen::snippets(&mut Rng(seed), MAX_SNIPPETS)` and the inputs.
    pub seed: u64,
    /// The reduced program, in rvbpf's assembly.
    pub program: String,
    pub slot: usize,
    pub what: String,
}

/// Snippets per generated program, at most.
pub const MAX_SNIPPETS: usize = 6;

/// One oracle: a runtime and the maps its programs name (one per thread: runs change
/// the maps).
pub struct Oracle {
    rt: Runtime,
    /// The runtime's kernel services, restarted before each run so both modes' runs see
    /// the same clock and random numbers.
    kernel: Arc<StaticKernel>,
    maps: Vec<Arc<Map>>,
}

impl Default for Oracle {
    fn default() -> Self {
        Oracle::new()
    }
}

impl Oracle {
    pub fn new() -> Oracle {
        let kernel = Arc::new(StaticKernel::new(Task::default()));
        let rt = Runtime::new(kernel.clone(), 1);
        let maps = gen::MAPS
            .iter()
            .map(|&(name, map_type, key_size, value_size, max_entries)| {
                let def = MapDef { map_type, key_size, value_size, max_entries, map_flags: 0 };
                rt.create_map(name, def).map(|(_, m)| m).unwrap_or_else(|e| unreachable!("the oracle's map {name}: {e}"))
            })
            .collect();
        Oracle { rt, kernel, maps }
    }

    /// The verdict on the program of `snippets`, run on the inputs of `seed`.
    pub fn judge(&self, snippets: &[Snippet], seed: u64) -> Verdict {
        let text = gen::program(snippets);
        let prog = match asm::assemble(&text).map_err(|e| e.to_string()).and_then(|i| Program::new(i).map_err(|e| e.to_string())) {
            Ok(p) => p,
            Err(e) => return Verdict::Refused(format!("not a program: {e}")),
        };
        let resolve = fd_array(&self.maps);
        let helpers = |id| crate::helpers::linux(id).map(|h| (h.proto, h.types));
        let t = ProgType::Xdp;
        let mut log = NoLog;
        let mut info = ProgramInfo { prog_type: t, attach: None, ctx: t.ctx(), helpers: &helpers, gpl: true, maps: &resolve, log: &mut log, returns_void: false, log_level: 0, clock: None };
        let (verdict, analysis) = verify_with_states(&prog, &mut info);
        let verified = match verdict {
            Ok(v) => v,
            Err(e) => return Verdict::Refused(e.to_string()),
        };
        let Some(analysis) = analysis else { return Verdict::Refused(String::from("accepted without an analysis")) };
        let raw: Vec<RawInsn> = prog.iter().flat_map(|(_, i)| {
            let (a, b) = i.encode();
            core::iter::once(a).chain(b)
        }).collect();
        let req = ProgramLoad { name: "oracle", prog_type: t, attach: None, insns: &raw, license: "GPL", functions: &[], maps: &resolve, returns_void: false, log_level: 0 };
        let loaded = match self.rt.load_program(&req) {
            Ok(l) => l,
            Err(e) => return Verdict::Escape { slot: 0, what: format!("verified, then refused by the load: {e}") },
        };
        let verdict = self.runs(&prog, &analysis, &verified, &loaded, seed);
        // The runtime keeps what it loads: this program is done with.
        self.rt.remove_program(loaded.id);
        verdict
    }

    /// [`RUNS`] runs of the loaded program on the inputs of `seed`.
    fn runs(&self, prog: &Program, analysis: &crate::verifier::analyze::Analysis, verified: &crate::verifier::Verified, loaded: &Arc<crate::runtime::LoadedProgram>, seed: u64) -> Verdict {
        let ctx_slots: Vec<usize> = verified.ctx_loads.iter().map(|&(s, _)| s).collect();
        let mut rng = Rng(seed ^ 0x6f72_6163_6c65);
        let mut steps = 0;
        let mut exercised = Items::default();
        for _ in 0..RUNS {
            let maps_seed = Rng(rng.0);
            self.scramble_maps(&mut rng);
            let len = rng.pick(&[0usize, 1, 2, 8, 13, 14, 15, 16, 17, 24, 31, 32, 33, 48, 64, 300]);
            let mut packet: Vec<u8> = (0..len).map(|_| rng.word() as u8).collect();
            let packet_before = packet.clone();
            let (ifindex, queue) = (rng.word() as u32, rng.below(4) as u32);
            let data = packet.as_ptr() as u64;
            let bases = Bases {
                ctx: 0,
                data,
                data_end: data + len as u64,
                maps: verified.maps.iter().map(|m| m.exact_regions().iter().map(|r| (r.start, r.len)).collect()).collect(),
                sizes: verified.maps.iter().map(|m| (m.def().key_size as u64, m.def().value_size as u64)).collect(),
                ctx_slots: ctx_slots.clone(),
                ctx_len: core::mem::size_of::<crate::runtime::context::XdpBuff>() as u64,
            };
            let shadow = Shadow::new(prog.cfg(), analysis, bases);
            let mut ctx = Context::Xdp { packet: &mut packet, ingress_ifindex: ifindex, rx_queue_index: queue };
            let config = RunConfig { budget: BUDGET, ..RunConfig::default() };
            let mut tracers = (shadow, Steps::default());
            self.kernel.restart();
            let out = self.rt.run_checked(loaded, &mut ctx, &config, &mut tracers);
            let (shadow, checked_steps) = tracers;
            if let Some(f) = shadow.fault {
                return Verdict::Escape { slot: f.slot, what: f.what };
            }
            let checked = match out {
                Ok(r) => r,
                Err(RunError::Exec { err, .. }) => return Verdict::Escape { slot: err.pc, what: err.kind.to_string() },
                Err(e) => return Verdict::Escape { slot: 0, what: e.to_string() },
            };
            // The same inputs again, in verified mode (what a loaded program runs in):
            // it must take the same steps with the same values, and leave r0, the packet
            // and the maps as the checked run did.
            let maps_after = self.snapshot_maps();
            self.scramble_maps(&mut Rng(maps_seed.0));
            let mut again = packet_before;
            let mut fast_steps = Steps::default();
            self.kernel.restart();
            let fast = self.rt.run_traced(loaded, &mut Context::Xdp { packet: &mut again, ingress_ifindex: ifindex, rx_queue_index: queue }, &config, &mut fast_steps);
            let bases = [(packet.as_ptr() as u64, again.as_ptr() as u64), (checked_steps.ctx(), fast_steps.ctx())];
            let maps: Vec<(u64, u64)> = self.maps.iter().flat_map(|m| m.regions()).map(|r| (r.start, r.start + r.len)).collect();
            let steps_differ = checked_steps.differ(&fast_steps, &bases, &maps);
            let differs = match fast {
                Ok(_) if steps_differ.is_some() => steps_differ,
                Ok(r) if r.r0 != checked.r0 => Some(format!("r0 {:#x}, checked mode {:#x}", r.r0, checked.r0)),
                Ok(_) if again != packet => Some(format!("packet {again:02x?}, checked mode {packet:02x?}")),
                Ok(_) if self.snapshot_maps() != maps_after => Some(String::from("the maps differ from the checked run's")),
                Ok(_) => None,
                Err(e) => Some(format!("{e}")),
            };
            if let Some(d) = differs {
                return Verdict::Escape { slot: 0, what: format!("verified mode differs from checked mode: {d}") };
            }
            steps += shadow.steps;
            exercised = exercised.union(shadow.exercised);
        }
        Verdict::Safe { steps, exercised }
    }

    /// Every map's keys and values, in key order.
    fn snapshot_maps(&self) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        self.maps
            .iter()
            .map(|m| {
                let mut keys = m.keys();
                keys.sort();
                keys.into_iter()
                    .map(|k| {
                        let mut v = alloc::vec![0u8; m.syscall_value_size()];
                        // A key just listed is present.
                        let _ = m.lookup(&k, &mut v);
                        (k, v)
                    })
                    .collect()
            })
            .collect()
    }

    /// Random contents: every array value, and some of the hash's keys present.
    fn scramble_maps(&self, rng: &mut Rng) {
        for m in &self.maps {
            let d = m.def();
            // Whatever an earlier run inserted goes first, so the contents depend on `rng` alone.
            if d.map_type != crate::maps::map_type::ARRAY {
                for key in m.keys() {
                    let _ = m.delete(&key);
                }
            }
            for k in 0..d.max_entries {
                let value: Vec<u8> = (0..d.value_size).map(|_| rng.word() as u8).collect();
                let key = k.to_ne_bytes();
                let present = d.map_type == crate::maps::map_type::ARRAY || rng.one_in(2);
                // Neither can fail: the keys are the map's own, no more than its entries.
                if present {
                    let _ = m.update(&key, &value, 0);
                } else {
                    let _ = m.delete(&key);
                }
            }
        }
    }

    /// The case of `seed`: its program and verdict.
    pub fn case(&self, seed: u64) -> (Vec<Snippet>, Verdict) {
        let snippets = gen::snippets(&mut Rng(seed), MAX_SNIPPETS);
        let v = self.judge(&snippets, seed);
        (snippets, v)
    }

    /// The smallest program found that still escapes: snippets dropped one at a time,
    /// then lines, while the program still escapes on the inputs of `seed`.
    pub fn reduce(&self, mut snippets: Vec<Snippet>, seed: u64) -> Vec<Snippet> {
        let escapes = |s: &[Snippet]| matches!(self.judge(s, seed), Verdict::Escape { .. });
        let mut changed = true;
        while changed {
            changed = false;
            let mut i = 0;
            while i < snippets.len() {
                let mut fewer = snippets.clone();
                fewer.remove(i);
                if escapes(&fewer) {
                    snippets = fewer;
                    changed = true;
                } else {
                    i += 1;
                }
            }
            for s in 0..snippets.len() {
                let mut j = 0;
                while j < snippets[s].lines.len() {
                    let mut fewer = snippets.clone();
                    fewer[s].lines.remove(j);
                    if escapes(&fewer) {
                        snippets = fewer;
                        changed = true;
                    } else {
                        j += 1;
                    }
                }
            }
        }
        snippets
    }

    /// The escape of `seed`, reduced, if its program escapes.
    pub fn escape(&self, seed: u64) -> Option<Escape> {
        let (snippets, v) = self.case(seed);
        if !matches!(v, Verdict::Escape { .. }) {
            return None;
        }
        let small = self.reduce(snippets.clone(), seed);
        // Reduction keeps only programs that escape; should the reduced one not escape
        // again (a run that depends on more than the seed), the whole program is shown.
        [small, snippets].into_iter().find_map(|s| match self.judge(&s, seed) {
            Verdict::Escape { slot, what } => Some(Escape { seed, program: gen::program(&s), slot, what }),
            _ => None,
        })
    }
}

/// What a campaign found.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub cases: u64,
    pub accepted: u64,
    pub refused: u64,
    /// Instructions checked against a state, over every run.
    pub steps: u64,
    /// Accepted programs that exercised each [`Item`] (by `Item::ALL`'s order) in a safe
    /// run.
    pub exercised: [u64; Item::ALL.len()],
    pub escapes: Vec<Escape>,
}

impl Tally {
    /// Counts one case's verdict (and keeps its escape).
    pub fn add(&mut self, oracle: &Oracle, seed: u64, v: &Verdict) {
        self.cases += 1;
        match v {
            Verdict::Refused(_) => self.refused += 1,
            Verdict::Safe { steps, exercised } => {
                self.accepted += 1;
                self.steps += steps;
                for (n, item) in self.exercised.iter_mut().zip(Item::ALL) {
                    *n += exercised.contains(item) as u64;
                }
            }
            Verdict::Escape { .. } => {
                self.accepted += 1;
                self.escapes.extend(oracle.escape(seed));
            }
        }
    }

    /// Both tallies.
    pub fn merge(mut self, o: Tally) -> Tally {
        self.cases += o.cases;
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.steps += o.steps;
        self.exercised.iter_mut().zip(o.exercised).for_each(|(n, m)| *n += m);
        self.escapes.extend(o.escapes);
        self
    }
}

/// Every step of a run: the instruction's slot and the registers after it.
#[derive(Default)]
struct Steps(Vec<(usize, [u64; 11])>, Option<u64>);

impl Tracer for Steps {
    const ENABLED: bool = true;
    fn step(&mut self, pc: usize, _: &crate::isa::Insn, before: &[u64; 11], after: &[u64; 11]) {
        self.1.get_or_insert(before[1]);
        self.0.push((pc, *after));
    }
}

impl Steps {
    /// The context pointer the run started with (r1).
    fn ctx(&self) -> u64 {
        self.1.unwrap_or(0)
    }

    /// Where two runs of one program on the same inputs part: a different step, or a
    /// register value that differs other than as a pointer into a buffer at a different
    /// address in each run (`bases`: (this run's, the other's) packet and context) or
    /// into the same map (`maps`: each map's storage; a hash map's value for a key may
    /// sit in another slot once the maps are refilled).
    fn differ(&self, other: &Steps, bases: &[(u64, u64)], maps: &[(u64, u64)]) -> Option<String> {
        let near = |a: u64, b: u64| {
            bases.iter().any(|&(x, y)| a.wrapping_sub(x) == b.wrapping_sub(y) && a.wrapping_sub(x) < 1 << 16)
                || maps.iter().any(|&(lo, hi)| (lo..hi).contains(&a) && (lo..hi).contains(&b))
        };
        for (k, ((pa, ra), (pb, rb))) in self.0.iter().zip(&other.0).enumerate() {
            if pa != pb {
                return Some(format!("step {k} runs slot {pb}, checked mode slot {pa}"));
            }
            if let Some(r) = (0..11).find(|&r| ra[r] != rb[r] && !near(ra[r], rb[r])) {
                return Some(format!("after step {k} (slot {pa}) r{r} = {:#x}, checked mode {:#x}", rb[r], ra[r]));
            }
        }
        (self.0.len() != other.0.len()).then(|| format!("{} steps, checked mode {}", other.0.len(), self.0.len()))
    }
}
