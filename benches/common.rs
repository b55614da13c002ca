//! What the benchmarks share: the example programs they run.
#![allow(dead_code)]

use rvbpf::conformance::parse_data;
use rvbpf::isa::{asm, encode_all, Program};

/// The programs every engine benchmark runs, from examples/.
pub const PROGRAMS: [&str; 4] = ["checksum.data", "parser.asm", "memcpy.asm", "alu_mix.asm"];

/// An example program, assembled.
pub fn program(name: &str) -> Program {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let src = if name.ends_with(".data") { parse_data(&text).asm.unwrap() } else { text };
    Program::decode(&encode_all(&asm::assemble(&src).unwrap())).unwrap()
}
