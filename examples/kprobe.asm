# A kprobe's usual work, in 10 instructions: read the probed call's arguments and
# return address from the RISC-V pt_regs in r1 (a0 at 80, a1 at 88, ra at 8) and
# combine them.
ldxdw %r2, [%r1+80]
ldxdw %r3, [%r1+88]
ldxdw %r4, [%r1+8]
mov %r0, %r2
add %r0, %r3
jeq %r4, 0, out
xor %r0, %r4
ldxw %r5, [%r1+16]
and %r0, %r5
out:
exit
