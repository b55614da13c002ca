//! The ISA's value semantics as pure functions (RFC 9669 §4-5): ALU operations, jump
//! conditions, byte swaps, sign extension.
//!
//! The interpreter calls these; the SMT model and the verifier's soundness tests use them
//! as the concrete oracle. Each function states the edge case it pins down.

use crate::isa::{AluOp, EndKind, EndWidth, JmpCond, SxWidth};

/// 64-bit ALU: `dst = dst op src`.
/// Division by zero gives 0; modulo by zero leaves dst; shifts mask the amount to 6 bits;
/// `i64::MIN s/ -1` wraps to `i64::MIN` and `i64::MIN s% -1` is 0.
#[inline]
pub fn alu64(op: AluOp, dst: u64, src: u64) -> u64 {
    match op {
        AluOp::Add => dst.wrapping_add(src),
        AluOp::Sub => dst.wrapping_sub(src),
        AluOp::Mul => dst.wrapping_mul(src),
        AluOp::Div => dst.checked_div(src).unwrap_or(0),
        AluOp::Sdiv => {
            if src == 0 {
                0
            } else {
                (dst as i64).wrapping_div(src as i64) as u64
            }
        }
        AluOp::Or => dst | src,
        AluOp::And => dst & src,
        AluOp::Lsh => dst << (src & 63),
        AluOp::Rsh => dst >> (src & 63),
        AluOp::Mod => dst.checked_rem(src).unwrap_or(dst),
        AluOp::Smod => {
            if src == 0 {
                dst
            } else {
                (dst as i64).wrapping_rem(src as i64) as u64
            }
        }
        AluOp::Xor => dst ^ src,
        AluOp::Mov => src,
        AluOp::Arsh => ((dst as i64) >> (src & 63)) as u64,
    }
}

/// 32-bit ALU on the low halves; the result is zero-extended to 64 bits.
/// Modulo by zero leaves the low 32 bits of dst (upper half cleared); shifts mask to 5 bits.
#[inline]
pub fn alu32(op: AluOp, dst: u64, src: u64) -> u64 {
    let (d, s) = (dst as u32, src as u32);
    let r: u32 = match op {
        AluOp::Add => d.wrapping_add(s),
        AluOp::Sub => d.wrapping_sub(s),
        AluOp::Mul => d.wrapping_mul(s),
        AluOp::Div => d.checked_div(s).unwrap_or(0),
        AluOp::Sdiv => {
            if s == 0 {
                0
            } else {
                (d as i32).wrapping_div(s as i32) as u32
            }
        }
        AluOp::Or => d | s,
        AluOp::And => d & s,
        AluOp::Lsh => d << (s & 31),
        AluOp::Rsh => d >> (s & 31),
        AluOp::Mod => d.checked_rem(s).unwrap_or(d),
        AluOp::Smod => {
            if s == 0 {
                d
            } else {
                (d as i32).wrapping_rem(s as i32) as u32
            }
        }
        AluOp::Xor => d ^ s,
        AluOp::Mov => s,
        AluOp::Arsh => ((d as i32) >> (s & 31)) as u32,
    };
    r as u64
}

/// The 64-bit value of a K-form operand. ALU64 and JMP sign-extend imm; 32-bit
/// operations read only the low half, so the same value serves them, except unsigned
/// DIV/MOD on ALU (32-bit), which take imm as u32 — also the low half. One rule covers all.
#[inline]
pub fn imm64(imm: i32) -> u64 {
    imm as i64 as u64
}

/// NEG: two's complement negation (`-i64::MIN == i64::MIN`); 32-bit form zero-extends.
#[inline]
pub fn neg(dst: u64, wide: bool) -> u64 {
    if wide {
        dst.wrapping_neg()
    } else {
        (dst as u32).wrapping_neg() as u64
    }
}

/// MOVSX: sign-extend the low `bits` of src; the 32-bit form then zero-extends from 32.
#[inline]
pub fn movsx(src: u64, bits: SxWidth, wide: bool) -> u64 {
    let v = sign_extend(src, bits.bits());
    if wide {
        v
    } else {
        v as u32 as u64
    }
}

