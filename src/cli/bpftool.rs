//! `rvbpf bpftool [SCRIPT]`: bpftool's `prog` and `map` subcommands on an in-process
//! runtime, through rvbpf's Linux `bpf()` command layer, for an integrator to see the
//! syscall ABI work without writing Rust. One session: each line of the script (or of
//! stdin) is a command; objects are loaded as libbpf loads them, with `BPF_MAP_CREATE`
//! for every map, `BPF_MAP_UPDATE_ELEM` for initial values, `BPF_MAP_FREEZE` for
//! `.rodata` and `BPF_PROG_LOAD` with an `fd_array`; runs are `BPF_PROG_TEST_RUN`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use rvbpf::loader::{MapOrigin, Object};
use rvbpf::maps::{map_type, MapDef};
use rvbpf::runtime::syscall::{cmd, Bpf, ProcessMemory, ATTR_SIZE};
use rvbpf::runtime::{HostKernel, Runtime};

use super::input::read_bytes;

/// What the session holds: each map and program by its fd, with its name.
struct Session {
    bpf: Bpf,
    ncpus: u32,
    maps: Vec<SessionMap>,
    progs: Vec<(i32, String, String)>,
    errno: std::cell::Cell<Option<i32>>,
}

struct SessionMap {
    fd: i32,
    name: String,
    map_type: u32,
    key_size: u32,
    value_size: u32,
}

