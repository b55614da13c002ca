//! Seeded verifier bugs (feature `seeded-bugs`, for tests only; never in a default or
//! release build): each is one historic class of verifier bug, switched on by name, so
//! the tests can measure what catches it (the operator proofs, the soundness oracle, the
//! verifier suite: proofs/README.md). Without the feature, `verifier_bug!` is the
//! constant `false` and none of the bug code is compiled in.

crate::seeded_bug_set! {
    env: "RVBPF_SEEDED_VERIFIER_BUG",
    Alu32BoundsFrom64: "the 32-bit bounds truncated from the 64-bit ones even when the range crosses a 2^32 window (CVE-2020-8835)",
    Or32BoundsFromMax: "32-bit or bounded by the larger maximum, as if or could not set new bits (CVE-2021-3490: 32-bit bitwise bounds)",
    Jmp32SignedAsUnsigned: "a signed JMP32 comparison refined as unsigned (signed/unsigned confusion)",
    ShiftUnknownAmountPrecise: "a shift by an unknown amount refined as a shift by its smallest value",
    Neg32KeepsLow: "32-bit negation leaves the low half's bounds as they were",
    SubIgnoresWrap: "subtraction's unsigned range kept when it wraps",
    WideningNarrows: "widening keeps the old upper bound when the new one is higher",
    JoinDropsOrNull: "a join of a pointer and the same maybe-null pointer gives the pointer (the or-null flag dropped)",
    NullCheckAnyId: "a null check makes every maybe-null pointer into the same region non-null, whatever its id",
    PacketRangeWrongBranch: "the packet range granted on the branch where the pointer is past data_end",
    PacketRangeOffByOne: "the packet range one byte longer than the comparison proved",
    MapValueOffByOne: "an access to a map value allowed one byte past value_size",
    SpillPartialOverwriteKeepsType: "a partial store over a spilled register keeps the spill (PREVAIL 0.2.6: no type havoc)",
    StackUninitRead: "a read of stack bytes never written allowed, as an unknown number",
    CtxAccessStartOnly: "a context access checked by its first byte only",
    MapKeyUninit: "a helper's map key checked for bounds but not for being written",
}
