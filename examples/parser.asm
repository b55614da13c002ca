# A branchy parser: walks 64 records of 4 bytes (type, length, value16) and classifies
# each by type and value range. r1 = memory of 256 bytes.
mov %r0, 0
mov %r3, 0
next:
jge %r3, 256, done
mov %r4, %r1
add %r4, %r3
ldxb %r5, [%r4+0]
ldxh %r6, [%r4+2]
jeq %r5, 1, t1
jeq %r5, 2, t2
jeq %r5, 3, t3
jgt %r5, 200, big
add %r0, 1
ja step
t1:
jlt %r6, 1000, small
add %r0, 3
ja step
small:
add %r0, 5
ja step
t2:
jset %r6, 1, odd
add %r0, 7
ja step
odd:
add %r0, 11
ja step
t3:
jsgt %r6, 0, pos
add %r0, 13
ja step
pos:
add %r0, 17
ja step
big:
xor %r0, %r6
step:
add %r3, 4
ja next
done:
exit
