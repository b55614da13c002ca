//! Turns spec/isa.json into `$OUT_DIR/isa_spec.rs`: the static table the decoder's
//! validity check, the assembler, the disassembler and the coverage check all read.
//! A malformed row stops the build with the row's id, so the table cannot drift silently.

use std::{env, fmt::Write as _, fs, path::Path};

fn field(row: &serde_json::Value, key: &str, id: &str) -> String {
    match &row[key] {
        serde_json::Value::String(s) => match s.as_str() {
            "zero" => "Field::Zero".into(),
            "any" => "Field::Any".into(),
            "reg" => "Field::Reg".into(),
            other => panic!("spec row {id}: field {key} has unknown rule {other:?}"),
        },
        serde_json::Value::Array(vals) => {
            let list: Vec<String> = vals
                .iter()
                .map(|v| v.as_i64().unwrap_or_else(|| panic!("spec row {id}: {key} list holds a non-integer")).to_string())
                .collect();
            format!("Field::OneOf(&[{}])", list.join(", "))
        }
        other => panic!("spec row {id}: field {key} is {other}"),
    }
}

fn text<'a>(row: &'a serde_json::Value, key: &str, id: &str) -> &'a str {
    row[key].as_str().unwrap_or_else(|| panic!("spec row {id}: missing text field {key}"))
}

fn main() {
    println!("cargo:rerun-if-changed=spec/isa.json");
    let src = fs::read_to_string("spec/isa.json").expect("read spec/isa.json");
    let doc: serde_json::Value = serde_json::from_str(&src).expect("spec/isa.json is not valid JSON");
    let rows = doc["rows"].as_array().expect("spec/isa.json has no rows array");
    let mut out = String::from("/// Every row of spec/isa.json, in file order.\npub static SPEC: &[SpecRow] = &[\n");
    let mut by_opcode: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for (i, row) in rows.iter().enumerate() {
        let id = row["id"].as_str().expect("spec row without id");
        let opcode = u8::from_str_radix(text(row, "opcode", id).trim_start_matches("0x"), 16)
            .unwrap_or_else(|_| panic!("spec row {id}: bad opcode"));
        by_opcode[opcode as usize].push(i);
        let dst = match text(row, "dst", id) {
            "write" => "DstRule::Write",
            "read" => "DstRule::Read",
            "zero" => "DstRule::Zero",
            other => panic!("spec row {id}: dst rule {other:?}"),
        };
        let group = match text(row, "group", id) {
            "base32" => "Group::Base32",
            "base64" => "Group::Base64",
            "atomic32" => "Group::Atomic32",
            "atomic64" => "Group::Atomic64",
            "divmul32" => "Group::Divmul32",
            "divmul64" => "Group::Divmul64",
            "packet" => "Group::Packet",
            "callx" => "Group::Callx",
            other => panic!("spec row {id}: group {other:?}"),
        };
        let version = row["version"].as_u64().unwrap_or_else(|| panic!("spec row {id}: version"));
        assert!((1..=4).contains(&version), "spec row {id}: version {version} outside v1-v4");
        let supported = row["supported"].as_bool().unwrap_or_else(|| panic!("spec row {id}: supported"));
        let note = row.get("note").and_then(|n| n.as_str()).unwrap_or("");
        writeln!(
            out,
            "    SpecRow {{ id: {:?}, opcode: 0x{:02x}, mnemonic: {:?}, class: {:?}, dst: {}, src: {}, off: {}, imm: {}, group: {}, version: {}, semantics: {:?}, supported: {}, note: {:?} }},",
            id,
            opcode,
            text(row, "mnemonic", id),
            text(row, "class", id),
            dst,
            field(row, "src", id),
            field(row, "off", id),
            field(row, "imm", id),
            group,
            version,
            text(row, "semantics", id),
            supported,
            note
        )
        .unwrap();
    }
    out.push_str("];\n\n/// For each opcode byte, the range of SPEC rows that have it (rows of one opcode are adjacent).\npub static ROWS_BY_OPCODE: [(u16, u8); 256] = [\n");
    for (op, idx) in by_opcode.iter().enumerate() {
        if let (Some(&first), Some(&last)) = (idx.first(), idx.last()) {
            assert_eq!(last - first + 1, idx.len(), "spec rows of opcode 0x{op:02x} are not adjacent");
            write!(out, "({first}, {}), ", idx.len()).unwrap();
        } else {
            out.push_str("(0, 0), ");
        }
    }
    out.push_str("\n];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("isa_spec.rs");
    fs::write(dest, out).unwrap();
}
