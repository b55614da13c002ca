//! Map semantics against the errno table of Linux's `hashtab.c`, `arraymap.c` and
//! `ringbuf.c`. The differential test against the running kernel is tests/kernel_maps.rs.

use alloc::vec;
use alloc::vec::Vec;

use super::*;

fn def(map_type: u32, key_size: u32, value_size: u32, max_entries: u32) -> MapDef {
    MapDef { map_type, key_size, value_size, max_entries, map_flags: 0 }
}

fn k32(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

fn errno<T: core::fmt::Debug>(r: Result<T, MapError>) -> i32 {
    r.expect_err("expected an error").errno
}

#[test]
fn create_rejects_like_linux() {
    use map_type::*;
    let cases: &[(MapDef, i32)] = &[
        (def(ARRAY, 8, 4, 1), EINVAL),
        (def(ARRAY, 4, 0, 1), EINVAL),
        (def(ARRAY, 4, 4, 0), EINVAL),
        (def(HASH, 0, 4, 1), EINVAL),
        (def(HASH, 4, 0, 1), EINVAL),
        (def(HASH, 4, 4, 0), EINVAL),
        (def(PERCPU_ARRAY, 4, 40000, 1), E2BIG),
        (def(PROG_ARRAY, 4, 8, 1), EINVAL),
        (def(RINGBUF, 0, 0, 4000), EINVAL),
        (def(RINGBUF, 0, 0, 8192 + 4096), EINVAL),
        (def(RINGBUF, 4, 0, 4096), EINVAL),
        (def(99, 4, 4, 1), EINVAL),
        (MapDef { map_flags: create_flags::NO_PREALLOC, ..def(LRU_HASH, 4, 4, 8) }, ENOTSUPP),
        (MapDef { map_flags: create_flags::NO_COMMON_LRU, ..def(HASH, 4, 4, 8) }, EINVAL),
        (MapDef { map_flags: 1 << 30, ..def(HASH, 4, 4, 8) }, EINVAL),
        (MapDef { map_flags: create_flags::RDONLY_PROG | create_flags::WRONLY_PROG, ..def(ARRAY, 4, 4, 8) }, EINVAL),
        (MapDef { map_flags: create_flags::NUMA_NODE, ..def(PERCPU_ARRAY, 4, 4, 8) }, EINVAL),
        // Larger than rvbpf's per-map bound (found by the loader fuzz target: 16 GiB).
        (def(ARRAY, 4, 4096, 1 << 22), ENOMEM),
        (def(PERCPU_ARRAY, 4, 8, 1 << 27), ENOMEM),
        (def(PROG_ARRAY, 4, 4, u32::MAX), ENOMEM),
    ];
    for (d, want) in cases {
        assert_eq!(errno(Map::create("m", *d, 2)), *want, "{d:?}");
    }
    assert_eq!(errno(Map::create("bad-name", def(ARRAY, 4, 4, 1), 1)), EINVAL);
    assert_eq!(errno(Map::create("a_name_of_16_chr", def(ARRAY, 4, 4, 1), 1)), EINVAL);
}

#[test]
fn array_semantics() {
    let m = Map::create("a", def(map_type::ARRAY, 4, 12, 3), 1).unwrap();
    let mut v = [0u8; 12];
    m.lookup(&k32(2), &mut v).unwrap();
    assert_eq!(v, [0; 12], "arrays start zeroed");
    m.update(&k32(1), &[7; 12], BPF_ANY).unwrap();
    m.update(&k32(1), &[8; 12], BPF_EXIST).unwrap();
    m.lookup(&k32(1), &mut v).unwrap();
    assert_eq!(v, [8; 12]);
    assert_eq!(errno(m.update(&k32(1), &[0; 12], BPF_NOEXIST)), EEXIST);
    assert_eq!(errno(m.update(&k32(3), &[0; 12], BPF_ANY)), E2BIG);
    assert_eq!(errno(m.update(&k32(0), &[0; 12], 3)), EINVAL);
    assert_eq!(errno(m.update(&k32(0), &[0; 12], BPF_F_LOCK)), EINVAL);
    assert_eq!(errno(m.lookup(&k32(3), &mut v)), ENOENT);
    assert_eq!(errno(m.delete(&k32(0))), EINVAL);
    assert_eq!(errno(m.update(&[0; 3], &[0; 12], BPF_ANY)), EINVAL);
    let mut k = [0u8; 4];
    m.get_next_key(None, &mut k).unwrap();
    assert_eq!(k, k32(0));
    m.get_next_key(Some(&k32(1)), &mut k).unwrap();
    assert_eq!(k, k32(2));
    assert_eq!(errno(m.get_next_key(Some(&k32(2)), &mut k)), ENOENT);
    m.get_next_key(Some(&k32(77)), &mut k).unwrap();
    assert_eq!(k, k32(0), "an out-of-range key restarts at 0");
    // Program view: a pointer to the value, stable and aligned.
    let p = m.prog_lookup(&k32(1), 0).unwrap();
    assert_eq!(p % 8, 0);
    assert_eq!(m.prog_lookup(&k32(1), 0), Some(p));
    assert_eq!(m.prog_lookup(&k32(3), 0), None);
}

#[test]
fn percpu_layout() {
    let m = Map::create("p", def(map_type::PERCPU_ARRAY, 4, 4, 2), 3).unwrap();
    assert_eq!(m.syscall_value_size(), 24, "round_up(4, 8) × 3 CPUs");
    m.prog_update(&k32(0), &[1, 0, 0, 0], BPF_ANY, 2).unwrap();
    let mut v = vec![0u8; 24];
    m.lookup(&k32(0), &mut v).unwrap();
    assert_eq!(v[16..20], [1, 0, 0, 0]);
    assert!(v[..16].iter().all(|&b| b == 0));
    let h = Map::create("h", def(map_type::PERCPU_HASH, 4, 4, 2), 2).unwrap();
    h.update(&k32(5), &[1; 16], BPF_ANY).unwrap();
    h.prog_update(&k32(5), &[2; 4], BPF_EXIST, 1).unwrap();
    let mut v = vec![0u8; 16];
    h.lookup(&k32(5), &mut v).unwrap();
    assert_eq!(v, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1], "update in place, CPU 1 only");
    h.prog_update(&k32(6), &[3; 4], BPF_ANY, 0).unwrap();
    h.lookup(&k32(6), &mut v).unwrap();
    assert_eq!(v, [3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "a program insert zeroes the other CPUs");
}

#[test]
fn hash_semantics() {
    let m = Map::create("h", def(map_type::HASH, 4, 8, 2), 2).unwrap();
    let mut v = [0u8; 8];
    assert_eq!(errno(m.lookup(&k32(1), &mut v)), ENOENT);
    assert_eq!(errno(m.update(&k32(1), &[1; 8], BPF_EXIST)), ENOENT);
    m.update(&k32(1), &[1; 8], BPF_NOEXIST).unwrap();
    assert_eq!(errno(m.update(&k32(1), &[1; 8], BPF_NOEXIST)), EEXIST);
    m.update(&k32(2), &[2; 8], BPF_ANY).unwrap();
    assert_eq!(errno(m.update(&k32(3), &[3; 8], BPF_ANY)), E2BIG, "a new key in a full map");
    m.update(&k32(2), &[4; 8], BPF_ANY).unwrap();
    m.lookup(&k32(2), &mut v).unwrap();
    assert_eq!(v, [4; 8], "replacing in a full map works");
    assert_eq!(errno(m.update(&k32(2), &[4; 8], 8)), EINVAL);
    let mut keys = m.keys();
    keys.sort();
    assert_eq!(keys, vec![k32(1).to_vec(), k32(2).to_vec()]);
    let mut k = [0u8; 4];
    m.get_next_key(Some(&k32(99)), &mut k).unwrap();
    assert_eq!(k.to_vec(), m.keys()[0], "an unknown key restarts at the first");
    m.delete(&k32(1)).unwrap();
    assert_eq!(errno(m.delete(&k32(1))), ENOENT);
    m.update(&k32(3), &[3; 8], BPF_ANY).unwrap();
    m.delete(&k32(2)).unwrap();
    m.delete(&k32(3)).unwrap();
    assert_eq!(errno(m.get_next_key(None, &mut k)), ENOENT);
}

#[test]
fn hash_pointer_survives_other_updates() {
    let m = Map::create("h", def(map_type::HASH, 4, 8, 64), 1).unwrap();
    m.update(&k32(0), &[9; 8], BPF_ANY).unwrap();
    let p = m.prog_lookup(&k32(0), 0).unwrap();
    for i in 1..64 {
        m.update(&k32(i), &[i as u8; 8], BPF_ANY).unwrap();
    }
    // SAFETY: p points into the map's preallocated value storage.
    assert_eq!(unsafe { *(p as *const [u8; 8]) }, [9; 8]);
}

#[test]
fn lru_evicts_unreferenced_first() {
    let m = Map::create("l", def(map_type::LRU_HASH, 4, 4, 4), 1).unwrap();
    for i in 0..4 {
        m.update(&k32(i), &k32(i), BPF_ANY).unwrap();
    }
    m.prog_lookup(&k32(0), 0).unwrap();
    m.update(&k32(10), &k32(10), BPF_ANY).unwrap();
    let mut v = [0u8; 4];
    m.lookup(&k32(0), &mut v).expect("the referenced key stays");
    m.lookup(&k32(10), &mut v).unwrap();
    assert_eq!(m.keys().len(), 4, "one key was evicted");
    assert_eq!(errno(m.update(&k32(10), &k32(1), BPF_NOEXIST)), EEXIST);
}

#[test]
fn prog_array_semantics() {
    let m = Map::create("pa", def(map_type::PROG_ARRAY, 4, 4, 2), 1).unwrap();
    let mut v = [0u8; 4];
    assert_eq!(errno(m.lookup(&k32(0), &mut v)), ENOENT);
    m.update(&k32(0), &7u32.to_ne_bytes(), BPF_ANY).unwrap();
    assert_eq!(m.prog_array().unwrap().get(0), Some(7));
    assert_eq!(errno(m.update(&k32(0), &7u32.to_ne_bytes(), BPF_NOEXIST)), EINVAL);
    assert_eq!(errno(m.update(&k32(2), &7u32.to_ne_bytes(), BPF_ANY)), E2BIG);
    m.delete(&k32(0)).unwrap();
    assert_eq!(errno(m.delete(&k32(0))), ENOENT);
    assert_eq!(errno(m.delete(&k32(5))), E2BIG);
}

#[test]
fn freeze_and_readonly() {
    let m = Map::create("f", def(map_type::ARRAY, 4, 4, 1), 1).unwrap();
    m.update(&k32(0), &[1; 4], BPF_ANY).unwrap();
    m.freeze().unwrap();
    assert_eq!(errno(m.freeze()), EBUSY);
    assert_eq!(errno(m.update(&k32(0), &[2; 4], BPF_ANY)), EPERM);
    m.prog_update(&k32(0), &[3; 4], BPF_ANY, 0).expect("freezing binds user space only");
    let ro = Map::create("r", MapDef { map_flags: create_flags::RDONLY_PROG, ..def(map_type::ARRAY, 4, 4, 1) }, 1).unwrap();
    assert_eq!(errno(ro.prog_update(&k32(0), &[3; 4], BPF_ANY, 0)), EPERM);
    assert!(!ro.regions()[0].writable);
    assert_eq!(ro.direct_value_addr(0).unwrap() % 8, 0);
    assert_eq!(errno(ro.direct_value_addr(4)), EINVAL);
}

#[test]
fn ringbuf_records_in_order() {
    let m = Map::create("rb", def(map_type::RINGBUF, 0, 0, 4096), 1).unwrap();
    let rb = m.ringbuf().unwrap();
    let a = rb.reserve(5, 0).unwrap();
    rb.output(b"second", 0).unwrap();
    // SAFETY: a points at 5 reserved bytes.
    unsafe { core::ptr::copy_nonoverlapping(b"first".as_ptr(), a as *mut u8, 5) };
    let mut seen: Vec<Vec<u8>> = Vec::new();
    assert_eq!(rb.consume(|r| seen.push(r.to_vec())), 0, "a busy first record blocks the ones after it");
    assert!(rb.commit(a, false));
    assert!(!rb.commit(a, false), "a record is committed once");
    assert_eq!(rb.consume(|r| seen.push(r.to_vec())), 2);
    assert_eq!(seen, vec![b"first".to_vec(), b"second".to_vec()]);
    assert_eq!(rb.query(RB_PROD_POS_T), 16 + 16);
    assert_eq!(rb.query(RB_AVAIL_DATA_T), 0);
    let d = rb.reserve(8, 0).unwrap();
    rb.commit(d, true);
    assert_eq!(rb.consume(|_| panic!("discarded records are skipped")), 0);
    assert_eq!(rb.reserve(8, 1), None, "reserve flags must be 0");
    assert_eq!(rb.output(b"x", 4), Err(EINVAL));
    // Fill: capacity is size - 1 bytes of (header + data) rounded to 8.
    let mut n = 0;
    while rb.output(&[0; 56], 0).is_ok() {
        n += 1;
    }
    assert_eq!(n, 4096 / 64 - 1);
    assert_eq!(rb.output(&[0; 56], 0), Err(EAGAIN));
    // Records that wrap past the end stay contiguous.
    assert_eq!(rb.consume(|_| {}), n);
    for i in 0..200u8 {
        rb.output(&[i; 40], 0).unwrap();
        let mut got = Vec::new();
        rb.consume(|r| got.extend_from_slice(r));
        assert_eq!(got, [i; 40]);
    }
}

const RB_PROD_POS_T: u64 = super::ringbuf::RB_PROD_POS;
const RB_AVAIL_DATA_T: u64 = super::ringbuf::RB_AVAIL_DATA;

#[test]
fn exact_regions_are_one_per_value_of_value_size() {
    use map_type::*;
    // 12-byte values, 16 bytes apart: the padding belongs to no region.
    let a = Map::create("a", def(ARRAY, 4, 12, 3), 2).unwrap();
    let r = a.exact_regions();
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|x| x.len == 12));
    assert_eq!(r[1].start - r[0].start, 16);
    assert_eq!(r[0].start, a.regions()[0].start);
    // Per-CPU: one region per CPU's copy.
    assert_eq!(Map::create("p", def(PERCPU_ARRAY, 4, 8, 3), 2).unwrap().exact_regions().len(), 6);
    // Hash values: one per slot (max_entries + ncpus), each value_size bytes.
    let h = Map::create("h", def(HASH, 4, 20, 4), 2).unwrap().exact_regions();
    assert_eq!(h.len(), 6);
    assert!(h.iter().all(|x| x.len == 20));
}
