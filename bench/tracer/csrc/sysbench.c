/* sysbench: time a syscall loop from inside the program, so start-up (and the
 * tracer's launch) is not counted.  sysbench getpid|openat N  -> ns per call */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: sysbench getpid|openat N\n"); return 2; }
	long n = atol(argv[2]);
	int open_loop = !strcmp(argv[1], "openat");
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
