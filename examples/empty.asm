# The empty program: what one run costs before the program does anything.
mov %r0, 0
exit
