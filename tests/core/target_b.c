/* Target B: fields missing, renamed and resized; enums renumbered; the type local.h
 * calls absent exists; core_pair no longer matches. */
struct core_inner { int a; long b; };
struct core_task {
	int pid;
	unsigned long flags;
	char comm[32];
	struct core_inner inner;
	union { long u1; int u2; };
	unsigned int bf1 : 3, bf2 : 5;
	long sbf : 20;
	void *ptr;
	unsigned int small;
	int ssmall;
	struct core_inner arr[2];
};
struct core_pair { int x; int y; };
struct core_absent { int z; };
enum core_state { CS_B = 20, CS_A = 10 };
enum core_big : unsigned long long { CB_X = 0x300000000ULL };
typedef unsigned int core_u32;
struct core_task task;
struct core_pair pair;
struct core_absent absent;
enum core_state state;
enum core_big big;
core_u32 u;
