//! Map-in-map: `BPF_MAP_TYPE_ARRAY_OF_MAPS` and `BPF_MAP_TYPE_HASH_OF_MAPS`.
//!
//! An element is another map. The outer map is created from an inner map that serves
//! as its template (`inner_map_fd`), and every map put in later must match the template
//! as Linux's `map_meta_equal` says: same type, key and value sizes and flags, and for
//! arrays the same `max_entries` unless the template has `BPF_F_INNER_MAP`. User space
//! writes an inner map by fd and reads back its id; a program's lookup yields the inner
//! map itself, which it may pass to the map helpers.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::RwLock;

use super::{create_flags::*, err, map_type, Map, MapDef, MapError, BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use crate::errno::*;

/// Whether `t` is one of the two map-in-map types.
pub const fn is_map_in_map(t: u32) -> bool {
    t == map_type::ARRAY_OF_MAPS || t == map_type::HASH_OF_MAPS
}

/// An inner map held by an outer one, with its id, which the syscall view reads back.
type Held = (u32, Arc<Map>);

/// The elements of an outer map, by key.
pub struct OfMaps {
    template: MapDef,
    array: bool,
    max_entries: u32,
    slots: RwLock<BTreeMap<Vec<u8>, Held>>,
}

impl OfMaps {
    /// An outer map of `def` whose elements must match `inner` (Linux's
    /// `bpf_map_meta_alloc`: the inner map may not itself hold maps).
    pub(crate) fn new(def: &MapDef, inner: &Map) -> Result<OfMaps, MapError> {
        let array = def.map_type == map_type::ARRAY_OF_MAPS;
        if def.value_size != 4 || def.max_entries == 0 || def.key_size == 0 || array && def.key_size != 4 {
            return err(EINVAL, "map-in-map needs value_size 4 (a map fd), non-zero max_entries and, for arrays, key_size 4");
        }
        let allowed = if array { NUMA_NODE | RDONLY | WRONLY } else { NO_PREALLOC | NUMA_NODE | RDONLY | WRONLY | ZERO_SEED };
        if def.map_flags & !allowed != 0 {
            return err(EINVAL, "flag not valid for this map-in-map type");
        }
        if inner.of_maps().is_some() {
            return err(EINVAL, "an inner map cannot hold maps itself (one level of map-in-map)");
        }
        if inner.prog_array().is_some() {
            return err(ENOTSUPP, "a prog array cannot be an inner map");
        }
        Ok(OfMaps { template: *inner.def(), array, max_entries: def.max_entries, slots: RwLock::new(BTreeMap::new()) })
    }

    /// The definition every inner map matches (what the verifier types a lookup with).
    pub fn template(&self) -> &MapDef {
        &self.template
    }

    /// Linux's `map_meta_equal` for this outer map's template and `m`.
    pub fn fits(&self, m: &Map) -> Result<(), MapError> {
        let (t, d) = (&self.template, m.def());
        let same = t.map_type == d.map_type && t.key_size == d.key_size && t.value_size == d.value_size && t.map_flags == d.map_flags;
        let arrays = matches!(t.map_type, map_type::ARRAY | map_type::PERCPU_ARRAY);
        if !same || arrays && t.map_flags & INNER_MAP == 0 && t.max_entries != d.max_entries {
            return err(EINVAL, "inner map does not match the outer map's template (type, key and value size, flags, and max_entries for arrays without BPF_F_INNER_MAP)");
        }
        Ok(())
    }

    /// Whether the outer map is an array of maps.
    pub fn is_array(&self) -> bool {
        self.array
    }

    /// Whether `key` is inside an array's `max_entries` (always, for a hash).
    pub fn index_ok(&self, key: &[u8]) -> bool {
        !self.array || u32::from_ne_bytes(key.try_into().unwrap_or([0xff; 4])) < self.max_entries
    }

    /// The inner map at `key`, with its id.
    pub fn get(&self, key: &[u8]) -> Option<Held> {
        self.slots.read().get(key).cloned()
    }

    /// Every inner map held now (a run's view of the outer map).
    pub fn inner_maps(&self) -> Vec<Arc<Map>> {
        self.slots.read().values().map(|(_, m)| m.clone()).collect()
    }

    pub(crate) fn lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        match self.get(key) {
            Some((id, _)) => {
                out.copy_from_slice(&id.to_ne_bytes());
                Ok(())
            }
            None => err(ENOENT, "no inner map at this key"),
        }
    }

    /// Puts `inner` (map `id`) at `key`. Arrays take only `BPF_ANY`, as Linux's fd arrays.
    /// The checks come in Linux's order: an array's flags and index before the map, a
    /// hash's map before its flags.
    pub(crate) fn update(&self, key: &[u8], id: u32, inner: &Arc<Map>, flags: u64) -> Result<(), MapError> {
        if !self.array {
            self.fits(inner)?;
        }
        if flags > BPF_EXIST || self.array && flags != BPF_ANY {
            return err(EINVAL, "update flags not valid for this map-in-map type");
        }
        if !self.index_ok(key) {
            return err(E2BIG, "index beyond max_entries");
        }
        self.fits(inner)?;
        let mut slots = self.slots.write();
        let present = slots.contains_key(key);
        match (present, flags) {
            (true, BPF_NOEXIST) => return err(EEXIST, "key exists (BPF_NOEXIST)"),
            (false, BPF_EXIST) => return err(ENOENT, "key not found (BPF_EXIST)"),
            (false, _) if slots.len() as u64 >= self.max_entries as u64 => return err(E2BIG, "map is full"),
            _ => {}
        }
        slots.insert(key.to_vec(), (id, inner.clone()));
        Ok(())
    }

    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        if !self.index_ok(key) {
            return err(E2BIG, "index beyond max_entries");
        }
        match self.slots.write().remove(key) {
            Some(_) => Ok(()),
            None => err(ENOENT, "no inner map at this key"),
        }
    }

    /// Arrays walk every index, as Linux's arrays do; hashes walk their keys in order.
    pub(crate) fn get_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        if self.array {
            return super::array::next_index(key, self.max_entries, out);
        }
        let slots = self.slots.read();
        let next = match key.filter(|k| slots.contains_key(*k)) {
            Some(k) => slots.range::<[u8], _>((core::ops::Bound::Excluded(k), core::ops::Bound::Unbounded)).next(),
            None => slots.iter().next(),
        };
        match next {
            Some((k, _)) => {
                out.copy_from_slice(k);
                Ok(())
            }
            None => err(ENOENT, "no key after this one"),
        }
    }

    /// Removes every inner map (the outer map's last user reference is gone).
    pub fn clear(&self) {
        self.slots.write().clear();
    }
}
