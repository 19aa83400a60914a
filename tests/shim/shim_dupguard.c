/* SPDX-License-Identifier: MIT */
/*
 * shim_dupguard.c - a thread that dup2s onto numbers the program does not
 * hold, while the process joins the pool; threads that wait in the
 * library while the program dup2s.
 *
 *   shim_dupguard OWN FILE DELAY_US
 *
 * OWN is a file of the program, holding PROGRAM_BYTES (written here first).
 * A thread puts OWN at the numbers 3 to 11 in turn with dup2 and closes
 * each again (so that each is free half the time: the kernel's lowest free
 * number for the next open), while the main thread waits DELAY_US and
 * then makes FILE and gives it a size by path (mknod, truncate, stat: no
 * descriptor of the program's own that the thread could replace). On the
 * kernel nothing opens a file meanwhile; under the library, the process
 * joins the pool there, opening the pool and its runtime files at low
 * numbers, and a dup2 onto one of them would put OWN in its place. Then,
 * the thread stopped, FILE is written and read back. Exits 0 when every
 * dup2 succeeded, FILE has its size and line, and OWN is as written; else
 * prints what differs and exits 1.
 *
 *   shim_dupguard waits DIR
 *
 * Threads wait in the library on what another process holds: an F_SETLKW
 * on a byte of DIR/locked a child holds for WAIT_MS, and an open of the
 * FIFO DIR/fifo (the child's, the first FIFO this process opens) that the
 * child opens for writing as it lets go. Meanwhile the main thread dup2s
 * a file of its own onto a number it holds: no dup2 may fail or take
 * longer than DUP_MAX_MS (the library's waits do not hold the program's
 * dup2 off). Exits 0, or prints what went wrong and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM_BYTES "the program's own file\n"
#define LINE "a line through the library\n"
#define OWN_FD 200
#define SIZE 4096
#define FIRST 3
#define LAST 11

static atomic_bool stop;
static atomic_long dups, dup_errors;
static atomic_int dup_errno;

static void *dup_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		for (int n = FIRST; n <= LAST; n++) {
			if (dup2(OWN_FD, n) != n) {
				atomic_fetch_add(&dup_errors, 1);
				atomic_store(&dup_errno, errno);
				continue;
			}
			atomic_fetch_add(&dups, 1);
			close(n);
		}
	}
	return NULL;
}

#define WAIT_MS 1500
#define DUP_MAX_MS 200

static const char *wait_dir;
static atomic_int waits_done;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static void *lock_waiter(void *arg)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	char path[4096];
	int fd;

	(void)arg;
	snprintf(path, sizeof(path), "%s/locked", wait_dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fcntl(fd, F_SETLKW, &fl) < 0)
		printf("F_SETLKW on %s: %s\n", path, strerror(errno));
	atomic_fetch_add(&waits_done, 1);
	return NULL;
}

static void *fifo_waiter(void *arg)
{
	char path[4096];
	int fd;

	(void)arg;
	snprintf(path, sizeof(path), "%s/fifo", wait_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		printf("open of %s: %s\n", path, strerror(errno));
	atomic_fetch_add(&waits_done, 1);
	return NULL;
}

static int waits(const char *dir)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	char path[4096], c;
	long long worst = 0, t0;
	int go[2], fd, own, bad = 0;
	long calls = 0;
	pthread_t a, b;
	pid_t child;

	wait_dir = dir;
	snprintf(path, sizeof(path), "%s/locked", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	own = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || own < 0 || pipe(go) < 0)
		return printf("%s: %s\n", path, strerror(errno)), 1;
	child = fork();
	if (child == 0) {
		/* made here, so that the parent's first use of FIFOs (its
		 * library's opens for them) is the waiting open */
		snprintf(path, sizeof(path), "%s/fifo", dir);
		if ((mkfifo(path, 0600) < 0 && errno != EEXIST) || fcntl(fd, F_SETLK, &fl) < 0)
			_exit(3);
		write(go[1], "x", 1);
		usleep(WAIT_MS * 1000);
		snprintf(path, sizeof(path), "%s/fifo", dir);
		fd = open(path, O_WRONLY | O_CLOEXEC); /* the FIFO waiter's other end */
		_exit(fd < 0 ? 4 : 0); /* the lock goes with the process */
	}
	if (child < 0 || read(go[0], &c, 1) != 1)
		return printf("the child did not take its lock\n"), 1;
	if (pthread_create(&a, NULL, lock_waiter, NULL) != 0 ||
	    pthread_create(&b, NULL, fifo_waiter, NULL) != 0)
		return printf("pthread_create failed\n"), 1;
	usleep(100000); /* both threads inside their waits */
	while (atomic_load(&waits_done) < 2) {
		t0 = now_ms();
		if (dup2(own, 100) != 100) {
			printf("dup2 while threads wait: %s\n", strerror(errno));
			bad = 1;
			break;
		}
		if (now_ms() - t0 > worst)
			worst = now_ms() - t0;
		calls++;
		if (calls == 1 && atomic_load(&waits_done))
			printf("a wait ended before the dups began\n"), bad = 1;
		usleep(1000);
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	waitpid(child, NULL, 0);
	if (worst > DUP_MAX_MS)
		printf("a dup2 took %lld ms while threads waited in the library\n", worst), bad = 1;
	if (calls < 100)
		printf("only %ld dup2 calls during the waits\n", calls), bad = 1;
	return bad;
}

int main(int argc, char **argv)
{
	char buf[128];
	struct stat st;
	pthread_t t;
	ssize_t n;
	int own, fd, bad = 0;


	if (argc == 3 && strcmp(argv[1], "waits") == 0)
		return waits(argv[2]);
	if (argc != 4) {
		fprintf(stderr, "usage: %s OWN FILE DELAY_US | waits DIR\n", argv[0]);
		return 2;
	}
	own = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (own < 0 || write(own, PROGRAM_BYTES, strlen(PROGRAM_BYTES)) < 0 ||
	    dup2(own, OWN_FD) != OWN_FD || close(own) < 0) {
		perror(argv[1]);
		return 2;
	}
	if (pthread_create(&t, NULL, dup_loop, NULL) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 2;
	}
	usleep((useconds_t)atoi(argv[3]));
	if (mknod(argv[2], S_IFREG | 0644, 0) < 0 || truncate(argv[2], SIZE) < 0 ||
	    stat(argv[2], &st) < 0 || st.st_size != SIZE) {
		printf("%s: %s\n", argv[2], strerror(errno));
		bad = 1;
	}
	usleep(2000); /* dups after the file's making too */
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, LINE, strlen(LINE), 0) != (ssize_t)strlen(LINE) ||
	    pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    memcmp(buf, LINE, strlen(LINE)) != 0) {
		printf("%s does not read back its line\n", argv[2]);
		bad = 1;
	}
	if (fd >= 0)
		close(fd);
	if (atomic_load(&dup_errors)) {
		printf("%ld of %ld dup2 calls failed (last: %s)\n", atomic_load(&dup_errors),
		       atomic_load(&dup_errors) + atomic_load(&dups), strerror(atomic_load(&dup_errno)));
		bad = 1;
	}
	n = fstat(OWN_FD, &st) == 0 ? pread(OWN_FD, buf, sizeof(buf), 0) : -1;
	if (n != (ssize_t)strlen(PROGRAM_BYTES) || st.st_size != n ||
	    memcmp(buf, PROGRAM_BYTES, (size_t)n) != 0) {
		printf("%s changed: %lld bytes\n", argv[1], (long long)st.st_size);
		bad = 1;
	}
	return bad;
}
