# Copies 256 bytes from the input memory to the stack, one byte at a time, then sums
# the copy 8 bytes at a time. r1 = memory of 256 bytes. The buffer is zeroed first: the
# verifier cannot prove that a loop writes every byte, and it refuses a read of stack
# bytes it cannot prove written.
stdw [%r10-8], 0
stdw [%r10-16], 0
stdw [%r10-24], 0
stdw [%r10-32], 0
stdw [%r10-40], 0
stdw [%r10-48], 0
stdw [%r10-56], 0
stdw [%r10-64], 0
stdw [%r10-72], 0
stdw [%r10-80], 0
stdw [%r10-88], 0
stdw [%r10-96], 0
stdw [%r10-104], 0
stdw [%r10-112], 0
stdw [%r10-120], 0
stdw [%r10-128], 0
stdw [%r10-136], 0
stdw [%r10-144], 0
stdw [%r10-152], 0
stdw [%r10-160], 0
stdw [%r10-168], 0
stdw [%r10-176], 0
stdw [%r10-184], 0
stdw [%r10-192], 0
stdw [%r10-200], 0
stdw [%r10-208], 0
stdw [%r10-216], 0
stdw [%r10-224], 0
stdw [%r10-232], 0
stdw [%r10-240], 0
stdw [%r10-248], 0
stdw [%r10-256], 0
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
