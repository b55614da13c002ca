//! `rvbpf plugin [MEMORY]`: bpf_conformance's plugin protocol. The program comes as hex
//! on stdin, the memory as a hex argument; r0 goes to stdout in hex. Errors are one line
//! on stdout and exit status 1, as the protocol wants.

use std::io::Read;
use std::process::ExitCode;

use rvbpf::conformance;
use rvbpf::runtime::Engine;

pub fn cmd_plugin(memory: Option<&str>, engine: Engine, json: bool) -> Result<ExitCode, String> {
    super::engine_check(engine)?;
    let fail = |msg: String| {
        match json {
            true => println!("{}", serde_json::json!({"error": msg})),
            false => println!("{msg}"),
        }
        Ok(ExitCode::FAILURE)
    };
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        return fail(format!("cannot read the program from stdin: {e}"));
    }
    let program = match conformance::parse_hex(&text) {
        Ok(p) => p,
        Err(e) => return fail(format!("program: {e}")),
    };
    let mem = match memory.map(conformance::parse_hex).transpose() {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => return fail(format!("memory: {e}")),
    };
    match conformance::execute(&program, &mem, engine) {
        Ok(r0) => {
            match json {
                true => println!("{}", serde_json::json!({"return_value": r0, "return_value_hex": format!("0x{r0:x}")})),
                false => println!("{r0:x}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}
