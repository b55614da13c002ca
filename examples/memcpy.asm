# Copies 256 bytes from the input memory to the stack, one byte at a time, then sums
# the copy 8 bytes at a time. r1 = memory of 256 bytes.
mov %r3, 0
copy:
jge %r3, 256, sum
mov %r4, %r1
add %r4, %r3
ldxb %r5, [%r4+0]
mov %r4, %r10
add %r4, -256
add %r4, %r3
stxb [%r4+0], %r5
add %r3, 1
ja copy
sum:
mov %r0, 0
mov %r3, 0
more:
jge %r3, 256, done
mov %r4, %r10
add %r4, -256
add %r4, %r3
ldxdw %r5, [%r4+0]
add %r0, %r5
add %r3, 8
ja more
done:
exit
