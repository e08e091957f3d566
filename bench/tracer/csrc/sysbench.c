/* sysbench: time a syscall loop from inside the program, so start-up (and the
 * tracer's launch) is not counted.
 *   sysbench getpid|openat N [filter]  -> ns per call
 * "filter" first loads an allow-all seccomp filter (flagged SPEC_ALLOW, as
 * the tracer's is): the kernel's price of seccomp with no tracer at all. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

static int allow_all(void) {
	struct sock_filter insn[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = insn};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) == 0) return 0;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: sysbench getpid|openat N [filter]\n"); return 2; }
	long n = atol(argv[2]);
	int open_loop = !strcmp(argv[1], "openat");
	if (argc > 3 && !strcmp(argv[3], "filter") && allow_all() != 0) { perror("seccomp"); return 1; }
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		if (open_loop) {
			int fd = openat(AT_FDCWD, "/dev/null", O_RDONLY);
			close(fd);
		} else {
			syscall(SYS_getpid);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
