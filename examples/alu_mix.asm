# Arithmetic mix: 1000 rounds of multiply, xor, shifts, division and 32-bit ops.
mov %r0, 1
mov %r1, 0x12345
mov %r2, 0
round:
jge %r2, 1000, done
mul %r1, 6364136
add %r1, 1442695
mov %r3, %r1
rsh %r3, 17
xor %r1, %r3
mov %r4, %r1
or %r4, 1
mov %r5, %r0
div %r5, %r4
add %r0, %r5
xor %r0, %r1
mov32 %r6, %r1
lsh32 %r6, 3
arsh %r6, 2
add %r0, %r6
add %r2, 1
ja round
done:
exit