/// Sign-extends the low `bits` bits of `v` to 64 bits.
#[inline]
pub fn sign_extend(v: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

/// Byte swap / endianness conversion (little-endian host, as RFC 9669 §5.3 describes for
/// TO_LE/TO_BE): the result is truncated to `bits` and zero-extended.
#[inline]
pub fn end(kind: EndKind, bits: EndWidth, dst: u64) -> u64 {
    let swap = !matches!(kind, EndKind::Le);
    match (bits, swap) {
        (EndWidth::B16, false) => dst as u16 as u64,
        (EndWidth::B32, false) => dst as u32 as u64,
        (EndWidth::B64, false) => dst,
        (EndWidth::B16, true) => (dst as u16).swap_bytes() as u64,
        (EndWidth::B32, true) => (dst as u32).swap_bytes() as u64,
        (EndWidth::B64, true) => dst.swap_bytes(),
    }
}

/// Jump condition on 64-bit operands.
#[inline]
pub fn cond64(cond: JmpCond, a: u64, b: u64) -> bool {
    match cond {
        JmpCond::Eq => a == b,
        JmpCond::Gt => a > b,
        JmpCond::Ge => a >= b,
        JmpCond::Set => a & b != 0,
        JmpCond::Ne => a != b,
        JmpCond::Sgt => (a as i64) > (b as i64),
        JmpCond::Sge => (a as i64) >= (b as i64),
        JmpCond::Lt => a < b,
        JmpCond::Le => a <= b,
        JmpCond::Slt => (a as i64) < (b as i64),
        JmpCond::Sle => (a as i64) <= (b as i64),
    }
}

/// JMP32: the condition on the low 32 bits of both operands.
#[inline]
pub fn cond32(cond: JmpCond, a: u64, b: u64) -> bool {
    let (a, b) = (a as u32, b as u32);
    match cond {
        JmpCond::Eq => a == b,
        JmpCond::Gt => a > b,
        JmpCond::Ge => a >= b,
        JmpCond::Set => a & b != 0,
        JmpCond::Ne => a != b,
        JmpCond::Sgt => (a as i32) > (b as i32),
        JmpCond::Sge => (a as i32) >= (b as i32),
        JmpCond::Lt => a < b,
        JmpCond::Le => a <= b,
        JmpCond::Slt => (a as i32) < (b as i32),
        JmpCond::Sle => (a as i32) <= (b as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_edge_cases_follow_the_isa_document() {
        assert_eq!(alu64(AluOp::Div, 7, 0), 0);
        assert_eq!(alu64(AluOp::Mod, 7, 0), 7);
        assert_eq!(alu32(AluOp::Mod, 0xffff_ffff_0000_0007, 0), 7, "mod32 by zero clears the upper half");
        assert_eq!(alu32(AluOp::Div, 9, 0x1_0000_0000), 0, "div32 sees only the low half of src");
        assert_eq!(alu64(AluOp::Sdiv, i64::MIN as u64, u64::MAX), i64::MIN as u64);
        assert_eq!(alu64(AluOp::Smod, i64::MIN as u64, u64::MAX), 0);
        assert_eq!(alu32(AluOp::Sdiv, i32::MIN as u32 as u64, u32::MAX as u64), i32::MIN as u32 as u64);
        assert_eq!(alu64(AluOp::Smod, (-13i64) as u64, 3), (-1i64) as u64);
        assert_eq!(alu64(AluOp::Div, 10, imm64(-3)), 0, "div64 imm is sign-extended then unsigned");
    }

    #[test]
    fn shifts_mask_their_amount() {
        assert_eq!(alu64(AluOp::Lsh, 1, 65), 2);
        assert_eq!(alu32(AluOp::Lsh, 1, 33), 2);
        assert_eq!(alu32(AluOp::Arsh, 0x8000_0000, 31), 0xffff_ffff);
        assert_eq!(alu64(AluOp::Rsh, 4, imm64(-1)), 0, "a negative amount is masked to 63");
    }

    #[test]
    fn byte_swaps_truncate_to_their_width() {
        assert_eq!(end(EndKind::Le, EndWidth::B16, 0x1122_3344_5566_7788), 0x7788);
        assert_eq!(end(EndKind::Be, EndWidth::B32, 0x1122_3344_5566_7788), 0x8877_6655);
        assert_eq!(end(EndKind::Swap, EndWidth::B64, 0x1122_3344_5566_7788), 0x8877_6655_4433_2211);
    }

    #[test]
    fn sign_extension() {
        assert_eq!(movsx(0x80, SxWidth::S8, true), 0xffff_ffff_ffff_ff80);
        assert_eq!(movsx(0x80, SxWidth::S8, false), 0xffff_ff80);
        assert_eq!(neg(i64::MIN as u64, true), i64::MIN as u64);
        assert_eq!(neg(1, false), 0xffff_ffff);
    }

    #[test]
    fn jmp32_compares_low_halves() {
        assert!(cond32(JmpCond::Eq, 0x1_0000_0005, 5));
        assert!(!cond64(JmpCond::Eq, 0x1_0000_0005, 5));
        assert!(cond32(JmpCond::Slt, 0xffff_ffff, 0));
    }
}
