//! A minimal client of the running kernel's bpf(): the reference oracle for maps,
//! program results and errno behaviour. Needs root and a kernel that allows bpf().
#![allow(dead_code)]

pub const ATTR: usize = 168;

pub fn bpf(cmd: i64, attr: &mut [u8]) -> Result<i64, i32> {
    // SAFETY: attr is a valid, zero-padded union bpf_attr buffer of its stated size.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

pub fn put32(a: &mut [u8], off: usize, v: u32) {
    a[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
pub fn put64(a: &mut [u8], off: usize, v: u64) {
    a[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

pub fn close(fd: i32) {
    // SAFETY: fd came from bpf() and is closed once.
    unsafe { libc::close(fd) };
}

/// Why the kernel oracle cannot be used here, if it cannot.
pub fn unavailable() -> Option<String> {
    match map_create("probe", 2, 4, 4, 1, 0) {
        Ok(fd) => {
            close(fd);
            None
        }
        Err(e) => Some(format!("bpf(BPF_MAP_CREATE) fails with errno {e} (needs root and a kernel allowing bpf())")),
    }
}

/// Number of possible CPUs: the kernel's per-CPU value count.
pub fn possible_cpus() -> u32 {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    s.trim().split(',').map(|r| match r.split_once('-') {
        Some((a, b)) => b.parse::<u32>().unwrap_or(0) - a.parse::<u32>().unwrap_or(0) + 1,
        None => 1,
    }).sum::<u32>().max(1)
}

pub fn map_create(name: &str, map_type: u32, key_size: u32, value_size: u32, max_entries: u32, flags: u32) -> Result<i32, i32> {
    map_create_in(name, map_type, key_size, value_size, max_entries, flags, 0)
}

/// `BPF_MAP_CREATE` with an `inner_map_fd` (for maps-in-maps).
pub fn map_create_in(name: &str, map_type: u32, key_size: u32, value_size: u32, max_entries: u32, flags: u32, inner_fd: i32) -> Result<i32, i32> {
    let mut a = [0u8; ATTR];
    put32(&mut a, 0, map_type);
    put32(&mut a, 4, key_size);
    put32(&mut a, 8, value_size);
    put32(&mut a, 12, max_entries);
    put32(&mut a, 16, flags);
    put32(&mut a, 20, inner_fd as u32);
    let n = name.len().min(15);
    a[28..28 + n].copy_from_slice(&name.as_bytes()[..n]);
    bpf(0, &mut a).map(|fd| fd as i32)
}

fn elem(cmd: i64, fd: i32, key: Option<&[u8]>, value: u64, flags: u64) -> Result<(), i32> {
    let mut a = [0u8; ATTR];
    put32(&mut a, 0, fd as u32);
    put64(&mut a, 8, key.map_or(0, |k| k.as_ptr() as u64));
    put64(&mut a, 16, value);
    put64(&mut a, 24, flags);
    bpf(cmd, &mut a).map(|_| ())
}

pub fn map_lookup(fd: i32, key: &[u8], value_len: usize) -> Result<Vec<u8>, i32> {
    let mut v = vec![0u8; value_len.max(1)];
    elem(1, fd, Some(key), v.as_mut_ptr() as u64, 0)?;
    v.truncate(value_len);
    Ok(v)
}
pub fn map_update(fd: i32, key: &[u8], value: &[u8], flags: u64) -> Result<(), i32> {
    elem(2, fd, Some(key), value.as_ptr() as u64, flags)
}
pub fn map_delete(fd: i32, key: &[u8]) -> Result<(), i32> {
    elem(3, fd, Some(key), 0, 0)
}
pub fn map_next_key(fd: i32, key: Option<&[u8]>, key_len: usize) -> Result<Vec<u8>, i32> {
    let mut next = vec![0u8; key_len.max(1)];
    elem(4, fd, key, next.as_mut_ptr() as u64, 0)?;
    next.truncate(key_len);
    Ok(next)
}
pub fn map_freeze(fd: i32) -> Result<(), i32> {
    elem(22, fd, None, 0, 0)
}

/// Every (key, value) of a map, sorted by key.
pub fn map_dump(fd: i32, key_len: usize, value_len: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    while let Ok(k) = map_next_key(fd, cur.as_deref(), key_len) {
        if let Ok(v) = map_lookup(fd, &k, value_len) {
            out.push((k.clone(), v));
        }
        cur = Some(k);
        if out.len() > 1 << 20 {
            break;
        }
    }
    out.sort();
    out
}

/// BPF_PROG_LOAD (GPL, log level 1); the error carries errno and the whole verifier log.
pub fn prog_load(prog_type: u32, code: &[u8], fd_array: &[i32], flags: u32) -> Result<i32, (i32, String)> {
    prog_load_logged(prog_type, code, fd_array, flags, 1).map(|(fd, _)| fd)
}

/// BPF_PROG_LOAD at a log level (4: `BPF_LOG_STATS`, the verification time and the
/// instructions processed); the fd and the log, or errno and the log.
pub fn prog_load_logged(prog_type: u32, code: &[u8], fd_array: &[i32], flags: u32, level: u32) -> Result<(i32, String), (i32, String)> {
    let license = b"GPL\0";
    // Level 0: no log (the kernel refuses a buffer with it).
    let mut log = vec![0u8; if level == 0 { 0 } else { 1 << 20 }];
    let mut a = [0u8; ATTR];
    put32(&mut a, 0, prog_type);
    put32(&mut a, 4, (code.len() / 8) as u32);
    put64(&mut a, 8, code.as_ptr() as u64);
    put64(&mut a, 16, license.as_ptr() as u64);
    if level != 0 {
        put32(&mut a, 24, level);
        put32(&mut a, 28, log.len() as u32);
        put64(&mut a, 32, log.as_mut_ptr() as u64);
    }
    put32(&mut a, 44, flags);
    if !fd_array.is_empty() {
        put64(&mut a, 120, fd_array.as_ptr() as u64);
    }
    let r = bpf(5, &mut a);
    let text = String::from_utf8_lossy(&log).trim_end_matches('\0').to_string();
    r.map(|fd| (fd as i32, text.clone())).map_err(|e| (e, text))
}

/// BPF_PROG_LOAD of a GPL program with `expected_attach_type` `attach`, logged at level 1;
/// the fd, or errno and the log.
pub fn prog_load_as(prog_type: u32, attach: u32, code: &[u8]) -> Result<i32, (i32, String)> {
    prog_load_full(prog_type, attach, 0, code, &[], 0)
}

/// BPF_PROG_LOAD of a GPL program with `expected_attach_type`, `attach_btf_id` (in
/// vmlinux; 0: none), `fd_array` and `prog_flags`, logged at level 1; the fd, or errno
/// and the log.
pub fn prog_load_full(prog_type: u32, attach: u32, attach_btf_id: u32, code: &[u8], fd_array: &[i32], flags: u32) -> Result<i32, (i32, String)> {
    prog_load_btf(prog_type, attach, attach_btf_id, code, fd_array, flags, None)
}

/// What `BPF_PROG_LOAD` takes besides the code for a program with BTF: the BTF's fd, the
/// `func_info` records (first slot, FUNC type id) of its functions, and for freplace the
/// program whose function it replaces (`attach_btf_id` is then that function's id in the
/// target's BTF).
pub struct WithBtf<'a> {
    pub btf_fd: i32,
    pub func_info: &'a [[u32; 2]],
    pub attach_prog_fd: i32,
}

/// [`prog_load_full`] with the program's BTF.
pub fn prog_load_btf(prog_type: u32, attach: u32, attach_btf_id: u32, code: &[u8], fd_array: &[i32], flags: u32, btf: Option<&WithBtf>) -> Result<i32, (i32, String)> {
    let license = b"GPL\0";
    let mut log = vec![0u8; 1 << 16];
    let mut a = [0u8; ATTR];
    put32(&mut a, 0, prog_type);
    put32(&mut a, 4, (code.len() / 8) as u32);
    put64(&mut a, 8, code.as_ptr() as u64);
    put64(&mut a, 16, license.as_ptr() as u64);
    put32(&mut a, 24, 1);
    put32(&mut a, 28, log.len() as u32);
    put64(&mut a, 32, log.as_mut_ptr() as u64);
    put32(&mut a, 44, flags);
    put32(&mut a, 68, attach);
    put32(&mut a, 108, attach_btf_id);
    if !fd_array.is_empty() {
        put64(&mut a, 120, fd_array.as_ptr() as u64);
    }
    if let Some(b) = btf {
        put32(&mut a, 72, b.btf_fd as u32);
        put32(&mut a, 76, 8);
        put64(&mut a, 80, b.func_info.as_ptr() as u64);
        put32(&mut a, 88, b.func_info.len() as u32);
        put32(&mut a, 112, b.attach_prog_fd as u32);
    }
    let r = bpf(5, &mut a);
    r.map(|fd| fd as i32).map_err(|e| (e, String::from_utf8_lossy(&log).trim_end_matches('\0').to_string()))
}

/// BPF_BTF_LOAD of raw BTF: the fd, or errno and the log.
pub fn btf_load(raw: &[u8]) -> Result<i32, (i32, String)> {
    let mut log = vec![0u8; 1 << 16];
    let mut a = [0u8; ATTR];
    put64(&mut a, 0, raw.as_ptr() as u64);
    put64(&mut a, 8, log.as_mut_ptr() as u64);
    put32(&mut a, 16, raw.len() as u32);
    put32(&mut a, 20, log.len() as u32);
    put32(&mut a, 24, 1);
    bpf(18, &mut a).map(|fd| fd as i32).map_err(|e| (e, String::from_utf8_lossy(&log).trim_end_matches('\0').to_string()))
}

/// BPF_PROG_TEST_RUN: (retval, data_out).
pub fn test_run(fd: i32, data: &[u8], ctx: &mut [u8]) -> Result<(u32, Vec<u8>), i32> {
    let mut out = vec![0u8; data.len() + 512];
    let mut a = [0u8; ATTR];
    put32(&mut a, 0, fd as u32);
    if !data.is_empty() {
        put32(&mut a, 8, data.len() as u32);
        put32(&mut a, 12, out.len() as u32);
        put64(&mut a, 16, data.as_ptr() as u64);
        put64(&mut a, 24, out.as_mut_ptr() as u64);
        put32(&mut a, 32, 1); // repeat (syscall programs must leave it 0)
    }
    if !ctx.is_empty() {
        put32(&mut a, 40, ctx.len() as u32);
        put64(&mut a, 48, ctx.as_mut_ptr() as u64);
    }
    bpf(10, &mut a)?;
    let n = u32::from_le_bytes(a[12..16].try_into().unwrap()) as usize;
    out.truncate(if data.is_empty() { 0 } else { n });
    Ok((u32::from_le_bytes(a[4..8].try_into().unwrap()), out))
}

/// Pins the calling thread to CPU 0, so the kernel runs test programs on CPU 0 as
/// rvbpf's runtime does for one run after another (per-CPU maps then agree).
pub fn pin_to_cpu0() {
    // SAFETY: a zeroed cpu_set_t with one bit set, for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The maps of a loaded object created in the kernel, in the object's order (what its
/// `BPF_PSEUDO_MAP_IDX` references index as an `fd_array`): global data written and
/// `.rodata` frozen, as libbpf does. Panics naming the map the kernel refuses.
pub fn object_maps(what: &str, obj: &rvbpf::loader::Object) -> Vec<i32> {
    let create = |m: &rvbpf::loader::MapSpec| {
        let d = m.def;
        // A struct_ops map needs the kernel's value type and is registered, not used by
        // programs: the corpus loads its programs, not the map.
        if m.struct_ops.is_some() {
            return -1;
        }
        // A map-in-map's template, as libbpf makes it: created for the outer map's
        // creation, closed after.
        let inner = m.inner.map(|t| map_create("inner", t.map_type, t.key_size, t.value_size, t.max_entries, t.map_flags).unwrap_or_else(|e| panic!("{what}: kernel inner map of {}: errno {e}", m.name)));
        let fd = map_create_in(&m.name, d.map_type, d.key_size, d.value_size, d.max_entries, d.map_flags, inner.unwrap_or(0)).unwrap_or_else(|e| panic!("{what}: kernel map {}: errno {e}", m.name));
        if let Some(t) = inner {
            close(t);
        }
        fd
    };
    let fds: Vec<i32> = obj.maps.iter().map(create).collect();
    for (m, &fd) in obj.maps.iter().zip(&fds).filter(|(_, &fd)| fd >= 0) {
        if let Some(d) = &m.data {
            map_update(fd, &0u32.to_ne_bytes(), d, 0).unwrap();
        }
        if m.freeze {
            map_freeze(fd).unwrap();
        }
        for (idx, name) in &m.map_values {
            let k = obj.maps.iter().position(|i| &i.name == name).expect("the loader checked the name");
            map_update(fd, &idx.to_ne_bytes(), &fds[k].to_ne_bytes(), 0).unwrap_or_else(|e| panic!("{what}: kernel map {} [{idx}] = {name}: errno {e}", m.name));
        }
    }
    fds
}
