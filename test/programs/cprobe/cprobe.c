/* cprobe: the tracer suite's C test program, built with glibc and with musl.
 *   cprobe tcp IP PORT       connect, print the peer address and the first line read
 *   cprobe tcp-ticking IP PORT   the same under a 5 ms interval timer (SA_RESTART):
 *                            a blocking connect interrupted and restarted by the kernel
 *   cprobe udp IP PORT MSG   unconnected sendto/recvfrom, print the reply's source
 *   cprobe spawn             posix_spawn (vfork underneath) of "sh -c 'exit 5'"
 *   cprobe cat PATH          print a file and its stat size
 *   cprobe gai HOST PORT     getaddrinfo, connect, print the first line read
 *   cprobe iouring           try io_uring_setup, print the errno (or "ok")
 *   cprobe int80             getpid through the 32-bit int 0x80 gate (amd64)
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int tcp(const char *ip, int port) {
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
	struct sockaddr_in peer; socklen_t len = sizeof peer;
	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0) { perror("getpeername"); return 1; }
	char buf[256], ipbuf[64]; ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) { perror("read"); return 1; }
	buf[n] = 0;
	printf("peer %s:%d\nread %s", inet_ntop(AF_INET, &peer.sin_addr, ipbuf, sizeof ipbuf), ntohs(peer.sin_port), buf);
	return 0;
}

static void tick(int sig) { (void)sig; }

static int tcp_ticking(const char *ip, int port) {
	struct sigaction act = {.sa_handler = tick, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &act, NULL);
	struct itimerval every = {.it_interval = {0, 5000}, .it_value = {0, 5000}};
	setitimer(ITIMER_REAL, &every, NULL);
	return tcp(ip, port);
}

static int udp(const char *ip, int port, const char *msg) {
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("sendto"); return 1; }
	struct sockaddr_in from; socklen_t len = sizeof from;
	char buf[2048], ipbuf[64];
	ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
	if (n < 0) { perror("recvfrom"); return 1; }
	buf[n] = 0;
	printf("from %s:%d\nreply %s\n", inet_ntop(AF_INET, &from.sin_addr, ipbuf, sizeof ipbuf), ntohs(from.sin_port), buf);
	return 0;
}

static int spawn(void) {
	pid_t pid; int st;
	char *argv[] = {"sh", "-c", "exit 5", NULL};
	if (posix_spawnp(&pid, "sh", NULL, NULL, argv, environ) != 0) { perror("posix_spawn"); return 1; }
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	return 0;
}

static int cat(const char *path) {
	FILE *f = fopen(path, "r");
	if (!f) { perror("fopen"); return 1; }
	char buf[4096]; size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
	fclose(f);
	struct stat st;
	if (stat(path, &st) < 0) { perror("stat"); return 1; }
	printf("size %lld\n", (long long)st.st_size);
	return 0;
}

static int gai(const char *host, const char *port) {
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) { fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(rc)); return 1; }
	int fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) { perror("connect"); return 1; }
	char buf[256]; ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) { perror("read"); return 1; }
	buf[n] = 0;
	printf("%s", buf);
	freeaddrinfo(res);
	return 0;
}

static int iouring(void) {
	char params[120] = {0}; /* struct io_uring_params */
	long fd = syscall(SYS_io_uring_setup, 1, params);
	if (fd < 0) { printf("io_uring_setup: %s\n", errno == ENOSYS ? "ENOSYS" : strerror(errno)); return 0; }
	printf("io_uring_setup: ok\n");
	return 0;
}

static int int80(void) {
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20 /* i386 getpid */) : "memory");
	if (ret == -ENOSYS) printf("int80: ENOSYS\n");
	else printf("int80: %s\n", ret == getpid() ? "pid" : "other");
#else
	printf("int80: not amd64\n");
#endif
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 4 && !strcmp(argv[1], "tcp")) return tcp(argv[2], atoi(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "tcp-ticking")) return tcp_ticking(argv[2], atoi(argv[3]));
	if (argc >= 5 && !strcmp(argv[1], "udp")) return udp(argv[2], atoi(argv[3]), argv[4]);
	if (argc >= 2 && !strcmp(argv[1], "spawn")) return spawn();
	if (argc >= 3 && !strcmp(argv[1], "cat")) return cat(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "gai")) return gai(argv[2], argv[3]);
	if (argc >= 2 && !strcmp(argv[1], "iouring")) return iouring();
	if (argc >= 2 && !strcmp(argv[1], "int80")) return int80();
	fprintf(stderr, "usage: cprobe tcp|udp|spawn|cat ...\n");
	return 2;
}
