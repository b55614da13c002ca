//! The conformance suite's `.data` files, parsed, sorted by path.
#![allow(dead_code)]

use std::path::PathBuf;

use rvbpf::conformance::{parse_data, DataFile};

pub fn data_files() -> Vec<(PathBuf, DataFile)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "data") {
                let f = parse_data(&std::fs::read_to_string(&p).unwrap());
                out.push((p, f));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
