/* Target C: the anonymous union nested one level deeper, bitfields moved across a
 * word, members behind typedefs and qualifiers, and old_only present (as the flavor
 * core_task___old names it). */
typedef int pid_type;
struct core_inner { int a; int b; };
struct core_task {
	const volatile pid_type pid;
	int tgid;
	long old_only;
	unsigned long flags;
	struct { struct { char comm[16]; }; };
	struct core_inner inner;
	struct { int pad; union { long u1; int u2; }; };
	unsigned long long pad2 : 30, bf1 : 3, bf2 : 5;
	signed char sbf : 4;
	void *ptr;
	unsigned short small;
	short ssmall;
	int gone;
	struct core_inner arr[8];
};
struct core_pair { int x; long y; long extra; };
enum core_state { CS_A = 1, CS_B = 2, CS_GONE = 3, CS_NEW = 4 };
enum core_big : unsigned long long { CB_Y = 7, CB_X = 0x100000000ULL };
typedef unsigned long core_u32;
struct core_task task;
struct core_pair pair;
enum core_state state;
enum core_big big;
core_u32 u;
