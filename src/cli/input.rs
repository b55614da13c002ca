//! What a command is given, whatever its form: one function tells a BPF ELF object from
//! the raw forms of a program (a `.data` test, raw bytecode, hex text, assembly) and
//! reads it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rvbpf::conformance;
use rvbpf::isa::{asm, encode_all};
use rvbpf::loader::{self, co_re, CoreTarget, LoadError, LoadOptions, Object};
use rvbpf::prog::{ProgType, PROG_TYPES};

/// A command's input.
pub enum Input {
    /// A BPF ELF object (it starts with the ELF magic), parsed by the loader.
    Object(Object),
    /// A program as bytecode, with the memory a `.data` test gives it and what the test
    /// expects.
    Program { bytes: Vec<u8>, mem: Option<Vec<u8>>, expect: Option<Expect> },
}

/// What a `.data` test expects of a run: its `-- result`, or its `-- error`.
#[derive(Clone, Debug)]
pub enum Expect {
    Result(u64),
    Error(String),
}

/// Reads `path` (`-`: stdin) and tells its form: an ELF object by its magic; otherwise by
/// extension, `.data` (a conformance test: program and memory), `.bin` (raw bytecode),
/// `.asm`/`.s` (assembly); anything else is hex text when it is only hex digits,
/// whitespace and `x`, else raw bytecode.
pub fn read(path: &Path) -> Result<Input, String> {
    let bytes = read_bytes(path)?;
    let name = path.display();
    if bytes.starts_with(b"\x7fELF") {
        return object(&bytes, path).map(Input::Object);
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let (bytes, mem, expect) = match ext {
        "data" => {
            let f = conformance::parse_data(&String::from_utf8_lossy(&bytes));
            let expect = f.result.map(Expect::Result).or_else(|| f.error.clone().map(Expect::Error));
            (f.program_bytes().map_err(|e| format!("{name}: {e}"))?, Some(f.mem), expect)
        }
        "bin" => (bytes, None, None),
        "asm" | "s" => {
            let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
            let insns = asm::assemble(&text).map_err(|e| format!("{name}: {e}"))?;
            (encode_all(&insns), None, None)
        }
        _ => match std::str::from_utf8(&bytes) {
            Ok(text) if text.chars().all(|c| c.is_ascii_hexdigit() || c.is_whitespace() || c == 'x') => (conformance::parse_hex(text).map_err(|e| format!("{name}: {e}"))?, None, None),
            _ => (bytes, None, None),
        },
    };
    Ok(Input::Program { bytes, mem, expect })
}

/// An object, for the commands that take nothing else (the loader says why anything
/// else is not one).
pub fn read_object(path: &Path) -> Result<Object, String> {
    object(&read_bytes(path)?, path)
}

/// The whole file, or stdin for `-`.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// What CO-RE relocations go against, as `--btf` asks: a file's bytes (raw BTF or an
/// ELF with `.BTF`), the object's own types, or (without `--btf`) the running kernel's
/// BTF when the object needs one and the kernel has it.
enum BtfChoice {
    File(PathBuf, Vec<u8>),
    Local,
    Kernel,
}

/// How every command loads objects, set once by `main`.
struct CliLoad {
    prog_type: Option<ProgType>,
    attach_type: Option<u32>,
    allow_empty: bool,
    btf: BtfChoice,
}

static CLI_LOAD: OnceLock<CliLoad> = OnceLock::new();
/// The running kernel's BTF, read the first time an object needs it.
static KERNEL_BTF: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();

/// Reads `--type TYPE` (a kernel type name or a section name), `--allow-empty` and
/// `--btf FILE|local`, and sets them for every later object load.
pub fn set_load_options(prog_type: Option<&str>, allow_empty: bool, btf: Option<&Path>) -> Result<(), String> {
    // A section name gives its attach type too.
    let (prog_type, attach_type) = match prog_type {
        None => (None, None),
        Some(t) => {
            let by_name = PROG_TYPES.iter().find(|r| r.name == t).map(|r| (r.prog_type, None));
            let found = by_name.or_else(|| loader::sections::classify(t).map(|k| (k.prog_type, k.attach_type)));
            let names: Vec<&str> = PROG_TYPES.iter().map(|r| r.name).collect();
            let (t, a) = found.ok_or_else(|| format!("--type {t}: not a program type ({}) or a section name that names one", names.join(", ")))?;
            (Some(t), a)
        }
    };
    let btf = match btf {
        None => BtfChoice::Kernel,
        Some(p) if p == Path::new("local") => BtfChoice::Local,
        Some(p) => BtfChoice::File(p.to_path_buf(), std::fs::read(p).map_err(|e| format!("--btf {}: {e}", p.display()))?),
    };
    let _ = CLI_LOAD.set(CliLoad { prog_type, attach_type, allow_empty, btf });
    Ok(())
}

/// The target the CO-RE relocations of the last loaded object went against, for `load`.
pub fn core_target_name() -> String {
    match CLI_LOAD.get().map(|c| &c.btf) {
        Some(BtfChoice::File(p, _)) => p.display().to_string(),
        Some(BtfChoice::Local) => "the object's own BTF (--btf local)".into(),
        _ => co_re::KERNEL_BTF.into(),
    }
}

/// Parses an object; its name (libbpf's prefix for global-data maps) is the file name
/// without `.o` and `.bpf`. The loader's warnings go to stderr.
fn object(bytes: &[u8], path: &Path) -> Result<Object, String> {
    let stem = path.file_name().and_then(|n| n.to_str()).unwrap_or("obj");
    let stem = stem.strip_suffix(".o").unwrap_or(stem);
    let stem = stem.strip_suffix(".bpf").unwrap_or(stem);
    let cli = CLI_LOAD.get();
    let mut opts = LoadOptions { prog_type: cli.and_then(|c| c.prog_type), attach_type: cli.and_then(|c| c.attach_type), allow_empty: cli.is_some_and(|c| c.allow_empty), core_target: CoreTarget::None };
    opts.core_target = match cli.map(|c| &c.btf) {
        Some(BtfChoice::File(_, b)) => CoreTarget::Btf(b),
        Some(BtfChoice::Local) => CoreTarget::Local,
        _ => CoreTarget::None,
    };
    let mut loaded = loader::load_with(bytes, stem, &opts);
    // Without --btf, an object that needs a target gets the running kernel's, as libbpf
    // gives it; where the kernel has none the loader's error says what to pass.
    if matches!(loaded, Err(LoadError::NoCoreTarget { .. })) && opts.core_target == CoreTarget::None {
        if let Ok(kernel) = KERNEL_BTF.get_or_init(|| std::fs::read(co_re::KERNEL_BTF).map_err(|e| e.to_string())) {
            opts.core_target = CoreTarget::Btf(kernel);
            loaded = loader::load_with(bytes, stem, &opts);
        }
    }
    let obj = loaded.map_err(|e| format!("{}: {e}", path.display()))?;
    for w in &obj.warnings {
        eprintln!("rvbpf: warning: {}: {w}", path.display());
    }
    Ok(obj)
}

/// The object's program `name`, or its only program.
pub fn choose_program<'a>(obj: &'a Object, name: Option<&str>, path: &Path) -> Result<&'a loader::ProgramSpec, String> {
    match name {
        Some(n) => obj.program(n).ok_or_else(|| format!("no program named {n} in {}", path.display())),
        None => match obj.programs.as_slice() {
            [p] => Ok(p),
            ps => Err(format!("{} has {} programs; choose one with --program ({})", path.display(), ps.len(), ps.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "))),
        },
    }
}
