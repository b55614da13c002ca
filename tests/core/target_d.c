/* Target D: two flavors of core_pair that place `y` differently, so a relocation of
 * core_pair.y is ambiguous and the load is refused (libbpf refuses it too). */
struct core_pair___v1 { int x; long y; };
struct core_pair___v2 { long y; int x; };
struct core_task { int pid; };
struct core_pair___v1 p1;
struct core_pair___v2 p2;
struct core_task task;
