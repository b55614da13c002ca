//! Hook points: named places where the host fires programs with a context (the seed
//! design's `call $bpf_program(arg0 = context)`). A kprobe hook is named like its
//! section, `kprobe/do_sys_openat2`; the integrator registers the hooks it has and fires
//! them from its probe handlers, from any number of threads at once.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use spin::RwLock;

use super::{Context, LoadedProgram, RunConfig, RunError, RunResult, Runtime};
use crate::errno::*;
use crate::prog::ProgType;

/// A hook operation that failed, with Linux's errno.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    #[error("no hook point named {0}")]
    Unknown(String),
    #[error("hook point {0} already exists")]
    Exists(String),
    #[error("hook point {hook} takes {want} programs, not {got}")]
    WrongType { hook: String, want: &'static str, got: &'static str },
    #[error("no attachment with link id {0}")]
    UnknownLink(u32),
}

impl HookError {
    pub fn errno(&self) -> i32 {
        match self {
            HookError::Unknown(_) | HookError::UnknownLink(_) => ENOENT,
            HookError::Exists(_) => EEXIST,
            HookError::WrongType { .. } => EINVAL,
        }
    }
}

struct Point {
    prog_type: ProgType,
    attached: RwLock<Vec<(u32, Arc<LoadedProgram>)>>,
}

/// The registry of hook points and what is attached to them.
#[derive(Default)]
pub struct Hooks {
    points: RwLock<BTreeMap<String, Arc<Point>>>,
    links: RwLock<BTreeMap<u32, String>>,
    next_link: AtomicU32,
}

impl Hooks {
    /// Declares a hook point that takes programs of type `prog_type`.
    pub fn register(&self, name: &str, prog_type: ProgType) -> Result<(), HookError> {
        let mut p = self.points.write();
        if p.contains_key(name) {
            return Err(HookError::Exists(name.into()));
        }
        p.insert(name.into(), Arc::new(Point { prog_type, attached: RwLock::new(Vec::new()) }));
        Ok(())
    }

    /// (name, program type, number of attached programs) of every hook point.
    pub fn list(&self) -> Vec<(String, ProgType, usize)> {
        self.points.read().iter().map(|(n, p)| (n.clone(), p.prog_type, p.attached.read().len())).collect()
    }

    fn point(&self, name: &str) -> Result<Arc<Point>, HookError> {
        self.points.read().get(name).cloned().ok_or_else(|| HookError::Unknown(name.into()))
    }

    /// Attaches `prog`; returns the link id that detaches it.
    pub fn attach(&self, name: &str, prog: Arc<LoadedProgram>) -> Result<u32, HookError> {
        let point = self.point(name)?;
        if point.prog_type != prog.prog_type {
            return Err(HookError::WrongType { hook: name.into(), want: point.prog_type.name(), got: prog.prog_type.name() });
        }
        let link = self.next_link.fetch_add(1, Ordering::Relaxed) + 1;
        point.attached.write().push((link, prog));
        self.links.write().insert(link, name.into());
        Ok(link)
    }

    pub fn detach(&self, link: u32) -> Result<(), HookError> {
        let name = self.links.write().remove(&link).ok_or(HookError::UnknownLink(link))?;
        self.point(&name)?.attached.write().retain(|(l, _)| *l != link);
        Ok(())
    }

    pub(crate) fn detach_program(&self, id: u32) {
        for p in self.points.read().values() {
            let mut a = p.attached.write();
            let gone: Vec<u32> = a.iter().filter(|(_, q)| q.id == id).map(|(l, _)| *l).collect();
            a.retain(|(_, q)| q.id != id);
            let mut links = self.links.write();
            for l in gone {
                links.remove(&l);
            }
        }
    }

    /// Whether program `id` is attached anywhere.
    pub fn holds(&self, id: u32) -> bool {
        self.points.read().values().any(|p| p.attached.read().iter().any(|(_, q)| q.id == id))
    }

    /// The programs attached to `name`, in attach order.
    pub fn attached(&self, name: &str) -> Result<Vec<Arc<LoadedProgram>>, HookError> {
        Ok(self.point(name)?.attached.read().iter().map(|(_, p)| p.clone()).collect())
    }
}

impl Runtime {
    /// Fires hook `name`: runs every attached program with `ctx`, in attach order.
    pub fn fire(&self, name: &str, ctx: &mut Context, opts: &RunConfig) -> Result<Vec<Result<RunResult, RunError>>, HookError> {
        let progs = self.hooks.attached(name)?;
        Ok(progs.iter().map(|p| self.run(p, ctx, opts)).collect())
    }
}
