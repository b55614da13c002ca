/* The types the CO-RE fixture is compiled against: its local (compile-time) view. The
 * target_*.c files give the same types as three other "kernels" have them. */
#define PAI __attribute__((preserve_access_index))

struct core_inner { int a; int b; } PAI;

struct core_task {
	int pid;
	int tgid;
	unsigned long flags;
	char comm[16];
	struct core_inner inner;
	union { long u1; int u2; };
	unsigned int bf1 : 3, bf2 : 5;
	int sbf : 4;
	void *ptr;
	unsigned short small;
	short ssmall;
	int gone;
	struct core_inner arr[4];
} PAI;

/* A flavor: libbpf matches it to the target's `struct core_task`. */
struct core_task___old {
	int pid;
	long old_only;
} PAI;

struct core_pair { int x; long y; } PAI;
struct core_absent { int z; } PAI;

enum core_state { CS_A = 1, CS_B = 2, CS_GONE = 3 };
enum core_big : unsigned long long { CB_X = 0x100000000ULL, CB_Y = 7 };
typedef unsigned int core_u32;
