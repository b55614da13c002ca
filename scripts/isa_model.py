"""The kernel ISA document's (RFC 9669) ALU and jump semantics in Python: an
implementation independent of rvbpf's Rust code, shared by the generators of the
conformance suite (gen_conformance.py) and of the verifier suite (gen_verifier_suite.py)."""

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


def s64(v):
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def s32(v):
    v &= M32
    return v - (1 << 32) if v >> 31 else v


def sx(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def tdiv(a, b):
    """Signed division truncating toward zero (RFC 9669 §4.1)."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def alu(op, a, b, wide):
    """dst = dst op src, per RFC 9669 §4.1, for 64-bit (wide) or 32-bit ALU."""
    bits, mask = (64, M64) if wide else (32, M32)
    sgn = s64 if wide else s32
    a, b = a & mask, b & mask
    if op == "add": r = a + b
    elif op == "sub": r = a - b
    elif op == "mul": r = a * b
    elif op == "div": r = a // b if b else 0
    elif op == "sdiv": r = tdiv(sgn(a), sgn(b)) if b else 0
    elif op == "mod": r = a % b if b else a
    elif op == "smod": r = sgn(a) - sgn(b) * tdiv(sgn(a), sgn(b)) if b else a
    elif op == "or": r = a | b
    elif op == "and": r = a & b
    elif op == "xor": r = a ^ b
    elif op == "lsh": r = a << (b & (bits - 1))
    elif op == "rsh": r = a >> (b & (bits - 1))
    elif op == "arsh": r = sgn(a) >> (b & (bits - 1))
    elif op == "mov": r = b
    else: raise ValueError(op)
    return r & mask


def cond(name, a, b, wide):
    mask = M64 if wide else M32
    sgn = s64 if wide else s32
    a, b = a & mask, b & mask
    return {
        "jeq": a == b, "jne": a != b, "jgt": a > b, "jge": a >= b, "jlt": a < b, "jle": a <= b,
        "jset": (a & b) != 0, "jsgt": sgn(a) > sgn(b), "jsge": sgn(a) >= sgn(b),
        "jslt": sgn(a) < sgn(b), "jsle": sgn(a) <= sgn(b),
    }[name]
