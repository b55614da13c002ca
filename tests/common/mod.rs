//! Strategies shared by the integration tests.
#![allow(dead_code)]

use proptest::prelude::*;
use rvbpf::isa::*;

pub fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).unwrap())
}

/// r0-r9: registers an instruction may write.
pub fn wreg() -> impl Strategy<Value = Reg> {
    (0u8..=9).prop_map(|n| Reg::new(n).unwrap())
}

/// Immediates biased toward the values where encodings and semantics change.
pub fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        prop::sample::select(vec![0, 1, -1, 2047, 2048, -2048, -2049, i32::MAX, i32::MIN, 31, 32, 63, 64]),
    ]
}

pub fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

pub fn source() -> impl Strategy<Value = Source> {
    prop_oneof![reg().prop_map(Source::Reg), imm().prop_map(Source::Imm)]
}

pub fn size() -> impl Strategy<Value = Size> {
    prop::sample::select(vec![Size::B, Size::H, Size::W, Size::DW])
}

/// Any instruction the decoder accepts.
pub fn insn() -> impl Strategy<Value = Insn> {
    prop_oneof![
        (width(), prop::sample::select(AluOp::ALL.to_vec()), wreg(), source()).prop_map(|(width, op, dst, src)| Insn::Alu { width, op, dst, src }),
        (width(), wreg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        (prop::sample::select(vec![(Width::W32, SxWidth::S8), (Width::W32, SxWidth::S16), (Width::W64, SxWidth::S8), (Width::W64, SxWidth::S16), (Width::W64, SxWidth::S32)]), wreg(), reg())
            .prop_map(|((width, bits), dst, src)| Insn::MovSx { width, bits, dst, src }),
        (prop::sample::select(vec![EndKind::Le, EndKind::Be, EndKind::Swap]), prop::sample::select(vec![EndWidth::B16, EndWidth::B32, EndWidth::B64]), wreg())
            .prop_map(|(kind, bits, dst)| Insn::End { kind, bits, dst }),
        (prop::sample::select(LdKind::ALL.to_vec()), wreg(), imm(), imm()).prop_map(|(kind, dst, imm, next_imm)| Insn::LdImm64 { kind, dst, imm, next_imm }),
        (size(), any::<bool>(), wreg(), reg(), any::<i16>()).prop_map(|(size, signed, dst, src, off)| Insn::Ldx {
            size,
            signed: signed && size != Size::DW,
            dst,
            src,
            off
        }),
        (size(), reg(), any::<i16>(), imm()).prop_map(|(size, dst, off, imm)| Insn::St { size, dst, off, imm }),
        (size(), reg(), reg(), any::<i16>()).prop_map(|(size, dst, src, off)| Insn::Stx { size, dst, src, off }),
        (prop::sample::select(vec![Size::W, Size::DW]), prop::sample::select(AtomicOp::ALL.to_vec()), reg(), wreg(), any::<i16>())
            .prop_map(|(size, op, dst, src, off)| Insn::Atomic { size, op, dst, src, off }),
        any::<i16>().prop_map(|off| Insn::Ja { off }),
        imm().prop_map(|imm| Insn::Gotol { imm }),
        (width(), prop::sample::select(JmpCond::ALL.to_vec()), reg(), source(), any::<i16>())
            .prop_map(|(width, cond, dst, src, off)| Insn::Jmp { width, cond, dst, src, off }),
        imm().prop_map(|helper| Insn::Call { helper: HelperId(helper) }),
        imm().prop_map(|imm| Insn::CallLocal { imm }),
        reg().prop_map(|reg| Insn::Callx { reg }),
        Just(Insn::Exit),
    ]
}
