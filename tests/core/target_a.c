/* Target A: the types as local.h has them, with members moved and added. */
struct core_inner { int pad; int b; int a; };
struct core_task {
	long first;
	char comm[16];
	int tgid;
	int pid;
	unsigned long flags;
	struct core_inner inner;
	union { long u1; int u2; };
	unsigned int pad : 7, bf1 : 3, bf2 : 5;
	int sbf : 4;
	void *ptr;
	unsigned short small;
	short ssmall;
	int gone;
	struct core_inner arr[4];
};
struct core_pair { int x; long y; };
enum core_state { CS_A = 1, CS_B = 2, CS_GONE = 3 };
enum core_big : unsigned long long { CB_X = 0x100000000ULL, CB_Y = 7 };
typedef unsigned int core_u32;
struct core_task task;
struct core_pair pair;
enum core_state state;
enum core_big big;
core_u32 u;
