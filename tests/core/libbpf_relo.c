/* The oracle tests/core.rs compares rvbpf's CO-RE relocation with: libbpf relocates
 * OBJ's program PROG against the BTF in TARGET (btf_custom_path), and this prints the
 * instructions libbpf hands the kernel, one per line:
 *   insn INDEX OPCODE DST SRC OFF IMM
 * With a fourth argument `load`, the kernel then verifies the relocated program and the
 * last line is `verdict accepted` or `verdict refused: LAST LOG LINE`; without it the
 * load stops before anything reaches the kernel. libbpf's bpf_object__load probes kernel
 * features either way, so this runs as root. Exit status 0 when the instructions were
 * printed, 2 when libbpf refused the object before the kernel saw it (log on stderr). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static const char *wanted;
static int printed, load;
static char log_buf[1 << 20];

static int dump(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	(void)opts;
	(void)cookie;
	if (strcmp(bpf_program__name(prog), wanted) != 0)
		return 0;
	const struct bpf_insn *insn = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog);
	for (size_t i = 0; i < n; i++)
		printf("insn %zu %u %u %u %d %d\n", i, insn[i].code, insn[i].dst_reg, insn[i].src_reg, insn[i].off, insn[i].imm);
	printed = 1;
	return load ? 0 : -ECANCELED;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "load") == 0)) {
		fprintf(stderr, "usage: %s OBJ PROG TARGET [load]\n", argv[0]);
		return 64;
	}
	wanted = argv[2];
	load = argc == 5;
	libbpf_set_print(quiet);
	LIBBPF_OPTS(libbpf_prog_handler_opts, hopts, .prog_prepare_load_fn = dump);
	if (libbpf_register_prog_handler("kprobe/", BPF_PROG_TYPE_KPROBE, 0, &hopts) < 0) {
		fprintf(stderr, "libbpf_register_prog_handler failed\n");
		return 1;
	}
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = argv[3]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], &oopts);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), wanted) == 0);
		bpf_program__set_log_buf(prog, log_buf, sizeof(log_buf));
		bpf_program__set_log_level(prog, 1);
	}
	int err = bpf_object__load(obj);
	if (load && printed) {
		if (!err) {
			printf("verdict accepted\n");
		} else {
			/* The log's last line that is not the summary says why. */
			char *last = NULL, *line = strtok(log_buf, "\n");
			for (; line; line = strtok(NULL, "\n"))
				if (strncmp(line, "processed ", 10) != 0)
					last = line;
			printf("verdict refused: %s\n", last ? last : "(no log)");
		}
	}
	bpf_object__close(obj);
	return printed ? 0 : 2;
}
