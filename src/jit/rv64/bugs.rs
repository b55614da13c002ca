//! Seeded JIT bugs (feature `seeded-bugs`, for tests only; never in a default or release
//! build): each is one historic class of JIT bug, switched on by name, so the tests can
//! measure what catches it. Without the feature, [`seeded!`] is the constant `false` and
//! none of the bug code is compiled in.

crate::seeded_bug_set! {
    env: "RVBPF_SEEDED_BUG",
    LdxUnsignedAsSigned: "an unsigned byte load lowered as lb where lbu is meant (rbpf)",
    LdsxHalfAsUnsigned: "a sign-extending halfword load lowered as lhu",
    NoZextAlu32Reg: "no zero-extension after a 32-bit register ALU op (Jitterbug's RISC-V find, fe121ee531d1)",
    NoZextAlu32Imm: "no zero-extension after a 32-bit ALU op with an immediate (1e692f09e091)",
    Mov32ImmSignExtended: "a negative 32-bit mov immediate left sign-extended where zero extension is meant",
    UnmaskedShift32: "a 32-bit shift by an immediate masked to 6 bits instead of 5 (solana rbpf)",
    DivByZeroNative: "64-bit division by a zero register left to RISC-V (all ones instead of 0; ebpf2rv)",
    Div32ZeroTest64: "32-bit division tests the whole 64-bit divisor for zero (68fda450a7df)",
    NoZextMod32: "no zero-extension after 32-bit modulo (9b00f1b78809)",
    MidBranchNotInverted: "the mid-reach branch's condition not inverted",
    FarBranchNotInverted: "the far-reach branch's condition not inverted",
    Imm12OffByOne: "an off-by-one in the 12-bit immediate range check (2048 taken as a 12-bit value)",
    AtomicWrongWidth: "a 32-bit atomic add emitted as the 64-bit AMO",
    CmpxchgComparesSrc: "cmpxchg compares memory with src instead of r0",
    Cmpxchg32NoSext: "32-bit cmpxchg compares with r0 not sign-extended as lr.w's value is",
    Fetch32NoZext: "a 32-bit atomic fetch left sign-extended by the AMO (Linux's zext.w after amo*.w)",
    FarJumpSkipOffBy4: "the far branch's skip over auipc+jalr off by 4 (lands on the jalr)",
    Be16Zbb: "be16 with Zbb shifts rev8's result right by 32 instead of 48",
    LddwLowSignExtended: "lddw's low half ORed in sign-extended (ebpf2rv)",
    JsgtUnsigned: "a signed jump (jsgt) lowered with an unsigned compare",
    Jmp32FullRegisters: "a 32-bit jump comparing whole 64-bit registers (x86-32 JSET X, 80f1f8503635)",
    SdivAsUdiv: "signed division lowered as unsigned",
    CallNoResult: "a helper's result not moved into r0 (rbpf PR #152)",
    EntryLeavesR5: "the entry does not clear r5: a host value reaches the program",
    StoreWordAsHalf: "a 32-bit store emitted as sh",
}