fn put32(a: &mut [u8], off: usize, v: u32) {
    a[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}
fn put64(a: &mut [u8], off: usize, v: u64) {
    a[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}
fn get32(a: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(a[off..off + 4].try_into().expect("4 bytes"))
}

fn errno_name(r: i64) -> String {
    let e = (-r) as i32;
    format!("{} ({e})", rvbpf::errno::name(e))
}

impl Session {
    /// One bpf() command; Err with its errno's name.
    fn call(&self, c: u32, attr: &mut [u8], what: &str) -> Result<i64, String> {
        // SAFETY: every address in the attrs built here is a live buffer of the length the
        // command uses, owned by the caller for the duration of the call.
        let mem = unsafe { ProcessMemory::new() };
        let r = self.bpf.call(c, attr, &mem);
        self.errno.set((r < 0).then_some((-r) as i32));
        match r {
            r if r < 0 => Err(format!("{what}: {}", errno_name(r))),
            r => Ok(r),
        }
    }

    /// The errno of the last command, if it failed.
    fn last_errno(&self) -> Option<i32> {
        self.errno.get()
    }

    fn map_create(&self, name: &str, d: MapDef, inner_fd: Option<i32>) -> Result<i32, String> {
        let mut a = [0u8; ATTR_SIZE];
        for (off, v) in [(0, d.map_type), (4, d.key_size), (8, d.value_size), (12, d.max_entries), (16, d.map_flags)] {
            put32(&mut a, off, v);
        }
        if let Some(fd) = inner_fd {
            put32(&mut a, 20, fd as u32);
        }
        // The kernel's name is at most 15 bytes, of [A-Za-z0-9_.].
        let short: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').take(15).collect();
        a[28..28 + short.len()].copy_from_slice(short.as_bytes());
        Ok(self.call(cmd::MAP_CREATE, &mut a, &format!("BPF_MAP_CREATE {name}"))? as i32)
    }

    fn update(&self, fd: i32, key: &[u8], value: &[u8], flags: u64, what: &str) -> Result<(), String> {
        let mut a = [0u8; ATTR_SIZE];
        put32(&mut a, 0, fd as u32);
        put64(&mut a, 8, key.as_ptr() as u64);
        put64(&mut a, 16, value.as_ptr() as u64);
        put64(&mut a, 24, flags);
        self.call(cmd::MAP_UPDATE_ELEM, &mut a, what).map(|_| ())
    }

    /// `prog load OBJ`: the object's maps and programs through bpf(), as libbpf does.
    fn load(&mut self, path: &Path) -> Result<Vec<String>, String> {
        let obj: Object = super::input::read_object(path)?;
        let mut out = Vec::new();
        let mut fds = Vec::with_capacity(obj.maps.len());
        for m in &obj.maps {
            if m.origin == MapOrigin::StructOps {
                return Err(format!("map {}: a struct_ops map needs the kernel's BTF (BPF_MAP_CREATE refuses it here)", m.name));
            }
            // A map-in-map is created from its template, which is then closed.
            let template = match (&m.inner, matches!(m.def.map_type, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS)) {
                (Some(inner), true) => Some(self.map_create(&format!("{}.inner", m.name), *inner, None)?),
                _ => None,
            };
            let fd = self.map_create(&m.name, m.def, template)?;
            if let Some(t) = template {
                let _ = self.bpf.close(t);
            }
            if let Some(data) = &m.data {
                self.update(fd, &0u32.to_ne_bytes(), data, 0, &format!("BPF_MAP_UPDATE_ELEM {} (initial value)", m.name))?;
            }
            if m.freeze {
                let mut a = [0u8; ATTR_SIZE];
                put32(&mut a, 0, fd as u32);
                self.call(cmd::MAP_FREEZE, &mut a, &format!("BPF_MAP_FREEZE {}", m.name))?;
            }
            out.push(format!("map {fd}: name {} type {} key {}B value {}B max_entries {}", m.name, m.def.map_type, m.def.key_size, m.def.value_size, m.def.max_entries));
            self.maps.push(SessionMap { fd, name: m.name.clone(), map_type: m.def.map_type, key_size: m.def.key_size, value_size: m.def.value_size });
            fds.push(fd);
        }
        let license = format!("{}\0", obj.license);
        let mut loaded = Vec::new();
        for p in &obj.programs {
            let bytes = p.bytes();
            let mut a = [0u8; ATTR_SIZE];
            put32(&mut a, 0, p.prog_type() as u32);
            put32(&mut a, 4, (bytes.len() / 8) as u32);
            put64(&mut a, 8, bytes.as_ptr() as u64);
            put64(&mut a, 16, license.as_ptr() as u64);
            let mut log = vec![0u8; 1 << 16];
            put32(&mut a, 24, 1);
            put32(&mut a, 28, log.len() as u32);
            put64(&mut a, 32, log.as_mut_ptr() as u64);
            if p.kind.sleepable {
                put32(&mut a, 44, rvbpf::runtime::syscall::BPF_F_SLEEPABLE);
            }
            let short: String = p.name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(15).collect();
            a[48..48 + short.len()].copy_from_slice(short.as_bytes());
            put32(&mut a, 68, p.kind.attach_type.unwrap_or(0));
            put64(&mut a, 120, fds.as_ptr() as u64);
            let fd = match self.call(cmd::PROG_LOAD, &mut a, &format!("BPF_PROG_LOAD {}", p.name)) {
                Ok(fd) => fd as i32,
                Err(e) => {
                    let text = String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap_or(log.len())]).trim_end().to_string();
                    let last = text.lines().rev().find(|l| !l.starts_with("processed") && !l.trim().is_empty()).unwrap_or("");
                    return Err(format!("{e}; the verifier's log ends: {last}"));
                }
            };
            out.push(format!("prog {fd}: name {} type {}", p.name, p.prog_type().name()));
            self.progs.push((fd, p.name.clone(), p.prog_type().name().to_string()));
            loaded.push((p.name.clone(), fd));
        }
        // Prog arrays' `values`: each slot takes its program's fd.
        for (m, &fd) in obj.maps.iter().zip(&fds) {
            for (slot, prog) in &m.prog_values {
                let pfd = loaded.iter().find(|(n, _)| n == prog).map(|(_, f)| *f).ok_or_else(|| format!("map {}: slot {slot} names program {prog}, which is not loaded", m.name))?;
                self.update(fd, &slot.to_ne_bytes(), &(pfd as u32).to_ne_bytes(), 0, &format!("BPF_MAP_UPDATE_ELEM {}[{slot}]", m.name))?;
            }
        }
        Ok(out)
    }

    fn map(&self, words: &mut std::slice::Iter<&str>) -> Result<&SessionMap, String> {
        match (words.next(), words.next()) {
            (Some(&"id"), Some(id)) => {
                let fd: i32 = id.parse().map_err(|_| format!("id {id}: not a number"))?;
                self.maps.iter().find(|m| m.fd == fd).ok_or_else(|| format!("no map with id {fd} (`map show` lists them)"))
            }
            (Some(&"name"), Some(n)) => self.maps.iter().find(|m| m.name == *n).ok_or_else(|| format!("no map named {n} (`map show` lists them)")),
            _ => Err("expected a map: id N or name NAME".into()),
        }
    }

    fn prog(&self, words: &mut std::slice::Iter<&str>) -> Result<i32, String> {
        match (words.next(), words.next()) {
            (Some(&"id"), Some(id)) => {
                let fd: i32 = id.parse().map_err(|_| format!("id {id}: not a number"))?;
                self.progs.iter().find(|p| p.0 == fd).map(|p| p.0).ok_or_else(|| format!("no program with id {fd} (`prog show` lists them)"))
            }
            (Some(&"name"), Some(n)) => self.progs.iter().find(|p| p.1 == *n).map(|p| p.0).ok_or_else(|| format!("no program named {n} (`prog show` lists them)")),
            _ => Err("expected a program: id N or name NAME".into()),
        }
    }

    /// The bytes of a value the map's syscall view takes (per-CPU: one per CPU).
    fn value_len(&self, m: &SessionMap) -> usize {
        let percpu = matches!(m.map_type, map_type::PERCPU_ARRAY | map_type::PERCPU_HASH);
        if percpu {
            m.value_size.div_ceil(8) as usize * 8 * self.ncpus as usize
        } else if matches!(m.map_type, map_type::PROG_ARRAY | map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS) {
            4
        } else {
            m.value_size as usize
        }
    }

    /// A map command on `m` with key `key` that fills `out`: the bytes, or `None` where
    /// there is no such element (ENOENT).
    fn fetch(&self, c: u32, m: &SessionMap, key: Option<&[u8]>, mut out: Vec<u8>, what: &str) -> Result<Option<Vec<u8>>, String> {
        let mut a = [0u8; ATTR_SIZE];
        put32(&mut a, 0, m.fd as u32);
        put64(&mut a, 8, key.map_or(0, |k| k.as_ptr() as u64));
        put64(&mut a, 16, out.as_mut_ptr() as u64);
        match self.call(c, &mut a, &format!("{what} {}", m.name)) {
            Ok(_) => Ok(Some(out)),
            Err(_) if self.last_errno() == Some(rvbpf::errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn lookup(&self, m: &SessionMap, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.fetch(cmd::MAP_LOOKUP_ELEM, m, Some(key), vec![0u8; self.value_len(m)], "BPF_MAP_LOOKUP_ELEM")
    }

    fn next_key(&self, m: &SessionMap, key: Option<&[u8]>) -> Result<Option<Vec<u8>>, String> {
        self.fetch(cmd::MAP_GET_NEXT_KEY, m, key, vec![0u8; m.key_size as usize], "BPF_MAP_GET_NEXT_KEY")
    }

    /// One command line; what it prints.
    fn command(&mut self, line: &str) -> Result<Vec<String>, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut w = words.iter();
        match (w.next().copied(), w.next().copied()) {
            (Some("prog"), Some("load")) => {
                let path = w.next().ok_or("prog load OBJ: the object is missing")?;
                self.load(Path::new(path))
            }
            (Some("prog"), Some("show" | "list")) => Ok(self.progs.iter().map(|(fd, n, t)| format!("{fd}: {t}  name {n}")).collect()),
            (Some("prog"), Some("run" | "test-run")) => {
                let fd = self.prog(&mut w)?;
                let (mut data, mut ctx) = (Vec::new(), Vec::new());
                let mut repeat = 1u32;
                while let Some(word) = w.next() {
                    match *word {
                        "data_in" => data = bytes_or_file(&mut w)?,
                        "ctx_in" => ctx = bytes_or_file(&mut w)?,
                        "repeat" => repeat = w.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0).ok_or("repeat N: a positive number")?,
                        other => return Err(format!("prog run: unknown argument {other} (data_in, ctx_in, repeat)")),
                    }
                }
                let mut out = vec![0u8; data.len() + 256];
                let mut a = [0u8; ATTR_SIZE];
                put32(&mut a, 0, fd as u32);
                if !data.is_empty() {
                    put32(&mut a, 8, data.len() as u32);
                    put32(&mut a, 12, out.len() as u32);
                    put64(&mut a, 16, data.as_ptr() as u64);
                    put64(&mut a, 24, out.as_mut_ptr() as u64);
                    put32(&mut a, 32, repeat);
                }
                if !ctx.is_empty() {
                    put32(&mut a, 40, ctx.len() as u32);
                    put64(&mut a, 48, ctx.as_ptr() as u64);
                }
                self.call(cmd::PROG_TEST_RUN, &mut a, "BPF_PROG_TEST_RUN")?;
                let mut lines = vec![format!("Return value: {}, duration (average): {}ns", get32(&a, 4), get32(&a, 36))];
                if !data.is_empty() {
                    lines.push(format!("data_out: {}", hex_bytes(&out[..get32(&a, 12) as usize])));
                }
                Ok(lines)
            }
            (Some("map"), Some("show" | "list")) => Ok(self.maps.iter().map(|m| format!("{}: type {}  name {}  key {}B  value {}B", m.fd, m.map_type, m.name, m.key_size, m.value_size)).collect()),
            (Some("map"), Some("dump")) => {
                let m = self.map(&mut w)?;
                let mut lines = Vec::new();
                let mut key = None;
                while let Some(k) = self.next_key(m, key.as_deref())? {
                    if let Some(v) = self.lookup(m, &k)? {
                        lines.push(format!("key: {}  value: {}", hex_bytes(&k), hex_bytes(&v)));
                    }
                    key = Some(k);
                }
                lines.push(format!("Found {} element{}", lines.len(), if lines.len() == 1 { "" } else { "s" }));
                Ok(lines)
            }
            (Some("map"), Some("lookup")) => {
                let m = self.map(&mut w)?;
                let key = keyword_bytes(&mut w, "key", m.key_size as usize)?;
                Ok(vec![match self.lookup(m, &key)? {
                    Some(v) => format!("key: {}  value: {}", hex_bytes(&key), hex_bytes(&v)),
                    None => format!("key: {}  not found", hex_bytes(&key)),
                }])
            }
            (Some("map"), Some("update")) => {
                let m = self.map(&mut w)?;
                let key = keyword_bytes(&mut w, "key", m.key_size as usize)?;
                let value = keyword_bytes(&mut w, "value", self.value_len(m))?;
                let flags = match w.next().copied() {
                    None | Some("any") => 0,
                    Some("noexist") => 1,
                    Some("exist") => 2,
                    Some(other) => return Err(format!("map update: {other}: the flags are any, noexist and exist")),
                };
                self.update(m.fd, &key, &value, flags, &format!("BPF_MAP_UPDATE_ELEM {}", m.name))?;
                Ok(Vec::new())
            }
            (Some("map"), Some("delete")) => {
                let m = self.map(&mut w)?;
                let key = keyword_bytes(&mut w, "key", m.key_size as usize)?;
                let mut a = [0u8; ATTR_SIZE];
                put32(&mut a, 0, m.fd as u32);
                put64(&mut a, 8, key.as_ptr() as u64);
                self.call(cmd::MAP_DELETE_ELEM, &mut a, &format!("BPF_MAP_DELETE_ELEM {}", m.name))?;
                Ok(Vec::new())
            }
            _ => Err(format!("unknown command `{line}`: prog load|show|run, map show|dump|lookup|update|delete")),
        }
    }
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

/// bpftool's byte lists: `hex 01 02 ...` or numbers (decimal or 0x).
fn bytes(words: &mut std::iter::Peekable<std::slice::Iter<&str>>, stop: &[&str]) -> Result<Vec<u8>, String> {
    let hex = words.next_if(|w| **w == "hex").is_some();
    let mut out = Vec::new();
    while let Some(w) = words.next_if(|w| !stop.contains(*w)) {
        let b = match (hex, w.strip_prefix("0x")) {
            (true, _) => u8::from_str_radix(w, 16).ok(),
            (false, Some(h)) => u8::from_str_radix(h, 16).ok(),
            (false, None) => w.parse().ok(),
        };
        out.push(b.ok_or_else(|| format!("{w}: not a byte"))?);
    }
    Ok(out)
}

/// `WORD b0 b1 ...` of exactly `len` bytes.
fn keyword_bytes(w: &mut std::slice::Iter<&str>, word: &str, len: usize) -> Result<Vec<u8>, String> {
    if w.next() != Some(&word) {
        return Err(format!("expected {word} followed by {len} bytes"));
    }
    let rest: Vec<&str> = w.clone().copied().collect();
    let mut it = rest.iter().peekable();
    let b = bytes(&mut it, &["key", "value", "any", "exist", "noexist"])?;
    let used = rest.len() - it.count();
    for _ in 0..used {
        w.next();
    }
    if b.len() != len {
        return Err(format!("{word}: {} bytes given, the map's {word} has {len}", b.len()));
    }
    Ok(b)
}

/// `data_in FILE` or `data_in hex ..`.
fn bytes_or_file(w: &mut std::slice::Iter<&str>) -> Result<Vec<u8>, String> {
    match w.clone().next() {
        Some(&"hex") => {
            let rest: Vec<&str> = w.clone().copied().collect();
            let mut it = rest.iter().peekable();
            let b = bytes(&mut it, &["repeat", "data_in", "ctx_in"])?;
            let used = rest.len() - it.count();
            for _ in 0..used {
                w.next();
            }
            Ok(b)
        }
        Some(f) => {
            w.next();
            read_bytes(Path::new(f))
        }
        None => Err("data_in: a file or hex bytes".into()),
    }
}

/// Runs the script's commands in order; the first that fails stops it, saying its line.
pub fn cmd_bpftool(script: &Path, cpus: Option<u32>) -> Result<ExitCode, String> {
    let text = String::from_utf8(read_bytes(script)?).map_err(|_| format!("{}: not UTF-8 text", script.display()))?;
    let ncpus = cpus.unwrap_or(1);
    let rt = Arc::new(Runtime::new(Arc::new(HostKernel::new(false)), ncpus));
    let mut s = Session { bpf: Bpf::new(rt), ncpus, maps: Vec::new(), progs: Vec::new(), errno: std::cell::Cell::new(None) };
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let out = s.command(line).map_err(|e| format!("{}: line {}: {e}", script.display(), n + 1))?;
        let mut text = String::new();
        for l in out {
            text.push_str(&l);
            text.push('\n');
        }
        super::print_out(&text);
    }
    Ok(ExitCode::SUCCESS)
}
