/* Runs single RV64 instructions for tests/smt (the RV64 model pinned to real execution
 * under qemu-riscv64). Each stdin line is "WORD A B" in hex: WORD is an instruction
 * that reads a0 and a1 and writes a0; it runs with a0 = A, a1 = B and the line printed
 * is a0 afterwards, in hex. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    uint32_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    unsigned word;
    unsigned long long a, b;
    while (scanf("%x %llx %llx", &word, &a, &b) == 3) {
        code[0] = word;
        code[1] = 0x00008067; /* jalr zero, 0(ra) */
        __builtin___clear_cache((char *)code, (char *)(code + 2));
        uint64_t (*f)(uint64_t, uint64_t) = (uint64_t (*)(uint64_t, uint64_t))(void *)code;
        printf("%llx\n", (unsigned long long)f(a, b));
    }
    return 0;
}
